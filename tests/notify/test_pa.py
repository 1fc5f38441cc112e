"""The PA / siren channel: a relay board on a pty and an announcement command."""

from __future__ import annotations

import asyncio
import os
import select
import sys
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from commandcenter.notify.base import DeliveryChannel, SendStatus
from commandcenter.notify.config import PaSettings, RelaySettings, parse_hex_bytes
from commandcenter.notify.pa import PaChannel

from .conftest import message, until

ON = bytes.fromhex("A00101A2")
OFF = bytes.fromhex("A00100A1")
WRITE_FILE = ("import sys, pathlib; "
              "pathlib.Path(sys.argv[1]).write_text(sys.argv[2], encoding='utf-8')")


@pytest.fixture
def relay_pty() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        yield master, os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


def drain(fd: int) -> bytes:
    out = b""
    while select.select([fd], [], [], 0.05)[0]:
        out += os.read(fd, 1024)
    return out


def run(channel: PaChannel, *msgs: Any) -> list[Any]:
    async def main() -> list[Any]:
        await channel.start()
        try:
            return [await channel.send(m) for m in msgs]
        finally:
            await channel.stop()

    return asyncio.run(main())


def test_is_a_delivery_channel(relay_pty: tuple[int, str]) -> None:
    ch = PaChannel(PaSettings(relay=RelaySettings(port=relay_pty[1])))
    assert isinstance(ch, DeliveryChannel)


def test_relay_is_pulsed_on_then_off(relay_pty: tuple[int, str]) -> None:
    master, path = relay_pty
    ch = PaChannel(PaSettings(relay=RelaySettings(port=path, pulse_s=0.1)))
    [res] = run(ch, message(channel="pa"))
    assert res.status is SendStatus.ACCEPTED
    assert drain(master) == ON + OFF
    assert ch.health.up


def test_custom_frames_from_hex(relay_pty: tuple[int, str]) -> None:
    master, path = relay_pty
    relay = RelaySettings(port=path, pulse_s=0.05, on_hex="FE 05 00 00 FF 00",
                          off_hex="fe:05:00:00:00:00")
    [res] = run(PaChannel(PaSettings(relay=relay)), message(channel="pa"))
    assert res.ok
    assert drain(master) == bytes.fromhex("FE050000FF00") + bytes.fromhex("FE0500000000")


def test_cancelled_pulse_still_switches_off(relay_pty: tuple[int, str]) -> None:
    master, path = relay_pty
    ch = PaChannel(PaSettings(relay=RelaySettings(port=path, pulse_s=30)))

    async def main() -> None:
        await ch.start()
        task = asyncio.create_task(ch.send(message(channel="pa")))
        got = b""

        def seen_on() -> bool:
            nonlocal got
            got += drain(master)
            return got == ON

        await until(seen_on)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await ch.stop()
        assert got + drain(master) == ON + OFF

    asyncio.run(main())


def test_missing_relay_port_fails_and_is_down(tmp_path: Path) -> None:
    ch = PaChannel(PaSettings(relay=RelaySettings(port=str(tmp_path / "ttyUSB9"))))
    [res] = run(ch, message(channel="pa"))
    assert res.status is SendStatus.FAILED
    assert "cannot open the relay port" in (res.reason or "")
    assert not ch.health.up


def test_announcement_command_gets_the_text(tmp_path: Path) -> None:
    out = tmp_path / "said.txt"
    ch = PaChannel(PaSettings(command=(sys.executable, "-c", WRITE_FILE, str(out),
                                       "{code}|{message_id}|{text}")))
    [res] = run(ch, message(channel="pa"))
    assert res.ok
    assert out.read_text(encoding="utf-8") == f"A7K|INC-1-M001|{message().text}"


def test_text_is_appended_without_a_placeholder(tmp_path: Path) -> None:
    out = tmp_path / "said.txt"
    ch = PaChannel(PaSettings(command=(sys.executable, "-c", WRITE_FILE, str(out))))
    [res] = run(ch, message("全厂紧急疏散", channel="pa"))
    assert res.ok
    assert out.read_text(encoding="utf-8") == "全厂紧急疏散"


def test_failing_command_is_a_failure_with_its_stderr() -> None:
    script = "import sys; sys.stderr.write('amplifier offline'); sys.exit(3)"
    ch = PaChannel(PaSettings(command=(sys.executable, "-c", script)))
    [res] = run(ch, message(channel="pa"))
    assert res.status is SendStatus.FAILED
    assert res.reason == (f"announcement {sys.executable!r} exited with status 3: "
                          "amplifier offline")
    assert ch.health.up


def test_command_that_hangs_is_killed() -> None:
    ch = PaChannel(PaSettings(command=(sys.executable, "-c", "import time; time.sleep(30)"),
                              command_timeout_s=0.3))
    [res] = run(ch, message(channel="pa"))
    assert res.status is SendStatus.FAILED
    assert "did not finish within 0.3 s (killed)" in (res.reason or "")


def test_missing_program_is_down(tmp_path: Path) -> None:
    ch = PaChannel(PaSettings(command=(str(tmp_path / "announce"),)))
    [res] = run(ch, message(channel="pa"))
    assert res.status is SendStatus.FAILED and "not found" in (res.reason or "")
    assert not ch.health.up


def test_relay_then_command(relay_pty: tuple[int, str], tmp_path: Path) -> None:
    master, path = relay_pty
    out = tmp_path / "said.txt"
    ch = PaChannel(PaSettings(relay=RelaySettings(port=path, pulse_s=0.05),
                              command=(sys.executable, "-c", WRITE_FILE, str(out))))
    [res] = run(ch, message(channel="pa"))
    assert res.ok and out.exists()
    assert drain(master) == ON + OFF


def test_settings_validation() -> None:
    with pytest.raises(ValidationError, match="PA needs a relay, a command, or both"):
        PaSettings()
    with pytest.raises(ValidationError, match="not a string of hex bytes"):
        RelaySettings(port="/dev/ttyUSB0", on_hex="A0 01 0")
    with pytest.raises(ValidationError, match="at least the program"):
        PaSettings(command=())
    assert parse_hex_bytes("0xA00101A2") == ON
