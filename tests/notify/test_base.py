"""SMS text rules, the pacer, health logging, settings and the channel factory."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from commandcenter.core.clock import ScriptedClock
from commandcenter.core.notify import Message, MessageKind
from commandcenter.notify.base import ChannelError, Health, OutgoingMessage, Pacer
from commandcenter.notify.channels import build_channels
from commandcenter.notify.config import (
    ModemSettings,
    NotifySettings,
    PaSettings,
    SmtpSettings,
    WebhookTarget,
)
from commandcenter.notify.gsm import GsmModem, normalise_number, status_report_meaning
from commandcenter.notify.pa import PaChannel
from commandcenter.notify.smstext import (
    choose_alphabet,
    decode_number,
    decode_text,
    parse_scts,
    split_sms,
    text_units,
    to_ucs2_hex,
)
from commandcenter.notify.smtp import SmtpChannel
from commandcenter.notify.webhook import WebhookChannel

from .conftest import fast_clock


def strip_marker(part: str) -> str:
    return part[part.index(")") + 1:]


def test_short_text_is_one_unmarked_sms() -> None:
    assert split_sms("收到" * 35, "UCS2", 3) == ["收到" * 35]
    assert split_sms("x" * 160, "GSM", 3) == ["x" * 160]


def test_emoji_count_twice_and_are_never_split() -> None:
    text = "🚨" * 40  # 80 UTF-16 units
    parts = split_sms(text, "UCS2", 3)
    assert len(parts) == 2
    assert all(text_units(p, "UCS2") <= 70 for p in parts)
    assert "".join(strip_marker(p) for p in parts) == text


@given(st.text(alphabet=st.sampled_from("氨泄漏到场🚨 A1"), max_size=400),
       st.integers(min_value=1, max_value=6))
def test_parts_fit_and_carry_the_text_or_a_marked_cut(text: str, max_parts: int) -> None:
    parts = split_sms(text, "UCS2", max_parts)
    assert 1 <= len(parts) <= max_parts
    assert all(text_units(p, "UCS2") <= 70 for p in parts)
    if len(parts) == 1 and text_units(text, "UCS2") <= 70:
        assert parts == [text]
        return
    bodies = [strip_marker(p) if len(parts) > 1 else p for p in parts]
    joined = "".join(bodies)
    if joined.endswith("…") and not text.endswith("…"):
        assert text.startswith(joined[:-1])
        assert text_units(text, "UCS2") > 70
    else:
        assert joined == text
    if len(parts) > 1:
        assert [p[:p.index(")") + 1] for p in parts] == [f"({i}/{len(parts)})"
                                                         for i in range(1, len(parts) + 1)]


def test_gsm_cut_uses_three_dots() -> None:
    parts = split_sms("a" * 1000, "GSM", 2)
    assert len(parts) == 2 and parts[1].endswith("...") and len(parts[1]) == 160


def test_alphabet_choice() -> None:
    assert choose_alphabet("[A7K] Reply 1 A7K", "auto") == ("GSM", "(A7K) Reply 1 A7K")
    assert choose_alphabet("mail me@x", "auto") == ("UCS2", "mail me@x")
    assert choose_alphabet("plain", "UCS2") == ("UCS2", "plain")


def test_ucs2_round_trip_and_numbers() -> None:
    assert to_ucs2_hex("收到") == "65365230"
    assert decode_text(to_ucs2_hex("1 A7K 收到🚨"), "UCS2") == "1 A7K 收到🚨"
    assert decode_number(to_ucs2_hex("+8613800138000"), "UCS2") == "+8613800138000"
    # A plain 12-digit number is hex-shaped but does not decode to digits: kept as it is.
    assert decode_number("861380013800", "UCS2") == "861380013800"
    assert decode_text("hello", "GSM") == "hello"


def test_sms_timestamps() -> None:
    assert parse_scts('"26/03/05,14:30:00+32"') == datetime(2026, 3, 5, 6, 30, tzinfo=UTC)
    assert parse_scts("26/03/05,14:30:00-08") == datetime(2026, 3, 5, 16, 30, tzinfo=UTC)
    assert parse_scts("garbage") is None


def test_status_report_meanings() -> None:
    assert status_report_meaning(0) == (True, "delivered")
    assert status_report_meaning(0x30)[0] is None
    assert status_report_meaning(0x62) == (False, "status 0x62: no response from recipient")


def test_numbers() -> None:
    assert normalise_number("+86 138-0013-8000") == "+8613800138000"
    assert normalise_number("p-zhang") is None


def test_pacer_spaces_concurrent_callers() -> None:
    clock, sleep = fast_clock()

    async def main() -> list[float]:
        pacer = Pacer(20, clock, sleep)  # type: ignore[arg-type]
        return list(await asyncio.gather(*(pacer.wait() for _ in range(4))))

    assert asyncio.run(main()) == [0.0, 3.0, 6.0, 9.0]
    with pytest.raises(ChannelError):
        Pacer(0, clock)


def test_pacer_does_not_wait_after_a_quiet_spell() -> None:
    clock = ScriptedClock()
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)
        clock.advance(s)

    async def main() -> None:
        pacer = Pacer(12, clock, sleep)
        await pacer.wait()
        clock.advance(60)
        await pacer.wait()
        await pacer.wait()

    asyncio.run(main())
    assert slept == [5.0]


def test_health_logs_once_down_and_once_back(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("commandcenter.notify.test")
    changes: list[bool] = []
    h = Health("GSM modem /dev/ttyX", log, changes.append)
    with caplog.at_level(logging.INFO, logger="commandcenter.notify.test"):
        h.mark_down("cannot open")
        h.mark_down("cannot open")
        h.mark_down("still cannot open")
        h.mark_up()
        h.mark_up()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "GSM modem /dev/ttyX is down: cannot open"),
        ("INFO", "GSM modem /dev/ttyX is back up")]
    assert changes == [False, True]
    assert h.up and h.reason is None


def test_outgoing_message_from_an_outbox_message() -> None:
    m = Message(id="INC-1-M004", incident_id="INC-1", person="p-li", name="李强",
                channel="sms", address="139 0000 0001", channels=("sms", "wecom"),
                text="【A7K】…", kind=MessageKind.ALERT, plan="P-NH3", stage=1, priority=1,
                seq=9, queued_at=datetime(2026, 1, 1, tzinfo=UTC))
    out = OutgoingMessage.from_message(m, "A7K")
    assert out == OutgoingMessage(message_id="INC-1-M004", person="p-li", channel="sms",
                                  address="139 0000 0001", text="【A7K】…",
                                  incident_code="A7K", priority=1, name="李强",
                                  phone="139 0000 0001", incident_id="INC-1")
    with pytest.raises(AttributeError):
        out.text = "x"  # type: ignore[misc]


def test_modem_settings_validation() -> None:
    s = ModemSettings(port="/dev/ttyUSB2")
    assert (s.rate_per_min, s.charset, s.baudrate) == (12.0, "UCS2", 115200)
    with pytest.raises(ValidationError, match="rate_per_min"):
        ModemSettings(port="x", rate_per_min=0)
    with pytest.raises(ValidationError, match="not an SMS centre number"):
        ModemSettings(port="x", smsc="SMSC")
    with pytest.raises(ValidationError, match="reconnect_max_s must not be below"):
        ModemSettings(port="x", reconnect_initial_s=10, reconnect_max_s=1)
    with pytest.raises(ValidationError, match="Extra inputs"):
        ModemSettings(port="x", baud=9600)  # type: ignore[call-arg]


def test_build_channels_from_settings() -> None:
    settings = NotifySettings.model_validate({
        "modem": {"port": "socket://127.0.0.1:7000"},
        "webhooks": [{"kind": "wecom", "url": "https://qyapi.weixin.qq.com/x?key=k"},
                     {"kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send",
                      "secret": "SEC1"}],
        "smtp": {"host": "mail.plant.example", "sender": "cc@plant.example"},
        "pa": {"command": ["aplay", "{text}"]},
    })
    chans = build_channels(settings)
    assert sorted(chans) == ["dingtalk", "email", "pa", "sms", "wecom"]
    assert isinstance(chans["sms"], GsmModem)
    assert isinstance(chans["wecom"], WebhookChannel)
    assert isinstance(chans["email"], SmtpChannel)
    assert isinstance(chans["pa"], PaChannel)
    assert all(c.kind == k for k, c in chans.items())
    assert build_channels(NotifySettings()) == {}
    assert "SEC1" not in repr(settings)
    assert isinstance(settings.pa, PaSettings) and isinstance(settings.smtp, SmtpSettings)
    assert isinstance(settings.webhooks[0], WebhookTarget)
