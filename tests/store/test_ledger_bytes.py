"""The ledger's data section: unique frame bytes and artifact bytes per antenna owner and satellite operator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from groundshare.store import (
    Antenna,
    Artifact,
    Band,
    Contact,
    DataRole,
    IncomingFrame,
    Station,
    compute_ledger,
    ingest_frames,
    session_scope,
)
from tests.support.worlds import Network

DAY1 = datetime(2025, 11, 7, 10, 0, tzinfo=UTC)  # a Friday
DAY2 = DAY1 + timedelta(days=1)  # the Saturday of the same ISO week


@pytest.fixture
def delivered(factory: sessionmaker[Session], network: Network) -> Network:
    """KASA's daejeon-1 and daejeon-2 and AEM's puebla-1 heard AEM's NEXUS; two artifacts were uploaded.

    Day 1: frame A (10 bytes) by all three stations, frame B (20 bytes) by daejeon-1 only;
    day 2: frame C (30 bytes) by puebla-1 only.  Artifacts: 1,000 bytes on daejeon-1's
    contact, 500 on puebla-1's (day 1).
    """
    with session_scope(factory) as session:
        stations = [Station(org_id=network.org_id, name="daejeon-2", lat_deg=36.4, lon_deg=127.4),
                    Station(org_id=network.partner_id, name="puebla-1", lat_deg=19.0, lon_deg=-98.2)]
        session.add_all(stations)
        session.flush()
        antennas = [Antenna(station_id=station.id, name="uhf", band=Band.UHF) for station in stations]
        session.add_all(antennas)
        session.flush()

        def contact(antenna_id: int, start: datetime) -> Contact:
            row = Contact(antenna_id=antenna_id, satellite_id=network.satellite_id, org_id=network.partner_id,
                          start_time=start, end_time=start + timedelta(minutes=10),
                          busy_until=start + timedelta(minutes=10))
            session.add(row)
            session.flush()
            return row

        daejeon_1, daejeon_2, puebla_1 = (contact(network.antenna_id, DAY1), contact(antennas[0].id, DAY1),
                                          contact(antennas[1].id, DAY1))
        puebla_day2 = contact(antennas[1].id, DAY2)
        frame_a, frame_b = IncomingFrame(DAY1 + timedelta(seconds=5), b"A" * 10), IncomingFrame(
            DAY1 + timedelta(seconds=9), b"B" * 20)
        ingest_frames(session, daejeon_1, [frame_a, frame_b])
        ingest_frames(session, daejeon_2, [frame_a])
        ingest_frames(session, puebla_1, [frame_a])
        ingest_frames(session, puebla_day2, [IncomingFrame(DAY2 + timedelta(seconds=1), b"C" * 30)])
        session.add_all([Artifact(contact_id=daejeon_1.id, name="pass.wav", sha256="a" * 64, size_bytes=1000,
                                  storage_key="x"),
                         Artifact(contact_id=puebla_1.id, name="pass.wav", sha256="b" * 64, size_bytes=500,
                                  storage_key="y")])
    return network


def data(factory: sessionmaker[Session], period: str, org_id: int | None = None):
    with session_scope(factory, write=False) as session:
        ledger = compute_ledger(session, start=DAY1 - timedelta(days=1), end=DAY2 + timedelta(days=1), period=period,
                                org_id=org_id)
    return [(row.period_start.date().isoformat(), row.org_name[:4], row.role.value, row.frames, row.frame_bytes,
             row.artifacts, row.artifact_bytes) for row in ledger.data]


def test_each_frame_counts_once_per_owner_and_once_for_its_operator(factory, delivered):
    assert data(factory, "day") == [
        ("2025-11-07", "Agen", "antenna_owner", 1, 10, 1, 500),  # AEM's puebla-1: frame A, its artifact
        ("2025-11-07", "Agen", "satellite_operator", 2, 30, 2, 1500),  # NEXUS: frames A and B, both artifacts
        ("2025-11-07", "Kore", "antenna_owner", 2, 30, 1, 1000),  # KASA: A once (two stations heard it) and B
        ("2025-11-08", "Agen", "antenna_owner", 1, 30, 0, 0),
        ("2025-11-08", "Agen", "satellite_operator", 1, 30, 0, 0),
    ]


def test_periods_add_up_the_days_and_an_organisation_sees_its_own_rows(factory, delivered):
    assert data(factory, "week") == [
        ("2025-11-03", "Agen", "antenna_owner", 2, 40, 1, 500),
        ("2025-11-03", "Agen", "satellite_operator", 3, 60, 2, 1500),
        ("2025-11-03", "Kore", "antenna_owner", 2, 30, 1, 1000),
    ]
    assert data(factory, "month", org_id=delivered.org_id) == [("2025-11-01", "Kore", "antenna_owner", 2, 30, 1, 1000)]


def test_a_ledger_without_frames_has_no_data_rows(factory, network):
    assert data(factory, "day") == []
    assert DataRole("satellite_operator") is DataRole.SATELLITE_OPERATOR
