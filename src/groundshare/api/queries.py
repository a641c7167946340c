"""Tenant isolation, in this one place: what an organisation may see.

- stations: its own, and partners' stations with at least one antenna shared with it
  through a ``SharingPolicy``;
- antennas: its own, and those shared with it;
- satellites: its own, and every public one;
- contacts: those it booked, and those booked on its own antennas;
- what a contact received (frames, artifacts): contacts on its own antennas, of
  satellites it operates, and of public satellites (``data_contacts``);
- sharing policies: those it granted, and those granted to it;
- contact requests and API tokens: its own only.

A contact's station agent (``own_contact``) is the antenna owner's: a contact seen only
as its booker is a 403 there.

Routes fetch through ``get_visible`` (an invisible row is ``NotFoundError``, so a
foreign object answers 404 exactly like a missing one) and ``require_owner`` (visible
but not one's own: ``PolicyError``, 403).  No route repeats an ownership ``if``.

``refuse_if_contacts`` and ``refuse_taken`` turn what the database would refuse with an
``IntegrityError`` (a row still referenced by contacts, a UNIQUE name) into a 409 that
names the rows in the way and what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, joinedload

from groundshare.errors import ConflictError, NotFoundError, PolicyError
from groundshare.store import (
    Antenna,
    ApiToken,
    Contact,
    ContactRequest,
    ContactStatus,
    Organisation,
    Satellite,
    SharingPolicy,
    Station,
)

#: Contacts that still hold their antenna and satellite.
LIVE_CONTACT_STATUSES = (ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS)

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


def data_contacts(session: Session, org: Organisation) -> Select[tuple[Contact]]:
    """Return the query of contacts whose frames and artifacts ``org`` may read.

    The antenna owner's (its stations received them), the satellite operator's, and every
    organisation's for a public satellite.
    """
    readable_satellite_ids = select(Satellite.id).where(or_(Satellite.org_id == org.id, Satellite.is_public.is_(True)))
    return select(Contact).where(or_(Contact.antenna_id.in_(_own_antenna_ids(org)),
                                     Contact.satellite_id.in_(readable_satellite_ids)))


def own_contact(session: Session, org: Organisation, contact_id: int, action: str) -> Contact:
    """Return a contact on ``org``'s antennas: 404 when invisible, 403 when on a partner's antenna.

    What a station's agent does (start, report, upload what it received) is the antenna owner's.
    """
    # One query: the antenna's station says who owns it, and the satellite is what the agent's upload is about.
    query = visible_contacts(session, org).options(joinedload(Contact.antenna).joinedload(Antenna.station),
                                                   joinedload(Contact.satellite))
    contact = get_visible(session, query, Contact, contact_id, "contact")
    owner_id = contact.antenna.station.org_id
    if owner_id != org.id:
        raise PolicyError(f"contact {contact_id} is on antenna {contact.antenna_id} of organisation {owner_id}; "
                          f"only the antenna owner's station agent may {action}")
    return contact


def visible_policies(session: Session, org: Organisation) -> Select[tuple[SharingPolicy]]:
    """Return the query of sharing policies ``org`` granted or was granted."""
    return select(SharingPolicy).where(or_(SharingPolicy.owner_org_id == org.id,
                                           SharingPolicy.grantee_org_id == org.id))


def own_requests(session: Session, org: Organisation) -> Select[tuple[ContactRequest]]:
    """Return the query of ``org``'s contact requests (another organisation's are invisible)."""
    return select(ContactRequest).where(ContactRequest.org_id == org.id)


def own_tokens(session: Session, org: Organisation) -> Select[tuple[ApiToken]]:
    """Return the query of ``org``'s API tokens."""
    return select(ApiToken).where(ApiToken.org_id == org.id)


def get_visible(session: Session, query: Select[tuple[M]], model: type[M], row_id: int, what: str) -> M:
    """Return the row ``row_id`` of a visibility query, or raise ``NotFoundError`` naming it."""
    row = session.scalars(query.where(model.id == row_id)).one_or_none()  # type: ignore[attr-defined]
    if row is None:
        raise NotFoundError(f"{what} {row_id} does not exist or is not shared with your organisation")
    return row


def owner_org_id(row: Any) -> int:
    """Return the id of the organisation that owns ``row`` (an antenna through its station)."""
    if isinstance(row, Antenna):
        return row.station.org_id
    if isinstance(row, SharingPolicy):
        return row.owner_org_id
    return int(row.org_id)


def require_owner(org: Organisation, row: Any, what: str, action: str) -> None:
    """Raise ``PolicyError`` unless ``org`` owns the visible ``row``."""
    owner_id = owner_org_id(row)
    if owner_id != org.id:
        raise PolicyError(f"{what} {row.id} belongs to organisation {owner_id}; only its owner may {action}")


def refuse_if_contacts(session: Session, where: ColumnElement[bool], what: str, *, action: str = "deleted") -> None:
    """Raise ``ConflictError`` if any contact matches ``where``, naming how many are live and what to do.

    Contacts are the network's history (and the ledger's): they are never deleted, and
    their antenna and satellite are kept for them (``ondelete="RESTRICT"``).
    """
    total = session.scalar(select(func.count()).select_from(Contact).where(where)) or 0
    if not total:
        return
    live = list(session.scalars(select(Contact.id).where(where, Contact.status.in_(LIVE_CONTACT_STATUSES))
                                .order_by(Contact.start_time, Contact.id)))
    if live:
        raise ConflictError(
            f"{what} has {total} contact(s), {len(live)} of them scheduled or in progress (first: contact "
            f"{live[0]}), so it cannot be {action}\n\nCancel the live contacts first (POST /contacts/{{id}}/cancel); "
            "contacts are then kept as history, so retire it by renaming it instead of deleting it")
    raise ConflictError(
        f"{what} has {total} past or cancelled contact(s), kept as the network's history, so it cannot be "
        f"{action}\n\nRetire it by renaming it instead (and stop sharing it by deleting its sharing policies)")


def refuse_taken(session: Session, query: Select[tuple[int]], message: Callable[[int], str]) -> None:
    """Raise ``ConflictError`` with ``message(id)`` if ``query`` finds the id of a row in the way."""
    taken = session.scalars(query.limit(1)).first()
    if taken is not None:
        raise ConflictError(message(taken))


def count_rows(session: Session, query: Select[Any]) -> int:
    """Return how many rows ``query`` (a select of one table, with its filters) finds: ``count(*)`` over its FROM."""
    return int(session.scalar(query.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)) or 0)


def page(session: Session, query: Select[tuple[M]], *, offset: int, limit: int, order_by: Any) -> tuple[list[M], int]:
    """Return one page of ``query`` in ``order_by`` order, and the total count."""
    count = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = list(session.scalars(query.order_by(*order_by).offset(offset).limit(limit)))
    return rows, int(count or 0)
