"""Modbus RTU master over a pyserial port (blocking; coordinators call it from a worker thread).

The master is deliberately small: one request, one response, no retries (the coordinator's next
poll is the retry). Each transaction drops stale bytes first, then waits for a frame that starts
with the addressed slave and the function code and carries a good CRC, anywhere in what arrives
(so garbage before a good frame is skipped). A response that never turns into a valid frame is
reported as garbled, silence as a timeout; both are :class:`ReadFailedError` for that read. An
error of the port itself (unplugged adapter, closed pty) is :class:`LinkDownError`.
"""

from __future__ import annotations

import contextlib
import struct
import time
from typing import Any

import serial

from commandcenter.devices.base import LinkDownError, ReadFailedError
from commandcenter.devices.registers import silent_interval_s

try:
    import termios
except ImportError:  # pragma: no cover - Windows has no termios
    PORT_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError)
else:
    PORT_ERRORS = (serial.SerialException, OSError, termios.error)
"""What a broken serial port raises (termios.error is no OSError: a vanished pty raises it)."""
OPEN_ERRORS: tuple[type[BaseException], ...] = (*PORT_ERRORS, ValueError)
"""What opening a port raises (ValueError: a malformed URL or setting)."""


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc16(data: bytes | bytearray | memoryview) -> int:
    """Return the Modbus CRC-16 of ``data`` (as an int; sent low byte first)."""
    crc = 0xFFFF
    for b in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ b) & 0xFF]
    return crc


def with_crc(frame: bytes) -> bytes:
    """Append the CRC to a frame."""
    return frame + struct.pack("<H", crc16(frame))


def read_request(slave: int, function: int, start: int, count: int) -> bytes:
    """Build a complete RTU read request (function 3 or 4)."""
    return with_crc(struct.pack(">BBHH", slave, function, start, count))


class ModbusExceptionError(ReadFailedError):
    """The device answered with a Modbus exception response."""

    def __init__(self, slave: int, function: int, code: int) -> None:
        """Remember the exception ``code`` the device sent."""
        self.code = code
        names = {1: "illegal function", 2: "illegal data address", 3: "illegal data value",
                 4: "device failure", 6: "device busy", 10: "gateway path unavailable",
                 11: "gateway target failed to respond"}
        super().__init__(f"slave {slave} answered function {function} with exception {code} "
                         f"({names.get(code, 'unknown')})")


def find_response(buf: bytes | bytearray, slave: int, function: int,
                  count: int) -> list[int] | None:
    """Look for the response to a read in ``buf``; return its registers, or ``None`` if absent.

    Raises:
        ModbusExceptionError: A valid exception response from the slave is in ``buf``.
    """
    size = 5 + 2 * count
    n = len(buf)
    for i in range(n - 4):
        if buf[i] != slave:
            continue
        fc = buf[i + 1]
        if fc == function and i + size <= n and buf[i + 2] == 2 * count:
            frame = bytes(buf[i:i + size])
            if crc16(frame[:-2]) == struct.unpack("<H", frame[-2:])[0]:
                return list(struct.unpack(f">{count}H", frame[3:-2]))
        elif fc == function | 0x80 and i + 5 <= n:
            frame = bytes(buf[i:i + 5])
            if crc16(frame[:3]) == struct.unpack("<H", frame[3:])[0]:
                raise ModbusExceptionError(slave, function, frame[2])
    return None


class RtuMaster:
    """Blocking Modbus RTU master on one serial line (one caller at a time)."""

    def __init__(self, url: str, baudrate: int, timeout_s: float) -> None:
        """Remember the line; :meth:`open` opens it."""
        self.url = url
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self.port: Any = None

    def open(self) -> None:
        """Open the port with :func:`serial.serial_for_url` (a device, a pty or ``socket://``)."""
        try:
            self.port = serial.serial_for_url(self.url, baudrate=self.baudrate, bytesize=8,
                                              parity="N", stopbits=1, timeout=0.05,
                                              write_timeout=max(1.0, self.timeout_s))
        except OPEN_ERRORS as err:
            raise LinkDownError(f"cannot open {self.url}: {err}") from err

    def close(self) -> None:
        """Close the port (errors of an already broken port are ignored)."""
        port, self.port = self.port, None
        if port is not None:
            with contextlib.suppress(*PORT_ERRORS):
                port.close()

    def read(self, slave: int, function: int, start: int, count: int) -> list[int]:
        """Read ``count`` registers from ``slave``; see the module docstring for failures."""
        port = self.port
        if port is None:
            raise LinkDownError(f"{self.url} is not open")
        request = read_request(slave, function, start, count)
        size = 5 + 2 * count
        buf = bytearray()
        try:
            port.reset_input_buffer()
            port.write(request)
            port.flush()
            deadline = time.monotonic() + self.timeout_s
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                port.timeout = min(remaining, 0.05)
                want = size - len(buf) if len(buf) < size else max(1, port.in_waiting)
                chunk = port.read(want)
                if chunk:
                    buf += chunk
                    regs = find_response(buf, slave, function, count)
                    if regs is not None:
                        return regs
                elif len(buf) >= size:
                    break  # enough bytes for a frame and then silence: it was garbage
        except PORT_ERRORS as err:
            raise LinkDownError(f"{self.url}: {err}") from err
        finally:
            time.sleep(silent_interval_s(self.baudrate))
        if not buf:
            raise ReadFailedError(f"no response from slave {slave} within {self.timeout_s:g} s")
        raise ReadFailedError(f"garbled response from slave {slave}: {len(buf)} bytes without "
                              f"a valid frame (CRC or framing error)")
