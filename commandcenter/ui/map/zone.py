"""Where the hazard zone comes from: incident, gauges in alarm, wind, the commander's changes.

Qt-free. :func:`derive_setup` turns an incident into a :class:`HazardSetup` — the source point,
the plan's distances and the wind — and :meth:`HazardSetup.zone` makes the
:class:`~commandcenter.core.hazard.HazardZone` the router works with. The commander's changes
(moving the source, another radius, a wind override) are new setups made with
:func:`dataclasses.replace`.

Rules:

- the source is the incident's building (the centroid of its outline) or its ``[lat, lon]``
  point; if gauges are in a formal alarm (level 1 or 2, active, not shelved or out of service)
  within :data:`ALARM_RADIUS_M` of that, the source is the centroid of those gauges;
- radius, downwind distance and sector come from the incident plan's ``hazard_zone`` (without a
  plan: :data:`DEFAULT_RADIUS_M`, the site's ``default_downwind_m`` and
  :data:`~commandcenter.core.hazard.DEFAULT_SECTOR_DEG`);
- the wind is read from the site's wind-direction and wind-speed gauges; a calm wind, or a
  direction that is unavailable, gives no downwind sector (the panel says so).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from commandcenter.core.alarms import Alarm
from commandcenter.core.geodesy import distance_m
from commandcenter.core.hazard import (
    CALM_WIND_MPS,
    DEFAULT_SECTOR_DEG,
    HazardZone,
    default_downwind_m,
)
from commandcenter.core.routing import IncidentAnswer
from commandcenter.core.site import Building, GaugeKind, HazardZoneSpec, ResourceKind, Site
from commandcenter.services.protocols import GaugeStatus

ALARM_RADIUS_M = 300.0
"""Gauges in formal alarm this close to the incident location move the source to their centroid."""

DEFAULT_RADIUS_M = 100.0
"""Isolation radius offered when the commander sets a zone with no plan behind it."""


class SourceKind(StrEnum):
    """Where the source point of the zone came from."""

    BUILDING = "building"
    """The centroid of the incident's building."""
    POINT = "point"
    """The incident's ``[lat, lon]`` location."""
    GAUGES = "gauges"
    """The centroid of gauges in formal alarm near the incident location."""
    COMMANDER = "commander"
    """Placed or moved by the commander on the map."""


class WindSource(StrEnum):
    """Where the wind of the zone came from."""

    GAUGES = "gauges"
    OVERRIDE = "override"
    """Entered by the commander."""
    UNAVAILABLE = "unavailable"
    """No wind-direction gauge, or it is blind or has no reading."""


@dataclass(frozen=True, slots=True)
class Wind:
    """The wind a zone is drawn for.

    Attributes:
        from_deg: Direction the wind blows from (degrees from north), ``None`` when unknown.
        speed_mps: Wind speed, ``None`` when unknown.
        source: Gauges, the commander's override, or unavailable.
    """

    from_deg: float | None
    speed_mps: float | None
    source: WindSource

    @property
    def calm(self) -> bool:
        """Whether the wind is too weak to have a direction."""
        return self.speed_mps is not None and self.speed_mps < CALM_WIND_MPS

    @property
    def usable(self) -> bool:
        """Whether the wind gives a downwind sector (a direction, and not calm)."""
        return self.from_deg is not None and not self.calm


def read_wind(site: Site, status: Callable[[str], GaugeStatus] | None) -> Wind:
    """Read the wind from the site's first answering wind-direction and wind-speed gauges."""
    if status is None:
        return Wind(None, None, WindSource.UNAVAILABLE)

    def first(kind: GaugeKind) -> float | None:
        for g in site.gauges.values():
            if g.kind != kind:
                continue
            s = status(g.id)
            if s.available and s.value is not None and math.isfinite(s.value):
                return float(s.value)
        return None

    direction = first(GaugeKind.WIND_DIRECTION)
    speed = first(GaugeKind.WIND_SPEED)
    if direction is None:
        return Wind(None, speed, WindSource.UNAVAILABLE)
    return Wind(direction % 360.0, speed, WindSource.GAUGES)


def building_centroid(building: Building) -> tuple[float, float]:
    """Return the area centroid of a building's outer ring as ``(lat, lon)``."""
    ring = building.outline[0]
    pts = ring[:-1] if len(ring) > 1 and ring[0] == ring[-1] else ring
    area = cx = cy = 0.0
    x0, y0 = pts[0]
    for (xa, ya), (xb, yb) in zip(pts, [*pts[1:], pts[0]], strict=True):
        cross = (xa - x0) * (yb - y0) - (xb - x0) * (ya - y0)
        area += cross
        cx += (xa + xb - 2 * x0) * cross
        cy += (ya + yb - 2 * y0) * cross
    if abs(area) < 1e-18:
        return (sum(p[1] for p in pts) / len(pts), sum(p[0] for p in pts) / len(pts))
    return (y0 + cy / (3 * area), x0 + cx / (3 * area))


def alarm_gauges_near(site: Site, alarms: Iterable[Alarm], centre: tuple[float, float],
                      radius_m: float = ALARM_RADIUS_M) -> list[str]:
    """Return the gauges in formal alarm (active, not hidden) within ``radius_m`` of ``centre``."""
    found: list[str] = []
    for a in alarms:
        if not (a.active and a.formal and not a.hidden) or a.gauge in found:
            continue
        g = site.gauges.get(a.gauge)
        if g is not None and distance_m(centre, g.location) <= radius_m:
            found.append(a.gauge)
    return sorted(found)


@dataclass(frozen=True, slots=True)
class HazardSetup:
    """Everything a hazard zone is made from, and where each part came from.

    Attributes:
        centre: The source ``(lat, lon)``.
        source: How the source was found.
        source_label: The building id, the gauge ids, or the point, for the panel.
        radius_m: Isolation radius.
        downwind_m: Length of the downwind sector.
        sector_deg: Full opening angle of the sector.
        wind: The wind the zone is drawn for.
        plan_id: The plan the distances came from (``None``: set by the commander).
        incident_id: The incident the zone belongs to (``None``: none).
        radius_edited: The commander changed radius or downwind distance (an escalation keeps
            them).
    """

    centre: tuple[float, float]
    source: SourceKind
    source_label: str
    radius_m: float
    downwind_m: float
    sector_deg: float
    wind: Wind
    plan_id: str | None = None
    incident_id: str | None = None
    radius_edited: bool = False

    def zone(self) -> HazardZone:
        """Return the zone: the circle, plus the downwind sector when the wind allows one."""
        spec = HazardZoneSpec(isolation_m=self.radius_m, protective_downwind_m=self.downwind_m,
                              sector_deg=self.sector_deg)
        return HazardZone.from_plan(spec, self.centre, wind_from_deg=self.wind.from_deg,
                                    wind_speed_mps=self.wind.speed_mps)


def incident_location(site: Site, location: str | tuple[float, float]
                      ) -> tuple[tuple[float, float], SourceKind, str] | None:
    """Return the point, its kind and its label for an incident location (``None``: unknown)."""
    if isinstance(location, str):
        b = site.buildings.get(location)
        if b is None:
            return None
        return building_centroid(b), SourceKind.BUILDING, b.id
    lat, lon = (float(v) for v in location)
    return (lat, lon), SourceKind.POINT, f"{lat:.5f}, {lon:.5f}"


def derive_setup(site: Site, *, plan_id: str, location: str | tuple[float, float],
                 incident_id: str | None, alarms: Iterable[Alarm], wind: Wind
                 ) -> HazardSetup | None:
    """Return the zone an incident calls for, or ``None`` when its location is unknown."""
    where = incident_location(site, location)
    if where is None:
        return None
    centre, kind, label = where
    near = alarm_gauges_near(site, alarms, centre)
    if near:
        pts = [site.gauges[g].location for g in near]
        centre = (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))
        kind, label = SourceKind.GAUGES, ", ".join(near)
    plan = site.plans.get(plan_id)
    if plan is not None:
        spec = plan.hazard_zone
        radius, downwind, sector = spec.isolation_m, spec.protective_downwind_m, spec.sector_deg
    else:
        radius, downwind, sector = DEFAULT_RADIUS_M, default_downwind_m(site), DEFAULT_SECTOR_DEG
    return HazardSetup(centre, kind, label, radius, downwind, sector, wind,
                       plan_id=plan.id if plan is not None else None, incident_id=incident_id)


# ---------------------------------------------------------------------- what the map draws


def zone_feature(setup: HazardSetup) -> dict[str, Any]:
    """Return the zone as a GeoJSON Feature (``[lon, lat]``) for ``ccSetHazard``."""
    zone = setup.zone()
    ring = [[round(lon, 7), round(lat, 7)] for lat, lon in zone.outline()]
    return {"type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"centre": [round(zone.lat, 7), round(zone.lon, 7)],
                           "radius_m": round(zone.radius_m, 1),
                           "sector": zone.has_sector,
                           "downwind_deg": zone.downwind_deg,
                           "sector_m": round(zone.sector_length_m, 1),
                           "sector_deg": round(zone.sector_half_angle_deg * 2, 1),
                           "wind_from_deg": zone.wind_from_deg,
                           "wind_mps": setup.wind.speed_mps if zone.wind_from_deg is not None
                           else None,
                           "reach_m": round(zone.reach_m, 1)}}


def _line(coords: Iterable[tuple[float, float]]) -> dict[str, Any]:
    return {"type": "LineString",
            "coordinates": [[round(lon, 7), round(lat, 7)] for lat, lon in coords]}


def answer_features(site: Site, answer: IncidentAnswer) -> dict[str, Any]:
    """Return routes, stranded buildings, blocked assembly points and nearest-resource ways.

    A GeoJSON FeatureCollection for ``ccSetRoutes``; each feature's ``role`` property says what
    it is: ``route``, ``stranded``, ``ap_blocked`` or ``nearest``.
    """
    features: list[dict[str, Any]] = []
    for r in answer.evacuation.routes.values():
        features.append({"type": "Feature", "geometry": _line(r.coords), "properties": {
            "role": "route", "building": r.building, "ap": r.assembly_point,
            "length_m": round(r.length_m), "walk_min": round(r.walk_s / 60.0, 1),
            "inside": r.starts_inside, "upwind": r.upwind}})
    for s in answer.evacuation.stranded:
        b = site.buildings.get(s.building)
        if b is None:
            continue
        lat, lon = building_centroid(b)
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [lon, lat]},
                         "properties": {"role": "stranded", "building": s.building,
                                        "people": s.occupancy, "inside": s.starts_inside}})
    for ap in answer.evacuation.assembly_points_in_zone:
        res = site.resources.get(ap)
        if res is None:
            continue
        features.append({"type": "Feature",
                         "geometry": {"type": "Point",
                                      "coordinates": [res.location[1], res.location[0]]},
                         "properties": {"role": "ap_blocked", "ap": ap}})
    for kind, hits in answer.nearest.items():
        if kind == ResourceKind.ASSEMBLY_POINT or not hits:
            continue
        h = hits[0]
        features.append({"type": "Feature", "geometry": _line(h.coords), "properties": {
            "role": "nearest", "kind": kind, "resource": h.resource,
            "distance_m": round(h.distance_m), "time_min": round(h.time_s / 60.0, 1)}})
    return {"type": "FeatureCollection", "features": features}


# ---------------------------------------------------------------------- the side panel's rows


@dataclass(frozen=True, slots=True)
class NearestRow:
    """The nearest resource of one kind, by network."""

    kind: str
    resource: str
    distance_m: float
    time_s: float
    by_vehicle: bool
    in_zone: bool
    others: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MusterRow:
    """One assembly point and who goes there."""

    assembly_point: str
    buildings: tuple[str, ...]
    people: int
    capacity: int | None
    upwind: bool
    longest_walk_s: float

    @property
    def over_capacity(self) -> bool:
        """Whether more people are routed there than it holds."""
        return self.capacity is not None and self.people > self.capacity


@dataclass(frozen=True, slots=True)
class StrandedRow:
    """A building with no safe route."""

    building: str
    people: int
    starts_inside: bool
    reason: str


@dataclass(frozen=True, slots=True)
class AnswerSummary:
    """What the side panel lists for one answer."""

    nearest: tuple[NearestRow, ...]
    muster: tuple[MusterRow, ...]
    stranded: tuple[StrandedRow, ...]
    blocked_assembly_points: tuple[str, ...]
    routed_people: int


def summarise(site: Site, answer: IncidentAnswer) -> AnswerSummary:
    """Return the side panel's rows: nearest per kind, people per assembly point, stranded."""
    nearest = tuple(
        NearestRow(kind, hits[0].resource, hits[0].distance_m, hits[0].time_s,
                   hits[0].by_vehicle, bool(hits[0].in_zone), tuple(h.resource for h in hits[1:]))
        for kind, hits in sorted(answer.nearest.items())
        if hits and kind != ResourceKind.ASSEMBLY_POINT)
    people: Mapping[str, int] = {b.id: b.occupancy for b in site.buildings.values()}
    by_ap: dict[str, list[str]] = {}
    walk: dict[str, float] = {}
    upwind: dict[str, bool] = {}
    for r in answer.evacuation.routes.values():
        by_ap.setdefault(r.assembly_point, []).append(r.building)
        walk[r.assembly_point] = max(walk.get(r.assembly_point, 0.0), r.walk_s)
        upwind[r.assembly_point] = r.upwind
    muster = []
    for ap, buildings in by_ap.items():
        res = site.resources.get(ap)
        muster.append(MusterRow(ap, tuple(sorted(buildings)),
                                sum(people.get(b, 0) for b in buildings),
                                res.capacity if res is not None else None,
                                upwind[ap], walk[ap]))
    muster.sort(key=lambda m: (-m.people, m.assembly_point))
    stranded = tuple(StrandedRow(s.building, s.occupancy, s.starts_inside, s.reason)
                     for s in answer.evacuation.stranded)
    return AnswerSummary(nearest, tuple(muster), stranded,
                         tuple(answer.evacuation.assembly_points_in_zone),
                         sum(m.people for m in muster))
