"""``schedule``: which contacts to book, from a problem file (``solve``) or from the store (``plan``).

``solve`` is ``schedule.solve`` checked by ``schedule.check_schedule``; ``plan`` is
``store.planning.plan_and_book`` on the database (``plan_in_store``, which ``demo load
--plan-days`` calls too).  The store is imported inside the commands, so that ``groundshare
passes`` never pays for SQLAlchemy.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from groundshare.cli.console import count, needs_extras, user_errors, write_stdout
from groundshare.cli.options import DatabaseUrlOpt, command_group
from groundshare.errors import InvalidInputError
from groundshare.timeutil import format_utc, parse_utc

if TYPE_CHECKING:
    from groundshare.store import NetworkTime
    from groundshare.store.planning import PlanRun


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
PlanStartOpt = Annotated[str, typer.Option(
    "--start", metavar="ISO|now", help="Start of the planned horizon: ISO 8601 UTC such as 2025-11-07T00:00Z, or now.")]
PlanDaysOpt = Annotated[float, typer.Option(
    "--days", "-d", metavar="N", min=0.01, max=14.0, help="Length of the planned horizon in days (at most 14).")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Plan and print, but book nothing.")]

schedule_app = command_group("schedule", "Choose which contacts to book across the network.")


@schedule_app.command("solve")
def schedule_solve(ctx: typer.Context, problem: ProblemOpt, time_limit: TimeLimitOpt = 30.0,
                   solver: SolverOpt = SolverChoice.auto, workers: ScheduleWorkersOpt = 8,
                   fmt: ScheduleFormatOpt = ScheduleFormat.json) -> None:
    """Solve a scheduling problem file and print the plan (status, objective, bound, gap, contacts).

    The plan is checked against every rule before it is printed; a plan that breaks one
    (a solver bug) is reported on stderr with exit status 3.
    """
    needs_extras(ctx, "schedule")
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
        write_stdout(json.dumps(plan.to_dict(), indent=1))
    else:
        bound = "none" if plan.bound is None else f"{plan.bound:.6g}"
        gap = "n/a" if plan.gap is None else f"{100 * plan.gap:.2f} %"
        write_stdout(f"{plan.status} plan by {plan.solver}: {count(len(plan.contacts), 'contact')}, "
                     f"value {plan.objective:.6g}, bound {bound}, gap {gap}, {plan.wall_s:.1f} s")
    if plan.status == "infeasible":
        typer.echo(f"error: no plan keeps the rules: {plan.stats.get('message', 'the locked passes clash')}",
                   err=True)
        raise typer.Exit(1)


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
    needs_extras(ctx, "server", "schedule")
    from groundshare.store import network_time
    from groundshare.store.admin import open_store, shown_url
    from groundshare.store.planning import planning_counts

    with user_errors(ctx):
        shown = shown_url(database_url)
        with open_store(database_url, hint=_demo_database_hint()) as session:
            clock = network_time(session)
            begin = parse_utc(start, "--start", now=clock.now())
            end = begin + timedelta(days=days)
            n_orgs, n_open = planning_counts(session, start=begin, end=end)
        if not n_orgs:
            raise InvalidInputError(f"the database {shown} holds no organisations, so there is nothing to plan; "
                                    f"{_demo_database_hint()}", loc=("--database-url",))
        typer.echo(f"planning {shown}: {count(n_orgs, 'organisation')}, {count(n_open, 'open contact request')} "
                   f"in {format_utc(begin)} to {format_utc(end)} (network time {format_utc(clock.now())}, "
                   f"{clock_note(clock)})", err=True)
        if not n_open:
            typer.echo("warning: no open contact request overlaps the horizon, so the plan is empty; check --start "
                       "and --days against the requests' windows (GET /requests)", err=True)
        run = plan_in_store(database_url, begin, days, solver=solver.value, time_limit_s=time_limit,
                            workers=workers, dry_run=dry_run)
    write_stdout(json.dumps(run.to_dict(), indent=1))
    echo_run(run)


def plan_in_store(database_url: str | None, begin: datetime, days: float, *, solver: str, time_limit_s: float,
                  workers: int, dry_run: bool = False) -> PlanRun:
    """Plan the store's open requests over ``[begin, begin + days)`` and book the plan unless ``dry_run``.

    The pass search uses one process per CPU.  A plan that books starts no earlier than
    the run's own time from the network's clock (the booking rules refuse the past); a dry
    run books nothing, so it plans from the clock itself.
    """
    from groundshare.store.admin import open_store
    from groundshare.store.planning import plan_and_book

    with open_store(database_url) as session:
        return plan_and_book(session, book_in=lambda: open_store(database_url), start=begin,
                             end=begin + timedelta(days=days), solver=solver, time_limit_s=time_limit_s,
                             workers=workers, dry_run=dry_run, lead_s=0.0 if dry_run else None, search_workers=None)


def echo_run(run: PlanRun) -> None:
    """Print a planning run's one-line summary on stderr."""
    plan, dry_run = run.plan, run.dry_run
    typer.echo(f"{plan.status} plan by {plan.solver}: {count(len(plan.contacts), 'contact')} of "
               f"{count(len(run.problem.passes), 'candidate')}, value {plan.objective:.6g}, gap "
               f"{'n/a' if plan.gap is None else f'{100 * plan.gap:.2f} %'}; "
               f"{'nothing booked (dry run)' if dry_run else count(len(run.booked), 'contact') + ' booked'}"
               f"{', ' + count(len(run.refused), 'refusal') if run.refused else ''}", err=True)


def clock_note(clock: NetworkTime, anchored: bool | None = None) -> str:
    """Return how the network's clock runs: ``anchored`` says whether this command anchored it (None: not asked)."""
    if clock.mode == "live":
        return "the network runs at the wall clock"
    how = {True: "anchored now", False: "anchored by an earlier load", None: "shifted from the wall clock"}[anchored]
    return f"{how}: {clock.reason}" if clock.reason else how


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
