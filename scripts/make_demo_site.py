#!/usr/bin/env python3
"""Generate the demo site: Donghai Fine Chemicals Co. — Lingang Plant No. 1.

Writes, from the repository root:

- ``maps/site.yaml``          site identity and routing defaults
- ``maps/site.geojson``       fence, zones, buildings and units (one feature per line)
- ``maps/network.geojson``    road and walkway network, densified (one feature per line)
- ``resources/resources.yaml`` emergency resources
- ``resources/gauges.yaml``   gauge links and gauges
- ``resources/roster.yaml``   shifts, emergency roles and responders

The output is deterministic (fixed seed, no clock). Run it as
``.venv/bin/python scripts/make_demo_site.py``; it needs only the standard library and PyYAML.

The plant is laid out in a local metric frame (x east, y north, metres, origin at the site
centre) and turned into WGS-84 at the end; the site grid is rotated a few degrees from true north,
as plants along the Hangzhou Bay shore are.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SEED = 20250611

LAT0, LON0 = 30.815, 121.455
"""Site centre (WGS-84)."""
ROTATION_DEG = 9.0
"""Plant grid rotated anticlockwise from true east/north."""
EARTH_RADIUS_M = 6_371_008.8
M_PER_DEG_LAT = EARTH_RADIUS_M * math.pi / 180.0
M_PER_DEG_LON = M_PER_DEG_LAT * math.cos(math.radians(LAT0))

ROAD_SPACING_M = 22.0
"""Longest road edge: real GIS road networks carry a node every 20–30 m."""
WALK_SPACING_M = 15.0
"""Longest walkway edge."""
SNAP_M = 1.0
"""Points closer than this become one node."""
MAX_REACH_M = 65.0
"""How far a building door or unit walkway may be from the road it joins."""

Pt = tuple[float, float]


# --------------------------------------------------------------------------- coordinates


def to_latlon(x: float, y: float) -> tuple[float, float]:
    """Return ``(lat, lon)`` of local point ``(x, y)`` (metres east/north of the centre)."""
    a = math.radians(ROTATION_DEG)
    ex = x * math.cos(a) - y * math.sin(a)
    ny = x * math.sin(a) + y * math.cos(a)
    return LAT0 + ny / M_PER_DEG_LAT, LON0 + ex / M_PER_DEG_LON


def lonlat(x: float, y: float) -> list[float]:
    """Return the GeoJSON position ``[lon, lat]`` of a local point, 6 decimals."""
    lat, lon = to_latlon(x, y)
    return [round(lon, 6), round(lat, 6)]


def latlon(x: float, y: float) -> list[float]:
    """Return the YAML position ``[lat, lon]`` of a local point, 6 decimals."""
    lat, lon = to_latlon(x, y)
    return [round(lat, 6), round(lon, 6)]


def haversine_m(a: Pt, b: Pt) -> float:
    """Great-circle distance between two ``(lat, lon)`` points (same formula as the loader)."""
    lat1, lon1 = map(math.radians, a)
    lat2, lon2 = map(math.radians, b)
    h = math.sin((lat2 - lat1) / 2) ** 2 + \
        math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def geo_length_m(path: list[list[float]]) -> float:
    """Length in metres of a ``[lon, lat]`` polyline."""
    return sum(haversine_m((p[1], p[0]), (q[1], q[0])) for p, q in pairwise(path))


# --------------------------------------------------------------------------- shapes


def rect(x0: float, y0: float, x1: float, y1: float) -> list[Pt]:
    """A closed rectangular ring, anticlockwise."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]


def arc(cx: float, cy: float, r: float, a0: float, a1: float, step: float = 10.0) -> list[Pt]:
    """Points on a circular arc from angle ``a0`` to ``a1`` (degrees, anticlockwise from east)."""
    n = max(2, math.ceil(abs(a1 - a0) / step))
    return [(cx + r * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
             cy + r * math.sin(math.radians(a0 + (a1 - a0) * i / n))) for i in range(n + 1)]


def rounded(points: list[Pt], r: float, closed: bool = False) -> list[tuple[float, float, bool]]:
    """Replace each corner of a polyline by a circular fillet of radius ``r``.

    Returns vertices with a ``forced`` flag: the original ends are forced (they become nodes),
    fillet points are not.
    """
    pts = points[:-1] if closed else points
    n = len(pts)
    out: list[tuple[float, float, bool]] = []
    for i in range(n):
        if not closed and i in (0, n - 1):
            out.append((pts[i][0], pts[i][1], True))
            continue
        p0, p1, p2 = pts[i - 1], pts[i], pts[(i + 1) % n]
        ux, uy = p0[0] - p1[0], p0[1] - p1[1]
        vx, vy = p2[0] - p1[0], p2[1] - p1[1]
        lu, lv = math.hypot(ux, uy), math.hypot(vx, vy)
        ux, uy, vx, vy = ux / lu, uy / lu, vx / lv, vy / lv
        theta = math.acos(max(-1.0, min(1.0, ux * vx + uy * vy)))
        d = r / math.tan(theta / 2)
        t1 = (p1[0] + ux * d, p1[1] + uy * d)
        t2 = (p1[0] + vx * d, p1[1] + vy * d)
        bx, by = ux + vx, uy + vy
        lb = math.hypot(bx, by)
        c = (p1[0] + bx / lb * r / math.sin(theta / 2), p1[1] + by / lb * r / math.sin(theta / 2))
        a0 = math.degrees(math.atan2(t1[1] - c[1], t1[0] - c[0]))
        a1 = math.degrees(math.atan2(t2[1] - c[1], t2[0] - c[0]))
        while a1 - a0 > 180:
            a1 -= 360
        while a1 - a0 < -180:
            a1 += 360
        for j, (x, y) in enumerate(arc(c[0], c[1], r, a0, a1, 15.0)):
            out.append((x, y, j == 0 and closed and i == 0))
    if closed:
        out.append(out[0])
        out[0] = (out[0][0], out[0][1], True)
        out[-1] = (out[-1][0], out[-1][1], True)
    return out


def bbox(ring: list[Pt]) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)`` of a ring."""
    xs = [p[0] for p in ring]
    ys = [p[1] for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def seg_intersect(p1: Pt, p2: Pt, q1: Pt, q2: Pt, eps: float = 1e-9) -> tuple[float, float] | None:
    """Parameters ``(t, u)`` where segments p and q cross (ends included), or None."""
    rx, ry = p2[0] - p1[0], p2[1] - p1[1]
    sx, sy = q2[0] - q1[0], q2[1] - q1[1]
    den = rx * sy - ry * sx
    if abs(den) < 1e-12:
        return None
    qpx, qpy = q1[0] - p1[0], q1[1] - p1[1]
    t = (qpx * sy - qpy * sx) / den
    u = (qpx * ry - qpy * rx) / den
    if -eps <= t <= 1 + eps and -eps <= u <= 1 + eps:
        return min(1.0, max(0.0, t)), min(1.0, max(0.0, u))
    return None


# --------------------------------------------------------------------------- the network


class Line:
    """A road or walkway polyline; ``forced`` vertices become network nodes."""

    def __init__(self, pts: Iterable[Pt | tuple[float, float, bool]], kind: str) -> None:
        self.pts: list[Pt] = []
        self.forced: list[bool] = []
        for p in pts:
            self.pts.append((float(p[0]), float(p[1])))
            self.forced.append(bool(p[2]) if len(p) == 3 else True)  # type: ignore[misc]
        self.forced[0] = self.forced[-1] = True
        self.kind = kind


class NetworkBuilder:
    """Collects polylines, joins them where they cross and cuts them into short edges."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.nodes: list[Pt] = []
        self._grid: dict[tuple[int, int], list[int]] = {}
        self.edges: list[tuple[int, int, str, list[Pt]]] = []

    def road(self, pts: Iterable[Any]) -> Line:
        line = Line(pts, "road")
        self.lines.append(line)
        return line

    def walk(self, pts: Iterable[Any]) -> Line:
        line = Line(pts, "walkway")
        self.lines.append(line)
        return line

    def cast(self, p: Pt, d: Pt, reach: float = MAX_REACH_M) -> Pt | None:
        """First point on a road hit by the ray from ``p`` in direction ``d``, within reach."""
        end = (p[0] + d[0] * reach, p[1] + d[1] * reach)
        best: tuple[float, Pt] | None = None
        for line in self.lines:
            if line.kind != "road":
                continue
            for a, b in pairwise(line.pts):
                hit = seg_intersect(p, end, a, b)
                if hit is None or hit[0] * reach < 0.5:
                    continue
                q = (p[0] + (end[0] - p[0]) * hit[0], p[1] + (end[1] - p[1]) * hit[0])
                if best is None or hit[0] < best[0]:
                    best = (hit[0], q)
        return best[1] if best else None

    def _split_at_crossings(self) -> None:
        inserts: dict[int, list[tuple[int, float, Pt]]] = {i: [] for i in range(len(self.lines))}
        boxes = []
        for line in self.lines:
            xs = [p[0] for p in line.pts]
            ys = [p[1] for p in line.pts]
            boxes.append((min(xs) - 1, min(ys) - 1, max(xs) + 1, max(ys) + 1))
        for i, a in enumerate(self.lines):
            for j in range(i + 1, len(self.lines)):
                b = self.lines[j]
                ba, bb = boxes[i], boxes[j]
                if ba[2] < bb[0] or bb[2] < ba[0] or ba[3] < bb[1] or bb[3] < ba[1]:
                    continue
                for si, (p1, p2) in enumerate(pairwise(a.pts)):
                    for sj, (q1, q2) in enumerate(pairwise(b.pts)):
                        hit = seg_intersect(p1, p2, q1, q2)
                        if hit is None:
                            continue
                        t, u = hit
                        x = p1[0] + (p2[0] - p1[0]) * t
                        y = p1[1] + (p2[1] - p1[1]) * t
                        inserts[i].append((si, t, (x, y)))
                        inserts[j].append((sj, u, (x, y)))
        for i, line in enumerate(self.lines):
            pts: list[Pt] = []
            forced: list[bool] = []
            extra = sorted(inserts[i])
            k = 0
            for si in range(len(line.pts)):
                pts.append(line.pts[si])
                forced.append(line.forced[si])
                while k < len(extra) and extra[k][0] == si:
                    _, t, q = extra[k]
                    k += 1
                    if t <= 1e-6 or math.dist(q, line.pts[si]) < 0.05:
                        forced[-1] = True
                    elif t >= 1 - 1e-6 or math.dist(q, line.pts[si + 1]) < 0.05:
                        forced_next = si + 1
                        line.forced[forced_next] = True
                    elif math.dist(q, pts[-1]) < 0.05:
                        forced[-1] = True
                    else:
                        pts.append(q)
                        forced.append(True)
            line.pts, line.forced = pts, forced

    def _node(self, p: Pt) -> int:
        cx, cy = math.floor(p[0]), math.floor(p[1])
        for gx in (cx - 1, cx, cx + 1):
            for gy in (cy - 1, cy, cy + 1):
                for idx in self._grid.get((gx, gy), ()):
                    if math.dist(self.nodes[idx], p) < SNAP_M:
                        return idx
        self.nodes.append(p)
        self._grid.setdefault((cx, cy), []).append(len(self.nodes) - 1)
        return len(self.nodes) - 1

    def build(self) -> None:
        """Split lines at every crossing and densify them into nodes and edges."""
        self._split_at_crossings()
        seen: set[tuple[int, int]] = set()
        for line in self.lines:
            spacing = ROAD_SPACING_M if line.kind == "road" else WALK_SPACING_M
            anchors = [i for i, f in enumerate(line.forced) if f]
            for a, b in pairwise(anchors):
                run = line.pts[a:b + 1]
                cum = [0.0]
                for p, q in pairwise(run):
                    cum.append(cum[-1] + math.dist(p, q))
                total = cum[-1]
                if total < 1e-6:
                    continue
                k = max(1, math.ceil(total / spacing - 1e-9))
                marks = [total * j / k for j in range(k + 1)]

                def at(s: float, run: list[Pt] = run, cum: list[float] = cum) -> Pt:
                    for m in range(len(run) - 1):
                        if cum[m + 1] >= s - 1e-9:
                            seg = cum[m + 1] - cum[m]
                            f = 0.0 if seg == 0 else (s - cum[m]) / seg
                            return (run[m][0] + (run[m + 1][0] - run[m][0]) * f,
                                    run[m][1] + (run[m + 1][1] - run[m][1]) * f)
                    return run[-1]

                for s0, s1 in pairwise(marks):
                    p0, p1 = at(s0), at(s1)
                    inner = [run[m] for m in range(1, len(run) - 1)
                             if s0 + 1e-6 < cum[m] < s1 - 1e-6]
                    n0, n1 = self._node(p0), self._node(p1)
                    if n0 == n1:
                        continue
                    key = (min(n0, n1), max(n0, n1))
                    if key in seen:
                        continue
                    seen.add(key)
                    self.edges.append((n0, n1, line.kind, [p0, *inner, p1]))

    def nearest_node(self, p: Pt) -> int:
        best = min(range(len(self.nodes)), key=lambda i: math.dist(self.nodes[i], p))
        if math.dist(self.nodes[best], p) > 1.5:
            raise ValueError(f"no network node at {p} (nearest {self.nodes[best]})")
        return best

    def check_connected(self) -> None:
        adj: dict[int, set[int]] = {i: set() for i in range(len(self.nodes))}
        for a, b, _, _ in self.edges:
            adj[a].add(b)
            adj[b].add(a)
        seen = {0}
        todo = [0]
        while todo:
            for nb in adj[todo.pop()]:
                if nb not in seen:
                    seen.add(nb)
                    todo.append(nb)
        if len(seen) != len(self.nodes):
            lost = [self.nodes[i] for i in range(len(self.nodes)) if i not in seen]
            raise ValueError(f"network is not connected: {len(lost)} nodes apart, e.g. {lost[:3]}")


# --------------------------------------------------------------------------- site layout
#
# Local frame: x east, y north, metres from the site centre. The fence is 1,600 m × 1,120 m
# with chamfered NE and SW corners. West strip: admin (north), utilities (middle), wastewater
# (south). Centre: process areas 1 and 2 in a 3 × 3 block grid. East: tank farms. South strip:
# warehouses, packaging and truck loading.

FENCE: list[Pt] = [(-800, 560), (650, 560), (800, 441), (800, -560), (-560, -560), (-800, -380),
                   (-800, 560)]

RING: list[Pt] = [(-780, 538), (642, 538), (778, 430), (778, -538), (-552, -538), (-780, -368),
                  (-780, 538)]

ROADS: list[list[Pt]] = [
    # west strip (admin, utilities, wastewater); V1 runs from the north gate to the main road
    [(-600, 558), (-600, 538)],
    [(-600, 538), (-600, 488)],
    [(-600, 452), (-600, -180)],
    [(-780, 400), (-400, 400)],
    [(-780, 260), (-400, 260)],
    [(-780, -20), (-400, -20)],
    [(-780, -250), (-400, -250)],
    # the long east–west roads
    [(-780, 125), (310, 125)],
    [(-780, -180), (778, -180)],
    [(-400, -380), (778, -380)],
    [(-400, 340), (310, 340)],
    # north–south roads
    [(-400, 538), (-400, -538)],
    [(-170, 538), (-170, -538)],
    [(70, 538), (70, 340)],          # south of here the main pipe rack PR-01 takes its place
    [(70, -180), (70, -538)],
    [(310, 538), (310, -538)],
    [(590, 538), (590, -538)],
    # tank farm fire roads
    [(310, 280), (778, 280)],
    [(310, 15), (778, 15)],
    # gates
    [(200, -558), (200, -380)],
    [(798, -280), (778, -280)],
    # drive-through lanes of the truck loading station
    [(400, -180), (400, -380)],
    [(500, -180), (500, -380)],
    # truck lane from the south gate to the truck park
    [(200, -430), (255, -452), (310, -470)],
]


def _roundabout() -> list[tuple[float, float, bool]]:
    pts = arc(-600, 470, 18.0, -90, 270, 15.0)
    return [(x, y, False) for x, y in pts]


# building table: id, kind, zh, en, outline, door, access, occupancy, hazards, zone, lanes
# door: "N"/"S"/"E"/"W" (middle of that side), (side, fraction along it), or an (x, y) point
# that is already a node (a gate on its road, a tank dike stair).
# access: "road" (vehicles reach the door) or "walkway". lanes: walkways through a process unit.
BUILDINGS: list[dict[str, Any]] = []


def bld(bid: str, kind: str, zh: str, en: str, outline: list[Pt], door: Any, *, access: str =
        "walkway", occupancy: int = 0, hazards: tuple[str, ...] = (), zone: str,
        lanes: bool = False) -> None:
    BUILDINGS.append(dict(id=bid, kind=kind, zh=zh, en=en, outline=outline, door=door,
                          access=access, occupancy=occupancy, hazards=hazards, zone=zone,
                          lanes=lanes))


# admin area
bld("GATE-N", "gate", "北门（主大门）", "North gate (main gate)", rect(-630, 543, -570, 558),
    (-600, 558), access="road", occupancy=4, zone="Z-ADM")
bld("OF-001", "office", "综合办公楼", "Administration building",
    [(-750, 410), (-730, 410), (-730, 450), (-640, 450), (-640, 470), (-750, 470), (-750, 410)],
    ("E", 5 / 6), occupancy=120, zone="Z-ADM")
bld("HC-001", "office", "医务室", "First-aid clinic", rect(-715, 415, -680, 438), "S",
    access="road", occupancy=3, zone="Z-ADM")
bld("P-1", "parking", "员工停车场", "Staff car park", rect(-580, 448, -440, 522), "W",
    access="road", occupancy=0, zone="Z-ADM")
bld("LAB-001", "laboratory", "质检中心", "QC laboratory", rect(-585, 410, -490, 440), "S",
    occupancy=22, hazards=("化学试剂", "标准气体", "乙炔"), zone="Z-ADM")
bld("CAN-001", "canteen", "食堂", "Canteen", rect(-750, 315, -690, 370), "N", occupancy=12,
    hazards=("天然气",), zone="Z-ADM")
bld("CR-001", "control_room", "中央控制室", "Central control room",
    rect(-585, 290, -505, 350), "W", occupancy=14, zone="Z-ADM")
# utility area
bld("UT-902", "utility", "空压站", "Compressed-air station", rect(-740, 160, -670, 215), "S",
    occupancy=2, zone="Z-UTL")
bld("UT-909", "utility", "化学水站", "Demineralised-water plant", rect(-570, 150, -470, 225), "W",
    occupancy=3, hazards=("盐酸", "烧碱"), zone="Z-UTL")
bld("UT-904", "utility", "锅炉房", "Boiler house", rect(-745, 20, -650, 95), "N", occupancy=4,
    hazards=("天然气", "一氧化碳"), zone="Z-UTL")
bld("SS-901", "substation", "总变电所（110 kV）", "Main substation (110 kV)",
    rect(-560, 15, -450, 95), "N", occupancy=3, hazards=("变压器油",), zone="Z-UTL")
bld("MW-001", "workshop", "维修车间", "Maintenance workshop", rect(-745, -140, -640, -60), "E",
    access="road", occupancy=30, hazards=("乙炔", "氧气"), zone="Z-UTL")
bld("FS-001", "fire_station", "消防站", "Fire station", rect(-565, -150, -455, -95), "S",
    access="road", occupancy=18, zone="Z-UTL")
bld("WH-706", "warehouse", "应急物资库", "Emergency supplies store", rect(-440, -150, -414, -100),
    "E", access="road", occupancy=1, zone="Z-UTL")
# wastewater area
bld("WH-707", "warehouse", "危险废物暂存库", "Hazardous-waste store", rect(-760, -235, -700, -200),
    "N", access="road", occupancy=1, hazards=("危险废物",), zone="Z-ENV")
bld("WW-801", "wastewater", "污水处理站", "Wastewater treatment plant",
    [(-540, -450), (-430, -450), (-430, -280), (-620, -280), (-620, -390), (-540, -390),
     (-540, -450)], "N", access="road", occupancy=8, hazards=("硫化氢", "次氯酸钠"), zone="Z-ENV")
bld("WW-802", "wastewater", "事故应急池", "Emergency containment basin",
    rect(-745, -335, -660, -275), "N", occupancy=0, zone="Z-ENV")
# process area 1 (west)
bld("UT-903", "utility", "循环水站", "Cooling-water station", rect(-385, 365, -265, 505), "W",
    occupancy=3, hazards=("次氯酸钠",), zone="Z-P1", lanes=True)
bld("UT-906", "utility", "制氮站", "Nitrogen plant", rect(-245, 385, -190, 455), "E",
    occupancy=2, hazards=("氮气（窒息）",), zone="Z-P1")
bld("U-410", "process_unit", "硫磺回收装置", "Sulphur recovery unit", rect(-385, 150, -240, 320),
    "W", occupancy=6, hazards=("硫化氢", "二氧化硫", "液硫"), zone="Z-P1", lanes=True)
bld("SS-902", "substation", "一区变电所", "Area 1 substation", rect(-225, 165, -188, 235), "E",
    occupancy=1, hazards=("变压器油",), zone="Z-P1")
bld("RR-101", "control_room", "一区机柜间", "Area 1 rack room", rect(-225, 250, -188, 310), "E",
    occupancy=4, zone="Z-P1")
bld("U-110", "process_unit", "氯碱装置", "Chlor-alkali unit", rect(-385, -160, -185, 100), "W",
    occupancy=18, hazards=("氯气", "氢气", "烧碱"), zone="Z-P1", lanes=True)
bld("U-120", "process_unit", "液氯储存及充装站", "Liquid chlorine storage & filling",
    rect(-150, -150, -40, 80), "W", occupancy=8, hazards=("液氯",), zone="Z-P1", lanes=True)
bld("U-130", "process_unit", "氯化氢合成及盐酸装置", "HCl synthesis & hydrochloric acid unit",
    rect(-20, -140, 50, 60), "S", occupancy=4, hazards=("氯化氢", "氢气", "盐酸"), zone="Z-P1",
    lanes=True)
bld("U-220", "process_unit", "溶剂回收装置", "Solvent recovery unit", rect(-150, 155, 40, 315),
    "W", occupancy=8, hazards=("甲苯", "甲醇"), zone="Z-P1", lanes=True)
bld("U-250", "process_unit", "乙醇胺装置", "Ethanolamines unit", rect(-150, 360, 50, 505), "W",
    occupancy=8, hazards=("环氧乙烷", "液氨"), zone="Z-P1", lanes=True)
bld("PR-01", "pipe_rack", "主管廊（南北）", "Main pipe rack (north–south)",
    rect(62, -168, 78, 332), "N", occupancy=0, hazards=("氢气", "甲醇", "蒸汽"), zone="Z-P1")
bld("PR-02", "pipe_rack", "工艺管廊（东西）", "Process pipe rack (east–west)",
    rect(-392, 106, 302, 116), "N", occupancy=0, hazards=("氯气", "氢气", "蒸汽"),
    zone="Z-P1")
# process area 2 (east)
bld("U-230", "process_unit", "环氧乙烷装置", "Ethylene oxide unit", rect(90, 360, 290, 515), "E",
    occupancy=10, hazards=("环氧乙烷", "乙烯", "氧气"), zone="Z-P2", lanes=True)
bld("U-210", "process_unit", "加氢装置", "Hydrogenation unit", rect(90, 150, 290, 320), "E",
    occupancy=10, hazards=("氢气", "苯"), zone="Z-P2", lanes=True)
bld("U-310", "process_unit", "液氨储罐及氨制冷站", "Ammonia storage & refrigeration",
    rect(100, -90, 280, 95), "E", occupancy=6, hazards=("液氨",), zone="Z-P2", lanes=True)
bld("SS-903", "substation", "二区变电所", "Area 2 substation", rect(240, -150, 290, -110), "S",
    occupancy=1, hazards=("变压器油",), zone="Z-P2")
# tank farms (dikes with two stairs each; see TANK_WALKS)
bld("TF-501", "tank_farm", "甲类储罐区", "Class A flammable liquid tank farm",
    rect(350, 300, 570, 510), (350, 405), occupancy=3, hazards=("苯", "甲苯", "甲醇"),
    zone="Z-TF")
bld("TF-502", "tank_farm", "酸碱罐区", "Acid & caustic tank farm", rect(350, 40, 525, 250),
    (350, 145), occupancy=2, hazards=("硫酸", "盐酸", "烧碱"), zone="Z-TF")
bld("TF-503", "tank_farm", "液化烃球罐区", "LPG sphere area", rect(612, 300, 755, 405),
    (683.5, 300), occupancy=2, hazards=("液化石油气", "丙烯"), zone="Z-LPG")
bld("TF-504", "tank_farm", "中间罐区", "Intermediate tank farm", rect(612, 40, 760, 250),
    (686, 40), occupancy=2, hazards=("甲醇", "乙二醇"), zone="Z-TF")
bld("PH-501", "utility", "罐区泵房", "Tank farm pump house", rect(540, 170, 575, 240), "E",
    occupancy=2, hazards=("甲苯", "甲醇"), zone="Z-TF")
bld("UT-907", "utility", "泡沫站", "Foam station", rect(350, -120, 410, -60), "W",
    access="road", occupancy=0, zone="Z-TF")
bld("UT-908", "utility", "消防水泵站及消防水池", "Fire-water pump station & reservoir",
    rect(620, -150, 740, -60), "W", access="road", occupancy=2, zone="Z-TF")
bld("PR-03", "pipe_rack", "罐区管廊", "Tank farm pipe rack", rect(315, 22, 600, 30), "S",
    occupancy=0, hazards=("甲苯", "甲醇", "液化石油气"), zone="Z-TF")
# logistics area
bld("PK-702", "workshop", "包装车间", "Packaging workshop", rect(-370, -300, -220, -220), "N",
    access="road", occupancy=25, hazards=("乙醇胺",), zone="Z-LOG")
bld("WH-702", "warehouse", "成品仓库", "Finished-products warehouse", rect(-140, -320, 30, -230),
    "N", access="road", occupancy=10, hazards=("乙醇胺", "桶装溶剂"), zone="Z-LOG")
bld("WH-701", "warehouse", "危险化学品仓库", "Hazardous chemicals warehouse",
    rect(110, -300, 270, -225), "N", access="road", occupancy=4,
    hazards=("过氧化物", "次氯酸钠", "桶装甲醇"), zone="Z-LOG")
bld("LS-601", "loading_station", "汽车装卸站", "Truck loading station",
    rect(350, -330, 550, -230), "N", access="road", occupancy=12,
    hazards=("甲苯", "甲醇", "烧碱"), zone="Z-LOG")
bld("P-3", "parking", "槽车待检停车场", "Tanker inspection park", rect(620, -340, 750, -220), "E",
    access="road", occupancy=4, hazards=("危化品槽车",), zone="Z-LOG")
bld("GATE-E", "gate", "东门（应急）", "East gate (emergency)", rect(785, -295, 799, -265),
    (798, -280), access="road", occupancy=1, zone="Z-LOG")
bld("WH-703", "warehouse", "原料仓库", "Raw materials warehouse", rect(-370, -500, -220, -420),
    "N", access="road", occupancy=6, zone="Z-LOG")
bld("WH-705", "warehouse", "包装材料及备件库", "Packaging & spare-parts store",
    rect(-140, -500, 20, -430), "N", access="road", occupancy=4, zone="Z-LOG")
bld("GATE-S", "gate", "南门（物流门）", "South gate (logistics)", rect(175, -558, 225, -545),
    (200, -558), access="road", occupancy=3, zone="Z-LOG")
bld("LS-602", "loading_station", "地磅房", "Weighbridge house", rect(160, -490, 185, -465), "E",
    access="road", occupancy=2, zone="Z-LOG")
bld("P-2", "parking", "危化品车辆停车场", "Hazmat truck park", rect(340, -515, 570, -410), "W",
    access="road", occupancy=6, hazards=("危化品槽车",), zone="Z-LOG")

# inside each tank dike: a walkway between the two stairs and one across; stairs are the only
# ways over the dike wall.
TANK_WALKS: dict[str, dict[str, list[Any]]] = {
    "TF-501": {"stairs": [((350, 405), (-1, 0)), ((570, 405), (1, 0))],
               "walks": [[(350, 405), (570, 405)], [(460, 310), (460, 500)]]},
    "TF-502": {"stairs": [((350, 145), (-1, 0)), ((437.5, 250), (0, 1))],
               "walks": [[(350, 145), (525, 145)], [(437.5, 50), (437.5, 250)]]},
    "TF-503": {"stairs": [((683.5, 300), (0, -1)), ((612, 352.5), (-1, 0))],
               "walks": [[(612, 352.5), (755, 352.5)], [(683.5, 300), (683.5, 405)]]},
    "TF-504": {"stairs": [((686, 40), (0, -1)), ((760, 145), (1, 0))],
               "walks": [[(612, 145), (760, 145)], [(686, 40), (686, 250)]]},
}

EXTRA_WALKS: list[list[Pt]] = [
    # wastewater plant: from the north door through the plant to the east road
    [(-525, -280), (-525, -365), (-430, -365), (-400, -365)],
    [(-620, -335), (-525, -335)],
    # garden paths in the admin area
    [(-690, 342), (-640, 342), (-620, 320), (-600, 320)],
    [(-660, 400), (-660, 430), (-640, 450)],
]

ZONES: list[dict[str, Any]] = [
    dict(id="Z-ADM", kind="admin_area", zh="行政管理区", en="Administration area",
         ring=rect(-792, 268, -408, 552)),
    dict(id="Z-UTL", kind="utility_area", zh="公用工程区", en="Utilities area",
         ring=rect(-792, -172, -408, 252)),
    dict(id="Z-ENV", kind="utility_area", zh="环保设施区", en="Environmental facilities area",
         ring=[(-792, -188), (-408, -188), (-408, -548), (-556, -548), (-792, -372),
               (-792, -188)]),
    dict(id="Z-P1", kind="process_area", zh="生产一区（氯碱及精细化工）",
         en="Process area 1 (chlor-alkali & fine chemicals)", ring=rect(-392, -172, 82, 530)),
    dict(id="Z-P2", kind="process_area", zh="生产二区（加氢、环氧乙烷、液氨）",
         en="Process area 2 (hydrogenation, EO, ammonia)", ring=rect(82, -172, 302, 530)),
    dict(id="Z-TF", kind="storage_area", zh="储罐区", en="Tank farm area",
         ring=[(318, -172), (790, -172), (790, 424), (640, 530), (318, 530), (318, -172)]),
    dict(id="Z-LPG", kind="restricted", zh="液化烃罐区（限制进入）",
         en="LPG sphere area (restricted)", ring=rect(600, 290, 767, 417)),
    dict(id="Z-LOG", kind="logistics_area", zh="物流仓储区", en="Logistics & warehousing area",
         ring=rect(-392, -548, 790, -188)),
]

SIDES = {"N": (0, 1), "S": (0, -1), "E": (1, 0), "W": (-1, 0)}


def side_point(outline: list[Pt], side: str, frac: float = 0.5) -> Pt:
    x0, y0, x1, y1 = bbox(outline)
    if side == "N":
        return (x0 + (x1 - x0) * frac, y1)
    if side == "S":
        return (x0 + (x1 - x0) * frac, y0)
    if side == "E":
        return (x1, y0 + (y1 - y0) * frac)
    return (x0, y0 + (y1 - y0) * frac)


def build_network() -> tuple[NetworkBuilder, dict[str, int]]:
    """Lay out every road and walkway; return the network and each building's entrance node."""
    net = NetworkBuilder()
    net.road(rounded(RING, 25.0, closed=True))
    net.road(_roundabout())
    for pts in ROADS:
        net.road(pts)
    doors: dict[str, Pt] = {}
    # process units: a grid of walkways (at 1/4, 1/2, 3/4 of big units) joined to nearby roads
    for b in BUILDINGS:
        if not b["lanes"]:
            continue
        x0, y0, x1, y1 = bbox(b["outline"])
        for horizontal in (True, False):
            span = (y1 - y0) if horizontal else (x1 - x0)
            fracs = (0.25, 0.5, 0.75) if span >= 120 else (0.5,)
            for f in fracs:
                if horizontal:
                    a, z = (x0, y0 + (y1 - y0) * f), (x1, y0 + (y1 - y0) * f)
                    da, dz = (-1.0, 0.0), (1.0, 0.0)
                else:
                    a, z = (x0 + (x1 - x0) * f, y0), (x0 + (x1 - x0) * f, y1)
                    da, dz = (0.0, -1.0), (0.0, 1.0)
                pts: list[Pt] = [a, z]
                ha, hz = net.cast(a, da), net.cast(z, dz)
                if ha:
                    pts.insert(0, ha)
                if hz:
                    pts.append(hz)
                net.walk(pts)
        doors[b["id"]] = side_point(b["outline"], b["door"])
    # tank dikes
    for tid, spec in TANK_WALKS.items():
        for (p, d) in spec["stairs"]:
            hit = net.cast(p, d)
            if hit is None:
                raise ValueError(f"{tid}: stair at {p} reaches no road")
            net.walk([p, hit])
        for w in spec["walks"]:
            net.walk(w)
    for w in EXTRA_WALKS:
        net.walk(w)
    # every other building: a path from its door to the nearest road straight ahead
    for b in BUILDINGS:
        if b["id"] in doors:
            continue
        door = b["door"]
        if isinstance(door, tuple) and not isinstance(door[0], str):
            doors[b["id"]] = door
            continue
        side, frac = door if isinstance(door, tuple) else (door, 0.5)
        p = side_point(b["outline"], side, frac)
        hit = net.cast(p, SIDES[side])
        if hit is None:
            raise ValueError(f"{b['id']}: door on side {side} reaches no road")
        if b["access"] == "road":
            net.road([p, hit])
        else:
            net.walk([p, hit])
        doors[b["id"]] = p
    net.build()
    net.check_connected()
    entrances = {bid: net.nearest_node(p) for bid, p in doors.items()}
    return net, entrances



# --------------------------------------------------------------------------- writers


def feature_line(props: dict[str, Any], geometry: dict[str, Any]) -> str:
    """One GeoJSON feature on one line (the loader counts features by line)."""
    return json.dumps({"type": "Feature", "properties": props, "geometry": geometry},
                      ensure_ascii=False)


def write_collection(path: Path, name: str, lines: list[str]) -> None:
    body = ",\n".join(lines)
    text = (f'{{"type": "FeatureCollection", "name": "{name}", "features": [\n'
            f"{body}\n]}}\n")
    path.write_text(text, encoding="utf-8")


def polygon(ring: list[Pt]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[lonlat(x, y) for x, y in ring]]}


def write_site_geojson(entrances: dict[str, str]) -> None:
    lines = [feature_line({"layer": "boundary", "id": "FENCE",
                           "name": {"zh": "厂区围墙", "en": "Site fence"}}, polygon(FENCE))]
    for z in ZONES:
        lines.append(feature_line({"layer": "zone", "id": z["id"], "kind": z["kind"],
                                   "name": {"zh": z["zh"], "en": z["en"]}}, polygon(z["ring"])))
    for b in BUILDINGS:
        props = {"layer": "building", "id": b["id"], "kind": b["kind"],
                 "name": {"zh": b["zh"], "en": b["en"]}, "zone": b["zone"],
                 "entrance_node": entrances[b["id"]], "occupancy": b["occupancy"],
                 "hazards": list(b["hazards"])}
        lines.append(feature_line(props, polygon(b["outline"])))
    write_collection(ROOT / "maps" / "site.geojson", "donghai-chem-1 site plan", lines)


def write_network_geojson(net: NetworkBuilder) -> dict[int, str]:
    ids = {i: f"N{i + 1:04d}" for i in range(len(net.nodes))}
    pos = {i: lonlat(*p) for i, p in enumerate(net.nodes)}
    lines = [feature_line({"layer": "node", "id": ids[i]}, {"type": "Point", "coordinates": pos[i]})
             for i in range(len(net.nodes))]
    for k, (a, b, kind, path) in enumerate(net.edges, start=1):
        coords = [pos[a]] + [lonlat(*p) for p in path[1:-1]] + [pos[b]]
        length = math.ceil(geo_length_m(coords) * 10 + 1e-6) / 10
        props = {"layer": "edge", "id": f"E{k:04d}", "source": ids[a], "target": ids[b],
                 "kind": kind, "length_m": max(0.1, length)}
        lines.append(feature_line(props, {"type": "LineString", "coordinates": coords}))
    write_collection(ROOT / "maps" / "network.geojson", "donghai-chem-1 road and walkway network",
                     lines)
    return ids


class Flow(list):
    """A list written in flow style: ``[30.81234, 121.45678]``."""


class FlowMap(dict):
    """A mapping written in flow style: ``{slave: 1, register: 0}``."""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # every entry spelled out: the files are edited by hand


_Dumper.add_representer(
    Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
_Dumper.add_representer(
    FlowMap, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(),
                                              flow_style=True))


def write_yaml(path: Path, header: str, data: dict[str, Any]) -> None:
    text = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120,
                     default_flow_style=False)
    path.write_text(header.strip() + "\n\n" + text, encoding="utf-8")


def text(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def loc(x: float, y: float) -> Flow:
    return Flow(latlon(x, y))


BY_ID: dict[str, dict[str, Any]] = {}


def inside(bid: str, fx: float, fy: float) -> Pt:
    """A point at fractions ``(fx, fy)`` of a building's box (``0.5, 0.5`` is the middle)."""
    x0, y0, x1, y1 = bbox(BY_ID[bid]["outline"])
    return (x0 + (x1 - x0) * fx, y0 + (y1 - y0) * fy)


def outside(bid: str, side: str, frac: float, gap: float) -> Pt:
    """A point ``gap`` metres outside side ``side`` of a building, at ``frac`` along it."""
    p = side_point(BY_ID[bid]["outline"], side, frac)
    d = SIDES[side]
    return (p[0] + d[0] * gap, p[1] + d[1] * gap)


# --------------------------------------------------------------------------- maps/site.yaml


def write_site_yaml() -> None:
    data = {
        "schema_version": 1,
        "id": "donghai-chem-1",
        "name": text("东海精细化工有限公司 临港一厂",
                     "Donghai Fine Chemicals Co. — Lingang Plant No. 1"),
        "operator": text("东海精细化工有限公司", "Donghai Fine Chemicals Co., Ltd."),
        "address": text("上海市金山区 杭州湾北岸化学工业区 海汇路 1888 号（虚构地址）",
                        "1888 Haihui Road, Chemical Industry Park, north shore of Hangzhou Bay, "
                        "Jinshan District, Shanghai (fictitious address)"),
        "timezone": "Asia/Shanghai",
        "walking_speed_mps": 1.2,
        "vehicle_speed_mps": 8.3,
        "max_offsite_m": 2000.0,
    }
    write_yaml(ROOT / "maps" / "site.yaml", """
# 厂区基本信息 / Site identity and routing defaults.
# 由 scripts/make_demo_site.py 生成（演示厂区）；格式见 maps/README.md。
# Generated by scripts/make_demo_site.py (demo site); format in maps/README.md.
""", data)


# --------------------------------------------------------------------------- resources


def build_resources(rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(rid: str, kind: str, zh: str, en: str, p: Pt, building: str | None = None,
            spec: str | None = None, quantity: int = 1, capacity: int | None = None) -> None:
        item: dict[str, Any] = {"id": rid, "kind": kind, "name": text(zh, en),
                                "location": loc(*p)}
        if building:
            item["building"] = building
        if quantity != 1:
            item["quantity"] = quantity
        if capacity is not None:
            item["capacity"] = capacity
        if spec:
            item["spec"] = spec
        out.append(item)

    # fire hydrants: every 60 m along the roads of the tank farm, every 60–120 m in the process
    # areas; each stands 5 m off the road centreline.
    runs: list[tuple[str, str, Pt, Pt, float, float]] = [
        ("罐区消防道路", "tank farm fire road", (590, -140), (590, 520), 60, -5),
        ("罐区消防道路", "tank farm fire road", (330, 280), (770, 280), 60, -5),
        ("罐区消防道路", "tank farm fire road", (330, 15), (770, 15), 60, -5),
        ("管廊道路", "pipe-rack road", (-380, 125), (290, 125), 60, 5),
        ("一区中心道路", "area 1 centre road", (-170, -150), (-170, 520), 120, 5),
        ("二区东侧道路", "area 2 east road", (310, -150), (310, 520), 120, -5),
    ]
    n = 0
    for road_zh, road_en, a, b, step, off in runs:
        length = math.dist(a, b)
        dx, dy = (b[0] - a[0]) / length, (b[1] - a[1]) / length
        s = 0.0
        while s <= length + 1e-6:
            n += 1
            p = (a[0] + dx * s - dy * off, a[1] + dy * s + dx * off)
            add(f"HYD-{n:03d}", "fire_hydrant", f"室外消火栓 {n}#（{road_zh}）",
                f"Fire hydrant {n} ({road_en})", p, spec="DN150 地上式室外消火栓")
            s += step
    # fixed fire monitors around the tank farms and the most exposed units
    monitors = [("TF-501", "S", 0.05), ("TF-501", "S", 0.95), ("TF-501", "N", 0.05),
                ("TF-501", "N", 0.95), ("TF-503", "S", 0.1), ("TF-503", "S", 0.9),
                ("TF-503", "W", 0.15), ("TF-503", "W", 0.85), ("TF-504", "S", 0.1),
                ("TF-504", "E", 0.8), ("TF-502", "W", 0.8), ("U-210", "E", 0.3),
                ("U-210", "S", 0.7), ("U-230", "E", 0.3), ("U-230", "S", 0.7),
                ("LS-601", "N", 0.2)]
    for i, (bid, side, frac) in enumerate(monitors, start=1):
        b = BY_ID[bid]
        add(f"MON-{i:03d}", "fire_monitor", f"固定消防水炮 {i}#（{b['zh']}）",
            f"Fixed fire monitor {i} ({b['en']})", outside(bid, side, frac, 9), bid,
            spec="固定式消防水炮 40L/s")
    # extinguisher stations
    ext = ["U-110", "U-110", "U-120", "U-130", "U-210", "U-210", "U-220", "U-220", "U-230",
           "U-230", "U-250", "U-310", "U-410", "LS-601", "LS-601", "WH-701", "WH-702", "PK-702",
           "PH-501", "SS-901", "CR-001", "LAB-001", "UT-904", "MW-001", "WH-703"]
    seen: dict[str, int] = {}
    for i, bid in enumerate(ext, start=1):
        k = seen[bid] = seen.get(bid, 0) + 1
        b = BY_ID[bid]
        p = inside(bid, 0.3 if k == 1 else 0.7, 0.3 if k == 1 else 0.7)
        add(f"EXT-{i:03d}", "extinguisher_station", f"灭火器箱（{b['zh']}）",
            f"Extinguisher station ({b['en']})", p, bid, spec="MFZ/ABC8 ×4 + MFTZ/ABC35")
    # SCBA cabinets
    for i, bid in enumerate(["CR-001", "FS-001", "U-110", "U-120", "U-310", "U-410", "U-210",
                             "U-230", "WW-801", "LS-601"], start=1):
        b = BY_ID[bid]
        add(f"SCBA-{i:03d}", "scba_cabinet", f"正压式空气呼吸器柜（{b['zh']}）",
            f"SCBA cabinet ({b['en']})", inside(bid, 0.45, 0.55), bid,
            spec="正压式空气呼吸器 6.8L ×4", quantity=4)
    # spill kits
    for i, bid in enumerate(["TF-501", "TF-502", "TF-504", "LS-601", "WH-701", "U-220", "WW-801",
                             "PH-501"], start=1):
        b = BY_ID[bid]
        add(f"SPK-{i:03d}", "spill_kit", f"泄漏应急处置箱（{b['zh']}）",
            f"Spill kit ({b['en']})", inside(bid, 0.7 if bid == "WW-801" else 0.2, 0.2), bid,
            spec="吸附棉 + 围油栏 + 堵漏工具 + 防化手套")
    # eye-wash and safety showers near acid, caustic, chlorine and ammonia
    for i, (bid, fx, fy) in enumerate([("TF-502", 0.15, 0.85), ("TF-502", 0.85, 0.15),
                                      ("U-110", 0.25, 0.75), ("U-110", 0.75, 0.25),
                                      ("U-120", 0.5, 0.8), ("U-310", 0.25, 0.75),
                                      ("U-310", 0.75, 0.25), ("LAB-001", 0.8, 0.5),
                                      ("WW-801", 0.6, 0.5), ("U-410", 0.6, 0.3)], start=1):
        b = BY_ID[bid]
        add(f"EW-{i:03d}", "eyewash_shower", f"紧急洗眼器及喷淋（{b['zh']}）",
            f"Eye-wash & safety shower ({b['en']})", inside(bid, fx, fy), bid,
            spec="复合式洗眼器 + 紧急喷淋")
    for i, bid in enumerate(["HC-001", "CR-001", "FS-001", "MW-001", "LS-601", "CAN-001"],
                            start=1):
        b = BY_ID[bid]
        add(f"FA-{i:03d}", "first_aid", f"急救箱（{b['zh']}）", f"First-aid kit ({b['en']})",
            inside(bid, 0.5, 0.4), bid,
            spec="工业急救箱（含烧伤敷料、葡萄糖酸钙凝胶）" if bid != "HC-001" else
            "医务室：AED + 担架 + 氧气瓶 + 急救药品")
    for i, (zh, en, spec) in enumerate([
            ("水罐泡沫消防车", "Water & foam tender", "8 t 水 + 4 t 泡沫，流量 60 L/s"),
            ("举高喷射消防车", "Aerial water tower", "32 m 举高，炮流量 80 L/s"),
            ("气防车", "Gas-protection vehicle",
             "空气呼吸器 ×12、气体检测仪、堵漏工具、洗消设备")], start=1):
        add(f"FT-{i:03d}", "fire_truck", zh, en, inside("FS-001", 0.2 + 0.3 * (i - 1), 0.3),
            "FS-001", spec=spec)
    for i, bid in enumerate(["U-110", "U-120", "U-310", "U-410", "CR-001", "U-250"], start=1):
        b = BY_ID[bid]
        add(f"GM-{i:03d}", "gas_mask_cabinet", f"过滤式防毒面具柜（{b['zh']}）",
            f"Gas mask cabinet ({b['en']})", inside(bid, 0.55, 0.45), bid,
            spec="过滤式防毒面具 ×10（含氯、氨、硫化氢滤毒罐）", quantity=10)
    add("FOAM-001", "foam_station", "泡沫站 1#（罐区西）", "Foam station 1 (tank farm west)",
        inside("UT-907", 0.5, 0.5), "UT-907", spec="6% 抗溶性水成膜泡沫液 20 m³，比例混合装置")
    add("FOAM-002", "foam_station", "泡沫站 2#（罐区东）", "Foam station 2 (tank farm east)",
        (768, 265), None, spec="撬装泡沫比例混合装置，泡沫液 10 m³")
    add("AMB-001", "ambulance", "救护车", "Ambulance", inside("FS-001", 0.85, 0.3), "FS-001",
        spec="B 型急救车（担架、AED、供氧）")
    aps = [
        ("AP-1", "北门广场", "North gate square", (-650, 522), 300),
        ("AP-2", "行政区草坪", "Admin lawn", (-640, 295), 200),
        ("AP-3", "公用工程区西侧空地", "Utilities area, west yard", (-690, -40), 150),
        ("AP-4", "污水站南侧空地", "South of the wastewater plant", (-470, -505), 100),
        ("AP-5", "南门广场", "South gate square", (250, -520), 250),
        ("AP-6", "货车停车场东侧", "East of the truck park", (680, -470), 200),
        ("AP-7", "东门内侧", "Inside the east gate", (690, -200), 150),
        ("AP-8", "北侧绿化带", "North green belt", (-320, 523), 120),
    ]
    for rid, zh, en, p, cap in aps:
        add(rid, "assembly_point", f"紧急集合点 {rid}（{zh}）", f"Assembly point {rid} ({en})", p,
            capacity=cap, spec="集合点标志牌 + 应急照明")
    _ = rng
    return out


def write_resources(rng: random.Random) -> list[dict[str, Any]]:
    items = build_resources(rng)
    write_yaml(ROOT / "resources" / "resources.yaml", """
# 应急资源 / Emergency resources.
# 位置 location 为 [纬度, 经度]（WGS-84）；building 为 maps/site.geojson 中的建筑编号。
# location is [lat, lon] (WGS-84); building is an id from maps/site.geojson.
# 由 scripts/make_demo_site.py 生成；格式见 resources/README.md。
""", {"schema_version": 1, "resources": items})
    return items


# --------------------------------------------------------------------------- gauges

LINKS: list[dict[str, Any]] = [
    {"id": "RS485-1", "protocol": "modbus_rtu",
     "name": text("RS-485 总线 1（生产一区气体探测）", "RS-485 line 1 (area 1 gas detection)"),
     "url": "/dev/ttyUSB0", "baudrate": 19200, "poll_s": 2.0, "timeout_s": 0.5},
    {"id": "RS485-2", "protocol": "modbus_rtu",
     "name": text("RS-485 总线 2（生产二区气体探测）", "RS-485 line 2 (area 2 gas detection)"),
     "url": "/dev/ttyUSB1", "baudrate": 19200, "poll_s": 2.0, "timeout_s": 0.5},
    {"id": "RS485-3", "protocol": "modbus_rtu",
     "name": text("RS-485 总线 3（罐区气体探测）", "RS-485 line 3 (tank farm gas detection)"),
     "url": "/dev/ttyUSB2", "baudrate": 9600, "poll_s": 2.0, "timeout_s": 1.0},
    {"id": "MBTCP-1", "protocol": "modbus_tcp",
     "name": text("DCS Modbus TCP 网关（工艺参数）", "DCS Modbus TCP gateway (process values)"),
     "host": "10.20.1.21", "port": 502, "poll_s": 1.0, "timeout_s": 1.0},
    {"id": "MQTT-1", "protocol": "mqtt",
     "name": text("无线气体探测器及气象站（MQTT）",
                  "Wireless gas detectors & weather station (MQTT)"),
     "host": "127.0.0.1", "port": 1883, "poll_s": 5.0, "timeout_s": 5.0},
    {"id": "ASCII-1", "protocol": "ascii",
     "name": text("氨制冷站 旧气体报警控制器（串口 ASCII）",
                  "Ammonia refrigeration legacy gas panel (serial ASCII)"),
     "url": "/dev/ttyS1", "baudrate": 9600, "poll_s": 5.0, "timeout_s": 2.0},
]


def _t(level: str, direction: str, value: float) -> FlowMap:
    return FlowMap(level=level, direction=direction, value=value)


def _high3(a: float, b: float, c: float) -> list[FlowMap]:
    return [_t("prealarm", "high", a), _t("alarm1", "high", b), _t("alarm2", "high", c)]


GAS_MEDIUM = {"110": ("氢气", "H₂"), "210": ("氢气/苯", "H₂/benzene"),
              "220": ("甲苯/甲醇", "toluene/methanol"), "230": ("环氧乙烷/乙烯", "EO/ethylene"),
              "250": ("环氧乙烷", "EO"), "501": ("苯/甲苯", "benzene/toluene"),
              "503": ("液化烃", "LPG"), "504": ("甲醇", "methanol"),
              "601": ("甲苯/甲醇", "toluene/methanol"), "701": ("溶剂蒸气", "solvent vapour")}
GAS_UNIT = {"110": "U-110", "210": "U-210", "220": "U-220", "230": "U-230", "250": "U-250",
            "501": "TF-501", "503": "TF-503", "504": "TF-504", "601": "LS-601", "701": "WH-701"}

# (id, kind, building, link, unit, range, thresholds, zh, en, extras)
GaugeRow = tuple[str, str, str, str, str, tuple[float, float], list[FlowMap], str, str]


def gauge_rows() -> list[GaugeRow]:
    rows: list[GaugeRow] = []
    gas_links = {"110": "RS485-1", "220": "RS485-1", "210": "RS485-2", "230": "RS485-2",
                 "250": "RS485-2", "501": "RS485-3", "503": "RS485-3", "504": "RS485-3",
                 "601": "MQTT-1", "701": "MQTT-1"}
    counts = {"110": 2, "220": 4, "210": 5, "230": 4, "250": 2, "501": 4, "503": 3, "504": 2,
              "601": 2, "701": 1}
    for area, count in counts.items():
        bid = GAS_UNIT[area]
        mz, me = GAS_MEDIUM[area]
        a1 = 25.0 if area in ("110", "503") else 20.0
        for k in range(1, count + 1):
            rows.append((f"GD-{area}-{k:02d}", "combustible_gas", bid, gas_links[area], "%LEL",
                         (0, 100), _high3(10, a1, 50),
                         f"{BY_ID[bid]['zh']} 可燃气体探测器 {k}#（{mz}）",
                         f"{BY_ID[bid]['en']} combustible gas detector {k} ({me})"))
    toxic = [("H2S", "h2s", "410", "U-410", "RS485-1", 4, (0, 100), _high3(5, 10, 20), "硫化氢"),
             ("H2S", "h2s", "801", "WW-801", "MQTT-1", 2, (0, 100), _high3(5, 10, 20), "硫化氢"),
             ("NH3", "nh3", "310", "U-310", "ASCII-1", 5, (0, 1000), _high3(20, 30, 60), "氨气"),
             ("NH3", "nh3", "250", "U-250", "RS485-2", 1, (0, 500), _high3(20, 30, 60), "氨气"),
             ("CL2", "cl2", "110", "U-110", "RS485-1", 3, (0, 10), _high3(0.5, 1, 2), "氯气"),
             ("CL2", "cl2", "120", "U-120", "RS485-1", 3, (0, 10), _high3(0.5, 1, 2), "氯气"),
             ("CO", "co", "904", "UT-904", "MBTCP-1", 2, (0, 500), _high3(17, 25, 50),
              "一氧化碳")]
    en_gas = {"h2s": "H₂S", "nh3": "NH₃", "cl2": "Cl₂", "co": "CO"}
    for prefix, kind, area, bid, link, count, rng_, th, gz in toxic:
        for k in range(1, count + 1):
            rows.append((f"{prefix}-{area}-{k:02d}", kind, bid, link, "ppm", rng_, th,
                         f"{BY_ID[bid]['zh']} {gz}探测器 {k}#",
                         f"{BY_ID[bid]['en']} {en_gas[kind]} detector {k}"))
    o2_th = [_t("alarm1", "low", 19.5), _t("alarm2", "low", 18), _t("alarm1", "high", 23.5)]
    for gid, bid, link, zh_where, en_where in [
            ("O2-410-01", "U-410", "RS485-1", "液硫池", "sulphur pit"),
            ("O2-801-01", "WW-801", "MQTT-1", "调节池", "equalisation basin"),
            ("O2-906-01", "UT-906", "MBTCP-1", "制氮机房", "nitrogen generator room"),
            ("O2-210-01", "U-210", "RS485-2", "压缩机厂房", "compressor house")]:
        rows.append((gid, "o2", bid, link, "%VOL", (0, 25), o2_th,
                     f"{BY_ID[bid]['zh']} 氧气浓度探测器（{zh_where}）",
                     f"{BY_ID[bid]['en']} oxygen detector ({en_where})"))
    process = [
        ("TT-210-01", "temperature", "U-210", "°C", (0, 300), _high3(180, 190, 200),
         "加氢反应器床层温度", "hydrogenation reactor bed temperature"),
        ("TT-210-02", "temperature", "U-210", "°C", (0, 300), _high3(150, 160, 170),
         "加氢反应器出口温度", "hydrogenation reactor outlet temperature"),
        ("TT-230-01", "temperature", "U-230", "°C", (0, 400), _high3(265, 275, 285),
         "环氧乙烷反应器温度", "EO reactor temperature"),
        ("TT-230-02", "temperature", "U-230", "°C", (-20, 60), _high3(10, 15, 25),
         "环氧乙烷储罐温度", "EO storage tank temperature"),
        ("TT-110-01", "temperature", "U-110", "°C", (0, 150), [_t("prealarm", "high", 92),
                                                             _t("alarm1", "high", 95)],
         "电解槽出口温度", "electrolyser outlet temperature"),
        ("TT-310-01", "temperature", "U-310", "°C", (-40, 60), [_t("prealarm", "high", 35),
                                                              _t("alarm1", "high", 40)],
         "液氨储罐温度", "liquid ammonia tank temperature"),
        ("TT-503-01", "temperature", "TF-503", "°C", (-20, 60), [_t("prealarm", "high", 35),
                                                               _t("alarm1", "high", 40)],
         "球罐温度（喷淋联锁）", "sphere temperature (deluge interlock)"),
        ("TT-410-01", "temperature", "U-410", "°C", (0, 1600),
         [_t("alarm1", "low", 900), _t("prealarm", "high", 1350), _t("alarm1", "high", 1400)],
         "克劳斯炉膛温度", "Claus furnace temperature"),
        ("PT-210-01", "pressure", "U-210", "MPa", (0, 6),
         [*_high3(3.6, 3.8, 4.0), _t("alarm1", "low", 2.5)],
         "加氢反应器压力", "hydrogenation reactor pressure"),
        ("PT-230-01", "pressure", "U-230", "MPa", (0, 4), _high3(2.4, 2.6, 2.8),
         "环氧乙烷反应器压力", "EO reactor pressure"),
        ("PT-120-01", "pressure", "U-120", "MPa", (0, 2.5), _high3(1.0, 1.2, 1.4),
         "液氯储罐压力", "liquid chlorine tank pressure"),
        ("PT-310-01", "pressure", "U-310", "MPa", (0, 2.5), _high3(1.4, 1.5, 1.6),
         "液氨储罐压力", "liquid ammonia tank pressure"),
        ("PT-503-01", "pressure", "TF-503", "MPa", (0, 2.5), _high3(1.3, 1.5, 1.6),
         "液化烃球罐压力", "LPG sphere pressure"),
        ("PT-906-01", "pressure", "UT-906", "MPa", (0, 1.6),
         [_t("prealarm", "low", 0.5), _t("alarm1", "low", 0.4)],
         "氮气管网压力", "nitrogen header pressure"),
        ("LT-501-01", "level", "TF-501", "%", (0, 100),
         [*_high3(85, 90, 95), _t("alarm1", "low", 10)], "苯储罐 T-5011 液位",
         "benzene tank T-5011 level"),
        ("LT-501-02", "level", "TF-501", "%", (0, 100),
         [*_high3(85, 90, 95), _t("alarm1", "low", 10)], "甲苯储罐 T-5013 液位",
         "toluene tank T-5013 level"),
        ("LT-501-03", "level", "TF-501", "%", (0, 100),
         [*_high3(85, 90, 95), _t("alarm1", "low", 10)], "甲醇储罐 T-5015 液位",
         "methanol tank T-5015 level"),
        ("LT-502-01", "level", "TF-502", "%", (0, 100),
         [*_high3(85, 90, 95), _t("alarm1", "low", 10)], "烧碱储罐 T-5021 液位",
         "caustic soda tank T-5021 level"),
        ("LT-503-01", "level", "TF-503", "%", (0, 100),
         [*_high3(80, 85, 90), _t("alarm1", "low", 10)], "液化烃球罐 V-5031 液位",
         "LPG sphere V-5031 level"),
        ("LT-120-01", "level", "U-120", "%", (0, 100),
         [*_high3(75, 80, 85), _t("alarm1", "low", 10)], "液氯储罐 V-1201 液位",
         "liquid chlorine tank V-1201 level"),
        ("FT-210-01", "flow", "U-210", "m3/h", (0, 5000),
         [_t("prealarm", "high", 4200), _t("alarm1", "high", 4500)], "新氢进料流量",
         "make-up hydrogen flow"),
        ("FT-801-01", "flow", "WW-801", "m3/h", (0, 300),
         [_t("prealarm", "high", 220), _t("alarm1", "high", 250)], "污水进水流量",
         "wastewater inflow"),
    ]
    for gid, kind, bid, unit, rng_, th, zh, en in process:
        rows.append((gid, kind, bid, "MBTCP-1", unit, rng_, th, f"{BY_ID[bid]['zh']} {zh}",
                     f"{BY_ID[bid]['en']} {en}"))
    rows.append(("WD-001", "wind_direction", "CR-001", "MQTT-1", "deg", (0, 360), [],
                 "气象站 风向", "Weather station wind direction"))
    rows.append(("WS-001", "wind_speed", "CR-001", "MQTT-1", "m/s", (0, 60),
                 [_t("prealarm", "high", 10.8), _t("alarm1", "high", 17.2)],
                 "气象站 风速", "Weather station wind speed"))
    return rows


SCALE = {"combustible_gas": 0.1, "h2s": 0.1, "nh3": 1, "cl2": 0.01, "co": 1, "o2": 0.1,
         "temperature": 0.1, "pressure": 0.001, "level": 0.1, "flow": 1,
         "wind_direction": 1, "wind_speed": 0.1}
DEADBAND = {"combustible_gas": 1, "h2s": 0.5, "nh3": 2, "cl2": 0.1, "co": 2, "o2": 0.2,
            "temperature": 1, "pressure": 0.02, "level": 1, "flow": 5, "wind_direction": 0,
            "wind_speed": 0.5}


def build_gauges(rng: random.Random) -> list[dict[str, Any]]:
    protocol = {lk["id"]: lk["protocol"] for lk in LINKS}
    slave_no: dict[str, int] = {}
    tcp_reg = 100
    ascii_no = 0
    out: list[dict[str, Any]] = []
    for gid, kind, bid, link, unit, rng_, th, zh, en in gauge_rows():
        proto = protocol[link]
        if proto == "modbus_rtu":
            slave_no[link] = slave_no.get(link, 0) + 1
            address: FlowMap = FlowMap(slave=slave_no[link], register=0, scale=SCALE[kind])
        elif proto == "modbus_tcp":
            address = FlowMap(slave=1, register=tcp_reg, scale=SCALE[kind])
            tcp_reg += 2
        elif proto == "mqtt":
            family = "weather" if kind.startswith("wind") else "gas"
            address = FlowMap(topic=f"site/{family}/{gid}")
        else:
            ascii_no += 1
            address = FlowMap(tag=f"CH{ascii_no:02d}")
        if kind.startswith("wind"):
            p = inside(bid, 0.9, 0.9)
        else:
            p = inside(bid, rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.85))
        if bid == "WW-801":  # keep clear of the L-shape's cut-out corner
            p = inside(bid, rng.uniform(0.55, 0.9), rng.uniform(0.5, 0.9))
        g: dict[str, Any] = {"id": gid, "kind": kind, "name": text(zh, en), "unit": unit,
                             "link": link, "address": address, "location": loc(*p),
                             "building": bid, "range": Flow(rng_)}
        if th:
            g["thresholds"] = th
            g["deadband"] = DEADBAND[kind]
            gas = kind in ("combustible_gas", "h2s", "nh3", "cl2", "co", "o2")
            g["on_delay_s"] = 2 if gas else 5
            g["off_delay_s"] = 0 if gas else 5
        if gid == "PT-210-01":  # low reactor pressure is expected while the feed is stopped
            g["suppressed_when"] = FlowMap(gauge="FT-210-01", below=50)
        out.append(g)
    return out


def write_gauges(rng: random.Random) -> list[dict[str, Any]]:
    gauges = build_gauges(rng)
    write_yaml(ROOT / "resources" / "gauges.yaml", """
# 仪表通讯链路与仪表 / Gauge links and gauges.
# 报警值参照 GB/T 50493-2019（可燃气体一级 ≤ 25 %LEL、二级 ≤ 50 %LEL）及 GBZ 2.1 职业接触限值。
# Limits follow GB/T 50493-2019 and GBZ 2.1; location is [lat, lon] (WGS-84).
# 演示模式下所有链路由内置模拟器驱动；此处描述的是现场真实接线。
# In the demo every link runs through the built-in simulator; this file describes the real wiring.
# 由 scripts/make_demo_site.py 生成；格式见 resources/README.md。
""", {"schema_version": 1, "links": LINKS, "gauges": gauges})
    return gauges


# --------------------------------------------------------------------------- roster

SHIFTS = [
    {"id": "A", "name": text("甲班", "Crew A"),
     "hours": "四班三倒：白班 08:00–16:00 / 中班 16:00–24:00 / 夜班 00:00–08:00，按轮值表轮换"},
    {"id": "B", "name": text("乙班", "Crew B"),
     "hours": "四班三倒：白班 08:00–16:00 / 中班 16:00–24:00 / 夜班 00:00–08:00，按轮值表轮换"},
    {"id": "C", "name": text("丙班", "Crew C"),
     "hours": "四班三倒：白班 08:00–16:00 / 中班 16:00–24:00 / 夜班 00:00–08:00，按轮值表轮换"},
    {"id": "D", "name": text("丁班", "Crew D"),
     "hours": "四班三倒：白班 08:00–16:00 / 中班 16:00–24:00 / 夜班 00:00–08:00，按轮值表轮换"},
    {"id": "day", "name": text("常白班", "Day staff"),
     "hours": "常白班 08:30–17:00（周一至周五）；其余时间按值班表电话待命"},
]

ROLES = [
    ("group_emergency_director", "集团应急总指挥", "Group emergency director", None),
    ("group_duty_officer", "集团应急值班员", "Group emergency duty officer", None),
    ("plant_commander", "总指挥", "Plant incident commander", None),
    ("deputy_commander", "副总指挥", "Deputy incident commander", None),
    ("site_commander", "现场指挥", "On-scene commander", None),
    ("safety_manager", "安环部经理", "HSE manager", None),
    ("ehs_engineer", "安全工程师", "Safety engineer", None),
    ("workshop_director", "车间主任", "Workshop director", None),
    ("shift_leader", "值班长", "Shift leader", None),
    ("control_room_operator", "内操", "Control-room operator", None),
    ("field_operator", "外操", "Field operator", None),
    ("fire_brigade", "专职消防队", "Plant fire brigade", ("灭火救援组", "Fire-fighting group")),
    ("rescue_team", "抢险组", "Rescue team", ("抢险组", "Rescue group")),
    ("evacuation_team", "警戒疏散组", "Cordon & evacuation team",
     ("警戒疏散组", "Cordon & evacuation group")),
    ("medical_team", "医疗救护组", "Medical team", ("医疗救护组", "Medical group")),
    ("communications_team", "通讯联络组", "Communications team",
     ("通讯联络组", "Communications group")),
    ("logistics_team", "后勤保障组", "Logistics team", ("后勤保障组", "Logistics group")),
    ("environmental_monitor", "环境监测组", "Environmental monitoring team",
     ("环境监测组", "Environmental monitoring group")),
    ("electrical_team", "电气抢修组", "Electrical repair team",
     ("电气抢修组", "Electrical repair group")),
    ("equipment_manager", "设备管理员", "Equipment manager", None),
    ("security_guard", "门卫保卫", "Security guard", None),
]

SURNAMES = [("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"),
            ("杨", "Yang"), ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"),
            ("徐", "Xu"), ("孙", "Sun"), ("朱", "Zhu"), ("胡", "Hu"), ("郭", "Guo"), ("何", "He"),
            ("高", "Gao"), ("林", "Lin"), ("沈", "Shen"), ("陆", "Lu"), ("顾", "Gu"),
            ("钱", "Qian"), ("姚", "Yao"), ("金", "Jin"), ("倪", "Ni"), ("陶", "Tao"),
            ("蒋", "Jiang"), ("蔡", "Cai"),
            ("丁", "Ding"), ("任", "Ren"), ("范", "Fan"), ("邵", "Shao"), ("汤", "Tang"),
            ("曹", "Cao"), ("潘", "Pan"), ("宋", "Song"), ("韩", "Han"), ("冯", "Feng"),
            ("施", "Shi"), ("严", "Yan"), ("龚", "Gong"), ("薛", "Xue"), ("俞", "Yu"),
            ("卢", "Lu"), ("戴", "Dai"), ("夏", "Xia"), ("秦", "Qin"), ("袁", "Yuan")]
GIVEN_M = [("建国", "Jianguo"), ("志强", "Zhiqiang"), ("伟", "Wei"), ("俊杰", "Junjie"),
           ("海涛", "Haitao"), ("明辉", "Minghui"), ("立新", "Lixin"), ("永刚", "Yonggang"),
           ("国华", "Guohua"), ("振宇", "Zhenyu"), ("浩然", "Haoran"), ("晓东", "Xiaodong"),
           ("卫东", "Weidong"), ("建华", "Jianhua"), ("文斌", "Wenbin"), ("德明", "Deming"),
           ("宏伟", "Hongwei"), ("子豪", "Zihao"), ("一鸣", "Yiming"), ("家豪", "Jiahao"),
           ("鹏飞", "Pengfei"), ("志刚", "Zhigang"), ("海峰", "Haifeng"), ("建军", "Jianjun"),
           ("国强", "Guoqiang"), ("晨阳", "Chenyang"), ("凯", "Kai"), ("磊", "Lei"),
           ("勇", "Yong"), ("斌", "Bin"), ("超", "Chao"), ("杰", "Jie"), ("刚", "Gang"),
           ("涛", "Tao"), ("军", "Jun"), ("明", "Ming"), ("峰", "Feng"), ("波", "Bo"),
           ("亮", "Liang"), ("健", "Jian"), ("毅", "Yi"), ("立群", "Liqun"), ("永康", "Yongkang"),
           ("天宇", "Tianyu"), ("思远", "Siyuan"), ("宇航", "Yuhang"), ("文涛", "Wentao"),
           ("春生", "Chunsheng"), ("金龙", "Jinlong"), ("庆华", "Qinghua"),
           ("忠良", "Zhongliang"), ("学军", "Xuejun"), ("耀华", "Yaohua"), ("正平", "Zhengping"),
           ("新民", "Xinmin"), ("士杰", "Shijie"), ("嘉诚", "Jiacheng"), ("志远", "Zhiyuan"),
           ("俊峰", "Junfeng"), ("晓明", "Xiaoming"), ("伟民", "Weimin"), ("国平", "Guoping"),
           ("建平", "Jianping"), ("利民", "Limin"), ("振华", "Zhenhua"), ("文杰", "Wenjie"),
           ("小龙", "Xiaolong"), ("俊辉", "Junhui"), ("洪波", "Hongbo"), ("东升", "Dongsheng")]
GIVEN_F = [("丽娟", "Lijuan"), ("秀英", "Xiuying"), ("晓燕", "Xiaoyan"), ("静", "Jing"),
           ("敏", "Min"), ("婷婷", "Tingting"), ("雪梅", "Xuemei"), ("慧敏", "Huimin"),
           ("丽华", "Lihua"), ("佳怡", "Jiayi"), ("思琪", "Siqi"), ("玉兰", "Yulan"),
           ("春燕", "Chunyan"), ("海燕", "Haiyan"), ("红梅", "Hongmei"), ("颖", "Ying"),
           ("琳", "Lin"), ("芳", "Fang"), ("晓雯", "Xiaowen"), ("欣怡", "Xinyi"),
           ("梦瑶", "Mengyao"), ("文静", "Wenjing"), ("美玲", "Meiling"), ("艳", "Yan"),
           ("雅琴", "Yaqin"), ("凤英", "Fengying")]

DEPT = {
    "group": text("东海化工集团 安全环保部", "Donghai Chemical Group — HSE department"),
    "group_exec": text("东海化工集团 总经理办公室", "Donghai Chemical Group — executive office"),
    "mgmt": text("厂部", "Plant management"),
    "hse": text("安全环保部", "HSE department"),
    "prod": text("生产技术部（调度中心）", "Production & technology (dispatch centre)"),
    "ca": text("氯碱车间", "Chlor-alkali workshop"),
    "org": text("有机合成车间", "Organic synthesis workshop"),
    "stor": text("储运车间", "Storage & logistics workshop"),
    "util": text("公用工程车间", "Utilities workshop"),
    "equip": text("设备动力部", "Equipment & power department"),
    "ei": text("电仪车间", "Electrical & instrument workshop"),
    "fire": text("专职消防队", "Plant fire brigade"),
    "sec": text("保卫部", "Security department"),
    "office": text("综合办公室", "General office"),
    "qc": text("质检中心", "QC laboratory"),
    "clinic": text("医务室", "First-aid clinic"),
    "supply": text("物资供应部", "Procurement & stores"),
}

# (title zh, title en, department, roles, channels, how many)
DAY_STAFF: list[tuple[str, str, str, list[str], list[str], int]] = [
    ("集团副总裁（分管安全）", "Group vice-president, safety", "group",
     ["group_emergency_director"], ["phone", "sms", "email"], 1),
    ("集团应急值班员", "Group emergency duty officer", "group", ["group_duty_officer"],
     ["sms", "phone", "wecom", "email"], 2),
    ("厂长", "Plant manager", "mgmt", ["plant_commander"], ["phone", "sms", "wecom", "email"], 1),
    ("生产副厂长", "Deputy plant manager, production", "mgmt",
     ["deputy_commander", "plant_commander"],
     ["sms", "phone", "wecom", "email"], 1),
    ("安全总监", "Safety director", "mgmt", ["deputy_commander", "safety_manager"],
     ["sms", "phone", "wecom", "email"], 1),
    ("生产技术部经理", "Production manager", "prod", ["site_commander"],
     ["sms", "phone", "wecom", "email"], 1),
    ("安环部经理", "HSE manager", "hse", ["safety_manager"], ["sms", "phone", "wecom", "email"],
     1),
    ("安全工程师", "Safety engineer", "hse", ["ehs_engineer"], ["sms", "wecom", "phone", "email"],
     2),
    ("环保工程师", "Environmental engineer", "hse", ["ehs_engineer", "environmental_monitor"],
     ["sms", "wecom", "phone", "email"], 1),
    ("氯碱车间主任", "Chlor-alkali workshop director", "ca", ["workshop_director"],
     ["sms", "phone", "wecom", "email"], 1),
    ("有机合成车间主任", "Organic synthesis workshop director", "org",
     ["workshop_director", "site_commander"], ["sms", "phone", "wecom", "email"], 1),
    ("储运车间主任", "Storage & logistics workshop director", "stor", ["workshop_director"],
     ["sms", "phone", "wecom", "email"], 1),
    ("公用工程车间主任", "Utilities workshop director", "util", ["workshop_director"],
     ["sms", "phone", "wecom", "email"], 1),
    ("设备动力部经理", "Equipment & power manager", "equip", ["equipment_manager"],
     ["sms", "phone", "wecom", "email"], 1),
    ("设备管理员", "Equipment officer", "equip", ["equipment_manager", "rescue_team"],
     ["sms", "wecom", "phone", "email"], 1),
    ("维修钳工班长", "Maintenance fitter foreman", "equip", ["rescue_team"],
     ["sms", "phone", "pa"], 1),
    ("维修钳工", "Maintenance fitter", "equip", ["rescue_team"], ["sms", "phone", "pa"], 3),
    ("电焊工", "Welder", "equip", ["rescue_team"], ["sms", "phone", "pa"], 1),
    ("电气工程师", "Electrical engineer", "ei", ["electrical_team"],
     ["sms", "phone", "wecom", "email"], 1),
    ("仪表工程师", "Instrument engineer", "ei", ["electrical_team"],
     ["sms", "phone", "wecom", "email"], 1),
    ("消防队长", "Fire brigade chief", "fire", ["fire_brigade", "site_commander"],
     ["sms", "phone", "pa"], 1),
    ("保卫部部长", "Head of security", "sec", ["security_guard", "evacuation_team"],
     ["sms", "phone", "wecom", "email"], 1),
    ("综合办公室主任", "Head of the general office", "office",
     ["communications_team", "evacuation_team"], ["sms", "wecom", "phone", "email"], 1),
    ("行政专员", "Administration officer", "office", ["evacuation_team"],
     ["sms", "wecom", "email"], 2),
    ("信息工程师", "IT engineer", "office", ["communications_team"],
     ["sms", "wecom", "phone", "email"], 1),
    ("医生", "Doctor", "clinic", ["medical_team"], ["sms", "phone", "pa", "email"], 1),
    ("护士", "Nurse", "clinic", ["medical_team"], ["sms", "phone", "pa", "email"], 1),
    ("物资供应部经理", "Procurement manager", "supply", ["logistics_team"],
     ["sms", "wecom", "phone", "email"], 1),
    ("仓库保管员", "Storekeeper", "supply", ["logistics_team"], ["sms", "phone", "email"], 1),
    ("后勤主管", "Facilities supervisor", "office", ["logistics_team"],
     ["sms", "wecom", "phone", "email"], 1),
    ("质检中心主任", "QC laboratory head", "qc", ["environmental_monitor"],
     ["sms", "wecom", "phone", "email"], 1),
    ("环境监测分析员", "Environmental analyst", "qc", ["environmental_monitor"],
     ["sms", "phone", "email"], 1),
]

# Appended after the crews (so the ids and names above stay as they are): a second holder for
# the roles that have only one, so that nobody's absence leaves a plan's top role empty.
DEPUTIES: list[tuple[str, str, str, list[str], list[str]]] = [
    ("集团总经理", "Group general manager", "group_exec", ["group_emergency_director"],
     ["phone", "sms", "email"]),
]

KEY_ROLES = ("group_emergency_director", "plant_commander", "deputy_commander",
             "site_commander", "safety_manager", "workshop_director")
"""Roles every plan relies on: each must have at least two holders."""

CREW: list[tuple[str, str, str, list[str], list[str]]] = [
    ("值班长", "Shift leader", "prod", ["shift_leader", "site_commander"], ["sms", "phone", "pa"]),
    ("内操（主操）", "Control-room operator (lead)", "prod",
     ["control_room_operator", "communications_team"], ["pa", "sms", "phone"]),
    ("内操", "Control-room operator", "prod", ["control_room_operator"], ["pa", "sms", "phone"]),
    ("外操", "Field operator", "ca", ["field_operator", "rescue_team"], ["sms", "pa", "phone"]),
    ("外操", "Field operator", "org", ["field_operator", "rescue_team"], ["sms", "pa", "phone"]),
    ("外操（储运）", "Field operator (tank farm)", "stor",
     ["field_operator", "environmental_monitor"], ["sms", "pa", "phone"]),
    ("消防班长", "Fire crew leader", "fire", ["fire_brigade", "medical_team"],
     ["pa", "sms", "phone"]),
    ("消防员", "Firefighter", "fire", ["fire_brigade"], ["pa", "sms", "phone"]),
    ("消防员", "Firefighter", "fire", ["fire_brigade"], ["pa", "sms", "phone"]),
    ("门卫", "Gate guard", "sec", ["security_guard", "evacuation_team"], ["sms", "phone"]),
    ("门卫", "Gate guard", "sec", ["security_guard"], ["sms", "phone"]),
    ("值班电工", "Duty electrician", "ei", ["electrical_team"], ["sms", "phone", "pa"]),
]

FEMALE_TITLES = {"护士", "行政专员", "环境监测分析员", "仓库保管员"}


def build_roster(rng: random.Random) -> dict[str, Any]:
    used_names: set[str] = set()
    used_mail: set[str] = set()

    def name(female: bool) -> tuple[str, str]:
        while True:
            sz, sp = rng.choice(SURNAMES)
            gz, gp = rng.choice(GIVEN_F if female else GIVEN_M)
            if sz + gz not in used_names:
                used_names.add(sz + gz)
                return sz + gz, f"{sp} {gp}"

    people: list[dict[str, Any]] = []
    phone = [100]

    def person(title_zh: str, title_en: str, dept: str, roles: list[str], channels: list[str],
               shift: str, female: bool, group: bool = False) -> None:
        zh, en = name(female)
        phone[0] += 1
        num = f"+86 {'138' if group else '139'} 0000 {phone[0]:04d}"
        p: dict[str, Any] = {"id": f"DH{1000 + len(people) + 1}", "name": zh, "name_en": en,
                             "title": text(title_zh, title_en), "department": DEPT[dept],
                             "roles": Flow(roles), "shift": shift, "phone": num}
        if "email" in channels:
            sp, gp = en.lower().split(" ", 1)
            mail = f"{gp}.{sp}"
            k = 1
            while mail in used_mail:
                k += 1
                mail = f"{gp}.{sp}{k}"
            used_mail.add(mail)
            p["email"] = f"{mail}@dhchem.example"
        p["channels"] = Flow(channels)
        people.append(p)

    for title_zh, title_en, dept, roles, channels, count in DAY_STAFF:
        for _ in range(count):
            female = title_zh in FEMALE_TITLES or rng.random() < 0.15
            person(title_zh, title_en, dept, roles, channels, "day", female,
                   group=dept == "group")
    for crew in ("A", "B", "C", "D"):
        for title_zh, title_en, dept, roles, channels in CREW:
            female = "control_room_operator" in roles and rng.random() < 0.5
            person(title_zh, title_en, dept, roles, channels, crew, female)
    for title_zh, title_en, dept, roles_held, channels in DEPUTIES:
        person(title_zh, title_en, dept, roles_held, channels, "day", False,
               group=dept.startswith("group"))
    roles = []
    for rid, zh, en, group in ROLES:
        r: dict[str, Any] = {"id": rid, "name": text(zh, en)}
        if group:
            r["group"] = text(*group)
        roles.append(r)
    held = {r for p in people for r in p["roles"]}
    missing = [r[0] for r in ROLES if r[0] not in held]
    if missing:
        raise ValueError(f"roles nobody holds: {missing}")
    single = [rid for rid in KEY_ROLES if sum(rid in p["roles"] for p in people) < 2]
    if single:
        raise ValueError(f"key roles with fewer than two holders: {single}")
    for rid in ("shift_leader", "control_room_operator", "field_operator", "fire_brigade",
                "security_guard", "site_commander"):
        crews = {p["shift"] for p in people if rid in p["roles"]}
        if not {"A", "B", "C", "D"} <= crews:
            raise ValueError(f"role {rid} is not covered on every crew")
    return {"schema_version": 1, "shifts": SHIFTS, "roles": roles, "people": people}


def write_roster(rng: random.Random) -> dict[str, Any]:
    roster = build_roster(rng)
    write_yaml(ROOT / "resources" / "roster.yaml", """
# 应急人员名册 / Responder roster: shifts, emergency roles, people.
# 人员、电话、邮箱均为虚构（演示数据）。All people, numbers and addresses are fictitious.
# channels 按优先顺序排列 / channels are listed most preferred first.
# 由 scripts/make_demo_site.py 生成；格式见 resources/README.md。
""", roster)
    return roster


# --------------------------------------------------------------------------- main


def main() -> None:
    rng = random.Random(SEED)
    BY_ID.clear()
    BY_ID.update({b["id"]: b for b in BUILDINGS})
    (ROOT / "maps").mkdir(exist_ok=True)
    (ROOT / "resources").mkdir(exist_ok=True)
    net, entrances = build_network()
    ids = write_network_geojson(net)
    write_site_geojson({bid: ids[i] for bid, i in entrances.items()})
    write_site_yaml()
    resources = write_resources(rng)
    gauges = write_gauges(rng)
    roster = write_roster(rng)
    print(f"buildings {len(BUILDINGS)}, zones {len(ZONES)}, nodes {len(net.nodes)}, "
          f"edges {len(net.edges)}, resources {len(resources)}, gauges {len(gauges)}, "
          f"people {len(roster['people'])}")


if __name__ == "__main__":
    main()
