"""Modbus RTU on an RS-485 line, through pymodbus's asyncio serial client.

One :class:`ModbusRtuCoordinator` per line polls every slave on it (the polling itself is
:class:`~commandcenter.devices.modbus.ModbusCoordinator`'s). Requests, framing, CRC, matching a
response to its request and the response timeout are pymodbus's
(:class:`~pymodbus.client.AsyncModbusSerialClient`, RTU framer): no retries (the next poll is the
retry) and no reconnecting of its own (the coordinator reconnects with its backoff). Between two
transactions the line is left silent for 3.5 characters.

The port is a pyserial URL. pymodbus 3.16 opens it with ``serial.serial_for_url(url,
exclusive=True, …)`` (``pymodbus/transport/serialtransport.py``), so a device path, a
``/dev/serial/by-id`` name, a pty or ``socket://host:port`` of a serial device server all work,
and a port another program holds is refused rather than shared. pymodbus takes no pre-opened
port object.

How a failed read is reported: silence until the timeout is "no response"; bytes that never
became a valid frame for the addressed slave (a CRC error, a truncated or garbled frame) are a
"garbled response"; both are a missed poll of the gauges in that read. A port that fails (an
unplugged adapter, a closed pty, a dropped ``socket://`` connection) is the link going down.

Two things differ from stock pymodbus, each for a reason a test shows
(``tests/devices/test_modbus_rtu.py``):

1. :class:`ResyncRtuFramer` finds a response behind noise. pymodbus 3.16's ``FramerRTU.decode``
   takes the first offset where a function code looks valid as the start of a frame and, when
   that candidate's CRC fails, discards the whole receive buffer — the good frame behind it
   included. On RS-485 a stray byte as the bus turns around is common: one ``0x00`` before
   slave 2's answer (``00 02 03 02 00 4d 3c 71``) turned a good response into a timeout. The
   subclass keeps pymodbus's PDU lookup, frame sizing and CRC and only changes the search: every
   offset is tried and the first complete frame whose CRC holds is taken; with none, it waits for
   more bytes (pymodbus empties the buffer before each request and when it outgrows a frame).
2. The port is opened in a worker thread. pymodbus opens it inside a coroutine but with
   blocking pyserial calls on the loop thread; for ``socket://`` that is a TCP connect that
   pyserial lets run up to 5 s (``POLL_TIMEOUT`` in ``serial/urlhandler/protocol_socket.py``)
   when the device server is unreachable, which would freeze every other link and the user
   interface at each reconnect attempt. The client's connection factory (``ctx.call_create``)
   is replaced by one that builds pymodbus's own ``SerialTransport`` in the line's worker
   thread; while an earlier attempt is still stuck there, a new one fails at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import serial
from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerRTU, FramerType
from pymodbus.transport.serialtransport import SerialTransport

from commandcenter.core.clock import Clock
from commandcenter.core.site import Gauge, GaugeLink
from commandcenter.devices.base import (
    DEFAULT_BACKOFF,
    LinkDownError,
    PortThread,
    ReadFailedError,
    ReadingSink,
)
from commandcenter.devices.modbus import ModbusCoordinator
from commandcenter.devices.registers import ReadBlock, rtu_min_cycle_s, silent_interval_s

try:
    import termios
except ImportError:  # pragma: no cover - Windows has no termios
    PORT_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError)
else:
    PORT_ERRORS = (serial.SerialException, OSError, termios.error)
"""What a broken serial port raises (termios.error is no OSError: a vanished pty raises it)."""
OPEN_ERRORS: tuple[type[BaseException], ...] = (*PORT_ERRORS, ValueError)
"""What opening a port raises (ValueError: a malformed URL or setting)."""

_LOGGER = logging.getLogger(__name__)


class ResyncRtuFramer(FramerRTU):
    """pymodbus's RTU framer, finding a frame behind noise (see the module docstring)."""

    def decode(self, data: bytes) -> tuple[int, int, int, bytes]:
        """Return ``(used, device id, 0, PDU bytes)`` of the first good frame, or wait for more.

        ``used`` counts the bytes up to the end of the frame; ``(0, 0, 0, b"")`` asks for more
        bytes (nothing in ``data`` is a complete frame with a good CRC yet).
        """
        n = len(data)
        for start in range(n - self.MIN_SIZE + 1):
            pdu_class = self.decoder.lookupPduClass(data[start:])
            if pdu_class is None:
                continue
            try:
                size = pdu_class.calculateRtuFrameSize(data[start:])
            except ModbusException:
                continue
            if not size or start + size > n:
                continue
            end = start + size
            crc = (data[end - 2] << 8) | data[end - 1]
            if FramerRTU.check_CRC(data[start:end - 2], crc):
                return end, data[start], 0, data[start + 1:end - 2]
        return 0, 0, 0, self.EMPTY

    def handleFrame(self, data: bytes, exp_devid: int,
                    exp_tid: int) -> tuple[int, Any]:
        """Decode a response; a frame whose CRC holds but whose content does not is dropped."""
        try:
            return super().handleFrame(data, exp_devid, exp_tid)
        except ModbusIOException:
            return len(data), None


class ModbusRtuCoordinator(ModbusCoordinator):
    """One RS-485 line with several slaves, read through pymodbus's asyncio serial client."""

    def __init__(self, link: GaugeLink, gauges: Iterable[Gauge], clock: Clock,
                 sink: ReadingSink, *, backoff: tuple[float, float] = DEFAULT_BACKOFF,
                 monotonic: Callable[[], float] | None = None) -> None:
        """Plan the reads and work out the line's shortest cycle at its baud rate."""
        super().__init__(link, gauges, clock, sink, backoff=backoff, monotonic=monotonic)
        if not link.url or not link.baudrate:
            raise ValueError(f"link {link.id}: a Modbus RTU link needs url and baudrate")
        self.url: str = link.url
        self.baudrate: int = link.baudrate
        self.min_cycle_s = rtu_min_cycle_s(self.blocks, link.baudrate)
        self._period = max(link.poll_s, self.min_cycle_s)
        self._client: AsyncModbusSerialClient | None = None
        self._thread = PortThread(f"rtu-{link.id}")
        self._opening: asyncio.Future[SerialTransport] | None = None
        self._open_error: str | None = None
        self._received = 0
        """Bytes in pymodbus's receive buffer during the current transaction (at most)."""

    @property
    def period_s(self) -> float:
        """The configured poll period, stretched to what the line can carry."""
        return self._period

    async def start(self) -> None:
        """Say once if the line cannot carry the configured poll period, then start."""
        if self._period > self.link.poll_s:
            _LOGGER.warning(
                "link %s (%s): %d reads need at least %.2f s per cycle at %d baud; "
                "poll period stretched from %g s to %.2f s", self.link.id, self.endpoint,
                len(self.blocks), self.min_cycle_s, self.baudrate, self.link.poll_s,
                self._period)
        self._thread.start()
        await super().start()

    async def stop(self) -> None:
        """Stop polling, close the port and release the worker thread."""
        await super().stop()
        self._thread.stop()

    # ------------------------------------------------------------- the port

    async def _open(self) -> None:
        client = AsyncModbusSerialClient(
            self.url, framer=FramerType.RTU, baudrate=self.baudrate, bytesize=8, parity="N",
            stopbits=1, name=self.link.id, reconnect_delay=0, timeout=self.link.timeout_s,
            retries=0, trace_packet=self._trace)
        client.ctx.framer = ResyncRtuFramer(client.ctx.framer.decoder)
        client.ctx.call_create = partial(self._create_transport, client)
        self._open_error = None
        try:
            ok = await client.connect()
        except OPEN_ERRORS as err:
            client.close()
            raise LinkDownError(f"cannot open {self.url}: {err}") from err
        if not ok:
            client.close()
            raise LinkDownError(f"cannot open {self.url}: {self._open_error or 'no reason given'}")
        self._client = client

    async def _create_transport(self, client: AsyncModbusSerialClient
                                ) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
        """Open the port in a thread and hand it to pymodbus as its own ``SerialTransport``."""
        loop = asyncio.get_running_loop()
        ctx = client.ctx
        params = ctx.comm_params
        if self._opening is not None and not self._opening.done():
            self._open_error = "an earlier attempt to open it has not ended yet"
            raise OSError(self._open_error)
        self._opening = opening = loop.run_in_executor(
            self._thread.executor, SerialTransport, loop, ctx, self.url, params.baudrate,
            params.bytesize, params.parity, params.stopbits, params.timeout_connect)
        try:
            transport = await asyncio.shield(opening)
        except asyncio.CancelledError:
            self._open_error = f"the port did not open within {self.link.timeout_s:g} s"
            opening.add_done_callback(_close_late_transport)
            raise
        except OPEN_ERRORS as err:
            self._open_error = str(err) or type(err).__name__
            raise
        loop.call_soon(transport.setup)
        return transport, ctx

    async def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(*PORT_ERRORS):
                client.close()

    def _trace(self, sending: bool, data: bytes) -> bytes:
        """Note whether the slave sent anything at all (pymodbus's packet hook)."""
        if sending:
            self._received = 0
        else:
            self._received = max(self._received, len(data))
        return data

    # ------------------------------------------------------------- reads

    async def _read(self, block: ReadBlock) -> list[int]:
        client = self._client
        if client is None or not client.connected:
            raise LinkDownError(f"{self.url} is closed")
        slave = block.slave
        try:
            rr = await self._request(client, block, "slave")
        except ConnectionException as err:
            raise LinkDownError(f"{self.url} failed: {err}") from err
        except ModbusIOException as err:
            if not client.connected:
                raise LinkDownError(f"{self.url} failed during a read of slave {slave}") \
                    from err
            if self._received:
                raise ReadFailedError(
                    f"garbled response from slave {slave}: {self._received} bytes without a "
                    f"valid frame (CRC or framing error)") from err
            raise ReadFailedError(f"no response from slave {slave} within "
                                  f"{self.link.timeout_s:g} s") from err
        finally:
            await asyncio.sleep(silent_interval_s(self.baudrate))
        return self._registers(rr, block, "slave")


def _close_late_transport(opening: asyncio.Future[SerialTransport]) -> None:
    """Close a port that opened after pymodbus gave up waiting for it."""
    if opening.cancelled() or opening.exception() is not None:
        return
    with contextlib.suppress(*PORT_ERRORS):
        opening.result().sync_serial.close()
