"""The site models on their own, and the loaded :class:`Site`'s queries."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from commandcenter.core.site import (
    Building,
    Gauge,
    GaugeLink,
    NetworkEdge,
    NetworkNode,
    PlanLevel,
    Problem,
    Site,
    Text,
)

from .conftest import SiteFiles


def test_problem_str() -> None:
    p = Problem("plans/a.yaml", 3, "steps[0].owner", "x")
    assert str(p) == "plans/a.yaml:3: steps[0].owner: x"
    assert str(Problem("plans", 1, "", "folder is missing")) == "plans:1: folder is missing"


def test_text_get_falls_back() -> None:
    t = Text(zh="集合点", en="Assembly point")
    assert t.get("en") == "Assembly point" and t.get("zh") == "集合点"
    assert Text(zh="集合点").get("en") == "集合点"
    with pytest.raises(ValidationError):
        Text(zh="  ")  # stripped to empty


def test_plan_level_rank() -> None:
    assert [lvl.rank for lvl in PlanLevel] == [1, 2, 3, 4]


def test_models_are_frozen_and_strict() -> None:
    n = NetworkNode(id="N1", location=(30.7, 121.3))
    with pytest.raises(ValidationError):
        n.id = "N2"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        NetworkNode.model_validate({"id": "N1", "location": [30.7, 121.3], "x": 1})


@pytest.mark.parametrize(("location", "message"), [
    ((91.0, 121.0), "latitude 91.0 is outside -90..90 (is the order [lat, lon]?)"),
    ((30.0, 181.0), "longitude 181.0 is outside -180..180"),
    ((float("nan"), 121.0), "coordinates must be finite numbers"),
])
def test_lat_lon_checks(location: tuple[float, float], message: str) -> None:
    with pytest.raises(ValidationError) as err:
        NetworkNode(id="N1", location=location)
    assert err.value.errors()[0]["msg"] == f"Value error, {message}"


def test_polygon_checks_speak_geojson_order() -> None:
    base: dict[str, Any] = {"id": "B", "kind": "office", "name": {"zh": "楼"},
                            "entrance_node": "N1"}
    ring = [[121.3, 30.7], [121.31, 30.7], [121.31, 30.71], [121.3, 30.7]]
    Building.model_validate({**base, "outline": [ring]})
    with pytest.raises(ValidationError, match=r"GeoJSON positions are \[lon, lat\]"):
        Building.model_validate({**base, "outline": [[[p[1], p[0]] for p in ring]]})
    with pytest.raises(ValidationError, match="at least 4 positions"):
        Building.model_validate({**base, "outline": [ring[:3]]})
    with pytest.raises(ValidationError, match="at least one ring"):
        Building.model_validate({**base, "outline": []})


def test_edge_checks() -> None:
    ok = {"id": "E", "source": "A", "target": "B", "kind": "road", "length_m": 10,
          "path": [[121.3, 30.7], [121.3001, 30.7]]}
    NetworkEdge.model_validate(ok)
    with pytest.raises(ValidationError, match="greater than 0"):
        NetworkEdge.model_validate({**ok, "length_m": 0})


def test_link_endpoints() -> None:
    GaugeLink(id="L", protocol="simulator")  # type: ignore[arg-type]
    GaugeLink(id="L", protocol="modbus_tcp", host="10.0.0.5", port=502)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="port: required for a modbus_tcp link"):
        GaugeLink(id="L", protocol="modbus_tcp", host="10.0.0.5")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="url: required for a ascii link"):
        GaugeLink(id="L", protocol="ascii", baudrate=9600)  # type: ignore[arg-type]


def _gauge(**over: Any) -> Gauge:
    data: dict[str, Any] = {"id": "G", "kind": "o2", "name": {"zh": "氧"}, "unit": "%VOL",
                            "link": "SIM", "address": {}, "location": [30.7, 121.3],
                            "range": [0, 25]}
    data.update(over)
    return Gauge.model_validate(data)


def test_gauge_units_by_kind() -> None:
    _gauge()
    _gauge(kind="pressure", unit="kPa", range=[0, 500])
    with pytest.raises(ValidationError, match=r"'ppm' is not a unit for o2 \(use %VOL\)"):
        _gauge(unit="ppm")


def test_gauge_low_and_high_thresholds_together() -> None:
    g = _gauge(thresholds=[{"level": "alarm1", "direction": "low", "value": 19.5},
                           {"level": "alarm2", "direction": "low", "value": 18},
                           {"level": "prealarm", "direction": "high", "value": 23},
                           {"level": "alarm1", "direction": "high", "value": 23.5}])
    assert len(g.thresholds) == 4
    with pytest.raises(ValidationError, match="low limits must get lower"):
        _gauge(thresholds=[{"level": "alarm1", "direction": "low", "value": 18},
                           {"level": "alarm2", "direction": "low", "value": 19.5}])
    # Equal limits for successive levels are allowed (not strictly ordered).
    _gauge(thresholds=[{"level": "alarm1", "direction": "high", "value": 23.5},
                       {"level": "alarm2", "direction": "high", "value": 23.5}])


# --------------------------------------------------------------------------- the loaded site


def test_stats(site: SiteFiles) -> None:
    s = site.load()
    assert s.stats() == {
        "site": "demo-plant",
        "name": {"zh": "示范化工厂", "en": "Demo chemical plant"},
        "buildings": 3,
        "buildings_by_kind": {"process_unit": 1, "tank_farm": 1, "control_room": 1},
        "zones": 2,
        "network": {"nodes": 8, "edges": 10, "length_km": 2.58},
        "resources": 4,
        "resources_by_kind": {"fire_hydrant": 1, "scba_cabinet": 1, "fire_truck": 1,
                              "assembly_point": 1},
        "gauges": 4,
        "gauges_by_kind": {"combustible_gas": 1, "h2s": 1, "o2": 1, "wind_speed": 1},
        "gauge_links": 3,
        "responders": 3,
        "roles": 4,
        "plans": 2,
        "plans_by_level": {"L1": 1, "L2": 1, "L3": 0, "L4": 0},
        "drill_scenarios": 1,
        "center": [30.7, 121.3],
        "bounds": [[30.695, 121.295], [30.705, 121.305]],
        "problems": 0,
    }


def test_stats_of_an_empty_site() -> None:
    s = Site(root="/nowhere")
    stats = s.stats()
    assert stats["site"] is None
    assert stats["name"] == {"zh": "未命名厂区", "en": "Unnamed site"}
    assert stats["center"] is None and stats["bounds"] is None
    assert stats["plans_by_level"] == {"L1": 0, "L2": 0, "L3": 0, "L4": 0}
    assert s.bounds() is None and s.center() is None


def test_bounds_without_boundary_use_buildings_and_nodes(site: SiteFiles) -> None:
    s = site.load()
    s.boundary = None
    (south, west), (north, east) = s.bounds()  # type: ignore[misc]
    # Nodes span 30.698..30.702 N, 121.297..121.303 E; buildings lie within that.
    assert (south, west, north, east) == (30.698, 121.297, 30.702, 121.303)
    assert s.center() == pytest.approx((30.700, 121.300))


def test_network_graph(site: SiteFiles) -> None:
    g = site.load().network()
    assert g.number_of_nodes() == 8 and g.number_of_edges() == 10
    assert g.nodes["N5"] == {"lat": 30.700, "lon": 121.300}
    assert g.edges["N2", "N5"] == {"id": "E4", "length_m": 225.0, "kind": "walkway"}
    assert g.edges["N5", "N2"]["id"] == "E4"  # undirected


@pytest.mark.parametrize(("first_len", "second_len", "kept"), [
    (290, 300, "E1"), (300, 290, "E11"), (290, 290, "E1"),
])
def test_network_parallel_edges_keep_the_shorter(site: SiteFiles, feature: Any, first_len: float,
                                                 second_len: float, kept: str) -> None:
    site.edit_feature("maps/network.geojson", "E1",
                      lambda f: f["properties"].update(length_m=first_len))
    site.add_feature("maps/network.geojson", feature(
        {"layer": "edge", "id": "E11", "source": "N2", "target": "N1", "kind": "walkway",
         "length_m": second_len}, "LineString", [[121.300, 30.698], [121.297, 30.698]]))
    s = site.load()
    assert s.problems == []
    assert set(s.edges) >= {"E1", "E11"}
    g = s.network()
    assert g.number_of_edges() == 10
    assert g.edges["N1", "N2"]["id"] == kept
    assert g.edges["N1", "N2"]["length_m"] == min(first_len, second_len)


def test_people_with_role_and_plans_by_level(site: SiteFiles) -> None:
    s = site.load()
    assert [p.id for p in s.people_with_role("fire_brigade")] == ["p-wang"]
    assert s.people_with_role("nobody") == []
    by_level = s.plans_by_level()
    assert [p.id for p in by_level[PlanLevel.L1]] == ["P-GAS-L1"]
    assert by_level[PlanLevel.L4] == []
    assert list(by_level) == list(PlanLevel)


def test_outside_contacts_may_be_public_emergency_numbers() -> None:
    from pydantic import ValidationError

    from commandcenter.core.site import Contact, Text

    for number in ("119", "120", "110", "122", "+86 21 5000 0119"):
        assert Contact(name=Text(zh="火警"), phone=number).phone == number
    for bad in ("118", "12", "119a"):
        try:
            Contact(name=Text(zh="x"), phone=bad)
        except ValidationError as err:
            assert f"{bad!r} is not a phone number" in str(err)
        else:
            raise AssertionError(f"{bad} accepted")
