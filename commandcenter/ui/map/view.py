"""The web view that shows the map page: local-only requests, the bridge, in-place updates.

:class:`MapWebView` loads the page from a file, registers :class:`~.bridge.MapBridge` as
``ccBridge`` and runs the page's update functions with :meth:`MapWebView.call`. Each view has
its own off-the-record profile whose :class:`LocalOnlyInterceptor` records every request the page
makes and blocks anything that is not ``file:``, ``data:`` or ``qrc:``, and the page's settings
forbid local content to reach remote URLs at all — the map never reaches the network, even if a
future layer tried to.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import (
    QWebEnginePage,
    QWebEngineProfile,
    QWebEngineSettings,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QWidget

from commandcenter.ui.map.bridge import MapBridge

_LOGGER = logging.getLogger(__name__)

LOCAL_SCHEMES = frozenset({"file", "data", "qrc"})
"""The only URL schemes the map page may load."""

RELOAD_AFTER_CRASH_MS = 1000
"""Wait this long before reloading a page whose renderer died."""


class LocalOnlyInterceptor(QWebEngineUrlRequestInterceptor):
    """Records every URL the map pages request and blocks all but local ones.

    Attributes:
        seen: Every URL requested, oldest first (the last :data:`KEEP` only).
        blocked: URLs refused (not ``file:``, ``data:`` or ``qrc:``).
    """

    KEEP = 500

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self.seen: list[str] = []
        self.blocked: list[str] = []

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        """Record the request; block it unless it is local."""
        url = info.requestUrl()
        text = url.toString()
        if url.scheme() == "data":
            text = text[:60]
        with self._lock:
            self.seen.append(text)
            del self.seen[:-self.KEEP]
        if url.scheme().lower() not in LOCAL_SCHEMES:
            info.block(True)
            with self._lock:
                self.blocked.append(text)
                del self.blocked[:-self.KEEP]
            _LOGGER.warning("map page tried to load %s: blocked (the map works offline only)",
                            text)


def local_profile() -> tuple[QWebEngineProfile, LocalOnlyInterceptor]:
    """Return a new off-the-record profile (no disk cache) with a :class:`LocalOnlyInterceptor`."""
    profile = QWebEngineProfile()
    profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.NoCache)
    guard = LocalOnlyInterceptor(profile)
    profile.setUrlRequestInterceptor(guard)
    return profile, guard


class MapWebPage(QWebEnginePage):
    """The map page: JavaScript console messages go to our log."""

    def javaScriptConsoleMessage(self, level: QWebEnginePage.JavaScriptConsoleMessageLevel,
                                 message: str, line: int, source: str) -> None:
        """Log a console message: errors as warnings, the rest at debug level."""
        where = f"{Path(QUrl(source).path()).name or source}:{line}"
        if level == QWebEnginePage.JavaScriptConsoleMessageLevel.ErrorMessageLevel:
            _LOGGER.warning("map page script error: %s (%s)", message, where)
        else:
            _LOGGER.debug("map page: %s (%s)", message, where)


class MapWebView(QWebEngineView):
    """Shows the map page and updates it in place.

    Attributes:
        bridge: Messages from the page.
        interceptor: Every URL the page requested (and those it was refused).
        loads: How many times a page load finished (1 unless the renderer had to be restarted).
        is_ready: Whether the page has reported that it drew the site.
        serial: Serial of the last update sent.
        drawn_serial: Serial of the last update the page reported drawn.

    Signals:
        page_ready(): The page drew the site (after the first load and after any reload); the
            owner sends the current state again.
        page_failed(str): The page could not be loaded.
    """

    page_ready = Signal()
    page_failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mapWebView")
        profile, self.interceptor = local_profile()
        self._page = MapWebPage(profile, self)
        # The profile must outlive its page: it goes when the page has gone.
        profile.setParent(self._page)
        settings = self._page.settings()
        attr = QWebEngineSettings.WebAttribute
        for attribute, on in ((attr.LocalContentCanAccessRemoteUrls, False),
                              (attr.LocalContentCanAccessFileUrls, False),
                              (attr.JavascriptCanOpenWindows, False),
                              (attr.PluginsEnabled, False)):
            settings.setAttribute(attribute, on)
        self.setPage(self._page)
        self.bridge = MapBridge(self)
        self._channel = QWebChannel(self._page)
        self._channel.registerObject("ccBridge", self.bridge)
        self._page.setWebChannel(self._channel)
        self.loads = 0
        self.is_ready = False
        self.serial = 0
        self.drawn_serial = 0
        self._path: Path | None = None
        self.bridge.ready.connect(self._on_ready)
        self.bridge.drawn.connect(self._on_drawn)
        self._page.loadFinished.connect(self._on_loaded)
        self._page.renderProcessTerminated.connect(self._on_crash)

    def load_page(self, path: Path) -> None:
        """Load the map page from ``path``."""
        self._path = path
        self.is_ready = False
        self._page.load(QUrl.fromLocalFile(str(path)))

    def _on_loaded(self, ok: bool) -> None:
        self.loads += 1
        if not ok:
            _LOGGER.warning("the map page %s did not load", self._path)
            self.page_failed.emit(str(self._path))

    def _on_ready(self) -> None:
        self.is_ready = True
        self.page_ready.emit()

    def _on_drawn(self, serial: int) -> None:
        self.drawn_serial = max(self.drawn_serial, serial)

    def _on_crash(self, status: QWebEnginePage.RenderProcessTerminationStatus,
                  code: int) -> None:
        if status == QWebEnginePage.RenderProcessTerminationStatus.NormalTerminationStatus:
            return
        _LOGGER.warning("the map page's renderer stopped (%s, exit code %d); reloading",
                        status.name, code)
        self.is_ready = False
        if self._path is not None:
            path = self._path
            QTimer.singleShot(RELOAD_AFTER_CRASH_MS, self, lambda: self.load_page(path))

    def call(self, function: str, *args: Any, serial: bool = True) -> int | None:
        """Run ``function(*args[, serial])`` in the page; return the serial, or ``None``.

        Nothing runs before the page is ready (the owner sends its state on
        :attr:`page_ready`).
        """
        if not self.is_ready:
            return None
        params = [json.dumps(a, ensure_ascii=False, allow_nan=False) for a in args]
        number: int | None = None
        if serial:
            self.serial += 1
            number = self.serial
            params.append(str(number))
        self._page.runJavaScript(f"window.{function}({', '.join(params)});")
        return number

    @property
    def settled(self) -> bool:
        """Whether the page is ready and has drawn every update sent."""
        return self.is_ready and self.drawn_serial >= self.serial

    def inspect(self, callback: Any) -> None:
        """Call ``callback(dict)`` with the page's drawn state (``ccInspect()``)."""
        def parse(text: object) -> None:
            callback(json.loads(text) if isinstance(text, str) else None)

        self._page.runJavaScript("window.ccInspect ? window.ccInspect() : null", 0, parse)
