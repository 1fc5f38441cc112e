"""MQTT link against a real mosquitto broker started by the test."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from commandcenter.core.clock import SystemClock
from commandcenter.devices.mqtt import MqttCoordinator, parse_json_payload, parse_payload

from .conftest import MOSQUITTO, Broker, Sink, device_records, gauge, link, run, wait_until

POLL = 0.3


@pytest.mark.parametrize(("payload", "value"), [
    (b'{"value": 23.5}', 23.5), (b'{"value": 1, "ts": "2026-01-01T00:00:00Z"}', 1.0),
    (b"23.5", 23.5), (b" -4 ", -4.0), (b'{"value": 1e400}', math.inf),
])
def test_payloads_that_hold_a_value(payload: bytes, value: float) -> None:
    assert parse_payload(payload) == value


def test_nan_number_token_is_a_value() -> None:
    assert math.isnan(parse_payload(b'{"value": NaN}'))


@pytest.mark.parametrize(("payload", "why"), [
    (b"hello", "neither JSON"), (b"", "empty"), (b'{"val": 1}', "without 'value'"),
    (b'{"value": "NaN"}', "not str"), (b'"12"', "not str"), (b'{"value": true}', "not bool"),
    (b'{"value": [1]}', "not list"), (b'{"value": null}', "not NoneType"),
    (b"\xff\xfe", "UTF-8"), (b"[" * 100000, "neither JSON"),
])
def test_invalid_payloads_are_refused(payload: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=why.rsplit(maxsplit=1)[-1]):
        parse_payload(payload)


_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(json.dumps),
    st.integers(-10**400, 10**400).map(str),
    st.from_regex(r"-?[0-9]{1,4}(\.[0-9]{0,3})?([eE][-+]?[0-9]{0,3})?", fullmatch=True),
    st.sampled_from(["NaN", "nan", "Infinity", "-Infinity", "+1", ".5", "5.", "01", "1_000",
                     "-0", "0x10", "true", "null", '"1.5"', "[1]", "1e400", "-1e400"]),
)
_SPACE = st.sampled_from(["", " ", "\t", "\n", "\r\n", "\x0c", "\xa0", "  "])


@given(_NUMBERS, _SPACE, _SPACE, _SPACE, st.sampled_from(["bare", "object", "open", "close",
                                                          "extra"]))
def test_the_fast_path_reads_payloads_exactly_as_json_does(
        number: str, s1: str, s2: str, s3: str, shape: str) -> None:
    body = {"bare": f"{s1}{number}{s2}", "object": f'{s1}{{{s2}"value":{s3}{number}}}{s2}',
            "open": f'{{"value": {number}{s3}', "close": f"{number}{s2}}}",
            "extra": f'{{"value": {number}, "ts": "2026-01-01"}}'}[shape]
    payload = body.encode()
    try:
        want: float | str = parse_json_payload(payload)
    except ValueError as err:
        want = str(err)
    try:
        got: float | str = parse_payload(payload)
    except ValueError as err:
        got = str(err)
    if isinstance(want, float) and isinstance(got, float) and math.isnan(want):
        assert math.isnan(got)
    else:
        assert got == want


def _publisher(port: int) -> mqtt.Client:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-publisher")
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    return pub


def _coordinator(port: int, sink: Sink, n: int = 3) -> MqttCoordinator:
    lk = link(id="MQTT-T", protocol="mqtt", host="127.0.0.1", port=port, poll_s=POLL,
              timeout_s=1.0)
    gauges = [gauge(f"GD-{i}", "MQTT-T", {"topic": f"site/gas/GD-{i}"}) for i in range(n)]
    return MqttCoordinator(lk, gauges, SystemClock(), sink, backoff=(0.1, 0.5))


def test_readings_invalid_payloads_and_silence(broker: Broker,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="commandcenter")
    sink = Sink()

    async def main() -> None:
        c = _coordinator(broker.port, sink)
        await c.start()
        pub = _publisher(broker.port)
        try:
            await wait_until(lambda: c.connected, 5, "connected")
            await asyncio.sleep(0.1)  # let the SUBACK arrive
            for payload in (b'{"value": 1.5}', b"2.5", b"not json", b'{"value": "NaN"}',
                            b'{"val": 3}', b'{"value": NaN}', b'{"value": 150}'):
                pub.publish("site/gas/GD-0", payload, qos=1).wait_for_publish(2)
            pub.publish("site/gas/GD-1", b"0.5", qos=1).wait_for_publish(2)
            pub.publish("site/other", b"9", qos=1).wait_for_publish(2)
            await wait_until(lambda: sink.count("GD-0") == 4 and c.invalid == 3, 3)
            # GD-2 never published: faulted after 3 x poll_s of silence; GD-0/1 keep going.
            for _ in range(8):
                pub.publish("site/gas/GD-0", b"1", qos=1)
                pub.publish("site/gas/GD-1", b"1", qos=1)
                await asyncio.sleep(POLL / 2)
            assert sink.faulted("GD-2") and not sink.faulted("GD-0")
            pub.publish("site/gas/GD-2", b"0.1", qos=1).wait_for_publish(2)
            await wait_until(lambda: not sink.faulted("GD-2"), 3, "restored")
        finally:
            pub.loop_stop()
            pub.disconnect()
            await c.stop()

    run(main())
    values = sink.values("GD-0")[:4]
    assert values[:2] == [1.5, 2.5] and math.isnan(values[2]) and values[3] == 150
    bad = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG
           and "GD-0" in r.getMessage() and "topic site/gas/GD-0" in r.getMessage()]
    assert len(bad) == 3, bad
    assert [f[0] for f in sink.faults] == ["GD-2"]
    # GD-2's fault is its own silence, not GD-0's bad payloads
    assert sink.faults[0][1] == f"no reading for {3 * POLL:.1f} s"
    warnings = device_records(caplog, logging.WARNING)
    assert len(warnings) == 1 and "GD-2" in warnings[0].getMessage()


def test_a_fault_names_the_gauges_own_last_error(broker: Broker) -> None:
    sink = Sink()

    async def main() -> None:
        c = _coordinator(broker.port, sink, n=3)
        await c.start()
        pub = _publisher(broker.port)
        try:
            await wait_until(lambda: c.connected, 5, "connected")
            await asyncio.sleep(0.1)  # let the SUBACK arrive
            pub.publish("site/gas/GD-0", b"not json", qos=1).wait_for_publish(2)
            pub.publish("site/gas/GD-1", b'{"value": "high"}', qos=1).wait_for_publish(2)
            for _ in range(8):  # GD-2 keeps publishing garbage *and* values: never faulted
                pub.publish("site/gas/GD-2", b"1", qos=1)
                pub.publish("site/gas/GD-2", b"{", qos=1)
                await asyncio.sleep(POLL / 2)
            await wait_until(lambda: sink.faulted("GD-0") and sink.faulted("GD-1"), 3)
        finally:
            pub.loop_stop()
            pub.disconnect()
            await c.stop()

    run(main())
    faults = {gid: detail for gid, detail, _ts in sink.faults}
    assert set(faults) == {"GD-0", "GD-1"}
    assert faults["GD-0"].endswith("(last error: topic site/gas/GD-0: payload is neither JSON "
                                   "nor a number: 'not json')")
    assert faults["GD-1"].endswith("(last error: topic site/gas/GD-1: value must be a number, "
                                   "not str 'high')")


def test_broker_restart_faults_then_readings_flow_again(
        broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="commandcenter")
    sink = Sink()
    gids = ["GD-0", "GD-1", "GD-2"]

    async def publish_all(pub: mqtt.Client, value: float) -> None:
        for gid in gids:
            pub.publish(f"site/gas/{gid}", json.dumps({"value": value}), qos=0)

    async def main() -> None:
        c = _coordinator(broker.port, sink)
        await c.start()
        pub = _publisher(broker.port)
        try:
            await wait_until(lambda: c.connected, 5, "connected")
            await asyncio.sleep(0.1)
            await publish_all(pub, 1.0)
            await wait_until(lambda: all(sink.count(g) for g in gids), 3, "first readings")
            broker.stop()
            await wait_until(lambda: not c.connected, 3, "disconnect noticed")
            await wait_until(lambda: all(sink.faulted(g) for g in gids), 3, "faults")
            await asyncio.sleep(0.5)
            broker.start()
            await wait_until(lambda: c.connected, 5, "reconnected")
            await wait_until(pub.is_connected, 5, "publisher reconnected")
            await asyncio.sleep(0.1)
            for _ in range(3):
                await publish_all(pub, 2.0)
                await asyncio.sleep(0.05)
            await wait_until(lambda: not any(sink.faulted(g) for g in gids), 3, "restored")
        finally:
            pub.loop_stop()
            pub.disconnect()
            await c.stop()

    run(main())
    assert all(sink.values(g)[-1] == 2.0 for g in gids)
    assert sorted(f[0] for f in sink.faults) == gids
    warnings = device_records(caplog, logging.WARNING)
    infos = device_records(caplog, logging.INFO)
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "MQTT-T" in warnings[0].getMessage() and str(broker.port) in warnings[0].getMessage()
    assert len(infos) == 1 and "recovered" in infos[0].getMessage()


def test_burst_of_1000_messages_none_lost_loop_not_blocked(broker: Broker) -> None:
    sink = Sink()
    gaps: list[float] = []

    async def ticker(stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = loop.time()
            gaps.append(now - last)
            last = now

    async def main() -> None:
        c = _coordinator(broker.port, sink, n=10)
        c.link = c.link.model_copy(update={"poll_s": 30.0})
        await c.start()
        pub = _publisher(broker.port)
        stop = asyncio.Event()
        tick = asyncio.create_task(ticker(stop))
        try:
            await wait_until(lambda: c.connected, 5, "connected")
            await asyncio.sleep(0.1)
            def publish_burst() -> None:  # in a thread: the test must not block the loop
                infos = [pub.publish(f"site/gas/GD-{i % 10}", json.dumps({"value": i}), qos=1)
                         for i in range(1000)]
                for info in infos:
                    info.wait_for_publish(5)

            await asyncio.to_thread(publish_burst)
            await wait_until(lambda: len(sink.readings) == 1000, 10, "1000 readings")
        finally:
            stop.set()
            await tick
            pub.loop_stop()
            pub.disconnect()
            await c.stop()

    run(main())
    got = sorted(int(r.value) for r in sink.readings)
    assert got == list(range(1000))
    for i in range(10):  # per gauge, in publish order
        assert sink.values(f"GD-{i}") == [float(v) for v in range(i, 1000, 10)]
    assert max(gaps) < 0.5, f"the loop stalled for {max(gaps):.3f} s"


def test_broker_down_at_start_one_warning_then_connects(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    if not os.path.exists(MOSQUITTO):
        pytest.skip("mosquitto is not installed")
    caplog.set_level(logging.DEBUG, logger="commandcenter")
    sink = Sink()
    late = Broker(tmp_path)  # not started yet: connections are refused

    async def main() -> None:
        c = _coordinator(late.port, sink, n=1)
        await c.start()
        pub: mqtt.Client | None = None
        try:
            await wait_until(lambda: c.errors >= 3, 5, "a few refused attempts")
            assert not c.connected and not c.healthy
            late.start()
            await wait_until(lambda: c.connected, 5, "connected once the broker is up")
            await asyncio.sleep(0.1)  # let the SUBACK arrive
            pub = _publisher(late.port)
            pub.publish("site/gas/GD-0", b"7.5", qos=1).wait_for_publish(2)
            await wait_until(lambda: sink.count("GD-0") == 1, 3, "the reading")
            assert c.healthy
        finally:
            if pub is not None:
                pub.loop_stop()
                pub.disconnect()
            await c.stop()
            late.stop()
        assert c._watched == {}  # nothing left registered on the loop

    run(main())
    assert sink.values("GD-0") == [7.5]
    warnings = device_records(caplog, logging.WARNING)
    infos = device_records(caplog, logging.INFO)
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "cannot connect to the broker at 127.0.0.1" in warnings[0].getMessage()
    assert len(infos) == 1 and "recovered" in infos[0].getMessage()
