"""Hand items from a driver thread (paho's network thread, a serial reader) to the asyncio loop.

One ``call_soon_threadsafe`` per batch, not per item: the producer appends to a deque and wakes
the loop only when no drain is pending. The drain handles a bounded number of items per loop
iteration and reschedules itself, so a burst of thousands of messages never holds the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

BATCH = 500
"""Items handled per loop iteration before yielding to other tasks."""


class ThreadInbox(Generic[T]):
    """A thread-safe hand-off of items to ``handler``, which runs on the loop thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, handler: Callable[[T], None]) -> None:
        """Deliver items put from any thread to ``handler`` on ``loop``."""
        self._loop = loop
        self._handler = handler
        self._items: deque[T] = deque()
        self._scheduled = False
        self.closed = False

    def put(self, item: T) -> None:
        """Queue ``item`` (any thread); never blocks, never drops."""
        self._items.append(item)
        if not self._scheduled and not self.closed:
            self._scheduled = True
            try:
                self._loop.call_soon_threadsafe(self._drain)
            except RuntimeError:  # the loop is closed: we are shutting down
                self.closed = True

    def __len__(self) -> int:
        """Return the number of items waiting."""
        return len(self._items)

    def _drain(self) -> None:
        # Clear the flag before taking items: an item put after this point schedules a new
        # drain, an item put before it is taken below.
        self._scheduled = False
        items = self._items
        for _ in range(BATCH):
            if not items:
                return
            item = items.popleft()
            try:
                self._handler(item)
            except Exception:
                _LOGGER.exception("a device message handler raised")
        if items and not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._drain)

    def drain_now(self) -> None:
        """Handle everything waiting (loop thread only; used when stopping)."""
        while self._items:
            self._drain()
