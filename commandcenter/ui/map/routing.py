"""Routing off the GUI thread: one router per site, built once, asked on a worker thread.

:class:`RoutingWorker` owns a single worker thread. The first request builds the
:class:`~commandcenter.core.routing.SiteRouter` there (a few hundred milliseconds on a large
site); later requests reuse it. Requests carry a generation number; when requests come faster
than answers, only the newest waiting one is computed. Results come back on the GUI thread as the
:attr:`RoutingWorker.answered` / :attr:`RoutingWorker.failed` signals.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import shiboken6
from PySide6.QtCore import QObject, Signal

from commandcenter.core.hazard import HazardZone
from commandcenter.core.routing import IncidentAnswer, SiteRouter
from commandcenter.core.site import Site
from commandcenter.errors import CommandCenterError

_LOGGER = logging.getLogger(__name__)


class RoutingWorker(QObject):
    """Computes :class:`IncidentAnswer` objects for hazard zones on one worker thread.

    Args:
        site: The site whose network, buildings and resources are routed on.
        router: A router already built for ``site`` (default: built on first use, off the GUI
            thread).

    Signals:
        answered(int, object): Generation and its :class:`IncidentAnswer`.
        failed(int, str): Generation and what went wrong, in words.
    """

    answered = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, site: Site, router: SiteRouter | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._site = site
        self._router = router
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._waiting: tuple[int, HazardZone] | None = None
        self._busy = False
        self._closed = False
        self.latest = 0
        """The newest generation requested."""

    @property
    def busy(self) -> bool:
        """Whether a request is being computed or waiting."""
        with self._lock:
            return self._busy or self._waiting is not None

    def request(self, zone: HazardZone) -> int:
        """Ask for the answer to ``zone``; return its generation number."""
        with self._lock:
            self.latest += 1
            generation = self.latest
            self._waiting = (generation, zone)
            start = not self._busy
            if start:
                self._busy = True
        if start:
            self._submit()
        return generation

    def _submit(self) -> None:
        with self._lock:
            if self._closed:
                self._busy = False
                return
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="commandcenter-routing")
            future = self._executor.submit(self._run)
        future.add_done_callback(self._finished)

    def _run(self) -> tuple[int, IncidentAnswer | str] | None:
        with self._lock:
            job, self._waiting = self._waiting, None
        if job is None:
            return None
        generation, zone = job
        try:
            if self._router is None:
                self._router = SiteRouter.from_site(self._site)
            return generation, self._router.answer(zone)
        except CommandCenterError as err:
            return generation, str(err)
        except Exception as err:  # a bug in routing must not kill the worker thread
            _LOGGER.exception("routing failed for zone %s", zone)
            return generation, f"{type(err).__name__}: {err}"

    def _finished(self, future: Future[tuple[int, IncidentAnswer | str] | None]) -> None:
        result = future.result()
        with self._lock:
            again = self._waiting is not None
            if not again:
                self._busy = False
        if again:
            self._submit()
        if result is None or not shiboken6.isValid(self):
            return
        generation, outcome = result
        if isinstance(outcome, str):
            self.failed.emit(generation, outcome)
        else:
            self.answered.emit(generation, outcome)

    def shutdown(self) -> None:
        """Stop the worker thread (a request being computed finishes; waiting ones are dropped)."""
        with self._lock:
            self._closed = True
            self._waiting = None
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
