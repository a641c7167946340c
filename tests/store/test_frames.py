"""Frames kept once network-wide (``store.frames``), on SQLite and PostgreSQL.

The world: KASA's station daejeon-1 and AEM's station puebla-1 each have a contact with
AEM's satellite NEXUS over the same ten minutes; a third organisation owns nothing of it.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from groundshare.errors import InvalidInputError
from groundshare.store import (
    Antenna,
    Band,
    Contact,
    Frame,
    IncomingFrame,
    Organisation,
    OrgKind,
    Reception,
    Satellite,
    SharingPolicy,
    Station,
    frame_page,
    ingest_frames,
    newest_frame_id,
    run_unit_of_work,
    session_scope,
    telemetry_series,
)
from groundshare.store.frames import MAX_FRAME_BYTES, MAX_FRAMES_PER_BATCH
from tests.support.databases import postgresql_only
from tests.support.worlds import Network

AOS = datetime(2025, 11, 7, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    kasa_id: int
    aem_id: int
    uni_id: int
    satellite_id: int  # NEXUS, AEM's, public
    kasa_contact_id: int  # through daejeon-1 (KASA's)
    aem_contact_id: int  # through puebla-1 (AEM's)
    aem_antenna_id: int


@pytest.fixture
def world(factory: sessionmaker[Session], network: Network) -> World:
    with session_scope(factory) as session:
        uni = Organisation(name="Seoul National University", kind=OrgKind.UNIVERSITY)
        station = Station(org_id=network.partner_id, name="puebla-1", lat_deg=19.0, lon_deg=-98.2, alt_m=2100.0)
        session.add_all([uni, station])
        session.flush()
        antenna = Antenna(station_id=station.id, name="uhf", band=Band.UHF)
        session.add(antenna)
        session.flush()
        contacts = [Contact(antenna_id=antenna_id, satellite_id=network.satellite_id, org_id=network.partner_id,
                            start_time=AOS, end_time=AOS + timedelta(minutes=10),
                            busy_until=AOS + timedelta(minutes=10))
                    for antenna_id in (network.antenna_id, antenna.id)]
        session.add_all(contacts)
        session.flush()
        return World(network.org_id, network.partner_id, uni.id, network.satellite_id, contacts[0].id,
                     contacts[1].id, antenna.id)


def frames_at(*offsets_s: float, payload: bytes | None = None) -> list[IncomingFrame]:
    return [IncomingFrame(AOS + timedelta(seconds=s), payload if payload is not None else f"frame {s}".encode())
            for s in offsets_s]


def ingest(factory: sessionmaker[Session], contact_id: int, frames: list[IncomingFrame], **kwargs: Any):
    def work(session: Session):
        return ingest_frames(session, session.get(Contact, contact_id), frames, **kwargs)

    return run_unit_of_work(factory, work)


def counts(factory: sessionmaker[Session]) -> tuple[int, int]:
    with session_scope(factory, write=False) as session:
        return (session.scalar(select(func.count()).select_from(Frame)),
                session.scalar(select(func.count()).select_from(Reception)))


def page(factory: sessionmaker[Session], org_id: int, **kwargs: Any):
    with session_scope(factory, write=False) as session:
        return frame_page(session, session.get(Organisation, org_id), **kwargs)


def test_a_batch_stores_each_frame_with_its_reception(factory, world):
    result = ingest(factory, world.kasa_contact_id, frames_at(10, 20, 30))
    assert (result.accepted, result.new, result.duplicates, result.outside_window) == (3, 3, 0, 0)
    assert len(result.new_frame_ids) == 3 and list(result.new_frame_ids) == sorted(result.new_frame_ids)
    assert counts(factory) == (3, 3)
    with session_scope(factory, write=False) as session:
        frame = session.get(Frame, result.new_frame_ids[0])
        assert (frame.payload, frame.size_bytes, frame.received_at) == (b"frame 10", 8, AOS + timedelta(seconds=10))
        assert frame.sha256 == hashlib.sha256(b"frame 10").hexdigest()
        assert frame.decoded is None and frame.decode_error is None
        assert newest_frame_id(session) == result.new_frame_ids[-1]


def test_a_replayed_batch_changes_nothing(factory, world):
    first = ingest(factory, world.kasa_contact_id, frames_at(10, 20))
    again = ingest(factory, world.kasa_contact_id, frames_at(10, 20))
    assert (again.accepted, again.new, again.duplicates, again.new_frame_ids) == (2, 0, 2, ())
    assert counts(factory) == (2, 2)
    assert [view.id for view in page(factory, world.aem_id)] == list(first.new_frame_ids)


def test_two_stations_hearing_one_frame_give_one_frame_with_two_receptions(factory, world):
    ingest(factory, world.kasa_contact_id, frames_at(10, payload=b"\x8a\xa6beacon"))
    # Puebla's clock is 1.5 s behind: still the same frame, whose first reception moves earlier.
    second = ingest(factory, world.aem_contact_id, frames_at(8.5, payload=b"\x8a\xa6beacon"))
    assert (second.new, second.duplicates) == (0, 1)
    assert counts(factory) == (1, 2)
    (view,) = page(factory, world.aem_id)
    assert view.stations == ("puebla-1",)  # AEM sees its own station; daejeon-1 is not shared with it
    assert view.received_at == AOS + timedelta(seconds=8.5)
    (view,) = page(factory, world.kasa_id)
    assert view.stations == ("daejeon-1",)


def test_the_same_payload_outside_the_window_is_another_frame(factory, world):
    result = ingest(factory, world.kasa_contact_id, frames_at(10, 15.5, 15.0, payload=b"beacon"))
    # 15.5 s is 5.5 s from the first: a new frame; 15.0 s is 5 s from the first, 0.5 s from the second: the closer.
    assert (result.new, result.duplicates) == (2, 1)
    assert counts(factory) == (2, 2)
    narrow = ingest(factory, world.aem_contact_id, frames_at(11, payload=b"beacon"), window_s=0.5)
    assert narrow.new == 1


def test_frames_stamped_outside_the_contact_are_kept_and_flagged(factory, world):
    result = ingest(factory, world.kasa_contact_id, frames_at(-61, -60, 660, 661))
    assert (result.accepted, result.new, result.outside_window) == (4, 4, 2)
    flags = {view.received_at: view.outside_window for view in page(factory, world.kasa_id)}
    assert flags == {AOS - timedelta(seconds=61): True, AOS - timedelta(seconds=60): False,
                     AOS + timedelta(seconds=660): False, AOS + timedelta(seconds=661): True}


@pytest.mark.parametrize(("frames", "loc", "message"), [
    ([IncomingFrame(AOS, b"ok"), IncomingFrame(AOS, b"")], ("frames", "1", "payload_hex"), "1 to 4096 bytes, got 0"),
    ([IncomingFrame(AOS, b"ok"), IncomingFrame(AOS, bytes(MAX_FRAME_BYTES + 1))], ("frames", "1", "payload_hex"),
     "got 4097"),
    ([IncomingFrame(AOS, b"ok"), IncomingFrame(datetime(2025, 11, 7, 10, 0), b"x")],  # naive: refused
     ("frames", "1", "received_at"), "has no timezone"),
    ([IncomingFrame(AOS, "text")], ("frames", "0", "payload_hex"), "must be bytes"),  # type: ignore[arg-type]
    (frames_at(*range(MAX_FRAMES_PER_BATCH + 1)), ("frames",), "at most 1000 frames, got 1001"),
])
def test_a_batch_with_one_bad_frame_stores_nothing(factory, world, frames, loc, message):
    with pytest.raises(InvalidInputError, match=message) as caught:
        ingest(factory, world.kasa_contact_id, frames)
    assert caught.value.loc == loc
    assert counts(factory) == (0, 0)


def test_a_window_out_of_range_is_refused(factory, world):
    with pytest.raises(InvalidInputError, match="window_s must be from 0 to 600"):
        ingest(factory, world.kasa_contact_id, frames_at(1), window_s=-1.0)


@dataclass(frozen=True)
class Decoded:
    fields: dict[str, Any]
    decoder: str
    version: str
    error: str | None = None


def fake_decoder(calls: list[bytes]):
    def decode(payload: bytes) -> Decoded:
        calls.append(payload)
        if payload.startswith(b"bad"):
            return Decoded({}, "painani", "1.0", "unexpected end of stream at byte 3")
        if payload.startswith(b"boom"):
            raise RuntimeError("kaitai exploded")
        return Decoded({"batt.voltage": int(payload[-1]), "mode": "nominal"}, "painani", "1.0")

    return decode


def test_new_frames_are_decoded_once_and_failures_keep_the_raw_frame(factory, world):
    calls: list[bytes] = []
    decode = fake_decoder(calls)
    ingest(factory, world.kasa_contact_id, frames_at(1, payload=b"ok\x07"), decode=decode)
    ingest(factory, world.aem_contact_id, frames_at(1.2, payload=b"ok\x07"), decode=decode)  # a duplicate
    ingest(factory, world.kasa_contact_id, [IncomingFrame(AOS + timedelta(seconds=20), b"bad frame"),
                                            IncomingFrame(AOS + timedelta(seconds=30), b"boom")], decode=decode)
    assert calls == [b"ok\x07", b"bad frame", b"boom"]
    views = page(factory, world.aem_id)
    assert [(v.decoded, v.decoder, v.decode_error) for v in views] == [
        ({"batt.voltage": 7, "mode": "nominal"}, "painani", None),
        (None, "painani", "unexpected end of stream at byte 3"),
        (None, None, "the decoder failed: RuntimeError: kaitai exploded"),
    ]
    assert views[1].payload == b"bad frame"


def private_satellite(factory: sessionmaker[Session], world: World) -> None:
    with session_scope(factory) as session:
        session.get(Satellite, world.satellite_id).is_public = False


def test_who_sees_which_frames(factory, world):
    ingest(factory, world.kasa_contact_id, frames_at(1, 2))
    ingest(factory, world.aem_contact_id, frames_at(2, 3))
    assert len(page(factory, world.uni_id)) == 3  # NEXUS is public
    private_satellite(factory, world)
    assert len(page(factory, world.aem_id)) == 3  # its operator: all
    assert [v.received_at for v in page(factory, world.kasa_id)] == [AOS + timedelta(seconds=s) for s in (1, 2)]
    assert page(factory, world.uni_id) == []  # foreign
    # A station shared with an organisation shows its name there.
    with session_scope(factory) as session:
        session.add(SharingPolicy(owner_org_id=world.aem_id, grantee_org_id=world.kasa_id,
                                  antenna_id=world.aem_antenna_id))
    assert [v.stations for v in page(factory, world.kasa_id)] == [("daejeon-1",), ("daejeon-1", "puebla-1")]


def test_pages_follow_the_cursor_and_filters(factory, world):
    ids = ingest(factory, world.kasa_contact_id, frames_at(*range(0, 50, 2))).new_frame_ids
    ingest(factory, world.aem_contact_id, frames_at(100, 101))
    first = page(factory, world.aem_id, satellite_id=world.satellite_id, limit=10)
    rest = page(factory, world.aem_id, satellite_id=world.satellite_id, after_id=first[-1].id, limit=1000)
    assert [v.id for v in first + rest] == sorted(v.id for v in first + rest) and len(first + rest) == 27
    assert {v.norad_id for v in first} == {49263}
    assert [v.id for v in page(factory, world.aem_id, contact_id=world.kasa_contact_id, limit=1000)] == list(ids)
    window = page(factory, world.aem_id, start=AOS + timedelta(seconds=10), end=AOS + timedelta(seconds=20))
    assert [v.received_at for v in window] == [AOS + timedelta(seconds=s) for s in range(10, 20, 2)]
    assert page(factory, world.aem_id, satellite_id=world.satellite_id + 99) == []
    for kwargs, loc in [({"limit": 0}, ("limit",)), ({"limit": 1001}, ("limit",)), ({"after_id": -1}, ("after_id",)),
                        ({"start": AOS, "end": AOS}, ("end",))]:
        with pytest.raises(InvalidInputError) as caught:
            page(factory, world.aem_id, **kwargs)
        assert caught.value.loc == loc


def test_telemetry_series_gives_one_field_in_time_order(factory, world):
    decode = fake_decoder([])
    ingest(factory, world.kasa_contact_id, [IncomingFrame(AOS + timedelta(seconds=30), b"ok\x03"),
                                            IncomingFrame(AOS + timedelta(seconds=10), b"ok\x01"),
                                            IncomingFrame(AOS + timedelta(seconds=20), b"bad"),
                                            IncomingFrame(AOS + timedelta(seconds=40), b"ok\x04")], decode=decode)
    with session_scope(factory, write=False) as session:
        aem = session.get(Organisation, world.aem_id)
        series = telemetry_series(session, aem, world.satellite_id, "batt.voltage")
        assert series == [(AOS + timedelta(seconds=10), 1), (AOS + timedelta(seconds=30), 3),
                          (AOS + timedelta(seconds=40), 4)]
        assert telemetry_series(session, aem, world.satellite_id, "batt.voltage", start=AOS + timedelta(seconds=15),
                                end=AOS + timedelta(seconds=40), limit=5) == [(AOS + timedelta(seconds=30), 3)]
        assert telemetry_series(session, aem, world.satellite_id, "batt.voltage", limit=1) == series[:1]
        assert telemetry_series(session, aem, world.satellite_id, "no.such.field") == []
        with pytest.raises(InvalidInputError) as caught:
            telemetry_series(session, aem, world.satellite_id, "")
        assert caught.value.loc == ("field",)
    private_satellite(factory, world)
    with session_scope(factory, write=False) as session:
        assert telemetry_series(session, session.get(Organisation, world.uni_id), world.satellite_id,
                                "batt.voltage") == []


@postgresql_only
def test_two_stations_ingesting_the_same_frames_at_once_give_one_frame_each(factory, world):
    """Real concurrent units of work: the satellite's lock makes the second batch see the first's frames."""
    rounds, size = 5, 100
    errors: list[BaseException] = []
    results: dict[int, list[Any]] = {world.kasa_contact_id: [], world.aem_contact_id: []}
    for round_ in range(rounds):
        barrier = threading.Barrier(2, timeout=10)
        batch = [IncomingFrame(AOS + timedelta(seconds=round_ * 60 + i * 0.5), f"r{round_} f{i}".encode())
                 for i in range(size)]

        def upload(contact_id: int, batch: list[IncomingFrame] = batch, barrier: threading.Barrier = barrier) -> None:
            def work(session: Session):
                contact = session.get(Contact, contact_id)
                barrier.wait()
                return ingest_frames(session, contact, batch)

            try:
                results[contact_id].append(run_unit_of_work(factory, work))
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=upload, args=(contact_id,)) for contact_id in results]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert counts(factory) == (rounds * size, 2 * rounds * size)
    for first, second in zip(*results.values(), strict=True):
        assert sorted((first.new, second.new)) == [0, size]
        assert first.duplicates + second.duplicates == size


def test_the_outcome_records_the_frames_the_agent_received(factory, world):
    from groundshare.errors import ConflictError
    from groundshare.store import report_outcome

    with session_scope(factory) as session:
        contact = report_outcome(session, world.kasa_contact_id, status="completed", bytes_received=660,
                                 frames_received=3)
        assert contact.frames_received == 3
    with session_scope(factory) as session:  # the same report again: unchanged
        assert report_outcome(session, world.kasa_contact_id, status="completed", bytes_received=660,
                              frames_received=3).frames_received == 3
    with pytest.raises(ConflictError, match=r"frames_received 3 \(reported: 4\)"), session_scope(factory) as session:
        report_outcome(session, world.kasa_contact_id, status="completed", bytes_received=660, frames_received=4)
    with pytest.raises(InvalidInputError) as caught, session_scope(factory) as session:
        report_outcome(session, world.aem_contact_id, status="completed", bytes_received=0, frames_received=-1)
    assert caught.value.loc == ("frames_received",)
    with session_scope(factory) as session:
        assert report_outcome(session, world.aem_contact_id, status="failed",
                              bytes_received=0).frames_received is None
