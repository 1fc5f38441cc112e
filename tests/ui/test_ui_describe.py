"""Feed lines name people, gauges, plans and steps, with readings rounded."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from commandcenter.core.events import GENESIS_HASH, RecordedEvent
from commandcenter.core.siteio import load_site
from commandcenter.ui.describe import EventDescriber, format_number

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def describe() -> EventDescriber:
    return EventDescriber(load_site(REPO))


def ev(type_: str, source: str, payload: dict[str, Any]) -> RecordedEvent:
    return RecordedEvent(seq=1, id="0" * 32, ts=datetime(2026, 3, 1, tzinfo=UTC), type=type_,
                         source=source, payload=payload, incident_id=None, drill_id=None,
                         prev_hash=GENESIS_HASH, hash="1" * 64)


@pytest.mark.parametrize(("value", "text"), [
    (5.449695267411848, "5.45"), (73.1, "73.1"), (0.68, "0.68"), (1066.4, "1066"),
    (20.8, "20.8"), (0.0004567, "0.000457"), (0.00001234, "0.000012"), (3, "3"),
    (float("nan"), "nan"), ("x", "x"),
])
def test_readings_are_rounded_as_operators_read_them(value: Any, text: str) -> None:
    assert format_number(value) == text


def test_alarm_raised_names_gauge_level_and_rounded_value(describe: EventDescriber) -> None:
    e = ev("alarm.raised", "gauge:H2S-801-01", {
        "alarm": "H2S-801-01:high:prealarm", "gauge": "H2S-801-01", "kind": "process",
        "level": "prealarm", "direction": "high", "value": 5.449695267411848, "unit": "ppm"})
    assert describe(e, "zh") == "H2S-801-01 · 预警·高限 · 5.45 ppm"
    assert describe(e, "en") == "H2S-801-01 · pre-alarm·high · 5.45 ppm"


def test_alarm_comment_and_comm_fault(describe: EventDescriber) -> None:
    comment = ev("alarm.comment", "operator:刘俊辉", {
        "alarm": "GD-110-01:high:alarm2", "gauge": "GD-110-01", "level": "alarm2",
        "direction": "high", "who": "刘俊辉", "text": "已派巡检人员", "value": None})
    assert describe(comment, "zh") == "GD-110-01 · 二级报警·高限 · 刘俊辉: 已派巡检人员"
    comm = ev("alarm.comm_fault", "gauge:CO-904-01", {
        "alarm": "CO-904-01:comm", "gauge": "CO-904-01", "kind": "comm", "level": None,
        "detail": "no answer (timeout)"})
    assert describe(comm, "zh") == "CO-904-01 · 通讯中断 · no answer (timeout)"


def test_incident_and_checklist_use_titles_and_names(describe: EventDescriber) -> None:
    site = load_site(REPO)
    plan = site.plans["PLAN-TOXIC-L2"]
    step = plan.steps[0]
    person = next(iter(site.people.values()))
    activated = ev("incident.activated", f"person:{person.id}", {
        "plan": plan.id, "level": "L2", "location": "U-120", "code": "GX5",
        "plan_title": {"zh": plan.title.zh, "en": plan.title.en}})
    place = site.buildings["U-120"].name
    assert describe(activated, "zh") == f"L2 · {plan.title.zh} · {place.zh} (U-120) · 代码 GX5"
    at_point = ev("incident.activated", f"person:{person.id}", {
        "plan": plan.id, "level": "L2", "location": [30.815064, 121.455], "code": "GX6"})
    assert describe(at_point, "en").startswith(f"L2 · {plan.title.en} · 30.81506, 121.45500")
    done = ev("checklist.step_done", f"person:{person.id}",
              {"plan": plan.id, "step": step.id, "by": f"person:{person.id}", "note": None})
    assert describe(done, "zh") == f"{step.title.zh} · {person.name}"
    assert describe(done, "en") == f"{step.title.en} · {person.name_en or person.name}"


def test_notifications_name_the_person_and_channel(describe: EventDescriber) -> None:
    site = load_site(REPO)
    p = next(iter(site.people.values()))
    queued = ev("notification.queued", "notifier", {
        "person": p.id, "name": p.name, "channel": "sms", "stage": 1, "text": "【GX5】…"})
    assert describe(queued, "zh") == f"短信 → {p.name} · 第 1 批"
    pa = ev("notification.queued", "notifier",
            {"person": "PA", "name": "PA", "channel": "pa", "stage": 1, "text": "…"})
    assert describe(pa, "zh") == "广播 · 第 1 批"
    acked = ev("notification.acknowledged", f"person:{p.id}",
               {"person": p.id, "channel": "sms", "text": "1 GX5", "recorded_by": None})
    assert describe(acked, "zh") == f"{p.name} · 短信 · “1 GX5”"
    failed = ev("notification.failed", "notify:sms",
                {"message_id": "INC-20261206-1036-GX5-M013", "reason": "+CMS ERROR: 331"})
    assert describe(failed, "en") == "SMS · M013 · +CMS ERROR: 331"


def test_unknown_events_and_odd_payloads_fall_back_to_a_summary(describe: EventDescriber) -> None:
    assert describe(ev("drill.inject", "drill", {"text": "释放烟雾", "n": 2.123456}), "zh") == \
        "text: 释放烟雾 · n: 2.123"
    # A payload of another shape never breaks a feed row.
    odd = ev("alarm.raised", "gauge:X", {"alarm": 5, "level": ["?"], "value": "high"})
    assert isinstance(describe(odd, "zh"), str)
