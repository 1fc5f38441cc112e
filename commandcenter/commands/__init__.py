"""Feature commands of the ``commandcenter`` CLI (registered in ``cli.COMMAND_MODULES``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from commandcenter.config import Settings


def language(args: argparse.Namespace, settings: Settings) -> str:
    """Return the language of text output: ``--lang``, else the setting, else Chinese."""
    lang = getattr(args, "lang", None)
    if lang in ("zh", "en"):
        return str(lang)
    return settings.language if settings.language in ("zh", "en") else "zh"
