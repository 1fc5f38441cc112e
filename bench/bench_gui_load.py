"""The console stays responsive with 500 live gauges and 20 trend curves, and its memory stays flat.

One GUI process, built the way ``commandcenter gui`` builds it (``app.run_gui``): a
``QApplication`` (offscreen), one qasync loop started once, the runtime's components (alarm
service, incident service) on that loop, the console from ``build_console`` shown at
1920 × 1080 with the trends page in front and 20 gauges selected. The site is the demo site
with its gauges copied under new ids up to ``--gauges`` (500), every link polled once a second
by the built-in simulator (``GaugeNetwork(simulate=True)``), so 500 readings a second go
through the alarm service (trend buffers, history, alarm engine, event log). The trends page
redraws on its one 100 ms timer; a curve gets new data when its gauge's buffer changed. With
``--every-tick`` (the default) every curve is also marked changed before each tick, so all 20
curves get new data and the plot repaints ten times a second — the worst case, as if each of
the 20 gauges were sampled at 10 Hz; ``--no-every-tick`` measures the page as it runs (a curve
redraws when its 1 Hz reading arrives).

Measured:

- event-loop lag: an asyncio task sleeps 10 ms again and again and records how late it wakes
  (everything on the loop — readings, alarm pump, Qt painting, timers — delays it);
- baseline, same process, same loop, first: the loop idle (no runtime, no window, no gauges);
- resident memory (``VmRSS`` in ``/proc/self/status``) every minute; after 10 and after 60
  minutes when the run is that long.

Targets: lag p99 < 50 ms; RSS < 600 MB and growth < 5 % from minute 10 to minute 60.
Nothing is asserted.

The measurement runs in a child process of its own (``main`` starts it), so RSS is that of the
GUI alone and qasync is started exactly once in it (STACK.md), also under ``bench/run.py``.

Run: ``.venv/bin/python bench/bench_gui_load.py [--minutes 2] [--idle-seconds 20]``; the full
memory figure needs ``--minutes 60``.
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
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROBE_S = 0.010
"""The lag probe's sleep."""
WARMUP_S = 5.0
"""Seconds after the console is shown before lag samples count (first paint, first polls)."""


def rss_mb() -> float:
    """Resident memory of this process in MiB (``VmRSS``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` (nearest rank); NaN when empty."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * len(s) + 0.5) - 1))]


def lag_row(samples: list[float]) -> dict[str, float]:
    """p50 / p99 / max of lag samples, in ms."""
    return {"n": len(samples), "p50_ms": pct(samples, 0.50) * 1e3,
            "p99_ms": pct(samples, 0.99) * 1e3,
            "max_ms": (max(samples) if samples else float("nan")) * 1e3}


def enlarge_site(site: Any, gauges: int, poll_s: float = 1.0) -> list[str]:
    """Copy the site's gauges under new ids until it has ``gauges``; every link polls at ``poll_s``.

    Returns the gauge ids in order (originals first).
    """
    originals = list(site.gauges.values())
    n = 0
    while len(site.gauges) < gauges:
        g = originals[n % len(originals)]
        copy = g.model_copy(update={"id": f"{g.id}-B{n // len(originals) + 1:02d}"})
        site.gauges[copy.id] = copy
        n += 1
    for lid, link in list(site.links.items()):
        site.links[lid] = link.model_copy(update={"poll_s": poll_s})
    return list(site.gauges)


def prefill_trends(trends: Any, site: Any, ids: list[str], now: float) -> None:
    """Fill the trend buffers of ``ids`` with the hour before ``now`` at 1 Hz, from the simulator.

    A console that has run for an hour draws full buffers: 3,600 points a curve. Without this the
    first minutes measure short curves and the figure creeps up as the buffers fill. The values
    come from a :class:`GaugeSimulator` of the same gauges (drift, noise and excursions as the
    live simulator makes them).
    """
    from datetime import UTC, datetime

    from commandcenter.devices.simulator import GaugeSimulator

    sim = GaugeSimulator([site.gauges[gid] for gid in ids], site.links, seed=1)
    for i in range(3600):
        t = now - 3600 + i
        at = datetime.fromtimestamp(t, UTC)
        for gid in ids:
            trends.get(gid).append(t, sim.value(gid, at))


class PaintTimer:
    """Times every paint of a pyqtgraph ``PlotWidget`` (wraps its ``paintEvent``)."""

    def __init__(self, plot: Any) -> None:
        self.durations: list[float] = []
        original = plot.paintEvent

        def timed(event: Any) -> None:
            t = time.perf_counter()
            original(event)
            self.durations.append(time.perf_counter() - t)

        plot.paintEvent = timed

    @property
    def count(self) -> int:
        """Paints so far."""
        return len(self.durations)


async def _probe(samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(PROBE_S)
        samples.append(max(0.0, time.perf_counter() - t - PROBE_S))


async def _measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from commandcenter.config import Settings, demo_site_dir
    from commandcenter.core.clock import SystemClock
    from commandcenter.core.siteio import load_site
    from commandcenter.services.alarms import AlarmService
    from commandcenter.services.runtime import Services, build_runtime
    from commandcenter.storage.eventlog import EventLog
    from commandcenter.ui.extensions import UiContext, build_console
    from commandcenter.ui.i18n import set_language

    result: dict[str, Any] = {"gauges": args.gauges, "curves": args.curves,
                              "minutes": args.minutes, "every_tick": args.every_tick,
                              "prefill": args.prefill}
    stop = asyncio.Event()

    # --- baseline: the same loop with nothing on it
    idle: list[float] = []
    probe = asyncio.create_task(_probe(idle, stop))
    await asyncio.sleep(args.idle_seconds)
    stop.set()
    await probe
    result["idle"] = lag_row(idle)
    result["rss_idle_mb"] = rss_mb()
    print(f"idle loop, {args.idle_seconds:.0f} s: lag p50 {result['idle']['p50_ms']:.2f} ms, "
          f"p99 {result['idle']['p99_ms']:.2f} ms, max {result['idle']['max_ms']:.1f} ms "
          f"({len(idle)} wake-ups); RSS {result['rss_idle_mb']:.0f} MB", flush=True)

    # --- the console under load
    set_language("en")
    clock = SystemClock()
    site = load_site(demo_site_dir())
    ids = enlarge_site(site, args.gauges)
    settings = Settings(site_dir=demo_site_dir(), database_url=f"sqlite:///{folder / 'cc.db'}",
                        simulate_gauges=True, log_dir=folder, language="en")
    svc = Services(settings=settings, clock=clock, site=site,
                   event_log=EventLog(settings.effective_database_url, clock))
    runtime = build_runtime(svc)
    await runtime.start()
    alarms = runtime.get("alarms", AlarmService)
    assert alarms is not None
    chosen = [gid for gid in ids if site.gauges[gid].thresholds][:args.curves]
    if args.prefill:
        prefill_trends(alarms.trends, site, chosen, clock.now().timestamp())
    window = None
    try:
        ctx = UiContext(site=svc.site, event_log=svc.event_log, clock=svc.clock, lang="en",
                        db_label=svc.db_label, runtime=runtime)
        window = build_console(ctx)
        window.resize(1920, 1080)
        window.show()
        page = window.show_page("trends")
        paints = PaintTimer(page.plot)  # type: ignore[attr-defined]
        page.set_selected(chosen)  # type: ignore[attr-defined]
        print(f"console shown at {window.width()}×{window.height()}, trends page: "
              f"{len(chosen)} curves; {len(site.gauges)} gauges on {len(site.links)} links, "
              f"each polled every 1 s", flush=True)
        await asyncio.sleep(WARMUP_S)

        async def every_tick() -> None:
            while True:
                page.invalidate()  # type: ignore[attr-defined]
                await asyncio.sleep(0.1)

        forcing = asyncio.create_task(every_tick()) if args.every_tick else None

        def readings() -> int:
            return sum(alarms.trends.get(gid).version for gid in ids)

        samples: list[float] = []
        stop = asyncio.Event()
        probe = asyncio.create_task(_probe(samples, stop))
        began = time.perf_counter()
        minutes: list[dict[str, Any]] = []
        mark, r0, d0, e0 = 0, readings(), page.redraws, svc.event_log.last_seq()  # type: ignore[attr-defined]
        p0 = paints.count
        print(f"{'min':>4} {'RSS MB':>7} {'lag p50 ms':>11} {'p99 ms':>7} {'max ms':>7} "
              f"{'readings/s':>11} {'setData/s':>10} {'paints/s':>9} {'paint p50/p99 ms':>17} "
              f"{'events':>7} {'standing':>9}",
              flush=True)
        for m in range(1, int(args.minutes) + 1):
            await asyncio.sleep(max(0.0, began + 60 * m - time.perf_counter()))
            chunk, mark = samples[mark:], len(samples)
            r, d, e = readings(), page.redraws, svc.event_log.last_seq()  # type: ignore[attr-defined]
            row = {"minute": m, "rss_mb": rss_mb(), **lag_row(chunk),
                   "readings_per_s": (r - r0) / 60, "setdata_per_s": (d - d0) / 60,
                   "paints_per_s": (paints.count - p0) / 60,
                   "paint_p50_ms": pct(paints.durations[p0:], 0.5) * 1e3,
                   "paint_p99_ms": pct(paints.durations[p0:], 0.99) * 1e3,
                   "events": e - e0, "standing": len(alarms.board.standing())}
            r0, d0, e0, p0 = r, d, e, paints.count
            minutes.append(row)
            print(f"{m:>4} {row['rss_mb']:>7.0f} {row['p50_ms']:>11.2f} {row['p99_ms']:>7.2f} "
                  f"{row['max_ms']:>7.1f} {row['readings_per_s']:>11.0f} "
                  f"{row['setdata_per_s']:>10.1f} {row['paints_per_s']:>9.1f} "
                  f"{row['paint_p50_ms']:>8.1f}/{row['paint_p99_ms']:<8.1f} {row['events']:>7} "
                  f"{row['standing']:>9}",
                  flush=True)
        stop.set()
        await probe
        if forcing is not None:
            forcing.cancel()
        result["load"] = lag_row(samples)
        result["per_minute"] = minutes
    finally:
        if window is not None:
            window.close()
        await runtime.stop()
        svc.close()
    load = result["load"]
    print(f"under load, {len(minutes)} min: lag p50 {load['p50_ms']:.2f} ms, "
          f"p99 {load['p99_ms']:.2f} ms, max {load['max_ms']:.1f} ms ({load['n']} wake-ups); "
          f"idle baseline p99 {result['idle']['p99_ms']:.2f} ms", flush=True)
    by_min = {row["minute"]: row["rss_mb"] for row in minutes}
    if 10 in by_min:
        last = minutes[-1]
        result["rss_10_mb"] = by_min[10]
        result["rss_end_mb"] = last["rss_mb"]
        result["rss_growth_pct"] = (last["rss_mb"] / by_min[10] - 1) * 100
        print(f"RSS after 10 min {by_min[10]:.0f} MB, after {last['minute']} min "
              f"{last['rss_mb']:.0f} MB: growth {result['rss_growth_pct']:+.1f} %", flush=True)
    print("targets: lag p99 < 50 ms; RSS < 600 MB, growth < 5 % from minute 10 to 60",
          flush=True)
    return result


def _child(args: argparse.Namespace) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["COMMANDCENTER_MUTE"] = "1"
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # Chromium refuses its sandbox as root
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    import PySide6.QtWebEngineWidgets  # noqa: F401  (must load before the QApplication)
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    app.setApplicationName("Command Center")
    app.setQuitOnLastWindowClosed(False)  # closing the console must not stop the loop early
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:

        async def run() -> None:
            out.update(await _measure(args, Path(tmp)))

        qasync.run(run())
    Path(args.result_file).write_text(json.dumps(out))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=2.0,
                    help="minutes under load (RSS after 10 and 60 needs 60)")
    ap.add_argument("--idle-seconds", type=float, default=20.0,
                    help="seconds of the idle-loop baseline")
    ap.add_argument("--gauges", type=int, default=500)
    ap.add_argument("--curves", type=int, default=20)
    ap.add_argument("--every-tick", action=argparse.BooleanOptionalAction, default=True,
                    help="give all curves new data on every 100 ms tick (default: yes)")
    ap.add_argument("--prefill", action=argparse.BooleanOptionalAction, default=True,
                    help="start with an hour of trend history in every buffer (default: yes)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--result-file", help=argparse.SUPPRESS)
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    if args.child:
        _child(args)
        return {}
    import PySide6

    print(f"{time.strftime('%Y-%m-%d %H:%M')}, Python {platform.python_version()}, "
          f"PySide6 {PySide6.__version__}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "result.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child",
               "--result-file", str(result_file), "--minutes", str(args.minutes),
               "--idle-seconds", str(args.idle_seconds), "--gauges", str(args.gauges),
               "--curves", str(args.curves),
               "--every-tick" if args.every_tick else "--no-every-tick",
               "--prefill" if args.prefill else "--no-prefill"]
        proc = subprocess.run(cmd, check=False)
        if proc.returncode != 0 or not result_file.exists():
            raise RuntimeError(f"the GUI process failed (exit status {proc.returncode})")
        result: dict[str, Any] = json.loads(result_file.read_text())
    print(f"load average at the end {os.getloadavg()[0]:.1f}", flush=True)
    return result


if __name__ == "__main__":
    main()
