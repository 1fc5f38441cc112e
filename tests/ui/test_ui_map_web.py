"""The live map in a real QtWebEngine page: offline, updated in place, driven from both sides."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QColor, QImage

from commandcenter.core.alarms import AlarmEngine
from commandcenter.core.clock import ScriptedClock
from commandcenter.core.hazard import HazardZone
from commandcenter.core.siteio import load_site
from commandcenter.geo.icons import HIDDEN_KINDS
from commandcenter.ui import i18n
from commandcenter.ui.alarms.scripted import EngineDesk
from commandcenter.ui.extensions import VIEWS, UiContext
from commandcenter.ui.map.demo import MemoryLog
from commandcenter.ui.map.page import STATE_COALESCE_MS, MapPage
from commandcenter.ui.map.pages import MAP_VIEW  # loads every page module (QtMultimedia too)
from commandcenter.ui.map.zone import SourceKind, building_centroid
from commandcenter.ui.screenshot import render_view

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

# QtWebEngine on a headless machine without a GPU reports, once per process, that it falls back
# from OpenGL/Vulkan to software rendering, and that the offscreen platform cannot pass size
# hints. Harmless here; every other Qt warning still fails the test.
pytestmark = pytest.mark.qt_log_ignore(
    r"^QRhiGles2: Failed to create (temporary )?context$",
    r"^Failed to create RHI for backend: OpenGL$",
    r"^This plugin does not support createPlatformVulkanInstance$",
    r"^QVulkanInstance: Failed to initialize Vulkan$",
    r"^GBM is not supported with the current configuration and Vulkan is not available\. "
    r"Fallback to software rendering\.$",
    r"^This plugin does not support propagateSizeHints\(\)$",
    r"^GPUInfo not initialized on GpuInfoUpdate$",
)

# The folium map is a global ``map_<id>`` of the page; tests reach it to act like a user.
LEAFLET = "window[Object.keys(window).find((k) => k.startsWith('map_'))]"


@pytest.fixture(autouse=True)
def _muted(monkeypatch):
    monkeypatch.setenv("COMMANDCENTER_MUTE", "1")


@pytest.fixture(scope="module")
def demo():
    return load_site(REPO)


@pytest.fixture
def clock():
    return ScriptedClock(T0)


@pytest.fixture
def desk(demo, clock):
    return EngineDesk(demo, AlarmEngine.for_site(demo, clock), MemoryLog(clock))


def hold(desk, clock, gauge, value):
    desk.reading(gauge, value, clock.now())
    clock.advance(10)
    desk.reading(gauge, value, clock.now())


def shown(qtbot, page):
    qtbot.addWidget(page)
    page.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    page.resize(1400, 860)
    page.show()
    qtbot.waitUntil(lambda: page.web is not None and page.settled, timeout=30_000)
    return page


def js(qtbot, page, script):
    out = {}
    page.web.page().runJavaScript(script, 0, lambda value: out.setdefault("v", value))
    qtbot.waitUntil(lambda: "v" in out, timeout=10_000)
    return out["v"]


def inspect(qtbot, page):
    return json.loads(js(qtbot, page, "window.ccInspect()"))


@pytest.fixture
def page(qtbot, demo, desk):
    p = shown(qtbot, MapPage(demo, alarms=desk, incidents=None, lang="en"))
    yield p
    p.close()
    p.shutdown()
    p.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_the_page_loads_with_no_outside_request(qtbot, page):
    seen = list(page.web.interceptor.seen)
    assert seen and all(url.startswith(("file:", "data:", "qrc:")) for url in seen), seen
    assert seen[0].startswith("file:") and seen[0].endswith("/map.html")
    assert page.web.interceptor.blocked == []
    assert page.web.loads == 1
    state = inspect(qtbot, page)
    assert set(state["gauges"]) == set(page.site.gauges)
    assert state["hazard"] is None and state["routes"] == 0
    # Nothing remote can be loaded at all: the page's settings refuse it before any request.
    js(qtbot, page, """window.ccProbe = "waiting";
        const img = new Image();
        img.onload = () => { window.ccProbe = "loaded"; };
        img.onerror = () => { window.ccProbe = "refused"; };
        img.src = "https://tiles.example.com/1/2/3.png"; 1""")
    qtbot.waitUntil(lambda: js(qtbot, page, "window.ccProbe") != "waiting", timeout=10_000)
    assert js(qtbot, page, "window.ccProbe") == "refused"
    assert all(url.startswith(("file:", "data:", "qrc:")) for url in page.web.interceptor.seen)


def test_gauge_states_recolour_markers_in_place(qtbot, page, desk, clock):
    before = inspect(qtbot, page)
    assert before["gauges"]["CL2-120-02"]["state"] in ("no_data", "normal")
    # The user zooms in somewhere; updates must keep that view.
    js(qtbot, page, f"{LEAFLET}.setView([30.8142, 121.4540], 18, {{animate: false}}); 1")
    view = inspect(qtbot, page)
    assert view["zoom"] == 18
    hold(desk, clock, "CL2-120-02", 2.6)
    qtbot.waitUntil(lambda: inspect(qtbot, page)["gauges"]["CL2-120-02"]["state"] == "alarm2",
                    timeout=10_000)
    after = inspect(qtbot, page)
    gauge = after["gauges"]["CL2-120-02"]
    assert gauge["fill"] == "rgb(198, 40, 40)" and gauge["value"] == "2.6 ppm"
    assert gauge["size"] > before["gauges"]["CL2-120-02"]["size"]
    assert page.web.loads == 1  # never reloaded
    assert (after["zoom"], after["centre"]) == (view["zoom"], view["centre"])
    # A burst of alarm changes is coalesced: at most two map updates a second.
    n = after["stats"]["gaugeUpdates"]
    for i in range(20):
        hold(desk, clock, "CL2-120-01", 1.4 if i % 2 == 0 else 0.1)
    qtbot.wait(STATE_COALESCE_MS + 300)
    assert inspect(qtbot, page)["stats"]["gaugeUpdates"] - n <= 2


def test_placing_the_hazard_on_the_map_recomputes_routes_and_shows_stranded(qtbot, page):
    page.zone_panel.place.click()
    assert inspect(qtbot, page)["placing"] is True
    # The commander clicks the map at the chlorine station (JS → bridge → Python).
    js(qtbot, page, f"{LEAFLET}.fire('click', {{latlng: L.latLng(30.81418, 121.45405)}}); 1")
    qtbot.waitUntil(lambda: page.setup is not None, timeout=10_000)
    assert page.setup.centre == pytest.approx((30.81418, 121.45405))
    assert not page.zone_panel.place.isChecked()
    qtbot.waitUntil(lambda: page.answer is not None and page.settled, timeout=20_000)
    first = page.answer
    # No wind gauge answers: circle only, and the panel says so.
    assert "Wind direction unavailable" in page.zone_panel.info.text()
    # Wind from the east at 3 m/s, 800 m downwind: the west of the site is cut off.
    page.zone_panel.downwind.setValue(800)
    page.zone_panel.wind_from.setValue(90)
    page.zone_panel.wind_speed.setValue(3.0)
    page.zone_panel.override.setChecked(True)
    qtbot.waitUntil(lambda: page.answer is not first and page.answer.zone.has_sector
                    and page.settled, timeout=20_000)
    stranded = sorted(s.building for s in page.answer.evacuation.stranded)
    assert stranded, "the demo release must strand someone"
    text = page.answer_panel.stranded.text()
    assert "NO SAFE ROUTE" in text and all(b in text for b in stranded)
    assert page.answer_panel.stranded.isVisibleTo(page)
    state = inspect(qtbot, page)
    assert state["stranded"] == stranded
    assert state["routes"] == len(page.answer.evacuation.routes)
    assert state["hazard"]["sector"] is True and state["hazard"]["downwind_deg"] == 270
    # The commander drags the release point (the marker's own drag end → bridge → Python).
    before = page.answer
    js(qtbot, page, f"""{LEAFLET}.eachLayer((l) => {{
        if (l.options && l.options.pane === "ccSource") {{
            l.setLatLng([30.8160, 121.4560]); l.fire("dragend");
        }} }}); 1""")
    qtbot.waitUntil(lambda: page.setup.centre == pytest.approx((30.8160, 121.4560)),
                    timeout=10_000)
    qtbot.waitUntil(lambda: page.answer is not before and page.settled, timeout=20_000)
    assert inspect(qtbot, page)["hazard"]["centre"] == pytest.approx([30.8160, 121.4560])
    # The UI language switches in place too.
    i18n.set_language("zh")
    qtbot.waitUntil(lambda: inspect(qtbot, page)["lang"] == "zh", timeout=10_000)
    assert page.answer_panel.evac_heading.text() == "疏散（按集合点）"
    assert page.web.loads == 1


def test_malformed_bridge_messages_are_ignored_and_logged(qtbot, page, caplog):
    script = """
        new QWebChannel(qt.webChannelTransport, (c) => {
            c.objects.ccBridge.post('{"type": "hazard", "lat": 999, "lon": 0, "how": "click"}');
            c.objects.ccBridge.post('not json at all');
            c.objects.ccBridge.post('{"type": "hazard", "lat": 30.8, "lon": 121.4}');
        }); 1"""
    with caplog.at_level(logging.WARNING, logger="commandcenter.ui.map.bridge"):
        js(qtbot, page, script)
        qtbot.waitUntil(lambda: page.web.bridge.ignored == 3, timeout=10_000)
    assert page.setup is None
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert "not a [lat, lon] position" in messages[0]
    assert "not JSON" in messages[1]
    assert "missing how" in messages[2]


def test_render_view_map_writes_the_drawn_map(qtbot, tmp_path, demo, event_log):
    ctx = UiContext(site=demo, event_log=event_log, clock=ScriptedClock(T0), lang="zh",
                    db_label="sqlite:///test.db")
    assert VIEWS["map"].endswith(":MAP_VIEW") and MAP_VIEW.name == "map"
    out = render_view("map", tmp_path / "map.png", (1600, 900), ctx, demo=True)
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1600, 900)

    def count(colour, x0, x1):
        want = QColor(colour)
        n = 0
        for x in range(x0, x1, 3):
            for y in range(60, 860, 3):
                c = image.pixelColor(x, y)
                if abs(c.red() - want.red()) + abs(c.green() - want.green()) \
                        + abs(c.blue() - want.blue()) < 30:
                    n += 1
        return n

    map_right = 1600 - 540
    assert count("#1B7F3B", 0, map_right) > 100  # evacuation routes on the map
    assert count("#C62828", 0, map_right) > 100  # stranded labels and the release point
    assert count("#C62828", map_right, 1600) > 500  # the red "no safe route" box


# ---------------------------------------------------------------------- details on click


def click_popup(qtbot, page, lat, lon):
    """Click the map at ``(lat, lon)`` as a user does; return the text of the popup it opens."""
    return js(qtbot, page, f"""(() => {{
        const map = {LEAFLET};
        map.closePopup();
        map.setView([{lat}, {lon}], Math.max(map.getZoom(), 18), {{animate: false}});
        map.fire("click", {{latlng: L.latLng({lat}, {lon})}});
        const all = document.querySelectorAll(".leaflet-popup-content");
        const box = all[all.length - 1];
        return box && box.closest(".leaflet-popup").style.opacity !== "0" ?
            box.textContent : null;
    }})()""")


def test_clicking_any_feature_shows_its_details(qtbot, page):
    demo = page.site
    page.zone_panel.wind_from.setValue(90)
    page.zone_panel.wind_speed.setValue(3.0)
    page.zone_panel.override.setChecked(True)
    page.place_hazard(30.81418, 121.45405)
    qtbot.waitUntil(lambda: page.answer is not None and page.settled, timeout=20_000)
    answer = page.answer
    # A road and a walkway (one no route is drawn over): name, kind, length, its two nodes.
    walked = {e for r in answer.evacuation.routes.values() for e in r.edge_ids}
    on_ways = {(round(lat, 6), round(lon, 6)) for hits in answer.nearest.values()
               for h in hits[:1] for lat, lon in h.coords}
    for kind, label in (("road", "Road"), ("walkway", "Walkway")):
        edge = next(e for e in demo.edges.values() if e.kind == kind and e.length_m > 15
                    and e.id not in walked
                    and not {(round(lat, 6), round(lon, 6)) for lon, lat in e.path} & on_ways
                    and not any(answer.zone.contains(lat, lon) for lon, lat in e.path))
        half = len(edge.path) // 2  # the middle of the drawn line, bends and all
        (lon0, lat0), (lon1, lat1) = edge.path[half - 1 + len(edge.path) % 2], edge.path[half]
        # Zoomed in (click_popup) so that a click lands on one short edge, as a user does.
        text = click_popup(qtbot, page, (lat0 + lat1) / 2, (lon0 + lon1) / 2)
        assert text == (f"{edge.id}Kind{label}Length{edge.length_m:.0f} mNodes{edge.source} – "
                        f"{edge.target}"), kind
    # A building: its details and where its people go.
    route = answer.evacuation.routes["WH-702"]
    b = demo.buildings["WH-702"]
    lat, lon = building_centroid(b)
    text = click_popup(qtbot, page, lat, lon)
    assert text.startswith(f"{b.name.en} (WH-702)Kind")
    assert f"Evacuation→ {route.assembly_point}: {route.length_m:.0f} m" in text
    # The zone: its source, radius, sector and wind, from inside it where nothing else is.
    js(qtbot, page, f"{LEAFLET}.setView([{answer.zone.lat}, {answer.zone.lon}], 17, "
                    f"{{animate: false}}); 1")
    zone_text = js(qtbot, page, f"""(() => {{
        for (let i = 1; i < 60; i += 1) {{
            const t = window.ccHitAt({answer.zone.lat}, {answer.zone.lon} - i * 0.0001);
            if (t && t.startsWith("Hazard zone")) {{ return t; }}
        }}
        return null; }})()""")
    assert zone_text is not None
    assert "SourceSource: set on the map by the commander" in zone_text
    assert "Isolation radius100 m" in zone_text
    assert "Downwind sector500 m, 60° wide, towards W" in zone_text
    assert "Windfrom E (90°), 3 m/s" in zone_text
    # A route: from where to which assembly point, how long.
    coords = route.coords
    mid = coords[len(coords) // 2]
    js(qtbot, page, f"{LEAFLET}.setView([{mid[0]}, {mid[1]}], 18, {{animate: false}}); 1")
    hit = js(qtbot, page, f"window.ccHitAt({mid[0]}, {mid[1]})")
    assert hit is not None and " → " in hit and "Length" in hit
    assert page.web.loads == 1


# ---------------------------------------------------------------------- drawing the zone


def drag_handle(qtbot, page, css, lat, lon):
    js(qtbot, page, f"""{LEAFLET}.eachLayer((l) => {{
        const el = l.getElement && l.getElement();
        if (el && el.matches && el.matches("{css}")) {{
            l.fire("dragstart"); l.setLatLng([{lat}, {lon}]); l.fire("drag");
            l.fire("dragend");
        }} }}); 1""")


def test_the_commander_draws_the_zone_and_resizes_it_with_handles(qtbot, page):
    page.zone_panel.draw.click()
    state = inspect(qtbot, page)
    assert state["drawing"] is True and state["placing"] is False
    # Press at the chlorine station, drag 180 m east, let go (JS → bridge → Python).
    frame = HazardZone(30.81418, 121.45405, 1.0)
    end = frame.from_local(180.0, 0.0)
    js(qtbot, page, f"""(() => {{
        const map = {LEAFLET};
        map.fire("mousedown", {{latlng: L.latLng(30.81418, 121.45405)}});
        map.fire("mousemove", {{latlng: L.latLng({end[0]}, {(30.81418 + end[0]) / 2})}});
        map.fire("mousemove", {{latlng: L.latLng({end[0]}, {end[1]})}});
        map.fire("mouseup", {{latlng: L.latLng({end[0]}, {end[1]})}});
        return 1; }})()""")
    qtbot.waitUntil(lambda: page.setup is not None, timeout=10_000)
    assert page.setup.centre == pytest.approx((30.81418, 121.45405))
    assert page.setup.radius_m == pytest.approx(180, abs=1)
    assert page.setup.source == SourceKind.COMMANDER and page.setup.radius_edited
    assert page.zone_panel.radius.value() == round(page.setup.radius_m)
    assert not page.zone_panel.draw.isChecked()
    qtbot.waitUntil(lambda: page.answer is not None and page.settled, timeout=20_000)
    state = inspect(qtbot, page)
    assert state["drawing"] is False and state["handles"] == ["radius"]  # no wind, no sector
    assert state["hazard"]["radius_m"] == pytest.approx(180, abs=1)
    # Drag the radius handle out to 260 m: the panel follows, routes are computed again.
    first = page.answer
    far = frame.from_local(-260.0, 0.0)
    drag_handle(qtbot, page, ".cc-handle:not(.tip)", *far)
    qtbot.waitUntil(lambda: page.setup.radius_m == 260, timeout=10_000)
    assert page.zone_panel.radius.value() == 260
    qtbot.waitUntil(lambda: page.answer is not first and page.settled, timeout=20_000)
    assert page.answer.zone.radius_m == 260
    # With a wind the sector has a handle at its tip: drag it to 650 m downwind.
    page.zone_panel.wind_from.setValue(90)
    page.zone_panel.wind_speed.setValue(3.0)
    page.zone_panel.override.setChecked(True)
    qtbot.waitUntil(lambda: page.settled and inspect(qtbot, page)["handles"] == ["radius",
                                                                                  "tip"],
                    timeout=20_000)
    assert page.setup.downwind_m == 500  # the site's default downwind distance
    tip = frame.from_local(-650.0, 30.0)  # off the axis: its projection on it counts
    drag_handle(qtbot, page, ".cc-handle.tip", *tip)
    qtbot.waitUntil(lambda: page.setup.downwind_m == 650, timeout=10_000)
    assert page.zone_panel.downwind.value() == 650
    qtbot.waitUntil(lambda: page.answer.zone.sector_length_m == 650 and page.settled,
                    timeout=20_000)
    # In draw mode a click without a drag moves the source and keeps the radius.
    page.zone_panel.draw.click()
    js(qtbot, page, f"""(() => {{
        const map = {LEAFLET};
        map.fire("mousedown", {{latlng: L.latLng(30.8150, 121.4530)}});
        map.fire("mouseup", {{latlng: L.latLng(30.8150, 121.4530)}});
        return 1; }})()""")
    qtbot.waitUntil(lambda: page.setup.centre == pytest.approx((30.8150, 121.4530)),
                    timeout=10_000)
    assert page.setup.radius_m == 260 and page.setup.downwind_m == 650
    # Placing and drawing exclude each other.
    page.zone_panel.draw.click()
    page.zone_panel.place.click()
    assert not page.zone_panel.draw.isChecked()
    state = inspect(qtbot, page)
    assert state["placing"] is True and state["drawing"] is False
    assert page.web.loads == 1


# ---------------------------------------------------------------------- the demo release, read


@pytest.fixture
def release(qtbot, demo):
    from commandcenter.ui.map.demo import release_desk, release_incident

    p = shown(qtbot, MapPage(demo, alarms=release_desk(demo, T0),
                             incidents=release_incident(demo, T0), lang="en"))
    p.resize(1400, 860)
    qtbot.waitUntil(lambda: p.answer is not None and p.settled, timeout=30_000)
    yield p
    p.close()
    p.shutdown()
    p.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def settled_layout(qtbot, page, script):
    """Run ``script`` (a view change) and return the page's state once labels are placed."""
    before = inspect(qtbot, page)["stats"]["layouts"]
    js(qtbot, page, script)
    qtbot.waitUntil(lambda: inspect(qtbot, page)["stats"]["layouts"] > before, timeout=10_000)
    qtbot.wait(100)
    return inspect(qtbot, page)


def test_incident_labels_hide_nothing_that_must_be_read(qtbot, release):
    page = release
    state = settled_layout(qtbot, page, f"{LEAFLET}.fire('moveend'); 1")
    stranded = sorted(s.building for s in page.answer.evacuation.stranded)
    assert stranded and state["stranded"] == stranded
    keys = set(state["labels"])
    assert {f"s:{b}" for b in stranded} <= keys
    assert {"g:CL2-120-01", "g:CL2-120-02", "g:CL2-120-03"} <= keys
    # No label covers another, a building's name, an assembly point or a map control.
    assert state["hidden"] == []
    # Labels stay inside the map.
    width, height = page.web.width(), page.web.height()
    for key, r in state["labels"].items():
        assert 0 <= r["x"] <= width - r["w"] and 0 <= r["y"] <= height - r["h"], key
    # Zoomed in on the release they are placed again, still clear of each other.
    state = settled_layout(qtbot, page, f"{LEAFLET}.setView([30.8142, 121.4540], 18, "
                                        f"{{animate: false}}); 1")
    assert [h for h in state["hidden"] if h[1] != "building"] == []
    # The building labels under a stranded building's callout are hidden: the callout names it.
    hidden_names = js(qtbot, page, """Array.from(document.querySelectorAll(
        ".leaflet-tooltip.cc-blabel.cc-hidden")).map((e) => e.textContent).sort().join(",")""")
    assert hidden_names == ",".join(stranded)


def test_resources_wear_their_kinds_glyph_and_the_legend_explains_the_symbols(qtbot, release):
    page = release
    glyphs = json.loads(js(qtbot, page, """JSON.stringify(Array.from(document.querySelectorAll(
        ".cc-res svg.cc-glyph")).map((e) => e.getAttribute("aria-label")))"""))
    shown_kinds = {r.kind.value for r in page.site.resources.values()
                   if r.kind not in HIDDEN_KINDS and r.kind != "assembly_point"}
    assert set(glyphs) == shown_kinds
    assert len(glyphs) == sum(1 for r in page.site.resources.values()
                              if r.kind.value in shown_kinds)
    # Every kind is in the layer list with its glyph; the legend has the line styles.
    listed = json.loads(js(qtbot, page, """JSON.stringify(Array.from(document.querySelectorAll(
        ".leaflet-control-layers-overlays label")).map((e) => [e.textContent.trim(),
        (e.querySelector("svg.cc-glyph") || {getAttribute: () => null})
            .getAttribute("aria-label")]))"""))
    kinds = {glyph: text for text, glyph in listed if glyph}
    assert set(kinds) == {r.kind.value for r in page.site.resources.values()} - {
        "assembly_point"}
    assert kinds["fire_truck"] == "Fire truck"
    # The legend and the layer list sit beside the site, never on it: the site is fitted
    # left of their column. On this small map both are closed until clicked.
    left = js(qtbot, page, """Math.min(...Array.from(document.querySelectorAll(
        ".leaflet-top.leaflet-right .leaflet-control")).map((e) =>
        e.getBoundingClientRect().left))""")
    bounds = page.site.bounds()
    east = js(qtbot, page, f"{LEAFLET}.latLngToContainerPoint([{bounds[1][0]}, "
                           f"{bounds[1][1]}]).x")
    assert east < left
    assert js(qtbot, page, "document.querySelector('.cc-legend').textContent") == "▸ Legend"
    js(qtbot, page, "document.querySelector('.cc-legend-title').click(); 1")
    legend = js(qtbot, page, "document.querySelector('.cc-legend').textContent")
    for text in ("alarm level 2", "Hazard zone", "Evacuation route", "Route out of the zone",
                 "NO SAFE ROUTE", "Way of a nearest resource", "In the zone: do not use"):
        assert text in legend, text


def test_the_wall_map_lists_the_resource_glyphs_in_its_legend(qtbot, demo, desk):
    from commandcenter.ui.theme import WALL

    p = shown(qtbot, MapPage(demo, alarms=desk, incidents=None, lang="zh", interactive=False,
                             theme=WALL))
    try:
        legend = js(qtbot, p, "document.querySelector('.cc-legend').innerHTML")
        assert js(qtbot, p, "document.querySelectorAll('.leaflet-control-layers').length") == 0
        for kind in ("fire_truck", "scba_cabinet", "first_aid", "ambulance"):
            assert f"aria-label='{kind}'" in legend or f'aria-label="{kind}"' in legend, kind
        assert "消防车" in legend
        assert js(qtbot, p, "document.querySelector('.cc-res svg').getAttribute('width')") \
            == "34"
    finally:
        p.close()
        p.shutdown()
        p.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
