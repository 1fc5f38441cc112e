"""Trends, site overview, page registration and screenshot views of the alarm screens."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from commandcenter.core.alarms import AlarmEngine
from commandcenter.core.siteio import load_site
from commandcenter.services.runtime import Runtime
from commandcenter.ui import extensions
from commandcenter.ui.alarms import pages
from commandcenter.ui.alarms.list import AlarmListPage
from commandcenter.ui.alarms.overview import TILE_STYLES, SiteOverview, TileState
from commandcenter.ui.alarms.pages import AlarmWallPanel, NoServicePanel, desk_of
from commandcenter.ui.alarms.scripted import EngineDesk
from commandcenter.ui.alarms.trends import LIMIT_COLOURS, TrendsPage, local_axis_time
from commandcenter.ui.extensions import UiContext
from commandcenter.ui.screenshot import render_view

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_site():
    return load_site(REPO)


@pytest.fixture(autouse=True)
def _muted(monkeypatch):
    monkeypatch.setenv("COMMANDCENTER_MUTE", "1")


@pytest.fixture
def desk(demo_site, clock, event_log):
    return EngineDesk(demo_site, AlarmEngine.for_site(demo_site, clock), event_log)


def hold(desk, clock, gauge, value, seconds=2):
    desk.reading(gauge, value, clock.now())
    clock.advance(seconds)
    return desk.reading(gauge, value, clock.now())


# ---------------------------------------------------------------------- trends


def test_trends_redraw_only_when_the_buffer_changed(qtbot, desk, demo_site, clock):
    page = TrendsPage(desk.trends, demo_site, clock, lang="en")
    qtbot.addWidget(page)
    page.shutdown()  # drive redraws by hand
    for _ in range(5):
        desk.reading("GD-110-01", 3.0, clock.now())
        clock.advance(1)
    page.set_selected(["GD-110-01", "H2S-410-01"])
    assert page.selected() == ["GD-110-01", "H2S-410-01"]
    base = page.redraws
    assert page.redraw() == 0  # nothing new
    desk.reading("GD-110-01", 4.0, clock.now())
    assert page.redraw() == 1  # only the curve whose buffer changed
    assert page.redraws == base + 1
    assert page.redraw() == 0
    _x, y = page._traces["GD-110-01"].curve.getOriginalDataset()
    assert list(y) == [3.0] * 5 + [4.0]
    assert page.curve_colour("GD-110-01") != page.curve_colour("H2S-410-01")


def test_trends_draw_dashed_limits_in_level_colours(qtbot, desk, demo_site, clock):
    page = TrendsPage(desk.trends, demo_site, clock, lang="zh")
    qtbot.addWidget(page)
    page.set_selected(["O2-410-01"])
    lines = sorted(page.limit_lines("O2-410-01"))
    assert lines == sorted([(19.5, LIMIT_COLOURS[t]) for t in ()] + [
        (18.0, "#C62828"), (19.5, "#F57C00"), (23.5, "#F57C00")])
    page.set_selected([])
    assert page.limit_lines("O2-410-01") == [] and page.selected() == []
    page.search.setText("硫化氢")
    shown = [page.gauges.item(i).text() for i in range(page.gauges.count())
             if not page.gauges.item(i).isHidden()]
    assert shown and all(s.startswith("H2S-") for s in shown)


def test_manual_zoom_turns_follow_live_off(qtbot, desk, demo_site, clock):
    page = TrendsPage(desk.trends, demo_site, clock, lang="en")
    qtbot.addWidget(page)
    assert page.follow.isChecked()
    page.plot.getViewBox().sigRangeChangedManually.emit([True, True])
    assert not page.follow.isChecked()
    page.follow.setChecked(True)
    vb = page.plot.getViewBox()
    lo, hi = vb.viewRange()[0]
    # the right edge is "now" snapped up to one pixel's worth of time
    pixel_s = max(1.0, 3600 / vb.width())
    assert 0 <= hi - clock.now().timestamp() < pixel_s
    assert hi - lo == pytest.approx(3600, abs=1)
    clock.advance(pixel_s / 3)
    page.redraw()
    page._follow_now()
    assert vb.viewRange()[0][1] - clock.now().timestamp() < pixel_s


def test_value_axis_holds_every_curve_and_zero_and_does_not_twitch(qtbot, desk, demo_site,
                                                                    clock):
    page = TrendsPage(desk.trends, demo_site, clock, lang="en")
    qtbot.addWidget(page)
    page.shutdown()
    for i in range(30):
        desk.reading("GD-110-01", 10.0 + (i % 3), clock.now())
        desk.reading("H2S-410-01", 2.0, clock.now())
        clock.advance(1)
    page.set_selected(["GD-110-01", "H2S-410-01"])
    vb = page.plot.getViewBox()
    y0, y1 = vb.viewRange()[1]
    assert y0 <= 0.0 and 12.0 < y1 < 12.0 * 1.2  # zero-based, just above the highest value
    desk.reading("GD-110-01", 11.5, clock.now())  # inside the range: the axis stays put
    page.redraw()
    assert vb.viewRange()[1] == [y0, y1]
    desk.reading("GD-110-01", 40.0, clock.now())  # above it: the axis grows to show it
    page.redraw()
    assert vb.viewRange()[1][1] > 40.0
    page.set_selected(["H2S-410-01"])  # the tall curve gone: the axis shrinks to what is left
    assert vb.viewRange()[1][1] < 3.0


def test_axis_time_is_site_local(demo_site):
    ts = datetime(2026, 3, 1, 6, 0, 0, tzinfo=UTC).timestamp()
    assert local_axis_time(ts, demo_site) == "14:00:00"


# ---------------------------------------------------------------------- overview


def test_overview_colours_each_state_and_shows_blind_gauges_stale(qtbot, desk, demo_site,
                                                                  clock):
    for gid in ("GD-110-01", "GD-110-02", "H2S-410-01", "CL2-120-01", "CO-904-01",
                "NH3-310-01"):
        desk.reading(gid, 1.0 if gid != "CL2-120-01" else 0.1, clock.now())
    overview = SiteOverview(desk.board, demo_site, desk.gauge_status, clock, lang="en")
    qtbot.addWidget(overview)
    tiles = overview.tiles
    assert tiles["GD-110-01"].state == TileState.NORMAL
    assert tiles["GD-110-01"].value == "1.00 %LEL" or tiles["GD-110-01"].value == "1 %LEL"
    assert tiles["TT-210-01"].state == TileState.NO_DATA and tiles["TT-210-01"].value == "—"
    hold(desk, clock, "GD-110-01", 60.0)
    hold(desk, clock, "GD-110-02", 30.0)
    hold(desk, clock, "H2S-410-01", 6.0)
    hold(desk, clock, "CL2-120-01", 0.7)
    desk._record(desk.engine.shelve("CL2-120-01:high:prealarm", "op", "calibration", 60))
    desk._record(desk.engine.remove_from_service("NH3-310-01:high:alarm1", "op", "repair"))
    desk.link_down("CO-904-01", clock.now())
    clock.advance(200)
    overview.refresh()
    assert tiles["GD-110-01"].state == TileState.ALARM2
    assert tiles["GD-110-02"].state == TileState.ALARM1
    assert tiles["H2S-410-01"].state == TileState.PREALARM
    assert tiles["CL2-120-01"].state == TileState.SHELVED
    assert tiles["NH3-310-01"].state == TileState.OUT_OF_SERVICE
    stale = tiles["CO-904-01"]
    assert stale.state == TileState.STALE  # blind: never shown as normal
    assert stale.value == "1.00 ppm" or stale.value == "1 ppm"
    assert stale.detail == "comm fault · 3 min ago"
    assert TILE_STYLES[TileState.STALE].hatch is not None
    assert len({TILE_STYLES[s].fill for s in TileState}) >= 7
    image = stale.grab().toImage()
    colours = {image.pixelColor(x, y).name() for x in range(0, image.width(), 3)
               for y in range(0, image.height(), 3)}
    assert TILE_STYLES[TileState.STALE].hatch.lower() in colours  # hatched
    overview.shutdown()


@pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$")
def test_overview_follows_alarms_tile_by_tile_and_ticks_only_when_visible(qtbot, desk,
                                                                          demo_site, clock):
    overview = SiteOverview(desk.board, demo_site, desk.gauge_status, clock, lang="en")
    qtbot.addWidget(overview)
    shown: list[str] = []

    def spy(gid: str, show: Any) -> Any:
        def wrapped(*args: Any) -> None:
            shown.append(gid)
            show(*args)
        return wrapped

    for gid, tile in overview.tiles.items():
        tile.show_state = spy(gid, tile.show_state)
    hold(desk, clock, "GD-110-01", 60.0)  # three alarms raised: that tile alone is redrawn
    assert set(shown) == {"GD-110-01"}
    assert overview.tiles["GD-110-01"].state == TileState.ALARM2
    shown.clear()
    overview._tick()  # hidden: the 1 Hz refresh has nothing to show
    assert shown == []
    overview.show()
    assert overview.isVisible()
    shown.clear()
    overview._tick()
    assert len(shown) == len(overview.tiles)
    overview.shutdown()


# ---------------------------------------------------------------------- registration


class _AlarmComponent(EngineDesk):
    name = "alarms"

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def _ctx(site, event_log, clock, lang="zh", runtime=None):
    return UiContext(site=site, event_log=event_log, clock=clock, lang=lang,
                     db_label="sqlite:///test.db", runtime=runtime)


def test_pages_are_registered():
    assert "commandcenter.ui.alarms.pages:ALARMS_PAGE" in extensions.PAGES
    assert "commandcenter.ui.alarms.pages:TRENDS_PAGE" in extensions.PAGES
    assert "commandcenter.ui.alarms.pages:ALARM_WALL_PANEL" in extensions.WALL_PANELS
    assert {"alarms", "trends"} <= set(extensions.VIEWS)
    assert extensions.load(extensions.VIEWS["alarms"]) is pages.ALARMS_VIEW


def test_without_a_runtime_the_pages_say_the_service_is_not_running(qtbot, demo_site,
                                                                    event_log, clock):
    ctx = _ctx(demo_site, event_log, clock, "en")
    parent = QLabel()
    qtbot.addWidget(parent)
    for build in (pages.build_alarms_page, pages.build_trends_page, pages.build_wall_panel):
        w = build(ctx, parent)
        assert isinstance(w, NoServicePanel)
        assert w.label.text().startswith("The alarm service is not running")
    assert desk_of(ctx) is None


def test_with_a_runtime_the_pages_show_the_desk(qtbot, demo_site, event_log, clock):
    from commandcenter.services.runtime import Services

    comp = _AlarmComponent(demo_site, AlarmEngine.for_site(demo_site, clock), event_log)
    runtime = Runtime(Services.__new__(Services))
    runtime.add(comp)
    hold(comp, clock, "GD-110-01", 30.0)
    ctx = _ctx(demo_site, event_log, clock, "zh", runtime)
    assert desk_of(ctx) is comp
    parent = QLabel()
    qtbot.addWidget(parent)
    page = pages.build_alarms_page(ctx, parent)
    assert isinstance(page, AlarmListPage)
    assert page.model.rowCount() == 2
    trends = pages.build_trends_page(ctx, parent)
    assert isinstance(trends, TrendsPage) and trends.selected() == ["GD-110-01"]
    panel = pages.build_wall_panel(ctx, parent)
    assert isinstance(panel, AlarmWallPanel)
    assert panel.model.alarm_ids() == ["GD-110-01:high:alarm1"]
    assert panel.counts.text() == "未确认 1 · 在报 1"
    page.shutdown()
    trends.shutdown()


@pytest.mark.parametrize(("view", "lang"), [("alarms", "zh"), ("trends", "en"),
                                            ("wall-alarms", "zh")])
def test_render_views_write_pngs(qtbot, tmp_path, demo_site, event_log, clock, view, lang):
    out = render_view(view, tmp_path / f"{view}.png", (1920, 1080),
                      _ctx(demo_site, event_log, clock, lang), demo=True)
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1920, 1080)
    colours = {image.pixel(x, y) for x in range(0, 1920, 37) for y in range(0, 1080, 23)}
    assert len(colours) > 20
    assert event_log.count() == 0  # the scripted sequence never touches the real log


def test_trends_share_one_limit_line_between_gauges_with_the_same_limit(qtbot, desk, demo_site,
                                                                       clock):
    page = TrendsPage(desk.trends, demo_site, clock, lang="en")
    qtbot.addWidget(page)
    page.shutdown()
    limits = demo_site.gauges["GD-110-01"].thresholds
    same = [(t.value, t.level, t.direction) for t in limits]
    detectors = [g.id for g in demo_site.gauges.values() if g.unit == "%LEL"
                 and [(t.value, t.level, t.direction) for t in g.thresholds] == same]
    others = [g.id for g in demo_site.gauges.values() if g.unit == "ppm"][:3]
    assert len(detectors) == 5 and len(others) == 3
    page.set_selected(detectors + others)

    def limit_lines() -> int:
        return sum(isinstance(i, pg.InfiniteLine) for i in page.plot.getPlotItem().items)

    other_lines = {(t.value, t.level, demo_site.gauges[g].unit)
                   for g in others for t in demo_site.gauges[g].thresholds}
    assert limit_lines() == len(limits) + len(other_lines)
    top = max(t.value for t in limits)
    assert page.limit_label(detectors[0], top) == (
        f"{detectors[0]}, {detectors[1]}, {detectors[2]} +2 alarm level 2 ≥ {top:g} %LEL")
    # eight curves are drawn thin; with two left they are wide again
    assert {page._traces[g].curve.opts["pen"].widthF() for g in detectors + others} == {1.0}
    page.set_selected(detectors[3:])
    assert page.limit_label(detectors[4], top) == (
        f"{detectors[3]}, {detectors[4]} alarm level 2 ≥ {top:g} %LEL")
    assert {page._traces[g].curve.opts["pen"].widthF() for g in detectors[3:]} == {2.0}
    assert limit_lines() == len(limits)
    page.set_language("zh")
    assert page.limit_label(detectors[3], top) == (
        f"{detectors[3]}, {detectors[4]} 二级报警 ≥ {top:g} %LEL")
    page.set_selected([])
    assert limit_lines() == 0


# ---------------------------------------------------------------------- comm loss on trends


def test_trends_shade_comm_loss_and_break_the_curve(qtbot, desk, demo_site, clock):
    page = TrendsPage(desk.trends, demo_site, clock, lang="en", status=desk.gauge_status)
    qtbot.addWidget(page)
    page.shutdown()
    gid = "GD-110-01"
    for _ in range(60):
        desk.reading(gid, 3.0, clock.now())
        clock.advance(1)
    before = clock.now().timestamp() - 1
    clock.advance(120)                                        # two minutes without a reading
    after = clock.now().timestamp()
    for _ in range(30):
        desk.reading(gid, 4.0, clock.now())
        clock.advance(1)
    last = clock.now().timestamp() - 1
    page.set_selected([gid])
    assert page.comm_lost(gid) == [(before, after)]
    x, y = page._traces[gid].curve.getOriginalDataset()
    assert int(np.isnan(y).sum()) == 1 and before < float(x[np.isnan(y)][0]) < after
    assert page.legend_text(gid).endswith("(%LEL)")
    clock.advance(10)                                         # silent, not yet for long …
    page._gaps_at = -math.inf
    page.redraw()
    assert page.comm_lost(gid) == [(before, after)]
    desk.link_down(gid, clock.now(), "no answer")             # … but it stopped answering
    page._gaps_at = -math.inf
    page.redraw()
    now = clock.now().timestamp()
    assert page.comm_lost(gid) == [(before, after), (last, now)]
    assert page.legend_text(gid).endswith("(%LEL) (comm lost)")
    clock.advance(30)                                         # the span grows with time
    page._gaps_at = -math.inf
    page.redraw()
    assert page.comm_lost(gid)[-1] == (last, clock.now().timestamp())
    page.set_language("zh")
    assert page.legend_text(gid).endswith("（通讯中断）")
    region = page._traces[gid].regions[-1]
    assert region.comm_label.format == f"{gid} 通讯中断"
    desk.reading(gid, 4.0, clock.now())                       # answers again
    page.redraw()
    assert not page.legend_text(gid).endswith("（通讯中断）")
    page.set_selected([])
    assert not any(isinstance(i, pg.LinearRegionItem) for i in page.plot.getPlotItem().items)


def test_limit_labels_are_drawn_over_the_curves_on_a_background(qtbot, desk, demo_site, clock):
    page = TrendsPage(desk.trends, demo_site, clock, lang="en")
    qtbot.addWidget(page)
    page.shutdown()
    desk.reading("H2S-410-01", 5.0, clock.now())
    page.set_selected(["H2S-410-01"])
    trace = page._traces["H2S-410-01"]
    for key in trace.limits:
        line = page._limits[key].line
        assert line.zValue() > trace.curve.zValue()
        assert line.label is not None and line.label.fill.color().alpha() > 200


# ---------------------------------------------------------------------- wall panel


@pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$")
def test_wall_panel_shows_whole_rows_only_and_keeps_value_and_state_apart(qtbot, desk,
                                                                       demo_site, clock):
    panel = AlarmWallPanel(desk, lang="en", muted=True)
    qtbot.addWidget(panel)
    panel.resize(1400, 700)
    panel.show()
    qtbot.waitExposed(panel)
    for gid in ("GD-110-01", "GD-110-02", "GD-220-01", "GD-220-02", "GD-220-03", "GD-220-04",
                "GD-210-01", "GD-210-02", "H2S-410-01", "H2S-801-01"):
        hold(desk, clock, gid, 60.0 if gid.startswith("GD") else 25.0)
    qtbot.waitUntil(lambda: panel.cut > 0, timeout=3000)
    table = panel.table
    rows = panel.model.rowCount()
    shown = [r for r in range(rows) if not table.isRowHidden(r)]
    assert shown == list(range(rows - panel.cut))
    for r in shown:                                           # every drawn row is whole
        assert table.rowViewportPosition(r) + table.rowHeight(r) <= table.viewport().height()
    assert f"{panel.cut} more alarms do not fit (see the console)" in panel.hidden_label.text()
    panel.resize(1400, 2000)
    qtbot.waitUntil(lambda: panel.cut == 0, timeout=3000)
    assert "do not fit" not in panel.hidden_label.text()
    value_col, state_col = panel.model.COL_VALUE, panel.model.COL_STATE
    metrics = table.fontMetrics()
    index = panel.model.index(0, value_col)
    assert table.columnWidth(value_col) >= metrics.horizontalAdvance(index.data()) + 16
    state = panel.model.index(0, state_col).data()
    assert table.columnWidth(state_col) >= metrics.horizontalAdvance(state) + 16
    panel.horn.stop()
