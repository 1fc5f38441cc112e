"""Events: the immutable facts the whole system is a projection of.

An :class:`Event` is what a producer asks to record; a :class:`RecordedEvent` is what the log made
of it (sequence number, time, hash chain). Hashing is defined here, in the core, so that the store
and any auditor compute it the same way.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first event in a log."""

JsonValue = Any
"""A value that :func:`json.dumps` accepts (dicts, lists, str, int, float, bool, None)."""


@dataclass(frozen=True, slots=True)
class Event:
    """A fact someone wants recorded.

    Attributes:
        type: Dotted event type in the plant's language, e.g. ``"alarm.raised"``.
        source: Who or what produced it (``"operator:zhang.wei"``, ``"gauge:GD-101"``, ``"cli"``).
        payload: JSON-serialisable details.
        incident_id: The incident it belongs to, if any.
        drill_id: The drill it belongs to, if any.
    """

    type: str
    source: str
    payload: Mapping[str, JsonValue] = field(default_factory=dict)
    incident_id: str | None = None
    drill_id: str | None = None


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored in the log, with its place in the hash chain.

    Attributes:
        seq: Position in the log, 1-based, without gaps.
        id: Globally unique id (UUID4 hex).
        ts: When it was recorded (aware UTC), from the injected clock.
        type: See :class:`Event`.
        source: See :class:`Event`.
        payload: See :class:`Event`.
        incident_id: See :class:`Event`.
        drill_id: See :class:`Event`.
        prev_hash: Hash of the event before it (:data:`GENESIS_HASH` for the first).
        hash: SHA-256 over this event's canonical form and ``prev_hash``.
    """

    seq: int
    id: str
    ts: datetime
    type: str
    source: str
    payload: Mapping[str, JsonValue]
    incident_id: str | None
    drill_id: str | None
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, JsonValue]:
        """Return a JSON-ready dict (for the CLI and exports)."""
        return {
            "seq": self.seq,
            "id": self.id,
            "ts": format_ts(self.ts),
            "type": self.type,
            "source": self.source,
            "incident_id": self.incident_id,
            "drill_id": self.drill_id,
            "payload": dict(self.payload),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@functools.lru_cache(maxsize=64)
def format_ts(ts: datetime) -> str:
    """Format an aware datetime as ISO-8601 UTC with microseconds (the canonical form)."""
    offset = ts.utcoffset()
    if offset is None:
        raise ValueError("event times must be timezone-aware")
    if offset:
        ts = ts.astimezone(UTC)
    # isoformat is several times faster than strftime; this runs once per appended event.
    return ts.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


_CANONICAL_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                      allow_nan=False)
# json.dumps with any option builds a new encoder per call; this runs once per appended event.

_SCALARS = frozenset({str, int, float, bool, type(None)})


def canonical_payload(payload: Mapping[str, JsonValue]) -> str:
    """Serialise a payload deterministically (sorted keys, no spaces, UTF-8 kept)."""
    return _CANONICAL_ENCODER.encode(payload)


_ID_BITS = random.Random()
_UUID4_CLEAR = ~((0xF << 76) | (0xC << 60))
_UUID4_SET = (0x4 << 76) | (0x8 << 60)


def _reseed_ids() -> None:
    _ID_BITS.seed(os.urandom(32))


_reseed_ids()
os.register_at_fork(after_in_child=_reseed_ids)  # a forked child must not repeat the parent's ids


def new_event_id() -> str:
    """Return a random version-4 UUID as 32 hex digits (the form of ``uuid.uuid4().hex``).

    Event ids must be unique, not secret: the bits come from a generator seeded with 256 bits
    of OS entropy per process (and again in a forked child), which costs a fraction of a system
    call per id. The hash chain, not the id, is what makes the log tamper-evident.
    """
    return f"{(_ID_BITS.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET:032x}"


def _payload_copy(payload: Mapping[str, JsonValue], payload_json: str) -> dict[str, JsonValue]:
    """Return the payload as it will read back from the store, sharing nothing with the caller.

    A flat payload of plain ``str`` keys and scalar values (most events) is copied as a dict;
    anything else (nested values, tuples, subclasses such as enums) goes through its canonical
    JSON, which is exactly what a reader of the log gets.
    """
    if type(payload) is dict:
        for k, v in payload.items():
            if type(k) is not str or type(v) not in _SCALARS:
                break
        else:
            return dict(payload)
    loaded: dict[str, JsonValue] = json.loads(payload_json)
    return loaded


def chain_hash(
    *,
    seq: int,
    id: str,
    ts: datetime,
    type: str,
    source: str,
    payload_json: str,
    incident_id: str | None,
    drill_id: str | None,
    prev_hash: str,
) -> str:
    """Return the SHA-256 hex digest that links an event to its predecessor."""
    parts = [
        str(seq), id, format_ts(ts), type, source, incident_id or "", drill_id or "",
        payload_json, prev_hash,
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def record(event: Event, *, seq: int, ts: datetime, prev_hash: str,
           event_id: str | None = None) -> RecordedEvent:
    """Turn an :class:`Event` into the :class:`RecordedEvent` at position ``seq``."""
    return record_with_json(event, seq=seq, ts=ts, prev_hash=prev_hash, event_id=event_id)[0]


def record_with_json(event: Event, *, seq: int, ts: datetime, prev_hash: str,
                     event_id: str | None = None) -> tuple[RecordedEvent, str]:
    """Like :func:`record`, also returning the canonical payload JSON that was hashed.

    The store writes exactly that text, so verification recomputes the same hash without
    serialising the payload a second time.
    """
    payload_json = canonical_payload(event.payload)
    eid = event_id or new_event_id()
    digest = chain_hash(seq=seq, id=eid, ts=ts, type=event.type, source=event.source,
                        payload_json=payload_json, incident_id=event.incident_id,
                        drill_id=event.drill_id, prev_hash=prev_hash)
    if ts.utcoffset():
        ts = ts.astimezone(UTC)
    rec = RecordedEvent(seq=seq, id=eid, ts=ts, type=event.type,
                        source=event.source, payload=_payload_copy(event.payload, payload_json),
                        incident_id=event.incident_id, drill_id=event.drill_id,
                        prev_hash=prev_hash, hash=digest)
    return rec, payload_json


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where and why a hash chain stops verifying."""

    seq: int
    reason: str


def verify_chain(events: Iterable[RecordedEvent],
                 prev_hash: str = GENESIS_HASH, prev_seq: int = 0) -> ChainBreak | None:
    """Check events in order; return the first broken link, or ``None`` if all verify."""
    for ev in events:
        if ev.seq != prev_seq + 1:
            return ChainBreak(ev.seq, f"sequence jumps from {prev_seq} to {ev.seq}")
        if ev.prev_hash != prev_hash:
            return ChainBreak(ev.seq, "prev_hash does not match the hash of the event before it")
        expected = chain_hash(seq=ev.seq, id=ev.id, ts=ev.ts, type=ev.type, source=ev.source,
                              payload_json=canonical_payload(ev.payload),
                              incident_id=ev.incident_id, drill_id=ev.drill_id,
                              prev_hash=ev.prev_hash)
        if expected != ev.hash:
            return ChainBreak(ev.seq, "content does not match its hash (event was altered)")
        prev_hash, prev_seq = ev.hash, ev.seq
    return None


class EventSink(Protocol):
    """What producers append to (the store implements it)."""

    def append(self, event: Event) -> RecordedEvent:
        """Durably record ``event`` and return it as recorded."""
        ...


Subscriber = Callable[[RecordedEvent], None]
"""A callback told about every event after it is durably recorded."""
