"""Incidents: shifts, who is called, short codes, activation, checklist, escalation, closing."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from commandcenter.core.clock import ScriptedClock
from commandcenter.core.events import GENESIS_HASH, Event, RecordedEvent, record
from commandcenter.core.incidents import (
    CODE_ALPHABET,
    INCIDENT_ACTIVATED,
    Contact,
    IncidentBook,
    IncidentError,
    ShiftSchedule,
    StagePlan,
    StepState,
    activate,
    close,
    escalate,
    finish_step,
    is_code_shaped,
    location_words,
    log_entry,
    nearest_building,
    new_incident_code,
    plan_stages,
    point_problem,
    skip_step,
    start_step,
)
from commandcenter.core.site import Building, Person, Plan, Role, Shift, Site, SiteInfo, Text

SH = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 1, 1, 10, 0, tzinfo=SH)   # Thursday 10:00: crew A and day staff at work
NIGHT = datetime(2026, 1, 2, 2, 0, tzinfo=SH)  # Friday 02:00: crew C only

# id, name, roles, shift, channels
ROSTER: list[tuple[str, str, tuple[str, ...], str, tuple[str, ...]]] = [
    ("sl-a", "甲班长", ("shift_leader",), "A", ("sms",)),
    ("sl-c", "丙班长", ("shift_leader",), "C", ("wecom", "sms")),
    ("fo-a1", "甲外操一", ("field_operator",), "A", ("sms", "phone")),
    ("fo-a2", "甲外操二", ("field_operator",), "A", ("wecom", "sms")),
    ("fo-c1", "丙外操", ("field_operator",), "C", ("sms",)),
    ("cro-a", "甲内操", ("control_room_operator",), "A", ("sms",)),
    ("dir-1", "车间主任", ("workshop_director",), "day", ("sms", "email")),
    ("dir-2", "副主任", ("workshop_director",), "day", ("sms",)),
    ("fire-a", "甲班消防", ("fire_brigade",), "A", ("sms",)),
    ("fire-d", "常白班消防", ("fire_brigade", "field_operator"), "day", ("sms",)),
    ("safe-1", "安全经理", ("safety_manager",), "day", ("email", "sms")),
    ("cmd-1", "总指挥", ("plant_commander",), "day", ("phone", "sms")),
]


def _stage(order: int, roles: list[str], need: int | dict[str, int], within: float,
           escalate_to: list[str] | None = None, msg: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"order": order, "roles": roles, "need_acks": need,
                           "ack_within_min": within, "escalate_to_roles": escalate_to or []}
    if msg:
        out["message"] = {"zh": msg, "en": msg}
    return out


def _plan(pid: str, level: str, roles: list[str], stages: list[dict[str, Any]],
          steps: list[tuple[str, str, float]], termination: list[str],
          escalates_to: str | None = None) -> Plan:
    return Plan.model_validate({
        "schema_version": 1, "id": pid, "title": {"zh": f"{pid} 方案", "en": f"{pid} plan"},
        "level": level, "kind": "flammable_gas_leak", "tier": "on_site",
        "scope": {"zh": "装置区"}, "triggers": [{"description": {"zh": "报警"}}],
        "roles": [{"role": r, "duty": {"zh": r}} for r in roles],
        "notification": stages,
        "steps": [{"id": i, "title": {"zh": i, "en": i}, "owner": o, "target_min": t}
                  for i, o, t in steps],
        "hazard_zone": {"isolation_m": 50}, "termination": [{"zh": t} for t in termination],
        "escalates_to": escalates_to})


def make_site(people: Sequence[tuple[str, str, tuple[str, ...], str, tuple[str, ...]]] = ROSTER,
              ) -> Site:
    site = Site(root="test", info=SiteInfo(schema_version=1, id="t", name=Text(zh="测试厂"),
                                           timezone="Asia/Shanghai"))
    site.buildings["U-210"] = Building(
        id="U-210", kind="process_unit", name=Text(zh="加氢装置"), entrance_node="N1",
        outline=[[(121.0, 30.0), (121.001, 30.0), (121.001, 30.001), (121.0, 30.0)]])
    for sid in ("A", "B", "C", "D", "day"):
        site.shifts[sid] = Shift(id=sid, name=Text(zh=sid), hours="-")
    for pid, name, roles, shift, channels in people:
        for r in roles:
            site.roles.setdefault(r, Role(id=r, name=Text(zh=r)))
        site.people[pid] = Person(id=pid, name=name, roles=roles, shift=shift,
                                  phone=f"+86 138 0000 {len(site.people):04d}",
                                  email=f"{pid}@example.com", channels=channels)
    for plan in (
        _plan("P-L1", "L1", ["shift_leader", "field_operator", "control_room_operator"],
              [_stage(1, ["shift_leader", "field_operator"], 2, 2, ["workshop_director"],
                      "一级报警，请到现场"),
               _stage(2, ["workshop_director"], 1, 5, ["safety_manager"], "请车间主任掌握情况"),
               _stage(3, ["fire_brigade"], 1, 10)],
              [("confirm", "control_room_operator", 1), ("isolate", "shift_leader", 5),
               ("record", "shift_leader", 60)],
              ["泄漏已切断", "浓度正常 30 分钟"], escalates_to="P-L2"),
        _plan("P-L2", "L2", ["workshop_director", "shift_leader", "safety_manager",
                             "fire_brigade"],
              [_stage(1, ["workshop_director", "safety_manager"], 1, 3, ["plant_commander"],
                      "启动车间级响应")],
              [("esd", "control_room_operator", 5), ("cordon", "fire_brigade", 8)],
              ["车间主任宣布结束"]),
        _plan("P-L1B", "L1", ["shift_leader"],
              [_stage(1, ["shift_leader"], 1, 2, ["shift_leader", "workshop_director"])],
              [("confirm", "shift_leader", 1)], ["结束"]),
    ):
        site.plans[plan.id] = plan
    return site


class Log:
    """An in-memory event log feeding projections, timestamped by a scripted clock."""

    def __init__(self, clock: ScriptedClock, *projections: Any) -> None:
        self.clock = clock
        self.events: list[RecordedEvent] = []
        self.projections = list(projections)

    def append(self, events: list[Event]) -> list[RecordedEvent]:
        out = []
        for e in events:
            prev = self.events[-1].hash if self.events else GENESIS_HASH
            rec = record(e, seq=len(self.events) + 1, ts=self.clock.now(), prev_hash=prev)
            self.events.append(rec)
            out.append(rec)
            for p in self.projections:
                p.apply(rec)
        return out


@pytest.fixture
def clock() -> ScriptedClock:
    return ScriptedClock(DAY.astimezone(UTC))


@pytest.fixture
def world(clock: ScriptedClock) -> tuple[Site, IncidentBook, Log, ShiftSchedule]:
    site = make_site()
    book = IncidentBook(clock)
    return site, book, Log(clock, book), ShiftSchedule.for_site(site)


World = tuple[Site, IncidentBook, Log, ShiftSchedule]


def _activate(world: World, clock: ScriptedClock, plan: str = "P-L1", **kw: Any) -> str:
    site, book, log, schedule = world
    args: dict[str, Any] = {"location": "U-210", "commander": "dir-1", "by": "operator:zhang",
                            "now": clock.now(), "schedule": schedule, **kw}
    (rec,) = log.append(activate(site, book, plan, **args))
    assert rec.incident_id is not None
    return rec.incident_id


# --------------------------------------------------------------------------- shifts


def test_rotation_covers_every_slot_with_one_crew_and_each_crew_works_six_of_eight_days() -> None:
    s = ShiftSchedule()
    worked = {c: 0 for c in s.crews}
    start = datetime(2025, 12, 20, tzinfo=SH)
    for h in range(24 * 32):
        on = s.crews_on_duty(start + timedelta(hours=h))
        assert len(on) == 1
        worked[on[0]] += 1
    assert worked == {c: 8 * 24 for c in s.crews}  # 32 days × 24 h / 4 crews
    assert [s.crew_shift("A", date(2026, 1, 1) + timedelta(days=i)) for i in range(9)] == \
        list("DDEENN--D")
    assert [s.crew_shift("B", date(2026, 1, 1) + timedelta(days=i)) for i in range(4)] == \
        list("--DD")


@pytest.mark.parametrize(("local", "crew"), [
    (datetime(2026, 1, 1, 0, 0), "B"),    # night after Dec 31, B's second night
    (datetime(2026, 1, 1, 8, 0), "A"),
    (datetime(2026, 1, 1, 15, 59), "A"),
    (datetime(2026, 1, 1, 16, 0), "D"),
    (datetime(2026, 1, 1, 23, 59), "D"),
    (datetime(2026, 1, 2, 0, 0), "C"),    # across midnight: the night belongs to Jan 1
    (datetime(2026, 1, 2, 7, 59), "C"),
    (datetime(2026, 1, 3, 8, 0), "B"),
    (datetime(2026, 1, 3, 16, 0), "A"),
    (datetime(2026, 1, 4, 0, 0), "D"),
    (datetime(2026, 1, 5, 3, 0), "D"),
    (datetime(2026, 1, 6, 3, 0), "A"),    # A's first night shift: 24 h after its last evening
])
def test_crew_on_duty_in_site_time(local: datetime, crew: str) -> None:
    s = ShiftSchedule()
    at = local.replace(tzinfo=SH).astimezone(UTC)
    assert s.crews_on_duty(at) == (crew,)
    assert s.is_on_shift(crew, at)
    assert not any(s.is_on_shift(c, at) for c in s.crews if c != crew)


def test_rest_between_shifts_is_at_least_a_day() -> None:
    s = ShiftSchedule()
    start = datetime(2026, 1, 1, tzinfo=SH)
    hours = [h for h in range(24 * 16) if s.is_on_shift("A", start + timedelta(hours=h))]
    blocks: list[tuple[int, int]] = []
    for h in hours:
        if blocks and blocks[-1][1] == h:
            blocks[-1] = (blocks[-1][0], h + 1)
        else:
            blocks.append((h, h + 1))
    assert all(b - a == 8 for a, b in blocks)
    gaps = sorted({b[0] - a[1] for a, b in itertools.pairwise(blocks)})
    assert gaps == [16, 24, 48]


def test_anchor_and_crews_are_configurable() -> None:
    s = ShiftSchedule(anchor=date(2026, 1, 3), crews=("甲", "乙", "丙", "丁"))
    assert s.crews_on_duty(datetime(2026, 1, 3, 9, tzinfo=SH)) == ("甲",)
    assert s.crews_on_duty(datetime(2026, 1, 1, 9, tzinfo=SH)) == ("丁",)


@pytest.mark.parametrize(("local", "working"), [
    (datetime(2026, 1, 2, 7, 59), False),
    (datetime(2026, 1, 2, 8, 0), True),
    (datetime(2026, 1, 2, 16, 59), True),
    (datetime(2026, 1, 2, 17, 0), False),
    (datetime(2026, 1, 3, 10, 0), False),   # Saturday
    (datetime(2026, 1, 4, 10, 0), False),   # Sunday
    (datetime(2026, 1, 5, 10, 0), True),    # Monday
])
def test_day_staff_work_weekdays_eight_to_five(local: datetime, working: bool) -> None:
    assert ShiftSchedule().is_on_shift("day", local.replace(tzinfo=SH)) is working


def test_site_time_zone_decides_the_hour() -> None:
    at = datetime(2026, 1, 2, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai, 00:30 in UTC
    assert ShiftSchedule().is_on_shift("day", at)
    assert not ShiftSchedule(timezone="UTC").is_on_shift("day", at)
    site = make_site()
    assert ShiftSchedule.for_site(site).timezone == "Asia/Shanghai"
    site.info = None
    assert ShiftSchedule.for_site(site, day_shift="DAY").timezone == "Asia/Shanghai"
    assert ShiftSchedule.for_site(make_site(), timezone="Europe/Berlin").timezone == \
        "Europe/Berlin"


def test_unknown_shift_is_never_on_shift() -> None:
    assert not ShiftSchedule().is_on_shift("E", DAY)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"timezone": ""}, "unknown time zone"),
    ({"crews": ()}, "at least one crew"),
    ({"pattern": "DDXX"}, "may only use"),
    ({"pattern": ""}, "may only use"),
    ({"pattern": "DDEEN"}, "cannot be shared evenly"),
    ({"day_hours": (time(17), time(8))}, "start before"),
])
def test_bad_schedule_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(IncidentError, match=message):
        ShiftSchedule(**kwargs)


# --------------------------------------------------------------------------- who is called


def test_day_activation_calls_people_on_shift_stage_by_stage() -> None:
    site = make_site()
    stages = plan_stages(site, site.plans["P-L1"], ShiftSchedule(), DAY)
    assert [s.order for s in stages] == [1, 2, 3]
    s1, s2, s3 = stages
    assert [c.person for c in s1.called_first] == ["sl-a", "fo-a1", "fo-a2", "fire-d"]
    # off-shift holders wait as the next contacts, role by role
    assert [c.person for c in s1.contacts[s1.first:]] == ["sl-c", "fo-c1"]
    assert all(c.on_shift for c in s1.called_first) and s1.notes == ()
    assert [c.person for c in s2.called_first] == ["dir-1", "dir-2"]
    # fire-d is already called in stage 1 (as a field operator): called once per plan
    assert [c.person for c in s3.contacts] == ["fire-a"]
    assert s1.message == {"zh": "一级报警，请到现场", "en": "一级报警，请到现场"}
    assert s3.message == {"zh": "P-L1 方案", "en": "P-L1 plan"}  # no message: the plan title
    assert s1.called_first[0] == Contact(person="sl-a", name="甲班长", role="shift_leader",
                                         on_shift=True, channels=("sms",),
                                         phone="+86 138 0000 0000", email="sl-a@example.com")


def test_night_activation_falls_back_to_off_shift_holders_and_says_so() -> None:
    site = make_site()
    s1, s2, s3 = plan_stages(site, site.plans["P-L1"], ShiftSchedule(), NIGHT)
    assert [c.person for c in s1.called_first] == ["sl-c", "fo-c1"]
    assert [c.person for c in s2.called_first] == ["dir-1"]
    assert [c.person for c in s2.contacts] == ["dir-1", "dir-2"]
    assert not s2.called_first[0].on_shift
    assert s2.notes == ("nobody holding role 'workshop_director' is on shift; calling 车间主任 "
                        "(dir-1) off shift",)
    assert [c.person for c in s3.called_first] == ["fire-a"]


def test_stage_calls_at_least_need_acks_people_and_reports_missing_roles() -> None:
    site = make_site()
    plan = _plan("P-X", "L1", ["shift_leader"],
                 [_stage(1, ["workshop_director", "nobody_role"], 2, 5),
                  _stage(2, ["workshop_director"], 1, 5)],
                 [("a", "shift_leader", 1)], ["结束"])
    s1, s2 = plan_stages(site, plan, ShiftSchedule(), NIGHT)
    assert [c.person for c in s1.called_first] == ["dir-1", "dir-2"]
    assert s1.first == 2
    assert "nobody on the roster holds role 'nobody_role'" in s1.notes
    # everyone holding the role was called in stage 1 already: nothing to add, nothing to say
    assert (s2.contacts, s2.first, s2.notes) == ((), 0, ())


def test_stage_plan_round_trips_through_json() -> None:
    site = make_site()
    for s in plan_stages(site, site.plans["P-L1"], ShiftSchedule(), NIGHT):
        assert StagePlan.from_payload(s.to_payload()) == s
    # stages recorded before acknowledgements could be counted per role read as "any role"
    old = plan_stages(site, site.plans["P-L1"], ShiftSchedule(), DAY)[0].to_payload()
    del old["need_by_role"]
    assert StagePlan.from_payload(old).need_by_role == {}


def test_a_stage_can_need_acknowledgements_per_role() -> None:
    site = make_site()
    plan = _plan("P-R", "L1", ["shift_leader"],
                 [_stage(1, ["shift_leader", "field_operator"],
                         {"shift_leader": 2, "field_operator": 1}, 2)],
                 [("a", "shift_leader", 1)], ["结束"])
    assert plan.notification[0].need_by_role == {"shift_leader": 2, "field_operator": 1}
    assert plan.notification[0].total_acks == 3
    (s1,) = plan_stages(site, plan, ShiftSchedule(), NIGHT)
    # at night crew C has one shift leader on shift; two must answer, so the off-shift one is
    # called at once too
    assert [c.person for c in s1.called_first] == ["sl-c", "sl-a", "fo-c1"]
    assert (s1.need_acks, dict(s1.need_by_role)) == (3, {"shift_leader": 2, "field_operator": 1})
    assert StagePlan.from_payload(s1.to_payload()) == s1


@pytest.mark.parametrize(("need", "message"), [
    (0, "0 is neither a number of acknowledgements (1 or more) nor role: number pairs"),
    ("two", "'two' is neither a number of acknowledgements"),
    (True, "True is neither a number of acknowledgements"),
    ({}, "name at least one role, e.g. {shift_leader: 1}"),
    ({"shift_leader": 0}, "shift_leader: 0 is not a number of acknowledgements (1 or more)"),
    ({"shift_leader": "1"}, "shift_leader: '1' is not a number of acknowledgements"),
    ({"fire_brigade": 1}, "need_acks: role 'fire_brigade' is not one of this stage's roles "
                          "(shift_leader, field_operator)"),
])
def test_bad_need_acks_is_refused_with_a_clear_message(need: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        _plan("P-R", "L1", ["shift_leader"],
              [_stage(1, ["shift_leader", "field_operator"], need, 2)],
              [("a", "shift_leader", 1)], ["结束"])


# --------------------------------------------------------------------------- places


def test_places_in_words_and_points_outside_the_site() -> None:
    site = make_site()
    assert location_words(site, "U-210") == {"zh": "加氢装置(U-210)", "en": "加氢装置 (U-210)",
                                             "short": "U-210"}
    assert location_words(site, "X-1")["zh"] == "X-1"
    inside = (30.0002, 121.0006)
    b, d = nearest_building(site, inside) or (None, None)
    assert b is not None and b.id == "U-210" and d == 0
    assert location_words(site, inside)["zh"] == "加氢装置(U-210)"
    near = (30.002, 121.0005)  # about 120 m from its sloping edge
    b, d = nearest_building(site, near) or (None, None)
    assert b is not None and 100 < (d or 0) < 140
    assert location_words(site, near) == {"zh": "加氢装置(U-210)附近",
                                          "en": "near 加氢装置 (U-210)",
                                          "short": "U-210附近"}
    far = (30.01, 121.0005)
    assert location_words(site, far)["zh"] == "30.01000,121.00050"
    assert point_problem(site, near) is None
    assert point_problem(site, (30.1, 121.0)) == "30.10000, 121.00000 lies 11.0 km outside the site"
    assert point_problem(site, (95.0, 121.0)) == "95.0, 121.0 is not a valid latitude, longitude"
    assert nearest_building(Site(root="empty"), near) is None


# --------------------------------------------------------------------------- short codes


def test_codes_are_short_unambiguous_and_deterministic() -> None:
    code = new_incident_code(set(), "seed")
    assert code == new_incident_code(set(), "seed")
    assert len(code) == 3 and is_code_shaped(code)
    assert not set("0O1IYN") & set(CODE_ALPHABET)
    other = new_incident_code({code}, "seed")
    assert other != code and is_code_shaped(other)


@pytest.mark.parametrize(("text", "shaped"), [
    ("A7K", True), ("7AK9", True), ("AKK", False), ("777", False), ("A7", False),
    ("A7K9Z", False), ("A0K", False), ("a7k", False),
])
def test_code_shape(text: str, shaped: bool) -> None:
    assert is_code_shaped(text) is shaped


def test_codes_grow_to_four_characters_when_three_are_used_up() -> None:
    taken = {"".join(t) for t in itertools.product(CODE_ALPHABET, repeat=3)}
    code = new_incident_code(taken, "busy")
    assert len(code) == 4 and is_code_shaped(code)


def test_no_free_code_is_an_error() -> None:
    class Everything:
        def __contains__(self, item: object) -> bool:
            return True

    with pytest.raises(IncidentError, match="no free incident code"):
        new_incident_code(Everything(), "x", attempts=5)


# --------------------------------------------------------------------------- activation


def test_activation_records_plan_location_commander_and_people_to_notify(
        world: World, clock: ScriptedClock) -> None:
    site, book, log, schedule = world
    seen: list[str] = []
    book.activated.connect(lambda inc: seen.append(inc.id))
    (ev,) = activate(site, book, "P-L1", location="U-210", commander="dir-1",
                     by="operator:zhang", now=clock.now(), schedule=schedule, drill_id="D-1")
    assert ev.type == INCIDENT_ACTIVATED and ev.source == "operator:zhang"
    assert ev.drill_id == "D-1"
    code = ev.payload["code"]
    assert ev.incident_id == f"INC-20260101-1000-{code}"
    assert ev.payload["notify"] == ["sl-a", "fo-a1", "fo-a2", "fire-d", "dir-1", "dir-2",
                                    "fire-a"]
    assert [s["order"] for s in ev.payload["stages"]] == [1, 2, 3]
    log.append([ev])
    inc = book.get(ev.incident_id)
    assert seen == [inc.id]
    assert (inc.code, inc.plan, inc.level.value, inc.location) == (code, "P-L1", "L1", "U-210")
    assert (inc.commander, inc.activated_by, inc.drill_id) == ("dir-1", "operator:zhang", "D-1")
    assert inc.started_at == clock.now()
    assert inc.roles == ["shift_leader", "field_operator", "control_room_operator"]
    assert [(s.id, s.owner, s.target_at - inc.started_at) for s in inc.steps] == [
        ("confirm", "control_room_operator", timedelta(minutes=1)),
        ("isolate", "shift_leader", timedelta(minutes=5)),
        ("record", "shift_leader", timedelta(minutes=60))]
    assert all(s.state == StepState.OPEN for s in inc.steps)
    assert book.by_code(code.lower()) is inc
    assert book.open_incidents() == [inc]


def test_several_incidents_are_open_at_once_with_distinct_codes(
        world: World, clock: ScriptedClock) -> None:
    book = world[1]
    first = _activate(world, clock)
    second = _activate(world, clock, location=[30.0005, 121.0005])
    assert first != second
    assert book.get(second).location == (30.0005, 121.0005)
    assert len({i.code for i in book.open_incidents()}) == 2


@pytest.mark.parametrize(("plan", "kw", "message"), [
    ("P-NOPE", {}, "no plan 'P-NOPE'"),
    ("P-L1", {"location": "U-999"}, "no building 'U-999'"),
    ("P-L1", {"location": [30.0]}, "building id or"),
    ("P-L1", {"location": [95.0, 121.0]}, "not a valid"),
    ("P-L1", {"location": [float("nan"), 121.0]}, "not a valid"),
    ("P-L1", {"commander": "ghost"}, "not on the roster"),
])
def test_activation_refuses_bad_input(world: World, clock: ScriptedClock, plan: str,
                                      kw: dict[str, Any], message: str) -> None:
    with pytest.raises(IncidentError, match=message):
        _activate(world, clock, plan, **kw)


# --------------------------------------------------------------------------- checklist


def test_checklist_steps_move_through_their_states_and_turn_overdue(
        world: World, clock: ScriptedClock) -> None:
    _, book, log, _ = world
    iid = _activate(world, clock)
    changed: list[tuple[str, str]] = []
    book.step_changed.connect(lambda inc, s: changed.append((s.id, s.state.value)))
    assert book.overdue() == []
    clock.advance(61)
    assert [s.id for _, s in book.overdue()] == ["confirm"]
    log.append(start_step(book, iid, "P-L1", "confirm", by="cro-a"))
    step = book.get(iid).step("P-L1", "confirm")
    assert step.state == StepState.IN_PROGRESS and step.is_overdue(clock.now())
    log.append(finish_step(book, iid, "P-L1", "confirm", by="cro-a", note="GDS 确认"))
    assert step.state == StepState.DONE and step.late and step.note == "GDS 确认"
    assert step.finished_at == clock.now() and not step.is_overdue(clock.now())
    log.append(finish_step(book, iid, "P-L1", "isolate", by="sl-a"))
    isolate = book.get(iid).step("P-L1", "isolate")
    assert not isolate.late and isolate.started_at is None
    clock.advance(3600)
    assert [s.id for _, s in book.overdue()] == ["record"]
    log.append(skip_step(book, iid, "P-L1", "record", by="sl-a", note=" 演练不填 "))
    record_step = book.get(iid).step("P-L1", "record")
    assert record_step.state == StepState.NOT_APPLICABLE and record_step.note == "演练不填"
    assert not record_step.late
    assert book.overdue() == []
    assert changed == [("confirm", "in_progress"), ("confirm", "done"), ("isolate", "done"),
                       ("record", "not_applicable")]


@pytest.mark.parametrize(("command", "message"), [
    (lambda b, i: start_step(b, i, "P-L1", "confirm", by="x"), "is done"),
    (lambda b, i: finish_step(b, i, "P-L1", "confirm", by="x"), "is done"),
    (lambda b, i: skip_step(b, i, "P-L1", "confirm", by="x", note="n"), "is done"),
    (lambda b, i: skip_step(b, i, "P-L1", "isolate", by="x", note="  "), "say why"),
    (lambda b, i: start_step(b, i, "P-L1", "nope", by="x"), "no step 'nope'"),
    (lambda b, i: start_step(b, i, "P-L2", "esd", by="x"), "no step 'esd' of plan 'P-L2'"),
    (lambda b, i: log_entry(b, i, text="   ", author="x"), "needs text"),
    (lambda b, i: start_step(b, "INC-NOPE", "P-L1", "confirm", by="x"), "no incident"),
])
def test_checklist_and_log_commands_refuse_what_makes_no_sense(
        world: World, clock: ScriptedClock,
        command: Callable[[IncidentBook, str], list[Event]], message: str) -> None:
    _, book, log, _ = world
    iid = _activate(world, clock)
    log.append(finish_step(book, iid, "P-L1", "confirm", by="cro-a"))
    with pytest.raises(IncidentError, match=message):
        command(book, iid)


def test_position_log_keeps_entries_in_order(world: World, clock: ScriptedClock) -> None:
    _, book, log, _ = world
    iid = _activate(world, clock)
    logged: list[str] = []
    book.logged.connect(lambda inc, e: logged.append(e.text))
    log.append(log_entry(book, iid, text=" 外操到场，确认法兰泄漏 ", author="operator:zhang"))
    clock.advance(30)
    log.append(log_entry(book, iid, text="已关闭上游阀", author="operator:zhang"))
    entries = book.get(iid).log
    assert [(e.text, e.author, e.kind) for e in entries] == [
        ("外操到场，确认法兰泄漏", "operator:zhang", "note"),
        ("已关闭上游阀", "operator:zhang", "note")]
    assert entries[1].at - entries[0].at == timedelta(seconds=30)
    assert logged == ["外操到场，确认法兰泄漏", "已关闭上游阀"]


# --------------------------------------------------------------------------- escalation


def test_escalation_adds_the_new_plans_roles_steps_and_stages(
        world: World, clock: ScriptedClock) -> None:
    site, book, log, schedule = world
    iid = _activate(world, clock)
    seen: list[str] = []
    book.escalated.connect(lambda inc, rec: seen.append(rec.to_plan))
    clock.advance(600)
    (ev,) = escalate(site, book, iid, by="dir-1", now=clock.now(), schedule=schedule,
                     reason="二级报警")
    assert ev.payload["from_plan"] == "P-L1" and ev.payload["to_plan"] == "P-L2"
    assert ev.payload["notify"] == ["dir-1", "dir-2", "safe-1"]
    log.append([ev])
    inc = book.get(iid)
    assert (inc.plan, inc.level.value, inc.plans) == ("P-L2", "L2", ["P-L1", "P-L2"])
    assert inc.plan_title == {"zh": "P-L2 方案", "en": "P-L2 plan"}
    assert inc.roles == ["shift_leader", "field_operator", "control_room_operator",
                         "workshop_director", "safety_manager", "fire_brigade"]  # no repeats
    assert [s.key for s in inc.steps][-2:] == [("P-L2", "esd"), ("P-L2", "cordon")]
    assert inc.step("P-L2", "esd").target_at == clock.now() + timedelta(minutes=5)
    assert inc.termination == [{"zh": "车间主任宣布结束"}]
    (rec,) = inc.escalations
    assert (rec.from_level.value, rec.to_level.value, rec.by, rec.reason, rec.at) == \
        ("L1", "L2", "dir-1", "二级报警", clock.now())
    assert seen == ["P-L2"]
    # the L1 steps stay on the checklist and can still be worked
    log.append(finish_step(book, iid, "P-L1", "confirm", by="cro-a"))
    assert inc.step("P-L1", "confirm").state == StepState.DONE


def test_escalation_refusals(world: World, clock: ScriptedClock) -> None:
    site, book, log, schedule = world
    iid = _activate(world, clock)
    kw: dict[str, Any] = {"by": "dir-1", "now": clock.now(), "schedule": schedule}
    with pytest.raises(IncidentError, match="already runs plan P-L1"):
        escalate(site, book, iid, to_plan="P-L1", **kw)
    with pytest.raises(IncidentError, match="no plan 'P-NOPE'"):
        escalate(site, book, iid, to_plan="P-NOPE", **kw)
    log.append(escalate(site, book, iid, **kw))
    with pytest.raises(IncidentError, match="names no plan to escalate to"):
        escalate(site, book, iid, **kw)
    with pytest.raises(IncidentError, match="P-L1B is L1, below the incident's L2"):
        escalate(site, book, iid, to_plan="P-L1B", **kw)
    del site.plans["P-L2"]  # the plan file broke after activation
    with pytest.raises(IncidentError, match="names no plan"):
        escalate(site, book, iid, **kw)


def test_an_incident_at_the_top_level_says_so(world: World, clock: ScriptedClock) -> None:
    site, book, _log, schedule = world
    site.plans["P-L4"] = _plan("P-L4", "L4", ["plant_commander"],
                               [_stage(1, ["plant_commander"], 1, 3)],
                               [("report", "plant_commander", 5)], ["结束"])
    iid = _activate(world, clock, "P-L4", commander="cmd-1")
    with pytest.raises(IncidentError, match=f"incident {iid} is at L4, already the highest "
                                            "level; there is no plan to escalate to"):
        escalate(site, book, iid, by="cmd-1", now=clock.now(), schedule=schedule)


# --------------------------------------------------------------------------- closing


def test_closing_needs_every_termination_condition(world: World, clock: ScriptedClock) -> None:
    _, book, log, _ = world
    iid = _activate(world, clock)
    closed: list[str] = []
    book.closed.connect(lambda inc: closed.append(inc.id))
    with pytest.raises(IncidentError, match="not confirmed: 浓度正常 30 分钟"):
        close(book, iid, by="dir-1", confirmed=[0])
    with pytest.raises(IncidentError, match="no termination condition 2"):
        close(book, iid, by="dir-1", confirmed=[0, 1, 2])
    clock.advance(3 * 3600)
    log.append(close(book, iid, by="dir-1", confirmed=[1, 0], note="演练结束"))
    inc = book.get(iid)
    assert inc.closed and inc.closed_by == "dir-1" and inc.closed_at == clock.now()
    assert inc.confirmed == [{"zh": "泄漏已切断"}, {"zh": "浓度正常 30 分钟"}]
    assert closed == [iid]
    assert book.open_incidents() == [] and book.by_code(inc.code) is None
    assert inc.overdue_steps(clock.now()) == [] and book.overdue() == []
    for command in (
        lambda: close(book, iid, by="x", confirmed=[0, 1]),
        lambda: log_entry(book, iid, text="late", author="x"),
        lambda: finish_step(book, iid, "P-L1", "record", by="x"),
    ):
        with pytest.raises(IncidentError, match="is closed"):
            command()


# --------------------------------------------------------------------------- projection


def test_book_ignores_other_events_repeats_and_unknown_incidents(
        world: World, clock: ScriptedClock) -> None:
    _, book, log, _ = world
    changed: list[str] = []
    book.changed.connect(lambda inc: changed.append(inc.id))
    iid = _activate(world, clock)
    log.append([Event(type="alarm.raised", source="gauge:GD-1", payload={"level": "alarm1"}),
                Event(type="alarm.raised", source="gauge:GD-1", incident_id=iid),
                Event(type="incident.log", source="x", incident_id="INC-OTHER",
                      payload={"text": "t", "author": "x"}),
                Event(type="checklist.step_done", source="x", incident_id=iid,
                      payload={"plan": "P-L1", "step": "gone", "by": "x"})])
    assert changed == [iid]
    assert book.last_seq == 5
    before = book.get(iid).log[:]
    book.apply(log.events[0])  # a repeat of an event already applied is ignored
    assert book.get(iid).log == before
    with pytest.raises(IncidentError, match="no incident 'INC-NOPE'"):
        book.get("INC-NOPE")


def test_replay_into_a_fresh_book_gives_the_same_state(
        world: World, clock: ScriptedClock) -> None:
    site, book, log, schedule = world
    a = _activate(world, clock)
    clock.advance(45)
    b = _activate(world, clock, plan="P-L1B", location=[30.0002, 121.0002])
    log.append(start_step(book, a, "P-L1", "confirm", by="cro-a"))
    clock.advance(90)
    log.append(finish_step(book, a, "P-L1", "confirm", by="cro-a"))
    log.append(log_entry(book, a, text="浓度 32% LEL", author="operator:zhang"))
    log.append(escalate(site, book, a, by="dir-1", now=clock.now(), schedule=schedule))
    log.append(skip_step(book, a, "P-L2", "cordon", by="dir-1", note="无需警戒"))
    log.append(close(book, b, by="sl-a", confirmed=[0]))
    clock.advance(600)
    fresh = IncidentBook(clock)
    fresh.replay(log.events)
    assert fresh.incidents == book.incidents
    assert fresh.last_seq == book.last_seq
    assert [(i.id, s.key) for i, s in fresh.overdue()] == \
        [(i.id, s.key) for i, s in book.overdue()]
    assert [s.id for _, s in fresh.overdue()] == ["isolate", "esd"]
    # replay up to a point in time shows the state then
    upto = IncidentBook(clock)
    upto.replay(e for e in log.events if e.seq <= 3)
    assert upto.get(a).step("P-L1", "confirm").state == StepState.IN_PROGRESS
    assert upto.get(a).plan == "P-L1"


# --------------------------------------------------------------------------- site files

L2_FILE = "plans/gas-l2.yaml"


def test_site_loader_reads_per_role_acknowledgements(site: Any) -> None:
    site.edit(L2_FILE, "need_acks: 2", "need_acks: {commander: 1, fire_brigade: 1}")
    s = site.load()
    assert s.problems == []
    assert s.plans["P-GAS-L2"].notification[0].need_by_role == {"commander": 1,
                                                                 "fire_brigade": 1}


@pytest.mark.parametrize(("need", "message"), [
    ("{commander: 1, fire_brigade: 2}",
     "notification[0].need_acks.fire_brigade: 2 acknowledgements needed from role "
     "'fire_brigade', but only 1 on the roster hold it"),
    ("{chief: 1}",
     "notification[0].need_acks: role 'chief' is not one of this stage's roles "
     "(commander, fire_brigade)"),
    ("{commander: 0}",
     "notification[0].need_acks.commander: 0 is not a number of acknowledgements (1 or more)"),
    ("[commander]",
     "notification[0].need_acks: ['commander'] is neither a number of acknowledgements (1 or "
     "more) nor role: number pairs such as {shift_leader: 1, field_operator: 1}"),
])
def test_site_loader_names_a_bad_need_acks(site: Any, need: str, message: str) -> None:
    site.edit(L2_FILE, "need_acks: 2", f"need_acks: {need}")
    s = site.load()
    assert str(s.problems[0]) == f"{L2_FILE}:{site.line(L2_FILE, 'need_acks')}: {message}"
    assert "P-GAS-L2" not in s.plans
    assert "P-GAS-L1" in s.plans  # (without its escalation to the plan that did not load)


def test_site_loader_refuses_counting_a_role_called_in_an_earlier_stage(site: Any) -> None:
    site.edit(L2_FILE, "    need_acks: 2\n    ack_within_min: 5\n",
              "    need_acks: 2\n    ack_within_min: 5\n  - order: 2\n    roles: [commander]\n"
              "    need_acks: {commander: 1}\n    ack_within_min: 10\n")
    s = site.load()
    assert str(s.problems[0]) == (
        f"{L2_FILE}:{site.line(L2_FILE, 'need_acks: {commander: 1}')}: notification[1]."
        "need_acks.commander: role 'commander' is called in stage 1 already (people are called "
        "once per plan); count its acknowledgements there")
