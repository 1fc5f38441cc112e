"""``commandcenter alarms …`` against the demo site and a real SQLite store, as a user runs it."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from commandcenter.core.alarms import AlarmEngine
from commandcenter.core.clock import SystemClock
from commandcenter.core.siteio import load_site
from commandcenter.storage.eventlog import EventLog

REPO = Path(__file__).resolve().parents[2]
GAS = "GD-110-01"  # combustible gas, limits 10 / 25 / 50 %LEL, on-delay 2 s
A1, PRE = f"{GAS}:high:alarm1", f"{GAS}:high:prealarm"


def cc(*args: str, db: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "commandcenter", "--db", db, *args],
                          capture_output=True, text=True, timeout=120, cwd=REPO,
                          env=os.environ.copy(), check=False)


@pytest.fixture(scope="module")
def demo_site():  # type: ignore[no-untyped-def]
    return load_site(REPO)


@pytest.fixture
def db(tmp_path: Path, demo_site) -> str:  # type: ignore[no-untyped-def]
    """A store where the demo gas detector GD-110-01 stands at 30 %LEL (prealarm and alarm1)."""
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    clock = SystemClock()
    engine = AlarmEngine.for_site(demo_site, clock)
    now = clock.now()
    with EventLog(url, clock) as log:
        log.append_many(engine.process(GAS, 30.0, now - timedelta(seconds=3)))
        log.append_many(engine.process(GAS, 30.0, now))
    return url


def events(db: str) -> list[dict]:  # type: ignore[type-arg]
    with EventLog(db, SystemClock(), migrate=False) as log:
        return [e.as_dict() for e in log.read()]


def test_list_shows_standing_alarms(db: str) -> None:
    r = cc("alarms", "list", "--json", db=db)
    assert r.returncode == 0, r.stderr
    rows = {row["id"]: row for row in json.loads(r.stdout)}
    assert set(rows) == {PRE, A1}
    assert rows[A1]["state"] == "unack_active" and rows[A1]["value"] == 30.0
    assert rows[A1]["priority"] == "medium" and rows[A1]["unit"] == "%LEL"
    assert rows[A1]["plans"], "a formal gas alarm offers the site's gas plans"
    text = cc("alarms", "list", db=db)
    assert text.returncode == 0
    assert [line.split()[:2] for line in text.stdout.splitlines()] == [
        [A1, "unack_active"], [PRE, "unack_active"]]


def test_ack_records_an_operator_event_and_refuses_a_second_one(db: str) -> None:
    r = cc("alarms", "ack", A1, "--who", "zhang.wei", db=db)
    assert r.returncode == 0, r.stderr
    assert "alarm.acknowledged" in r.stdout and "unack_active → ack_active" in r.stdout
    last = events(db)[-1]
    assert last["type"] == "alarm.acknowledged" and last["source"] == "operator:zhang.wei"
    assert last["payload"]["alarm"] == A1
    again = cc("alarms", "ack", A1, db=db)
    assert again.returncode == 1
    assert again.stderr.startswith(f"commandcenter: cannot acknowledge {A1}: ")
    assert "already acknowledged" in again.stderr and "Traceback" not in again.stderr
    rows = {row["id"]: row for row in json.loads(cc("alarms", "list", "--json", db=db).stdout)}
    assert rows[A1]["state"] == "ack_active" and rows[A1]["acked_by"] == "zhang.wei"


def test_who_defaults_to_the_os_user(db: str) -> None:
    assert cc("alarms", "ack", PRE, db=db).returncode == 0
    assert events(db)[-1]["source"] == f"operator:{getpass.getuser()}"


def test_unknown_alarm_is_a_clear_error(db: str) -> None:
    r = cc("alarms", "ack", "GD-999:high:alarm1", db=db)
    assert r.returncode == 1
    assert "no alarm 'GD-999:high:alarm1'" in r.stderr and "Traceback" not in r.stderr
    r = cc("alarms", "shelve", "GD-999:comm", "--minutes", "5", "--reason", "x", db=db)
    assert r.returncode == 1 and "GD-999:comm" in r.stderr


def test_shelve_timed_and_one_shot(db: str) -> None:
    r = cc("alarms", "shelve", A1, "--minutes", "30", "--reason", "crew on site", "--who",
           "li.na", db=db)
    assert r.returncode == 0, r.stderr
    r = cc("alarms", "shelve", PRE, "--one-shot", "--reason", "until it clears", db=db)
    assert r.returncode == 0, r.stderr
    rows = {row["id"]: row for row in json.loads(cc("alarms", "list", "--json", db=db).stdout)}
    assert rows[A1]["state"] == "shelved" and rows[A1]["shelved_by"] == "li.na"
    assert rows[A1]["shelve_reason"] == "crew on site" and rows[A1]["shelved_until"]
    assert rows[PRE]["state"] == "shelved" and rows[PRE]["one_shot"] is True
    text = cc("alarms", "list", db=db).stdout
    assert "shelved by li.na until" in text and "until returns to normal" in text
    # Refused: already shelved; longer than a shift; no reason; minutes and one-shot together.
    r = cc("alarms", "shelve", A1, "--minutes", "5", "--reason", "again", db=db)
    assert r.returncode == 1 and f"cannot shelve {A1}" in r.stderr
    r = cc("alarms", "shelve", f"{GAS}:high:alarm2", "--minutes", "600", "--reason", "x", db=db)
    assert r.returncode == 1 and "at most 480 minutes" in r.stderr
    r = cc("alarms", "shelve", A1, "--minutes", "5", db=db)
    assert r.returncode == 2 and "--reason" in r.stderr
    r = cc("alarms", "shelve", A1, "--minutes", "5", "--one-shot", "--reason", "x", db=db)
    assert r.returncode == 2


def test_list_all_includes_alarms_back_to_normal(db: str, demo_site) -> None:  # type: ignore[no-untyped-def]
    clock = SystemClock()
    engine = AlarmEngine.for_site(demo_site, clock)
    with EventLog(db, clock) as log:
        log.append_many(engine.process(GAS, 30.0, clock.now() - timedelta(seconds=3)))
        log.append_many(engine.process(GAS, 30.0))
        log.append_many(engine.acknowledge_all("zhang.wei", GAS))
        log.append_many(engine.process(GAS, 1.0))
    standing = json.loads(cc("alarms", "list", "--json", db=db).stdout)
    assert standing == []
    assert cc("alarms", "list", db=db).stdout.strip() == "no standing alarms"
    everything = json.loads(cc("alarms", "list", "--all", "--json", db=db).stdout)
    assert {row["id"]: row["state"] for row in everything} == {PRE: "normal", A1: "normal"}


def test_kpi_counts_announced_alarms(db: str) -> None:
    r = cc("alarms", "kpi", "--hours", "1", "--json", db=db)
    assert r.returncode == 0, r.stderr
    load = json.loads(r.stdout)
    assert load["total"] == 2
    assert load["by_priority"] == {"high": 0, "medium": 1, "low": 1}
    assert {b["alarm"] for b in load["bad_actors"]} == {PRE, A1}
    text = cc("alarms", "kpi", "--hours", "1", db=db)
    assert text.returncode == 0 and "2 alarms" in text.stdout
    bad = cc("alarms", "kpi", "--hours", "0", db=db)
    assert bad.returncode == 2 and "--hours" in bad.stderr


@pytest.mark.parametrize("hours", ["1e9", "inf", "-inf", "nan", "-1", "87841"])
def test_kpi_refuses_windows_that_are_not_a_sensible_number_of_hours(db: str,
                                                                    hours: str) -> None:
    r = cc("alarms", "kpi", f"--hours={hours}", db=db)
    assert r.returncode == 2, r.stdout
    assert "commandcenter: --hours must be more than 0 and at most 87840 (ten years)" \
        in r.stderr
    assert "Traceback" not in r.stderr


def test_confirm_makes_a_prealarm_formal_and_names_its_plans(db: str) -> None:
    r = cc("alarms", "confirm", PRE, "--note", "gas smelt at pump P-3", "--who", "zhang.wei",
           db=db)
    assert r.returncode == 0, r.stderr
    assert "alarm.confirmed" in r.stdout and "unack_active → ack_active" in r.stdout
    assert "formal alarm now; suggested plans: PLAN-GAS-L1, PLAN-GAS-L2" in r.stdout
    last = events(db)[-1]
    assert (last["type"], last["source"]) == ("alarm.confirmed", "operator:zhang.wei")
    assert last["payload"]["note"] == "gas smelt at pump P-3"
    rows = {row["id"]: row for row in json.loads(cc("alarms", "list", "--json", db=db).stdout)}
    assert rows[PRE]["formal"] is True and rows[PRE]["confirmed_by"] == "zhang.wei"
    assert rows[PRE]["plans"] == ["PLAN-GAS-L1", "PLAN-GAS-L2"]
    assert "confirmed by zhang.wei: formal, offers PLAN-GAS-L1" in cc("alarms", "list",
                                                                     db=db).stdout
    again = cc("alarms", "confirm", PRE, db=db)
    assert again.returncode == 1
    assert f"commandcenter: cannot confirm {PRE}: {PRE} was already confirmed by zhang.wei" \
        in again.stderr
    formal = cc("alarms", "confirm", A1, db=db)
    assert formal.returncode == 1 and "already a formal alarm (alarm1)" in formal.stderr


def test_gauge_out_of_service_and_back(db: str) -> None:
    r = cc("alarms", "oos", GAS, "--reason", "detector head replaced", "--who", "tech.wu",
           db=db)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("alarm.out_of_service") == 5   # three limits, comm, bad value
    rows = {row["id"]: row for row in json.loads(cc("alarms", "list", "--json", db=db).stdout)}
    assert rows[A1]["state"] == "out_of_service" and rows[A1]["held_by"] == "tech.wu"
    assert rows[A1]["hold_reason"] == "detector head replaced"
    assert "out of service by tech.wu: detector head replaced" in cc("alarms", "list",
                                                                     db=db).stdout
    again = cc("alarms", "oos", GAS, "--reason", "x", db=db)
    assert again.returncode == 1 and "already out of service" in again.stderr
    assert cc("alarms", "oos", GAS, db=db).returncode == 2           # a reason is required
    unknown = cc("alarms", "oos", "GD-999", "--reason", "x", db=db)
    assert unknown.returncode == 1 and "no gauge 'GD-999' on the site" in unknown.stderr
    back = cc("alarms", "return", GAS, "--who", "tech.wu", db=db)
    assert back.returncode == 0, back.stderr
    assert back.stdout.count("alarm.returned_to_service") == 5
    rows = {row["id"]: row for row in json.loads(cc("alarms", "list", "--json", db=db).stdout)}
    assert rows[A1]["state"] == "unack_active"            # still active: announced anew
    again = cc("alarms", "return", GAS, db=db)
    assert again.returncode == 1 and "is not out of service" in again.stderr


@pytest.mark.parametrize("command", [["ack", A1], ["confirm", PRE], ["oos", GAS, "--reason", "x"],
                                     ["return", GAS], ["shelve", A1, "--minutes", "5",
                                                       "--reason", "x"]])
def test_an_empty_who_is_refused(db: str, command: list[str]) -> None:
    before = len(events(db))
    r = cc("alarms", *command, "--who", "  ", db=db)
    assert r.returncode == 2
    assert r.stderr.strip() == ("commandcenter: --who must not be empty (leave it out to act "
                                "as the OS user)")
    assert len(events(db)) == before


def test_acknowledging_a_normal_alarm_says_there_is_nothing_to_acknowledge(db: str) -> None:
    r = cc("alarms", "ack", f"{GAS}:high:alarm2", db=db)
    assert r.returncode == 1
    assert r.stderr.strip() == (f"commandcenter: cannot acknowledge {GAS}:high:alarm2: "
                                f"{GAS}:high:alarm2 is normal: there is nothing to acknowledge")


def test_serve_ingests_simulated_gauges_and_raises_alarms(tmp_path: Path, watch_tail) -> None:
    """`commandcenter serve` on a copy of the demo site whose O2-410-01 high limit is 20 %VOL:
    the simulated detector reads about 20.9 %VOL, so it alarms as soon as it is read."""
    site = tmp_path / "site"
    for folder in ("maps", "resources", "plans", "drills"):
        shutil.copytree(REPO / folder, site / folder)
    gauges = site / "resources" / "gauges.yaml"
    text = gauges.read_text(encoding="utf-8")
    start = text.index("- id: O2-410-01")
    limit = "  - {level: alarm1, direction: high, value: 23.5}"
    at = text.index(limit, start)
    gauges.write_text(text[:at] + limit.replace("23.5", "20") + text[at + len(limit):],
                      encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'cc.db'}"
    o2 = "O2-410-01:high:alarm1"
    proc = subprocess.Popen([sys.executable, "-m", "commandcenter", "--db", db, "--site",
                             str(site), "serve"], cwd=REPO, env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    raised = False
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None and not raised:
            time.sleep(0.5)
            if (tmp_path / "cc.db").exists():
                raised = any(e.type == "alarm.raised" and e.payload.get("alarm") == o2
                             for e in watch_tail(db, 200))
        assert raised, "no alarm from the simulated gauge"
        # Acknowledged from another process while the service runs.
        r = subprocess.run([sys.executable, "-m", "commandcenter", "--db", db, "--site",
                            str(site), "alarms", "ack", o2, "--who", "zhang.wei"],
                           capture_output=True, text=True, timeout=120, cwd=REPO, check=False)
        assert r.returncode == 0, r.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and " ERROR " not in err, err
    with EventLog(db, SystemClock(), migrate=False) as log:
        acks = [e for e in log.read() if e.type == "alarm.acknowledged"]
        engine = log.engine
        with engine.connect() as conn:
            gauges_with_minutes = conn.exec_driver_sql(
                "SELECT COUNT(DISTINCT gauge_id) FROM gauge_minutes").scalar()
    assert [(e.payload["alarm"], e.source) for e in acks] == [(o2, "operator:zhang.wei")]
    # Stopping wrote the open minute of every gauge that was read.
    assert gauges_with_minutes is not None and gauges_with_minutes >= 60
