"""Qt adapters over the alarm board: the alarm table model, its filter, shared display helpers.

:class:`BoardObserver` turns the board's callbacks into a Qt signal (direct on the GUI thread,
queued from any other), :class:`AlarmTableModel` shows the board's alarms as rows and follows
every change, :class:`AlarmFilterProxy` sorts and filters them. None of them keeps alarm state of
its own: each row is looked up on the board when it is drawn.
"""

from __future__ import annotations

import getpass
import math
import os
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from typing import Any, Final

import shiboken6
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont

from commandcenter.core.alarms import (
    Alarm,
    AlarmBoard,
    AlarmKind,
    AlarmState,
    Priority,
)
from commandcenter.core.clock import Clock
from commandcenter.core.site import Site
from commandcenter.services.protocols import GaugeStatus
from commandcenter.ui import i18n
from commandcenter.ui.alarms import strings as _strings  # noqa: F401 - registers the strings
from commandcenter.ui.i18n import name_of, tr
from commandcenter.ui.models import site_timezone

AnyIndex = QModelIndex | QPersistentModelIndex

ALARM_ROLE: Final = Qt.ItemDataRole.UserRole + 20
"""Item data role: the :class:`Alarm` of a row."""
ALARM_ID_ROLE: Final = Qt.ItemDataRole.UserRole + 21
"""Item data role: the alarm id of a row."""
SORT_ROLE: Final = Qt.ItemDataRole.UserRole + 22
"""Item data role: a value that sorts the column in a meaningful order."""

PRIORITY_COLOURS: Final[dict[Priority, tuple[str, str]]] = {
    Priority.HIGH: ("#C62828", "#FFFFFF"),
    Priority.MEDIUM: ("#F57C00", "#111111"),
    Priority.LOW: ("#FFD21F", "#111111"),
}
"""Fill and text colour per priority (the red / orange / yellow of the warning scale)."""

STALE_TEXT: Final = "#7B8794"
"""Text colour of a value that is only the last one a silent gauge sent."""

STATE_ORDER: Final[dict[AlarmState, int]] = {
    AlarmState.UNACK_ACTIVE: 0, AlarmState.RTN_UNACK: 1, AlarmState.ACK_ACTIVE: 2,
    AlarmState.LATCHED: 3, AlarmState.SHELVED: 4, AlarmState.SUPPRESSED: 5,
    AlarmState.OUT_OF_SERVICE: 6, AlarmState.NORMAL: 7,
}
"""States in the order an operator should deal with them."""


def operator_name() -> str:
    """Return who is at the console: ``$COMMANDCENTER_OPERATOR``, else the OS user name."""
    name = os.environ.get("COMMANDCENTER_OPERATOR", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for this uid (some containers)
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "operator"


# ---------------------------------------------------------------------- display helpers


def priority_name(priority: Priority, lang: str) -> str:
    """Return ``高``/``中``/``低`` (High/Medium/Low)."""
    return tr(f"alarms.priority.{priority.value}", lang)


def state_name(state: AlarmState, lang: str) -> str:
    """Return the ISA-18.2 state as the operator reads it."""
    return tr(f"alarms.state.{state.value}", lang)


def live_status(status: Callable[[str], GaugeStatus] | None,
                alarm: Alarm) -> GaugeStatus | None:
    """Return the latest status of the alarm's gauge (``None`` for a link alarm, or unknown)."""
    if status is None or alarm.spec.kind == AlarmKind.LINK:
        return None
    try:
        return status(alarm.gauge)
    except KeyError:
        return None


def _if_stale(st: GaugeStatus | None) -> GaugeStatus | None:
    """Return ``st`` when its gauge stopped answering after a reading, else ``None``."""
    return st if st is not None and not st.available and st.ts is not None else None


def alarm_label(alarm: Alarm, lang: str, *, compact: bool = False) -> str:
    """Return what the alarm is about: ``二级报警 · 高限``, ``通讯中断``, ``数据异常: above range``.

    ``compact`` (the wall) writes the direction as an arrow: ``二级报警 ▲``. A pre-alarm the
    post confirmed says so.
    """
    spec = alarm.spec
    confirmed = tr("alarms.confirmed", lang) if alarm.confirmation is not None else ""
    if compact:
        if spec.level is None:
            return tr(f"alarms.short.{spec.kind.value}", lang)
        arrow = {"high": "▲", "low": "▼"}.get(spec.direction or "", "")
        short = f"{tr(f'alarms.short.{spec.level.value}', lang)} {arrow}".strip()
        return f"{short} ✔" if confirmed else short
    if spec.kind == AlarmKind.COMM:
        return tr("alarms.kind.comm", lang)
    if spec.kind == AlarmKind.LINK:
        return tr("alarms.kind.link", lang)
    if spec.kind == AlarmKind.BAD_VALUE:
        base = tr("alarms.kind.bad_value", lang)
        return f"{base}: {alarm.detail}" if alarm.detail else base
    level = name_of("alarm", spec.level.value, lang) if spec.level else ""
    direction = tr(f"alarms.dir.{spec.direction}", lang) if spec.direction else ""
    label = " · ".join(p for p in (level, direction) if p)
    return f"{label} {confirmed}" if confirmed else label


def format_number(value: float) -> str:
    """Return a reading with sensible precision (``27.5``, ``0.12``, ``1250``)."""
    if math.isnan(value):
        return "NaN"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}".rstrip("0").rstrip(".") if magnitude else "0"


def value_text(value: float | None, unit: str) -> str:
    """Return ``27.5 %LEL``, or ``—`` when there is no number."""
    if value is None:
        return "—"
    return f"{format_number(value)} {unit}".strip()


def limit_text(alarm: Alarm) -> str:
    """Return ``≥ 25 %LEL`` / ``≤ 19.5 %VOL`` for limit alarms, empty for quality alarms."""
    spec = alarm.spec
    if spec.limit is None:
        return ""
    sign = "≥" if spec.direction == "high" else "≤"
    return f"{sign} {value_text(spec.limit, spec.unit)}"


def gauge_name(site: Site, gauge_id: str, lang: str) -> str:
    """Return the gauge's name in ``lang`` (empty for a gauge the site does not know).

    For the id of a link (what a link alarm names as its gauge) the link's name.
    """
    gauge = site.gauges.get(gauge_id)
    if gauge is not None:
        return gauge.name.get(lang)
    link = site.links.get(gauge_id)
    return link.name.get(lang) if link is not None and link.name is not None else ""


def local_time(ts: datetime | None, tz: tzinfo, fmt: str = "%m-%d %H:%M:%S") -> str:
    """Return ``ts`` in the site's time zone, or empty."""
    return ts.astimezone(tz).strftime(fmt) if ts is not None else ""


def note_text(alarm: Alarm, tz: tzinfo, lang: str) -> str:
    """Return the shelving, hold or newest comment of an alarm, for the last column."""
    sh = alarm.shelving
    if sh is not None:
        if sh.until is not None:
            return tr("alarms.note.shelved_until", lang, by=sh.by, reason=sh.reason,
                      until=local_time(sh.until, tz, "%H:%M"))
        return tr("alarms.note.shelved_once", lang, by=sh.by, reason=sh.reason)
    hold = alarm.out_of_service or alarm.suppression
    if hold is not None:
        if hold.by.startswith("link:"):
            return tr("alarms.note.link_hold", lang, link=hold.by[len("link:"):])
        if hold.by.startswith("rule:"):
            return tr("alarms.note.rule", lang, gauge=hold.by[len("rule:"):],
                      reason=hold.reason)
        return tr("alarms.note.hold", lang, by=hold.by, reason=hold.reason)
    if alarm.comments:
        c = alarm.comments[-1]
        return tr("alarms.note.comment", lang, by=c.by, text=c.text)
    conf = alarm.confirmation
    if conf is not None:
        if conf.note:
            return tr("alarms.note.confirmed", lang, by=conf.by, note=conf.note)
        return tr("alarms.note.confirmed_bare", lang, by=conf.by)
    if alarm.acknowledged and alarm.acked_by and alarm.state != AlarmState.NORMAL:
        return tr("alarms.note.acked", lang, by=alarm.acked_by)
    return ""


def age_text(seconds: float, lang: str) -> str:
    """Return ``35 s`` / ``4 min`` / ``2 h`` (``35 秒`` / ``4 分钟`` / ``2 小时``)."""
    s = max(0, int(seconds))
    zh = lang == "zh"
    if s < 120:
        return f"{s} 秒" if zh else f"{s} s"
    if s < 7200:
        return f"{s // 60} 分钟" if zh else f"{s // 60} min"
    return f"{s // 3600} 小时" if zh else f"{s // 3600} h"


def alarm_time(alarm: Alarm) -> datetime | None:
    """Return when the alarm last became active, else its last change."""
    return alarm.active_since or alarm.changed_at


# ---------------------------------------------------------------------- board observer


class BoardObserver(QObject):
    """Re-emits an :class:`AlarmBoard`'s callbacks as one Qt signal.

    The alarm service applies events on the GUI thread, so the signal normally arrives
    directly; a board fed from another thread still reaches Qt safely (queued). Call
    :meth:`detach` (or delete the observer) to stop following the board.

    Signals:
        alarm_changed(object): An :class:`Alarm` was raised, changed or cleared.
    """

    alarm_changed = Signal(object)

    def __init__(self, board: AlarmBoard, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.board = board
        self._disconnects: list[Callable[[], None]] = []
        for signal in (board.raised, board.changed, board.cleared):
            self._disconnects.append(signal.connect(self._forward))
        disconnects = self._disconnects
        self.destroyed.connect(lambda *_: [d() for d in list(disconnects)])

    def _forward(self, alarm: Alarm) -> None:
        if not shiboken6.isValid(self):
            return
        self.alarm_changed.emit(alarm)

    def detach(self) -> None:
        """Stop following the board (idempotent)."""
        for d in self._disconnects:
            d()
        self._disconnects.clear()


# ---------------------------------------------------------------------- the table model


class AlarmTableModel(QAbstractTableModel):
    """The board's alarms as table rows, following the board live.

    Columns: flashing acknowledgement flag, time, priority, gauge (id and name), alarm (level
    and direction, or quality alarm), value and unit, limit, ISA-18.2 state, shelving/comment.
    Unacknowledged rows are bold and their flag flashes (:meth:`set_flash`, driven by a view's
    timer); the priority cell carries the priority colour.

    Args:
        board: The alarm board to show; the model only reads it.
        site: Gauge names and the site's time zone.
        lang: UI language.
        scope: ``"standing"`` — every alarm not normal, hidden ones included (the alarm list);
            ``"annunciated"`` — only what is announced: not hidden, not superseded (the wall).
        status: Latest reading per gauge; when given, the value column shows the live value
            (refreshed with :meth:`refresh_values`) and the tooltip the value at the alarm.
        gauge_names: Show the gauge's name after its id.
        compact: Short alarm labels (level and an arrow) and states, for the wall.
        time_format: How the time column is written (site local time).
        clock: "Now", for the age of a stale value (without it the age is left out).

    The value of a gauge that stopped answering is never shown as a live value: its last
    reading is greyed and marked stale (``通讯中断``), with its age when a clock is given.
    """

    (COL_FLAG, COL_TIME, COL_PRIORITY, COL_GAUGE, COL_ALARM, COL_VALUE, COL_LIMIT, COL_STATE,
     COL_NOTE) = range(9)
    _HEADER_KEYS = ("alarms.col.flag", "alarms.col.time", "alarms.col.priority",
                    "alarms.col.gauge", "alarms.col.alarm", "alarms.col.value",
                    "alarms.col.limit", "alarms.col.state", "alarms.col.note")

    def __init__(self, board: AlarmBoard, site: Site, lang: str | None = None, *,
                 scope: str = "standing", status: Callable[[str], GaugeStatus] | None = None,
                 gauge_names: bool = True, compact: bool = False,
                 time_format: str = "%m-%d %H:%M:%S", clock: Clock | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        if scope not in ("standing", "annunciated"):
            raise ValueError(f"scope must be 'standing' or 'annunciated', not {scope!r}")
        self._board = board
        self._site = site
        self._tz = site_timezone(site)
        self._lang = lang or i18n.current()
        self._scope = scope
        self._status = status
        self._gauge_names = gauge_names
        self._compact = compact
        self._fmt = time_format
        self._clock = clock
        self._flash = True
        self._ids: list[str] = [a.id for a in self._wanted()]
        self.observer = BoardObserver(board, self)
        self.observer.alarm_changed.connect(self._on_alarm)

    # ------------------------------------------------------------------ following the board

    def _wanted(self) -> list[Alarm]:
        if self._scope == "annunciated":
            return self._board.annunciated()
        return self._board.standing()

    def _on_alarm(self, alarm: Alarm) -> None:
        if self._scope == "annunciated":
            # one alarm's change can supersede or reveal another of its gauge: re-read them all
            self.sync()
            return
        # "standing" is a property of the alarm alone: touch its row only. A flood of n
        # changes over m rows then costs O(n), not O(n·m) of re-reading and repainting.
        standing = alarm.state != AlarmState.NORMAL
        try:
            row = self._ids.index(alarm.id)
        except ValueError:
            row = -1
        if row >= 0 and standing:
            self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))
        elif row >= 0:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._ids[row]
            self.endRemoveRows()
        elif standing:
            first = len(self._ids)
            self.beginInsertRows(QModelIndex(), first, first)
            self._ids.append(alarm.id)
            self.endInsertRows()

    def sync(self) -> None:
        """Bring the rows in line with the board: drop, update and add rows as needed."""
        wanted = [a.id for a in self._wanted()]
        keep = set(wanted)
        for row in range(len(self._ids) - 1, -1, -1):
            if self._ids[row] not in keep:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._ids[row]
                self.endRemoveRows()
        if self._ids:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self._ids) - 1, self.columnCount() - 1))
        have = set(self._ids)
        new = [aid for aid in wanted if aid not in have]
        if new:
            first = len(self._ids)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            self._ids.extend(new)
            self.endInsertRows()

    def detach(self) -> None:
        """Stop following the board."""
        self.observer.detach()

    # ------------------------------------------------------------------ public helpers

    @property
    def board(self) -> AlarmBoard:
        """The board shown."""
        return self._board

    @property
    def lang(self) -> str:
        """The language shown."""
        return self._lang

    def set_language(self, lang: str) -> None:
        """Show headers and cells in ``lang``."""
        self._lang = lang
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)
        if self._ids:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self._ids) - 1, self.columnCount() - 1))

    def alarm_ids(self) -> list[str]:
        """Return the alarm ids of the rows, in row order."""
        return list(self._ids)

    def alarm_at(self, row: int) -> Alarm | None:
        """Return the alarm of ``row`` as the board has it now."""
        if not 0 <= row < len(self._ids):
            return None
        return self._board.alarm(self._ids[row])

    def row_of(self, alarm_id: str) -> int:
        """Return the row of ``alarm_id`` (-1 if not shown)."""
        try:
            return self._ids.index(alarm_id)
        except ValueError:
            return -1

    @property
    def flash(self) -> bool:
        """Whether the flag of unacknowledged rows is lit right now."""
        return self._flash

    def set_flash(self, on: bool) -> None:
        """Light or darken the flag of unacknowledged rows (a timer toggles it)."""
        if on == self._flash:
            return
        self._flash = on
        for row, aid in enumerate(self._ids):
            a = self._board.alarm(aid)
            if a is not None and not a.acknowledged:
                ix = self.index(row, self.COL_FLAG)
                self.dataChanged.emit(ix, ix)

    def refresh_values(self) -> None:
        """Redraw the value column (live readings; called about once a second)."""
        if self._ids and self._status is not None:
            self.dataChanged.emit(self.index(0, self.COL_VALUE),
                                  self.index(len(self._ids) - 1, self.COL_VALUE))

    def search_text(self, alarm: Alarm) -> str:
        """Return the lower-case text a row is found by (both languages)."""
        gauge = self._site.gauges.get(alarm.gauge)
        parts = [alarm.id, alarm.gauge]
        if gauge is not None:
            parts += [gauge.name.zh, gauge.name.en or ""]
            if gauge.building and gauge.building in self._site.buildings:
                b = self._site.buildings[gauge.building]
                parts += [b.id, b.name.zh, b.name.en or ""]
        for lang in i18n.LANGUAGES:
            parts += [alarm_label(alarm, lang), state_name(alarm.state, lang),
                      priority_name(alarm.priority, lang)]
        parts.append(note_text(alarm, self._tz, self._lang))
        return "\n".join(parts).lower()

    # ------------------------------------------------------------------ cells

    def _value(self, alarm: Alarm) -> tuple[str, float | None]:
        if alarm.spec.kind in (AlarmKind.COMM, AlarmKind.LINK):
            return "—", None
        st = live_status(self._status, alarm)
        if st is not None and st.available and st.value is not None:
            return value_text(st.value, alarm.spec.unit), st.value
        st = _if_stale(st)
        if st is not None:
            assert st.ts is not None  # a stale status always has its last reading's time
            value = st.value if st.value is not None else alarm.value
            text = value_text(value, alarm.spec.unit)
            if self._clock is not None:
                age = age_text((self._clock.now() - st.ts).total_seconds(), self._lang)
                return tr("alarms.value.stale", self._lang, value=text, age=age), value
            return tr("alarms.value.stale_bare", self._lang, value=text), value
        return value_text(alarm.value, alarm.spec.unit), alarm.value

    def _stale_status(self, alarm: Alarm) -> GaugeStatus | None:
        """Return the gauge's status when it stopped answering (``None`` if live, or comm/link)."""
        if alarm.spec.kind in (AlarmKind.COMM, AlarmKind.LINK):
            return None
        return _if_stale(live_status(self._status, alarm))

    def stale(self, alarm: Alarm) -> bool:
        """True when the alarm's gauge stopped answering (its value is only the last one)."""
        return self._stale_status(alarm) is not None

    def _display(self, alarm: Alarm, col: int) -> str:
        lang = self._lang
        if col == self.COL_FLAG:
            return "●" if not alarm.acknowledged and self._flash else ""
        if col == self.COL_TIME:
            return local_time(alarm_time(alarm), self._tz, self._fmt)
        if col == self.COL_PRIORITY:
            return priority_name(alarm.priority, lang)
        if col == self.COL_GAUGE:
            name = gauge_name(self._site, alarm.gauge, lang) if self._gauge_names else ""
            return f"{alarm.gauge}  {name}" if name else alarm.gauge
        if col == self.COL_ALARM:
            text = alarm_label(alarm, lang, compact=self._compact)
            if self._scope == "standing" and alarm.active and self._board.superseded(alarm):
                text += " " + tr("alarms.superseded", lang)
            return text
        if col == self.COL_VALUE:
            return self._value(alarm)[0]
        if col == self.COL_LIMIT:
            return limit_text(alarm)
        if col == self.COL_STATE:
            if self._compact:
                return tr(f"alarms.state_short.{alarm.state.value}", lang)
            return state_name(alarm.state, lang)
        return note_text(alarm, self._tz, lang)

    def _sort_key(self, alarm: Alarm, col: int) -> Any:
        if col in (self.COL_FLAG, self.COL_TIME):
            t = alarm_time(alarm)
            return t.timestamp() if t else 0.0
        if col == self.COL_PRIORITY:
            return alarm.priority.rank
        if col == self.COL_STATE:
            return -STATE_ORDER[alarm.state]
        if col == self.COL_VALUE:
            v = self._value(alarm)[1]
            return v if v is not None else float("-inf")
        if col == self.COL_LIMIT:
            return alarm.spec.limit if alarm.spec.limit is not None else float("-inf")
        return self._display(alarm, col)

    def _tooltip(self, alarm: Alarm) -> str:
        lang = self._lang
        lines = [f"{alarm.id}  ({priority_name(alarm.priority, lang)})",
                 gauge_name(self._site, alarm.gauge, lang),
                 f"{alarm_label(alarm, lang)}  {limit_text(alarm)}",
                 f"{state_name(alarm.state, lang)}"]
        if alarm.value is not None:
            lines.append(f"@ {local_time(alarm.active_since, self._tz)}: "
                         f"{value_text(alarm.value, alarm.spec.unit)}")
        st = self._stale_status(alarm)
        if st is not None:
            lines.append(tr("alarms.value.stale_tip", lang,
                            time=local_time(st.ts, self._tz, "%H:%M:%S")))
        note = note_text(alarm, self._tz, lang)
        if note and not alarm.comments:
            lines.append(note)
        for c in alarm.comments:
            lines.append(f"{local_time(c.at, self._tz)} {c.by}: {c.text}")
        return "\n".join(line for line in lines if line)

    # ------------------------------------------------------------------ QAbstractTableModel

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Return the number of alarms shown."""
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Return 9 columns."""
        return 0 if parent.isValid() else len(self._HEADER_KEYS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Return the column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self._HEADER_KEYS):
            return tr(self._HEADER_KEYS[section], self._lang)
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Return text, colours, fonts, the alarm itself or a sort key for a cell."""
        if not index.isValid():
            return None
        alarm = self.alarm_at(index.row())
        if alarm is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(alarm, col)
        if role == SORT_ROLE:
            return self._sort_key(alarm, col)
        if role == ALARM_ROLE:
            return alarm
        if role == ALARM_ID_ROLE:
            return alarm.id
        if role in (Qt.ItemDataRole.FontRole, Qt.ItemDataRole.ForegroundRole):
            stale_value = col == self.COL_VALUE and self.stale(alarm)
            if role == Qt.ItemDataRole.FontRole and (not alarm.acknowledged or stale_value):
                f = QFont()
                f.setBold(not alarm.acknowledged)
                f.setItalic(stale_value)
                return f
            if stale_value and role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QColor(STALE_TEXT))
        fill, text = PRIORITY_COLOURS[alarm.priority]
        if col == self.COL_PRIORITY:
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(QColor(fill))
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QColor(text))
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignCenter)
        if col == self.COL_FLAG:
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QColor(fill))
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignCenter)
        if col in (self.COL_VALUE, self.COL_LIMIT) \
                and role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and alarm.hidden:
            return QBrush(QColor("#7B8794"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(alarm)
        return None


# ---------------------------------------------------------------------- sorting and filtering


class AlarmFilterProxy(QSortFilterProxyModel):
    """Sorts an :class:`AlarmTableModel` by meaning and filters it.

    Filters combine: free text (every word must match the gauge id or name, building, alarm,
    state, priority or note, in either language), a set of priorities, a set of states, and
    "unacknowledged only".
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)
        self._terms: list[str] = []
        self._priorities: frozenset[Priority] | None = None
        self._states: frozenset[AlarmState] | None = None
        self._unacked = False

    def set_text(self, text: str) -> None:
        """Keep rows matching every word of ``text``."""
        self.beginFilterChange()
        self._terms = text.lower().split()
        self.endFilterChange()

    def set_priorities(self, priorities: Iterable[Priority] | None) -> None:
        """Keep rows of these priorities (``None``: all)."""
        self.beginFilterChange()
        self._priorities = frozenset(priorities) if priorities is not None else None
        self.endFilterChange()

    def set_states(self, states: Iterable[AlarmState] | None) -> None:
        """Keep rows in these states (``None``: all)."""
        self.beginFilterChange()
        self._states = frozenset(states) if states is not None else None
        self.endFilterChange()

    def set_unacknowledged_only(self, on: bool) -> None:
        """Keep only unacknowledged rows."""
        self.beginFilterChange()
        self._unacked = on
        self.endFilterChange()

    def alarm_ids(self) -> list[str]:
        """Return the alarm ids shown, in view order."""
        return [str(self.index(r, 0).data(ALARM_ID_ROLE)) for r in range(self.rowCount())]

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        """Apply the text, priority, state and unacknowledged filters."""
        model = self.sourceModel()
        if not isinstance(model, AlarmTableModel):
            return True
        alarm = model.alarm_at(source_row)
        if alarm is None:
            return False
        if self._unacked and alarm.acknowledged:
            return False
        if self._priorities is not None and alarm.priority not in self._priorities:
            return False
        if self._states is not None and alarm.state not in self._states:
            return False
        if self._terms:
            text = model.search_text(alarm)
            return all(t in text for t in self._terms)
        return True
