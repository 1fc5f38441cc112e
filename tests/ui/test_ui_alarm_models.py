"""The alarm table model and its filter follow a real board fed by the real engine."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QFont

from commandcenter.core.alarms import AlarmEngine, AlarmState, Priority
from commandcenter.core.siteio import load_site
from commandcenter.ui.alarms.models import (
    ALARM_ID_ROLE,
    PRIORITY_COLOURS,
    AlarmFilterProxy,
    AlarmTableModel,
    alarm_label,
    limit_text,
    value_text,
)
from commandcenter.ui.alarms.scripted import EngineDesk

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_site():
    return load_site(REPO)


@pytest.fixture
def desk(demo_site, clock, event_log):
    return EngineDesk(demo_site, AlarmEngine.for_site(demo_site, clock), event_log)


def hold(desk, clock, gauge, value, seconds=2):
    """Feed ``value`` now and again after the on-delay (the engine raises on the second)."""
    desk.reading(gauge, value, clock.now())
    clock.advance(seconds)
    return desk.reading(gauge, value, clock.now())


def test_rows_follow_the_board_raise_ack_clear(qtbot, desk, demo_site, clock):
    model = AlarmTableModel(desk.board, demo_site, "en")
    assert model.rowCount() == 0
    hold(desk, clock, "GD-110-01", 30.0)  # pre-alarm and alarm 1
    assert sorted(model.alarm_ids()) == ["GD-110-01:high:alarm1", "GD-110-01:high:prealarm"]
    row = model.row_of("GD-110-01:high:alarm1")
    col = AlarmTableModel
    assert model.index(row, col.COL_STATE).data() == "Unacknowledged"
    assert model.index(row, col.COL_PRIORITY).data() == "Medium"
    assert model.index(row, col.COL_GAUGE).data().startswith("GD-110-01  Chlor-alkali")
    assert model.index(row, col.COL_ALARM).data() == "alarm level 1 · high"
    assert model.index(row, col.COL_VALUE).data() == "30.0 %LEL"
    assert model.index(row, col.COL_LIMIT).data() == "≥ 25.0 %LEL"
    font = model.index(row, col.COL_GAUGE).data(Qt.ItemDataRole.FontRole)
    assert isinstance(font, QFont) and font.bold()
    fill = model.index(row, col.COL_PRIORITY).data(Qt.ItemDataRole.BackgroundRole)
    assert isinstance(fill, QBrush)
    assert fill.color().name().upper() == PRIORITY_COLOURS[Priority.MEDIUM][0]

    desk._record(desk.engine.acknowledge("GD-110-01:high:alarm1", "zhang.wei"))
    assert model.index(row, col.COL_STATE).data() == "Acknowledged"
    assert model.index(row, col.COL_GAUGE).data(Qt.ItemDataRole.FontRole) is None
    assert model.index(row, col.COL_NOTE).data() == "acknowledged by zhang.wei"

    clock.advance(1)
    desk.reading("GD-110-01", 3.0, clock.now())  # back to normal
    # acknowledged alarm 1 clears; the unacknowledged pre-alarm stays (returned, unack)
    assert model.alarm_ids() == ["GD-110-01:high:prealarm"]
    assert model.index(0, col.COL_STATE).data() == "Returned, unacknowledged"
    desk._record(desk.engine.acknowledge("GD-110-01:high:prealarm", "zhang.wei"))
    assert model.rowCount() == 0


def test_a_change_repaints_only_its_own_row(qtbot, desk, demo_site, clock):
    model = AlarmTableModel(desk.board, demo_site, "en")
    for gauge in ("GD-110-01", "GD-110-02", "H2S-410-01"):
        hold(desk, clock, gauge, 60.0)
    assert model.rowCount() >= 6
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row())))
    row = model.row_of("GD-110-02:high:alarm2")
    desk._record(desk.engine.acknowledge("GD-110-02:high:alarm2", "zhang.wei"))
    assert changed == [(row, row)]
    # the rows still match what the board says is standing
    assert sorted(model.alarm_ids()) == sorted(a.id for a in desk.board.standing())
    before = model.rowCount()
    clock.advance(1)
    desk.reading("GD-110-02", 3.0, clock.now())  # back to normal: the acknowledged row goes
    assert model.rowCount() == before - 1
    assert sorted(model.alarm_ids()) == sorted(a.id for a in desk.board.standing())


def test_flash_lights_only_unacknowledged_rows(qtbot, desk, demo_site, clock):
    model = AlarmTableModel(desk.board, demo_site, "zh")
    hold(desk, clock, "H2S-410-01", 12.0)
    hold(desk, clock, "GD-220-01", 12.0)
    desk._record(desk.engine.acknowledge_all("op", "GD-220-01"))
    flags = {model.index(r, 0).data(ALARM_ID_ROLE): model.index(r, 0).data()
             for r in range(model.rowCount())}
    assert flags["H2S-410-01:high:alarm1"] == "●"
    assert flags["GD-220-01:high:prealarm"] == ""
    with qtbot.waitSignal(model.dataChanged):
        model.set_flash(False)
    assert all(model.index(r, 0).data() == "" for r in range(model.rowCount()))


def test_sorting_and_filters(qtbot, desk, demo_site, clock):
    model = AlarmTableModel(desk.board, demo_site, "zh")
    proxy = AlarmFilterProxy()
    proxy.setSourceModel(model)
    hold(desk, clock, "GD-110-01", 60.0)     # pre-alarm, alarm 1, alarm 2 (high)
    clock.advance(5)
    hold(desk, clock, "H2S-801-01", 6.0)     # pre-alarm (low)
    clock.advance(5)
    desk.link_down("CO-904-01", clock.now())  # comm (medium)
    assert proxy.rowCount() == 5

    proxy.sort(AlarmTableModel.COL_PRIORITY, Qt.SortOrder.DescendingOrder)
    assert proxy.alarm_ids()[0] == "GD-110-01:high:alarm2"
    proxy.sort(AlarmTableModel.COL_TIME, Qt.SortOrder.DescendingOrder)
    assert proxy.alarm_ids()[0] == "CO-904-01:comm"

    proxy.set_priorities([Priority.LOW])
    assert sorted(proxy.alarm_ids()) == ["GD-110-01:high:prealarm", "H2S-801-01:high:prealarm"]
    proxy.set_priorities(None)
    proxy.set_text("污水")  # building / gauge name in Chinese
    assert proxy.alarm_ids() == ["H2S-801-01:high:prealarm"]
    proxy.set_text("co-904 communication")  # id and the English state words
    assert proxy.alarm_ids() == ["CO-904-01:comm"]
    proxy.set_text("")
    desk._record(desk.engine.acknowledge_all("op", "GD-110-01"))
    proxy.set_unacknowledged_only(True)
    assert sorted(proxy.alarm_ids()) == ["CO-904-01:comm", "H2S-801-01:high:prealarm"]
    proxy.set_unacknowledged_only(False)
    proxy.set_states([AlarmState.ACK_ACTIVE])
    assert len(proxy.alarm_ids()) == 3


def test_shelved_rows_show_who_why_and_until(qtbot, desk, demo_site, clock):
    model = AlarmTableModel(desk.board, demo_site, "en")
    hold(desk, clock, "CL2-120-01", 0.7)
    desk._record(desk.engine.shelve("CL2-120-01:high:prealarm", "li.qiang", "calibration", 30))
    row = model.row_of("CL2-120-01:high:prealarm")
    assert model.index(row, AlarmTableModel.COL_STATE).data() == "Shelved"
    until = (clock.now() + timedelta(minutes=30)).astimezone(model._tz).strftime("%H:%M")
    assert model.index(row, AlarmTableModel.COL_NOTE).data() == \
        f"shelved by li.qiang until {until}: calibration"
    wall = AlarmTableModel(desk.board, demo_site, "en", scope="annunciated")
    assert wall.rowCount() == 0  # hidden alarms are not announced


def test_annunciated_scope_hides_superseded_levels(qtbot, desk, demo_site, clock):
    wall = AlarmTableModel(desk.board, demo_site, "zh", scope="annunciated", compact=True)
    hold(desk, clock, "GD-110-01", 30.0)
    assert wall.alarm_ids() == ["GD-110-01:high:alarm1"]
    clock.advance(1)
    hold(desk, clock, "GD-110-01", 60.0)
    assert wall.alarm_ids() == ["GD-110-01:high:alarm2"]
    assert wall.index(0, AlarmTableModel.COL_ALARM).data() == "二级报警 ▲"


def test_display_helpers(desk, clock):
    hold(desk, clock, "O2-410-01", 18.5)
    a = desk.board.alarm("O2-410-01:low:alarm1")
    assert a is not None
    assert alarm_label(a, "zh") == "一级报警 · 低限"
    assert limit_text(a) == "≤ 19.5 %VOL"
    assert value_text(None, "ppm") == "—"
    assert value_text(0.123, "ppm") == "0.12 ppm"
    assert value_text(1250.0, "m3/h") == "1250 m3/h"


def test_a_link_alarm_never_asks_for_a_gauge_status(qtbot, desk, demo_site, clock):
    from commandcenter.ui.alarms.banner import AlarmBanner
    from commandcenter.ui.alarms.overview import TileState, gauge_state

    asked: list[str] = []

    def status(gid: str):
        asked.append(gid)
        if gid not in demo_site.gauges:
            raise KeyError(gid)                # what the alarm service does for a non-gauge
        return desk.gauge_status(gid)

    link = demo_site.gauges["GD-110-01"].link
    desk.line_down(link, clock.now())
    model = AlarmTableModel(desk.board, demo_site, "en", status=status, clock=clock)
    banner = AlarmBanner(desk.board, demo_site, acknowledge=None, status=status, lang="en")
    qtbot.addWidget(banner)
    row = model.row_of(f"{link}:link")
    assert model.index(row, model.COL_VALUE).data() == "—"
    assert model.index(row, model.COL_VALUE).data(Qt.ItemDataRole.ToolTipRole)
    assert banner.shown_ids()[0] == f"{link}:link"
    assert link not in asked
    # a pre-alarm the post confirmed colours its gauge like a first-level alarm
    hold(desk, clock, "H2S-801-01", 6.0)
    desk._record(desk.engine.confirm("H2S-801-01:high:prealarm", "op"))
    assert alarm_label(desk.board.alarm("H2S-801-01:high:prealarm"), "zh", compact=True) == \
        "预警 ▲ ✔"
    assert gauge_state(desk.board.of_gauge("H2S-801-01"),
                       desk.gauge_status("H2S-801-01")) == TileState.ALARM1


def test_a_shut_down_unit_shows_its_low_alarms_suppressed_by_design(qtbot, desk, demo_site,
                                                                    clock):
    rule = demo_site.gauges["PT-210-01"].suppressed_when
    assert rule is not None and (rule.gauge, rule.below) == ("FT-210-01", 50.0)
    desk.reading("FT-210-01", 3.0, clock.now())                  # the feed has stopped
    model = AlarmTableModel(desk.board, demo_site, "zh", status=desk.gauge_status, clock=clock)
    row = model.row_of("PT-210-01:low:alarm1")
    assert model.index(row, model.COL_STATE).data() == "设计抑制"
    assert model.index(row, model.COL_NOTE).data() == \
        "装置停车（FT-210-01 判定）设计抑制：FT-210-01 below 50 m3/h"
    hold(desk, clock, "PT-210-01", 1.0, seconds=6)              # low pressure: expected now
    assert [a.id for a in desk.board.annunciated()] == []
