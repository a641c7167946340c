"""Plan the served network from the store: open requests -> candidate passes -> a plan -> booked contacts.

``build_problem`` reads what a plan needs (one read-only unit of work), either for the
whole network (``org_id=None``: every organisation's requests, as the operator's
``groundshare schedule plan`` does) or for one organisation (``org_id``: its requests
only, as ``POST /schedule/runs`` does, on what it may see):

- the open contact requests whose window meets ``[start, end)``, and each requested
  satellite's newest element set.  For one organisation, a request whose satellite is
  no longer its own or public is skipped (it may not compute passes from a private
  element set);
- the antennas: every one for the network; for one organisation its own and those
  shared with it (``api.queries``' rule), so that every figure of the run (fairness's
  contributed hours and shares, the bound) is computed from what it may see;
- one candidate per (request, pass inside the request's window meeting its minimum
  duration and elevation, antenna of the pass's station the requester may use): the
  part of the pass inside the window and no earlier than the network's clock plus
  ``lead_s`` (a contact cannot start in the past), at most ``max_contact_s`` long, worth
  its contact time in seconds, weighted by ``1 + request priority``;
- how many contacts: a request with ``contacts_per_day`` wants that many per UTC day of
  its window (its explanation is one ``Request`` per day, less the contacts already booked
  for it that day; a day already full keeps its passes out as ``cap``), and its
  satellite's daily cap in the run is the most its requests ask for (no cap when one of
  them asks for none), less what its requests already hold that day (``contacts_held``:
  a later run never tops a day up past the cap);
- who may use what: each sharing policy becomes a grant (when it covers the antenna's
  band), with its weekly hours less the most the grantee already holds in any ISO week
  the horizon meets (so a plan never takes a week past the policy; in a week where the
  grantee holds less, it may leave hours unused);
- the live contacts already booked, so that a plan only adds contacts and never moves
  one.  A contact holds its antenna over ``[start, busy_until)``; a candidate whose hold
  (setup and turnaround included) meets it is kept out.  It holds its *satellite* only
  where two contacts could not both run: a contact of the organisation being planned for
  (it already serves that organisation), and an uplink contact when the planned contact
  would uplink too (one transmitter commands a satellite at a time).  A receive-only
  contact of another organisation never holds the satellite: many stations may hear one
  downlink, so nobody blocks a satellite's operator by listening to it.

Passes kept out by a rule outside the model (a policy's blackout or band, an existing
booking) leave the problem but not the explanation: each becomes a ``LeftOut`` with the
reason (``schedule.explain``), which names a booking only where the organisation may see
it (it booked it, or it is on its own antenna) and otherwise says "an existing booking".
A run's candidates are bounded (``max_candidates``): past it the run is refused with the
count and what to narrow, before anything is solved.

Planned contacts are receive-only unless the satellite has an uplink
(``uplink_frequency_hz``) and the organisation planned for operates it: an operator's
plan of its own commanding satellite books uplink contacts (which hold the satellite
alone, ``store.guards``); everyone else's planned contacts only listen, and so never
hold the satellite against its operator.  A planned contact uplinks only where a licence
for the station covers it (``store.uplink``); elsewhere it is booked receive-only.  An
organisation that ``uplink_org_ids`` lets command another's satellite books those contacts
directly (``POST /contacts``).

``solve_run`` solves the problem and checks the plan independently; ``book_plan`` then
books each chosen candidate through ``book_contact`` under the network's ``BookingRules``
(not before the clock, at most ``max_contact_s``, within a pass) — a savepoint each, so
one refusal (a booking made meanwhile, a quota) does not undo the others — with an
idempotency key per request, antenna and start.  Every request the run planned keeps the
run's time (``planned_at``) and its explanations (``last_reasons``), whether the run
booked something for it or not; one that the run served fully (no explanation left) and
whose whole window the run covered is marked scheduled (others stay open for the next
run).  A dry run writes nothing.

``plan_and_book`` is the one orchestration of the three, for the command line
(``groundshare schedule plan``, ``demo load --plan-days``) and the API (``POST
/schedule/runs``): read in the caller's unit of work, let go of it (no snapshot is held
while the solver runs, which takes seconds), solve, and book in a fresh unit of work.
``PlanRun`` carries the problem, the plan and what happened.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from groundshare.errors import ConflictError, InvalidInputError, NotFoundError, PolicyError
from groundshare.passes import find_passes
from groundshare.schedule import (
    AntennaSpec,
    Candidate,
    FairnessReport,
    Plan,
    PolicySpec,
    Problem,
    Reason,
    SatelliteSpec,
    check_schedule,
    explain_unserved,
    fairness_report,
    solve,
)
from groundshare.schedule.explain import LeftOut, Request
from groundshare.store.booking import BookingRules, book_contact
from groundshare.store.clock import network_now
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
    newest_element_sets,
)
from groundshare.store.policy import booked_hours, check_blackouts, week_start
from groundshare.store.uplink import check_uplink_allowed
from groundshare.timeutil import format_utc, require_utc
from groundshare.units import DAY_S, HOUR_S, WEEK_S

WEEK = timedelta(seconds=WEEK_S)
#: Longest horizon one plan may cover (the pass search and the model grow with it).
MAX_PLAN_DAYS = 14.0
#: How far around the horizon live contacts are read: longer than any antenna's setup or turnaround.
HOLD_MARGIN = timedelta(hours=1)
#: What a run needs besides its solver time (pass search, explanations, bookings), seconds: a caller
#: that books passes ``lead_s = time_limit_s + PLAN_LEAD_S``, so no candidate starts before it is booked.
PLAN_LEAD_S = 60.0


@dataclass(frozen=True)
class CandidateSource:
    """What a candidate pass stands for in the store, and whether its contact would uplink."""

    request_id: int
    org_id: int
    satellite_id: int
    antenna_id: int
    uplink: bool = False


@dataclass(frozen=True)
class PlanInputs:
    """What ``build_problem`` read from the store: the problem over ``[start, end)`` and what it cannot say itself.

    - ``sources``: what each candidate pass stands for in the store, by pass id;
    - ``skipped``: the requests that could not enter the problem, and why;
    - ``requests``: one ``explain.Request`` per planned store request;
    - ``left_out``: the passes a rule outside the problem kept out, with the reason;
    - ``policy_notes``: (antenna id, organisation) -> the policy as stored and the hours held;
    - ``request_ids``: the store request id of each explanation request (by its ``Request.name``);
    - ``planned``: the store requests the problem planned (those a booking run covers).
    """

    start: datetime
    end: datetime
    problem: Problem
    sources: dict[str, CandidateSource]
    skipped: list[str]
    requests: list[Request]
    left_out: list[LeftOut]
    policy_notes: dict[tuple[str, str], str]
    request_ids: dict[str, int] = field(default_factory=dict)
    planned: list[int] = field(default_factory=list)


@dataclass
class PlanRun:
    """One planning run: the problem built from the store, the checked plan, and what was booked.

    ``violations`` are the plan's broken rules (the independent validator's messages; a
    plan with any is never booked); ``booked`` the contact ids booked, ``refused`` the
    chosen passes the store refused (``{"pass", "reason"}``); ``booked_by_pass`` the contact
    booked for each chosen pass; ``dry_run`` whether the run was a dry run (it stays True
    until ``book_plan``).
    """

    inputs: PlanInputs
    plan: Plan
    violations: list[str]
    fairness: FairnessReport
    unserved: list[Reason]
    booked: list[int] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    booked_by_pass: dict[str, int] = field(default_factory=dict)
    dry_run: bool = True

    @property
    def problem(self) -> Problem:
        """Return the problem the plan solves."""
        return self.inputs.problem

    def to_dict(self) -> dict[str, Any]:
        """Return the run's JSON summary (the CLI's output and the API's ``RunPublic``)."""
        inputs = self.inputs
        return {
            "start": format_utc(inputs.start), "end": format_utc(inputs.end), "dry_run": self.dry_run,
            "requests_skipped": inputs.skipped, "candidates": len(inputs.problem.passes),
            "plan": self.plan.to_dict(), "violations": self.violations, "booked_contact_ids": self.booked,
            "refused": self.refused, "fairness": self.fairness.to_dict(),
            "unserved": [r.to_dict() for r in self.unserved],
            "contacts": self.contact_rows(), "per_org": self.per_org(),
        }

    def contact_rows(self) -> list[dict[str, Any]]:
        """Return one row per contact the plan chose: what it stands for, its times, and the contact booked.

        ``booked_contact_id`` is None on a dry run and for a pass the store refused.
        """
        rows = []
        for pass_id in self.plan.contacts:
            source = self.inputs.sources[pass_id]
            candidate = self.problem.passes[self.problem.pass_index[pass_id]]
            rows.append({"pass_id": pass_id, "request_id": source.request_id, "org_id": source.org_id,
                         "satellite_id": source.satellite_id, "antenna_id": source.antenna_id,
                         "start": format_utc(candidate.start), "end": format_utc(candidate.end),
                         "booked_contact_id": self.booked_by_pass.get(pass_id)})
        return rows

    def per_org(self) -> list[dict[str, int]]:
        """Return per organisation the contacts the run books (would book, on a dry run), by organisation id.

        A planning run only adds contacts: it never moves or drops one already booked, so
        ``move`` and ``drop`` are always 0.
        """
        booked: dict[int, int] = defaultdict(int)
        for row in self.contact_rows():
            booked[row["org_id"]] += int(self.dry_run or row["booked_contact_id"] is not None)
        return [{"org_id": org_id, "book": n, "move": 0, "drop": 0} for org_id, n in sorted(booked.items())]


@dataclass
class _Holds:
    """Live contacts of one antenna, sorted by start, with the running maximum of their ends."""

    starts: list[datetime] = field(default_factory=list)
    ends: list[datetime] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    reach: list[datetime] = field(default_factory=list)  # reach[k] = max(ends[:k + 1])

    def first_meeting(self, t0: datetime, t1: datetime) -> int | None:
        """Return the index of a hold meeting ``[t0, t1)``, or None."""
        k = bisect_left(self.starts, t1)  # holds [0, k) start before t1
        if k == 0 or self.reach[k - 1] <= t0:
            return None
        for j in range(k - 1, -1, -1):
            if self.ends[j] > t0:
                return j
        return None


def build_problem(session: Session, *, start: datetime, end: datetime, org_id: int | None = None,
                  lead_s: float = 0.0, max_contact_s: float | None = None, max_candidates: int | None = None,
                  workers: int | None = 1) -> PlanInputs:
    """Return the planning problem of the open requests over ``[start, end)`` (see the module docstring).

    ``org_id``: plan that organisation's requests on what it may see (None: the whole
    network).  ``lead_s``: candidates start no earlier than the network's clock plus this
    (the time the run needs before it books).  ``max_candidates``: refuse a larger run
    (``InvalidInputError`` naming the count and what to narrow).  ``workers``: processes
    of the pass search.
    """
    start, end = require_utc(start, "start"), require_utc(end, "end")
    if end <= start:
        raise InvalidInputError(f"end {format_utc(end)} must be after start {format_utc(start)}", loc=("end",))
    if (end - start).total_seconds() > MAX_PLAN_DAYS * DAY_S:
        raise InvalidInputError(f"a plan covers at most {MAX_PLAN_DAYS:g} days; plan a longer span in parts",
                                loc=("end",))
    # A contact cannot start in the past: candidates begin at the clock (plus the run's own time) at the earliest.
    first = max(start, network_now(session) + timedelta(seconds=lead_s))
    names = {o.id: o.name for o in session.scalars(select(Organisation))}
    query = select(ContactRequest).where(ContactRequest.status == RequestStatus.OPEN,
                                         ContactRequest.window_start < end, ContactRequest.window_end > start)
    if org_id is not None:
        query = query.where(ContactRequest.org_id == org_id)
    requests = list(session.scalars(query.order_by(ContactRequest.id)))
    satellites = {s.id: s for s in session.scalars(
        select(Satellite).where(Satellite.id.in_({r.satellite_id for r in requests})))}
    skipped = []
    kept = []
    for r in requests:
        satellite = satellites[r.satellite_id]
        if org_id is not None and satellite.org_id != org_id and not satellite.is_public:
            skipped.append(f"request {r.id}: satellite {r.satellite_id} is no longer shared with your organisation "
                           "(its operator made it private); cancel the request")
        elif r.window_end <= first:
            skipped.append(f"request {r.id}: its window ends at {format_utc(r.window_end)}, before the network's "
                           f"clock allows a new contact ({format_utc(first)}); cancel it or widen its window")
        else:
            kept.append(r)
    requests = kept
    elements = {satellite_id: record.to_element_set() for satellite_id, record
                in newest_element_sets(session, {r.satellite_id for r in requests}).items()}
    # A satellite is planned for one organisation: the first to request it in the horizon (usually its owner).
    planner: dict[int, int] = {}
    for r in requests:
        if r.satellite_id not in elements:
            skipped.append(f"request {r.id}: satellite {r.satellite_id} has no element set; upload one first")
        elif planner.setdefault(r.satellite_id, r.org_id) != r.org_id:
            skipped.append(f"request {r.id}: satellite {r.satellite_id} is planned for organisation "
                           f"{planner[r.satellite_id]} in this horizon (its earlier request); book it directly")
    requests = [r for r in requests if planner.get(r.satellite_id) == r.org_id]
    # Planned contacts uplink only for the satellite's operator, and only when it has an uplink.
    uplinks = {s: satellites[s].uplink_frequency_hz is not None and satellites[s].org_id == org
               for s, org in planner.items()}

    policies = list(session.scalars(select(SharingPolicy) if org_id is None else
                                    select(SharingPolicy).where(SharingPolicy.grantee_org_id == org_id)))
    shared_with_org = {p.antenna_id for p in policies}
    antennas = [a for a in session.scalars(select(Antenna).join(Station).order_by(Antenna.id))
                if org_id is None or a.station.org_id == org_id or a.id in shared_with_org]
    stations = {a.station_id: a.station for a in antennas}

    # Who may use which antenna: owners their own; grantees through a policy covering the band.
    grants: dict[tuple[int, int], SharingPolicy] = {}
    other_band: dict[tuple[int, int], SharingPolicy] = {}
    for p in policies:
        bands = [str(b).lower() for b in p.bands or []]
        if not bands or p.antenna.band.value in bands:
            grants[(p.antenna_id, p.grantee_org_id)] = p
        else:
            other_band[(p.antenna_id, p.grantee_org_id)] = p
    sites = [station.to_site() for station in stations.values()]
    sites = [type(site)(str(station_id), lat_deg=site.lat_deg, lon_deg=site.lon_deg, alt_m=site.alt_m,
                        min_elevation_deg=site.min_elevation_deg, horizon_mask=site.horizon_mask)
             for station_id, site in zip(stations, sites, strict=True)]
    ordered = sorted(s for s in planner if s in elements)
    table = (find_passes([elements[s] for s in ordered], sites, start=start,
                         duration_s=(end - start).total_seconds(), workers=workers)
             if ordered and sites else None)
    by_station: dict[int, list[Antenna]] = defaultdict(list)
    for antenna in antennas:
        by_station[antenna.station_id].append(antenna)
    requests_of: dict[int, list[ContactRequest]] = defaultdict(list)
    for r in requests:
        requests_of[r.satellite_id].append(r)

    antenna_holds, satellite_holds = _live_holds(session, start, end, org_id=org_id, names=names,
                                                 antenna_ids={a.id for a in antennas}, planner=planner,
                                                 uplinks=uplinks)
    held_days = _held_days(session, [r.id for r in requests if r.contacts_per_day is not None])

    candidates: list[Candidate] = []
    sources: dict[str, CandidateSource] = {}
    left_out: list[LeftOut] = []
    # By the table's satellite index, not the NORAD id: two organisations may register one NORAD number.
    for k, p in enumerate(table or []):
        satellite_id = ordered[int(table.sat_index[k])]
        station_id = int(p.station)
        for r in requests_of[satellite_id]:
            # Inward to whole milliseconds, as the solvers count time exactly in milliseconds.
            aos, los = _ms_up(max(p.aos, r.window_start, first)), _ms_down(min(p.los, r.window_end, end))
            if max_contact_s is not None:
                los = min(los, _ms_down(aos + timedelta(seconds=max_contact_s)))
            duration_s = (los - aos).total_seconds()
            if duration_s <= 0 or duration_s < r.min_duration_s or p.max_elevation_deg < r.min_elevation_deg:
                continue
            day_full = _day_full(r, aos, held_days)
            for antenna in by_station[station_id]:
                owner_id = stations[station_id].org_id
                key = (antenna.id, r.org_id)
                if owner_id != r.org_id and key not in grants and key not in other_band:
                    continue  # no policy: not the requester's to use (nor, in one organisation's run, to see)
                pass_id = f"r{r.id}:a{antenna.id}:{format_utc(aos)}"
                note = day_full or _kept_out(antenna, owner_id, r.org_id, aos, los, grants, other_band, names,
                                             antenna_holds.get(antenna.id), satellite_holds.get(satellite_id, []))
                if note is not None:
                    kind, text = note
                    left_out.append(LeftOut(request=request_name(r, aos), pass_id=pass_id, kind=kind,
                                            note=f"pass {pass_id}: {text}"))
                    continue
                candidates.append(Candidate(id=pass_id, satellite=str(satellite_id), antenna=str(antenna.id),
                                            start=aos, end=los, value=duration_s, priority=1.0 + max(r.priority, 0),
                                            aos_azimuth_deg=p.aos_azimuth_deg, los_azimuth_deg=p.los_azimuth_deg))
                sources[pass_id] = CandidateSource(r.id, r.org_id, satellite_id, antenna.id, uplinks[satellite_id])
                if max_candidates is not None and len(candidates) > max_candidates:
                    raise _too_many(max_candidates, start, end, p.aos, len(requests))
    antenna_specs = [AntennaSpec(id=str(a.id), organisation=names[stations[a.station_id].org_id], setup_s=a.setup_s,
                                 teardown_s=a.turnaround_s, az_slew_deg_s=a.az_slew_deg_s) for a in antennas]
    satellite_specs = [SatelliteSpec(id=str(s), organisation=names[planner[s]],
                                     max_contacts_per_day=_daily_cap(requests_of[s]),
                                     contacts_held=_held_by_satellite(requests_of[s], held_days)) for s in ordered]
    policy_specs = []
    policy_notes: dict[tuple[str, str], str] = {}
    for (antenna_id, grantee_id), p in grants.items():
        hours = p.hours_per_week
        if hours is not None:  # what the grantee already holds is spent; the fullest week the horizon meets counts
            held, monday = _most_held(session, antenna_id, grantee_id, start, end)
            policy_notes[(str(antenna_id), names[grantee_id])] = (
                f"sharing policy {p.id} of {names[p.owner_org_id]} allows {names[grantee_id]} {hours:g} h per week "
                f"on antenna {antenna_id} and {names[grantee_id]} already holds {held:.2f} h in the week of "
                f"{monday.date().isoformat()}")
            hours = max(hours - held, 0.0)
        policy_specs.append(PolicySpec(antenna=str(antenna_id), organisation=names[grantee_id], hours_per_week=hours))
    problem = Problem(start=start, end=end, antennas=antenna_specs, satellites=satellite_specs, passes=candidates,
                      policies=policy_specs)
    planned = [r for r in requests if r.satellite_id in elements]
    wanted: list[Request] = []
    request_ids: dict[str, int] = {}
    for r in planned:
        for w in _wanted(r, max(r.window_start, first), min(r.window_end, end), held_days):
            wanted.append(w)
            request_ids[w.name] = r.id
    return PlanInputs(start=start, end=end, problem=problem, sources=sources, skipped=skipped, requests=wanted,
                      left_out=left_out, policy_notes=policy_notes, request_ids=request_ids,
                      planned=[r.id for r in planned])


def request_name(request: ContactRequest, aos: datetime) -> str:
    """Return the explanation name of a request's pass starting at ``aos``: per UTC day with ``contacts_per_day``."""
    if request.contacts_per_day is None:
        return f"request {request.id}"
    return f"request {request.id} on {aos.date().isoformat()}"


def _utc_days(lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
    """Return ``[lo, hi)`` cut at UTC midnights, one part per UTC day it touches."""
    parts = []
    day = lo.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < hi:
        parts.append((max(lo, day), min(hi, day + timedelta(days=1))))
        day += timedelta(days=1)
    return parts


def _wanted(r: ContactRequest, lo: datetime, hi: datetime, held_days: dict[int, dict[date, int]]) -> list[Request]:
    """Return what the explanation asks of request ``r`` over ``[lo, hi)``.

    Without ``contacts_per_day``: one contact in the window.  With it: that many per UTC
    day, less those already booked for the request that day (a full day asks nothing).
    """
    if lo >= hi:
        return []
    if r.contacts_per_day is None:
        return [Request(satellite=str(r.satellite_id), start=lo, end=hi, min_duration_s=r.min_duration_s,
                        id=f"request {r.id}")]
    held = held_days.get(r.id, {})
    return [Request(satellite=str(r.satellite_id), start=d0, end=d1, min_duration_s=r.min_duration_s,
                    count=r.contacts_per_day - held.get(d0.date(), 0), id=request_name(r, d0))
            for d0, d1 in _utc_days(lo, hi) if held.get(d0.date(), 0) < r.contacts_per_day]


def _held_days(session: Session, request_ids: list[int]) -> dict[int, dict[date, int]]:
    """Return, per request, how many of its contacts (live or completed) start on each UTC day (one query)."""
    held: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    if request_ids:
        for request_id, start_time in session.execute(select(Contact.request_id, Contact.start_time).where(
                Contact.request_id.in_(request_ids), Contact.status.in_(
                    (ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS, ContactStatus.COMPLETED)))):
            held[request_id][start_time.date()] += 1
    return held


def _day_full(r: ContactRequest, aos: datetime, held_days: dict[int, dict[date, int]]) -> tuple[str, str] | None:
    """Return the "cap" note when request ``r`` already has its ``contacts_per_day`` on the UTC day of ``aos``."""
    if r.contacts_per_day is None:
        return None
    held = held_days.get(r.id, {}).get(aos.date(), 0)
    if held < r.contacts_per_day:
        return None
    return "cap", (f"request {r.id} already has its {r.contacts_per_day} contact(s) on {aos.date().isoformat()} "
                   "(contacts_per_day)")


def _held_by_satellite(requests: list[ContactRequest],
                       held_days: dict[int, dict[date, int]]) -> tuple[tuple[date, int], ...]:
    """Return (UTC day, count) of the contacts a satellite's requests already hold: they count against its cap."""
    held: dict[date, int] = defaultdict(int)
    for r in requests:
        for day, n in held_days.get(r.id, {}).items():
            held[day] += n
    return tuple(sorted(held.items()))


def _daily_cap(requests: list[ContactRequest]) -> int | None:
    """Return a satellite's contacts per UTC day in a run: the most its requests ask for (None: any asks no cap)."""
    caps = [r.contacts_per_day for r in requests]
    if not caps or any(c is None for c in caps):
        return None
    return max(c for c in caps if c is not None)


def _live_holds(session: Session, start: datetime, end: datetime, *, org_id: int | None, names: dict[int, str],
                antenna_ids: set[int], planner: dict[int, int],
                uplinks: dict[int, bool]) -> tuple[dict[int, _Holds], dict[int, list[tuple[datetime, datetime, str]]]]:
    """Return the live contacts' holds: per antenna (``_Holds``), and per planned satellite (start, end, note)."""
    live = list(session.scalars(select(Contact).where(
        Contact.status.in_((ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS)),
        Contact.start_time < end + HOLD_MARGIN, Contact.busy_until > start - HOLD_MARGIN)
        .order_by(Contact.start_time, Contact.id)))
    owner_of = {antenna_id: owner for antenna_id, owner in session.execute(
        select(Antenna.id, Station.org_id).join(Station))}

    def seen(c: Contact) -> bool:  # api.queries' rule: booked by it, or on its own antenna
        return org_id is None or c.org_id == org_id or owner_of.get(c.antenna_id) == org_id

    antenna_holds: dict[int, _Holds] = defaultdict(_Holds)
    satellite_holds: dict[int, list[tuple[datetime, datetime, str]]] = defaultdict(list)
    for c in live:
        if c.antenna_id in antenna_ids:
            holds = antenna_holds[c.antenna_id]
            holds.starts.append(c.start_time)
            holds.ends.append(c.busy_until)
            holds.reach.append(max(c.busy_until, holds.reach[-1]) if holds.reach else c.busy_until)
            holds.labels.append(f"contact {c.id}, booked by {names[c.org_id]}" if seen(c) else "an existing booking")
        planned_for = planner.get(c.satellite_id)
        if planned_for is None:
            continue
        if c.org_id == planned_for:
            satellite_holds[c.satellite_id].append((c.start_time, c.end_time, (
                f"satellite {c.satellite_id} already has contact {c.id} of {names[c.org_id]} from "
                f"{format_utc(c.start_time)} to {format_utc(c.end_time)}")))
        elif c.uplink and uplinks.get(c.satellite_id, False):
            what = f"uplink contact {c.id}, booked by {names[c.org_id]}" if seen(c) else "an existing uplink booking"
            satellite_holds[c.satellite_id].append((c.start_time, c.end_time, (
                f"satellite {c.satellite_id} is commanded from {format_utc(c.start_time)} to "
                f"{format_utc(c.end_time)} ({what}), and one uplink holds a satellite at a time")))
    return antenna_holds, satellite_holds


def _kept_out(antenna: Antenna, owner_id: int, org_id: int, aos: datetime, los: datetime,
              grants: dict[tuple[int, int], SharingPolicy], other_band: dict[tuple[int, int], SharingPolicy],
              names: dict[int, str], antenna_holds: _Holds | None,
              satellite_holds: list[tuple[datetime, datetime, str]]) -> tuple[str, str] | None:
    """Return (kind, note) when a rule outside the model keeps the pass out; None when it is a candidate.

    The requester owns the antenna or holds a policy on it (for the antenna's band or not).
    """
    if owner_id != org_id:
        policy = grants.get((antenna.id, org_id))
        if policy is None:
            band = other_band[(antenna.id, org_id)]
            return "not_allowed", (f"sharing policy {band.id} of {names[band.owner_org_id]} shares only the "
                                   f"{', '.join(str(b).lower() for b in band.bands)} band(s), and antenna "
                                   f"{antenna.id} is {antenna.band.value}")
        try:
            check_blackouts(policy, aos, los, f"sharing policy {policy.id} of {names[policy.owner_org_id]} on antenna "
                                              f"{antenna.id}")
        except PolicyError as exc:
            return "not_allowed", str(exc).splitlines()[0].split("; the requested")[0]
    for t0, t1, note in satellite_holds:
        if aos < t1 and los > t0:
            return "busy", note
    if antenna_holds is not None:
        busy_from = aos - timedelta(seconds=antenna.setup_s)
        busy_to = los + timedelta(seconds=antenna.turnaround_s)
        j = antenna_holds.first_meeting(busy_from, busy_to)
        if j is not None:
            return "busy", (f"antenna {antenna.id} is busy from {format_utc(antenna_holds.starts[j])} to "
                            f"{format_utc(antenna_holds.ends[j])} ({antenna_holds.labels[j]})")
    return None


def _most_held(session: Session, antenna_id: int, org_id: int, start: datetime,
               end: datetime) -> tuple[float, datetime]:
    """Return the most hours ``org_id`` holds on the antenna in one ISO week meeting ``[start, end)``, and that week."""
    best, best_monday = 0.0, week_start(start)
    monday = best_monday
    while monday < end:
        held = booked_hours(session, antenna_id=antenna_id, org_id=org_id, since=monday, until=monday + WEEK)
        if held > best:
            best, best_monday = held, monday
        monday += WEEK
    return best, best_monday


def _too_many(max_candidates: int, start: datetime, end: datetime, reached: datetime,
              n_requests: int) -> InvalidInputError:
    """Return the refusal of a run with more than ``max_candidates`` candidates, found by ``reached``."""
    horizon_h = (end - start).total_seconds() / HOUR_S
    covered_h = max((reached - start).total_seconds() / HOUR_S, 0.0)
    estimate = max_candidates * horizon_h / covered_h if covered_h > 0 else math.inf
    about = f", about {estimate:,.0f} over the whole horizon" if math.isfinite(estimate) else ""
    return InvalidInputError(
        f"this run has more than {max_candidates:,} candidate passes, the most one run may model, within its first "
        f"{covered_h:.1f} h ({n_requests} open request(s) over {horizon_h:g} h{about})\n\n"
        f"Plan a shorter horizon (hours: {max(1, math.floor(covered_h))} or less) and the rest in later runs, or "
        "fewer requests: narrow their windows, raise their min_elevation_deg or min_duration_s, or cancel some",
        loc=("hours",))


def solve_run(inputs: PlanInputs, *, solver: str = "auto", time_limit_s: float = 30.0, workers: int = 8) -> PlanRun:
    """Return the run of ``inputs``: its plan, checked independently, with fairness and unserved-request figures.

    Nothing is booked yet (``dry_run`` is True until ``book_plan``).
    """
    problem = inputs.problem
    plan = solve(problem, solver=solver, time_limit_s=time_limit_s, workers=workers)
    return PlanRun(inputs=inputs, plan=plan,
                   violations=[v.message for v in check_schedule(problem, plan.contacts)],
                   fairness=fairness_report(problem, plan.contacts),
                   unserved=explain_unserved(problem, plan.contacts, requests=inputs.requests,
                                             left_out=inputs.left_out, policy_notes=inputs.policy_notes))


def book_plan(session: Session, run: PlanRun, *, max_contact_s: float | None = None) -> PlanRun:
    """Book the chosen candidates of ``run.plan`` (one savepoint each); the caller commits.

    Each contact is booked under the network's rules (``BookingRules``: not before the
    network's clock, at most ``max_contact_s``, within a pass); a refusal is listed in
    ``run.refused`` and the others are booked.
    """
    if run.violations:
        raise ConflictError("the plan breaks the network's rules and was not booked:\n" + "\n".join(run.violations))
    run.dry_run = False
    now = network_now(session)
    rules = BookingRules(now=now, max_contact_s=max_contact_s)
    served: set[int] = set()
    for pass_id in run.plan.contacts:
        source = run.inputs.sources[pass_id]
        candidate = run.problem.passes[run.problem.pass_index[pass_id]]
        try:
            with session.begin_nested():
                uplink = source.uplink and _may_uplink(session, source, candidate.start, candidate.end)
                contact = book_contact(session, antenna_id=source.antenna_id, satellite_id=source.satellite_id,
                                       org_id=source.org_id, start=candidate.start, end=candidate.end, rules=rules,
                                       request_id=source.request_id,
                                       idempotency_key=_plan_key(session, source.org_id, pass_id),
                                       notes=f"planned for request {source.request_id}", uplink=uplink)
        except (ConflictError, PolicyError, NotFoundError, InvalidInputError) as exc:
            run.refused.append({"pass": pass_id, "reason": str(exc).splitlines()[0]})
            continue
        run.booked.append(contact.id)
        run.booked_by_pass[pass_id] = contact.id
        served.add(source.request_id)
    reasons: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for reason in run.unserved:
        if reason.request in run.inputs.request_ids:
            reasons[run.inputs.request_ids[reason.request]].append(reason.to_dict())
    # Every request the run planned keeps the run's time and explanations, served or not.  A request is
    # scheduled once a run covering its whole window served it fully; one planned in parts stays open.
    for request in session.scalars(select(ContactRequest).where(ContactRequest.id.in_(run.inputs.planned))):
        request.planned_at = now
        request.last_reasons = reasons.get(request.id, [])
        if (request.id in served and not reasons.get(request.id) and request.window_start >= run.inputs.start
                and request.window_end <= run.inputs.end):
            request.status = RequestStatus.SCHEDULED
    session.flush()
    return run


def _may_uplink(session: Session, source: CandidateSource, start: datetime, end: datetime) -> bool:
    """Whether a licence (and on a partner's antenna its owner's policy) lets the planned contact uplink."""
    antenna = session.get(Antenna, source.antenna_id)
    try:
        check_uplink_allowed(session, antenna=antenna, satellite_id=source.satellite_id, org_id=source.org_id,
                             start=start, end=end)
    except PolicyError:
        return False
    return True


def _plan_key(session: Session, org_id: int, pass_id: str) -> str:
    """Return the idempotency key of a planned pass: ``plan:<pass id>``, then ``#n`` after each cancelled booking.

    A run retried books nothing twice (the key finds the contact it booked), and a pass
    whose contact was cancelled can be planned again (the cancelled contact keeps its key).
    """
    base = f"plan:{pass_id}"
    cancelled = session.scalar(select(func.count()).select_from(Contact).where(
        Contact.org_id == org_id, Contact.status == ContactStatus.CANCELLED,
        (Contact.idempotency_key == base) | Contact.idempotency_key.startswith(f"{base}#", autoescape=True))) or 0
    return base if cancelled == 0 else f"{base}#{cancelled}"


#: Opens a fresh unit of work (``store.session_scope`` on a factory, ``store.admin.open_store`` on a URL).
UnitOfWork = Callable[[], AbstractContextManager[Session]]


def plan_and_book(session: Session, *, book_in: UnitOfWork, start: datetime, end: datetime,
                  org_id: int | None = None, solver: str = "auto", time_limit_s: float = 30.0, workers: int = 8,
                  dry_run: bool = True, lead_s: float | None = None, max_contact_s: float | None = None,
                  max_candidates: int | None = None, search_workers: int | None = 1) -> PlanRun:
    """Plan the open requests over ``[start, end)`` and, unless ``dry_run``, book the plan: read, solve, book.

    Reads in ``session`` (``build_problem``: ``org_id``, ``max_contact_s``,
    ``max_candidates`` and ``search_workers``, the pass search's processes, as there),
    then rolls it back, so that no database snapshot is held while the solver runs
    (``solver``, ``time_limit_s``, ``workers``: its threads).  Unless ``dry_run``, the
    plan is booked in a fresh unit of work from ``book_in`` (``book_plan``), committed when
    it closes; the requests it planned keep its explanations (even when it books nothing).
    ``lead_s``: candidates start no earlier than the network's clock plus this; by default
    the run's own time (``time_limit_s + PLAN_LEAD_S``), so that none starts before it is
    booked.
    """
    inputs = build_problem(session, start=start, end=end, org_id=org_id,
                           lead_s=time_limit_s + PLAN_LEAD_S if lead_s is None else lead_s,
                           max_contact_s=max_contact_s, max_candidates=max_candidates, workers=search_workers)
    session.rollback()  # the read is done; hold no snapshot while solving
    run = solve_run(inputs, solver=solver, time_limit_s=time_limit_s, workers=workers)
    if not dry_run and (run.plan.contacts or run.inputs.planned):
        with book_in() as writer:
            book_plan(writer, run, max_contact_s=max_contact_s)
    else:
        run.dry_run = dry_run
    return run


def planning_counts(session: Session, *, start: datetime, end: datetime) -> tuple[int, int]:
    """Return how many organisations the store holds, and how many open requests meet ``[start, end)``."""
    n_orgs = session.scalar(select(func.count()).select_from(Organisation)) or 0
    n_open = session.scalar(select(func.count()).select_from(ContactRequest).where(
        ContactRequest.status == RequestStatus.OPEN, ContactRequest.window_start < end,
        ContactRequest.window_end > start)) or 0
    return n_orgs, n_open


def contact_count(session: Session) -> int:
    """Return how many contacts the store holds, whatever their status."""
    return session.scalar(select(func.count()).select_from(Contact)) or 0


def _ms_down(t: datetime) -> datetime:
    return t.replace(microsecond=t.microsecond - t.microsecond % 1000)


def _ms_up(t: datetime) -> datetime:
    down = _ms_down(t)
    return down if down == t else down + timedelta(milliseconds=1)
