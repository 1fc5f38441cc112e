"""Readings, the sink they go to, and the coordinator every gauge link runs under.

One :class:`LinkCoordinator` per link (an RS-485 line, a Modbus TCP gateway, an MQTT broker
connection, a legacy ASCII panel) owns the connection, the poll schedule, the timeout and the
reconnect with capped exponential backoff. It tells the :class:`ReadingSink` about every good
reading and about gauges that go blind (:meth:`ReadingSink.comm_fault`) or come back
(:meth:`ReadingSink.comm_restored`).

When a gauge is faulted depends on how its link works:

- A polled link (Modbus, the simulator) reports every poll of every gauge: a good value, or a
  missed poll (timeout, garbled frame, exception response). A gauge is faulted after
  :data:`MISSED_POLLS` missed polls *of that gauge* in a row, so a gauge that stops answering is
  faulted within three poll periods, and a live gauge is never faulted because dead neighbours'
  timeouts stretch the line's cycle. Time alone faults a polled gauge only when the link is not
  polling at all: the port or connection is down, the poll loop has stalled, or the gauge cannot
  be read (bad address).
- A push link (MQTT, ASCII panels) faults a gauge that sent nothing for 3 × ``poll_s``.

A fault names the gauge's own last error (a bad payload on its topic, a CRC error in its
response), never another gauge's; a failed link names the link's error.

Logging follows the rule "once on failure, once on recovery": a link that fails logs one warning
naming the link and its endpoint, and one info line when it works again; a single gauge that
stops answering on a working link logs one warning and one info. When every gauge of a link is
lost at once, that is one warning for the link, not one per gauge. Every failed read is counted
and logged at debug level only.

Time: reading timestamps come from the injected :class:`~commandcenter.core.clock.Clock`; poll
schedules and silence deadlines run on a monotonic source (the event loop's clock for real
devices, the injected clock for the simulator).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, NamedTuple, Protocol, TypeVar

from commandcenter.core.clock import Clock
from commandcenter.core.site import Gauge, GaugeLink
from commandcenter.errors import DeviceError

T = TypeVar("T")

_LOGGER = logging.getLogger(__name__)

DEFAULT_BACKOFF: tuple[float, float] = (1.0, 30.0)
"""First reconnect delay and its cap, in seconds; the delay doubles after each failed attempt."""

MISSED_POLLS = 2
"""Missed polls of one gauge in a row that fault it (within three poll periods of its last
answer: the answer, then two polls without one)."""


class Reading(NamedTuple):
    """One value of one gauge, stamped by the injected clock (immutable; cheap to make).

    Attributes:
        gauge_id: The gauge the value belongs to.
        value: The value in the gauge's unit, already scaled. Out-of-range values and NaN are
            passed on unchanged: judging them is the alarm engine's job.
        ts: When the value was received, aware UTC, from the injected clock.
    """

    gauge_id: str
    value: float
    ts: datetime


class ReadingSink(Protocol):
    """Where coordinators deliver readings and communication state (called on the loop thread)."""

    def reading(self, reading: Reading) -> None:
        """Take one good reading."""
        ...

    def comm_fault(self, gauge_id: str, detail: str, ts: datetime) -> None:
        """Note that a gauge stopped answering (it is blind, not normal)."""
        ...

    def comm_restored(self, gauge_id: str, ts: datetime) -> None:
        """Note that a gauge that was faulted answers again."""
        ...


class LinkStateSink(Protocol):
    """Optional methods of a :class:`ReadingSink` that follows whole links.

    A coordinator calls them, when the sink has them, as the link fails (before it faults the
    link's gauges) and when it works again (before the first reading that proves it).
    """

    def link_fault(self, link_id: str, detail: str, ts: datetime) -> None:
        """Note that a whole link is down: every gauge on it is blind."""
        ...

    def link_restored(self, link_id: str, ts: datetime) -> None:
        """Note that a failed link works again."""
        ...


class ReadFailedError(DeviceError):
    """One read of one gauge (or group of gauges) failed; the link itself is still usable."""


class LinkDownError(DeviceError):
    """The link itself failed (port gone, connection lost): every gauge on it is unreachable."""


class PortThread:
    """The one worker thread a serial link's blocking port calls run on, never the loop.

    One thread per link keeps a port's calls in order; :meth:`stop` lets a call that is stuck
    in the driver finish on its own rather than block the loop.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self.executor: ThreadPoolExecutor | None = None

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self.executor is not None

    def start(self) -> None:
        """Make the thread's executor."""
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)

    def stop(self) -> None:
        """Release the executor without waiting for a call in progress."""
        executor, self.executor = self.executor, None
        if executor is not None:
            executor.shutdown(wait=False)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the thread and return its result."""
        assert self.executor is not None, "the port thread is not started"
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)


class LinkCoordinator:
    """Base of all link coordinators: status, fault tracking, logging, backoff, task lifetime.

    Subclasses implement :meth:`_run` (the link's main coroutine) and usually :meth:`_close`.
    They report through :meth:`_accept` (a good value), :meth:`_reject` (a failed read or an
    invalid message), :meth:`_link_failed` and :meth:`_link_recovered`.

    Attributes:
        link: The link description (endpoint overrides already applied).
        gauges: The gauges on this link, by id.
        connected: Whether the transport (port, socket, broker session) is open right now.
        last_ok: Clock time of the last good reading, or ``None``.
        last_error: The latest failure of any kind on the link, human readable, or ``None``.
        reads: Good readings delivered.
        errors: Failed reads, invalid messages and connection failures counted so far.
    """

    push = False
    """True for links whose devices send on their own (MQTT, ASCII panels): silence limit 3×.

    Polled links (False) report each poll through :meth:`_accept` or :meth:`_missed` and call
    :meth:`_poll_done` after every cycle.
    """

    def __init__(self, link: GaugeLink, gauges: Iterable[Gauge], clock: Clock,
                 sink: ReadingSink, *, backoff: tuple[float, float] = DEFAULT_BACKOFF,
                 monotonic: Callable[[], float] | None = None) -> None:
        """Coordinate ``gauges`` on ``link``; readings go to ``sink``, stamped by ``clock``.

        Args:
            link: The link and its endpoint.
            gauges: The gauges that use this link.
            clock: Source of reading timestamps.
            sink: Receives readings and communication state on the loop thread.
            backoff: First reconnect delay and its cap, in seconds.
            monotonic: Source of deadline time; default the running event loop's clock.
        """
        self.link = link
        self.gauges: dict[str, Gauge] = {g.id: g for g in gauges}
        self.clock = clock
        self.sink = sink
        self.backoff = backoff
        self._monotonic = monotonic
        self.connected = False
        self.last_ok: datetime | None = None
        self.last_error: str | None = None
        self.reads = 0
        self.errors = 0
        self._failed: str | None = None
        self._last_good: dict[str, float] = {}
        self._faulted: dict[str, bool] = {}
        """Faulted gauges → whether their fault was logged at warning level."""
        self._gauge_error: dict[str, str] = {}
        """The latest error of each gauge since its last good reading."""
        self._misses: dict[str, int] = {}
        """Polled links: missed polls in a row, per gauge."""
        self._due_faults: list[str] = []
        """Polled links: gauges that reached :data:`MISSED_POLLS` in the current cycle."""
        self.unpolled: set[str] = set()
        """Polled links: gauges that are never read (unusable address); silence faults them."""
        self._progress = 0.0
        self._mono: Callable[[], float] | None = None
        """The deadline clock while running (the running loop's ``time`` for real devices)."""
        self._started = 0.0
        self._task: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._delay = backoff[0]
        self._rate_ref: tuple[float, float] | None = None
        self._rate = 1.0

    # ----------------------------------------------------------------- description

    @property
    def endpoint(self) -> str:
        """Where the link goes, for log lines: ``/dev/ttyUSB0 @ 19200`` or ``10.0.0.5:502``."""
        if self.link.url:
            baud = f" @ {self.link.baudrate} baud" if self.link.baudrate else ""
            return f"{self.link.url}{baud}"
        if self.link.host:
            return f"{self.link.host}:{self.link.port}"
        return self.link.protocol.value

    @property
    def period_s(self) -> float:
        """The poll period actually used (a polled link may stretch the configured one)."""
        return self.link.poll_s

    @property
    def silence_limit_s(self) -> float:
        """How long a gauge may go without a good reading before silence alone faults it.

        Push links allow three poll periods of silence. On a polled link this applies only
        while the link is not polling (down, stalled) and to gauges that are never read: two
        poll periods plus part of a timeout, so such a gauge is faulted within three periods.
        """
        if self.push:
            return 3.0 * self.period_s
        return 2.0 * self.period_s + min(self.link.timeout_s, 0.5 * self.period_s)

    @property
    def stall_limit_s(self) -> float:
        """How long a polled link may go without finishing any read before it counts as stalled.

        A read ends within the timeout and cycles start every period, so a working poll loop
        finishes something at least every ``max(period, timeout)``.
        """
        return self.silence_limit_s + self.link.timeout_s + self.period_s

    @property
    def healthy(self) -> bool:
        """Whether the link works (connected and at least one gauge answering)."""
        return self._failed is None

    @property
    def faulted(self) -> frozenset[str]:
        """Gauges currently reported as faulted."""
        return frozenset(self._faulted)

    def status(self) -> dict[str, object]:
        """Return the link's status as plain data (for the UI and ``commandcenter status``)."""
        return {
            "link": self.link.id,
            "protocol": self.link.protocol.value,
            "endpoint": self.endpoint,
            "connected": self.connected,
            "healthy": self.healthy,
            "period_s": self.period_s,
            "last_ok": self.last_ok.isoformat() if self.last_ok else None,
            "last_error": self.last_error,
            "reads": self.reads,
            "errors": self.errors,
            "faulted": sorted(self._faulted),
            "gauge_errors": dict(sorted(self._gauge_error.items())),
        }

    # ----------------------------------------------------------------- lifetime

    def _now_mono(self) -> float:
        mono = self._mono
        if mono is not None:
            return mono()
        if self._monotonic is not None:
            return self._monotonic()
        return asyncio.get_running_loop().time()

    async def start(self) -> None:
        """Start the link's task and its silence watchdog on the running loop."""
        if self._task is not None:
            return
        self._mono = self._monotonic or asyncio.get_running_loop().time
        self._started = self._progress = self._now_mono()
        self._task = asyncio.create_task(self._guarded_run(), name=f"link {self.link.id}")
        self._watchdog = asyncio.create_task(self._watch(), name=f"link {self.link.id} watchdog")

    async def stop(self) -> None:
        """Stop polling and close the connection; safe to call twice."""
        for task in (self._watchdog, self._task):
            if task is not None:
                await _cancel(task)
        self._task = self._watchdog = None
        self._mono = None
        try:
            await self._close()
        except Exception as err:  # closing a broken port must not stop the others closing
            _LOGGER.debug("link %s: error while closing: %r", self.link.id, err)
        self.connected = False

    async def _guarded_run(self) -> None:
        """Run :meth:`_run`; a bug in a driver restarts it after a backoff instead of ending it."""
        reported = False
        while True:
            try:
                await self._run()
                return
            except asyncio.CancelledError:
                raise
            except Exception as err:
                if not reported:
                    _LOGGER.exception("link %s (%s): unexpected error in the driver; restarting "
                                      "it", self.link.id, self.endpoint)
                    reported = True
                self.errors += 1
                self.connected = False
                self._link_failed(f"driver error: {err!r}")
                with contextlib.suppress(Exception):
                    await self._close()
                await self._sleep(self.next_backoff())

    async def _run(self) -> None:
        raise NotImplementedError

    async def _close(self) -> None:
        """Close the transport (default: nothing to close)."""

    async def _watch(self) -> None:
        """Fault gauges that went silent; runs beside :meth:`_run` so slow reads cannot delay it."""
        while True:
            await asyncio.sleep(self._real_seconds(max(0.02, self.period_s / 4.0)))
            self.check_silence()

    def _real_seconds(self, seconds: float) -> float:
        """Convert a wait on the deadline timeline into seconds of loop time.

        For real devices both are the loop's clock. On an injected clock (the simulator) the
        clock may run faster or slower than the loop (a scaled drill clock, a test's scripted
        clock): the rate is measured as it goes, and waits are kept short (≤ 0.25 s) so a clock
        that jumps is followed promptly.
        """
        if self._monotonic is None:
            return seconds
        loop_t, mono = asyncio.get_running_loop().time(), self._monotonic()
        if self._rate_ref is None:
            self._rate_ref = (loop_t, mono)
            return min(max(seconds, 0.001), 0.05)  # a short first wait measures the rate
        dl, dm = loop_t - self._rate_ref[0], mono - self._rate_ref[1]
        if dl >= 0.05:
            self._rate = dm / dl if dm > 0 else 1e-3
            self._rate_ref = (loop_t, mono)
        return min(max(seconds / max(self._rate, 1e-3), 0.001), 0.25)

    # ----------------------------------------------------------------- reporting

    def _accept(self, gauge_id: str, value: float) -> None:
        """Deliver one good value of ``gauge_id``."""
        ts = self.clock.now()
        self.reads += 1
        self.last_ok = ts
        self._last_good[gauge_id] = self._now_mono()
        if self._misses:
            self._misses.pop(gauge_id, None)
        if self._gauge_error:
            self._gauge_error.pop(gauge_id, None)
        if self._failed is not None:
            self._link_recovered()
        if self._faulted:
            logged = self._faulted.pop(gauge_id, None)
            if logged is not None:
                if logged:
                    _LOGGER.info("gauge %s on link %s answers again", gauge_id, self.link.id)
                else:
                    _LOGGER.debug("gauge %s on link %s answers again", gauge_id, self.link.id)
                self._call_sink(self.sink.comm_restored, gauge_id, ts)
        try:
            self.sink.reading(Reading(gauge_id, value, ts))
        except Exception:
            _LOGGER.exception("link %s: the reading sink raised", self.link.id)

    def _reject(self, gauge_id: str | None, detail: str) -> None:
        """Count one failed read or invalid message (debug log only).

        Args:
            gauge_id: The gauge the failure belongs to, or ``None`` for the link as a whole
                (noise on a line, a message no gauge can be told from).
            detail: What went wrong, for the log and the gauge's fault.
        """
        self.errors += 1
        self.last_error = detail
        if gauge_id is not None:
            self._gauge_error[gauge_id] = detail
        _LOGGER.debug("link %s%s: %s", self.link.id,
                      f" gauge {gauge_id}" if gauge_id else "", detail)

    def _missed(self, gauge_id: str, detail: str) -> None:
        """Count one poll of ``gauge_id`` that brought no value (polled links).

        The gauge is faulted at the end of the cycle in which it reaches :data:`MISSED_POLLS`.
        """
        self._reject(gauge_id, detail)
        misses = self._misses.get(gauge_id, 0) + 1
        self._misses[gauge_id] = misses
        if misses >= MISSED_POLLS and gauge_id not in self._faulted \
                and gauge_id not in self._due_faults:
            self._due_faults.append(gauge_id)

    def _polled(self) -> None:
        """Note that the poll loop finished a read (polled links; feeds the stall check)."""
        self._progress = self._now_mono()

    def _poll_done(self) -> None:
        """End one poll cycle: fault the gauges that missed too many polls (polled links).

        When that leaves no gauge of the link answering, the link as a whole is marked failed
        (one warning) rather than each gauge.
        """
        self._progress = self._now_mono()
        due = [gid for gid in self._due_faults if gid not in self._faulted]
        self._due_faults.clear()
        if not due:
            return
        if self._failed is None:
            lost = set(self._faulted) | set(due) | self.unpolled
            if lost >= self.gauges.keys():
                self._link_failed(f"no gauge on the link answers ({self.last_error})")
        for gid in due:
            self._fault(gid, f"no reading in {self._misses.get(gid, 0)} polls in a row")

    def _link_failed(self, detail: str) -> None:
        """Mark the whole link failed; logs a warning only on the first failure."""
        self.last_error = detail
        if self._failed is None:
            self._failed = detail
            _LOGGER.warning("link %s (%s) failed: %s; retrying with backoff up to %g s",
                            self.link.id, self.endpoint, detail, self.backoff[1])
            self._tell_link_state("link_fault", detail)
        else:
            self._failed = detail
            _LOGGER.debug("link %s still failing: %s", self.link.id, detail)

    def _link_recovered(self) -> None:
        """Mark the link working again; logs once if it had failed."""
        self._delay = self.backoff[0]
        if self._failed is not None:
            self._failed = None
            _LOGGER.info("link %s (%s) recovered", self.link.id, self.endpoint)
            self._tell_link_state("link_restored")

    def _tell_link_state(self, name: str, *args: object) -> None:
        """Tell a sink that follows whole links (see :class:`LinkStateSink`), if it does."""
        method = getattr(self.sink, name, None)
        if callable(method):
            self._call_sink(method, self.link.id, *args, self.clock.now())

    def _fault(self, gauge_id: str, why: str) -> None:
        """Report ``gauge_id`` blind: with its own last error, or the link's if the link is down."""
        if gauge_id in self._faulted:
            return
        if self._failed is None:
            detail = why
            own = self._gauge_error.get(gauge_id)
            if own:
                detail += f" (last error: {own})"
            _LOGGER.warning("gauge %s on link %s (%s) stopped answering: %s",
                            gauge_id, self.link.id, self.endpoint, detail)
            self._faulted[gauge_id] = True
        else:
            detail = f"link {self.link.id} down: {self._failed}"
            _LOGGER.debug("gauge %s faulted: %s", gauge_id, detail)
            self._faulted[gauge_id] = False
        self._call_sink(self.sink.comm_fault, gauge_id, detail, self.clock.now())

    def check_silence(self) -> None:
        """Fault gauges that silence alone condemns (see the module docstring).

        Push links: every gauge without a good reading within :attr:`silence_limit_s`. Polled
        links: the same for gauges that are never read, and for every gauge while the link is
        not polling (not connected, or no read finished within :attr:`stall_limit_s`). When
        every gauge of the link is silent at once the link as a whole is marked failed (one
        warning for the link, not one per gauge).
        """
        now = self._now_mono()
        limit = self.silence_limit_s
        candidates: Iterable[str]
        stalled = False
        if self.push or not self.connected:
            candidates = self.gauges
        elif now - self._progress > self.stall_limit_s:
            candidates, stalled = self.gauges, True
        else:
            candidates = self.unpolled
        silent = [gid for gid in candidates
                  if now - self._last_good.get(gid, self._started) > limit]
        if not silent:
            return
        if len(silent) == len(self.gauges) and self._failed is None:
            if stalled:
                self._link_failed(f"no read finished for {now - self._progress:.1f} s")
            else:
                self._link_failed(f"no reading from any gauge for {limit:.1f} s")
        for gid in silent:
            self._fault(gid, f"no reading for {limit:.1f} s")

    def _call_sink(self, method: Callable[..., None], *args: object) -> None:
        try:
            method(*args)
        except Exception:
            _LOGGER.exception("link %s: the reading sink raised", self.link.id)

    # ----------------------------------------------------------------- backoff

    def next_backoff(self) -> float:
        """Return the delay before the next reconnect attempt and double it (up to the cap)."""
        delay = self._delay
        self._delay = min(self._delay * 2.0, self.backoff[1])
        return delay

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


async def _cancel(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait until it has ended.

    A single cancel is not enough on Python 3.11: ``asyncio.wait_for`` (which pymodbus awaits
    every response with) swallows a cancellation that arrives as the awaited response does, and
    the task would poll on. The cancel is repeated until the task ends; the caller's own
    cancellation is not swallowed.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.05)
    if not task.cancelled() and task.exception() is not None:
        _LOGGER.debug("task %s ended with %r", task.get_name(), task.exception())
