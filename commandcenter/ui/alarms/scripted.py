"""An in-process alarm desk over a real engine, and the scripted sequence screenshots render.

:class:`EngineDesk` implements :class:`~commandcenter.services.protocols.AlarmDesk` with the real
:class:`~commandcenter.core.alarms.AlarmEngine`, a real :class:`~commandcenter.core.alarms.
AlarmBoard` and a real :class:`~commandcenter.core.trends.TrendStore`: readings go through the
engine, its events are recorded in an event log and folded into the board, exactly as the alarm
service does, without the gauge drivers. ``commandcenter screenshot --view alarms`` has no
running service, so it builds one of these over the site and feeds it
:func:`play_scripted_sequence` — a short, clearly scripted series of readings and operator actions
— and renders the alarm screens of what the engine made of it.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import numpy as np

from commandcenter.core.alarms import AlarmBoard, AlarmEngine, link_alarm_id
from commandcenter.core.clock import Clock, ScriptedClock
from commandcenter.core.events import Event, RecordedEvent
from commandcenter.core.site import AlarmLevel, Gauge, GaugeKind, Site
from commandcenter.core.trends import TrendStore
from commandcenter.services.protocols import GaugeStatus


class Recorder(Protocol):
    """The part of the event log the desk writes to (``EventLog``)."""

    def append_many(self, events: Iterable[Event]) -> list[RecordedEvent]:
        """Record events atomically and return them as recorded."""
        ...


class EngineDesk:
    """The alarm desk of one process without gauge drivers: engine → log → board.

    Args:
        site: The site whose gauges the engine watches.
        engine: The alarm engine (e.g. :meth:`AlarmEngine.for_site`).
        log: Where the engine's events are recorded before the board folds them.
        trends: Ring buffers of readings; made for the site's gauges if not given.
        board: The board to fold into; a new live board if not given.

    Attributes:
        site: The site.
        board: The alarm board the screens observe.
        trends: The readings the trend page draws.
    """

    def __init__(self, site: Site, engine: AlarmEngine, log: Recorder, *,
                 trends: TrendStore | None = None, board: AlarmBoard | None = None) -> None:
        self.site = site
        self.board = board or AlarmBoard()
        self.trends = trends or TrendStore(site.gauges)
        self._engine = engine
        self._log = log
        self._down: dict[str, datetime] = {}

    @property
    def engine(self) -> AlarmEngine:
        """The engine behind the desk."""
        return self._engine

    def _record(self, events: Sequence[Event]) -> list[RecordedEvent]:
        if not events:
            return []
        recorded = self._log.append_many(events)
        for ev in recorded:
            self.board.apply(ev)
        return recorded

    # ------------------------------------------------------------------ inputs

    def reading(self, gauge_id: str, value: float, ts: datetime) -> list[RecordedEvent]:
        """Take a reading: into the trend buffer and through the engine."""
        if gauge_id in self.trends and math.isfinite(value):
            self.trends.append(gauge_id, ts.timestamp(), value)
        self._down.pop(gauge_id, None)
        return self._record(self._engine.process(gauge_id, value, ts))

    def link_down(self, gauge_id: str, ts: datetime, detail: str = "") -> list[RecordedEvent]:
        """Report that a gauge stopped answering."""
        self._down[gauge_id] = ts
        return self._record(self._engine.comm_fault(gauge_id, detail, ts))

    def line_down(self, link_id: str, ts: datetime, detail: str = "") -> list[RecordedEvent]:
        """Report that a whole link is down (its gauges stop answering too)."""
        recorded = self._record(self._engine.link_fault(link_id, detail, ts))
        for gid in self._engine.links().get(link_id, []):
            recorded += self.link_down(gid, ts, f"link {link_id} down")
        return recorded

    def tick(self, now: datetime | None = None) -> list[RecordedEvent]:
        """Let time pass (delays, shelving, re-alarms)."""
        return self._record(self._engine.tick(now))

    # ------------------------------------------------------------------ AlarmDesk

    def gauge_status(self, gauge_id: str) -> GaugeStatus:
        """Return the newest reading and whether the gauge answers."""
        latest = self.trends.get(gauge_id).latest() if gauge_id in self.trends else None
        value, ts = (None, None) if latest is None else \
            (latest[1], datetime.fromtimestamp(latest[0], UTC))
        gauge = self.site.gauges.get(gauge_id)
        link = self.board.alarm(link_alarm_id(gauge.link)) if gauge is not None else None
        available = gauge_id not in self._down and not self.board.blind(gauge_id) \
            and latest is not None and not (link is not None and link.active)
        return GaugeStatus(gauge_id, value, ts, available)

    async def _act(self, events: list[Event]) -> None:
        recorded = await asyncio.to_thread(self._log.append_many, events) if events else []
        for ev in recorded:
            self.board.apply(ev)

    async def acknowledge(self, alarm_id: str, who: str) -> None:
        """Acknowledge one alarm."""
        await self._act(self._engine.acknowledge(alarm_id, who))

    async def acknowledge_all(self, who: str, gauge_id: str | None = None) -> None:
        """Acknowledge every unacknowledged alarm (of one gauge)."""
        await self._act(self._engine.acknowledge_all(who, gauge_id))

    async def shelve(self, alarm_id: str, who: str, reason: str,
                     minutes: float | None) -> None:
        """Shelve for ``minutes`` (``None``: one-shot)."""
        await self._act(self._engine.shelve(alarm_id, who, reason, minutes))

    async def unshelve(self, alarm_id: str, who: str) -> None:
        """End shelving by hand."""
        await self._act(self._engine.unshelve(alarm_id, who))

    async def reset(self, alarm_id: str, who: str) -> None:
        """Reset a latched alarm."""
        await self._act(self._engine.reset(alarm_id, who))

    async def comment(self, alarm_id: str, who: str, text: str) -> None:
        """Attach an operator comment."""
        await self._act(self._engine.comment(alarm_id, who, text))

    async def confirm(self, alarm_id: str, who: str, note: str = "") -> None:
        """Record that the post confirmed a pre-alarm."""
        await self._act(self._engine.confirm(alarm_id, who, note))

    async def remove_gauge_from_service(self, gauge_id: str, who: str, reason: str) -> None:
        """Take every alarm of a gauge out of service."""
        await self._act(self._engine.remove_gauge_from_service(gauge_id, who, reason))

    async def return_gauge_to_service(self, gauge_id: str, who: str) -> None:
        """Return every alarm of a gauge to service."""
        await self._act(self._engine.return_gauge_to_service(gauge_id, who))

    def gauge_out_of_service(self, gauge_id: str) -> bool:
        """True while any alarm of the gauge is out of service."""
        return self.board.gauge_out_of_service(gauge_id)


# ---------------------------------------------------------------------- the scripted sequence


def _limits(gauge: Gauge, direction: str) -> dict[AlarmLevel, float]:
    return {t.level: t.value for t in gauge.thresholds if t.direction == direction}


def _pick(site: Site, kinds: Sequence[GaugeKind], level: AlarmLevel, taken: set[str],
          direction: str = "high") -> Gauge | None:
    """Return the first gauge of ``kinds`` with a ``level`` limit, one per building if possible."""
    buildings = {site.gauges[g].building for g in taken if g in site.gauges}
    found: Gauge | None = None
    for kind in kinds:
        for g in site.gauges.values():
            if g.kind == kind and g.id not in taken and level in _limits(g, direction):
                if g.building not in buildings:
                    return g
                found = found or g
    return found


def _baseline(gauge: Gauge) -> float:
    lo, hi = gauge.range
    highs, lows = _limits(gauge, "high"), _limits(gauge, "low")
    if gauge.kind == GaugeKind.O2:
        return min(max(20.9, lo), hi)
    if highs and lows:
        return (min(highs.values()) + max(lows.values())) / 2
    if highs:
        first = min(highs.values())
        return lo + (first - lo) * 0.25
    if lows:
        return max(lows.values()) + (hi - max(lows.values())) * 0.4
    return lo + (hi - lo) * 0.4


def _above(gauge: Gauge, level: AlarmLevel) -> float:
    """A value clearly past ``level``'s high limit and below the next level (inside range)."""
    highs = _limits(gauge, "high")
    limit = highs[level]
    higher = [v for lvl, v in highs.items() if v > limit]
    top = min(higher) if higher else gauge.range[1]
    return limit + (top - limit) * 0.4


@dataclass(frozen=True)
class _Profile:
    gauge: Gauge
    knots: tuple[tuple[float, float], ...]
    """(seconds before the end, value) pairs, oldest first."""
    stop_at: float | None = None
    """Seconds before the end at which the gauge stops answering."""


def play_scripted_sequence(desk: EngineDesk, clock: ScriptedClock, end: datetime, *,
                           who: str, seconds: int = 3600) -> None:
    """Feed ``desk`` one scripted hour of readings ending at ``end``, with operator actions.

    Every gauge gets 1 Hz readings near its normal value for the trend page. In the last quarter
    of an hour a few gauges of the site run through a typical sequence: a gas detector climbs
    through its pre-alarm and first level into its second level (unacknowledged), a second one
    reaches its first level and is acknowledged, a toxic detector spikes and returns before
    anyone acknowledges it, another one pre-alarms and the post confirms it on site (a formal
    alarm now), one is shelved for calibration, one loses its link. All alarm states come from
    the real engine; ``clock`` must read ``end - seconds``.
    """
    start = end - timedelta(seconds=seconds)
    taken: set[str] = set()
    profiles: list[_Profile] = []

    def add(gauge: Gauge | None, knots: list[tuple[float, float]],
            stop_at: float | None = None) -> Gauge | None:
        if gauge is not None:
            taken.add(gauge.id)
            profiles.append(_Profile(gauge, tuple(knots), stop_at))
        return gauge

    gas = [GaugeKind.COMBUSTIBLE_GAS]
    toxic = [GaugeKind.H2S, GaugeKind.CL2, GaugeKind.NH3, GaugeKind.CO]
    g1 = _pick(site := desk.site, gas, AlarmLevel.ALARM2, taken)
    if g1 is not None:
        b = _baseline(g1)
        add(g1, [(seconds, b), (840, b), (660, _above(g1, AlarmLevel.PREALARM)),
                 (560, _above(g1, AlarmLevel.ALARM1)), (540, _above(g1, AlarmLevel.ALARM2)),
                 (0, _above(g1, AlarmLevel.ALARM2) * 1.05)])
    g2 = _pick(site, gas, AlarmLevel.ALARM1, taken)
    if g2 is not None:
        b = _baseline(g2)
        add(g2, [(seconds, b), (780, b), (720, _above(g2, AlarmLevel.ALARM1)),
                 (0, _above(g2, AlarmLevel.ALARM1) * 0.97)])
    g3 = _pick(site, toxic, AlarmLevel.ALARM1, taken)
    if g3 is not None:
        b = _baseline(g3)
        add(g3, [(seconds, b), (500, b), (470, _above(g3, AlarmLevel.ALARM1)),
                 (380, _above(g3, AlarmLevel.ALARM1)), (340, b), (0, b)])
    g4 = _pick(site, toxic, AlarmLevel.PREALARM, taken)
    if g4 is not None:
        b = _baseline(g4)
        add(g4, [(seconds, b), (330, b), (300, _above(g4, AlarmLevel.PREALARM)),
                 (0, _above(g4, AlarmLevel.PREALARM))])
    g5 = _pick(site, toxic + gas, AlarmLevel.PREALARM, taken)
    if g5 is not None:
        b = _baseline(g5)
        add(g5, [(seconds, b), (700, b), (660, _above(g5, AlarmLevel.PREALARM)),
                 (0, _above(g5, AlarmLevel.PREALARM))])
    g6 = _pick(site, [GaugeKind.CO, GaugeKind.O2, *toxic, *gas], AlarmLevel.PREALARM, taken)
    if g6 is not None:
        b = _baseline(g6)
        add(g6, [(seconds, b), (0, b)], stop_at=240)
    for g in site.gauges.values():
        if g.id not in taken:
            b = _baseline(g)
            profiles.append(_Profile(g, ((seconds, b), (0, b))))

    t_rel = np.arange(seconds, -1, -1, dtype=np.float64)  # seconds before the end
    actions: dict[int, list[tuple[str, str, str]]] = {}
    if g2 is not None:
        actions.setdefault(660, []).append(("ack_gauge", g2.id, ""))
    if g5 is not None:
        aid = f"{g5.id}:high:prealarm"
        actions.setdefault(600, []).append(("shelve", aid, "探头标定中 / detector under "
                                                             "calibration"))
    if g4 is not None:
        actions.setdefault(200, []).append(
            ("confirm", f"{g4.id}:high:prealarm", "岗位现场闻到异味，便携仪读数偏高 / post smells "
                                                  "gas, portable meter reads high"))
    if g1 is not None:
        actions.setdefault(150, []).append(
            ("comment", f"{g1.id}:high:alarm2", "已派巡检人员佩戴空呼前往现场 / patrol sent "
                                                "with SCBA"))
    series: dict[str, list[float]] = {}
    for p in profiles:
        xs = np.array([k[0] for k in p.knots])[::-1]
        ys = np.array([k[1] for k in p.knots])[::-1]
        span = (p.gauge.range[1] - p.gauge.range[0]) * 0.004
        phase = (sum(map(ord, p.gauge.id)) % 97) / 7.0
        noise = span * (np.sin(t_rel / 23.0 + phase) + 0.5 * np.sin(t_rel / 5.3 + 2 * phase))
        values = np.clip(np.interp(t_rel, xs, ys) + noise, *p.gauge.range)
        series[p.gauge.id] = values.tolist()

    scripted = {p.gauge.id for p in profiles if p.gauge.id in taken}
    for i, rel in enumerate(t_rel.tolist()):
        ts = start + timedelta(seconds=seconds - rel)
        gap = (ts - clock.now()).total_seconds()
        if gap > 0:
            clock.advance(gap)
        for p in profiles:
            if p.stop_at is not None and rel <= p.stop_at:
                if rel == p.stop_at:
                    desk.link_down(p.gauge.id, ts, "no answer (timeout)")
                continue
            value = series[p.gauge.id][i]
            if p.gauge.id in scripted or i % 10 == 0:
                desk.reading(p.gauge.id, value, ts)
            else:
                desk.trends.append(p.gauge.id, ts.timestamp(), value)
        for kind, target, text in actions.get(int(rel), []):
            if kind == "ack_gauge":
                desk._record(desk.engine.acknowledge_all(who, target))
            elif kind == "shelve" and desk.board.alarm(target) is not None:
                desk._record(desk.engine.shelve(target, who, text, 60))
            elif kind == "comment" and desk.board.alarm(target) is not None:
                desk._record(desk.engine.comment(target, who, text))
            elif kind == "confirm" and desk.board.alarm(target) is not None:
                desk._record(desk.engine.confirm(target, who, text))


class ScriptedDesk(EngineDesk):
    """An :class:`EngineDesk` that has played :func:`play_scripted_sequence` into its own log.

    The log lives in a temporary folder (never the site's real database); :meth:`close` removes
    it. ``log`` is the event log, for the event dock and the alarm load figures.
    """

    def __init__(self, site: Site, end: datetime, *, who: str, seconds: int = 3600) -> None:
        from commandcenter.storage.eventlog import EventLog

        self._dir = Path(tempfile.mkdtemp(prefix="commandcenter-scripted-"))
        clock = ScriptedClock(end - timedelta(seconds=seconds))
        self.log = EventLog("sqlite:///" + str(self._dir / "scripted.db"), clock)
        self.script_clock = clock
        super().__init__(site, AlarmEngine.for_site(site, clock), self.log,
                         trends=TrendStore(site.gauges, capacity=max(seconds + 1, 2)))
        play_scripted_sequence(self, clock, end, who=who, seconds=seconds)

    def close(self) -> None:
        """Close the log and remove its folder (idempotent)."""
        self.log.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def scripted_operator(site: Site) -> str:
    """Return a name from the site's roster to act as the operator of the scripted sequence."""
    person = next(iter(site.people.values()), None)
    return person.name if person is not None else "operator"


def scripted_desk(site: Site, clock: Clock) -> ScriptedDesk:
    """Return a desk that played the scripted hour ending now (by ``clock``)."""
    return ScriptedDesk(site, clock.now(), who=scripted_operator(site))
