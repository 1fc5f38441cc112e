"""Read a site's data folders into a :class:`~commandcenter.core.site.Site`.

Every file is validated; every problem is reported as ``path:line: field: message`` and the item
(or file) it concerns is left out, so one broken file never stops the rest of the site loading.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from commandcenter.core.geodesy import distance_m, path_length_m
from commandcenter.core.site import (
    Boundary,
    Building,
    DrillScenario,
    Gauge,
    GaugeFile,
    GaugeLink,
    NetworkEdge,
    NetworkNode,
    Person,
    Plan,
    Problem,
    Protocol,
    Resource,
    ResourceFile,
    Role,
    RosterFile,
    Shift,
    Site,
    SiteInfo,
    Zone,
)

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]

try:  # the C loader is much faster on big files; fall back where libyaml is missing
    _YamlLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _YamlLoader = yaml.SafeLoader


# --------------------------------------------------------------------------- file reading


class _Source:
    """One file's text, parsed data and a map from data paths to line numbers."""

    def __init__(self, rel: str, data: Any, lines: dict[Loc, int]) -> None:
        self.rel = rel
        self.data = data
        self.lines = lines

    def line(self, loc: Loc) -> int:
        """Return the line of the deepest known prefix of ``loc`` (1 if nothing matches)."""
        for n in range(len(loc), -1, -1):
            hit = self.lines.get(tuple(loc[:n]))
            if hit is not None:
                return hit
        return 1


def _format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


class _Collector:
    """Gathers problems while a site loads."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, src: _Source | str, loc: Loc, message: str, line: int | None = None) -> None:
        if isinstance(src, _Source):
            rel = src.rel
            line = line if line is not None else src.line(loc)
        else:
            rel = src
            line = line or 1
        self.problems.append(Problem(rel, line, _format_loc(loc), message))

    def validation(self, src: _Source, base: Loc, err: ValidationError,
                   fields: Iterable[str]) -> None:
        """Record each error of a pydantic ValidationError, located in ``src``."""
        known = set(fields)
        for e in err.errors(include_url=False):
            loc: Loc = base + tuple(e["loc"])
            msg = str(e["msg"])
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            if e["type"] == "missing":
                msg = "required field is missing"
            elif e["type"] == "extra_forbidden":
                msg = "unknown field (check the spelling; see the folder's README)"
            # Model-level checks say "field: what"; point at that field.
            m = re.match(r"^([a-z_]+): (.*)$", msg, re.S)
            if m and m.group(1) in known and not e["loc"]:
                loc = loc + (m.group(1),)
                msg = m.group(2)
            self.add(src, loc, msg)


def _yaml_lines(node: yaml.Node, path: Loc, out: dict[Loc, int],
                dupes: list[tuple[Loc, int]]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                dupes.append((path + (key,), key_node.start_mark.line + 1))
            seen.add(key)
            out[path + (key,)] = key_node.start_mark.line + 1
            _yaml_lines(value_node, path + (key,), out, dupes)
            out[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _yaml_lines(item, path + (i,), out, dupes)


def _read_yaml(root: Path, rel: str, c: _Collector) -> _Source | None:
    path = root / rel
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        c.add(rel, (), "file is missing")
        return None
    except (OSError, UnicodeDecodeError) as err:
        c.add(rel, (), f"cannot read file: {err}")
        return None
    try:
        data = yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - a safe loader
        node = yaml.compose(text, Loader=_YamlLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else 1
        c.add(rel, (), f"YAML syntax: {err.problem or err}", line=line)
        return None
    except yaml.YAMLError as err:
        c.add(rel, (), f"YAML syntax: {err}")
        return None
    lines: dict[Loc, int] = {}
    dupes: list[tuple[Loc, int]] = []
    if node is not None:
        _yaml_lines(node, (), lines, dupes)
    src = _Source(rel, data, lines)
    for loc, line in dupes:
        c.add(src, loc, "key is given twice (the second would silently win)", line=line)
    if dupes:
        return None
    if not isinstance(data, dict):
        c.add(src, (), "expected a mapping at the top of the file")
        return None
    return src


def _read_geojson(root: Path, rel: str, c: _Collector) -> _Source | None:
    path = root / rel
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        c.add(rel, (), "file is missing")
        return None
    except (OSError, UnicodeDecodeError) as err:
        c.add(rel, (), f"cannot read file: {err}")
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        c.add(rel, (), f"JSON syntax: {err.msg}", line=err.lineno)
        return None
    # The n-th '"type": "Feature"' marks where feature n starts.
    lines: dict[Loc, int] = {(): 1}
    starts = [i + 1 for i, ln in enumerate(text.splitlines())
              for _ in re.finditer(r'"type"\s*:\s*"Feature"', ln)]
    for i, line in enumerate(starts):
        lines[("features", i)] = line
    src = _Source(rel, data, lines)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" \
            or not isinstance(data.get("features"), list):
        c.add(src, (), "expected a GeoJSON FeatureCollection with a 'features' list")
        return None
    return src


def _validate(model: type[M], src: _Source, loc: Loc, data: Any, c: _Collector) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        c.validation(src, loc, err, model.model_fields)
        return None


def _items(model: type[M], src: _Source, key: str, c: _Collector,
           into: dict[str, M], files: dict[str, str], kind: str,
           origin: dict[str, tuple[_Source, Loc]]) -> None:
    """Validate each item of list ``key`` separately; keep the good ones, skip duplicates."""
    for i, raw in enumerate(src.data.get(key) or []):
        loc: Loc = (key, i)
        if not isinstance(raw, dict):
            c.add(src, loc, "expected a mapping")
            continue
        item = _validate(model, src, loc, raw, c)
        if item is None:
            continue
        _keep(item, src, loc, c, into, files, kind, origin)


def _keep(item: M, src: _Source, loc: Loc, c: _Collector, into: dict[str, M],
          files: dict[str, str], kind: str, origin: dict[str, tuple[_Source, Loc]]) -> None:
    ident = str(getattr(item, "id"))  # noqa: B009 - every kept model has an id
    if ident in into:
        first_src, first_loc = origin[f"{kind}:{ident}"]
        c.add(src, loc + ("id",), f"duplicate {kind} id {ident!r} (first defined at "
                                  f"{first_src.rel}:{first_src.line(first_loc)})")
        return
    into[ident] = item
    files[f"{kind}:{ident}"] = src.rel
    origin[f"{kind}:{ident}"] = (src, loc)


# --------------------------------------------------------------------------- the loader


def load_site(root: str | Path) -> Site:
    """Load and validate the site in ``root``; never raises for bad data (see ``problems``)."""
    root = Path(root)
    site = Site(root=str(root))
    c = _Collector()
    origin: dict[str, tuple[_Source, Loc]] = {}
    if not root.is_dir():
        c.add(str(root), (), "site folder does not exist")
        site.problems = c.problems
        return site

    # maps/site.yaml
    src = _read_yaml(root, "maps/site.yaml", c)
    if src is not None:
        site.info = _validate(SiteInfo, src, (), src.data, c)

    _load_geometry(root, site, c, origin)
    _load_network(root, site, c, origin)
    _load_roster(root, site, c, origin)
    _load_resources(root, site, c, origin)
    _load_gauges(root, site, c, origin)
    _load_plans(root, site, c, origin)
    _load_drills(root, site, c, origin)
    _check_places(site, c, origin)

    site.problems = c.problems
    return site


def _features(src: _Source, c: _Collector) -> Iterable[tuple[int, str, dict[str, Any],
                                                              dict[str, Any]]]:
    for i, f in enumerate(src.data["features"]):
        loc: Loc = ("features", i)
        if not isinstance(f, dict) or f.get("type") != "Feature":
            c.add(src, loc, "expected a GeoJSON Feature")
            continue
        props = f.get("properties") or {}
        geom = f.get("geometry") or {}
        if not isinstance(props, dict) or not isinstance(geom, dict):
            c.add(src, loc, "properties and geometry must be objects")
            continue
        layer = props.get("layer")
        if not isinstance(layer, str):
            c.add(src, loc + ("properties", "layer"), "required field is missing")
            continue
        yield i, layer, props, geom


def _geometry(src: _Source, loc: Loc, geom: dict[str, Any], want: str,
              c: _Collector) -> Any | None:
    if geom.get("type") != want:
        c.add(src, loc + ("geometry",), f"expected a {want}, got {geom.get('type')!r}")
        return None
    return geom.get("coordinates")


def _load_geometry(root: Path, site: Site, c: _Collector,
                   origin: dict[str, tuple[_Source, Loc]]) -> None:
    src = _read_geojson(root, "maps/site.geojson", c)
    if src is None:
        return
    for i, layer, props, geom in _features(src, c):
        loc: Loc = ("features", i)
        coords = _geometry(src, loc, geom, "Polygon", c)
        if coords is None:
            continue
        data = {k: v for k, v in props.items() if k != "layer"}
        data["outline"] = coords
        ploc = loc + ("properties",)
        if layer == "boundary":
            b = _validate(Boundary, src, ploc, data, c)
            if b is not None:
                site.boundary = b
        elif layer == "building":
            bld = _validate(Building, src, ploc, data, c)
            if bld is not None:
                _keep(bld, src, ploc, c, site.buildings, site.files, "building", origin)
        elif layer == "zone":
            z = _validate(Zone, src, ploc, data, c)
            if z is not None:
                _keep(z, src, ploc, c, site.zones, site.files, "zone", origin)
        else:
            c.add(src, ploc + ("layer",), f"unknown layer {layer!r} (boundary, building, zone)")
    for bid, bld in list(site.buildings.items()):
        if bld.zone is not None and bld.zone not in site.zones:
            s, loc = origin[f"building:{bid}"]
            c.add(s, loc + ("zone",), f"unknown zone {bld.zone!r}")
            del site.buildings[bid]


def _load_network(root: Path, site: Site, c: _Collector,
                  origin: dict[str, tuple[_Source, Loc]]) -> None:
    src = _read_geojson(root, "maps/network.geojson", c)
    if src is None:
        return
    pending: list[tuple[Loc, NetworkEdge]] = []
    for i, layer, props, geom in _features(src, c):
        loc: Loc = ("features", i)
        ploc = loc + ("properties",)
        data = {k: v for k, v in props.items() if k != "layer"}
        if layer == "node":
            coords = _geometry(src, loc, geom, "Point", c)
            if coords is None:
                continue
            if isinstance(coords, list) and len(coords) == 2:
                data["location"] = [coords[1], coords[0]]
            else:
                data["location"] = coords
            n = _validate(NetworkNode, src, ploc, data, c)
            if n is not None:
                _keep(n, src, ploc, c, site.nodes, site.files, "node", origin)
        elif layer == "edge":
            coords = _geometry(src, loc, geom, "LineString", c)
            if coords is None:
                continue
            data["path"] = coords
            e = _validate(NetworkEdge, src, ploc, data, c)
            if e is not None:
                pending.append((ploc, e))
        else:
            c.add(src, ploc + ("layer",), f"unknown layer {layer!r} (node, edge)")
    for ploc, e in pending:
        ok = True
        for end in ("source", "target"):
            node_id = getattr(e, end)
            node = site.nodes.get(node_id)
            if node is None:
                c.add(src, ploc + (end,), f"unknown node {node_id!r}")
                ok = False
                continue
            pos = e.path[0] if end == "source" else e.path[-1]
            gap = distance_m(node.location, (pos[1], pos[0]))
            if gap > 5.0:
                c.add(src, ploc + (end,), f"path {'starts' if end == 'source' else 'ends'} "
                                          f"{gap:.0f} m away from node {node_id!r}")
                ok = False
        if ok:
            drawn = path_length_m(e.path)
            if e.length_m < drawn * 0.98 - 0.5:
                c.add(src, ploc + ("length_m",), f"{e.length_m:g} m is shorter than the "
                                                 f"drawn path ({drawn:.1f} m)")
                ok = False
        if ok:
            _keep(e, src, ploc, c, site.edges, site.files, "edge", origin)
    for bid, bld in list(site.buildings.items()):
        if site.nodes and bld.entrance_node not in site.nodes:
            s, loc = origin[f"building:{bid}"]
            c.add(s, loc + ("entrance_node",), f"unknown network node {bld.entrance_node!r}")
            del site.buildings[bid]


def _load_roster(root: Path, site: Site, c: _Collector,
                 origin: dict[str, tuple[_Source, Loc]]) -> None:
    src = _read_yaml(root, "resources/roster.yaml", c)
    if src is None or _validate(RosterFile, src, (), src.data, c) is None:
        return
    _items(Shift, src, "shifts", c, site.shifts, site.files, "shift", origin)
    _items(Role, src, "roles", c, site.roles, site.files, "role", origin)
    _items(Person, src, "people", c, site.people, site.files, "person", origin)
    for pid, person in list(site.people.items()):
        s, loc = origin[f"person:{pid}"]
        bad = False
        if person.shift not in site.shifts:
            c.add(s, loc + ("shift",), f"unknown shift {person.shift!r}")
            bad = True
        for j, role in enumerate(person.roles):
            if role not in site.roles:
                c.add(s, loc + ("roles", j), f"unknown role {role!r}")
                bad = True
        if bad:
            del site.people[pid]


def _load_resources(root: Path, site: Site, c: _Collector,
                    origin: dict[str, tuple[_Source, Loc]]) -> None:
    src = _read_yaml(root, "resources/resources.yaml", c)
    if src is None or _validate(ResourceFile, src, (), src.data, c) is None:
        return
    _items(Resource, src, "resources", c, site.resources, site.files, "resource", origin)
    _drop_unknown_buildings(site.resources, "resource", site, c, origin)


def _drop_unknown_buildings(items: dict[str, Any], kind: str, site: Site, c: _Collector,
                            origin: dict[str, tuple[_Source, Loc]]) -> None:
    for ident, item in list(items.items()):
        if item.building is not None and item.building not in site.buildings:
            s, loc = origin[f"{kind}:{ident}"]
            c.add(s, loc + ("building",), f"unknown building {item.building!r}")
            del items[ident]


_ADDRESS_FIELDS: dict[Protocol, tuple[str, ...]] = {
    Protocol.MODBUS_RTU: ("slave", "register"),
    Protocol.MODBUS_TCP: ("slave", "register"),
    Protocol.MQTT: ("topic",),
    Protocol.ASCII: ("tag",),
    Protocol.SIMULATOR: (),
}


def _load_gauges(root: Path, site: Site, c: _Collector,
                 origin: dict[str, tuple[_Source, Loc]]) -> None:
    src = _read_yaml(root, "resources/gauges.yaml", c)
    if src is None or _validate(GaugeFile, src, (), src.data, c) is None:
        return
    _items(GaugeLink, src, "links", c, site.links, site.files, "link", origin)
    _items(Gauge, src, "gauges", c, site.gauges, site.files, "gauge", origin)
    _drop_unknown_buildings(site.gauges, "gauge", site, c, origin)
    for gid, g in list(site.gauges.items()):
        s, loc = origin[f"gauge:{gid}"]
        link = site.links.get(g.link)
        if link is None:
            c.add(s, loc + ("link",), f"unknown link {g.link!r}")
            del site.gauges[gid]
            continue
        missing = [f for f in _ADDRESS_FIELDS[link.protocol] if f not in g.address]
        if missing:
            c.add(s, loc + ("address",), f"a {link.protocol.value} address needs "
                                         f"{', '.join(missing)}")
            del site.gauges[gid]
            continue
        if link.protocol in (Protocol.MODBUS_RTU, Protocol.MODBUS_TCP):
            slave, register = g.address["slave"], g.address["register"]
            if not isinstance(slave, int) or not 1 <= slave <= 247:
                c.add(s, loc + ("address", "slave"), f"Modbus slave id {slave!r} is not 1..247")
                del site.gauges[gid]
            elif not isinstance(register, int) or not 0 <= register <= 65535:
                c.add(s, loc + ("address", "register"),
                      f"Modbus register {register!r} is not 0..65535")
                del site.gauges[gid]


def _load_plans(root: Path, site: Site, c: _Collector,
                origin: dict[str, tuple[_Source, Loc]]) -> None:
    folder = root / "plans"
    if not folder.is_dir():
        c.add("plans", (), "folder is missing")
        return
    sources: dict[str, _Source] = {}
    for path in sorted(folder.glob("*.y*ml")):
        rel = f"plans/{path.name}"
        src = _read_yaml(root, rel, c)
        if src is None:
            continue
        plan = _validate(Plan, src, (), src.data, c)
        if plan is not None:
            before = len(site.plans)
            _keep(plan, src, (), c, site.plans, site.files, "plan", origin)
            if len(site.plans) > before:
                sources[plan.id] = src
    for pid, plan in list(site.plans.items()):
        src = sources[pid]
        if not _plan_refs_ok(plan, src, site, c):
            del site.plans[pid]
    # Escalation targets may only be checked once every plan is known.
    for pid, plan in list(site.plans.items()):
        if plan.escalates_to is None:
            continue
        target = site.plans.get(plan.escalates_to)
        src = sources[pid]
        if target is None:
            c.add(src, ("escalates_to",), f"unknown plan {plan.escalates_to!r}")
        elif target.level.rank <= plan.level.rank:
            c.add(src, ("escalates_to",), f"plan {target.id!r} is {target.level.value}, not "
                                          f"above this plan's {plan.level.value}")


def _plan_refs_ok(plan: Plan, src: _Source, site: Site, c: _Collector) -> bool:
    ok = True

    def role_ok(role: str, loc: Loc) -> None:
        nonlocal ok
        if role not in site.roles:
            c.add(src, loc, f"unknown role {role!r}")
            ok = False
        elif not site.people_with_role(role):
            c.add(src, loc, f"no one on the roster holds role {role!r}")
            ok = False

    plan_roles = {r.role for r in plan.roles}
    for i, r in enumerate(plan.roles):
        role_ok(r.role, ("roles", i, "role"))
    for i, stage in enumerate(plan.notification):
        for j, role in enumerate(stage.roles):
            role_ok(role, ("notification", i, "roles", j))
        for j, role in enumerate(stage.escalate_to_roles):
            role_ok(role, ("notification", i, "escalate_to_roles", j))
    for i, step in enumerate(plan.steps):
        if step.owner not in plan_roles:
            c.add(src, ("steps", i, "owner"), f"owner {step.owner!r} is not one of this plan's "
                                             f"roles")
            ok = False
    return ok


def _load_drills(root: Path, site: Site, c: _Collector,
                 origin: dict[str, tuple[_Source, Loc]]) -> None:
    folder = root / "drills"
    if not folder.is_dir():
        c.add("drills", (), "folder is missing")
        return
    for path in sorted(folder.glob("*.y*ml")):
        rel = f"drills/{path.name}"
        src = _read_yaml(root, rel, c)
        if src is None:
            continue
        d = _validate(DrillScenario, src, (), src.data, c)
        if d is None:
            continue
        ok = True
        if d.plan not in site.plans:
            c.add(src, ("plan",), f"unknown plan {d.plan!r}")
            ok = False
        if d.location not in site.buildings:
            c.add(src, ("location",), f"unknown building {d.location!r}")
            ok = False
        for i, inj in enumerate(d.injects):
            if inj.gauge is not None and inj.gauge not in site.gauges:
                c.add(src, ("injects", i, "gauge"), f"unknown gauge {inj.gauge!r}")
                ok = False
        if ok:
            _keep(d, src, (), c, site.drills, site.files, "drill", origin)


def _check_places(site: Site, c: _Collector, origin: dict[str, tuple[_Source, Loc]]) -> None:
    """Flag points that lie far outside the site (a swapped lat/lon, a typo in a digit)."""
    if site.boundary is None:
        return
    ring = site.boundary.outline[0]
    south, north = min(p[1] for p in ring), max(p[1] for p in ring)
    west, east = min(p[0] for p in ring), max(p[0] for p in ring)
    limit = site.info.max_offsite_m if site.info else 2000.0

    def outside_m(lat: float, lon: float) -> float:
        clat = min(max(lat, south), north)
        clon = min(max(lon, west), east)
        return distance_m((lat, lon), (clat, clon))

    checks: list[tuple[str, dict[str, Any], Callable[[Any], tuple[float, float]]]] = [
        ("resource", site.resources, lambda r: r.location),
        ("gauge", site.gauges, lambda g: g.location),
        ("node", site.nodes, lambda n: n.location),
        ("building", site.buildings, lambda b: (b.outline[0][0][1], b.outline[0][0][0])),
    ]
    for kind, items, where in checks:
        for ident, item in list(items.items()):
            lat, lon = where(item)
            off = outside_m(lat, lon)
            if off > limit:
                s, loc = origin[f"{kind}:{ident}"]
                c.add(s, loc + ("location",), f"[{lat}, {lon}] lies {off / 1000:.1f} km outside "
                                              f"the site (is the order [lat, lon]?)")
                del items[ident]


def site_problems_text(problems: Iterable[Problem]) -> str:
    """Return problems one per line, as ``site validate`` prints them."""
    return "\n".join(str(p) for p in problems)
