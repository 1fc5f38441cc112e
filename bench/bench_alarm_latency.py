"""Live alarms: from a gauge reading to the alarm event in the log, and to the row on screen.

500 gauges (the demo site's gauges copied under new ids, on-delay and off-delay set to 0 so a
reading beyond a limit raises at once) are read once a second, in 10 bursts of 50 readings
100 ms apart (as 10 links polling would deliver them). Each second ``--crossings`` of the
readings (default 5, 1 %) cross a gauge's lowest limit; the next second those gauges read
normal again, and the second after an operator acknowledges them (``acknowledge_all``), so
the alarm leaves the list and the next crossing of that gauge adds a new row. The crossing
gauges go round all gauges with limits in turn.

Measured, with ``time.perf_counter`` from just before the reading is handed over:

(a) ours, to the log: ``AlarmService.reading(...)`` on a real file SQLite ``EventLog`` (WAL,
    ``synchronous=FULL``, temporary folder) → the ``alarm.raised`` event committed (the log's
    subscriber callback, which runs after the commit);
(b) ours, to the screen: the same reading → the alarm's row inserted into an
    ``AlarmTableModel`` (scope "standing", shown in a ``QTableView`` offscreen) — the service
    on a qasync loop started once, as the app runs it;
(c) baseline, same run, first: the bare engine — ``AlarmEngine.process`` and one
    ``EventLog.append`` per event it returns (each returns after its commit) on a fresh log, in
    a plain loop on one thread, same readings, same schedule.

Targets: (a) p99 < 50 ms, (b) p99 < 250 ms. Nothing is asserted.

Everything runs in a child process of its own (``main`` starts it) so that qasync is started
exactly once in it (STACK.md), also under ``bench/run.py``.

Run: ``.venv/bin/python bench/bench_alarm_latency.py [--seconds 60] [--crossings 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BURSTS = 10
"""Bursts of readings per second."""
RAISED = "alarm.raised"


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` (nearest rank); NaN when empty."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * len(s) + 0.5) - 1))]


def row(samples: list[float]) -> dict[str, float]:
    """Count, p50, p99 and max of latencies, in ms."""
    return {"n": len(samples), "p50_ms": pct(samples, 0.50) * 1e3,
            "p99_ms": pct(samples, 0.99) * 1e3,
            "max_ms": (max(samples) if samples else float("nan")) * 1e3}


def bench_site(gauges: int) -> Any:
    """The demo site with its gauges copied under new ids up to ``gauges``, delays set to 0."""
    from commandcenter.config import demo_site_dir
    from commandcenter.core.siteio import load_site

    site = load_site(demo_site_dir())
    originals = list(site.gauges.values())
    n = 0
    while len(site.gauges) < gauges:
        g = originals[n % len(originals)]
        copy = g.model_copy(update={"id": f"{g.id}-B{n // len(originals) + 1:02d}"})
        site.gauges[copy.id] = copy
        n += 1
    for gid, g in list(site.gauges.items()):
        site.gauges[gid] = g.model_copy(update={"on_delay_s": 0.0, "off_delay_s": 0.0})
    return site


@dataclass(frozen=True)
class Plan:
    """What each gauge reads: its normal value, its crossing value and the alarm that raises."""

    order: list[str]
    normal: dict[str, float]
    crossing: dict[str, tuple[float, str]]
    """Gauge id → (value beyond its lowest limit, id of the alarm it raises)."""


def reading_plan(site: Any) -> Plan:
    """Values inside every limit, and just beyond each gauge's lowest limit (one alarm)."""
    normal: dict[str, float] = {}
    crossing: dict[str, tuple[float, str]] = {}
    for gid, g in site.gauges.items():
        lo, hi = g.range
        highs = sorted((t for t in g.thresholds if t.direction == "high"), key=lambda t: t.value)
        lows = sorted((t for t in g.thresholds if t.direction == "low"), key=lambda t: -t.value)
        top = highs[0].value if highs else hi
        bottom = lows[0].value if lows else lo
        normal[gid] = (top + bottom) / 2
        if g.latching:
            continue  # a latched alarm would need a reset, not just an acknowledgement
        if highs:
            nxt = highs[1].value if len(highs) > 1 else hi
            crossing[gid] = ((highs[0].value + nxt) / 2, f"{gid}:high:{highs[0].level.value}")
        elif lows:
            nxt = lows[1].value if len(lows) > 1 else lo
            crossing[gid] = ((lows[0].value + nxt) / 2, f"{gid}:low:{lows[0].level.value}")
    return Plan(list(site.gauges), normal, crossing)


class Schedule:
    """Which gauges cross, return and are acknowledged in each second."""

    def __init__(self, plan: Plan, crossings: int) -> None:
        self.plan = plan
        self.crossings = crossings
        self._turn = [gid for gid in plan.order if gid in plan.crossing]
        self._next = 0
        self.crossing: set[str] = set()
        self.returning: set[str] = set()
        self.to_ack: set[str] = set()

    def advance(self, second: int) -> None:
        """Move to ``second``: last second's crossers return, the ones before are acked."""
        self.to_ack = self.returning
        self.returning = self.crossing
        self.crossing = set()
        if second < 2:  # every gauge reads normal once first
            return
        for _ in range(self.crossings):
            gid = self._turn[self._next % len(self._turn)]
            self._next += 1
            self.crossing.add(gid)

    def value(self, gid: str) -> float:
        """This second's value of ``gid``."""
        if gid in self.crossing:
            return self.plan.crossing[gid][0]
        return self.plan.normal[gid]


def bursts(order: list[str]) -> list[list[str]]:
    """The gauges in ``BURSTS`` bursts."""
    size = -(-len(order) // BURSTS)
    return [order[i:i + size] for i in range(0, len(order), size)]


# ---------------------------------------------------------------------- baseline


def run_baseline(site: Any, folder: Path, seconds: int, crossings: int) -> list[float]:
    """The bare engine and one ``append`` per event, same readings, same schedule."""
    from commandcenter.core.alarms import AlarmEngine
    from commandcenter.core.clock import SystemClock
    from commandcenter.storage.eventlog import EventLog

    clock = SystemClock()
    log = EventLog(f"sqlite:///{folder / 'baseline.db'}", clock)
    engine = AlarmEngine(site.gauges.values(), clock, plans=site.plans.values())
    plan = reading_plan(site)
    sched = Schedule(plan, crossings)
    groups = bursts(plan.order)
    latencies: list[float] = []
    began = time.perf_counter()
    try:
        for second in range(seconds):
            sched.advance(second)
            for gid in sched.to_ack:
                for ev in engine.acknowledge_all("bench.operator", gid):
                    log.append(ev)
            for b, group in enumerate(groups):
                wait = began + second + b / BURSTS - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                now = clock.now()
                for gid in group:
                    want = plan.crossing[gid][1] if gid in sched.crossing else None
                    t0 = time.perf_counter()
                    for ev in engine.process(gid, sched.value(gid), now):
                        log.append(ev)
                        if want is not None and ev.type == RAISED \
                                and ev.payload.get("alarm") == want:
                            latencies.append(time.perf_counter() - t0)
    finally:
        log.close()
    return latencies


# ---------------------------------------------------------------------- ours


async def run_ours(site: Any, folder: Path, seconds: int,
                   crossings: int) -> tuple[list[float], list[float], dict[str, Any]]:
    """The alarm service on the qasync loop, a table model on its board."""
    from PySide6.QtWidgets import QTableView

    from commandcenter.config import Settings, demo_site_dir
    from commandcenter.core.clock import SystemClock
    from commandcenter.core.events import RecordedEvent
    from commandcenter.devices.base import Reading
    from commandcenter.services.alarms import AlarmService
    from commandcenter.services.runtime import Services
    from commandcenter.storage.eventlog import EventLog
    from commandcenter.ui.alarms.models import AlarmTableModel

    clock = SystemClock()
    settings = Settings(site_dir=demo_site_dir(), database_url=f"sqlite:///{folder / 'cc.db'}",
                        simulate_gauges=True, log_dir=folder, language="en")
    log = EventLog(settings.effective_database_url, clock)
    svc = AlarmService(Services(settings=settings, clock=clock, site=site, event_log=log),
                       connect_gauges=False)
    plan = reading_plan(site)
    sched = Schedule(plan, crossings)
    groups = bursts(plan.order)
    sent: dict[str, float] = {}  # alarm id → perf_counter at the crossing reading
    to_log: list[float] = []
    to_screen: list[float] = []
    lock = threading.Lock()

    def committed(ev: RecordedEvent) -> None:  # the log's writer thread, after the commit
        if ev.type == RAISED:
            t = time.perf_counter()
            t0 = sent.get(str(ev.payload.get("alarm")))
            if t0 is not None:
                with lock:
                    to_log.append(t - t0)

    model = AlarmTableModel(svc.board, site, "en", status=svc.gauge_status)
    view = QTableView()
    view.setModel(model)
    view.resize(1400, 800)
    view.show()
    shown: set[str] = set()

    def inserted(_parent: Any, first: int, last: int) -> None:
        t = time.perf_counter()
        for r in range(first, last + 1):
            alarm = model.alarm_at(r)
            if alarm is None:
                continue
            t0 = sent.get(alarm.id)
            if t0 is not None and alarm.id not in shown:
                shown.add(alarm.id)
                to_screen.append(t - t0)

    model.rowsInserted.connect(inserted)
    unsubscribe = log.subscribe(committed)
    # Where a slow sample went: each append_many of the pump (worker thread: wait for the
    # writer, insert, commit) and each burst of readings on the loop thread.
    appends: list[float] = []
    burst_s: list[float] = []
    append_many = log.append_many

    def timed_append_many(events: Any) -> Any:
        t = time.perf_counter()
        try:
            return append_many(events)
        finally:
            appends.append(time.perf_counter() - t)

    log.append_many = timed_append_many  # type: ignore[method-assign]
    await svc.start()
    acks: list[asyncio.Task[None]] = []
    began = time.perf_counter()
    try:
        for second in range(seconds):
            sched.advance(second)
            for gid in sched.to_ack:
                aid = plan.crossing[gid][1]
                sent.pop(aid, None)
                shown.discard(aid)
                acks.append(asyncio.create_task(svc.acknowledge_all("bench.operator", gid)))
            for b, group in enumerate(groups):
                wait = began + second + b / BURSTS - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                now = clock.now()
                t_burst = time.perf_counter()
                for gid in group:
                    if gid in sched.crossing:
                        sent[plan.crossing[gid][1]] = time.perf_counter()
                    svc.reading(Reading(gid, sched.value(gid), now))
                burst_s.append(time.perf_counter() - t_burst)
        await svc.settle()
        await asyncio.gather(*acks, return_exceptions=True)
        info = {"events": log.last_seq(), "rows_at_end": model.rowCount(),
                "append_many": row(appends), "burst": row(burst_s)}
    finally:
        await svc.stop()
        unsubscribe()
        view.close()
        log.close()
    return to_log, to_screen, info


# ---------------------------------------------------------------------- the child process


def _child(args: argparse.Namespace) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtWidgets import QApplication

    site = bench_site(args.gauges)
    plan = reading_plan(site)
    out: dict[str, Any] = {"gauges": len(site.gauges), "with_limits": len(plan.crossing),
                           "seconds": args.seconds, "crossings_per_s": args.crossings}
    print(f"{len(site.gauges)} gauges ({len(plan.crossing)} can cross a limit), read at 1 Hz in "
          f"{BURSTS} bursts; {args.crossings} crossings/s; {args.seconds} s per row",
          flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = run_baseline(site, folder, args.seconds, args.crossings)
        out["baseline"] = row(base)
        app = QApplication([sys.argv[0]])
        app.setQuitOnLastWindowClosed(False)

        async def ours() -> None:
            to_log, to_screen, info = await run_ours(bench_site(args.gauges), folder,
                                                     args.seconds, args.crossings)
            out["to_log"] = row(to_log)
            out["to_screen"] = row(to_screen)
            out.update(info)

        qasync.run(ours())
    def fmt(r: dict[str, float]) -> str:
        return f"{r['n']:>6} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['max_ms']:>8.1f}"

    print(f"{'':46} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    print(f"{'ours: reading → alarm.raised committed':46} {fmt(out['to_log'])}")
    print(f"{'ours: reading → row in AlarmTableModel':46} {fmt(out['to_screen'])}")
    print(f"{'baseline: engine.process + append per event':46} {fmt(out['baseline'])}")
    print(f"{'  in ours: one append_many call (worker thread)':46} {fmt(out['append_many'])}")
    print(f"{'  in ours: one burst of 50 readings (loop)':46} {fmt(out['burst'])}")
    print(f"({out['events']} events in our log; {out['rows_at_end']} rows at the end)")
    print("targets: to the log p99 < 50 ms, to the screen p99 < 250 ms", flush=True)
    Path(args.result_file).write_text(json.dumps(out))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=60, help="seconds of readings per row")
    ap.add_argument("--crossings", type=int, default=5, help="readings crossing a limit per s")
    ap.add_argument("--gauges", type=int, default=500)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--result-file", help=argparse.SUPPRESS)
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    if args.child:
        _child(args)
        return {}
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, Python {platform.python_version()}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "result.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child",
               "--result-file", str(result_file), "--seconds", str(args.seconds),
               "--crossings", str(args.crossings), "--gauges", str(args.gauges)]
        proc = subprocess.run(cmd, check=False)
        if proc.returncode != 0 or not result_file.exists():
            raise RuntimeError(f"the bench process failed (exit status {proc.returncode})")
        result: dict[str, Any] = json.loads(result_file.read_text())
    print(f"load average at the end {os.getloadavg()[0]:.1f}", flush=True)
    return result


if __name__ == "__main__":
    main()
