"""Modbus TCP against a real pymodbus TCP server on a free loopback port."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from commandcenter.core.clock import SystemClock
from commandcenter.devices.modbus import ModbusTcpCoordinator

from .conftest import Sink, device_records, free_port, gauge, link, run, wait_until

POLL = 0.2


def _units() -> list[SimDevice]:
    # Unit 1 like the demo DCS gateway: values two registers apart, register 101 undefined,
    # so the merged read 100..104 is refused (exception 02) and the coordinator splits it.
    return [
        SimDevice(id=1, simdata=[SimData(100, values=[215], datatype=DataType.REGISTERS),
                                 SimData(102, values=[3, 3], datatype=DataType.REGISTERS),
                                 SimData(104, values=[1234], datatype=DataType.REGISTERS)]),
        SimDevice(id=5, simdata=[SimData(0, values=[42], datatype=DataType.REGISTERS)]),
    ]


def _coordinator(port: int, sink: Sink) -> ModbusTcpCoordinator:
    lk = link(id="MBTCP-T", protocol="modbus_tcp", host="127.0.0.1", port=port, poll_s=POLL,
              timeout_s=0.2)
    gauges = [
        gauge("TT-1", "MBTCP-T", {"slave": 1, "register": 100, "scale": 0.1},
              kind="temperature", unit="°C", rng=(0, 300)),
        gauge("PT-1", "MBTCP-T", {"slave": 1, "register": 102, "scale": 0.001},
              kind="pressure", unit="MPa", rng=(0, 6)),
        gauge("LT-1", "MBTCP-T", {"slave": 1, "register": 104, "scale": 0.1},
              kind="level", unit="%"),
        gauge("GD-5", "MBTCP-T", {"slave": 5, "register": 0}),
        gauge("GD-9", "MBTCP-T", {"slave": 9, "register": 0}),  # no such unit: exception 04
    ]
    return ModbusTcpCoordinator(lk, gauges, SystemClock(), sink, backoff=(0.1, 0.4))


def test_tcp_reads_splits_refused_span_and_faults_missing_unit(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="commandcenter")
    sink = Sink()
    port = free_port()

    async def main() -> None:
        server = ModbusTcpServer(_units(), address=("127.0.0.1", port))
        await server.serve_forever(background=True)
        c = _coordinator(port, sink)
        assert [(b.slave, b.start, b.count) for b in c.blocks] == [(1, 100, 5), (5, 0, 1),
                                                                     (9, 0, 1)]
        await c.start()
        try:
            await wait_until(lambda: all(sink.count(g) >= 2 for g in ("TT-1", "PT-1", "LT-1",
                                                                        "GD-5")), 5)
            await wait_until(lambda: sink.faulted("GD-9"), 3)
        finally:
            await c.stop()
            await server.shutdown()
        assert [(b.slave, b.start, b.count) for b in c.blocks] == [
            (1, 100, 1), (1, 102, 1), (1, 104, 1), (5, 0, 1), (9, 0, 1)]

    run(main())
    assert sink.values("TT-1")[0] == pytest.approx(21.5)
    assert sink.values("PT-1")[0] == pytest.approx(0.003)
    assert sink.values("LT-1")[0] == pytest.approx(123.4)
    assert sink.values("GD-5")[0] == 42
    assert [f[0] for f in sink.faults] == ["GD-9"]
    assert "exception 4" in sink.faults[0][1]
    warnings = device_records(caplog, logging.WARNING)
    assert len(warnings) == 1 and "GD-9" in warnings[0].getMessage()


def test_tcp_gateway_restart_faults_then_recovers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="commandcenter")
    sink = Sink()
    port = free_port()
    names = ("TT-1", "PT-1", "LT-1", "GD-5")

    async def main() -> None:
        server = ModbusTcpServer(_units(), address=("127.0.0.1", port))
        await server.serve_forever(background=True)
        c = _coordinator(port, sink)
        c.gauges.pop("GD-9")
        c.blocks = [b for b in c.blocks if b.slave != 9]
        await c.start()
        try:
            await wait_until(lambda: all(sink.count(g) >= 1 for g in names), 5)
            await server.shutdown()
            await wait_until(lambda: all(sink.faulted(g) for g in names), 3, "faults")
            assert not c.connected
            await asyncio.sleep(1.0)
            server = ModbusTcpServer(_units(), address=("127.0.0.1", port))
            await server.serve_forever(background=True)
            n = len(sink.readings)
            await wait_until(lambda: not any(sink.faulted(g) for g in names), 5, "restored")
            await wait_until(lambda: len(sink.readings) >= n + 8, 3, "readings flow again")
        finally:
            await c.stop()
            await server.shutdown()

    run(main())
    warnings = device_records(caplog, logging.WARNING)
    infos = device_records(caplog, logging.INFO)
    assert len(warnings) == 1 and "MBTCP-T" in warnings[0].getMessage()
    assert f"127.0.0.1:{port}" in warnings[0].getMessage()
    assert len(infos) == 1 and "recovered" in infos[0].getMessage()
