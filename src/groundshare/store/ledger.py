"""The partner ledger: the hours of each organisation's antennas used by each organisation.

``compute_ledger`` covers ``[start, end)`` widened outwards to whole calendar periods
(``Period``: UTC days, ISO weeks from Monday 00:00 UTC, or UTC calendar months).  For
each period and each (antenna owner, booking organisation) pair with any use, a
``LedgerRow`` gives:

- ``booked_hours``: contact time (``end_time - start_time``) of every contact that is not
  cancelled (scheduled, in progress, completed or failed), clipped to the period, so a
  contact crossing midnight or a week boundary is split between the two periods;
- ``completed_hours`` / ``failed_hours``: the same for completed / failed contacts;
- ``contacts``: contacts that are not cancelled and *start* in the period;
- ``bytes_delivered``: the ``bytes_received`` of completed contacts that start in the period.

Counts and bytes go to the period in which a contact starts, so every contact counts
once over consecutive ledgers; a contact that starts before the ledger's start adds its
clipped hours but not its count or bytes.

Self-use (an organisation on its own antennas) is included, flagged ``is_self_use``, so
an owner sees the whole load of its antennas; to balance what partners give and take,
leave those rows out.  Cancelled contacts are left out entirely; turnaround
(``busy_until``) is not counted, only the contact itself.

The sums are computed in Python over one query bounded by the span (at most
``MAX_SPAN``), which keeps the clipping identical on SQLite and PostgreSQL.

The data section (``Ledger.data``, ``DataRow``) counts the bytes that really came home,
per period and organisation, in two roles:

- ``antenna_owner``: the frames its stations received (``store.frames``), each frame once
  per owner however many of its stations heard it, and the artifacts of contacts on its
  antennas;
- ``satellite_operator``: the unique frames of its satellites (each once, however many
  stations heard it) and the artifacts of contacts of its satellites.

A frame goes to the period of its first reception, an artifact to the period in which its
contact starts.  These sums are grouped by UTC day in the database (frames are many) and
the days added up into periods here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from groundshare.errors import InvalidInputError
from groundshare.store.models import (
    Antenna,
    Artifact,
    Contact,
    ContactStatus,
    Frame,
    Organisation,
    Reception,
    Satellite,
    Station,
)
from groundshare.timeutil import format_utc, require_utc
from groundshare.units import HOUR_S

#: Longest ``[start, end)`` a ledger may be asked for (before widening to whole periods).
MAX_SPAN = timedelta(days=366)
#: The span of a ledger when none is given: the last four weeks.
DEFAULT_SPAN = timedelta(weeks=4)
#: Decimal places kept in hour sums (3.6 ms), so floating-point noise does not show.
HOURS_DECIMALS = 6


class Period(StrEnum):
    """The length of one ledger period, in UTC."""

    DAY = "day"
    WEEK = "week"  # ISO week: Monday 00:00 UTC to the next Monday
    MONTH = "month"


@dataclass
class LedgerRow:
    """The use of one owner's antennas by one organisation in one period (hours, bytes)."""

    period_start: datetime
    period_end: datetime
    owner_org_id: int
    user_org_id: int
    owner_org_name: str = ""
    user_org_name: str = ""
    booked_hours: float = 0.0
    completed_hours: float = 0.0
    failed_hours: float = 0.0
    contacts: int = 0
    bytes_delivered: int = 0

    @property
    def is_self_use(self) -> bool:
        return self.owner_org_id == self.user_org_id


class DataRole(StrEnum):
    """In which role an organisation's data row counts bytes (module docstring)."""

    ANTENNA_OWNER = "antenna_owner"  # delivered by its stations and antennas
    SATELLITE_OPERATOR = "satellite_operator"  # delivered to it, of its satellites


@dataclass
class DataRow:
    """Frames and artifacts delivered in one period, counted for one organisation in one role."""

    period_start: datetime
    period_end: datetime
    org_id: int
    role: DataRole
    org_name: str = ""
    frames: int = 0
    frame_bytes: int = 0  # payload bytes of those frames (each frame once)
    artifacts: int = 0
    artifact_bytes: int = 0


@dataclass
class Ledger:
    """A ledger over ``[start, end)`` (whole periods), rows in period, owner name, user name order.

    ``data``: bytes delivered, in period, organisation name, role order.
    """

    start: datetime
    end: datetime
    period: Period
    rows: list[LedgerRow] = field(default_factory=list)
    data: list[DataRow] = field(default_factory=list)


def floor_period(value: datetime, period: Period) -> datetime:
    """Return the start of the UTC period holding ``value``."""
    value = require_utc(value, "value")
    day = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if period is Period.DAY:
        return day
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_period(value: datetime, period: Period) -> datetime:
    """Return the start of the period after the one holding ``value``."""
    first = floor_period(value, period)
    if period is Period.DAY:
        return first + timedelta(days=1)
    if period is Period.WEEK:
        return first + timedelta(weeks=1)
    return first.replace(year=first.year + 1, month=1) if first.month == 12 else first.replace(month=first.month + 1)


def default_window(start: datetime | None, end: datetime | None, period: Period,
                   now: datetime) -> tuple[datetime, datetime]:
    """Return ``(start, end)`` with missing ends filled in: four weeks up to the end of the current period."""
    if end is None:
        end = next_period(now, period) if start is None else start + DEFAULT_SPAN
    if start is None:
        start = end - DEFAULT_SPAN
    return start, end


def check_window(start: datetime, end: datetime, *, loc: tuple[str, ...] = ()) -> None:
    """Refuse a window that is empty, reversed or longer than ``MAX_SPAN`` (``InvalidInputError`` on ``end``)."""
    if end <= start:
        raise InvalidInputError(f"end ({format_utc(end)}) must be after start ({format_utc(start)})",
                                loc=(*loc, "end"))
    if end - start > MAX_SPAN:
        raise InvalidInputError(f"the ledger covers at most {MAX_SPAN.days} days; {format_utc(start)} to "
                                f"{format_utc(end)} is {(end - start) / timedelta(days=1):g} days\n\n"
                                "Ask for a shorter window, one year at a time", loc=(*loc, "end"))


def compute_ledger(session: Session, *, start: datetime, end: datetime, period: Period | str,
                   org_id: int | None = None) -> Ledger:
    """Return the ledger of ``[start, end)`` widened to whole periods.

    With ``org_id``, only the rows where that organisation is the owner or the user
    (tenant isolation); without it, the whole network's.  Raises ``InvalidInputError``
    naming ``end`` for an empty or over-long window, or naming ``period``.
    """
    start, end = require_utc(start, "start"), require_utc(end, "end")
    try:
        period = Period(period)
    except ValueError:
        raise InvalidInputError(f"period must be day, week or month, got {period!r}", loc=("period",)) from None
    check_window(start, end)
    start = floor_period(start, period)
    end = end if floor_period(end, period) == end else next_period(end, period)

    query = (
        select(Contact.start_time, Contact.end_time, Contact.status, Contact.bytes_received, Contact.org_id,
               Station.org_id)
        .join(Antenna, Contact.antenna_id == Antenna.id)
        .join(Station, Antenna.station_id == Station.id)
        .where(Contact.status != ContactStatus.CANCELLED, Contact.start_time < end, Contact.end_time > start)
    )
    if org_id is not None:
        query = query.where(or_(Contact.org_id == org_id, Station.org_id == org_id))

    rows: dict[tuple[datetime, int, int], LedgerRow] = {}
    seconds: dict[tuple[datetime, int, int], dict[ContactStatus | None, float]] = defaultdict(
        lambda: defaultdict(float))
    for c_start, c_end, status, bytes_received, user_id, owner_id in session.execute(query):
        for p_start, p_end, overlap_s in _split(max(c_start, start), min(c_end, end), period):
            key = (p_start, owner_id, user_id)
            row = rows.get(key)
            if row is None:
                row = rows[key] = LedgerRow(p_start, p_end, owner_id, user_id)
            seconds[key][None] += overlap_s
            seconds[key][status] += overlap_s
            if p_start <= c_start < p_end:
                row.contacts += 1
                if status is ContactStatus.COMPLETED:
                    row.bytes_delivered += bytes_received or 0

    names = _org_names(session, {org for _, owner, user in rows for org in (owner, user)})
    for key, row in rows.items():
        row.booked_hours = _hours(seconds[key][None])
        row.completed_hours = _hours(seconds[key][ContactStatus.COMPLETED])
        row.failed_hours = _hours(seconds[key][ContactStatus.FAILED])
        row.owner_org_name, row.user_org_name = names.get(row.owner_org_id, ""), names.get(row.user_org_id, "")
    ordered = sorted(rows.values(), key=lambda r: (r.period_start, r.owner_org_name, r.owner_org_id,
                                                   r.user_org_name, r.user_org_id))
    return Ledger(start, end, period, ordered, _data_rows(session, start, end, period, org_id))


def _data_rows(session: Session, start: datetime, end: datetime, period: Period, org_id: int | None) -> list[DataRow]:
    """Return the data section of ``[start, end)``: frames and artifacts per period, organisation and role."""
    rows: dict[tuple[datetime, int, DataRole], DataRow] = {}

    def add(day: object, org: int, role: DataRole, frames: int, frame_bytes: int, artifacts: int,
            artifact_bytes: int) -> None:
        p_start = floor_period(_day_start(day), period)
        row = rows.get((p_start, org, role))
        if row is None:
            row = rows[(p_start, org, role)] = DataRow(p_start, next_period(p_start, period), org, role)
        row.frames += frames
        row.frame_bytes += frame_bytes
        row.artifacts += artifacts
        row.artifact_bytes += artifact_bytes

    dialect = session.get_bind().dialect.name
    # Each frame once per owner: the distinct (frame, owner) pairs of its receptions.
    heard = (select(Reception.frame_id, Station.org_id.label("org_id"))
             .join(Station, Station.id == Reception.station_id).distinct())
    if org_id is not None:
        heard = heard.where(Station.org_id == org_id)
    heard_sq = heard.subquery()
    owner_day = _day(Frame.received_at, dialect)
    for day, org, count, size in session.execute(
            _in_span(select(owner_day, heard_sq.c.org_id, func.count(), func.sum(Frame.size_bytes))
                     .join(heard_sq, heard_sq.c.frame_id == Frame.id), Frame.received_at, start, end)
            .group_by(owner_day, heard_sq.c.org_id)):
        add(day, org, DataRole.ANTENNA_OWNER, count, int(size or 0), 0, 0)
    operated = (select(owner_day, Satellite.org_id, func.count(), func.sum(Frame.size_bytes))
                .join(Satellite, Satellite.id == Frame.satellite_id))
    if org_id is not None:
        operated = operated.where(Satellite.org_id == org_id)
    for day, org, count, size in session.execute(_in_span(operated, Frame.received_at, start, end)
                                                 .group_by(owner_day, Satellite.org_id)):
        add(day, org, DataRole.SATELLITE_OPERATOR, count, int(size or 0), 0, 0)
    contact_day = _day(Contact.start_time, dialect)
    for org_column, role in ((Station.org_id, DataRole.ANTENNA_OWNER), (Satellite.org_id, DataRole.SATELLITE_OPERATOR)):
        query = (select(contact_day, org_column, func.count(), func.sum(Artifact.size_bytes))
                 .join(Contact, Contact.id == Artifact.contact_id).join(Antenna, Antenna.id == Contact.antenna_id)
                 .join(Station, Station.id == Antenna.station_id).join(Satellite, Satellite.id == Contact.satellite_id))
        if org_id is not None:
            query = query.where(org_column == org_id)
        for day, org, count, size in session.execute(_in_span(query, Contact.start_time, start, end)
                                                     .group_by(contact_day, org_column)):
            add(day, org, role, 0, 0, count, int(size or 0))

    names = _org_names(session, {org for _, org, _ in rows})
    for row in rows.values():
        row.org_name = names.get(row.org_id, "")
    return sorted(rows.values(), key=lambda r: (r.period_start, r.org_name, r.org_id, r.role.value))


def _in_span(query: Select, column: ColumnElement[datetime], start: datetime, end: datetime) -> Select:
    return query.where(column >= start, column < end)


def _day(column: ColumnElement[datetime], dialect: str) -> ColumnElement[object]:
    """Return the UTC day of an instant column, in SQL: PostgreSQL's date in UTC; SQLite's stored UTC text's date."""
    if dialect == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.substr(column, 1, 10)  # UtcDateTime stores "YYYY-MM-DD HH:MM:SS.ffffff" in UTC on SQLite


def _day_start(day: object) -> datetime:
    """Return 00:00 UTC of a day as either database returns it (a ``date`` or ``YYYY-MM-DD`` text)."""
    if isinstance(day, str):
        day = date.fromisoformat(day[:10])
    assert isinstance(day, date)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _split(start: datetime, end: datetime, period: Period) -> list[tuple[datetime, datetime, float]]:
    """Return ``(period_start, period_end, seconds of [start, end) inside it)`` for each period it touches."""
    pieces = []
    p_start = floor_period(start, period)
    while p_start < end:
        p_end = next_period(p_start, period)
        overlap_s = (min(end, p_end) - max(start, p_start)).total_seconds()
        if overlap_s > 0:
            pieces.append((p_start, p_end, overlap_s))
        p_start = p_end
    return pieces


def _hours(seconds: float) -> float:
    return round(seconds / HOUR_S, HOURS_DECIMALS)


def _org_names(session: Session, org_ids: set[int]) -> dict[int, str]:
    if not org_ids:
        return {}
    return dict(session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids))).all())
