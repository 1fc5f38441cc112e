"""How features add screens: pages of the console, panels of the wall, screenshot views.

Each registry lists ``"module:attr"`` names, imported only when a window is built, so a feature
adds its screen with one line and nothing imports it early. :func:`build_console` and
:func:`build_wall` are the only places the windows are assembled (the app and the screenshot
command both use them).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from PySide6.QtWidgets import QWidget

from commandcenter.core.clock import Clock
from commandcenter.core.site import PlanLevel, Site
from commandcenter.ui.models import EventSource

C = TypeVar("C")

if TYPE_CHECKING:
    from commandcenter.ui.main_window import MainWindow
    from commandcenter.ui.wall import WallWindow


class Components(Protocol):
    """Where screens find running services (the runtime, or a demo for screenshots)."""

    def get(self, name: str, kind: type[C]) -> C | None:
        """Return the component called ``name`` if it is a ``kind``."""
        ...


@dataclass(frozen=True)
class UiContext:
    """What every screen may read.

    Attributes:
        site: The loaded site.
        event_log: The event log (read, subscribe; appends go through services).
        clock: The clock screens show and time things by.
        lang: Initial UI language.
        db_label: The database shown in the status bar.
        runtime: The running services (alarms, incidents, routing …); ``None`` when screens are
            built without them (some tests).
    """

    site: Site
    event_log: EventSource
    clock: Clock
    lang: str
    db_label: str
    runtime: Components | None = None


@dataclass(frozen=True)
class Page:
    """A page (tab) of the console: ``build(ctx, parent)`` makes its widget."""

    key: str
    title_key: str
    """i18n key of the tab title."""
    build: Callable[[UiContext, QWidget], QWidget]
    shortcut: str | None = None
    """Key sequence that shows the page, e.g. ``"Ctrl+2"``."""


@dataclass(frozen=True)
class WallPanel:
    """A panel of the wall display."""

    key: str
    build: Callable[[UiContext, QWidget], QWidget]
    stretch: int = 4
    index: int = -1


@dataclass(frozen=True)
class View:
    """A screenshot view: ``build(ctx)`` returns the top-level widget to grab.

    ``build`` shows what the store holds (through ``ctx.runtime``, restored from the log);
    ``demo``, where a view has one, plays a built-in scripted scenario through the real core
    instead, for documentation (``commandcenter screenshot --demo``).
    """

    name: str
    build: Callable[[UiContext], QWidget]
    demo: Callable[[UiContext], QWidget] | None = None


def console_on(page: str) -> Callable[[UiContext], QWidget]:
    """Return a view builder: the console with page ``page`` in front."""
    def build(ctx: UiContext) -> QWidget:
        window = build_console(ctx)
        window.show_page(page)
        return window

    return build


PAGES: list[str] = [
    "commandcenter.ui.incidents.pages:INCIDENTS_PAGE",
    "commandcenter.ui.alarms.pages:ALARMS_PAGE",
    "commandcenter.ui.alarms.pages:TRENDS_PAGE",
    "commandcenter.ui.map.pages:MAP_PAGE",
]
"""Console pages after the plan library, in tab order (``"module:attr"`` of a :class:`Page`)."""

WALL_PANELS: list[str] = [
    "commandcenter.ui.incidents.pages:INCIDENT_WALL_PANEL",
    "commandcenter.ui.alarms.pages:ALARM_WALL_PANEL",
]
"""Wall panels (``"module:attr"`` of a :class:`WallPanel`)."""

VIEWS: dict[str, str] = {
    "plans": "commandcenter.ui.extensions:PLANS_VIEW",
    "wall": "commandcenter.ui.extensions:WALL_VIEW",
    "incident": "commandcenter.ui.incidents.pages:INCIDENT_VIEW",
    "wall-incident": "commandcenter.ui.incidents.pages:WALL_INCIDENT_VIEW",
    "alarms": "commandcenter.ui.alarms.pages:ALARMS_VIEW",
    "trends": "commandcenter.ui.alarms.pages:TRENDS_VIEW",
    "wall-alarms": "commandcenter.ui.alarms.pages:WALL_ALARMS_VIEW",
    "map": "commandcenter.ui.map.pages:MAP_VIEW",
}
"""Screenshot views by name (``"module:attr"`` of a :class:`View`)."""


def load(name: str) -> Any:
    """Import ``"module:attr"``."""
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)


def build_wall(ctx: UiContext) -> WallWindow:
    """Make the wall display with every registered panel."""
    from commandcenter.ui.wall import WallWindow

    wall = WallWindow(ctx.site, ctx.event_log, ctx.clock, lang=ctx.lang)
    for name in WALL_PANELS:
        panel: WallPanel = load(name)
        wall.add_panel(panel.build(ctx, wall), panel.stretch, panel.index)
    return wall


def build_console(ctx: UiContext) -> MainWindow:
    """Make the console window with every registered page."""
    from commandcenter.ui.main_window import MainWindow

    window = MainWindow(ctx.site, ctx.event_log, ctx.clock, db_label=ctx.db_label,
                        lang=ctx.lang, wall_factory=lambda: build_wall(ctx))
    for name in PAGES:
        page: Page = load(name)
        window.add_page(page.key, page.build(ctx, window), page.title_key, page.shortcut)
    return window


class DemoComponents:
    """Scripted alarm and incident desks standing in for the runtime in screenshot views.

    Both desks run the real core (alarm engine and board, incident book, notifier) over a
    scripted sequence ending now; nothing is written to the configured store.
    """

    def __init__(self, ctx: UiContext) -> None:
        """Play the scripted sequences for ``ctx.site`` up to ``ctx.clock.now()``."""
        from commandcenter.ui.alarms.scripted import scripted_desk
        from commandcenter.ui.incidents.memory import scripted_incident

        self.alarms = scripted_desk(ctx.site, ctx.clock)
        self.incidents = scripted_incident(ctx.site, ctx.clock.now())

    def get(self, name: str, kind: type[C]) -> C | None:
        """Return the scripted desk called ``name`` (``"alarms"`` or ``"incidents"``)."""
        comp = {"alarms": self.alarms, "incidents": self.incidents}.get(name)
        return comp if isinstance(comp, kind) else None

    def close(self) -> None:
        """Release the scripted alarm desk's temporary log."""
        self.alarms.close()


def _demo_view(ctx: UiContext, build: Callable[[UiContext], QWidget]) -> QWidget:
    demo = DemoComponents(ctx)
    widget = build(replace(ctx, runtime=demo, event_log=demo.alarms.log))
    widget.destroyed.connect(demo.close)
    return widget


def _plans_view(ctx: UiContext) -> QWidget:
    window = build_console(ctx)
    by_level = ctx.site.plans_by_level()
    chosen = by_level[PlanLevel.L3] or next((ps for ps in by_level.values() if ps), [])
    if chosen:
        window.select_plan(chosen[0].id)
    return window


PLANS_VIEW = View("plans", _plans_view)
WALL_VIEW = View("wall", build_wall, demo=lambda ctx: _demo_view(ctx, build_wall))
