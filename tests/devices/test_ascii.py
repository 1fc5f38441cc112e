"""ASCII line protocol of a legacy panel over a pty."""

from __future__ import annotations

import asyncio
import logging
import math
from pathlib import Path

import pytest

from commandcenter.core.clock import SystemClock
from commandcenter.devices.ascii import AsciiCoordinator, AsciiLineError, parse_line

from .conftest import AsciiPanelPty, Sink, device_records, gauge, link, run, wait_until

POLL = 0.2


def _gauges() -> list:  # type: ignore[type-arg]
    return [gauge(f"NH3-{i}", "ASCII-T", {"tag": f"CH0{i}"}, kind="nh3", unit="ppm",
                  rng=(0, 1000)) for i in (1, 2)]


def test_parse_line() -> None:
    tags = {"CH01": _gauges()[0]}
    g, v = parse_line(b"CH01,23.5,ppm\r", tags)
    assert g.id == "NH3-1" and v == 23.5
    assert math.isnan(parse_line(b"CH01,nan,PPM", tags)[1])
    for bad, why in [(b"CH01,23.5", "TAG,VALUE,UNIT"), (b"CH09,1,ppm", "unknown tag"),
                     (b"CH01,abc,ppm", "not a number"), (b"CH01,1,%LEL", "differs"),
                     (b"\xff\xfe,1,ppm", "unknown tag")]:
        with pytest.raises(AsciiLineError, match=why) as err:
            parse_line(bad, tags)
        # a bad line of a known channel is that gauge's error, the rest the panel's
        assert err.value.gauge_id == ("NH3-1" if why in ("not a number", "differs") else None)


def test_panel_lines_bad_lines_silence_and_unplug(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="commandcenter")
    sink = Sink()
    panel = AsciiPanelPty(tmp_path)

    async def main() -> None:
        lk = link(id="ASCII-T", protocol="ascii", url=panel.path, baudrate=9600, poll_s=POLL)
        c = AsciiCoordinator(lk, _gauges(), SystemClock(), sink, backoff=(0.1, 0.4))
        await c.start()
        try:
            await wait_until(lambda: c.connected, 3)
            # lines may arrive split anywhere
            for chunk in (b"CH01,12.5,ppm\r\nCH0", b"2,3.0,ppm\r\n", b"CH02,99", b"9.5,ppm\n"):
                panel.send(chunk)
                await asyncio.sleep(0.02)
            for bad in (b"garbage\r\n", b"CH07,1.0,ppm\r\n", b"CH01,1.0,%LEL\r\n",
                        b"CH01,x,ppm\r\n", b"\x00" * 400 + b"\r\n"):
                panel.send(bad)
            panel.send(b"CH01,inf,ppm\r\n")
            await wait_until(lambda: sink.count("NH3-1") == 2 and sink.count("NH3-2") == 2, 3)
            await wait_until(lambda: c.invalid == 5, 2, "5 invalid")
            # CH02 keeps talking, CH01 goes silent: only NH3-1 faults (3 x poll_s of silence)
            for _ in range(6):
                panel.send(b"CH02,1.0,ppm\r\n")
                await asyncio.sleep(POLL)
            assert sink.faulted("NH3-1") and not sink.faulted("NH3-2")
            panel.send(b"CH01,2.0,ppm\r\n")
            await wait_until(lambda: not sink.faulted("NH3-1"), 2)
            # the port vanishes, comes back
            panel.vanish()
            await wait_until(lambda: not c.connected, 3, "port loss noticed")
            await wait_until(lambda: sink.faulted("NH3-1") and sink.faulted("NH3-2"), 3)
            await asyncio.sleep(0.5)
            panel.reappear()
            await wait_until(lambda: c.connected, 3, "reopened")
            panel.send(b"CH01,3.0,ppm\r\nCH02,4.0,ppm\r\n")
            await wait_until(lambda: not sink.faulted("NH3-1") and not sink.faulted("NH3-2"), 3)
        finally:
            await c.stop()
            panel.close()

    run(main())
    assert sink.values("NH3-1")[:2] == [12.5, math.inf]
    assert sink.values("NH3-2")[:2] == [3.0, 999.5]
    assert sink.values("NH3-1")[-1] == 3.0 and sink.values("NH3-2")[-1] == 4.0
    warnings = [r.getMessage() for r in device_records(caplog, logging.WARNING)]
    infos = [r.getMessage() for r in device_records(caplog, logging.INFO)]
    # one for the silent channel, one for the unplugged port
    assert len(warnings) == 2, warnings
    assert "NH3-1" in warnings[0] and "ASCII-T" in warnings[1] and "ttyPanel" in warnings[1]
    assert len(infos) == 2 and "NH3-1" in infos[0] and "recovered" in infos[1]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("unknown tag 'CH07'" in m for m in debug)
    assert any("NH3-1: unit '%LEL' differs" in m for m in debug)
    # NH3-1's bad lines came before its last good value; the panel's noise is not NH3-1's
    first = sink.faults[0]
    assert first[0] == "NH3-1" and first[1] == f"no reading for {3 * POLL:.1f} s"
