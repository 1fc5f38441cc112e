"""The plan view: one emergency plan laid out for reading at the console.

A header (level badge, title, kind, tier, id) above a scrolling document with one section per
part of the plan: scope, triggers, roles with the people who hold them, notification order,
checklist, resources, hazard zone, external reporting, termination, escalation and response pack.
The people come from the site roster, so the commander sees names, phone numbers and shifts, not
role ids.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from commandcenter.core.site import Plan, Site
from commandcenter.ui import i18n
from commandcenter.ui.i18n import name_of, tr
from commandcenter.ui.theme import DESK, Theme, level_colour

i18n.register({"plan.activate": ("启动预案", "Activate plan")})


def _num(value: float) -> str:
    return f"{value:g}"


def _nobreak(text: str) -> str:
    return escape(text).replace(" ", "&nbsp;")


class PlanDocument:
    """Builds the HTML of a plan for a site, in one language and theme."""

    def __init__(self, site: Site, lang: str, theme: Theme = DESK) -> None:
        self._site = site
        self._lang = lang
        self._t = theme

    # ------------------------------------------------------------------ names

    def role_name(self, role_id: str) -> str:
        """Return the display name of a role (its id if the roster lacks it)."""
        role = self._site.roles.get(role_id)
        return role.name.get(self._lang) if role else role_id

    def person_name(self, person_id: str) -> str:
        """Return a person's name in the current language."""
        p = self._site.people[person_id]
        return (p.name_en or p.name) if self._lang == "en" else p.name

    def shift_name(self, shift_id: str) -> str:
        """Return the display name of a shift."""
        shift = self._site.shifts.get(shift_id)
        return shift.name.get(self._lang) if shift else shift_id

    # ------------------------------------------------------------------ building blocks

    def _section(self, key: str, body: str) -> str:
        t = self._t
        return (f'<h2 style="font-size:{t.heading_px}px; color:{t.accent}; '
                f'margin-top:18px; margin-bottom:6px;">{escape(tr(key, self._lang))}</h2>'
                f"{body}")

    def _table(self, headers: list[str], rows: list[list[str]],
               widths: list[int] | None = None) -> str:
        t = self._t
        head = "".join(
            f'<th align="left" style="background:{t.panel_alt}; color:{t.muted}; '
            f'font-weight:600; border-bottom:1px solid {t.border};"'
            f'{f" width={widths[i]}%" if widths else ""}>{escape(tr(h, self._lang))}</th>'
            for i, h in enumerate(headers))
        body = "".join(
            "<tr>" + "".join(f'<td valign="top" style="border-bottom:1px solid {t.border};">'
                             f"{cell}</td>" for cell in row) + "</tr>"
            for row in rows)
        return (f'<table width="99%" cellspacing="0" cellpadding="6" '
                f'style="border-collapse:collapse;"><tr>{head}</tr>{body}</table>')

    def _muted(self, text: str) -> str:
        return f'<span style="color:{self._t.muted};">{text}</span>'

    def _small(self, text: str) -> str:
        return (f'<span style="color:{self._t.muted}; font-size:{self._t.small_px}px;">'
                f"{text}</span>")

    def _para(self, text: str) -> str:
        return f'<p style="margin-top:0; margin-bottom:4px;">{text}</p>'

    def _list(self, items: list[str]) -> str:
        return ('<ul style="margin-top:0; margin-bottom:0; -qt-list-indent:1;">'
                + "".join(f"<li>{i}</li>" for i in items) + "</ul>")

    def _minutes(self, n: float) -> str:
        return escape(tr("unit.min", self._lang, n=_num(n)))

    # ------------------------------------------------------------------ sections

    def html(self, plan: Plan) -> str:
        """Return the plan as an HTML document (without the header)."""
        parts = [
            self._section("plan.scope", self._para(escape(plan.scope.get(self._lang)))),
            self._section("plan.triggers", self._triggers(plan)),
            self._section("plan.roles", self._roles(plan)),
            self._section("plan.notification", self._notification(plan)),
            self._section("plan.steps", self._steps(plan)),
            self._section("plan.resources", self._resources(plan)),
            self._section("plan.hazard", self._hazard(plan)),
            self._section("plan.external", self._external(plan)),
            self._section("plan.termination", self._list(
                [escape(c.get(self._lang)) for c in plan.termination])),
            self._section("plan.escalation", self._escalation(plan)),
            self._section("plan.pack", self._pack(plan)),
        ]
        return (f'<html><body style="color:{self._t.text}; font-size:{self._t.body_px}px;">'
                + "".join(parts) + "</body></html>")

    def _triggers(self, plan: Plan) -> str:
        items = []
        for trig in plan.triggers:
            how = tr("plan.trigger.auto" if trig.automatic else "plan.trigger.manual", self._lang)
            meta = [how]
            if trig.gauge_kinds:
                kinds = "、".join(name_of("gauge", k.value, self._lang) for k in trig.gauge_kinds) \
                    if self._lang == "zh" else \
                    ", ".join(name_of("gauge", k.value, self._lang) for k in trig.gauge_kinds)
                level = name_of("alarm", trig.min_alarm_level.value, self._lang) \
                    if trig.min_alarm_level else "—"
                meta.append(tr("plan.trigger.gauges", self._lang, kinds=kinds, level=level))
            items.append(f"{escape(trig.description.get(self._lang))}<br>"
                         f"{self._small(escape(' · '.join(meta)))}")
        return self._list(items)

    def _people(self, role_id: str) -> str:
        people = self._site.people_with_role(role_id)
        if not people:  # a plan must never silently call nobody: shown as a fault
            return (f'<b style="color:{level_colour("L4").fill};">'
                    f'{escape(tr("plan.nobody", self._lang))}</b>')
        lines = []
        for p in people:
            # Names and numbers never break inside; the line may wrap between them.
            lines.append(f"<b>{_nobreak(self.person_name(p.id))}</b>&nbsp; "
                         f"{_nobreak(p.phone)} "
                         f"{self._small(_nobreak(self.shift_name(p.shift)))}")
        return "<br>".join(lines)

    def _roles(self, plan: Plan) -> str:
        rows = []
        for r in plan.roles:
            role = self._site.roles.get(r.role)
            name = f"<b>{escape(self.role_name(r.role))}</b>"
            group = role.group.get(self._lang) if role and role.group else ""
            if group and group != self.role_name(r.role):
                name += f"<br>{self._small(escape(group))}"
            rows.append([name, escape(r.duty.get(self._lang)), self._people(r.role)])
        return self._table(["plan.col.role", "plan.col.duty", "plan.col.people"], rows,
                           [18, 38, 44])

    def _role_list(self, roles: tuple[str, ...]) -> str:
        sep = "、" if self._lang == "zh" else ", "
        return escape(sep.join(self.role_name(r) for r in roles)) if roles else "—"

    def _notification(self, plan: Plan) -> str:
        rows = []
        for stage in sorted(plan.notification, key=lambda s: s.order):
            notify = self._role_list(stage.roles)
            if stage.message:
                notify += f"<br>{self._small(escape(stage.message.get(self._lang)))}"
            acks = "<br>".join(f"{escape(self.role_name(r))} {n}"
                               for r, n in stage.need_by_role.items()) or str(stage.total_acks)
            rows.append([f"<b>{stage.order}</b>", notify, acks,
                         self._minutes(stage.ack_within_min),
                         self._role_list(stage.escalate_to_roles)])
        return self._table(["plan.col.stage", "plan.col.notify", "plan.col.acks",
                            "plan.col.deadline", "plan.col.escalate"], rows,
                           [8, 44, 12, 12, 24])

    def _steps(self, plan: Plan) -> str:
        rows = []
        for i, step in enumerate(sorted(plan.steps, key=lambda s: s.target_min), start=1):
            title = f"<b>{escape(step.title.get(self._lang))}</b>"
            if step.detail:
                title += f"<br>{self._small(escape(step.detail.get(self._lang)))}"
            rows.append([str(i), title, escape(self.role_name(step.owner)),
                         escape(tr("unit.t_plus", self._lang, n=_num(step.target_min)))])
        return self._table(["plan.col.stage", "plan.col.step", "plan.col.owner",
                            "plan.col.target"], rows, [6, 60, 20, 14])

    def _resources(self, plan: Plan) -> str:
        if not plan.resources:
            return self._para(self._muted(escape(tr("plan.no_resources", self._lang))))
        rows = [[escape(name_of("resource", r.kind.value, self._lang)), str(r.count),
                 escape(r.note.get(self._lang)) if r.note else ""] for r in plan.resources]
        return self._table(["plan.col.resource", "plan.col.count", "plan.col.note"], rows,
                           [30, 10, 60])

    def _kv(self, pairs: list[tuple[str, str]]) -> str:
        t = self._t
        rows = "".join(
            f'<tr><td width="28%" style="color:{t.muted}; border-bottom:1px solid {t.border};">'
            f"{escape(tr(k, self._lang))}</td>"
            f'<td style="border-bottom:1px solid {t.border};">{v}</td></tr>'
            for k, v in pairs)
        return (f'<table width="99%" cellspacing="0" cellpadding="6" '
                f'style="border-collapse:collapse;">{rows}</table>')

    def _hazard(self, plan: Plan) -> str:
        hz = plan.hazard_zone
        pairs = [("plan.hazard.isolation",
                  f"<b>{escape(tr('unit.m', self._lang, n=_num(hz.isolation_m)))}</b>")]
        if hz.protective_downwind_m:
            pairs.append(("plan.hazard.downwind",
                          escape(tr("unit.m", self._lang, n=_num(hz.protective_downwind_m)))))
        if hz.sector_deg:
            pairs.append(("plan.hazard.sector",
                          escape(tr("unit.deg", self._lang, n=_num(hz.sector_deg)))))
        out = self._kv(pairs)
        if hz.note:
            out += self._para(self._small(escape(hz.note.get(self._lang))))
        return out

    def _external(self, plan: Plan) -> str:
        ext = plan.external_reporting
        if ext is None:
            return self._para(self._muted(escape(tr("plan.no_external", self._lang))))
        sep = "、" if self._lang == "zh" else "; "
        wording = (f'<div style="background:{self._t.panel_alt};">'
                   f"{escape(ext.wording.get(self._lang))}</div>")
        return self._kv([
            ("plan.external.to", escape(sep.join(x.get(self._lang) for x in ext.to))),
            ("plan.external.within", f"<b>{self._minutes(ext.within_min)}</b>"),
            ("plan.external.wording", wording),
        ])

    def _escalation(self, plan: Plan) -> str:
        if plan.escalates_to is None:
            return self._para(self._muted(escape(tr("plan.no_escalation", self._lang))))
        target = self._site.plans.get(plan.escalates_to)
        if target is None:
            label = escape(plan.escalates_to)
        else:
            c = level_colour(target.level)
            label = (f'<span style="background:{c.fill}; color:{c.text}; font-weight:bold;">'
                     f"&nbsp;{target.level.value}&nbsp;</span>&nbsp;"
                     f"<b>{escape(target.title.get(self._lang))}</b>&nbsp;"
                     f"{self._small(escape(target.id))}")
        return self._para(tr("plan.escalates_to", self._lang, plan=label))

    def _pack(self, plan: Plan) -> str:
        pack = plan.response_pack
        if not pack.contacts and not pack.materials:
            return self._para(self._muted(escape(tr("plan.pack.empty", self._lang))))
        out = ""
        if pack.contacts:
            rows = [[escape(c.name.get(self._lang)), escape(c.phone)] for c in pack.contacts]
            out += (f"<p><b>{escape(tr('plan.pack.contacts', self._lang))}</b></p>"
                    + self._kv_rows(rows))
        if pack.materials:
            out += (f"<p><b>{escape(tr('plan.pack.materials', self._lang))}</b></p>"
                    + self._list([escape(m.get(self._lang)) for m in pack.materials]))
        return out

    def _kv_rows(self, rows: list[list[str]]) -> str:
        t = self._t
        body = "".join(
            f'<tr><td width="50%" style="border-bottom:1px solid {t.border};">{a}</td>'
            f'<td style="border-bottom:1px solid {t.border};">{b}</td></tr>' for a, b in rows)
        return (f'<table width="99%" cellspacing="0" cellpadding="6" '
                f'style="border-collapse:collapse;">{body}</table>')


class LevelBadge(QLabel):
    """A small coloured label showing a plan level (``L3 厂级``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("levelBadge")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hide()

    def set_level(self, level: str | None, lang: str) -> None:
        """Show ``level`` (``"L1"``…), or hide the badge for ``None``."""
        if level is None:
            self.hide()
            return
        c = level_colour(level)
        self.setText(f"{level}  {name_of('level', level, lang)}")
        self.setStyleSheet(f"QLabel#levelBadge {{ background: {c.fill}; color: {c.text}; "
                           f"font-weight: bold; border-radius: 4px; padding: 4px 10px; }}")
        self.show()


class PlanView(QWidget):
    """Shows one plan of a site (or a hint to choose one)."""

    def __init__(self, site: Site, lang: str | None = None, theme: Theme = DESK,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._site = site
        self._lang = lang or i18n.current()
        self._theme = theme
        self._plan: Plan | None = None

        header = QWidget(self)
        header.setObjectName("planHeader")
        header.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.badge = LevelBadge(header)
        self.title = QLabel(header)
        self.title.setObjectName("planTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meta = QLabel(header)
        self.meta.setObjectName("planMeta")
        self.meta.setWordWrap(True)
        top = QHBoxLayout()
        top.setSpacing(12)
        top.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.title, 1)
        self._activate_handler: Callable[[Plan], object] | None = None
        self.activate_button = QPushButton(header)
        self.activate_button.setObjectName("activatePlan")
        self.activate_button.setStyleSheet(
            "QPushButton#activatePlan { background: #C62828; color: #FFFFFF; font-weight: bold; "
            "padding: 6px 18px; border-radius: 4px; }")
        self.activate_button.clicked.connect(self._activate)
        self.activate_button.hide()
        top.addWidget(self.activate_button, 0, Qt.AlignmentFlag.AlignTop)
        hl = QVBoxLayout(header)
        hl.setContentsMargins(16, 12, 16, 10)
        hl.setSpacing(4)
        hl.addLayout(top)
        hl.addWidget(self.meta)

        self.body = QTextBrowser(self)
        self.body.setObjectName("planBody")
        self.body.setOpenLinks(False)
        self.body.document().setDocumentMargin(16)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        layout.addWidget(self.body, 1)
        self._render()

    @property
    def plan(self) -> Plan | None:
        """The plan shown, if any."""
        return self._plan

    def set_plan(self, plan: Plan | None) -> None:
        """Show ``plan`` (``None`` for the empty hint)."""
        self._plan = plan
        self._render()
        self.body.verticalScrollBar().setValue(0)

    def set_activate_handler(self, handler: Callable[[Plan], object] | None) -> None:
        """Show an "Activate plan" button that calls ``handler(plan)`` (``None`` hides it)."""
        self._activate_handler = handler
        self._render()

    def _activate(self) -> None:
        if self._activate_handler is not None and self._plan is not None:
            self._activate_handler(self._plan)

    def set_language(self, lang: str) -> None:
        """Redraw in ``lang``."""
        self._lang = lang
        self._render()

    def text(self) -> str:
        """Return everything shown as plain text (header and body)."""
        return "\n".join([self.badge.text() if self._plan else "", self.title.text(),
                          self.meta.text(), self.body.toPlainText()])

    def _render(self) -> None:
        plan = self._plan
        self.activate_button.setText(tr("plan.activate", self._lang))
        self.activate_button.setVisible(plan is not None and self._activate_handler is not None)
        if plan is None:
            self.badge.set_level(None, self._lang)
            self.title.setText("")
            self.meta.setText("")
            self.body.setHtml(f'<p style="color:{self._theme.muted};">'
                              f"{escape(tr('library.empty', self._lang))}</p>")
            return
        self.badge.set_level(plan.level.value, self._lang)
        self.title.setText(plan.title.get(self._lang))
        self.meta.setText("   ·   ".join([
            f"{tr('plan.kind', self._lang)}: {name_of('kind', plan.kind.value, self._lang)}",
            f"{tr('plan.tier', self._lang)}: {name_of('tier', plan.tier.value, self._lang)}",
            plan.id,
        ]))
        self.body.setHtml(PlanDocument(self._site, self._lang, self._theme).html(plan))
