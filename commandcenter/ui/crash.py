"""The one global error hook: log every unexpected exception, show one dialog, never a flood.

Covers the main thread (``sys.excepthook``), other threads (``threading.excepthook``) and the
asyncio loop. While a dialog is open, further errors are only logged and counted; the dialog says
how many more there were.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import traceback
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox

from commandcenter.errors import CommandCenterError
from commandcenter.ui.i18n import tr

_LOGGER = logging.getLogger("commandcenter.crash")


class ErrorReporter(QObject):
    """Receives errors from any thread and shows at most one dialog at a time.

    Signals:
        reported: (title, text) — an error to show, delivered on the GUI thread.
    """

    reported = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.dialog_open = False
        self.suppressed = 0
        self.shown = 0
        self.reported.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def report(self, exc_type: type[BaseException], exc: BaseException,
               tb: TracebackType | None, where: str) -> None:
        """Log ``exc`` with its traceback and queue one dialog."""
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        _LOGGER.error("unexpected error in %s:\n%s", where, text)
        if isinstance(exc, CommandCenterError):
            self.reported.emit(tr("error.title"), str(exc))
        else:
            self.reported.emit(tr("error.title"),
                               f"{tr('error.unexpected')}\n\n{exc_type.__name__}: {exc}")

    @Slot(str, str)
    def _show(self, title: str, text: str) -> None:
        if self.dialog_open:
            self.suppressed += 1
            return
        self.dialog_open = True
        self.shown += 1
        box = QMessageBox(QMessageBox.Icon.Critical, title, text)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._closed)
        box.open()

    @Slot()
    def _closed(self) -> None:
        self.dialog_open = False
        if self.suppressed:
            count, self.suppressed = self.suppressed, 0
            _LOGGER.error("%d further errors were logged while the error dialog was open", count)


_reporter: ErrorReporter | None = None


def install() -> ErrorReporter:
    """Install the hooks (idempotent) and return the reporter."""
    global _reporter  # noqa: PLW0603 - one hook per process
    if _reporter is not None:
        return _reporter
    reporter = ErrorReporter()
    app = QApplication.instance()
    if app is not None:
        reporter.moveToThread(app.thread())
    _reporter = reporter

    def excepthook(t: type[BaseException], e: BaseException, tb: TracebackType | None) -> None:
        if issubclass(t, KeyboardInterrupt):
            sys.__excepthook__(t, e, tb)
            return
        reporter.report(t, e, tb, "the main thread")

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        name = args.thread.name if args.thread else "a thread"
        reporter.report(args.exc_type, args.exc_value, args.exc_traceback, name)

    sys.excepthook = excepthook
    threading.excepthook = thread_hook

    def loop_hook(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if exc is None:
            _LOGGER.error("asyncio: %s", context.get("message"))
            return
        reporter.report(type(exc), exc, exc.__traceback__, "the event loop")

    def hook_loop() -> None:
        with contextlib.suppress(RuntimeError):  # no loop running: nothing to hook
            asyncio.get_running_loop().set_exception_handler(loop_hook)

    QTimer.singleShot(0, hook_loop)
    return reporter
