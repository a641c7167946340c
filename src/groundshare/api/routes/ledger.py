"""The partner ledger: hours of each organisation's antennas used by each other organisation.

``GET /ledger`` (JSON) and ``GET /ledger.csv`` (the same rows as CSV) report, per UTC
period (day, ISO week or month), each (antenna owner, booking organisation) pair's
booked, completed and failed hours, contacts and bytes delivered (``store.ledger`` says
exactly how).  The caller sees only the rows where its organisation is the owner or
the user; self-use rows are included and flagged ``is_self_use``.  Any token may read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from groundshare.api.deps import CurrentOrg, SessionDep
from groundshare.api.reports import csv_response, csv_text
from groundshare.api.schemas import LedgerPublic, UtcTime, ledger_public
from groundshare.store import Ledger, LedgerRow, Organisation, compute_ledger, network_now
from groundshare.store.ledger import Period, check_window, default_window
from groundshare.timeutil import format_utc

# No prefix: the routes are /ledger and /ledger.csv.
router = APIRouter(tags=["ledger"])

CSV_COLUMNS = ("period_start", "period_end", "owner_org_id", "owner_org_name", "user_org_id", "user_org_name",
               "is_self_use", "booked_hours", "completed_hours", "failed_hours", "contacts", "bytes_delivered")

StartQuery = Annotated[UtcTime | None, Query(description="Ledger start (ISO 8601, Z); widened to its period's "
                                                         "start. Default: four weeks before end.")]
EndQuery = Annotated[UtcTime | None, Query(description="Ledger end (ISO 8601, Z), at most 366 days after start; "
                                                       "widened to a period boundary. Default: the end of the network "
                                                       "clock's current period (GET /clock).")]
PeriodQuery = Annotated[Period, Query(description="day, week (ISO, from Monday 00:00 UTC) or month; UTC.")]


@router.get("/ledger", name="get_ledger")
def get_ledger(session: SessionDep, org: CurrentOrg, start: StartQuery = None, end: EndQuery = None,
               period: PeriodQuery = Period.WEEK) -> LedgerPublic:
    """Return the hours of antenna time each owner gave each user, per period, as the caller may see them."""
    return ledger_public(_ledger(session, org, start, end, period))


@router.get("/ledger.csv", name="get_ledger_csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "The ledger rows, with a header row."}})
def get_ledger_csv(session: SessionDep, org: CurrentOrg, start: StartQuery = None, end: EndQuery = None,
                   period: PeriodQuery = Period.WEEK) -> Response:
    """Return the same rows as ``GET /ledger`` as CSV (times ISO 8601 UTC with Z, hours as decimals)."""
    ledger = _ledger(session, org, start, end, period)
    filename = f"ledger_{ledger.period.value}_{ledger.start:%Y%m%d}_{ledger.end:%Y%m%d}.csv"
    return csv_response(CSV_COLUMNS, (_csv_row(row) for row in ledger.rows), filename)


def _ledger(session: Session, org: Organisation, start: datetime | None, end: datetime | None,
            period: Period) -> Ledger:
    start, end = default_window(start, end, period, network_now(session))
    check_window(start, end, loc=("query",))
    return compute_ledger(session, start=start, end=end, period=period, org_id=org.id)


def _csv_row(row: LedgerRow) -> list[object]:
    return [format_utc(row.period_start), format_utc(row.period_end), row.owner_org_id, csv_text(row.owner_org_name),
            row.user_org_id, csv_text(row.user_org_name), "true" if row.is_self_use else "false", row.booked_hours,
            row.completed_hours, row.failed_hours, row.contacts, row.bytes_delivered]
