"""A formal alarm's suggested plan opens the activation dialog with plan and place filled in."""

from __future__ import annotations

from pathlib import Path

from commandcenter.core.clock import ScriptedClock
from commandcenter.core.siteio import load_site
from commandcenter.ui.alarms.list import AlarmListPage
from commandcenter.ui.extensions import DemoComponents, UiContext, build_console
from commandcenter.ui.incidents.dialogs import BUILDING_ROLE
from commandcenter.ui.incidents.view import IncidentsPage

REPO = Path(__file__).resolve().parents[2]


def test_alarm_suggested_plan_opens_activation_with_plan_and_building(qtbot):
    site = load_site(REPO)
    clock = ScriptedClock()
    base = UiContext(site=site, event_log=None, clock=clock, lang="en",  # type: ignore[arg-type]
                     db_label="test")
    demo = DemoComponents(base)
    try:
        ctx = UiContext(site=site, event_log=demo.alarms.log, clock=clock, lang="en",
                        db_label="test", runtime=demo)
        window = build_console(ctx)
        qtbot.addWidget(window)
        alarms = window.show_page("alarms")
        assert isinstance(alarms, AlarmListPage)
        formal = next(a for a in demo.alarms.board.standing() if a.spec.plans)
        assert alarms.select(formal.id)
        assert alarms.buttons["plan"].isEnabled()
        plan_id = sorted(formal.spec.plans)[0]
        assert alarms.activate_plan_selected(plan_id) == plan_id

        incidents = window.pages.currentWidget()
        assert isinstance(incidents, IncidentsPage)
        dialog = incidents.last_dialog
        assert dialog is not None
        assert dialog.plan_combo.currentData() == plan_id
        building = site.gauges[formal.gauge].building
        assert dialog.locations.currentItem().data(BUILDING_ROLE) == building
        dialog.reject()
        window.close()
    finally:
        demo.close()


def test_a_prealarm_suggests_no_plan(qtbot):
    site = load_site(REPO)
    clock = ScriptedClock()
    base = UiContext(site=site, event_log=None, clock=clock, lang="en",  # type: ignore[arg-type]
                     db_label="test")
    demo = DemoComponents(base)
    try:
        page = AlarmListPage(demo.alarms, demo.alarms.log, clock, lang="en", audible=False)
        qtbot.addWidget(page)
        pre = next(a for a in demo.alarms.board.standing() if not a.plans)
        assert page.select(pre.id)
        assert not page.buttons["plan"].isEnabled()
        assert page.activate_plan_selected() is None
        assert "suggests no plan" in page.message.text()
        page.close()
    finally:
        demo.close()
