"""The site overview: every gauge as a tile coloured by its state, grouped by building.

A tile shows the gauge id, its latest value and unit, and its state. A gauge whose link is down
or whose readings cannot be trusted is *blind*: its tile is grey and hatched, and shows "—" or
its last value greyed with that value's age — never the colours or the word of a normal gauge.
States come from the alarm board on every change; values and ages are redrawn once a second.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from PySide6.QtCore import QPoint, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPaintEvent, QPen, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from commandcenter.core.alarms import ACTIVE_STATES, Alarm, AlarmBoard, AlarmKind, AlarmState
from commandcenter.core.clock import Clock
from commandcenter.core.site import AlarmLevel, BuildingKind, Site
from commandcenter.services.protocols import GaugeStatus
from commandcenter.ui import i18n
from commandcenter.ui.alarms.models import BoardObserver, age_text, value_text
from commandcenter.ui.i18n import tr
from commandcenter.ui.theme import DESK, Theme


class TileState(StrEnum):
    """What a gauge tile says, most serious first in :data:`TILE_ORDER`."""

    NORMAL = "normal"
    PREALARM = "prealarm"
    ALARM1 = "alarm1"
    ALARM2 = "alarm2"
    STALE = "stale"
    """Communication fault or untrusted readings: the gauge is blind."""
    SHELVED = "shelved"
    OUT_OF_SERVICE = "out_of_service"
    NO_DATA = "no_data"
    """No reading has arrived yet since start."""


@dataclass(frozen=True, slots=True)
class TileStyle:
    """Colours of a tile state."""

    fill: str
    text: str
    border: str
    hatch: str | None = None


TILE_STYLES: Final[dict[TileState, TileStyle]] = {
    TileState.NORMAL: TileStyle("#FFFFFF", "#1F2933", "#C5D0DB"),
    TileState.PREALARM: TileStyle("#FFD21F", "#111111", "#B38F00"),
    TileState.ALARM1: TileStyle("#F57C00", "#111111", "#A35200"),
    TileState.ALARM2: TileStyle("#C62828", "#FFFFFF", "#7F1010"),
    TileState.STALE: TileStyle("#D5DAE0", "#3E4C59", "#7B8794", hatch="#8A939C"),
    TileState.SHELVED: TileStyle("#DCE6F7", "#243B53", "#486581"),
    TileState.OUT_OF_SERVICE: TileStyle("#E4E7EB", "#52606D", "#9AA5B1"),
    TileState.NO_DATA: TileStyle("#EEF1F4", "#52606D", "#9AA5B1", hatch="#C5CCD4"),
}
"""Fill, text, border and (for blind gauges) hatch colour per tile state."""

_LEVEL_STATE = {AlarmLevel.ALARM2: TileState.ALARM2, AlarmLevel.ALARM1: TileState.ALARM1,
                AlarmLevel.PREALARM: TileState.PREALARM}


def gauge_state(alarms: list[Alarm], status: GaugeStatus) -> TileState:
    """Return the tile state of a gauge from its alarms (any state) and its latest status.

    Order: formal alarms (2, then 1; a pre-alarm the post confirmed counts as 1) first — a gauge
    that was in alarm when it went blind keeps its alarm colour —, then blind (link down, bad
    value, not answering), pre-alarm, shelved, out of service / suppressed, no reading yet,
    normal.
    """
    shown = [a for a in alarms if a.state in ACTIVE_STATES and a.spec.level is not None]
    levels = {AlarmLevel.ALARM1 if a.confirmation is not None and a.spec.level
              == AlarmLevel.PREALARM else a.spec.level for a in shown}
    for level in (AlarmLevel.ALARM2, AlarmLevel.ALARM1):
        if level in levels:
            return _LEVEL_STATE[level]
    blind = any(a.active and a.spec.kind in (AlarmKind.COMM, AlarmKind.BAD_VALUE)
                for a in alarms)
    if blind or (not status.available and status.ts is not None):
        return TileState.STALE
    if AlarmLevel.PREALARM in levels:
        return TileState.PREALARM
    if any(a.state == AlarmState.SHELVED for a in alarms):
        return TileState.SHELVED
    if any(a.state in (AlarmState.OUT_OF_SERVICE, AlarmState.SUPPRESSED) for a in alarms):
        return TileState.OUT_OF_SERVICE
    if status.value is None:
        return TileState.NO_DATA if status.available or status.ts is None else TileState.STALE
    return TileState.NORMAL


class GaugeTile(QWidget):
    """One gauge: id, value and unit, state (painted; hatched when blind).

    Attributes:
        gauge_id: The gauge.
        state: Its tile state.
        value: The value text shown.
        detail: The state line shown (state name, or the age of a blind gauge's last value).
    """

    def __init__(self, gauge_id: str, unit: str, theme: Theme = DESK,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.gauge_id = gauge_id
        self.unit = unit
        self._theme = theme
        self.state = TileState.NO_DATA
        self.value = "—"
        self.detail = ""
        self.setMinimumSize(QSize(150, 72))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        """A tile is about 170 × 72 px."""
        return QSize(170, 72)

    def show_state(self, state: TileState, value: str, detail: str, tooltip: str) -> None:
        """Set what the tile says; repaints only when something changed."""
        if (state, value, detail) == (self.state, self.value, self.detail):
            return
        self.state, self.value, self.detail = state, value, detail
        self.setToolTip(tooltip)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint fill, hatch, border and the three text lines."""
        style = TILE_STYLES[self.state]
        t = self._theme
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        p.setPen(QPen(QColor(style.border), 1.5,
                      Qt.PenStyle.DashLine if self.state in (TileState.SHELVED,
                                                              TileState.OUT_OF_SERVICE)
                      else Qt.PenStyle.SolidLine))
        p.setBrush(QBrush(QColor(style.fill)))
        p.drawRoundedRect(r, 5, 5)
        if style.hatch is not None:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QBrush(QColor(style.hatch), Qt.BrushStyle.BDiagPattern))
            p.drawRoundedRect(r, 5, 5)
        p.setPen(QColor(style.text))
        inner = r.adjusted(8, 4, -8, -4)
        third = inner.height() / 3
        p.setFont(t.font(t.small_px, bold=True, mono=True))
        p.drawText(QRectF(inner.x(), inner.y(), inner.width(), third),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.gauge_id)
        p.setFont(t.font(t.heading_px, bold=True))
        if self.state in (TileState.STALE, TileState.NO_DATA):
            p.setPen(QColor("#6B7785"))
        p.drawText(QRectF(inner.x(), inner.y() + third, inner.width(), third),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.value)
        p.setPen(QColor(style.text))
        p.setFont(t.font(t.small_px))
        p.drawText(QRectF(inner.x(), inner.y() + 2 * third, inner.width(), third),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   self.detail)
        p.end()


class SiteOverview(QFrame):
    """All gauges of the site as tiles, grouped by building, coloured by state.

    Args:
        board: The alarm board (states).
        site: Gauges and buildings.
        status: Latest reading and availability per gauge (the alarm desk's ``gauge_status``).
        clock: For the age of a blind gauge's last value.
        columns: Tiles per row within a building.
        lang: UI language.

    Attributes:
        tiles: The tiles by gauge id.

    Signals:
        gauge_menu(str, QPoint): A tile was right-clicked (gauge id, global position); the
            alarm page offers its gauge actions there.
    """

    gauge_menu = Signal(str, QPoint)

    def __init__(self, board: AlarmBoard, site: Site, status: Callable[[str], GaugeStatus],
                 clock: Clock, *, columns: int = 4, lang: str | None = None,
                 theme: Theme = DESK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("siteOverview")
        self._board = board
        self._site = site
        self._status = status
        self._clock = clock
        self._lang = lang or i18n.current()
        self.tiles: dict[str, GaugeTile] = {}
        self._headers: dict[str | None, QLabel] = {}
        groups: dict[str | None, list[str]] = defaultdict(list)
        for gid in sorted(site.gauges):
            b = site.gauges[gid].building
            groups[b if b in site.buildings else None].append(gid)
        content = QWidget(self)
        content.setObjectName("overviewContent")
        col = QVBoxLayout(content)
        col.setContentsMargins(6, 6, 6, 6)
        col.setSpacing(6)
        kinds = list(BuildingKind)
        kind_rank = {b.id: kinds.index(b.kind) for b in site.buildings.values()}
        for building in sorted(groups, key=lambda b: (b is None, kind_rank.get(b or "", 99),
                                                      b or "")):
            header = QLabel(content)
            header.setObjectName("overviewBuilding")
            header.setStyleSheet(f"font-weight: bold; color: {theme.muted}; "
                                 f"font-size: {theme.small_px}px; padding-top: 4px;")
            self._headers[building] = header
            col.addWidget(header)
            grid = QGridLayout()
            grid.setHorizontalSpacing(6)
            grid.setVerticalSpacing(6)
            for i, gid in enumerate(groups[building]):
                tile = GaugeTile(gid, site.gauges[gid].unit, theme, content)
                tile.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
                tile.customContextMenuRequested.connect(
                    lambda pos, t=tile: self.gauge_menu.emit(t.gauge_id, t.mapToGlobal(pos)))
                self.tiles[gid] = tile
                grid.addWidget(tile, i // columns, i % columns)
            for c in range(columns):
                grid.setColumnStretch(c, 1)
            col.addLayout(grid)
        col.addStretch(1)
        self.title = QLabel(self)
        self.title.setObjectName("overviewTitle")
        self.title.setStyleSheet(f"font-weight: bold; font-size: {theme.heading_px}px;")
        scroll = QScrollArea(self)
        scroll.setObjectName("overviewScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(scroll, 1)
        self._observer = BoardObserver(board, self)
        self._observer.alarm_changed.connect(self._alarm_changed)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self.set_language(self._lang)

    def set_language(self, lang: str) -> None:
        """Show names and states in ``lang``."""
        self._lang = lang
        self.title.setText(tr("alarms.overview.title", lang))
        for building, header in self._headers.items():
            if building is None:
                header.setText(tr("alarms.overview.other", lang))
            else:
                b = self._site.buildings[building]
                header.setText(f"{b.name.get(lang)}  ·  {b.id}")
        self.refresh()

    def refresh(self) -> None:
        """Recolour every tile from the board and redraw values and ages."""
        by_gauge: dict[str, list[Alarm]] = defaultdict(list)
        for a in self._board.alarms().values():
            by_gauge[a.gauge].append(a)
        now = self._clock.now()
        for gid, tile in self.tiles.items():
            status = self._status(gid)
            state = gauge_state(by_gauge.get(gid, []), status)
            self._show(tile, gid, state, status, now)

    def refresh_gauge(self, gauge_id: str) -> None:
        """Recolour one tile (an alarm of its gauge changed): a flood costs a tile per change."""
        tile = self.tiles.get(gauge_id)
        if tile is None:
            return
        alarms = self._board.of_gauge(gauge_id)
        status = self._status(gauge_id)
        self._show(tile, gauge_id, gauge_state(alarms, status), status, self._clock.now())

    def _alarm_changed(self, alarm: Alarm) -> None:
        self.refresh_gauge(alarm.gauge)

    def _tick(self) -> None:
        # values and ages move every second, but only a visible overview needs them; it
        # catches up when shown (showEvent)
        if self.isVisible():
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        """Bring every tile up to date when the overview comes into view."""
        super().showEvent(event)
        self.refresh()

    def _show(self, tile: GaugeTile, gid: str, state: TileState, status: GaugeStatus,
              now: datetime) -> None:
        lang = self._lang
        name = tr(f"alarms.tile.{state.value}", lang)
        value = value_text(status.value, tile.unit)
        detail = name
        if state == TileState.STALE or (not status.available and status.ts is not None):
            if status.ts is not None and status.value is not None:
                age = age_text((now - status.ts).total_seconds(), lang)
                detail = f"{tr('alarms.tile.stale', lang)} · " \
                         f"{tr('alarms.tile.age', lang, age=age)}"
            else:
                value = "—"
                detail = tr("alarms.tile.stale", lang)
        gauge = self._site.gauges[gid]
        tooltip = f"{gid}  {gauge.name.get(lang)}\n{name}"
        tile.show_state(state, value, detail, tooltip)

    def shutdown(self) -> None:
        """Stop the 1 Hz refresh and stop following the board."""
        self._timer.stop()
        self._observer.detach()
