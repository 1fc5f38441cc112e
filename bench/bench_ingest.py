"""Sustained MQTT ingest: readings/s delivered through GaugeNetwork vs a bare paho subscriber.

A throwaway mosquitto broker on a free loopback port; a publisher process sends JSON readings for
500 gauge topics as fast as it can for ``--seconds``; in the same run two subscribers receive the
same stream: this process's :class:`~commandcenter.devices.GaugeNetwork` (one MQTT link with 500
gauges, readings counted by a ReadingSink on the asyncio loop) and a bare paho-mqtt subscriber in
its own process that only counts messages. Then the stream is published twice more, to each
subscriber alone: on a small machine the broker, the publisher and two subscribers compete for
the same cores, and what one subscriber reaches when it is the only one is the figure to hold
against the target.

QoS: the application subscribes at QoS 1 (``MqttCoordinator.qos``), so by default the publisher
publishes at QoS 1 and both subscribers subscribe at QoS 1: every reading is delivered at least
once and acknowledged (PUBACK) by the subscriber. The broker keeps mosquitto's default of 20
unacknowledged messages per subscriber (``--window`` changes ``max_inflight_messages``; 1000
made no difference on the machine of ``bench/README.md``). ``--qos 0`` runs the whole chain at
QoS 0 instead. The publisher is a load generator writing pre-encoded MQTT packets to a socket:
a paho publisher manages only a few thousand QoS 1 messages/s here, which would measure it
rather than the subscribers.

Run: ``.venv/bin/python bench/bench_ingest.py [--seconds 10] [--gauges 500] [--qos 1]
[--window 20] [--profile FILE]`` (``--profile``: one more stream to this process alone, under
cProfile, not counted in the figures; the pstats go to FILE).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from commandcenter.core.clock import SystemClock
from commandcenter.core.site import Gauge, GaugeLink, Site
from commandcenter.devices import GaugeNetwork, Reading
from commandcenter.devices.mqtt import MqttCoordinator

PUBLISHER = r"""
# A load generator, not a detector: MQTT 3.1.1 over a plain socket with pre-encoded PUBLISH
# packets, so one process can offer more than a paho publisher's few thousand QoS 1 messages/s.
# At QoS 1 it keeps at most 5,000 publishes unacknowledged and counts the broker's PUBACKs.
import json, socket, struct, sys, threading, time
port, n, seconds, qos = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])

def remaining(k):
    out = bytearray()
    while True:
        k, b = k // 128, k % 128
        out.append(b | (0x80 if k else 0))
        if not k:
            return bytes(out)

def utf8(t):
    b = t.encode()
    return struct.pack(">H", len(b)) + b

s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
body = utf8("MQTT") + bytes([4, 2]) + struct.pack(">H", 60) + utf8("bench-publisher")
s.sendall(b"\x10" + remaining(len(body)) + body)
assert s.recv(4)[:2] == b"\x20\x02"
topics = [utf8(f"bench/gas/G{i:04d}") for i in range(n)]
payloads = [json.dumps({"value": v / 10}).encode() for v in range(1000)]
acked = 0
WINDOW = 5000

def read_acks():
    global acked
    buf = b""
    while True:
        data = s.recv(65536)
        if not data:
            return
        buf += data
        k = len(buf) // 4   # PUBACK: 0x40 0x02 id id
        acked += k
        buf = buf[4 * k:]

if qos:
    threading.Thread(target=read_acks, daemon=True).start()
sent, i = 0, 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    chunk = []
    for _ in range(200):
        t, p = topics[i], payloads[sent % 1000]
        if qos:
            var = t + struct.pack(">H", sent % 65535 + 1)
            chunk.append(b"\x32" + remaining(len(var) + len(p)) + var + p)
        else:
            chunk.append(b"\x30" + remaining(len(t) + len(p)) + t + p)
        i = (i + 1) % n
        sent += 1
    s.sendall(b"".join(chunk))
    while qos and sent - acked > WINDOW and time.monotonic() < end + 10:
        time.sleep(0.0005)
deadline = time.monotonic() + 10
while qos and acked < sent and time.monotonic() < deadline:
    time.sleep(0.01)
time.sleep(0.5)
s.sendall(b"\xe0\x00")
s.close()
print(json.dumps({"sent": sent}))
"""

BARE = r"""
import json, sys, time, threading
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
port, qos = int(sys.argv[1]), int(sys.argv[2])
state = {"n": 0, "first": None, "last": None}
ready = threading.Event()
def on_connect(c, u, f, rc, p):
    c.subscribe("bench/gas/#", qos=qos)
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
cpu0 = time.process_time()
sys.stdin.readline()          # the bench says when the publisher has finished
cpu = time.process_time() - cpu0
c.loop_stop(); c.disconnect()
span = (state["last"] or 0) - (state["first"] or 0)
print(json.dumps({"received": state["n"], "span": span, "cpu": cpu}), flush=True)
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


def _rate(received: float, span: float) -> float:
    return received / span if span else 0.0


async def _stream(port: int, n: int, seconds: float, qos: int, *, ours: bool,
                  bare: subprocess.Popen[str] | None,
                  profile: cProfile.Profile | None = None) -> dict[str, float]:
    """Publish the stream once, to ours and/or the bare subscriber; return what each received."""
    sink = CountingSink()
    net = GaugeNetwork(_site(n, port), SystemClock(), sink)
    coordinator = net.coordinators()["MQTT-B"]
    assert isinstance(coordinator, MqttCoordinator)
    assert coordinator.qos == 1  # what the application subscribes with
    coordinator.qos = qos
    if ours:
        await net.start()
    result = {"received": 0, "span": 0.0, "cpu": 0.0}
    try:
        for _ in range(1000 if ours else 0):
            if coordinator.connected:
                break
            await asyncio.sleep(0.01)
        if bare is not None:
            assert bare.stdout is not None
            line = await asyncio.to_thread(bare.stdout.readline)
            assert line.strip() == "ready", line
        await asyncio.sleep(0.3)  # the SUBACKs
        cpu0 = time.process_time()
        if profile is not None:
            profile.enable()
        pub = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PUBLISHER, str(port), str(n), str(seconds), str(qos),
            stdout=subprocess.PIPE)
        out, _ = await pub.communicate()
        sent = json.loads(out)["sent"]
        await asyncio.sleep(1.0)  # let the queues drain
        if profile is not None:
            profile.disable()
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
    return {
        "sent": sent,
        "ours_received": sink.n,
        "ours_per_s": _rate(sink.n, sink.last - (sink.first or sink.last)),
        "ours_cpu_us": cpu / sink.n * 1e6 if sink.n else 0.0,
        "bare_received": result["received"],
        "bare_per_s": _rate(result["received"], result["span"]),
        "bare_cpu_us": result["cpu"] / result["received"] * 1e6 if result["received"] else 0.0,
        "faults": sink.faults,
    }


def _table(title: str, rows: list[tuple[str, dict[str, float], str]]) -> None:
    print(f"{title:30} {'published':>10} {'received':>10} {'readings/s':>11} "
          f"{'CPU µs/reading':>15}")
    for name, r, who in rows:
        print(f"{name:30} {r['sent']:>10,} {r[who + '_received']:>10,} "
              f"{r[who + '_per_s']:>11,.0f} {r[who + '_cpu_us']:>15.1f}")


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--gauges", type=int, default=500)
    parser.add_argument("--qos", type=int, choices=(0, 1), default=1,
                        help="QoS of the publisher and of both subscriptions (default 1, as the "
                             "application subscribes)")
    parser.add_argument("--window", type=int, default=20,
                        help="QoS 1 messages the broker may have unacknowledged per subscriber "
                             "(mosquitto max_inflight_messages; default 20, mosquitto's own)")
    parser.add_argument("--profile", metavar="FILE",
                        help="also publish the stream to this process alone under cProfile "
                             "(not counted in the figures) and write the pstats to FILE")
    args = parser.parse_args(argv)
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)  # as root mosquitto drops to its own user
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                        "log_dest stderr\nlog_type error\nmax_queued_messages 0\n"
                        f"max_inflight_messages {args.window}\n")
        os.chmod(conf, 0o644)
        broker = subprocess.Popen([mosquitto, "-c", str(conf)], stderr=subprocess.DEVNULL)

        def bare_subscriber() -> subprocess.Popen[str]:
            return subprocess.Popen([sys.executable, "-c", BARE, str(port), str(args.qos)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

        def stream(**kw: Any) -> dict[str, float]:
            return asyncio.run(_stream(port, args.gauges, args.seconds, args.qos, **kw))

        try:
            for _ in range(500):
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.01)
            both = stream(ours=True, bare=bare_subscriber())
            ours = stream(ours=True, bare=None)
            bare = stream(ours=False, bare=bare_subscriber())
            if args.profile:
                profile = cProfile.Profile()
                stream(ours=True, bare=None, profile=profile)
                profile.dump_stats(args.profile)
        finally:
            broker.terminate()
            broker.wait(10)
    r = {
        "qos": float(args.qos),
        "both_ours_per_s": both["ours_per_s"], "both_bare_per_s": both["bare_per_s"],
        "both_ratio": both["ours_per_s"] / both["bare_per_s"] if both["bare_per_s"] else 0.0,
        "alone_ours_per_s": ours["ours_per_s"], "alone_bare_per_s": bare["bare_per_s"],
        "alone_ratio": ours["ours_per_s"] / bare["bare_per_s"] if bare["bare_per_s"] else 0.0,
        "ours_cpu_us": ours["ours_cpu_us"], "bare_cpu_us": bare["bare_cpu_us"],
        "cpu_ratio": bare["bare_cpu_us"] / ours["ours_cpu_us"] if ours["ours_cpu_us"] else 0.0,
        "faults": both["faults"] + ours["faults"],
    }
    window = f", broker window {args.window} unacknowledged" if args.qos else ""
    print(f"QoS {args.qos} end to end (publisher and both subscriptions){window}; "
          f"{args.gauges} gauge topics, {args.seconds:g} s per stream")
    _table("both on one stream", [("GaugeNetwork → ReadingSink", both, "ours"),
                                  ("bare paho subscriber", both, "bare")])
    print(f"ratio ours / bare paho: {r['both_ratio']:.0%}")
    _table("each alone on the stream", [("GaugeNetwork → ReadingSink", ours, "ours"),
                                        ("bare paho subscriber", bare, "bare")])
    print(f"ratio ours / bare paho: {r['alone_ratio']:.0%} of the rate, "
          f"{r['cpu_ratio']:.0%} of the readings per CPU second   "
          f"(targets: ≥ 20,000 readings/s, ≥ 70 %)")
    print(f"comm faults during the runs: {r['faults']}")
    return r


if __name__ == "__main__":
    main()
