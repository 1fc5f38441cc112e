"""Modbus RTU over a pty against a real pymodbus RTU server with several slaves on one line."""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import struct
from pathlib import Path

import pytest
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice

from commandcenter.core.clock import SystemClock
from commandcenter.devices.rtu import ModbusRtuCoordinator

from .conftest import PtyLine, Sink, device_records, free_port, gauge, link, run, wait_until

POLL = 0.2


def _slaves() -> list[SimDevice]:
    # Slave 1: two gas detectors in consecutive registers (one read), a signed temperature.
    # Slave 2: one detector. Slave 3: a float32 value and an out-of-range raw value.
    nan_hi, nan_lo = struct.unpack(">HH", struct.pack(">f", math.nan))
    return [
        SimDevice(id=1, simdata=[SimData(0, values=[123, 45, 0xFF38],
                                         datatype=DataType.REGISTERS)]),
        SimDevice(id=2, simdata=[SimData(0, values=[77], datatype=DataType.REGISTERS)]),
        SimDevice(id=3, simdata=[SimData(10, values=[0x41BC, 0x0000, nan_hi, nan_lo, 65000],
                                         datatype=DataType.REGISTERS)]),
    ]


def _coordinator(line: PtyLine, sink: Sink, **kw: object) -> ModbusRtuCoordinator:
    lk = link(id="RS485-T", protocol="modbus_rtu", url=line.path, baudrate=115200,
              poll_s=POLL, timeout_s=0.15)
    gauges = [
        gauge("GD-1A", "RS485-T", {"slave": 1, "register": 0, "scale": 0.1}),
        gauge("GD-1B", "RS485-T", {"slave": 1, "register": 1, "scale": 0.1}),
        gauge("TT-1C", "RS485-T", {"slave": 1, "register": 2, "scale": 0.1, "signed": 1},
              kind="temperature", unit="°C", rng=(-50, 200)),
        gauge("GD-2A", "RS485-T", {"slave": 2, "register": 0, "scale": 0.1}),
        gauge("GD-3F", "RS485-T", {"slave": 3, "register": 10, "type": "float32"}),
        gauge("GD-3N", "RS485-T", {"slave": 3, "register": 12, "type": "float32"}),
        gauge("GD-3R", "RS485-T", {"slave": 3, "register": 14, "scale": 0.1}),
    ]
    return ModbusRtuCoordinator(lk, gauges, SystemClock(), sink,
                                backoff=(0.1, 0.4), **kw)  # type: ignore[arg-type]


async def _with_line(tmp_path: Path, body) -> None:  # type: ignore[no-untyped-def]
    line = PtyLine(tmp_path)
    await line.start()
    server = ModbusSerialServer(_slaves(), port=line.device_path, baudrate=115200)
    await server.serve_forever(background=True)
    try:
        await body(line, server)
    finally:
        await server.shutdown()
        line.close()


def test_reads_every_slave_grouped_scaled_and_typed(tmp_path: Path) -> None:
    sink = Sink()

    async def body(line: PtyLine, server: ModbusSerialServer) -> None:
        c = _coordinator(line, sink)
        # Slave 1's three registers are one read; slave 3's five registers are one read.
        assert [(b.slave, b.start, b.count) for b in c.blocks] == [(1, 0, 3), (2, 0, 1),
                                                                     (3, 10, 5)]
        await c.start()
        try:
            await wait_until(lambda: all(sink.count(g) >= 2 for g in c.gauges), 5)
            await server.async_setValues(2, 3, 0, [250])
            await wait_until(lambda: sink.values("GD-2A")[-1] == pytest.approx(25.0), 3)
        finally:
            await c.stop()
        assert c.reads >= 14 and c.connected is False
        assert c.last_ok is not None and c.faulted == frozenset()

    run(_with_line(tmp_path, body))
    assert sink.values("GD-1A")[0] == pytest.approx(12.3)
    assert sink.values("GD-1B")[0] == pytest.approx(4.5)
    assert sink.values("TT-1C")[0] == pytest.approx(-20.0)
    assert sink.values("GD-2A")[0] == pytest.approx(7.7)
    assert sink.values("GD-3F")[0] == pytest.approx(23.5)
    # NaN and an out-of-range value are readings: the alarm engine judges them.
    assert math.isnan(sink.values("GD-3N")[0])
    assert sink.values("GD-3R")[0] == pytest.approx(6500.0)
    assert sink.faults == []


def test_silent_slave_faults_within_three_polls_others_unaffected(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="commandcenter")
    sink = Sink()
    timing: dict[str, float] = {}

    async def body(line: PtyLine, server: ModbusSerialServer) -> None:
        c = _coordinator(line, sink)
        await c.start()
        try:
            await wait_until(lambda: all(sink.count(g) >= 1 for g in c.gauges), 5)
            loop = asyncio.get_running_loop()
            line.muted.add(2)
            muted_at = loop.time()
            others_before = sink.count("GD-1A")
            await wait_until(lambda: sink.faulted("GD-2A"), 3, "GD-2A fault")
            timing["fault_after"] = loop.time() - muted_at
            assert c.healthy  # one silent slave is not a failed line
            # the rest of the line keeps being read while slave 2 is silent
            await asyncio.sleep(4 * POLL)
            assert sink.count("GD-1A") >= others_before + 4
            assert not sink.faulted("GD-1A") and not sink.faulted("GD-3F")
            line.muted.discard(2)
            await wait_until(lambda: not sink.faulted("GD-2A"), 5, "GD-2A restored")
        finally:
            await c.stop()

    run(_with_line(tmp_path, body))
    assert timing["fault_after"] <= 3 * POLL + 0.15
    assert [f[0] for f in sink.faults] == ["GD-2A"]
    assert "no reading" in sink.faults[0][1] and "slave 2" in sink.faults[0][1]
    assert [r[0] for r in sink.restored] == ["GD-2A"]
    warnings = device_records(caplog, logging.WARNING)
    infos = device_records(caplog, logging.INFO)
    assert len(warnings) == 1 and "GD-2A" in warnings[0].getMessage()
    assert len(infos) == 1 and "GD-2A" in infos[0].getMessage()


def test_garbage_and_crc_errors_count_as_failed_reads(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="commandcenter")
    sink = Sink()

    async def body(line: PtyLine, server: ModbusSerialServer) -> None:
        c = _coordinator(line, sink)
        await c.start()
        try:
            await wait_until(lambda: sink.count("GD-2A") >= 1, 5)
            # Noise before every response: frames are still found behind it.
            line.noise_before = b"\x00\xff\x13\x37garbage"
            n = sink.count("GD-2A")
            await wait_until(lambda: sink.count("GD-2A") >= n + 2, 3, "reads through noise")
            line.noise_before = b""
            # Slave 2's responses now fail their CRC: failed reads, then a fault; no crash.
            errors = c.errors
            line.corrupt.add(2)
            await wait_until(lambda: sink.faulted("GD-2A"), 3, "fault on CRC errors")
            assert c.errors > errors
            assert "CRC" in (c.last_error or "")
            # Pure garbage on the line between polls does not disturb the others.
            for _ in range(5):
                line.to_app(b"\x01\x03\x02\xde\xad\xbe\xef" * 3)
                await asyncio.sleep(POLL / 2)
            assert not sink.faulted("GD-1A")
            line.corrupt.discard(2)
            await wait_until(lambda: not sink.faulted("GD-2A"), 5, "restored")
        finally:
            await c.stop()

    run(_with_line(tmp_path, body))
    garbled = [r for r in caplog.records if r.levelno == logging.DEBUG
               and "garbled response from slave 2" in r.getMessage()]
    assert garbled, "CRC failures are logged at debug"
    assert len(device_records(caplog, logging.WARNING)) == 1


def test_port_vanishes_and_comes_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="commandcenter")
    sink = Sink()

    async def body(line: PtyLine, server: ModbusSerialServer) -> None:
        c = _coordinator(line, sink)
        await c.start()
        try:
            await wait_until(lambda: all(sink.count(g) >= 1 for g in c.gauges), 5)
            line.vanish()
            await wait_until(lambda: all(sink.faulted(g) for g in c.gauges), 3, "all faulted")
            assert not c.connected and not c.healthy
            await asyncio.sleep(1.0)  # several reconnect attempts with backoff: one warning
            line.appear()
            await wait_until(lambda: not any(sink.faulted(g) for g in c.gauges), 5,
                             "all restored")
            assert c.connected and c.healthy
        finally:
            await c.stop()

    run(_with_line(tmp_path, body))
    assert {f[0] for f in sink.faults} == {"GD-1A", "GD-1B", "TT-1C", "GD-2A", "GD-3F",
                                           "GD-3N", "GD-3R"}
    assert len(sink.faults) == 7 and len(sink.restored) == 7
    warnings = device_records(caplog, logging.WARNING)
    infos = device_records(caplog, logging.INFO)
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "RS485-T" in warnings[0].getMessage() and "ttyRS485" in warnings[0].getMessage()
    assert len(infos) == 1 and "recovered" in infos[0].getMessage()


def test_missing_port_at_start_then_plugged_in(tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="commandcenter")
    sink = Sink()

    async def body(line: PtyLine, server: ModbusSerialServer) -> None:
        line.vanish()
        c = _coordinator(line, sink)
        await c.start()
        try:
            await wait_until(lambda: len(sink.faults) == 7, 3, "blind gauges faulted")
            line.appear()
            await wait_until(lambda: len(sink.restored) == 7, 5, "restored")
        finally:
            await c.stop()

    run(_with_line(tmp_path, body))
    assert len(device_records(caplog, logging.WARNING)) == 1
    assert len(device_records(caplog, logging.INFO)) == 1


def _line_of(n: int) -> list[SimDevice]:
    return [SimDevice(id=i, simdata=[SimData(0, values=[10 * i], datatype=DataType.REGISTERS)])
            for i in range(1, n + 1)]


def test_a_live_slave_is_not_faulted_while_most_of_its_line_is_silent(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """14 of 15 slaves fall silent: their timeouts stretch the cycle far past three poll
    periods, yet slave 1 answers in every cycle and is never faulted, nor is the line."""
    caplog.set_level(logging.DEBUG, logger="commandcenter")
    sink = Sink()
    lk = link(id="RS485-W", protocol="modbus_rtu", url=str(tmp_path / "ttyW"),
              baudrate=115200, poll_s=0.4, timeout_s=0.1)
    gauges = [gauge(f"GD-{i:02d}", "RS485-W", {"slave": i, "register": 0})
              for i in range(1, 16)]
    dead = [f"GD-{i:02d}" for i in range(2, 16)]

    async def main() -> None:
        line = PtyLine(tmp_path, "ttyW")
        await line.start()
        server = ModbusSerialServer(_line_of(15), port=line.device_path, baudrate=115200)
        await server.serve_forever(background=True)
        c = ModbusRtuCoordinator(lk, gauges, SystemClock(), sink, backoff=(0.1, 0.4))
        await c.start()
        try:
            await wait_until(lambda: all(sink.count(g.id) >= 1 for g in gauges), 5)
            line.muted.update(range(2, 16))
            loop = asyncio.get_running_loop()
            start, n = loop.time(), sink.count("GD-01")
            # the first two cycles ask every silent slave: 14 × 0.1 s each, 3.5 poll periods
            await wait_until(lambda: all(sink.faulted(g) for g in dead), 6, "silent faulted")
            await asyncio.sleep(2.0)
            assert loop.time() - start > 3 * 0.4
            assert not sink.faulted("GD-01") and c.healthy
            assert sink.count("GD-01") >= n + 4
            line.muted.clear()
            await wait_until(lambda: not any(sink.faulted(g) for g in dead), 6, "restored")
        finally:
            await c.stop()
            await server.shutdown()
            line.close()

    run(main())
    assert "GD-01" not in {f[0] for f in sink.faults}
    assert sorted(f[0] for f in sink.faults) == dead
    for gid, detail, _ts in sink.faults:  # each fault names its own slave's silence
        assert f"no response from slave {int(gid[3:])} " in detail, detail
    warnings = [r.getMessage() for r in device_records(caplog, logging.WARNING)]
    assert len(warnings) == 14 and all("stopped answering" in w for w in warnings), warnings
    assert not any("failed" in w for w in warnings)


def test_every_slave_silent_is_one_warning_for_the_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="commandcenter")
    sink = Sink()

    async def body(line: PtyLine, server: ModbusSerialServer) -> None:
        c = _coordinator(line, sink)
        await c.start()
        try:
            await wait_until(lambda: all(sink.count(g) >= 1 for g in c.gauges), 5)
            line.muted.update({1, 2, 3})  # the A/B pair is cut behind the adapter
            await wait_until(lambda: all(sink.faulted(g) for g in c.gauges), 3, "all faulted")
            assert c.connected and not c.healthy
            line.muted.clear()
            await wait_until(lambda: not any(sink.faulted(g) for g in c.gauges), 5, "restored")
            assert c.healthy
        finally:
            await c.stop()

    run(_with_line(tmp_path, body))
    warnings = [r.getMessage() for r in device_records(caplog, logging.WARNING)]
    infos = [r.getMessage() for r in device_records(caplog, logging.INFO)]
    assert len(warnings) == 1 and "RS485-T" in warnings[0], warnings
    assert "no gauge on the link answers" in warnings[0] and "no response" in warnings[0]
    assert len(infos) == 1 and "recovered" in infos[0]
    assert all("link RS485-T down" in f[1] for f in sink.faults)


def test_line_behind_a_serial_device_server_over_socket_url(
        caplog: pytest.LogCaptureFixture) -> None:
    """``socket://host:port``: RTU frames over TCP to a serial device server."""
    caplog.set_level(logging.DEBUG, logger="commandcenter")
    sink = Sink()
    port = free_port()
    url = f"socket://127.0.0.1:{port}"

    async def serve() -> ModbusSerialServer:
        server = ModbusSerialServer(_slaves(), port=url, baudrate=115200)
        await server.serve_forever(background=True)
        return server

    async def main() -> None:
        server = await serve()
        lk = link(id="RS485-S", protocol="modbus_rtu", url=url, baudrate=115200, poll_s=POLL,
                  timeout_s=0.15)
        gauges = [gauge("GD-1A", "RS485-S", {"slave": 1, "register": 0, "scale": 0.1}),
                  gauge("GD-2A", "RS485-S", {"slave": 2, "register": 0, "scale": 0.1})]
        c = ModbusRtuCoordinator(lk, gauges, SystemClock(), sink, backoff=(0.1, 0.4))
        await c.start()
        try:
            await wait_until(lambda: sink.count("GD-1A") >= 2 and sink.count("GD-2A") >= 2, 5)
            await server.shutdown()
            await wait_until(lambda: sink.faulted("GD-1A") and sink.faulted("GD-2A"), 3)
            assert not c.connected
            server = await serve()
            await wait_until(lambda: not sink.faulted("GD-1A") and not sink.faulted("GD-2A"),
                             5, "restored")
        finally:
            await c.stop()
            await server.shutdown()

    run(main())
    assert sink.values("GD-1A")[0] == pytest.approx(12.3)
    assert sink.values("GD-2A")[0] == pytest.approx(7.7)
    warnings = [r.getMessage() for r in device_records(caplog, logging.WARNING)]
    assert len(warnings) == 1 and url in warnings[0], warnings


def test_an_unreachable_device_server_does_not_hold_up_the_loop(
        caplog: pytest.LogCaptureFixture) -> None:
    """Connecting to a device server that never answers takes pyserial up to 5 s; the loop
    (every other link, the user interface) keeps running meanwhile."""
    caplog.set_level(logging.DEBUG, logger="commandcenter")
    sink = Sink()
    with socket.socket() as listener, socket.socket() as first:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        first.connect(("127.0.0.1", port))  # fills the backlog: further connects hang
        gaps: list[float] = []

        async def main() -> None:
            lk = link(id="RS485-U", protocol="modbus_rtu", url=f"socket://127.0.0.1:{port}",
                      baudrate=19200, poll_s=POLL, timeout_s=0.2)
            c = ModbusRtuCoordinator(lk, [gauge("GD-U", "RS485-U", {"slave": 1, "register": 0})],
                                     SystemClock(), sink, backoff=(0.1, 0.2))
            loop = asyncio.get_running_loop()
            await c.start()
            try:
                last = loop.time()
                end = last + 1.5
                while loop.time() < end:
                    await asyncio.sleep(0.01)
                    now = loop.time()
                    gaps.append(now - last)
                    last = now
                assert sink.faulted("GD-U") and not c.connected
            finally:
                await c.stop()

        run(main())
    assert max(gaps) < 0.5, f"the loop stalled for {max(gaps):.2f} s"
    warnings = [r.getMessage() for r in device_records(caplog, logging.WARNING)]
    assert len(warnings) == 1 and "cannot open socket://" in warnings[0], warnings
