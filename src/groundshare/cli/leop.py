"""``leop``: launch and early orbit. ``plan``: first-contact windows over the deployment's timing uncertainty.

Parsing and printing only: the deployment is ``leop.deploy``, the windows ``leop.windows``.
``identify`` and ``fit`` (which object of the launch is ours) join this group from
``cli.leop_identify``.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from groundshare.cli.console import user_errors, write_stdout
from groundshare.cli.options import StationsOpt, command_group
from groundshare.errors import InvalidInputError
from groundshare.timeutil import format_utc, parse_utc

leop_app = command_group("leop", "Launch and early orbit: first-contact windows, and which object of the launch "
                                 "is ours.")


class LeopFormat(StrEnum):
    """How ``leop plan`` prints its windows."""

    table = "table"
    json = "json"


PlanElementsOpt = Annotated[Path | None, typer.Option(
    "--elements", "-e", metavar="FILE", show_default=False,
    help="The deployment as an element set (TLE/3LE or OMM), e.g. the launch provider's.")]
StateVectorOpt = Annotated[Path | None, typer.Option(
    "--state-vector", metavar="FILE", show_default=False,
    help="The deployment as a CCSDS OPM or OEM (KVN; km, km/s; TEME, GCRF or EME2000).")]
DeployTimeOpt = Annotated[str | None, typer.Option(
    "--deploy-time", metavar="ISO", show_default=False,
    help="Nominal deployment time, ISO 8601 UTC (default: the elements' or state's epoch).")]
UncertaintyOpt = Annotated[float, typer.Option(
    "--deploy-uncertainty-s", metavar="S", min=0.0, help="Deployment time uncertainty, +- seconds.")]
DvOpt = Annotated[float, typer.Option(
    "--separation-dv-m-s", metavar="M/S", min=0.0, max=1000.0,
    help="Along-track separation velocity uncertainty (m/s): the timing error grows by 3 dv/v periods per orbit.")]
PlanHoursOpt = Annotated[float, typer.Option("--hours", metavar="H", min=0.0, max=240.0,
                                             help="Hours after the deployment to plan.")]
PlanNoradOpt = Annotated[int | None, typer.Option(
    "--norad", metavar="ID", min=0, show_default=False,
    help="Which element set of the file is the deployment's (with --elements); the NORAD id given to a state.")]
StepSOpt = Annotated[float, typer.Option("--step-s", metavar="S", min=1.0, max=3600.0,
                                         help="Spacing of the deployment times tried (s).")]
PlanFormatOpt = Annotated[LeopFormat, typer.Option("--format", "-f", case_sensitive=False,
                                                   help="table for people; json (a list of windows) for scripts.")]


@leop_app.command("plan")
def leop_plan(ctx: typer.Context, stations: StationsOpt, elements: PlanElementsOpt = None,
              state_vector: StateVectorOpt = None, deploy_time: DeployTimeOpt = None,
              deploy_uncertainty_s: UncertaintyOpt = 0.0, separation_dv_m_s: DvOpt = 0.0,
              hours: PlanHoursOpt = 24.0, norad: PlanNoradOpt = None, step_s: StepSOpt = 30.0,
              output: PlanFormatOpt = LeopFormat.table) -> None:
    """Print every window in which each station may see a newly deployed satellite.

    Each window unites the passes over the deployment-time uncertainty: its nominal AOS/TCA/LOS
    and the earliest AOS and latest LOS it may take.
    """
    from groundshare.leop import deployment_from_elements, deployment_from_state_file, plan_windows
    from groundshare.stations import load_stations

    with user_errors(ctx):
        if (elements is None) == (state_vector is None):
            raise InvalidInputError("give the deployment as --elements FILE or --state-vector FILE (one of them)",
                                    loc=("elements",))
        when = None if deploy_time is None else parse_utc(deploy_time, "--deploy-time", allow_now=False)
        if elements is not None:
            deployment = deployment_from_elements(elements, deploy_time=when, norad_id=norad)
        else:
            assert state_vector is not None
            deployment = deployment_from_state_file(state_vector, deploy_time=when, norad_id=norad or 0)
        sites = load_stations(stations)
        if hours <= 0.0:
            raise InvalidInputError("--hours must be more than 0", loc=("hours",))
        plan = plan_windows(deployment, sites, hours=hours, deploy_uncertainty_s=deploy_uncertainty_s,
                            separation_dv_m_s=separation_dv_m_s, step_s=step_s)
        if output is LeopFormat.json:
            write_stdout(json.dumps([w.to_dict() for w in plan.windows], indent=2))
        else:
            write_stdout(_table(plan.windows))
        for note in plan.notes:
            typer.echo(f"warning: {note}", err=True)
        fit = "" if deployment.fit_residual_m is None else f", SGP4 fitted to the state within " \
                                                           f"{deployment.fit_residual_m:.3g} m"
        typer.echo(
            f"{len(plan.windows)} windows over {len({w.station for w in plan.windows})} of {len(sites)} stations "
            f"in {hours:g} h from the deployment at {format_utc(deployment.deploy_time)} ({deployment.kind}{fit}); "
            f"timing uncertainty +-{deploy_uncertainty_s:g} s growing {plan.growth_s_per_rev:.2f} s per orbit to "
            f"+-{plan.final_uncertainty_s:.0f} s{' (capped at half an orbit)' if plan.capped else ''}", err=True)


def _hm(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%m-%d %H:%M:%S")


def _table(windows: list) -> str:
    header = (f"{'Station':14s} {'earliest AOS':>14s} {'nominal AOS':>14s} {'TCA':>14s} {'nominal LOS':>14s} "
              f"{'latest LOS':>14s} {'max el':>6s} {'width':>7s} {'+-U':>6s}")
    lines = [header]
    for w in windows:
        el = "-" if w.max_elevation_deg is None else f"{w.max_elevation_deg:.1f}"
        lines.append(f"{w.station:14s} {_hm(w.earliest_aos):>14s} {_hm(w.aos):>14s} {_hm(w.tca):>14s} "
                     f"{_hm(w.los):>14s} {_hm(w.latest_los):>14s} {el:>6s} {w.width_s / 60:6.1f}m "
                     f"{w.uncertainty_s:5.0f}s")
    return "\n".join(lines)


# ``identify`` and ``fit`` join the group (their module imports ``leop_app`` from here).
from groundshare.cli import leop_identify  # noqa: E402, F401
