"""The event log on a real, throwaway PostgreSQL server started by the tests.

The server runs from the Debian binaries as the ``postgres`` user (``initdb`` refuses root) in a
temporary folder, listens on a free loopback port, and is stopped and removed afterwards. Each
test gets its own database.
"""

from __future__ import annotations

import glob
import itertools
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from commandcenter.core.clock import ScriptedClock
from commandcenter.core.events import Event
from commandcenter.storage.database import migrate
from commandcenter.storage.eventlog import EventLog

from .conftest import Scenarios, start_child_appender

pytestmark = pytest.mark.postgres

_db_numbers = itertools.count(1)


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found or shutil.which("runuser") is None:
        return None
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Start PostgreSQL for the session; yield the base URL (no database name)."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
                    "(install the Debian 'postgresql' package) or runuser missing")
    root = Path(tempfile.mkdtemp(prefix="cc-pg-"))
    shutil.chown(root, "postgres", "postgres")
    data = root / "data"
    port = _free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"]
    try:
        subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-U", "app",
                        "-A", "trust", "--no-sync", "-E", "UTF8"],
                       check=True, capture_output=True, timeout=120)
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l",
                        str(root / "server.log"), "start", "-o",
                        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"],
                       check=True, capture_output=True, timeout=120)
    except subprocess.CalledProcessError as err:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {err.stderr.decode()}\n{log}")
    try:
        yield f"postgresql+psycopg://app@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m",
                        "immediate", "-w", "stop"], capture_output=True, timeout=120, check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A new, empty database on the session's server."""
    name = f"events_{next(_db_numbers)}"
    admin = pg_server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{pg_server}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def pg_log(pg_url: str, clock: ScriptedClock) -> Iterator[EventLog]:
    with EventLog(pg_url, clock) as log:
        yield log


def test_round_trip(pg_log: EventLog, clock: ScriptedClock, scenarios: type[Scenarios]) -> None:
    scenarios.round_trip(pg_log, clock)


def test_timestamps_are_timestamptz(pg_log: EventLog) -> None:
    pg_log.append(Event("a.b", "test"))
    with psycopg.connect(pg_log.engine.url.render_as_string(hide_password=False).replace(
            "postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute("SELECT data_type FROM information_schema.columns "
                           "WHERE table_name = 'events' AND column_name = 'ts'").fetchone()
    assert row == ("timestamp with time zone",)


def test_seq_is_gapless_under_16_threads(pg_log: EventLog, scenarios: type[Scenarios]) -> None:
    scenarios.concurrent_gapless(pg_log, threads=16, per_thread=200)


def test_tampering_is_found_at_the_right_seq(pg_log: EventLog,
                                             scenarios: type[Scenarios]) -> None:
    scenarios.tampering(pg_log)


def test_migrate_is_idempotent(pg_log: EventLog) -> None:
    pg_log.append(Event("a.b", "test"))
    migrate(pg_log.engine)
    migrate(pg_log.engine)
    assert pg_log.count() == 1


def test_two_logs_in_one_process_share_one_chain(pg_url: str) -> None:
    with EventLog(pg_url, ScriptedClock()) as first, EventLog(pg_url, ScriptedClock()) as second:
        seqs: list[int] = []
        lock = threading.Lock()

        def work(log: EventLog, name: str) -> None:
            for i in range(150):
                seq = log.append(Event("test.tick", name, {"i": i})).seq
                with lock:
                    seqs.append(seq)

        workers = [threading.Thread(target=work, args=(log, f"{n}{t}"))
                   for n, log in (("a", first), ("b", second)) for t in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert sorted(seqs) == list(range(1, 1201))
        assert first.verify() is None and second.verify() is None


def test_two_processes_share_one_chain(pg_url: str) -> None:
    with EventLog(pg_url, ScriptedClock()) as log:
        child = start_child_appender(pg_url, "child", threads=4, per_thread=100)
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        mine = [log.append(Event("test.tick", "parent", {"i": i})).seq for i in range(300)]
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        theirs = [int(line.split()[0]) for line in out.splitlines() if line != "done"]
        assert len(theirs) == 400
        assert sorted(mine + theirs) == list(range(1, 701))
        assert log.count() == 700 and log.verify() is None
        times = [e.ts for e in log.read()]
        assert times == sorted(times)
        sources = [e.source for e in log.read()]
        assert sources.count("parent") == 300 and sources.count("child") == 400
