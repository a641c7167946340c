"""``gnss``: GNSS planning at a site, satellites in view and dilution of precision (``gnss.dop_series``)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from groundshare.cli.console import user_errors, write_stdout
from groundshare.cli.options import command_group
from groundshare.cli.passes import load_catalog
from groundshare.errors import InvalidInputError
from groundshare.orbits import ElementSet
from groundshare.passes import Site
from groundshare.passes.horizon import parse_horizon_mask
from groundshare.timeutil import format_utc, parse_utc
from groundshare.units import HOUR_S, MINUTE_S


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
AtOpt = Annotated[str, typer.Option("--at", metavar="ISO", help="Time: ISO 8601 UTC, or now.")]
GnssStartOpt = Annotated[str, typer.Option("--start", metavar="ISO", help="Start: ISO 8601 UTC, or now.")]
HoursOpt = Annotated[float, typer.Option("--hours", min=0.0, max=240.0)]
StepOpt = Annotated[float, typer.Option("--step-s", min=1.0, max=HOUR_S)]
PdopMaxOpt = Annotated[float, typer.Option("--pdop-max", min=0.0)]
DopFormatOpt = Annotated[GnssFormat, typer.Option("--format", "-f", case_sensitive=False)]
PlanFormatOpt = Annotated[GnssPlanFormat, typer.Option("--format", "-f", case_sensitive=False)]
SvgOpt = Annotated[Path | None, typer.Option("--svg", metavar="FILE", show_default=False,
                                             help="Also write a DOP chart and sky plot (SVG).")]

#: The DOPs, in the order printed.
DOP_KEYS = ("gdop", "pdop", "hdop", "vdop", "tdop")

gnss_app = command_group("gnss", "GNSS planning: satellites in view and dilution of precision (DOP).")


@gnss_app.command("dop")
def gnss_dop(ctx: typer.Context, elements: GnssElementsOpt, lat_deg: LatOpt, lon_deg: LonOpt, at: AtOpt,
             alt_m: AltOpt = 0.0, mask_deg: MaskOpt = 5.0, exclude: ExcludeOpt = None,
             separate_clocks: ClocksOpt = False, output: DopFormatOpt = GnssFormat.table,
             horizon_mask: HorizonMaskOpt = None) -> None:
    """Print the satellites in view at one time and their GDOP, PDOP, HDOP, VDOP and TDOP."""
    from groundshare.gnss import dop_series

    with user_errors(ctx):
        sets, site = _gnss_inputs(elements, lat_deg, lon_deg, alt_m, horizon_mask)
        series = dop_series(sets, site, start=parse_utc(at, "--at"), duration_s=0.0, step_s=MINUTE_S,
                            mask_deg=mask_deg, exclude=exclude or (), separate_clocks=separate_clocks)
        names = [n for n, v in zip(series.names, series.visible[0], strict=True) if v]
        values = {k: _dop_value(getattr(series, k)[0]) for k in DOP_KEYS}
        if output is GnssFormat.json:
            write_stdout(json.dumps({"n_visible": int(series.n_visible[0]), **values, "visible": names}, indent=2))
        else:
            lines = [f"{len(names)} satellites in view above {mask_deg:g} deg"]
            lines += [f"{k.upper():5s} {'-' if v is None else f'{v:.2f}'}" for k, v in values.items()]
            lines += [f"  {n}" for n in names]
            write_stdout("\n".join(lines))
        if not bool(series.enough[0]):
            typer.echo(f"warning: only {len(names)} satellites in view, too few for a position fix; "
                       "DOPs are undefined", err=True)


@gnss_app.command("plan")
def gnss_plan(ctx: typer.Context, elements: GnssElementsOpt, lat_deg: LatOpt, lon_deg: LonOpt,
              start: GnssStartOpt, alt_m: AltOpt = 0.0, hours: HoursOpt = 24.0, step_s: StepOpt = MINUTE_S,
              mask_deg: MaskOpt = 5.0, exclude: ExcludeOpt = None, separate_clocks: ClocksOpt = False,
              pdop_max: PdopMaxOpt = 6.0, output: PlanFormatOpt = GnssPlanFormat.table, svg: SvgOpt = None,
              horizon_mask: HorizonMaskOpt = None) -> None:
    """Print DOPs over a window and the share of time with PDOP at most --pdop-max."""
    from groundshare.gnss import dop_series
    from groundshare.gnss.plot import dop_svg

    with user_errors(ctx):
        sets, site = _gnss_inputs(elements, lat_deg, lon_deg, alt_m, horizon_mask)
        series = dop_series(sets, site, start=parse_utc(start, "--start"), duration_s=hours * HOUR_S,
                            step_s=step_s, mask_deg=mask_deg, exclude=exclude or (), separate_clocks=separate_clocks)
        rows = []
        for i, t in enumerate(series.times):
            cells = ["" if not math.isfinite(getattr(series, k)[i]) else f"{getattr(series, k)[i]:.3f}"
                     for k in DOP_KEYS]
            rows.append([format_utc(t), str(int(series.n_visible[i])), *cells])
        header = ["time", "n_visible", *DOP_KEYS]
        if output is GnssPlanFormat.csv:
            write_stdout("\n".join(",".join(r) for r in [header, *rows]))
        else:
            write_stdout("\n".join(f"{r[0]:22s} {r[1]:>9s} " + " ".join(f"{c or '-':>6s}" for c in r[2:])
                                   for r in [header, *rows]))
        share = series.share_pdop_below(pdop_max)
        typer.echo(f"PDOP <= {pdop_max:g} for {100 * share:.1f}% of {len(series.times)} times "
                   f"({len(series.names)} satellites, mask {mask_deg:g} deg)", err=True)
        if svg is not None:
            svg.write_text(dop_svg(series, pdop_max), encoding="utf-8")


def _gnss_inputs(elements: Sequence[Path], lat_deg: float, lon_deg: float, alt_m: float,
                 horizon_mask: Path | None = None) -> tuple[list[ElementSet], Site]:
    """Return the element sets of every ``--elements`` file and the site, with its horizon mask if given."""
    sets: list[ElementSet] = []
    for path in elements:
        sets.extend(load_catalog(path).elements)
    mask = _read_horizon_mask(horizon_mask) if horizon_mask is not None else None
    return sets, Site("site", lat_deg=lat_deg, lon_deg=lon_deg, alt_m=alt_m, horizon_mask=mask)


def _read_horizon_mask(path: Path) -> list[tuple[float, float]]:
    """Return the points of the ``--horizon-mask`` file (``passes.horizon.parse_horizon_mask``'s format)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read --horizon-mask {path}: {exc.strerror}", loc=("--horizon-mask",)) from None
    return parse_horizon_mask(text, source=str(path))


def _dop_value(x: float) -> float | None:
    return None if not math.isfinite(float(x)) else round(float(x), 4)
