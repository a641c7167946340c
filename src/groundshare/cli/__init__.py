"""The ``groundshare`` command line: one thin Typer command per task.

Tables and JSON/CSV go to stdout; summaries, warnings, progress and errors go to
stderr, so that ``groundshare passes --format json ... | jq`` always gets clean output.
A ``GroundshareError`` becomes ``error: <message>`` and exit status 1 (with the
traceback only under ``--verbose``); Typer's own usage errors exit with 2.

One module per command group: ``passes`` (and ``pick_pass``, shared by ``doppler`` and
``track``), ``doppler``, ``link``, ``store`` (``db``, ``admin``, ``demo``), ``schedule``,
``tracking`` (``agent``, ``track``), ``frames``, ``report``, ``serve``, ``worker``, ``gnss``, ``elements`` and
``leop`` (with ``leop_identify``);
``options`` holds the option types several share and ``console`` the error handling and output.
Importing the command line loads neither SQLAlchemy nor FastAPI: the commands that need them import them, after
``console.needs_extras`` has checked that their extra (``groundshare.extras``) is installed.
"""

from __future__ import annotations

from typing import Annotated

import typer

from groundshare import __version__
from groundshare.cli import doppler, elements, frames, gnss, leop, link, passes, report, schedule, serve, store
from groundshare.cli.console import CliState
from groundshare.cli.options import HELP_OPTION_NAMES
from groundshare.cli.tracking import agent, inhibit, track
from groundshare.cli.worker import worker

__all__ = ["agent", "app", "inhibit", "main", "track"]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"groundshare {__version__}")
        raise typer.Exit()


VersionOpt = Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                          help="Print the version and exit.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks with errors.")]

app = typer.Typer(
    name="groundshare",
    help="Run partner space agencies' satellite ground stations as one shared network.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": list(HELP_OPTION_NAMES)},
)


@app.callback()
def main(ctx: typer.Context, version: VersionOpt = False, verbose: VerboseOpt = False) -> None:
    """Run partner space agencies' satellite ground stations as one shared network."""
    ctx.obj = CliState(verbose=verbose)


# Commands, then groups, each in the order ``groundshare --help`` lists them.
app.command()(passes.passes)
app.command()(doppler.doppler)
app.command()(agent)
app.command()(inhibit)
app.command()(track)
app.command()(frames.frames)
app.command()(report.report)
app.command()(serve.serve)
app.command()(worker)
app.add_typer(link.link_app)
app.add_typer(store.db_app)
app.add_typer(store.admin_app)
app.add_typer(store.demo_app)
app.add_typer(elements.elements_app)
app.add_typer(schedule.schedule_app)
app.add_typer(gnss.gnss_app)
app.add_typer(leop.leop_app)
