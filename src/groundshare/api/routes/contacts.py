"""Contacts: book an antenna for a satellite, list, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select
from sqlalchemy.orm import defer, selectinload

from groundshare.api.deps import CurrentOrg, SessionDep, WriterToken
from groundshare.api.queries import (
    get_visible,
    page,
    visible_antennas,
    visible_contacts,
    visible_satellites,
)
from groundshare.api.routes.params import Limit, Offset, PathId
from groundshare.api.schemas import MAX_ID, ContactCreate, ContactPublic, ContactsPublic, UtcTime
from groundshare.store import Antenna, Contact, Satellite, book_contact, cancel_contact

router = APIRouter(prefix="/contacts", tags=["contacts"])


def contact_public(contact: Contact) -> ContactPublic:
    """Return the public view of a contact."""
    return ContactPublic(id=contact.id, antenna_id=contact.antenna_id, station_id=contact.antenna.station_id,
                         satellite_id=contact.satellite_id, org_id=contact.org_id, start=contact.start_time,
                         end=contact.end_time, busy_until=contact.busy_until, status=contact.status,
                         idempotency_key=contact.idempotency_key, notes=contact.notes,
                         bytes_received=contact.bytes_received, started_at=contact.started_at,
                         finished_at=contact.finished_at)


@router.post("", status_code=status.HTTP_201_CREATED, name="book_contact")
def book(body: ContactCreate, session: SessionDep, org: CurrentOrg, _token: WriterToken) -> ContactPublic:
    """Book the antenna for the satellite over [start, end); 409 names the contact in the way.

    With ``idempotency_key``, retrying the same request returns the contact booked first.
    """
    get_visible(session, visible_antennas(session, org), Antenna, body.antenna_id, "antenna")
    get_visible(session, visible_satellites(session, org), Satellite, body.satellite_id, "satellite")
    contact = book_contact(session, antenna_id=body.antenna_id, satellite_id=body.satellite_id, org_id=org.id,
                           start=body.start, end=body.end, idempotency_key=body.idempotency_key, notes=body.notes)
    return contact_public(contact)


@router.get("")
def list_contacts(
    session: SessionDep, org: CurrentOrg, offset: Offset = 0, limit: Limit = 100,
    station_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    satellite_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    start: Annotated[UtcTime | None, Query(description="Contacts ending after this time (ISO 8601, Z).")] = None,
    end: Annotated[UtcTime | None, Query(description="Contacts starting before this time (ISO 8601, Z).")] = None,
) -> ContactsPublic:
    """List the contacts the caller may see, oldest first, filtered by station, satellite and time."""
    # A listing needs neither the planning snapshot (a JSON document per contact) nor whole antennas.
    query = visible_contacts(session, org).options(defer(Contact.snapshot), selectinload(Contact.antenna))
    if station_id is not None:
        query = query.where(Contact.antenna_id.in_(select(Antenna.id).where(Antenna.station_id == station_id)))
    if satellite_id is not None:
        query = query.where(Contact.satellite_id == satellite_id)
    if start is not None:
        query = query.where(Contact.end_time > start)
    if end is not None:
        query = query.where(Contact.start_time < end)
    rows, count = page(session, query, offset=offset, limit=limit, order_by=[Contact.start_time, Contact.id])
    return ContactsPublic(data=[contact_public(c) for c in rows], count=count)


@router.get("/{contact_id}")
def read_contact(contact_id: PathId, session: SessionDep, org: CurrentOrg) -> ContactPublic:
    """Return one contact the caller booked or that is on its antennas (404 otherwise)."""
    return contact_public(get_visible(session, visible_contacts(session, org), Contact, contact_id, "contact"))


@router.post("/{contact_id}/cancel", name="cancel_contact")
def cancel(contact_id: PathId, session: SessionDep, org: CurrentOrg, _token: WriterToken) -> ContactPublic:
    """Cancel a contact booked by the caller or on its antennas; its antenna time is free again."""
    get_visible(session, visible_contacts(session, org), Contact, contact_id, "contact")
    return contact_public(cancel_contact(session, contact_id))
