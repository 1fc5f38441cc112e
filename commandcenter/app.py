"""The composition root: settings → database → site → services → UI.

Nothing else in the package constructs services or wires them together; the CLI and ``main.py``
call in here. Qt is imported only inside :func:`run_gui` (and the screenshot helper), so headless
commands start fast and run without a display.
"""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import platform
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from commandcenter import __version__
from commandcenter.config import Settings
from commandcenter.core.clock import Clock, SystemClock
from commandcenter.core.events import Event
from commandcenter.core.siteio import load_site
from commandcenter.services.runtime import Runtime, Services, build_runtime

if TYPE_CHECKING:
    from commandcenter.storage.eventlog import EventLog

_LOGGER = logging.getLogger(__name__)


def setup_logging(settings: Settings, *, to_file: bool = True) -> None:
    """Log to stderr and (for the GUI and the runtime) a rotating file in the log folder."""
    root = logging.getLogger()
    if getattr(root, "_commandcenter_configured", False):
        return
    root.setLevel(settings.log_level)
    fmt = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    err = logging.StreamHandler(sys.stderr)
    err.setFormatter(fmt)
    err.setLevel(logging.WARNING if not to_file else settings.log_level)
    root.addHandler(err)
    if to_file:
        log_dir = settings.effective_log_dir
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            fh = logging.handlers.RotatingFileHandler(log_dir / "commandcenter.log",
                                                      maxBytes=5_000_000, backupCount=5,
                                                      encoding="utf-8")
            fh.setFormatter(fmt)
            root.addHandler(fh)
        except OSError as exc:
            _LOGGER.warning("cannot write log files to %s: %s", log_dir, exc)
    # Link coordinators log once on failure and once on recovery; pymodbus would log every
    # failed poll at ERROR on its own logger.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    root._commandcenter_configured = True  # type: ignore[attr-defined]


def open_event_log(settings: Settings, clock: Clock) -> EventLog:
    """Open (and migrate) the configured store's event log."""
    from commandcenter.storage.eventlog import EventLog

    return EventLog(settings.effective_database_url, clock)


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    """Load the site and open the store; the site's problems are logged, not fatal."""
    clock = clock or SystemClock()
    site = load_site(settings.site_dir)
    for problem in site.problems:
        _LOGGER.warning("site data skipped: %s", problem)
    event_log = open_event_log(settings, clock)
    return Services(settings=settings, clock=clock, site=site, event_log=event_log)


@contextmanager
def services(settings: Settings, clock: Clock | None = None) -> Iterator[Services]:
    """Build services for the duration of a ``with`` block, then close them."""
    svc = build_services(settings, clock)
    try:
        yield svc
    finally:
        svc.close()


def restored_runtime(svc: Services) -> Runtime:
    """Return the runtime's components with their state read from the log, none started.

    Nothing connects, polls, sends or writes: this is what the store holds, for views of it
    (``commandcenter screenshot``) from a process that is not the running console or service.
    """
    runtime = build_runtime(svc)
    asyncio.run(runtime.restore())
    return runtime


def record_startup(svc: Services, role: str) -> None:
    """Append a ``system.started`` event: which console, which site, what was skipped."""
    svc.event_log.append(Event(
        type="system.started",
        source=f"{role}:{socket.gethostname()}",
        payload={
            "version": __version__,
            "python": platform.python_version(),
            "site": svc.site.info.id if svc.site.info else None,
            "site_dir": str(Path(svc.settings.site_dir).resolve()),
            "plans": len(svc.site.plans),
            "skipped_site_items": len(svc.site.problems),
        },
    ))


def record_shutdown(svc: Services, role: str) -> None:
    """Append a ``system.stopped`` event for a clean stop (a crash leaves none: that is news)."""
    svc.event_log.append(Event(type="system.stopped", source=f"{role}:{socket.gethostname()}",
                               payload={"version": __version__}))


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGINT or SIGTERM (a service manager stopping us, Ctrl-C, a shutdown).

    Call from a coroutine on the running loop; where the loop cannot take signal handlers
    (Windows), the default handling stays.
    """
    import contextlib
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


def resolve_language(settings: Settings, override: str | None = None) -> str:
    """Return ``"zh"`` or ``"en"``: the override, the setting, or the system locale."""
    choice = override or settings.language
    if choice in ("zh", "en"):
        return choice
    from commandcenter.ui.i18n import system_language

    return system_language()


def run_gui(settings: Settings, *, wall: bool = False, screen: int | None = None,
            lang: str | None = None) -> int:
    """Start the desktop application (or the wall display) and run until it quits.

    One qasync loop runs for the whole process (STACK.md: restarting it crashes QtWebEngine);
    the runtime's components run on it beside the windows.
    """
    from commandcenter.ui.qtenv import prepare_qt_environment

    prepare_qt_environment()
    import qasync
    from PySide6.QtWidgets import QApplication, QWidget

    from commandcenter.ui import crash
    from commandcenter.ui.extensions import UiContext, build_console, build_wall
    from commandcenter.ui.i18n import set_language

    setup_logging(settings)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    app.setApplicationName("Command Center")
    app.setOrganizationName("commandcenter")
    crash.install()
    language = resolve_language(settings, lang)
    set_language(language)
    svc = build_services(settings)
    runtime = build_runtime(svc)
    record_startup(svc, "wall" if wall else "console")

    async def main() -> None:
        closed = asyncio.Event()
        # The runtime must stop while the loop still runs: closing the last window only ends
        # the wait below, and the loop ends when ``main`` returns.
        app.setQuitOnLastWindowClosed(False)
        app.lastWindowClosed.connect(closed.set)
        app.aboutToQuit.connect(closed.set)
        stop_on_signals(closed)
        await runtime.start()
        try:
            ctx = UiContext(site=svc.site, event_log=svc.event_log, clock=svc.clock,
                            lang=language, db_label=svc.db_label, runtime=runtime)
            window: QWidget
            if wall:
                w = build_wall(ctx)
                chosen = screen if screen is not None else settings.wall_screen
                try:
                    w.show_on(chosen)
                except ValueError as err:  # the chosen monitor is unplugged or not detected
                    _LOGGER.warning("wall display: %s; showing it on monitor 0 instead", err)
                    w.show_on(0)
                window = w
            else:
                window = build_console(ctx)
                window.showMaximized()  # a console owns its desk screen
            await closed.wait()
            window.close()  # a signal stops us with the window still open
        finally:
            await runtime.stop()

    try:
        qasync.run(main())
        record_shutdown(svc, "wall" if wall else "console")
    finally:
        svc.close()
    return 0


async def serve(settings: Settings, *, stop: asyncio.Event) -> None:
    """Run the headless runtime (gauges, alarm engine, dispatcher …) until ``stop`` is set."""
    svc = build_services(settings)
    runtime = build_runtime(svc)
    try:
        record_startup(svc, "serve")
        await runtime.start()
        try:
            await stop.wait()
        finally:
            await runtime.stop()
        await svc.event_log.append_async(Event(
            type="system.stopped", source=f"serve:{socket.gethostname()}",
            payload={"version": __version__}))
    finally:
        svc.close()
