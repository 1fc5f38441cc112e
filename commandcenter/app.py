"""The composition root: settings → database → site → services → UI.

Nothing else in the package constructs services or wires them together; the CLI and ``main.py``
call in here. Qt is imported only inside :func:`run_gui` (and the screenshot helper), so headless
commands start fast and run without a display.
"""

from __future__ import annotations

import logging
import logging.handlers
import platform
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from commandcenter import __version__
from commandcenter.config import Settings, describe_url
from commandcenter.core.clock import Clock, SystemClock
from commandcenter.core.events import Event
from commandcenter.core.site import Site
from commandcenter.core.siteio import load_site

if TYPE_CHECKING:
    from commandcenter.storage.eventlog import EventLog

_LOGGER = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a front end (GUI, CLI, headless runtime) works with.

    Attributes:
        settings: The effective settings.
        clock: The one clock all domain code reads.
        site: The loaded site (with the problems of anything skipped).
        event_log: The durable, hash-chained event log.
    """

    settings: Settings
    clock: Clock
    site: Site
    event_log: EventLog

    @property
    def db_label(self) -> str:
        """The database URL with any password masked."""
        return describe_url(self.settings.effective_database_url)

    def close(self) -> None:
        """Flush and close the event log."""
        self.event_log.close()


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


def resolve_language(settings: Settings, override: str | None = None) -> str:
    """Return ``"zh"`` or ``"en"``: the override, the setting, or the system locale."""
    choice = override or settings.language
    if choice in ("zh", "en"):
        return choice
    from commandcenter.ui.i18n import system_language

    return system_language()


def run_gui(settings: Settings, *, wall: bool = False, screen: int | None = None,
            lang: str | None = None) -> int:
    """Start the desktop application (or the wall display) and run until it quits."""
    import asyncio

    import qasync
    from PySide6.QtWidgets import QApplication, QWidget

    from commandcenter.ui import crash
    from commandcenter.ui.i18n import set_language

    setup_logging(settings)
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Command Center")
    app.setOrganizationName("commandcenter")
    crash.install()
    language = resolve_language(settings, lang)
    set_language(language)
    svc = build_services(settings)
    record_startup(svc, "wall" if wall else "console")

    async def main() -> None:
        closed = asyncio.Event()
        app.aboutToQuit.connect(closed.set)
        window: QWidget
        if wall:
            from commandcenter.ui.wall import WallWindow

            window = WallWindow(svc.site, svc.event_log, svc.clock, lang=language)
            window.show_on(screen if screen is not None else settings.wall_screen)
        else:
            from commandcenter.ui.main_window import MainWindow

            window = MainWindow(svc.site, svc.event_log, svc.clock, db_label=svc.db_label,
                                lang=language)
            window.show()
        await closed.wait()

    try:
        qasync.run(main())
    finally:
        svc.close()
    return 0
