"""Chat robots and the generic webhook against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import ValidationError

from commandcenter.core.clock import ScriptedClock
from commandcenter.notify.base import DeliveryChannel, SendResult, SendStatus
from commandcenter.notify.config import NotifySettings, WebhookTarget
from commandcenter.notify.webhook import WebhookChannel

from .conftest import message

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T0_S = 1767225600


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw.decode("utf-8"))


@dataclass
class Robot:
    """What the server answers next, and what it saw."""

    status: int = 200
    body: Any = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})
    hang: bool = False
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def robot() -> Iterator[tuple[Robot, str]]:
    state = Robot()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            url = urllib.parse.urlsplit(self.path)
            state.seen.append(Seen(url.path, dict(urllib.parse.parse_qsl(url.query)),
                                   {k.lower(): v for k, v in self.headers.items()}, raw))
            if state.hang:
                state.release.wait(10)
                return
            body = state.body if isinstance(state.body, bytes) else \
                json.dumps(state.body).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def send(target: WebhookTarget, *msgs: Any) -> tuple[list[SendResult], WebhookChannel]:
    channel, _ = paced_channel(target)

    async def main() -> list[SendResult]:
        await channel.start()
        try:
            return [await channel.send(m) for m in msgs]
        finally:
            await channel.stop()

    return asyncio.run(main()), channel


def paced_channel(target: WebhookTarget) -> tuple[WebhookChannel, list[float]]:
    """A channel whose pacing waits on a scripted clock; returns it and the waits it made."""
    clock = ScriptedClock(T0)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)
        await asyncio.sleep(0)

    return WebhookChannel(target, clock, sleep=sleep), waits


def test_is_a_delivery_channel() -> None:
    assert isinstance(WebhookChannel(WebhookTarget(kind="wecom", url="http://x/")),
                      DeliveryChannel)


def test_wecom_text_with_mention(robot: tuple[Robot, str]) -> None:
    state, base = robot
    target = WebhookTarget(kind="wecom", url=f"{base}/cgi-bin/webhook/send?key=K-123")
    [res], ch = send(target, message(phone="+86 138-0013-8000"))
    assert res.status is SendStatus.ACCEPTED
    [seen] = state.seen
    assert seen.path == "/cgi-bin/webhook/send" and seen.query == {"key": "K-123"}
    assert seen.headers["content-type"] == "application/json; charset=utf-8"
    assert seen.json == {"msgtype": "text", "text": {
        "content": message().text, "mentioned_mobile_list": ["13800138000"]}}
    assert ch.kind == "wecom"


def test_wecom_without_phone_mentions_nobody(robot: tuple[Robot, str]) -> None:
    state, base = robot
    [res], _ = send(WebhookTarget(kind="wecom", url=base), message())
    assert res.ok
    assert state.seen[0].json == {"msgtype": "text", "text": {"content": message().text}}


def test_dingtalk_signed_request(robot: tuple[Robot, str]) -> None:
    state, base = robot
    secret = "SEC0123456789abcdef"
    target = WebhookTarget(kind="dingtalk", url=f"{base}/robot/send?access_token=TOKEN",
                           secret=secret)
    [res], _ = send(target, message(phone="13800138000"))
    assert res.ok
    [seen] = state.seen
    ts = seen.query["timestamp"]
    assert ts == str(T0_S * 1000)
    expected = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert seen.query["sign"] == expected
    assert seen.query["access_token"] == "TOKEN"
    assert seen.json == {"msgtype": "text",
                         "text": {"content": message().text + " @13800138000"},
                         "at": {"atMobiles": ["13800138000"], "isAtAll": False}}


def test_feishu_signed_body(robot: tuple[Robot, str]) -> None:
    state, base = robot
    state.body = {"code": 0, "msg": "success", "data": {}}
    secret = "feishu-secret"
    target = WebhookTarget(kind="feishu", url=f"{base}/open-apis/bot/v2/hook/abc",
                           secret=secret)
    [res], _ = send(target, message())
    assert res.ok
    body = state.seen[0].json
    assert body["timestamp"] == str(T0_S)
    key = f"{T0_S}\n{secret}".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["msg_type"] == "text" and body["content"] == {"text": message().text}


def test_generic_json_with_signature(robot: tuple[Robot, str]) -> None:
    state, base = robot
    state.body = b"accepted"
    target = WebhookTarget(kind="webhook", url=f"{base}/hooks/cc", secret="s3")
    [res], _ = send(target, message(phone="13800138000"))
    assert res.ok
    seen = state.seen[0]
    assert seen.json == {
        "message_id": "INC-1-M001", "incident_id": "INC-1", "incident_code": "A7K",
        "person": "p-zhang", "name": "张伟", "channel": "sms", "address": "13800138000",
        "phone": "13800138000", "text": message().text, "priority": 1,
        "sent_at": "2026-01-01T00:00:00+00:00"}
    ts = seen.headers["x-commandcenter-timestamp"]
    mac = hmac.new(b"s3", ts.encode() + b"." + seen.raw, hashlib.sha256).hexdigest()
    assert seen.headers["x-commandcenter-signature"] == f"sha256={mac}"


@pytest.mark.parametrize(("kind", "body", "reason"), [
    ("wecom", {"errcode": 93000, "errmsg": "invalid webhook url"},
     "WeCom robot error 93000: invalid webhook url"),
    ("dingtalk", {"errcode": 310000, "errmsg": "sign not match"},
     "DingTalk robot error 310000: sign not match"),
    ("feishu", {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"},
     "Feishu robot error 19021: sign match fail or timestamp is not within one hour"),
    ("feishu", {"StatusCode": 9499, "StatusMessage": "Bad Request"},
     "Feishu robot error 9499: Bad Request"),
    ("wecom", b"<html>gateway</html>", "unexpected answer (not JSON): '<html>gateway</html>'"),
])
def test_vendor_error_code_in_a_200_is_a_failure(robot: tuple[Robot, str], kind: str,
                                                 body: Any, reason: str) -> None:
    state, base = robot
    state.body = body
    [res], ch = send(WebhookTarget(kind=kind, url=base), message())
    assert (res.status, res.reason) == (SendStatus.FAILED, reason)
    assert ch.health.up


def test_http_500_fails_and_marks_down_until_a_send_works(
        robot: tuple[Robot, str], caplog: pytest.LogCaptureFixture) -> None:
    state, base = robot
    target = WebhookTarget(kind="wecom", url=f"{base}/send?key=SECRETKEY")
    channel = WebhookChannel(target)

    async def main() -> None:
        await channel.start()
        state.status, state.body = 500, {"error": "boom"}
        r1 = await channel.send(message())
        r2 = await channel.send(message())
        assert not channel.is_up()
        state.status, state.body = 200, {"errcode": 0, "errmsg": "ok"}
        r3 = await channel.send(message())
        assert channel.is_up()
        assert r1.status is SendStatus.FAILED and (r1.reason or "").startswith("HTTP 500")
        assert r2.status is SendStatus.FAILED and r3.ok
        await channel.stop()

    with caplog.at_level(logging.INFO, logger="commandcenter.notify"):
        asyncio.run(main())
    msgs = [r.getMessage() for r in caplog.records if r.name == "commandcenter.notify.webhook"]
    assert sum("is down" in m for m in msgs) == 1
    assert sum("back up" in m for m in msgs) == 1
    assert not any("SECRETKEY" in m for m in msgs)


def test_http_404_fails_but_the_channel_stays_up(robot: tuple[Robot, str]) -> None:
    state, base = robot
    state.status = 404
    [res], ch = send(WebhookTarget(kind="webhook", url=base), message())
    assert res.status is SendStatus.FAILED and (res.reason or "").startswith("HTTP 404")
    assert ch.health.up


def test_a_server_that_never_answers_is_unknown(robot: tuple[Robot, str]) -> None:
    state, base = robot
    state.hang = True
    [res], ch = send(WebhookTarget(kind="dingtalk", url=base, timeout_s=0.3), message())
    assert res.status is SendStatus.UNKNOWN
    assert "no answer" in (res.reason or "") and "may have been posted" in (res.reason or "")
    assert not ch.health.up


def test_nobody_listening_is_a_failure_and_down() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    [res], ch = send(WebhookTarget(kind="feishu", url=f"http://127.0.0.1:{port}/hook"),
                     message())
    assert res.status is SendStatus.FAILED and "cannot reach" in (res.reason or "")
    assert not ch.health.up


def test_settings_validation() -> None:
    with pytest.raises(ValidationError, match="not an http"):
        WebhookTarget(kind="wecom", url="ftp://example.com/x")
    with pytest.raises(ValidationError, match="wecom given twice"):
        NotifySettings(webhooks=(WebhookTarget(kind="wecom", url="http://a/"),
                                 WebhookTarget(kind="wecom", url="http://b/")))
    with pytest.raises(ValidationError, match="kind"):
        WebhookTarget(kind="slack", url="http://a/")


# --------------------------------------------------------------------------- pacing, groups


@pytest.mark.parametrize(("kind", "rate", "expected"), [
    ("wecom", None, 20.0), ("dingtalk", None, 20.0), ("feishu", None, 100.0),
    ("webhook", None, None), ("webhook", 30.0, 30.0), ("wecom", 10.0, 10.0),
])
def test_each_kind_has_a_sensible_default_rate(kind: str, rate: float | None,
                                               expected: float | None) -> None:
    target = WebhookTarget.model_validate({"kind": kind, "url": "http://x/", "rate_per_min": rate})
    assert target.effective_rate_per_min == expected


def test_rate_per_min_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="rate_per_min"):
        WebhookTarget(kind="wecom", url="http://x/", rate_per_min=0)


def test_posts_are_paced_at_the_robots_rate(robot: tuple[Robot, str]) -> None:
    state, base = robot
    channel, waits = paced_channel(WebhookTarget(kind="wecom", url=f"{base}/send?key=K"))

    async def main() -> list[SendResult]:
        await channel.start()
        try:
            return [await channel.send(message(mid=f"INC-1-M00{i}")) for i in range(4)]
        finally:
            await channel.stop()

    results = asyncio.run(main())
    assert all(r.ok for r in results) and len(state.seen) == 4
    assert waits == [3.0, 3.0, 3.0]  # 20 a minute: one post every 3 s


def test_a_generic_webhook_is_not_paced_by_default(robot: tuple[Robot, str]) -> None:
    state, base = robot
    channel, waits = paced_channel(WebhookTarget(kind="webhook", url=f"{base}/hook"))

    async def main() -> None:
        await channel.start()
        try:
            for i in range(3):
                assert (await channel.send(message(mid=f"INC-1-M00{i}"))).ok
        finally:
            await channel.stop()

    asyncio.run(main())
    assert waits == [] and len(state.seen) == 3
    assert channel.max_group == 1


def _group() -> list[Any]:
    return [message(mid=f"INC-1-M00{i}", phone=f"+86 138 0000 000{i}", channel="wecom")
            for i in range(1, 4)]


@pytest.mark.parametrize(("kind", "expected"), [
    ("wecom", {"msgtype": "text", "text": {
        "content": _group()[0].text,
        "mentioned_mobile_list": ["13800000001", "13800000002", "13800000003"]}}),
    ("dingtalk", {"msgtype": "text", "text": {
        "content": f"{_group()[0].text} @13800000001 @13800000002 @13800000003"},
        "at": {"atMobiles": ["13800000001", "13800000002", "13800000003"],
               "isAtAll": False}}),
    ("feishu", {"msg_type": "text", "content": {"text": f"{_group()[0].text}\n张伟、张伟、张伟"}}),
])
def test_a_stage_goes_to_a_chat_robot_as_one_post_mentioning_everyone(
        robot: tuple[Robot, str], kind: str, expected: dict[str, Any]) -> None:
    state, base = robot
    state.body = {"errcode": 0, "errmsg": "ok"} if kind != "feishu" else {"code": 0, "msg": "ok"}
    channel, _ = paced_channel(WebhookTarget.model_validate({"kind": kind, "url": f"{base}/s"}))
    assert channel.max_group == 20

    async def main() -> SendResult:
        await channel.start()
        try:
            return await channel.send_group(_group())
        finally:
            await channel.stop()

    assert asyncio.run(main()).ok
    [seen] = state.seen
    assert seen.json == expected


def test_grouping_can_be_switched_off_and_is_bounded(robot: tuple[Robot, str]) -> None:
    state, base = robot
    off, _ = paced_channel(WebhookTarget(kind="wecom", url=f"{base}/s", group=False))
    on, _ = paced_channel(WebhookTarget(kind="wecom", url=f"{base}/s"))

    async def main() -> tuple[SendResult, SendResult]:
        await off.start()
        await on.start()
        try:
            return (await off.send_group(_group()),
                    await on.send_group([message(mid=f"M{i}") for i in range(21)]))
        finally:
            await off.stop()
            await on.stop()

    one_each, too_many = asyncio.run(main())
    assert off.max_group == 1
    assert one_each.status is SendStatus.FAILED and "1 to 1 messages at once, not 3" in \
        (one_each.reason or "")
    assert too_many.status is SendStatus.FAILED and "not 21" in (too_many.reason or "")
    assert state.seen == []
