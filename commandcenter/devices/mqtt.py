"""MQTT link: wireless detectors and weather stations publishing to a broker (paho-mqtt 2.x).

Each gauge has a ``topic``; its payload is JSON ``{"value": 23.5, "ts": "…"}`` or a bare number.
Readings are stamped by our clock (field devices' clocks drift; ``ts`` is ignored). Invalid
payloads — not JSON, no ``value``, a value that is a string (``"NaN"`` in quotes), a boolean or
an object — are counted and logged at debug level with the gauge named; a JSON number token
``NaN`` is a number and goes through as a reading for the alarm engine to judge.

paho runs on the asyncio loop, not in a thread of its own: its socket is watched by the loop
(``add_reader`` / ``add_writer``, paho's external-loop callbacks) and its packets are parsed where
the readings are used. Handing every message from paho's thread to the loop thread cost more than
parsing it — two threads passing the GIL back and forth for each batch — so the same stream took
about 2.7 times the CPU of a bare paho subscriber. Only the TCP connect runs in a worker thread (a
dead broker host must not hold the loop for the connect timeout). A read handles a bounded
number of packets before yielding, so a burst cannot starve the rest of the loop. The
coordinator reconnects with capped exponential backoff; a gauge that publishes nothing for
3 × ``poll_s`` is faulted (a detector publishes at least that often).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from commandcenter.core.clock import Clock
from commandcenter.core.site import Gauge, GaugeLink
from commandcenter.devices.base import DEFAULT_BACKOFF, LinkCoordinator, ReadingSink

_LOGGER = logging.getLogger(__name__)
_COUNTER = itertools.count(1)

READ_BUDGET = 256
"""MQTT packets parsed per readable-socket callback before the loop runs anything else."""

MISC_S = 1.0
"""How often paho's housekeeping (keep-alive pings, ping timeouts) runs."""


_NUMBER = rb"(-?(?:0|[1-9][0-9]{0,299})(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|NaN|-?Infinity)"
_PLAIN = re.compile(rb'\s*(?:\{[ \t\n\r]*"value"[ \t\n\r]*:[ \t\n\r]*' + _NUMBER
                    + rb"[ \t\n\r]*\}|" + _NUMBER + rb")\s*")
"""The payloads almost every detector sends — ``{"value": 23.5}`` or ``23.5`` — in JSON's own
number grammar (with the ``NaN`` / ``Infinity`` tokens Python's json module reads), read
without building a JSON object. Anything else goes through :func:`parse_json_payload`."""


def parse_payload(payload: bytes | bytearray) -> float:
    """Return the value in an MQTT payload; raise :class:`ValueError` saying what is wrong."""
    plain = _PLAIN.fullmatch(payload)
    if plain is not None:
        return float(plain[1] or plain[2])
    return parse_json_payload(payload)


def parse_json_payload(payload: bytes | bytearray) -> float:
    """Read a payload through :func:`json.loads` (what :func:`parse_payload` does, slower)."""
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
        invalid: Messages on our topics that did not hold a usable value.
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
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._watched: dict[int, tuple[bool, bool]] = {}
        """File descriptors the loop watches for the current client → (reading, writing)."""
        self._lost: asyncio.Future[str] | None = None
        self._stopping = False
        self._messages = 0
        self.invalid = 0

    async def start(self) -> None:
        """Start the connection task (connects, subscribes, reconnects) and the watchdog."""
        for gid, why in sorted(self.bad_addresses.items()):
            _LOGGER.warning("gauge %s on link %s cannot be read: %s", gid, self.link.id, why)
        self._stopping = False
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        await super().start()

    # ------------------------------------------------------------- connection

    def _new_client(self) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2,
                             client_id=f"commandcenter-{self.link.id}-{os.getpid()}-"
                                       f"{next(_COUNTER)}",
                             clean_session=True, protocol=mqtt.MQTTv311)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_socket_register_write
        client.on_socket_unregister_write = self._on_socket_unregister_write
        return client

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self.link.host is not None and self.link.port is not None
        keepalive = max(5, int(self.link.timeout_s * 2))
        while True:
            client = self._new_client()
            self._client = client
            self._lost = loop.create_future()
            try:
                await asyncio.to_thread(client.connect, self.link.host, self.link.port,
                                        keepalive)
            except (OSError, ValueError) as err:
                self._forget(client)
                self.connected = False
                self.errors += 1
                self._link_failed(f"cannot connect to the broker at {self.endpoint}: "
                                  f"{err or type(err).__name__}")
                await self._sleep(self.next_backoff())
                continue
            housekeeping = asyncio.create_task(self._misc(client))
            try:
                reason = await self._lost
            finally:
                housekeeping.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await housekeeping
            self._forget(client)
            self.connected = False
            self.errors += 1
            self._link_failed(reason)
            await self._sleep(self.next_backoff())

    async def _misc(self, client: mqtt.Client) -> None:
        while True:
            await asyncio.sleep(MISC_S)
            client.loop_misc()  # keep-alive ping; a ping left unanswered drops the connection

    def _connection_lost(self, reason: str) -> None:
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(reason)

    def _forget(self, client: mqtt.Client) -> None:
        """Stop watching ``client``'s socket and close it (loop thread)."""
        loop = self._loop
        for fd in list(self._watched):
            if loop is not None:
                loop.remove_reader(fd)
                loop.remove_writer(fd)
        self._watched.clear()
        sock = client.socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.close()

    async def _close(self) -> None:
        self._stopping = True
        client, self._client = self._client, None
        if client is None:
            return
        if client.is_connected():
            client.disconnect()  # queues DISCONNECT; writing it makes paho close the socket
            with contextlib.suppress(OSError):
                client.loop_write()
        self._forget(client)

    # ------------------------------------------------------------- paho's socket callbacks

    def _on_loop(self, fn: Callable[..., None], *args: object) -> None:
        """Run ``fn`` on the loop thread: now if this is it, else as soon as the loop can."""
        if threading.get_ident() == self._loop_thread:
            fn(*args)
        elif self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(fn, *args)

    def _on_socket_open(self, client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        self._on_loop(self._watch_socket, client, sock, True)

    def _on_socket_register_write(self, client: mqtt.Client, _userdata: Any,
                                  sock: Any) -> None:
        self._on_loop(self._watch_socket, client, sock, False)

    def _on_socket_unregister_write(self, client: mqtt.Client, _userdata: Any,
                                    sock: Any) -> None:
        self._on_loop(self._unwatch_socket, client, sock, False)

    def _on_socket_close(self, client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        self._on_loop(self._unwatch_socket, client, sock, True)

    def _watch_socket(self, client: mqtt.Client, sock: Any, reading: bool) -> None:
        loop = self._loop
        current = client.socket()
        if loop is None or client is not self._client or current is None or current is not sock:
            return  # a socket of a client given up meanwhile
        fd = current.fileno()
        if fd < 0:
            return
        r, w = self._watched.get(fd, (False, False))
        if reading and not r:
            loop.add_reader(fd, self._readable, client)
            r = True
        elif not reading and not w:
            loop.add_writer(fd, self._writable, client)
            w = True
        self._watched[fd] = (r, w)

    def _unwatch_socket(self, client: mqtt.Client, sock: Any, reading: bool) -> None:
        loop = self._loop
        if loop is None or client is not self._client:
            return
        fd = sock.fileno()
        if fd not in self._watched:
            return
        r, w = self._watched[fd]
        if reading:  # the socket closes: stop watching it at all
            loop.remove_reader(fd)
            loop.remove_writer(fd)
            del self._watched[fd]
            return
        if w:
            loop.remove_writer(fd)
        self._watched[fd] = (r, False)

    def _readable(self, client: mqtt.Client) -> None:
        # paho parses one packet per loop_read; keep reading while packets keep coming. A
        # read that delivered no message (nothing buffered, or a control packet) ends the
        # turn: the loop calls again while the socket stays readable.
        for _ in range(READ_BUDGET):
            before = self._messages
            if client.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return  # paho has reported the loss through on_disconnect
            if self._messages == before:
                return

    def _writable(self, client: mqtt.Client) -> None:
        client.loop_write()

    # ------------------------------------------------------------- paho's callbacks (loop)

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any,
                    reason_code: Any, _properties: Any) -> None:
        if reason_code.is_failure:
            self._connection_lost(f"broker refused the connection: {reason_code}")
            return
        topics = [(t, self.qos) for t in self._topics]
        if topics:
            client.subscribe(topics)
        self.connected = True
        # The link counts as recovered with the first reading, not with the session alone.
        _LOGGER.debug("link %s: connected to %s", self.link.id, self.endpoint)

    def _on_disconnect(self, client: mqtt.Client, _userdata: Any, _flags: Any,
                       reason_code: Any, _properties: Any) -> None:
        if client is self._client and not self._stopping:
            self._connection_lost(f"connection to the broker lost ({reason_code})")

    def _on_message(self, _client: mqtt.Client, _userdata: Any,
                    msg: mqtt.MQTTMessage) -> None:
        self._messages += 1
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
                self.invalid += 1
                self._reject(gid, f"topic {msg.topic}: {err}")
            return
        for gid in gids:
            self._accept(gid, value)
