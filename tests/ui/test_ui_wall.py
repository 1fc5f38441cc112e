from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QModelIndex
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel

from commandcenter.core.events import Event
from commandcenter.core.site import PlanLevel
from commandcenter.ui.theme import wall_theme
from commandcenter.ui.wall import WallWindow, screen_for


@pytest.fixture
def wall(qtbot, site, event_log, clock):
    w = WallWindow(site, event_log, clock, lang="zh")
    qtbot.addWidget(w)
    w.resize(1920, 1080)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_feed_updates_live_when_another_thread_appends(qtbot, wall, event_log, clock):
    assert wall.feed.rowCount() == 0
    assert not wall.feed_empty.isHidden() and wall.feed_view.isHidden()
    assert wall.feed_empty.text() == "尚无事件记录"

    def producer():
        for i in range(3):
            clock.advance(10)
            event_log.append(Event("alarm.raised", f"gauge:GD-10{i}", {"value": 20 + i}))

    t = threading.Thread(target=producer)
    t.start()
    qtbot.waitUntil(lambda: wall.feed.rowCount() == 3, timeout=5000)
    t.join()
    assert [e.source for e in wall.feed.events()] == ["gauge:GD-102", "gauge:GD-101",
                                                      "gauge:GD-100"]
    assert wall.feed_empty.isHidden() and not wall.feed_view.isHidden()
    # time of day in the site's zone: 08:30:35 UTC → 16:30:35
    assert wall.feed.index(0, 0).data() == "16:30:35"


def test_feed_starts_from_the_logs_tail(qtbot, site, event_log, clock):
    for i in range(60):
        event_log.append(Event("reading", "sim", {"i": i}))
    w = WallWindow(site, event_log, clock, lang="en")
    qtbot.addWidget(w)
    assert w.feed.rowCount() == w.feed.max_rows == 50
    assert w.feed.events()[0].payload == {"i": 59}


def test_closing_stops_following_the_log(qtbot, wall, event_log):
    wall.close()
    event_log.append(Event("alarm.raised", "gauge:GD-1", {}))
    qtbot.wait(200)
    assert wall.feed.rowCount() == 0


def test_header_and_plan_tiles_show_the_site(qtbot, wall, site):
    assert wall.site_label.text() == "测试化工厂"
    assert "Test Chemical Plant" in wall.site_sub.text()
    assert wall.clock_label.text() == "16:30:05"
    assert wall.date_label.text() == "2026-03-01  星期日"
    counts = {lvl: wall.tiles[lvl].count.text() for lvl in PlanLevel}
    assert counts == {PlanLevel.L1: "1 项", PlanLevel.L2: "2 项", PlanLevel.L3: "1 项",
                      PlanLevel.L4: "1 项"}
    assert "硫化氢中毒车间处置方案" in wall.tiles[PlanLevel.L2].titles.text()
    wall.set_language("en")
    assert wall.site_label.text() == "Test Chemical Plant"
    assert "Fire - workshop plan" in wall.tiles[PlanLevel.L2].titles.text()
    assert wall.events_heading.text() == "Latest events"
    assert wall.date_label.text() == "2026-03-01  Sunday"


def test_wall_type_is_large_on_a_1080p_screen(wall):
    assert wall.theme.body_px >= 28
    assert wall.theme.heading_px > wall.theme.body_px
    assert wall.clock_label.font().pixelSize() >= 60
    for label in wall.findChildren(QLabel, "levelTitles"):
        assert "font-size: 28px" in label.styleSheet()


def test_many_plans_in_a_level_are_counted_not_crammed(qtbot, site, event_log, clock):
    base = site.plans["PLAN-FIRE-L2"]
    for i in range(5):
        p = base.model_copy(update={"id": f"PLAN-X-{i}"})
        site.plans[p.id] = p
    w = WallWindow(site, event_log, clock, lang="en")
    qtbot.addWidget(w)
    w.resize(1920, 1080)
    w.show()
    qtbot.waitExposed(w)
    assert w.tiles[PlanLevel.L2].count.text() == "7"
    assert "4 more" in w.tiles[PlanLevel.L2].titles.text()


def test_tiles_go_one_line_each_with_the_plan_kinds_when_panels_join(qtbot, site, event_log,
                                                                   clock):
    from PySide6.QtWidgets import QLabel as Label

    from commandcenter.core.site import PlanKind

    base = site.plans["PLAN-FIRE-L2"]
    kinds = [k for k in PlanKind if k is not base.kind][:5]
    for i, kind in enumerate(kinds):  # six workshop plans of six kinds
        p = base.model_copy(update={"id": f"PLAN-X-{i}", "kind": kind})
        site.plans[p.id] = p
    w = WallWindow(site, event_log, clock, lang="en")
    qtbot.addWidget(w)
    w.add_panel(Label("incident"), stretch=6)
    w.resize(1920, 1080)
    w.show()
    qtbot.waitExposed(w)
    tiles = [w.tiles[level] for level in PlanLevel]
    assert all(t.compact for t in tiles)
    assert [t.x() for t in tiles] == [tiles[0].x()] * 4  # one column, a line per level
    assert tiles[0].y() < tiles[1].y() < tiles[2].y() < tiles[3].y()
    l1, l2 = tiles[0], tiles[1]
    # Six workshop plans: their kinds, as many as fit on the line, the rest counted.
    text = l2.titles.text()
    assert text.startswith("Fire, ") and text.endswith("more")
    assert "<br>" not in text
    metrics = l2.titles.fontMetrics()
    assert metrics.horizontalAdvance(text.replace("&amp;", "&")) <= l2.titles.width()
    # A level with one plan shows that plan's title.
    assert [p.title.en for p in site.plans.values() if p.level is PlanLevel.L1] == \
        [l1.titles.text()]


def test_fit_list_counts_what_does_not_fit(qtbot):
    from PySide6.QtGui import QFont, QFontMetrics

    from commandcenter.ui.wall import fit_list

    metrics = QFontMetrics(QFont())
    items = ["fire", "gas leak", "toxic release", "power outage"]
    wide = fit_list(items, metrics, 2000, 1, "en")
    assert wide == "fire, gas leak, toxic release, power outage"
    narrow = fit_list(items, metrics, metrics.horizontalAdvance("fire, gas leak … 2 more") + 2,
                      1, "en")
    assert narrow == "fire, gas leak … 2 more"
    assert fit_list(["火灾", "泄漏", "停电"], metrics, 2000, 1, "zh") == "火灾、泄漏、停电"


def test_show_on_goes_full_screen_on_the_chosen_monitor(qtbot, site, event_log, clock):
    w = WallWindow(site, event_log, clock, lang="zh")
    qtbot.addWidget(w)
    w.show_on(0)
    qtbot.waitExposed(w)
    screen = QGuiApplication.screens()[0]
    assert w.isFullScreen()
    assert w.screen() is screen
    assert w.geometry() == screen.geometry()
    assert w.theme == wall_theme(screen.geometry().height())


def test_unknown_screen_is_refused():
    with pytest.raises(ValueError, match="no screen 7"):
        screen_for(7)
    with pytest.raises(ValueError):
        screen_for(-1)


def test_later_panels_join_the_panel_row(qtbot, wall):
    panel = QLabel("x")
    before = wall.panels.count()
    wall.add_panel(panel, 3)
    assert wall.panels.count() == before + 1
    assert wall.panels.indexOf(panel) == before
    assert wall.feed.rowCount(QModelIndex()) == 0
