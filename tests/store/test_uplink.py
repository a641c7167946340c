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
    settle_frame,
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


def refused_by_the_database(factory, sql: str, **values) -> None:
    """Run ``sql`` in its own unit of work and check the audit trail's trigger refuses it."""
    with pytest.raises(DBAPIError, match="uplink_frame_append_only"), session_scope(factory) as session:
        session.execute(text(sql), values)


def test_the_audit_trail_cannot_be_edited_or_deleted(factory, shared, commanding):
    with session_scope(factory) as session:
        record_uplink_frame(session, session.get(Contact, commanding.id), b"PING", sent_at=T0 + MINUTE)
    for sql in ("UPDATE uplink_frame SET length = 5", "UPDATE uplink_frame SET sent_at = on_air_at",
                "DELETE FROM uplink_frame"):
        refused_by_the_database(factory, sql)
    with pytest.raises(IntegrityError), session_scope(factory) as session:  # nor deleted from under it
        session.execute(text(f"DELETE FROM contact WHERE id = {commanding.id}"))
    with session_scope(factory, write=False) as session:
        [row] = session.scalars(select(UplinkFrame)).all()
        assert (row.length, row.payload, row.on_air_at) == (4, b"PING", None)


def queued_frame(factory, commanding, payload: bytes = b"PING", ref: str = "c-1") -> int:
    with session_scope(factory) as session:
        return record_uplink_frame(session, session.get(Contact, commanding.id), payload, sent_at=T0 + MINUTE,
                                   client_ref=ref).id


def frame_row(factory, frame_id: int) -> tuple:
    with session_scope(factory, write=False) as session:
        row = session.get(UplinkFrame, frame_id)
        return row.payload, row.sha256, row.length, row.client_ref, row.on_air_at, row.not_sent_reason


def test_a_queued_frame_is_settled_once_and_then_never_changes(factory, shared, commanding):
    """The trigger lets one UPDATE through: NULL on_air_at/not_sent_reason to one of them; nothing after it."""
    on_air_id = queued_frame(factory, commanding, ref="on-air")
    not_sent_id = queued_frame(factory, commanding, b"RESET", ref="not-sent")
    on_air_at = T0 + MINUTE + timedelta(milliseconds=40)
    with session_scope(factory) as session:
        assert settle_frame(session, session.get(UplinkFrame, on_air_id), on_air_at=on_air_at) is True
        assert settle_frame(session, session.get(UplinkFrame, not_sent_id), not_sent_reason="inhibit") is True
    settled = frame_row(factory, on_air_id)
    assert settled[4:] == (on_air_at, None)
    # Not again, even by hand: another time, the same time written again, a reason added, or going back to queued.
    for sql, values in (("UPDATE uplink_frame SET on_air_at = :at WHERE id = :id", {"at": T0 + 2 * MINUTE}),
                        ("UPDATE uplink_frame SET on_air_at = :at WHERE id = :id", {"at": on_air_at}),
                        ("UPDATE uplink_frame SET not_sent_reason = 'late' WHERE id = :id", {}),
                        ("UPDATE uplink_frame SET on_air_at = NULL WHERE id = :id", {})):
        refused_by_the_database(factory, sql, id=on_air_id, **values)
    for sql in ("UPDATE uplink_frame SET on_air_at = sent_at WHERE id = :id",
                "UPDATE uplink_frame SET not_sent_reason = 'other' WHERE id = :id",
                "UPDATE uplink_frame SET not_sent_reason = NULL WHERE id = :id"):
        refused_by_the_database(factory, sql, id=not_sent_id)
    assert frame_row(factory, on_air_id) == settled
    assert frame_row(factory, not_sent_id)[4:] == (None, "inhibit")
    # Through the store: the same outcome again changes nothing, another is a conflict.
    with session_scope(factory) as session:
        frame = session.get(UplinkFrame, on_air_id)
        assert settle_frame(session, frame, on_air_at=on_air_at) is False
        with pytest.raises(ConflictError, match=f"uplink frame {on_air_id} is already settled \\(on_air\\)"):
            settle_frame(session, frame, not_sent_reason="changed my mind")
        with pytest.raises(ConflictError, match="already settled"):
            settle_frame(session, frame, on_air_at=on_air_at + MINUTE)


def test_settling_cannot_change_what_was_sent(factory, shared, commanding):
    """The settling UPDATE is refused if it also touches the frame's record (payload, hash, ref...) or sets both."""
    frame_id = queued_frame(factory, commanding)
    before = frame_row(factory, frame_id)
    settle = "UPDATE uplink_frame SET on_air_at = sent_at"
    for sql, values in ((f"{settle}, payload = :payload WHERE id = :id", {"payload": b"PONG"}),
                        (f"{settle}, sha256 = :sha WHERE id = :id", {"sha": "0" * 64}),
                        (f"{settle}, length = 5 WHERE id = :id", {}),
                        (f"{settle}, client_ref = 'c-2' WHERE id = :id", {}),
                        (f"{settle}, sent_at = on_air_at WHERE id = :id", {}),
                        ("UPDATE uplink_frame SET not_sent_reason = 'x', payload = :payload WHERE id = :id",
                         {"payload": b"PONG"}),
                        ("UPDATE uplink_frame SET payload = :payload WHERE id = :id", {"payload": b"PONG"}),
                        (f"{settle}, not_sent_reason = 'both' WHERE id = :id", {}),
                        ("DELETE FROM uplink_frame WHERE id = :id", {})):
        refused_by_the_database(factory, sql, id=frame_id, **values)
    assert frame_row(factory, frame_id) == before  # still queued, as sent
    with session_scope(factory) as session:  # the plain settle goes through
        session.execute(text(f"{settle} WHERE id = :id"), {"id": frame_id})
    assert frame_row(factory, frame_id)[:4] == before[:4]
    assert frame_row(factory, frame_id)[4] == T0 + MINUTE
    refused_by_the_database(factory, "DELETE FROM uplink_frame WHERE id = :id", id=frame_id)


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
        with pytest.raises(PolicyError, match=r"^after LOS: .* nothing is transmitted after LOS"):
            check_contact_uplink(session, contact, at=T0 + 20 * MINUTE)
        with pytest.raises(PolicyError, match=r"^after LOS"):
            check_contact_uplink(session, contact, at=T0 + 10 * MINUTE)  # LOS itself: the window is [AOS, LOS)
        with pytest.raises(PolicyError, match=r"^before AOS: .* nothing is transmitted before AOS"):
            check_contact_uplink(session, contact, at=T0 - timedelta(microseconds=1))
        check_contact_uplink(session, contact, at=T0)
        listening = book_contact(session, rules=UNCHECKED, antenna_id=shared.slow_antenna_id,
                                 satellite_id=shared.satellite_id, org_id=shared.partner_id, start=T0,
                                 end=T0 + 10 * MINUTE)
        with pytest.raises(PolicyError, match="receive-only"):
            check_contact_uplink(session, listening, at=T0 + MINUTE)
        assert session.get(Antenna, shared.antenna_id) is not None
