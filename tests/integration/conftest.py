"""Helpers for tests that watch another process's database."""

from __future__ import annotations

import pytest

from commandcenter.core.clock import SystemClock
from commandcenter.core.events import RecordedEvent
from commandcenter.errors import StorageError
from commandcenter.storage.eventlog import EventLog


def tail_of(db: str, n: int) -> list[RecordedEvent]:
    """Return the last ``n`` events, or none while the other process is still creating the
    database (the file exists before its first migration has committed)."""
    try:
        with EventLog(db, SystemClock(), migrate=False) as log:
            return log.tail(n)
    except StorageError:
        return []


@pytest.fixture
def watch_tail():
    """The :func:`tail_of` helper, for tests that poll a running process's log."""
    return tail_of
