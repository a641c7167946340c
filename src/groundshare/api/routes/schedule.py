"""Planning runs: plan the caller's open contact requests on the antennas it may use, and book the plan.

A run costs the shared server CPU time and memory, so it is bounded by the service's
``Settings``: its horizon (``max_plan_hours``), its solver time (``max_plan_time_limit_s``)
and threads (``plan_workers``), and its candidate passes (``max_plan_candidates``; a larger
run is refused with what to narrow).  An organisation runs one plan at a time, and the
server at most ``max_concurrent_plan_runs``: a run beyond either answers 429 with
``Retry-After`` at once rather than queueing, so runs never pile up on the thread pool
that every other request needs.  The route is synchronous (FastAPI runs it in that pool,
off the event loop), and it holds no database snapshot while it solves.

Every figure of the answer is computed from what the caller may see (``store.planning``):
its own antennas and those shared with it, its own requests, and bookings named only
where it may see them.
"""

from __future__ import annotations

import fcntl
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from groundshare.api.deps import CurrentOrg, ReadsOnly, SessionDep, WriterToken
from groundshare.api.errors import ErrorBody
from groundshare.api.schemas import UtcTime
from groundshare.api.settings import Settings
from groundshare.errors import InvalidInputError
from groundshare.extras import require_extras
from groundshare.store import session_scope
from groundshare.store.planning import PLAN_LEAD_S, plan_and_book

router = APIRouter(prefix="/schedule", tags=["schedule"])


class PlanningGate:
    """Admit planning runs: one per organisation at a time, and at most ``max_runs`` at once.

    ``admit`` refuses at once (429 with ``Retry-After``, the seconds until a run in the
    way should end) instead of waiting: a waiting run would hold a thread of the pool.

    Without ``lock_dir`` the gate holds in this process.  With it (``groundshare serve
    --workers`` makes one for its workers) it holds across every process whose gate names
    the same folder: a run also takes, without waiting, an exclusive ``flock`` on
    ``org-<id>.lock`` and on one of ``slot-0.lock`` ... ``slot-<max_runs - 1>.lock``, and
    writes in them when it should end (the wall clock, for the other processes'
    ``Retry-After``).  The kernel lets go of a dead process's locks, so a crashed worker
    never keeps a place.
    """

    def __init__(self, max_runs: int, *, lock_dir: str | Path | None = None) -> None:
        if max_runs < 1:
            raise InvalidInputError(f"max_concurrent_plan_runs must be 1 or more, got {max_runs!r}",
                                    loc=("max_concurrent_plan_runs",))
        self.max_runs = max_runs
        self.lock_dir = Path(lock_dir) if lock_dir is not None else None
        self._lock = threading.Lock()
        self._ends: dict[int, float] = {}  # organisation id -> when its run should end (time.monotonic())

    @contextmanager
    def admit(self, org_id: int, expected_s: float) -> Iterator[None]:
        """Hold a place for ``org_id``'s run, expected to last ``expected_s``, while the block runs."""
        with self._lock:
            now = time.monotonic()
            if org_id in self._ends:
                raise _org_busy(self._ends[org_id] - now)
            if len(self._ends) >= self.max_runs:
                raise _server_busy(len(self._ends), min(self._ends.values()) - now)
            self._ends[org_id] = now + expected_s
        try:
            if self.lock_dir is None:
                yield
            else:
                with self._places(org_id, time.time() + expected_s):
                    yield
        finally:
            with self._lock:
                del self._ends[org_id]

    @contextmanager
    def _places(self, org_id: int, ends_at: float) -> Iterator[None]:
        """Hold the organisation's file lock and a free slot's across the processes sharing ``lock_dir``."""
        assert self.lock_dir is not None
        org = _try_lock(self.lock_dir / f"org-{org_id}.lock", ends_at)
        if org is None:
            raise _org_busy(_ends_at(self.lock_dir / f"org-{org_id}.lock") - time.time())
        try:
            slots = [self.lock_dir / f"slot-{i}.lock" for i in range(self.max_runs)]
            slot = next((fd for fd in (_try_lock(path, ends_at) for path in slots) if fd is not None), None)
            if slot is None:
                raise _server_busy(self.max_runs, min(_ends_at(path) for path in slots) - time.time())
            try:
                yield
            finally:
                os.close(slot)  # closing the file lets go of its lock
        finally:
            os.close(org)


def _try_lock(path: Path, ends_at: float) -> int | None:
    """Return a descriptor of ``path`` holding its exclusive lock, with ``ends_at`` written in it; None if taken."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{ends_at:.3f}".encode(), 0)
    return fd


def _ends_at(path: Path) -> float:
    """Return when the run holding ``path`` should end (the wall clock), as it wrote; now if unreadable."""
    try:
        return float(path.read_text() or "nan")
    except (OSError, ValueError):
        return time.time()


def _org_busy(left_s: float) -> HTTPException:
    wait_s = _retry_after_s(left_s)
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(wait_s)}, detail=(
        "your organisation already has a planning run in progress, and an organisation runs one plan "
        f"at a time\n\nRetry when it ends, in about {wait_s} s (Retry-After)"))


def _server_busy(runs: int, left_s: float) -> HTTPException:
    wait_s = _retry_after_s(left_s)
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(wait_s)}, detail=(
        f"the server is running {runs} planning runs, the most it runs at once "
        f"(max_concurrent_plan_runs)\n\nRetry in about {wait_s} s (Retry-After)"))


def _retry_after_s(left_s: float) -> int:
    return max(1, math.ceil(left_s)) if math.isfinite(left_s) else 1


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: UtcTime
    hours: float = Field(default=24.0, gt=0, allow_inf_nan=False, description=(
        "Length of the horizon planned, hours: at most the server's max_plan_hours (168 by default), which is "
        "also the default where it is lower than 24."))
    dry_run: bool = Field(default=True, description="Plan only; book nothing.")
    solver: Literal["auto", "cpsat", "greedy"] = "auto"
    time_limit_s: float = Field(default=10.0, gt=0, allow_inf_nan=False, description=(
        "Solver time, seconds: at most the server's max_plan_time_limit_s (60 by default), which is also the "
        "default where it is lower than 10."))


class RunContact(BaseModel):
    """One contact the plan chose: what it stands for, its times, and the contact booked for it."""

    pass_id: str
    request_id: int
    org_id: int
    satellite_id: int
    antenna_id: int
    start: str = Field(description="ISO 8601 UTC, Z.")
    end: str
    booked_contact_id: int | None = Field(description="The contact booked; null on a dry run or when the store "
                                                      "refused it (see refused).")


class RunOrgCounts(BaseModel):
    """What the run does per organisation: contacts it books (would book, on a dry run), moves and drops.

    A planning run only adds contacts: it never moves or drops one already booked, so
    ``move`` and ``drop`` are always 0.
    """

    org_id: int
    book: int
    move: int = 0
    drop: int = 0


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
    contacts: list[RunContact] = Field(default_factory=list, description="One row per contact the plan chose.")
    per_org: list[RunOrgCounts] = Field(default_factory=list, description=(
        "Per organisation, the contacts the run books (would book, on a dry run); a run never moves or drops a "
        "booked contact, so move and drop are 0."))
    workers: int = Field(description="Solver threads the run used (the server's plan_workers).")


RUN_RESPONSES: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": (
        "The caller's organisation already has a planning run in progress, or the server runs as many as it "
        "allows; nothing was planned: retry after Retry-After seconds.")},
}


# ReadsOnly: the request's own unit of work only reads (the plan is booked in one of its own), so SQLite's
# write lock is not held while the run searches passes and solves.
@router.post("/runs", status_code=status.HTTP_201_CREATED, responses=RUN_RESPONSES, dependencies=[ReadsOnly])
def create_run(body: RunCreate, request: Request, session: SessionDep, org: CurrentOrg,
               _token: WriterToken) -> RunPublic:
    """Plan the caller's open requests over [start, start + hours) and, unless ``dry_run``, book the plan.

    Contacts already booked (anyone's) never move; partners' antennas are used only as
    their sharing policies allow.  The plan is checked by the independent validator
    before anything is booked; bookings refused meanwhile are listed under ``refused``.
    One run per organisation at a time (429 otherwise); the horizon, solver time and
    candidate passes are bounded by the server (422 naming the bound and what to narrow).
    """
    if body.solver != "greedy":  # CP-SAT (auto uses it too) comes with the schedule extra
        require_extras(f"a planning run with solver {body.solver!r} (greedy needs nothing more)", "schedule")
    settings: Settings = request.app.state.settings
    hours, time_limit_s = run_bounds(body, settings)
    gate: PlanningGate = request.app.state.planning_gate
    factory = request.app.state.session_factory
    with gate.admit(org.id, expected_s=time_limit_s + PLAN_LEAD_S):
        run = plan_and_book(session, book_in=lambda: session_scope(factory), start=body.start,
                            end=body.start + timedelta(hours=hours), org_id=org.id, solver=body.solver,
                            time_limit_s=time_limit_s, workers=settings.plan_workers, dry_run=body.dry_run,
                            max_contact_s=settings.max_contact_s, max_candidates=settings.max_plan_candidates)
    return RunPublic(**run.to_dict(), workers=settings.plan_workers)


def run_bounds(body: RunCreate, settings: Settings) -> tuple[float, float]:
    """Return the run's hours and solver time, refusing more than the server allows (naming the field and bound).

    A field the caller left out takes its default, or the server's bound where that is lower.
    """
    hours, time_limit_s = body.hours, body.time_limit_s
    if "hours" not in body.model_fields_set:
        hours = min(hours, settings.max_plan_hours)
    if "time_limit_s" not in body.model_fields_set:
        time_limit_s = min(time_limit_s, settings.max_plan_time_limit_s)
    if hours > settings.max_plan_hours:
        raise InvalidInputError(f"hours is {hours:g}, more than the {settings.max_plan_hours:g} h one planning "
                                f"run may cover (max_plan_hours)\n\nPlan the span in runs of at most "
                                f"{settings.max_plan_hours:g} h", loc=("body", "hours"))
    if time_limit_s > settings.max_plan_time_limit_s:
        raise InvalidInputError(f"time_limit_s is {time_limit_s:g}, more than the "
                                f"{settings.max_plan_time_limit_s:g} s of solver time one run may use "
                                f"(max_plan_time_limit_s)\n\nAsk for {settings.max_plan_time_limit_s:g} s or less",
                                loc=("body", "time_limit_s"))
    return hours, time_limit_s
