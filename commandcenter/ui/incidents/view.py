"""The incident page of the console: open incidents, and the one selected in full.

The selected incident shows a banner in its level's colour (level, plan title, short code) with
a big elapsed timer, where and under whom it runs, and three working areas: the checklist with
each step's time against its target (overdue steps turn red), the notification board (who was
called on which channel, delivered, acknowledged, declined or silent, and where the notifier
escalated) and the position log. Every action goes through the :class:`IncidentDesk`; the
screen changes when the projections announce the recorded events, never before.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from html import escape

from PySide6.QtCore import QItemSelection, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from commandcenter.core.clock import Clock
from commandcenter.core.incidents import ChecklistStep, Incident, StepState, role_name
from commandcenter.core.site import Plan
from commandcenter.services.protocols import IncidentDesk
from commandcenter.ui import i18n
from commandcenter.ui.i18n import name_of, tr
from commandcenter.ui.incidents import (
    strings,  # noqa: F401  (registers the UI strings)
    tasks,
)
from commandcenter.ui.incidents.dialogs import (
    ActivationDialog,
    CloseDialog,
    EscalateDialog,
    NoteDialog,
    PhoneAnswerDialog,
)
from commandcenter.ui.incidents.models import (
    INCIDENT_ID_ROLE,
    OVERDUE_ROLE,
    AckBoardModel,
    ChecklistModel,
    OpenIncidentsModel,
    PositionLogModel,
    SilentFilter,
    answer_counts,
    stages_of,
)
from commandcenter.ui.incidents.people import (
    LocationTexts,
    actor_name,
    clock_duration,
    duration,
    join_list,
    local_time,
    person_name,
    since,
)
from commandcenter.ui.models import site_timezone
from commandcenter.ui.theme import DESK, MONO_FAMILIES, level_colour

RED = "#C62828"
TIMER_PX = 64
"""Size of the console's elapsed timer."""
MONO_CSS = ", ".join(f'"{f}"' for f in MONO_FAMILIES)


ROW_PX = 30
MAX_OWNER_PX = 190
"""The checklist's owner column is cut at this width; step titles get the rest."""
MAX_OPEN_ROWS = 3
"""Open incidents shown without scrolling (the list grows up to this many rows)."""


def default_operator() -> str:
    """Return who works this console when nobody said: ``console:<host name>``."""
    return f"console:{socket.gethostname()}"


def _table(parent: QWidget, name: str) -> QTableView:
    view = QTableView(parent)
    view.setObjectName(name)
    view.verticalHeader().hide()
    view.setShowGrid(False)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setWordWrap(True)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft
                                                | Qt.AlignmentFlag.AlignVCenter)
    return view


class OverdueDelegate(QStyledItemDelegate):
    """Paints overdue checklist cells red with white text, selected or not."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        """Draw overdue time and state cells on red; everything else as usual."""
        if index.data(OVERDUE_ROLE) and index.column() in (ChecklistModel.COL_ELAPSED,
                                                           ChecklistModel.COL_STATE):
            painter.save()
            painter.fillRect(option.rect, QColor(RED))
            font = QFont(option.font)
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(QColor("#FFFFFF"))
            painter.drawText(option.rect.adjusted(6, 0, -4, 0),
                             int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                             str(index.data()))
            painter.restore()
            return
        super().paint(painter, option, index)


def _heading(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setStyleSheet(f"font-size: {DESK.heading_px}px; font-weight: bold; "
                        f"color: {DESK.accent};")
    return label


class IncidentView(QWidget):
    """One incident in full: banner and timer, checklist, notification board, position log.

    Args:
        desk: The incident service.
        clock: The clock timers count by.
        lang: UI language.
        operator: Returns who is acting at this console (recorded with every action).

    Attributes:
        checklist: The checklist table; :attr:`checklist_model` feeds it.
        acks: The notification board (through :attr:`ack_filter`).
        log_view: The position log.
        error: Shows why the last action failed (empty otherwise).
        last_task: The last action started (tests wait for it).
    """

    def __init__(self, desk: IncidentDesk, clock: Clock, lang: str,
                 operator: Callable[[], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._site = desk.site
        self._clock = clock
        self._lang = lang
        self._operator = operator
        self._tz = site_timezone(self._site)
        self._where = LocationTexts(self._site)
        self._id: str | None = None
        self.checklist_model: ChecklistModel | None = None
        self.ack_model: AckBoardModel | None = None
        self.log_model: PositionLogModel | None = None
        self.last_task: object | None = None

        # --- banner
        self.banner = QFrame(self)
        self.banner.setObjectName("incidentBanner")
        self.banner.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.level_label = QLabel(self.banner)
        self.level_label.setObjectName("incidentLevel")
        self.title_label = QLabel(self.banner)
        self.title_label.setObjectName("incidentTitle")
        self.title_label.setWordWrap(True)
        self.code_label = QLabel(self.banner)
        self.code_label.setObjectName("incidentCode")
        self.timer_label = QLabel(self.banner)
        self.timer_label.setObjectName("incidentTimer")
        self.timer_label.setAlignment(Qt.AlignmentFlag.AlignRight
                                      | Qt.AlignmentFlag.AlignVCenter)
        left = QVBoxLayout()
        left.setSpacing(2)
        top = QHBoxLayout()
        top.setSpacing(14)
        top.addWidget(self.level_label)
        top.addWidget(self.code_label)
        top.addStretch(1)
        left.addLayout(top)
        left.addWidget(self.title_label)
        bl = QHBoxLayout(self.banner)
        bl.setContentsMargins(18, 10, 18, 10)
        bl.addLayout(left, 1)
        bl.addWidget(self.timer_label)

        # --- facts and actions
        self.facts = QLabel(self)
        self.facts.setObjectName("incidentFacts")
        self.facts.setWordWrap(True)
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.escalate_button = QPushButton(self)
        self.escalate_button.clicked.connect(self.open_escalation)
        self.close_button = QPushButton(self)
        self.close_button.clicked.connect(self.open_close)
        facts_row = QHBoxLayout()
        facts_row.addWidget(self.facts, 1)
        facts_row.addWidget(self.escalate_button, 0, Qt.AlignmentFlag.AlignTop)
        facts_row.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.error = QLabel(self)
        self.error.setObjectName("incidentError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {RED}; font-weight: bold;")
        self.error.hide()

        # --- checklist
        checklist_box = QWidget(self)
        self.checklist_heading = _heading(checklist_box)
        self.checklist_summary = QLabel(checklist_box)
        self.checklist = _table(checklist_box, "incidentChecklist")
        self.checklist.setItemDelegate(OverdueDelegate(self.checklist))
        self.start_button = QPushButton(checklist_box)
        self.done_button = QPushButton(checklist_box)
        self.na_button = QPushButton(checklist_box)
        self.start_button.clicked.connect(lambda: self.set_step(StepState.IN_PROGRESS))
        self.done_button.clicked.connect(lambda: self.set_step(StepState.DONE))
        self.na_button.clicked.connect(self.open_not_applicable)
        for key, slot in (("S", lambda: self.set_step(StepState.IN_PROGRESS)),
                          ("D", lambda: self.set_step(StepState.DONE)),
                          ("N", self.open_not_applicable)):
            sc = QShortcut(QKeySequence(key), self.checklist)
            sc.setContext(Qt.ShortcutContext.WidgetShortcut)
            sc.activated.connect(slot)
        head = QHBoxLayout()
        head.addWidget(self.checklist_heading)
        head.addStretch(1)
        head.addWidget(self.checklist_summary)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.start_button, self.done_button, self.na_button):
            buttons.addWidget(b)
        cl = QVBoxLayout(checklist_box)
        cl.setContentsMargins(0, 0, 6, 0)
        cl.addLayout(head)
        cl.addWidget(self.checklist, 1)
        cl.addLayout(buttons)

        # --- notification board
        acks_box = QWidget(self)
        self.acks_heading = _heading(acks_box)
        self.acks_summary = QLabel(acks_box)
        self.stage_label = QLabel(acks_box)
        self.stage_label.setObjectName("stageProgress")
        self.stage_label.setWordWrap(True)
        self.stage_label.setTextFormat(Qt.TextFormat.RichText)
        self.silent_only = QCheckBox(acks_box)
        self.phone_button = QPushButton(acks_box)
        self.phone_button.clicked.connect(self.open_phone_answer)
        self.ack_filter = SilentFilter(self)
        self.silent_only.toggled.connect(self.ack_filter.set_silent_only)
        self.acks = _table(acks_box, "incidentAcks")
        self.acks.setModel(self.ack_filter)
        self.acks.doubleClicked.connect(self.open_phone_answer)
        ahead = QHBoxLayout()
        ahead.addWidget(self.acks_heading)
        ahead.addStretch(1)
        ahead.addWidget(self.acks_summary)
        atools = QHBoxLayout()
        atools.addWidget(self.stage_label, 1)
        atools.addWidget(self.silent_only)
        atools.addWidget(self.phone_button)
        al = QVBoxLayout(acks_box)
        al.setContentsMargins(6, 0, 0, 0)
        al.addLayout(ahead)
        al.addLayout(atools)
        al.addWidget(self.acks, 1)

        # --- position log
        log_box = QWidget(self)
        self.log_heading = _heading(log_box)
        self.log_view = _table(log_box, "incidentLog")
        self.log_entry = QLineEdit(log_box)
        self.log_entry.returnPressed.connect(self.add_log_entry)
        self.log_button = QPushButton(log_box)
        self.log_button.clicked.connect(self.add_log_entry)
        entry = QHBoxLayout()
        entry.addWidget(self.log_entry, 1)
        entry.addWidget(self.log_button)
        ll = QVBoxLayout(log_box)
        ll.setContentsMargins(6, 6, 0, 0)
        ll.addWidget(self.log_heading)
        ll.addWidget(self.log_view, 1)
        ll.addLayout(entry)

        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(acks_box)
        right.addWidget(log_box)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        right.setChildrenCollapsible(False)
        body = QSplitter(Qt.Orientation.Horizontal, self)
        body.setObjectName("incidentBody")
        body.addWidget(checklist_box)
        body.addWidget(right)
        body.setStretchFactor(0, 5)
        body.setStretchFactor(1, 6)
        body.setChildrenCollapsible(False)
        body.setSizes([820, 1060])
        self.body = body

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.banner)
        layout.addLayout(facts_row)
        layout.addWidget(self.error)
        layout.addWidget(body, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.tick)
        self._timer.start()
        self._unsubscribe = [desk.book.changed.connect(self._on_changed),
                             desk.notifier.changed.connect(self._on_notify)]
        unsubscribe = self._unsubscribe
        self.destroyed.connect(lambda *_: [u() for u in unsubscribe])
        self.retranslate(lang)

    # ------------------------------------------------------------------ state

    @property
    def incident_id(self) -> str | None:
        """The incident shown."""
        return self._id

    @property
    def incident(self) -> Incident | None:
        """The incident shown, from the book."""
        return self._desk.book.incidents.get(self._id) if self._id else None

    def set_incident(self, incident_id: str | None) -> None:
        """Show ``incident_id`` (``None``: nothing)."""
        if incident_id == self._id:
            return
        self._id = incident_id
        for model in (self.checklist_model, self.ack_model, self.log_model):
            if model is not None:
                model.detach()
                model.deleteLater()
        self.checklist_model = self.ack_model = self.log_model = None
        self.error.hide()
        if incident_id is None:
            self.checklist.setModel(None)
            self.ack_filter.setSourceModel(None)  # type: ignore[arg-type]
            self.log_view.setModel(None)
            return
        site, clock, lang = self._site, self._clock, self._lang
        self.checklist_model = ChecklistModel(self._desk.book, incident_id, site, clock, lang,
                                              self)
        self.ack_model = AckBoardModel(self._desk.notifier, incident_id, site, clock, lang, self)
        self.log_model = PositionLogModel(self._desk.book, incident_id, site, lang, self)
        self.checklist.setModel(self.checklist_model)
        self.ack_filter.setSourceModel(self.ack_model)
        self.log_view.setModel(self.log_model)
        self._size_columns()
        self.checklist.selectionModel().currentRowChanged.connect(self._update_step_buttons)
        if self.checklist_model.rowCount():
            self.checklist.selectRow(self._first_open_row())
        self.refresh()

    def _first_open_row(self) -> int:
        model = self.checklist_model
        assert model is not None
        for row in range(model.rowCount()):
            step = model.step_at(row)
            if step is not None and not step.finished:
                return row
        return 0

    def _size_columns(self) -> None:
        ch = self.checklist.horizontalHeader()
        ch.setSectionResizeMode(ChecklistModel.COL_STEP, QHeaderView.ResizeMode.Stretch)
        for col in (ChecklistModel.COL_TARGET, ChecklistModel.COL_ELAPSED,
                    ChecklistModel.COL_STATE):
            ch.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        ch.setSectionResizeMode(ChecklistModel.COL_OWNER, QHeaderView.ResizeMode.Interactive)
        self.checklist.resizeColumnToContents(ChecklistModel.COL_OWNER)
        ch.resizeSection(ChecklistModel.COL_OWNER,
                         min(ch.sectionSize(ChecklistModel.COL_OWNER), MAX_OWNER_PX))
        self.checklist.verticalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        ah = self.acks.horizontalHeader()
        for col in range(AckBoardModel.COL_ESCALATED + 1):
            ah.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        ah.setSectionResizeMode(AckBoardModel.COL_MESSAGES, QHeaderView.ResizeMode.Stretch)
        ah.setSectionResizeMode(AckBoardModel.COL_ESCALATED, QHeaderView.ResizeMode.Interactive)
        ah.resizeSection(AckBoardModel.COL_ESCALATED, MAX_OWNER_PX)
        self.acks.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        lh = self.log_view.horizontalHeader()
        lh.setSectionResizeMode(PositionLogModel.COL_TIME, QHeaderView.ResizeMode.ResizeToContents)
        lh.setSectionResizeMode(PositionLogModel.COL_AUTHOR,
                                QHeaderView.ResizeMode.ResizeToContents)
        lh.setSectionResizeMode(PositionLogModel.COL_TEXT, QHeaderView.ResizeMode.Stretch)
        self.log_view.verticalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)

    # ------------------------------------------------------------------ drawing

    def retranslate(self, lang: str) -> None:
        """Show everything in ``lang``."""
        self._lang = lang
        self.escalate_button.setText(tr("inc.escalate", lang))
        self.close_button.setText(tr("inc.close", lang))
        self.checklist_heading.setText(tr("inc.checklist", lang))
        self.start_button.setText(tr("inc.step.start", lang))
        self.done_button.setText(tr("inc.step.done", lang))
        self.na_button.setText(tr("inc.step.na", lang))
        self.acks_heading.setText(tr("inc.acks", lang))
        self.silent_only.setText(tr("inc.silent_only", lang))
        self.phone_button.setText(tr("inc.phone_ack", lang))
        self.phone_button.setToolTip(tr("inc.phone_ack.tip", lang))
        self.log_heading.setText(tr("inc.log", lang))
        self.log_entry.setPlaceholderText(tr("inc.log.placeholder", lang))
        self.log_button.setText(tr("inc.log.add", lang))
        for model in (self.checklist_model, self.ack_model, self.log_model):
            if model is not None:
                model.set_language(lang)
        if self.checklist_model is not None:
            self._size_columns()
        self.refresh()

    def refresh(self) -> None:
        """Redraw banner, facts and summaries from the projections."""
        inc = self.incident
        if inc is None:
            return
        lang = self._lang
        c = level_colour(inc.level)
        self.banner.setStyleSheet(
            f"QFrame#incidentBanner {{ background: {c.fill}; border-radius: 6px; }}"
            f"QFrame#incidentBanner QLabel {{ color: {c.text}; }}"
            f"QLabel#incidentLevel {{ font-size: {DESK.title_px}px; font-weight: bold; }}"
            f"QLabel#incidentCode {{ font-size: {DESK.title_px}px; font-weight: bold; }}"
            f"QLabel#incidentTitle {{ font-size: {DESK.title_px + 4}px; font-weight: bold; }}"
            f"QLabel#incidentTimer {{ font-size: {TIMER_PX}px; font-weight: bold; "
            f"font-family: {MONO_CSS}; }}")
        self.level_label.setText(f"{inc.level.value} {name_of('level', inc.level.value, lang)}")
        code = tr("inc.code", lang, code=inc.code)
        if inc.closed and inc.closed_at is not None:
            code += "   " + tr("inc.closed_banner", lang,
                               time=local_time(inc.closed_at, self._tz))
        self.code_label.setText(code)
        self.title_label.setText(inc.plan_title.get(lang) or inc.plan_title.get("zh", inc.plan))
        self.banner.setToolTip(inc.id)
        self.facts.setText(self._facts_html(inc))
        target = self._escalation_target(inc)
        self.escalate_button.setEnabled(not inc.closed and target is not None)
        top = inc.level.is_highest
        self.escalate_button.setToolTip(
            "" if target else tr("inc.escalate.top" if top else "inc.escalate.none", lang))
        self.close_button.setEnabled(not inc.closed)
        for w in (self.log_entry, self.log_button, self.phone_button):
            w.setEnabled(not inc.closed)
        self.tick()

    def _facts_html(self, inc: Incident) -> str:
        lang = self._lang
        site = self._site
        colon = "：" if lang == "zh" else ": "

        def fact(key: str, value: str) -> str:
            return (f"<span style='color:{DESK.muted};'>{escape(tr(key, lang))}{colon}</span>"
                    f"<b>{escape(value)}</b>")

        parts = [
            fact("inc.location", self._where.of(inc, lang)),
            fact("inc.commander", person_name(site, inc.commander, lang)),
            fact("inc.started", tr("inc.started.value", lang,
                                   time=local_time(inc.started_at, self._tz),
                                   by=actor_name(site, inc.activated_by, lang))),
        ]
        if inc.drill_id:
            parts.append(fact("inc.drill", inc.drill_id))
        line = "&nbsp;&nbsp;&nbsp;&nbsp;".join(parts)
        for rec in inc.escalations:
            target = site.plans.get(rec.to_plan)
            title = target.title.get(lang) if target else rec.to_plan
            line += (f"<br><span style='color:{RED};'>" + escape(tr(
                "inc.escalated.value", lang, time=local_time(rec.at, self._tz),
                level=rec.to_level.value, plan=title, by=actor_name(site, rec.by, lang)))
                + "</span>")
        return f"<div style='font-size:{DESK.heading_px}px;'>{line}</div>"

    def tick(self) -> None:
        """Once a second: the timer, the time columns and the summaries."""
        inc = self.incident
        if inc is None:
            return
        now = self._clock.now()
        end = inc.closed_at or now
        self.timer_label.setText(clock_duration(since(end, inc.started_at)))
        for model in (self.checklist_model, self.ack_model):
            if model is not None:
                model.refresh_times()
        lang = self._lang
        done = sum(1 for s in inc.steps if s.finished)
        overdue = len(inc.overdue_steps(now))
        summary = tr("inc.checklist.summary", lang, done=done, total=len(inc.steps),
                     overdue=overdue)
        self.checklist_summary.setText(summary)
        self.checklist_summary.setStyleSheet(
            f"color: {RED}; font-weight: bold;" if overdue else f"color: {DESK.muted};")
        self._update_acks(inc)

    def _update_acks(self, inc: Incident) -> None:
        lang = self._lang
        now = self._clock.now()
        stages = stages_of(self._desk.notifier, inc.id)
        called, acked, declined, silent = answer_counts(stages)
        self.acks_summary.setText(tr("inc.acks.summary", lang, called=called, acked=acked,
                                     declined=declined, silent=silent))
        parts = []
        for st in stages:
            if st.superseded:
                continue
            text = tr("inc.stage.progress", lang, order=st.spec.order, acked=st.counted,
                      need=st.spec.need_acks)
            short = st.missing_by_role
            if short and not inc.closed:
                text += " " + tr("inc.stage.short", lang, roles=join_list(
                    (f"{role_name(self._site, r, lang)} {n}" for r, n in short.items()), lang))
            if st.satisfied:
                colour, extra = "#2E7D32", tr("inc.stage.met", lang)
            elif inc.closed:
                colour, extra = DESK.muted, ""
            elif now < st.deadline:
                colour = DESK.text
                extra = tr("inc.stage.left", lang, time=duration(since(st.deadline, now)))
            else:
                colour, extra = RED, tr("inc.stage.missed", lang)
            parts.append(f"<span style='color:{colour};'><b>{escape(text)}</b> "
                         f"{escape(extra)}</span>")
        self.stage_label.setText("&nbsp;&nbsp;·&nbsp;&nbsp;".join(parts))

    def _on_changed(self, inc: Incident) -> None:
        if inc.id == self._id:
            self.refresh()
            self._update_step_buttons()

    def _on_notify(self, incident_id: str) -> None:
        inc = self.incident
        if inc is not None and incident_id == inc.id:
            self._update_acks(inc)

    # ------------------------------------------------------------------ actions

    def _run(self, coro: object) -> object:
        self.error.hide()
        self.last_task = tasks.run(coro, failed=self._failed)  # type: ignore[arg-type]
        return self.last_task

    def _failed(self, err: BaseException) -> None:
        self.error.setText(tr("inc.failed", self._lang, error=err))
        self.error.show()

    def current_step(self) -> ChecklistStep | None:
        """The step selected in the checklist."""
        if self.checklist_model is None:
            return None
        return self.checklist_model.step_at(self.checklist.currentIndex().row())

    def _update_step_buttons(self, *_args: object) -> None:
        step = self.current_step()
        inc = self.incident
        open_ = inc is not None and not inc.closed and step is not None
        self.start_button.setEnabled(open_ and step is not None
                                     and step.state == StepState.OPEN)
        self.done_button.setEnabled(open_ and step is not None and not step.finished)
        self.na_button.setEnabled(open_ and step is not None and not step.finished)

    def set_step(self, state: StepState, note: str = "") -> object | None:
        """Mark the selected step (start, done, or not applicable with ``note``)."""
        step = self.current_step()
        if step is None or self._id is None:
            return None
        return self._run(self._desk.set_step(self._id, step.plan, step.id, state.value,
                                             by=self._operator(), note=note))

    def open_not_applicable(self) -> NoteDialog | None:
        """Ask why the selected step does not apply, then mark it so."""
        step = self.current_step()
        if step is None or step.finished:
            return None
        title = step.title.get(self._lang) or step.title.get("zh", step.id)
        dialog = NoteDialog(title, self._lang, self)
        dialog.accepted.connect(
            lambda: self.set_step(StepState.NOT_APPLICABLE, dialog.note.text().strip()))
        dialog.open()
        return dialog

    def add_log_entry(self) -> object | None:
        """Record the text of the entry box in the position log."""
        text = self.log_entry.text().strip()
        if not text or self._id is None:
            return None
        self.log_entry.clear()
        return self._run(self._desk.log(self._id, text=text, author=self._operator()))

    def selected_person(self) -> str | None:
        """The person selected on the notification board."""
        index = self.acks.currentIndex()
        if not index.isValid() or self.ack_model is None:
            return None
        return self.ack_model.person_at(self.ack_filter.mapToSource(index).row())

    def open_phone_answer(self, *_args: object) -> PhoneAnswerDialog | None:
        """Record an answer taken by phone for the selected person (asks who took it)."""
        person = self.selected_person()
        if person is None or self._id is None:
            return None
        incident_id = self._id
        dialog = PhoneAnswerDialog(person_name(self._site, person, self._lang),
                                   self._operator(), self._lang, self)
        dialog.accepted.connect(lambda: self._run(self._desk.record_answer(
            incident_id, person, recorded_by=dialog.recorded_by, declined=dialog.declined)))
        dialog.open()
        return dialog

    def _escalation_target(self, inc: Incident) -> Plan | None:
        current = self._site.plans.get(inc.plan)
        if current is None or current.escalates_to is None:
            return None
        return self._site.plans.get(current.escalates_to)

    def open_escalation(self) -> EscalateDialog | None:
        """Confirm the escalation to the next plan (who it adds), then escalate."""
        inc = self.incident
        if inc is None or inc.closed:
            return None
        target = self._escalation_target(inc)
        if target is None:
            return None
        try:
            preview = self._desk.preview(target.id, inc.location if isinstance(
                inc.location, str) else list(inc.location))
        except Exception as err:
            self._failed(err)
            return None
        dialog = EscalateDialog(self._site, inc, target, preview, self._lang, self)
        incident_id = inc.id
        dialog.accepted.connect(lambda: self._run(self._desk.escalate(
            incident_id, by=self._operator())))
        dialog.open()
        return dialog

    def open_close(self) -> CloseDialog | None:
        """Confirm the termination conditions, then close the incident."""
        inc = self.incident
        if inc is None or inc.closed:
            return None
        dialog = CloseDialog(inc, self._lang, self)
        incident_id = inc.id
        dialog.accepted.connect(lambda: self._run(self._desk.close(
            incident_id, by=self._operator(), confirmed=dialog.confirmed)))
        dialog.open()
        return dialog

    def shutdown(self) -> None:
        """Stop the timer and stop following the projections (idempotent)."""
        self._timer.stop()
        while self._unsubscribe:
            self._unsubscribe.pop()()
        self.set_incident(None)


class IncidentsPage(QWidget):
    """The console page: activate, the open incidents, the selected incident.

    Args:
        desk: The incident service.
        clock: The clock the screen counts by.
        lang: UI language (follows later switches).
        on_activated: Called with the new incident id after an activation from this console.

    Attributes:
        open_model: The open incidents.
        open_view: The table of open incidents.
        view: The selected incident.
        operator: Who works this console (recorded with every action).
        last_dialog: The dialog opened last (tests drive it).
    """

    def __init__(self, desk: IncidentDesk, clock: Clock, lang: str | None = None,
                 on_activated: Callable[[str], None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._clock = clock
        self._lang = lang or i18n.current()
        self._on_activated = on_activated
        self.last_dialog: ActivationDialog | None = None

        self.activate_button = QPushButton(self)
        self.activate_button.setObjectName("activateButton")
        self.activate_button.clicked.connect(lambda _checked=False: self.open_activation())
        sc = QShortcut(QKeySequence("Ctrl+N"), self)
        sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        sc.activated.connect(self.open_activation)
        self.operator_label = QLabel(self)
        self.operator = QLineEdit(default_operator(), self)
        self.operator.setObjectName("operator")
        self.operator.setMaximumWidth(260)
        bar = QHBoxLayout()
        bar.addWidget(self.activate_button)
        bar.addStretch(1)
        bar.addWidget(self.operator_label)
        bar.addWidget(self.operator)

        self.open_model = OpenIncidentsModel(desk.book, desk.notifier, desk.site, clock,
                                             self._lang, self)
        self.open_view = _table(self, "openIncidents")
        self.open_view.setWordWrap(False)
        self.open_view.setModel(self.open_model)
        oh = self.open_view.horizontalHeader()
        for col in range(self.open_model.columnCount()):
            oh.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        oh.setSectionResizeMode(OpenIncidentsModel.COL_PLAN, QHeaderView.ResizeMode.Stretch)
        self.open_view.verticalHeader().setDefaultSectionSize(ROW_PX)
        self.open_view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.open_view.selectionModel().selectionChanged.connect(self._on_selection)
        self.open_model.rowsInserted.connect(self._on_rows_inserted)
        self.open_model.rowsRemoved.connect(self._update_open_list)

        self.view = IncidentView(desk, clock, self._lang, self.current_operator, self)
        self.empty = QWidget(self)
        self.empty_title = QLabel(self.empty)
        self.empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_title.setStyleSheet(f"font-size: {DESK.title_px}px; color: {DESK.muted};")
        self.empty_hint = QLabel(self.empty)
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setStyleSheet(f"color: {DESK.muted};")
        el = QVBoxLayout(self.empty)
        el.addStretch(1)
        el.addWidget(self.empty_title)
        el.addWidget(self.empty_hint)
        el.addStretch(2)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.view)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(8)
        layout.addLayout(bar)
        layout.addWidget(self.open_view)
        layout.addWidget(self.stack, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.open_model.refresh_times)
        self._timer.start()
        i18n.language().changed.connect(self.retranslate)
        self._following_language = True
        self.retranslate(self._lang)
        if self.open_model.rowCount():
            self.select_incident(self.open_model.incident_ids()[-1])
        self._update_open_list()

    def current_operator(self) -> str:
        """Who works this console (the box, or the host name when it is empty)."""
        return self.operator.text().strip() or default_operator()

    def retranslate(self, lang: str) -> None:
        """Show everything in ``lang``."""
        self._lang = lang
        self.activate_button.setText(tr("inc.activate", lang))
        self.activate_button.setToolTip(tr("inc.activate.tip", lang))
        self.operator_label.setText(tr("inc.operator", lang))
        self.operator.setToolTip(tr("inc.operator.tip", lang))
        self.empty_title.setText(tr("inc.none_open", lang))
        self.empty_hint.setText(tr("inc.none_open.hint", lang))
        self.open_model.set_language(lang)
        self.view.retranslate(lang)

    def select_incident(self, incident_id: str) -> bool:
        """Show ``incident_id`` (selecting its row when it is open); return whether it exists."""
        if incident_id not in self._desk.book.incidents:
            return False
        row = self.open_model.row_of(incident_id)
        if row >= 0:
            self.open_view.selectRow(row)
        self.view.set_incident(incident_id)
        self.stack.setCurrentWidget(self.view)
        return True

    def _on_selection(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if indexes:
            self.view.set_incident(indexes[0].data(INCIDENT_ID_ROLE))
            self.stack.setCurrentWidget(self.view)

    def _on_rows_inserted(self, _parent: QModelIndex, first: int, _last: int) -> None:
        if self.view.incident_id is None or self.view.incident is None \
                or self.view.incident.closed:
            self.select_incident(self.open_model.incident_ids()[first])
        self._update_open_list()

    def _update_open_list(self, *_args: object) -> None:
        rows = self.open_model.rowCount()
        header = self.open_view.horizontalHeader().sizeHint().height()
        self.open_view.setFixedHeight(header + ROW_PX * min(max(rows, 1), MAX_OPEN_ROWS) + 4)
        self.open_view.setVisible(rows > 0)
        if self.open_model.rowCount() == 0 and self.view.incident is None:
            self.stack.setCurrentWidget(self.empty)

    def open_activation(self, plan: Plan | None = None,
                        location: str | None = None) -> ActivationDialog:
        """Open the activation dialog.

        ``plan`` is chosen already when it comes from the plan view or an alarm's suggestion;
        ``location`` (a building id) when it comes from an alarm's gauge.
        """
        dialog = ActivationDialog(self._desk, self._clock, self._lang, self.current_operator,
                                  plan, self, location=location)
        dialog.activated.connect(self._activated)
        self.last_dialog = dialog
        dialog.open()
        return dialog

    def _activated(self, incident_id: str) -> None:
        self.select_incident(incident_id)
        if self._on_activated is not None:
            self._on_activated(incident_id)

    def shutdown(self) -> None:
        """Stop timers and stop following the projections (idempotent)."""
        self._timer.stop()
        self.view.shutdown()
        self.open_model.detach()
        if self._following_language:
            self._following_language = False
            i18n.language().changed.disconnect(self.retranslate)
