"""The network's clock: one instant for every partner, view and default window (``api.clock``)."""

from __future__ import annotations

from fastapi import APIRouter

from groundshare.api.clock import clock_for
from groundshare.api.deps import CurrentOrg, SessionDep
from groundshare.api.schemas import ClockPublic

router = APIRouter(prefix="/clock", tags=["clock"])


@router.get("", name="read_clock")
def read_clock(session: SessionDep, org: CurrentOrg) -> ClockPublic:
    """Return the network's clock: the instant every view, default window and station agent uses."""
    return clock_for(session, org)
