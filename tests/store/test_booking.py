"""book_contact: one antenna, never two overlapping live contacts; refusals name the contact in the way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from groundshare.errors import ConflictError, InvalidInputError, NotFoundError, PolicyError
from groundshare.store import (
    UNCHECKED,
    Antenna,
    Band,
    Contact,
    ContactRequest,
    ContactStatus,
    DoubleBookingError,
    ElementSetRecord,
    ElementTextFormat,
    IdempotencyKeyReusedError,
    SharingPolicy,
    book_contact,
    cancel_contact,
    session_scope,
)
from groundshare.store import booking as booking_module
from tests.support.databases import sqlite_only
from tests.support.uplink import allow_uplink, license_uplink
from tests.support.worlds import TURNAROUND_S

T0 = datetime(2025, 11, 7, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def book(factory, network, start, end, *, antenna_id=None, org_id=None, key=None):
    """Book in a unit of work of its own and return the committed contact."""
    with session_scope(factory) as session:
        return book_contact(session, rules=UNCHECKED, antenna_id=antenna_id or network.antenna_id,
                            satellite_id=network.satellite_id, org_id=org_id or network.org_id,
                            start=start, end=end, idempotency_key=key)


def count(factory, model=Contact) -> int:
    with session_scope(factory, write=False) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_booking_stores_times_hold_and_snapshot(factory, network):
    with session_scope(factory) as session:
        session.add_all([
            ElementSetRecord(satellite_id=network.satellite_id, epoch=datetime(2025, 11, 5, tzinfo=UTC),
                             format=ElementTextFormat.TLE, text="old"),
            ElementSetRecord(satellite_id=network.satellite_id, epoch=datetime(2025, 11, 6, 8, 12, tzinfo=UTC),
                             format=ElementTextFormat.TLE, text="new"),
        ])
    contact = book(factory, network, T0, T0 + 10 * MINUTE, antenna_id=network.slow_antenna_id)

    with session_scope(factory, write=False) as session:
        stored = session.get(Contact, contact.id)
    assert (stored.start_time, stored.end_time) == (T0, T0 + 10 * MINUTE)
    assert stored.busy_until == T0 + 10 * MINUTE + timedelta(seconds=TURNAROUND_S)
    assert stored.status is ContactStatus.SCHEDULED
    assert stored.org_id == network.org_id
    assert stored.snapshot["element_set"]["text"] == "new"
    assert stored.snapshot["element_set"]["epoch"] == "2025-11-06T08:12:00+00:00"
    assert stored.snapshot["station"]["horizon_mask"] == [[0.0, 4.0], [110.0, 18.0]]
    assert stored.snapshot["antenna"] == {"id": network.slow_antenna_id, "name": "s-dish", "band": "s",
                                          "setup_s": 120.0, "turnaround_s": TURNAROUND_S,
                                          "g_over_t_dbk": None, "eirp_dbw": None, "az_slew_deg_s": None,
                                          "el_slew_deg_s": None}
    assert stored.snapshot["satellite"]["norad_id"] == 49263


def test_overlap_is_refused_and_the_error_names_the_contact(factory, network):
    first = book(factory, network, T0, T0 + 10 * MINUTE)
    with pytest.raises(DoubleBookingError) as caught:
        book(factory, network, T0 + 5 * MINUTE, T0 + 15 * MINUTE)
    assert str(caught.value) == (
        f"antenna {network.antenna_id} ('uhf-yagi') is already booked from 2025-11-07T10:00:00.000Z to "
        f"2025-11-07T10:10:00.000Z by contact {first.id}; the requested 2025-11-07T10:05:00.000Z to "
        "2025-11-07T10:15:00.000Z overlaps it\n\n"
        "Choose a window that starts at 2025-11-07T10:10:00.000Z or later, or ends (turnaround included) by "
        f"2025-11-07T10:00:00.000Z, another antenna, or cancel contact {first.id} first"
    )
    assert isinstance(caught.value, ConflictError)
    assert (caught.value.contact_id, caught.value.start, caught.value.end) == (first.id, T0, T0 + 10 * MINUTE)
    assert count(factory) == 1


@pytest.mark.parametrize(("start_min", "end_min"), [
    (-5, 1),  # overlaps the beginning
    (9, 20),  # overlaps the end
    (2, 8),  # inside
    (-5, 20),  # around
    (0, 10),  # identical
])
def test_every_kind_of_overlap_is_refused(factory, network, start_min, end_min):
    book(factory, network, T0, T0 + 10 * MINUTE)
    with pytest.raises(DoubleBookingError):
        book(factory, network, T0 + start_min * MINUTE, T0 + end_min * MINUTE)


def test_touching_windows_do_not_overlap(factory, network):
    book(factory, network, T0, T0 + 10 * MINUTE)
    book(factory, network, T0 + 10 * MINUTE, T0 + 20 * MINUTE)  # starts as the first ends
    book(factory, network, T0 - 10 * MINUTE, T0)  # ends as the first starts
    assert count(factory) == 3


def test_turnaround_extends_the_hold(factory, network):
    slow = network.slow_antenna_id
    first = book(factory, network, T0, T0 + 10 * MINUTE, antenna_id=slow)
    with pytest.raises(DoubleBookingError) as caught:  # 30 s after the end, inside the 60 s turnaround
        book(factory, network, T0 + 10 * MINUTE + timedelta(seconds=30), T0 + 20 * MINUTE, antenna_id=slow)
    assert caught.value.contact_id == first.id
    assert "plus the antenna's 60 s turnaround overlaps it" in str(caught.value)
    assert "starts at 2025-11-07T10:11:00.000Z or later" in str(caught.value)
    with pytest.raises(DoubleBookingError):  # ends 30 s before the first starts: its own turnaround collides
        book(factory, network, T0 - 10 * MINUTE, T0 - timedelta(seconds=30), antenna_id=slow)
    book(factory, network, T0 + 11 * MINUTE, T0 + 20 * MINUTE, antenna_id=slow)  # after end + turnaround
    book(factory, network, T0 - 11 * MINUTE, T0 - MINUTE, antenna_id=slow)  # its end + turnaround == T0
    book(factory, network, T0 + 5 * MINUTE, T0 + 15 * MINUTE)  # another antenna is not held
    assert count(factory) == 4


def test_the_earliest_overlapping_contact_is_named(factory, network):
    book(factory, network, T0 + 10 * MINUTE, T0 + 20 * MINUTE)
    earliest = book(factory, network, T0, T0 + 5 * MINUTE)
    with pytest.raises(DoubleBookingError) as caught:
        book(factory, network, T0, T0 + 30 * MINUTE)
    assert caught.value.contact_id == earliest.id


def test_cancelled_contacts_do_not_block(factory, network):
    first = book(factory, network, T0, T0 + 10 * MINUTE)
    with session_scope(factory) as session:
        assert cancel_contact(session, first.id).status is ContactStatus.CANCELLED
    second = book(factory, network, T0 + 5 * MINUTE, T0 + 15 * MINUTE)
    assert second.id != first.id
    assert count(factory) == 2


def test_only_live_contacts_can_be_cancelled(factory, network):
    contact = book(factory, network, T0, T0 + 10 * MINUTE)
    with session_scope(factory) as session:
        cancel_contact(session, contact.id)
        assert cancel_contact(session, contact.id).status is ContactStatus.CANCELLED  # again: no change
        done = book_contact(session, rules=UNCHECKED, antenna_id=network.antenna_id, satellite_id=network.satellite_id,
                            org_id=network.org_id, start=T0 + 20 * MINUTE, end=T0 + 30 * MINUTE)
        done.status = ContactStatus.COMPLETED
    with pytest.raises(ConflictError) as caught, session_scope(factory) as session:
        cancel_contact(session, done.id)
    assert str(caught.value) == (f"contact {done.id} is completed and cannot be cancelled; "
                                 "only scheduled or in-progress contacts can")
    with pytest.raises(NotFoundError, match="contact 999 does not exist"), session_scope(factory) as session:
        cancel_contact(session, 999)


def test_database_refuses_to_revive_a_cancelled_contact_that_now_overlaps(factory, network):
    first = book(factory, network, T0, T0 + 10 * MINUTE)
    with session_scope(factory) as session:
        cancel_contact(session, first.id)
    book(factory, network, T0 + 5 * MINUTE, T0 + 15 * MINUTE)
    with pytest.raises(IntegrityError, match="contact_no_overlap"), session_scope(factory) as session:
        session.get(Contact, first.id).status = ContactStatus.SCHEDULED
    with session_scope(factory, write=False) as session:
        assert session.get(Contact, first.id).status is ContactStatus.CANCELLED


def test_database_refuses_an_overlapping_row_written_without_book_contact(factory, network):
    first = book(factory, network, T0, T0 + 10 * MINUTE)
    with pytest.raises(IntegrityError, match="contact_no_overlap"), session_scope(factory) as session:
        session.add(Contact(antenna_id=network.antenna_id, satellite_id=network.satellite_id,
                            org_id=network.org_id, start_time=T0 + MINUTE, end_time=T0 + 2 * MINUTE,
                            busy_until=T0 + 2 * MINUTE))
    with pytest.raises(IntegrityError, match="contact_no_overlap"), session_scope(factory) as session:
        session.get(Contact, first.id).busy_until = T0 + 30 * MINUTE  # grow into nothing: fine ...
        session.add(Contact(antenna_id=network.antenna_id, satellite_id=network.satellite_id,
                            org_id=network.org_id, start_time=T0 + 20 * MINUTE, end_time=T0 + 25 * MINUTE,
                            busy_until=T0 + 25 * MINUTE))  # ... but then this one overlaps the hold
    assert count(factory) == 1


@sqlite_only  # PostgreSQL compares timestamptz values, whatever text they were written as
def test_sqlite_guard_refuses_times_it_could_not_compare(engine, network):
    with pytest.raises(IntegrityError, match=r"must be UTC text YYYY-MM-DD HH:MM:SS\.ffffff"), \
            engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO contact (antenna_id, satellite_id, org_id, start_time, end_time, busy_until, status, "
            "snapshot, notes, created_at) VALUES (?, ?, ?, '2025-11-07T10:00Z', '2025-11-07T10:10Z', "
            "'2025-11-07T10:10Z', 'scheduled', '{}', '', '2025-11-07 00:00:00.000000')",
            (network.antenna_id, network.satellite_id, network.org_id))


def test_guard_refusal_is_reported_like_the_check_when_the_check_misses(factory, network, monkeypatch):
    """If the Python check misses an overlap, the database refuses, and the error still names the contact."""
    first = book(factory, network, T0, T0 + 10 * MINUTE)
    real_check = booking_module.first_overlapping_contact
    calls = []

    def blind_first_time(*args):
        calls.append(args)
        return None if len(calls) == 1 else real_check(*args)

    monkeypatch.setattr(booking_module, "first_overlapping_contact", blind_first_time)
    with session_scope(factory) as session:
        with pytest.raises(DoubleBookingError) as caught:
            book_contact(session, rules=UNCHECKED, antenna_id=network.antenna_id, satellite_id=network.satellite_id,
                         org_id=network.org_id, start=T0 + 5 * MINUTE, end=T0 + 15 * MINUTE)
        # The savepoint was rolled back: the unit of work goes on and commits what follows.
        later = book_contact(session, rules=UNCHECKED, antenna_id=network.antenna_id, satellite_id=network.satellite_id,
                             org_id=network.org_id, start=T0 + 10 * MINUTE, end=T0 + 20 * MINUTE)
    assert len(calls) == 3  # blind check, naming after the refusal, the later booking's check
    assert (caught.value.contact_id, caught.value.start, caught.value.end) == (first.id, T0, T0 + 10 * MINUTE)
    assert {c.id for c in _contacts(factory)} == {first.id, later.id}


def test_a_refused_booking_leaves_nothing_of_its_unit_of_work(factory, network):
    book(factory, network, T0, T0 + 10 * MINUTE)
    with pytest.raises(DoubleBookingError), session_scope(factory) as session:
        session.add(ContactRequest(org_id=network.org_id, satellite_id=network.satellite_id,
                                   window_start=T0, window_end=T0 + 60 * MINUTE))
        book_contact(session, rules=UNCHECKED, antenna_id=network.slow_antenna_id, satellite_id=network.satellite_id,
                     org_id=network.org_id, start=T0 + 30 * MINUTE, end=T0 + 40 * MINUTE)  # fits: flushed
        book_contact(session, rules=UNCHECKED, antenna_id=network.antenna_id, satellite_id=network.satellite_id,
                     org_id=network.org_id, start=T0 + 5 * MINUTE, end=T0 + 15 * MINUTE)  # refused
    assert count(factory, ContactRequest) == 0
    assert count(factory) == 1


def test_an_idempotency_key_books_once(factory, network):
    first = book(factory, network, T0, T0 + 10 * MINUTE, key="pass-2025-11-07T10")
    again = book(factory, network, T0, T0 + 10 * MINUTE, key="pass-2025-11-07T10")
    assert again.id == first.id
    assert count(factory) == 1


def test_idempotency_keys_belong_to_one_organisation(factory, network):
    book(factory, network, T0, T0 + 10 * MINUTE, key="k1")
    with session_scope(factory) as session:  # the partner books the owner's antenna under a sharing policy
        session.add(SharingPolicy(owner_org_id=network.org_id, grantee_org_id=network.partner_id,
                                  antenna_id=network.antenna_id))
    other = book(factory, network, T0 + 20 * MINUTE, T0 + 30 * MINUTE, key="k1", org_id=network.partner_id)
    assert other.org_id == network.partner_id
    assert count(factory) == 2


def test_a_reused_idempotency_key_for_another_booking_is_refused(factory, network):
    first = book(factory, network, T0, T0 + 10 * MINUTE, key="k1")
    with pytest.raises(IdempotencyKeyReusedError) as caught:
        book(factory, network, T0 + 20 * MINUTE, T0 + 30 * MINUTE, key="k1")
    assert str(caught.value).startswith(
        f"idempotency key 'k1' already booked contact {first.id} (antenna {network.antenna_id}, satellite "
        f"{network.satellite_id}, 2025-11-07T10:00:00.000Z to 2025-11-07T10:10:00.000Z), not antenna "
        f"{network.antenna_id}, satellite {network.satellite_id}, 2025-11-07T10:20:00.000Z to "
        "2025-11-07T10:30:00.000Z")
    assert count(factory) == 1


def test_naive_and_backwards_times_are_refused_before_anything_is_read(factory, network):
    with pytest.raises(InvalidInputError, match=r"start has no timezone \(2025-11-07T10:00:00\)"):
        book(factory, network, datetime(2025, 11, 7, 10), T0 + MINUTE)
    with pytest.raises(InvalidInputError) as caught:
        book(factory, network, T0, T0)
    assert str(caught.value) == ("end (2025-11-07T10:00:00.000Z) must be after start (2025-11-07T10:00:00.000Z); "
                                 "a contact covers [start, end)")
    assert caught.value.loc == ("end",)


def test_unknown_antenna_satellite_or_organisation(factory, network):
    with pytest.raises(NotFoundError, match="antenna 999 does not exist"):
        book(factory, network, T0, T0 + MINUTE, antenna_id=999)
    with pytest.raises(NotFoundError, match="organisation 999 does not exist"):
        book(factory, network, T0, T0 + MINUTE, org_id=999)
    assert count(factory) == 0


def _contacts(factory) -> list[Contact]:
    with session_scope(factory, write=False) as session:
        return list(session.scalars(select(Contact).order_by(Contact.id)))


def test_the_database_refuses_overlapping_uplink_contacts_of_one_satellite(factory, network):
    """The uplink guard, written past book_contact: two live uplink contacts of one satellite on two antennas."""
    with session_scope(factory) as session:
        third = Antenna(station_id=network.station_id, name="vhf", band=Band.VHF)
        session.add(third)
        session.add(Contact(antenna_id=network.antenna_id, satellite_id=network.satellite_id, org_id=network.org_id,
                            start_time=T0, end_time=T0 + 10 * MINUTE, busy_until=T0 + 10 * MINUTE, uplink=True))
    # A receive-only contact of the same satellite on another antenna overlaps it freely ...
    with session_scope(factory) as session:
        session.add(Contact(antenna_id=network.slow_antenna_id, satellite_id=network.satellite_id,
                            org_id=network.org_id, start_time=T0 + 2 * MINUTE, end_time=T0 + 8 * MINUTE,
                            busy_until=T0 + 9 * MINUTE))
    # ... but not as an uplink, inserted or updated into one.
    with pytest.raises(IntegrityError, match="contact_no_uplink_overlap"), session_scope(factory) as session:
        session.add(Contact(antenna_id=third.id, satellite_id=network.satellite_id, org_id=network.org_id,
                            start_time=T0 + 9 * MINUTE, end_time=T0 + 12 * MINUTE, busy_until=T0 + 12 * MINUTE,
                            uplink=True))
    with pytest.raises(IntegrityError, match="contact_no_uplink_overlap"), session_scope(factory) as session:
        session.execute(Contact.__table__.update().where(Contact.antenna_id == network.slow_antenna_id)
                        .values(uplink=True))
    # Touching end to start is no overlap.
    with session_scope(factory) as session:
        session.add(Contact(antenna_id=third.id, satellite_id=network.satellite_id, org_id=network.org_id,
                            start_time=T0 + 10 * MINUTE, end_time=T0 + 12 * MINUTE, busy_until=T0 + 12 * MINUTE,
                            uplink=True))
    assert count(factory) == 3


@pytest.fixture
def partner_shares(factory, network):
    """The antenna owner shares both antennas with the partner, which operates NEXUS."""
    with session_scope(factory) as session:
        for antenna_id in (network.antenna_id, network.slow_antenna_id):
            session.add(SharingPolicy(owner_org_id=network.org_id, grantee_org_id=network.partner_id,
                                      antenna_id=antenna_id))


def test_the_uplink_guard_refusal_is_reported_like_the_check(factory, network, partner_shares, monkeypatch):
    """If the Python check misses an uplink clash, the database refuses, and the error still says so."""
    license_uplink(factory, network.station_id, network.satellite_id)
    for antenna_id in (network.antenna_id, network.slow_antenna_id):
        allow_uplink(factory, antenna_id, network.partner_id)
    with session_scope(factory) as session:
        first = book_contact(session, rules=UNCHECKED, antenna_id=network.antenna_id,
                             satellite_id=network.satellite_id, org_id=network.partner_id, start=T0,
                             end=T0 + 10 * MINUTE, uplink=True)
    real_check = booking_module.first_overlapping_uplink
    calls = []

    def blind_first_time(*args):
        calls.append(args)
        return None if len(calls) == 1 else real_check(*args)

    monkeypatch.setattr(booking_module, "first_overlapping_uplink", blind_first_time)
    with pytest.raises(DoubleBookingError) as raised, session_scope(factory) as session:
        book_contact(session, rules=UNCHECKED, antenna_id=network.slow_antenna_id,
                     satellite_id=network.satellite_id, org_id=network.partner_id, start=T0 + 5 * MINUTE,
                     end=T0 + 15 * MINUTE, uplink=True)
    assert raised.value.contact_id == first.id and len(calls) == 2
    assert str(raised.value).startswith(f"satellite {network.satellite_id} (NORAD 49263) already has uplink contact "
                                        f"{first.id}")
    assert count(factory) == 1


def test_uplink_is_for_the_operator(factory, network):
    """The antenna owner (network.org_id) does not operate NEXUS (network.partner_id does)."""
    with pytest.raises(PolicyError, match="only its operator"), session_scope(factory) as session:
        book_contact(session, rules=UNCHECKED, antenna_id=network.antenna_id, satellite_id=network.satellite_id,
                     org_id=network.org_id, start=T0, end=T0 + 10 * MINUTE, uplink=True)
    assert count(factory) == 0
