r"""ASCII line protocol of legacy gas panels over a serial port.

The panel pushes lines on its own, one channel per line: ``TAG,VALUE,UNIT\r\n`` such as
``CH01,23.5,ppm``. ``TAG`` is the gauge's ``address.tag`` (or, when it has none, its id). Lines
that cannot be parsed, unknown tags and units that differ from the site's unit for that gauge
are counted and logged at debug level. ``nan`` and ``inf`` values go through as readings (the
alarm engine calls them bad values). There is no polling: a gauge whose channel stays silent
for 3 × ``poll_s`` is faulted.

Reading the port is blocking pyserial code; it runs in one worker thread per panel.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import serial

from commandcenter.core.clock import Clock
from commandcenter.core.site import Gauge, GaugeLink
from commandcenter.devices.base import (
    DEFAULT_BACKOFF,
    LinkCoordinator,
    LinkDownError,
    PortThread,
    ReadingSink,
)
from commandcenter.devices.rtu import OPEN_ERRORS, PORT_ERRORS

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

MAX_LINE = 256
"""Longer runs without a line end are noise on the line, not a message."""

READ_WAIT_S = 0.2
"""How long one blocking read waits for bytes (bounds how fast the reader notices a stop)."""


class AsciiLineError(ValueError):
    """A panel line that cannot be used.

    Attributes:
        gauge_id: The gauge the line is about, when its tag is known.
    """

    def __init__(self, message: str, gauge_id: str | None = None) -> None:
        """Say what is wrong with the line and, if known, whose line it is."""
        super().__init__(message)
        self.gauge_id = gauge_id


def parse_line(line: bytes, tags: dict[str, Gauge]) -> tuple[Gauge, float]:
    """Return the gauge and value a panel line reports; raise :class:`AsciiLineError` if bad."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = line.decode("latin-1")
    text = text.strip()
    if not text:
        raise AsciiLineError("empty line")
    fields = [f.strip() for f in text.split(",")]
    if len(fields) != 3:
        raise AsciiLineError(f"expected TAG,VALUE,UNIT, got {text[:60]!r}")
    tag, raw, unit = fields
    gauge = tags.get(tag)
    if gauge is None:
        raise AsciiLineError(f"unknown tag {tag!r} in {text[:60]!r}")
    try:
        value = float(raw)
    except ValueError:
        raise AsciiLineError(f"{gauge.id}: value {raw!r} is not a number", gauge.id) from None
    if unit.casefold() != gauge.unit.casefold():
        raise AsciiLineError(f"{gauge.id}: unit {unit!r} differs from the site's {gauge.unit!r}",
                             gauge.id)
    return gauge, value


class AsciiCoordinator(LinkCoordinator):
    """A legacy panel pushing ``TAG,VALUE,UNIT`` lines on a serial port."""

    push = True

    def __init__(self, link: GaugeLink, gauges: Iterable[Gauge], clock: Clock,
                 sink: ReadingSink, *, backoff: tuple[float, float] = DEFAULT_BACKOFF,
                 monotonic: Callable[[], float] | None = None) -> None:
        """Map the panel's tags to gauges."""
        super().__init__(link, gauges, clock, sink, backoff=backoff, monotonic=monotonic)
        if not link.url or not link.baudrate:
            raise ValueError(f"link {link.id}: an ASCII link needs url and baudrate")
        self.tags: dict[str, Gauge] = {}
        for g in self.gauges.values():
            tag = g.address.get("tag", g.id)
            self.tags[str(tag).strip()] = g
        self._port: Any = None
        self._thread = PortThread(f"ascii-{link.id}")
        self._buf = bytearray()
        self.invalid = 0
        """Lines that did not hold a usable reading."""

    async def start(self) -> None:
        """Start the reader thread and the watchdog."""
        self._thread.start()
        await super().start()

    async def stop(self) -> None:
        """Stop reading, close the port and release the worker thread."""
        await super().stop()
        self._thread.stop()

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._thread.run(fn, *args)

    def _open_port(self) -> None:
        assert self.link.url is not None
        try:
            self._port = serial.serial_for_url(self.link.url, baudrate=self.link.baudrate,
                                               timeout=READ_WAIT_S)
        except OPEN_ERRORS as err:
            raise LinkDownError(f"cannot open {self.link.url}: {err}") from err

    def _read_chunk(self) -> bytes:
        port = self._port
        if port is None:
            raise LinkDownError(f"{self.link.url} is not open")
        try:
            return bytes(port.read(max(1, port.in_waiting)))
        except PORT_ERRORS as err:
            raise LinkDownError(f"{self.link.url}: {err}") from err

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(*PORT_ERRORS):
                port.close()

    async def _close(self) -> None:
        if self._thread.running:
            await self._in_thread(self._close_port)
        else:
            self._close_port()

    async def _run(self) -> None:
        while True:
            if self._port is None:
                try:
                    await self._in_thread(self._open_port)
                except LinkDownError as err:
                    self.errors += 1
                    self._link_failed(str(err))
                    await self._sleep(self.next_backoff())
                    continue
                self.connected = True
                self._buf.clear()
                _LOGGER.debug("link %s: opened %s", self.link.id, self.endpoint)
            try:
                data = await self._in_thread(self._read_chunk)
            except LinkDownError as err:
                self.errors += 1
                self.connected = False
                await self._close()
                self._link_failed(str(err))
                await self._sleep(self.next_backoff())
                continue
            if data:
                self.feed(data)

    def feed(self, data: bytes) -> None:
        """Take bytes from the port: split lines and handle each complete one."""
        buf = self._buf
        buf += data
        while True:
            end = buf.find(b"\n")
            if end < 0:
                break
            line = bytes(buf[:end])
            del buf[:end + 1]
            self._line(line)
        if len(buf) > MAX_LINE:
            self.invalid += 1
            self._reject(None, f"{len(buf)} bytes without a line end (noise?)")
            buf.clear()

    def _line(self, line: bytes) -> None:
        if not line.strip():
            return
        if len(line) > MAX_LINE:
            self.invalid += 1
            self._reject(None, f"line of {len(line)} bytes is too long")
            return
        try:
            gauge, value = parse_line(line, self.tags)
        except AsciiLineError as err:
            self.invalid += 1
            self._reject(err.gauge_id, str(err))
            return
        self._accept(gauge.id, value)
