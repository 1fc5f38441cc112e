from __future__ import annotations

from pathlib import Path

import pytest

from commandcenter.ui.plan_view import PlanView


def test_shows_role_holders_with_phones_and_shifts(qtbot, site):
    view = PlanView(site, "zh")
    qtbot.addWidget(view)
    view.set_plan(site.plans["PLAN-FIRE-L3"])
    text = view.text()
    # the roster's people for each role, with phone numbers and shifts
    for name, phone in (("张伟", "138 0571 0001"), ("李强", "139 0571 0002"),
                        ("王芳", "137 0571 0003")):
        assert name in text
        assert phone in text
    assert "常白班" in text and "甲班" in text
    # 王芳 holds both roles: listed under each
    assert text.count("王芳") == 2
    assert view.badge.text() == "L3  厂级"
    assert view.title.text() == "火灾爆炸厂级专项预案"
    assert "专项应急预案" in view.meta.text() and "PLAN-FIRE-L3" in view.meta.text()


def test_shows_every_part_of_the_plan(qtbot, site):
    view = PlanView(site, "en")
    qtbot.addWidget(view)
    view.set_plan(site.plans["PLAN-GAS-L1"])
    text = view.text()
    for expected in (
        "Scope", "Scope of Gas leak - team procedure",
        "Triggers", "Gas alarm level 2", "combustible gas", "alarm level 2",
        "Roles and people", "Site commander", "Leads on site", "Zhang Wei", "Crew A",
        "Notification order", "Come at once", "3 min", "Fire brigade",
        "Checklist", "Confirm the alarm", "T+2 min", "Cool neighbouring tanks", "T+10 min",
        "Two monitors",
        "Resources", "Fire monitor", "Placed upwind",
        "Hazard zone", "150 m", "800 m", "60°",
        "External reporting", "Emergency management bureau", "60 min",
        "A fire on site is under control.",
        "Termination", "Fire is out",
        "Escalation", "Escalates to:", "Fire and explosion - plant plan",
        "Response pack", "Park fire station", "0571-8888 1119", "Foam 5 t",
    ):
        assert expected in text, expected
    # checklist steps come in target-time order
    assert text.index("Confirm the alarm") < text.index("Cool neighbouring tanks")


def test_plan_without_optional_parts_says_so(qtbot, site):
    plan = site.plans["PLAN-MAJOR-L4"].model_copy(update={
        "resources": (), "external_reporting": None, "escalates_to": None,
    })
    view = PlanView(site, "en")
    qtbot.addWidget(view)
    view.set_plan(plan)
    text = view.text()
    assert "This plan lists no resources." in text
    assert "No external reporting for this plan." in text
    assert "No higher plan is set for this plan." in text


def test_role_nobody_holds_is_flagged(qtbot, site):
    for pid in [p.id for p in site.people_with_role("fire_brigade")]:
        del site.people[pid]
    view = PlanView(site, "zh")
    qtbot.addWidget(view)
    view.set_plan(site.plans["PLAN-FIRE-L2"])
    assert "名册中无人担任" in view.text()


def test_language_switch_and_empty_state(qtbot, site):
    view = PlanView(site, "zh")
    qtbot.addWidget(view)
    assert "未选择预案" in view.text()
    assert view.badge.isHidden()
    view.set_plan(site.plans["PLAN-FIRE-L2"])
    assert "应急职责与人员" in view.text()
    view.set_language("en")
    assert "Roles and people" in view.text()
    assert "Li Qiang" in view.text()
    assert view.title.text() == "Fire - workshop plan"
    view.set_plan(None)
    assert "No plan selected" in view.text()


def test_every_demo_plan_renders_in_both_languages(qtbot):
    from commandcenter.core.siteio import load_site

    site = load_site(Path(__file__).resolve().parents[2])
    if not site.plans or not site.people:
        pytest.skip("the demo site is not in this checkout")
    view = PlanView(site, "zh")
    qtbot.addWidget(view)
    view.resize(900, 700)
    for plan in site.plans.values():
        for lang in ("zh", "en"):
            view.set_language(lang)
            view.set_plan(plan)
            text = view.text()
            assert plan.title.get(lang) in text
            for role in plan.roles:
                for person in site.people_with_role(role.role):
                    assert person.phone.replace(" ", "\xa0") in text or person.phone in text
