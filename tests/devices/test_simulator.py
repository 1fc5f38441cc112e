"""The simulator: plausible values, rare excursions, drill hooks, faults through the network."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from commandcenter.core.clock import ScriptedClock
from commandcenter.core.site import GaugeKind, Site
from commandcenter.core.siteio import load_site
from commandcenter.devices import GaugeNetwork, GaugeSimulator

from .conftest import Sink, device_records, run, wait_until

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site() -> Site:
    s = load_site(str(REPO))
    assert len(s.gauges) == 77
    return s


def _run_sim(site: Site, hours: float,
             **kw: float) -> tuple[GaugeSimulator, dict[str, list[float]]]:
    sim = GaugeSimulator(site.gauges.values(), site.links, **kw)  # type: ignore[arg-type]
    clock = ScriptedClock()
    values: dict[str, list[float]] = {g: [] for g in site.gauges}
    for _ in range(int(hours * 3600)):
        for r in sim.step(clock.now()):
            assert r.ts == clock.now()
            values[r.gauge_id].append(r.value)
        clock.advance(1.0)
    return sim, values


def test_values_are_plausible_per_kind(site: Site) -> None:
    _, values = _run_sim(site, 0.5, excursions_per_10min=0)
    for gid, vs in values.items():
        g = site.gauges[gid]
        assert len(vs) >= int(1800 / site.links[g.link].poll_s) - 1, gid
        lo, hi = g.range
        assert all(lo <= v <= hi for v in vs), gid
        highs = [t.value for t in g.thresholds if t.direction == "high"]
        lows = [t.value for t in g.thresholds if t.direction == "low"]
        if g.kind == GaugeKind.O2:
            assert all(20.5 <= v <= 21.3 for v in vs)
        elif g.kind == GaugeKind.WIND_SPEED:
            assert all(2 <= v <= 6 for v in vs)
        elif g.kind == GaugeKind.WIND_DIRECTION:
            assert max(vs) - min(vs) > 5  # it wanders
        else:  # no alarm at all without excursions
            assert all(v < min(highs, default=hi) for v in vs), gid
            assert not lows or all(v > max(lows) for v in vs), gid
        if g.kind in (GaugeKind.COMBUSTIBLE_GAS, GaugeKind.H2S, GaugeKind.CL2):
            assert max(vs) <= 0.35 * min(highs) and min(vs) >= 0
        if g.kind in (GaugeKind.TEMPERATURE, GaugeKind.PRESSURE, GaugeKind.LEVEL):
            assert len(set(vs)) > 10  # drifting, not constant


def test_excursions_are_rare_prealarm_level_and_seeded(site: Site) -> None:
    sim, values = _run_sim(site, 3, seed=7)
    # about one per site per ten minutes: ~18 in three hours
    assert 8 <= len(sim.excursions) <= 32, len(sim.excursions)
    for _, gid, target in sim.excursions:
        g = site.gauges[gid]
        pre = [t for t in g.thresholds if t.level == "prealarm"]
        assert pre
        assert any(t.value < target if t.direction == "high" else t.value > target
                   for t in pre), (gid, target)
    crossed = {gid for gid, vs in values.items()
               if any(v > t.value for t in site.gauges[gid].thresholds
                      if t.direction == "high" and t.level == "alarm1" for v in vs)}
    assert not crossed  # excursions stop short of a formal alarm
    _, values2 = _run_sim(site, 0.2, seed=7)
    assert values2["TT-210-01"] == values["TT-210-01"][:len(values2["TT-210-01"])]
    _, values3 = _run_sim(site, 0.2, seed=8)
    assert values3["TT-210-01"] != values2["TT-210-01"]


def test_overrides_and_failures(site: Site) -> None:
    sim = GaugeSimulator(site.gauges.values(), site.links, seed=1)
    clock = ScriptedClock()
    sim.set_override("GD-110-01", 37.0)
    sim.fail("MQTT-1")
    sim.fail("TT-210-01")
    got = {r.gauge_id: r.value for r in sim.step(clock.now())}
    assert got["GD-110-01"] == 37.0
    assert "TT-210-01" not in got and not any(g.startswith("WD") for g in got)
    assert len(got) == 77 - 8 - 1  # MQTT-1 carries 8 gauges
    sim.set_override("GD-110-01", None)
    sim.restore("MQTT-1")
    sim.restore("TT-210-01")
    clock.advance(5)
    got = {r.gauge_id: r.value for r in sim.step(clock.now())}
    assert len(got) == 77 and got["GD-110-01"] < 5
    clock.advance(1)  # only the 1 s gateway is due again
    assert {site.gauges[r.gauge_id].link for r in sim.step(clock.now())} == {"MBTCP-1"}
    with pytest.raises(KeyError):
        sim.fail("nope")


def test_network_in_simulation_faults_and_restores_like_real_links(
        site: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="commandcenter")
    sink = Sink()
    clock = ScriptedClock()

    async def main() -> None:
        net = GaugeNetwork(site, clock, sink, simulate=True, seed=3)
        assert net.simulator is not None and set(net.coordinators()) == set(site.links)

        async def drive() -> None:  # 20 s of plant time per real second
            while True:
                await asyncio.sleep(0.01)
                clock.advance(0.2)

        driver = asyncio.create_task(drive())
        await net.start()
        try:
            await wait_until(lambda: {r.gauge_id for r in sink.readings} == set(site.gauges), 5)
            rs485 = [g for g in site.gauges.values() if g.link == "RS485-1"]
            t0 = clock.now()
            net.simulator.fail("RS485-1")
            await wait_until(lambda: all(sink.faulted(g.id) for g in rs485), 5, "faults")
            fault_ts = [ts for gid, _, ts in sink.faults]
            assert max(fault_ts) - t0 <= timedelta(seconds=3 * 2.0 + 0.5)
            net.simulator.fail("GD-210-01")
            await wait_until(lambda: sink.faulted("GD-210-01"), 5)
            net.simulator.restore("RS485-1")
            net.simulator.restore("GD-210-01")
            await wait_until(lambda: not any(sink.faulted(g) for g in site.gauges), 5)
            status = net.status()
            assert all(s["connected"] and s["healthy"] for s in status)
        finally:
            await net.stop()
            driver.cancel()

    run(main())
    assert len(sink.faults) == 17 + 1
    warnings = [r.getMessage() for r in device_records(caplog, logging.WARNING)]
    infos = [r.getMessage() for r in device_records(caplog, logging.INFO)]
    assert len(warnings) == 2 and "RS485-1" in warnings[0] and "GD-210-01" in warnings[1]
    assert len(infos) == 2
