"""A small site, a scripted clock and a real file-backed event log for service tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from commandcenter.config import Settings
from commandcenter.core.clock import ScriptedClock
from commandcenter.core.site import (
    AlarmLevel,
    Gauge,
    GaugeKind,
    GaugeLink,
    Plan,
    Protocol,
    Site,
    Text,
    Threshold,
)
from commandcenter.services.runtime import Services
from commandcenter.storage.eventlog import EventLog

T0 = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)
GD = "GD-101"
OX = "OX-201"


def gas_gauge(gid: str = GD, **kw: Any) -> Gauge:
    fields: dict[str, Any] = {
        "id": gid, "kind": GaugeKind.COMBUSTIBLE_GAS, "name": Text(zh="可燃气体探测器"),
        "unit": "%LEL", "link": "RS485-1", "address": {"slave": 1, "register": 0},
        "location": (30.7, 121.3), "range": (0.0, 100.0), "deadband": 1.0,
        "thresholds": (
            Threshold(level=AlarmLevel.PREALARM, direction="high", value=10.0),
            Threshold(level=AlarmLevel.ALARM1, direction="high", value=25.0),
            Threshold(level=AlarmLevel.ALARM2, direction="high", value=50.0),
        ),
    }
    fields.update(kw)
    return Gauge(**fields)


def o2_gauge() -> Gauge:
    return Gauge(
        id=OX, kind=GaugeKind.O2, name=Text(zh="氧含量"), unit="%VOL", link="RS485-1",
        address={"slave": 2, "register": 0}, location=(30.7, 121.3), range=(0.0, 30.0),
        deadband=0.5,
        thresholds=(Threshold(level=AlarmLevel.ALARM1, direction="low", value=19.5),))


def gas_plan() -> Plan:
    return Plan.model_validate({
        "schema_version": 1, "id": "PLAN-GAS-L1", "title": {"zh": "可燃气体泄漏"}, "level": "L1",
        "kind": "flammable_gas_leak", "tier": "on_site", "scope": {"zh": "装置区"},
        "triggers": [{"description": {"zh": "报警"}, "gauge_kinds": ["combustible_gas"],
                      "min_alarm_level": "alarm1"}],
        "roles": [], "notification": [{"order": 1, "roles": ["shift_leader"],
                                       "ack_within_min": 5}],
        "steps": [{"id": "s1", "title": {"zh": "切断"}, "owner": "shift_leader",
                   "target_min": 5}],
        "hazard_zone": {"isolation_m": 50}, "termination": [{"zh": "泄漏已控制"}],
    })


def small_site(root: Path) -> Site:
    link = GaugeLink(id="RS485-1", protocol=Protocol.MODBUS_RTU, url="/dev/ttyUSB0",
                     baudrate=19200, poll_s=1.0, timeout_s=0.5)
    plan = gas_plan()
    return Site(root=str(root), links={link.id: link},
                gauges={g.id: g for g in (gas_gauge(), o2_gauge())}, plans={plan.id: plan})


@dataclass
class Plant:
    """What a service test works with; :meth:`services` opens a fresh log (a new process)."""

    root: Path
    clock: ScriptedClock
    site: Site
    url: str
    logs: list[EventLog] = field(default_factory=list)

    def open_log(self) -> EventLog:
        log = EventLog(self.url, self.clock)
        self.logs.append(log)
        return log

    def services(self) -> Services:
        settings = Settings(database_url=self.url, site_dir=self.root)
        return Services(settings=settings, clock=self.clock, site=self.site,
                        event_log=self.open_log())


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[Plant]:
    p = Plant(root=tmp_path, clock=ScriptedClock(T0), site=small_site(tmp_path),
              url=f"sqlite:///{tmp_path / 'cc.db'}")
    try:
        yield p
    finally:
        for log in p.logs:
            log.close()
