"""The hazard zone around a release: an isolation circle plus a downwind sector.

A zone is what the commander keeps people out of. It is built from a plan's
:class:`~commandcenter.core.site.HazardZoneSpec` and, when a wind gauge gives one, the wind:

- the **isolation circle** has the plan's ``isolation_m`` as radius around the source;
- the **downwind sector** reaches ``protective_downwind_m`` from the source, opening
  ``sector_deg`` wide (``sector_deg`` is the full opening angle, so the half-angle is
  ``sector_deg / 2``), centred on the direction the wind blows *to* — the opposite of the
  meteorological wind-*from* direction a wind-vane reports.

A calm wind (below :data:`CALM_WIND_MPS`) has no meaningful direction: the zone is then the circle
only and no assembly point counts as upwind.

Geometry runs in a local flat (equirectangular) projection centred on the source, in metres. Over
the few kilometres of a plant the error is far below a metre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from commandcenter.core.geodesy import EARTH_RADIUS_M
from commandcenter.core.site import HazardZoneSpec, Site, SiteInfo

CALM_WIND_MPS = 0.5
"""Below this wind speed the wind has no usable direction: no downwind sector."""

OUTLINE_STEP_DEG = 3.0
"""Angular step of the drawn outline's arcs."""

DEFAULT_SECTOR_DEG = 60.0
"""Full opening angle of the downwind sector when no plan gives one (nor ``--sector-deg``)."""

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def default_downwind_m(site: Site) -> float:
    """Return how far the downwind sector reaches when the wind is known but no plan says.

    It is the site's ``default_downwind_m`` (``maps/site.yaml``; 500 m unless the site sets it).
    """
    if site.info is not None:
        return float(site.info.default_downwind_m)
    return float(SiteInfo.model_fields["default_downwind_m"].default)


def _angle_diff_deg(a: FloatArray, b: float) -> FloatArray:
    """Return the absolute difference between bearings ``a`` and ``b``, 0–180 degrees."""
    d: FloatArray = np.abs((a - b + 180.0) % 360.0 - 180.0)
    return d


@dataclass(frozen=True, slots=True)
class HazardZone:
    """An isolation circle around a source, plus an optional downwind sector.

    Attributes:
        lat: Latitude of the source (WGS-84 degrees).
        lon: Longitude of the source.
        radius_m: Radius of the isolation circle in metres (> 0).
        wind_from_deg: Direction the wind blows from (degrees clockwise from north), or ``None``
            when it is calm or unknown. Decides the sector and what counts as upwind.
        sector_length_m: How far the downwind sector reaches from the source (0: no sector).
        sector_half_angle_deg: Half the sector's opening angle, 0–90 degrees (0: no sector).
    """

    lat: float
    lon: float
    radius_m: float
    wind_from_deg: float | None = None
    sector_length_m: float = 0.0
    sector_half_angle_deg: float = 0.0

    def __post_init__(self) -> None:
        values = (self.lat, self.lon, self.radius_m, self.sector_length_m,
                  self.sector_half_angle_deg)
        if not all(math.isfinite(v) for v in values):
            raise ValueError("hazard zone: centre, radius and sector must be finite numbers")
        if not -90.0 <= self.lat <= 90.0 or not -180.0 <= self.lon <= 180.0:
            raise ValueError(f"hazard zone: centre ({self.lat}, {self.lon}) is not a "
                             f"[lat, lon] position")
        if self.radius_m <= 0:
            raise ValueError(f"hazard zone: radius must be > 0 m, not {self.radius_m}")
        if self.sector_length_m < 0:
            raise ValueError("hazard zone: the sector length cannot be negative")
        if not 0.0 <= self.sector_half_angle_deg <= 90.0:
            raise ValueError(f"hazard zone: sector half-angle must be 0–90 degrees, not "
                             f"{self.sector_half_angle_deg}")
        if self.wind_from_deg is not None:
            if not math.isfinite(self.wind_from_deg):
                raise ValueError("hazard zone: wind direction must be a finite number")
            object.__setattr__(self, "wind_from_deg", self.wind_from_deg % 360.0)

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_plan(cls, spec: HazardZoneSpec, centre: tuple[float, float], *,
                  wind_from_deg: float | None = None,
                  wind_speed_mps: float | None = None) -> HazardZone:
        """Build the zone a plan prescribes for a release at ``centre`` (``(lat, lon)``).

        Args:
            spec: The plan's ``hazard_zone``.
            centre: The source of the release.
            wind_from_deg: Wind direction from the wind-vane (where the wind comes *from*), or
                ``None`` when unknown.
            wind_speed_mps: Wind speed; below :data:`CALM_WIND_MPS` the wind counts as calm and
                the zone has no sector. ``None`` (speed unknown) keeps a known direction.
        """
        calm = wind_from_deg is None or (
            wind_speed_mps is not None and wind_speed_mps < CALM_WIND_MPS)
        if calm:
            return cls(centre[0], centre[1], spec.isolation_m)
        return cls(centre[0], centre[1], spec.isolation_m, wind_from_deg=wind_from_deg,
                   sector_length_m=spec.protective_downwind_m,
                   sector_half_angle_deg=spec.sector_deg / 2.0)

    # ------------------------------------------------------------------ properties

    @property
    def centre(self) -> tuple[float, float]:
        """The source as ``(lat, lon)``."""
        return (self.lat, self.lon)

    @property
    def downwind_deg(self) -> float | None:
        """The direction the wind blows *to* (the sector's axis), or ``None`` when calm."""
        return None if self.wind_from_deg is None else (self.wind_from_deg + 180.0) % 360.0

    @property
    def has_sector(self) -> bool:
        """Whether the downwind sector reaches beyond the isolation circle."""
        return (self.wind_from_deg is not None and self.sector_half_angle_deg > 0
                and self.sector_length_m > self.radius_m)

    @property
    def reach_m(self) -> float:
        """The farthest distance from the source that lies in the zone."""
        return max(self.radius_m, self.sector_length_m if self.has_sector else 0.0)

    # ------------------------------------------------------------------ projection

    def to_local(self, lat: ArrayLike, lon: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Project positions to metres east (``x``) and north (``y``) of the source."""
        la = np.asarray(lat, dtype=np.float64)
        lo = np.asarray(lon, dtype=np.float64)
        k = math.pi / 180.0 * EARTH_RADIUS_M
        x: FloatArray = (lo - self.lon) * (k * math.cos(math.radians(self.lat)))
        y: FloatArray = (la - self.lat) * k
        return x, y

    def from_local(self, x: float, y: float) -> tuple[float, float]:
        """Return the ``(lat, lon)`` of a point ``x`` m east and ``y`` m north of the source."""
        k = math.pi / 180.0 * EARTH_RADIUS_M
        return (self.lat + y / k, self.lon + x / (k * math.cos(math.radians(self.lat))))

    # ------------------------------------------------------------------ membership

    def _in_zone_xy(self, x: FloatArray, y: FloatArray) -> BoolArray:
        d2 = x * x + y * y
        inside: BoolArray = d2 <= self.radius_m * self.radius_m
        if self.has_sector:
            assert self.downwind_deg is not None
            bearing = np.degrees(np.arctan2(x, y)) % 360.0
            in_sector = (d2 <= self.sector_length_m ** 2) & (
                _angle_diff_deg(bearing, self.downwind_deg) <= self.sector_half_angle_deg)
            inside = inside | in_sector
        return inside

    def contains(self, lat: float, lon: float) -> bool:
        """Return whether ``(lat, lon)`` lies in the zone (its border counts as inside)."""
        x, y = self.to_local(lat, lon)
        return bool(self._in_zone_xy(x, y))

    def contains_many(self, lat: ArrayLike, lon: ArrayLike) -> BoolArray:
        """Vectorised :meth:`contains` over arrays of positions."""
        x, y = self.to_local(lat, lon)
        return self._in_zone_xy(x, y)

    def touches_segments(self, lat1: ArrayLike, lon1: ArrayLike,
                         lat2: ArrayLike, lon2: ArrayLike) -> BoolArray:
        """Return, for each straight segment, whether any part of it lies in the zone (1-d).

        The zone (circle ∪ sector) is a union of two convex shapes (the sector's half-angle is at
        most 90°). A segment meets a convex shape exactly when one of a few candidate points lies
        in it: its end points, its point nearest the source, or where it crosses one of the
        sector's two straight sides. If it enters and leaves through the sector's arc only, the
        point nearest the source lies between the two crossings, so it is caught too.
        """
        x1, y1 = (np.atleast_1d(v) for v in self.to_local(lat1, lon1))
        x2, y2 = (np.atleast_1d(v) for v in self.to_local(lat2, lon2))
        dx, dy = x2 - x1, y2 - y1
        len2 = dx * dx + dy * dy
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(len2 > 0, -(x1 * dx + y1 * dy) / np.where(len2 > 0, len2, 1.0), 0.0)
        t = np.clip(t, 0.0, 1.0)
        cx, cy = x1 + t * dx, y1 + t * dy
        near2 = cx * cx + cy * cy
        hit: BoolArray = near2 <= self.radius_m * self.radius_m
        if not self.has_sector:
            return hit
        # Only segments that come within the sector's reach and missed the circle can meet it.
        todo = np.flatnonzero(~hit & (near2 <= self.sector_length_m ** 2))
        if todo.size:
            hit[todo] = self._touches_sector((x1[todo], y1[todo]), (x2[todo], y2[todo]),
                                             (cx[todo], cy[todo]))
        return hit

    def _touches_sector(self, p1: tuple[FloatArray, FloatArray],
                        p2: tuple[FloatArray, FloatArray],
                        near: tuple[FloatArray, FloatArray]) -> BoolArray:
        """Return whether segments ``p1``–``p2`` meet the sector (``near``: nearest points)."""
        assert self.downwind_deg is not None
        (x1, y1), (x2, y2), (cx, cy) = p1, p2, near
        dx, dy = x2 - x1, y2 - y1
        hit = self._in_zone_xy(x1, y1) | self._in_zone_xy(x2, y2) | self._in_zone_xy(cx, cy)
        for side in (-1.0, 1.0):
            a = math.radians(self.downwind_deg + side * self.sector_half_angle_deg)
            ux, uy = math.sin(a), math.cos(a)
            den = dx * uy - dy * ux
            with np.errstate(divide="ignore", invalid="ignore"):
                s = -(x1 * uy - y1 * ux) / den
                r = (y1 * dx - x1 * dy) / den
            crosses = (den != 0) & (s >= 0) & (s <= 1) & (r >= 0) & \
                (r <= self.sector_length_m)
            hit = hit | crosses
        return hit

    def touches_segment(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        """Return whether any part of the straight segment ``a``–``b`` (``(lat, lon)``) is in."""
        return bool(self.touches_segments(a[0], a[1], b[0], b[1])[0])

    # ------------------------------------------------------------------ wind

    def _bearing_from_centre(self, point: tuple[float, float]) -> float | None:
        x, y = self.to_local(point[0], point[1])
        if float(x) == 0.0 and float(y) == 0.0:
            return None
        return math.degrees(math.atan2(float(x), float(y))) % 360.0

    def is_upwind(self, point: tuple[float, float]) -> bool:
        """Return whether ``point`` lies upwind of the source (within 90° of the wind-from side).

        Always ``False`` when the wind is calm or unknown, and for the source itself.
        """
        if self.wind_from_deg is None:
            return False
        b = self._bearing_from_centre(point)
        return b is not None and abs((b - self.wind_from_deg + 180.0) % 360.0 - 180.0) < 90.0

    def downwind_factor(self, point: tuple[float, float]) -> float:
        """Return how squarely ``point`` lies downwind: cos of its angle off the wind's axis.

        1.0 straight downwind, falling to 0.0 at crosswind; 0.0 for crosswind and upwind points,
        the source itself, and whenever the wind is calm or unknown.
        """
        axis = self.downwind_deg
        if axis is None:
            return 0.0
        b = self._bearing_from_centre(point)
        if b is None:
            return 0.0
        return max(0.0, math.cos(math.radians(b - axis)))

    def bounding_box(self) -> tuple[float, float, float, float]:
        """Return ``(south, north, west, east)`` of a box that holds the whole zone (+1 m)."""
        r = self.radius_m + 1.0
        xs, ys = [-r, r], [-r, r]
        if self.has_sector:
            assert self.downwind_deg is not None
            start = self.downwind_deg - self.sector_half_angle_deg
            end = self.downwind_deg + self.sector_half_angle_deg
            # The sector's far arc reaches furthest at its ends and wherever it crosses a
            # cardinal direction.
            bearings = [start, end] + [c for c in (0.0, 90.0, 180.0, 270.0, 360.0, 450.0)
                                       if start <= c <= end or start <= c - 360.0 <= end]
            length = self.sector_length_m + 1.0
            for bearing in bearings:
                rad = math.radians(bearing)
                xs.append(length * math.sin(rad))
                ys.append(length * math.cos(rad))
        south, west = self.from_local(min(xs), min(ys))
        north, east = self.from_local(max(xs), max(ys))
        return south, north, west, east

    # ------------------------------------------------------------------ drawing

    def outline(self, step_deg: float = OUTLINE_STEP_DEG) -> list[list[float]]:
        """Return the zone's border as a closed ring of ``[lat, lon]`` for drawing.

        The zone is star-shaped around the source, so the ring walks once around it: the sector's
        arc at ``sector_length_m``, then the circle's arc at ``radius_m``.
        """
        polar: list[tuple[float, float]] = []  # (bearing, distance)
        if self.has_sector:
            assert self.downwind_deg is not None
            start = self.downwind_deg - self.sector_half_angle_deg
            end = self.downwind_deg + self.sector_half_angle_deg
            polar.append((start, self.radius_m))
            polar.extend((a, self.sector_length_m) for a in _arc(start, end, step_deg))
            polar.append((end, self.radius_m))
            polar.extend((a, self.radius_m) for a in _arc(end, start + 360.0, step_deg)[1:-1])
        else:
            polar.extend((a, self.radius_m) for a in _arc(0.0, 360.0, step_deg)[:-1])
        ring = []
        for bearing, dist in polar:
            rad = math.radians(bearing)
            lat, lon = self.from_local(dist * math.sin(rad), dist * math.cos(rad))
            ring.append([lat, lon])
        ring.append(list(ring[0]))
        return ring

    def to_dict(self) -> dict[str, Any]:
        """Return the zone as plain JSON-able data (with its outline)."""
        return {
            "centre": [self.lat, self.lon],
            "radius_m": self.radius_m,
            "wind_from_deg": self.wind_from_deg,
            "sector": {"length_m": self.sector_length_m,
                       "half_angle_deg": self.sector_half_angle_deg,
                       "towards_deg": self.downwind_deg} if self.has_sector else None,
            "outline": self.outline(),
        }


def _arc(start: float, end: float, step: float) -> list[float]:
    """Return bearings from ``start`` to ``end`` (inclusive), about ``step`` apart."""
    n = max(1, math.ceil((end - start) / step))
    return [start + (end - start) * i / n for i in range(n + 1)]
