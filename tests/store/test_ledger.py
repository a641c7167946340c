"""The partner ledger on a hand-built set of contacts; expected hours worked out by hand below."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest

from groundshare.errors import InvalidInputError
from groundshare.store import (
    Antenna,
    Band,
    Contact,
    ContactStatus,
    Organisation,
    OrgKind,
    Station,
    compute_ledger,
    session_scope,
)
from groundshare.store.ledger import MAX_SPAN, Period, floor_period, next_period

S, IP, C, F, X = (ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS, ContactStatus.COMPLETED, ContactStatus.FAILED,
                  ContactStatus.CANCELLED)
WEEK1 = datetime(2025, 11, 3, tzinfo=UTC)  # a Monday
WEEK2 = datetime(2025, 11, 10, tzinfo=UTC)
WEEK3 = datetime(2025, 11, 17, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 11, day, hour, minute, tzinfo=UTC)


@dataclass
class Ids:
    owner: int  # network.org_id: owns both antennas of station daejeon-1
    partner: int
    uni: int


@pytest.fixture
def ids(factory, network) -> Ids:
    """The contacts of the ledger tests (busy_until = end; inserted directly, bypassing policies)."""
    with session_scope(factory) as session:
        uni = Organisation(name="Universidad de Chile", kind=OrgKind.UNIVERSITY)
        session.add(uni)
        session.flush()
        station = Station(org_id=uni.id, name="santiago", lat_deg=-33.45, lon_deg=-70.66)
        session.add(station)
        session.flush()
        uni_antenna = Antenna(station_id=station.id, name="uhf", band=Band.UHF)
        session.add(uni_antenna)
        session.flush()
        quick, slow = network.antenna_id, network.slow_antenna_id
        o, p = network.org_id, network.partner_id
        rows = [
            # 1: partner on the owner's antenna across the week boundary (Sun 23:00 to Mon 01:00): 1 h + 1 h.
            (quick, p, at(9, 23), at(10, 1), C, 1000),
            # 2: partner, failed, 0.5 h in week 2; its 50 bytes are not "delivered".
            (quick, p, at(11, 10), at(11, 10, 30), F, 50),
            # 3: cancelled: left out everywhere.
            (quick, p, at(12, 10), at(12, 10, 15), X, None),
            # 4: the owner on its own antenna: 0.75 h self-use in week 1.
            (slow, o, at(3, 0), at(3, 0, 45), C, 300),
            # 5: starts before the ledger (Sun 2 Nov 23:30): 0.5 h clipped into week 1, not counted as a contact.
            (quick, p, at(2, 23, 30), at(3, 0, 30), S, None),
            # 6: runs past the ledger's end (Sun 16 Nov 23:45 to Mon 17 00:15): 0.25 h in week 2.
            (quick, p, at(16, 23, 45), at(17, 0, 15), IP, None),
            # 7: the university on the owner's antenna: 1 h in week 1.
            (slow, uni.id, at(5, 12), at(5, 13), C, 7),
            # 8: the university on its own antenna: 20 min in week 1.
            (uni_antenna.id, uni.id, at(6, 1), at(6, 1, 20), S, None),
        ]
        for antenna_id, org_id, start, end, status, bytes_received in rows:
            session.add(Contact(antenna_id=antenna_id, satellite_id=network.satellite_id, org_id=org_id,
                                start_time=start, end_time=end, busy_until=end, status=status,
                                bytes_received=bytes_received))
        return Ids(o, p, uni.id)


def table(factory, org_id=None, *, start=WEEK1, end=WEEK3, period="week"):
    with session_scope(factory, write=False) as session:
        ledger = compute_ledger(session, start=start, end=end, period=period, org_id=org_id)
    return ledger, [(r.period_start, r.owner_org_id, r.user_org_id, r.booked_hours, r.completed_hours,
                     r.failed_hours, r.contacts, r.bytes_delivered) for r in ledger.rows]


def test_weekly_ledger_of_the_network(factory, ids):
    ledger, rows = table(factory)
    assert (ledger.start, ledger.end, ledger.period) == (WEEK1, WEEK3, Period.WEEK)
    o, p, u = ids.owner, ids.partner, ids.uni
    assert rows == [
        # Week 1, owner Korea: users in name order (Agencia, Korea, Universidad).
        (WEEK1, o, p, 1.0 + 0.5, 1.0, 0.0, 1, 1000),  # contact 1's first hour + contact 5's clipped half hour
        (WEEK1, o, o, 0.75, 0.75, 0.0, 1, 300),
        (WEEK1, o, u, 1.0, 1.0, 0.0, 1, 7),
        (WEEK1, u, u, pytest.approx(1 / 3, abs=1e-6), 0.0, 0.0, 1, 0),
        # Week 2: contact 1's second hour, contact 2 (failed) and contact 6 up to the ledger's end.
        (WEEK2, o, p, 1.0 + 0.5 + 0.25, 1.0, 0.5, 2, 0),
    ]
    assert [r.is_self_use for r in ledger.rows] == [False, True, False, True, False]
    assert (ledger.rows[0].owner_org_name, ledger.rows[0].user_org_name) == (
        "Korea AeroSpace Administration", "Agencia Espacial Mexicana")


def test_each_organisation_sees_only_its_rows(factory, ids):
    o, p, u = ids.owner, ids.partner, ids.uni
    assert {(r[1], r[2]) for r in table(factory, o)[1]} == {(o, p), (o, o), (o, u)}
    assert {(r[1], r[2]) for r in table(factory, p)[1]} == {(o, p)}
    assert {(r[1], r[2]) for r in table(factory, u)[1]} == {(o, u), (u, u)}
    assert table(factory, p)[1] == [row for row in table(factory)[1] if row[2] == p]


def test_daily_ledger_splits_at_midnight(factory, ids):
    _, rows = table(factory, ids.partner, start=at(9, 12), end=at(10, 12), period="day")
    assert rows == [
        (at(9, 0), ids.owner, ids.partner, 1.0, 1.0, 0.0, 1, 1000),
        (at(10, 0), ids.owner, ids.partner, 1.0, 1.0, 0.0, 0, 0),
    ]


def test_monthly_ledger_widens_to_whole_months(factory, ids):
    ledger, rows = table(factory, ids.partner, start=at(10, 0), end=at(10, 1), period=Period.MONTH)
    assert (ledger.start, ledger.end) == (datetime(2025, 11, 1, tzinfo=UTC), datetime(2025, 12, 1, tzinfo=UTC))
    # Contacts 1, 2, 5 and 6 (not the cancelled 3): 2 + 0.5 + 1 + 0.5 h.
    assert rows == [(datetime(2025, 11, 1, tzinfo=UTC), ids.owner, ids.partner, 4.0, 2.0, 0.5, 4, 1000)]


def test_empty_ledger(factory, ids):
    ledger, rows = table(factory, start=datetime(2030, 1, 1, tzinfo=UTC), end=datetime(2030, 2, 1, tzinfo=UTC))
    assert rows == [] and ledger.start == datetime(2029, 12, 31, tzinfo=UTC)  # the Monday of ISO week 2030-W01


@pytest.mark.parametrize(("value", "period", "floor", "after"), [
    (datetime(2026, 1, 1, 5, tzinfo=UTC), Period.WEEK, datetime(2025, 12, 29, tzinfo=UTC),
     datetime(2026, 1, 5, tzinfo=UTC)),
    (datetime(2025, 12, 31, 23, 59, tzinfo=UTC), Period.MONTH, datetime(2025, 12, 1, tzinfo=UTC),
     datetime(2026, 1, 1, tzinfo=UTC)),
    (datetime(2024, 2, 29, 12, tzinfo=UTC), Period.DAY, datetime(2024, 2, 29, tzinfo=UTC),
     datetime(2024, 3, 1, tzinfo=UTC)),
    (WEEK2, Period.WEEK, WEEK2, WEEK3),
])
def test_period_bounds(value, period, floor, after):
    assert floor_period(value, period) == floor
    assert next_period(value, period) == after


def test_periods_are_utc():
    seoul_monday_morning = datetime(2025, 11, 10, 8, 0, tzinfo=timezone(timedelta(hours=9)))  # Sunday 23:00 UTC
    assert floor_period(seoul_monday_morning, Period.DAY) == at(9, 0)
    assert floor_period(seoul_monday_morning, Period.WEEK) == WEEK1


@pytest.mark.parametrize(("start", "end", "message"), [
    (WEEK2, WEEK1, r"^end \(2025-11-03T00:00:00.000Z\) must be after start"),
    (WEEK1, WEEK1, r"^end .* must be after start"),
    (WEEK1, WEEK1 + MAX_SPAN + timedelta(seconds=1), r"^the ledger covers at most 366 days"),
])
def test_bad_window_names_end(factory, network, start, end, message):
    with pytest.raises(InvalidInputError, match=message) as info:
        table(factory, start=start, end=end)
    assert info.value.loc == ("end",)


def test_bad_period_is_refused(factory, network):
    with pytest.raises(InvalidInputError) as info:
        table(factory, period="fortnight")
    assert info.value.loc == ("period",)


def test_a_year_is_allowed(factory, ids):
    ledger, rows = table(factory, ids.owner, start=datetime(2025, 1, 1, tzinfo=UTC),
                         end=datetime(2026, 1, 1, tzinfo=UTC), period="month")
    assert len(rows) == 3 and ledger.end == datetime(2026, 1, 1, tzinfo=UTC)
