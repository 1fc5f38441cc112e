"""Engines and migrations: how Command Center opens its database.

Two backends run the same code:

* **SQLite** (the embedded default, one file in the user's data folder). Every connection runs in
  WAL mode with ``synchronous=FULL``, so a committed transaction survives a power cut, not just a
  crash of the process. Write transactions start with ``BEGIN IMMEDIATE``: the write lock is taken
  up front, so several processes sharing one file queue for it (``busy_timeout``) instead of
  failing half-way with "database is locked". Read-only work runs on :func:`reader`, whose
  transactions start with a plain (deferred) ``BEGIN`` and never block writers.
* **PostgreSQL** (``postgresql+psycopg://…``), for several consoles and a gateway sharing one site.

:func:`migrate` brings a database to the newest schema with Alembic and is called on every start.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import DateTime, TypeDecorator

from commandcenter.errors import StorageError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""The Alembic script folder shipped inside the package."""

DEFAULT_BUSY_TIMEOUT_S = 15.0
"""How long a SQLite connection waits for another process's write lock before giving up."""

READ_ONLY_OPTION = "commandcenter_read_only"
"""Execution option: on SQLite, begin the transaction deferred (a reader) instead of IMMEDIATE."""

_MIGRATION_LOCK_KEY = 0x636D_6463_6D69_6772  # "cmdcmigr": serialises concurrent migrations (PG)


def safe_url(url: str | URL) -> str:
    """Return ``url`` as text with any password masked, for messages and logs."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "<unparseable database URL>"
    return parsed.render_as_string(hide_password=True)


def is_sqlite(engine: Engine) -> bool:
    """Tell whether ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"


def create_engine_for(url: str, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> Engine:
    """Create the engine for a database URL, configured for durability and sharing.

    For a SQLite file the parent folder is created. An in-memory SQLite database
    (``sqlite://``) gets one shared connection; it is meant for single-threaded tests only.

    Args:
        url: ``sqlite:///path/to/site.db`` or ``postgresql+psycopg://user:pw@host/db``.
        busy_timeout_s: SQLite only: how long to wait for another writer's lock.

    Returns:
        A SQLAlchemy engine. Use :func:`reader` for read-only work on it.

    Raises:
        StorageError: The URL is malformed, names an unknown driver, or its folder cannot be made.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise StorageError(f"not a valid database URL: {safe_url(url)!r}") from err
    shown = safe_url(parsed)
    try:
        if parsed.get_backend_name() == "sqlite":
            return _create_sqlite_engine(parsed, busy_timeout_s)
        return create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as err:
        raise StorageError(f"cannot use database {shown}: {err}") from err


def _create_sqlite_engine(url: URL, busy_timeout_s: float) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
    kwargs: dict[str, Any] = {}
    if in_memory:
        from sqlalchemy.pool import StaticPool

        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    elif not database.startswith("file:"):
        folder = Path(database).expanduser().resolve().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StorageError(
                f"cannot create the folder {folder} for database {safe_url(url)}: {err}"
            ) from err
    engine = create_engine(url, **kwargs)
    busy_ms = max(0, round(busy_timeout_s * 1000))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from pysqlite (SQLAlchemy's recommended recipe): it would
        # otherwise emit a deferred BEGIN of its own and commit implicitly before DDL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def reader(engine: Engine) -> Engine:
    """Return a view of ``engine`` for read-only transactions (same pool).

    On SQLite these begin deferred, so they read a consistent snapshot without taking the write
    lock; on other backends the option is ignored.
    """
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def migrate(engine: Engine) -> None:
    """Apply every Alembic migration up to head; a database already at head is left untouched.

    Safe to call from several processes at once: on SQLite the migration runs inside a
    ``BEGIN IMMEDIATE`` transaction, on PostgreSQL under a transaction-scoped advisory lock.

    Raises:
        StorageError: The database cannot be reached or a migration fails.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    shown = safe_url(engine.url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                             {"key": _MIGRATION_LOCK_KEY})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except SQLAlchemyError as err:
        raise StorageError(f"cannot migrate database {shown}: {err}") from err
    logger.debug("database %s is at the newest schema", shown)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp column that takes and gives back aware UTC datetimes on every backend.

    PostgreSQL stores ``timestamptz``. SQLite has no time zones: values are stored as naive UTC
    text with microseconds (which also sorts correctly) and get their UTC zone back on reading.
    Naive datetimes are refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC (naive UTC for SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
