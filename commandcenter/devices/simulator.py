"""The built-in gauge simulator: a living plant with no hardware, and the hooks drills need.

Values per gauge kind:

- gas detectors (combustible, H₂S, NH₃, Cl₂, CO): near zero with small noise, never negative;
- oxygen: about 20.9 %VOL;
- temperature, pressure, level, flow: a set point inside the range and inside the alarm limits
  (below the lowest high limit, above the highest low limit), drifting slowly around it;
- wind direction wandering; wind speed between 2 and 6 m/s.

Rarely a gauge with a pre-alarm limit makes a short excursion past it (and below its first formal
alarm limit): by default about one per site every ten minutes (``excursions_per_10min``), placed
on the timeline by a seeded random generator, so a run is repeatable.

Drill and test hooks: :meth:`GaugeSimulator.set_override` pins a gauge to a value,
:meth:`~GaugeSimulator.fail` makes a gauge or a whole link stop answering,
:meth:`~GaugeSimulator.restore` undoes that. :meth:`~GaugeSimulator.step` is pure with respect
to time: it produces the readings due at the given instant, and tests call it directly. In the
running application a :class:`SimulatedCoordinator` per link asks the simulator for its gauges
every ``poll_s`` on the injected clock's timeline.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from commandcenter.core.clock import Clock
from commandcenter.core.site import (
    ALARM_LEVEL_ORDER,
    AlarmLevel,
    Gauge,
    GaugeKind,
    GaugeLink,
)
from commandcenter.devices.base import DEFAULT_BACKOFF, LinkCoordinator, Reading, ReadingSink

_LOGGER = logging.getLogger(__name__)

GAS_KINDS = frozenset({GaugeKind.COMBUSTIBLE_GAS, GaugeKind.H2S, GaugeKind.NH3, GaugeKind.CL2,
                       GaugeKind.CO})


@dataclass(slots=True)
class _Excursion:
    start: float
    duration: float
    target: float

    def weight(self, t: float) -> float:
        """Share of the way to the target at ``t``: ramp up, hold, ramp down (thirds)."""
        x = (t - self.start) / self.duration
        if x <= 0 or x >= 1:
            return 0.0
        if x < 1 / 3:
            return x * 3
        if x > 2 / 3:
            return (1 - x) * 3
        return 1.0


class _Model:
    """One gauge's simulated process: a mean-reverting random walk plus measurement noise."""

    def __init__(self, gauge: Gauge, rng: random.Random) -> None:
        self.gauge = gauge
        self.rng = rng
        lo, hi = gauge.range
        highs = [t.value for t in gauge.thresholds if t.direction == "high"]
        lows = [t.value for t in gauge.thresholds if t.direction == "low"]
        top = min(highs, default=hi)
        bottom = max(lows, default=lo)
        if bottom >= top:
            bottom, top = lo, hi
        width = top - bottom
        self.wrap = False
        self.floor, self.ceiling = lo, hi
        kind = gauge.kind
        if kind in GAS_KINDS:
            self.mean = bottom + 0.03 * width
            self.sigma = 0.02 * width
            self.tau = 120.0
            self.noise = 0.01 * width
            self.floor = lo
            self.ceiling = bottom + 0.3 * width
        elif kind == GaugeKind.O2:
            self.mean, self.sigma, self.tau, self.noise = 20.9, 0.05, 300.0, 0.02
            self.floor, self.ceiling = 20.6, 21.2
        elif kind == GaugeKind.WIND_DIRECTION:
            self.mean, self.sigma, self.tau, self.noise = rng.uniform(lo, hi), 1.5, 0.0, 0.0
            self.wrap = True
        elif kind == GaugeKind.WIND_SPEED:
            self.mean, self.sigma, self.tau, self.noise = 4.0, 0.8, 120.0, 0.1
            self.floor, self.ceiling = 2.0, 6.0
        else:  # process values: temperature, pressure, level, flow
            self.mean = bottom + width * rng.uniform(0.35, 0.6)
            self.sigma = 0.04 * width
            self.tau = 600.0
            self.noise = 0.003 * width
            self.floor, self.ceiling = bottom + 0.1 * width, top - 0.1 * width
        self.floor = max(self.floor, lo)
        self.ceiling = min(self.ceiling, hi)
        self.x = min(max(self.mean, self.floor), self.ceiling)
        self.t: float | None = None
        self.excursion: _Excursion | None = None
        scale = gauge.address.get("scale")
        self.resolution = float(scale) if isinstance(scale, int | float) and scale > 0 else 0.0

    def advance(self, t: float) -> None:
        """Move the process to time ``t`` (seconds on the simulator's timeline)."""
        if self.t is None:
            self.t = t
            return
        dt = t - self.t
        if dt <= 0:
            return
        self.t = t
        if self.wrap:
            self.x = (self.x + self.rng.gauss(0.0, self.sigma * math.sqrt(dt))) % 360.0
            return
        decay = math.exp(-dt / self.tau)
        spread = self.sigma * math.sqrt(max(0.0, 1.0 - decay * decay))
        self.x = self.mean + (self.x - self.mean) * decay + self.rng.gauss(0.0, spread)
        self.x = min(max(self.x, self.floor), self.ceiling)

    def value(self, t: float) -> float:
        """Return the measured value at ``t`` (after :meth:`advance`)."""
        v = self.x + (self.rng.gauss(0.0, self.noise) if self.noise else 0.0)
        if not self.wrap:
            v = min(max(v, self.floor), self.ceiling)
        exc = self.excursion
        if exc is not None:
            w = exc.weight(t)
            if t >= exc.start + exc.duration:
                self.excursion = None
            v += (exc.target - v) * w
        lo, hi = self.gauge.range
        v = min(max(v, lo), hi) if not self.wrap else v % 360.0
        if self.resolution:
            v = round(round(v / self.resolution) * self.resolution, 6)
        return round(v, 4)

    @property
    def can_excurse(self) -> bool:
        """Whether the gauge has a pre-alarm limit to make an excursion past."""
        return any(t.level == AlarmLevel.PREALARM for t in self.gauge.thresholds)

    def excursion_target(self, rng: random.Random) -> float | None:
        """Return a value past the pre-alarm limit but short of the next level, or ``None``."""
        pre = [t for t in self.gauge.thresholds if t.level == AlarmLevel.PREALARM]
        if not pre:
            return None
        t = rng.choice(pre)
        beyond = sorted((u.value for u in self.gauge.thresholds if u.direction == t.direction
                         and ALARM_LEVEL_ORDER[u.level] > ALARM_LEVEL_ORDER[t.level]),
                        reverse=t.direction == "low")
        lo, hi = self.gauge.range
        edge = beyond[0] if beyond else (hi if t.direction == "high" else lo)
        return t.value + (edge - t.value) * rng.uniform(0.15, 0.6)


class GaugeSimulator:
    """Simulated values for every gauge of a site, on a timeline given by the caller.

    Attributes:
        seed: The seed of every random generator (same seed, same calls → same values).
        excursions_per_10min: Mean number of pre-alarm excursions per site per ten minutes.
    """

    def __init__(self, gauges: Iterable[Gauge], links: Mapping[str, GaugeLink] | None = None, *,
                 seed: int = 0, excursions_per_10min: float = 1.0,
                 excursion_s: tuple[float, float] = (30.0, 120.0)) -> None:
        """Model ``gauges``; ``links`` (by id) give each link's poll period for :meth:`step`."""
        if excursions_per_10min < 0:
            raise ValueError("excursions_per_10min must not be negative")
        self.seed = seed
        self.excursions_per_10min = excursions_per_10min
        self.excursion_s = excursion_s
        self.gauges: dict[str, Gauge] = {g.id: g for g in gauges}
        self.links: dict[str, GaugeLink] = dict(links or {})
        self._models = {gid: _Model(g, random.Random(f"{seed}:{gid}"))
                        for gid, g in self.gauges.items()}
        self._by_link: dict[str, list[str]] = {}
        for g in self.gauges.values():
            self._by_link.setdefault(g.link, []).append(g.id)
        self._overrides: dict[str, float] = {}
        self._failed: set[str] = set()
        self._rng = random.Random(f"{seed}:excursions")
        self._origin: datetime | None = None
        self._next_excursion: float | None = None
        self._due: dict[str, float] = {}
        self.excursions: list[tuple[datetime, str, float]] = []
        """Excursions started so far: (start time, gauge id, target value)."""

    # ------------------------------------------------------------------ hooks

    def set_override(self, gauge_id: str, value: float | None) -> None:
        """Pin ``gauge_id`` to ``value`` (a drill inject); ``None`` returns it to the model."""
        if gauge_id not in self.gauges:
            raise KeyError(f"unknown gauge {gauge_id!r}")
        if value is None:
            self._overrides.pop(gauge_id, None)
        else:
            self._overrides[gauge_id] = float(value)

    def fail(self, target: str) -> None:
        """Make a gauge, or every gauge of a link, stop answering."""
        self._failed.update(self._targets(target))

    def restore(self, target: str) -> None:
        """Undo :meth:`fail` for a gauge or a link."""
        self._failed.difference_update(self._targets(target))

    def failed(self, gauge_id: str) -> bool:
        """Whether ``gauge_id`` is currently made to stop answering."""
        return gauge_id in self._failed

    def _targets(self, target: str) -> list[str]:
        if target in self.gauges:
            return [target]
        if target in self._by_link or target in self.links:
            return list(self._by_link.get(target, []))
        raise KeyError(f"{target!r} is neither a gauge nor a link")

    # ------------------------------------------------------------------ values

    def _t(self, now: datetime) -> float:
        if self._origin is None:
            self._origin = now
            rate = self.excursions_per_10min / 600.0
            self._next_excursion = self._rng.expovariate(rate) if rate > 0 else None
        return (now - self._origin).total_seconds()

    def _run_excursions(self, t: float) -> None:
        while self._next_excursion is not None and self._next_excursion <= t:
            start = self._next_excursion
            rate = self.excursions_per_10min / 600.0
            self._next_excursion = start + self._rng.expovariate(rate)
            candidates = sorted(gid for gid, m in self._models.items()
                                if m.excursion is None and m.can_excurse
                                and gid not in self._overrides and gid not in self._failed)
            if not candidates:
                continue
            gid = self._rng.choice(candidates)
            model = self._models[gid]
            target = model.excursion_target(self._rng)
            assert target is not None
            duration = self._rng.uniform(*self.excursion_s)
            model.excursion = _Excursion(start, duration, target)
            assert self._origin is not None
            self.excursions.append((self._origin + timedelta(seconds=start), gid, target))
            _LOGGER.debug("simulator: excursion of %s towards %.3g for %.0f s", gid, target,
                          duration)

    def value(self, gauge_id: str, now: datetime) -> float:
        """Return the simulated value of ``gauge_id`` at ``now`` (an override if one is set)."""
        t = self._t(now)
        self._run_excursions(t)
        model = self._models[gauge_id]
        model.advance(t)
        v = model.value(t)
        return self._overrides.get(gauge_id, v)

    def sample_link(self, link_id: str, now: datetime) -> list[Reading]:
        """Return a reading at ``now`` of every gauge on ``link_id`` that is not failed."""
        return [Reading(gid, self.value(gid, now), now)
                for gid in self._by_link.get(link_id, []) if gid not in self._failed]

    def step(self, now: datetime) -> list[Reading]:
        """Return the readings due at ``now``: each link's gauges every ``poll_s``.

        The first call makes every link due. A link that is late (``now`` past several poll
        instants) gives one set of readings, not a backlog.
        """
        t = self._t(now)
        out: list[Reading] = []
        for link_id in sorted(self._by_link):
            due = self._due.get(link_id)
            if due is not None and due > t:
                continue
            link = self.links.get(link_id)
            period = link.poll_s if link is not None else 2.0
            nxt = t + period if due is None else due + period
            self._due[link_id] = nxt if nxt > t else t + period
            out.extend(self.sample_link(link_id, now))
        return out


class SimulatedCoordinator(LinkCoordinator):
    """A link whose gauges are read from the :class:`GaugeSimulator` every ``poll_s``.

    It runs on the injected clock's timeline (deadlines use ``clock.monotonic()``), so a scaled
    drill clock speeds it up, and it reports faults exactly like a real link: a gauge the
    simulator fails is faulted within three poll periods, a failed link logs once.
    """

    def __init__(self, link: GaugeLink, gauges: Iterable[Gauge], clock: Clock,
                 sink: ReadingSink, simulator: GaugeSimulator, *,
                 backoff: tuple[float, float] = DEFAULT_BACKOFF,
                 monotonic: Callable[[], float] | None = None) -> None:
        """Read ``gauges`` of ``link`` from ``simulator``."""
        super().__init__(link, gauges, clock, sink, backoff=backoff,
                         monotonic=monotonic or clock.monotonic)
        self.simulator = simulator

    @property
    def endpoint(self) -> str:
        """Say that this link is simulated."""
        return f"simulated {self.link.protocol.value}"

    async def _run(self) -> None:
        self.connected = True
        while True:
            due = self.clock.monotonic() + self.period_s
            answered = set()
            for r in self.simulator.sample_link(self.link.id, self.clock.now()):
                self._accept(r.gauge_id, r.value)
                answered.add(r.gauge_id)
            for gid in self.gauges:
                if gid not in answered:
                    self._missed(gid, "no answer (simulated failure)")
            self._poll_done()
            left = due - self.clock.monotonic()
            while left > 0:
                await asyncio.sleep(self._real_seconds(left))
                left = due - self.clock.monotonic()
