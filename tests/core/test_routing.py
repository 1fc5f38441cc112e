"""Routing: nearest resources by network distance, evacuation around the hazard zone.

Small graphs are laid out in metres east/north of a point near the demo plant, so each case reads
like a sketch. Random cases are checked against plain networkx solving the same question one
building at a time (an independent reference: no reverse search, no arrays).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from itertools import pairwise
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commandcenter.core.geodesy import distance_m
from commandcenter.core.hazard import HazardZone
from commandcenter.core.routing import INSIDE_WEIGHT, VEHICLE_KINDS, SiteRouter
from commandcenter.core.site import Resource, Site, Text
from commandcenter.core.siteio import load_site
from commandcenter.errors import RoutingError

REPO = Path(__file__).resolve().parents[2]
LAT0, LON0 = 30.70, 121.30
_FRAME = HazardZone(LAT0, LON0, 1.0)


def pos(x: float, y: float) -> tuple[float, float]:
    """``(lat, lon)`` of the point ``x`` m east and ``y`` m north of the origin."""
    return _FRAME.from_local(x, y)


def net(nodes: Mapping[str, tuple[float, float]],
        edges: list[tuple[str, str, str] | tuple[str, str, str, float]]) -> nx.Graph:
    """A network from node positions (metres) and edges ``(u, v, kind[, length_m])``."""
    g = nx.Graph()
    for n, (x, y) in nodes.items():
        lat, lon = pos(x, y)
        g.add_node(n, lat=lat, lon=lon)
    for e in edges:
        u, v, kind = e[0], e[1], e[2]
        a, b = g.nodes[u], g.nodes[v]
        length = e[3] if len(e) == 4 else distance_m((a["lat"], a["lon"]), (b["lat"], b["lon"]))
        g.add_edge(u, v, length_m=length, kind=kind, id=f"{u}-{v}")
    return g


def res(rid: str, kind: str, x: float, y: float) -> Resource:
    return Resource(id=rid, kind=kind, name=Text(zh=rid), location=pos(x, y),
                    capacity=200 if kind in ("assembly_point", "emergency_shelter") else None)


def zone_at(x: float, y: float, radius: float, **kw: Any) -> HazardZone:
    lat, lon = pos(x, y)
    return HazardZone(lat, lon, radius, **kw)


# --------------------------------------------------------------------------- nearest resources


def test_nearest_is_by_network_not_straight_line() -> None:
    # A is 60 m north of the incident across a channel; the only bridge is 400 m east.
    # B is 200 m west along a road. Crow-flight says A, the network says B.
    g = net({"O": (0, 0), "E1": (400, 0), "E2": (400, 60), "NA": (0, 60), "NB": (-200, 0)},
            [("O", "E1", "road"), ("E1", "E2", "road"), ("E2", "NA", "road"),
             ("O", "NB", "road")])
    r = SiteRouter(g, buildings={"U-1": "O"},
                   resources=[res("A", "scba_cabinet", 0, 60), res("B", "scba_cabinet", -200, 0)])
    hits = r.nearest_resources("U-1", k=2)["scba_cabinet"]
    assert [h.resource for h in hits] == ["B", "A"]
    a, b = hits[1], hits[0]
    assert a.straight_m == pytest.approx(60, abs=0.5) and b.straight_m == pytest.approx(200, abs=1)
    assert a.distance_m == pytest.approx(860, abs=1) and b.distance_m == pytest.approx(200, abs=1)
    assert b.time_s == pytest.approx(b.distance_m / 1.2)
    assert not b.by_vehicle and b.walk_m == b.distance_m
    assert b.coords[0] == pytest.approx(pos(-200, 0)) and b.coords[-1] == pytest.approx(pos(0, 0))
    # k limits the count; the other kinds the router knows are present even when asked for none
    assert len(r.nearest_resources("U-1", k=1)["scba_cabinet"]) == 1


def test_vehicles_drive_on_roads_only_people_take_walkways() -> None:
    # The incident O and the fire station T: 100 m by walkway, 300 m by road.
    g = net({"O": (0, 0), "T": (100, 0), "R1": (0, 100), "R2": (100, 100)},
            [("O", "T", "walkway"), ("O", "R1", "road"), ("R1", "R2", "road"),
             ("R2", "T", "road")])
    r = SiteRouter(g, buildings={"U-1": "O"}, resources=[
        res("FT-1", "fire_truck", 100, 0), res("FA-1", "first_aid", 100, 0)],
        vehicle_speed_mps=10.0)
    near = r.nearest_resources("U-1")
    truck, kit = near["fire_truck"][0], near["first_aid"][0]
    assert kit.distance_m == pytest.approx(100, abs=0.5) and not kit.by_vehicle
    assert truck.by_vehicle and truck.distance_m == pytest.approx(300, abs=1)
    assert truck.walk_m == 0 and truck.time_s == pytest.approx(truck.distance_m / 10.0)
    assert len(truck.coords) == 6  # truck, T, R2, R1, O, incident point
    assert "fire_truck" in VEHICLE_KINDS


def test_vehicle_crew_walks_from_the_nearest_road() -> None:
    # The incident is on a walkway-only node W, 50 m from the road at R.
    g = net({"W": (0, 0), "R": (50, 0), "T": (550, 0), "X": (0, -80)},
            [("W", "R", "walkway"), ("R", "T", "road"), ("W", "X", "walkway")])
    r = SiteRouter(g, buildings={"U-1": "W"}, resources=[res("FT-1", "fire_truck", 550, 0)],
                   vehicle_speed_mps=10.0, walking_speed_mps=1.0)
    (truck,) = r.nearest_resources("U-1")["fire_truck"]
    assert truck.walk_m == pytest.approx(50, abs=0.5)
    assert truck.distance_m == pytest.approx(550, abs=1)
    assert truck.time_s == pytest.approx(500 / 10.0 + 50 / 1.0, abs=0.5)
    assert truck.coords[-2] == pytest.approx(pos(0, 0))


def test_resources_in_the_zone_are_marked() -> None:
    g = net({"O": (0, 0), "A": (30, 0), "B": (300, 0)}, [("O", "A", "road"), ("A", "B", "road")])
    r = SiteRouter(g, buildings={}, resources=[res("H-1", "fire_hydrant", 30, 0),
                                               res("H-2", "fire_hydrant", 300, 0)])
    z = zone_at(0, 0, 100)
    hits = r.nearest_resources(pos(0, 0), zone=z)["fire_hydrant"]
    assert [(h.resource, h.in_zone) for h in hits] == [("H-1", True), ("H-2", False)]
    assert r.nearest_resources(pos(0, 0))["fire_hydrant"][0].in_zone is None


def test_resource_far_from_the_network_is_not_placed() -> None:
    g = net({"O": (0, 0), "A": (100, 0)}, [("O", "A", "walkway")])
    r = SiteRouter(g, buildings={}, resources=[res("FT-1", "fire_truck", 0, 0),
                                               res("H-9", "fire_hydrant", 3000, 0)])
    assert "500 m from any road node" in r.unplaced["FT-1"]
    assert "500 m from any network node" in r.unplaced["H-9"]
    near = r.nearest_resources(pos(0, 0))
    assert near["fire_truck"] == () and near["fire_hydrant"] == ()


# --------------------------------------------------------------------------- evacuation


def _corridor() -> nx.Graph:
    """B ── X ── C ── AP1 (east)  and  B ── W ── AP2 (west, longer)."""
    return net({"B": (0, 0), "X": (100, 0), "C": (200, 0), "A1": (300, 0),
                "W": (-300, 0), "A2": (-600, 0)},
               [("B", "X", "road"), ("X", "C", "road"), ("C", "A1", "road"),
                ("B", "W", "walkway"), ("W", "A2", "walkway")])


def test_route_goes_around_the_zone_to_the_nearest_safe_point() -> None:
    r = SiteRouter(_corridor(), buildings={"U-1": "B"},
                   resources=[res("AP-1", "assembly_point", 300, 0),
                              res("AP-2", "assembly_point", -600, 0)])
    assert r.evacuation_plan(zone_at(5000, 5000, 50)).routes["U-1"].assembly_point == "AP-1"
    # A release at X blocks the way east: west it is, and the way changes with the zone.
    plan = r.evacuation_plan(zone_at(100, 0, 40))
    route = plan.routes["U-1"]
    assert route.assembly_point == "AP-2" and route.node_ids == ("B", "W", "A2")
    assert route.edge_ids == ("B-W", "W-A2")
    assert route.length_m == pytest.approx(600, abs=1) and route.inside_m == 0
    assert route.walk_s == pytest.approx(route.length_m / 1.2)
    assert route.coords[0] == pytest.approx(pos(0, 0)) and route.coords[-1] == pytest.approx(
        pos(-600, 0))
    assert set(plan.zone_edges) == {"B-X", "X-C"} and plan.zone_nodes == ("X",)
    assert plan.stranded == ()


def test_edge_crossing_the_zone_without_a_node_inside_is_avoided() -> None:
    # The zone sits on the middle of the long edge B–C; neither end is inside.
    r = SiteRouter(_corridor(), buildings={"U-1": "X"},
                   resources=[res("AP-1", "assembly_point", 300, 0),
                              res("AP-2", "assembly_point", -600, 0)])
    plan = r.evacuation_plan(zone_at(150, 20, 30))
    assert plan.zone_nodes == () and plan.zone_edges == ("X-C",)
    assert plan.routes["U-1"].assembly_point == "AP-2"


def test_curved_edge_geometry_counts() -> None:
    # The straight line B–A1 misses the zone, the drawn road bends through it.
    g = net({"B": (0, 0), "A1": (300, 0), "W": (-100, 0), "A2": (-700, 0)},
            [("B", "A1", "road"), ("B", "W", "road"), ("W", "A2", "road")])
    bend = [pos(0, 0), pos(150, 100), pos(300, 0)]
    r = SiteRouter(g, buildings={"U-1": "B"}, edge_paths={"B-A1": bend},
                   resources=[res("AP-1", "assembly_point", 300, 0),
                              res("AP-2", "assembly_point", -700, 0)])
    z = zone_at(150, 100, 20)
    assert r.evacuation_plan(z).routes["U-1"].assembly_point == "AP-2"
    straight = SiteRouter(g, buildings={"U-1": "B"},
                          resources=[res("AP-1", "assembly_point", 300, 0),
                                     res("AP-2", "assembly_point", -700, 0)])
    assert straight.evacuation_plan(z).routes["U-1"].assembly_point == "AP-1"


def test_ways_follow_the_bends_of_every_edge_in_walking_order() -> None:
    # B ── M ── A: the edge B–M is drawn from B, M–A from A (against the graph's order); each
    # has two bends. Routes and resource ways follow them, in walking order either way.
    g = net({"B": (0, 0), "M": (200, 0), "A": (400, 0)},
            [("B", "M", "walkway"), ("M", "A", "walkway")])
    paths = {"B-M": [pos(0, 0), pos(50, 40), pos(150, 40), pos(200, 0)],
             "M-A": [pos(400, 0), pos(350, -30), pos(250, -30), pos(200, 0)]}
    r = SiteRouter(g, buildings={"U-1": "B"}, edge_paths=paths,
                   resources=[res("AP-1", "assembly_point", 400, 5),
                              res("FA-1", "first_aid", 400, -5)])
    east = [pos(0, 0), pos(50, 40), pos(150, 40), pos(200, 0), pos(250, -30), pos(350, -30),
            pos(400, 0)]
    route = r.evacuation_plan(zone_at(5000, 5000, 10)).routes["U-1"]
    assert route.node_ids == ("B", "M", "A") and route.hops == 2
    assert list(route.coords) == pytest.approx([*east, pos(400, 5)], abs=1e-9)
    # The first-aid kit comes from A to the building at B: the same bends, reversed.
    (kit,) = r.nearest_resources("U-1", kinds=["first_aid"], k=1)["first_aid"]
    assert list(kit.coords) == pytest.approx([pos(400, -5), *reversed(east), pos(0, 0)],
                                             abs=1e-9)
    # Without geometry a way is its nodes only.
    plain = SiteRouter(g, buildings={"U-1": "B"},
                       resources=[res("AP-1", "assembly_point", 400, 5)])
    assert len(plain.evacuation_plan(zone_at(5000, 5000, 10)).routes["U-1"].coords) == 4


def test_a_hazard_source_off_the_site_is_refused_whatever_the_origin() -> None:
    r = SiteRouter(_corridor(), buildings={"U-1": "B"},
                   resources=[res("AP-1", "assembly_point", 300, 0)])
    far = zone_at(0, 900_000, 150)
    for origin in (None, "U-1", pos(100, 0)):
        with pytest.raises(RoutingError, match=r"^the hazard source \(38\.\d{6}, 121\.\d{6}\) "
                                               r"is 9\d{5} m from the nearest network node \(the "
                                               r"limit is 500 m\): it is not on this site's "
                                               r"network"):
            r.answer(far, origin=origin)
    assert r.answer(zone_at(100, 0, 40), origin="U-1").origin.building == "U-1"


def test_building_cut_off_by_the_zone_is_stranded_never_routed_through() -> None:
    g = net({"B": (0, 0), "X": (100, 0), "A": (200, 0)}, [("B", "X", "road"), ("X", "A", "road")])
    r = SiteRouter(g, buildings={"U-1": "B"}, occupancy={"U-1": 25},
                   resources=[res("AP-1", "assembly_point", 200, 0)])
    plan = r.evacuation_plan(zone_at(100, 0, 20))
    assert "U-1" not in plan.routes
    (s,) = plan.stranded
    assert s.building == "U-1" and s.occupancy == 25 and not s.starts_inside
    assert s.reason == "every way to a usable assembly point crosses the hazard zone"


def test_isolated_building_is_reported_with_no_route() -> None:
    g = net({"B": (0, 0), "A": (200, 0), "I": (0, 300), "J": (50, 300)},
            [("B", "A", "road"), ("I", "J", "walkway")])
    r = SiteRouter(g, buildings={"U-1": "B", "U-ISO": "I", "U-GONE": "NOWHERE"},
                   resources=[res("AP-1", "assembly_point", 200, 0)])
    plan = r.evacuation_plan(zone_at(5000, 0, 10))
    assert set(plan.routes) == {"U-1"}
    reasons = {s.building: s.reason for s in plan.stranded}
    assert reasons == {
        "U-ISO": "no path at all: the network does not connect it to an assembly point",
        "U-GONE": "its entrance node 'NOWHERE' is not on the network"}


def test_assembly_point_in_the_zone_is_never_chosen() -> None:
    r = SiteRouter(_corridor(), buildings={"U-1": "W"},
                   resources=[res("AP-1", "assembly_point", 300, 0),
                              res("AP-2", "assembly_point", -600, 0)])
    assert r.evacuation_plan(zone_at(5000, 0, 10)).routes["U-1"].assembly_point == "AP-2"
    plan = r.evacuation_plan(zone_at(-620, 0, 60))
    assert plan.assembly_points_in_zone == ("AP-2",)
    assert plan.routes["U-1"].assembly_point == "AP-1"
    # No usable assembly point at all: stranded, with the reason.
    both = r.evacuation_plan(zone_at(-150, 0, 500))
    assert set(both.assembly_points_in_zone) == {"AP-1", "AP-2"} and both.routes == {}
    assert {s.reason for s in both.stranded} == {"every assembly point is in the hazard zone"}


def test_assembly_point_whose_last_steps_cross_the_zone_is_not_used() -> None:
    # AP-1 stands 60 m off its node; the zone covers that short walk, not the point or node.
    g = net({"B": (0, 0), "N1": (200, 0), "W": (-500, 0)}, [("B", "N1", "road"),
                                                           ("B", "W", "road")])
    r = SiteRouter(g, buildings={"U-1": "B"}, resources=[
        res("AP-1", "assembly_point", 200, 60), res("AP-2", "assembly_point", -500, 0)])
    plan = r.evacuation_plan(zone_at(200, 30, 12))
    assert plan.assembly_points_in_zone == ("AP-1",)
    assert plan.routes["U-1"].assembly_point == "AP-2"


def test_upwind_assembly_point_is_preferred() -> None:
    # The release is 400 m north of the building. AP-S is 200 m south (straight downwind in a
    # north wind); AP-E stands level with the release, 400 m east of it (crosswind), 566 m away.
    g = net({"B": (0, 0), "S": (0, -200), "E": (400, 400), "R": (0, 400)},
            [("B", "S", "road"), ("B", "E", "road"), ("B", "R", "road")])
    aps = [res("AP-S", "assembly_point", 0, -200), res("AP-E", "assembly_point", 400, 400)]
    r = SiteRouter(g, buildings={"U-1": "B"}, resources=aps, downwind_penalty_m=500)
    calm = r.evacuation_plan(zone_at(0, 400, 30))
    assert calm.routes["U-1"].assembly_point == "AP-S"
    north_wind = zone_at(0, 400, 30, wind_from_deg=0, sector_length_m=100,
                         sector_half_angle_deg=20)
    route = r.evacuation_plan(north_wind).routes["U-1"]
    assert route.assembly_point == "AP-E" and not route.upwind  # crosswind
    assert route.length_m == pytest.approx(566, abs=1)
    # A south wind puts AP-S upwind.
    south_wind = zone_at(0, 400, 30, wind_from_deg=180, sector_length_m=100,
                         sector_half_angle_deg=20)
    route = r.evacuation_plan(south_wind).routes["U-1"]
    assert route.assembly_point == "AP-S" and route.upwind
    # A preference, not a ban: a downwind point nearer by more than the penalty still wins.
    near = SiteRouter(g, buildings={"U-1": "B"}, resources=aps, downwind_penalty_m=300)
    assert near.evacuation_plan(north_wind).routes["U-1"].assembly_point == "AP-S"


def test_building_inside_the_zone_leaves_by_the_shortest_way_out() -> None:
    # Entrance at the source. West: 120 m to the border node W, then 1000 m to AP-W.
    # East: 150 m to E, then 100 m to AP-E. The shortest way out is west.
    g = net({"C": (0, 0), "W": (-120, 0), "AW": (-1120, 0), "E": (150, 0), "AE": (250, 0)},
            [("C", "W", "walkway"), ("W", "AW", "walkway"), ("C", "E", "walkway"),
             ("E", "AE", "walkway")])
    r = SiteRouter(g, buildings={"U-1": "C"}, resources=[
        res("AP-W", "assembly_point", -1120, 0), res("AP-E", "assembly_point", 250, 0)])
    route = r.evacuation_plan(zone_at(0, 0, 100)).routes["U-1"]
    assert route.starts_inside and route.assembly_point == "AP-W"
    assert route.node_ids == ("C", "W", "AW")
    assert route.inside_m == pytest.approx(120, abs=0.5)
    assert route.length_m == pytest.approx(1120, abs=1)


def test_route_from_inside_does_not_re_enter_the_zone() -> None:
    # From C the way out east reaches E outside, but from there only F (inside again) leads on.
    g = net({"C": (0, 0), "E": (110, 0), "F": (60, 60), "A": (0, 300), "N": (0, -150),
             "AN": (0, -400)},
            [("C", "E", "walkway"), ("E", "F", "walkway"), ("F", "A", "walkway"),
             ("C", "N", "walkway"), ("N", "AN", "walkway")])
    r = SiteRouter(g, buildings={"U-1": "C"}, resources=[
        res("AP-A", "assembly_point", 0, 300), res("AP-N", "assembly_point", 0, -400)])
    route = r.evacuation_plan(zone_at(0, 0, 100)).routes["U-1"]
    assert route.node_ids == ("C", "N", "AN")


def test_inside_building_with_no_way_out_is_stranded() -> None:
    g = net({"C": (0, 0), "D": (30, 0), "A": (500, 500)}, [("C", "D", "walkway")])
    r = SiteRouter(g, buildings={"U-1": "C"}, resources=[res("AP-1", "assembly_point",
                                                            500, 500)])
    (s,) = r.evacuation_plan(zone_at(0, 0, 100)).stranded
    assert s.starts_inside
    assert s.reason == "no path at all: the network does not connect it to an assembly point"
    g.add_edge("D", "A", length_m=700, kind="walkway", id="D-A")
    g.add_edge("A", "X", length_m=5, kind="walkway", id="A-X")
    g.nodes["X"].update(lat=pos(505, 500)[0], lon=pos(505, 500)[1])
    r = SiteRouter(g, buildings={"U-1": "C"}, resources=[res("AP-1", "assembly_point",
                                                            500, 500)])
    (s,) = r.evacuation_plan(zone_at(450, 450, 100)).stranded
    assert not s.starts_inside
    (s,) = r.evacuation_plan(zone_at(0, 0, 2000)).stranded
    assert s.reason == "every assembly point is in the hazard zone"


# --------------------------------------------------------------------------- errors


def test_unknown_building_is_a_clear_error() -> None:
    r = SiteRouter(_corridor(), buildings={"U-1": "B", "U-2": "W"})
    with pytest.raises(RoutingError, match=r"^unknown building 'U-9' \(known: U-1, U-2\)$"):
        r.nearest_resources("U-9")
    with pytest.raises(RoutingError, match="unknown building 'U-9'"):
        r.answer(zone_at(0, 0, 50), origin="U-9")


def test_building_whose_entrance_is_off_the_network_is_a_clear_error() -> None:
    r = SiteRouter(_corridor(), buildings={"U-1": "GONE"})
    with pytest.raises(RoutingError,
                       match=r"^building 'U-1': its entrance node 'GONE' is not on the network$"):
        r.origin("U-1")


def test_point_off_the_network_is_refused() -> None:
    r = SiteRouter(_corridor(), buildings={})
    with pytest.raises(RoutingError, match=r"is 2\d{3} m from the nearest network node \(the "
                                           r"limit is 500 m\): it is not on this site's network"):
        r.nearest_resources(pos(300, 2500))
    # Swapped coordinates are far away too.
    with pytest.raises(RoutingError, match=r"check the coordinates and their order \[lat, lon\]"):
        r.nearest_resources((LAT0 + 1, LON0))
    with pytest.raises(RoutingError, match=r"^\(nan, 121.3\) is not a valid \[lat, lon\]"):
        r.nearest_resources((float("nan"), LON0))
    with pytest.raises(RoutingError, match=r"^\(121.3, 30.7\) is not a valid \[lat, lon\]"):
        r.nearest_resources((121.3, 30.7))
    # A point near the network snaps to the nearest node.
    o = r.origin(pos(100, 30))
    assert o.node == "X" and o.offset_m == pytest.approx(30, abs=0.1)
    with pytest.raises(RoutingError, match="is not a building id or a"):
        r.origin((1.0,))  # type: ignore[arg-type]


def test_bad_questions_and_graphs_are_clear_errors() -> None:
    r = SiteRouter(_corridor(), buildings={"U-1": "B"})
    with pytest.raises(RoutingError, match=r"^unknown resource kind 'tank'"):
        r.nearest_resources("U-1", kinds=["tank"])
    with pytest.raises(RoutingError, match=r"^k must be at least 1, not 0$"):
        r.nearest_resources("U-1", k=0)
    with pytest.raises(RoutingError, match=r"^the site network has no nodes"):
        SiteRouter(nx.Graph(), buildings={})
    g = nx.Graph()
    g.add_node("A", lat=30.7)
    with pytest.raises(RoutingError, match=r"^network node 'A' has no usable lat/lon$"):
        SiteRouter(g, buildings={})
    g = net({"A": (0, 0), "B": (10, 0)}, [])
    g.add_edge("A", "B", length_m=10)
    with pytest.raises(RoutingError, match=r"^network edge 'A'–'B' lacks length_m or kind$"):
        SiteRouter(g, buildings={})
    g["A"]["B"]["kind"] = "rail"
    with pytest.raises(RoutingError, match=r"^network edge 'A'–'B' has unknown kind 'rail'$"):
        SiteRouter(g, buildings={})


# --------------------------------------------------------------------------- the reference


def reference(graph: nx.Graph, zone: HazardZone, buildings: Mapping[str, str],
              resources: list[Resource], paths: Mapping[str, list[tuple[float, float]]],
              penalty_m: float) -> dict[str, tuple[float, float] | None]:
    """Plain networkx, one building at a time: building -> (cost, length) or None."""
    loc = {n: (d["lat"], d["lon"]) for n, d in graph.nodes(data=True)}
    node_in = {n: zone.contains(*p) for n, p in loc.items()}
    blocked = set()
    for u, v, d in graph.edges(data=True):
        geom = [loc[u], *paths.get(d["id"], []), loc[v]]
        if paths.get(d["id"]) and distance_m(geom[1], loc[u]) > distance_m(geom[1], loc[v]):
            geom = [loc[v], *paths[d["id"]], loc[u]]
        if node_in[u] or node_in[v] or any(zone.touches_segment(a, b)
                                          for a, b in pairwise(geom)):
            blocked.add(frozenset((u, v)))

    def weight(u: str, v: str, d: dict[str, Any]) -> float | None:
        if frozenset((u, v)) in blocked:
            return d["length_m"] * INSIDE_WEIGHT if node_in[u] else None
        return float(d["length_m"])

    aps = []
    for ap in resources:
        if ap.kind != "assembly_point":
            continue
        node = min(loc, key=lambda n: distance_m(loc[n], ap.location))
        access = distance_m(loc[node], ap.location)
        if node_in[node] or zone.touches_segment(ap.location, loc[node]):
            continue
        aps.append((node, access + penalty_m * zone.downwind_factor(ap.location), access))
    out: dict[str, tuple[float, float] | None] = {}
    for b, entrance in buildings.items():
        dist, way = nx.single_source_dijkstra(graph, entrance, weight=weight)
        options = [(dist[n] + extra, n, access) for n, extra, access in aps if n in dist]
        if not options:
            out[b] = None
            continue
        cost, node, access = min(options)
        length = sum(graph[a][c]["length_m"] for a, c in pairwise(way[node]))
        out[b] = (cost, length + access)
    return out


def reference_nearest(graph: nx.Graph, origin: str, resources: list[Resource],
                      kind: str) -> list[float]:
    loc = {n: (d["lat"], d["lon"]) for n, d in graph.nodes(data=True)}
    road = {n for u, v, d in graph.edges(data=True) if d["kind"] == "road" for n in (u, v)}
    walk = nx.single_source_dijkstra_path_length(graph, origin, weight="length_m")
    out = []
    if kind in VEHICLE_KINDS:
        reachable = [(walk[n], n) for n in road if n in walk]
        if not reachable:  # no road within walking reach: no vehicle comes
            return []
        stop = min(reachable)[1]
        drive = nx.single_source_dijkstra_path_length(
            graph, stop, weight=lambda u, v, d: d["length_m"] if d["kind"] == "road" else None)
        for r in resources:
            if r.kind == kind:
                node = min(road, key=lambda n: distance_m(loc[n], r.location))
                if node in drive:
                    out.append(drive[node] + distance_m(loc[node], r.location) + walk[stop])
    else:
        for r in resources:
            if r.kind == kind:
                node = min(loc, key=lambda n: distance_m(loc[n], r.location))
                if node in walk:
                    out.append(walk[node] + distance_m(loc[node], r.location))
    return sorted(out)


def random_site(seed: int, size: int = 12
                ) -> tuple[nx.Graph, dict[str, str], list[Resource], dict[str, Any]]:
    """A jittered grid with gaps, bent edges, roads every third line, resources near nodes."""
    rng = random.Random(seed)
    coords: dict[str, tuple[float, float]] = {}
    for i in range(size):
        for j in range(size):
            coords[f"N{i}-{j}"] = (j * 40 + rng.uniform(-8, 8), i * 40 + rng.uniform(-8, 8))
    edges: list[tuple[str, str, str] | tuple[str, str, str, float]] = []
    bends: dict[str, list[tuple[float, float]]] = {}
    for i in range(size):
        for j in range(size):
            for a, b in ((i + 1, j), (i, j + 1)):
                if a < size and b < size and rng.random() > 0.15:
                    u, v = f"N{i}-{j}", f"N{a}-{b}"
                    kind = "road" if i % 3 == 0 or (j % 3 == 0 and b == j) else "walkway"
                    (x1, y1), (x2, y2) = coords[u], coords[v]
                    straight = math.hypot(x2 - x1, y2 - y1)
                    edges.append((u, v, kind, straight * rng.uniform(1.05, 1.3)))
                    if rng.random() < 0.3:
                        mid = ((x1 + x2) / 2 + rng.uniform(-12, 12),
                               (y1 + y2) / 2 + rng.uniform(-12, 12))
                        bends[f"{u}-{v}"] = [pos(*mid)]
    g = net(coords, edges)
    names = list(coords)
    resources = []
    kinds = ["assembly_point"] * 6 + ["fire_truck"] * 3 + ["fire_hydrant"] * 5 + ["first_aid"] * 2
    for n, kind in enumerate(kinds):
        x, y = coords[rng.choice(names)]
        resources.append(res(f"{kind}-{n}", kind, x + rng.uniform(-3, 3), y + rng.uniform(-3, 3)))
    buildings = {f"B{n}": rng.choice(names) for n in range(15)}
    return g, buildings, resources, bends


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), cx=st.floats(0, 440), cy=st.floats(0, 440),
       radius=st.floats(20, 180), wind=st.one_of(st.none(), st.floats(0, 360)),
       length=st.floats(0, 500), half=st.floats(0, 60))
def test_answer_equals_plain_networkx(seed: int, cx: float, cy: float, radius: float,
                                     wind: float | None, length: float, half: float) -> None:
    g, buildings, resources, bends = random_site(seed)
    r = SiteRouter(g, buildings=buildings, resources=resources, edge_paths=bends)
    z = zone_at(cx, cy, radius, wind_from_deg=wind, sector_length_m=length,
                sector_half_angle_deg=half)
    plan = r.evacuation_plan(z)
    ref = reference(g, z, buildings, resources, bends, r.downwind_penalty_m)
    assert {b for b, v in ref.items() if v is None} == {s.building for s in plan.stranded}
    for b, v in ref.items():
        if v is not None:
            assert plan.routes[b].length_m == pytest.approx(v[1], rel=1e-9, abs=1e-6), b
    origin = next(iter(buildings.values()))
    ours = r.nearest_resources(next(iter(buildings)), k=10)
    for kind in ("fire_truck", "fire_hydrant", "first_aid", "assembly_point"):
        want = reference_nearest(g, origin, resources, kind)
        got = [h.distance_m for h in ours.get(kind, ())]
        assert got == pytest.approx(want, abs=1e-6), kind


# --------------------------------------------------------------------------- the demo site


@pytest.fixture(scope="module")
def demo() -> tuple[Site, SiteRouter]:
    site = load_site(REPO)
    assert len(site.nodes) >= 1000 and len(site.buildings) >= 40, "the demo site did not load"
    return site, SiteRouter.from_site(site)


def _check_route_keeps_out(site: Site, zone: HazardZone, route: Any) -> None:
    """Independent check: sample every edge's drawn geometry against ``zone.contains``."""
    left = not route.starts_inside
    for node_id, edge_id in zip(route.node_ids, route.edge_ids, strict=False):
        inside = zone.contains(*site.nodes[node_id].location)
        if not inside:
            left = True
        elif left:
            raise AssertionError(f"{route.building}: re-enters the zone at {node_id}")
        if left:
            path = site.edges[edge_id].path
            for (lon1, lat1), (lon2, lat2) in pairwise(path):
                for t in (i / 20 for i in range(21)):
                    p = (lat1 + (lat2 - lat1) * t, lon1 + (lon2 - lon1) * t)
                    assert not zone.contains(*p), f"{route.building}: {edge_id} is in the zone"
    assert not zone.contains(*route.coords[-1]), f"{route.building}: assembly point in zone"


@settings(max_examples=60, deadline=None)
@given(fx=st.floats(0, 1), fy=st.floats(0, 1), plan_i=st.integers(0, 50),
       wind=st.one_of(st.none(), st.floats(0, 360)), speed=st.floats(0, 10))
def test_demo_routes_never_use_an_edge_in_the_zone(demo: tuple[Site, SiteRouter], fx: float,
                                                   fy: float, plan_i: int, wind: float | None,
                                                   speed: float) -> None:
    site, r = demo
    bounds = site.bounds()
    assert bounds is not None
    (s, w), (n, e) = bounds
    plans = sorted(site.plans.values(), key=lambda p: p.id)
    spec = plans[plan_i % len(plans)].hazard_zone
    z = HazardZone.from_plan(spec, (s + (n - s) * fy, w + (e - w) * fx), wind_from_deg=wind,
                             wind_speed_mps=speed)
    plan = r.evacuation_plan(z)
    assert len(plan.routes) + len(plan.stranded) == len(site.buildings)
    for route in plan.routes.values():
        _check_route_keeps_out(site, z, route)
        assert route.assembly_point not in plan.assembly_points_in_zone
        assert route.node_ids[0] == site.buildings[route.building].entrance_node
    for ap in plan.assembly_points_in_zone:
        assert site.resources[ap].kind == "assembly_point"


def test_demo_answer_matches_plain_networkx(demo: tuple[Site, SiteRouter]) -> None:
    site, r = demo
    g = site.network()
    bends = {e.id: [(lat, lon) for lon, lat in e.path[1:-1]] for e in site.edges.values()}
    buildings = {b.id: b.entrance_node for b in site.buildings.values()}
    resources = list(site.resources.values())
    for i, b in enumerate(sorted(site.buildings.values(), key=lambda b: b.id)[::7]):
        spec = sorted(site.plans.values(), key=lambda p: p.id)[i % len(site.plans)].hazard_zone
        centre = site.nodes[b.entrance_node].location
        z = HazardZone.from_plan(spec, centre, wind_from_deg=i * 53.0, wind_speed_mps=3)
        answer = r.answer(z, origin=b.id)
        plan = answer.evacuation
        ref = reference(g, z, buildings, resources, bends, r.downwind_penalty_m)
        assert {x for x, v in ref.items() if v is None} == {s.building for s in plan.stranded}
        for x, v in ref.items():
            if v is not None:
                assert plan.routes[x].length_m == pytest.approx(v[1], rel=1e-9, abs=1e-6)
        for kind in ("fire_truck", "scba_cabinet", "fire_hydrant"):
            want = reference_nearest(g, b.entrance_node, resources, kind)[:3]
            assert [h.distance_m for h in answer.nearest[kind]] == pytest.approx(want, abs=1e-6)


def test_demo_answer_is_json_ready(demo: tuple[Site, SiteRouter]) -> None:
    import json

    site, r = demo
    some = sorted(site.buildings)[0]
    spec = min(site.plans.values(), key=lambda p: p.hazard_zone.isolation_m).hazard_zone
    o = r.origin(some)
    z = HazardZone.from_plan(spec, (o.lat, o.lon), wind_from_deg=90, wind_speed_mps=2)
    data = json.loads(json.dumps(r.answer(z, origin=some).to_dict()))
    assert data["origin"]["building"] == some
    assert data["zone"]["outline"][0] == data["zone"]["outline"][-1]
    assert len(data["evacuation"]["routes"]) + len(data["evacuation"]["stranded"]) == \
        len(site.buildings)
    assert all(len(v) <= 3 for v in data["nearest"].values())
