"""Running the desk's coroutines from Qt slots on the one qasync loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

_LOGGER = logging.getLogger(__name__)
_RUNNING: set[asyncio.Task[Any]] = set()


def run(coro: Coroutine[Any, Any, Any], *, done: Callable[[Any], None] | None = None,
        failed: Callable[[BaseException], None] | None = None) -> asyncio.Task[Any]:
    """Schedule ``coro`` on the running loop; call ``done(result)`` or ``failed(error)`` after.

    The task is kept referenced until it finishes. A failure is logged as a warning (the
    screen shows it to the operator through ``failed``); cancellation is silent.
    """
    task: asyncio.Task[Any] = asyncio.ensure_future(coro)
    _RUNNING.add(task)

    def finished(t: asyncio.Task[Any]) -> None:
        _RUNNING.discard(t)
        if t.cancelled():
            return
        err = t.exception()
        if err is not None:
            _LOGGER.warning("incident action failed: %s", err)
            if failed is not None:
                failed(err)
            return
        if done is not None:
            done(t.result())

    task.add_done_callback(finished)
    return task
