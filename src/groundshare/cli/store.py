"""``db``, ``admin`` and ``demo``: the shared network's database, its organisations and tokens, the demo network.

Each command opens the store with ``store.admin.open_store`` (a migrated database, one
unit of work) and calls the store function that does the work.  The store (SQLAlchemy)
is imported inside the commands, so that ``groundshare passes`` never pays for it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from groundshare.cli.console import count, needs_extras, user_errors
from groundshare.cli.options import DatabaseUrlOpt, command_group
from groundshare.cli.schedule import clock_note, echo_run, plan_in_store
from groundshare.errors import InvalidInputError
from groundshare.roles import OrgKind, Role
from groundshare.timeutil import format_utc
from groundshare.units import DAY_S, MINUTE_S

if TYPE_CHECKING:
    from groundshare.store import NetworkTime

OrgKindOpt = Annotated[OrgKind, typer.Option("--kind", case_sensitive=False, help="What the partner is.")]
OrgOpt = Annotated[str, typer.Option("--org", metavar="NAME", show_default=False,
                                     help="Name of the organisation the token acts for.")]
RoleOpt = Annotated[Role, typer.Option("--role", case_sensitive=False,
                                       help="What the token may do within its organisation.")]
LabelOpt = Annotated[str, typer.Option("--label", help="A note to recognise the token by later.")]
ExpiresOpt = Annotated[float | None, typer.Option(
    "--expires-in-days", metavar="DAYS", min=0.0, max=3650.0, show_default=False,
    help="The token stops working this many days from now (more than 0).")]
CanCommandOpt = Annotated[bool, typer.Option(
    "--can-command", help="Let the token command (uplink to) the organisation's satellites in live contact sessions "
    "(role operator or admin).")]
DemoPlanDaysOpt = Annotated[float, typer.Option(
    "--plan-days", min=0.0, max=7.0, metavar="N",
    help="Also plan and book the first N days of the demo's requests, when nothing is booked yet.")]
TokensFileOpt = Annotated[Path | None, typer.Option(
    "--tokens-file", metavar="FILE", show_default=False,
    help="Where the demo's admin tokens are kept between loads (mode 0600; default: tokens.toml beside an SQLite "
         "database file, else in groundshare's data folder).")]

DemoSimulateDaysOpt = Annotated[float, typer.Option(
    "--days", metavar="N", help="Days to simulate from the network's time (more than 0, at most 92).")]
DemoSeedOpt = Annotated[int, typer.Option(
    "--seed", metavar="N", help="Seed of the simulated outcomes: the same seed on the same store gives the same days.")]

#: Seconds between the network's now and the start of the plan ``demo load --plan-days`` books: more than
#: the pass search and the solver's 30 s take, so no planned contact has begun when it is booked.
DEMO_PLAN_LEAD_S = 90.0

db_app = command_group("db", "Create and migrate groundshare's database.")
admin_app = command_group("admin", "Manage organisations and their API tokens.")
demo_app = command_group("demo", "The demo network of partner agencies, stations and CubeSats.")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, database_url: DatabaseUrlOpt = None) -> None:
    """Create the database's tables, or migrate them to this version of groundshare."""
    needs_extras(ctx, "server")
    from groundshare.store.admin import shown_url
    from groundshare.store.migrate import upgrade

    with user_errors(ctx):
        revision = upgrade(database_url)
        typer.echo(f"{shown_url(database_url)} is at revision {revision} (the newest)", err=True)


@admin_app.command("create-org")
def admin_create_org(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The organisation's name.")],
                     kind: OrgKindOpt = OrgKind.AGENCY, database_url: DatabaseUrlOpt = None) -> None:
    """Add a partner organisation; prints its id on stdout."""
    needs_extras(ctx, "server")
    from groundshare.store.admin import create_organisation, open_store

    with user_errors(ctx):
        with open_store(database_url) as session:
            org_id = create_organisation(session, name, kind).id
        typer.echo(str(org_id))
        typer.echo(f"created organisation {name!r} ({kind.value}) with id {org_id}", err=True)


@admin_app.command("create-token")
def admin_create_token(ctx: typer.Context, org: OrgOpt, role: RoleOpt = Role.OPERATOR,
                       label: LabelOpt = "", database_url: DatabaseUrlOpt = None,
                       expires_in_days: ExpiresOpt = None, can_command: CanCommandOpt = False) -> None:
    """Issue an API token for an organisation and print it once on stdout (only its hash is stored).

    Clients send it as ``Authorization: Bearer <token>``.
    """
    needs_extras(ctx, "server")
    from groundshare.store.admin import issue_organisation_token, open_store

    with user_errors(ctx):
        with open_store(database_url) as session:
            token = issue_organisation_token(session, org, role, label=label, expires_in_days=expires_in_days,
                                             can_command=can_command)
        # Printed only after the commit: a token shown is a token that works.
        typer.echo(token)
        article = "an" if role is Role.ADMIN else "a"
        typer.echo(f"issued {article} {role.value} token for {org!r}; it is shown only this once, so keep it now",
                   err=True)


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
    if plan_days > 0:
        needs_extras(ctx, "server", "schedule", option="--plan-days")
    else:
        needs_extras(ctx, "server")
    from groundshare.store.admin import default_tokens_file, open_store, shown_url
    from groundshare.store.demo import anchor_demo_clock, load_demo_network, read_tokens_file, write_tokens_file

    with user_errors(ctx):
        path = tokens_file if tokens_file is not None else default_tokens_file(database_url)
        known = read_tokens_file(path)
        with open_store(database_url) as session:
            tokens, added = load_demo_network(session, known)
            clock, anchored = anchor_demo_clock(session)
        for token in tokens:
            typer.echo(f"{token.organisation}\t{token.token}")
        try:  # after the commit: a token kept in the file is a token that works
            write_tokens_file(path, tokens, shown_url(database_url))
        except OSError as exc:
            raise InvalidInputError(f"cannot write the tokens file {path}: {exc.strerror}; the tokens printed above "
                                    "work, but the next load will not find them: give --tokens-file a file in a "
                                    "folder you may write to", loc=("--tokens-file",)) from None
        what = ", ".join(f"{n} {noun if n == 1 else plural}" for (noun, plural), n in added.items() if n)
        typer.echo(f"demo network loaded into {shown_url(database_url)}: added {what or 'nothing new'}", err=True)
        new = [t for t in tokens if t.new]
        kept = len(tokens) - len(new)
        typer.echo(f"admin tokens above, one per organisation, kept in {path} (mode 0600): "
                   f"{kept} unchanged, {len(new)} new", err=True)
        for token in new:
            typer.echo(f"  new token for {token.organisation}: {token.reason}", err=True)
        typer.echo(f"network time {format_utc(clock.now())} ({clock_note(clock, anchored)})", err=True)
        if plan_days > 0:
            _plan_demo(database_url, clock, plan_days)


def _plan_demo(database_url: str | None, clock: NetworkTime, plan_days: float) -> None:
    """Plan and book the first ``plan_days`` days of the demo's requests, unless a contact is booked already."""
    from groundshare.store.admin import open_store
    from groundshare.store.demo import demo_requests_start
    from groundshare.store.planning import contact_count

    with open_store(database_url) as session:
        booked = contact_count(session)
    if booked:
        typer.echo(f"demo plan skipped: the store already holds {count(booked, 'contact')}", err=True)
        return
    # A contact cannot start before the network's now: the plan begins at least DEMO_PLAN_LEAD_S later (the
    # time the pass search and the solver take), on a whole minute.
    first = demo_requests_start()
    now = clock.now()
    later = now + timedelta(seconds=DEMO_PLAN_LEAD_S + MINUTE_S)
    begin = max(first, later.replace(second=0, microsecond=0))
    days = plan_days - (begin - first).total_seconds() / DAY_S
    if days > 0:
        echo_run(plan_in_store(database_url, begin, days, solver="auto", time_limit_s=30.0, workers=8))
    else:
        typer.echo(f"demo plan skipped: the network's time {format_utc(now)} is past the first "
                   f"{count(plan_days, 'day')} of the demo's requests", err=True)


@demo_app.command("simulate")
def demo_simulate(ctx: typer.Context, days: DemoSimulateDaysOpt = 30.0, seed: DemoSeedOpt = 0,
                  database_url: DatabaseUrlOpt = None) -> None:
    """Plan and run N days of the demo network: requests filed, contacts booked and executed, the clock moved on.

    Each day the satellites' operators file their weekly requests, the next day is planned
    and booked (the greedy solver), the network's clock moves to the day's end and a
    simulated agent reports every contact that ended: most complete with frames, some fail
    with a reason (a station outage, the rotator or radio not responding, no signal, a
    stale element set); the model is in groundshare.store.demo_sim.  Load the demo first
    (groundshare demo load) into a database of its own: the network's clock ends N days on.
    Prints what happened as JSON on stdout, and a summary on stderr.
    """
    needs_extras(ctx, "server", "schedule")
    import time

    from groundshare.store import create_engine_for, make_session_factory
    from groundshare.store.admin import open_store, shown_url
    from groundshare.store.demo_sim import simulate

    with user_errors(ctx):
        with open_store(database_url):  # a migrated database, or the command that migrates it
            pass
        engine = create_engine_for(database_url)
        began = time.perf_counter()
        try:
            report = simulate(make_session_factory(engine), days=days, seed=seed)
        finally:
            engine.dispose()
        elapsed_s = time.perf_counter() - began
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        typer.echo(f"simulated {count(days, 'day')} of {shown_url(database_url)} (seed {seed}) in {elapsed_s:.1f} s: "
                   f"network time {format_utc(report.start)} -> {format_utc(report.end)}", err=True)
        refused = f" ({count(report.contacts_refused, 'refusal')})" if report.contacts_refused else ""
        typer.echo(f"  {count(report.requests_created, 'request')} filed, {count(report.contacts_booked, 'contact')} "
                   f"booked in {count(report.plans, 'plan')}{refused}", err=True)
        typer.echo(f"  {count(report.contacts_executed, 'contact')} executed: {report.contacts_completed} completed, "
                   f"{report.contacts_failed} failed", err=True)
        for reason, n in sorted(report.failures.items(), key=lambda kv: (-kv[1], kv[0])):
            typer.echo(f"    {n:5d}  {reason}", err=True)
        for outage in report.outages:
            typer.echo(f"  station {outage.station} offline {format_utc(outage.start)} to {format_utc(outage.end)}",
                       err=True)
        typer.echo(f"  {count(report.frames_new, 'frame')} stored ({count(report.receptions, 'reception')}), "
                   f"{report.bytes_received} bytes received", err=True)
