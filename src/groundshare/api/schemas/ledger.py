"""The partner ledger: hours of each owner's antennas used by each organisation, per period."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from groundshare.store import Ledger, LedgerRow
from groundshare.store.ledger import Period


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


class LedgerPublic(BaseModel):
    """The ledger over [start, end) (whole periods); rows in period, owner, user order."""

    start: datetime
    end: datetime
    period: Period
    data: list[LedgerRowPublic]
    count: int


def ledger_row_public(row: LedgerRow) -> LedgerRowPublic:
    """Return the public view of one ledger row."""
    return LedgerRowPublic(
        period_start=row.period_start, period_end=row.period_end, owner_org_id=row.owner_org_id,
        owner_org_name=row.owner_org_name, user_org_id=row.user_org_id, user_org_name=row.user_org_name,
        is_self_use=row.is_self_use, booked_hours=row.booked_hours, completed_hours=row.completed_hours,
        failed_hours=row.failed_hours, contacts=row.contacts, bytes_delivered=row.bytes_delivered)


def ledger_public(ledger: Ledger) -> LedgerPublic:
    """Return the public view of a ledger, its rows in its order."""
    rows = [ledger_row_public(row) for row in ledger.rows]
    return LedgerPublic(start=ledger.start, end=ledger.end, period=ledger.period, data=rows, count=len(rows))
