"""The map page: the live map beside the zone controls and what the router found.

:class:`MapPage` wires everything: incidents (their activation derives the zone), the alarm board
(gauge colours, at most two updates a second; gauges in alarm move the zone's source), the wind
gauges (re-read every :data:`WIND_CHECK_MS`), the commander's changes (from the panel and from
the map through the bridge) and the routing worker. The web view is made when the page is first
shown, so a console that never opens the map never starts a browser engine.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from commandcenter.core.hazard import DEFAULT_SECTOR_DEG
from commandcenter.core.incidents import EscalationRecord, Incident, IncidentBook
from commandcenter.core.routing import IncidentAnswer, SiteRouter
from commandcenter.core.site import Site
from commandcenter.geo.offline import MapError
from commandcenter.services.protocols import AlarmDesk, IncidentDesk
from commandcenter.ui import i18n
from commandcenter.ui.alarms.models import BoardObserver, value_text
from commandcenter.ui.alarms.overview import TileState, gauge_state
from commandcenter.ui.i18n import tr
from commandcenter.ui.map.html import page_html, write_page
from commandcenter.ui.map.panel import AMBER, AnswerPanel, ZonePanel
from commandcenter.ui.map.routing import RoutingWorker
from commandcenter.ui.map.zone import (
    DEFAULT_RADIUS_M,
    HazardSetup,
    SourceKind,
    Wind,
    WindSource,
    answer_features,
    derive_setup,
    read_wind,
    summarise,
    zone_feature,
)
from commandcenter.ui.theme import DESK, Theme

_LOGGER = logging.getLogger(__name__)

STATE_COALESCE_MS = 500
"""Gauge colours are sent to the map at most this often (≤ 2 updates a second)."""

VALUE_REFRESH_MS = 2000
"""Live values shown in gauge labels and popups are refreshed this often."""

WIND_CHECK_MS = 10_000
"""The wind gauges are re-read this often while a zone follows them."""

WIND_TURN_DEG = 10.0
"""A zone follows the wind when it turns at least this much."""

FRAME_SETTLE_S = 0.6
"""How long the page must stay settled before a screenshot grabs it (frame delivery)."""

PANEL_WIDTH = 520
"""Width of the side panel at desk type sizes."""


class _IncidentObserver(QObject):
    """Re-emits an :class:`IncidentBook`'s activation, escalation and closing as Qt signals.

    Signals:
        activated(object): An :class:`Incident` was opened.
        escalated(object): An incident moved to its next plan.
        closed(object): An incident was closed.
    """

    activated = Signal(object)
    escalated = Signal(object)
    closed = Signal(object)

    def __init__(self, book: IncidentBook, parent: QObject | None = None) -> None:
        super().__init__(parent)
        undo = [book.activated.connect(self._activated),
                book.escalated.connect(self._escalated),
                book.closed.connect(self._closed)]
        self.destroyed.connect(lambda *_: [u() for u in undo])

    def _activated(self, incident: Incident) -> None:
        if shiboken6.isValid(self):
            self.activated.emit(incident)

    def _escalated(self, incident: Incident, _record: EscalationRecord) -> None:
        if shiboken6.isValid(self):
            self.escalated.emit(incident)

    def _closed(self, incident: Incident) -> None:
        if shiboken6.isValid(self):
            self.closed.emit(incident)


def _wind_turned(old: Wind, new: Wind) -> bool:
    if old.usable != new.usable:
        return True
    if old.from_deg is None or new.from_deg is None:
        return False
    return abs((new.from_deg - old.from_deg + 180.0) % 360.0 - 180.0) >= WIND_TURN_DEG


class MapPage(QWidget):
    """The live map with the hazard zone, evacuation routes and nearest resources.

    Args:
        site: The site.
        alarms: The alarm service (``None``: gauges show no live state, no wind).
        incidents: The incident service (``None``: zones only by hand).
        lang: UI language.
        interactive: Whether the commander can change the zone here (the wall cannot).
        theme: Type sizes and colours (desk or wall).
        router: A router already built for ``site`` (default: built on the worker thread).

    Attributes:
        setup: What the current zone is made of (``None``: no zone).
        answer: The router's answer for the current zone, once it is in.
        web: The web view (``None`` until the page is first shown).
        zone_panel: The zone and its controls.
        answer_panel: Stranded buildings, muster, nearest resources.
        notice: What is missing (services), shown above the panel.
    """

    def __init__(self, site: Site, *, alarms: AlarmDesk | None, incidents: IncidentDesk | None,
                 lang: str, interactive: bool = True, theme: Theme = DESK,
                 router: SiteRouter | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mapPage")
        self.site = site
        self.alarms = alarms
        self.incidents = incidents
        self.interactive = interactive
        self._lang = lang
        self._theme = theme
        self.setup: HazardSetup | None = None
        self.answer: IncidentAnswer | None = None
        self.web: Any = None
        self._placing = False
        self._drawing = False
        self._sent_gauges: dict[str, dict[str, str]] = {}
        self._pending_generation = 0
        self._page_error = ""
        self._page_dir: Path | None = None

        self.map_area = QWidget(self)
        self._stack = QStackedLayout(self.map_area)
        self.map_message = QLabel(self.map_area)
        self.map_message.setObjectName("mapMessage")
        self.map_message.setWordWrap(True)
        self.map_message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.map_message.setFont(theme.font(theme.heading_px))
        self._stack.addWidget(self.map_message)

        self.notice = QLabel(self)
        self.notice.setObjectName("mapNotice")
        self.notice.setWordWrap(True)
        self.notice.setFont(theme.font(theme.body_px, bold=True))
        self.notice.setStyleSheet(f"color: {AMBER}; border: 2px solid {AMBER}; "
                                  "border-radius: 4px; padding: 6px;")
        self.zone_panel = ZonePanel(site, lang=lang, interactive=interactive, theme=theme)
        self.answer_panel = AnswerPanel(site, lang=lang, theme=theme, show_nearest=interactive)
        side = QWidget()
        side.setObjectName("mapSide")
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(12, 12, 12, 12)
        side_layout.setSpacing(12)
        side_layout.addWidget(self.notice)
        side_layout.addWidget(self.zone_panel)
        line = QFrame(side)
        line.setFrameShape(QFrame.Shape.HLine)
        side_layout.addWidget(line)
        side_layout.addWidget(self.answer_panel, 1)
        scroll = QScrollArea(self)
        scroll.setObjectName("mapSideScroll")
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setStyleSheet(f"QScrollArea#mapSideScroll {{ background: {theme.panel}; "
                             f"border: none; }} QWidget#mapSide {{ background: {theme.panel}; "
                             f"color: {theme.text}; }}")
        scroll.setFixedWidth(PANEL_WIDTH if theme.name == "desk" else round(theme.body_px * 18))
        scroll.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.map_area, 1)
        layout.addWidget(scroll)

        self.worker = RoutingWorker(site, router, self)
        self.worker.answered.connect(self._answered)
        self.worker.failed.connect(self._routing_failed)

        self._state_timer = QTimer(self)
        self._state_timer.setSingleShot(True)
        self._state_timer.setInterval(STATE_COALESCE_MS)
        self._state_timer.timeout.connect(self.push_gauges)
        self._value_timer = QTimer(self)
        self._value_timer.setInterval(VALUE_REFRESH_MS)
        self._value_timer.timeout.connect(self.push_gauges)
        self._wind_timer = QTimer(self)
        self._wind_timer.setInterval(WIND_CHECK_MS)
        self._wind_timer.timeout.connect(self.follow_wind)
        if alarms is not None:
            self._board = BoardObserver(alarms.board, self)
            self._board.alarm_changed.connect(lambda _a: self._schedule_gauges())
            self._value_timer.start()
            self._wind_timer.start()
        if incidents is not None:
            self._incidents = _IncidentObserver(incidents.book, self)
            self._incidents.activated.connect(self._incident_opened)
            self._incidents.escalated.connect(self._incident_escalated)
            self._incidents.closed.connect(self._incident_closed)

        self.zone_panel.place_toggled.connect(self.set_placing)
        self.zone_panel.draw_toggled.connect(self.set_drawing)
        self.zone_panel.radius_changed.connect(lambda m: self._distance_edited("radius_m", m, 1))
        self.zone_panel.downwind_changed.connect(
            lambda m: self._distance_edited("downwind_m", m, 0))
        self.zone_panel.wind_override_changed.connect(self._wind_overridden)
        self.zone_panel.automatic_requested.connect(self.derive_from_incident)
        self.zone_panel.clear_requested.connect(self.clear_zone)
        i18n.language().changed.connect(self.set_language)
        self.set_language(lang)
        self.derive_from_incident()

    # ------------------------------------------------------------------ the web view

    def showEvent(self, event: QShowEvent) -> None:
        """Make and load the web view the first time the page is shown."""
        super().showEvent(event)
        if self.web is None and not self._page_error:
            self._make_web_view()

    def _make_web_view(self) -> None:
        from commandcenter.ui.map.view import MapWebView

        try:
            path = write_page(page_html(self.site, self._lang, interactive=self.interactive,
                                        wall=self._theme.name == "wall"))
        except MapError as err:
            self._page_error = str(err)
            _LOGGER.warning("the map page cannot be built: %s", err)
            self.map_message.setText(tr("map.page_error", self._lang, error=err))
            return
        folder = path.parent
        # The page file is needed until the view goes (a renderer restart reloads it).
        self.destroyed.connect(lambda *_: shutil.rmtree(folder, ignore_errors=True))
        self._page_dir = folder
        web = MapWebView(self.map_area)
        self.web = web
        self._stack.addWidget(web)
        self._stack.setCurrentWidget(web)
        web.page_ready.connect(self._page_ready)
        web.page_failed.connect(lambda where: self.map_message.setText(
            tr("map.page_error", self._lang, error=where)))
        web.bridge.hazard_placed.connect(self.place_hazard)
        web.bridge.zone_drawn.connect(self.draw_zone)
        web.bridge.radius_set.connect(
            lambda m: self._distance_edited("radius_m", round(m), 1))
        web.bridge.downwind_set.connect(
            lambda m: self._distance_edited("downwind_m", round(m), 0))
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._drop_web_view)
        web.load_page(path)

    def _drop_web_view(self) -> None:
        """Delete the web view now: its page must go before QtWebEngine shuts down."""
        web, self.web = self.web, None
        if web is None or not shiboken6.isValid(web):
            return
        self._stack.removeWidget(web)
        web.deleteLater()
        QCoreApplication.sendPostedEvents(web, QEvent.Type.DeferredDelete)
        if self._page_dir is not None:
            shutil.rmtree(self._page_dir, ignore_errors=True)

    def _page_ready(self) -> None:
        """Send everything the page shows (first load, or after a renderer restart)."""
        web = self.web
        if web is None:
            return
        self._sent_gauges = {}
        web.call("ccSetLanguage", self._lang, serial=False)
        self.push_gauges()
        self._push_zone()
        self._push_routes()
        web.call("ccSetPlacing", self._placing, serial=False)
        web.call("ccSetDrawing", self._drawing, serial=False)

    def _call(self, function: str, *args: object, serial: bool = True) -> None:
        if self.web is not None:
            self.web.call(function, *args, serial=serial)

    # ------------------------------------------------------------------ gauges

    def _schedule_gauges(self) -> None:
        if not self._state_timer.isActive():
            self._state_timer.start()

    def gauge_states(self) -> dict[str, dict[str, str]]:
        """Return each gauge's map state (``TileState`` value) and value text."""
        desk = self.alarms
        if desk is None:
            return {}
        by_gauge: dict[str, list[Any]] = {}
        for a in desk.board.alarms().values():
            by_gauge.setdefault(a.gauge, []).append(a)
        out: dict[str, dict[str, str]] = {}
        for g in self.site.gauges.values():
            status = desk.gauge_status(g.id)
            state = gauge_state(by_gauge.get(g.id, []), status)
            text = value_text(status.value, g.unit) if state != TileState.NO_DATA else "—"
            out[g.id] = {"state": state.value, "value": text}
        return out

    def push_gauges(self) -> None:
        """Send the gauges whose state or value changed since the last update."""
        if self.web is None or not self.web.is_ready:
            return
        states = self.gauge_states()
        changed = {k: v for k, v in states.items() if self._sent_gauges.get(k) != v}
        if not changed:
            return
        self._sent_gauges.update(changed)
        self._call("ccSetGaugeStates", changed)

    # ------------------------------------------------------------------ the zone

    def _current_incident(self) -> Incident | None:
        if self.incidents is None:
            return None
        open_ = self.incidents.book.open_incidents()
        if not open_:
            return None
        return max(open_, key=lambda i: i.started_at)

    def _wind(self) -> Wind:
        return read_wind(self.site, self.alarms.gauge_status if self.alarms else None)

    def derive_from_incident(self) -> None:
        """Make the zone the newest open incident calls for (or none without an incident)."""
        incident = self._current_incident()
        if incident is None:
            self.zone_panel.show_setup(self.setup, has_incident=False)
            return
        self._derive(incident)

    def _derive(self, incident: Incident) -> None:
        alarms = self.alarms.board.alarms().values() if self.alarms else ()
        setup = derive_setup(self.site, plan_id=incident.plan, location=incident.location,
                             incident_id=incident.id, alarms=alarms, wind=self._wind())
        if setup is None:
            _LOGGER.warning("incident %s: location %r is not on the site map; no hazard zone "
                            "derived", incident.id, incident.location)
            return
        self.set_setup(setup)

    def _incident_opened(self, incident: Incident) -> None:
        self._derive(incident)

    def _incident_escalated(self, incident: Incident) -> None:
        setup = self.setup
        if setup is None or setup.incident_id != incident.id:
            self._derive(incident)
            return
        plan = self.site.plans.get(incident.plan)
        if plan is None:
            return
        spec = plan.hazard_zone
        if setup.radius_edited:
            self.set_setup(replace(setup, plan_id=plan.id, sector_deg=spec.sector_deg))
        else:
            self.set_setup(replace(setup, plan_id=plan.id, radius_m=spec.isolation_m,
                                   downwind_m=spec.protective_downwind_m,
                                   sector_deg=spec.sector_deg))

    def _incident_closed(self, incident: Incident) -> None:
        if self.setup is not None and self.setup.incident_id == incident.id:
            self.set_setup(None)
            self.derive_from_incident()

    def set_setup(self, setup: HazardSetup | None) -> None:
        """Make ``setup`` the current zone: redraw it and compute its routes."""
        self.setup = setup
        self.zone_panel.show_setup(setup, has_incident=self._current_incident() is not None)
        self._push_zone()
        if setup is None:
            self.answer = None
            self.answer_panel.set_status("")
            self.answer_panel.show_summary(None)
            self._push_routes()
            return
        if not self.site.nodes:
            self.answer_panel.set_status(tr("map.no_network", self._lang), error=True)
            return
        self._pending_generation = self.worker.request(setup.zone())
        self.answer_panel.set_status(tr("map.computing", self._lang))

    def _push_zone(self) -> None:
        setup = self.setup
        if setup is None:
            self._call("ccSetHazard", None)
            return
        feature = zone_feature(setup)
        plan = self.site.plans.get(setup.plan_id) if setup.plan_id else None
        feature["properties"].update({
            "source": {lang: tr(f"map.source.{setup.source.value}", lang,
                                label=setup.source_label) for lang in ("zh", "en")},
            "plan": f"{plan.id} {plan.title.get(self._lang)}" if plan is not None else None})
        self._call("ccSetHazard", feature)

    def _push_routes(self) -> None:
        if self.answer is None:
            self._call("ccSetRoutes", {"type": "FeatureCollection", "features": []})
        else:
            self._call("ccSetRoutes", answer_features(self.site, self.answer))

    def _answered(self, generation: int, answer: object) -> None:
        if generation != self.worker.latest or not isinstance(answer, IncidentAnswer):
            return
        self.answer = answer
        self.answer_panel.set_status("")
        self.answer_panel.show_summary(summarise(self.site, answer))
        self._push_routes()
        if answer.evacuation.stranded:
            _LOGGER.warning("hazard zone at %.6f, %.6f: no safe route for %s",
                            answer.zone.lat, answer.zone.lon,
                            ", ".join(s.building for s in answer.evacuation.stranded))

    def _routing_failed(self, generation: int, error: str) -> None:
        if generation != self.worker.latest:
            return
        self.answer = None
        self.answer_panel.show_summary(None)
        self.answer_panel.set_status(tr("map.routing_failed", self._lang, error=error),
                                     error=True)
        self._push_routes()

    # ------------------------------------------------------------------ the commander

    def set_placing(self, on: bool) -> None:
        """Arm (or disarm) "click the map to set the release point"."""
        placing = on and self.interactive
        self._set_modes(placing, self._drawing and not placing)

    def set_drawing(self, on: bool) -> None:
        """Arm (or disarm) "press on the release point and drag out to the radius"."""
        drawing = on and self.interactive
        self._set_modes(self._placing and not drawing, drawing)

    def _set_modes(self, placing: bool, drawing: bool) -> None:
        """Arm or disarm both modes on the panel's buttons and in the page (disarming first)."""
        self._placing, self._drawing = placing, drawing
        self.zone_panel.set_placing(placing)
        self.zone_panel.set_drawing(drawing)
        modes = (("ccSetPlacing", placing), ("ccSetDrawing", drawing))
        for function, armed in sorted(modes, key=lambda mode: mode[1]):
            self._call(function, armed, serial=False)

    def _disarm(self) -> None:
        self._placing = self._drawing = False
        self.zone_panel.set_placing(False)
        self.zone_panel.set_drawing(False)

    def _moved(self, lat: float, lon: float, **changes: Any) -> HazardSetup:
        """The current zone moved to ``(lat, lon)`` (a new one set by hand if there is none)."""
        label = f"{lat:.5f}, {lon:.5f}"
        if self.setup is None:
            setup = HazardSetup((lat, lon), SourceKind.COMMANDER, label,
                                float(self.zone_panel.radius.value() or DEFAULT_RADIUS_M),
                                float(self.zone_panel.downwind.value()), DEFAULT_SECTOR_DEG,
                                self.zone_panel.override_wind() or self._wind())
        else:
            setup = replace(self.setup, centre=(lat, lon), source=SourceKind.COMMANDER,
                            source_label=label)
        return replace(setup, **changes) if changes else setup

    def place_hazard(self, lat: float, lon: float, how: str = "click") -> None:
        """Put the release point at ``(lat, lon)`` (from the map or by hand)."""
        if not self.interactive or not (math.isfinite(lat) and math.isfinite(lon)):
            return
        self._disarm()
        _LOGGER.info("hazard source set on the map (%s) at %.6f, %.6f", how, lat, lon)
        self.set_setup(self._moved(lat, lon))

    def draw_zone(self, lat: float, lon: float, radius_m: float) -> None:
        """Make the zone the commander drew: source at ``(lat, lon)``, ``radius_m`` around it."""
        if not self.interactive or not all(math.isfinite(v) for v in (lat, lon, radius_m)) \
                or radius_m <= 0:
            return
        self._disarm()
        _LOGGER.info("hazard zone drawn on the map at %.6f, %.6f, radius %.0f m", lat, lon,
                     radius_m)
        self.set_setup(self._moved(lat, lon, radius_m=float(round(radius_m)),
                                   radius_edited=True))

    def _distance_edited(self, field: str, value: int, lowest: int) -> None:
        """The commander set ``field`` (``radius_m`` or ``downwind_m``) on the panel or map."""
        if self.setup is None or value < lowest:
            return
        if value == getattr(self.setup, field):
            self._push_zone()  # a handle let go where it started: put it back
            return
        changes: dict[str, Any] = {field: float(value), "radius_edited": True}
        self.set_setup(replace(self.setup, **changes))

    def _wind_overridden(self, wind: object) -> None:
        if self.setup is None:
            return
        new = wind if isinstance(wind, Wind) else self._wind()
        self.set_setup(replace(self.setup, wind=new))

    def follow_wind(self) -> None:
        """Re-read the wind gauges; redraw a zone that follows them if the wind turned."""
        setup = self.setup
        if setup is None or setup.wind.source == WindSource.OVERRIDE:
            return
        wind = self._wind()
        if _wind_turned(setup.wind, wind) or wind.source != setup.wind.source:
            self.set_setup(replace(setup, wind=wind))

    def clear_zone(self) -> None:
        """Remove a zone the commander set without an incident."""
        if self.setup is not None and self.setup.incident_id is None:
            self.set_setup(None)

    # ------------------------------------------------------------------ language, waiting

    def set_language(self, lang: str) -> None:
        """Show everything in ``lang``."""
        self._lang = lang
        missing = []
        if self.alarms is None and self.incidents is None:
            missing.append(tr("map.no_services", lang))
        elif self.alarms is None:
            missing.append(tr("map.no_alarms", lang))
        elif self.incidents is None:
            missing.append(tr("map.no_incidents", lang))
        self.notice.setText("\n".join(missing))
        self.notice.setVisible(bool(missing))
        self.zone_panel.set_language(lang)
        self.answer_panel.set_language(lang)
        if self._page_error:
            self.map_message.setText(tr("map.page_error", lang, error=self._page_error))
        self._call("ccSetLanguage", lang, serial=False)

    @property
    def settled(self) -> bool:
        """Whether the map shows the current zone and its routes, fully drawn."""
        if self._page_error:
            return True
        if self.web is None or not self.web.settled or self.worker.busy:
            return False
        return self.setup is None or self.answer is not None \
            or bool(self.answer_panel.status.text())

    def wait_until_drawn(self, timeout_s: float = 20.0) -> bool:
        """Process events until :attr:`settled` (for screenshots); return whether it settled.

        The page reports an update drawn when its script has drawn it; the frame reaches the
        widget a little later, so the page must stay settled for :data:`FRAME_SETTLE_S` too.
        """
        deadline = time.monotonic() + timeout_s
        app = QCoreApplication.instance()
        since: float | None = None
        while time.monotonic() < deadline:
            if app is not None:
                app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            if not self.settled:
                since = None
            elif since is None:
                since = time.monotonic()
            elif time.monotonic() - since >= FRAME_SETTLE_S:
                return True
            time.sleep(0.01)
        return False

    def shutdown(self) -> None:
        """Stop timers and the routing thread (the page is going away)."""
        for t in (self._state_timer, self._value_timer, self._wind_timer):
            t.stop()
        self.worker.shutdown()

