"""The incident screens on the real core (IncidentBook, Notifier, Outbox) with an in-memory log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QLabel, QWidget

from commandcenter.core.clock import ScriptedClock
from commandcenter.core.incidents import StepState
from commandcenter.core.site import Channel
from commandcenter.core.siteio import load_site
from commandcenter.ui import extensions
from commandcenter.ui.extensions import VIEWS, UiContext, build_console, build_wall
from commandcenter.ui.incidents.memory import MemoryDesk, scripted_incident
from commandcenter.ui.incidents.models import ANSWER_ROLE, OVERDUE_ROLE, AckBoardModel
from commandcenter.ui.incidents.pages import INCIDENT_WALL_PANEL, INCIDENTS_PAGE
from commandcenter.ui.incidents.view import IncidentsPage
from commandcenter.ui.incidents.wall_panel import IncidentWallPanel
from commandcenter.ui.screenshot import render_view

REPO = Path(__file__).resolve().parents[2]
# Monday 2026-03-02 14:00 in Asia/Shanghai: day staff and one rotating crew are at work.
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)

_LOOP: list[qasync.QEventLoop] = []


@pytest.fixture
def loop(qapp):
    """One qasync loop for the whole run, never stopped; marked running only during a test."""
    previous = asyncio.events._get_running_loop()  # before: an "already running" loop marks
    if not _LOOP:                                      # itself running when it is made
        _LOOP.append(qasync.QEventLoop(qapp, already_running=True))
    asyncio.events._set_running_loop(_LOOP[0])
    yield _LOOP[0]
    asyncio.events._set_running_loop(previous)


@pytest.fixture(scope="module")
def demo_site():
    return load_site(REPO)


@pytest.fixture
def clock():
    return ScriptedClock(START)


@pytest.fixture
def desk(demo_site, clock):
    return MemoryDesk(demo_site, clock)


@pytest.fixture
def page(qtbot, desk, clock, loop):
    p = IncidentsPage(desk, clock, "zh")
    qtbot.addWidget(p)
    p.setMinimumSize(1400, 900)
    p.resize(1600, 1000)
    p.show()
    qtbot.waitExposed(p)
    return p


def activate(qtbot, desk, plan="PLAN-TOXIC-L2", location="U-120"):
    coro = desk.activate(plan, location, commander=None, by="operator:test")
    task = asyncio.ensure_future(coro)
    qtbot.waitUntil(task.done)
    return task.result()


def wait(qtbot, task):
    assert task is not None
    qtbot.waitUntil(task.done)
    assert task.exception() is None, task.exception()


def dialog_of(qtbot, dialog):
    qtbot.addWidget(dialog)
    qtbot.waitExposed(dialog)
    return dialog


# ---------------------------------------------------------------------- activation


def test_activation_dialog_previews_then_enter_activates(qtbot, page, desk):
    plan = desk.site.plans["PLAN-TOXIC-L2"]
    dialog = dialog_of(qtbot, page.open_activation(plan))
    assert page.stack.currentWidget() is page.empty
    dialog.search.insert("液氯储存")  # QTest types ASCII only
    assert dialog.location == "U-120"
    assert dialog.commander is not None
    leaders = {p.id for p in desk.site.people_with_role("workshop_director")}
    assert dialog.commander in leaders
    qtbot.keyClick(dialog.search, Qt.Key.Key_Return)
    assert dialog.pages.currentIndex() == 1
    assert dialog.preview is not None and dialog.preview.plan_id == "PLAN-TOXIC-L2"
    text = dialog.stages_view.toPlainText()
    assert "第1批" in text and "第4批" in text
    first = dialog.preview.stages[0][1][0]
    assert first.name in text
    assert "L2" in dialog.level_label.text()
    assert "#FFD21F" in dialog.level_label.styleSheet()
    assert "液氯储存及充装站 (U-120)" in dialog.where_label.text()
    assert not desk.book.incidents
    qtbot.keyClick(dialog.confirm_button, Qt.Key.Key_Return)
    wait(qtbot, dialog.task)
    (inc,) = desk.book.open_incidents()
    assert (inc.plan, inc.location, inc.commander) == ("PLAN-TOXIC-L2", "U-120", dialog.commander)
    assert inc.activated_by == page.current_operator()
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert page.view.incident_id == inc.id
    assert page.stack.currentWidget() is page.view
    assert page.open_model.rowCount() == 1
    # the first stage's messages are queued at once
    assert {m.stage for m in desk.outbox.for_incident(inc.id)} >= {1}


def test_escape_on_the_confirmation_activates_nothing(qtbot, page, desk):
    dialog = dialog_of(qtbot, page.open_activation(desk.site.plans["PLAN-FIRE-L2"]))
    assert dialog.choose_location("U-210")
    qtbot.keyClick(dialog.search, Qt.Key.Key_Return)
    assert dialog.pages.currentIndex() == 1
    qtbot.keyClick(dialog.confirm_button, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert not desk.book.incidents
    assert page.stack.currentWidget() is page.empty


def test_activation_needs_a_location(qtbot, page, desk):
    dialog = dialog_of(qtbot, page.open_activation())
    qtbot.keyClicks(dialog.search, "no such building")
    assert dialog.location is None
    qtbot.keyClick(dialog.search, Qt.Key.Key_Return)
    assert dialog.pages.currentIndex() == 0
    assert dialog.choose_error.text() == "请选择地点"


def test_activation_at_a_map_point_shows_the_nearest_building(qtbot, page, desk):
    dialog = dialog_of(qtbot, page.open_activation(desk.site.plans["PLAN-TOXIC-L2"]))
    qtbot.mouseClick(dialog.point_mode, Qt.MouseButton.LeftButton)
    assert dialog.location_pages.currentIndex() == 1
    assert dialog.focusWidget() is dialog.point_edit
    assert dialog.location is None
    qtbot.keyClicks(dialog.point_edit, "30.8134, 121.4549")  # just south of U-120
    assert dialog.location == (30.8134, 121.4549)
    assert dialog.point_info.text() == "最近的建筑：液氯储存及充装站 (U-120)，约 24 米"
    qtbot.keyClick(dialog.point_edit, Qt.Key.Key_Return)
    assert dialog.pages.currentIndex() == 1
    assert dialog.preview is not None and "30.8134" in dialog.preview.location
    assert "30.81340, 121.45490（液氯储存及充装站 (U-120)附近 24 米）" in \
        dialog.where_label.text()
    qtbot.keyClick(dialog.confirm_button, Qt.Key.Key_Return)
    wait(qtbot, dialog.task)
    (inc,) = desk.book.open_incidents()
    assert inc.location == (30.8134, 121.4549)
    # a point inside a building says so
    other = dialog_of(qtbot, page.open_activation(desk.site.plans["PLAN-FIRE-L2"]))
    assert other.choose_point(30.8145555, 121.4540747)
    assert other.point_info.text() == "位于 液氯储存及充装站 (U-120) 内"


@pytest.mark.parametrize(("text", "shown"), [
    ("30.9, 121.45", "该点在厂区外 8.8 公里（经纬度是否写反？）"),
    ("121.45, 30.81", "纬度须在 -90 到 90、经度须在 -180 到 180 之间"),
    ("U-120", "“U-120”不是坐标：请写 纬度, 经度"),
])
def test_a_map_point_off_the_site_is_refused(qtbot, page, desk, text, shown):
    dialog = dialog_of(qtbot, page.open_activation(desk.site.plans["PLAN-FIRE-L2"]))
    dialog.point_mode.setChecked(True)
    qtbot.keyClicks(dialog.point_edit, text)
    assert dialog.point_info.text() == shown
    assert dialog.location is None
    qtbot.keyClick(dialog.point_edit, Qt.Key.Key_Return)
    assert dialog.pages.currentIndex() == 0
    expected = "请输入地图坐标（纬度, 经度）" if text == "U-120" else shown
    assert dialog.choose_error.text() == expected
    # back to the building list: the choice there still works
    dialog.building_mode.setChecked(True)
    assert dialog.choose_location("U-210") and dialog.location == "U-210"


def test_per_role_needs_are_shown_in_the_preview_and_the_stage_line(qtbot, page, desk, clock):
    dialog = dialog_of(qtbot, page.open_activation(desk.site.plans["PLAN-GAS-L1"]))
    assert dialog.choose_location("U-210")
    qtbot.keyClick(dialog.search, Qt.Key.Key_Return)
    assert "第1批（值班长1人、外操1人确认，2分钟内）" in dialog.stages_view.toPlainText()
    qtbot.keyClick(dialog.confirm_button, Qt.Key.Key_Return)
    wait(qtbot, dialog.task)
    assert len(desk.book.open_incidents()) == 1
    page.view.tick()
    assert "第1批 0/2 缺值班长 1、外操 1" in page.view.stage_label.text()


def test_an_l4_incident_says_it_is_at_the_highest_level(qtbot, page, desk):
    incident_id = activate(qtbot, desk, plan="PLAN-MAJOR-L4", location="U-210")
    assert page.select_incident(incident_id)
    assert not page.view.escalate_button.isEnabled()
    assert page.view.escalate_button.toolTip() == "已是最高级别（L4 集团级），无可升级的预案"


def test_plan_view_button_opens_the_activation_for_its_plan(qtbot, demo_site, desk, clock,
                                                            loop, tmp_path):
    from commandcenter.services.runtime import Runtime, Services
    from commandcenter.storage.eventlog import EventLog

    log = EventLog("sqlite:///" + str(tmp_path / "e.db"), clock)
    runtime = Runtime(Services(settings=None, clock=clock, site=demo_site, event_log=log))
    runtime.add(desk)
    try:
        window = build_console(UiContext(demo_site, log, clock, "zh", "test", runtime))
        qtbot.addWidget(window)
        window.show()
        assert window.select_plan("PLAN-TOXIC-L2")
        button = window.plan_view.activate_button
        assert button.isVisible() and button.text() == "启动预案"
        button.click()
        page = window.show_page("incidents")
        assert isinstance(page, IncidentsPage)
        dialog = dialog_of(qtbot, page.last_dialog)
        assert dialog.plan.id == "PLAN-TOXIC-L2"
        dialog.reject()
        window.close()
    finally:
        log.close()


# ---------------------------------------------------------------------- incident view


def test_checklist_timer_and_overdue_steps_follow_the_clock(qtbot, page, desk, clock):
    incident_id = activate(qtbot, desk)
    view = page.view
    assert view.incident_id == incident_id
    model = view.checklist_model
    assert model.rowCount() == 16
    assert view.timer_label.text() == "00:00:00"
    clock.advance(4 * 60 + 30)
    view.tick()
    assert view.timer_label.text() == "00:04:30"
    # confirm (T+1) … scrubber (T+4) are overdue now; isolate (T+5) is not yet
    overdue = [model.step_at(r).id for r in range(model.rowCount())
               if model.index(r, 0).data(OVERDUE_ROLE)]
    assert overdue == ["confirm", "activate", "stop_filling", "scrubber"]
    state = model.index(0, model.COL_STATE)
    assert state.data() == "逾期"
    assert state.data(Qt.ItemDataRole.BackgroundRole).color() == QColor("#C62828")
    assert "逾期 3:30" in model.index(0, model.COL_ELAPSED).data()
    assert view.checklist_summary.text() == "完成 0/16 · 逾期 4"
    # mark the first step done through the desk: it stops being overdue, finished late
    view.checklist.selectRow(0)
    wait(qtbot, view.set_step(StepState.DONE))
    assert model.index(0, model.COL_STATE).data() == "已完成（超时）"
    assert not model.index(0, 0).data(OVERDUE_ROLE)
    # start then N/A with a note
    view.checklist.selectRow(1)
    page.activateWindow()
    view.checklist.setFocus()
    qtbot.waitUntil(view.checklist.hasFocus)
    qtbot.keyClick(view.checklist, Qt.Key.Key_S)
    wait(qtbot, view.last_task)
    assert model.step_at(1).state == StepState.IN_PROGRESS
    dialog = dialog_of(qtbot, view.open_not_applicable())
    assert not dialog.ok.isEnabled()
    dialog.note.insert("由中控远程启动，已记录")
    qtbot.keyClick(dialog.note, Qt.Key.Key_Return)
    wait(qtbot, view.last_task)
    step = model.step_at(1)
    assert (step.state, step.note) == (StepState.NOT_APPLICABLE, "由中控远程启动，已记录")
    assert "由中控远程启动" in model.index(1, model.COL_STEP).data()
    assert view.checklist_summary.text() == "完成 2/16 · 逾期 2"


def test_ack_board_updates_as_answers_arrive(qtbot, page, desk, clock):
    incident_id = activate(qtbot, desk)
    view = page.view
    board: AckBoardModel = view.ack_model
    stages = desk.notifier.stages(incident_id)
    called = [p for st in stages for p in st.contacted]
    assert board.rowCount() == len(called)
    person = stages[0].contacted[0]
    row = board.rows_of(person)[0]
    assert board.index(row, board.COL_ANSWER).data(ANSWER_ROLE) == "waiting"
    msg = next(m for m in desk.outbox.for_incident(incident_id) if m.person == person)
    clock.advance(5)
    desk.record(desk.outbox.sent(msg.id))
    assert board.index(row, board.COL_ANSWER).data(ANSWER_ROLE) == "silent"
    assert "已发" in board.index(row, board.COL_MESSAGES).data()
    clock.advance(20)
    desk.record(desk.outbox.delivered(msg.id))
    assert board.index(row, board.COL_DELIVERED).data() == "14:00:25"
    view.silent_only.setChecked(True)
    assert view.ack_filter.rowCount() == 1
    clock.advance(10)
    code = desk.book.get(incident_id).code
    desk.record(desk.notifier.handle_reply(person, f"1 {code}").events)
    assert board.index(row, board.COL_ANSWER).data() == "已确认 14:00:35"
    assert view.ack_filter.rowCount() == 0
    assert "确认 1" in view.acks_summary.text()


def test_phone_answer_records_who_took_the_call(qtbot, page, desk):
    incident_id = activate(qtbot, desk)
    view = page.view
    person = desk.notifier.stages(incident_id)[1].contacted[0]
    row = view.ack_model.rows_of(person)[0]
    view.acks.selectRow(row)
    dialog = dialog_of(qtbot, view.open_phone_answer())
    dialog.taker.clear()
    qtbot.keyClick(dialog.taker, Qt.Key.Key_Return)
    assert dialog.isVisible() and dialog.error.text() == "请填写记录人"
    dialog.taker.insert("值班员 王敏")
    dialog.not_coming.setChecked(True)
    qtbot.keyClick(dialog.taker, Qt.Key.Key_Return)
    wait(qtbot, view.last_task)
    answer = [e for e in desk.events if e.type == "notification.declined"]
    assert len(answer) == 1
    assert answer[0].payload["recorded_by"] == "值班员 王敏"
    assert answer[0].payload["channel"] == Channel.PHONE
    assert view.ack_model.index(row, AckBoardModel.COL_ANSWER).data(ANSWER_ROLE) == "declined"


def test_position_log_entry_is_recorded_with_its_author(qtbot, page, desk):
    activate(qtbot, desk)
    view = page.view
    page.operator.setText("调度 李明")
    view.log_entry.insert("外操确认泄漏点")
    qtbot.keyClick(view.log_entry, Qt.Key.Key_Return)
    wait(qtbot, view.last_task)
    assert view.log_model.rowCount() == 1
    assert view.log_model.index(0, 1).data() == "调度 李明"
    assert view.log_model.index(0, 2).data() == "外操确认泄漏点"
    assert view.log_entry.text() == ""


def test_escalate_confirms_next_plan_and_adds_its_steps(qtbot, page, desk):
    incident_id = activate(qtbot, desk)
    view = page.view
    before = view.checklist_model.rowCount()
    dialog = dialog_of(qtbot, view.open_escalation())
    assert "L3" in dialog.level_label.text()
    assert "PLAN-TOXIC-L3" in dialog.findChildren(QLabel)[2].text()
    assert "第1批" in dialog.stages_view.toPlainText()
    qtbot.keyClick(dialog.ok, Qt.Key.Key_Return)
    wait(qtbot, view.last_task)
    inc = desk.book.get(incident_id)
    assert inc.level.value == "L3" and inc.plan == "PLAN-TOXIC-L3"
    assert view.checklist_model.rowCount() > before
    assert "L3" in view.level_label.text()
    assert "升级至 L3" in view.facts.text()


def test_close_needs_every_termination_condition(qtbot, page, desk):
    incident_id = activate(qtbot, desk)
    view = page.view
    dialog = dialog_of(qtbot, view.open_close())
    assert len(dialog.boxes) == 5
    for box in dialog.boxes[:-1]:
        box.setChecked(True)
    assert not dialog.ok.isEnabled() and dialog.missing.text() == "还有 1 项未确认"
    dialog.accept()
    assert dialog.isVisible()
    dialog.boxes[-1].setChecked(True)
    qtbot.keyClick(dialog.ok, Qt.Key.Key_Return)
    wait(qtbot, view.last_task)
    assert desk.book.get(incident_id).closed
    assert page.open_model.rowCount() == 0
    assert not view.close_button.isEnabled()
    assert "应急结束" in view.code_label.text()


def test_a_refused_action_is_shown_not_raised(qtbot, page, desk, expected_log_errors):
    incident_id = activate(qtbot, desk)
    view = page.view
    wait(qtbot, asyncio.ensure_future(desk.close(incident_id, by="x", confirmed=range(5))))
    view.checklist.selectRow(0)
    view.set_step(StepState.DONE)
    qtbot.waitUntil(view.error.isVisible)
    assert "closed" in view.error.text()
    assert not expected_log_errors


def test_several_open_incidents_are_listed(qtbot, page, desk):
    first = activate(qtbot, desk)
    second = activate(qtbot, desk, "PLAN-FIRE-L3", "TF-501")
    assert page.open_model.incident_ids() == [first, second]
    assert page.view.incident_id == first
    page.open_view.selectRow(1)
    assert page.view.incident_id == second
    assert page.view.level_label.text().startswith("L3")


def test_language_switch_redraws_the_page(qtbot, page, desk):
    from commandcenter.ui import i18n

    activate(qtbot, desk)
    i18n.set_language("zh")
    i18n.set_language("en")
    assert page.activate_button.text() == "Activate…"
    assert page.view.checklist_model.index(0, 4).data() == "open"
    assert page.view.checklist_model.headerData(0, Qt.Orientation.Horizontal) == "Step"


# ---------------------------------------------------------------------- registration


def test_page_and_panel_are_registered():
    assert "commandcenter.ui.incidents.pages:INCIDENTS_PAGE" in extensions.PAGES
    assert "commandcenter.ui.incidents.pages:INCIDENT_WALL_PANEL" in extensions.WALL_PANELS
    assert VIEWS["incident"] == "commandcenter.ui.incidents.pages:INCIDENT_VIEW"


def test_page_without_runtime_says_the_service_is_not_running(qtbot, demo_site, clock):
    holder = QWidget()
    qtbot.addWidget(holder)
    ctx = UiContext(demo_site, _NoLog(), clock, "zh", "test", None)
    page = INCIDENTS_PAGE.build(ctx, holder)
    label = page.findChild(QLabel, "incidentNoService")
    assert label is not None and label.text().startswith("事件服务未运行")


# ---------------------------------------------------------------------- wall


def test_wall_panel_is_small_without_an_incident_and_big_with_one(qtbot, demo_site, desk,
                                                                   clock, loop):
    from commandcenter.ui.wall import WallWindow

    wall = WallWindow(demo_site, _NoLog(), clock, lang="zh")
    qtbot.addWidget(wall)
    panel = IncidentWallPanel(desk, demo_site, clock, "zh", wall)
    wall.add_panel(panel, INCIDENT_WALL_PANEL.stretch, INCIDENT_WALL_PANEL.index)
    wall.resize(1920, 1080)
    wall.show()
    qtbot.waitExposed(wall)
    assert not panel.active
    assert panel.idle.text() == "无进行中的事件"
    qtbot.waitUntil(lambda: panel.width() < 300)
    assert wall.plans_panel.width() > 500
    incident_id = activate(qtbot, desk)
    assert panel.active and panel.incident_id == incident_id
    qtbot.waitUntil(lambda: panel.width() > 550)
    clock.advance(5 * 60 + 30)
    panel.refresh()
    assert panel.timer.text() == "00:05:30"
    assert "font-size: 106px" in panel.timer.styleSheet()
    assert "L2" in panel.banner.text() and "#FFD21F" in panel.banner.styleSheet()
    assert "液氯储存及充装站 (U-120)" in panel.facts.text()
    assert "逾期步骤 5" in panel.overdue.text()
    assert "已呼叫" in panel.acks.text()
    wait(qtbot, asyncio.ensure_future(desk.close(incident_id, by="x", confirmed=range(5))))
    assert not panel.active and not panel.idle.isHidden()


def test_wall_banner_shows_the_whole_english_title_and_whole_step_lines(qtbot, demo_site,
                                                                        clock):
    """The wall as the screenshot shows it (alarms beside the incident) at 1920x1080."""
    from PySide6.QtGui import QFont, QFontMetrics

    from commandcenter.ui import i18n
    from commandcenter.ui.extensions import WALL_VIEW

    previous = i18n.current()
    i18n.set_language("en")
    try:
        assert WALL_VIEW.demo is not None
        wall = WALL_VIEW.demo(UiContext(demo_site, _NoLog(), clock, "en", "test", None))
        qtbot.addWidget(wall)
        wall.resize(1920, 1080)
        wall.show()
        qtbot.waitExposed(wall)
        (panel,) = wall.findChildren(IncidentWallPanel)
        qtbot.waitUntil(lambda: panel.active and panel.width() > 450)
        qtbot.wait(50)
        t = panel.theme()
        font = QFont(panel.banner.font())
        font.setBold(True)
        font.setPixelSize(t.heading_px)
        head = QFontMetrics(font).lineSpacing()
        font.setPixelSize(t.body_px)
        body = QFontMetrics(font)
        title = "Liquid chlorine / ammonia leak - workshop-level on-site response"
        assert title in panel.banner.text()
        inner = panel.banner.contentsRect().width() - 32
        lines = body.boundingRect(0, 0, inner, 10000, int(Qt.TextFlag.TextWordWrap), title)
        assert lines.height() >= 2 * body.lineSpacing()  # the title takes two lines here ...
        assert panel.banner.height() >= head + lines.height() + 20  # ... and both are shown
        # overdue steps: one whole line each, as many as the room left holds
        shown = panel.overdue.text().count("+")
        assert shown >= 1 and "2 overdue steps" in panel.overdue.text()
        step = QFontMetrics(panel.overdue.font()).lineSpacing()
        assert head + shown * step <= panel.overdue.height()
        wall.close()
    finally:
        i18n.set_language(previous)


def test_wall_panel_without_a_service(qtbot, demo_site, clock):
    wall = build_wall(UiContext(demo_site, _NoLog(), clock, "zh", "test", None))
    qtbot.addWidget(wall)
    (panel,) = wall.findChildren(IncidentWallPanel)
    assert panel.idle.text() == "事件服务未运行"


# ---------------------------------------------------------------------- screenshot


def test_render_incident_view(qtbot, tmp_path, demo_site, clock):
    ctx = UiContext(demo_site, _NoLog(), clock, "en", "test", None)
    out = render_view("incident", tmp_path / "incident.png", (1920, 1080), ctx, demo=True)
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1920, 1080)
    colours = {image.pixel(x, y) for x in range(0, 1920, 37) for y in range(0, 1080, 23)}
    assert len(colours) > 5
    # the L2 yellow banner is on the page
    assert any(QColor(image.pixel(x, 200)).name() == "#ffd21f" for x in range(0, 1920, 20))


def test_scripted_incident_is_real_core_output(demo_site):
    desk = scripted_incident(demo_site, START + timedelta(minutes=10))
    (inc,) = desk.book.open_incidents()
    assert (inc.plan, inc.location) == ("PLAN-TOXIC-L2", "U-120")
    assert desk.clock.now() - inc.started_at == timedelta(seconds=452)
    assert [s.id for s in inc.overdue_steps(desk.clock.now())] == ["scrubber", "isolate"]
    assert any(e.type == "notification.acknowledged" for e in desk.events)
    assert any(e.type == "notification.delivered" for e in desk.events)
    assert any(entry.kind == "reply" for entry in inc.log)
    # the hash chain is intact
    from commandcenter.core.events import verify_chain

    assert verify_chain(desk.events) is None


class _NoLog:
    """An event source with nothing in it (the screens under test do not read the log)."""

    def tail(self, n: int = 20):
        return []

    def subscribe(self, callback):
        return lambda: None
