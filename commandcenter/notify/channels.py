"""Build the delivery channels the settings ask for."""

from __future__ import annotations

from commandcenter.core.clock import Clock
from commandcenter.notify.base import DeliveryChannel
from commandcenter.notify.config import NotifySettings
from commandcenter.notify.gsm import GsmModem
from commandcenter.notify.pa import PaChannel
from commandcenter.notify.smtp import SmtpChannel
from commandcenter.notify.webhook import WebhookChannel


def build_channels(settings: NotifySettings, clock: Clock | None = None,
                   ) -> dict[str, DeliveryChannel]:
    """Return one channel per configured section, by the ``Channel`` value it serves.

    Nothing is opened or started: call :meth:`DeliveryChannel.start` on each.
    """
    out: dict[str, DeliveryChannel] = {}
    if settings.modem is not None:
        out["sms"] = GsmModem(settings.modem, clock)
    for target in settings.webhooks:
        out[target.kind] = WebhookChannel(target, clock)
    if settings.smtp is not None:
        out["email"] = SmtpChannel(settings.smtp, clock)
    if settings.pa is not None:
        out["pa"] = PaChannel(settings.pa)
    return out


def configured_kinds(settings: NotifySettings) -> list[str]:
    """Return the ``Channel`` values the settings configure a sender for (nothing is opened)."""
    kinds = ["sms"] if settings.modem is not None else []
    kinds += [t.kind for t in settings.webhooks]
    if settings.smtp is not None:
        kinds.append("email")
    if settings.pa is not None:
        kinds.append("pa")
    return kinds
