"""Print the runtime dependencies minus the Qt ones (for the headless test venv)."""

import tomllib
from pathlib import Path

QT = ("pyside6", "qasync", "pyqtgraph")
deps = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
dev = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"][
    "optional-dependencies"]["dev"]
keep = [d for d in deps if not d.lower().startswith(QT)]
keep += [d for d in dev if d.lower().startswith(("pytest>", "pytest=", "pytest-timeout",
                                                 "hypothesis"))]
print("\n".join(keep))
