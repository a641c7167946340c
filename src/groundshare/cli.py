"""The ``groundshare`` command line: one thin Typer command per task.

Tables and JSON/CSV go to stdout; summaries, warnings, progress and errors go to
stderr, so that ``groundshare passes --format json ... | jq`` always gets clean output.
A ``GroundshareError`` becomes ``error: <message>`` and exit status 1 (with the
traceback only under ``--verbose``); Typer's own usage errors exit with 2.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from groundshare import __version__
from groundshare.errors import ConflictError, GroundshareError, InvalidInputError, NotFoundError
from groundshare.link import AtmosphereModel, LinkBudget, LinkConfig, link_budget, load_link_config
from groundshare.orbits import ElementCatalog, ElementSet, ElementSetWarning, load_elements
from groundshare.parallel import Executor, make_executor
from groundshare.passes import PassTable, Site, find_passes
from groundshare.stations import load_stations
from groundshare.timeutil import format_utc, parse_utc

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from groundshare.agent.hamlib import Rig, Rotator
    from groundshare.link.along import PassLinks
    from groundshare.store import NetworkTime, Organisation
    from groundshare.store.planning import PlanRun

MAX_DAYS = 400.0
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


@dataclass(frozen=True)
class CliState:
    """Options of the top-level callback, shared with every command through ``ctx.obj``."""

    verbose: bool = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"groundshare {__version__}")
        raise typer.Exit()


def _check_days(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and 0.0 < value <= MAX_DAYS):
        raise typer.BadParameter(f"{value:g} is not a window length; expected days in (0, {MAX_DAYS:g}], "
                                 f"e.g. 1 or 0.25")
    return value


VersionOpt = Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                          help="Print the version and exit.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks with errors.")]
ElementsOpt = Annotated[Path, typer.Option(
    "--elements", "-e", metavar="FILE", show_default=False,
    help="Element-set file: TLE/3LE or CCSDS OMM (JSON, CSV, XML, KVN).")]
StationsOpt = Annotated[Path, typer.Option(
    "--stations", "-s", metavar="FILE", show_default=False,
    # The backslashes keep Typer's rich markup from reading [[station]] as a style tag.
    help=r"Station file: TOML with one \[\[station]] table per station (see data/demo_stations.toml).")]
StartOpt = Annotated[str, typer.Option(
    "--start", metavar="ISO|now|epoch", show_default=False,
    help="Window start: ISO 8601 UTC such as 2025-11-07T00:00Z, 'now', or 'epoch' for the newest "
         "epoch in the element file floored to the start of its UTC hour.")]
DaysOpt = Annotated[float, typer.Option(
    "--days", "-d", metavar="N", show_default=False, callback=_check_days,
    help=f"Window length in days, more than 0 and at most {MAX_DAYS:g} (0.25 is six hours).")]
MinElevationOpt = Annotated[float | None, typer.Option(
    "--min-elevation", metavar="DEG", min=-10.0, max=89.0, show_default=False,
    help="Minimum elevation in degrees for every station, replacing each station's own "
         "(horizon masks still apply).")]
FormatOpt = Annotated[OutputFormat, typer.Option(
    "--format", "-f", case_sensitive=False, help="table for people; json or csv for scripts.")]
LinkOpt = Annotated[Path | None, typer.Option(
    "--link", metavar="FILE", show_default=False,
    help="Link file (TOML, see data/demo_link_uhf.toml): add each pass's minimum and maximum margin, "
         "usable time and data volume.")]
LinkStepOpt = Annotated[float, typer.Option(
    "--link-step", metavar="S", min=0.1, max=60.0, help="Seconds between link-budget samples along a pass.")]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", "-j", min=1, metavar="N", show_default=False,
    help="Processes to search with (default: one per CPU).")]
ClusterOpt = Annotated[str | None, typer.Option(
    "--cluster", metavar="tcp://HOST:8786", show_default=False,
    help="Run the search on a Dask cluster (its scheduler's address; needs pip install 'groundshare[dask]' "
         "here and on the workers) instead of this machine's processes.")]

app = typer.Typer(
    name="groundshare",
    help="Run partner space agencies' satellite ground stations as one shared network.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def main(ctx: typer.Context, version: VersionOpt = False, verbose: VerboseOpt = False) -> None:
    """Run partner space agencies' satellite ground stations as one shared network."""
    ctx.obj = CliState(verbose=verbose)


@contextmanager
def user_errors(ctx: typer.Context) -> Iterator[None]:
    """Turn a ``GroundshareError`` into ``error: <message>`` on stderr and exit status 1."""
    try:
        yield
    except GroundshareError as exc:
        state = ctx.find_root().obj
        if isinstance(state, CliState) and state.verbose:
            typer.echo(traceback.format_exc().rstrip(), err=True)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def passes(ctx: typer.Context, elements: ElementsOpt, stations: StationsOpt, start: StartOpt, days: DaysOpt,
           min_elevation: MinElevationOpt = None, output: FormatOpt = OutputFormat.table,
           link: LinkOpt = None, link_step: LinkStepOpt = 1.0, workers: WorkersOpt = None,
           cluster: ClusterOpt = None) -> None:
    """Predict every pass of every satellite over every station in a window.

    Element records that fail to load are reported on stderr with their file and line.

    The passes of the good ones are still printed, and the exit status is then 1.
    """
    if workers is not None and cluster is not None:
        raise typer.BadParameter("give --workers N (processes on this machine) or --cluster tcp://HOST:8786 "
                                 "(a Dask scheduler), not both", param_hint="'--cluster'")
    with user_errors(ctx):
        sites = load_stations(stations)  # first: a typo here should not hide behind element errors
        link_config = load_link_config(link) if link is not None else None
        catalog = _load_catalog(elements)
        window_start = _window_start(start, catalog.elements)
        _warn_if_stale(catalog.elements, window_start)
        began = time.monotonic()
        with make_executor(workers=workers, cluster=cluster) as executor:
            with _progress_bar(len(catalog), days) as progress:
                table = find_passes(catalog, sites, start=window_start, duration_s=days * 86_400.0,
                                    min_elevation_deg=min_elevation, progress=progress, executor=executor)
            if link_config is not None and len(table):
                links = _links(table, catalog, sites, link_config, link_step, executor=executor)
                table = table.with_columns(**links.columns())
        _write_stdout(FORMATTERS[output](table))
        for message in table.warnings:
            typer.echo(f"warning: {message}", err=True)
        typer.echo(_summary(table, sites, window_start, days, time.monotonic() - began), err=True)
        if catalog.errors:
            typer.echo(f"error: {len(catalog.errors)} of {len(catalog) + len(catalog.errors)} element records "
                       f"in {elements} could not be loaded (see above); passes are for the others", err=True)
            raise typer.Exit(1)


# Helpers of ``passes``: parsing and printing only, no pass logic.


def _links(table: PassTable, elements: Sequence[ElementSet], sites: Sequence[Site], config: LinkConfig,
           step_s: float, executor: Executor | None = None) -> PassLinks:
    """Return the link budget along every pass of ``table``, with ITU-R losses where left out."""
    from groundshare.link.along import link_along_passes
    from groundshare.passes.track import sample_passes

    tracks = sample_passes(table, elements, sites, step_s=step_s, executor=executor)
    return link_along_passes(table, tracks, config, sites, atmosphere=_itu_if_needed(config))


def _itu_if_needed(config: LinkConfig) -> AtmosphereModel | None:
    """Return the ITU-R atmosphere model when the link file leaves a loss out, else None."""
    if config.path.atmospheric_loss_db is not None and config.path.rain_loss_db is not None:
        return None
    from groundshare.link.atmosphere import ItuAtmosphere  # itur is slow to import: only when needed

    return ItuAtmosphere()


def _load_catalog(path: Path) -> ElementCatalog:
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


def _window_start(text: str, elements: Sequence[ElementSet]) -> datetime:
    """Return the window start of ``--start``: ISO 8601 UTC, 'now' or 'epoch'."""
    if text.strip().lower() == "epoch":
        newest = max(e.epoch for e in elements)
        return newest.replace(minute=0, second=0, microsecond=0)
    try:
        return parse_utc(text, "--start")
    except InvalidInputError as exc:
        raise InvalidInputError(f"{exc}\n--start also takes 'now', or 'epoch' for the newest element epoch "
                                f"floored to the hour", loc=exc.loc) from None


def _warn_if_stale(elements: Sequence[ElementSet], start: datetime) -> None:
    """Warn on stderr when the window starts long after the newest element epoch."""
    newest = max(e.epoch for e in elements)
    age_days = (start - newest).total_seconds() / 86_400.0
    if age_days > STALE_AFTER_DAYS:
        typer.echo(f"warning: the window starts {age_days:.0f} days after the newest element epoch "
                   f"({newest:%Y-%m-%d %H:%M} UTC); pass times may be off by minutes, use fresher elements",
                   err=True)


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


def _format_table(table: PassTable) -> str:
    """Return the passes as plain aligned text, one line per pass, times in UTC ("" if none)."""
    if not len(table):
        return ""
    has_link = "min_margin_db" in table.extra_names
    header = ("Satellite", "NORAD", "Station", "AOS (UTC)", "TCA (UTC)", "LOS (UTC)", "Max el",
              "AOS az", "LOS az", "Duration", *(("Min margin", "Max margin", "Volume") if has_link else ()), "")
    rows = [(p.name, str(p.norad_id), p.station, _clock(p.aos), _clock(p.tca), _clock(p.los),
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


def _clock(value: datetime) -> str:
    """Return ``YYYY-MM-DD HH:MM:SS``, rounded to the nearest second."""
    return (value + timedelta(microseconds=500_000)).strftime("%Y-%m-%d %H:%M:%S")


def _duration(seconds: float) -> str:
    """Return a duration as ``12m 05s`` (or ``3h 02m`` for long passes of high orbits)."""
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m {seconds % 60:02d}s"


def _summary(table: PassTable, sites: Sequence[Site], start: datetime, days: float, elapsed_s: float) -> str:
    """Return the one-line summary of a search, for stderr."""
    n_sat = len(table.norad_ids)
    risen = len(set(table.sat_index.tolist()))
    end = start + timedelta(days=days)
    line = (f"{_count(len(table), 'pass')} of {_count(risen, 'satellite')} over "
            f"{_count(len(sites), 'station')}, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC "
            f"({_count(days, 'day')}, searched in {elapsed_s:.1f} s)")
    if risen < n_sat:
        line += f"; {n_sat - risen} of {n_sat} satellites never rose above the minimum elevation"
    clipped = int(table.clipped.sum())
    if clipped:
        line += f"; * marks {_count(clipped, 'pass')} cut by the window (or an SGP4 failure)"
    return line


def _count(n: float, noun: str) -> str:
    """Return ``"1 pass"``, ``"3 passes"``, ``"0.25 days"``."""
    plural = noun + ("es" if noun.endswith("s") else "s")
    return f"{n:g} {noun if n == 1 else plural}"


FORMATTERS: dict[OutputFormat, Callable[[PassTable], str]] = {
    OutputFormat.table: _format_table, OutputFormat.json: PassTable.to_json,
    OutputFormat.csv: PassTable.to_csv}


def _write_stdout(text: str) -> None:
    """Write ``text`` to stdout; a closed pipe (``| head``) is not an error."""
    if text and not text.endswith("\n"):
        text += "\n"
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at /dev/null so that the flush at exit does not fail again
        # (the recipe of Python's signal documentation), then go on to stderr.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


# ``link``: radio link budgets.


class BudgetFormat(StrEnum):
    """How ``link budget`` prints the budget."""

    table = "table"
    json = "json"


LinkConfigOpt = Annotated[Path, typer.Option(
    "--config", "-c", metavar="FILE", show_default=False,
    help=r"Link file: TOML with \[link], \[transmitter], \[receiver], \[path] and \[geometry] tables.")]
BudgetFormatOpt = Annotated[BudgetFormat, typer.Option(
    "--format", "-f", case_sensitive=False, help="table for people; json for scripts.")]

link_app = typer.Typer(name="link", help="Radio link budgets between satellites and stations.",
                       no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(link_app)


ElevationOpt = Annotated[float | None, typer.Option(
    "--elevation-deg", metavar="DEG", min=0.0, max=90.0, show_default=False,
    help=r"Elevation of the satellite, replacing \[geometry] elevation_deg.")]
AltitudeOpt = Annotated[float | None, typer.Option(
    "--altitude-km", metavar="KM", min=100.0, max=100_000.0, show_default=False,
    help="Orbit altitude: the slant range follows from it and the elevation (spherical Earth).")]
RangeOpt = Annotated[float | None, typer.Option(
    "--range-km", metavar="KM", min=100.0, max=500_000.0, show_default=False,
    help="Slant range to the satellite, instead of --altitude-km.")]


@link_app.command("budget")
def link_budget_command(ctx: typer.Context, config: LinkConfigOpt, output: BudgetFormatOpt = BudgetFormat.table,
                        elevation_deg: ElevationOpt = None, altitude_km: AltitudeOpt = None,
                        range_km: RangeOpt = None) -> None:
    r"""Print the downlink budget of a link file at one point: its \[geometry], or the one the options give.

    --elevation-deg, --altitude-km and --range-km replace the file's \[geometry] keys of
    the same names (a link file for passes --link needs no \[geometry] of its own).
    """
    if altitude_km is not None and range_km is not None:
        raise typer.BadParameter("give --altitude-km (with --elevation-deg) or --range-km, not both",
                                 param_hint="'--range-km'")
    with user_errors(ctx):
        link_config = _with_geometry(load_link_config(config), elevation_deg, altitude_km, range_km)
        budget = link_budget(link_config, atmosphere=_itu_if_needed(link_config))
        text = _format_budget(budget) if output is BudgetFormat.table else json.dumps(budget.to_dict(), indent=2)
        _write_stdout(text)


def _with_geometry(config: LinkConfig, elevation_deg: float | None, altitude_km: float | None,
                   range_km: float | None) -> LinkConfig:
    """Return ``config`` with the ``[geometry]`` keys the options give replaced; refuse a budget without one."""
    import dataclasses

    from groundshare.link.config import Geometry

    geometry = config.geometry or Geometry()
    if range_km is not None:
        geometry = dataclasses.replace(geometry, range_km=range_km, altitude_km=None)
    if altitude_km is not None:
        geometry = dataclasses.replace(geometry, altitude_km=altitude_km, range_km=None)
    if elevation_deg is not None:
        geometry = dataclasses.replace(geometry, elevation_deg=elevation_deg)
    if geometry.range_km is None and (geometry.altitude_km is None or geometry.elevation_deg is None):
        have = "has no [geometry]" if config.geometry is None else "gives no slant range"
        raise InvalidInputError(
            f"{config.source}: the link file {have}, and a budget at one point needs one; give the satellite's place, "
            f"e.g. --altitude-km 500 --elevation-deg 10 (or --range-km 1700), or add [geometry] with altitude_km "
            f"and elevation_deg to the file", loc=("--elevation-deg",))
    min_deg = config.receiver.min_elevation_deg
    if geometry.elevation_deg is not None and min_deg is not None and geometry.elevation_deg < min_deg:
        raise InvalidInputError(f"--elevation-deg {geometry.elevation_deg:g} is below the receiver's "
                                f"min_elevation_deg {min_deg:g} in {config.source}; the station does not track there, "
                                f"e.g. --elevation-deg {max(min_deg, 10.0):g}", loc=("--elevation-deg",))
    return dataclasses.replace(config, geometry=geometry)


# Rows of the budget table: field, label, unit, decimals.
BUDGET_ROWS = (
    ("slant_range_km", "Slant range", "km", 3),
    ("path_loss_db", "Free-space path loss", "dB", 3),
    ("eirp_dbw", "EIRP", "dBW", 3),
    ("system_noise_temperature_k", "System noise temperature", "K", 2),
    ("g_over_t_dbk", "G/T", "dB/K", 3),
    ("cn0_dbhz", "C/N0", "dBHz", 3),
    ("esn0_db", "Es/N0", "dB", 3),
    ("ebn0_db", "Eb/N0", "dB", 3),
    ("margin_db", "Margin", "dB", 3),
)


def _format_budget(budget: LinkBudget) -> str:
    """Return the budget as an aligned quantity/value/unit table (rows without a value left out)."""
    rows = [(label, f"{getattr(budget, field):.{decimals}f}", unit)
            for field, label, unit, decimals in BUDGET_ROWS if getattr(budget, field) is not None]
    header = ("Quantity", "Value", "Unit")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    return "\n".join(f"{q.ljust(widths[0])}  {v.rjust(widths[1])}  {u}".rstrip() for q, v, u in [header, *rows])


# ``doppler``: a pass's Doppler table for radio software.

NoradOpt = Annotated[int, typer.Option("--norad", metavar="ID", min=0, show_default=False,
                                       help="NORAD catalogue number of the satellite.")]
StationNameOpt = Annotated[str, typer.Option("--station", metavar="NAME", show_default=False,
                                             help="Name of the station, as in the station file.")]
PassNumberOpt = Annotated[int, typer.Option("--pass", metavar="N", min=1,
                                            help="Which of the satellite's passes over the station (1 = first).")]
FrequencyOpt = Annotated[float | None, typer.Option(
    "--frequency-hz", metavar="HZ", min=1.0, show_default=False,
    help="Carrier frequency as transmitted; or give --link to take the link file's frequency_hz.")]
DopplerStepOpt = Annotated[float, typer.Option("--step", metavar="S", min=0.1, max=60.0,
                                               help="Seconds between rows.")]
UplinkOpt = Annotated[bool, typer.Option("--uplink", help="Give the frequency to transmit so that the "
                                                          "satellite receives --frequency-hz.")]


@app.command()
def doppler(ctx: typer.Context, elements: ElementsOpt, stations: StationsOpt, norad: NoradOpt,
            station: StationNameOpt, start: StartOpt, days: DaysOpt, pass_number: PassNumberOpt = 1,
            frequency_hz: FrequencyOpt = None, link: LinkOpt = None, step: DopplerStepOpt = 1.0,
            uplink: UplinkOpt = False) -> None:
    """Print one pass's Doppler table as CSV: time, frequency to tune to, shift and its rate.

    Columns: time_utc, frequency_hz, doppler_hz, doppler_rate_hz_s, range_rate_m_s,
    azimuth_deg, elevation_deg.
    """
    from groundshare.link.doppler import doppler_rate_hz_s, doppler_shift_hz
    from groundshare.passes.track import sample_passes
    with user_errors(ctx):
        if (frequency_hz is None) == (link is None):
            raise InvalidInputError("give the carrier with exactly one of --frequency-hz or --link",
                                    loc=("--frequency-hz",))
        carrier_hz = frequency_hz if frequency_hz is not None else load_link_config(link).link.frequency_hz
        sites = load_stations(stations)
        names = [s.name for s in sites]
        if station not in names:
            raise InvalidInputError(f"--station {station!r} is not in {stations}; it has: {', '.join(names)}",
                                    loc=("--station",))
        catalog = _load_catalog(elements)
        satellite = catalog.by_norad_id(norad)
        site = sites[names.index(station)]
        window_start = _window_start(start, catalog.elements)
        table = find_passes([satellite], [site], start=window_start, duration_s=days * 86_400.0, workers=1)
        if len(table) < pass_number:
            raise InvalidInputError(
                f"NORAD {norad} makes {len(table)} pass(es) over {station} in the window; --pass {pass_number} "
                "does not exist (widen --days or pick a smaller --pass)", loc=("--pass",))
        one = table[pass_number - 1 : pass_number]
        track = sample_passes(one, [satellite], [site], step_s=step)
        shift = doppler_shift_hz(carrier_hz, track.range_rate_km_s)
        rate = doppler_rate_hz_s(carrier_hz, track.range_accel_km_s2)
        tuned = carrier_hz - shift if uplink else carrier_hz + shift
        lines = ["time_utc,frequency_hz,doppler_hz,doppler_rate_hz_s,range_rate_m_s,azimuth_deg,elevation_deg"]
        for i in range(len(track)):
            when = format_utc(datetime.fromisoformat(str(track.time[i])).replace(tzinfo=UTC))
            lines.append(f"{when},{tuned[i]:.1f},{shift[i]:.1f},{rate[i]:.3f},"
                         f"{track.range_rate_km_s[i] * 1000.0:.3f},{track.az_deg[i]:.3f},{track.el_deg[i]:.3f}")
        _write_stdout("\n".join(lines))
        p = one[0]
        typer.echo(f"{p.name} (NORAD {norad}) over {station}: AOS {_clock(p.aos)}, LOS {_clock(p.los)} UTC, "
                   f"max elevation {p.max_elevation_deg:.1f}°, {len(track)} rows"
                   + ("; clipped by the window" if p.clipped else ""), err=True)


# ``db`` and ``admin``: the shared network's database.  The store (SQLAlchemy) is imported
# inside the commands, so that ``groundshare passes`` never pays for it.


class OrgKindChoice(StrEnum):
    """``--kind`` of ``admin create-org`` (``store.OrgKind``'s values)."""

    agency = "agency"
    company = "company"
    university = "university"


class RoleChoice(StrEnum):
    """``--role`` of ``admin create-token`` (``store.Role``'s values)."""

    admin = "admin"
    operator = "operator"
    viewer = "viewer"


DatabaseUrlOpt = Annotated[str | None, typer.Option(
    "--database-url", metavar="URL", envvar="GROUNDSHARE_DATABASE_URL", show_default=False,
    help="sqlite:///FILE or postgresql://user@host:5432/db (default: groundshare.db in the user's data folder).")]
OrgKindOpt = Annotated[OrgKindChoice, typer.Option("--kind", case_sensitive=False, help="What the partner is.")]
OrgOpt = Annotated[str, typer.Option("--org", metavar="NAME", show_default=False,
                                     help="Name of the organisation the token acts for.")]
RoleOpt = Annotated[RoleChoice, typer.Option("--role", case_sensitive=False,
                                             help="What the token may do within its organisation.")]
LabelOpt = Annotated[str, typer.Option("--label", help="A note to recognise the token by later.")]

db_app = typer.Typer(name="db", help="Create and migrate groundshare's database.",
                     no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})
admin_app = typer.Typer(name="admin", help="Manage organisations and their API tokens.",
                        no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(db_app)
app.add_typer(admin_app)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, database_url: DatabaseUrlOpt = None) -> None:
    """Create the database's tables, or migrate them to this version of groundshare."""
    from groundshare.store.migrate import upgrade

    with user_errors(ctx):
        revision = upgrade(database_url)
        typer.echo(f"{_shown_url(database_url)} is at revision {revision} (the newest)", err=True)


@admin_app.command("create-org")
def admin_create_org(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The organisation's name.")],
                     kind: OrgKindOpt = OrgKindChoice.agency, database_url: DatabaseUrlOpt = None) -> None:
    """Add a partner organisation; prints its id on stdout."""
    from groundshare.store import Organisation, OrgKind

    with user_errors(ctx):
        with _store_session(database_url) as session:
            if _find_org(session, name) is not None:
                raise ConflictError(f"organisation {name!r} already exists; choose another name, or issue it a "
                                    f"token with:  groundshare admin create-token --org {_quoted(name)}")
            org = Organisation(name=name, kind=OrgKind(kind.value))
            session.add(org)
            session.flush()
        typer.echo(str(org.id))
        typer.echo(f"created organisation {name!r} ({kind.value}) with id {org.id}", err=True)


@admin_app.command("create-token")
def admin_create_token(ctx: typer.Context, org: OrgOpt, role: RoleOpt = RoleChoice.operator,
                       label: LabelOpt = "", database_url: DatabaseUrlOpt = None,
                       expires_in_days: Annotated[float | None, typer.Option(
                           "--expires-in-days", metavar="DAYS", min=0.0, max=3650.0, show_default=False,
                           help="The token stops working this many days from now (more than 0).")] = None,
                       ) -> None:
    """Issue an API token for an organisation and print it once on stdout (only its hash is stored).

    Clients send it as ``Authorization: Bearer <token>``.
    """
    from datetime import timedelta

    from groundshare.store import ApiToken, Role
    from groundshare.timeutil import utc_now

    with user_errors(ctx):
        with _store_session(database_url) as session:
            found = _find_org(session, org)
            if found is None:
                raise NotFoundError(f"no organisation is named {org!r}; create it first with:  "
                                    f"groundshare admin create-org {_quoted(org)}")
            row, token = ApiToken.issue(found.id, Role(role.value), label=label)
            if expires_in_days is not None:
                if expires_in_days <= 0:
                    raise InvalidInputError("--expires-in-days must be more than 0 (leave it out for a token that "
                                            "does not expire)", loc=("expires_in_days",))
                row.expires_at = utc_now() + timedelta(days=expires_in_days)
            session.add(row)
        # Printed only after the commit: a token shown is a token that works.
        typer.echo(token)
        article = "an" if role is RoleChoice.admin else "a"
        typer.echo(f"issued {article} {role.value} token for {org!r}; it is shown only this once, so keep it now",
                   err=True)


demo_app = typer.Typer(name="demo", help="The demo network of partner agencies, stations and CubeSats.",
                       no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(demo_app)


DemoPlanDaysOpt = Annotated[float, typer.Option(
    "--plan-days", min=0.0, max=7.0, metavar="N",
    help="Also plan and book the first N days of the demo's requests, when nothing is booked yet.")]
#: Seconds between the network's now and the start of the plan ``demo load --plan-days`` books: more than
#: the pass search and the solver's 30 s take, so no planned contact has begun when it is booked.
DEMO_PLAN_LEAD_S = 90.0
TokensFileOpt = Annotated[Path | None, typer.Option(
    "--tokens-file", metavar="FILE", show_default=False,
    help="Where the demo's admin tokens are kept between loads (mode 0600; default: tokens.toml beside an SQLite "
         "database file, else in groundshare's data folder).")]


@demo_app.command("load")
def demo_load(ctx: typer.Context, database_url: DatabaseUrlOpt = None, plan_days: DemoPlanDaysOpt = 0.0,
              tokens_file: TokensFileOpt = None) -> None:
    """Load the demo network (data/demo_network.toml) and print an admin token per organisation.

    Prints ``NAME<TAB>TOKEN`` lines on stdout, one per organisation, every time.  The
    tokens are kept in --tokens-file: a token keeps working across loads, and a new one is
    issued only for an organisation whose kept token is missing, revoked or expired (stderr
    says which).  Loading again adds nothing else.  The first load anchors the network's
    clock at the demo's first day (2025-11-07T00:00Z), near the shipped element sets'
    epochs.  With ``--plan-days N`` and no contact booked yet, plans and books the first N
    days of the demo's requests.
    """
    from sqlalchemy import func, select

    from groundshare.store import Contact
    from groundshare.store.demo import (
        anchor_demo_clock,
        demo_requests_start,
        load_demo_network,
        read_tokens_file,
        write_tokens_file,
    )

    with user_errors(ctx):
        path = tokens_file if tokens_file is not None else _default_tokens_file(database_url)
        known = read_tokens_file(path)
        with _store_session(database_url) as session:
            tokens, added = load_demo_network(session, known)
            clock, anchored = anchor_demo_clock(session)
        for token in tokens:
            typer.echo(f"{token.organisation}\t{token.token}")
        try:  # after the commit: a token kept in the file is a token that works
            write_tokens_file(path, tokens, _shown_url(database_url))
        except OSError as exc:
            raise InvalidInputError(f"cannot write the tokens file {path}: {exc.strerror}; the tokens printed above "
                                    "work, but the next load will not find them: give --tokens-file a file in a "
                                    "folder you may write to", loc=("--tokens-file",)) from None
        what = ", ".join(f"{n} {noun if n == 1 else plural}" for (noun, plural), n in added.items() if n)
        typer.echo(f"demo network loaded into {_shown_url(database_url)}: added {what or 'nothing new'}", err=True)
        new = [t for t in tokens if t.new]
        kept = len(tokens) - len(new)
        typer.echo(f"admin tokens above, one per organisation, kept in {path} (mode 0600): "
                   f"{kept} unchanged, {len(new)} new", err=True)
        for token in new:
            typer.echo(f"  new token for {token.organisation}: {token.reason}", err=True)
        typer.echo(f"network time {format_utc(clock.now())} ({_clock_note(clock, anchored)})", err=True)
        if plan_days > 0:
            with _store_session(database_url) as session:
                booked = session.scalar(select(func.count()).select_from(Contact))
            if booked:
                typer.echo(f"demo plan skipped: the store already holds {_count(booked, 'contact')}", err=True)
            else:
                # A contact cannot start before the network's now: the plan begins at least DEMO_PLAN_LEAD_S
                # later (the time the pass search and the solver take), on a whole minute.
                first = demo_requests_start()
                now = clock.now()
                later = now + timedelta(seconds=DEMO_PLAN_LEAD_S + 60.0)
                begin = max(first, later.replace(second=0, microsecond=0))
                days = plan_days - (begin - first).total_seconds() / 86_400.0
                if days > 0:
                    run = _plan_and_book(database_url, begin, days, solver="auto", time_limit_s=30.0, workers=8)
                    _echo_run(run)
                else:
                    typer.echo(f"demo plan skipped: the network's time {format_utc(now)} is past the first "
                               f"{_count(plan_days, 'day')} of the demo's requests", err=True)


def _default_tokens_file(database_url: str | None) -> Path:
    """Return where ``demo load`` keeps tokens: beside an SQLite database file, else in the data folder."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from groundshare.store import default_database_path, default_database_url

    try:
        url = make_url(database_url if database_url is not None else default_database_url())
    except ArgumentError:
        url = None
    if url is not None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).resolve().parent / "tokens.toml"
    return default_database_path().parent / "tokens.toml"


def _clock_note(clock: NetworkTime, anchored: bool | None = None) -> str:
    """Return how the network's clock runs: ``anchored`` says whether this command anchored it (None: not asked)."""
    if clock.mode == "live":
        return "the network runs at the wall clock"
    how = {True: "anchored now", False: "anchored by an earlier load", None: "shifted from the wall clock"}[anchored]
    return f"{how}: {clock.reason}" if clock.reason else how


# Helpers of ``db`` and ``admin``.


def _shown_url(database_url: str | None) -> str:
    """Return the database URL for messages, password hidden."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from groundshare.store import default_database_url

    url = database_url if database_url is not None else default_database_url()
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def _quoted(name: str) -> str:
    """Return ``name`` quoted for a shell command line when it needs it."""
    import shlex

    return shlex.quote(name)


@contextmanager
def _store_session(database_url: str | None, *, hint: str = "") -> Iterator[Session]:
    """Yield a session on a migrated database: one unit of work, committed at the end.

    A database that is not at the newest revision is refused with the command that fixes
    it (and ``hint``, e.g. where another database is); an unreachable one raises
    ``StoreSetupError`` (a ``GroundshareError``).
    """
    from sqlalchemy.exc import DBAPIError

    from groundshare.store import StoreSetupError, create_engine_for, make_session_factory, session_scope
    from groundshare.store.migrate import current, head

    revision = current(database_url)
    if revision != head():
        where = f" --database-url {_quoted(_shown_url(database_url))}" if database_url is not None else ""
        state = "has no groundshare tables" if revision is None else f"is at revision {revision}, not {head()}"
        raise StoreSetupError(f"the database {_shown_url(database_url)} {state}; migrate it first with:  "
                              f"groundshare db upgrade{where}" + (f"\n{hint}" if hint else ""))
    engine = create_engine_for(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    except DBAPIError as exc:
        raise StoreSetupError(f"the database {_shown_url(database_url)} refused the change: "
                              f"{str(exc.orig).strip().splitlines()[0]}") from exc
    finally:
        engine.dispose()


def _find_org(session: Session, name: str) -> Organisation | None:
    """Return the organisation called ``name``, or None."""
    from sqlalchemy import select

    from groundshare.store import Organisation

    return session.scalars(select(Organisation).where(Organisation.name == name)).one_or_none()


# ``schedule``: which contacts to book.


class ScheduleFormat(StrEnum):
    """How ``schedule solve`` prints the plan."""

    json = "json"
    text = "text"


class SolverChoice(StrEnum):
    """Which solver ``schedule solve`` runs."""

    auto = "auto"
    cpsat = "cpsat"
    greedy = "greedy"
    rolling = "rolling"


schedule_app = typer.Typer(name="schedule", help="Choose which contacts to book across the network.",
                           no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(schedule_app)

ProblemOpt = Annotated[Path, typer.Option(
    "--problem", "-p", metavar="FILE", show_default=False,
    help="Problem file: JSON with start, end, antennas, satellites and passes.")]
TimeLimitOpt = Annotated[float, typer.Option(
    "--time-limit", "-t", min=0.01, metavar="S", help="Seconds the solver may take.")]
SolverOpt = Annotated[SolverChoice, typer.Option(
    "--solver", case_sensitive=False,
    help="auto: one CP-SAT model up to 1.5 days; beyond, rolling daily windows, then one model hinted with them.")]
ScheduleWorkersOpt = Annotated[int, typer.Option(
    "--workers", "-j", min=1, metavar="N", help="CP-SAT search threads (8 or more even on 2 cores).")]
ScheduleFormatOpt = Annotated[ScheduleFormat, typer.Option(
    "--format", "-f", case_sensitive=False, help="json for scripts; text for people.")]


@schedule_app.command("solve")
def schedule_solve(ctx: typer.Context, problem: ProblemOpt, time_limit: TimeLimitOpt = 30.0,
                   solver: SolverOpt = SolverChoice.auto, workers: ScheduleWorkersOpt = 8,
                   fmt: ScheduleFormatOpt = ScheduleFormat.json) -> None:
    """Solve a scheduling problem file and print the plan (status, objective, bound, gap, contacts).

    The plan is checked against every rule before it is printed; a plan that breaks one
    (a solver bug) is reported on stderr with exit status 3.
    """
    from groundshare.schedule import Problem, check_schedule, solve

    with user_errors(ctx):
        loaded = Problem.load(problem)
        plan = solve(loaded, solver=solver.value, time_limit_s=time_limit, workers=workers)
        violations = check_schedule(loaded, plan.contacts)
    if violations and plan.status != "infeasible":
        for v in violations:
            typer.echo(f"error: the plan breaks a rule ({v.kind}): {v.message}", err=True)
        raise typer.Exit(3)
    if fmt is ScheduleFormat.json:
        _write_stdout(json.dumps(plan.to_dict(), indent=1))
    else:
        bound = "none" if plan.bound is None else f"{plan.bound:.6g}"
        gap = "n/a" if plan.gap is None else f"{100 * plan.gap:.2f} %"
        _write_stdout(f"{plan.status} plan by {plan.solver}: {_count(len(plan.contacts), 'contact')}, "
                      f"value {plan.objective:.6g}, bound {bound}, gap {gap}, {plan.wall_s:.1f} s")
    if plan.status == "infeasible":
        typer.echo(f"error: no plan keeps the rules: {plan.stats.get('message', 'the locked passes clash')}",
                   err=True)
        raise typer.Exit(1)


PlanStartOpt = Annotated[str, typer.Option(
    "--start", metavar="ISO|now", help="Start of the planned horizon: ISO 8601 UTC such as 2025-11-07T00:00Z, or now.")]
PlanDaysOpt = Annotated[float, typer.Option(
    "--days", "-d", metavar="N", min=0.01, max=14.0, help="Length of the planned horizon in days (at most 14).")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Plan and print, but book nothing.")]


@schedule_app.command("plan")
def schedule_plan(ctx: typer.Context, days: PlanDaysOpt = 1.0, start: PlanStartOpt = "now",
                  time_limit: TimeLimitOpt = 30.0, solver: SolverOpt = SolverChoice.auto,
                  workers: ScheduleWorkersOpt = 8, dry_run: DryRunOpt = False,
                  database_url: DatabaseUrlOpt = None) -> None:
    """Plan every organisation's open contact requests over the network and book the plan.

    Contacts already booked never move; partners' antennas are used only as their sharing
    policies allow.  'now' is the network's clock (the demo network's runs from its first
    day).  Says on stderr which database it plans; one without organisations is an error.
    Prints the run's summary (plan, bookings, fairness, unserved requests) as JSON on stdout.
    """
    from sqlalchemy import func, select

    from groundshare.store import ContactRequest, Organisation, RequestStatus, network_time

    with user_errors(ctx):
        shown = _shown_url(database_url)
        with _store_session(database_url, hint=_demo_database_hint()) as session:
            clock = network_time(session)
            begin = parse_utc(start, "--start", now=clock.now())
            end = begin + timedelta(days=days)
            n_orgs = session.scalar(select(func.count()).select_from(Organisation))
            n_open = session.scalar(select(func.count()).select_from(ContactRequest).where(
                ContactRequest.status == RequestStatus.OPEN, ContactRequest.window_start < end,
                ContactRequest.window_end > begin))
        if not n_orgs:
            raise InvalidInputError(f"the database {shown} holds no organisations, so there is nothing to plan; "
                                    f"{_demo_database_hint()}", loc=("--database-url",))
        typer.echo(f"planning {shown}: {_count(n_orgs, 'organisation')}, {_count(n_open, 'open contact request')} "
                   f"in {format_utc(begin)} to {format_utc(end)} (network time {format_utc(clock.now())}, "
                   f"{_clock_note(clock)})", err=True)
        if not n_open:
            typer.echo("warning: no open contact request overlaps the horizon, so the plan is empty; check --start "
                       "and --days against the requests' windows (GET /requests)", err=True)
        run = _plan_and_book(database_url, begin, days, solver=solver.value, time_limit_s=time_limit,
                             workers=workers, dry_run=dry_run)
    _write_stdout(json.dumps(run.to_dict(), indent=1))
    _echo_run(run)


def _demo_database_hint() -> str:
    """Return how to point a command at the database ``make run`` made (``.demo/groundshare.db``)."""
    demo = Path.cwd() / ".demo" / "groundshare.db"
    if demo.is_file():
        url = f"sqlite:///{demo}"
        return (f"make run's demo database is {demo}: give --database-url {url} "
                f"or export GROUNDSHARE_DATABASE_URL={url}")
    return ("make run keeps the demo network in .demo/groundshare.db of its checkout: from there, give "
            "--database-url sqlite:///$PWD/.demo/groundshare.db or export "
            "GROUNDSHARE_DATABASE_URL=sqlite:///$PWD/.demo/groundshare.db")


def _plan_and_book(database_url: str | None, begin: datetime, days: float, *, solver: str, time_limit_s: float,
                   workers: int, dry_run: bool = False) -> PlanRun:
    """Plan the store's open requests over ``[begin, begin + days)`` and book the plan unless ``dry_run``."""
    from groundshare.store.planning import PLAN_LEAD_S, book_plan, build_problem, solve_run

    with _store_session(database_url) as session:
        # No candidate may start before it is booked (the network's booking rules refuse the past).
        run = build_problem(session, start=begin, end=begin + timedelta(days=days), workers=None,
                            lead_s=0.0 if dry_run else time_limit_s + PLAN_LEAD_S)
    solve_run(run, solver=solver, time_limit_s=time_limit_s, workers=workers)
    if not dry_run and run.plan.contacts:
        with _store_session(database_url) as session:
            book_plan(session, run)
    run.dry_run = dry_run
    return run


def _echo_run(run: PlanRun) -> None:
    """Print a planning run's one-line summary on stderr."""
    plan, dry_run = run.plan, run.dry_run
    typer.echo(f"{plan.status} plan by {plan.solver}: {_count(len(plan.contacts), 'contact')} of "
               f"{_count(len(run.problem.passes), 'candidate')}, value {plan.objective:.6g}, gap "
               f"{'n/a' if plan.gap is None else f'{100 * plan.gap:.2f} %'}; "
               f"{'nothing booked (dry run)' if dry_run else _count(len(run.booked), 'contact') + ' booked'}"
               f"{', ' + _count(len(run.refused), 'refusal') if run.refused else ''}", err=True)


# ``agent`` and ``track``: drive a station's rotator and radio (Hamlib rotctld/rigctld).

ApiUrlOpt = Annotated[str, typer.Option("--api", metavar="URL", show_default=False,
                                        help="The groundshare server, e.g. https://groundshare.example.org.")]
TokenOpt = Annotated[str, typer.Option("--token", metavar="TOKEN", envvar="GROUNDSHARE_TOKEN", show_default=False,
                                       help="An operator or admin token of the station's owner "
                                            "(or GROUNDSHARE_TOKEN).")]
AgentStationOpt = Annotated[str, typer.Option("--station", metavar="NAME", show_default=False,
                                              help="The station this agent runs, by its name in the API.")]
RotctldOpt = Annotated[str | None, typer.Option(
    "--rotctld", metavar="HOST:PORT", show_default=False,
    help="Hamlib rotctld of the antenna's rotator (port 4533 if left out); none: no rotator.")]
RigctldOpt = Annotated[str | None, typer.Option(
    "--rigctld", metavar="HOST:PORT", show_default=False,
    help="Hamlib rigctld of the radio, tuned for Doppler (port 4532 if left out); none: no radio.")]
JournalOpt = Annotated[Path | None, typer.Option(
    "--journal", metavar="FILE", show_default=False,
    help="The agent's journal (SQLite); default groundshare-agent-<station>.sqlite in the current folder.")]
OnceOpt = Annotated[bool, typer.Option("--once", help="Execute the next contact, report it and exit.")]
MaxClockOffsetOpt = Annotated[float, typer.Option(
    "--max-clock-offset-s", metavar="S", min=0.0,
    help="Refuse to execute while the system clock is further than this from the server's (warns past 1 s).")]
ToleranceOpt = Annotated[float, typer.Option(
    "--pointing-tolerance-deg", metavar="DEG", min=0.0, max=45.0,
    help="Send the rotator a new position once the target is this far from the last one sent.")]
SpeedOpt = Annotated[float | None, typer.Option(
    "--speed", metavar="X", min=0.001, show_default=False,
    help="Rehearse on a simulated clock running X times real time, from a little before AOS.")]


def _devices(rotctld: str | None, rigctld: str | None) -> tuple[Rotator | None, Rig | None]:
    """Return the rotator and radio clients of ``--rotctld`` and ``--rigctld`` (None where not given)."""
    from groundshare.agent.hamlib import Rig, Rotator, parse_address

    rotator = Rotator(*parse_address(rotctld, 4533)) if rotctld else None
    rig = Rig(*parse_address(rigctld, 4532)) if rigctld else None
    return rotator, rig


@app.command()
def agent(ctx: typer.Context, station: AgentStationOpt, api: ApiUrlOpt, token: TokenOpt,
          rotctld: RotctldOpt = None, rigctld: RigctldOpt = None, journal: JournalOpt = None, once: OnceOpt = False,
          max_clock_offset_s: MaxClockOffsetOpt = 5.0, pointing_tolerance_deg: ToleranceOpt = 1.0) -> None:
    """Run a station: pull its contacts, point the antenna and tune the radio through Hamlib, report outcomes.

    Contacts and reports are kept in a local journal, so an API outage or a restart
    loses nothing; a second agent for the same station refuses to start, but the same
    agent restarted on this machine with the same journal (after a crash) takes its
    lease back at once.

    The agent runs on the network's clock (GET /clock): on a shifted network, such as
    the demo at its element sets' epoch, it adopts the network's offset.  It takes at
    most 5,000 contacts from one schedule (MAX_SCHEDULE_CONTACTS; a larger schedule is
    refused whole); a malformed contact is reported failed with the field at fault.
    Use an https:// API URL: over plain http:// to another machine the token travels
    in clear text (the agent warns).  With nothing to do it says why.
    """
    from groundshare.agent.client import AgentApi
    from groundshare.agent.journal import Journal
    from groundshare.agent.runner import AgentOptions, run_agent

    with user_errors(ctx):
        rotator, rig = _devices(rotctld, rigctld)
        path = journal or Path(f"groundshare-agent-{station}.sqlite")
        with AgentApi(api, token) as client, Journal.open(path) as book:
            done = run_agent(station, api=client, journal=book, rotator=rotator, rig=rig, once=once,
                             options=AgentOptions(max_clock_offset_s=max_clock_offset_s,
                                                  pointing_tolerance_deg=pointing_tolerance_deg),
                             log=lambda line: typer.echo(line, err=True))
        typer.echo(f"agent for {station} stopped after {_count(done, 'contact')}", err=True)


@app.command()
def track(ctx: typer.Context, elements: ElementsOpt, stations: StationsOpt, norad: NoradOpt,
          station: StationNameOpt, start: StartOpt = "now", days: DaysOpt = 1.0, pass_number: PassNumberOpt = 1,
          downlink_hz: Annotated[float | None, typer.Option("--downlink-hz", metavar="HZ", min=1.0,
                                                            help="Tune the radio to this downlink, Doppler-"
                                                                 "corrected.")] = None,
          rotctld: RotctldOpt = "127.0.0.1:4533", rigctld: RigctldOpt = None, speed: SpeedOpt = None,
          pointing_tolerance_deg: ToleranceOpt = 1.0) -> None:
    """Track one satellite by hand over its next pass: point the antenna (and tune the radio) through Hamlib.

    For testing an antenna: no API, no booking. Prints what was sent and read back.
    """
    from groundshare.agent.clock import SimulatedClock, WallClock
    from groundshare.agent.runner import AgentOptions, PassExecutor

    with user_errors(ctx):
        sites = load_stations(stations)
        names = [s.name for s in sites]
        if station not in names:
            raise InvalidInputError(f"--station {station!r} is not in {stations}; it has: {', '.join(names)}",
                                    loc=("--station",))
        site = sites[names.index(station)]
        catalog = _load_catalog(elements)
        satellite = catalog.by_norad_id(norad)
        window_start = _window_start(start, catalog.elements)
        table = find_passes([satellite], [site], start=window_start, duration_s=days * 86_400.0, workers=1)
        if len(table) < pass_number:
            raise InvalidInputError(f"NORAD {norad} makes {len(table)} pass(es) over {station} in the window; "
                                    f"--pass {pass_number} does not exist (widen --days)", loc=("--pass",))
        one = table[pass_number - 1]
        contact = {"contact_id": 0, "start": format_utc(one.aos), "end": format_utc(one.los),
                   "satellite": {"norad_id": norad, "name": one.name, "downlink_frequency_hz": downlink_hz}}
        rotator, rig = _devices(rotctld, rigctld)
        options = AgentOptions(pointing_tolerance_deg=pointing_tolerance_deg)
        station_row = {"name": site.name, "lat_deg": site.lat_deg, "lon_deg": site.lon_deg, "alt_m": site.alt_m,
                       "min_elevation_deg": 0.0}
        executor = PassExecutor(station_row, rotator=rotator, rig=rig, clock=WallClock(), options=options,
                                log=lambda line: typer.echo(line, err=True))
        if speed is not None:
            executor.clock = SimulatedClock(one.aos - timedelta(seconds=executor.lead_s(contact)), speed)
        typer.echo(f"tracking {one.name} (NORAD {norad}) over {station}: AOS {_clock(one.aos)}, LOS {_clock(one.los)} "
                   f"UTC, max elevation {one.max_elevation_deg:.1f}°", err=True)
        run = executor.run(contact, elements=satellite)
        outcome = run.outcome("track")
        typer.echo(outcome["notes"], err=True)
        _write_stdout(json.dumps(outcome, indent=1))
        if run.fatal:
            raise typer.Exit(1)


# ``serve``: the shared network's REST API.

HostOpt = Annotated[str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")]
PortOpt = Annotated[int, typer.Option("--port", metavar="PORT", min=1, max=65535, help="TCP port to listen on.")]
MaxBodyOpt = Annotated[int | None, typer.Option(
    "--max-body-bytes", metavar="BYTES", min=1, show_default=False,
    help="Largest request body (default 8 MiB); a larger one answers 413 before it is read.")]
MaxUploadOpt = Annotated[int | None, typer.Option(
    "--max-element-upload-bytes", metavar="BYTES", min=1, show_default=False,
    help="Largest element-set upload, POST /satellites/{id}/elements (default 16 MiB); larger answers 413.")]


@app.command()
def serve(ctx: typer.Context, host: HostOpt = "127.0.0.1", port: PortOpt = 8000,
          database_url: DatabaseUrlOpt = None, max_body_bytes: MaxBodyOpt = None,
          max_element_upload_bytes: MaxUploadOpt = None) -> None:
    """Serve the REST API (OpenAPI at /docs), migrating the database to this version first."""
    import uvicorn

    from groundshare.api.app import create_app
    from groundshare.api.settings import Settings
    from groundshare.store import default_database_url
    from groundshare.store.migrate import upgrade

    with user_errors(ctx):
        url = database_url if database_url is not None else default_database_url()
        upgrade(url)
        limits = {name: value for name, value in (("max_body_bytes", max_body_bytes),
                                                  ("max_element_upload_bytes", max_element_upload_bytes))
                  if value is not None}
        application = create_app(Settings(database_url=url, **limits))
        typer.echo(f"serving groundshare at http://{host}:{port} (API documentation at /docs); "
                   f"database {_shown_url(url)}", err=True)
    uvicorn.run(application, host=host, port=port, log_level="warning")



gnss_app = typer.Typer(name="gnss", help="GNSS planning: satellites in view and dilution of precision (DOP).",
                       no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(gnss_app)


class GnssFormat(StrEnum):
    """How ``gnss dop`` prints its result."""

    table = "table"
    json = "json"


class GnssPlanFormat(StrEnum):
    """How ``gnss plan`` prints its series."""

    table = "table"
    csv = "csv"


GnssElementsOpt = Annotated[list[Path], typer.Option(
    "--elements", "-e", metavar="FILE", show_default=False,
    help="Element-set file (TLE/3LE or OMM); repeat for several constellations.")]
LatOpt = Annotated[float, typer.Option("--lat-deg", min=-90.0, max=90.0, help="Site latitude (deg, WGS84).")]
LonOpt = Annotated[float, typer.Option("--lon-deg", min=-180.0, max=360.0, help="Site longitude (deg, east).")]
AltOpt = Annotated[float, typer.Option("--alt-m", min=-500.0, max=10_000.0, help="Site height (m, WGS84).")]
MaskOpt = Annotated[float, typer.Option("--mask-deg", min=-10.0, max=90.0, help="Elevation mask (deg).")]
ExcludeOpt = Annotated[list[str] | None, typer.Option(
    "--exclude", metavar="NAME|PRN", show_default=False,
    help="Leave out satellites whose name contains NAME, or with this PRN or NORAD number; repeatable.")]
ClocksOpt = Annotated[bool, typer.Option(
    "--separate-clocks", help="One receiver clock per constellation (TDOP is then the first's).")]


HorizonMaskOpt = Annotated[Path | None, typer.Option(
    "--horizon-mask", metavar="FILE", show_default=False,
    help="The site's horizon: lines 'azimuth_deg,elevation_deg' ('#' starts a comment), linear between.")]


def _gnss_inputs(elements: Sequence[Path], lat_deg: float, lon_deg: float, alt_m: float,
                 horizon_mask: Path | None = None) -> tuple[list[ElementSet], Site]:
    sets: list[ElementSet] = []
    for path in elements:
        catalog = _load_catalog(path)
        sets.extend(catalog.elements)
    mask = _read_horizon_mask(horizon_mask) if horizon_mask is not None else None
    return sets, Site("site", lat_deg=lat_deg, lon_deg=lon_deg, alt_m=alt_m, horizon_mask=mask)


def _read_horizon_mask(path: Path) -> list[tuple[float, float]]:
    """Return the (azimuth_deg, elevation_deg) points of a horizon-mask file, naming a bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read --horizon-mask {path}: {exc.strerror}", loc=("--horizon-mask",)) from None
    points = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            az, el = (float(x) for x in line.replace(",", " ").split())
        except ValueError:
            raise InvalidInputError(f"{path} line {number}: {line!r} is not 'azimuth_deg,elevation_deg'",
                                    loc=("--horizon-mask", f"line {number}")) from None
        points.append((az, el))
    if not points:
        raise InvalidInputError(f"{path} holds no 'azimuth_deg,elevation_deg' line", loc=("--horizon-mask",))
    return points


def _dop_value(x: float) -> float | None:
    return None if not math.isfinite(float(x)) else round(float(x), 4)


@gnss_app.command("dop")
def gnss_dop(ctx: typer.Context, elements: GnssElementsOpt, lat_deg: LatOpt, lon_deg: LonOpt, at: Annotated[
        str, typer.Option("--at", metavar="ISO", help="Time: ISO 8601 UTC, or now.")], alt_m: AltOpt = 0.0,
        mask_deg: MaskOpt = 5.0, exclude: ExcludeOpt = None, separate_clocks: ClocksOpt = False,
        output: Annotated[GnssFormat, typer.Option("--format", "-f", case_sensitive=False)] = GnssFormat.table,
        horizon_mask: HorizonMaskOpt = None) -> None:
    """Print the satellites in view at one time and their GDOP, PDOP, HDOP, VDOP and TDOP."""
    from groundshare.gnss import dop_series

    with user_errors(ctx):
        sets, site = _gnss_inputs(elements, lat_deg, lon_deg, alt_m, horizon_mask)
        series = dop_series(sets, site, parse_utc(at, "--at"), 0.0, 60.0, mask_deg, exclude=exclude or (),
                            separate_clocks=separate_clocks)
        names = [n for n, v in zip(series.names, series.visible[0], strict=True) if v]
        values = {k: _dop_value(getattr(series, k)[0]) for k in ("gdop", "pdop", "hdop", "vdop", "tdop")}
        if output is GnssFormat.json:
            _write_stdout(json.dumps({"n_visible": int(series.n_visible[0]), **values, "visible": names}, indent=2))
        else:
            lines = [f"{len(names)} satellites in view above {mask_deg:g} deg"]
            lines += [f"{k.upper():5s} {'-' if v is None else f'{v:.2f}'}" for k, v in values.items()]
            lines += [f"  {n}" for n in names]
            _write_stdout("\n".join(lines))
        if not bool(series.enough[0]):
            typer.echo(f"warning: only {len(names)} satellites in view, too few for a position fix; "
                       "DOPs are undefined", err=True)


@gnss_app.command("plan")
def gnss_plan(ctx: typer.Context, elements: GnssElementsOpt, lat_deg: LatOpt, lon_deg: LonOpt, start: Annotated[
        str, typer.Option("--start", metavar="ISO", help="Start: ISO 8601 UTC, or now.")], alt_m: AltOpt = 0.0,
        hours: Annotated[float, typer.Option("--hours", min=0.0, max=240.0)] = 24.0,
        step_s: Annotated[float, typer.Option("--step-s", min=1.0, max=3600.0)] = 60.0,
        mask_deg: MaskOpt = 5.0, exclude: ExcludeOpt = None, separate_clocks: ClocksOpt = False,
        pdop_max: Annotated[float, typer.Option("--pdop-max", min=0.0)] = 6.0,
        output: Annotated[GnssPlanFormat, typer.Option("--format", "-f", case_sensitive=False)
                          ] = GnssPlanFormat.table,
        svg: Annotated[Path | None, typer.Option("--svg", metavar="FILE", show_default=False,
                                                 help="Also write a DOP chart and sky plot (SVG).")] = None,
        horizon_mask: HorizonMaskOpt = None) -> None:
    """Print DOPs over a window and the share of time with PDOP at most --pdop-max."""
    from groundshare.gnss import dop_series
    from groundshare.gnss.plot import dop_svg

    with user_errors(ctx):
        sets, site = _gnss_inputs(elements, lat_deg, lon_deg, alt_m, horizon_mask)
        series = dop_series(sets, site, parse_utc(start, "--start"), hours, step_s, mask_deg,
                            exclude=exclude or (), separate_clocks=separate_clocks)
        keys = ("gdop", "pdop", "hdop", "vdop", "tdop")
        rows = []
        for i, t in enumerate(series.times):
            cells = ["" if not math.isfinite(getattr(series, k)[i]) else f"{getattr(series, k)[i]:.3f}" for k in keys]
            rows.append([format_utc(t), str(int(series.n_visible[i])), *cells])
        header = ["time", "n_visible", *keys]
        if output is GnssPlanFormat.csv:
            _write_stdout("\n".join(",".join(r) for r in [header, *rows]))
        else:
            _write_stdout("\n".join(f"{r[0]:22s} {r[1]:>9s} " + " ".join(f"{c or '-':>6s}" for c in r[2:])
                                    for r in [header, *rows]))
        share = series.share_pdop_below(pdop_max)
        typer.echo(f"PDOP <= {pdop_max:g} for {100 * share:.1f}% of {len(series.times)} times "
                   f"({len(series.names)} satellites, mask {mask_deg:g} deg)", err=True)
        if svg is not None:
            svg.write_text(dop_svg(series, pdop_max), encoding="utf-8")


if __name__ == "__main__":
    app()
