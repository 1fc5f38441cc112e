"""All gauge links of a site: one coordinator per link, started and stopped together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from types import MappingProxyType

from commandcenter.core.clock import Clock
from commandcenter.core.site import Gauge, GaugeLink, Protocol, Site
from commandcenter.devices.ascii import AsciiCoordinator
from commandcenter.devices.base import DEFAULT_BACKOFF, LinkCoordinator, ReadingSink
from commandcenter.devices.modbus import ModbusTcpCoordinator
from commandcenter.devices.mqtt import MqttCoordinator
from commandcenter.devices.rtu import ModbusRtuCoordinator
from commandcenter.devices.simulator import GaugeSimulator, SimulatedCoordinator

_LOGGER = logging.getLogger(__name__)


class GaugeNetwork:
    """Every gauge link of a site, each under its own :class:`LinkCoordinator`.

    Attributes:
        links: The links in use, after endpoint overrides.
        simulator: The simulator driving simulated links (every link when ``simulate=True``,
            otherwise only links whose protocol is ``simulator``); ``None`` when there are none.
        orphans: Gauges whose link is not defined (they are never read).
    """

    def __init__(self, site: Site, clock: Clock, sink: ReadingSink, *, simulate: bool = False,
                 links: Mapping[str, GaugeLink] | None = None,
                 mqtt_host: str | None = None, mqtt_port: int | None = None,
                 backoff: tuple[float, float] = DEFAULT_BACKOFF, seed: int = 0,
                 excursions_per_10min: float = 1.0) -> None:
        """Build one coordinator per link that has gauges.

        Args:
            site: The loaded site (links and gauges).
            clock: Source of reading timestamps (and the simulator's timeline).
            sink: Receives readings and communication state on the loop thread.
            simulate: Run every link through the built-in simulator.
            links: Link definitions that replace the site's, by id (tests, local config).
            mqtt_host: Broker host for every MQTT link (e.g. a local broker).
            mqtt_port: Broker port for every MQTT link.
            backoff: First reconnect delay and its cap, in seconds.
            seed: Seed of the simulator.
            excursions_per_10min: Simulated pre-alarm excursions per site per ten minutes.
        """
        all_links = dict(site.links)
        all_links.update(links or {})
        for lid, link in all_links.items():
            if link.protocol == Protocol.MQTT and (mqtt_host or mqtt_port):
                update: dict[str, object] = {}
                if mqtt_host:
                    update["host"] = mqtt_host
                if mqtt_port:
                    update["port"] = mqtt_port
                all_links[lid] = link.model_copy(update=update)
        self.links: dict[str, GaugeLink] = all_links
        by_link: dict[str, list[Gauge]] = {}
        self.orphans: list[str] = []
        for g in site.gauges.values():
            if g.link in all_links:
                by_link.setdefault(g.link, []).append(g)
            else:
                self.orphans.append(g.id)
        simulated = [lid for lid in by_link
                     if simulate or all_links[lid].protocol == Protocol.SIMULATOR]
        self.simulator: GaugeSimulator | None = None
        if simulated:
            self.simulator = GaugeSimulator(
                [g for lid in simulated for g in by_link[lid]],
                {lid: all_links[lid] for lid in simulated},
                seed=seed, excursions_per_10min=excursions_per_10min)
        self._coordinators: dict[str, LinkCoordinator] = {}
        for lid in sorted(by_link):
            link, gauges = all_links[lid], by_link[lid]
            coordinator: LinkCoordinator
            if lid in simulated:
                assert self.simulator is not None
                coordinator = SimulatedCoordinator(link, gauges, clock, sink, self.simulator,
                                                   backoff=backoff)
            elif link.protocol == Protocol.MODBUS_RTU:
                coordinator = ModbusRtuCoordinator(link, gauges, clock, sink, backoff=backoff)
            elif link.protocol == Protocol.MODBUS_TCP:
                coordinator = ModbusTcpCoordinator(link, gauges, clock, sink, backoff=backoff)
            elif link.protocol == Protocol.MQTT:
                coordinator = MqttCoordinator(link, gauges, clock, sink, backoff=backoff)
            elif link.protocol == Protocol.ASCII:
                coordinator = AsciiCoordinator(link, gauges, clock, sink, backoff=backoff)
            else:  # pragma: no cover - every Protocol member is handled above
                raise ValueError(f"link {lid}: unsupported protocol {link.protocol}")
            self._coordinators[lid] = coordinator
        self._started = False

    def coordinators(self) -> Mapping[str, LinkCoordinator]:
        """Return the coordinators by link id (read-only view; status per link)."""
        return MappingProxyType(self._coordinators)

    def status(self) -> list[dict[str, object]]:
        """Return every link's status as plain data, by link id."""
        return [c.status() for _, c in sorted(self._coordinators.items())]

    async def start(self) -> None:
        """Start every coordinator on the running loop."""
        if self._started:
            return
        self._started = True
        if self.orphans:
            _LOGGER.warning("gauges on undefined links are not read: %s",
                            ", ".join(sorted(self.orphans)))
        for c in self._coordinators.values():
            await c.start()

    async def stop(self) -> None:
        """Stop every coordinator and close every connection."""
        if not self._started:
            return
        self._started = False
        await asyncio.gather(*(c.stop() for c in self._coordinators.values()))
