"""Link budgets along every pass of a week of the demo network, timed step by step.

The demo network (the shipped CubeSat snapshot over the six demo stations) for 7 days
from 2025-11-07: passes, then geometry sampled every second along each pass (exact
SGP4), then the budget at every sample (ITU-R losses per station from cached tables,
margin, Doppler, data volume).  Targets on the 2-core reference machine: budgets within
5 s once the geometry is there, and within 30 s including the geometry.

Usage: python bench/link.py [--days D] [--step S] [--link FILE]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from groundshare.data import data_path
from groundshare.link import load_link_config
from groundshare.link.along import link_along_passes
from groundshare.link.atmosphere import ItuAtmosphere
from groundshare.orbits import load_elements
from groundshare.passes import find_passes
from groundshare.passes.track import sample_passes
from groundshare.stations import load_stations
from groundshare.units import DAY_S, HOUR_S

START = datetime(2025, 11, 7, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--step", type=float, default=1.0, help="seconds between samples along a pass")
    parser.add_argument("--link", type=Path, action="append",
                        help="link file(s); default: the shipped UHF and X-band ACM demo links")
    args = parser.parse_args()
    links = args.link or [data_path("demo_link_uhf.toml"), data_path("demo_link_xband_acm.toml")]

    elements = load_elements(data_path("celestrak_cubesat_2025-11-06.tle"))
    sites = load_stations(data_path("demo_stations.toml"))
    t = time.perf_counter()
    table = find_passes(elements, sites, start=START, duration_s=args.days * DAY_S)
    passes_s = time.perf_counter() - t
    t = time.perf_counter()
    tracks = sample_passes(table, elements, sites, step_s=args.step)
    geometry_s = time.perf_counter() - t
    print(f"{len(elements)} satellites x {len(sites)} stations x {args.days:g} days: {len(table):,} passes "
          f"in {passes_s:.2f} s; geometry at {args.step:g} s: {len(tracks):,} samples in {geometry_s:.2f} s")

    with tempfile.TemporaryDirectory() as cache_dir:
        for path in links:
            config = load_link_config(path)
            atmosphere = ItuAtmosphere(cache_dir=cache_dir)
            t = time.perf_counter()
            links_cold = link_along_passes(table, tracks, config, sites, atmosphere=atmosphere)
            cold_s = time.perf_counter() - t
            t = time.perf_counter()
            links_warm = link_along_passes(table, tracks, config, sites, atmosphere=ItuAtmosphere(cache_dir=cache_dir))
            warm_s = time.perf_counter() - t
            assert np.array_equal(links_cold.volume_bytes, links_warm.volume_bytes)
            closes = links_warm.usable_s > 0
            print(f"\n{path.name}: {config.link.frequency_hz / 1e9:g} GHz, "
                  f"{'DVB-S2 ACM' if config.link.is_acm else f'{config.link.data_rate_bps:g} bit/s'}")
            print(f"  budgets after geometry: {warm_s:.2f} s with ITU-R tables cached on disk "
                  f"({cold_s:.2f} s building the {len(sites)} station tables first)")
            print(f"  with geometry:          {geometry_s + warm_s:.2f} s ({geometry_s + cold_s:.2f} s cold)")
            print(f"  {int(closes.sum()):,} of {len(table):,} passes close; "
                  f"{links_warm.volume_bytes.sum() / 1e9:.3f} GB in {links_warm.usable_s.sum() / HOUR_S:.1f} h usable; "
                  f"median margin at best {np.median(links_warm.max_margin_db):.1f} dB")


if __name__ == "__main__":
    main()
