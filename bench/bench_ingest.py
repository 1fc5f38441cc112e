"""Sustained MQTT ingest: readings/s delivered through GaugeNetwork vs a bare paho subscriber.

A throwaway mosquitto broker on a free loopback port; a publisher process sends JSON readings for
500 gauge topics as fast as it can for ``--seconds``; in the same run two subscribers receive the
same stream: this process's :class:`~commandcenter.devices.GaugeNetwork` (one MQTT link with 500
gauges, readings counted by a ReadingSink on the asyncio loop) and a bare paho-mqtt subscriber in
its own process that only counts messages. Both subscribe with QoS 0 (as the publisher sends).
Then the stream is published twice more, to each subscriber alone: on a small machine the broker,
the publisher and two subscribers compete for the same cores, and what one subscriber reaches
when it is the only one is the figure to hold against the target.

Run: ``.venv/bin/python bench/bench_ingest.py [--seconds 10] [--gauges 500]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from commandcenter.core.clock import SystemClock
from commandcenter.core.site import Gauge, GaugeLink, Site
from commandcenter.devices import GaugeNetwork, Reading
from commandcenter.devices.mqtt import MqttCoordinator

PUBLISHER = r"""
import json, sys, time
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
port, n, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher")
c.max_queued_messages_set(0)
c.connect("127.0.0.1", port)
c.loop_start()
topics = [f"bench/gas/G{i:04d}" for i in range(n)]
payloads = [json.dumps({"value": v / 10}).encode() for v in range(1000)]
sent, i = 0, 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    for _ in range(200):
        c.publish(topics[i], payloads[sent % 1000], qos=0)
        i = (i + 1) % n
        sent += 1
    while len(c._out_packet) > 20000:   # do not let the publisher's own queue grow unbounded
        time.sleep(0.001)
time.sleep(0.5)
c.loop_stop(); c.disconnect()
print(json.dumps({"sent": sent}))
"""

BARE = r"""
import json, sys, time, threading
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
port, wait = int(sys.argv[1]), float(sys.argv[2])
state = {"n": 0, "first": None, "last": None}
ready = threading.Event()
def on_connect(c, u, f, rc, p):
    c.subscribe("bench/gas/#", qos=0)
def on_subscribe(c, u, mid, rcs, p):
    ready.set()
def on_message(c, u, m):
    t = time.monotonic()
    if state["first"] is None:
        state["first"] = t
    state["last"] = t
    state["n"] += 1
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare")
c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
c.connect("127.0.0.1", port)
c.loop_start()
ready.wait(10)
print("ready", flush=True)
sys.stdin.readline()          # the bench says when the publisher has finished
c.loop_stop(); c.disconnect()
span = (state["last"] or 0) - (state["first"] or 0)
print(json.dumps({"received": state["n"], "span": span}), flush=True)
"""


class CountingSink:
    """Counts readings and notes the time of the first and the last one."""

    def __init__(self) -> None:
        self.n = 0
        self.first: float | None = None
        self.last = 0.0
        self.faults = 0

    def reading(self, reading: Reading) -> None:
        t = time.monotonic()
        if self.first is None:
            self.first = t
        self.last = t
        self.n += 1

    def comm_fault(self, gauge_id: str, detail: str, ts: datetime) -> None:
        self.faults += 1

    def comm_restored(self, gauge_id: str, ts: datetime) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _site(n: int, port: int) -> Site:
    link = GaugeLink(id="MQTT-B", protocol="mqtt", host="127.0.0.1", port=port,  # type: ignore[arg-type]
                     poll_s=60.0, timeout_s=5.0)
    gauges = {}
    for i in range(n):
        gid = f"G{i:04d}"
        gauges[gid] = Gauge.model_validate({
            "id": gid, "kind": "combustible_gas", "name": {"zh": gid}, "unit": "%LEL",
            "link": "MQTT-B", "address": {"topic": f"bench/gas/{gid}"},
            "location": [30.7, 121.3], "range": [0, 100]})
    return Site(root=".", links={"MQTT-B": link}, gauges=gauges)


async def _run(port: int, n: int, seconds: float, bare: subprocess.Popen[str] | None,
               ours: bool = True) -> dict[str, float]:
    """Publish the stream once, to ours and/or the bare subscriber; return what each received."""
    sink = CountingSink()
    net = GaugeNetwork(_site(n, port), SystemClock(), sink)
    coordinator = net.coordinators()["MQTT-B"]
    assert isinstance(coordinator, MqttCoordinator)
    coordinator.qos = 0
    if ours:
        await net.start()
    result = {"received": 0, "span": 0.0}
    try:
        for _ in range(1000 if ours else 0):
            if coordinator.connected:
                break
            await asyncio.sleep(0.01)
        if bare is not None:
            assert bare.stdout is not None and bare.stdin is not None
            line = await asyncio.to_thread(bare.stdout.readline)
            assert line.strip() == "ready", line
        await asyncio.sleep(0.3)  # the SUBACKs
        cpu0 = time.process_time()
        pub = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PUBLISHER, str(port), str(n), str(seconds),
            stdout=subprocess.PIPE)
        out, _ = await pub.communicate()
        sent = json.loads(out)["sent"]
        await asyncio.sleep(1.0)  # let the queues drain
        cpu = time.process_time() - cpu0
        if bare is not None:
            assert bare.stdout is not None and bare.stdin is not None
            bare.stdin.write("done\n")
            bare.stdin.flush()
            result = json.loads(await asyncio.to_thread(bare.stdout.readline))
    finally:
        if ours:
            await net.stop()
        if bare is not None:
            bare.wait(10)
    ours_span = sink.last - (sink.first or sink.last)
    return {
        "sent": sent,
        "ours_received": sink.n,
        "ours_per_s": sink.n / ours_span if ours_span else 0.0,
        "ours_cpu_us_per_reading": cpu / sink.n * 1e6 if sink.n else 0.0,
        "bare_received": result["received"],
        "bare_per_s": result["received"] / result["span"] if result["span"] else 0.0,
        "faults": sink.faults,
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--gauges", type=int, default=500)
    args = parser.parse_args(argv)
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)  # as root mosquitto drops to its own user
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                        "log_dest stderr\nlog_type error\nmax_queued_messages 0\n")
        os.chmod(conf, 0o644)
        broker = subprocess.Popen([mosquitto, "-c", str(conf)], stderr=subprocess.DEVNULL)

        def bare_subscriber() -> subprocess.Popen[str]:
            return subprocess.Popen([sys.executable, "-c", BARE, str(port), str(args.seconds)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

        try:
            for _ in range(500):
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.01)
            r = asyncio.run(_run(port, args.gauges, args.seconds, bare_subscriber()))
            alone_ours = asyncio.run(_run(port, args.gauges, args.seconds, None))
            alone_bare = asyncio.run(_run(port, args.gauges, args.seconds, bare_subscriber(),
                                          ours=False))
        finally:
            broker.terminate()
            broker.wait(10)
    ratio = r["ours_per_s"] / r["bare_per_s"] if r["bare_per_s"] else 0.0
    r["ratio"] = ratio
    r["alone_sent_ours"] = alone_ours["sent"]
    r["alone_ours_received"] = alone_ours["ours_received"]
    r["alone_ours_per_s"] = alone_ours["ours_per_s"]
    r["alone_ours_cpu_us_per_reading"] = alone_ours["ours_cpu_us_per_reading"]
    r["alone_sent_bare"] = alone_bare["sent"]
    r["alone_bare_received"] = alone_bare["bare_received"]
    r["alone_bare_per_s"] = alone_bare["bare_per_s"]
    alone_ratio = (alone_ours["ours_per_s"] / alone_bare["bare_per_s"]
                   if alone_bare["bare_per_s"] else 0.0)
    r["alone_ratio"] = alone_ratio
    print(f"{'both subscribed to one stream':34} {'received':>10} {'readings/s':>11}")
    print(f"{'published':34} {r['sent']:>10,}")
    print(f"{'GaugeNetwork → ReadingSink':34} {r['ours_received']:>10,} {r['ours_per_s']:>11,.0f}"
          f"   ({r['ours_cpu_us_per_reading']:.1f} µs CPU per reading in this process)")
    print(f"{'bare paho subscriber':34} {r['bare_received']:>10,} {r['bare_per_s']:>11,.0f}")
    print(f"ratio ours / bare paho: {ratio:.0%}")
    print(f"{'each alone on the stream':34} {'published':>10} {'received':>10} "
          f"{'readings/s':>11}")
    print(f"{'GaugeNetwork → ReadingSink':34} {alone_ours['sent']:>10,} "
          f"{alone_ours['ours_received']:>10,} {alone_ours['ours_per_s']:>11,.0f}"
          f"   ({alone_ours['ours_cpu_us_per_reading']:.1f} µs CPU per reading)")
    print(f"{'bare paho subscriber':34} {alone_bare['sent']:>10,} "
          f"{alone_bare['bare_received']:>10,} {alone_bare['bare_per_s']:>11,.0f}")
    print(f"ratio ours / bare paho: {alone_ratio:.0%}   (targets: ≥ 20,000 readings/s, ≥ 70 %)")
    print(f"comm faults during the runs: {r['faults'] + alone_ours['faults']}")
    return r


if __name__ == "__main__":
    main()
