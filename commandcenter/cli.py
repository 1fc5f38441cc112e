"""``commandcenter`` — the command line: the same services as the GUI, JSON out for scripts.

Exit codes: 0 success; 1 the check failed (invalid site, broken event chain); 2 bad usage,
settings or an unavailable store.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from commandcenter import __version__
from commandcenter.config import Settings, default_config_path, describe_url, load_settings
from commandcenter.errors import CommandCenterError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a shell reports for a command whose reader closed the pipe."""

COMMAND_MODULES: tuple[str, ...] = (
    "commandcenter.commands.serve",
    "commandcenter.commands.alarms",
    "commandcenter.commands.route",
    "commandcenter.commands.incident",
    "commandcenter.commands.mapexport",
)
"""Feature command modules; each has ``register(subparsers)`` and sets ``handler`` on its
parsers (``handler(args, settings) -> exit code``)."""


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1920x1080") from err
    if not (200 <= w <= 8000 and 200 <= h <= 8000):
        raise argparse.ArgumentTypeError(f"{text!r}: width and height must be 200..8000")
    return w, h


def _add_common_options(p: argparse.ArgumentParser, default: Any) -> None:
    """Options every command takes, before or after the command name."""
    p.add_argument("--config", metavar="PATH", default=default, help="settings file (TOML)")
    p.add_argument("--db", metavar="URL", default=default,
                   help="SQLAlchemy database URL (default: SQLite in the user data folder)")
    p.add_argument("--site", metavar="DIR", default=default,
                   help="site folder (default: the demo site)")
    p.add_argument("--lang", choices=["zh", "en"], default=default, help="UI language")


def _subparser_class(common: argparse.ArgumentParser) -> type[argparse.ArgumentParser]:
    """Return a parser class whose instances also accept the common options."""

    class _WithCommon(argparse.ArgumentParser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("parents", [common])
            super().__init__(*args, **kwargs)

    return _WithCommon


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser (also used for ``--help`` text in the README)."""
    p = argparse.ArgumentParser(prog="commandcenter",
                                description="Command Center — control room and emergency command")
    p.add_argument("--version", action="version", version=f"commandcenter {__version__}")
    _add_common_options(p, default=None)
    common = argparse.ArgumentParser(add_help=False)
    _add_common_options(common, default=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND",
                           parser_class=_subparser_class(common))

    gui = sub.add_parser("gui", help="open the desktop application")
    gui.add_argument("--wall", action="store_true", help="open the wall-display layout")
    gui.add_argument("--screen", type=int, metavar="N",
                     help="monitor for the wall display, counted from 0 (default: the "
                          "wall_screen setting; a missing monitor falls back to 0)")

    site = sub.add_parser("site", help="check and describe site data")
    site_sub = site.add_subparsers(dest="site_command", required=True, metavar="SUBCOMMAND")
    v = site_sub.add_parser("validate", help="validate every site file; exit 1 on problems")
    v.add_argument("dir", nargs="?", help="site folder (default: configured site)")
    st = site_sub.add_parser("stats", help="counts, centre and bounds of the site")
    st.add_argument("dir", nargs="?", help="site folder (default: configured site)")
    st.add_argument("--json", action="store_true", help="print JSON")

    ev = sub.add_parser("events", help="inspect the event log")
    ev_sub = ev.add_subparsers(dest="events_command", required=True, metavar="SUBCOMMAND")
    ver = ev_sub.add_parser("verify", help="check the hash chain; exit 1 at a broken link")
    ver.add_argument("--json", action="store_true", help="print JSON")
    tail = ev_sub.add_parser("tail", help="print the most recent events")
    tail.add_argument("-n", type=_count, default=20, metavar="N", help="how many (default 20)")
    tail.add_argument("--json", action="store_true", help="print JSON lines")

    shot = sub.add_parser("screenshot", help="render a view offscreen to a PNG file")
    shot.add_argument("--view", required=True, help="which view (plans, wall, …)")
    shot.add_argument("--out", required=True, metavar="FILE.png", type=Path)
    shot.add_argument("--size", type=_size, default=(1920, 1080), metavar="WxH")
    shot.add_argument("--demo", action="store_true",
                      help="play the built-in scripted scenario (for documentation) instead of "
                           "showing what the store holds")

    sub.add_parser("paths", help="show where settings, data and logs live")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config, database_url=args.db, site_dir=args.site,
                                 language=args.lang)
        return _dispatch(args, settings)
    except CommandCenterError as err:
        print(f"commandcenter: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``… | head``): stop quietly, as other command-line tools do.
        # Python would still try to flush stdout at exit and print a second error.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from commandcenter import app

    handler = getattr(args, "handler", None)
    if handler is not None:
        app.setup_logging(settings, to_file=args.command == "serve")
        result: int = handler(args, settings)
        return result
    if args.command == "gui":
        return app.run_gui(settings, wall=args.wall, screen=args.screen, lang=args.lang)
    app.setup_logging(settings, to_file=False)
    logging.getLogger().handlers[0].setLevel(logging.ERROR)
    if args.command == "site":
        return _site(args, settings)
    if args.command == "events":
        return _events(args, settings)
    if args.command == "screenshot":
        return _screenshot(args, settings)
    if args.command == "paths":
        return _paths(args, settings)
    raise AssertionError(args.command)  # argparse guarantees one of the above


def _site(args: argparse.Namespace, settings: Settings) -> int:
    from commandcenter.core.siteio import load_site

    root = Path(args.dir) if args.dir else settings.site_dir
    site = load_site(root)
    if args.site_command == "validate":
        for problem in site.problems:
            print(problem)
        if site.problems:
            print(f"{len(site.problems)} problem(s) in {root}", file=sys.stderr)
            return EXIT_FAILED
        s = site.stats()
        print(f"{root}: valid — {s['plans']} plans, {s['buildings']} buildings, "
              f"{s['network']['nodes']} network nodes, {s['resources']} resources, "
              f"{s['gauges']} gauges, {s['responders']} responders, "
              f"{s['drill_scenarios']} drill scenarios")
        return EXIT_OK
    stats = site.stats()
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
    else:
        _print_stats(stats)
    return EXIT_OK


def _print_stats(stats: dict[str, Any]) -> None:
    name = stats["name"]
    print(f"{name['zh']}  {name.get('en') or ''}  ({stats['site']})")
    print(f"  buildings {stats['buildings']}, zones {stats['zones']}")
    net = stats["network"]
    print(f"  network   {net['nodes']} nodes, {net['edges']} edges, {net['length_km']} km")
    for key in ("resources", "gauges"):
        parts = ", ".join(f"{k} {v}" for k, v in stats[f"{key}_by_kind"].items())
        print(f"  {key:<9} {stats[key]}: {parts}")
    print(f"  roster    {stats['responders']} people, {stats['roles']} roles")
    levels = ", ".join(f"{k} {v}" for k, v in stats["plans_by_level"].items())
    print(f"  plans     {stats['plans']}: {levels}")
    print(f"  drills    {stats['drill_scenarios']} scenarios")
    print(f"  centre    {stats['center']}  bounds {stats['bounds']}")
    if stats["problems"]:
        print(f"  {stats['problems']} item(s) skipped — run `commandcenter site validate`")


def _count(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _events(args: argparse.Namespace, settings: Settings) -> int:
    from commandcenter.app import open_event_log
    from commandcenter.core.clock import SystemClock

    log = open_event_log(settings, SystemClock())
    try:
        if args.events_command == "verify":
            total = log.count()
            broken = log.verify()
            head = log.head()
            if args.json:
                print(json.dumps({"ok": broken is None, "events": total,
                                  "first_broken_seq": broken.seq if broken else None,
                                  "reason": broken.reason if broken else None,
                                  "head": {"seq": head[0], "hash": head[1]} if head else None}))
            elif broken is None:
                print(f"event log verified: {total} events, hash chain intact")
                if head is not None:  # to note down outside the database, e.g. in a shift log
                    print(f"head: seq {head[0]} hash {head[1]}")
            else:
                print(f"event log BROKEN at seq {broken.seq}: {broken.reason}")
            return EXIT_OK if broken is None else EXIT_FAILED
        events = log.tail(args.n)
        if not events and not args.json:
            print("the event log is empty", file=sys.stderr)
        for e in events:
            if args.json:
                print(json.dumps(e.as_dict(), ensure_ascii=False))
            else:
                payload = json.dumps(dict(e.payload), ensure_ascii=False)
                scope = e.incident_id or e.drill_id or "-"
                print(f"{e.seq:>8}  {e.as_dict()['ts']}  {e.type:<24} {e.source:<28} "
                      f"{scope:<14} {payload}")
        return EXIT_OK
    finally:
        log.close()


def _screenshot(args: argparse.Namespace, settings: Settings) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
    os.environ["COMMANDCENTER_MUTE"] = "1"  # a screenshot never sounds the horn
    from commandcenter.app import build_services, resolve_language, restored_runtime
    from commandcenter.ui.extensions import VIEWS, UiContext
    from commandcenter.ui.screenshot import render_view

    if args.view not in VIEWS:
        print(f"commandcenter: unknown view {args.view!r} (known: {', '.join(VIEWS)})",
              file=sys.stderr)
        return EXIT_USAGE
    lang = resolve_language(settings, args.lang)
    svc = build_services(settings)
    try:
        runtime = None if args.demo else restored_runtime(svc)
        ctx = UiContext(site=svc.site, event_log=svc.event_log, clock=svc.clock, lang=lang,
                        db_label=svc.db_label, runtime=runtime)
        out = render_view(args.view, args.out, args.size, ctx, demo=args.demo)
    finally:
        svc.close()
    print(out)
    return EXIT_OK


def _paths(args: argparse.Namespace, settings: Settings) -> int:
    print(json.dumps({
        "config_file": str(args.config or default_config_path()),
        "site_dir": str(settings.site_dir),
        "database": describe_url(settings.effective_database_url),
        "log_dir": str(settings.effective_log_dir),
    }, indent=2))
    return EXIT_OK
