"""Messages from the map page to Python, over a ``QWebChannel``, strictly checked.

The page calls ``ccBridge.post(text)`` with JSON text. Only these messages exist, each with
exactly these keys:

- ``{"type": "ready"}`` — the site is drawn;
- ``{"type": "drawn", "serial": <int ≥ 0>}`` — the update with that serial is drawn;
- ``{"type": "hazard", "lat": <number>, "lon": <number>, "how": "click" | "drag"}`` — the
  commander placed or dragged the release point;
- ``{"type": "zone", "lat": <number>, "lon": <number>, "radius_m": <number>}`` — the commander
  drew the zone: pressed at the release point and dragged out to the radius;
- ``{"type": "radius", "radius_m": <number>}`` — the commander dragged the radius handle;
- ``{"type": "downwind", "downwind_m": <number>}`` — the commander dragged the sector's tip.

Anything else — not JSON, not an object, an unknown type, a missing or extra key, a wrong type,
a position that is not a finite ``[lat, lon]``, a radius outside :data:`RADIUS_RANGE_M` or a
downwind distance outside :data:`DOWNWIND_RANGE_M` (the side panel's ranges), text longer than
:data:`MAX_MESSAGE_CHARS` — is logged as a warning and ignored.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal, Slot

_LOGGER = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 1024
"""Longer messages are refused unread."""

RADIUS_RANGE_M = (10.0, 10_000.0)
"""Isolation radii the commander may set on the map (as in the side panel)."""

DOWNWIND_RANGE_M = (0.0, 50_000.0)
"""Downwind distances the commander may set on the map (as in the side panel)."""


@dataclass(frozen=True, slots=True)
class Ready:
    """The page has drawn the site."""


@dataclass(frozen=True, slots=True)
class Drawn:
    """The page has drawn the update with ``serial``."""

    serial: int


@dataclass(frozen=True, slots=True)
class PlaceHazard:
    """The commander placed (``"click"``) or dragged (``"drag"``) the release point."""

    lat: float
    lon: float
    how: str


@dataclass(frozen=True, slots=True)
class DrawZone:
    """The commander drew the zone: the release point and the isolation radius."""

    lat: float
    lon: float
    radius_m: float


@dataclass(frozen=True, slots=True)
class SetRadius:
    """The commander dragged the radius handle to ``radius_m``."""

    radius_m: float


@dataclass(frozen=True, slots=True)
class SetDownwind:
    """The commander dragged the sector's tip to ``downwind_m`` from the source."""

    downwind_m: float


Message = Ready | Drawn | PlaceHazard | DrawZone | SetRadius | SetDownwind

_KEYS: dict[str, frozenset[str]] = {
    "ready": frozenset({"type"}),
    "drawn": frozenset({"type", "serial"}),
    "hazard": frozenset({"type", "lat", "lon", "how"}),
    "zone": frozenset({"type", "lat", "lon", "radius_m"}),
    "radius": frozenset({"type", "radius_m"}),
    "downwind": frozenset({"type", "downwind_m"}),
}


class BadMessage(ValueError):
    """A message from the page does not follow the format."""


def _number(data: dict[str, Any], key: str) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value):
        raise BadMessage(f"{key} must be a finite number, not {value!r}")
    return float(value)


def _within(kind: str, data: dict[str, Any], key: str, bounds: tuple[float, float]) -> float:
    value = _number(data, key)
    if not bounds[0] <= value <= bounds[1]:
        raise BadMessage(f"{kind}: {key} must be {bounds[0]:g}–{bounds[1]:g} m, not {value:g}")
    return value


def _position(kind: str, data: dict[str, Any]) -> tuple[float, float]:
    lat, lon = _number(data, "lat"), _number(data, "lon")
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise BadMessage(f"{kind}: ({lat}, {lon}) is not a [lat, lon] position")
    return lat, lon


def parse_message(text: object) -> Message:
    """Return the message ``text`` holds.

    Raises:
        BadMessage: ``text`` is not one of the page's messages, exactly.
    """
    if not isinstance(text, str):
        raise BadMessage(f"expected JSON text, got {type(text).__name__}")
    if len(text) > MAX_MESSAGE_CHARS:
        raise BadMessage(f"message of {len(text)} characters (at most {MAX_MESSAGE_CHARS})")
    try:
        data = json.loads(text)
    except ValueError as err:
        raise BadMessage(f"not JSON: {err}") from err
    if not isinstance(data, dict):
        raise BadMessage(f"expected a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in _KEYS:
        raise BadMessage(f"unknown message type {kind!r}")
    keys = set(data)
    if keys != _KEYS[kind]:
        missing = sorted(_KEYS[kind] - keys)
        extra = sorted(keys - _KEYS[kind])
        raise BadMessage(f"{kind}: " + "; ".join(
            ([f"missing {', '.join(missing)}"] if missing else [])
            + ([f"unexpected {', '.join(extra)}"] if extra else [])))
    if kind == "ready":
        return Ready()
    if kind == "drawn":
        serial = data["serial"]
        if isinstance(serial, bool) or not isinstance(serial, int) or serial < 0:
            raise BadMessage(f"drawn: serial must be a whole number ≥ 0, not {serial!r}")
        return Drawn(serial)
    if kind == "radius":
        return SetRadius(_within(kind, data, "radius_m", RADIUS_RANGE_M))
    if kind == "downwind":
        return SetDownwind(_within(kind, data, "downwind_m", DOWNWIND_RANGE_M))
    lat, lon = _position(kind, data)
    if kind == "zone":
        return DrawZone(lat, lon, _within(kind, data, "radius_m", RADIUS_RANGE_M))
    how = data["how"]
    if how not in ("click", "drag"):
        raise BadMessage(f"hazard: how must be 'click' or 'drag', not {how!r}")
    return PlaceHazard(lat, lon, how)


class MapBridge(QObject):
    """The object the page sees as ``ccBridge``; re-emits valid messages as Qt signals.

    Signals:
        ready(): The page has drawn the site.
        drawn(int): The update with this serial is drawn.
        hazard_placed(float, float, str): Latitude, longitude and ``"click"``/``"drag"``.
        zone_drawn(float, float, float): Latitude, longitude and radius (m) of a drawn zone.
        radius_set(float): The isolation radius (m) from the radius handle.
        downwind_set(float): The downwind distance (m) from the sector's tip.
    """

    ready = Signal()
    drawn = Signal(int)
    hazard_placed = Signal(float, float, str)
    zone_drawn = Signal(float, float, float)
    radius_set = Signal(float)
    downwind_set = Signal(float)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ignored = 0
        """How many malformed messages were ignored."""

    @Slot(str)
    def post(self, text: str) -> None:
        """Take one message from the page (called from JavaScript)."""
        if not shiboken6.isValid(self):
            return
        try:
            msg = parse_message(text)
        except BadMessage as err:
            self.ignored += 1
            shown = text if len(text) <= 200 else text[:200] + "…"
            _LOGGER.warning("map page sent a malformed message, ignored (%s): %r", err, shown)
            return
        if isinstance(msg, Ready):
            self.ready.emit()
        elif isinstance(msg, Drawn):
            self.drawn.emit(msg.serial)
        elif isinstance(msg, PlaceHazard):
            self.hazard_placed.emit(msg.lat, msg.lon, msg.how)
        elif isinstance(msg, DrawZone):
            self.zone_drawn.emit(msg.lat, msg.lon, msg.radius_m)
        elif isinstance(msg, SetRadius):
            self.radius_set.emit(msg.radius_m)
        else:
            self.downwind_set.emit(msg.downwind_m)
