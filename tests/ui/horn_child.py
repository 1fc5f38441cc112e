"""Run by ``test_ui_horn_audio``: an unmuted horn over a real engine and board, on a schedule.

Prints one line per phase (``ready``, ``raise``, ``ack``) and, last, a JSON summary, so the test
can record the sound card in each phase. Not a test module itself.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ["QT_QPA_PLATFORM"] = "offscreen"

from PySide6.QtWidgets import QApplication  # noqa: E402

from commandcenter.core.alarms import AlarmEngine, Priority  # noqa: E402
from commandcenter.core.clock import ScriptedClock  # noqa: E402
from commandcenter.core.siteio import load_site  # noqa: E402
from commandcenter.storage.eventlog import EventLog  # noqa: E402
from commandcenter.ui.alarms.audible import TONES, AlarmHorn, Tone  # noqa: E402
from commandcenter.ui.alarms.scripted import EngineDesk  # noqa: E402

INTERVAL_MS = 500
"""Bursts every 0.5 s, so a 2.5 s phase holds several."""


def spin(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)


def main() -> None:
    app = QApplication([sys.argv[0]])
    clock = ScriptedClock(datetime(2026, 3, 1, 8, 30, 5, tzinfo=UTC))
    site = load_site(REPO)
    with tempfile.TemporaryDirectory() as tmp:
        log = EventLog(f"sqlite:///{tmp}/events.db", clock)
        desk = EngineDesk(site, AlarmEngine.for_site(site, clock), log)
        tones = {p: Tone(t.frequency, t.beep_ms, t.beeps, INTERVAL_MS) for p, t in TONES.items()}
        horn = AlarmHorn(desk.board, muted=False, tones=tones)
        played: list[str] = []
        horn.played.connect(played.append)
        backend = horn.backend  # opens the sound device now, not in the middle of a phase
        spin(app, 0.5)
        print("ready", flush=True)
        spin(app, 1.5)
        print("raise", flush=True)
        desk.reading("H2S-410-01", 25.0, clock.now())
        clock.advance(2)
        desk.reading("H2S-410-01", 25.0, clock.now())  # after the on-delay: high priority
        priority = horn.priority
        spin(app, 2.5)
        print("ack", flush=True)
        desk._record(desk.engine.acknowledge_all("op"))
        after_ack = len(played)
        spin(app, 2.5)
        log.close()
    print(json.dumps({"backend": backend, "priority": priority.value if priority else None,
                      "high": Priority.HIGH.value, "played": len(played),
                      "played_after_ack": len(played) - after_ack}), flush=True)


if __name__ == "__main__":
    main()
