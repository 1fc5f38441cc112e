"""Record real start-up events in a throwaway store, so screenshots show a live event feed.

Usage: python scripts/seed_demo_events.py DATABASE_URL
"""

import sys

from commandcenter.app import build_services, record_startup
from commandcenter.config import load_settings


def main() -> None:
    settings = load_settings(database_url=sys.argv[1])
    svc = build_services(settings)
    try:
        for role in ("console", "wall", "console"):
            record_startup(svc, role)
    finally:
        svc.close()


if __name__ == "__main__":
    main()
