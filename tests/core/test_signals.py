from __future__ import annotations

import logging

from commandcenter.core.signals import Signal


def test_emit_calls_in_order_and_disconnect_stops() -> None:
    sig: Signal[[int]] = Signal("test")
    seen: list[tuple[str, int]] = []
    sig.connect(lambda v: seen.append(("a", v)))
    off = sig.connect(lambda v: seen.append(("b", v)))
    sig.emit(1)
    off()
    sig.emit(2)
    assert seen == [("a", 1), ("b", 1), ("a", 2)]
    assert len(sig) == 1


def test_raising_callback_is_logged_and_others_still_run(
        expected_log_errors: list[logging.LogRecord]) -> None:
    sig: Signal[[]] = Signal("alarm board")
    seen: list[str] = []

    def boom() -> None:
        raise RuntimeError("bad subscriber")

    sig.connect(boom)
    sig.connect(lambda: seen.append("ok"))
    sig.emit()
    assert seen == ["ok"]
    assert [r.getMessage() for r in expected_log_errors] == ["a alarm board subscriber raised"]
