"""Satellites and their element sets: register, read, list, update, delete, upload elements.

Writes are the owner's: another organisation gets 403 for a public satellite and 404 for
a private one.  A satellite with contacts cannot be deleted (409); deleting one deletes
its element sets and the contact requests for it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, status
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from groundshare.api.deps import CurrentOrg, SessionDep, WriterToken
from groundshare.api.queries import (
    get_visible,
    page,
    refuse_if_contacts,
    refuse_taken,
    require_owner,
    visible_satellites,
    visible_stations,
)
from groundshare.api.routes.params import Limit, Offset, PathId
from groundshare.api.routes.passes import (
    PassHours,
    PassMinElevation,
    PassStart,
    newest_element_sets,
    passes_over,
    station_sites,
)
from groundshare.api.schemas import (
    ElementSetPublic,
    ElementSetsPublic,
    PassesPublic,
    SatelliteCreate,
    SatellitePublic,
    SatellitesPublic,
    SatelliteUpdate,
)
from groundshare.errors import InvalidInputError
from groundshare.orbits import parse_elements
from groundshare.orbits.catalog import ElementFormat, detect_format
from groundshare.store import Contact, ContactRequest, ElementSetRecord, ElementTextFormat, Satellite, Station

router = APIRouter(prefix="/satellites", tags=["satellites"])

#: Largest element text accepted in one upload (a whole CelesTrak "active" file is about 2 MB).
MAX_ELEMENT_TEXT_CHARS = 4_000_000

ElementText = Annotated[str, Body(media_type="text/plain", max_length=MAX_ELEMENT_TEXT_CHARS,
                                  description="TLE/3LE or CCSDS OMM (JSON, CSV, XML, KVN) text.")]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_satellite(body: SatelliteCreate, session: SessionDep, token: WriterToken) -> SatellitePublic:
    """Register a satellite owned by the caller's organisation."""
    _refuse_norad_id(session, body.norad_id)
    satellite = Satellite(org_id=token.org_id, **body.model_dump())
    session.add(satellite)
    session.flush()
    return SatellitePublic.model_validate(satellite)


@router.get("")
def list_satellites(session: SessionDep, org: CurrentOrg, offset: Offset = 0, limit: Limit = 100) -> SatellitesPublic:
    """List the satellites the caller may see: its own and every public one."""
    rows, count = page(session, visible_satellites(session, org), offset=offset, limit=limit,
                       order_by=[Satellite.id])
    return SatellitesPublic(data=[SatellitePublic.model_validate(s) for s in rows], count=count)


@router.get("/{satellite_id}")
def read_satellite(satellite_id: PathId, session: SessionDep, org: CurrentOrg) -> SatellitePublic:
    """Return one visible satellite (404 if it does not exist or is private to another organisation)."""
    return SatellitePublic.model_validate(get_visible(session, visible_satellites(session, org), Satellite,
                                                      satellite_id, "satellite"))


@router.patch("/{satellite_id}")
def update_satellite(satellite_id: PathId, body: SatelliteUpdate, session: SessionDep, org: CurrentOrg,
                     _token: WriterToken) -> SatellitePublic:
    """Change the fields sent of one of the caller's satellites (booked contacts keep their snapshot)."""
    satellite = get_visible(session, visible_satellites(session, org), Satellite, satellite_id, "satellite")
    require_owner(org, satellite, "satellite", "change it")
    changes = body.changes()
    if "norad_id" in changes:
        _refuse_norad_id(session, changes["norad_id"], but=satellite.id)
    for field, value in changes.items():
        setattr(satellite, field, value)
    session.flush()
    return SatellitePublic.model_validate(satellite)


@router.delete("/{satellite_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_satellite(satellite_id: PathId, session: SessionDep, org: CurrentOrg, _token: WriterToken) -> None:
    """Delete one of the caller's satellites, its element sets and the requests for it (409 if it has contacts)."""
    satellite = get_visible(session, visible_satellites(session, org), Satellite, satellite_id, "satellite")
    require_owner(org, satellite, "satellite", "delete it")
    refuse_if_contacts(session, Contact.satellite_id == satellite.id,
                       f"satellite {satellite.id} (NORAD {satellite.norad_id})")
    session.execute(delete(ElementSetRecord).where(ElementSetRecord.satellite_id == satellite.id))
    session.execute(delete(ContactRequest).where(ContactRequest.satellite_id == satellite.id))
    session.execute(delete(Satellite).where(Satellite.id == satellite.id))


@router.post("/{satellite_id}/elements", status_code=status.HTTP_201_CREATED)
def upload_elements(satellite_id: PathId, text: ElementText, session: SessionDep, org: CurrentOrg,
                    _token: WriterToken,
                    fmt: Annotated[ElementFormat | None, Query(description="Format; detected when left out.")] = None,
                    ) -> ElementSetsPublic:
    """Store the element sets in the text (all must be of this satellite); every record must parse."""
    satellite = get_visible(session, visible_satellites(session, org), Satellite, satellite_id, "satellite")
    require_owner(org, satellite, "satellite", "upload its element sets")
    catalog = parse_elements(text, source="request body", fmt=fmt, on_error="raise")
    records = []
    for element_set in catalog:
        if element_set.norad_id != satellite.norad_id:
            raise InvalidInputError(
                f"request body: element set {element_set.source or ''} is for NORAD {element_set.norad_id}, but "
                f"satellite {satellite.id} is NORAD {satellite.norad_id}; upload each satellite's sets to it",
                loc=("body",))
        if element_set.line1 is not None and element_set.line2 is not None:
            lines = [element_set.name] if element_set.name else []
            record_text, record_fmt = "\n".join([*lines, element_set.line1, element_set.line2]) + "\n", "tle"
        elif len(catalog) == 1:
            record_text, record_fmt = text, fmt or detect_format(text)
        else:
            raise InvalidInputError(f"request body holds {len(catalog)} OMM records; upload OMM one record at a time",
                                    loc=("body",))
        records.append(ElementSetRecord(satellite_id=satellite.id, epoch=element_set.epoch,
                                        format=ElementTextFormat(record_fmt), text=record_text, source="api upload"))
    session.add_all(records)
    session.flush()
    return ElementSetsPublic(data=[ElementSetPublic.model_validate(r) for r in records], count=len(records))


@router.get("/{satellite_id}/passes")
def list_satellite_passes(satellite_id: PathId, start: PassStart, session: SessionDep, org: CurrentOrg,
                          hours: PassHours = 24.0, min_elevation_deg: PassMinElevation = None) -> PassesPublic:
    """List the passes of a visible satellite over every station the caller may see (newest elements)."""
    satellite = get_visible(session, visible_satellites(session, org), Satellite, satellite_id, "satellite")
    elements = newest_element_sets(session, [satellite])
    if not elements:
        raise InvalidInputError(f"satellite {satellite.id} (NORAD {satellite.norad_id}) has no element sets, so "
                                "its passes cannot be predicted\n\nIts owner uploads them with POST "
                                f"/satellites/{satellite.id}/elements", loc=("path", "satellite_id"))
    stations = list(session.scalars(visible_stations(session, org).order_by(Station.id)))
    return passes_over(elements, station_sites(stations), start=start, hours=hours,
                       min_elevation_deg=min_elevation_deg)


def _refuse_norad_id(session: Session, norad_id: int, *, but: int | None = None) -> None:
    query = select(Satellite.id).where(Satellite.norad_id == norad_id, Satellite.id != (but or 0))
    refuse_taken(session, query, lambda taken: f"NORAD {norad_id} is already registered (satellite {taken}); each "
                 "satellite is registered once, by its owner")
