"""Contacts: book an antenna for a satellite, list, cancel, and the pass geometry of one."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import select

from groundshare.api.deps import CurrentOrg, SessionDep, WriterToken
from groundshare.api.params import Limit, Offset, PathId
from groundshare.api.queries import (
    count_rows,
    get_visible,
    visible_antennas,
    visible_contacts,
    visible_satellites,
)
from groundshare.api.schemas import (
    MAX_ID,
    ContactCreate,
    ContactElementSet,
    ContactGeometry,
    ContactPublic,
    ContactsPublic,
    UtcTime,
    contact_geometry_public,
    contact_public,
)
from groundshare.contact import BookingSnapshot, ElementSetSnapshot
from groundshare.errors import ConflictError, InvalidInputError
from groundshare.link import LinkConfig
from groundshare.link.contact_geometry import ASSUMED_REQUIRED_EBN0_DB, downlink_config, sample_contact
from groundshare.orbits import ElementSet, parse_elements
from groundshare.store import (
    Antenna,
    BookingRules,
    Contact,
    NetworkClock,
    Satellite,
    book_contact,
    cancel_contact,
    network_now,
)
from groundshare.timeutil import seconds_between

router = APIRouter(prefix="/contacts", tags=["contacts"])

#: Most samples one geometry request returns (a 10-minute pass at 0.5 s is 1,201).
MAX_GEOMETRY_SAMPLES = 20_000

GeometryStep = Annotated[float, Query(ge=0.5, le=60, allow_inf_nan=False,
                                      description="Seconds between samples, 0.5 to 60.")]


@router.post("", status_code=status.HTTP_201_CREATED, name="book_contact")
def book(body: ContactCreate, request: Request, session: SessionDep, org: CurrentOrg,
         _token: WriterToken) -> ContactPublic:
    """Book the antenna for the satellite over [start, end); 409 says when the antenna is busy.

    The window must lie within a pass of the satellite over the station, above its mask
    (422 names the nearest passes; the satellite's operator may send
    ``allow_outside_pass``), start no earlier than the network's clock (``GET /clock``)
    and last at most the network's contact limit (one hour by default).  A contact is
    receive-only unless ``uplink`` (see the field).  With ``idempotency_key``, retrying
    the same request returns the contact booked first.
    """
    # Held until the end: the session keeps rows only while they are referenced, and the booking reads the
    # antenna, the satellite and the network's clock again (and the answer the antenna's station): with these
    # references those reads come from the session, not the database.
    held = (get_visible(session, visible_antennas(session, org), Antenna, body.antenna_id, "antenna"),
            get_visible(session, visible_satellites(session, org), Satellite, body.satellite_id, "satellite"),
            session.get(NetworkClock, 1))  # the network's one clock row (store.clock)
    settings = request.app.state.settings
    rules = BookingRules(now=network_now(session), max_contact_s=settings.max_contact_s,
                         allow_outside_pass=body.allow_outside_pass)
    contact = book_contact(session, antenna_id=body.antenna_id, satellite_id=body.satellite_id, org_id=org.id,
                           start=body.start, end=body.end, idempotency_key=body.idempotency_key, notes=body.notes,
                           uplink=body.uplink, rules=rules)
    answer = contact_public(contact)
    del held
    return answer


@router.get("", response_model=ContactsPublic)
def list_contacts(
    session: SessionDep, org: CurrentOrg, offset: Offset = 0, limit: Limit = 100,
    station_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    satellite_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    start: Annotated[UtcTime | None, Query(description="Contacts ending after this time (ISO 8601, Z).")] = None,
    end: Annotated[UtcTime | None, Query(description="Contacts starting before this time (ISO 8601, Z).")] = None,
) -> Response:
    """List the contacts the caller may see, oldest first, filtered by station, satellite and time."""
    query = visible_contacts(session, org)
    if station_id is not None:
        query = query.where(Contact.antenna_id.in_(select(Antenna.id).where(Antenna.station_id == station_id)))
    if satellite_id is not None:
        query = query.where(Contact.satellite_id == satellite_id)
    if start is not None:
        query = query.where(Contact.end_time > start)
    if end is not None:
        query = query.where(Contact.start_time < end)
    # The page's columns only, as rows (no ORM objects, no snapshot), validated once as the page and written
    # once as JSON: the bytes FastAPI would send for ContactsPublic (the route's response_model, which the
    # OpenAPI schema shows), without its second validation of the returned model.
    # Executed on the session's connection, Core rows: the ORM's row loading would only be overhead here.
    rows = session.connection().execute(query.with_only_columns(*CONTACT_LIST_COLUMNS, maintain_column_froms=True)
                                        .join(Antenna, Contact.antenna_id == Antenna.id)
                                        .order_by(Contact.start_time, Contact.id).offset(offset).limit(limit)).all()
    data = [dict(zip(CONTACT_LIST_FIELDS, row, strict=True)) for row in rows]  # plain dicts validate fastest
    # A page that is not full and not past the end holds the last rows: the count needs no query of its own.
    count = offset + len(rows) if len(rows) < limit and (rows or offset == 0) else count_rows(session, query)
    page = ContactsPublic.model_validate({"data": data, "count": count})
    return Response(page.model_dump_json(), media_type="application/json")


#: What ``list_contacts`` reads of each contact: the fields of ``ContactPublic``, by name.
CONTACT_LIST_COLUMNS = (
    Contact.id, Contact.antenna_id, Antenna.station_id, Contact.satellite_id, Contact.org_id,
    Contact.start_time.label("start"), Contact.end_time.label("end"), Contact.busy_until, Contact.status,
    Contact.idempotency_key, Contact.notes, Contact.bytes_received, Contact.frames_received, Contact.started_at,
    Contact.finished_at, Contact.execution, Contact.uplink)
CONTACT_LIST_FIELDS = tuple(column.key for column in CONTACT_LIST_COLUMNS)


@router.get("/{contact_id}")
def read_contact(contact_id: PathId, session: SessionDep, org: CurrentOrg) -> ContactPublic:
    """Return one contact the caller booked or that is on its antennas (404 otherwise)."""
    return contact_public(get_visible(session, visible_contacts(session, org), Contact, contact_id, "contact"))


@router.get("/{contact_id}/geometry")
def read_contact_geometry(contact_id: PathId, session: SessionDep, org: CurrentOrg,
                          step_s: GeometryStep = 1.0) -> ContactGeometry:
    """Return the pass geometry of a visible contact from what it was planned with (its booking snapshot).

    Azimuth, elevation, range and range rate every ``step_s`` from start to end (both
    included); the Doppler-shifted downlink and the link margin and data rate where the
    radio parameters are known (``link_note`` says what is missing or assumed).  409 when
    the contact was booked without an element set: its geometry is computed only from
    what it was booked with, never from the satellite's current orbit.
    """
    contact = get_visible(session, visible_contacts(session, org), Contact, contact_id, "contact")
    return contact_geometry(contact, step_s)


def contact_geometry(contact: Contact, step_s: float) -> ContactGeometry:
    """Return the geometry of ``contact`` sampled every ``step_s`` seconds."""
    snapshot = BookingSnapshot.from_json(contact.snapshot or {}, contact_id=contact.id)
    station = snapshot.station or contact.antenna.station.snapshot()
    antenna = snapshot.antenna or contact.antenna.snapshot()
    elements, element_view = _planned_elements(contact, snapshot.element_set)
    g_over_t_dbk = antenna.g_over_t_dbk  # either spelling of a snapshot (BookingSnapshot reads both)
    site = station.to_site()
    duration_s = seconds_between(contact.start_time, contact.end_time)
    n_samples = math.ceil(duration_s / step_s) + 1
    if n_samples > MAX_GEOMETRY_SAMPLES:
        raise InvalidInputError(
            f"contact {contact.id} lasts {duration_s:g} s, which at step_s={step_s:g} is {n_samples:,} samples, more "
            f"than {MAX_GEOMETRY_SAMPLES:,}; use step_s of at least {math.ceil(duration_s / MAX_GEOMETRY_SAMPLES):g}",
            loc=("query", "step_s"))
    satellite = contact.satellite
    link, link_notes = _downlink(satellite, contact.antenna, g_over_t_dbk)
    samples = sample_contact(elements, site, contact.start_time, duration_s, step_s=step_s,
                             downlink_frequency_hz=satellite.downlink_frequency_hz, link=link)
    return contact_geometry_public(contact, samples, station_id=station.id, station_name=station.name,
                                   antenna_name=antenna.name, element_set=element_view,
                                   link_note=" ".join([*samples.notes, *link_notes]))


def _planned_elements(contact: Contact, snapshot: ElementSetSnapshot | None) -> tuple[ElementSet, ContactElementSet]:
    """Return the element set the contact was booked with; 409 if it has none (no other orbit is used).

    The satellite's newest element set is deliberately not a fallback: the antenna's owner
    sees this contact, and must not read a private satellite's current orbit through it.
    """
    if snapshot is None:
        raise ConflictError(f"contact {contact.id} was booked without an element set of its satellite, so its "
                            "geometry cannot be computed (only what a contact was booked with is used)\n\nBook "
                            "contacts after the satellite's operator has uploaded its element sets")
    try:
        catalog = parse_elements(snapshot.text, source=f"contact {contact.id} snapshot", fmt=snapshot.format or None,
                                 on_error="raise")
    except InvalidInputError as exc:
        raise ConflictError(f"contact {contact.id}: the element set recorded at booking does not parse ({exc}), so "
                            "its geometry cannot be computed") from None
    elements = catalog.elements[0]
    return elements, ContactElementSet(epoch=elements.epoch, source="booking snapshot",
                                       format=snapshot.format or "tle", text=snapshot.text)


def _downlink(satellite: Satellite, antenna: Antenna,
              g_over_t_dbk: float | None) -> tuple[LinkConfig | None, list[str]]:
    """Return the downlink of ``satellite`` into the antenna (None if a parameter is missing) and notes on it.

    ``g_over_t_dbk`` is the antenna's as booked (None: take the antenna's current one).
    """
    if g_over_t_dbk is None:
        g_over_t_dbk = antenna.g_over_t_dbk
    known = {
        "the satellite's downlink_frequency_hz": satellite.downlink_frequency_hz,
        "the satellite's downlink_eirp_dbw": satellite.downlink_eirp_dbw,
        "the satellite's data_rate_bps": satellite.data_rate_bps,
        "the antenna's g_over_t_dbk": g_over_t_dbk,
    }
    missing = [name for name, value in known.items() if value is None]
    if missing:
        notes = [f"No link margin or data rate: {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not "
                 f"set (PATCH /satellites/{satellite.id}; PATCH /stations/{antenna.station_id}/antennas/"
                 f"{antenna.id})."]
        if satellite.downlink_frequency_hz is None:
            notes.append("No Doppler: the satellite's downlink_frequency_hz is not set.")
        return None, notes
    notes = [f"Margin from the satellite's EIRP {satellite.downlink_eirp_dbw:g} dBW at "
             f"{satellite.downlink_frequency_hz:g} Hz and {satellite.data_rate_bps:g} bit/s into the antenna's "
             f"G/T {g_over_t_dbk:g} dB/K, assuming a required Eb/N0 of {ASSUMED_REQUIRED_EBN0_DB:g} dB and no "
             "pointing, polarisation, atmospheric or rain loss; data_rate_bps is the satellite's rate where the "
             "margin is at least 0 dB, else 0."]
    return downlink_config(frequency_hz=satellite.downlink_frequency_hz, eirp_dbw=satellite.downlink_eirp_dbw,
                           data_rate_bps=satellite.data_rate_bps, g_over_t_dbk=g_over_t_dbk,
                           source=f"satellite {satellite.id}"), notes


@router.post("/{contact_id}/cancel", name="cancel_contact")
def cancel(contact_id: PathId, session: SessionDep, org: CurrentOrg, _token: WriterToken) -> ContactPublic:
    """Cancel a contact booked by the caller or on its antennas; its antenna time is free again."""
    get_visible(session, visible_contacts(session, org), Contact, contact_id, "contact")
    return contact_public(cancel_contact(session, contact_id))
