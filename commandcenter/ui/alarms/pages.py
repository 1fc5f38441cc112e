"""How the alarm screens plug in: console pages, the wall panel, screenshot views.

The pages find the alarm service as the runtime component ``"alarms"``. Without it (no runtime,
or the service failed to start) they say so plainly instead of showing anything that could be
mistaken for a quiet plant.

The screenshot views (``commandcenter screenshot --view alarms|trends|wall-alarms``) run without
services; they build their own engine, board and trend buffers over the site, play the scripted
hour of :func:`~commandcenter.ui.alarms.scripted.play_scripted_sequence` into a temporary event
log and render what the real engine made of it.
"""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from commandcenter.core.alarms import AlarmBoard
from commandcenter.core.clock import Clock
from commandcenter.core.trends import TrendStore
from commandcenter.services.protocols import AlarmDesk
from commandcenter.ui import i18n
from commandcenter.ui.alarms.audible import horn_for
from commandcenter.ui.alarms.banner import AlarmBanner
from commandcenter.ui.alarms.list import AlarmListPage
from commandcenter.ui.alarms.models import AlarmTableModel, BoardObserver
from commandcenter.ui.alarms.scripted import ScriptedDesk, scripted_desk
from commandcenter.ui.alarms.trends import TrendsPage
from commandcenter.ui.extensions import Page, UiContext, View, WallPanel, build_wall, console_on
from commandcenter.ui.i18n import tr
from commandcenter.ui.theme import DESK, WALL, Theme


def desk_of(ctx: UiContext) -> AlarmDesk | None:
    """Return the running alarm service (component ``"alarms"``), or ``None``."""
    if ctx.runtime is None:
        return None
    comp: Any = ctx.runtime.get("alarms", object)
    if comp is None or not isinstance(getattr(comp, "board", None), AlarmBoard) \
            or not isinstance(getattr(comp, "trends", None), TrendStore):
        return None
    return cast(AlarmDesk, comp)


class NoServicePanel(QFrame):
    """Says that the alarm service is not running (instead of an empty, calm-looking page)."""

    def __init__(self, theme: Theme = DESK, *, lang: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wallPanel" if theme.name == "wall" else "alarmsNoService")
        self._lang = lang or i18n.current()
        self.label = QLabel(self)
        self.label.setObjectName("alarmsNoServiceText")
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setStyleSheet(f"color: #B45309; font-size: {theme.heading_px}px; "
                                 "font-weight: bold;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        self.heading: QLabel | None = None
        if theme.name == "wall":
            self.heading = QLabel(self)
            self.heading.setObjectName("wallHeading")
            layout.addWidget(self.heading)
        layout.addWidget(self.label, 1)
        if theme.name == "wall":
            self.setMaximumWidth(round(theme.body_px * 22))
        i18n.language().changed.connect(self.set_language)
        self.set_language(self._lang)

    def set_language(self, lang: str) -> None:
        """Show the message in ``lang``."""
        self._lang = lang
        self.label.setText(tr("alarms.no_service", lang))
        if self.heading is not None:
            self.heading.setText(tr("alarms.wall.heading", lang))


class AlarmWallPanel(QFrame):
    """The wall's alarm panel: banner of unacknowledged alarms and the announced alarms.

    Large type from the wall theme; read-only (acknowledging is done at a console). The wall
    sounds the shared horn too, so a wall run on its own still calls for attention.

    Attributes:
        banner: Read-only banner (most urgent unacknowledged alarms).
        model: Announced alarms (not hidden, not superseded).
        table: The table of :attr:`model`.
        hidden_label: Count of shelved / suppressed / out-of-service alarms.
    """

    def __init__(self, desk: AlarmDesk, *, theme: Theme = WALL, lang: str | None = None,
                 muted: bool | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wallPanel")
        self.desk = desk
        self._lang = lang or i18n.current()
        self.heading = QLabel(self)
        self.heading.setObjectName("wallHeading")
        self.counts = QLabel(self)
        self.counts.setObjectName("wallMuted")
        self.counts.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        head = QHBoxLayout()
        head.addWidget(self.heading, 1)
        head.addWidget(self.counts)
        self.banner = AlarmBanner(desk.board, desk.site, acknowledge=None, lines=3,
                                  status=desk.gauge_status, theme=theme, lang=self._lang,
                                  parent=self)
        self.model = AlarmTableModel(desk.board, desk.site, self._lang, scope="annunciated",
                                     status=desk.gauge_status, gauge_names=False, compact=True,
                                     time_format="%H:%M", parent=self)
        self.table = QTableView(self)
        self.table.setObjectName("wallAlarms")
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().setDefaultSectionSize(round(theme.body_px * 1.75))
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.setFont(theme.font(theme.body_px))
        row_px = round(theme.body_px * 1.75)
        # room for the header and one whole row at least
        self.table.setMinimumHeight(round(theme.body_px * 2.2) + row_px + 4)
        # value and state are neighbours: padding keeps "73.1 %LEL" and "Unack" apart
        pad = max(8, theme.body_px // 2)
        self.table.setStyleSheet(f"QTableView#wallAlarms::item {{ padding: 0 {pad}px; }}")
        h = self.table.horizontalHeader()
        h.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for col in (AlarmTableModel.COL_LIMIT, AlarmTableModel.COL_NOTE):
            self.table.setColumnHidden(col, True)
        for col in range(self.model.columnCount()):
            h.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(AlarmTableModel.COL_ALARM, QHeaderView.ResizeMode.Stretch)
        self.empty = QLabel(self)
        self.empty.setObjectName("wallMuted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hidden_label = QLabel(self)
        self.hidden_label.setObjectName("wallMuted")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 20)
        layout.setSpacing(12)
        layout.addLayout(head)
        layout.addWidget(self.banner)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.hidden_label)
        self.horn = horn_for(desk.board, muted=muted, parent=self)
        self.cut = 0
        """Rows that do not fit the panel (never drawn half: counted under the table)."""
        self.table.viewport().installEventFilter(self)
        for sig in (self.model.rowsInserted, self.model.rowsRemoved, self.model.modelReset,
                    self.model.layoutChanged):
            sig.connect(lambda *_: self._fit_rows())
        self._observer = BoardObserver(desk.board, self)
        self._observer.alarm_changed.connect(lambda _a: self._update())
        i18n.language().changed.connect(self.set_language)
        self.set_language(self._lang)

    def set_language(self, lang: str) -> None:
        """Show everything in ``lang``."""
        self._lang = lang
        self.heading.setText(tr("alarms.wall.heading", lang))
        self.empty.setText(tr("alarms.wall.none", lang))
        self.model.set_language(lang)
        self.banner.set_language(lang)
        self._update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Fit whole rows into the table whenever its viewport changes size."""
        if event.type() == QEvent.Type.Resize and watched is self.table.viewport():
            self._fit_rows()
        return False

    def _fit_rows(self) -> None:
        """Show only rows that fit whole; the rest are counted below the table."""
        rows = self.model.rowCount()
        height = self.table.verticalHeader().defaultSectionSize()
        fit = self.table.viewport().height() // max(1, height)
        for r in range(rows):
            self.table.setRowHidden(r, r >= fit)
        cut = max(0, rows - fit)
        if cut != self.cut:
            self.cut = cut
            self._update()

    def _update(self) -> None:
        board = self.desk.board
        shown = self.model.rowCount()
        waiting = len(board.unacknowledged())
        self.counts.setText(tr("alarms.wall.counts", self._lang, unack=waiting, shown=shown))
        hidden = len(board.hidden())
        parts = [tr("alarms.wall.more", self._lang, count=self.cut)] if self.cut else []
        if hidden:
            parts.append(tr("alarms.wall.hidden", self._lang, count=hidden))
        self.hidden_label.setText("   ·   ".join(parts))
        self.table.setVisible(shown > 0)
        self.empty.setVisible(shown == 0)


# ---------------------------------------------------------------------- builders


def build_alarms_page(ctx: UiContext, parent: QWidget) -> QWidget:
    """The console's alarm page (or the "service not running" notice)."""
    desk = desk_of(ctx)
    if desk is None:
        return NoServicePanel(DESK, lang=ctx.lang, parent=parent)
    page = AlarmListPage(desk, ctx.event_log, ctx.clock, lang=ctx.lang, parent=parent)
    requested = getattr(parent, "activation_requested", None)
    if requested is not None:  # the console: hand suggested plans to the incident page
        page.plan_requested.connect(requested)
    return page


def _trends_page(desk: AlarmDesk, clock: Clock, lang: str, parent: QWidget | None) -> TrendsPage:
    page = TrendsPage(desk.trends, desk.site, clock, lang=lang, status=desk.gauge_status,
                      parent=parent)
    in_alarm: list[str] = []
    for a in desk.board.annunciated():
        if a.gauge not in in_alarm:
            in_alarm.append(a.gauge)
    page.set_selected(in_alarm[:3])
    return page


def build_trends_page(ctx: UiContext, parent: QWidget) -> QWidget:
    """The console's trends page, showing the gauges in alarm at first."""
    desk = desk_of(ctx)
    if desk is None:
        return NoServicePanel(DESK, lang=ctx.lang, parent=parent)
    return _trends_page(desk, ctx.clock, ctx.lang, parent)


def build_wall_panel(ctx: UiContext, parent: QWidget) -> QWidget:
    """The wall's alarm panel, in the wall's theme."""
    theme = getattr(parent, "theme", WALL)
    theme = theme if isinstance(theme, Theme) else WALL
    desk = desk_of(ctx)
    if desk is None:
        return NoServicePanel(theme, lang=ctx.lang, parent=parent)
    return AlarmWallPanel(desk, theme=theme, lang=ctx.lang, parent=parent)


ALARMS_PAGE = Page("alarms", "alarms.page", build_alarms_page, shortcut="Ctrl+Shift+A")
TRENDS_PAGE = Page("trends", "trends.page", build_trends_page, shortcut="Ctrl+Shift+T")
ALARM_WALL_PANEL = WallPanel("alarms", build_wall_panel, stretch=10, index=1)


# ---------------------------------------------------------------------- screenshot views


class _CloseDesk(QObject):
    """Closes a scripted desk's temporary log when its window closes."""

    def __init__(self, desk: ScriptedDesk, parent: QObject) -> None:
        super().__init__(parent)
        self._desk = desk

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Close the desk when the watched window gets its close event."""
        if event.type() == QEvent.Type.Close:
            self._desk.close()
        return False


def _scripted_console(ctx: UiContext, show: str) -> QWidget:
    from commandcenter.ui.main_window import MainWindow

    desk = scripted_desk(ctx.site, ctx.clock)
    window = MainWindow(ctx.site, desk.log, ctx.clock, db_label=ctx.db_label, lang=ctx.lang)
    window.installEventFilter(_CloseDesk(desk, window))
    window.add_page("alarms", AlarmListPage(desk, desk.log, ctx.clock, lang=ctx.lang,
                                            muted=True, parent=window),
                    ALARMS_PAGE.title_key, ALARMS_PAGE.shortcut)
    window.add_page("trends", _trends_page(desk, ctx.clock, ctx.lang, window),
                    TRENDS_PAGE.title_key, TRENDS_PAGE.shortcut)
    page = window.show_page(show)
    if isinstance(page, AlarmListPage):
        unacked = desk.board.unacknowledged()
        if unacked:
            page.select(unacked[0].id)
    return window


def _alarms_view(ctx: UiContext) -> QWidget:
    return _scripted_console(ctx, "alarms")


def _trends_view(ctx: UiContext) -> QWidget:
    return _scripted_console(ctx, "trends")


def _wall_alarms_view(ctx: UiContext) -> QWidget:
    from commandcenter.ui.wall import WallWindow

    desk = scripted_desk(ctx.site, ctx.clock)
    wall = WallWindow(ctx.site, desk.log, ctx.clock, lang=ctx.lang)
    wall.installEventFilter(_CloseDesk(desk, wall))
    wall.add_panel(AlarmWallPanel(desk, theme=wall.theme, lang=ctx.lang, muted=True,
                                  parent=wall), ALARM_WALL_PANEL.stretch, ALARM_WALL_PANEL.index)
    return wall


ALARMS_VIEW = View("alarms", console_on(ALARMS_PAGE.key), demo=_alarms_view)
TRENDS_VIEW = View("trends", console_on(TRENDS_PAGE.key), demo=_trends_view)
WALL_ALARMS_VIEW = View("wall-alarms", build_wall, demo=_wall_alarms_view)
