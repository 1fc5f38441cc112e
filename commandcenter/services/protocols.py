"""What screens and commands may ask of the running services (the UI codes against these).

The services update the core projections (:class:`AlarmBoard`, :class:`IncidentBook`,
:class:`Notifier`, :class:`Outbox`) on the runtime's asyncio loop — in the GUI that is the Qt
thread (qasync), so the projections' signals arrive on the GUI thread. Every action appends
events to the durable log before it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from commandcenter.core.alarms import AlarmBoard
from commandcenter.core.incidents import Contact, IncidentBook
from commandcenter.core.notify import Notifier, Outbox
from commandcenter.core.site import Site
from commandcenter.core.trends import TrendStore


@dataclass(frozen=True, slots=True)
class GaugeStatus:
    """The latest known state of one gauge.

    Attributes:
        gauge_id: The gauge.
        value: Last good reading (``None`` before the first one).
        ts: When it was taken.
        available: False while its link is down or it stopped answering (shown stale, never
            as normal).
    """

    gauge_id: str
    value: float | None
    ts: datetime | None
    available: bool


class AlarmDesk(Protocol):
    """The alarm service as the alarm screens and CLI see it (component name ``"alarms"``)."""

    site: Site
    board: AlarmBoard
    trends: TrendStore

    def gauge_status(self, gauge_id: str) -> GaugeStatus:
        """Return the latest value and availability of ``gauge_id``."""
        ...

    async def acknowledge(self, alarm_id: str, who: str) -> None:
        """Acknowledge one alarm."""
        ...

    async def acknowledge_all(self, who: str, gauge_id: str | None = None) -> None:
        """Acknowledge every unacknowledged alarm (of one gauge)."""
        ...

    async def shelve(self, alarm_id: str, who: str, reason: str,
                     minutes: float | None) -> None:
        """Shelve for ``minutes`` (``None``: one-shot, until it returns to normal)."""
        ...

    async def unshelve(self, alarm_id: str, who: str) -> None:
        """End shelving by hand (the alarm returns acknowledged, IEC 62682 §11.7.3)."""
        ...

    async def reset(self, alarm_id: str, who: str) -> None:
        """Reset a latched alarm."""
        ...

    async def comment(self, alarm_id: str, who: str, text: str) -> None:
        """Attach an operator comment."""
        ...

    async def confirm(self, alarm_id: str, who: str, note: str = "") -> None:
        """Record that the post confirmed a pre-alarm: it becomes formal and offers plans."""
        ...

    async def remove_gauge_from_service(self, gauge_id: str, who: str, reason: str) -> None:
        """Take every alarm of a gauge out of service."""
        ...

    async def return_gauge_to_service(self, gauge_id: str, who: str) -> None:
        """Return every alarm of a gauge to service."""
        ...

    def gauge_out_of_service(self, gauge_id: str) -> bool:
        """True while any alarm of the gauge is out of service."""
        ...


@dataclass(frozen=True, slots=True)
class ActivationPreview:
    """What the confirmation dialog shows before a plan is activated.

    Attributes:
        plan_id: The plan.
        level: Its level (``"L1"`` … ``"L4"``).
        location: Building id or ``[lat, lon]`` text.
        stages: Per notification stage, the contacts who will be called first.
        notes: Warnings (e.g. "no one holding role X is on shift; calling the off-shift holder").
    """

    plan_id: str
    level: str
    location: str
    stages: Sequence[tuple[int, Sequence[Contact]]]
    notes: Sequence[str]


class IncidentDesk(Protocol):
    """The incident service as the incident screens and CLI see it (component ``"incidents"``)."""

    site: Site
    book: IncidentBook
    notifier: Notifier
    outbox: Outbox

    def preview(self, plan_id: str, location: str | Sequence[float]) -> ActivationPreview:
        """Return who would be notified if ``plan_id`` were activated now at ``location``."""
        ...

    async def activate(self, plan_id: str, location: str | Sequence[float], *,
                       commander: str | None, by: str) -> str:
        """Open an incident (and queue its notifications); return the incident id."""
        ...

    async def escalate(self, incident_id: str, *, by: str) -> None:
        """Escalate to the plan's next level."""
        ...

    async def close(self, incident_id: str, *, by: str, confirmed: Sequence[int]) -> None:
        """Close, with the indexes of the termination conditions confirmed."""
        ...

    async def log(self, incident_id: str, *, text: str, author: str) -> None:
        """Add a position-log entry."""
        ...

    async def set_step(self, incident_id: str, plan_id: str, step_id: str, state: str, *,
                       by: str, note: str = "") -> None:
        """Mark a checklist step ``"in_progress"``, ``"done"`` or ``"not_applicable"``."""
        ...

    async def record_answer(self, incident_id: str, person_id: str, *, recorded_by: str,
                            declined: bool = False) -> None:
        """Record an acknowledgement (or decline) taken by phone."""
        ...
