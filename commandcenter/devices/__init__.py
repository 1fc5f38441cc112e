"""Gauge drivers and their coordinators: Modbus RTU/TCP, MQTT, ASCII panels, the simulator.

The rest of the application uses :class:`GaugeNetwork` (one :class:`LinkCoordinator` per link)
and receives :class:`Reading` objects and communication faults through a :class:`ReadingSink`.
This package imports only ``commandcenter.core``, ``commandcenter.errors`` and third-party
libraries (no Qt, no storage, no UI).
"""

from commandcenter.devices.base import LinkCoordinator, Reading, ReadingSink
from commandcenter.devices.network import GaugeNetwork
from commandcenter.devices.simulator import GaugeSimulator

__all__ = ["GaugeNetwork", "GaugeSimulator", "LinkCoordinator", "Reading", "ReadingSink"]
