"""``elements sync``: fetch the network's element sets from CelesTrak and Space-Track, politely.

The command parses its options, calls ``store.sync.sync_elements`` once and prints: one
line per request and a summary per source kind on stderr, and the ids of the satellites
whose orbit in force changed on stdout (one per line, for a script that re-plans them).
The store and the fetchers are imported inside the command.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from groundshare.cli.console import needs_extras, user_errors
from groundshare.cli.options import DatabaseUrlOpt, command_group


class SourceOption(StrEnum):
    CELESTRAK = "celestrak"
    SUPGP = "supgp"
    SPACETRACK = "spacetrack"


SourceOpt = Annotated[list[SourceOption] | None, typer.Option(
    "--source", case_sensitive=False, show_default=False,
    help="Sync only this kind of source (repeat for several; default: celestrak, supgp and spacetrack).")]
BaseUrlOpt = Annotated[str | None, typer.Option(
    "--base-url", metavar="URL", show_default=False,
    help="Ask this site instead of the source's own (https://celestrak.org, https://www.space-track.org): a mirror, "
         "a caching proxy or a test server. Applies to every kind synced; pair it with --source.")]

elements_app = command_group("elements", "The network's element sets: fetch them from CelesTrak and Space-Track.")


@elements_app.command("sync")
def elements_sync(ctx: typer.Context, source: SourceOpt = None, base_url: BaseUrlOpt = None,
                  database_url: DatabaseUrlOpt = None) -> None:
    """Fetch what the network's satellites need from their sources, in as few requests as each site allows.

    Keeps each site's rules across runs (the same CelesTrak query at most every 2 hours, Space-Track at most
    hourly, a site that failed left alone until the next cycle). Space-Track needs
    GROUNDSHARE_SPACETRACK_IDENTITY and GROUNDSHARE_SPACETRACK_PASSWORD. Prints the ids of the satellites whose
    orbit in force changed on stdout; exits with 1 when a request failed.
    """
    needs_extras(ctx, "server")
    from groundshare.store import create_engine_for, make_session_factory
    from groundshare.store.admin import open_store, shown_url
    from groundshare.store.sync import sync_elements

    with user_errors(ctx):
        kinds = [kind.value for kind in source] if source else None
        with open_store(database_url):  # refuses a database that is not migrated, with the command that fixes it
            pass
        typer.echo(f"syncing element sets into {shown_url(database_url)}", err=True)
        engine = create_engine_for(database_url)
        try:
            report = sync_elements(make_session_factory(engine), kinds=kinds,
                                   base_urls={k: base_url for k in ("celestrak", "supgp", "spacetrack")}
                                   if base_url else None,
                                   log=lambda line: typer.echo(line, err=True))
        finally:
            engine.dispose()
        for satellite_id in report.changed_satellite_ids:
            typer.echo(str(satellite_id))
    if report.failed:
        raise typer.Exit(1)
