"""Exports a person subscribes to: iCalendar, CSV and JSON of contacts.

Read-only GETs, limited to the contacts the caller may see (``queries.visible_contacts``:
booked by its organisation or on its antennas), with the filters of ``GET /contacts``
(``station_id``, ``satellite_id``, ``start``, ``end``) over a bounded window (default
``now - 7 d`` to ``now + 30 d``, at most ``MAX_EXPORT_SPAN``) and at most
``MAX_EXPORT_ROWS`` contacts (more is a 422 asking for a narrower window, never a
silently cut feed).  Every status is exported, cancelled included, so that a
subscriber's copy drops what was cancelled.

Like every route these need ``Authorization: Bearer <token>``.  There is deliberately no
token in the URL: URLs end up in calendar apps' settings, proxies' logs and browser
history, where a token would leak.  Calendar clients that cannot send a header can be
served by a small proxy that adds one (a viewer token is enough).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from icalendar import Calendar, Event, vText
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from groundshare.api.deps import CurrentOrg, SessionDep
from groundshare.api.queries import get_visible, visible_contacts, visible_stations
from groundshare.api.reports import csv_response, csv_text
from groundshare.api.schemas import MAX_ID, ContactsPublic, UtcTime, contact_public
from groundshare.errors import InvalidInputError
from groundshare.store import Antenna, Contact, ContactStatus, Organisation, Station, network_now
from groundshare.timeutil import format_utc, utc_now

router = APIRouter(prefix="/exports", tags=["exports"])

DEFAULT_PAST = timedelta(days=7)
DEFAULT_FUTURE = timedelta(days=30)
#: Longest window one export covers.
MAX_EXPORT_SPAN = timedelta(days=400)
#: Most contacts one export holds.
MAX_EXPORT_ROWS = 10_000
PRODID = "-//groundshare//contacts//EN"
UID_DOMAIN = "groundshare"
#: iCalendar SEQUENCE per status: it only grows along the life cycle, so calendar apps take the newer copy.
SEQUENCE = {ContactStatus.SCHEDULED: 0, ContactStatus.IN_PROGRESS: 1, ContactStatus.COMPLETED: 2,
            ContactStatus.FAILED: 2, ContactStatus.CANCELLED: 3}
CSV_COLUMNS = ("id", "status", "start", "end", "station_id", "station_name", "antenna_id", "antenna_name",
               "satellite_id", "norad_id", "satellite_name", "org_id", "org_name", "bytes_received", "started_at",
               "finished_at", "notes")

StationQuery = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this station's contacts.")]
SatelliteQuery = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this satellite's contacts.")]
StartQuery = Annotated[UtcTime | None, Query(description="Contacts ending after this time (ISO 8601, Z); "
                                                         "default: 7 days ago (or end - 37 days).")]
EndQuery = Annotated[UtcTime | None, Query(description="Contacts starting before this time (ISO 8601, Z); "
                                                       "default: 30 days ahead (or start + 37 days); at most "
                                                       "400 days after start.")]


@router.get("/contacts.ics", name="contacts_ics", response_class=Response,
            responses={200: {"content": {"text/calendar": {}}, "description": "An iCalendar feed (RFC 5545)."}})
def contacts_ics(session: SessionDep, org: CurrentOrg, station_id: StationQuery = None,
                 org_filter: Annotated[Literal["mine"] | None, Query(alias="org", description=(
                     "'mine': every contact the caller's organisation may see (the default without "
                     "station_id)."))] = None,
                 satellite_id: SatelliteQuery = None, start: StartQuery = None, end: EndQuery = None) -> Response:
    """Return an iCalendar feed of the contacts of a station (or all the caller may see), one VEVENT each.

    UIDs are ``contact-<id>@groundshare``; times are UTC (``Z``); cancelled contacts stay in
    the feed with ``STATUS:CANCELLED`` so that subscribers remove them.
    """
    station = _station(session, org, station_id)
    contacts = _contacts(session, org, station_id, satellite_id, start, end)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    where = f"station {station.name}" if station is not None else org.name
    # An X- property is written raw unless typed: as TEXT its line breaks, commas and semicolons are escaped.
    calendar.add("x-wr-calname", vText(f"groundshare contacts: {where}"))
    stamp = utc_now().replace(microsecond=0)
    for contact in contacts:
        calendar.add_component(_event(contact, stamp))
    filename = f"contacts_station_{station.id}.ics" if station is not None else "contacts.ics"
    return Response(calendar.to_ical(), media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


@router.get("/contacts.csv", name="contacts_csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "Contacts, with a header row."}})
def contacts_csv(session: SessionDep, org: CurrentOrg, station_id: StationQuery = None,
                 satellite_id: SatelliteQuery = None, start: StartQuery = None, end: EndQuery = None) -> Response:
    """Return the contacts the caller may see as CSV, oldest first (times ISO 8601 UTC with Z)."""
    _station(session, org, station_id)
    rows = [_csv_row(c) for c in _contacts(session, org, station_id, satellite_id, start, end)]
    return csv_response(CSV_COLUMNS, rows, "contacts.csv")


@router.get("/contacts.json", name="contacts_json")
def contacts_json(session: SessionDep, org: CurrentOrg, station_id: StationQuery = None,
                  satellite_id: SatelliteQuery = None, start: StartQuery = None,
                  end: EndQuery = None) -> ContactsPublic:
    """Return the contacts the caller may see as JSON, oldest first, unpaginated (``GET /contacts``' shape)."""
    _station(session, org, station_id)
    data = [contact_public(c) for c in _contacts(session, org, station_id, satellite_id, start, end)]
    return ContactsPublic(data=data, count=len(data))


def _station(session: Session, org: Organisation, station_id: int | None) -> Station | None:
    """Return the station filtered on (404 when the caller cannot see it), or None."""
    if station_id is None:
        return None
    return get_visible(session, visible_stations(session, org), Station, station_id, "station")


def _contacts(session: Session, org: Organisation, station_id: int | None, satellite_id: int | None,
              start: datetime | None, end: datetime | None) -> list[Contact]:
    """Return the visible contacts overlapping the (bounded) window, oldest first, with what they refer to."""
    if start is None and end is None:
        now = network_now(session)
        start, end = now - DEFAULT_PAST, now + DEFAULT_FUTURE
    elif start is None:
        start = end - DEFAULT_PAST - DEFAULT_FUTURE
    elif end is None:
        end = start + DEFAULT_PAST + DEFAULT_FUTURE
    if end <= start:
        raise InvalidInputError(f"end ({format_utc(end)}) must be after start ({format_utc(start)})",
                                loc=("query", "end"))
    if end - start > MAX_EXPORT_SPAN:
        raise InvalidInputError(f"an export covers at most {MAX_EXPORT_SPAN.days} days; {format_utc(start)} to "
                                f"{format_utc(end)} is longer\n\nAsk for a shorter window", loc=("query", "end"))
    query: Select[tuple[Contact]] = visible_contacts(session, org).where(Contact.end_time > start,
                                                                         Contact.start_time < end)
    if station_id is not None:
        query = query.where(Contact.antenna_id.in_(select(Antenna.id).where(Antenna.station_id == station_id)))
    if satellite_id is not None:
        query = query.where(Contact.satellite_id == satellite_id)
    count = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    if count > MAX_EXPORT_ROWS:
        raise InvalidInputError(f"the export would hold {count} contacts, more than {MAX_EXPORT_ROWS}\n\n"
                                "Ask for a shorter window (start, end) or one station", loc=("query", "end"))
    options = (selectinload(Contact.antenna).selectinload(Antenna.station), selectinload(Contact.satellite),
               selectinload(Contact.organisation))
    return list(session.scalars(query.options(*options).order_by(Contact.start_time, Contact.id)))


def _event(contact: Contact, stamp: datetime) -> Event:
    """Return the VEVENT of one contact (``stamp``: when the feed was made, as DTSTAMP)."""
    antenna, satellite = contact.antenna, contact.satellite
    event = Event()
    event.add("uid", f"contact-{contact.id}@{UID_DOMAIN}")
    event.add("dtstamp", stamp)
    event.add("dtstart", contact.start_time)
    event.add("dtend", contact.end_time)
    event.add("summary", f"{satellite.name} on {antenna.station.name}/{antenna.name}")
    event.add("description", "\n".join([
        f"contact {contact.id}, status {contact.status.value}",
        f"satellite {satellite.name}, NORAD {satellite.norad_id}",
        f"booked by {contact.organisation.name}",
        f"antenna {antenna.name} ({antenna.band.value}) at station {antenna.station.name}",
    ]))
    event.add("status", "CANCELLED" if contact.status is ContactStatus.CANCELLED else "CONFIRMED")
    event.add("sequence", SEQUENCE[contact.status])
    event.add("transp", "OPAQUE")
    return event


def _csv_row(contact: Contact) -> list[object]:
    antenna, satellite = contact.antenna, contact.satellite

    def when(value: datetime | None) -> str:
        return format_utc(value) if value is not None else ""

    return [contact.id, contact.status.value, when(contact.start_time), when(contact.end_time), antenna.station_id,
            csv_text(antenna.station.name), antenna.id, csv_text(antenna.name), satellite.id, satellite.norad_id,
            csv_text(satellite.name), contact.org_id, csv_text(contact.organisation.name),
            "" if contact.bytes_received is None else contact.bytes_received, when(contact.started_at),
            when(contact.finished_at), csv_text(contact.notes)]
