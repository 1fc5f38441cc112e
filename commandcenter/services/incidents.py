"""The incident service: one-click activation, responder notification and escalation, live.

:class:`IncidentService` (runtime component ``"incidents"``, the
:class:`~commandcenter.services.protocols.IncidentDesk` of the screens) owns the
:class:`~commandcenter.core.incidents.IncidentBook` and the
:class:`~commandcenter.core.notify.Notifier` (with its :class:`~commandcenter.core.notify.Outbox`)
of the site, and the delivery channels of this process.

How it runs, on the runtime's asyncio loop:

- **One order of events.** Every change is an event appended to the durable log first; the
  projections are fed only *recorded* events, strictly in sequence order (a gap — events another
  process or another task of this one recorded in between — is read back from the log first).
  Every ``poll_interval_s`` the log is read for events other processes appended
  (``commandcenter incident activate`` from a shell while ``serve`` or the GUI runs).
- **The ticker**, every ``tick_interval_s`` and right after anything that may need it: it
  appends what :meth:`Notifier.tick` returns (messages to queue, stage 1 first; escalations,
  reminders, PA announcements, fail-overs); queues *copies* of every new alert, escalation
  notice and reminder on the person's other channels that this process can send on
  (``<message id>/<channel>``, worded for that channel: a responder is reached on every channel
  they have, in parallel, so a slow GSM modem or a dead internet link never holds the others
  up; the PA is never a copy's channel); and settles sends another dispatcher left unfinished
  (see crash safety below).
- **One send queue per channel** (``sms`` is the GSM modem, ``wecom`` … the chat robots,
  ``email``, ``pa``). Each takes :meth:`Outbox.due` messages for its channel in order — key
  roles (stage 1) first — one at a time while its channel is up, so the GSM modem's own pacing
  sets the SMS rate and the queues of the other channels run beside it. A chat robot paces its
  posts and takes everyone of a stage due at once with the same text in one post mentioning
  them all (one claim per message, appended together). A message whose channel is not
  configured here (``phone``: an operator calls) stays queued; the copies reach the person
  meanwhile, and an answer taken by phone is recorded with :meth:`record_answer`.
- At start the log says which configured channel serves nobody (no one on the roster lists it)
  and which people list a channel nothing is configured for (:func:`channel_coverage`).
- Delivery reports become ``notification.delivered`` (or ``failed``); inbound SMS go through
  :meth:`Notifier.handle_reply` (``1 A7K`` acknowledges, ``2 A7K`` declines, anything else is
  put in the position log); the ticker runs right after each answer, so a decline calls the
  next contact at once.

Crash safety. Before a message is handed to a channel, the queue appends
``notification.sending`` (a *claim*: message id, attempt, dispatcher); after the channel
answered it appends ``notification.sent`` (accepted) or ``notification.failed`` (failed or
unknown) — the core's retry policy then sends again after a back-off and fails over to the
person's next channel. After a crash (power cut, ``kill -9``) the log therefore says, for every
message, exactly one of: never handed to a channel (sent after the restart), answered by the
channel (never sent again), or **handed over with no answer recorded**. Only the last is in
doubt — at most one send per channel queue, the one on the wire when the process died (one
chat-robot post may carry several people of a stage) — and it is treated like a channel that
gave no answer (``SendResult.UNKNOWN``, a GSM modem silent after Ctrl-Z): recorded as failed
with "outcome unknown" and sent again at once (its responder has waited long enough; no
back-off), so that responder may get that message twice, never zero times. Every other message
reaches its responder exactly once.

Several processes may run the service on one database (the GUI and ``serve``; consoles sharing
PostgreSQL). A message is sent only by the dispatcher whose claim comes first in the log; the
others skip it. A claim left unanswered by a dispatcher that is gone (same host, process no
longer running; or no answer within ``claim_timeout_s``) is settled as in doubt, as above.

Event types added here (``incident_id`` set):

``notification.sending``
    ``message_id``, ``channel``, ``attempt`` (1 for the first send), ``dispatcher``
    (``host:pid:nonce`` of the sending process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import socket
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from commandcenter.core.clock import Clock
from commandcenter.core.events import Event, JsonValue, RecordedEvent, format_ts, record
from commandcenter.core.incidents import (
    INCIDENT_LOG,
    Contact,
    Incident,
    IncidentBook,
    IncidentError,
    ShiftSchedule,
    activate,
    close,
    escalate,
    finish_step,
    log_entry,
    plan_stages,
    resolve_role,
    skip_step,
    start_step,
)
from commandcenter.core.notify import (
    NOTIFICATION_ACKNOWLEDGED,
    NOTIFICATION_DECLINED,
    NOTIFICATION_DELIVERED,
    NOTIFICATION_ESCALATED,
    NOTIFICATION_FAILED,
    NOTIFICATION_QUEUED,
    NOTIFICATION_SENT,
    NOTIFIER_SOURCE,
    EscalationPolicy,
    Message,
    MessageKind,
    MessageState,
    NotificationError,
    Notifier,
    Outbox,
    RetryPolicy,
)
from commandcenter.core.site import Channel, Plan, Site
from commandcenter.errors import CommandCenterError, StorageError
from commandcenter.notify.base import (
    DeliveryChannel,
    DeliveryReport,
    GroupChannel,
    InboundMessage,
    OutgoingMessage,
    SendResult,
    SendStatus,
)
from commandcenter.notify.channels import build_channels
from commandcenter.services.protocols import ActivationPreview

if TYPE_CHECKING:
    from commandcenter.services.runtime import Runtime, Services
    from commandcenter.storage.eventlog import EventLog

_LOGGER = logging.getLogger(__name__)

NOTIFICATION_SENDING = "notification.sending"
"""A dispatcher is handing a message to its channel (the claim; see the module docstring)."""

AUTOMATIC_CHANNELS = frozenset({Channel.SMS, Channel.WECOM, Channel.DINGTALK, Channel.FEISHU,
                                Channel.WEBHOOK, Channel.EMAIL, Channel.PA})
"""Channels a process can send on by itself (``phone`` is an operator calling)."""

_PENDING = (MessageState.QUEUED, MessageState.RETRY)
_LIVE_DISPATCHERS: set[str] = set()
"""Dispatcher ids of the services running in this process."""


# --------------------------------------------------------------------------- ledger


@dataclass(slots=True)
class Claim:
    """The latest ``notification.sending`` of a message: who handed it to a channel, when.

    Attributes:
        message_id: The message.
        attempt: Which send of the message it is (1 first).
        dispatcher: ``host:pid:nonce`` of the sending process.
        seq: Log position of the claim.
        at: When it was recorded.
        settled: True once the channel's answer (``sent``/``failed``/``delivered``) is recorded.
    """

    message_id: str
    attempt: int
    dispatcher: str
    seq: int
    at: datetime
    settled: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    """A responder's last answer in one incident, and how it came in."""

    person: str
    acknowledged: bool
    at: datetime
    channel: str
    recorded_by: str | None
    text: str | None


@dataclass(frozen=True, slots=True)
class StageEscalation:
    """One ``notification.escalated``: a stage that missed its deadline or had a decline."""

    at: datetime
    plan: str
    stage: int
    reason: str
    cycle: int
    missing: int
    notified: tuple[str, ...]
    informed: tuple[str, ...]


@dataclass
class DispatchLedger:
    """What the core projections leave out and the dispatcher and status screens need.

    Attributes:
        claims: Message id → its latest claim.
        sends: Message id → how many times it was handed to a channel.
        answers: Incident id → person id → last answer.
        stage_escalations: Incident id → stage escalations, oldest first.
    """

    claims: dict[str, Claim] = field(default_factory=dict)
    sends: dict[str, int] = field(default_factory=dict)
    answers: dict[str, dict[str, Answer]] = field(default_factory=dict)
    stage_escalations: dict[str, list[StageEscalation]] = field(default_factory=dict)

    def apply(self, ev: RecordedEvent) -> None:
        """Fold one recorded event (the caller feeds them in sequence order)."""
        p = ev.payload
        if ev.type == NOTIFICATION_SENDING:
            mid, attempt = str(p["message_id"]), int(p["attempt"])
            old = self.claims.get(mid)
            if old is not None and old.attempt == attempt and not old.settled:
                return  # a later claim of the same send loses: its dispatcher skips it
            self.claims[mid] = Claim(mid, attempt, str(p["dispatcher"]), ev.seq, ev.ts)
            self.sends[mid] = self.sends.get(mid, 0) + 1
        elif ev.type in (NOTIFICATION_SENT, NOTIFICATION_FAILED, NOTIFICATION_DELIVERED):
            claim = self.claims.get(str(p["message_id"]))
            if claim is not None:
                claim.settled = True
        elif ev.type in (NOTIFICATION_ACKNOWLEDGED, NOTIFICATION_DECLINED) and ev.incident_id:
            self.answers.setdefault(ev.incident_id, {})[str(p["person"])] = Answer(
                person=str(p["person"]), acknowledged=ev.type == NOTIFICATION_ACKNOWLEDGED,
                at=ev.ts, channel=str(p["channel"]),
                recorded_by=None if p.get("recorded_by") is None else str(p["recorded_by"]),
                text=None if p.get("text") is None else str(p["text"]))
        elif ev.type == NOTIFICATION_ESCALATED and ev.incident_id:
            self.stage_escalations.setdefault(ev.incident_id, []).append(StageEscalation(
                at=ev.ts, plan=str(p["plan"]), stage=int(p["stage"]), reason=str(p["reason"]),
                cycle=int(p["cycle"]), missing=int(p["missing"]),
                notified=tuple(str(x) for x in p["notified"]),
                informed=tuple(str(c["person"]) for c in p["informed"])))


class IncidentState:
    """The incident book, the notifier (and outbox) and the dispatch ledger of one site.

    Feed it recorded events strictly in sequence order (:meth:`apply`).
    """

    def __init__(self, site: Site, clock: Clock, schedule: ShiftSchedule, *,
                 retry: RetryPolicy | None = None,
                 policy: EscalationPolicy | None = None) -> None:
        """Start empty."""
        self.site = site
        self.clock = clock
        self.schedule = schedule
        self.book = IncidentBook(clock)
        self.notifier = Notifier(site, schedule, retry=retry, policy=policy)
        self.ledger = DispatchLedger()
        self.last_seq = 0

    @property
    def outbox(self) -> Outbox:
        """The notifier's outbox."""
        return self.notifier.outbox

    def apply(self, ev: RecordedEvent) -> None:
        """Fold one recorded event into every projection."""
        self.book.apply(ev)
        self.notifier.apply(ev)
        self.ledger.apply(ev)
        self.last_seq = max(self.last_seq, ev.seq)

    def replay(self, events: Iterable[RecordedEvent]) -> None:
        """Fold events in log order."""
        for ev in events:
            if ev.seq > self.last_seq:
                self.apply(ev)

    def fresh_notifier(self) -> Notifier:
        """Return an empty notifier with the same site, schedule and policies."""
        return Notifier(self.site, self.schedule, retry=self.outbox.policy,
                        policy=self.notifier.policy)

    def resolve(self, ref: str) -> Incident:
        """Return the incident with id ``ref``, or with short code ``ref`` (open ones first)."""
        if ref in self.book.incidents:
            return self.book.incidents[ref]
        by_code = self.book.by_code(ref) or next(
            (i for i in list(self.book.incidents.values())[::-1] if i.code == ref.upper()), None)
        if by_code is None:
            raise IncidentError(f"no incident {ref!r}")
        return by_code


def provisional(events: Sequence[Event], after_seq: int, now: datetime) -> list[RecordedEvent]:
    """Return ``events`` as if recorded after ``after_seq`` at ``now`` (to plan what follows)."""
    out: list[RecordedEvent] = []
    prev = "0" * 64
    for i, ev in enumerate(events, after_seq + 1):
        rec = record(ev, seq=i, ts=now, prev_hash=prev)
        prev = rec.hash
        out.append(rec)
    return out


def default_commander(site: Site, schedule: ShiftSchedule, plan: Plan, now: datetime) -> str:
    """Return who commands when nobody is named: the on-shift holder of the plan's first role."""
    for assignment in plan.roles:
        on, off = resolve_role(site, schedule, assignment.role, now)
        if on or off:
            return (on or off)[0].person
    raise IncidentError(f"nobody on the roster holds a role of plan {plan.id}; name a commander")


def activation_events(state: IncidentState, plan_id: str, location: str | Sequence[float], *,
                      commander: str | None, by: str, now: datetime,
                      drill_id: str | None = None,
                      copy_channels: Collection[str] = ()) -> list[Event]:
    """Return the activation and the messages it queues, to append together (atomically).

    The messages are planned on an empty notifier that has seen only this activation, so the
    result does not depend on anything else in the log: appended in one transaction, no other
    process can queue them a second time. With ``copy_channels`` (the channels the caller
    sends on) the copies of :func:`copy_events` are included.
    """
    plan = state.site.plans.get(plan_id)
    if plan is None:
        raise IncidentError(f"no plan {plan_id!r} on this site")
    if commander is None:
        commander = default_commander(state.site, state.schedule, plan, now)
    events = activate(state.site, state.book, plan_id, location=location, commander=commander,
                      by=by, now=now, schedule=state.schedule, drill_id=drill_id)
    scratch = state.fresh_notifier()
    scratch.replay(provisional(events, 0, now))
    queued = scratch.tick(now)
    if not copy_channels:
        return [*events, *queued]
    scratch.replay(provisional(queued, len(events), now))
    return [*events, *queued,
            *copy_events(scratch, copy_channels, drill_of=lambda incident_id: drill_id)]


def with_tick(state: IncidentState, events: Sequence[Event], now: datetime) -> list[Event]:
    """Return ``events`` and what the notifier's tick makes of them, to append together.

    For short-lived processes (the CLI): ``state`` is changed as if they were recorded; load
    it again before anything else.
    """
    recs = provisional(events, state.last_seq, now)
    for rec in recs:
        state.notifier.apply(rec)
    return [*events, *state.notifier.tick(now)]


def stage_contact(notifier: Notifier, m: Message) -> Contact | None:
    """Return the contact details the stage of ``m`` recorded for its person."""
    try:
        stages = notifier.stages(m.incident_id)
    except NotificationError:
        return None
    for st in stages:
        if st.key == (m.plan, m.stage):
            with contextlib.suppress(StopIteration):
                return st.contact(m.person)
    return None


def copy_events(notifier: Notifier, channels: Collection[str],
                skip: Callable[[Message], bool] = lambda m: False,
                drill_of: Callable[[str], str | None] = lambda incident_id: None,
                ) -> list[Event]:
    """Return ``notification.queued`` copies of alerts on the person's other ``channels``.

    Every alert, escalation notice and reminder (not fail-overs, not PA announcements) gets one
    copy, with id ``<message id>/<channel>``, on each further channel of the person that is in
    ``channels`` and not yet used for it, worded for that channel (a compact SMS, the full text
    elsewhere); a copy lists only its own channel, so it never fails over. The PA is an area's,
    never a person's: nothing is copied to it. Messages ``skip`` selects (closed incidents,
    people who answered) get none.
    """
    messages = notifier.outbox.messages
    have: set[tuple[str, str, MessageKind, str, int, str]] = {
        (m.incident_id, m.person, m.kind, m.plan, m.stage, m.channel)
        for m in messages.values() if m.state != MessageState.CANCELLED
        and m.kind != MessageKind.REMINDER}
    out: list[Event] = []
    for m in list(messages.values()):
        if m.replaces is not None or m.kind == MessageKind.BROADCAST or "/" in m.id \
                or m.state in (MessageState.CANCELLED, MessageState.FAILED_OVER) or skip(m):
            continue
        contact = None
        for channel in m.channels:
            key = (m.incident_id, m.person, m.kind, m.plan, m.stage, channel)
            copy_id = f"{m.id}/{channel}"
            if channel in (m.channel, Channel.PA) or channel not in channels \
                    or copy_id in messages or key in have:
                continue
            contact = contact or stage_contact(notifier, m)
            address = _address(contact, channel) if contact else None
            if address is None:
                continue
            if m.kind != MessageKind.REMINDER:  # each reminder is copied on its own
                have.add(key)
            out.append(Event(type=NOTIFICATION_QUEUED, source=NOTIFIER_SOURCE, payload={
                "message_id": copy_id, "person": m.person, "name": m.name,
                "channel": channel, "address": address, "channels": [channel],
                "text": notifier.text_for(m, channel), "kind": m.kind.value, "plan": m.plan,
                "stage": m.stage, "priority": m.priority, "replaces": None},
                incident_id=m.incident_id, drill_id=drill_of(m.incident_id)))
    return out


def preview_activation(site: Site, schedule: ShiftSchedule, plan_id: str,
                       location: str | Sequence[float], now: datetime) -> ActivationPreview:
    """Return who would be called first, stage by stage, if ``plan_id`` started at ``now``."""
    plan = site.plans.get(plan_id)
    if plan is None:
        raise IncidentError(f"no plan {plan_id!r} on this site")
    if isinstance(location, str):
        if location not in site.buildings:
            raise IncidentError(f"no building {location!r} on this site")
        where = location
    else:
        if len(location) != 2 or not all(math.isfinite(float(v)) for v in location):
            raise IncidentError("a location is a building id or [lat, lon]")
        where = f"{float(location[0]):.6f},{float(location[1]):.6f}"
    stages = plan_stages(site, plan, schedule, now)
    return ActivationPreview(plan_id=plan.id, level=plan.level.value, location=where,
                             stages=[(s.order, s.called_first) for s in stages],
                             notes=[n for s in stages for n in s.notes])


# --------------------------------------------------------------------------- status


def _ts(value: datetime | None) -> str | None:
    return None if value is None else format_ts(value)


def incident_summary(inc: Incident, now: datetime) -> dict[str, JsonValue]:
    """Return one line of ``incident list``."""
    end = inc.closed_at or now
    return {"id": inc.id, "code": inc.code, "plan": inc.plan,
            "title": dict(inc.plan_title), "level": inc.level.value,
            "location": inc.location if isinstance(inc.location, str) else list(inc.location),
            "commander": inc.commander, "started_at": format_ts(inc.started_at),
            "elapsed_s": round((end - inc.started_at).total_seconds(), 1),
            "closed_at": _ts(inc.closed_at), "drill_id": inc.drill_id}


def _channel_status(messages: list[Message], ledger: DispatchLedger) -> dict[str, JsonValue]:
    out: dict[str, dict[str, JsonValue]] = {}
    for m in messages:
        entry = out.setdefault(m.channel, {"messages": 0, "attempts": 0, "state": None,
                                           "sent_at": None, "delivered_at": None,
                                           "last_error": None})
        handed = m.failures + (m.state in (MessageState.SENT, MessageState.DELIVERED))
        entry["messages"] = int(entry["messages"]) + 1
        entry["attempts"] = int(entry["attempts"]) + max(ledger.sends.get(m.id, 0), handed)
        entry["state"] = m.state.value
        entry["sent_at"] = _ts(m.sent_at) or entry["sent_at"]
        entry["delivered_at"] = _ts(m.delivered_at) or entry["delivered_at"]
        entry["last_error"] = m.last_error or entry["last_error"]
    return dict(out)


def channel_coverage(site: Site, configured: Collection[str],
                     people: Collection[str] | None = None) -> dict[str, JsonValue]:
    """Return which configured channels serve nobody and which listed channels have no sender.

    ``configured``: the channel kinds this process (or the settings) send on. ``unused``:
    configured kinds nobody on the roster lists, so they send nothing. ``unserved``: channel →
    people (of ``people``, default everyone) listing a channel nothing is configured for; they
    are reached on their other channels (``phone`` is an operator's and never counts).
    """
    who = site.people.values() if people is None else \
        [site.people[p] for p in people if p in site.people]
    listed = {ch.value for p in site.people.values() for ch in p.channels}
    unserved: dict[str, JsonValue] = {}
    for person in who:
        for ch in person.channels:
            if ch not in configured and ch != Channel.PHONE:
                ids = unserved.setdefault(ch.value, [])
                assert isinstance(ids, list)
                ids.append(person.id)
    return {"configured": sorted(configured),
            "unused": sorted(k for k in configured if k not in listed),
            "unserved": dict(sorted(unserved.items()))}


def coverage_warnings(coverage: Mapping[str, JsonValue]) -> list[str]:
    """Return :func:`channel_coverage` as sentences for a log or a terminal."""
    unused, unserved = coverage["unused"], coverage["unserved"]
    assert isinstance(unused, list) and isinstance(unserved, Mapping)
    if not coverage["configured"]:
        return ["no delivery channel is configured ([notify] in the settings): notifications "
                "stay queued until a process with a channel runs"]
    out = [f"delivery channel {k} is configured but nobody on the roster lists it: it sends "
           "nothing" for k in unused]
    for ch, ids in unserved.items():
        assert isinstance(ids, list)
        shown = ", ".join(str(i) for i in ids[:8]) + (f" … ({len(ids)} in all)"
                                                    if len(ids) > 8 else "")
        if ch == Channel.PA:
            out.append(f"no PA is configured, but {shown} "
                       f"{'works' if len(ids) == 1 else 'work'} within its reach; their plans' "
                       "announcements stay queued")
            continue
        out.append(f"no {ch} channel is configured, but {shown} "
                   f"{'lists' if len(ids) == 1 else 'list'} it; reached on other channels")
    return out


def incident_status(state: IncidentState, incident_id: str, now: datetime,
                    configured: Collection[str] | None = None) -> dict[str, JsonValue]:
    """Return everything ``incident status`` shows, JSON-ready.

    Plan, level, location, elapsed time, the checklist (with overdue steps), per stage the
    acknowledgements against the need (in all and per role) and the deadline, per person the
    messages per channel (attempts, sent, delivered, errors) and their answer (acknowledged /
    declined / silent, with times), PA announcements, plan escalations and stage escalations,
    and the position log. With ``configured`` (the channel kinds set up to send), ``channels``
    says which of them serve nobody and which channels of this incident's people have no
    sender (:func:`channel_coverage`).
    """
    inc = state.book.get(incident_id)
    stages = state.notifier.stages(inc.id)
    answers = state.ledger.answers.get(inc.id, {})
    by_person: dict[str, list[Message]] = {}
    for m in state.outbox.for_incident(inc.id):
        by_person.setdefault(m.person, []).append(m)
    people: dict[str, dict[str, JsonValue]] = {}

    def add(c: Contact, st_plan: str, order: int, called_as: str) -> None:
        entry = people.get(c.person)
        if entry is None:
            ans = answers.get(c.person)
            msgs = by_person.get(c.person, [])
            entry = people[c.person] = {
                "person": c.person, "name": c.name, "role": c.role, "on_shift": c.on_shift,
                "plan": st_plan, "stage": order, "called_as": called_as,
                "answer": "silent" if ans is None else
                ("acknowledged" if ans.acknowledged else "declined"),
                "answered_at": _ts(ans.at) if ans else None,
                "answered_by_channel": ans.channel if ans else None,
                "recorded_by": ans.recorded_by if ans else None,
                "delivered": any(m.state == MessageState.DELIVERED for m in msgs),
                "channels": _channel_status(msgs, state.ledger),
                "reminders": 0,
            }
        for st in stages:
            if st.key == (st_plan, order):
                entry["reminders"] = int(entry["reminders"]) + st.reminders.get(c.person, 0)

    stage_rows: list[dict[str, JsonValue]] = []
    for st in stages:
        for person in st.contacted:
            add(st.contact(person), st.spec.plan, st.spec.order, "contact")
        for c in st.informed:
            add(c, st.spec.plan, st.spec.order, "informed")
        stage_rows.append({
            "plan": st.spec.plan, "stage": st.spec.order, "roles": list(st.spec.roles),
            "need_acks": st.spec.need_acks, "acks": st.counted,
            "need_by_role": dict(st.spec.need_by_role), "acks_by_role": st.acks_by_role,
            "missing_by_role": st.missing_by_role,
            "satisfied": st.satisfied, "deadline": format_ts(st.deadline),
            "cycles": st.cycles, "superseded": st.superseded,
            "exhausted": state.notifier.is_exhausted(st),
            "contacted": list(st.contacted), "waiting_to_call": [
                c.person for c in st.spec.contacts if c.person not in st.contacted],
            "notes": list(st.spec.notes)})
    end = inc.closed_at or now
    return {
        **incident_summary(inc, now),
        "elapsed": _elapsed(end - inc.started_at),
        "plans": list(inc.plans),
        "activated_by": inc.activated_by,
        "closed_by": inc.closed_by,
        "checklist": [{
            "plan": s.plan, "step": s.id, "title": dict(s.title), "owner": s.owner,
            "state": s.state.value, "target_at": format_ts(s.target_at),
            "overdue": s.is_overdue(now) and not inc.closed, "late": s.late,
            "started_at": _ts(s.started_at), "finished_at": _ts(s.finished_at),
            "by": s.by, "note": s.note} for s in inc.steps],
        "stages": stage_rows,
        "people": list(people.values()),
        "messages": {
            "total": len(state.outbox.for_incident(inc.id)),
            **{k.value: sum(1 for m in state.outbox.for_incident(inc.id) if m.state == k)
               for k in MessageState}},
        "escalations": [{"at": format_ts(e.at), "by": e.by, "from_plan": e.from_plan,
                         "from_level": e.from_level.value, "to_plan": e.to_plan,
                         "to_level": e.to_level.value, "reason": e.reason}
                        for e in inc.escalations],
        "stage_escalations": [{"at": format_ts(e.at), "plan": e.plan, "stage": e.stage,
                               "reason": e.reason, "cycle": e.cycle, "missing": e.missing,
                               "notified": list(e.notified), "informed": list(e.informed)}
                              for e in state.ledger.stage_escalations.get(inc.id, [])],
        "log": [{"at": format_ts(e.at), "author": e.author, "kind": e.kind, "text": e.text}
                for e in inc.log],
        "termination": [dict(t) for t in inc.termination],
        "broadcasts": [{"message_id": m.id, "plan": m.plan, "channel": m.channel,
                        "state": m.state.value, "sent_at": _ts(m.sent_at), "text": m.text,
                        "last_error": m.last_error}
                       for m in state.outbox.for_incident(inc.id)
                       if m.kind == MessageKind.BROADCAST],
        **({} if configured is None else
           {"channels": channel_coverage(state.site, configured, list(people))}),
    }


def _elapsed(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    h, rest = divmod(max(seconds, 0), 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}"


# --------------------------------------------------------------------------- the service


@dataclass(frozen=True, slots=True)
class ChannelState:
    """One delivery channel as the status bar shows it."""

    kind: str
    up: bool
    waiting: int
    """Messages due on it and not yet sent."""


def _dispatcher_gone(dispatcher: str, mine: str) -> bool:
    """Return whether the process behind a dispatcher id is known to have stopped."""
    if dispatcher == mine or dispatcher in _LIVE_DISPATCHERS:
        return False
    host, _, rest = dispatcher.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # an earlier service of this process, since stopped
    if os.name != "posix":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class IncidentService:
    """Incidents and their notifications, live: the ``"incidents"`` runtime component.

    Implements :class:`~commandcenter.services.protocols.IncidentDesk`. See the module
    docstring for how dispatch and crash safety work.

    Attributes:
        site: The site.
        schedule: Who is on shift when.
        state: The projections (book, notifier, outbox, ledger).
        book: All incidents (``state.book``).
        notifier: Stages, acknowledgements, escalation (``state.notifier``).
        outbox: Every message and its delivery state (``state.outbox``).
        dispatcher_id: ``host:pid:nonce`` that this service's claims carry.
    """

    name = "incidents"

    def __init__(self, site: Site, event_log: EventLog, clock: Clock, *,
                 channels: Sequence[DeliveryChannel] = (),
                 schedule: ShiftSchedule | None = None, retry: RetryPolicy | None = None,
                 policy: EscalationPolicy | None = None, tick_interval_s: float = 1.0,
                 poll_interval_s: float = 0.5, claim_timeout_s: float = 300.0,
                 probe_interval_s: float = 30.0,
                 stop_grace_s: float = 5.0) -> None:
        """Set up; nothing runs before :meth:`start`.

        Args:
            site: The loaded site.
            event_log: The durable log everything goes through.
            clock: The one clock (domain time: deadlines, retries).
            channels: Delivery channels, at most one per kind (``sms`` …).
            schedule: Shift schedule (default: the site's time zone, default crews).
            retry: Retry policy per channel (default :class:`RetryPolicy`).
            policy: Escalation policy (default :class:`EscalationPolicy`).
            tick_interval_s: How often the notifier ticks (and idle queues look again).
            poll_interval_s: How often the log is read for other processes' events.
            claim_timeout_s: A send another dispatcher claimed and never answered is taken
                as in doubt after this long (at once when that process is known to be gone).
            probe_interval_s: While a channel is down, send one message this often to see
                whether it works again (retries also go out when due).
            stop_grace_s: On stop, how long sends in progress may take to finish.
        """
        kinds = [c.kind for c in channels]
        dup = sorted({k for k in kinds if kinds.count(k) > 1})
        if dup:
            raise CommandCenterError(f"more than one delivery channel of kind {dup[0]!r}")
        self.site = site
        self.schedule = schedule or ShiftSchedule.for_site(site)
        self.state = IncidentState(site, clock, self.schedule, retry=retry, policy=policy)
        self.book: IncidentBook = self.state.book
        self.notifier: Notifier = self.state.notifier
        self.outbox: Outbox = self.state.outbox
        self.dispatcher_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._log = event_log
        self._clock = clock
        self._channels: dict[str, DeliveryChannel] = {c.kind: c for c in channels}
        self._tick_interval = tick_interval_s
        self._poll_interval = poll_interval_s
        self._claim_timeout = claim_timeout_s
        self._probe_interval = probe_interval_s
        self._last_send: dict[str, datetime] = {}
        self._stop_grace = stop_grace_s
        self._wake: dict[str, asyncio.Event] = {}
        self._tick_wanted: asyncio.Event | None = None
        self._read_lock: asyncio.Lock | None = None
        self._tick_lock: asyncio.Lock | None = None
        self._command_lock: asyncio.Lock | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._background: list[asyncio.Task[None]] = []
        self._stopping = False
        self._running = False
        self._settling: set[tuple[str, int]] = set()
        self._idle_reported = False
        self._storage_down = False

    # -- IncidentDesk

    def preview(self, plan_id: str, location: str | Sequence[float]) -> ActivationPreview:
        """Return who would be notified if ``plan_id`` were activated now at ``location``."""
        return preview_activation(self.site, self.schedule, plan_id, location,
                                  self._clock.now())

    async def activate(self, plan_id: str, location: str | Sequence[float], *,
                       commander: str | None, by: str, drill_id: str | None = None) -> str:
        """Open an incident and queue its notifications (one transaction); return its id."""
        async with self._lock("command"):
            await self.catch_up()
            events = activation_events(self.state, plan_id, location, commander=commander,
                                       by=by, now=self._clock.now(), drill_id=drill_id,
                                       copy_channels=self._channels)
            recs = await self._record(events)
        self._wake_all()
        self._want_tick()
        incident_id = recs[0].incident_id
        assert incident_id is not None
        queued = len(recs) - 1
        _LOGGER.info("incident %s activated (plan %s) by %s; %d messages queued", incident_id,
                     plan_id, by, queued)
        return incident_id

    async def escalate(self, incident_id: str, *, by: str, to_plan: str | None = None,
                       reason: str | None = None) -> None:
        """Escalate to the plan's next level (or ``to_plan``); its stages are called at once."""
        async with self._lock("command"):
            await self.catch_up()
            await self._record(escalate(self.site, self.book, incident_id, by=by,
                                        now=self._clock.now(), schedule=self.schedule,
                                        to_plan=to_plan, reason=reason))
        await self.tick_once()

    async def close(self, incident_id: str, *, by: str, confirmed: Sequence[int],
                    note: str | None = None) -> None:
        """Close, with the indexes (0-based) of the termination conditions confirmed."""
        async with self._lock("command"):
            await self.catch_up()
            await self._record(close(self.book, incident_id, by=by, confirmed=confirmed,
                                     note=note))

    async def log(self, incident_id: str, *, text: str, author: str) -> None:
        """Add a position-log entry."""
        await self._record(log_entry(self.book, incident_id, text=text, author=author))

    async def set_step(self, incident_id: str, plan_id: str, step_id: str, state: str, *,
                       by: str, note: str = "") -> None:
        """Mark a checklist step ``"in_progress"``, ``"done"`` or ``"not_applicable"``."""
        if state == "in_progress":
            events = start_step(self.book, incident_id, plan_id, step_id, by=by,
                                note=note or None)
        elif state == "done":
            events = finish_step(self.book, incident_id, plan_id, step_id, by=by,
                                 note=note or None)
        elif state == "not_applicable":
            events = skip_step(self.book, incident_id, plan_id, step_id, by=by, note=note)
        else:
            raise IncidentError(f"unknown step state {state!r} (in_progress, done, "
                                "not_applicable)")
        await self._record(events)

    async def record_answer(self, incident_id: str, person_id: str, *, recorded_by: str,
                            declined: bool = False) -> None:
        """Record an acknowledgement (or decline) taken by phone; a decline calls the next."""
        answer = self.notifier.decline if declined else self.notifier.acknowledge
        await self._record(answer(incident_id, person_id, channel=Channel.PHONE,
                                  recorded_by=recorded_by))
        await self.tick_once()

    # -- status

    def channel_states(self) -> list[ChannelState]:
        """Return every configured channel: up or not, and how many messages wait for it."""
        now = self._clock.now()
        return [ChannelState(kind, ch.is_up(), len(self.outbox.due(now, kind)))
                for kind, ch in self._channels.items()]

    def coverage(self) -> dict[str, JsonValue]:
        """Return which channels here serve nobody, and who lists one not configured here."""
        return channel_coverage(self.site, self._channels)

    def dispatch_summary(self) -> str:
        """Return one line for the status bar: which channels are up, what waits."""
        if not self._channels:
            waiting = len(self.outbox.unsent())
            return f"no channel configured; {waiting} messages queued" if waiting else \
                "no channel configured"
        states = self.channel_states()
        up = [s.kind for s in states if s.up]
        waiting = sum(s.waiting for s in states)
        text = "no channel up" if not up else "up: " + ", ".join(up)
        unused = self.coverage()["unused"]
        assert isinstance(unused, list)
        if unused:
            text += f"; {', '.join(str(k) for k in unused)} serves nobody"
        return f"{text}; {waiting} messages waiting" if waiting else text

    # -- lifecycle

    async def start(self) -> None:
        """Replay the log, start the channels, the ticker, the log poller and the send queues."""
        self._tick_wanted = asyncio.Event()
        self._stopping = False
        await self.catch_up()
        _LIVE_DISPATCHERS.add(self.dispatcher_id)
        self._running = True
        for kind, ch in self._channels.items():
            await ch.start(self._on_inbound, self._on_report)
            self._wake[kind] = asyncio.Event()
            self._workers.append(asyncio.create_task(self._send_queue(kind, ch),
                                                     name=f"dispatch-{kind}"))
        for line in coverage_warnings(self.coverage()):
            _LOGGER.warning("%s", line)
        self._background = [asyncio.create_task(self._ticker(), name="incident-ticker"),
                            asyncio.create_task(self._poller(), name="incident-log-poller")]
        _LOGGER.info("incident service started: %d incidents (%d open), %d messages unsent, "
                     "channels: %s", len(self.book.incidents), len(self.book.open_incidents()),
                     len(self.outbox.unsent()), ", ".join(self._channels) or "none")

    async def stop(self) -> None:
        """Finish sends in progress (up to ``stop_grace_s``), stop the channels and tasks."""
        if not self._running:
            return
        self._running = False
        self._stopping = True
        self._wake_all()
        if self._workers:
            _done, pending = await asyncio.wait(self._workers, timeout=self._stop_grace)
            for t in pending:
                t.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
        for ch in self._channels.values():
            try:
                await ch.stop()
            except Exception:
                _LOGGER.exception("delivery channel %s failed to stop cleanly", ch.kind)
        for t in self._background:
            t.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._workers, self._background = [], []
        _LIVE_DISPATCHERS.discard(self.dispatcher_id)

    # -- the log

    def _lock(self, which: str) -> asyncio.Lock:
        attr = f"_{which}_lock"
        lock: asyncio.Lock | None = getattr(self, attr)
        if lock is None:
            lock = asyncio.Lock()
            setattr(self, attr, lock)
        return lock

    async def restore(self) -> None:
        """Fold the whole log and nothing else: no channels, no sends, no ticks.

        For views of what the store holds in a process that dispatches nothing.
        """
        await self.catch_up()

    async def catch_up(self) -> None:
        """Read and fold every event recorded after the last one folded (any process)."""
        async with self._lock("read"):
            after = self.state.last_seq
            events = await asyncio.to_thread(lambda: list(self._log.read(after_seq=after)))
            for ev in events:
                if ev.seq == self.state.last_seq + 1:
                    self._apply(ev)

    async def _record(self, events: Sequence[Event]) -> list[RecordedEvent]:
        """Append durably, then fold (in sequence order); return what was recorded."""
        if not events:
            return []
        if len(events) == 1:
            recs = [await self._log.append_async(events[0])]
        else:
            batch = list(events)
            recs = await asyncio.to_thread(self._log.append_many, batch)
        for ev in recs:
            if ev.seq <= self.state.last_seq:
                continue
            if ev.seq != self.state.last_seq + 1:
                await self.catch_up()  # someone recorded events in between: fold them first
                break
            self._apply(ev)
        return recs

    def _apply(self, ev: RecordedEvent) -> None:
        self.state.apply(ev)
        if ev.type in (NOTIFICATION_QUEUED, NOTIFICATION_FAILED):
            m = self.outbox.messages.get(str(ev.payload.get("message_id")))
            wake = self._wake.get(m.channel) if m is not None else None
            if wake is not None:
                wake.set()
        elif ev.type.startswith("incident.") or ev.type in (NOTIFICATION_ACKNOWLEDGED,
                                                            NOTIFICATION_DECLINED):
            self._want_tick()

    def _want_tick(self) -> None:
        if self._tick_wanted is not None:
            self._tick_wanted.set()

    def _wake_all(self) -> None:
        for wake in self._wake.values():
            wake.set()

    # -- ticking

    async def tick_once(self) -> None:
        """Tick the notifier, queue copies on further channels, settle abandoned sends."""
        async with self._lock("tick"):
            now = self._clock.now()
            await self._record(self.notifier.tick(now))
            await self._record(self._copies())
            await self._record(self._settle_abandoned(now))
            self._report_idle()

    async def _ticker(self) -> None:
        assert self._tick_wanted is not None
        while True:
            await _wait(self._tick_wanted, self._tick_interval)
            self._tick_wanted.clear()
            try:
                await self.tick_once()
                self._storage_ok()
            except StorageError as err:
                self._storage_failed(err)
            except Exception:
                _LOGGER.exception("notification tick failed")

    async def _poller(self) -> None:
        while True:
            await asyncio.sleep(self._poll_interval)
            try:
                await self.catch_up()
                self._storage_ok()
            except StorageError as err:
                self._storage_failed(err)

    def _storage_failed(self, err: StorageError) -> None:
        if not self._storage_down:
            _LOGGER.error("incident service cannot use the event log: %s", err)
        self._storage_down = True

    def _storage_ok(self) -> None:
        if self._storage_down:
            _LOGGER.info("incident service: the event log works again")
        self._storage_down = False

    def _report_idle(self) -> None:
        unsent = self.outbox.unsent()
        up = any(ch.is_up() for ch in self._channels.values())
        if unsent and self._channels and not up:
            if not self._idle_reported:
                _LOGGER.warning("no delivery channel is up; %d messages wait", len(unsent))
            self._idle_reported = True
        elif self._idle_reported and (up or not unsent):
            _LOGGER.info("delivery channel up again" if up else "no messages wait any more")
            self._idle_reported = False

    def _copies(self) -> list[Event]:
        """Queue each alert again on the person's other channels that this process serves."""
        if not self._channels:
            return []
        answers = self.state.ledger.answers

        def skip(m: Message) -> bool:
            inc = self.book.incidents.get(m.incident_id)
            return inc is None or inc.closed or m.person in answers.get(m.incident_id, {})

        def drill_of(incident_id: str) -> str | None:
            inc = self.book.incidents.get(incident_id)
            return inc.drill_id if inc else None

        return copy_events(self.notifier, self._channels, skip, drill_of)

    def _contact(self, m: Message) -> Contact | None:
        return stage_contact(self.notifier, m)

    def _settle_abandoned(self, now: datetime) -> list[Event]:
        """Record sends another (stopped) dispatcher never answered for as in doubt."""
        out: list[Event] = []
        for claim in self.state.ledger.claims.values():
            if claim.settled or claim.dispatcher == self.dispatcher_id:
                continue
            m = self.outbox.messages.get(claim.message_id)
            if m is None or m.state not in _PENDING or claim.attempt != m.failures + 1:
                continue
            key = (claim.message_id, claim.attempt)
            if key in self._settling:
                continue
            age = (now - claim.at).total_seconds()
            if not _dispatcher_gone(claim.dispatcher, self.dispatcher_id) \
                    and age < self._claim_timeout:
                continue
            self._settling.add(key)
            _LOGGER.warning("message %s was handed to %s by %s, which stopped before the "
                            "channel answered; sending it again (it may arrive twice)",
                            m.id, m.channel, claim.dispatcher)
            out.extend(self.outbox.failed_to_send(
                m.id, f"outcome unknown: {claim.dispatcher} stopped while sending; it may "
                      "have gone out", retry_now=True))
        return out

    # -- sending

    def _next_due(self, kind: str, exclude: set[str], up: bool,
                  ) -> tuple[Message, Message | None] | None:
        """Return the next message to send on ``kind`` and a copy that already reached them.

        While the channel is down only retries fall due (their back-off paces them), plus one
        message every ``probe_interval_s``: a channel that cannot test itself (a chat robot)
        comes back up only through a send that works.
        """
        now = self._clock.now()
        probe = False
        if not up:
            last = self._last_send.get(kind)
            probe = last is None or (now - last).total_seconds() >= self._probe_interval
        for m in self.outbox.due(now, kind):
            if m.id in exclude or (not up and not probe and m.state != MessageState.RETRY):
                continue
            claim = self.state.ledger.claims.get(m.id)
            if claim is not None and not claim.settled and claim.attempt == m.failures + 1:
                continue  # being sent (here or by another process), or in doubt
            twin = None
            if m.replaces is not None:
                twin = next((o for o in self.outbox.for_incident(m.incident_id)
                             if o.id != m.id and o.person == m.person and o.kind == m.kind
                             and (o.plan, o.stage, o.channel) == (m.plan, m.stage, m.channel)
                             and o.state in (MessageState.SENT, MessageState.DELIVERED)), None)
            return m, twin
        return None

    async def _send_queue(self, kind: str, channel: DeliveryChannel) -> None:
        """Send the due messages of one channel, in order, one at a time."""
        wake = self._wake[kind]
        carry: list[Event] = []
        answered: set[str] = set()
        while True:
            try:
                nxt = None
                if not self._stopping:
                    nxt = self._next_due(kind, answered, channel.is_up())
                if nxt is None:
                    if carry:
                        await self._record(carry)
                        carry, answered = [], set()
                        continue
                    if self._stopping:
                        return
                    wake.clear()
                    await _wait(wake, self._tick_interval)
                    continue
                m, twin = nxt
                if twin is not None:  # the person already has it on this channel
                    carry.extend(self.outbox.sent(m.id, ref=f"as {twin.id}"))
                    answered.add(m.id)
                    continue
                group = [m, *self._mates(channel, m, answered)]
                claims = [Event(type=NOTIFICATION_SENDING, source=f"notify:{kind}", payload={
                    "message_id": x.id, "channel": kind, "attempt": x.failures + 1,
                    "dispatcher": self.dispatcher_id}, incident_id=x.incident_id)
                    for x in group]
                recs = await self._record([*carry, *claims])
                carry, answered = [], set()
                seqs = {str(r.payload["message_id"]): r.seq for r in recs
                        if r.type == NOTIFICATION_SENDING}
                group = [x for x in group if self._claimed_here(x, seqs)]
                if not group:
                    continue  # claimed first by another dispatcher, or answered meanwhile
                self._last_send[kind] = self._clock.now()
                result = await self._send(channel, group)
                carry = [ev for x in group for ev in self._outcome(x, result)]
                answered.update(x.id for x in group)
            except StorageError as err:
                # Keep the channel's answers in ``carry``: they are appended on the next turn.
                self._storage_failed(err)
                await asyncio.sleep(self._tick_interval)
            except Exception:
                _LOGGER.exception("the %s send queue failed; it goes on", kind)
                await asyncio.sleep(self._tick_interval)

    def _claimed_here(self, m: Message, seqs: dict[str, int]) -> bool:
        """Return whether this dispatcher's claim of ``m`` came first and ``m`` still waits."""
        mine = self.state.ledger.claims.get(m.id)
        return mine is not None and mine.seq == seqs.get(m.id) \
            and self.outbox.get(m.id).state in _PENDING

    def _mates(self, channel: DeliveryChannel, m: Message, exclude: set[str]) -> list[Message]:
        """Return messages due on ``channel`` that one post can carry together with ``m``.

        A chat robot takes everyone of a stage with the same text in one post mentioning them
        all (:class:`~commandcenter.notify.base.GroupChannel`). Only first sends group:
        retries and fail-overs go alone.
        """
        size = channel.max_group if isinstance(channel, GroupChannel) else 1
        if size <= 1 or m.replaces is not None or m.state != MessageState.QUEUED:
            return []
        key = (m.incident_id, m.kind, m.plan, m.stage, m.text)
        out: list[Message] = []
        for o in self.outbox.due(self._clock.now(), channel.kind):
            if len(out) >= size - 1:
                break
            if o.id == m.id or o.id in exclude or o.replaces is not None \
                    or o.state != MessageState.QUEUED \
                    or (o.incident_id, o.kind, o.plan, o.stage, o.text) != key:
                continue
            claim = self.state.ledger.claims.get(o.id)
            if claim is not None and not claim.settled and claim.attempt == o.failures + 1:
                continue
            out.append(o)
        return out

    def _outgoing(self, m: Message) -> OutgoingMessage:
        inc = self.book.incidents.get(m.incident_id)
        contact = self._contact(m)
        return OutgoingMessage.from_message(m, inc.code if inc else None,
                                            phone=contact.phone if contact else None)

    async def _send(self, channel: DeliveryChannel, group: list[Message]) -> SendResult:
        """Hand ``group`` to ``channel``: one message on its own, several in one group post."""
        grouped = channel if len(group) > 1 else None
        assert grouped is None or isinstance(grouped, GroupChannel)
        try:
            if grouped is None:
                return await channel.send(self._outgoing(group[0]))
            return await grouped.send_group([self._outgoing(m) for m in group])
        except asyncio.CancelledError:
            raise
        except Exception as err:
            ids = ", ".join(m.id for m in group)
            _LOGGER.exception("channel %s raised while sending %s", channel.kind, ids)
            return SendResult.unknown(f"the {channel.kind} channel failed while sending: {err}")

    def _outcome(self, m: Message, result: SendResult) -> list[Event]:
        if result.status is SendStatus.ACCEPTED:
            return self.outbox.sent(m.id, ref=result.ref)
        if result.status is SendStatus.UNKNOWN:
            _LOGGER.warning("%s on %s: outcome unknown (%s); it will be sent again", m.id,
                            m.channel, result.reason)
            return self.outbox.failed_to_send(m.id, f"outcome unknown: {result.reason}")
        _LOGGER.warning("%s on %s failed: %s", m.id, m.channel, result.reason)
        return self.outbox.failed_to_send(m.id, result.reason or "failed")

    # -- what the channels report

    async def _on_inbound(self, msg: InboundMessage) -> None:
        try:
            person = self.notifier.person_for_address(msg.address)
            if person is None:
                _LOGGER.warning("%s message from %s, who was not called: %r", msg.channel,
                                msg.address, msg.text)
                events = [Event(type=INCIDENT_LOG, source=f"{msg.channel}:{msg.address}",
                                payload={"text": f"[{msg.channel} {msg.address}] {msg.text}",
                                         "author": msg.address, "kind": "reply"},
                                incident_id=inc.id, drill_id=inc.drill_id)
                          for inc in self.book.open_incidents()]
            else:
                events = self.notifier.handle_reply(person, msg.text, channel=msg.channel).events
            await self._record(events)
            await self.tick_once()
        except (NotificationError, IncidentError) as err:
            _LOGGER.warning("reply from %s not recorded: %s", msg.address, err)

    async def _on_report(self, report: DeliveryReport) -> None:
        m = self.outbox.messages.get(report.message_id or "")
        if m is None:
            sent = [x for x in self.outbox.messages.values()
                    if x.channel == report.channel and x.ref == report.ref]
            m = max(sent, key=lambda x: x.sent_at or x.queued_at, default=None)
        if m is None:
            _LOGGER.info("delivery report %s on %s matches no message", report.ref,
                         report.channel)
            return
        if report.delivered:
            if m.state == MessageState.DELIVERED:
                return
            events = self.outbox.delivered(m.id, report.ref)
        else:
            events = self.outbox.failed_to_send(m.id, f"not delivered: {report.detail or ''}"
                                                .strip())
        await self._record(events)


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Wait until ``event`` is set or ``seconds`` pass.

    Not ``asyncio.wait_for``: on Python 3.11 it can swallow a cancellation that arrives as
    the event is set, and a service would then never stop.
    """
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=seconds)
    finally:
        waiter.cancel()


def _address(contact: Contact, channel: str) -> str | None:
    if channel in (Channel.SMS, Channel.PHONE):
        return contact.phone
    if channel == Channel.EMAIL:
        return contact.email
    return contact.person


if TYPE_CHECKING:
    from commandcenter.services.protocols import IncidentDesk

    def _is_a_desk(service: IncidentService) -> IncidentDesk:
        return service  # mypy checks that the service implements the protocol


def create(runtime: Runtime) -> IncidentService:
    """Build the service from the runtime's settings (the ``COMPONENT_FACTORIES`` entry)."""
    svc: Services = runtime.services
    channels = build_channels(svc.settings.notify, svc.clock)
    return IncidentService(svc.site, svc.event_log, svc.clock, channels=list(channels.values()))
