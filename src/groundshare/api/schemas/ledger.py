"""The partner ledger: hours of each owner's antennas used by each organisation, and the data delivered, per period."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from groundshare.store import Ledger, LedgerRow
from groundshare.store.ledger import DataRole, DataRow, Period


class LedgerRowPublic(BaseModel):
    period_start: datetime
    period_end: datetime
    owner_org_id: int
    owner_org_name: str
    user_org_id: int
    user_org_name: str
    is_self_use: bool
    booked_hours: float
    completed_hours: float
    failed_hours: float
    contacts: int
    bytes_delivered: int


class DeliveredPublic(BaseModel):
    """Frames (each counted once) and artifacts delivered in one period, for one organisation in one role.

    ``antenna_owner``: what its stations received; ``satellite_operator``: what was received of its satellites.
    """

    period_start: datetime
    period_end: datetime
    org_id: int
    org_name: str
    role: DataRole
    frames: int
    frame_bytes: int
    artifacts: int
    artifact_bytes: int


class LedgerPublic(BaseModel):
    """The ledger over [start, end) (whole periods); rows in period, owner, user order.

    ``delivered``: the data delivered, in period, organisation, role order (the caller's own rows).
    """

    start: datetime
    end: datetime
    period: Period
    data: list[LedgerRowPublic]
    count: int
    delivered: list[DeliveredPublic]


def ledger_row_public(row: LedgerRow) -> LedgerRowPublic:
    """Return the public view of one ledger row."""
    return LedgerRowPublic(
        period_start=row.period_start, period_end=row.period_end, owner_org_id=row.owner_org_id,
        owner_org_name=row.owner_org_name, user_org_id=row.user_org_id, user_org_name=row.user_org_name,
        is_self_use=row.is_self_use, booked_hours=row.booked_hours, completed_hours=row.completed_hours,
        failed_hours=row.failed_hours, contacts=row.contacts, bytes_delivered=row.bytes_delivered)


def delivered_public(row: DataRow) -> DeliveredPublic:
    """Return the public view of one row of the data delivered."""
    return DeliveredPublic(period_start=row.period_start, period_end=row.period_end, org_id=row.org_id,
                           org_name=row.org_name, role=row.role, frames=row.frames, frame_bytes=row.frame_bytes,
                           artifacts=row.artifacts, artifact_bytes=row.artifact_bytes)


def ledger_public(ledger: Ledger) -> LedgerPublic:
    """Return the public view of a ledger, its rows in its order."""
    rows = [ledger_row_public(row) for row in ledger.rows]
    return LedgerPublic(start=ledger.start, end=ledger.end, period=ledger.period, data=rows, count=len(rows),
                        delivered=[delivered_public(row) for row in ledger.data])
