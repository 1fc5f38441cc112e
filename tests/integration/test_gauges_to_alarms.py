"""Real gauges to logged alarms: real peers → gauge network → alarm service → SQLite event log.

The alarm service is built the way the runtime builds it (``build_runtime`` with the
``alarms`` component, ``simulate_gauges = false``), so the site's links are read by the real
coordinators: a pymodbus TCP server behind a proxy that can silence one unit, a pymodbus RTU
server on a pty, a mosquitto broker. Each test reads what ended up in the event log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from commandcenter.config import Settings
from commandcenter.core.alarms import AlarmEngine
from commandcenter.core.clock import SystemClock
from commandcenter.core.events import RecordedEvent
from commandcenter.core.site import Gauge, GaugeLink, Site
from commandcenter.services.alarms import AlarmService
from commandcenter.services.runtime import Runtime, Services, build_runtime
from commandcenter.storage.eventlog import EventLog
from tests.devices.conftest import MOSQUITTO, Broker, PtyLine, free_port

pytestmark = pytest.mark.integration

POLL = 0.3


# --------------------------------------------------------------------------- the plant


def gas(gid: str, link: str, address: dict[str, Any]) -> Gauge:
    """A combustible gas detector, 0–100 %LEL: pre-alarm 10, 1st level 20, 2nd level 40."""
    return Gauge.model_validate({
        "id": gid, "kind": "combustible_gas", "name": {"zh": gid}, "unit": "%LEL",
        "link": link, "address": address, "location": [30.7, 121.3], "range": [0, 100],
        "deadband": 1.0,
        "thresholds": [{"level": "prealarm", "direction": "high", "value": 10},
                       {"level": "alarm1", "direction": "high", "value": 20},
                       {"level": "alarm2", "direction": "high", "value": 40}]})


class Plant:
    """A site of real links and gauges, its event log, and the runtime's alarm service."""

    def __init__(self, root: Path, links: list[GaugeLink], gauges: list[Gauge]) -> None:
        self.site = Site(root=str(root), links={lk.id: lk for lk in links},
                         gauges={g.id: g for g in gauges})
        self.url = f"sqlite:///{root / 'cc.db'}"
        self.clock = SystemClock()
        self.log = EventLog(self.url, self.clock)
        settings = Settings(database_url=self.url, site_dir=root, simulate_gauges=False)
        services = Services(settings=settings, clock=self.clock, site=self.site,
                            event_log=self.log)
        self.runtime: Runtime = build_runtime(services, ("commandcenter.services.alarms:create",))
        alarms = self.runtime.get("alarms", AlarmService)
        assert alarms is not None
        self.alarms = alarms

    def events(self, *types: str) -> list[RecordedEvent]:
        return [e for e in self.log.read()
                if e.type.startswith("alarm.") and (not types or e.type in types)]

    def of(self, alarm_id: str, *types: str) -> list[RecordedEvent]:
        return [e for e in self.events(*types) if e.payload.get("alarm") == alarm_id]

    def close(self) -> None:
        self.log.close()


def run(plant: Plant, scenario: Callable[[Plant], Awaitable[None]], timeout: float = 30) -> None:
    """Run ``scenario`` (which starts its peers, then :func:`live`) within ``timeout``."""
    async def bounded() -> None:
        await asyncio.wait_for(scenario(plant), timeout)

    asyncio.run(bounded())


@contextlib.asynccontextmanager
async def live(plant: Plant) -> AsyncIterator[Plant]:
    """Run the plant's runtime; on leaving, record everything queued and stop it."""
    await plant.runtime.start()
    try:
        yield plant
        await plant.alarms.settle()
    finally:
        await plant.runtime.stop()


async def logged(plant: Plant, what: Callable[[], bool], timeout: float,  # noqa: ASYNC109
                 why: str) -> None:
    """Wait until ``what()`` holds for the events recorded in the log."""
    deadline = time.monotonic() + timeout
    while True:
        await plant.alarms.settle()
        if what():
            return
        if time.monotonic() > deadline:
            types = [(e.type, e.payload.get("alarm")) for e in plant.events()]
            raise AssertionError(f"timed out after {timeout} s waiting for {why}; log: {types}")
        await asyncio.sleep(0.05)


@pytest.fixture
def plants() -> Iterator[list[Plant]]:
    made: list[Plant] = []
    yield made
    for p in made:
        p.close()


# --------------------------------------------------------------------------- Modbus TCP


class UnitMuter:
    """A TCP proxy in front of a Modbus TCP server that swallows the requests of muted units."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.muted: set[int] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        for coro in (self._requests(reader, up_w), self._answers(up_r, writer)):
            task = asyncio.create_task(coro)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _requests(self, reader: asyncio.StreamReader, up: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readexactly(7)  # MBAP: tid, protocol, length, unit
                length = struct.unpack(">H", head[4:6])[0]
                pdu = await reader.readexactly(length - 1)
                if head[6] not in self.muted:
                    up.write(head + pdu)
        up.close()

    async def _answers(self, up: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await up.read(4096):
                writer.write(data)
        writer.close()


def test_a_silent_modbus_tcp_unit_raises_its_comm_alarm_and_returns(
        tmp_path: Path, plants: list[Plant]) -> None:
    server_port = free_port()
    muter = UnitMuter(server_port)
    link = GaugeLink.model_validate({"id": "MBTCP-T", "protocol": "modbus_tcp",
                                     "host": "127.0.0.1", "port": muter.port, "poll_s": POLL,
                                     "timeout_s": 0.2})
    plant = Plant(tmp_path, [link], [gas("GD-1", "MBTCP-T", {"slave": 1, "register": 0}),
                                     gas("GD-2", "MBTCP-T", {"slave": 2, "register": 0})])
    plants.append(plant)
    timing: dict[str, Any] = {}

    async def scenario(p: Plant) -> None:
        server = ModbusTcpServer(
            [SimDevice(id=i, simdata=[SimData(0, values=[3], datatype=DataType.REGISTERS)])
             for i in (1, 2)], address=("127.0.0.1", server_port))
        await server.serve_forever(background=True)
        await muter.start()
        try:
            async with live(p):
                await asyncio.sleep(3 * POLL)
                assert p.events() == []  # both units answer: nothing to report
                muter.muted.add(2)
                timing["muted"] = p.clock.now()
                await logged(p, lambda: p.of("GD-2:comm", "alarm.comm_fault") != [], 3,
                             "GD-2's comm alarm")
                await asyncio.sleep(2 * POLL)
                muter.muted.clear()
                timing["answers"] = p.clock.now()
                await logged(p, lambda: p.of("GD-2:comm", "alarm.comm_restored") != [], 3,
                             "GD-2's comm alarm returns")
        finally:
            await muter.close()
            await server.shutdown()

    run(plant, scenario)
    fault, = plant.of("GD-2:comm", "alarm.comm_fault")
    assert fault.ts - timing["muted"] <= timedelta(seconds=3 * POLL)
    assert fault.payload["kind"] == "comm" and fault.payload["state_after"] == "unack_active"
    assert "no reading in 2 polls" in str(fault.payload["detail"])
    assert "unit 2" in str(fault.payload["detail"])
    back, = plant.of("GD-2:comm", "alarm.comm_restored")
    assert back.ts >= timing["answers"] and back.payload["state_after"] == "rtn_unack"
    # unit 1 kept answering: no alarm of any kind for GD-1, none for the link
    assert [e for e in plant.events() if e.payload.get("gauge") == "GD-1"] == []
    assert plant.events("alarm.link_fault") == []


def test_a_dead_gateway_is_one_link_alarm(tmp_path: Path, plants: list[Plant]) -> None:
    port = free_port()
    link = GaugeLink.model_validate({"id": "MBTCP-G", "protocol": "modbus_tcp",
                                     "host": "127.0.0.1", "port": port, "poll_s": POLL,
                                     "timeout_s": 0.2})
    plant = Plant(tmp_path, [link], [gas("GD-1", "MBTCP-G", {"slave": 1, "register": 0}),
                                     gas("GD-2", "MBTCP-G", {"slave": 2, "register": 0})])
    plants.append(plant)
    units = [SimDevice(id=i, simdata=[SimData(0, values=[3], datatype=DataType.REGISTERS)])
             for i in (1, 2)]

    async def scenario(p: Plant) -> None:
        server = ModbusTcpServer(units, address=("127.0.0.1", port))
        await server.serve_forever(background=True)
        async with live(p):
            await asyncio.sleep(3 * POLL)
            await server.shutdown()
            await logged(p, lambda: p.events("alarm.link_fault") != [], 3, "the link alarm")
            server = ModbusTcpServer(units, address=("127.0.0.1", port))
            await server.serve_forever(background=True)
            try:
                await logged(p, lambda: p.events("alarm.link_restored") != [], 5,
                             "the link alarm returns")
            finally:
                await server.shutdown()

    run(plant, scenario)
    down, = plant.events("alarm.link_fault")
    assert down.payload["alarm"] == "MBTCP-G:link"
    assert f"127.0.0.1:{port}" in str(down.payload["detail"])
    assert len(plant.events("alarm.link_restored")) == 1
    # the gauges' own comm alarms were held back while the link was down, never announced
    assert not any(e.payload.get("state_after") == "unack_active"
                   for e in plant.events("alarm.comm_fault"))


# --------------------------------------------------------------------------- MQTT


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed")
    b = Broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()


def _publisher(port: int) -> mqtt.Client:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-detector")
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    return pub


def _mqtt_plant(tmp_path: Path, port: int, n: int) -> Plant:
    link = GaugeLink.model_validate({"id": "MQTT-T", "protocol": "mqtt", "host": "127.0.0.1",
                                     "port": port, "poll_s": POLL, "timeout_s": 1.0})
    return Plant(tmp_path, [link], [gas(f"GD-M{i}", "MQTT-T", {"topic": f"site/gas/GD-M{i}"})
                                    for i in range(1, n + 1)])


async def _subscribed(p: Plant, pub: mqtt.Client) -> None:
    """Publish a normal value until the coordinator has it (it is subscribed by then)."""
    coordinator = next(iter(p.alarms.network.coordinators().values()))  # type: ignore[union-attr]
    deadline = time.monotonic() + 5
    while coordinator.reads == 0:
        assert time.monotonic() < deadline, "the MQTT link never subscribed"
        pub.publish("site/gas/GD-M1", b"1", qos=1)
        await asyncio.sleep(0.05)


def test_mqtt_nan_is_a_bad_value_alarm_and_garbage_a_comm_alarm_naming_it(
        tmp_path: Path, broker: Broker, plants: list[Plant]) -> None:
    plant = _mqtt_plant(tmp_path, broker.port, 2)
    plants.append(plant)

    async def scenario(p: Plant) -> None:
        pub = _publisher(broker.port)
        try:
            async with live(p):
                await _subscribed(p, pub)
                pub.publish("site/gas/GD-M1", b'{"value": NaN}', qos=1).wait_for_publish(2)
                await logged(p, lambda: p.of("GD-M1:bad_value") != [], 3, "GD-M1 bad value")
                # GD-M2 sends only garbage: no reading at all, so after 3 x poll_s it is blind
                for _ in range(int(4 * POLL / 0.05)):
                    pub.publish("site/gas/GD-M1", b'{"value": 2}', qos=1)
                    pub.publish("site/gas/GD-M2", b"\x00garbage", qos=1)
                    await asyncio.sleep(0.05)
                await logged(p, lambda: p.of("GD-M2:comm") != [], 3, "GD-M2 comm alarm")
        finally:
            pub.loop_stop()
            pub.disconnect()

    run(plant, scenario)
    bad = plant.of("GD-M1:bad_value")
    assert [e.type for e in bad] == ["alarm.bad_value", "alarm.returned"]
    assert bad[0].payload["value"] is None and "not a number" in str(bad[0].payload["detail"])
    assert plant.of("GD-M1:comm") == []
    comm, = plant.of("GD-M2:comm")
    assert comm.type == "alarm.comm_fault"
    assert "topic site/gas/GD-M2: payload is neither JSON nor a number" in \
        str(comm.payload["detail"])
    # limits never moved on NaN or garbage
    assert plant.events("alarm.raised") == []


def test_a_burst_loses_no_transition(tmp_path: Path, broker: Broker,
                                     plants: list[Plant]) -> None:
    """1200 readings as fast as the detector can publish them, crossing the limits 400 times:
    the log holds exactly the transitions the alarm engine makes of the same readings."""
    plant = _mqtt_plant(tmp_path, broker.port, 1)
    plants.append(plant)
    values = [v for _ in range(400) for v in (30.0, 45.0, 5.0)]

    async def scenario(p: Plant) -> None:
        pub = _publisher(broker.port)
        try:
            async with live(p):
                await _subscribed(p, pub)
                await p.alarms.settle()
                coordinator = next(iter(p.alarms.network.coordinators().values()))  # type: ignore
                before = coordinator.reads
                infos = [pub.publish("site/gas/GD-M1", json.dumps({"value": v}), qos=1)
                         for v in values]
                for info in infos:
                    await asyncio.to_thread(info.wait_for_publish, 5)
                deadline = time.monotonic() + 10
                while coordinator.reads < before + len(values):
                    assert time.monotonic() < deadline, f"{coordinator.reads - before} readings"
                    await asyncio.sleep(0.05)
        finally:
            pub.loop_stop()
            pub.disconnect()

    run(plant, scenario)
    got = [(e.type, e.payload["alarm"]) for e in plant.events()]
    reference = AlarmEngine(plant.site.gauges.values(), SystemClock())
    expected = [(e.type, e.payload["alarm"]) for v in [1.0, *values]
                for e in reference.process("GD-M1", v)]
    assert len(expected) > 1000
    assert got == expected
    # and in order: seq numbers without gaps, each alarm's states chaining
    seqs = [e.seq for e in plant.events()]
    assert seqs == sorted(seqs)


# --------------------------------------------------------------------------- Modbus RTU


def test_a_value_over_its_limits_on_an_rtu_slave_raises_the_level_alarms(
        tmp_path: Path, plants: list[Plant]) -> None:
    line = PtyLine(tmp_path)
    link = GaugeLink.model_validate({"id": "RS485-T", "protocol": "modbus_rtu",
                                     "url": line.path, "baudrate": 19200, "poll_s": POLL,
                                     "timeout_s": 0.2})
    plant = Plant(tmp_path, [link],
                  [gas("GD-R1", "RS485-T", {"slave": 1, "register": 0, "scale": 0.1}),
                   gas("GD-R2", "RS485-T", {"slave": 2, "register": 0, "scale": 0.1})])
    plants.append(plant)

    async def scenario(p: Plant) -> None:
        await line.start()
        server = ModbusSerialServer(
            [SimDevice(id=i, simdata=[SimData(0, values=[35], datatype=DataType.REGISTERS)])
             for i in (1, 2)], port=line.device_path, baudrate=19200)
        await server.serve_forever(background=True)
        try:
            async with live(p):
                await asyncio.sleep(3 * POLL)
                await server.async_setValues(1, 3, 0, [253])  # 25.3 %LEL: pre-alarm, 1st level
                await logged(p, lambda: len(p.events("alarm.raised")) == 2, 3, "GD-R1's alarms")
                await server.async_setValues(1, 3, 0, [40])
                await logged(p, lambda: len(p.events("alarm.returned")) == 2, 3, "they return")
        finally:
            await server.shutdown()
            line.close()

    run(plant, scenario)
    raised = plant.events("alarm.raised")
    assert sorted(str(e.payload["alarm"]) for e in raised) == [
        "GD-R1:high:alarm1", "GD-R1:high:prealarm"]
    assert all(math.isclose(float(e.payload["value"]), 25.3) for e in raised)
    returned = plant.events("alarm.returned")
    assert all(math.isclose(float(e.payload["value"]), 4.0) for e in returned)
    assert [e for e in plant.events() if e.payload.get("gauge") == "GD-R2"] == []
