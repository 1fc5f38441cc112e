"""``commandcenter incident …`` as an operator runs it, against the demo site and SQLite; and
``commandcenter serve`` picking up what the CLI appended and sending it to a webhook."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from commandcenter.core.siteio import load_site

REPO = Path(__file__).resolve().parents[2]


def cc(*args: str, db: str, site: Path | None = None, env: dict[str, str] | None = None,
       ) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "commandcenter", "--db", db]
    if site is not None:
        cmd += ["--site", str(site)]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO, env={**os.environ, **(env or {})}, check=False)


def ok(r: subprocess.CompletedProcess[str]) -> Any:
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cc.db'}"


def test_activate_follow_answer_escalate_close(db: str) -> None:
    act = ok(cc("incident", "activate", "PLAN-GAS-L1", "--location", "30.8151,121.4550",
                "--by", "值班员 王强", "--json", db=db))
    inc, code = act["id"], act["code"]
    assert inc.startswith("INC-") and inc.endswith(code)
    assert act["plan"] == "PLAN-GAS-L1" and act["level"] == "L1"
    stages = [n["stage"] for n in act["notified"]]
    assert stages and stages == sorted(stages) and stages[0] == 1

    (row,) = ok(cc("incident", "list", "--json", db=db))
    assert (row["id"], row["code"], row["closed_at"]) == (inc, code, None)

    status = ok(cc("incident", "status", inc, "--json", db=db))
    assert status["plan"] == "PLAN-GAS-L1" and status["level"] == "L1"
    assert status["location"] == [30.8151, 121.455]
    assert status["elapsed"].startswith("0:0")
    assert status["checklist"] and all(s["state"] == "open" for s in status["checklist"])
    assert status["messages"]["queued"] == len(act["notified"]) + len(act["announced"])
    first = status["people"][0]
    assert first["stage"] == 1 and first["answer"] == "silent"

    # Answers taken by phone (the incident named by its code, then by its id).
    ok(cc("incident", "ack", code, first["person"], "--by", "王强", "--json", db=db))
    stage1 = [p["person"] for p in status["people"] if p["stage"] == 1]
    ok(cc("incident", "ack", inc, stage1[1], "--declined", "--json", db=db))
    status = ok(cc("incident", "status", inc, "--json", db=db))
    people = {p["person"]: p for p in status["people"]}
    assert people[first["person"]]["answer"] == "acknowledged"
    assert people[first["person"]]["answered_by_channel"] == "phone"
    assert people[first["person"]]["recorded_by"] == "王强"
    assert people[stage1[1]]["answer"] == "declined"
    assert people[stage1[1]]["answered_at"] is not None

    esc = ok(cc("incident", "escalate", inc, "--json", db=db))
    assert (esc["from_plan"], esc["to_plan"], esc["to_level"]) == ("PLAN-GAS-L1",
                                                                  "PLAN-GAS-L2", "L2")
    status = ok(cc("incident", "status", inc, "--json", db=db))
    assert status["level"] == "L2" and status["plans"] == ["PLAN-GAS-L1", "PLAN-GAS-L2"]
    assert status["escalations"][0]["to_plan"] == "PLAN-GAS-L2"
    assert any(s["plan"] == "PLAN-GAS-L2" for s in status["stages"])

    n = len(status["termination"])
    r = cc("incident", "close", inc, "--confirm", "1", db=db)
    assert r.returncode == 1 and "not confirmed" in r.stderr
    r = cc("incident", "close", inc, "--confirm", str(n + 1), db=db)
    assert r.returncode == 1 and f"no condition {n + 1}" in r.stderr
    ok(cc("incident", "close", inc, "--confirm", ",".join(str(i) for i in range(1, n + 1)),
          "--by", "车间主任", "--json", db=db))
    status = ok(cc("incident", "status", inc, "--json", db=db))
    assert status["closed_at"] is not None and status["closed_by"] == "车间主任"
    assert status["messages"]["queued"] == 0  # nothing left to send once closed
    r = cc("incident", "escalate", inc, db=db)
    assert r.returncode == 1 and "closed" in r.stderr

    text = cc("incident", "status", inc, db=db)
    assert text.returncode == 0 and "CLOSED" in text.stdout and "checklist:" in text.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("activate", "PLAN-NOPE", "--location", "30.8,121.4"), "no plan 'PLAN-NOPE'"),
    (("activate", "PLAN-GAS-L1", "--location", "NO-BUILDING"), "no building 'NO-BUILDING'"),
    (("activate", "PLAN-GAS-L1", "--location", "30.8,121.4", "--commander", "nobody"),
     "no person 'nobody'"),
    (("activate", "PLAN-GAS-L1"), "--location"),
    (("status", "INC-NOPE", "--json"), "no incident 'INC-NOPE'"),
    (("escalate", "ZZZ"), "no incident 'ZZZ'"),
    (("ack", "INC-NOPE", "DH1001"), "no incident 'INC-NOPE'"),
])
def test_refusals_exit_1_naming_the_culprit(db: str, args: tuple[str, ...],
                                            message: str) -> None:
    r = cc("incident", *args, db=db)
    assert r.returncode == 1, r.stdout + r.stderr
    assert message in r.stderr
    # with --json the refusal is JSON on stdout too, with the same exit code
    r = cc("incident", *args, *(() if "--json" in args else ("--json",)), db=db)
    assert r.returncode == 1, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"error", "exit_code"} and out["exit_code"] == 1
    assert message in out["error"]


def test_a_store_that_cannot_be_used_is_a_json_error_too(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    r = cc("incident", "list", "--json", db=f"sqlite:///{tmp_path}/a-file/cc.db")
    assert r.returncode == 2, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert out["exit_code"] == 2 and out["error"]


def test_escalating_at_the_top_level_says_it_is_the_highest(db: str) -> None:
    act = ok(cc("incident", "activate", "PLAN-MAJOR-L4", "--location", "U-210", "--json", db=db))
    assert act["announced"] and all(a["channel"] == "pa" for a in act["announced"])
    assert all(n["channel"] != "pa" for n in act["notified"])
    r = cc("incident", "escalate", act["code"], db=db)
    assert r.returncode == 1
    assert f"incident {act['id']} is at L4, already the highest level; there is no plan to " \
           "escalate to" in r.stderr


def test_text_output_follows_the_language_option(db: str) -> None:
    act = ok(cc("incident", "activate", "PLAN-GAS-L1", "--location", "U-210", "--json", db=db))
    en = cc("--lang", "en", "incident", "status", act["code"], db=db)
    assert en.returncode == 0, en.stderr
    assert "Flammable gas leak - shift-level on-site response" in en.stdout
    assert "Confirm the alarm" in en.stdout and "报警确认" not in en.stdout
    assert "[Shift leader 0/1, Field operator 0/1]" in en.stdout
    leader = next(p for p in act["notified"] if p["person"] == act["commander"])
    site = load_site(REPO)
    assert f"{act['commander']:<14} {site.people[act['commander']].name_en}" in en.stdout
    zh = cc("incident", "status", act["code"], "--lang", "zh", db=db)
    assert "可燃气体泄漏班组级现场处置方案" in zh.stdout and "[值班长 0/1, 外操 0/1]" in zh.stdout
    assert f"{act['commander']:<14} {leader['name']}" in zh.stdout
    listed = cc("incident", "list", "--lang", "en", db=db)
    assert "Flammable gas leak" in listed.stdout


def test_a_reader_that_stops_early_ends_the_output_quietly(db: str) -> None:
    act = ok(cc("incident", "activate", "PLAN-FIRE-L3", "--location", "U-210", "--json", db=db))
    cmd = [sys.executable, "-m", "commandcenter", "--db", db, "incident", "status", act["id"],
           "--json"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| head` that has read enough, before anything is written
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(60) == 141, err  # 128 + SIGPIPE, quietly
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_status_reports_channels_that_serve_nobody(db: str) -> None:
    env = {"COMMANDCENTER_NOTIFY": json.dumps(
        {"webhooks": [{"kind": "webhook", "url": "http://127.0.0.1:9/hook"}]})}
    act = ok(cc("incident", "activate", "PLAN-GAS-L1", "--location", "U-210", "--json", db=db,
                env=env))
    status = ok(cc("incident", "status", act["id"], "--json", db=db, env=env))
    channels = status["channels"]
    assert channels["configured"] == ["webhook"] and channels["unused"] == ["webhook"]
    assert set(channels["unserved"]) >= {"sms"}
    text = cc("incident", "status", act["id"], db=db, env=env)
    assert "warning: delivery channel webhook is configured but nobody on the roster lists " \
           "it: it sends nothing" in text.stdout


def test_a_bad_notify_setting_names_one_clean_path(db: str) -> None:
    env = {"COMMANDCENTER_NOTIFY": json.dumps({"webhooks": [{"kind": "pager",
                                                             "url": "http://x/"}]})}
    r = cc("incident", "list", db=db, env=env)
    assert r.returncode == 2
    assert "commandcenter: $COMMANDCENTER_NOTIFY: notify.webhooks.0.kind: Input should be " \
           "'wecom', 'dingtalk', 'feishu' or 'webhook'" in r.stderr


def test_ack_of_someone_not_called_is_refused(db: str) -> None:
    act = ok(cc("incident", "activate", "PLAN-GAS-L1", "--location", "30.8,121.4", "--json",
                db=db))
    called = {n["person"] for n in act["notified"]}
    stranger = next(p for p in ("DH1001", "DH1002", "DH1003", "DH1050") if p not in called)
    r = cc("incident", "ack", act["id"], stranger, db=db)
    assert r.returncode == 1 and f"{stranger} was not called" in r.stderr


class Receiver:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.counts[body["message_id"]] += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_serve_sends_what_the_cli_activated(tmp_path: Path, db: str,
                                            receiver: Receiver) -> None:
    site = tmp_path / "site"
    for folder in ("maps", "resources", "plans", "drills"):
        shutil.copytree(REPO / folder, site / folder)
    roster = site / "resources" / "roster.yaml"
    lines = roster.read_text(encoding="utf-8").splitlines()
    lines = ["  channels: [webhook, phone]" if ln.startswith("  channels:") else ln
             for ln in lines]
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {"COMMANDCENTER_NOTIFY": json.dumps(
        {"webhooks": [{"kind": "webhook", "url": receiver.url}]})}

    # Activated before the service runs: queued now, sent once it starts.
    before = ok(cc("incident", "activate", "PLAN-GAS-L1", "--location", "30.8,121.4",
                   "--json", db=db, site=site, env=env))
    serve = subprocess.Popen(
        [sys.executable, "-m", "commandcenter", "--db", db, "--site", str(site), "serve"],
        cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        wanted = {n["message_id"] for n in before["notified"]}
        deadline = time.monotonic() + 60
        while not wanted <= set(receiver.counts):
            assert time.monotonic() < deadline, "serve did not send the earlier activation"
            assert serve.poll() is None, serve.communicate()[1]
            time.sleep(0.05)
        # Activated while the service runs: picked up from the log and sent within seconds.
        t0 = time.monotonic()
        during = ok(cc("incident", "activate", "PLAN-FIRE-L2", "--location", "30.8,121.4",
                       "--json", db=db, site=site, env=env))
        wanted |= {n["message_id"] for n in during["notified"]}
        while not wanted <= set(receiver.counts):
            assert time.monotonic() - t0 < 30, "serve did not pick up the CLI's activation"
            time.sleep(0.05)
        time.sleep(1.0)
    finally:
        serve.send_signal(signal.SIGINT)
        _out, err = serve.communicate(timeout=30)
    assert serve.returncode == 0, err
    assert set(receiver.counts) == wanted
    assert set(receiver.counts.values()) == {1}
    status = ok(cc("incident", "status", during["id"], "--json", db=db, site=site))
    assert all(p["channels"]["webhook"]["state"] == "sent" for p in status["people"])
