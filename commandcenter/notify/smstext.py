"""SMS text rules: which alphabet a text needs, how it is split, how the modem spells it.

Pure functions, used by :mod:`commandcenter.notify.gsm`.

**Splitting.** A UCS2 SMS holds 70 UTF-16 units (a Chinese character is one unit, an emoji
two); a GSM-alphabet SMS holds 160 septets. A longer text is sent as several plain SMS, each
starting with ``(1/2)``, ``(2/2)`` …, and never splitting a character. They are separate SMS,
not concatenated ones (AT text mode cannot add the concatenation header on most modems), so a
phone shows them as consecutive messages; the marker keeps their order readable. At most
``max_parts`` are sent: a text that needs more is cut at the end of the last part, which then
ends with ``…`` (``...`` in the GSM alphabet). With ``max_parts`` 1 there is no marker.
The core words its SMS texts to fit one UCS2 SMS (:func:`commandcenter.core.notify.message_text`),
so each alert costs the modem one send; splitting is for texts from elsewhere.

**Alphabet.** In ``UCS2`` mode every SMS is UCS2. In ``auto`` mode a text made only of
letters, digits, space and ``!"#%&'()*+,-./:;<=>?`` (plus ``[ ]``, which become ``( )``) goes in
the GSM alphabet; those characters are the same bytes in ASCII and GSM 03.38, so no modem
translates them differently. Anything else (Chinese, ``@``, ``$``, ``_``, accents) makes the
text UCS2.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal

Alphabet = Literal["UCS2", "GSM"]

UCS2_UNITS = 70
GSM_SEPTETS = 160
ELLIPSIS = "…"

_GSM_SAFE = frozenset(string.ascii_letters + string.digits + " !\"#%&'()*+,-./:;<=>?\n\r")
_GSM_TRANSLIT = str.maketrans({"[": "(", "]": ")"})
_NUMBER_CHARS = frozenset("+0123456789*#")


def choose_alphabet(text: str, mode: Literal["UCS2", "auto"]) -> tuple[Alphabet, str]:
    """Return the alphabet for ``text`` and the text as it will be sent."""
    if mode == "auto":
        plain = text.translate(_GSM_TRANSLIT)
        if all(ch in _GSM_SAFE for ch in plain):
            return "GSM", plain
    return "UCS2", text


def _units(ch: str, alphabet: Alphabet) -> int:
    if alphabet == "GSM":
        return 1
    return 2 if ord(ch) > 0xFFFF else 1


def text_units(text: str, alphabet: Alphabet) -> int:
    """Return how many SMS units ``text`` takes (UTF-16 units or septets)."""
    return sum(_units(ch, alphabet) for ch in text)


def split_sms(text: str, alphabet: Alphabet, max_parts: int) -> list[str]:
    """Split ``text`` into the SMS that carry it (see the module notes for the rule)."""
    if max_parts < 1:
        raise ValueError("max_parts must be at least 1")
    limit = UCS2_UNITS if alphabet == "UCS2" else GSM_SEPTETS
    if text_units(text, alphabet) <= limit:
        return [text]
    n = 2
    while True:
        parts = _fill(text, alphabet, limit, n, max_parts)
        if parts is not None:
            return parts
        n += 1


def _fill(text: str, alphabet: Alphabet, limit: int, n: int,
          max_parts: int) -> list[str] | None:
    """Fill ``min(n, max_parts)`` marked parts; ``None`` when ``n`` parts are too few."""
    total = min(n, max_parts)
    chars = list(text)
    parts: list[str] = []
    pos = 0
    for i in range(1, total + 1):
        marker = f"({i}/{total})" if total > 1 else ""
        room = limit - len(marker)
        body: list[str] = []
        used = 0
        while pos < len(chars) and used + _units(chars[pos], alphabet) <= room:
            used += _units(chars[pos], alphabet)
            body.append(chars[pos])
            pos += 1
        parts.append(marker + "".join(body))
    if pos >= len(chars):
        return parts
    if n < max_parts:
        return None
    # Too long even for max_parts: cut the last part and mark the cut.
    tail = ELLIPSIS if alphabet == "UCS2" else "..."
    room = limit - text_units(tail, alphabet)
    last = parts[-1]
    while text_units(last, alphabet) > room:
        last = last[:-1]
    parts[-1] = last + tail
    return parts


def to_ucs2_hex(text: str) -> str:
    """Spell ``text`` the way a modem in ``AT+CSCS="UCS2"`` expects it (UTF-16BE as hex)."""
    return text.encode("utf-16-be").hex().upper()


def from_ucs2_hex(text: str) -> str | None:
    """Read a UCS2 hex string; ``None`` if ``text`` is not one."""
    t = text.strip()
    if not t or len(t) % 4 or any(c not in string.hexdigits for c in t):
        return None
    try:
        return bytes.fromhex(t).decode("utf-16-be")
    except UnicodeDecodeError:
        return None


def decode_number(text: str, alphabet: Alphabet) -> str:
    """Return a phone number as shown by the modem (UCS2 hex in UCS2 mode) in plain digits."""
    if alphabet == "UCS2":
        plain = from_ucs2_hex(text)
        if plain is not None and plain and all(c in _NUMBER_CHARS for c in plain):
            return plain
    return text


def decode_text(text: str, alphabet: Alphabet) -> str:
    """Return a message body as shown by the modem, decoded."""
    if alphabet == "UCS2":
        plain = from_ucs2_hex(text)
        if plain is not None:
            return plain
    return text


def encode_for_modem(text: str, alphabet: Alphabet) -> str:
    """Return ``text`` spelt for the modem's character set (hex in UCS2 mode)."""
    if alphabet == "UCS2":
        return to_ucs2_hex(text)
    return text


def parse_scts(text: str) -> datetime | None:
    """Read an SMS timestamp ``yy/MM/dd,hh:mm:ss±zz`` (zz in quarter hours) as UTC."""
    t = text.strip().strip('"')
    try:
        date, clock = t.split(",")
        sign = 1
        if "+" in clock:
            hms, tz = clock.split("+")
        elif "-" in clock:
            hms, tz = clock.split("-")
            sign = -1
        else:
            hms, tz = clock, "0"
        yy, mo, dd = (int(x) for x in date.split("/"))
        hh, mi, ss = (int(x) for x in hms.split(":"))
        offset = timezone(timedelta(minutes=sign * 15 * int(tz)))
        return datetime(2000 + yy, mo, dd, hh, mi, ss, tzinfo=offset).astimezone(UTC)
    except ValueError:
        return None
