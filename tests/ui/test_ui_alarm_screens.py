"""The alarm page, banner, dialogs, horn and printing, over a real engine, board and log.

Operator actions are coroutines of the alarm desk; they run on one session-wide qasync loop that
is never stopped (STACK.md), marked as the running loop only while a test runs.
"""

from __future__ import annotations

import asyncio
import subprocess
import wave
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
from commandcenter.ui.alarms.list import AlarmListPage, CommentDialog, ShelveDialog
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
