"""An incident desk kept in memory: the real core, no database.

:class:`MemoryDesk` answers the :class:`~commandcenter.services.protocols.IncidentDesk` protocol
with the core's own commands: each action's events are recorded (sequence number, time from the
clock, hash chain) with :func:`commandcenter.core.events.record` and folded into a real
:class:`IncidentBook` and :class:`Notifier`. Only the durable log is missing, so it serves the
``incident`` screenshot view, documentation and the screens' tests, never a plant.

:func:`scripted_incident` plays a short, fixed sequence on it — PLAN-TOXIC-L2 activated at U-120,
messages sent and delivered through a simulated GSM modem, replies, a phone answer, checklist
progress and position-log entries over seven and a half minutes — so the screens can be looked at
with what the core really produces.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from commandcenter.core import incidents as core
from commandcenter.core.clock import ScriptedClock
from commandcenter.core.events import GENESIS_HASH, Event, RecordedEvent, record
from commandcenter.core.incidents import IncidentBook, IncidentError, ShiftSchedule, plan_stages
from commandcenter.core.notify import MessageState, Notifier, Outbox
from commandcenter.core.site import Channel, Site
from commandcenter.services.protocols import ActivationPreview
from commandcenter.ui.incidents.people import commander_candidates

MAX_TICK_ROUNDS = 20
"""Notifier ticks per action at most (each may queue fail-overs the next one acts on)."""


class MemoryDesk:
    """An :class:`IncidentDesk` over the real core with the event log kept in memory.

    Args:
        site: The site (plans, roster, buildings).
        clock: Where event times come from.
        schedule: Who is on shift when (default: the site's time zone, 四班三倒).

    Attributes:
        events: Every event recorded so far, in log order.
    """

    name = "incidents"

    def __init__(self, site: Site, clock: ScriptedClock,
                 schedule: ShiftSchedule | None = None) -> None:
        self.site = site
        self.clock = clock
        self.schedule = schedule or ShiftSchedule.for_site(site)
        self.book = IncidentBook(clock)
        self.notifier = Notifier(site, self.schedule)
        self.outbox: Outbox = self.notifier.outbox
        self.events: list[RecordedEvent] = []
        self._prev = GENESIS_HASH

    # ------------------------------------------------------------------ component

    async def start(self) -> None:
        """Nothing to start: there is no log to replay."""

    async def stop(self) -> None:
        """Nothing to release."""

    # ------------------------------------------------------------------ log

    def record(self, events: Iterable[Event]) -> list[RecordedEvent]:
        """Record ``events`` at the clock's time and fold them into the book and notifier."""
        out: list[RecordedEvent] = []
        for ev in events:
            rec = record(ev, seq=len(self.events) + 1, ts=self.clock.now(), prev_hash=self._prev)
            self._prev = rec.hash
            self.events.append(rec)
            self.book.apply(rec)
            self.notifier.apply(rec)
            out.append(rec)
        return out

    def tick(self) -> None:
        """Record what the notifier says is due now (messages, escalations, fail-overs)."""
        for _ in range(MAX_TICK_ROUNDS):
            due = self.notifier.tick(self.clock.now())
            if not due:
                return
            self.record(due)

    # ------------------------------------------------------------------ IncidentDesk

    def preview(self, plan_id: str, location: str | Sequence[float]) -> ActivationPreview:
        """Return who would be notified if ``plan_id`` were activated now at ``location``."""
        try:
            plan = self.site.plans[plan_id]
        except KeyError as err:
            raise IncidentError(f"no plan {plan_id!r} on this site") from err
        stages = plan_stages(self.site, plan, self.schedule, self.clock.now())
        where = location if isinstance(location, str) else \
            f"[{float(location[0])}, {float(location[1])}]"
        return ActivationPreview(plan_id=plan.id, level=plan.level.value, location=where,
                                 stages=[(s.order, s.called_first) for s in stages],
                                 notes=[n for s in stages for n in s.notes])

    async def activate(self, plan_id: str, location: str | Sequence[float], *,
                       commander: str | None, by: str) -> str:
        """Open an incident and queue its first messages; return the incident id."""
        if commander is None:
            plan = self.site.plans.get(plan_id)
            choices = commander_candidates(self.site, plan, self.schedule, self.clock.now()) \
                if plan is not None else []
            if not choices:
                raise IncidentError(f"nobody on the roster can lead plan {plan_id}")
            commander = choices[0].person.id
        (rec,) = self.record(core.activate(self.site, self.book, plan_id, location=location,
                                           commander=commander, by=by, now=self.clock.now(),
                                           schedule=self.schedule))
        self.tick()
        assert rec.incident_id is not None
        return rec.incident_id

    async def escalate(self, incident_id: str, *, by: str) -> None:
        """Escalate to the plan's next level."""
        self.record(core.escalate(self.site, self.book, incident_id, by=by,
                                  now=self.clock.now(), schedule=self.schedule))
        self.tick()

    async def close(self, incident_id: str, *, by: str, confirmed: Sequence[int]) -> None:
        """Close, with the indexes of the termination conditions confirmed."""
        self.record(core.close(self.book, incident_id, by=by, confirmed=confirmed))

    async def log(self, incident_id: str, *, text: str, author: str) -> None:
        """Add a position-log entry."""
        self.record(core.log_entry(self.book, incident_id, text=text, author=author))

    async def set_step(self, incident_id: str, plan_id: str, step_id: str, state: str, *,
                       by: str, note: str = "") -> None:
        """Mark a checklist step ``in_progress``, ``done`` or ``not_applicable``."""
        if state == core.StepState.IN_PROGRESS:
            events = core.start_step(self.book, incident_id, plan_id, step_id, by=by,
                                     note=note or None)
        elif state == core.StepState.DONE:
            events = core.finish_step(self.book, incident_id, plan_id, step_id, by=by,
                                      note=note or None)
        elif state == core.StepState.NOT_APPLICABLE:
            events = core.skip_step(self.book, incident_id, plan_id, step_id, by=by, note=note)
        else:
            raise IncidentError(f"a step cannot be set to {state!r}")
        self.record(events)

    async def record_answer(self, incident_id: str, person_id: str, *, recorded_by: str,
                            declined: bool = False) -> None:
        """Record an acknowledgement (or decline) taken by phone."""
        answer = self.notifier.decline if declined else self.notifier.acknowledge
        self.record(answer(incident_id, person_id, channel=Channel.PHONE,
                           recorded_by=recorded_by))
        self.tick()


# ---------------------------------------------------------------------- the scripted sequence

SCRIPT_PLAN = "PLAN-TOXIC-L2"
SCRIPT_LOCATION = "U-120"
SCRIPT_LENGTH_S = 7 * 60 + 32
"""How long the scripted incident has been running when the sequence ends."""

GSM_SECONDS_PER_SMS = 5
"""One text every 5 s: a GSM modem's 10–20 messages a minute."""
DELIVERY_S = 15
"""Seconds from sending to the delivery report."""


class _Script:
    """Plays the scripted sequence on a desk, second by second of scripted time."""

    def __init__(self, desk: MemoryDesk, start: datetime) -> None:
        self.desk = desk
        self.start = start
        self.failed_once: set[str] = set()
        self.fail_person: str | None = None

    def run_until(self, seconds: float) -> None:
        """Advance to ``start + seconds``, ticking the notifier and the modem every 5 s."""
        target = self.start + timedelta(seconds=seconds)
        clock = self.desk.clock
        while clock.now() < target:
            step = min(GSM_SECONDS_PER_SMS, (target - clock.now()).total_seconds())
            clock.advance(step)
            self.desk.tick()
            self.channels()

    def channels(self) -> None:
        desk = self.desk
        now = desk.clock.now()
        sms_sent = False
        for m in desk.outbox.due(now):
            if m.channel == Channel.SMS:
                if sms_sent:
                    continue
                sms_sent = True
            if m.person == self.fail_person and m.id not in self.failed_once:
                self.failed_once.add(m.id)
                desk.record(desk.outbox.failed_to_send(m.id, "+CMS ERROR: 331 (no network)"))
                continue
            desk.record(desk.outbox.sent(m.id, ref=f"{m.channel}-{m.id[-4:]}"))
        for m in desk.outbox.in_flight():
            if m.sent_at is not None and (now - m.sent_at).total_seconds() >= DELIVERY_S:
                desk.record(desk.outbox.delivered(m.id))

    def reply(self, person: str, text: str) -> None:
        self.desk.record(self.desk.notifier.handle_reply(person, text).events)
        self.desk.tick()

    def step(self, incident_id: str, step_id: str, state: str, by: str) -> None:
        inc = self.desk.book.get(incident_id)
        if any(s.key == (inc.plan, step_id) for s in inc.steps):
            events = {"in_progress": core.start_step, "done": core.finish_step}[state](
                self.desk.book, incident_id, inc.plan, step_id, by=by)
            self.desk.record(events)


def scripted_incident(site: Site, end: datetime) -> MemoryDesk | None:
    """Return a desk whose incident has been running for :data:`SCRIPT_LENGTH_S` at ``end``.

    PLAN-TOXIC-L2 is activated at U-120 (or the site's first plan and building when it has
    neither) under the first person who may lead it; the sequence then plays on the real core.
    Returns ``None`` when the site has no plan or no building to activate one at.
    """
    plan = site.plans.get(SCRIPT_PLAN) or next(iter(site.plans.values()), None)
    location = SCRIPT_LOCATION if SCRIPT_LOCATION in site.buildings else \
        next(iter(site.buildings), None)
    if plan is None or location is None:
        return None
    start = end - timedelta(seconds=SCRIPT_LENGTH_S)
    clock = ScriptedClock(start)
    desk = MemoryDesk(site, clock)
    leaders = commander_candidates(site, plan, desk.schedule, start)
    if not leaders:
        return None
    operators = [p for p in site.people_with_role("control_room_operator")
                 if desk.schedule.is_on_shift(p.shift, start)]
    by = f"person:{operators[0].id}" if operators else "operator:console"
    (rec,) = desk.record(core.activate(site, desk.book, plan.id, location=location,
                                       commander=leaders[0].person.id, by=by, now=start,
                                       schedule=desk.schedule))
    incident_id = rec.incident_id
    assert incident_id is not None
    code = desk.book.get(incident_id).code
    stages = desk.notifier.stages(incident_id)
    called = [[p for p in st.contacted] for st in stages]
    script = _Script(desk, start)
    if len(called) > 2 and called[2]:
        script.fail_person = called[2][-1]
    desk.tick()
    script.channels()

    def first(stage: int, k: int) -> str | None:
        return called[stage][k] if stage < len(called) and k < len(called[stage]) else None

    actions: list[tuple[float, str, tuple[str, ...]]] = [
        (35, "step", ("confirm", "done")),
        (40, "reply", (first(0, 0) or "", f"1 {code}")),
        (55, "log", ("中控：液氯充装站氯气探测器 2# 二级报警 2.6 ppm，"
                     "现场风向东南、风速 2.3 m/s。",)),
        (70, "reply", (first(0, 1) or "", "收到")),
        (90, "step", ("activate", "done")),
        (110, "reply", (first(1, 0) or "", f"{code} 1")),
        (130, "reply", (first(1, 1) or "", "2")),
        (150, "log", ("外操佩戴空气呼吸器确认：3 号充装鹤管法兰泄漏，可见黄绿色气体。",)),
        (160, "step", ("stop_filling", "done")),
        (180, "step", ("scrubber", "in_progress")),
        (190, "step", ("isolate", "in_progress")),
        (210, "phone", (first(1, 2) or "",)),
        (240, "reply", (first(2, 0) or "", "1")),
        (270, "reply", (first(2, 1) or "", "在厂外，20分钟后到")),
        (360, "reply", (first(3, 0) or "", f"1{code}")),
        (400, "log", ("消防队下风侧水幕已出水；警戒疏散组正在设置 100 m 隔离。",)),
    ]
    for at, kind, args in actions:
        script.run_until(at)
        if kind == "step":
            script.step(incident_id, args[0], args[1], by)
        elif kind == "reply" and args[0]:
            script.reply(args[0], args[1])
        elif kind == "phone" and args[0]:
            desk.record(desk.notifier.acknowledge(incident_id, args[0], channel=Channel.PHONE,
                                                  recorded_by=by))
            desk.tick()
        elif kind == "log":
            desk.record(core.log_entry(desk.book, incident_id, text=args[0], author=by))
    script.run_until(SCRIPT_LENGTH_S)
    return desk


def message_states(desk: MemoryDesk, incident_id: str) -> dict[MessageState, int]:
    """Return how many of an incident's messages are in each state."""
    out: dict[MessageState, int] = {}
    for m in desk.outbox.for_incident(incident_id):
        out[m.state] = out.get(m.state, 0) + 1
    return out
