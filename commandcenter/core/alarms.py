"""The alarm engine: gauge readings and operator actions in, alarm events out.

The engine follows the alarm life cycle of ISA-18.2 / IEC 62682 for every limit of every gauge,
plus two quality alarms per gauge (loss of communication, bad value). It is event-sourced:

* :class:`AlarmEngine` turns readings (:meth:`~AlarmEngine.process`), link faults
  (:meth:`~AlarmEngine.comm_fault`), the passing of time (:meth:`~AlarmEngine.tick`) and operator
  actions (acknowledge, shelve, reset …) into :class:`~commandcenter.core.events.Event` objects.
  It never writes anywhere; the caller appends the returned events to the event log.
* :class:`AlarmBoard` folds recorded ``alarm.*`` events into the current list of alarms and
  announces changes through its signals. It folds with the same function the engine uses for its
  own state (:func:`apply_alarm_event`), so the board after replaying the log equals the live
  engine, including after a restart (:meth:`AlarmEngine.resume`).

Alarm ids are ``<gauge>:<direction>:<level>`` for limits (``GD-101:high:alarm1``),
``<gauge>:comm`` for loss of communication and ``<gauge>:bad_value`` for readings that cannot be
trusted (not a number, infinite, outside the gauge's range). A whole link (an RS-485 line, a
gateway) that goes down raises ONE ``<link>:link`` alarm (:meth:`~AlarmEngine.link_fault`); the
communication alarms of its gauges are then suppressed by design, so one dead line is one alarm,
not one per detector on it.

A pre-alarm asks the post to check on site. When the post confirms the condition
(:meth:`~AlarmEngine.confirm`), the pre-alarm becomes a formal alarm and offers the plans a first
level alarm of its gauge would offer.

States (see :class:`AlarmState`) are derived from a few independent facts of an :class:`Alarm`:
whether its condition is active, whether it is acknowledged, whether it is latched, and whether
it is hidden by shelving, suppression by design or removal from service.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Literal

from commandcenter.core.clock import Clock
from commandcenter.core.events import Event, JsonValue, RecordedEvent, format_ts
from commandcenter.core.signals import Signal
from commandcenter.core.site import ALARM_LEVEL_ORDER, AlarmLevel, Gauge, Plan, PlanLevel, Site

_LOGGER = logging.getLogger(__name__)

# --------------------------------------------------------------------------- event types

RAISED: Final = "alarm.raised"
"""A limit's condition became active (after its on-delay)."""
RETURNED: Final = "alarm.returned"
"""A condition returned to normal and the alarm still needs attention (unacknowledged, latched
or hidden)."""
CLEARED: Final = "alarm.cleared"
"""A condition returned to normal and the alarm went straight back to normal."""
ACKNOWLEDGED: Final = "alarm.acknowledged"
REALARMED: Final = "alarm.realarmed"
"""An acknowledged alarm stayed active longer than its re-alarm time and is announced again."""
SHELVED: Final = "alarm.shelved"
UNSHELVED: Final = "alarm.unshelved"
SUPPRESSED: Final = "alarm.suppressed"
UNSUPPRESSED: Final = "alarm.unsuppressed"
OUT_OF_SERVICE: Final = "alarm.out_of_service"
RETURNED_TO_SERVICE: Final = "alarm.returned_to_service"
RESET: Final = "alarm.reset"
COMMENT: Final = "alarm.comment"
COMM_FAULT: Final = "alarm.comm_fault"
"""Communication with a gauge was lost (raises ``<gauge>:comm``)."""
COMM_RESTORED: Final = "alarm.comm_restored"
BAD_VALUE: Final = "alarm.bad_value"
"""A gauge sent a reading that cannot be trusted (raises ``<gauge>:bad_value``)."""
LINK_FAULT: Final = "alarm.link_fault"
"""A whole link is down (raises ``<link>:link``; its gauges' comm alarms are suppressed)."""
LINK_RESTORED: Final = "alarm.link_restored"
CONFIRMED: Final = "alarm.confirmed"
"""The post confirmed a pre-alarm on site: it is a formal alarm now and offers plans."""

ACTIVATIONS: Final = frozenset({RAISED, COMM_FAULT, BAD_VALUE, LINK_FAULT})
"""Event types that make an alarm's condition active."""
RETURNS: Final = frozenset({RETURNED, CLEARED, COMM_RESTORED, LINK_RESTORED})
"""Event types that make an alarm's condition inactive."""
EVENT_TYPES: Final = ACTIVATIONS | RETURNS | frozenset({
    ACKNOWLEDGED, REALARMED, SHELVED, UNSHELVED, SUPPRESSED, UNSUPPRESSED, OUT_OF_SERVICE,
    RETURNED_TO_SERVICE, RESET, COMMENT, CONFIRMED,
})
"""Every event type the engine emits and the board folds."""


# --------------------------------------------------------------------------- vocabulary


class AlarmState(StrEnum):
    """Alarm states of ISA-18.2 / IEC 62682 as the operator sees them."""

    NORMAL = "normal"
    UNACK_ACTIVE = "unack_active"
    """Active and not yet acknowledged: the horn sounds."""
    ACK_ACTIVE = "ack_active"
    RTN_UNACK = "rtn_unack"
    """Returned to normal before anyone acknowledged it."""
    LATCHED = "latched"
    """A latching alarm whose condition returned to normal; it stays until an explicit reset."""
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    """Suppressed by design (plant logic, e.g. a unit that is shut down)."""
    OUT_OF_SERVICE = "out_of_service"


HIDDEN_STATES: Final = frozenset({AlarmState.SHELVED, AlarmState.SUPPRESSED,
                                  AlarmState.OUT_OF_SERVICE})
"""States in which an alarm is not announced to the operator."""
ACTIVE_STATES: Final = frozenset({AlarmState.UNACK_ACTIVE, AlarmState.ACK_ACTIVE})


class Priority(StrEnum):
    """Alarm priorities (EEMUA 191 aims at roughly 5 % / 15 % / 80 % of alarms)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """3 for high, 2 for medium, 1 for low."""
        return {"high": 3, "medium": 2, "low": 1}[self.value]


class AlarmKind(StrEnum):
    """What an alarm is about."""

    PROCESS = "process"
    """A reading crossed one of the gauge's limits."""
    COMM = "comm"
    """The gauge cannot be reached: it is blind, not normal."""
    BAD_VALUE = "bad_value"
    """The gauge answers with readings that cannot be trusted."""
    LINK = "link"
    """A whole link is down: every gauge on it is blind (``gauge`` holds the link id)."""


Direction = Literal["high", "low"]

DEFAULT_PRIORITIES: Final[Mapping[AlarmLevel, Priority]] = {
    AlarmLevel.ALARM2: Priority.HIGH,
    AlarmLevel.ALARM1: Priority.MEDIUM,
    AlarmLevel.PREALARM: Priority.LOW,
}


class AlarmError(Exception):
    """Base of the alarm engine's errors."""


class UnknownAlarmError(AlarmError, LookupError):
    """No alarm or gauge with that id is known to the engine."""


class ActionRefusedError(AlarmError):
    """An operator action does not apply to the alarm in its current state."""


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class AlarmSettings:
    """Site-wide alarm settings (every field has the default the standards suggest).

    Attributes:
        priorities: Priority of each limit level.
        priority_overrides: Priority of single alarms by alarm id, over ``priorities``.
        comm_priority: Priority of loss-of-communication alarms.
        bad_value_priority: Priority of bad-value alarms.
        link_priority: Priority of link alarms (a whole line of gauges is blind).
        realarm_s: Seconds an acknowledged alarm may stay active before it is announced again;
            ``None`` turns re-alarming off.
        realarm_overrides: Re-alarm time per gauge id (``None`` turns it off for that gauge).
        max_shelve_min: Longest a timed shelving may last (one shift by default).
        link_release_s: Seconds after its link came back that a gauge may stay silent before
            its own communication alarm, held back while the link was down, is announced.
    """

    priorities: Mapping[AlarmLevel, Priority] = field(
        default_factory=lambda: dict(DEFAULT_PRIORITIES))
    priority_overrides: Mapping[str, Priority] = field(default_factory=dict)
    comm_priority: Priority = Priority.MEDIUM
    bad_value_priority: Priority = Priority.MEDIUM
    link_priority: Priority = Priority.HIGH
    realarm_s: float | None = None
    realarm_overrides: Mapping[str, float | None] = field(default_factory=dict)
    max_shelve_min: float = 480.0
    link_release_s: float = 60.0

    def __post_init__(self) -> None:
        missing = [lvl.value for lvl in AlarmLevel if lvl not in self.priorities]
        if missing:
            raise ValueError(f"priorities: no priority for {', '.join(missing)}")
        for value in (self.realarm_s, *self.realarm_overrides.values()):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError("re-alarm times must be positive numbers of seconds")
        if not (math.isfinite(self.max_shelve_min) and self.max_shelve_min > 0):
            raise ValueError("max_shelve_min must be a positive number of minutes")
        if not (math.isfinite(self.link_release_s) and self.link_release_s >= 0):
            raise ValueError("link_release_s must be a number of seconds, 0 or more")

    def realarm_for(self, gauge_id: str) -> float | None:
        """Return the re-alarm time in seconds for ``gauge_id`` (``None``: no re-alarm)."""
        if gauge_id in self.realarm_overrides:
            return self.realarm_overrides[gauge_id]
        return self.realarm_s


# --------------------------------------------------------------------------- the alarm record


@dataclass(frozen=True, slots=True)
class AlarmSpec:
    """What an alarm is: everything about it that does not change with its state.

    Attributes:
        id: ``GD-101:high:alarm1``, ``GD-101:comm``, ``GD-101:bad_value`` or ``RS485-1:link``.
        gauge: The gauge id (the link id for a link alarm).
        kind: Limit alarm, one of the two quality alarms of a gauge, or a link alarm.
        level: Limit level (``None`` for quality alarms).
        direction: ``"high"`` or ``"low"`` (``None`` for quality alarms).
        limit: The limit value (``None`` for quality alarms).
        unit: The gauge's unit.
        priority: Priority for display, horn and alarm-load figures.
        latching: Whether the alarm stays latched after returning to normal until reset.
        plans: Ids of the plans to offer when it is raised (formal alarms).
        action: What the alarm asks for: ``"check"`` (a pre-alarm: the post checks on site),
            ``"respond"`` (a formal alarm) or ``"repair"`` (the gauge itself needs attention).
    """

    id: str
    gauge: str
    kind: AlarmKind
    level: AlarmLevel | None
    direction: Direction | None
    limit: float | None
    unit: str
    priority: Priority
    latching: bool = False
    plans: tuple[str, ...] = ()
    action: str = "respond"

    @property
    def formal(self) -> bool:
        """True for alarm1/alarm2 limits: a formal alarm, not a request to check."""
        return self.level in (AlarmLevel.ALARM1, AlarmLevel.ALARM2)

    def payload(self) -> dict[str, JsonValue]:
        """Return the JSON fields every event of this alarm carries."""
        return {
            "alarm": self.id,
            "gauge": self.gauge,
            "kind": self.kind.value,
            "level": self.level.value if self.level else None,
            "direction": self.direction,
            "limit": self.limit,
            "unit": self.unit,
            "priority": self.priority.value,
            "latching": self.latching,
            "plans": list(self.plans),
            "action": self.action,
            "formal": self.formal,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> AlarmSpec:
        """Read the fields written by :meth:`payload` (raises on missing or bad fields)."""
        level = payload["level"]
        direction = payload["direction"]
        if direction not in (None, "high", "low"):
            raise ValueError(f"direction {direction!r} is neither high nor low")
        limit = payload["limit"]
        return cls(
            id=str(payload["alarm"]),
            gauge=str(payload["gauge"]),
            kind=AlarmKind(payload["kind"]),
            level=AlarmLevel(level) if level is not None else None,
            direction=direction,
            limit=float(limit) if limit is not None else None,
            unit=str(payload["unit"]),
            priority=Priority(payload["priority"]),
            latching=bool(payload["latching"]),
            plans=tuple(str(p) for p in payload["plans"]),
            action=str(payload["action"]),
        )


@dataclass(frozen=True, slots=True)
class Shelving:
    """Why, by whom and until when an alarm is shelved.

    Attributes:
        by: Who shelved it.
        reason: Why (required).
        at: When.
        one_shot: Shelved until its condition next returns to normal.
        until: When a timed shelving runs out (``None`` for one-shot, or when it is unknown).
    """

    by: str
    reason: str
    at: datetime
    one_shot: bool
    until: datetime | None


@dataclass(frozen=True, slots=True)
class Hold:
    """Who took an alarm out of view (suppression by design, removal from service), and why."""

    by: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Comment:
    """An operator's note on an alarm."""

    by: str
    text: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Confirmation:
    """The post confirmed a pre-alarm on site: from then on it is a formal alarm.

    Attributes:
        by: Who confirmed it.
        note: What the post found (may be empty).
        at: When.
        plans: Ids of the plans it offers now (those a first-level alarm of its gauge offers).
        priority: Its priority as a formal alarm.
    """

    by: str
    note: str
    at: datetime
    plans: tuple[str, ...]
    priority: Priority


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm and its current state, as the engine and the board both see it.

    Attributes:
        spec: What the alarm is.
        active: The alarm condition holds (after on- and off-delays), whether shown or not.
        acknowledged: The operator has acknowledged the current announcement.
        latched: A latching alarm that has been announced and not yet reset.
        shelving: Set while the alarm is shelved.
        suppression: Set while the alarm is suppressed by design.
        out_of_service: Set while the alarm is removed from service.
        value: The reading at the last change of condition (``None`` when it was not a number).
        detail: Why a quality alarm is active (``"not a number"``, ``"above range"`` …).
        active_since: When the condition last became active.
        changed_at: When the last event of this alarm happened.
        acked_by: Who acknowledged it last.
        acked_at: When it was acknowledged last.
        comments: Operators' notes, oldest first.
        confirmation: Set once the post has confirmed a pre-alarm (cleared when it is raised
            anew).
    """

    spec: AlarmSpec
    active: bool = False
    acknowledged: bool = True
    latched: bool = False
    shelving: Shelving | None = None
    suppression: Hold | None = None
    out_of_service: Hold | None = None
    value: float | None = None
    detail: str = ""
    active_since: datetime | None = None
    changed_at: datetime | None = None
    acked_by: str | None = None
    acked_at: datetime | None = None
    comments: tuple[Comment, ...] = ()
    confirmation: Confirmation | None = None

    @property
    def id(self) -> str:
        """The alarm id."""
        return self.spec.id

    @property
    def gauge(self) -> str:
        """The gauge id."""
        return self.spec.gauge

    @property
    def priority(self) -> Priority:
        """The alarm's priority (a confirmed pre-alarm takes its formal priority)."""
        c = self.confirmation
        if c is not None and c.priority.rank > self.spec.priority.rank:
            return c.priority
        return self.spec.priority

    @property
    def formal(self) -> bool:
        """True for first and second level alarms, and for pre-alarms the post confirmed."""
        return self.spec.formal or self.confirmation is not None

    @property
    def plans(self) -> tuple[str, ...]:
        """Ids of the plans to offer (a confirmed pre-alarm offers its confirmation's plans)."""
        if self.confirmation is None:
            return self.spec.plans
        return tuple(dict.fromkeys((*self.spec.plans, *self.confirmation.plans)))

    @property
    def action(self) -> str:
        """``"check"``, ``"respond"`` or ``"repair"`` (a confirmed pre-alarm asks to respond)."""
        return "respond" if self.confirmation is not None else self.spec.action

    @property
    def hidden(self) -> bool:
        """True while shelved, suppressed or out of service."""
        return (self.shelving is not None or self.suppression is not None
                or self.out_of_service is not None)

    @property
    def state(self) -> AlarmState:
        """The ISA-18.2 state, derived from the facts above."""
        if self.out_of_service is not None:
            return AlarmState.OUT_OF_SERVICE
        if self.suppression is not None:
            return AlarmState.SUPPRESSED
        if self.shelving is not None:
            return AlarmState.SHELVED
        if self.active:
            return AlarmState.ACK_ACTIVE if self.acknowledged else AlarmState.UNACK_ACTIVE
        if self.latched:
            return AlarmState.LATCHED
        return AlarmState.NORMAL if self.acknowledged else AlarmState.RTN_UNACK


# --------------------------------------------------------------------------- the fold


def parse_ts(text: str) -> datetime:
    """Read a time written by :func:`~commandcenter.core.events.format_ts`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def event_time(event: RecordedEvent) -> datetime:
    """When an alarm event happened: its ``at`` field, else the time it was recorded."""
    at = event.payload.get("at")
    if isinstance(at, str):
        try:
            return parse_ts(at)
        except ValueError:
            return event.ts
    return event.ts


def _unhidden(alarm: Alarm, at: datetime, *, manual_unshelve: bool, by: str) -> Alarm:
    """Return ``alarm`` taking its process state again after its last hiding ended.

    IEC 62682 §11.7.3: an alarm the operator unshelves returns acknowledged; one that comes back
    by itself (shelving ran out, suppression ended, returned to service) is announced again.
    """
    if alarm.hidden:
        return alarm
    if not alarm.active:
        return replace(alarm, acknowledged=True, latched=False)
    if manual_unshelve:
        return replace(alarm, acknowledged=True, acked_by=by, acked_at=at,
                       latched=alarm.spec.latching)
    return replace(alarm, acknowledged=False, latched=alarm.spec.latching)


def apply_alarm_event(alarm: Alarm | None, event_type: str,
                      payload: Mapping[str, Any]) -> Alarm:
    """Return the alarm after ``event_type`` with ``payload`` (the one transition function).

    The engine calls this to change its own state, the board to fold recorded events, so both
    always agree. ``alarm`` is ``None`` for the first event of an alarm.

    Raises:
        KeyError, ValueError, TypeError: The payload lacks a field or holds a bad value.
    """
    spec = AlarmSpec.from_payload(payload)
    at = parse_ts(payload["at"])
    a = replace(alarm or Alarm(spec=spec), spec=spec, changed_at=at)
    who = str(payload.get("who") or "")
    if event_type in ACTIVATIONS:
        value = payload.get("value")
        a = replace(a, active=True, active_since=at,
                    value=float(value) if value is not None else None,
                    detail=str(payload.get("detail") or ""), confirmation=None)
        if not a.hidden:
            a = replace(a, acknowledged=False, latched=a.latched or spec.latching)
        return a
    if event_type in RETURNS:
        value = payload.get("value")
        return replace(a, active=False, value=float(value) if value is not None else a.value,
                       detail="")
    if event_type == ACKNOWLEDGED:
        return replace(a, acknowledged=True, acked_by=who, acked_at=at)
    if event_type == REALARMED:
        return replace(a, acknowledged=False)
    if event_type == RESET:
        if not a.acknowledged:
            a = replace(a, acknowledged=True, acked_by=who, acked_at=at)
        return replace(a, latched=False)
    if event_type == SHELVED:
        until = payload.get("until")
        return replace(a, shelving=Shelving(
            by=who, reason=str(payload["reason"]), at=at, one_shot=bool(payload["one_shot"]),
            until=parse_ts(until) if isinstance(until, str) else None))
    if event_type == UNSHELVED:
        automatic = bool(payload["automatic"])
        return _unhidden(replace(a, shelving=None), at, manual_unshelve=not automatic, by=who)
    if event_type == SUPPRESSED:
        return replace(a, suppression=Hold(by=who, reason=str(payload["reason"]), at=at))
    if event_type == UNSUPPRESSED:
        return _unhidden(replace(a, suppression=None), at, manual_unshelve=False, by=who)
    if event_type == OUT_OF_SERVICE:
        return replace(a, out_of_service=Hold(by=who, reason=str(payload["reason"]), at=at))
    if event_type == RETURNED_TO_SERVICE:
        return _unhidden(replace(a, out_of_service=None), at, manual_unshelve=False, by=who)
    if event_type == COMMENT:
        return replace(a, comments=(*a.comments, Comment(by=who, text=str(payload["text"]),
                                                         at=at)))
    if event_type == CONFIRMED:
        a = replace(a, confirmation=Confirmation(
            by=who, note=str(payload.get("note") or ""), at=at,
            plans=tuple(str(p) for p in payload["confirmed_plans"]),
            priority=Priority(payload["confirmed_priority"])))
        if not a.acknowledged:
            a = replace(a, acknowledged=True, acked_by=who, acked_at=at)
        return a
    raise ValueError(f"{event_type!r} is not an alarm event")


# --------------------------------------------------------------------------- the engine


def matching_plans(gauge: Gauge, level: AlarmLevel, plans: Iterable[Plan]) -> tuple[str, ...]:
    """Return ids of plans with a trigger for ``gauge``'s kind at or below ``level``.

    Ordered by plan level (L1 first), then id.
    """
    rank = ALARM_LEVEL_ORDER[level]
    found: dict[str, PlanLevel] = {}
    for plan in plans:
        for trig in plan.triggers:
            if (gauge.kind in trig.gauge_kinds and trig.min_alarm_level is not None
                    and ALARM_LEVEL_ORDER[trig.min_alarm_level] <= rank):
                found[plan.id] = plan.level
    return tuple(sorted(found, key=lambda pid: (found[pid].rank, pid)))


def _pegged_direction(gauge: Gauge, value: float) -> Direction | None:
    """Return ``"high"``/``"low"`` for a finite reading beyond that end of the range."""
    if not math.isfinite(value):
        return None
    lo, hi = gauge.range
    if value > hi:
        return "high"
    if value < lo:
        return "low"
    return None


@dataclass(slots=True)
class _Detector:
    """The debouncing state of one limit: raw condition with hysteresis, and since when."""

    spec: AlarmSpec
    limit: float
    direction: Direction
    raw: bool = False
    since: datetime | None = None
    """When ``raw`` last changed; ``None`` after a gap in trustworthy readings."""

    def update(self, value: float, deadband: float, ts: datetime) -> None:
        if self.direction == "high":
            raw = value >= (self.limit - deadband if self.raw else self.limit)
        else:
            raw = value <= (self.limit + deadband if self.raw else self.limit)
        if raw != self.raw or self.since is None:
            self.raw = raw
            self.since = ts


@dataclass(slots=True)
class _GaugeRuntime:
    gauge: Gauge
    detectors: list[_Detector]
    """Ordered lowest level first, high limits before low limits."""
    comm_id: str
    bad_id: str
    link_id: str
    """The id of the gauge's link alarm (``<link>:link``)."""
    last_ts: datetime | None = None
    last_value: float | None = None


def link_alarm_id(link_id: str) -> str:
    """Return the id of the alarm a whole link raises when it is down: ``<link>:link``."""
    return f"{link_id}:link"


def link_hold(link_id: str) -> str:
    """Return who suppresses a gauge's comm alarm while its link is down: ``link:<link>``."""
    return f"link:{link_id}"


def _require(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise ActionRefusedError(f"{what} is required")
    return text


class AlarmEngine:
    """Turns readings, link faults, time and operator actions into alarm events.

    Every public method returns the events that happened, in order; the engine has already taken
    them into its own state, and the caller appends them to the event log. Thread-safe.

    Example:
        >>> engine = AlarmEngine.for_site(site, clock)
        >>> for event in engine.process("GD-101", 27.5):
        ...     log.append(event)
    """

    def __init__(self, gauges: Iterable[Gauge], clock: Clock, *, plans: Iterable[Plan] = (),
                 settings: AlarmSettings | None = None, drill_id: str | None = None) -> None:
        """Watch ``gauges`` with time from ``clock``.

        Args:
            gauges: The gauges to watch (their limits, deadband, delays and latching).
            clock: Where the time of operator actions and of :meth:`tick` comes from.
            plans: The site's plans; formal alarms offer those whose triggers match.
            settings: Priorities, re-alarm and shelving limits.
            drill_id: Stamped on every event (an engine fed by a drill's injects).
        """
        self._clock = clock
        self._settings = settings or AlarmSettings()
        self._drill_id = drill_id
        self._lock = threading.RLock()
        self._specs: dict[str, AlarmSpec] = {}
        self._alarms: dict[str, Alarm] = {}
        self._gauges: dict[str, _GaugeRuntime] = {}
        self._links: dict[str, list[str]] = {}
        """Link id → ids of the gauges on it."""
        self._link_up_at: dict[str, datetime] = {}
        """Link id → when it last came back (gauges still silent are announced later)."""
        self._confirm: dict[str, tuple[tuple[str, ...], Priority]] = {}
        """Pre-alarm id → plans and priority it takes when the post confirms it."""
        plan_list = list(plans)
        for gauge in gauges:
            self._add_gauge(gauge, plan_list)
        self._rules: dict[str, list[str]] = {}
        """Deciding gauge → gauges whose alarms it suppresses by design (``suppressed_when``)."""
        for rt in self._gauges.values():
            rule = rt.gauge.suppressed_when
            if rule is not None and rule.gauge in self._gauges and rule.gauge != rt.gauge.id:
                self._rules.setdefault(rule.gauge, []).append(rt.gauge.id)

    @classmethod
    def for_site(cls, site: Site, clock: Clock, *, settings: AlarmSettings | None = None,
                 drill_id: str | None = None) -> AlarmEngine:
        """Return an engine for every gauge of ``site``, offering its plans."""
        return cls(site.gauges.values(), clock, plans=site.plans.values(), settings=settings,
                   drill_id=drill_id)

    def _add_gauge(self, gauge: Gauge, plans: list[Plan]) -> None:
        s = self._settings
        detectors: list[_Detector] = []
        ordered = sorted(gauge.thresholds, key=lambda t: (t.direction != "high",
                                                          ALARM_LEVEL_ORDER[t.level]))
        for t in ordered:
            aid = f"{gauge.id}:{t.direction}:{t.level.value}"
            spec = AlarmSpec(
                id=aid, gauge=gauge.id, kind=AlarmKind.PROCESS, level=t.level,
                direction=t.direction, limit=t.value, unit=gauge.unit,
                priority=s.priority_overrides.get(aid, s.priorities[t.level]),
                latching=gauge.latching, plans=matching_plans(gauge, t.level, plans),
                action="check" if t.level == AlarmLevel.PREALARM else "respond")
            self._specs[aid] = spec
            detectors.append(_Detector(spec=spec, limit=t.value, direction=t.direction))
            if t.level == AlarmLevel.PREALARM:
                formal_id = f"{gauge.id}:{t.direction}:{AlarmLevel.ALARM1.value}"
                formal = s.priority_overrides.get(formal_id, s.priorities[AlarmLevel.ALARM1])
                self._confirm[aid] = (matching_plans(gauge, AlarmLevel.ALARM1, plans), formal)
        comm_id, bad_id = f"{gauge.id}:comm", f"{gauge.id}:bad_value"
        for aid, kind, prio in ((comm_id, AlarmKind.COMM, s.comm_priority),
                                (bad_id, AlarmKind.BAD_VALUE, s.bad_value_priority)):
            self._specs[aid] = AlarmSpec(
                id=aid, gauge=gauge.id, kind=kind, level=None, direction=None, limit=None,
                unit=gauge.unit, priority=s.priority_overrides.get(aid, prio), action="repair")
        link_id = link_alarm_id(gauge.link)
        if gauge.link not in self._links:
            self._links[gauge.link] = []
            self._specs[link_id] = AlarmSpec(
                id=link_id, gauge=gauge.link, kind=AlarmKind.LINK, level=None, direction=None,
                limit=None, unit="", priority=s.priority_overrides.get(link_id, s.link_priority),
                action="repair")
        self._links[gauge.link].append(gauge.id)
        self._gauges[gauge.id] = _GaugeRuntime(gauge=gauge, detectors=detectors,
                                               comm_id=comm_id, bad_id=bad_id, link_id=link_id)

    # ------------------------------------------------------------------ reading state

    @property
    def settings(self) -> AlarmSettings:
        """The settings the engine runs with."""
        return self._settings

    def specs(self) -> list[AlarmSpec]:
        """Return every alarm the engine can raise, gauge by gauge.

        A link's alarm follows the alarms of the first gauge on that link.
        """
        with self._lock:
            return list(self._specs.values())

    def links(self) -> dict[str, list[str]]:
        """Return the links of the watched gauges: link id → gauge ids on it."""
        return {lid: list(gids) for lid, gids in self._links.items()}

    def plans_if_confirmed(self, alarm_id: str) -> tuple[str, ...]:
        """Return the plans a pre-alarm would offer once confirmed (empty for other alarms)."""
        found = self._confirm.get(alarm_id)
        return found[0] if found is not None else ()

    def alarm(self, alarm_id: str) -> Alarm:
        """Return the current state of one alarm (normal if it never changed).

        Raises:
            UnknownAlarmError: No such alarm.
        """
        with self._lock:
            return self._get(alarm_id)

    def alarms(self) -> dict[str, Alarm]:
        """Return every alarm that has had an event (what a board folding them would hold)."""
        with self._lock:
            return dict(self._alarms)

    def alarm_ids(self, gauge_id: str) -> list[str]:
        """Return the ids of all alarms of one gauge (limits, then comm, then bad value).

        Raises:
            UnknownAlarmError: No such gauge.
        """
        rt = self._runtime(gauge_id)
        return [d.spec.id for d in rt.detectors] + [rt.comm_id, rt.bad_id]

    def _runtime(self, gauge_id: str) -> _GaugeRuntime:
        try:
            return self._gauges[gauge_id]
        except KeyError:
            raise UnknownAlarmError(f"no gauge {gauge_id!r}") from None

    def _get(self, alarm_id: str) -> Alarm:
        if alarm_id in self._alarms:
            return self._alarms[alarm_id]
        try:
            return Alarm(spec=self._specs[alarm_id])
        except KeyError:
            raise UnknownAlarmError(f"no alarm {alarm_id!r}") from None

    # ------------------------------------------------------------------ emitting

    def _emit(self, out: list[Event], alarm_id: str, event_type: str, source: str,
              at: datetime, **extra: JsonValue) -> Alarm:
        old = self._get(alarm_id)
        payload: dict[str, JsonValue] = old.spec.payload()
        payload["at"] = format_ts(at)
        payload.update(extra)
        new = apply_alarm_event(old, event_type, payload)
        if event_type == RETURNED and new.state == AlarmState.NORMAL:
            event_type = CLEARED
        payload["state_before"] = old.state.value
        payload["state_after"] = new.state.value
        self._alarms[alarm_id] = new
        out.append(Event(event_type, source, payload, drill_id=self._drill_id))
        return new

    def _now(self, ts: datetime | None) -> datetime:
        if ts is None:
            return self._clock.now()
        if ts.tzinfo is None:
            raise ValueError("times must be timezone-aware")
        return ts

    # ------------------------------------------------------------------ readings

    def process(self, gauge_id: str, value: float, ts: datetime | None = None) -> list[Event]:
        """Take one reading of a gauge and return the events it caused.

        A reading older than the last one taken for the gauge is ignored. A reading that is not
        a finite number inside the gauge's range raises the gauge's bad-value alarm, and limit
        alarms never clear on it. Fail-safe exception: a finite reading beyond one end of the
        range (a detector pegged at full scale) also drives that direction's limits with the
        range end, so a saturated gas head raises its high alarms. A reading while the gauge's
        link is in fault means the link works again.

        Args:
            gauge_id: The gauge.
            value: The reading, in the gauge's unit.
            ts: When it was measured (default: now).

        Raises:
            UnknownAlarmError: No such gauge.
        """
        value = float(value)
        with self._lock:
            rt = self._runtime(gauge_id)
            ts = self._now(ts)
            if rt.last_ts is not None and ts < rt.last_ts:
                return []
            rt.last_ts = ts
            bad = self._bad_reason(rt.gauge, value)
            out = self._process(rt, value, bad, ts)
            if gauge_id in self._rules:
                self._apply_rules(gauge_id, None if bad else value, ts, out)
            return out

    def _process(self, rt: _GaugeRuntime, value: float, bad: str,
                 ts: datetime) -> list[Event]:
        """Take a reading that is not late: quality alarms, then the limits.

        ``bad`` is why the value cannot be trusted (empty when it can).
        """
        gauge_id = rt.gauge.id
        out: list[Event] = []
        source = f"gauge:{gauge_id}"
        self._expire_shelves(self.alarm_ids(gauge_id), ts, out)
        if self._get(rt.link_id).active:
            self._link_up(rt.gauge.link, ts, out, detail=f"{gauge_id} answers")
        if self._get(rt.comm_id).active:
            self._emit(out, rt.comm_id, COMM_RESTORED, source, ts,
                       detail="a reading arrived")
        self._release_comm(rt, ts, out)
        if bad:
            if not self._get(rt.bad_id).active:
                self._emit(out, rt.bad_id, BAD_VALUE, source, ts,
                           value=value if math.isfinite(value) else None, detail=bad)
            pegged = _pegged_direction(rt.gauge, value)
            if pegged is None:
                for d in rt.detectors:
                    d.since = None
                return out
            # Fail-safe: a detector pegged beyond full scale reads *at least* full scale
            # (a saturated gas head is the worst leak, not a blind one). Its limits in that
            # direction are driven with the range end; no limit ever clears on such a value.
            end = rt.gauge.range[1] if pegged == "high" else rt.gauge.range[0]
            rt.last_value = end
            for d in rt.detectors:
                if d.direction == pegged:
                    d.update(end, rt.gauge.deadband, ts)
            self._settle(rt, ts, out, raise_only=True)
            return out
        if self._get(rt.bad_id).active:
            self._return(out, rt.bad_id, source, ts, value)
        rt.last_value = value
        for d in rt.detectors:
            d.update(value, rt.gauge.deadband, ts)
        self._settle(rt, ts, out)
        return out

    def _apply_rules(self, deciding: str, value: float | None, ts: datetime,
                     out: list[Event]) -> None:
        """Suppress or release the alarms that ``deciding``'s reading decides by design.

        ``value`` is ``None`` when the deciding gauge cannot be trusted or read: its rules
        then release their alarms (fail-safe: announce rather than hide).
        """
        by = f"rule:{deciding}"
        decider = self._gauges[deciding].gauge
        for target in self._rules.get(deciding, ()):
            rt = self._gauges[target]
            rule = rt.gauge.suppressed_when
            assert rule is not None
            ids = [d.spec.id for d in rt.detectors
                   if rule.alarms in ("all", d.direction)]
            held = any((h := self._get(aid).suppression) is not None and h.by == by
                       for aid in ids)
            on = value is not None and rule.holds(value, decider.deadband, held=held)
            for aid in ids:
                a = self._get(aid)
                if on and a.suppression is None:
                    side, limit = (("below", rule.below) if rule.below is not None
                                   else ("above", rule.above))
                    self._emit(out, aid, SUPPRESSED, f"logic:{by}", ts, who=by,
                               reason=f"{deciding} {side} {limit:g} {decider.unit}".strip())
                elif not on and a.suppression is not None and a.suppression.by == by:
                    self._emit(out, aid, UNSUPPRESSED, f"logic:{by}", ts, who=by)

    @staticmethod
    def _bad_reason(gauge: Gauge, value: float) -> str:
        if math.isnan(value):
            return "not a number"
        if math.isinf(value):
            return "infinite"
        lo, hi = gauge.range
        if value > hi:
            return "above range"
        if value < lo:
            return "below range"
        return ""

    def _settle(self, rt: _GaugeRuntime, now: datetime, out: list[Event],
                *, raise_only: bool = False) -> None:
        """Raise or return limits whose raw condition has held for their delay."""
        source = f"gauge:{rt.gauge.id}"
        on_delay = timedelta(seconds=rt.gauge.on_delay_s)
        off_delay = timedelta(seconds=rt.gauge.off_delay_s)
        for d in rt.detectors:
            if d.raw and d.since is not None and now - d.since >= on_delay \
                    and not self._get(d.spec.id).active:
                self._emit(out, d.spec.id, RAISED, source, now, value=rt.last_value)
        if raise_only:
            return
        for d in reversed(rt.detectors):
            if not d.raw and d.since is not None and now - d.since >= off_delay \
                    and self._get(d.spec.id).active:
                self._return(out, d.spec.id, source, now, rt.last_value)

    def _return(self, out: list[Event], alarm_id: str, source: str, at: datetime,
                value: float | None) -> None:
        new = self._emit(out, alarm_id, RETURNED, source, at, value=value)
        if new.shelving is not None and new.shelving.one_shot:
            self._emit(out, alarm_id, UNSHELVED, source, at, automatic=True,
                       reason="returned to normal (one-shot shelving ends)")

    def comm_fault(self, gauge_id: str, detail: str = "", ts: datetime | None = None,
                   ) -> list[Event]:
        """Report that a gauge cannot be reached; raises ``<gauge>:comm`` once.

        The gauge's limit alarms keep their state while it is blind, and pending on- and
        off-delays start again with the next reading.

        Raises:
            UnknownAlarmError: No such gauge.
        """
        with self._lock:
            rt = self._runtime(gauge_id)
            ts = self._now(ts)
            out: list[Event] = []
            for d in rt.detectors:
                d.since = None
            if self._get(rt.link_id).active:
                self._hold_comm(rt, ts, out)
            if not self._get(rt.comm_id).active:
                self._emit(out, rt.comm_id, COMM_FAULT, f"gauge:{gauge_id}", ts,
                           detail=detail or "no answer")
            if gauge_id in self._rules:  # a blind decider suppresses nothing (fail-safe)
                self._apply_rules(gauge_id, None, ts, out)
            return out

    def comm_restored(self, gauge_id: str, ts: datetime | None = None) -> list[Event]:
        """Report that a gauge answers again; returns ``<gauge>:comm`` if it was in fault.

        Raises:
            UnknownAlarmError: No such gauge.
        """
        with self._lock:
            rt = self._runtime(gauge_id)
            ts = self._now(ts)
            out: list[Event] = []
            if self._get(rt.comm_id).active:
                self._emit(out, rt.comm_id, COMM_RESTORED, f"gauge:{gauge_id}", ts)
            self._release_comm(rt, ts, out)
            return out

    # ------------------------------------------------------------------ whole links

    def _link_runtimes(self, link_id: str) -> list[_GaugeRuntime]:
        try:
            return [self._gauges[gid] for gid in self._links[link_id]]
        except KeyError:
            raise UnknownAlarmError(f"no link {link_id!r}") from None

    def link_fault(self, link_id: str, detail: str = "", ts: datetime | None = None,
                   ) -> list[Event]:
        """Report that a whole link is down: raise ``<link>:link`` once, hold back its gauges.

        The communication alarms of the link's gauges are suppressed by design while the link
        is down (one dead line is one alarm, not one per gauge); their faults are still
        recorded. Pending on- and off-delays of the link's gauges start again with their next
        reading.

        Raises:
            UnknownAlarmError: No gauge is on that link.
        """
        with self._lock:
            runtimes = self._link_runtimes(link_id)
            ts = self._now(ts)
            out: list[Event] = []
            aid = link_alarm_id(link_id)
            if not self._get(aid).active:
                self._emit(out, aid, LINK_FAULT, f"link:{link_id}", ts,
                           detail=detail or "link down")
            self._link_up_at.pop(link_id, None)
            for rt in runtimes:
                for d in rt.detectors:
                    d.since = None
                self._hold_comm(rt, ts, out)
            return out

    def link_restored(self, link_id: str, ts: datetime | None = None) -> list[Event]:
        """Report that a link works again; returns ``<link>:link`` if it was down.

        Gauges of the link that answer are released at once; a gauge that is still silent
        :attr:`AlarmSettings.link_release_s` later has its own communication alarm announced.

        Raises:
            UnknownAlarmError: No gauge is on that link.
        """
        with self._lock:
            self._link_runtimes(link_id)
            ts = self._now(ts)
            out: list[Event] = []
            if self._get(link_alarm_id(link_id)).active:
                self._link_up(link_id, ts, out)
            return out

    def _link_up(self, link_id: str, ts: datetime, out: list[Event], detail: str = "") -> None:
        self._emit(out, link_alarm_id(link_id), LINK_RESTORED, f"link:{link_id}", ts,
                   detail=detail or "link works again")
        self._link_up_at[link_id] = ts
        for rt in self._link_runtimes(link_id):
            self._release_comm(rt, ts, out)

    def _hold_comm(self, rt: _GaugeRuntime, ts: datetime, out: list[Event]) -> None:
        """Suppress the gauge's comm alarm because its whole link is down."""
        if self._get(rt.comm_id).suppression is None:
            link = rt.gauge.link
            self._emit(out, rt.comm_id, SUPPRESSED, f"link:{link}", ts, who=link_hold(link),
                       reason=f"link {link} is down")

    def _release_comm(self, rt: _GaugeRuntime, ts: datetime, out: list[Event], *,
                      force: bool = False) -> None:
        """End the link's hold on the gauge's comm alarm once the link works again.

        A gauge that answers is released at once; a silent one only with ``force`` (its own
        comm alarm is then announced).
        """
        a = self._get(rt.comm_id)
        link = rt.gauge.link
        if a.suppression is None or a.suppression.by != link_hold(link) \
                or self._get(rt.link_id).active or (a.active and not force):
            return
        self._emit(out, rt.comm_id, UNSUPPRESSED, f"link:{link}", ts, who=link_hold(link),
                   reason=f"link {link} works again")

    def _release_silent(self, now: datetime, out: list[Event]) -> None:
        wait = timedelta(seconds=self._settings.link_release_s)
        for link_id, up in list(self._link_up_at.items()):
            if now - up < wait:
                continue
            del self._link_up_at[link_id]
            for rt in self._link_runtimes(link_id):
                self._release_comm(rt, now, out, force=True)

    # ------------------------------------------------------------------ time

    def tick(self, now: datetime | None = None) -> list[Event]:
        """Let time pass: finish on/off-delays, end timed shelving, re-alarm.

        Call it about once a second; readings do the same work for their own gauge.
        """
        with self._lock:
            now = self._now(now)
            out: list[Event] = []
            self._expire_shelves(list(self._alarms), now, out)
            for rt in self._gauges.values():
                self._settle(rt, now, out)
                self._realarm(rt, now, out)
            self._release_silent(now, out)
            return out

    def _expire_shelves(self, alarm_ids: Iterable[str], now: datetime,
                        out: list[Event]) -> None:
        for aid in alarm_ids:
            a = self._alarms.get(aid)
            if a is None or a.shelving is None or a.shelving.until is None:
                continue
            if a.shelving.until <= now:
                self._emit(out, aid, UNSHELVED, f"gauge:{a.gauge}", now, automatic=True,
                           reason="shelving time ran out")

    def _realarm(self, rt: _GaugeRuntime, now: datetime, out: list[Event]) -> None:
        after = self._settings.realarm_for(rt.gauge.id)
        if after is None:
            return
        for aid in self.alarm_ids(rt.gauge.id):
            a = self._alarms.get(aid)
            if a is None or a.state != AlarmState.ACK_ACTIVE or a.acked_at is None:
                continue
            if now - a.acked_at >= timedelta(seconds=after):
                self._emit(out, aid, REALARMED, f"gauge:{rt.gauge.id}", now,
                           reason=f"still active {after:g} s after acknowledgement")

    # ------------------------------------------------------------------ restart

    def resume(self, alarms: Iterable[Alarm], now: datetime | None = None) -> list[Event]:
        """Take over the alarms a board rebuilt from the log after a restart.

        Limit alarms keep their condition until readings say otherwise (deadband applies to the
        first reading). One-shot shelving cannot be trusted across a restart (the condition may
        have returned while nothing watched), nor can shelving without a known end: such alarms
        are unshelved, as unacknowledged. Timed shelving that ran out meanwhile ends.

        Returns:
            The events of those unshelvings.
        """
        with self._lock:
            now = self._now(now)
            for a in alarms:
                self._alarms[a.id] = a
            for rt in self._gauges.values():
                for d in rt.detectors:
                    d.raw = self._get(d.spec.id).active
                    d.since = None
            self._link_up_at = {lid: now for lid in self._links
                                if not self._get(link_alarm_id(lid)).active}
            out: list[Event] = []
            for aid, a in list(self._alarms.items()):
                sh = a.shelving
                if sh is not None and (sh.one_shot or sh.until is None):
                    self._emit(out, aid, UNSHELVED, f"gauge:{a.gauge}", now, automatic=True,
                               reason="shelving state unknown after a restart")
            self._expire_shelves(list(self._alarms), now, out)
            return out

    # ------------------------------------------------------------------ operator actions

    def acknowledge(self, alarm_id: str, who: str) -> list[Event]:
        """Acknowledge an announced alarm.

        Raises:
            UnknownAlarmError: No such alarm.
            ActionRefusedError: It is hidden, or there is nothing to acknowledge.
        """
        with self._lock:
            who = _require(who, "who")
            a = self._get(alarm_id)
            if a.state == AlarmState.NORMAL:
                raise ActionRefusedError(f"{alarm_id} is normal: there is nothing to "
                                         "acknowledge")
            if a.hidden:
                raise ActionRefusedError(f"{alarm_id} is {a.state.value}: it is not announced, "
                                         "so there is nothing to acknowledge")
            if a.acknowledged:
                by = f" by {a.acked_by}" if a.acked_by else ""
                raise ActionRefusedError(f"{alarm_id} ({a.state.value}) is already "
                                         f"acknowledged{by}")
            out: list[Event] = []
            self._emit(out, alarm_id, ACKNOWLEDGED, f"operator:{who}", self._clock.now(),
                       who=who)
            return out

    def acknowledge_all(self, who: str, gauge_id: str | None = None) -> list[Event]:
        """Acknowledge every announced, unacknowledged alarm (of one gauge, if given).

        Raises:
            UnknownAlarmError: No such gauge.
            ActionRefusedError: ``who`` is empty.
        """
        with self._lock:
            who = _require(who, "who")
            ids = self.alarm_ids(gauge_id) if gauge_id is not None else list(self._alarms)
            out: list[Event] = []
            now = self._clock.now()
            for aid in ids:
                a = self._get(aid)
                if not a.hidden and not a.acknowledged:
                    self._emit(out, aid, ACKNOWLEDGED, f"operator:{who}", now, who=who)
            return out

    def confirm(self, alarm_id: str, who: str, note: str = "") -> list[Event]:
        """Record that the post confirmed an active pre-alarm on site: it becomes formal.

        The alarm then offers the plans a first-level alarm of its gauge offers and takes the
        first level's priority; confirming also acknowledges it.

        Raises:
            UnknownAlarmError: No such alarm.
            ActionRefusedError: Not a pre-alarm, not active, hidden, or already confirmed.
        """
        with self._lock:
            who = _require(who, "who")
            a = self._get(alarm_id)
            if a.spec.level is None:
                raise ActionRefusedError(f"{alarm_id} is a {a.spec.kind.value} alarm; only a "
                                         "pre-alarm can be confirmed")
            if a.spec.formal:
                raise ActionRefusedError(f"{alarm_id} is already a formal alarm "
                                         f"({a.spec.level.value})")
            if a.hidden:
                raise ActionRefusedError(f"{alarm_id} is {a.state.value}; it cannot be "
                                         "confirmed")
            if not a.active:
                raise ActionRefusedError(f"{alarm_id} is not active ({a.state.value}); only an "
                                         "active pre-alarm can be confirmed")
            if a.confirmation is not None:
                raise ActionRefusedError(f"{alarm_id} was already confirmed by "
                                         f"{a.confirmation.by}")
            plans, priority = self._confirm[alarm_id]
            out: list[Event] = []
            self._emit(out, alarm_id, CONFIRMED, f"operator:{who}", self._clock.now(), who=who,
                       note=note.strip(), confirmed_plans=list(plans),
                       confirmed_priority=priority.value,
                       acknowledged_by_confirm=not a.acknowledged)
            return out

    def shelve(self, alarm_id: str, who: str, reason: str,
               minutes: float | None = None) -> list[Event]:
        """Shelve an alarm for ``minutes``, or one-shot (until it returns to normal) if ``None``.

        Raises:
            UnknownAlarmError: No such alarm.
            ActionRefusedError: Already shelved, suppressed or out of service; no reason; a
                one-shot shelving of an alarm that is not active; a time that is not positive
                or longer than the site allows.
        """
        with self._lock:
            who = _require(who, "who")
            reason = _require(reason, "a reason for shelving")
            a = self._get(alarm_id)
            if a.hidden:
                raise ActionRefusedError(f"{alarm_id} is {a.state.value}; it cannot be shelved")
            now = self._clock.now()
            until: str | None = None
            if minutes is None:
                if not a.active:
                    raise ActionRefusedError(f"{alarm_id} is not active; one-shot shelving "
                                             "needs an active alarm")
            else:
                limit = self._settings.max_shelve_min
                if not (math.isfinite(minutes) and 0 < minutes <= limit):
                    raise ActionRefusedError(f"shelving time must be more than 0 and at most "
                                             f"{limit:g} minutes")
                until = format_ts(now + timedelta(minutes=minutes))
            out: list[Event] = []
            self._emit(out, alarm_id, SHELVED, f"operator:{who}", now, who=who, reason=reason,
                       one_shot=minutes is None, minutes=minutes, until=until)
            return out

    def unshelve(self, alarm_id: str, who: str) -> list[Event]:
        """Unshelve an alarm by hand; if still active it returns acknowledged (IEC 62682).

        Raises:
            UnknownAlarmError: No such alarm.
            ActionRefusedError: It is not shelved.
        """
        with self._lock:
            who = _require(who, "who")
            a = self._get(alarm_id)
            if a.shelving is None:
                raise ActionRefusedError(f"{alarm_id} is not shelved")
            out: list[Event] = []
            self._emit(out, alarm_id, UNSHELVED, f"operator:{who}", self._clock.now(),
                       who=who, automatic=False)
            return out

    def reset(self, alarm_id: str, who: str) -> list[Event]:
        """Reset a latched alarm whose condition has returned to normal.

        Resetting an unacknowledged latched alarm acknowledges it too.

        Raises:
            UnknownAlarmError: No such alarm.
            ActionRefusedError: It is not latched (or still active, or hidden).
        """
        with self._lock:
            who = _require(who, "who")
            a = self._get(alarm_id)
            if a.state != AlarmState.LATCHED:
                raise ActionRefusedError(f"{alarm_id} is {a.state.value}; only a latched alarm "
                                         "that has returned to normal can be reset")
            out: list[Event] = []
            self._emit(out, alarm_id, RESET, f"operator:{who}", self._clock.now(), who=who,
                       acknowledged_by_reset=not a.acknowledged)
            return out

    def comment(self, alarm_id: str, who: str, text: str) -> list[Event]:
        """Add an operator's note to an alarm (in any state).

        Raises:
            UnknownAlarmError: No such alarm.
            ActionRefusedError: Empty text.
        """
        with self._lock:
            who = _require(who, "who")
            text = _require(text, "comment text")
            self._get(alarm_id)
            out: list[Event] = []
            self._emit(out, alarm_id, COMMENT, f"operator:{who}", self._clock.now(), who=who,
                       text=text)
            return out

    def remove_from_service(self, alarm_id: str, who: str, reason: str) -> list[Event]:
        """Take an alarm out of service (maintenance, calibration).

        Its condition is still tracked, but it is not announced until returned to service.

        Raises:
            UnknownAlarmError: No such alarm.
            ActionRefusedError: Already out of service, or no reason.
        """
        with self._lock:
            who = _require(who, "who")
            reason = _require(reason, "a reason for removing from service")
            a = self._get(alarm_id)
            if a.out_of_service is not None:
                raise ActionRefusedError(f"{alarm_id} is already out of service")
            out: list[Event] = []
            self._emit(out, alarm_id, OUT_OF_SERVICE, f"operator:{who}", self._clock.now(),
                       who=who, reason=reason)
            return out

    def return_to_service(self, alarm_id: str, who: str) -> list[Event]:
        """Return an alarm to service; if its condition is active it is announced anew.

        Raises:
            UnknownAlarmError: No such alarm.
            ActionRefusedError: It is not out of service.
        """
        with self._lock:
            who = _require(who, "who")
            a = self._get(alarm_id)
            if a.out_of_service is None:
                raise ActionRefusedError(f"{alarm_id} is not out of service")
            out: list[Event] = []
            self._emit(out, alarm_id, RETURNED_TO_SERVICE, f"operator:{who}",
                       self._clock.now(), who=who)
            return out

    def remove_gauge_from_service(self, gauge_id: str, who: str, reason: str) -> list[Event]:
        """Take every alarm of a gauge out of service (maintenance, calibration, replacement).

        Raises:
            UnknownAlarmError: No such gauge.
            ActionRefusedError: No reason, or the gauge is already out of service.
        """
        with self._lock:
            who = _require(who, "who")
            reason = _require(reason, "a reason for removing from service")
            ids = [aid for aid in self.alarm_ids(gauge_id)
                   if self._get(aid).out_of_service is None]
            if not ids:
                raise ActionRefusedError(f"gauge {gauge_id} is already out of service")
            out: list[Event] = []
            now = self._clock.now()
            for aid in ids:
                self._emit(out, aid, OUT_OF_SERVICE, f"operator:{who}", now, who=who,
                           reason=reason)
            return out

    def return_gauge_to_service(self, gauge_id: str, who: str) -> list[Event]:
        """Return every alarm of a gauge to service; active conditions are announced anew.

        Raises:
            UnknownAlarmError: No such gauge.
            ActionRefusedError: None of its alarms is out of service.
        """
        with self._lock:
            who = _require(who, "who")
            ids = [aid for aid in self.alarm_ids(gauge_id)
                   if self._get(aid).out_of_service is not None]
            if not ids:
                raise ActionRefusedError(f"gauge {gauge_id} is not out of service")
            out: list[Event] = []
            now = self._clock.now()
            for aid in ids:
                self._emit(out, aid, RETURNED_TO_SERVICE, f"operator:{who}", now, who=who)
            return out

    def suppress(self, alarm_id: str, reason: str, by: str = "design") -> list[Event]:
        """Suppress an alarm by design (plant logic, e.g. its unit is shut down).

        Raises:
            UnknownAlarmError: No such alarm.
            ActionRefusedError: Already suppressed, or no reason.
        """
        with self._lock:
            by = _require(by, "by")
            reason = _require(reason, "a reason for suppression")
            a = self._get(alarm_id)
            if a.suppression is not None:
                raise ActionRefusedError(f"{alarm_id} is already suppressed")
            out: list[Event] = []
            self._emit(out, alarm_id, SUPPRESSED, f"logic:{by}", self._clock.now(), who=by,
                       reason=reason)
            return out

    def unsuppress(self, alarm_id: str, by: str = "design") -> list[Event]:
        """End suppression by design; if its condition is active it is announced anew.

        Raises:
            UnknownAlarmError: No such alarm.
            ActionRefusedError: It is not suppressed.
        """
        with self._lock:
            by = _require(by, "by")
            a = self._get(alarm_id)
            if a.suppression is None:
                raise ActionRefusedError(f"{alarm_id} is not suppressed")
            out: list[Event] = []
            self._emit(out, alarm_id, UNSUPPRESSED, f"logic:{by}", self._clock.now(), who=by)
            return out


# --------------------------------------------------------------------------- the board


def _display_key(a: Alarm) -> tuple[int, int, float, str]:
    ts = a.changed_at.timestamp() if a.changed_at else 0.0
    return (1 if a.acknowledged else 0, -a.priority.rank, -ts, a.id)


class AlarmBoard:
    """The current alarms, folded from recorded ``alarm.*`` events.

    Feed it the log once at start (:meth:`replay`) and then every new event (:meth:`apply`);
    events it has already seen (by sequence number) are skipped, so the two may overlap.
    A board shows either the live alarms (``drill_id=None``) or one drill's alarms, never both:
    the same gauge may alarm in a drill and for real.

    Signals:
        raised: An alarm is announced unacknowledged: newly raised, re-alarmed, or back from
            shelving, suppression or out of service while active (``Alarm``).
        changed: An alarm changed in any other way (``Alarm``).
        cleared: An alarm returned to the normal state (``Alarm``).
    """

    def __init__(self, drill_id: str | None = None) -> None:
        """Make an empty board for live alarms, or for the drill ``drill_id``."""
        self.drill_id = drill_id
        self.raised: Signal[[Alarm]] = Signal("alarm board raised")
        self.changed: Signal[[Alarm]] = Signal("alarm board changed")
        self.cleared: Signal[[Alarm]] = Signal("alarm board cleared")
        self._alarms: dict[str, Alarm] = {}
        self._by_gauge: dict[str, list[str]] = {}
        self._last_seq = 0
        self._skipped = 0
        self._lock = threading.Lock()

    @property
    def last_seq(self) -> int:
        """The sequence number of the last event seen."""
        return self._last_seq

    @property
    def skipped(self) -> int:
        """How many alarm events could not be folded (malformed payloads)."""
        return self._skipped

    def replay(self, events: Iterable[RecordedEvent]) -> None:
        """Fold events in log order (e.g. the whole log after a restart)."""
        for ev in events:
            self.apply(ev)

    def apply(self, event: RecordedEvent) -> Alarm | None:
        """Fold one recorded event; return the alarm it changed (``None`` if none)."""
        with self._lock:
            if event.seq <= self._last_seq:
                return None
            self._last_seq = event.seq
            if event.type not in EVENT_TYPES or event.drill_id != self.drill_id:
                return None
            old = self._alarms.get(str(event.payload.get("alarm")))
            try:
                new = apply_alarm_event(old, event.type, event.payload)
            except (KeyError, ValueError, TypeError) as err:
                self._skipped += 1
                _LOGGER.warning(
                    "alarm event %d (%s) not folded: %s", event.seq, event.type, err)
                return None
            if old is None:
                self._by_gauge.setdefault(new.gauge, []).append(new.id)
            self._alarms[new.id] = new
        before = old.state if old is not None else AlarmState.NORMAL
        if new.state == AlarmState.UNACK_ACTIVE and before != AlarmState.UNACK_ACTIVE:
            self.raised.emit(new)
        elif new.state == AlarmState.NORMAL and before != AlarmState.NORMAL:
            self.cleared.emit(new)
        else:
            self.changed.emit(new)
        return new

    def alarm(self, alarm_id: str) -> Alarm | None:
        """Return one alarm, or ``None`` if it never had an event."""
        return self._alarms.get(alarm_id)

    def alarms(self) -> dict[str, Alarm]:
        """Return every alarm that has had an event, by id."""
        with self._lock:
            return dict(self._alarms)

    def of_gauge(self, gauge_id: str) -> list[Alarm]:
        """Return the alarms of one gauge that have had an event, oldest first."""
        with self._lock:
            return [self._alarms[aid] for aid in self._by_gauge.get(gauge_id, ())]

    def standing(self) -> list[Alarm]:
        """Return alarms not in the normal state (hidden ones included), for the history table.

        Unacknowledged first, then by priority, newest first.
        """
        return sorted((a for a in self.alarms().values() if a.state != AlarmState.NORMAL),
                      key=_display_key)

    def annunciated(self) -> list[Alarm]:
        """Return what the alarm list shows: not normal, not hidden, not superseded.

        A limit alarm is superseded while a higher level of the same gauge and direction is
        active; its own state is still tracked. Order as in :meth:`standing`.
        """
        alarms = self.alarms()
        return [a for a in sorted(alarms.values(), key=_display_key)
                if a.state != AlarmState.NORMAL and not a.hidden
                and not self._superseded(a, alarms)]

    def unacknowledged(self) -> list[Alarm]:
        """Return announced alarms waiting for acknowledgement (what keeps the horn sounding)."""
        return [a for a in self.annunciated() if not a.acknowledged]

    def hidden(self) -> list[Alarm]:
        """Return shelved, suppressed and out-of-service alarms."""
        return sorted((a for a in self.alarms().values() if a.hidden), key=_display_key)

    def superseded(self, alarm: Alarm) -> bool:
        """True if a higher level of the same gauge and direction is active."""
        return self._superseded(alarm, self.alarms())

    @staticmethod
    def _superseded(alarm: Alarm, alarms: Mapping[str, Alarm]) -> bool:
        spec = alarm.spec
        if spec.level is None:
            return False
        return any(
            o.spec.gauge == spec.gauge and o.spec.direction == spec.direction
            and o.spec.level is not None
            and ALARM_LEVEL_ORDER[o.spec.level] > ALARM_LEVEL_ORDER[spec.level]
            and o.state in ACTIVE_STATES
            for o in alarms.values())

    def blind(self, gauge_id: str) -> bool:
        """True while the gauge's link is in fault or its readings cannot be trusted."""
        alarms = self.alarms()
        return any(a.active for aid in (f"{gauge_id}:comm", f"{gauge_id}:bad_value")
                   if (a := alarms.get(aid)) is not None)

    def gauge_out_of_service(self, gauge_id: str) -> bool:
        """True while any alarm of the gauge is out of service."""
        return any(a.out_of_service is not None for a in self.of_gauge(gauge_id))
