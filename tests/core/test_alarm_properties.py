"""Property tests of the alarm engine: random readings, faults, time and operator actions."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from commandcenter.core.alarms import (
    ACTIVATIONS,
    ACTIVE_STATES,
    HIDDEN_STATES,
    RETURNS,
    ActionRefusedError,
    AlarmBoard,
    AlarmEngine,
    AlarmSettings,
    AlarmState,
)
from commandcenter.core.clock import ScriptedClock
from commandcenter.core.events import GENESIS_HASH, Event, RecordedEvent, record
from commandcenter.core.site import AlarmLevel, Gauge, GaugeKind, Text, Threshold

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _gauge(gid: str, kind: GaugeKind, unit: str, rng: tuple[float, float],
           limits: list[tuple[str, str, float]], **kw: Any) -> Gauge:
    return Gauge(id=gid, kind=kind, name=Text(zh=gid), unit=unit, link="L", address={},
                 location=(30.0, 120.0), range=rng,
                 thresholds=tuple(Threshold(level=AlarmLevel(lvl), direction=d, value=v)
                                  for lvl, d, v in limits), **kw)


GAUGES = [
    _gauge("GD-101", GaugeKind.COMBUSTIBLE_GAS, "%LEL", (0.0, 100.0),
           [("prealarm", "high", 10.0), ("alarm1", "high", 25.0), ("alarm2", "high", 50.0)],
           deadband=2.0, on_delay_s=3.0, off_delay_s=5.0),
    _gauge("GD-102", GaugeKind.COMBUSTIBLE_GAS, "%LEL", (0.0, 100.0),
           [("alarm1", "high", 25.0), ("alarm2", "high", 50.0)], latching=True,
           suppressed_when={"gauge": "OX-201", "below": 19.0, "alarms": "all"}),
    _gauge("OX-201", GaugeKind.O2, "%VOL", (0.0, 30.0),
           [("alarm1", "low", 19.5), ("alarm2", "low", 18.0), ("alarm1", "high", 23.5)],
           deadband=0.3),
]
GAUGE_IDS = [g.id for g in GAUGES]
ALARM_IDS = [aid for g in GAUGES for aid in AlarmEngine([g], ScriptedClock(T0)).alarm_ids(g.id)]


def _value(g: Gauge) -> st.SearchStrategy[float]:
    lo, hi = g.range
    limits = [t.value for t in g.thresholds]
    near = st.sampled_from(limits).flatmap(
        lambda v: st.floats(v - 3.0, v + 3.0).map(lambda x: min(max(x, lo), hi)))
    bad = st.sampled_from([math.nan, math.inf, -math.inf, hi + 1.0, lo - 0.5])
    return st.one_of(near, near, st.floats(lo, hi), bad)


reads = st.integers(0, len(GAUGES) - 1).flatmap(
    lambda i: st.tuples(st.just("read"), st.just(GAUGE_IDS[i]), _value(GAUGES[i]),
                        st.sampled_from([0.0, 0.5, 1.0, 2.0, 4.0, 6.0, 30.0])))
alarm_ix = st.one_of(st.integers(0, 15), st.integers(0, 15), st.sampled_from(ALARM_IDS))
"""An alarm id, or a number: the n-th alarm (cyclically) that is not normal when the op runs."""
ops = st.one_of(
    reads, reads, reads, reads, reads, reads,
    st.tuples(st.just("tick"), st.sampled_from([0.5, 1.0, 3.0, 10.0, 60.0, 600.0])),
    st.tuples(st.just("comm_fault"), st.sampled_from(GAUGE_IDS)),
    st.tuples(st.just("comm_restored"), st.sampled_from(GAUGE_IDS)),
    st.tuples(st.just("acknowledge"), alarm_ix),
    st.tuples(st.just("acknowledge_all")),
    st.tuples(st.just("shelve"), alarm_ix, st.sampled_from([None, 1.0, 5.0, 30.0])),
    st.tuples(st.just("unshelve"), alarm_ix),
    st.tuples(st.just("reset"), alarm_ix),
    st.tuples(st.just("comment"), alarm_ix),
    st.tuples(st.just("remove_from_service"), alarm_ix),
    st.tuples(st.just("return_to_service"), alarm_ix),
    st.tuples(st.just("suppress"), alarm_ix),
    st.tuples(st.just("unsuppress"), alarm_ix),
    st.tuples(st.just("confirm"), alarm_ix),
    st.tuples(st.just("link_fault")),
    st.tuples(st.just("link_restored")),
    st.tuples(st.just("remove_gauge_from_service"), st.sampled_from(GAUGE_IDS)),
    st.tuples(st.just("return_gauge_to_service"), st.sampled_from(GAUGE_IDS)),
)


@dataclass
class Run:
    clock: ScriptedClock = field(default_factory=lambda: ScriptedClock(T0))
    engine: AlarmEngine = field(init=False)
    board: AlarmBoard = field(default_factory=AlarmBoard)
    log: list[RecordedEvent] = field(default_factory=list)
    bad_read_events: list[Event] = field(default_factory=list)
    raised_signals: list[AlarmState] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.engine = AlarmEngine(GAUGES, self.clock,
                                  settings=AlarmSettings(realarm_s=120.0, max_shelve_min=60))
        self.board.raised.connect(lambda a: self.raised_signals.append(a.state))

    def feed(self, events: list[Event]) -> None:
        for ev in events:
            prev = self.log[-1].hash if self.log else GENESIS_HASH
            rec = record(ev, seq=len(self.log) + 1, ts=self.clock.now(), prev_hash=prev)
            self.log.append(rec)
            self.board.apply(rec)

    def run(self, op: tuple[Any, ...]) -> None:
        name, *args = op
        e = self.engine
        if args and isinstance(args[0], int):
            standing = sorted(aid for aid, a in e.alarms().items()
                              if a.state != AlarmState.NORMAL) or ALARM_IDS
            args[0] = standing[args[0] % len(standing)]
        try:
            if name == "read":
                gid, value, dt = args
                self.clock.advance(dt)
                events = e.process(gid, value)
                if not (math.isfinite(value) and 0 <= value <= (30 if gid == "OX-201" else 100)):
                    self.bad_read_events.extend(events)
            elif name == "tick":
                self.clock.advance(args[0])
                events = e.tick()
            elif name in ("comm_fault", "comm_restored"):
                events = getattr(e, name)(args[0])
            elif name in ("link_fault", "link_restored"):
                events = getattr(e, name)("L")
            elif name == "confirm":
                events = e.confirm(args[0], "op", "seen on site")
            elif name == "remove_gauge_from_service":
                events = e.remove_gauge_from_service(args[0], "op", "calibration")
            elif name == "acknowledge_all":
                events = e.acknowledge_all("op")
            elif name == "shelve":
                events = e.shelve(args[0], "op", "property test", minutes=args[1])
            elif name == "comment":
                events = e.comment(args[0], "op", "note")
            elif name == "remove_from_service":
                events = e.remove_from_service(args[0], "op", "maintenance")
            elif name == "suppress":
                events = e.suppress(args[0], "logic")
            elif name == "unsuppress":
                events = e.unsuppress(args[0])
            else:
                events = getattr(e, name)(args[0], "op")
        except ActionRefusedError:
            return
        self.feed(events)


def _play(sequence: list[tuple[Any, ...]]) -> Run:
    run = Run()
    for op in sequence:
        run.run(op)
        alarms = run.engine.alarms()
        assert run.board.alarms() == alarms
        for a in alarms.values():
            if a.state in ACTIVE_STATES:
                assert a.active and a.latched == a.spec.latching
            if a.state == AlarmState.NORMAL:
                assert not a.active and a.acknowledged and not a.latched
            if a.state == AlarmState.LATCHED:
                assert not a.active and a.spec.latching
    return run


SEQUENCES = st.lists(ops, max_size=80)


@settings(max_examples=300, deadline=None)
@given(SEQUENCES)
def test_replaying_the_log_gives_the_live_state(sequence: list[tuple[Any, ...]]) -> None:
    run = _play(sequence)
    fresh = AlarmBoard()
    fresh.replay(run.log)
    assert fresh.alarms() == run.engine.alarms()
    assert fresh.skipped == 0


@settings(max_examples=300, deadline=None)
@given(SEQUENCES)
def test_states_chain_and_active_alarms_never_vanish(sequence: list[tuple[Any, ...]]) -> None:
    run = _play(sequence)
    last: dict[str, str] = {}
    for ev in run.log:
        p = ev.payload
        before, after = p["state_before"], p["state_after"]
        assert before == last.get(p["alarm"], "normal"), "state_before continues the chain"
        last[p["alarm"]] = after
        if before == AlarmState.UNACK_ACTIVE:
            assert after != AlarmState.NORMAL, f"{ev.type} dropped an unacknowledged alarm"
        if before == AlarmState.ACK_ACTIVE and after == AlarmState.NORMAL:
            assert ev.type in ("alarm.cleared", "alarm.comm_restored",
                               "alarm.link_restored"), ev.type
        if before == AlarmState.RTN_UNACK and after == AlarmState.NORMAL:
            assert ev.type == "alarm.acknowledged"
        if before == AlarmState.LATCHED and after == AlarmState.NORMAL:
            assert ev.type == "alarm.reset"
        if ev.type in ACTIVATIONS and before in HIDDEN_STATES:
            assert after == before, "a hidden alarm is not announced"
    assert all(state == AlarmState.UNACK_ACTIVE for state in run.raised_signals)


@settings(max_examples=300, deadline=None)
@given(SEQUENCES)
def test_untrusted_values_never_clear_limit_alarms(sequence: list[tuple[Any, ...]]) -> None:
    ranges = {g.id: g.range for g in GAUGES}
    run = _play(sequence)
    for ev in run.bad_read_events:
        if ev.payload["kind"] == "process":
            assert ev.type not in RETURNS, ev
            if ev.type in ACTIVATIONS:
                # Only a reading pegged beyond full scale raises, driven with the range end.
                assert ev.payload["value"] in ranges[ev.payload["gauge"]], ev


@settings(max_examples=200, deadline=None)
@given(SEQUENCES, st.sampled_from([0.0, 1.0, 3600.0, 86400.0]))
def test_restart_keeps_every_alarm_and_ends_unknown_shelving(
        sequence: list[tuple[Any, ...]], downtime: float) -> None:
    run = _play(sequence)
    board = AlarmBoard()
    board.replay(run.log)
    clock = ScriptedClock(run.clock.now() + timedelta(seconds=downtime))
    engine = AlarmEngine(GAUGES, clock, settings=run.engine.settings)
    events = engine.resume(board.alarms().values())
    for ev in events:
        assert ev.type == "alarm.unshelved" and ev.payload["automatic"] is True
        board.apply(record(ev, seq=board.last_seq + 1, ts=clock.now(), prev_hash=GENESIS_HASH))
    assert board.alarms() == engine.alarms()
    for aid, before in run.engine.alarms().items():
        after = engine.alarm(aid)
        assert after.active == before.active
        if after.shelving is not None:
            assert not after.shelving.one_shot
            assert after.shelving.until is not None and after.shelving.until > clock.now()


@settings(max_examples=300, deadline=None)
@given(deadband=st.floats(0.5, 10.0),
       noise=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=80),
       first=st.floats(25.0, 100.0))
def test_deadband_prevents_chattering_on_noise_inside_it(
        deadband: float, noise: list[float], first: float) -> None:
    g = _gauge("GD-1", GaugeKind.COMBUSTIBLE_GAS, "%LEL", (0.0, 100.0),
               [("alarm1", "high", 25.0)], deadband=deadband)
    clock = ScriptedClock(T0)
    engine = AlarmEngine([g], clock)
    events = engine.process("GD-1", first)
    low = 25.0 - deadband
    for x in noise:  # anything from the clear point up: the alarm must hold
        clock.advance(1)
        events += engine.process("GD-1", low + x * (100.0 - low))
    assert [e.type for e in events] == ["alarm.raised"]


@settings(max_examples=200, deadline=None)
@given(delay=st.floats(2.0, 30.0),
       pulses=st.lists(st.tuples(st.floats(0.0, 0.95), st.floats(0.1, 20.0)), max_size=20))
def test_on_delay_ignores_excursions_shorter_than_the_delay(
        delay: float, pulses: list[tuple[float, float]]) -> None:
    g = _gauge("GD-1", GaugeKind.COMBUSTIBLE_GAS, "%LEL", (0.0, 100.0),
               [("alarm1", "high", 25.0)], on_delay_s=delay)
    clock = ScriptedClock(T0)
    engine = AlarmEngine([g], clock)
    events: list[Event] = []
    for share, gap in pulses:
        events += engine.process("GD-1", 40.0)
        clock.advance(share * delay)
        events += engine.tick() + engine.process("GD-1", 40.0)
        events += engine.process("GD-1", 10.0)
        clock.advance(gap)
        events += engine.tick()
    assert events == []
