"""The alarm page, banner, dialogs, horn and printing, over a real engine, board and log.

Operator actions are coroutines of the alarm desk; they run on one session-wide qasync loop that
is never stopped (STACK.md), marked as the running loop only while a test runs.
"""

from __future__ import annotations

import asyncio
import subprocess
import wave
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrinter

from commandcenter.core.alarms import AlarmEngine, AlarmState, Priority
from commandcenter.core.siteio import load_site
from commandcenter.ui.alarms.audible import TONES, AlarmHorn, Tone, tone_wav
from commandcenter.ui.alarms.banner import AlarmBanner
from commandcenter.ui.alarms.list import (
    AlarmListPage,
    CommentDialog,
    ConfirmDialog,
    OutOfServiceDialog,
    ShelveDialog,
)
from commandcenter.ui.alarms.scripted import EngineDesk

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_site():
    return load_site(REPO)


@pytest.fixture(scope="session")
def _qasync_loop(qapp):
    loop = qasync.QEventLoop(qapp, already_running=True)
    executor = qasync.QThreadExecutor(2)
    loop.set_default_executor(executor)
    yield loop
    executor.shutdown(wait=True)


@pytest.fixture
def loop(_qasync_loop):
    asyncio.events._set_running_loop(_qasync_loop)
    try:
        yield _qasync_loop
    finally:
        asyncio.events._set_running_loop(None)


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


@pytest.fixture
def page(qtbot, desk, event_log, clock):
    p = AlarmListPage(desk, event_log, clock, lang="en", operator=lambda: "wang.fang",
                      muted=True)
    qtbot.addWidget(p)
    p.setMinimumSize(1400, 800)
    p.resize(1400, 800)
    p.show()
    qtbot.waitExposed(p)
    yield p
    p.shutdown()


# ---------------------------------------------------------------------- banner


def test_banner_shows_most_urgent_first_and_counts_the_rest(qtbot, desk, demo_site, clock):
    acked: list[list[str]] = []
    banner = AlarmBanner(desk.board, demo_site, acknowledge=lambda ids: acked.append(list(ids)),
                         lines=2, lang="en")
    qtbot.addWidget(banner)
    assert banner.shown_ids() == [] and not banner.empty.isHidden()
    hold(desk, clock, "H2S-801-01", 6.0)      # low
    clock.advance(3)
    desk.link_down("CO-904-01", clock.now())  # medium
    clock.advance(3)
    hold(desk, clock, "H2S-410-01", 25.0)     # high + medium + low
    assert banner.shown_ids() == ["H2S-410-01:high:alarm2", "CO-904-01:comm"]
    assert banner.more.text() == "1 more unacknowledged"
    assert "H2S-410-01" in banner.list.item(0).text()
    assert banner.list.item(0).text().startswith("High")

    banner.list.setCurrentRow(1)
    assert banner.acknowledge_selected() == "CO-904-01:comm"
    assert acked == [["CO-904-01:comm"]]
    qtbot.keyClick(banner.list, Qt.Key.Key_Return)  # Enter acknowledges the selected line
    assert acked[-1] == ["CO-904-01:comm"]
    assert banner.acknowledge_visible() == ["H2S-410-01:high:alarm2", "CO-904-01:comm"]
    assert acked[-1] == ["H2S-410-01:high:alarm2", "CO-904-01:comm"]


def test_read_only_banner_has_no_buttons(qtbot, desk, demo_site):
    banner = AlarmBanner(desk.board, demo_site, acknowledge=None, lang="zh")
    qtbot.addWidget(banner)
    assert banner.ack_button.isHidden() and banner.ack_visible_button.isHidden()
    assert banner.acknowledge_visible() == []
    assert banner.empty.text() == "无未确认报警"


# ---------------------------------------------------------------------- the page and actions


def test_acknowledge_from_the_banner_goes_through_the_desk(qtbot, loop, page, desk, clock):
    hold(desk, clock, "GD-110-01", 60.0)
    assert page.banner.shown_ids()[0] == "GD-110-01:high:alarm2"
    page.acknowledge(page.banner.shown_ids()[:1])
    qtbot.waitUntil(lambda: page.message.text() != "", timeout=5000)
    a = desk.board.alarm("GD-110-01:high:alarm2")
    assert a is not None and a.state == AlarmState.ACK_ACTIVE and a.acked_by == "wang.fang"
    assert "GD-110-01:high:alarm2" not in page.banner.shown_ids()
    assert page.message.text() == "Acknowledge: GD-110-01:high:alarm2"


def test_refused_action_is_reported_not_lost(qtbot, loop, page, desk, clock):
    hold(desk, clock, "GD-110-01", 12.0)
    desk._record(desk.engine.acknowledge("GD-110-01:high:prealarm", "someone.else"))
    assert page.select("GD-110-01:high:prealarm")
    assert not page.buttons["ack"].isEnabled()
    page.acknowledge(["GD-110-01:high:prealarm"])
    qtbot.waitUntil(lambda: page.message.text() != "", timeout=5000)
    assert page.message.text().startswith("Not done:")
    assert "already acknowledged" in page.message.text()


def test_shelve_unshelve_and_comment_from_the_page(qtbot, loop, page, desk, clock):
    hold(desk, clock, "CL2-120-01", 0.7)
    assert page.select("CL2-120-01:high:prealarm")
    assert page.buttons["shelve"].isEnabled() and not page.buttons["unshelve"].isEnabled()
    task = page.shelve("CL2-120-01:high:prealarm", 45, "detector calibration")
    qtbot.waitUntil(task.done, timeout=5000)
    a = desk.board.alarm("CL2-120-01:high:prealarm")
    assert a is not None and a.state == AlarmState.SHELVED
    assert a.shelving is not None and a.shelving.by == "wang.fang"
    assert a.shelving.reason == "detector calibration"
    assert page.buttons["unshelve"].isEnabled()
    task = page.unshelve_selected()
    assert task is not None
    qtbot.waitUntil(task.done, timeout=5000)
    a = desk.board.alarm("CL2-120-01:high:prealarm")
    assert a is not None and a.state == AlarmState.ACK_ACTIVE  # IEC 62682 §11.7.3
    task = page.comment("CL2-120-01:high:prealarm", "checked on site, sensor drift")
    qtbot.waitUntil(task.done, timeout=5000)
    row = page.model.row_of("CL2-120-01:high:prealarm")
    assert page.model.index(row, page.model.COL_NOTE).data() == \
        "wang.fang: checked on site, sensor drift"


def test_keyboard_shortcut_acknowledges_the_selected_row(qtbot, loop, page, desk, clock):
    hold(desk, clock, "H2S-801-01", 6.0)
    assert page.select("H2S-801-01:high:prealarm")
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_F4)
    qtbot.waitUntil(lambda: desk.board.alarm("H2S-801-01:high:prealarm").acknowledged,
                    timeout=5000)


def test_nothing_selected_says_so(qtbot, page):
    assert page.acknowledge_selected() is None
    assert page.message.text() == "Select an alarm in the list first"


def test_kpi_strip_counts_from_the_log(qtbot, page, desk, clock):
    for _ in range(4):  # chattering: set and clear 4 times within a minute
        hold(desk, clock, "H2S-801-01", 6.0, seconds=2)
        clock.advance(1)
        desk.reading("H2S-801-01", 1.0, clock.now())
        desk._record(desk.engine.acknowledge_all("op", "H2S-801-01"))
        clock.advance(1)
    qtbot.waitUntil(lambda: page._events.dirty or len(page._events.events()) >= 16,
                    timeout=5000)
    page.refresh_kpi()
    f = page.kpi.figures
    assert f["chatter"] == 1
    assert f["bad"] == ("H2S-801-01:high:prealarm", 4, 100.0)
    assert f["avg"] == pytest.approx(4 / 6)
    assert page.kpi.labels["chatter"].text() == "Chattering 1"


# ---------------------------------------------------------------------- dialogs


def test_shelve_dialog_requires_a_reason_and_shows_who(qtbot, desk, clock):
    hold(desk, clock, "CL2-120-01", 0.7)
    alarm = desk.board.alarm("CL2-120-01:high:prealarm")
    dialog = ShelveDialog(alarm, "wang.fang", 480, lang="en")
    qtbot.addWidget(dialog)
    assert not dialog.ok_button.isEnabled() and not dialog.problem.isHidden()
    assert dialog.who.text() == "Shelved by: wang.fang"
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted
    qtbot.keyClicks(dialog.reason, "   ")
    assert not dialog.ok_button.isEnabled()
    dialog.reason.setText("calibration")
    assert dialog.ok_button.isEnabled() and dialog.problem.isHidden()
    dialog.minutes.setValue(30)
    assert dialog.values() == (30.0, "calibration")
    dialog.once.setChecked(True)
    assert dialog.values() == (None, "calibration")
    assert not dialog.minutes.isEnabled()


def test_comment_dialog_needs_text(qtbot, desk, clock):
    hold(desk, clock, "CL2-120-01", 0.7)
    dialog = CommentDialog(desk.board.alarm("CL2-120-01:high:prealarm"), "op", lang="zh")
    qtbot.addWidget(dialog)
    assert not dialog.ok_button.isEnabled()
    dialog.text.setText("现场确认")
    assert dialog.ok_button.isEnabled()


# ---------------------------------------------------------------------- printing


def test_print_to_pdf(qtbot, page, desk, clock, tmp_path):
    hold(desk, clock, "GD-110-01", 30.0)
    hold(desk, clock, "H2S-801-01", 6.0)
    page.filter_text.setText("GD-110")
    out = tmp_path / "alarms.pdf"
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(out))
    page.print_to(printer)
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 2000
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "Alarm list" in text and "wang.fang" in text
    assert "GD-110-01:high" not in text  # rows show gauge and alarm, not raw ids
    assert "GD-110-01" in text and "alarm level 1" in text
    assert "H2S-801-01" not in text  # the filter applies to the print-out


# ---------------------------------------------------------------------- horn


def test_horn_repeats_until_acknowledged_then_stops(qtbot, desk, clock):
    fast = {p: Tone(t.frequency, t.beep_ms, t.beeps, 40) for p, t in TONES.items()}
    horn = AlarmHorn(desk.board, muted=True, tones=fast)
    assert not horn.sounding and horn.backend == "muted"
    hold(desk, clock, "H2S-801-01", 6.0)  # low priority
    assert horn.sounding and horn.priority == Priority.LOW
    qtbot.waitUntil(lambda: len(horn.would_play) >= 3, timeout=3000)
    hold(desk, clock, "H2S-410-01", 25.0)  # high comes in: the tone changes at once
    assert horn.priority == Priority.HIGH
    assert horn.would_play[-1] == Priority.HIGH
    with qtbot.waitSignal(horn.sounding_changed) as stopped:
        desk._record(desk.engine.acknowledge_all("op"))
    assert stopped.args == [False]
    count = len(horn.would_play)
    qtbot.wait(150)
    assert len(horn.would_play) == count and not horn.sounding


def test_silence_quiets_standing_alarms_until_a_new_one(qtbot, desk, clock):
    horn = AlarmHorn(desk.board, muted=True,
                     tones={p: Tone(t.frequency, t.beep_ms, t.beeps, 40)
                            for p, t in TONES.items()})
    hold(desk, clock, "H2S-801-01", 6.0)
    horn.silence()
    assert not horn.sounding
    count = len(horn.would_play)
    qtbot.wait(120)
    assert len(horn.would_play) == count
    clock.advance(1)
    desk.link_down("CO-904-01", clock.now())
    assert horn.sounding and horn.priority == Priority.MEDIUM


def test_muted_by_environment(qtbot, desk):
    assert AlarmHorn(desk.board).muted  # COMMANDCENTER_MUTE=1 (set for every test here)


def test_tones_are_valid_wav_per_priority():
    lengths = {}
    for priority, tone in TONES.items():
        with wave.open(BytesIO(tone_wav(tone))) as w:
            assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
            lengths[priority] = w.getnframes() / w.getframerate()
            assert lengths[priority] == pytest.approx(
                (2 * tone.beeps - 1) * tone.beep_ms / 1000, abs=0.01)
    assert TONES[Priority.HIGH].interval_ms < TONES[Priority.MEDIUM].interval_ms \
        < TONES[Priority.LOW].interval_ms
    assert TONES[Priority.HIGH].frequency > TONES[Priority.LOW].frequency


# ---------------------------------------------------------------------- confirm on site


def test_confirm_a_prealarm_on_site_makes_it_formal_and_offers_plans(qtbot, loop, page, desk,
                                                                      clock):
    hold(desk, clock, "GD-110-01", 12.0)                      # pre-alarm only
    assert page.select("GD-110-01:high:prealarm")
    assert page.buttons["confirm"].isEnabled() and not page.buttons["plan"].isEnabled()
    assert page.buttons["confirm"].text() == "Confirm on site… (F5)"
    task = page.confirm("GD-110-01:high:prealarm", "gas smelt at the flange")
    qtbot.waitUntil(task.done, timeout=5000)
    a = desk.board.alarm("GD-110-01:high:prealarm")
    assert a is not None and a.formal and a.confirmation is not None
    assert a.confirmation.by == "wang.fang" and a.confirmation.note == "gas smelt at the flange"
    assert page.message.text() == ("Confirmed as a formal alarm: GD-110-01:high:prealarm · "
                                   "activate its suggested plan with F9")
    assert page.buttons["plan"].isEnabled() and not page.buttons["confirm"].isEnabled()
    row = page.model.row_of("GD-110-01:high:prealarm")
    assert page.model.index(row, page.model.COL_ALARM).data() == \
        "pre-alarm · high (confirmed on site)"
    assert page.model.index(row, page.model.COL_NOTE).data() == \
        "confirmed on site by wang.fang: gas smelt at the flange"
    assert page.model.index(row, page.model.COL_PRIORITY).data() == "Medium"
    offered = []
    page.plan_requested.connect(lambda plan, building: offered.append((plan, building)))
    assert page.activate_plan_selected("PLAN-GAS-L1") == "PLAN-GAS-L1"
    assert offered == [("PLAN-GAS-L1", "U-110")]


def test_confirm_is_offered_only_for_an_active_prealarm(qtbot, loop, page, desk, clock):
    hold(desk, clock, "GD-110-01", 30.0)
    assert page.select("GD-110-01:high:alarm1")
    assert not page.buttons["confirm"].isEnabled()             # already formal
    desk.link_down("CO-904-01", clock.now())
    assert page.select("CO-904-01:comm")
    assert not page.buttons["confirm"].isEnabled()


def test_confirm_dialog_names_the_plans_and_who(qtbot, desk, demo_site, clock):
    hold(desk, clock, "GD-110-01", 12.0)
    alarm = desk.board.alarm("GD-110-01:high:prealarm")
    plans = list(desk.engine.plans_if_confirmed(alarm.id))
    dialog = ConfirmDialog(alarm, "wang.fang", plans,
                           {p: demo_site.plans[p].title.get("en") for p in plans}, lang="en")
    qtbot.addWidget(dialog)
    assert dialog.plans_label.text().startswith("It will offer: Flammable gas leak")
    assert dialog.who.text() == "Confirmed by: wang.fang"
    assert dialog.ok_button.isEnabled()                       # the note is optional
    dialog.note.setText("  found a leak  ")
    assert dialog.values() == "found a leak"


# ---------------------------------------------------------------------- out of service


@pytest.mark.qt_log_ignore(r"^This plugin does not support (raise\(\)|grabbing the keyboard)$")
def test_gauge_out_of_service_from_the_page_and_back(qtbot, loop, page, desk, clock):
    hold(desk, clock, "GD-110-01", 30.0)
    assert page.select("GD-110-01:high:alarm1")
    assert page.buttons["oos"].text() == "Gauge out of service… (F3)"
    task = page.take_out_of_service("GD-110-01", "detector head replaced")
    qtbot.waitUntil(task.done, timeout=5000)
    assert desk.gauge_out_of_service("GD-110-01")
    a = desk.board.alarm("GD-110-01:high:alarm1")
    assert a is not None and a.state == AlarmState.OUT_OF_SERVICE
    assert a.out_of_service is not None and a.out_of_service.by == "wang.fang"
    assert page.message.text() == "GD-110-01 is out of service"
    assert page.select("GD-110-01:high:alarm1")
    assert page.buttons["oos"].text() == "Gauge back in service (F3)"
    assert page.overview.tiles["GD-110-01"].state.value == "out_of_service"
    menu = page.gauge_menu("GD-110-01", page.mapToGlobal(page.rect().center()))
    assert [act.text() for act in menu.actions()] == ["Back in service"]
    menu.close()
    task = page.service_selected()                            # out already: no dialog, back
    assert task is not None
    qtbot.waitUntil(task.done, timeout=5000)
    assert not desk.gauge_out_of_service("GD-110-01")
    assert page.message.text() == "GD-110-01 is back in service"
    menu = page.gauge_menu("CO-904-01", page.mapToGlobal(page.rect().center()))
    assert [act.text() for act in menu.actions()] == ["Out of service…"]
    menu.close()


def test_out_of_service_dialog_requires_a_reason(qtbot):
    dialog = OutOfServiceDialog("GD-110-01", "gas detector 1", "wang.fang", lang="zh")
    qtbot.addWidget(dialog)
    assert not dialog.ok_button.isEnabled() and dialog.who.text() == "停用人：wang.fang"
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted
    dialog.reason.setText("标定")
    assert dialog.ok_button.isEnabled() and dialog.values() == "标定"


def test_a_link_alarm_shows_the_link_and_has_no_gauge_actions(qtbot, loop, page, desk, clock,
                                                             demo_site):
    link = demo_site.gauges["GD-110-01"].link
    desk.line_down(link, clock.now(), "no gauge on the line answers")
    alarm_id = f"{link}:link"
    assert page.banner.shown_ids()[0] == alarm_id
    assert [a for a in page.banner.shown_ids() if a.endswith(":comm")] == []
    row = page.model.row_of(alarm_id)
    name = demo_site.links[link].name.get("en")
    assert page.model.index(row, page.model.COL_GAUGE).data() == f"{link}  {name}"
    assert page.model.index(row, page.model.COL_ALARM).data() == "Link down"
    assert page.model.index(row, page.model.COL_VALUE).data() == "—"
    comm = page.model.row_of("GD-110-01:comm")
    assert page.model.index(comm, page.model.COL_STATE).data() == "Suppressed by design"
    assert page.model.index(comm, page.model.COL_NOTE).data() == \
        f"link {link} is down; this gauge's own alarm is held back"
    assert page.select(alarm_id) and not page.buttons["oos"].isEnabled()
    assert page.service_selected() is None
    assert page.message.text() == "A link alarm belongs to no single gauge"


# ---------------------------------------------------------------------- alarm load


@pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$")
def test_alarm_load_dialog_shows_the_top_ten_and_every_figure(qtbot, page, desk, clock):
    for i in range(12):  # twelve gauges alarm once, one of them chatters
        gid = ["GD-110-01", "GD-110-02", "GD-220-01", "GD-220-02", "GD-220-03", "GD-220-04",
               "GD-210-01", "GD-210-02", "GD-210-03", "GD-210-04", "GD-210-05",
               "H2S-801-01"][i]
        hold(desk, clock, gid, 12.0 if gid.startswith("GD") else 6.0)
    for _ in range(3):
        desk.reading("H2S-801-01", 1.0, clock.now())
        clock.advance(1)
        hold(desk, clock, "H2S-801-01", 6.0, seconds=2)
    clock.advance(1)
    dialog = page.show_alarm_load()
    qtbot.addWidget(dialog)
    assert dialog.hours == 1 and dialog.isVisible()
    load = dialog.load
    assert load is not None and load.total == 15
    assert dialog.figures["total"].text() == "15"
    assert dialog.figures["peak"].text() == "15"
    assert dialog.figures["floods"].text() == "1"                # more than 10 in 10 minutes
    assert dialog.figures["chattering"].text() == "1"
    assert dialog.figures["priorities"].text() == "High 0 (0 %)   Medium 0 (0 %)   Low 15 (100 %)"
    assert dialog.top.rowCount() == 10
    assert dialog.top.item(0, 1).text().startswith("H2S-801-01:high:prealarm")
    assert dialog.top.item(0, 3).text() == "4" and dialog.top.item(0, 4).text() == "26.7 %"
    assert dialog.floods.rowCount() == 1 and dialog.chatter.rowCount() == 1
    assert dialog.table_titles["chatter"].text() == "Chattering  (1)"
    assert dialog.top_title.text() == "Top 10 bad actors (87 % of all alarms)"
    dialog.period.setCurrentIndex(2)                          # seven days
    assert dialog.hours == 168 and dialog.load.start == clock.now() - timedelta(days=7)
    page.kpi.clicked.emit()                                   # a click on the strip
    assert page.load_dialog is not None and page.load_dialog is not dialog


# ---------------------------------------------------------------------- stale values


def test_the_value_of_a_silent_gauge_is_marked_stale_with_its_age(qtbot, page, desk, clock):
    hold(desk, clock, "H2S-801-01", 6.0)
    row = page.model.row_of("H2S-801-01:high:prealarm")
    value = page.model.index(row, page.model.COL_VALUE)
    assert value.data() == "6 ppm"
    desk.link_down("H2S-801-01", clock.now(), "no answer")
    clock.advance(75)
    page.model.refresh_values()
    assert value.data() == "6 ppm (stale, 75 s)"
    assert value.data(Qt.ItemDataRole.FontRole).italic()
    assert value.data(Qt.ItemDataRole.ForegroundRole).color().name() == "#7b8794"
    assert "stopped answering" in value.data(Qt.ItemDataRole.ToolTipRole)
    page.set_language("zh")
    assert value.data() == "6 ppm（通讯中断 75 秒）"
