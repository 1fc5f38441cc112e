r"""Chat robots and generic JSON webhooks (``wecom``, ``dingtalk``, ``feishu``, ``webhook``).

Each :class:`WebhookChannel` posts to one configured :class:`~.config.WebhookTarget` with the
standard library's ``urllib.request`` in a worker thread. Request bodies:

- **WeCom** (企业微信 group robot): ``{"msgtype": "text", "text": {"content": …,
  "mentioned_mobile_list": [<mobile>]}}``;
- **DingTalk** (钉钉 custom robot): ``{"msgtype": "text", "text": {"content": … @<mobile>},
  "at": {"atMobiles": [<mobile>], "isAtAll": false}}``; with a secret (加签) the URL gets
  ``timestamp`` (ms) and ``sign`` = Base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>"));
- **Feishu / Lark** custom robot: ``{"msg_type": "text", "content": {"text": …}}``; with a
  secret the body gets ``timestamp`` (s) and ``sign`` = Base64(HMAC-SHA256 keyed with
  "<timestamp>\\n<secret>" over an empty message);
- **generic**: the message fields as JSON (see :func:`generic_payload`); with a secret the
  headers ``X-CommandCenter-Timestamp`` and ``X-CommandCenter-Signature: sha256=<hex>`` carry
  HMAC-SHA256(secret, "<timestamp>." + body).

**Pacing.** Group robots limit how fast they take posts (WeCom and DingTalk about 20 a minute,
Feishu 100): a post over the limit is refused. Each channel spaces its posts at
``rate_per_min`` (:attr:`~.config.WebhookTarget.effective_rate_per_min`; a generic webhook is
not paced unless set).

**One post per stage.** Everyone of a stage gets the same alert text, so posting it once per
person only repeats it in the group. A chat robot (not the generic webhook, whose body is one
person's message) therefore takes a group (:meth:`WebhookChannel.send_group`, up to
:attr:`WebhookChannel.max_group` messages with the same text): one post mentioning all of them
(``mentioned_mobile_list`` / ``atMobiles``; Feishu has no mention by mobile, so the names are
added to the text). Its answer is every member's answer. ``group = false`` turns it off.

Outcomes: 2xx with the vendor's ``errcode``/``code`` 0 → accepted; 2xx with another code →
failed with the vendor's message (e.g. a bad signature or "send too fast"); HTTP 4xx → failed;
HTTP 5xx or no connection → failed and the channel down; the request sent but no answer within
``timeout_s`` → unknown (the robot may have posted it). Robots have no health endpoint, so the
channel is up until a send fails at the connection level, and the next successful send brings it
back up. Log lines name the host only: robot URLs carry their access key.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from commandcenter.core.clock import Clock, SystemClock
from commandcenter.notify.base import (
    Health,
    InboundHandler,
    OutgoingMessage,
    Pacer,
    ReportHandler,
    SendResult,
)
from commandcenter.notify.config import WebhookTarget

_LOGGER = logging.getLogger(__name__)

_LABELS = {"wecom": "WeCom robot", "dingtalk": "DingTalk robot", "feishu": "Feishu robot",
           "webhook": "webhook"}


def mention_mobile(phone: str | None) -> str | None:
    """Return a mobile number as chat robots match it (digits, no +86), or ``None``."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits or None


def _many(msgs: OutgoingMessage | Sequence[OutgoingMessage]) -> list[OutgoingMessage]:
    return [msgs] if isinstance(msgs, OutgoingMessage) else list(msgs)


def _mobiles(msgs: list[OutgoingMessage], mention: bool) -> list[str]:
    if not mention:
        return []
    out: list[str] = []
    for m in msgs:
        mobile = mention_mobile(m.phone)
        if mobile and mobile not in out:
            out.append(mobile)
    return out


def wecom_payload(msgs: OutgoingMessage | Sequence[OutgoingMessage],
                  mention: bool = True) -> dict[str, Any]:
    """Return the WeCom group-robot text message for one message or a group of them."""
    group = _many(msgs)
    text: dict[str, Any] = {"content": group[0].text}
    mobiles = _mobiles(group, mention)
    if mobiles:
        text["mentioned_mobile_list"] = mobiles
    return {"msgtype": "text", "text": text}


def dingtalk_payload(msgs: OutgoingMessage | Sequence[OutgoingMessage],
                     mention: bool = True) -> dict[str, Any]:
    """Return the DingTalk robot text message (each mention must also appear in the text)."""
    group = _many(msgs)
    mobiles = _mobiles(group, mention)
    content = " ".join([group[0].text, *(f"@{m}" for m in mobiles)])
    return {"msgtype": "text", "text": {"content": content},
            "at": {"atMobiles": mobiles, "isAtAll": False}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """Return DingTalk's ``sign`` for ``timestamp_ms`` (Base64, not yet URL-encoded)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(),
                      hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """Return ``url`` with DingTalk's ``timestamp`` and ``sign`` query parameters."""
    query = urllib.parse.urlencode({"timestamp": timestamp_ms,
                                    "sign": dingtalk_sign(secret, timestamp_ms)})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def feishu_payload(msgs: OutgoingMessage | Sequence[OutgoingMessage]) -> dict[str, Any]:
    """Return the Feishu/Lark robot text message; a group's names follow the text."""
    group = _many(msgs)
    text = group[0].text
    if len(group) > 1:
        text += "\n" + "、".join(m.name or m.person for m in group)
    return {"msg_type": "text", "content": {"text": text}}


def feishu_sign(secret: str, timestamp_s: int) -> str:
    r"""Return Feishu's ``sign``: HMAC-SHA256 keyed with "<timestamp>\n<secret>", empty data."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def generic_payload(msg: OutgoingMessage, sent_at: str) -> dict[str, Any]:
    """Return the generic webhook body: the message's fields."""
    return {"message_id": msg.message_id, "incident_id": msg.incident_id,
            "incident_code": msg.incident_code, "person": msg.person, "name": msg.name,
            "channel": msg.channel, "address": msg.address, "phone": msg.phone,
            "text": msg.text, "priority": msg.priority, "sent_at": sent_at}


def generic_signature(secret: str, timestamp_s: int, body: bytes) -> str:
    """Return the ``X-CommandCenter-Signature`` header value for ``body``."""
    mac = hmac.new(secret.encode(), f"{timestamp_s}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: str


class _NoAnswer(Exception):
    """The request went out; no answer came in time."""


def _vendor_error(kind: str, body: str) -> str | None:
    """Return the vendor's error in a 2xx answer, or ``None`` when it reports success."""
    if kind == "webhook":
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return f"unexpected answer (not JSON): {body[:200]!r}"
    if not isinstance(data, dict):
        return f"unexpected answer: {body[:200]!r}"
    if kind in ("wecom", "dingtalk"):
        code, words = data.get("errcode"), data.get("errmsg")
    else:
        code = data.get("code", data.get("StatusCode"))
        words = data.get("msg", data.get("StatusMessage"))
    if code in (0, "0"):
        return None
    return f"{_LABELS[kind]} error {code}: {words}"


MAX_GROUP = 20
"""Most people one chat-robot post mentions (WeCom takes about that many mentions)."""


class WebhookChannel:
    """One chat robot or webhook endpoint as a delivery channel.

    Attributes:
        target: Where and how to post.
        health: Up/down as of the last attempt.
        max_group: Most messages one post may carry (1: one post per message).
    """

    def __init__(self, target: WebhookTarget, clock: Clock | None = None, *,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Post to ``target``.

        Args:
            target: The robot or endpoint.
            clock: Signature timestamps and the post pacing (default: wall clock).
            sleep: How pacing waits (tests pass a scripted one).
        """
        self.target = target
        self._clock = clock or SystemClock()
        parts = urllib.parse.urlsplit(target.url)
        self.label = f"{_LABELS[target.kind]} {parts.scheme}://{parts.netloc}"
        self.health = Health(self.label, _LOGGER)
        self._running = False
        self._opener = urllib.request.build_opener()
        rate = target.effective_rate_per_min
        self._pacer = Pacer(rate, self._clock, sleep) if rate else None
        self.max_group = MAX_GROUP if target.group and target.kind != "webhook" else 1

    @property
    def kind(self) -> str:
        """The channel this robot serves (``wecom``, ``dingtalk``, ``feishu``, ``webhook``)."""
        return self.target.kind

    def is_up(self) -> bool:
        """Return whether the last attempt reached the server (true before the first)."""
        return self._running and self.health.up

    async def start(self, on_inbound: InboundHandler | None = None,
                    on_report: ReportHandler | None = None) -> None:
        """Start (robots neither answer nor report delivery, so the handlers are unused)."""
        self._running = True
        self.health.mark_up()

    async def stop(self) -> None:
        """Stop accepting messages."""
        self._running = False

    def build_request(self, msg: OutgoingMessage | Sequence[OutgoingMessage],
                      ) -> urllib.request.Request:
        """Return the HTTP request that posts ``msg`` or a group (signed when a secret is set).

        A group is one post of the first message's text mentioning everyone in it; the
        generic webhook posts one message only.
        """
        group = _many(msg)
        if len(group) > 1 and self.target.kind == "webhook":
            raise ValueError("a generic webhook posts one message at a time")
        t = self.target
        secret = t.secret.get_secret_value() if t.secret is not None else None
        now = self._clock.now()
        url = t.url
        headers = {"Content-Type": "application/json; charset=utf-8"}
        payload: dict[str, Any]
        if t.kind == "wecom":
            payload = wecom_payload(group, t.mention)
        elif t.kind == "dingtalk":
            payload = dingtalk_payload(group, t.mention)
            if secret:
                url = dingtalk_signed_url(url, secret, int(now.timestamp() * 1000))
        elif t.kind == "feishu":
            payload = feishu_payload(group)
            if secret:
                ts = int(now.timestamp())
                payload = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **payload}
        else:
            payload = generic_payload(group[0], now.isoformat())
        body = json.dumps(payload, ensure_ascii=False).encode()
        if t.kind == "webhook" and secret:
            ts = int(now.timestamp())
            headers["X-CommandCenter-Timestamp"] = str(ts)
            headers["X-CommandCenter-Signature"] = generic_signature(secret, ts, body)
        # The URL is checked to be http(s) when the settings are loaded.
        return urllib.request.Request(url, data=body, headers=headers,  # noqa: S310
                                      method="POST")

    async def send(self, msg: OutgoingMessage) -> SendResult:
        """Post one message and return how the server answered."""
        return await self.send_group([msg])

    async def send_group(self, msgs: Sequence[OutgoingMessage]) -> SendResult:
        """Post one message for everyone in ``msgs`` (same text; see the module notes).

        At most :attr:`max_group` messages; the answer is each one's answer.
        """
        if not self._running:
            return SendResult.failed(f"{self.label} channel is not running")
        if not msgs or len(msgs) > self.max_group:
            return SendResult.failed(f"{self.label} posts 1 to {self.max_group} messages at "
                                     f"once, not {len(msgs)}")
        if self._pacer is not None:
            await self._pacer.wait()
            if not self._running:
                return SendResult.failed(f"{self.label} channel stopped")
        req = self.build_request(msgs)
        ids = ", ".join(m.message_id for m in msgs)
        try:
            answer = await asyncio.to_thread(self._post, req)
        except _NoAnswer as err:
            self.health.mark_down(str(err))
            return SendResult.unknown(f"{err}; the message may have been posted")
        except urllib.error.HTTPError as err:
            snippet = err.read()[:200].decode(errors="replace") if err.fp else ""
            reason = f"HTTP {err.code} {err.reason}: {snippet}".rstrip(": ")
            if err.code >= 500:
                self.health.mark_down(reason)
            else:
                self.health.mark_up()
            return SendResult.failed(reason)
        except (urllib.error.URLError, OSError) as err:
            reason = f"cannot reach {self.label}: {getattr(err, 'reason', err)}"
            self.health.mark_down(reason)
            return SendResult.failed(reason)
        self.health.mark_up()
        problem = _vendor_error(self.target.kind, answer.body)
        if problem is not None:
            _LOGGER.warning("%s refused %s: %s", self.label, ids, problem)
            return SendResult.failed(problem)
        return SendResult.accepted()

    def _post(self, req: urllib.request.Request) -> _Answer:
        timeout = self.target.timeout_s
        try:
            with self._opener.open(req, timeout=timeout) as resp:
                return _Answer(resp.status, resp.read(65536).decode("utf-8", errors="replace"))
        except TimeoutError as err:
            # urllib wraps failures to connect or send in URLError; a bare timeout comes
            # from waiting for the answer, after the whole request went out.
            raise _NoAnswer(f"no answer from {self.label} within {timeout:g} s") from err
