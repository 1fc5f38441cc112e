"""``commandcenter route`` — nearest resources and evacuation routes around a hazard zone.

Example::

    commandcenter route --hazard 30.8151,121.4550,100 --wind-from 45 --downwind-m 800 --json
    commandcenter route --hazard 30.8151,121.4550,100 --wind-from 45 --wind-speed 3 --json
    commandcenter route --hazard 30.8151,121.4550 --plan PLAN-TOXIC-L2 --wind-from 45

Exit codes: 0 every building has a safe route; 1 at least one building has none (listed on
stderr and under ``stranded``); 2 bad usage or an unknown place.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TYPE_CHECKING, Any

from commandcenter.config import Settings
from commandcenter.errors import CommandCenterError

if TYPE_CHECKING:  # routing pulls in numpy and scipy: only load them when a command runs
    from commandcenter.core.hazard import HazardZone
    from commandcenter.core.routing import IncidentAnswer
    from commandcenter.core.site import Site

EXIT_OK, EXIT_STRANDED = 0, 1


def parse_hazard(text: str) -> tuple[float, float, float | None]:
    """Parse ``LAT,LON,RADIUS_M`` (or ``LAT,LON`` when a plan gives the radius)."""
    parts = [p.strip() for p in text.split(",")]
    example = "e.g. 30.8151,121.4550,100"
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        values = [float(p) for p in parts]
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not LAT,LON,RADIUS_M ({example})") from err
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: numbers must be finite ({example})")
    lat, lon = values[0], values[1]
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise argparse.ArgumentTypeError(
            f"{text!r}: {lat}, {lon} is not a [lat, lon] position (latitude first; {example})")
    radius = values[2] if len(values) == 3 else None
    if radius is not None and not 0 < radius <= 10_000:
        raise argparse.ArgumentTypeError(f"{text!r}: the radius must be 0–10000 m, not {radius}")
    return lat, lon, radius


def parse_place(text: str) -> str | tuple[float, float]:
    """Parse ``--from``: a ``LAT,LON`` point, or else a building id."""
    parts = text.split(",")
    if len(parts) == 2:
        try:
            return float(parts[0]), float(parts[1])
        except ValueError:
            pass
    if "," in text or not text.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is neither a building id nor LAT,LON")
    return text.strip()


def _bearing(text: str) -> float:
    try:
        value = float(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a direction in degrees") from err
    if not 0 <= value <= 360:
        raise argparse.ArgumentTypeError(f"{text}: a wind direction is 0–360 degrees")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from err
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text}: must be ≥ 0")
    return value


class ZoneArgumentError(CommandCenterError):
    """The hazard-zone options do not describe a zone (exit 2, like any bad usage)."""


def add_zone_arguments(p: argparse.ArgumentParser, *, required: bool) -> None:
    """Add ``--hazard``, ``--plan`` and the wind options (shared by ``route`` and ``map``)."""
    p.add_argument("--hazard", required=required, type=parse_hazard, metavar="LAT,LON,RADIUS_M",
                   help="the release point and isolation radius (RADIUS_M may be left out "
                        "with --plan)")
    p.add_argument("--plan", metavar="PLAN_ID",
                   help="take isolation radius, downwind distance and sector from this plan")
    p.add_argument("--wind-from", type=_bearing, metavar="DEG",
                   help="wind direction (where it blows from, degrees from north)")
    p.add_argument("--wind-speed", type=_non_negative, metavar="MS",
                   help="wind speed in m/s (below 0.5 counts as calm: no sector)")
    p.add_argument("--downwind-m", type=_non_negative, metavar="M",
                   help="length of the downwind sector (default: the plan's, else the site's "
                        "default_downwind_m from maps/site.yaml, 500 m unless set there)")
    p.add_argument("--sector-deg", type=_non_negative, metavar="DEG",
                   help="full opening angle of the sector (default: the plan's, else 60)")


def zone_from_args(args: argparse.Namespace, site: Site) -> HazardZone:
    """Build the hazard zone the options describe.

    With a wind but neither ``--plan`` nor ``--downwind-m``, the sector reaches the site's
    ``default_downwind_m``; a line on stderr says so.

    Raises:
        ZoneArgumentError: Unknown plan, missing radius, speed without direction, too wide a
            sector.
    """
    from commandcenter.core.hazard import DEFAULT_SECTOR_DEG, HazardZone, default_downwind_m
    from commandcenter.core.site import HazardZoneSpec

    lat, lon, radius = args.hazard
    spec: HazardZoneSpec | None = None
    if args.plan:
        plan = site.plans.get(args.plan)
        if plan is None:
            known = ", ".join(sorted(site.plans)) or "none"
            raise ZoneArgumentError(f"unknown plan {args.plan!r} (known: {known})")
        spec = plan.hazard_zone
    if radius is None:
        if spec is None:
            raise ZoneArgumentError("--hazard needs LAT,LON,RADIUS_M (or LAT,LON with --plan)")
        radius = spec.isolation_m
    if args.wind_speed is not None and args.wind_from is None:
        raise ZoneArgumentError("--wind-speed needs --wind-from (the direction)")
    if args.sector_deg is not None and args.sector_deg > 180:
        raise ZoneArgumentError(f"--sector-deg {args.sector_deg:g}: a sector opens at most "
                                f"180 degrees")
    if args.downwind_m is not None:
        downwind, said = args.downwind_m, ""
    elif spec is not None:
        downwind, said = spec.protective_downwind_m, f"plan {args.plan}"
    else:
        downwind = default_downwind_m(site)
        said = "the site's default_downwind_m (maps/site.yaml); --downwind-m sets another"
    spec = HazardZoneSpec(
        isolation_m=radius, protective_downwind_m=downwind,
        sector_deg=args.sector_deg if args.sector_deg is not None else
        (spec.sector_deg if spec else DEFAULT_SECTOR_DEG))
    zone = HazardZone.from_plan(spec, (lat, lon), wind_from_deg=args.wind_from,
                                wind_speed_mps=args.wind_speed)
    if zone.has_sector and said:
        print(f"hazard zone: downwind sector {zone.sector_length_m:g} m, "
              f"{zone.sector_half_angle_deg * 2:g}° wide, from {said}", file=sys.stderr)
    return zone


def register(sub: Any) -> None:
    """Add ``route`` to the CLI."""
    p = sub.add_parser(
        "route", help="nearest resources and evacuation routes around a hazard zone",
        description="Nearest resources (by road and walkway, not crow-flight) and a safe route "
                    "from every building to an assembly point outside the hazard zone. Exit 1 "
                    "when any building has no safe route.")
    add_zone_arguments(p, required=True)
    p.add_argument("--from", dest="origin", type=parse_place, metavar="BUILDING_ID|LAT,LON",
                   help="where resources must come to (default: the release point)")
    p.add_argument("--kinds", metavar="KIND,…", help="resource kinds (default: all)")
    p.add_argument("-k", type=int, default=3, metavar="N", help="resources per kind (3)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Answer the question; print it; exit 1 when a building is stranded."""
    from commandcenter.core.routing import SiteRouter
    from commandcenter.core.siteio import load_site

    site = load_site(settings.site_dir)
    zone = zone_from_args(args, site)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()] if args.kinds else None
    answer = SiteRouter.from_site(site).answer(zone, origin=args.origin, kinds=kinds, k=args.k)
    stranded = answer.evacuation.stranded
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
    else:
        _print_answer(answer)
    warn_stranded(answer)
    return EXIT_STRANDED if stranded else EXIT_OK


def warn_stranded(answer: IncidentAnswer) -> None:
    """Print the buildings with no safe route to stderr, loudly."""
    stranded = answer.evacuation.stranded
    if not stranded:
        return
    people = sum(s.occupancy for s in stranded)
    print(f"WARNING: {len(stranded)} building(s), about {people} people, have NO safe route:",
          file=sys.stderr)
    for s in stranded:
        print(f"  {s.building} ({s.occupancy} people): {s.reason}", file=sys.stderr)


def _print_answer(answer: Any) -> None:
    z = answer.zone
    sector = (f", sector {z.sector_length_m:g} m towards {z.downwind_deg:.0f}° "
              f"(±{z.sector_half_angle_deg:g}°)") if z.has_sector else ""
    wind = f"wind from {z.wind_from_deg:.0f}°" if z.wind_from_deg is not None else "calm/unknown"
    print(f"hazard zone: {z.radius_m:g} m around {z.lat:.6f},{z.lon:.6f}{sector}; {wind}")
    o = answer.origin
    print(f"resources to: {o.label} (node {o.node}, {o.offset_m:.0f} m off the network)")
    for kind, hits in answer.nearest.items():
        text = "; ".join(
            f"{h.resource} {h.distance_m:.0f} m {h.time_s / 60:.1f} min"
            f"{' IN ZONE' if h.in_zone else ''}" for h in hits) or "none reachable"
        print(f"  {kind:<22} {text}")
    plan = answer.evacuation
    print(f"evacuation: {len(plan.routes)} routes, {len(plan.stranded)} stranded")
    if plan.assembly_points_in_zone:
        print(f"  assembly points in the zone (not used): "
              f"{', '.join(plan.assembly_points_in_zone)}")
    for r in sorted(plan.routes.values(), key=lambda r: r.building):
        mark = " from INSIDE the zone" if r.starts_inside else ""
        print(f"  {r.building:<10} → {r.assembly_point:<8} {r.length_m:6.0f} m "
              f"{r.walk_s / 60:5.1f} min{mark}")
