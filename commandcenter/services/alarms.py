"""The alarm service: live gauges in, alarm events into the log, the alarm board kept current.

:class:`AlarmService` is the runtime component ``"alarms"``. It is the
:class:`~commandcenter.devices.base.ReadingSink` of the site's
:class:`~commandcenter.devices.network.GaugeNetwork` and implements
:class:`~commandcenter.services.protocols.AlarmDesk` for the alarm screens.

How events flow (everything on the runtime's asyncio loop thread, so the board's signals arrive
there — the GUI thread under qasync):

1. A reading goes into the gauge's trend buffer and the history, then through the
   :class:`~commandcenter.core.alarms.AlarmEngine`; the events it returns, and those of operator
   actions and of the 1 s tick, are queued in the order they happened.
2. One pump task appends the queue to the event log in batches (on a worker thread, so the loop
   never waits for a commit), then folds the *recorded* events into the
   :class:`~commandcenter.core.alarms.AlarmBoard` strictly in sequence order.
3. The pump also reads what other writers appended (another process such as
   ``commandcenter alarms ack``, or another component of this one): when the log's writer reports
   a commit, and every ``poll_s`` seconds. Operator actions recorded elsewhere are taken into the
   engine too, from the board's fold of them, so the engine and the board agree.

The service also follows ``incident.*`` and ``drill.*`` events in the log: while an incident is
open or a drill runs, every reading is kept at full rate in the history. When one opens, the
lead-up is written at full rate too: the last ``lead_up`` (15 minutes by default) of every
gauge's trend buffer, each reading once, however many incidents and drills overlap.

A link whose coordinator reports it down as a whole (``link_fault``) raises ONE link alarm; the
communication alarms of its gauges are suppressed by design meanwhile (see
:meth:`~commandcenter.core.alarms.AlarmEngine.link_fault`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, Protocol

from commandcenter.core.alarms import (
    ACTIVATIONS,
    EVENT_TYPES,
    REALARMED,
    RETURNS,
    Alarm,
    AlarmBoard,
    AlarmEngine,
    AlarmSettings,
    AlarmState,
    link_alarm_id,
)
from commandcenter.core.clock import Clock
from commandcenter.core.events import Event, JsonValue, RecordedEvent, format_ts
from commandcenter.core.incidents import INCIDENT_ACTIVATED, INCIDENT_CLOSED
from commandcenter.core.site import Site
from commandcenter.core.trends import TrendStore
from commandcenter.errors import CommandCenterError, StorageError
from commandcenter.services.protocols import GaugeStatus
from commandcenter.storage.history import (
    HistoryStore,
    MinuteAggregator,
    MinuteStats,
    StoredReading,
    finite_or_none,
)

if TYPE_CHECKING:
    from commandcenter.devices.base import Reading, ReadingSink
    from commandcenter.services.runtime import Runtime, Services

_LOGGER = logging.getLogger(__name__)

DRILL_STARTED: Final = "drill.started"
"""A drill begins (``drill_id`` set); readings are kept at full rate until it ends."""
DRILL_ENDED: Final = "drill.ended"
"""A drill is over (``drill_id`` set)."""

OPERATOR_EVENT_TYPES: Final = EVENT_TYPES - ACTIVATIONS - RETURNS - {REALARMED}
"""Alarm events that do not come from a gauge's condition (acknowledge, shelve, comment …)."""

TREND_CAPACITY: Final = 3600
"""Readings per gauge in the trend buffers: one hour at 1 Hz."""

DEFAULT_LEAD_UP: Final = timedelta(minutes=15)
"""How much of the time before an incident or drill is written at full rate when it opens."""

PRUNE_EVERY: Final = timedelta(hours=6)
"""How often per-minute history older than its retention is deleted."""

_PAGE: Final = 2000


class GaugeNetworkLike(Protocol):
    """What the service needs of a gauge network (``devices.network.GaugeNetwork``)."""

    async def start(self) -> None:
        """Start every link."""
        ...

    async def stop(self) -> None:
        """Stop every link."""
        ...


NetworkFactory = Callable[["ReadingSink"], GaugeNetworkLike]
"""Builds the gauge network that feeds a sink."""


class SyncedAlarmEngine(AlarmEngine):
    """An alarm engine that can take over alarm states folded elsewhere.

    The alarm service runs the engine live; operator actions recorded by other processes reach it
    only through the log. :meth:`adopt` sets alarms to the state an :class:`AlarmBoard` folded
    from the log (with :func:`~commandcenter.core.alarms.apply_alarm_event`, the engine's own
    transition function), without the side effects of a restart that
    :meth:`~AlarmEngine.resume` has (one-shot shelving ended, delays restarted).
    """

    def adopt(self, alarms: Iterable[Alarm]) -> None:
        """Take the given alarm states as the engine's own (unknown alarms are skipped)."""
        with self._lock:
            for alarm in alarms:
                if alarm.id in self._specs:
                    self._alarms[alarm.id] = alarm


def alarm_summary(alarm: Alarm) -> dict[str, JsonValue]:
    """Return one alarm as plain JSON data (for the CLI and exports)."""
    spec = alarm.spec
    shelving = alarm.shelving
    hold = alarm.out_of_service or alarm.suppression
    confirmation = alarm.confirmation
    return {
        "id": alarm.id,
        "gauge": alarm.gauge,
        "state": alarm.state.value,
        "priority": alarm.priority.value,
        "kind": spec.kind.value,
        "level": spec.level.value if spec.level else None,
        "direction": spec.direction,
        "limit": spec.limit,
        "unit": spec.unit,
        "value": alarm.value,
        "detail": alarm.detail,
        "active": alarm.active,
        "acknowledged": alarm.acknowledged,
        "active_since": format_ts(alarm.active_since) if alarm.active_since else None,
        "changed_at": format_ts(alarm.changed_at) if alarm.changed_at else None,
        "acked_by": alarm.acked_by,
        "shelved_by": shelving.by if shelving else None,
        "shelved_until": (format_ts(shelving.until) if shelving and shelving.until else None),
        "shelve_reason": shelving.reason if shelving else None,
        "one_shot": shelving.one_shot if shelving else None,
        "held_by": hold.by if hold else None,
        "hold_reason": hold.reason if hold else None,
        "formal": alarm.formal,
        "confirmed_by": confirmation.by if confirmation else None,
        "confirm_note": confirmation.note if confirmation else None,
        "plans": list(alarm.plans),
        "action": alarm.action,
    }


@dataclass(slots=True)
class _Batch:
    """Events queued for the log, and the future of the caller waiting for them (if any)."""

    events: list[Event]
    done: asyncio.Future[None] | None = None


@dataclass(slots=True)
class _Live:
    value: float | None = None
    ts: datetime | None = None
    answered: bool = False


class AlarmService:
    """The live alarm system of one process (runtime component ``"alarms"``).

    Attributes:
        name: ``"alarms"``.
        site: The site whose gauges are watched.
        board: The current alarms, folded from the log (signals fire on the loop thread).
        trends: One hour of readings per gauge, for trend plots.
        engine: The alarm engine.
        history: Per-minute and full-rate gauge history.
        network: The gauge network while running (``None`` when readings come from elsewhere).
    """

    name = "alarms"

    def __init__(self, services: Services, *, simulate: bool | None = None,
                 connect_gauges: bool = True, network_factory: NetworkFactory | None = None,
                 settings: AlarmSettings | None = None, tick_s: float = 1.0,
                 poll_s: float = 1.0, retry_s: float = 1.0,
                 lead_up: timedelta = DEFAULT_LEAD_UP) -> None:
        """Prepare the service (nothing runs before :meth:`start`).

        Args:
            services: Settings, clock, site and event log of this process.
            simulate: Read every gauge from the simulator; default: the
                ``simulate_gauges`` setting.
            connect_gauges: Start the site's gauge network; ``False`` when the caller feeds
                readings through the sink methods itself.
            network_factory: Builds the network from the sink (default: the site's
                :class:`~commandcenter.devices.network.GaugeNetwork`).
            settings: Alarm priorities, re-alarm and shelving limits.
            tick_s: Seconds between ticks (delays, timed shelving, minute closing).
            poll_s: Seconds between looks at the log for events written by others.
            retry_s: Pause before appending again after the store failed.
            lead_up: How much of the trend buffers to write at full rate when an incident
                opens or a drill starts (at most the buffers' hour; zero turns it off).
        """
        if lead_up < timedelta(0):
            raise ValueError("lead_up must not be negative")
        self.services = services
        self.site: Site = services.site
        self.clock: Clock = services.clock
        self.log = services.event_log
        self.engine = SyncedAlarmEngine(self.site.gauges.values(), self.clock,
                                        plans=self.site.plans.values(), settings=settings)
        self.board = AlarmBoard()
        self.trends = TrendStore(self.site.gauges, capacity=TREND_CAPACITY)
        self.history = HistoryStore(self.log.engine)
        self.network: GaugeNetworkLike | None = None
        self._simulate = services.settings.simulate_gauges if simulate is None else simulate
        self._connect = connect_gauges
        self._factory = network_factory
        self._tick_s = tick_s
        self._poll_s = poll_s
        self._retry_s = retry_s
        self._minutes = MinuteAggregator()
        self._closed_minutes: list[MinuteStats] = []
        self._full_rate: list[StoredReading] = []
        self._lead_up = lead_up
        self._full_rate_until: dict[str, float] = {}
        """Gauge → time (POSIX s) of the newest reading written at full rate."""
        self._live: dict[str, _Live] = {gid: _Live() for gid in self.site.gauges}
        self._links = self.engine.links()
        self._open_incidents: set[str] = set()
        self._running_drills: set[str] = set()
        self._outbox: list[_Batch] = []
        self._pending: Counter[str] = Counter()
        """Alarm id → own events queued or in flight, not yet folded into the board."""
        self._own: set[int] = set()
        """Seqs this service appended that the board has not folded yet."""
        self._dirty: set[str] = set()
        """Alarms changed by events from elsewhere, to hand to the engine once settled."""
        self._waiters: list[asyncio.Future[None]] = []
        self._warned: set[str] = set()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._stopping = False
        self._append_failing = False
        self._read_failing = False
        self._last_prune: datetime | None = None

    # ------------------------------------------------------------------ lifetime

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._pump_task is not None and not self._stopping

    @property
    def recording(self) -> bool:
        """True while an incident is open or a drill runs (readings kept at full rate)."""
        return bool(self._open_incidents or self._running_drills)

    async def start(self) -> None:
        """Rebuild the board from the log, resume the engine, start the pump, tick and gauges."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        await self._catch_up()
        self._own.clear()
        self._dirty.clear()
        resumed = self.engine.resume(self.board.alarms().values(), self.clock.now())
        self._unsubscribe = self.log.subscribe(self._on_commit)
        self._pump_task = asyncio.create_task(self._pump(), name="alarms pump")
        self._enqueue(resumed)
        self._tick_task = asyncio.create_task(self._ticker(), name="alarms tick")
        if self._connect:
            try:
                self.network = self._build_network()
                await self.network.start()
            except Exception:
                await self.stop()
                raise
        _LOGGER.info("alarm service started: %d gauges, %d standing alarms, %s",
                     len(self.site.gauges), len(self.board.standing()),
                     "no gauge network" if not self._connect
                     else "simulated gauges" if self._simulate else "live gauges")

    async def restore(self) -> None:
        """Rebuild the board from the log and nothing else: no gauges, no pump, no writes.

        For views of what the store holds (``commandcenter screenshot``) in a process that
        runs no alarm service of its own.
        """
        await self._catch_up()

    def _build_network(self) -> GaugeNetworkLike:
        if self._factory is not None:
            return self._factory(self)
        from commandcenter.devices.network import GaugeNetwork

        return GaugeNetwork(self.site, self.clock, self, simulate=self._simulate)

    async def stop(self) -> None:
        """Stop the gauges and the tick, record what is queued, close the history."""
        if self._pump_task is None:
            return
        network, self.network = self.network, None
        if network is not None:
            try:
                await network.stop()
            except Exception:
                _LOGGER.exception("the gauge network did not stop cleanly")
        if self._tick_task is not None:
            self._tick_task.cancel()
            await asyncio.gather(self._tick_task, return_exceptions=True)
            self._tick_task = None
        self._stopping = True
        self._poke()
        await asyncio.gather(self._pump_task, return_exceptions=True)
        self._pump_task = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._closed_minutes.extend(self._minutes.close_all())
        self._flush_history()
        await asyncio.to_thread(self.history.close)
        _LOGGER.info("alarm service stopped")

    # ------------------------------------------------------------------ the gauge sink

    def reading(self, reading: Reading) -> None:
        """Take one reading: trend, history, alarm engine (on the loop thread)."""
        gid, value, ts = reading.gauge_id, float(reading.value), reading.ts
        live = self._live.get(gid)
        if live is None:
            self._unknown(gid)
            return
        live.answered = True
        if math.isfinite(value):
            live.value, live.ts = value, ts
            self.trends.append(gid, ts.timestamp(), value)
        self._closed_minutes.extend(self._minutes.add(gid, ts, value))
        if self.recording:
            self._full_rate.append(StoredReading(gid, ts, finite_or_none(value)))
            self._full_rate_until[gid] = max(ts.timestamp(),
                                             self._full_rate_until.get(gid, -math.inf))
        self._enqueue(self.engine.process(gid, value, ts))

    def comm_fault(self, gauge_id: str, detail: str, ts: datetime) -> None:
        """Note that a gauge stopped answering: raise its communication alarm."""
        if gauge_id not in self._live:
            self._unknown(gauge_id)
            return
        self._enqueue(self.engine.comm_fault(gauge_id, detail, ts))

    def comm_restored(self, gauge_id: str, ts: datetime) -> None:
        """Note that a gauge answers again: return its communication alarm."""
        if gauge_id not in self._live:
            self._unknown(gauge_id)
            return
        self._enqueue(self.engine.comm_restored(gauge_id, ts))

    def link_fault(self, link_id: str, detail: str, ts: datetime) -> None:
        """Note that a whole link is down: one link alarm, its gauges' comm alarms held back."""
        if link_id not in self._links:
            self._unknown_link(link_id)
            return
        self._enqueue(self.engine.link_fault(link_id, detail, ts))

    def link_restored(self, link_id: str, ts: datetime) -> None:
        """Note that a failed link works again: return its link alarm."""
        if link_id not in self._links:
            self._unknown_link(link_id)
            return
        self._enqueue(self.engine.link_restored(link_id, ts))

    def _unknown_link(self, link_id: str) -> None:
        if f"link {link_id}" not in self._warned:
            self._warned.add(f"link {link_id}")
            _LOGGER.warning("state of link %r, which no gauge of the site uses; ignored",
                            link_id)

    def _unknown(self, gauge_id: str) -> None:
        if gauge_id not in self._warned:
            self._warned.add(gauge_id)
            _LOGGER.warning("reading for gauge %r, which the site does not define; ignored",
                            gauge_id)

    # ------------------------------------------------------------------ the desk

    def gauge_status(self, gauge_id: str) -> GaugeStatus:
        """Return the latest finite reading of ``gauge_id`` and whether it answers.

        A gauge is available once it has answered since the service started and while neither
        its communication alarm nor its link's alarm is active.

        Raises:
            KeyError: The site has no such gauge.
        """
        live = self._live[gauge_id]
        blind = self.engine.alarm(f"{gauge_id}:comm").active or self.engine.alarm(
            link_alarm_id(self.site.gauges[gauge_id].link)).active
        return GaugeStatus(gauge_id, live.value, live.ts, available=live.answered and not blind)

    async def acknowledge(self, alarm_id: str, who: str) -> None:
        """Acknowledge one alarm; returns once it is recorded and on the board.

        Raises:
            UnknownAlarmError: No such alarm.
            ActionRefusedError: Nothing to acknowledge.
        """
        self._require_running()
        await self._record(self.engine.acknowledge(alarm_id, who))

    async def acknowledge_all(self, who: str, gauge_id: str | None = None) -> None:
        """Acknowledge every unacknowledged announced alarm (of one gauge, if given)."""
        self._require_running()
        await self._record(self.engine.acknowledge_all(who, gauge_id))

    async def shelve(self, alarm_id: str, who: str, reason: str,
                     minutes: float | None) -> None:
        """Shelve for ``minutes`` (``None``: one-shot, until it returns to normal)."""
        self._require_running()
        await self._record(self.engine.shelve(alarm_id, who, reason, minutes))

    async def unshelve(self, alarm_id: str, who: str) -> None:
        """End shelving by hand (the alarm returns acknowledged, IEC 62682 §11.7.3)."""
        self._require_running()
        await self._record(self.engine.unshelve(alarm_id, who))

    async def reset(self, alarm_id: str, who: str) -> None:
        """Reset a latched alarm."""
        self._require_running()
        await self._record(self.engine.reset(alarm_id, who))

    async def comment(self, alarm_id: str, who: str, text: str) -> None:
        """Attach an operator comment."""
        self._require_running()
        await self._record(self.engine.comment(alarm_id, who, text))

    async def confirm(self, alarm_id: str, who: str, note: str = "") -> None:
        """Record that the post confirmed a pre-alarm: it becomes formal and offers plans.

        Raises:
            UnknownAlarmError: No such alarm.
            ActionRefusedError: Not an active pre-alarm, or already confirmed.
        """
        self._require_running()
        await self._record(self.engine.confirm(alarm_id, who, note))

    async def remove_gauge_from_service(self, gauge_id: str, who: str, reason: str) -> None:
        """Take every alarm of a gauge out of service (maintenance, calibration).

        Raises:
            UnknownAlarmError: No such gauge.
            ActionRefusedError: No reason, or already out of service.
        """
        self._require_running()
        await self._record(self.engine.remove_gauge_from_service(gauge_id, who, reason))

    async def return_gauge_to_service(self, gauge_id: str, who: str) -> None:
        """Return every alarm of a gauge to service (active conditions are announced anew).

        Raises:
            UnknownAlarmError: No such gauge.
            ActionRefusedError: It is not out of service.
        """
        self._require_running()
        await self._record(self.engine.return_gauge_to_service(gauge_id, who))

    def gauge_out_of_service(self, gauge_id: str) -> bool:
        """True while any alarm of the gauge is out of service (as the board has it)."""
        return self.board.gauge_out_of_service(gauge_id)

    async def remove_from_service(self, alarm_id: str, who: str, reason: str) -> None:
        """Take an alarm out of service (maintenance, calibration)."""
        self._require_running()
        await self._record(self.engine.remove_from_service(alarm_id, who, reason))

    async def return_to_service(self, alarm_id: str, who: str) -> None:
        """Return an alarm to service."""
        self._require_running()
        await self._record(self.engine.return_to_service(alarm_id, who))

    def _require_running(self) -> None:
        if not self.running:
            raise CommandCenterError("the alarm service is not running")

    async def _record(self, events: list[Event]) -> None:
        if not events:
            return
        assert self._loop is not None
        done: asyncio.Future[None] = self._loop.create_future()
        self._enqueue(events, done)
        await done

    async def settle(self) -> None:
        """Wait until everything queued so far is recorded and the board has read the log."""
        self._require_running()
        assert self._loop is not None
        done: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(done)
        self._poke()
        await done

    # ------------------------------------------------------------------ time

    def tick(self) -> None:
        """Let time pass: delays, timed shelving, re-alarms; close finished minutes of history."""
        now = self.clock.now()
        self._enqueue(self.engine.tick(now))
        self._closed_minutes.extend(self._minutes.close_before(now))
        self._flush_history()
        if self._last_prune is None or now - self._last_prune >= PRUNE_EVERY:
            self._last_prune = now
            self.history.prune(now)

    def _flush_history(self) -> None:
        if self._closed_minutes or self._full_rate:
            self.history.write(self._closed_minutes, self._full_rate)
            self._closed_minutes, self._full_rate = [], []

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            try:
                self.tick()
            except Exception:  # one bad tick must not stop timed shelving for good
                _LOGGER.exception("alarm tick failed")

    # ------------------------------------------------------------------ the pump

    def _enqueue(self, events: list[Event], done: asyncio.Future[None] | None = None) -> None:
        if not events:
            return
        for ev in events:
            self._pending[str(ev.payload.get("alarm"))] += 1
        self._outbox.append(_Batch(events, done))
        self._poke()

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _on_commit(self, _event: RecordedEvent) -> None:
        """Log subscriber (runs on the log's writer thread): only wake the pump."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or wake.is_set():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing: the service is stopping
            loop.call_soon_threadsafe(wake.set)

    async def _pump(self) -> None:
        assert self._wake is not None
        while True:
            if not self._outbox:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_s)
            self._wake.clear()
            stopping = self._stopping
            waiters, self._waiters = self._waiters, []
            try:
                appended = await self._append()
                if appended:
                    await self._catch_up()
                    self._read_failing = False
            except StorageError as err:
                appended = False
                if not self._read_failing:
                    self._read_failing = True
                    _LOGGER.warning("cannot read new events from the log, retrying: %s", err)
            except Exception:  # the pump must outlive any single failure
                _LOGGER.exception("alarm pump failed; retrying")
                appended = False
            for w in waiters:
                if not w.done():
                    w.set_result(None)
            if stopping:
                if self._outbox:
                    lost = sum(len(b.events) for b in self._outbox)
                    _LOGGER.error("%d alarm events could not be recorded before stopping", lost)
                    for b in self._outbox:
                        if b.done is not None and not b.done.done():
                            b.done.set_exception(StorageError("the alarm service stopped "
                                                              "before recording this"))
                    self._outbox.clear()
                return
            if not appended:
                await asyncio.sleep(self._retry_s)

    async def _append(self) -> bool:
        """Append every queued batch in order; False if the store failed (batches kept)."""
        while self._outbox:
            batches, self._outbox = self._outbox, []
            events = [ev for b in batches for ev in b.events]
            try:
                recorded = await asyncio.to_thread(self.log.append_many, events)
            except StorageError as err:
                self._outbox[:0] = batches
                if not self._append_failing:
                    self._append_failing = True
                    _LOGGER.error("cannot record %d alarm events, retrying: %s",
                                  len(events), err)
                return False
            except ValueError as err:
                _LOGGER.error("alarm events refused by the log, dropped: %s", err)
                for ev in events:
                    self._pending[str(ev.payload.get("alarm"))] -= 1
                for b in batches:
                    if b.done is not None and not b.done.done():
                        b.done.set_exception(err)
                continue
            if self._append_failing:
                self._append_failing = False
                _LOGGER.info("alarm events are recorded again")
            self._own.update(r.seq for r in recorded)
            try:
                if recorded and recorded[0].seq != self.board.last_seq + 1:
                    await self._catch_up()  # others wrote in between: fold theirs first
                for rec in recorded:
                    self._take(rec)
                self._settle_dirty()
            finally:  # recorded is what callers wait for; the board catches up on the next poll
                for b in batches:
                    if b.done is not None and not b.done.done():
                        b.done.set_result(None)
        return True

    async def _catch_up(self) -> None:
        """Fold everything the log holds after the board's last seq (read on a worker thread)."""
        while True:
            after = self.board.last_seq
            page = await asyncio.to_thread(self._read_page, after)
            for ev in page:
                self._take(ev)
            self._settle_dirty()
            if len(page) < _PAGE:
                return

    def _read_page(self, after: int) -> list[RecordedEvent]:
        return list(self.log.read(after_seq=after, limit=_PAGE))

    def _take(self, ev: RecordedEvent) -> None:
        """Fold one recorded event (in seq order) into the board and the service's own state."""
        if ev.seq <= self.board.last_seq:
            return
        own = ev.seq in self._own
        self._own.discard(ev.seq)
        self._observe(ev)
        alarm = self.board.apply(ev)
        if own:
            aid = str(ev.payload.get("alarm"))
            self._pending[aid] -= 1
            if self._pending[aid] <= 0:
                del self._pending[aid]
        elif alarm is not None and ev.type in OPERATOR_EVENT_TYPES:
            self._dirty.add(alarm.id)

    def _settle_dirty(self) -> None:
        """Give the engine the board's state of alarms changed elsewhere, once settled.

        An alarm with own events still queued waits: its board state is final only once
        they are folded too.
        """
        ready = [aid for aid in self._dirty if not self._pending.get(aid)]
        if not ready:
            return
        self._dirty.difference_update(ready)
        self.engine.adopt(a for aid in ready if (a := self.board.alarm(aid)) is not None)

    def _observe(self, ev: RecordedEvent) -> None:
        """Follow incidents and drills (full-rate history while any is open)."""
        if ev.type == INCIDENT_ACTIVATED and ev.incident_id:
            self._open_incidents.add(ev.incident_id)
            self._write_lead_up(ev.ts)
        elif ev.type == INCIDENT_CLOSED and ev.incident_id:
            self._open_incidents.discard(ev.incident_id)
        elif ev.type == DRILL_STARTED and ev.drill_id:
            self._running_drills.add(ev.drill_id)
            self._write_lead_up(ev.ts)
        elif ev.type == DRILL_ENDED and ev.drill_id:
            self._running_drills.discard(ev.drill_id)

    def _write_lead_up(self, opened: datetime) -> None:
        """Queue the trend buffers' readings since ``opened - lead_up`` at full rate.

        Readings already written at full rate (an incident was open already) are skipped, so
        overlapping incidents and drills never write a reading twice. An old opening replayed
        at start finds nothing in the buffers that old.
        """
        if self._lead_up <= timedelta(0) or self.clock.now() - opened > self._lead_up + \
                timedelta(seconds=TREND_CAPACITY):
            return
        since = (opened - self._lead_up).timestamp()
        for gid in self.trends.gauge_ids():
            after = self._full_rate_until.get(gid, -math.inf)
            t, v = self.trends.get(gid).snapshot(since)
            keep = t > after
            if not keep.any():
                continue
            t, v = t[keep], v[keep]
            self._full_rate.extend(StoredReading(gid, _utc(float(x)), float(y))
                                   for x, y in zip(t, v, strict=True))
            self._full_rate_until[gid] = float(t.max())


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def standing_or_all(board: AlarmBoard, *, everything: bool) -> list[Alarm]:
    """Return the alarms not in the normal state, or every alarm the board knows."""
    if not everything:
        return board.standing()
    alarms = board.alarms().values()
    return sorted(alarms, key=lambda a: (a.state == AlarmState.NORMAL, a.id))


def create(runtime: Runtime) -> AlarmService:
    """Component factory (``COMPONENT_FACTORIES``): the alarm service of this runtime."""
    return AlarmService(runtime.services)
