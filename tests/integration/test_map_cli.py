"""``commandcenter map export``: one HTML file of the site, usable with no network."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from commandcenter.core.siteio import load_site
from commandcenter.geo.offline import asset_references

REPO = Path(__file__).resolve().parents[2]


def cc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "commandcenter", *args], capture_output=True,
                          text=True, timeout=120, cwd=REPO, env=os.environ.copy(), check=False)


def _offline(page: str) -> None:
    assert [u for u in asset_references(page) if not u.startswith(("data:", "#"))] == []
    assert "file://" not in page


def test_export_the_plain_site_map(tmp_path: Path) -> None:
    out = tmp_path / "plant.html"
    r = cc("map", "export", "--out", str(out), "--lang", "en")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(out)
    page = out.read_text(encoding="utf-8")
    _offline(page)
    assert "Buildings and units" in page and "Hazard zone" not in page


def test_export_with_a_hazard_zone(tmp_path: Path) -> None:
    c = load_site(REPO).center()
    assert c is not None
    out = tmp_path / "toxic.html"
    r = cc("map", "export", "--out", str(out), "--hazard", f"{c[0]},{c[1]}", "--plan",
           "PLAN-TOXIC-L2", "--wind-from", "45", "--wind-speed", "3", "--lang", "en")
    assert r.returncode == 0, r.stderr
    page = out.read_text(encoding="utf-8")
    _offline(page)
    assert "Hazard zone" in page and "Evacuation routes" in page
    assert len(re.findall(r" → AP-\d+: \d+ m", page)) == len(load_site(REPO).buildings)


def test_stranded_buildings_still_export_but_exit_1(tmp_path: Path) -> None:
    c = load_site(REPO).center()
    assert c is not None
    out = tmp_path / "all.html"
    r = cc("map", "export", "--out", str(out), "--hazard", f"{c[0]},{c[1]},5000")
    assert r.returncode == 1
    assert out.is_file() and "have NO safe route" in r.stderr


def test_bad_output_and_bad_hazard_are_clear_errors(tmp_path: Path) -> None:
    r = cc("map", "export", "--out", str(tmp_path / "nope" / "x.html"))
    assert r.returncode == 2 and "cannot write" in r.stderr and "Traceback" not in r.stderr
    r = cc("map", "export", "--out", str(tmp_path / "x.html"), "--hazard", "30.8,121")
    assert r.returncode == 2
    assert "--hazard needs LAT,LON,RADIUS_M" in r.stderr
    r = cc("map", "export", "--out", str(tmp_path / "x.html"), "--hazard", "40.0,121.455,150")
    assert r.returncode == 2 and not (tmp_path / "x.html").exists()
    assert "the hazard source (40.000000, 121.455000) is 1020696 m from the nearest network " \
        "node" in r.stderr


def test_export_with_wind_and_no_plan_draws_the_default_sector(tmp_path: Path) -> None:
    c = load_site(REPO).center()
    assert c is not None
    out = tmp_path / "wind.html"
    r = cc("map", "export", "--out", str(out), "--hazard", f"{c[0]},{c[1]},80", "--wind-from",
           "90", "--wind-speed", "3", "--lang", "en")
    assert r.returncode in (0, 1), r.stderr
    assert "hazard zone: downwind sector 500 m, 60° wide, from the site's default_downwind_m" \
        in r.stderr
    assert "downwind 500 m" in out.read_text(encoding="utf-8")
