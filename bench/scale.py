"""Catalogue scale: the same pass search in this process's pool and on a Dask cluster.

The whole shipped active catalogue (14,710 satellites) x 50 stations x 7 days:

1. in-process: ``LocalExecutor(2)`` (two forked processes, today's default on 2 cores);
2. a ``distributed.LocalCluster`` of 2 worker processes, 1 thread each, through
   ``DaskExecutor``: the same tasks sent over TCP to workers that import groundshare
   themselves, as on a real cluster.

Prints wall time, pair-days per second and passes found for each, whether the two tables
are identical, the cluster's overhead, and per-task figures from Dask's task stream
(compute seconds per satellite-station-day, task count, bytes of a task's result) that
bench/README.md uses to project the size of a cluster for bigger catalogues.

Stations: the 6 demo stations (src/groundshare/data/demo_stations.toml), the 14 real
sites of bench/stations.toml, then generated ones: a golden-angle (Fibonacci) lattice of
sites between 60 S and 70 N, ``lattice-NN``, 5 deg minimum elevation, sea level.

Usage: python bench/scale.py [--stations N] [--days D] [--satellites N] [--skip-local] [--dask-malloc-trim]
"""

from __future__ import annotations

import argparse
import logging
import math
import pickle
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from groundshare.data import data_path
from groundshare.orbits import load_elements
from groundshare.parallel import DaskExecutor, LocalExecutor
from groundshare.passes import PassTable, Site, find_passes
from groundshare.passes.search import _run_chunk
from groundshare.stations import load_stations

START = datetime(2026, 3, 19, tzinfo=UTC)   # the active snapshot's median epoch is 2026-03-19 04:50
BENCH_STATIONS = Path(__file__).with_name("stations.toml")
GOLDEN_ANGLE_DEG = 180.0 * (3.0 - math.sqrt(5.0))


def lattice_sites(count: int) -> list[Site]:
    """Return ``count`` sites on a golden-angle lattice, evenly spread in area between 60 S and 70 N."""
    lo, hi = math.sin(math.radians(-60.0)), math.sin(math.radians(70.0))
    sites = []
    for k in range(count):
        lat = math.degrees(math.asin(lo + (hi - lo) * (k + 0.5) / count))
        lon = (k * GOLDEN_ANGLE_DEG + 180.0) % 360.0 - 180.0
        sites.append(Site(f"lattice-{k:02d}", lat_deg=round(lat, 3), lon_deg=round(lon, 3), alt_m=0.0,
                          min_elevation_deg=5.0))
    return sites


def bench_sites(count: int) -> list[Site]:
    """Return ``count`` stations: demo, then bench/stations.toml, then the lattice."""
    real = load_stations(data_path("demo_stations.toml")) + load_stations(BENCH_STATIONS)
    return (real + lattice_sites(max(0, count - len(real))))[:count]


def same_table(a: PassTable, b: PassTable) -> bool:
    return (len(a) == len(b) and a.warnings == b.warnings and set(a.columns) == set(b.columns)
            and all(np.array_equal(a.columns[k], b.columns[k]) for k in a.columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=50)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--satellites", type=int, default=None, help="first N of the catalogue (default: all)")
    parser.add_argument("--skip-local", action="store_true", help="only the cluster run")
    parser.add_argument("--dask-malloc-trim", action="store_true",
                        help="keep Dask's default MALLOC_TRIM_THRESHOLD_=65536 on the workers (about 1.6x slower)")
    args = parser.parse_args()

    elements = load_elements(data_path("celestrak_active_2026-03-19.tle")).elements[:args.satellites]
    sites = bench_sites(args.stations)
    duration_s = args.days * 86_400.0
    pair_days = len(elements) * len(sites) * args.days
    print(f"{len(elements):,} satellites x {len(sites)} stations x {args.days:g} days = {pair_days:,.0f} pair-days "
          f"from {START:%Y-%m-%d %H:%M} UTC")

    local = None
    if not args.skip_local:
        began = time.perf_counter()
        local = find_passes(elements, sites, start=START, duration_s=duration_s, executor=LocalExecutor(2))
        local_s = time.perf_counter() - began
        print(f"in-process (LocalExecutor, 2 processes): {local_s:7.1f} s  {pair_days / local_s:9,.0f} pair-days/s  "
              f"{len(local):,} passes")

    import dask
    import distributed

    if not args.dask_malloc_trim:
        # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off glibc's
        # adaptive mmap threshold: every large numpy temporary is then a fresh mmap (page faults),
        # and the pass search runs about 1.6x slower.  README.md ("Scale") shows the same setting
        # for `dask worker`.
        dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None})
    began = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    startup_s = time.perf_counter() - began
    with distributed.get_task_stream(client) as stream:
        began = time.perf_counter()
        remote = find_passes(elements, sites, start=START, duration_s=duration_s, executor=DaskExecutor(client))
        dask_s = time.perf_counter() - began
    trim = "Dask's MALLOC_TRIM_THRESHOLD_" if args.dask_malloc_trim else "MALLOC_TRIM_THRESHOLD_ unset"
    print(f"Dask LocalCluster (2 workers x 1 thread, {trim}): {dask_s:7.1f} s  {pair_days / dask_s:9,.0f} pair-days/s  "
          f"{len(remote):,} passes  (cluster start-up {startup_s:.1f} s, not included)")
    if local is not None:
        print(f"identical tables: {same_table(local, remote)}")
        print(f"cluster overhead: x{dask_s / local_s:.3f} ({dask_s - local_s:+.1f} s)")

    # Per-task figures from the task stream: compute time of each task, and its result's size.
    compute_s = [sum(ss["stop"] - ss["start"] for ss in t["startstops"] if ss["action"] == "compute")
                 for t in stream.data]
    n_tasks = len(compute_s)
    busy_s = float(np.sum(compute_s))
    per_pair_day_s = busy_s / pair_days
    print(f"tasks: {n_tasks:,}  compute per task: median {np.median(compute_s):.3f} s, max {np.max(compute_s):.3f} s  "
          f"workers busy {busy_s / (2 * dask_s):.0%} of the wall time")
    print(f"compute: {busy_s:.1f} worker-s in all = {per_pair_day_s * 1e6:.2f} us per satellite-station-day")
    # Result bytes: rerun a typical task here (the same arguments find_passes makes) and pickle its result.
    mid = len(elements) // 2
    sample = elements[mid:mid + 6]
    result = _run_chunk((sample, np.arange(mid, mid + len(sample)), sites, START, duration_s, 60.0))
    result_bytes = len(pickle.dumps(result))
    n_passes = len(result[0]["sat_index"])
    print(f"a task's result: {len(sample)} satellites -> {n_passes:,} passes, {result_bytes:,} bytes pickled "
          f"({result_bytes / max(n_passes, 1):.0f} bytes per pass)")
    print(f"result bytes for the whole run: about {len(remote) * result_bytes / max(n_passes, 1) / 2**20:.0f} MiB")
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
