"""The live map page: the site as data, on an offline folium map, with the page script inline.

:func:`page_html` returns one HTML document with Leaflet, jQuery, the ``QWebChannel`` client,
the site's geometry and the page script all inline; the only URLs in it are ``data:`` URIs. It
is loaded from a file in a private folder (:func:`write_page`), so the site's size is not bound by
``setHtml``'s 2 MB limit.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QFile, QIODevice

from commandcenter.core.geodesy import EARTH_RADIUS_M
from commandcenter.core.site import ResourceKind, Site
from commandcenter.geo.icons import HIDDEN_KINDS, glyph_svg
from commandcenter.geo.offline import MapError, OfflineMap, asset_references, standalone_html
from commandcenter.geo.sitemap import NEAREST_COLOUR
from commandcenter.ui.alarms.overview import TILE_STYLES, TileState
from commandcenter.ui.i18n import name_of, tr
from commandcenter.ui.map import strings  # noqa: F401  (registers the UI strings)
from commandcenter.ui.map.bridge import DOWNWIND_RANGE_M, RADIUS_RANGE_M
from commandcenter.ui.map.script import MAP_NAME_MARK, PAGE_CSS, PAGE_SCRIPT

QWEBCHANNEL_JS = ":/qtwebchannel/qwebchannel.js"
"""The ``QWebChannel`` client script, from Qt's own resources (read here and put inline)."""

GLYPH_PX = {"desk": 24, "wall": 34}
"""Size of a resource glyph on the map, per theme."""

LIST_GLYPH_PX = {"desk": 18, "wall": 26}
"""Size of a glyph in the layer list and the legend, per theme."""

_PAGE_STRINGS = ("kind", "people", "hazards", "none", "spec", "quantity", "capacity", "building",
                 "value", "unit", "state", "no_route", "people_n", "min", "from_inside",
                 "placing", "drawing", "legend", "legend_gauges", "legend_zone", "legend_resources",
                 "zone", "route", "route_inside", "routes", "nearest", "nearest_way", "gauges",
                 "buildings", "network", "boundary", "evacuation", "ap", "ap_blocked", "road",
                 "walkway", "length", "nodes", "source", "radius", "sector", "wind", "plan",
                 "zone_sector", "zone_no_sector", "wind_from", "wind_unknown", "walk",
                 "distance", "drive", "upwind", "radius_handle", "downwind_handle")
_STATE_NAMES = {
    TileState.NORMAL: "alarms.state.normal",
    TileState.PREALARM: "alarm.prealarm",
    TileState.ALARM1: "alarm.alarm1",
    TileState.ALARM2: "alarm.alarm2",
    TileState.STALE: "map.state.stale",
    TileState.SHELVED: "alarms.state.shelved",
    TileState.OUT_OF_SERVICE: "alarms.state.out_of_service",
    TileState.NO_DATA: "map.state.no_data",
}


def _both(key: str, **fields: object) -> dict[str, str]:
    return {lang: tr(key, lang, **fields) for lang in ("zh", "en")}


def _pt(lat: float, lon: float) -> list[float]:
    return [round(lat, 7), round(lon, 7)]


def site_data(site: Site, lang: str, *, interactive: bool = True,
              wall: bool = False) -> dict[str, Any]:
    """Return what the page script draws: geometry, names in both languages, colours.

    ``interactive``: the commander may place and drag the zone; ``wall``: large type for the
    wall display.
    """
    kinds_order = {k.value: i for i, k in enumerate(ResourceKind)}
    size = GLYPH_PX["wall" if wall else "desk"]
    small = LIST_GLYPH_PX["wall" if wall else "desk"]
    states = {}
    for state, style in TILE_STYLES.items():
        states[state.value] = {"fill": style.fill, "text": style.text, "border": style.border,
                               "hatch": style.hatch is not None,
                               "formal": state in (TileState.ALARM1, TileState.ALARM2),
                               "name": _both(_STATE_NAMES[state])}
    bounds = site.bounds()
    return {
        "lang": lang,
        "interactive": interactive,
        "wall": wall,
        "strings": {lang_: {**{k: tr(f"map.js.{k}", lang_) for k in _PAGE_STRINGS},
                            "compass": [tr(f"map.compass.{i}", lang_) for i in range(8)]}
                    for lang_ in ("zh", "en")},
        "boundary": [_pt(lat, lon) for lon, lat in site.boundary.outline[0]]
        if site.boundary is not None else None,
        "buildings": [{
            "id": b.id, "name": b.name.model_dump(),
            "kindName": {lang_: name_of("map.bkind", b.kind.value, lang_)
                         for lang_ in ("zh", "en")},
            "people": b.occupancy, "hazards": list(b.hazards),
            "ring": [_pt(lat, lon) for lon, lat in b.outline[0]],
        } for b in site.buildings.values()],
        "network": [{"id": e.id, "road": e.kind == "road", "len": round(e.length_m),
                     "a": e.source, "b": e.target,
                     "p": [_pt(lat, lon) for lon, lat in e.path]} for e in site.edges.values()],
        "resources": [{
            "id": r.id, "kind": r.kind.value, "name": r.name.model_dump(), "spec": r.spec,
            "quantity": r.quantity, "capacity": r.capacity, "building": r.building,
            "at": _pt(*r.location),
        } for r in site.resources.values()],
        "kinds": {k.value: {"name": {lang_: name_of("resource", k.value, lang_)
                                     for lang_ in ("zh", "en")},
                            "glyph": glyph_svg(k.value, size),
                            "icon": glyph_svg(k.value, small),
                            "order": kinds_order[k.value],
                            "shown": k not in HIDDEN_KINDS} for k in ResourceKind},
        "glyphSize": size,
        "nearestColour": NEAREST_COLOUR,
        "gauges": [{"id": g.id, "name": g.name.model_dump(), "kind": g.kind.value,
                    "unit": g.unit, "at": _pt(*g.location)} for g in site.gauges.values()],
        "states": states,
        "bounds": [_pt(*bounds[0]), _pt(*bounds[1])] if bounds is not None else None,
        "radiusRange": list(RADIUS_RANGE_M),
        "downwindRange": list(DOWNWIND_RANGE_M),
        "earthRadius": EARTH_RADIUS_M,
    }


def _state_css() -> str:
    rules = []
    for state, style in TILE_STYLES.items():
        rules.append(f".cc-lbl.cc-g-{state.value} {{ background: {style.fill}; "
                     f"color: {style.text}; border-color: {style.border}; }}")
        hatch = (f" background-image: repeating-linear-gradient(45deg, {style.hatch} 0 2px, "
                 f"transparent 2px 5px);" if style.hatch else "")
        rules.append(f".cc-gauge.cc-gs-{state.value} {{ background-color: {style.fill}; "
                     f"border-color: {style.border};{hatch} }}")
    return "\n".join(rules)


def _channel_js() -> str:
    f = QFile(QWEBCHANNEL_JS)
    if not f.open(QIODevice.OpenModeFlag.ReadOnly):
        raise MapError(f"Qt's QWebChannel client script {QWEBCHANNEL_JS} is missing "
                       f"(is QtWebChannel installed?)")
    try:
        return bytes(f.readAll().data()).decode("utf-8")
    finally:
        f.close()


def _inline(text: str) -> str:
    """Make ``text`` safe inside a ``<script>`` element."""
    return text.replace("</", "<\\/")


def page_html(site: Site, lang: str, *, interactive: bool = True, wall: bool = False) -> str:
    """Return the live map page for ``site`` (every asset inline, nothing to fetch).

    Raises:
        MapError: An asset is missing, or the page would load anything from outside.
    """
    centre = site.center() or (0.0, 0.0)
    m = OfflineMap(location=centre, zoom_start=16, max_zoom=21, min_zoom=12,
                   control_scale=True, prefer_canvas=True, zoom_snap=0.25, zoom_delta=0.5)
    page = standalone_html(m)
    data = json.dumps(site_data(site, lang, interactive=interactive, wall=wall),
                      ensure_ascii=False,
                      separators=(",", ":"))
    head = (f"<style>{PAGE_CSS}\n{_state_css()}</style>\n"
            f"<script>\n{_inline(_channel_js())}\n</script>\n")
    script = (f"<script>\nwindow.CC_DATA = {_inline(data)};\n"
              f"{_inline(PAGE_SCRIPT.replace(MAP_NAME_MARK, m.get_name()))}\n</script>\n")
    if "</head>" not in page or not page.rstrip().endswith("</html>"):
        raise MapError("the offline map page has an unexpected layout (no </head> or </html>)")
    page = page.replace("</head>", head + "</head>", 1)
    cut = page.rstrip().rfind("</html>")
    page = page[:cut] + script + "</html>\n"
    outside = [u for u in asset_references(page) if not u.startswith(("data:", "#"))]
    if outside:
        raise MapError(f"the map page would load {outside[0]} (it must work with no network)")
    return page


def write_page(html: str, folder: Path | None = None) -> Path:
    """Write ``html`` to ``map.html`` in ``folder`` (default: a new private temporary folder).

    Raises:
        MapError: The file cannot be written.
    """
    try:
        target = folder or Path(tempfile.mkdtemp(prefix="commandcenter-map-"))
        path = target / "map.html"
        path.write_text(html, encoding="utf-8")
    except OSError as err:
        raise MapError(f"cannot write the map page: {err.strerror or err}") from err
    return path
