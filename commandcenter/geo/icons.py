"""One glyph per resource kind: a shape, a colour and a letter or pictogram, as inline SVG.

Kinds that share a colour family never share a shape (a hydrant is a red circle, a monitor a red
diamond, an extinguisher station a red square, a fire truck a red truck), and each carries its own
letter or pictogram, so they are told apart without colour and from across a control room. The
glyphs are plain inline SVG — no icon font, no image file, nothing to fetch — and the same
strings draw the live map, the exported file and their legends.
"""

from __future__ import annotations

from dataclasses import dataclass

from commandcenter.core.site import ResourceKind

OUTLINE = "#1F2933"
"""Stroke round every glyph (dark, so light glyphs stand out from the pale map)."""


@dataclass(frozen=True, slots=True)
class Glyph:
    """How one resource kind is drawn (in a 32 x 32 box).

    Attributes:
        shape: ``circle``, ``square``, ``diamond``, ``triangle``, ``hexagon``, ``house``,
            ``truck`` or ``label``.
        fill: Fill colour of the shape.
        mark: The letter drawn on it, or a pictogram: ``+`` (a cross), ``eye``, ``door``.
        ink: Colour of the letter or pictogram.
    """

    shape: str
    fill: str
    mark: str
    ink: str = "#FFFFFF"


GLYPHS: dict[str, Glyph] = {
    ResourceKind.FIRE_HYDRANT: Glyph("circle", "#D32F2F", "H"),
    ResourceKind.FIRE_MONITOR: Glyph("diamond", "#E65100", "M"),
    ResourceKind.EXTINGUISHER_STATION: Glyph("square", "#B71C1C", "E"),
    ResourceKind.FOAM_STATION: Glyph("triangle", "#FBC02D", "F", OUTLINE),
    ResourceKind.FIRE_TRUCK: Glyph("truck", "#D32F2F", ""),
    ResourceKind.SCBA_CABINET: Glyph("square", "#1565C0", "A"),
    ResourceKind.GAS_MASK_CABINET: Glyph("hexagon", "#6A1B9A", "G"),
    ResourceKind.SPILL_KIT: Glyph("hexagon", "#6D4C41", "S"),
    ResourceKind.EYEWASH_SHOWER: Glyph("circle", "#00838F", "eye"),
    ResourceKind.FIRST_AID: Glyph("square", "#2E7D32", "+"),
    ResourceKind.AMBULANCE: Glyph("truck", "#FFFFFF", "+", "#D32F2F"),
    ResourceKind.EMERGENCY_SHELTER: Glyph("house", "#546E7A", "door"),
    ResourceKind.ASSEMBLY_POINT: Glyph("label", "#009E3C", "AP"),
}
"""The glyph of every resource kind."""

HIDDEN_KINDS = frozenset({ResourceKind.FIRE_HYDRANT, ResourceKind.EXTINGUISHER_STATION,
                          ResourceKind.EYEWASH_SHOWER})
"""Numerous small resources whose layers start switched off (the layer list shows them)."""

_SHAPES = {
    "circle": "<circle cx='16' cy='16' r='14'/>",
    "square": "<rect x='2.5' y='2.5' width='27' height='27' rx='4'/>",
    "diamond": "<path d='M16 1 L31 16 L16 31 L1 16 Z'/>",
    "triangle": "<path d='M16 1.5 L31 29.5 L1 29.5 Z'/>",
    "hexagon": "<path d='M9 2.5 H23 L31 16 L23 29.5 H9 L1 16 Z'/>",
    "house": "<path d='M16 1.5 L31 14 V30 H1 V14 Z'/>",
    "label": "<rect x='1' y='5' width='30' height='22' rx='3'/>",
}

_TEXT_Y = {"triangle": 25.5, "house": 25.0}


def _mark(g: Glyph) -> str:
    if g.mark == "+":
        if g.shape == "truck":
            return f"<path d='M12 8.5 h4 v4 h4 v4 h-4 v4 h-4 v-4 h-4 v-4 h4 Z' fill='{g.ink}'/>"
        return f"<path d='M13 6 h6 v7 h7 v6 h-7 v7 h-6 v-7 h-7 v-6 h7 Z' fill='{g.ink}'/>"
    if g.mark == "eye":
        return (f"<path d='M4 16 Q16 5 28 16 Q16 27 4 16 Z' fill='{g.ink}'/>"
                f"<circle cx='16' cy='16' r='4.5' fill='{g.fill}'/>")
    if g.mark == "door":
        return f"<rect x='12' y='17' width='8' height='13' fill='{g.ink}'/>"
    if not g.mark:
        return ""
    size = 13 if len(g.mark) > 1 else 19
    y = _TEXT_Y.get(g.shape, 16 + size * 0.36)
    return (f"<text x='16' y='{y:g}' text-anchor='middle' font-family='Arial,Helvetica,"
            f"sans-serif' font-weight='bold' font-size='{size}' fill='{g.ink}'>{g.mark}</text>")


def _truck(g: Glyph) -> str:
    """A vehicle seen from the side: body, cab, two wheels."""
    return (f"<g stroke='{OUTLINE}' stroke-width='1.6' fill='{g.fill}'>"
            "<path d='M1.5 5.5 H22 V24 H1.5 Z'/>"
            "<path d='M22 11 H27 L30.5 17 V24 H22 Z'/>"
            f"<circle cx='8' cy='25' r='3.8' fill='{OUTLINE}'/>"
            f"<circle cx='25' cy='25' r='3.8' fill='{OUTLINE}'/></g>"
            + ("<path d='M5 9 H19' stroke='#FFFFFF' stroke-width='2'/>"
               "<path d='M5 13 H19' stroke='#FFFFFF' stroke-width='2'/>"
               if not g.mark else "")
            + "<path d='M24 13 H27 L29 16.5 H24 Z' fill='#CFE8FF'/>")


def glyph_svg(kind: str, size: int = 24) -> str:
    """Return the inline SVG of ``kind``'s glyph, ``size`` pixels square (no namespace needed).

    An unknown kind gets a black circle with a question mark.
    """
    g = GLYPHS.get(kind, Glyph("circle", "#000000", "?"))
    if g.shape == "truck":
        body = _truck(g)
    else:
        body = (f"<g fill='{g.fill}' stroke='{OUTLINE}' stroke-width='1.8'>"
                f"{_SHAPES[g.shape]}</g>")
    return (f"<svg class='cc-glyph' width='{size}' height='{size}' viewBox='0 0 32 32' "
            f"role='img' aria-label='{kind}'>{body}{_mark(g)}</svg>")
