"""The wall display: a dark, high-contrast overview readable from across the control room.

A header with the site's name and a big clock, then a row of panels: the plans by level (L1–L4,
colour-coded, with counts and titles) and the live feed of the latest events from the event log.
The panel row is open: later panels (alarms, the active incident, the map) are added with
:meth:`WallWindow.add_panel`. Everything shown is real data; an empty log says so.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, QRect, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QFontMetrics, QGuiApplication, QResizeEvent, QScreen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QSizePolicy,
    QStackedLayout,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from commandcenter.core.clock import Clock
from commandcenter.core.site import Plan, PlanLevel, Site
from commandcenter.ui import i18n
from commandcenter.ui.describe import EventDescriber
from commandcenter.ui.i18n import name_of, tr
from commandcenter.ui.models import EventFeedModel, EventSource, connect_feed, site_timezone
from commandcenter.ui.theme import Theme, level_colour, wall_style_sheet, wall_theme

MAX_TITLES_PER_LEVEL = 3
"""Plan titles listed per level tile; the rest are counted."""

FEED_ROWS = 50
"""Events the wall keeps in its feed (the table shows as many as fit)."""


def screen_for(index: int) -> QScreen:
    """Return monitor ``index`` (0-based, as ``--screen N`` counts them).

    Raises:
        ValueError: There is no such monitor; the message says how many there are.
    """
    screens = QGuiApplication.screens()
    if not 0 <= index < len(screens):
        names = ", ".join(f"{i}: {s.name()} {s.size().width()}×{s.size().height()}"
                          for i, s in enumerate(screens))
        raise ValueError(f"no screen {index}; this machine has {len(screens)} ({names})")
    return screens[index]


class LevelTile(QFrame):
    """One plan level on the wall: a coloured level block, the level's name, count and titles."""

    def __init__(self, level: PlanLevel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level = level
        self._theme: Theme | None = None
        self._lang = "zh"
        self._all_lines: list[str] = []
        self._kinds: list[str] = []
        self.setObjectName("levelTile")
        colours = level_colour(level)
        self.block = QLabel(level.value, self)
        self.block.setObjectName("levelBlock")
        self.block.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._block_css = (f"background: {colours.fill}; color: {colours.text}; "
                           f"border-radius: 6px; font-weight: bold;")
        self.name = QLabel(self)
        self.name.setObjectName("levelName")
        self.count = QLabel(self)
        self.count.setObjectName("levelCount")
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.titles = QLabel(self)
        self.titles.setObjectName("levelTitles")
        self.titles.setWordWrap(True)  # only the list of kinds wraps; titles are elided
        self.titles.setTextFormat(Qt.TextFormat.RichText)
        self.titles.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # Tiles shrink with the wall's rows; _layout_titles shows as many titles as fit.
        self.titles.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.compact = False
        """One line per level (block, name, kinds, count) when the wall is short of height."""
        name_row = QHBoxLayout()
        name_row.setSpacing(12)
        name_row.addWidget(self.name, 1)
        name_row.addWidget(self.count)
        right = QVBoxLayout()
        right.setSpacing(2)
        right.addLayout(name_row)
        right.addWidget(self.titles, 1)
        self._name_row, self._right = name_row, right
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(20)
        layout.addWidget(self.block, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(right, 1)

    def set_compact(self, compact: bool) -> None:
        """Lay the tile out on one line (``True``) or as a block beside name and titles."""
        if compact == self.compact:
            return
        self.compact = compact
        if compact:
            self._right.removeWidget(self.titles)
            self._name_row.setStretch(0, 0)
            self._name_row.insertWidget(1, self.titles, 1)
            self.titles.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        else:
            self._name_row.removeWidget(self.titles)
            self._name_row.setStretch(0, 1)
            self._right.addWidget(self.titles, 1)
            self.titles.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        if self._theme is not None:
            self._relayout()

    def _relayout(self) -> None:
        """Lay out the same plans again (after a change of layout)."""
        assert self._theme is not None
        self._size_block(self._theme)
        self._layout_titles()

    def _size_block(self, theme: Theme) -> None:
        side = round(theme.heading_px * (1.25 if self.compact else 2.2))
        self.block.setFixedSize(side, side)

    def show_plans(self, plans: list[Plan], lang: str, theme: Theme) -> None:
        """Show ``plans`` of this level in ``lang`` at ``theme``'s sizes."""
        self._size_block(theme)
        self.block.setStyleSheet(f"QLabel#levelBlock {{ {self._block_css} "
                                 f"font-size: {theme.heading_px}px; }}")
        self.name.setText(name_of("level", self.level.value, lang))
        self.name.setStyleSheet(f"QLabel#levelName {{ font-weight: bold; "
                                f"font-size: {theme.heading_px}px; }}")
        self.count.setText(tr("wall.plan_count", lang, count=len(plans)))
        self.count.setStyleSheet(f"QLabel#levelCount {{ font-weight: bold; color: "
                                 f"{theme.text if plans else theme.muted}; "
                                 f"font-size: {theme.heading_px}px; }}")
        self._theme = theme
        self._lang = lang
        self._all_lines = [p.title.get(lang) for p in plans]
        self._kinds = list(dict.fromkeys(name_of("kind", p.kind.value, lang) for p in plans))
        self.titles.setFont(theme.font(theme.body_px))
        self.titles.setStyleSheet(f"QLabel#levelTitles {{ font-size: {theme.body_px}px; "
                                  f"color: {theme.text}; }}")
        self._layout_titles()

    def _layout_titles(self) -> None:
        """Show the plans' titles in the lines there are; on one line, the plans' kinds.

        Titles that do not fit are counted ("另有 2 项"). On a one-line (compact) tile a cut
        title says little from across the room; "火灾、可燃气体泄漏、停电" says which plans
        stand ready.
        """
        theme = self._theme
        if theme is None:
            return
        metrics = QFontMetrics(theme.font(theme.body_px))
        width = max(self.titles.width(), 40)
        titles = self._all_lines
        if not titles:
            self.titles.setText(f'<span style="color:{theme.muted};">'
                                f'{_esc(tr("wall.no_plans", self._lang))}</span>')
            return
        if self.compact and len(titles) > 1:
            self.titles.setText(_esc(fit_list(self._kinds, metrics, width, 1, self._lang)))
            return
        fit = 1 if self.compact else max(1, self.titles.height() // max(1, metrics.lineSpacing()))
        shown = titles[:MAX_TITLES_PER_LEVEL]
        if fit == 1:
            shown = shown[:1]  # the count is in the tile's header; show a title, not "N more"
        elif len(titles) > len(shown) or len(shown) > fit:
            shown = shown[:fit - 1]  # keep a line for "N more"
        extra = len(titles) - len(shown)
        lines = [_esc(metrics.elidedText(line, Qt.TextElideMode.ElideRight, width))
                 for line in shown]
        if extra > 0 and fit > 1:
            lines.append(f'<span style="color:{theme.muted};">'
                         f'{_esc(tr("wall.more", self._lang, count=extra))}</span>')
        self.titles.setText("<br>".join(lines))

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Re-cut the titles for the new width."""
        super().resizeEvent(event)
        self._layout_titles()


def fit_list(items: list[str], metrics: QFontMetrics, width: int, lines: int,
             lang: str) -> str:
    """Join ``items`` into text that wraps into at most ``lines`` lines of ``width`` pixels.

    Items that do not fit are counted at the end ("… 另有 2 项"); at least one item is shown.
    """
    sep = "、" if lang == "zh" else ", "
    box = QRect(0, 0, width, 1_000_000)
    # Glyphs from a fallback font (CJK in a Latin font) make lines a little taller than the
    # font's own line spacing: half a line of slack tells n lines from n + 1.
    limit = lines * metrics.lineSpacing() + metrics.lineSpacing() // 2

    def fits(text: str) -> bool:
        if lines == 1:
            return metrics.horizontalAdvance(text) <= width
        return metrics.boundingRect(box, Qt.TextFlag.TextWordWrap, text).height() <= limit

    for k in range(len(items), 0, -1):
        text = sep.join(items[:k])
        if k < len(items):
            text += f" … {tr('wall.more', lang, count=len(items) - k)}"
        if fits(text):
            return text
    return metrics.elidedText(items[0], Qt.TextElideMode.ElideRight, width) if items else ""


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class WallWindow(QWidget):
    """The wall display window.

    Args:
        site: The loaded site; the wall only reads it.
        event_log: The event log; the feed follows it live.
        clock: Where the big clock takes its time from.
        lang: UI language (``"zh"``/``"en"``); ``None`` follows the current one.
        screen: Monitor to go full screen on at once (see :meth:`show_on`).

    Attributes:
        feed: The event feed model (newest first).
        feed_view: The table showing :attr:`feed`.
        tiles: The level tiles, by level.
        panels: The row of panels; later panels are added with :meth:`add_panel`.
    """

    def __init__(self, site: Site, event_log: EventSource, clock: Clock, *,
                 lang: str | None = None, screen: QScreen | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wall")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._site = site
        self._clock = clock
        self._tz = site_timezone(site)
        self._lang = lang or i18n.current()
        self._theme: Theme | None = None

        # --- header
        self.site_label = QLabel(self)
        self.site_label.setObjectName("wallSite")
        self.site_sub = QLabel(self)
        self.site_sub.setObjectName("wallSiteSub")
        self.clock_label = QLabel(self)
        self.clock_label.setObjectName("wallClock")
        self.clock_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.date_label = QLabel(self)
        self.date_label.setObjectName("wallDate")
        self.date_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        header = QGridLayout()
        header.setHorizontalSpacing(24)
        header.setVerticalSpacing(0)
        header.addWidget(self.site_label, 0, 0)
        header.addWidget(self.site_sub, 1, 0)
        header.addWidget(self.clock_label, 0, 1)
        header.addWidget(self.date_label, 1, 1)
        header.setColumnStretch(0, 1)

        # --- plans panel
        self.plans_panel, plans_body, self.plans_heading = self._panel()
        self.tiles: dict[PlanLevel, LevelTile] = {}
        self._tile_grid = QGridLayout()
        self._tile_grid.setHorizontalSpacing(32)
        self._tile_grid.setVerticalSpacing(12)
        for level in PlanLevel:
            self.tiles[level] = LevelTile(level, self.plans_panel)
        self._arrange_tiles(columns=1)
        plans_body.addLayout(self._tile_grid, 1)

        # --- events panel
        self.events_panel, events_body, self.events_heading = self._panel()
        self.feed = EventFeedModel(self._tz, max_rows=FEED_ROWS, lang=self._lang,
                                   time_format="%H:%M:%S", describe=EventDescriber(site),
                                   parent=self)
        self.feed_view = QTableView(self.events_panel)
        self.feed_view.setObjectName("wallFeed")
        self.feed_view.setModel(self.feed)
        self.feed_view.verticalHeader().hide()
        self.feed_view.setShowGrid(False)
        self.feed_view.setAlternatingRowColors(True)
        self.feed_view.setWordWrap(False)
        self.feed_view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.feed_view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.feed_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.feed_view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.feed_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.feed_view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.feed_view.viewport().installEventFilter(self)
        fh = self.feed_view.horizontalHeader()
        fh.setSectionResizeMode(EventFeedModel.COL_TIME, QHeaderView.ResizeMode.ResizeToContents)
        fh.setSectionResizeMode(EventFeedModel.COL_TYPE, QHeaderView.ResizeMode.Fixed)
        # The described line names who and what; the raw source would only crowd it.
        self.feed_view.setColumnHidden(EventFeedModel.COL_SOURCE, True)
        fh.setSectionResizeMode(EventFeedModel.COL_DETAILS, QHeaderView.ResizeMode.Stretch)
        fh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.feed_empty = QLabel(self.events_panel)
        self.feed_empty.setObjectName("wallMuted")
        self.feed_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._feed_stack = QStackedLayout()
        self._feed_stack.addWidget(self.feed_view)
        self._feed_stack.addWidget(self.feed_empty)
        events_body.addLayout(self._feed_stack, 1)
        for sig in (self.feed.rowsInserted, self.feed.rowsRemoved, self.feed.modelReset):
            sig.connect(self._update_feed_state)
        self.feed.modelReset.connect(self._fit_feed_rows)

        # --- two rows: feature panels on top (active incident, alarms … join with
        # add_panel()), and the plan levels beside the live feed below.
        self.panels = QHBoxLayout()
        self.panels.setSpacing(24)
        self.base_row = QHBoxLayout()
        self.base_row.setSpacing(24)
        self.base_row.addWidget(self.plans_panel, 5)
        self.base_row.addWidget(self.events_panel, 6)

        root = QVBoxLayout(self)
        # A fixed minimum instead of one recomputed by the layout (see MainWindow).
        root.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self.setMinimumSize(640, 360)
        root.setContentsMargins(32, 20, 32, 28)
        root.setSpacing(20)
        root.addLayout(header)
        root.addLayout(self.panels, 0)
        root.addLayout(self.base_row, 1)
        self._root = root

        self._bridge = connect_feed(self.feed, event_log, self)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.update_clock)
        self._timer.start()
        i18n.language().changed.connect(self.set_language)
        self._following_language = True

        self.resize(1920, 1080)
        self._apply_theme(wall_theme(screen.geometry().height() if screen else 1080))
        self.set_language(self._lang)
        self._update_feed_state()
        if screen is not None:
            self.show_on(screen)

    def _panel(self) -> tuple[QFrame, QVBoxLayout, QLabel]:
        frame = QFrame(self)
        frame.setObjectName("wallPanel")
        heading = QLabel(frame)
        heading.setObjectName("wallHeading")
        body = QVBoxLayout(frame)
        body.setContentsMargins(24, 16, 24, 20)
        body.setSpacing(14)
        body.addWidget(heading)
        return frame, body, heading

    # ------------------------------------------------------------------ public

    @property
    def theme(self) -> Theme:
        """The wall theme at the current size."""
        assert self._theme is not None
        return self._theme

    def _arrange_tiles(self, columns: int) -> None:
        """Lay the level tiles out in ``columns`` columns (1 when the plans have the height)."""
        grid = self._tile_grid
        for tile in self.tiles.values():
            grid.removeWidget(tile)
        rows = -(-len(self.tiles) // columns)
        panels = getattr(self, "panels", None)  # feature panels take the height when present
        for tile in self.tiles.values():
            tile.set_compact(panels is not None and panels.count() > 0)
        for i, tile in enumerate(self.tiles.values()):
            grid.addWidget(tile, i // columns, i % columns)
        for r in range(4):
            grid.setRowStretch(r, 1 if r < rows else 0)
        grid.setVerticalSpacing(6 if panels is not None and panels.count() > 0 else 12)
        for c in range(2):
            grid.setColumnStretch(c, 1 if c < columns else 0)

    def add_panel(self, widget: QWidget, stretch: int = 4, index: int = -1) -> None:
        """Add a panel (alarms, incident, map …) to the top row at ``index`` (end: -1)."""
        widget.setParent(self)
        if index > self.panels.count():
            index = -1  # panels that would follow one not present go last
        self.panels.insertWidget(index, widget, stretch)
        # With feature panels present they get the larger share of the height.
        self._root.setStretchFactor(self.panels, 2)
        self._root.setStretchFactor(self.base_row, 1)
        self._arrange_tiles(columns=1)

    def show_on(self, screen: QScreen | int) -> None:
        """Go full screen on monitor ``screen`` (a screen or its 0-based number).

        Type is sized for the monitor's height.

        Raises:
            ValueError: ``screen`` is a number and there is no such monitor.
        """
        if isinstance(screen, int):
            screen = screen_for(screen)
        self.setScreen(screen)
        self.setGeometry(screen.geometry())
        self._apply_theme(wall_theme(screen.geometry().height()))
        self.showFullScreen()

    def set_language(self, lang: str) -> None:
        """Show everything in ``lang``."""
        self._lang = lang
        self.setWindowTitle(f"{tr('app.title', lang)} — {tr('menu.view.wall', lang)}"
                            .replace("&", ""))
        info = self._site.info
        self.site_label.setText(self._site.name.get(lang))
        other = "en" if lang == "zh" else "zh"
        sub = [self._site.name.get(other)]
        if info is not None:
            sub.append(info.id)
        self.site_sub.setText("  ·  ".join(s for s in sub if s))
        self.plans_heading.setText(tr("wall.plans", lang))
        self.events_heading.setText(tr("wall.events", lang))
        self.feed_empty.setText(tr("events.none", lang))
        self.feed.set_language(lang)
        self._show_plans()
        self.update_clock()

    def update_clock(self) -> None:
        """Show the site's local time (called every second)."""
        now = self._clock.now().astimezone(self._tz)
        self.clock_label.setText(now.strftime("%H:%M:%S"))
        self.date_label.setText(f"{now.strftime('%Y-%m-%d')}  "
                                f"{tr(f'weekday.{now.weekday()}', self._lang)}")

    # ------------------------------------------------------------------ internals

    def _show_plans(self) -> None:
        by_level = self._site.plans_by_level()
        for level, tile in self.tiles.items():
            tile.show_plans(by_level[level], self._lang, self.theme)

    def _apply_theme(self, theme: Theme) -> None:
        if theme == self._theme:
            return
        self._theme = theme
        self.setStyleSheet(wall_style_sheet(theme))
        self.setFont(theme.font())
        self.clock_label.setFont(theme.font(round(theme.title_px * 1.5), bold=True, mono=True))
        self._fit_feed_rows()
        self._show_plans()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keep the feed's rows whole: a half-cut row is unreadable from across the room."""
        if watched is self.feed_view.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_feed_rows()
        return super().eventFilter(watched, event)

    def _fit_feed_rows(self) -> None:
        if self._theme is None:
            return
        # The event's name gets what it needs up to a quarter of the row; the details the rest.
        width = self.feed_view.viewport().width()
        need = self.feed_view.sizeHintForColumn(EventFeedModel.COL_TYPE)
        self.feed_view.setColumnWidth(EventFeedModel.COL_TYPE, min(need, width // 4) if need > 0
                                      else width // 6)
        height = self.feed_view.viewport().height()
        wanted = round(self._theme.body_px * 1.5)
        rows = max(1, height // max(1, wanted))
        self.feed_view.verticalHeader().setDefaultSectionSize(max(wanted, height // rows))

    def _update_feed_state(self, *_args: object) -> None:
        empty = self.feed.rowCount(QModelIndex()) == 0
        self._feed_stack.setCurrentWidget(self.feed_empty if empty else self.feed_view)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Size the type for the window height (a preview window gets smaller type)."""
        if not self.isFullScreen():
            self._apply_theme(wall_theme(event.size().height()))
        super().resizeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop following the log and the clock."""
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Unsubscribe from the log and stop the clock (idempotent)."""
        self._timer.stop()
        self._bridge.detach()
        if self._following_language:
            self._following_language = False
            i18n.language().changed.disconnect(self.set_language)
