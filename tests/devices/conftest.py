"""Real peers for the device tests: pty serial lines with fault injection, a mosquitto broker.

- :class:`PtyLine` joins the application's serial port (a symlink to a pty, like a udev
  ``/dev/serial/by-id`` name) to a device-side pty where a simulated device (a pymodbus RTU
  server, an ASCII panel) sits. The bridge between them can silence one slave, garble or corrupt
  responses, inject noise, and make the application's port vanish and come back.
- :class:`Broker` runs Debian's ``mosquitto`` on a free loopback port; it can be stopped and
  started again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import subprocess
import time
import tty
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from commandcenter.core.site import Gauge, GaugeLink
from commandcenter.devices.base import Reading

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def run(coro: Awaitable[Any], timeout: float = 30.0) -> Any:
    """Run a coroutine on a fresh event loop, with an overall time limit."""
    async def main() -> Any:
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(main())


async def wait_until(pred: Callable[[], bool], timeout: float = 5.0,  # noqa: ASYNC109
                     what: str = "") -> None:
    """Wait (on the loop) until ``pred()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or pred}")
        await asyncio.sleep(0.01)


class Sink:
    """A ReadingSink that records everything, and checks it is called on the loop thread."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.faults: list[tuple[str, str, datetime]] = []
        self.restored: list[tuple[str, datetime]] = []
        self.events: list[tuple[str, str]] = []
        self._loop_thread: int | None = None

    def _check_thread(self) -> None:
        import threading
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise AssertionError("sink called outside the event loop thread") from None
        ident = threading.get_ident()
        if self._loop_thread is None:
            self._loop_thread = ident
        assert ident == self._loop_thread

    def reading(self, reading: Reading) -> None:
        self._check_thread()
        assert reading.ts.tzinfo is not None
        self.readings.append(reading)
        self.events.append(("reading", reading.gauge_id))

    def comm_fault(self, gauge_id: str, detail: str, ts: datetime) -> None:
        self._check_thread()
        self.faults.append((gauge_id, detail, ts))
        self.events.append(("fault", gauge_id))

    def comm_restored(self, gauge_id: str, ts: datetime) -> None:
        self._check_thread()
        self.restored.append((gauge_id, ts))
        self.events.append(("restored", gauge_id))

    def values(self, gauge_id: str) -> list[float]:
        return [r.value for r in self.readings if r.gauge_id == gauge_id]

    def count(self, gauge_id: str) -> int:
        return sum(1 for r in self.readings if r.gauge_id == gauge_id)

    def faulted(self, gauge_id: str) -> bool:
        """Whether the latest communication event of the gauge is a fault."""
        state = False
        for kind, gid in self.events:
            if gid == gauge_id and kind in ("fault", "restored"):
                state = kind == "fault"
        return state


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def link(**kw: Any) -> GaugeLink:
    return GaugeLink.model_validate(kw)


def gauge(gid: str, link_id: str, address: dict[str, Any], *, kind: str = "combustible_gas",
          unit: str = "%LEL", rng: tuple[float, float] = (0, 100)) -> Gauge:
    return Gauge.model_validate({
        "id": gid, "kind": kind, "name": {"zh": gid}, "unit": unit, "link": link_id,
        "address": address, "location": [30.7, 121.3], "range": list(rng),
        "thresholds": [{"level": "prealarm", "direction": "high", "value": rng[1] * 0.1},
                       {"level": "alarm1", "direction": "high", "value": rng[1] * 0.2}]})


def device_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.name.startswith("commandcenter.devices") and r.levelno == level]


# --------------------------------------------------------------------------- serial lines


def _raw_pty() -> tuple[int, int]:
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    os.set_blocking(master, False)
    return master, slave


class PtyLine:
    """The application's serial port bridged to a simulated device's pty, with fault knobs."""

    def __init__(self, tmp_path: Path, name: str = "ttyRS485") -> None:
        self.path = str(tmp_path / name)
        """The application opens this (a symlink to the current pty)."""
        self._dev_master, self._dev_slave = _raw_pty()
        self.device_path = os.ttyname(self._dev_slave)
        """The simulated device opens this."""
        self._app_master: int | None = None
        self._app_slave: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.muted: set[int] = set()
        """Slave ids whose requests are swallowed (the slave stops answering)."""
        self.corrupt: set[int] = set()
        """Slave ids whose responses get a flipped byte (CRC error)."""
        self.noise_before: bytes = b""
        """Garbage written to the application before every device response."""
        self.requests = 0

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._dev_master, self._from_device)
        self.appear()

    def appear(self) -> None:
        """Give the application a (new) port at :attr:`path`."""
        assert self._loop is not None
        self._app_master, self._app_slave = _raw_pty()
        tmp = self.path + ".new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(os.ttyname(self._app_slave), tmp)
        os.replace(tmp, self.path)
        self._loop.add_reader(self._app_master, self._from_app)

    def vanish(self) -> None:
        """Unplug the application's port: its pty is closed and the path disappears."""
        assert self._loop is not None and self._app_master is not None
        self._loop.remove_reader(self._app_master)
        os.close(self._app_master)
        assert self._app_slave is not None
        os.close(self._app_slave)
        self._app_master = self._app_slave = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def to_app(self, data: bytes) -> None:
        """Write bytes to the application as if the device had sent them."""
        assert self._app_master is not None
        os.write(self._app_master, data)

    def to_device(self, data: bytes) -> None:
        os.write(self._dev_master, data)

    def _from_app(self) -> None:
        assert self._app_master is not None
        try:
            data = os.read(self._app_master, 4096)
        except OSError:
            return
        self.requests += 1
        if data and data[0] in self.muted:
            return
        self.to_device(data)

    def _from_device(self) -> None:
        try:
            data = os.read(self._dev_master, 4096)
        except OSError:
            return
        if self._app_master is None or not data:
            return
        if data[0] in self.corrupt:
            data = data[:-1] + bytes([data[-1] ^ 0x5A])
        self.to_app(self.noise_before + data)

    def read_from_app(self) -> bytes:
        """Bytes the application wrote (for line protocols without a device behind)."""
        assert self._app_master is not None
        try:
            return os.read(self._app_master, 4096)
        except OSError:
            return b""

    def close(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self._dev_master)
            if self._app_master is not None:
                with contextlib.suppress(Exception):
                    self._loop.remove_reader(self._app_master)
        for fd in (self._app_master, self._app_slave, self._dev_master, self._dev_slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)


class AsciiPanelPty:
    """A legacy panel: the test writes lines into the master of a pty the application opens."""

    def __init__(self, tmp_path: Path) -> None:
        self.master, self.slave = _raw_pty()
        self.path = str(tmp_path / "ttyPanel")
        os.symlink(os.ttyname(self.slave), self.path)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def vanish(self) -> None:
        os.close(self.master)
        os.close(self.slave)
        os.unlink(self.path)

    def reappear(self) -> None:
        self.master, self.slave = _raw_pty()
        os.symlink(os.ttyname(self.slave), self.path)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


# --------------------------------------------------------------------------- MQTT broker


class Broker:
    """Debian mosquitto on 127.0.0.1, started and stopped by the test."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.dir = tmp_path / "mosquitto"
        self.dir.mkdir()
        os.chmod(self.dir, 0o755)  # as root mosquitto drops to its own user and must read this
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                             "persistence false\nlog_dest stderr\nlog_type error\n"
                             "max_queued_messages 0\n")
        os.chmod(self.conf, 0o644)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"mosquitto exited: {err}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.01)
        raise RuntimeError("mosquitto did not start listening")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stderr:
                self.proc.stderr.close()
            self.proc = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if not os.path.exists(MOSQUITTO):
        pytest.skip("mosquitto is not installed")
    b = Broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()
