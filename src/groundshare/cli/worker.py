"""``worker``: the network's long-running worker (``store.worker.Worker``) beside ``groundshare serve``.

It syncs element sets on each source's schedule (``store.sync``), re-plans the booked
contacts of the satellites whose orbit changed (``store.replan``) and sends due webhook
deliveries (``store.webhooks``), holding the database's worker lease: a second worker on
the same database is refused, naming the first.  ``--once`` runs every job once and stops.
SIGTERM or SIGINT stops it after the cycle in progress, and the lease is given back.
"""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from groundshare.cli.console import needs_extras, user_errors
from groundshare.cli.options import DatabaseUrlOpt
from groundshare.errors import InvalidInputError

OnceOpt = Annotated[bool, typer.Option("--once", help="Run every job once (syncs, re-planning, webhooks) and stop.")]
WorkerIdOpt = Annotated[str | None, typer.Option(
    "--worker-id", metavar="ID", show_default=False,
    help="This worker's name in the lease (default host/pid); restarted with the same id, it takes its lease "
         "back at once.")]
SourceOpt = Annotated[list[str] | None, typer.Option(
    "--source", metavar="KIND", show_default=False,
    help="Sync only these source kinds: celestrak, supgp, spacetrack (repeat the option; default all).")]
BaseUrlOpt = Annotated[list[str] | None, typer.Option(
    "--base-url", metavar="KIND=URL", show_default=False,
    help="Ask URL instead of a source kind's own site, e.g. celestrak=http://mirror:8080 (repeat per kind).")]
TimeLimitOpt = Annotated[float, typer.Option(
    "--time-limit", metavar="S", min=0.5, max=600.0, help="Seconds each re-planning's repair may take.")]


def worker(ctx: typer.Context, database_url: DatabaseUrlOpt = None, once: OnceOpt = False,
           worker_id: WorkerIdOpt = None, source: SourceOpt = None, base_url: BaseUrlOpt = None,
           time_limit: TimeLimitOpt = 10.0) -> None:
    """Run the network's worker: element-set syncs, re-planning of drifted contacts, webhook deliveries."""
    needs_extras(ctx, "server", "schedule")
    from groundshare.store import create_engine_for, make_session_factory
    from groundshare.store.admin import open_store, shown_url
    from groundshare.store.worker import Worker

    with user_errors(ctx):
        base_urls = {}
        for item in base_url or []:
            kind, sep, url = item.partition("=")
            if not sep or not url:
                raise InvalidInputError(f"--base-url {item!r}: expected KIND=URL, e.g. celestrak=http://mirror:8080",
                                        loc=("base_url",))
            base_urls[kind.strip()] = url.strip()
        with open_store(database_url):
            pass  # refuses a database that is not migrated, with the command that fixes it
        engine = create_engine_for(database_url)
        try:
            running = Worker(make_session_factory(engine), worker_id=worker_id,
                             kinds=tuple(source) if source else None,
                             sync_options={"base_urls": base_urls} if base_urls else {},
                             replan_options={"time_limit_s": time_limit},
                             log=lambda line: typer.echo(line, err=True))
            typer.echo(f"worker {running.worker_id} on {shown_url(database_url)}: syncing "
                       f"{', '.join(running.kinds)}" + (" once" if once else
                                                         f" (spacetrack at :{running.spacetrack_minute:02d})"),
                       err=True)
            if once:
                try:
                    report = running.run_once(all_due=True)
                finally:
                    running.release()
                typer.echo(f"worker ran {', '.join(report.ran)}" + (f"; {len(report.errors)} failed"
                                                                     if report.errors else ""), err=True)
                return
            stopping = {"now": False}

            def stop(_signum: int, _frame: object) -> None:
                stopping["now"] = True

            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, stop)
            cycles = running.run(stop=lambda: stopping["now"])
            typer.echo(f"worker stopped after {cycles} cycles", err=True)
        finally:
            engine.dispose()
