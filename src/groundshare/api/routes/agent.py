"""The station agent's routes: fetch the station's schedule, report how each contact went.

A station's agent authenticates with a token of the organisation that owns the station
(operator or admin for the POSTs; a viewer token may read the schedule).  Partners do
not run other organisations' antennas: a station (or contact) the caller can see only
through a sharing policy is a 403; one it cannot see at all is a 404.

- ``GET /agent/schedule``: the live (scheduled or in-progress) contacts on the station's
  antennas, in start order, with the element set each was planned with, so the agent
  can propagate offline, and a launch-and-early-orbit contact's antenna search pattern
  (``search_pattern``, null otherwise); the default window starts at the network's now
  (``store.network_now``: shifted on the demo network), as the agent's own clock does;
- ``POST /agent/contacts/{id}/start`` and ``POST /agent/contacts/{id}/outcome``: the life
  cycle of ``store.outcomes`` (409 for an illegal move; a repeated report is harmless);
  an outcome may say what the agent did (``execution``) and how many frames it received
  (``frames_received``; the frames and recordings themselves: ``api/routes/frames.py`` and
  ``api/routes/artifacts.py``);
- ``POST`` and ``DELETE /agent/stations/{id}/lease``: one agent per station
  (``store.lease``); a second agent for the station gets a 409 naming the first.  The
  agent's id is stable for its machine and journal, so a restarted agent renews (takes
  back) its own lease at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from groundshare.api.deps import CurrentOrg, CurrentToken, SessionDep, WriterToken
from groundshare.api.etag import conditional_json
from groundshare.api.params import PathId
from groundshare.api.queries import get_visible, own_contact, require_owner, visible_stations
from groundshare.api.schemas import MAX_ID, ContactExecution, ContactPublic, UtcTime, contact_public
from groundshare.contact import BookingSnapshot
from groundshare.errors import InvalidInputError
from groundshare.store import Antenna, Band, Contact, ContactStatus, Organisation, Station, network_now
from groundshare.store.lease import (
    DEFAULT_LEASE_TTL_S,
    MAX_AGENT_ID_LENGTH,
    MAX_LEASE_TTL_S,
    MIN_LEASE_TTL_S,
    acquire_lease,
    release_lease,
)
from groundshare.store.outcomes import MAX_BYTES, MAX_NOTES_LENGTH, report_outcome, start_contact
from groundshare.timeutil import format_utc
from groundshare.units import HOUR_S

router = APIRouter(prefix="/agent", tags=["agent"])

#: The schedule's window when none is given: the network's now to now + 48 h.
DEFAULT_SCHEDULE_S = 48 * HOUR_S
#: Longest schedule window an agent may ask for.
MAX_SCHEDULE_SPAN = timedelta(days=14)
LIVE = (ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS)

# The schedule's schemas name the fields of the contracts the agent reads them as (``groundshare.contact``):
# AgentStation is a StationSnapshot, AgentContact a ScheduledContact (with ScheduledAntenna, ScheduledSatellite
# and the ElementSetSnapshot it was booked with).


class AgentStation(BaseModel):
    id: int
    name: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    min_elevation_deg: float
    horizon_mask: list[Any] | None


class AgentAntenna(BaseModel):
    """The antenna as it is now (its hardware), with slew rates in degrees per second (None: unknown)."""

    id: int
    name: str
    band: Band
    setup_s: float
    turnaround_s: float
    az_slew_deg_s: float | None
    el_slew_deg_s: float | None


class AgentSatellite(BaseModel):
    id: int
    norad_id: int
    name: str
    downlink_frequency_hz: float | None
    uplink_frequency_hz: float | None


class AgentElementSet(BaseModel):
    """The element set the contact was planned with (from its booking snapshot), as uploaded."""

    id: int | None
    epoch: str | None
    format: str
    text: str


class AgentContact(BaseModel):
    contact_id: int
    status: ContactStatus
    org_id: int
    start: datetime
    end: datetime
    busy_until: datetime
    antenna: AgentAntenna
    satellite: AgentSatellite
    element_set: AgentElementSet | None
    uplink: bool = Field(default=False, description=(
        "Whether the contact may transmit: the agent then relays its operator's frames "
        "(GET /agent/stations/{id}/uplink) to its TNC from AOS to LOS."))
    search_pattern: dict[str, Any] | None = Field(default=None, description=(
        "A launch-and-early-orbit contact's antenna search pattern (where to wait, which arc to sweep, the "
        "admissible timing shifts; ``contact.search.SearchPattern``); null for a routine contact."))


class AgentSchedule(BaseModel):
    station: AgentStation
    start: datetime
    end: datetime
    data: list[AgentContact]
    count: int


class ContactStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    started_at: UtcTime | None = None


class ContactOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["completed", "failed"]
    bytes_received: int = Field(ge=0, le=MAX_BYTES)
    frames_received: int | None = Field(default=None, ge=0, le=MAX_BYTES, description=(
        "Frames the station received (its journal's count; the frames themselves go to POST "
        "/agent/contacts/{id}/frames)."))
    notes: str | None = Field(default=None, max_length=MAX_NOTES_LENGTH)
    started_at: UtcTime | None = None
    finished_at: UtcTime | None = None
    execution: ContactExecution | None = None


AgentId = Annotated[str, Field(min_length=1, max_length=MAX_AGENT_ID_LENGTH,
                               description="Names the agent, e.g. 'host/journal-3f2a9c0d1e4b5a6f' (stable for its "
                                           "machine and journal: the same id renews, or takes back, its lease).")]


class LeaseAcquire(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: AgentId
    ttl_s: float = Field(default=DEFAULT_LEASE_TTL_S, ge=MIN_LEASE_TTL_S, le=MAX_LEASE_TTL_S, allow_inf_nan=False,
                         description="Seconds the lease lasts unless renewed (5 to 600).")


class LeasePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    station_id: int
    agent_id: str
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime


_SCHEDULE = TypeAdapter(AgentSchedule)


@router.get("/schedule", response_model=AgentSchedule, responses={
    304: {"description": "If-None-Match names the schedule's ETag: the copy the agent holds is current."}})
def schedule(
    request: Request, session: SessionDep, org: CurrentOrg, _token: CurrentToken,
    station_id: Annotated[int, Query(ge=1, le=MAX_ID, description="The caller's own station.")],
    start: Annotated[UtcTime | None, Query(description="Contacts ending after this time (default: the network's "
                                                       "now, GET /clock).")] = None,
    end: Annotated[UtcTime | None, Query(description="Contacts starting before this time (default: start + "
                                                     "48 h; at most 14 days after start).")] = None,
) -> Response:
    """Return the station's scheduled and in-progress contacts overlapping [start, end), in start order.

    The answer carries an ``ETag`` (the SHA-256 of its body, ``api.etag``): a poll sending it
    back in ``If-None-Match`` gets a bodiless 304 while nothing in the answer changed.
    """
    station = _own_station(session, org, station_id)
    start = start if start is not None else network_now(session)
    end = end if end is not None else start + timedelta(seconds=DEFAULT_SCHEDULE_S)
    if end <= start:
        raise InvalidInputError(f"end ({format_utc(end)}) must be after start ({format_utc(start)})",
                                loc=("query", "end"))
    if end - start > MAX_SCHEDULE_SPAN:
        raise InvalidInputError(f"the schedule covers at most {MAX_SCHEDULE_SPAN.days} days; ask again for the "
                                "next window", loc=("query", "end"))
    contacts = session.scalars(
        select(Contact)
        .join(Antenna, Contact.antenna_id == Antenna.id)
        .where(Antenna.station_id == station.id, Contact.status.in_(LIVE), Contact.end_time > start,
               Contact.start_time < end)
        .options(selectinload(Contact.antenna), selectinload(Contact.satellite))
        .order_by(Contact.start_time, Contact.id)
    ).all()
    data = [_agent_contact(c) for c in contacts]
    answer = AgentSchedule(station=AgentStation(**station.snapshot().to_json()), start=start, end=end, data=data,
                           count=len(data))
    return conditional_json(request, _SCHEDULE, answer)


@router.post("/contacts/{contact_id}/start", name="start_contact")
def start(contact_id: PathId, session: SessionDep, org: CurrentOrg, _token: WriterToken,
          body: Annotated[ContactStart | None, Body()] = None) -> ContactPublic:
    """Mark a scheduled contact in progress (``started_at`` default: now); repeating it changes nothing."""
    own_contact(session, org, contact_id, "start it")
    at = body.started_at if body is not None else None
    return contact_public(start_contact(session, contact_id, at))


@router.post("/contacts/{contact_id}/outcome", name="report_outcome")
def outcome(contact_id: PathId, body: ContactOutcome, session: SessionDep, org: CurrentOrg,
            _token: WriterToken) -> ContactPublic:
    """Record a contact as completed or failed, with the bytes received (``finished_at`` default: now).

    Repeating the same report returns the contact unchanged; a different one is a 409.
    """
    own_contact(session, org, contact_id, "report its outcome")
    execution = body.execution.model_dump(mode="json", exclude_none=True) if body.execution is not None else None
    contact = report_outcome(session, contact_id, status=body.status, bytes_received=body.bytes_received,
                             frames_received=body.frames_received, notes=body.notes, started_at=body.started_at,
                             finished_at=body.finished_at,
                             execution=execution)
    return contact_public(contact)


@router.post("/stations/{station_id}/lease", name="acquire_lease")
def acquire(station_id: PathId, body: LeaseAcquire, session: SessionDep, org: CurrentOrg,
            _token: WriterToken) -> LeasePublic:
    """Take or renew the station's agent lease for ``ttl_s`` seconds.

    Granted when the station has no lease, its lease expired, or ``agent_id`` holds it
    (renewal moves ``expires_at``); a 409 names the other agent holding a live lease.
    """
    _own_station(session, org, station_id, "run its agent")
    lease = acquire_lease(session, station_id, body.agent_id, ttl_s=body.ttl_s)
    return LeasePublic.model_validate(lease)


@router.delete("/stations/{station_id}/lease", name="release_lease", status_code=status.HTTP_204_NO_CONTENT)
def release(station_id: PathId, session: SessionDep, org: CurrentOrg, _token: WriterToken,
            agent_id: Annotated[str, Query(min_length=1, max_length=MAX_AGENT_ID_LENGTH,
                                           description="The agent releasing its lease.")]) -> None:
    """Release the station's agent lease held by ``agent_id`` (also 204 when there is none); 409 if another holds it."""
    _own_station(session, org, station_id, "run its agent")
    release_lease(session, station_id, agent_id)


def _own_station(session: Session, org: Organisation, station_id: int,
                 action: str = "run its agent and read its schedule") -> Station:
    """Return the caller's own station: 404 when invisible, 403 when only shared with it."""
    station = get_visible(session, visible_stations(session, org), Station, station_id, "station")
    require_owner(org, station, "station", action)
    return station


def _agent_contact(contact: Contact) -> AgentContact:
    """Return the schedule's entry of ``contact``: its antenna and satellite as they are, its planned element set."""
    antenna, satellite = contact.antenna, contact.satellite
    planned = BookingSnapshot.from_json(contact.snapshot or {}, contact_id=contact.id).element_set
    element_set = None
    if planned is not None:
        element_set = AgentElementSet(id=planned.id, epoch=planned.epoch.isoformat() if planned.epoch else None,
                                      format=planned.format or "", text=planned.text)
    return AgentContact(
        contact_id=contact.id, status=contact.status, org_id=contact.org_id, start=contact.start_time,
        end=contact.end_time, busy_until=contact.busy_until,
        antenna=AgentAntenna(id=antenna.id, name=antenna.name, band=antenna.band, setup_s=antenna.setup_s,
                             turnaround_s=antenna.turnaround_s, az_slew_deg_s=antenna.az_slew_deg_s,
                             el_slew_deg_s=antenna.el_slew_deg_s),
        satellite=AgentSatellite(id=satellite.id, norad_id=satellite.norad_id, name=satellite.name,
                                 downlink_frequency_hz=satellite.downlink_frequency_hz,
                                 uplink_frequency_hz=satellite.uplink_frequency_hz),
        element_set=element_set, uplink=contact.uplink, search_pattern=contact.search_pattern)
