"""Typed schemas of the site data folders, and the loaded :class:`Site`.

A site is four folders of plant-owned data: ``maps/`` (site identity, geometry and the road/walkway
network), ``resources/`` (emergency resources, gauges, responder roster), ``plans/`` (L1–L4
emergency plans, one YAML file each) and ``drills/`` (blind-drill scenarios). The models here are
the single definition of those formats; ``siteio`` reads files into them with line numbers.

All models are frozen and reject unknown fields. Coordinates in YAML are ``[lat, lon]`` (WGS-84);
GeoJSON geometry follows the GeoJSON order ``[lon, lat]``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Literal

import networkx as nx
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from commandcenter.core.geodesy import distance_m

SCHEMA_VERSION = 1
"""The schema version this code reads; files state theirs in ``schema_version``."""

Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"),
]
"""Ids: letters, digits, ``_ . -``; 1–64 characters, starting with a letter or digit."""


def _check_lat_lon(value: tuple[float, float]) -> tuple[float, float]:
    lat, lon = value
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValueError("coordinates must be finite numbers")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"latitude {lat} is outside -90..90 (is the order [lat, lon]?)")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"longitude {lon} is outside -180..180")
    return (lat, lon)


LatLon = Annotated[tuple[float, float], AfterValidator(_check_lat_lon)]
"""A WGS-84 point as ``[lat, lon]``."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Text(_Model):
    """Text in Chinese and English; Chinese is required, English recommended."""

    zh: Annotated[str, StringConstraints(min_length=1)]
    en: str | None = None

    def get(self, lang: str) -> str:
        """Return the text in ``lang`` (``"zh"`` or ``"en"``), falling back to the other."""
        if lang == "en":
            return self.en or self.zh
        return self.zh


class VersionedFile(_Model):
    """Every site file states which schema version it is written against."""

    schema_version: int

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, v: int) -> int:
        if v != SCHEMA_VERSION:
            raise ValueError(f"schema_version {v} is not supported (this build reads "
                             f"{SCHEMA_VERSION})")
        return v


# --------------------------------------------------------------------------- maps/


class SiteInfo(VersionedFile):
    """``maps/site.yaml``: who the site is and its routing defaults."""

    id: Identifier
    name: Text
    operator: Text | None = None
    address: Text | None = None
    timezone: str = "Asia/Shanghai"
    walking_speed_mps: Annotated[float, Field(gt=0.2, le=3.0)] = 1.2
    vehicle_speed_mps: Annotated[float, Field(gt=1.0, le=30.0)] = 8.3
    max_offsite_m: Annotated[float, Field(ge=0)] = 2000.0
    """How far outside the site bounds a feature may lie before it is called a bad coordinate."""
    default_downwind_m: Annotated[float, Field(ge=0, le=50000)] = 500.0
    """Downwind sector length of a hazard zone that has a wind but no plan giving the distance."""


class BuildingKind(StrEnum):
    """What a building or unit is used for."""

    PROCESS_UNIT = "process_unit"
    TANK_FARM = "tank_farm"
    WAREHOUSE = "warehouse"
    CONTROL_ROOM = "control_room"
    OFFICE = "office"
    GATE = "gate"
    FIRE_STATION = "fire_station"
    UTILITY = "utility"
    SUBSTATION = "substation"
    LABORATORY = "laboratory"
    LOADING_STATION = "loading_station"
    WASTEWATER = "wastewater"
    WORKSHOP = "workshop"
    CANTEEN = "canteen"
    PARKING = "parking"
    PIPE_RACK = "pipe_rack"


class ZoneKind(StrEnum):
    """Kinds of named areas on the site plan."""

    PROCESS_AREA = "process_area"
    STORAGE_AREA = "storage_area"
    ADMIN_AREA = "admin_area"
    UTILITY_AREA = "utility_area"
    LOGISTICS_AREA = "logistics_area"
    RESTRICTED = "restricted"


Ring = list[tuple[float, float]]


def _check_polygon(rings: list[Ring]) -> list[Ring]:
    if not rings:
        raise ValueError("a polygon needs at least one ring")
    for ring in rings:
        if len(ring) < 4:
            raise ValueError("a polygon ring needs at least 4 positions")
        if ring[0] != ring[-1]:
            raise ValueError("a polygon ring must be closed (first position == last)")
        for lon, lat in ring:
            try:
                _check_lat_lon((lat, lon))
            except ValueError as err:
                raise ValueError(str(err).replace("(is the order [lat, lon]?)",
                                                  "(GeoJSON positions are [lon, lat])")) from None
    return rings


PolygonRings = Annotated[list[Ring], AfterValidator(_check_polygon)]
"""GeoJSON Polygon coordinates: rings of ``[lon, lat]``, closed."""


class Building(_Model):
    """A building or process unit (GeoJSON feature with ``layer: building``)."""

    id: Identifier
    kind: BuildingKind
    name: Text
    outline: PolygonRings
    entrance_node: Identifier
    """The network node people leave the building by (evacuation starts here)."""
    occupancy: Annotated[int, Field(ge=0)] = 0
    """Usual number of people inside on a day shift."""
    hazards: tuple[str, ...] = ()
    """Main hazardous materials handled there, free text (e.g. ``"乙烯"``)."""
    zone: Identifier | None = None


class Zone(_Model):
    """A named area of the site (GeoJSON feature with ``layer: zone``)."""

    id: Identifier
    kind: ZoneKind
    name: Text
    outline: PolygonRings


class Boundary(_Model):
    """The site fence line (GeoJSON feature with ``layer: boundary``)."""

    id: Identifier
    name: Text
    outline: PolygonRings


class EdgeKind(StrEnum):
    """Who can use a network edge."""

    ROAD = "road"
    """Vehicles and people."""
    WALKWAY = "walkway"
    """People only (stairs, paths between units, pipe-rack crossings)."""


class NetworkNode(_Model):
    """A junction of the road/walkway network."""

    id: Identifier
    location: LatLon


class NetworkEdge(_Model):
    """A road or walkway segment between two nodes; usable both ways."""

    id: Identifier
    source: Identifier
    target: Identifier
    kind: EdgeKind
    length_m: Annotated[float, Field(gt=0, le=5000)]
    path: list[tuple[float, float]]
    """The segment's geometry as ``[lon, lat]`` positions, from ``source`` to ``target``."""

    @model_validator(mode="after")
    def _distinct_ends(self) -> NetworkEdge:
        if self.source == self.target:
            raise ValueError("an edge cannot start and end at the same node")
        if len(self.path) < 2:
            raise ValueError("an edge path needs at least 2 positions")
        return self


# --------------------------------------------------------------------------- resources/


class ResourceKind(StrEnum):
    """Kinds of emergency resources."""

    FIRE_HYDRANT = "fire_hydrant"
    FIRE_MONITOR = "fire_monitor"
    EXTINGUISHER_STATION = "extinguisher_station"
    SCBA_CABINET = "scba_cabinet"
    SPILL_KIT = "spill_kit"
    EYEWASH_SHOWER = "eyewash_shower"
    FIRST_AID = "first_aid"
    FIRE_TRUCK = "fire_truck"
    ASSEMBLY_POINT = "assembly_point"
    GAS_MASK_CABINET = "gas_mask_cabinet"
    AMBULANCE = "ambulance"
    FOAM_STATION = "foam_station"
    EMERGENCY_SHELTER = "emergency_shelter"


class Resource(_Model):
    """One emergency resource at a fixed place (or the parking place of a vehicle)."""

    id: Identifier
    kind: ResourceKind
    name: Text
    location: LatLon
    building: Identifier | None = None
    quantity: Annotated[int, Field(ge=1)] = 1
    capacity: Annotated[int, Field(ge=1)] | None = None
    """People an assembly point or shelter holds (required for those kinds)."""
    spec: str | None = None
    """Type or size, e.g. ``"DN150 地上式"`` or ``"正压式 6.8L"``."""

    @model_validator(mode="after")
    def _capacity_where_needed(self) -> Resource:
        if self.kind in (ResourceKind.ASSEMBLY_POINT, ResourceKind.EMERGENCY_SHELTER) \
                and self.capacity is None:
            raise ValueError(f"capacity: required for kind {self.kind.value}")
        return self


class ResourceFile(VersionedFile):
    """``resources/resources.yaml``."""

    resources: list[Any]
    """Each item is checked on its own (a bad item is skipped, the rest loads)."""


class GaugeKind(StrEnum):
    """What a gauge measures."""

    COMBUSTIBLE_GAS = "combustible_gas"
    H2S = "h2s"
    NH3 = "nh3"
    CL2 = "cl2"
    CO = "co"
    O2 = "o2"
    TEMPERATURE = "temperature"
    PRESSURE = "pressure"
    LEVEL = "level"
    FLOW = "flow"
    WIND_DIRECTION = "wind_direction"
    WIND_SPEED = "wind_speed"


GAUGE_UNITS: dict[GaugeKind, frozenset[str]] = {
    GaugeKind.COMBUSTIBLE_GAS: frozenset({"%LEL"}),
    GaugeKind.H2S: frozenset({"ppm"}),
    GaugeKind.NH3: frozenset({"ppm"}),
    GaugeKind.CL2: frozenset({"ppm"}),
    GaugeKind.CO: frozenset({"ppm"}),
    GaugeKind.O2: frozenset({"%VOL"}),
    GaugeKind.TEMPERATURE: frozenset({"°C"}),
    GaugeKind.PRESSURE: frozenset({"MPa", "kPa"}),
    GaugeKind.LEVEL: frozenset({"%", "m"}),
    GaugeKind.FLOW: frozenset({"m3/h", "t/h"}),
    GaugeKind.WIND_DIRECTION: frozenset({"deg"}),
    GaugeKind.WIND_SPEED: frozenset({"m/s"}),
}
"""The units each gauge kind may report in."""


class Protocol(StrEnum):
    """How a gauge link talks."""

    MODBUS_RTU = "modbus_rtu"
    MODBUS_TCP = "modbus_tcp"
    MQTT = "mqtt"
    ASCII = "ascii"
    SIMULATOR = "simulator"


class GaugeLink(_Model):
    """One physical or network link that several gauges share (one coordinator each)."""

    id: Identifier
    protocol: Protocol
    name: Text | None = None
    url: str | None = None
    """pyserial URL for serial links (``/dev/ttyUSB0``, ``socket://host:port``, a pty path)."""
    baudrate: Annotated[int, Field(gt=0)] | None = None
    host: str | None = None
    port: Annotated[int, Field(gt=0, lt=65536)] | None = None
    poll_s: Annotated[float, Field(gt=0, le=3600)] = 2.0
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 1.0

    @model_validator(mode="after")
    def _endpoint(self) -> GaugeLink:
        if self.protocol in (Protocol.MODBUS_RTU, Protocol.ASCII):
            if not self.url:
                raise ValueError(f"url: required for a {self.protocol.value} link")
            if self.baudrate is None:
                raise ValueError(f"baudrate: required for a {self.protocol.value} link")
        if self.protocol in (Protocol.MODBUS_TCP, Protocol.MQTT):
            if not self.host:
                raise ValueError(f"host: required for a {self.protocol.value} link")
            if self.port is None:
                raise ValueError(f"port: required for a {self.protocol.value} link")
        return self


class AlarmLevel(StrEnum):
    """Graded alarm levels, lowest first (GB/T 50493 and the seeds' graded handling)."""

    PREALARM = "prealarm"
    """预警: the post is asked to check."""
    ALARM1 = "alarm1"
    """一级报警: a formal alarm."""
    ALARM2 = "alarm2"
    """二级报警: a formal alarm; offers the matching plan."""


ALARM_LEVEL_ORDER = {AlarmLevel.PREALARM: 0, AlarmLevel.ALARM1: 1, AlarmLevel.ALARM2: 2}


class Threshold(_Model):
    """One alarm limit of a gauge."""

    level: AlarmLevel
    direction: Literal["high", "low"]
    value: float

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("threshold must be a finite number")
        return v


class SuppressionRule(_Model):
    """Suppression by design of a gauge's limit alarms, decided by another gauge.

    While the other gauge says the unit is shut down (e.g. the feed flow is near zero), the
    limit alarms are not announced (low pressure is expected then). Exactly one of ``below``
    and ``above`` is given. While the other gauge reads untrusted values or cannot be read,
    the alarms are announced (fail-safe).
    """

    gauge: Identifier
    """The gauge whose reading decides (usually a flow or a running signal)."""
    below: float | None = None
    above: float | None = None
    alarms: Literal["low", "high", "all"] = "low"
    """Which limit alarms are suppressed: the low ones (default), the high ones, or all."""

    @model_validator(mode="after")
    def _one_limit(self) -> SuppressionRule:
        given = [v for v in (self.below, self.above) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of below and above")
        if not math.isfinite(given[0]):
            raise ValueError("the limit must be a finite number")
        return self

    def holds(self, value: float, deadband: float = 0.0, *, held: bool = False) -> bool:
        """True while ``value`` of the deciding gauge calls for suppression.

        Once suppressing (``held``) the value must come back ``deadband`` past the limit
        before the suppression ends.
        """
        if self.below is not None:
            return value < self.below + (deadband if held else 0.0)
        assert self.above is not None
        return value > self.above - (deadband if held else 0.0)


class Gauge(_Model):
    """A gauge on the site: what it measures, where, how to read it and when to alarm."""

    id: Identifier
    kind: GaugeKind
    name: Text
    unit: str
    link: Identifier
    address: dict[str, int | float | str]
    """Protocol-specific address: ``{slave, register, scale}`` for Modbus, ``{topic}`` for MQTT,
    ``{tag}`` for ASCII panels, anything for the simulator."""
    location: LatLon
    building: Identifier | None = None
    range: tuple[float, float]
    thresholds: tuple[Threshold, ...] = ()
    deadband: Annotated[float, Field(ge=0)] = 0.0
    on_delay_s: Annotated[float, Field(ge=0)] = 0.0
    off_delay_s: Annotated[float, Field(ge=0)] = 0.0
    latching: bool = False
    suppressed_when: SuppressionRule | None = None
    """Suppression by design of its limit alarms, decided by another gauge."""

    @model_validator(mode="after")
    def _consistent(self) -> Gauge:
        allowed = GAUGE_UNITS[self.kind]
        if self.unit not in allowed:
            raise ValueError(f"unit: {self.unit!r} is not a unit for {self.kind.value} "
                             f"(use {', '.join(sorted(allowed))})")
        lo, hi = self.range
        if not lo < hi:
            raise ValueError(f"range: low end {lo} must be below high end {hi}")
        seen: set[tuple[str, str]] = set()
        for t in self.thresholds:
            key = (t.level.value, t.direction)
            if key in seen:
                raise ValueError(f"thresholds: {t.direction} {t.level.value} is given twice")
            seen.add(key)
            if not lo <= t.value <= hi:
                raise ValueError(f"thresholds: {t.direction} {t.level.value} {t.value} lies "
                                 f"outside the range {lo}..{hi}")
        for direction in ("high", "low"):
            ts = sorted((t for t in self.thresholds if t.direction == direction),
                        key=lambda t: ALARM_LEVEL_ORDER[t.level])
            values = [t.value for t in ts]
            ordered = values == sorted(values) if direction == "high" else \
                values == sorted(values, reverse=True)
            if not ordered:
                raise ValueError(f"thresholds: {direction} limits must get "
                                 f"{'higher' if direction == 'high' else 'lower'} with the level")
        return self


class GaugeFile(VersionedFile):
    """``resources/gauges.yaml``."""

    links: list[Any]
    gauges: list[Any]


class Channel(StrEnum):
    """Ways to reach a responder."""

    SMS = "sms"
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    FEISHU = "feishu"
    WEBHOOK = "webhook"
    EMAIL = "email"
    PA = "pa"
    PHONE = "phone"


class Shift(_Model):
    """A shift crew (四班三倒 crews A–D plus day staff)."""

    id: Identifier
    name: Text
    hours: str
    """Human description, e.g. ``"轮班 08:00–16:00 / 16:00–24:00 / 00:00–08:00"``."""


class Role(_Model):
    """An emergency role (总指挥, 现场指挥, 抢险组 …)."""

    id: Identifier
    name: Text
    group: Text | None = None
    """The emergency group it belongs to (抢险组, 警戒疏散组 …)."""


_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{6,19}$")
_EMERGENCY_NUMBER = re.compile(r"^1(10|19|20|22)$")
"""Public emergency numbers (police, fire, ambulance, traffic) allowed for outside contacts."""


class Person(_Model):
    """A responder on the roster."""

    id: Identifier
    name: Annotated[str, StringConstraints(min_length=1)]
    name_en: str | None = None
    title: Text | None = None
    department: Text | None = None
    roles: tuple[Identifier, ...]
    shift: Identifier
    phone: str
    email: str | None = None
    channels: tuple[Channel, ...]
    """Preferred channels, most preferred first."""

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        if not _PHONE.match(v):
            raise ValueError(f"{v!r} is not a phone number (digits, spaces, dashes, optional +)")
        return v

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", v):
            raise ValueError(f"{v!r} is not an e-mail address")
        return v

    @model_validator(mode="after")
    def _reachable(self) -> Person:
        if not self.channels:
            raise ValueError("channels: a responder needs at least one channel")
        if Channel.EMAIL in self.channels and not self.email:
            raise ValueError("email: required when 'email' is one of the channels")
        return self


class RosterFile(VersionedFile):
    """``resources/roster.yaml``."""

    shifts: list[Any]
    roles: list[Any]
    people: list[Any]


# --------------------------------------------------------------------------- plans/


class PlanLevel(StrEnum):
    """Response levels used by this product."""

    L1 = "L1"
    """班组级 — team / shift."""
    L2 = "L2"
    """车间级 — workshop."""
    L3 = "L3"
    """厂级 — plant."""
    L4 = "L4"
    """集团级 — group."""

    @property
    def rank(self) -> int:
        """1 for L1 … 4 for L4."""
        return int(self.value[1])

    @property
    def is_highest(self) -> bool:
        """True for the highest level there is (nothing to escalate to)."""
        return self.rank == max(level.rank for level in PlanLevel)


class PlanKind(StrEnum):
    """What a plan responds to."""

    FIRE = "fire"
    FLAMMABLE_GAS_LEAK = "flammable_gas_leak"
    TOXIC_GAS_RELEASE = "toxic_gas_release"
    CHEMICAL_SPILL = "chemical_spill"
    TYPHOON_FLOOD = "typhoon_flood"
    POWER_OUTAGE = "power_outage"
    INJURY_MEDICAL = "injury_medical"
    CONFINED_SPACE_RESCUE = "confined_space_rescue"


class PlanTier(StrEnum):
    """GB/T 29639-2020 plan tiers."""

    COMPREHENSIVE = "comprehensive"
    """综合应急预案."""
    SPECIAL = "special"
    """专项应急预案."""
    ON_SITE = "on_site"
    """现场处置方案."""


class Trigger(_Model):
    """A condition that starts (or proposes) the plan."""

    description: Text
    gauge_kinds: tuple[GaugeKind, ...] = ()
    """Gauge kinds whose alarms propose this plan."""
    min_alarm_level: AlarmLevel | None = None
    """The lowest alarm level that proposes it; ``None`` for manual-only triggers."""
    automatic: bool = False
    """True where the plan starts without a leader's decision (GB/T 29639 allows both)."""


class PlanRole(_Model):
    """A role the plan calls on, and what it does."""

    role: Identifier
    duty: Text


class NotificationStage(_Model):
    """One stage of the notification order."""

    order: Annotated[int, Field(ge=1)]
    roles: tuple[Identifier, ...]
    need_acks: int | dict[str, int] = 1
    """Acknowledgements needed: a number (from any of the stage's roles), or role → number
    (each of those roles must answer that often; the stage's other roles are called too) …"""
    ack_within_min: Annotated[float, Field(gt=0, le=240)]
    """… within this many minutes, else the stage escalates."""
    escalate_to_roles: tuple[Identifier, ...] = ()
    """Who is notified when the stage misses its deadline."""
    message: Text | None = None

    @field_validator("need_acks", mode="before")
    @classmethod
    def _need_acks(cls, v: Any) -> Any:
        def count(n: Any) -> bool:
            return isinstance(n, int) and not isinstance(n, bool) and n >= 1

        if isinstance(v, dict):
            if not v:
                raise ValueError("name at least one role, e.g. {shift_leader: 1}")
            for role, n in v.items():
                if not isinstance(role, str):
                    raise ValueError(f"{role!r} is not a role id")
                if not count(n):
                    raise ValueError(f"{role}: {n!r} is not a number of acknowledgements "
                                     "(1 or more)")
            return v
        if not count(v):
            raise ValueError(f"{v!r} is neither a number of acknowledgements (1 or more) nor "
                             "role: number pairs such as {shift_leader: 1, field_operator: 1}")
        return v

    @model_validator(mode="after")
    def _need_roles(self) -> NotificationStage:
        if isinstance(self.need_acks, dict):
            extra = [r for r in self.need_acks if r not in self.roles]
            if extra:
                raise ValueError(f"need_acks: role {extra[0]!r} is not one of this stage's "
                                 f"roles ({', '.join(self.roles)})")
        return self

    @property
    def need_by_role(self) -> dict[str, int]:
        """Role → acknowledgements needed from its holders (empty: any of the roles count)."""
        return dict(self.need_acks) if isinstance(self.need_acks, dict) else {}

    @property
    def total_acks(self) -> int:
        """How many acknowledgements the stage needs in all."""
        if isinstance(self.need_acks, dict):
            return sum(self.need_acks.values())
        return self.need_acks


class PlanStep(_Model):
    """A checklist step with its owner and target time (minutes from activation)."""

    id: Identifier
    title: Text
    owner: Identifier
    target_min: Annotated[float, Field(ge=0, le=1440)]
    detail: Text | None = None


class PlanResource(_Model):
    """A kind of resource the plan needs brought, and how many."""

    kind: ResourceKind
    count: Annotated[int, Field(ge=1)]
    note: Text | None = None


class HazardZoneSpec(_Model):
    """Isolation and protective-action distances for the plan's hazard."""

    isolation_m: Annotated[float, Field(gt=0, le=10000)]
    protective_downwind_m: Annotated[float, Field(ge=0, le=50000)] = 0.0
    sector_deg: Annotated[float, Field(ge=0, le=180)] = 0.0
    note: Text | None = None


class ExternalReporting(_Model):
    """Who outside the plant must be told, how fast, in what words (对外通报口径)."""

    to: tuple[Text, ...]
    within_min: Annotated[float, Field(gt=0, le=1440)]
    wording: Text


class Contact(_Model):
    """An outside contact in a response pack (通讯录)."""

    name: Text
    phone: str

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        if not (_PHONE.match(v) or _EMERGENCY_NUMBER.match(v)):
            raise ValueError(f"{v!r} is not a phone number")
        return v


class ResponsePack(_Model):
    """标准化响应包: contact list and materials list so nothing is improvised."""

    contacts: tuple[Contact, ...] = ()
    materials: tuple[Text, ...] = ()


class Plan(VersionedFile):
    """An emergency plan (one file in ``plans/``)."""

    id: Identifier
    title: Text
    level: PlanLevel
    kind: PlanKind
    tier: PlanTier
    scope: Text
    triggers: tuple[Trigger, ...]
    roles: tuple[PlanRole, ...]
    notification: tuple[NotificationStage, ...]
    steps: tuple[PlanStep, ...]
    resources: tuple[PlanResource, ...] = ()
    hazard_zone: HazardZoneSpec
    external_reporting: ExternalReporting | None = None
    termination: tuple[Text, ...]
    escalates_to: Identifier | None = None
    response_pack: ResponsePack = ResponsePack()

    @model_validator(mode="after")
    def _internal_refs(self) -> Plan:
        if not self.triggers:
            raise ValueError("triggers: a plan needs at least one trigger")
        if not self.steps:
            raise ValueError("steps: a plan needs at least one step")
        if not self.notification:
            raise ValueError("notification: a plan needs at least one notification stage")
        if not self.termination:
            raise ValueError("termination: a plan needs its termination conditions")
        plan_roles = [r.role for r in self.roles]
        dup = _first_duplicate(plan_roles)
        if dup:
            raise ValueError(f"roles: role {dup!r} is listed twice")
        dup = _first_duplicate([s.id for s in self.steps])
        if dup:
            raise ValueError(f"steps: step id {dup!r} is used twice")
        dup = _first_duplicate([str(n.order) for n in self.notification])
        if dup:
            raise ValueError(f"notification: order {dup} is used twice")
        return self


def _first_duplicate(items: list[str]) -> str | None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return None


# --------------------------------------------------------------------------- drills/


class InjectKind(StrEnum):
    """What a drill inject does."""

    GAUGE_READING = "gauge_reading"
    """Feeds a simulated value to a gauge (only inside the drill)."""
    MESSAGE = "message"
    """A message to the control room (a phone call, a radio report)."""
    GAUGE_FAULT = "gauge_fault"
    """Makes a gauge stop answering."""


class Inject(_Model):
    """One scripted event of a drill scenario (an MSEL row)."""

    at_s: Annotated[float, Field(ge=0)]
    kind: InjectKind
    gauge: Identifier | None = None
    value: float | None = None
    sender: Text | None = None
    text: Text | None = None
    expected_action: Text | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Inject:
        if self.kind in (InjectKind.GAUGE_READING, InjectKind.GAUGE_FAULT) and not self.gauge:
            raise ValueError(f"gauge: required for a {self.kind.value} inject")
        if self.kind == InjectKind.GAUGE_READING and self.value is None:
            raise ValueError("value: required for a gauge_reading inject")
        if self.kind == InjectKind.MESSAGE and self.text is None:
            raise ValueError("text: required for a message inject")
        return self


class DrillNode(_Model):
    """A timed node: the time between two events, against a target."""

    id: Identifier
    name: Text
    from_event: str
    to_event: str
    target_s: Annotated[float, Field(gt=0)]


class DrillScenario(VersionedFile):
    """A blind-drill scenario (one file in ``drills/``)."""

    id: Identifier
    title: Text
    plan: Identifier
    blind: bool = True
    location: Identifier
    """The building or unit where the scenario plays."""
    summary: Text
    objectives: tuple[Text, ...] = ()
    injects: tuple[Inject, ...]
    nodes: tuple[DrillNode, ...]

    @model_validator(mode="after")
    def _ordered(self) -> DrillScenario:
        if not self.injects:
            raise ValueError("injects: a scenario needs at least one inject")
        if not self.nodes:
            raise ValueError("nodes: a scenario needs at least one timed node")
        times = [i.at_s for i in self.injects]
        if times != sorted(times):
            raise ValueError("injects: must be listed in time order (at_s ascending)")
        dup = _first_duplicate([n.id for n in self.nodes])
        if dup:
            raise ValueError(f"nodes: node id {dup!r} is used twice")
        return self


# --------------------------------------------------------------------------- the site


def metres_outside(point: tuple[float, float],
                   box: tuple[tuple[float, float], tuple[float, float]]) -> float:
    """Return how far ``(lat, lon)`` lies outside ``((south, west), (north, east))`` (0 inside)."""
    (south, west), (north, east) = box
    lat, lon = point
    return distance_m(point, (min(max(lat, south), north), min(max(lon, west), east)))


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a site file: ``path:line: field: message``."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else \
            f"{where}: {self.message}"


@dataclass(slots=True)
class Site:
    """Everything loaded from a site's folders, plus what could not be loaded.

    Items that failed validation are left out and described in :attr:`problems`; the rest of the
    site is usable.
    """

    root: str
    info: SiteInfo | None = None
    boundary: Boundary | None = None
    buildings: dict[str, Building] = field(default_factory=dict)
    zones: dict[str, Zone] = field(default_factory=dict)
    nodes: dict[str, NetworkNode] = field(default_factory=dict)
    edges: dict[str, NetworkEdge] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    links: dict[str, GaugeLink] = field(default_factory=dict)
    gauges: dict[str, Gauge] = field(default_factory=dict)
    shifts: dict[str, Shift] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    plans: dict[str, Plan] = field(default_factory=dict)
    drills: dict[str, DrillScenario] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    """Relative path → where each loaded item came from (``"plans/fire.yaml"``), by item key."""

    @property
    def name(self) -> Text:
        """The site's name (a placeholder when ``maps/site.yaml`` did not load)."""
        return self.info.name if self.info else Text(zh="未命名厂区", en="Unnamed site")

    def bounds(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """Return ``((south, west), (north, east))`` over boundary, buildings and nodes."""
        lats: list[float] = []
        lons: list[float] = []
        outlines = [b.outline for b in self.buildings.values()]
        if self.boundary is not None:
            outlines.append(self.boundary.outline)
        for rings in outlines:
            for lon, lat in rings[0]:
                lats.append(lat)
                lons.append(lon)
        for n in self.nodes.values():
            lats.append(n.location[0])
            lons.append(n.location[1])
        if not lats:
            return None
        return (min(lats), min(lons)), (max(lats), max(lons))

    def center(self) -> tuple[float, float] | None:
        """Return the middle of :meth:`bounds` as ``(lat, lon)``."""
        b = self.bounds()
        if b is None:
            return None
        (s, w), (n, e) = b
        return ((s + n) / 2, (w + e) / 2)

    def max_offsite_m(self) -> float:
        """Return how far outside its bounds a place may lie and still belong to the site."""
        return self.info.max_offsite_m if self.info else 2000.0

    def people_with_role(self, role: str) -> list[Person]:
        """Return everyone on the roster who holds ``role``, in roster order."""
        return [p for p in self.people.values() if role in p.roles]

    def plans_by_level(self) -> dict[PlanLevel, list[Plan]]:
        """Return plans grouped by level (every level present, possibly empty), sorted by id."""
        out: dict[PlanLevel, list[Plan]] = {lvl: [] for lvl in PlanLevel}
        for plan in sorted(self.plans.values(), key=lambda p: p.id):
            out[plan.level].append(plan)
        return out

    def network(self) -> nx.Graph:
        """Return the road/walkway network as an undirected networkx graph.

        Nodes carry ``lat``/``lon``; edges carry ``id``, ``length_m`` and ``kind``. Where two
        edges join the same pair of nodes, the shorter is kept.
        """
        g: nx.Graph = nx.Graph()
        for n in self.nodes.values():
            g.add_node(n.id, lat=n.location[0], lon=n.location[1])
        for e in self.edges.values():
            old = g.get_edge_data(e.source, e.target)
            if old is None or old["length_m"] > e.length_m:
                g.add_edge(e.source, e.target, id=e.id, length_m=e.length_m, kind=e.kind.value)
        return g

    def stats(self) -> dict[str, Any]:
        """Return counts of everything loaded, plus centre and bounds (for ``site stats``)."""
        def count_by(values: list[str], keys: list[str]) -> dict[str, int]:
            return {k: values.count(k) for k in keys if values.count(k)}

        b = self.bounds()
        c = self.center()
        return {
            "site": self.info.id if self.info else None,
            "name": self.name.model_dump(),
            "buildings": len(self.buildings),
            "buildings_by_kind": count_by([x.kind.value for x in self.buildings.values()],
                                          [k.value for k in BuildingKind]),
            "zones": len(self.zones),
            "network": {"nodes": len(self.nodes), "edges": len(self.edges),
                        "length_km": round(sum(e.length_m for e in self.edges.values()) / 1000,
                                           2)},
            "resources": len(self.resources),
            "resources_by_kind": count_by([x.kind.value for x in self.resources.values()],
                                          [k.value for k in ResourceKind]),
            "gauges": len(self.gauges),
            "gauges_by_kind": count_by([x.kind.value for x in self.gauges.values()],
                                       [k.value for k in GaugeKind]),
            "gauge_links": len(self.links),
            "responders": len(self.people),
            "roles": len(self.roles),
            "plans": len(self.plans),
            "plans_by_level": {lvl.value: len(ps) for lvl, ps in self.plans_by_level().items()},
            "drill_scenarios": len(self.drills),
            "center": [round(c[0], 6), round(c[1], 6)] if c else None,
            "bounds": [[round(b[0][0], 6), round(b[0][1], 6)],
                       [round(b[1][0], 6), round(b[1][1], 6)]] if b else None,
            "problems": len(self.problems),
        }
