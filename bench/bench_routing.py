"""The full routing answer for a release: ``SiteRouter.answer`` against bare networkx.

The question, on the demo site and on a generated 100,000-node network: which network edges are
in the hazard zone (isolation circle + downwind sector), the 3 nearest resources of every kind by
network distance from the source (vehicles on roads only), and a route from every building to the
nearest usable assembly point that keeps out of the zone (same rules as
``commandcenter.core.routing``).

(a) ours: ``SiteRouter.answer(zone)`` — numpy zone test, scipy Dijkstra on CSR arrays.
(b) baseline, same graph, same run: bare networkx solving the same question the natural way —
    a Python loop over edges for the zone, ``nx.dijkstra_predecessor_and_distance`` with a weight
    function that hides zone edges (one multi-source search from a virtual node joined to the
    assembly points, so it gets the same one-search trick), two searches for nearest resources,
    then a walk up the predecessors for every building and every hit.

The two answers are compared (every building's assembly-point cost and route length, every hit's
distance); the bench stops if they differ. Nothing about time is asserted.

Run: ``.venv/bin/python bench/bench_routing.py [--nodes 100000] [--buildings 1000] [--repeat 7]``.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from commandcenter.core.geodesy import EARTH_RADIUS_M
from commandcenter.core.hazard import HazardZone
from commandcenter.core.routing import INSIDE_WEIGHT, VEHICLE_KINDS, IncidentAnswer, SiteRouter
from commandcenter.core.site import HazardZoneSpec, ResourceKind
from commandcenter.core.siteio import load_site

REPO = Path(__file__).resolve().parent.parent
TARGET_DEMO_MS = 5.0
TARGET_BIG_MS = 50.0
TARGET_SPEEDUP = 20.0


@dataclass(frozen=True)
class Place:
    """A resource of the generated network (the router takes anything with these fields)."""

    id: str
    kind: str
    location: tuple[float, float]


# --------------------------------------------------------------------------- generated network


def generated_site(nodes: int, buildings: int, seed: int = 7
                   ) -> tuple[nx.Graph, dict[str, str], list[Place]]:
    """A jittered square grid with 8 % of links missing: roads every 5th line, walkways between.

    Spacing 25 m (so 100,000 nodes cover ~7.9 km x 7.9 km, a large chemical park); each edge is
    1.0–1.25 times its straight length (curves). Resources stand 0–10 m off a random node.
    """
    rng = np.random.default_rng(seed)
    side = round(math.sqrt(nodes))
    lat0, lon0 = 30.80, 121.40
    k = math.pi / 180 * EARTH_RADIUS_M
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    x = jj.ravel() * 25.0 + rng.uniform(-6, 6, side * side)
    y = ii.ravel() * 25.0 + rng.uniform(-6, 6, side * side)
    lat = lat0 + y / k
    lon = lon0 + x / (k * math.cos(math.radians(lat0)))
    idx = np.arange(side * side).reshape(side, side)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    row = np.concatenate([ii[:, :-1].ravel(), ii[:-1, :].ravel()])
    col = np.concatenate([jj[:, :-1].ravel(), jj[:-1, :].ravel()])
    horizontal = np.arange(u.size) < idx[:, :-1].size
    road = np.where(horizontal, row % 5 == 0, col % 5 == 0)
    keep = road | (rng.random(u.size) > 0.08)
    u, v, road = u[keep], v[keep], road[keep]
    length = np.hypot(x[u] - x[v], y[u] - y[v]) * rng.uniform(1.0, 1.25, u.size)
    names = [f"N{i}" for i in range(side * side)]
    g = nx.Graph()
    g.add_nodes_from((names[i], {"lat": float(lat[i]), "lon": float(lon[i])})
                     for i in range(side * side))
    g.add_edges_from((names[a], names[b], {"length_m": float(w), "kind": "road" if r else
                                           "walkway", "id": f"E{n}"})
                     for n, (a, b, w, r) in enumerate(zip(u.tolist(), v.tolist(),
                                                          length.tolist(), road.tolist(),
                                                          strict=True)))
    counts = {kind.value: 40 for kind in ResourceKind}
    counts.update({"assembly_point": 60, "fire_truck": 10, "ambulance": 4})
    places = []
    for kind, count in counts.items():
        at = rng.integers(0, side * side, count)
        off = rng.uniform(0, 10, (count, 2))
        for n, (a, (dx, dy)) in enumerate(zip(at.tolist(), off.tolist(), strict=True)):
            places.append(Place(f"{kind}-{n}", kind,
                                (float(lat[a] + dy / k),
                                 float(lon[a] + dx / (k * math.cos(math.radians(lat0)))))))
    entrances = rng.integers(0, side * side, buildings)
    return g, {f"B{n}": names[a] for n, a in enumerate(entrances.tolist())}, places


# --------------------------------------------------------------------------- the baseline


def _inside(zone: HazardZone, lat: float, lon: float) -> bool:
    k = math.pi / 180 * EARTH_RADIUS_M
    x = (lon - zone.lon) * k * math.cos(math.radians(zone.lat))
    y = (lat - zone.lat) * k
    return _inside_xy(zone, x, y)


def _inside_xy(zone: HazardZone, x: float, y: float) -> bool:
    d2 = x * x + y * y
    if d2 <= zone.radius_m ** 2:
        return True
    if not zone.has_sector or d2 > zone.sector_length_m ** 2:
        return False
    assert zone.downwind_deg is not None
    b = math.degrees(math.atan2(x, y)) % 360
    return abs((b - zone.downwind_deg + 180) % 360 - 180) <= zone.sector_half_angle_deg


def _touches(zone: HazardZone, a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Pure-Python segment test, the same geometry as ``HazardZone.touches_segments``."""
    k = math.pi / 180 * EARTH_RADIUS_M
    c = k * math.cos(math.radians(zone.lat))
    x1, y1 = (a[1] - zone.lon) * c, (a[0] - zone.lat) * k
    x2, y2 = (b[1] - zone.lon) * c, (b[0] - zone.lat) * k
    dx, dy = x2 - x1, y2 - y1
    len2 = dx * dx + dy * dy
    t = min(1.0, max(0.0, -(x1 * dx + y1 * dy) / len2)) if len2 > 0 else 0.0
    cx, cy = x1 + t * dx, y1 + t * dy
    if cx * cx + cy * cy <= zone.radius_m ** 2:
        return True
    if not zone.has_sector:
        return False
    if _inside_xy(zone, x1, y1) or _inside_xy(zone, x2, y2) or _inside_xy(zone, cx, cy):
        return True
    assert zone.downwind_deg is not None
    for side in (-1, 1):
        ang = math.radians(zone.downwind_deg + side * zone.sector_half_angle_deg)
        ux, uy = math.sin(ang), math.cos(ang)
        den = dx * uy - dy * ux
        if den != 0:
            s = -(x1 * uy - y1 * ux) / den
            r = (y1 * dx - x1 * dy) / den
            if 0 <= s <= 1 and 0 <= r <= zone.sector_length_m:
                return True
    return False


def networkx_answer(g: nx.Graph, buildings: dict[str, str], places: list[Any],
                    zone: HazardZone, geometry: dict[str, list[tuple[float, float]]], *,
                    snapped: list[tuple[str | None, float]], origin: tuple[str, float],
                    penalty_m: float, k: int = 3) -> dict[str, Any]:
    """The same question answered with networkx and plain Python.

    ``snapped`` is each resource's (node, metres to it) and ``origin`` the source's node, both
    taken from the router's KD-tree snapping outside the timed part (a brute-force scan per
    resource would swamp everything else), with the metres from the source to that node.
    """
    loc = {n: (d["lat"], d["lon"]) for n, d in g.nodes(data=True)}
    node_in = {n: _inside(zone, *p) for n, p in loc.items()}
    blocked = set()
    for u, v, d in g.edges(data=True):
        pts = geometry.get(d["id"]) or [loc[u], loc[v]]
        if node_in[u] or node_in[v] or any(_touches(zone, a, b) for a, b in pairwise(pts)):
            blocked.add(d["id"])
    # Evacuation: one reverse multi-source search from a virtual node joined to the usable
    # assembly points by their penalties.
    src = "__assembly__"
    aps = [(p, node, access) for p, (node, access) in zip(places, snapped, strict=True)
           if p.kind == "assembly_point" and node is not None]
    costs: dict[str, tuple[float, str, float]] = {}
    for p, node, access in aps:
        if node_in[node] or _touches(zone, p.location, loc[node]):
            continue
        cost = access + penalty_m * zone.downwind_factor(p.location)
        if node not in costs or (cost, p.id) < costs[node][:2]:
            costs[node] = (cost, p.id, access)
    g.add_node(src)
    g.add_edges_from((src, node, {"length_m": c, "kind": "virtual", "id": "virtual"})
                     for node, (c, _, _) in costs.items())

    def evac_weight(v: str, u: str, d: dict[str, Any]) -> float | None:
        # Expanding v (nearer the assembly point) to u: people walk u -> v.
        if v == src:
            return float(d["length_m"])
        if u == src:
            return None
        if d["id"] in blocked:
            return d["length_m"] * INSIDE_WEIGHT if node_in[u] else None
        return float(d["length_m"])

    try:
        pred, dist = nx.dijkstra_predecessor_and_distance(g, src, weight=evac_weight)
    finally:
        g.remove_node(src)
    routes: dict[str, tuple[str, float, list[str]]] = {}
    stranded = []
    for b, entrance in buildings.items():
        if entrance not in dist:
            stranded.append(b)
            continue
        way = [entrance]
        length = 0.0
        while pred[way[-1]][0] != src:
            nxt = pred[way[-1]][0]
            length += g[way[-1]][nxt]["length_m"]
            way.append(nxt)
        _, ap_id, access = costs[way[-1]]
        routes[b] = (ap_id, length + access, way)
    # Nearest resources from the zone's centre (snapped to its nearest node).
    origin_node, offset = origin
    wpred, wdist = nx.dijkstra_predecessor_and_distance(g, origin_node, weight="length_m")
    road_nodes = {n for u, v, d in g.edges(data=True) if d["kind"] == "road" for n in (u, v)}
    stop = min((wdist[n], n) for n in road_nodes if n in wdist)[1]
    dpred, ddist = nx.dijkstra_predecessor_and_distance(
        g, stop, weight=lambda u, v, d: d["length_m"] if d["kind"] == "road" else None)
    nearest: dict[str, list[tuple[str, float]]] = {}
    for kind in sorted({p.kind for p in places}):
        hits = []
        for p, (at, access) in zip(places, snapped, strict=True):
            if p.kind != kind or at is None:
                continue
            if kind in VEHICLE_KINDS:
                if at in ddist:
                    hits.append((ddist[at] + access + wdist[stop] + offset, p.id, at, True))
            elif at in wdist:
                hits.append((wdist[at] + access + offset, p.id, at, False))
        hits.sort()
        out = []
        for d, pid, node, by_vehicle in hits[:k]:
            way = [node]
            tree = dpred if by_vehicle else wpred
            while tree[way[-1]]:
                way.append(tree[way[-1]][0])
            out.append((pid, d))
        nearest[kind] = out
    return {"routes": routes, "stranded": stranded, "nearest": nearest,
            "zone_edges": len(blocked)}


def snap_like_router(router: SiteRouter, places: list[Any]) -> list[tuple[str | None, float]]:
    """Each resource's (node, metres) exactly as the router snapped it (outside the timing)."""
    out: list[tuple[str | None, float]] = []
    for p in places:
        if p.id in router.unplaced:
            out.append((None, math.inf))
            continue
        node, access = router.resource_node(p.id)
        out.append((node, access))
    return out


# --------------------------------------------------------------------------- comparing


def compare(ours: IncidentAnswer, theirs: dict[str, Any]) -> int:
    """Return how many figures differ by more than a millimetre."""
    bad = 0
    plan = ours.evacuation
    if sorted(theirs["stranded"]) != sorted(s.building for s in plan.stranded):
        bad += 1
    for b, (_, length, _) in theirs["routes"].items():
        r = plan.routes.get(b)
        if r is None or abs(r.length_m - length) > 1e-3:
            bad += 1
    for kind, hits in theirs["nearest"].items():
        mine = [h.distance_m for h in ours.nearest.get(kind, ())]
        if len(mine) != len(hits) or any(abs(a - d) > 1e-3 for a, (_, d) in zip(mine, hits,
                                                                                 strict=False)):
            bad += 1
    if theirs["zone_edges"] != len(plan.zone_edges):
        bad += 1
    return bad


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return times, out


def run_case(name: str, router: SiteRouter, g: nx.Graph, buildings: dict[str, str],
             places: list[Any], zone: HazardZone, geometry: dict[str, list[tuple[float, float]]],
             repeat: int, base_repeat: int) -> dict[str, float]:
    snapped = snap_like_router(router, places)
    o = router.origin(zone.centre)
    origin = (o.node, o.offset_m)
    ours_t, ours = timed(lambda: router.answer(zone), repeat)
    base_t, base = timed(lambda: networkx_answer(
        g, buildings, places, zone, geometry, snapped=snapped, origin=origin,
        penalty_m=router.downwind_penalty_m), base_repeat)
    mismatches = compare(ours, base)
    if mismatches:
        raise RuntimeError(f"{name}: ours and networkx disagree on {mismatches} figure(s)")
    plan = ours.evacuation
    ours_ms = statistics.median(ours_t) * 1000
    base_ms = statistics.median(base_t) * 1000
    hops = sum(len(r.node_ids) for r in plan.routes.values())
    print(f"{name}: {router.node_count:,} nodes, {len(buildings):,} buildings, "
          f"{len(plan.zone_edges):,} edges in the zone, {len(plan.routes):,} routes "
          f"({hops:,} route nodes), {len(plan.stranded)} stranded, "
          f"{sum(len(h) for h in ours.nearest.values())} nearest hits")
    print(f"  ours (SiteRouter.answer)   median {ours_ms:9.2f} ms   best {min(ours_t) * 1000:9.2f} "
          f"ms   ({repeat} runs)")
    print(f"  bare networkx              median {base_ms:9.2f} ms   best {min(base_t) * 1000:9.2f} "
          f"ms   ({base_repeat} runs)")
    print(f"  speed-up {base_ms / ours_ms:6.1f}x   answers agree (routes, lengths, nearest "
          f"distances within 1 mm)")
    return {"ours_ms": ours_ms, "networkx_ms": base_ms, "speedup": base_ms / ours_ms}


def parts(router: SiteRouter, zone: HazardZone, repeat: int) -> None:
    """Where our time goes."""
    o = router.origin(zone.centre)
    answer = router.answer(zone)
    rows = [("zone edges (numpy)", lambda: router.zone_masks(zone)),
            ("nearest resources, all kinds", lambda: router.nearest_resources(o, zone=zone)),
            ("evacuation plan, every building", lambda: router.evacuation_plan(zone)),
            ("(then) answer.to_dict(), all routes", answer.to_dict)]
    for label, fn in rows:
        t, _ = timed(fn, repeat)
        print(f"    {label:<34} median {statistics.median(t) * 1000:8.2f} ms")


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--buildings", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    print(f"Python {platform.python_version()}, networkx {nx.__version__}, numpy "
          f"{np.__version__}, {platform.machine()}, load average "
          f"{', '.join(f'{x:.1f}' for x in _loadavg())}")
    figures: dict[str, float] = {}

    site = load_site(REPO)
    t = time.perf_counter()
    router = SiteRouter.from_site(site)
    build_ms = (time.perf_counter() - t) * 1000
    g = site.network()
    geometry = {e.id: [(lat, lon) for lon, lat in e.path] for e in site.edges.values()}
    spec = site.plans["PLAN-TOXIC-L2"].hazard_zone if "PLAN-TOXIC-L2" in site.plans else \
        HazardZoneSpec(isolation_m=100, protective_downwind_m=800, sector_deg=60)
    centre = site.center()
    assert centre is not None
    zone = HazardZone.from_plan(spec, centre, wind_from_deg=45, wind_speed_mps=3)
    print(f"\ndemo site (router built in {build_ms:.0f} ms; zone {spec.isolation_m:g} m + "
          f"{spec.protective_downwind_m:g} m downwind, {spec.sector_deg:g}°, wind from 45°)")
    r = run_case("demo", router, g, {b.id: b.entrance_node for b in site.buildings.values()},
                 list(site.resources.values()), zone, geometry, args.repeat * 5, args.repeat)
    parts(router, zone, args.repeat * 5)
    figures.update({f"demo_{k}": v for k, v in r.items()})

    t = time.perf_counter()
    g, buildings, places = generated_site(args.nodes, args.buildings)
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    router = SiteRouter(g, buildings=buildings, resources=places)
    build_s = time.perf_counter() - t
    zone = HazardZone.from_plan(HazardZoneSpec(isolation_m=300, protective_downwind_m=1500,
                                               sector_deg=60),
                                router.node_location("N" + str(args.nodes // 2 + 150)),
                                wind_from_deg=45, wind_speed_mps=3)
    print(f"\ngenerated network (made in {gen_s:.1f} s, router built in {build_s:.2f} s; zone "
          f"300 m + 1500 m downwind, 60°, wind from 45°)")
    r = run_case("generated", router, g, buildings, places, zone, {}, args.repeat,
                 max(1, args.repeat // 3))
    parts(router, zone, args.repeat)
    figures.update({f"big_{k}": v for k, v in r.items()})
    print_targets(figures)
    return figures


def print_targets(figures: dict[str, float]) -> None:
    """Say, for each target, whether this run met it (medians)."""
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    demo, big = figures["demo_ours_ms"], figures["big_ours_ms"]
    print("\ntargets (medians of this run):")
    print(f"  demo < {TARGET_DEMO_MS:g} ms: {verdict(demo < TARGET_DEMO_MS)} ({demo:.2f} ms)")
    print(f"  100k nodes < {TARGET_BIG_MS:g} ms: {verdict(big < TARGET_BIG_MS)} ({big:.2f} ms)")
    for case, label in (("demo", "demo"), ("big", "100k nodes")):
        x = figures[f"{case}_speedup"]
        print(f"  ≥ {TARGET_SPEEDUP:g}x networkx, {label}: {verdict(x >= TARGET_SPEEDUP)} "
              f"({x:.1f}x)")


def _loadavg() -> tuple[float, float, float]:
    try:
        import os

        return os.getloadavg()
    except OSError:
        return (math.nan, math.nan, math.nan)


if __name__ == "__main__":
    main()
