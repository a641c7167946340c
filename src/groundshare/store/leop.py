"""LEOP campaigns in the store: the deployment, its windows over the network, and booking them.

- ``create_campaign`` keeps the deployment as given (TLE/3LE or OMM element set, or a CCSDS
  OPM/OEM state vector fitted to SGP4 elements by ``leop.deploy``) and stores its elements
  for the satellite, with the satellite's NORAD id, as an element set of source kind
  ``leop`` (``store.elements.local_source``), so that passes, tracks and contacts have an
  orbit before the catalogue publishes one;
- ``campaign_plan`` computes the windows (``leop.plan_windows``) over the stations the
  organisation may use: its own, and those with an antenna shared with it by a sharing
  policy whose bands cover the antenna;
- ``book_campaign`` books them: the problem of ``leop.booking`` (k stations per orbit,
  LEOP before routine contacts, least churn), solved by ``schedule.solve`` (CP-SAT, with
  its objective and bound), then in the caller's unit of work: bumped routine contacts
  cancelled (an event ``contact.bumped`` to the booking organisation and the antenna's
  owner; a request that was scheduled goes back to open so the next planning run re-plans
  it), and each chosen window booked through ``book_contact`` with the campaign, its search
  pattern (``leop.search``) and an idempotency key ``leop<campaign>:a<antenna>:<start>``,
  one savepoint each (refusals listed).  LEOP outranks routine requests *under the sharing
  policies*: a shared antenna is used only through a policy covering its band, outside its
  blackouts and within its weekly hours.  Never bumped (fixed holds): contacts in progress,
  other campaigns' LEOP contacts, contacts starting before the clock plus the run's lead,
  and uplink contacts;
- ``end_campaign`` ends it and cancels its future scheduled contacts.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from groundshare.errors import ConflictError, InvalidInputError, NotFoundError, PolicyError
from groundshare.leop.booking import (
    AntennaOption,
    Hold,
    RoutineContact,
    build_leop_problem,
    read_plan,
)
from groundshare.leop.deploy import (
    Deployment,
    deployment_from_ephemeris,
    deployment_from_state,
    parse_oem_kvn,
    parse_opm_kvn,
)
from groundshare.leop.search import search_pattern
from groundshare.leop.windows import DEFAULT_STEP_S, MAX_HOURS, LeopPlan, plan_windows
from groundshare.orbits import ElementSetError, detect_format, parse_elements
from groundshare.schedule import PolicySpec, check_schedule, solve
from groundshare.store.booking import BookingRules, book_contact
from groundshare.store.clock import network_now
from groundshare.store.elements import local_source, store_element_sets
from groundshare.store.events import record_event
from groundshare.store.models import (
    Antenna,
    Contact,
    ContactRequest,
    ContactStatus,
    LeopCampaign,
    LeopStatus,
    Organisation,
    RequestStatus,
    Satellite,
    SharingPolicy,
    SourceKind,
    Station,
)
from groundshare.store.policy import booked_hours, week_start
from groundshare.timeutil import format_utc, parse_utc, require_utc

#: What a booking run needs besides its solver time (plan, search patterns, bookings), seconds.
BOOK_LEAD_S = 60.0
#: Longest deployment text, characters (an OEM of a day at 60 s is about 120 kB).
MAX_DEPLOYMENT_CHARS = 2_000_000
_STATE = re.compile(r"^\s*CCSDS_(OPM|OEM)_VERS\b", re.M)


def parse_deployment(text: str, *, norad_id: int | None = None, deploy_time: datetime | None = None
                     ) -> tuple[Deployment, str]:
    """Return the deployment in ``text`` and its stored format (``tle``, ``json`` (OMM) or ``kvn`` (OPM/OEM)).

    Errors name the field ``deployment_text`` (``InvalidInputError``).
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError("deployment_text is empty; give a TLE/3LE, an OMM or a CCSDS OPM/OEM",
                                loc=("deployment_text",))
    if len(text) > MAX_DEPLOYMENT_CHARS:
        raise InvalidInputError(f"deployment_text is {len(text):,} characters, more than {MAX_DEPLOYMENT_CHARS:,}",
                                loc=("deployment_text",))
    deploy_time = None if deploy_time is None else require_utc(deploy_time, "deploy_time")
    try:
        match = _STATE.search(text)
        if match:
            if match.group(1) == "OEM":  # fitted over the whole ephemeris
                return deployment_from_ephemeris(parse_oem_kvn(text, source="deployment_text"),
                                                 deploy_time=deploy_time, norad_id=norad_id or 0), "kvn"
            return deployment_from_state(parse_opm_kvn(text, source="deployment_text"), deploy_time=deploy_time,
                                         norad_id=norad_id or 0, kind="opm"), "kvn"
        fmt = detect_format(text)
        sets = list(parse_elements(text, source="deployment_text", on_error="raise"))
    except (InvalidInputError, ElementSetError, ValueError) as exc:
        raise InvalidInputError(f"deployment_text: {str(exc).splitlines()[0]}", loc=("deployment_text",)) from None
    if norad_id is not None and len(sets) > 1:
        sets = [e for e in sets if e.norad_id == norad_id]
    if len(sets) != 1:
        raise InvalidInputError(f"deployment_text holds {len(sets)} element sets"
                                f"{'' if norad_id is None else f' for NORAD {norad_id}'}; give the deployment's own "
                                "(or choose one with norad_id)", loc=("deployment_text",))
    elements = sets[0]
    deploy = elements.epoch if deploy_time is None else deploy_time
    return Deployment(elements, deploy, "elements", "deployment_text"), "tle" if str(fmt) == "tle" else "json"


def _check_numbers(hours: float, deploy_uncertainty_s: float, separation_dv_m_s: float, stations_per_orbit: int,
                   step_s: float | None) -> None:
    checks = (("hours", hours, 0.0, MAX_HOURS), ("deploy_uncertainty_s", deploy_uncertainty_s, 0.0, math.inf),
              ("separation_dv_m_s", separation_dv_m_s, 0.0, 1000.0))
    for name, value, lo, hi in checks:
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
                math.isfinite(value) and lo <= value <= hi) or (name == "hours" and value <= 0):
            raise InvalidInputError(f"{name} is {value!r}; expected a number in {'(' if name == 'hours' else '['}"
                                    f"{lo:g}, {hi:g}]", loc=(name,))
    if isinstance(stations_per_orbit, bool) or not isinstance(stations_per_orbit, int) or not (
            1 <= stations_per_orbit <= 20):
        raise InvalidInputError(f"stations_per_orbit is {stations_per_orbit!r}; expected 1 to 20",
                                loc=("stations_per_orbit",))
    if step_s is not None and not (isinstance(step_s, int | float) and 1.0 <= step_s <= 3600.0):
        raise InvalidInputError(f"step_s is {step_s!r}; expected seconds in [1, 3600]", loc=("step_s",))


def create_campaign(session: Session, *, org_id: int, satellite_id: int, name: str, deployment_text: str,
                    norad_id: int | None = None, deploy_time: datetime | None = None,
                    deploy_uncertainty_s: float = 0.0, separation_dv_m_s: float = 0.0, hours: float = 48.0,
                    stations_per_orbit: int = 2, step_s: float | None = None) -> LeopCampaign:
    """Return a new active campaign of the organisation's own satellite; its deployment's elements are stored."""
    satellite = session.get(Satellite, satellite_id)
    if satellite is None or satellite.org_id != org_id:
        raise NotFoundError(f"satellite {satellite_id} is not one of your organisation's satellites")
    _check_numbers(hours, deploy_uncertainty_s, separation_dv_m_s, stations_per_orbit, step_s)
    deployment, fmt = parse_deployment(deployment_text, norad_id=norad_id, deploy_time=deploy_time)
    now = network_now(session)
    elements = dataclasses.replace(deployment.elements, norad_id=satellite.norad_id, line1=None, line2=None)
    report = store_element_sets(session, satellite, [elements], source=local_source(session, satellite,
                                                                                      SourceKind.LEOP),
                                fetched_at=now, now=now, label="leop")
    if getattr(report, "refused", None):
        raise InvalidInputError(f"deployment_text: the element set was refused: {report.refused[0][1]}",
                                loc=("deployment_text",))
    campaign = LeopCampaign(org_id=org_id, satellite_id=satellite_id, name=name, deploy_time=deployment.deploy_time,
                            deploy_uncertainty_s=float(deploy_uncertainty_s),
                            separation_dv_m_s=float(separation_dv_m_s), hours=float(hours),
                            stations_per_orbit=stations_per_orbit, step_s=float(step_s or DEFAULT_STEP_S),
                            deployment_text=deployment_text, deployment_format=fmt, status=LeopStatus.ACTIVE,
                            created_at=now)
    session.add(campaign)
    session.flush()
    return campaign


def get_campaign(session: Session, campaign_id: int, org_id: int) -> LeopCampaign:
    """Return the organisation's campaign (``NotFoundError`` for another's: it is not told apart from none)."""
    campaign = session.get(LeopCampaign, campaign_id)
    if campaign is None or campaign.org_id != org_id:
        raise NotFoundError(f"LEOP campaign {campaign_id} does not exist")
    return campaign


def campaign_deployment(campaign: LeopCampaign) -> Deployment:
    """Return the campaign's deployment, re-read from its text."""
    deployment, _ = parse_deployment(campaign.deployment_text, deploy_time=campaign.deploy_time)
    return deployment


def usable_antennas(session: Session, org_id: int) -> list[tuple[Antenna, SharingPolicy | None]]:
    """Return the antennas the organisation may use: its own, and those a policy covering their band shares."""
    out: list[tuple[Antenna, SharingPolicy | None]] = []
    policies = {p.antenna_id: p for p in session.scalars(select(SharingPolicy).where(
        SharingPolicy.grantee_org_id == org_id).order_by(SharingPolicy.id))}
    for antenna in session.scalars(select(Antenna).join(Station).order_by(Station.id, Antenna.id)):
        if antenna.station.org_id == org_id:
            out.append((antenna, None))
            continue
        policy = policies.get(antenna.id)
        bands = [str(b).lower() for b in (policy.bands or [])] if policy is not None else []
        if policy is not None and (not bands or antenna.band.value in bands):
            out.append((antenna, policy))
    out.sort(key=lambda ap: (ap[1] is not None, ap[0].station_id, ap[0].id))  # own first
    return out


def _sites(antennas: list[tuple[Antenna, SharingPolicy | None]], station_ids: list[int] | None
           ) -> tuple[list[Any], dict[str, Station]]:
    stations: dict[int, Station] = {}
    for antenna, _ in antennas:
        if station_ids is None or antenna.station_id in station_ids:
            stations.setdefault(antenna.station_id, antenna.station)
    by_name: dict[str, Station] = {}
    sites = []
    for station in stations.values():
        name = station.name if station.name not in by_name else f"{station.name}#{station.id}"
        by_name[name] = station
        site = station.to_site()
        sites.append(type(site)(name, lat_deg=site.lat_deg, lon_deg=site.lon_deg, alt_m=site.alt_m,
                                min_elevation_deg=site.min_elevation_deg, horizon_mask=site.horizon_mask))
    return sites, by_name


def plan_for_org(session: Session, org_id: int, deployment: Deployment, *, hours: float,
                 deploy_uncertainty_s: float = 0.0, separation_dv_m_s: float = 0.0, step_s: float | None = None,
                 station_ids: list[int] | None = None) -> tuple[LeopPlan, dict[str, Station]]:
    """Return the windows over the stations the organisation may use (or those of ``station_ids`` among them)."""
    sites, by_name = _sites(usable_antennas(session, org_id), station_ids)
    if not sites:
        raise InvalidInputError("no station your organisation may use" + (" among station_ids" if station_ids
                                                                          else ""), loc=("station_ids",))
    plan = plan_windows(deployment, sites, hours=hours, deploy_uncertainty_s=deploy_uncertainty_s,
                        separation_dv_m_s=separation_dv_m_s, step_s=step_s or DEFAULT_STEP_S)
    return plan, by_name


def plan_dict(plan: LeopPlan, by_name: dict[str, Station]) -> dict[str, Any]:
    """Return ``plan.to_dict()`` with each window's ``station_id``."""
    out = plan.to_dict()
    for w in out["windows"]:
        w["station_id"] = by_name[w["station"]].id
    return out


def campaign_plan(session: Session, campaign: LeopCampaign) -> tuple[LeopPlan, dict[str, Station]]:
    """Return the campaign's windows over the stations its organisation may use."""
    return plan_for_org(session, campaign.org_id, campaign_deployment(campaign), hours=campaign.hours,
                        deploy_uncertainty_s=campaign.deploy_uncertainty_s,
                        separation_dv_m_s=campaign.separation_dv_m_s, step_s=campaign.step_s)


def book_campaign(session: Session, campaign: LeopCampaign, *, dry_run: bool = False, time_limit_s: float = 10.0,
                  workers: int = 8, lead_s: float | None = None, max_contact_s: float | None = None,
                  book_in: Callable[[], AbstractContextManager[Session]] | None = None) -> dict[str, Any]:
    """Plan and (unless ``dry_run``) book the campaign's windows in the caller's unit of work; return the summary.

    The summary (see the module docstring) is stored in ``campaign.last_booking`` unless
    ``dry_run``; the caller commits.  ``bumped`` lists every contact bumped; the API shows
    the caller only those it may see.  With ``book_in`` (a fresh unit of work, as
    ``store.planning.plan_and_book`` takes), ``session`` only reads and is rolled back
    before the solver runs, so no snapshot or write lock is held while it solves; the
    bumps and bookings are then made, and committed, in ``book_in``'s unit of work
    (a contact no longer scheduled by then is not bumped).
    """
    if campaign.status != LeopStatus.ACTIVE:
        raise ConflictError(f"LEOP campaign {campaign.id} has ended; start a new one to book")
    if not (isinstance(time_limit_s, int | float) and 1.0 <= time_limit_s <= 60.0):
        raise InvalidInputError(f"time_limit_s is {time_limit_s!r}; expected seconds in [1, 60]",
                                loc=("time_limit_s",))
    now = network_now(session)
    lead = time_limit_s + BOOK_LEAD_S if lead_s is None else lead_s
    first = now + timedelta(seconds=lead)
    plan, by_name = campaign_plan(session, campaign)
    usable = usable_antennas(session, campaign.org_id)
    names = {o.id: o.name for o in session.scalars(select(Organisation))}
    station_name = {s.id: n for n, s in by_name.items()}
    options: dict[str, list[AntennaOption]] = defaultdict(list)
    antenna_rows: dict[str, Antenna] = {}
    policy_specs: list[PolicySpec] = []
    for antenna, policy in usable:
        if antenna.station_id not in station_name:
            continue
        blackouts = tuple(_blackouts(policy)) if policy is not None else ()
        option = AntennaOption(str(antenna.id), station_name[antenna.station_id], names[antenna.station.org_id],
                               antenna.turnaround_s, blackouts)
        options[option.station].append(option)
        antenna_rows[option.id] = antenna
        if policy is not None:
            hours = policy.hours_per_week
            if hours is not None:
                held = max(booked_hours(session, antenna_id=antenna.id, org_id=campaign.org_id, since=m,
                                        until=m + timedelta(days=7))
                           for m in _mondays(plan.start, plan.end))
                hours = max(hours - held, 0.0)
            policy_specs.append(PolicySpec(str(antenna.id), names[campaign.org_id], hours))
    live = list(session.scalars(select(Contact).where(
        Contact.antenna_id.in_([a.id for a in antenna_rows.values()]),
        Contact.status.in_((ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS)),
        Contact.start_time < plan.end + timedelta(hours=1), Contact.busy_until > plan.start - timedelta(hours=1))
        .order_by(Contact.start_time, Contact.id)))
    priorities = {r.id: r.priority for r in session.scalars(select(ContactRequest).where(
        ContactRequest.id.in_({c.request_id for c in live if c.request_id is not None})))}
    holds, routine, booked = [], [], []
    for c in live:
        if c.leop_campaign_id == campaign.id and c.status == ContactStatus.SCHEDULED:
            booked.append(RoutineContact(str(c.id), str(c.antenna_id), c.start_time, c.end_time))
        elif (c.status == ContactStatus.SCHEDULED and c.leop_campaign_id is None and not c.uplink
              and c.start_time >= first):
            routine.append(RoutineContact(str(c.id), str(c.antenna_id), c.start_time, c.end_time,
                                          priorities.get(c.request_id, 0)))
        else:
            holds.append(Hold(str(c.antenna_id), c.start_time, c.busy_until, f"contact {c.id}"))
    lp = build_leop_problem(plan, options, organisation=names[campaign.org_id],
                            stations_per_orbit=campaign.stations_per_orbit, now=now, lead_s=lead,
                            max_contact_s=max_contact_s, holds=holds, routine=routine, booked=booked,
                            policies=policy_specs)
    sites = {name: _site(plan, name, by_name) for name in by_name}
    antenna_ids = {key: antenna.id for key, antenna in antenna_rows.items()}
    campaign_id, org_id, satellite_id, campaign_name = (campaign.id, campaign.org_id, campaign.satellite_id,
                                                        campaign.name)
    stations_per_orbit = campaign.stations_per_orbit
    if book_in is not None:
        session.rollback()  # the read is done; hold no snapshot while solving
    result = solve(lp.problem, solver="cpsat", time_limit_s=time_limit_s, workers=workers)
    violations = check_schedule(lp.problem, result.contacts)
    if violations:
        raise ConflictError("the LEOP plan breaks the network's rules and was not booked: " + violations[0].message)
    booking = read_plan(lp, result.contacts)
    refused = [{"window": i, "reason": reason} for i, reason in lp.refused]
    contact_of: dict[str, int | None] = {c.pass_id: None for c in booking.chosen}
    summary = {
        "campaign_id": campaign_id, "dry_run": dry_run, "orbits": booking.orbits,
        "orbits_covered": booking.orbits_covered, "orbits_at_k": booking.orbits_at_k,
        "stations_per_orbit": stations_per_orbit,
    }
    unit = book_in() if book_in is not None and not dry_run else nullcontext(session)
    with unit as writer:
        bumped_rows = [row for row in (writer.get(Contact, int(c.id)) for c in booking.bumped)
                       if row is not None and (dry_run or row.status == ContactStatus.SCHEDULED)]
        target = writer.get(LeopCampaign, campaign_id) if writer is not session else campaign
        if not dry_run:
            if target is None or target.status != LeopStatus.ACTIVE:
                raise ConflictError(f"LEOP campaign {campaign_id} ended while it was being planned; nothing was "
                                    "booked")
            for row in bumped_rows:
                _bump(writer, row, target, names)
            rules = BookingRules(now=now, max_contact_s=max_contact_s)
            for cand in booking.chosen:
                antenna_id = antenna_ids[cand.antenna]
                pattern = None
                try:
                    pattern = search_pattern(plan.deployment.elements, sites[cand.window.station], cand.window,
                                             start=cand.start, end=cand.end).to_dict()
                except InvalidInputError:
                    pattern = None
                try:
                    with writer.begin_nested():
                        contact = book_contact(
                            writer, antenna_id=antenna_id, satellite_id=satellite_id, org_id=org_id,
                            start=cand.start, end=cand.end, rules=rules,
                            idempotency_key=f"leop{campaign_id}:a{antenna_id}:{format_utc(cand.start)}",
                            notes=f"LEOP campaign {campaign_id} ({campaign_name}), revolution {cand.rev}",
                            leop_campaign_id=campaign_id,
                            leop_window=(cand.window.earliest_aos, cand.window.latest_los), search_pattern=pattern)
                except (ConflictError, PolicyError, NotFoundError, InvalidInputError) as exc:
                    refused.append({"window": cand.window_index, "reason": str(exc).splitlines()[0]})
                    continue
                contact_of[cand.pass_id] = contact.id
        summary.update({
            "revolutions": [{"rev": r.rev, "start": format_utc(r.start), "windows": r.windows,
                             "booked": [{"contact_id": contact_of.get(c.pass_id), "antenna_id": int(c.antenna),
                                         "station": c.window.station, "start": format_utc(c.start),
                                         "end": format_utc(c.end)} for c in r.booked]}
                            for r in booking.revolutions],
            "booked_contact_ids": sorted(i for i in contact_of.values() if i is not None),
            "bumped": [{"contact_id": c.id, "antenna_id": c.antenna_id, "start": format_utc(c.start_time),
                        "end": format_utc(c.end_time), "org_id": c.org_id} for c in bumped_rows],
            "bumped_count": len(bumped_rows), "refused": refused,
            "objective": result.objective, "bound": result.bound, "solver_status": result.status,
            "priority": lp.priority, "wall_s": round(result.wall_s, 3),
        })
        if not dry_run:
            target.last_booking = summary
            target.booked_at = now
            writer.flush()
    return summary


def _bump(session: Session, contact: Contact, campaign: LeopCampaign, names: dict[int, str]) -> None:
    """Cancel a routine contact for the campaign, tell its booker and the antenna's owner, reopen its request."""
    contact.status = ContactStatus.CANCELLED
    note = f"bumped by LEOP campaign {campaign.id} of {names[campaign.org_id]}"
    contact.notes = f"{contact.notes}; {note}" if contact.notes else note
    if contact.request_id is not None:
        request = session.get(ContactRequest, contact.request_id)
        if request is not None and request.status == RequestStatus.SCHEDULED:
            request.status = RequestStatus.OPEN
    session.flush()
    record_event(session, "contact.bumped", message=f"contact {contact.id} was {note}", contact=contact,
                 payload={"contact_id": contact.id, "campaign_id": campaign.id, "org_id": campaign.org_id})


def end_campaign(session: Session, campaign: LeopCampaign) -> LeopCampaign:
    """End the campaign and cancel its future scheduled contacts; the caller commits."""
    now = network_now(session)
    for contact in session.scalars(select(Contact).where(Contact.leop_campaign_id == campaign.id,
                                                         Contact.status == ContactStatus.SCHEDULED,
                                                         Contact.start_time > now)):
        contact.status = ContactStatus.CANCELLED
    campaign.status = LeopStatus.ENDED
    session.flush()
    return campaign


def campaign_contact_ids(session: Session, campaign_id: int) -> list[int]:
    """Return the ids of the campaign's contacts, by start."""
    return list(session.scalars(select(Contact.id).where(Contact.leop_campaign_id == campaign_id)
                                .order_by(Contact.start_time, Contact.id)))


def _blackouts(policy: SharingPolicy) -> list[tuple[datetime, datetime]]:
    out = []
    for window in policy.blackout_windows or []:
        try:
            out.append((parse_utc(str(window["start"]), "blackout start"), parse_utc(str(window["end"]),
                                                                                     "blackout end")))
        except (KeyError, TypeError, ValueError, InvalidInputError):
            raise PolicyError(f"sharing policy {policy.id} has a malformed blackout window {window!r}; ask the "
                              "owner to fix the policy") from None
    return out


def _mondays(start: datetime, end: datetime) -> list[datetime]:
    out, monday = [], week_start(start)
    while monday < end:
        out.append(monday)
        monday += timedelta(days=7)
    return out or [week_start(start)]


def _site(plan: LeopPlan, name: str, by_name: dict[str, Station]) -> Any:
    station = by_name[name]
    site = station.to_site()
    return type(site)(name, lat_deg=site.lat_deg, lon_deg=site.lon_deg, alt_m=site.alt_m,
                      min_elevation_deg=site.min_elevation_deg, horizon_mask=site.horizon_mask)
