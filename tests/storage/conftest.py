"""Fixtures and backend-independent scenarios for the event-log tests.

The scenarios are plain functions collected on :class:`Scenarios` and handed to tests through the
``scenarios`` fixture, so the SQLite tests and the PostgreSQL tests run exactly the same checks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from commandcenter.core.clock import ScriptedClock
from commandcenter.core.events import (
    ChainBreak,
    Event,
    RecordedEvent,
    canonical_payload,
    chain_hash,
)
from commandcenter.storage.eventlog import EventLog, events_table

REPO = Path(__file__).resolve().parents[2]

CHILD_APPENDER = r"""
import sys, threading
from commandcenter.core.clock import SystemClock
from commandcenter.core.events import Event
from commandcenter.storage.eventlog import EventLog

url, source, threads, per_thread = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
out = threading.Lock()
with EventLog(url, SystemClock()) as log:
    print("ready", flush=True)
    sys.stdin.readline()  # the parent says go

    def work(t):
        i = 0
        while per_thread == 0 or i < per_thread:
            rec = log.append(Event("test.tick", source, {"thread": t, "i": i, "who": source}))
            with out:
                sys.stdout.write(f"{rec.seq} {t} {i}\n")
                sys.stdout.flush()
            i += 1

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
print("done", flush=True)
"""
"""A child process that appends ``test.tick`` events from several threads and prints
``seq thread i`` for each as soon as ``append`` returns. Arguments: URL, source, threads,
events per thread (0: until killed). It prints ``ready`` once open and starts on a line on stdin."""


def start_child_appender(url: str, source: str, threads: int,
                         per_thread: int) -> subprocess.Popen[str]:
    """Start :data:`CHILD_APPENDER` and wait until its log is open; write a line to start it."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_APPENDER, url, source, str(threads), str(per_thread)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env, cwd=REPO)
    assert child.stdout is not None
    first = child.stdout.readline()
    if first.strip() != "ready":
        child.kill()
        _, err = child.communicate(timeout=30)
        pytest.fail(f"child appender did not start: {first!r}\n{err}")
    return child


class SteppingClock:
    """A clock tests may set to any time, backwards included (a wall clock being corrected)."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        return 0.0

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when


class Scenarios:
    """Checks that every backend must pass; each takes a freshly opened, empty log."""

    @staticmethod
    def round_trip(log: EventLog, clock: ScriptedClock) -> None:
        events = [
            Event("alarm.raised", "gauge:GD-101",
                  {"gauge": "GD-101", "value": 27.5, "unit": "%LEL", "level": "HH",
                   "说明": "可燃气体浓度超高报警",
                   "nested": {"list": [1, 2.5, None, True, "储罐区"]}, "big": 2**70},
                  incident_id="INC-2026-0007", drill_id=None),
            Event("drill.inject", "drill:blind-01", {"step": 3, "text": "二号罐区泄漏"},
                  incident_id=None, drill_id="DRILL-2026-03"),
            Event("plan.activated", "operator:zhang.wei", {},
                  incident_id="INC-2026-0007", drill_id="DRILL-2026-03"),
        ]
        recorded = []
        for event in events:
            clock.advance(1.234567)
            recorded.append(log.append(event))
        assert [r.seq for r in recorded] == [1, 2, 3]
        back = list(log.read())
        assert back == recorded
        for ev, rec, orig in zip(back, recorded, events, strict=True):
            assert ev.ts.tzinfo is not None and ev.ts.utcoffset() == timedelta(0)
            assert ev.ts == rec.ts
            assert ev.type == orig.type and ev.source == orig.source
            assert ev.incident_id == orig.incident_id and ev.drill_id == orig.drill_id
            assert ev.payload == dict(orig.payload)
            assert len(ev.id) == 32 and int(ev.id, 16) >= 0
        assert back[0].ts == datetime(2026, 1, 1, 0, 0, 1, 234567, tzinfo=UTC)
        assert back[0].payload["说明"] == "可燃气体浓度超高报警"
        assert back[0].payload["big"] == 2**70
        assert back[0].prev_hash == "0" * 64 and back[1].prev_hash == back[0].hash
        assert log.tail(1) == [recorded[-1]]
        assert log.last_seq() == 3 and log.count() == 3
        assert log.verify() is None

    @staticmethod
    def concurrent_gapless(log: EventLog, threads: int = 16, per_thread: int = 200) -> None:
        seen: list[list[int]] = [[] for _ in range(threads)]
        errors: list[BaseException] = []
        start = threading.Barrier(threads)

        def work(t: int) -> None:
            try:
                start.wait()
                for i in range(per_thread):
                    seen[t].append(log.append(Event("test.tick", f"thread:{t}",
                                                    {"t": t, "i": i})).seq)
            except BaseException as err:
                errors.append(err)

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert errors == []
        total = threads * per_thread
        assert sorted(s for seqs in seen for s in seqs) == list(range(1, total + 1))
        for seqs in seen:  # each caller's own appends are ordered
            assert seqs == sorted(seqs)
        assert log.count() == total and log.last_seq() == total
        assert log.verify() is None
        by_seq = {ev.seq: ev for ev in log.read()}
        for t, seqs in enumerate(seen):
            assert [by_seq[s].payload["i"] for s in seqs] == list(range(per_thread))
            assert {by_seq[s].source for s in seqs} == {f"thread:{t}"}

    @staticmethod
    def tampering(log: EventLog) -> None:
        recorded = [log.append(Event("test.tick", "test", {"n": n})) for n in range(1, 11)]
        assert log.verify() is None
        engine = log.engine

        def run(sql: str, **params: object) -> None:
            with engine.begin() as conn:
                conn.execute(text(sql), params)

        # An altered payload breaks that event's own hash.
        run("UPDATE events SET payload = :p WHERE seq = 4", p='{"n":400}')
        brk = log.verify()
        assert brk is not None and brk.seq == 4 and "altered" in brk.reason
        run("UPDATE events SET payload = :p WHERE seq = 4", p='{"n":4}')
        assert log.verify() is None

        # An altered hash no longer matches the content.
        run("UPDATE events SET hash = :h WHERE seq = 6", h="f" * 64)
        brk = log.verify()
        assert brk is not None and brk.seq == 6 and "altered" in brk.reason
        run("UPDATE events SET hash = :h WHERE seq = 6", h=recorded[5].hash)
        assert log.verify() is None

        # Altering content and recomputing that row's hash breaks the link to the next one.
        forged = recorded[2]
        forged_hash = chain_hash(seq=3, id=forged.id, ts=forged.ts, type=forged.type,
                                 source=forged.source, payload_json='{"n":333}',
                                 incident_id=None, drill_id=None, prev_hash=forged.prev_hash)
        run("UPDATE events SET payload = :p, hash = :h WHERE seq = 3", p='{"n":333}',
            h=forged_hash)
        brk = log.verify()
        assert brk is not None and brk.seq == 4 and "prev_hash" in brk.reason
        run("UPDATE events SET payload = :p, hash = :h WHERE seq = 3", p='{"n":3}',
            h=forged.hash)
        assert log.verify() is None

        # A deleted row leaves a gap.
        run("DELETE FROM events WHERE seq = 5")
        brk = log.verify()
        assert brk is not None and brk.seq == 6 and "jumps from 4 to 6" in brk.reason
        _insert_row(engine, recorded[4])
        assert log.verify() is None

        # A row inserted in the middle (later rows renumbered to make room): the forged row
        # even carries a correct hash, but the renumbered row after it does not link to it.
        run("UPDATE events SET seq = seq + 1000000 WHERE seq > 5")
        run("UPDATE events SET seq = seq - 999999 WHERE seq > 1000000")
        intruder_ts = recorded[4].ts
        intruder_hash = chain_hash(seq=6, id="f" * 32, ts=intruder_ts, type="test.tick",
                                   source="intruder", payload_json='{"n":0}', incident_id=None,
                                   drill_id=None, prev_hash=recorded[4].hash)
        _insert_row(engine, RecordedEvent(seq=6, id="f" * 32, ts=intruder_ts, type="test.tick",
                                          source="intruder", payload={"n": 0}, incident_id=None,
                                          drill_id=None, prev_hash=recorded[4].hash,
                                          hash=intruder_hash))
        brk = log.verify()
        assert brk is not None and brk.seq == 7 and "prev_hash" in brk.reason
        run("DELETE FROM events WHERE seq = 6")
        run("UPDATE events SET seq = seq + 1000000 WHERE seq > 6")
        run("UPDATE events SET seq = seq - 1000001 WHERE seq > 1000000")
        assert log.verify() is None

        # A row slipped in at the end without the chain's last hash.
        _insert_row(engine, RecordedEvent(seq=11, id="e" * 32, ts=recorded[-1].ts,
                                          type="test.tick", source="intruder", payload={},
                                          incident_id=None, drill_id=None,
                                          prev_hash="a" * 64, hash="b" * 64))
        brk = log.verify()
        assert brk is not None and brk.seq == 11 and "prev_hash" in brk.reason
        run("DELETE FROM events WHERE seq = 11")

        # A payload that is no longer JSON at all.
        run("UPDATE events SET payload = :p WHERE seq = 2", p="{not json")
        brk = log.verify()
        assert brk is not None and brk.seq == 2 and "not valid JSON" in brk.reason
        run("UPDATE events SET payload = :p WHERE seq = 2", p='{"n":2}')

        # Events cut off the end leave an intact chain; the head written with every append
        # still names the last event.
        run("DELETE FROM events WHERE seq >= 9")
        brk = log.verify()
        assert brk == ChainBreak(9, "events 9-10 are missing at the end of the log "
                                    "(the chain head records seq 10)")
        _insert_row(engine, recorded[8])
        brk = log.verify()
        assert brk == ChainBreak(10, "event 10 is missing at the end of the log "
                                     "(the chain head records seq 10)")
        _insert_row(engine, recorded[9])
        assert log.verify() is None

        # A correctly chained event added by another program, which does not move the head.
        extra_hash = chain_hash(seq=11, id="e" * 32, ts=recorded[-1].ts, type="test.tick",
                                source="intruder", payload_json="{}", incident_id=None,
                                drill_id=None, prev_hash=recorded[-1].hash)
        _insert_row(engine, RecordedEvent(seq=11, id="e" * 32, ts=recorded[-1].ts,
                                          type="test.tick", source="intruder", payload={},
                                          incident_id=None, drill_id=None,
                                          prev_hash=recorded[-1].hash, hash=extra_hash))
        brk = log.verify()
        assert brk is not None and brk.seq == 11 and "without moving the chain head" in brk.reason
        run("DELETE FROM events WHERE seq = 11")

        # The head itself deleted, or pointing at another hash.
        run("DELETE FROM chain_head")
        brk = log.verify()
        assert brk is not None and brk.seq == 11 and "chain head record is missing" in brk.reason
        run("INSERT INTO chain_head (id, seq, hash) VALUES (1, 10, :h)", h="c" * 64)
        brk = log.verify()
        assert brk == ChainBreak(10, "the last event does not match the chain head's hash")
        run("UPDATE chain_head SET hash = :h", h=recorded[-1].hash)
        assert log.head() == (10, recorded[-1].hash)

        assert log.verify() is None
        assert list(log.read()) == recorded
        # The log goes on after all this.
        assert log.append(Event("test.tick", "test", {"n": 11})).seq == 11
        assert log.verify() is None


def _insert_row(engine: Engine, ev: RecordedEvent) -> None:
    with engine.begin() as conn:
        conn.execute(events_table.insert().values(
            seq=ev.seq, id=ev.id, ts=ev.ts, type=ev.type, source=ev.source,
            incident_id=ev.incident_id, drill_id=ev.drill_id,
            payload=canonical_payload(ev.payload), prev_hash=ev.prev_hash, hash=ev.hash))


@pytest.fixture
def scenarios() -> type[Scenarios]:
    """The backend-independent checks."""
    return Scenarios


@pytest.fixture
def clock() -> ScriptedClock:
    """A scripted clock at 2026-01-01 00:00 UTC."""
    return ScriptedClock()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """URL of a SQLite file (not yet created) in a folder that does not exist yet."""
    return f"sqlite:///{tmp_path / 'data' / 'site.db'}"


@pytest.fixture
def log(db_url: str, clock: ScriptedClock) -> Iterator[EventLog]:
    """A fresh, migrated, file-backed event log."""
    with EventLog(db_url, clock) as opened:
        yield opened
