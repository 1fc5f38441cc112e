"""Qt item models over domain state: the plan library and the event feed.

The models observe; they never own or copy domain state beyond what a view needs to draw. The plan
library reads the loaded :class:`~commandcenter.core.site.Site`; the event feed mirrors the tail of
the event log, fed by an :class:`EventBridge` that turns the log's writer-thread callbacks into
queued signals on the GUI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont

from commandcenter.core.events import RecordedEvent, format_ts
from commandcenter.core.site import Plan, PlanLevel, Site
from commandcenter.ui import i18n
from commandcenter.ui.i18n import name_of, tr
from commandcenter.ui.theme import level_colour

AnyIndex = QModelIndex | QPersistentModelIndex

PLAN_ID_ROLE = Qt.ItemDataRole.UserRole + 1
"""Item data role: the plan id of a plan row (``None`` on level rows)."""
LEVEL_ROLE = Qt.ItemDataRole.UserRole + 2
"""Item data role: the level value (``"L1"``…) of a level or plan row."""
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 3
"""Item data role: the lower-case text a plan row is searched by."""
EVENT_ROLE = Qt.ItemDataRole.UserRole + 4
"""Item data role: the :class:`RecordedEvent` of an event feed row."""

_LEVEL_ROW = 0
"""``internalId`` of level rows; plan rows carry their level's rank (1–4)."""


def site_timezone(site: Site) -> tzinfo:
    """Return the site's time zone (``Asia/Shanghai`` when the site file did not say or load)."""
    name = site.info.timezone if site.info else "Asia/Shanghai"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


class PlanLibraryModel(QAbstractItemModel):
    """The site's plans as a tree: four level rows (L1–L4), each with its plans as children.

    Columns: title, kind, id. Level rows are coloured with the level's warning colour and show the
    number of plans. The model reads the site it is given and never changes it.
    """

    COL_TITLE, COL_KIND, COL_ID = range(3)

    def __init__(self, site: Site, lang: str | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._site = site
        self._lang = lang or i18n.current()
        self._levels = list(PlanLevel)
        self._plans = site.plans_by_level()

    # ------------------------------------------------------------------ helpers

    @property
    def lang(self) -> str:
        """The language titles are shown in."""
        return self._lang

    def set_language(self, lang: str) -> None:
        """Show titles and names in ``lang``."""
        self._lang = lang
        last = self.columnCount() - 1
        for r, level in enumerate(self._levels):
            self.dataChanged.emit(self.index(r, 0), self.index(r, last))
            n = len(self._plans[level])
            if n:
                parent = self.index(r, 0)
                self.dataChanged.emit(self.index(0, 0, parent), self.index(n - 1, last, parent))
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, last)

    def plan_at(self, index: AnyIndex) -> Plan | None:
        """Return the plan of a plan row, ``None`` for level rows and invalid indexes."""
        if not index.isValid() or index.internalId() == _LEVEL_ROW:
            return None
        level = self._levels[index.internalId() - 1]
        return self._plans[level][index.row()]

    def level_at(self, index: AnyIndex) -> PlanLevel | None:
        """Return the level of a level or plan row."""
        if not index.isValid():
            return None
        if index.internalId() == _LEVEL_ROW:
            return self._levels[index.row()]
        return self._levels[index.internalId() - 1]

    def plan_index(self, plan_id: str, column: int = 0) -> QModelIndex:
        """Return the index of plan ``plan_id`` (invalid if the site has no such plan)."""
        for r, level in enumerate(self._levels):
            for c, plan in enumerate(self._plans[level]):
                if plan.id == plan_id:
                    return self.index(c, column, self.index(r, 0))
        return QModelIndex()

    def level_index(self, level: PlanLevel) -> QModelIndex:
        """Return the index of the row of ``level``."""
        return self.index(self._levels.index(level), 0)

    @staticmethod
    def search_text(plan: Plan) -> str:
        """Return the lower-case text a plan is found by (both languages)."""
        parts = [plan.id, plan.title.zh, plan.title.en or "", plan.kind.value,
                 plan.level.value, plan.tier.value]
        for lang in i18n.LANGUAGES:
            parts += [name_of("kind", plan.kind.value, lang),
                      name_of("level", plan.level.value, lang),
                      name_of("tier", plan.tier.value, lang)]
        return "\n".join(parts).lower()

    # ------------------------------------------------------------------ QAbstractItemModel

    def index(self, row: int, column: int,
              parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008 - Qt's idiom
        """Return the index at ``row``/``column`` under ``parent``."""
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, _LEVEL_ROW)
        if parent.internalId() == _LEVEL_ROW:
            return self.createIndex(row, column, parent.row() + 1)
        return QModelIndex()

    def parent(self, index: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        """Return the level row of a plan row; level rows have no parent."""
        if not index.isValid() or index.internalId() == _LEVEL_ROW:
            return QModelIndex()
        return self.createIndex(index.internalId() - 1, 0, _LEVEL_ROW)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Return 4 level rows at the top, the plans of a level under its row."""
        if not parent.isValid():
            return len(self._levels)
        if parent.internalId() == _LEVEL_ROW and parent.column() == 0:
            return len(self._plans[self._levels[parent.row()]])
        return 0

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Return the number of columns (title, kind, id)."""
        return 3

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        """Level rows are enabled but not selectable; plan rows are selectable."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if index.internalId() == _LEVEL_ROW:
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Return column titles."""
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        keys = ("library.col.title", "library.col.kind", "library.col.id")
        return tr(keys[section], self._lang) if 0 <= section < len(keys) else None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Return what a view shows for ``index`` in ``role``."""
        if not index.isValid():
            return None
        if index.internalId() == _LEVEL_ROW:
            return self._level_data(self._levels[index.row()], index.column(), role)
        plan = self.plan_at(index)
        assert plan is not None
        return self._plan_data(plan, index.column(), role)

    def _level_data(self, level: PlanLevel, column: int, role: int) -> Any:
        colours = level_colour(level)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.COL_TITLE:
                return tr("library.level_row", self._lang, level=level.value,
                          name=name_of("level", level.value, self._lang),
                          count=len(self._plans[level]))
            return None
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(QColor(colours.fill))
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor(colours.text))
        if role == Qt.ItemDataRole.FontRole:
            f = QFont()
            f.setBold(True)
            return f
        if role == LEVEL_ROLE:
            return level.value
        return None

    def _plan_data(self, plan: Plan, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.COL_TITLE:
                return plan.title.get(self._lang)
            if column == self.COL_KIND:
                return name_of("kind", plan.kind.value, self._lang)
            return plan.id
        if role == Qt.ItemDataRole.ToolTipRole:
            other = "en" if self._lang == "zh" else "zh"
            return f"{plan.id} · {plan.level.value}\n{plan.title.get(self._lang)}\n" \
                   f"{plan.title.get(other)}"
        if role == PLAN_ID_ROLE:
            return plan.id
        if role == LEVEL_ROLE:
            return plan.level.value
        if role == SEARCH_ROLE:
            return self.search_text(plan)
        return None


class PlanFilterProxy(QSortFilterProxyModel):
    """Filters the plan library by a search text.

    Every word of the query must occur in a plan's id, Chinese or English title, kind, level or
    tier (case-insensitive, either language). Level rows stay while the query is empty and
    otherwise only while one of their plans matches.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._terms: list[str] = []

    def set_query(self, text: str) -> None:
        """Filter by ``text`` (empty shows everything)."""
        self._terms = text.lower().split()
        # Setting the fixed string re-runs the filter; the match itself is done below.
        self.setFilterFixedString(text)

    def query_terms(self) -> list[str]:
        """Return the lower-case words currently filtered by."""
        return list(self._terms)

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        """Accept plans that match every term; levels that hold a match (or all, unfiltered)."""
        model = self.sourceModel()
        index = model.index(source_row, 0, source_parent)
        if not source_parent.isValid():
            if not self._terms:
                return True
            return any(self._plan_matches(model.index(r, 0, index))
                       for r in range(model.rowCount(index)))
        return self._plan_matches(index)

    def _plan_matches(self, index: QModelIndex) -> bool:
        text = str(index.data(SEARCH_ROLE) or "")
        return all(term in text for term in self._terms)


# ---------------------------------------------------------------------- events


class EventSource(Protocol):
    """The part of the event log the UI reads (``commandcenter.storage.eventlog.EventLog``)."""

    def tail(self, n: int = 20, types: Sequence[str] | None = None) -> list[RecordedEvent]:
        """Return the last ``n`` events (of the given types, if any), oldest first."""
        ...

    def subscribe(self, callback: Callable[[RecordedEvent], None]) -> Callable[[], None]:
        """Call ``callback`` (on the writer thread) after each commit; return an unsubscriber."""
        ...


_SUMMARY_FIRST = ("text", "alarm", "value", "detail", "plan", "level", "location", "person",
                  "channel", "reason", "state_after", "who", "by", "author")
"""Payload fields that say most about an event, shown first in one-line summaries."""
_SUMMARY_SKIP = frozenset({"unit", "kind", "direction", "limit", "priority", "latching", "plans",
                           "action", "formal", "state_before", "at", "site_dir", "python"})
"""Fields left out of one-line summaries (the tooltip still lists every field)."""


def payload_summary(payload: Mapping[str, Any], limit: int = 90) -> str:
    """Return a one-line ``key: value · key: value`` summary, cut at ``limit`` characters.

    The telling fields come first (alarm, value with its unit, plan, person …); bookkeeping
    fields are left out.
    """
    keys = [k for k in _SUMMARY_FIRST if k in payload]
    keys += [k for k in payload if k not in keys and k not in _SUMMARY_SKIP]
    parts = []
    for key in keys:
        value = payload[key]
        if isinstance(value, dict | list):
            text = format_value_short(value)
        elif isinstance(value, float):
            text = f"{value:.4g}"
        else:
            text = str(value)
        if key == "value" and payload.get("unit") and value is not None:
            text = f"{text} {payload['unit']}"
        parts.append(f"{key}: {text}")
    line = " · ".join(parts)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def format_value_short(value: Any) -> str:
    """Return a compact text form of a nested payload value."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_value_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(format_value_short(v) for v in value) + "]"
    return str(value)


class EventFeedModel(QAbstractTableModel):
    """The most recent events of the log, newest first, at most ``max_rows`` of them.

    Columns: time (in the site's time zone), type, source, details (a short payload summary).
    Rows arrive through :meth:`set_events` (the log's tail) and :meth:`add` (live, on the GUI
    thread); an event whose sequence number was already seen is ignored, so a tail read and a
    live subscription may overlap.
    """

    COL_TIME, COL_TYPE, COL_SOURCE, COL_DETAILS = range(4)
    _HEADER_KEYS = ("events.col.time", "events.col.type", "events.col.source",
                    "events.col.details")

    def __init__(self, tz: tzinfo, *, max_rows: int = 200, lang: str | None = None,
                 time_format: str = "%m-%d %H:%M:%S",
                 describe: Callable[[RecordedEvent, str], str] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        self._describe = describe
        self._tz = tz
        self._max = max_rows
        self._lang = lang or i18n.current()
        self._fmt = time_format
        self._rows: list[RecordedEvent] = []

    @property
    def max_rows(self) -> int:
        """How many events the feed keeps."""
        return self._max

    def events(self) -> list[RecordedEvent]:
        """Return the shown events, newest first."""
        return list(self._rows)

    def newest_seq(self) -> int:
        """Return the sequence number of the newest shown event (0 when empty)."""
        return self._rows[0].seq if self._rows else 0

    def set_events(self, events: Iterable[RecordedEvent]) -> None:
        """Replace the rows with ``events`` (any order); keeps the newest ``max_rows``."""
        rows = sorted({e.seq: e for e in events}.values(), key=lambda e: e.seq, reverse=True)
        self.beginResetModel()
        self._rows = rows[: self._max]
        self.endResetModel()

    def add(self, event: RecordedEvent) -> None:
        """Show a newly recorded event on top; drops the oldest row beyond ``max_rows``."""
        if self._rows and event.seq <= self._rows[0].seq:
            if all(e.seq != event.seq for e in self._rows) and event.seq > self._rows[-1].seq:
                # An older event that was missed (arrived out of order): slot it in place.
                pos = next(i for i, e in enumerate(self._rows) if e.seq < event.seq)
                self.beginInsertRows(QModelIndex(), pos, pos)
                self._rows.insert(pos, event)
                self.endInsertRows()
                self._trim()
            return
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._rows.insert(0, event)
        self.endInsertRows()
        self._trim()

    def _trim(self) -> None:
        if len(self._rows) > self._max:
            self.beginRemoveRows(QModelIndex(), self._max, len(self._rows) - 1)
            del self._rows[self._max:]
            self.endRemoveRows()

    def set_language(self, lang: str) -> None:
        """Show column titles and event names in ``lang``."""
        self._lang = lang
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)
        if self._rows:
            self.dataChanged.emit(self.index(0, self.COL_TYPE),
                                  self.index(len(self._rows) - 1, self.COL_DETAILS))

    def local_time(self, event: RecordedEvent) -> str:
        """Return the event time in the site's time zone, formatted for the feed."""
        return event.ts.astimezone(self._tz).strftime(self._fmt)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Return the number of shown events."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Return 4 (time, type, source, details)."""
        return 0 if parent.isValid() else len(self._HEADER_KEYS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Return column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self._HEADER_KEYS):
            return tr(self._HEADER_KEYS[section], self._lang)
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Return the cell text, a full tooltip, or the event itself (:data:`EVENT_ROLE`)."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        ev = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.COL_TIME:
                return self.local_time(ev)
            if col == self.COL_TYPE:
                return event_label(ev.type, self._lang)
            if col == self.COL_SOURCE:
                return ev.source
            if self._describe is not None:
                return self._describe(ev, self._lang)
            return payload_summary(ev.payload)
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"#{ev.seq}  {format_ts(ev.ts)}", f"{ev.type}  ←  {ev.source}"]
            if ev.incident_id:
                lines.append(f"incident: {ev.incident_id}")
            if ev.drill_id:
                lines.append(f"drill: {ev.drill_id}")
            lines += [f"{k}: {format_value_short(v)}" for k, v in ev.payload.items()]
            return "\n".join(lines)
        if role == EVENT_ROLE:
            return ev
        return None


class EventBridge(QObject):
    """Carries event-log callbacks from the log's writer thread to the GUI thread.

    The log calls subscribers on its writer thread; Qt widgets may only be touched on the GUI
    thread. The bridge re-emits each event as :attr:`recorded`, which receivers connect to with
    a queued connection (see :func:`connect_feed`).

    Signals:
        recorded(object): A :class:`RecordedEvent` was durably appended to the log.
    """

    recorded = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def attached(self) -> bool:
        """Whether the bridge is subscribed to a log."""
        return self._unsubscribe is not None

    def attach(self, source: EventSource) -> None:
        """Subscribe to ``source``; a bridge follows at most one log."""
        self.detach()
        with self._lock:
            self._unsubscribe = source.subscribe(self._on_writer_thread)

    def detach(self) -> None:
        """Stop following the log (idempotent); call before the bridge is destroyed."""
        with self._lock:
            unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()

    def _on_writer_thread(self, event: RecordedEvent) -> None:
        with self._lock:
            if self._unsubscribe is not None:
                self.recorded.emit(event)


def connect_feed(model: EventFeedModel, source: EventSource,
                 parent: QObject | None = None) -> EventBridge:
    """Fill ``model`` with the log's tail and keep it updated live; return the bridge.

    The subscription is made before the tail is read, so no event falls between the two; the
    model ignores the overlap. Call :meth:`EventBridge.detach` when the view closes.
    """
    bridge = EventBridge(parent if parent is not None else model)
    bridge.recorded.connect(model.add, Qt.ConnectionType.QueuedConnection)
    bridge.attach(source)
    model.set_events(source.tail(model.max_rows))
    return bridge


def event_label(event_type: str, lang: str) -> str:
    """Return the readable name of an event type, else the type itself.

    Names are catalogue entries ``event.<type>``; a type nobody named yet shows as it is.
    """
    key = f"event.{event_type}"
    return i18n.tr(key, lang) if i18n.has(key) else event_type
