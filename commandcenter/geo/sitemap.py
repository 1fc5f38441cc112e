"""The site on an offline map: buildings, network, resources, and an incident's answer.

Layers (each can be switched in the layer control): site boundary, buildings, road/walkway
network, one layer per resource kind, assembly points, and — when an
:class:`~commandcenter.core.routing.IncidentAnswer` is given — the hazard zone, the evacuation
routes (stranded buildings outlined in red) and the ways of the nearest resources.
"""

from __future__ import annotations

import html
from typing import Any

import folium

from commandcenter.core.routing import IncidentAnswer
from commandcenter.core.site import ResourceKind, Site
from commandcenter.geo.offline import OfflineMap

RESOURCE_COLOURS: dict[str, str] = {
    ResourceKind.FIRE_HYDRANT: "#d62728",
    ResourceKind.FIRE_MONITOR: "#ff7f0e",
    ResourceKind.EXTINGUISHER_STATION: "#e377c2",
    ResourceKind.SCBA_CABINET: "#1f77b4",
    ResourceKind.SPILL_KIT: "#8c564b",
    ResourceKind.EYEWASH_SHOWER: "#17becf",
    ResourceKind.FIRST_AID: "#2ca02c",
    ResourceKind.FIRE_TRUCK: "#b00000",
    ResourceKind.ASSEMBLY_POINT: "#009e3c",
    ResourceKind.GAS_MASK_CABINET: "#9467bd",
    ResourceKind.AMBULANCE: "#ffffff",
    ResourceKind.FOAM_STATION: "#bcbd22",
    ResourceKind.EMERGENCY_SHELTER: "#7f7f7f",
}
"""Marker colour of each resource kind."""

_NAMES: dict[str, tuple[str, str]] = {
    "boundary": ("厂界", "Site boundary"),
    "buildings": ("建筑与装置", "Buildings and units"),
    "network": ("道路与步道", "Roads and walkways"),
    "assembly": ("集合点", "Assembly points"),
    "zone": ("危险区域", "Hazard zone"),
    "routes": ("疏散路线", "Evacuation routes"),
    "nearest": ("最近资源路线", "Ways of the nearest resources"),
    "stranded": ("无安全路线", "NO SAFE ROUTE"),
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
}


def _name(key: str, lang: str) -> str:
    zh, en = _NAMES.get(key, (key, key))
    return en if lang == "en" else zh


def _label_icon(text: str, colour: str, *, border: str = "#ffffff") -> folium.DivIcon:
    style = (f"background:{colour};color:#fff;border:2px solid {border};border-radius:4px;"
             "font:bold 12px sans-serif;padding:1px 4px;white-space:nowrap;"
             "box-shadow:0 0 3px #000;display:inline-block")
    return folium.DivIcon(html=f'<div style="{style}">{html.escape(text)}</div>',
                          icon_size=(0, 0), icon_anchor=(0, 10))


def _line(points: list[list[float]], parent: folium.FeatureGroup, **options: Any) -> None:
    """Add a polyline (folium's ``PolyLine`` has no type hints: wrapped once, here)."""
    folium.PolyLine(points, **options).add_to(parent)  # type: ignore[no-untyped-call]


def site_map(site: Site, answer: IncidentAnswer | None = None, *, lang: str = "zh"
             ) -> OfflineMap:
    """Return an offline map of ``site``; with ``answer``, its zone, routes and nearest resources.

    Args:
        site: The loaded site.
        answer: The routing answer for an incident (optional).
        lang: ``"zh"`` or ``"en"`` for names and layer titles.
    """
    centre = site.center() or (0.0, 0.0)
    m = OfflineMap(location=centre, zoom_start=16, max_zoom=21, control_scale=True,
                   prefer_canvas=True)
    _boundary(m, site, lang)
    _buildings(m, site, lang, answer)
    _network(m, site, lang)
    _resources(m, site, lang)
    if answer is not None:
        _incident(m, site, answer, lang)
    bounds = site.bounds()
    if bounds is not None:
        m.fit_bounds([list(bounds[0]), list(bounds[1])])
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def _boundary(m: folium.Map, site: Site, lang: str) -> None:
    if site.boundary is None:
        return
    ring = [[lat, lon] for lon, lat in site.boundary.outline[0]]
    group = folium.FeatureGroup(name=_name("boundary", lang))
    folium.Polygon(ring, color="#333333", weight=3, dash_array="8 6", fill=False,
                   tooltip=html.escape(site.boundary.name.get(lang))).add_to(group)
    group.add_to(m)


def _buildings(m: folium.Map, site: Site, lang: str, answer: IncidentAnswer | None) -> None:
    stranded = {s.building for s in answer.evacuation.stranded} if answer else set()
    features = [{
        "type": "Feature",
        "properties": {"id": b.id, "name": b.name.get(lang), "kind": b.kind.value,
                       "people": b.occupancy, "stranded": b.id in stranded},
        "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]
                                                        for ring in b.outline]},
    } for b in site.buildings.values()]

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        bad = feature["properties"]["stranded"]
        return {"color": "#ff0000" if bad else "#4a4a4a", "weight": 4 if bad else 1,
                "fillColor": "#ff9a9a" if bad else "#c9c3b5", "fillOpacity": 0.7}

    folium.GeoJson({"type": "FeatureCollection", "features": features},
                   name=_name("buildings", lang), style_function=style,
                   tooltip=folium.GeoJsonTooltip(fields=["id", "name", "people"])).add_to(m)


def _network(m: folium.Map, site: Site, lang: str) -> None:
    features = [{"type": "Feature", "properties": {"id": e.id, "kind": e.kind.value},
                 "geometry": {"type": "LineString", "coordinates": [list(p) for p in e.path]}}
                for e in site.edges.values()]

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        road = feature["properties"]["kind"] == "road"
        return {"color": "#8a8a8a" if road else "#b9b9b9", "weight": 4 if road else 1.5,
                "dashArray": None if road else "3 4"}

    folium.GeoJson({"type": "FeatureCollection", "features": features},
                   name=_name("network", lang), style_function=style).add_to(m)


def _resources(m: folium.Map, site: Site, lang: str) -> None:
    by_kind: dict[str, list[Any]] = {}
    for r in site.resources.values():
        by_kind.setdefault(r.kind.value, []).append(r)
    for kind in sorted(by_kind):
        if kind == ResourceKind.ASSEMBLY_POINT:
            group = folium.FeatureGroup(name=_name("assembly", lang))
            for r in by_kind[kind]:
                folium.Marker(r.location, icon=_label_icon(r.id, RESOURCE_COLOURS[kind]),
                              tooltip=html.escape(f"{r.id} {r.name.get(lang)} "
                                                  f"({r.capacity})")).add_to(group)
        else:
            group = folium.FeatureGroup(name=_name(kind, lang))
            colour = RESOURCE_COLOURS.get(kind, "#000000")
            for r in by_kind[kind]:
                folium.CircleMarker(r.location, radius=5, color="#000000", weight=1,
                                    fill=True, fill_color=colour, fill_opacity=1.0,
                                    tooltip=html.escape(f"{r.id} {r.name.get(lang)}")
                                    ).add_to(group)
        group.add_to(m)


def _incident(m: folium.Map, site: Site, answer: IncidentAnswer, lang: str) -> None:
    zone = answer.zone
    group = folium.FeatureGroup(name=_name("zone", lang))
    folium.Polygon(zone.outline(), color="#d00000", weight=2, fill=True, fill_color="#ff3030",
                   fill_opacity=0.25).add_to(group)
    folium.CircleMarker(zone.centre, radius=7, color="#ffffff", weight=2, fill=True,
                        fill_color="#d00000", fill_opacity=1.0).add_to(group)
    group.add_to(m)
    plan = answer.evacuation
    routes = folium.FeatureGroup(name=_name("routes", lang))
    for r in plan.routes.values():
        colour = "#ff8c00" if r.starts_inside else "#008a2e"
        _line([list(c) for c in r.coords], routes, color=colour, weight=4, opacity=0.85,
              tooltip=html.escape(f"{r.building} → {r.assembly_point}: "
                                  f"{r.length_m:.0f} m, {r.walk_s / 60:.1f} min"))
    for s in plan.stranded:
        b = site.buildings.get(s.building)
        if b is None:
            continue
        lon, lat = b.outline[0][0]
        folium.Marker((lat, lon), icon=_label_icon(f"{s.building}: {_name('stranded', lang)}",
                                                   "#d00000", border="#000000"),
                      tooltip=html.escape(s.reason)).add_to(routes)
    routes.add_to(m)
    nearest = folium.FeatureGroup(name=_name("nearest", lang), show=False)
    for kind, hits in answer.nearest.items():
        for h in hits[:1]:
            _line([list(c) for c in h.coords], nearest, color=RESOURCE_COLOURS.get(kind, "#000"),
                  weight=3, dash_array="6 6",
                  tooltip=html.escape(f"{h.resource}: {h.distance_m:.0f} m, "
                                      f"{h.time_s / 60:.1f} min"))
    nearest.add_to(m)
