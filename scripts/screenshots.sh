#!/usr/bin/env bash
# Regenerates the screenshots in docs/screenshots/ from the demo site, offscreen.
# The plans view reads a throwaway database holding real start-up events; the alarm, incident,
# map and wall views play the built-in scripted scenario through the real core (--demo; without
# it a view shows what the store holds).
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen QTWEBENGINE_CHROMIUM_FLAGS=--no-sandbox
out=docs/screenshots
mkdir -p "$out"
db="sqlite:///$(mktemp -d)/screens.db"
cc() { .venv/bin/python -m commandcenter --db "$db" "$@"; }
.venv/bin/python scripts/seed_demo_events.py "$db"
cc --lang zh screenshot --view plans --out "$out/plans-zh.png" --size 1920x1080
cc --lang en screenshot --view plans --out "$out/plans-en.png" --size 1920x1080
cc --lang zh screenshot --view plans --out "$out/plans-zh-1366.png" --size 1366x768
for view in wall incident alarms trends map; do
  cc --lang zh screenshot --demo --view "$view" --out "$out/$view-zh.png" --size 1920x1080
done
for view in wall incident map; do
  cc --lang en screenshot --demo --view "$view" --out "$out/$view-en.png" --size 1920x1080
done
echo "screenshots written to $out"
