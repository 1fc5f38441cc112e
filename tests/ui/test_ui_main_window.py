from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from commandcenter.core.events import Event
from commandcenter.ui import i18n
from commandcenter.ui.main_window import MainWindow, ProblemsDialog
from commandcenter.ui.models import PLAN_ID_ROLE


@pytest.fixture
def window(qtbot, site, event_log, clock):
    w = MainWindow(site, event_log, clock, db_label="sqlite:///tmp/site.db", lang="zh")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    return w


def _visible_plan_ids(w):
    out = []
    for r in range(w.proxy.rowCount()):
        level = w.proxy.index(r, 0)
        out += [w.proxy.index(c, 0, level).data(PLAN_ID_ROLE)
                for c in range(w.proxy.rowCount(level))]
    return out


def test_search_filters_and_enter_opens_the_first_match(qtbot, window):
    assert window.plan_view.plan is None
    qtbot.keyClicks(window.search, "toxic")
    assert _visible_plan_ids(window) == ["PLAN-TOXIC-L2"]
    qtbot.keyClick(window.search, Qt.Key.Key_Return)
    assert window.plan_view.plan.id == "PLAN-TOXIC-L2"
    assert "硫化氢中毒车间处置方案" in window.plan_view.title.text()
    window.search.clear()
    assert len(_visible_plan_ids(window)) == 5


def test_ctrl_f_focuses_search_and_arrows_walk_the_list(qtbot, window):
    window.tree.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(window.search.hasFocus)
    qtbot.keyClicks(window.search, "fire")
    assert _visible_plan_ids(window) == ["PLAN-FIRE-L2", "PLAN-FIRE-L3"]
    # Down moves from the search box into the list, onto the first match
    qtbot.keyClick(window.search, Qt.Key.Key_Down)
    qtbot.waitUntil(window.tree.hasFocus)
    assert window.plan_view.plan.id == "PLAN-FIRE-L2"
    # arrows walk the list (over the L3 level row) and the view follows the current row
    qtbot.keyClick(window.tree, Qt.Key.Key_Down)
    qtbot.keyClick(window.tree, Qt.Key.Key_Down)
    assert window.plan_view.plan.id == "PLAN-FIRE-L3"
    # Enter opens it: the focus moves to the plan
    qtbot.keyClick(window.tree, Qt.Key.Key_Return)
    qtbot.waitUntil(window.plan_view.body.hasFocus)
    assert window.plan_view.plan.id == "PLAN-FIRE-L3"


def test_selecting_a_plan_shows_it(window):
    assert window.select_plan("PLAN-MAJOR-L4")
    assert window.plan_view.plan.id == "PLAN-MAJOR-L4"
    assert window.plan_view.badge.text().startswith("L4")
    # selecting a plan hidden by the search clears the search
    window.search.setText("toxic")
    assert window.select_plan("PLAN-GAS-L1")
    assert window.search.text() == ""
    assert window.plan_view.plan.id == "PLAN-GAS-L1"
    assert not window.select_plan("NO-SUCH-PLAN")


def test_language_switch_retranslates_open_windows(qtbot, window):
    window.select_plan("PLAN-FIRE-L3")
    assert window.view_menu.title() == "视图(&V)"
    assert window.search.placeholderText().startswith("搜索预案")
    assert window.site_label.text() == "厂区：测试化工厂（test-plant）"
    assert window.plan_view.title.text() == "火灾爆炸厂级专项预案"
    window.language_actions["en"].trigger()
    assert i18n.current() == "en"
    assert window.view_menu.title() == "&View"
    assert window.search.placeholderText().startswith("Search plans")
    assert window.site_label.text() == "Site: Test Chemical Plant (test-plant)"
    assert window.problems_button.text() == "Site data: 2 problems"
    assert window.plan_view.title.text() == "Fire and explosion - plant plan"
    assert window.tree.model().index(2, 0).data() == "L3 Plant (1)"
    assert window.language_actions["en"].isChecked()
    assert not window.language_actions["zh"].isChecked()
    window.language_actions["zh"].trigger()
    assert window.view_menu.title() == "视图(&V)"


def test_status_bar_shows_database_site_problems_and_clock(qtbot, window, clock):
    assert window.db_label.text() == "数据库：sqlite:///tmp/site.db"
    assert "测试化工厂" in window.site_label.text()
    assert "test-plant" in window.site_label.text()
    assert window.problems_button.text() == "站点数据问题 2 个"
    # 08:30:05 UTC is 16:30:05 at the site (Asia/Shanghai)
    assert window.clock_label.text() == "2026-03-01 16:30:05"
    clock.advance(60)
    qtbot.waitUntil(lambda: window.clock_label.text() == "2026-03-01 16:31:05", timeout=3000)


def test_problem_list_opens_from_the_status_bar(qtbot, window):
    with qtbot.waitSignal(window.problems_button.clicked):
        qtbot.mouseClick(window.problems_button, Qt.MouseButton.LeftButton)
    dialogs = [w for w in QApplication.topLevelWidgets()
               if isinstance(w, ProblemsDialog) and w.isVisible()]
    assert len(dialogs) == 1
    text = dialogs[0].text.toPlainText().splitlines()
    assert text == ["plans/broken.yaml:12: steps[0].owner: problem 0",
                    "plans/broken.yaml:13: steps[0].owner: problem 1"]
    dialogs[0].close()


def test_no_problems_disables_the_button(qtbot, site, event_log, clock):
    site.problems = []
    w = MainWindow(site, event_log, clock, db_label="db", lang="en")
    qtbot.addWidget(w)
    assert w.problems_button.text() == "Site data: no problems"
    assert not w.problems_button.isEnabled()


def test_event_dock_follows_the_log(qtbot, window, event_log):
    event_log.append(Event("alarm.raised", "gauge:GD-101", {"value": 30}))
    qtbot.waitUntil(lambda: window.feed.rowCount() == 1)
    assert window.feed.events()[0].source == "gauge:GD-101"


def test_wall_opens_from_the_view_menu_and_closes_with_the_console(qtbot, window):
    from commandcenter.ui.wall import WallWindow

    window.wall_action.trigger()
    walls = [w for w in QApplication.topLevelWidgets() if isinstance(w, WallWindow)]
    assert len(walls) == 1 and walls[0].isVisible()
    assert window.open_wall() is walls[0]
    window.close()
    qtbot.waitUntil(lambda: not any(isinstance(w, WallWindow) and w.isVisible()
                                    for w in QApplication.topLevelWidgets()))
