"""Uplink: a station's licences and transmit inhibit, and a contact's audit trail (``store.uplink``).

- ``/stations/{id}/licences``: the station's owner records licences (admin or operator
  token); the owner reads them all, a satellite's operator those of its satellites;
- ``/stations/{id}/transmit-inhibit``: the owner raises (POST) and lifts (DELETE) the
  station's inhibit, which stops transmission from it for everyone; GET gives the open one
  and the record to whoever sees the station;
- ``/contacts/{id}/uplink``: the frames sent in the contact, for the satellite's operator
  (with payloads) and the station's owner (hashes and lengths).

Whoever may not see the station or contact gets 404, as elsewhere.
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from groundshare.api.deps import CurrentOrg, SessionDep, WriterToken
from groundshare.api.params import Limit, Offset, PathId
from groundshare.api.queries import get_visible, page, require_owner, visible_stations
from groundshare.api.schemas import (
    InhibitPublic,
    InhibitRaise,
    InhibitRecord,
    LicenceCreate,
    LicencePublic,
    LicencesPublic,
    UplinkAuditPublic,
    uplink_frame_public,
)
from groundshare.errors import NotFoundError
from groundshare.store import Contact, Organisation, Satellite, Station, UplinkLicence
from groundshare.store.uplink import add_licence, inhibits, lift_inhibit, open_inhibit, raise_inhibit, uplink_audit

router = APIRouter(tags=["uplink"])


@router.post("/stations/{station_id}/licences", status_code=status.HTTP_201_CREATED)
def create_licence(station_id: PathId, body: LicenceCreate, session: SessionDep, org: CurrentOrg,
                   _token: WriterToken) -> LicencePublic:
    """Record a licence for a satellite to be commanded from one of the caller's stations."""
    station = _visible_station(session, org, station_id)
    require_owner(org, station, "station", "record its uplink licences")
    if session.get(Satellite, body.satellite_id) is None:
        raise NotFoundError(f"satellite {body.satellite_id} (satellite_id) does not exist; its operator gives "
                            "you its id")
    licence = add_licence(session, station=station, satellite_id=body.satellite_id, reference=body.reference,
                          valid_from=body.valid_from, valid_until=body.valid_until, org_id=org.id)
    return LicencePublic.model_validate(licence)


@router.get("/stations/{station_id}/licences")
def list_licences(station_id: PathId, session: SessionDep, org: CurrentOrg, offset: Offset = 0,
                  limit: Limit = 100) -> LicencesPublic:
    """List the station's licences (the owner: all; a satellite's operator: those of its satellites)."""
    station = session.get(Station, station_id)
    query = select(UplinkLicence).where(UplinkLicence.station_id == station_id)
    if station is None or station.org_id != org.id:
        query = query.where(UplinkLicence.satellite_id.in_(select(Satellite.id).where(Satellite.org_id == org.id)))
    rows, count = page(session, query, offset=offset, limit=limit,
                       order_by=[UplinkLicence.valid_from, UplinkLicence.id])
    if station is None or (not count and station.org_id != org.id and not _sees(session, org, station_id)):
        raise NotFoundError(f"station {station_id} does not exist or is not shared with your organisation")
    return LicencesPublic(data=[LicencePublic.model_validate(r) for r in rows], count=count)


@router.post("/stations/{station_id}/transmit-inhibit", status_code=status.HTTP_201_CREATED)
def raise_transmit_inhibit(station_id: PathId, body: InhibitRaise, request: Request, response: Response,
                           session: SessionDep, org: CurrentOrg, token: WriterToken,
                           background: BackgroundTasks) -> InhibitPublic:
    """Stop all transmission from the station now (201); one already raised is returned as it is (200).

    The station's agent, waiting on its relay (``GET /agent/stations/{id}/uplink``), hears of
    it at once and stops transmitting; frames still queued are settled not sent.
    """
    station = _visible_station(session, org, station_id)
    require_owner(org, station, "station", "raise its transmit inhibit")
    already = open_inhibit(session, station.id)
    inhibit = raise_inhibit(session, station, org_id=org.id, token_id=token.id, reason=body.reason)
    if already is not None:
        response.status_code = status.HTTP_200_OK
    background.add_task(request.app.state.uplink_wakeups.notify, ("station", station.id))  # after the commit
    return InhibitPublic.model_validate(inhibit)


@router.delete("/stations/{station_id}/transmit-inhibit")
def lift_transmit_inhibit(station_id: PathId, session: SessionDep, org: CurrentOrg,
                          _token: WriterToken) -> InhibitPublic:
    """Lift the station's open transmit inhibit (409 when none is open); it stays on record."""
    station = _visible_station(session, org, station_id)
    require_owner(org, station, "station", "lift its transmit inhibit")
    return InhibitPublic.model_validate(lift_inhibit(session, station, org_id=org.id))


@router.get("/stations/{station_id}/transmit-inhibit")
def read_transmit_inhibit(station_id: PathId, session: SessionDep, org: CurrentOrg,
                          limit: Limit = 100) -> InhibitRecord:
    """Return the station's open transmit inhibit (null: none) and its newest ``limit`` inhibits, newest first."""
    station = _visible_station(session, org, station_id)
    opened = open_inhibit(session, station.id)
    history = [InhibitPublic.model_validate(i) for i in inhibits(session, station.id, limit=limit)]
    return InhibitRecord(station_id=station.id, open=InhibitPublic.model_validate(opened) if opened else None,
                         history=history)


@router.get("/contacts/{contact_id}/uplink")
def read_uplink_audit(contact_id: PathId, session: SessionDep, org: CurrentOrg, offset: Offset = 0,
                      limit: Limit = 100) -> UplinkAuditPublic:
    """Return a page of the frames sent to the satellite in the contact, oldest first (the audit trail)."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFoundError(f"contact {contact_id} does not exist")
    entries, count = uplink_audit(session, contact, org.id, offset=offset, limit=limit)
    return UplinkAuditPublic(data=[uplink_frame_public(e) for e in entries], count=count)


def _visible_station(session: Session, org: Organisation, station_id: int) -> Station:
    return get_visible(session, visible_stations(session, org), Station, station_id, "station")


def _sees(session: Session, org: Organisation, station_id: int) -> bool:
    return session.scalars(visible_stations(session, org).where(Station.id == station_id)).first() is not None
