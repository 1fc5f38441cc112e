"""The site loader: a valid site loads clean; every kind of bad input gives an exact, located
problem (``path:line: field: message``) and only the bad item is left out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from commandcenter.core.siteio import load_site, site_problems_text

from .conftest import SiteFiles

SITE = "maps/site.yaml"
GEO = "maps/site.geojson"
NET = "maps/network.geojson"
RES = "resources/resources.yaml"
GAU = "resources/gauges.yaml"
ROS = "resources/roster.yaml"
L1 = "plans/gas-l1.yaml"
L2 = "plans/gas-l2.yaml"
DRILL = "drills/gas-leak.yaml"
UNKNOWN_FIELD = "unknown field (check the spelling; see the folder's README)"
EMPTY = "the plan is loaded, but no one is called in this role"


def _drill_lost_gd101(site: SiteFiles) -> str:
    return (f"{DRILL}:{site.line(DRILL, 'gauge: GD-101')}: injects[0].gauge: gauge 'GD-101' did "
            f"not load (see the problem reported for it)")


def _full_site_present(s: Any, *, but: tuple[str, ...] = ()) -> None:
    """Everything of the valid site loaded, except the named ``kind:id`` items."""
    expected = {
        "building": {"U-100", "TF-200", "CR-1"}, "zone": {"Z-PROC", "Z-ADMIN"},
        "node": {f"N{i}" for i in range(1, 9)}, "edge": {f"E{i}" for i in range(1, 11)},
        "resource": {"H-01", "SCBA-01", "AP-01", "FT-01"},
        "link": {"SIM", "RS485-1", "MQTT-1"}, "gauge": {"GD-101", "GT-201", "O2-301", "WS-1"},
        "shift": {"A", "DAY"}, "role": {"commander", "shift_leader", "operator", "fire_brigade"},
        "person": {"p-zhang", "p-li", "p-wang"}, "plan": {"P-GAS-L1", "P-GAS-L2"},
        "drill": {"D-GAS-1"},
    }
    got = {
        "building": s.buildings, "zone": s.zones, "node": s.nodes, "edge": s.edges,
        "resource": s.resources, "link": s.links, "gauge": s.gauges, "shift": s.shifts,
        "role": s.roles, "person": s.people, "plan": s.plans, "drill": s.drills,
    }
    for item in but:
        kind, ident = item.split(":", 1)
        expected[kind].discard(ident)
    for kind, ids in expected.items():
        assert set(got[kind]) == ids, kind


# --------------------------------------------------------------------------- the valid site


def test_valid_site_loads_without_problems(site: SiteFiles) -> None:
    s = site.load()
    assert s.problems == []
    _full_site_present(s)
    assert s.info is not None and s.info.id == "demo-plant"
    assert s.boundary is not None and s.boundary.id == "fence"
    assert s.plans["P-GAS-L1"].escalates_to == "P-GAS-L2"
    assert s.files["plan:P-GAS-L1"] == L1
    assert s.files["gauge:GD-101"] == GAU
    assert s.files["node:N3"] == NET
    assert s.gauges["GD-101"].address == {"slave": 1, "register": 0, "scale": 0.1}


def test_missing_site_folder(tmp_path: Path) -> None:
    s = load_site(tmp_path / "nope")
    assert [str(p) for p in s.problems] == [f"{tmp_path / 'nope'}:1: site folder does not exist"]


def test_empty_site_folder_reports_each_missing_part(tmp_path: Path) -> None:
    s = load_site(tmp_path)
    assert site_problems_text(s.problems).splitlines() == [
        "maps/site.yaml:1: file is missing",
        "maps/site.geojson:1: file is missing",
        "maps/network.geojson:1: file is missing",
        "resources/roster.yaml:1: file is missing",
        "resources/resources.yaml:1: file is missing",
        "resources/gauges.yaml:1: file is missing",
        "plans:1: folder is missing",
        "drills:1: folder is missing",
    ]


def test_missing_file_leaves_the_rest(site: SiteFiles) -> None:
    site.remove(RES)
    s = site.load()
    assert [str(p) for p in s.problems] == [f"{RES}:1: file is missing"]
    _full_site_present(s, but=("resource:H-01", "resource:SCBA-01", "resource:AP-01",
                               "resource:FT-01"))


def test_missing_plans_and_drills_folders(site: SiteFiles) -> None:
    for rel in (L1, L2, DRILL):
        site.remove(rel)
    (site.root / "plans").rmdir()
    (site.root / "drills").rmdir()
    assert site.problems() == ["plans:1: folder is missing", "drills:1: folder is missing"]


def test_missing_map_does_not_drop_gauges_and_resources(site: SiteFiles) -> None:
    """A broken map must not take the gas detectors and hydrants with it."""
    site.remove(GEO)
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{GEO}:1: file is missing",
        f"{DRILL}:6: location: unknown building 'U-100'",
    ]
    assert set(s.gauges) == {"GD-101", "GT-201", "O2-301", "WS-1"}
    assert set(s.resources) == {"H-01", "SCBA-01", "AP-01", "FT-01"}


def test_missing_roster_does_not_drop_the_plans(site: SiteFiles) -> None:
    site.remove(ROS)
    s = site.load()
    assert [str(p) for p in s.problems] == [f"{ROS}:1: file is missing"]
    assert set(s.plans) == {"P-GAS-L1", "P-GAS-L2"}


def test_bom_is_accepted(site: SiteFiles) -> None:
    (site.root / SITE).write_text("\ufeff" + site.texts[SITE], encoding="utf-8")
    (site.root / NET).write_text("\ufeff" + site.texts[NET], encoding="utf-8")
    assert site.problems() == []


# --------------------------------------------------------------------------- YAML / JSON syntax


def test_yaml_syntax_error_has_its_line(site: SiteFiles) -> None:
    site.edit(SITE, "  en: Demo chemical plant\n", "  en: Demo chemical plant\n   bad: [\n")
    line = site.line(SITE, "operator:")
    s = site.load()
    assert len(s.problems) == 1
    p = s.problems[0]
    assert (p.path, p.field) == (SITE, "")
    assert p.line in (line - 1, line)  # the unclosed flow sequence is found on the next key
    assert p.message.startswith("YAML syntax: ")
    assert s.info is None
    _full_site_present(s)


def test_yaml_bad_indentation_line(site: SiteFiles) -> None:
    site.edit(ROS, "    hours: 08:00–17:00\n", "    hours: 08:00–17:00\n   oops: 1\n")
    line = site.line(ROS, "   oops: 1")
    assert site.problems() == [
        f"{ROS}:{line}: YAML syntax: did not find expected '-' indicator (column 4)",
    ]


def test_yaml_tab_indentation(site: SiteFiles) -> None:
    site.edit(SITE, "timezone: Asia/Shanghai\n", "timezone: Asia/Shanghai\n\tfoo: 1\n")
    line = site.line(SITE, "\tfoo")
    problems = site.problems()
    assert len(problems) == 1
    assert problems[0].startswith(f"{SITE}:{line}: YAML syntax: ")


def test_yaml_duplicate_key_names_both_lines(site: SiteFiles) -> None:
    site.edit(SITE, "max_offsite_m: 2000\n", "max_offsite_m: 2000\ntimezone: UTC\n")
    first = site.line(SITE, "timezone: Asia")
    second = site.line(SITE, "timezone: UTC")
    assert site.problems() == [
        f"{SITE}:{second}: timezone: key is given twice (first on line {first}; the second "
        f"would silently win)",
    ]


def test_yaml_duplicate_key_inside_an_item(site: SiteFiles) -> None:
    site.edit(GAU, "    unit: ppm\n", "    unit: ppm\n    unit: \"%LEL\"\n")
    first = site.line(GAU, "    unit: ppm")
    second = site.line(GAU, "    unit: \"%LEL\"\n    link: MQTT")
    assert site.problems() == [
        f"{GAU}:{second}: gauges[1].unit: key is given twice (first on line {first}; the second "
        f"would silently win)",
        # The whole file is left out, so the drill's gauge is unknown.
        f"{DRILL}:{site.line(DRILL, 'gauge: GD-101')}: injects[0].gauge: unknown gauge 'GD-101'",
    ]


def test_empty_yaml_file(site: SiteFiles) -> None:
    site.set(L2, "# nothing yet\n")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{L2}:1: file is empty",
        f"{L1}:{site.line(L1, 'escalates_to')}: escalates_to: unknown plan 'P-GAS-L2'; "
        f"the plan is loaded without this escalation",
    ]
    assert s.plans["P-GAS-L1"].escalates_to is None


def test_yaml_top_level_must_be_a_mapping(site: SiteFiles) -> None:
    site.set(SITE, "- a\n- b\n")
    assert site.problems() == [f"{SITE}:1: expected a mapping at the top of the file"]


def test_json_syntax_error_has_its_line(site: SiteFiles) -> None:
    text = site.texts[NET]
    lines = text.splitlines(keepends=True)
    lines[4] = lines[4].replace('"id": "N4"', '"id": "N4",', 1)  # trailing comma in line 5
    site.set(NET, "".join(lines))
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{NET}:5: JSON syntax: Expecting property name enclosed in double quotes",
        # Without a network the entrance nodes cannot be checked; nothing else is lost.
    ]
    assert s.nodes == {} and s.edges == {}
    assert set(s.buildings) == {"U-100", "TF-200", "CR-1"}


def test_json_duplicate_key(site: SiteFiles) -> None:
    text = site.texts[NET].replace('{"layer": "node", "id": "N2"}',
                                   '{"layer": "node", "id": "N2", "id": "N9"}')
    site.set(NET, text)
    assert site.problems() == [
        f"{NET}:3: features[1].properties.id: key is given twice (first on line 3; the second "
        f"would silently win)",
    ]


def test_not_a_feature_collection(site: SiteFiles) -> None:
    site.set(GEO, '{"type": "Feature"}\n')
    problems = site.problems()
    assert problems[0] == f"{GEO}:1: expected a GeoJSON FeatureCollection with a 'features' list"


def test_pretty_printed_geojson_points_at_the_property_line(site: SiteFiles) -> None:
    import json

    data = json.loads(site.texts[GEO])
    data["features"][4]["properties"]["occupancy"] = -1
    text = json.dumps(data, indent=2, ensure_ascii=False)
    site.set(GEO, text)
    line = site.line(GEO, '"occupancy": -1')
    assert site.problems() == [
        f"{GEO}:{line}: features[4].properties.occupancy: Input should be "
        f"greater than or equal to 0",
    ]


def test_geojson_line_map_survives_a_malformed_feature(site: SiteFiles) -> None:
    """A feature with a wrong "type" must not shift the lines of the features after it."""
    site.edit_feature(GEO, "Z-PROC", lambda f: f.update(type="feature"))
    line = site.edit_feature(GEO, "CR-1", lambda f: f["properties"].update(occupancy="many"))
    assert site.problems() == [
        f"{GEO}:3: features[1]: expected a GeoJSON Feature",
        f"{GEO}:{line}: features[5].properties.occupancy: Input should be a valid integer, "
        f"unable to parse string as an integer",
        # The buildings in the process zone lost their zone; they load without one, so what
        # stands in them (a gauge, a drill's location) still loads.
        f"{GEO}:5: features[3].properties.zone: unknown zone 'Z-PROC'; the building is loaded "
        f"without a zone",
        f"{GEO}:6: features[4].properties.zone: unknown zone 'Z-PROC'; the building is loaded "
        f"without a zone",
        f"{RES}:15: resources[1].building: building 'CR-1' did not load (see the problem "
        f"reported for it)",
        f"{GAU}:53: gauges[2].building: building 'CR-1' did not load (see the problem reported "
        f"for it)",
    ]


def test_recursive_yaml_alias_does_not_crash(site: SiteFiles) -> None:
    site.edit(SITE, "max_offsite_m: 2000\n", "max_offsite_m: 2000\nloop: &a [*a]\n")
    line = site.line(SITE, "loop:")
    assert site.problems() == [f"{SITE}:{line}: loop: {UNKNOWN_FIELD}"]


def test_alias_bomb_is_quick(site: SiteFiles) -> None:
    bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10))
    site.set(SITE, site.texts[SITE] + bomb)
    problems = site.problems()
    assert problems[0] == f"{SITE}:{site.line(SITE, 'a0:')}: a0: {UNKNOWN_FIELD}"
    assert len(problems) == 10


def test_deeply_nested_yaml_does_not_crash(site: SiteFiles) -> None:
    site.set(SITE, "a: " + "[" * 3000 + "]" * 3000 + "\n")
    problems = site.problems()
    assert problems[0].startswith(f"{SITE}:1: ")


def test_deeply_nested_json_does_not_crash(site: SiteFiles) -> None:
    site.set(GEO, "[" * 100_000 + "]" * 100_000)
    assert site.problems()[0] == f"{GEO}:1: JSON is nested too deeply"


def test_unreadable_encoding(site: SiteFiles) -> None:
    (site.root / SITE).write_bytes("name: 示范".encode("gbk"))
    problems = site.problems()
    assert len(problems) == 1
    assert problems[0].startswith(f"{SITE}:1: cannot read file: 'utf-8' codec can't decode")


# --------------------------------------------------------------------------- maps/site.yaml


def test_site_yaml_missing_required_field(site: SiteFiles) -> None:
    site.edit(SITE, "id: demo-plant\n", "")
    s = site.load()
    assert [str(p) for p in s.problems] == [f"{SITE}:1: id: required field is missing"]
    assert s.info is None
    assert s.name.zh == "未命名厂区"
    _full_site_present(s)


def test_site_yaml_wrong_type(site: SiteFiles) -> None:
    site.edit(SITE, "walking_speed_mps: 1.2", "walking_speed_mps: fast")
    assert site.problems() == [
        f"{SITE}:{site.line(SITE, 'walking_speed_mps')}: walking_speed_mps: Input should be a "
        f"valid number, unable to parse string as a number",
    ]


def test_site_yaml_out_of_range(site: SiteFiles) -> None:
    site.edit(SITE, "vehicle_speed_mps: 8.3", "vehicle_speed_mps: 80")
    assert site.problems() == [
        f"{SITE}:{site.line(SITE, 'vehicle_speed_mps')}: vehicle_speed_mps: Input should be less "
        f"than or equal to 30",
    ]


def test_site_yaml_unknown_field(site: SiteFiles) -> None:
    site.edit(SITE, "timezone:", "timezon:")
    assert site.problems() == [f"{SITE}:{site.line(SITE, 'timezon')}: timezon: {UNKNOWN_FIELD}"]


def test_site_yaml_nested_missing_field(site: SiteFiles) -> None:
    site.edit(SITE, "operator:\n  zh: 示范化工有限公司\n", "operator:\n  en: Demo Chemicals\n")
    assert site.problems() == [
        f"{SITE}:{site.line(SITE, 'operator')}: operator.zh: required field is missing",
    ]


def test_site_yaml_wrong_schema_version(site: SiteFiles) -> None:
    site.edit(SITE, "schema_version: 1", "schema_version: 2")
    assert site.problems() == [
        f"{SITE}:1: schema_version: schema_version 2 is not supported (this build reads 1)",
    ]


def test_site_yaml_schema_version_missing(site: SiteFiles) -> None:
    site.edit(SITE, "schema_version: 1\n", "")
    assert site.problems() == [f"{SITE}:1: schema_version: required field is missing"]


def test_max_offsite_is_taken_from_site_yaml(site: SiteFiles) -> None:
    # An assembly point 383 m east of the fence is fine by default ...
    site.edit(RES, "[30.7000, 121.3045]", "[30.7000, 121.3090]")
    assert site.problems() == []
    # ... but not when the site allows only 100 m.
    site.edit(SITE, "max_offsite_m: 2000", "max_offsite_m: 100")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{RES}:{site.line(RES, '121.3090')}: resources[2].location: [30.7, 121.309] lies 0.4 km "
        f"outside the site (is the order [lat, lon]?)",
    ]
    assert "AP-01" not in s.resources


# --------------------------------------------------------------------------- maps/site.geojson


def test_boundary_missing_name(site: SiteFiles) -> None:
    site.edit_feature(GEO, "fence", lambda f: f["properties"].pop("name"))
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{GEO}:2: features[0].properties.name: required field is missing",
    ]
    assert s.boundary is None
    _full_site_present(s)


def test_boundary_wrong_type(site: SiteFiles) -> None:
    site.edit_feature(GEO, "fence", lambda f: f["properties"].update(name="厂界"))
    assert site.problems() == [
        f"{GEO}:2: features[0].properties.name: Input should be a valid dictionary or instance "
        f"of Text",
    ]


def test_boundary_far_from_the_buildings_is_left_out_not_everything_else(
        site: SiteFiles) -> None:
    site.edit_feature(GEO, "fence", lambda f: f["geometry"].update(
        coordinates=[[[lon + 0.5, lat] for lon, lat in f["geometry"]["coordinates"][0]]]))
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{GEO}:2: features[0].geometry.coordinates: the boundary lies 47.6 km from 3 of the 3 "
        f"buildings (GeoJSON positions are [lon, lat]); the site is loaded without a boundary",
    ]
    assert s.boundary is None
    _full_site_present(s)


def test_second_boundary(site: SiteFiles, feature: Any) -> None:
    line = site.add_feature(GEO, feature({"layer": "boundary", "id": "fence2",
                                          "name": {"zh": "二期"}}, "Polygon",
                                         [[[121.3, 30.7], [121.31, 30.7], [121.31, 30.71],
                                           [121.3, 30.7]]]))
    assert site.problems() == [
        f"{GEO}:{line}: features[6].properties.layer: the site has one boundary; this is a "
        f"second one",
    ]


def test_zone_unknown_kind(site: SiteFiles) -> None:
    site.edit_feature(GEO, "Z-ADMIN", lambda f: f["properties"].update(kind="office_area"))
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{GEO}:4: features[2].properties.kind: Input should be 'process_area', 'storage_area', "
        f"'admin_area', 'utility_area', 'logistics_area' or 'restricted'",
        f"{GEO}:7: features[5].properties.zone: zone 'Z-ADMIN' did not load (see the problem "
        f"reported for it); the building is loaded without a zone",
    ]
    _full_site_present(s, but=("zone:Z-ADMIN",))
    assert s.buildings["CR-1"].zone is None


def test_zone_duplicate_id_names_the_first(site: SiteFiles) -> None:
    site.edit_feature(GEO, "Z-ADMIN", lambda f: f["properties"].update(id="Z-PROC"))
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{GEO}:4: features[2].properties.id: duplicate zone id 'Z-PROC' (first defined at "
        f"{GEO}:3)",
        f"{GEO}:7: features[5].properties.zone: unknown zone 'Z-ADMIN'; the building is loaded "
        f"without a zone",
    ]
    assert set(s.zones) == {"Z-PROC"} and s.zones["Z-PROC"].kind.value == "process_area"


def test_zone_swapped_coordinates(site: SiteFiles) -> None:
    site.edit_feature(GEO, "Z-PROC", lambda f: f["geometry"].update(
        coordinates=[[[lat, lon] for lon, lat in f["geometry"]["coordinates"][0]]]))
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{GEO}:3: features[1].geometry.coordinates: latitude 121.295 is outside -90..90 "
        f"(GeoJSON positions are [lon, lat])",
        f"{GEO}:5: features[3].properties.zone: zone 'Z-PROC' did not load (see the problem "
        f"reported for it); the building is loaded without a zone",
        f"{GEO}:6: features[4].properties.zone: zone 'Z-PROC' did not load (see the problem "
        f"reported for it); the building is loaded without a zone",
    ]
    _full_site_present(s, but=("zone:Z-PROC",))


def test_zone_missing_id(site: SiteFiles) -> None:
    site.edit_feature(GEO, "Z-PROC", lambda f: f["properties"].pop("id"))
    problems = site.problems()
    assert problems[0] == f"{GEO}:3: features[1].properties.id: required field is missing"
    # The buildings in that zone now name an unknown zone.
    assert problems[1] == (f"{GEO}:5: features[3].properties.zone: unknown zone 'Z-PROC'; the "
                           f"building is loaded without a zone")


def test_building_unknown_zone(site: SiteFiles) -> None:
    line = site.edit_feature(GEO, "TF-200", lambda f: f["properties"].update(zone="Z-TANKS"))
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{GEO}:{line}: features[4].properties.zone: unknown zone 'Z-TANKS'; the building is "
        f"loaded without a zone",
    ]
    _full_site_present(s)
    assert s.buildings["TF-200"].zone is None


def test_building_entrance_node_missing(site: SiteFiles) -> None:
    line = site.edit_feature(GEO, "CR-1", lambda f: f["properties"].update(entrance_node="N99"))
    s = site.load()
    assert str(s.problems[0]) == (
        f"{GEO}:{line}: features[5].properties.entrance_node: unknown network node 'N99'")
    assert "CR-1" not in s.buildings
    assert set(s.buildings) == {"U-100", "TF-200"}


def test_building_entrance_node_that_failed_to_load(site: SiteFiles) -> None:
    site.edit_feature(NET, "N6", lambda f: f["geometry"].update(coordinates=[121.303]))
    problems = site.problems()
    assert problems[0] == (f"{NET}:7: features[5].geometry.coordinates[1]: required field is "
                           f"missing")
    assert (f"{GEO}:7: features[5].properties.entrance_node: network node 'N6' did not load "
            f"(see the problem reported for it)") in problems


def test_building_missing_required_field(site: SiteFiles) -> None:
    site.edit_feature(GEO, "U-100", lambda f: f["properties"].pop("kind"))
    problems = site.problems()
    assert problems[0] == f"{GEO}:5: features[3].properties.kind: required field is missing"


def test_building_unknown_field(site: SiteFiles) -> None:
    site.edit_feature(GEO, "U-100", lambda f: f["properties"].update(ocupancy=3))
    problems = site.problems()
    assert problems[0] == f"{GEO}:5: features[3].properties.ocupancy: {UNKNOWN_FIELD}"


def test_building_wrong_type(site: SiteFiles) -> None:
    site.edit_feature(GEO, "CR-1", lambda f: f["properties"].update(occupancy="many"))
    assert site.problems() == [
        f"{GEO}:7: features[5].properties.occupancy: Input should be a valid integer, unable to "
        f"parse string as an integer",
        f"{RES}:{site.line(RES, 'building: CR-1')}: resources[1].building: building 'CR-1' did "
        f"not load (see the problem reported for it)",
        f"{GAU}:{site.line(GAU, 'building: CR-1')}: gauges[2].building: building 'CR-1' did not "
        f"load (see the problem reported for it)",
    ]


def test_building_duplicate_id_names_the_first(site: SiteFiles) -> None:
    site.edit_feature(GEO, "CR-1", lambda f: f["properties"].update(id="U-100"))
    s = site.load()
    assert str(s.problems[0]) == (
        f"{GEO}:7: features[5].properties.id: duplicate building id 'U-100' (first defined at "
        f"{GEO}:5)")
    assert s.buildings["U-100"].kind.value == "process_unit"  # the first one wins


def test_building_polygon_not_closed(site: SiteFiles) -> None:
    site.edit_feature(GEO, "U-100", lambda f: f["geometry"]["coordinates"][0].pop())
    problems = site.problems()
    assert problems[0] == (f"{GEO}:5: features[3].geometry.coordinates: a polygon ring must be "
                           f"closed (first position == last)")


def test_building_wrong_geometry_type(site: SiteFiles) -> None:
    site.edit_feature(GEO, "U-100", lambda f: f.update(
        geometry={"type": "Point", "coordinates": [121.298, 30.699]}))
    problems = site.problems()
    assert problems[0] == f"{GEO}:5: features[3].geometry.type: expected a Polygon, got 'Point'"


def test_building_latitude_out_of_range(site: SiteFiles) -> None:
    def swap(f: dict[str, Any]) -> None:
        ring = f["geometry"]["coordinates"][0]
        f["geometry"]["coordinates"] = [[[lat, lon] for lon, lat in ring]]

    site.edit_feature(GEO, "TF-200", swap)
    problems = site.problems()
    assert problems[0] == (f"{GEO}:6: features[4].geometry.coordinates: latitude 121.2975 is "
                           f"outside -90..90 (GeoJSON positions are [lon, lat])")


def test_building_far_off_site(site: SiteFiles) -> None:
    def move(f: dict[str, Any]) -> None:
        f["geometry"]["coordinates"] = [[[lon + 0.5, lat] for lon, lat in
                                         f["geometry"]["coordinates"][0]]]

    site.edit_feature(GEO, "TF-200", move)
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{GEO}:6: features[4].geometry.coordinates: [121.799, 30.7005] lies 47.2 km outside "
        f"the site (GeoJSON positions are [lon, lat])",
    ]
    _full_site_present(s, but=("building:TF-200",))


def test_feature_without_layer(site: SiteFiles) -> None:
    site.edit_feature(GEO, "U-100", lambda f: f["properties"].pop("layer"))
    assert site.problems()[0] == f"{GEO}:5: features[3].properties.layer: required field is missing"


def test_feature_unknown_layer(site: SiteFiles) -> None:
    site.edit_feature(GEO, "U-100", lambda f: f["properties"].update(layer="buildings"))
    assert site.problems()[0] == (f"{GEO}:5: features[3].properties.layer: unknown layer "
                                  f"'buildings' (boundary, building, zone)")


# --------------------------------------------------------------------------- maps/network.geojson


def test_node_missing_id(site: SiteFiles) -> None:
    site.edit_feature(NET, "N8", lambda f: f["properties"].pop("id"))
    # Without an id the node cannot be named as "did not load".
    assert site.problems() == [
        f"{NET}:9: features[7].properties.id: required field is missing",
        f"{NET}:18: features[16].properties.target: unknown node 'N8'",
        f"{NET}:19: features[17].properties.target: unknown node 'N8'",
    ]


def test_node_bad_id(site: SiteFiles) -> None:
    site.edit_feature(NET, "N8", lambda f: f["properties"].update(id="N 8"))
    problems = site.problems()
    assert problems[0] == (f"{NET}:9: features[7].properties.id: String should match pattern "
                           f"'^[A-Za-z0-9][A-Za-z0-9_.\\-]{{0,63}}$'")


def test_node_swapped_lat_lon(site: SiteFiles) -> None:
    site.edit_feature(NET, "N8", lambda f: f["geometry"].update(coordinates=[30.702, 121.300]))
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{NET}:9: features[7].geometry.coordinates: latitude 121.3 is outside -90..90 "
        f"(GeoJSON positions are [lon, lat])",
        f"{NET}:18: features[16].properties.target: node 'N8' did not load (see the problem "
        f"reported for it)",
        f"{NET}:19: features[17].properties.target: node 'N8' did not load (see the problem "
        f"reported for it)",
    ]
    _full_site_present(s, but=("node:N8", "edge:E9", "edge:E10"))


def test_node_50_km_away(site: SiteFiles) -> None:
    site.edit_feature(NET, "N7", lambda f: f["geometry"].update(coordinates=[121.297, 31.152]))
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{NET}:8: features[6].geometry.coordinates: [121.297, 31.152] lies 49.7 km outside the "
        f"site (GeoJSON positions are [lon, lat])",
        f"{NET}:17: features[15].properties.target: node 'N7' did not load (see the problem "
        f"reported for it)",
        f"{NET}:18: features[16].properties.source: node 'N7' did not load (see the problem "
        f"reported for it)",
    ]


def test_node_duplicate_id(site: SiteFiles) -> None:
    site.edit_feature(NET, "N2", lambda f: f["properties"].update(id="N1"))
    problems = site.problems()
    assert problems[0] == (f"{NET}:3: features[1].properties.id: duplicate node id 'N1' (first "
                           f"defined at {NET}:2)")


def test_edge_to_unknown_node(site: SiteFiles) -> None:
    site.edit_feature(NET, "E9", lambda f: f["properties"].update(target="N80"))
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{NET}:18: features[16].properties.target: unknown node 'N80'",
    ]
    _full_site_present(s, but=("edge:E9",))


def test_edge_same_node_both_ends(site: SiteFiles) -> None:
    site.edit_feature(NET, "E9", lambda f: f["properties"].update(target="N7"))
    assert site.problems() == [
        f"{NET}:18: features[16].properties: an edge cannot start and end at the same node",
    ]


def test_edge_wrong_kind(site: SiteFiles) -> None:
    site.edit_feature(NET, "E9", lambda f: f["properties"].update(kind="rail"))
    assert site.problems() == [
        f"{NET}:18: features[16].properties.kind: Input should be 'road' or 'walkway'",
    ]


def test_edge_missing_length(site: SiteFiles) -> None:
    site.edit_feature(NET, "E9", lambda f: f["properties"].pop("length_m"))
    assert site.problems() == [
        f"{NET}:18: features[16].properties.length_m: required field is missing",
    ]


def test_edge_shorter_than_drawn(site: SiteFiles) -> None:
    site.edit_feature(NET, "E9", lambda f: f["properties"].update(length_m=100))
    assert site.problems() == [
        f"{NET}:18: features[16].properties.length_m: 100 m is shorter than the drawn path "
        f"(286.8 m)",
    ]


def test_edge_path_far_from_its_node(site: SiteFiles) -> None:
    site.edit_feature(NET, "E9", lambda f: f["geometry"].update(
        coordinates=[[121.297, 30.702], [121.301, 30.702]]))
    assert site.problems() == [
        f"{NET}:18: features[16].geometry.coordinates: path ends 96 m away from its target "
        f"node 'N8'",
    ]


def test_edge_path_too_short(site: SiteFiles) -> None:
    site.edit_feature(NET, "E9", lambda f: f["geometry"].update(coordinates=[[121.297, 30.702]]))
    assert site.problems() == [
        f"{NET}:18: features[16].properties: an edge path needs at least 2 positions",
    ]


def test_edge_duplicate_id(site: SiteFiles) -> None:
    site.edit_feature(NET, "E10", lambda f: f["properties"].update(id="E1"))
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{NET}:19: features[17].properties.id: duplicate edge id 'E1' (first defined at {NET}:10)",
    ]
    assert s.edges["E1"].source == "N1"


def test_edge_wrong_geometry(site: SiteFiles) -> None:
    site.edit_feature(NET, "E1", lambda f: f["geometry"].update(type="MultiLineString"))
    assert site.problems() == [
        f"{NET}:10: features[8].geometry.type: expected a LineString, got 'MultiLineString'",
    ]


# --------------------------------------------------------------------------- resources


def test_resource_missing_kind(site: SiteFiles) -> None:
    site.edit(RES, "    kind: fire_truck\n", "")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{RES}:{site.line(RES, 'id: FT-01')}: resources[3].kind: required field is missing",
    ]
    _full_site_present(s, but=("resource:FT-01",))


def test_resource_wrong_type(site: SiteFiles) -> None:
    site.edit(RES, "quantity: 4", "quantity: four")
    assert site.problems() == [
        f"{RES}:{site.line(RES, 'quantity')}: resources[1].quantity: Input should be a valid "
        f"integer, unable to parse string as an integer",
    ]


def test_resource_unknown_kind(site: SiteFiles) -> None:
    site.edit(RES, "kind: fire_hydrant", "kind: hydrant")
    problems = site.problems()
    assert problems[0].startswith(
        f"{RES}:{site.line(RES, 'kind: hydrant')}: resources[0].kind: Input should be "
        f"'fire_hydrant', 'fire_monitor',")


def test_assembly_point_needs_capacity(site: SiteFiles) -> None:
    site.edit(RES, "    capacity: 200\n", "")
    assert site.problems() == [
        f"{RES}:{site.line(RES, 'id: AP-01')}: resources[2].capacity: required for kind "
        f"assembly_point",
    ]


def test_resource_unknown_building(site: SiteFiles) -> None:
    site.edit(RES, "building: CR-1", "building: CR-2")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{RES}:{site.line(RES, 'building: CR-2')}: resources[1].building: unknown building "
        f"'CR-2'",
    ]
    _full_site_present(s, but=("resource:SCBA-01",))


def test_resource_latitude_out_of_range(site: SiteFiles) -> None:
    site.edit(RES, "[30.6990, 121.2970]", "[121.2970, 30.6990]")
    assert site.problems() == [
        f"{RES}:{site.line(RES, '[121.2970')}: resources[0].location: latitude 121.297 is "
        f"outside -90..90 (is the order [lat, lon]?)",
    ]


def test_resource_50_km_away(site: SiteFiles) -> None:
    site.edit(RES, "[30.6960, 121.3040]", "[30.6960, 121.8040]")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{RES}:{site.line(RES, '121.8040')}: resources[3].location: [30.696, 121.804] lies "
        f"47.7 km outside the site (is the order [lat, lon]?)",
    ]
    _full_site_present(s, but=("resource:FT-01",))


def test_resource_location_wrong_shape(site: SiteFiles) -> None:
    site.edit(RES, "[30.6960, 121.3040]", "30.6960")
    assert site.problems() == [
        f"{RES}:{site.line(RES, 'location: 30.6960')}: resources[3].location: Input should be a "
        f"valid tuple",
    ]


def test_resource_duplicate_id(site: SiteFiles) -> None:
    site.edit(RES, "id: FT-01", "id: H-01")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{RES}:{site.line(RES, 'kind: fire_truck') - 1}: resources[3].id: duplicate resource "
        f"id 'H-01' "
        f"(first defined at {RES}:3)",
    ]
    assert s.resources["H-01"].kind.value == "fire_hydrant"


def test_resource_unknown_field(site: SiteFiles) -> None:
    site.edit(RES, "spec: DN150", "specs: DN150")
    assert site.problems() == [
        f"{RES}:{site.line(RES, 'specs')}: resources[0].specs: {UNKNOWN_FIELD}",
    ]


def test_resource_item_not_a_mapping_skips_only_that_item(site: SiteFiles) -> None:
    site.edit(RES, "resources:\n", "resources:\n  - just a string\n")
    s = site.load()
    assert [str(p) for p in s.problems] == [f"{RES}:3: resources[0]: expected a mapping"]
    _full_site_present(s)


def test_resources_file_missing_list(site: SiteFiles) -> None:
    site.set(RES, "schema_version: 1\nresource: []\n")
    assert site.problems() == [
        f"{RES}:1: resources: required field is missing",
        f"{RES}:2: resource: {UNKNOWN_FIELD}",
    ]


def test_resources_wrong_schema_version(site: SiteFiles) -> None:
    site.edit(RES, "schema_version: 1", "schema_version: 0")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{RES}:1: schema_version: schema_version 0 is not supported (this build reads 1)",
    ]
    assert s.resources == {}


# --------------------------------------------------------------------------- links


def test_modbus_link_needs_baudrate(site: SiteFiles) -> None:
    site.edit(GAU, "    baudrate: 9600\n", "")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{GAU}:{site.line(GAU, 'id: RS485-1')}: links[1].baudrate: required for a modbus_rtu "
        f"link",
        f"{GAU}:{site.line(GAU, 'link: RS485-1')}: gauges[0].link: link 'RS485-1' did not load "
        f"(see the problem reported for it)",
        f"{DRILL}:{site.line(DRILL, 'gauge: GD-101')}: injects[0].gauge: gauge 'GD-101' did not "
        f"load (see the problem reported for it)",
    ]
    _full_site_present(s, but=("link:RS485-1", "gauge:GD-101", "drill:D-GAS-1"))


def test_mqtt_link_needs_host(site: SiteFiles) -> None:
    site.edit(GAU, "    host: 127.0.0.1\n", "")
    problems = site.problems()
    assert problems[0] == (f"{GAU}:{site.line(GAU, 'id: MQTT-1')}: links[2].host: required for "
                           f"a mqtt link")


def test_link_port_out_of_range(site: SiteFiles) -> None:
    site.edit(GAU, "port: 1883", "port: 70000")
    problems = site.problems()
    assert problems[0] == (f"{GAU}:{site.line(GAU, 'port')}: links[2].port: Input should be less "
                           f"than 65536")


def test_link_unknown_protocol(site: SiteFiles) -> None:
    site.edit(GAU, "protocol: simulator", "protocol: modbus")
    problems = site.problems()
    line = site.line(GAU, "protocol: modbus\n")
    assert problems[0] == (
        f"{GAU}:{line}: links[0].protocol: Input should be "
        f"'modbus_rtu', 'modbus_tcp', 'mqtt', 'ascii' or 'simulator'")


def test_link_duplicate_id(site: SiteFiles) -> None:
    site.edit(GAU, "id: MQTT-1", "id: SIM")
    problems = site.problems()
    assert problems[0] == (f"{GAU}:{site.line(GAU, 'host:') - 2}: links[2].id: duplicate link id "
                           f"'SIM' (first defined at {GAU}:3)")


def test_link_wrong_type(site: SiteFiles) -> None:
    site.edit(GAU, "    baudrate: 9600\n", "    baudrate: fast\n")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{GAU}:{site.line(GAU, 'baudrate: fast')}: links[1].baudrate: Input should be a valid "
        f"integer, unable to parse string as an integer",
        f"{GAU}:{site.line(GAU, 'link: RS485-1')}: gauges[0].link: link 'RS485-1' did not load "
        f"(see the problem reported for it)",
        _drill_lost_gd101(site),
    ]
    _full_site_present(s, but=("link:RS485-1", "gauge:GD-101", "drill:D-GAS-1"))


def test_link_unknown_field(site: SiteFiles) -> None:
    site.edit(GAU, "    poll_s: 1\n", "    poll: 1\n")
    problems = site.problems()
    assert problems[0] == f"{GAU}:{site.line(GAU, 'poll:')}: links[1].poll: {UNKNOWN_FIELD}"


# --------------------------------------------------------------------------- gauges


def test_gauge_unit_not_for_kind(site: SiteFiles) -> None:
    site.edit(GAU, "    unit: ppm\n", "    unit: mg/m3\n")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{GAU}:{site.line(GAU, 'unit: mg/m3')}: gauges[1].unit: 'mg/m3' is not a unit for h2s "
        f"(use ppm)",
    ]
    _full_site_present(s, but=("gauge:GT-201",))


def test_gauge_thresholds_out_of_order(site: SiteFiles) -> None:
    site.edit(GAU, "{level: alarm2, direction: high, value: 50}",
              "{level: alarm2, direction: high, value: 20}")
    assert site.problems() == [
        f"{GAU}:{site.line(GAU, '      - {level: alarm1, direction: high, value: 25}') - 1}: "
        f"gauges[0].thresholds: high limits must get higher with the level",
        _drill_lost_gd101(site),
    ]


def test_gauge_low_thresholds_out_of_order(site: SiteFiles) -> None:
    site.edit(GAU, "{level: alarm2, direction: low, value: 18}",
              "{level: alarm2, direction: low, value: 19.8}")
    assert site.problems() == [
        f"{GAU}:{site.line(GAU, 'value: 19.5') - 1}: gauges[2].thresholds: low limits must get "
        f"lower with the level",
    ]


def test_gauge_threshold_outside_range(site: SiteFiles) -> None:
    site.edit(GAU, "{level: alarm2, direction: high, value: 20}",
              "{level: alarm2, direction: high, value: 200}")
    assert site.problems() == [
        f"{GAU}:{site.line(GAU, 'value: 5}') - 1}: gauges[1].thresholds: high alarm2 200.0 lies "
        f"outside the range 0.0..100.0",
    ]


def test_gauge_threshold_given_twice(site: SiteFiles) -> None:
    site.edit(GAU, "{level: alarm2, direction: high, value: 50}",
              "{level: alarm1, direction: high, value: 50}")
    assert site.problems() == [
        f"{GAU}:{site.line(GAU, 'value: 25}') - 1}: gauges[0].thresholds: high alarm1 is given "
        f"twice",
        _drill_lost_gd101(site),
    ]


def test_gauge_threshold_bad_level(site: SiteFiles) -> None:
    site.edit(GAU, "{level: prealarm, direction: high, value: 5}",
              "{level: warning, direction: high, value: 5}")
    assert site.problems() == [
        f"{GAU}:{site.line(GAU, 'level: warning')}: gauges[1].thresholds[0].level: Input should "
        f"be 'prealarm', 'alarm1' or 'alarm2'",
    ]


def test_gauge_range_inverted(site: SiteFiles) -> None:
    site.edit(GAU, "    range: [0, 60]\n", "    range: [60, 0]\n")
    assert site.problems() == [
        f"{GAU}:{site.line(GAU, 'range: [60, 0]')}: gauges[3].range: low end 60.0 must be below "
        f"high end 0.0",
    ]


def test_gauge_on_unknown_link(site: SiteFiles) -> None:
    site.edit(GAU, "link: MQTT-1", "link: MQTT-2")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{GAU}:{site.line(GAU, 'link: MQTT-2')}: gauges[1].link: unknown link 'MQTT-2'",
    ]
    _full_site_present(s, but=("gauge:GT-201",))


def test_modbus_slave_out_of_range(site: SiteFiles) -> None:
    site.edit(GAU, "{slave: 1, register: 0, scale: 0.1}", "{slave: 248, register: 0}")
    s = site.load()
    assert str(s.problems[0]) == (
        f"{GAU}:{site.line(GAU, 'slave: 248')}: gauges[0].address.slave: Modbus slave id 248 is "
        f"not 1..247")
    assert "GD-101" not in s.gauges


def test_modbus_slave_zero(site: SiteFiles) -> None:
    site.edit(GAU, "{slave: 1, register: 0, scale: 0.1}", "{slave: 0, register: 0}")
    assert site.problems()[0] == (
        f"{GAU}:{site.line(GAU, 'slave: 0')}: gauges[0].address.slave: Modbus slave id 0 is "
        f"not 1..247")


def test_modbus_register_out_of_range(site: SiteFiles) -> None:
    site.edit(GAU, "{slave: 1, register: 0, scale: 0.1}", "{slave: 1, register: 70000}")
    assert site.problems()[0] == (
        f"{GAU}:{site.line(GAU, 'register: 70000')}: gauges[0].address.register: Modbus register "
        f"70000 is not 0..65535")


def test_modbus_address_missing_register(site: SiteFiles) -> None:
    site.edit(GAU, "{slave: 1, register: 0, scale: 0.1}", "{slave: 1}")
    assert site.problems()[0] == (
        f"{GAU}:{site.line(GAU, 'slave: 1}')}: gauges[0].address: needs register (link 'RS485-1' "
        f"is modbus_rtu)")


def test_mqtt_address_needs_topic(site: SiteFiles) -> None:
    site.edit(GAU, "{topic: plant/tf200/gt201}", "{topic_: plant/tf200/gt201}")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{GAU}:{site.line(GAU, 'topic_')}: gauges[1].address: needs topic (link 'MQTT-1' is "
        f"mqtt)",
    ]


def test_gauge_unknown_building(site: SiteFiles) -> None:
    site.edit(GAU, "    building: U-100\n", "    building: U-101\n")
    assert site.problems()[0] == (f"{GAU}:{site.line(GAU, 'U-101')}: gauges[0].building: "
                                  f"unknown building 'U-101'")


def test_gauge_duplicate_id(site: SiteFiles) -> None:
    site.edit(GAU, "id: WS-1", "id: GD-101")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{GAU}:{site.line(GAU, 'kind: wind_speed') - 1}: gauges[3].id: duplicate gauge id "
        f"'GD-101' (first defined at {GAU}:{site.line(GAU, 'kind: combustible_gas') - 1})",
    ]
    assert s.gauges["GD-101"].kind.value == "combustible_gas"


def test_gauge_missing_required_field(site: SiteFiles) -> None:
    site.edit(GAU, "    kind: wind_speed\n", "")
    assert site.problems() == [
        f"{GAU}:{site.line(GAU, 'id: WS-1')}: gauges[3].kind: required field is missing",
    ]


def test_gauge_wrong_type(site: SiteFiles) -> None:
    site.edit(GAU, "    on_delay_s: 2\n", "    on_delay_s: soon\n")
    assert site.problems() == [
        f"{GAU}:{site.line(GAU, 'on_delay_s')}: gauges[0].on_delay_s: Input should be a valid "
        f"number, unable to parse string as a number",
        _drill_lost_gd101(site),
    ]


def test_gauge_unknown_field(site: SiteFiles) -> None:
    site.edit(GAU, "    on_delay_s: 2\n", "    on_delay: 2\n")
    assert site.problems() == [
        f"{GAU}:{site.line(GAU, 'on_delay:')}: gauges[0].on_delay: {UNKNOWN_FIELD}",
        _drill_lost_gd101(site),
    ]


def test_gauge_far_away(site: SiteFiles) -> None:
    site.edit(GAU, "[30.7000, 121.3000]", "[31.1500, 121.3000]")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{GAU}:{site.line(GAU, '31.1500')}: gauges[3].location: [31.15, 121.3] lies 49.5 km "
        f"outside the site (is the order [lat, lon]?)",
    ]
    _full_site_present(s, but=("gauge:WS-1",))


def test_gauge_nan_threshold(site: SiteFiles) -> None:
    site.edit(GAU, "{level: alarm1, direction: high, value: 25}",
              "{level: alarm1, direction: high, value: .nan}")
    assert site.problems() == [
        f"{GAU}:{site.line(GAU, '.nan')}: gauges[0].thresholds[0].value: threshold must be a "
        f"finite number",
        _drill_lost_gd101(site),
    ]


def test_gauges_file_without_links_section(site: SiteFiles) -> None:
    text = site.texts[GAU]
    site.set(GAU, "schema_version: 1\n" + text[text.index("gauges:"):])
    s = site.load()
    assert str(s.problems[0]) == f"{GAU}:1: links: required field is missing"
    assert s.gauges == {}


# --------------------------------------------------------------------------- roster


def test_shift_missing_hours(site: SiteFiles) -> None:
    """One slip in the roster leaves a role empty, but never takes a plan away."""
    site.edit(ROS, "    hours: 08:00–17:00\n", "")
    s = site.load()
    empty = "no one on the roster holds role 'commander'; the plan is loaded, but no one is " \
            "called in this role"
    assert [str(p) for p in s.problems] == [
        f"{ROS}:{site.line(ROS, 'id: DAY')}: shifts[1].hours: required field is missing",
        f"{ROS}:{site.line(ROS, 'shift: DAY')}: people[0].shift: shift 'DAY' did not load (see "
        f"the problem reported for it)",
        f"{L1}:{site.line(L1, 'escalate_to_roles')}: notification[0].escalate_to_roles[0]: "
        f"{empty}",
        f"{L2}:{site.line(L2, '  - role: commander')}: roles[0].role: {empty}",
        f"{L2}:{site.line(L2, 'roles: [commander')}: notification[0].roles[0]: {empty}",
    ]
    assert "p-zhang" not in s.people
    assert set(s.plans) == {"P-GAS-L1", "P-GAS-L2"} and set(s.drills) == {"D-GAS-1"}


def test_shift_wrong_type(site: SiteFiles) -> None:
    site.edit(ROS, "    hours: 轮班 08:00–16:00\n", "    hours: [8, 16]\n")
    problems = site.problems()
    assert problems[0] == (f"{ROS}:{site.line(ROS, 'hours: [8, 16]')}: shifts[0].hours: Input "
                           f"should be a valid string")


def test_role_duplicate_id(site: SiteFiles) -> None:
    site.edit(ROS, "  - id: operator\n", "  - id: shift_leader\n")
    problems = site.problems()
    second = site.line(ROS, "      zh: 中控室操作员") - 2
    assert problems[0] == (f"{ROS}:{second}: roles[2].id: duplicate role id 'shift_leader' (first "
                           f"defined at {ROS}:{site.line(ROS, '      zh: 值班长') - 2})")


def test_role_wrong_type(site: SiteFiles) -> None:
    site.edit(ROS, "  - id: operator\n    name:\n      zh: 中控室操作员\n",
              "  - id: operator\n    name: 中控室操作员\n")
    problems = site.problems()
    assert problems[:3] == [
        f"{ROS}:{site.line(ROS, 'name: 中控室操作员')}: roles[2].name: Input should be a valid "
        f"dictionary or instance of Text",
        f"{ROS}:{site.line(ROS, 'roles: [operator')}: people[2].roles[0]: role 'operator' did "
        f"not load (see the problem reported for it)",
        f"{L1}:{site.line(L1, '  - role: operator')}: roles[1].role: role 'operator' did not "
        f"load (see the problem reported for it)",
    ]


def test_shift_duplicate_id(site: SiteFiles) -> None:
    site.edit(ROS, "  - id: DAY\n", "  - id: A\n")
    problems = site.problems()
    assert problems[:2] == [
        f"{ROS}:7: shifts[1].id: duplicate shift id 'A' (first defined at {ROS}:3)",
        f"{ROS}:{site.line(ROS, 'shift: DAY')}: people[0].shift: unknown shift 'DAY'",
    ]


def test_role_missing_name(site: SiteFiles) -> None:
    site.edit(ROS, "  - id: operator\n    name:\n      zh: 中控室操作员\n", "  - id: operator\n")
    problems = site.problems()
    assert problems[0] == f"{ROS}:{site.line(ROS, 'id: operator')}: roles[2].name: required " \
                          f"field is missing"


def test_person_unknown_role(site: SiteFiles) -> None:
    site.edit(ROS, "roles: [operator, fire_brigade]", "roles: [operator, firefighter]")
    s = site.load()
    problems = [str(p) for p in s.problems]
    assert problems[0] == (f"{ROS}:{site.line(ROS, 'firefighter')}: people[2].roles[1]: unknown "
                           f"role 'firefighter'")
    # p-wang was the only operator and fire-fighter: both plans lose those roles' holders.
    assert f"{L1}:{site.line(L1, '  - role: operator')}: roles[1].role: no one on the roster " \
           f"holds role 'operator'; the plan is loaded, but no one is called in this role" \
           in problems
    assert "p-wang" not in s.people
    assert set(s.people) == {"p-zhang", "p-li"}


def test_person_unknown_shift(site: SiteFiles) -> None:
    site.edit(ROS, "    shift: DAY\n", "    shift: B\n")
    problems = site.problems()
    assert problems[0] == f"{ROS}:{site.line(ROS, 'shift: B')}: people[0].shift: unknown shift 'B'"


def test_person_bad_phone(site: SiteFiles) -> None:
    site.edit(ROS, '"138-0000-0002"', '"call Li"')
    problems = site.problems()
    assert problems[0] == (f"{ROS}:{site.line(ROS, 'call Li')}: people[1].phone: 'call Li' is not "
                           f"a phone number (digits, spaces, dashes, optional +)")


def test_person_email_channel_without_address(site: SiteFiles) -> None:
    site.edit(ROS, "    email: zhang.wei@example.com\n", "")
    problems = site.problems()
    assert problems[0] == (f"{ROS}:{site.line(ROS, 'id: p-zhang')}: people[0].email: required "
                           f"when 'email' is one of the channels")


def test_person_no_channels(site: SiteFiles) -> None:
    site.edit(ROS, "channels: [sms]\n", "channels: []\n")
    problems = site.problems()
    assert problems[0] == (f"{ROS}:{site.line(ROS, 'channels: []')}: people[1].channels: a "
                           f"responder needs at least one channel")


def test_person_unknown_channel(site: SiteFiles) -> None:
    site.edit(ROS, "channels: [wecom, sms]", "channels: [wechat, sms]")
    problems = site.problems()
    assert problems[0].startswith(f"{ROS}:{site.line(ROS, 'wechat')}: people[2].channels[0]: "
                                  f"Input should be 'sms', 'wecom',")


def test_person_duplicate_id_names_the_first(site: SiteFiles) -> None:
    site.edit(ROS, "  - id: p-li\n", "  - id: p-zhang\n")
    s = site.load()
    problems = [str(p) for p in s.problems]
    second = site.line(ROS, "    name: 李娜") - 1
    assert problems == [
        f"{ROS}:{second}: people[1].id: duplicate person id 'p-zhang' (first defined at "
        f"{ROS}:{site.line(ROS, 'name: 张伟') - 1})",
        # p-li was the only shift leader: the plan keeps its role, with nobody to call.
        f"{L1}:{site.line(L1, '  - role: shift_leader')}: roles[0].role: no one on the roster "
        f"holds role 'shift_leader'; {EMPTY}",
        f"{L1}:{site.line(L1, 'roles: [shift_leader')}: notification[0].roles[0]: no one on the "
        f"roster holds role 'shift_leader'; {EMPTY}",
    ]
    assert s.people["p-zhang"].name == "张伟" and set(s.plans) == {"P-GAS-L1", "P-GAS-L2"}


def test_person_missing_name(site: SiteFiles) -> None:
    site.edit(ROS, "    name: 李娜\n", "")
    problems = site.problems()
    assert problems[0] == (f"{ROS}:{site.line(ROS, 'id: p-li')}: people[1].name: required "
                           f"field is missing")


def test_person_wrong_type(site: SiteFiles) -> None:
    site.edit(ROS, "    roles: [shift_leader]\n", "    roles: shift_leader\n")
    problems = site.problems()
    assert problems[0] == (f"{ROS}:{site.line(ROS, 'roles: shift_leader')}: people[1].roles: "
                           f"Input should be a valid tuple")


def test_person_unknown_field(site: SiteFiles) -> None:
    site.edit(ROS, "    name_en: Zhang Wei\n", "    english_name: Zhang Wei\n")
    s = site.load()
    assert str(s.problems[0]) == (f"{ROS}:{site.line(ROS, 'english_name')}: "
                                  f"people[0].english_name: {UNKNOWN_FIELD}")
    assert "p-zhang" not in s.people


def test_roster_yaml_error_keeps_plans(site: SiteFiles) -> None:
    site.edit(ROS, "roles:\n", "roles: [\n")
    s = site.load()
    assert len(s.problems) == 1
    assert s.problems[0].path == ROS
    assert set(s.plans) == {"P-GAS-L1", "P-GAS-L2"}


# --------------------------------------------------------------------------- plans


def test_plan_role_nobody_holds(site: SiteFiles) -> None:
    site.edit(ROS, "people:\n", "  - id: medic\n    name:\n      zh: 医疗救护\npeople:\n")
    site.edit(L2, "  - role: fire_brigade\n", "  - role: medic\n    duty:\n      zh: 救护\n"
                                              "  - role: fire_brigade\n")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{L2}:{site.line(L2, 'role: medic')}: roles[1].role: no one on the roster holds role "
        f"'medic'; the plan is loaded, but no one is called in this role",
    ]
    assert set(s.plans) == {"P-GAS-L1", "P-GAS-L2"}
    assert s.plans["P-GAS-L1"].escalates_to == "P-GAS-L2"
    assert set(s.drills) == {"D-GAS-1"}


def test_plan_role_that_does_not_exist(site: SiteFiles) -> None:
    site.edit(L1, "  - role: operator\n", "  - role: operater\n")
    site.edit(L1, "    owner: operator\n", "    owner: operater\n")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{L1}:{site.line(L1, 'role: operater')}: roles[1].role: unknown role 'operater'",
        f"{DRILL}:5: plan: plan 'P-GAS-L1' did not load (see the problem reported for it)",
    ]
    assert set(s.plans) == {"P-GAS-L2"}
    assert s.drills == {}


def test_plan_left_out_takes_its_drill(site: SiteFiles) -> None:
    site.edit(L1, "  - role: operator\n", "  - role: operater\n")
    site.edit(L1, "    owner: operator\n", "    owner: operater\n")
    problems = site.problems()
    assert problems[1] == (f"{DRILL}:{site.line(DRILL, 'plan: P-GAS-L1')}: plan: plan 'P-GAS-L1' "
                           f"did not load (see the problem reported for it)")


def test_plan_notification_role_unknown(site: SiteFiles) -> None:
    site.edit(L1, "escalate_to_roles: [commander]", "escalate_to_roles: [plant_manager]")
    problems = site.problems()
    assert problems[0] == (f"{L1}:{site.line(L1, 'plant_manager')}: notification[0]."
                           f"escalate_to_roles[0]: unknown role 'plant_manager'")


def test_plan_step_owner_not_a_plan_role(site: SiteFiles) -> None:
    site.edit(L1, "    owner: shift_leader\n", "    owner: commander\n")
    s = site.load()
    assert str(s.problems[0]) == (
        f"{L1}:{site.line(L1, 'owner: commander')}: steps[1].owner: owner 'commander' is not one "
        f"of this plan's roles")
    assert "P-GAS-L1" not in s.plans
    assert "P-GAS-L2" in s.plans


def test_plan_escalates_to_missing_plan(site: SiteFiles) -> None:
    site.edit(L1, "escalates_to: P-GAS-L2", "escalates_to: P-GAS-L3")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{L1}:{site.line(L1, 'escalates_to')}: escalates_to: unknown plan 'P-GAS-L3'; the plan "
        f"is loaded without this escalation",
    ]
    assert s.plans["P-GAS-L1"].escalates_to is None
    _full_site_present(s)


def test_plan_escalates_to_lower_level(site: SiteFiles) -> None:
    site.edit(L2, "id: P-GAS-L2\n", "id: P-GAS-L2\nescalates_to: P-GAS-L1\n")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{L2}:{site.line(L2, 'escalates_to')}: escalates_to: plan 'P-GAS-L1' is L1, not above "
        f"this plan's L2; the plan is loaded without this escalation",
    ]
    assert s.plans["P-GAS-L2"].escalates_to is None
    assert s.plans["P-GAS-L1"].escalates_to == "P-GAS-L2"


def test_plan_escalates_to_same_level(site: SiteFiles) -> None:
    site.edit(L2, "level: L2", "level: L1")
    problems = site.problems()
    assert problems == [
        f"{L1}:{site.line(L1, 'escalates_to')}: escalates_to: plan 'P-GAS-L2' is L1, not above "
        f"this plan's L1; the plan is loaded without this escalation",
    ]


def test_plan_missing_required_field(site: SiteFiles) -> None:
    site.edit(L2, "hazard_zone:\n  isolation_m: 100\n  protective_downwind_m: 300\n"
                  "  sector_deg: 60\n", "")
    s = site.load()
    assert str(s.problems[0]) == f"{L2}:1: hazard_zone: required field is missing"
    assert set(s.plans) == {"P-GAS-L1"}


def test_plan_wrong_level(site: SiteFiles) -> None:
    site.edit(L2, "level: L2", "level: L5")
    problems = site.problems()
    assert problems[0] == (f"{L2}:{site.line(L2, 'level: L5')}: level: Input should be 'L1', "
                           f"'L2', 'L3' or 'L4'")


def test_plan_wrong_type(site: SiteFiles) -> None:
    site.edit(L2, "  isolation_m: 100\n", "  isolation_m: far\n")
    problems = site.problems()
    assert problems[0] == (f"{L2}:{site.line(L2, 'isolation_m')}: hazard_zone.isolation_m: Input "
                           f"should be a valid number, unable to parse string as a number")


def test_plan_unknown_field(site: SiteFiles) -> None:
    site.edit(L2, "tier: special", "teir: special")
    problems = site.problems()
    assert problems[:2] == [
        f"{L2}:1: tier: required field is missing",
        f"{L2}:{site.line(L2, 'teir')}: teir: {UNKNOWN_FIELD}",
    ]


def test_plan_without_steps(site: SiteFiles) -> None:
    site.edit(L2, "steps:\n  - id: s1\n    title:\n      zh: 消防车到场\n    owner: fire_brigade\n"
                  "    target_min: 5\n", "steps: []\n")
    problems = site.problems()
    assert problems[0] == f"{L2}:{site.line(L2, 'steps')}: steps: a plan needs at least one step"


def test_plan_duplicate_step_id(site: SiteFiles) -> None:
    site.edit(L1, "  - id: s2\n", "  - id: s1\n")
    problems = site.problems()
    assert problems[0] == (f"{L1}:{site.line(L1, 'steps:')}: steps: step id 's1' is used twice")


def test_plan_duplicate_id_across_files(site: SiteFiles) -> None:
    site.set("plans/gas-l2-copy.yaml", site.texts[L2])
    s = site.load()
    assert [str(p) for p in s.problems] == [
        "plans/gas-l2.yaml:2: id: duplicate plan id 'P-GAS-L2' (first defined at "
        "plans/gas-l2-copy.yaml:2)",
    ]
    assert s.files["plan:P-GAS-L2"] == "plans/gas-l2-copy.yaml"


def test_plan_wrong_schema_version(site: SiteFiles) -> None:
    site.edit(L2, "schema_version: 1", "schema_version: 3")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{L2}:1: schema_version: schema_version 3 is not supported (this build reads 1)",
        f"{L1}:{site.line(L1, 'escalates_to')}: escalates_to: plan 'P-GAS-L2' did not load (see "
        f"the problem reported for it); the plan is loaded without this escalation",
    ]


def test_plan_bad_contact_phone(site: SiteFiles) -> None:
    site.edit(L2, '"021-5555 0119"', '"119!"')
    problems = site.problems()
    assert problems[0] == (f"{L2}:{site.line(L2, '119!')}: response_pack.contacts[0].phone: "
                           f"'119!' is not a phone number")


def test_only_yaml_files_in_plans_are_read(site: SiteFiles) -> None:
    site.set("plans/README.md", "# plans\n")
    site.set("plans/old.yaml.bak", "garbage: [\n")
    assert site.problems() == []


# --------------------------------------------------------------------------- drills


def test_drill_inject_unknown_gauge(site: SiteFiles) -> None:
    site.edit(DRILL, "gauge: GD-101", "gauge: GD-999")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{DRILL}:{site.line(DRILL, 'GD-999')}: injects[0].gauge: unknown gauge 'GD-999'",
    ]
    assert s.drills == {}
    _full_site_present(s, but=("drill:D-GAS-1",))


def test_drill_unknown_plan(site: SiteFiles) -> None:
    site.edit(DRILL, "plan: P-GAS-L1", "plan: P-GAS-L9")
    assert site.problems() == [f"{DRILL}:5: plan: unknown plan 'P-GAS-L9'"]


def test_drill_unknown_location(site: SiteFiles) -> None:
    site.edit(DRILL, "location: U-100", "location: U-900")
    assert site.problems() == [f"{DRILL}:6: location: unknown building 'U-900'"]


def test_drill_injects_out_of_order(site: SiteFiles) -> None:
    site.edit(DRILL, "at_s: 60", "at_s: -1")
    assert site.problems() == [
        f"{DRILL}:{site.line(DRILL, 'at_s: -1')}: injects[1].at_s: Input should be greater than "
        f"or equal to 0",
    ]
    site.edit(DRILL, "at_s: -1", "at_s: 0")
    site.edit(DRILL, "  - at_s: 0\n    kind: gauge", "  - at_s: 90\n    kind: gauge")
    assert site.problems() == [
        f"{DRILL}:{site.line(DRILL, 'injects:')}: injects: must be listed in time order (at_s "
        f"ascending)",
    ]


def test_drill_gauge_reading_without_value(site: SiteFiles) -> None:
    site.edit(DRILL, "    value: 30\n", "")
    assert site.problems() == [
        f"{DRILL}:{site.line(DRILL, 'at_s: 0')}: injects[0].value: required for a gauge_reading "
        f"inject",
    ]


def test_drill_message_inject_without_text(site: SiteFiles) -> None:
    site.edit(DRILL, "    text:\n      zh: 发现法兰泄漏\n", "")
    assert site.problems() == [
        f"{DRILL}:{site.line(DRILL, 'at_s: 60')}: injects[1].text: required for a message inject",
    ]


def test_drill_missing_field(site: SiteFiles) -> None:
    site.edit(DRILL, "    target_s: 120\n", "")
    assert site.problems() == [
        f"{DRILL}:{site.line(DRILL, 'id: n1')}: nodes[0].target_s: required field is missing",
    ]


def test_drill_wrong_type(site: SiteFiles) -> None:
    site.edit(DRILL, "    target_s: 120\n", "    target_s: 2min\n")
    assert site.problems() == [
        f"{DRILL}:{site.line(DRILL, 'target_s')}: nodes[0].target_s: Input should be a valid "
        f"number, unable to parse string as a number",
    ]


def test_drill_unknown_field(site: SiteFiles) -> None:
    site.edit(DRILL, "    value: 30\n", "    valeu: 30\n")
    problems = site.problems()
    assert f"{DRILL}:{site.line(DRILL, 'valeu')}: injects[0].valeu: {UNKNOWN_FIELD}" in problems


def test_drill_duplicate_id_across_files(site: SiteFiles) -> None:
    site.set("drills/zz-gas-leak-copy.yaml", site.texts[DRILL])
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"drills/zz-gas-leak-copy.yaml:{site.line(DRILL, 'id: D-GAS-1')}: id: duplicate drill id "
        f"'D-GAS-1' (first defined at {DRILL}:{site.line(DRILL, 'id: D-GAS-1')})",
    ]
    assert set(s.drills) == {"D-GAS-1"}


def test_drill_wrong_schema_version(site: SiteFiles) -> None:
    site.edit(DRILL, "schema_version: 1\n", "schema_version: '1'\n")
    # a quoted "1" is accepted as 1 (lax mode); a real mistake is caught:
    assert site.problems() == []
    site.edit(DRILL, "schema_version: '1'\n", "schema_version: one\n")
    assert site.problems() == [
        f"{DRILL}:1: schema_version: Input should be a valid integer, unable to parse string as "
        f"an integer",
    ]


def test_every_problem_is_one_line_with_path_and_line(site: SiteFiles) -> None:
    """Several breakages at once: each gives exactly one well-formed line; nothing raises."""
    site.edit(SITE, "timezone:", "timezon:")
    site.edit(GAU, "port: 1883", "port: 0")
    site.edit(ROS, "    shift: A\n    phone: \"138-", "    shift: C\n    phone: \"138-")
    site.edit(DRILL, "location: U-100", "location: U-900")
    s = site.load()
    for p in s.problems:
        text = str(p)
        assert "\n" not in text
        assert text.startswith(f"{p.path}:{p.line}: ")
        assert p.line >= 1
    assert len(s.problems) >= 4


# --------------------------------------------------------------------------- suppression rules


def test_gauge_suppression_rule_loads(site: SiteFiles) -> None:
    site.edit(GAU, "    on_delay_s: 2\n",
              "    on_delay_s: 2\n    suppressed_when: {gauge: O2-301, below: 5, alarms: high}\n")
    s = site.load()
    assert [str(p) for p in s.problems] == []
    rule = s.gauges["GD-101"].suppressed_when
    assert rule is not None and (rule.gauge, rule.below, rule.above, rule.alarms) == (
        "O2-301", 5.0, None, "high")


def _rule_problem(site: SiteFiles, rule: str, problem: str) -> None:
    site.edit(GAU, "    on_delay_s: 2\n", f"    on_delay_s: 2\n    suppressed_when: {rule}\n")
    s = site.load()
    assert [str(p) for p in s.problems] == [
        f"{GAU}:{site.line(GAU, 'suppressed_when')}: gauges[0].suppressed_when.gauge: {problem}"]
    assert s.gauges["GD-101"].suppressed_when is None      # fail-safe: always announced
    _full_site_present(s)


def test_gauge_suppression_rule_on_an_unknown_gauge_keeps_the_gauge(site: SiteFiles) -> None:
    _rule_problem(site, "{gauge: FT-9, below: 5}",
                  "unknown gauge 'FT-9'; its alarms are never suppressed")


def test_gauge_suppression_rule_on_itself_keeps_the_gauge(site: SiteFiles) -> None:
    _rule_problem(site, "{gauge: GD-101, below: 5}",
                  "a gauge cannot decide its own suppression; its alarms are never suppressed")


def test_gauge_suppression_rule_needs_one_limit(site: SiteFiles) -> None:
    site.edit(GAU, "    on_delay_s: 2\n",
              "    on_delay_s: 2\n    suppressed_when: {gauge: O2-301, below: 5, above: 9}\n")
    problems = site.problems()
    assert problems[0] == (f"{GAU}:{site.line(GAU, 'suppressed_when')}: "
                           f"gauges[0].suppressed_when: give exactly one of below and above")
