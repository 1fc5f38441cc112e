"""Notification: the outbox, acknowledgements, escalation and SMS reply parsing.

Pure and event-sourced like :mod:`commandcenter.core.incidents`. The delivery channels (GSM
modem, webhook, e-mail, PA) live in ``commandcenter.notify`` and use this module as follows:

1. Append the events of an activation (``incident.activated``) and feed every recorded event to
   a :class:`Notifier` (:meth:`Notifier.apply`).
2. Every few seconds, and right after appending a reply, call :meth:`Notifier.tick` and append
   what it returns: the messages to queue (stage 1 first), stages that missed their deadline,
   reminders, the next contacts after a decline, channel fail-overs.
3. A channel takes :meth:`Outbox.due` messages for itself, in that order (key roles first, so
   a slow GSM modem reaches them first), sends each and appends :meth:`Outbox.sent` or
   :meth:`Outbox.failed_to_send`; later :meth:`Outbox.delivered` if the channel reports
   delivery. A failed message is retried on its channel with back-off (:class:`RetryPolicy`),
   then :meth:`Notifier.tick` fails it over to the person's next channel.
4. Replies go through :meth:`Notifier.handle_reply`; an operator who takes an answer by phone
   uses :meth:`Notifier.acknowledge` / :meth:`Notifier.decline` with ``recorded_by``.

A message is queued (an event in the durable log) before it is sent, so after a restart the
outbox rebuilt from the log says exactly what still needs sending, and nothing recorded as
``sent`` is sent again. A crash between handing a message to a channel and recording ``sent``
sends it once more: a responder may get a message twice, never zero times.

Who is counted. A stage needs ``need_acks`` acknowledgements from the people it called — from
any of its roles, or per role where the plan says so (``need_acks: {shift_leader: 1,
field_operator: 1}``: two field operators do not stand in for a silent shift leader). An
acknowledgement counts for the role the person was called for. A stage short at its deadline
calls the next holders of the roles still short, reminds the silent of those roles and tells
its ``escalate_to_roles``. A decline calls the next contact at once (a holder of the same role
first), even while others are still silent: in an emergency one call too many is the safer
error.

Channels. A person's alert goes on their first own channel; the dispatcher copies it to their
other channels. Reminders go on the first channel sent without an operator (never only to the
``phone`` queue). The PA is an area's loudspeaker, not a person's channel: one announcement
per plan started (activation, escalation) where someone the plan calls works within its reach,
worded for a loudspeaker (:class:`MessageKind` ``BROADCAST``). SMS texts are compact to fit one
SMS; richer channels get the full text (:func:`message_text`).

Event types and their payloads (``incident_id`` is set on every one):

``notification.queued``
    ``message_id``, ``person`` (:data:`BROADCAST_PERSON` for a PA announcement), ``name``,
    ``channel``, ``address``, ``channels`` (the person's own channels, preferred first; never
    ``pa``), ``text``, ``kind`` (``alert``, ``escalation``, ``reminder``, ``broadcast``),
    ``plan``, ``stage``, ``priority`` (lower goes first), ``replaces`` (the message this one
    fails over from, or ``None``).
``notification.sent`` / ``notification.delivered``
    ``message_id``, ``ref`` (the channel's own id, if any).
``notification.failed``
    ``message_id``, ``reason``, and ``retry_now`` (``True``: retry at once, not after the
    back-off) when set.
``notification.acknowledged`` / ``notification.declined``
    ``person``, ``channel`` (``phone`` when an operator took the answer), ``recorded_by``
    (the operator, or ``None``), ``message_id``, ``text`` (the reply as received).
``notification.escalated``
    ``plan``, ``stage``, ``reason`` (``timeout`` or ``declined``), ``cycle``, ``acked``
    (acknowledgements that count), ``missing`` (still missing), ``missing_by_role`` (role →
    missing, for stages counting per role), ``notified`` (next contacts called), ``informed``
    (contacts of the stage's ``escalate_to_roles``), ``reminded``, ``deadline``, and for a
    decline ``for_declines`` (the people whose decline these calls answer).
``notification.reminder``
    ``plan``, ``stage``, ``person``, ``count``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from commandcenter.core.events import Event, JsonValue, RecordedEvent, format_ts
from commandcenter.core.incidents import (
    INCIDENT_ACTIVATED,
    INCIDENT_CLOSED,
    INCIDENT_ESCALATED,
    INCIDENT_LOG,
    Contact,
    ShiftSchedule,
    StagePlan,
    is_code_shaped,
    location_words,
    payload_location,
    payload_text,
    resolve_role,
)
from commandcenter.core.signals import Signal
from commandcenter.core.site import Channel, Site
from commandcenter.errors import CommandCenterError

NOTIFICATION_QUEUED = "notification.queued"
NOTIFICATION_SENT = "notification.sent"
NOTIFICATION_DELIVERED = "notification.delivered"
NOTIFICATION_FAILED = "notification.failed"
NOTIFICATION_ACKNOWLEDGED = "notification.acknowledged"
NOTIFICATION_DECLINED = "notification.declined"
NOTIFICATION_ESCALATED = "notification.escalated"
NOTIFICATION_REMINDER = "notification.reminder"

NOTIFIER_SOURCE = "notifier"
"""The ``source`` of the events :meth:`Notifier.tick` produces."""


class NotificationError(CommandCenterError):
    """A notification command cannot be carried out (unknown message, closed incident …)."""


# --------------------------------------------------------------------------- replies


class ReplyKind(StrEnum):
    """What a responder's reply means."""

    ACK = "ack"
    """Coming / received."""
    DECLINE = "decline"
    """Cannot come."""
    UNPARSED = "unparsed"
    """Not understood, or ambiguous: an operator has to read it."""


ACK_WORDS = frozenset({
    "1", "Y", "YES", "YEP", "YEAH", "OK", "OKAY", "COMING", "SURE", "ROGER",
    "是", "是的", "对", "收到", "确认", "好", "好的", "行", "可以", "能", "能来", "能到", "来",
    "到", "马上到", "马上来", "到场", "已到", "已到场", "在路上", "出发", "已出发", "明白",
    "没问题", "了解"})
"""Replies that acknowledge (after NFKC normalisation and upper-casing)."""
DECLINE_WORDS = frozenset({
    "2", "N", "NO", "NOPE",
    "否", "不", "不是", "不能", "不来", "不能来", "不能到", "不能到场", "不到", "不到场", "来不了",
    "到不了", "去不了", "不去", "不行", "不在", "没空", "不方便", "请假", "休假", "出差", "无法",
    "无法到场", "没法", "没法来"})
"""Replies that decline."""
FILLER_WORDS = frozenset({"I", "M", "IM", "AM", "WILL", "BE", "THERE",
                          "我", "了", "啊", "吧", "呢", "哦", "呀", "的", "已经", "马上", "立即",
                          "立刻", "现在", "这就", "就"})
"""Words that neither answer nor make a reply unreadable (``我马上到`` is ``马上到``)."""
_PHRASES = (
    (re.compile(r"\b(?:CAN'?T|CANNOT|CAN NOT|WON'?T|UNABLE)(?: TO)?(?: COME| MAKE IT| ATTEND)?\b"
                r"|\bNOT COMING\b"), " N "),
    (re.compile(r"\bON (?:MY|THE) WAY\b"), " Y "),
)
"""English phrases read as one answer before the reply is split into words."""
_TOKEN = re.compile(r"[A-Z0-9]+|[\u3400-\u9fff]+")
_CJK_WORDS = {w: ReplyKind.ACK for w in ACK_WORDS if not w.isascii()} | \
    {w: ReplyKind.DECLINE for w in DECLINE_WORDS if not w.isascii()}
_LATIN_WORDS = {w: ReplyKind.ACK for w in ACK_WORDS if w.isascii()} | \
    {w: ReplyKind.DECLINE for w in DECLINE_WORDS if w.isascii()}
_LONGEST = max(len(w) for w in (*_CJK_WORDS, *FILLER_WORDS) if not w.isascii())


@dataclass(frozen=True, slots=True)
class Reply:
    """A parsed reply.

    Attributes:
        kind: See :class:`ReplyKind`.
        code: The incident's short code it answers (``None`` when unparsed).
        text: The reply as received.
        reason: Why it could not be read (``None`` unless unparsed).
    """

    kind: ReplyKind
    code: str | None
    text: str
    reason: str | None = None


def _words(run: str) -> list[str] | None:
    """Split a run of Chinese characters into known words (longest first); ``None`` if not."""
    out: list[str] = []
    i = 0
    while i < len(run):
        for n in range(min(_LONGEST, len(run) - i), 0, -1):
            piece = run[i:i + n]
            if piece in _CJK_WORDS or piece in FILLER_WORDS:
                out.append(piece)
                i += n
                break
        else:
            return None
    return out


def _split_glued(tok: str, codes: set[str]) -> tuple[ReplyKind, str] | None:
    """Read an answer glued to a code (``1A7K``, ``A7KY``, ``OKA7K``)."""
    for k in range(1, len(tok)):
        head, tail = tok[:k], tok[k:]
        if head in _LATIN_WORDS and tail in codes:
            return _LATIN_WORDS[head], tail
        if head in codes and tail in _LATIN_WORDS:
            return _LATIN_WORDS[tail], head
    return None


def parse_reply(text: str, open_incident_codes: Iterable[str]) -> Reply:
    """Read a responder's SMS reply.

    Yes (``1 Y OK 是 收到 好的 到 马上到`` …, see :data:`ACK_WORDS`) or no (``2 N NO 否 不能
    不来 来不了`` …, :data:`DECLINE_WORDS`), with or without the incident's short code, in any
    order (``1 A7K``, ``A7K 1``, ``1A7K``, ``2 不来 A7K``); full-width characters, case,
    punctuation and filler words (``我``, ``了``, ``马上`` …) do not matter. Without a code the
    reply answers the only open incident. Anything else — a word it does not know, an unknown
    code, both yes and no, several open incidents and no code — is
    :attr:`ReplyKind.UNPARSED` (an operator reads it), never an acknowledgement.
    """
    codes = {c.upper() for c in open_incident_codes}
    kinds: set[ReplyKind] = set()
    named: set[str] = set()

    def unparsed(reason: str) -> Reply:
        return Reply(ReplyKind.UNPARSED, None, text, reason)

    norm = unicodedata.normalize("NFKC", text).upper().replace("\u2019", "'")
    for pattern, answer in _PHRASES:
        norm = pattern.sub(answer, norm)
    for tok in _TOKEN.findall(norm):
        if tok in _LATIN_WORDS:
            kinds.add(_LATIN_WORDS[tok])
        elif tok in FILLER_WORDS:
            continue
        elif tok in codes:
            named.add(tok)
        elif not tok.isascii():
            words = _words(tok)
            if words is None:
                return unparsed(f"{tok!r} is not an answer")
            kinds.update(_CJK_WORDS[w] for w in words if w in _CJK_WORDS)
        elif (glued := _split_glued(tok, codes)) is not None:
            kinds.add(glued[0])
            named.add(glued[1])
        elif is_code_shaped(tok):
            return unparsed(f"{tok} is not the code of an open incident")
        else:
            return unparsed(f"{tok!r} is not an answer")
    if len(kinds) != 1:
        return unparsed("no answer" if not kinds else "both yes and no")
    if len(named) > 1:
        return unparsed("names several incidents")
    if not named:
        if len(codes) != 1:
            return unparsed("no open incident" if not codes else
                            "several incidents are open; the reply names none")
        named = codes
    return Reply(kinds.pop(), named.pop(), text)


# --------------------------------------------------------------------------- outbox


class MessageKind(StrEnum):
    """Why a message is sent."""

    ALERT = "alert"
    """The stage's call to someone it needs."""
    ESCALATION = "escalation"
    """Telling the stage's ``escalate_to_roles`` that it missed its deadline."""
    REMINDER = "reminder"
    """Reminding someone who has not answered."""
    BROADCAST = "broadcast"
    """A PA/siren announcement to an area (one per activation or escalation, nobody's own)."""


class MessageState(StrEnum):
    """Where a message stands."""

    QUEUED = "queued"
    """Waiting to be sent."""
    SENT = "sent"
    """Handed to the channel; no delivery report yet."""
    DELIVERED = "delivered"
    """The channel reports delivery."""
    RETRY = "retry"
    """Failed; will be sent again on the same channel (see :attr:`Message.retry_at`)."""
    FAILED = "failed"
    """Failed on this channel as often as the retry policy allows."""
    FAILED_OVER = "failed_over"
    """Failed; a copy was queued on the person's next channel."""
    CANCELLED = "cancelled"
    """Not needed any more: the person answered, or the incident closed."""


_PENDING = (MessageState.QUEUED, MessageState.RETRY)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a message is tried on one channel before failing over to the next.

    Attributes:
        attempts: Sends per channel, the first included.
        intervals_s: Wait after the 1st, 2nd … failure before the next send (the last value
            repeats).
    """

    attempts: int = 3
    intervals_s: tuple[float, ...] = (30.0, 120.0)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise NotificationError("a retry policy needs at least one attempt")
        if not self.intervals_s or min(self.intervals_s) < 0:
            raise NotificationError("retry intervals must be given and not negative")

    def retry_at(self, failed_at: datetime, failures: int) -> datetime | None:
        """Return when to send again after the ``failures``-th failure, or ``None`` (give up)."""
        if failures >= self.attempts:
            return None
        wait = self.intervals_s[min(failures, len(self.intervals_s)) - 1]
        return failed_at + timedelta(seconds=wait)


@dataclass(slots=True)
class Message:
    """One message to one person on one channel, as folded from the log.

    Attributes:
        id: Message id (``<incident id>-M<n>``).
        incident_id: The incident it belongs to.
        person: Person id.
        name: Person's name.
        channel: The channel it goes by (a ``Channel`` value).
        address: Phone number (``sms``, ``phone``), e-mail address, or the person id for
            channels that map people to accounts themselves.
        channels: The person's channels, preferred first (for fail-over).
        text: What is sent.
        kind: See :class:`MessageKind`.
        plan: Plan of the stage it belongs to.
        stage: Stage order.
        priority: Lower is sent first (the stage order).
        seq: Log position of its ``queued`` event (ties within a priority go by it).
        queued_at: When it was queued.
        replaces: The message it fails over from.
        state: See :class:`MessageState`.
        failures: Failed sends so far.
        last_error: The reason given for the last failure.
        sent_at: When it was last sent.
        delivered_at: When delivery was reported.
        retry_at: When a failed message is due again.
        ref: The channel's own id for it.
    """

    id: str
    incident_id: str
    person: str
    name: str
    channel: str
    address: str
    channels: tuple[str, ...]
    text: str
    kind: MessageKind
    plan: str
    stage: int
    priority: int
    seq: int
    queued_at: datetime
    replaces: str | None = None
    state: MessageState = MessageState.QUEUED
    failures: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    retry_at: datetime | None = None
    ref: str | None = None

    def next_channel(self) -> str | None:
        """Return the person's channel after this one, if there is one (never the PA)."""
        if self.channel not in self.channels:
            return None
        i = self.channels.index(self.channel)
        return next((c for c in self.channels[i + 1:] if c != Channel.PA), None)


def _order(m: Message) -> tuple[int, int]:
    return (m.priority, m.seq)


class Outbox:
    """Every message queued, with its delivery state, folded from ``notification.*`` events.

    Signals:
        changed(Message): a message was queued or changed state.
    """

    def __init__(self, policy: RetryPolicy | None = None) -> None:
        """Start empty; ``policy`` decides retries (default :class:`RetryPolicy`)."""
        self.policy = policy or RetryPolicy()
        self._messages: dict[str, Message] = {}
        self._last_seq = 0
        self.changed: Signal[[Message]] = Signal("outbox message changed")

    @property
    def messages(self) -> Mapping[str, Message]:
        """Every message by id, in queue order."""
        return self._messages

    def get(self, message_id: str) -> Message:
        """Return a message; raise :class:`NotificationError` if there is none."""
        try:
            return self._messages[message_id]
        except KeyError as err:
            raise NotificationError(f"no message {message_id!r}") from err

    def due(self, now: datetime, channel: str | None = None) -> list[Message]:
        """Return what to send now (on ``channel``, or on any), in sending order."""
        out = [m for m in self._messages.values()
               if (channel is None or m.channel == channel)
               and (m.state == MessageState.QUEUED
                    or (m.state == MessageState.RETRY and m.retry_at is not None
                        and m.retry_at <= now))]
        return sorted(out, key=_order)

    def unsent(self) -> list[Message]:
        """Return messages still to be sent (queued, or failed and waiting for a retry)."""
        return sorted((m for m in self._messages.values() if m.state in _PENDING), key=_order)

    def in_flight(self) -> list[Message]:
        """Return messages sent but not (yet) reported delivered."""
        return sorted((m for m in self._messages.values() if m.state == MessageState.SENT),
                      key=_order)

    def failed(self) -> list[Message]:
        """Return messages that failed on their channel with no retry left and no fail-over."""
        return sorted((m for m in self._messages.values() if m.state == MessageState.FAILED),
                      key=_order)

    def for_incident(self, incident_id: str) -> list[Message]:
        """Return an incident's messages in queue order."""
        return [m for m in self._messages.values() if m.incident_id == incident_id]

    # -- commands for the channels

    def _event(self, etype: str, message_id: str, **extra: JsonValue) -> list[Event]:
        m = self.get(message_id)
        return [Event(type=etype, source=f"notify:{m.channel}",
                      payload={"message_id": message_id, **extra}, incident_id=m.incident_id)]

    def sent(self, message_id: str, ref: str | None = None) -> list[Event]:
        """Record that the channel took the message (``ref``: its own id for it)."""
        return self._event(NOTIFICATION_SENT, message_id, ref=ref)

    def delivered(self, message_id: str, ref: str | None = None) -> list[Event]:
        """Record that the channel reports the message delivered."""
        return self._event(NOTIFICATION_DELIVERED, message_id, ref=ref)

    def failed_to_send(self, message_id: str, reason: str, *,
                       retry_now: bool = False) -> list[Event]:
        """Record that sending (or delivery) failed, and why.

        ``retry_now`` makes the retry due at once instead of after the back-off (a send whose
        outcome is in doubt after a crash: its responder waited long enough).
        """
        extra: dict[str, JsonValue] = {"retry_now": True} if retry_now else {}
        return self._event(NOTIFICATION_FAILED, message_id, reason=reason, **extra)

    # -- folding

    def replay(self, events: Iterable[RecordedEvent]) -> None:
        """Apply events in log order."""
        for ev in events:
            self.apply(ev)

    def apply(self, ev: RecordedEvent) -> None:
        """Fold one recorded event."""
        if ev.seq <= self._last_seq:
            return
        self._last_seq = ev.seq
        p = ev.payload
        if ev.type == NOTIFICATION_QUEUED:
            self._queued(ev)
            return
        if ev.type in (NOTIFICATION_ACKNOWLEDGED, NOTIFICATION_DECLINED, INCIDENT_CLOSED):
            person = p.get("person")  # None for incident.closed: everything pending goes
            for m in self._messages.values():
                if m.incident_id == ev.incident_id and m.state in (*_PENDING,
                                                                   MessageState.FAILED) \
                        and (person is None or m.person == person):
                    m.state = MessageState.CANCELLED
                    self.changed.emit(m)
            return
        if ev.type not in (NOTIFICATION_SENT, NOTIFICATION_DELIVERED, NOTIFICATION_FAILED):
            return
        msg = self._messages.get(str(p["message_id"]))
        if msg is None:
            return
        self._delivery(ev, msg)

    def _delivery(self, ev: RecordedEvent, m: Message) -> None:
        p = ev.payload
        if p.get("ref") is not None:
            m.ref = str(p["ref"])
        if ev.type == NOTIFICATION_SENT:
            m.sent_at = ev.ts
            if m.state in (*_PENDING, MessageState.SENT):
                m.state = MessageState.SENT
        elif ev.type == NOTIFICATION_DELIVERED:
            m.state, m.delivered_at = MessageState.DELIVERED, ev.ts
        else:
            m.failures += 1
            m.last_error = str(p["reason"])
            if m.state in (*_PENDING, MessageState.SENT):
                m.retry_at = self.policy.retry_at(ev.ts, m.failures)
                if m.retry_at is not None and p.get("retry_now"):
                    m.retry_at = ev.ts
                m.state = MessageState.RETRY if m.retry_at else MessageState.FAILED
        self.changed.emit(m)

    def _queued(self, ev: RecordedEvent) -> None:
        p = ev.payload
        mid = str(p["message_id"])
        if mid in self._messages or ev.incident_id is None:
            return
        m = Message(id=mid, incident_id=ev.incident_id, person=str(p["person"]),
                    name=str(p["name"]), channel=str(p["channel"]), address=str(p["address"]),
                    channels=tuple(str(c) for c in p["channels"]), text=str(p["text"]),
                    kind=MessageKind(p["kind"]), plan=str(p["plan"]), stage=int(p["stage"]),
                    priority=int(p["priority"]), seq=ev.seq, queued_at=ev.ts,
                    replaces=None if p.get("replaces") is None else str(p["replaces"]))
        self._messages[mid] = m
        old = self._messages.get(m.replaces or "")
        if old is not None and old.state == MessageState.FAILED:
            old.state = MessageState.FAILED_OVER
            self.changed.emit(old)
        self.changed.emit(m)


# --------------------------------------------------------------------------- escalation


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    """How persistent the notifier is.

    Attributes:
        max_cycles: Deadline misses per stage acted on (each calls the next contacts and
            reminds the silent; the first also tells ``escalate_to_roles``).
        max_reminders: Reminders per person per stage.
        lang: Language of message texts (``"zh"`` or ``"en"``).
    """

    max_cycles: int = 3
    max_reminders: int = 2
    lang: str = "zh"


@dataclass(slots=True)
class StageProgress:
    """How far one notification stage of an incident has got (read model for the screens).

    Attributes:
        spec: The stage as planned at activation (or escalation).
        started_at: When the stage started.
        deadline: When it escalates next unless enough people acknowledged.
        contacted: People called so far, in calling order.
        informed: People told about a missed deadline (``escalate_to_roles``).
        acked: Person id → when they acknowledged.
        declined: Person id → when they declined.
        reminders: Person id → reminders sent.
        cycles: Deadline misses so far.
        superseded: True once the incident was escalated to another plan.
        queued: ``(person, kind)`` pairs with a message queued in this stage.
        replaced: People whose decline has already called a next contact.
    """

    spec: StagePlan
    started_at: datetime
    deadline: datetime
    contacted: list[str] = field(default_factory=list)
    informed: list[Contact] = field(default_factory=list)
    acked: dict[str, datetime] = field(default_factory=dict)
    declined: dict[str, datetime] = field(default_factory=dict)
    reminders: dict[str, int] = field(default_factory=dict)
    cycles: int = 0
    superseded: bool = False
    queued: set[tuple[str, str]] = field(default_factory=set)
    replaced: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str, int]:
        """``(plan, order)``."""
        return (self.spec.plan, self.spec.order)

    def members(self) -> set[str]:
        """Everyone the stage may call or has told."""
        return {c.person for c in self.spec.contacts} | {c.person for c in self.informed}

    def contact(self, person: str) -> Contact:
        """Return how to reach ``person`` in this stage."""
        return next(c for c in (*self.spec.contacts, *self.informed) if c.person == person)

    @property
    def ack_count(self) -> int:
        """Acknowledgements from the stage's own contacts (not from those only informed)."""
        return len({c.person for c in self.spec.contacts} & self.acked.keys())

    @property
    def acks_by_role(self) -> dict[str, int]:
        """Role → acknowledgements from the people called for it (the stage's roles, in order)."""
        out = dict.fromkeys(self.spec.roles, 0)
        for c in self.spec.contacts:
            if c.person in self.acked:
                out[c.role] = out.get(c.role, 0) + 1
        return out

    @property
    def missing_by_role(self) -> dict[str, int]:
        """Role → acknowledgements it still owes (empty when any of the roles count)."""
        have = self.acks_by_role
        return {r: n - have.get(r, 0) for r, n in self.spec.need_by_role.items()
                if have.get(r, 0) < n}

    @property
    def missing(self) -> int:
        """Acknowledgements still needed (per role where the stage counts them per role)."""
        if self.spec.need_by_role:
            return sum(self.missing_by_role.values())
        return max(self.spec.need_acks - self.ack_count, 0)

    @property
    def counted(self) -> int:
        """Acknowledgements that count towards the need (at most ``need_acks``)."""
        return self.spec.need_acks - self.missing

    @property
    def satisfied(self) -> bool:
        """True once every acknowledgement the stage needs came (per role where it says so)."""
        return self.missing == 0

    def short_roles(self) -> set[str] | None:
        """Roles whose holders are still needed; ``None`` when any of the stage's roles count."""
        if not self.spec.need_by_role:
            return None
        return set(self.missing_by_role)

    @property
    def silent(self) -> list[str]:
        """People called who have neither acknowledged nor declined."""
        return [p for p in self.contacted if p not in self.acked and p not in self.declined]

    def next_contacts(self, n: int, prefer_roles: Iterable[str] = (),
                      only_roles: Iterable[str] | None = None) -> list[Contact]:
        """Return up to ``n`` candidates not yet called and not answered, preferred roles first.

        With ``only_roles`` only holders of those roles are candidates.
        """
        if n <= 0:
            return []
        allowed = None if only_roles is None else set(only_roles)
        free = [c for c in self.spec.contacts if c.person not in self.contacted
                and c.person not in self.acked and c.person not in self.declined
                and (allowed is None or c.role in allowed)]
        roles = list(prefer_roles)
        free.sort(key=lambda c: roles.index(c.role) if c.role in roles else len(roles))
        return free[:n]

    def calls_for_missing(self) -> list[Contact]:
        """Return the next contacts that could make up the acknowledgements still missing."""
        if not self.spec.need_by_role:
            return self.next_contacts(self.missing)
        out: list[Contact] = []
        for role, n in self.missing_by_role.items():
            out.extend(self.next_contacts(n, only_roles=[role]))
        return out


@dataclass(frozen=True, slots=True)
class Briefing:
    """What every message of an incident's plan says about it, besides the stage's text.

    Attributes:
        code: The incident's short code.
        level: The plan's level (``"L2"``).
        title: The plan's title, ``{"zh": …, "en": …}``.
        where: Where it happens, ``{"zh": …, "en": …}`` (see :func:`location_words`).
    """

    code: str
    level: str
    title: Mapping[str, str]
    where: Mapping[str, str]


@dataclass(slots=True)
class _Campaign:
    incident_id: str
    code: str
    drill_id: str | None
    where: dict[str, str] = field(default_factory=dict)
    """The incident's place in words (:func:`location_words`), worked out once."""
    stages: list[StageProgress] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)
    plans: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    """Plan id → (level, title) of every plan the incident ran."""
    broadcasts: set[str] = field(default_factory=set)
    """Plans whose PA announcement is queued."""
    messages: int = 0
    closed: bool = False

    def active(self) -> list[StageProgress]:
        return sorted((s for s in self.stages if not s.superseded), key=lambda s: s.spec.order)

    def stage(self, plan: str, order: int) -> StageProgress | None:
        return next((s for s in self.stages if s.key == (plan, order)), None)

    def members(self) -> set[str]:
        out: set[str] = set()
        for st in self.stages:
            out |= st.members()
        return out


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    """What :meth:`Notifier.handle_reply` made of a reply.

    Attributes:
        reply: The parsed reply.
        incident_id: The incident it answers (``None`` when unparsed).
        events: Events to append (the answer, or position-log entries showing an unparsed
            reply to the operators of the person's open incidents).
    """

    reply: Reply
    incident_id: str | None
    events: list[Event]


def _digits(number: str) -> str:
    d = re.sub(r"\D", "", number)
    return d[-11:]


class Notifier:
    """Decides, from the log, which messages to queue and when stages escalate.

    It folds ``incident.*`` and ``notification.*`` events (it owns an :class:`Outbox` fed
    the same events) and answers :meth:`tick` with the events now due. It never reads the
    wall clock: time comes in as ``now``. Run one notifier per site.

    Signals:
        changed(str): the notification state of an incident (by id) changed.
    """

    def __init__(self, site: Site, schedule: ShiftSchedule, *,
                 retry: RetryPolicy | None = None,
                 policy: EscalationPolicy | None = None) -> None:
        """Notify people of ``site``; ``schedule`` says who is on shift for escalations."""
        self.site = site
        self.schedule = schedule
        self.policy = policy or EscalationPolicy()
        self.outbox = Outbox(retry)
        self._campaigns: dict[str, _Campaign] = {}
        self._last_seq = 0
        self.changed: Signal[[str]] = Signal("notification state changed")

    # -- reading

    def stages(self, incident_id: str) -> list[StageProgress]:
        """Return an incident's stages (superseded ones too), in the order they were added."""
        return list(self._campaign(incident_id).stages)

    def open_codes(self) -> dict[str, str]:
        """Return short code → incident id of the incidents still open."""
        return {c.code: c.incident_id for c in self._campaigns.values() if not c.closed}

    def person_for_address(self, address: str) -> str | None:
        """Return the person id whose phone number (any format) or e-mail is ``address``."""
        want = _digits(address)
        for camp in self._campaigns.values():
            for st in camp.stages:
                for c in (*st.spec.contacts, *st.informed):
                    if (want and _digits(c.phone) == want) or c.email == address:
                        return c.person
        return None

    def briefing(self, camp: _Campaign, plan: str) -> Briefing:
        """Return what the messages of ``plan`` in ``camp`` say about the incident."""
        level, title = camp.plans.get(plan, ("", {"zh": plan}))
        return Briefing(camp.code, level, title, camp.where)

    def text_for(self, m: Message, channel: str) -> str:
        """Return the text of ``m`` as it reads on ``channel`` (a copy on another channel)."""
        camp = self._campaign(m.incident_id)
        st = camp.stage(m.plan, m.stage)
        if st is None:
            return m.text
        return message_text(m.kind, self.briefing(camp, m.plan), st, self.policy.lang, channel)

    def is_exhausted(self, stage: StageProgress) -> bool:
        """Return whether ``stage`` is short of acknowledgements with no escalation left."""
        return not stage.satisfied and stage.cycles >= self.policy.max_cycles

    def _campaign(self, incident_id: str) -> _Campaign:
        try:
            return self._campaigns[incident_id]
        except KeyError as err:
            raise NotificationError(f"no incident {incident_id!r} to notify for") from err

    # -- folding

    def replay(self, events: Iterable[RecordedEvent]) -> None:
        """Apply events in log order (start-up)."""
        for ev in events:
            self.apply(ev)

    def apply(self, ev: RecordedEvent) -> None:
        """Fold one recorded event (also into the outbox)."""
        self.outbox.apply(ev)
        if ev.seq <= self._last_seq:
            return
        self._last_seq = ev.seq
        if ev.incident_id is None:
            return
        p = ev.payload
        if ev.type == INCIDENT_ACTIVATED:
            camp = _Campaign(ev.incident_id, str(p["code"]), ev.drill_id,
                             where=location_words(self.site,
                                                  payload_location(p["location"])))
            self._campaigns[camp.incident_id] = camp
            self._add_stages(camp, p, ev.ts, str(p["plan"]), str(p["level"]))
            self.changed.emit(camp.incident_id)
            return
        camp_or_none = self._campaigns.get(ev.incident_id)
        if camp_or_none is None:
            return
        camp = camp_or_none
        if ev.type == INCIDENT_ESCALATED:
            for st in camp.stages:
                st.superseded = True
            camp.answers.clear()
            self._add_stages(camp, p, ev.ts, str(p["to_plan"]), str(p["to_level"]))
        elif ev.type == INCIDENT_CLOSED:
            camp.closed = True
        elif ev.type == NOTIFICATION_QUEUED:
            camp.messages += 1
            if p["kind"] == MessageKind.BROADCAST:
                camp.broadcasts.add(str(p["plan"]))
            stage = camp.stage(str(p["plan"]), int(p["stage"]))
            if stage is not None:
                stage.queued.add((str(p["person"]), str(p["kind"])))
        elif ev.type in (NOTIFICATION_ESCALATED, NOTIFICATION_REMINDER):
            stage = camp.stage(str(p["plan"]), int(p["stage"]))
            if stage is None:
                return
            self._stage_event(ev, stage)
        elif ev.type in (NOTIFICATION_ACKNOWLEDGED, NOTIFICATION_DECLINED):
            person = str(p["person"])
            camp.answers[person] = ev.type
            for st in camp.active():
                if person in st.members():
                    yes, no = (st.acked, st.declined) if ev.type == NOTIFICATION_ACKNOWLEDGED \
                        else (st.declined, st.acked)
                    yes[person] = ev.ts
                    no.pop(person, None)
        else:
            return
        self.changed.emit(camp.incident_id)

    @staticmethod
    def _stage_event(ev: RecordedEvent, st: StageProgress) -> None:
        p = ev.payload
        if ev.type == NOTIFICATION_REMINDER:
            person = str(p["person"])
            st.reminders[person] = st.reminders.get(person, 0) + 1
            return
        st.contacted.extend(str(x) for x in p["notified"])
        st.informed.extend(Contact.from_payload(c) for c in p["informed"])
        st.deadline = datetime.fromisoformat(str(p["deadline"]))
        if p["reason"] == "timeout":
            st.cycles += 1
        elif p["reason"] == "declined":
            answered = p.get("for_declines")
            st.replaced.update(st.declined if answered is None else (str(x) for x in answered))

    @staticmethod
    def _add_stages(camp: _Campaign, p: Mapping[str, JsonValue], at: datetime, plan: str,
                    level: str) -> None:
        camp.plans[plan] = (level, payload_text(p["plan_title"]))
        for data in p["stages"]:
            spec = StagePlan.from_payload(data)
            camp.stages.append(StageProgress(
                spec=spec, started_at=at,
                deadline=at + timedelta(minutes=spec.ack_within_min),
                contacted=[c.person for c in spec.called_first]))

    # -- commands

    def tick(self, now: datetime) -> list[Event]:
        """Return the events due at ``now``; append them, then feed them back via :meth:`apply`.

        In this order, per open incident: messages for people called but not yet messaged
        (stage by stage, so stage 1 is queued first); then for each stage short of
        acknowledgements, either the deadline handling (call the next contacts, tell
        ``escalate_to_roles`` the first time, remind the silent whose last message went out;
        restart the timer) or, after a decline, the next contact (and a restarted timer);
        last, fail-overs of messages that failed on their channel.
        """
        out: list[Event] = []
        for camp in self._campaigns.values():
            if camp.closed:
                continue
            out.extend(_Tick(self, camp, now).run())
        return out

    def acknowledge(self, incident_id: str, person: str, *, channel: str,
                    recorded_by: str | None = None, message_id: str | None = None,
                    text: str | None = None) -> list[Event]:
        """Record that ``person`` is coming (by reply on ``channel``, or taken by an operator).

        An answer taken by phone must say which operator recorded it (``recorded_by``).
        Repeating the person's last answer records nothing.
        """
        return self._answer(NOTIFICATION_ACKNOWLEDGED, incident_id, person, channel=channel,
                            recorded_by=recorded_by, message_id=message_id, text=text)

    def decline(self, incident_id: str, person: str, *, channel: str,
                recorded_by: str | None = None, message_id: str | None = None,
                text: str | None = None) -> list[Event]:
        """Record that ``person`` cannot come; the next contact of their stage is called."""
        return self._answer(NOTIFICATION_DECLINED, incident_id, person, channel=channel,
                            recorded_by=recorded_by, message_id=message_id, text=text)

    def _answer(self, etype: str, incident_id: str, person: str, *, channel: str,
                recorded_by: str | None, message_id: str | None,
                text: str | None) -> list[Event]:
        camp = self._campaign(incident_id)
        if camp.closed:
            raise NotificationError(f"incident {incident_id} is closed")
        if person not in camp.members():
            raise NotificationError(f"{person} was not called for incident {incident_id}")
        if channel not in {c.value for c in Channel}:
            raise NotificationError(f"unknown channel {channel!r}")
        if channel == Channel.PHONE and not recorded_by:
            raise NotificationError("an answer taken by phone needs the operator who took it")
        if camp.answers.get(person) == etype:
            return []
        return [Event(type=etype, source=recorded_by or f"person:{person}",
                      payload={"person": person, "channel": channel,
                               "recorded_by": recorded_by, "message_id": message_id,
                               "text": text},
                      incident_id=incident_id, drill_id=camp.drill_id)]

    def handle_reply(self, person: str, text: str, *, channel: str = Channel.SMS,
                     ) -> ReplyOutcome:
        """Read a reply from ``person`` and return the events it leads to.

        The reply is matched against the open incidents that called the person. One it
        cannot read is put in the position log of each of those incidents, so an operator
        sees it; it never counts as an acknowledgement.
        """
        mine = {c.code: c for c in self._campaigns.values()
                if not c.closed and person in c.members()}
        reply = parse_reply(text, mine)
        if reply.kind == ReplyKind.UNPARSED or reply.code is None:
            events = [Event(type=INCIDENT_LOG, source=f"person:{person}",
                            payload={"text": f"[{channel}] {text}",
                                     "author": f"person:{person}", "kind": "reply"},
                            incident_id=c.incident_id, drill_id=c.drill_id)
                      for c in mine.values()]
            return ReplyOutcome(reply, None, events)
        camp = mine[reply.code]
        answer = self.acknowledge if reply.kind == ReplyKind.ACK else self.decline
        return ReplyOutcome(reply, camp.incident_id,
                            answer(camp.incident_id, person, channel=channel, text=text))


class _Tick:
    """One :meth:`Notifier.tick` for one incident (keeps the message counter in step)."""

    def __init__(self, notifier: Notifier, camp: _Campaign, now: datetime) -> None:
        self.n = notifier
        self.camp = camp
        self.now = now
        self.count = camp.messages
        self.out: list[Event] = []

    def run(self) -> list[Event]:
        camp = self.camp
        for st in camp.active():
            for person in st.contacted:
                if (person, MessageKind.ALERT) not in st.queued \
                        and person not in st.acked and person not in st.declined:
                    self.queue(st, st.contact(person), MessageKind.ALERT)
            for c in st.informed:
                if (c.person, MessageKind.ESCALATION) not in st.queued:
                    self.queue(st, c, MessageKind.ESCALATION)
        self.broadcasts()
        for st in camp.active():
            if st.satisfied:
                continue
            if self.now >= st.deadline and st.cycles < self.n.policy.max_cycles:
                self.timeout(st)
            else:
                self.after_declines(st)
        for m in self.n.outbox.failed():
            if m.incident_id != camp.incident_id or m.kind == MessageKind.BROADCAST:
                continue
            nxt = m.next_channel()
            owner = camp.stage(m.plan, m.stage)
            if nxt is not None and owner is not None:
                self.queue(owner, owner.contact(m.person), m.kind, channel=nxt, replaces=m.id)
        return self.out

    def deadline(self, st: StageProgress) -> str:
        return format_ts(self.now + timedelta(minutes=st.spec.ack_within_min))

    def escalated(self, st: StageProgress, reason: str, notified: list[Contact],
                  informed: list[Contact], reminded: list[str],
                  for_declines: list[str] | None = None) -> None:
        p: dict[str, JsonValue] = {
            "plan": st.spec.plan, "stage": st.spec.order, "reason": reason,
            "cycle": st.cycles + (reason == "timeout"), "acked": st.counted,
            "missing": st.missing, "missing_by_role": dict(st.missing_by_role),
            "notified": [c.person for c in notified],
            "informed": [c.to_payload() for c in informed], "reminded": reminded,
            "deadline": self.deadline(st)}
        if for_declines is not None:
            p["for_declines"] = list(for_declines)
        self.out.append(Event(type=NOTIFICATION_ESCALATED, source=NOTIFIER_SOURCE, payload=p,
                              incident_id=self.camp.incident_id, drill_id=self.camp.drill_id))

    def timeout(self, st: StageProgress) -> None:
        nxt = st.calls_for_missing()
        informed: list[Contact] = []
        if st.cycles == 0:
            have = {*st.contacted, *(c.person for c in (*st.informed, *nxt))}
            for role in st.spec.escalate_to_roles:
                on, off = resolve_role(self.n.site, self.n.schedule, role, self.now)
                for c in on or off[:1]:
                    if c.person not in have:
                        have.add(c.person)
                        informed.append(c)
        # No reminder to someone whose earlier message still waits for a slow channel (an
        # operator's phone call waits for nobody: it is not sent automatically), nor to people
        # of a role that has answered often enough.
        waiting = {m.person for m in self.n.outbox.unsent()
                   if m.incident_id == self.camp.incident_id and m.channel != Channel.PHONE}
        short = st.short_roles()
        reminded = [p for p in st.silent if p not in waiting
                    and st.reminders.get(p, 0) < self.n.policy.max_reminders
                    and (short is None or st.contact(p).role in short)]
        self.escalated(st, "timeout", nxt, informed, reminded)
        for c in nxt:
            self.queue(st, c, MessageKind.ALERT)
        for c in informed:
            self.queue(st, c, MessageKind.ESCALATION)
        for person in reminded:
            count = st.reminders.get(person, 0) + 1
            self.out.append(Event(
                type=NOTIFICATION_REMINDER, source=NOTIFIER_SOURCE,
                payload={"plan": st.spec.plan, "stage": st.spec.order, "person": person,
                         "count": count},
                incident_id=self.camp.incident_id, drill_id=self.camp.drill_id))
            self.queue(st, st.contact(person), MessageKind.REMINDER)

    def after_declines(self, st: StageProgress) -> None:
        """Call one next contact for each decline not yet answered by a call, at once."""
        own = {c.person for c in st.spec.contacts}  # not those only told of a missed deadline
        pending = [p for p in st.declined if p in own and p not in st.replaced]
        if not pending:
            return
        short = st.short_roles()
        calls: list[Contact] = []
        for person in pending:
            role = st.contact(person).role
            if short is None:
                prefer, only = [role], None
            else:
                prefer, only = ([role] if role in short else []), short
            taken = {c.person for c in calls}
            cand = next((c for c in st.next_contacts(len(st.spec.contacts), prefer, only)
                         if c.person not in taken), None)
            if cand is not None:
                calls.append(cand)
        if not calls:
            return
        self.escalated(st, "declined", calls, [], [], for_declines=pending)
        for c in calls:
            self.queue(st, c, MessageKind.ALERT)

    def broadcasts(self) -> None:
        """Queue one PA announcement per plan started (activation or escalation).

        Only where someone the plan calls first works within reach of the PA (has ``pa``
        among their channels); the announcement is an area's, so it goes out once.
        """
        camp = self.camp
        active = camp.active()
        for plan in dict.fromkeys(st.spec.plan for st in active):
            if plan in camp.broadcasts:
                continue
            stages = [st for st in active if st.spec.plan == plan]
            if any(Channel.PA in c.channels for st in stages for c in st.spec.called_first):
                self.count += 1
                st = stages[0]
                self.emit_queued(st, {
                    "person": BROADCAST_PERSON, "name": "PA", "channel": Channel.PA.value,
                    "address": Channel.PA.value, "channels": [Channel.PA.value],
                    "text": message_text(MessageKind.BROADCAST, self.n.briefing(camp, plan), st,
                                         self.n.policy.lang, Channel.PA),
                    "kind": MessageKind.BROADCAST.value, "replaces": None})

    def queue(self, st: StageProgress, c: Contact, kind: MessageKind, *,
              channel: str | None = None, replaces: str | None = None) -> None:
        self.count += 1
        mine = personal_channels(c.channels)
        if channel is None:
            channel = mine[0] if kind != MessageKind.REMINDER else first_automatic(mine)
        if channel in (Channel.SMS, Channel.PHONE):
            address = c.phone
        elif channel == Channel.EMAIL and c.email:
            address = c.email
        else:
            address = c.person
        brief = self.n.briefing(self.camp, st.spec.plan)
        self.emit_queued(st, {
            "person": c.person, "name": c.name, "channel": channel, "address": address,
            "channels": list(mine),
            "text": message_text(kind, brief, st, self.n.policy.lang, channel),
            "kind": kind.value, "replaces": replaces})

    def emit_queued(self, st: StageProgress, fields: dict[str, JsonValue]) -> None:
        payload: dict[str, JsonValue] = {
            "message_id": f"{self.camp.incident_id}-M{self.count:03d}", **fields,
            "plan": st.spec.plan, "stage": st.spec.order, "priority": st.spec.order}
        self.out.append(Event(type=NOTIFICATION_QUEUED, source=NOTIFIER_SOURCE,
                              payload=payload, incident_id=self.camp.incident_id,
                              drill_id=self.camp.drill_id))


# --------------------------------------------------------------------------- texts


BROADCAST_PERSON = "@pa"
"""The ``person`` of a PA announcement (not a roster id: those never start with ``@``)."""
SMS_UNITS = 70
"""Characters of one UCS2 SMS: the compact SMS texts are made to fit in one."""
GSM_SMS_CHARS = 160
"""Characters of one GSM-alphabet SMS (English texts, with the modem's ``charset = auto``)."""


def personal_channels(channels: Iterable[str]) -> tuple[str, ...]:
    """Return a person's own channels, preferred first: PA is an area's, not a person's.

    Someone reachable by nothing else is called by an operator (``phone``).
    """
    mine = tuple(c for c in channels if c != Channel.PA)
    return mine or (Channel.PHONE.value,)


def first_automatic(channels: tuple[str, ...]) -> str:
    """Return the first channel sent without an operator (``phone`` only if it is the only one)."""
    return next((c for c in channels if c != Channel.PHONE), channels[0])


_LEVEL_WORDS = re.compile(r"^(.+?)(?:班组级|车间级|厂级|集团级)")
_PLAN_WORDS = re.compile(r"(?:综合|专项)?(?:应急预案|现场处置方案|处置方案|预案|方案)$")


def short_title(title: Mapping[str, str], lang: str = "zh") -> str:
    """Return a plan's title without its level and tier (``可燃气体泄漏``), for short texts."""
    if lang == "en":
        text = title.get("en") or title.get("zh", "")
        return re.split(r"\s+[-–—]\s+", text, maxsplit=1)[0]
    text = title.get("zh", "")
    m = _LEVEL_WORDS.match(text)
    if m:
        return m.group(1).strip()
    return _PLAN_WORDS.sub("", text).strip() or text


def message_text(kind: MessageKind, brief: Briefing, st: StageProgress, lang: str = "zh",
                 channel: str = Channel.SMS) -> str:
    """Return the text of a message of ``kind`` for stage ``st``, worded for ``channel``.

    SMS get a compact text that fits one SMS (:data:`SMS_UNITS` characters in Chinese,
    :data:`GSM_SMS_CHARS` in English): code, level, the plan's short name, the place and a
    short reply hint (``回1 9B7到 2不能``), with the stage's own message when it still fits.
    Richer channels (chat robots, e-mail, an operator reading it out on the phone) get the full
    plan title, place, the stage's message and how to reply. A PA announcement has no reply
    instructions.
    """
    body = st.spec.message.get(lang) or st.spec.message["zh"]
    if body in brief.title.values():
        body = ""  # a stage without its own message says the plan's title, said already
    if kind == MessageKind.BROADCAST:
        return _broadcast_text(brief, body, lang)
    if channel == Channel.SMS:
        return _sms_text(kind, brief, st, body, lang)
    return _full_text(kind, brief, st, body, lang)


def _sentence(body: str, lang: str) -> str:
    """Return ``body`` ending in a full stop (empty stays empty)."""
    if not body or body.endswith(("。", "！", "？", ".", "!", "?")):
        return body
    return body + ("." if lang == "en" else "。")


def _broadcast_text(b: Briefing, body: str, lang: str) -> str:
    title = b.title.get(lang) or b.title.get("zh", "")
    where = b.where.get(lang) or b.where["zh"]
    if lang == "en":
        return f"Attention all areas: {title} ({b.level}) started at {where}. " \
               f"{_sentence(body, lang)}".rstrip()
    return f"各岗位注意：{title}（{b.level}）已启动，地点{where}。{_sentence(body, lang)}"


def _full_text(kind: MessageKind, b: Briefing, st: StageProgress, body: str,
               lang: str) -> str:
    code = b.code
    title = b.title.get(lang) or b.title.get("zh", "")
    where = b.where.get(lang) or b.where["zh"]
    body = _sentence(body, lang)
    if lang == "en":
        body = f"{body} " if body else ""
        about = f"{b.level} {title} at {where}."
        answer = f'Reply "1 {code}" if you are coming, "2 {code}" if you cannot.'
        if kind == MessageKind.ESCALATION:
            return (f"[{code}] ESCALATION: stage {st.spec.order} has {st.counted} of "
                    f"{st.spec.need_acks} acknowledgements. {about} {body}"
                    f'Reply "1 {code}".')
        if kind == MessageKind.REMINDER:
            return f"[{code}] REMINDER: {about} {body}{answer}"
        return f"[{code}] {about} {body}{answer}"
    about = f"{b.level} {title}，地点：{where}。"
    answer = f"回复“1 {code}”确认到场，“2 {code}”不能到场。"
    if kind == MessageKind.ESCALATION:
        return (f"【{code}】升级通知：第{st.spec.order}批应答不足（{st.counted}/"
                f"{st.spec.need_acks}）。{about}{body}回复“1 {code}”确认收到。")
    if kind == MessageKind.REMINDER:
        return f"【{code}】提醒：{about}{body}{answer}"
    return f"【{code}】{about}{body}{answer}"


def _sms_text(kind: MessageKind, b: Briefing, st: StageProgress, body: str,
              lang: str) -> str:
    code = b.code
    en = lang == "en"
    limit = GSM_SMS_CHARS if en else SMS_UNITS
    short = short_title(b.title, lang)
    wheres = [b.where.get(lang) or b.where["zh"], b.where["short"]]
    if en:
        head = {MessageKind.ESCALATION: f"[{code}] ESCALATION stage {st.spec.order} "
                                        f"{st.counted}/{st.spec.need_acks} acks: ",
                MessageKind.REMINDER: f"[{code}] REMINDER: "}.get(kind, f"[{code}] ")
        hint = (f"Reply 1 {code} if received." if kind == MessageKind.ESCALATION
                else f"Reply 1 {code} coming, 2 cannot.")
        said = _sentence(body, lang)
        candidates = [f"{head}{b.level} {short} at {w}. {extra}{hint}"
                      for w in wheres for extra in (f"{said} " if said else "", "")]
    else:
        head = {MessageKind.ESCALATION: f"【{code}】升级：第{st.spec.order}批应答"
                                        f"{st.counted}/{st.spec.need_acks}，",
                MessageKind.REMINDER: f"【{code}】提醒："}.get(kind, f"【{code}】")
        hint = f"回1 {code}收到" if kind == MessageKind.ESCALATION else f"回1 {code}到 2不能"
        said = _sentence(body, lang)
        candidates = [f"{head}{b.level} {short}：{w}。{extra}{hint}"
                      for w in wheres for extra in (said, "")]
    candidates.sort(key=lambda t: -len(t))  # the richest text that fits
    fitting = [t for t in candidates if len(t) <= limit]
    if fitting:
        return fitting[0]
    text = candidates[-1]  # the shortest: cut the plan's name until it fits
    while len(text) > limit and len(short) > 1:
        cut = short[:-1]
        text = text.replace(short, cut, 1)
        short = cut
    return text
