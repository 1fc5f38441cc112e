"""The audible alarm: a horn that repeats until every announced alarm is acknowledged.

Each priority has its own tone: high priority sounds three short high beeps every 1.5 s, medium
two lower beeps every 3 s, low one long low beep every 6 s; the horn plays the tone of the most
urgent unacknowledged alarm. "Silence" quiets the alarms standing now; a newly raised alarm sounds
again. Tones are short WAV files written with the standard ``wave`` module and played with
QtMultimedia's ``QSoundEffect``; where QtMultimedia cannot load (no audio libraries), the horn
falls back to the system beep. A muted horn (``COMMANDCENTER_MUTE=1``, and always in tests) counts
what it would have played instead.
"""

from __future__ import annotations

import io
import logging
import math
import os
import shutil
import struct
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from PySide6.QtCore import QCoreApplication, QObject, QTimer, QUrl, Signal
from PySide6.QtWidgets import QApplication

from commandcenter.core.alarms import AlarmBoard, Priority
from commandcenter.ui.alarms.models import BoardObserver

_LOGGER = logging.getLogger(__name__)

try:  # QtMultimedia needs the platform's audio libraries (libpulse on Linux)
    from PySide6.QtMultimedia import QSoundEffect
except ImportError as _err:  # pragma: no cover - depends on the machine
    QSoundEffect = None  # type: ignore[assignment,misc]
    _MULTIMEDIA_ERROR: str | None = str(_err)
else:
    _MULTIMEDIA_ERROR = None


@dataclass(frozen=True, slots=True)
class Tone:
    """One priority's sound.

    Attributes:
        frequency: Pitch in Hz.
        beep_ms: Length of one beep.
        beeps: Beeps per burst.
        interval_ms: Time from one burst to the next.
    """

    frequency: float
    beep_ms: int
    beeps: int
    interval_ms: int


TONES: Final[dict[Priority, Tone]] = {
    Priority.HIGH: Tone(1050.0, 140, 3, 1500),
    Priority.MEDIUM: Tone(800.0, 220, 2, 3000),
    Priority.LOW: Tone(560.0, 400, 1, 6000),
}
"""Default tone per priority: the more urgent, the higher, faster and more insistent."""

SAMPLE_RATE: Final = 22050


def tone_wav(tone: Tone, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Return a mono 16-bit WAV of one burst of ``tone`` (beeps separated by equal gaps)."""
    n_beep = int(sample_rate * tone.beep_ms / 1000)
    fade = max(1, int(sample_rate * 0.008))
    frames = bytearray()
    for i in range(tone.beeps):
        for n in range(n_beep):
            envelope = min(1.0, n / fade, (n_beep - n) / fade)
            sample = 0.6 * envelope * math.sin(2 * math.pi * tone.frequency * n / sample_rate)
            frames += struct.pack("<h", int(sample * 32767))
        if i < tone.beeps - 1:
            frames += b"\x00\x00" * n_beep
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(bytes(frames))
    return out.getvalue()


def muted_by_environment() -> bool:
    """True when ``COMMANDCENTER_MUTE`` is set to ``1``/``true``/``yes``."""
    return os.environ.get("COMMANDCENTER_MUTE", "").strip().lower() in ("1", "true", "yes")


def multimedia_error() -> str | None:
    """Why QtMultimedia could not be loaded (``None`` when it loaded)."""
    return _MULTIMEDIA_ERROR


class _Player(QObject):
    """Plays the tone of a priority, through QSoundEffect or the system beep."""

    def __init__(self, tones: dict[Priority, Tone], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._effects: dict[Priority, Any] = {}
        self._dir: Path | None = None
        self.backend = "beep"
        if QSoundEffect is None:
            _LOGGER.warning("QtMultimedia is not available (%s); the horn uses the system beep",
                            _MULTIMEDIA_ERROR)
            return
        self._dir = Path(tempfile.mkdtemp(prefix="commandcenter-horn-"))
        for priority, tone in tones.items():
            path = self._dir / f"{priority.value}.wav"
            path.write_bytes(tone_wav(tone))
            effect = QSoundEffect(self)
            effect.setSource(QUrl.fromLocalFile(str(path)))
            effect.setVolume(1.0)
            self._effects[priority] = effect
        self.backend = "qsoundeffect"
        folder = self._dir
        self.destroyed.connect(lambda *_: shutil.rmtree(folder, ignore_errors=True))

    def play(self, priority: Priority) -> None:
        effect = self._effects.get(priority)
        if effect is not None:
            effect.play()
        else:
            QApplication.beep()


class AlarmHorn(QObject):
    """Sounds while the board has unacknowledged announced alarms, per priority.

    Args:
        board: The alarm board to listen to.
        muted: Count instead of playing; default from ``COMMANDCENTER_MUTE``.
        tones: Tone per priority (tests pass short intervals).

    Attributes:
        would_play: Bursts a muted horn would have played, by priority, oldest first.

    Signals:
        sounding_changed(bool): The horn started or stopped.
        played(str): A burst of this priority's tone was played (or would have been, muted).
    """

    sounding_changed = Signal(bool)
    played = Signal(str)

    def __init__(self, board: AlarmBoard, *, muted: bool | None = None,
                 tones: dict[Priority, Tone] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.board = board
        self._tones = dict(tones or TONES)
        self._muted = muted_by_environment() if muted is None else muted
        self._player: _Player | None = None
        self._silenced: set[str] = set()
        self._priority: Priority | None = None
        self.would_play: list[Priority] = []
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._burst)
        self._observer = BoardObserver(board, self)
        self._observer.alarm_changed.connect(lambda _a: self.update_state())
        self.update_state()

    # ------------------------------------------------------------------ state

    @property
    def muted(self) -> bool:
        """Whether the horn only counts instead of playing."""
        return self._muted

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute."""
        self._muted = muted

    @property
    def sounding(self) -> bool:
        """Whether the horn is repeating right now."""
        return self._priority is not None

    @property
    def priority(self) -> Priority | None:
        """The priority whose tone is repeating (``None``: quiet)."""
        return self._priority

    @property
    def backend(self) -> str:
        """``"qsoundeffect"``, ``"beep"``, or ``"muted"``."""
        if self._muted:
            return "muted"
        return self._ensure_player().backend

    def silence(self) -> None:
        """Quiet the alarms standing now; a newly raised alarm sounds again."""
        self._silenced = {a.id for a in self.board.unacknowledged()}
        self.update_state()

    def update_state(self) -> None:
        """Start, change or stop the horn after the board changed."""
        waiting = self.board.unacknowledged()
        ids = {a.id for a in waiting}
        self._silenced &= ids
        loud = [a for a in waiting if a.id not in self._silenced]
        top = max((a.priority for a in loud), key=lambda p: p.rank, default=None)
        if top == self._priority:
            return
        was = self._priority is not None
        self._priority = top
        if top is None:
            self._timer.stop()
        else:
            self._timer.start(self._tones[top].interval_ms)
            self._burst()
        if was != (top is not None):
            self.sounding_changed.emit(top is not None)

    def stop(self) -> None:
        """Stop listening and stay quiet (the page is closing)."""
        self._timer.stop()
        self._observer.detach()
        self._priority = None

    # ------------------------------------------------------------------ sound

    def _ensure_player(self) -> _Player:
        if self._player is None:
            self._player = _Player(self._tones, self)
        return self._player

    def _burst(self) -> None:
        priority = self._priority
        if priority is None:
            return
        if self._muted:
            self.would_play.append(priority)
        else:
            self._ensure_player().play(priority)
        self.played.emit(priority.value)


_HORNS: dict[int, AlarmHorn] = {}


def horn_for(board: AlarmBoard, *, muted: bool | None = None,
             parent: QObject | None = None) -> AlarmHorn:
    """Return the one horn of ``board`` in this process (console and wall share it).

    The first caller's ``parent`` owns it; it is forgotten when that parent goes.
    """
    horn = _HORNS.get(id(board))
    if horn is not None and horn.board is board:
        return horn
    horn = AlarmHorn(board, muted=muted,
                     parent=parent if parent is not None else QCoreApplication.instance())
    key = id(board)
    _HORNS[key] = horn
    horn.destroyed.connect(lambda *_: _HORNS.pop(key, None))
    return horn
