"""Test-wide strictness and isolation.

- Every test runs with its own user data/config/log folders and no ``COMMANDCENTER_*`` settings
  from the environment, so nothing touches a real installation.
- An ERROR (or worse) log record from our code fails the test unless the test asks for the
  ``expected_log_errors`` fixture (then it may assert on them).
- Tests under ``tests/ui`` are marked ``gui``, under ``tests/integration`` ``integration``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")

REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(REPO).parts
        if len(parts) > 1 and parts[1] == "ui":
            item.add_marker(pytest.mark.gui)
        if len(parts) > 1 and parts[1] == "integration":
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    for var in list(os.environ):
        if var.startswith("COMMANDCENTER_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("COMMANDCENTER_MUTE", "1")  # tests never sound the alarm horn


class _ErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def _log_errors(request: pytest.FixtureRequest) -> Iterator[_ErrorCollector]:
    collector = _ErrorCollector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        yield collector
    finally:
        root.removeHandler(collector)
    ours = [r for r in collector.records if r.name.startswith("commandcenter")]
    if ours and "expected_log_errors" not in request.fixturenames:
        lines = "\n".join(f"{r.name}: {r.getMessage()}" for r in ours)
        pytest.fail(f"unexpected ERROR log records:\n{lines}", pytrace=False)


@pytest.fixture
def expected_log_errors(_log_errors: _ErrorCollector) -> list[logging.LogRecord]:
    """Ask for this to allow ERROR log records from our code; it lists them (live)."""
    return _log_errors.records
