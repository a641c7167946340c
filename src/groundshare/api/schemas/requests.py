"""Contact requests: what an organisation would like the planner to book."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from groundshare.api.schemas.common import MAX_BIGINT, Page, Priority, RowId, RowModel, UpdateModel, UtcTime
from groundshare.store import ContactRequest, RequestStatus
from groundshare.units import DAY_S

#: Contacts a request may ask for per UTC day: one to one every 15 minutes.
MAX_CONTACTS_PER_DAY = 96
ContactsPerDay = Annotated[int, Field(ge=1, le=MAX_CONTACTS_PER_DAY, description=(
    "Contacts wanted per UTC day of the window, 1 to 96; null: at least one contact in the whole window. The "
    "planner books at most this many per UTC day for the request's satellite."))]


class RequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    satellite_id: RowId
    window_start: UtcTime
    window_end: UtcTime
    min_duration_s: float = Field(default=0.0, ge=0, le=DAY_S)
    min_elevation_deg: float = Field(default=0.0, ge=-10, le=89)
    min_volume_bytes: int | None = Field(default=None, ge=0, le=MAX_BIGINT)
    priority: Priority = 0
    contacts_per_day: ContactsPerDay | None = None


class RequestUpdate(UpdateModel):
    nullable: ClassVar[frozenset[str]] = frozenset({"min_volume_bytes", "contacts_per_day"})

    window_start: UtcTime | None = None
    window_end: UtcTime | None = None
    min_duration_s: float | None = Field(default=None, ge=0, le=DAY_S)
    min_elevation_deg: float | None = Field(default=None, ge=-10, le=89)
    min_volume_bytes: int | None = Field(default=None, ge=0, le=MAX_BIGINT)
    priority: Priority | None = None
    contacts_per_day: ContactsPerDay | None = None


class ReasonBlocker(BaseModel):
    """A contact of the plan in the way of a request's pass: its pass, satellite, organisation and priority."""

    pass_id: str
    satellite: str
    organisation: str
    priority: float


class RequestReason(BaseModel):
    """One of the scheduler's explanations of why a request was not (fully) served by a planning run."""

    kind: Literal["no_visibility", "link", "not_allowed", "busy", "cap", "policy_hours", "blocked", "not_chosen"]
    message: str
    organisation: str
    satellite: str
    pass_ids: list[str] = Field(default_factory=list)
    blockers: list[ReasonBlocker] = Field(default_factory=list)


RequestState = Literal["served", "partly_served", "unserved", "not_planned", "cancelled"]


class RequestPublic(RowModel):
    id: int
    org_id: int
    satellite_id: int
    window_start: datetime
    window_end: datetime
    min_duration_s: float
    min_elevation_deg: float
    min_volume_bytes: int | None
    priority: int
    status: RequestStatus
    created_at: datetime
    contacts_per_day: int | None = Field(default=None, description=(
        "Contacts wanted per UTC day of the window; null: at least one contact in the window."))
    contacts_wanted: int = Field(default=1, description=(
        "contacts_per_day times the UTC days the window touches, or 1 when contacts_per_day is null."))
    contacts_booked: int = Field(default=0, description=(
        "The request's contacts that are scheduled, in progress or completed."))
    state: RequestState = Field(default="not_planned", description=(
        "served (booked >= wanted), partly_served (0 < booked < wanted), unserved (nothing booked by the planning "
        "runs that looked at it), not_planned (no planning run has looked at it yet) or cancelled."))
    planned_at: datetime | None = Field(default=None, description=(
        "When the last booking planning run covering the request ran; null: none yet."))
    reasons: list[RequestReason] = Field(default_factory=list, description=(
        "That run's explanations of why the request was not fully served (none when it was)."))


class RequestsPublic(Page[RequestPublic]):
    pass


def contacts_wanted(window_start: datetime, window_end: datetime, contacts_per_day: int | None) -> int:
    """Return how many contacts a request wants: ``contacts_per_day`` per UTC day its window touches, or 1."""
    if contacts_per_day is None:
        return 1
    last_day = (window_end - timedelta(microseconds=1)).date()
    return contacts_per_day * ((last_day - window_start.date()).days + 1)


def request_state(status: RequestStatus, booked: int, wanted: int, planned_at: datetime | None) -> RequestState:
    """Return a request's state from its status, its contacts booked and wanted, and its last planning run."""
    if status is RequestStatus.CANCELLED:
        return "cancelled"
    if booked >= wanted:
        return "served"
    if booked > 0:
        return "partly_served"
    return "unserved" if planned_at is not None or status is RequestStatus.UNSATISFIABLE else "not_planned"


def request_public(row: ContactRequest, booked: int) -> RequestPublic:
    """Return the public view of a request with ``booked`` of its contacts live or completed."""
    wanted = contacts_wanted(row.window_start, row.window_end, row.contacts_per_day)
    return RequestPublic.model_validate(row).model_copy(update={
        "contacts_wanted": wanted, "contacts_booked": booked,
        "state": request_state(row.status, booked, wanted, row.planned_at),
        "reasons": [RequestReason.model_validate(r) for r in row.last_reasons or []]})
