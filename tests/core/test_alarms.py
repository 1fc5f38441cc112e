"""State-transition tests of the alarm engine and board on a scripted clock."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from commandcenter.core import alarms as am
from commandcenter.core.alarms import (
    ActionRefusedError,
    Alarm,
    AlarmBoard,
    AlarmEngine,
    AlarmKind,
    AlarmSettings,
    AlarmSpec,
    AlarmState,
    Priority,
    UnknownAlarmError,
    apply_alarm_event,
    event_time,
    matching_plans,
)
from commandcenter.core.clock import ScriptedClock
from commandcenter.core.events import (
    GENESIS_HASH,
    Event,
    RecordedEvent,
    canonical_payload,
    record,
)
from commandcenter.core.site import (
    AlarmLevel,
    Gauge,
    GaugeKind,
    Plan,
    Site,
    Text,
    Threshold,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
GD = "GD-101"
A1 = "GD-101:high:alarm1"
A2 = "GD-101:high:alarm2"
PRE = "GD-101:high:prealarm"
LATCH = "GD-102:high:alarm1"


def gauge(gid: str = GD, **kw: Any) -> Gauge:
    fields: dict[str, Any] = {
        "id": gid, "kind": GaugeKind.COMBUSTIBLE_GAS, "name": Text(zh="可燃气体探测器"),
        "unit": "%LEL", "link": "RS485-1", "address": {"slave": 1, "register": 0},
        "location": (30.0, 120.0), "range": (0.0, 100.0),
        "thresholds": (
            Threshold(level=AlarmLevel.PREALARM, direction="high", value=10.0),
            Threshold(level=AlarmLevel.ALARM1, direction="high", value=25.0),
            Threshold(level=AlarmLevel.ALARM2, direction="high", value=50.0),
        ),
    }
    fields.update(kw)
    return Gauge(**fields)


def o2_gauge() -> Gauge:
    return Gauge(
        id="OX-201", kind=GaugeKind.O2, name=Text(zh="氧含量"), unit="%VOL", link="RS485-1",
        address={"slave": 2}, location=(30.0, 120.0), range=(0.0, 30.0), deadband=0.5,
        thresholds=(Threshold(level=AlarmLevel.ALARM1, direction="low", value=19.5),
                    Threshold(level=AlarmLevel.ALARM2, direction="low", value=18.0),
                    Threshold(level=AlarmLevel.ALARM1, direction="high", value=23.5)))


def plan(pid: str, level: str, kind: str, min_level: str | None) -> Plan:
    return Plan.model_validate({
        "schema_version": 1, "id": pid, "title": {"zh": pid}, "level": level,
        "kind": "flammable_gas_leak", "tier": "on_site", "scope": {"zh": "装置区"},
        "triggers": [{"description": {"zh": "报警"}, "gauge_kinds": [kind],
                      "min_alarm_level": min_level}],
        "roles": [], "notification": [{"order": 1, "roles": ["shift_leader"],
                                       "ack_within_min": 5}],
        "steps": [{"id": "s1", "title": {"zh": "切断"}, "owner": "shift_leader",
                   "target_min": 5}],
        "hazard_zone": {"isolation_m": 50}, "termination": [{"zh": "泄漏已控制"}],
    })


PLANS = (
    plan("PLAN-GAS-L2", "L2", "combustible_gas", "alarm2"),
    plan("PLAN-GAS-L1", "L1", "combustible_gas", "alarm1"),
    plan("PLAN-FIRE-L2", "L2", "temperature", "alarm1"),
    plan("PLAN-MANUAL", "L3", "combustible_gas", None),
)


class Rig:
    """An engine, a board folding what it emits through the real record(), and a clock."""

    def __init__(self, gauges: Iterable[Gauge] = (), *, settings: AlarmSettings | None = None,
                 drill_id: str | None = None) -> None:
        self.clock = ScriptedClock(T0)
        self.engine = AlarmEngine(list(gauges) or [gauge(), gauge("GD-102", latching=True)],
                                  self.clock, plans=PLANS, settings=settings,
                                  drill_id=drill_id)
        self.board = AlarmBoard(drill_id=drill_id)
        self.log: list[RecordedEvent] = []
        self.signals: list[tuple[str, str, AlarmState]] = []
        for name in ("raised", "changed", "cleared"):
            sig = getattr(self.board, name)
            sig.connect(lambda a, name=name: self.signals.append((name, a.id, a.state)))

    def feed(self, events: list[Event]) -> list[Event]:
        for ev in events:
            prev = self.log[-1].hash if self.log else GENESIS_HASH
            rec = record(ev, seq=len(self.log) + 1, ts=self.clock.now(), prev_hash=prev)
            self.log.append(rec)
            self.board.apply(rec)
        assert self.board.alarms() == self.engine.alarms()
        return events

    def read(self, value: float, after: float = 0.0, gid: str = GD) -> list[Event]:
        self.clock.advance(after)
        return self.feed(self.engine.process(gid, value))

    def tick(self, after: float = 0.0) -> list[Event]:
        self.clock.advance(after)
        return self.feed(self.engine.tick())

    def do(self, action: str, *args: Any, **kw: Any) -> list[Event]:
        return self.feed(getattr(self.engine, action)(*args, **kw))

    def state(self, alarm_id: str) -> AlarmState:
        return self.engine.alarm(alarm_id).state


def kinds(events: list[Event]) -> list[tuple[str, str, str]]:
    return [(e.type, e.payload["alarm"], e.payload["state_after"]) for e in events]


# --------------------------------------------------------------------------- specs


def test_every_limit_and_quality_alarm_has_a_spec() -> None:
    rig = Rig([gauge(), o2_gauge()])
    ids = [s.id for s in rig.engine.specs()]
    assert ids == [PRE, A1, A2, "GD-101:comm", "GD-101:bad_value", "RS485-1:link",
                   "OX-201:high:alarm1", "OX-201:low:alarm1", "OX-201:low:alarm2",
                   "OX-201:comm", "OX-201:bad_value"]
    assert rig.engine.alarm_ids("OX-201") == ids[6:]
    assert rig.engine.links() == {"RS485-1": ["GD-101", "OX-201"]}
    assert rig.engine.alarm(A1).state == AlarmState.NORMAL
    assert rig.engine.alarms() == {}


def test_priorities_follow_levels_and_can_be_overridden() -> None:
    rig = Rig()
    prio = {s.id: s.priority for s in rig.engine.specs()}
    assert (prio[PRE], prio[A1], prio[A2]) == (Priority.LOW, Priority.MEDIUM, Priority.HIGH)
    assert prio["GD-101:comm"] == prio["GD-101:bad_value"] == Priority.MEDIUM
    settings = AlarmSettings(
        priorities={AlarmLevel.PREALARM: Priority.LOW, AlarmLevel.ALARM1: Priority.HIGH,
                    AlarmLevel.ALARM2: Priority.HIGH},
        priority_overrides={PRE: Priority.MEDIUM, "GD-101:comm": Priority.HIGH},
        bad_value_priority=Priority.LOW)
    prio = {s.id: s.priority for s in Rig(settings=settings).engine.specs()}
    assert (prio[PRE], prio[A1], prio[A2]) == (Priority.MEDIUM, Priority.HIGH, Priority.HIGH)
    assert (prio["GD-101:comm"], prio["GD-101:bad_value"]) == (Priority.HIGH, Priority.LOW)
    assert [p.rank for p in Priority] == [3, 2, 1]


@pytest.mark.parametrize(("kw", "message"), [
    ({"priorities": {AlarmLevel.ALARM1: Priority.HIGH}}, "no priority for prealarm, alarm2"),
    ({"realarm_s": 0.0}, "re-alarm"),
    ({"realarm_overrides": {GD: float("nan")}}, "re-alarm"),
    ({"max_shelve_min": 0.0}, "max_shelve_min"),
    ({"max_shelve_min": float("inf")}, "max_shelve_min"),
])
def test_settings_are_checked(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AlarmSettings(**kw)


def test_formal_alarms_offer_matching_plans_and_prealarm_asks_to_check() -> None:
    rig = Rig()
    events = rig.read(60.0)
    by_id = {e.payload["alarm"]: e.payload for e in events}
    assert by_id[PRE]["action"] == "check"
    assert by_id[PRE]["formal"] is False
    assert by_id[PRE]["plans"] == []
    assert by_id[A1]["action"] == "respond"
    assert by_id[A1]["formal"] is True
    assert by_id[A1]["plans"] == ["PLAN-GAS-L1"]
    assert by_id[A2]["plans"] == ["PLAN-GAS-L1", "PLAN-GAS-L2"]
    assert rig.board.alarm(A2) is not None
    assert rig.board.alarm(A2).spec.plans == ("PLAN-GAS-L1", "PLAN-GAS-L2")  # type: ignore[union-attr]
    rig.do("comm_fault", GD)
    assert rig.engine.alarm("GD-101:comm").spec.action == "repair"


def test_matching_plans_by_kind_and_minimum_level() -> None:
    g = gauge()
    assert matching_plans(g, AlarmLevel.PREALARM, PLANS) == ()
    assert matching_plans(g, AlarmLevel.ALARM1, PLANS) == ("PLAN-GAS-L1",)
    prealarm_plan = plan("PLAN-CHECK", "L1", "combustible_gas", "prealarm")
    assert matching_plans(g, AlarmLevel.PREALARM, [prealarm_plan]) == ("PLAN-CHECK",)
    t = gauge("TT-1", kind=GaugeKind.TEMPERATURE, unit="°C")
    assert matching_plans(t, AlarmLevel.ALARM2, PLANS) == ("PLAN-FIRE-L2",)


def test_for_site_uses_the_sites_gauges_and_plans() -> None:
    site = Site(root="/site", gauges={GD: gauge()}, plans={p.id: p for p in PLANS})
    engine = AlarmEngine.for_site(site, ScriptedClock(T0))
    events = engine.process(GD, 30.0)
    assert [e.payload["plans"] for e in events] == [[], ["PLAN-GAS-L1"]]
    assert engine.settings == AlarmSettings()


def test_gauge_without_limits_has_only_quality_alarms() -> None:
    rig = Rig([gauge("WS-1", kind=GaugeKind.WIND_SPEED, unit="m/s", range=(0.0, 60.0),
                     thresholds=())])
    assert rig.engine.alarm_ids("WS-1") == ["WS-1:comm", "WS-1:bad_value"]
    assert rig.read(59.0, gid="WS-1") == []


# --------------------------------------------------------------------------- limits


def test_raise_payload_and_source() -> None:
    rig = Rig()
    events = rig.read(30.0, after=1.5)
    assert kinds(events) == [("alarm.raised", PRE, "unack_active"),
                             ("alarm.raised", A1, "unack_active")]
    ev = events[1]
    assert ev.source == "gauge:GD-101"
    assert ev.drill_id is None
    p = ev.payload
    assert p["gauge"] == GD and p["level"] == "alarm1" and p["direction"] == "high"
    assert p["limit"] == 25.0 and p["value"] == 30.0 and p["unit"] == "%LEL"
    assert p["priority"] == "medium" and p["kind"] == "process" and p["latching"] is False
    assert p["state_before"] == "normal"
    assert p["at"] == "2026-03-01T08:00:01.500000Z"
    a = rig.engine.alarm(A1)
    assert a.active and not a.acknowledged and a.value == 30.0
    assert a.active_since == T0 + timedelta(seconds=1.5)
    assert rig.signals == [("raised", PRE, AlarmState.UNACK_ACTIVE),
                           ("raised", A1, AlarmState.UNACK_ACTIVE)]


def test_return_before_ack_then_ack_clears() -> None:
    rig = Rig()
    rig.read(60.0)
    events = rig.read(5.0, after=10)
    assert kinds(events) == [("alarm.returned", A2, "rtn_unack"),
                             ("alarm.returned", A1, "rtn_unack"),
                             ("alarm.returned", PRE, "rtn_unack")]
    assert events[0].payload["value"] == 5.0
    rig.signals.clear()
    events = rig.do("acknowledge", A1, "zhang.wei")
    assert kinds(events) == [("alarm.acknowledged", A1, "normal")]
    assert events[0].source == "operator:zhang.wei"
    assert events[0].payload["who"] == "zhang.wei"
    assert rig.signals == [("cleared", A1, AlarmState.NORMAL)]
    assert rig.engine.alarm(A1).acked_by == "zhang.wei"


def test_ack_then_return_clears_directly() -> None:
    rig = Rig()
    rig.read(30.0)
    rig.do("acknowledge", A1, "op")
    assert rig.state(A1) == AlarmState.ACK_ACTIVE
    events = rig.read(5.0, after=1)
    assert kinds(events) == [("alarm.cleared", A1, "normal"),
                             ("alarm.returned", PRE, "rtn_unack")]


def test_reactivation_after_return_is_announced_again() -> None:
    rig = Rig()
    rig.read(30.0)
    rig.read(5.0, after=1)
    events = rig.read(30.0, after=1)
    assert kinds(events) == [("alarm.raised", PRE, "unack_active"),
                             ("alarm.raised", A1, "unack_active")]
    assert events[1].payload["state_before"] == "rtn_unack"


def test_no_event_while_nothing_changes() -> None:
    rig = Rig()
    assert rig.read(5.0) == []
    rig.read(30.0, after=1)
    assert rig.read(31.0, after=1) == []
    assert rig.read(49.9, after=1) == []


def test_limit_is_reached_at_equality() -> None:
    rig = Rig()
    assert kinds(rig.read(25.0))[-1] == ("alarm.raised", A1, "unack_active")
    rig2 = Rig()
    assert [e.payload["alarm"] for e in rig2.read(24.999)] == [PRE]


def test_deadband_on_a_high_limit() -> None:
    rig = Rig([gauge(deadband=2.0)])
    assert rig.read(24.9) != [] and not rig.engine.alarm(A1).active
    assert kinds(rig.read(26.0, after=1)) == [("alarm.raised", A1, "unack_active")]
    assert rig.read(23.5, after=1) == []
    assert rig.read(23.0, after=1) == []  # exactly limit - deadband: still active
    assert rig.read(24.9, after=1) == []
    assert kinds(rig.read(22.99, after=1)) == [("alarm.returned", A1, "rtn_unack")]
    assert rig.read(24.9, after=1) == []  # below the limit: no new alarm


def test_deadband_on_a_low_limit_and_levels_in_order() -> None:
    rig = Rig([o2_gauge()])
    lo1, lo2 = "OX-201:low:alarm1", "OX-201:low:alarm2"
    assert rig.read(20.9, gid="OX-201") == []
    assert kinds(rig.read(19.5, after=1, gid="OX-201")) == [("alarm.raised", lo1,
                                                            "unack_active")]
    assert rig.read(19.9, after=1, gid="OX-201") == []
    assert rig.read(20.0, after=1, gid="OX-201") == []
    assert kinds(rig.read(17.0, after=1, gid="OX-201")) == [("alarm.raised", lo2,
                                                            "unack_active")]
    assert kinds(rig.read(20.01, after=1, gid="OX-201")) == [
        ("alarm.returned", lo2, "rtn_unack"), ("alarm.returned", lo1, "rtn_unack")]
    assert kinds(rig.read(24.0, after=1, gid="OX-201")) == [
        ("alarm.raised", "OX-201:high:alarm1", "unack_active")]


def test_on_delay_needs_the_condition_to_hold() -> None:
    rig = Rig([gauge(on_delay_s=5.0)])
    assert rig.read(30.0) == []
    assert rig.read(30.0, after=3) == []
    events = rig.read(30.0, after=2)
    assert kinds(events) == [("alarm.raised", PRE, "unack_active"),
                             ("alarm.raised", A1, "unack_active")]
    assert events[0].payload["at"] == "2026-03-01T08:00:05.000000Z"


def test_on_delay_restarts_when_the_condition_drops() -> None:
    rig = Rig([gauge(on_delay_s=5.0, thresholds=(
        Threshold(level=AlarmLevel.ALARM1, direction="high", value=25.0),))])
    rig.read(30.0)
    rig.read(20.0, after=3)
    rig.read(30.0, after=1)
    assert rig.read(30.0, after=4) == []
    assert rig.tick(after=0.5) == []
    events = rig.tick(after=0.5)
    assert kinds(events) == [("alarm.raised", A1, "unack_active")]
    assert events[0].payload["value"] == 30.0


def test_on_delay_completes_on_a_tick() -> None:
    rig = Rig([gauge(on_delay_s=5.0)])
    rig.read(30.0)
    assert rig.tick(after=4.9) == []
    assert len(rig.tick(after=0.1)) == 2
    assert rig.tick(after=10) == []


def test_off_delay_needs_the_return_to_hold() -> None:
    rig = Rig([gauge(off_delay_s=10.0, thresholds=(
        Threshold(level=AlarmLevel.ALARM1, direction="high", value=25.0),))])
    rig.read(30.0)
    assert rig.read(5.0, after=1) == []
    assert rig.tick(after=9) == []
    assert rig.read(30.0, after=0.5) == []  # back above: the return is cancelled
    assert rig.read(5.0, after=1) == []
    assert rig.tick(after=9.9) == []
    assert kinds(rig.tick(after=0.1)) == [("alarm.returned", A1, "rtn_unack")]
    assert rig.tick(after=100) == []


def test_late_readings_are_ignored() -> None:
    rig = Rig()
    rig.read(5.0, after=10)
    assert rig.engine.process(GD, 60.0, T0) == []
    assert rig.engine.alarms() == {}


def test_readings_carry_their_own_time() -> None:
    rig = Rig()
    ts = T0 + timedelta(minutes=3)
    events = rig.engine.process(GD, 30.0, ts)
    assert events[0].payload["at"] == "2026-03-01T08:03:00.000000Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        rig.engine.process(GD, 30.0, datetime(2026, 3, 1, 8, 5))


def test_unknown_gauge_and_alarm() -> None:
    rig = Rig()
    for call in (lambda: rig.engine.process("XX-1", 1.0), lambda: rig.engine.comm_fault("XX"),
                 lambda: rig.engine.comm_restored("XX"), lambda: rig.engine.alarm_ids("XX"),
                 lambda: rig.engine.acknowledge("GD-101:high:alarm9", "op"),
                 lambda: rig.engine.alarm("nope"),
                 lambda: rig.engine.acknowledge_all("op", gauge_id="XX")):
        with pytest.raises(UnknownAlarmError):
            call()


# --------------------------------------------------------------------------- latching


def test_latching_alarm_needs_reset_after_return() -> None:
    rig = Rig()
    rig.read(30.0, gid="GD-102")
    assert rig.engine.alarm(LATCH).latched
    events = rig.read(5.0, after=1, gid="GD-102")
    assert kinds(events)[0] == ("alarm.returned", LATCH, "latched")
    rig.do("acknowledge", LATCH, "op")
    assert rig.state(LATCH) == AlarmState.LATCHED
    assert rig.engine.alarm(LATCH).acknowledged
    events = rig.do("reset", LATCH, "op")
    assert kinds(events) == [("alarm.reset", LATCH, "normal")]
    assert events[0].payload["acknowledged_by_reset"] is False
    assert not rig.engine.alarm(LATCH).latched


def test_reset_of_an_unacknowledged_latched_alarm_acknowledges_it() -> None:
    rig = Rig()
    rig.read(30.0, gid="GD-102")
    rig.read(5.0, after=1, gid="GD-102")
    events = rig.do("reset", LATCH, "li.na")
    assert events[0].payload["acknowledged_by_reset"] is True
    a = rig.engine.alarm(LATCH)
    assert a.state == AlarmState.NORMAL and a.acked_by == "li.na"


def test_acknowledged_latching_alarm_latches_on_return() -> None:
    rig = Rig()
    rig.read(30.0, gid="GD-102")
    rig.do("acknowledge", LATCH, "op")
    assert kinds(rig.read(5.0, after=1, gid="GD-102"))[0] == ("alarm.returned", LATCH,
                                                              "latched")


def test_latched_alarm_reactivates() -> None:
    rig = Rig()
    rig.read(30.0, gid="GD-102")
    rig.read(5.0, after=1, gid="GD-102")
    rig.do("acknowledge", LATCH, "op")
    events = rig.read(30.0, after=1, gid="GD-102")
    assert ("alarm.raised", LATCH, "unack_active") in kinds(events)


# --------------------------------------------------------------------------- every action in
#                                                                             every state


def _to_normal(rig: Rig) -> str:
    return A1


def _to_unack(rig: Rig) -> str:
    rig.read(30.0)
    return A1


def _to_ack(rig: Rig) -> str:
    rig.read(30.0)
    rig.do("acknowledge", A1, "op")
    return A1


def _to_rtn_unack(rig: Rig) -> str:
    rig.read(30.0)
    rig.read(5.0, after=1)
    return A1


def _to_latched(rig: Rig) -> str:
    rig.read(30.0, gid="GD-102")
    rig.read(5.0, after=1, gid="GD-102")
    return LATCH


def _to_shelved(rig: Rig) -> str:
    rig.read(30.0)
    rig.do("shelve", A1, "op", "sensor being replaced", minutes=30)
    return A1


def _to_suppressed(rig: Rig) -> str:
    rig.read(30.0)
    rig.do("suppress", A1, "unit U-210 shut down")
    return A1


def _to_out_of_service(rig: Rig) -> str:
    rig.read(30.0)
    rig.do("remove_from_service", A1, "tech", "calibration")
    return A1


SETUPS: dict[str, Callable[[Rig], str]] = {
    "normal": _to_normal, "unack_active": _to_unack, "ack_active": _to_ack,
    "rtn_unack": _to_rtn_unack, "latched": _to_latched, "shelved": _to_shelved,
    "suppressed": _to_suppressed, "out_of_service": _to_out_of_service,
}

ACTIONS: dict[str, Callable[[AlarmEngine, str], list[Event]]] = {
    "ack": lambda e, a: e.acknowledge(a, "op"),
    "shelve": lambda e, a: e.shelve(a, "op", "nuisance", minutes=60),
    "shelve_one_shot": lambda e, a: e.shelve(a, "op", "nuisance"),
    "unshelve": lambda e, a: e.unshelve(a, "op"),
    "reset": lambda e, a: e.reset(a, "op"),
    "comment": lambda e, a: e.comment(a, "op", "checked on site"),
    "remove": lambda e, a: e.remove_from_service(a, "op", "maintenance"),
    "return": lambda e, a: e.return_to_service(a, "op"),
    "suppress": lambda e, a: e.suppress(a, "shutdown"),
    "unsuppress": lambda e, a: e.unsuppress(a),
    "confirm": lambda e, a: e.confirm(a, "op", "seen on site"),
}

X = None  # refused
# state → action → state after (X: refused)
MATRIX: dict[str, dict[str, str | None]] = {
    "normal": {"ack": X, "shelve": "shelved", "shelve_one_shot": X, "unshelve": X,
               "reset": X, "comment": "normal", "remove": "out_of_service", "return": X,
               "suppress": "suppressed", "unsuppress": X, "confirm": X},
    "unack_active": {"ack": "ack_active", "shelve": "shelved", "shelve_one_shot": "shelved",
                     "unshelve": X, "reset": X, "comment": "unack_active",
                     "remove": "out_of_service", "return": X, "suppress": "suppressed",
                     "unsuppress": X, "confirm": X},
    "ack_active": {"ack": X, "shelve": "shelved", "shelve_one_shot": "shelved",
                   "unshelve": X, "reset": X, "comment": "ack_active",
                   "remove": "out_of_service", "return": X, "suppress": "suppressed",
                   "unsuppress": X, "confirm": X},
    "rtn_unack": {"ack": "normal", "shelve": "shelved", "shelve_one_shot": X, "unshelve": X,
                  "reset": X, "comment": "rtn_unack", "remove": "out_of_service", "return": X,
                  "suppress": "suppressed", "unsuppress": X, "confirm": X},
    "latched": {"ack": "latched", "shelve": "shelved", "shelve_one_shot": X, "unshelve": X,
                "reset": "normal", "comment": "latched", "remove": "out_of_service",
                "return": X, "suppress": "suppressed", "unsuppress": X, "confirm": X},
    "shelved": {"ack": X, "shelve": X, "shelve_one_shot": X, "unshelve": "ack_active",
                "reset": X, "comment": "shelved", "remove": "out_of_service", "return": X,
                "suppress": "suppressed", "unsuppress": X, "confirm": X},
    "suppressed": {"ack": X, "shelve": X, "shelve_one_shot": X, "unshelve": X, "reset": X,
                   "comment": "suppressed", "remove": "out_of_service", "return": X,
                   "suppress": X, "unsuppress": "unack_active", "confirm": X},
    "out_of_service": {"ack": X, "shelve": X, "shelve_one_shot": X, "unshelve": X,
                       "reset": X, "comment": "out_of_service", "remove": X,
                       "return": "unack_active", "suppress": "out_of_service",
                       "unsuppress": X, "confirm": X},
}

EVENT_OF = {"ack": "alarm.acknowledged", "shelve": "alarm.shelved",
            "shelve_one_shot": "alarm.shelved", "unshelve": "alarm.unshelved",
            "reset": "alarm.reset", "comment": "alarm.comment",
            "remove": "alarm.out_of_service", "return": "alarm.returned_to_service",
            "suppress": "alarm.suppressed", "unsuppress": "alarm.unsuppressed"}


@pytest.mark.parametrize("state", list(MATRIX))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_in_every_state(state: str, action: str) -> None:
    rig = Rig()
    alarm_id = SETUPS[state](rig)
    assert rig.state(alarm_id) == AlarmState(state)
    before = rig.engine.alarm(alarm_id)
    expected = MATRIX[state][action]
    if expected is None:
        with pytest.raises(ActionRefusedError):
            ACTIONS[action](rig.engine, alarm_id)
        assert rig.engine.alarm(alarm_id) == before
        return
    rig.clock.advance(2)
    events = rig.feed(ACTIONS[action](rig.engine, alarm_id))
    source = "logic:design" if "suppress" in action else "operator:op"
    assert [(e.type, e.source, e.payload["state_before"], e.payload["state_after"])
            for e in events] == [(EVENT_OF[action], source, state, expected)]
    assert rig.state(alarm_id) == AlarmState(expected)


def test_matrix_covers_every_state_and_action() -> None:
    assert set(MATRIX) == {s.value for s in AlarmState}
    assert all(set(row) == set(ACTIONS) for row in MATRIX.values())


@pytest.mark.parametrize(("action", "args", "message"), [
    ("acknowledge", (A1, "  "), "who is required"),
    ("shelve", (A1, "op", " "), "reason"),
    ("comment", (A1, "op", ""), "comment text"),
    ("remove_from_service", (A1, "op", ""), "reason"),
    ("suppress", (A1, ""), "reason"),
    ("suppress", (A1, "x", ""), "by is required"),
])
def test_actions_need_who_and_reason(action: str, args: tuple[Any, ...], message: str) -> None:
    rig = Rig()
    rig.read(30.0)
    with pytest.raises(ActionRefusedError, match=message):
        getattr(rig.engine, action)(*args)


def test_comments_are_kept_in_order() -> None:
    rig = Rig()
    rig.read(30.0)
    rig.do("comment", A1, "wang", "外操已到现场")
    rig.clock.advance(5)
    events = rig.do("comment", A1, "li", "未发现泄漏")
    assert events[0].payload["text"] == "未发现泄漏"
    assert [(c.by, c.text) for c in rig.engine.alarm(A1).comments] == [
        ("wang", "外操已到现场"), ("li", "未发现泄漏")]
    assert rig.signals[-1] == ("changed", A1, AlarmState.UNACK_ACTIVE)


def test_acknowledge_all_takes_announced_unacknowledged_ones() -> None:
    rig = Rig()
    rig.read(60.0)
    rig.read(30.0, gid="GD-102")
    rig.do("shelve", PRE, "op", "nuisance", minutes=10)
    events = rig.do("acknowledge_all", "op", gauge_id=GD)
    assert kinds(events) == [("alarm.acknowledged", A1, "ack_active"),
                             ("alarm.acknowledged", A2, "ack_active")]
    events = rig.do("acknowledge_all", "op")
    assert [e.payload["alarm"] for e in events] == ["GD-102:high:prealarm", LATCH]
    assert rig.do("acknowledge_all", "op") == []


# --------------------------------------------------------------------------- shelving


def test_timed_shelving_runs_out_and_announces_again() -> None:
    rig = Rig()
    rig.read(30.0)
    events = rig.do("shelve", A1, "op", "detector drifting", minutes=15)
    p = events[0].payload
    assert (p["one_shot"], p["minutes"], p["until"], p["reason"]) == (
        False, 15, "2026-03-01T08:15:00.000000Z", "detector drifting")
    sh = rig.engine.alarm(A1).shelving
    assert sh is not None and sh.until == T0 + timedelta(minutes=15) and sh.by == "op"
    assert rig.tick(after=14 * 60) == []
    events = rig.tick(after=60)
    assert [(e.type, e.source, e.payload["automatic"], e.payload["state_after"])
            for e in events] == [("alarm.unshelved", "gauge:GD-101", True, "unack_active")]
    assert rig.signals[-1] == ("raised", A1, AlarmState.UNACK_ACTIVE)


def test_timed_shelving_of_a_returned_alarm_ends_normal() -> None:
    rig = Rig()
    rig.read(30.0)
    rig.do("shelve", A1, "op", "test", minutes=1)
    assert kinds(rig.read(5.0, after=1)) == [("alarm.returned", A1, "shelved"),
                                             ("alarm.returned", PRE, "rtn_unack")]
    events = rig.read(5.0, after=60)
    assert kinds(events) == [("alarm.unshelved", A1, "normal")]


def test_manual_unshelve_returns_acknowledged_if_active() -> None:
    rig = Rig()
    rig.read(30.0)
    rig.do("shelve", A1, "op", "test", minutes=10)
    rig.clock.advance(60)
    events = rig.do("unshelve", A1, "wang")
    assert events[0].payload["automatic"] is False
    a = rig.engine.alarm(A1)
    assert a.state == AlarmState.ACK_ACTIVE
    assert (a.acked_by, a.acked_at) == ("wang", T0 + timedelta(seconds=60))


def test_manual_unshelve_of_an_inactive_alarm_is_normal() -> None:
    rig = Rig()
    rig.do("shelve", A1, "op", "pre-emptive", minutes=10)
    assert kinds(rig.do("unshelve", A1, "op")) == [("alarm.unshelved", A1, "normal")]


def test_alarm_raised_while_shelved_is_tracked_not_announced() -> None:
    rig = Rig()
    rig.do("shelve", A1, "op", "known nuisance", minutes=10)
    rig.signals.clear()
    events = rig.read(30.0, after=1)
    assert kinds(events) == [("alarm.raised", PRE, "unack_active"),
                             ("alarm.raised", A1, "shelved")]
    assert rig.signals == [("raised", PRE, AlarmState.UNACK_ACTIVE),
                           ("changed", A1, AlarmState.SHELVED)]
    assert rig.engine.alarm(A1).active
    events = rig.tick(after=600)
    assert kinds(events) == [("alarm.unshelved", A1, "unack_active")]


def test_one_shot_shelving_ends_when_the_alarm_returns() -> None:
    rig = Rig()
    rig.read(30.0)
    events = rig.do("shelve", A1, "op", "valve being closed")
    assert (events[0].payload["one_shot"], events[0].payload["until"]) == (True, None)
    assert rig.tick(after=10 * 3600) == []  # no time limit
    events = rig.read(5.0, after=1)
    assert [(e.type, e.payload["alarm"], e.payload["state_after"]) for e in events][:2] == [
        ("alarm.returned", A1, "shelved"), ("alarm.unshelved", A1, "normal")]
    assert events[1].payload["automatic"] is True
    assert events[1].source == "gauge:GD-101"


@pytest.mark.parametrize("minutes", [0.0, -5.0, 480.5, float("nan"), float("inf")])
def test_shelving_time_must_be_positive_and_within_the_limit(minutes: float) -> None:
    rig = Rig()
    rig.read(30.0)
    with pytest.raises(ActionRefusedError, match="480 minutes"):
        rig.engine.shelve(A1, "op", "x", minutes=minutes)


def test_shelving_limit_is_a_setting() -> None:
    rig = Rig(settings=AlarmSettings(max_shelve_min=30.0))
    with pytest.raises(ActionRefusedError, match="30 minutes"):
        rig.engine.shelve(A1, "op", "x", minutes=31)
    assert len(rig.engine.shelve(A1, "op", "x", minutes=30)) == 1


# --------------------------------------------------------------------------- suppression, service


def test_suppression_by_design_and_its_end() -> None:
    rig = Rig()
    events = rig.do("suppress", A1, "U-210 shut down", by="U-210-shutdown")
    assert (events[0].source, events[0].payload["who"], events[0].payload["reason"]) == (
        "logic:U-210-shutdown", "U-210-shutdown", "U-210 shut down")
    assert kinds(rig.read(30.0, after=1))[-1] == ("alarm.raised", A1, "suppressed")
    assert kinds(rig.do("unsuppress", A1, by="U-210-shutdown")) == [
        ("alarm.unsuppressed", A1, "unack_active")]
    rig2 = Rig()
    rig2.do("suppress", A1, "x")
    assert kinds(rig2.do("unsuppress", A1)) == [("alarm.unsuppressed", A1, "normal")]


def test_out_of_service_tracks_the_condition_quietly() -> None:
    rig = Rig()
    rig.do("remove_from_service", A1, "tech.liu", "calibration with test gas")
    hold = rig.engine.alarm(A1).out_of_service
    assert hold is not None and (hold.by, hold.reason) == ("tech.liu",
                                                           "calibration with test gas")
    assert kinds(rig.read(30.0, after=1))[-1] == ("alarm.raised", A1, "out_of_service")
    assert kinds(rig.read(5.0, after=1))[0] == ("alarm.returned", A1, "out_of_service")
    assert kinds(rig.do("return_to_service", A1, "tech.liu")) == [
        ("alarm.returned_to_service", A1, "normal")]


def test_hidings_stack_and_the_last_one_decides() -> None:
    rig = Rig()
    rig.read(30.0)
    rig.do("shelve", A1, "op", "nuisance", minutes=5)
    rig.do("remove_from_service", A1, "tech", "repair")
    rig.do("suppress", A1, "shutdown")
    assert rig.state(A1) == AlarmState.OUT_OF_SERVICE
    # the shelving runs out while the alarm is out of service: still hidden
    assert kinds(rig.tick(after=300)) == [("alarm.unshelved", A1, "out_of_service")]
    assert kinds(rig.do("return_to_service", A1, "tech")) == [
        ("alarm.returned_to_service", A1, "suppressed")]
    assert kinds(rig.do("unsuppress", A1)) == [("alarm.unsuppressed", A1, "unack_active")]


def test_manual_unshelve_under_suppression_stays_hidden() -> None:
    rig = Rig()
    rig.read(30.0)
    rig.do("shelve", A1, "op", "x", minutes=5)
    rig.do("suppress", A1, "shutdown")
    assert kinds(rig.do("unshelve", A1, "op")) == [("alarm.unshelved", A1, "suppressed")]
    # the later automatic end announces it: no operator saw it come back
    assert kinds(rig.do("unsuppress", A1)) == [("alarm.unsuppressed", A1, "unack_active")]


# --------------------------------------------------------------------------- re-alarm


def test_realarm_after_acknowledged_alarm_stays_active() -> None:
    rig = Rig(settings=AlarmSettings(realarm_s=60.0))
    rig.read(30.0)
    assert rig.tick(after=120) == []  # unacknowledged: nothing to re-announce
    rig.do("acknowledge", A1, "op")
    assert rig.tick(after=59) == []
    events = rig.tick(after=1)
    assert kinds(events) == [("alarm.realarmed", A1, "unack_active")]
    assert rig.signals[-1] == ("raised", A1, AlarmState.UNACK_ACTIVE)
    rig.do("acknowledge", A1, "op")
    assert rig.tick(after=30) == []
    assert len(rig.tick(after=30)) == 1


def test_realarm_can_be_turned_off_per_gauge() -> None:
    rig = Rig(settings=AlarmSettings(realarm_s=60.0, realarm_overrides={GD: None}))
    rig.read(30.0)
    rig.do("acknowledge", A1, "op")
    assert rig.tick(after=3600) == []
    assert AlarmSettings(realarm_overrides={GD: 5.0}).realarm_for(GD) == 5.0


# --------------------------------------------------------------------------- comm faults


def test_loss_of_communication_is_an_alarm_with_its_own_ack() -> None:
    rig = Rig()
    rig.read(30.0)
    events = rig.do("comm_fault", GD, "timeout after 3 retries")
    assert kinds(events) == [("alarm.comm_fault", "GD-101:comm", "unack_active")]
    assert events[0].source == "gauge:GD-101"
    assert events[0].payload["detail"] == "timeout after 3 retries"
    assert rig.board.blind(GD)
    assert rig.do("comm_fault", GD) == []
    assert rig.state(A1) == AlarmState.UNACK_ACTIVE  # blind, not normal, not cleared
    rig.do("acknowledge", "GD-101:comm", "op")
    assert rig.state(A1) == AlarmState.UNACK_ACTIVE
    rig.clock.advance(30)
    assert kinds(rig.do("comm_restored", GD)) == [("alarm.comm_restored", "GD-101:comm",
                                                   "normal")]
    assert not rig.board.blind(GD)
    assert rig.do("comm_restored", GD) == []


def test_comm_fault_default_detail_and_rtn_unack() -> None:
    rig = Rig()
    events = rig.do("comm_fault", GD)
    assert events[0].payload["detail"] == "no answer"
    assert kinds(rig.do("comm_restored", GD)) == [("alarm.comm_restored", "GD-101:comm",
                                                   "rtn_unack")]


def test_a_reading_during_comm_fault_restores_the_link() -> None:
    rig = Rig()
    rig.do("comm_fault", GD)
    events = rig.read(30.0, after=5)
    assert kinds(events) == [("alarm.comm_restored", "GD-101:comm", "rtn_unack"),
                             ("alarm.raised", PRE, "unack_active"),
                             ("alarm.raised", A1, "unack_active")]
    assert events[0].payload["detail"] == "a reading arrived"


def test_comm_fault_restarts_pending_delays() -> None:
    rig = Rig([gauge(on_delay_s=5.0)])
    rig.read(30.0)
    rig.clock.advance(2)
    rig.do("comm_fault", GD)
    assert rig.tick(after=10) == []
    rig.read(30.0, after=1)  # restores the link and starts the on-delay again
    assert rig.tick(after=4) == []
    assert len(rig.tick(after=1)) == 2


# --------------------------------------------------------------------------- bad values


@pytest.mark.parametrize(("value", "detail", "payload_value"), [
    (float("nan"), "not a number", None),
    (float("inf"), "infinite", None),
    (float("-inf"), "infinite", None),
    (-0.1, "below range", -0.1),
])
def test_bad_values_raise_a_quality_alarm(value: float, detail: str,
                                          payload_value: float | None) -> None:
    rig = Rig()
    events = rig.read(value)
    assert kinds(events) == [("alarm.bad_value", "GD-101:bad_value", "unack_active")]
    assert (events[0].payload["detail"], events[0].payload["value"]) == (detail, payload_value)
    canonical_payload(events[0].payload)  # JSON-safe: never NaN in a payload
    assert rig.engine.alarm("GD-101:bad_value").detail == detail
    assert rig.board.blind(GD)


def test_reading_pegged_above_full_scale_raises_every_high_limit() -> None:
    # A gas head saturated beyond its range is the worst leak, not a blind gauge.
    rig = Rig()
    events = rig.read(100.5)
    assert kinds(events) == [("alarm.bad_value", "GD-101:bad_value", "unack_active"),
                             ("alarm.raised", PRE, "unack_active"),
                             ("alarm.raised", A1, "unack_active"),
                             ("alarm.raised", A2, "unack_active")]
    assert events[0].payload["detail"] == "above range"
    assert events[0].payload["value"] == 100.5
    assert {e.payload["value"] for e in events[1:]} == {100.0}
    assert rig.board.blind(GD)
    # Back inside the range: the quality alarm returns, the limits follow the real value.
    events = rig.read(55.0, after=1)
    assert kinds(events) == [("alarm.returned", "GD-101:bad_value", "rtn_unack")]


def test_reading_below_range_never_clears_a_high_alarm() -> None:
    rig = Rig()
    rig.read(60.0)
    events = rig.read(-3.0, after=1)
    assert kinds(events) == [("alarm.bad_value", "GD-101:bad_value", "unack_active")]
    assert [rig.state(a) for a in (PRE, A1, A2)] == [AlarmState.UNACK_ACTIVE] * 3


def test_bad_values_never_clear_real_alarms() -> None:
    rig = Rig()
    rig.read(60.0)
    for value in (float("nan"), -5.0, float("inf"), 0.0 - 1e-9):
        events = rig.read(value, after=1)
        assert all(e.payload["kind"] == "bad_value" for e in events)
    assert [rig.state(a) for a in (PRE, A1, A2)] == [AlarmState.UNACK_ACTIVE] * 3
    events = rig.read(55.0, after=1)
    assert kinds(events) == [("alarm.returned", "GD-101:bad_value", "rtn_unack")]
    assert events[0].payload["value"] == 55.0
    assert rig.engine.alarm("GD-101:bad_value").detail == ""


def test_bad_value_restarts_a_pending_off_delay() -> None:
    rig = Rig([gauge(off_delay_s=10.0)])
    rig.read(30.0)
    rig.do("acknowledge_all", "op")
    rig.read(5.0, after=1)
    rig.read(float("nan"), after=5)
    assert rig.tick(after=20) == []
    assert rig.state(A1) == AlarmState.ACK_ACTIVE
    events = rig.read(5.0, after=1)
    assert kinds(events) == [("alarm.returned", "GD-101:bad_value", "rtn_unack")]
    assert rig.tick(after=9) == []
    assert kinds(rig.tick(after=1)) == [("alarm.cleared", A1, "normal"),
                                        ("alarm.cleared", PRE, "normal")]


def test_bad_value_cleared_directly_when_acknowledged() -> None:
    rig = Rig()
    rig.read(float("nan"))
    rig.do("acknowledge", "GD-101:bad_value", "op")
    assert kinds(rig.read(1.0, after=1)) == [("alarm.cleared", "GD-101:bad_value", "normal")]


# --------------------------------------------------------------------------- the board


def test_board_display_supersedes_lower_levels() -> None:
    rig = Rig()
    rig.read(60.0)
    assert [a.id for a in rig.board.annunciated()] == [A2]
    assert rig.board.superseded(rig.engine.alarm(PRE))
    assert rig.board.superseded(rig.engine.alarm(A1))
    assert not rig.board.superseded(rig.engine.alarm(A2))
    assert [a.id for a in rig.board.standing()] == [A2, A1, PRE]  # all tracked
    rig.read(30.0, after=1)  # alarm2 returned unacknowledged, alarm1 still active
    assert [a.id for a in rig.board.annunciated()] == [A2, A1]
    assert [a.id for a in rig.board.unacknowledged()] == [A2, A1]
    rig.do("acknowledge", A2, "op")
    assert [a.id for a in rig.board.annunciated()] == [A1]


def test_board_lists_the_alarms_of_one_gauge() -> None:
    rig = Rig()
    assert rig.board.of_gauge(GD) == []
    rig.read(60.0)
    assert sorted(a.id for a in rig.board.of_gauge(GD)) == sorted([PRE, A1, A2])
    rig.do("acknowledge", A2, "op")
    [a2] = [a for a in rig.board.of_gauge(GD) if a.id == A2]
    assert a2 == rig.board.alarm(A2) and a2.acknowledged
    assert rig.board.of_gauge("NO-SUCH-GAUGE") == []


def test_board_orders_unacknowledged_then_priority_then_newest() -> None:
    rig = Rig()
    rig.read(30.0)
    rig.read(60.0, gid="GD-102", after=1)
    rig.do("acknowledge", "GD-102:high:alarm2", "op")
    rig.read(5.0, after=1)
    shown = [a.id for a in rig.board.annunciated()]
    assert shown == [A1, PRE, "GD-102:high:alarm2"]
    rig.clock.advance(1)
    rig.do("shelve", PRE, "op", "x", minutes=5)
    assert [a.id for a in rig.board.hidden()] == [PRE]
    assert rig.board.alarm("nope") is None


def test_board_quality_alarms_are_never_superseded() -> None:
    rig = Rig()
    rig.read(60.0)
    rig.do("comm_fault", GD)
    assert "GD-101:comm" in [a.id for a in rig.board.annunciated()]


def test_board_skips_seen_foreign_and_malformed_events(caplog: pytest.LogCaptureFixture,
                                                       ) -> None:
    rig = Rig()
    rig.read(30.0)
    board = AlarmBoard()
    board.replay(rig.log)
    assert board.last_seq == 2
    assert board.apply(rig.log[0]) is None  # already seen
    other = record(Event("plan.activated", "operator:x", {"plan": "PLAN-GAS-L1"}), seq=3,
                   ts=T0, prev_hash=GENESIS_HASH)
    assert board.apply(other) is None
    drill = record(Event("alarm.raised", "gauge:GD-101", dict(rig.log[0].payload),
                         drill_id="D-1"), seq=4, ts=T0, prev_hash=GENESIS_HASH)
    assert board.apply(drill) is None
    bad_payload = dict(rig.log[0].payload)
    del bad_payload["unit"]
    broken = record(Event("alarm.raised", "gauge:GD-101", bad_payload), seq=5, ts=T0,
                    prev_hash=GENESIS_HASH)
    with caplog.at_level(logging.WARNING, logger="commandcenter.core.alarms"):
        assert board.apply(broken) is None
    assert board.skipped == 1
    assert "alarm event 5 (alarm.raised) not folded" in caplog.text
    assert board.alarms() == rig.engine.alarms()


def test_drill_engine_events_go_to_the_drill_board_only() -> None:
    rig = Rig(drill_id="DRILL-2026-Q1")
    events = rig.read(30.0)
    assert {e.drill_id for e in events} == {"DRILL-2026-Q1"}
    live = AlarmBoard()
    live.replay(rig.log)
    assert live.alarms() == {}
    assert rig.board.alarms() == rig.engine.alarms()


def test_replaying_the_log_gives_the_live_state() -> None:
    rig = Rig(settings=AlarmSettings(realarm_s=30.0))
    rig.read(60.0)
    rig.read(30.0, gid="GD-102", after=1)
    rig.do("acknowledge", A2, "op")
    rig.do("shelve", PRE, "op", "x", minutes=2)
    rig.read(float("nan"), after=10)
    rig.do("comm_fault", "GD-102")
    rig.do("comment", A1, "op", "note")
    rig.tick(after=200)
    rig.read(5.0, after=1)
    rig.read(5.0, after=1, gid="GD-102")
    fresh = AlarmBoard()
    fresh.replay(rig.log)
    assert fresh.alarms() == rig.board.alarms() == rig.engine.alarms()
    assert {a.id for a in fresh.standing()} == {a.id for a in rig.board.standing()}


# --------------------------------------------------------------------------- restart


def test_restart_resumes_from_the_board() -> None:
    rig = Rig([gauge(deadband=2.0), gauge("GD-102"), gauge("GD-103")])
    rig.read(30.0)
    rig.read(30.0, gid="GD-102")
    rig.read(30.0, gid="GD-103")
    rig.do("shelve", "GD-102:high:alarm1", "op", "one-shot")
    rig.do("shelve", "GD-103:high:alarm1", "op", "timed", minutes=60)
    rig.do("shelve", "GD-103:high:prealarm", "op", "short", minutes=1)
    # restart 5 minutes later: the board is rebuilt from the log
    clock = ScriptedClock(T0 + timedelta(minutes=5))
    board = AlarmBoard()
    board.replay(rig.log)
    engine = AlarmEngine([gauge(deadband=2.0), gauge("GD-102"), gauge("GD-103")], clock)
    events = engine.resume(board.alarms().values())
    assert [(e.type, e.payload["alarm"], e.payload["automatic"], e.payload["reason"],
             e.payload["state_after"]) for e in events] == [
        ("alarm.unshelved", "GD-102:high:alarm1", True,
         "shelving state unknown after a restart", "unack_active"),
        ("alarm.unshelved", "GD-103:high:prealarm", True, "shelving time ran out",
         "unack_active")]
    for i, ev in enumerate(events, start=len(rig.log) + 1):
        board.apply(record(ev, seq=i, ts=clock.now(), prev_hash=GENESIS_HASH))
    assert board.alarms() == engine.alarms()
    assert engine.alarm("GD-103:high:alarm1").state == AlarmState.SHELVED
    # the condition is not forgotten: inside the deadband nothing happens
    assert engine.process(GD, 24.0) == []
    assert [e.payload["alarm"] for e in engine.process(GD, 22.0)] == [A1]


def test_shelving_with_an_unknown_end_is_ended_on_resume() -> None:
    rig = Rig()
    rig.read(30.0)
    alarm = rig.engine.alarm(A1)
    lost = replace(alarm, shelving=am.Shelving(by="op", reason="x", at=T0, one_shot=False,
                                               until=None))
    engine = AlarmEngine([gauge()], ScriptedClock(T0))
    events = engine.resume([lost])
    assert kinds(events) == [("alarm.unshelved", A1, "unack_active")]


# --------------------------------------------------------------------------- the fold


def test_fold_rejects_unknown_types_and_bad_payloads() -> None:
    rig = Rig()
    events = rig.read(30.0)
    payload = dict(events[0].payload)
    with pytest.raises(ValueError, match="not an alarm event"):
        apply_alarm_event(None, "alarm.exploded", payload)
    with pytest.raises(ValueError, match="neither high nor low"):
        apply_alarm_event(None, "alarm.raised", {**payload, "direction": "up"})
    with pytest.raises(KeyError):
        apply_alarm_event(None, "alarm.raised", {k: v for k, v in payload.items()
                                                 if k != "at"})


def test_spec_round_trips_through_json() -> None:
    for spec in Rig([gauge(), o2_gauge()]).engine.specs():
        assert AlarmSpec.from_payload(json.loads(json.dumps(spec.payload()))) == spec
    assert AlarmKind("comm").value == "comm"


def test_event_time_prefers_the_events_own_time() -> None:
    rig = Rig()
    rig.clock.advance(3)
    rec = rig.log[-1] if rig.log else None
    assert rec is None
    rig.read(30.0)
    late = T0 + timedelta(hours=1)
    rec = record(rig.engine.process(GD, 5.0, T0 + timedelta(seconds=9))[0], seq=1, ts=late,
                 prev_hash=GENESIS_HASH)
    assert event_time(rec) == T0 + timedelta(seconds=9)
    no_at = record(Event("alarm.comment", "x", {}), seq=1, ts=late, prev_hash=GENESIS_HASH)
    assert event_time(no_at) == late
    bad_at = record(Event("alarm.comment", "x", {"at": "yesterday"}), seq=1, ts=late,
                    prev_hash=GENESIS_HASH)
    assert event_time(bad_at) == late


def test_alarm_properties_for_views() -> None:
    a = Alarm(spec=AlarmSpec(id="G:comm", gauge="G", kind=AlarmKind.COMM, level=None,
                             direction=None, limit=None, unit="ppm",
                             priority=Priority.HIGH))
    assert (a.id, a.gauge, a.priority, a.hidden, a.state) == (
        "G:comm", "G", Priority.HIGH, False, AlarmState.NORMAL)
    assert not a.spec.formal


def test_latching_alarm_unshelved_by_hand_still_latches() -> None:
    rig = Rig()
    rig.read(30.0, gid="GD-102")
    rig.do("shelve", LATCH, "op", "x", minutes=5)
    rig.do("unshelve", LATCH, "op")
    assert rig.state(LATCH) == AlarmState.ACK_ACTIVE
    assert kinds(rig.read(5.0, after=1, gid="GD-102"))[0] == ("alarm.returned", LATCH,
                                                              "latched")
    rig.do("shelve", LATCH, "op", "x", minutes=5)
    assert kinds(rig.do("unshelve", LATCH, "op")) == [("alarm.unshelved", LATCH, "normal")]


# --------------------------------------------------------------------------- acknowledging


def test_acknowledging_a_normal_alarm_says_there_is_nothing_to_acknowledge() -> None:
    rig = Rig()
    with pytest.raises(ActionRefusedError, match="is normal: there is nothing to acknowledge"):
        rig.engine.acknowledge(A1, "op")
    rig.read(30.0)
    rig.do("acknowledge", A1, "li.lei")
    with pytest.raises(ActionRefusedError, match=r"\(ack_active\) is already acknowledged by "
                                                 "li.lei"):
        rig.engine.acknowledge(A1, "op")
    rig.do("shelve", PRE, "op", "calibration", minutes=10)
    with pytest.raises(ActionRefusedError, match="shelved: it is not announced"):
        rig.engine.acknowledge(PRE, "op")


# --------------------------------------------------------------------------- confirming


def test_confirmed_prealarm_becomes_formal_and_offers_first_level_plans() -> None:
    rig = Rig()
    rig.read(12.0)
    pre = rig.engine.alarm(PRE)
    assert (pre.formal, pre.plans, pre.action, pre.priority) == (False, (), "check",
                                                                  Priority.LOW)
    assert rig.engine.plans_if_confirmed(PRE) == ("PLAN-GAS-L1",)
    assert rig.engine.plans_if_confirmed(A1) == ()
    rig.clock.advance(30)
    events = rig.do("confirm", PRE, "zhang.wei", "  smell of gas at pump P-3  ")
    assert kinds(events) == [("alarm.confirmed", PRE, "ack_active")]
    p = events[0].payload
    assert (p["who"], p["note"], p["confirmed_plans"], p["confirmed_priority"],
            p["acknowledged_by_confirm"]) == ("zhang.wei", "smell of gas at pump P-3",
                                              ["PLAN-GAS-L1"], "medium", True)
    assert events[0].source == "operator:zhang.wei"
    a = rig.board.alarm(PRE)
    assert a is not None and a.confirmation is not None
    assert (a.formal, a.plans, a.action, a.priority) == (True, ("PLAN-GAS-L1",), "respond",
                                                         Priority.MEDIUM)
    assert (a.confirmation.by, a.confirmation.at) == ("zhang.wei", T0 + timedelta(seconds=30))
    assert (a.acked_by, a.state) == ("zhang.wei", AlarmState.ACK_ACTIVE)
    assert a.spec.plans == () and not a.spec.formal   # what the limit is does not change
    with pytest.raises(ActionRefusedError, match=r"already confirmed by zhang\.wei"):
        rig.engine.confirm(PRE, "op")


def test_confirmation_of_an_acknowledged_prealarm_and_its_end() -> None:
    rig = Rig()
    rig.read(12.0)
    rig.do("acknowledge", PRE, "op")
    events = rig.do("confirm", PRE, "op")
    assert events[0].payload["acknowledged_by_confirm"] is False
    assert events[0].payload["note"] == ""
    rig.read(3.0, after=1)                       # returns; the confirmation stays on record
    assert rig.engine.alarm(PRE).formal
    rig.read(12.0, after=1)                      # a new excursion needs a new check
    a = rig.engine.alarm(PRE)
    assert a.confirmation is None and not a.formal and a.state == AlarmState.UNACK_ACTIVE


@pytest.mark.parametrize(("setup", "alarm", "message"), [
    (lambda r: None, PRE, "not active \\(normal\\)"),
    (lambda r: (r.read(12.0), r.read(3.0, after=1)), PRE, "not active \\(rtn_unack\\)"),
    (lambda r: (r.read(12.0), r.do("shelve", PRE, "op", "drift", minutes=5)), PRE,
     "shelved; it cannot be confirmed"),
    (lambda r: r.read(30.0), A1, "already a formal alarm \\(alarm1\\)"),
    (lambda r: r.do("comm_fault", GD), "GD-101:comm", "comm alarm; only a pre-alarm"),
])
def test_what_cannot_be_confirmed(setup: Callable[[Rig], object], alarm: str,
                                  message: str) -> None:
    rig = Rig()
    setup(rig)
    with pytest.raises(ActionRefusedError, match=message):
        rig.engine.confirm(alarm, "op")
    with pytest.raises(ActionRefusedError, match="who is required"):
        rig.engine.confirm(alarm, " ")


def test_confirmed_priority_follows_the_first_levels_priority_override() -> None:
    settings = AlarmSettings(priority_overrides={A1: Priority.HIGH})
    rig = Rig(settings=settings)
    rig.read(12.0)
    rig.do("confirm", PRE, "op")
    assert rig.engine.alarm(PRE).priority == Priority.HIGH


# --------------------------------------------------------------------------- whole links


def line(n: int, link: str = "RS485-1") -> list[Gauge]:
    return [gauge(f"GD-{200 + i}", link=link, address={"slave": i + 1, "register": 0})
            for i in range(n)]


def test_a_dead_link_is_one_alarm_and_its_gauges_comm_alarms_are_suppressed() -> None:
    rig = Rig([*line(17), gauge("GD-900", link="RS485-2")])
    rig.clock.advance(5)
    events = rig.do("link_fault", "RS485-1", "no reading from any gauge for 5.0 s")
    assert events[0].type == "alarm.link_fault" and events[0].source == "link:RS485-1"
    assert events[0].payload["alarm"] == "RS485-1:link"
    assert events[0].payload["kind"] == "link" and events[0].payload["gauge"] == "RS485-1"
    assert events[0].payload["priority"] == "high"
    assert [(e.type, e.payload["who"], e.payload["reason"]) for e in events[1:]] == [
        ("alarm.suppressed", "link:RS485-1", "link RS485-1 is down")] * 17
    for i in range(17):
        rig.do("comm_fault", f"GD-{200 + i}", "link RS485-1 down")
    announced = [a.id for a in rig.board.annunciated()]
    assert announced == ["RS485-1:link"]
    assert rig.engine.alarm("GD-205:comm").state == AlarmState.SUPPRESSED
    assert rig.engine.alarm("GD-205:comm").active
    assert rig.engine.alarm("GD-900:comm").state == AlarmState.NORMAL
    assert rig.do("link_fault", "RS485-1") == []        # once
    with pytest.raises(UnknownAlarmError, match="no link 'RS485-9'"):
        rig.engine.link_fault("RS485-9")


def test_link_back_releases_gauges_that_answer_and_later_announces_silent_ones() -> None:
    rig = Rig(line(3), settings=AlarmSettings(link_release_s=30.0))
    rig.do("link_fault", "RS485-1")
    for i in range(3):
        rig.do("comm_fault", f"GD-{200 + i}")
    rig.clock.advance(10)
    events = rig.do("link_restored", "RS485-1")
    assert kinds(events) == [("alarm.link_restored", "RS485-1:link", "rtn_unack")]
    rig.read(5.0, gid="GD-200")
    assert rig.state("GD-200:comm") == AlarmState.NORMAL
    rig.do("comm_restored", "GD-201")
    assert rig.state("GD-201:comm") == AlarmState.NORMAL
    assert rig.state("GD-202:comm") == AlarmState.SUPPRESSED   # still silent: held back …
    assert rig.tick(after=29) == []
    events = rig.tick(after=1)                                 # … until the release time
    assert kinds(events) == [("alarm.unsuppressed", "GD-202:comm", "unack_active")]
    assert rig.tick(after=60) == []
    assert [a.id for a in rig.board.annunciated()] == ["RS485-1:link", "GD-202:comm"]


def test_a_reading_proves_the_link_works() -> None:
    rig = Rig(line(2))
    rig.do("link_fault", "RS485-1")
    rig.do("comm_fault", "GD-200")
    events = rig.read(5.0, after=1, gid="GD-200")
    assert [(e.type, e.payload["alarm"]) for e in events] == [
        ("alarm.link_restored", "RS485-1:link"), ("alarm.unsuppressed", "GD-201:comm"),
        ("alarm.comm_restored", "GD-200:comm"), ("alarm.unsuppressed", "GD-200:comm")]
    assert rig.state("GD-200:comm") == AlarmState.NORMAL
    assert rig.state("GD-201:comm") == AlarmState.NORMAL      # never faulted: released at once
    assert rig.do("link_restored", "RS485-1") == []


def test_a_gauge_faulted_before_its_link_went_down_is_held_back_too() -> None:
    rig = Rig(line(2))
    rig.do("comm_fault", "GD-200")
    assert rig.state("GD-200:comm") == AlarmState.UNACK_ACTIVE
    rig.do("link_fault", "RS485-1")
    assert rig.state("GD-200:comm") == AlarmState.SUPPRESSED
    assert [a.id for a in rig.board.annunciated()] == ["RS485-1:link"]


def test_link_hold_does_not_end_a_suppression_by_design() -> None:
    rig = Rig(line(1))
    rig.do("suppress", "GD-200:comm", "unit shut down")
    rig.do("link_fault", "RS485-1")
    rig.read(5.0, after=1, gid="GD-200")
    hold = rig.engine.alarm("GD-200:comm").suppression
    assert hold is not None and hold.reason == "unit shut down"


def test_resume_keeps_the_link_alarm_and_releases_held_gauges_in_time() -> None:
    rig = Rig(line(2), settings=AlarmSettings(link_release_s=30.0))
    rig.do("link_fault", "RS485-1")
    rig.do("comm_fault", "GD-200")
    rig.do("link_restored", "RS485-1")
    board = AlarmBoard()
    board.replay(rig.log)
    clock = ScriptedClock(rig.clock.now() + timedelta(hours=1))
    engine = AlarmEngine(line(2), clock, settings=rig.engine.settings)
    assert engine.resume(board.alarms().values()) == []
    assert engine.alarm("GD-200:comm").state == AlarmState.SUPPRESSED
    clock.advance(30)
    assert kinds(engine.tick()) == [("alarm.unsuppressed", "GD-200:comm", "unack_active")]


def test_link_alarm_is_counted_as_one_alarm_in_the_load() -> None:
    from commandcenter.core.alarm_kpi import alarm_load

    rig = Rig(line(17))
    rig.do("link_fault", "RS485-1")
    for i in range(17):
        rig.do("comm_fault", f"GD-{200 + i}")
    load = alarm_load(rig.log, T0 - timedelta(minutes=1), T0 + timedelta(minutes=10))
    assert load.total == 1 and load.floods == ()
    assert [b.alarm for b in load.bad_actors] == ["RS485-1:link"]


# --------------------------------------------------------------------------- gauges out of service


def test_gauge_out_of_service_and_back() -> None:
    rig = Rig()
    rig.read(30.0)
    rig.clock.advance(5)
    events = rig.do("remove_gauge_from_service", GD, "tech.li", "calibration")
    assert {e.type for e in events} == {"alarm.out_of_service"}
    assert [e.payload["alarm"] for e in events] == rig.engine.alarm_ids(GD)
    assert {(e.payload["who"], e.payload["reason"]) for e in events} == {
        ("tech.li", "calibration")}
    assert rig.board.gauge_out_of_service(GD)
    assert rig.board.annunciated() == []
    with pytest.raises(ActionRefusedError, match="gauge GD-101 is already out of service"):
        rig.engine.remove_gauge_from_service(GD, "op", "again")
    with pytest.raises(ActionRefusedError, match="reason"):
        rig.engine.remove_gauge_from_service("GD-102", "op", " ")
    with pytest.raises(UnknownAlarmError, match="no gauge 'GD-999'"):
        rig.engine.remove_gauge_from_service("GD-999", "op", "x")
    events = rig.do("return_gauge_to_service", GD, "tech.li")
    assert {e.type for e in events} == {"alarm.returned_to_service"}
    assert not rig.board.gauge_out_of_service(GD)
    assert {a.id for a in rig.board.standing() if not a.acknowledged} == {PRE, A1}  # anew
    with pytest.raises(ActionRefusedError, match="gauge GD-101 is not out of service"):
        rig.engine.return_gauge_to_service(GD, "op")


def test_gauge_out_of_service_takes_only_the_alarms_still_in_service() -> None:
    rig = Rig()
    rig.do("remove_from_service", A2, "op", "sensor head replaced")
    events = rig.do("remove_gauge_from_service", GD, "op", "calibration")
    assert A2 not in [e.payload["alarm"] for e in events]
    assert len(events) == len(rig.engine.alarm_ids(GD)) - 1


# --------------------------------------------------------------------------- rule suppression


def pressure(rule: dict[str, Any] | None = None) -> Gauge:
    return Gauge.model_validate({
        "id": "PT-210", "kind": "pressure", "name": {"zh": "反应器压力"}, "unit": "MPa",
        "link": "TCP-1", "address": {"slave": 1, "register": 10}, "location": (30.0, 120.0),
        "range": (0.0, 6.0), "thresholds": [
            {"level": "alarm1", "direction": "low", "value": 2.5},
            {"level": "alarm1", "direction": "high", "value": 3.8}],
        "suppressed_when": rule or {"gauge": "FT-210", "below": 50},
    })


def flow() -> Gauge:
    return Gauge.model_validate({
        "id": "FT-210", "kind": "flow", "name": {"zh": "进料流量"}, "unit": "m3/h",
        "link": "TCP-1", "address": {"slave": 1, "register": 12}, "location": (30.0, 120.0),
        "range": (0.0, 5000.0), "deadband": 5.0})


LOW, HIGH = "PT-210:low:alarm1", "PT-210:high:alarm1"


def test_a_shut_down_unit_suppresses_its_low_alarms_by_design() -> None:
    rig = Rig([pressure(), flow()])
    rig.read(1000.0, gid="FT-210")
    rig.read(2.0, after=1, gid="PT-210")
    assert rig.state(LOW) == AlarmState.UNACK_ACTIVE
    events = rig.read(10.0, after=1, gid="FT-210")                 # feed stopped
    assert kinds(events) == [("alarm.suppressed", LOW, "suppressed")]
    assert (events[0].source, events[0].payload["who"], events[0].payload["reason"]) == (
        "logic:rule:FT-210", "rule:FT-210", "FT-210 below 50 m3/h")
    assert rig.state(HIGH) == AlarmState.NORMAL                    # only the low ones
    assert rig.board.annunciated() == []
    assert rig.read(52.0, after=1, gid="FT-210") == []             # inside the deadband: held
    events = rig.read(60.0, after=1, gid="FT-210")                 # running again
    assert kinds(events) == [("alarm.unsuppressed", LOW, "unack_active")]  # still low: anew
    rig.read(3.0, after=1, gid="PT-210")
    rig.do("acknowledge", LOW, "op")
    assert rig.state(LOW) == AlarmState.NORMAL


def test_a_decider_that_cannot_be_trusted_suppresses_nothing() -> None:
    rig = Rig([pressure({"gauge": "FT-210", "above": 4000, "alarms": "all"}), flow()])
    events = rig.read(4500.0, gid="FT-210")
    assert sorted(kinds(events)) == [("alarm.suppressed", HIGH, "suppressed"),
                                     ("alarm.suppressed", LOW, "suppressed")]
    events = rig.do("comm_fault", "FT-210")                        # blind decider: fail-safe
    assert sorted(e.type for e in events) == ["alarm.comm_fault", "alarm.unsuppressed",
                                              "alarm.unsuppressed"]
    rig.read(4500.0, after=1, gid="FT-210")
    assert rig.state(LOW) == AlarmState.SUPPRESSED
    events = rig.read(math.nan, after=1, gid="FT-210")             # untrusted value: released
    assert [e.type for e in events].count("alarm.unsuppressed") == 2


def test_a_rule_leaves_other_suppressions_and_quality_alarms_alone() -> None:
    rig = Rig([pressure(), flow()])
    rig.do("suppress", LOW, "maintenance interlock", by="dcs")
    rig.read(10.0, gid="FT-210")
    rig.read(60.0, after=1, gid="FT-210")
    hold = rig.engine.alarm(LOW).suppression
    assert hold is not None and hold.by == "dcs"
    rig.do("comm_fault", "PT-210")
    assert rig.state("PT-210:comm") == AlarmState.UNACK_ACTIVE


def test_suppression_rules_are_checked() -> None:
    with pytest.raises(ValueError, match="give exactly one of below and above"):
        pressure({"gauge": "FT-210"})
    with pytest.raises(ValueError, match="give exactly one of below and above"):
        pressure({"gauge": "FT-210", "below": 1, "above": 2})
    with pytest.raises(ValueError, match="alarms"):
        pressure({"gauge": "FT-210", "below": 1, "alarms": "some"})
