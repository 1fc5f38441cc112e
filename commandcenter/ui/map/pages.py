"""How the map plugs in: the console page, a wall panel, the ``map`` screenshot view.

The page finds the alarm service as runtime component ``"alarms"`` and the incident service as
``"incidents"``. Without them it still shows the site and lets the commander set a zone by hand,
and says plainly what is missing (no live gauge state, no zone from incidents).

:data:`MAP_WALL_PANEL` is the same map for the wall display, read-only, in the wall's type
sizes: the zone, the routes, stranded buildings in red and the people per assembly point (no
controls, no nearest-resource table). It is registered here but not listed in
:data:`~commandcenter.ui.extensions.WALL_PANELS`; the wall's layout decides where it goes.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from commandcenter.ui.alarms.pages import desk_of as alarm_desk_of
from commandcenter.ui.extensions import (
    Page,
    UiContext,
    View,
    WallPanel,
    build_console,
    console_on,
)
from commandcenter.ui.i18n import tr
from commandcenter.ui.incidents.pages import desk_of as incident_desk_of
from commandcenter.ui.map import strings as _strings  # noqa: F401  (registers the UI strings)
from commandcenter.ui.map.demo import release_desk, release_incident
from commandcenter.ui.map.page import MapPage
from commandcenter.ui.theme import WALL, Theme


def build_map_page(ctx: UiContext, parent: QWidget) -> QWidget:
    """The console's map page over the running alarm and incident services (if any)."""
    return MapPage(ctx.site, alarms=alarm_desk_of(ctx), incidents=incident_desk_of(ctx),
                   lang=ctx.lang, parent=parent)


def build_wall_panel(ctx: UiContext, parent: QWidget) -> QWidget:
    """The wall's read-only map panel, in the wall's theme."""
    theme = getattr(parent, "theme", WALL)
    theme = theme if isinstance(theme, Theme) else WALL
    page = MapPage(ctx.site, alarms=alarm_desk_of(ctx), incidents=incident_desk_of(ctx),
                   lang=ctx.lang, interactive=False, theme=theme, parent=parent)
    page.setObjectName("wallPanel")
    return page


MAP_PAGE = Page("map", "map.page", build_map_page, shortcut="Ctrl+Shift+M")
MAP_WALL_PANEL = WallPanel("map", build_wall_panel, stretch=12, index=1)


def _map_view(ctx: UiContext) -> QWidget:
    """The console on the map page during the demo chlorine release at U-120."""
    now = ctx.clock.now()
    incidents = release_incident(ctx.site, now)
    alarms = release_desk(ctx.site, now)
    window = build_console(ctx)
    page = MapPage(ctx.site, alarms=alarms, incidents=incidents, lang=ctx.lang, parent=window)
    try:
        placeholder = window.show_page(MAP_PAGE.key)
    except ValueError:  # the page is not registered: show it alone
        window.deleteLater()
        page.setParent(None)
        return page
    index = window.pages.indexOf(placeholder)
    window.pages.removeTab(index)
    placeholder.deleteLater()
    window.pages.insertTab(index, page, tr(MAP_PAGE.title_key, ctx.lang))
    window.pages.setCurrentIndex(index)
    return window


MAP_VIEW = View("map", console_on(MAP_PAGE.key), demo=_map_view)

