"""What happened, told to the organisations it concerns: ``GET /events`` and the webhooks.

``record_event`` writes one ``Event`` and computes, once, who may see it (``org_ids``):
the satellite's operator, the contact's booking organisation and the owner of its
antenna, the station's owner.  It also queues one ``WebhookDelivery`` per enabled
webhook of those organisations; ``store.webhooks.deliver_due`` sends them later, never
inside the request or unit of work that recorded the event.

Kinds in use (dotted, at most 50 characters): ``elements.updated``, ``source.failed``,
``source.disabled``, ``contact.drifted``, ``contact.kept``, ``contact.updated``,
``contact.moved``, ``contact.cancelled``, ``contact.added``.

Nothing here commits: the caller's unit of work does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from groundshare.errors import InvalidInputError
from groundshare.store.models import (
    Antenna,
    Contact,
    Event,
    Organisation,
    Satellite,
    Station,
    Webhook,
    WebhookDelivery,
)
from groundshare.timeutil import require_utc, utc_now

#: Event kinds groundshare records.
EVENT_KINDS = frozenset({"elements.updated", "source.failed", "source.disabled", "contact.drifted", "contact.kept",
                         "contact.updated", "contact.moved", "contact.cancelled", "contact.added", "station.moved"})
#: Most events one ``visible_events`` call returns.
MAX_EVENTS_PAGE = 1000


def event_org_ids(session: Session, *, satellite: Satellite | None = None, station: Station | None = None,
                  contact: Contact | None = None) -> list[int]:
    """Return who may see an event about these rows, sorted: operator, booking org, antenna and station owners."""
    org_ids: set[int] = set()
    if satellite is not None:
        org_ids.add(satellite.org_id)
    if station is not None:
        org_ids.add(station.org_id)
    if contact is not None:
        org_ids.add(contact.org_id)
        owner = session.scalar(select(Station.org_id).join(Antenna, Antenna.station_id == Station.id)
                               .where(Antenna.id == contact.antenna_id))
        operator = session.scalar(select(Satellite.org_id).where(Satellite.id == contact.satellite_id))
        org_ids.update(i for i in (owner, operator) if i is not None)
    return sorted(org_ids)


def record_event(session: Session, kind: str, *, message: str, satellite: Satellite | None = None,
                 station: Station | None = None, contact: Contact | None = None,
                 payload: dict[str, Any] | None = None, at: datetime | None = None) -> Event:
    """Write one event (and a webhook delivery per enabled webhook of those it concerns); flush; return it.

    ``satellite`` defaults to the contact's satellite, and ``station`` to the station of
    the contact's antenna, so an event about a contact is filed under both.
    """
    if not kind or len(kind) > 50:
        raise InvalidInputError(f"event kind {kind!r} must be 1 to 50 characters, e.g. 'contact.moved'", loc=("kind",))
    if contact is not None:
        if satellite is None:
            satellite = session.get(Satellite, contact.satellite_id)
        if station is None:
            station = session.scalar(select(Station).join(Antenna, Antenna.station_id == Station.id)
                                     .where(Antenna.id == contact.antenna_id))
    org_ids = event_org_ids(session, satellite=satellite, station=station, contact=contact)
    event = Event(at=require_utc(at, "at") if at is not None else utc_now(), kind=kind,
                  satellite_id=satellite.id if satellite is not None else None,
                  station_id=station.id if station is not None else None,
                  contact_id=contact.id if contact is not None else None,
                  org_ids=org_ids, payload=dict(payload or {}), message=message)
    session.add(event)
    session.flush()
    if org_ids:
        webhooks = session.scalars(select(Webhook.id).where(Webhook.org_id.in_(org_ids), Webhook.enabled)
                                   .order_by(Webhook.id))
        session.add_all(WebhookDelivery(webhook_id=webhook_id, event_id=event.id, attempts=0,
                                        next_attempt_at=event.at) for webhook_id in webhooks)
        session.flush()
    return event


def _sees(session: Session, org_id: int) -> ColumnElement[bool]:
    """Return the condition "``org_id`` is in the event's ``org_ids``" in the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(Event.org_ids, JSONB).contains([org_id])
    members = func.json_each(Event.org_ids).table_valued("value")
    return exists(select(1).select_from(members).where(members.c.value == org_id))


def visible_events(session: Session, org: Organisation, *, after_id: int | None = None,
                   limit: int = 100) -> list[Event]:
    """Return the events ``org`` may see with an id after ``after_id``, oldest first, at most ``limit``."""
    if not 1 <= limit <= MAX_EVENTS_PAGE:
        raise InvalidInputError(f"limit {limit} must be from 1 to {MAX_EVENTS_PAGE}", loc=("query", "limit"))
    query = select(Event).where(_sees(session, org.id))
    if after_id is not None:
        query = query.where(Event.id > after_id)
    return list(session.scalars(query.order_by(Event.id).limit(limit)))
