"""Table models over the incident projections.

Each model observes the core's signals (:class:`IncidentBook`, :class:`Notifier`,
:class:`Outbox`) and reads the projection whenever a view asks for data; the only thing it keeps
is which row shows which domain object. Time-dependent columns (elapsed, overdue, silent for)
change with the clock, not with events: the owning view calls :meth:`refresh_times` once a second.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont

from commandcenter.core.clock import Clock
from commandcenter.core.incidents import (
    ChecklistStep,
    Incident,
    IncidentBook,
    StepState,
    role_name,
)
from commandcenter.core.notify import (
    Message,
    MessageKind,
    NotificationError,
    Notifier,
    StageProgress,
)
from commandcenter.core.signals import Signal
from commandcenter.core.site import Site
from commandcenter.ui.i18n import tr
from commandcenter.ui.incidents import strings  # noqa: F401  (registers the UI strings)
from commandcenter.ui.incidents.people import (
    LocationTexts,
    actor_name,
    duration,
    local_time,
    person_name,
    plan_started,
    since,
)
from commandcenter.ui.models import site_timezone
from commandcenter.ui.theme import level_colour

AnyIndex = QModelIndex | QPersistentModelIndex

INCIDENT_ID_ROLE = Qt.ItemDataRole.UserRole + 1
"""Item data role: the incident id of a row of :class:`OpenIncidentsModel`."""
STEP_ROLE = Qt.ItemDataRole.UserRole + 2
"""Item data role: the :class:`ChecklistStep` of a checklist row."""
OVERDUE_ROLE = Qt.ItemDataRole.UserRole + 3
"""Item data role: True when the checklist row's step is overdue now."""
PERSON_ROLE = Qt.ItemDataRole.UserRole + 4
"""Item data role: the person id of an acknowledgement row."""
SILENT_ROLE = Qt.ItemDataRole.UserRole + 5
"""Item data role: True when the acknowledgement row's person was called and has not answered."""
ANSWER_ROLE = Qt.ItemDataRole.UserRole + 6
"""Item data role: ``"acked"``, ``"declined"``, ``"silent"``, ``"waiting"`` or ``"informed"``."""

RED = "#C62828"
"""Overdue and silent: the L4 red, white text on it."""
GREEN = "#2E7D32"
ORANGE = "#B45309"
MUTED = "#52606D"
BLUE = "#1F5F99"


class _Observer(QAbstractTableModel):
    """A table model that subscribes to core signals and unsubscribes when it is destroyed."""

    def __init__(self, parent: QObject | None) -> None:
        super().__init__(parent)
        self._unsubscribe: list[Callable[[], None]] = []
        unsubscribe = self._unsubscribe
        self.destroyed.connect(lambda *_: [u() for u in unsubscribe])

    def _observe(self, signal: Signal[Any], callback: Callable[..., object]) -> None:
        self._unsubscribe.append(signal.connect(callback))

    def detach(self) -> None:
        """Stop following the projections (idempotent)."""
        while self._unsubscribe:
            self._unsubscribe.pop()()

    def _cols_changed(self, first: int, last: int) -> None:
        if self.rowCount():
            self.dataChanged.emit(self.index(0, first), self.index(self.rowCount() - 1, last))


def stages_of(notifier: Notifier, incident_id: str) -> list[StageProgress]:
    """Return an incident's notification stages; none while the notifier has not seen it yet.

    The book and the notifier fold the same events one after the other, so a screen reacting
    to the book's ``activated`` may ask before the notifier has the incident.
    """
    try:
        return notifier.stages(incident_id)
    except NotificationError:
        return []


def answer_counts(stages: list[StageProgress]) -> tuple[int, int, int, int]:
    """Return ``(called, acknowledged, declined, silent)`` over an incident's active stages.

    A person called in several stages counts once; an answer counts wherever they were called.
    """
    called: set[str] = set()
    acked: set[str] = set()
    declined: set[str] = set()
    for st in stages:
        if st.superseded:
            continue
        called.update(st.contacted)
        acked.update(p for p in st.acked if p in st.contacted)
        declined.update(p for p in st.declined if p in st.contacted)
    declined -= acked
    return len(called), len(acked), len(declined), len(called - acked - declined)


class OpenIncidentsModel(_Observer):
    """The open incidents, oldest first: level, code, plan, location, elapsed, answers, overdue."""

    COL_LEVEL, COL_CODE, COL_PLAN, COL_LOCATION, COL_ELAPSED, COL_ACKS, COL_OVERDUE = range(7)
    _HEADERS = ("inc.open.col.level", "inc.open.col.code", "inc.open.col.plan",
                "inc.open.col.location", "inc.open.col.elapsed", "inc.open.col.acks",
                "inc.open.col.overdue")

    def __init__(self, book: IncidentBook, notifier: Notifier, site: Site, clock: Clock,
                 lang: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._book = book
        self._notifier = notifier
        self._site = site
        self._clock = clock
        self._lang = lang
        self._tz = site_timezone(site)
        self._where = LocationTexts(site)
        self._ids = [i.id for i in book.open_incidents()]
        self._observe(book.activated, self._on_activated)
        self._observe(book.closed, self._on_closed)
        self._observe(book.changed, self._on_changed)
        self._observe(notifier.changed, self._on_notify)

    def set_language(self, lang: str) -> None:
        """Show names in ``lang``."""
        self._lang = lang
        self._where.clear()
        self._cols_changed(0, self.columnCount() - 1)
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)

    def incident_ids(self) -> list[str]:
        """Return the ids of the rows, in row order."""
        return list(self._ids)

    def row_of(self, incident_id: str) -> int:
        """Return the row of ``incident_id`` (-1 when it is not open)."""
        return self._ids.index(incident_id) if incident_id in self._ids else -1

    def refresh_times(self) -> None:
        """Tell views that elapsed times and overdue counts moved on."""
        self._cols_changed(self.COL_ELAPSED, self.COL_OVERDUE)

    def _on_activated(self, inc: Incident) -> None:
        if inc.id in self._ids or inc.closed:
            return
        n = len(self._ids)
        self.beginInsertRows(QModelIndex(), n, n)
        self._ids.append(inc.id)
        self.endInsertRows()

    def _on_closed(self, inc: Incident) -> None:
        if inc.id not in self._ids:
            return
        row = self._ids.index(inc.id)
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._ids[row]
        self.endRemoveRows()

    def _on_changed(self, inc: Incident) -> None:
        row = self.row_of(inc.id)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def _on_notify(self, incident_id: str) -> None:
        row = self.row_of(incident_id)
        if row >= 0:
            self.dataChanged.emit(self.index(row, self.COL_ACKS), self.index(row, self.COL_ACKS))

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Return the number of open incidents."""
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Return the number of columns."""
        return 0 if parent.isValid() else len(self._HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Return the column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(self._HEADERS[section], self._lang)
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Return what a cell shows."""
        if not index.isValid():
            return None
        inc = self._book.incidents[self._ids[index.row()]]
        col = index.column()
        if role == INCIDENT_ID_ROLE:
            return inc.id
        if col == self.COL_LEVEL and role in (Qt.ItemDataRole.BackgroundRole,
                                              Qt.ItemDataRole.ForegroundRole):
            c = level_colour(inc.level)
            return QBrush(QColor(c.fill if role == Qt.ItemDataRole.BackgroundRole else c.text))
        now = self._clock.now()
        if col == self.COL_OVERDUE and role == Qt.ItemDataRole.ForegroundRole \
                and inc.overdue_steps(now):
            return QBrush(QColor(RED))
        if role == Qt.ItemDataRole.FontRole and col in (self.COL_LEVEL, self.COL_CODE,
                                                        self.COL_ELAPSED):
            f = QFont()
            f.setBold(True)
            return f
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if col == self.COL_LEVEL:
            return inc.level.value
        if col == self.COL_CODE:
            return inc.code
        if col == self.COL_PLAN:
            return inc.plan_title.get(self._lang) or inc.plan_title.get("zh", inc.plan)
        if col == self.COL_LOCATION:
            return self._where.of(inc, self._lang)
        if col == self.COL_ELAPSED:
            return duration(since(now, inc.started_at))
        if col == self.COL_ACKS:
            called, acked, _declined, _silent = answer_counts(stages_of(self._notifier, inc.id))
            return tr("inc.acks.short", self._lang, acked=acked, called=called)
        return str(len(inc.overdue_steps(now)))


class ChecklistModel(_Observer):
    """One incident's checklist: step, owner, target, elapsed against target, state.

    A step past its target time and not finished shows the state *overdue* on red.
    """

    COL_STEP, COL_OWNER, COL_TARGET, COL_ELAPSED, COL_STATE = range(5)
    _HEADERS = ("inc.col.step", "inc.col.owner", "inc.col.target", "inc.col.elapsed",
                "inc.col.state")

    def __init__(self, book: IncidentBook, incident_id: str, site: Site, clock: Clock,
                 lang: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._book = book
        self._id = incident_id
        self._site = site
        self._clock = clock
        self._lang = lang
        self._tz = site_timezone(site)
        self._n = len(self.incident.steps)
        self._observe(book.step_changed, self._on_step)
        self._observe(book.escalated, self._on_escalated)
        self._observe(book.closed, self._on_closed)

    @property
    def incident(self) -> Incident:
        """The incident shown."""
        return self._book.incidents[self._id]

    def set_language(self, lang: str) -> None:
        """Show titles and names in ``lang``."""
        self._lang = lang
        self._cols_changed(0, self.columnCount() - 1)
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)

    def step_at(self, row: int) -> ChecklistStep | None:
        """Return the step of ``row``."""
        steps = self.incident.steps
        return steps[row] if 0 <= row < self._n else None

    def refresh_times(self) -> None:
        """Tell views that elapsed times and overdue states moved on."""
        self._cols_changed(self.COL_STEP, self.COL_STATE)

    def _on_step(self, inc: Incident, step: ChecklistStep) -> None:
        if inc.id != self._id:
            return
        row = next((i for i, s in enumerate(inc.steps[: self._n]) if s is step), -1)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def _on_escalated(self, inc: Incident, _rec: object) -> None:
        if inc.id != self._id or len(inc.steps) <= self._n:
            return
        self.beginInsertRows(QModelIndex(), self._n, len(inc.steps) - 1)
        self._n = len(inc.steps)
        self.endInsertRows()

    def _on_closed(self, inc: Incident) -> None:
        if inc.id == self._id:
            self.refresh_times()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Return the number of steps."""
        return 0 if parent.isValid() else self._n

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Return the number of columns."""
        return 0 if parent.isValid() else len(self._HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Return the column titles (rows are numbered)."""
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return tr(self._HEADERS[section], self._lang)
        return str(section + 1)

    def state_key(self, step: ChecklistStep, now: datetime) -> str:
        """Return the state shown: a :class:`StepState` value, ``overdue`` or ``late``."""
        if not self.incident.closed and step.is_overdue(now):
            return "overdue"
        if step.late:
            return "late"
        return step.state.value

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Return what a cell shows."""
        step = self.step_at(index.row()) if index.isValid() else None
        if step is None:
            return None
        inc = self.incident
        now = self._clock.now()
        state = self.state_key(step, now)
        col = index.column()
        if role == STEP_ROLE:
            return step
        if role == OVERDUE_ROLE:
            return state == "overdue"
        if role == Qt.ItemDataRole.BackgroundRole and state == "overdue" \
                and col in (self.COL_ELAPSED, self.COL_STATE):
            return QBrush(QColor(RED))
        if role == Qt.ItemDataRole.ForegroundRole:
            if state == "overdue":
                return QBrush(QColor("#FFFFFF" if col in (self.COL_ELAPSED, self.COL_STATE)
                                     else RED))
            if col == self.COL_STATE:
                colour = {"done": GREEN, "late": ORANGE, "in_progress": BLUE,
                          "not_applicable": MUTED}.get(state)
                return QBrush(QColor(colour)) if colour else None
            if step.finished:
                return QBrush(QColor(MUTED))
            return None
        if role == Qt.ItemDataRole.FontRole and (state == "overdue"
                                                 or col == self.COL_STATE):
            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [step.title.get(self._lang) or step.title.get("zh", step.id),
                     f"{step.plan} / {step.id}"]
            if step.note:
                parts.append(tr("inc.step.note", self._lang, note=step.note))
            return "\n".join(parts)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        start = plan_started(inc, step.plan)
        target_s = since(step.target_at, start)
        if col == self.COL_STEP:
            title = step.title.get(self._lang) or step.title.get("zh", step.id)
            if len(inc.plans) > 1 and step.plan != inc.plans[0]:
                title = f"[{step.plan}] {title}"
            if step.note and step.state == StepState.NOT_APPLICABLE:
                title += f" — {step.note}"
            return title
        if col == self.COL_OWNER:
            return role_name(self._site, step.owner, self._lang)
        if col == self.COL_TARGET:
            return f"T+{duration(target_s)}  {local_time(step.target_at, self._tz)[:5]}"
        if col == self.COL_ELAPSED:
            end = step.finished_at if step.finished and step.finished_at else \
                (inc.closed_at or now)
            used = since(end, start)
            text = f"{duration(used)} / {duration(target_s)}"
            if state == "overdue":
                text += "  " + tr("inc.overdue_by", self._lang, time=duration(used - target_s))
            elif state == "late":
                text += "  " + tr("inc.late_by", self._lang, time=duration(used - target_s))
            return text
        return tr(f"inc.state.{state}", self._lang)


class AckBoardModel(_Observer):
    """Everyone an incident called or told, by stage: messages, delivery, answer, escalation.

    Rows come in stage order and, within a stage, in calling order, then the people told about
    a missed deadline. Rows of stages left behind by an escalation stay (marked) so nobody's
    answer disappears from the board.
    """

    COL_STAGE, COL_PERSON, COL_MESSAGES, COL_DELIVERED, COL_ANSWER, COL_ESCALATED = range(6)
    _HEADERS = ("inc.col.stage", "inc.col.person", "inc.col.messages", "inc.col.delivered",
                "inc.col.answer", "inc.col.escalated")

    def __init__(self, notifier: Notifier, incident_id: str, site: Site, clock: Clock,
                 lang: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._notifier = notifier
        self._id = incident_id
        self._site = site
        self._clock = clock
        self._lang = lang
        self._tz = site_timezone(site)
        self._keys = self._current_keys()
        self._observe(notifier.changed, self._on_notify)
        self._observe(notifier.outbox.changed, self._on_message)

    # ------------------------------------------------------------------ rows

    def _stages(self) -> list[StageProgress]:
        return stages_of(self._notifier, self._id)

    def _current_keys(self) -> list[tuple[str, int, str, bool]]:
        keys: list[tuple[str, int, str, bool]] = []
        for st in self._stages():
            plan, order = st.key
            keys.extend((plan, order, p, False) for p in st.contacted)
            keys.extend((plan, order, c.person, True) for c in st.informed
                        if c.person not in st.contacted)
        return keys

    def _on_notify(self, incident_id: str) -> None:
        if incident_id != self._id:
            return
        new = self._current_keys()
        old = self._keys
        if new == old:
            self._cols_changed(0, self.columnCount() - 1)
            return
        # Rows are only ever added (people called, stages added); insert them in place.
        if _is_subsequence(old, new):
            i = 0
            while i < len(new):
                if i < len(self._keys) and self._keys[i] == new[i]:
                    i += 1
                    continue
                nxt = self._keys[i] if i < len(self._keys) else None
                j = i
                while j < len(new) and new[j] != nxt:
                    j += 1
                self.beginInsertRows(QModelIndex(), i, j - 1)
                self._keys[i:i] = new[i:j]
                self.endInsertRows()
                i = j
        else:
            self.beginResetModel()
            self._keys = new
            self.endResetModel()
        self._cols_changed(0, self.columnCount() - 1)

    def _on_message(self, m: Message) -> None:
        if m.incident_id != self._id:
            return
        for row, key in enumerate(self._keys):
            if key[2] == m.person:
                self.dataChanged.emit(self.index(row, self.COL_MESSAGES),
                                      self.index(row, self.COL_ANSWER))

    def set_language(self, lang: str) -> None:
        """Show names in ``lang``."""
        self._lang = lang
        self._cols_changed(0, self.columnCount() - 1)
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)

    def refresh_times(self) -> None:
        """Tell views that silent-for times moved on."""
        self._cols_changed(self.COL_ANSWER, self.COL_ANSWER)

    def person_at(self, row: int) -> str | None:
        """Return the person id of ``row``."""
        return self._keys[row][2] if 0 <= row < len(self._keys) else None

    def rows_of(self, person: str) -> list[int]:
        """Return the rows showing ``person``."""
        return [r for r, k in enumerate(self._keys) if k[2] == person]

    # ------------------------------------------------------------------ model

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Return the number of people shown."""
        return 0 if parent.isValid() else len(self._keys)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Return the number of columns."""
        return 0 if parent.isValid() else len(self._HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Return the column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(self._HEADERS[section], self._lang)
        return None

    def _answer(self, st: StageProgress, person: str, informed: bool,
                messages: list[Message]) -> tuple[str, datetime | None]:
        if person in st.acked:
            return "acked", st.acked[person]
        if person in st.declined:
            return "declined", st.declined[person]
        if informed:
            return "informed", None
        sent = [m.sent_at for m in messages if m.sent_at is not None]
        if not sent:
            return "waiting", None
        return "silent", min(sent)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Return what a cell shows."""
        if not index.isValid() or index.row() >= len(self._keys):
            return None
        plan, order, person, informed = self._keys[index.row()]
        st = next((s for s in self._stages() if s.key == (plan, order)), None)
        if st is None:
            return None
        if role == PERSON_ROLE:
            return person
        messages = [m for m in self._notifier.outbox.for_incident(self._id)
                    if m.person == person and m.plan == plan and m.stage == order]
        answer, at = self._answer(st, person, informed, messages)
        if role == SILENT_ROLE:
            return answer == "silent" and not st.superseded
        if role == ANSWER_ROLE:
            return answer
        col = index.column()
        if role == Qt.ItemDataRole.ForegroundRole:
            if st.superseded:
                return QBrush(QColor(MUTED))
            if col == self.COL_ANSWER:
                colour = {"acked": GREEN, "declined": ORANGE, "silent": RED}.get(answer)
                return QBrush(QColor(colour)) if colour else QBrush(QColor(MUTED))
            return None
        if role == Qt.ItemDataRole.FontRole and col == self.COL_ANSWER:
            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.ToolTipRole and col == self.COL_MESSAGES:
            return "\n\n".join(f"{m.id} · {m.address}\n{m.text}" for m in messages) or None
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        contact = st.contact(person)
        if col == self.COL_STAGE:
            text = str(order)
            if len({s.spec.plan for s in self._stages()}) > 1:
                text = f"{plan} · {order}"
            return text + (" " + tr("inc.stage.superseded", self._lang) if st.superseded
                           else "")
        if col == self.COL_PERSON:
            return (f"{person_name(self._site, person, self._lang)}\n"
                    f"{role_name(self._site, contact.role, self._lang)} · {contact.phone}")
        if col == self.COL_MESSAGES:
            return "\n".join(self._message_line(m) for m in messages) or \
                tr("inc.answer.waiting", self._lang)
        if col == self.COL_DELIVERED:
            times = [m.delivered_at for m in messages if m.delivered_at is not None]
            return local_time(min(times), self._tz) if times else "—"
        if col == self.COL_ANSWER:
            return self._answer_text(answer, at)
        return self._escalation_text(st, person, informed, answer)

    def _message_line(self, m: Message) -> str:
        lang = self._lang
        parts = [tr(f"inc.channel.{m.channel}", lang) if m.channel in _CHANNELS else m.channel]
        if m.kind != MessageKind.ALERT:
            parts.append(tr(f"inc.msg.kind.{m.kind.value}", lang))
        if m.sent_at is not None:
            parts.append(local_time(m.sent_at, self._tz))
        parts.append(tr(f"inc.msg.state.{m.state.value}", lang))
        if m.failures:
            parts.append(f"×{m.failures} {m.last_error or ''}".strip())
        return " ".join(parts)

    def _answer_text(self, answer: str, at: datetime | None) -> str:
        lang = self._lang
        if answer in ("acked", "declined") and at is not None:
            return tr(f"inc.answer.{answer}", lang, time=local_time(at, self._tz))
        if answer == "silent" and at is not None:
            return tr("inc.answer.silent", lang, time=duration(since(self._clock.now(), at)))
        return tr(f"inc.answer.{answer}", lang)

    def _escalation_text(self, st: StageProgress, person: str, informed: bool,
                         answer: str) -> str:
        lang = self._lang
        if informed:
            return tr("inc.esc.informed", lang)
        if person in st.contacted[st.spec.first:]:
            return tr("inc.esc.called_later", lang)
        later = [*st.contacted[st.spec.first:], *(c.person for c in st.informed)]
        if answer in ("silent", "declined") and later:
            sep = "、" if lang == "zh" else ", "
            return tr("inc.esc.to", lang, names=sep.join(
                person_name(self._site, p, lang) for p in later))
        return ""


_CHANNELS = frozenset({"sms", "wecom", "dingtalk", "feishu", "webhook", "email", "pa", "phone"})


def _is_subsequence(short: list[Any], long: list[Any]) -> bool:
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


class SilentFilter(QSortFilterProxyModel):
    """Shows only the people called who have not answered, when switched on."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._on = False

    @property
    def silent_only(self) -> bool:
        """Whether only silent people are shown."""
        return self._on

    def set_silent_only(self, on: bool) -> None:
        """Show only silent people (``True``) or everyone."""
        self.beginFilterChange()
        self._on = on
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        """Accept every row, or only silent ones."""
        if not self._on:
            return True
        model = self.sourceModel()
        return bool(model.index(source_row, 0, source_parent).data(SILENT_ROLE))


class PositionLogModel(_Observer):
    """An incident's position log, newest entry first: time, author, text."""

    COL_TIME, COL_AUTHOR, COL_TEXT = range(3)
    _HEADERS = ("inc.log.col.time", "inc.log.col.author", "inc.log.col.text")

    def __init__(self, book: IncidentBook, incident_id: str, site: Site, lang: str,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._book = book
        self._id = incident_id
        self._site = site
        self._lang = lang
        self._tz = site_timezone(site)
        self._n = len(book.incidents[incident_id].log)
        self._observe(book.logged, self._on_logged)

    def set_language(self, lang: str) -> None:
        """Show names in ``lang``."""
        self._lang = lang
        self._cols_changed(0, self.columnCount() - 1)
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)

    def _on_logged(self, inc: Incident, _entry: object) -> None:
        if inc.id != self._id or len(inc.log) <= self._n:
            return
        added = len(inc.log) - self._n
        self.beginInsertRows(QModelIndex(), 0, added - 1)
        self._n = len(inc.log)
        self.endInsertRows()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Return the number of entries."""
        return 0 if parent.isValid() else self._n

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Return the number of columns."""
        return 0 if parent.isValid() else len(self._HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Return the column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(self._HEADERS[section], self._lang)
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Return what a cell shows."""
        if not index.isValid() or index.row() >= self._n:
            return None
        log = self._book.incidents[self._id].log
        entry = log[self._n - 1 - index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.ForegroundRole and entry.kind == "reply":
            return QBrush(QColor(ORANGE))
        if role == Qt.ItemDataRole.ToolTipRole and entry.kind == "reply":
            return tr("inc.log.reply", self._lang)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if col == self.COL_TIME:
            return local_time(entry.at, self._tz)
        if col == self.COL_AUTHOR:
            return actor_name(self._site, entry.author, self._lang)
        if entry.kind == "reply":
            return f"{tr('inc.log.reply', self._lang)}: {entry.text}"
        return entry.text
