"""The event log on SQLite: durability settings, group commit, the chain, reading, subscribers."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import inspect, text

from commandcenter.core.clock import ScriptedClock
from commandcenter.core.events import Event, RecordedEvent
from commandcenter.errors import EventChainError, StorageError
from commandcenter.storage.database import create_engine_for, migrate, reader
from commandcenter.storage.eventlog import EventLog

from .conftest import Scenarios, SteppingClock, start_child_appender


def test_round_trip_of_every_field(log: EventLog, clock: ScriptedClock,
                                   scenarios: type[Scenarios]) -> None:
    scenarios.round_trip(log, clock)


def test_seq_is_gapless_under_16_threads(log: EventLog, scenarios: type[Scenarios]) -> None:
    scenarios.concurrent_gapless(log, threads=16, per_thread=200)


def test_tampering_is_found_at_the_right_seq(log: EventLog, scenarios: type[Scenarios]) -> None:
    scenarios.tampering(log)


def test_sqlite_connections_are_durable_and_writes_begin_immediate(db_url: str) -> None:
    engine = create_engine_for(db_url)
    try:
        assert Path(engine.url.database or "").parent.is_dir()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
        statements: list[str] = []

        @sa_event.listens_for(engine, "before_cursor_execute")
        def _seen(conn: object, cursor: object, statement: str, *args: object) -> None:
            statements.append(statement)

        with engine.begin() as conn:
            conn.execute(text("SELECT 1"))
        with reader(engine).connect() as conn:
            conn.execute(text("SELECT 2"))
        assert statements == ["BEGIN IMMEDIATE", "SELECT 1", "BEGIN", "SELECT 2"]
    finally:
        engine.dispose()


def test_a_writer_holds_the_lock_from_begin(db_url: str) -> None:
    """BEGIN IMMEDIATE: a second writer waits for the lock instead of reading a stale head."""
    engine = create_engine_for(db_url)
    migrate(engine)
    other = sqlite3.connect(engine.url.database or "", timeout=0, isolation_level=None)
    try:
        with engine.begin(), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()
        engine.dispose()


def test_migrate_is_idempotent(db_url: str) -> None:
    engine = create_engine_for(db_url)
    try:
        migrate(engine)
        migrate(engine)
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        from commandcenter.storage.database import MIGRATIONS_DIR

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        heads = ScriptDirectory.from_config(config).get_heads()
        assert len(heads) == 1  # one line of migrations, no forks
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() \
                == heads
        insp = inspect(engine)
        assert {c["name"] for c in insp.get_columns("events")} == {
            "seq", "id", "ts", "type", "source", "incident_id", "drill_id", "payload",
            "prev_hash", "hash"}
        assert {"ix_events_type_seq", "ix_events_ts", "ix_events_incident_seq",
                "ix_events_drill_seq"} <= {ix["name"] for ix in insp.get_indexes("events")}
    finally:
        engine.dispose()
    with EventLog(db_url, ScriptedClock()) as log:
        log.append(Event("a.b", "test"))
    with EventLog(db_url, ScriptedClock()) as log:  # migrating again keeps the data
        assert log.count() == 1


def test_unmigrated_database_is_refused_without_migrate(db_url: str) -> None:
    with pytest.raises(StorageError, match="events"):
        EventLog(db_url, ScriptedClock(), migrate=False)


def test_bad_urls_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="not a valid database URL"):
        create_engine_for("no such thing")
    with pytest.raises(StorageError, match="nodriver"):
        create_engine_for("postgresql+nodriver://u:p@localhost/db")
    with pytest.raises(StorageError, match="database file"):
        EventLog("sqlite://", ScriptedClock())
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match="cannot create the folder"):
        create_engine_for(f"sqlite:///{blocker}/sub/site.db")


def test_unreachable_server_error_names_url_without_password() -> None:
    url = "postgresql+psycopg://app:s3cret-pw@127.0.0.1:1/site?connect_timeout=2"
    with pytest.raises(StorageError) as info:
        EventLog(url, ScriptedClock())
    message = str(info.value)
    assert "127.0.0.1:1/site" in message
    assert "s3cret-pw" not in message
    assert info.value.__cause__ is not None


def test_append_many_is_one_atomic_batch(log: EventLog) -> None:
    log.append(Event("a.first", "test"))
    recorded = log.append_many(Event("a.many", "test", {"i": i}) for i in range(50))
    assert [r.seq for r in recorded] == list(range(2, 52))
    assert len({r.ts for r in recorded}) == 1
    assert log.append_many([]) == []
    with pytest.raises(ValueError, match="JSON serializable"):
        log.append_many([Event("a.ok", "test"), Event("a.bad", "test", {"x": object()})])
    with pytest.raises(ValueError, match="Out of range float"):
        log.append(Event("a.nan", "test", {"x": float("nan")}))
    with pytest.raises(ValueError, match="NUL"):
        log.append(Event("a.nul\x00", "test"))
    with pytest.raises(ValueError, match="empty"):
        log.append(Event("", "test"))
    assert log.count() == 51
    assert log.append(Event("a.after", "test")).seq == 52
    assert log.verify() is None


def _in_one_batch(log: EventLog, events: dict[str, Event]) -> dict[str, object]:
    """Append ``events`` from one thread each so that they land in the same batch.

    The writer is held in a subscriber until all the requests are queued behind it; returns
    each caller's outcome (the recorded event or the exception).
    """
    release = threading.Event()
    entered = threading.Event()

    def hold(ev: RecordedEvent) -> None:
        if ev.type == "batch.hold":
            entered.set()
            release.wait(10)

    unsubscribe = log.subscribe(hold)
    holder = threading.Thread(target=log.append, args=(Event("batch.hold", "test"),))
    holder.start()
    assert entered.wait(10)
    outcomes: dict[str, object] = {}

    def attempt(name: str, event: Event) -> None:
        try:
            outcomes[name] = log.append(event)
        except (StorageError, ValueError) as err:
            outcomes[name] = err

    callers = [threading.Thread(target=attempt, args=item) for item in events.items()]
    for c in callers:
        c.start()
    deadline = time.monotonic() + 10
    while log._queue.qsize() < len(events) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert log._queue.qsize() == len(events)
    release.set()
    for c in [holder, *callers]:
        c.join(10)
    unsubscribe()
    return outcomes


def test_a_bad_event_fails_alone_in_a_shared_batch(log: EventLog) -> None:
    outcomes = _in_one_batch(log, {"ok1": Event("a.ok", "test", {"n": 1}),
                                   "bad": Event("a.bad", "test", {"x": {1, 2}}),
                                   "ok2": Event("a.ok", "test", {"n": 2})})
    assert isinstance(outcomes["bad"], ValueError)
    ok = [outcomes["ok1"], outcomes["ok2"]]
    assert all(isinstance(o, RecordedEvent) for o in ok)
    assert sorted(o.seq for o in ok if isinstance(o, RecordedEvent)) == [2, 3]
    assert log.count() == 3 and log.verify() is None


def test_a_failing_insert_fails_the_whole_batch_and_nothing_is_half_written(
        log: EventLog, expected_log_errors: list[logging.LogRecord]) -> None:
    """A real database failure mid-batch (a trigger aborts on the third row)."""
    log.append(Event("a.before", "test"))
    with log.engine.begin() as conn:
        conn.execute(text("CREATE TRIGGER refuse_poison BEFORE INSERT ON events "
                          "WHEN NEW.type = 'poison' BEGIN SELECT RAISE(ABORT, 'poison refused'); "
                          "END"))
    with pytest.raises(StorageError, match="poison refused") as info:
        log.append_many([Event("a.ok", "test"), Event("a.ok", "test"), Event("poison", "test")])
    assert isinstance(info.value.__cause__, Exception)
    assert log.count() == 1

    # Several callers whose events share one batch with the poison all fail together.
    outcomes = _in_one_batch(log, {"ok1": Event("a.ok", "test"), "poison": Event("poison", "test"),
                                   "ok2": Event("a.ok", "test")})
    assert all(isinstance(outcomes[n], StorageError) for n in ("ok1", "poison", "ok2"))
    assert log.count() == 2  # a.before and a.hold only

    with log.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse_poison"))
    assert log.append(Event("a.after", "test")).seq == 3
    assert log.verify() is None
    assert any("could not append" in r.getMessage() for r in expected_log_errors)


def test_a_table_pulled_away_fails_the_batch_and_later_appends_work(
        log: EventLog, expected_log_errors: list[logging.LogRecord]) -> None:
    log.append(Event("a.one", "test"))
    with log.engine.begin() as conn:
        conn.execute(text("ALTER TABLE events RENAME TO events_aside"))
    with pytest.raises(StorageError, match="no such table") as info:
        log.append(Event("a.lost", "test"))
    assert info.value.__cause__ is not None
    with log.engine.begin() as conn:
        conn.execute(text("ALTER TABLE events_aside RENAME TO events"))
    assert log.append(Event("a.two", "test")).seq == 2
    assert [e.type for e in log.read()] == ["a.one", "a.two"]
    assert log.verify() is None
    assert len(expected_log_errors) == 1


def test_append_async_does_not_block_the_loop(log: EventLog) -> None:
    async def main() -> tuple[list[RecordedEvent], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        tick_task = asyncio.create_task(ticker())
        recorded = await asyncio.gather(
            *(log.append_async(Event("a.async", "test", {"i": i})) for i in range(100)))
        tick_task.cancel()
        return list(recorded), ticks

    recorded, ticks = asyncio.run(main())
    assert sorted(r.seq for r in recorded) == list(range(1, 101))
    assert {r.payload["i"] for r in recorded} == set(range(100))
    assert ticks > 0
    assert log.verify() is None


def test_tail_and_read_filters(db_url: str, clock: ScriptedClock) -> None:
    with EventLog(db_url, clock, page_size=3) as log:  # small pages: reading crosses pages
        kinds = ["alarm.raised", "alarm.acked", "plan.activated", "sms.sent"]
        for i in range(20):
            clock.advance(10)
            log.append(Event(kinds[i % 4], "test", {"i": i},
                             incident_id="INC-1" if i % 2 == 0 else None,
                             drill_id="DR-1" if i >= 15 else None))
        assert [e.seq for e in log.tail()] == list(range(1, 21))
        assert [e.seq for e in log.tail(3)] == [18, 19, 20]
        assert [e.seq for e in log.tail(2, types=["alarm.raised"])] == [13, 17]
        assert [e.seq for e in log.tail(4, types=["alarm.acked", "sms.sent"])] == [14, 16, 18, 20]
        assert log.tail(0) == [] and log.tail(5, types=[]) == []

        assert [e.seq for e in log.read()] == list(range(1, 21))
        assert [e.seq for e in log.read(after_seq=17)] == [18, 19, 20]
        assert [e.seq for e in log.read(limit=7)] == list(range(1, 8))
        assert [e.seq for e in log.read(after_seq=5, limit=4)] == [6, 7, 8, 9]
        assert [e.seq for e in log.read(incident_id="INC-1")] == list(range(1, 21, 2))
        assert [e.seq for e in log.read(drill_id="DR-1")] == [16, 17, 18, 19, 20]
        assert [e.seq for e in log.read(incident_id="INC-1", drill_id="DR-1")] == [17, 19]
        start = datetime(2026, 1, 1, tzinfo=UTC)
        assert [e.seq for e in log.read(until=start + timedelta(seconds=50))] == [1, 2, 3, 4, 5]
        shanghai = datetime(2026, 1, 1, 8, 1, 30, tzinfo=timezone(timedelta(hours=8)))
        assert [e.seq for e in log.read(until=shanghai)] == list(range(1, 10))
        assert [e.seq for e in log.read(after_seq=3, until=start + timedelta(seconds=70),
                                        incident_id="INC-1")] == [5, 7]
        assert list(log.read(until=start)) == []
        with pytest.raises(ValueError, match="aware"):
            list(log.read(until=datetime(2026, 1, 1)))


def test_unreadable_payload_is_reported_by_read(log: EventLog) -> None:
    log.append(Event("a.b", "test", {"x": 1}))
    with log.engine.begin() as conn:
        conn.execute(text("UPDATE events SET payload = '{broken' WHERE seq = 1"))
    with pytest.raises(EventChainError, match="event 1"):
        list(log.read())


def test_reopened_log_continues_the_chain(db_url: str) -> None:
    clock = ScriptedClock()
    with EventLog(db_url, clock) as log:
        first = log.append_many([Event("a.b", "test", {"i": i}) for i in range(5)])
    clock.advance(60)
    with EventLog(db_url, clock) as log:
        assert log.last_seq() == 5
        more = log.append(Event("a.c", "test"))
        assert more.seq == 6 and more.prev_hash == first[-1].hash
        assert log.verify() is None
        assert list(log.read())[:5] == first


def test_ts_never_decreases_when_the_clock_steps_back(db_url: str) -> None:
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    clock = SteppingClock(t0)
    with EventLog(db_url, clock) as log:
        a = log.append(Event("a", "test"))
        clock.set(t0 - timedelta(hours=1))
        b = log.append(Event("b", "test"))
        clock.set(t0 + timedelta(seconds=1))
        c = log.append(Event("c", "test"))
        assert (a.ts, b.ts, c.ts) == (t0, t0, t0 + timedelta(seconds=1))
    clock.set(t0 - timedelta(days=30))  # a freshly opened log with a clock far behind
    with EventLog(db_url, clock) as log:
        d = log.append(Event("d", "test"))
        assert d.ts == t0 + timedelta(seconds=1)
        assert [e.ts for e in log.read()] == [t0, t0, c.ts, c.ts]
        assert log.verify() is None
        with log.engine.connect() as conn:  # one fixed-width text form, so times sort as text
            stored = conn.exec_driver_sql("SELECT ts FROM events ORDER BY seq").scalars().all()
        assert stored == ["2026-03-01 12:00:00.000000"] * 2 + ["2026-03-01 12:00:01.000000"] * 2


def test_a_naive_clock_fails_the_batch_not_the_log(
        db_url: str, expected_log_errors: list[logging.LogRecord]) -> None:
    clock = SteppingClock(datetime(2026, 3, 1, 12, 0))  # no time zone: a wiring mistake
    with EventLog(db_url, clock) as log:
        with pytest.raises(StorageError, match="naive") as info:
            log.append(Event("a", "test"))
        assert isinstance(info.value.__cause__, ValueError)
        clock.set(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
        assert log.append(Event("b", "test")).seq == 1
    assert len(expected_log_errors) == 1


def test_clock_with_local_time_zone_is_stored_as_utc(db_url: str) -> None:
    beijing = timezone(timedelta(hours=8))
    clock = SteppingClock(datetime(2026, 5, 1, 8, 30, 0, 123456, tzinfo=beijing))
    with EventLog(db_url, clock) as log:
        rec = log.append(Event("a", "test"))
        assert rec.ts == datetime(2026, 5, 1, 0, 30, 0, 123456, tzinfo=UTC)
        assert rec.ts.tzinfo is UTC
        (back,) = log.read()
        assert back.ts.tzinfo == UTC and back == rec


def test_subscribers_see_every_event_in_seq_order(
        log: EventLog, expected_log_errors: list[logging.LogRecord]) -> None:
    seen: list[int] = []
    threads_seen: set[str] = set()
    calls = 0

    def good(ev: RecordedEvent) -> None:
        seen.append(ev.seq)
        threads_seen.add(threading.current_thread().name)

    def broken(ev: RecordedEvent) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError(f"projection bug on {ev.seq}")

    unsubscribe_broken = log.subscribe(broken)
    unsubscribe_good = log.subscribe(good)

    def work(t: int) -> None:
        for i in range(50):
            log.append(Event("a.b", f"t{t}", {"i": i}))

    workers = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    log.append_many([Event("a.c", "test") for _ in range(5)])
    assert seen == list(range(1, 406))
    assert threads_seen == {"eventlog-writer"}
    assert calls == 405
    ours = [r for r in expected_log_errors if "subscriber" in r.getMessage()]
    assert len(ours) == 1 and ours[0].exc_info is not None

    unsubscribe_good()
    unsubscribe_good()
    unsubscribe_broken()
    log.append(Event("a.d", "test"))
    assert seen[-1] == 405 and calls == 405


def test_appending_from_a_subscriber_is_refused_not_deadlocked(log: EventLog) -> None:
    errors: list[Exception] = []

    def echo(ev: RecordedEvent) -> None:
        if ev.type == "a.b":
            try:
                log.append(Event("a.echo", "test"))
            except StorageError as err:
                errors.append(err)

    log.subscribe(echo)
    log.append(Event("a.b", "test"))
    assert len(errors) == 1 and "deadlock" in str(errors[0])


def test_close_commits_queued_events_and_refuses_more(db_url: str) -> None:
    log = EventLog(db_url, ScriptedClock())
    results: list[int] = []
    workers = [threading.Thread(target=lambda: results.append(
        log.append(Event("a.b", "test")).seq)) for _ in range(20)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    log.close()
    log.close()
    with pytest.raises(StorageError, match="closed"):
        log.append(Event("a.c", "test"))
    with EventLog(db_url, ScriptedClock()) as again:
        assert again.count() == 20 and sorted(results) == list(range(1, 21))


def test_two_processes_share_one_file(db_url: str) -> None:
    with EventLog(db_url, ScriptedClock()) as log:
        child = start_child_appender(db_url, "child", threads=4, per_thread=100)
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        mine = [log.append(Event("test.tick", "parent", {"i": i})).seq for i in range(300)]
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        theirs = [int(line.split()[0]) for line in out.splitlines() if line != "done"]
        assert len(theirs) == 400
        assert sorted(mine + theirs) == list(range(1, 701))
        assert log.count() == 700
        assert log.verify() is None
        times = [e.ts for e in log.read()]
        assert times == sorted(times)
