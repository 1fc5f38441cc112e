"""The event log: append-only, durable, hash-chained — the spine of Command Center.

Every fact (an alarm raised, a plan activated, a message acknowledged …) is appended here and
everything else is a projection of it. :class:`EventLog` guarantees:

* **Durable before acknowledged.** :meth:`EventLog.append` returns only after the transaction that
  holds the event has committed (on SQLite with ``synchronous=FULL``, so it survives a power cut).
* **One gapless chain.** Sequence numbers run 1, 2, 3 … without gaps; each event carries the hash
  of its predecessor (:func:`commandcenter.core.events.record`), so :meth:`EventLog.verify` finds an
  altered, deleted or inserted row.
* **Group commit.** A single writer thread owns all writes. Callers enqueue and wait; the writer
  takes everything queued, and in one transaction reads the chain head, numbers, timestamps and
  hashes the events, inserts them with one ``executemany`` and commits. One disk flush then serves
  many callers. Several processes may share one database: the head is read under the write lock
  (``BEGIN IMMEDIATE`` on SQLite, ``pg_advisory_xact_lock`` on PostgreSQL). To keep that lock
  short the batch is hashed just before, against the head this writer last committed, and hashed
  again inside the transaction only if another process has moved the head meanwhile.
* **Monotonic time.** Timestamps come from the injected clock and never go backwards in the log,
  even if the clock does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, Self

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Engine,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from commandcenter.core.clock import Clock
from commandcenter.core.events import (
    GENESIS_HASH,
    ChainBreak,
    Event,
    RecordedEvent,
    Subscriber,
    record_with_json,
    verify_chain,
)
from commandcenter.errors import EventChainError, StorageError
from commandcenter.storage import database
from commandcenter.storage.database import UTCDateTime, create_engine_for, reader, safe_url

logger = logging.getLogger(__name__)

metadata = MetaData()

events_table: Final = Table(
    "events",
    metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
           autoincrement=False),
    Column("id", String(32), nullable=False, unique=True),
    Column("ts", UTCDateTime(), nullable=False),
    Column("type", Text(), nullable=False),
    Column("source", Text(), nullable=False),
    Column("incident_id", Text(), nullable=True),
    Column("drill_id", Text(), nullable=True),
    Column("payload", Text(), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
"""The ``events`` table as created by migration ``0001``."""

chain_head_table: Final = Table(
    "chain_head",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=False),
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), nullable=False),
    Column("hash", String(64), nullable=False),
)
"""One row (``id`` 1): the seq and hash of the last event, updated with every batch (``0003``)."""

_APPEND_LOCK_KEY: Final = 0x636D_6463_6576_6C67  # "cmdcevlg": one chain writer at a time (PG)
_COLUMNS: Final = tuple(events_table.c)


class _Request:
    """One caller's events, and the hand-off of the outcome from the writer to that caller.

    Synchronous callers wait on a lock the request starts out holding (the cheapest thread
    hand-off CPython has). Asyncio callers await an :class:`asyncio.Future` of their own loop;
    the writer settles all of a batch's futures with one ``call_soon_threadsafe`` per loop, so a
    thousand coroutines appending at once cost one loop wake-up per batch, not one per event.
    """

    __slots__ = ("_done", "afuture", "error", "events", "loop", "recorded")

    def __init__(self, events: list[Event], *, loop: asyncio.AbstractEventLoop | None = None,
                 afuture: asyncio.Future[list[RecordedEvent]] | None = None) -> None:
        self.events = events
        self.loop = loop
        self.afuture = afuture
        self.recorded: list[RecordedEvent] = []
        self.error: BaseException | None = None
        self._done: threading.Lock | None = None
        if afuture is None:
            self._done = threading.Lock()
            self._done.acquire()

    def start(self) -> bool:
        """Tell whether the writer may take this request (an async caller may have withdrawn)."""
        return self.afuture is None or not self.afuture.cancelled()

    def succeed(self, recorded: list[RecordedEvent]) -> None:
        self.recorded = recorded
        if self._done is not None:
            self._done.release()

    def fail(self, error: BaseException) -> None:
        self.error = error
        if self._done is not None:
            self._done.release()

    def wait(self) -> list[RecordedEvent]:
        assert self._done is not None
        self._done.acquire()
        if self.error is not None:
            raise self.error
        return self.recorded


def _settle_async(requests: list[_Request]) -> None:
    """Hand the outcomes of ``requests``' asyncio callers to their loops, one wake-up per loop."""
    by_loop: dict[int, tuple[asyncio.AbstractEventLoop, list[_Request]]] = {}
    for req in requests:
        if req.afuture is not None and req.loop is not None:
            by_loop.setdefault(id(req.loop), (req.loop, []))[1].append(req)
    for loop, reqs in by_loop.values():
        with contextlib.suppress(RuntimeError):  # loop closed: nobody is waiting any more
            loop.call_soon_threadsafe(_settle_on_loop, reqs)


def _settle_on_loop(requests: list[_Request]) -> None:
    for req in requests:
        future = req.afuture
        if future is None or future.done():
            continue
        if req.error is not None:
            future.set_exception(req.error)
        else:
            future.set_result(req.recorded)


@dataclass(slots=True)
class _Subscription:
    callback: Subscriber
    failures: int = 0


_STOP: Final = object()


@dataclass(frozen=True, slots=True)
class _Head:
    """The newest event of the chain: what the next event links to."""

    seq: int
    hash: str
    ts: datetime | None


_EMPTY_HEAD: Final = _Head(0, GENESIS_HASH, None)


@dataclass(slots=True)
class _Prepared:
    """A batch numbered, timed and hashed against ``head``, ready to insert."""

    head: _Head
    accepted: list[tuple[_Request, list[RecordedEvent]]]
    rejected: list[tuple[_Request, ValueError]]
    rows: list[tuple[Any, ...]]

    def new_head(self) -> _Head:
        if not self.accepted:
            return self.head
        last = self.accepted[-1][1][-1]
        return _Head(last.seq, last.hash, last.ts)


class EventLog:
    """The durable, hash-chained event log on SQLite or PostgreSQL.

    Thread-safe: any thread may append and read. Use it as a context manager or call
    :meth:`close`, which waits until everything already appended is committed.

    Example:
        >>> with EventLog("sqlite:////var/lib/commandcenter/site.db", SystemClock()) as log:
        ...     log.append(Event("alarm.raised", "gauge:GD-101", {"value": 27.5}))
    """

    def __init__(self, url: str, clock: Clock, *, migrate: bool = True, max_batch: int = 2000,
                 page_size: int = 1000) -> None:
        """Open (and by default migrate) the database at ``url`` and start the writer.

        Args:
            url: Database URL, ``sqlite:///path/site.db`` or ``postgresql+psycopg://…``.
                An in-memory SQLite database is refused: the log must be durable.
            clock: Where event timestamps come from.
            migrate: Bring the schema to the newest version first (the app does this on start).
            max_batch: Most events the writer puts into one transaction (a single
                :meth:`append_many` is never split, however large).
            page_size: Rows fetched per query when streaming with :meth:`read` and :meth:`verify`.

        Raises:
            StorageError: The database cannot be opened or migrated, or has no event table.
        """
        if max_batch < 1 or page_size < 1:
            raise ValueError("max_batch and page_size must be positive")
        self._url = safe_url(url)
        self._engine = create_engine_for(url)
        if self._engine.dialect.name == "sqlite" and _is_memory_sqlite(self._engine.url):
            self._engine.dispose()
            raise StorageError(f"the event log needs a database file, not {self._url}")
        self._reader = reader(self._engine)
        self._postgres = self._engine.dialect.name == "postgresql"
        self._clock = clock
        self._max_batch = max_batch
        self._page_size = page_size
        placeholder = "?" if self._engine.dialect.paramstyle == "qmark" else "%s"
        # Built from the table's own constant column names, never from input.
        self._insert_sql = (f"INSERT INTO {events_table.name} "  # noqa: S608
                            f"({', '.join(c.name for c in _COLUMNS)}) "
                            f"VALUES ({', '.join(placeholder for _ in _COLUMNS)})")
        dialect = self._engine.dialect
        self._ts_param = events_table.c.ts.type.dialect_impl(dialect).bind_processor(dialect)
        self._head_stmt = (select(events_table.c.seq, events_table.c.hash, events_table.c.ts)
                           .order_by(events_table.c.seq.desc()).limit(1))
        self._move_head_stmt = (chain_head_table.update().where(chain_head_table.c.id == 1)
                                .values(seq=bindparam("seq"), hash=bindparam("hash")))
        try:
            if migrate:
                database.migrate(self._engine)
            self.last_seq()
        except StorageError:
            self._engine.dispose()
            raise
        self._queue: queue.SimpleQueue[_Request | object] = queue.SimpleQueue()
        self._lifecycle = threading.Lock()
        self._closed = False
        self._subscriptions: list[_Subscription] = []
        self._subscriptions_lock = threading.Lock()
        self._head: _Head | None = None  # as last committed by this writer; None: unknown
        self._writer = threading.Thread(target=self._run_writer, name="eventlog-writer",
                                        daemon=True)
        self._writer.start()
        logger.info("event log open on %s (last seq %d)", self._url, self.last_seq())

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """The database URL, password masked."""
        return self._url

    @property
    def engine(self) -> Engine:
        """The engine on the log's database, for read models kept in the same database.

        Never write to the ``events`` table through it: only the log's writer may.
        """
        return self._engine

    def close(self) -> None:
        """Commit everything already appended, stop the writer and release the database."""
        with self._lifecycle:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._writer.join()
        self._engine.dispose()
        logger.info("event log on %s closed", self._url)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ appending

    def append(self, event: Event) -> RecordedEvent:
        """Record one event; return once it is durably committed.

        Raises:
            StorageError: The transaction failed (nothing of its batch was written), the clock
                gave a naive time, or the log is closed. Only if the connection broke during the
                COMMIT itself is the outcome unknown; :meth:`read` then tells what was recorded.
            ValueError: The event cannot be recorded (payload not JSON-serialisable or with NaN,
                empty type or source, NUL characters); it fails alone, other callers' events in
                the same batch are recorded.
        """
        return self._submit(_Request([event])).wait()[0]

    def append_many(self, events: Iterable[Event]) -> list[RecordedEvent]:
        """Record several events atomically (all or none) with consecutive sequence numbers.

        Raises:
            StorageError: As for :meth:`append`; none of the events was recorded.
            ValueError: One of the events cannot be recorded; none of them was.
        """
        batch = list(events)
        if not batch:
            return []
        return self._submit(_Request(batch)).wait()

    async def append_async(self, event: Event) -> RecordedEvent:
        """Record one event without blocking the asyncio loop; see :meth:`append`.

        Cancelling the awaiting task before the writer has taken the event withdraws it; once
        taken, the event is recorded regardless.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[RecordedEvent]] = loop.create_future()
        self._submit(_Request([event], loop=loop, afuture=future))
        recorded = await future
        return recorded[0]

    def _submit(self, request: _Request) -> _Request:
        if threading.get_ident() == self._writer.ident:
            raise StorageError("appending from an event-log subscriber would deadlock the writer; "
                               "hand the event to another thread")
        with self._lifecycle:
            if self._closed:
                raise StorageError(f"the event log on {self._url} is closed")
            self._queue.put(request)
        return request

    def _run_writer(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            assert isinstance(first, _Request)
            batch = [first]
            size = len(first.events)
            while size < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                assert isinstance(item, _Request)
                batch.append(item)
                size += len(item.events)
            self._write_batch(batch)

    def _write_batch(self, batch: list[_Request]) -> None:
        live = [req for req in batch if req.start()]
        if not live:
            return
        prepared: _Prepared | None = None
        try:
            now = self._clock.now()
            # Hash outside the write lock against the head this writer last committed; inside
            # the transaction the real head is read and, if another process (or a failure)
            # moved it, the batch is hashed again. The lock is then held only for the insert.
            if self._head is not None:
                prepared = _prepare(live, self._head, now, self._ts_param)
            with self._engine.begin() as conn:
                if self._postgres:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": _APPEND_LOCK_KEY})
                row = conn.execute(self._head_stmt).first()
                head = _EMPTY_HEAD if row is None else _Head(row.seq, row.hash, row.ts)
                if prepared is None or prepared.head != head:
                    prepared = _prepare(live, head, now, self._ts_param)
                if prepared.rows:
                    # Driver-level executemany: the rows are plain tuples in column order, so
                    # SQLAlchemy's per-row parameter processing stays off the hot path.
                    conn.exec_driver_sql(self._insert_sql, prepared.rows)
                    last = prepared.new_head()
                    moved = conn.execute(self._move_head_stmt,
                                         {"seq": last.seq, "hash": last.hash}).rowcount
                    if moved != 1:  # the head row was removed: write it again
                        conn.execute(chain_head_table.insert().values(
                            id=1, seq=last.seq, hash=last.hash))
        except Exception as err:  # every failure must reach the callers, never kill the writer
            self._head = None
            refused = {id(req): bad for req, bad in prepared.rejected} if prepared else {}
            waiting = [req for req in live if id(req) not in refused]
            count = sum(len(req.events) for req in waiting)
            logger.error("could not append %d events to %s: %s", count, self._url, err)
            for req in live:
                failure: BaseException | None = refused.get(id(req))
                if failure is None:
                    failure = StorageError(
                        f"could not append {len(req.events)} event(s) to {self._url}: {err}")
                    failure.__cause__ = err
                req.fail(failure)
            _settle_async(live)
            return
        self._head = prepared.new_head()
        for req, bad in prepared.rejected:
            req.fail(bad)
        for req, recorded in prepared.accepted:
            req.succeed(recorded)
        _settle_async(live)
        if self._subscriptions:
            self._notify([ev for _, recorded in prepared.accepted for ev in recorded])

    # ------------------------------------------------------------------ subscribers

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` with every event after its batch has committed, in seq order.

        Callbacks run on the log's writer thread and delay the next batch while they run: keep
        them short. UI code must marshal to its own thread (e.g. emit a Qt signal, or
        ``loop.call_soon_threadsafe``). A callback that raises is logged once (then counted
        silently) and never stops the writer or other callbacks. A callback must not call
        :meth:`append` (that would wait for the writer it runs on).

        Returns:
            A function that removes the subscription (idempotent).
        """
        subscription = _Subscription(callback)
        with self._subscriptions_lock:
            self._subscriptions = [*self._subscriptions, subscription]

        def unsubscribe() -> None:
            with self._subscriptions_lock:
                self._subscriptions = [s for s in self._subscriptions if s is not subscription]

        return unsubscribe

    def _notify(self, recorded: list[RecordedEvent]) -> None:
        subscriptions = self._subscriptions
        for event in recorded:
            for sub in subscriptions:
                try:
                    sub.callback(event)
                except Exception:  # a subscriber's bug must not stop the log
                    sub.failures += 1
                    if sub.failures == 1:
                        logger.exception("event-log subscriber %r failed on event %d; further "
                                         "failures of this subscriber are not logged",
                                         sub.callback, event.seq)

    # ------------------------------------------------------------------ reading

    def last_seq(self) -> int:
        """Return the sequence number of the newest event (0 for an empty log)."""
        value = self._scalar(select(func.max(events_table.c.seq)), "read the last sequence number")
        return int(value or 0)

    def count(self) -> int:
        """Return how many events the log holds."""
        return int(self._scalar(select(func.count()).select_from(events_table),
                                "count the events") or 0)

    def tail(self, n: int = 20, types: Sequence[str] | None = None) -> list[RecordedEvent]:
        """Return the newest ``n`` events (of the given types, if any), oldest first."""
        if n <= 0 or (types is not None and not types):
            return []
        stmt = select(*_COLUMNS).order_by(events_table.c.seq.desc()).limit(n)
        if types is not None:
            stmt = stmt.where(events_table.c.type.in_(list(types)))
        rows = self._fetch(stmt, "read the newest events")
        return [_to_event(row) for row in reversed(rows)]

    def read(self, after_seq: int = 0, until: datetime | None = None,
             incident_id: str | None = None, drill_id: str | None = None,
             limit: int | None = None) -> Iterator[RecordedEvent]:
        """Stream events in seq order, fetched in pages (for replay and projections).

        Args:
            after_seq: Start after this sequence number (0: from the beginning).
            until: Only events recorded at or before this (aware) time: replay "up to T".
            incident_id: Only events of this incident.
            drill_id: Only events of this drill.
            limit: At most this many events.

        Raises:
            StorageError: The database cannot be read.
            EventChainError: A stored payload is not valid JSON (the row was tampered with).
        """
        conditions: list[ColumnElement[bool]] = []
        if incident_id is not None:
            conditions.append(events_table.c.incident_id == incident_id)
        if drill_id is not None:
            conditions.append(events_table.c.drill_id == drill_id)
        if until is not None:
            if until.tzinfo is None:
                raise ValueError("until must be timezone-aware")
            conditions.append(events_table.c.ts <= until)
            # Times never decrease along seq, so the first event after ``until`` ends the window;
            # bounding seq lets the pages stop there instead of scanning the rest of the log.
            col = events_table.c
            first_later = self._scalar(
                select(col.seq).where(col.ts > until).order_by(col.ts, col.seq).limit(1),
                "find the end of the replay window")
            if first_later is not None:
                conditions.append(events_table.c.seq < first_later)
        for row in self._rows(after_seq, conditions, limit):
            try:
                yield _to_event(row)
            except ValueError as err:
                raise EventChainError(
                    f"event {row.seq} in {self._url} has a stored payload that is not valid "
                    f"JSON: {err}") from err

    def verify(self) -> ChainBreak | None:
        """Check the whole hash chain, streaming it in pages.

        Returns:
            ``None`` if every event verifies, else the first broken link: its seq and why
            (altered content or hash, a gap where a row was deleted, a row inserted).

        Raises:
            StorageError: The database cannot be read.
        """
        unreadable: list[ChainBreak] = []
        last: list[RecordedEvent] = []  # the newest event handed to the check

        def events() -> Iterator[RecordedEvent]:
            for row in self._rows(0, [], None):
                try:
                    ev = _to_event(row)
                except ValueError as err:
                    unreadable.append(ChainBreak(row.seq, f"payload is not valid JSON ({err})"))
                    return
                last[:] = [ev]
                yield ev

        broken = verify_chain(events())
        if broken is not None:
            return broken
        if unreadable:
            return unreadable[0]
        return self._check_head(last[0] if last else None)

    def head(self) -> tuple[int, str] | None:
        """Return the recorded chain head (seq and hash of the last append), if there is one.

        Raises:
            StorageError: The database cannot be read.
        """
        rows = self._fetch(select(chain_head_table.c.seq, chain_head_table.c.hash)
                           .where(chain_head_table.c.id == 1), "read the chain head")
        return (int(rows[0].seq), str(rows[0].hash)) if rows else None

    def _check_head(self, last: RecordedEvent | None) -> ChainBreak | None:
        """Compare the last event of a verified chain with the head written by the appends."""
        seq, digest = (0, GENESIS_HASH) if last is None else (last.seq, last.hash)
        head = self.head()
        if head is None:
            return ChainBreak(seq + 1, "the chain head record is missing (it was deleted)")
        head_seq, head_hash = head
        if head_seq > seq:
            missing = (f"event {head_seq} is" if head_seq == seq + 1
                       else f"events {seq + 1}-{head_seq} are")
            return ChainBreak(seq + 1, f"{missing} missing at the end of the log "
                                       f"(the chain head records seq {head_seq})")
        if head_seq < seq:
            return ChainBreak(head_seq + 1, f"events after seq {head_seq} were added without "
                                            "moving the chain head (written by another program)")
        if head_hash != digest:
            return ChainBreak(seq, "the last event does not match the chain head's hash")
        return None

    def _rows(self, after_seq: int, conditions: list[ColumnElement[bool]],
              limit: int | None) -> Iterator[Row[Any]]:
        last = after_seq
        remaining = limit
        while remaining is None or remaining > 0:
            page = self._page_size if remaining is None else min(self._page_size, remaining)
            stmt = (select(*_COLUMNS).where(events_table.c.seq > last, *conditions)
                    .order_by(events_table.c.seq).limit(page))
            rows = self._fetch(stmt, "read events")
            yield from rows
            if len(rows) < page:
                return
            last = rows[-1].seq
            if remaining is not None:
                remaining -= len(rows)

    def _fetch(self, stmt: Any, what: str) -> Sequence[Row[Any]]:
        try:
            with self._reader.connect() as conn:
                return conn.execute(stmt).all()
        except SQLAlchemyError as err:
            raise StorageError(f"cannot {what} in {self._url}: {err}") from err

    def _scalar(self, stmt: Any, what: str) -> Any:
        try:
            with self._reader.connect() as conn:
                return conn.execute(stmt).scalar()
        except SQLAlchemyError as err:
            raise StorageError(f"cannot {what} in {self._url}: {err}") from err


def _prepare(live: list[_Request], head: _Head, now: datetime,
             ts_processor: Callable[[Any], Any] | None) -> _Prepared:
    """Number, time and hash a batch after ``head``.

    Requests with an event that cannot be recorded are set aside (they fail alone) instead of
    failing the whole batch.
    """
    ts = _aware_utc(now)
    if head.ts is not None and head.ts > ts:
        ts = head.ts  # the clock stepped back: time in the log never does
    ts_param = ts_processor(ts) if ts_processor is not None else ts
    prepared = _Prepared(head, [], [], [])
    seq, prev_hash = head.seq, head.hash
    for req in live:
        try:
            recorded, rows = _chain(req.events, seq, prev_hash, ts, ts_param)
        except (TypeError, ValueError) as err:
            bad = ValueError(f"event cannot be recorded: {err}")
            bad.__cause__ = err
            prepared.rejected.append((req, bad))
            continue
        prepared.accepted.append((req, recorded))
        prepared.rows.extend(rows)
        seq, prev_hash = recorded[-1].seq, recorded[-1].hash
    return prepared


def _chain(events: list[Event], seq: int, prev_hash: str, ts: datetime,
           ts_param: Any) -> tuple[list[RecordedEvent], list[tuple[Any, ...]]]:
    """Record ``events`` after (seq, prev_hash); return them and their rows in column order."""
    recorded: list[RecordedEvent] = []
    rows: list[tuple[Any, ...]] = []
    for event in events:
        seq += 1
        rec, payload_json = record_with_json(event, seq=seq, ts=ts, prev_hash=prev_hash)
        _check_storable(event)
        recorded.append(rec)
        rows.append((seq, rec.id, ts_param, rec.type, rec.source, rec.incident_id,
                     rec.drill_id, payload_json, prev_hash, rec.hash))
        prev_hash = rec.hash
    return recorded, rows


def _check_storable(event: Event) -> None:
    """Refuse text a database would reject, so one bad event cannot fail a whole batch.

    :func:`record` has already refused non-string fields and lone surrogates (it encodes every
    field to UTF-8 for hashing), and JSON escapes control characters in the payload; what is
    left is NUL, which PostgreSQL text cannot hold.
    """
    if not event.type or not event.source:
        raise ValueError("type and source must not be empty")
    if "\x00" in f"{event.type}{event.source}{event.incident_id or ''}{event.drill_id or ''}":
        raise ValueError("type, source, incident_id and drill_id must not contain NUL")


def _to_event(row: Row[Any]) -> RecordedEvent:
    return RecordedEvent(seq=row.seq, id=row.id, ts=row.ts, type=row.type, source=row.source,
                         payload=json.loads(row.payload), incident_id=row.incident_id,
                         drill_id=row.drill_id, prev_hash=row.prev_hash, hash=row.hash)


def _aware_utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("the clock returned a naive datetime; event times must be aware UTC")
    return ts.astimezone(UTC)


def _is_memory_sqlite(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
