"""Coordinators for Modbus links: the polling shared by RTU and TCP, and Modbus TCP.

Both poll the same way: the gauges' registers are grouped into as few reads as possible
(:func:`~commandcenter.devices.registers.plan_reads`), every read runs once per poll cycle, and
a device that failed twice in a row is then asked only every fourth cycle so that one dead
detector cannot stretch the cycle for the live ones on the same line. Each read's outcome is
reported per gauge (a value or a missed poll), so a gauge is faulted for its own missed polls,
never for the time its neighbours' timeouts add to the cycle.

Modbus TCP uses pymodbus's asyncio TCP client; Modbus RTU on an RS-485 line is in
:mod:`commandcenter.devices.rtu` (pymodbus's asyncio serial client).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from pymodbus.client import AsyncModbusTcpClient, ModbusBaseClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ModbusPDU

from commandcenter.core.clock import Clock
from commandcenter.core.site import Gauge, GaugeLink
from commandcenter.devices.base import (
    DEFAULT_BACKOFF,
    LinkCoordinator,
    LinkDownError,
    ReadFailedError,
    ReadingSink,
)
from commandcenter.devices.registers import (
    ReadBlock,
    RegisterPoint,
    parse_address,
    plan_reads,
    split_block,
)

_LOGGER = logging.getLogger(__name__)

DEAD_POLL_EVERY = 4
"""A read that failed twice in a row is retried only every this many cycles."""

EXCEPTION_NAMES = {1: "illegal function", 2: "illegal data address", 3: "illegal data value",
                   4: "device failure", 6: "device busy", 10: "gateway path unavailable",
                   11: "gateway target failed to respond"}
"""Modbus exception codes a gauge may answer with (Modbus application protocol §7)."""


class ModbusExceptionError(ReadFailedError):
    """The device answered with a Modbus exception response."""

    def __init__(self, slave: int, function: int, code: int) -> None:
        """Remember the exception ``code`` the device sent."""
        self.code = code
        super().__init__(f"slave {slave} answered function {function} with exception {code} "
                         f"({EXCEPTION_NAMES.get(code, 'unknown')})")


class ModbusCoordinator(LinkCoordinator):
    """Polling logic shared by Modbus RTU and TCP links."""

    def __init__(self, link: GaugeLink, gauges: Iterable[Gauge], clock: Clock,
                 sink: ReadingSink, *, backoff: tuple[float, float] = DEFAULT_BACKOFF,
                 monotonic: Callable[[], float] | None = None) -> None:
        """Plan the reads for ``gauges``; gauges with a bad address are never read (they fault)."""
        super().__init__(link, gauges, clock, sink, backoff=backoff, monotonic=monotonic)
        points: list[RegisterPoint] = []
        self.bad_addresses: dict[str, str] = {}
        for g in self.gauges.values():
            try:
                points.append(parse_address(g))
            except ValueError as err:
                self.bad_addresses[g.id] = str(err)
        self.blocks: list[ReadBlock] = plan_reads(points)
        self.unpolled = set(self.bad_addresses)
        self._cycle = 0

    async def start(self) -> None:
        """Report unusable addresses once, then start polling."""
        for gid, why in sorted(self.bad_addresses.items()):
            _LOGGER.warning("gauge %s on link %s cannot be read: %s", gid, self.link.id, why)
        await super().start()

    async def _open(self) -> None:
        raise NotImplementedError

    async def _read(self, block: ReadBlock) -> list[int]:
        raise NotImplementedError

    @staticmethod
    async def _request(client: ModbusBaseClient, block: ReadBlock, noun: str) -> ModbusPDU:
        """Send ``block``'s read: holding registers (function 3) or input registers (4).

        A lost connection (:class:`ConnectionException`) and a missing or garbled answer
        (:class:`ModbusIOException`) pass through for the transport to report its own way; any
        other pymodbus error is a failed read of ``noun`` (``unit``, ``slave``) ``block.slave``.
        """
        read = client.read_holding_registers if block.function == 3 \
            else client.read_input_registers
        try:
            return await read(block.start, count=block.count, device_id=block.slave)
        except (ConnectionException, ModbusIOException):
            raise
        except ModbusException as err:
            raise ReadFailedError(f"{noun} {block.slave}: {err}") from err

    @staticmethod
    def _registers(rr: ModbusPDU, block: ReadBlock, noun: str) -> list[int]:
        """Return the registers of ``block``'s answer.

        Raises:
            ModbusExceptionError: The device answered with a Modbus exception.
            ReadFailedError: Fewer registers than asked for (``noun`` names the device).
        """
        if rr.isError():
            code = int(getattr(rr, "exception_code", 0) or 0)
            raise ModbusExceptionError(block.slave, block.function, code)
        regs = list(rr.registers)
        if len(regs) < block.count:
            raise ReadFailedError(f"{noun} {block.slave}: {len(regs)} registers in the answer, "
                                  f"asked for {block.count}")
        return regs

    async def _run(self) -> None:
        loop_time = self._now_mono
        next_cycle = loop_time()
        while True:
            if not self.connected:
                try:
                    await self._open()
                except LinkDownError as err:
                    self.errors += 1
                    self._link_failed(str(err))
                    await self._sleep(self.next_backoff())
                    continue
                self.connected = True
                _LOGGER.debug("link %s: connected to %s", self.link.id, self.endpoint)
            try:
                await self.poll_once()
            except LinkDownError as err:
                self.errors += 1
                self.connected = False
                await self._close()
                self._link_failed(str(err))
                await self._sleep(self.next_backoff())
                next_cycle = loop_time()
                continue
            next_cycle += self.period_s
            now = loop_time()
            next_cycle = max(next_cycle, now)
            await self._sleep(next_cycle - now)

    async def poll_once(self) -> None:
        """Run one poll cycle over every due read, then fault gauges that missed too many.

        Raises:
            LinkDownError: The transport failed; the caller reconnects.
        """
        cycle = self._cycle
        self._cycle += 1
        for index, block in enumerate(list(self.blocks)):
            if block.failures >= 2 and (cycle + index) % DEAD_POLL_EVERY:
                continue
            try:
                regs = await self._read(block)
            except ModbusExceptionError as err:
                if err.code == 2 and len(block.points) > 1:
                    # The device refuses the merged span: read its gauges one by one from now on.
                    i = self.blocks.index(block)
                    self.blocks[i:i + 1] = split_block(block)
                    _LOGGER.debug("link %s: slave %d refuses a read of %d registers at %d; "
                                  "reading its gauges one by one", self.link.id, block.slave,
                                  block.count, block.start)
                self._failed_block(block, str(err))
                continue
            except ReadFailedError as err:
                self._failed_block(block, str(err))
                continue
            finally:
                self._polled()
            block.failures = 0
            try:
                values = block.values(regs)
            except (ValueError, IndexError) as err:
                self._failed_block(block, f"short response: {err}")
                continue
            for gauge_id, value in values:
                self._accept(gauge_id, value)
        self._poll_done()

    def _failed_block(self, block: ReadBlock, detail: str) -> None:
        block.failures += 1
        for p in block.points:
            self._missed(p.gauge_id, detail)


class ModbusTcpCoordinator(ModbusCoordinator):
    """A Modbus TCP device or gateway (unit id = the gauge's ``slave``)."""

    def __init__(self, link: GaugeLink, gauges: Iterable[Gauge], clock: Clock,
                 sink: ReadingSink, *, backoff: tuple[float, float] = DEFAULT_BACKOFF,
                 monotonic: Callable[[], float] | None = None) -> None:
        """Plan the reads; the connection opens when the coordinator starts."""
        super().__init__(link, gauges, clock, sink, backoff=backoff, monotonic=monotonic)
        if not link.host or not link.port:
            raise ValueError(f"link {link.id}: a Modbus TCP link needs host and port")
        self._client: AsyncModbusTcpClient | None = None

    async def _open(self) -> None:
        assert self.link.host is not None and self.link.port is not None
        # The coordinator owns reconnecting (reconnect_delay=0) and retrying (retries=0).
        client = AsyncModbusTcpClient(self.link.host, port=self.link.port, name=self.link.id,
                                      reconnect_delay=0, timeout=self.link.timeout_s,
                                      retries=0)
        # A silent unit behind a gateway must not make pymodbus drop the whole connection.
        client.set_max_no_responses(1 << 30)
        try:
            ok = await asyncio.wait_for(client.connect(), self.link.timeout_s + 1.0)
        except (TimeoutError, OSError, ModbusException) as err:
            client.close()
            raise LinkDownError(f"cannot connect to {self.endpoint}: {err!r}") from err
        if not ok:
            client.close()
            raise LinkDownError(f"cannot connect to {self.endpoint}")
        self._client = client

    async def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def _read(self, block: ReadBlock) -> list[int]:
        client = self._client
        if client is None or not client.connected:
            raise LinkDownError(f"connection to {self.endpoint} lost")
        try:
            rr = await self._request(client, block, "unit")
        except ConnectionException as err:
            raise LinkDownError(f"connection to {self.endpoint} lost: {err}") from err
        except ModbusIOException as err:
            if not client.connected:
                raise LinkDownError(f"connection to {self.endpoint} lost: {err}") from err
            raise ReadFailedError(f"no response from unit {block.slave} within "
                                  f"{self.link.timeout_s:g} s") from err
        return self._registers(rr, block, "unit")
