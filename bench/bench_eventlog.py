"""Event-log append throughput and latency: group commit vs committing one by one.

(a) ours: 1,000 coroutines on one asyncio loop await ``EventLog.append_async`` (how the runtime
    appends), and N producer threads call ``EventLog.append``, on a file-backed SQLite log with
    ``synchronous=FULL``; every call returns only after its event is durably committed.
(b) baseline, same run, same disk: raw ``sqlite3`` (WAL, ``synchronous=FULL``), one thread, the
    same events hashed the same way (``core.events.record``), one INSERT + COMMIT per event.

Also measured: the bare cost of one durable commit on this disk (an empty-ish transaction), which
bounds what any design can do per commit.

Run: ``.venv/bin/python bench/bench_eventlog.py [--events N] [--threads T]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from commandcenter.core.clock import SystemClock
from commandcenter.core.events import GENESIS_HASH, Event, canonical_payload, record
from commandcenter.storage.database import create_engine_for, migrate
from commandcenter.storage.eventlog import EventLog

TARGET_EVENTS_PER_S = 20_000
TARGET_P99_MS = 50.0


@dataclass(frozen=True)
class Result:
    """One measured configuration."""

    name: str
    events: int
    seconds: float
    latencies_s: list[float]
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_us_per_event(self) -> float:
        """Process CPU time (all threads) per event: what the machine's load cannot inflate."""
        return self.cpu_seconds / self.events * 1e6

    def pct_ms(self, q: float) -> float:
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def make_event(thread: int, i: int) -> Event:
    """A realistic small event (an alarm with a few fields and Chinese text)."""
    return Event("alarm.raised", f"gauge:GD-{thread:03d}",
                 {"gauge": f"GD-{thread:03d}", "value": 20.0 + i % 50, "unit": "%LEL",
                  "level": "H", "text": "可燃气体浓度高", "i": i},
                 incident_id=None if i % 3 else f"INC-{i // 100}")


def bench_ours(folder: Path, events: int, threads: int, name: str = "ours.db") -> Result:
    per_thread = events // threads
    total = per_thread * threads
    latencies: list[list[float]] = [[] for _ in range(threads)]
    with EventLog(f"sqlite:///{folder / name}", SystemClock()) as log:
        log.append_many([make_event(0, i) for i in range(200)])  # warm up: pool, caches
        start = threading.Barrier(threads + 1)

        def work(t: int) -> None:
            mine = latencies[t]
            clock = time.perf_counter
            start.wait()
            for i in range(per_thread):
                event = make_event(t, i)
                began = clock()
                log.append(event)
                mine.append(clock() - began)

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        start.wait()
        began, cpu = time.perf_counter(), time.process_time()
        for w in workers:
            w.join()
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
        assert log.verify() is None, "chain does not verify after the benchmark"
    label = f"{threads} threads" if threads > 1 else "1 thread"
    return Result(f"EventLog.append, {label}, group commit", total, elapsed,
                  [x for mine in latencies for x in mine], cpu)


def bench_async(folder: Path, events: int, producers: int, name: str = "async.db") -> Result:
    """``producers`` coroutines on one asyncio loop each awaiting ``append_async`` in turn.

    This is how the runtime appends: alarm engine, dispatcher and operator actions are
    coroutines on one loop, never blocked while their events are committed.
    """
    import asyncio

    per = events // producers
    total = per * producers
    latencies: list[float] = []
    with EventLog(f"sqlite:///{folder / name}", SystemClock()) as log:
        log.append_many([make_event(0, i) for i in range(200)])

        async def producer(p: int) -> None:
            clock = time.perf_counter
            for i in range(per):
                began = clock()
                await log.append_async(make_event(p, i))
                latencies.append(clock() - began)

        async def run() -> tuple[float, float]:
            began, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(producer(p) for p in range(producers)))
            return time.perf_counter() - began, time.process_time() - cpu

        elapsed, cpu = asyncio.run(run())
        assert log.verify() is None, "chain does not verify after the benchmark"
    return Result(f"EventLog.append_async, {producers} coroutines, one loop", total, elapsed,
                  latencies, cpu)


def bench_batches(folder: Path, events: int, threads: int = 8, batch: int = 25,
                  name: str = "batches.db") -> Result:
    """``threads`` producers each appending ``batch`` events at a time with ``append_many``.

    How bursts arrive: one reading crossing three limits, an activation queuing 200 messages,
    a flood of alarms. Latency is per batch (the call returns when the whole batch is durable).
    """
    per = events // (threads * batch)
    total = per * threads * batch
    latencies: list[list[float]] = [[] for _ in range(threads)]
    with EventLog(f"sqlite:///{folder / name}", SystemClock()) as log:
        log.append_many([make_event(0, i) for i in range(200)])
        start = threading.Barrier(threads + 1)

        def work(t: int) -> None:
            mine = latencies[t]
            clock = time.perf_counter
            start.wait()
            for b in range(per):
                events_ = [make_event(t, b * batch + i) for i in range(batch)]
                began = clock()
                log.append_many(events_)
                mine.append(clock() - began)

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        start.wait()
        began, cpu = time.perf_counter(), time.process_time()
        for w in workers:
            w.join()
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
        assert log.verify() is None, "chain does not verify after the benchmark"
    return Result(f"EventLog.append_many, {threads} threads × {batch}-event bursts", total,
                  elapsed, [x for mine in latencies for x in mine], cpu)


def _raw_connection(path: Path) -> sqlite3.Connection:
    engine = create_engine_for(f"sqlite:///{path}")
    migrate(engine)  # the same table and indexes as ours
    engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def bench_baseline(folder: Path, events: int, max_seconds: float = 15.0) -> Result:
    conn = _raw_connection(folder / "baseline.db")
    insert = ("INSERT INTO events (seq, id, ts, type, source, incident_id, drill_id, payload, "
              "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    prev = GENESIS_HASH
    latencies: list[float] = []
    began, cpu = time.perf_counter(), time.process_time()
    for i in range(events):
        if time.perf_counter() - began > max_seconds:  # a slow disk: enough samples anyway
            break
        event = make_event(i % 64, i)
        t0 = time.perf_counter()
        ts = datetime.now(UTC)
        rec = record(event, seq=i + 1, ts=ts, prev_hash=prev)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(insert, (rec.seq, rec.id, ts.strftime("%Y-%m-%d %H:%M:%S.%f"), rec.type,
                              rec.source, rec.incident_id, rec.drill_id,
                              canonical_payload(rec.payload), rec.prev_hash, rec.hash))
        conn.execute("COMMIT")
        latencies.append(time.perf_counter() - t0)
        prev = rec.hash
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    conn.close()
    return Result("raw sqlite3, 1 thread, commit per event", len(latencies), elapsed, latencies,
                  cpu)


def bare_commit_ms(folder: Path, commits: int = 300) -> float:
    """Median time of one durable commit of one tiny row on this disk."""
    conn = sqlite3.connect(folder / "fsync.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE t (x INTEGER PRIMARY KEY, y TEXT)")
    times = []
    for _ in range(commits):
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (y) VALUES ('x')")
        conn.execute("COMMIT")
        times.append(time.perf_counter() - t0)
    conn.close()
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark, print the table, return the headline figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=40_000, help="events appended by ours")
    parser.add_argument("--threads", type=int, default=64, help="producer threads for ours")
    parser.add_argument("--coroutines", type=int, default=1000,
                        help="producer coroutines for ours (async)")
    parser.add_argument("--baseline-events", type=int, default=5_000)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="cc-bench-eventlog-") as tmp:
        folder = Path(tmp)
        commit_ms = bare_commit_ms(folder)
        threaded = bench_ours(folder, args.events, args.threads)
        ours = bench_async(folder, args.events, args.coroutines)
        bursts = bench_batches(folder, args.events)
        single = bench_ours(folder, args.baseline_events // 2, 1, name="single.db")
        base = bench_baseline(folder, args.baseline_events)

    print(f"\nEvent log append ({platform.python_version()}, {os.cpu_count()} CPUs, "
          f"SQLite {sqlite3.sqlite_version}, WAL + synchronous=FULL)")
    print(f"one durable commit on this disk: median {commit_ms:.2f} ms")
    header = f"{'':52} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'CPU µs/ev':>10}"
    print(header)
    print("-" * len(header))
    for r in (ours, threaded, bursts, single, base):
        print(f"{r.name:52} {r.rate:>10,.0f} {r.pct_ms(0.50):>8.2f} {r.pct_ms(0.99):>8.2f} "
              f"{r.cpu_us_per_event:>10.0f}")
    print(f"{'target (ours)':52} {TARGET_EVENTS_PER_S:>10,} {'':>8} {TARGET_P99_MS:>8.2f}")
    ok_rate = ours.rate >= TARGET_EVENTS_PER_S
    ok_p99 = ours.pct_ms(0.99) <= TARGET_P99_MS
    print(f"ours vs baseline: {ours.rate / base.rate:.1f}x the throughput; "
          f"throughput target {'met' if ok_rate else 'MISSED'}, "
          f"p99 target {'met' if ok_p99 else 'MISSED'}")
    return {"ours_events_per_s": ours.rate, "ours_p50_ms": ours.pct_ms(0.5),
            "ours_p99_ms": ours.pct_ms(0.99), "baseline_events_per_s": base.rate,
            "baseline_p50_ms": base.pct_ms(0.5), "baseline_p99_ms": base.pct_ms(0.99),
            "single_events_per_s": single.rate, "single_p99_ms": single.pct_ms(0.99),
            "threads_events_per_s": threaded.rate, "threads_p99_ms": threaded.pct_ms(0.99),
            "bursts_events_per_s": bursts.rate, "bursts_p99_ms": bursts.pct_ms(0.99),
            "ours_cpu_us_per_event": ours.cpu_us_per_event, "commit_ms": commit_ms}


if __name__ == "__main__":
    main()
