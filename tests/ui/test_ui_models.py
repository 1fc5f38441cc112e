from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QLocale, Qt
from PySide6.QtGui import QColor

from commandcenter.core.events import Event, record
from commandcenter.core.site import PlanLevel
from commandcenter.ui import i18n
from commandcenter.ui.models import (
    EVENT_ROLE,
    LEVEL_ROLE,
    PLAN_ID_ROLE,
    EventFeedModel,
    PlanFilterProxy,
    PlanLibraryModel,
    payload_summary,
    site_timezone,
)
from commandcenter.ui.theme import (
    DESK,
    LEVEL_COLOURS,
    WALL,
    contrast_ratio,
    level_colour,
    wall_theme,
)


def _visible_plan_ids(proxy):
    out = []
    for r in range(proxy.rowCount()):
        level = proxy.index(r, 0)
        out += [proxy.index(c, 0, level).data(PLAN_ID_ROLE) for c in range(proxy.rowCount(level))]
    return out


def test_library_groups_plans_by_level_with_counts(qtmodeltester, site):
    model = PlanLibraryModel(site, "zh")
    qtmodeltester.check(model)
    assert model.rowCount() == 4
    assert [model.index(r, 0).data(LEVEL_ROLE) for r in range(4)] == ["L1", "L2", "L3", "L4"]
    assert model.index(1, 0).data() == "L2 车间级（2）"
    l2 = model.index(1, 0)
    assert [model.index(r, 0, l2).data(PLAN_ID_ROLE) for r in range(2)] == \
        ["PLAN-FIRE-L2", "PLAN-TOXIC-L2"]
    assert model.index(0, PlanLibraryModel.COL_KIND, l2).data() == "火灾"
    assert model.index(0, PlanLibraryModel.COL_ID, l2).data() == "PLAN-FIRE-L2"
    plan_index = model.plan_index("PLAN-MAJOR-L4")
    assert model.plan_at(plan_index).id == "PLAN-MAJOR-L4"
    assert model.plan_at(model.index(3, 0)) is None
    assert model.level_at(plan_index) is PlanLevel.L4
    assert not model.plan_index("NO-SUCH-PLAN").isValid()
    # level rows are headings, plan rows are selectable
    assert not model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsSelectable
    assert model.flags(plan_index) & Qt.ItemFlag.ItemIsSelectable


def test_level_rows_carry_the_level_colours(site):
    model = PlanLibraryModel(site, "en")
    for r, level in enumerate(PlanLevel):
        for col in range(model.columnCount()):
            index = model.index(r, col)
            assert index.data(Qt.ItemDataRole.BackgroundRole).color().name().upper() == \
                LEVEL_COLOURS[level].fill
            assert index.data(Qt.ItemDataRole.ForegroundRole).color().name().upper() == \
                LEVEL_COLOURS[level].text
    # plan rows keep the view's own colours
    assert model.plan_index("PLAN-FIRE-L3").data(Qt.ItemDataRole.BackgroundRole) is None


def test_level_colours_are_the_warning_colours_with_readable_text():
    fills = [QColor(level_colour(lvl).fill) for lvl in PlanLevel]
    # blue, yellow, orange, red by hue
    hues = [c.hslHue() for c in fills]
    assert 200 <= hues[0] <= 230  # blue
    assert 45 <= hues[1] <= 60  # yellow
    assert 20 <= hues[2] <= 40  # orange
    assert hues[3] <= 10 or hues[3] >= 350  # red
    for lvl in PlanLevel:
        c = level_colour(lvl)
        assert contrast_ratio(c.fill, c.text) >= 4.5, lvl


def test_themes_are_readable():
    for theme in (DESK, WALL):
        assert contrast_ratio(theme.text, theme.panel) >= 7
        assert contrast_ratio(theme.muted, theme.panel) >= 4.5
    assert contrast_ratio(WALL.text, WALL.window) >= 15
    assert WALL.body_px >= 28 and WALL.heading_px > WALL.body_px
    assert wall_theme(1080) == WALL
    assert wall_theme(2160).body_px == 56
    assert wall_theme(400).body_px == round(28 * 0.6)


def test_library_follows_the_language(qtbot, site):
    model = PlanLibraryModel(site, "zh")
    index = model.plan_index("PLAN-FIRE-L3")
    assert index.data() == "火灾爆炸厂级专项预案"
    with qtbot.waitSignal(model.dataChanged):
        model.set_language("en")
    assert index.data() == "Fire and explosion - plant plan"
    assert model.index(2, 0).data() == "L3 Plant (1)"
    assert model.headerData(0, Qt.Orientation.Horizontal) == "Plan"


@pytest.mark.parametrize(("query", "expected"), [
    ("", ["PLAN-GAS-L1", "PLAN-FIRE-L2", "PLAN-TOXIC-L2", "PLAN-FIRE-L3", "PLAN-MAJOR-L4"]),
    ("fire", ["PLAN-FIRE-L2", "PLAN-FIRE-L3"]),
    ("火灾", ["PLAN-FIRE-L2", "PLAN-FIRE-L3"]),
    ("WORKSHOP", ["PLAN-FIRE-L2", "PLAN-TOXIC-L2"]),
    ("plan-toxic", ["PLAN-TOXIC-L2"]),
    ("L4", ["PLAN-MAJOR-L4"]),
    ("集团级", ["PLAN-MAJOR-L4"]),
    ("toxic_gas_release", ["PLAN-TOXIC-L2"]),
    ("有毒气体", ["PLAN-TOXIC-L2"]),
    ("fire l3", ["PLAN-FIRE-L3"]),
    ("nothing-like-this", []),
])
def test_filter_matches_titles_ids_kinds_and_levels(qtmodeltester, site, query, expected):
    model = PlanLibraryModel(site, "zh")
    proxy = PlanFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_query(query)
    qtmodeltester.check(proxy)
    assert _visible_plan_ids(proxy) == expected
    levels = [proxy.index(r, 0).data(LEVEL_ROLE) for r in range(proxy.rowCount())]
    if query:
        # only levels that hold a match stay
        assert levels == sorted({pid.rsplit("-", 1)[1] for pid in expected})
    else:
        assert levels == ["L1", "L2", "L3", "L4"]


def test_empty_levels_stay_visible_without_a_query(site):
    del site.plans["PLAN-MAJOR-L4"]
    model = PlanLibraryModel(site, "en")
    assert model.rowCount() == 4
    assert model.index(3, 0).data() == "L4 Group (0)"


def _events(n, start=datetime(2026, 3, 1, 8, 0, tzinfo=UTC)):
    out, prev = [], "0" * 64
    for i in range(1, n + 1):
        ev = record(Event("alarm.raised", f"gauge:GD-{i}", {"value": i, "unit": "%LEL"}),
                    seq=i, ts=start + timedelta(seconds=i), prev_hash=prev)
        prev = ev.hash
        out.append(ev)
    return out


def test_feed_shows_newest_first_in_site_time(qtmodeltester, site):
    model = EventFeedModel(site_timezone(site), max_rows=10, lang="en")
    events = _events(3)
    model.set_events(events)
    qtmodeltester.check(model)
    assert [model.index(r, 0).data(EVENT_ROLE).seq for r in range(3)] == [3, 2, 1]
    # 08:00:03 UTC is 16:00:03 in Asia/Shanghai
    assert model.index(0, EventFeedModel.COL_TIME).data() == "03-01 16:00:03"
    assert model.index(0, EventFeedModel.COL_TYPE).data() == "Alarm raised"
    assert model.index(0, EventFeedModel.COL_SOURCE).data() == "gauge:GD-3"
    assert model.index(0, EventFeedModel.COL_DETAILS).data() == "value: 3 %LEL"
    assert "#3" in model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert model.headerData(0, Qt.Orientation.Horizontal) == "Time"
    model.set_language("zh")
    assert model.headerData(0, Qt.Orientation.Horizontal) == "时间"


def test_feed_is_bounded_and_ignores_repeats(qtbot, site):
    model = EventFeedModel(ZoneInfo("Asia/Shanghai"), max_rows=5)
    events = _events(12)
    model.set_events(events[:8])
    assert [e.seq for e in model.events()] == [8, 7, 6, 5, 4]
    for ev in events[8:]:
        model.add(ev)
    assert [e.seq for e in model.events()] == [12, 11, 10, 9, 8]
    assert model.rowCount() == 5
    model.add(events[10])  # seen already (a tail read overlapping the live feed)
    model.add(events[0])  # older than everything shown
    assert [e.seq for e in model.events()] == [12, 11, 10, 9, 8]
    assert model.newest_seq() == 12


def test_feed_slots_in_a_missed_event(site):
    model = EventFeedModel(ZoneInfo("UTC"), max_rows=5)
    events = _events(4)
    model.set_events([events[0], events[1], events[3]])
    model.add(events[2])
    assert [e.seq for e in model.events()] == [4, 3, 2, 1]


def test_payload_summary_is_short():
    assert payload_summary({"a": 1, "b": {"c": [1, 2]}}) == "a: 1 · b: {c: [1, 2]}"
    long = payload_summary({"text": "x" * 500}, limit=40)
    assert len(long) == 40 and long.endswith("…")


def test_site_timezone_falls_back(site):
    assert str(site_timezone(site)) == "Asia/Shanghai"
    site.info = site.info.model_copy(update={"timezone": "Europe/Berlin"})
    assert str(site_timezone(site)) == "Europe/Berlin"
    site.info = site.info.model_copy(update={"timezone": "Not/AZone"})
    assert str(site_timezone(site)) == "Asia/Shanghai"
    site.info = None
    assert str(site_timezone(site)) == "Asia/Shanghai"


def test_catalogue_has_both_languages_for_every_key():
    for key in i18n.catalogue_keys():
        zh, en = i18n.tr(key, "zh"), i18n.tr(key, "en")
        assert zh.strip() and en.strip(), key
    assert i18n.name_of("kind", "fire", "zh") == "火灾"
    assert i18n.name_of("kind", "not-a-kind", "en") == "not-a-kind"
    with pytest.raises(KeyError):
        i18n.tr("no.such.key")


def test_language_switch_emits_once(qtbot):
    lang = i18n.language()
    i18n.set_language("zh")
    with qtbot.waitSignal(lang.changed) as blocker:
        i18n.set_language("en")
    assert blocker.args == ["en"]
    assert i18n.current() == "en"
    with qtbot.assertNotEmitted(lang.changed):
        i18n.set_language("en")
    with pytest.raises(ValueError, match="unknown UI language"):
        i18n.set_language("fr")


@pytest.mark.parametrize(("locale", "expected"), [
    ("zh_CN", "zh"), ("zh_TW", "zh"), ("en_US", "en"), ("de_DE", "en"), ("C", "en"),
])
def test_system_language_follows_the_locale(monkeypatch, locale, expected):
    # The OS locale cannot be changed inside a running process; QLocale(name) stands in for it.
    monkeypatch.setattr(i18n.QLocale, "system", staticmethod(lambda: QLocale(locale)))
    assert i18n.system_language() == expected


def test_feed_names_known_event_types_in_the_ui_language(qtbot):
    from datetime import UTC, datetime

    from commandcenter.core.events import GENESIS_HASH, Event, record
    from commandcenter.ui.models import EventFeedModel

    model = EventFeedModel(UTC, max_rows=10, lang="zh")
    at = datetime(2026, 3, 1, tzinfo=UTC)
    model.add(record(Event("system.started", "console:x"), seq=1, ts=at, prev_hash=GENESIS_HASH))
    model.add(record(Event("custom.thing", "x"), seq=2, ts=at, prev_hash=GENESIS_HASH))
    type_of = {model.data(model.index(r, model.COL_SOURCE)):
               model.data(model.index(r, model.COL_TYPE)) for r in range(2)}
    assert type_of == {"console:x": "系统启动", "x": "custom.thing"}
    with qtbot.waitSignal(model.dataChanged):
        model.set_language("en")
    assert model.data(model.index(1, model.COL_TYPE)) == "System started"


def test_summary_puts_telling_fields_first_and_drops_bookkeeping():
    from commandcenter.ui.models import payload_summary

    payload = {"at": "2026-03-01T06:00:00Z", "action": "respond", "alarm": "GD-1:high:alarm2",
               "gauge": "GD-1", "kind": "process", "value": 73.1, "unit": "%LEL",
               "state_after": "unack_active", "priority": "high"}
    assert payload_summary(payload) == ("alarm: GD-1:high:alarm2 · value: 73.1 %LEL · "
                                        "state_after: unack_active · gauge: GD-1")
    assert payload_summary({"text": "x" * 200}, limit=20) == "text: " + "x" * 13 + "…"
