"""Gauge history: per-minute statistics, full-rate readings, merging, pruning, failures."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event

from commandcenter.errors import StorageError
from commandcenter.storage.eventlog import EventLog
from commandcenter.storage.history import (
    HistoryStore,
    MinuteAggregator,
    MinuteStats,
    StoredReading,
    minute_of,
    readings_table,
)

from .test_postgres import pg_server, pg_url  # noqa: F401  (fixtures)

T = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


@pytest.fixture
def store(log: EventLog) -> Iterator[HistoryStore]:
    history = HistoryStore(log.engine, retry_s=0.05)
    try:
        yield history
    finally:
        history.close()


def count_commits(engine: Engine) -> list[int]:
    commits: list[int] = []
    event.listen(engine, "commit", lambda _conn: commits.append(1))
    return commits


# --------------------------------------------------------------------------- aggregation


def test_minute_of_truncates_to_utc_minutes() -> None:
    local = datetime(2026, 1, 1, 16, 0, 59, 999999, tzinfo=UTC).astimezone()
    assert minute_of(local) == datetime(2026, 1, 1, 16, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="aware"):
        minute_of(datetime(2026, 1, 1))


def test_aggregator_closes_a_minute_when_the_next_begins() -> None:
    agg = MinuteAggregator()
    assert agg.add("G", at(1), 2.0) == []
    assert agg.add("G", at(30), math.nan) == []  # not a number: not counted
    assert agg.add("G", at(59), 4.0) == []
    assert agg.add("H", at(10), 7.0) == []
    assert agg.add("G", at(61), 10.0) == [MinuteStats("G", T, 2.0, 3.0, 4.0, 2)]
    # A late reading (its minute already closed) comes back as a row of its own to merge.
    assert agg.add("G", at(50), 1.0) == [MinuteStats("G", T, 1.0, 1.0, 1.0, 1)]
    assert agg.close_before(at(65)) == [MinuteStats("H", T, 7.0, 7.0, 7.0, 1)]
    assert agg.close_before(at(119)) == []
    assert agg.close_all() == [MinuteStats("G", at(60), 10.0, 10.0, 10.0, 1)]
    assert agg.close_all() == []


# --------------------------------------------------------------------------- the store


def test_rows_round_trip_and_each_batch_is_one_transaction(store: HistoryStore,
                                                           log: EventLog) -> None:
    commits = count_commits(log.engine)
    minutes = [MinuteStats(f"G{g}", T + timedelta(minutes=m), 1.0 * m, 2.0 * m + 0.5, 3.0 * m,
                           60) for g in range(3) for m in range(20)]
    readings = [StoredReading("G0", at(i * 0.5), float(i)) for i in range(500)]
    readings.append(StoredReading("G1", at(3), None))
    store.write(minutes, readings)
    assert store.flush(10)
    assert len(commits) == 1
    got = store.minutes("G1", T + timedelta(minutes=5), T + timedelta(minutes=8))
    assert got == [m for m in minutes if m.gauge_id == "G1"][5:8]
    assert all(m.minute.tzinfo is not None for m in got)
    assert len(store.minutes(None, T, T + HOUR)) == 60
    back = store.readings("G0", at(10), at(12))
    assert back == [StoredReading("G0", at(10), 20.0), StoredReading("G0", at(10.5), 21.0),
                    StoredReading("G0", at(11), 22.0), StoredReading("G0", at(11.5), 23.0)]
    assert store.readings("G1", T, T + HOUR) == [StoredReading("G1", at(3), None)]


def test_a_minute_written_twice_is_merged(store: HistoryStore) -> None:
    # A restart within the minute, and a late reading: three rows for one minute.
    store.write([MinuteStats("G", T, 2.0, 3.0, 4.0, 2)])
    store.write([MinuteStats("G", T, 1.0, 1.0, 1.0, 1), MinuteStats("G", T, 5.0, 6.0, 9.0, 3)])
    assert store.flush(10)
    store.write([MinuteStats("G", T, 0.5, 0.5, 0.5, 1)])
    assert store.flush(10)
    [row] = store.minutes("G", T, T + HOUR)
    assert (row.min, row.max, row.count) == (0.5, 9.0, 7)
    assert row.avg == pytest.approx((6.0 + 1.0 + 18.0 + 0.5) / 7)


def test_prune_keeps_ninety_days_of_minutes_and_every_full_rate_reading(
        store: HistoryStore) -> None:
    now = T + timedelta(days=200)
    old, kept = now - timedelta(days=91), now - timedelta(days=89)
    store.write([MinuteStats("G", old, 1, 1, 1, 1), MinuteStats("G", kept, 2, 2, 2, 1)],
                [StoredReading("G", old, 1.0)])
    store.prune(now)
    assert store.flush(10)
    assert [m.minute for m in store.minutes("G", T, now)] == [kept]
    assert [r.ts for r in store.readings("G", T, now)] == [old]


def test_a_failing_database_keeps_the_rows_and_retries(
        store: HistoryStore, log: EventLog,
        expected_log_errors: list[logging.LogRecord]) -> None:
    readings_table.drop(log.engine)
    store.write([MinuteStats("G", T, 1, 1, 1, 1)], [StoredReading("G", at(1), 1.0)])
    assert not store.flush(10)
    store.write([], [StoredReading("G", at(2), 2.0)])
    assert not store.flush(10)
    assert store.failures >= 2
    assert [r.getMessage() for r in expected_log_errors] == [
        "cannot write gauge history to " f"{log.url}; keeping 1 minute rows and 1 readings "
        "and retrying"]
    readings_table.create(log.engine)
    assert store.flush(10)
    assert [r.value for r in store.readings("G", T, T + HOUR)] == [1.0, 2.0]
    [row] = store.minutes("G", T, T + HOUR)
    assert row.count == 1  # written once, not once per attempt


def test_a_closed_store_refuses_work(log: EventLog) -> None:
    history = HistoryStore(log.engine)
    history.close()
    history.close()
    with pytest.raises(StorageError, match="closed"):
        history.write([MinuteStats("G", T, 1, 1, 1, 1)])
    assert history.minutes(None, T, T + HOUR) == []  # reading still works


def test_retention_must_be_positive(log: EventLog) -> None:
    with pytest.raises(ValueError, match="retention"):
        HistoryStore(log.engine, retention=timedelta(0))


@pytest.mark.postgres
def test_history_on_postgresql(pg_url: str) -> None:  # noqa: F811
    from commandcenter.core.clock import ScriptedClock

    with EventLog(pg_url, ScriptedClock()) as log:
        store = HistoryStore(log.engine)
        try:
            store.write([MinuteStats("G", T, 2.0, 3.0, 4.0, 2),
                         MinuteStats("G", T, 1.0, 1.0, 1.0, 1)],
                        [StoredReading("G", at(1), 1.5), StoredReading("G", at(2), None)])
            assert store.flush(10)
            store.write([MinuteStats("G", T, 5.0, 5.0, 5.0, 1)])
            store.prune(T + timedelta(days=1))
            assert store.flush(10)
            [row] = store.minutes("G", T, T + HOUR)
            assert (row.min, row.avg, row.max, row.count) == (1.0, 3.0, 5.0, 4)
            assert store.readings(None, T, T + HOUR) == [StoredReading("G", at(1), 1.5),
                                                         StoredReading("G", at(2), None)]
        finally:
            store.close()
