"""``passes``: every pass of every satellite over every station in a window; and picking one pass.

Parsing and printing only: the search is ``passes.find_passes``, the link columns
``link.along``, and ``--output DIR`` is ``passes.dataset.write_pass_dataset`` (a Parquet
dataset written by the workers).  ``pick_pass`` is how ``doppler`` and ``track`` choose the pass they work
on (a station of the station file, a satellite of the element file, its N-th pass).
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from groundshare.cli.console import clock_text, count, needs_extras, user_errors, write_stdout
from groundshare.cli.link import itu_if_needed
from groundshare.cli.options import DaysOpt, ElementsOpt, LinkOpt, StartOpt, StationsOpt
from groundshare.errors import InvalidInputError
from groundshare.link import LinkConfig, load_link_config
from groundshare.orbits import ElementCatalog, ElementSet, ElementSetWarning, load_elements
from groundshare.parallel import Executor, make_executor
from groundshare.passes import PassTable, Site, find_passes
from groundshare.stations import load_stations
from groundshare.timeutil import parse_utc
from groundshare.units import DAY_S, HOUR_S, MINUTE_S

if TYPE_CHECKING:
    from groundshare.link.along import PassLinks

# A search is "long" (worth a progress bar) past either bound; below them it takes a few
# seconds at most on one core.
PROGRESS_MIN_SATELLITES = 200
PROGRESS_MIN_DAYS = 3.0
# SGP4 errors grow by roughly a kilometre a day from the epoch in LEO: past two weeks pass
# times can be off by minutes, so say so.
STALE_AFTER_DAYS = 14.0


class OutputFormat(StrEnum):
    """How ``passes`` prints its table."""

    table = "table"
    json = "json"
    csv = "csv"


MinElevationOpt = Annotated[float | None, typer.Option(
    "--min-elevation", metavar="DEG", min=-10.0, max=89.0, show_default=False,
    help="Minimum elevation in degrees for every station, replacing each station's own "
         "(horizon masks still apply).")]
FormatOpt = Annotated[OutputFormat, typer.Option(
    "--format", "-f", case_sensitive=False, help="table for people; json or csv for scripts.")]
LinkStepOpt = Annotated[float, typer.Option(
    "--link-step", metavar="S", min=0.1, max=60.0, help="Seconds between link-budget samples along a pass.")]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", "-j", min=1, metavar="N", show_default=False,
    help="Processes to search with (default: one per CPU).")]
OutputDirOpt = Annotated[Path | None, typer.Option(
    "--output", "-o", metavar="DIR", show_default=False,
    help="Write the passes as a partitioned Parquet dataset in folder DIR (station_group=NNN/day=YYYY-MM-DD/, "
         "written by the workers themselves; needs pip install 'groundshare[parquet]') instead of printing them.")]
OverwriteOpt = Annotated[bool, typer.Option(
    "--overwrite", help="With --output: replace the pass dataset already in DIR.")]
MaxWorkerBytesOpt = Annotated[str, typer.Option(
    "--max-worker-bytes", metavar="BYTES",
    help="With --output: memory bound of a worker process running one task, e.g. 2G or 512M; stations are "
         "searched in groups small enough to keep it.")]
ClusterOpt = Annotated[str | None, typer.Option(
    "--cluster", metavar="tcp://HOST:8786", show_default=False,
    help="Run the search on a Dask cluster (its scheduler's address; needs pip install 'groundshare[dask]' "
         "here and on the workers) instead of this machine's processes.")]


def passes(ctx: typer.Context, elements: ElementsOpt, stations: StationsOpt, start: StartOpt, days: DaysOpt,
           min_elevation: MinElevationOpt = None, output: FormatOpt = OutputFormat.table,
           link: LinkOpt = None, link_step: LinkStepOpt = 1.0, workers: WorkersOpt = None,
           cluster: ClusterOpt = None, output_dir: OutputDirOpt = None, overwrite: OverwriteOpt = False,
           max_worker_bytes: MaxWorkerBytesOpt = "2G") -> None:
    """Predict every pass of every satellite over every station in a window.

    Element records that fail to load are reported on stderr with their file and line.

    The passes of the good ones are still printed, and the exit status is then 1.
    With --output DIR they are written as a Parquet dataset instead, by the workers.
    """
    if workers is not None and cluster is not None:
        raise typer.BadParameter("give --workers N (processes on this machine) or --cluster tcp://HOST:8786 "
                                 "(a Dask scheduler), not both", param_hint="'--cluster'")
    if output_dir is not None:
        if link is not None:
            raise typer.BadParameter("--link cannot be combined with --output: the dataset holds the passes "
                                     "only; run --link on a smaller window without --output", param_hint="'--link'")
        needs_extras(ctx, "parquet", option="--output")
        _write_dataset(ctx, output_dir, elements=elements, stations=stations, start=start, days=days,
                       min_elevation=min_elevation, workers=workers, cluster=cluster, overwrite=overwrite,
                       max_worker_bytes=max_worker_bytes)
        return
    if overwrite or max_worker_bytes != "2G":
        option = "--overwrite" if overwrite else "--max-worker-bytes"
        raise typer.BadParameter(f"{option} goes with --output DIR (a Parquet dataset)", param_hint=f"'{option}'")
    with user_errors(ctx):
        sites = load_stations(stations)  # first: a typo here should not hide behind element errors
        link_config = load_link_config(link) if link is not None else None
        catalog = load_catalog(elements)
        window_start = parse_window_start(start, catalog.elements)
        _warn_if_stale(catalog.elements, window_start)
        began = time.monotonic()
        with make_executor(workers=workers, cluster=cluster) as executor:
            with _progress_bar(len(catalog), days) as progress:
                table = find_passes(catalog, sites, start=window_start, duration_s=days * DAY_S,
                                    min_elevation_deg=min_elevation, progress=progress, executor=executor)
            if link_config is not None and len(table):
                links = _links(table, catalog, sites, link_config, link_step, executor=executor)
                table = table.with_columns(**links.columns())
        write_stdout(FORMATTERS[output](table))
        for message in table.warnings:
            typer.echo(f"warning: {message}", err=True)
        typer.echo(_summary(table, sites, window_start, days, time.monotonic() - began), err=True)
        if catalog.errors:
            typer.echo(f"error: {len(catalog.errors)} of {len(catalog) + len(catalog.errors)} element records "
                       f"in {elements} could not be loaded (see above); passes are for the others", err=True)
            raise typer.Exit(1)


def _write_dataset(ctx: typer.Context, folder: Path, *, elements: Path, stations: Path, start: str, days: float,
                   min_elevation: float | None, workers: int | None, cluster: str | None, overwrite: bool,
                   max_worker_bytes: str) -> None:
    """``passes --output DIR``: the workers write the passes as a Parquet dataset; say what was written."""
    from groundshare.passes.dataset import write_pass_dataset

    with user_errors(ctx):
        limit = parse_bytes(max_worker_bytes, "--max-worker-bytes")
        sites = load_stations(stations)
        catalog = load_catalog(elements)
        window_start = parse_window_start(start, catalog.elements)
        _warn_if_stale(catalog.elements, window_start)
        began = time.monotonic()
        with (make_executor(workers=workers, cluster=cluster) as executor,
              _progress_bar(len(catalog), days) as progress):
            written = write_pass_dataset(catalog, sites, folder, start=window_start, duration_s=days * DAY_S,
                                         min_elevation_deg=min_elevation, executor=executor,
                                         max_worker_bytes=limit, overwrite=overwrite, progress=progress)
        for message in written.warnings:
            typer.echo(f"warning: {message}", err=True)
        end = window_start + timedelta(days=days)
        typer.echo(f"wrote {count(written.rows, 'pass')} of {count(len(catalog), 'satellite')} over "
                   f"{count(len(sites), 'station')} ({count(written.station_groups, 'station group')} of at most "
                   f"{written.stations_per_group}), {window_start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC, "
                   f"to {written.path}: {count(written.files, 'file')}, {_bytes(written.bytes)}, "
                   f"{count(written.tasks, 'task')} (searched in {time.monotonic() - began:.1f} s)", err=True)
        if catalog.errors:
            typer.echo(f"error: {len(catalog.errors)} of {len(catalog) + len(catalog.errors)} element records "
                       f"in {elements} could not be loaded (see above); passes are for the others", err=True)
            raise typer.Exit(1)


BYTE_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_bytes(text: str, option: str) -> int:
    """Return the bytes of ``2G``, ``512M``, ``1.5G`` or ``2000000000`` (K, M, G, T: powers of 1024)."""
    cleaned = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = cleaned[-1:] if cleaned[-1:] in BYTE_UNITS else ""
    try:
        value = float(cleaned[: len(cleaned) - len(unit)])
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value > 0):
        raise InvalidInputError(f"{option} is {text!r}; expected a size such as 2G, 512M or 2000000000 (bytes)",
                                loc=(option,))
    return int(value * BYTE_UNITS[unit])


# Reading the inputs: element and station files, the window.


def load_catalog(path: Path) -> ElementCatalog:
    """Return the element catalog of ``path``, printing each bad record to stderr."""
    with warnings.catch_warnings():
        # The warning says "some records were bad"; the CLI prints each error instead.
        warnings.simplefilter("ignore", ElementSetWarning)
        catalog = load_elements(path)
    for error in catalog.errors:
        typer.echo(f"error: {error}", err=True)
    if not catalog.elements:
        raise InvalidInputError(f"{path}: none of its {len(catalog.errors)} element records could be loaded",
                                loc=("file", str(path)))
    return catalog


def parse_window_start(text: str, elements: Sequence[ElementSet]) -> datetime:
    """Return the window start of ``--start``: ISO 8601 UTC, 'now' or 'epoch'."""
    if text.strip().lower() == "epoch":
        newest = max(e.epoch for e in elements)
        return newest.replace(minute=0, second=0, microsecond=0)
    try:
        return parse_utc(text, "--start")
    except InvalidInputError as exc:
        raise InvalidInputError(f"{exc}\n--start also takes 'now', or 'epoch' for the newest element epoch "
                                f"floored to the hour", loc=exc.loc) from None


@dataclass(frozen=True)
class PickedPass:
    """One pass of one satellite over one station: ``table`` holds that pass alone."""

    site: Site
    satellite: ElementSet
    table: PassTable


def pick_pass(elements: Path, stations: Path, *, norad: int, station: str, start: str, days: float,
              pass_number: int, fix: str = "widen --days or pick a smaller --pass") -> PickedPass:
    """Return the ``pass_number``-th pass (from 1) of NORAD ``norad`` over ``station`` in the window.

    ``station`` is a name of the station file ``stations``; ``start`` is ``--start`` as
    given.  A missing station, satellite or pass is an ``InvalidInputError`` naming the
    option at fault (``fix`` says what to do about a missing pass).
    """
    sites = load_stations(stations)
    names = [s.name for s in sites]
    if station not in names:
        raise InvalidInputError(f"--station {station!r} is not in {stations}; it has: {', '.join(names)}",
                                loc=("--station",))
    site = sites[names.index(station)]
    catalog = load_catalog(elements)
    satellite = catalog.by_norad_id(norad)
    window_start = parse_window_start(start, catalog.elements)
    table = find_passes([satellite], [site], start=window_start, duration_s=days * DAY_S, workers=1)
    if len(table) < pass_number:
        raise InvalidInputError(f"NORAD {norad} makes {len(table)} pass(es) over {station} in the window; "
                                f"--pass {pass_number} does not exist ({fix})", loc=("--pass",))
    return PickedPass(site=site, satellite=satellite, table=table[pass_number - 1 : pass_number])


def _warn_if_stale(elements: Sequence[ElementSet], start: datetime) -> None:
    """Warn on stderr when the window starts long after the newest element epoch."""
    newest = max(e.epoch for e in elements)
    age_days = (start - newest).total_seconds() / DAY_S
    if age_days > STALE_AFTER_DAYS:
        typer.echo(f"warning: the window starts {age_days:.0f} days after the newest element epoch "
                   f"({newest:%Y-%m-%d %H:%M} UTC); pass times may be off by minutes, use fresher elements",
                   err=True)


def _links(table: PassTable, elements: Sequence[ElementSet], sites: Sequence[Site], config: LinkConfig,
           step_s: float, executor: Executor | None = None) -> PassLinks:
    """Return the link budget along every pass of ``table``, with ITU-R losses where left out."""
    from groundshare.link.along import link_along_passes
    from groundshare.passes.track import sample_passes

    tracks = sample_passes(table, elements, sites, step_s=step_s, executor=executor)
    return link_along_passes(table, tracks, config, sites, atmosphere=itu_if_needed(config))


@contextmanager
def _progress_bar(n_satellites: int, days: float) -> Iterator[Callable[[int, int], None] | None]:
    """Yield a ``progress(done, total)`` callback drawing a bar on stderr, or None.

    The bar is drawn only for long searches and only when stderr is a terminal, so logs
    and captured output never hold control characters; stdout is never touched.
    """
    long_run = n_satellites > PROGRESS_MIN_SATELLITES or days > PROGRESS_MIN_DAYS
    if not (long_run and sys.stderr.isatty()):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("searching passes"), BarColumn(), MofNCompleteColumn(), TextColumn("satellites"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("passes", total=n_satellites)
        yield lambda done, total: bar.update(task, completed=done, total=total)


# Printing the table and the summary.


def _format_table(table: PassTable) -> str:
    """Return the passes as plain aligned text, one line per pass, times in UTC ("" if none)."""
    if not len(table):
        return ""
    has_link = "min_margin_db" in table.extra_names
    header = ("Satellite", "NORAD", "Station", "AOS (UTC)", "TCA (UTC)", "LOS (UTC)", "Max el",
              "AOS az", "LOS az", "Duration", *(("Min margin", "Max margin", "Volume") if has_link else ()), "")
    rows = [(p.name, str(p.norad_id), p.station, clock_text(p.aos), clock_text(p.tca), clock_text(p.los),
             f"{p.max_elevation_deg:.1f}°", f"{p.aos_azimuth_deg:.1f}°", f"{p.los_azimuth_deg:.1f}°",
             _duration(p.duration_s), *(_link_cells(p.extra) if has_link else ()),
             "*" if p.clipped else "") for p in table]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {1, 6, 7, 8, 9, 10, 11, 12}  # numbers align right
    lines = ["  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
             for row in [header, *rows]]
    return "\n".join(lines)


def _link_cells(extra: dict[str, float]) -> tuple[str, str, str]:
    """Return the margin and volume cells of a pass with a link budget."""
    return (f"{extra['min_margin_db']:.1f} dB", f"{extra['max_margin_db']:.1f} dB",
            _bytes(extra["volume_bytes"]))


def _bytes(n: float) -> str:
    """Return a byte count as ``0 B``, ``512 kB``, ``3.4 MB`` or ``1.2 GB`` (powers of 1000)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}" if n < 100 * size else f"{n / size:.0f} {unit}"
    return f"{n:.0f} B"


def _duration(seconds: float) -> str:
    """Return a duration as ``12m 05s`` (or ``3h 02m`` for long passes of high orbits)."""
    seconds = round(seconds)
    hour_s, minute_s = round(HOUR_S), round(MINUTE_S)
    if seconds >= hour_s:
        return f"{seconds // hour_s}h {seconds % hour_s // minute_s:02d}m"
    return f"{seconds // minute_s}m {seconds % minute_s:02d}s"


def _summary(table: PassTable, sites: Sequence[Site], start: datetime, days: float, elapsed_s: float) -> str:
    """Return the one-line summary of a search, for stderr."""
    n_sat = len(table.norad_ids)
    risen = len(set(table.sat_index.tolist()))
    end = start + timedelta(days=days)
    line = (f"{count(len(table), 'pass')} of {count(risen, 'satellite')} over "
            f"{count(len(sites), 'station')}, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC "
            f"({count(days, 'day')}, searched in {elapsed_s:.1f} s)")
    if risen < n_sat:
        line += f"; {n_sat - risen} of {n_sat} satellites never rose above the minimum elevation"
    clipped = int(table.clipped.sum())
    if clipped:
        line += f"; * marks {count(clipped, 'pass')} cut by the window (or an SGP4 failure)"
    return line


FORMATTERS: dict[OutputFormat, Callable[[PassTable], str]] = {
    OutputFormat.table: _format_table, OutputFormat.json: PassTable.to_json,
    OutputFormat.csv: PassTable.to_csv}
