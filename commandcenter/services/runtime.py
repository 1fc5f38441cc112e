"""The runtime of one process: its services and the components running on its asyncio loop."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

from commandcenter.config import Settings, describe_url
from commandcenter.core.clock import Clock
from commandcenter.core.site import Site
from commandcenter.errors import CommandCenterError
from commandcenter.storage.eventlog import EventLog

_LOGGER = logging.getLogger(__name__)
C = TypeVar("C")

COMPONENT_FACTORIES: tuple[str, ...] = (
    "commandcenter.services.alarms:create",
    "commandcenter.services.incidents:create",
)
"""``"module:function"`` names of component factories, in start order.

Each factory is called as ``factory(runtime)`` and returns a :class:`Component` or ``None``
(when its feature is switched off in the settings). Features add one line here.
"""


@dataclass
class Services:
    """Everything a front end (GUI, CLI, headless runtime) works with.

    Attributes:
        settings: The effective settings.
        clock: The one clock all domain code reads.
        site: The loaded site (with the problems of anything skipped).
        event_log: The durable, hash-chained event log.
    """

    settings: Settings
    clock: Clock
    site: Site
    event_log: EventLog

    @property
    def db_label(self) -> str:
        """The database URL with any password masked."""
        return describe_url(self.settings.effective_database_url)

    def close(self) -> None:
        """Flush and close the event log."""
        self.event_log.close()


@runtime_checkable
class Component(Protocol):
    """A long-running part of the runtime (started in order, stopped in reverse)."""

    name: str

    async def start(self) -> None:
        """Start working (connect, subscribe, spawn tasks); raise on failure."""
        ...

    async def stop(self) -> None:
        """Stop and release everything; must not raise."""
        ...


@dataclass
class Runtime:
    """The services and running components of this process.

    Attributes:
        services: Settings, clock, site and event log.
        components: Running components by name, in start order.
    """

    services: Services
    components: dict[str, Component] = field(default_factory=dict)
    _started: list[Component] = field(default_factory=list)

    def add(self, component: Component) -> None:
        """Register ``component`` (before :meth:`start`)."""
        if component.name in self.components:
            raise ValueError(f"a component named {component.name!r} is already registered")
        self.components[component.name] = component

    def get(self, name: str, kind: type[C]) -> C | None:
        """Return the component called ``name`` if it is a ``kind``, else ``None``."""
        comp = self.components.get(name)
        return comp if isinstance(comp, kind) else None

    async def start(self) -> None:
        """Start every component in order; on a failure stop those already started and raise."""
        for comp in self.components.values():
            try:
                await comp.start()
            except Exception as err:
                _LOGGER.error("component %s failed to start: %s", comp.name, err)
                await self.stop()
                if isinstance(err, CommandCenterError):
                    raise
                raise CommandCenterError(f"{comp.name} failed to start: {err}") from err
            self._started.append(comp)
            _LOGGER.info("component %s started", comp.name)

    async def restore(self) -> None:
        """Bring every component's state up to the log without starting any of them.

        Components that can (``restore()``) read the log into their state; nothing connects,
        polls, sends or writes. The result serves views of the store (screenshots).
        """
        for comp in self.components.values():
            restore = getattr(comp, "restore", None)
            if callable(restore):
                await restore()

    async def stop(self) -> None:
        """Stop started components in reverse order; log, never raise."""
        while self._started:
            comp = self._started.pop()
            try:
                await comp.stop()
            except Exception:
                _LOGGER.exception("component %s failed to stop cleanly", comp.name)


def load_factory(name: str) -> Callable[[Runtime], Component | None]:
    """Import ``"module:function"``."""
    module, _, attr = name.partition(":")
    factory: Callable[[Runtime], Component | None] = getattr(importlib.import_module(module), attr)
    return factory


def build_runtime(services: Services,
                  factories: tuple[str, ...] | None = None) -> Runtime:
    """Make the runtime with every configured component (not started yet)."""
    runtime = Runtime(services)
    for name in COMPONENT_FACTORIES if factories is None else factories:
        component = load_factory(name)(runtime)
        if component is not None:
            runtime.add(component)
    return runtime
