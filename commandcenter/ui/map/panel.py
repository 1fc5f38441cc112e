"""The map page's side panel: the zone and its controls, stranded buildings, muster, resources.

:class:`ZonePanel` shows where the zone came from and lets the commander change it (place it on
the map, radius, downwind distance, wind override). :class:`AnswerPanel` lists what the router
found: buildings with no safe route first, in red; assembly points in the zone; people per
assembly point; the nearest resource of each kind with network distance and travel time.
Neither keeps state of its own: the page hands each a :class:`~.zone.HazardSetup` or an
:class:`~.zone.AnswerSummary` to show.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from commandcenter.core.hazard import default_downwind_m
from commandcenter.core.site import Site
from commandcenter.ui.i18n import name_of, tr
from commandcenter.ui.map import strings as _strings
from commandcenter.ui.map.bridge import DOWNWIND_RANGE_M, RADIUS_RANGE_M
from commandcenter.ui.map.zone import (
    DEFAULT_RADIUS_M,
    AnswerSummary,
    HazardSetup,
    Wind,
    WindSource,
)
from commandcenter.ui.theme import DESK, Theme

RED = "#C62828"
AMBER = "#B45309"
GREEN = "#1B7F3B"


def _speed(wind: Wind, lang: str) -> str:
    if wind.speed_mps is None:
        return tr("map.wind.speed_unknown", lang)
    return tr("map.unit.mps", lang, n=f"{wind.speed_mps:.1f}")


def wind_text(wind: Wind, lang: str) -> tuple[str, bool]:
    """Return the wind in words and whether it is a warning (no sector)."""
    if wind.from_deg is None:
        return tr("map.wind.unavailable", lang), True
    if wind.calm:
        return tr("map.wind.calm", lang, speed=_speed(wind, lang)), True
    key = "map.wind.override" if wind.source == WindSource.OVERRIDE else "map.wind.gauges"
    return tr(key, lang, from_name=_strings.compass(wind.from_deg, lang),
              deg=f"{wind.from_deg:.0f}", speed=_speed(wind, lang)), False


def minutes(seconds: float, lang: str) -> str:
    """Return ``4.2 分钟`` / ``4.2 min``."""
    return tr("map.unit.min", lang, n=f"{seconds / 60.0:.1f}")


class ZonePanel(QFrame):
    """The zone's origin and size, and the commander's controls.

    Signals:
        place_toggled(bool): "Set hazard here" was switched on or off.
        draw_toggled(bool): "Draw zone" was switched on or off.
        radius_changed(int): New isolation radius (m).
        downwind_changed(int): New downwind sector length (m).
        wind_override_changed(object): A :class:`Wind` entered by hand, or ``None`` to go back
            to the wind gauges.
        automatic_requested(): Derive the zone from the incident again.
        clear_requested(): Remove the zone set by hand.
    """

    place_toggled = Signal(bool)
    draw_toggled = Signal(bool)
    radius_changed = Signal(int)
    downwind_changed = Signal(int)
    wind_override_changed = Signal(object)
    automatic_requested = Signal()
    clear_requested = Signal()

    def __init__(self, site: Site, *, lang: str, interactive: bool = True,
                 theme: Theme = DESK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mapZonePanel")
        self._site = site
        self._lang = lang
        self._theme = theme
        self._setup: HazardSetup | None = None
        self._has_incident = False
        self.heading = QLabel(self)
        self.heading.setFont(theme.font(theme.heading_px, bold=True))
        self.info = QLabel(self)
        self.info.setObjectName("mapZoneInfo")
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.info.setFont(theme.font(theme.body_px))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.heading)
        layout.addWidget(self.info)
        self.place = QPushButton(self)
        self.place.setObjectName("mapSetHere")
        self.place.setCheckable(True)
        self.draw = QPushButton(self)
        self.draw.setObjectName("mapDrawZone")
        self.draw.setCheckable(True)
        self.automatic = QPushButton(self)
        self.clear = QPushButton(self)
        self.radius = QSpinBox(self)
        self.radius.setRange(round(RADIUS_RANGE_M[0]), round(RADIUS_RANGE_M[1]))
        self.radius.setSingleStep(10)
        self.radius.setSuffix(" m")
        self.radius.setValue(round(DEFAULT_RADIUS_M))
        self.downwind = QSpinBox(self)
        self.downwind.setRange(round(DOWNWIND_RANGE_M[0]), round(DOWNWIND_RANGE_M[1]))
        self.downwind.setSingleStep(50)
        self.downwind.setSuffix(" m")
        self.downwind.setValue(round(default_downwind_m(site)))
        self.override = QCheckBox(self)
        self.wind_from = QSpinBox(self)
        self.wind_from.setRange(0, 359)
        self.wind_from.setWrapping(True)
        self.wind_from.setSingleStep(10)
        self.wind_from.setSuffix("°")
        self.wind_speed = QDoubleSpinBox(self)
        self.wind_speed.setRange(0.0, 60.0)
        self.wind_speed.setDecimals(1)
        self.wind_speed.setSingleStep(0.5)
        self.wind_speed.setSuffix(" m/s")
        self.radius_label = QLabel(self)
        self.downwind_label = QLabel(self)
        self.from_label = QLabel(self)
        self.speed_label = QLabel(self)
        self.controls = QWidget(self)
        grid = QGridLayout(self.controls)
        grid.setContentsMargins(0, 4, 0, 0)
        on_map = QHBoxLayout()
        on_map.addWidget(self.place, 1)
        on_map.addWidget(self.draw, 1)
        grid.addLayout(on_map, 0, 0, 1, 4)
        buttons = QHBoxLayout()
        buttons.addWidget(self.automatic, 2)
        buttons.addWidget(self.clear, 1)
        grid.addLayout(buttons, 1, 0, 1, 4)
        grid.addWidget(self.radius_label, 2, 0)
        grid.addWidget(self.radius, 2, 1)
        grid.addWidget(self.downwind_label, 2, 2)
        grid.addWidget(self.downwind, 2, 3)
        grid.addWidget(self.override, 3, 0, 1, 4)
        grid.addWidget(self.from_label, 4, 0)
        grid.addWidget(self.wind_from, 4, 1)
        grid.addWidget(self.speed_label, 4, 2)
        grid.addWidget(self.wind_speed, 4, 3)
        self.controls.setVisible(interactive)
        layout.addWidget(self.controls)
        self.place.toggled.connect(self.place_toggled.emit)
        self.draw.toggled.connect(self.draw_toggled.emit)
        self.radius.valueChanged.connect(self.radius_changed.emit)
        self.downwind.valueChanged.connect(self.downwind_changed.emit)
        self.override.toggled.connect(self._wind_edited)
        self.wind_from.valueChanged.connect(self._wind_edited)
        self.wind_speed.valueChanged.connect(self._wind_edited)
        self.automatic.clicked.connect(self.automatic_requested.emit)
        self.clear.clicked.connect(self.clear_requested.emit)
        self.set_language(lang)

    def override_wind(self) -> Wind | None:
        """Return the wind entered by hand, or ``None`` when the wind gauges are followed."""
        if not self.override.isChecked():
            return None
        return Wind(float(self.wind_from.value()), float(self.wind_speed.value()),
                    WindSource.OVERRIDE)

    def _wind_edited(self, *_: object) -> None:
        on = self.override.isChecked()
        self.wind_from.setEnabled(on)
        self.wind_speed.setEnabled(on)
        self.wind_override_changed.emit(self.override_wind())

    def set_language(self, lang: str) -> None:
        """Show everything in ``lang``."""
        self._lang = lang
        self.heading.setText(tr("map.zone.title", lang))
        self.place.setText(tr("map.set_here", lang))
        self.place.setToolTip(tr("map.set_here.tip", lang))
        self.draw.setText(tr("map.draw", lang))
        self.draw.setToolTip(tr("map.draw.tip", lang))
        self.automatic.setText(tr("map.auto", lang))
        self.automatic.setToolTip(tr("map.auto.tip", lang))
        self.clear.setText(tr("map.clear", lang))
        self.radius_label.setText(tr("map.radius", lang))
        self.downwind_label.setText(tr("map.downwind", lang))
        self.override.setText(tr("map.wind_override", lang))
        self.from_label.setText(tr("map.wind_from", lang))
        self.speed_label.setText(tr("map.wind_speed", lang))
        self.show_setup(self._setup, has_incident=self._has_incident)

    def show_setup(self, setup: HazardSetup | None, *, has_incident: bool) -> None:
        """Show ``setup`` (``None``: no zone) and sync the controls to it without signals."""
        self._setup = setup
        self._has_incident = has_incident
        lang = self._lang
        self.automatic.setEnabled(has_incident)
        self.clear.setEnabled(setup is not None and setup.incident_id is None)
        if setup is None:
            self.info.setText(tr("map.zone.none", lang))
            return
        lines: list[str] = []
        if setup.plan_id is not None:
            plan = self._site.plans.get(setup.plan_id)
            title = f"{setup.plan_id} {plan.title.get(lang)}" if plan is not None \
                else setup.plan_id
            lines.append("<b>" + _esc(tr("map.zone.incident", lang,
                                         incident=setup.incident_id or "", plan=title))
                         + "</b>")
        else:
            lines.append("<b>" + _esc(tr("map.zone.manual", lang)) + "</b>")
        lines.append(_esc(tr(f"map.source.{setup.source.value}", lang,
                             label=setup.source_label)))
        zone = setup.zone()
        size = tr("map.zone.size", lang, radius=f"{zone.radius_m:.0f}")
        if zone.has_sector and zone.downwind_deg is not None:
            size += "；" if lang == "zh" else "; "
            size += tr("map.zone.sector", lang, length=f"{zone.sector_length_m:.0f}",
                       angle=f"{zone.sector_half_angle_deg * 2:.0f}",
                       towards=_strings.compass(zone.downwind_deg, lang))
        lines.append(_esc(size))
        text, warn = wind_text(setup.wind, lang)
        lines.append(f"<span style='color:{AMBER}; font-weight:bold'>{_esc(text)}</span>"
                     if warn else _esc(text))
        self.info.setText("<br>".join(lines))
        for box, value in ((self.radius, setup.radius_m), (self.downwind, setup.downwind_m)):
            box.blockSignals(True)
            box.setValue(round(value))
            box.blockSignals(False)
        override = setup.wind.source == WindSource.OVERRIDE
        for w in (self.override, self.wind_from, self.wind_speed):
            w.blockSignals(True)
        self.override.setChecked(override)
        if override and setup.wind.from_deg is not None:
            self.wind_from.setValue(round(setup.wind.from_deg) % 360)
            self.wind_speed.setValue(setup.wind.speed_mps or 0.0)
        elif setup.wind.from_deg is not None:
            self.wind_from.setValue(round(setup.wind.from_deg) % 360)
            if setup.wind.speed_mps is not None:
                self.wind_speed.setValue(setup.wind.speed_mps)
        self.wind_from.setEnabled(override)
        self.wind_speed.setEnabled(override)
        for w in (self.override, self.wind_from, self.wind_speed):
            w.blockSignals(False)

    def set_placing(self, on: bool) -> None:
        """Show the "Set hazard here" button as armed or not (without signals)."""
        self.place.blockSignals(True)
        self.place.setChecked(on)
        self.place.blockSignals(False)

    def set_drawing(self, on: bool) -> None:
        """Show the "Draw zone" button as armed or not (without signals)."""
        self.draw.blockSignals(True)
        self.draw.setChecked(on)
        self.draw.blockSignals(False)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(columns: int, stretch: int, theme: Theme, parent: QWidget) -> QTableWidget:
    table = QTableWidget(0, columns, parent)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)
    table.setFont(theme.font(theme.body_px))
    table.verticalHeader().setDefaultSectionSize(round(theme.body_px * 1.9))
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    header = table.horizontalHeader()
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    header.setStretchLastSection(False)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return table


def _fit_height(table: QTableWidget) -> None:
    rows = table.rowCount()
    height = table.horizontalHeader().height() + 2 * table.frameWidth()
    height += sum(table.rowHeight(r) for r in range(rows))
    table.setFixedHeight(height)


def _item(text: str, *, colour: str | None = None, bold: bool = False,
          align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if colour is not None:
        item.setForeground(QColor(colour))
    if bold:
        f = item.font()
        f.setBold(True)
        item.setFont(f)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class AnswerPanel(QFrame):
    """What the router found for the current zone.

    Attributes:
        stranded: The red "no safe route" box (green when every building has a way out).
        blocked: Assembly points inside the zone.
        muster: People per assembly point.
        nearest: Nearest resource per kind.
    """

    def __init__(self, site: Site, *, lang: str, theme: Theme = DESK,
                 show_nearest: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mapAnswerPanel")
        self._site = site
        self._lang = lang
        self._theme = theme
        self._summary: AnswerSummary | None = None
        self._status = ""
        self.status = QLabel(self)
        self.status.setObjectName("mapRoutingStatus")
        self.status.setWordWrap(True)
        self.status.setFont(theme.font(theme.body_px))
        self.stranded = QLabel(self)
        self.stranded.setObjectName("mapStranded")
        self.stranded.setWordWrap(True)
        self.stranded.setTextFormat(Qt.TextFormat.RichText)
        self.stranded.setFont(theme.font(round(theme.body_px * 1.2), bold=True))
        self.stranded.setMargin(10)
        self.blocked = QLabel(self)
        self.blocked.setObjectName("mapBlockedAps")
        self.blocked.setWordWrap(True)
        self.blocked.setFont(theme.font(theme.body_px, bold=True))
        self.blocked.setStyleSheet(f"color: {AMBER};")
        self.evac_heading = QLabel(self)
        self.evac_heading.setFont(theme.font(theme.heading_px, bold=True))
        self.muster = _table(5, 0, theme, self)
        self.muster.setObjectName("mapMuster")
        self.total = QLabel(self)
        self.total.setWordWrap(True)
        self.total.setFont(theme.font(theme.body_px))
        self.nearest_heading = QLabel(self)
        self.nearest_heading.setFont(theme.font(theme.heading_px, bold=True))
        self.nearest = _table(5, 1, theme, self)
        self.nearest.setObjectName("mapNearest")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.status)
        layout.addWidget(self.stranded)
        layout.addWidget(self.blocked)
        layout.addWidget(self.evac_heading)
        layout.addWidget(self.muster)
        layout.addWidget(self.total)
        layout.addWidget(self.nearest_heading)
        layout.addWidget(self.nearest)
        self.nearest_heading.setVisible(show_nearest)
        self.nearest.setVisible(show_nearest)
        self._show_nearest = show_nearest
        layout.addStretch(1)
        self.set_language(lang)

    def set_language(self, lang: str) -> None:
        """Show everything in ``lang``."""
        self._lang = lang
        self.evac_heading.setText(tr("map.evac.title", lang))
        self.nearest_heading.setText(tr("map.nearest.title", lang))
        self.muster.setHorizontalHeaderLabels([tr(f"map.evac.col.{k}", lang)
                                               for k in ("ap", "wind", "people", "buildings",
                                                         "walk")])
        self.nearest.setHorizontalHeaderLabels([tr(f"map.nearest.col.{k}", lang)
                                                for k in ("kind", "resource", "flag",
                                                          "distance", "time")])
        self.show_summary(self._summary)

    def set_status(self, text: str, *, error: bool = False) -> None:
        """Show a routing status line (computing, failed) or nothing."""
        self._status = text
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {RED}; font-weight: bold;" if error else
                                  f"color: {self._theme.muted};")
        self.status.setVisible(bool(text))

    def show_summary(self, summary: AnswerSummary | None) -> None:
        """Show ``summary`` (``None``: no zone, nothing to list)."""
        self._summary = summary
        lang = self._lang
        has = summary is not None
        for w in (self.stranded, self.evac_heading, self.muster, self.total):
            w.setVisible(has)
        self.nearest_heading.setVisible(has and self._show_nearest)
        self.nearest.setVisible(has and self._show_nearest)
        self.blocked.setVisible(has and bool(summary and summary.blocked_assembly_points))
        if summary is None:
            return
        self._show_stranded(summary)
        if summary.blocked_assembly_points:
            self.blocked.setText(tr("map.blocked", lang,
                                    aps=", ".join(summary.blocked_assembly_points)))
        self.muster.setRowCount(len(summary.muster))
        for i, m in enumerate(summary.muster):
            # The name may be cut short in the narrow panel; flags have their own column.
            name = self._resource_label(m.assembly_point)
            people = str(m.people)
            if m.over_capacity:
                people += f" ({tr('map.evac.over', lang, capacity=m.capacity)})"
            cell = _item(name, bold=True)
            cell.setToolTip(f"{self._resource_name(m.assembly_point)}\n"
                            f"{', '.join(m.buildings)}")
            self.muster.setItem(i, 0, cell)
            self.muster.setItem(i, 1, _item(tr("map.evac.upwind", lang) if m.upwind else "",
                                            colour=GREEN, bold=True))
            self.muster.setItem(i, 2, _item(people, colour=RED if m.over_capacity else None,
                                            bold=m.over_capacity, align_right=True))
            count = _item(str(len(m.buildings)), align_right=True)
            count.setToolTip(", ".join(m.buildings))
            self.muster.setItem(i, 3, count)
            self.muster.setItem(i, 4, _item(minutes(m.longest_walk_s, lang)))
        _fit_height(self.muster)
        self.total.setText(tr("map.evac.total", lang, people=summary.routed_people,
                              aps=len(summary.muster)))
        self.nearest.setRowCount(len(summary.nearest))
        for i, n in enumerate(summary.nearest):
            label = self._resource_label(n.resource)
            time = minutes(n.time_s, lang)
            if n.by_vehicle:
                time += f" ({tr('map.nearest.vehicle', lang)})"
            self.nearest.setItem(i, 0, _item(name_of("resource", n.kind, lang)))
            cell = _item(label, colour=AMBER if n.in_zone else None)
            cell.setToolTip("\n".join([self._resource_name(n.resource), *n.others]))
            self.nearest.setItem(i, 1, cell)
            self.nearest.setItem(i, 2, _item(tr("map.nearest.in_zone", lang) if n.in_zone
                                             else "", colour=AMBER, bold=True))
            self.nearest.setItem(i, 3, _item(f"{n.distance_m:.0f} m", align_right=True))
            self.nearest.setItem(i, 4, _item(time))
        _fit_height(self.nearest)

    def _resource_label(self, resource: str) -> str:
        """Return the resource's id and where it is: ``AP-1 (North gate square)``.

        The table already says what kind it is, and the id (what the map shows) must come
        first so a narrow panel never cuts it off; the full name is the cell's tooltip.
        """
        name = self._resource_name(resource)
        cut = max(name.rfind("("), name.rfind("（"))
        if cut > 0:
            return f"{resource}{'' if name[cut] == '（' else ' '}{name[cut:]}"
        return name if resource in name else f"{resource} {name}"

    def _resource_name(self, resource: str) -> str:
        res = self._site.resources.get(resource)
        return resource if res is None else res.name.get(self._lang)

    def _show_stranded(self, summary: AnswerSummary) -> None:
        lang = self._lang
        if not summary.stranded:
            self.stranded.setText(_esc(tr("map.stranded.none", lang)))
            self.stranded.setStyleSheet(f"background: #E3F4E8; color: {GREEN}; "
                                        f"border: 2px solid {GREEN}; border-radius: 4px;")
            return
        people = sum(s.people for s in summary.stranded)
        rows = []
        for s in summary.stranded:
            b = self._site.buildings.get(s.building)
            rows.append(_esc(tr("map.stranded.row", lang, building=s.building,
                                name=b.name.get(lang) if b is not None else "",
                                people=s.people,
                                inside=tr("map.stranded.inside", lang)
                                if s.starts_inside else "")))
        self.stranded.setText(
            f"<span style='font-size:{round(self._theme.body_px * 1.45)}px'>"
            + _esc(tr("map.stranded.title", lang, count=len(summary.stranded), people=people))
            + "</span><br>" + "<br>".join(rows))
        self.stranded.setStyleSheet(f"background: {RED}; color: #FFFFFF; "
                                    "border: 3px solid #000000; border-radius: 4px;")

