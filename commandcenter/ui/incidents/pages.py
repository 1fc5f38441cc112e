"""How the incident screens plug into the console, the wall and the screenshot command."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from commandcenter.core.site import Plan
from commandcenter.services.protocols import IncidentDesk
from commandcenter.ui.extensions import (
    Page,
    UiContext,
    View,
    WallPanel,
    build_console,
    build_wall,
    console_on,
)
from commandcenter.ui.i18n import tr
from commandcenter.ui.incidents import strings  # noqa: F401  (registers the UI strings)
from commandcenter.ui.incidents.memory import scripted_incident
from commandcenter.ui.incidents.view import IncidentsPage
from commandcenter.ui.incidents.wall_panel import ACTIVE_STRETCH, IncidentWallPanel
from commandcenter.ui.theme import DESK


def desk_of(ctx: UiContext) -> IncidentDesk | None:
    """Return the running incident service (component ``"incidents"``), if there is one."""
    if ctx.runtime is None:
        return None
    desk = ctx.runtime.get("incidents", object)
    return desk if desk is not None and hasattr(desk, "book") else None  # type: ignore[return-value]


def _no_service(parent: QWidget, lang: str) -> QWidget:
    page = QWidget(parent)
    label = QLabel(tr("inc.no_service", lang), page)
    label.setObjectName("incidentNoService")
    label.setWordWrap(True)
    label.setStyleSheet(f"font-size: {DESK.heading_px}px; color: {DESK.muted};")
    layout = QVBoxLayout(page)
    layout.addStretch(1)
    layout.addWidget(label)
    layout.addStretch(2)
    return page


def build_page(ctx: UiContext, parent: QWidget) -> QWidget:
    """Make the incident page; wire the plan view's "Activate plan" button to it."""
    desk = desk_of(ctx)
    if desk is None:
        return _no_service(parent, ctx.lang)
    return _page_for(desk, ctx, parent)


def _page_for(desk: IncidentDesk, ctx: UiContext, parent: QWidget) -> IncidentsPage:
    show_page = getattr(parent, "show_page", None)

    def on_activated(_incident_id: str) -> None:
        if callable(show_page):
            show_page("incidents")

    page = IncidentsPage(desk, ctx.clock, ctx.lang, on_activated, parent)
    plan_view = getattr(parent, "plan_view", None)
    hook = getattr(plan_view, "set_activate_handler", None)
    if callable(hook):
        def activate(plan: Plan) -> None:
            if callable(show_page):
                show_page("incidents")
            page.open_activation(plan)

        hook(activate)
    requested = getattr(parent, "activation_requested", None)
    if requested is not None:  # e.g. an alarm's suggested plan, with its gauge's building
        def on_request(plan_id: str, building: str) -> None:
            plan = desk.site.plans.get(plan_id)
            if plan is None:
                return
            if callable(show_page):
                show_page("incidents")
            page.open_activation(plan, building or None)

        requested.connect(on_request)
    return page


def build_wall_panel(ctx: UiContext, parent: QWidget) -> QWidget:
    """Make the wall's incident panel."""
    return IncidentWallPanel(desk_of(ctx), ctx.site, ctx.clock, ctx.lang, parent)


def _incident_view(ctx: UiContext) -> QWidget:
    """The console on the incident page, showing the scripted incident on the real core."""
    desk = scripted_incident(ctx.site, ctx.clock.now())
    window = build_console(ctx)
    if desk is None:
        return window
    try:
        placeholder = window.show_page(INCIDENTS_PAGE.key)
    except ValueError:  # the page is not registered
        return window
    page = _page_for(desk, replace(ctx, clock=desk.clock), window)
    index = window.pages.indexOf(placeholder)
    window.pages.removeTab(index)
    placeholder.deleteLater()
    window.pages.insertTab(index, page, tr(INCIDENTS_PAGE.title_key, ctx.lang))
    window.pages.setCurrentIndex(index)
    return window


def _wall_incident_view(ctx: UiContext) -> QWidget:
    """The wall with the scripted incident in its incident panel."""
    desk = scripted_incident(ctx.site, ctx.clock.now())
    wall = build_wall(ctx)
    if desk is None:
        return wall
    for old in wall.findChildren(IncidentWallPanel):
        old.shutdown()
        wall.panels.removeWidget(old)
        old.setParent(None)
        old.deleteLater()
    panel = IncidentWallPanel(desk, ctx.site, desk.clock, ctx.lang, wall)
    wall.add_panel(panel, INCIDENT_WALL_PANEL.stretch, INCIDENT_WALL_PANEL.index)
    return wall


INCIDENTS_PAGE = Page("incidents", "page.incidents", build_page, shortcut="Ctrl+Shift+I")
INCIDENT_WALL_PANEL = WallPanel("incident", build_wall_panel, stretch=ACTIVE_STRETCH, index=0)
INCIDENT_VIEW = View("incident", console_on(INCIDENTS_PAGE.key), demo=_incident_view)
WALL_INCIDENT_VIEW = View("wall-incident", build_wall, demo=_wall_incident_view)
