"""``commandcenter serve`` — run the headless runtime (gauges, alarms, dispatcher, sync)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from commandcenter.config import Settings

_LOGGER = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add ``serve`` to the CLI."""
    p = sub.add_parser("serve", help="run the headless runtime until SIGINT/SIGTERM")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run until interrupted; exit 0 on a clean stop."""
    from commandcenter.app import serve, stop_on_signals

    async def main() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        _LOGGER.info("serving (database %s); stop with Ctrl+C", settings.effective_database_url)
        await serve(settings, stop=stop)

    asyncio.run(main())
    _LOGGER.info("stopped")
    return 0
