from __future__ import annotations

import numpy as np
import pytest

from commandcenter.core.trends import TrendBuffer, TrendStore, broken_at_gaps, gaps


def test_ring_keeps_the_newest_in_order() -> None:
    buf = TrendBuffer(capacity=4)
    assert buf.latest() is None and len(buf) == 0
    for i in range(6):
        buf.append(float(i), i * 10.0)
    t, v = buf.snapshot()
    assert t.tolist() == [2.0, 3.0, 4.0, 5.0]
    assert v.tolist() == [20.0, 30.0, 40.0, 50.0]
    assert buf.latest() == (5.0, 50.0)
    assert len(buf) == 4 and buf.version == 6


def test_snapshot_is_a_copy_and_filters_by_time() -> None:
    buf = TrendBuffer(capacity=10)
    for i in range(5):
        buf.append(float(i), float(i))
    t, _v = buf.snapshot(since=3.0)
    assert t.tolist() == [3.0, 4.0]
    t[:] = -1
    assert buf.snapshot()[0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_memory_is_fixed() -> None:
    buf = TrendBuffer(capacity=100)
    for i in range(10_000):
        buf.append(float(i), 1.0)
    assert buf.snapshot()[0].shape == (100,)
    assert isinstance(buf.snapshot()[1], np.ndarray)


def test_store_per_gauge() -> None:
    store = TrendStore(["GD-1", "GD-2"], capacity=3)
    store.append("GD-1", 1.0, 5.0)
    assert "GD-1" in store and "GD-9" not in store
    assert store.get("GD-1").latest() == (1.0, 5.0)
    assert len(store.get("GD-2")) == 0
    assert store.gauge_ids() == ["GD-1", "GD-2"]
    with pytest.raises(KeyError):
        store.append("GD-9", 1.0, 1.0)
    with pytest.raises(ValueError, match="capacity"):
        TrendBuffer(1)


def test_gaps_are_silences_longer_than_the_limit_and_the_silence_until_now() -> None:
    t = np.array([0.0, 1.0, 2.0, 30.0, 31.0, 32.0])
    assert gaps(t, 10.0) == [(2.0, 30.0)]
    assert gaps(t, 10.0, until=40.0) == [(2.0, 30.0)]
    assert gaps(t, 10.0, until=50.0) == [(2.0, 30.0), (32.0, 50.0)]
    assert gaps(t, 30.0) == []
    assert gaps(np.array([]), 5.0, until=100.0) == []
    assert gaps(np.array([5.0]), 5.0, until=100.0) == [(5.0, 100.0)]
    with pytest.raises(ValueError, match="min_gap must be a positive number"):
        gaps(t, 0.0)


def test_curves_are_broken_inside_gaps() -> None:
    t = np.array([0.0, 1.0, 21.0, 22.0])
    v = np.array([1.0, 2.0, 3.0, 4.0])
    bt, bv = broken_at_gaps(t, v, 10.0)
    assert list(bt) == [0.0, 1.0, 11.0, 21.0, 22.0]
    assert np.isnan(bv[2]) and list(bv[[0, 1, 3, 4]]) == [1.0, 2.0, 3.0, 4.0]
    same_t, same_v = broken_at_gaps(t, v, 30.0)
    assert same_t is t and same_v is v
