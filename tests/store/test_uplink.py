"""Uplink as data: licences and the owner's uplink terms gate booking; the audit trail is append-only; inhibits.

The network (``tests.support.worlds.make_network``): the owner (``org_id``) has one station
with a UHF and an S-band antenna; the partner (``partner_id``) operates NEXUS.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from groundshare.errors import ConflictError, NotFoundError, PolicyError
from groundshare.store import (
    UNCHECKED,
    Antenna,
    Contact,
    Organisation,
    OrgKind,
    Satellite,
    SharingPolicy,
    Station,
    TransmitInhibit,
    UplinkFrame,
    book_contact,
    session_scope,
)
from groundshare.store.uplink import (
    check_contact_uplink,
    check_uplink_allowed,
    lift_inhibit,
    open_inhibit,
    raise_inhibit,
    record_uplink_frame,
    uplink_audit,
)
from tests.support.uplink import allow_uplink, license_uplink

T0 = datetime(2025, 11, 7, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def shared(factory, network):
    """The owner shares both antennas with the partner (receive only, until a test says otherwise)."""
    with session_scope(factory) as session:
        for antenna_id in (network.antenna_id, network.slow_antenna_id):
            session.add(SharingPolicy(owner_org_id=network.org_id, grantee_org_id=network.partner_id,
                                      antenna_id=antenna_id))
    return network


def uplink(factory, network, *, antenna_id=None, satellite_id=None, org_id=None, start=T0, end=T0 + 10 * MINUTE):
    with session_scope(factory) as session:
        return book_contact(session, rules=UNCHECKED, antenna_id=antenna_id or network.antenna_id,
                            satellite_id=satellite_id or network.satellite_id, org_id=org_id or network.partner_id,
                            start=start, end=end, uplink=True)


def refused(factory, network, match, **kwargs) -> str:
    with pytest.raises(PolicyError, match=match) as raised:
        uplink(factory, network, **kwargs)
    with session_scope(factory, write=False) as session:
        assert session.scalars(select(Contact)).all() == []
    return str(raised.value)


def test_uplink_needs_a_licence_for_the_station(factory, shared):
    allow_uplink(factory, shared.antenna_id, shared.partner_id)
    message = refused(factory, shared, "no uplink licence")
    assert f"POST /stations/{shared.station_id}/licences" in message
    # Receive-only needs none.
    with session_scope(factory) as session:
        contact = book_contact(session, rules=UNCHECKED, antenna_id=shared.antenna_id,
                               satellite_id=shared.satellite_id, org_id=shared.partner_id, start=T0,
                               end=T0 + 10 * MINUTE)
        assert contact.uplink is False


@pytest.mark.parametrize(("valid_from", "valid_until"), [
    (T0 - timedelta(days=400), T0 - timedelta(days=1)),  # expired
    (T0 + timedelta(days=1), T0 + timedelta(days=400)),  # not yet valid
    (T0 - timedelta(days=1), T0 + 5 * MINUTE),  # ends during the contact
])
def test_a_licence_must_cover_the_whole_contact(factory, shared, valid_from, valid_until):
    allow_uplink(factory, shared.antenna_id, shared.partner_id)
    license_uplink(factory, shared.station_id, shared.satellite_id, valid_from=valid_from, valid_until=valid_until)
    refused(factory, shared, "no uplink licence .* for the whole of")


def test_a_licence_is_for_its_satellite(factory, shared):
    allow_uplink(factory, shared.antenna_id, shared.partner_id)
    with session_scope(factory) as session:
        other = Satellite(org_id=shared.partner_id, norad_id=49264, name="OTHER")
        session.add(other)
        session.flush()
        other_id = other.id
    license_uplink(factory, shared.station_id, other_id)
    refused(factory, shared, "no uplink licence lets satellite")


def test_a_partner_antenna_needs_the_owners_uplink_terms(factory, shared):
    license_uplink(factory, shared.station_id, shared.satellite_id)
    assert "uplink_allowed is false" in refused(factory, shared, f"sharing policy .* lets organisation "
                                                                 f"{shared.partner_id} transmit")
    allow_uplink(factory, shared.antenna_id, shared.partner_id)
    contact = uplink(factory, shared)
    assert contact.uplink is True


def test_the_uplink_band_is_the_antennas(factory, shared):
    license_uplink(factory, shared.station_id, shared.satellite_id)
    allow_uplink(factory, shared.antenna_id, shared.partner_id, bands=["s"])
    assert "the antenna is" not in refused(factory, shared, r"uplink only on the s band\(s\) \(uplink_bands\); "
                                                            r"antenna .* is uhf")
    # The S-band dish is allowed by the same terms on its own policy.
    allow_uplink(factory, shared.slow_antenna_id, shared.partner_id, bands=["s"])
    assert uplink(factory, shared, antenna_id=shared.slow_antenna_id).uplink is True


def test_empty_uplink_bands_take_the_policys_bands(factory, shared):
    """Checked directly: a booking on a band the policy does not share is refused by the sharing check first."""
    license_uplink(factory, shared.station_id, shared.satellite_id)
    allow_uplink(factory, shared.antenna_id, shared.partner_id)
    with session_scope(factory) as session:
        policy = session.scalars(select(SharingPolicy).where(SharingPolicy.antenna_id == shared.antenna_id)).one()
        policy.bands = ["s"]
        with pytest.raises(PolicyError, match=r"uplink only on the s band"):
            check_uplink_allowed(session, antenna=session.get(Antenna, shared.antenna_id),
                                 satellite_id=shared.satellite_id, org_id=shared.partner_id, start=T0,
                                 end=T0 + MINUTE)


def test_the_satellite_must_be_listed(factory, shared):
    license_uplink(factory, shared.station_id, shared.satellite_id)
    allow_uplink(factory, shared.antenna_id, shared.partner_id, satellite_ids=[shared.satellite_id + 1000])
    refused(factory, shared, rf"not satellite {shared.satellite_id}")
    allow_uplink(factory, shared.antenna_id, shared.partner_id, satellite_ids=[shared.satellite_id])
    assert uplink(factory, shared).uplink is True


def test_own_antenna_needs_no_policy_but_a_licence(factory, network):
    with session_scope(factory) as session:
        own = Satellite(org_id=network.org_id, norad_id=40001, name="OWN")
        session.add(own)
        session.flush()
        own_id = own.id
    refused(factory, network, "no uplink licence", satellite_id=own_id, org_id=network.org_id)
    license_uplink(factory, network.station_id, own_id)
    assert uplink(factory, network, satellite_id=own_id, org_id=network.org_id).uplink is True


def test_the_operator_rule_still_comes_first(factory, shared):
    license_uplink(factory, shared.station_id, shared.satellite_id)
    refused(factory, shared, "only its operator", org_id=shared.org_id)


@pytest.fixture
def commanding(factory, shared):
    """An uplink contact of the partner's NEXUS on the owner's UHF antenna, licensed and allowed."""
    license_uplink(factory, shared.station_id, shared.satellite_id)
    allow_uplink(factory, shared.antenna_id, shared.partner_id)
    return uplink(factory, shared)


def test_frames_are_recorded_and_the_audit_shows_each_viewer_its_part(factory, shared, commanding):
    with session_scope(factory) as session:
        contact = session.get(Contact, commanding.id)
        row = record_uplink_frame(session, contact, b"\xc0PING\xc0", sent_at=T0 + MINUTE,
                                  on_air_at=T0 + MINUTE + timedelta(milliseconds=40))
        assert (row.length, row.station_id, row.org_id) == (6, shared.station_id, shared.partner_id)
        record_uplink_frame(session, contact, b"RESET", sent_at=T0 + 2 * MINUTE)
    with session_scope(factory, write=False) as session:
        contact = session.get(Contact, commanding.id)
        operator, count = uplink_audit(session, contact, shared.partner_id)
        assert count == 2
        assert [(e.payload, e.length) for e in operator] == [(b"\xc0PING\xc0", 6), (b"RESET", 5)]
        assert uplink_audit(session, contact, shared.partner_id, offset=1, limit=1) == (operator[1:], 2)
        assert operator[0].sha256 == hashlib.sha256(b"\xc0PING\xc0").hexdigest()
        owner, _ = uplink_audit(session, contact, shared.org_id)
        assert [(e.payload, e.sha256) for e in owner] == [(None, e.sha256) for e in operator]
        session.add(stranger := Organisation(name="Stranger", kind=OrgKind.COMPANY))
        session.flush()
        with pytest.raises(NotFoundError):
            uplink_audit(session, contact, stranger.id)


def test_the_audit_trail_cannot_be_edited_or_deleted(factory, shared, commanding):
    with session_scope(factory) as session:
        record_uplink_frame(session, session.get(Contact, commanding.id), b"PING", sent_at=T0 + MINUTE)
    for sql in ("UPDATE uplink_frame SET length = 5", "UPDATE uplink_frame SET on_air_at = sent_at",
                "DELETE FROM uplink_frame"):
        with pytest.raises(DBAPIError, match="uplink_frame_append_only"), session_scope(factory) as session:
            session.execute(text(sql))
    with pytest.raises(IntegrityError), session_scope(factory) as session:  # nor deleted from under it
        session.execute(text(f"DELETE FROM contact WHERE id = {commanding.id}"))
    with session_scope(factory, write=False) as session:
        [row] = session.scalars(select(UplinkFrame)).all()
        assert (row.length, row.payload, row.on_air_at) == (4, b"PING", None)


def test_an_inhibit_stops_transmission_and_stays_on_record(factory, shared, commanding):
    during = T0 + MINUTE
    with session_scope(factory) as session:
        check_contact_uplink(session, session.get(Contact, commanding.id), at=during)
        station = session.get(Station, shared.station_id)
        with pytest.raises(PolicyError, match="only the owner"):
            raise_inhibit(session, station, org_id=shared.partner_id)
        first = raise_inhibit(session, station, org_id=shared.org_id, reason="interference", at=T0)
        assert raise_inhibit(session, station, org_id=shared.org_id).id == first.id  # one open per station
    with session_scope(factory) as session:
        with pytest.raises(PolicyError, match=r"transmit inhibit .*interference"):
            check_contact_uplink(session, session.get(Contact, commanding.id), at=during)
        station = session.get(Station, shared.station_id)
        lifted = lift_inhibit(session, station, org_id=shared.org_id, at=T0 + 2 * MINUTE)
        assert lifted.lifted_at == T0 + 2 * MINUTE and open_inhibit(session, shared.station_id) is None
        with pytest.raises(ConflictError, match="no open transmit inhibit"):
            lift_inhibit(session, station, org_id=shared.org_id)
        check_contact_uplink(session, session.get(Contact, commanding.id), at=during)
        raise_inhibit(session, station, org_id=shared.org_id, at=T0 + 3 * MINUTE)
    with session_scope(factory, write=False) as session:
        assert [(i.lifted_at is None, i.reason) for i in session.scalars(
            select(TransmitInhibit).order_by(TransmitInhibit.id))] == [(False, "interference"), (True, "")]


def test_the_database_keeps_one_open_inhibit_per_station(factory, network):
    with session_scope(factory) as session:
        session.add(TransmitInhibit(station_id=network.station_id, raised_by_org_id=network.org_id, raised_at=T0))
    with pytest.raises(IntegrityError), session_scope(factory) as session:
        session.add(TransmitInhibit(station_id=network.station_id, raised_by_org_id=network.org_id, raised_at=T0))


def test_transmitting_outside_the_contact_or_in_a_receive_only_one_is_refused(factory, shared, commanding):
    with session_scope(factory) as session:
        contact = session.get(Contact, commanding.id)
        with pytest.raises(PolicyError, match="outside it"):
            check_contact_uplink(session, contact, at=T0 + 20 * MINUTE)
        listening = book_contact(session, rules=UNCHECKED, antenna_id=shared.slow_antenna_id,
                                 satellite_id=shared.satellite_id, org_id=shared.partner_id, start=T0,
                                 end=T0 + 10 * MINUTE)
        with pytest.raises(PolicyError, match="receive-only"):
            check_contact_uplink(session, listening, at=T0 + MINUTE)
        assert session.get(Antenna, shared.antenna_id) is not None
