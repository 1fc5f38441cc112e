"""``commandcenter map export`` — the site (and an incident's answer) as one offline HTML file.

Example::

    commandcenter map export --out plant.html
    commandcenter map export --out toxic.html --hazard 30.8151,121.4550 --plan PLAN-TOXIC-L2
        --wind-from 45 --wind-speed 3   (one line)

The file carries Leaflet, jQuery and every style inline: it opens in any browser with no network.
Exit codes: 0 written; 1 written, but a building has no safe route (listed on stderr); 2 bad
usage or the file cannot be written.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from commandcenter.commands import language
from commandcenter.commands.route import add_zone_arguments, warn_stranded, zone_from_args
from commandcenter.config import Settings


def register(sub: Any) -> None:
    """Add ``map`` (with ``export``) to the CLI."""
    p = sub.add_parser("map", help="offline site maps")
    map_sub = p.add_subparsers(dest="map_command", required=True, metavar="SUBCOMMAND")
    export = map_sub.add_parser(
        "export", help="write the site map as one standalone HTML file (no network needed)",
        description="Write the site map — buildings, network, resources, assembly points and, "
                    "with --hazard, the hazard zone, evacuation routes and nearest resources — "
                    "as one HTML file that loads nothing over the network.")
    export.add_argument("--out", required=True, type=Path, metavar="FILE.html")
    add_zone_arguments(export, required=False)
    export.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Build the map and write it; print the file's path."""
    from commandcenter.core.routing import IncidentAnswer, SiteRouter
    from commandcenter.core.siteio import load_site
    from commandcenter.geo.offline import write_standalone
    from commandcenter.geo.sitemap import site_map

    site = load_site(settings.site_dir)
    answer: IncidentAnswer | None = None
    if args.hazard is not None:
        answer = SiteRouter.from_site(site).answer(zone_from_args(args, site))
    path = write_standalone(site_map(site, answer, lang=language(args, settings)), args.out)
    print(path)
    if answer is not None and answer.evacuation.stranded:
        warn_stranded(answer)
        return 1
    return 0
