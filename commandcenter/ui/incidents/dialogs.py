"""The incident dialogs: activation, escalation, closing, a phone answer, a step's note.

Every dialog is keyboard-first: Enter takes the highlighted default action, Esc cancels.
They are opened window-modal with :meth:`QDialog.open` so the qasync loop keeps running.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from commandcenter.core.clock import Clock
from commandcenter.core.incidents import (
    Contact,
    Incident,
    ShiftSchedule,
    nearest_building,
    point_fault,
    role_name,
)
from commandcenter.core.site import Plan, Site
from commandcenter.services.protocols import ActivationPreview, IncidentDesk
from commandcenter.ui.i18n import name_of, tr
from commandcenter.ui.incidents import (
    strings,  # noqa: F401  (registers the UI strings)
    tasks,
)
from commandcenter.ui.incidents.people import (
    commander_candidates,
    join_list,
    location_text,
    parse_point,
    person_name,
)
from commandcenter.ui.theme import DESK, level_colour

BUILDING_ROLE = Qt.ItemDataRole.UserRole + 1
"""Item data role of the location list: the building id."""


def _minimum(dialog: QDialog, layout: QLayout, width: int, height: int) -> None:
    # A fixed minimum instead of one the layout recomputes (see MainWindow).
    layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
    dialog.setMinimumSize(width, height)
    dialog.resize(width, height)


def _level_banner_css(level: str) -> str:
    c = level_colour(level)
    return (f"background: {c.fill}; color: {c.text}; font-weight: bold; border-radius: 4px; "
            f"padding: 6px 12px; font-size: {DESK.heading_px}px;")


def _person_html(site: Site, c: Contact, lang: str) -> str:
    role = role_name(site, c.role, lang)
    if not c.on_shift:
        role += ("，" if lang == "zh" else ", ") + tr("inc.act.off_shift", lang)
    left, right = ("（", "）") if lang == "zh" else (" (", ")")
    return (f"<b>{escape(person_name(site, c.person, lang))}</b>"
            f"<span style='color:{DESK.muted};'>{left}{escape(role)}{right}</span>")


def stages_html(site: Site, plan: Plan, preview: ActivationPreview, lang: str,
                skip: frozenset[str] = frozenset()) -> str:
    """Return the notification order of ``preview`` as HTML: stage, people with their roles."""
    by_order = {s.order: s for s in plan.notification}
    rows = []
    for order, contacts in preview.stages:
        spec = by_order.get(order)
        minutes = f"{spec.ack_within_min:g}" if spec else "—"
        if spec is not None and spec.need_by_role:
            need = join_list([tr("inc.act.stage.role_need", lang, role=role_name(site, r, lang),
                             count=n) for r, n in spec.need_by_role.items()], lang)
            head = tr("inc.act.stage.roles", lang, order=order, need=need, minutes=minutes)
        else:
            head = tr("inc.act.stage", lang, order=order,
                      need=spec.total_acks if spec else 1, minutes=minutes)
        people = [c for c in contacts if c.person not in skip]
        names = join_list([_person_html(site, c, lang) for c in people], lang) if people else \
            escape(tr("inc.act.stage.nobody", lang))
        rows.append(f"<p style='margin:0 0 8px 0;'><span style='color:{DESK.accent};"
                    f"font-weight:bold;'>{escape(head)}</span><br>{names}</p>")
    if preview.notes:
        notes = "".join(f"<li>{escape(n)}</li>" for n in preview.notes)
        rows.append(f"<p style='margin:8px 0 0 0; color:#B45309;'><b>"
                    f"{escape(tr('inc.act.notes', lang))}</b></p><ul style='color:#B45309;"
                    f"margin-top:0;'>{notes}</ul>")
    return "".join(rows)


class ActivationDialog(QDialog):
    """Choose location and commander, then confirm once: the one-click activation.

    Page 1 asks for the plan (unless given), the location (search the site's buildings, or a
    map point ``lat, lon`` checked against the site, with the nearest building shown) and
    the commander (people holding the plan's command roles, on shift first). Enter goes on to
    page 2, which shows level, plan, location, commander and who will be notified per stage
    (from :meth:`IncidentDesk.preview`, with its notes). Enter there activates; Esc cancels.

    Signals:
        activated(str): the incident id, once :meth:`IncidentDesk.activate` returned it.
    """

    activated = Signal(str)

    def __init__(self, desk: IncidentDesk, clock: Clock, lang: str,
                 operator: Callable[[], str], plan: Plan | None = None,
                 parent: QWidget | None = None, *, location: str | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._site = desk.site
        self._clock = clock
        self._lang = lang
        self._operator = operator
        self._schedule = ShiftSchedule.for_site(self._site)
        self.preview: ActivationPreview | None = None
        self.task: object | None = None
        self.setWindowTitle(tr("inc.act.title", lang))

        # --- page 1: choose
        choose = QWidget(self)
        self.plan_combo = QComboBox(choose)
        plans = sorted(self._site.plans.values(), key=lambda p: (p.level.rank, p.id))
        for p in plans:
            self.plan_combo.addItem(f"{p.level.value} · {p.title.get(lang)}  ({p.id})", p.id)
        if plan is not None:
            self.plan_combo.setCurrentIndex(self.plan_combo.findData(plan.id))
        self.plan_combo.currentIndexChanged.connect(self._fill_commanders)
        self.search = QLineEdit(choose)
        self.search.setPlaceholderText(tr("inc.act.location.search", lang))
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter_locations)
        self.locations = QListWidget(choose)
        for b in sorted(self._site.buildings.values(), key=lambda b: b.id):
            item = QListWidgetItem(f"{b.id}   {b.name.get(lang)}")
            item.setData(BUILDING_ROLE, b.id)
            other = b.name.get("en" if lang == "zh" else "zh")
            item.setData(Qt.ItemDataRole.ToolTipRole, other)
            item.setData(Qt.ItemDataRole.UserRole + 2,
                         f"{b.id} {b.name.zh} {b.name.en or ''} {' '.join(b.hazards)}".lower())
            self.locations.addItem(item)
            if b.id == location:
                self.locations.setCurrentItem(item)
        self.commander_combo = QComboBox(choose)
        self.choose_error = QLabel(choose)
        self.choose_error.setWordWrap(True)
        self.choose_error.setStyleSheet("color: #C62828; font-weight: bold;")
        # a building or unit from the list, or a point read off the map
        self.building_mode = QRadioButton(tr("inc.act.loc.building", lang), choose)
        self.point_mode = QRadioButton(tr("inc.act.loc.point", lang), choose)
        self.building_mode.setChecked(True)
        modes = QButtonGroup(choose)
        modes.addButton(self.building_mode)
        modes.addButton(self.point_mode)
        self.point_edit = QLineEdit(choose)
        self.point_edit.setObjectName("activationPoint")
        self.point_edit.setPlaceholderText(tr("inc.act.point.placeholder", lang))
        self.point_edit.setClearButtonEnabled(True)
        self.point_edit.textChanged.connect(self._check_point)
        self.point_info = QLabel(tr("inc.act.point.hint", lang), choose)
        self.point_info.setWordWrap(True)
        point_page = QWidget(choose)
        point_box = QVBoxLayout(point_page)
        point_box.setContentsMargins(0, 0, 0, 0)
        point_box.addWidget(self.point_edit)
        point_box.addWidget(self.point_info)
        point_box.addStretch(1)
        building_page = QWidget(choose)
        building_box = QVBoxLayout(building_page)
        building_box.setContentsMargins(0, 0, 0, 0)
        building_box.setSpacing(4)
        building_box.addWidget(self.search)
        building_box.addWidget(self.locations, 1)
        self.location_pages = QStackedWidget(choose)
        self.location_pages.addWidget(building_page)
        self.location_pages.addWidget(point_page)
        self.point_mode.toggled.connect(self._mode_changed)
        form = QFormLayout()
        form.addRow(tr("inc.act.plan", lang), self.plan_combo)
        mode_row = QHBoxLayout()
        mode_row.addWidget(self.building_mode)
        mode_row.addWidget(self.point_mode)
        mode_row.addStretch(1)
        loc_box = QVBoxLayout()
        loc_box.setSpacing(4)
        loc_box.addLayout(mode_row)
        loc_box.addWidget(self.location_pages, 1)
        form.addRow(tr("inc.act.location", lang), loc_box)
        form.addRow(tr("inc.act.commander", lang), self.commander_combo)
        self.next_button = QPushButton(tr("inc.act.next", lang), choose)
        self.next_button.clicked.connect(self.show_confirmation)
        cancel1 = QPushButton(tr("inc.act.cancel", lang), choose)
        cancel1.setAutoDefault(False)
        cancel1.clicked.connect(self.reject)
        row1 = QHBoxLayout()
        row1.addWidget(self.choose_error, 1)
        row1.addWidget(cancel1)
        row1.addWidget(self.next_button)
        l1 = QVBoxLayout(choose)
        l1.addLayout(form, 1)
        l1.addLayout(row1)

        # --- page 2: confirm
        confirm = QWidget(self)
        self.level_label = QLabel(confirm)
        self.level_label.setObjectName("activationLevel")
        self.title_label = QLabel(confirm)
        self.title_label.setWordWrap(True)
        self.title_label.setStyleSheet(f"font-size: {DESK.title_px}px; font-weight: bold;")
        self.where_label = QLabel(confirm)
        self.where_label.setWordWrap(True)
        self.where_label.setStyleSheet(f"font-size: {DESK.heading_px}px;")
        intro = QLabel(tr("inc.act.confirm_intro", lang), confirm)
        intro.setWordWrap(True)
        self.stages_view = QTextBrowser(confirm)
        self.stages_view.setObjectName("activationStages")
        self.confirm_error = QLabel(confirm)
        self.confirm_error.setWordWrap(True)
        self.confirm_error.setStyleSheet("color: #C62828; font-weight: bold;")
        self.back_button = QPushButton(tr("inc.act.back", lang), confirm)
        self.back_button.setAutoDefault(False)
        self.back_button.clicked.connect(self.show_choice)
        cancel2 = QPushButton(tr("inc.act.cancel", lang), confirm)
        cancel2.setAutoDefault(False)
        cancel2.clicked.connect(self.reject)
        self.confirm_button = QPushButton(tr("inc.act.confirm", lang), confirm)
        self.confirm_button.setObjectName("activationConfirm")
        self.confirm_button.clicked.connect(self.confirm)
        top = QHBoxLayout()
        top.addWidget(self.level_label, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.title_label, 1)
        row2 = QHBoxLayout()
        row2.addWidget(self.back_button)
        row2.addStretch(1)
        row2.addWidget(cancel2)
        row2.addWidget(self.confirm_button)
        l2 = QVBoxLayout(confirm)
        l2.addLayout(top)
        l2.addWidget(self.where_label)
        l2.addWidget(intro)
        l2.addWidget(self.stages_view, 1)
        l2.addWidget(self.confirm_error)
        l2.addLayout(row2)

        self.pages = QStackedWidget(self)
        self.pages.addWidget(choose)
        self.pages.addWidget(confirm)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)
        _minimum(self, layout, 760, 600)
        self._fill_commanders()
        self._filter_locations("")
        self.show_choice()

    # ------------------------------------------------------------------ choices

    @property
    def plan(self) -> Plan:
        """The plan chosen."""
        return self._site.plans[self.plan_combo.currentData()]

    @property
    def location(self) -> str | tuple[float, float] | None:
        """The building chosen, or the map point entered (when valid for this site), if any."""
        if self.point_mode.isChecked():
            return self.point
        item = self.locations.currentItem()
        return item.data(BUILDING_ROLE) if item is not None and not item.isHidden() else None

    @property
    def point(self) -> tuple[float, float] | None:
        """The map point entered, if it is a valid place on this site."""
        point = parse_point(self.point_edit.text())
        if point is None or self._point_problem(point) is not None:
            return None
        return point

    def _point_problem(self, point: tuple[float, float]) -> str | None:
        fault = point_fault(self._site, point)
        if fault is None:
            return None
        if fault[0] == "invalid":
            return tr("inc.act.point.invalid", self._lang)
        return tr("inc.act.point.outside", self._lang, km=f"{fault[1] / 1000:.1f}")

    def choose_point(self, lat: float, lon: float) -> bool:
        """Switch to a map point and enter ``lat, lon``; return whether it is valid here."""
        self.point_mode.setChecked(True)
        self.point_edit.setText(f"{lat:.6f}, {lon:.6f}")
        return self.location is not None

    def _mode_changed(self, point: bool) -> None:
        self.location_pages.setCurrentIndex(1 if point else 0)
        self.choose_error.setText("")
        (self.point_edit if point else self.search).setFocus(Qt.FocusReason.OtherFocusReason)

    def _check_point(self, text: str) -> None:
        """Say what the point entered is: near which building, or what is wrong with it."""
        lang = self._lang
        self.choose_error.setText("")
        if not text.strip():
            self.point_info.setText(tr("inc.act.point.hint", lang))
            self.point_info.setStyleSheet("")
            return
        point = parse_point(text)
        problem = tr("inc.act.point.bad", lang, text=text.strip()) if point is None else \
            self._point_problem(point)
        if problem is not None:
            self.point_info.setText(problem)
            self.point_info.setStyleSheet("color: #C62828;")
            return
        assert point is not None
        near = nearest_building(self._site, point)
        if near is None:
            self.point_info.setText(location_text(self._site, point, lang))
        else:
            b, metres = near
            name = f"{b.name.get(lang)} ({b.id})"
            self.point_info.setText(
                tr("inc.act.point.in", lang, name=name) if metres == 0 else
                tr("inc.act.point.near", lang, name=name, metres=f"{metres:.0f}"))
        self.point_info.setStyleSheet(f"color: {DESK.text};")

    @property
    def commander(self) -> str | None:
        """The person id of the commander chosen, if any."""
        value = self.commander_combo.currentData()
        return str(value) if value else None

    def choose_location(self, building_id: str) -> bool:
        """Select ``building_id`` in the list (clearing the search); return success."""
        self.search.clear()
        for i in range(self.locations.count()):
            item = self.locations.item(i)
            if item.data(BUILDING_ROLE) == building_id:
                self.locations.setCurrentItem(item)
                return True
        return False

    def _fill_commanders(self, *_args: object) -> None:
        lang = self._lang
        self.commander_combo.clear()
        choices = commander_candidates(self._site, self.plan, self._schedule,
                                       self._clock.now())
        for c in choices:
            shift = tr("inc.act.on_shift" if c.on_shift else "inc.act.off_shift", lang)
            self.commander_combo.addItem(
                f"{person_name(self._site, c.person.id, lang)} — "
                f"{role_name(self._site, c.role, lang)}（{shift}）  {c.person.phone}",
                c.person.id)
        if not choices:
            self.commander_combo.addItem(tr("inc.act.no_commander", lang), "")

    def _filter_locations(self, text: str) -> None:
        terms = text.lower().split()
        first: QListWidgetItem | None = None
        for i in range(self.locations.count()):
            item = self.locations.item(i)
            hay = str(item.data(Qt.ItemDataRole.UserRole + 2))
            hidden = not all(t in hay for t in terms)
            item.setHidden(hidden)
            if not hidden and first is None:
                first = item
        current = self.locations.currentItem()
        if (current is None or current.isHidden()) and first is not None:
            self.locations.setCurrentItem(first)

    # ------------------------------------------------------------------ pages

    def show_choice(self) -> None:
        """Go to page 1 (choose); the search box (or the point entry) has the focus."""
        self.pages.setCurrentIndex(0)
        self.next_button.setDefault(True)
        self.confirm_button.setDefault(False)
        field = self.point_edit if self.point_mode.isChecked() else self.search
        field.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_confirmation(self) -> bool:
        """Go to page 2 with the preview of who will be notified; False if a choice is missing."""
        lang = self._lang
        if self.location is None:
            if self.point_mode.isChecked():
                point = parse_point(self.point_edit.text())
                problem = self._point_problem(point) if point is not None else None
                self.choose_error.setText(problem or tr("inc.act.need_point", lang))
            else:
                self.choose_error.setText(tr("inc.act.need_location", lang))
            return False
        if self.commander is None:
            self.choose_error.setText(tr("inc.act.need_commander", lang))
            return False
        self.choose_error.setText("")
        plan = self.plan
        try:
            self.preview = self._desk.preview(plan.id, self.location)
        except Exception as err:
            self.choose_error.setText(tr("inc.failed", lang, error=err))
            return False
        level = self.preview.level
        self.level_label.setText(f"{level} {name_of('level', level, lang)}")
        self.level_label.setStyleSheet(_level_banner_css(level))
        self.title_label.setText(plan.title.get(lang))
        where = location_text(self._site, self.location, lang)
        who = person_name(self._site, self.commander, lang)
        colon = "：" if lang == "zh" else ": "
        self.where_label.setText(
            f"{escape(tr('inc.act.location', lang))}{colon}<b>{escape(where)}</b>"
            f"&nbsp;&nbsp;&nbsp;{escape(tr('inc.act.commander', lang))}{colon}<b>"
            f"{escape(who)}</b>")
        self.stages_view.setHtml(stages_html(self._site, plan, self.preview, lang))
        self.confirm_error.setText("")
        self.pages.setCurrentIndex(1)
        self.next_button.setDefault(False)
        self.confirm_button.setDefault(True)
        self.confirm_button.setEnabled(True)
        self.confirm_button.setFocus(Qt.FocusReason.OtherFocusReason)
        return True

    def confirm(self) -> None:
        """Activate the plan (Enter on page 2); the dialog closes when the desk has done it."""
        if self.pages.currentIndex() != 1 or not self.confirm_button.isEnabled():
            return
        location, commander = self.location, self.commander
        if location is None or commander is None:
            return
        self.confirm_button.setEnabled(False)
        self.back_button.setEnabled(False)
        self.confirm_error.setText(tr("inc.act.activating", self._lang))
        self.task = tasks.run(
            self._desk.activate(self.plan.id, location, commander=commander,
                                by=self._operator()),
            done=self._done, failed=self._failed)

    def _done(self, incident_id: str) -> None:
        self.activated.emit(incident_id)
        self.accept()

    def _failed(self, err: BaseException) -> None:
        self.confirm_error.setText(tr("inc.failed", self._lang, error=err))
        self.confirm_button.setEnabled(True)
        self.back_button.setEnabled(True)

    def reject(self) -> None:
        """Esc / Cancel: nothing is activated (not while the desk is already activating)."""
        if self.pages.currentIndex() == 1 and not self.back_button.isEnabled():
            return
        super().reject()


class NoteDialog(QDialog):
    """Asks why a step does not apply; OK only with a note."""

    def __init__(self, step_title: str, lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("inc.step.na.title", lang))
        prompt = QLabel(tr("inc.step.na.prompt", lang, step=step_title), self)
        prompt.setWordWrap(True)
        self.note = QLineEdit(self)
        self.ok = QPushButton(tr("inc.step.na", lang).split(" ")[0].rstrip("…"), self)
        self.ok.setDefault(True)
        self.ok.setEnabled(False)
        self.ok.clicked.connect(self.accept)
        cancel = QPushButton(tr("inc.act.cancel", lang), self)
        cancel.setAutoDefault(False)
        cancel.clicked.connect(self.reject)
        self.note.textChanged.connect(lambda t: self.ok.setEnabled(bool(t.strip())))
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(cancel)
        row.addWidget(self.ok)
        layout = QVBoxLayout(self)
        layout.addWidget(prompt)
        layout.addWidget(self.note)
        layout.addLayout(row)
        _minimum(self, layout, 520, 170)

    def accept(self) -> None:
        """Only with a note."""
        if self.note.text().strip():
            super().accept()


class PhoneAnswerDialog(QDialog):
    """Records an answer taken by phone: who answered, coming or not, and who took the call."""

    def __init__(self, who: str, taker: str, lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("inc.phone.title", lang))
        person = QLabel(f"<b>{escape(who)}</b>", self)
        person.setStyleSheet(f"font-size: {DESK.heading_px}px;")
        self.coming = QRadioButton(tr("inc.phone.ack", lang), self)
        self.not_coming = QRadioButton(tr("inc.phone.decline", lang), self)
        self.coming.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.coming)
        group.addButton(self.not_coming)
        self.taker = QLineEdit(taker, self)
        self.error = QLabel(self)
        self.error.setStyleSheet("color: #C62828;")
        answers = QHBoxLayout()
        answers.addWidget(self.coming)
        answers.addWidget(self.not_coming)
        answers.addStretch(1)
        form = QFormLayout()
        form.addRow(tr("inc.phone.person", lang), person)
        form.addRow("", answers)
        form.addRow(tr("inc.phone.recorded_by", lang), self.taker)
        self.ok = QPushButton(tr("inc.log.add", lang), self)
        self.ok.setDefault(True)
        self.ok.clicked.connect(self.accept)
        cancel = QPushButton(tr("inc.act.cancel", lang), self)
        cancel.setAutoDefault(False)
        cancel.clicked.connect(self.reject)
        self._lang = lang
        row = QHBoxLayout()
        row.addWidget(self.error, 1)
        row.addWidget(cancel)
        row.addWidget(self.ok)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(row)
        _minimum(self, layout, 520, 200)
        self.taker.setFocus(Qt.FocusReason.OtherFocusReason)
        self.taker.selectAll()

    @property
    def declined(self) -> bool:
        """True when the person cannot come."""
        return self.not_coming.isChecked()

    @property
    def recorded_by(self) -> str:
        """Who took the call."""
        return self.taker.text().strip()

    def accept(self) -> None:
        """Only with who took the call."""
        if not self.recorded_by:
            self.error.setText(tr("inc.phone.need_who", self._lang))
            return
        super().accept()


class EscalateDialog(QDialog):
    """Confirms an escalation: the next level and plan, and who it adds to the call list."""

    def __init__(self, site: Site, incident: Incident, target: Plan, preview: ActivationPreview,
                 lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("inc.esc.title", lang))
        intro = QLabel(tr("inc.esc.intro", lang, from_level=incident.level.value,
                          from_plan=incident.plan_title.get(lang) or incident.plan), self)
        intro.setWordWrap(True)
        level = target.level.value
        self.level_label = QLabel(f"{level} {name_of('level', level, lang)}", self)
        self.level_label.setStyleSheet(_level_banner_css(target.level.value))
        title = QLabel(f"{target.title.get(lang)}  ({target.id})", self)
        title.setWordWrap(True)
        title.setStyleSheet(f"font-size: {DESK.title_px}px; font-weight: bold;")
        added = QLabel(tr("inc.esc.added", lang), self)
        self.stages_view = QTextBrowser(self)
        self.stages_view.setHtml(stages_html(site, target, preview, lang))
        self.ok = QPushButton(tr("inc.esc.confirm", lang), self)
        self.ok.setDefault(True)
        self.ok.clicked.connect(self.accept)
        cancel = QPushButton(tr("inc.act.cancel", lang), self)
        cancel.setAutoDefault(False)
        cancel.clicked.connect(self.reject)
        top = QHBoxLayout()
        top.addWidget(self.level_label, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(title, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(cancel)
        row.addWidget(self.ok)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(top)
        layout.addWidget(added)
        layout.addWidget(self.stages_view, 1)
        layout.addLayout(row)
        _minimum(self, layout, 720, 520)
        self.ok.setFocus(Qt.FocusReason.OtherFocusReason)


class CloseDialog(QDialog):
    """Lists the termination conditions as check boxes; closing needs every one confirmed."""

    def __init__(self, incident: Incident, lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lang = lang
        self.setWindowTitle(tr("inc.close.title", lang))
        intro = QLabel(tr("inc.close.intro", lang), self)
        intro.setWordWrap(True)
        self.boxes: list[QCheckBox] = []
        box_layout = QVBoxLayout()
        box_layout.setSpacing(10)
        for cond in incident.termination:
            box = QCheckBox(cond.get(lang) or cond.get("zh", ""), self)
            box.setStyleSheet(f"font-size: {DESK.heading_px}px;")
            box.toggled.connect(self._update)
            self.boxes.append(box)
            box_layout.addWidget(box)
        self.missing = QLabel(self)
        self.missing.setStyleSheet("color: #C62828; font-weight: bold;")
        self.ok = QPushButton(tr("inc.close.confirm", lang), self)
        self.ok.setDefault(True)
        self.ok.clicked.connect(self.accept)
        cancel = QPushButton(tr("inc.act.cancel", lang), self)
        cancel.setAutoDefault(False)
        cancel.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.missing, 1)
        row.addWidget(cancel)
        row.addWidget(self.ok)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(box_layout)
        layout.addStretch(1)
        layout.addLayout(row)
        _minimum(self, layout, 720, 200 + 40 * len(self.boxes))
        self._update()

    @property
    def confirmed(self) -> list[int]:
        """Indexes of the conditions ticked."""
        return [i for i, b in enumerate(self.boxes) if b.isChecked()]

    def _update(self, *_args: object) -> None:
        left = len(self.boxes) - len(self.confirmed)
        self.ok.setEnabled(left == 0)
        self.missing.setText(tr("inc.close.missing", self._lang, count=left) if left else "")

    def accept(self) -> None:
        """Only with every condition confirmed."""
        if len(self.confirmed) == len(self.boxes):
            super().accept()


def contacts_of(preview: ActivationPreview) -> list[Contact]:
    """Return everyone a preview would call first, in calling order."""
    return [c for _order, contacts in preview.stages for c in contacts]
