"""Catalogue passes written where they are computed: a partitioned Parquet dataset, and reading it back.

``find_passes`` gathers every pass into one table in one process; at 60,000 objects x
1,000 stations x 30 days that table is some 500 GB.  ``write_pass_dataset`` runs the
same search (``search._chunk_passes``, chunk for chunk) but each task writes its own
passes to Parquet files and returns only a summary (rows, bytes, paths, warnings), so
the client never holds the table and a worker holds one task's arrays at a time.

Tasks.  A task is (a chunk of satellites sharing a coarse step) x (a group of
stations).  The search's working arrays grow with satellites x grid times x stations,
so stations are split into equal consecutive groups small enough that one satellite
of the finest step fits the bound, and each step's satellites are chunked so that the
chunk fits it too (``plan_tasks``).  The bound is ``max_worker_bytes`` for the whole
worker process: ``WORKER_BASE_BYTES`` for what it holds whatever the task (the
interpreter with numpy, sgp4, pyarrow and Dask, about 130 MiB; the first task's
one-time costs, about 55 MiB with the numpy kernel and 200 MiB while numba compiles
its kernel), the rest for the task's arrays, costed per satellite by
``task_cost_bytes``.  Its constants are upper figures from peak RSS measurements of
the search over the shipped catalogue's orbits (50 to 200 stations, 2 to 7 days): up to
110 bytes per (satellite, grid time, station) for high orbits, whose every point passes
the screen (about 70 in LEO), and about 140 bytes per 10 s mask sample of a pass over a
station with a horizon mask.  One task runs at a time per worker thread: a Dask worker
with T threads needs T x ``max_worker_bytes``.  ``bench/scale.py --output`` and
``tests/passes/test_dataset.py`` check the bound on Dask workers' peak RSS.

Layout (hive-style, what ``pyarrow.dataset`` reads with ``partitioning="hive"``)::

    DIR/_manifest.json                                   parameters, totals, warnings (written last)
    DIR/station_group=000/day=2026-03-19/part-00012.parquet

``day`` is the UTC date of the pass's AOS; ``station_group`` numbers the groups of the
manifest's station list (consecutive, in the order given).  Each file holds one task's
passes of one day, sorted by AOS, with ``norad_id``, ``satellite`` and ``station``
resolved beside ``sat_index``/``site_index`` (positions in the manifest's lists), and
``aos``/``tca``/``los`` as UTC timestamps (microseconds).  Files are written under a
hidden temporary name and renamed, and the manifest is written last, so a dataset
without ``_manifest.json`` is incomplete, and ``pass_table_from_dataset`` refuses it.
DIR must be a folder every worker and the client can reach (a shared file system on a
real cluster).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import resource
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from groundshare import __version__
from groundshare.errors import InvalidInputError
from groundshare.extras import require_extras
from groundshare.orbits.elements import ElementSet
from groundshare.parallel import Executor, resolve_executor
from groundshare.passes.search import MASK_STEP_S, _chunk_passes, check_inputs, coarse_step_s
from groundshare.passes.site import Site
from groundshare.passes.table import PassTable
from groundshare.timeutil import format_utc, require_utc
from groundshare.units import DAY_S, EARTH_RADIUS_KM

MANIFEST_NAME = "_manifest.json"
FORMAT_NAME = "groundshare pass dataset"
FORMAT_VERSION = 1
# What a worker process holds besides the task's arrays: a Dask worker with numpy, sgp4 and pyarrow
# (about 130 MiB), the first task's one-time costs (numba compiling the pass kernel: about 200 MiB; a
# worker that compiled it while a task ran peaked at 685 MiB with 128 MiB of task arrays), one task's
# passes as an Arrow table.
WORKER_BASE_BYTES = 640 * 2**20
DEFAULT_MAX_WORKER_BYTES = 2 * 2**30
# Measured working memory of the search (peak RSS growth of ``_chunk_passes``): per satellite and
# grid time, per satellite, grid time and station (up to ~110 for high orbits, whose every point
# passes the screen; ~70 in LEO), and per 10 s sample of a pass over a masked station (~140).
SAT_TIME_BYTES = 400
POINT_BYTES = 150
MASK_SAMPLE_BYTES = 200
MU_KM3_S2 = 398_600.4418
# Parquet files: zstd is about a third smaller than snappy on pass columns, at little cost.
COMPRESSION = "zstd"
COLUMNS = ("norad_id", "satellite", "station", "sat_index", "site_index", "aos", "tca", "los",
           "max_elevation_deg", "aos_azimuth_deg", "tca_azimuth_deg", "los_azimuth_deg",
           "clipped_aos", "clipped_los")


# Planning: which satellites and stations each task takes.


def visible_fraction(element_set: ElementSet) -> float:
    """Return an upper estimate of the share of time a station sees the satellite (for mask costs).

    Twice the share of the Earth's surface under the satellite at apogee above the
    horizon plane, ``h / (R + h)``: about 0.07 at 500 km, 0.85 in GEO, at most 1.
    """
    n_rad_s = element_set.mean_motion_rev_day * 2.0 * math.pi / DAY_S
    a_km = (MU_KM3_S2 / n_rad_s**2) ** (1.0 / 3.0)
    h_km = max(a_km * (1.0 + element_set.eccentricity) - EARTH_RADIUS_KM, 0.0)
    return min(1.0, h_km / (EARTH_RADIUS_KM + h_km))


def task_cost_bytes(n_t: int, n_sites: int, n_masked: int, visible: float, duration_s: float) -> float:
    """Return the working memory of one satellite in a task: ``n_t`` grid times over ``n_sites`` stations.

    ``n_masked`` of the stations have a horizon mask, along whose passes the search
    samples every ``MASK_STEP_S`` for the ``visible`` share of the window.
    """
    return (n_t * (SAT_TIME_BYTES + n_sites * POINT_BYTES)
            + n_masked * visible * duration_s / MASK_STEP_S * MASK_SAMPLE_BYTES)


@dataclass(frozen=True)
class PartTask:
    """One task: satellites (``sat_index`` into the run's list) x one station group, and where to write."""

    task: int
    elements: list[ElementSet]
    sat_index: np.ndarray
    sites: list[Site]
    site_offset: int
    station_group: int
    start: datetime
    duration_s: float
    step_s: float
    root: str


@dataclass(frozen=True)
class TaskPlan:
    """How a catalogue is split: station groups (``group_of[k]`` for station k) and the tasks."""

    stations_per_group: int
    n_groups: int
    tasks: list[PartTask]
    task_bytes: int

    def group_of(self, site_index: int) -> int:
        return site_index // self.stations_per_group


def plan_tasks(elements: Sequence[ElementSet], sites: Sequence[Site], *, start: datetime, duration_s: float,
               root: str, workers: int = 1, max_worker_bytes: int = DEFAULT_MAX_WORKER_BYTES) -> TaskPlan:
    """Return the tasks that write ``elements`` x ``sites``, each within ``max_worker_bytes`` of memory.

    Stations go in equal consecutive groups, the largest for which one satellite of the
    costliest kind fits; each coarse step's satellites in chunks that fit, and small
    enough to give every worker several tasks.
    """
    budget = int(max_worker_bytes) - WORKER_BASE_BYTES
    steps = np.array([coarse_step_s(e) for e in elements])
    n_t = (duration_s // steps).astype(np.int64) + 2
    visible = np.array([visible_fraction(e) for e in elements])
    masked = np.array([s.has_mask for s in sites])
    n_sites = len(sites)

    def worst(group: int) -> float:
        n_masked = min(group, int(masked.sum()))
        return float(np.max(n_t * (SAT_TIME_BYTES + group * POINT_BYTES)
                            + n_masked * visible * duration_s / MASK_STEP_S * MASK_SAMPLE_BYTES))

    if budget <= 0 or worst(1) > budget:
        need = WORKER_BASE_BYTES + (worst(1) if budget > 0 else 0)
        raise InvalidInputError(f"max_worker_bytes is {max_worker_bytes:,}; one satellite over one station for "
                                f"{duration_s / DAY_S:g} days needs at least {math.ceil(need):,} bytes: raise it "
                                f"(e.g. --max-worker-bytes 2G) or shorten the window", loc=("max_worker_bytes",))
    lo, hi = 1, n_sites                # the largest group that fits: worst() grows with the group
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if worst(mid) <= budget else (lo, mid - 1)
    n_groups = math.ceil(n_sites / lo)
    per_group = math.ceil(n_sites / n_groups)
    groups = [range(k, min(k + per_group, n_sites)) for k in range(0, n_sites, per_group)]

    tasks: list[PartTask] = []
    for step in np.unique(steps):
        members = np.flatnonzero(steps == step)
        for g, group in enumerate(groups):
            n_masked = int(masked[group.start:group.stop].sum())
            costs = [task_cost_bytes(int(n_t[i]), len(group), n_masked, float(visible[i]), duration_s)
                     for i in members]
            fits = max(1, int(budget // max(costs)))
            balance = max(4, math.ceil(members.size * len(groups) / (4 * max(workers, 1))))
            size = min(fits, balance)
            for lo_i in range(0, members.size, size):
                idx = members[lo_i : lo_i + size]
                tasks.append(PartTask(len(tasks), [elements[i] for i in idx], idx, list(sites[group.start:group.stop]),
                                      group.start, g, start, duration_s, float(step), root))
    return TaskPlan(per_group, len(groups), tasks, budget)


# The task: search, then write its passes, one file per day.


@dataclass(frozen=True)
class PartSummary:
    """What a task sends back: its files (relative paths), rows, bytes, warnings, the worker's peak memory, times."""

    task: int
    rows: int
    bytes: int
    paths: list[str]
    warnings: list[tuple[int, str]]
    peak_rss_bytes: int
    compute_s: float
    max_pass_s: float
    satellites: int = 0
    pid: int = 0
    cpu_s: float = 0.0


def peak_rss_bytes() -> int:
    """Return this process's peak resident memory so far, in bytes.

    On Linux this is the high-water mark of the process's own memory (``VmHWM``):
    ``getrusage``'s ``ru_maxrss`` survives ``exec``, so a worker started from a large
    process (a Dask nanny in a client holding gigabytes) would report its parent's size.
    """
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def write_part(task: PartTask) -> PartSummary:
    """Run one task: find its passes and write them under ``task.root``, one file per AOS day."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    began, began_cpu = time.perf_counter(), time.process_time()
    columns, warnings = _chunk_passes(task.elements, task.sat_index, task.sites, task.start, task.duration_s,
                                      task.step_s)
    order = np.lexsort((columns["site_index"], columns["sat_index"], columns["aos"]))
    columns = {name: values[order] for name, values in columns.items()}
    local_sat = np.searchsorted(task.sat_index, columns["sat_index"])
    local_site = columns["site_index"]
    columns["site_index"] = (local_site + task.site_offset).astype(np.int32)
    norad = np.array([e.norad_id for e in task.elements], dtype=np.int64)
    sat_names = pa.array([e.name for e in task.elements], pa.string())
    site_names = pa.array([s.name for s in task.sites], pa.string())
    utc = pa.timestamp("us", tz="UTC")
    table = pa.table({
        "norad_id": pa.array(norad[local_sat]),
        "satellite": sat_names.take(pa.array(local_sat)),
        "station": site_names.take(pa.array(local_site)),
        "sat_index": pa.array(columns["sat_index"], pa.int32()),
        "site_index": pa.array(columns["site_index"], pa.int32()),
        **{name: pa.array(columns[name], utc) for name in ("aos", "tca", "los")},
        **{name: pa.array(columns[name]) for name in ("max_elevation_deg", "aos_azimuth_deg", "tca_azimuth_deg",
                                                      "los_azimuth_deg", "clipped_aos", "clipped_los")},
    })
    days = columns["aos"].astype("datetime64[D]")
    cuts = np.flatnonzero(days[1:] != days[:-1]) + 1
    paths, size = [], 0
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, days.size], strict=True):
        if hi <= lo:
            continue
        folder = Path(f"station_group={task.station_group:03d}") / f"day={days[lo]}"
        relative = folder / f"part-{task.task:05d}.parquet"
        target = Path(task.root) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        pq.write_table(table.slice(lo, hi - lo), temporary, compression=COMPRESSION)
        os.replace(temporary, target)
        paths.append(str(relative))
        size += target.stat().st_size
    longest = float(((columns["los"] - columns["aos"]) / np.timedelta64(1, "s")).max()) if days.size else 0.0
    return PartSummary(task.task, int(days.size), size, paths, warnings, peak_rss_bytes(),
                       time.perf_counter() - began, longest, len(task.elements), os.getpid(),
                       time.process_time() - began_cpu)


# The run: check, plan, map, manifest.


@dataclass(frozen=True)
class DatasetSummary:
    """What ``write_pass_dataset`` did: where, how much, and the workers' peak memory."""

    path: Path
    rows: int
    bytes: int
    files: int
    tasks: int
    station_groups: int
    stations_per_group: int
    warnings: list[str]
    max_worker_bytes: int
    peak_worker_rss_bytes: int
    compute_s: float
    parts: list[PartSummary] = field(repr=False)


def prepare_folder(path: Path, overwrite: bool) -> None:
    """Make ``path`` an empty folder; replace a pass dataset there only when ``overwrite``.

    A folder holding anything but a pass dataset (finished or not) is never emptied.
    """
    if path.exists() and not path.is_dir():
        raise InvalidInputError(f"{path} is a file; give a folder for the pass dataset", loc=("output",))
    entries = sorted(path.iterdir()) if path.is_dir() else []
    if entries:
        if not overwrite:
            raise InvalidInputError(f"{path} is not empty ({len(entries)} entries); write the passes into a new or "
                                    f"empty folder, or give --overwrite (overwrite=True) to replace the pass dataset "
                                    f"there", loc=("output",))
        foreign = [e.name for e in entries if not (e.name == MANIFEST_NAME or e.name.startswith("station_group=")
                                                     or (e.name.startswith(".") and e.name.endswith(".tmp")))]
        if foreign:
            raise InvalidInputError(f"{path} holds {', '.join(foreign[:5])}, which a pass dataset does not; "
                                    f"overwrite only replaces a pass dataset: choose another folder",
                                    loc=("output",))
        manifest = path / MANIFEST_NAME
        manifest.unlink(missing_ok=True)            # first: from now on it does not look complete
        for entry in entries:
            if entry.is_dir():
                shutil.rmtree(entry)
            elif entry.exists():
                entry.unlink()
    path.mkdir(parents=True, exist_ok=True)


def elements_digest(elements: Sequence[ElementSet]) -> str:
    """Return the SHA-256 of the element sets (their TLE lines, or their fields where there are none)."""
    digest = hashlib.sha256()
    for e in elements:
        text = f"{e.line1}\n{e.line2}" if e.line1 and e.line2 else repr(e)
        digest.update(f"{e.name}\n{text}\n".encode())
    return digest.hexdigest()


def write_pass_dataset(elements: Sequence[ElementSet], sites: Sequence[Site], path: str | os.PathLike[str], *,
                       start: datetime, duration_s: float, min_elevation_deg: float | None = None,
                       workers: int | None = None, executor: Executor | None = None,
                       max_worker_bytes: int = DEFAULT_MAX_WORKER_BYTES, overwrite: bool = False,
                       progress: Callable[[int, int], None] | None = None) -> DatasetSummary:
    """Write every pass of ``elements`` over ``sites`` as a partitioned Parquet dataset in folder ``path``.

    The search and its arguments are ``find_passes``'s (the same passes, bit for bit);
    ``workers`` local processes or ``executor`` (a Dask cluster: ``path`` must then be a
    folder the workers reach) run the tasks, and each task writes its own files.
    ``max_worker_bytes`` bounds the memory of a worker process running one task (see
    the module's docstring); ``path`` must be new or empty, or hold a pass dataset and
    ``overwrite`` be true.  ``progress(done, total)`` counts satellite-group pairs.
    """
    require_extras("writing a pass dataset", "parquet")
    start = require_utc(start, "start")
    elements, sites = list(elements), list(sites)
    check_inputs(elements, sites, duration_s)
    if not isinstance(max_worker_bytes, int) or max_worker_bytes <= 0:
        raise InvalidInputError(f"max_worker_bytes is {max_worker_bytes!r}; expected a positive number of bytes",
                                loc=("max_worker_bytes",))
    if min_elevation_deg is not None:
        sites = [s.with_min_elevation(min_elevation_deg) for s in sites]
    duration_s = float(duration_s)
    root = Path(path).resolve()
    executor = resolve_executor(executor, workers)
    plan = plan_tasks(elements, sites, start=start, duration_s=duration_s, root=str(root),
                      workers=executor.workers, max_worker_bytes=max_worker_bytes)
    prepare_folder(root, overwrite)

    done = 0
    total = len(elements) * plan.n_groups

    def finished(i: int) -> None:
        nonlocal done
        done += len(plan.tasks[i].elements)
        if progress:
            progress(done, total)

    parts: list[PartSummary] = executor.map(write_part, plan.tasks, progress=finished)
    for stray in root.glob("station_group=*/day=*/.part-*.tmp"):     # a task cut short and run again
        stray.unlink(missing_ok=True)
    warnings = [line for _, line in sorted({w for p in parts for w in p.warnings})]
    summary = DatasetSummary(root, sum(p.rows for p in parts), sum(p.bytes for p in parts),
                             sum(len(p.paths) for p in parts), len(plan.tasks), plan.n_groups,
                             plan.stations_per_group, warnings, max_worker_bytes,
                             max((p.peak_rss_bytes for p in parts), default=0), sum(p.compute_s for p in parts), parts)
    manifest = DatasetManifest.of_run(elements, sites, start, duration_s, min_elevation_deg, plan, summary,
                                      max(p.max_pass_s for p in parts))
    temporary = root / f".{MANIFEST_NAME}.tmp"
    temporary.write_text(manifest.to_json())
    os.replace(temporary, root / MANIFEST_NAME)
    return summary


# The manifest: what a dataset holds.


@dataclass(frozen=True)
class DatasetManifest:
    """The ``_manifest.json`` of a pass dataset: its parameters, satellites, stations and totals."""

    start: datetime
    duration_s: float
    min_elevation_deg: float | None
    norad_ids: list[int]
    sat_names: list[str]
    epochs: list[str]
    elements_sha256: str
    stations: list[dict[str, Any]]
    stations_per_group: int
    station_groups: int
    max_worker_bytes: int
    tasks: int
    passes: int
    bytes: int
    files: int
    max_pass_s: float
    warnings: list[dict[str, Any]]
    groundshare_version: str = __version__
    created: str = ""

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration_s)

    @property
    def site_names(self) -> list[str]:
        return [s["name"] for s in self.stations]

    @classmethod
    def of_run(cls, elements: Sequence[ElementSet], sites: Sequence[Site], start: datetime, duration_s: float,
               min_elevation_deg: float | None, plan: TaskPlan, summary: DatasetSummary,
               max_pass_s: float) -> DatasetManifest:
        stations = [{"name": s.name, "lat_deg": s.lat_deg, "lon_deg": s.lon_deg, "alt_m": s.alt_m,
                     "min_elevation_deg": s.min_elevation_deg, "horizon_mask": s.has_mask,
                     "station_group": plan.group_of(k)} for k, s in enumerate(sites)]
        warned = [{"sat_index": i, "norad_id": elements[i].norad_id, "message": line}
                  for i, line in sorted({w for p in summary.parts for w in p.warnings})]
        return cls(start=start, duration_s=duration_s, min_elevation_deg=min_elevation_deg,
                   norad_ids=[e.norad_id for e in elements], sat_names=[e.name for e in elements],
                   epochs=[format_utc(e.epoch) for e in elements], elements_sha256=elements_digest(elements),
                   stations=stations, stations_per_group=plan.stations_per_group, station_groups=plan.n_groups,
                   max_worker_bytes=summary.max_worker_bytes, tasks=summary.tasks, passes=summary.rows,
                   bytes=summary.bytes, files=summary.files, max_pass_s=max_pass_s, warnings=warned,
                   created=format_utc(datetime.now(UTC)))

    def to_json(self) -> str:
        epochs = self.epochs
        body = {
            "format": FORMAT_NAME, "format_version": FORMAT_VERSION,
            "groundshare_version": self.groundshare_version, "created": self.created,
            "parameters": {"start": format_utc(self.start), "end": format_utc(self.end),
                           "duration_s": self.duration_s, "min_elevation_deg": self.min_elevation_deg,
                           "max_worker_bytes": self.max_worker_bytes},
            "partitioning": {"flavor": "hive", "keys": ["station_group", "day"],
                             "day": "UTC date of the pass's AOS",
                             "station_group": "stations[k].station_group, consecutive groups of the station list"},
            "columns": list(COLUMNS),
            "elements": {"count": len(self.norad_ids), "sha256": self.elements_sha256,
                         "epoch_min": min(epochs), "epoch_max": max(epochs)},
            "satellites": {"norad_id": self.norad_ids, "name": self.sat_names, "epoch": epochs},
            "stations": self.stations, "stations_per_group": self.stations_per_group,
            "station_groups": self.station_groups,
            "totals": {"tasks": self.tasks, "passes": self.passes, "bytes": self.bytes, "files": self.files,
                       "max_pass_s": self.max_pass_s},
            "warnings": self.warnings,
        }
        return json.dumps(body, indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, where: str = "manifest") -> DatasetManifest:
        try:
            body = json.loads(text)
            if body.get("format") != FORMAT_NAME or body.get("format_version") != FORMAT_VERSION:
                raise InvalidInputError(f"{where} is not a {FORMAT_NAME} of version {FORMAT_VERSION} "
                                        f"(format {body.get('format')!r}, version {body.get('format_version')!r})",
                                        loc=("manifest",))
            p, sats, totals = body["parameters"], body["satellites"], body["totals"]
            return cls(start=datetime.fromisoformat(p["start"].replace("Z", "+00:00")),
                       duration_s=float(p["duration_s"]), min_elevation_deg=p["min_elevation_deg"],
                       norad_ids=list(sats["norad_id"]), sat_names=list(sats["name"]), epochs=list(sats["epoch"]),
                       elements_sha256=body["elements"]["sha256"], stations=list(body["stations"]),
                       stations_per_group=int(body["stations_per_group"]), station_groups=int(body["station_groups"]),
                       max_worker_bytes=int(p["max_worker_bytes"]), tasks=int(totals["tasks"]),
                       passes=int(totals["passes"]), bytes=int(totals["bytes"]), files=int(totals["files"]),
                       max_pass_s=float(totals["max_pass_s"]), warnings=list(body["warnings"]),
                       groundshare_version=body["groundshare_version"], created=body.get("created", ""))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            if isinstance(exc, InvalidInputError):
                raise
            raise InvalidInputError(f"{where} cannot be read ({type(exc).__name__}: {exc}); write the dataset "
                                    f"again with groundshare passes --output", loc=("manifest",)) from None


def read_manifest(path: str | os.PathLike[str]) -> DatasetManifest:
    """Return the manifest of the pass dataset in folder ``path``; refuse a folder without one."""
    file = Path(path) / MANIFEST_NAME
    if not file.is_file():
        what = "does not exist" if not Path(path).exists() else f"has no {MANIFEST_NAME}"
        raise InvalidInputError(f"{path} {what}: it is not a pass dataset, or its writing did not finish; write it "
                                f"with groundshare passes --output {path}", loc=("passes",))
    return DatasetManifest.from_json(file.read_text(), str(file))


# Reading: only the satellites, stations and time range asked for.


def pass_table_from_dataset(path: str | os.PathLike[str], *, satellites: Iterable[int] | None = None,
                            stations: Iterable[str] | None = None, start: datetime | None = None,
                            end: datetime | None = None) -> PassTable:
    """Return the passes of the dataset in ``path`` as a ``PassTable``, as ``find_passes`` would.

    ``satellites`` (NORAD ids) and ``stations`` (names) keep those only; ``start`` and
    ``end`` keep the passes that overlap ``[start, end]``.  Only the partitions that
    can hold them are read (station groups, and AOS days from ``start`` less the
    longest pass to ``end``).  The table's satellite and station lists are the whole
    dataset's, in its order, so that the same search gives the same indices; its rows
    are sorted as ``find_passes`` sorts them, and ``warnings`` are those of the
    satellites kept.
    """
    require_extras("reading a pass dataset", "parquet")
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    manifest = read_manifest(path)
    site_names = manifest.site_names
    expr = None

    def both(e: Any) -> None:
        nonlocal expr
        expr = e if expr is None else expr & e

    wanted_norad = None
    if satellites is not None:
        wanted_norad = sorted({int(n) for n in satellites})
        unknown = sorted(set(wanted_norad) - set(manifest.norad_ids))
        if unknown:
            raise InvalidInputError(f"NORAD id(s) {', '.join(map(str, unknown[:10]))} are not in the dataset {path}",
                                    loc=("satellites",))
        both(ds.field("norad_id").isin(wanted_norad))
    if stations is not None:
        wanted = sorted(set(stations))
        unknown_sites = [s for s in wanted if s not in site_names]
        if unknown_sites:
            raise InvalidInputError(f"station(s) {', '.join(unknown_sites[:10])} are not in the dataset {path}; it "
                                    f"has {len(site_names)} stations, e.g. {', '.join(site_names[:5])}",
                                    loc=("stations",))
        groups = sorted({manifest.stations[site_names.index(s)]["station_group"] for s in wanted})
        both(ds.field("station_group").isin(groups))
        both(ds.field("station").isin(wanted))
    utc = pa.timestamp("us", tz="UTC")
    if start is not None:
        start = require_utc(start, "start")
        first_day = (start - timedelta(seconds=manifest.max_pass_s)).date()
        both(ds.field("day") >= pa.scalar(first_day, pa.date32()))
        both(ds.field("los") >= pa.scalar(start, utc))
    if end is not None:
        end = require_utc(end, "end")
        both(ds.field("day") <= pa.scalar(end.date(), pa.date32()))
        both(ds.field("aos") <= pa.scalar(end, utc))
    partitioning = ds.partitioning(pa.schema([("station_group", pa.int32()), ("day", pa.date32())]), flavor="hive")
    dataset = ds.dataset(str(path), format="parquet", partitioning=partitioning)
    names = ["sat_index", "site_index", "aos", "tca", "los", "max_elevation_deg", "aos_azimuth_deg",
             "tca_azimuth_deg", "los_azimuth_deg", "clipped_aos", "clipped_los"]
    table = dataset.to_table(columns=names, filter=expr)
    columns = {}
    for name in names:
        values = table.column(name)
        if name in ("aos", "tca", "los"):
            values = pc.cast(values, pa.timestamp("us"))
        columns[name] = values.to_numpy()
    kept_sats = None if wanted_norad is None else set(wanted_norad)
    warnings = [w["message"] for w in manifest.warnings if kept_sats is None or w["norad_id"] in kept_sats]
    found = PassTable(columns, manifest.norad_ids, list(manifest.sat_names), site_names, warnings)
    order = np.lexsort((found.site_index, found.sat_index, found.aos))
    return found[order]

