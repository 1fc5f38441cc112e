"""The site on an offline map: buildings, network, gauges, resources, and an incident's answer.

Layers (each can be switched in the layer list, which shows each layer's symbol): site boundary,
buildings, road/walkway network, gauges, one layer per resource kind (each kind its own glyph,
:mod:`commandcenter.geo.icons`), assembly points, and — when an
:class:`~commandcenter.core.routing.IncidentAnswer` is given — the hazard zone, the evacuation
routes (stranded buildings outlined in red and labelled), assembly points in the zone marked
unusable, and the ways of the nearest resources. Clicking any feature opens its details; a legend
explains the symbols. An exported file is a snapshot: gauges carry no live alarm state.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import folium
from branca.element import Element, MacroElement
from jinja2 import Template

from commandcenter.core.hazard import HazardZone
from commandcenter.core.routing import IncidentAnswer, Stranded
from commandcenter.core.site import Building, Gauge, Resource, ResourceKind, Site
from commandcenter.geo.icons import GLYPHS, HIDDEN_KINDS, glyph_svg
from commandcenter.geo.names import BUILDING_KIND_NAMES
from commandcenter.geo.offline import OfflineMap

__all__ = ["NEAREST_COLOUR", "site_map"]

ROUTE_COLOUR = "#1B7F3B"
ROUTE_INSIDE_COLOUR = "#E65100"
STRANDED_COLOUR = "#C62828"
NEAREST_COLOUR = "#1F5F99"
"""The dashed way of a nearest resource (one colour for every kind: the glyph says which)."""
ZONE_COLOUR = "#B00000"

_NAMES: dict[str, tuple[str, str]] = {
    "boundary": ("厂界", "Site boundary"),
    "buildings": ("建筑与装置", "Buildings and units"),
    "network": ("道路与步道", "Roads and walkways"),
    "gauges": ("仪表", "Gauges"),
    "assembly": ("集合点", "Assembly points"),
    "zone": ("危险区域", "Hazard zone"),
    "routes": ("疏散路线", "Evacuation routes"),
    "nearest": ("最近资源路线", "Ways of the nearest resources"),
    "stranded": ("无安全路线", "NO SAFE ROUTE"),
    "legend": ("图例", "Legend"),
    "gauge_static": ("仪表（导出文件不含实时状态）", "Gauge (no live state in an exported file)"),
    "route": ("疏散路线", "Evacuation route"),
    "route_inside": ("从区内撤出的路线", "Route out of the zone"),
    "nearest_way": ("最近资源的路线（虚线）", "Way of a nearest resource (dashed)"),
    "ap_ok": ("集合点", "Assembly point"),
    "ap_blocked": ("区内集合点，不得使用", "Assembly point in the zone: do not use"),
    "source": ("泄漏源", "Release point"),
    "road": ("道路", "Road"),
    "walkway": ("步道", "Walkway"),
    # popup rows
    "p.kind": ("类型", "Kind"),
    "p.people": ("人数", "People"),
    "p.hazards": ("主要危险物料", "Main hazards"),
    "p.evacuation": ("疏散", "Evacuation"),
    "p.length": ("长度", "Length"),
    "p.ends": ("节点", "Nodes"),
    "p.unit": ("单位", "Unit"),
    "p.range": ("量程", "Range"),
    "p.limits": ("报警限值", "Alarm limits"),
    "p.building": ("所在建筑", "In building"),
    "p.spec": ("规格", "Spec"),
    "p.quantity": ("数量", "Quantity"),
    "p.capacity": ("容纳人数", "Holds"),
    "p.radius": ("隔离半径", "Isolation radius"),
    "p.sector": ("下风向扇区", "Downwind sector"),
    "p.wind": ("风向", "Wind"),
    "p.centre": ("位置", "Position"),
    "p.state": ("状态", "State"),
    "none": ("无", "none"),
    "calm": ("静风或未知：仅隔离圆", "calm or unknown: circle only"),
    "sector": ("下风向 {length} m，扇区 {angle}°，朝向 {towards}°",
               "downwind {length} m, {angle}° wide, towards {towards}°"),
    "wind_from": ("来向 {deg}°", "from {deg}°"),
    "in_zone": ("位于危险区内，不得使用", "in the hazard zone: do not use"),
    "from_inside": ("从危险区内撤出", "leaves from inside the zone"),
    "drive": ("车行", "drive"),
    "min": ("分钟", "min"),
    "people_n": ("{n} 人", "{n} people"),
    ResourceKind.FIRE_HYDRANT: ("消防栓", "Fire hydrants"),
    ResourceKind.FIRE_MONITOR: ("消防炮", "Fire monitors"),
    ResourceKind.EXTINGUISHER_STATION: ("灭火器箱", "Extinguisher stations"),
    ResourceKind.SCBA_CABINET: ("空气呼吸器柜", "SCBA cabinets"),
    ResourceKind.SPILL_KIT: ("泄漏应急箱", "Spill kits"),
    ResourceKind.EYEWASH_SHOWER: ("洗眼器", "Eyewash showers"),
    ResourceKind.FIRST_AID: ("急救箱", "First aid"),
    ResourceKind.FIRE_TRUCK: ("消防车", "Fire trucks"),
    ResourceKind.GAS_MASK_CABINET: ("防毒面具柜", "Gas mask cabinets"),
    ResourceKind.AMBULANCE: ("救护车", "Ambulances"),
    ResourceKind.FOAM_STATION: ("泡沫站", "Foam stations"),
    ResourceKind.EMERGENCY_SHELTER: ("应急避难所", "Emergency shelters"),
    # building kinds
    **{f"b.{kind.value}": names for kind, names in BUILDING_KIND_NAMES.items()},
    # gauge kinds and alarm levels
    "g.combustible_gas": ("可燃气体", "Combustible gas"),
    "g.h2s": ("硫化氢", "H₂S"),
    "g.nh3": ("氨气", "NH₃"),
    "g.cl2": ("氯气", "Cl₂"),
    "g.co": ("一氧化碳", "CO"),
    "g.o2": ("氧气", "O₂"),
    "g.temperature": ("温度", "Temperature"),
    "g.pressure": ("压力", "Pressure"),
    "g.level": ("液位", "Level"),
    "g.flow": ("流量", "Flow"),
    "g.wind_direction": ("风向", "Wind direction"),
    "g.wind_speed": ("风速", "Wind speed"),
    "l.prealarm": ("预警", "pre-alarm"),
    "l.alarm1": ("一级", "level 1"),
    "l.alarm2": ("二级", "level 2"),
}

_CSS = """
.cc-pop { font: 14px/1.45 "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; }
.cc-pop h3 { font-size: 16px; margin: 0 0 6px 0; }
.cc-pop td, .leaflet-popup-content th { padding: 1px 10px 1px 0; vertical-align: top;
  text-align: left; }
.cc-pop td.k, .leaflet-popup-content th { color: #52606D; font-weight: normal;
  white-space: nowrap; }
.cc-pop .bad { color: #C62828; font-weight: bold; }
.cc-glyph { display: block; filter: drop-shadow(0 0 1px #fff); }
.leaflet-control-layers .cc-glyph, .cc-legend .cc-glyph { display: inline-block;
  vertical-align: -4px; margin-right: 4px; }
.cc-ap { background: #009E3C; color: #FFFFFF; border: 2px solid #FFFFFF; border-radius: 4px;
  font: bold 13px/1.2 sans-serif; padding: 1px 5px; white-space: nowrap; display: inline-block;
  box-shadow: 0 0 3px #000; transform: translate(-50%, -50%); }
.cc-ap.blocked { background: #7B8794; text-decoration: line-through; border-color: #C62828; }
.cc-stranded { background: #C62828; color: #FFFFFF; border: 2px solid #000; border-radius: 4px;
  font: bold 13px/1.2 sans-serif; padding: 2px 6px; white-space: nowrap; display: inline-block;
  box-shadow: 0 1px 4px rgba(0,0,0,.6); transform: translate(-50%, -130%); }
.cc-gauge { box-sizing: border-box; width: 12px; height: 12px; background: #F5F7FA;
  border: 2px solid #3E4C59; transform: rotate(45deg); }
.cc-legend { background: rgba(255,255,255,0.94); padding: 6px 10px; border-radius: 4px;
  box-shadow: 0 1px 5px rgba(0,0,0,.4); font: 13px/1.6 sans-serif; }
.cc-legend b { display: block; }
.cc-legend s { display: inline-block; width: 24px; height: 0; border-top: 4px solid;
  vertical-align: 3px; margin-right: 6px; }
.cc-legend s.dash { border-top-style: dashed; }
.cc-legend u { display: inline-block; width: 14px; height: 11px; border: 2px solid #B00000;
  background: rgba(255,48,48,.35); vertical-align: -2px; margin-right: 6px; }
.cc-legend i.cc-gauge { display: inline-block; width: 11px; height: 11px;
  margin: 0 9px 0 4px; vertical-align: 0; }
.cc-legend .cc-ap, .cc-legend .cc-stranded { transform: none; font-size: 11px; margin-right: 4px; }
"""


class _Legend(MacroElement):
    """A Leaflet control holding the legend's HTML."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            const legend = L.control({position: {{ this.position|tojson }}});
            legend.onAdd = function () {
                const div = L.DomUtil.create("div", "cc-legend");
                div.innerHTML = {{ this.content|tojson }};
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """)

    def __init__(self, content: str, position: str = "bottomleft") -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Legend"
        self.content = content
        self.position = position


def _name(key: str, lang: str) -> str:
    zh, en = _NAMES.get(key, (key, key))
    return en if lang == "en" else zh


def _esc(value: object) -> str:
    """Escape text for HTML, and ``$`` and backticks too: folium puts popups in JS templates."""
    return html.escape(str(value)).replace("$", "&#36;").replace("`", "&#96;")


def _table(title: str, rows: list[tuple[str, str]]) -> str:
    """A popup: a heading and ``(label, html value)`` rows (empty values are left out)."""
    body = "".join(f"<tr><td class='k'>{_esc(k)}</td><td>{v}</td></tr>" for k, v in rows if v)
    return f"<div class='cc-pop'><h3>{_esc(title)}</h3><table>{body}</table></div>"


def _popup(content: str) -> folium.Popup:
    return folium.Popup(content, max_width=420)


def _ap_icon(text: str, blocked: bool) -> folium.DivIcon:
    cls = "cc-ap blocked" if blocked else "cc-ap"
    return folium.DivIcon(html=f"<div class='{cls}'>{_esc(text)}</div>", icon_size=(0, 0),
                          icon_anchor=(0, 0), class_name="cc-empty")


def _line(points: list[list[float]], parent: folium.FeatureGroup, **options: Any) -> None:
    """Add a polyline (folium's ``PolyLine`` has no type hints: wrapped once, here)."""
    folium.PolyLine(points, **options).add_to(parent)  # type: ignore[no-untyped-call]


def _with_glyph(kind: str, title: str, size: int = 18) -> str:
    """A layer-list entry or legend line: the kind's glyph, then its title."""
    return f"{glyph_svg(kind, size)}{_esc(title)}"


def site_map(site: Site, answer: IncidentAnswer | None = None, *, lang: str = "zh"
             ) -> OfflineMap:
    """Return an offline map of ``site``; with ``answer``, its zone, routes and nearest resources.

    Args:
        site: The loaded site.
        answer: The routing answer for an incident (optional).
        lang: ``"zh"`` or ``"en"`` for names, layer titles, popups and the legend.
    """
    centre = site.center() or (0.0, 0.0)
    m = OfflineMap(location=centre, zoom_start=16, max_zoom=21, control_scale=True,
                   prefer_canvas=True)
    root: Any = m.get_root()
    root.header.add_child(Element(f"<style>{_CSS}</style>"))
    _boundary(m, site, lang)
    _buildings(m, site, lang, answer)
    _network(m, site, lang)
    _gauges(m, site, lang)
    _resources(m, site, lang, answer)
    if answer is not None:
        _incident(m, site, answer, lang)
    _Legend(_legend_html(site, lang, answer is not None)).add_to(m)
    bounds = site.bounds()
    if bounds is not None:
        m.fit_bounds([list(bounds[0]), list(bounds[1])])
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def _legend_html(site: Site, lang: str, incident: bool) -> str:
    lines = [f"<b>{_esc(_name('legend', lang))}</b>"
             f"<i class='cc-gauge'></i>{_esc(_name('gauge_static', lang))}",
             f"<span class='cc-ap'>AP</span>{_esc(_name('ap_ok', lang))}"]
    if incident:
        lines += [
            f"<span class='cc-ap blocked'>AP</span>{_esc(_name('ap_blocked', lang))}",
            f"<u></u>{_esc(_name('zone', lang))}",
            f"<s style='border-color:{ROUTE_COLOUR}'></s>{_esc(_name('route', lang))}",
            f"<s style='border-color:{ROUTE_INSIDE_COLOUR}'></s>"
            f"{_esc(_name('route_inside', lang))}",
            f"<span class='cc-stranded'>!</span>{_esc(_name('stranded', lang))}",
            f"<s class='dash' style='border-color:{NEAREST_COLOUR}'></s>"
            f"{_esc(_name('nearest_way', lang))}"]
    kinds = {r.kind.value for r in site.resources.values()} - {ResourceKind.ASSEMBLY_POINT.value}
    lines += [_with_glyph(k, _name(k, lang)) for k in GLYPHS if k in kinds]
    return "<br>".join(lines)


def _boundary(m: folium.Map, site: Site, lang: str) -> None:
    if site.boundary is None:
        return
    ring = [[lat, lon] for lon, lat in site.boundary.outline[0]]
    group = folium.FeatureGroup(name=_name("boundary", lang))
    folium.Polygon(ring, color="#333333", weight=3, dash_array="8 6", fill=False,
                   tooltip=_esc(site.boundary.name.get(lang))).add_to(group)
    group.add_to(m)


def _evacuation_text(b: Building, answer: IncidentAnswer | None,
                     stranded: Mapping[str, Stranded], lang: str) -> str:
    """``b``'s way out, or why it has none (``stranded``: the answer's, by building id)."""
    if answer is None:
        return ""
    route = answer.evacuation.routes.get(b.id)
    if route is not None:
        inside = f" ({_esc(_name('from_inside', lang))})" if route.starts_inside else ""
        return (f"→ {_esc(route.assembly_point)}: {route.length_m:.0f} m, "
                f"{route.walk_s / 60:.1f} {_esc(_name('min', lang))}{inside}")
    s = stranded.get(b.id)
    if s is not None:
        return f"<span class='bad'>{_esc(_name('stranded', lang))}: {_esc(s.reason)}</span>"
    return ""


def _building_popup(b: Building, lang: str, answer: IncidentAnswer | None,
                    stranded: Mapping[str, Stranded]) -> str:
    return _table(f"{b.name.get(lang)} ({b.id})", [
        (_name("p.kind", lang), _esc(_name(f"b.{b.kind.value}", lang))),
        (_name("p.people", lang), _esc(b.occupancy)),
        (_name("p.hazards", lang), _esc("、".join(b.hazards) or _name("none", lang))),
        (_name("p.evacuation", lang), _evacuation_text(b, answer, stranded, lang))])


def _buildings(m: folium.Map, site: Site, lang: str, answer: IncidentAnswer | None) -> None:
    stranded = {s.building: s for s in answer.evacuation.stranded} if answer else {}
    features = [{
        "type": "Feature",
        "properties": {"id": b.id, "stranded": b.id in stranded,
                       "popup": _building_popup(b, lang, answer, stranded)},
        "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]
                                                        for ring in b.outline]},
    } for b in site.buildings.values()]

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        bad = feature["properties"]["stranded"]
        return {"color": STRANDED_COLOUR if bad else "#4a4a4a", "weight": 4 if bad else 1,
                "fillColor": "#ff9a9a" if bad else "#c9c3b5", "fillOpacity": 0.7}

    folium.GeoJson({"type": "FeatureCollection", "features": features},
                   name=_name("buildings", lang), style_function=style,
                   tooltip=folium.GeoJsonTooltip(fields=["id"], labels=False),
                   popup=folium.GeoJsonPopup(fields=["popup"], labels=False)).add_to(m)


def _network(m: folium.Map, site: Site, lang: str) -> None:
    kind_label, length_label, ends_label = (_name(k, lang) for k in ("p.kind", "p.length",
                                                                     "p.ends"))
    features = [{"type": "Feature",
                 "properties": {"id": e.id, "kind": e.kind.value,
                                kind_label: _name(e.kind.value, lang),
                                length_label: f"{e.length_m:.0f} m",
                                ends_label: f"{e.source} – {e.target}"},
                 "geometry": {"type": "LineString", "coordinates": [list(p) for p in e.path]}}
                for e in site.edges.values()]

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        road = feature["properties"]["kind"] == "road"
        return {"color": "#8a8a8a" if road else "#b9b9b9", "weight": 4 if road else 1.5,
                "dashArray": None if road else "3 4"}

    folium.GeoJson({"type": "FeatureCollection", "features": features},
                   name=_name("network", lang), style_function=style,
                   popup=folium.GeoJsonPopup(fields=["id", kind_label, length_label,
                                                     ends_label])).add_to(m)


def _limits(g: Gauge, lang: str) -> str:
    return "; ".join(f"{_name('l.' + t.level.value, lang)} {'≥' if t.direction == 'high' else '≤'}"
                     f" {t.value:g}" for t in g.thresholds)


def _gauges(m: folium.Map, site: Site, lang: str) -> None:
    if not site.gauges:
        return
    group = folium.FeatureGroup(name=f"<i class='cc-gauge' style='display:inline-block;"
                                     f"width:10px;height:10px;margin:0 8px 0 3px'></i>"
                                     f"{_esc(_name('gauges', lang))}")
    for g in site.gauges.values():
        content = _table(f"{g.name.get(lang)} ({g.id})", [
            (_name("p.kind", lang), _esc(_name(f"g.{g.kind.value}", lang))),
            (_name("p.unit", lang), _esc(g.unit)),
            (_name("p.range", lang), _esc(f"{g.range[0]:g} – {g.range[1]:g}")),
            (_name("p.limits", lang), _esc(_limits(g, lang))),
            (_name("p.building", lang), _esc(g.building or "")),
            (_name("p.state", lang), _esc(_name("gauge_static", lang)))])
        folium.Marker(g.location, icon=folium.DivIcon(
            html="<div class='cc-gauge'></div>", icon_size=(12, 12), icon_anchor=(6, 6),
            class_name="cc-empty"), tooltip=_esc(g.id), popup=_popup(content)).add_to(group)
    group.add_to(m)


def _resource_popup(r: Resource, lang: str, extra: str = "") -> str:
    return _table(f"{r.name.get(lang)} ({r.id})", [
        (_name("p.kind", lang), _esc(_name(r.kind.value, lang)) + extra),
        (_name("p.spec", lang), _esc(r.spec or "")),
        (_name("p.quantity", lang), _esc(r.quantity if r.quantity is not None else "")),
        (_name("p.capacity", lang), _esc(r.capacity if r.capacity is not None else "")),
        (_name("p.building", lang), _esc(r.building or ""))])


def _resources(m: folium.Map, site: Site, lang: str, answer: IncidentAnswer | None) -> None:
    blocked = set(answer.evacuation.assembly_points_in_zone) if answer else set()
    by_kind: dict[str, list[Resource]] = {}
    for r in site.resources.values():
        by_kind.setdefault(r.kind.value, []).append(r)
    for kind in [k for k in GLYPHS if k in by_kind] + sorted(set(by_kind) - set(GLYPHS)):
        if kind == ResourceKind.ASSEMBLY_POINT:
            group = folium.FeatureGroup(
                name=f"<span class='cc-ap' style='transform:none;font-size:11px;"
                     f"margin-right:4px'>AP</span>{_esc(_name('assembly', lang))}")
            for r in by_kind[kind]:
                bad = r.id in blocked
                note = f" — <span class='bad'>{_esc(_name('in_zone', lang))}</span>" if bad \
                    else ""
                folium.Marker(r.location, icon=_ap_icon(r.id, bad),
                              tooltip=_esc(f"{r.id} {r.name.get(lang)}"),
                              popup=_popup(_resource_popup(r, lang, note))).add_to(group)
        else:
            group = folium.FeatureGroup(name=_with_glyph(kind, _name(kind, lang)),
                                        show=kind not in HIDDEN_KINDS)
            icon_html = glyph_svg(kind, 22)
            for r in by_kind[kind]:
                folium.Marker(r.location, icon=folium.DivIcon(
                    html=icon_html, icon_size=(22, 22), icon_anchor=(11, 11),
                    class_name="cc-empty"), tooltip=_esc(f"{r.id} {r.name.get(lang)}"),
                    popup=_popup(_resource_popup(r, lang))).add_to(group)
        group.add_to(m)


def zone_rows(zone: HazardZone, lang: str) -> list[tuple[str, str]]:
    """The hazard zone's details as ``(label, text)`` rows (source, radius, sector, wind)."""
    sector = _name("calm", lang)
    if zone.has_sector and zone.downwind_deg is not None:
        sector = _name("sector", lang).format(length=f"{zone.sector_length_m:.0f}",
                                              angle=f"{zone.sector_half_angle_deg * 2:.0f}",
                                              towards=f"{zone.downwind_deg:.0f}")
    wind = "—" if zone.wind_from_deg is None else \
        _name("wind_from", lang).format(deg=f"{zone.wind_from_deg:.0f}")
    return [(_name("p.centre", lang), f"{zone.lat:.6f}, {zone.lon:.6f}"),
            (_name("p.radius", lang), f"{zone.radius_m:.0f} m"),
            (_name("p.sector", lang), sector),
            (_name("p.wind", lang), wind)]


def _incident(m: folium.Map, site: Site, answer: IncidentAnswer, lang: str) -> None:
    zone = answer.zone
    details = _table(_name("zone", lang), [(k, _esc(v)) for k, v in zone_rows(zone, lang)])
    group = folium.FeatureGroup(name=f"<u style='display:inline-block;width:14px;height:10px;"
                                     f"border:2px solid {ZONE_COLOUR};background:"
                                     f"rgba(255,48,48,.35);margin-right:4px'></u>"
                                     f"{_esc(_name('zone', lang))}")
    folium.Polygon(zone.outline(), color=ZONE_COLOUR, weight=2, fill=True, fill_color="#ff3030",
                   fill_opacity=0.25, popup=_popup(details)).add_to(group)
    folium.CircleMarker(zone.centre, radius=8, color="#ffffff", weight=3, fill=True,
                        fill_color=STRANDED_COLOUR, fill_opacity=1.0,
                        tooltip=_esc(_name("source", lang)),
                        popup=_popup(details)).add_to(group)
    group.add_to(m)
    plan = answer.evacuation
    routes = folium.FeatureGroup(name=f"<s style='display:inline-block;width:20px;height:0;"
                                      f"border-top:4px solid {ROUTE_COLOUR};vertical-align:3px;"
                                      f"margin-right:4px'></s>{_esc(_name('routes', lang))}")
    for r in plan.routes.values():
        colour = ROUTE_INSIDE_COLOUR if r.starts_inside else ROUTE_COLOUR
        text = (f"{r.building} → {r.assembly_point}: {r.length_m:.0f} m, "
                f"{r.walk_s / 60:.1f} {_name('min', lang)}"
                + (f" ({_name('from_inside', lang)})" if r.starts_inside else ""))
        _line([list(c) for c in r.coords], routes, color=colour, weight=4, opacity=0.85,
              popup=_popup(f"<div class='cc-pop'>{_esc(text)}</div>"))
    for s in plan.stranded:
        b = site.buildings.get(s.building)
        if b is None:
            continue
        lat, lon = _centroid(b)
        text = (f"{s.building} {_name('stranded', lang)} · "
                f"{_name('people_n', lang).format(n=s.occupancy)}")
        folium.Marker((lat, lon), icon=folium.DivIcon(
            html=f"<div class='cc-stranded'>{_esc(text)}</div>", icon_size=(0, 0),
            icon_anchor=(0, 0), class_name="cc-empty"),
            popup=_popup(_building_popup(b, lang, answer, {s.building: s}))).add_to(routes)
    routes.add_to(m)
    nearest = folium.FeatureGroup(name=f"<s style='display:inline-block;width:20px;height:0;"
                                       f"border-top:4px dashed {NEAREST_COLOUR};"
                                       f"vertical-align:3px;margin-right:4px'></s>"
                                       f"{_esc(_name('nearest', lang))}", show=False)
    for kind, hits in answer.nearest.items():
        if kind == ResourceKind.ASSEMBLY_POINT:
            continue
        for h in hits[:1]:
            how = f" ({_name('drive', lang)})" if h.by_vehicle else ""
            text = (f"{_name(kind, lang)}: {h.resource} — {h.distance_m:.0f} m, "
                    f"{h.time_s / 60:.1f} {_name('min', lang)}{how}")
            _line([list(c) for c in h.coords], nearest, color=NEAREST_COLOUR, weight=3,
                  dash_array="8 6", popup=_popup(f"<div class='cc-pop'>{_esc(text)}</div>"))
    nearest.add_to(m)


def _centroid(b: Building) -> tuple[float, float]:
    """The mean of a building's outer ring, ``(lat, lon)`` (a label's anchor)."""
    ring = b.outline[0]
    pts = ring[:-1] if len(ring) > 1 and ring[0] == ring[-1] else ring
    return (sum(p[1] for p in pts) / len(pts), sum(p[0] for p in pts) / len(pts))
