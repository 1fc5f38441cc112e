"""The hash chain: every alteration, deletion, insertion and reordering is detected."""

from __future__ import annotations

import dataclasses
import enum
import itertools
import math
import os
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commandcenter.core.events import (
    GENESIS_HASH,
    ChainBreak,
    Event,
    RecordedEvent,
    canonical_payload,
    chain_hash,
    format_ts,
    new_event_id,
    record,
    verify_chain,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
ALTERED = "content does not match its hash (event was altered)"
PREV = "prev_hash does not match the hash of the event before it"


def make_chain(n: int, *, start_seq: int = 1, prev: str = GENESIS_HASH) -> list[RecordedEvent]:
    out: list[RecordedEvent] = []
    for i in range(n):
        ev = Event(type="alarm.raised", source=f"gauge:GD-{i:03d}",
                   payload={"value": i * 1.5, "unit": "%LEL", "note": "乙烯装置 一级报警"},
                   incident_id="INC-1" if i % 2 else None, drill_id=None)
        rec = record(ev, seq=start_seq + i, ts=T0 + timedelta(seconds=i), prev_hash=prev,
                     event_id=f"id{start_seq + i}")
        out.append(rec)
        prev = rec.hash
    return out


def test_record_links_and_verifies() -> None:
    chain = make_chain(5)
    assert chain[0].prev_hash == GENESIS_HASH
    for a, b in itertools.pairwise(chain):
        assert b.prev_hash == a.hash
    assert verify_chain(chain) is None
    assert verify_chain([]) is None
    assert all(len(e.hash) == 64 for e in chain)


def test_record_is_deterministic_with_fixed_id() -> None:
    ev = Event("alarm.raised", "cli", {"b": 1, "a": [1, 2]})
    r1 = record(ev, seq=1, ts=T0, prev_hash=GENESIS_HASH, event_id="x")
    r2 = record(ev, seq=1, ts=T0, prev_hash=GENESIS_HASH, event_id="x")
    assert r1 == r2
    r3 = record(ev, seq=1, ts=T0, prev_hash=GENESIS_HASH)
    assert len(r3.id) == 32 and r3.id != r1.id


def test_record_normalises_time_to_utc() -> None:
    cst = timezone(timedelta(hours=8))
    local = datetime(2026, 3, 1, 16, 0, tzinfo=cst)
    r = record(Event("x", "y"), seq=1, ts=local, prev_hash=GENESIS_HASH, event_id="a")
    assert r.ts == T0 + timedelta(hours=0) and r.ts.tzinfo == UTC
    assert verify_chain([r]) is None
    assert r.as_dict()["ts"] == "2026-03-01T08:00:00.000000Z"


def test_naive_time_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        record(Event("x", "y"), seq=1, ts=datetime(2026, 1, 1), prev_hash=GENESIS_HASH)
    with pytest.raises(ValueError, match="timezone-aware"):
        format_ts(datetime(2026, 1, 1))


def test_altered_payload_is_detected() -> None:
    chain = make_chain(4)
    chain[2] = dataclasses.replace(chain[2], payload={**chain[2].payload, "value": 99.0})
    assert verify_chain(chain) == ChainBreak(3, ALTERED)


@pytest.mark.parametrize("field", ["type", "source", "incident_id", "drill_id", "id"])
def test_altered_field_is_detected(field: str) -> None:
    chain = make_chain(4)
    chain[1] = dataclasses.replace(chain[1], **{field: "tampered"})
    assert verify_chain(chain) == ChainBreak(2, ALTERED)


def test_altered_time_is_detected() -> None:
    chain = make_chain(3)
    chain[0] = dataclasses.replace(chain[0], ts=chain[0].ts + timedelta(microseconds=1))
    assert verify_chain(chain) == ChainBreak(1, ALTERED)


def test_altered_hash_is_detected_at_the_next_event() -> None:
    chain = make_chain(4)
    chain[1] = dataclasses.replace(chain[1], hash="f" * 64)
    assert verify_chain(chain) == ChainBreak(2, ALTERED)


def test_rehashed_event_breaks_the_link_to_its_successor() -> None:
    """A forger who recomputes the altered event's own hash is caught one event later."""
    chain = make_chain(4)
    bad = dataclasses.replace(chain[1], payload={"value": 0})
    digest = chain_hash(seq=bad.seq, id=bad.id, ts=bad.ts, type=bad.type, source=bad.source,
                        payload_json=canonical_payload(bad.payload),
                        incident_id=bad.incident_id, drill_id=bad.drill_id,
                        prev_hash=bad.prev_hash)
    chain[1] = dataclasses.replace(bad, hash=digest)
    assert verify_chain(chain) == ChainBreak(3, PREV)


def test_deleted_event_is_detected() -> None:
    chain = make_chain(5)
    del chain[2]
    assert verify_chain(chain) == ChainBreak(4, "sequence jumps from 2 to 4")


def test_deleted_first_event_is_detected() -> None:
    chain = make_chain(3)
    assert verify_chain(chain[1:]) == ChainBreak(2, "sequence jumps from 0 to 2")


def test_truncated_tail_verifies_but_resumes_from_a_checkpoint() -> None:
    chain = make_chain(6)
    assert verify_chain(chain[:4]) is None
    assert verify_chain(chain[4:], prev_hash=chain[3].hash, prev_seq=4) is None
    assert verify_chain(chain[4:], prev_hash=chain[2].hash, prev_seq=4) == ChainBreak(5, PREV)


def test_inserted_event_is_detected() -> None:
    chain = make_chain(4)
    fake = record(Event("alarm.acknowledged", "operator:x"), seq=3, ts=T0,
                  prev_hash=chain[1].hash, event_id="fake")
    chain.insert(2, fake)
    # The fake itself links fine; the real event after it no longer does.
    assert verify_chain(chain) == ChainBreak(3, "sequence jumps from 3 to 3")


def test_reordered_events_are_detected() -> None:
    chain = make_chain(4)
    chain[1], chain[2] = chain[2], chain[1]
    assert verify_chain(chain) == ChainBreak(3, "sequence jumps from 1 to 3")


def test_renumbered_events_are_detected() -> None:
    chain = make_chain(3)
    chain[2] = dataclasses.replace(chain[2], seq=7)
    chain = [*chain[:2], chain[2]]
    assert verify_chain(chain) == ChainBreak(7, "sequence jumps from 2 to 7")


def test_canonical_payload_is_stable_and_keeps_chinese() -> None:
    a = canonical_payload({"b": [1, 2.5, None, True], "a": {"z": "泄漏", "y": "甲班"}})
    b = canonical_payload({"a": {"y": "甲班", "z": "泄漏"}, "b": [1, 2.5, None, True]})
    assert a == b == '{"a":{"y":"甲班","z":"泄漏"},"b":[1,2.5,null,true]}'
    r = record(Event("message.sent", "cli", {"text": "请立即撤离至东门集合点"}), seq=1, ts=T0,
               prev_hash=GENESIS_HASH, event_id="m")
    assert r.payload == {"text": "请立即撤离至东门集合点"}
    assert verify_chain([r]) is None
    # The hash is pinned: changing the canonical form would orphan every stored log.
    assert r.hash == chain_hash(seq=1, id="m", ts=T0, type="message.sent", source="cli",
                                payload_json='{"text":"请立即撤离至东门集合点"}',
                                incident_id=None, drill_id=None, prev_hash=GENESIS_HASH)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        canonical_payload({"value": bad})
    with pytest.raises(ValueError):
        record(Event("reading", "gauge:x", {"value": bad}), seq=1, ts=T0, prev_hash=GENESIS_HASH)


def test_payload_is_a_copy() -> None:
    payload = {"v": [1]}
    r = record(Event("x", "y", payload), seq=1, ts=T0, prev_hash=GENESIS_HASH)
    payload["v"].append(2)
    assert r.payload == {"v": [1]}
    assert verify_chain([r]) is None


def test_flat_payload_is_a_copy_too() -> None:
    payload: dict[str, object] = {"value": 1.5, "unit": "%LEL", "ok": True, "note": None}
    r = record(Event("x", "y", payload), seq=1, ts=T0, prev_hash=GENESIS_HASH)
    payload["value"] = 99
    assert r.payload == {"value": 1.5, "unit": "%LEL", "ok": True, "note": None}


def test_payload_reads_as_its_json_when_not_plain() -> None:
    class Level(enum.IntEnum):
        HIGH = 2

    r = record(Event("x", "y", {"level": Level.HIGH, "pair": (1, 2)}), seq=1, ts=T0,
               prev_hash=GENESIS_HASH)
    # what a reader of the log gets back: plain JSON types
    assert r.payload == {"level": 2, "pair": [1, 2]}
    assert type(r.payload["level"]) is int
    assert verify_chain([r]) is None


def test_event_ids_are_unique_version_4_uuids() -> None:
    ids = [new_event_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    for eid in ids[:200]:
        u = uuid.UUID(hex=eid)
        assert (len(eid), u.version, u.variant, u.hex) == (32, 4, uuid.RFC_4122, eid)


def test_a_forked_child_does_not_repeat_the_parents_ids() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write one id and leave at once
        os.write(write, new_event_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    assert len(child) == 32 and child != new_event_id()


def test_as_dict_is_json_ready() -> None:
    import json

    r = make_chain(1)[0]
    d = r.as_dict()
    assert json.loads(json.dumps(d, ensure_ascii=False)) == d
    assert d["seq"] == 1 and d["prev_hash"] == GENESIS_HASH and d["hash"] == r.hash


# --------------------------------------------------------------------------- property tests

json_scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
payloads = st.dictionaries(st.text(max_size=6), st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6), max_size=4)


@settings(max_examples=60, deadline=None)
@given(st.lists(payloads, min_size=1, max_size=6))
def test_any_valid_chain_verifies(ps: list[dict[str, object]]) -> None:
    prev = GENESIS_HASH
    chain = []
    for i, p in enumerate(ps, start=1):
        r = record(Event("t", "s", p), seq=i, ts=T0, prev_hash=prev)
        chain.append(r)
        prev = r.hash
    assert verify_chain(chain) is None


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 7).flatmap(lambda n: st.permutations(list(range(n)))))
def test_any_reordering_is_detected(order: list[int]) -> None:
    chain = make_chain(len(order))
    shuffled = [chain[i] for i in order]
    result = verify_chain(shuffled)
    if order == sorted(order):
        assert result is None
    else:
        first_bad = next(k for k, i in enumerate(order) if i != k)
        assert result is not None and result.seq == shuffled[first_bad].seq


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 6), st.data())
def test_any_single_tampering_is_detected(n: int, data: st.DataObject) -> None:
    chain = make_chain(n)
    k = data.draw(st.integers(0, n - 1))
    how = data.draw(st.sampled_from(["payload", "type", "source", "ts", "hash", "prev_hash",
                                     "delete", "duplicate"]))
    ev = chain[k]
    if how == "payload":
        chain[k] = dataclasses.replace(ev, payload={**ev.payload, "x": data.draw(json_scalars)})
    elif how in ("type", "source"):
        new = data.draw(st.text(max_size=5).filter(lambda t: t != getattr(ev, how)))
        chain[k] = dataclasses.replace(ev, **{how: new})
    elif how == "ts":
        chain[k] = dataclasses.replace(ev, ts=ev.ts + timedelta(
            microseconds=data.draw(st.integers(1, 10**9))))
    elif how in ("hash", "prev_hash"):
        new = data.draw(st.text("0123456789abcdef", min_size=64, max_size=64)
                        .filter(lambda h: h != getattr(ev, how)))
        chain[k] = dataclasses.replace(ev, **{how: new})
    elif how == "delete":
        if k == n - 1:  # dropping the tail is a truncation; only a checkpoint catches it
            return
        del chain[k]
    else:
        chain.insert(k, ev)
    result = verify_chain(chain)
    assert result is not None
    if how == "hash" and k == n - 1:
        assert result == ChainBreak(ev.seq, ALTERED)
    else:
        assert result.seq in (ev.seq, ev.seq + 1)
