"""Modbus register addresses of gauges, value decoding, read grouping and RS-485 line capacity.

A Modbus gauge's ``address`` in ``resources/gauges.yaml`` holds:

``slave``
    Unit id on the line (1–247; the unit id behind a Modbus TCP gateway).
``register``
    Zero-based register number (the number in the request, not the 4xxxx label).
``scale``
    Factor applied to the raw number (default 1); ``offset`` is added after scaling (default 0).
``type``
    ``uint16`` (default), ``int16``, ``uint32``, ``int32`` or ``float32`` (two registers).
    ``signed: 1`` is a short form of ``type: int16``.
``function``
    3 (holding registers, default) or 4 (input registers); ``holding`` / ``input`` also work.
``word_order``
    ``big`` (default: high word first) or ``little`` for 32-bit values.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

from commandcenter.core.site import Gauge

MAX_REGISTERS_PER_READ = 125
"""Modbus limit for one read of holding/input registers."""

MAX_GAP = 8
"""Unused registers a merged read may span between two gauges of one slave.

Reading a few spare registers is far cheaper than another transaction on a slow line. A device
that refuses the wider read (exception 02, illegal data address) gets its gauges read one by one
from then on.
"""

BITS_PER_CHAR = 11
"""Start bit, 8 data bits, parity or second stop bit, stop bit (Modbus over serial line §2.5.1)."""

TURNAROUND_CHARS = 13.0
"""Per-transaction overhead beyond the frames and silent intervals, in character times.

Covers the slave's reply latency and the master's processing. Calibrated so that a one-register
read costs 20 ms at 19200 baud (≈ 50 reads/s) and 40 ms at 9600 baud (≈ 25 reads/s), the usual
figures on real RS-485 lines.
"""

_TYPES = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "float32": 2}


@dataclass(frozen=True, slots=True)
class RegisterPoint:
    """Where and how one gauge's value sits in a Modbus device."""

    gauge_id: str
    slave: int
    register: int
    function: int = 3
    type: str = "uint16"
    scale: float = 1.0
    offset: float = 0.0
    word_order: str = "big"

    @property
    def width(self) -> int:
        """Number of 16-bit registers the value occupies."""
        return _TYPES[self.type]

    def decode(self, regs: list[int]) -> float:
        """Turn the point's raw registers into the gauge value (scaled; NaN passes through)."""
        if len(regs) < self.width:
            raise ValueError(f"{self.gauge_id}: need {self.width} registers, got {len(regs)}")
        if self.width == 1:
            raw: float = regs[0] & 0xFFFF
            if self.type == "int16" and raw >= 0x8000:
                raw -= 0x10000
        else:
            hi, lo = (regs[0], regs[1]) if self.word_order == "big" else (regs[1], regs[0])
            data = struct.pack(">HH", hi & 0xFFFF, lo & 0xFFFF)
            fmt = {"uint32": ">I", "int32": ">i", "float32": ">f"}[self.type]
            raw = struct.unpack(fmt, data)[0]
        value = raw * self.scale + self.offset
        return value if not math.isnan(raw) else math.nan


def parse_address(gauge: Gauge) -> RegisterPoint:
    """Read a gauge's Modbus address; raise :class:`ValueError` saying what is wrong."""
    a = gauge.address

    def number(key: str, default: float | None = None) -> float:
        if key not in a:
            if default is None:
                raise ValueError(f"address.{key} is required for a Modbus gauge")
            return default
        v = a[key]
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"address.{key} must be a number, not {v!r}")
        return float(v)

    def integer(key: str, lo: int, hi: int, default: int | None = None) -> int:
        v = number(key, None if default is None else float(default))
        if v != int(v) or not lo <= v <= hi:
            raise ValueError(f"address.{key} must be a whole number {lo}..{hi}, not {a.get(key)!r}")
        return int(v)

    slave = integer("slave", 0, 247)
    register = integer("register", 0, 65535)
    scale = number("scale", 1.0)
    offset = number("offset", 0.0)
    if not (math.isfinite(scale) and math.isfinite(offset)) or scale == 0:
        raise ValueError("address.scale must be a non-zero finite number")
    type_ = str(a.get("type", "int16" if a.get("signed") in (1, True, "1") else "uint16"))
    if type_ not in _TYPES:
        raise ValueError(f"address.type {type_!r} is not one of {', '.join(_TYPES)}")
    fn_raw = a.get("function", 3)
    function = {"holding": 3, "input": 4, 3: 3, 4: 4}.get(fn_raw) if isinstance(fn_raw, str | int) \
        else None
    if function is None:
        raise ValueError(f"address.function must be 3/holding or 4/input, not {fn_raw!r}")
    word_order = str(a.get("word_order", "big"))
    if word_order not in ("big", "little"):
        raise ValueError(f"address.word_order must be big or little, not {word_order!r}")
    if register + _TYPES[type_] - 1 > 65535:
        raise ValueError("address.register: the value runs past register 65535")
    return RegisterPoint(gauge.id, slave, register, function, type_, scale, offset, word_order)


@dataclass(slots=True, eq=False)
class ReadBlock:
    """One read request: consecutive registers of one slave covering one or more gauges.

    Attributes:
        failures: Consecutive failed reads (a dead device is polled less often).
    """

    slave: int
    function: int
    start: int
    count: int
    points: tuple[RegisterPoint, ...]
    failures: int = field(default=0)

    def values(self, regs: list[int]) -> list[tuple[str, float]]:
        """Decode every gauge of the block from the registers read."""
        out: list[tuple[str, float]] = []
        for p in self.points:
            i = p.register - self.start
            out.append((p.gauge_id, p.decode(regs[i:i + p.width])))
        return out


def plan_reads(points: list[RegisterPoint], *, max_gap: int = MAX_GAP,
               max_count: int = MAX_REGISTERS_PER_READ) -> list[ReadBlock]:
    """Group points into as few reads as possible, slave by slave, in register order."""
    blocks: list[ReadBlock] = []
    key = sorted(points, key=lambda p: (p.slave, p.function, p.register, p.gauge_id))
    cur: list[RegisterPoint] = []
    for p in key:
        if cur:
            first, end = cur[0], max(q.register + q.width for q in cur)
            same = p.slave == first.slave and p.function == first.function
            fits = p.register - end <= max_gap and \
                max(end, p.register + p.width) - first.register <= max_count
            if same and fits:
                cur.append(p)
                continue
            blocks.append(_block(cur))
        cur = [p]
    if cur:
        blocks.append(_block(cur))
    return blocks


def _block(points: list[RegisterPoint]) -> ReadBlock:
    start = min(p.register for p in points)
    end = max(p.register + p.width for p in points)
    return ReadBlock(points[0].slave, points[0].function, start, end - start, tuple(points))


def split_block(block: ReadBlock) -> list[ReadBlock]:
    """Break a merged read into one read per gauge (for a device that refuses the span)."""
    return [_block([p]) for p in block.points]


def char_time_s(baudrate: int) -> float:
    """Seconds one character takes on the line."""
    return BITS_PER_CHAR / baudrate


def silent_interval_s(baudrate: int) -> float:
    """The 3.5-character silent interval (fixed at 1.75 ms above 19200 baud, per the spec)."""
    return 0.00175 if baudrate > 19200 else 3.5 * char_time_s(baudrate)


def rtu_transaction_s(count: int, baudrate: int) -> float:
    """Time one RTU read of ``count`` registers occupies the line.

    Request 8 bytes, response 5 + 2n bytes, a silent interval after each frame and the
    turnaround of the slave.
    """
    chars = 8 + 5 + 2 * count
    return chars * char_time_s(baudrate) + 2 * silent_interval_s(baudrate) + \
        TURNAROUND_CHARS * char_time_s(baudrate)


def rtu_min_cycle_s(blocks: list[ReadBlock], baudrate: int) -> float:
    """The shortest poll cycle the line can carry for these reads."""
    return sum(rtu_transaction_s(b.count, baudrate) for b in blocks)
