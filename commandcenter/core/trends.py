"""Per-gauge ring buffers of recent readings: sampling rate is not drawing rate.

Gauge drivers append readings as they come; trend plots copy a snapshot on their own timer
(about 10 Hz) and never hold a reference into the buffer. Memory is fixed: ``capacity`` readings
per gauge whatever the uptime (history lives in the store).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class TrendBuffer:
    """A fixed-size ring of ``(t, value)``; ``t`` in POSIX seconds (UTC)."""

    def __init__(self, capacity: int = 3600) -> None:
        """Keep the last ``capacity`` readings (default: one hour at 1 Hz)."""
        if capacity < 2:
            raise ValueError("capacity must be at least 2")
        self._t = np.zeros(capacity, dtype=np.float64)
        self._v = np.zeros(capacity, dtype=np.float64)
        self._next = 0
        self._count = 0
        self._lock = threading.Lock()
        self.version = 0
        """Counts appends; a plot redraws only when it changed."""

    @property
    def capacity(self) -> int:
        """How many readings the ring holds."""
        return int(self._t.shape[0])

    def __len__(self) -> int:
        """Return the number of readings held."""
        return self._count

    def append(self, t: float, value: float) -> None:
        """Add a reading (older readings than the newest are accepted and kept in order given)."""
        with self._lock:
            self._t[self._next] = t
            self._v[self._next] = value
            self._next = (self._next + 1) % self.capacity
            self._count = min(self._count + 1, self.capacity)
            self.version += 1

    def latest(self) -> tuple[float, float] | None:
        """Return the newest ``(t, value)``, or ``None`` when empty."""
        with self._lock:
            if not self._count:
                return None
            i = (self._next - 1) % self.capacity
            return float(self._t[i]), float(self._v[i])

    def snapshot(self, since: float | None = None) -> tuple[FloatArray, FloatArray]:
        """Return copies of times and values, oldest first (only ``t >= since`` if given)."""
        with self._lock:
            if self._count < self.capacity:
                t = self._t[: self._count].copy()
                v = self._v[: self._count].copy()
            else:
                t = np.concatenate((self._t[self._next:], self._t[: self._next]))
                v = np.concatenate((self._v[self._next:], self._v[: self._next]))
        if since is not None:
            keep = t >= since
            t, v = t[keep], v[keep]
        return t, v


class TrendStore:
    """One :class:`TrendBuffer` per gauge."""

    def __init__(self, gauge_ids: Iterable[str], capacity: int = 3600) -> None:
        """Make a buffer of ``capacity`` readings for each gauge."""
        self._buffers = {gid: TrendBuffer(capacity) for gid in gauge_ids}

    def __contains__(self, gauge_id: object) -> bool:
        """Return whether the store has a buffer for ``gauge_id``."""
        return gauge_id in self._buffers

    def gauge_ids(self) -> list[str]:
        """Return the gauges held, in the order given."""
        return list(self._buffers)

    def append(self, gauge_id: str, t: float, value: float) -> None:
        """Add a reading of ``gauge_id``.

        Raises:
            KeyError: Unknown gauge.
        """
        self._buffers[gauge_id].append(t, value)

    def get(self, gauge_id: str) -> TrendBuffer:
        """Return the buffer of ``gauge_id``.

        Raises:
            KeyError: Unknown gauge.
        """
        return self._buffers[gauge_id]


_IndexArray = npt.NDArray[np.intp]


def _gap_at(t: FloatArray, min_gap: float) -> _IndexArray:
    """Return the indices ``i`` with more than ``min_gap`` seconds between ``t[i]`` and the next."""
    if t.size < 2:
        return np.empty(0, dtype=np.intp)
    return np.flatnonzero(np.diff(t) > min_gap)


def _check_gap(min_gap: float) -> None:
    if not min_gap > 0:
        raise ValueError("min_gap must be a positive number of seconds")


def _spans(t: FloatArray, at: _IndexArray) -> list[tuple[float, float]]:
    return [(float(t[i]), float(t[i + 1])) for i in at]


def _broken(t: FloatArray, v: FloatArray, at: _IndexArray) -> tuple[FloatArray, FloatArray]:
    if not at.size:
        return t, v
    mid = (t[at] + t[at + 1]) / 2.0
    return np.insert(t, at + 1, mid), np.insert(v, at + 1, np.nan)


def gaps(t: FloatArray, min_gap: float, until: float | None = None,
         ) -> list[tuple[float, float]]:
    """Return the spans without readings longer than ``min_gap`` seconds, oldest first.

    A span runs from the last reading before the silence to the first one after it; with
    ``until`` (usually "now") a silence after the last reading counts too, and ends there.
    ``t`` holds reading times in increasing order (a :meth:`TrendBuffer.snapshot`).

    Raises:
        ValueError: ``min_gap`` is not a positive number.
    """
    _check_gap(min_gap)
    out = _spans(t, _gap_at(t, min_gap))
    if until is not None and t.size and until - float(t[-1]) > min_gap:
        out.append((float(t[-1]), until))
    return out


def broken_at_gaps(t: FloatArray, v: FloatArray,
                   min_gap: float) -> tuple[FloatArray, FloatArray]:
    """Return ``t, v`` with a NaN value inserted inside every gap longer than ``min_gap``.

    A plot that skips non-finite values then leaves the gap empty instead of drawing a straight
    line across a time when nothing was read.
    """
    return _broken(t, v, _gap_at(t, min_gap))


def broken_with_gaps(t: FloatArray, v: FloatArray, min_gap: float,
                     ) -> tuple[FloatArray, FloatArray, list[tuple[float, float]]]:
    """Return :func:`broken_at_gaps` and :func:`gaps` (no ``until``) of one snapshot at once.

    Raises:
        ValueError: ``min_gap`` is not a positive number.
    """
    _check_gap(min_gap)
    at = _gap_at(t, min_gap)
    bt, bv = _broken(t, v, at)
    return bt, bv, _spans(t, at)
