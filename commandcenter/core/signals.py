"""A minimal observer primitive for domain objects (Qt-free).

Domain objects own state and announce changes through :class:`Signal` attributes; Qt adapters in
``commandcenter.ui`` connect to them and re-emit on the GUI thread. Callbacks run synchronously
on the emitting thread, in connection order; one callback raising does not stop the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")
_LOGGER = logging.getLogger(__name__)


class Signal(Generic[P]):
    """A list of callbacks called with the same arguments when the signal is emitted."""

    def __init__(self, name: str = "signal") -> None:
        """Make an unconnected signal; ``name`` appears in error logs."""
        self.name = name
        self._callbacks: list[Callable[P, object]] = []
        self._lock = threading.Lock()

    def connect(self, callback: Callable[P, object]) -> Callable[[], None]:
        """Call ``callback`` on every emit; return a function that disconnects it."""
        with self._lock:
            self._callbacks.append(callback)

        def disconnect() -> None:
            self.disconnect(callback)

        return disconnect

    def disconnect(self, callback: Callable[P, object]) -> None:
        """Stop calling ``callback`` (no error if it was not connected)."""
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Call every connected callback; log (never propagate) what a callback raises."""
        with self._lock:
            callbacks = list(self._callbacks)
        for cb in callbacks:
            try:
                cb(*args, **kwargs)
            except Exception:
                _LOGGER.exception("a %s subscriber raised", self.name)

    def __len__(self) -> int:
        """Return the number of connected callbacks."""
        return len(self._callbacks)
