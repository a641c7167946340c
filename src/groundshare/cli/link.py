r"""``link budget``: a link file's downlink budget at one point.

The budget is ``link.link_budget``; this module only places the satellite (the file's
\[geometry], or the options) and prints the table.
"""

from __future__ import annotations

import dataclasses
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from groundshare.cli.console import user_errors, write_stdout
from groundshare.cli.options import command_group
from groundshare.errors import InvalidInputError
from groundshare.link import AtmosphereModel, LinkBudget, LinkConfig, link_budget, load_link_config


class BudgetFormat(StrEnum):
    """How ``link budget`` prints the budget."""

    table = "table"
    json = "json"


LinkConfigOpt = Annotated[Path, typer.Option(
    "--config", "-c", metavar="FILE", show_default=False,
    help=r"Link file: TOML with \[link], \[transmitter], \[receiver], \[path] and \[geometry] tables.")]
BudgetFormatOpt = Annotated[BudgetFormat, typer.Option(
    "--format", "-f", case_sensitive=False, help="table for people; json for scripts.")]
ElevationOpt = Annotated[float | None, typer.Option(
    "--elevation-deg", metavar="DEG", min=0.0, max=90.0, show_default=False,
    help=r"Elevation of the satellite, replacing \[geometry] elevation_deg.")]
AltitudeOpt = Annotated[float | None, typer.Option(
    "--altitude-km", metavar="KM", min=100.0, max=100_000.0, show_default=False,
    help="Orbit altitude: the slant range follows from it and the elevation (spherical Earth).")]
RangeOpt = Annotated[float | None, typer.Option(
    "--range-km", metavar="KM", min=100.0, max=500_000.0, show_default=False,
    help="Slant range to the satellite, instead of --altitude-km.")]

link_app = command_group("link", "Radio link budgets between satellites and stations.")


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
        budget = link_budget(link_config, atmosphere=itu_if_needed(link_config))
        text = _format_budget(budget) if output is BudgetFormat.table else json.dumps(budget.to_dict(), indent=2)
        write_stdout(text)


def itu_if_needed(config: LinkConfig) -> AtmosphereModel | None:
    """Return the ITU-R atmosphere model when the link file leaves a loss out, else None."""
    if config.path.atmospheric_loss_db is not None and config.path.rain_loss_db is not None:
        return None
    from groundshare.link.atmosphere import ItuAtmosphere  # itur is slow to import: only when needed

    return ItuAtmosphere()


def _with_geometry(config: LinkConfig, elevation_deg: float | None, altitude_km: float | None,
                   range_km: float | None) -> LinkConfig:
    """Return ``config`` with the ``[geometry]`` keys the options give replaced; refuse a budget without one."""
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
