"""Fixtures for the Qt UI tests: a small site built in code, a real event log, a scripted clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import PySide6.QtWebEngineWidgets  # noqa: F401  (QtWebEngine must load before the QApplication)
import pytest

from commandcenter.core.clock import ScriptedClock
from commandcenter.core.site import Person, Plan, Role, Shift, Site, SiteInfo

REPO = Path(__file__).resolve().parents[2]


def _plan(pid: str, level: str, kind: str, zh: str, en: str, **extra: Any) -> Plan:
    data: dict[str, Any] = {
        "schema_version": 1,
        "id": pid,
        "title": {"zh": zh, "en": en},
        "level": level,
        "kind": kind,
        "tier": "special" if level in ("L3", "L4") else "on_site",
        "scope": {"zh": f"{zh}的适用范围", "en": f"Scope of {en}"},
        "triggers": [{"description": {"zh": "可燃气体二级报警", "en": "Gas alarm level 2"},
                      "gauge_kinds": ["combustible_gas"], "min_alarm_level": "alarm2"}],
        "roles": [
            {"role": "site_commander", "duty": {"zh": "现场指挥", "en": "Leads on site"}},
            {"role": "fire_brigade", "duty": {"zh": "灭火冷却", "en": "Fights the fire"}},
        ],
        "notification": [
            {"order": 1, "roles": ["site_commander", "fire_brigade"], "need_acks": 2,
             "ack_within_min": 3, "escalate_to_roles": ["fire_brigade"],
             "message": {"zh": "立即到场", "en": "Come at once"}},
        ],
        "steps": [
            {"id": "alarm", "title": {"zh": "确认警情", "en": "Confirm the alarm"},
             "owner": "site_commander", "target_min": 2},
            {"id": "cool", "title": {"zh": "冷却相邻储罐", "en": "Cool neighbouring tanks"},
             "owner": "fire_brigade", "target_min": 10,
             "detail": {"zh": "两门水炮", "en": "Two monitors"}},
        ],
        "resources": [{"kind": "fire_monitor", "count": 2,
                       "note": {"zh": "上风向布置", "en": "Placed upwind"}}],
        "hazard_zone": {"isolation_m": 150, "protective_downwind_m": 800, "sector_deg": 60},
        "external_reporting": {"to": [{"zh": "应急管理局", "en": "Emergency management "
                                                              "bureau"}],
                               "within_min": 60,
                               "wording": {"zh": "厂区发生火情，已控制。",
                                           "en": "A fire on site is under control."}},
        "termination": [{"zh": "明火扑灭", "en": "Fire is out"}],
        "response_pack": {"contacts": [{"name": {"zh": "园区消防站", "en": "Park fire station"},
                                        "phone": "0571-8888 1119"}],
                          "materials": [{"zh": "泡沫液 5 t", "en": "Foam 5 t"}]},
    }
    data.update(extra)
    return Plan.model_validate(data)


def make_site(problems: int = 0) -> Site:
    """Return a small but complete site: 5 plans over L1–L4, 3 people, 2 roles."""
    from commandcenter.core.site import Problem

    site = Site(root="/nonexistent")
    site.info = SiteInfo.model_validate({
        "schema_version": 1, "id": "test-plant",
        "name": {"zh": "测试化工厂", "en": "Test Chemical Plant"},
        "timezone": "Asia/Shanghai",
    })
    for sid, zh, en in (("A", "甲班", "Crew A"), ("day", "常白班", "Day staff")):
        site.shifts[sid] = Shift(id=sid, name={"zh": zh, "en": en}, hours="08:00–16:00")
    site.roles["site_commander"] = Role(id="site_commander",
                                        name={"zh": "现场指挥", "en": "Site commander"})
    site.roles["fire_brigade"] = Role(id="fire_brigade",
                                      name={"zh": "消防队", "en": "Fire brigade"},
                                      group={"zh": "抢险组", "en": "Rescue group"})
    people = [
        ("p1", "张伟", "Zhang Wei", ["site_commander"], "day", "138 0571 0001"),
        ("p2", "李强", "Li Qiang", ["fire_brigade"], "A", "139 0571 0002"),
        ("p3", "王芳", "Wang Fang", ["fire_brigade", "site_commander"], "A", "137 0571 0003"),
    ]
    for pid, name, name_en, roles, shift, phone in people:
        site.people[pid] = Person(id=pid, name=name, name_en=name_en, roles=tuple(roles),
                                  shift=shift, phone=phone, channels=("sms",))
    plans = [
        _plan("PLAN-GAS-L1", "L1", "flammable_gas_leak", "可燃气体泄漏班组处置方案",
              "Gas leak - team procedure", escalates_to="PLAN-FIRE-L3"),
        _plan("PLAN-FIRE-L2", "L2", "fire", "火灾车间级处置方案", "Fire - workshop plan"),
        _plan("PLAN-TOXIC-L2", "L2", "toxic_gas_release", "硫化氢中毒车间处置方案",
              "H2S release - workshop plan"),
        _plan("PLAN-FIRE-L3", "L3", "fire", "火灾爆炸厂级专项预案",
              "Fire and explosion - plant plan",
              escalates_to="PLAN-MAJOR-L4"),
        _plan("PLAN-MAJOR-L4", "L4", "chemical_spill", "重大危化品事故集团级预案",
              "Major chemical accident - group plan"),
    ]
    for p in plans:
        site.plans[p.id] = p
    site.problems = [Problem("plans/broken.yaml", 12 + i, "steps[0].owner", f"problem {i}")
                     for i in range(problems)]
    return site


@pytest.fixture
def site() -> Site:
    return make_site(problems=2)


@pytest.fixture
def clock() -> ScriptedClock:
    # 2026-03-01 08:30:05 UTC = 16:30:05 in Asia/Shanghai
    return ScriptedClock(datetime(2026, 3, 1, 8, 30, 5, tzinfo=UTC))


@pytest.fixture
def event_log(tmp_path: Path, clock: ScriptedClock) -> Iterator[Any]:
    from commandcenter.storage.eventlog import EventLog

    log = EventLog("sqlite:///" + str(tmp_path / "events.db"), clock)
    yield log
    log.close()


@pytest.fixture(autouse=True)
def _language_reset() -> Iterator[None]:
    from commandcenter.ui import i18n

    before = i18n.current()
    yield
    i18n.set_language(before)
