"""``commandcenter alarms`` — act on alarms and gauges, and show the alarm load.

List, acknowledge, confirm and shelve alarms; take gauges out of service and back.

Works with or without a running service: the log is replayed into an alarm board, an alarm
engine takes the board's state, the action's events are appended to the log. A running service
(GUI or ``serve``) against the same database picks them up within about a second.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from commandcenter.config import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

MAX_KPI_HOURS = 24.0 * 366 * 10
"""The longest window ``alarms kpi --hours`` accepts (ten years)."""


class _EmptyWho(ValueError):
    """``--who`` was given but empty."""


def register(sub: Any) -> None:
    """Add ``alarms`` and its subcommands to the CLI."""
    p = sub.add_parser("alarms", help="list, acknowledge, confirm and shelve alarms; gauges "
                       "out of service; alarm load figures")
    alarms = p.add_subparsers(dest="alarms_command", required=True, metavar="SUBCOMMAND")

    ls = alarms.add_parser("list", help="standing alarms (active, unacknowledged, shelved …)")
    ls.add_argument("--all", action="store_true", help="every alarm that ever had an event")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=run_list)

    ack = alarms.add_parser("ack", help="acknowledge an alarm")
    ack.add_argument("alarm_id", metavar="ID", help="alarm id, e.g. GD-110-01:high:alarm1")
    ack.add_argument("--who", default=None, help="who acknowledges (default: the OS user)")
    ack.set_defaults(handler=run_ack)

    cf = alarms.add_parser("confirm", help="the post confirmed a pre-alarm on site: make it "
                           "a formal alarm that offers the matching plans")
    cf.add_argument("alarm_id", metavar="ID", help="pre-alarm id, e.g. GD-110-01:high:prealarm")
    cf.add_argument("--note", default="", help="what the post found (recorded)")
    cf.add_argument("--who", default=None, help="who confirms (default: the OS user)")
    cf.set_defaults(handler=run_confirm)

    oos = alarms.add_parser("oos", help="take every alarm of a gauge out of service")
    oos.add_argument("gauge_id", metavar="GAUGE", help="gauge id, e.g. GD-110-01")
    oos.add_argument("--reason", required=True, help="why (maintenance, calibration …)")
    oos.add_argument("--who", default=None, help="who (default: the OS user)")
    oos.set_defaults(handler=run_oos)

    back = alarms.add_parser("return", help="return a gauge's alarms to service")
    back.add_argument("gauge_id", metavar="GAUGE", help="gauge id")
    back.add_argument("--who", default=None, help="who (default: the OS user)")
    back.set_defaults(handler=run_return)

    sh = alarms.add_parser("shelve", help="shelve an alarm for some minutes, or one-shot")
    sh.add_argument("alarm_id", metavar="ID", help="alarm id")
    how = sh.add_mutually_exclusive_group(required=True)
    how.add_argument("--minutes", type=float, metavar="N", help="shelve for N minutes")
    how.add_argument("--one-shot", action="store_true",
                     help="shelve until the alarm next returns to normal")
    sh.add_argument("--reason", required=True, help="why (recorded with the shelving)")
    sh.add_argument("--who", default=None, help="who shelves (default: the OS user)")
    sh.set_defaults(handler=run_shelve)

    kpi = alarms.add_parser("kpi", help="alarm load (EEMUA 191) over the last hours")
    kpi.add_argument("--hours", type=float, default=24.0, metavar="H",
                     help="window length in hours (default 24)")
    kpi.add_argument("--json", action="store_true", help="print JSON")
    kpi.set_defaults(handler=run_kpi)


def _who(name: str | None) -> str:
    if name is not None:
        if not name.strip():
            raise _EmptyWho
        return name.strip()
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (e.g. a container)
        return f"uid{os.getuid()}"


@dataclass
class _Desk:
    """The log replayed into a board, and an engine holding the board's state."""

    svc: Any
    board: Any
    engine: Any


@contextmanager
def _desk(settings: Settings) -> Iterator[_Desk]:
    from commandcenter.app import build_services
    from commandcenter.core.alarms import AlarmBoard
    from commandcenter.services.alarms import SyncedAlarmEngine

    svc = build_services(settings)
    try:
        board = AlarmBoard()
        board.replay(svc.event_log.read())
        engine = SyncedAlarmEngine(svc.site.gauges.values(), svc.clock,
                                   plans=svc.site.plans.values())
        engine.adopt(board.alarms().values())
        yield _Desk(svc, board, engine)
    finally:
        svc.close()


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print standing alarms (or all with ``--all``)."""
    from commandcenter.services.alarms import alarm_summary, standing_or_all

    with _desk(settings) as desk:
        alarms = standing_or_all(desk.board, everything=args.all)
        if args.json:
            print(json.dumps([alarm_summary(a) for a in alarms], ensure_ascii=False, indent=2))
            return EXIT_OK
        if not alarms:
            print("no standing alarms" if not args.all else "no alarms recorded")
            return EXIT_OK
        for a in alarms:
            s = alarm_summary(a)
            value = "" if s["value"] is None else f"{s['value']:g} {s['unit']}"
            since = s["active_since"] or s["changed_at"] or ""
            note = ""
            if s["shelved_by"]:
                until = s["shelved_until"] or "returns to normal"
                note = f"shelved by {s['shelved_by']} until {until}: {s['shelve_reason']}"
            elif s["held_by"]:
                note = f"{s['state'].replace('_', ' ')} by {s['held_by']}: {s['hold_reason']}"
            elif s["confirmed_by"]:
                note = f"confirmed by {s['confirmed_by']}: formal, offers " \
                       f"{', '.join(str(p) for p in s['plans']) or 'no plan'}"
            elif s["acked_by"] and s["acknowledged"]:
                note = f"acknowledged by {s['acked_by']}"
            print(f"{s['id']:<30} {s['state']:<14} {s['priority']:<6} {value:<14} {since:<27} "
                  f"{note}".rstrip())
    return EXIT_OK


def _act(settings: Settings, target: str, action: str, call: Any, *,
         who: str | None, gauge: bool = False, then: Any = None) -> int:
    from commandcenter.core.alarms import ActionRefusedError, UnknownAlarmError

    try:
        name = _who(who)
    except _EmptyWho:
        print("commandcenter: --who must not be empty (leave it out to act as the OS user)",
              file=sys.stderr)
        return EXIT_USAGE
    with _desk(settings) as desk:
        try:
            events = call(desk.engine, name)
        except UnknownAlarmError:
            if gauge:
                print(f"commandcenter: no gauge {target!r} on the site (see `commandcenter site "
                      "stats`)", file=sys.stderr)
            else:
                print(f"commandcenter: no alarm {target!r} (see `commandcenter alarms list "
                      "--all`)", file=sys.stderr)
            return EXIT_FAILED
        except ActionRefusedError as err:
            print(f"commandcenter: cannot {action} {target}: {err}", file=sys.stderr)
            return EXIT_FAILED
        recorded = desk.svc.event_log.append_many(events)
        for ev in recorded:
            print(f"{ev.seq}  {ev.type}  {ev.payload['alarm']}  "
                  f"{ev.payload['state_before']} → {ev.payload['state_after']}")
        if then is not None:
            then(desk)
    return EXIT_OK


def run_ack(args: argparse.Namespace, settings: Settings) -> int:
    """Acknowledge one alarm."""
    return _act(settings, args.alarm_id, "acknowledge",
                lambda engine, who: engine.acknowledge(args.alarm_id, who), who=args.who)


def run_confirm(args: argparse.Namespace, settings: Settings) -> int:
    """Record that the post confirmed a pre-alarm; print the plans it offers now."""
    def plans(desk: _Desk) -> None:
        offered = [p for p in desk.engine.alarm(args.alarm_id).plans if p in desk.svc.site.plans]
        print(f"formal alarm now; suggested plans: {', '.join(offered)}" if offered
              else "formal alarm now; no plan of the site matches it")

    return _act(settings, args.alarm_id, "confirm",
                lambda engine, who: engine.confirm(args.alarm_id, who, args.note),
                who=args.who, then=plans)


def run_oos(args: argparse.Namespace, settings: Settings) -> int:
    """Take every alarm of a gauge out of service."""
    return _act(settings, args.gauge_id, "take out of service",
                lambda engine, who: engine.remove_gauge_from_service(args.gauge_id, who,
                                                                     args.reason),
                who=args.who, gauge=True)


def run_return(args: argparse.Namespace, settings: Settings) -> int:
    """Return a gauge's alarms to service."""
    return _act(settings, args.gauge_id, "return to service",
                lambda engine, who: engine.return_gauge_to_service(args.gauge_id, who),
                who=args.who, gauge=True)


def run_shelve(args: argparse.Namespace, settings: Settings) -> int:
    """Shelve one alarm for some minutes, or one-shot."""
    minutes = None if args.one_shot else args.minutes
    return _act(settings, args.alarm_id, "shelve",
                lambda engine, who: engine.shelve(args.alarm_id, who, args.reason, minutes),
                who=args.who)


def run_kpi(args: argparse.Namespace, settings: Settings) -> int:
    """Print the alarm load over the last ``--hours`` hours."""
    from commandcenter.app import open_event_log
    from commandcenter.core.alarm_kpi import alarm_load
    from commandcenter.core.clock import SystemClock

    if not (0 < args.hours <= MAX_KPI_HOURS):  # also refuses nan and inf
        print(f"commandcenter: --hours must be more than 0 and at most {MAX_KPI_HOURS:g} "
              f"(ten years), not {args.hours:g}", file=sys.stderr)
        return EXIT_USAGE
    clock = SystemClock()
    log = open_event_log(settings, clock)
    try:
        end = clock.now()
        load = alarm_load(log.read(), end - timedelta(hours=args.hours), end)
    finally:
        log.close()
    if args.json:
        print(json.dumps(load.as_dict(), ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"alarm load over the last {args.hours:g} h: {load.total} alarms")
    print(f"  per 10 min     average {load.average_per_interval:.2f}, peak "
          f"{load.peak_per_interval}")
    print(f"  floods         {len(load.floods)}, {load.flood_percent:.1f} % of the time")
    print(f"  chattering     {len(load.chattering)}   stale {len(load.stale)}")
    split = ", ".join(f"{k} {v:.0f} %" for k, v in load.priority_percent.items())
    print(f"  priorities     {split}")
    if load.bad_actors:
        print(f"  top sources    {load.bad_actor_share:.0f} % of alarms:")
        for b in load.bad_actors:
            print(f"    {b.alarm:<30} {b.count:>5}  {b.share:.0f} %")
    return EXIT_OK
