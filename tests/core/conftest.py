"""A small but complete valid site, written as text the way a person would write it.

The ``site`` fixture writes it into ``tmp_path`` and hands back a :class:`SiteFiles` helper that
edits one file (by exact text replacement, or by changing a GeoJSON feature), finds the line of a
piece of text (so tests can assert exact ``path:line: field: message`` problems) and loads it.

Geography: a 1 km x 1 km plant around 30.700 N, 121.300 E; a 3 x 3 grid of network nodes
(row spacing 0.002 deg lat = 222.4 m, column spacing 0.003 deg lon = 286.8 m).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from commandcenter.core.site import Site
from commandcenter.core.siteio import load_site

SITE_YAML = """\
schema_version: 1
id: demo-plant
name:
  zh: 示范化工厂
  en: Demo chemical plant
operator:
  zh: 示范化工有限公司
timezone: Asia/Shanghai
walking_speed_mps: 1.2
vehicle_speed_mps: 8.3
max_offsite_m: 2000
"""


def _square(south: float, west: float, north: float, east: float) -> list[list[list[float]]]:
    return [[[west, south], [east, south], [east, north], [west, north], [west, south]]]


def _feature(props: dict[str, Any], gtype: str, coords: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": gtype, "coordinates": coords}}


def site_features() -> list[dict[str, Any]]:
    """Boundary, two zones, three buildings (one feature per line in the file)."""
    return [
        _feature({"layer": "boundary", "id": "fence", "name": {"zh": "厂界", "en": "Fence"}},
                 "Polygon", _square(30.695, 121.295, 30.705, 121.305)),
        _feature({"layer": "zone", "id": "Z-PROC", "kind": "process_area",
                  "name": {"zh": "生产区", "en": "Process area"}},
                 "Polygon", _square(30.695, 121.295, 30.705, 121.300)),
        _feature({"layer": "zone", "id": "Z-ADMIN", "kind": "admin_area",
                  "name": {"zh": "行政区", "en": "Admin area"}},
                 "Polygon", _square(30.695, 121.300, 30.705, 121.305)),
        _feature({"layer": "building", "id": "U-100", "kind": "process_unit",
                  "name": {"zh": "乙烯装置", "en": "Ethylene unit"}, "entrance_node": "N1",
                  "occupancy": 12, "hazards": ["乙烯", "氢气"], "zone": "Z-PROC"},
                 "Polygon", _square(30.6983, 121.2975, 30.6995, 121.2990)),
        _feature({"layer": "building", "id": "TF-200", "kind": "tank_farm",
                  "name": {"zh": "罐区", "en": "Tank farm"}, "entrance_node": "N4",
                  "hazards": ["苯"], "zone": "Z-PROC"},
                 "Polygon", _square(30.7005, 121.2975, 30.7015, 121.2990)),
        _feature({"layer": "building", "id": "CR-1", "kind": "control_room",
                  "name": {"zh": "中控室", "en": "Control room"}, "entrance_node": "N6",
                  "occupancy": 8, "zone": "Z-ADMIN"},
                 "Polygon", _square(30.7005, 121.3010, 30.7015, 121.3025)),
    ]


NODES: dict[str, tuple[float, float]] = {  # id -> (lat, lon)
    "N1": (30.698, 121.297), "N2": (30.698, 121.300), "N3": (30.698, 121.303),
    "N4": (30.700, 121.297), "N5": (30.700, 121.300), "N6": (30.700, 121.303),
    "N7": (30.702, 121.297), "N8": (30.702, 121.300),
}
EDGES: list[tuple[str, str, str, str, float]] = [  # id, source, target, kind, length_m
    ("E1", "N1", "N2", "road", 290), ("E2", "N2", "N3", "road", 290),
    ("E3", "N1", "N4", "road", 225), ("E4", "N2", "N5", "walkway", 225),
    ("E5", "N3", "N6", "road", 225), ("E6", "N4", "N5", "road", 290),
    ("E7", "N5", "N6", "road", 290), ("E8", "N4", "N7", "walkway", 225),
    ("E9", "N7", "N8", "road", 290), ("E10", "N5", "N8", "walkway", 225),
]


def network_features() -> list[dict[str, Any]]:
    """Eight nodes, then ten edges (one feature per line in the file)."""
    out = [_feature({"layer": "node", "id": nid}, "Point", [lon, lat])
           for nid, (lat, lon) in NODES.items()]
    for eid, a, b, kind, length in EDGES:
        path = [[NODES[a][1], NODES[a][0]], [NODES[b][1], NODES[b][0]]]
        out.append(_feature({"layer": "edge", "id": eid, "source": a, "target": b,
                             "kind": kind, "length_m": length}, "LineString", path))
    return out


RESOURCES_YAML = """\
schema_version: 1
resources:
  - id: H-01
    kind: fire_hydrant
    name:
      zh: 1号消火栓
      en: Hydrant 1
    location: [30.6990, 121.2970]
    spec: DN150 地上式
  - id: SCBA-01
    kind: scba_cabinet
    name:
      zh: 中控室空气呼吸器柜
    location: [30.7010, 121.3012]
    building: CR-1
    quantity: 4
  - id: AP-01
    kind: assembly_point
    name:
      zh: 东门集合点
      en: East gate assembly point
    location: [30.7000, 121.3045]
    capacity: 200
  - id: FT-01
    kind: fire_truck
    name:
      zh: 泡沫消防车
    location: [30.6960, 121.3040]
"""

GAUGES_YAML = """\
schema_version: 1
links:
  - id: SIM
    protocol: simulator
    name:
      zh: 模拟器
  - id: RS485-1
    protocol: modbus_rtu
    url: /dev/ttyUSB0
    baudrate: 9600
    poll_s: 1
  - id: MQTT-1
    protocol: mqtt
    host: 127.0.0.1
    port: 1883
gauges:
  - id: GD-101
    kind: combustible_gas
    name:
      zh: 乙烯装置可燃气体探测器
      en: Ethylene unit LEL detector
    unit: "%LEL"
    link: RS485-1
    address: {slave: 1, register: 0, scale: 0.1}
    location: [30.6990, 121.2980]
    building: U-100
    range: [0, 100]
    thresholds:
      - {level: alarm1, direction: high, value: 25}
      - {level: alarm2, direction: high, value: 50}
    on_delay_s: 2
  - id: GT-201
    kind: h2s
    name:
      zh: 罐区硫化氢探测器
    unit: ppm
    link: MQTT-1
    address: {topic: plant/tf200/gt201}
    location: [30.7010, 121.2980]
    range: [0, 100]
    thresholds:
      - {level: prealarm, direction: high, value: 5}
      - {level: alarm1, direction: high, value: 10}
      - {level: alarm2, direction: high, value: 20}
  - id: O2-301
    kind: o2
    name:
      zh: 中控室氧含量
    unit: "%VOL"
    link: SIM
    address: {profile: steady}
    location: [30.7010, 121.3015]
    building: CR-1
    range: [0, 25]
    thresholds:
      - {level: alarm1, direction: low, value: 19.5}
      - {level: alarm2, direction: low, value: 18}
      - {level: alarm1, direction: high, value: 23.5}
  - id: WS-1
    kind: wind_speed
    name:
      zh: 风速仪
    unit: m/s
    link: SIM
    address: {}
    location: [30.7000, 121.3000]
    range: [0, 60]
"""

ROSTER_YAML = """\
schema_version: 1
shifts:
  - id: A
    name:
      zh: 甲班
    hours: 轮班 08:00–16:00
  - id: DAY
    name:
      zh: 常白班
    hours: 08:00–17:00
roles:
  - id: commander
    name:
      zh: 总指挥
      en: Incident commander
  - id: shift_leader
    name:
      zh: 值班长
  - id: operator
    name:
      zh: 中控室操作员
  - id: fire_brigade
    name:
      zh: 消防队
    group:
      zh: 抢险组
people:
  - id: p-zhang
    name: 张伟
    name_en: Zhang Wei
    roles: [commander]
    shift: DAY
    phone: "+86 138 0000 0001"
    email: zhang.wei@example.com
    channels: [phone, sms, email]
  - id: p-li
    name: 李娜
    roles: [shift_leader]
    shift: A
    phone: "138-0000-0002"
    channels: [sms]
  - id: p-wang
    name: 王强
    roles: [operator, fire_brigade]
    shift: A
    phone: "13800000003"
    channels: [wecom, sms]
"""

PLAN_L1_YAML = """\
schema_version: 1
# 可燃气体泄漏 班组级现场处置方案
id: P-GAS-L1
title:
  zh: 可燃气体泄漏班组级处置方案
  en: Gas leak, shift level
level: L1
kind: flammable_gas_leak
tier: on_site
scope:
  zh: 装置区小量泄漏
triggers:
  - description:
      zh: 可燃气体一级报警
    gauge_kinds: [combustible_gas]
    min_alarm_level: alarm1
roles:
  - role: shift_leader
    duty:
      zh: 现场指挥
  - role: operator
    duty:
      zh: 远程切断
notification:
  - order: 1
    roles: [shift_leader]
    ack_within_min: 2
    escalate_to_roles: [commander]
steps:
  - id: s1
    title:
      zh: 确认报警
    owner: operator
    target_min: 1
  - id: s2
    title:
      zh: 切断泄漏源
    owner: shift_leader
    target_min: 10
hazard_zone:
  isolation_m: 50
termination:
  - zh: 泄漏点已切断，浓度低于预警值
escalates_to: P-GAS-L2
"""

PLAN_L2_YAML = """\
schema_version: 1
id: P-GAS-L2
title:
  zh: 可燃气体泄漏车间级专项预案
level: L2
kind: flammable_gas_leak
tier: special
scope:
  zh: 车间范围泄漏
triggers:
  - description:
      zh: 可燃气体二级报警
    gauge_kinds: [combustible_gas]
    min_alarm_level: alarm2
    automatic: true
roles:
  - role: commander
    duty:
      zh: 总指挥
  - role: fire_brigade
    duty:
      zh: 水幕稀释
notification:
  - order: 1
    roles: [commander, fire_brigade]
    need_acks: 2
    ack_within_min: 5
steps:
  - id: s1
    title:
      zh: 消防车到场
    owner: fire_brigade
    target_min: 5
resources:
  - kind: fire_truck
    count: 1
hazard_zone:
  isolation_m: 100
  protective_downwind_m: 300
  sector_deg: 60
external_reporting:
  to:
    - zh: 园区管委会
  within_min: 60
  wording:
    zh: 我厂发生可燃气体泄漏，已控制。
termination:
  - zh: 现场无泄漏
response_pack:
  contacts:
    - name:
        zh: 园区消防站
      phone: "021-5555 0119"
"""

DRILL_YAML = """\
schema_version: 1
id: D-GAS-1
title:
  zh: 乙烯装置泄漏盲演
plan: P-GAS-L1
location: U-100
summary:
  zh: 法兰泄漏，浓度上升
injects:
  - at_s: 0
    kind: gauge_reading
    gauge: GD-101
    value: 30
  - at_s: 60
    kind: message
    sender:
      zh: 外操
    text:
      zh: 发现法兰泄漏
nodes:
  - id: n1
    name:
      zh: 报警到确认
    from_event: alarm.raised
    to_event: alarm.acknowledged
    target_s: 120
"""

YAML_FILES: dict[str, str] = {
    "maps/site.yaml": SITE_YAML,
    "resources/resources.yaml": RESOURCES_YAML,
    "resources/gauges.yaml": GAUGES_YAML,
    "resources/roster.yaml": ROSTER_YAML,
    "plans/gas-l1.yaml": PLAN_L1_YAML,
    "plans/gas-l2.yaml": PLAN_L2_YAML,
    "drills/gas-leak.yaml": DRILL_YAML,
}


def geojson_text(features: list[dict[str, Any]]) -> str:
    """A FeatureCollection with one feature per line; feature ``i`` is on line ``i + 2``."""
    body = ",\n".join(json.dumps(f, ensure_ascii=False) for f in features)
    return '{"type": "FeatureCollection", "features": [\n' + body + "\n]}\n"


class SiteFiles:
    """The valid site on disk, with helpers to break it one piece at a time."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.texts: dict[str, str] = dict(YAML_FILES)
        self.texts["maps/site.geojson"] = geojson_text(site_features())
        self.texts["maps/network.geojson"] = geojson_text(network_features())
        for rel in self.texts:
            self.write(rel)

    def write(self, rel: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.texts[rel], encoding="utf-8")

    def set(self, rel: str, text: str) -> None:
        """Replace (or add) a whole file."""
        self.texts[rel] = text
        self.write(rel)

    def edit(self, rel: str, old: str, new: str) -> None:
        """Replace one exact, unique piece of text in a file."""
        text = self.texts[rel]
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {rel}"
        self.set(rel, text.replace(old, new))

    def remove(self, rel: str) -> None:
        (self.root / rel).unlink()

    def line(self, rel: str, needle: str) -> int:
        """Return the 1-based line of a unique piece of text."""
        text = self.texts[rel]
        assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times in {rel}"
        return text[: text.index(needle)].count("\n") + 1

    def features(self, rel: str) -> list[dict[str, Any]]:
        return list(json.loads(self.texts[rel])["features"])

    def feature_index(self, rel: str, ident: str) -> int:
        ids = [f["properties"].get("id") for f in self.features(rel)]
        return ids.index(ident)

    def edit_feature(self, rel: str, ident: str,
                     change: Callable[[dict[str, Any]], None]) -> int:
        """Change the feature with ``id`` in place; return its line in the file."""
        feats = self.features(rel)
        i = self.feature_index(rel, ident)
        change(feats[i])
        self.set(rel, geojson_text(feats))
        return i + 2

    def add_feature(self, rel: str, feature: dict[str, Any]) -> int:
        """Append a feature; return its line."""
        feats = [*self.features(rel), feature]
        self.set(rel, geojson_text(feats))
        return len(feats) + 1

    def load(self) -> Site:
        return load_site(self.root)

    def problems(self) -> list[str]:
        return [str(p) for p in self.load().problems]


@pytest.fixture
def site(tmp_path: Path) -> SiteFiles:
    """A complete valid site in ``tmp_path / "site"``."""
    return SiteFiles(tmp_path / "site")


@pytest.fixture
def feature() -> Callable[[dict[str, Any], str, Any], dict[str, Any]]:
    """Build a GeoJSON feature: ``feature(props, geometry_type, coordinates)``."""
    return _feature
