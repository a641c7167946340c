"""Sharing policies on booking: a partner's antenna is booked only as its owner's policy allows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from groundshare.errors import PolicyError
from groundshare.store import UNCHECKED, Contact, SharingPolicy, book_contact, cancel_contact, session_scope
from groundshare.store.policy import week_start

# Friday 2025-11-07; its ISO week starts on Monday 2025-11-03.
T0 = datetime(2025, 11, 7, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
OWNER = "Korea AeroSpace Administration"
PARTNER = "Agencia Espacial Mexicana"


def book(factory, network, start, end, *, org_id=None, antenna_id=None) -> Contact:
    with session_scope(factory) as session:
        return book_contact(session, antenna_id=antenna_id or network.antenna_id, satellite_id=network.satellite_id,
                            org_id=org_id or network.partner_id, start=start, end=end, rules=UNCHECKED)


def share(factory, network, *, antenna_id=None, **fields) -> int:
    with session_scope(factory) as session:
        policy = SharingPolicy(owner_org_id=network.org_id, grantee_org_id=network.partner_id,
                               antenna_id=antenna_id or network.antenna_id, **fields)
        session.add(policy)
        session.flush()
        return policy.id


def test_own_antenna_needs_no_policy(factory, network):
    contact = book(factory, network, T0, T0 + 10 * HOUR, org_id=network.org_id)
    assert contact.org_id == network.org_id


def test_partner_without_policy_is_refused(factory, network):
    with pytest.raises(PolicyError) as caught:
        book(factory, network, T0, T0 + HOUR / 4)
    assert str(caught.value) == (
        f"no sharing policy lets {PARTNER} book antenna {network.antenna_id} ('uhf-yagi') of {OWNER}\n\n"
        f"Ask {OWNER} to share the antenna with {PARTNER}, or book one of your own antennas")


def test_policy_of_another_antenna_does_not_cover_this_one(factory, network):
    share(factory, network, antenna_id=network.slow_antenna_id)
    with pytest.raises(PolicyError, match=r"^no sharing policy lets"):
        book(factory, network, T0, T0 + HOUR / 4)


def test_within_policy_is_booked(factory, network):
    share(factory, network, bands=["uhf"], hours_per_week=10.0)
    contact = book(factory, network, T0, T0 + HOUR / 4)
    assert contact.org_id == network.partner_id


def test_band_outside_policy_is_refused(factory, network):
    policy_id = share(factory, network, bands=["s", "x"])
    with pytest.raises(PolicyError) as caught:
        book(factory, network, T0, T0 + HOUR / 4)
    assert str(caught.value) == (
        f"sharing policy {policy_id} ({OWNER} → {PARTNER}, antenna 'uhf-yagi') shares only the s, x band(s); "
        "the antenna is uhf\n\nAsk the owner to add the band to the policy")


def test_blackout_is_refused(factory, network):
    policy_id = share(factory, network, blackout_windows=[
        {"start": "2025-11-01T00:00Z", "end": "2025-11-02T00:00Z"},
        {"start": "2025-11-07T10:30Z", "end": "2025-11-07T12:00Z"}])
    with pytest.raises(PolicyError) as caught:
        book(factory, network, T0, T0 + HOUR)
    assert str(caught.value) == (
        f"sharing policy {policy_id} ({OWNER} → {PARTNER}, antenna 'uhf-yagi') has a blackout from "
        "2025-11-07T10:30:00.000Z to 2025-11-07T12:00:00.000Z; the requested 2025-11-07T10:00:00.000Z to "
        "2025-11-07T11:00:00.000Z overlaps it\n\n"
        "Choose a window that ends by 2025-11-07T10:30:00.000Z or starts at 2025-11-07T12:00:00.000Z or later")
    # Touching the blackout's edges is allowed: windows are half-open.
    assert book(factory, network, T0, T0 + HOUR / 2).id
    assert book(factory, network, T0 + 2 * HOUR, T0 + 3 * HOUR).id


def test_quota_exceeded_is_refused(factory, network):
    policy_id = share(factory, network, hours_per_week=10.0)
    # 9.5 h earlier in the same ISO week (Monday and Tuesday), one cancelled contact that does not count,
    # and one contact in the previous week that does not count either.
    book(factory, network, datetime(2025, 11, 3, 0, 0, tzinfo=UTC), datetime(2025, 11, 3, 5, 0, tzinfo=UTC))
    book(factory, network, datetime(2025, 11, 4, 0, 0, tzinfo=UTC), datetime(2025, 11, 4, 4, 30, tzinfo=UTC))
    book(factory, network, datetime(2025, 11, 2, 20, 0, tzinfo=UTC), datetime(2025, 11, 2, 23, 0, tzinfo=UTC))
    cancelled = book(factory, network, T0 - 5 * HOUR, T0 - 4.5 * HOUR)
    with session_scope(factory) as session:
        cancel_contact(session, cancelled.id)
    with pytest.raises(PolicyError) as caught:
        book(factory, network, T0, T0 + 45 * timedelta(minutes=1))
    assert str(caught.value) == (
        f"sharing policy {policy_id} ({OWNER} → {PARTNER}, antenna 'uhf-yagi') allows 10 h per week; "
        f"{PARTNER} already holds 9.5 h in the week of 2025-11-03, and this contact needs 0.75 h more\n\n"
        "Book at most 0.5 h more that week, cancel a contact, or ask the owner for more hours")
    # Exactly up to the cap is allowed; the owner's own bookings never count against the partner.
    assert book(factory, network, T0, T0 + HOUR / 2).id
    assert book(factory, network, T0 + HOUR, T0 + 20 * HOUR, org_id=network.org_id).id
    # The next week starts a new count.
    assert book(factory, network, datetime(2025, 11, 10, 0, 0, tzinfo=UTC), datetime(2025, 11, 10, 10, 0,
                                                                                      tzinfo=UTC)).id


def test_refused_booking_writes_nothing(factory, network):
    share(factory, network, hours_per_week=1.0)
    with pytest.raises(PolicyError):
        book(factory, network, T0, T0 + 2 * HOUR)
    with session_scope(factory, write=False) as session:
        assert session.query(Contact).count() == 0


@pytest.mark.parametrize(("when", "monday"), [
    (datetime(2025, 11, 3, 0, 0, tzinfo=UTC), datetime(2025, 11, 3, tzinfo=UTC)),
    (datetime(2025, 11, 9, 23, 59, 59, tzinfo=UTC), datetime(2025, 11, 3, tzinfo=UTC)),
    (datetime(2025, 11, 10, 0, 0, tzinfo=UTC), datetime(2025, 11, 10, tzinfo=UTC)),
])
def test_week_starts_on_monday_utc(when, monday):
    assert week_start(when) == monday
