"""The horn is heard: a real PulseAudio server with a null sink records what the horn plays.

The horn runs unmuted in a child process (``horn_child.py``) against a PulseAudio server started
by the test on a private socket; ``parec`` records the sink's monitor in each phase: before the
alarm (silence), while the alarm stands (the high-priority tone), after acknowledgement (silence).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from commandcenter.core.alarms import Priority
from commandcenter.ui.alarms.audible import TONES

RATE = 22050
LOUD = 1000  # |sample| above this counts as sound (the tone peaks near 20,000)


@pytest.fixture
def sound_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    if shutil.which("pulseaudio") is None or shutil.which("parec") is None:
        pytest.fail("pulseaudio and parec are needed (scripts/install.sh --dev installs them)")
    run = tmp_path / "pulse"
    run.mkdir()
    socket_path = run / "native"
    env = {**os.environ, "HOME": str(run), "PULSE_RUNTIME_PATH": str(run),
           "PULSE_SERVER": f"unix:{socket_path}"}
    env.pop("COMMANDCENTER_MUTE", None)
    server = subprocess.Popen(
        ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
         "--disable-shm", "-L", "module-null-sink sink_name=horn",
         "-L", f"module-native-protocol-unix auth-anonymous=1 socket={socket_path}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["pactl", "info"], env=env, capture_output=True,
                             check=False).returncode:
            if server.poll() is not None or time.monotonic() > deadline:
                err = server.stderr.read().decode() if server.stderr else ""
                pytest.fail(f"pulseaudio did not start: {err[-500:]}")
            time.sleep(0.05)
        yield env
    finally:
        server.terminate()
        server.wait(5)
        if server.stderr:
            server.stderr.close()


class Recorder:
    """``parec`` on the null sink's monitor, 16-bit mono."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            ["parec", "--device=horn.monitor", "--format=s16le", f"--rate={RATE}",
             "--channels=1", "--raw", "--latency-msec=20"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def stop(self) -> list[int]:
        self.proc.terminate()
        data, _ = self.proc.communicate(timeout=5)
        n = len(data) // 2
        return list(struct.unpack(f"<{n}h", data[: 2 * n]))


def loud(samples: list[int]) -> list[int]:
    return [s for s in samples if abs(s) > LOUD]


def dominant_hz(samples: list[int]) -> float:
    """The strongest frequency of the recording (the pitch of a pure tone)."""
    spectrum = np.abs(np.fft.rfft(np.asarray(samples, dtype=float)))
    spectrum[0] = 0.0
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(spectrum.argmax())])


def test_horn_sounds_the_high_tone_until_acknowledged(sound_server: dict[str, str]) -> None:
    phases: dict[str, list[int]] = {}
    recorder: Recorder | None = None
    with subprocess.Popen([sys.executable, str(Path(__file__).with_name("horn_child.py"))],
                          env=sound_server, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as child:
        assert child.stdout is not None and child.stderr is not None
        try:
            prev = ""
            for expected in ("ready", "raise", "ack"):
                line = child.stdout.readline().strip()
                assert line == expected, f"child said {line!r}: {child.stderr.read()[-800:]}"
                if recorder is not None:
                    phases[prev] = recorder.stop()
                if expected == "ack":
                    time.sleep(0.9)  # the burst under way when acknowledged may finish
                recorder, prev = Recorder(sound_server), expected
            summary = json.loads(child.stdout.readline())
            assert recorder is not None
            phases[prev] = recorder.stop()
            recorder = None
        finally:
            if recorder is not None:
                recorder.stop()
            child.wait(20)
    assert child.returncode == 0
    assert summary["backend"] == "qsoundeffect"
    assert summary["priority"] == Priority.HIGH.value
    assert summary["played"] >= 3 and summary["played_after_ack"] == 0

    assert loud(phases["ready"]) == [], "sound before any alarm"
    sounding = phases["raise"]
    assert len(loud(sounding)) > RATE * 0.2, "the standing alarm was not heard"
    rms = math.sqrt(sum(s * s for s in loud(sounding)) / len(loud(sounding)))
    assert rms > 5000
    assert dominant_hz(sounding) == pytest.approx(TONES[Priority.HIGH].frequency, rel=0.05)
    assert loud(phases["ack"]) == [], "the horn went on after acknowledgement"
