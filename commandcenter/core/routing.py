"""Nearest resources and evacuation routes on the site network, fast enough to redo on every change.

The site's road/walkway network stays an editable networkx graph (:meth:`Site.network`). A
:class:`SiteRouter` is built from one snapshot of it and answers questions on arrays: a CSR
adjacency matrix for scipy's Dijkstra, node positions in a local metric projection, edge geometry
as segment arrays for a vectorised zone test. Build a new router when the network is edited.

**Nearest resources** are nearest *along the network* from the incident point. People use roads
and walkways at the site's walking speed; vehicles (:data:`VEHICLE_KINDS`) use roads only at the
vehicle speed. A vehicle drives to the road junction that is nearest to the incident on foot and
its crew walks the rest (nothing to walk when the incident is on a road).

**Evacuation** routes every building, from its ``entrance_node``, to the nearest assembly point
that lies outside the hazard zone:

- an edge is *in the zone* when any part of its geometry crosses the zone;
- a route whose entrance lies outside the zone never uses an edge in the zone;
- a route whose entrance lies inside the zone may use edges in the zone only until it first
  reaches a node outside the zone (it may not re-enter). Each metre walked in the zone counts as
  :data:`INSIDE_WEIGHT` (1000) metres, so the route leaves the zone by the shortest way out —
  a way out 1 m longer wins only if it saves more than 1 km outside — and the rest of the route
  is the shortest safe one from that exit. Every edge walked from a node inside the zone counts
  as walked inside (:attr:`EvacuationRoute.inside_m`);
- an assembly point is usable when neither it, its network node, nor the short walk between
  them touches the zone;
- assembly points downwind of the release carry a penalty, ``downwind_penalty_m`` times the
  cosine of their angle off the wind's axis (crosswind and upwind points carry none), so an
  upwind or crosswind point is preferred unless the downwind one is much nearer;
- a building with no such route is *stranded* and reported as such; it is never routed through
  the zone.

All of this is one multi-source Dijkstra from every usable assembly point (a reverse search
through a virtual source joined to each assembly point by its penalty), whatever the number of
buildings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import networkx as nx
import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from commandcenter.core.geodesy import EARTH_RADIUS_M
from commandcenter.core.hazard import HazardZone
from commandcenter.core.site import EdgeKind, ResourceKind, Site
from commandcenter.errors import RoutingError

VEHICLE_KINDS = frozenset({ResourceKind.FIRE_TRUCK.value, ResourceKind.AMBULANCE.value})
"""Resource kinds that drive (roads only, vehicle speed); every other kind is reached on foot."""

ASSEMBLY_KIND = ResourceKind.ASSEMBLY_POINT.value

DEFAULT_MAX_SNAP_M = 500.0
"""A point farther than this from every network node is not on the site's network."""

DEFAULT_DOWNWIND_PENALTY_M = 500.0
"""Extra metres charged for an assembly point straight downwind of the release."""

INSIDE_WEIGHT = 1000.0
"""How many metres one metre walked inside the hazard zone counts as (route from inside)."""

_NONE = -9999  # scipy's "no predecessor"

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class ResourceLike(Protocol):
    """What the router needs of a resource (:class:`~commandcenter.core.site.Resource` fits)."""

    @property
    def id(self) -> str:
        """The resource's id."""

    @property
    def kind(self) -> str:
        """Its kind (a :class:`~commandcenter.core.site.ResourceKind` value)."""

    @property
    def location(self) -> tuple[float, float]:
        """Where it is, ``(lat, lon)``."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a question starts: a building's entrance or a point snapped to the network.

    Attributes:
        label: The building id, or ``"lat,lon"`` for a point.
        lat: Latitude of the point asked about (the entrance node for a building).
        lon: Longitude of it.
        node: The network node the search starts from.
        offset_m: Straight distance from the point to that node (0 for a building).
        building: The building id when the question was about a building.
    """

    label: str
    lat: float
    lon: float
    node: str
    offset_m: float
    building: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON-able data."""
        return {"label": self.label, "location": [self.lat, self.lon], "node": self.node,
                "offset_m": round(self.offset_m, 1), "building": self.building}


@dataclass(frozen=True, slots=True)
class ResourceHit:
    """One resource and how far it is from the incident along the network.

    Attributes:
        resource: The resource's id.
        kind: Its kind.
        distance_m: Network distance, including the short straight legs between the resource
            and its node and between the incident point and its node.
        time_s: Travel time at the walking or (for the driven part) vehicle speed.
        straight_m: Crow-flight distance, for reference only.
        by_vehicle: Whether it drives (roads only).
        walk_m: The part walked: all of it on foot; for a vehicle, the crew's walk from the
            road to the incident.
        coords: The way as ``(lat, lon)`` points, from the resource to the incident, with the
            bends of every edge on it.
        in_zone: Whether the resource itself lies in the hazard zone (``None``: no zone given).
    """

    resource: str
    kind: str
    distance_m: float
    time_s: float
    straight_m: float
    by_vehicle: bool
    walk_m: float
    coords: tuple[tuple[float, float], ...]
    in_zone: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON-able data."""
        return {"resource": self.resource, "kind": self.kind,
                "distance_m": round(self.distance_m, 1), "time_s": round(self.time_s, 1),
                "straight_m": round(self.straight_m, 1), "by_vehicle": self.by_vehicle,
                "walk_m": round(self.walk_m, 1), "in_zone": self.in_zone,
                "coords": [list(c) for c in self.coords]}


@dataclass(frozen=True, slots=True, eq=False)
class _Geometry:
    """What it takes to turn a walk over nodes into the drawn way, bends included.

    Attributes:
        n: Number of nodes.
        keys_sorted: Undirected edge keys (``lo * n + hi``), sorted.
        key_order: Edge index of each sorted key.
        eu: First node of each edge (its bends run from it to the other node).
        bend_off: Edge ``e``'s bends are points ``n + bend_off[e] … n + bend_off[e + 1] - 1``.
        lat: Latitudes of the point table: the nodes, then every edge's bends.
        lon: Longitudes of it.
        edge_ids: Edge ids.
    """

    n: int
    keys_sorted: IntArray
    key_order: IntArray
    eu: IntArray
    bend_off: IntArray
    lat: FloatArray
    lon: FloatArray
    edge_ids: NDArray[np.object_]

    def edges(self, a: IntArray, b: IntArray) -> IntArray:
        """Return the index of the edge joining each ``a[i]`` to ``b[i]`` (they must be joined)."""
        keys = np.minimum(a, b) * self.n + np.maximum(a, b)
        found: IntArray = self.key_order[np.searchsorted(self.keys_sorted, keys)]
        return found

    def expand(self, flat: IntArray, offsets: IntArray) -> tuple[IntArray, IntArray]:
        """Insert each walked edge's bends, in walking order, into walks over nodes.

        Args:
            flat: The walks' nodes, concatenated.
            offsets: Walk ``r`` is ``flat[offsets[r]:offsets[r + 1]]``.

        Returns:
            Indices into the point table (:attr:`lat`, :attr:`lon`) and the new offsets.
        """
        size = flat.size
        if size < 2 or self.bend_off[-1] == 0:
            return flat, offsets
        last = np.zeros(size, dtype=np.bool_)
        last[offsets[1:] - 1] = True
        pair = np.flatnonzero(~last)  # flat[p] -> flat[p + 1] is one edge walked
        a = flat[pair]
        e = self.edges(a, flat[pair + 1])
        count = self.bend_off[e + 1] - self.bend_off[e]
        if not count.any():
            return flat, offsets
        extra = np.zeros(size, dtype=np.int64)
        extra[pair] = count
        before = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(extra, out=before[1:])
        at = np.arange(size) + before[:-1]  # where each node lands
        out = np.empty(size + int(before[-1]), dtype=np.int64)
        out[at] = flat
        which = np.repeat(np.arange(pair.size), count)
        k = np.arange(which.size) - np.repeat(np.cumsum(count) - count, count)
        forward = (self.eu[e] == a)[which]
        first = np.where(forward, self.bend_off[e][which], self.bend_off[e + 1][which] - 1)
        out[at[pair][which] + 1 + k] = self.n + first + np.where(forward, k, -k)
        return out, offsets + before[offsets]

    def points(self, idx: IntArray) -> list[tuple[float, float]]:
        """Return ``(lat, lon)`` of points of the table."""
        return list(zip(self.lat[idx].tolist(), self.lon[idx].tolist(), strict=True))


@dataclass(frozen=True, slots=True, eq=False)
class _RouteStore:
    """The nodes of every route of one plan, as flat arrays shared by its routes."""

    node_ids: NDArray[np.object_]
    nodes: IntArray
    geo: _Geometry


@dataclass(frozen=True, slots=True)
class EvacuationRoute:
    """A building's way out to its assembly point.

    The way itself is kept as arrays shared by the whole plan; :attr:`node_ids`, :attr:`edge_ids`
    and :attr:`coords` (the drawn way, with the bends of every edge) build Python tuples on
    access.

    Attributes:
        building: The building's id.
        assembly_point: The chosen assembly point's id.
        assembly_location: Where that assembly point is, ``(lat, lon)``.
        length_m: Length along the network plus the last few metres to the assembly point.
        inside_m: The part walked inside the hazard zone (only for entrances inside it).
        walk_s: Time at the site's walking speed.
        starts_inside: Whether the entrance lies inside the zone.
        upwind: Whether the assembly point lies upwind of the release.
        hops: How many network edges the route walks.
    """

    building: str
    assembly_point: str
    assembly_location: tuple[float, float]
    length_m: float
    inside_m: float
    walk_s: float
    starts_inside: bool
    upwind: bool
    hops: int
    _store: _RouteStore = field(repr=False, compare=False)
    _start: int = field(repr=False, compare=False)

    @property
    def node_ids(self) -> tuple[str, ...]:
        """The network nodes walked, from the entrance to the assembly point's node."""
        ids: list[str] = self._store.node_ids[self._start:self._start + self.hops + 1].tolist()
        return tuple(ids)

    @property
    def edge_ids(self) -> tuple[str, ...]:
        """The network edges walked, in order (their ``id``)."""
        geo = self._store.geo
        nodes = self._store.nodes[self._start:self._start + self.hops + 1]
        ids: list[str] = geo.edge_ids[geo.edges(nodes[:-1], nodes[1:])].tolist()
        return tuple(ids)

    @property
    def coords(self) -> tuple[tuple[float, float], ...]:
        """``(lat, lon)`` of the way walked, then the assembly point itself.

        The way is every walked edge's own geometry, bends included, in walking order, from the
        entrance to the assembly point's node.
        """
        geo = self._store.geo
        nodes = self._store.nodes[self._start:self._start + self.hops + 1]
        idx, _ = geo.expand(nodes, np.array([0, nodes.size], dtype=np.int64))
        return (*geo.points(idx), self.assembly_location)

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON-able data."""
        return {"building": self.building, "assembly_point": self.assembly_point,
                "length_m": round(self.length_m, 1), "walk_s": round(self.walk_s, 1),
                "inside_m": round(self.inside_m, 1), "starts_inside": self.starts_inside,
                "upwind": self.upwind, "nodes": list(self.node_ids),
                "coords": [list(c) for c in self.coords]}


@dataclass(frozen=True, slots=True)
class Stranded:
    """A building with no safe way to any usable assembly point.

    Attributes:
        building: The building's id.
        reason: Why, in words for the commander.
        starts_inside: Whether its entrance lies inside the zone.
        occupancy: People usually inside (0 when unknown).
    """

    building: str
    reason: str
    starts_inside: bool
    occupancy: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON-able data."""
        return {"building": self.building, "reason": self.reason,
                "starts_inside": self.starts_inside, "occupancy": self.occupancy}


@dataclass(frozen=True, slots=True)
class EvacuationPlan:
    """Routes from every building to a safe assembly point, for one hazard zone.

    Attributes:
        zone: The zone the plan avoids.
        routes: Route per building id (buildings with a safe route only).
        stranded: Buildings with no safe route, most people first.
        assembly_points_in_zone: Assembly points that must not be used (in or touching the zone).
        zone_edges: Ids of the network edges in the zone.
        zone_nodes: Ids of the network nodes in the zone.
    """

    zone: HazardZone
    routes: Mapping[str, EvacuationRoute]
    stranded: tuple[Stranded, ...]
    assembly_points_in_zone: tuple[str, ...]
    zone_edges: tuple[str, ...]
    zone_nodes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON-able data."""
        return {"routes": [r.to_dict() for r in self.routes.values()],
                "stranded": [s.to_dict() for s in self.stranded],
                "assembly_points_in_zone": list(self.assembly_points_in_zone),
                "zone_edges": len(self.zone_edges), "zone_nodes": len(self.zone_nodes)}


@dataclass(frozen=True, slots=True)
class IncidentAnswer:
    """Everything the commander needs for one zone: where, what is near, how people get out.

    Attributes:
        origin: The incident point as snapped to the network.
        nearest: Nearest resources per kind, nearest first.
        evacuation: The evacuation plan around the zone.
    """

    origin: Origin
    nearest: Mapping[str, tuple[ResourceHit, ...]]
    evacuation: EvacuationPlan

    @property
    def zone(self) -> HazardZone:
        """The hazard zone this answer is for."""
        return self.evacuation.zone

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON-able data."""
        return {"origin": self.origin.to_dict(), "zone": self.zone.to_dict(),
                "nearest": {k: [h.to_dict() for h in hits] for k, hits in self.nearest.items()},
                "evacuation": self.evacuation.to_dict()}


# --------------------------------------------------------------------------- the router


class SiteRouter:
    """Answers routing questions on one snapshot of the site network.

    Args:
        graph: Undirected network; nodes carry ``lat``/``lon``, edges ``length_m``, ``kind``
            (``"road"`` or ``"walkway"``) and optionally ``id``.
        buildings: Building id → its entrance node id.
        resources: Emergency resources; assembly points are those of kind ``assembly_point``.
        walking_speed_mps: Speed of people on foot.
        vehicle_speed_mps: Speed of vehicles on roads.
        edge_paths: Edge id → its geometry as ``(lat, lon)`` points, for the zone test (an edge
            without one is taken as straight).
        occupancy: Building id → people usually inside (reported for stranded buildings).
        max_snap_m: The farthest a point or resource may lie from the network.
        downwind_penalty_m: Extra metres charged for an assembly point straight downwind.

    Raises:
        RoutingError: The graph has no nodes, or a node or edge lacks what routing needs.
    """

    def __init__(self, graph: nx.Graph, *, buildings: Mapping[str, str],
                 resources: Iterable[ResourceLike] = (),
                 walking_speed_mps: float = 1.2, vehicle_speed_mps: float = 8.3,
                 edge_paths: Mapping[str, list[tuple[float, float]]] | None = None,
                 occupancy: Mapping[str, int] | None = None,
                 max_snap_m: float = DEFAULT_MAX_SNAP_M,
                 downwind_penalty_m: float = DEFAULT_DOWNWIND_PENALTY_M) -> None:
        if graph.number_of_nodes() == 0:
            raise RoutingError("the site network has no nodes: nothing to route on")
        if walking_speed_mps <= 0 or vehicle_speed_mps <= 0:
            raise RoutingError("walking and vehicle speeds must be > 0")
        self.walking_speed_mps = walking_speed_mps
        self.vehicle_speed_mps = vehicle_speed_mps
        self.max_snap_m = max_snap_m
        self.downwind_penalty_m = downwind_penalty_m
        self._build_nodes(graph)
        self._build_edges(graph, edge_paths or {})
        self._build_matrices()
        self._build_buildings(buildings, occupancy or {})
        self._build_resources(resources)

    @classmethod
    def from_site(cls, site: Site, **options: Any) -> SiteRouter:
        """Build a router over ``site``'s network, buildings and resources (with edge geometry)."""
        info = site.info
        speeds: dict[str, Any] = {}
        if info is not None:
            speeds = {"walking_speed_mps": info.walking_speed_mps,
                      "vehicle_speed_mps": info.vehicle_speed_mps}
        paths = {e.id: [(p[1], p[0]) for p in e.path] for e in site.edges.values()}
        return cls(site.network(),
                   buildings={b.id: b.entrance_node for b in site.buildings.values()},
                   resources=site.resources.values(), edge_paths=paths,
                   occupancy={b.id: b.occupancy for b in site.buildings.values()},
                   **speeds, **options)

    # ------------------------------------------------------------------ construction

    def _build_nodes(self, graph: nx.Graph) -> None:
        ids: list[str] = []
        lat = np.empty(graph.number_of_nodes())
        lon = np.empty(graph.number_of_nodes())
        for i, (node, data) in enumerate(graph.nodes(data=True)):
            try:
                lat[i] = float(data["lat"])
                lon[i] = float(data["lon"])
            except (KeyError, TypeError, ValueError) as err:
                raise RoutingError(f"network node {node!r} has no usable lat/lon") from err
            ids.append(str(node))
        if not (np.isfinite(lat).all() and np.isfinite(lon).all()):
            raise RoutingError("the site network has a node with a non-finite lat/lon")
        self._node_ids = ids
        self._node_ids_arr = np.array(ids, dtype=object)
        self._index = {n: i for i, n in enumerate(ids)}
        self._n = len(ids)
        self._lat, self._lon = lat, lon
        self._lat0 = float(lat.mean())
        self._lon0 = float(lon.mean())
        self._x, self._y = self._project(lat, lon)
        self._tree = cKDTree(np.column_stack([self._x, self._y]))

    def _project(self, lat: FloatArray | float, lon: FloatArray | float
                 ) -> tuple[FloatArray, FloatArray]:
        k = math.pi / 180.0 * EARTH_RADIUS_M
        x = (np.asarray(lon, dtype=np.float64) - self._lon0) * \
            (k * math.cos(math.radians(self._lat0)))
        y = (np.asarray(lat, dtype=np.float64) - self._lat0) * k
        return x, y

    def _build_edges(self, graph: nx.Graph,
                     edge_paths: Mapping[str, list[tuple[float, float]]]) -> None:
        m = graph.number_of_edges()
        eu = np.empty(m, dtype=np.int64)
        ev = np.empty(m, dtype=np.int64)
        length = np.empty(m)
        road = np.zeros(m, dtype=np.bool_)
        eids: list[str] = []
        seg_a: list[tuple[float, float]] = []
        seg_b: list[tuple[float, float]] = []
        seg_edge: list[int] = []
        bend_lat: list[float] = []
        bend_lon: list[float] = []
        bend_off = np.zeros(m + 1, dtype=np.int64)
        index = self._index
        for i, (u, v, data) in enumerate(graph.edges(data=True)):
            iu, iv = index[str(u)], index[str(v)]
            eu[i], ev[i] = iu, iv
            try:
                length[i] = float(data["length_m"])
                kind = str(data["kind"])
            except (KeyError, TypeError, ValueError) as err:
                raise RoutingError(f"network edge {u!r}–{v!r} lacks length_m or kind") from err
            if not (math.isfinite(length[i]) and length[i] >= 0):
                raise RoutingError(f"network edge {u!r}–{v!r} has length {length[i]} m")
            if kind not in (EdgeKind.ROAD.value, EdgeKind.WALKWAY.value):
                raise RoutingError(f"network edge {u!r}–{v!r} has unknown kind {kind!r}")
            road[i] = kind == EdgeKind.ROAD.value
            eid = str(data.get("id", f"{u}-{v}"))
            eids.append(eid)
            pu = (float(self._lat[iu]), float(self._lon[iu]))
            pv = (float(self._lat[iv]), float(self._lon[iv]))
            path = edge_paths.get(eid)
            if path:
                head = path[0]
                from_u = path
                if (head[0] - pu[0]) ** 2 + (head[1] - pu[1]) ** 2 > \
                        (head[0] - pv[0]) ** 2 + (head[1] - pv[1]) ** 2:
                    # Drawn from v to u: the bends, kept from u to v, run the other way.
                    from_u = path[::-1]
                    pu, pv = pv, pu
                bends = [p for p in from_u if not (_same(p, pu) or _same(p, pv))]
                points = [pu, *path, pv]
                bend_lat.extend(float(p[0]) for p in bends)
                bend_lon.extend(float(p[1]) for p in bends)
            else:
                points = [pu, pv]
            bend_off[i + 1] = len(bend_lat)
            seg_a.extend(points[:-1])
            seg_b.extend(points[1:])
            seg_edge.extend([i] * (len(points) - 1))
        self._eu, self._ev, self._len, self._road = eu, ev, length, road
        self._edge_ids = np.array(eids, dtype=object)
        a = np.array(seg_a, dtype=np.float64).reshape(-1, 2)
        b = np.array(seg_b, dtype=np.float64).reshape(-1, 2)
        self._seg_lat1, self._seg_lon1 = a[:, 0], a[:, 1]
        self._seg_lat2, self._seg_lon2 = b[:, 0], b[:, 1]
        self._seg_edge = np.array(seg_edge, dtype=np.int64)
        self._seg_box = (np.minimum(a[:, 0], b[:, 0]), np.maximum(a[:, 0], b[:, 0]),
                         np.minimum(a[:, 1], b[:, 1]), np.maximum(a[:, 1], b[:, 1]))
        # Undirected edge lookup by node pair: key = lo * n + hi, sorted.
        lo, hi = np.minimum(eu, ev), np.maximum(eu, ev)
        keys = lo * self._n + hi
        key_order = np.argsort(keys, kind="stable")
        self._geo = _Geometry(
            self._n, keys[key_order], key_order, eu, bend_off,
            np.concatenate([self._lat, np.array(bend_lat, dtype=np.float64)]),
            np.concatenate([self._lon, np.array(bend_lon, dtype=np.float64)]),
            self._edge_ids)
        on_road = np.zeros(self._n, dtype=np.bool_)
        on_road[eu[road]] = True
        on_road[ev[road]] = True
        self._on_road = on_road
        self._road_nodes = np.flatnonzero(on_road)
        self._road_tree = cKDTree(np.column_stack([self._x[on_road], self._y[on_road]])) \
            if self._road_nodes.size else None

    def _csr(self, rows: IntArray, cols: IntArray, size: int
             ) -> tuple[IntArray, NDArray[np.int32], NDArray[np.int32]]:
        """Return the entry order, column indices and row pointers of a fixed CSR structure."""
        order = np.lexsort((cols, rows))
        indices = cols[order].astype(np.int32)
        indptr = np.zeros(size + 1, dtype=np.int32)
        np.cumsum(np.bincount(rows, minlength=size), out=indptr[1:])
        return order, indices, indptr

    def _build_matrices(self) -> None:
        n = self._n
        eidx = np.arange(self._eu.size)
        rows = np.concatenate([self._eu, self._ev])
        cols = np.concatenate([self._ev, self._eu])
        edge = np.concatenate([eidx, eidx])
        order, indices, indptr = self._csr(rows, cols, n)
        self._walk = csr_matrix((self._len[edge[order]], indices, indptr), shape=(n, n))
        self._component = connected_components(self._walk, directed=False)[1]
        keep = self._road[edge]
        order_r, indices_r, indptr_r = self._csr(rows[keep], cols[keep], n)
        self._drive = csr_matrix((self._len[edge[keep][order_r]], indices_r, indptr_r),
                                 shape=(n, n))
        # The evacuation search runs on the reversed graph, from a virtual source (index n)
        # joined to assembly-point nodes; those entries are appended in _build_resources.
        self._evac_rows = rows
        self._evac_cols = cols
        self._evac_edge = edge

    def _build_buildings(self, buildings: Mapping[str, str], occupancy: Mapping[str, int]
                         ) -> None:
        self._building_ids = list(buildings)
        self._building_index = {b: i for i, b in enumerate(self._building_ids)}
        self._entrance = np.array([self._index.get(str(buildings[b]), -1)
                                   for b in self._building_ids], dtype=np.int64)
        self._entrance_name = {b: str(buildings[b]) for b in self._building_ids}
        self._occupancy = {b: int(occupancy.get(b, 0)) for b in self._building_ids}

    def _build_resources(self, resources: Iterable[ResourceLike]) -> None:
        ids: list[str] = []
        kinds: list[str] = []
        lat: list[float] = []
        lon: list[float] = []
        for r in resources:
            ids.append(r.id)
            kinds.append(str(getattr(r.kind, "value", r.kind)))
            lat.append(float(r.location[0]))
            lon.append(float(r.location[1]))
        self._res_ids = ids
        self._res_index = {rid: j for j, rid in enumerate(ids)}
        rank = np.empty(len(ids), dtype=np.int64)
        rank[np.argsort(np.array(ids, dtype=object), kind="stable")] = np.arange(len(ids))
        self._res_rank = rank
        self._res_kind = np.array(kinds, dtype=object)
        self._res_lat = np.array(lat, dtype=np.float64)
        self._res_lon = np.array(lon, dtype=np.float64)
        self._res_x, self._res_y = self._project(self._res_lat, self._res_lon)
        vehicle = np.array([k in VEHICLE_KINDS for k in kinds], dtype=np.bool_)
        node = np.full(len(ids), -1, dtype=np.int64)
        access = np.full(len(ids), np.inf)
        unplaced: dict[str, str] = {}
        if ids:
            pts = np.column_stack([self._res_x, self._res_y])
            d, i = self._tree.query(pts[~vehicle])
            node[~vehicle], access[~vehicle] = i, d
            if vehicle.any():
                if self._road_tree is None:
                    access[vehicle] = np.inf
                else:
                    d, i = self._road_tree.query(pts[vehicle])
                    node[vehicle], access[vehicle] = self._road_nodes[i], d
        for j, rid in enumerate(ids):
            if not access[j] <= self.max_snap_m:
                where = "road" if vehicle[j] else "network"
                unplaced[rid] = (f"{rid} is more than {self.max_snap_m:.0f} m from any {where} "
                                 f"node")
                node[j] = -1
        placed = node >= 0
        # The straight legs in great-circle metres, as geodesy.distance_m measures everywhere.
        access[placed] = _haversine_m(self._res_lat[placed], self._res_lon[placed],
                                      self._lat[node[placed]], self._lon[node[placed]])
        self._res_node, self._res_access = node, access
        self.unplaced: Mapping[str, str] = unplaced
        """Resources too far from the network to route to, with the reason."""
        self._res_by_kind: dict[str, IntArray] = {}
        for kind in sorted(set(kinds)):
            self._res_by_kind[kind] = np.flatnonzero((self._res_kind == kind) & (node >= 0))
        # Assembly points: one virtual-source entry per distinct assembly-point node.
        ap = self._res_by_kind.get(ASSEMBLY_KIND, np.empty(0, dtype=np.int64))
        self._ap = ap
        self._ap_nodes = np.unique(node[ap])
        n = self._n
        rows = np.concatenate([self._evac_rows, np.full(self._ap_nodes.size, n)])
        cols = np.concatenate([self._evac_cols, self._ap_nodes])
        entry_edge = np.concatenate([self._evac_edge, np.full(self._ap_nodes.size, -1)])
        order, indices, indptr = self._csr(rows, cols, n + 1)
        self._evac_indices, self._evac_indptr = indices, indptr
        entry_edge = entry_edge[order]
        self._evac_entry_col = cols[order]
        self._evac_entry_row = rows[order]
        is_edge = entry_edge >= 0
        self._evac_src_slots = np.flatnonzero(~is_edge)  # ordered by column, like _ap_nodes
        self._evac_len = np.where(is_edge, self._len[np.maximum(entry_edge, 0)], 0.0)
        # Where each edge's two entries sit in the CSR data.
        by_edge = np.argsort(np.where(is_edge, entry_edge, entry_edge.size), kind="stable")
        self._evac_edge_entries = by_edge[:2 * self._eu.size].reshape(-1, 2)
        del self._evac_rows, self._evac_cols, self._evac_edge

    # ------------------------------------------------------------------ look-ups

    @property
    def node_count(self) -> int:
        """Number of network nodes."""
        return self._n

    @property
    def buildings(self) -> tuple[str, ...]:
        """Ids of the buildings the router knows."""
        return tuple(self._building_ids)

    def node_location(self, node: str) -> tuple[float, float]:
        """Return a node's ``(lat, lon)``."""
        try:
            i = self._index[node]
        except KeyError as err:
            raise RoutingError(f"unknown network node {node!r}") from err
        return (float(self._lat[i]), float(self._lon[i]))

    def resource_node(self, resource: str) -> tuple[str, float]:
        """Return the node a resource is reached at and the straight metres between them.

        Raises:
            RoutingError: Unknown resource, or one too far from the network (see
                :attr:`unplaced`).
        """
        if resource in self.unplaced:
            raise RoutingError(self.unplaced[resource])
        try:
            j = self._res_index[resource]
        except KeyError as err:
            raise RoutingError(f"unknown resource {resource!r}") from err
        return self._node_ids[int(self._res_node[j])], float(self._res_access[j])

    def origin(self, where: str | tuple[float, float]) -> Origin:
        """Resolve a building id or a ``(lat, lon)`` point to where a search starts.

        Raises:
            RoutingError: Unknown building, a building whose entrance is not on the network,
                a point that is not a finite ``(lat, lon)``, or one farther than
                ``max_snap_m`` from every network node.
        """
        if isinstance(where, str):
            b = self._building_index.get(where)
            if b is None:
                known = ", ".join(sorted(self._building_ids)[:8])
                more = " …" if len(self._building_ids) > 8 else ""
                raise RoutingError(f"unknown building {where!r} (known: {known}{more})")
            node = int(self._entrance[b])
            if node < 0:
                raise RoutingError(f"building {where!r}: its entrance node "
                                   f"{self._entrance_name[where]!r} is not on the network")
            return Origin(where, float(self._lat[node]), float(self._lon[node]),
                          self._node_ids[node], 0.0, building=where)
        try:
            lat, lon = (float(v) for v in where)
        except (TypeError, ValueError) as err:
            raise RoutingError(f"{where!r} is not a building id or a (lat, lon) point") from err
        if not (math.isfinite(lat) and math.isfinite(lon)) or not -90 <= lat <= 90 \
                or not -180 <= lon <= 180:
            raise RoutingError(f"({lat}, {lon}) is not a valid [lat, lon] position")
        node, _ = self._snap(lat, lon)
        offset = float(_haversine_m(np.array([lat]), np.array([lon]), self._lat[[node]],
                                    self._lon[[node]])[0])
        return Origin(f"{lat:.6f},{lon:.6f}", lat, lon, self._node_ids[node], offset)

    def _snap(self, lat: float, lon: float, what: str = "") -> tuple[int, float]:
        x, y = self._project(lat, lon)
        d, i = self._tree.query([float(x), float(y)])
        if not d <= self.max_snap_m:
            raise RoutingError(
                f"{what}({lat:.6f}, {lon:.6f}) is {d:.0f} m from the nearest network node (the "
                f"limit is {self.max_snap_m:.0f} m): it is not on this site's network — check "
                f"the coordinates and their order [lat, lon]")
        return int(i), float(d)

    # ------------------------------------------------------------------ nearest resources

    def nearest_resources(self, where: str | tuple[float, float] | Origin,
                          kinds: Iterable[str] | None = None, k: int = 3,
                          zone: HazardZone | None = None
                          ) -> dict[str, tuple[ResourceHit, ...]]:
        """Return the ``k`` nearest resources of each kind by network distance, nearest first.

        Args:
            where: A building id, a ``(lat, lon)`` point or an :class:`Origin`.
            kinds: Kinds to look for (default: every kind the site has).
            k: How many per kind.
            zone: When given, each hit says whether the resource lies in it.

        Raises:
            RoutingError: See :meth:`origin`; also for an unknown kind or ``k < 1``.
        """
        origin = where if isinstance(where, Origin) else self.origin(where)
        if k < 1:
            raise RoutingError(f"k must be at least 1, not {k}")
        wanted = sorted(self._res_by_kind) if kinds is None else \
            [str(getattr(x, "value", x)) for x in kinds]
        known = {x.value for x in ResourceKind}
        for kind in wanted:
            if kind not in known:
                raise RoutingError(f"unknown resource kind {kind!r} "
                                   f"(known: {', '.join(sorted(known))})")
        src = self._index[origin.node]
        ox, oy = (float(v) for v in self._project(origin.lat, origin.lon))
        walk_kinds = [x for x in wanted if x not in VEHICLE_KINDS]
        drive_kinds = [x for x in wanted if x in VEHICLE_KINDS]
        walk_dist, walk_pred = self._bounded_search(
            self._walk, src, self._limit_for(walk_kinds, k, ox, oy),
            kinds=walk_kinds, k=k, need_road=bool(drive_kinds))
        # (kind, resource index, network metres incl. its access leg, search it came from)
        picks: list[tuple[str, int, float, bool]] = []
        for kind in walk_kinds:
            picks += [(kind, j, d, False) for j, d in self._pick(kind, k, walk_dist)]
        stop = -1
        drive_pred = walk_pred
        if drive_kinds:
            stop = self._vehicle_stop(walk_dist)
        if stop >= 0:
            limit = self._limit_for(drive_kinds, k, float(self._x[stop]), float(self._y[stop]))
            drive_dist, drive_pred = self._bounded_search(self._drive, stop, limit,
                                                          kinds=drive_kinds, k=k)
            for kind in drive_kinds:
                picks += [(kind, j, d, True) for j, d in self._pick(kind, k, drive_dist)]
        return self._make_hits(wanted, picks, origin=origin, walk=(walk_dist, walk_pred),
                               drive_pred=drive_pred, stop=stop, zone=zone)

    def _pick(self, kind: str, k: int, dist: FloatArray) -> list[tuple[int, float]]:
        """Return the ``k`` nearest reachable resources of ``kind``: (index, metres)."""
        idx = self._res_by_kind.get(kind)
        if idx is None or idx.size == 0:
            return []
        total = dist[self._res_node[idx]] + self._res_access[idx]
        order = np.lexsort((self._res_rank[idx], total))[:k]
        return [(int(idx[i]), float(total[i])) for i in order.tolist()
                if math.isfinite(total[i])]

    def _vehicle_stop(self, walk_dist: FloatArray) -> int:
        """The road junction nearest to the incident on foot, where vehicles stop (-1: none)."""
        if not self._road_nodes.size:
            return -1
        on_road = walk_dist[self._road_nodes]
        if not np.isfinite(on_road).any():
            return -1
        return int(self._road_nodes[int(np.argmin(on_road))])

    def _make_hits(self, wanted: list[str], picks: list[tuple[str, int, float, bool]], *,
                   origin: Origin, walk: tuple[FloatArray, IntArray], drive_pred: IntArray,
                   stop: int, zone: HazardZone | None) -> dict[str, tuple[ResourceHit, ...]]:
        walk_dist, walk_pred = walk
        ox, oy = (float(v) for v in self._project(origin.lat, origin.lon))
        js = np.array([p[1] for p in picks], dtype=np.int64)
        straight = np.hypot(self._res_x[js] - ox, self._res_y[js] - oy).tolist()
        in_zone: list[bool | None] = [None] * len(picks) if zone is None else \
            zone.contains_many(self._res_lat[js], self._res_lon[js]).tolist()
        vehicle = np.array([p[3] for p in picks], dtype=np.bool_)
        nodes = self._res_node[js]
        geo = self._geo
        walk_flat, walk_off = geo.expand(*_trace_many(walk_pred, nodes[~vehicle], root=_NONE))
        drive_flat, drive_off = geo.expand(*_trace_many(drive_pred, nodes[vehicle], root=_NONE))
        walk_leg: list[tuple[float, float]] = []
        walk_m = origin.offset_m
        if stop >= 0:
            leg, _ = geo.expand(*_trace_many(walk_pred, np.array([stop], dtype=np.int64),
                                             root=_NONE))
            walk_leg = geo.points(leg[1:])
            walk_m += float(walk_dist[stop])
        end = (origin.lat, origin.lon)
        out: dict[str, list[ResourceHit]] = {kind: [] for kind in wanted}
        w = d = 0
        for i, (kind, j, net, by_vehicle) in enumerate(picks):
            start = (float(self._res_lat[j]), float(self._res_lon[j]))
            if by_vehicle:
                way = [start, *geo.points(drive_flat[drive_off[d]:drive_off[d + 1]]),
                       *walk_leg, end]
                d += 1
                dist_m = net + walk_m
                time_s = net / self.vehicle_speed_mps + walk_m / self.walking_speed_mps
                walked = walk_m
            else:
                way = [start, *geo.points(walk_flat[walk_off[w]:walk_off[w + 1]]), end]
                w += 1
                dist_m = walked = net + origin.offset_m
                time_s = dist_m / self.walking_speed_mps
            out[kind].append(ResourceHit(self._res_ids[j], kind, dist_m, time_s, straight[i],
                                         by_vehicle, walked, tuple(way), in_zone[i]))
        return {kind: tuple(hits) for kind, hits in out.items()}

    def _limit_for(self, kinds: list[str], k: int, ox: float, oy: float) -> float:
        """A first search radius from the crow-flight reach of the k-th nearest of each kind.

        Roads rarely run more than 1.6 times the straight line; where they do, the search is
        redone without a bound (see :meth:`_bounded_search`), so the answer stays exact.
        """
        reach = 0.0
        for kind in kinds:
            idx = self._res_by_kind.get(kind)
            if idx is None or idx.size == 0:
                continue
            d = np.hypot(self._res_x[idx] - ox, self._res_y[idx] - oy) + self._res_access[idx]
            kth = np.partition(d, min(k, d.size) - 1)[min(k, d.size) - 1]
            reach = max(reach, float(kth))
        return 1.6 * reach + 100.0

    def _enough(self, kind: str, k: int, dist: FloatArray, limit: float,
                extra: float = 0.0) -> bool:
        """Whether a search bounded at ``limit`` surely found the ``k`` nearest of ``kind``."""
        idx = self._res_by_kind.get(kind)
        if idx is None or idx.size == 0:
            return True
        total = dist[self._res_node[idx]] + self._res_access[idx] + extra
        if int(np.count_nonzero(total <= limit)) >= min(k, idx.size):
            return True
        return bool(np.isfinite(dist[self._res_node[idx]]).all())

    def _bounded_search(self, matrix: csr_matrix, src: int, limit: float, *,
                        kinds: list[str], k: int, need_road: bool = False
                        ) -> tuple[FloatArray, IntArray]:
        """Dijkstra from ``src`` stopped at ``limit``, redone unbounded if that was too short."""
        dist, pred = dijkstra(matrix, directed=True, indices=src, return_predecessors=True,
                              limit=limit)
        ok = all(self._enough(kind, k, dist, limit) for kind in kinds)
        if ok and need_road and self._road_nodes.size:
            ok = bool(np.isfinite(dist[self._road_nodes]).any())
        if not ok:
            dist, pred = dijkstra(matrix, directed=True, indices=src, return_predecessors=True)
        return dist, pred

    # ------------------------------------------------------------------ the zone

    def zone_masks(self, zone: HazardZone) -> tuple[BoolArray, BoolArray]:
        """Return (nodes in the zone, edges in the zone) as boolean arrays in router order."""
        south, north, west, east = zone.bounding_box()
        node_in = np.zeros(self._n, dtype=np.bool_)
        near = np.flatnonzero((self._lat >= south) & (self._lat <= north) &
                              (self._lon >= west) & (self._lon <= east))
        node_in[near] = zone.contains_many(self._lat[near], self._lon[near])
        edge_in = node_in[self._eu] | node_in[self._ev]
        lat_min, lat_max, lon_min, lon_max = self._seg_box
        seg = np.flatnonzero((lat_max >= south) & (lat_min <= north) &
                             (lon_max >= west) & (lon_min <= east))
        hit = zone.touches_segments(self._seg_lat1[seg], self._seg_lon1[seg],
                                    self._seg_lat2[seg], self._seg_lon2[seg])
        edge_in[self._seg_edge[seg[hit]]] = True
        return node_in, edge_in

    # ------------------------------------------------------------------ evacuation

    def evacuation_plan(self, zone: HazardZone) -> EvacuationPlan:
        """Route every building to the nearest usable assembly point around ``zone``.

        See the module docstring for the rules. Never raises for stranded buildings: they are
        listed in :attr:`EvacuationPlan.stranded`.
        """
        node_in, edge_in = self.zone_masks(zone)
        n = self._n
        # Assembly points: usable unless it, its node or the walk between them touches the zone.
        ap = self._ap
        ap_node = self._res_node[ap]
        ap_bad = zone.touches_segments(self._res_lat[ap], self._res_lon[ap],
                                       self._lat[ap_node], self._lon[ap_node]) | node_in[ap_node]
        penalty = np.array([self.downwind_penalty_m * zone.downwind_factor(
            (float(self._res_lat[j]), float(self._res_lon[j]))) for j in ap.tolist()],
            dtype=np.float64)
        cost = np.where(ap_bad, np.inf, self._res_access[ap] + penalty)
        # Best assembly point at each distinct assembly-point node (index into self._ap).
        slot = np.searchsorted(self._ap_nodes, ap_node)
        best_cost = np.full(self._ap_nodes.size, np.inf)
        best_ap = np.full(self._ap_nodes.size, -1, dtype=np.int64)
        for a in np.lexsort((-np.arange(ap.size), -cost)).tolist():  # cheapest written last
            if np.isfinite(cost[a]):
                best_cost[slot[a]] = cost[a]
                best_ap[slot[a]] = a
        graph = self._evac_graph(node_in, edge_in, best_cost)
        dist, pred = dijkstra(graph, directed=True, indices=n, return_predecessors=True)
        routes, stranded = self._collect_routes(zone, node_in, dist, pred, best_ap)
        bad_ids = tuple(sorted(self._res_ids[j] for j, bad in zip(ap.tolist(), ap_bad.tolist(),
                                                                    strict=True) if bad))
        return EvacuationPlan(
            zone, routes, stranded, bad_ids,
            tuple(self._edge_ids[edge_in].tolist()),
            tuple(self._node_ids_arr[node_in].tolist()))

    def _evac_graph(self, node_in: BoolArray, edge_in: BoolArray, source_cost: FloatArray
                    ) -> csr_matrix:
        """The reversed walking graph for one zone, with the virtual source's row.

        Entry (a -> b) stands for walking b -> a. It is kept when the edge is clear of the zone,
        or when b is inside the zone (then each metre counts INSIDE_WEIGHT); otherwise it is
        dropped, so the search never even reaches it.
        """
        data = self._evac_len.copy()
        pos = self._evac_edge_entries[np.flatnonzero(edge_in)].ravel()
        from_inside = node_in[self._evac_entry_col[pos]]
        data[pos[from_inside]] *= INSIDE_WEIGHT
        data[self._evac_src_slots] = source_cost
        drop = np.concatenate([pos[~from_inside],
                               self._evac_src_slots[~np.isfinite(source_cost)]])
        if not drop.size:
            return csr_matrix((data, self._evac_indices, self._evac_indptr),
                              shape=(self._n + 1, self._n + 1))
        keep = np.ones(data.size, dtype=np.bool_)
        keep[drop] = False
        removed = np.bincount(self._evac_entry_row[drop], minlength=self._n + 1)
        indptr = self._evac_indptr.copy()
        indptr[1:] -= np.cumsum(removed).astype(indptr.dtype)
        return csr_matrix((data[keep], self._evac_indices[keep], indptr),
                          shape=(self._n + 1, self._n + 1))

    def _collect_routes(self, zone: HazardZone, node_in: BoolArray, dist: FloatArray,
                        pred: IntArray, best_ap: IntArray
                        ) -> tuple[dict[str, EvacuationRoute], tuple[Stranded, ...]]:
        n = self._n
        entr = self._entrance
        placed = entr >= 0
        reach = np.zeros(entr.size, dtype=np.bool_)
        reach[placed] = np.isfinite(dist[entr[placed]])
        stranded: list[Stranded] = []
        usable_aps = bool(np.isfinite(dist[self._ap_nodes]).any()) if self._ap_nodes.size \
            else False
        ap_components = set(self._component[self._ap_nodes].tolist())
        for b in np.flatnonzero(~reach).tolist():
            bid = self._building_ids[b]
            inside = bool(placed[b] and node_in[entr[b]])
            if not placed[b]:
                reason = f"its entrance node {self._entrance_name[bid]!r} is not on the network"
            elif not self._ap.size:
                reason = "the site has no assembly point on the network"
            elif int(self._component[entr[b]]) not in ap_components:
                reason = "no path at all: the network does not connect it to an assembly point"
            elif not usable_aps:
                reason = "every assembly point is in the hazard zone"
            elif inside:
                reason = "no way out of the hazard zone leads to a usable assembly point"
            else:
                reason = "every way to a usable assembly point crosses the hazard zone"
            stranded.append(Stranded(bid, reason, inside, self._occupancy.get(bid, 0)))
        stranded.sort(key=lambda s: (-s.occupancy, s.building))
        ok = np.flatnonzero(reach)
        flat, offsets = _trace_many(pred, entr[ok], root=n)
        starts, ends = offsets[:-1], offsets[1:] - 1
        first, last = flat[starts], flat[ends]
        # Lengths from the search's costs: a route's cost is INSIDE_WEIGHT x (metres from its
        # entrance to its first node outside the zone) + the rest + its assembly point's cost.
        exit_node = first.copy()
        starts_in = node_in[first]
        outside = ~node_in[flat]
        for r in np.flatnonzero(starts_in).tolist():
            s, e = int(starts[r]), int(ends[r]) + 1
            exit_node[r] = flat[s + int(np.argmax(outside[s:e]))]
        inside_len = (dist[first] - dist[exit_node]) / INSIDE_WEIGHT
        chosen = best_ap[np.searchsorted(self._ap_nodes, last)]
        res_j = self._ap[chosen]
        total = inside_len + (dist[exit_node] - dist[last]) + self._res_access[res_j]
        store = _RouteStore(self._node_ids_arr[flat], flat, self._geo)
        ap_loc = {j: (float(self._res_lat[j]), float(self._res_lon[j]))
                  for j in set(res_j.tolist())}
        upwind = {j: zone.is_upwind(loc) for j, loc in ap_loc.items()}
        routes: dict[str, EvacuationRoute] = {}
        walk_s = (total / self.walking_speed_mps).tolist()
        for r, (b, j, length_m, inside_m, inside, s, e) in enumerate(zip(
                ok.tolist(), res_j.tolist(), total.tolist(), inside_len.tolist(),
                starts_in.tolist(), starts.tolist(), ends.tolist(), strict=True)):
            bid = self._building_ids[b]
            routes[bid] = EvacuationRoute(bid, self._res_ids[j], ap_loc[j], length_m, inside_m,
                                          walk_s[r], inside, upwind[j], e - s, store, s)
        return routes, tuple(stranded)

    # ------------------------------------------------------------------ everything

    def answer(self, zone: HazardZone, origin: str | tuple[float, float] | None = None,
               kinds: Iterable[str] | None = None, k: int = 3) -> IncidentAnswer:
        """Return the full answer for a release: nearest resources and the evacuation plan.

        Args:
            zone: The hazard zone.
            origin: Where resources must come to (a building id or ``(lat, lon)``); default the
                zone's centre.
            kinds: Resource kinds to look for (default: every kind).
            k: Nearest resources per kind.

        Raises:
            RoutingError: The zone's source is not on this site (farther than ``max_snap_m``
                from every network node, the same reach as :meth:`origin`), or ``origin``
                cannot be resolved (see :meth:`origin`).
        """
        self._snap(zone.lat, zone.lon, what="the hazard source ")
        o = self.origin(zone.centre if origin is None else origin)
        nearest = self.nearest_resources(o, kinds, k, zone)
        return IncidentAnswer(o, nearest, self.evacuation_plan(zone))


_SAME_DEG = 1e-7
"""Points closer than this in latitude and longitude (about 1 cm) are the same point."""


def _same(p: tuple[float, float], q: tuple[float, float]) -> bool:
    return abs(p[0] - q[0]) <= _SAME_DEG and abs(p[1] - q[1]) <= _SAME_DEG


def _haversine_m(lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
                 ) -> FloatArray:
    """Vectorised great-circle distance in metres (as :func:`geodesy.distance_m`)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = np.sin((p2 - p1) / 2) ** 2 + \
        np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    d: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return d


def _trace_many(pred: IntArray, starts: IntArray, root: int) -> tuple[IntArray, IntArray]:
    """Follow predecessors from every start at once, all in step.

    ``root`` is the search's source: with the virtual source (an index past the last node) the
    routes end at the node before it; with ``_NONE`` they end at the real source node.

    Returns the routes concatenated (``flat``) and ``offsets`` so that route ``r`` is
    ``flat[offsets[r]:offsets[r + 1]]``, start first.
    """
    if starts.size == 0:
        return np.empty(0, dtype=np.int64), np.zeros(1, dtype=np.int64)
    # Make the walk's end a fixed point: pred[end] == end, with end a sentinel index.
    end = pred.size if root == _NONE else root
    step = np.empty(pred.size + 1, dtype=np.int64)
    step[:pred.size] = pred
    if root == _NONE:
        step[:pred.size][pred == _NONE] = end
    step[end] = end
    cur = starts.astype(np.int64)
    steps = [cur]
    while True:
        cur = step[cur]
        if cur.min() == end:  # ``end`` is the largest index: every walk has arrived
            break
        steps.append(cur)
    matrix = np.stack(steps, axis=1)  # route x step, padded with ``end``
    keep = matrix != end
    flat = matrix[keep]
    offsets = np.zeros(starts.size + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=offsets[1:])
    return flat, offsets
