"""The e-mail channel against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import ValidationError

from commandcenter.notify.base import DeliveryChannel, SendStatus
from commandcenter.notify.config import SmtpSettings
from commandcenter.notify.smtp import SmtpChannel

from .conftest import message, until

ALERT = "【A7K】3号罐区氨泄漏，请立即到场。\n回复“1 A7K”确认到场，“2 A7K”不能到场。"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """aiosmtpd handler: keeps every message, refuses addresses starting with ``nobody``."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.startswith("nobody"):
            return "550 5.1.1 <nobody@plant.example>: user unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                  auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"cc" \
        and auth_data.password == b"pw"
    return AuthResult(success=ok, handled=False)


class Server:
    def __init__(self, port: int, **kw: Any) -> None:
        self.port = port
        self.mailbox = Mailbox()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=port,
                                     ready_timeout=5, **kw)

    def start(self) -> Server:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server(free_port()).start()
    try:
        yield srv
    finally:
        srv.stop()


def settings(port: int, **kw: Any) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, sender="Command Center <cc@plant.example>",
                        timeout_s=2, **kw)


def run(channel: SmtpChannel, *msgs: Any) -> list[Any]:
    async def main() -> list[Any]:
        await channel.start()
        try:
            return [await channel.send(m) for m in msgs]
        finally:
            await channel.stop()

    return asyncio.run(main())


def test_is_a_delivery_channel() -> None:
    assert isinstance(SmtpChannel(settings(25)), DeliveryChannel)


def test_chinese_subject_and_body_arrive_intact(server: Server) -> None:
    ch = SmtpChannel(settings(server.port, subject_prefix="[应急]"))
    [res] = run(ch, message(ALERT, channel="email", address="zhang.wei@plant.example"))
    assert res.status is SendStatus.ACCEPTED
    [(mail_from, rcpts, mail)] = server.mailbox.messages
    assert mail_from == "cc@plant.example" and rcpts == ["zhang.wei@plant.example"]
    assert mail["Subject"] == "[应急] 【A7K】3号罐区氨泄漏，请立即到场。"
    assert mail["To"].addresses[0].display_name == "张伟"
    assert mail["To"].addresses[0].addr_spec == "zhang.wei@plant.example"
    assert mail.get_content().replace("\r\n", "\n").rstrip("\n") == ALERT
    assert mail["X-CommandCenter-Message"] == "INC-1-M001"
    assert mail["X-CommandCenter-Incident"] == "A7K"
    assert res.ref == mail["Message-ID"]


def test_a_long_first_line_makes_a_cut_subject(server: Server) -> None:
    ch = SmtpChannel(settings(server.port))
    [res] = run(ch, message("泄" * 100, channel="email", address="a@plant.example"))
    assert res.ok
    subject = server.mailbox.messages[0][2]["Subject"]
    assert subject == "泄" * 59 + "…"


def test_refused_recipient_fails_that_message_only(server: Server) -> None:
    ch = SmtpChannel(settings(server.port))
    bad, good = run(ch, message(channel="email", address="nobody@plant.example"),
                    message(channel="email", address="li@plant.example"))
    assert bad.status is SendStatus.FAILED
    assert bad.reason == ("recipient refused: nobody@plant.example: 550 5.1.1 "
                          "<nobody@plant.example>: user unknown")
    assert good.ok
    assert ch.health.up
    assert [m[1] for m in server.mailbox.messages] == [["li@plant.example"]]


def test_not_an_address_fails_without_a_session(server: Server) -> None:
    [res] = run(SmtpChannel(settings(server.port)), message(channel="email"))
    assert res.status is SendStatus.FAILED and "not an e-mail address" in (res.reason or "")
    assert server.mailbox.messages == []


def test_server_down_then_back(tmp_path: Any) -> None:
    port = free_port()
    ch = SmtpChannel(settings(port, health_interval_s=0.1))
    srv = Server(port)

    async def main() -> None:
        await ch.start()
        try:
            assert not ch.is_up()
            res = await ch.send(message(channel="email", address="a@plant.example"))
            assert res.status is SendStatus.FAILED
            assert "cannot reach the SMTP server" in (res.reason or "")
            await asyncio.to_thread(srv.start)
            await until(ch.is_up)
            assert (await ch.send(message(channel="email", address="a@plant.example"))).ok
        finally:
            await ch.stop()

    try:
        asyncio.run(main())
    finally:
        srv.stop()
    assert len(srv.mailbox.messages) == 1


def test_login_and_refused_login() -> None:
    srv = Server(free_port(), authenticator=authenticator, auth_require_tls=False).start()
    try:
        good = SmtpChannel(settings(srv.port, username="cc", password="pw"))
        [res] = run(good, message(channel="email", address="a@plant.example"))
        assert res.ok
        bad = SmtpChannel(settings(srv.port, username="cc", password="wrong"))
        [res] = run(bad, message(channel="email", address="a@plant.example"))
        assert res.status is SendStatus.FAILED and "login refused: 535" in (res.reason or "")
        assert not bad.health.up
    finally:
        srv.stop()
    assert len(srv.mailbox.messages) == 1


def test_settings_validation() -> None:
    with pytest.raises(ValidationError, match="username and password go together"):
        SmtpSettings(host="h", sender="cc@x.example", username="u")
    with pytest.raises(ValidationError, match="holds no e-mail address"):
        SmtpSettings(host="h", sender="Command Center")
    assert SmtpSettings(host="h", sender="a@b.c", security="ssl").effective_port == 465
    assert SmtpSettings(host="h", sender="a@b.c", security="starttls").effective_port == 587
    assert SmtpSettings(host="h", sender="a@b.c").effective_port == 25
