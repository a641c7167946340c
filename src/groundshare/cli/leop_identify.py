"""``leop identify`` and ``leop fit``: which object of the launch is ours, and its orbit fitted to what we heard.

Both commands read the receptions (CSV ``station,received_at``) and, optionally, Doppler
files (STRF ``MJD frequency_Hz flux site_id`` or CSV ``station,received_at,frequency_hz``),
call ``leop.identify.identify`` or ``leop.fit.fit_elements`` once and print: the table or
JSON on stdout, the verdict, outliers and gaps on stderr.  They join the ``leop`` group
that ``cli.leop`` defines (it imports this module at its bottom).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from groundshare.cli.console import user_errors, write_stdout
from groundshare.cli.leop import leop_app
from groundshare.cli.options import NoradOpt, StationsOpt
from groundshare.errors import InvalidInputError


class IdentifyFormat(StrEnum):
    """How ``leop identify`` and ``leop fit`` print."""

    table = "table"
    json = "json"


CandidatesOpt = Annotated[Path, typer.Option(
    "--candidates", metavar="FILE", show_default=False,
    help="Element sets of the launch's objects (TLE/3LE or OMM); with --launch, any catalogue holding them.")]
ReceptionsOpt = Annotated[Path, typer.Option(
    "--receptions", metavar="CSV", show_default=False,
    help="Frames received: CSV with the columns station,received_at (ISO 8601 UTC).")]
DopplerOpt = Annotated[list[Path] | None, typer.Option(
    "--doppler", metavar="FILE", show_default=False,
    help="Received frequency over time: STRF 'MJD frequency_Hz flux site_id' lines or CSV "
         "station,received_at,frequency_hz (repeat for several files).")]
StrfSiteOpt = Annotated[list[str] | None, typer.Option(
    "--strf-site", metavar="ID=STATION", show_default=False,
    help="Which station a STRF site number is, e.g. 4171=daejeon (repeat for several).")]
LaunchOpt = Annotated[str | None, typer.Option(
    "--launch", metavar="YYYY-NNN", show_default=False,
    help="Take the candidates of this launch (international designator without the piece, e.g. 2026-052).")]
ToleranceOpt = Annotated[float, typer.Option(
    "--tolerance-s", metavar="S", min=0.0, max=600.0,
    help="A candidate explains a reception when it is above the station's mask within this many seconds of it.")]
FormatOpt = Annotated[IdentifyFormat, typer.Option("--format", "-f", case_sensitive=False,
                                                   help="table for people; json for scripts.")]
ElementsFileOpt = Annotated[Path, typer.Option(
    "--elements", "-e", metavar="FILE", show_default=False,
    help="Element-set file holding the chosen object (TLE/3LE or OMM).")]
OutputOpt = Annotated[Path, typer.Option("--output", "-o", metavar="FILE", show_default=False,
                                         help="Write the fitted element set here as OMM JSON.")]
FitBstarOpt = Annotated[bool, typer.Option("--fit-bstar", help="Fit B* as well (needs Doppler over several days).")]
SearchOpt = Annotated[float, typer.Option(
    "--search-s", metavar="S", min=0.0, max=10_000.0,
    help="Search along track this many seconds either side of the element set before fitting.")]


def _read(path: Path, option: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {option} {path}: {exc.strerror}", loc=(option,)) from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{option} {path} is not UTF-8 text", loc=(option,)) from None


def _strf_sites(values: list[str] | None) -> dict[int, str]:
    sites: dict[int, str] = {}
    for value in values or []:
        number, sep, name = value.partition("=")
        if not sep or not number.strip().isdigit() or not name.strip():
            raise InvalidInputError(f"--strf-site {value!r} is not ID=STATION, e.g. 4171=daejeon", loc=("--strf-site",))
        sites[int(number)] = name.strip()
    return sites


def _evidence(receptions: Path, stations: Path, doppler: list[Path] | None, strf_site: list[str] | None):
    from groundshare.leop.identify import DopplerSeries, parse_doppler, parse_receptions
    from groundshare.stations import load_stations

    sites = load_stations(stations)
    names = [s.name for s in sites]
    strf = _strf_sites(strf_site)
    got = parse_receptions(_read(receptions, "--receptions"), source=receptions.name, stations=names)
    series = DopplerSeries.concat([parse_doppler(_read(p, "--doppler"), source=p.name, stations=names,
                                                 strf_sites=strf) for p in doppler or []])
    return sites, got, series


def _hz(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


@leop_app.command("identify")
def leop_identify(ctx: typer.Context, candidates: CandidatesOpt, receptions: ReceptionsOpt, stations: StationsOpt,
                  doppler: DopplerOpt = None, strf_site: StrfSiteOpt = None, launch: LaunchOpt = None,
                  tolerance_s: ToleranceOpt = 5.0, output: FormatOpt = IdentifyFormat.table) -> None:
    """Rank the launch's objects by the receptions they explain, then by their Doppler fit.

    Prints the ranking, best first (JSON: a list of norad_id, name, consistent,
    receptions, doppler_rms_hz, ...), and on stderr the verdict, e.g. "2026-052B explains
    41 of 41 receptions and fits Doppler to 85 Hz RMS; next best 2026-052D: 29 of 41".
    """
    from groundshare.leop.identify import identify, launch_members
    from groundshare.orbits import load_elements

    with user_errors(ctx):
        catalog = load_elements(candidates).newest()
        members = launch_members(catalog, launch) if launch else list(catalog)
        sites, got, series = _evidence(receptions, stations, doppler, strf_site)
        result = identify(members, sites, got, series, tolerance_s=tolerance_s)
    if output is IdentifyFormat.json:
        write_stdout(json.dumps([c.to_dict() for c in result.ranking], indent=2))
    else:
        lines = [f"{'rank':>4}  {'norad':>6}  {'name':<24}  {'object_id':<11}  {'receptions':>10}  "
                 f"{'doppler_rms_hz':>14}  {'rest_frequency_hz':>17}"]
        for rank, c in enumerate(result.ranking, start=1):
            lines.append(f"{rank:>4}  {c.norad_id:>6}  {c.name[:24]:<24}  {c.object_id:<11}  "
                         f"{f'{c.consistent}/{c.receptions}':>10}  {_hz(c.doppler_rms_hz):>14}  "
                         f"{_hz(c.rest_frequency_hz):>17}")
        write_stdout("\n".join(lines))
    if result.doppler_samples:
        typer.echo(f"Doppler: {result.doppler_samples} samples, {result.doppler_gaps} gap(s) longer than 30 s, "
                   f"{len(result.outliers)} outliers left out", err=True)
        for o in result.outliers[:10]:
            typer.echo(f"  outlier {o.station} {o.to_dict()['received_at']} {o.frequency_hz:.1f} Hz "
                       f"({o.residual_hz:+.0f} Hz from the best fit)", err=True)
        if len(result.outliers) > 10:
            typer.echo(f"  ... and {len(result.outliers) - 10} more", err=True)
    typer.echo(f"launch {result.launch}, {result.confidence}: {result.verdict}", err=True)


@leop_app.command("fit")
def leop_fit(ctx: typer.Context, elements: ElementsFileOpt, norad: NoradOpt, receptions: ReceptionsOpt,
             stations: StationsOpt, output_file: OutputOpt, doppler: DopplerOpt = None,
             strf_site: StrfSiteOpt = None, fit_bstar: FitBstarOpt = False, search_s: SearchOpt = 600.0,
             output: FormatOpt = IdentifyFormat.table) -> None:
    """Fit the mean anomaly and mean motion (optionally B*) of one element set to the receptions and Doppler.

    Writes the fitted set (source "fit") as OMM JSON to --output and prints the residuals
    before and after the fit.
    """
    from groundshare.leop.fit import fit_elements
    from groundshare.orbits import load_elements, omm_json_record

    with user_errors(ctx):
        initial = load_elements(elements).by_norad_id(norad)
        sites, got, series = _evidence(receptions, stations, doppler, strf_site)
        result = fit_elements(initial, sites, got, series, fit_bstar=fit_bstar, search_s=search_s)
        try:
            output_file.write_text(json.dumps([omm_json_record(result.elements)], indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"cannot write --output {output_file}: {exc.strerror}", loc=("--output",)) from None
    if output is IdentifyFormat.json:
        write_stdout(json.dumps(result.to_dict(), indent=2))
    else:
        write_stdout("\n".join([
            f"before: {result.before.summary()}",
            f"after:  {result.after.summary()}",
            f"moved:  mean anomaly {result.delta_mean_anomaly_deg:+.5f} deg "
            f"({result.along_track_shift_s:+.2f} s along track at the epoch), "
            f"mean motion {result.delta_mean_motion_rev_day:+.8f} rev/day"
            + (f", B* {result.elements.bstar:.6g}" if fit_bstar else ""),
        ]))
    typer.echo(f"wrote {output_file} ({result.iterations} iterations, "
               f"{'converged' if result.converged else 'NOT converged: check the observations'}; "
               f"{len(result.outliers)} Doppler outliers left out)", err=True)
