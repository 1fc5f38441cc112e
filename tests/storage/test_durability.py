"""Killing the process never loses an acknowledged event.

A child process appends from several threads and prints each sequence number the moment
``append`` returns; the parent kills it with SIGKILL mid-stream. Every printed event must be in the
reopened log with the content the child gave it, and the chain must verify.
"""

from __future__ import annotations

import signal
import sys

import pytest

from commandcenter.core.clock import ScriptedClock
from commandcenter.core.events import Event
from commandcenter.storage.eventlog import EventLog

from .conftest import start_child_appender

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")


def test_sigkill_loses_no_acknowledged_event(db_url: str) -> None:
    child = start_child_appender(db_url, "child", threads=6, per_thread=0)
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write("go\n")
    child.stdin.flush()
    acknowledged: dict[int, tuple[int, int]] = {}
    try:
        while len(acknowledged) < 400:
            line = child.stdout.readline()
            assert line, "child appender stopped early"
            seq, thread, i = (int(x) for x in line.split())
            acknowledged[seq] = (thread, i)
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL

    with EventLog(db_url, ScriptedClock()) as log:
        assert log.verify() is None
        stored = {ev.seq: ev for ev in log.read()}
        assert log.last_seq() == len(stored) >= len(acknowledged)
        for seq, (thread, i) in acknowledged.items():
            ev = stored[seq]
            assert ev.type == "test.tick" and ev.source == "child"
            assert ev.payload == {"thread": thread, "i": i, "who": "child"}
        # Each thread's acknowledged events are a prefix of what it stored, in order.
        per_thread: dict[int, list[int]] = {}
        for ev in stored.values():
            per_thread.setdefault(ev.payload["thread"], []).append(ev.payload["i"])
        for numbers in per_thread.values():
            assert numbers == list(range(len(numbers)))
        after = log.append(Event("after.crash", "test"))
        assert after.seq == len(stored) + 1
        assert log.verify() is None
