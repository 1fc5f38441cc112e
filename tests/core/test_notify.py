"""Notification: outbox order and durability, retries and fail-over, acks, escalation, replies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commandcenter.core.clock import ScriptedClock
from commandcenter.core.events import Event, RecordedEvent
from commandcenter.core.incidents import (
    IncidentBook,
    ShiftSchedule,
    activate,
    close,
    escalate,
)
from commandcenter.core.notify import (
    ACK_WORDS,
    BROADCAST_PERSON,
    DECLINE_WORDS,
    NOTIFICATION_ESCALATED,
    NOTIFICATION_QUEUED,
    NOTIFICATION_REMINDER,
    EscalationPolicy,
    MessageKind,
    MessageState,
    NotificationError,
    Notifier,
    Outbox,
    ReplyKind,
    RetryPolicy,
    message_text,
    parse_reply,
)

from .test_incidents import DAY, NIGHT, ROSTER, Log, make_site


@dataclass
class Env:
    clock: ScriptedClock
    notifier: Notifier
    book: IncidentBook
    log: Log
    schedule: ShiftSchedule

    @property
    def outbox(self) -> Outbox:
        return self.notifier.outbox

    def start(self, plan: str = "P-L1", drill_id: str | None = None) -> str:
        """One-click activation: the incident event, then the notifier's first tick."""
        (rec,) = self.log.append(activate(
            self.notifier.site, self.book, plan, location="U-210", commander="dir-1",
            by="operator:zhang", now=self.clock.now(), schedule=self.schedule,
            drill_id=drill_id))
        self.tick()
        assert rec.incident_id is not None
        return rec.incident_id

    def tick(self) -> list[RecordedEvent]:
        return self.log.append(self.notifier.tick(self.clock.now()))

    def at(self, seconds: float) -> list[RecordedEvent]:
        """Advance to ``seconds`` after the start of the test and tick."""
        self.clock.advance(seconds - (self.clock.now() - self.t0).total_seconds())
        return self.tick()

    @property
    def t0(self) -> datetime:
        return self.book.incidents[next(iter(self.book.incidents))].started_at \
            if self.book.incidents else self.clock.now()

    def send(self, channel: str | None = None) -> list[str]:
        """Hand every due message to its channel successfully; return their ids."""
        ids = [m.id for m in self.outbox.due(self.clock.now(), channel)]
        for mid in ids:
            self.log.append(self.outbox.sent(mid))
        return ids

    def code(self, incident_id: str) -> str:
        return self.book.get(incident_id).code


def _env(start: datetime, **kw: Any) -> Env:
    clock = ScriptedClock(start.astimezone(UTC))
    site = make_site()
    schedule = ShiftSchedule.for_site(site)
    notifier = Notifier(site, schedule, **kw)
    book = IncidentBook(clock)
    return Env(clock, notifier, book, Log(clock, book, notifier), schedule)


@pytest.fixture
def env() -> Env:
    return _env(DAY)


def _types(events: list[RecordedEvent]) -> list[str]:
    return [e.type for e in events]


def _queued(events: list[RecordedEvent]) -> list[tuple[str, str, str]]:
    return [(e.payload["person"], e.payload["channel"], e.payload["kind"])
            for e in events if e.type == NOTIFICATION_QUEUED]


def _stage(env: Env, incident_id: str, order: int, plan: str = "P-L1") -> Any:
    return next(s for s in env.notifier.stages(incident_id) if s.key == (plan, order))


# --------------------------------------------------------------------------- replies


@pytest.mark.parametrize(("text", "codes", "kind", "code"), [
    ("1", ["A7K"], ReplyKind.ACK, "A7K"),
    ("Y", ["A7K"], ReplyKind.ACK, "A7K"),
    ("y", ["A7K"], ReplyKind.ACK, "A7K"),
    (" yes! ", ["A7K"], ReplyKind.ACK, "A7K"),
    ("是", ["A7K"], ReplyKind.ACK, "A7K"),
    ("收到", ["A7K"], ReplyKind.ACK, "A7K"),
    ("收到。", ["A7K"], ReplyKind.ACK, "A7K"),
    ("１", ["A7K"], ReplyKind.ACK, "A7K"),             # full-width digit
    ("1 A7K", ["A7K", "B8M"], ReplyKind.ACK, "A7K"),
    ("A7K 1", ["A7K", "B8M"], ReplyKind.ACK, "A7K"),
    ("a7k,1", ["A7K", "B8M"], ReplyKind.ACK, "A7K"),
    ("1A7K", ["A7K", "B8M"], ReplyKind.ACK, "A7K"),
    ("B8MY", ["A7K", "B8M"], ReplyKind.ACK, "B8M"),
    ("收到A7K", ["A7K", "B8M"], ReplyKind.ACK, "A7K"),
    ("Ａ７Ｋ　１", ["A7K", "B8M"], ReplyKind.ACK, "A7K"),  # full-width code and space
    ("1 1", ["A7K"], ReplyKind.ACK, "A7K"),
    ("2", ["A7K"], ReplyKind.DECLINE, "A7K"),
    ("N", ["A7K"], ReplyKind.DECLINE, "A7K"),
    ("no", ["A7K"], ReplyKind.DECLINE, "A7K"),
    ("否", ["A7K"], ReplyKind.DECLINE, "A7K"),
    ("不能", ["A7K"], ReplyKind.DECLINE, "A7K"),
    ("2 B8M", ["A7K", "B8M"], ReplyKind.DECLINE, "B8M"),
    ("2B8M", ["A7K", "B8M"], ReplyKind.DECLINE, "B8M"),
    ("B8M N", ["A7K", "B8M"], ReplyKind.DECLINE, "B8M"),
    # tolerant: more words, any order, filler words, full-width characters
    ("2 不来 9B7", ["9B7", "A7K"], ReplyKind.DECLINE, "9B7"),
    ("1 9B7 到", ["9B7", "A7K"], ReplyKind.ACK, "9B7"),
    ("9B7到", ["9B7", "A7K"], ReplyKind.ACK, "9B7"),
    ("好的", ["9B7"], ReplyKind.ACK, "9B7"),
    ("好的，马上到", ["9B7"], ReplyKind.ACK, "9B7"),
    ("我马上到", ["9B7"], ReplyKind.ACK, "9B7"),
    ("收到，在路上", ["9B7"], ReplyKind.ACK, "9B7"),
    ("ok", ["9B7"], ReplyKind.ACK, "9B7"),
    ("OK 9B7", ["9B7", "A7K"], ReplyKind.ACK, "9B7"),
    ("ok9b7", ["9B7", "A7K"], ReplyKind.ACK, "9B7"),
    ("Okay, on my way", ["9B7"], ReplyKind.ACK, "9B7"),
    ("I'm coming 9B7", ["9B7", "A7K"], ReplyKind.ACK, "9B7"),
    ("１　９Ｂ７　到", ["9B7", "A7K"], ReplyKind.ACK, "9B7"),  # full-width digits and space
    ("２", ["9B7"], ReplyKind.DECLINE, "9B7"),
    ("9B7 来不了", ["9B7", "A7K"], ReplyKind.DECLINE, "9B7"),
    ("不能到场", ["9B7"], ReplyKind.DECLINE, "9B7"),
    ("在外地出差，到不了", ["9B7"], ReplyKind.UNPARSED, None),  # 在外地: not known
    ("出差，到不了", ["9B7"], ReplyKind.DECLINE, "9B7"),
    ("can't come", ["9B7"], ReplyKind.DECLINE, "9B7"),
    ("cannot 9B7", ["9B7", "A7K"], ReplyKind.DECLINE, "9B7"),
    ("not coming", ["9B7"], ReplyKind.DECLINE, "9B7"),
    ("nope", ["9B7"], ReplyKind.DECLINE, "9B7"),
])
def test_replies_that_answer(text: str, codes: list[str], kind: ReplyKind,
                             code: str | None) -> None:
    reply = parse_reply(text, codes)
    assert (reply.kind, reply.code, reply.text) == (kind, code, text)
    assert (reply.reason is None) == (kind != ReplyKind.UNPARSED)


@pytest.mark.parametrize(("text", "codes", "reason"), [
    ("", ["A7K"], "no answer"),
    ("A7K", ["A7K"], "no answer"),
    ("1 2", ["A7K"], "both yes and no"),
    ("Y N", ["A7K"], "both yes and no"),
    ("1", [], "no open incident"),
    ("1", ["A7K", "B8M"], "several incidents are open"),
    ("1 A7K B8M", ["A7K", "B8M"], "names several incidents"),
    ("1 Z9Z", ["A7K"], "Z9Z is not the code of an open incident"),
    ("嗯", ["A7K"], "'嗯' is not an answer"),
    ("马上", ["A7K"], "no answer"),
    ("11", ["A7K"], "'11' is not an answer"),
    ("3", ["A7K"], "'3' is not an answer"),
    ("OKK", ["A7K"], "'OKK' is not an answer"),
    ("1 在家", ["A7K"], "'在家' is not an answer"),
    ("正在处理另一起，不能", ["A7K"], "'正在处理另一起' is not an answer"),
    ("收到但来不了", ["A7K"], "'收到但来不了' is not an answer"),
    ("好的，不能来", ["A7K"], "both yes and no"),
    ("到 不能", ["A7K"], "both yes and no"),
    ("not", ["A7K"], "'NOT' is not an answer"),
    ("ok", ["A7K", "B8M"], "several incidents are open"),  # bare yes, two open: ambiguous
    ("好的", ["A7K", "B8M"], "several incidents are open"),
    ("OK A7K B8M", ["A7K", "B8M"], "names several incidents"),
])
def test_replies_that_are_not_understood_never_count(text: str, codes: list[str],
                                                     reason: str) -> None:
    reply = parse_reply(text, codes)
    assert reply.kind == ReplyKind.UNPARSED and reply.code is None and reply.text == text
    assert reply.reason is not None and reason in reply.reason


_WORDS = [*sorted(ACK_WORDS | DECLINE_WORDS), "A7K", "B8M", "Z9Z", "嗯", "在家", "3"]


@given(tokens=st.lists(st.sampled_from(_WORDS), max_size=4),
       seps=st.lists(st.sampled_from([" ", ",", "，", "。", "  "]), min_size=4, max_size=4),
       codes=st.sampled_from([[], ["A7K"], ["A7K", "B8M"]]))
def test_a_reply_counts_only_when_every_word_is_understood(
        tokens: list[str], seps: list[str], codes: list[str]) -> None:
    text = "".join(t + s for t, s in zip(tokens, seps, strict=False))
    reply = parse_reply(text, codes)
    answers = {t in ACK_WORDS for t in tokens if t in ACK_WORDS | DECLINE_WORDS}
    named = {t for t in tokens if t in codes}
    understood = all(t in ACK_WORDS | DECLINE_WORDS or t in codes for t in tokens)
    clear = understood and len(answers) == 1 and (len(named) == 1 or
                                                   (not named and len(codes) == 1))
    if not clear:
        assert reply.kind == ReplyKind.UNPARSED
        return
    assert reply.kind == (ReplyKind.ACK if answers == {True} else ReplyKind.DECLINE)
    assert reply.code == (named or set(codes)).pop()


# --------------------------------------------------------------------------- outbox


def test_activation_queues_stage_one_first_on_each_persons_preferred_channel(env: Env) -> None:
    iid = env.start()
    code = env.code(iid)
    queued = [e for e in env.log.events if e.type == NOTIFICATION_QUEUED]
    assert [(e.payload["person"], e.payload["channel"], e.payload["stage"]) for e in queued] == [
        ("sl-a", "sms", 1), ("fo-a1", "sms", 1), ("fo-a2", "wecom", 1), ("fire-d", "sms", 1),
        ("dir-1", "sms", 2), ("dir-2", "sms", 2), ("fire-a", "sms", 3)]
    first = env.outbox.get(f"{iid}-M001")
    assert (first.person, first.address, first.kind, first.priority) == \
        ("sl-a", "+86 138 0000 0000", MessageKind.ALERT, 1)
    # SMS: one compact SMS; richer channels: the whole plan title, place and how to reply
    assert first.text == \
        f"【{code}】L1 P-L1：加氢装置(U-210)。一级报警，请到现场。回1 {code}到 2不能"
    assert env.outbox.get(f"{iid}-M003").address == "fo-a2"  # WeCom maps people itself
    assert env.outbox.get(f"{iid}-M003").text == (
        f"【{code}】L1 P-L1 方案，地点：加氢装置(U-210)。一级报警，请到现场。"
        f"回复“1 {code}”确认到场，“2 {code}”不能到场。")
    assert [m.person for m in env.outbox.due(env.clock.now(), "sms")] == \
        ["sl-a", "fo-a1", "fire-d", "dir-1", "dir-2", "fire-a"]
    assert [m.person for m in env.outbox.due(env.clock.now(), "wecom")] == ["fo-a2"]
    assert env.notifier.open_codes() == {code: iid}
    assert env.tick() == []  # once applied, nothing is queued twice


def test_a_later_escalation_notice_jumps_ahead_of_unsent_later_stages(env: Env) -> None:
    env.start()
    env.send("wecom")
    first = env.outbox.due(env.clock.now(), "sms")[0]
    assert first.person == "sl-a"
    env.log.append(env.outbox.sent(first.id))
    env.at(120)  # stage 1 missed its deadline: its notices have stage 1's priority
    order = [(m.person, m.kind.value) for m in env.outbox.due(env.clock.now(), "sms")]
    assert order == [
        ("fo-a1", "alert"), ("fire-d", "alert"),          # stage 1, still waiting
        ("fo-c1", "alert"), ("dir-1", "escalation"), ("dir-2", "escalation"),
        ("sl-a", "reminder"),                             # only those whose alert went out
        ("dir-1", "alert"), ("dir-2", "alert"),           # stage 2
        ("fire-a", "alert")]                              # stage 3
    # fo-a2's alert went out on WeCom, the first of their channels: so does the reminder
    assert [(m.person, m.kind.value) for m in env.outbox.due(env.clock.now(), "wecom")] == \
        [("sl-c", "alert"), ("fo-a2", "reminder")]
    assert env.outbox.get(first.id).state == MessageState.SENT


def test_restart_rebuilds_what_still_needs_sending_and_sends_nothing_twice(env: Env) -> None:
    iid = env.start()
    sent = [m.id for m in env.outbox.due(env.clock.now(), "sms")[:3]]
    for mid in sent:
        env.log.append(env.outbox.sent(mid))
    env.log.append(env.outbox.delivered(sent[0], ref="MR-17"))
    env.log.append(env.outbox.failed_to_send(sent[1], "CMS ERROR 38"))
    env.clock.advance(10)

    fresh = Notifier(env.notifier.site, env.schedule)
    fresh.replay(env.log.events)
    assert [m.id for m in fresh.outbox.unsent()] == [m.id for m in env.outbox.unsent()]
    assert fresh.outbox.messages == env.outbox.messages
    assert fresh.stages(iid) == env.notifier.stages(iid)
    due = [m.id for m in fresh.outbox.due(env.clock.now())]
    assert due and not set(due) & set(sent)  # the failed one waits for its retry time
    assert [m.id for m in fresh.outbox.in_flight()] == [sent[2]]
    assert fresh.outbox.get(sent[0]).state == MessageState.DELIVERED
    assert fresh.outbox.get(sent[0]).ref == "MR-17"
    assert fresh.outbox.get(sent[1]).state == MessageState.RETRY
    assert fresh.tick(env.clock.now()) == []  # nothing queued again after the restart
    alone = Outbox()
    alone.replay(env.log.events)
    assert alone.messages == env.outbox.messages
    # a notifier that missed the queue events (crash right after activation) queues them
    late = Notifier(env.notifier.site, env.schedule)
    late.replay(env.log.events[:1])
    assert [e.payload["message_id"] for e in late.tick(env.clock.now())] == \
        [m.id for m in env.outbox.for_incident(iid)]


def test_failed_sends_retry_with_backoff_then_fail_over_to_the_next_channel() -> None:
    env = _env(DAY, retry=RetryPolicy(attempts=3, intervals_s=(30, 120)),
               policy=EscalationPolicy(max_cycles=0))  # deadlines do nothing here
    iid = env.start()
    mid = f"{iid}-M002"  # fo-a1: sms, then phone
    assert env.outbox.get(mid).channels == ("sms", "phone")
    env.log.append(env.outbox.sent(mid))
    env.log.append(env.outbox.failed_to_send(mid, "no network"))
    m = env.outbox.get(mid)
    assert (m.state, m.failures, m.last_error) == (MessageState.RETRY, 1, "no network")
    assert mid not in [x.id for x in env.outbox.due(env.clock.now() + timedelta(seconds=29))]
    assert mid in [x.id for x in env.outbox.due(env.clock.now() + timedelta(seconds=30))]
    assert mid in [x.id for x in env.outbox.unsent()]
    env.clock.advance(30)
    env.log.append(env.outbox.failed_to_send(mid, "modem timeout"))
    assert m.retry_at == env.clock.now() + timedelta(seconds=120)
    env.clock.advance(120)
    assert env.tick() == []  # retrying on the same channel first
    env.log.append(env.outbox.failed_to_send(mid, "modem timeout"))
    assert m.state == MessageState.FAILED and m.retry_at is None
    assert [x.id for x in env.outbox.failed()] == [mid]
    (ev,) = env.tick()
    assert ev.type == NOTIFICATION_QUEUED
    assert (ev.payload["channel"], ev.payload["replaces"]) == ("phone", mid)
    # read out by an operator: the whole text, not the compact SMS
    assert ev.payload["text"].startswith(f"【{env.code(iid)}】L1 P-L1 方案，地点：")
    assert ev.payload["address"] == "+86 138 0000 0002"
    assert m.state == MessageState.FAILED_OVER and env.outbox.failed() == []
    # the last channel failing leaves the message failed for the operator to see
    new = ev.payload["message_id"]
    for _ in range(3):
        env.log.append(env.outbox.failed_to_send(new, "no answer"))
    assert [x.id for x in env.outbox.failed()] == [new]
    assert env.tick() == []


def test_delivery_reports_and_late_reports_do_not_resurrect_messages(env: Env) -> None:
    iid = env.start()
    changed: list[str] = []
    env.outbox.changed.connect(lambda m: changed.append(m.state.value))
    mid = f"{iid}-M005"  # dir-1
    env.log.append(env.outbox.sent(mid, ref="42"))
    env.log.append(env.outbox.delivered(mid))
    m = env.outbox.get(mid)
    assert (m.state, m.ref, m.delivered_at) == (MessageState.DELIVERED, "42", env.clock.now())
    env.log.append(env.outbox.failed_to_send(mid, "late report"))
    assert m.state == MessageState.DELIVERED and m.failures == 1
    env.log.append(env.outbox.sent(mid))  # a stray second report
    assert m.state == MessageState.DELIVERED
    assert changed == ["sent", "delivered", "delivered", "delivered"]
    with pytest.raises(NotificationError, match="no message 'nope'"):
        env.outbox.sent("nope")
    # reports about messages this outbox never queued are ignored
    env.log.append([Event(type="notification.sent", source="notify:sms",
                          payload={"message_id": "ghost"}, incident_id=iid)])
    assert "ghost" not in env.outbox.messages


def test_retry_policy() -> None:
    p = RetryPolicy(attempts=4, intervals_s=(10, 60))
    t = DAY
    assert [p.retry_at(t, n) for n in (1, 2, 3, 4)] == [
        t + timedelta(seconds=10), t + timedelta(seconds=60), t + timedelta(seconds=60), None]
    with pytest.raises(NotificationError, match="at least one attempt"):
        RetryPolicy(attempts=0)
    with pytest.raises(NotificationError, match="intervals"):
        RetryPolicy(intervals_s=())
    with pytest.raises(NotificationError, match="intervals"):
        RetryPolicy(intervals_s=(5, -1))


# --------------------------------------------------------------------------- acks, escalation


def test_acknowledgements_satisfy_a_stage_and_stop_reminders(env: Env) -> None:
    iid = env.start()
    code = env.code(iid)
    out = env.notifier.handle_reply("sl-a", f"1 {code}")
    assert out.reply.kind == ReplyKind.ACK and out.incident_id == iid
    (ack,) = out.events
    assert ack.payload == {"person": "sl-a", "channel": "sms", "recorded_by": None,
                           "message_id": None, "text": f"1 {code}"}
    assert ack.source == "person:sl-a"
    env.log.append(out.events)
    # sl-a's alert had not gone out yet: it is not needed any more
    assert env.outbox.get(f"{iid}-M001").state == MessageState.CANCELLED
    assert env.notifier.handle_reply("sl-a", "收到").events == []  # a repeat records nothing
    assert f"{iid}-M001" not in env.send()

    assert env.at(119) == []
    events = env.at(120)
    esc = next(e for e in events if e.type == NOTIFICATION_ESCALATED)
    assert {k: esc.payload[k] for k in ("stage", "reason", "cycle", "acked", "missing",
                                        "notified", "reminded")} == {
        "stage": 1, "reason": "timeout", "cycle": 1, "acked": 1, "missing": 1,
        "notified": ["sl-c"], "reminded": ["fo-a1", "fo-a2", "fire-d"]}
    assert [c["person"] for c in esc.payload["informed"]] == ["dir-1", "dir-2"]
    assert esc.payload["deadline"] == "2026-01-01T02:04:00.000000Z"
    assert [e.payload["person"] for e in events if e.type == NOTIFICATION_REMINDER] == \
        ["fo-a1", "fo-a2", "fire-d"]
    # reminders go on the first channel sent automatically (never only to an operator's
    # phone queue); escalation notices tell the directors
    assert _queued(events) == [("sl-c", "wecom", "alert"), ("dir-1", "sms", "escalation"),
                               ("dir-2", "sms", "escalation"), ("fo-a1", "sms", "reminder"),
                               ("fo-a2", "wecom", "reminder"), ("fire-d", "sms", "reminder")]
    esc_text = next(m.text for m in env.outbox.for_incident(iid)
                    if m.kind == MessageKind.ESCALATION)
    assert esc_text.startswith(f"【{code}】升级：第1批应答1/2，L1 P-L1：")

    env.log.append(env.notifier.acknowledge(iid, "fo-a1", channel="phone",
                                            recorded_by="operator:zhang"))
    st = _stage(env, iid, 1)
    assert st.satisfied and st.ack_count == 2
    assert set(st.acked) == {"sl-a", "fo-a1"} and st.silent == ["fo-a2", "fire-d", "sl-c"]
    later = env.at(240)
    assert [e.payload["stage"] for e in later if e.type == NOTIFICATION_ESCALATED] == []
    assert not env.notifier.is_exhausted(st)


def test_a_missed_deadline_escalates_each_cycle_until_the_policy_gives_up() -> None:
    env = _env(DAY, policy=EscalationPolicy(max_cycles=3, max_reminders=2))
    iid = env.start()
    env.send()

    def stage1(events: list[RecordedEvent]) -> tuple[list[str], list[str], list[str]]:
        (esc,) = [e for e in events if e.type == NOTIFICATION_ESCALATED
                  and e.payload["stage"] == 1]
        return (esc.payload["notified"], [c["person"] for c in esc.payload["informed"]],
                esc.payload["reminded"])

    assert stage1(env.at(120)) == (["sl-c", "fo-c1"], ["dir-1", "dir-2"],
                                   ["sl-a", "fo-a1", "fo-a2", "fire-d"])
    env.send()
    assert stage1(env.at(240)) == ([], [], ["sl-a", "fo-a1", "fo-a2", "fire-d", "sl-c",
                                            "fo-c1"])
    env.send()
    events = env.at(360)
    assert stage1(events) == ([], [], ["sl-c", "fo-c1"])  # the others had their two reminders
    st = _stage(env, iid, 1)
    assert st.cycles == 3 and env.notifier.is_exhausted(st)
    # a notifier that crashed after recording the first escalation, before its messages
    late = Notifier(env.notifier.site, env.schedule)
    late.replay(e for e in env.log.events
                if e.type != NOTIFICATION_QUEUED or e.payload["kind"] != "escalation")
    requeued = late.tick(env.t0 + timedelta(seconds=370))
    assert [(e.payload["person"], e.payload["kind"]) for e in requeued] == [
        ("dir-1", "escalation"), ("dir-2", "escalation"), ("safe-1", "escalation")]
    assert [e for e in env.at(480) if e.payload.get("stage") == 1] == []
    # stage 2 (need 1 ack within 5 min) escalated on its own clock to the safety manager
    esc2 = [e for e in env.log.events if e.type == NOTIFICATION_ESCALATED
            and e.payload["stage"] == 2]
    assert esc2[0].ts == env.t0 + timedelta(minutes=6)  # first tick after its 5 min deadline
    assert [c["person"] for c in esc2[0].payload["informed"]] == ["safe-1"]
    assert ("safe-1", "email", "escalation") in _queued(env.log.events)
    assert env.outbox.get(next(m.id for m in env.outbox.messages.values()
                               if m.person == "safe-1")).address == "safe-1@example.com"


def test_a_decline_moves_to_the_next_contact_and_restarts_the_timer() -> None:
    env = _env(NIGHT)
    iid = env.start()
    code = env.code(iid)
    st2 = _stage(env, iid, 2)
    assert st2.contacted == ["dir-1"]  # off shift at night: one director at a time
    env.at(180)
    out = env.notifier.handle_reply("dir-1", f"{code} 2")
    assert out.reply.kind == ReplyKind.DECLINE
    env.log.append(out.events)
    events = env.tick()
    (esc,) = [e for e in events if e.type == NOTIFICATION_ESCALATED]
    assert {k: esc.payload[k] for k in ("stage", "reason", "notified", "informed",
                                        "reminded", "cycle")} == {
        "stage": 2, "reason": "declined", "notified": ["dir-2"], "informed": [],
        "reminded": [], "cycle": 0}
    assert _queued(events) == [("dir-2", "sms", "alert")]
    assert st2.contacted == ["dir-1", "dir-2"] and st2.deadline == env.clock.now() + \
        timedelta(minutes=5)
    assert env.tick() == []
    env.send()
    # the old deadline (5 min after activation) has been replaced
    assert [e for e in env.at(300) if e.payload.get("stage") == 2] == []
    timeout = [e for e in env.at(480) if e.type == NOTIFICATION_ESCALATED
               and e.payload["stage"] == 2]
    assert timeout[0].payload["reminded"] == ["dir-2"]  # no reminder to the one who declined
    assert timeout[0].payload["notified"] == []         # nobody left to call
    # a change of mind counts: the director who declined now comes
    env.log.append(env.notifier.acknowledge(iid, "dir-1", channel="sms", text="1"))
    assert st2.satisfied and "dir-1" not in st2.declined


def test_a_decline_calls_the_next_contact_at_once_even_with_others_still_silent(
        env: Env) -> None:
    iid = env.start()
    st = _stage(env, iid, 1)
    assert st.contacted == ["sl-a", "fo-a1", "fo-a2", "fire-d"]
    env.log.append(env.notifier.decline(iid, "fo-a1", channel="sms", text="2"))
    # three others are still silent, but in an emergency calling one more is the safer error:
    # the next contact holding the declined role comes at once
    events = env.tick()
    (esc,) = [e for e in events if e.type == NOTIFICATION_ESCALATED]
    assert {k: esc.payload[k] for k in ("reason", "notified", "for_declines", "cycle")} == \
        {"reason": "declined", "notified": ["fo-c1"], "for_declines": ["fo-a1"], "cycle": 0}
    assert _queued(events) == [("fo-c1", "sms", "alert")]
    assert env.tick() == []  # that decline has had its call
    env.log.append(env.notifier.decline(iid, "fo-a2", channel="wecom"))
    env.log.append(env.notifier.decline(iid, "fire-d", channel="sms"))
    events = env.tick()
    (esc,) = [e for e in events if e.type == NOTIFICATION_ESCALATED]
    # no field operator left to call: the one contact left (another role) comes instead
    assert (esc.payload["notified"], esc.payload["for_declines"]) == (["sl-c"],
                                                                      ["fo-a2", "fire-d"])
    assert st.contacted == ["sl-a", "fo-a1", "fo-a2", "fire-d", "fo-c1", "sl-c"]
    env.log.append(env.notifier.decline(iid, "fo-c1", channel="sms"))
    assert env.tick() == []  # nobody left to call; the deadline tells the directors


def test_answers_taken_by_operators_and_refusals(env: Env) -> None:
    iid = env.start()
    with pytest.raises(NotificationError, match="needs the operator"):
        env.notifier.acknowledge(iid, "sl-a", channel="phone")
    with pytest.raises(NotificationError, match="unknown channel 'pigeon'"):
        env.notifier.acknowledge(iid, "sl-a", channel="pigeon")
    with pytest.raises(NotificationError, match="cmd-1 was not called"):
        env.notifier.acknowledge(iid, "cmd-1", channel="sms")
    with pytest.raises(NotificationError, match="no incident 'INC-NOPE'"):
        env.notifier.acknowledge("INC-NOPE", "sl-a", channel="sms")
    (ev,) = env.notifier.decline(iid, "sl-a", channel="phone", recorded_by="operator:li",
                                 message_id=f"{iid}-M001")
    assert ev.source == "operator:li" and ev.payload["recorded_by"] == "operator:li"
    env.log.append([ev])
    assert env.notifier.decline(iid, "sl-a", channel="sms") == []
    env.log.append(close(env.book, iid, by="dir-1", confirmed=[0, 1]))
    with pytest.raises(NotificationError, match="is closed"):
        env.notifier.acknowledge(iid, "fo-a1", channel="sms")


def test_unreadable_replies_go_to_the_position_log_of_the_persons_incidents(env: Env) -> None:
    a = env.start()
    b = env.start()
    out = env.notifier.handle_reply("sl-a", "1")  # two open incidents, no code: which one?
    assert out.reply.kind == ReplyKind.UNPARSED and out.incident_id is None
    assert {e.incident_id for e in out.events} == {a, b}
    env.log.append(out.events)
    for iid in (a, b):
        (entry,) = env.book.get(iid).log
        assert (entry.text, entry.author, entry.kind) == ("[sms] 1", "person:sl-a", "reply")
    assert _stage(env, a, 1).acked == {}
    # with the code it is clear
    out = env.notifier.handle_reply("sl-a", f"1 {env.code(b)}", channel="wecom")
    assert out.incident_id == b and out.events[0].payload["channel"] == "wecom"
    # someone no open incident called: nothing to record
    assert env.notifier.handle_reply("cmd-1", "1").events == []


def test_person_is_found_from_the_number_or_address_a_reply_came_from(env: Env) -> None:
    env.start()
    assert env.notifier.person_for_address("+8613800000002") == "fo-a1"
    assert env.notifier.person_for_address("138 0000 0002") == "fo-a1"
    assert env.notifier.person_for_address("dir-1@example.com") == "dir-1"
    assert env.notifier.person_for_address("+86 139 9999 9999") is None
    assert env.notifier.person_for_address("") is None


def test_escalation_to_the_next_plan_supersedes_the_old_stages(env: Env) -> None:
    iid = env.start()
    env.log.append(env.notifier.acknowledge(iid, "dir-1", channel="sms"))
    env.clock.advance(60)
    env.log.append(escalate(env.notifier.site, env.book, iid, by="dir-1",
                            now=env.clock.now(), schedule=env.schedule))
    events = env.tick()
    # the L2 stage calls its people, including the director who answered the L1 call
    assert _queued(events) == [("dir-1", "sms", "alert"), ("dir-2", "sms", "alert"),
                               ("safe-1", "email", "alert")]
    assert "启动车间级响应" in env.outbox.for_incident(iid)[-1].text
    old = _stage(env, iid, 1)
    assert old.superseded
    new = _stage(env, iid, 1, plan="P-L2")
    assert new.acked == {} and not new.satisfied
    # the L1 stage 1 deadline (2 min after activation) no longer escalates anything
    assert [e for e in env.at(120) if e.payload.get("plan") == "P-L1"] == []
    env.log.append(env.notifier.acknowledge(iid, "dir-1", channel="sms"))
    assert new.satisfied
    assert [e for e in env.at(300) if e.type == NOTIFICATION_ESCALATED] == []


def test_closing_cancels_what_was_not_sent_and_ends_escalation(env: Env) -> None:
    iid = env.start()
    env.send("wecom")
    mid = env.outbox.due(env.clock.now(), "sms")[0].id
    env.log.append(env.outbox.sent(mid))
    env.log.append(env.outbox.failed_to_send(f"{iid}-M002", "busy"))
    env.log.append(close(env.book, iid, by="dir-1", confirmed=[0, 1]))
    assert env.outbox.unsent() == [] and env.outbox.due(env.clock.now()) == []
    states = {m.id: m.state for m in env.outbox.for_incident(iid)}
    assert states[mid] == MessageState.SENT
    assert states[f"{iid}-M003"] == MessageState.SENT  # the wecom one went out
    assert states[f"{iid}-M002"] == MessageState.CANCELLED
    assert env.notifier.open_codes() == {}
    assert env.at(600) == []


def test_drill_events_carry_the_drill_id() -> None:
    env = _env(DAY)
    iid = env.start(drill_id="D-GAS-1")
    env.log.append(env.notifier.acknowledge(iid, "sl-a", channel="sms"))
    env.at(120)
    env.log.append(env.notifier.handle_reply("fo-a1", "嗯").events)
    notification = [e for e in env.log.events if e.type.startswith("notification.")
                    or e.type == "incident.log"]
    assert notification and {e.drill_id for e in notification} == {"D-GAS-1"}


def test_whole_incident_replays_into_identical_notification_state() -> None:
    env = _env(NIGHT)
    iid = env.start()
    code = env.code(iid)
    env.send()
    env.log.append(env.outbox.failed_to_send(f"{iid}-M001", "no network"))
    env.at(60)
    env.log.append(env.notifier.handle_reply("fo-c1", f"1 {code}").events)
    env.log.append(env.notifier.handle_reply("dir-1", "不能").events)
    env.tick()
    env.at(150)
    env.log.append(escalate(env.notifier.site, env.book, iid, by="dir-2",
                            now=env.clock.now(), schedule=env.schedule))
    env.tick()
    env.at(400)
    fresh_book = IncidentBook(env.clock)
    fresh = Notifier(env.notifier.site, env.schedule)
    for ev in env.log.events:
        fresh_book.apply(ev)
        fresh.apply(ev)
    assert fresh.stages(iid) == env.notifier.stages(iid)
    assert fresh.outbox.messages == env.outbox.messages
    assert [m.id for m in fresh.outbox.unsent()] == [m.id for m in env.outbox.unsent()]
    assert fresh_book.incidents == env.book.incidents
    env.clock.advance(300)
    live = env.notifier.tick(env.clock.now())
    again = fresh.tick(env.clock.now())
    assert live and [(e.type, dict(e.payload)) for e in again] == \
        [(e.type, dict(e.payload)) for e in live]


def test_messages_in_english() -> None:
    env = _env(DAY, policy=EscalationPolicy(lang="en"))
    iid = env.start()
    code = env.code(iid)
    first = env.outbox.get(f"{iid}-M001")
    assert first.text == (f"[{code}] L1 P-L1 plan at 加氢装置 (U-210). 一级报警，请到现场. "
                          f"Reply 1 {code} coming, 2 cannot.")
    assert env.notifier.text_for(first, "wecom") == (
        f'[{code}] L1 P-L1 plan at 加氢装置 (U-210). 一级报警，请到现场. Reply "1 {code}" if '
        f'you are coming, "2 {code}" if you cannot.')
    st = _stage(env, iid, 3)  # no message of its own: the plan's title is not said twice
    brief = env.notifier.briefing(env.notifier._campaign(iid), "P-L1")
    assert message_text(MessageKind.ALERT, brief, st, "en") == \
        f"[{code}] L1 P-L1 plan at 加氢装置 (U-210). Reply 1 {code} coming, 2 cannot."
    assert message_text(MessageKind.REMINDER, brief, st, "en", "email").startswith(
        f"[{code}] REMINDER: L1 P-L1 plan at")
    assert message_text(MessageKind.ESCALATION, brief, st, "en", "email") == (
        f"[{code}] ESCALATION: stage 3 has 0 of 1 acknowledgements. L1 P-L1 plan at "
        f'加氢装置 (U-210). Reply "1 {code}".')
    assert message_text(MessageKind.REMINDER, brief, st).startswith(f"【{code}】提醒：L1 P-L1：")
    assert message_text(MessageKind.BROADCAST, brief, st, "en", "pa") == \
        "Attention all areas: P-L1 plan (L1) started at 加氢装置 (U-210)."


def test_events_of_unknown_incidents_are_ignored(env: Env) -> None:
    changed: list[str] = []
    env.notifier.changed.connect(changed.append)
    env.log.append([
        Event(type="notification.acknowledged", source="x", incident_id="INC-X",
              payload={"person": "sl-a"}),
        Event(type="alarm.raised", source="gauge:GD-1"),
    ])
    iid = env.start()
    env.log.append([
        Event(type="notification.reminder", source="x", incident_id=iid,
              payload={"plan": "P-NONE", "stage": 1, "person": "sl-a"}),
        Event(type="notification.queued", source="x", incident_id=iid, payload={
            "message_id": f"{iid}-M001", "person": "x", "name": "x", "channel": "sms",
            "address": "x", "channels": ["sms"], "text": "dup", "kind": "alert",
            "plan": "P-NONE", "stage": 9, "priority": 9, "replaces": None}),
        Event(type="alarm.raised", source="gauge:GD-1", incident_id=iid),
    ])
    assert env.outbox.get(f"{iid}-M001").person == "sl-a"  # a duplicate id is ignored
    assert set(changed) == {iid}
    env.notifier.apply(env.log.events[0])  # already seen
    with pytest.raises(NotificationError, match="no incident"):
        env.notifier.stages("INC-X")


def test_escalation_notice_skips_people_the_stage_already_calls() -> None:
    env = _env(DAY)
    iid = env.start("P-L1B")  # one shift leader needed; escalates to shift leaders and directors
    events = env.at(120)
    (esc,) = [e for e in events if e.type == NOTIFICATION_ESCALATED]
    assert esc.payload["notified"] == ["sl-c"]
    assert [c["person"] for c in esc.payload["informed"]] == ["dir-1", "dir-2"]
    assert _stage(env, iid, 1, plan="P-L1B").contacted == ["sl-a", "sl-c"]


def test_a_message_on_a_channel_the_person_no_longer_lists_has_no_next_channel(env: Env) -> None:
    iid = env.start()
    m = env.outbox.get(f"{iid}-M001")
    assert m.next_channel() is None  # sms is sl-a's only channel
    m.channels = ("wecom", "email")
    assert m.next_channel() is None
    m.channels = ("sms", "email")
    assert m.next_channel() == "email"
    m.channels = ("sms", "pa", "phone")  # recorded before the PA was an area's channel
    assert m.next_channel() == "phone"


def test_one_click_activation_on_the_demo_site() -> None:
    from pathlib import Path

    from commandcenter.core.siteio import load_site

    site = load_site(Path(__file__).resolve().parents[2])
    plan = site.plans["PLAN-GAS-L1"]
    clock = ScriptedClock(NIGHT.astimezone(UTC))
    schedule = ShiftSchedule.for_site(site)
    book = IncidentBook(clock)
    notifier = Notifier(site, schedule)
    log = Log(clock, book, notifier)
    commander = site.people_with_role(plan.roles[0].role)[0].id
    (rec,) = log.append(activate(site, book, plan.id, location=next(iter(site.buildings)),
                                 commander=commander, by="operator:demo", now=clock.now(),
                                 schedule=schedule))
    iid = rec.incident_id
    assert iid is not None
    log.append(notifier.tick(clock.now()))
    due = notifier.outbox.due(clock.now())
    # the PA announces the plan once (people there work within its reach), for the area
    (pa,) = [m for m in due if m.kind == MessageKind.BROADCAST]
    assert (pa.channel, pa.person, pa.stage) == ("pa", BROADCAST_PERSON, 1)
    assert "回" not in pa.text and pa.text.startswith("各岗位注意：可燃气体泄漏班组级现场处置方案")
    due = [m for m in due if m.kind != MessageKind.BROADCAST]
    assert "pa" not in {m.channel for m in due}
    stages = [m.stage for m in due]
    assert stages == sorted(stages) and stages[0] == 1
    assert len({m.person for m in due}) == len(due) == len(rec.payload["notify"])
    stage1 = [m for m in due if m.stage == 1]
    assert stage1 and all(
        schedule.is_on_shift(site.people[m.person].shift, clock.now()) for m in stage1)
    assert len(book.get(iid).steps) == len(plan.steps)
    # the plan's own escalation target is a valid next plan on the demo site
    assert plan.escalates_to is not None
    log.append(escalate(site, book, iid, by="operator:demo", now=clock.now(),
                        schedule=schedule))
    assert book.get(iid).plan == plan.escalates_to
    queued = notifier.tick(clock.now())
    assert queued and {e.payload["plan"] for e in queued} == {plan.escalates_to}


# --------------------------------------------------------------------------- per-role needs


def _per_role_env(start: datetime = DAY) -> tuple[Env, str]:
    from .test_incidents import _plan
    from .test_incidents import _stage as stage_dict

    env = _env(start)
    env.notifier.site.plans["P-R"] = _plan(
        "P-R", "L1", ["shift_leader", "field_operator"],
        [stage_dict(1, ["shift_leader", "field_operator"],
                    {"shift_leader": 1, "field_operator": 1}, 2, ["workshop_director"],
                    "一级报警，请到现场")],
        [("confirm", "shift_leader", 1)], ["结束"])
    return env, env.start("P-R")


def test_acknowledgements_count_per_role_where_the_stage_says_so() -> None:
    env, iid = _per_role_env()
    st = _stage(env, iid, 1, plan="P-R")
    assert st.contacted == ["sl-a", "fo-a1", "fo-a2", "fire-d"]
    for person in ("fo-a1", "fo-a2"):  # two field operators answer; the shift leader does not
        env.log.append(env.notifier.acknowledge(iid, person, channel="sms"))
    assert (st.ack_count, st.counted, st.missing) == (2, 1, 1)
    assert st.missing_by_role == {"shift_leader": 1} and not st.satisfied
    env.send()
    events = env.at(120)
    (esc,) = [e for e in events if e.type == NOTIFICATION_ESCALATED]
    # the next shift leader is called, the silent shift leader reminded; the silent field
    # operator is not (field operators have answered often enough); the director is told
    assert {k: esc.payload[k] for k in ("acked", "missing", "missing_by_role", "notified",
                                        "reminded")} == {
        "acked": 1, "missing": 1, "missing_by_role": {"shift_leader": 1},
        "notified": ["sl-c"], "reminded": ["sl-a"]}
    assert [c["person"] for c in esc.payload["informed"]] == ["dir-1", "dir-2"]
    assert "第1批应答1/2" in next(m.text for m in env.outbox.for_incident(iid)
                               if m.kind == MessageKind.ESCALATION)
    env.log.append(env.notifier.acknowledge(iid, "sl-c", channel="wecom"))
    assert st.satisfied and st.acks_by_role == {"shift_leader": 1, "field_operator": 2}
    assert [e for e in env.at(240) if e.type == NOTIFICATION_ESCALATED] == []


def test_a_declined_key_role_calls_the_next_holder_of_that_role() -> None:
    env, iid = _per_role_env()
    st = _stage(env, iid, 1, plan="P-R")
    env.log.append(env.notifier.acknowledge(iid, "fo-a1", channel="sms"))
    env.log.append(env.notifier.decline(iid, "sl-a", channel="sms"))
    (esc,) = [e for e in env.tick() if e.type == NOTIFICATION_ESCALATED]
    assert (esc.payload["notified"], esc.payload["missing_by_role"]) == \
        (["sl-c"], {"shift_leader": 1})
    # field operators have answered often enough: a declining one calls nobody new
    env.log.append(env.notifier.decline(iid, "fo-a2", channel="wecom"))
    assert env.tick() == []
    assert st.contacted == ["sl-a", "fo-a1", "fo-a2", "fire-d", "sl-c"]


# --------------------------------------------------------------------------- PA, SMS size


def test_the_pa_announces_each_plan_once_for_the_area() -> None:
    people = [(pid, name, roles, shift, ("pa", *channels) if pid.startswith("fo-") else channels)
              for pid, name, roles, shift, channels in ROSTER]
    clock = ScriptedClock(DAY.astimezone(UTC))
    site = make_site(people)
    schedule = ShiftSchedule.for_site(site)
    notifier = Notifier(site, schedule)
    book = IncidentBook(clock)
    env = Env(clock, notifier, book, Log(clock, book, notifier), schedule)
    iid = env.start()
    pa = [m for m in env.outbox.for_incident(iid) if m.channel == "pa"]
    assert [(m.kind, m.person, m.address, m.stage) for m in pa] == \
        [(MessageKind.BROADCAST, BROADCAST_PERSON, "pa", 1)]
    code = env.code(iid)
    assert pa[0].text == \
        "各岗位注意：P-L1 方案（L1）已启动，地点加氢装置(U-210)。一级报警，请到现场。"
    assert code not in pa[0].text  # a loudspeaker asks for no replies
    # the field operators' own messages go on their own channels, never the PA
    assert [m.channel for m in env.outbox.for_incident(iid) if m.person == "fo-a1"] == ["sms"]
    assert env.outbox.get(f"{iid}-M002").channels == ("sms", "phone")
    assert env.at(60) == []  # nothing announced twice
    env.log.append(env.outbox.failed_to_send(pa[0].id, "relay port gone"))
    for _ in range(2):
        env.log.append(env.outbox.failed_to_send(pa[0].id, "relay port gone"))
    assert pa[0].state == MessageState.FAILED
    assert not [e for e in env.at(90) if e.type == NOTIFICATION_QUEUED]  # no fail-over
    # the escalation to a plan whose people work within the PA's reach: one more announcement
    site.people["dir-1"] = type(site.people["dir-1"]).model_validate(
        {**site.people["dir-1"].model_dump(), "channels": ["sms", "pa"]})
    env.log.append(escalate(site, book, iid, by="dir-1", now=clock.now(), schedule=schedule))
    env.tick()
    assert [(m.plan, m.kind) for m in env.outbox.for_incident(iid) if m.channel == "pa"] == \
        [("P-L1", MessageKind.BROADCAST), ("P-L2", MessageKind.BROADCAST)]
    assert env.tick() == []
    # an activation where nobody works within reach of the PA announces nothing
    other = _env(DAY)
    oid = other.start()
    assert [m for m in other.outbox.for_incident(oid) if m.channel == "pa"] == []


def test_in_doubt_sends_are_retried_at_once(env: Env) -> None:
    iid = env.start()
    mid = f"{iid}-M001"
    env.log.append(env.outbox.failed_to_send(mid, "outcome unknown: dispatcher stopped",
                                             retry_now=True))
    m = env.outbox.get(mid)
    assert (m.state, m.retry_at, m.failures) == (MessageState.RETRY, env.clock.now(), 1)
    assert mid in [x.id for x in env.outbox.due(env.clock.now())]
    env.log.append(env.outbox.failed_to_send(f"{iid}-M002", "no network"))
    assert env.outbox.get(f"{iid}-M002").retry_at == env.clock.now() + timedelta(seconds=30)


def test_every_demo_alert_fits_one_sms() -> None:
    """Every stage of every demo plan, at every building and at map points, as alert,
    reminder and escalation notice: one UCS2 SMS (70 characters), with a 4-character code."""
    from commandcenter.core.incidents import location_words, plan_stages
    from commandcenter.core.notify import SMS_UNITS, Briefing, StageProgress

    site = load_demo_site()
    schedule = ShiftSchedule.for_site(site)
    places: list[Any] = [*site.buildings, (30.8151, 121.4550), (31.5, 121.0)]
    b = site.bounds()
    assert b is not None
    places += [((b[0][0] + b[1][0]) / 2, b[0][1] - 0.001)]  # just outside the fence
    worst = ""
    for plan in site.plans.values():
        for spec in plan_stages(site, plan, schedule, DAY):
            st = StageProgress(spec=spec, started_at=DAY, deadline=DAY)
            for place in places:
                brief = Briefing("W9XZ", plan.level.value, plan.title.model_dump(),
                                 location_words(site, place))
                for kind in (MessageKind.ALERT, MessageKind.REMINDER, MessageKind.ESCALATION):
                    text = message_text(kind, brief, st, "zh", "sms")
                    assert len(text) <= SMS_UNITS, (plan.id, spec.order, place, kind, text)
                    assert "W9XZ" in text and "回1 W9XZ" in text
                    worst = max(worst, text, key=len)
                    full = message_text(kind, brief, st, "zh", "wecom")
                    assert plan.title.zh in full and brief.where["zh"] in full
                en = message_text(MessageKind.ALERT, brief, st, "en", "sms")
                assert len(en) <= 160 and "Reply 1 W9XZ" in en
    assert len(worst) > 40  # the texts say something


def load_demo_site() -> Any:
    from pathlib import Path

    from commandcenter.core.siteio import load_site

    return load_site(Path(__file__).resolve().parents[2])
