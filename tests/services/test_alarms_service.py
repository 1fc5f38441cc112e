"""The alarm service on a scripted clock with a real SQLite event log and gauge history."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from commandcenter.core.alarms import (
    ActionRefusedError,
    AlarmBoard,
    AlarmState,
    UnknownAlarmError,
)
from commandcenter.core.events import Event, RecordedEvent
from commandcenter.core.incidents import INCIDENT_ACTIVATED, INCIDENT_CLOSED
from commandcenter.devices.base import Reading
from commandcenter.services.alarms import (
    DRILL_ENDED,
    DRILL_STARTED,
    AlarmService,
    SyncedAlarmEngine,
    create,
)
from commandcenter.services.protocols import AlarmDesk
from commandcenter.services.runtime import build_runtime

GD = "GD-101"
OX = "OX-201"
PRE, A1, A2 = f"{GD}:high:prealarm", f"{GD}:high:alarm1", f"{GD}:high:alarm2"
T0 = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)


def run(coro_fn: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        await asyncio.wait_for(coro_fn(), 60)

    asyncio.run(main())


def make(plant: Any, **kw: Any) -> AlarmService:
    kw.setdefault("connect_gauges", False)
    kw.setdefault("tick_s", 3600.0)
    kw.setdefault("poll_s", 0.05)
    return AlarmService(plant.services(), **kw)


def feed(svc: AlarmService, gid: str, value: float, after: float = 1.0) -> None:
    ts = svc.clock.advance(after)
    svc.reading(Reading(gid, value, ts))


def alarm_events(svc: AlarmService) -> list[RecordedEvent]:
    return [e for e in svc.log.read() if e.type.startswith("alarm.")]


def test_the_service_is_an_alarm_desk_and_a_registered_component(plant: Any) -> None:
    svc = make(plant)
    desk: AlarmDesk = svc
    assert desk.board is svc.board and desk.trends.gauge_ids() == [GD, OX]
    runtime = build_runtime(svc.services, ("commandcenter.services.alarms:create",))
    comp = runtime.get("alarms", AlarmService)
    assert comp is not None and comp.name == "alarms"
    assert isinstance(create(runtime), AlarmService)


def test_readings_raise_alarms_into_the_log_and_onto_the_board(plant: Any) -> None:
    svc = make(plant)
    seen: list[tuple[str, str, int]] = []
    loop_thread: list[int] = []
    for name in ("raised", "changed", "cleared"):
        getattr(svc.board, name).connect(
            lambda a, name=name: seen.append((name, a.id, threading.get_ident())))

    async def scenario() -> None:
        loop_thread.append(threading.get_ident())
        await svc.start()
        for v in (5.0, 12.0, 30.0, 55.0, 30.0, 3.0):
            feed(svc, GD, v)
        await svc.settle()
        await svc.stop()

    run(scenario)
    events = alarm_events(svc)
    # Order per gauge is the order of the readings.
    assert [(e.type, e.payload["alarm"]) for e in events] == [
        ("alarm.raised", PRE), ("alarm.raised", A1), ("alarm.raised", A2),
        ("alarm.returned", A2), ("alarm.returned", A1), ("alarm.returned", PRE),
    ]
    assert all(e.source == f"gauge:{GD}" for e in events)
    assert events[2].payload["value"] == 55.0 and events[2].payload["plans"] == ["PLAN-GAS-L1"]
    board = svc.board
    assert board.last_seq == svc.log.last_seq()
    assert {a.id: a.state for a in board.standing()} == {
        PRE: AlarmState.RTN_UNACK, A1: AlarmState.RTN_UNACK, A2: AlarmState.RTN_UNACK}
    assert board.alarms() == {aid: svc.engine.alarm(aid) for aid in board.alarms()}
    # Board signals fire on the loop thread (the GUI thread under qasync), never the writer's.
    assert [s[:2] for s in seen[:3]] == [("raised", PRE), ("raised", A1), ("raised", A2)]
    assert {s[2] for s in seen} == set(loop_thread)
    # Live state for the screens.
    status = svc.gauge_status(GD)
    assert status.value == 3.0 and status.available and status.ts == T0 + timedelta(seconds=6)
    t, v = svc.trends.get(GD).snapshot()
    assert list(v) == [5.0, 12.0, 30.0, 55.0, 30.0, 3.0]
    assert t[-1] == status.ts.timestamp()
    assert svc.gauge_status(OX).value is None and not svc.gauge_status(OX).available


def test_operator_actions_are_recorded_before_they_return(plant: Any) -> None:
    svc = make(plant)

    async def scenario() -> None:
        await svc.start()
        feed(svc, GD, 30.0)
        feed(svc, OX, 18.0)
        await svc.settle()
        await svc.acknowledge(A1, "zhang.wei")
        assert svc.board.alarm(A1).state == AlarmState.ACK_ACTIVE  # type: ignore[union-attr]
        with pytest.raises(ActionRefusedError, match=A1):
            await svc.acknowledge(A1, "zhang.wei")
        with pytest.raises(UnknownAlarmError):
            await svc.acknowledge("GD-999:comm", "zhang.wei")
        await svc.shelve(f"{OX}:low:alarm1", "li.na", "sensor being calibrated", 30)
        await svc.comment(A1, "zhang.wei", "field operator sent to check")
        await svc.acknowledge_all("zhang.wei", GD)
        with pytest.raises(ActionRefusedError):
            await svc.shelve(A1, "li.na", "  ", 10)
        await svc.stop()

    run(scenario)
    ops = [e for e in alarm_events(svc) if e.source.startswith("operator:")]
    assert [(e.type, e.payload["alarm"], e.source) for e in ops] == [
        ("alarm.acknowledged", A1, "operator:zhang.wei"),
        ("alarm.shelved", f"{OX}:low:alarm1", "operator:li.na"),
        ("alarm.comment", A1, "operator:zhang.wei"),
        ("alarm.acknowledged", PRE, "operator:zhang.wei"),
    ]
    shelved = svc.board.alarm(f"{OX}:low:alarm1")
    assert shelved is not None and shelved.state == AlarmState.SHELVED
    assert shelved.shelving is not None and shelved.shelving.until == T0 + timedelta(
        seconds=2, minutes=30)
    assert svc.board.unacknowledged() == []


def test_actions_need_a_running_service(plant: Any) -> None:
    svc = make(plant)

    async def scenario() -> None:
        with pytest.raises(Exception, match="not running"):
            await svc.acknowledge(A1, "zhang.wei")

    run(scenario)


def test_restart_rebuilds_the_board_and_timed_shelving_continues(plant: Any) -> None:
    first = make(plant)

    async def before() -> None:
        await first.start()
        feed(first, GD, 30.0)
        feed(first, OX, 18.0)
        await first.settle()
        await first.shelve(A1, "li.na", "known leak, crew on site", 10)
        await first.shelve(PRE, "li.na", "until it clears", None)
        await first.stop()

    run(before)
    plant.logs[0].close()
    board_before = first.board.alarms()

    second = make(plant)
    raised: list[str] = []

    async def after() -> None:
        await second.start()
        await second.settle()
        second.board.raised.connect(lambda a: raised.append(a.id))
        # Same alarms as before the restart, except that one-shot shelving cannot be trusted
        # across a restart: that alarm is unshelved and announced again.
        a1 = second.board.alarm(A1)
        assert a1 is not None and a1.state == AlarmState.SHELVED
        assert a1 == board_before[A1]
        pre = second.board.alarm(PRE)
        assert pre is not None and pre.state == AlarmState.UNACK_ACTIVE
        assert second.board.alarm(f"{OX}:low:alarm1") == board_before[f"{OX}:low:alarm1"]
        second.clock.advance(9 * 60)
        second.tick()
        await second.settle()
        assert second.board.alarm(A1).state == AlarmState.SHELVED  # type: ignore[union-attr]
        second.clock.advance(60)
        second.tick()
        await second.settle()
        await second.stop()

    run(after)
    a1 = second.board.alarm(A1)
    assert a1 is not None and a1.state == AlarmState.UNACK_ACTIVE
    unshelved = [e for e in alarm_events(second) if e.type == "alarm.unshelved"]
    assert [(e.payload["alarm"], e.payload["reason"]) for e in unshelved] == [
        (PRE, "shelving state unknown after a restart"), (A1, "shelving time ran out")]
    assert raised == [A1]
    assert second.engine.alarms() == second.board.alarms()


def test_events_appended_by_another_process_reach_board_and_engine(plant: Any) -> None:
    svc = make(plant)

    def cli_action(action: str, *args: Any) -> None:
        # What `commandcenter alarms …` does: its own log instance on the same database.
        other = plant.open_log()
        board = AlarmBoard()
        board.replay(other.read())
        engine = SyncedAlarmEngine(plant.site.gauges.values(), plant.clock,
                                   plans=plant.site.plans.values())
        engine.adopt(board.alarms().values())
        other.append_many(getattr(engine, action)(*args))
        other.close()

    async def scenario() -> None:
        await svc.start()
        feed(svc, GD, 30.0)
        await svc.settle()
        await asyncio.to_thread(cli_action, "acknowledge", A1, "wang.fang")
        # The poll picks it up without being asked.
        for _ in range(200):
            if svc.board.alarm(A1).state == AlarmState.ACK_ACTIVE:  # type: ignore[union-attr]
                break
            await asyncio.sleep(0.02)
        assert svc.board.alarm(A1).acked_by == "wang.fang"  # type: ignore[union-attr]
        # The engine learnt of it: no second acknowledgement, and a clean return to normal.
        with pytest.raises(ActionRefusedError, match="already acknowledged"):
            await svc.acknowledge(A1, "zhang.wei")
        await asyncio.to_thread(cli_action, "shelve", PRE, "wang.fang", "checking", None)
        await svc.settle()
        assert svc.engine.alarm(PRE).state == AlarmState.SHELVED
        feed(svc, GD, 2.0)
        await svc.settle()
        await svc.stop()

    run(scenario)
    tail = alarm_events(svc)[-3:]
    assert [(e.type, e.payload["alarm"], e.payload["state_after"]) for e in tail] == [
        ("alarm.cleared", A1, "normal"),
        ("alarm.returned", PRE, "shelved"),
        ("alarm.unshelved", PRE, "normal"),
    ]
    assert svc.engine.alarms() == svc.board.alarms()


def test_loss_of_communication_is_an_alarm_and_the_gauge_is_not_available(plant: Any) -> None:
    svc = make(plant)

    async def scenario() -> None:
        await svc.start()
        feed(svc, OX, 20.9)
        await svc.settle()
        assert svc.gauge_status(OX).available
        svc.comm_fault(OX, "no answer from slave 2", svc.clock.advance(5))
        await svc.settle()
        comm = svc.board.alarm(f"{OX}:comm")
        assert comm is not None and comm.state == AlarmState.UNACK_ACTIVE
        assert comm.detail == "no answer from slave 2"
        status = svc.gauge_status(OX)
        assert not status.available and status.value == 20.9  # stale, never "normal"
        assert svc.board.blind(OX)
        svc.comm_restored(OX, svc.clock.advance(5))
        feed(svc, OX, 20.8)
        await svc.settle()
        assert svc.gauge_status(OX).available and not svc.board.blind(OX)
        svc.reading(Reading("XX-404", 1.0, svc.clock.now()))  # not on the site: ignored
        await svc.stop()

    run(scenario)
    comm = [(e.type, e.payload["state_after"]) for e in alarm_events(svc)
            if e.payload["alarm"] == f"{OX}:comm"]
    assert comm == [("alarm.comm_fault", "unack_active"), ("alarm.comm_restored", "rtn_unack")]


def test_history_writes_one_row_per_gauge_per_minute(plant: Any) -> None:
    svc = make(plant)

    async def scenario() -> None:
        await svc.start()
        # 08:00:10 … 08:02:50, a reading of each gauge every 10 s.
        for i in range(1, 18):
            ts = svc.clock.advance(10)
            svc.reading(Reading(GD, float(i), ts))
            svc.reading(Reading(OX, 20.0 + (i % 2), ts))
            if i == 9:
                svc.reading(Reading(GD, math.nan, ts))  # not a number: not in the statistics
            svc.tick()
        await svc.settle()
        assert await asyncio.to_thread(svc.history.flush, 10)
        rows = svc.history.minutes(None, T0, T0 + timedelta(hours=1))
        # Only closed minutes are written while running.
        assert [(r.gauge_id, r.minute) for r in rows] == [
            (GD, T0), (GD, T0 + timedelta(minutes=1)),
            (OX, T0), (OX, T0 + timedelta(minutes=1))]
        await svc.stop()

    run(scenario)
    # Stopping writes the minute still open.
    rows = svc.history.minutes(GD, T0, T0 + timedelta(hours=1))
    assert [(r.minute.minute, r.min, r.avg, r.max, r.count) for r in rows] == [
        (0, 1.0, 3.0, 5.0, 5), (1, 6.0, 8.5, 11.0, 6), (2, 12.0, 14.5, 17.0, 6)]
    ox = svc.history.minutes(OX, T0, T0 + timedelta(hours=1))
    assert [(r.min, r.max, r.count) for r in ox] == [(20.0, 21.0, 5), (20.0, 21.0, 6),
                                                     (20.0, 21.0, 6)]
    # No incident, no drill: nothing at full rate.
    assert svc.history.readings(None, T0, T0 + timedelta(hours=1)) == []


def test_full_rate_history_only_while_an_incident_is_open_or_a_drill_runs(plant: Any) -> None:
    svc = make(plant, lead_up=timedelta(0))
    other = plant.open_log()

    async def append(event: Event) -> None:
        await asyncio.to_thread(other.append, event)
        await svc.settle()

    async def scenario() -> None:
        await svc.start()
        feed(svc, GD, 1.0)
        await append(Event(INCIDENT_ACTIVATED, "operator:zhang.wei", {"plan": "PLAN-GAS-L1"},
                           incident_id="INC-1"))
        assert svc.recording
        feed(svc, GD, 2.0)
        feed(svc, GD, math.inf)
        await append(Event(INCIDENT_CLOSED, "operator:zhang.wei", {}, incident_id="INC-1"))
        assert not svc.recording
        feed(svc, GD, 3.0)
        await append(Event(DRILL_STARTED, "drill:blind-01", {}, drill_id="DR-1"))
        feed(svc, OX, 20.5)
        await append(Event(DRILL_ENDED, "drill:blind-01", {}, drill_id="DR-1"))
        feed(svc, OX, 20.6)
        svc.tick()
        await svc.stop()

    run(scenario)
    rows = svc.history.readings(None, T0, T0 + timedelta(hours=1))
    assert [(r.gauge_id, r.ts - T0, r.value) for r in rows] == [
        (GD, timedelta(seconds=2), 2.0), (GD, timedelta(seconds=3), None),
        (OX, timedelta(seconds=5), 20.5)]


def test_an_open_incident_found_in_the_log_at_start_records_at_full_rate(plant: Any) -> None:
    log = plant.open_log()
    log.append(Event(INCIDENT_ACTIVATED, "operator:zhang.wei", {}, incident_id="INC-7"))
    svc = make(plant)

    async def scenario() -> None:
        await svc.start()
        assert svc.recording
        feed(svc, OX, 20.9)
        await svc.stop()

    run(scenario)
    assert [r.value for r in svc.history.readings(OX, T0, T0 + timedelta(1))] == [20.9]


def test_simulated_gauge_driven_into_alarm_through_the_gauge_network(plant: Any) -> None:
    svc = make(plant, connect_gauges=True, simulate=True, tick_s=0.2)

    async def scenario() -> None:
        await svc.start()
        assert svc.network is not None
        simulator = svc.network.simulator  # type: ignore[attr-defined]
        simulator.set_override(GD, 60.0)
        for _ in range(200):  # the clock runs at about real speed (links poll every 1 s)
            svc.clock.advance(0.05)
            await asyncio.sleep(0.05)
            a2 = svc.board.alarm(A2)
            if a2 is not None and a2.active:
                break
        await svc.settle()
        await svc.stop()

    run(scenario)
    raised = [e for e in alarm_events(svc) if e.type == "alarm.raised"]
    assert [e.payload["alarm"] for e in raised][:3] == [PRE, A1, A2]
    assert raised[2].payload["value"] == 60.0
    assert svc.board.alarm(A2).state == AlarmState.UNACK_ACTIVE  # type: ignore[union-attr]
    assert svc.gauge_status(OX).value is not None
    assert not [e for e in alarm_events(svc) if e.type == "alarm.comm_fault"]


def test_lead_up_of_an_incident_is_written_at_full_rate_once(plant: Any) -> None:
    svc = make(plant, lead_up=timedelta(minutes=15))
    other = plant.open_log()

    async def append(event: Event) -> None:
        await asyncio.to_thread(other.append, event)
        await svc.settle()

    async def scenario() -> None:
        await svc.start()
        for i in range(1, 1201):                 # 20 minutes at 1 Hz, OX every 10 s
            feed(svc, GD, 1.0 + i % 7)
            if i % 10 == 0:
                svc.reading(Reading(OX, 20.9, svc.clock.now()))
        await append(Event(INCIDENT_ACTIVATED, "operator:zhang.wei", {"plan": "PLAN-GAS-L1"},
                           incident_id="INC-1"))
        feed(svc, GD, 9.0)                       # live, at full rate
        for _ in range(59):
            feed(svc, GD, 2.0)
        # A second incident and a drill opened meanwhile add nothing already written.
        await append(Event(INCIDENT_ACTIVATED, "operator:li.na", {}, incident_id="INC-2"))
        await append(Event(DRILL_STARTED, "drill:blind-01", {}, drill_id="DR-1"))
        feed(svc, GD, 3.0)
        svc.tick()
        await svc.stop()

    run(scenario)
    rows = svc.history.readings(GD, T0, T0 + timedelta(hours=1))
    times = [r.ts for r in rows]
    assert len(times) == len(set(times)), "no reading is written twice"
    opened = T0 + timedelta(seconds=1200)
    assert times[0] == opened - timedelta(minutes=15)
    assert times[-1] == opened + timedelta(seconds=61)
    assert len(rows) == 15 * 60 + 1 + 61
    assert [r.value for r in rows[:3]] == [1.0 + i % 7 for i in (300, 301, 302)]
    ox = svc.history.readings(OX, T0, T0 + timedelta(hours=1))
    assert [r.ts - T0 for r in ox][:2] == [timedelta(seconds=300), timedelta(seconds=310)]
    assert len(ox) == 91


def test_an_old_opening_replayed_at_start_writes_no_lead_up(plant: Any) -> None:
    log = plant.open_log()
    log.append(Event(INCIDENT_ACTIVATED, "operator:zhang.wei", {}, incident_id="INC-7"))
    log.append(Event(INCIDENT_CLOSED, "operator:zhang.wei", {}, incident_id="INC-7"))
    plant.clock.advance(3600 * 5)
    svc = make(plant)

    async def scenario() -> None:
        await svc.start()
        feed(svc, OX, 20.9)
        await svc.stop()

    run(scenario)
    assert svc.history.readings(None, T0, T0 + timedelta(1)) == []


def test_lead_up_must_not_be_negative(plant: Any) -> None:
    with pytest.raises(ValueError, match="lead_up must not be negative"):
        make(plant, lead_up=timedelta(minutes=-1))


def test_confirm_and_gauge_out_of_service_through_the_desk(plant: Any) -> None:
    svc = make(plant)

    async def scenario() -> None:
        await svc.start()
        feed(svc, GD, 12.0)
        await svc.settle()
        await svc.confirm(PRE, "zhang.wei", "gas smelt at the pump")
        pre = svc.board.alarm(PRE)
        assert pre is not None and pre.formal and pre.plans == ("PLAN-GAS-L1",)
        assert pre.state == AlarmState.ACK_ACTIVE
        with pytest.raises(ActionRefusedError, match=r"already confirmed by zhang\.wei"):
            await svc.confirm(PRE, "li.na")
        await svc.remove_gauge_from_service(OX, "tech.wu", "sensor replaced")
        assert svc.gauge_out_of_service(OX) and not svc.gauge_out_of_service(GD)
        with pytest.raises(ActionRefusedError, match="already out of service"):
            await svc.remove_gauge_from_service(OX, "tech.wu", "again")
        with pytest.raises(UnknownAlarmError, match="no gauge 'XX-1'"):
            await svc.return_gauge_to_service("XX-1", "tech.wu")
        await svc.return_gauge_to_service(OX, "tech.wu")
        assert not svc.gauge_out_of_service(OX)
        await svc.stop()

    run(scenario)
    ops = [(e.type, e.payload["alarm"]) for e in alarm_events(svc)
           if e.source.startswith("operator:")]
    assert ops[0] == ("alarm.confirmed", PRE)
    assert [t for t, _ in ops[1:]] == ["alarm.out_of_service"] * 3 + \
        ["alarm.returned_to_service"] * 3
    from commandcenter.services.alarms import alarm_summary

    summary = alarm_summary(svc.board.alarm(PRE))  # type: ignore[arg-type]
    assert (summary["formal"], summary["confirmed_by"], summary["confirm_note"],
            summary["plans"], summary["action"]) == (True, "zhang.wei", "gas smelt at the pump",
                                                     ["PLAN-GAS-L1"], "respond")


def test_a_dead_link_raises_one_alarm_through_the_sink(plant: Any) -> None:
    svc = make(plant)

    async def scenario() -> None:
        await svc.start()
        feed(svc, GD, 5.0)
        feed(svc, OX, 20.9)
        ts = svc.clock.advance(5)
        svc.link_fault("RS485-1", "no reading from any gauge for 2.5 s", ts)
        svc.comm_fault(GD, "link RS485-1 down", ts)
        svc.comm_fault(OX, "link RS485-1 down", ts)
        svc.link_fault("RS485-9", "not on this site", ts)     # ignored, logged once
        await svc.settle()
        assert [a.id for a in svc.board.annunciated()] == ["RS485-1:link"]
        assert not svc.gauge_status(GD).available and not svc.gauge_status(OX).available
        ts = svc.clock.advance(5)
        svc.link_restored("RS485-1", ts)
        svc.comm_restored(GD, ts)
        feed(svc, GD, 5.0, after=0)
        await svc.settle()
        assert svc.gauge_status(GD).available and not svc.gauge_status(OX).available
        assert svc.board.alarm(f"{OX}:comm").state == AlarmState.SUPPRESSED  # type: ignore
        await svc.stop()

    run(scenario)


def test_a_simulated_dead_line_is_one_link_alarm_not_one_per_gauge(plant: Any) -> None:
    svc = make(plant, connect_gauges=True, simulate=True, tick_s=0.2)

    async def scenario() -> None:
        await svc.start()
        assert svc.network is not None
        simulator = svc.network.simulator  # type: ignore[attr-defined]
        for _ in range(40):
            svc.clock.advance(0.05)
            await asyncio.sleep(0.05)
        simulator.fail("RS485-1")
        link = None
        for _ in range(400):  # the links poll every 1 s; the line is lost within three polls
            svc.clock.advance(0.05)
            await asyncio.sleep(0.05)
            link = svc.board.alarm("RS485-1:link")
            comm = [svc.board.alarm(f"{g}:comm") for g in (GD, OX)]
            if link is not None and link.active and all(c is not None and c.active
                                                          for c in comm):
                break
        await svc.settle()
        assert link is not None and link.state == AlarmState.UNACK_ACTIVE
        assert [a.id for a in svc.board.annunciated()] == ["RS485-1:link"]
        simulator.restore("RS485-1")
        for _ in range(400):
            svc.clock.advance(0.05)
            await asyncio.sleep(0.05)
            if svc.board.standing() and all(not a.active for a in svc.board.standing()) \
                    and svc.board.alarm(f"{OX}:comm").state == AlarmState.NORMAL:  # type: ignore
                break
        await svc.settle()
        await svc.stop()

    run(scenario)
    events = alarm_events(svc)
    announced = [e.payload["alarm"] for e in events if e.payload["state_after"] == "unack_active"]
    assert announced == ["RS485-1:link"]
    assert [e.type for e in events if e.payload["alarm"] == "RS485-1:link"] == [
        "alarm.link_fault", "alarm.link_restored"]
    assert {e.payload["alarm"] for e in events if e.type == "alarm.suppressed"} == {
        f"{GD}:comm", f"{OX}:comm"}
    assert svc.board.alarm(f"{GD}:comm").state == AlarmState.NORMAL  # type: ignore[union-attr]
