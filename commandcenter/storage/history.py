"""Gauge history: what every gauge read, kept for trends, replay and reports.

Two tables (migration ``0002``):

* ``gauge_minutes`` — min, mean, max and sample count of every gauge for every minute, written as
  the minute closes (all gauges of a minute in one transaction) and kept for
  :data:`DEFAULT_RETENTION` (90 days); :meth:`HistoryStore.prune` deletes older rows.
* ``gauge_readings`` — every single reading, but only while an incident is open or a drill runs
  (the caller decides when); these rows are the record of the incident and are not pruned.

:class:`MinuteAggregator` folds readings into per-minute statistics in memory;
:class:`HistoryStore` writes on its own background thread in batches (one transaction per batch,
never one per reading) and answers queries by gauge and time span. A minute written twice (the
process restarted within a minute, a late reading) is merged, not duplicated.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    case,
    delete,
    insert,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from commandcenter.errors import StorageError
from commandcenter.storage.database import UTCDateTime, reader, safe_url

logger = logging.getLogger(__name__)

DEFAULT_RETENTION: Final = timedelta(days=90)
"""How long per-minute statistics are kept."""

metadata = MetaData()

minutes_table: Final = Table(
    "gauge_minutes",
    metadata,
    Column("gauge_id", String(64), primary_key=True),
    Column("minute", UTCDateTime(), primary_key=True),
    Column("min_value", Float(), nullable=False),
    Column("avg_value", Float(), nullable=False),
    Column("max_value", Float(), nullable=False),
    Column("samples", Integer(), nullable=False),
)
"""The ``gauge_minutes`` table as created by migration ``0002``."""

readings_table: Final = Table(
    "gauge_readings",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
           autoincrement=True),
    Column("gauge_id", String(64), nullable=False),
    Column("ts", UTCDateTime(), nullable=False),
    Column("value", Float(), nullable=True),
)
"""The ``gauge_readings`` table as created by migration ``0002``."""


def minute_of(ts: datetime) -> datetime:
    """Return the start (UTC) of the minute ``ts`` falls in."""
    if ts.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return ts.astimezone(UTC).replace(second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class MinuteStats:
    """One gauge's readings during one minute.

    Attributes:
        gauge_id: The gauge.
        minute: Start of the minute (aware UTC).
        min: Lowest finite reading.
        avg: Mean of the finite readings.
        max: Highest finite reading.
        count: How many finite readings (at least 1).
    """

    gauge_id: str
    minute: datetime
    min: float
    avg: float
    max: float
    count: int

    def merged(self, other: MinuteStats) -> MinuteStats:
        """Return the statistics of both sets of readings together (same gauge and minute)."""
        total = self.count + other.count
        return MinuteStats(self.gauge_id, self.minute, min(self.min, other.min),
                           (self.avg * self.count + other.avg * other.count) / total,
                           max(self.max, other.max), total)


@dataclass(frozen=True, slots=True)
class StoredReading:
    """One full-rate reading.

    Attributes:
        gauge_id: The gauge.
        ts: When it was taken (aware UTC).
        value: The value; ``None`` when the gauge sent something that is not a finite number.
    """

    gauge_id: str
    ts: datetime
    value: float | None


@dataclass(slots=True)
class _Bucket:
    minute: datetime
    low: float
    high: float
    total: float
    count: int

    def add(self, value: float) -> None:
        self.low = min(self.low, value)
        self.high = max(self.high, value)
        self.total += value
        self.count += 1

    def stats(self, gauge_id: str) -> MinuteStats:
        return MinuteStats(gauge_id, self.minute, self.low, self.total / self.count, self.high,
                           self.count)


class MinuteAggregator:
    """Running per-minute statistics of every gauge (not thread-safe: feed it from one thread).

    Only finite readings count. A reading in a later minute closes the gauge's open minute; a
    reading older than the open minute (late) comes back at once as a one-reading row, which the
    store merges into that minute.
    """

    def __init__(self) -> None:
        """Start with no open minutes."""
        self._open: dict[str, _Bucket] = {}

    def add(self, gauge_id: str, ts: datetime, value: float) -> list[MinuteStats]:
        """Take one reading; return the minutes it closed (or its own row if it is late)."""
        if not math.isfinite(value):
            return []
        minute = minute_of(ts)
        bucket = self._open.get(gauge_id)
        if bucket is not None and bucket.minute == minute:
            bucket.add(value)
            return []
        if bucket is not None and minute < bucket.minute:
            return [MinuteStats(gauge_id, minute, value, value, value, 1)]
        self._open[gauge_id] = _Bucket(minute, value, value, value, 1)
        return [bucket.stats(gauge_id)] if bucket is not None else []

    def close_before(self, now: datetime) -> list[MinuteStats]:
        """Close and return every open minute that ended at or before ``now``."""
        current = minute_of(now)
        done = [gid for gid, b in self._open.items() if b.minute < current]
        return [self._open.pop(gid).stats(gid) for gid in done]

    def close_all(self) -> list[MinuteStats]:
        """Close and return every open minute, finished or not (on shutdown)."""
        out = [b.stats(gid) for gid, b in self._open.items()]
        self._open.clear()
        return out


@dataclass(slots=True)
class _Work:
    minutes: list[MinuteStats] = field(default_factory=list)
    readings: list[StoredReading] = field(default_factory=list)
    prune_before: datetime | None = None
    waiters: list[Future[bool]] = field(default_factory=list)


_STOP: Final = object()


class HistoryStore:
    """Writes gauge history on a background thread and reads it back.

    Thread-safe. :meth:`write` and :meth:`prune` only queue work and return at once; the writer
    takes everything queued and writes it in one transaction. When the database fails, the
    writer logs once, keeps the rows (up to ``max_backlog`` readings) and tries again.
    """

    def __init__(self, engine: Engine, *, retention: timedelta = DEFAULT_RETENTION,
                 retry_s: float = 1.0, max_backlog: int = 500_000) -> None:
        """Write to the database of ``engine`` (already migrated, e.g. the event log's).

        Args:
            engine: The engine (see :attr:`commandcenter.storage.eventlog.EventLog.engine`).
            retention: How long per-minute statistics are kept by :meth:`prune`.
            retry_s: Pause before writing again after a failure.
            max_backlog: Most full-rate readings held while the database is unavailable; the
                oldest are dropped beyond that (with a warning).
        """
        if retention <= timedelta(0):
            raise ValueError("retention must be positive")
        self._engine = engine
        self._reader = reader(engine)
        self._url = safe_url(engine.url)
        self.retention = retention
        self._retry_s = retry_s
        self._max_backlog = max_backlog
        self._queue: queue.SimpleQueue[_Work | object] = queue.SimpleQueue()
        self._lifecycle = threading.Lock()
        self._closed = False
        self.dropped = 0
        """Full-rate readings dropped because the database stayed unavailable too long."""
        self.failures = 0
        """Failed write attempts so far."""
        self._thread: threading.Thread | None = None
        """The writer, started with the first piece of work."""

    # ------------------------------------------------------------------ writing

    def write(self, minutes: Iterable[MinuteStats] = (),
              readings: Iterable[StoredReading] = ()) -> None:
        """Queue closed minutes and full-rate readings (returns at once).

        Raises:
            StorageError: The store is closed.
        """
        work = _Work(list(minutes), list(readings))
        if work.minutes or work.readings:
            self._put(work)

    def prune(self, now: datetime) -> None:
        """Queue the deletion of per-minute statistics older than the retention before ``now``."""
        self._put(_Work(prune_before=now - self.retention))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued before is written; return False if some of it is not.

        Raises:
            StorageError: The store is closed.
        """
        done: Future[bool] = Future()
        self._put(_Work(waiters=[done]))
        try:
            return done.result(timeout)
        except TimeoutError:
            return False

    def close(self) -> None:
        """Write what is queued (one last attempt) and stop the writer."""
        with self._lifecycle:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            if thread is None:
                return
            self._queue.put(_STOP)
        thread.join()

    def _put(self, work: _Work) -> None:
        with self._lifecycle:
            if self._closed:
                raise StorageError(f"the gauge history on {self._url} is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="history-writer",
                                                daemon=True)
                self._thread.start()
            self._queue.put(work)

    def _run(self) -> None:
        pending = _Work()
        failing = False
        stopping = False
        while True:
            waiting = bool(pending.minutes or pending.readings or pending.prune_before)
            if not stopping:
                try:
                    item = self._queue.get(timeout=self._retry_s if waiting else None)
                except queue.Empty:
                    pass
                else:
                    stopping = self._take(item, pending)
                    while not stopping:
                        try:
                            item = self._queue.get_nowait()
                        except queue.Empty:
                            break
                        stopping = self._take(item, pending)
            ok = self._write(pending)
            if ok and failing:
                logger.info("gauge history on %s is written again", self._url)
            elif not ok:
                if not failing:
                    logger.error("cannot write gauge history to %s; keeping %d minute rows and "
                                 "%d readings and retrying", self._url, len(pending.minutes),
                                 len(pending.readings))
                self._trim(pending)
                waiters, pending.waiters = pending.waiters, []
                for w in waiters:
                    w.set_result(False)
            failing = not ok
            if stopping:
                if not ok:
                    logger.error("gauge history: %d minute rows and %d readings could not be "
                                 "written before closing", len(pending.minutes),
                                 len(pending.readings))
                return

    @staticmethod
    def _take(item: _Work | object, pending: _Work) -> bool:
        if item is _STOP:
            return True
        assert isinstance(item, _Work)
        pending.minutes.extend(item.minutes)
        pending.readings.extend(item.readings)
        if item.prune_before is not None:
            pending.prune_before = max(pending.prune_before or item.prune_before,
                                       item.prune_before)
        pending.waiters.extend(item.waiters)
        return False

    def _trim(self, pending: _Work) -> None:
        excess = len(pending.readings) - self._max_backlog
        if excess > 0:
            if not self.dropped:
                logger.warning("gauge history backlog full: dropping the oldest full-rate "
                               "readings")
            del pending.readings[:excess]
            self.dropped += excess

    def _write(self, work: _Work) -> bool:
        """Write what ``work`` holds, removing what was written from it.

        A retry after a failure half-way then does not write anything twice.
        """
        try:
            if work.minutes or work.readings:
                with self._engine.begin() as conn:
                    _upsert_minutes(conn, work.minutes)
                    if work.readings:
                        conn.execute(insert(readings_table), [
                            {"gauge_id": r.gauge_id, "ts": r.ts, "value": r.value}
                            for r in work.readings])
                work.minutes, work.readings = [], []
            if work.prune_before is not None:
                with self._engine.begin() as conn:
                    result = conn.execute(delete(minutes_table).where(
                        minutes_table.c.minute < work.prune_before))
                logger.debug("gauge history: pruned %d minute rows before %s",
                             result.rowcount, work.prune_before)
                work.prune_before = None
        except (SQLAlchemyError, StorageError) as err:
            self.failures += 1
            logger.debug("gauge history write failed: %s", err)
            return False
        for w in work.waiters:
            w.set_result(True)
        work.waiters.clear()
        return True

    # ------------------------------------------------------------------ reading

    def minutes(self, gauge_id: str | None, start: datetime,
                end: datetime) -> list[MinuteStats]:
        """Return per-minute statistics with ``start <= minute < end``, by gauge then time.

        Args:
            gauge_id: One gauge, or ``None`` for all.
            start: Window start (aware).
            end: Window end, exclusive (aware).

        Raises:
            StorageError: The database cannot be read.
        """
        c = minutes_table.c
        stmt = select(c.gauge_id, c.minute, c.min_value, c.avg_value, c.max_value,
                      c.samples).where(c.minute >= start, c.minute < end)
        if gauge_id is not None:
            stmt = stmt.where(c.gauge_id == gauge_id)
        rows = self._fetch(stmt.order_by(c.gauge_id, c.minute), "read per-minute history")
        return [MinuteStats(r.gauge_id, r.minute, r.min_value, r.avg_value, r.max_value,
                            r.samples) for r in rows]

    def readings(self, gauge_id: str | None, start: datetime,
                 end: datetime) -> list[StoredReading]:
        """Return full-rate readings with ``start <= ts < end``, by gauge then time.

        Args:
            gauge_id: One gauge, or ``None`` for all.
            start: Window start (aware).
            end: Window end, exclusive (aware).

        Raises:
            StorageError: The database cannot be read.
        """
        c = readings_table.c
        stmt = select(c.gauge_id, c.ts, c.value).where(c.ts >= start, c.ts < end)
        if gauge_id is not None:
            stmt = stmt.where(c.gauge_id == gauge_id)
        rows = self._fetch(stmt.order_by(c.gauge_id, c.ts, c.id), "read full-rate history")
        return [StoredReading(r.gauge_id, r.ts, r.value) for r in rows]

    def _fetch(self, stmt: Any, what: str) -> Sequence[Any]:
        try:
            with self._reader.connect() as conn:
                return conn.execute(stmt).all()
        except SQLAlchemyError as err:
            raise StorageError(f"cannot {what} in {self._url}: {err}") from err


def finite_or_none(value: float) -> float | None:
    """Return ``value`` if it is a finite number, else ``None`` (how full-rate rows store it)."""
    return value if math.isfinite(value) else None


def _merge(rows: Iterable[MinuteStats]) -> list[MinuteStats]:
    merged: dict[tuple[str, datetime], MinuteStats] = {}
    for r in rows:
        key = (r.gauge_id, r.minute)
        old = merged.get(key)
        merged[key] = r if old is None else old.merged(r)
    return list(merged.values())


def _upsert_minutes(conn: Connection, rows: list[MinuteStats]) -> None:
    """Insert minute rows; a row for a minute already stored is merged into it."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        stmt: Any = sqlite.insert(minutes_table)
    elif dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        stmt = postgresql.insert(minutes_table)
    else:
        raise StorageError(f"gauge history does not support the {dialect} database")
    new, old = stmt.excluded, minutes_table.c
    total = old.samples + new.samples
    stmt = stmt.on_conflict_do_update(
        index_elements=[old.gauge_id, old.minute],
        set_={
            "min_value": case((new.min_value < old.min_value, new.min_value),
                              else_=old.min_value),
            "max_value": case((new.max_value > old.max_value, new.max_value),
                              else_=old.max_value),
            "avg_value": (old.avg_value * old.samples + new.avg_value * new.samples) / total,
            "samples": total,
        })
    conn.execute(stmt, [{"gauge_id": r.gauge_id, "minute": r.minute, "min_value": r.min,
                         "avg_value": r.avg, "max_value": r.max, "samples": r.count}
                        for r in _merge(rows)])
