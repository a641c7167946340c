"""Option types that several commands share, and the shape of a command group.

Each command module declares its own options; those here recur across modules (the
element and station files and the window of ``passes``, ``doppler`` and ``track``; the
database of ``db``, ``admin``, ``demo``, ``schedule plan`` and ``serve``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

#: Longest window of a pass search, days.
MAX_DAYS = 400.0
#: ``-h`` as well as ``--help``, on the top-level command and every group.
HELP_OPTION_NAMES = ("-h", "--help")


def command_group(name: str, help_text: str) -> typer.Typer:
    """Return a Typer group of subcommands that prints its help when given none."""
    return typer.Typer(name=name, help=help_text, no_args_is_help=True,
                       context_settings={"help_option_names": list(HELP_OPTION_NAMES)})


def _check_days(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and 0.0 < value <= MAX_DAYS):
        raise typer.BadParameter(f"{value:g} is not a window length; expected days in (0, {MAX_DAYS:g}], "
                                 f"e.g. 1 or 0.25")
    return value


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
LinkOpt = Annotated[Path | None, typer.Option(
    "--link", metavar="FILE", show_default=False,
    help="Link file (TOML, see data/demo_link_uhf.toml): add each pass's minimum and maximum margin, "
         "usable time and data volume.")]
NoradOpt = Annotated[int, typer.Option("--norad", metavar="ID", min=0, show_default=False,
                                       help="NORAD catalogue number of the satellite.")]
StationNameOpt = Annotated[str, typer.Option("--station", metavar="NAME", show_default=False,
                                             help="Name of the station, as in the station file.")]
PassNumberOpt = Annotated[int, typer.Option("--pass", metavar="N", min=1,
                                            help="Which of the satellite's passes over the station (1 = first).")]
DatabaseUrlOpt = Annotated[str | None, typer.Option(
    "--database-url", metavar="URL", envvar="GROUNDSHARE_DATABASE_URL", show_default=False,
    help="sqlite:///FILE or postgresql://user@host:5432/db (default: groundshare.db in the user's data folder).")]
