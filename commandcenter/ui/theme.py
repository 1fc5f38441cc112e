"""Colours, type sizes and style sheets for the desk console and the wall display.

Two themes: :data:`DESK` (light and calm, for hours at a console) and :data:`WALL` (dark, high
contrast, large type readable from 5 m: body text 28 px on a 1080p wall, scaled with the screen
height). Plan levels use the Chinese warning colours (GB/T 29639 practice, 蓝 / 黄 / 橙 / 红) with a
text colour that keeps at least 4.5:1 contrast on each.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont

from commandcenter.core.site import PlanLevel

FONT_FAMILIES = [
    "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
    "WenQuanYi Micro Hei", "Sans Serif",
]
"""Preferred UI fonts, first available wins; every one of them has Chinese glyphs."""

MONO_FAMILIES = ["DejaVu Sans Mono", "Consolas", "Menlo", "WenQuanYi Micro Hei Mono", "Monospace"]
"""Fonts for clocks and ids, where digits should not jump."""


@dataclass(frozen=True, slots=True)
class LevelColour:
    """Fill and text colour of a plan level."""

    fill: str
    text: str


LEVEL_COLOURS: dict[PlanLevel, LevelColour] = {
    PlanLevel.L1: LevelColour("#1565C0", "#FFFFFF"),  # 蓝 blue
    PlanLevel.L2: LevelColour("#FFD21F", "#111111"),  # 黄 yellow
    PlanLevel.L3: LevelColour("#F57C00", "#111111"),  # 橙 orange
    PlanLevel.L4: LevelColour("#C62828", "#FFFFFF"),  # 红 red
}
"""Warning colours per plan level, with a readable text colour on each."""


def level_colour(level: PlanLevel | str) -> LevelColour:
    """Return the colours of ``level`` (a :class:`PlanLevel` or its value ``"L1"``…)."""
    return LEVEL_COLOURS[PlanLevel(level)]


@dataclass(frozen=True, slots=True)
class Theme:
    """A set of colours and type sizes.

    Attributes:
        name: ``"desk"`` or ``"wall"``.
        window: Window background.
        panel: Background of panels and tables.
        panel_alt: Alternate rows, section headers.
        text: Body text.
        muted: Secondary text (labels, units).
        accent: Links, focus, selection outline.
        border: Lines between panels and cells.
        selection: Selected row background.
        selection_text: Selected row text.
        body_px: Body text size in pixels.
        small_px: Secondary text size.
        heading_px: Section headings.
        title_px: Window / plan titles.
    """

    name: str
    window: str
    panel: str
    panel_alt: str
    text: str
    muted: str
    accent: str
    border: str
    selection: str
    selection_text: str
    body_px: int
    small_px: int
    heading_px: int
    title_px: int

    def font(self, px: int | None = None, *, bold: bool = False, mono: bool = False) -> QFont:
        """Return the theme's font at ``px`` pixels (default: body size)."""
        f = QFont()
        f.setFamilies(MONO_FAMILIES if mono else FONT_FAMILIES)
        f.setPixelSize(px or self.body_px)
        f.setBold(bold)
        return f

    def scaled(self, factor: float) -> Theme:
        """Return this theme with every type size multiplied by ``factor``."""
        return Theme(self.name, self.window, self.panel, self.panel_alt, self.text, self.muted,
                     self.accent, self.border, self.selection, self.selection_text,
                     round(self.body_px * factor), round(self.small_px * factor),
                     round(self.heading_px * factor), round(self.title_px * factor))


DESK = Theme(
    name="desk",
    window="#EEF1F4",
    panel="#FFFFFF",
    panel_alt="#F5F7FA",
    text="#1F2933",
    muted="#52606D",
    accent="#1F5F99",
    border="#D3DCE6",
    selection="#D6E6F5",
    selection_text="#102A43",
    body_px=14,
    small_px=12,
    heading_px=17,
    title_px=22,
)
"""The desk console: light, calm, dense enough for a 1366×768 laptop."""

WALL = Theme(
    name="wall",
    window="#080B10",
    panel="#121922",
    panel_alt="#1B2430",
    text="#F4F7FA",
    muted="#B4C0CC",
    accent="#5CC8FF",
    border="#2C3846",
    selection="#24405E",
    selection_text="#FFFFFF",
    body_px=28,
    small_px=24,
    heading_px=38,
    title_px=48,
)
"""The wall display at 1080p: dark, high contrast, body text 28 px."""

WALL_REFERENCE_HEIGHT = 1080
"""Screen height the :data:`WALL` sizes are set for."""


def wall_theme(screen_height: int) -> Theme:
    """Return the wall theme scaled to a screen ``screen_height`` pixels tall.

    A 1080p wall gets :data:`WALL` as is, a 4K wall twice the sizes; smaller windows (previews,
    tests) shrink proportionally but never below 60 %.
    """
    factor = max(screen_height / WALL_REFERENCE_HEIGHT, 0.6)
    return WALL if factor == 1.0 else WALL.scaled(factor)


def _luminance(colour: str) -> float:
    c = QColor(colour)

    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())


def contrast_ratio(a: str, b: str) -> float:
    """Return the WCAG contrast ratio of two colours (1 … 21)."""
    la, lb = _luminance(a), _luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def desk_style_sheet(t: Theme = DESK) -> str:
    """Return the Qt style sheet of the desk console."""
    return f"""
QMainWindow, QDialog {{ background: {t.window}; }}
QWidget {{ color: {t.text}; font-size: {t.body_px}px; }}
QLineEdit {{
    background: {t.panel}; border: 1px solid {t.border}; border-radius: 4px;
    padding: 6px 8px; selection-background-color: {t.selection};
}}
QLineEdit:focus {{ border: 1px solid {t.accent}; }}
QTreeView, QTableView, QListWidget, QTextBrowser, QPlainTextEdit {{
    background: {t.panel}; border: 1px solid {t.border};
    selection-background-color: {t.selection}; selection-color: {t.selection_text};
}}
QTreeView::item, QTableView::item {{ padding: 3px 2px; }}
QHeaderView::section {{
    background: {t.panel_alt}; color: {t.muted}; border: none;
    border-bottom: 1px solid {t.border}; padding: 4px 6px; font-size: {t.small_px}px;
}}
QStatusBar {{ background: {t.panel_alt}; border-top: 1px solid {t.border}; }}
QStatusBar QLabel {{ color: {t.muted}; padding: 0 8px; font-size: {t.small_px}px; }}
QStatusBar QPushButton {{
    border: none; padding: 0 8px; color: {t.accent}; font-size: {t.small_px}px;
    text-decoration: underline;
}}
QSplitter::handle {{ background: {t.border}; }}
QDockWidget::title {{ background: {t.panel_alt}; padding: 4px 8px; }}
QLabel#planTitle {{ font-size: {t.title_px}px; font-weight: bold; }}
QLabel#planMeta {{ color: {t.muted}; }}
QWidget#planHeader {{ background: {t.panel}; border-bottom: 1px solid {t.border}; }}
"""


def wall_style_sheet(t: Theme) -> str:
    """Return the Qt style sheet of the wall display for theme ``t`` (see :func:`wall_theme`)."""
    return f"""
QWidget#wall {{ background: {t.window}; }}
QWidget {{ color: {t.text}; font-size: {t.body_px}px; }}
QFrame#wallPanel {{ background: {t.panel}; border: 1px solid {t.border}; border-radius: 8px; }}
QLabel#wallSite {{ font-size: {t.title_px}px; font-weight: bold; }}
QLabel#wallSiteSub {{ color: {t.muted}; font-size: {t.small_px}px; }}
QLabel#wallClock {{ font-size: {round(t.title_px * 1.5)}px; font-weight: bold; }}
QLabel#wallDate {{ color: {t.muted}; font-size: {t.small_px}px; }}
QLabel#wallHeading {{ font-size: {t.heading_px}px; font-weight: bold; color: {t.text}; }}
QLabel#wallMuted {{ color: {t.muted}; }}
QTableView {{
    background: {t.panel}; border: none; gridline-color: {t.border};
    alternate-background-color: {t.panel_alt};
}}
QHeaderView::section {{
    background: {t.panel}; color: {t.muted}; border: none;
    border-bottom: 2px solid {t.border}; padding: 6px 10px; font-size: {t.small_px}px;
}}
"""
