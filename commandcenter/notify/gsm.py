"""SMS through a GSM modem on a serial port (AT commands, text mode).

One :class:`GsmModem` owns one port. Inside it:

- a **reader task** is the only code that reads the port. It splits the byte stream into lines
  and routes each: unsolicited lines (``+CMTI`` new message, ``+CDS`` delivery report,
  ``+CMT``, ``RING`` …) go to their handlers at any time, even in the middle of a command;
  every other line belongs to the command in progress, which waits on a future until its final
  result (``OK``, ``ERROR``, ``+CMS ERROR: n``, ``+CME ERROR: n``) or the ``> `` prompt arrives;
- a **send worker** takes messages from a priority queue (lower priority value first, first in
  first out within a priority) and spaces SMS at the modem's real rate (:class:`~.base.Pacer`,
  default 12 per minute; every part of a split text counts);
- an **inbound worker** reads each message announced by ``+CMTI`` (``AT+CMGR``), hands it to
  ``on_inbound`` and then deletes it (``AT+CMGD``). It is deleted only after the handler
  returned, so a crash in between reads it again at the next start (``AT+CMGL="ALL"``): a
  reply may be seen twice, never lost — the core ignores a repeated answer;
- a **supervisor** opens the port, initialises the modem, checks every
  ``health_interval_s`` that it still answers ``AT`` and is registered with a signal, and after
  a lost port (USB modem unplugged, ``EIO``), a silent modem or a lost network reopens it with
  exponential back-off.

A modem that answers ``AT`` is not yet one that can send: set-up also asks for the SIM
(``AT+CPIN?`` must say ``READY``), the network registration (``AT+CREG?``: ``0,1`` home or
``0,5`` roaming) and the signal (``AT+CSQ``: not ``99``). Until all three are right the channel
is down, and its status says which is missing: ``no SIM …``, ``not registered …`` or
``no signal …``.

Sending one SMS: ``AT+CMGS="<number>"`` → wait for ``> `` → the text → Ctrl-Z → ``+CMGS: <mr>``
and ``OK``. ``mr`` is the reference ``+CDS`` delivery reports carry. Outcomes:

- ``+CMS ERROR: <n>`` (before or after the prompt) → failed, with the code explained;
- no prompt within ``prompt_timeout_s`` → ESC (abort) → failed;
- the port lost before Ctrl-Z was written → failed, the channel goes down and reconnects;
- no answer within ``send_timeout_s`` after Ctrl-Z, or the port lost after it → **unknown**:
  the modem may have sent the SMS. This is the only at-least-once case of this channel.

Long texts are split as :mod:`commandcenter.notify.smstext` describes; the send's reference is
the parts' ``mr`` values joined by commas (``"17,18"``), and one :class:`~.base.DeliveryReport`
with that reference comes when every part is delivered (or as soon as one part fails).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import serial

from commandcenter.core.clock import Clock, SystemClock
from commandcenter.notify.base import (
    ChannelError,
    DeliveryReport,
    Health,
    InboundHandler,
    InboundMessage,
    OutgoingMessage,
    Pacer,
    ReportHandler,
    SendResult,
    call_handler,
)
from commandcenter.notify.config import ModemSettings
from commandcenter.notify.smstext import (
    Alphabet,
    choose_alphabet,
    decode_number,
    decode_text,
    encode_for_modem,
    parse_scts,
    split_sms,
)

_LOGGER = logging.getLogger(__name__)

CTRL_Z = b"\x1a"
ESC = b"\x1b"
READ_TIMEOUT_S = 0.1
"""How long one blocking read waits; also the longest a stop waits for the reader."""

CMS_ERRORS: dict[int, str] = {
    1: "unassigned (unallocated) number",
    8: "operator determined barring",
    10: "call barred",
    21: "short message transfer rejected",
    27: "destination out of service",
    28: "unidentified subscriber",
    29: "facility rejected",
    30: "unknown subscriber",
    38: "network out of order",
    41: "temporary failure",
    42: "congestion",
    47: "resources unavailable",
    50: "requested facility not subscribed",
    69: "requested facility not implemented",
    81: "invalid short message transfer reference value",
    95: "invalid message",
    96: "invalid mandatory information",
    97: "message type non-existent or not implemented",
    98: "message not compatible with short message protocol state",
    99: "information element non-existent or not implemented",
    111: "protocol error",
    127: "interworking error",
    128: "telematic interworking not supported",
    176: "TPDU not supported",
    208: "SIM SMS storage full",
    300: "modem (ME) failure",
    301: "SMS service of the modem reserved",
    302: "operation not allowed",
    303: "operation not supported",
    304: "invalid PDU mode parameter",
    305: "invalid text mode parameter",
    310: "SIM not inserted",
    311: "SIM PIN required",
    312: "PH-SIM PIN required",
    313: "SIM failure",
    314: "SIM busy",
    315: "SIM wrong",
    316: "SIM PUK required",
    317: "SIM PIN2 required",
    318: "SIM PUK2 required",
    320: "memory failure",
    321: "invalid memory index",
    322: "memory full",
    330: "SMS centre (SMSC) address unknown",
    331: "no network service",
    332: "network timeout",
    340: "no +CNMA acknowledgement expected",
    500: "unknown error",
}
"""``+CMS ERROR`` codes (3GPP TS 27.005 §3.2.5 and TS 24.011 cause values)."""

CME_ERRORS: dict[int, str] = {
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    13: "SIM failure",
    14: "SIM busy",
    15: "SIM wrong",
    16: "incorrect password",
    17: "SIM PIN2 required",
    18: "SIM PUK2 required",
    30: "no network service",
    31: "network timeout",
    32: "network not allowed, emergency calls only",
    100: "unknown error",
}
"""``+CME ERROR`` codes (3GPP TS 27.007 §9.2) met while setting a modem up."""

CREG_STATES: dict[str, str] = {
    "0": "not registered, not searching",
    "1": "registered, home network",
    "2": "not registered, searching",
    "3": "registration denied",
    "4": "unknown",
    "5": "registered, roaming",
}
"""``AT+CREG?`` registration states (3GPP TS 27.007 §7.2)."""

_FINALS = ("OK", "ERROR")
_FINAL_PREFIXES = ("+CMS ERROR:", "+CME ERROR:")
_UNSOLICITED_WORDS = frozenset({"RING", "NO CARRIER", "Call Ready", "SMS Ready", "RDY",
                                "NORMAL POWER DOWN", "PB DONE"})
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")


def explain_cms(code: str) -> str:
    """Return ``+CMS ERROR: <code>`` in words (a verbose ``AT+CMEE=2`` text is kept)."""
    code = code.strip()
    if code.isdigit():
        n = int(code)
        return f"+CMS ERROR {n}: {CMS_ERRORS.get(n, 'error not listed in 3GPP TS 27.005')}"
    return f"+CMS ERROR: {code}"


def status_report_meaning(st: int) -> tuple[bool | None, str]:
    """Return (delivered?, words) for a status report's TP-Status (TS 23.040 §9.2.3.15).

    ``None`` means the network is still trying (0x20–0x3F): not a final answer.
    """
    if st < 0x20:
        return True, {0: "delivered", 1: "forwarded, delivery unconfirmed",
                      2: "replaced"}.get(st, "delivered")
    if st < 0x40:
        return None, f"status 0x{st:02X}: temporary error, network still trying"
    words = {0x40: "remote procedure error", 0x41: "incompatible destination",
             0x42: "connection rejected by recipient", 0x43: "not obtainable",
             0x44: "quality of service not available", 0x45: "no interworking available",
             0x46: "validity period expired", 0x47: "deleted by the sender",
             0x48: "deleted by the SMSC", 0x49: "message does not exist",
             0x60: "congestion", 0x61: "recipient busy", 0x62: "no response from recipient",
             0x63: "service rejected", 0x64: "quality of service not available",
             0x65: "error in recipient"}
    return False, f"status 0x{st:02X}: {words.get(st, 'permanent error')}"


def _fields(text: str) -> list[str]:
    """Split the comma-separated, optionally quoted fields of a response line."""
    return next(csv.reader([text], skipinitialspace=True), [])


class ModemError(ChannelError):
    """A modem command did not succeed."""


class ModemCommandError(ModemError):
    """The modem answered a command with an error.

    Attributes:
        command: The command.
        final: The final result line (``ERROR``, ``+CMS ERROR: 38`` …).
    """

    def __init__(self, command: str, final: str) -> None:
        self.command = command
        self.final = final
        super().__init__(f"{command} → {self.explained}")

    @property
    def explained(self) -> str:
        """The error in words."""
        if self.final.startswith("+CMS ERROR:"):
            return explain_cms(self.final.split(":", 1)[1])
        if self.final.startswith("+CME ERROR:"):
            code = self.final.split(":", 1)[1].strip()
            words = CME_ERRORS.get(int(code)) if code.isdigit() else None
            return f"{self.final} ({words})" if words else self.final
        return self.final


class ModemTimeout(ModemError):
    """The modem did not answer in time."""


class ModemNotReady(ModemError):
    """The modem answers but cannot send: no SIM, not registered, or no signal."""


class PortLost(ModemError):
    """The serial port went away (or was closed) during an exchange."""


@dataclass(eq=False)
class _Pending:
    """The command in progress: its lines so far and the futures it waits on."""

    command: str
    done: asyncio.Future[str]
    prompt: asyncio.Future[None] | None = None
    lines: list[str] = field(default_factory=list)


@dataclass(eq=False)
class _Job:
    msg: OutgoingMessage
    number: str
    future: asyncio.Future[SendResult]


@dataclass(eq=False)
class _Track:
    """Delivery tracking of one accepted send (one entry per part reference)."""

    message_id: str
    mrs: list[int] = field(default_factory=list)
    waiting: set[int] = field(default_factory=set)
    complete: bool = False


class _Definite(Exception):
    """The SMS did not go out."""


class _Unknown(Exception):
    """The SMS may have gone out."""


def normalise_number(address: str) -> str | None:
    """Return ``address`` as a dialable number (spaces and dashes removed), or ``None``."""
    number = re.sub(r"[\s\-()]", "", address)
    return number if _NUMBER.match(number) else None


class GsmModem:
    """The ``sms`` channel: a GSM modem on a serial port.

    Attributes:
        settings: The modem settings.
        health: Up/down state (up while the port is open and the modem answers).
    """

    kind = "sms"

    def __init__(self, settings: ModemSettings, clock: Clock | None = None, *,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Set up (nothing is opened before :meth:`start`).

        Args:
            settings: Port, rate, timeouts.
            clock: Time for timestamps and the send rate (default: wall clock).
            sleep: How the send queue waits for its next slot (tests pass a scripted one).
        """
        self.settings = settings
        self._clock = clock or SystemClock()
        self._pacer = Pacer(settings.rate_per_min, self._clock, sleep)
        self.health = Health(f"GSM modem {settings.port}", _LOGGER)
        self._port: serial.SerialBase | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closing = False
        self._lost = asyncio.Event()
        self._buf = bytearray()
        self._pending: _Pending | None = None
        self._body_next = False
        self._cmt_header: list[str] | None = None
        self._cmd_lock = asyncio.Lock()
        self._alphabet: Alphabet | None = None
        self._queue: asyncio.PriorityQueue[tuple[int, int, _Job]] = asyncio.PriorityQueue()
        self._seq = 0
        self._inbound: asyncio.Queue[int] = asyncio.Queue()
        self._tracks: dict[int, _Track] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False
        self._on_inbound: InboundHandler | None = None
        self._on_report: ReportHandler | None = None
        self._last_rx = 0.0
        self._handler_tasks: set[asyncio.Task[None]] = set()
        self.signal: int | None = None
        """The last ``AT+CSQ`` signal (0–31, ``None`` before the first)."""

    # ------------------------------------------------------------------ channel API

    def is_up(self) -> bool:
        """Return whether the port is open and the modem answered."""
        return self._running and self._port is not None and self.health.up

    async def start(self, on_inbound: InboundHandler | None = None,
                    on_report: ReportHandler | None = None) -> None:
        """Open the port and set the modem up (one attempt), then keep it connected.

        A modem that is missing or silent does not raise: the channel is down and the
        supervisor keeps trying. Messages already stored on the SIM are handed to
        ``on_inbound`` before this returns.
        """
        if self._running:
            raise ChannelError("the GSM modem channel is already running")
        self._running = True
        self._on_inbound, self._on_report = on_inbound, on_report
        connected = await self._connect()
        self._tasks = [asyncio.create_task(self._supervise(connected), name="gsm-supervisor"),
                       asyncio.create_task(self._send_worker(), name="gsm-send"),
                       asyncio.create_task(self._inbound_worker(), name="gsm-inbound")]

    async def stop(self) -> None:
        """Stop; messages still queued fail with "channel stopped"."""
        if not self._running:
            return
        self._running = False
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []
        await self._close_port("channel stopped")
        for t in list(self._handler_tasks):
            t.cancel()
        if self._handler_tasks:
            await asyncio.gather(*self._handler_tasks, return_exceptions=True)
        while not self._queue.empty():
            _, _, job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_result(SendResult.failed("GSM modem channel stopped"))

    async def send(self, msg: OutgoingMessage) -> SendResult:
        """Queue one SMS (by ``msg.priority``) and wait until the modem has answered for it."""
        if not self._running:
            return SendResult.failed("GSM modem channel is not running")
        number = normalise_number(msg.address)
        if number is None:
            return SendResult.failed(f"{msg.address!r} is not a phone number")
        if not self.is_up():
            return SendResult.failed(f"GSM modem is down: {self.health.reason}")
        fut: asyncio.Future[SendResult] = asyncio.get_running_loop().create_future()
        self._seq += 1
        self._queue.put_nowait((msg.priority, self._seq, _Job(msg, number, fut)))
        return await fut

    def queued(self) -> int:
        """Return how many messages wait in the send queue."""
        return self._queue.qsize()

    # ------------------------------------------------------------------ connection

    async def _connect(self) -> bool:
        """Open the port and initialise the modem; return whether that worked."""
        s = self.settings
        try:
            port = await asyncio.to_thread(serial.serial_for_url, s.port, baudrate=s.baudrate,
                                           timeout=READ_TIMEOUT_S,
                                           write_timeout=s.command_timeout_s)
        except (serial.SerialException, OSError, ValueError) as err:
            self.health.mark_down(f"cannot open {s.port}: {err}")
            return False
        self._port = port
        self._closing = False
        self._lost = asyncio.Event()
        self._buf.clear()
        self._alphabet = None
        self._body_next = False
        self._cmt_header = None
        self._reader = asyncio.create_task(self._read_loop(port), name="gsm-reader")
        try:
            await self._initialise()
        except ModemNotReady as err:
            self.health.mark_down(str(err))
            await self._close_port(str(err))
            return False
        except ModemError as err:
            self.health.mark_down(f"modem set-up failed: {err}")
            await self._close_port(str(err))
            return False
        self.health.mark_up()
        try:
            await self._read_stored()
        except ModemError as err:
            _LOGGER.warning("GSM modem %s: reading stored messages failed: %s", s.port, err)
        return True

    async def _initialise(self) -> None:
        s = self.settings
        async with self._cmd_lock:
            await self._write(ESC + b"\r")  # leave a '> ' prompt a crashed run left open
            for attempt in range(3):
                try:
                    await self._exchange("AT", min(s.command_timeout_s, 2.0))
                    break
                except ModemTimeout:
                    if attempt == 2:
                        raise ModemTimeout("the modem does not answer AT") from None
            for cmd in ("ATE0", "AT+CMEE=1"):
                await self._exchange(cmd, s.command_timeout_s)
            await self._check_network(sim=True)
            for cmd in ("AT+CMGF=1", 'AT+CSCS="GSM"'):
                await self._exchange(cmd, s.command_timeout_s)
            self._alphabet = "GSM"
            if s.smsc:
                await self._exchange(f'AT+CSCA="{s.smsc}"', s.command_timeout_s)
            await self._set_alphabet("UCS2")
            ds = 1 if s.delivery_reports else 0
            await self._exchange(f"AT+CNMI=2,1,0,{ds},0", s.command_timeout_s)

    async def _answer(self, command: str) -> str:
        """Run a query (caller holds the lock) and return its ``+XXX:`` answer's fields."""
        lines = await self._exchange(command, self.settings.command_timeout_s)
        prefix = command[2:].rstrip("?").split("=")[0] + ":"
        line = next((ln for ln in lines if ln.startswith(prefix)), None)
        if line is None:
            raise ModemError(f"{command} gave no {prefix} answer: {lines!r}")
        return line.split(":", 1)[1].strip()

    async def _check_network(self, *, sim: bool) -> None:
        """Check the SIM (when ``sim``), the registration and the signal (caller holds the lock).

        Raises:
            ModemNotReady: "no SIM …", "not registered …" or "no signal …".
        """
        if sim:
            try:
                state = (await self._answer("AT+CPIN?")).strip('"')
            except ModemCommandError as err:
                raise ModemNotReady(f"no SIM: AT+CPIN? → {err.explained}") from err
            if state != "READY":
                raise ModemNotReady(f"no SIM ready: AT+CPIN? → {state} (the SIM needs its PIN "
                                    "entered, or is blocked)")
        try:
            fields = _fields(await self._answer("AT+CREG?"))
        except ModemCommandError as err:
            raise ModemNotReady(f"not registered: AT+CREG? → {err.explained}") from err
        stat = fields[1].strip() if len(fields) > 1 else (fields[0].strip() if fields else "")
        if stat not in ("1", "5"):
            raise ModemNotReady(f"not registered on the network: "
                                f"{CREG_STATES.get(stat, 'state ' + stat)} (AT+CREG? → "
                                f"{','.join(fields)})")
        fields = _fields(await self._answer("AT+CSQ"))
        rssi = fields[0].strip() if fields else ""
        if not rssi.isdigit() or int(rssi) == 99:
            raise ModemNotReady(f"no signal: AT+CSQ → {','.join(fields)} (antenna, or no "
                                "coverage here)")
        if self.signal != int(rssi):
            _LOGGER.debug("GSM modem %s: signal %s (%d dBm)", self.settings.port, rssi,
                          -113 + 2 * int(rssi))
        self.signal = int(rssi)

    async def _set_alphabet(self, alphabet: Alphabet) -> None:
        """Switch ``AT+CSCS`` and the data coding of new SMS (caller may hold the lock)."""
        if self._alphabet == alphabet:
            return
        fo = 49 if self.settings.delivery_reports else 17
        dcs = 8 if alphabet == "UCS2" else 0
        await self._exchange(f'AT+CSCS="{alphabet}"', self.settings.command_timeout_s)
        self._alphabet = alphabet
        await self._exchange(f"AT+CSMP={fo},167,0,{dcs}", self.settings.command_timeout_s)

    async def _supervise(self, connected: bool) -> None:
        s = self.settings
        delay = s.reconnect_initial_s
        while True:
            if not connected:
                await asyncio.sleep(delay)
                delay = min(delay * 2, s.reconnect_max_s)
                connected = await self._connect()
                continue
            delay = s.reconnect_initial_s
            await self._watch()
            await self._close_port(self.health.reason or "connection lost")
            connected = False

    async def _watch(self) -> None:
        """Return when the connection is lost; probe with ``AT`` when the line is quiet."""
        interval = self.settings.health_interval_s
        while not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), interval)
                return
            if asyncio.get_running_loop().time() - self._last_rx < interval / 2:
                continue
            try:
                await self._command("AT")
                async with self._cmd_lock:
                    await self._check_network(sim=False)
            except ModemTimeout:
                self._connection_lost("the modem does not answer AT")
            except ModemNotReady as err:
                self._connection_lost(str(err))
            except ModemError:
                pass

    async def _close_port(self, reason: str) -> None:
        port, reader = self._port, self._reader
        self._port, self._reader = None, None
        self._closing = True
        self._fail_pending(PortLost(reason))
        if port is None:
            return
        with contextlib.suppress(Exception):
            if hasattr(port, "cancel_read"):
                port.cancel_read()
        if reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(reader, READ_TIMEOUT_S * 20)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(port.close)

    def _connection_lost(self, reason: str) -> None:
        if self._lost.is_set():
            return
        self._lost.set()
        self.health.mark_down(reason)
        self._fail_pending(PortLost(reason))

    def _fail_pending(self, err: ModemError) -> None:
        p = self._pending
        if p is None:
            return
        for fut in (p.done, p.prompt):
            if fut is not None and not fut.done():
                fut.set_exception(err)
                fut.exception()  # mark retrieved: nobody may be waiting any more

    # ------------------------------------------------------------------ reading

    async def _read_loop(self, port: serial.SerialBase) -> None:
        while not self._closing:
            try:
                data = await asyncio.to_thread(self._read_chunk, port)
            except (serial.SerialException, OSError, TypeError, AttributeError) as err:
                if not self._closing:
                    self._connection_lost(f"serial port lost: {err}")
                return
            if data and not self._closing:
                self._last_rx = asyncio.get_running_loop().time()
                self._feed(data)

    @staticmethod
    def _read_chunk(port: serial.SerialBase) -> bytes:
        return bytes(port.read(max(1, port.in_waiting)))

    def _feed(self, data: bytes) -> None:
        buf = self._buf
        buf.extend(data)
        while buf:
            p = self._pending
            if p is not None and p.prompt is not None and not p.prompt.done():
                head = buf.lstrip(b"\r\n")
                if head.startswith(b">"):
                    del buf[:len(buf) - len(head) + (2 if head[1:2] == b" " else 1)]
                    p.prompt.set_result(None)
                    continue
                if head == b"":
                    buf.clear()
                    return
            cut = min((i for i in (buf.find(b"\r"), buf.find(b"\n")) if i >= 0), default=-1)
            if cut < 0:
                return
            raw = bytes(buf[:cut])
            del buf[:cut + 1]
            line = raw.decode("latin-1").strip()
            if line:
                self._line(line)

    def _line(self, line: str) -> None:
        p = self._pending
        if self._cmt_header is not None:
            header, self._cmt_header = self._cmt_header, None
            self._deliver_cmt(header, line)
            return
        if self._body_next and p is not None:
            self._body_next = False
            # The line after a +CMGR/+CMGL header is the text, even if it reads "OK" — except
            # in UCS2, where a text is hex and a bare "OK" means the text was empty.
            if not (self._alphabet == "UCS2" and line in _FINALS):
                p.lines.append(line)
                return
        if p is not None and line == p.command:
            return  # echo (before ATE0 took effect)
        if self._unsolicited(line, p):
            return
        if p is None:
            _LOGGER.debug("GSM modem: line outside any command: %r", line)
            return
        p.lines.append(line)
        if line.startswith(("+CMGR:", "+CMGL:")):
            self._body_next = True
        if (line in _FINALS or line.startswith(_FINAL_PREFIXES)) and not p.done.done():
            p.done.set_result(line)

    def _unsolicited(self, line: str, p: _Pending | None) -> bool:
        if line in _UNSOLICITED_WORDS:
            return True
        if not line.startswith(("+", "^")) or line.startswith(_FINAL_PREFIXES):
            return False
        name = line.split(":", 1)[0]
        if p is not None and p.command.upper().startswith("AT" + name.upper()):
            return False  # the answer to the command in progress
        rest = line.split(":", 1)[1] if ":" in line else ""
        if name == "+CMTI":
            f = _fields(rest)
            if len(f) >= 2 and f[1].strip().isdigit():
                self._inbound.put_nowait(int(f[1]))
            else:
                _LOGGER.warning("GSM modem: cannot read %r", line)
        elif name == "+CDS":
            self._status_report(_fields(rest))
        elif name == "+CMT":
            self._cmt_header = _fields(rest)
        else:
            _LOGGER.debug("GSM modem: unsolicited %r", line)
        return True

    # ------------------------------------------------------------------ commands

    async def _write(self, data: bytes) -> None:
        port = self._port
        if port is None or self._lost.is_set():
            raise PortLost("the serial port is not open")
        try:
            await asyncio.to_thread(port.write, data)
        except (serial.SerialException, OSError) as err:
            self._connection_lost(f"serial port lost: {err}")
            raise PortLost(f"writing to the modem failed: {err}") from err

    async def _command(self, command: str, limit_s: float | None = None) -> list[str]:
        """Run one command and return its answer lines; raise :class:`ModemError`."""
        async with self._cmd_lock:
            return await self._exchange(command, limit_s or self.settings.command_timeout_s)

    async def _exchange(self, command: str, limit_s: float) -> list[str]:
        """Run one command (the caller holds the command lock)."""
        p = _Pending(command, asyncio.get_running_loop().create_future())
        self._pending, self._body_next = p, False
        try:
            await self._write(command.encode("ascii") + b"\r")
            try:
                final = await asyncio.wait_for(asyncio.shield(p.done), limit_s)
            except TimeoutError:
                raise ModemTimeout(f"no answer to {command} within {limit_s:g} s") from None
        finally:
            self._pending = None
        if final != "OK":
            raise ModemCommandError(command, final)
        return p.lines[:-1]

    # ------------------------------------------------------------------ sending

    async def _send_worker(self) -> None:
        while True:
            _, _, job = await self._queue.get()
            if job.future.done():
                continue  # the sender gave up waiting
            try:
                result = await self._deliver(job)
            except asyncio.CancelledError:
                if not job.future.done():
                    job.future.set_result(SendResult.unknown(
                        "GSM modem channel stopped while sending; the SMS may have been sent"))
                raise
            except Exception as err:
                _LOGGER.exception("GSM modem: sending %s failed unexpectedly", job.msg.message_id)
                result = SendResult.failed(f"internal error: {err}")
            if not job.future.done():
                job.future.set_result(result)

    async def _deliver(self, job: _Job) -> SendResult:
        alphabet, text = choose_alphabet(job.msg.text, self.settings.charset)
        parts = split_sms(text, alphabet, self.settings.max_parts)
        track = _Track(job.msg.message_id)
        if not self.is_up():
            return SendResult.failed(f"GSM modem is down: {self.health.reason}")
        for i, part in enumerate(parts, 1):
            note = f" (part {i}/{len(parts)}; {i - 1} sent)" if len(parts) > 1 else ""
            await self._pacer.wait()
            if not self.is_up():
                self._drop(track)
                return SendResult.failed(f"GSM modem is down: {self.health.reason}{note}")
            try:
                mr = await self._send_part(job.number, part, alphabet)
            except _Definite as err:
                self._drop(track)
                return SendResult.failed(f"{err}{note}")
            except _Unknown as err:
                self._drop(track)
                return SendResult.unknown(f"{err}{note}")
            track.mrs.append(mr)
            if self.settings.delivery_reports:
                old = self._tracks.get(mr)
                if old is not None and old is not track:
                    self._drop(old)  # references repeat every 256 SMS
                track.waiting.add(mr)
                self._tracks[mr] = track
        track.complete = True
        ref = ",".join(str(m) for m in track.mrs)
        if self.settings.delivery_reports and not track.waiting:
            self._drop(track)
            self._schedule_report(DeliveryReport(self.kind, ref, True, self._clock.now(),
                                                 track.message_id, "delivered"))
        return SendResult.accepted(ref)

    async def _send_part(self, number: str, text: str, alphabet: Alphabet) -> int:
        s = self.settings
        async with self._cmd_lock:
            try:
                await self._set_alphabet(alphabet)
            except ModemError as err:
                raise _Definite(f"cannot select the {alphabet} alphabet: {err}") from err
            loop = asyncio.get_running_loop()
            p = _Pending(f'AT+CMGS="{encode_for_modem(number, alphabet)}"',
                         loop.create_future(), loop.create_future())
            self._pending, self._body_next = p, False
            try:
                return await self._cmgs(p, text, alphabet, s)
            finally:
                self._pending = None

    async def _cmgs(self, p: _Pending, text: str, alphabet: Alphabet,
                    s: ModemSettings) -> int:
        assert p.prompt is not None
        try:
            await self._write(p.command.encode("ascii") + b"\r")
            waiters: set[asyncio.Future[Any]] = {p.prompt, p.done}
            done, _ = await asyncio.wait(waiters, timeout=s.prompt_timeout_s,
                                         return_when=asyncio.FIRST_COMPLETED)
        except PortLost as err:
            raise _Definite(f"modem lost before the text was sent: {err}") from err
        if p.done.done():
            exc = p.done.exception()
            if exc is not None:
                raise _Definite(f"modem lost before the text was sent: {exc}")
            raise _Definite(ModemCommandError("AT+CMGS", p.done.result()).explained)
        if not done:
            with contextlib.suppress(ModemError):
                await self._write(ESC)
                with contextlib.suppress(TimeoutError, ModemError):
                    await asyncio.wait_for(asyncio.shield(p.done), s.command_timeout_s)
            raise _Definite(f"no '> ' prompt from the modem within {s.prompt_timeout_s:g} s "
                            "(aborted with ESC)")
        if p.prompt.exception() is not None:
            raise _Definite(f"modem lost before the text was sent: {p.prompt.exception()}")
        payload = encode_for_modem(text, alphabet)
        if alphabet == "GSM":
            payload = payload.replace("\x1a", " ").replace("\x1b", " ")
        try:
            await self._write(payload.encode("latin-1") + CTRL_Z)
        except PortLost as err:
            raise _Unknown(f"modem lost while the text was written: {err}") from err
        try:
            final = await asyncio.wait_for(asyncio.shield(p.done), s.send_timeout_s)
        except TimeoutError:
            await self._resync()
            raise _Unknown(f"no answer from the modem within {s.send_timeout_s:g} s after "
                           "the text; the SMS may have been sent") from None
        except PortLost as err:
            raise _Unknown(f"modem lost after the text was sent: {err}; the SMS may have "
                           "been sent") from err
        if final != "OK":
            raise _Definite(ModemCommandError("AT+CMGS", final).explained)
        for line in p.lines:
            if line.startswith("+CMGS:"):
                ref = line.split(":", 1)[1].strip().split(",")[0]
                if ref.isdigit():
                    return int(ref)
        raise _Unknown(f"the modem said OK without a message reference: {p.lines!r}")

    async def _resync(self) -> None:
        """Bring a modem that went silent mid-send back to command mode (lock held).

        A late ``OK`` of the silent send is swallowed here rather than taken as the answer to
        the next command.
        """
        self._pending = None
        try:
            await self._write(ESC)
            await self._exchange("AT", self.settings.command_timeout_s)
        except ModemTimeout:
            self._connection_lost("the modem does not answer AT after a send")
        except ModemError:
            pass

    # ------------------------------------------------------------------ delivery reports

    def _drop(self, track: _Track) -> None:
        for mr in track.mrs:
            if self._tracks.get(mr) is track:
                del self._tracks[mr]

    def _status_report(self, f: list[str]) -> None:
        # Text mode: +CDS: <fo>,<mr>,[<ra>],[<tora>],<scts>,<dt>,<st>
        if len(f) < 7 or not f[1].strip().isdigit() or not f[-1].strip().isdigit():
            _LOGGER.warning("GSM modem: cannot read the delivery report %r", f)
            return
        mr, st = int(f[1]), int(f[-1])
        delivered, words = status_report_meaning(st)
        if delivered is None:
            _LOGGER.debug("GSM modem: SMS %d: %s", mr, words)
            return
        at = parse_scts(f[-2]) or self._clock.now()
        track = self._tracks.get(mr)
        if track is None:
            self._schedule_report(DeliveryReport(self.kind, str(mr), delivered, at, None, words))
            return
        track.waiting.discard(mr)
        ref = ",".join(str(m) for m in track.mrs)
        if not delivered:
            self._drop(track)
            part = f" (part {track.mrs.index(mr) + 1})" if len(track.mrs) > 1 else ""
            self._schedule_report(DeliveryReport(self.kind, ref, False, at, track.message_id,
                                                 words + part))
        elif track.complete and not track.waiting:
            self._drop(track)
            self._schedule_report(DeliveryReport(self.kind, ref, True, at, track.message_id,
                                                 words))

    def _schedule_report(self, report: DeliveryReport) -> None:
        self._spawn(call_handler(self._on_report, report), f"report {report.ref}")

    def _spawn(self, coro: Awaitable[None], what: str) -> None:
        async def run() -> None:
            try:
                await coro
            except Exception:
                _LOGGER.exception("GSM modem: handling %s failed", what)

        task = asyncio.get_running_loop().create_task(run())
        self._handler_tasks.add(task)
        task.add_done_callback(self._handler_tasks.discard)

    # ------------------------------------------------------------------ inbound

    async def _inbound_worker(self) -> None:
        while True:
            idx = await self._inbound.get()
            if not self.is_up():
                continue  # read again with the stored ones after the reconnect
            try:
                await self._fetch(idx)
            except ModemError as err:
                _LOGGER.warning("GSM modem: reading message %d failed: %s", idx, err)

    async def _fetch(self, idx: int) -> None:
        async with self._cmd_lock:
            await self._set_alphabet("UCS2")
            lines = await self._exchange(f"AT+CMGR={idx}", self.settings.command_timeout_s)
        if not lines or not lines[0].startswith("+CMGR:"):
            return  # empty slot (already read)
        header = _fields(lines[0].split(":", 1)[1])
        await self._hand_in(idx, header, "\n".join(lines[1:]))

    async def _read_stored(self) -> None:
        async with self._cmd_lock:
            await self._set_alphabet("UCS2")
            lines = await self._exchange('AT+CMGL="ALL"', self.settings.command_timeout_s)
        entries: list[tuple[int, list[str], list[str]]] = []
        for line in lines:
            if line.startswith("+CMGL:"):
                f = _fields(line.split(":", 1)[1])
                if f and f[0].strip().isdigit():
                    entries.append((int(f[0]), f[1:], []))
                    continue
            if entries:
                entries[-1][2].append(line)
        for idx, header, body in entries:
            if header and header[0].upper().startswith("STO"):
                continue  # our own stored outgoing messages, not replies
            await self._hand_in(idx, header, "\n".join(body))

    async def _hand_in(self, idx: int, header: list[str], body: str) -> None:
        """Hand in a stored message read in UCS2 (header: stat, oa, alpha, scts …)."""
        oa = decode_number(header[1], "UCS2") if len(header) > 1 else ""
        at = (parse_scts(header[3]) if len(header) > 3 else None) or self._clock.now()
        msg = InboundMessage(self.kind, oa, decode_text(body, "UCS2"), at)
        try:
            await call_handler(self._on_inbound, msg)
        except Exception:
            _LOGGER.exception("GSM modem: the handler failed on the SMS from %s; it stays on "
                              "the SIM and is read again at the next start", oa)
            return
        try:
            await self._command(f"AT+CMGD={idx}")
        except ModemError as err:
            _LOGGER.warning("GSM modem: deleting message %d failed: %s", idx, err)

    def _deliver_cmt(self, header: list[str], body: str) -> None:
        # Text mode: +CMT: <oa>,[<alpha>],<scts>[,…] then the text on the next line
        alphabet = self._alphabet or "UCS2"
        oa = decode_number(header[0], alphabet) if header else ""
        at = (parse_scts(header[2]) if len(header) > 2 else None) or self._clock.now()
        msg = InboundMessage(self.kind, oa, decode_text(body, alphabet), at)
        self._spawn(call_handler(self._on_inbound, msg), f"SMS from {oa}")
