"""Planning runs: plan the caller's open contact requests on the antennas it may use, and book the plan."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field

from groundshare.api.deps import CurrentOrg, SessionDep, WriterToken
from groundshare.api.schemas import UtcTime
from groundshare.store import session_scope
from groundshare.store.planning import book_plan, build_problem, solve_run

router = APIRouter(prefix="/schedule", tags=["schedule"])


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: UtcTime
    hours: float = Field(default=24.0, gt=0, le=168, description="Length of the horizon planned, hours.")
    dry_run: bool = Field(default=True, description="Plan only; book nothing.")
    solver: Literal["auto", "cpsat", "greedy"] = "auto"
    time_limit_s: float = Field(default=10.0, gt=0, le=60)


class RunPublic(BaseModel):
    """The run's summary: the plan (status, objective, bound, gap, chosen passes), what was booked, fairness."""

    start: str
    end: str
    dry_run: bool
    requests_skipped: list[str]
    candidates: int
    plan: dict[str, Any] | None
    violations: list[str]
    booked_contact_ids: list[int]
    refused: list[dict[str, str]]
    fairness: dict[str, Any] | None
    unserved: list[dict[str, Any]]


@router.post("/runs", status_code=status.HTTP_201_CREATED)
def create_run(body: RunCreate, request: Request, session: SessionDep, org: CurrentOrg,
               _token: WriterToken) -> RunPublic:
    """Plan the caller's open requests over [start, start + hours) and, unless ``dry_run``, book the plan.

    Contacts already booked (anyone's) never move; partners' antennas are used only as
    their sharing policies allow.  The plan is checked by the independent validator
    before anything is booked; bookings refused meanwhile are listed under ``refused``.
    """
    run = build_problem(session, start=body.start, end=body.start + timedelta(hours=body.hours), org_ids={org.id})
    session.rollback()  # the read is done; hold no snapshot while solving
    solve_run(run, solver=body.solver, time_limit_s=body.time_limit_s, workers=8)
    if not body.dry_run and run.plan.contacts:
        with session_scope(request.app.state.session_factory) as writer:
            book_plan(writer, run)
    else:
        run.dry_run = body.dry_run
    return RunPublic(**run.to_dict())


create_run.reads_only = True  # type: ignore[attr-defined]  # see deps.get_session
