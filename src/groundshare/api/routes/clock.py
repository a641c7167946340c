"""The dashboard's clock: the wall clock, or the element sets' epoch when they are old.

The shipped demo data is a CelesTrak snapshot of 2025-11-06; propagated to today, those
element sets put satellites hundreds of kilometres from where they are.  When the newest
element set the caller may see is more than ``STALE_DATA_S`` older than the wall clock,
the views run at that epoch instead (mode ``"epoch"``) and say so.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from groundshare.api.deps import CurrentOrg, SessionDep
from groundshare.api.queries import visible_satellites
from groundshare.api.views import ClockPublic
from groundshare.store import ElementSetRecord, Organisation, Satellite
from groundshare.timeutil import utc_now
from groundshare.units import DAY_S

router = APIRouter(prefix="/clock", tags=["clock"])

#: Element sets older than this (newest visible epoch before the wall clock) switch the clock to their epoch.
STALE_DATA_S = 3 * DAY_S


def newest_visible_epoch(session: Session, org: Organisation) -> datetime | None:
    """Return the newest element-set epoch among the satellites ``org`` may see, or None."""
    visible_ids = visible_satellites(session, org).with_only_columns(Satellite.id)
    return session.scalars(
        select(ElementSetRecord.epoch).where(ElementSetRecord.satellite_id.in_(visible_ids))
        .order_by(ElementSetRecord.epoch.desc()).limit(1)
    ).first()


def clock_for(session: Session, org: Organisation, wall_clock: datetime | None = None) -> ClockPublic:
    """Return the clock ``org``'s views run on at ``wall_clock`` (default: now)."""
    wall_clock = wall_clock or utc_now()
    data_epoch = newest_visible_epoch(session, org)
    if data_epoch is not None and wall_clock - data_epoch > timedelta(seconds=STALE_DATA_S):
        return ClockPublic(
            now=data_epoch, wall_clock=wall_clock, mode="epoch", data_epoch=data_epoch,
            message=f"Demo data: element sets are dated {data_epoch.date().isoformat()}; the clock runs at their "
                    "epoch, not the wall clock.")
    if data_epoch is None:
        message = ("No element sets are visible to your organisation yet; the clock runs at the wall clock. "
                   "Upload them with POST /satellites/{id}/elements.")
    else:
        message = (f"Live: the newest element sets are dated {data_epoch.date().isoformat()}; the clock runs at "
                   "the wall clock.")
    return ClockPublic(now=wall_clock, wall_clock=wall_clock, mode="live", data_epoch=data_epoch, message=message)


@router.get("", name="read_clock")
def read_clock(session: SessionDep, org: CurrentOrg) -> ClockPublic:
    """Return the time the dashboard's views use: the wall clock, or the data's epoch when it is stale."""
    return clock_for(session, org)
