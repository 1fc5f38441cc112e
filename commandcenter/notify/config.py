"""Settings of the delivery channels: GSM modem, chat robots, SMTP, PA.

Plain pydantic models with defaults; the application's settings file nests
:class:`NotifySettings` (for example under ``[notify]``). Every model forbids unknown keys, so
a misspelt setting is an error that names it instead of being ignored.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

WebhookKind = Literal["wecom", "dingtalk", "feishu", "webhook"]

WEBHOOK_RATE_PER_MIN: dict[str, float] = {"wecom": 20.0, "dingtalk": 20.0, "feishu": 100.0}
"""Default posts per minute per kind: WeCom and DingTalk group robots take 20 a minute,
Feishu/Lark custom robots 100 a minute (5 a second); a generic webhook is not paced."""


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_url(v: str) -> str:
    if not re.match(r"^https?://[^\s/]+", v):
        raise ValueError(f"{v!r} is not an http:// or https:// URL")
    return v


def parse_hex_bytes(text: str) -> bytes:
    """Read ``"A0 01 01 A2"`` (spaces, colons or nothing between bytes) as bytes."""
    digits = re.sub(r"[\s:,-]", "", text)
    if digits.lower().startswith("0x"):
        digits = digits[2:]
    if not digits or len(digits) % 2 or not re.fullmatch(r"[0-9A-Fa-f]+", digits):
        raise ValueError(f"{text!r} is not a string of hex bytes such as 'A0 01 01 A2'")
    return bytes.fromhex(digits)


class ModemSettings(_Settings):
    """A GSM modem on a serial port (AT commands, SMS text mode)."""

    port: str = Field(description="Serial port or pyserial URL: /dev/ttyUSB2, COM5, "
                                  "/dev/serial/by-id/…, socket://host:port.")
    baudrate: int = Field(115200, gt=0, description="Line speed (ignored by USB modems).")
    rate_per_min: float = Field(
        12.0, gt=0, le=60,
        description="SMS per minute the modem really manages (10–20 is typical); each part "
                    "of a split message counts.")
    smsc: str | None = Field(None, description="SMS centre number (AT+CSCA); default: the "
                                               "SIM's own.")
    charset: Literal["UCS2", "auto"] = Field(
        "UCS2", description="UCS2: every SMS in UCS2 (any text, Chinese; 70 characters per "
                            "SMS). auto: plain-ASCII texts go in the GSM alphabet (160 per "
                            "SMS), the rest in UCS2.")
    max_parts: int = Field(3, ge=1, le=10,
                           description="A longer text is split into at most this many SMS, "
                                       "each marked (1/3), (2/3) …; the rest is cut.")
    delivery_reports: bool = Field(True, description="Ask the network for delivery reports.")
    command_timeout_s: float = Field(5.0, gt=0, description="Wait for an answer to a command.")
    prompt_timeout_s: float = Field(5.0, gt=0,
                                    description="Wait for the '> ' prompt after AT+CMGS.")
    send_timeout_s: float = Field(60.0, gt=0,
                                  description="Wait for +CMGS after the text (the network "
                                              "can take tens of seconds).")
    health_interval_s: float = Field(30.0, gt=0,
                                     description="Check that the modem answers AT this often.")
    reconnect_initial_s: float = Field(1.0, gt=0, description="First wait before reopening a "
                                                              "lost port; doubles each time.")
    reconnect_max_s: float = Field(60.0, gt=0, description="Longest wait between reopen "
                                                           "attempts.")

    @field_validator("smsc")
    @classmethod
    def _smsc(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"\+?\d{3,20}", v):
            raise ValueError(f"{v!r} is not an SMS centre number (digits, optional +)")
        return v

    @model_validator(mode="after")
    def _backoff(self) -> ModemSettings:
        if self.reconnect_max_s < self.reconnect_initial_s:
            raise ValueError("reconnect_max_s must not be below reconnect_initial_s")
        return self


class WebhookTarget(_Settings):
    """One chat robot or HTTP endpoint."""

    kind: WebhookKind = Field(description="wecom (企业微信 group robot), dingtalk (钉钉 robot), "
                                          "feishu (飞书/Lark robot) or webhook (generic JSON).")
    url: str = Field(description="The robot's webhook address, key or token included.")
    secret: SecretStr | None = Field(
        None, description="Signing secret: DingTalk 加签 (SEC…), Feishu 签名校验, or the "
                          "HMAC-SHA256 key of the generic webhook.")
    timeout_s: float = Field(10.0, gt=0, description="Wait this long for the server's answer.")
    mention: bool = Field(True, description="@-mention the person's mobile (WeCom, DingTalk).")
    rate_per_min: float | None = Field(
        None, gt=0, le=6000,
        description="Posts per minute at most. Default: 20 for WeCom and DingTalk group "
                    "robots (their limit), 100 for Feishu, no limit for a generic webhook.")
    group: bool = Field(
        True, description="Chat robots: post one message mentioning everyone of a stage "
                          "who is due at the same time, instead of one post per person.")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v)

    @property
    def effective_rate_per_min(self) -> float | None:
        """Posts per minute this target allows (``None``: no pacing)."""
        if self.rate_per_min is not None:
            return self.rate_per_min
        return WEBHOOK_RATE_PER_MIN.get(self.kind)


class SmtpSettings(_Settings):
    """An SMTP server for e-mail."""

    host: str = Field(min_length=1)
    port: int | None = Field(None, gt=0, lt=65536,
                             description="Default: 465 with ssl, 587 with starttls, else 25.")
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(description="From address, e.g. 'Command Center <cc@plant.example>'.")
    timeout_s: float = Field(15.0, gt=0)
    subject_prefix: str = Field("", description="Put before every subject, e.g. '[应急]'.")
    health_interval_s: float = Field(60.0, gt=0,
                                     description="Check that the server answers this often.")

    @property
    def effective_port(self) -> int:
        """The port to connect to."""
        if self.port is not None:
            return self.port
        return {"ssl": 465, "starttls": 587}.get(self.security, 25)

    @model_validator(mode="after")
    def _login(self) -> SmtpSettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together: give both or neither")
        if "@" not in self.sender:
            raise ValueError(f"sender {self.sender!r} holds no e-mail address")
        return self


class RelaySettings(_Settings):
    """A serial relay board that switches a siren or beacon (e.g. LCUS-1 USB relay)."""

    port: str = Field(description="Serial port or pyserial URL.")
    baudrate: int = Field(9600, gt=0)
    on_hex: str = Field("A0 01 01 A2", description="Bytes that close the relay, as hex.")
    off_hex: str = Field("A0 01 00 A1", description="Bytes that open the relay, as hex.")
    pulse_s: float = Field(10.0, gt=0, le=600, description="How long the siren sounds.")

    @field_validator("on_hex", "off_hex")
    @classmethod
    def _hex(cls, v: str) -> str:
        parse_hex_bytes(v)
        return v

    @property
    def on_bytes(self) -> bytes:
        """The frame that switches the relay on."""
        return parse_hex_bytes(self.on_hex)

    @property
    def off_bytes(self) -> bytes:
        """The frame that switches the relay off."""
        return parse_hex_bytes(self.off_hex)


class PaSettings(_Settings):
    """Public address / siren: a relay pulse, an announcement command, or both (relay first)."""

    relay: RelaySettings | None = None
    command: tuple[str, ...] | None = Field(
        None, description="Program and arguments, no shell. {text}, {code} and {message_id} in "
                          "an argument are replaced; without {text} anywhere the text is added "
                          "as the last argument.")
    command_timeout_s: float = Field(60.0, gt=0)

    @field_validator("command")
    @classmethod
    def _command(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is not None and (not v or not v[0]):
            raise ValueError("command needs at least the program to run")
        return v

    @model_validator(mode="after")
    def _something(self) -> PaSettings:
        if self.relay is None and self.command is None:
            raise ValueError("PA needs a relay, a command, or both")
        return self


class NotifySettings(_Settings):
    """Every delivery channel; a missing section means that channel is not used."""

    modem: ModemSettings | None = None
    webhooks: tuple[WebhookTarget, ...] = ()
    smtp: SmtpSettings | None = None
    pa: PaSettings | None = None

    @field_validator("webhooks")
    @classmethod
    def _one_per_kind(cls, v: tuple[WebhookTarget, ...]) -> tuple[WebhookTarget, ...]:
        kinds = [t.kind for t in v]
        dup = sorted({k for k in kinds if kinds.count(k) > 1})
        if dup:
            raise ValueError(f"one webhook target per kind; {', '.join(dup)} given twice")
        return v
