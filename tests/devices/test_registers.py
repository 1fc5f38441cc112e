"""Register decoding, read grouping, RS-485 capacity, RTU framing; the network's wiring."""

from __future__ import annotations

import logging
import math
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU

from commandcenter.core.clock import SystemClock
from commandcenter.core.siteio import load_site
from commandcenter.devices import GaugeNetwork
from commandcenter.devices.ascii import AsciiCoordinator
from commandcenter.devices.modbus import ModbusTcpCoordinator
from commandcenter.devices.mqtt import MqttCoordinator
from commandcenter.devices.registers import (
    RegisterPoint,
    parse_address,
    plan_reads,
    rtu_transaction_s,
)
from commandcenter.devices.rtu import ModbusRtuCoordinator, ResyncRtuFramer

from .conftest import Sink, device_records, gauge, link, run

REPO = Path(__file__).resolve().parents[2]


def test_decode_types() -> None:
    assert RegisterPoint("a", 1, 0, scale=0.1).decode([0xFFFF]) == pytest.approx(6553.5)
    assert RegisterPoint("a", 1, 0, type="int16", scale=0.1).decode([0xFF38]) == -20.0
    hi, lo = struct.unpack(">HH", struct.pack(">f", 23.5))
    assert RegisterPoint("a", 1, 0, type="float32").decode([hi, lo]) == 23.5
    assert RegisterPoint("a", 1, 0, type="float32", word_order="little").decode([lo, hi]) == 23.5
    assert RegisterPoint("a", 1, 0, type="int32").decode([0xFFFF, 0xFFFE]) == -2
    assert RegisterPoint("a", 1, 0, type="uint32", offset=-1).decode([1, 0]) == 65535
    nh, nl = struct.unpack(">HH", struct.pack(">f", math.nan))
    assert math.isnan(RegisterPoint("a", 1, 0, type="float32", scale=2).decode([nh, nl]))
    with pytest.raises(ValueError):
        RegisterPoint("a", 1, 0, type="float32").decode([1])


@pytest.mark.parametrize(("address", "why"), [
    ({"register": 0}, "slave is required"), ({"slave": 1}, "register is required"),
    ({"slave": 300, "register": 0}, "0..247"), ({"slave": 1, "register": 1.5}, "whole number"),
    ({"slave": 1, "register": 0, "scale": "x"}, "must be a number"),
    ({"slave": 1, "register": 0, "scale": 0}, "non-zero"),
    ({"slave": 1, "register": 0, "type": "float64"}, "not one of"),
    ({"slave": 1, "register": 0, "function": 6}, "3/holding"),
    ({"slave": 1, "register": 65535, "type": "float32"}, "past register 65535"),
])
def test_bad_addresses(address: dict[str, object], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_address(gauge("G", "L", address))  # type: ignore[arg-type]


def test_plan_groups_contiguous_registers_per_slave() -> None:
    pts = [RegisterPoint("a", 1, 0), RegisterPoint("b", 1, 1), RegisterPoint("c", 1, 2,
                                                                               type="float32"),
           RegisterPoint("d", 2, 0), RegisterPoint("e", 1, 50), RegisterPoint("f", 1, 4,
                                                                              function=4),
           RegisterPoint("g", 3, 0), RegisterPoint("h", 3, 130)]
    blocks = [(b.slave, b.function, b.start, b.count, [p.gauge_id for p in b.points])
              for b in plan_reads(pts)]
    assert blocks == [(1, 3, 0, 4, ["a", "b", "c"]), (1, 3, 50, 1, ["e"]),
                      (1, 4, 4, 1, ["f"]), (2, 3, 0, 1, ["d"]), (3, 3, 0, 1, ["g"]),
                      (3, 3, 130, 1, ["h"])]
    wide = [RegisterPoint(str(i), 1, i * 5) for i in range(40)]
    assert all(b.count <= 125 for b in plan_reads(wide))
    assert len(plan_reads(wide)) == 2


def test_line_capacity_figures() -> None:
    assert 1 / rtu_transaction_s(1, 19200) == pytest.approx(50, rel=0.02)
    assert 1 / rtu_transaction_s(1, 9600) == pytest.approx(25, rel=0.02)
    assert rtu_transaction_s(10, 9600) > rtu_transaction_s(1, 9600)


def test_slow_line_stretches_the_poll_period_and_says_so_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="commandcenter")
    lk = link(id="SLOW", protocol="modbus_rtu", url=str(tmp_path / "none"), baudrate=9600,
              poll_s=1.0)
    gauges = [gauge(f"G{i}", "SLOW", {"slave": i, "register": 0}) for i in range(1, 61)]
    c = ModbusRtuCoordinator(lk, gauges, SystemClock(), Sink(), backoff=(0.05, 0.1))
    assert c.min_cycle_s == pytest.approx(60 * 0.040, rel=0.02)
    assert c.period_s == c.min_cycle_s

    async def main() -> None:
        import asyncio
        await c.start()
        await asyncio.sleep(0.3)  # several failed opens of the missing port
        await c.stop()

    run(main())
    messages = [r.getMessage() for r in device_records(caplog, logging.WARNING)]
    assert len(messages) == 2
    assert "stretched from 1 s to 2.41 s" in messages[0] and "60 reads" in messages[0]
    assert "cannot open" in messages[1]
    fast = ModbusRtuCoordinator(lk.model_copy(update={"baudrate": 19200}), gauges[:17],
                                SystemClock(), Sink())
    assert fast.period_s == 1.0


def with_crc(frame: bytes) -> bytes:
    return frame + FramerRTU.compute_CRC(frame).to_bytes(2, "big")


def framer() -> ResyncRtuFramer:
    return ResyncRtuFramer(DecodePDU(False))


def test_rtu_framer_finds_responses_behind_noise_and_exceptions() -> None:
    assert with_crc(b"\x01\x03\x00\x00\x00\x01")[-2:] == b"\x84\x0a"  # CRC low byte first
    frame = with_crc(bytes([7, 3, 4, 0, 1, 0, 2]))
    used, pdu = framer().handleFrame(frame, 7, 0)
    assert used == len(frame) and pdu is not None and pdu.registers == [1, 2]
    for noisy in (b"\x00" + frame, b"\x00\xffjunk" + frame + b"tail", b"\x07\x03\xff" + frame):
        pdu = framer().handleFrame(noisy, 7, 0)[1]
        assert pdu is not None and pdu.registers == [1, 2], noisy
    # A CRC error is no frame: the framer waits for more bytes (pymodbus times the read out).
    assert framer().handleFrame(frame[:-1] + bytes([frame[-1] ^ 1]), 7, 0) == (0, None)
    assert framer().handleFrame(frame[:5], 7, 0) == (0, None)  # incomplete
    assert framer().handleFrame(frame, 8, 0)[1] is None  # another slave's answer
    pdu = framer().handleFrame(with_crc(bytes([7, 0x83, 2])), 7, 0)[1]
    assert pdu is not None and pdu.isError() and pdu.exception_code == 2


def test_stock_pymodbus_rtu_framer_loses_a_response_behind_one_noise_byte() -> None:
    """Why :class:`ResyncRtuFramer` exists: when this fails, pymodbus resynchronises itself."""
    frame = with_crc(bytes([2, 3, 2, 0, 0x4D]))
    assert FramerRTU(DecodePDU(False)).handleFrame(frame, 2, 0)[1] is not None
    assert FramerRTU(DecodePDU(False)).handleFrame(b"\x00" + frame, 2, 0)[1] is None
    assert framer().handleFrame(b"\x00" + frame, 2, 0)[1] is not None


@given(st.binary(max_size=40), st.binary(max_size=40),
       st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=10))
def test_a_good_frame_is_found_in_any_noise(before: bytes, after: bytes,
                                            regs: list[int]) -> None:
    body = bytes([9, 3, 2 * len(regs)]) + struct.pack(f">{len(regs)}H", *regs)
    used, pdu = framer().handleFrame(before + with_crc(body) + after, 9, 0)
    assert pdu is not None
    if getattr(pdu, "registers", None) != regs:
        # the noise itself held a valid frame for slave 9 (vanishingly rare)
        assert used < len(before) + len(body) + 2


def test_demo_site_wiring_and_overrides() -> None:
    site = load_site(str(REPO))
    net = GaugeNetwork(site, SystemClock(), Sink(), mqtt_host="127.0.0.1", mqtt_port=18830,
                       links={"MBTCP-1": site.links["MBTCP-1"].model_copy(
                           update={"host": "127.0.0.2"})})
    cs = net.coordinators()
    assert net.simulator is None
    assert {k: type(v) for k, v in cs.items()} == {
        "RS485-1": ModbusRtuCoordinator, "RS485-2": ModbusRtuCoordinator,
        "RS485-3": ModbusRtuCoordinator, "MBTCP-1": ModbusTcpCoordinator,
        "MQTT-1": MqttCoordinator, "ASCII-1": AsciiCoordinator}
    assert sum(len(c.gauges) for c in cs.values()) == 77
    assert cs["MQTT-1"].link.port == 18830 and cs["MBTCP-1"].link.host == "127.0.0.2"
    rtu = cs["RS485-1"]
    assert isinstance(rtu, ModbusRtuCoordinator) and rtu.period_s == 2.0  # 17 reads fit
    # the DCS gateway's 25 values two registers apart are one read
    tcp = cs["MBTCP-1"]
    assert isinstance(tcp, ModbusTcpCoordinator) and len(tcp.blocks) == 1
    assert all(s["connected"] is False for s in net.status())
