"""The wall's incident panel: the active incident, readable from across the room.

With an incident open it shows, in the level's colour, the level and short code, the plan
title, a very large elapsed timer, where and under whom it runs, how many of the people called
have acknowledged, and the overdue checklist steps in red. Several open incidents: the highest
level (then the newest) is shown and the others are counted. With none open the panel shrinks to
a small "no active incident" line and leaves the room to the other panels.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QEvent, QMargins, QObject, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from commandcenter.core.clock import Clock
from commandcenter.core.incidents import Incident
from commandcenter.core.site import Site
from commandcenter.services.protocols import IncidentDesk
from commandcenter.ui import i18n
from commandcenter.ui.i18n import name_of, tr
from commandcenter.ui.incidents import strings  # noqa: F401  (registers the UI strings)
from commandcenter.ui.incidents.models import answer_counts, stages_of
from commandcenter.ui.incidents.people import (
    LocationTexts,
    clock_duration,
    duration,
    person_name,
    since,
)
from commandcenter.ui.theme import MONO_FAMILIES, Theme, level_colour, wall_theme

MAX_OVERDUE_LINES = 4
"""Overdue steps listed by title; the rest are counted."""
QWIDGETSIZE_MAX = 16777215
ACTIVE_STRETCH = 9
"""The panel's share of the wall's panel row while an incident is open (the others have 4–6)."""
BANNER_PAD_X, BANNER_PAD_Y = 16, 10
"""The banner's padding (pixels) around its text."""
OVERDUE_RED = "#FF6B6B"
"""Red for overdue text on the dark wall (5.6:1 on the panel colour)."""


def active_incident(incidents: list[Incident]) -> Incident | None:
    """Return the incident the wall shows: the highest level, then the most recent."""
    if not incidents:
        return None
    return max(incidents, key=lambda i: (i.level.rank, i.started_at))


class IncidentWallPanel(QFrame):
    """The active incident on the wall (see the module docstring).

    Args:
        desk: The incident service, or ``None`` when it is not running (the panel says so).
        site: The site (names of places and people).
        clock: The clock the timer counts by.
        lang: UI language (follows later switches).

    Attributes:
        incident_id: The incident shown, if any.
    """

    def __init__(self, desk: IncidentDesk | None, site: Site, clock: Clock, lang: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wallPanel")
        self._desk = desk
        self._site = site
        self._clock = clock
        self._lang = lang
        self.incident_id: str | None = None

        self.idle = QLabel(self)
        self.idle.setObjectName("wallMuted")
        self.idle.setWordWrap(True)
        self.idle.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.banner = QLabel(self)
        self.banner.setObjectName("incidentWallBanner")
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        self.timer = QLabel(self)
        self.timer.setObjectName("incidentWallTimer")
        self.timer.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.facts = QLabel(self)
        self.facts.setObjectName("incidentWallFacts")
        self.facts.setWordWrap(True)
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.acks = QLabel(self)
        self.acks.setObjectName("incidentWallAcks")
        self.acks.setWordWrap(True)
        self.acks.setTextFormat(Qt.TextFormat.RichText)
        self.overdue = QLabel(self)
        self.overdue.setObjectName("incidentWallOverdue")
        self.overdue.setWordWrap(True)
        self.overdue.setTextFormat(Qt.TextFormat.RichText)
        self.overdue.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.overdue.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.overdue.installEventFilter(self)
        self._title = ""
        self._fitted: tuple[str, str, int, int] | None = None
        """Title, language and font sizes the banner's height was last worked out for."""
        self._where = LocationTexts(site)
        self._late: list[str] = []
        """The overdue steps' lines (``+3:32  Isolate``), listed as far as room allows."""
        self.others = QLabel(self)
        self.others.setObjectName("wallMuted")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 20)
        layout.setSpacing(12)
        layout.addWidget(self.idle)
        layout.addWidget(self.banner)
        layout.addWidget(self.timer)
        layout.addWidget(self.facts)
        layout.addWidget(self.acks)
        layout.addWidget(self.overdue, 1)
        layout.addWidget(self.others)
        self._active_widgets = (self.banner, self.timer, self.facts, self.acks, self.overdue,
                                self.others)

        self._unsubscribe = []
        if desk is not None:
            self._unsubscribe = [desk.book.changed.connect(self._on_change),
                                 desk.notifier.changed.connect(self._on_change)]
        unsubscribe = self._unsubscribe
        self.destroyed.connect(lambda *_: [u() for u in unsubscribe])
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        i18n.language().changed.connect(self.set_language)
        self.refresh()

    # ------------------------------------------------------------------ public

    @property
    def active(self) -> bool:
        """True while an incident is shown."""
        return self.incident_id is not None

    def set_language(self, lang: str) -> None:
        """Show everything in ``lang``."""
        self._lang = lang
        self.refresh()

    def theme(self) -> Theme:
        """The wall theme for the window the panel is in."""
        wall = self.window()
        theme = getattr(wall, "theme", None)
        return theme if isinstance(theme, Theme) else wall_theme(wall.height())

    def refresh(self) -> None:
        """Redraw from the projections (once a second, and on every change)."""
        desk = self._desk
        lang = self._lang
        inc = active_incident(desk.book.open_incidents()) if desk is not None else None
        self.incident_id = inc.id if inc else None
        for w in self._active_widgets:
            w.setVisible(inc is not None)
        self.idle.setVisible(inc is None)
        t = self.theme()
        if inc is None:
            self._fitted = None
            self.idle.setText(tr("inc.wall.none" if desk is not None else "inc.wall.no_service",
                                 lang))
            self.idle.setStyleSheet(f"font-size: {t.small_px}px;")
            self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
            self._set_stretch(0)
            self.setMaximumWidth(max(self.idle.fontMetrics().horizontalAdvance(
                self.idle.text()) // 2 + 60, t.small_px * 6))
            return
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMaximumWidth(QWIDGETSIZE_MAX)
        self._set_stretch(ACTIVE_STRETCH)
        assert desk is not None
        self._draw(inc, desk, t)

    def _draw(self, inc: Incident, desk: IncidentDesk, t: Theme) -> None:
        lang = self._lang
        now = self._clock.now()
        c = level_colour(inc.level)
        title = inc.plan_title.get(lang) or inc.plan_title.get("zh", inc.plan)
        self._title = title
        self.banner.setStyleSheet(
            f"QLabel#incidentWallBanner {{ background: {c.fill}; color: {c.text}; "
            f"border-radius: 6px; padding: {BANNER_PAD_Y}px {BANNER_PAD_X}px; }}")
        self.banner.setText(
            f"<div style='font-size:{t.heading_px}px; font-weight:bold;'>"
            f"{escape(inc.level.value)} {escape(name_of('level', inc.level.value, lang))}"
            f"&nbsp;&nbsp;·&nbsp;&nbsp;{escape(tr('inc.code', lang, code=inc.code))}</div>"
            f"<div style='font-size:{t.body_px}px; font-weight:bold;'>{escape(title)}</div>")
        mono = ", ".join(f'"{f}"' for f in MONO_FAMILIES)
        self.timer.setStyleSheet(
            f"QLabel#incidentWallTimer {{ color: {t.text}; font-weight: bold; "
            f"font-size: {round(t.title_px * 2.2)}px; font-family: {mono}; }}")
        self.timer.setText(clock_duration(since(now, inc.started_at)))
        colon = "：" if lang == "zh" else ": "

        def fact(key: str, value: str) -> str:
            return (f"<span style='color:{t.muted};'>{escape(tr(key, lang))}{colon}</span>"
                    f"<b>{escape(value)}</b>")

        self.facts.setStyleSheet(f"font-size: {t.body_px}px;")
        self.facts.setText(
            fact("inc.location", self._where.of(inc, lang)) + "<br>"
            + fact("inc.commander", person_name(self._site, inc.commander, lang)))
        called, acked, _declined, silent = answer_counts(stages_of(desk.notifier, inc.id))
        silent_colour = OVERDUE_RED if silent else t.muted
        self.acks.setStyleSheet(f"font-size: {t.heading_px}px;")
        self.acks.setText(  # one line where it fits: room for the overdue steps below
            f"<b>{escape(tr('inc.wall.acks', lang, acked=acked, called=called))}</b>"
            f"&nbsp;·&nbsp;<span style='color:{silent_colour};'>"
            f"{escape(tr('inc.wall.silent', lang, silent=silent))}</span>")
        late = inc.overdue_steps(now)
        self.overdue.setStyleSheet(f"font-size: {t.body_px}px;")
        self._late = [f"+{duration(since(now, s.target_at))}  "
                      f"{s.title.get(lang) or s.title.get('zh', s.id)}" for s in late]
        others = len(desk.book.open_incidents()) - 1
        self.others.setVisible(others > 0)
        self.others.setText(tr("inc.wall.others", lang, count=others) if others > 0 else "")
        if self._fitted != (title, lang, t.heading_px, t.body_px):
            self._fit()  # a new title; resizeEvent refits on a new width
        else:
            self._fill_overdue()

    # ------------------------------------------------------------------ fitting

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Refit the overdue list when its room changes."""
        if watched is self.overdue and event.type() == QEvent.Type.Resize and self.active:
            self._fill_overdue()
        return False

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Refit the banner to the new width."""
        super().resizeEvent(event)
        if self.active:
            self._fit()

    def _fit(self) -> None:
        """Give the banner the height its wrapped title needs, then fill the overdue list.

        The banner is sized from the theme's font metrics at the panel's width, not left to the
        layout: with the panel full, the layout would squeeze a word-wrapped label and cut the
        title's second line off. The overdue list (which takes what is left) gives way instead.
        """
        t = self.theme()
        layout = self.layout()
        margins = layout.contentsMargins() if layout is not None else QMargins()
        width = self.contentsRect().width() - margins.left() - margins.right() \
            - 2 * BANNER_PAD_X
        if width > 0 and self._title:
            font = QFont(self.banner.font())
            font.setBold(True)
            font.setPixelSize(t.heading_px)
            head = QFontMetrics(font).lineSpacing()
            font.setPixelSize(t.body_px)
            title = QFontMetrics(font).boundingRect(
                0, 0, width, 100000, int(Qt.TextFlag.TextWordWrap), self._title).height()
            need = head + title + 2 * BANNER_PAD_Y + 4
            if self.banner.height() != need or self.banner.minimumHeight() != need:
                self.banner.setFixedHeight(need)
            self._fitted = (self._title, self._lang, t.heading_px, t.body_px)
        self._fill_overdue()

    def _fill_overdue(self) -> None:
        """List, one line each, the overdue steps that fit whole in the room left.

        The room is what the layout leaves the list; the heading counts every overdue step, so
        steps that do not fit are left out (with "n more" where that line fits too), never cut
        in half on the wall. A long step title ends in "…".
        """
        t, lang, late = self.theme(), self._lang, self._late
        if not late:
            self.overdue.setText(f"<span style='color:{t.muted};'>"
                                 f"{escape(tr('inc.wall.no_overdue', lang))}</span>")
            return
        rect = self.overdue.contentsRect()
        head = tr("inc.wall.overdue", lang, count=len(late))
        self.overdue.ensurePolished()  # its font is the style sheet's size
        font = QFont(self.overdue.font())
        font.setPixelSize(t.body_px)
        body = QFontMetrics(font)
        font.setPixelSize(t.heading_px)
        font.setBold(True)
        line = body.lineSpacing()
        if rect.height() > 0 and rect.width() > 0:
            width = rect.width()
            room = rect.height() - QFontMetrics(font).boundingRect(
                0, 0, width, 100000, int(Qt.TextFlag.TextWordWrap), head).height()
            shown = max(min(len(late), MAX_OVERDUE_LINES, room // line), 0)
            more = len(late) > shown and room - shown * line >= line
        else:  # not laid out yet: the next resize fits it
            width, shown, more = 100000, min(len(late), MAX_OVERDUE_LINES), False
        lines = [f"<div style='color:{OVERDUE_RED}; font-size:{t.heading_px}px; "
                 f"font-weight:bold;'>{escape(head)}</div>"]
        fit = width - 2 * body.averageCharWidth()  # the label's text is a little narrower
        lines += [f"<div style='color:{OVERDUE_RED};'>"
                  f"{escape(body.elidedText(text, Qt.TextElideMode.ElideRight, fit))}</div>"
                  for text in late[:shown]]
        if more:
            lines.append(f"<div style='color:{t.muted};'>" + escape(tr(
                "inc.wall.more", lang, count=len(late) - shown)) + "</div>")
        self.overdue.setText("".join(lines))

    def _set_stretch(self, stretch: int) -> None:
        """Take a large share of the wall's panel row while active, none while idle."""
        row = getattr(self.parentWidget(), "panels", None)
        if isinstance(row, QBoxLayout) and row.indexOf(self) >= 0 \
                and row.stretch(row.indexOf(self)) != stretch:
            row.setStretchFactor(self, stretch)

    def _on_change(self, *_args: object) -> None:
        self.refresh()

    def shutdown(self) -> None:
        """Stop the timer and stop following the projections (idempotent)."""
        self._timer.stop()
        while self._unsubscribe:
            self._unsubscribe.pop()()
