"""``commandcenter route`` against the demo site, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from commandcenter.core.hazard import HazardZone
from commandcenter.core.siteio import load_site

REPO = Path(__file__).resolve().parents[2]


def cc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "commandcenter", *args], capture_output=True,
                          text=True, timeout=120, cwd=REPO, env=os.environ.copy(), check=False)


@pytest.fixture(scope="module")
def centre() -> tuple[float, float]:
    c = load_site(REPO).center()
    assert c is not None
    return c


def hazard(c: tuple[float, float], radius: float | None = None) -> str:
    text = f"{c[0]:.6f},{c[1]:.6f}"
    return text if radius is None else f"{text},{radius:g}"


def test_json_answer_with_plan_and_wind(centre: tuple[float, float]) -> None:
    r = cc("route", "--hazard", hazard(centre), "--plan", "PLAN-TOXIC-L2", "--wind-from", "45",
           "--wind-speed", "3", "--json")
    assert r.returncode == 0, r.stderr
    data: dict[str, Any] = json.loads(r.stdout)
    site = load_site(REPO)
    zone = data["zone"]
    assert zone["radius_m"] == site.plans["PLAN-TOXIC-L2"].hazard_zone.isolation_m
    assert zone["sector"]["towards_deg"] == 225 and zone["wind_from_deg"] == 45
    evac = data["evacuation"]
    assert evac["stranded"] == [] and len(evac["routes"]) == len(site.buildings)
    lat0, lon0 = zone["centre"]
    z = HazardZone(lat0, lon0, zone["radius_m"], wind_from_deg=45,
                   sector_length_m=zone["sector"]["length_m"],
                   sector_half_angle_deg=zone["sector"]["half_angle_deg"])
    for route in evac["routes"]:
        assert route["assembly_point"] not in evac["assembly_points_in_zone"]
        assert route["length_m"] > 0 and route["walk_s"] == pytest.approx(
            route["length_m"] / site.info.walking_speed_mps, abs=0.2)  # type: ignore[union-attr]
        assert route["nodes"][0] == site.buildings[route["building"]].entrance_node
        lat, lon = route["coords"][-1]
        assert (lat, lon) == pytest.approx(site.resources[route["assembly_point"]].location)
        assert not z.contains(lat, lon)
    trucks = data["nearest"]["fire_truck"]
    assert trucks and all(t["by_vehicle"] for t in trucks)
    assert all(len(hits) <= 3 for hits in data["nearest"].values())
    assert [h["distance_m"] for h in data["nearest"]["fire_hydrant"]] == sorted(
        h["distance_m"] for h in data["nearest"]["fire_hydrant"])


def test_text_answer_and_resources_to_a_building(centre: tuple[float, float]) -> None:
    site = load_site(REPO)
    some = sorted(site.buildings)[0]
    r = cc("route", "--hazard", hazard(centre, 80), "--from", some, "--kinds",
           "fire_truck,scba_cabinet", "-k", "2")
    assert r.returncode == 0, r.stderr
    assert f"resources to: {some}" in r.stdout
    assert "fire_truck" in r.stdout and "scba_cabinet" in r.stdout
    assert "fire_hydrant" not in r.stdout
    assert f"evacuation: {len(site.buildings)} routes, 0 stranded" in r.stdout


def test_stranded_buildings_exit_1_and_are_listed_loudly(centre: tuple[float, float]) -> None:
    # A 5 km circle swallows the whole plant and every assembly point.
    r = cc("route", "--hazard", hazard(centre, 5000), "--json")
    assert r.returncode == 1
    data = json.loads(r.stdout)
    assert data["evacuation"]["routes"] == []
    assert {s["reason"] for s in data["evacuation"]["stranded"]} == {
        "every assembly point is in the hazard zone"}
    assert "WARNING:" in r.stderr and "have NO safe route" in r.stderr
    assert r.stderr.count("every assembly point is in the hazard zone") == \
        len(data["evacuation"]["stranded"])


def test_wind_without_a_plan_gets_the_sites_default_downwind_sector(
        centre: tuple[float, float]) -> None:
    r = cc("route", "--hazard", hazard(centre, 100), "--wind-from", "45", "--wind-speed", "3",
           "--json")
    assert r.returncode in (0, 1), r.stderr
    zone = json.loads(r.stdout)["zone"]
    default = load_site(REPO).info.default_downwind_m  # type: ignore[union-attr]
    assert default == 500
    assert zone["sector"] == {"length_m": default, "half_angle_deg": 30.0, "towards_deg": 225.0}
    assert ("hazard zone: downwind sector 500 m, 60° wide, from the site's default_downwind_m "
            "(maps/site.yaml); --downwind-m sets another") in r.stderr
    # Given on the command line or by a plan, the distance is that one and nothing is said.
    r = cc("route", "--hazard", hazard(centre, 100), "--wind-from", "45", "--downwind-m", "300",
           "--json")
    assert json.loads(r.stdout)["zone"]["sector"]["length_m"] == 300
    assert "default_downwind_m" not in r.stderr
    r = cc("route", "--hazard", hazard(centre), "--plan", "PLAN-GAS-L2", "--wind-from", "45",
           "--json")
    assert json.loads(r.stdout)["zone"]["sector"]["length_m"] == 300
    assert "hazard zone: downwind sector 300 m, 60° wide, from plan PLAN-GAS-L2" in r.stderr


def test_calm_wind_draws_no_sector(centre: tuple[float, float]) -> None:
    r = cc("route", "--hazard", hazard(centre, 60), "--wind-from", "90", "--wind-speed", "0.2",
           "--downwind-m", "600", "--json")
    assert r.returncode == 0, r.stderr
    zone = json.loads(r.stdout)["zone"]
    assert zone["sector"] is None and zone["wind_from_deg"] is None


@pytest.mark.parametrize(("args", "message"), [
    (["--hazard", "30.8,121.4"], "--hazard needs LAT,LON,RADIUS_M (or LAT,LON with --plan)"),
    (["--hazard", "thirty,121.4,100"], "'thirty,121.4,100' is not LAT,LON,RADIUS_M"),
    (["--hazard", "30.8;121.4;100"], "is not LAT,LON,RADIUS_M (e.g. 30.8151,121.4550,100)"),
    (["--hazard", "121.45,30.81,100"], "is not a [lat, lon] position (latitude first"),
    (["--hazard", "30.8,121.4,-5"], "the radius must be 0–10000 m, not -5.0"),
    (["--hazard", "30.8,121.4,nan"], "numbers must be finite"),
    (["--hazard", "30.8,121.4,100", "--wind-speed", "3"], "--wind-speed needs --wind-from"),
    (["--hazard", "30.8,121.4,100", "--wind-from", "400"], "a wind direction is 0–360"),
    (["--hazard", "30.8,121.4", "--plan", "NOPE"], "unknown plan 'NOPE' (known: PLAN-"),
])
def test_bad_arguments_get_clear_errors(args: list[str], message: str) -> None:
    r = cc("route", *args)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr


def test_unknown_building_and_far_point_are_refused(centre: tuple[float, float]) -> None:
    r = cc("route", "--hazard", hazard(centre, 50), "--from", "NO-SUCH-BUILDING")
    assert r.returncode == 2
    assert "commandcenter: unknown building 'NO-SUCH-BUILDING' (known: " in r.stderr
    r = cc("route", "--hazard", "30.5,121.0,50")
    assert r.returncode == 2
    assert "m from the nearest network node (the limit is 500 m)" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_release_point_off_the_site_is_refused_even_with_from() -> None:
    some = sorted(load_site(REPO).buildings)[0]
    for extra in (["--from", some], ["--from", "30.8151,121.4550"], []):
        r = cc("route", "--hazard", "40.0,121.455,150", *extra, "--json")
        assert r.returncode == 2, extra
        assert r.stdout == ""
        assert ("commandcenter: the hazard source (40.000000, 121.455000) is 1020696 m from the "
                "nearest network node (the limit is 500 m): it is not on this site's network — "
                "check the coordinates and their order [lat, lon]") in r.stderr
        assert "Traceback" not in r.stderr
