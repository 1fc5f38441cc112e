"""The offline map: one HTML file that loads nothing over the network, with the site's layers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from folium.plugins import MarkerCluster

from commandcenter.core.hazard import HazardZone
from commandcenter.core.routing import SiteRouter
from commandcenter.core.site import Site
from commandcenter.core.siteio import load_site
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


def test_site_map_has_every_layer(site: Site) -> None:
    page = standalone_html(site_map(site, lang="en"))
    assert every_url(page) <= NOT_LOADS
    for title in ("Site boundary", "Buildings and units", "Roads and walkways",
                  "Assembly points", "Fire hydrants", "SCBA cabinets", "Fire trucks"):
        assert title in page, title
    for b in site.buildings:
        assert f'"id": "{b}"' in page, b
    assert page.count('"kind": "road"') + page.count('"kind": "walkway"') >= len(site.edges)
    aps = [r for r in site.resources.values() if r.kind == "assembly_point"]
    # (folium writes the DivIcon's HTML as JSON: ``<`` becomes ``\u003c``)
    assert all(rf"\u003e{ap.id}\u003c/div\u003e" in page for ap in aps)
    assert "Hazard zone" not in page  # no incident, no zone
    zh = standalone_html(site_map(site))
    for title in ("建筑与装置", "集合点"):  # as text, or JSON-escaped inside a script
        assert title in zh or json.dumps(title)[1:-1] in zh


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
    # A zone that swallows the plant: every building is marked as having no safe route.
    everything = router.answer(HazardZone(centre[0], centre[1], 5000))
    page = standalone_html(site_map(site, everything, lang="en"))
    assert page.count(r": NO SAFE ROUTE\u003c/div\u003e") == len(site.buildings)


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

def counted(n):
    result["drawn"] = n
    result["requests"] = seen
    print(json.dumps(result))
    app.quit()

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
    out = write_standalone(site_map(site, router.answer(zone)), tmp_path / "map.html")
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
