"""E-mail through an SMTP server (the ``email`` channel).

Each message is one short SMTP session in a worker thread (standard library ``smtplib``):
connect (plain, STARTTLS or SSL), log in when a user is set, send, quit. Subject and body are
UTF-8 (the subject RFC 2047-encoded), so Chinese text arrives intact.

Outcomes: the server took it (250) → accepted, with the ``Message-ID`` as reference; the
recipient refused (``SMTPRecipientsRefused``) or the message rejected (``SMTPDataError``) →
failed for that message, the channel stays up; no connection, a refused login or sender, a
dropped session → failed and the channel down. A probe (connect, ``NOOP``, quit) every
``health_interval_s`` brings it back up when the server returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from commandcenter.core.clock import Clock, SystemClock
from commandcenter.notify.base import (
    Health,
    InboundHandler,
    OutgoingMessage,
    ReportHandler,
    SendResult,
)
from commandcenter.notify.config import SmtpSettings

_LOGGER = logging.getLogger(__name__)

SUBJECT_CHARS = 60
"""A subject is the first line of the text, cut to this many characters."""


def _code_text(code: int, msg: bytes | str) -> str:
    words = msg.decode(errors="replace") if isinstance(msg, bytes) else msg
    return f"{code} {words}".strip()


class _Down(Exception):
    """The server cannot be used (not this message's fault)."""


class SmtpChannel:
    """The ``email`` channel.

    Attributes:
        settings: Server, security, login, sender.
        health: Up/down (server reachable and accepting our login and sender).
    """

    kind = "email"

    def __init__(self, settings: SmtpSettings, clock: Clock | None = None) -> None:
        """Send through ``settings``' server; ``clock`` dates the messages."""
        self.settings = settings
        self._clock = clock or SystemClock()
        self.health = Health(f"SMTP server {settings.host}:{settings.effective_port}", _LOGGER)
        self._running = False
        self._probe_task: asyncio.Task[None] | None = None
        self._domain = parseaddr(settings.sender)[1].rpartition("@")[2] or "localhost"

    def is_up(self) -> bool:
        """Return whether the server answered the last send or probe."""
        return self._running and self.health.up

    async def start(self, on_inbound: InboundHandler | None = None,
                    on_report: ReportHandler | None = None) -> None:
        """Check the server once, then every ``health_interval_s`` (handlers are unused)."""
        self._running = True
        await self.probe()
        self._probe_task = asyncio.create_task(self._probe_loop(), name="smtp-probe")

    async def stop(self) -> None:
        """Stop probing and sending."""
        self._running = False
        if self._probe_task is not None:
            self._probe_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe_task
            self._probe_task = None

    async def probe(self) -> bool:
        """Connect, log in, ``NOOP``, quit; update health; return whether it worked."""
        try:
            await asyncio.to_thread(self._probe_blocking)
        except _Down as err:
            self.health.mark_down(str(err))
            return False
        self.health.mark_up()
        return True

    async def _probe_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.health_interval_s)
            await self.probe()

    def build_message(self, msg: OutgoingMessage) -> EmailMessage:
        """Return the e-mail for ``msg``."""
        s = self.settings
        first = msg.text.strip().splitlines()[0] if msg.text.strip() else msg.message_id
        subject = first if len(first) <= SUBJECT_CHARS else first[:SUBJECT_CHARS - 1] + "…"
        em = EmailMessage()
        em["From"] = s.sender
        em["To"] = formataddr((msg.name, msg.address)) if msg.name else msg.address
        em["Subject"] = f"{s.subject_prefix} {subject}".strip()
        em["Date"] = format_datetime(self._clock.now())
        em["Message-ID"] = make_msgid(domain=self._domain)
        em["X-CommandCenter-Message"] = msg.message_id
        if msg.incident_code:
            em["X-CommandCenter-Incident"] = msg.incident_code
        em.set_content(msg.text, charset="utf-8")
        return em

    async def send(self, msg: OutgoingMessage) -> SendResult:
        """Send one e-mail and return how the server answered."""
        if not self._running:
            return SendResult.failed("e-mail channel is not running")
        if "@" not in msg.address:
            return SendResult.failed(f"{msg.address!r} is not an e-mail address")
        em = self.build_message(msg)
        try:
            await asyncio.to_thread(self._send_blocking, em)
        except _Down as err:
            self.health.mark_down(str(err))
            return SendResult.failed(str(err))
        except smtplib.SMTPRecipientsRefused as err:
            self.health.mark_up()
            why = "; ".join(f"{rcpt}: {_code_text(*answer)}"
                            for rcpt, answer in err.recipients.items())
            return SendResult.failed(f"recipient refused: {why}")
        except smtplib.SMTPDataError as err:
            self.health.mark_up()
            why = _code_text(err.smtp_code, err.smtp_error)
            return SendResult.failed(f"message refused: {why}")
        self.health.mark_up()
        return SendResult.accepted(str(em["Message-ID"]))

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        port = s.effective_port
        try:
            if s.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, port, timeout=s.timeout_s, context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.host, port, timeout=s.timeout_s)
            try:
                if s.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if s.username is not None and s.password is not None:
                    smtp.login(s.username, s.password.get_secret_value())
            except BaseException:
                with contextlib.suppress(Exception):
                    smtp.close()
                raise
        except smtplib.SMTPAuthenticationError as err:
            raise _Down(f"login refused: {_code_text(err.smtp_code, err.smtp_error)}") from err
        except (smtplib.SMTPException, OSError) as err:
            raise _Down(f"cannot reach the SMTP server {s.host}:{port}: {err}") from err
        return smtp

    def _probe_blocking(self) -> None:
        smtp = self._open()
        try:
            code, answer = smtp.noop()
            if code != 250:
                raise _Down(f"SMTP server answers NOOP with {_code_text(code, answer)}")
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
        except (smtplib.SMTPException, OSError) as err:
            raise _Down(f"SMTP server dropped the connection: {err}") from err
        finally:
            smtp.close()

    def _send_blocking(self, em: EmailMessage) -> None:
        smtp = self._open()
        try:
            smtp.send_message(em)
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError):
            raise
        except smtplib.SMTPSenderRefused as err:
            raise _Down(f"sender {err.sender} refused: "
                        f"{_code_text(err.smtp_code, err.smtp_error)}") from err
        except (smtplib.SMTPException, OSError) as err:
            raise _Down(f"SMTP session failed: {err}") from err
        finally:
            smtp.close()
