"""Alarm load figures on constructed event sequences with known answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commandcenter.core.alarm_kpi import (
    PRIORITY_TARGETS,
    AlarmLoad,
    LoadSettings,
    alarm_load,
)
from commandcenter.core.alarms import AlarmEngine
from commandcenter.core.clock import ScriptedClock
from commandcenter.core.events import GENESIS_HASH, Event, RecordedEvent, format_ts, record
from commandcenter.core.site import AlarmLevel, Gauge, GaugeKind, Text, Threshold

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
HOUR = T0 + timedelta(hours=1)


class Log:
    """Builds a recorded log of alarm events at chosen times."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []

    def add(self, type_: str, alarm: str, at: datetime, *, after: str = "unack_active",
            priority: str = "low", drill_id: str | None = None, **extra: Any) -> None:
        payload = {"alarm": alarm, "gauge": alarm.split(":", maxsplit=1)[0], "priority": priority,
                   "at": format_ts(at), "state_after": after, **extra}
        ev = Event(type_, f"gauge:{alarm.split(':', maxsplit=1)[0]}", payload, drill_id=drill_id)
        self.events.append(record(ev, seq=len(self.events) + 1, ts=at, prev_hash=GENESIS_HASH))

    def raised(self, alarm: str, *seconds: float, **kw: Any) -> None:
        for s in seconds:
            self.add("alarm.raised", alarm, T0 + timedelta(seconds=s), **kw)


def load(log: Log, start: datetime = T0, end: datetime = HOUR, **kw: Any) -> AlarmLoad:
    return alarm_load(log.events, start, end, LoadSettings(**kw))


def test_empty_window() -> None:
    r = load(Log())
    assert (r.total, r.average_per_interval, r.peak_per_interval, r.peak_interval_start) == (
        0, 0.0, 0, None)
    assert (r.floods, r.flood_percent, r.chattering, r.stale, r.bad_actors) == (
        (), 0.0, (), (), ())
    assert r.by_priority == {"high": 0, "medium": 0, "low": 0}
    assert r.priority_percent == {"high": 0.0, "medium": 0.0, "low": 0.0}
    assert r.bad_actor_share == 0.0


def test_rate_average_and_peak_per_ten_minutes() -> None:
    log = Log()
    for i in range(5):
        log.raised(f"G{i}:high:alarm1", 60.0 * i)            # 5 in 00:00-00:10
    for i in range(9):
        log.raised(f"H{i}:high:alarm1", 600.0 + 60.0 * i)    # 9 in 00:10-00:20
    for i in range(4):
        log.raised(f"K{i}:high:alarm1", 1800.0 + 100.0 * i)  # 4 in 00:30-00:40
    r = load(log)
    assert r.total == 18
    assert r.average_per_interval == pytest.approx(3.0)
    assert r.peak_per_interval == 9
    assert r.peak_interval_start == T0 + timedelta(minutes=10)
    assert r.floods == ()


def test_partial_interval_average_uses_the_real_window() -> None:
    log = Log()
    log.raised("G:high:alarm1", 10, 20, 30)
    r = load(log, end=T0 + timedelta(minutes=15))
    assert r.average_per_interval == pytest.approx(2.0)


def test_flood_starts_above_ten_and_ends_below_five() -> None:
    log = Log()
    # 11 alarms every 5 s from 00:10:00: the 11th (00:10:50) starts the flood
    log.raised("G:high:alarm1", *[600.0 + 5 * k for k in range(11)])
    r = load(log)
    assert len(r.floods) == 1
    f = r.floods[0]
    assert f.start == T0 + timedelta(minutes=10, seconds=50)
    # from 00:20:00 one alarm leaves the trailing 10 min every 5 s; at 00:20:30 four remain
    assert f.end == T0 + timedelta(minutes=20, seconds=30)
    assert (f.alarms, f.peak, f.ongoing) == (11, 11, False)
    assert f.duration == timedelta(seconds=580)
    assert r.flood_time == timedelta(seconds=580)
    assert r.flood_percent == pytest.approx(100 * 580 / 3600)


def test_ten_alarms_in_ten_minutes_is_not_a_flood() -> None:
    log = Log()
    log.raised("G:high:alarm1", *[5.0 * k for k in range(10)])
    assert load(log).floods == ()


def test_flood_still_running_at_the_end_of_the_window() -> None:
    log = Log()
    log.raised("G:high:alarm1", *[3000.0 + 10 * k for k in range(30)])
    (f,) = load(log).floods
    assert f.ongoing and f.end == HOUR
    assert f.start == T0 + timedelta(seconds=3100)
    assert f.peak == 30 and f.alarms == 30


def test_two_floods_and_their_thresholds_are_settings() -> None:
    log = Log()
    log.raised("G:high:alarm1", *[10.0 * k for k in range(4)])
    log.raised("G:high:alarm1", *[2000.0 + 10.0 * k for k in range(4)])
    r = load(log, flood_above=3, flood_below=2)
    assert [(f.start, f.end) for f in r.floods] == [
        (T0 + timedelta(seconds=30), T0 + timedelta(seconds=620)),
        (T0 + timedelta(seconds=2030), T0 + timedelta(seconds=2620))]


def test_chattering_is_three_activations_within_a_minute() -> None:
    log = Log()
    log.raised("CH:high:alarm1", 0, 20, 40, 300)         # 3 within 40 s
    log.raised("EDGE:high:alarm1", 0, 30, 60)            # first to last exactly 60 s
    log.raised("SLOW:high:alarm1", 0, 30, 60.5, 91)      # never 3 within 60 s
    log.raised("FAST:high:alarm1", 0, 1, 2, 3, 4)
    r = load(log)
    assert [(c.alarm, c.max_in_window, c.activations) for c in r.chattering] == [
        ("FAST:high:alarm1", 5, 5), ("CH:high:alarm1", 3, 4), ("EDGE:high:alarm1", 3, 3)]
    assert r.chattering[0].gauge == "FAST"
    assert [c.alarm for c in load(log, chatter_count=4).chattering] == ["FAST:high:alarm1"]


def test_stale_alarms_are_active_for_a_day() -> None:
    log = Log()
    day = 24 * 3600.0
    log.add("alarm.raised", "OLD:high:alarm1", HOUR - timedelta(hours=30))
    log.add("alarm.acknowledged", "OLD:high:alarm1", HOUR - timedelta(hours=29),
            after="ack_active")
    log.add("alarm.raised", "YOUNG:high:alarm1", HOUR - timedelta(seconds=day - 1))
    log.add("alarm.raised", "EXACT:high:alarm1", HOUR - timedelta(seconds=day))
    log.add("alarm.raised", "GONE:high:alarm1", HOUR - timedelta(hours=40))
    log.add("alarm.returned", "GONE:high:alarm1", HOUR - timedelta(hours=2), after="rtn_unack")
    log.add("alarm.raised", "HID:high:alarm1", HOUR - timedelta(hours=40))
    log.add("alarm.shelved", "HID:high:alarm1", HOUR - timedelta(hours=39), after="shelved")
    log.add("alarm.raised", "LATER:high:alarm1", HOUR + timedelta(hours=1))
    log.events.sort(key=lambda e: e.ts)
    r = load(log)
    assert [(s.alarm, s.state, s.since, s.duration) for s in r.stale] == [
        ("OLD:high:alarm1", "ack_active", HOUR - timedelta(hours=30), timedelta(hours=30)),
        ("EXACT:high:alarm1", "unack_active", HOUR - timedelta(hours=24),
         timedelta(hours=24))]
    assert r.stale[0].gauge == "OLD"
    assert r.total == 0  # all of them were raised before the window
    assert [s.alarm for s in load(log, stale_after=timedelta(hours=25)).stale] == [
        "OLD:high:alarm1"]


def test_bad_actors_are_the_top_ten_with_their_share() -> None:
    log = Log()
    for i in range(12):
        log.raised(f"G{i:02d}:high:alarm1", *[100.0 * i + k for k in range(12 - i)])
    r = load(log)
    total = sum(range(1, 13))
    assert r.total == total == 78
    assert [(b.alarm, b.count) for b in r.bad_actors] == [
        (f"G{i:02d}:high:alarm1", 12 - i) for i in range(10)]
    assert r.bad_actors[0].share == pytest.approx(100 * 12 / 78)
    assert r.bad_actor_share == pytest.approx(100 * (78 - 2 - 1) / 78)
    assert r.bad_actors[0].gauge == "G00"
    assert len(load(log, top_n=3).bad_actors) == 3


def test_bad_actor_ties_are_ordered_by_id() -> None:
    log = Log()
    log.raised("B:high:alarm1", 1, 100)
    log.raised("A:high:alarm1", 2, 200)
    assert [b.alarm for b in load(log).bad_actors] == ["A:high:alarm1", "B:high:alarm1"]


def test_priority_split() -> None:
    log = Log()
    log.raised("H:high:alarm2", 1, priority="high")
    log.raised("M:high:alarm1", 2, 3, 4, priority="medium")
    log.raised("L:high:prealarm", *range(10, 26), priority="low")
    r = load(log)
    assert r.by_priority == {"high": 1, "medium": 3, "low": 16}
    assert r.priority_percent == {"high": 5.0, "medium": 15.0, "low": 80.0}
    assert r.priority_percent == PRIORITY_TARGETS


def test_only_announcements_in_the_window_count() -> None:
    log = Log()
    log.raised("A:high:alarm1", 10)
    log.add("alarm.bad_value", "A:bad_value", T0 + timedelta(seconds=11))
    log.add("alarm.comm_fault", "A:comm", T0 + timedelta(seconds=12), priority="medium")
    log.add("alarm.raised", "S:high:alarm1", T0 + timedelta(seconds=13), after="shelved")
    log.add("alarm.realarmed", "A:high:alarm1", T0 + timedelta(seconds=14))
    log.add("alarm.unshelved", "S:high:alarm1", T0 + timedelta(seconds=15))
    log.raised("D:high:alarm1", 16, drill_id="DRILL-1")
    log.raised("B:high:alarm1", -1)
    log.raised("C:high:alarm1", 3600)  # the window's end is exclusive
    log.add("plan.activated", "P", T0 + timedelta(seconds=20))
    log.add("alarm.raised", "X:high:alarm1", T0 + timedelta(seconds=21), after=None)  # type: ignore[arg-type]
    r = load(log)
    assert r.total == 3
    assert [b.alarm for b in r.bad_actors] == ["A:bad_value", "A:comm", "A:high:alarm1"]
    drill = alarm_load(log.events, T0, HOUR, drill_id="DRILL-1")
    assert [b.alarm for b in drill.bad_actors] == ["D:high:alarm1"]


def test_event_without_own_time_uses_the_recorded_time() -> None:
    ev = record(Event("alarm.raised", "gauge:A",
                      {"alarm": "A:high:alarm1", "gauge": "A", "priority": "low",
                       "state_after": "unack_active"}),
                seq=1, ts=T0 + timedelta(minutes=5), prev_hash=GENESIS_HASH)
    r = alarm_load([ev], T0, HOUR)
    assert r.peak_interval_start == T0


def test_as_dict_is_json() -> None:
    log = Log()
    log.raised("G:high:alarm1", *[5.0 * k for k in range(12)])
    log.add("alarm.raised", "OLD:high:alarm1", T0 - timedelta(days=2))
    log.events.sort(key=lambda e: e.ts)
    d = load(log).as_dict()
    text = json.dumps(d)
    assert json.loads(text) == d
    assert d["total"] == 12 and d["floods"][0]["ongoing"] is False
    assert d["chattering"][0]["alarm"] == "G:high:alarm1"
    assert d["stale"][0]["duration_s"] == 2 * 86400 + 3600
    assert d["start"] == "2026-03-01T00:00:00.000000Z"
    assert load(Log()).as_dict()["peak_interval_start"] is None


@pytest.mark.parametrize(("kw", "message"), [
    ({"interval": timedelta(0)}, "positive"),
    ({"stale_after": timedelta(seconds=-1)}, "positive"),
    ({"chatter_window": timedelta(seconds=-1)}, "positive"),
    ({"flood_above": 5, "flood_below": 7}, "lower rate"),
    ({"chatter_count": 1}, "at least"),
    ({"top_n": 0}, "at least"),
    ({"flood_below": 0}, "at least"),
])
def test_settings_are_checked(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LoadSettings(**kw)


def test_window_must_not_be_empty() -> None:
    with pytest.raises(ValueError, match="end after it starts"):
        alarm_load([], HOUR, T0)


def test_figures_from_a_real_engine_on_a_chattering_gauge() -> None:
    g = Gauge(id="GD-7", kind=GaugeKind.COMBUSTIBLE_GAS, name=Text(zh="探测器"), unit="%LEL",
              link="L", address={}, location=(30.0, 120.0), range=(0.0, 100.0),
              thresholds=(Threshold(level=AlarmLevel.ALARM1, direction="high", value=25.0),))
    clock = ScriptedClock(T0)
    engine = AlarmEngine([g], clock)
    events: list[RecordedEvent] = []
    for i in range(8):  # noise around the limit without a deadband: every 10 s
        for e in engine.process("GD-7", 26.0 if i % 2 == 0 else 24.0):
            events.append(record(e, seq=len(events) + 1, ts=clock.now(),
                                 prev_hash=GENESIS_HASH))
        clock.advance(10)
    r = alarm_load(events, T0, HOUR)
    assert r.total == 4  # raised at 0, 20, 40, 60 s (each re-raise from rtn_unack)
    assert [(c.alarm, c.max_in_window) for c in r.chattering] == [("GD-7:high:alarm1", 4)]
    assert r.by_priority["medium"] == 4


def _brute_force_flood_seconds(times: list[int], end: int, above: int, below: int,
                               width: int) -> int:
    in_flood, total = False, 0
    for t in range(end):
        n = sum(1 for x in times if t - width < x <= t)
        if not in_flood and n > above:
            in_flood = True
        elif in_flood and n < below:
            in_flood = False
        total += in_flood
    return total


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 1199), max_size=60),
       st.integers(2, 8), st.integers(1, 3))
def test_flood_time_matches_a_second_by_second_count(times: list[int], above: int,
                                                     below: int) -> None:
    times.sort()
    log = Log()
    log.raised("G:high:alarm1", *[float(t) for t in times])
    r = load(log, end=T0 + timedelta(seconds=1200), interval=timedelta(seconds=60),
             flood_above=above, flood_below=below)
    expected = _brute_force_flood_seconds(times, 1200, above, below, 60)
    assert r.flood_time == timedelta(seconds=expected)
    assert r.peak_per_interval >= r.average_per_interval
    assert sum(r.by_priority.values()) == r.total == len(times)
    for f in r.floods:
        assert f.peak > above
