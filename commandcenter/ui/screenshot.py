"""Render a view of the UI to a PNG without a screen (``commandcenter screenshot``).

Used to look at screens in CI and in documentation: the view is built with real data (the site
and the event log), laid out at the requested size offscreen and grabbed with
:meth:`QWidget.grab`.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QApplication, QWidget

from commandcenter.ui.extensions import VIEWS, UiContext, View, load
from commandcenter.ui.qtenv import prepare_qt_environment


def _application() -> QApplication:
    app = QCoreApplication.instance()
    if app is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        prepare_qt_environment()
        app = QApplication(["commandcenter-screenshot"])
    if not isinstance(app, QApplication):
        raise RuntimeError("a non-widget Qt application is running; cannot render widgets")
    return app


DRAW_TIMEOUT_S = 30.0
"""The longest :func:`render_view` waits for a screen that draws asynchronously."""


def _settle(app: QApplication, widget: QWidget) -> None:
    for _ in range(3):
        app.processEvents()
    widget.updateGeometry()
    app.processEvents()
    # Screens that draw asynchronously (a web view) offer ``wait_until_drawn(timeout_s)``.
    for child in [widget, *widget.findChildren(QWidget)]:
        wait = getattr(child, "wait_until_drawn", None)
        if callable(wait) and child.isVisible():
            wait(DRAW_TIMEOUT_S)
    app.processEvents()


def render_view(view: str, out: Path, size: tuple[int, int], ctx: UiContext, *,
                demo: bool = False) -> Path:
    """Render ``view`` at ``size`` (width, height) to the PNG file ``out`` and return its path.

    Args:
        view: A name in :data:`~commandcenter.ui.extensions.VIEWS` (``plans``: the console with
            the first L3 plan open; ``wall``: the wall display; features add more).
        out: Where to write the PNG; parent folders are created.
        size: Width and height in pixels.
        ctx: What the screens show (site, event log, clock, language, runtime).
        demo: Play the view's scripted scenario (if it has one) instead of the store.

    Raises:
        ValueError: ``view`` is unknown, or ``size`` is not positive.
        OSError: The PNG could not be written.
    """
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; known views: {', '.join(VIEWS)}")
    width, height = size
    if width <= 0 or height <= 0:
        raise ValueError(f"size must be positive, got {width}x{height}")
    app = _application()
    from commandcenter.ui import i18n

    previous = i18n.current()
    i18n.set_language(ctx.lang)
    spec: View = load(VIEWS[view])
    widget = (spec.demo if demo and spec.demo is not None else spec.build)(ctx)
    try:
        widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        widget.resize(width, height)
        widget.show()
        _settle(app, widget)
        pixmap = widget.grab()
        if pixmap.width() != width or pixmap.height() != height:
            pixmap = pixmap.scaled(width, height, Qt.AspectRatioMode.IgnoreAspectRatio,
                                   Qt.TransformationMode.SmoothTransformation)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not pixmap.save(str(out), "PNG"):
            raise OSError(f"could not write {out}")
    finally:
        widget.close()
        widget.deleteLater()
        app.processEvents()
        # Delete it now, not at exit: a web page must go before QtWebEngine shuts down.
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        i18n.set_language(previous)
    return out
