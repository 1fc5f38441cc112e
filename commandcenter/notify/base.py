"""What every delivery channel shares: the message handed in, the answers, health, pacing.

The notification dispatcher takes due messages from :class:`commandcenter.core.notify.Outbox`,
turns each into an :class:`OutgoingMessage` and awaits :meth:`DeliveryChannel.send`. The
:class:`SendResult` maps onto the outbox like this:

- :attr:`SendStatus.ACCEPTED` → ``Outbox.sent(message_id, ref=result.ref)``;
- :attr:`SendStatus.FAILED` → ``Outbox.failed_to_send(message_id, result.reason)``: the message
  did not go out, so the outbox's retry policy sends it again later or fails it over;
- :attr:`SendStatus.UNKNOWN` → also ``Outbox.failed_to_send``: the channel took the message
  but never said whether it went out (a GSM modem silent after Ctrl-Z, a web server that got the
  whole request and never answered). It may have been sent, so the retry may reach the
  responder twice. This is the one at-least-once case; every other result is definite.

Channels report back through the two callbacks given to :meth:`DeliveryChannel.start`:
:class:`InboundMessage` (an SMS reply → ``Notifier.handle_reply`` after
``Notifier.person_for_address``) and :class:`DeliveryReport` (→ ``Outbox.delivered`` or
``Outbox.failed_to_send``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar, runtime_checkable

from commandcenter.core.clock import Clock
from commandcenter.core.notify import Message
from commandcenter.errors import CommandCenterError

_LOGGER = logging.getLogger(__name__)


class ChannelError(CommandCenterError):
    """A delivery channel cannot be set up or used (bad settings, dead port, refused login)."""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message for one person on one channel, as a channel needs it.

    Attributes:
        message_id: The outbox's message id (``<incident id>-M<n>``).
        person: Person id.
        channel: The channel it goes by (a ``Channel`` value).
        address: Phone number (``sms``, ``phone``), e-mail address, or the person id for
            channels that reach a group (chat robots, PA).
        text: What is sent.
        incident_code: The incident's short code responders quote in replies (``None`` outside
            an incident).
        priority: Lower goes first where a channel queues (the stage order: key roles first).
        name: The person's name (e-mail ``To`` display name, chat mentions).
        phone: The person's mobile number, for @-mentions in chat groups (``None``: no mention).
        incident_id: The incident it belongs to.
    """

    message_id: str
    person: str
    channel: str
    address: str
    text: str
    incident_code: str | None = None
    priority: int = 0
    name: str = ""
    phone: str | None = None
    incident_id: str | None = None

    @classmethod
    def from_message(cls, m: Message, incident_code: str | None = None, *,
                     phone: str | None = None) -> OutgoingMessage:
        """Build one from an outbox :class:`~commandcenter.core.notify.Message`.

        Args:
            m: The queued message.
            incident_code: Its incident's short code (``Notifier.open_codes`` maps codes to
                incident ids).
            phone: The person's mobile for chat mentions; for ``sms`` and ``phone`` messages
                the address is used when this is not given.
        """
        if phone is None and m.channel in ("sms", "phone"):
            phone = m.address
        return cls(message_id=m.id, person=m.person, channel=m.channel, address=m.address,
                   text=m.text, incident_code=incident_code, priority=m.priority, name=m.name,
                   phone=phone, incident_id=m.incident_id)


class SendStatus(StrEnum):
    """How a send ended."""

    ACCEPTED = "accepted"
    """The channel took the message (SMSC accepted it, server answered 2xx/250 …)."""
    FAILED = "failed"
    """Definitely not sent; :attr:`SendResult.reason` says why."""
    UNKNOWN = "unknown"
    """Handed over, but the channel never answered: it may or may not have gone out."""


@dataclass(frozen=True, slots=True)
class SendResult:
    """The answer of :meth:`DeliveryChannel.send`.

    Attributes:
        status: See :class:`SendStatus`.
        ref: The channel's own id for the message (the modem's message reference(s), the
            e-mail ``Message-ID`` …); delivery reports carry the same string.
        reason: Why it failed or is unknown, in words an operator can act on.
    """

    status: SendStatus
    ref: str | None = None
    reason: str | None = None

    @classmethod
    def accepted(cls, ref: str | None = None) -> SendResult:
        """Return an accepted result with the channel's reference."""
        return cls(SendStatus.ACCEPTED, ref=ref)

    @classmethod
    def failed(cls, reason: str) -> SendResult:
        """Return a definite failure."""
        return cls(SendStatus.FAILED, reason=reason)

    @classmethod
    def unknown(cls, reason: str) -> SendResult:
        """Return an outcome the channel never told (the at-least-once case)."""
        return cls(SendStatus.UNKNOWN, reason=reason)

    @property
    def ok(self) -> bool:
        """True when accepted."""
        return self.status is SendStatus.ACCEPTED


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message a responder sent us (an SMS reply).

    Attributes:
        channel: The channel it came by (a ``Channel`` value).
        address: Sender's address (phone number as the network gave it, e.g. ``+86138…``).
        text: The text, decoded.
        received_at: When the channel received it (the SMSC timestamp when the modem gives one,
            else when we read it).
    """

    channel: str
    address: str
    text: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """The network's word on a message accepted earlier.

    Attributes:
        channel: The channel that sent it.
        ref: The :attr:`SendResult.ref` of the send.
        delivered: True when delivered, False when the network gave up.
        at: When it was delivered or given up (from the report when it says, else when read).
        message_id: The message id when the channel still knows which send ``ref`` belongs
            to (always within one run; ``None`` after a restart, since modem references
            repeat every 256 messages).
        detail: What the network said (e.g. ``status 0x41: incompatible destination``).
    """

    channel: str
    ref: str
    delivered: bool
    at: datetime
    message_id: str | None = None
    detail: str | None = None


InboundHandler = Callable[[InboundMessage], Awaitable[None] | None]
"""Called with each inbound message; may be a coroutine function."""
ReportHandler = Callable[[DeliveryReport], Awaitable[None] | None]
"""Called with each delivery report; may be a coroutine function."""


@runtime_checkable
class DeliveryChannel(Protocol):
    """A way to reach responders: GSM modem, chat robot, e-mail, PA.

    A channel is started once, sends any number of messages (concurrent calls are fine: the
    channel queues or serialises them itself), and is stopped once. ``send`` never raises for
    a failure of the peer; it answers with a :class:`SendResult`.
    """

    @property
    def kind(self) -> str:
        """The ``Channel`` value this channel serves (``sms``, ``wecom`` …)."""
        ...

    def is_up(self) -> bool:
        """Return whether the channel can send now, as far as it knows."""
        ...

    async def send(self, msg: OutgoingMessage) -> SendResult:
        """Send one message and return how it went."""
        ...

    async def start(self, on_inbound: InboundHandler | None = None,
                    on_report: ReportHandler | None = None) -> None:
        """Connect (a first attempt; a dead peer does not raise) and start listening."""
        ...

    async def stop(self) -> None:
        """Stop listening, fail what is still queued, release the port or connection."""
        ...


@runtime_checkable
class GroupChannel(Protocol):
    """A channel that can take one post for several people with the same text (chat robots).

    Attributes:
        max_group: Most messages one :meth:`send_group` takes (1: it cannot group).
    """

    max_group: int

    async def send_group(self, msgs: Sequence[OutgoingMessage]) -> SendResult:
        """Send one post for every message in ``msgs``; its result answers for each."""
        ...


_T = TypeVar("_T")


async def call_handler(handler: Callable[[_T], Awaitable[None] | None] | None, arg: _T) -> None:
    """Call ``handler(arg)`` and await the result when it is awaitable."""
    if handler is None:
        return
    res = handler(arg)
    if inspect.isawaitable(res):
        await res


class Health:
    """Up/down state of one channel; logs once when it goes down and once when it comes back.

    Attributes:
        name: How the channel is named in log lines (``GSM modem /dev/ttyUSB2``).
        up: Current state (starts down: nothing is known before the first contact).
        reason: Why it is down (``None`` when up).
    """

    def __init__(self, name: str, logger: logging.Logger | None = None,
                 on_change: Callable[[bool], None] | None = None) -> None:
        """Track ``name``; ``on_change(up)`` is called on every change of state."""
        self.name = name
        self.up = False
        self.reason: str | None = "not started"
        self._logger = logger or _LOGGER
        self._known = False
        self._on_change = on_change

    def mark_up(self) -> None:
        """Record a successful contact."""
        if self.up:
            return
        if self._known:
            self._logger.info("%s is back up", self.name)
        else:
            self._logger.info("%s is up", self.name)
        self.up, self.reason, self._known = True, None, True
        if self._on_change is not None:
            self._on_change(True)

    def mark_down(self, reason: str) -> None:
        """Record a failure (logged at WARNING the first time only)."""
        if not self.up and self._known:
            self.reason = reason
            return
        self._logger.warning("%s is down: %s", self.name, reason)
        self.up, self.reason, self._known = False, reason, True
        if self._on_change is not None:
            self._on_change(False)


class Pacer:
    """Spaces events at least ``60 / per_minute`` seconds apart (a modem's real SMS rate).

    Time comes from an injected clock and sleep function, so tests run it on a scripted clock.
    """

    def __init__(self, per_minute: float, clock: Clock,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Allow ``per_minute`` events per minute."""
        if per_minute <= 0:
            raise ChannelError("a send rate must be positive")
        self.interval = 60.0 / per_minute
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None

    async def wait(self) -> float:
        """Take the next free slot, wait for it and return its time (clock's monotonic s).

        Safe for concurrent callers: each reserves its own slot before sleeping.
        """
        now = self._clock.monotonic()
        slot = now if self._next is None else max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await self._sleep(slot - now)
        return slot
