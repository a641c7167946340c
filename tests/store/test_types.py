"""UtcDateTime: aware UTC in and out, naive refused, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from groundshare.errors import InvalidInputError
from groundshare.store import NaiveDatetimeError, Organisation, OrgKind, UtcDateTime, session_scope

KST = timezone(timedelta(hours=9))
NAIVE_MESSAGE = (
    "a naive datetime (2025-11-07T09:30:00) cannot be stored; groundshare stores UTC instants.\n\n"
    "If it already is UTC:  value.replace(tzinfo=UTC)\n"
    "If it is local time:   value.astimezone(UTC) after attaching its zone"
)


def test_round_trip_returns_the_same_instant_in_utc(factory):
    written = datetime(2025, 11, 7, 18, 30, 15, 123456, tzinfo=KST)  # 09:30:15.123456Z
    with session_scope(factory) as session:
        session.add(Organisation(name="KARI", kind=OrgKind.AGENCY, created_at=written))
    with session_scope(factory) as session:
        read = session.scalars(select(Organisation.created_at)).one()
    assert read == written
    assert read.tzinfo is UTC
    assert read == datetime(2025, 11, 7, 9, 30, 15, 123456, tzinfo=UTC)


def test_sql_comparisons_order_instants_not_wall_clocks(factory):
    # 10:00+09:00 is 01:00Z, before 02:00Z, although its wall clock reads later.
    with session_scope(factory) as session:
        session.add_all([
            Organisation(name="early", kind=OrgKind.AGENCY, created_at=datetime(2025, 1, 1, 10, tzinfo=KST)),
            Organisation(name="late", kind=OrgKind.COMPANY, created_at=datetime(2025, 1, 1, 2, tzinfo=UTC)),
        ])
    with session_scope(factory) as session:
        names = session.scalars(select(Organisation.name).order_by(Organisation.created_at)).all()
        before_0130z = session.scalars(select(Organisation.name).where(
            Organisation.created_at < datetime(2025, 1, 1, 1, 30, tzinfo=UTC))).all()
        newest = session.scalar(select(func.max(Organisation.created_at)))
    assert names == ["early", "late"]
    assert before_0130z == ["early"]
    assert newest == datetime(2025, 1, 1, 2, tzinfo=UTC)


def test_naive_datetime_is_refused_and_nothing_is_written(factory):
    with pytest.raises(NaiveDatetimeError) as caught, session_scope(factory) as session:
        session.add(Organisation(name="naive", kind=OrgKind.UNIVERSITY, created_at=datetime(2025, 11, 7, 9, 30)))
    assert str(caught.value) == NAIVE_MESSAGE
    assert isinstance(caught.value, InvalidInputError)  # the API and CLI map the whole family
    with session_scope(factory) as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == 0


def test_naive_datetime_is_refused_in_queries_too(factory):
    with pytest.raises(NaiveDatetimeError), session_scope(factory) as session:
        session.scalars(select(Organisation).where(Organisation.created_at < datetime(2025, 11, 7))).all()


@pytest.mark.parametrize(("dialect", "stored"), [
    (sqlite.dialect(), datetime(2025, 11, 7, 9, 30)),  # UTC wall time: SQLite would drop an offset unconverted
    (postgresql.dialect(), datetime(2025, 11, 7, 9, 30, tzinfo=UTC)),
])
def test_bind_converts_to_utc_per_dialect(dialect, stored):
    assert UtcDateTime().process_bind_param(datetime(2025, 11, 7, 18, 30, tzinfo=KST), dialect) == stored
    assert UtcDateTime().process_bind_param(None, dialect) is None


def test_non_datetime_is_refused():
    with pytest.raises(NaiveDatetimeError, match="value must be a datetime, got str '2025-11-07'"):
        UtcDateTime().process_bind_param("2025-11-07", sqlite.dialect())
