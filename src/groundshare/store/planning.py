"""Plan the served network from the store: open requests -> candidate passes -> a plan -> booked contacts.

``build_problem`` reads what a plan needs (one read-only unit of work):

- the open contact requests whose window meets ``[start, end)`` (all organisations', or
  those of ``org_ids``), and each requested satellite's newest element set;
- every station with antennas, as the pass engine's sites;
- one candidate per (request, pass inside the request's window meeting its minimum
  duration and elevation, antenna of the pass's station the requester may use): the
  part of the pass inside the window, worth its contact time in seconds, weighted by
  ``1 + request priority``;
- who may use what: each sharing policy becomes a grant (when it covers the antenna's
  band), with its weekly hours less those the grantee already holds that week on that
  antenna; a grantee's blackout windows remove its candidates;
- the live contacts already booked: their antenna holds become blackouts and their
  satellites' times are taken, so a plan only adds contacts and never moves one.

``book_plan`` then books each chosen candidate through ``book_contact`` (a savepoint each,
so one refusal — a booking made meanwhile, a quota — does not undo the others) with an
idempotency key per request, antenna and start, and marks as scheduled the requests it
served whose whole window the run covered (others stay open for the next run).
``PlanRun`` carries the problem, the plan and what happened, for the CLI (``groundshare
schedule plan``) and the API (``POST /schedule/runs``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from groundshare.errors import ConflictError, InvalidInputError, NotFoundError, PolicyError
from groundshare.store.booking import book_contact
from groundshare.store.models import (
    Antenna,
    Contact,
    ContactRequest,
    ContactStatus,
    Organisation,
    RequestStatus,
    Satellite,
    SharingPolicy,
    Station,
    newest_element_set,
)
from groundshare.store.policy import booked_hours, check_blackouts, week_start
from groundshare.timeutil import format_utc, require_utc

HOUR_S = 3600.0
#: Longest horizon one plan may cover (the pass search and the model grow with it).
MAX_PLAN_DAYS = 14.0


@dataclass(frozen=True)
class CandidateSource:
    """What a candidate pass stands for in the store."""

    request_id: int
    org_id: int
    satellite_id: int
    antenna_id: int


@dataclass
class PlanRun:
    """One planning run: the problem built from the store, the plan, and what was booked."""

    start: datetime
    end: datetime
    problem: Any  # schedule.Problem
    sources: dict[str, CandidateSource]
    skipped: list[str] = field(default_factory=list)  # requests that could not enter the problem, and why
    requests: list[Any] = field(default_factory=list)  # schedule.explain.Request, one per planned store request
    plan: Any = None  # schedule.Plan
    violations: list[str] = field(default_factory=list)
    booked: list[int] = field(default_factory=list)  # contact ids
    refused: list[dict[str, str]] = field(default_factory=list)
    dry_run: bool = True
    fairness: dict[str, Any] | None = None
    unserved: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        plan = self.plan.to_dict() if self.plan is not None else None
        return {
            "start": format_utc(self.start), "end": format_utc(self.end), "dry_run": self.dry_run,
            "requests_skipped": self.skipped, "candidates": len(self.problem.passes),
            "plan": plan, "violations": self.violations, "booked_contact_ids": self.booked,
            "refused": self.refused, "fairness": self.fairness, "unserved": self.unserved,
        }


def build_problem(session: Session, *, start: datetime, end: datetime, org_ids: set[int] | None = None,
                  workers: int | None = 1) -> PlanRun:
    """Return the planning problem of the open requests over ``[start, end)`` (see the module docstring)."""
    from groundshare.passes import find_passes
    from groundshare.schedule import AntennaSpec, Blackout, Candidate, PolicySpec, Problem, SatelliteSpec
    from groundshare.schedule.explain import Request

    start, end = require_utc(start, "start"), require_utc(end, "end")
    if end <= start:
        raise InvalidInputError(f"end {format_utc(end)} must be after start {format_utc(start)}", loc=("end",))
    if (end - start).total_seconds() > MAX_PLAN_DAYS * 86_400:
        raise InvalidInputError(f"a plan covers at most {MAX_PLAN_DAYS:g} days; plan a longer span in parts",
                                loc=("end",))
    names = {o.id: o.name for o in session.scalars(select(Organisation))}
    query = select(ContactRequest).where(ContactRequest.status == RequestStatus.OPEN,
                                         ContactRequest.window_start < end, ContactRequest.window_end > start)
    if org_ids is not None:
        query = query.where(ContactRequest.org_id.in_(org_ids))
    requests = list(session.scalars(query.order_by(ContactRequest.id)))
    satellites = {s.id: s for s in session.scalars(
        select(Satellite).where(Satellite.id.in_({r.satellite_id for r in requests})))}
    elements = {}
    skipped = []
    for satellite_id in satellites:
        record = newest_element_set(session, satellite_id)
        if record is not None:
            elements[satellite_id] = record.to_element_set()
    # A satellite is planned for one organisation: the first to request it in the horizon (usually its owner).
    planner: dict[int, int] = {}
    for r in requests:
        if r.satellite_id not in elements:
            skipped.append(f"request {r.id}: satellite {r.satellite_id} has no element set; upload one first")
        elif planner.setdefault(r.satellite_id, r.org_id) != r.org_id:
            skipped.append(f"request {r.id}: satellite {r.satellite_id} is planned for organisation "
                           f"{planner[r.satellite_id]} in this horizon (its earlier request); book it directly")
    requests = [r for r in requests if planner.get(r.satellite_id) == r.org_id]
    antennas = list(session.scalars(select(Antenna).join(Station).order_by(Antenna.id)))
    stations = {a.station_id: a.station for a in antennas}
    policies = list(session.scalars(select(SharingPolicy)))

    # Who may use which antenna: owners their own; grantees through a policy covering the band.
    grants: dict[tuple[int, int], SharingPolicy] = {}
    for p in policies:
        bands = [str(b).lower() for b in p.bands or []]
        if not bands or p.antenna.band.value in bands:
            grants[(p.antenna_id, p.grantee_org_id)] = p
    sites = [station.to_site() for station in stations.values()]
    sites = [type(site)(str(station_id), lat_deg=site.lat_deg, lon_deg=site.lon_deg, alt_m=site.alt_m,
                        min_elevation_deg=site.min_elevation_deg, horizon_mask=site.horizon_mask)
             for station_id, site in zip(stations, sites, strict=True)]
    ordered = [s for s in satellites if s in elements and s in planner]
    table = (find_passes([elements[s] for s in ordered], sites, start=start,
                         duration_s=(end - start).total_seconds(), workers=workers)
             if ordered and sites else None)
    satellite_of_norad = {elements[s].norad_id: s for s in ordered}
    by_station: dict[int, list[Antenna]] = defaultdict(list)
    for antenna in antennas:
        by_station[antenna.station_id].append(antenna)
    requests_of: dict[int, list[ContactRequest]] = defaultdict(list)
    for r in requests:
        requests_of[r.satellite_id].append(r)

    # Live contacts: their holds are blackouts, their satellites' times are taken.
    live = list(session.scalars(select(Contact).where(
        Contact.status.in_((ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS)),
        Contact.start_time < end + timedelta(hours=1), Contact.busy_until > start - timedelta(hours=1))))
    blackouts = [Blackout(antenna=str(c.antenna_id), start=c.start_time, end=c.busy_until) for c in live]
    taken: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for c in live:
        taken[c.satellite_id].append((c.start_time, c.end_time))

    candidates: list[Any] = []
    sources: dict[str, CandidateSource] = {}
    for p in table or []:
        satellite_id = satellite_of_norad[p.norad_id]
        station_id = int(p.station)
        for r in requests_of[satellite_id]:
            # Inward to whole milliseconds, as the solvers count time exactly in milliseconds.
            aos, los = _ms_up(max(p.aos, r.window_start, start)), _ms_down(min(p.los, r.window_end, end))
            duration_s = (los - aos).total_seconds()
            if duration_s <= 0 or duration_s < r.min_duration_s or p.max_elevation_deg < r.min_elevation_deg:
                continue
            if any(aos < t1 and los > t0 for t0, t1 in taken[satellite_id]):
                continue
            for antenna in by_station[station_id]:
                owner = stations[station_id].org_id
                policy = grants.get((antenna.id, r.org_id))
                if owner != r.org_id and policy is None:
                    continue
                if policy is not None and _blacked_out(policy, aos, los):
                    continue
                pass_id = f"r{r.id}:a{antenna.id}:{format_utc(aos)}"
                candidates.append(Candidate(id=pass_id, satellite=str(satellite_id), antenna=str(antenna.id),
                                            start=aos, end=los, value=duration_s, priority=1.0 + max(r.priority, 0),
                                            aos_azimuth_deg=p.aos_azimuth_deg, los_azimuth_deg=p.los_azimuth_deg))
                sources[pass_id] = CandidateSource(r.id, r.org_id, satellite_id, antenna.id)
    antenna_specs = [AntennaSpec(id=str(a.id), organisation=names[stations[a.station_id].org_id], setup_s=a.setup_s,
                                 teardown_s=a.turnaround_s, az_slew_deg_s=a.az_slew_deg_s) for a in antennas]
    satellite_specs = [SatelliteSpec(id=str(s), organisation=names[planner[s]]) for s in ordered if s in planner]
    monday = week_start(start)
    policy_specs = []
    for (antenna_id, grantee_id), p in grants.items():
        hours = p.hours_per_week
        if hours is not None:  # what the grantee already holds in the first week is spent
            held = booked_hours(session, antenna_id=antenna_id, org_id=grantee_id, since=monday,
                                until=monday + timedelta(days=7))
            hours = max(hours - held, 0.0)
        policy_specs.append(PolicySpec(antenna=str(antenna_id), organisation=names[grantee_id], hours_per_week=hours))
    problem = Problem(start=start, end=end, antennas=antenna_specs, satellites=satellite_specs, passes=candidates,
                      policies=policy_specs, blackouts=[b for b in blackouts if b.antenna in
                                                        {a.id for a in antenna_specs}])
    wanted = [Request(satellite=str(r.satellite_id), start=max(r.window_start, start), end=min(r.window_end, end),
                      min_duration_s=r.min_duration_s, id=f"request {r.id}") for r in requests
              if r.satellite_id in elements]
    return PlanRun(start=start, end=end, problem=problem, sources=sources, skipped=skipped, requests=wanted)


def solve_run(run: PlanRun, *, solver: str = "auto", time_limit_s: float = 30.0, workers: int = 8) -> PlanRun:
    """Solve ``run.problem``, check the plan independently, and add fairness and unserved-request figures."""
    from groundshare.schedule import check_schedule, solve
    from groundshare.schedule.explain import explain_unserved
    from groundshare.schedule.fairness import fairness_report

    run.plan = solve(run.problem, solver=solver, time_limit_s=time_limit_s, workers=workers)
    run.violations = [v.message for v in check_schedule(run.problem, run.plan.contacts)]
    run.fairness = fairness_report(run.problem, run.plan.contacts).to_dict()
    run.unserved = [r.to_dict() for r in explain_unserved(run.problem, run.plan.contacts, requests=run.requests)]
    return run


def book_plan(session: Session, run: PlanRun) -> PlanRun:
    """Book the chosen candidates of ``run.plan`` (one savepoint each); the caller commits."""
    if run.violations:
        raise ConflictError("the plan breaks the network's rules and was not booked:\n" + "\n".join(run.violations))
    run.dry_run = False
    served: set[int] = set()
    for pass_id in run.plan.contacts:
        source = run.sources[pass_id]
        candidate = run.problem.passes[run.problem.pass_index[pass_id]]
        try:
            with session.begin_nested():
                contact = book_contact(session, antenna_id=source.antenna_id, satellite_id=source.satellite_id,
                                       org_id=source.org_id, start=candidate.start, end=candidate.end,
                                       request_id=source.request_id, idempotency_key=f"plan:{pass_id}",
                                       notes=f"planned for request {source.request_id}")
        except (ConflictError, PolicyError, NotFoundError) as exc:
            run.refused.append({"pass": pass_id, "reason": str(exc).splitlines()[0]})
            continue
        run.booked.append(contact.id)
        served.add(source.request_id)
    # A request is scheduled once a run covering its whole window served it; one planned in parts stays open.
    for request in session.scalars(select(ContactRequest).where(ContactRequest.id.in_(served))):
        if request.window_start >= run.start and request.window_end <= run.end:
            request.status = RequestStatus.SCHEDULED
    session.flush()
    return run


def _ms_down(t: datetime) -> datetime:
    return t.replace(microsecond=t.microsecond - t.microsecond % 1000)


def _ms_up(t: datetime) -> datetime:
    down = _ms_down(t)
    return down if down == t else down + timedelta(milliseconds=1)


def _blacked_out(policy: SharingPolicy, start: datetime, end: datetime) -> bool:
    """Whether the policy's blackouts (``store.policy``'s reading of them) refuse ``[start, end)``."""
    try:
        check_blackouts(policy, start, end, f"sharing policy {policy.id}")
    except PolicyError:
        return True
    return False
