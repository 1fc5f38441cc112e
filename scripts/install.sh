#!/usr/bin/env bash
# Installs Command Center into ./.venv: Debian packages Qt needs (when run as root on Debian),
# then the Python package. `--dev` adds the test and lint tools and the test peers.
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
[ "${1:-}" = "--dev" ] && dev=1

runtime_pkgs="python3-venv libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libglib2.0-0 libfontconfig1
  libdbus-1-3 libnss3 libxcomposite1 libxdamage1 libxrandr2 libxtst6 libasound2 libxkbfile1
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-randr0 libxcb-render-util0
  libxcb-image0 libxcb-xinerama0 libpulse0 fonts-wqy-microhei"
dev_pkgs="xvfb poppler-utils postgresql mosquitto pulseaudio pulseaudio-utils"

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  pkgs="$runtime_pkgs"
  [ "$dev" = 1 ] && pkgs="$pkgs $dev_pkgs"
  missing=""
  for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    echo "install: apt-get install$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi

py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "$dev" = 1 ]; then
  .venv/bin/python -m pip install -q -e '.[dev]'
else
  .venv/bin/python -m pip install -q -e .
fi
echo "install: ready (.venv)"
