"""The map's rules without a browser: zone derivation, bridge messages, page HTML, panel rows."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from commandcenter.core.alarms import AlarmEngine
from commandcenter.core.clock import ScriptedClock
from commandcenter.core.geodesy import distance_m
from commandcenter.core.routing import SiteRouter
from commandcenter.core.siteio import load_site
from commandcenter.geo.offline import asset_references
from commandcenter.services.protocols import GaugeStatus
from commandcenter.ui.alarms.scripted import EngineDesk
from commandcenter.ui.map.bridge import (
    BadMessage,
    Drawn,
    DrawZone,
    MapBridge,
    PlaceHazard,
    Ready,
    SetDownwind,
    SetRadius,
    parse_message,
)
from commandcenter.ui.map.demo import MemoryLog
from commandcenter.ui.map.html import page_html
from commandcenter.ui.map.page import MapPage
from commandcenter.ui.map.panel import AnswerPanel, wind_text
from commandcenter.ui.map.zone import (
    HazardSetup,
    SourceKind,
    Wind,
    WindSource,
    answer_features,
    building_centroid,
    derive_setup,
    read_wind,
    summarise,
    zone_feature,
)

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo():
    return load_site(REPO)


@pytest.fixture(scope="module")
def router(demo):
    return SiteRouter.from_site(demo)


def engine_desk(site, clock):
    return EngineDesk(site, AlarmEngine.for_site(site, clock), MemoryLog(clock))


def hold(desk, clock, gauge, value):
    desk.reading(gauge, value, clock.now())
    clock.advance(10)
    desk.reading(gauge, value, clock.now())


# ---------------------------------------------------------------------- bridge messages


@pytest.mark.parametrize(("text", "message"), [
    ('{"type": "ready"}', Ready()),
    ('{"type": "drawn", "serial": 7}', Drawn(7)),
    ('{"type": "hazard", "lat": 30.81, "lon": 121.45, "how": "click"}',
     PlaceHazard(30.81, 121.45, "click")),
    ('{"how": "drag", "lon": 121, "lat": 30, "type": "hazard"}', PlaceHazard(30.0, 121.0, "drag")),
    ('{"type": "zone", "lat": 30.81, "lon": 121.45, "radius_m": 180}',
     DrawZone(30.81, 121.45, 180.0)),
    ('{"type": "radius", "radius_m": 10}', SetRadius(10.0)),
    ('{"type": "downwind", "downwind_m": 0}', SetDownwind(0.0)),
])
def test_well_formed_messages(text, message):
    assert parse_message(text) == message


@pytest.mark.parametrize(("text", "why"), [
    ("{not json", "not JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('"ready"', "expected a JSON object"),
    ('{"type": "reload"}', "unknown message type 'reload'"),
    ('{"type": "ready", "extra": 1}', "unexpected extra"),
    ('{"type": "drawn"}', "missing serial"),
    ('{"type": "drawn", "serial": -1}', "serial must be a whole number"),
    ('{"type": "drawn", "serial": true}', "serial must be a whole number"),
    ('{"type": "drawn", "serial": 1.5}', "serial must be a whole number"),
    ('{"type": "hazard", "lat": "30", "lon": 121, "how": "click"}', "lat must be a finite"),
    ('{"type": "hazard", "lat": NaN, "lon": 121, "how": "click"}', "lat must be a finite"),
    ('{"type": "hazard", "lat": 121, "lon": 30, "how": "click"}', "not a [lat, lon]"),
    ('{"type": "hazard", "lat": 30, "lon": 121, "how": "teleport"}', "how must be"),
    ('{"type": "hazard", "lat": 30, "lon": 121}', "missing how"),
    ('{"type": "ready", "pad": "' + "x" * 2000 + '"}', "at most 1024"),
    ('{"type": "zone", "lat": 30.8, "lon": 121.4, "radius_m": 5}',
     "zone: radius_m must be 10–10000 m, not 5"),
    ('{"type": "zone", "lat": 300, "lon": 121.4, "radius_m": 50}', "zone: (300.0, 121.4) is not"),
    ('{"type": "zone", "lat": 30.8, "lon": 121.4}', "zone: missing radius_m"),
    ('{"type": "radius", "radius_m": 20000}', "radius: radius_m must be 10–10000 m, not 20000"),
    ('{"type": "radius", "radius_m": "wide"}', "radius_m must be a finite number"),
    ('{"type": "radius", "radius_m": 50, "how": "drag"}', "radius: unexpected how"),
    ('{"type": "downwind", "downwind_m": -1}', "downwind: downwind_m must be 0–50000 m, not -1"),
    ('{"type": "downwind", "downwind_m": Infinity}', "downwind_m must be a finite number"),
])
def test_malformed_messages_are_refused_with_a_reason(text, why):
    with pytest.raises(BadMessage, match=None) as err:
        parse_message(text)
    assert why in str(err.value)


def test_the_bridge_passes_on_the_commanders_drawing(qtbot):
    bridge = MapBridge()
    got = []
    bridge.zone_drawn.connect(lambda lat, lon, r: got.append(("zone", lat, lon, r)))
    bridge.radius_set.connect(lambda r: got.append(("radius", r)))
    bridge.downwind_set.connect(lambda d: got.append(("downwind", d)))
    bridge.post('{"type": "zone", "lat": 30.81, "lon": 121.45, "radius_m": 180}')
    bridge.post('{"type": "radius", "radius_m": 250}')
    bridge.post('{"type": "downwind", "downwind_m": 650}')
    assert got == [("zone", 30.81, 121.45, 180.0), ("radius", 250.0), ("downwind", 650.0)]
    assert bridge.ignored == 0


def test_the_bridge_ignores_malformed_messages_with_a_log_line(qtbot, caplog):
    bridge = MapBridge()
    placed = []
    bridge.hazard_placed.connect(lambda lat, lon, how: placed.append((lat, lon, how)))
    with caplog.at_level(logging.WARNING, logger="commandcenter.ui.map.bridge"):
        bridge.post('{"type": "hazard", "lat": 30.8, "lon": 121.4, "how": "hover"}')
        bridge.post("<script>alert(1)</script>")
        bridge.post('{"type": "hazard", "lat": 30.8, "lon": 121.4, "how": "click"}')
    assert placed == [(30.8, 121.4, "click")]
    assert bridge.ignored == 2
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert all(line.startswith("map page sent a malformed message, ignored") for line in lines)
    assert "how must be 'click' or 'drag'" in lines[0]


# ---------------------------------------------------------------------- deriving the zone


def test_zone_from_an_incident_building_with_the_plan_and_the_wind(demo):
    wind = Wind(90.0, 3.0, WindSource.GAUGES)
    setup = derive_setup(demo, plan_id="PLAN-TOXIC-L2", location="U-120", incident_id="INC-1",
                         alarms=[], wind=wind)
    assert setup is not None
    assert setup.source == SourceKind.BUILDING and setup.source_label == "U-120"
    assert setup.centre == building_centroid(demo.buildings["U-120"])
    spec = demo.plans["PLAN-TOXIC-L2"].hazard_zone
    zone = setup.zone()
    assert (zone.radius_m, zone.sector_length_m) == (spec.isolation_m, spec.protective_downwind_m)
    assert zone.has_sector and zone.downwind_deg == 270.0  # wind from the east blows west
    # The centroid lies inside the building's outline box.
    ring = demo.buildings["U-120"].outline[0]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    assert min(lats) < setup.centre[0] < max(lats) and min(lons) < setup.centre[1] < max(lons)


def test_gauges_in_formal_alarm_nearby_move_the_source_to_their_centroid(demo):
    clock = ScriptedClock(T0)
    desk = engine_desk(demo, clock)
    hold(desk, clock, "CL2-120-02", 2.6)  # level 2
    hold(desk, clock, "CL2-120-01", 1.4)  # level 1
    hold(desk, clock, "CL2-120-03", 0.7)  # pre-alarm only: not formal
    hold(desk, clock, "H2S-801-01", 30.0)  # formal, but far from U-120
    assert distance_m(demo.gauges["H2S-801-01"].location,
                      building_centroid(demo.buildings["U-120"])) > 300
    setup = derive_setup(demo, plan_id="PLAN-TOXIC-L2", location="U-120", incident_id="INC-1",
                         alarms=desk.board.alarms().values(),
                         wind=Wind(None, None, WindSource.UNAVAILABLE))
    assert setup is not None and setup.source == SourceKind.GAUGES
    assert setup.source_label == "CL2-120-01, CL2-120-02"
    a, b = demo.gauges["CL2-120-01"].location, demo.gauges["CL2-120-02"].location
    assert setup.centre == pytest.approx(((a[0] + b[0]) / 2, (a[1] + b[1]) / 2))
    assert not setup.zone().has_sector  # no wind direction: circle only


def test_a_pre_alarm_the_post_confirmed_counts_as_formal(demo):
    import asyncio

    clock = ScriptedClock(T0)
    desk = engine_desk(demo, clock)
    hold(desk, clock, "CL2-120-02", 2.6)  # level 2
    hold(desk, clock, "CL2-120-03", 0.7)  # pre-alarm only …
    asyncio.run(desk.confirm("CL2-120-03:high:prealarm", "值班长", "现场闻到氯气味"))  # … confirmed
    setup = derive_setup(demo, plan_id="PLAN-TOXIC-L2", location="U-120", incident_id="INC-1",
                         alarms=desk.board.alarms().values(),
                         wind=Wind(None, None, WindSource.UNAVAILABLE))
    assert setup is not None and setup.source_label == "CL2-120-02, CL2-120-03"


def test_an_incident_point_and_an_unknown_building(demo):
    wind = Wind(None, None, WindSource.UNAVAILABLE)
    setup = derive_setup(demo, plan_id="NO-SUCH-PLAN", location=(30.8155, 121.4551),
                         incident_id=None, alarms=[], wind=wind)
    assert setup is not None and setup.source == SourceKind.POINT
    assert setup.centre == (30.8155, 121.4551) and setup.plan_id is None
    assert derive_setup(demo, plan_id="PLAN-TOXIC-L2", location="NOPE", incident_id=None,
                        alarms=[], wind=wind) is None


def test_wind_from_the_gauges_calm_and_unavailable(demo):
    clock = ScriptedClock(T0)
    desk = engine_desk(demo, clock)
    assert read_wind(demo, desk.gauge_status) == Wind(None, None, WindSource.UNAVAILABLE)
    assert read_wind(demo, None).source == WindSource.UNAVAILABLE
    desk.reading("WD-001", 450.0 - 360.0, clock.now())
    desk.reading("WS-001", 3.2, clock.now())
    wind = read_wind(demo, desk.gauge_status)
    assert wind == Wind(90.0, 3.2, WindSource.GAUGES) and wind.usable
    text, warn = wind_text(wind, "en")
    assert (text, warn) == ("Wind from E (90°), 3.2 m/s", False)
    desk.reading("WS-001", 0.2, clock.now())
    calm = read_wind(demo, desk.gauge_status)
    assert calm.calm and not calm.usable
    assert wind_text(calm, "zh") == ("静风（0.2 m/s）：无下风向扇区，仅隔离圆", True)
    setup = HazardSetup((30.8141, 121.4540), SourceKind.COMMANDER, "", 100.0, 800.0, 60.0, calm)
    assert not setup.zone().has_sector
    desk.link_down("WD-001", clock.now(), "timeout")
    gone = read_wind(demo, desk.gauge_status)
    assert gone.source == WindSource.UNAVAILABLE and gone.from_deg is None
    assert wind_text(gone, "en") == ("Wind direction unavailable: no downwind sector, circle "
                                     "only", True)
    # A blind status is never read as wind.
    assert read_wind(demo, lambda g: GaugeStatus(g, 90.0, T0, False)).from_deg is None


# ---------------------------------------------------------------------- what is drawn and listed


def test_features_and_summary_of_an_answer(demo, router):
    setup = HazardSetup(building_centroid(demo.buildings["U-120"]), SourceKind.BUILDING, "U-120",
                        100.0, 800.0, 60.0, Wind(90.0, 3.0, WindSource.GAUGES))
    answer = router.answer(setup.zone())
    fc = answer_features(demo, answer)
    roles = [f["properties"]["role"] for f in fc["features"]]
    assert roles.count("route") == len(answer.evacuation.routes)
    assert roles.count("stranded") == len(answer.evacuation.stranded) > 0
    assert roles.count("ap_blocked") == len(answer.evacuation.assembly_points_in_zone)
    assert "nearest" in roles
    json.dumps(fc, allow_nan=False)  # plain JSON for the page
    zone = zone_feature(setup)
    ring = zone["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and zone["properties"]["sector"] is True
    summary = summarise(demo, answer)
    assert [s.building for s in summary.stranded] == \
        [s.building for s in answer.evacuation.stranded]
    assert summary.routed_people == sum(m.people for m in summary.muster)
    assert sum(len(m.buildings) for m in summary.muster) == len(answer.evacuation.routes)
    assert all(n.kind != "assembly_point" for n in summary.nearest)
    assert [m.people for m in summary.muster] == sorted((m.people for m in summary.muster),
                                                        reverse=True)


def test_the_page_loads_nothing_from_outside(demo):
    page = page_html(demo, "zh")
    assert all(u.startswith(("data:", "#")) for u in asset_references(page))
    assert "http://" not in page.split("window.CC_DATA")[1].split("</script>")[0].replace(
        "http://www.w3.org/2000/svg", "")
    for fn in ("ccSetGaugeStates", "ccSetHazard", "ccSetRoutes", "ccSetPlacing",
               "ccSetLanguage", "ccInspect"):
        assert f"window.{fn} = function" in page, fn
    assert "QWebChannel" in page  # Qt's client script, inline
    data = json.loads(page.split("window.CC_DATA = ")[1].split(";\n")[0])
    assert {b["id"] for b in data["buildings"]} == set(demo.buildings)
    assert {g["id"] for g in data["gauges"]} == set(demo.gauges)
    assert {e["id"] for e in data["network"]} == set(demo.edges)
    edge = data["network"][0]
    assert set(edge) == {"id", "road", "len", "a", "b", "p"}  # what a click on it shows
    assert data["strings"]["en"]["no_route"] == "NO SAFE ROUTE"
    assert data["strings"]["zh"]["compass"][2] == "东"
    # Every resource kind has its own glyph, inline SVG (no icon font, no file, no URL).
    glyphs = {k: v["glyph"] for k, v in data["kinds"].items()}
    assert len(set(glyphs.values())) == len(glyphs)
    assert all(g.startswith("<svg class='cc-glyph'") and "url(" not in g and "href" not in g
               for g in glyphs.values())
    assert "fa-" not in page and "font-awesome" not in page.lower()


def test_flags_have_their_own_columns_and_ids_come_first(qtbot, demo, router):
    setup = HazardSetup(building_centroid(demo.buildings["U-120"]), SourceKind.BUILDING, "U-120",
                        100.0, 800.0, 60.0, Wind(90.0, 3.0, WindSource.GAUGES))
    summary = summarise(demo, router.answer(setup.zone()))
    assert any(m.upwind for m in summary.muster) and any(n.in_zone for n in summary.nearest)
    for lang, upwind, in_zone in (("en", "upwind", "in zone"), ("zh", "上风向", "区内")):
        panel = AnswerPanel(demo, lang=lang)
        qtbot.addWidget(panel)
        panel.resize(496, 900)
        panel.show_summary(summary)
        for i, m in enumerate(summary.muster):
            name = panel.muster.item(i, 0).text()
            assert name.startswith(m.assembly_point) and upwind not in name
            assert panel.muster.item(i, 1).text() == (upwind if m.upwind else "")
            assert panel.muster.item(i, 2).text().startswith(str(m.people))
        for i, n in enumerate(summary.nearest):
            label = panel.nearest.item(i, 1).text()
            assert label.startswith(n.resource) and in_zone not in label
            assert panel.nearest.item(i, 2).text() == (in_zone if n.in_zone else "")
            # The full name is one hover away.
            assert panel.nearest.item(i, 1).toolTip().startswith(
                demo.resources[n.resource].name.get(lang))
        # The flag columns are never squeezed: they are as wide as their widest flag.
        metrics = panel.muster.fontMetrics()
        assert panel.muster.columnWidth(1) >= metrics.horizontalAdvance(upwind)
        assert panel.nearest.columnWidth(2) >= metrics.horizontalAdvance(in_zone)
    ap = summary.muster[0].assembly_point  # 紧急集合点 AP-1（北门广场） → AP-1（北门广场）
    assert panel.muster.item(0, 0).text() == \
        f"{ap}（{demo.resources[ap].name.zh.split('（')[1]}"


def test_a_zone_set_by_hand_gets_the_sites_downwind_distance(qtbot, demo):
    page = MapPage(demo, alarms=None, incidents=None, lang="en")
    qtbot.addWidget(page)
    assert page.zone_panel.downwind.value() == 500
    page.zone_panel.wind_from.setValue(90)
    page.zone_panel.wind_speed.setValue(3.0)
    page.zone_panel.override.setChecked(True)  # entered before there is a zone: kept for it
    page.place_hazard(30.81418, 121.45405)
    zone = page.setup.zone()
    assert page.setup.downwind_m == 500 and zone.has_sector and zone.sector_length_m == 500
    assert zone.downwind_deg == 270.0
    assert "downwind 500 m, sector 60°, towards W" in page.zone_panel.info.text()
    unknown_plan = derive_setup(demo, plan_id="NO-SUCH-PLAN", location="U-120",
                                incident_id=None, alarms=[], wind=Wind(90.0, 3.0,
                                                                       WindSource.GAUGES))
    assert unknown_plan is not None and unknown_plan.downwind_m == 500
    page.shutdown()


# ---------------------------------------------------------------------- the page without services


def test_the_page_builds_without_services_and_says_so(qtbot, demo):
    page = MapPage(demo, alarms=None, incidents=None, lang="en")
    qtbot.addWidget(page)
    assert page.notice.isVisibleTo(page)
    assert page.notice.text().startswith("The alarm and incident services are not running: "
                                         "gauges show no live state")
    assert page.setup is None and page.web is None  # no browser until the page is shown
    assert page.zone_panel.info.text().startswith("No hazard zone.")
    assert not page.zone_panel.automatic.isEnabled()
    page.set_language("zh")
    assert page.notice.text().startswith("报警服务与应急事件服务未运行")
    page.shutdown()


def test_a_page_with_no_network_says_routes_cannot_be_computed(qtbot, site):
    page = MapPage(site, alarms=None, incidents=None, lang="en")
    qtbot.addWidget(page)
    page.place_hazard(30.0, 120.0)
    assert page.setup is not None and page.setup.source == SourceKind.COMMANDER
    assert page.answer_panel.status.text() == (
        "The site has no road network: no evacuation routes or nearest resources can be "
        "computed.")
    page.shutdown()


# ---------------------------------------------------------------------- following the incident


def test_incidents_derive_escalate_and_clear_the_zone(qtbot, demo):
    from commandcenter.core import incidents as core
    from commandcenter.ui.incidents.memory import MemoryDesk
    from commandcenter.ui.incidents.people import commander_candidates

    clock = ScriptedClock(T0)
    alarms = engine_desk(demo, clock)
    hold(alarms, clock, "CL2-120-02", 2.6)
    alarms.reading("WD-001", 90.0, clock.now())
    alarms.reading("WS-001", 3.0, clock.now())
    incidents = MemoryDesk(demo, clock)
    page = MapPage(demo, alarms=alarms, incidents=incidents, lang="en")
    qtbot.addWidget(page)
    assert page.setup is None and not page.notice.isVisibleTo(page)
    plan = demo.plans["PLAN-TOXIC-L2"]
    leader = commander_candidates(demo, plan, incidents.schedule, clock.now())[0].person.id
    (rec,) = incidents.record(core.activate(demo, incidents.book, plan.id, location="U-120",
                                            commander=leader, by="operator:test",
                                            now=clock.now(), schedule=incidents.schedule))
    setup = page.setup
    assert setup is not None and setup.incident_id == rec.incident_id
    assert setup.source == SourceKind.GAUGES and setup.source_label == "CL2-120-02"
    assert setup.centre == demo.gauges["CL2-120-02"].location
    assert setup.wind == Wind(90.0, 3.0, WindSource.GAUGES)
    assert "Source: centre of gauges in alarm CL2-120-02" in page.zone_panel.info.text()
    assert "Wind from E (90°), 3.0 m/s" in page.zone_panel.info.text()
    qtbot.waitUntil(lambda: page.answer is not None, timeout=10_000)
    assert page.answer.zone == setup.zone()
    # The wind turns: a zone that follows the gauges turns with it.
    alarms.reading("WD-001", 180.0, clock.now())
    page.follow_wind()
    assert page.setup.zone().downwind_deg == 0.0
    # The commander widens the cordon; an escalation keeps it and takes the new plan.
    page.zone_panel.radius.setValue(250)
    assert page.setup.radius_m == 250 and page.setup.radius_edited
    incidents.record(core.escalate(demo, incidents.book, rec.incident_id, by="operator:test",
                                   now=clock.now(), schedule=incidents.schedule))
    assert page.setup.plan_id == "PLAN-TOXIC-L3" and page.setup.radius_m == 250
    assert page.setup.centre == demo.gauges["CL2-120-02"].location
    # Closing the incident removes its zone.
    inc = incidents.book.get(rec.incident_id)
    incidents.record(core.close(incidents.book, rec.incident_id, by="operator:test",
                                confirmed=range(len(inc.termination))))
    assert page.setup is None and page.answer is None
    assert page.zone_panel.info.text().startswith("No hazard zone.")
    page.shutdown()


def test_a_source_placed_off_the_site_is_refused_with_the_reason(qtbot, demo):
    page = MapPage(demo, alarms=None, incidents=None, lang="en")
    qtbot.addWidget(page)
    page.place_hazard(40.0, 121.455)
    qtbot.waitUntil(lambda: page.answer_panel.status.text().startswith("Routing failed"),
                    timeout=20_000)
    assert page.answer is None
    assert page.answer_panel.status.text() == (
        "Routing failed: the hazard source (40.000000, 121.455000) is 1020696 m from the nearest "
        "network node (the limit is 500 m): it is not on this site's network — check the "
        "coordinates and their order [lat, lon]")
    page.shutdown()
