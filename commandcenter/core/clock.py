"""Clocks: the only source of time for domain code.

Production code gets a :class:`SystemClock`; tests get a :class:`ScriptedClock` they advance by
hand; drills and replay use a :class:`ScaledClock`. All times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time."""

    def now(self) -> datetime:
        """Return the current time as an aware UTC datetime."""
        ...

    def monotonic(self) -> float:
        """Return seconds from an arbitrary origin that never go backwards."""
        ...


class SystemClock:
    """Wall-clock time of this machine."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Return :func:`time.monotonic`."""
        return time.monotonic()


class ScriptedClock:
    """A clock that moves only when told to; deterministic tests run on it."""

    def __init__(self, start: datetime | None = None) -> None:
        """Start at ``start`` (default 2026-01-01 00:00 UTC)."""
        if start is None:
            start = datetime(2026, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("ScriptedClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._mono = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the scripted time."""
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        """Return scripted seconds since the clock was made."""
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by ``seconds`` and return the new time."""
        if seconds < 0:
            raise ValueError("a clock never goes backwards")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._mono += seconds
            return self._now


class ScaledClock:
    """Time running ``factor`` times faster than ``base`` from a chosen origin (drills, replay)."""

    def __init__(self, base: Clock, origin: datetime, factor: float = 1.0) -> None:
        """Run from ``origin`` at ``factor`` × the speed of ``base``."""
        if factor <= 0:
            raise ValueError("factor must be positive")
        self._base = base
        self._origin = origin.astimezone(UTC)
        self._factor = factor
        self._start_mono = base.monotonic()

    def now(self) -> datetime:
        """Return the scaled time."""
        elapsed = (self._base.monotonic() - self._start_mono) * self._factor
        return self._origin + timedelta(seconds=elapsed)

    def monotonic(self) -> float:
        """Return scaled seconds since the clock was made."""
        return (self._base.monotonic() - self._start_mono) * self._factor
