"""The alarm list page of the console: banner, alarm load, the alarm table, the site overview.

Everything shown is read from the alarm service's board; every operator action (acknowledge,
shelve, unshelve, comment, reset) goes to the service's async methods under the operator's name
and shows up here when the service has recorded it and the board has changed. An action the
alarm engine refuses (e.g. acknowledging an alarm someone else just acknowledged) is reported
in the page's message line, never lost silently.

Keyboard: F4 acknowledge, F5 confirm a pre-alarm on site, F6 shelve, Shift+F6 unshelve,
F7 comment, F8 reset, F9 activate the suggested plan, F3 take the gauge out of service (or back),
Ctrl+K alarm load, Ctrl+P print, Ctrl+Shift+F filter; Enter on a banner line acknowledges it.
A right click on a gauge of the site overview offers its out-of-service actions.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QKeySequence,
    QMouseEvent,
    QPageLayout,
    QTextDocument,
)
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QRadioButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from commandcenter.core.alarm_kpi import AlarmLoad, LoadSettings, alarm_load
from commandcenter.core.alarms import (
    ACTIVE_STATES,
    EVENT_TYPES,
    Alarm,
    AlarmBoard,
    AlarmKind,
    AlarmState,
    Priority,
)
from commandcenter.core.clock import Clock
from commandcenter.core.events import RecordedEvent
from commandcenter.services.protocols import AlarmDesk
from commandcenter.ui import i18n
from commandcenter.ui.alarms.audible import AlarmHorn, horn_for
from commandcenter.ui.alarms.banner import AlarmBanner
from commandcenter.ui.alarms.models import (
    ALARM_ID_ROLE,
    PRIORITY_COLOURS,
    AlarmFilterProxy,
    AlarmTableModel,
    age_text,
    alarm_label,
    gauge_name,
    local_time,
    operator_name,
    priority_name,
    state_name,
)
from commandcenter.ui.alarms.overview import SiteOverview
from commandcenter.ui.i18n import tr
from commandcenter.ui.models import EventBridge, EventSource, site_timezone
from commandcenter.ui.theme import DESK

_LOGGER = logging.getLogger(__name__)

KPI_WINDOW: Final = timedelta(hours=1)
"""The alarm-load figures cover the last hour."""
KPI_TAIL: Final = 5000
"""Log events read at start for the figures (alarm events of the last hour are far fewer)."""
KPI_PERIODS: Final = (1, 24, 168)
"""Hours the alarm-load dialog offers (1 h, 24 h, 7 d)."""
KPI_DIALOG_EVENTS: Final = 50_000
"""Most alarm events the alarm-load dialog reads from the log."""
FLASH_MS: Final = 500
COLUMN_SHARES: Final = (0.37, 0.29)
"""Shares of the free width for the gauge and alarm columns (the note takes the rest)."""
MIN_NAME_COLUMN: Final = 140


# ---------------------------------------------------------------------- dialogs


def _ok_cancel(dialog: QDialog, lang: str) -> tuple[QDialogButtonBox, QPushButton]:
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                               | QDialogButtonBox.StandardButton.Cancel, dialog)
    ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
    ok.setText(tr("alarms.dialog.ok", lang))
    buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(
        tr("alarms.dialog.cancel", lang))
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons, ok


class ShelveDialog(QDialog):
    """Asks how long to shelve and why; the reason is required and the operator is shown.

    Attributes:
        timed: "For a time" choice; :attr:`minutes` holds the time.
        once: One-shot choice (until the alarm returns to normal).
        reason: The reason (OK stays disabled until it is filled in).
    """

    def __init__(self, alarm: Alarm, who: str, max_minutes: float = 480.0, *,
                 lang: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lang = lang or i18n.current()
        self.setWindowTitle(tr("alarms.shelve.title", lang))
        self.setMinimumSize(520, 300)
        head = QLabel(f"<b>{html.escape(alarm.id)}</b>", self)
        self.timed = QRadioButton(tr("alarms.shelve.timed", lang), self)
        self.minutes = QDoubleSpinBox(self)
        self.minutes.setDecimals(0)
        self.minutes.setRange(1, max_minutes)
        self.minutes.setValue(min(60.0, max_minutes))
        self.minutes.setSuffix(" min")
        self.minutes.setToolTip(tr("alarms.shelve.max", lang, minutes=f"{max_minutes:g}"))
        self.once = QRadioButton(tr("alarms.shelve.once", lang), self)
        self.once.setEnabled(alarm.active)
        self.timed.setChecked(True)
        self.timed.toggled.connect(self.minutes.setEnabled)
        self.reason = QLineEdit(self)
        self.reason.setObjectName("shelveReason")
        self.reason.setPlaceholderText(tr("alarms.shelve.reason", lang))
        self.who = QLabel(tr("alarms.shelve.by", lang, who=who), self)
        self.problem = QLabel(tr("alarms.shelve.need_reason", lang), self)
        self.problem.setStyleSheet("color: #B71C1C;")
        self.buttons, self.ok_button = _ok_cancel(self, lang)
        self.reason.textChanged.connect(self._validate)
        row = QHBoxLayout()
        row.addWidget(self.timed)
        row.addWidget(self.minutes)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addLayout(row)
        layout.addWidget(self.once)
        layout.addWidget(QLabel(tr("alarms.shelve.reason", lang), self))
        layout.addWidget(self.reason)
        layout.addWidget(self.problem)
        layout.addWidget(self.who)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self._validate()

    def _validate(self) -> None:
        ok = bool(self.reason.text().strip())
        self.ok_button.setEnabled(ok)
        self.problem.setVisible(not ok)

    def accept(self) -> None:
        """Close only with a reason."""
        if self.reason.text().strip():
            super().accept()

    def values(self) -> tuple[float | None, str]:
        """Return (minutes, or ``None`` for one-shot; the reason)."""
        minutes = None if self.once.isChecked() else float(self.minutes.value())
        return minutes, self.reason.text().strip()


class CommentDialog(QDialog):
    """Asks for an operator comment (OK stays disabled while it is empty)."""

    def __init__(self, alarm: Alarm, who: str, *, lang: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lang = lang or i18n.current()
        self.setWindowTitle(tr("alarms.comment.title", lang))
        self.setMinimumSize(520, 180)
        self.text = QLineEdit(self)
        self.text.setPlaceholderText(tr("alarms.comment.text", lang))
        buttons, self.ok_button = _ok_cancel(self, lang)
        self.text.textChanged.connect(lambda s: self.ok_button.setEnabled(bool(s.strip())))
        self.ok_button.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>{html.escape(alarm.id)}</b> — "
                                f"{html.escape(tr('alarms.act.operator', lang, who=who))}",
                                self))
        layout.addWidget(self.text)
        layout.addStretch(1)
        layout.addWidget(buttons)


class ConfirmDialog(QDialog):
    """Asks whether the post found a pre-alarm real on site, and what it found (optional).

    Shows the plans the alarm will offer once it is formal, and who confirms.

    Attributes:
        note: What the post found.
        plans_label: The plans it will offer.
    """

    def __init__(self, alarm: Alarm, who: str, plans: Sequence[str], plan_titles: dict[str, str],
                 *, lang: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lang = lang or i18n.current()
        self.setWindowTitle(tr("alarms.confirm.title", lang))
        self.setMinimumSize(560, 260)
        head = QLabel(f"<b>{html.escape(alarm.id)}</b> — {html.escape(alarm_label(alarm, lang))}",
                      self)
        intro = QLabel(tr("alarms.confirm.intro", lang), self)
        intro.setWordWrap(True)
        self.note = QLineEdit(self)
        self.note.setObjectName("confirmNote")
        self.note.setPlaceholderText(tr("alarms.confirm.note", lang))
        listed = ", ".join(plan_titles.get(p, p) for p in plans)
        self.plans_label = QLabel(tr("alarms.confirm.plans", lang, plans=listed) if plans
                                  else tr("alarms.confirm.no_plans", lang), self)
        self.plans_label.setWordWrap(True)
        self.who = QLabel(tr("alarms.confirm.by", lang, who=who), self)
        buttons, self.ok_button = _ok_cancel(self, lang)
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(intro)
        layout.addWidget(QLabel(tr("alarms.confirm.note", lang), self))
        layout.addWidget(self.note)
        layout.addWidget(self.plans_label)
        layout.addWidget(self.who)
        layout.addStretch(1)
        layout.addWidget(buttons)

    def values(self) -> str:
        """Return the note (may be empty)."""
        return self.note.text().strip()


class OutOfServiceDialog(QDialog):
    """Asks why a gauge is taken out of service; the reason is required.

    Attributes:
        reason: The reason (OK stays disabled until it is filled in).
    """

    def __init__(self, gauge_id: str, name: str, who: str, *, lang: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lang = lang or i18n.current()
        self.setWindowTitle(tr("alarms.oos.title", lang))
        self.setMinimumSize(560, 220)
        head = QLabel(f"<b>{html.escape(gauge_id)}</b>  {html.escape(name)}", self)
        intro = QLabel(tr("alarms.oos.intro", lang), self)
        intro.setWordWrap(True)
        self.reason = QLineEdit(self)
        self.reason.setObjectName("oosReason")
        self.reason.setPlaceholderText(tr("alarms.oos.reason", lang))
        self.who = QLabel(tr("alarms.oos.by", lang, who=who), self)
        buttons, self.ok_button = _ok_cancel(self, lang)
        self.reason.textChanged.connect(lambda t: self.ok_button.setEnabled(bool(t.strip())))
        self.ok_button.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(intro)
        layout.addWidget(self.reason)
        layout.addWidget(self.who)
        layout.addStretch(1)
        layout.addWidget(buttons)

    def accept(self) -> None:
        """Close only with a reason."""
        if self.reason.text().strip():
            super().accept()

    def values(self) -> str:
        """Return the reason."""
        return self.reason.text().strip()


# ---------------------------------------------------------------------- alarm load strip


class AlarmEventWindow:
    """The alarm events of the recent past, for the alarm-load figures.

    Reads the log's tail once, then follows new events through an :class:`EventBridge`
    (the log calls back on its writer thread; the bridge delivers on the GUI thread).
    """

    def __init__(self, source: EventSource, clock: Clock, drill_id: str | None,
                 window: timedelta = KPI_WINDOW, parent: QWidget | None = None) -> None:
        self._clock = clock
        self._drill = drill_id
        self._window = window
        self._events: deque[RecordedEvent] = deque()
        self.dirty = True
        self.bridge = EventBridge(parent)
        self.bridge.recorded.connect(self.add, Qt.ConnectionType.QueuedConnection)
        self.bridge.attach(source)
        self._last_seq = 0
        for ev in source.tail(KPI_TAIL):
            self.add(ev)

    def add(self, event: RecordedEvent) -> None:
        """Keep ``event`` if it is an alarm event of this board not seen yet."""
        if event.seq <= self._last_seq:
            return
        self._last_seq = event.seq
        if event.type.startswith("alarm.") and event.drill_id == self._drill:
            self._events.append(event)
            self.dirty = True

    def events(self) -> list[RecordedEvent]:
        """Return the events of the window (older ones are dropped)."""
        cutoff = self._clock.now() - self._window - timedelta(minutes=10)
        while self._events and self._events[0].ts < cutoff:
            self._events.popleft()
        return list(self._events)

    def detach(self) -> None:
        """Stop following the log."""
        self.bridge.detach()


class KpiStrip(QFrame):
    """Alarm load at a glance (EEMUA 191 / ISA-18.2) over the last hour.

    A click on the strip (or its button) opens the full figures (:class:`AlarmLoadDialog`).

    Attributes:
        labels: The figure labels by key (``rate``, ``flood``, ``chatter``, ``stale``, ``bad``).
        figures: The figures last shown (for tests and tooltips).
        details: The button that asks for the full figures.

    Signals:
        clicked: The operator asked for the full figures.
    """

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setObjectName("kpiStrip")
        self.setStyleSheet(f"QFrame#kpiStrip {{ background: {DESK.panel}; "
                           f"border: 1px solid {DESK.border}; border-radius: 4px; }}"
                           "QFrame#kpiStrip QLabel { padding: 2px 10px; }")
        self.labels: dict[str, QLabel] = {}
        self.figures: dict[str, Any] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(0)
        self.window_label = QLabel(self)
        self.window_label.setStyleSheet(f"color: {DESK.muted};")
        layout.addWidget(self.window_label)
        for key in ("rate", "flood", "chatter", "stale", "bad"):
            label = QLabel(self)
            label.setObjectName(f"kpi_{key}")
            self.labels[key] = label
            layout.addWidget(label)
        layout.addStretch(1)
        self.details = QPushButton(self)
        self.details.setObjectName("kpiDetails")
        self.details.setFlat(True)
        self.details.setStyleSheet(f"color: {DESK.accent}; text-decoration: underline; "
                                   "border: none; padding: 2px 10px;")
        self.details.clicked.connect(self.clicked)
        layout.addWidget(self.details)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """A click anywhere on the strip asks for the full figures."""
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mouseReleaseEvent(event)

    def show_figures(self, *, avg: float, peak: int, flood: float, chatter: int, stale: int,
                     bad: tuple[str, int, float] | None, lang: str) -> None:
        """Show the figures; those past the standards' targets are shown in orange."""
        self.figures = {"avg": avg, "peak": peak, "flood": flood, "chatter": chatter,
                        "stale": stale, "bad": bad}
        warn = "color: #B45309; font-weight: bold;"
        ok = f"color: {DESK.text};"
        self.window_label.setText(tr("alarms.kpi.window", lang,
                                     minutes=int(KPI_WINDOW.total_seconds() // 60)))
        texts = {
            "rate": (tr("alarms.kpi.rate", lang, avg=f"{avg:.1f}", peak=peak), avg > 2 or
                     peak > 10),
            "flood": (tr("alarms.kpi.flood", lang, percent=f"{flood:.1f}"), flood > 1),
            "chatter": (tr("alarms.kpi.chatter", lang, count=chatter), chatter > 0),
            "stale": (tr("alarms.kpi.stale", lang, count=stale), stale > 0),
            "bad": ((tr("alarms.kpi.bad_actor", lang, alarm=bad[0], count=bad[1],
                        share=f"{bad[2]:.0f}") if bad else tr("alarms.kpi.no_bad_actor", lang)),
                    False),
        }
        for key, (text, bad_figure) in texts.items():
            label = self.labels[key]
            label.setText(text)
            label.setStyleSheet(warn if bad_figure else ok)
            label.setToolTip(tr("alarms.kpi.tip", lang))
        self.details.setText(tr("alarms.kpi.more", lang))
        self.details.setToolTip(tr("alarms.act.kpi", lang))


def _cell(text: str, *, right: bool = False, tip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if tip:
        item.setToolTip(tip)
    return item


def _table(parent: QWidget, columns: Sequence[str], name: str,
           stretch: Sequence[int] = (0,)) -> QTableWidget:
    """Return a read-only table; ``stretch`` columns share the width, the others fit."""
    table = QTableWidget(0, len(columns), parent)
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.verticalHeader().setDefaultSectionSize(24)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    for col in stretch:
        header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return table


def _stale_alarms(board: AlarmBoard, now: datetime,
                  after: timedelta) -> list[tuple[Alarm, datetime]]:
    """Return the alarms active for ``after`` or longer with their start, oldest first."""
    return sorted(((a, a.active_since) for a in board.alarms().values()
                   if a.state in ACTIVE_STATES and a.active_since is not None
                   and now - a.active_since >= after),
                  key=lambda pair: (pair[1], pair[0].id))


class AlarmLoadDialog(QDialog):
    """The alarm load of EEMUA 191 over a chosen period, with its top-10 bad actors.

    Figures: alarms in the period, average and peak per 10 minutes, flood periods and the share of
    time in flood, chattering and stale alarms, the priority split against its targets, and the
    ten most frequent alarms with their share. The figures are computed from the log's alarm
    events when the dialog opens and whenever the period changes; stale alarms come from the
    board (active for 24 h or more now).

    Args:
        read_events: Returns the alarm events to count (oldest first) and whether the log held
            more than could be read.
        board: The alarm board (stale alarms, alarm labels).
        site: Gauge and link names, the time zone.
        clock: "Now".
        hours: The period shown first (one of :data:`KPI_PERIODS`).
        lang: UI language.

    Attributes:
        period: The period choice.
        figures: The figure labels by key.
        top: The top-10 table; ``floods``, ``chatter``, ``stale``: the other tables.
        load: The figures last computed.
    """

    def __init__(self, read_events: Callable[[], tuple[list[RecordedEvent], bool]],
                 board: AlarmBoard, site: Any, clock: Clock, *, hours: int = 1,
                 lang: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alarmLoadDialog")
        self._lang = lang = lang or i18n.current()
        self._read = read_events
        self._board = board
        self._site = site
        self._clock = clock
        self._tz = site_timezone(site)
        self.load: AlarmLoad | None = None
        self.setWindowTitle(tr("alarms.kpi.title", lang))
        self.resize(1180, 760)
        self.period = QComboBox(self)
        self.period.setObjectName("kpiPeriod")
        for h in KPI_PERIODS:
            self.period.addItem(tr(f"alarms.kpi.period.{h}", lang), h)
        self.period.setCurrentIndex(KPI_PERIODS.index(hours) if hours in KPI_PERIODS else 0)
        self.period.currentIndexChanged.connect(lambda _i: self.refresh())
        self.note = QLabel(self)
        self.note.setStyleSheet("color: #B45309;")
        top_row = QHBoxLayout()
        top_row.addWidget(QLabel(tr("alarms.kpi.period", lang), self))
        top_row.addWidget(self.period)
        top_row.addSpacing(16)
        top_row.addWidget(self.note, 1)

        box = QGroupBox(tr("alarms.kpi.title", lang), self)
        grid = QGridLayout(box)
        self.figures: dict[str, QLabel] = {}
        for i, key in enumerate(("total", "avg", "peak", "floods", "flood_time", "chattering",
                                 "stale_count", "priorities")):
            name = QLabel(tr(f"alarms.kpi.{key}", lang), box)
            name.setStyleSheet(f"color: {DESK.muted};")
            value = QLabel(box)
            value.setObjectName(f"kpiFigure_{key}")
            value.setStyleSheet("font-weight: bold;")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.figures[key] = value
            grid.addWidget(name, i, 0)
            grid.addWidget(value, i, 1)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(8, 1)

        self.top_title = QLabel(self)
        self.top_title.setStyleSheet("font-weight: bold;")
        self.top = _table(self, [tr(f"alarms.kpi.col.{k}", lang)
                                 for k in ("rank", "alarm", "gauge", "count", "share")],
                          "kpiTop", stretch=(1, 2))
        right = QVBoxLayout()
        right.addWidget(self.top_title)
        right.addWidget(self.top, 1)
        upper = QHBoxLayout()
        upper.addWidget(box, 2)
        upper.addLayout(right, 5)

        self.floods = _table(self, [tr(f"alarms.kpi.col.{k}", lang)
                                    for k in ("start", "end", "alarms", "peak")], "kpiFloods",
                             stretch=(0, 1))
        self.chatter = _table(self, [tr(f"alarms.kpi.col.{k}", lang)
                                     for k in ("alarm", "in_window", "count")], "kpiChatter")
        self.stale = _table(self, [tr(f"alarms.kpi.col.{k}", lang)
                                   for k in ("alarm", "since", "duration")], "kpiStale")
        lower = QHBoxLayout()
        self.table_titles: dict[str, QLabel] = {}
        for key, table in (("floods", self.floods), ("chatter", self.chatter),
                           ("stale", self.stale)):
            col = QVBoxLayout()
            title = QLabel(self)
            title.setStyleSheet("font-weight: bold;")
            self.table_titles[key] = title
            col.addWidget(title)
            col.addWidget(table, 1)
            lower.addLayout(col, 1)

        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.button(QDialogButtonBox.StandardButton.Close).setText(tr("alarms.kpi.close", lang))
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top_row)
        layout.addLayout(upper, 3)
        layout.addLayout(lower, 2)
        layout.addWidget(close)
        self.refresh()

    @property
    def hours(self) -> int:
        """The period shown, in hours."""
        return int(self.period.currentData())

    def _alarm_text(self, alarm_id: str, gauge: str) -> tuple[str, str]:
        """Return (alarm id and label, gauge or link name) for a table row."""
        a = self._board.alarm(alarm_id)
        label = alarm_label(a, self._lang) if a is not None else ""
        name = gauge_name(self._site, gauge, self._lang)
        return (f"{alarm_id}  {label}".strip(), f"{gauge}  {name}".strip())

    def refresh(self) -> None:
        """Recompute the figures for the chosen period from the log and the board."""
        lang = self._lang
        now = self._clock.now()
        start = now - timedelta(hours=self.hours)
        events, truncated = self._read()
        cut = truncated and bool(events) and events[0].ts > start
        self.note.setText(tr("alarms.kpi.truncated", lang, count=len(events)) if cut else "")
        settings = LoadSettings()
        load = alarm_load(events, start, now, settings,
                          drill_id=getattr(self._board, "drill_id", None))
        self.load = load
        stale = _stale_alarms(self._board, now, settings.stale_after)
        f = self.figures
        f["total"].setText(str(load.total))
        f["avg"].setText(f"{load.average_per_interval:.2f}")
        f["peak"].setText(str(load.peak_per_interval))
        f["floods"].setText(str(len(load.floods)))
        f["flood_time"].setText(f"{load.flood_percent:.1f} %")
        f["chattering"].setText(str(len(load.chattering)))
        f["stale_count"].setText(str(len(stale)))
        f["priorities"].setText("   ".join(
            f"{priority_name(Priority(p), lang)} {load.by_priority.get(p, 0)} "
            f"({load.priority_percent.get(p, 0.0):.0f} %)"
            for p in ("high", "medium", "low")))
        warn = "font-weight: bold; color: #B45309;"
        plain = "font-weight: bold;"
        for key, bad in (("avg", load.average_per_interval > 2),
                         ("peak", load.peak_per_interval > 10),
                         ("floods", bool(load.floods)), ("flood_time", load.flood_percent > 1),
                         ("chattering", bool(load.chattering)), ("stale_count", bool(stale))):
            f[key].setStyleSheet(warn if bad else plain)
        self.top_title.setText(tr("alarms.kpi.top", lang, share=f"{load.bad_actor_share:.0f}"))
        self.top.setRowCount(len(load.bad_actors))
        for r, b in enumerate(load.bad_actors):
            alarm, gauge = self._alarm_text(b.alarm, b.gauge)
            rank = _cell(str(r + 1), right=True)
            self.top.setItem(r, 0, rank)
            self.top.setItem(r, 1, _cell(alarm, tip=alarm))
            self.top.setItem(r, 2, _cell(gauge, tip=gauge))
            self.top.setItem(r, 3, _cell(str(b.count), right=True))
            self.top.setItem(r, 4, _cell(f"{b.share:.1f} %", right=True))
            a = self._board.alarm(b.alarm)
            if a is not None:
                fill, text = PRIORITY_COLOURS[a.priority]
                rank.setBackground(QColor(fill))
                rank.setForeground(QColor(text))
        fmt = "%m-%d %H:%M"
        self.floods.setRowCount(len(load.floods))
        for r, fl in enumerate(load.floods):
            end = tr("alarms.kpi.ongoing", lang) if fl.ongoing else \
                local_time(fl.end, self._tz, fmt)
            self.floods.setItem(r, 0, _cell(local_time(fl.start, self._tz, fmt)))
            self.floods.setItem(r, 1, _cell(end))
            self.floods.setItem(r, 2, _cell(str(fl.alarms), right=True))
            self.floods.setItem(r, 3, _cell(str(fl.peak), right=True))
        self.chatter.setRowCount(len(load.chattering))
        for r, c in enumerate(load.chattering):
            alarm, _gauge = self._alarm_text(c.alarm, c.gauge)
            self.chatter.setItem(r, 0, _cell(alarm, tip=alarm))
            self.chatter.setItem(r, 1, _cell(str(c.max_in_window), right=True))
            self.chatter.setItem(r, 2, _cell(str(c.activations), right=True))
        for key, n in (("floods", len(load.floods)), ("chatter", len(load.chattering)),
                       ("stale", len(stale))):
            self.table_titles[key].setText(f"{tr(f'alarms.kpi.tables.{key}', lang)}  ({n})")
        self.stale.setRowCount(len(stale))
        for r, (a, since) in enumerate(stale):
            alarm, _gauge = self._alarm_text(a.id, a.gauge)
            self.stale.setItem(r, 0, _cell(alarm, tip=alarm))
            self.stale.setItem(r, 1, _cell(local_time(since, self._tz, fmt)))
            self.stale.setItem(r, 2, _cell(age_text((now - since).total_seconds(), lang),
                                           right=True))


# ---------------------------------------------------------------------- the page


class AlarmListPage(QWidget):
    """The console's alarm page.

    Signals:
        plan_requested: (plan id, building id or "") — the operator asked to activate a formal
            alarm's suggested plan; the incident page answers with its activation dialog.

    Args:
        desk: The alarm service.
        events: The event log (alarm-load figures).
        clock: Site clock.
        lang: UI language.
        operator: Returns the operator's name for actions (default: :func:`operator_name`).
        muted: Horn muted (default: ``COMMANDCENTER_MUTE``).
        audible: Whether this page sounds the horn at all.

    Attributes:
        model: The alarm table model (standing alarms).
        proxy: Sorting and filtering over :attr:`model`.
        table: The alarm table.
        banner: The alarm banner.
        kpi: The alarm-load strip.
        overview: The site overview.
        horn: The audible alarm (``None`` when not audible).
        message: The line that reports action results.
    """

    plan_requested = Signal(str, str)

    def __init__(self, desk: AlarmDesk, events: EventSource, clock: Clock, *,
                 lang: str | None = None, operator: Callable[[], str] | None = None,
                 muted: bool | None = None, audible: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alarmListPage")
        self.desk = desk
        self.plan_menu: QMenu | None = None
        self._clock = clock
        self._site = desk.site
        self._tz = site_timezone(desk.site)
        self._lang = lang or i18n.current()
        self._operator = operator or operator_name
        self._tasks: set[asyncio.Future[Any]] = set()
        board = desk.board

        self.banner = AlarmBanner(board, desk.site, acknowledge=self.acknowledge,
                                  lines=3, status=desk.gauge_status, lang=self._lang,
                                  parent=self)
        self.kpi = KpiStrip(self)
        self.kpi.clicked.connect(self.show_alarm_load)
        self.load_dialog: AlarmLoadDialog | None = None
        self.operator_label = QLabel(self)
        self.operator_label.setObjectName("alarmOperator")
        self.silence_button = QPushButton(self)
        self.silence_button.setObjectName("alarmSilence")
        self.horn: AlarmHorn | None = None
        if audible:
            self.horn = horn_for(board, muted=muted, parent=self)
            self.silence_button.clicked.connect(self.horn.silence)
            self.horn.sounding_changed.connect(lambda _on: self._update_silence())
        else:
            self.silence_button.hide()
        kpi_row = QHBoxLayout()
        kpi_row.addWidget(self.kpi, 1)
        kpi_row.addWidget(self.operator_label)
        kpi_row.addWidget(self.silence_button)

        # --- filter bar
        self.model = AlarmTableModel(board, desk.site, self._lang, status=desk.gauge_status,
                                     clock=clock, parent=self)
        self.proxy = AlarmFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.filter_text = QLineEdit(self)
        self.filter_text.setObjectName("alarmFilter")
        self.filter_text.setClearButtonEnabled(True)
        self.filter_text.textChanged.connect(self.proxy.set_text)
        self.filter_priority = QComboBox(self)
        self.filter_priority.setObjectName("alarmFilterPriority")
        self.filter_state = QComboBox(self)
        self.filter_state.setObjectName("alarmFilterState")
        self.filter_unacked = QCheckBox(self)
        self.filter_unacked.setObjectName("alarmFilterUnacked")
        self.filter_unacked.toggled.connect(self.proxy.set_unacknowledged_only)
        self.count_label = QLabel(self)
        self.count_label.setStyleSheet(f"color: {DESK.muted};")
        filters = QHBoxLayout()
        filters.addWidget(self.filter_text, 3)
        filters.addWidget(self.filter_priority)
        filters.addWidget(self.filter_state)
        filters.addWidget(self.filter_unacked)
        filters.addStretch(1)
        filters.addWidget(self.count_label)

        # --- actions
        self.buttons: dict[str, QPushButton] = {}
        actions = QHBoxLayout()
        for key, slot, shortcut in (
            ("ack", self.acknowledge_selected, "F4"),
            ("confirm", self.confirm_selected, "F5"),
            ("shelve", self.shelve_selected, "F6"),
            ("unshelve", self.unshelve_selected, "Shift+F6"),
            ("comment", self.comment_selected, "F7"),
            ("reset", self.reset_selected, "F8"),
            ("plan", self.activate_plan_selected, "F9"),
            ("oos", self.service_selected, "F3"),
            ("kpi", self.show_alarm_load, "Ctrl+K"),
            ("print", self.print_dialog, "Ctrl+P"),
        ):
            button = QPushButton(self)
            button.setObjectName(f"alarmAct_{key}")
            button.clicked.connect(lambda _c=False, s=slot: s())
            self.buttons[key] = button
            actions.addWidget(button)
            action = QAction(self)
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _c=False, s=slot: s())
            self.addAction(action)
        focus_filter = QAction(self)
        focus_filter.setShortcut(QKeySequence("Ctrl+Shift+F"))
        focus_filter.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        focus_filter.triggered.connect(self._focus_filter)
        self.addAction(focus_filter)
        actions.addStretch(1)
        self.message = QLabel(self)
        self.message.setObjectName("alarmMessage")
        actions.addWidget(self.message)

        # --- table and overview
        self.table = QTableView(self)
        self.table.setObjectName("alarmTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(AlarmTableModel.COL_TIME, Qt.SortOrder.DescendingOrder)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(24)
        # Short columns fit their text; gauge, alarm and note share the rest of the width
        # (see _fit_columns; the operator may still drag them), longer text is elided and every
        # cell's tooltip has the whole alarm. At 1920 px nothing needs a horizontal scrollbar.
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for col in (AlarmTableModel.COL_GAUGE, AlarmTableModel.COL_ALARM):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(AlarmTableModel.COL_NOTE, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        self.table.viewport().installEventFilter(self)
        self.table.selectionModel().currentRowChanged.connect(
            lambda *_: self._update_buttons())
        for sig in (self.proxy.rowsInserted, self.proxy.rowsRemoved, self.proxy.modelReset,
                    self.proxy.layoutChanged, self.proxy.dataChanged):
            sig.connect(lambda *_: self._update_buttons())
        self.overview = SiteOverview(board, desk.site, desk.gauge_status, clock, columns=3,
                                     lang=self._lang, parent=self)
        self.overview.gauge_menu.connect(self.gauge_menu)
        self.gauge_actions: QMenu | None = None
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setObjectName("alarmSplitter")
        splitter.addWidget(self.table)
        splitter.addWidget(self.overview)
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([1340, 540])
        splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(6)
        layout.addWidget(self.banner)
        layout.addLayout(kpi_row)
        layout.addLayout(filters)
        layout.addLayout(actions)
        layout.addWidget(splitter, 1)

        # --- live figures and timers
        self._source = events
        self._events = AlarmEventWindow(events, clock, getattr(board, "drill_id", None),
                                        parent=self)
        self._kpi_age = 0
        self._flash = QTimer(self)
        self._flash.setInterval(FLASH_MS)
        self._flash.timeout.connect(lambda: self.model.set_flash(not self.model.flash))
        self._flash.start()
        self._second = QTimer(self)
        self._second.setInterval(1000)
        self._second.timeout.connect(self._each_second)
        self._second.start()
        self.filter_priority.currentIndexChanged.connect(self._apply_combo_filters)
        self.filter_state.currentIndexChanged.connect(self._apply_combo_filters)
        i18n.language().changed.connect(self.set_language)
        self._following_language = True
        self.set_language(self._lang)
        self.refresh_kpi()

    # ------------------------------------------------------------------ language and state

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Share the table's width out again whenever it changes."""
        if event.type() == QEvent.Type.Resize and watched is self.table.viewport():
            self._fit_columns()
        return False

    def _fit_columns(self) -> None:
        """Give gauge, alarm and note their share of what the short columns leave."""
        header = self.table.horizontalHeader()
        shares = {AlarmTableModel.COL_GAUGE: COLUMN_SHARES[0],
                  AlarmTableModel.COL_ALARM: COLUMN_SHARES[1]}
        fixed = sum(header.sectionSize(c) for c in range(self.proxy.columnCount())
                    if c not in shares and c != AlarmTableModel.COL_NOTE)
        rest = max(0, self.table.viewport().width() - fixed)
        for col, share in shares.items():
            header.resizeSection(col, max(MIN_NAME_COLUMN, int(rest * share)))

    def set_language(self, lang: str) -> None:
        """Show everything in ``lang``."""
        self._lang = lang
        self.model.set_language(lang)
        self.banner.set_language(lang)
        self.overview.set_language(lang)
        self.filter_text.setPlaceholderText(tr("alarms.filter.text", lang))
        self.filter_unacked.setText(tr("alarms.filter.unacked", lang))
        keep_p = self.filter_priority.currentIndex()
        self.filter_priority.blockSignals(True)
        self.filter_priority.clear()
        self.filter_priority.addItem(tr("alarms.filter.any_priority", lang), None)
        for p in (Priority.HIGH, Priority.MEDIUM, Priority.LOW):
            self.filter_priority.addItem(priority_name(p, lang), p.value)
        self.filter_priority.setCurrentIndex(max(keep_p, 0))
        self.filter_priority.blockSignals(False)
        keep_s = self.filter_state.currentIndex()
        self.filter_state.blockSignals(True)
        self.filter_state.clear()
        self.filter_state.addItem(tr("alarms.filter.any_state", lang), None)
        for s in AlarmState:
            if s != AlarmState.NORMAL:
                self.filter_state.addItem(state_name(s, lang), s.value)
        self.filter_state.setCurrentIndex(max(keep_s, 0))
        self.filter_state.blockSignals(False)
        for key, button in self.buttons.items():
            button.setText(tr(f"alarms.act.{key}", lang))
        self.buttons["confirm"].setToolTip(tr("alarms.act.confirm.tip", lang))
        self.buttons["oos"].setToolTip(tr("alarms.act.oos.tip", lang))
        self.operator_label.setText(tr("alarms.act.operator", lang, who=self._operator()))
        self._fit_columns()
        self._update_silence()
        self._update_buttons()
        self.refresh_kpi()

    def _focus_filter(self) -> None:
        self.filter_text.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_text.selectAll()

    def _apply_combo_filters(self, *_args: object) -> None:
        p = self.filter_priority.currentData()
        s = self.filter_state.currentData()
        self.proxy.set_priorities([Priority(p)] if p else None)
        self.proxy.set_states([AlarmState(s)] if s else None)
        self._update_buttons()

    def _update_silence(self) -> None:
        horn = self.horn
        if horn is None:
            return
        self.silence_button.setText(tr("alarms.act.silence", self._lang))
        self.silence_button.setEnabled(horn.sounding)

    def _update_buttons(self) -> None:
        a = self.selected_alarm()
        self.buttons["ack"].setEnabled(a is not None and not a.acknowledged and not a.hidden)
        self.buttons["confirm"].setEnabled(
            a is not None and a.spec.level is not None and not a.spec.formal and a.active
            and not a.hidden and a.confirmation is None)
        gauge_alarm = a is not None and a.spec.kind != AlarmKind.LINK
        self.buttons["oos"].setEnabled(gauge_alarm)
        out = gauge_alarm and a is not None and self.desk.gauge_out_of_service(a.gauge)
        self.buttons["oos"].setText(tr("alarms.act.return" if out else "alarms.act.oos",
                                       self._lang))
        self.buttons["shelve"].setEnabled(a is not None and not a.hidden)
        self.buttons["unshelve"].setEnabled(a is not None and a.shelving is not None)
        self.buttons["comment"].setEnabled(a is not None)
        self.buttons["reset"].setEnabled(a is not None and a.state == AlarmState.LATCHED)
        self.buttons["plan"].setEnabled(a is not None and bool(self._suggested_plans(a)))
        self.count_label.setText(tr("alarms.filter.count", self._lang,
                                    shown=self.proxy.rowCount(),
                                    total=self.model.rowCount()))

    def _each_second(self) -> None:
        self.model.refresh_values()
        self._kpi_age += 1
        if self._events.dirty or self._kpi_age >= 10:
            self.refresh_kpi()

    def refresh_kpi(self) -> None:
        """Recompute the alarm-load figures for the last hour."""
        self._kpi_age = 0
        self._events.dirty = False
        now = self._clock.now()
        settings = LoadSettings()
        load = alarm_load(self._events.events(), now - KPI_WINDOW, now, settings,
                          drill_id=getattr(self.desk.board, "drill_id", None))
        stale = len(_stale_alarms(self.desk.board, now, settings.stale_after))
        # one alarm is not a "bad actor": the strip names the top one only when it repeats
        # (the alarm-load dialog lists the whole top 10)
        bad = load.bad_actors[0] if load.bad_actors and load.bad_actors[0].count > 1 else None
        self.kpi.show_figures(avg=load.average_per_interval, peak=load.peak_per_interval,
                              flood=load.flood_percent, chatter=len(load.chattering),
                              stale=stale,
                              bad=(bad.alarm, bad.count, bad.share) if bad else None,
                              lang=self._lang)

    def _alarm_events(self) -> tuple[list[RecordedEvent], bool]:
        """Return the newest alarm events of the log, and whether there were more."""
        events = self._source.tail(KPI_DIALOG_EVENTS, types=sorted(EVENT_TYPES))
        return events, len(events) >= KPI_DIALOG_EVENTS

    def show_alarm_load(self, hours: int = 1) -> AlarmLoadDialog:
        """Open the alarm-load figures (Ctrl+K, or a click on the strip); returns the dialog."""
        if self.load_dialog is not None:
            self.load_dialog.close()
            self.load_dialog.deleteLater()
        dialog = AlarmLoadDialog(self._alarm_events, self.desk.board, self._site, self._clock,
                                 hours=hours, lang=self._lang, parent=self)
        self.load_dialog = dialog
        dialog.show()
        return dialog

    # ------------------------------------------------------------------ selection

    def _suggested_plans(self, alarm: Alarm) -> list[str]:
        return [p for p in alarm.plans if p in self._site.plans]

    def activate_plan_selected(self, plan_id: str | None = None) -> str | None:
        """Ask for the activation of the selected alarm's suggested plan (F9).

        The request names the plan and the gauge's building; the console's incident page opens
        its activation dialog with both filled in (one confirmation still follows). With several
        suggested plans and none given, a menu offers them, lowest level first.

        Returns:
            The plan asked for, or ``None`` (nothing selected, no plan suggested, or a menu
            is open for the operator to choose).
        """
        alarm = self.selected_alarm()
        if alarm is None:
            self.message.setText(tr("alarms.act.none_selected", self._lang))
            return None
        plans = self._suggested_plans(alarm)
        if not plans:
            self.message.setText(tr("alarms.act.plan.none", self._lang))
            return None
        gauge = self._site.gauges.get(alarm.gauge)
        building = gauge.building if gauge is not None and gauge.building else ""
        if plan_id is None and len(plans) > 1:
            ranked = sorted(plans, key=lambda p: (self._site.plans[p].level.rank, p))
            menu = QMenu(self)
            for pid in ranked:
                plan = self._site.plans[pid]
                action = menu.addAction(f"{plan.level.value} · {plan.title.get(self._lang)}")
                action.triggered.connect(
                    lambda _c=False, pid=pid: self.plan_requested.emit(pid, building))
            button = self.buttons["plan"]
            menu.popup(button.mapToGlobal(button.rect().bottomLeft()))
            self.plan_menu = menu
            return None
        chosen = plan_id if plan_id is not None else plans[0]
        if chosen not in plans:
            raise ValueError(f"plan {chosen!r} is not suggested by alarm {alarm.id}")
        self.plan_requested.emit(chosen, building)
        return chosen

    def selected_alarm(self) -> Alarm | None:
        """Return the alarm of the table's current row, as the board has it now."""
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        aid = index.data(ALARM_ID_ROLE)
        return self.desk.board.alarm(str(aid)) if aid else None

    def select(self, alarm_id: str) -> bool:
        """Make ``alarm_id`` the current row (clears filters hiding it); return success."""
        row = self.model.row_of(alarm_id)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            self.filter_text.clear()
            self.filter_priority.setCurrentIndex(0)
            self.filter_state.setCurrentIndex(0)
            self.filter_unacked.setChecked(False)
            index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self._update_buttons()
        return True

    # ------------------------------------------------------------------ actions

    def _run(self, what: str, alarm: str,
             coro: Coroutine[Any, Any, None]) -> asyncio.Future[Any] | None:
        """Send an action to the alarm service on the running loop; report how it ended."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            coro.close()
            _LOGGER.error("%s %s not sent: no asyncio loop is running in the GUI", what, alarm)
            self.message.setText(tr("alarms.act.failed", self._lang,
                                    error="no event loop"))
            return None
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._report(what, alarm, t))
        return task

    def _report(self, what: str, alarm: str, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        label = tr(f"alarms.act.{what}", self._lang).split(" (")[0].rstrip("…")
        if task.cancelled():
            return
        err = task.exception()
        try:
            if err is None:
                self.message.setStyleSheet(f"color: {DESK.muted};")
                if what == "confirm":
                    self.message.setText(tr("alarms.act.confirmed", self._lang, alarm=alarm))
                elif what in ("oos", "return"):
                    self.message.setText(tr(f"alarms.act.{what}.done", self._lang,
                                            gauge=alarm))
                else:
                    self.message.setText(tr("alarms.act.done", self._lang, action=label,
                                            alarm=alarm))
            else:
                _LOGGER.warning("%s %s not done: %s", what, alarm, err)
                self.message.setStyleSheet("color: #B71C1C; font-weight: bold;")
                self.message.setText(tr("alarms.act.failed", self._lang, error=err))
            self._update_buttons()
        except RuntimeError:  # the page was closed while the action ran
            pass

    def acknowledge(self, alarm_ids: Sequence[str]) -> list[asyncio.Future[Any]]:
        """Acknowledge these alarms under the operator's name."""
        who = self._operator()
        tasks = [self._run("ack", aid, self.desk.acknowledge(aid, who)) for aid in alarm_ids]
        return [t for t in tasks if t is not None]

    def _need_selection(self) -> Alarm | None:
        a = self.selected_alarm()
        if a is None:
            self.message.setStyleSheet(f"color: {DESK.muted};")
            self.message.setText(tr("alarms.act.none_selected", self._lang))
        return a

    def acknowledge_selected(self) -> asyncio.Future[Any] | None:
        """Acknowledge the selected alarm (F4)."""
        a = self._need_selection()
        if a is None:
            return None
        return self._run("ack", a.id, self.desk.acknowledge(a.id, self._operator()))

    def shelve(self, alarm_id: str, minutes: float | None,
               reason: str) -> asyncio.Future[Any] | None:
        """Shelve ``alarm_id`` for ``minutes`` (``None``: one-shot) with ``reason``."""
        return self._run("shelve", alarm_id,
                         self.desk.shelve(alarm_id, self._operator(), reason, minutes))

    def shelve_selected(self) -> asyncio.Future[Any] | None:
        """Ask how long and why, then shelve the selected alarm (F6)."""
        a = self._need_selection()
        if a is None:
            return None
        engine = getattr(self.desk, "engine", None)
        max_min = engine.settings.max_shelve_min if engine is not None else 480.0
        dialog = ShelveDialog(a, self._operator(), max_min, lang=self._lang, parent=self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        minutes, reason = dialog.values()
        return self.shelve(a.id, minutes, reason)

    def unshelve_selected(self) -> asyncio.Future[Any] | None:
        """Unshelve the selected alarm (Shift+F6)."""
        a = self._need_selection()
        if a is None:
            return None
        return self._run("unshelve", a.id, self.desk.unshelve(a.id, self._operator()))

    def comment(self, alarm_id: str, text: str) -> asyncio.Future[Any] | None:
        """Attach ``text`` to ``alarm_id``."""
        return self._run("comment", alarm_id,
                         self.desk.comment(alarm_id, self._operator(), text))

    def comment_selected(self) -> asyncio.Future[Any] | None:
        """Ask for a comment on the selected alarm (F7)."""
        a = self._need_selection()
        if a is None:
            return None
        dialog = CommentDialog(a, self._operator(), lang=self._lang, parent=self)
        if dialog.exec() != QDialog.DialogCode.Accepted or not dialog.text.text().strip():
            return None
        return self.comment(a.id, dialog.text.text().strip())

    def reset_selected(self) -> asyncio.Future[Any] | None:
        """Reset the selected latched alarm (F8)."""
        a = self._need_selection()
        if a is None:
            return None
        return self._run("reset", a.id, self.desk.reset(a.id, self._operator()))

    def confirm(self, alarm_id: str, note: str = "") -> asyncio.Future[Any] | None:
        """Record that the post confirmed the pre-alarm ``alarm_id`` on site."""
        return self._run("confirm", alarm_id,
                         self.desk.confirm(alarm_id, self._operator(), note))

    def confirm_selected(self) -> asyncio.Future[Any] | None:
        """Ask whether the post found the selected pre-alarm real, then confirm it (F5)."""
        a = self._need_selection()
        if a is None:
            return None
        engine = getattr(self.desk, "engine", None)
        plans = [p for p in (engine.plans_if_confirmed(a.id) if engine is not None else ())
                 if p in self._site.plans]
        titles = {p: f"{self._site.plans[p].level.value} "
                     f"{self._site.plans[p].title.get(self._lang)}" for p in plans}
        dialog = ConfirmDialog(a, self._operator(), plans, titles, lang=self._lang,
                               parent=self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return self.confirm(a.id, dialog.values())

    def take_out_of_service(self, gauge_id: str, reason: str) -> asyncio.Future[Any] | None:
        """Take every alarm of ``gauge_id`` out of service, with ``reason``."""
        return self._run("oos", gauge_id, self.desk.remove_gauge_from_service(
            gauge_id, self._operator(), reason))

    def return_to_service(self, gauge_id: str) -> asyncio.Future[Any] | None:
        """Return every alarm of ``gauge_id`` to service."""
        return self._run("return", gauge_id,
                         self.desk.return_gauge_to_service(gauge_id, self._operator()))

    def service_gauge(self, gauge_id: str) -> asyncio.Future[Any] | None:
        """Return ``gauge_id`` to service if it is out, else ask why and take it out."""
        if self.desk.gauge_out_of_service(gauge_id):
            return self.return_to_service(gauge_id)
        name = gauge_name(self._site, gauge_id, self._lang)
        dialog = OutOfServiceDialog(gauge_id, name, self._operator(), lang=self._lang,
                                    parent=self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return self.take_out_of_service(gauge_id, dialog.values())

    def service_selected(self) -> asyncio.Future[Any] | None:
        """Take the selected alarm's gauge out of service, or back into it (F3)."""
        a = self._need_selection()
        if a is None:
            return None
        if a.spec.kind == AlarmKind.LINK:
            self.message.setText(tr("alarms.act.oos.link", self._lang))
            return None
        return self.service_gauge(a.gauge)

    def gauge_menu(self, gauge_id: str, pos: QPoint) -> QMenu:
        """Offer a gauge's out-of-service action at ``pos`` (a right click on its tile)."""
        menu = QMenu(self)
        out = self.desk.gauge_out_of_service(gauge_id)
        action = menu.addAction(tr("alarms.menu.return" if out else "alarms.menu.oos",
                                   self._lang))
        action.setObjectName("gaugeServiceAction")
        action.triggered.connect(lambda _c=False: self.service_gauge(gauge_id))
        menu.popup(pos)
        self.gauge_actions = menu
        return menu

    # ------------------------------------------------------------------ printing

    def print_html(self) -> str:
        """Return the shown rows (filter and sort as on screen) as an HTML document."""
        lang = self._lang
        cols = range(1, self.proxy.columnCount())
        horizontal = Qt.Orientation.Horizontal
        head = "".join(f"<th>{html.escape(str(self.proxy.headerData(c, horizontal)))}</th>"
                       for c in cols)
        rows = []
        for r in range(self.proxy.rowCount()):
            cells = []
            for c in cols:
                text = str(self.proxy.index(r, c).data() or "")
                cells.append(f"<td>{html.escape(text)}</td>")
            aid = self.proxy.index(r, 0).data(ALARM_ID_ROLE)
            a = self.desk.board.alarm(str(aid))
            weight = " style='font-weight:bold'" if a is not None and not a.acknowledged else ""
            rows.append(f"<tr{weight}>{''.join(cells)}</tr>")
        meta = tr("alarms.print.meta", lang, site=self._site.name.get(lang),
                  time=local_time(self._clock.now(), self._tz, "%Y-%m-%d %H:%M:%S"),
                  who=self._operator(), count=self.proxy.rowCount())
        return ("<html><body style='font-size:9pt'>"
                f"<h2>{html.escape(tr('alarms.print.title', lang))}</h2>"
                f"<p>{html.escape(meta)}</p>"
                "<table border='1' cellspacing='0' cellpadding='3' width='100%'>"
                f"<tr>{head}</tr>{''.join(rows)}</table></body></html>")

    def print_to(self, printer: QPrinter) -> None:
        """Print the shown rows on ``printer`` (a PDF printer in tests)."""
        doc = QTextDocument(self)
        doc.setDefaultFont(DESK.font(11))
        doc.setHtml(self.print_html())
        doc.print_(printer)

    def print_dialog(self) -> bool:
        """Ask where to print (Ctrl+P) and print; return whether it was printed."""
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setPageOrientation(QPageLayout.Orientation.Landscape)
        dialog = QPrintDialog(printer, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        self.print_to(printer)
        return True

    # ------------------------------------------------------------------ closing

    def shutdown(self) -> None:
        """Stop timers and stop following the board and the log (idempotent)."""
        if self.load_dialog is not None:
            self.load_dialog.close()
        self._flash.stop()
        self._second.stop()
        self._events.detach()
        self.overview.shutdown()
        self.model.detach()
        if self._following_language:
            self._following_language = False
            i18n.language().changed.disconnect(self.set_language)
        if self.horn is not None and self.horn.parent() is self:
            self.horn.stop()

    def current_index(self) -> QModelIndex:
        """Return the table's current index (in proxy coordinates)."""
        return self.table.currentIndex()
