"""Launch and early orbit: plan a deployment's first windows, keep it as a campaign, book its windows, end it.

- ``POST /leop/plan``: the windows of a deployment (``store.leop.plan_for_org``) over the
  stations the caller may use (its own, and those with an antenna shared with it by a
  sharing policy covering the antenna's band), each window with its ``station_id``.
  Writes nothing: viewer tokens may plan.
- ``POST /leop/campaigns`` (201): a campaign of one of the caller's satellites; its
  deployment's elements are stored as the satellite's ``leop`` element set.
- ``GET /leop/campaigns`` (a page, ``?status=``), ``GET /leop/campaigns/{id}``, and
  ``GET /leop/campaigns/{id}/windows`` (the campaign's plan, as ``POST /leop/plan``).
- ``POST /leop/campaigns/{id}/book``: k stations per orbit where possible, LEOP before
  routine contacts under the sharing policies (``store.leop.book_campaign``).  The solver
  runs for seconds, so, like ``POST /schedule/runs``, the request's own unit of work only
  reads and holds no snapshot while it solves; the bumps and bookings are written in a
  unit of work of their own.  It shares the planning runs' gate (one run per organisation
  at a time, 429 otherwise).  ``bumped`` lists only the contacts the caller may see (its
  own bookings, or on its own antennas: ``api.queries``' rule), ``bumped_count`` all.
- ``POST /leop/campaigns/{id}/end``: the campaign ends; its future contacts are cancelled.

A campaign of another organisation answers 404, like a missing one.  Writing takes an
operator or admin token (403 for viewers).  Bad input is a 422 naming its field: a
corrupt TLE line or an OPM in an unsupported frame (``deployment_text``), ``hours`` out
of (0, 240], a satellite that is not the caller's (``satellite_id``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from groundshare.api.deps import CurrentOrg, ReadsOnly, SessionDep, WriterToken
from groundshare.api.errors import ErrorBody
from groundshare.api.params import Limit, Offset, PathId
from groundshare.api.queries import page
from groundshare.api.schemas import (
    LeopBookCreate,
    LeopBookingPublic,
    LeopCampaignCreate,
    LeopCampaignPublic,
    LeopCampaignsPublic,
    LeopPlanCreate,
    leop_booking_visible,
    leop_campaign_public,
)
from groundshare.api.settings import Settings
from groundshare.errors import InvalidInputError
from groundshare.extras import require_extras
from groundshare.store import session_scope
from groundshare.store.leop import (
    BOOK_LEAD_S,
    book_campaign,
    campaign_contact_ids,
    campaign_plan,
    create_campaign,
    end_campaign,
    get_campaign,
    parse_deployment,
    plan_dict,
    plan_for_org,
)
from groundshare.store.models import Antenna, LeopCampaign, LeopStatus, Organisation, Satellite, Station

router = APIRouter(prefix="/leop", tags=["leop"])

BOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": (
        "The caller's organisation already has a planning or LEOP booking run in progress, or the server runs as "
        "many as it allows; nothing was booked: retry after Retry-After seconds.")},
}


def _campaign(session: Session, org: Organisation, campaign_id: int) -> LeopCampaign:
    return get_campaign(session, campaign_id, org.id)


def _own_satellite(session: Session, org: Organisation, satellite_id: int) -> Satellite:
    satellite = session.get(Satellite, satellite_id)
    if satellite is None or satellite.org_id != org.id:
        raise InvalidInputError(f"satellite_id {satellite_id} is not one of your organisation's satellites; GET "
                                "/satellites lists them (register the new one with POST /satellites first)",
                                loc=("body", "satellite_id"))
    return satellite


def _own_antenna_ids(session: Session, org: Organisation) -> set[int]:
    return set(session.scalars(select(Antenna.id).join(Station).where(Station.org_id == org.id)))


def _public(session: Session, campaigns: list[LeopCampaign], org: Organisation) -> list[LeopCampaignPublic]:
    names = dict(session.execute(select(Satellite.id, Satellite.name).where(
        Satellite.id.in_({c.satellite_id for c in campaigns}))).all()) if campaigns else {}
    own = _own_antenna_ids(session, org) if any(c.last_booking for c in campaigns) else set()
    out = []
    for c in campaigns:
        public = leop_campaign_public(c, names.get(c.satellite_id, ""), campaign_contact_ids(session, c.id))
        if public.last_booking is not None:
            public.last_booking = leop_booking_visible(public.last_booking, org.id, own)
        out.append(public)
    return out


@router.post("/plan", dependencies=[ReadsOnly])
def plan_deployment(body: LeopPlanCreate, session: SessionDep, org: CurrentOrg) -> dict[str, Any]:
    """Return the deployment's windows over the stations the caller may use (``LeopPlan.to_dict()``).

    Each window is the union over the timing uncertainty of one station's passes, with its
    nominal AOS/TCA/LOS and ``station_id``; an uncertainty over half an orbit is capped
    there (``capped`` and a note).  Writes nothing.
    """
    if body.satellite_id is not None:
        _own_satellite(session, org, body.satellite_id)
    deployment, _ = parse_deployment(body.deployment_text, norad_id=body.norad_id, deploy_time=body.deploy_time)
    plan, by_name = plan_for_org(session, org.id, deployment, hours=body.hours,
                                 deploy_uncertainty_s=body.deploy_uncertainty_s,
                                 separation_dv_m_s=body.separation_dv_m_s, step_s=body.step_s,
                                 station_ids=body.station_ids)
    return plan_dict(plan, by_name)


@router.post("/campaigns", status_code=status.HTTP_201_CREATED)
def create_leop_campaign(body: LeopCampaignCreate, session: SessionDep, org: CurrentOrg,
                         _token: WriterToken) -> LeopCampaignPublic:
    """Start a campaign of one of the caller's satellites; its deployment's elements become the satellite's orbit.

    The elements are stored as an element set of source kind ``leop`` with the
    satellite's NORAD id, so that passes, tracks and contacts have an orbit before the
    catalogue publishes one.
    """
    _own_satellite(session, org, body.satellite_id)
    campaign = create_campaign(session, org_id=org.id, satellite_id=body.satellite_id, name=body.name,
                               deployment_text=body.deployment_text, norad_id=body.norad_id,
                               deploy_time=body.deploy_time, deploy_uncertainty_s=body.deploy_uncertainty_s,
                               separation_dv_m_s=body.separation_dv_m_s, hours=body.hours,
                               stations_per_orbit=body.stations_per_orbit, step_s=body.step_s)
    return _public(session, [campaign], org)[0]


@router.get("/campaigns")
def list_leop_campaigns(
    session: SessionDep, org: CurrentOrg, offset: Offset = 0, limit: Limit = 100,
    status_: Annotated[LeopStatus | None, Query(alias="status", description="Only active or ended ones.")] = None,
) -> LeopCampaignsPublic:
    """List the caller's campaigns, newest first."""
    query = select(LeopCampaign).where(LeopCampaign.org_id == org.id)
    if status_ is not None:
        query = query.where(LeopCampaign.status == status_)
    rows, count = page(session, query, offset=offset, limit=limit,
                       order_by=[LeopCampaign.created_at.desc(), LeopCampaign.id.desc()])
    return LeopCampaignsPublic(data=_public(session, list(rows), org), count=count)


@router.get("/campaigns/{campaign_id}")
def read_leop_campaign(campaign_id: PathId, session: SessionDep, org: CurrentOrg) -> LeopCampaignPublic:
    """Return one of the caller's campaigns (404 for another organisation's)."""
    return _public(session, [_campaign(session, org, campaign_id)], org)[0]


@router.get("/campaigns/{campaign_id}/windows")
def campaign_windows(campaign_id: PathId, session: SessionDep, org: CurrentOrg) -> dict[str, Any]:
    """Return the campaign's windows, as ``POST /leop/plan`` does for its deployment."""
    plan, by_name = campaign_plan(session, _campaign(session, org, campaign_id))
    return plan_dict(plan, by_name)


# ReadsOnly: the request's own unit of work only reads (the booking is written in one of its own), so SQLite's
# write lock is not held while CP-SAT solves.
@router.post("/campaigns/{campaign_id}/book", responses=BOOK_RESPONSES, dependencies=[ReadsOnly])
def book_leop_campaign(campaign_id: PathId, body: LeopBookCreate, request: Request, session: SessionDep,
                       org: CurrentOrg, _token: WriterToken) -> LeopBookingPublic:
    """Book the campaign's windows: k stations per orbit where possible, LEOP before routine contacts.

    The objective (CP-SAT, with its bound): cover as many orbits as possible first, then
    reach k stations on as many as possible, then the least churn (bumped routine
    contacts, weighted by their requests' priorities).  Shared antennas are used only as
    their policies allow; bumped contacts are cancelled with an event ``contact.bumped``
    and their requests reopened.  Booking again books nothing twice.  ``dry_run`` plans
    only.  The summary is kept in the campaign (``last_booking``).
    """
    require_extras("a LEOP booking (CP-SAT)", "schedule")
    settings: Settings = request.app.state.settings
    if body.time_limit_s > settings.max_plan_time_limit_s:
        raise InvalidInputError(f"time_limit_s is {body.time_limit_s:g}, more than the "
                                f"{settings.max_plan_time_limit_s:g} s of solver time one run may use "
                                f"(max_plan_time_limit_s)\n\nAsk for {settings.max_plan_time_limit_s:g} s or less",
                                loc=("body", "time_limit_s"))
    org_id = org.id
    campaign = _campaign(session, org, campaign_id)
    own = _own_antenna_ids(session, org)
    factory = request.app.state.session_factory
    with request.app.state.planning_gate.admit(org_id, expected_s=body.time_limit_s + BOOK_LEAD_S):
        summary = book_campaign(session, campaign, dry_run=body.dry_run, time_limit_s=body.time_limit_s,
                                workers=settings.plan_workers, max_contact_s=settings.max_contact_s,
                                book_in=lambda: session_scope(factory))
    return LeopBookingPublic(**leop_booking_visible(summary, org_id, own))


@router.post("/campaigns/{campaign_id}/end")
def end_leop_campaign(campaign_id: PathId, session: SessionDep, org: CurrentOrg,
                      _token: WriterToken) -> LeopCampaignPublic:
    """End the campaign: its future scheduled contacts are cancelled (ending it again changes nothing)."""
    campaign = end_campaign(session, _campaign(session, org, campaign_id))
    return _public(session, [campaign], org)[0]
