"""A GSM modem on a pty, speaking the AT dialogue of SMS text mode, with switchable faults.

The channel under test opens :attr:`GsmSimulator.path`, a symlink to the pty's slave (the way
``/dev/serial/by-id/…`` points at ``/dev/ttyUSB2``). :meth:`vanish` closes the master (the
channel then reads ``EIO``, like an unplugged USB modem); :meth:`restore` opens a new pty and
points the symlink at it.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from dataclasses import dataclass, field
from pathlib import Path

from commandcenter.core.clock import Clock

CTRL_Z = 0x1A
ESC = 0x1B
SCTS = "26/01/01,08:00:00+32"


def ucs2(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def un_ucs2(text: str) -> str:
    return bytes.fromhex(text).decode("utf-16-be")


@dataclass
class SentSms:
    number: str
    text: str
    dcs: int
    mr: int
    status_report: bool


@dataclass
class StoredSms:
    stat: str
    oa: str
    text: str
    scts: str = SCTS


@dataclass
class Faults:
    """What goes wrong with the next sends (each flag stays until cleared)."""

    cms_before_prompt: int | None = None
    cms_after_text: int | None = None
    no_prompt: bool = False
    silent_after_text: bool = False
    vanish_on_cmgs: bool = False
    vanish_after_text: bool = False
    prompt_gate: threading.Event | None = None
    """While set to an unset event, the '> ' prompt waits for it."""
    report_delay_s: float | None = 0.05
    """Send a +CDS this long after an accepted SMS that asked for one (None: never)."""
    report_status: int = 0
    interject: list[str] = field(default_factory=list)
    """Unsolicited lines written just before the next answer (mid-command), then cleared."""
    mute: bool = False
    """Ignore everything (a hung modem)."""
    sim: str | None = "READY"
    """What ``AT+CPIN?`` says (``"SIM PIN"`` …); ``None``: no SIM (``+CME ERROR: 10``)."""
    creg: int = 1
    """The registration state ``AT+CREG?`` reports (1 home, 5 roaming, 2 searching …)."""
    csq: int = 21
    """The signal ``AT+CSQ`` reports (0–31; 99 unknown / none)."""
    submit_delay_s: float = 0.0
    """How long the network takes: the SMS is sent, ``+CMGS`` comes this much later."""


class GsmSimulator:
    """One simulated modem. Use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(self, folder: Path, clock: Clock | None = None) -> None:
        self.path = folder / "ttyGSM0"
        self.clock = clock
        self.cmgs_times: list[float] = []
        self.faults = Faults()
        self.sent: list[SentSms] = []
        self.commands: list[str] = []
        self.storage: dict[int, StoredSms] = {}
        self.smsc: str | None = None
        self.echo = True
        self.cmgf = 0
        self.cscs = "IRA"
        self.csmp = (17, 167, 0, 0)
        self.mr = 0
        self.aborted = 0
        self.cmgs_seen = threading.Event()
        self._lock = threading.RLock()
        self._master: int | None = None
        self._slave: int | None = None
        self._buf = bytearray()
        self._text_mode: str | None = None  # number being composed
        self._prompt_pending = False
        self._timers: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gsm-sim", daemon=True)

    # -- lifecycle

    def __enter__(self) -> GsmSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._open_pty()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.vanish()

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(master)
        with self._lock:
            self._master, self._slave = master, slave
            self._buf.clear()
            self._text_mode = None
            self._prompt_pending = False
            self.echo = True
            self.cmgf, self.cscs, self.csmp = 0, "IRA", (17, 167, 0, 0)
        tmp = self.path.with_suffix(".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.path)

    def vanish(self) -> None:
        """Unplug: close the pty, remove the symlink."""
        with self._lock:
            fds = (self._master, self._slave)
            self._master = self._slave = None
        for fd in fds:
            if fd is not None:
                os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def restore(self) -> None:
        """Plug back in (a new pty behind the same path; the modem lost its settings)."""
        self._open_pty()

    # -- what a test does to the modem

    def inject_sms(self, oa: str, text: str, *, notify: bool = True, stat: str = "REC UNREAD",
                   ) -> int:
        """Store an incoming SMS and announce it with +CMTI (unless ``notify`` is False)."""
        with self._lock:
            idx = next(i for i in range(1, 100) if i not in self.storage)
            self.storage[idx] = StoredSms(stat, oa, text)
            if notify:
                self._write(f'\r\n+CMTI: "SM",{idx}\r\n')
        return idx

    def unsolicited(self, line: str) -> None:
        with self._lock:
            self._write(f"\r\n{line}\r\n")

    # -- the modem

    def _write(self, text: str) -> None:
        if self._master is None:
            return
        with contextlib.suppress(OSError):
            os.write(self._master, text.encode("latin-1"))

    def _answer(self, *lines: str) -> None:
        out = [f"\r\n{ln}\r\n" for ln in self.faults.interject]
        self.faults.interject = []
        out += [f"\r\n{ln}\r\n" for ln in lines]
        self._write("".join(out))

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                master = self._master
                self._fire_timers()
                gate = self.faults.prompt_gate
                if self._prompt_pending and (gate is None or gate.is_set()):
                    self._prompt_pending = False
                    self._write("\r\n> ")
            if master is None:
                time.sleep(0.01)
                continue
            try:
                ready, _, _ = select.select([master], [], [], 0.01)
                data = os.read(master, 4096) if ready else b""
            except (OSError, ValueError):
                time.sleep(0.01)
                continue
            if data:
                with self._lock:
                    if self._master == master:
                        self._receive(data)

    def _fire_timers(self) -> None:
        now = time.monotonic()
        due = [t for t in self._timers if t[0] <= now]
        self._timers = [t for t in self._timers if t[0] > now]
        for _, line in due:
            self._write(f"\r\n{line}\r\n")

    def _receive(self, data: bytes) -> None:
        if self.faults.mute:
            return
        for b in data:
            if self._text_mode is not None:
                if b == CTRL_Z:
                    number, text = self._text_mode, self._buf.decode("latin-1")
                    self._text_mode = None
                    self._buf.clear()
                    self._submit(number, text)
                elif b == ESC:
                    self._text_mode = None
                    self._prompt_pending = False
                    self._buf.clear()
                    self.aborted += 1
                    self._answer("OK")
                else:
                    self._buf.append(b)
                continue
            if b == ESC:
                self._buf.clear()
                continue
            if self.echo:
                self._write(chr(b))
            if b == 0x0D:
                line = self._buf.decode("latin-1").strip()
                self._buf.clear()
                if line:
                    self.commands.append(line)
                    self._command(line)
                    if self._master is None:
                        return
            elif b != 0x0A:
                self._buf.append(b)

    def _str(self, s: str) -> str:
        return un_ucs2(s) if self.cscs == "UCS2" else s

    def _enc(self, s: str) -> str:
        return ucs2(s) if self.cscs == "UCS2" else s

    def _command(self, line: str) -> None:
        up = line.upper()
        if up == "AT":
            self._answer("OK")
        elif up in ("ATE0", "ATE1"):
            self.echo = up == "ATE1"
            self._answer("OK")
        elif up.startswith("AT+CMEE="):
            self._answer("OK")
        elif up.startswith("AT+CMGF="):
            self.cmgf = int(line.split("=")[1])
            self._answer("OK")
        elif up.startswith("AT+CSCS="):
            self.cscs = line.split("=")[1].strip('"')
            self._answer("OK")
        elif up.startswith("AT+CSCA="):
            self.smsc = self._str(line.split("=")[1].strip('"'))
            self._answer("OK")
        elif up.startswith("AT+CSMP="):
            a, b, c, d = (int(x) for x in line.split("=")[1].split(","))
            self.csmp = (a, b, c, d)
            self._answer("OK")
        elif up.startswith("AT+CNMI="):
            self._answer("OK")
        elif up == "AT+CPIN?":
            if self.faults.sim is None:
                self._answer("+CME ERROR: 10")
            else:
                self._answer(f"+CPIN: {self.faults.sim}", "OK")
        elif up == "AT+CREG?":
            self._answer(f"+CREG: 0,{self.faults.creg}", "OK")
        elif up == "AT+CSQ":
            self._answer(f"+CSQ: {self.faults.csq},99", "OK")
        elif up.startswith("AT+CMGS="):
            self._cmgs(line)
        elif up.startswith("AT+CMGR="):
            idx = int(line.split("=")[1])
            sms = self.storage.get(idx)
            if sms is None:
                self._answer("OK")
                return
            header = f'+CMGR: "{sms.stat}","{self._enc(sms.oa)}",,"{sms.scts}"'
            sms.stat = "REC READ"
            self._answer(header, self._enc(sms.text), "", "OK")
        elif up.startswith("AT+CMGD="):
            self.storage.pop(int(line.split("=")[1].split(",", maxsplit=1)[0]), None)
            self._answer("OK")
        elif up.startswith("AT+CMGL="):
            lines: list[str] = []
            for idx, sms in sorted(self.storage.items()):
                lines += [f'+CMGL: {idx},"{sms.stat}","{self._enc(sms.oa)}",,"{sms.scts}"',
                          self._enc(sms.text)]
            self._answer(*lines, "OK")
        else:
            self._answer("ERROR")

    def _cmgs(self, line: str) -> None:
        self.cmgs_seen.set()
        if self.clock is not None:
            self.cmgs_times.append(self.clock.monotonic())
        if self.cmgf != 1:
            self._answer("+CMS ERROR: 302")
            return
        f = self.faults
        if f.vanish_on_cmgs:
            self.vanish()
            return
        if f.cms_before_prompt is not None:
            self._answer(f"+CMS ERROR: {f.cms_before_prompt}")
            return
        self._text_mode = self._str(line.split("=", 1)[1].strip('"'))
        self._buf.clear()
        if not f.no_prompt:
            self._prompt_pending = True

    def _submit(self, number: str, raw: str) -> None:
        f = self.faults
        dcs = self.csmp[3]
        text = un_ucs2(raw) if (self.cscs == "UCS2" or dcs == 8) else raw
        if f.vanish_after_text:
            self.vanish()
            return
        if f.silent_after_text:
            return
        if f.cms_after_text is not None:
            self._answer(f"+CMS ERROR: {f.cms_after_text}")
            return
        self.mr = (self.mr + 1) % 256
        report = bool(self.csmp[0] & 0x20)
        self.sent.append(SentSms(number, text, dcs, self.mr, report))
        if f.submit_delay_s:
            time.sleep(f.submit_delay_s)
        self._answer(f"+CMGS: {self.mr}", "OK")
        if report and f.report_delay_s is not None:
            ra = self._enc(number)
            line = (f'+CDS: 6,{self.mr},"{ra}",129,"{SCTS}","26/01/01,08:00:05+32",'
                    f"{f.report_status}")
            self._timers.append((time.monotonic() + f.report_delay_s, line))
