"""Display helpers shared by the incident screens: names, roles, places, durations."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from commandcenter.core.incidents import (
    NEAR_BUILDING_M,
    Incident,
    ShiftSchedule,
    nearest_building,
)
from commandcenter.core.site import Person, Plan, Site


def person_name(site: Site, person_id: str, lang: str) -> str:
    """Return a person's name in ``lang`` (the id when the roster lacks them)."""
    p = site.people.get(person_id)
    if p is None:
        return person_id
    return (p.name_en or p.name) if lang == "en" else p.name


def actor_name(site: Site, actor: str | None, lang: str) -> str:
    """Return who did something, readably: ``person:DH1012`` → the person's name."""
    if not actor:
        return "—"
    kind, _, ident = actor.partition(":")
    if kind == "person" and ident:
        return person_name(site, ident, lang)
    if actor in site.people:
        return person_name(site, actor, lang)
    return ident if kind == "operator" and ident else actor


def location_text(site: Site, location: str | Sequence[float], lang: str) -> str:
    """Return a building's name with its id, or ``lat, lon`` for a point (and what it is near).

    A point inside a building says so; one within :data:`NEAR_BUILDING_M` of a building gives
    the distance to it.
    """
    if isinstance(location, str):
        b = site.buildings.get(location)
        return f"{b.name.get(lang)} ({location})" if b else location
    lat, lon = float(location[0]), float(location[1])
    text = f"{lat:.5f}, {lon:.5f}"
    near = nearest_building(site, (lat, lon))
    if near is None or near[1] > NEAR_BUILDING_M:
        return text
    b, metres = near
    name = f"{b.name.get(lang)} ({b.id})"
    if metres == 0:
        return f"{text}（{name}内）" if lang == "zh" else f"{text} (in {name})"
    return f"{text}（{name}附近 {metres:.0f} 米）" if lang == "zh" else \
        f"{text} ({metres:.0f} m from {name})"


class LocationTexts:
    """:func:`location_text` of incidents, worked out once per incident and language.

    An incident's place never changes, and describing a map point scans every building.
    """

    def __init__(self, site: Site) -> None:
        """Describe places of ``site``."""
        self._site = site
        self._texts: dict[tuple[str, str], str] = {}

    def of(self, incident: Incident, lang: str) -> str:
        """Return where ``incident`` happens, in ``lang``."""
        key = (incident.id, lang)
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = location_text(self._site, incident.location, lang)
        return text

    def clear(self) -> None:
        """Forget every text."""
        self._texts.clear()


def join_list(items: Iterable[str], lang: str) -> str:
    """Return ``items`` as one list: ``a、b`` in Chinese, ``a, b`` in English."""
    return ("、" if lang == "zh" else ", ").join(items)


def parse_point(text: str) -> tuple[float, float] | None:
    """Read ``"30.8151, 121.4550"`` (comma, full-width comma or space between) as a point."""
    parts = [p for p in re.split(r"[\s,，;；/]+", text.strip()) if p]
    if len(parts) != 2:
        return None
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    return (lat, lon) if math.isfinite(lat) and math.isfinite(lon) else None


def duration(seconds: float) -> str:
    """Format a duration as ``H:MM:SS`` (``M:SS`` under an hour); never negative."""
    total = max(int(seconds), 0)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def clock_duration(seconds: float) -> str:
    """Format an elapsed time for the big timers: ``HH:MM:SS``."""
    total = max(int(seconds), 0)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


def local_time(ts: datetime, tz: tzinfo) -> str:
    """Return ``HH:MM:SS`` of ``ts`` in the site's zone."""
    return ts.astimezone(tz).strftime("%H:%M:%S")


def plan_started(incident: Incident, plan: str) -> datetime:
    """Return when ``plan`` started in ``incident`` (activation, or the escalation to it)."""
    for rec in incident.escalations:
        if rec.to_plan == plan:
            return rec.at
    return incident.started_at


def commander_roles(plan: Plan) -> list[str]:
    """Return the roles that may lead ``plan``, in plan order.

    The first role a plan lists is the one that leads it (车间主任 for a workshop plan, 总指挥 for
    a plant plan); any other role of the plan named as a commander or director may lead too.
    """
    out: list[str] = []
    for i, r in enumerate(plan.roles):
        if (i == 0 or "commander" in r.role or "director" in r.role) and r.role not in out:
            out.append(r.role)
    return out


@dataclass(frozen=True, slots=True)
class CommanderChoice:
    """A person who may lead a plan, with the role that qualifies them."""

    person: Person
    role: str
    on_shift: bool


def commander_candidates(site: Site, plan: Plan, schedule: ShiftSchedule,
                         at: datetime) -> list[CommanderChoice]:
    """Return who may lead ``plan`` at ``at``: role order, people on shift before the others."""
    seen: set[str] = set()
    on: list[CommanderChoice] = []
    off: list[CommanderChoice] = []
    for role in commander_roles(plan):
        for p in site.people_with_role(role):
            if p.id in seen:
                continue
            seen.add(p.id)
            working = schedule.is_on_shift(p.shift, at)
            (on if working else off).append(CommanderChoice(p, role, working))
    return on + off


def since(now: datetime, then: datetime) -> float:
    """Return seconds from ``then`` to ``now`` (0 when ``then`` is later)."""
    return max((now - then) / timedelta(seconds=1), 0.0)
