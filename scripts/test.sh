#!/usr/bin/env bash
# Installs Command Center with its test tools, then runs every check and the whole test suite:
# ruff (lint), mypy (types; strict on the core), import-linter (dependency direction), pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev
export QT_QPA_PLATFORM=offscreen QTWEBENGINE_CHROMIUM_FLAGS=--no-sandbox
echo "== ruff";          .venv/bin/ruff check commandcenter tests bench scripts main.py
echo "== mypy";          .venv/bin/mypy
echo "== import-linter"; .venv/bin/lint-imports --no-cache
echo "== pytest";        .venv/bin/python -m pytest "$@"
echo "== headless: core and storage without Qt installed"
[ -x .venv-headless/bin/python ] || "${PYTHON:-python3}" -m venv .venv-headless
.venv/bin/python scripts/headless_venv.py > .venv-headless/requirements.txt
.venv-headless/bin/python -m pip install -q -r .venv-headless/requirements.txt
.venv-headless/bin/python -m pip install -q --no-deps -e .
if .venv-headless/bin/python -c "import PySide6" 2>/dev/null; then
  echo "headless venv must not have PySide6"; exit 1
fi
.venv-headless/bin/python -m pytest -c tests/headless.ini --rootdir . -q tests/core tests/storage tests/test_config.py
