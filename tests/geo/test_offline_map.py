"""The offline map: one HTML file that loads nothing over the network, with the site's layers."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from folium.plugins import MarkerCluster

from commandcenter.core.hazard import HazardZone
from commandcenter.core.routing import SiteRouter
from commandcenter.core.site import ResourceKind, Site, Text
from commandcenter.core.siteio import load_site
from commandcenter.geo.icons import GLYPHS, glyph_svg
from commandcenter.geo.offline import (
    LEAFLET_DIR,
    MapError,
    OfflineMap,
    asset_references,
    standalone_html,
    write_standalone,
)
from commandcenter.geo.sitemap import site_map

REPO = Path(__file__).resolve().parents[2]

# URLs that are text inside the inlined libraries, never fetched: the SVG namespace, Leaflet's
# own attribution link (its control is switched off) and a bug link in a CSS comment.
NOT_LOADS = {"http://www.w3.org/2000/svg", "https://leafletjs.com",
             "https://bugzilla.mozilla.org/show_bug.cgi?id=888319"}


def every_url(page: str) -> set[str]:
    return set(re.findall(r"https?://[^\s\"'<>)\\]+", page))


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(REPO)


def test_bare_map_inlines_leaflet_and_jquery() -> None:
    page = standalone_html(OfflineMap(location=(30.8, 121.4)))
    assert "file://" not in page
    assert asset_references(page) == [] or all(u.startswith(("data:", "#"))
                                               for u in asset_references(page))
    assert every_url(page) <= NOT_LOADS
    assert '"attributionControl": false' in page
    assert "L.map(" in page and "1.9.3" in page  # Leaflet, inline
    assert "jQuery v3.7" in page  # jQuery, inline
    # Leaflet's CSS images became data URIs.
    assert "url(data:image/png;base64," in page
    assert "tile" not in page.lower().split("l.map(")[1].split("</script>")[0]


def test_map_points_at_local_files_for_a_web_view() -> None:
    m = OfflineMap(location=(30.8, 121.4))
    assert all(url.startswith("file://") for _, url in m.default_js + m.default_css)
    page = m.get_root().render()
    assert (LEAFLET_DIR / "leaflet.js").as_uri() in page
    assert not any(u.startswith("http") for u in asset_references(page))


def test_a_cdn_asset_is_refused() -> None:
    # folium's plugins bring their scripts from CDNs: the export must refuse them.
    m = OfflineMap(location=(30.8, 121.4))
    MarkerCluster().add_to(m)  # type: ignore[no-untyped-call]
    with pytest.raises(MapError, match=r"^the map would load https://.* \(it must work with no "
                                       r"network\)$"):
        standalone_html(m)


def test_asset_references_sees_tags_and_styles_not_script_text() -> None:
    page = ('<html><head><script src="https://x/a.js"></script>'
            '<link rel="stylesheet" href="http://x/b.css"/>'
            '<style>.a{background:url("https://x/c.png")}</style></head>'
            '<body><img src="data:image/png;base64,AAAA"><div style="background:url(d.png)">'
            '<a href="https://example.com">a link</a></div>'
            '<script>var s = "<img src=\'https://x/e.png\'>";</script></body></html>')
    assert asset_references(page) == ["https://x/a.js", "http://x/b.css", "https://x/c.png",
                                      "data:image/png;base64,AAAA", "d.png"]


def _js(text: str) -> str:
    """``text`` as folium writes it inside a script (JSON: ``<`` becomes ``\\u003c`` …)."""
    return json.dumps(text)[1:-1].replace("<", "\\u003c").replace(">", "\\u003e").replace(
        "&", "\\u0026").replace("'", "\\u0027")


def test_site_map_has_every_layer(site: Site) -> None:
    page = standalone_html(site_map(site, lang="en"))
    assert every_url(page) <= NOT_LOADS
    for title in ("Site boundary", "Buildings and units", "Roads and walkways", "Gauges",
                  "Assembly points", "Fire hydrants", "SCBA cabinets", "Fire trucks"):
        assert title in page, title
    for b in site.buildings:
        assert f'"id": "{b}"' in page, b
    assert page.count('"kind": "road"') + page.count('"kind": "walkway"') >= len(site.edges)
    aps = [r for r in site.resources.values() if r.kind == "assembly_point"]
    # (folium writes the DivIcon's HTML as JSON: ``<`` becomes ``\u003c``)
    assert all(rf"\u003e{ap.id}\u003c/div\u003e" in page for ap in aps)
    assert "cc-ap blocked" not in page.split("</style>")[-1]  # no zone, nothing blocked
    assert "Hazard zone" not in page  # no incident, no zone
    # Every resource on the map is drawn with its kind's own glyph, none with a plain circle.
    for kind in {r.kind.value for r in site.resources.values()} - {"assembly_point"}:
        n = sum(1 for r in site.resources.values() if r.kind == kind)
        assert page.count(_js(glyph_svg(kind, 22))) == n, kind
    assert "circle_marker" not in page
    # Every gauge is a marker whose popup says what it measures.
    assert page.count(_js("<div class='cc-gauge'></div>")) == len(site.gauges)
    g = site.gauges["CL2-120-02"]
    assert f"<h3>{html.escape(g.name.en or '')} (CL2-120-02)</h3>" in page
    assert "<td>pre-alarm ≥ 0.5; level 1 ≥ 1; level 2 ≥ 2</td>" in page
    # The legend names the symbols, one line per resource kind on the site.
    legend = page.split('div.innerHTML = "')[1].split('";')[0]
    assert "Legend" in legend and "Gauge (no live state in an exported file)" in legend
    for kind in ("Fire hydrants", "SCBA cabinets", "Fire trucks", "Ambulances"):
        assert kind in legend, kind
    # Click details: buildings and roads carry them as popups.
    b = site.buildings["CR-001"]
    assert _js(f"<h3>{b.name.en} (CR-001)</h3>") in page
    assert "folium.GeoJsonPopup" not in page and "bindPopup" in page
    zh = standalone_html(site_map(site))
    for title in ("建筑与装置", "集合点", "仪表"):  # as text, or JSON-escaped inside a script
        assert title in zh or json.dumps(title)[1:-1] in zh


def test_names_cannot_break_out_of_the_page(tmp_path: Path) -> None:
    site = load_site(REPO)
    evil = "x`${document.title='owned'}</script><b>y"
    r = site.resources["AP-1"]
    site.resources["AP-1"] = r.model_copy(update={"name": Text(zh=evil, en=evil)})
    g = site.gauges["CL2-120-02"]
    site.gauges["CL2-120-02"] = g.model_copy(update={"name": Text(zh=evil, en=evil)})
    page = standalone_html(site_map(site, lang="en"))
    assert "${document" not in page and "</script><b>" not in page
    assert "x&#96;&#36;{document.title=&#x27;owned&#x27;}&lt;/script&gt;&lt;b&gt;y" in page


def test_every_kind_has_its_own_glyph() -> None:
    svgs = {k.value: glyph_svg(k.value) for k in ResourceKind}
    assert len(set(svgs.values())) == len(svgs)
    # Kinds sharing a colour never share a shape: they differ without colour too.
    by_fill: dict[str, list[str]] = {}
    for kind, g in GLYPHS.items():
        by_fill.setdefault(g.fill, []).append(kind)
    for kinds in by_fill.values():
        assert len({GLYPHS[k].shape for k in kinds}) == len(kinds), kinds
    assert all(k in GLYPHS for k in ResourceKind)
    assert "http" not in "".join(svgs.values()) and "url(" not in "".join(svgs.values())
    assert "?" in glyph_svg("no-such-kind")


def test_site_map_with_an_incident(site: Site, tmp_path: Path) -> None:
    router = SiteRouter.from_site(site)
    spec = site.plans["PLAN-TOXIC-L2"].hazard_zone
    centre = site.center()
    assert centre is not None
    zone = HazardZone.from_plan(spec, centre, wind_from_deg=45, wind_speed_mps=3)
    answer = router.answer(zone)
    out = write_standalone(site_map(site, answer, lang="en"), tmp_path / "incident.html")
    page = out.read_text(encoding="utf-8")
    assert every_url(page) <= NOT_LOADS
    assert "Hazard zone" in page and "Evacuation routes" in page
    for r in answer.evacuation.routes.values():
        assert f"{r.building} → {r.assembly_point}: {r.length_m:.0f} m" in page
    # The zone's details on a click: radius, sector, wind.
    assert "<td class='k'>Isolation radius</td><td>100 m</td>" in page
    assert "downwind 800 m, 60° wide, towards 225°" in page and "from 45°" in page
    # A zone that swallows the plant: every building is marked as having no safe route, and
    # every assembly point is drawn as unusable.
    everything = router.answer(HazardZone(centre[0], centre[1], 5000))
    page = standalone_html(site_map(site, everything, lang="en"))
    assert page.count(_js("<div class='cc-stranded'>")) == len(site.buildings)
    assert page.count(_js(" NO SAFE ROUTE · ")) == len(site.buildings)
    aps = [r.id for r in site.resources.values() if r.kind == "assembly_point"]
    assert sorted(everything.evacuation.assembly_points_in_zone) == sorted(aps)
    assert page.count(_js("<div class='cc-ap blocked'>")) == len(aps)
    assert "in the hazard zone: do not use" in page
    assert "Assembly point in the zone: do not use" in page  # and the legend says so


def test_unwritable_file_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "missing-folder" / "map.html"
    with pytest.raises(MapError, match=r"^cannot write .*missing-folder/map.html: "):
        write_standalone(OfflineMap(location=(30.8, 121.4)), target)


_BROWSER = r"""
import json, os, sys
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
from PySide6.QtCore import QTimer, QUrl
from PySide6.QtWebEngineCore import (QWebEnginePage, QWebEngineProfile,
                                     QWebEngineUrlRequestInterceptor)
from PySide6.QtWidgets import QApplication

app = QApplication([])
seen = []

class Spy(QWebEngineUrlRequestInterceptor):
    def interceptRequest(self, info):
        seen.append(info.requestUrl().toString())

spy = Spy()
profile = QWebEngineProfile()
profile.setUrlRequestInterceptor(spy)
page = QWebEnginePage(profile)
result = {}
# Layers on the Leaflet map (folium names it map_<id>), and drawn <canvas> elements.
COUNT = '''(() => {
    let n = 0;
    for (const k of Object.keys(window)) {
        const v = window[k];
        if (k.startsWith("map_") && v && v.eachLayer) { v.eachLayer(() => { n++; }); }
    }
    return JSON.stringify([n, document.querySelectorAll("canvas").length]);
})()'''

# Click a building, a road, the zone and a resource like a user; read the popup each opens.
CLICK = '''(() => {
    const map = Object.keys(window).filter((k) => k.startsWith("map_")).map((k) => window[k])
        .find((v) => v && v.eachLayer);
    const found = {};
    const visit = (l) => {
        if (l.feature && l.feature.properties.id === "CR-001") { found.building = l; }
        if (l.feature && l.feature.properties.kind === "road" && !found.road) { found.road = l; }
        if (l instanceof L.Polygon && l.options.color === "#B00000") { found.zone = l; }
        if (l instanceof L.Marker && l.options.icon && l.options.icon.options.html &&
            String(l.options.icon.options.html).includes("aria-label='fire_truck'")) {
            found.truck = l;
        }
        if (l.eachLayer) { l.eachLayer(visit); }
    };
    map.eachLayer(visit);
    const out = {};
    Object.keys(found).forEach((k) => {
        const l = found[k];
        const at = l.getLatLng ? l.getLatLng() : l.getBounds().getCenter();
        l.fire("click", {latlng: at}, true);
        const all = document.querySelectorAll(".leaflet-popup-content");
        const box = all[all.length - 1];  // (a closed popup fades out for a moment)
        out[k] = box ? box.textContent : null;
        map.closePopup();
    });
    return JSON.stringify(out);
})()'''

def clicked(text):
    result["popups"] = text
    print(json.dumps(result))
    app.quit()

def counted(n):
    result["drawn"] = n
    result["requests"] = list(seen)
    page.runJavaScript(CLICK, 0, clicked)

def loaded(ok):
    result["ok"] = ok
    QTimer.singleShot(1500, lambda: page.runJavaScript(COUNT, 0, counted))

page.loadFinished.connect(loaded)
page.load(QUrl.fromLocalFile(sys.argv[1]))
QTimer.singleShot(60000, app.quit)
app.exec()
del page
"""


@pytest.mark.gui
def test_a_browser_draws_the_map_with_no_outside_request(site: Site, tmp_path: Path) -> None:
    pytest.importorskip("PySide6.QtWebEngineCore")
    router = SiteRouter.from_site(site)
    centre = site.center()
    assert centre is not None
    zone = HazardZone.from_plan(site.plans["PLAN-TOXIC-L2"].hazard_zone, centre,
                                wind_from_deg=45, wind_speed_mps=3)
    out = write_standalone(site_map(site, router.answer(zone), lang="en"),
                           tmp_path / "map.html")
    r = subprocess.run([sys.executable, "-c", _BROWSER, str(out)], capture_output=True,
                       text=True, timeout=120, check=False)
    lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
    assert lines, r.stdout + r.stderr
    result = json.loads(lines[-1])
    assert result["ok"] is True
    assert result["requests"] == [out.as_uri()]  # the page itself, nothing else
    # Every building, edge, resource and route is a layer on the map, drawn on a canvas.
    layers, canvases = json.loads(result["drawn"])
    assert layers > len(site.buildings) + len(site.edges) + len(site.resources)
    assert canvases >= 1
    # A click on each kind of feature shows its details.
    popups = {k: re.sub(r"\s*\n\s*", "", v).strip()
              for k, v in json.loads(result["popups"]).items()}
    assert popups["building"].startswith("Central control room (CR-001)KindControl roomPeople14")
    assert "Evacuation→ AP-" in popups["building"] or "NO SAFE ROUTE" in popups["building"]
    road = next(e for e in site.edges.values() if e.kind == "road")
    assert popups["road"] == f"id{road.id}KindRoadLength{road.length_m:.0f} m" \
                             f"Nodes{road.source} – {road.target}"
    assert popups["zone"].startswith("Hazard zonePosition") and "Isolation radius100 m" in \
        popups["zone"] and "Downwind sectordownwind 800 m, 60° wide" in popups["zone"]
    assert "(FT-" in popups["truck"] and "KindFire trucks" in popups["truck"]
