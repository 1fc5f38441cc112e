"""The hazard zone: circle plus downwind sector, its outline, and what counts as upwind."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commandcenter.core.geodesy import bearing_deg, distance_m
from commandcenter.core.hazard import CALM_WIND_MPS, HazardZone, default_downwind_m
from commandcenter.core.site import HazardZoneSpec
from commandcenter.core.siteio import load_site

REPO = Path(__file__).resolve().parents[2]

CENTRE = (30.70, 121.30)
SPEC = HazardZoneSpec(isolation_m=100, protective_downwind_m=800, sector_deg=60)


def at(bearing: float, dist: float, zone: HazardZone | None = None) -> tuple[float, float]:
    """The point ``dist`` metres from the centre on ``bearing`` (degrees from north)."""
    z = zone or HazardZone(*CENTRE, 1.0)
    rad = math.radians(bearing)
    return z.from_local(dist * math.sin(rad), dist * math.cos(rad))


def test_circle_only_when_no_wind() -> None:
    z = HazardZone.from_plan(SPEC, CENTRE)
    assert not z.has_sector and z.wind_from_deg is None
    assert z.contains(*at(0, 99)) and z.contains(*at(200, 99.9))
    assert not z.contains(*at(0, 101)) and not z.contains(*at(200, 300))
    assert z.reach_m == 100


def test_sector_points_away_from_the_wind() -> None:
    # Wind from the north-west (315°) blows towards the south-east (135°).
    z = HazardZone.from_plan(SPEC, CENTRE, wind_from_deg=315, wind_speed_mps=3.0)
    assert z.has_sector and z.downwind_deg == pytest.approx(135)
    assert z.sector_half_angle_deg == 30 and z.sector_length_m == 800
    assert z.contains(*at(135, 790))
    assert z.contains(*at(160, 500))  # 25° off the axis, inside the 30° half-angle
    assert not z.contains(*at(170, 500))  # 35° off the axis
    assert not z.contains(*at(135, 810))
    assert not z.contains(*at(315, 500))  # upwind: only the circle
    assert z.contains(*at(315, 90))
    # The measured geodesic distance and bearing agree with the local projection.
    p = at(135, 790)
    assert distance_m(CENTRE, p) == pytest.approx(790, abs=0.5)
    assert bearing_deg(CENTRE, p) == pytest.approx(135, abs=0.05)


def test_calm_wind_has_no_sector_and_no_upwind() -> None:
    calm = HazardZone.from_plan(SPEC, CENTRE, wind_from_deg=90, wind_speed_mps=CALM_WIND_MPS / 2)
    assert not calm.has_sector and calm.wind_from_deg is None
    assert not calm.is_upwind(at(90, 500)) and calm.downwind_factor(at(270, 500)) == 0
    breezy = HazardZone.from_plan(SPEC, CENTRE, wind_from_deg=90, wind_speed_mps=CALM_WIND_MPS)
    assert breezy.has_sector
    # Direction known, speed unknown: the sector is drawn.
    assert HazardZone.from_plan(SPEC, CENTRE, wind_from_deg=90).has_sector


def test_wind_direction_is_normalised() -> None:
    z = HazardZone(*CENTRE, 100, wind_from_deg=-90, sector_length_m=500,
                   sector_half_angle_deg=20)
    assert z.wind_from_deg == 270 and z.downwind_deg == 90
    assert z.contains(*at(90, 400)) and not z.contains(*at(270, 400))


def test_upwind_and_downwind_factor() -> None:
    z = HazardZone.from_plan(SPEC, CENTRE, wind_from_deg=0, wind_speed_mps=5)  # from the north
    assert z.is_upwind(at(0, 500)) and z.is_upwind(at(80, 500)) and z.is_upwind(at(290, 50))
    assert not z.is_upwind(at(180, 500)) and not z.is_upwind(at(100, 500))
    assert not z.is_upwind(CENTRE)
    assert z.downwind_factor(at(180, 500)) == pytest.approx(1.0)
    assert z.downwind_factor(at(120, 500)) == pytest.approx(0.5)
    assert z.downwind_factor(at(90, 500)) == pytest.approx(0.0, abs=1e-9)
    assert z.downwind_factor(at(0, 500)) == 0.0


def test_sector_shorter_than_circle_adds_nothing() -> None:
    z = HazardZone(*CENTRE, 300, wind_from_deg=0, sector_length_m=200, sector_half_angle_deg=30)
    assert not z.has_sector and z.reach_m == 300
    assert len(z.outline()) == len(HazardZone(*CENTRE, 300).outline())


@pytest.mark.parametrize("wind", [None, 0.0, 47.0, 200.0, 359.0])
def test_outline_follows_the_border(wind: float | None) -> None:
    z = HazardZone.from_plan(SPEC, CENTRE, wind_from_deg=wind, wind_speed_mps=4)
    ring = z.outline()
    assert ring[0] == ring[-1] and len(ring) > 20
    for lat, lon in ring[:-1]:
        x, y = z.to_local(lat, lon)
        r = math.hypot(float(x), float(y))
        b = math.degrees(math.atan2(float(x), float(y)))
        signed = 0.0 if z.downwind_deg is None else (b - z.downwind_deg + 180) % 360 - 180
        on_side = z.has_sector and abs(abs(signed) - z.sector_half_angle_deg) < 1e-6
        # Just inside each vertex is in the zone (a sector corner: also a little towards the
        # axis), just outside is not (except at the sector's corners, which border both ways).
        inward = b - math.copysign(0.01, signed) if on_side else b
        assert z.contains(*at(inward, r * 0.995))
        if not on_side:
            assert not z.contains(*at(b, r * 1.005))


def test_to_dict_is_json_ready() -> None:
    z = HazardZone.from_plan(SPEC, CENTRE, wind_from_deg=90, wind_speed_mps=2)
    d = z.to_dict()
    assert d["centre"] == [30.70, 121.30] and d["sector"]["towards_deg"] == 270
    assert d["outline"][0] == d["outline"][-1]
    assert HazardZone(*CENTRE, 50).to_dict()["sector"] is None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"radius_m": 0}, "radius must be > 0"),
    ({"radius_m": float("nan")}, "finite"),
    ({"sector_half_angle_deg": 95}, "half-angle must be 0–90"),
    ({"sector_length_m": -1}, "cannot be negative"),
    ({"lat": 121.3, "lon": 30.7}, "is not a [lat, lon] position"),
    ({"wind_from_deg": float("inf")}, "wind direction must be a finite"),
])
def test_bad_zones_are_refused(kwargs: dict[str, float], message: str) -> None:
    args: dict[str, float] = {"lat": CENTRE[0], "lon": CENTRE[1], "radius_m": 100}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        HazardZone(**args)


def _sampled_touch(z: HazardZone, a: tuple[float, float], b: tuple[float, float]) -> bool:
    ts = np.linspace(0.0, 1.0, 10001)
    lats = a[0] + (b[0] - a[0]) * ts
    lons = a[1] + (b[1] - a[1]) * ts
    return bool(z.contains_many(lats, lons).any())


zones = st.builds(
    lambda r, wind, length, half: HazardZone(*CENTRE, r, wind_from_deg=wind,
                                             sector_length_m=length, sector_half_angle_deg=half),
    st.floats(20, 300), st.one_of(st.none(), st.floats(0, 360)), st.floats(0, 1500),
    st.floats(0, 89))
points = st.tuples(st.floats(-1500, 1500), st.floats(-1500, 1500))


@settings(max_examples=300, deadline=None)
@given(zones, points, points)
def test_segment_test_agrees_with_dense_sampling(z: HazardZone, p: tuple[float, float],
                                                 q: tuple[float, float]) -> None:
    a = z.from_local(*p)
    b = z.from_local(*q)
    exact = z.touches_segment(a, b)
    if _sampled_touch(z, a, b):
        assert exact  # whatever sampling sees, the exact test sees
    elif exact:
        # Sampling (points < 0.5 m apart) can miss a mere graze; a zone grown by a metre (and
        # its sector by a degree or two) cannot.
        grown = HazardZone(z.lat, z.lon, z.radius_m + 1, wind_from_deg=z.wind_from_deg,
                           sector_length_m=z.sector_length_m + 1,
                           sector_half_angle_deg=min(90.0, z.sector_half_angle_deg + 2))
        assert _sampled_touch(grown, a, b)


def test_segment_through_the_sector_arc_only_is_caught() -> None:
    # A chord across the far end of the sector: both ends outside, no side crossed.
    z = HazardZone(*CENTRE, 50, wind_from_deg=180, sector_length_m=1000, sector_half_angle_deg=30)
    a = z.from_local(-100, 998)
    b = z.from_local(100, 998)
    assert not z.contains(*a) and not z.contains(*b)
    assert z.touches_segment(a, b)
    # The same chord just beyond the arc misses.
    assert not z.touches_segment(z.from_local(-100, 1002), z.from_local(100, 1002))


def test_segment_crossing_only_the_circle() -> None:
    z = HazardZone(*CENTRE, 100)
    assert z.touches_segment(z.from_local(-500, 50), z.from_local(500, 50))
    assert not z.touches_segment(z.from_local(-500, 150), z.from_local(500, 150))
    assert z.touches_segment(CENTRE, CENTRE)  # a point at the centre


@pytest.mark.parametrize("wind", [None, 0.0, 30.0, 89.0, 135.0, 180.0, 250.0, 340.0, 359.9])
@pytest.mark.parametrize("half", [0.0, 10.0, 45.0, 90.0])
def test_bounding_box_holds_the_outline(wind: float | None, half: float) -> None:
    z = HazardZone(*CENTRE, 150, wind_from_deg=wind, sector_length_m=900,
                   sector_half_angle_deg=half)
    south, north, west, east = z.bounding_box()
    ring = z.outline(step_deg=0.5)
    assert all(south <= lat <= north and west <= lon <= east for lat, lon in ring)
    # ... and is tight: each side lies within 2 m of the outline's extreme.
    lats = [p[0] for p in ring]
    lons = [p[1] for p in ring]
    x_west, y_south = z.to_local(south, west)
    x_east, y_north = z.to_local(north, east)
    xs, ys = z.to_local(lats, lons)
    assert float(ys.min()) - float(y_south) < 2 and float(y_north) - float(ys.max()) < 2
    assert float(xs.min()) - float(x_west) < 2 and float(x_east) - float(xs.max()) < 2


def test_default_downwind_distance_is_a_site_setting(tmp_path: Path) -> None:
    demo = load_site(REPO)
    assert demo.info is not None and demo.info.default_downwind_m == 500.0
    assert default_downwind_m(demo) == 500.0
    site = tmp_path / "site"
    for folder in ("maps", "resources", "plans", "drills"):
        shutil.copytree(REPO / folder, site / folder)
    text = (site / "maps" / "site.yaml").read_text(encoding="utf-8")
    (site / "maps" / "site.yaml").write_text(text + "default_downwind_m: 1200\n",
                                             encoding="utf-8")
    assert default_downwind_m(load_site(site)) == 1200.0
    lines = text.count("\n") + 1
    (site / "maps" / "site.yaml").write_text(text + "default_downwind_m: -5\n",
                                             encoding="utf-8")
    bad = load_site(site)
    assert [str(p) for p in bad.problems] == [
        f"maps/site.yaml:{lines}: default_downwind_m: Input should be greater than or equal "
        f"to 0"]
    # Without a usable site.yaml the documented default applies.
    assert bad.info is None and default_downwind_m(bad) == 500.0
