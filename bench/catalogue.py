"""Catalogue passes written by the workers: a Dask cluster writes the Parquet dataset, the client holds summaries.

The whole shipped active catalogue (14,710 satellites) x 200 stations x 7 days, on a
``distributed.LocalCluster`` of 2 worker processes x 1 thread (Dask's
``MALLOC_TRIM_THRESHOLD_`` unset, as in ``bench/scale.py``), through
``passes.dataset.write_pass_dataset``: each task (a chunk of satellites sharing a coarse
step x a group of stations) searches and writes its own files.

Prints wall time, pair-days per second, compute per satellite-station-day (Dask's task
stream; and the tasks' own CPU time, which other processes on the machine do not
inflate: the projection uses the smaller), the peak RSS of each worker (reported by its tasks) against the bound and of
this client process, bytes written and bytes per pass; then checks a sample (every
k-th satellite, all stations) against ``find_passes`` in this process, and projects
60,000 objects x 1,000 stations x 30 days from the measured figures, with the task plan
``plan_tasks`` makes for that size.

Stations: ``bench_sites`` of ``bench/scale.py`` (6 demo, 14 real, then lattice sites).

Usage: python bench/catalogue.py [--stations N] [--days D] [--satellites N] [--max-worker-bytes B]
       [--sample N] [--output DIR] [--keep]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from groundshare.data import data_path
from groundshare.orbits import load_elements
from groundshare.parallel import DaskExecutor, LocalExecutor
from groundshare.passes import find_passes
from groundshare.passes.dataset import (
    pass_table_from_dataset,
    peak_rss_bytes,
    plan_tasks,
    read_manifest,
    write_pass_dataset,
)
from scale import START, bench_sites

# The projection's size: objects x stations x days, in one hour.
TARGET = (60_000, 1_000, 30.0)
TARGET_HOURS = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--satellites", type=int, default=None, help="first N of the catalogue (default: all)")
    parser.add_argument("--max-worker-bytes", type=float, default=2.0, help="GiB (default 2)")
    parser.add_argument("--sample", type=int, default=200, help="satellites checked against find_passes")
    parser.add_argument("--output", type=Path, default=None, help="dataset folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the dataset")
    args = parser.parse_args()

    elements = load_elements(data_path("celestrak_active_2026-03-19.tle")).elements[:args.satellites]
    sites = bench_sites(args.stations)
    duration_s = args.days * 86_400.0
    bound = int(args.max_worker_bytes * 2**30)
    pair_days = len(elements) * len(sites) * args.days
    print(f"{len(elements):,} satellites x {len(sites)} stations x {args.days:g} days = {pair_days:,.0f} pair-days "
          f"from {START:%Y-%m-%d %H:%M} UTC, max_worker_bytes {bound / 2**30:.2f} GiB")
    folder = args.output or Path(tempfile.mkdtemp(prefix="groundshare-catalogue-")) / "passes"

    import dask
    import distributed

    dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None})
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=logging.ERROR)
    client = distributed.Client(cluster)

    client_before = peak_rss_bytes()
    try:
        with distributed.get_task_stream(client) as stream:
            began = time.perf_counter()
            summary = write_pass_dataset(elements, sites, folder, start=START, duration_s=duration_s,
                                         executor=DaskExecutor(client), max_worker_bytes=bound, overwrite=True)
            wall_s = time.perf_counter() - began
        client_peak = peak_rss_bytes()
    finally:
        client.close()
        cluster.close()
    compute_s = [sum(ss["stop"] - ss["start"] for ss in t["startstops"] if ss["action"] == "compute")
                 for t in stream.data]
    busy_s = float(np.sum(compute_s))
    per_pair_day_s = busy_s / pair_days
    peaks: dict[int, int] = defaultdict(int)
    for part in summary.parts:
        peaks[part.pid] = max(peaks[part.pid], part.peak_rss_bytes)
    bytes_per_pass = summary.bytes / max(summary.rows, 1)
    passes_per_pair_day = summary.rows / pair_days
    print(f"Dask LocalCluster (2 workers x 1 thread) writing Parquet: {wall_s:7.1f} s  "
          f"{pair_days / wall_s:9,.0f} pair-days/s  {summary.rows:,} passes")
    print(f"tasks: {summary.tasks:,} in {summary.station_groups} station group(s) of at most "
          f"{summary.stations_per_group}; compute per task: median {np.median(compute_s):.3f} s, "
          f"max {np.max(compute_s):.3f} s; workers busy {busy_s / (2 * wall_s):.0%} of the wall time")
    cpu_s = sum(p.cpu_s for p in summary.parts)
    print(f"compute: {busy_s:.1f} worker-s in all = {per_pair_day_s * 1e6:.2f} us per satellite-station-day; "
          f"CPU time of the tasks {cpu_s:.1f} s = {cpu_s / pair_days * 1e6:.2f} us per satellite-station-day")
    per_pair_day_s = min(per_pair_day_s, cpu_s / pair_days) if cpu_s > 0 else per_pair_day_s
    print("peak RSS per worker: " + ", ".join(f"{p / 2**20:,.0f} MiB" for p in sorted(peaks.values()))
          + f" (bound {bound / 2**20:,.0f} MiB)")
    print(f"peak RSS of the client: {client_peak / 2**20:,.0f} MiB ({client_before / 2**20:,.0f} MiB before the run)")
    print(f"written: {summary.files:,} files, {summary.bytes:,} bytes = {bytes_per_pass:.1f} bytes per pass, "
          f"{passes_per_pair_day:.2f} passes per pair-day; manifest {(folder / '_manifest.json').stat().st_size:,} "
          f"bytes; warnings {len(summary.warnings)}")

    # A sample against the in-process engine: every k-th satellite over every station.
    k = max(1, len(elements) // args.sample)
    picked = list(range(0, len(elements), k))[:args.sample]
    sample = [elements[i] for i in picked]
    began = time.perf_counter()
    expected = find_passes(sample, sites, start=START, duration_s=duration_s, executor=LocalExecutor(2))
    local_s = time.perf_counter() - began
    began = time.perf_counter()
    got = pass_table_from_dataset(folder, satellites=[e.norad_id for e in sample])
    read_s = time.perf_counter() - began
    position = {i: j for j, i in enumerate(picked)}
    got_sat = np.array([position[i] for i in got.sat_index.tolist()], dtype=np.int32)
    same = len(got) == len(expected) and np.array_equal(got_sat, expected.sat_index) and all(
        np.array_equal(got.columns[name], expected.columns[name]) for name in expected.columns if name != "sat_index")
    print(f"sample: {len(sample)} satellites x {len(sites)} stations: {len(expected):,} passes in-process "
          f"({local_s:.1f} s), {len(got):,} read back ({read_s:.1f} s); identical: {same}")
    manifest = read_manifest(folder)
    if not args.keep and args.output is None:
        shutil.rmtree(folder.parent)

    # Projection.
    n_obj, n_sta, n_days = TARGET
    target_pair_days = n_obj * n_sta * n_days
    work_s = target_pair_days * per_pair_day_s
    busy = busy_s / (2 * wall_s)
    workers = work_s / (TARGET_HOURS * 3600.0) / busy
    passes = target_pair_days * passes_per_pair_day
    storage = passes * bytes_per_pass
    catalogue = (elements * (n_obj // len(elements) + 1))[:n_obj]
    plan = plan_tasks(catalogue, bench_sites(n_sta), start=START, duration_s=n_days * 86_400.0, root=str(folder),
                      workers=int(np.ceil(workers)), max_worker_bytes=bound)
    files = summary.files / summary.tasks * len(plan.tasks) * n_days / args.days
    print(f"projection to {n_obj:,} objects x {n_sta:,} stations x {n_days:g} days = {target_pair_days:.3g} pair-days: "
          f"{work_s:,.0f} worker-s = {workers:.0f} single-core workers for {TARGET_HOURS:g} h "
          f"(at {busy:.0%} busy); {passes:.3g} passes x {bytes_per_pass:.1f} bytes = {storage / 1e9:,.0f} GB written; "
          f"plan at {bound / 2**30:.2f} GiB per worker: {plan.n_groups} station groups of {plan.stations_per_group}, "
          f"{len(plan.tasks):,} tasks of {work_s / len(plan.tasks):.1f} s each, about {files:,.0f} files; "
          f"client holds {len(plan.tasks):,} summaries")
    print(f"manifest: {manifest.passes:,} passes, {manifest.files:,} files, elements sha256 "
          f"{manifest.elements_sha256[:12]}")


if __name__ == "__main__":
    main()
