"""The network's clock as one organisation sees it (``store.clock``), for ``GET /clock`` and the views.

The network runs at the wall clock unless its operator anchored it elsewhere: the demo
network (``groundshare demo load``) runs from its element sets' epoch, because the
shipped snapshot is old and, propagated to today, would put satellites hundreds of
kilometres from where they are.  Mode ``"shifted"`` says so; the clock keeps running at
the wall clock's pace either way.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from groundshare.api.queries import visible_satellites
from groundshare.api.schemas import ClockPublic
from groundshare.store import ElementSetRecord, Organisation, Satellite, network_time
from groundshare.timeutil import utc_now
from groundshare.units import DAY_S


def newest_visible_epoch(session: Session, org: Organisation) -> datetime | None:
    """Return the newest element-set epoch among the satellites ``org`` may see, or None."""
    visible_ids = visible_satellites(session, org).with_only_columns(Satellite.id)
    return session.scalars(
        select(ElementSetRecord.epoch).where(ElementSetRecord.satellite_id.in_(visible_ids))
        .order_by(ElementSetRecord.epoch.desc()).limit(1)
    ).first()


def clock_for(session: Session, org: Organisation, wall_clock: datetime | None = None) -> ClockPublic:
    """Return the network's clock at ``wall_clock`` (default: now), with what ``org`` may see of the data's age."""
    wall_clock = wall_clock or utc_now()
    clock = network_time(session)
    now = clock.now(wall_clock)
    data_epoch = newest_visible_epoch(session, org)
    if clock.mode == "shifted":
        message = (f"The network's clock runs {_span(clock.offset_s)} the wall clock"
                   f"{': ' + clock.reason if clock.reason else ''}.")
    elif data_epoch is None:
        message = ("No element sets are visible to your organisation yet; the network runs at the wall clock. "
                   "Upload them with POST /satellites/{id}/elements.")
    else:
        message = (f"Live: the network runs at the wall clock; the newest element sets you may see are dated "
                   f"{data_epoch.date().isoformat()}.")
    return ClockPublic(now=now, wall_clock=wall_clock, mode=clock.mode, offset_s=round(clock.offset_s, 6),
                       data_epoch=data_epoch, message=message)


def _span(offset_s: float) -> str:
    days = abs(offset_s) / DAY_S
    amount = f"{days:.1f} days" if days >= 1 else f"{abs(offset_s):.0f} s"
    return f"{amount} {'behind' if offset_s < 0 else 'ahead of'}"
