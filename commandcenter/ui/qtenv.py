"""Process set-up that must happen before the first ``QApplication`` is made."""

from __future__ import annotations

import contextlib
import os

QUIET_CATEGORIES = "qt.multimedia.symbolsresolver=false"
"""QtMultimedia says twice per process that PipeWire is missing (then uses PulseAudio)."""


def prepare_qt_environment() -> None:
    """Set what Qt reads at start-up and load QtWebEngine before the application exists.

    Chromium refuses its sandbox when run as root, so as root it is switched off; a user's own
    ``QT_LOGGING_RULES`` is kept as it is.
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    os.environ.setdefault("QT_LOGGING_RULES", QUIET_CATEGORIES)
    with contextlib.suppress(ImportError):  # QtWebEngine must load before the QApplication
        import PySide6.QtWebEngineWidgets  # noqa: F401
