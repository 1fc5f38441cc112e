"""Helpers for the delivery-channel tests: a collecting inbox, polling, a fast send pacer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from commandcenter.core.clock import ScriptedClock
from commandcenter.notify.base import DeliveryReport, InboundMessage, OutgoingMessage


class Inbox:
    """Collects what a channel reports back (async inbound handler, sync report handler)."""

    def __init__(self) -> None:
        self.inbound: list[InboundMessage] = []
        self.reports: list[DeliveryReport] = []

    async def on_inbound(self, msg: InboundMessage) -> None:
        self.inbound.append(msg)

    def on_report(self, report: DeliveryReport) -> None:
        self.reports.append(report)


async def until(cond: Callable[[], object], within_s: float = 5.0) -> None:
    """Wait until ``cond()`` is true (polling every 10 ms) or fail."""
    end = time.monotonic() + within_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {within_s} s")
        await asyncio.sleep(0.01)


def fast_clock() -> tuple[ScriptedClock, Callable[[float], object]]:
    """A scripted clock and a sleep that moves it instead of waiting (for the send pacer)."""
    clock = ScriptedClock()

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    return clock, sleep


def message(text: str = "【A7K】3号罐区氨泄漏，请立即到场。回复“1 A7K”确认到场。", *,
            address: str = "13800138000", priority: int = 1, mid: str = "INC-1-M001",
            channel: str = "sms", phone: str | None = None) -> OutgoingMessage:
    return OutgoingMessage(message_id=mid, person="p-zhang", channel=channel, address=address,
                           text=text, incident_code="A7K", priority=priority, name="张伟",
                           phone=phone, incident_id="INC-1")
