"""Alarm load figures (EEMUA 191 / ISA-18.2) computed from recorded alarm events.

An *alarm* here is an announcement: an activation event (``alarm.raised``, ``alarm.comm_fault``,
``alarm.bad_value``) whose alarm ended up unacknowledged-active, i.e. was shown to the operator.
Activations while shelved, suppressed or out of service are not counted; nor are re-alarms.
Times are the events' own ``at`` times (see :func:`~commandcenter.core.alarms.event_time`).

Every threshold is a parameter of :class:`LoadSettings`; the defaults are the figures the
standards give, and the site settings may change them.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from commandcenter.core.alarms import ACTIVATIONS, AlarmState, Priority, event_time
from commandcenter.core.events import JsonValue, RecordedEvent, format_ts

PRIORITY_TARGETS: dict[str, float] = {"high": 5.0, "medium": 15.0, "low": 80.0}
"""EEMUA 191's suggested priority split, in percent of alarms."""


@dataclass(frozen=True, slots=True)
class LoadSettings:
    """Thresholds of the alarm load figures.

    Attributes:
        interval: The rate interval (10 minutes).
        flood_above: A flood starts when more than this many alarms fall in one interval.
        flood_below: A flood ends when fewer than this many alarms fall in one interval.
        chatter_count: Activations of one alarm …
        chatter_window: … within this time (first to last, inclusive) make it chattering.
        stale_after: An alarm active at least this long is stale.
        top_n: How many bad actors to list.
    """

    interval: timedelta = timedelta(minutes=10)
    flood_above: int = 10
    flood_below: int = 5
    chatter_count: int = 3
    chatter_window: timedelta = timedelta(minutes=1)
    stale_after: timedelta = timedelta(hours=24)
    top_n: int = 10

    def __post_init__(self) -> None:
        if self.interval <= timedelta(0) or self.chatter_window < timedelta(0) \
                or self.stale_after <= timedelta(0):
            raise ValueError("interval and stale_after must be positive, chatter_window not "
                             "negative")
        if self.flood_below > self.flood_above + 1:
            raise ValueError("a flood must end at a lower rate than it starts")
        if self.chatter_count < 2 or self.top_n < 1 or self.flood_below < 1:
            raise ValueError("chatter_count must be at least 2, top_n and flood_below at "
                             "least 1")


@dataclass(frozen=True, slots=True)
class Flood:
    """One alarm flood.

    Attributes:
        start: When the count in the trailing interval first exceeded the start threshold.
        end: When it first fell below the end threshold (or the window's end).
        ongoing: Still in flood at the end of the window.
        alarms: Alarms from one interval before ``start`` up to ``end`` (what the operator got).
        peak: The most alarms in any trailing interval during the flood.
    """

    start: datetime
    end: datetime
    ongoing: bool
    alarms: int
    peak: int

    @property
    def duration(self) -> timedelta:
        """How long the flood lasted."""
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Chattering:
    """An alarm that was activated ``max_in_window`` times within the chatter window."""

    alarm: str
    gauge: str
    max_in_window: int
    activations: int


@dataclass(frozen=True, slots=True)
class Stale:
    """An alarm that has been active for ``duration`` at the end of the window."""

    alarm: str
    gauge: str
    state: str
    since: datetime
    duration: timedelta


@dataclass(frozen=True, slots=True)
class BadActor:
    """One of the most frequent alarms and its share of all alarms (percent)."""

    alarm: str
    gauge: str
    count: int
    share: float


@dataclass(frozen=True, slots=True)
class AlarmLoad:
    """Alarm load over a window ``[start, end)``.

    Attributes:
        start: Window start.
        end: Window end (exclusive).
        total: Alarms announced in the window.
        average_per_interval: Alarms per interval (10 min), averaged over the window.
        peak_per_interval: Most alarms in one interval, intervals counted from ``start``.
        peak_interval_start: Start of that interval (``None`` with no alarms).
        floods: Flood periods, in order.
        flood_time: Time spent in flood.
        flood_percent: Share of the window spent in flood (percent; EEMUA aims below 1 %).
        chattering: Chattering alarms, most activations first.
        stale: Alarms active at least ``stale_after`` at the window's end, longest first.
        bad_actors: The most frequent alarms, most frequent first.
        bad_actor_share: Share of all alarms that the listed bad actors caused (percent).
        by_priority: Alarm count per priority (every priority present).
        priority_percent: Share per priority (percent; 0 with no alarms).
    """

    start: datetime
    end: datetime
    total: int
    average_per_interval: float
    peak_per_interval: int
    peak_interval_start: datetime | None
    floods: tuple[Flood, ...]
    flood_time: timedelta
    flood_percent: float
    chattering: tuple[Chattering, ...]
    stale: tuple[Stale, ...]
    bad_actors: tuple[BadActor, ...]
    bad_actor_share: float
    by_priority: dict[str, int] = field(default_factory=dict)
    priority_percent: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, JsonValue]:
        """Return a JSON-ready dict (for the CLI and reports)."""
        return {
            "start": format_ts(self.start),
            "end": format_ts(self.end),
            "total": self.total,
            "average_per_interval": round(self.average_per_interval, 3),
            "peak_per_interval": self.peak_per_interval,
            "peak_interval_start": format_ts(self.peak_interval_start)
            if self.peak_interval_start else None,
            "floods": [{"start": format_ts(f.start), "end": format_ts(f.end),
                        "ongoing": f.ongoing, "alarms": f.alarms, "peak": f.peak,
                        "duration_s": f.duration.total_seconds()} for f in self.floods],
            "flood_time_s": self.flood_time.total_seconds(),
            "flood_percent": round(self.flood_percent, 3),
            "chattering": [{"alarm": c.alarm, "gauge": c.gauge,
                            "max_in_window": c.max_in_window, "activations": c.activations}
                           for c in self.chattering],
            "stale": [{"alarm": s.alarm, "gauge": s.gauge, "state": s.state,
                       "since": format_ts(s.since), "duration_s": s.duration.total_seconds()}
                      for s in self.stale],
            "bad_actors": [{"alarm": b.alarm, "gauge": b.gauge, "count": b.count,
                            "share": round(b.share, 3)} for b in self.bad_actors],
            "bad_actor_share": round(self.bad_actor_share, 3),
            "by_priority": dict(self.by_priority),
            "priority_percent": {k: round(v, 3) for k, v in self.priority_percent.items()},
        }


@dataclass(frozen=True, slots=True)
class _Announcement:
    at: datetime
    alarm: str
    gauge: str
    priority: str


def _announcements(events: Iterable[RecordedEvent], drill_id: str | None,
                   ) -> tuple[list[_Announcement], dict[str, tuple[str, str, datetime]]]:
    """Return every announcement (time order) and each alarm's standing at the end.

    The second value maps alarm id → (gauge, state, since) for alarms in an active state.
    """
    found: list[_Announcement] = []
    active: dict[str, tuple[str, str, datetime]] = {}
    for ev in events:
        if not ev.type.startswith("alarm.") or ev.drill_id != drill_id:
            continue
        p = ev.payload
        alarm, gauge, after = p.get("alarm"), p.get("gauge"), p.get("state_after")
        if not (isinstance(alarm, str) and isinstance(gauge, str) and isinstance(after, str)):
            continue
        at = event_time(ev)
        if ev.type in ACTIVATIONS and after == AlarmState.UNACK_ACTIVE:
            found.append(_Announcement(at, alarm, gauge, str(p.get("priority"))))
        if after in (AlarmState.UNACK_ACTIVE, AlarmState.ACK_ACTIVE):
            if alarm not in active:
                active[alarm] = (gauge, after, at)
            else:
                active[alarm] = (gauge, after, active[alarm][2])
        else:
            active.pop(alarm, None)
    found.sort(key=lambda a: a.at)
    return found, active


def _floods(times: list[datetime], end: datetime, s: LoadSettings) -> list[Flood]:
    """Sweep the trailing-interval count ``(t - interval, t]`` over its change points."""
    def count(t: datetime) -> int:
        return bisect.bisect_right(times, t) - bisect.bisect_right(times, t - s.interval)

    points = sorted(set(times) | {t + s.interval for t in times if t + s.interval < end})
    floods: list[Flood] = []
    start: datetime | None = None
    peak = 0
    for t in points:
        n = count(t)
        if start is None:
            if n > s.flood_above:
                start, peak = t, n
        else:
            peak = max(peak, n)
            if n < s.flood_below:
                floods.append(_flood(times, start, t, ongoing=False, peak=peak, s=s))
                start = None
    if start is not None:
        floods.append(_flood(times, start, end, ongoing=True, peak=peak, s=s))
    return floods


def _flood(times: list[datetime], start: datetime, end: datetime, *, ongoing: bool, peak: int,
           s: LoadSettings) -> Flood:
    n = bisect.bisect_left(times, end) - bisect.bisect_right(times, start - s.interval)
    return Flood(start=start, end=end, ongoing=ongoing, alarms=n, peak=peak)


def _chattering(found: list[_Announcement], s: LoadSettings) -> list[Chattering]:
    by_alarm: dict[str, list[datetime]] = defaultdict(list)
    gauges: dict[str, str] = {}
    for a in found:
        by_alarm[a.alarm].append(a.at)
        gauges[a.alarm] = a.gauge
    out: list[Chattering] = []
    for alarm, times in by_alarm.items():
        best = max(bisect.bisect_right(times, t + s.chatter_window) - i
                   for i, t in enumerate(times))
        if best >= s.chatter_count:
            out.append(Chattering(alarm, gauges[alarm], best, len(times)))
    out.sort(key=lambda c: (-c.max_in_window, -c.activations, c.alarm))
    return out


def alarm_load(events: Iterable[RecordedEvent], start: datetime, end: datetime,
               settings: LoadSettings | None = None, drill_id: str | None = None) -> AlarmLoad:
    """Compute the alarm load over ``[start, end)`` from recorded events.

    Args:
        events: The log in order; events before ``start`` are needed for stale alarms, events
            from ``end`` on are ignored.
        start: Window start (aware).
        end: Window end, exclusive (aware, after ``start``).
        settings: Thresholds (defaults: EEMUA 191 / ISA-18.2).
        drill_id: Whose alarms: the live ones (``None``) or one drill's.

    Raises:
        ValueError: ``end`` is not after ``start``.
    """
    s = settings or LoadSettings()
    if end <= start:
        raise ValueError("the window must end after it starts")
    window = end - start
    all_found, active = _announcements(
        (ev for ev in events if event_time(ev) < end), drill_id)
    found = [a for a in all_found if a.at >= start]
    times = [a.at for a in found]
    total = len(found)

    buckets = Counter(int((t - start) / s.interval) for t in times)
    peak_index, peak = max(buckets.items(), key=lambda kv: (kv[1], -kv[0]), default=(0, 0))

    floods = _floods(times, end, s)
    flood_time = sum((f.duration for f in floods), timedelta(0))

    stale = [Stale(alarm, gauge, state, since, end - since)
             for alarm, (gauge, state, since) in active.items()
             if end - since >= s.stale_after]
    stale.sort(key=lambda x: (x.since, x.alarm))

    per_alarm = Counter(a.alarm for a in found)
    gauge_of = {a.alarm: a.gauge for a in found}
    top = sorted(per_alarm.items(), key=lambda kv: (-kv[1], kv[0]))[:s.top_n]
    bad = [BadActor(alarm, gauge_of[alarm], n, 100.0 * n / total) for alarm, n in top]

    by_priority = {p.value: 0 for p in Priority}
    for a in found:
        by_priority[a.priority] = by_priority.get(a.priority, 0) + 1
    return AlarmLoad(
        start=start, end=end, total=total,
        average_per_interval=total / (window / s.interval),
        peak_per_interval=peak,
        peak_interval_start=start + peak_index * s.interval if total else None,
        floods=tuple(floods), flood_time=flood_time,
        flood_percent=100.0 * (flood_time / window),
        chattering=tuple(_chattering(found, s)),
        stale=tuple(stale),
        bad_actors=tuple(bad),
        bad_actor_share=sum(b.share for b in bad),
        by_priority=by_priority,
        priority_percent={k: (100.0 * v / total if total else 0.0)
                          for k, v in by_priority.items()},
    )
