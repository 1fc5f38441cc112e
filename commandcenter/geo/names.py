"""Names of the site's building kinds, Chinese and English (Qt-free).

The exported site map (:mod:`commandcenter.geo.sitemap`) uses them as they are; the live map
registers them with the UI's string catalogue (:mod:`commandcenter.ui.map.strings`).
"""

from __future__ import annotations

from commandcenter.core.site import BuildingKind

BUILDING_KIND_NAMES: dict[BuildingKind, tuple[str, str]] = {
    BuildingKind.PROCESS_UNIT: ("生产装置", "Process unit"),
    BuildingKind.TANK_FARM: ("罐区", "Tank farm"),
    BuildingKind.WAREHOUSE: ("仓库", "Warehouse"),
    BuildingKind.CONTROL_ROOM: ("控制室", "Control room"),
    BuildingKind.OFFICE: ("办公", "Office"),
    BuildingKind.GATE: ("大门", "Gate"),
    BuildingKind.FIRE_STATION: ("消防站", "Fire station"),
    BuildingKind.UTILITY: ("公用工程", "Utility"),
    BuildingKind.SUBSTATION: ("变电所", "Substation"),
    BuildingKind.LABORATORY: ("化验室", "Laboratory"),
    BuildingKind.LOADING_STATION: ("装卸站", "Loading station"),
    BuildingKind.WASTEWATER: ("污水处理", "Wastewater"),
    BuildingKind.WORKSHOP: ("车间", "Workshop"),
    BuildingKind.CANTEEN: ("食堂", "Canteen"),
    BuildingKind.PARKING: ("停车场", "Parking"),
    BuildingKind.PIPE_RACK: ("管廊", "Pipe rack"),
}
"""``(Chinese, English)`` name of every building kind."""
