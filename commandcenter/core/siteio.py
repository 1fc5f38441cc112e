"""Read a site's data folders into a :class:`~commandcenter.core.site.Site`.

Every file is validated; every problem is reported as ``path:line: field: message`` and the item
(or file) it concerns is left out, so one broken file never stops the rest of the site loading.
"""

from __future__ import annotations

import bisect
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
    NotificationStage,
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
    metres_outside,
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
        self.dropped: set[str] = set()
        """``kind:id`` of items that were defined but left out because of a problem."""
        self.loaded: set[str] = set()
        """Files that loaded (references into a file that did not are not checked)."""

    def unknown(self, kind: str, ident: str, noun: str | None = None) -> str:
        """Say why a reference to ``kind`` ``ident`` does not resolve."""
        noun = noun or kind
        if f"{kind}:{ident}" in self.dropped:
            return f"{noun} {ident!r} did not load (see the problem reported for it)"
        return f"unknown {noun} {ident!r}"

    def add(self, src: _Source | str, loc: Loc, message: str, line: int | None = None) -> None:
        if isinstance(src, _Source):
            rel = src.rel
            line = line if line is not None else src.line(loc)
        else:
            rel = src
            line = line or 1
        self.problems.append(Problem(rel, line, _format_loc(loc), message))

    def validation(self, src: _Source, base: Loc, err: ValidationError,
                   fields: Iterable[str], moved: dict[str, Loc] | None = None) -> None:
        """Record each error of a pydantic ValidationError, located in ``src``.

        ``moved`` maps a model field to where its value really is in the file (GeoJSON geometry
        is validated as ``outline``/``location``/``path`` but written as
        ``geometry.coordinates``).
        """
        known = set(fields)
        moved = moved or {}
        for e in err.errors(include_url=False):
            rel: Loc = tuple(e["loc"])
            msg = str(e["msg"])
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            if e["type"] == "missing":
                msg = "required field is missing"
            elif e["type"] == "extra_forbidden":
                msg = "unknown field (check the spelling; see the folder's README)"
            # Model-level checks say "field: what"; point at that field (also in nested models,
            # e.g. an inject of a drill).
            m = re.match(r"^([a-z_]+): (.*)$", msg, re.S)
            if m and (m.group(1) in known or rel) and (not rel or rel[-1] != m.group(1)):
                rel = (*rel, m.group(1))
                msg = m.group(2)
            loc: Loc = base + rel
            if rel and isinstance(rel[0], str) and rel[0] in moved:
                loc = moved[rel[0]] + rel[1:]
                msg = msg.replace("(is the order [lat, lon]?)",
                                  "(GeoJSON positions are [lon, lat])")
            self.add(src, loc, msg)


def _yaml_lines(root: yaml.Node, out: dict[Loc, int],
                dupes: list[tuple[Loc, int, int]]) -> None:
    """Map data paths to lines; collect duplicate keys as ``(path, line, first line)``.

    Walks without recursion (deep nesting) and enters a node shared through YAML aliases only
    once (recursive or exponentially repeated aliases).
    """
    stack: list[tuple[yaml.Node, Loc]] = [(root, ())]
    entered: set[int] = set()
    while stack:
        node, path = stack.pop()
        out.setdefault(path, node.start_mark.line + 1)
        if id(node) in entered:
            continue
        entered.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                line = key_node.start_mark.line + 1
                if key in first:
                    dupes.append(((*path, key), line, first[key]))
                else:
                    first[key] = line
                out[(*path, key)] = line
                stack.append((value_node, (*path, key)))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, (*path, i)))


_JSON_SPACE = " \t\r\n"


def _json_lines(text: str) -> tuple[dict[Loc, int], list[tuple[Loc, int, int]]]:
    """Map data paths of a valid JSON text to lines; also return duplicate keys.

    Every object key and list item gets the line it starts on, so a problem deep inside a
    pretty-printed GeoJSON file points at its own line (geometry coordinates as a whole).
    """
    decoder = json.JSONDecoder()
    newlines = [m.start() for m in re.finditer("\n", text)]
    out: dict[Loc, int] = {}
    dupes: list[tuple[Loc, int, int]] = []

    def line(pos: int) -> int:
        return bisect.bisect_left(newlines, pos) + 1

    def skip(i: int) -> int:
        while i < len(text) and text[i] in _JSON_SPACE:
            i += 1
        return i

    def walk(i: int, path: Loc) -> int:
        i = skip(i)
        out.setdefault(path, line(i))
        if path and path[-1] == "coordinates":  # positions: problems point at the whole list
            _, end = decoder.raw_decode(text, i)
            return int(end)
        if text[i] == "{":
            i = skip(i + 1)
            first: dict[str, int] = {}
            while text[i] != "}":
                key, end = decoder.raw_decode(text, i)
                if key in first:
                    dupes.append(((*path, key), line(i), first[key]))
                else:
                    first[key] = line(i)
                out[(*path, key)] = line(i)
                i = walk(skip(end) + 1, (*path, key))  # past the ':'
                i = skip(i)
                if text[i] == ",":
                    i = skip(i + 1)
            return i + 1
        if text[i] == "[":
            i = skip(i + 1)
            n = 0
            while text[i] != "]":
                i = skip(walk(i, (*path, n)))
                n += 1
                if text[i] == ",":
                    i = skip(i + 1)
            return i + 1
        _, end = decoder.raw_decode(text, i)
        return int(end)

    walk(0, ())
    return out, dupes


def _read_yaml(root: Path, rel: str, c: _Collector) -> _Source | None:
    path = root / rel
    try:
        text = path.read_text(encoding="utf-8-sig")  # Windows editors may add a BOM
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
        where = f" (column {mark.column + 1})" if mark else ""
        c.add(rel, (), f"YAML syntax: {err.problem or err}{where}", line=line)
        return None
    except yaml.YAMLError as err:
        c.add(rel, (), f"YAML syntax: {err}")
        return None
    except RecursionError:
        c.add(rel, (), "YAML is nested too deeply")
        return None
    lines: dict[Loc, int] = {}
    dupes: list[tuple[Loc, int, int]] = []
    if node is not None:
        _yaml_lines(node, lines, dupes)
    src = _Source(rel, data, lines)
    for loc, line, first in dupes:
        c.add(src, loc, f"key is given twice (first on line {first}; the second would silently "
                        f"win)", line=line)
    if dupes:
        return None
    if data is None:
        c.add(src, (), "file is empty")
        return None
    if not isinstance(data, dict):
        c.add(src, (), "expected a mapping at the top of the file")
        return None
    return src


def _read_geojson(root: Path, rel: str, c: _Collector) -> _Source | None:
    path = root / rel
    try:
        text = path.read_text(encoding="utf-8-sig")  # Windows editors may add a BOM
    except FileNotFoundError:
        c.add(rel, (), "file is missing")
        return None
    except (OSError, UnicodeDecodeError) as err:
        c.add(rel, (), f"cannot read file: {err}")
        return None
    try:
        data = json.loads(text)
        lines, dupes = _json_lines(text)
    except json.JSONDecodeError as err:
        c.add(rel, (), f"JSON syntax: {err.msg}", line=err.lineno)
        return None
    except RecursionError:
        c.add(rel, (), "JSON is nested too deeply")
        return None
    src = _Source(rel, data, lines)
    for loc, line, first in dupes:
        c.add(src, loc, f"key is given twice (first on line {first}; the second would silently "
                        f"win)", line=line)
    if dupes:
        return None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" \
            or not isinstance(data.get("features"), list):
        c.add(src, (), "expected a GeoJSON FeatureCollection with a 'features' list")
        return None
    return src


def _validate(model: type[M], src: _Source, loc: Loc, data: Any, c: _Collector, *,
              kind: str | None = None, moved: dict[str, Loc] | None = None) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        c.validation(src, loc, err, model.model_fields, moved)
        if kind is not None and isinstance(data, dict) and isinstance(data.get("id"), str):
            c.dropped.add(f"{kind}:{data['id'].strip()}")
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
        item = _validate(model, src, loc, raw, c, kind=kind)
        if item is None:
            continue
        _keep(item, src, loc, c, into, files, kind, origin)


def _keep(item: M, src: _Source, loc: Loc, c: _Collector,
          into: dict[str, M],
          files: dict[str, str], kind: str, origin: dict[str, tuple[_Source, Loc]]) -> None:
    ident = str(getattr(item, "id"))  # noqa: B009 - every kept model has an id
    if ident in into:
        first_src, first_loc = origin[f"{kind}:{ident}"]
        c.add(src, (*loc, "id"), f"duplicate {kind} id {ident!r} (first defined at "
                                  f"{first_src.rel}:{first_src.line((*first_loc, 'id'))})")
        return
    into[ident] = item
    files[f"{kind}:{ident}"] = src.rel
    origin[f"{kind}:{ident}"] = (src, loc)


def _drop(c: _Collector, kind: str, items: dict[str, Any], ident: str) -> None:
    """Leave out an item that failed a cross-file check (references to it say so)."""
    del items[ident]
    c.dropped.add(f"{kind}:{ident}")


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
            c.add(src, (*loc, "properties", "layer"), "required field is missing")
            continue
        yield i, layer, props, geom


def _geometry(src: _Source, loc: Loc, geom: dict[str, Any], want: str,
              c: _Collector) -> Any | None:
    if geom.get("type") != want:
        c.add(src, (*loc, "geometry", "type"), f"expected a {want}, got {geom.get('type')!r}")
        return None
    return geom.get("coordinates")


def _load_geometry(root: Path, site: Site, c: _Collector,
                   origin: dict[str, tuple[_Source, Loc]]) -> None:
    src = _read_geojson(root, "maps/site.geojson", c)
    if src is None:
        return
    c.loaded.add(src.rel)
    boundary_loc: tuple[_Source, Loc] | None = None
    for i, layer, props, geom in _features(src, c):
        loc: Loc = ("features", i)
        ploc = (*loc, "properties")
        moved = {"outline": (*loc, "geometry", "coordinates")}
        if layer not in ("boundary", "building", "zone"):
            c.add(src, (*ploc, "layer"), f"unknown layer {layer!r} (boundary, building, zone)")
            continue
        coords = _geometry(src, loc, geom, "Polygon", c)
        if coords is None:
            continue
        data = {k: v for k, v in props.items() if k != "layer"}
        data["outline"] = coords
        if layer == "boundary":
            b = _validate(Boundary, src, ploc, data, c, moved=moved)
            if b is not None:
                if site.boundary is not None:
                    c.add(src, (*ploc, "layer"), "the site has one boundary; this is a second "
                                                  "one")
                else:
                    site.boundary = b
                    boundary_loc = (src, loc)
        elif layer == "building":
            bld = _validate(Building, src, ploc, data, c, kind="building", moved=moved)
            if bld is not None:
                _keep(bld, src, ploc, c, site.buildings, site.files, "building", origin)
        else:
            z = _validate(Zone, src, ploc, data, c, kind="zone", moved=moved)
            if z is not None:
                _keep(z, src, ploc, c, site.zones, site.files, "zone", origin)
    for bid, bld in list(site.buildings.items()):
        if bld.zone is not None and bld.zone not in site.zones:
            # A zone only groups buildings; losing it must not take the building (and the
            # resources, gauges and drills placed in it) off the map.
            s, loc = origin[f"building:{bid}"]
            c.add(s, (*loc, "zone"), f"{c.unknown('zone', bld.zone)}; the building is loaded "
                                     "without a zone")
            site.buildings[bid] = bld.model_copy(update={"zone": None})
    if boundary_loc is not None:
        _check_boundary(site, c, *boundary_loc)
    _check_places(site, c, origin, kind="building", items=site.buildings,
                  where=lambda b: [(lat, lon) for lon, lat in b.outline[0]])


def _load_network(root: Path, site: Site, c: _Collector,
                  origin: dict[str, tuple[_Source, Loc]]) -> None:
    src = _read_geojson(root, "maps/network.geojson", c)
    if src is None:
        return
    c.loaded.add(src.rel)
    pending: list[tuple[Loc, NetworkEdge]] = []
    for i, layer, props, geom in _features(src, c):
        loc: Loc = ("features", i)
        ploc = (*loc, "properties")
        data = {k: v for k, v in props.items() if k != "layer"}
        if layer == "node":
            coords = _geometry(src, loc, geom, "Point", c)
            if coords is None:
                continue
            if isinstance(coords, list) and len(coords) == 2:
                data["location"] = [coords[1], coords[0]]
            else:
                data["location"] = coords
            n = _validate(NetworkNode, src, ploc, data, c, kind="node",
                          moved={"location": (*loc, "geometry", "coordinates")})
            if n is not None:
                _keep(n, src, ploc, c, site.nodes, site.files, "node", origin)
        elif layer == "edge":
            coords = _geometry(src, loc, geom, "LineString", c)
            if coords is None:
                continue
            data["path"] = coords
            e = _validate(NetworkEdge, src, ploc, data, c, kind="edge",
                          moved={"path": (*loc, "geometry", "coordinates")})
            if e is not None:
                pending.append((ploc, e))
        else:
            c.add(src, (*ploc, "layer"), f"unknown layer {layer!r} (node, edge)")
    _check_places(site, c, origin, kind="node", items=site.nodes,
                  where=lambda n: [n.location])
    for ploc, e in pending:
        ok = True
        for end in ("source", "target"):
            node_id = getattr(e, end)
            node = site.nodes.get(node_id)
            if node is None:
                c.add(src, (*ploc, end), c.unknown("node", node_id))
                ok = False
                continue
            pos = e.path[0] if end == "source" else e.path[-1]
            gap = distance_m(node.location, (pos[1], pos[0]))
            if gap > 5.0:
                c.add(src, (*ploc[:2], "geometry", "coordinates"),
                      f"path {'starts' if end == 'source' else 'ends'} {gap:.0f} m away from "
                      f"its {end} node {node_id!r}")
                ok = False
        if ok:
            drawn = path_length_m(e.path)
            if e.length_m < drawn * 0.98 - 0.5:
                c.add(src, (*ploc, "length_m"), f"{e.length_m:g} m is shorter than the "
                                                 f"drawn path ({drawn:.1f} m)")
                ok = False
        if ok:
            _keep(e, src, ploc, c, site.edges, site.files, "edge", origin)
        elif e.id not in site.edges:
            c.dropped.add(f"edge:{e.id}")
    for bid, bld in list(site.buildings.items()):
        if bld.entrance_node not in site.nodes:
            s, loc = origin[f"building:{bid}"]
            c.add(s, (*loc, "entrance_node"), c.unknown("node", bld.entrance_node,
                                                         "network node"))
            _drop(c, "building", site.buildings, bid)


def _load_roster(root: Path, site: Site, c: _Collector,
                 origin: dict[str, tuple[_Source, Loc]]) -> None:
    src = _read_yaml(root, "resources/roster.yaml", c)
    if src is None or _validate(RosterFile, src, (), src.data, c) is None:
        return
    c.loaded.add(src.rel)
    _items(Shift, src, "shifts", c, site.shifts, site.files, "shift", origin)
    _items(Role, src, "roles", c, site.roles, site.files, "role", origin)
    _items(Person, src, "people", c, site.people, site.files, "person", origin)
    for pid, person in list(site.people.items()):
        s, loc = origin[f"person:{pid}"]
        bad = False
        if person.shift not in site.shifts:
            c.add(s, (*loc, "shift"), c.unknown("shift", person.shift))
            bad = True
        for j, role in enumerate(person.roles):
            if role not in site.roles:
                c.add(s, (*loc, "roles", j), c.unknown("role", role))
                bad = True
        if bad:
            _drop(c, "person", site.people, pid)


def _load_resources(root: Path, site: Site, c: _Collector,
                    origin: dict[str, tuple[_Source, Loc]]) -> None:
    src = _read_yaml(root, "resources/resources.yaml", c)
    if src is None or _validate(ResourceFile, src, (), src.data, c) is None:
        return
    _items(Resource, src, "resources", c, site.resources, site.files, "resource", origin)
    _drop_unknown_buildings(site.resources, "resource", site, c, origin)
    _check_places(site, c, origin, kind="resource", items=site.resources,
                  where=lambda r: [r.location])


def _drop_unknown_buildings(items: dict[str, Any], kind: str, site: Site, c: _Collector,
                            origin: dict[str, tuple[_Source, Loc]]) -> None:
    if "maps/site.geojson" not in c.loaded:  # its problems are reported already
        return
    for ident, item in list(items.items()):
        if item.building is not None and item.building not in site.buildings:
            s, loc = origin[f"{kind}:{ident}"]
            c.add(s, (*loc, "building"), c.unknown("building", item.building))
            _drop(c, kind, items, ident)


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
            c.add(s, (*loc, "link"), c.unknown("link", g.link))
            _drop(c, "gauge", site.gauges, gid)
            continue
        missing = [f for f in _ADDRESS_FIELDS[link.protocol] if f not in g.address]
        if missing:
            c.add(s, (*loc, "address"), f"needs {', '.join(missing)} (link {link.id!r} is "
                                         f"{link.protocol.value})")
            _drop(c, "gauge", site.gauges, gid)
            continue
        if link.protocol in (Protocol.MODBUS_RTU, Protocol.MODBUS_TCP):
            slave, register = g.address["slave"], g.address["register"]
            if not isinstance(slave, int) or not 1 <= slave <= 247:
                c.add(s, (*loc, "address", "slave"), f"Modbus slave id {slave!r} is not 1..247")
                _drop(c, "gauge", site.gauges, gid)
            elif not isinstance(register, int) or not 0 <= register <= 65535:
                c.add(s, (*loc, "address", "register"),
                      f"Modbus register {register!r} is not 0..65535")
                _drop(c, "gauge", site.gauges, gid)
    for gid, g in list(site.gauges.items()):
        rule = g.suppressed_when
        if rule is None:
            continue
        s, loc = origin[f"gauge:{gid}"]
        if rule.gauge == gid:
            problem = "a gauge cannot decide its own suppression"
        elif rule.gauge not in site.gauges:
            problem = c.unknown("gauge", rule.gauge)
        else:
            continue
        # fail-safe: the gauge stays, its alarms are always announced
        c.add(s, (*loc, "suppressed_when", "gauge"),
              f"{problem}; its alarms are never suppressed")
        site.gauges[gid] = g.model_copy(update={"suppressed_when": None})
    _check_places(site, c, origin, kind="gauge", items=site.gauges,
                  where=lambda g: [g.location])


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
        plan = _validate(Plan, src, (), src.data, c, kind="plan")
        if plan is not None:
            before = len(site.plans)
            _keep(plan, src, (), c, site.plans, site.files, "plan", origin)
            if len(site.plans) > before:
                sources[plan.id] = src
    for pid, plan in list(site.plans.items()):
        src = sources[pid]
        if not _plan_refs_ok(plan, src, site, c):
            _drop(c, "plan", site.plans, pid)
    # Escalation targets may only be checked once every plan is known. A plan whose target is
    # missing still loads (it is needed in an emergency) but without the broken escalation.
    for pid, plan in list(site.plans.items()):
        if plan.escalates_to is None:
            continue
        target = site.plans.get(plan.escalates_to)
        src = sources[pid]
        if target is None:
            msg = c.unknown("plan", plan.escalates_to)
        elif target.level.rank <= plan.level.rank:
            msg = (f"plan {target.id!r} is {target.level.value}, not above this plan's "
                   f"{plan.level.value}")
        else:
            continue
        c.add(src, ("escalates_to",), f"{msg}; the plan is loaded without this escalation")
        site.plans[pid] = plan.model_copy(update={"escalates_to": None})


def _plan_refs_ok(plan: Plan, src: _Source, site: Site, c: _Collector) -> bool:
    ok = True

    def role_ok(role: str, loc: Loc) -> None:
        nonlocal ok
        if "resources/roster.yaml" not in c.loaded:  # its problems are reported already
            return
        if role not in site.roles:
            c.add(src, loc, c.unknown("role", role))
            ok = False
        elif not site.people_with_role(role):
            # The roster changes (people leave, a phone number is mistyped): the plan is still
            # the plant's guidance and must stay usable, so it loads and this role stays empty.
            c.add(src, loc, f"no one on the roster holds role {role!r}; the plan is loaded, "
                            "but no one is called in this role")

    plan_roles = {r.role for r in plan.roles}
    for i, r in enumerate(plan.roles):
        role_ok(r.role, ("roles", i, "role"))
    called_in: dict[str, int] = {}
    for i, stage in enumerate(plan.notification):
        for j, role in enumerate(stage.roles):
            role_ok(role, ("notification", i, "roles", j))
        for j, role in enumerate(stage.escalate_to_roles):
            role_ok(role, ("notification", i, "escalate_to_roles", j))
        ok = _need_acks_ok(stage, ("notification", i, "need_acks"), src, site, c,
                           called_in) and ok
        for role in stage.roles:
            called_in.setdefault(role, stage.order)
    for i, step in enumerate(plan.steps):
        if step.owner not in plan_roles:
            c.add(src, ("steps", i, "owner"), f"owner {step.owner!r} is not one of this plan's "
                                             f"roles")
            ok = False
    return ok


def _need_acks_ok(stage: NotificationStage, loc: Loc, src: _Source, site: Site, c: _Collector,
                  called_in: dict[str, int]) -> bool:
    """Check a stage's per-role acknowledgements against the roster and the earlier stages.

    People are called once per plan, in the first stage naming one of their roles, so a role
    counted here must not be called by an earlier stage, and enough people must hold it.
    """
    ok = True
    for role, n in stage.need_by_role.items():
        if role in called_in:
            c.add(src, (*loc, role), f"role {role!r} is called in stage {called_in[role]} "
                                     "already (people are called once per plan); count its "
                                     "acknowledgements there")
            ok = False
            continue
        if "resources/roster.yaml" not in c.loaded or role not in site.roles:
            continue  # reported with the stage's roles
        holders = len(site.people_with_role(role))
        if 0 < holders < n:
            c.add(src, (*loc, role), f"{n} acknowledgements needed from role {role!r}, but "
                                     f"only {holders} on the roster hold it")
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
        d = _validate(DrillScenario, src, (), src.data, c, kind="drill")
        if d is None:
            continue
        ok = True
        if d.plan not in site.plans:
            c.add(src, ("plan",), c.unknown("plan", d.plan))
            ok = False
        if d.location not in site.buildings:
            c.add(src, ("location",), c.unknown("building", d.location))
            ok = False
        for i, inj in enumerate(d.injects):
            if inj.gauge is not None and inj.gauge not in site.gauges:
                c.add(src, ("injects", i, "gauge"), c.unknown("gauge", inj.gauge))
                ok = False
        if ok:
            _keep(d, src, (), c, site.drills, site.files, "drill", origin)


_GEOJSON_KINDS = ("building", "node")


def _box(boundary: Boundary) -> tuple[tuple[float, float], tuple[float, float]]:
    """Return ``((south, west), (north, east))`` of the boundary's outer ring."""
    ring = boundary.outline[0]
    return ((min(p[1] for p in ring), min(p[0] for p in ring)),
            (max(p[1] for p in ring), max(p[0] for p in ring)))


def _check_boundary(site: Site, c: _Collector, src: _Source, loc: Loc) -> None:
    """Leave out a boundary that lies away from most of the buildings.

    Everything else is checked against the boundary, so a misplaced boundary (a typo in a
    digit, swapped coordinates) must be caught here, not reported as every building, node and
    gauge lying outside the site.
    """
    if site.boundary is None or not site.buildings:
        return
    box = _box(site.boundary)
    limit = site.max_offsite_m()
    offsets = []
    for bld in site.buildings.values():
        lon, lat = bld.outline[0][0]
        offsets.append(metres_outside((lat, lon), box))
    away = sorted(off for off in offsets if off > limit)
    if len(away) * 2 <= len(offsets):
        return
    c.add(src, (*loc, "geometry", "coordinates"),
          f"the boundary lies {away[len(away) // 2] / 1000:.1f} km from {len(away)} of the "
          f"{len(offsets)} buildings (GeoJSON positions are [lon, lat]); the site is loaded "
          "without a boundary")
    site.boundary = None


def _check_places(site: Site, c: _Collector, origin: dict[str, tuple[_Source, Loc]], *,
                  kind: str, items: dict[str, Any],
                  where: Callable[[Any], list[tuple[float, float]]]) -> None:
    """Leave out items far outside the site (a swapped lat/lon, a typo in a digit)."""
    if site.boundary is None:
        return
    box = _box(site.boundary)
    limit = site.max_offsite_m()

    def outside_m(point: tuple[float, float]) -> float:
        return metres_outside(point, box)

    for ident, item in list(items.items()):
        lat, lon = max(where(item), key=outside_m)
        off = outside_m((lat, lon))
        if off <= limit:
            continue
        s, loc = origin[f"{kind}:{ident}"]
        if kind in _GEOJSON_KINDS:  # GeoJSON: point at the geometry, in the file's own order
            c.add(s, (*loc[:2], "geometry", "coordinates"),
                  f"[{lon}, {lat}] lies {off / 1000:.1f} km outside the site (GeoJSON positions "
                  f"are [lon, lat])")
        else:
            c.add(s, (*loc, "location"), f"[{lat}, {lon}] lies {off / 1000:.1f} km outside "
                                          f"the site (is the order [lat, lon]?)")
        _drop(c, kind, items, ident)


def site_problems_text(problems: Iterable[Problem]) -> str:
    """Return problems one per line, as ``site validate`` prints them."""
    return "\n".join(str(p) for p in problems)
