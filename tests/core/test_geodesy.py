"""Distances and bearings on WGS-84 at plant scale."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commandcenter.core.geodesy import EARTH_RADIUS_M, bearing_deg, distance_m, path_length_m

SITE = (30.700, 121.300)


def test_known_distances() -> None:
    assert distance_m(SITE, SITE) == 0.0
    # One degree of latitude on the mean sphere.
    assert distance_m((0.0, 0.0), (1.0, 0.0)) == pytest.approx(111_195.08, abs=0.01)
    # One degree of longitude at 30.7 N: cos(30.7 deg) of that along the parallel (95 622 m);
    # the great circle between the two points is a little shorter.
    assert distance_m((30.7, 121.0), (30.7, 122.0)) == pytest.approx(95_611, abs=1)
    # Antipodes: half the circumference (guards the asin clamp).
    assert distance_m((0.0, 0.0), (0.0, 180.0)) == pytest.approx(EARTH_RADIUS_M * 3.141592653589793)
    # Shanghai People's Square to Beijing Tiananmen, about 1067 km.
    assert distance_m((31.2304, 121.4737), (39.9042, 116.4074)) == pytest.approx(1_067_000,
                                                                                   rel=0.005)


def test_distance_is_symmetric() -> None:
    a, b = (30.698, 121.297), (30.702, 121.303)
    assert distance_m(a, b) == pytest.approx(distance_m(b, a))


@pytest.mark.parametrize(("to", "expected"), [
    ((30.710, 121.300), 0.0),      # north
    ((30.700, 121.310), 90.0),     # east
    ((30.690, 121.300), 180.0),    # south
    ((30.700, 121.290), 270.0),    # west
])
def test_cardinal_bearings(to: tuple[float, float], expected: float) -> None:
    assert bearing_deg(SITE, to) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(("to", "low", "high"), [
    ((30.710, 121.310), 0.0, 90.0),     # NE
    ((30.690, 121.310), 90.0, 180.0),   # SE
    ((30.690, 121.290), 180.0, 270.0),  # SW
    ((30.710, 121.290), 270.0, 360.0),  # NW
])
def test_bearing_quadrants(to: tuple[float, float], low: float, high: float) -> None:
    b = bearing_deg(SITE, to)
    assert low < b < high


@given(st.floats(-80, 80), st.floats(-179, 179), st.floats(-0.05, 0.05), st.floats(-0.05, 0.05))
def test_bearing_is_in_range(lat: float, lon: float, dlat: float, dlon: float) -> None:
    b = bearing_deg((lat, lon), (lat + dlat, lon + dlon))
    assert 0.0 <= b < 360.0


def test_path_length() -> None:
    assert path_length_m([]) == 0.0
    assert path_length_m([[121.3, 30.7]]) == 0.0  # type: ignore[list-item]
    path = [(121.297, 30.698), (121.300, 30.698), (121.300, 30.700)]  # [lon, lat]
    expected = distance_m((30.698, 121.297), (30.698, 121.300)) + \
        distance_m((30.698, 121.300), (30.700, 121.300))
    assert path_length_m(path) == pytest.approx(expected)
    assert path_length_m(path) == pytest.approx(286.84 + 222.39, abs=0.05)
