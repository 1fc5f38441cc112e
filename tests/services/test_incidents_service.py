"""The incident service on a scripted clock, a real SQLite event log, a loopback webhook server
and a GSM modem simulated on a pty: activation to close, acks, replies, escalation, restarts."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from commandcenter.core.clock import ScriptedClock
from commandcenter.core.events import Event
from commandcenter.core.incidents import IncidentError, ShiftSchedule
from commandcenter.core.notify import (
    NOTIFICATION_ESCALATED,
    NOTIFICATION_QUEUED,
    MessageKind,
    MessageState,
    RetryPolicy,
)
from commandcenter.core.site import Building, Person, Plan, Role, Shift, Site, SiteInfo, Text
from commandcenter.notify.base import DeliveryChannel
from commandcenter.notify.config import ModemSettings, WebhookTarget
from commandcenter.notify.gsm import GsmModem
from commandcenter.notify.webhook import WebhookChannel
from commandcenter.services.incidents import (
    NOTIFICATION_SENDING,
    IncidentService,
    IncidentState,
    activation_events,
    incident_status,
)
from commandcenter.storage.eventlog import EventLog

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notify"))
from gsm_simulator import GsmSimulator

SH = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 1, 1, 10, 0, tzinfo=SH)  # Thursday 10:00: crew A and day staff at work

# id, name, roles, shift, channels, phone
ROSTER = [
    ("sl-a", "甲班长", ("shift_leader",), "A", ("webhook", "sms"), "13800000001"),
    ("fo-a1", "甲外操一", ("field_operator",), "A", ("sms",), "13800000002"),
    ("fo-a2", "甲外操二", ("field_operator",), "A", ("webhook",), "13800000003"),
    ("dir-1", "车间主任", ("workshop_director",), "day", ("phone", "sms"), "13800000004"),
    ("dir-2", "副主任", ("workshop_director",), "day", ("sms",), "13800000005"),
    ("safe-1", "安全经理", ("safety_manager",), "day", ("email", "sms"), "13800000006"),
    ("sl-c", "丙班长", ("shift_leader",), "C", ("sms",), "13800000007"),
]


def make_site() -> Site:
    site = Site(root="test", info=SiteInfo(schema_version=1, id="t", name=Text(zh="测试厂"),
                                           timezone="Asia/Shanghai"))
    site.buildings["U-210"] = Building(
        id="U-210", kind="process_unit", name=Text(zh="加氢装置"), entrance_node="N1",
        outline=[[(121.0, 30.0), (121.001, 30.0), (121.001, 30.001), (121.0, 30.0)]])
    for sid in ("A", "B", "C", "D", "day"):
        site.shifts[sid] = Shift(id=sid, name=Text(zh=sid), hours="-")
    for pid, name, roles, shift, channels, phone in ROSTER:
        for r in roles:
            site.roles.setdefault(r, Role(id=r, name=Text(zh=r)))
        site.people[pid] = Person(id=pid, name=name, roles=roles, shift=shift, phone=phone,
                                  email=f"{pid}@example.com", channels=channels)
    site.plans["P-L1"] = Plan.model_validate({
        "schema_version": 1, "id": "P-L1", "title": {"zh": "泄漏处置", "en": "Leak"},
        "level": "L1", "kind": "flammable_gas_leak", "tier": "on_site",
        "scope": {"zh": "装置区"}, "triggers": [{"description": {"zh": "报警"}}],
        "roles": [{"role": r, "duty": {"zh": r}} for r in
                  ("shift_leader", "field_operator", "workshop_director")],
        "notification": [
            {"order": 1, "roles": ["shift_leader", "field_operator"], "need_acks": 2,
             "ack_within_min": 2, "escalate_to_roles": ["safety_manager"],
             "message": {"zh": "一级报警，请到现场", "en": "Alarm, go to the unit"}},
            {"order": 2, "roles": ["workshop_director"], "need_acks": 1,
             "ack_within_min": 5, "escalate_to_roles": ["safety_manager"],
             "message": {"zh": "请车间主任掌握情况", "en": "Director please follow"}}],
        "steps": [{"id": "confirm", "title": {"zh": "确认"}, "owner": "shift_leader",
                   "target_min": 1},
                  {"id": "isolate", "title": {"zh": "切断"}, "owner": "shift_leader",
                   "target_min": 5}],
        "hazard_zone": {"isolation_m": 50},
        "termination": [{"zh": "泄漏已切断"}, {"zh": "浓度正常"}]})
    return site


# --------------------------------------------------------------------------- peers


class Receiver:
    """A generic-webhook endpoint on 127.0.0.1 that counts messages by id."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                status = outer.status
                if status == 200:
                    with outer._lock:
                        outer.bodies.append(json.loads(raw))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(b["message_id"] for b in self.bodies)

    def people(self) -> list[str]:
        with self._lock:
            return [b["person"] for b in self.bodies]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[GsmSimulator]:
    with GsmSimulator(tmp_path, ScriptedClock()) as s:
        yield s


def modem(sim: GsmSimulator) -> GsmModem:
    """The real GSM channel on the simulator; its pacer runs on its own fast clock."""
    clock = sim.clock
    assert isinstance(clock, ScriptedClock)

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    return GsmModem(ModemSettings(port=str(sim.path), command_timeout_s=1.0,
                                  prompt_timeout_s=1.0, send_timeout_s=2.0,
                                  reconnect_initial_s=0.05, reconnect_max_s=0.2,
                                  rate_per_min=12), clock, sleep=sleep)


def webhook(url: str) -> WebhookChannel:
    return WebhookChannel(WebhookTarget(kind="webhook", url=url, timeout_s=2.0))


async def until(cond: Callable[[], object], within_s: float = 10.0) -> None:
    end = time.monotonic() + within_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {within_s} s")
        await asyncio.sleep(0.01)


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.clock = ScriptedClock(DAY.astimezone(UTC))
        self.site = make_site()
        self.url = f"sqlite:///{tmp_path / 'cc.db'}"
        self.log = EventLog(self.url, self.clock)

    def service(self, channels: list[DeliveryChannel] | None = None,
                **kw: Any) -> IncidentService:
        opts: dict[str, Any] = {"tick_interval_s": 0.05, "poll_interval_s": 0.05,
                                "retry": RetryPolicy(attempts=2, intervals_s=(5.0,))}
        opts.update(kw)
        return IncidentService(self.site, self.log, self.clock, channels=channels or [], **opts)

    def run(self, body: Callable[[], Awaitable[None]]) -> None:
        async def main() -> None:
            await asyncio.wait_for(body(), 60)

        try:
            asyncio.run(main())
        finally:
            self.log.close()


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def numbers(sim: GsmSimulator) -> list[str]:
    return [s.number for s in sim.sent]


def phone(pid: str) -> str:
    return next(r[5] for r in ROSTER if r[0] == pid)


# --------------------------------------------------------------------------- tests


def test_activation_to_close_over_webhook_and_gsm(world: World, receiver: Receiver,
                                                  sim: GsmSimulator) -> None:
    async def body() -> None:
        svc = world.service([webhook(receiver.url), modem(sim)])
        await svc.start()
        try:
            await until(lambda: all(ch.up for ch in svc.channel_states()))
            inc_id = await svc.activate("P-L1", "U-210", commander=None, by="operator:wang")
            inc = svc.book.get(inc_id)
            assert inc.commander == "sl-a"  # the on-shift holder of the plan's first role

            # Queued in one go, stage 1 first; copies on the person's other channels.
            queued = [e for e in world.log.read() if e.type == NOTIFICATION_QUEUED]
            stages = [e.payload["stage"] for e in queued if "/" not in e.payload["message_id"]]
            assert stages == sorted(stages) and stages[0] == 1
            where = {(e.payload["person"], e.payload["channel"]) for e in queued}
            assert where == {("sl-a", "webhook"), ("sl-a", "sms"), ("fo-a1", "sms"),
                             ("fo-a2", "webhook"), ("dir-1", "phone"), ("dir-1", "sms"),
                             ("dir-2", "sms")}

            # Sent: webhooks at once, SMS one by one, key roles (stage 1) first.
            await until(lambda: len(receiver.counts()) == 2 and len(sim.sent) == 4)
            assert sorted(receiver.people()) == ["fo-a2", "sl-a"]
            assert set(receiver.counts().values()) == {1}
            sms = numbers(sim)
            assert set(sms[:2]) == {phone("sl-a"), phone("fo-a1")}
            assert set(sms[2:]) == {phone("dir-1"), phone("dir-2")}
            # one SMS each (four messages, four SMS): the compact text fits one UCS2 SMS
            assert sim.sent[0].text == (f"【{inc.code}】L1 泄漏处置：加氢装置(U-210)。"
                                        f"一级报警，请到现场。回1 {inc.code}到 2不能")
            await until(lambda: all(
                m.state == MessageState.DELIVERED for m in svc.outbox.for_incident(inc_id)
                if m.channel == "sms"))
            webhooks = [m for m in svc.outbox.for_incident(inc_id) if m.channel == "webhook"]
            assert {m.state for m in webhooks} == {MessageState.SENT}
            (phone_msg,) = [m for m in svc.outbox.for_incident(inc_id) if m.channel == "phone"]
            assert phone_msg.state == MessageState.QUEUED  # an operator calls
            # Every send was claimed first, then answered.
            types = [e.type for e in world.log.read(incident_id=inc_id)]
            assert types.count(NOTIFICATION_SENDING) == 6

            # An answer taken by phone, and an SMS reply with the code.
            await svc.record_answer(inc_id, "sl-a", recorded_by="operator:wang")
            sim.inject_sms("+86" + phone("fo-a1"), f"1 {inc.code}")
            stage1 = svc.notifier.stages(inc_id)[0]
            await until(lambda: "fo-a1" in stage1.acked)
            assert stage1.satisfied
            status = incident_status(svc.state, inc_id, world.clock.now())
            people = {p["person"]: p for p in status["people"]}
            assert people["sl-a"]["answer"] == "acknowledged"
            assert people["sl-a"]["answered_by_channel"] == "phone"
            assert people["sl-a"]["recorded_by"] == "operator:wang"
            assert people["fo-a1"]["answered_by_channel"] == "sms"
            assert people["fo-a1"]["channels"]["sms"]["attempts"] == 1
            assert people["fo-a1"]["delivered"] is True
            assert people["dir-2"]["answer"] == "silent"

            # Stage 2 misses its 5-minute deadline: the safety manager is told (by SMS, as
            # e-mail is not configured here).
            world.clock.advance(5 * 60 + 1)
            await until(lambda: any(e.type == NOTIFICATION_ESCALATED
                                    for e in world.log.read(incident_id=inc_id)))
            await until(lambda: phone("safe-1") in numbers(sim))
            warned = [s for s in sim.sent if s.number == phone("safe-1")]
            assert warned[0].text.startswith(f"【{inc.code}】升级：第2批应答0/1，")
            status = incident_status(svc.state, inc_id, world.clock.now())
            (esc,) = status["stage_escalations"]
            assert (esc["stage"], esc["reason"], esc["informed"]) == (2, "timeout",
                                                                      ["safe-1"])
            assert [s["step"] for s in status["checklist"] if s["overdue"]] == \
                ["confirm", "isolate"]

            await svc.close(inc_id, by="operator:wang", confirmed=[0, 1])
            assert svc.book.get(inc_id).closed
            assert phone_msg.state == MessageState.CANCELLED
            sent_before = (len(sim.sent), sum(receiver.counts().values()))
        finally:
            await svc.stop()

        # A restart rebuilds the same state from the log and sends nothing again.
        again = world.service([webhook(receiver.url)])
        await again.start()
        try:
            await asyncio.sleep(0.3)
            assert again.book.get(inc_id).closed
            assert {m.id: m.state for m in again.outbox.for_incident(inc_id)} == \
                {m.id: m.state for m in svc.outbox.for_incident(inc_id)}
            assert (len(sim.sent), sum(receiver.counts().values())) == sent_before
        finally:
            await again.stop()

    world.run(body)


def test_decline_calls_the_next_contact(world: World, receiver: Receiver) -> None:
    # At night only crew C's shift leader is on shift; stage 1 needs two acks and the
    # off-shift field operators wait as next contacts.
    world.clock = ScriptedClock(datetime(2026, 1, 2, 2, 0, tzinfo=SH).astimezone(UTC))
    world.log.close()
    world.log = EventLog(world.url, world.clock)

    async def body() -> None:
        svc = world.service([webhook(receiver.url)])
        await svc.start()
        try:
            inc_id = await svc.activate("P-L1", "U-210", commander="sl-c", by="operator:wang")
            stage1 = svc.notifier.stages(inc_id)[0]
            first = list(stage1.contacted)
            await svc.record_answer(inc_id, first[-1], recorded_by="operator:wang",
                                    declined=True)
            assert len(stage1.contacted) == len(first) + 1
            nxt = stage1.contacted[-1]
            assert any(m.person == nxt and m.kind == MessageKind.ALERT
                       for m in svc.outbox.for_incident(inc_id))
            with pytest.raises(IncidentError, match="no plan 'P-X'"):
                await svc.activate("P-X", "U-210", commander=None, by="operator:wang")
        finally:
            await svc.stop()

    world.run(body)


def test_without_channels_messages_stay_queued(world: World,
                                               caplog: pytest.LogCaptureFixture) -> None:
    async def body() -> None:
        svc = world.service()
        with caplog.at_level(logging.WARNING, "commandcenter.services.incidents"):
            await svc.start()
        try:
            inc_id = await svc.activate("P-L1", "U-210", commander=None, by="operator:wang")
            await asyncio.sleep(0.3)
            msgs = svc.outbox.for_incident(inc_id)
            assert msgs and {m.state for m in msgs} == {MessageState.QUEUED}
            assert all("/" not in m.id for m in msgs)  # no copies: nothing to send them on
            assert svc.dispatch_summary() == f"no channel configured; {len(msgs)} messages " \
                                              "queued"
        finally:
            await svc.stop()

    world.run(body)
    assert sum("no delivery channel is configured" in r.getMessage()
               for r in caplog.records) == 1


def test_events_of_another_process_are_picked_up_and_sent(world: World,
                                                          receiver: Receiver) -> None:
    """The CLI's way: activation and its messages appended by another writer."""

    async def body() -> None:
        svc = world.service([webhook(receiver.url)])
        await svc.start()
        other = EventLog(world.url, world.clock)
        try:
            state = IncidentState(world.site, world.clock, ShiftSchedule.for_site(world.site))
            state.replay(other.read())
            events = activation_events(state, "P-L1", "U-210", commander="sl-a",
                                       by="cli:test", now=world.clock.now())
            recs = await asyncio.to_thread(other.append_many, events)
            inc_id = recs[0].incident_id
            assert inc_id is not None
            await until(lambda: inc_id in svc.book.incidents)
            await until(lambda: sorted(receiver.people()) == ["fo-a2", "sl-a"])
            # Exactly one alert per person and channel: the service queued nothing twice.
            keys = [(m.person, m.channel, m.kind) for m in svc.outbox.for_incident(inc_id)]
            assert len(keys) == len(set(keys))
        finally:
            other.close()
            await svc.stop()

    world.run(body)


def test_two_dispatchers_on_one_database_send_each_message_once(
        world: World, receiver: Receiver) -> None:
    async def body() -> None:
        other_log = EventLog(world.url, world.clock)
        a = world.service([webhook(receiver.url)])
        b = IncidentService(world.site, other_log, world.clock,
                            channels=[webhook(receiver.url)], tick_interval_s=0.05,
                            poll_interval_s=0.05)
        await a.start()
        await b.start()
        try:
            ids = [await a.activate("P-L1", "U-210", commander="sl-a", by="operator:wang")]
            world.clock.advance(60)
            ids.append(await b.activate("P-L1", "U-210", commander="sl-a", by="operator:li"))
            await until(lambda: len(receiver.counts()) == 4)
            await asyncio.sleep(0.5)
            assert set(receiver.counts().values()) == {1}
            sent_by = {e.payload["dispatcher"] for e in world.log.read()
                       if e.type == NOTIFICATION_SENDING}
            assert sent_by <= {a.dispatcher_id, b.dispatcher_id}
        finally:
            await a.stop()
            await b.stop()
            other_log.close()

    world.run(body)


def test_a_failing_channel_is_retried_after_the_back_off(world: World,
                                                         receiver: Receiver) -> None:
    async def body() -> None:
        receiver.status = 503
        svc = world.service([webhook(receiver.url)])
        await svc.start()
        try:
            inc_id = await svc.activate("P-L1", "U-210", commander="sl-a", by="operator:wang")
            hooks = [m for m in svc.outbox.for_incident(inc_id) if m.channel == "webhook"]
            await until(lambda: hooks[0].state == MessageState.RETRY)
            assert "HTTP 503" in (hooks[0].last_error or "")
            receiver.status = 200
            await asyncio.sleep(0.3)
            # The channel is down: nothing more goes out before the back-off.
            assert [m.state for m in hooks] == [MessageState.RETRY, MessageState.QUEUED]
            assert receiver.counts() == Counter()
            world.clock.advance(5)
            await until(lambda: all(m.state == MessageState.SENT for m in hooks), 15)
            assert set(receiver.counts().values()) == {1}
        finally:
            await svc.stop()

    world.run(body)


def test_status_reports_elapsed_time(world: World) -> None:
    async def body() -> None:
        svc = world.service()
        await svc.start()
        try:
            inc_id = await svc.activate("P-L1", "U-210", commander="sl-a", by="operator:wang")
            world.clock.advance(timedelta(minutes=3, seconds=7).total_seconds())
            status = incident_status(svc.state, inc_id, world.clock.now())
            assert status["elapsed"] == "0:03:07"
            assert status["level"] == "L1" and status["location"] == "U-210"
            preview = svc.preview("P-L1", "U-210")
            assert [order for order, _ in preview.stages] == [1, 2]
        finally:
            await svc.stop()

    world.run(body)


# --------------------------------------------------------------------------- channels


def with_channels(site: Site, **channels: tuple[str, ...]) -> None:
    for pid, chans in channels.items():
        site.people[pid] = Person.model_validate(
            {**site.people[pid].model_dump(), "channels": list(chans)})


def test_reminders_go_on_every_automatic_channel_never_only_to_the_phone_queue(
        world: World, receiver: Receiver, sim: GsmSimulator) -> None:
    async def body() -> None:
        svc = world.service([webhook(receiver.url), modem(sim)])
        await svc.start()
        try:
            await until(lambda: all(ch.up for ch in svc.channel_states()))
            inc_id = await svc.activate("P-L1", "U-210", commander=None, by="operator:wang")
            await until(lambda: len(sim.sent) == 4 and len(receiver.counts()) == 2)
            world.clock.advance(5 * 60 + 1)  # both stages miss their deadlines: reminders
            reminders = lambda: [m for m in svc.outbox.for_incident(inc_id)  # noqa: E731
                                 if m.kind == MessageKind.REMINDER]
            await until(lambda: reminders() and all(
                m.state in (MessageState.SENT, MessageState.DELIVERED) for m in reminders()))
            where = sorted((m.person, m.channel) for m in reminders())
            # dir-1 lists [phone, sms]: reminded by SMS, not only queued for an operator;
            # sl-a [webhook, sms]: on both, like the first alert
            assert where == [("dir-1", "sms"), ("dir-2", "sms"), ("fo-a1", "sms"),
                             ("fo-a2", "webhook"), ("sl-a", "sms"), ("sl-a", "webhook")]
            texts = [s.text for s in sim.sent if s.number == phone("dir-1")]
            assert len(texts) == 2 and texts[1].startswith(
                f"【{svc.book.get(inc_id).code}】提醒：L1 泄漏处置：")
        finally:
            await svc.stop()

    world.run(body)


def test_a_send_in_doubt_after_a_crash_is_sent_again_at_once(world: World,
                                                              receiver: Receiver) -> None:
    import os
    import socket
    import subprocess

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = f"{socket.gethostname()}:{gone.pid}:dead01"

    async def body() -> None:
        state = IncidentState(world.site, world.clock, ShiftSchedule.for_site(world.site))
        events = activation_events(state, "P-L1", "U-210", commander="sl-a", by="cli:test",
                                   now=world.clock.now())
        recs = world.log.append_many(events)
        inc_id = recs[0].incident_id
        hooked = next(r.payload["message_id"] for r in recs if r.type == NOTIFICATION_QUEUED
                      and r.payload["channel"] == "webhook")
        # a dispatcher that died after handing this message to the webhook
        world.log.append_many([Event(type=NOTIFICATION_SENDING, source="notify:webhook",
                                     payload={"message_id": hooked, "channel": "webhook",
                                              "attempt": 1, "dispatcher": dead},
                                     incident_id=inc_id)])
        assert os.getpid() != gone.pid
        svc = world.service([webhook(receiver.url)])
        await svc.start()
        try:
            # no back-off: its responder has waited long enough (the clock does not move)
            await until(lambda: svc.outbox.get(hooked).state == MessageState.SENT, 5)
            failed = [e for e in world.log.read() if e.type == "notification.failed"]
            assert [(e.payload["message_id"], e.payload.get("retry_now")) for e in failed] == \
                [(hooked, True)]
            assert "outcome unknown" in failed[0].payload["reason"]
            assert receiver.counts()[hooked] == 1
        finally:
            await svc.stop()

    world.run(body)


def test_channels_that_serve_nobody_are_reported(world: World, receiver: Receiver,
                                                 tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    from commandcenter.notify.config import PaSettings
    from commandcenter.notify.pa import PaChannel

    pa = PaChannel(PaSettings(command=(sys.executable, "-c", "pass")))

    async def body() -> None:
        svc = world.service([webhook(receiver.url), pa])
        with caplog.at_level(logging.WARNING, "commandcenter.services.incidents"):
            await svc.start()
        try:
            assert svc.dispatch_summary().startswith("up: webhook, pa; pa serves nobody")
            inc_id = await svc.activate("P-L1", "U-210", commander="sl-a", by="operator:wang")
            status = incident_status(svc.state, inc_id, world.clock.now(),
                                     configured=["webhook", "pa"])
            assert status["channels"] == {
                "configured": ["pa", "webhook"], "unused": ["pa"],
                "unserved": {"sms": ["sl-a", "fo-a1", "dir-1", "dir-2"]}}
        finally:
            await svc.stop()

    world.run(body)
    logged = [r.getMessage() for r in caplog.records]
    assert "delivery channel pa is configured but nobody on the roster lists it: it sends " \
           "nothing" in logged
    assert "no sms channel is configured, but sl-a, fo-a1, dir-1, dir-2, safe-1, sl-c list " \
           "it; reached on other channels" in logged
    assert "no email channel is configured, but safe-1 lists it; reached on other channels" \
        in logged


class WeComRobot:
    """A WeCom group robot on 127.0.0.1: records each post's JSON body."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.posts.append(json.loads(self.rfile.read(
                    int(self.headers["Content-Length"]))))
                body = b'{"errcode": 0, "errmsg": "ok"}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send?key=K"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_stage_goes_to_a_group_robot_as_one_post(world: World) -> None:
    with_channels(world.site, **{"sl-a": ("wecom",), "fo-a1": ("wecom",),
                                 "fo-a2": ("wecom",)})
    robot = WeComRobot()

    async def body() -> None:
        clock = ScriptedClock()

        async def sleep(seconds: float) -> None:
            clock.advance(seconds)
            await asyncio.sleep(0)

        wecom = WebhookChannel(WebhookTarget(kind="wecom", url=robot.url), clock, sleep=sleep)
        svc = world.service([wecom])
        await svc.start()
        try:
            inc_id = await svc.activate("P-L1", "U-210", commander="sl-a", by="operator:wang")
            msgs = [m for m in svc.outbox.for_incident(inc_id) if m.channel == "wecom"]
            assert len(msgs) == 3
            await until(lambda: all(m.state == MessageState.SENT for m in msgs))
            (post,) = robot.posts  # one post mentions all three instead of three posts
            assert post["text"]["mentioned_mobile_list"] == [phone("sl-a"), phone("fo-a1"),
                                                             phone("fo-a2")]
            assert post["text"]["content"] == msgs[0].text
            claims = [e for e in world.log.read(incident_id=inc_id)
                      if e.type == NOTIFICATION_SENDING]
            assert sorted(e.payload["message_id"] for e in claims) == sorted(m.id for m in msgs)
        finally:
            await svc.stop()

    try:
        world.run(body)
    finally:
        robot.close()


def test_the_pa_announces_an_activation_once(world: World, tmp_path: Path) -> None:
    from commandcenter.notify.config import PaSettings
    from commandcenter.notify.pa import PaChannel

    with_channels(world.site, **{"fo-a1": ("pa", "sms"), "fo-a2": ("pa", "webhook"),
                                 "sl-a": ("sms", "pa")})
    spoken = tmp_path / "spoken.txt"
    append = ("import sys, pathlib; p = pathlib.Path(sys.argv[1]); "
              "p.write_text((p.read_text(encoding='utf-8') if p.exists() else '') + "
              "sys.argv[2] + '\\n', encoding='utf-8')")
    pa = PaChannel(PaSettings(command=(sys.executable, "-c", append, str(spoken), "{text}")))

    async def body() -> None:
        svc = world.service([pa])
        await svc.start()
        try:
            inc_id = await svc.activate("P-L1", "U-210", commander="sl-a", by="operator:wang")
            (announce,) = [m for m in svc.outbox.for_incident(inc_id) if m.channel == "pa"]
            await until(lambda: announce.state == MessageState.SENT)
            await asyncio.sleep(0.3)
            lines = spoken.read_text(encoding="utf-8").splitlines()
            assert lines == ["各岗位注意：泄漏处置（L1）已启动，地点加氢装置(U-210)。"
                             "一级报警，请到现场。"]
            status = incident_status(svc.state, inc_id, world.clock.now())
            assert [(b["channel"], b["state"]) for b in status["broadcasts"]] == [("pa", "sent")]
        finally:
            await svc.stop()

    world.run(body)
