"""The chlorine release the ``map`` screenshot view shows, played on the real core.

``commandcenter screenshot --view map`` runs without services. It builds an alarm desk over the
real :class:`~commandcenter.core.alarms.AlarmEngine` (events kept in memory), feeds it one
reading per gauge at a normal value, then a chlorine release at the liquid-chlorine filling
station — the station's Cl₂ detectors in pre-alarm, level 1 and level 2 — and a weather station
reading wind from the east at 3 m/s; and it takes the incident desk of
:func:`~commandcenter.ui.incidents.memory.scripted_incident` (PLAN-TOXIC-L2 activated at U-120).
The map page then derives the zone exactly as it does in a running plant.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from commandcenter.core.alarms import AlarmEngine
from commandcenter.core.clock import ScriptedClock
from commandcenter.core.events import GENESIS_HASH, Event, RecordedEvent, record
from commandcenter.core.site import Gauge, GaugeKind, Site
from commandcenter.ui.alarms.scripted import EngineDesk
from commandcenter.ui.incidents.memory import MemoryDesk, scripted_incident

RELEASE_BUILDING = "U-120"
"""The liquid-chlorine storage and filling station of the demo site."""

RELEASE_READINGS = {"CL2-120-02": 2.6, "CL2-120-01": 1.4, "CL2-120-03": 0.7}
"""Cl₂ in ppm at the station's detectors: level 2, level 1, pre-alarm."""

WIND_FROM_DEG = 90.0
WIND_SPEED_MPS = 3.0


class MemoryLog:
    """Records events in memory with sequence numbers and the hash chain (no database)."""

    def __init__(self, clock: ScriptedClock) -> None:
        self.clock = clock
        self.events: list[RecordedEvent] = []
        self._prev = GENESIS_HASH

    def append_many(self, events: Iterable[Event]) -> list[RecordedEvent]:
        """Record ``events`` at the clock's time and return them."""
        out = []
        for ev in events:
            rec = record(ev, seq=len(self.events) + 1, ts=self.clock.now(), prev_hash=self._prev)
            self._prev = rec.hash
            self.events.append(rec)
            out.append(rec)
        return out


def normal_reading(gauge: Gauge) -> float:
    """Return a plausible everyday value: well inside the gauge's limits and range."""
    lo, hi = gauge.range
    highs = [t.value for t in gauge.thresholds if t.direction == "high"]
    lows = [t.value for t in gauge.thresholds if t.direction == "low"]
    if gauge.kind == GaugeKind.O2:
        return min(max(20.9, lo), hi)
    if highs and lows:
        return (min(highs) + max(lows)) / 2
    if highs:
        return lo + (min(highs) - lo) * 0.2
    if lows:
        return max(lows) + (hi - max(lows)) * 0.4
    return lo + (hi - lo) * 0.4


def release_desk(site: Site, now: datetime) -> EngineDesk:
    """Return an alarm desk that has seen the chlorine release and the east wind up to ``now``."""
    clock = ScriptedClock(now - timedelta(minutes=5))
    desk = EngineDesk(site, AlarmEngine.for_site(site, clock), MemoryLog(clock))
    readings: dict[str, float] = {g.id: normal_reading(g) for g in site.gauges.values()}
    for g in site.gauges.values():
        if g.kind == GaugeKind.WIND_DIRECTION:
            readings[g.id] = WIND_FROM_DEG
        elif g.kind == GaugeKind.WIND_SPEED:
            readings[g.id] = WIND_SPEED_MPS
    for _ in range(2):
        for gid, value in readings.items():
            desk.reading(gid, value, clock.now())
        clock.advance(60)
    for gid, value in RELEASE_READINGS.items():
        if gid in site.gauges:
            readings[gid] = value
    delay = max((g.on_delay_s for g in site.gauges.values()), default=0.0)
    steps = max(3, int(delay) + 2)
    while clock.now() < now:
        for gid, value in readings.items():
            desk.reading(gid, value, clock.now())
        desk.tick(clock.now())
        clock.advance(min(float(steps), max((now - clock.now()).total_seconds(), 1.0)))
    for gid, value in readings.items():
        desk.reading(gid, value, now)
    desk.tick(now)
    return desk


def release_incident(site: Site, now: datetime) -> MemoryDesk | None:
    """Return the incident desk of the scripted PLAN-TOXIC-L2 incident at U-120."""
    return scripted_incident(site, now)
