"""Messages from the map page to Python, over a ``QWebChannel``, strictly checked.

The page calls ``ccBridge.post(text)`` with JSON text. Only three messages exist, each with
exactly these keys:

- ``{"type": "ready"}`` — the site is drawn;
- ``{"type": "drawn", "serial": <int ≥ 0>}`` — the update with that serial is drawn;
- ``{"type": "hazard", "lat": <number>, "lon": <number>, "how": "click" | "drag"}`` — the
  commander placed or dragged the release point.

Anything else — not JSON, not an object, an unknown type, a missing or extra key, a wrong type,
a position that is not a finite ``[lat, lon]``, text longer than :data:`MAX_MESSAGE_CHARS` — is
logged as a warning and ignored.
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


Message = Ready | Drawn | PlaceHazard

_KEYS: dict[str, frozenset[str]] = {
    "ready": frozenset({"type"}),
    "drawn": frozenset({"type", "serial"}),
    "hazard": frozenset({"type", "lat", "lon", "how"}),
}


class BadMessage(ValueError):
    """A message from the page does not follow the format."""


def _number(data: dict[str, Any], key: str) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value):
        raise BadMessage(f"{key} must be a finite number, not {value!r}")
    return float(value)


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
    lat, lon = _number(data, "lat"), _number(data, "lon")
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise BadMessage(f"hazard: ({lat}, {lon}) is not a [lat, lon] position")
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
    """

    ready = Signal()
    drawn = Signal(int)
    hazard_placed = Signal(float, float, str)

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
        else:
            self.hazard_placed.emit(msg.lat, msg.lon, msg.how)
