"""Pass prediction speed: groundshare against Skyfield, side by side in one process.

1. Peer comparison: 50 LEO satellites from the shipped active snapshot x 8 stations x
   7 days, groundshare ``find_passes`` and Skyfield ``EarthSatellite.find_events`` on
   the same pairs; pair-days per second for each and their ratio, plus how well the
   two agree.  groundshare runs with the kernel ``passes.kernel`` picks (numba when
   installed, ``GROUNDSHARE_PASS_KERNEL`` forces one), and again on the numpy fallback.
2. Scale: the whole shipped active catalogue x 12 stations x 7 days: wall seconds and
   peak memory of the process tree (workers included).

Usage: python bench/passes.py [--skip-skyfield] [--skip-scale] [--sats N] [--days D] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from importlib.util import find_spec

import numpy as np

from groundshare.data import data_path
from groundshare.orbits import load_elements
from groundshare.parallel import LocalExecutor
from groundshare.passes import Site, find_passes
from groundshare.passes.kernel import KERNEL_ENV, pass_kernel
from groundshare.stations import load_stations
from groundshare.units import DAY_S, HOUR_S

# Approximate public coordinates of long-established ground-station sites.
EXTRA_SITES = [
    Site("svalbard", lat_deg=78.23, lon_deg=15.39, alt_m=500.0, min_elevation_deg=5.0),
    Site("santiago", lat_deg=-33.15, lon_deg=-70.67, alt_m=720.0, min_elevation_deg=5.0),
    Site("hartebeesthoek", lat_deg=-25.89, lon_deg=27.69, alt_m=1400.0, min_elevation_deg=5.0),
    Site("kiruna", lat_deg=67.86, lon_deg=20.96, alt_m=400.0, min_elevation_deg=5.0),
    Site("alice-springs", lat_deg=-23.76, lon_deg=133.88, alt_m=550.0, min_elevation_deg=5.0),
    Site("fairbanks", lat_deg=64.97, lon_deg=-147.50, alt_m=150.0, min_elevation_deg=5.0),
]


def bench_sites(count: int) -> list[Site]:
    """Return ``count`` stations (at most 12): the six demo sites first, then the extras."""
    demo = load_stations(data_path("demo_stations.toml"))
    return (demo + EXTRA_SITES)[:count]

START = datetime(2026, 3, 19, tzinfo=UTC)   # the active snapshot's median epoch is 2026-03-19 04:50


class PeakMemory:
    """Sample the resident memory of this process and its children every 50 ms."""

    def __init__(self) -> None:
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = os.getpid()
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.wait(0.05):
            total = 0
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                pid, ppid, rss_pages = int(entry), int(fields[1]), int(fields[21])
                if pid == me or ppid == me:
                    total += rss_pages * page
            self.peak_bytes = max(self.peak_bytes, total)


def leo_sample(catalog, count: int):
    """Return ``count`` LEO satellites (11+ rev/day) spread evenly through the catalogue."""
    leo = [e for e in catalog if e.mean_motion_rev_day >= 11.0]
    picks = np.linspace(0, len(leo) - 1, count).round().astype(int)
    return [leo[i] for i in picks]


def run_skyfield(elements, sites, start: datetime, days: float):
    from skyfield.api import EarthSatellite, load, wgs84

    ts = load.timescale(builtin=True)
    t0 = ts.from_datetime(start)
    t1 = ts.from_datetime(start + timedelta(days=days))
    events = {}
    for si, site in enumerate(sites):
        topos = wgs84.latlon(site.lat_deg, site.lon_deg, elevation_m=site.alt_m)
        for i, e in enumerate(elements):
            sat = EarthSatellite(e.line1, e.line2, e.name, ts)
            t, kinds = sat.find_events(topos, t0, t1, altitude_degrees=site.min_elevation_deg)
            events[i, si] = [(x.utc_datetime(), int(k)) for x, k in zip(t, kinds, strict=True)]
    return events


def agreement(table, events):
    """Return (pairs, rises/sets matched, count mismatches, worst |dt| s, worst |dt| s for passes >= 30 s)."""
    matched, mismatched, worst, worst_30 = 0, 0, 0.0, 0.0
    for (i, si), evs in events.items():
        ours = table[(table.sat_index == i) & (table.site_index == si)]
        for kind, attr, flag in ((0, "aos", "clipped_aos"), (2, "los", "clipped_los")):
            theirs = [t for t, k in evs if k == kind]
            mine = [p for p in ours if not getattr(p, flag)]
            if len(theirs) != len(mine):
                mismatched += 1
                continue
            for a, p in zip(theirs, mine, strict=True):
                dt = abs((a - getattr(p, attr)).total_seconds())
                worst = max(worst, dt)
                if p.duration_s >= 30.0:
                    worst_30 = max(worst_30, dt)
                matched += 1
    return len(events), matched, mismatched, worst, worst_30


def best_of(repeats: int, call):
    """Return (result, best wall seconds) of ``repeats`` calls."""
    best, result = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - t)
    return result, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-skyfield", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--sats", type=int, default=50)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of the peer workload, best kept")
    args = parser.parse_args()

    t = time.perf_counter()
    catalog = load_elements(data_path("celestrak_active_2026-03-19.tle"))
    load_s = time.perf_counter() - t
    print(f"loaded {len(catalog)} element sets in {load_s:.2f} s ({len(catalog.errors)} bad records)")

    if not args.skip_skyfield:
        elements = leo_sample(catalog, args.sats)
        # Skyfield has no horizon masks: both sides get the same plain horizons.
        sites = [Site(s.name, lat_deg=s.lat_deg, lon_deg=s.lon_deg, alt_m=s.alt_m,
                      min_elevation_deg=s.min_elevation_deg) for s in bench_sites(8)]
        pair_days = len(elements) * len(sites) * args.days
        load = os.getloadavg()[0]
        run_skyfield(elements[:1], sites[:1], START, 0.05)      # warm-up: imports and first-call costs

        def ours(kept: bool = True) -> tuple:
            # A warm-up call first: numba's cache (or compiler), imports and the kept pool's fork stay out of the
            # timings.  With ``kept`` the pool of processes is kept from one run to the next (a service or a
            # scheduler searching again and again keeps one); without it every call forks its own.
            with LocalExecutor(args.workers, keep_pool=kept) as executor:
                find_passes(elements[:2], sites[:1], start=START, duration_s=HOUR_S, executor=executor)
                return best_of(args.repeat, lambda: find_passes(elements, sites, start=START,
                                                                duration_s=args.days * DAY_S, executor=executor))

        chosen = os.environ.get(KERNEL_ENV)
        fallback_s = None
        if chosen != "numpy" and find_spec("numba") is not None:
            # The numpy fallback first, before numba is imported (as in an install without it).
            os.environ[KERNEL_ENV] = "numpy"
            _, fallback_s = ours()
            if chosen is None:
                del os.environ[KERNEL_ENV]
            else:
                os.environ[KERNEL_ENV] = chosen
        kernel = pass_kernel().name
        table, ours_s = ours()
        _, per_call_s = ours(kept=False)
        events, sky_s = best_of(args.repeat, lambda: run_skyfield(elements, sites, START, args.days))
        pairs, matched, mismatched, worst, worst_30 = agreement(table, events)
        print(f"\npeer: {len(elements)} LEO satellites x {len(sites)} stations x {args.days:g} days "
              f"= {pair_days:,.0f} pair-days, {len(table)} passes")
        print(f"  groundshare find_passes : {ours_s:8.3f} s  {pair_days / ours_s:12,.0f} pair-days/s  "
              f"({kernel} kernel, pool of processes kept)")
        print(f"  the same, a pool per call: {per_call_s:8.3f} s  {pair_days / per_call_s:12,.0f} pair-days/s  "
              f"({sky_s / per_call_s:.1f} x)")
        print(f"  skyfield find_events    : {sky_s:8.3f} s  {pair_days / sky_s:12,.0f} pair-days/s")
        print(f"  ratio                   : {sky_s / ours_s:8.1f} x")
        if fallback_s is not None:
            print(f"  numpy kernel (fallback) : {fallback_s:8.3f} s  {pair_days / fallback_s:12,.0f} pair-days/s  "
                  f"({sky_s / fallback_s:.1f} x)")
        print(f"  (best of {args.repeat} runs each; load average {load:.2f} before)")
        print(f"  agreement: {matched} rises/sets matched within {worst:.3f} s ({worst_30:.3f} s for passes of "
              f"30 s or more); {mismatched} of {2 * pairs} pair-event lists differ in count")

    if not args.skip_scale:
        load = os.getloadavg()[0]
        sites = bench_sites(12)
        pair_days = len(catalog) * len(sites) * args.days
        with PeakMemory() as memory:
            t = time.perf_counter()
            table = find_passes(catalog, sites, start=START, duration_s=args.days * DAY_S, workers=args.workers)
            wall_s = time.perf_counter() - t
        print(f"\nscale: {len(catalog)} satellites x {len(sites)} stations x {args.days:g} days "
              f"= {pair_days:,.0f} pair-days on {os.cpu_count()} cores")
        print(f"  wall {wall_s:.1f} s ({pair_days / wall_s:,.0f} pair-days/s), {len(table):,} passes, "
              f"peak memory {memory.peak_bytes / 2**30:.2f} GiB (process tree), {len(table.warnings)} SGP4 warnings")
        print(f"  ({pass_kernel().name} kernel; load average {load:.2f} before)")


if __name__ == "__main__":
    main()
