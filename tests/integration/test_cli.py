"""The command line against the demo site and a real SQLite store, as a user runs it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from commandcenter.core.clock import SystemClock
from commandcenter.core.events import Event, canonical_payload
from commandcenter.storage.eventlog import EventLog, events_table

REPO = Path(__file__).resolve().parents[2]


def cc(*args: str, db: str | None = None, cwd: Path | None = None,
       timeout: float = 120) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "commandcenter"]
    if db:
        cmd += ["--db", db]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd or REPO, env=os.environ.copy(), check=False)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cc.db'}"


def test_demo_site_validates() -> None:
    r = cc("site", "validate")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("drill scenarios")
    assert ": valid — " in r.stdout


def test_demo_site_stats_meet_the_brief() -> None:
    r = cc("site", "stats", "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["problems"] == 0
    assert s["buildings"] >= 40
    assert s["network"]["nodes"] >= 1500
    assert s["resources"] >= 120 and len(s["resources_by_kind"]) >= 8
    assert s["resources_by_kind"]["assembly_point"] >= 6
    assert s["gauges"] >= 60
    for kind in ("combustible_gas", "h2s", "nh3", "cl2", "o2", "temperature", "pressure",
                 "level", "wind_direction", "wind_speed"):
        assert s["gauges_by_kind"].get(kind, 0) >= 1, kind
    assert s["responders"] >= 60
    assert s["plans"] >= 8 and all(n >= 1 for n in s["plans_by_level"].values())
    assert s["drill_scenarios"] >= 3
    lat, lon = s["center"]
    (south, west), (north, east) = s["bounds"]
    assert south < lat < north and west < lon < east
    assert 30.0 < lat < 32.0 and 121.0 < lon < 122.5  # the demo plant is on Hangzhou Bay


def test_stats_text_output_is_readable() -> None:
    r = cc("site", "stats")
    assert r.returncode == 0
    assert "network" in r.stdout and "plans" in r.stdout


def test_broken_site_exits_1_with_one_line_per_problem(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for folder in ("maps", "resources", "plans", "drills"):
        shutil.copytree(REPO / folder, site / folder)
    plan = site / "plans" / "plan-gas-l1.yaml"
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace("\nlevel: L1", "\nlevel: L9\nx_level: L1", 1), encoding="utf-8")
    r = cc("site", "validate", str(site))
    assert r.returncode == 1
    lines = r.stdout.strip().splitlines()
    level_line = text.splitlines().index("level: L1") + 1
    assert lines == [
        f"plans/plan-gas-l1.yaml:{level_line}: level: Input should be 'L1', 'L2', 'L3' or 'L4'",
        f"plans/plan-gas-l1.yaml:{level_line + 1}: x_level: unknown field (check the spelling; "
        "see the folder's README)",
        "drills/drill-2026q4-gas.yaml:7: plan: plan 'PLAN-GAS-L1' did not load (see the problem "
        "reported for it)",
    ]
    assert r.stderr.strip().endswith(f"3 problem(s) in {site}")
    # The rest of the site still loads.
    s = json.loads(cc("site", "stats", str(site), "--json").stdout)
    assert s["plans"] >= 7 and s["buildings"] >= 40


def test_missing_site_folder(tmp_path: Path) -> None:
    r = cc("site", "validate", str(tmp_path / "nowhere"))
    assert r.returncode == 1
    assert "site folder does not exist" in r.stdout


def test_events_tail_and_verify(db: str, tmp_path: Path) -> None:
    with EventLog(db, SystemClock()) as log:
        for i in range(5):
            log.append(Event(type="test.note", source="cli-test", payload={"n": i, "text": "巡检"}))
    r = cc("events", "tail", "-n", "3", "--json", db=db)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["payload"]["n"] for row in rows] == [2, 3, 4]
    assert rows[0]["payload"]["text"] == "巡检"
    r = cc("events", "tail", db=db)
    assert r.returncode == 0 and r.stdout.count("test.note") == 5
    r = cc("events", "verify", db=db)
    assert r.returncode == 0, r.stdout
    assert "5 events, hash chain intact" in r.stdout
    with EventLog(db, SystemClock(), migrate=False) as log:
        head = log.tail(1)[0]
    assert f"head: seq 5 hash {head.hash}" in r.stdout

    path = tmp_path / "cc.db"
    con = sqlite3.connect(path)
    con.execute("DELETE FROM events WHERE seq = 5")
    con.commit()
    con.close()
    r = cc("events", "verify", db=db)
    assert r.returncode == 1
    assert r.stdout.strip() == ("event log BROKEN at seq 5: event 5 is missing at the end of "
                                "the log (the chain head records seq 5)")
    with EventLog(db, SystemClock(), migrate=False) as log, log.engine.begin() as conn:
        conn.execute(events_table.insert().values(
            seq=5, id=head.id, ts=head.ts, type=head.type, source=head.source,
            payload=canonical_payload(head.payload), prev_hash=head.prev_hash, hash=head.hash))
    assert cc("events", "verify", db=db).returncode == 0

    con = sqlite3.connect(path)
    con.execute("UPDATE events SET payload = ? WHERE seq = 3", ('{"n":99,"text":"巡检"}',))
    con.commit()
    con.close()
    r = cc("events", "verify", "--json", db=db)
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["ok"] is False and out["first_broken_seq"] == 3


def test_events_tail_refuses_a_count_below_one_and_says_when_empty(db: str) -> None:
    r = cc("events", "tail", "-n", "-3", db=db)
    assert r.returncode == 2 and "argument -n: must be at least 1, not -3" in r.stderr
    r = cc("events", "tail", "-n", "many", db=db)
    assert r.returncode == 2 and "argument -n: not a whole number: 'many'" in r.stderr
    r = cc("events", "tail", db=db)
    assert r.returncode == 0 and r.stdout == "" and "the event log is empty" in r.stderr


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(db: str) -> None:
    with EventLog(db, SystemClock()) as log:
        log.append_many([Event(type="test.note", source="cli-test", payload={"n": i})
                         for i in range(2000)])
    proc = subprocess.Popen([sys.executable, "-m", "commandcenter", "--db", db, "events", "tail",
                             "-n", "2000", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # what `| head -1` does
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    r = cc("events", "tail", db="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert r.returncode == 2
    assert r.stderr.startswith("commandcenter: ")
    assert "Traceback" not in r.stderr


def test_bad_settings_file_is_a_clear_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("language = 'fr'\n", encoding="utf-8")
    r = cc("--config", str(cfg), "paths")
    assert r.returncode == 2
    assert "language" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("view", ["plans", "wall"])
def test_screenshot_writes_png(view: str, db: str, tmp_path: Path) -> None:
    out = tmp_path / f"{view}.png"
    r = cc("--lang", "en", "screenshot", "--view", view, "--out", str(out), "--size", "1280x720",
           db=db)
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 720)


def _has_colour(png: Path, colour: str, y: int) -> bool:
    from PySide6.QtGui import QColor, QImage

    image = QImage(str(png))
    return any(QColor(image.pixel(x, y)).name() == colour for x in range(0, image.width(), 10))


def test_screenshot_shows_what_the_store_holds_and_writes_nothing(db: str,
                                                                 tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    r = cc("screenshot", "--view", "incident", "--out", str(empty), db=db)
    assert r.returncode == 0, r.stderr
    assert not _has_colour(empty, "#ffd21f", 200)  # no incident: no L2 banner
    r = cc("incident", "activate", "PLAN-TOXIC-L2", "--location", "U-120", "--json", db=db)
    assert r.returncode == 0, r.stderr
    with EventLog(db, SystemClock(), migrate=False) as log:
        before = log.count()
    shot = tmp_path / "incident.png"
    r = cc("screenshot", "--view", "incident", "--out", str(shot), db=db)
    assert r.returncode == 0, r.stderr
    assert _has_colour(shot, "#ffd21f", 200)  # the stored L2 incident's banner
    with EventLog(db, SystemClock(), migrate=False) as log:
        assert log.count() == before  # a view of the store adds nothing to it


def test_screenshot_demo_plays_the_scripted_scenario(db: str, tmp_path: Path) -> None:
    shot = tmp_path / "demo.png"
    r = cc("screenshot", "--view", "incident", "--demo", "--out", str(shot), db=db)
    assert r.returncode == 0, r.stderr
    assert _has_colour(shot, "#ffd21f", 200)
    with EventLog(db, SystemClock(), migrate=False) as log:
        assert log.count() == 0  # the scenario never touches the store


def test_screenshot_unknown_view(db: str, tmp_path: Path) -> None:
    r = cc("screenshot", "--view", "nope", "--out", str(tmp_path / "x.png"), db=db)
    assert r.returncode == 2 and "unknown view 'nope'" in r.stderr


@pytest.mark.parametrize("args", [[], ["--wall"]])
def test_main_py_starts_records_startup_and_stops_cleanly(args: list[str], db: str,
                                                         tmp_path: Path, watch_tail) -> None:
    env = os.environ | {"QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen([sys.executable, "main.py", "--db", db, *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        started = False
        while time.monotonic() < deadline and proc.poll() is None:
            if (tmp_path / "cc.db").exists():
                started = any(e.type == "system.started" for e in watch_tail(db, 5))
                if started:
                    break
            time.sleep(0.3)
        assert proc.poll() is None, proc.communicate()[1]
        assert started
        time.sleep(1.5)  # the window is up and its timers have ticked
        assert proc.poll() is None, proc.communicate()[1]
        proc.send_signal(signal.SIGTERM)  # what a service manager or a shutdown sends
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "ERROR" not in err, err
    role = "wall" if args else "console"
    with EventLog(db, SystemClock(), migrate=False) as log:
        events = log.tail(5)
    ev = [e for e in events if e.type == "system.started"][-1]
    assert ev.source.startswith(f"{role}:")
    assert ev.payload["plans"] >= 8 and ev.payload["skipped_site_items"] == 0
    assert events[-1].type == "system.stopped" and events[-1].source == ev.source


CLOSE_AFTER_START = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from commandcenter.cli import main

app = QApplication(sys.argv)

def close_windows():
    for w in QApplication.topLevelWidgets():
        if w.isVisible():
            w.close()  # what File > Quit and the window's close button do

QTimer.singleShot(4000, close_windows)
sys.exit(main(["gui", *sys.argv[1:]]))
"""


def gui_closed_after_start(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the GUI offscreen and close its window four seconds after it starts."""
    env = os.environ | {"QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-c", CLOSE_AFTER_START, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("args", [[], ["--wall"]])
def test_closing_the_window_stops_the_runtime_then_quits(args: list[str], db: str) -> None:
    r = gui_closed_after_start("--db", db, *args)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "ERROR" not in r.stderr, r.stderr
    assert "alarm service stopped" in r.stderr  # the runtime stopped before the loop ended
    with EventLog(db, SystemClock(), migrate=False) as log:
        types = [e.type for e in log.tail(5)]
    assert types[-2:] == ["system.started", "system.stopped"]


def test_wall_on_a_missing_monitor_falls_back_to_the_first(db: str) -> None:
    r = gui_closed_after_start("--db", db, "--wall", "--screen", "5")
    assert r.returncode == 0, r.stderr
    assert "wall display: no screen 5; this machine has 1" in r.stderr
    assert "showing it on monitor 0 instead" in r.stderr and "Traceback" not in r.stderr
