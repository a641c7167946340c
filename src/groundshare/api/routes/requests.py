"""Contact requests: what an organisation asks the network for.

A request names a satellite the caller may see (its own or a public one), a window and
what makes a pass worth having.  An organisation has at most ``max_open_requests_per_org``
open requests (``Settings``; 409 beyond it).  Requests are private to the organisation that made
them (another organisation's answers 404).  A request can be changed while it is open;
cancelling sets it to cancelled and cancels its contacts that are still scheduled.
Cancelling a cancelled request changes nothing and answers 200 (retries are safe).

Every request says how it stands: the contacts it wants (``contacts_per_day`` per UTC day
of its window, or one), those booked for it (scheduled, in progress or completed), its
state, and the explanations of the last booking planning run that covered it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from groundshare.api.deps import CurrentOrg, SessionDep, WriterToken
from groundshare.api.params import Limit, Offset, PathId
from groundshare.api.queries import get_visible, own_requests, page, visible_satellites
from groundshare.api.schemas import (
    MAX_ID,
    RequestCreate,
    RequestPublic,
    RequestsPublic,
    RequestUpdate,
    request_public,
)
from groundshare.errors import ConflictError, InvalidInputError
from groundshare.store import (
    Contact,
    ContactRequest,
    ContactStatus,
    Organisation,
    RequestStatus,
    Satellite,
    cancel_contact,
)
from groundshare.timeutil import format_utc

router = APIRouter(prefix="/requests", tags=["requests"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_request(body: RequestCreate, request: Request, session: SessionDep, org: CurrentOrg,
                   _token: WriterToken) -> RequestPublic:
    """Ask for contacts with a visible satellite within [window_start, window_end).

    An organisation may have at most the server's ``max_open_requests_per_org`` open
    requests at once (409 beyond it): each one is planned by every run over its window.
    """
    get_visible(session, visible_satellites(session, org), Satellite, body.satellite_id, "satellite")
    check_request_window(body.window_start, body.window_end, body.min_duration_s)
    check_open_request_quota(session, org, request.app.state.settings.max_open_requests_per_org)
    row = ContactRequest(org_id=org.id, **body.model_dump())
    session.add(row)
    session.flush()
    return requests_public(session, [row])[0]


@router.get("")
def list_requests(
    session: SessionDep, org: CurrentOrg, offset: Offset = 0, limit: Limit = 100,
    status_: Annotated[RequestStatus | None, Query(alias="status")] = None,
    satellite_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> RequestsPublic:
    """List the caller's requests, oldest first, filtered by status and satellite."""
    query = own_requests(session, org)
    if status_ is not None:
        query = query.where(ContactRequest.status == status_)
    if satellite_id is not None:
        query = query.where(ContactRequest.satellite_id == satellite_id)
    rows, count = page(session, query, offset=offset, limit=limit, order_by=[ContactRequest.id])
    return RequestsPublic(data=requests_public(session, list(rows)), count=count)


@router.get("/{request_id}")
def read_request(request_id: PathId, session: SessionDep, org: CurrentOrg) -> RequestPublic:
    """Return one of the caller's requests."""
    return requests_public(session, [_own_request(session, org, request_id)])[0]


@router.patch("/{request_id}")
def update_request(request_id: PathId, body: RequestUpdate, session: SessionDep, org: CurrentOrg,
                   _token: WriterToken) -> RequestPublic:
    """Change the fields sent of an open request (409 once it is scheduled, unsatisfiable or cancelled)."""
    request = _own_request(session, org, request_id)
    if request.status is not RequestStatus.OPEN:
        raise ConflictError(f"request {request.id} is {request.status.value}; only open requests can be changed\n\n"
                            "Make a new request instead")
    changes = body.changes()
    check_request_window(changes.get("window_start", request.window_start),
                         changes.get("window_end", request.window_end),
                         changes.get("min_duration_s", request.min_duration_s))
    for field, value in changes.items():
        setattr(request, field, value)
    session.flush()
    return requests_public(session, [request])[0]


@router.post("/{request_id}/cancel")
def cancel_request(request_id: PathId, session: SessionDep, org: CurrentOrg, _token: WriterToken) -> RequestPublic:
    """Cancel one of the caller's requests and its contacts that are still scheduled (idempotent).

    Contacts already in progress run on; ``POST /contacts/{id}/cancel`` stops one.
    """
    request = _own_request(session, org, request_id)
    scheduled = session.scalars(select(Contact.id).where(Contact.request_id == request.id,
                                                         Contact.status == ContactStatus.SCHEDULED))
    for contact_id in list(scheduled):
        cancel_contact(session, contact_id)
    request.status = RequestStatus.CANCELLED
    session.flush()
    return requests_public(session, [request])[0]


#: Contacts that count as booked for a request: live or done.
BOOKED_STATUSES = (ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS, ContactStatus.COMPLETED)


def requests_public(session: Session, rows: list[ContactRequest]) -> list[RequestPublic]:
    """Return the public view of requests, with their contacts booked counted in one grouped query."""
    booked: dict[int, int] = {}
    if rows:
        booked = {request_id: int(n) for request_id, n in session.execute(
            select(Contact.request_id, func.count()).where(
                Contact.request_id.in_([r.id for r in rows]), Contact.status.in_(BOOKED_STATUSES))
            .group_by(Contact.request_id))}
    return [request_public(r, booked.get(r.id, 0)) for r in rows]


def check_request_window(window_start: datetime, window_end: datetime, min_duration_s: float) -> None:
    """Refuse a window that is empty or shorter than ``min_duration_s``, naming the field to change."""
    if window_end <= window_start:
        raise InvalidInputError(f"window_end ({format_utc(window_end)}) must be after window_start "
                                f"({format_utc(window_start)}); a request covers [window_start, window_end)",
                                loc=("window_end",))
    window_s = (window_end - window_start).total_seconds()
    if min_duration_s > window_s:
        raise InvalidInputError(f"min_duration_s ({min_duration_s:g} s) is longer than the window ({window_s:g} s); "
                                "shorten it or widen the window", loc=("min_duration_s",))


def check_open_request_quota(session: Session, org: Organisation, quota: int) -> None:
    """Refuse one more open request when ``org`` has ``quota`` already, naming the quota and what to do.

    The organisation's row is locked first (PostgreSQL; SQLite's write transaction already
    serialises writers), so two requests created at once cannot both take the last place.
    """
    session.scalars(select(Organisation.id).where(Organisation.id == org.id).with_for_update()).one()
    open_count = session.scalar(select(func.count()).select_from(ContactRequest).where(
        ContactRequest.org_id == org.id, ContactRequest.status == RequestStatus.OPEN)) or 0
    if open_count >= quota:
        raise ConflictError(
            f"your organisation has {open_count} open contact requests, the most one organisation may have "
            f"(max_open_requests_per_org is {quota})\n\nCancel requests it no longer needs (POST "
            "/requests/{id}/cancel), or let planning runs schedule some (POST /schedule/runs), then ask again")


def _own_request(session: Session, org: Organisation, request_id: int) -> ContactRequest:
    return get_visible(session, own_requests(session, org), ContactRequest, request_id, "request")
