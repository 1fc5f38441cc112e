"""The alarm banner: the most urgent unacknowledged alarms, one line each.

Lines are ordered most urgent first (priority, then newest); what does not fit is counted. The
operator selects a line and presses Enter (or double-clicks, or the button) to acknowledge it;
"Ack all visible" acknowledges exactly the lines on screen, never alarms the operator has not
seen. The banner reads the board on every change and keeps no alarm state of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from commandcenter.core.alarms import Alarm, AlarmBoard
from commandcenter.core.site import Site
from commandcenter.services.protocols import GaugeStatus
from commandcenter.ui import i18n
from commandcenter.ui.alarms.models import (
    PRIORITY_COLOURS,
    BoardObserver,
    alarm_label,
    alarm_time,
    gauge_name,
    live_status,
    local_time,
    priority_name,
    value_text,
)
from commandcenter.ui.i18n import tr
from commandcenter.ui.models import site_timezone
from commandcenter.ui.theme import DESK, Theme

ALARM_ID = Qt.ItemDataRole.UserRole + 30


class _LineDelegate(QStyledItemDelegate):
    """Paints a banner line: priority fill always, a thick outline when selected."""

    def __init__(self, accent: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._accent = QColor(accent)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        painter.save()
        rect = option.rect.adjusted(0, 1, 0, -1)
        fill = index.data(Qt.ItemDataRole.BackgroundRole)
        painter.fillRect(rect, fill if isinstance(fill, QBrush) else QBrush(QColor("#C62828")))
        fg = index.data(Qt.ItemDataRole.ForegroundRole)
        painter.setPen(fg.color() if isinstance(fg, QBrush) else QColor("#FFFFFF"))
        font = index.data(Qt.ItemDataRole.FontRole)
        if isinstance(font, QFont):
            painter.setFont(font)
        text_rect = rect.adjusted(12, 0, -12, 0)
        text = painter.fontMetrics().elidedText(str(index.data() or ""),
                                                Qt.TextElideMode.ElideRight, text_rect.width())
        painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignLeft
                                        | Qt.AlignmentFlag.AlignVCenter), text)
        if option.state & QStyle.StateFlag.State_Selected:
            pen = QPen(self._accent, 4)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect.adjusted(2, 2, -2, -2))
        painter.restore()


class AlarmBanner(QFrame):
    """The top lines of unacknowledged alarms with acknowledge buttons.

    Args:
        board: The alarm board.
        site: Gauge names and time zone.
        acknowledge: Called with the alarm ids to acknowledge (the page sends them to the
            alarm service under the operator's name); ``None`` makes a read-only banner (wall).
        lines: How many alarms to show; the rest are counted.
        status: Latest reading per gauge: lines show the live value when there is one.
        theme: Type sizes (desk or wall).
        lang: UI language.

    Attributes:
        list: One line per shown alarm (item data :data:`ALARM_ID`).
        more: "N more unacknowledged".
        empty: Shown when nothing waits for acknowledgement.
    """

    def __init__(self, board: AlarmBoard, site: Site, *,
                 acknowledge: Callable[[Sequence[str]], object] | None = None, lines: int = 3,
                 status: Callable[[str], GaugeStatus] | None = None,
                 theme: Theme = DESK, lang: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alarmBanner")
        self._board = board
        self._site = site
        self._tz = site_timezone(site)
        self._ack = acknowledge
        self._lines = lines
        self._status = status
        self._wall = theme.name == "wall"
        self._theme = theme
        self._lang = lang or i18n.current()
        self.list = QListWidget(self)
        self.list.setObjectName("bannerList")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setUniformItemSizes(True)
        px = theme.heading_px
        self.list.setFont(theme.font(px, bold=True))
        row_h = round(px * (1.6 if theme.name == "wall" else 1.75))
        self._row_h = row_h
        self.list.setFixedHeight(row_h * lines + 6)
        self.list.setStyleSheet("QListWidget#bannerList { border: none; "
                                "background: transparent; }")
        self.list.setItemDelegate(_LineDelegate("#102A43" if theme.name != "wall"
                                                else theme.accent, self.list))
        self.list.itemActivated.connect(self._activated)
        self.empty = QLabel(self)
        self.empty.setObjectName("bannerEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.empty.setStyleSheet(f"color: {theme.muted}; font-size: {theme.body_px}px;")
        self.more = QLabel(self)
        self.more.setObjectName("bannerMore")
        self.more.setStyleSheet(f"color: {theme.text}; font-size: {theme.small_px}px; "
                                "font-weight: bold;")
        self.ack_button = QPushButton(self)
        self.ack_button.setObjectName("bannerAck")
        self.ack_button.clicked.connect(self._ack_selected_clicked)
        self.ack_visible_button = QPushButton(self)
        self.ack_visible_button.setObjectName("bannerAckVisible")
        self.ack_visible_button.clicked.connect(self._ack_visible_clicked)
        side = QVBoxLayout()
        side.setSpacing(6)
        side.addWidget(self.ack_button)
        side.addWidget(self.ack_visible_button)
        body = QVBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(2)
        body.addWidget(self.list)
        body.addWidget(self.empty)
        if acknowledge is None:
            body.addWidget(self.more)
        else:
            side.addWidget(self.more)
        side.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(12)
        layout.addLayout(body, 1)
        layout.addLayout(side)
        if acknowledge is None:
            self.ack_button.hide()
            self.ack_visible_button.hide()
            self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.empty.setFixedHeight(row_h * lines + 6)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._observer = BoardObserver(board, self)
        self._observer.alarm_changed.connect(lambda _a: self.refresh())
        self.set_language(self._lang)

    # ------------------------------------------------------------------ content

    def set_language(self, lang: str) -> None:
        """Show the banner in ``lang``."""
        self._lang = lang
        self.ack_button.setText(tr("alarms.banner.ack", lang))
        self.ack_visible_button.setText(tr("alarms.banner.ack_visible", lang))
        self.empty.setText(tr("alarms.banner.none", lang))
        self.refresh()

    def line_text(self, alarm: Alarm) -> str:
        """Return one banner line: priority, time, gauge, alarm, value, gauge name.

        On the wall (large type) the time and the gauge name are left out.
        """
        lang = self._lang
        value = alarm.value
        st = live_status(self._status, alarm)
        if st is not None and st.available and st.value is not None:
            value = st.value
        value_part = value_text(value, alarm.spec.unit) if alarm.spec.limit is not None else ""
        if self._wall:
            parts = [priority_name(alarm.priority, lang), alarm.gauge,
                     alarm_label(alarm, lang, compact=True), value_part]
        else:
            parts = [priority_name(alarm.priority, lang),
                     local_time(alarm_time(alarm), self._tz, "%H:%M:%S"), alarm.gauge,
                     alarm_label(alarm, lang), value_part,
                     gauge_name(self._site, alarm.gauge, lang)]
        return "   ".join(p for p in parts if p)

    def shown_ids(self) -> list[str]:
        """Return the alarm ids on the banner, top first."""
        return [str(self.list.item(i).data(ALARM_ID)) for i in range(self.list.count())]

    def refresh(self) -> None:
        """Show the board's most urgent unacknowledged alarms."""
        waiting = sorted(self._board.unacknowledged(),
                         key=lambda a: (-a.priority.rank,
                                        -(t.timestamp() if (t := alarm_time(a)) else 0.0),
                                        a.id))
        shown = waiting[: self._lines]
        current = self.list.currentItem()
        selected = current.data(ALARM_ID) if current is not None else None
        self.list.clear()
        for alarm in shown:
            item = QListWidgetItem(self.line_text(alarm))
            fill, text = PRIORITY_COLOURS[alarm.priority]
            item.setBackground(QBrush(QColor(fill)))
            item.setForeground(QBrush(QColor(text)))
            item.setData(ALARM_ID, alarm.id)
            item.setToolTip(alarm.id)
            item.setSizeHint(QSize(10, self._row_h - 2))
            f = QFont(self.list.font())
            f.setBold(True)
            item.setFont(f)
            self.list.addItem(item)
            if alarm.id == selected:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count() and self._ack is not None:
            self.list.setCurrentRow(0)
        rest = len(waiting) - len(shown)
        self.more.setText(tr("alarms.banner.more", self._lang, count=rest) if rest > 0 else "")
        self.list.setVisible(bool(shown))
        self.empty.setVisible(not shown)
        self.ack_button.setEnabled(bool(shown))
        self.ack_visible_button.setEnabled(bool(shown))

    # ------------------------------------------------------------------ acknowledging

    def _ack_selected_clicked(self) -> None:
        self.acknowledge_selected()

    def _ack_visible_clicked(self) -> None:
        self.acknowledge_visible()

    def _activated(self, item: QListWidgetItem) -> None:
        if self._ack is not None:
            self._ack([str(item.data(ALARM_ID))])

    def acknowledge_selected(self) -> str | None:
        """Acknowledge the selected line; return its alarm id (``None``: nothing selected)."""
        item = self.list.currentItem()
        if item is None or self._ack is None:
            return None
        alarm_id = str(item.data(ALARM_ID))
        self._ack([alarm_id])
        return alarm_id

    def acknowledge_visible(self) -> list[str]:
        """Acknowledge every line on the banner; return their alarm ids."""
        ids = self.shown_ids()
        if ids and self._ack is not None:
            self._ack(ids)
        return ids
