"""Coordinators for Modbus links: RTU on an RS-485 line, TCP through a gateway.

Both poll the same way: the gauges' registers are grouped into as few reads as possible
(:func:`~commandcenter.devices.registers.plan_reads`), every read runs once per poll cycle, and
a device that failed twice in a row is then asked only every fourth cycle so that one dead
detector cannot stretch the cycle for the live ones on the same line.

RTU lines have a real capacity (about 50 one-register reads per second at 19200 baud); when the
configured ``poll_s`` is shorter than the line can carry, the cycle is stretched and that is
logged once. The RTU master itself is blocking pyserial code and runs in one worker thread per
line. Modbus TCP uses pymodbus's asyncio client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

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
    rtu_min_cycle_s,
    split_block,
)
from commandcenter.devices.rtu import ModbusExceptionError, RtuMaster

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

DEAD_POLL_EVERY = 4
"""A read that failed twice in a row is retried only every this many cycles."""


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
        """Run one poll cycle over every due read.

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
            block.failures = 0
            try:
                values = block.values(regs)
            except (ValueError, IndexError) as err:
                self._failed_block(block, f"short response: {err}")
                continue
            for gauge_id, value in values:
                self._accept(gauge_id, value)

    def _failed_block(self, block: ReadBlock, detail: str) -> None:
        block.failures += 1
        for p in block.points:
            self._reject(p.gauge_id, detail)


class ModbusRtuCoordinator(ModbusCoordinator):
    """One RS-485 line with several slaves, read by a blocking master in its own thread."""

    def __init__(self, link: GaugeLink, gauges: Iterable[Gauge], clock: Clock,
                 sink: ReadingSink, *, backoff: tuple[float, float] = DEFAULT_BACKOFF,
                 monotonic: Callable[[], float] | None = None) -> None:
        """Plan the reads and work out the line's shortest cycle at its baud rate."""
        super().__init__(link, gauges, clock, sink, backoff=backoff, monotonic=monotonic)
        if not link.url or not link.baudrate:
            raise ValueError(f"link {link.id}: a Modbus RTU link needs url and baudrate")
        self.min_cycle_s = rtu_min_cycle_s(self.blocks, link.baudrate)
        self._period = max(link.poll_s, self.min_cycle_s)
        self._master = RtuMaster(link.url, link.baudrate, link.timeout_s)
        self._executor: ThreadPoolExecutor | None = None

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
                len(self.blocks), self.min_cycle_s, self.link.baudrate, self.link.poll_s,
                self._period)
        self._executor = ThreadPoolExecutor(max_workers=1,
                                            thread_name_prefix=f"rtu-{self.link.id}")
        await super().start()

    async def stop(self) -> None:
        """Stop polling, close the port and release the worker thread."""
        await super().stop()
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._executor is not None
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _open(self) -> None:
        await self._in_thread(self._master.open)

    async def _close(self) -> None:
        if self._executor is not None:
            await self._in_thread(self._master.close)
        else:
            self._master.close()

    async def _read(self, block: ReadBlock) -> list[int]:
        return await self._in_thread(self._master.read, block.slave, block.function,
                                     block.start, block.count)


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
        read = client.read_holding_registers if block.function == 3 \
            else client.read_input_registers
        try:
            rr = await read(block.start, count=block.count, device_id=block.slave)
        except ConnectionException as err:
            raise LinkDownError(f"connection to {self.endpoint} lost: {err}") from err
        except ModbusIOException as err:
            if not client.connected:
                raise LinkDownError(f"connection to {self.endpoint} lost: {err}") from err
            raise ReadFailedError(f"no response from unit {block.slave} within "
                                  f"{self.link.timeout_s:g} s") from err
        except ModbusException as err:
            raise ReadFailedError(f"unit {block.slave}: {err}") from err
        if rr.isError():
            code = int(getattr(rr, "exception_code", 0) or 0)
            raise ModbusExceptionError(block.slave, block.function, code)
        regs = list(rr.registers)
        if len(regs) < block.count:
            raise ReadFailedError(f"unit {block.slave}: {len(regs)} registers in the answer, "
                                  f"asked for {block.count}")
        return regs
