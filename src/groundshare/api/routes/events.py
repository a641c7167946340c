"""What happened to the caller's satellites, stations and contacts: ``GET /events?after_id=``.

Each organisation sees the events about its own satellites, its stations and antennas,
and the contacts it booked or that use its antennas (``store.events``).  Poll with the
``next_after_id`` of the previous page; ids only grow.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from groundshare.api.deps import CurrentOrg, SessionDep
from groundshare.api.schemas import MAX_ID, EventPublic, EventsPublic
from groundshare.store import visible_events

router = APIRouter(prefix="/events", tags=["events"])

AfterId = Annotated[int | None, Query(ge=0, le=MAX_ID, description="Only events with a larger id (the "
                                                                     "next_after_id of the previous page).")]
EventLimit = Annotated[int, Query(ge=1, le=1000, description="Events to return, at most 1000.")]


@router.get("")
def list_events(session: SessionDep, org: CurrentOrg, after_id: AfterId = None,
                limit: EventLimit = 100) -> EventsPublic:
    """List the events the caller's organisation may see, oldest first, after ``after_id``."""
    events = visible_events(session, org, after_id=after_id, limit=limit)
    return EventsPublic(data=[EventPublic.model_validate(e) for e in events], count=len(events),
                        next_after_id=events[-1].id if events else after_id)
