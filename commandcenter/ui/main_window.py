"""The desk console's main window: plan library on the left, the chosen plan on the right.

Keyboard first: Ctrl+F focuses the search box, typing filters the library, Down moves into the
list, arrows walk it (the plan view follows the current row), Enter opens the plan and moves the
focus to it. The status bar shows which database and site are in use, how many site items were
skipped on load (click for the list) and the site's local time from the injected clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QHeaderView,
    QLabel,
    QLayout,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from commandcenter.core.clock import Clock
from commandcenter.core.site import Plan, PlanLevel, Problem, Site
from commandcenter.ui import i18n
from commandcenter.ui.describe import EventDescriber
from commandcenter.ui.i18n import tr
from commandcenter.ui.models import (
    EventFeedModel,
    EventSource,
    PlanFilterProxy,
    PlanLibraryModel,
    connect_feed,
    site_timezone,
)
from commandcenter.ui.plan_view import PlanView
from commandcenter.ui.theme import DESK, desk_style_sheet

if TYPE_CHECKING:
    from commandcenter.ui.wall import WallWindow

try:
    from importlib.metadata import PackageNotFoundError, version

    _VERSION = version("commandcenter")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    _VERSION = ""


class ProblemsDialog(QDialog):
    """Lists the site items skipped on load, one ``path:line: field: message`` per line."""

    def __init__(self, problems: list[Problem], lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("problems.title", lang))
        self.resize(900, 420)
        intro = QLabel(tr("problems.intro", lang, count=len(problems)), self)
        intro.setWordWrap(True)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setPlainText("\n".join(str(p) for p in problems))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText(tr("problems.close", lang))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self.setMinimumSize(480, 240)
        layout.addWidget(intro)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)


class MainWindow(QMainWindow):
    """The console window.

    Args:
        site: The loaded site (plans, roster …); the window only reads it.
        event_log: The event log; the event dock follows it live.
        clock: Where the status-bar clock takes its time from.
        db_label: How to name the database in the status bar (a path or a redacted URL).
        lang: UI language (``"zh"``/``"en"``); ``None`` keeps the current one.

    Attributes:
        search: The plan search box.
        tree: The plan library tree (shows :attr:`proxy`).
        plan_view: The plan on the right.
        library: The plan library model.
        proxy: The filter over :attr:`library`.
        feed: The event feed model of the event dock.
    """

    activation_requested = Signal(str, str)
    """(plan id, building id or "") — some page asks for a plan to be activated."""

    def __init__(self, site: Site, event_log: EventSource, clock: Clock, *, db_label: str,
                 lang: str | None = None,
                 wall_factory: Callable[[], WallWindow] | None = None) -> None:
        super().__init__()
        self._wall_factory = wall_factory
        self._page_titles: dict[str, str] = {}
        if lang is not None:
            i18n.set_language(lang)
        self._lang = i18n.current()
        self._site = site
        self._log = event_log
        self._clock = clock
        self._db_label = db_label
        self._tz = site_timezone(site)
        self._wall: QWidget | None = None
        self.setStyleSheet(desk_style_sheet(DESK))
        self.setFont(DESK.font())
        # A fixed minimum instead of one the layout recomputes on every change: some platform
        # plugins (offscreen, several Wayland shells) cannot take new size hints once shown.
        self.setMinimumSize(960, 540)
        top_layout = self.layout()
        assert top_layout is not None  # QMainWindow always has its own layout
        top_layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self.resize(1366, 768)

        # --- library (left)
        self.library = PlanLibraryModel(site, self._lang, self)
        self.proxy = PlanFilterProxy(self)
        self.proxy.setSourceModel(self.library)
        self.search = QLineEdit(self)
        self.search.setObjectName("planSearch")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_query)
        self.search.returnPressed.connect(self._open_first_match)
        self.search.installEventFilter(self)
        self.tree = QTreeView(self)
        self.tree.setObjectName("planTree")
        self.tree.setModel(self.proxy)
        self.tree.setUniformRowHeights(True)
        self.tree.setAllColumnsShowFocus(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setIndentation(14)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(PlanLibraryModel.COL_TITLE, QHeaderView.ResizeMode.Stretch)
        # The kind is in the plan header and the row's tooltip; the list keeps room for titles.
        self.tree.setColumnHidden(PlanLibraryModel.COL_KIND, True)
        header.setSectionResizeMode(PlanLibraryModel.COL_ID,
                                    QHeaderView.ResizeMode.ResizeToContents)
        for signal in (self.proxy.layoutChanged, self.proxy.modelReset, self.proxy.rowsInserted):
            signal.connect(self._span_level_rows)
        self._span_level_rows()
        self.tree.expandAll()
        self.tree.selectionModel().currentChanged.connect(self._on_current)
        self.tree.activated.connect(self._on_activated)
        left = QWidget(self)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(8, 8, 0, 8)
        ll.setSpacing(6)
        ll.addWidget(self.search)
        ll.addWidget(self.tree, 1)

        # --- plan (right)
        self.plan_view = PlanView(site, self._lang, DESK, self)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setObjectName("mainSplitter")
        splitter.addWidget(left)
        splitter.addWidget(self.plan_view)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([470, 900])
        splitter.setChildrenCollapsible(False)
        self.pages = QTabWidget(self)
        self.pages.setObjectName("pages")
        self.pages.setDocumentMode(True)
        self.pages.addTab(splitter, "")
        self._page_keys: list[str] = ["plans"]
        self._page_titles["plans"] = "page.plans"
        self.setCentralWidget(self.pages)

        # --- event dock (bottom)
        self.feed = EventFeedModel(self._tz, max_rows=200, lang=self._lang,
                                   describe=EventDescriber(site), parent=self)
        self.events_view = QTableView(self)
        self.events_view.setObjectName("eventTable")
        self.events_view.setModel(self.feed)
        self.events_view.verticalHeader().hide()
        self.events_view.setShowGrid(False)
        self.events_view.setAlternatingRowColors(True)
        self.events_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.events_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.events_view.setWordWrap(False)
        eh = self.events_view.horizontalHeader()
        for col in range(3):
            eh.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        eh.setSectionResizeMode(EventFeedModel.COL_DETAILS, QHeaderView.ResizeMode.Stretch)
        self.events_view.verticalHeader().setDefaultSectionSize(22)
        self.event_dock = QDockWidget(self)
        self.event_dock.setObjectName("eventDock")
        self.event_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                                    | QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.event_dock.setWidget(self.events_view)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.event_dock)
        self.resizeDocks([self.event_dock], [150], Qt.Orientation.Vertical)
        self._bridge = connect_feed(self.feed, event_log, self)

        # --- menus and status bar
        self._build_menus()
        self._build_status_bar()
        find = QAction(self)
        find.setShortcut(QKeySequence(QKeySequence.StandardKey.Find))
        find.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        find.triggered.connect(self.focus_search)
        self.addAction(find)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.update_clock)
        self._timer.start()
        self.update_clock()

        i18n.language().changed.connect(self.retranslate)
        self._following_language = True
        self.retranslate(self._lang)

    # ------------------------------------------------------------------ building

    def _build_menus(self) -> None:
        mb = self.menuBar()
        self.file_menu = mb.addMenu("")
        self.quit_action = self.file_menu.addAction("")
        self.quit_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Quit))
        self.quit_action.triggered.connect(self.close)
        self.view_menu = mb.addMenu("")
        self.wall_action = self.view_menu.addAction("")
        self.wall_action.setShortcut(QKeySequence("F11"))
        self.wall_action.triggered.connect(self.open_wall)
        self.events_action = self.event_dock.toggleViewAction()
        self.view_menu.addAction(self.events_action)
        self.language_menu = mb.addMenu("")
        self._lang_group = QActionGroup(self)
        self._lang_group.setExclusive(True)
        self.language_actions: dict[str, QAction] = {}
        for code in i18n.LANGUAGES:
            action = self.language_menu.addAction(tr(f"lang.{code}", code))
            action.setCheckable(True)
            action.setData(code)
            action.triggered.connect(lambda _checked=False, c=code: i18n.set_language(c))
            self._lang_group.addAction(action)
            self.language_actions[code] = action
        self.help_menu = mb.addMenu("")
        self.about_action = self.help_menu.addAction("")
        self.about_action.triggered.connect(self.show_about)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        sb.setSizeGripEnabled(False)
        self.db_label = QLabel(self)
        self.db_label.setObjectName("statusDb")
        self.site_label = QLabel(self)
        self.site_label.setObjectName("statusSite")
        self.problems_button = QPushButton(self)
        self.problems_button.setObjectName("statusProblems")
        self.problems_button.setFlat(True)
        self.problems_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.problems_button.clicked.connect(self.show_problems)
        self.clock_label = QLabel(self)
        self.clock_label.setObjectName("statusClock")
        self.clock_label.setFont(DESK.font(DESK.small_px, mono=True))
        sb.addWidget(self.db_label)
        sb.addWidget(self.site_label)
        sb.addWidget(self.problems_button)
        sb.addPermanentWidget(self.clock_label)

    # ------------------------------------------------------------------ language

    @property
    def lang(self) -> str:
        """The language the window is shown in."""
        return self._lang

    def retranslate(self, lang: str) -> None:
        """Show every label, menu and model in ``lang``."""
        self._lang = lang
        self.setWindowTitle(f"{tr('app.title', lang)} — {self._site.name.get(lang)}")
        self.file_menu.setTitle(tr("menu.file", lang))
        self.quit_action.setText(tr("menu.file.quit", lang))
        self.view_menu.setTitle(tr("menu.view", lang))
        self.wall_action.setText(tr("menu.view.wall", lang))
        self.event_dock.setWindowTitle(tr("events.title", lang))
        self.events_action.setText(tr("menu.view.events", lang))
        self.language_menu.setTitle(tr("menu.language", lang))
        self.language_actions[lang].setChecked(True)
        self.help_menu.setTitle(tr("menu.help", lang))
        self.about_action.setText(tr("menu.help.about", lang))
        self.search.setPlaceholderText(tr("library.search", lang))
        for i, key in enumerate(self._page_keys):
            self.pages.setTabText(i, tr(self._page_titles[key], lang))
        self.library.set_language(lang)
        self.feed.set_language(lang)
        self.plan_view.set_language(lang)
        self._update_status_texts()

    def _update_status_texts(self) -> None:
        lang = self._lang
        self.db_label.setText(tr("status.db", lang, label=self._db_label))
        self.db_label.setToolTip(self._db_label)
        info = self._site.info
        if info is None:
            self.site_label.setText(tr("status.no_site", lang))
        else:
            self.site_label.setText(tr("status.site", lang, name=info.name.get(lang),
                                       id=info.id))
        n = len(self._site.problems)
        if n:
            self.problems_button.setText(tr("status.problems", lang, count=n))
            self.problems_button.setToolTip(tr("status.problems.tip", lang))
            self.problems_button.setEnabled(True)
        else:
            self.problems_button.setText(tr("status.problems.none", lang))
            self.problems_button.setToolTip("")
            self.problems_button.setEnabled(False)

    # ------------------------------------------------------------------ clock

    def update_clock(self) -> None:
        """Show the site's local time (called every second)."""
        now = self._clock.now().astimezone(self._tz)
        self.clock_label.setText(now.strftime("%Y-%m-%d %H:%M:%S"))

    # ------------------------------------------------------------------ library

    def focus_search(self) -> None:
        """Put the keyboard focus in the search box, text selected (Ctrl+F)."""
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _on_query(self, text: str) -> None:
        self.proxy.set_query(text)
        self._span_level_rows()
        self.tree.expandAll()

    def _span_level_rows(self, *_args: object) -> None:
        """Let level rows (``L3 厂级（3）``) use the whole width of the list."""
        for r in range(self.proxy.rowCount()):
            self.tree.setFirstColumnSpanned(r, QModelIndex(), True)

    def _first_plan_index(self) -> QModelIndex:
        for r in range(self.proxy.rowCount()):
            level = self.proxy.index(r, 0)
            if self.proxy.rowCount(level):
                return self.proxy.index(0, 0, level)
        return QModelIndex()

    def _open_first_match(self) -> None:
        current = self.tree.currentIndex()
        index = current if self.library.plan_at(self.proxy.mapToSource(current)) \
            else self._first_plan_index()
        if index.isValid():
            self.tree.setCurrentIndex(index)
            self._on_activated(index)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Down in the search box moves into the plan list."""
        if watched is self.search and event.type() == QEvent.Type.KeyPress \
                and isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Down:
            index = self.tree.currentIndex()
            if not self.library.plan_at(self.proxy.mapToSource(index)):
                index = self._first_plan_index()
            if index.isValid():
                self.tree.setCurrentIndex(index)
            self.tree.setFocus(Qt.FocusReason.TabFocusReason)
            return True
        return super().eventFilter(watched, event)

    def _on_current(self, current: QModelIndex | QPersistentModelIndex,
                    _previous: QModelIndex | QPersistentModelIndex) -> None:
        plan = self.library.plan_at(self.proxy.mapToSource(current))
        if plan is not None and plan is not self.plan_view.plan:
            self.plan_view.set_plan(plan)

    def _on_activated(self, index: QModelIndex | QPersistentModelIndex) -> None:
        plan = self.library.plan_at(self.proxy.mapToSource(index))
        if plan is None:
            return
        if plan is not self.plan_view.plan:
            self.plan_view.set_plan(plan)
        self.plan_view.body.setFocus(Qt.FocusReason.OtherFocusReason)

    def select_plan(self, plan_id: str) -> bool:
        """Select and show plan ``plan_id``; clears a search that hides it. Returns success."""
        source = self.library.plan_index(plan_id)
        if not source.isValid():
            return False
        index = self.proxy.mapFromSource(source)
        if not index.isValid():
            self.search.clear()
            index = self.proxy.mapFromSource(source)
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index)
        return True

    def first_plan_of(self, level: PlanLevel) -> Plan | None:
        """Return the first plan of ``level`` in library order, if any."""
        plans = self._site.plans_by_level()[level]
        return plans[0] if plans else None

    # ------------------------------------------------------------------ actions

    def show_problems(self) -> ProblemsDialog:
        """Open the list of skipped site items (non-modal) and return the dialog."""
        dialog = ProblemsDialog(self._site.problems, self._lang, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.show()
        return dialog

    def show_about(self) -> None:
        """Show the About box."""
        QMessageBox.about(self, tr("menu.help.about", self._lang).replace("&", ""),
                          tr("about.text", self._lang, version=_VERSION))

    def add_page(self, key: str, widget: QWidget, title_key: str,
                 shortcut: str | None = None) -> None:
        """Add a page (tab) after the existing ones; ``title_key`` is its i18n title."""
        if key in self._page_keys:
            raise ValueError(f"a page called {key!r} exists already")
        self._page_keys.append(key)
        self._page_titles[key] = title_key
        index = self.pages.addTab(widget, tr(title_key, self._lang))
        if shortcut:
            action = QAction(self)
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda: self.pages.setCurrentIndex(index))
            self.addAction(action)

    def show_page(self, key: str) -> QWidget:
        """Bring page ``key`` to the front and return its widget."""
        index = self._page_keys.index(key)
        self.pages.setCurrentIndex(index)
        widget = self.pages.widget(index)
        assert widget is not None
        return widget

    def open_wall(self) -> QWidget:
        """Open (or raise) the wall display window and return it."""
        from commandcenter.ui.wall import WallWindow

        if self._wall is None:
            wall = self._wall_factory() if self._wall_factory is not None else \
                WallWindow(self._site, self._log, self._clock, lang=self._lang)
            wall.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
            wall.destroyed.connect(self._wall_closed)
            self._wall = wall
            screens = self.screen().virtualSiblings()
            others = [s for s in screens if s is not self.screen()]
            if others:
                wall.show_on(others[0])
            else:
                wall.resize(1600, 900)
                wall.show()
        elif QGuiApplication.platformName() != "offscreen":  # offscreen cannot stack windows
            self._wall.raise_()
            self._wall.activateWindow()
        return self._wall

    def _wall_closed(self) -> None:
        self._wall = None

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop following the log and close the wall window with the console."""
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Unsubscribe from the log, stop the clock and close the wall (idempotent)."""
        self._timer.stop()
        self._bridge.detach()
        if self._following_language:
            self._following_language = False
            i18n.language().changed.disconnect(self.retranslate)
        if self._wall is not None:
            self._wall.close()
