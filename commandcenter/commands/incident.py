"""``commandcenter incident`` — activate, follow, escalate, acknowledge and close incidents.

Examples::

    commandcenter incident activate PLAN-GAS-L1 --location U-210 --json
    commandcenter incident list
    commandcenter incident status INC-20260101-1000-A7K --json
    commandcenter incident ack A7K p-zhangwei --by "值班员 王强"
    commandcenter incident escalate A7K
    commandcenter incident close A7K --confirm all

Every command appends its events to the event log and exits; no running service is needed.
A command and the notifications it leads to (the messages of an activation, the next contact
after a decline) are appended in one transaction, so a ``serve`` or GUI running on the same
database picks them up within a second and sends them — and sends them once. An incident is
named by its id or its short code. Exit codes: 0 done; 1 the command was refused (unknown
plan, person or incident; closed incident; conditions not confirmed); 2 bad usage or the
store cannot be used.

With ``--json`` every outcome is JSON on stdout: the result, or ``{"error": "<what is wrong>",
"exit_code": 1}`` (or 2) with that exit code; the message also goes to stderr. Text output
follows the global ``--lang`` (or the ``language`` setting; Chinese when it is ``auto``). A
reader that stops early (``incident status … | head``) ends the output quietly (exit 141, as a
shell reports SIGPIPE).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any

from commandcenter.commands import language
from commandcenter.config import Settings

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE, as the rest of the command line: the reader closed the pipe."""


def _location(text: str) -> str | tuple[float, float]:
    parts = text.split(",")
    if len(parts) == 2:
        try:
            return float(parts[0]), float(parts[1])
        except ValueError:
            pass
    if "," in text or not text.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is neither a building id nor LAT,LON")
    return text.strip()


def _default_by() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def register(sub: Any) -> None:
    """Add ``incident`` and its subcommands to the CLI."""
    p = sub.add_parser("incident", help="activate, follow, escalate and close incidents")
    isub = p.add_subparsers(dest="incident_command", required=True, metavar="SUBCOMMAND")

    a = isub.add_parser("activate", help="activate a plan: open an incident, notify people")
    a.add_argument("plan", metavar="PLAN_ID")
    a.add_argument("--location", type=_location, metavar="BUILDING|LAT,LON",
                   help="where it happens: a building id or LAT,LON (needed)")
    a.add_argument("--commander", metavar="PERSON",
                   help="incident commander (default: the on-shift holder of the plan's "
                        "first role)")
    a.add_argument("--by", default=None, metavar="NAME", help="who activates (default: you)")
    a.add_argument("--json", action="store_true", help="print JSON")

    ls = isub.add_parser("list", help="list incidents, newest first")
    ls.add_argument("--open", action="store_true", help="only open incidents")
    ls.add_argument("--json", action="store_true", help="print JSON")

    st = isub.add_parser("status", help="checklist, who was reached and who answered")
    st.add_argument("incident", metavar="ID|CODE")
    st.add_argument("--json", action="store_true", help="print JSON")

    es = isub.add_parser("escalate", help="escalate to the plan's next level")
    es.add_argument("incident", metavar="ID|CODE")
    es.add_argument("--to", metavar="PLAN_ID", help="another plan of the same or higher level")
    es.add_argument("--reason", help="why (goes into the log)")
    es.add_argument("--by", default=None, metavar="NAME")
    es.add_argument("--json", action="store_true", help="print JSON")

    ack = isub.add_parser("ack", help="record an answer taken by phone")
    ack.add_argument("incident", metavar="ID|CODE")
    ack.add_argument("person", metavar="PERSON")
    ack.add_argument("--declined", action="store_true", help="the person cannot come")
    ack.add_argument("--by", default=None, metavar="NAME",
                     help="the operator who took the call (default: you)")
    ack.add_argument("--json", action="store_true", help="print JSON")

    cl = isub.add_parser("close", help="close once the termination conditions are met")
    cl.add_argument("incident", metavar="ID|CODE")
    cl.add_argument("--confirm", required=True, metavar="all|1,2,3",
                    help="the termination conditions confirmed (numbered from 1)")
    cl.add_argument("--note", help="closing note")
    cl.add_argument("--by", default=None, metavar="NAME")
    cl.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run)


def _error(args: argparse.Namespace, message: str, code: int) -> int:
    """Report a refusal (stderr; with ``--json`` also as JSON on stdout) and return ``code``."""
    print(f"commandcenter: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        _print(json.dumps({"error": message, "exit_code": code}, ensure_ascii=False, indent=2))
    return code


def _print(text: str) -> None:
    print(text, flush=True)


def _stdout_gone() -> None:
    """The reader stopped (``| head``): send what is left to nowhere, quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one ``incident`` subcommand; return the exit code."""
    from commandcenter.app import services
    from commandcenter.core.incidents import IncidentError
    from commandcenter.core.notify import NotificationError
    from commandcenter.errors import CommandCenterError

    try:
        with services(settings) as svc:
            try:
                return _Command(svc, args, settings).run()
            except (IncidentError, NotificationError) as err:
                return _error(args, str(err), EXIT_REFUSED)
    except BrokenPipeError:
        _stdout_gone()
        return EXIT_BROKEN_PIPE
    except CommandCenterError as err:
        return _error(args, str(err), EXIT_USAGE)


class _Command:
    def __init__(self, svc: Any, args: argparse.Namespace, settings: Settings) -> None:
        from commandcenter.core.incidents import ShiftSchedule
        from commandcenter.notify.channels import configured_kinds
        from commandcenter.services.incidents import IncidentState

        self.svc = svc
        self.args = args
        self.lang = language(args, settings)
        self.configured = configured_kinds(settings.notify)
        self.site = svc.site
        self.clock = svc.clock
        self.state = IncidentState(svc.site, svc.clock, ShiftSchedule.for_site(svc.site))
        self.state.replay(svc.event_log.read())

    def run(self) -> int:
        name = self.args.incident_command.replace("-", "_")
        result: int = getattr(self, f"do_{name}")()
        return result

    def out(self, data: Any, text: str) -> None:
        if self.args.json:
            _print(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            _print(text)

    def append(self, events: list[Any]) -> list[Any]:
        recorded: list[Any] = self.svc.event_log.append_many(events)
        return recorded

    def refuse(self, text: str) -> int:
        return _error(self.args, text, EXIT_REFUSED)

    def role(self, role_id: str) -> str:
        """Return a role's name in the output language (its id when the roster lacks it)."""
        from commandcenter.core.incidents import role_name

        return role_name(self.site, role_id, self.lang)

    def person(self, person_id: str, recorded: str) -> str:
        """Return a person's name in the output language (``recorded``: the name in the log)."""
        p = self.site.people.get(person_id)
        if p is not None and self.lang == "en" and p.name_en:
            return str(p.name_en)
        return recorded

    def text(self, value: Any) -> str:
        """Return a ``{"zh": …, "en": …}`` text in the output language."""
        if isinstance(value, dict):
            return str(value.get(self.lang) or value.get("zh", ""))
        return str(value)

    # -- subcommands

    def do_activate(self) -> int:
        from commandcenter.core.notify import NOTIFICATION_QUEUED, MessageKind
        from commandcenter.services.incidents import activation_events

        a = self.args
        if a.location is None:
            return self.refuse("say where: --location BUILDING or --location LAT,LON")
        if a.commander is not None and a.commander not in self.site.people:
            return self.refuse(f"no person {a.commander!r} on the roster")
        events = activation_events(self.state, a.plan, a.location, commander=a.commander,
                                   by=a.by or _default_by(), now=self.clock.now())
        recs = self.append(events)
        act = recs[0]
        queued = [r.payload for r in recs if r.type == NOTIFICATION_QUEUED]
        notified: list[dict[str, Any]] = []
        announced: list[dict[str, Any]] = []
        for q in queued:
            row = {"person": q["person"], "name": q["name"], "channel": q["channel"],
                   "stage": q["stage"], "message_id": q["message_id"]}
            (announced if q["kind"] == MessageKind.BROADCAST else notified).append(row)
        notes = [n for stage in act.payload["stages"] for n in stage["notes"]]
        data = {"id": act.incident_id, "code": act.payload["code"], "plan": act.payload["plan"],
                "level": act.payload["level"], "location": act.payload["location"],
                "commander": act.payload["commander"], "notified": notified,
                "announced": [{"channel": a["channel"], "message_id": a["message_id"]}
                              for a in announced], "notes": notes}
        lines = [f"{act.incident_id}  code {act.payload['code']}  plan {act.payload['plan']} "
                 f"({act.payload['level']})  {self.text(act.payload['plan_title'])}  "
                 f"commander {act.payload['commander']}",
                 f"notifying {len({n['person'] for n in notified})} people "
                 f"({len(notified)} messages queued):"]
        lines += [f"  stage {n['stage']}  {n['person']:<14} "
                  f"{self.person(n['person'], n['name']):<10} via {n['channel']}"
                  for n in notified]
        lines += [f"  PA announcement queued ({a['message_id']})" for a in announced]
        lines += [f"  note: {n}" for n in notes]
        self.out(data, "\n".join(lines))
        return EXIT_OK

    def do_list(self) -> int:
        from commandcenter.services.incidents import incident_summary

        now = self.clock.now()
        incidents = list(self.state.book.incidents.values())[::-1]
        if self.args.open:
            incidents = [i for i in incidents if not i.closed]
        rows = [incident_summary(i, now) for i in incidents]
        lines = [f"{r['id']:<28} {r['code']:<5} {r['plan']:<18} {r['level']}  "
                 f"{'closed' if r['closed_at'] else 'OPEN':<6} {r['started_at']}  "
                 f"{self.text(r['title'])}" for r in rows]
        self.out(rows, "\n".join(lines) if lines else "no incidents")
        return EXIT_OK

    def do_status(self) -> int:
        from commandcenter.services.incidents import incident_status

        inc = self.state.resolve(self.args.incident)
        data = incident_status(self.state, inc.id, self.clock.now(), self.configured)
        self.out(data, _status_text(data, self))
        return EXIT_OK

    def do_escalate(self) -> int:
        from commandcenter.core.incidents import escalate
        from commandcenter.services.incidents import with_tick

        a = self.args
        inc = self.state.resolve(a.incident)
        now = self.clock.now()
        events = escalate(self.site, self.state.book, inc.id, by=a.by or _default_by(),
                          now=now, schedule=self.state.schedule, to_plan=a.to, reason=a.reason)
        recs = self.append(with_tick(self.state, events, now))
        p = recs[0].payload
        self.out({"id": inc.id, "from_plan": p["from_plan"], "to_plan": p["to_plan"],
                  "to_level": p["to_level"], "notify": p["notify"]},
                 f"{inc.id} escalated {p['from_plan']} → {p['to_plan']} ({p['to_level']}); "
                 f"notifying {', '.join(p['notify']) or 'nobody new'}")
        return EXIT_OK

    def do_ack(self) -> int:
        from commandcenter.core.site import Channel
        from commandcenter.services.incidents import with_tick

        a = self.args
        inc = self.state.resolve(a.incident)
        if a.person not in self.site.people:
            return self.refuse(f"no person {a.person!r} on the roster")
        answer = self.state.notifier.decline if a.declined else self.state.notifier.acknowledge
        events = answer(inc.id, a.person, channel=Channel.PHONE,
                        recorded_by=a.by or _default_by())
        what = "declined" if a.declined else "acknowledged"
        if not events:
            self.out({"id": inc.id, "person": a.person, "answer": what, "recorded": False},
                     f"{a.person} had already {what}; nothing recorded")
            return EXIT_OK
        self.append(with_tick(self.state, events, self.clock.now()))
        self.out({"id": inc.id, "person": a.person, "answer": what, "recorded": True},
                 f"{inc.id}: {a.person} {what} (taken by {a.by or _default_by()})")
        return EXIT_OK

    def do_close(self) -> int:
        from commandcenter.core.incidents import close

        a = self.args
        inc = self.state.resolve(a.incident)
        n = len(inc.termination)
        if a.confirm.strip().lower() == "all":
            chosen = list(range(n))
        else:
            try:
                chosen = [int(x) - 1 for x in a.confirm.split(",") if x.strip()]
            except ValueError:
                return self.refuse(f"--confirm {a.confirm!r}: give 'all' or numbers like 1,2")
            bad = [i + 1 for i in chosen if not 0 <= i < n]
            if bad:
                return self.refuse(f"--confirm: there is no condition {bad[0]} (incident "
                                   f"{inc.id} has {n}, numbered from 1)")
        self.append(close(self.state.book, inc.id, by=a.by or _default_by(),
                          confirmed=chosen, note=a.note))
        self.out({"id": inc.id, "closed": True},
                 f"{inc.id} closed; termination conditions confirmed: "
                 + "; ".join(self.text(dict(t)) for t in inc.termination))
        return EXIT_OK


def _stage_line(st: dict[str, Any], cmd: _Command) -> str:
    line = (f"  {st['plan']} stage {st['stage']}: {st['acks']}/{st['need_acks']} acks, "
            f"deadline {st['deadline']}{'  (superseded)' if st['superseded'] else ''}")
    if st["need_by_role"]:
        per_role = ", ".join(f"{cmd.role(r)} {st['acks_by_role'].get(r, 0)}/{n}"
                             for r, n in st["need_by_role"].items())
        line += f"  [{per_role}]"
    return line


def _status_text(d: dict[str, Any], cmd: _Command) -> str:
    lines = [f"{d['id']}  code {d['code']}  {d['plan']} ({d['level']})  "
             f"{cmd.text(d['title'])}",
             f"at {d['location']}  elapsed {d['elapsed']}  "
             f"{'CLOSED' if d['closed_at'] else 'OPEN'}",
             f"commander {d['commander']}; plans {' → '.join(d['plans'])}", "checklist:"]
    for s in d["checklist"]:
        flag = "  OVERDUE" if s["overdue"] else ("  late" if s["late"] else "")
        lines.append(f"  [{s['state']:<14}] {s['plan']}/{s['step']:<12} "
                     f"{cmd.text(s['title'])}  by {s['target_at']}{flag}")
    lines.append("stages:")
    lines += [_stage_line(st, cmd) for st in d["stages"]]
    lines.append("people:")
    for p in d["people"]:
        chans = ", ".join(f"{k} {v['state']} ×{v['attempts']}" for k, v in p["channels"].items())
        when = f" at {p['answered_at']}" if p["answered_at"] else ""
        lines.append(f"  {p['person']:<14} {cmd.person(p['person'], p['name']):<10} "
                     f"stage {p['stage']}  "
                     f"{p['answer']}{when}  [{chans}]")
    for b in d["broadcasts"]:
        lines.append(f"PA announcement ({b['plan']}): {b['state']}")
    for e in d["escalations"]:
        lines.append(f"escalated {e['at']}: {e['from_plan']} → {e['to_plan']} by {e['by']}")
    for e in d["stage_escalations"]:
        lines.append(f"stage {e['plan']}/{e['stage']} {e['reason']} at {e['at']}: missing "
                     f"{e['missing']}, called {e['notified']}, told {e['informed']}")
    if "channels" in d:
        from commandcenter.services.incidents import coverage_warnings

        lines += [f"warning: {w}" for w in coverage_warnings(d["channels"])]
    return "\n".join(lines)
