"""One-click activation with 200 extra responders: to every message queued, to the first SMS.

In a temporary copy of the demo site, 200 generated responders (on the crew on shift now, SMS
only) hold the roles of the demo plan that calls the most people; that plan is activated
through ``IncidentService.activate`` with the real GSM channel on the pty modem simulator of
the tests, and a real SQLite event log (WAL, ``synchronous=FULL``) in the same folder.

(a) ours, to queued: from the call to its return — the activation and every message it queues
    (and the copies on further channels) are durable in the log, in one transaction.
(b) ours, to the first SMS on the wire: from the call until the simulated modem has received
    the first complete SMS (``AT+CMGS``, text, Ctrl-Z) — claim recorded, modem dialogue done.
(c) baseline, same run: ``EventLog.append_many`` of the very same events into a fresh log —
    what writing them to the database costs with nothing else.

It also prints the first SMS and how many SMS it takes (one: each alert costs the modem one
send).

Targets: (a) < 1 s, (b) < 200 ms. Nothing is asserted.

Run: ``.venv/bin/python bench/bench_activation.py [--people 200] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "notify"))

from gsm_simulator import GsmSimulator  # noqa: E402

from commandcenter.core.clock import ScriptedClock, SystemClock  # noqa: E402
from commandcenter.core.events import Event  # noqa: E402
from commandcenter.core.incidents import ShiftSchedule, plan_stages  # noqa: E402
from commandcenter.core.notify import NOTIFICATION_QUEUED  # noqa: E402
from commandcenter.core.site import Site  # noqa: E402
from commandcenter.core.siteio import load_site  # noqa: E402
from commandcenter.notify.config import ModemSettings  # noqa: E402
from commandcenter.notify.gsm import GsmModem  # noqa: E402
from commandcenter.notify.smstext import split_sms  # noqa: E402
from commandcenter.services.incidents import IncidentService  # noqa: E402
from commandcenter.storage.eventlog import EventLog  # noqa: E402


def largest_plan(site: Site) -> str:
    """The plan whose activation calls the most people right now."""
    schedule = ShiftSchedule.for_site(site)
    now = SystemClock().now()
    return max(site.plans, key=lambda pid: sum(
        len(s.called_first) for s in plan_stages(site, site.plans[pid], schedule, now)))


def site_with_extra_people(folder: Path, people: int) -> tuple[Path, str]:
    """Copy the demo site to ``folder`` and add ``people`` responders; return it and the plan."""
    site_dir = folder / "site"
    for sub in ("maps", "resources", "plans", "drills"):
        shutil.copytree(REPO / sub, site_dir / sub)
    site = load_site(site_dir)
    plan_id = largest_plan(site)
    plan = site.plans[plan_id]
    roles = [r for stage in sorted(plan.notification, key=lambda s: s.order) for r in stage.roles]
    crew = ShiftSchedule.for_site(site).crews_on_duty(SystemClock().now())[0]
    lines = []
    for i in range(people):
        lines += [f"- id: BX{i:04d}", f"  name: 增援{i:03d}", f"  roles: [{roles[i % len(roles)]}]",
                  f"  shift: {crew}", f'  phone: "139{i:08d}"', "  channels: [sms]"]
    roster = site_dir / "resources" / "roster.yaml"
    text = roster.read_text(encoding="utf-8").rstrip("\n") + "\n" + "\n".join(lines) + "\n"
    roster.write_text(text, encoding="utf-8")
    return site_dir, plan_id


async def until(cond: Any, within_s: float, what: str) -> None:
    end = time.monotonic() + within_s
    while not cond():
        if time.monotonic() > end:
            raise SystemExit(f"bench_activation: no sign of {what} within {within_s} s")
        await asyncio.sleep(0.001)


async def one_run(site: Site, plan_id: str, folder: Path, n: int) -> dict[str, Any]:
    clock = SystemClock()
    (folder / f"gsm{n}").mkdir()
    with GsmSimulator(folder / f"gsm{n}", ScriptedClock()) as sim:
        log = EventLog(f"sqlite:///{folder / f'run{n}.db'}", clock)
        modem = GsmModem(ModemSettings(port=str(sim.path), rate_per_min=12), clock)
        svc = IncidentService(site, log, clock, channels=[modem])
        await svc.start()
        try:
            await until(modem.is_up, 10, "the modem answering")
            first_sms: list[float] = []

            def watch() -> None:
                while not sim.sent:
                    time.sleep(0.0002)
                first_sms.append(time.perf_counter())

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            t0 = time.perf_counter()
            incident_id = await svc.activate(plan_id, "U-210" if "U-210" in site.buildings
                                             else next(iter(site.buildings)),
                                             commander=None, by="bench")
            t_queued = time.perf_counter() - t0
            await until(lambda: bool(first_sms), 10, "the first SMS")
            t_sms = first_sms[0] - t0
            first_text = sim.sent[0].text
            events = [Event(e.type, e.source, e.payload, e.incident_id, e.drill_id)
                      for e in log.read(incident_id=incident_id)
                      if e.type in ("incident.activated", NOTIFICATION_QUEUED)]
        finally:
            await svc.stop()
            log.close()
    queued = sum(1 for e in events if e.type == NOTIFICATION_QUEUED)
    with EventLog(f"sqlite:///{folder / f'base{n}.db'}", clock) as base:
        t1 = time.perf_counter()
        base.append_many(events)
        t_base = time.perf_counter() - t1
    return {"queued": queued, "to_queued_s": t_queued, "to_first_sms_s": t_sms,
            "baseline_s": t_base, "first_text": first_text}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the start-up notes on unconfigured channels
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        site_dir, plan_id = site_with_extra_people(folder, args.people)
        site = load_site(site_dir)
        assert not site.problems, site.problems
        runs = [asyncio.run(one_run(site, plan_id, folder, n)) for n in range(args.repeat)]
    med = {k: statistics.median(r[k] for r in runs)
           for k in ("to_queued_s", "to_first_sms_s", "baseline_s")}
    print(f"plan {plan_id}, {len(site.people)} people on the roster "
          f"({args.people} generated), {runs[0]['queued']} messages queued; "
          f"Python {platform.python_version()}, {args.repeat} runs")
    print(f"{'run':>4} {'to queued ms':>13} {'to 1st SMS ms':>14} {'baseline append_many ms':>24}")
    for i, r in enumerate(runs, 1):
        print(f"{i:>4} {r['to_queued_s'] * 1e3:>13.1f} {r['to_first_sms_s'] * 1e3:>14.1f} "
              f"{r['baseline_s'] * 1e3:>24.1f}")
    print(f"{'med':>4} {med['to_queued_s'] * 1e3:>13.1f} {med['to_first_sms_s'] * 1e3:>14.1f} "
          f"{med['baseline_s'] * 1e3:>24.1f}")
    text = runs[0]["first_text"]
    print(f"first SMS: {len(text)} characters, "
          f"{len(split_sms(text, 'UCS2', 10))} UCS2 part(s): {text}")
    print("targets: to queued < 1000 ms, to first SMS < 200 ms")
    return {"plan": plan_id, "messages": runs[0]["queued"], **med}


if __name__ == "__main__":
    main()
