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
from commandcenter.core.siteio import load_site
from commandcenter.ui import i18n
from commandcenter.ui.alarms.scripted import EngineDesk
from commandcenter.ui.extensions import VIEWS, UiContext
from commandcenter.ui.map.demo import MemoryLog
from commandcenter.ui.map.page import STATE_COALESCE_MS, MapPage
from commandcenter.ui.map.pages import MAP_VIEW  # loads every page module (QtMultimedia too)
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
    out = render_view("map", tmp_path / "map.png", (1600, 900), ctx)
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
