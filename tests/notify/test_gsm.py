"""The GSM modem channel against a simulated modem on a pty."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import tty
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from commandcenter.core.clock import ScriptedClock
from commandcenter.notify.base import DeliveryChannel, SendStatus
from commandcenter.notify.config import ModemSettings
from commandcenter.notify.gsm import GsmModem, explain_cms

from .conftest import Inbox, message, until
from .gsm_simulator import GsmSimulator, ucs2

ALERT = "【A7K】3号罐区氨泄漏，请立即到场。回复“1 A7K”确认到场，“2 A7K”不能到场。"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[GsmSimulator]:
    with GsmSimulator(tmp_path, ScriptedClock()) as s:
        yield s


def make_modem(sim: GsmSimulator, **kw: Any) -> GsmModem:
    opts: dict[str, Any] = dict(port=str(sim.path), command_timeout_s=2.0, prompt_timeout_s=2.0,
                                send_timeout_s=2.0, reconnect_initial_s=0.05,
                                reconnect_max_s=0.2, rate_per_min=12)
    opts.update(kw)
    clock = sim.clock
    assert isinstance(clock, ScriptedClock)

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    return GsmModem(ModemSettings(**opts), clock, sleep=sleep)


def scenario(sim: GsmSimulator, body: Callable[[GsmModem, Inbox], Awaitable[None]],
             **kw: Any) -> Inbox:
    inbox = Inbox()

    async def main() -> None:
        modem = make_modem(sim, **kw)
        await modem.start(inbox.on_inbound, inbox.on_report)
        try:
            await asyncio.wait_for(body(modem, inbox), 20)
        finally:
            await modem.stop()

    asyncio.run(main())
    return inbox


def test_is_a_delivery_channel(sim: GsmSimulator) -> None:
    assert isinstance(make_modem(sim), DeliveryChannel)


def test_initialises_the_modem_for_text_mode_ucs2_and_reports(sim: GsmSimulator) -> None:
    async def body(modem: GsmModem, inbox: Inbox) -> None:
        assert modem.is_up()

    scenario(sim, body, smsc="+8613800210500")
    cmds = sim.commands
    order = ["AT", "ATE0", "AT+CMEE=1", "AT+CPIN?", "AT+CREG?", "AT+CSQ", "AT+CMGF=1",
             'AT+CSCS="GSM"',
             'AT+CSCA="+8613800210500"', 'AT+CSCS="UCS2"', "AT+CSMP=49,167,0,8",
             "AT+CNMI=2,1,0,1,0", 'AT+CMGL="ALL"']
    assert [c for c in cmds if c in order] == order
    assert sim.smsc == "+8613800210500"


@pytest.mark.parametrize(("fault", "value", "reason"), [
    ("sim", None, "no SIM: AT+CPIN? → +CME ERROR: 10 (SIM not inserted)"),
    ("sim", "SIM PIN", "no SIM ready: AT+CPIN? → SIM PIN (the SIM needs its PIN entered, or "
                       "is blocked)"),
    ("creg", 2, "not registered on the network: not registered, searching (AT+CREG? → 0,2)"),
    ("creg", 3, "not registered on the network: registration denied (AT+CREG? → 0,3)"),
    ("csq", 99, "no signal: AT+CSQ → 99,99 (antenna, or no coverage here)"),
])
def test_a_modem_that_answers_but_cannot_send_is_down_and_says_why(
        sim: GsmSimulator, fault: str, value: Any, reason: str) -> None:
    setattr(sim.faults, fault, value)

    async def body(modem: GsmModem, inbox: Inbox) -> None:
        assert not modem.is_up()
        assert modem.health.reason == reason
        res = await modem.send(message())
        assert res.status is SendStatus.FAILED
        assert res.reason == f"GSM modem is down: {reason}"
        assert sim.sent == []
        setattr(sim.faults, fault, {"sim": "READY", "creg": 5, "csq": 12}[fault])
        await until(modem.is_up)  # found again by the reconnect
        assert (await modem.send(message())).ok

    scenario(sim, body)


def test_a_lost_network_is_found_by_the_health_probe(sim: GsmSimulator) -> None:
    async def body(modem: GsmModem, inbox: Inbox) -> None:
        assert modem.is_up() and modem.signal == 21
        sim.faults.creg = 0
        await until(lambda: not modem.is_up())
        assert modem.health.reason == ("not registered on the network: not registered, not "
                                       "searching (AT+CREG? → 0,0)")
        sim.faults.creg = 1
        sim.faults.csq = 99
        await until(lambda: "no signal" in (modem.health.reason or ""))
        sim.faults.csq = 8
        await until(modem.is_up)
        assert modem.signal == 8

    scenario(sim, body, health_interval_s=0.2)


def test_chinese_sms_is_sent_in_ucs2_and_its_delivery_reported(sim: GsmSimulator) -> None:
    async def body(modem: GsmModem, inbox: Inbox) -> None:
        res = await modem.send(message(ALERT))
        assert res.status is SendStatus.ACCEPTED and res.ref == "1"
        await until(lambda: inbox.reports)

    inbox = scenario(sim, body)
    assert len(ALERT) <= 70
    [sms] = sim.sent
    assert (sms.number, sms.text, sms.dcs, sms.status_report) == ("13800138000", ALERT, 8, True)
    assert f'AT+CMGS="{ucs2("13800138000")}"' in sim.commands
    [rep] = inbox.reports
    assert (rep.ref, rep.delivered, rep.message_id, rep.channel) == ("1", True, "INC-1-M001",
                                                                    "sms")
    assert rep.at == datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)


def test_long_text_goes_as_marked_parts_with_one_report(sim: GsmSimulator) -> None:
    text = "【A7K】" + "氨泄漏请立即到场" * 15  # 125 characters: two parts

    async def body(modem: GsmModem, inbox: Inbox) -> None:
        res = await modem.send(message(text))
        assert res.ok and res.ref == "1,2"
        await until(lambda: inbox.reports)
        await asyncio.sleep(0.1)

    inbox = scenario(sim, body)
    parts = [s.text for s in sim.sent]
    assert [p[:5] for p in parts] == ["(1/2)", "(2/2)"]
    assert all(len(p) <= 70 for p in parts)
    assert "".join(p[5:] for p in parts) == text
    assert [(r.ref, r.delivered) for r in inbox.reports] == [("1,2", True)]


def test_text_beyond_max_parts_is_cut_with_an_ellipsis(sim: GsmSimulator) -> None:
    async def body(modem: GsmModem, inbox: Inbox) -> None:
        assert (await modem.send(message("泄" * 300))).ok

    scenario(sim, body, max_parts=2)
    assert [len(s.text) for s in sim.sent] == [70, 70]
    assert sim.sent[1].text.startswith("(2/2)") and sim.sent[1].text.endswith("…")


def test_plain_ascii_goes_in_the_gsm_alphabet_in_auto_mode(sim: GsmSimulator) -> None:
    async def body(modem: GsmModem, inbox: Inbox) -> None:
        assert (await modem.send(message("[A7K] Ammonia leak at tank 3. Reply 1 A7K."))).ok
        assert (await modem.send(message("氨泄漏"))).ok

    scenario(sim, body, charset="auto")
    assert [(s.text, s.dcs) for s in sim.sent] == [
        ("(A7K) Ammonia leak at tank 3. Reply 1 A7K.", 0), ("氨泄漏", 8)]
    assert 'AT+CMGS="13800138000"' in sim.commands


@pytest.mark.parametrize(("where", "code", "words"), [
    ("before", 330, "SMS centre (SMSC) address unknown"),
    ("after", 38, "network out of order"),
    ("after", 500, "unknown error"),
])
def test_cms_error_is_a_definite_failure_explained(sim: GsmSimulator, where: str, code: int,
                                                   words: str) -> None:
    if where == "before":
        sim.faults.cms_before_prompt = code
    else:
        sim.faults.cms_after_text = code

    async def body(modem: GsmModem, inbox: Inbox) -> None:
        res = await modem.send(message())
        assert res.status is SendStatus.FAILED
        assert res.reason == f"+CMS ERROR {code}: {words}"
        assert modem.is_up()
        sim.faults.cms_before_prompt = sim.faults.cms_after_text = None
        assert (await modem.send(message())).ok

    scenario(sim, body)


def test_verbose_cms_error_text_is_kept() -> None:
    assert explain_cms(" SMSC address unknown") == "+CMS ERROR: SMSC address unknown"
    assert explain_cms("999") == "+CMS ERROR 999: error not listed in 3GPP TS 27.005"


def test_no_prompt_aborts_with_esc_and_fails(sim: GsmSimulator) -> None:
    sim.faults.no_prompt = True

    async def body(modem: GsmModem, inbox: Inbox) -> None:
        res = await modem.send(message())
        assert res.status is SendStatus.FAILED
        assert res.reason is not None and "no '> ' prompt" in res.reason
        assert sim.aborted == 1
        sim.faults.no_prompt = False
        assert (await modem.send(message())).ok

    scenario(sim, body, prompt_timeout_s=0.5)
    assert len(sim.sent) == 1


def test_silence_after_ctrl_z_is_unknown_and_the_modem_is_usable_again(
        sim: GsmSimulator) -> None:
    sim.faults.silent_after_text = True

    async def body(modem: GsmModem, inbox: Inbox) -> None:
        res = await modem.send(message())
        assert res.status is SendStatus.UNKNOWN
        assert res.reason is not None and "may have been sent" in res.reason
        sim.faults.silent_after_text = False
        assert (await modem.send(message())).ok
        assert modem.is_up()

    scenario(sim, body, send_timeout_s=0.5)


def test_port_vanishing_mid_send_fails_then_reconnects(sim: GsmSimulator,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    sim.faults.vanish_on_cmgs = True

    async def body(modem: GsmModem, inbox: Inbox) -> None:
        res = await modem.send(message())
        assert res.status is SendStatus.FAILED
        assert res.reason is not None and "lost" in res.reason
        await until(lambda: not modem.is_up())
        down = await modem.send(message())
        assert down.status is SendStatus.FAILED and "down" in (down.reason or "")
        await asyncio.sleep(0.5)  # several reconnect attempts against a missing port
        sim.faults.vanish_on_cmgs = False
        sim.restore()
        await until(modem.is_up)
        assert (await modem.send(message())).ok

    with caplog.at_level(logging.INFO, logger="commandcenter.notify"):
        scenario(sim, body)
    assert len(sim.sent) == 1
    ours = [(r.levelname, r.getMessage()) for r in caplog.records
            if r.name == "commandcenter.notify.gsm"]
    downs = [m for lvl, m in ours if lvl == "WARNING" and "is down" in m]
    ups = [m for lvl, m in ours if "back up" in m]
    assert len(downs) == 1 and len(ups) == 1, ours


def test_port_vanishing_after_the_text_is_unknown(sim: GsmSimulator) -> None:
    sim.faults.vanish_after_text = True

    async def body(modem: GsmModem, inbox: Inbox) -> None:
        res = await modem.send(message())
        assert res.status is SendStatus.UNKNOWN

    scenario(sim, body)


def test_a_missing_modem_does_not_stop_start_and_is_picked_up_later(tmp_path: Path) -> None:
    sim = GsmSimulator(tmp_path, ScriptedClock())

    async def main() -> None:
        modem = make_modem(sim)
        await modem.start()
        try:
            assert not modem.is_up()
            res = await modem.send(message())
            assert res.status is SendStatus.FAILED and "cannot open" in (res.reason or "")
            sim.start()
            await until(modem.is_up)
            assert (await modem.send(message())).ok
        finally:
            await modem.stop()
            sim.stop()

    asyncio.run(main())


def test_a_silent_device_is_down_after_three_ats(tmp_path: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)

    async def main() -> None:
        modem = GsmModem(ModemSettings(port=path, command_timeout_s=0.2,
                                       reconnect_initial_s=5, reconnect_max_s=5))
        await modem.start()
        try:
            assert not modem.is_up()
            assert modem.health.reason is not None
            assert "does not answer AT" in modem.health.reason
        finally:
            await modem.stop()

    try:
        asyncio.run(main())
    finally:
        os.close(master)
        os.close(slave)


def test_a_hung_modem_is_found_by_the_health_probe_and_reopened(sim: GsmSimulator) -> None:
    async def body(modem: GsmModem, inbox: Inbox) -> None:
        assert modem.is_up()
        sim.faults.mute = True
        await until(lambda: not modem.is_up())
        assert "does not answer AT" in (modem.health.reason or "")
        sim.faults.mute = False
        await until(modem.is_up)

    scenario(sim, body, health_interval_s=0.2, command_timeout_s=0.3)


def test_inbound_sms_is_read_decoded_handed_over_and_deleted(sim: GsmSimulator) -> None:
    async def body(modem: GsmModem, inbox: Inbox) -> None:
        sim.inject_sms("+8613800138000", "1 A7K 收到")
        await until(lambda: inbox.inbound)
        await until(lambda: not sim.storage)

    inbox = scenario(sim, body)
    [msg] = inbox.inbound
    assert (msg.channel, msg.address, msg.text) == ("sms", "+8613800138000", "1 A7K 收到")
    assert msg.received_at == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert "AT+CMGD=1" in sim.commands


def test_messages_left_on_the_sim_are_read_at_start(sim: GsmSimulator) -> None:
    sim.inject_sms("13900000001", "2 A7K", notify=False, stat="REC READ")
    sim.inject_sms("13900000002", "是", notify=False)

    async def body(modem: GsmModem, inbox: Inbox) -> None:
        await until(lambda: len(inbox.inbound) == 2 and not sim.storage)

    inbox = scenario(sim, body)
    assert [(m.address, m.text) for m in inbox.inbound] == [("13900000001", "2 A7K"),
                                                            ("13900000002", "是")]


def test_an_empty_sms_is_read_as_empty_text(sim: GsmSimulator) -> None:
    async def body(modem: GsmModem, inbox: Inbox) -> None:
        sim.inject_sms("13900000005", "")
        await until(lambda: inbox.inbound and not sim.storage)

    inbox = scenario(sim, body)
    assert [(m.address, m.text) for m in inbox.inbound] == [("13900000005", "")]


def test_a_failing_handler_leaves_the_message_on_the_sim(
        sim: GsmSimulator, expected_log_errors: list[logging.LogRecord]) -> None:
    sim.inject_sms("13900000001", "1", notify=False)

    async def broken(msg: object) -> None:
        raise RuntimeError("log is full")

    async def main() -> None:
        modem = make_modem(sim)
        await modem.start(broken)
        await modem.stop()

    asyncio.run(main())
    assert 1 in sim.storage
    assert any("stays on the SIM" in r.getMessage() for r in expected_log_errors)


def test_unsolicited_lines_in_the_middle_of_a_send_are_routed(sim: GsmSimulator) -> None:
    async def body(modem: GsmModem, inbox: Inbox) -> None:
        idx = sim.inject_sms("+8613900000003", "确认", notify=False)
        sim.faults.interject = [f'+CMTI: "SM",{idx}', "RING",
                                '+CDS: 6,200,"",129,"26/01/01,08:00:00+32",'
                                '"26/01/01,08:00:09+32",0']
        res = await modem.send(message())
        assert res.ok and res.ref == "1"
        await until(lambda: inbox.inbound and len(inbox.reports) == 2)

    inbox = scenario(sim, body)
    assert [m.text for m in inbox.inbound] == ["确认"]
    by_ref = {r.ref: r for r in inbox.reports}
    assert by_ref["200"].message_id is None and by_ref["200"].delivered
    assert by_ref["1"].message_id == "INC-1-M001"


def test_unsolicited_lines_in_the_middle_of_reading_a_message(sim: GsmSimulator) -> None:
    async def body(modem: GsmModem, inbox: Inbox) -> None:
        sim.faults.interject = ['+CDS: 6,77,"",129,"26/01/01,08:00:00+32",'
                                '"26/01/01,08:00:09+32",70']
        sim.inject_sms("13900000004", "OK")
        await until(lambda: inbox.inbound and inbox.reports)

    inbox = scenario(sim, body)
    assert [m.text for m in inbox.inbound] == ["OK"]
    [rep] = inbox.reports
    assert not rep.delivered and rep.detail == "status 0x46: validity period expired"


def test_failed_delivery_is_reported(sim: GsmSimulator) -> None:
    sim.faults.report_status = 0x41

    async def body(modem: GsmModem, inbox: Inbox) -> None:
        assert (await modem.send(message())).ok
        await until(lambda: inbox.reports)

    inbox = scenario(sim, body)
    [rep] = inbox.reports
    assert (rep.delivered, rep.detail) == (False, "status 0x41: incompatible destination")


def test_a_temporary_status_is_not_a_final_report(sim: GsmSimulator) -> None:
    sim.faults.report_status = 0x21

    async def body(modem: GsmModem, inbox: Inbox) -> None:
        assert (await modem.send(message())).ok
        await asyncio.sleep(0.2)
        sim.unsolicited('+CDS: 6,1,"",129,"26/01/01,08:00:00+32","26/01/01,08:01:00+32",0')
        await until(lambda: inbox.reports)

    inbox = scenario(sim, body)
    assert [(r.ref, r.delivered) for r in inbox.reports] == [("1", True)]


def test_the_queue_keeps_the_modem_rate(sim: GsmSimulator) -> None:
    async def body(modem: GsmModem, inbox: Inbox) -> None:
        results = await asyncio.gather(*(modem.send(message(mid=f"M{i}")) for i in range(4)))
        assert all(r.ok for r in results)

    scenario(sim, body, rate_per_min=12)
    t = sim.cmgs_times
    assert [b - a for a, b in itertools.pairwise(t)] == [5.0, 5.0, 5.0]


def test_parts_of_a_long_text_count_against_the_rate(sim: GsmSimulator) -> None:
    async def body(modem: GsmModem, inbox: Inbox) -> None:
        assert (await modem.send(message("泄" * 100))).ok
        assert (await modem.send(message("短"))).ok

    scenario(sim, body, rate_per_min=20)
    t = sim.cmgs_times
    assert [b - a for a, b in itertools.pairwise(t)] == [3.0, 3.0]


def test_key_roles_go_first_and_fifo_within_a_priority(sim: GsmSimulator) -> None:
    import threading
    gate = threading.Event()
    sim.faults.prompt_gate = gate

    async def body(modem: GsmModem, inbox: Inbox) -> None:
        first = asyncio.create_task(modem.send(message("A", priority=5)))
        await until(sim.cmgs_seen.is_set)
        rest = [asyncio.create_task(modem.send(message(t, priority=p)))
                for t, p in (("B", 3), ("C", 1), ("D", 2), ("E", 1), ("F", 3))]
        await until(lambda: modem.queued() == 5)
        gate.set()
        assert all(r.ok for r in await asyncio.gather(first, *rest))

    scenario(sim, body)
    assert [s.text for s in sim.sent] == ["A", "C", "E", "D", "B", "F"]


def test_bad_number_and_stopped_channel_fail(sim: GsmSimulator) -> None:
    async def main() -> None:
        modem = make_modem(sim)
        res = await modem.send(message())
        assert res.status is SendStatus.FAILED and "not running" in (res.reason or "")
        await modem.start()
        try:
            bad = await modem.send(message(address="zhang@example.com"))
            assert bad.status is SendStatus.FAILED and "not a phone number" in (bad.reason or "")
        finally:
            await modem.stop()

    asyncio.run(main())
    assert sim.sent == []


def test_stop_fails_what_is_still_queued(sim: GsmSimulator) -> None:
    import threading
    gate = threading.Event()
    sim.faults.prompt_gate = gate

    async def main() -> None:
        modem = make_modem(sim, prompt_timeout_s=5)
        await modem.start()
        first = asyncio.create_task(modem.send(message("A")))
        await until(sim.cmgs_seen.is_set)
        second = asyncio.create_task(modem.send(message("B")))
        await until(lambda: modem.queued() == 1)
        await modem.stop()
        gate.set()
        r2 = await second
        assert r2.status is SendStatus.FAILED and "stopped" in (r2.reason or "")
        assert first.cancelled() or (await first).status is not SendStatus.ACCEPTED

    asyncio.run(main())
