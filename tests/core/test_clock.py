"""Clocks: scripted time only moves forward; scaled time runs at its factor from its origin."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from commandcenter.core.clock import Clock, ScaledClock, ScriptedClock, SystemClock


def test_scripted_clock_defaults_and_advances() -> None:
    c = ScriptedClock()
    assert c.now() == datetime(2026, 1, 1, tzinfo=UTC)
    assert c.monotonic() == 0.0
    assert c.advance(1.5) == datetime(2026, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)
    c.advance(0)
    assert c.now() == datetime(2026, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)
    assert c.monotonic() == 1.5


def test_scripted_clock_never_goes_backwards() -> None:
    c = ScriptedClock()
    with pytest.raises(ValueError, match="never goes backwards"):
        c.advance(-0.001)
    assert c.monotonic() == 0.0


def test_scripted_clock_needs_aware_start_and_keeps_utc() -> None:
    with pytest.raises(ValueError, match="aware"):
        ScriptedClock(datetime(2026, 1, 1))
    c = ScriptedClock(datetime(2026, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=8))))
    assert c.now() == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert c.now().utcoffset() == timedelta(0)


def test_scripted_clock_is_thread_safe() -> None:
    c = ScriptedClock()

    def work() -> None:
        for _ in range(1000):
            c.advance(0.001)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c.monotonic() == pytest.approx(4.0)
    assert c.now() == datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=4)


def test_scaled_clock_runs_factor_times_faster() -> None:
    base = ScriptedClock()
    base.advance(100)  # the scaled clock starts from the base's current reading
    origin = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    c = ScaledClock(base, origin, factor=10)
    assert c.now() == origin
    assert c.monotonic() == 0.0
    base.advance(3)
    assert c.now() == origin + timedelta(seconds=30)
    assert c.monotonic() == 30.0


def test_scaled_clock_slow_motion_and_origin_in_another_zone() -> None:
    base = ScriptedClock()
    origin = datetime(2025, 6, 1, 17, 0, tzinfo=timezone(timedelta(hours=8)))
    c = ScaledClock(base, origin, factor=0.5)
    base.advance(10)
    assert c.now() == datetime(2025, 6, 1, 9, 0, 5, tzinfo=UTC)
    assert c.now().tzinfo == UTC


@pytest.mark.parametrize("factor", [0, -1])
def test_scaled_clock_factor_must_be_positive(factor: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(ScriptedClock(), datetime(2026, 1, 1, tzinfo=UTC), factor)


def test_system_clock_is_aware_utc_and_monotonic() -> None:
    c: Clock = SystemClock()
    now = c.now()
    assert now.tzinfo == UTC
    a = c.monotonic()
    assert c.monotonic() >= a


def test_clocks_satisfy_the_protocol() -> None:
    clocks: list[Clock] = [SystemClock(), ScriptedClock(),
                           ScaledClock(ScriptedClock(), datetime(2026, 1, 1, tzinfo=UTC))]
    for c in clocks:
        assert isinstance(c.now(), datetime)
        assert isinstance(c.monotonic(), float)
