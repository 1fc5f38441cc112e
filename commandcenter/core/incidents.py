"""Incidents: one-click plan activation, escalation, checklist, position log and closing.

Everything here is event-sourced. Commands (:func:`activate`, :func:`escalate`, :func:`close`,
:func:`log_entry`, :func:`start_step`, :func:`finish_step`, :func:`skip_step`) check what they are
asked against the current state and return the :class:`~commandcenter.core.events.Event` objects
to append; they change nothing themselves. The :class:`IncidentBook` folds recorded events into
the state the screens show, so replaying the log into a fresh book after a restart gives exactly
the state the live book had.

An activation records everything later projections need, resolved at that moment: the plan's
title, steps, termination conditions and notification stages with the people each stage calls
(who was on shift then). Replaying an old incident therefore shows what happened, even after the
plan files or the roster changed.

Event types and their payloads (``incident_id`` is set on every one):

``incident.activated``
    ``code`` (short code for SMS replies), ``plan``, ``level``, ``location`` (building id or
    ``[lat, lon]``), ``commander``, ``activated_by``, ``notify`` (person ids, in calling order)
    and the plan block (:func:`plan_block`: ``plan_title``, ``roles``, ``steps``,
    ``termination``, ``stages``).
``incident.escalated``
    ``from_plan``, ``from_level``, ``to_plan``, ``to_level``, ``by``, ``reason``, ``notify``
    and the new plan's block (its roles, steps and stages are added to the incident).
``incident.closed``
    ``by``, ``confirmed`` (the termination conditions confirmed, as texts), ``note``.
``incident.log``
    ``text``, ``author``, ``kind`` (``"note"``, or ``"reply"`` for a responder's reply that
    could not be read automatically).
``checklist.step_started`` / ``checklist.step_done`` / ``checklist.step_na``
    ``plan``, ``step``, ``by``, ``note``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from commandcenter.core.clock import Clock
from commandcenter.core.events import Event, JsonValue, RecordedEvent
from commandcenter.core.geodesy import EARTH_RADIUS_M
from commandcenter.core.signals import Signal
from commandcenter.core.site import (
    Building,
    Person,
    Plan,
    PlanLevel,
    Site,
    metres_outside,
)
from commandcenter.errors import CommandCenterError

INCIDENT_ACTIVATED = "incident.activated"
INCIDENT_ESCALATED = "incident.escalated"
INCIDENT_CLOSED = "incident.closed"
INCIDENT_LOG = "incident.log"
STEP_STARTED = "checklist.step_started"
STEP_DONE = "checklist.step_done"
STEP_NA = "checklist.step_na"


class IncidentError(CommandCenterError):
    """A command on an incident cannot be carried out (unknown plan, closed incident …)."""


# --------------------------------------------------------------------------- shifts


SHIFT_HOURS: Mapping[str, tuple[int, int]] = {"D": (8, 16), "E": (16, 24), "N": (0, 8)}
"""Rotating shifts of 四班三倒: day 08–16 (早班), evening 16–24 (中班), night 00–08 (夜班)."""


@dataclass(frozen=True, slots=True)
class ShiftSchedule:
    """Who is on shift when: rotating crews (四班三倒) and day staff.

    The rotating crews follow ``pattern``, one letter per day of the cycle: ``D`` day shift
    08–16, ``E`` evening shift 16–24, ``N`` night shift, ``-`` off. A night shift on cycle day
    *i* is the night that follows that day, 00:00–08:00 of the next calendar date, so the
    default ``"DDEENN--"`` gives every crew at least 24 h between two blocks of shifts. Crew
    *k* (in ``crews`` order) runs ``len(pattern) // len(crews)`` × *k* days behind crew 0,
    which on ``anchor`` starts its first day shift. With the defaults (crews A–D, an 8-day
    cycle) each 8-hour slot is worked by exactly one crew, and on the anchor date the
    night 00–08 is worked by B, the day shift by A and the evening shift by D; the night
    after it by C.

    People of shift ``day_shift`` work ``day_hours`` on ``workdays`` (Monday = 0); public
    holidays are not modelled. Any other shift id is never on shift (such people are called
    only as a fallback). All hours are in the site's ``timezone``.

    Attributes:
        timezone: IANA zone name of the site, e.g. ``"Asia/Shanghai"``.
        anchor: The local date on which crew ``crews[0]`` starts its cycle.
        crews: Shift ids of the rotating crews.
        pattern: The cycle, one of ``D E N -`` per day.
        day_shift: Shift id of day staff.
        day_hours: Start and end (local) of the day staff's working day.
        workdays: Weekdays day staff work (Monday = 0).
    """

    timezone: str = "Asia/Shanghai"
    anchor: date = date(2026, 1, 1)
    crews: tuple[str, ...] = ("A", "B", "C", "D")
    pattern: str = "DDEENN--"
    day_shift: str = "day"
    day_hours: tuple[time, time] = (time(8), time(17))
    workdays: frozenset[int] = frozenset(range(5))

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise IncidentError(f"unknown time zone {self.timezone!r}") from err
        if not self.crews:
            raise IncidentError("a shift schedule needs at least one crew")
        if not self.pattern or set(self.pattern) - {"D", "E", "N", "-"}:
            raise IncidentError(f"shift pattern {self.pattern!r} may only use D, E, N and -")
        if len(self.pattern) % len(self.crews):
            raise IncidentError(f"shift pattern of {len(self.pattern)} days cannot be shared "
                                f"evenly by {len(self.crews)} crews")
        if not self.day_hours[0] < self.day_hours[1]:
            raise IncidentError("day hours must start before they end")

    @classmethod
    def for_site(cls, site: Site, **overrides: Any) -> ShiftSchedule:
        """Return a schedule in the site's time zone (``overrides`` set the other fields)."""
        tz = site.info.timezone if site.info else "Asia/Shanghai"
        return cls(timezone=overrides.pop("timezone", tz), **overrides)

    @property
    def zone(self) -> ZoneInfo:
        """The site's time zone."""
        return ZoneInfo(self.timezone)

    def crew_shift(self, crew: str, day: date) -> str:
        """Return the pattern letter of ``crew`` on local date ``day`` (``D E N -``)."""
        k = self.crews.index(crew)
        offset = len(self.pattern) // len(self.crews)
        return self.pattern[((day - self.anchor).days - offset * k) % len(self.pattern)]

    def crews_on_duty(self, at: datetime) -> tuple[str, ...]:
        """Return the crews working at ``at`` (one with the default pattern)."""
        local = at.astimezone(self.zone)
        letter = next(k for k, (start, end) in SHIFT_HOURS.items() if start <= local.hour < end)
        # A night shift belongs to the cycle day before the date it is worked on.
        day = local.date() - timedelta(days=1) if letter == "N" else local.date()
        return tuple(c for c in self.crews if self.crew_shift(c, day) == letter)

    def is_on_shift(self, shift: str, at: datetime) -> bool:
        """Return whether people of ``shift`` are at work at ``at``."""
        if shift in self.crews:
            return shift in self.crews_on_duty(at)
        if shift == self.day_shift:
            local = at.astimezone(self.zone)
            start, end = self.day_hours
            return local.weekday() in self.workdays and start <= local.time() < end
        return False


# --------------------------------------------------------------------------- who to call


@dataclass(frozen=True, slots=True)
class Contact:
    """A person a notification stage calls on, with how to reach them.

    Attributes:
        person: Person id.
        name: Display name.
        role: The role they are called for.
        on_shift: Whether they were on shift when the stage was planned.
        channels: Their channels, most preferred first (``Channel`` values).
        phone: Phone number (SMS and voice).
        email: E-mail address, if any.
    """

    person: str
    name: str
    role: str
    on_shift: bool
    channels: tuple[str, ...]
    phone: str
    email: str | None = None

    @classmethod
    def of(cls, person: Person, role: str, on_shift: bool) -> Contact:
        """Make the contact for ``person`` called for ``role``."""
        return cls(person=person.id, name=person.name, role=role, on_shift=on_shift,
                   channels=tuple(c.value for c in person.channels), phone=person.phone,
                   email=person.email)

    def to_payload(self) -> dict[str, JsonValue]:
        """Return the JSON form stored in events."""
        return {"person": self.person, "name": self.name, "role": self.role,
                "on_shift": self.on_shift, "channels": list(self.channels),
                "phone": self.phone, "email": self.email}

    @classmethod
    def from_payload(cls, data: Mapping[str, JsonValue]) -> Contact:
        """Read the JSON form stored in events."""
        return cls(person=str(data["person"]), name=str(data["name"]), role=str(data["role"]),
                   on_shift=bool(data["on_shift"]),
                   channels=tuple(str(c) for c in data["channels"]), phone=str(data["phone"]),
                   email=None if data.get("email") is None else str(data["email"]))


def resolve_role(site: Site, schedule: ShiftSchedule, role: str, at: datetime,
                 ) -> tuple[list[Contact], list[Contact]]:
    """Return ``(on_shift, off_shift)`` holders of ``role`` at ``at``, each in roster order."""
    on: list[Contact] = []
    off: list[Contact] = []
    for p in site.people_with_role(role):
        working = schedule.is_on_shift(p.shift, at)
        (on if working else off).append(Contact.of(p, role, working))
    return on, off


@dataclass(frozen=True, slots=True)
class StagePlan:
    """One notification stage of a plan, resolved to people.

    Attributes:
        plan: The plan the stage belongs to.
        order: The stage's place in the notification order (1 first).
        roles: Roles the stage calls.
        need_acks: Acknowledgements needed from them in all …
        ack_within_min: … within this many minutes, else the stage escalates.
        escalate_to_roles: Who is told when the stage misses its deadline.
        message: The stage's message as ``{"zh": …, "en": …}`` (plan title if the plan has none).
        contacts: Everyone the stage may call, in calling order: people on shift first, then
            off-shift holders of roles nobody on shift holds.
        first: How many of ``contacts`` are called at once; the others are called one by one
            when someone declines or the deadline passes (sequenced contacts).
        notes: What the operator should know (a role nobody on shift holds, a role nobody
            holds at all).
        need_by_role: Role → acknowledgements needed from the people called for it; empty
            when any of the stage's roles count (then ``need_acks`` of them are needed).
    """

    plan: str
    order: int
    roles: tuple[str, ...]
    need_acks: int
    ack_within_min: float
    escalate_to_roles: tuple[str, ...]
    message: Mapping[str, str]
    contacts: tuple[Contact, ...]
    first: int
    notes: tuple[str, ...] = ()
    need_by_role: Mapping[str, int] = field(default_factory=dict)

    @property
    def called_first(self) -> tuple[Contact, ...]:
        """The contacts called as soon as the plan starts."""
        return self.contacts[: self.first]

    def to_payload(self) -> dict[str, JsonValue]:
        """Return the JSON form stored in events."""
        return {"plan": self.plan, "order": self.order, "roles": list(self.roles),
                "need_acks": self.need_acks, "ack_within_min": self.ack_within_min,
                "escalate_to_roles": list(self.escalate_to_roles),
                "message": dict(self.message),
                "contacts": [c.to_payload() for c in self.contacts], "first": self.first,
                "notes": list(self.notes), "need_by_role": dict(self.need_by_role)}

    @classmethod
    def from_payload(cls, data: Mapping[str, JsonValue]) -> StagePlan:
        """Read the JSON form stored in events."""
        return cls(plan=str(data["plan"]), order=int(data["order"]),
                   roles=tuple(str(r) for r in data["roles"]),
                   need_acks=int(data["need_acks"]),
                   ack_within_min=float(data["ack_within_min"]),
                   escalate_to_roles=tuple(str(r) for r in data["escalate_to_roles"]),
                   message={str(k): str(v) for k, v in data["message"].items()},
                   contacts=tuple(Contact.from_payload(c) for c in data["contacts"]),
                   first=int(data["first"]), notes=tuple(str(n) for n in data["notes"]),
                   need_by_role=_by_roles(data.get("need_by_role"), data["roles"]))


def _by_roles(need: JsonValue, roles: JsonValue) -> dict[str, int]:
    """Return a stored role → count mapping in the stage's role order (stores sort keys)."""
    if not isinstance(need, Mapping) or not isinstance(roles, list):
        return {}
    return {str(r): int(need[r]) for r in roles if isinstance(r, str) and r in need}


def plan_stages(site: Site, plan: Plan, schedule: ShiftSchedule, at: datetime,
                ) -> list[StagePlan]:
    """Resolve the plan's notification stages to the people to call at ``at``.

    Stages come in the plan's notification order. Within a stage, the roles are taken in the
    order the stage lists them: everyone holding the role who is on shift, in roster order.
    Where nobody holding a role is on shift, the first holder is called at once and the other
    holders are kept as the next contacts (and a note says so). A person is called only once
    per plan, in the first stage that names one of their roles. At least ``need_acks`` people
    are called at once where the stage has that many, and at least as many holders of a role
    as the stage needs acknowledgements from that role.
    """
    seen: set[str] = set()
    out: list[StagePlan] = []
    for stage in sorted(plan.notification, key=lambda s: s.order):
        now_calls: list[Contact] = []
        later: list[Contact] = []
        notes: list[str] = []
        for role in stage.roles:
            on, off = resolve_role(site, schedule, role, at)
            on = [c for c in on if c.person not in seen]
            off = [c for c in off if c.person not in seen]
            if not on and not off:
                if not site.people_with_role(role):
                    notes.append(f"nobody on the roster holds role {role!r}")
                continue
            want = max(stage.need_by_role.get(role, 1), 1)
            if on:
                extra = max(want - len(on), 0)
                picked, rest = on + off[:extra], off[extra:]
            else:
                picked, rest = off[:want], off[want:]
                notes.append(f"nobody holding role {role!r} is on shift; calling "
                             f"{', '.join(f'{c.name} ({c.person})' for c in picked)} "
                             "off shift")
            now_calls.extend(picked)
            later.extend(rest)
            seen.update(c.person for c in (*picked, *rest))
        contacts = tuple(now_calls + later)
        first = min(len(contacts), max(len(now_calls), stage.total_acks))
        message = stage.message or plan.title
        out.append(StagePlan(
            plan=plan.id, order=stage.order, roles=stage.roles, need_acks=stage.total_acks,
            ack_within_min=stage.ack_within_min, escalate_to_roles=stage.escalate_to_roles,
            message={"zh": message.zh, "en": message.en or message.zh}, contacts=contacts,
            first=first, notes=tuple(notes), need_by_role=stage.need_by_role))
    return out


# --------------------------------------------------------------------------- places


NEAR_BUILDING_M = 300.0
"""A map point within this distance of a building is described as near it."""


def _inside(point: tuple[float, float], ring: Sequence[Sequence[float]]) -> bool:
    """Return whether ``(lat, lon)`` lies inside a GeoJSON ``[lon, lat]`` ring."""
    lat, lon = point
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, [*ring[1:], ring[0]], strict=True):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _to_outline_m(point: tuple[float, float], ring: Sequence[Sequence[float]]) -> float:
    """Return the distance in metres from ``(lat, lon)`` to a ``[lon, lat]`` ring's edges.

    Plant-sized distances: a local flat projection around the point is accurate enough.
    """
    lat0, lon0 = point
    m_lat = math.radians(1) * EARTH_RADIUS_M
    m_lon = m_lat * math.cos(math.radians(lat0))
    pts = [((p[0] - lon0) * m_lon, (p[1] - lat0) * m_lat) for p in ring]
    best = math.inf
    for (x1, y1), (x2, y2) in zip(pts, [*pts[1:], pts[0]], strict=True):
        dx, dy = x2 - x1, y2 - y1
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(x1 * dx + y1 * dy) / length2))
        best = min(best, math.hypot(x1 + t * dx, y1 + t * dy))
    return best


def nearest_building(site: Site, point: tuple[float, float]) -> tuple[Building, float] | None:
    """Return the building nearest to ``(lat, lon)`` and the metres to its outline (0 inside)."""
    best: tuple[Building, float] | None = None
    for b in site.buildings.values():
        ring = b.outline[0]
        d = 0.0 if _inside(point, ring) else _to_outline_m(point, ring)
        if best is None or d < best[1]:
            best = (b, d)
    return best


def offsite_m(site: Site, point: tuple[float, float]) -> float:
    """Return how far ``(lat, lon)`` lies outside the site's bounds, in metres (0 inside)."""
    bounds = site.bounds()
    return 0.0 if bounds is None else metres_outside(point, bounds)


def point_fault(site: Site, point: tuple[float, float],
                ) -> tuple[Literal["invalid", "outside"], float] | None:
    """Return what rules ``(lat, lon)`` out as an incident's place on this site, or ``None``.

    ``("invalid", 0.0)``: not a valid coordinate. ``("outside", metres)``: it lies ``metres``
    outside the site's bounds, more than the site's ``max_offsite_m``.
    """
    lat, lon = point
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
            and -180 <= lon <= 180):
        return ("invalid", 0.0)
    off = offsite_m(site, point)
    return ("outside", off) if off > site.max_offsite_m() else None


def point_problem(site: Site, point: tuple[float, float]) -> str | None:
    """Return why ``(lat, lon)`` cannot be an incident's place on this site, or ``None``.

    A point must be a valid coordinate within the site's ``max_offsite_m`` of its bounds.
    """
    fault = point_fault(site, point)
    if fault is None:
        return None
    lat, lon = point
    if fault[0] == "invalid":
        return f"{lat}, {lon} is not a valid latitude, longitude"
    return f"{lat:.5f}, {lon:.5f} lies {fault[1] / 1000:.1f} km outside the site"


def role_name(site: Site, role_id: str, lang: str) -> str:
    """Return the display name of a role (its id when the roster lacks it)."""
    role = site.roles.get(role_id)
    return role.name.get(lang) if role else role_id


def location_words(site: Site, location: str | Sequence[float]) -> dict[str, str]:
    """Return an incident's place in words: ``{"zh": …, "en": …, "short": …}``.

    A building reads ``加氢装置(U-210)``; a map point within :data:`NEAR_BUILDING_M` of a
    building reads ``加氢装置(U-210)附近`` / ``near Hydrogenation unit (U-210)``, else its
    coordinates. ``short`` is the building id alone (``U-210附近``), for tight texts.
    """
    if isinstance(location, str):
        b = site.buildings.get(location)
        if b is None:
            return {"zh": location, "en": location, "short": location}
        return {"zh": f"{b.name.zh}({b.id})", "en": f"{b.name.get('en')} ({b.id})",
                "short": b.id}
    lat, lon = float(location[0]), float(location[1])
    near = nearest_building(site, (lat, lon))
    if near is not None and near[1] <= NEAR_BUILDING_M:
        b = near[0]
        if near[1] == 0:
            return {"zh": f"{b.name.zh}({b.id})", "en": f"{b.name.get('en')} ({b.id})",
                    "short": b.id}
        return {"zh": f"{b.name.zh}({b.id})附近", "en": f"near {b.name.get('en')} ({b.id})",
                "short": f"{b.id}附近"}
    text = f"{lat:.5f},{lon:.5f}"
    return {"zh": text, "en": text, "short": text}


# --------------------------------------------------------------------------- short codes

CODE_ALPHABET = "3456789ABCDEFGHJKLMPQRSTUVWXZ"
"""Characters of incident short codes.

No ``0``/``O`` or ``1``/``I`` (they are confused when read aloud or typed), and none of the
reply answers ``1 2 Y N``, so an answer glued to a code (``1A7K``, ``A7KY``) still splits
one way only.
"""
_CODE_DIGITS = frozenset("3456789")


def is_code_shaped(text: str) -> bool:
    """Return whether ``text`` could be an incident short code (3–4 code characters, mixed)."""
    return (3 <= len(text) <= 4 and all(ch in CODE_ALPHABET for ch in text)
            and any(ch in _CODE_DIGITS for ch in text)
            and any(ch not in _CODE_DIGITS for ch in text))


def new_incident_code(taken: Container[str], seed: str, attempts: int = 256) -> str:
    """Return a short code not in ``taken``, derived deterministically from ``seed``.

    Codes have three characters (four once too many three-character codes are taken),
    at least one digit and one letter, from :data:`CODE_ALPHABET`.
    """
    for length in (3, 4):
        for i in range(attempts):
            digest = hashlib.sha256(f"{seed}|{length}|{i}".encode()).digest()
            code = "".join(CODE_ALPHABET[b % len(CODE_ALPHABET)] for b in digest[:length])
            if is_code_shaped(code) and code not in taken:
                return code
    raise IncidentError("no free incident code; close old incidents first")


# --------------------------------------------------------------------------- projection


class StepState(StrEnum):
    """Where a checklist step stands."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    NOT_APPLICABLE = "not_applicable"


@dataclass(slots=True)
class ChecklistStep:
    """One step of an incident's checklist.

    Attributes:
        plan: The plan it comes from (an escalation adds the new plan's steps).
        id: Step id within that plan.
        title: ``{"zh": …, "en": …}``.
        owner: The role that owns it.
        target_at: When it should be done: the plan's start in this incident + ``target_min``.
        state: See :class:`StepState`.
        started_at: When it was started, if it was.
        finished_at: When it was done or marked not applicable.
        by: Who last changed it.
        note: The last note given with a change.
    """

    plan: str
    id: str
    title: Mapping[str, str]
    owner: str
    target_at: datetime
    state: StepState = StepState.OPEN
    started_at: datetime | None = None
    finished_at: datetime | None = None
    by: str | None = None
    note: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """``(plan, id)``: unique within an incident."""
        return (self.plan, self.id)

    @property
    def finished(self) -> bool:
        """True once done or marked not applicable."""
        return self.state in (StepState.DONE, StepState.NOT_APPLICABLE)

    def is_overdue(self, now: datetime) -> bool:
        """Return whether the step is unfinished and past its target time."""
        return not self.finished and now > self.target_at

    @property
    def late(self) -> bool:
        """True when the step was done after its target time."""
        return (self.state == StepState.DONE and self.finished_at is not None
                and self.finished_at > self.target_at)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """A position-log entry (值班记录)."""

    at: datetime
    author: str
    text: str
    kind: str = "note"


@dataclass(frozen=True, slots=True)
class EscalationRecord:
    """One escalation of an incident to another plan."""

    at: datetime
    by: str
    from_plan: str
    from_level: PlanLevel
    to_plan: str
    to_level: PlanLevel
    reason: str | None


@dataclass(slots=True)
class Incident:
    """The state of one incident, as folded from its events.

    Attributes:
        id: Incident id (``INC-<local date>-<time>-<code>``).
        code: Short code responders quote in SMS replies.
        plan: The current plan id.
        plan_title: The current plan's title.
        level: The current level.
        location: Building id or ``(lat, lon)``.
        started_at: Activation time.
        commander: Person id of the incident commander.
        activated_by: Who activated the plan.
        drill_id: The drill it belongs to, if any.
        plans: Every plan run so far, the first one first.
        roles: Roles called on so far (all plans).
        steps: The checklist, in plan order (escalations append).
        termination: The current plan's termination conditions.
        log: The position log.
        escalations: Escalation history.
        closed_at: When it was closed, else ``None``.
        closed_by: Who closed it.
        confirmed: The termination conditions confirmed at closing.
    """

    id: str
    code: str
    plan: str
    plan_title: Mapping[str, str]
    level: PlanLevel
    location: str | tuple[float, float]
    started_at: datetime
    commander: str
    activated_by: str
    drill_id: str | None = None
    plans: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    steps: list[ChecklistStep] = field(default_factory=list)
    termination: list[Mapping[str, str]] = field(default_factory=list)
    log: list[LogEntry] = field(default_factory=list)
    escalations: list[EscalationRecord] = field(default_factory=list)
    closed_at: datetime | None = None
    closed_by: str | None = None
    confirmed: list[Mapping[str, str]] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        """True once the incident is closed."""
        return self.closed_at is not None

    def step(self, plan: str, step_id: str) -> ChecklistStep:
        """Return the step ``step_id`` of ``plan``; raise :class:`IncidentError` if unknown."""
        for s in self.steps:
            if s.key == (plan, step_id):
                return s
        raise IncidentError(f"incident {self.id} has no step {step_id!r} of plan {plan!r}")

    def overdue_steps(self, now: datetime) -> list[ChecklistStep]:
        """Return unfinished steps past their target time (none once closed)."""
        if self.closed:
            return []
        return [s for s in self.steps if s.is_overdue(now)]


def payload_text(data: JsonValue) -> dict[str, str]:
    """Return a ``{"zh": …, "en": …}`` text of an event payload (a bare string reads as zh)."""
    if not isinstance(data, Mapping):
        return {"zh": str(data)}
    return {str(k): str(v) for k, v in data.items() if v is not None}


def payload_location(value: JsonValue) -> str | tuple[float, float]:
    """Return an event payload's location: a building id, or ``(lat, lon)``."""
    if isinstance(value, str):
        return value
    return (float(value[0]), float(value[1]))


class IncidentBook:
    """All incidents, open and closed, folded from the event log.

    Feed it every recorded event in log order (:meth:`apply`, or :meth:`replay` at start-up);
    events it has already seen (by sequence number) and events of other kinds are ignored.

    Signals:
        activated(Incident): a plan was activated (a new incident).
        escalated(Incident, EscalationRecord): an incident moved to another plan.
        step_changed(Incident, ChecklistStep): a checklist step was started, done or skipped.
        logged(Incident, LogEntry): an entry was added to a position log.
        closed(Incident): an incident was closed.
        changed(Incident): after any of the above.
    """

    def __init__(self, clock: Clock) -> None:
        """Start empty; ``clock`` decides which steps are overdue."""
        self._clock = clock
        self._incidents: dict[str, Incident] = {}
        self._last_seq = 0
        self.activated: Signal[[Incident]] = Signal("incident activated")
        self.escalated: Signal[[Incident, EscalationRecord]] = Signal("incident escalated")
        self.step_changed: Signal[[Incident, ChecklistStep]] = Signal("checklist step changed")
        self.logged: Signal[[Incident, LogEntry]] = Signal("position log entry")
        self.closed: Signal[[Incident]] = Signal("incident closed")
        self.changed: Signal[[Incident]] = Signal("incident changed")

    # -- reading

    @property
    def incidents(self) -> Mapping[str, Incident]:
        """Every incident by id, in activation order."""
        return self._incidents

    @property
    def last_seq(self) -> int:
        """The sequence number of the last event applied (0 before any)."""
        return self._last_seq

    def get(self, incident_id: str) -> Incident:
        """Return the incident; raise :class:`IncidentError` if there is none."""
        try:
            return self._incidents[incident_id]
        except KeyError as err:
            raise IncidentError(f"no incident {incident_id!r}") from err

    def open_incidents(self) -> list[Incident]:
        """Return the incidents not yet closed, oldest first."""
        return [i for i in self._incidents.values() if not i.closed]

    def by_code(self, code: str) -> Incident | None:
        """Return the open incident with short code ``code`` (any case), if any."""
        code = code.upper()
        return next((i for i in self.open_incidents() if i.code == code), None)

    def codes(self) -> set[str]:
        """Return the short codes of all incidents (open or closed)."""
        return {i.code for i in self._incidents.values()}

    def overdue(self) -> list[tuple[Incident, ChecklistStep]]:
        """Return every overdue step of every open incident, by the book's clock."""
        now = self._clock.now()
        return [(i, s) for i in self.open_incidents() for s in i.overdue_steps(now)]

    # -- folding

    def replay(self, events: Iterable[RecordedEvent]) -> None:
        """Apply events in log order (start-up, or a replay up to some time)."""
        for ev in events:
            self.apply(ev)

    def apply(self, ev: RecordedEvent) -> None:
        """Fold one recorded event into the state."""
        if ev.seq <= self._last_seq:
            return
        self._last_seq = ev.seq
        if ev.incident_id is None:
            return
        if ev.type == INCIDENT_ACTIVATED:
            self._activated(ev)
            return
        inc = self._incidents.get(ev.incident_id)
        if inc is None:
            return
        p = ev.payload
        if ev.type == INCIDENT_ESCALATED:
            rec = EscalationRecord(at=ev.ts, by=str(p["by"]), from_plan=str(p["from_plan"]),
                                   from_level=PlanLevel(p["from_level"]),
                                   to_plan=str(p["to_plan"]), to_level=PlanLevel(p["to_level"]),
                                   reason=None if p.get("reason") is None else str(p["reason"]))
            inc.escalations.append(rec)
            inc.level = rec.to_level
            self._add_plan_block(inc, rec.to_plan, p, ev.ts)
            self.escalated.emit(inc, rec)
        elif ev.type == INCIDENT_CLOSED:
            inc.closed_at, inc.closed_by = ev.ts, str(p["by"])
            inc.confirmed = [payload_text(t) for t in p["confirmed"]]
            self.closed.emit(inc)
        elif ev.type == INCIDENT_LOG:
            entry = LogEntry(at=ev.ts, author=str(p["author"]), text=str(p["text"]),
                             kind=str(p.get("kind", "note")))
            inc.log.append(entry)
            self.logged.emit(inc, entry)
        elif ev.type in (STEP_STARTED, STEP_DONE, STEP_NA):
            step = next((s for s in inc.steps if s.key == (p["plan"], p["step"])), None)
            if step is None:
                return
            step.by = str(p["by"])
            step.note = None if p.get("note") is None else str(p["note"])
            if ev.type == STEP_STARTED:
                step.state, step.started_at = StepState.IN_PROGRESS, ev.ts
            else:
                step.state = StepState.DONE if ev.type == STEP_DONE else \
                    StepState.NOT_APPLICABLE
                step.finished_at = ev.ts
            self.step_changed.emit(inc, step)
        else:
            return
        self.changed.emit(inc)

    def _activated(self, ev: RecordedEvent) -> None:
        assert ev.incident_id is not None
        p = ev.payload
        inc = Incident(id=ev.incident_id, code=str(p["code"]), plan=str(p["plan"]),
                       plan_title=payload_text(p["plan_title"]), level=PlanLevel(p["level"]),
                       location=payload_location(p["location"]), started_at=ev.ts,
                       commander=str(p["commander"]), activated_by=str(p["activated_by"]),
                       drill_id=ev.drill_id)
        self._add_plan_block(inc, inc.plan, p, ev.ts)
        self._incidents[inc.id] = inc
        self.activated.emit(inc)
        self.changed.emit(inc)

    @staticmethod
    def _add_plan_block(inc: Incident, plan: str, p: Mapping[str, JsonValue],
                        at: datetime) -> None:
        inc.plan, inc.plan_title = plan, payload_text(p["plan_title"])
        inc.plans.append(plan)
        for role in p["roles"]:
            if role not in inc.roles:
                inc.roles.append(str(role))
        for s in p["steps"]:
            inc.steps.append(ChecklistStep(
                plan=plan, id=str(s["id"]),
                title=payload_text(s["title"]), owner=str(s["owner"]),
                target_at=at + timedelta(minutes=float(s["target_min"]))))
        inc.termination = [payload_text(t) for t in p["termination"]]


# --------------------------------------------------------------------------- commands


def plan_block(site: Site, plan: Plan, schedule: ShiftSchedule, at: datetime,
               ) -> dict[str, JsonValue]:
    """Return what an activation or escalation records about ``plan``, resolved at ``at``."""
    stages = plan_stages(site, plan, schedule, at)
    return {
        "plan_title": plan.title.model_dump(),
        "roles": [r.role for r in plan.roles],
        "steps": [{"id": s.id, "title": s.title.model_dump(), "owner": s.owner,
                   "target_min": s.target_min} for s in plan.steps],
        "termination": [t.model_dump() for t in plan.termination],
        "stages": [s.to_payload() for s in stages],
        "notify": [c.person for s in stages for c in s.called_first],
    }


def _plan(site: Site, plan_id: str) -> Plan:
    try:
        return site.plans[plan_id]
    except KeyError as err:
        raise IncidentError(f"no plan {plan_id!r} on this site") from err


def _check_location(site: Site, location: str | Sequence[float]) -> JsonValue:
    if isinstance(location, str):
        if location not in site.buildings:
            raise IncidentError(f"no building {location!r} on this site")
        return location
    if len(location) != 2:
        raise IncidentError("a location is a building id or [lat, lon]")
    lat, lon = float(location[0]), float(location[1])
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
            and -180 <= lon <= 180):
        raise IncidentError(f"[{lat}, {lon}] is not a valid [lat, lon]")
    return [lat, lon]


def _open(book: IncidentBook, incident_id: str) -> Incident:
    inc = book.get(incident_id)
    if inc.closed:
        raise IncidentError(f"incident {incident_id} is closed")
    return inc


def activate(site: Site, book: IncidentBook, plan_id: str, *, location: str | Sequence[float],
             commander: str, by: str, now: datetime, schedule: ShiftSchedule,
             drill_id: str | None = None) -> list[Event]:
    """Start ``plan_id`` at ``location`` under ``commander``: the one-click activation.

    Returns the ``incident.activated`` event. It names the people to notify, stage by stage,
    resolved to who is on shift at ``now``; the notifier queues their messages from it.
    """
    plan = _plan(site, plan_id)
    loc = _check_location(site, location)
    if commander not in site.people:
        raise IncidentError(f"commander {commander!r} is not on the roster")
    code = new_incident_code(book.codes(), f"{plan.id}|{now.isoformat()}|{by}")
    local = now.astimezone(schedule.zone)
    incident_id = f"INC-{local:%Y%m%d-%H%M}-{code}"
    payload: dict[str, JsonValue] = {
        "code": code, "plan": plan.id, "level": plan.level.value, "location": loc,
        "commander": commander, "activated_by": by,
        **plan_block(site, plan, schedule, now),
    }
    return [Event(type=INCIDENT_ACTIVATED, source=by, payload=payload,
                  incident_id=incident_id, drill_id=drill_id)]


def escalate(site: Site, book: IncidentBook, incident_id: str, *, by: str, now: datetime,
             schedule: ShiftSchedule, to_plan: str | None = None,
             reason: str | None = None) -> list[Event]:
    """Escalate an open incident to ``to_plan`` (default: the current plan's ``escalates_to``).

    The new plan's roles, steps and notification stages are added; its steps' target times
    count from ``now``. The new plan must be of the same or a higher level.
    """
    inc = _open(book, incident_id)
    current = site.plans.get(inc.plan)
    if to_plan is None:
        if inc.level.is_highest:
            raise IncidentError(f"incident {incident_id} is at {inc.level.value}, already the "
                                "highest level; there is no plan to escalate to")
        if current is None or current.escalates_to is None:
            raise IncidentError(f"plan {inc.plan} names no plan to escalate to; choose one")
        to_plan = current.escalates_to
    new = _plan(site, to_plan)
    if new.id in inc.plans:
        raise IncidentError(f"incident {incident_id} already runs plan {new.id}")
    if new.level.rank < inc.level.rank:
        raise IncidentError(f"plan {new.id} is {new.level.value}, below the incident's "
                            f"{inc.level.value}")
    payload: dict[str, JsonValue] = {
        "from_plan": inc.plan, "from_level": inc.level.value, "to_plan": new.id,
        "to_level": new.level.value, "by": by, "reason": reason,
        **plan_block(site, new, schedule, now),
    }
    return [Event(type=INCIDENT_ESCALATED, source=by, payload=payload,
                  incident_id=incident_id, drill_id=inc.drill_id)]


def close(book: IncidentBook, incident_id: str, *, by: str, confirmed: Iterable[int],
          note: str | None = None) -> list[Event]:
    """Close an open incident once every termination condition is confirmed.

    ``confirmed`` holds the indexes (0-based) of the current plan's conditions confirmed.
    """
    inc = _open(book, incident_id)
    chosen = set(confirmed)
    bad = sorted(i for i in chosen if not 0 <= i < len(inc.termination))
    if bad:
        raise IncidentError(f"no termination condition {bad[0]} (there are "
                            f"{len(inc.termination)})")
    missing = [inc.termination[i].get("zh", "") for i in range(len(inc.termination))
               if i not in chosen]
    if missing:
        raise IncidentError("termination conditions not confirmed: " + "; ".join(missing))
    payload: dict[str, JsonValue] = {"by": by, "note": note,
                                     "confirmed": [dict(t) for t in inc.termination]}
    return [Event(type=INCIDENT_CLOSED, source=by, payload=payload, incident_id=incident_id,
                  drill_id=inc.drill_id)]


def log_entry(book: IncidentBook, incident_id: str, *, text: str, author: str,
              kind: str = "note") -> list[Event]:
    """Add a position-log entry to an open incident."""
    inc = _open(book, incident_id)
    text = text.strip()
    if not text:
        raise IncidentError("a log entry needs text")
    return [Event(type=INCIDENT_LOG, source=author,
                  payload={"text": text, "author": author, "kind": kind},
                  incident_id=incident_id, drill_id=inc.drill_id)]


def _step_event(book: IncidentBook, incident_id: str, plan: str, step_id: str, *, by: str,
                note: str | None, etype: str, allowed: tuple[StepState, ...]) -> list[Event]:
    inc = _open(book, incident_id)
    step = inc.step(plan, step_id)
    if step.state not in allowed:
        raise IncidentError(f"step {step_id} of {plan} is {step.state.value}")
    return [Event(type=etype, source=by,
                  payload={"plan": plan, "step": step_id, "by": by, "note": note},
                  incident_id=incident_id, drill_id=inc.drill_id)]


def start_step(book: IncidentBook, incident_id: str, plan: str, step_id: str, *, by: str,
               note: str | None = None) -> list[Event]:
    """Mark an open checklist step as in progress."""
    return _step_event(book, incident_id, plan, step_id, by=by, note=note, etype=STEP_STARTED,
                       allowed=(StepState.OPEN,))


def finish_step(book: IncidentBook, incident_id: str, plan: str, step_id: str, *, by: str,
                note: str | None = None) -> list[Event]:
    """Mark a checklist step as done (it need not have been started)."""
    return _step_event(book, incident_id, plan, step_id, by=by, note=note, etype=STEP_DONE,
                       allowed=(StepState.OPEN, StepState.IN_PROGRESS))


def skip_step(book: IncidentBook, incident_id: str, plan: str, step_id: str, *, by: str,
              note: str) -> list[Event]:
    """Mark a checklist step as not applicable; the note saying why is required."""
    if not note.strip():
        raise IncidentError("say why the step does not apply")
    return _step_event(book, incident_id, plan, step_id, by=by, note=note.strip(),
                       etype=STEP_NA, allowed=(StepState.OPEN, StepState.IN_PROGRESS))
