"""MQTT link: wireless detectors and weather stations publishing to a broker (paho-mqtt 2.x).

Each gauge has a ``topic``; its payload is JSON ``{"value": 23.5, "ts": "…"}`` or a bare number.
Readings are stamped by our clock (field devices' clocks drift; ``ts`` is ignored). Invalid
payloads — not JSON, no ``value``, a value that is a string (``"NaN"`` in quotes), a boolean or
an object — are counted and logged at debug level with the gauge named; a JSON number token
``NaN`` is a number and goes through as a reading for the alarm engine to judge.

paho's network thread parses messages and hands them to the loop through a
:class:`~commandcenter.devices.inbox.ThreadInbox` (``call_soon_threadsafe``, batched). paho
reconnects on its own with capped exponential backoff; a gauge that publishes nothing for
3 × ``poll_s`` is faulted (a detector publishes at least that often).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from commandcenter.core.clock import Clock
from commandcenter.core.site import Gauge, GaugeLink
from commandcenter.devices.base import DEFAULT_BACKOFF, LinkCoordinator, ReadingSink
from commandcenter.devices.inbox import ThreadInbox

_LOGGER = logging.getLogger(__name__)
_COUNTER = itertools.count(1)

_GOOD, _BAD, _UP, _DOWN = 0, 1, 2, 3


def parse_payload(payload: bytes | bytearray) -> float:
    """Return the value in an MQTT payload; raise :class:`ValueError` saying what is wrong."""
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ValueError("payload is not UTF-8 text") from None
    if not text:
        raise ValueError("empty payload")
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise ValueError(f"payload is neither JSON nor a number: {text[:40]!r}") from None
    if isinstance(obj, dict):
        if "value" not in obj:
            raise ValueError(f"JSON object without 'value': {text[:60]!r}")
        obj = obj["value"]
    if isinstance(obj, bool) or not isinstance(obj, int | float):
        raise ValueError(f"value must be a number, not {type(obj).__name__} {obj!r:.40}")
    try:
        return float(obj)
    except OverflowError:
        raise ValueError(f"value {obj!r:.40} is too large") from None


class MqttCoordinator(LinkCoordinator):
    """One broker connection carrying the topics of every gauge on the link.

    Attributes:
        qos: QoS of the subscriptions (1 by default: the broker keeps what it could not send).
    """

    push = True

    def __init__(self, link: GaugeLink, gauges: Iterable[Gauge], clock: Clock,
                 sink: ReadingSink, *, backoff: tuple[float, float] = DEFAULT_BACKOFF,
                 monotonic: Callable[[], float] | None = None, qos: int = 1) -> None:
        """Map topics to gauges; the client connects when the coordinator starts."""
        super().__init__(link, gauges, clock, sink, backoff=backoff, monotonic=monotonic)
        if not link.host or not link.port:
            raise ValueError(f"link {link.id}: an MQTT link needs host and port")
        self.qos = qos
        self._topics: dict[str, list[str]] = {}
        self._patterns: list[tuple[str, str]] = []
        self.bad_addresses: dict[str, str] = {}
        for g in self.gauges.values():
            topic = g.address.get("topic")
            if not isinstance(topic, str) or not topic.strip():
                self.bad_addresses[g.id] = "address.topic is required for an MQTT gauge"
                continue
            topic = topic.strip()
            if "+" in topic or "#" in topic:
                self._patterns.append((topic, g.id))
            self._topics.setdefault(topic, []).append(g.id)
        self._client: mqtt.Client | None = None
        self._inbox: ThreadInbox[tuple[int, str, Any]] | None = None
        self._stopping = False
        self.invalid = 0
        """Messages on our topics that did not hold a usable value."""

    async def start(self) -> None:
        """Connect in paho's thread (it retries with backoff) and start the watchdog."""
        for gid, why in sorted(self.bad_addresses.items()):
            _LOGGER.warning("gauge %s on link %s cannot be read: %s", gid, self.link.id, why)
        self._stopping = False
        self._inbox = ThreadInbox(asyncio.get_running_loop(), self._handle)
        client = mqtt.Client(CallbackAPIVersion.VERSION2,
                             client_id=f"commandcenter-{self.link.id}-{os.getpid()}-"
                                       f"{next(_COUNTER)}",
                             clean_session=True, protocol=mqtt.MQTTv311)
        client.reconnect_delay_set(min_delay=self.backoff[0], max_delay=self.backoff[1])  # type: ignore[arg-type]
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_message = self._on_message
        assert self.link.host is not None and self.link.port is not None
        keepalive = max(5, int(self.link.timeout_s * 2))
        client.connect_async(self.link.host, self.link.port, keepalive=keepalive)
        client.loop_start()
        self._client = client
        await super().start()

    async def _run(self) -> None:
        # paho's thread does the I/O; the watchdog task does the silence checks.
        await asyncio.Event().wait()

    async def _close(self) -> None:
        self._stopping = True
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)
        if self._inbox is not None:
            self._inbox.drain_now()
            self._inbox.closed = True

    # ------------------------------------------------------------- paho's thread

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any,
                    reason_code: Any, _properties: Any) -> None:
        assert self._inbox is not None
        if reason_code.is_failure:
            self._inbox.put((_DOWN, "", f"broker refused the connection: {reason_code}"))
            return
        topics = [(t, self.qos) for t in self._topics]
        if topics:
            client.subscribe(topics)
        self._inbox.put((_UP, "", None))

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any,
                       reason_code: Any, _properties: Any) -> None:
        if not self._stopping and self._inbox is not None:
            self._inbox.put((_DOWN, "", f"connection to the broker lost ({reason_code})"))

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        if not self._stopping and self._inbox is not None:
            self._inbox.put((_DOWN, "", f"cannot connect to the broker at {self.endpoint}"))

    def _on_message(self, _client: mqtt.Client, _userdata: Any,
                    msg: mqtt.MQTTMessage) -> None:
        inbox = self._inbox
        if inbox is None:
            return
        gids = self._topics.get(msg.topic)
        if gids is None:
            gids = [gid for pattern, gid in self._patterns
                    if mqtt.topic_matches_sub(pattern, msg.topic)]
            if not gids:
                return
        try:
            value = parse_payload(msg.payload)
        except ValueError as err:
            for gid in gids:
                inbox.put((_BAD, gid, f"topic {msg.topic}: {err}"))
            return
        for gid in gids:
            inbox.put((_GOOD, gid, value))

    # ------------------------------------------------------------- loop thread

    def _handle(self, item: tuple[int, str, Any]) -> None:
        kind, gid, data = item
        if kind == _GOOD:
            self._accept(gid, data)
        elif kind == _BAD:
            self.invalid += 1
            self._reject(gid, data)
        elif kind == _UP:
            self.connected = True
            # The link counts as recovered with the first reading, not with the session alone.
            _LOGGER.debug("link %s: connected to %s", self.link.id, self.endpoint)
        else:
            self.connected = False
            self.errors += 1
            self._link_failed(data)
