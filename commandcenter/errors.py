"""The exception hierarchy of Command Center.

Every error we raise on purpose derives from :class:`CommandCenterError`, so the global error hook
and the CLI can tell our own, explained failures from bugs. Always chain the cause
(``raise SiteDataError(...) from err``).
"""

from __future__ import annotations


class CommandCenterError(Exception):
    """Base of every error Command Center raises on purpose."""


class ConfigError(CommandCenterError):
    """The settings file or an environment variable holds a value we cannot use."""


class SiteDataError(CommandCenterError):
    """A site data file (plan, map, resource list, roster, drill) is missing or invalid."""


class StorageError(CommandCenterError):
    """The database cannot be opened, migrated, read or written."""


class EventChainError(StorageError):
    """The event log's hash chain is broken: an event was altered, removed or inserted."""


class DeviceError(CommandCenterError):
    """A gauge link (serial line, Modbus, MQTT) failed."""


class RoutingError(CommandCenterError):
    """A route or nearest-resource question cannot be answered (unknown place, no path)."""
