"""Public address and siren (the ``pa`` channel).

Two ways, configured separately and used in this order when both are set:

- a **serial relay board** (pyserial URL): the "on" frame, ``pulse_s`` seconds, the "off"
  frame — e.g. the LCUS-1 USB relay's ``A0 01 01 A2`` / ``A0 01 00 A1``. The "off" frame is
  written even when the send is cancelled mid-pulse; if it cannot be written the result says the
  siren may still be sounding;
- an **announcement command** run without a shell (``asyncio.create_subprocess_exec``):
  ``{text}``, ``{code}`` and ``{message_id}`` in its arguments are replaced (the text is added
  as the last argument when no argument holds ``{text}``). A non-zero exit status or no exit
  within ``command_timeout_s`` (the process is then killed) is a failure.

One announcement at a time: concurrent sends wait their turn. Health: the relay port opens and
the command's program exists (checked at start and on every send).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil

import serial

from commandcenter.notify.base import (
    Health,
    InboundHandler,
    OutgoingMessage,
    ReportHandler,
    SendResult,
)
from commandcenter.notify.config import PaSettings, RelaySettings

_LOGGER = logging.getLogger(__name__)


def command_args(command: tuple[str, ...], msg: OutgoingMessage) -> list[str]:
    """Return the announcement command for ``msg`` (see the module notes)."""
    values = {"{text}": msg.text, "{code}": msg.incident_code or "",
              "{message_id}": msg.message_id}
    args = []
    for template in command:
        arg = template
        for key, value in values.items():
            arg = arg.replace(key, value)
        args.append(arg)
    if not any("{text}" in a for a in command):
        args.append(msg.text)
    return args


class _Failure(Exception):
    """A step failed; ``down`` when the device itself is unusable."""

    def __init__(self, reason: str, *, down: bool) -> None:
        super().__init__(reason)
        self.down = down


class PaChannel:
    """The ``pa`` channel: a relay-switched siren and/or an announcement command.

    Attributes:
        settings: Relay and command.
        health: Up/down.
    """

    kind = "pa"

    def __init__(self, settings: PaSettings) -> None:
        """Use ``settings``' relay and/or command."""
        self.settings = settings
        what = []
        if settings.relay is not None:
            what.append(f"relay {settings.relay.port}")
        if settings.command is not None:
            what.append(f"command {settings.command[0]}")
        self.health = Health(f"PA ({', '.join(what)})", _LOGGER)
        self._lock = asyncio.Lock()
        self._running = False

    def is_up(self) -> bool:
        """Return whether the relay port opened and the command exists, as last checked."""
        return self._running and self.health.up

    async def start(self, on_inbound: InboundHandler | None = None,
                    on_report: ReportHandler | None = None) -> None:
        """Check the relay port and the command once (handlers are unused)."""
        self._running = True
        await self.check()

    async def stop(self) -> None:
        """Stop accepting announcements."""
        self._running = False

    async def check(self) -> bool:
        """Open and close the relay port, look up the command; update health."""
        try:
            if self.settings.relay is not None:
                port = await self._open(self.settings.relay)
                await asyncio.to_thread(port.close)
            self._check_command()
        except _Failure as err:
            self.health.mark_down(str(err))
            return False
        self.health.mark_up()
        return True

    def _check_command(self) -> None:
        cmd = self.settings.command
        if cmd is None:
            return
        prog = cmd[0]
        found = shutil.which(prog) if os.sep not in prog else (
            prog if os.access(prog, os.X_OK) else None)
        if found is None:
            raise _Failure(f"announcement program {prog!r} not found or not executable",
                           down=True)

    async def send(self, msg: OutgoingMessage) -> SendResult:
        """Sound the siren and/or run the announcement for ``msg``."""
        if not self._running:
            return SendResult.failed("PA channel is not running")
        async with self._lock:
            try:
                if self.settings.relay is not None:
                    await self._pulse(self.settings.relay)
                if self.settings.command is not None:
                    self._check_command()
                    await self._announce(self.settings.command, msg)
            except _Failure as err:
                if err.down:
                    self.health.mark_down(str(err))
                return SendResult.failed(str(err))
        self.health.mark_up()
        return SendResult.accepted()

    @staticmethod
    async def _open(relay: RelaySettings) -> serial.SerialBase:
        try:
            return await asyncio.to_thread(serial.serial_for_url, relay.port,
                                           baudrate=relay.baudrate, timeout=1,
                                           write_timeout=2)
        except (serial.SerialException, OSError, ValueError) as err:
            raise _Failure(f"cannot open the relay port {relay.port}: {err}",
                           down=True) from err

    async def _pulse(self, relay: RelaySettings) -> None:
        port = await self._open(relay)
        try:
            try:
                await asyncio.to_thread(self._write, port, relay.on_bytes)
            except (serial.SerialException, OSError) as err:
                raise _Failure(f"cannot switch the relay on: {err}", down=True) from err
            try:
                await asyncio.sleep(relay.pulse_s)
            finally:
                try:
                    await asyncio.to_thread(self._write, port, relay.off_bytes)
                except (serial.SerialException, OSError) as err:
                    _LOGGER.warning("PA relay %s: switching off failed: %s", relay.port, err)
                    raise _Failure(f"cannot switch the relay off, the siren may still sound: "
                                   f"{err}", down=True) from err
        finally:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(port.close)

    @staticmethod
    def _write(port: serial.SerialBase, data: bytes) -> None:
        port.write(data)
        port.flush()

    async def _announce(self, command: tuple[str, ...], msg: OutgoingMessage) -> None:
        args = command_args(command, msg)
        limit = self.settings.command_timeout_s
        try:
            proc = await asyncio.create_subprocess_exec(
                *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE)
        except OSError as err:
            raise _Failure(f"cannot run {args[0]!r}: {err}", down=True) from err
        try:
            _, err_out = await asyncio.wait_for(proc.communicate(), limit)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise _Failure(f"announcement {args[0]!r} did not finish within {limit:g} s "
                           "(killed)", down=False) from None
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise
        if proc.returncode != 0:
            tail = err_out.decode(errors="replace").strip()[-300:]
            raise _Failure(f"announcement {args[0]!r} exited with status {proc.returncode}"
                           + (f": {tail}" if tail else ""), down=False)
