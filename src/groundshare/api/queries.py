"""Tenant isolation, in this one place: what an organisation may see.

- stations: its own, and partners' stations with at least one antenna shared with it
  through a ``SharingPolicy``;
- antennas: its own, and those shared with it;
- satellites: its own, and every public one;
- contacts: those it booked, and those booked on its own antennas.

Routes fetch through ``get_visible`` (an invisible row is ``NotFoundError``, so a
foreign object answers 404 exactly like a missing one) and ``require_owner`` (visible
but not one's own: ``PolicyError``, 403).  No route repeats an ownership ``if``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from groundshare.errors import NotFoundError, PolicyError
from groundshare.store import Antenna, Contact, Organisation, Satellite, SharingPolicy, Station

M = TypeVar("M")


def _shared_antenna_ids(org: Organisation) -> Select[Any]:
    return select(SharingPolicy.antenna_id).where(SharingPolicy.grantee_org_id == org.id)


def _own_antenna_ids(org: Organisation) -> Select[Any]:
    return select(Antenna.id).join(Station).where(Station.org_id == org.id)


def visible_stations(session: Session, org: Organisation) -> Select[tuple[Station]]:
    """Return the query of stations ``org`` may see (own, or with an antenna shared with it)."""
    shared_station_ids = select(Antenna.station_id).where(Antenna.id.in_(_shared_antenna_ids(org)))
    return select(Station).where(or_(Station.org_id == org.id, Station.id.in_(shared_station_ids)))


def visible_antennas(session: Session, org: Organisation) -> Select[tuple[Antenna]]:
    """Return the query of antennas ``org`` may see and book (own, or shared with it)."""
    return select(Antenna).where(or_(Antenna.id.in_(_own_antenna_ids(org)), Antenna.id.in_(_shared_antenna_ids(org))))


def visible_satellites(session: Session, org: Organisation) -> Select[tuple[Satellite]]:
    """Return the query of satellites ``org`` may see (own, or public)."""
    return select(Satellite).where(or_(Satellite.org_id == org.id, Satellite.is_public.is_(True)))


def visible_contacts(session: Session, org: Organisation) -> Select[tuple[Contact]]:
    """Return the query of contacts ``org`` may see (booked by it, or on its own antennas)."""
    return select(Contact).where(or_(Contact.org_id == org.id, Contact.antenna_id.in_(_own_antenna_ids(org))))


def get_visible(session: Session, query: Select[tuple[M]], model: type[M], row_id: int, what: str) -> M:
    """Return the row ``row_id`` of a visibility query, or raise ``NotFoundError`` naming it."""
    row = session.scalars(query.where(model.id == row_id)).one_or_none()  # type: ignore[attr-defined]
    if row is None:
        raise NotFoundError(f"{what} {row_id} does not exist or is not shared with your organisation")
    return row


def require_owner(org: Organisation, row: Any, what: str, action: str) -> None:
    """Raise ``PolicyError`` unless ``org`` owns the visible ``row`` (it has an ``org_id``)."""
    if row.org_id != org.id:
        raise PolicyError(f"{what} {row.id} belongs to organisation {row.org_id}; only its owner may {action}")


def page(session: Session, query: Select[tuple[M]], *, offset: int, limit: int, order_by: Any) -> tuple[list[M], int]:
    """Return one page of ``query`` in ``order_by`` order, and the total count."""
    count = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = list(session.scalars(query.order_by(*order_by).offset(offset).limit(limit)))
    return rows, int(count or 0)
