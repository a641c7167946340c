"""Alembic migrations: an empty SQLite file or PostgreSQL database upgraded to head.

Each test gets its own database (a file in ``tmp_path``, or a PostgreSQL database made
for the test by ``postgres_database``), so upgrades start from nothing.  The reference
schema is ``Base.metadata`` itself, and a second database made by ``init_db`` from it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, column, inspect, table, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from groundshare.errors import InvalidInputError
from groundshare.store import (
    OVERLAP_GUARD,
    Base,
    Contact,
    ElementSetRecord,
    Satellite,
    StoreSetupError,
    acquire_lease,
    create_engine_for,
    init_db,
    make_session_factory,
    session_scope,
)
from groundshare.store.guards import has_guards
from groundshare.store.migrate import current, head, upgrade
from tests.support.databases import empty_database_url
from tests.support.worlds import make_network


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path) -> Iterator[str]:
    """The URL of an empty database of each backend, made for this test alone."""
    with empty_database_url(request.param, tmp_path, "migrate") as url:
        yield url


@pytest.fixture
def reference_url(empty_url: str, tmp_path) -> Iterator[str]:
    """Another empty database of the same backend, for ``init_db`` (tables straight from the models)."""
    with empty_database_url("sqlite" if empty_url.startswith("sqlite") else "postgresql", tmp_path,
                            "reference") as url:
        yield url


def schema(engine: Engine) -> dict[str, Any]:
    """Return every table's columns, keys, indexes and constraints as the database reports them."""
    inspector = inspect(engine)
    tables = {}
    for name in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
        tables[name] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)],
            "primary_key": inspector.get_pk_constraint(name),
            "foreign_keys": sorted((fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"],
                                    fk["options"].get("ondelete")) for fk in inspector.get_foreign_keys(name)),
            "indexes": sorted((ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                              for ix in inspector.get_indexes(name)),
            "unique": sorted((uq["name"], tuple(uq["column_names"])) for uq in inspector.get_unique_constraints(name)),
            "checks": sorted(ck["name"] for ck in inspector.get_check_constraints(name)),
        }
    return tables


@pytest.fixture
def migrated(empty_url: str) -> Iterator[Engine]:
    """An engine on ``empty_url`` after ``upgrade``."""
    assert upgrade(empty_url) == head()
    engine = create_engine_for(empty_url)
    yield engine
    engine.dispose()


def test_upgrade_creates_the_tables_and_columns_of_the_models(migrated: Engine) -> None:
    inspector = inspect(migrated)
    assert set(inspector.get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
    for name, model_table in Base.metadata.tables.items():
        columns = {c["name"]: c["nullable"] for c in inspector.get_columns(name)}
        assert columns == {c.name: c.nullable for c in model_table.columns}, name


def test_upgrade_gives_the_schema_of_init_db(migrated: Engine, reference_url: str) -> None:
    reference = create_engine_for(reference_url)
    try:
        init_db(reference)
        assert schema(migrated) == schema(reference)
    finally:
        reference.dispose()


def test_alembic_sees_no_difference_from_the_models(migrated: Engine) -> None:
    with migrated.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_the_guard_refuses_an_overlapping_contact_after_upgrade(migrated: Engine) -> None:
    factory = make_session_factory(migrated)
    network = make_network(factory)
    with migrated.connect() as connection:
        assert has_guards(connection)
    start = datetime(2025, 11, 7, 10, 0, tzinfo=UTC)

    def contact(offset_s: float) -> Contact:
        begin = start + timedelta(seconds=offset_s)
        return Contact(antenna_id=network.antenna_id, satellite_id=network.satellite_id, org_id=network.org_id,
                       start_time=begin, end_time=begin + timedelta(minutes=10),
                       busy_until=begin + timedelta(minutes=10))

    with session_scope(factory) as session:
        session.add(contact(0.0))
    # Straight to the database, past booking.book_contact's own check: only the guard stands in the way.
    with pytest.raises(DBAPIError, match=OVERLAP_GUARD), session_scope(factory) as session:
        session.add(contact(300.0))
        session.flush()
    with session_scope(factory) as session:
        session.add(contact(600.0))  # touching end to start is not an overlap
        assert session.query(Contact).count() == 2


def test_upgrading_twice_changes_nothing(empty_url: str, migrated: Engine) -> None:
    before = schema(migrated)
    assert upgrade(empty_url) == head()
    assert current(empty_url) == head()
    assert schema(migrated) == before


def test_an_empty_database_has_no_revision(empty_url: str) -> None:
    assert current(empty_url) is None


def test_upgrade_adopts_a_database_made_by_init_db(empty_url: str) -> None:
    engine = create_engine_for(empty_url)
    try:
        init_db(engine)
        before = schema(engine)
        assert upgrade(empty_url) == head()
        assert schema(engine) == before
        with engine.connect() as connection:
            assert has_guards(connection)
    finally:
        engine.dispose()


def test_a_malformed_url_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="'not a url' is not a database URL"):
        upgrade("not a url")


def test_an_unreachable_server_is_a_setup_error() -> None:
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    with pytest.raises(StoreSetupError, match=r"could not use the database postgresql\+psycopg://nobody@127.0.0.1:1/x"):
        upgrade("postgresql://nobody@127.0.0.1:1/x")


@pytest.mark.slow
def test_concurrent_upgrades_of_one_database_all_succeed(empty_url: str) -> None:
    # Servers started together each migrate on start: they must queue, not trip over each other.
    # Separate processes, as servers are (Alembic's context is one per process).
    command = [sys.executable, "-m", "groundshare.cli", "db", "upgrade", "--database-url", empty_url]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in processes]
    assert [code for code, _ in results] == [0] * 4, results
    assert current(empty_url) == head()


def upgrade_to(engine: Any, revision: str) -> None:
    """Upgrade the database of ``engine`` to ``revision`` in one connection, committed."""
    from alembic import command

    from groundshare.store.migrate import alembic_config

    with engine.connect() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def test_upgrade_from_0002_keeps_the_data(empty_url: str) -> None:
    """A database at 0002 with a satellite and a reported contact: 0003 adds the columns and the lease table."""


    engine = create_engine_for(empty_url)
    try:
        upgrade_to(engine, "0002")
        assert current(empty_url) == "0002"
        assert "agent_lease" not in inspect(engine).get_table_names()
        start = datetime(2025, 11, 7, 10, 0, tzinfo=UTC)
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO organisation (id, name, kind, created_at) VALUES "
                                       "(1, 'KASA', 'agency', '2025-11-01 00:00:00+00:00')")
            connection.exec_driver_sql(
                "INSERT INTO station (id, org_id, name, lat_deg, lon_deg, alt_m, min_elevation_deg, created_at) "
                "VALUES (1, 1, 'daejeon-1', 36.4, 127.4, 80, 5, '2025-11-01 00:00:00+00:00')")
            connection.exec_driver_sql(
                "INSERT INTO antenna (id, station_id, name, band, setup_s, turnaround_s, created_at) "
                "VALUES (1, 1, 'uhf', 'uhf', 30, 0, '2025-11-01 00:00:00+00:00')")
            connection.exec_driver_sql(
                "INSERT INTO satellite (id, org_id, norad_id, name, is_public, created_at, downlink_frequency_hz) "
                "VALUES (1, 1, 49263, 'NEXUS', true, '2025-11-01 00:00:00+00:00', 437.1e6)")
            # An element set: 0004 rebuilds the satellite table on SQLite, which must not cascade into it.
            connection.exec_driver_sql(
                "INSERT INTO element_set (id, satellite_id, epoch, format, text, source, created_at) VALUES "
                "(1, 1, '2025-11-06 00:00:00.000000', 'tle', 'NEXUS', 'upload', '2025-11-06 00:00:00.000000')")
        factory = make_session_factory(engine)
        # The contact table as it was at 0002 (no execution, no uplink), so no later column's default is sent.
        at_0002 = table("contact", *[column(c.name, c.type) for c in Contact.__table__.columns
                                     if c.name not in ("execution", "uplink")])
        with session_scope(factory) as session:
            session.execute(at_0002.insert().values(
                id=1, antenna_id=1, satellite_id=1, org_id=1, start_time=start,
                end_time=start + timedelta(minutes=10), busy_until=start + timedelta(minutes=10), status="completed",
                snapshot={"station": {"id": 1}}, bytes_received=4096, notes="ok", created_at=start,
                finished_at=start + timedelta(minutes=10)))
        assert upgrade(empty_url) == head()
        assert current(empty_url) == head()
        with factory() as session:
            contact = session.get(Contact, 1)
            assert (contact.status.value, contact.bytes_received, contact.notes) == ("completed", 4096, "ok")
            assert contact.snapshot == {"station": {"id": 1}} and contact.execution is None
            assert contact.finished_at == start + timedelta(minutes=10)
            assert contact.uplink is False  # every contact before 0004 is receive-only
            satellite = session.get(Satellite, 1)
            assert (satellite.downlink_frequency_hz, satellite.uplink_frequency_hz) == (437.1e6, None)
            assert satellite.uplink_org_ids == []
            assert session.get(ElementSetRecord, 1).text == "NEXUS"
        with session_scope(factory) as session:
            assert acquire_lease(session, 1, "host/1", now=start).expires_at == start + timedelta(seconds=60)
        with engine.connect() as connection:
            assert has_guards(connection)
    finally:
        engine.dispose()


def test_upgrade_to_0005_renames_the_antennas_g_over_t_keeping_its_values(empty_url: str) -> None:

    from groundshare.store import Antenna

    engine = create_engine_for(empty_url)
    try:
        upgrade_to(engine, "0004")
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO organisation (id, name, kind, created_at) VALUES "
                                       "(1, 'KASA', 'agency', '2025-11-01 00:00:00+00:00')")
            connection.exec_driver_sql(
                "INSERT INTO station (id, org_id, name, lat_deg, lon_deg, alt_m, min_elevation_deg, created_at) "
                "VALUES (1, 1, 'daejeon-1', 36.4, 127.4, 80, 5, '2025-11-01 00:00:00+00:00')")
            connection.exec_driver_sql(
                "INSERT INTO antenna (id, station_id, name, band, setup_s, turnaround_s, created_at, g_over_t_db_k) "
                "VALUES (1, 1, 'uhf', 'uhf', 30, 0, '2025-11-01 00:00:00+00:00', 12.5)")
        assert upgrade(empty_url) == head()
        with make_session_factory(engine)() as session:
            assert session.get(Antenna, 1).g_over_t_dbk == 12.5
        with engine.connect() as connection:
            assert has_guards(connection)
    finally:
        engine.dispose()


def test_upgrade_to_0006_adds_frames_and_artifacts_keeping_the_contacts(empty_url: str) -> None:

    from groundshare.store import Frame, IncomingFrame, ingest_frames

    engine = create_engine_for(empty_url)
    try:
        upgrade_to(engine, "0005")
        assert "frame" not in inspect(engine).get_table_names()
        start = datetime(2025, 11, 7, 10, 0, tzinfo=UTC)
        with engine.begin() as connection:
            for sql in (
                "INSERT INTO organisation (id, name, kind, created_at) VALUES (1, 'KASA', 'agency', "
                "'2025-11-01 00:00:00+00:00')",
                "INSERT INTO station (id, org_id, name, lat_deg, lon_deg, alt_m, min_elevation_deg, created_at) "
                "VALUES (1, 1, 'daejeon-1', 36.4, 127.4, 80, 5, '2025-11-01 00:00:00+00:00')",
                "INSERT INTO antenna (id, station_id, name, band, setup_s, turnaround_s, created_at) "
                "VALUES (1, 1, 'uhf', 'uhf', 30, 0, '2025-11-01 00:00:00+00:00')",
                "INSERT INTO satellite (id, org_id, norad_id, name, is_public, created_at) "
                "VALUES (1, 1, 49263, 'NEXUS', true, '2025-11-01 00:00:00+00:00')",
            ):
                connection.exec_driver_sql(sql)
        # The contact table as it was at 0005 (no frames_received), so the new column's value is not sent.
        at_0005 = table("contact", *[column(c.name, c.type) for c in Contact.__table__.columns
                                     if c.name != "frames_received"])
        with session_scope(make_session_factory(engine)) as session:
            session.execute(at_0005.insert().values(
                id=1, antenna_id=1, satellite_id=1, org_id=1, start_time=start, end_time=start + timedelta(minutes=10),
                busy_until=start + timedelta(minutes=10), status="completed", snapshot={}, bytes_received=4096,
                notes="ok", created_at=start, uplink=False))
        assert upgrade(empty_url) == head()
        factory = make_session_factory(engine)
        with session_scope(factory) as session:
            contact = session.get(Contact, 1)
            assert (contact.bytes_received, contact.frames_received) == (4096, None)
            assert session.get(Satellite, 1).decoder is None
            result = ingest_frames(session, contact, [IncomingFrame(start, b"\x8a\xa6 beacon")])
            assert session.get(Frame, result.new_frame_ids[0]).size_bytes == 9
        with engine.connect() as connection:
            assert has_guards(connection)
    finally:
        engine.dispose()


def test_upgrade_to_0007_gives_each_satellite_its_sources_keeping_the_orbit_in_force(empty_url: str) -> None:

    from groundshare.store import ElementSource, orbit_in_force

    engine = create_engine_for(empty_url)
    try:
        upgrade_to(engine, "0006")
        assert "element_source" not in inspect(engine).get_table_names()
        with engine.begin() as connection:
            for sql in (
                "INSERT INTO organisation (id, name, kind, created_at) VALUES (1, 'KASA', 'agency', "
                "'2025-11-01 00:00:00+00:00')",
                "INSERT INTO satellite (id, org_id, norad_id, name, is_public, created_at) "
                "VALUES (1, 1, 49263, 'NEXUS', true, '2025-11-01 00:00:00+00:00')",
                "INSERT INTO satellite (id, org_id, norad_id, name, is_public, created_at) "
                "VALUES (2, 1, 100123, 'SIX', false, '2025-11-01 00:00:00+00:00')",
            ):
                connection.exec_driver_sql(sql)
        # The element_set table as it was at 0006 (no source_id, fetched_at).
        at_0006 = table("element_set", *[column(c.name, c.type) for c in ElementSetRecord.__table__.columns
                                         if c.name not in ("source_id", "fetched_at")])
        created = datetime(2025, 11, 6, 1, 0, tzinfo=UTC)
        with session_scope(make_session_factory(engine)) as session:
            for record_id, day in ((1, 5), (2, 6)):
                session.execute(at_0006.insert().values(
                    id=record_id, satellite_id=1, epoch=datetime(2025, 11, day, tzinfo=UTC), format="tle",
                    text="NEXUS", source="api upload", created_at=created))
        assert upgrade(empty_url) == head()
        factory = make_session_factory(engine)
        with session_scope(factory) as session:
            sources = session.query(ElementSource).order_by(ElementSource.satellite_id, ElementSource.id).all()
            assert [(s.satellite_id, s.kind.value, s.query_kind and s.query_kind.value, s.query_value, s.priority,
                     s.enabled) for s in sources] == [
                (1, "upload", None, None, 100, True), (1, "celestrak", "catnr", "49263", 50, True),
                (2, "upload", None, None, 100, True), (2, "celestrak", "catnr", "100123", 50, True)]
            records = session.query(ElementSetRecord).order_by(ElementSetRecord.id).all()
            assert [(r.source_id, r.fetched_at) for r in records] == [(sources[0].id, created)] * 2
            in_force = orbit_in_force(session, 1, now=datetime(2025, 11, 7, tzinfo=UTC))
            assert (in_force.record.id, in_force.source_kind) == (2, "upload")
            assert orbit_in_force(session, 2, now=datetime(2025, 11, 7, tzinfo=UTC)) is None
        with engine.connect() as connection:
            assert has_guards(connection)
    finally:
        engine.dispose()


def test_upgrade_to_0008_gives_requests_their_console_columns_keeping_them(empty_url: str) -> None:

    from groundshare.store import ContactRequest

    engine = create_engine_for(empty_url)
    try:
        upgrade_to(engine, "0007")
        assert "contacts_per_day" not in {c["name"] for c in inspect(engine).get_columns("contact_request")}
        with engine.begin() as connection:
            for sql in (
                "INSERT INTO organisation (id, name, kind, created_at) VALUES (1, 'KASA', 'agency', "
                "'2025-11-01 00:00:00+00:00')",
                "INSERT INTO satellite (id, org_id, norad_id, name, is_public, created_at) "
                "VALUES (1, 1, 49263, 'NEXUS', true, '2025-11-01 00:00:00+00:00')",
            ):
                connection.exec_driver_sql(sql)
        at_0007 = table("contact_request", *[column(c.name, c.type) for c in ContactRequest.__table__.columns
                                             if c.name not in ("contacts_per_day", "planned_at", "last_reasons")])
        start = datetime(2025, 11, 7, tzinfo=UTC)
        with session_scope(make_session_factory(engine)) as session:
            session.execute(at_0007.insert().values(
                id=1, org_id=1, satellite_id=1, window_start=start, window_end=start + timedelta(days=1),
                min_duration_s=60.0, min_elevation_deg=0.0, priority=2, status="open", created_at=start))
        assert upgrade(empty_url) == head()
        factory = make_session_factory(engine)
        with session_scope(factory) as session:
            request = session.get(ContactRequest, 1)
            assert (request.min_duration_s, request.priority, request.status.value) == (60.0, 2, "open")
            assert (request.contacts_per_day, request.planned_at, request.last_reasons) == (None, None, None)
            request.contacts_per_day, request.planned_at, request.last_reasons = 4, start, [{"kind": "busy"}]
        with factory() as session:
            request = session.get(ContactRequest, 1)
            assert (request.contacts_per_day, request.planned_at) == (4, start)
            assert request.last_reasons == [{"kind": "busy"}]
        with engine.connect() as connection:
            assert has_guards(connection)
    finally:
        engine.dispose()


def test_upgrade_to_0009_gives_stations_a_runner_tokens_a_scope_and_satellites_a_mode(empty_url: str) -> None:

    from groundshare.store import ApiToken, Role, SatnogsUpload, Station, StationRunner

    engine = create_engine_for(empty_url)
    try:
        upgrade_to(engine, "0008")
        assert "runner" not in {c["name"] for c in inspect(engine).get_columns("station")}
        assert "satnogs_upload" not in inspect(engine).get_table_names()
        with engine.begin() as connection:
            for sql in (
                "INSERT INTO organisation (id, name, kind, created_at) VALUES (1, 'KASA', 'agency', "
                "'2025-11-01 00:00:00+00:00')",
                "INSERT INTO station (id, org_id, name, lat_deg, lon_deg, alt_m, min_elevation_deg, created_at) "
                "VALUES (1, 1, 'daejeon-1', 36.4, 127.4, 80, 5, '2025-11-01 00:00:00+00:00')",
                "INSERT INTO api_token (id, org_id, role, token_hash, label, created_at) "
                "VALUES (100, 1, 'admin', 'aa', 'admin', '2025-11-01 00:00:00+00:00')",
                "INSERT INTO satellite (id, org_id, norad_id, name, is_public, created_at) "
                "VALUES (1, 1, 49263, 'NEXUS', true, '2025-11-01 00:00:00+00:00')",
            ):
                connection.exec_driver_sql(sql)
        assert upgrade(empty_url) == head()
        factory = make_session_factory(engine)
        with session_scope(factory) as session:
            station = session.get(Station, 1)
            assert (station.name, station.runner, station.last_seen_at, station.satnogs_client_version) == (
                "daejeon-1", StationRunner.AGENT, None, None)
            assert session.get(ApiToken, 100).station_id is None
            satellite = session.get(Satellite, 1)
            assert (satellite.mode, satellite.baud, satellite.downlink_drift_ppb) == (None, None, None)
            station.runner = StationRunner.SATNOGS
            satellite.mode, satellite.baud, satellite.downlink_drift_ppb = "FSK", 9600.0, -120
            row, _ = ApiToken.issue(1, Role.OPERATOR, label="sat", station_id=1)
            session.add(row)
        with factory() as session:
            assert session.get(Station, 1).runner is StationRunner.SATNOGS
            assert session.get(Satellite, 1).mode == "FSK"
            assert session.query(ApiToken).filter(ApiToken.station_id == 1).count() == 1
            assert session.query(SatnogsUpload).count() == 0
        with engine.connect() as connection:  # the runner's CHECK constraint refuses another value
            with pytest.raises(DBAPIError):
                connection.exec_driver_sql("UPDATE station SET runner = 'gnuradio' WHERE id = 1")
            connection.rollback()
            assert has_guards(connection)
    finally:
        engine.dispose()


def test_upgrade_to_0010_adds_leop_campaigns_and_the_new_source_kinds_keeping_the_sources(empty_url: str) -> None:
    from groundshare.store import ElementSource, LeopCampaign, SourceKind

    engine = create_engine_for(empty_url)
    try:
        upgrade_to(engine, "0009")
        assert "leop_campaign" not in inspect(engine).get_table_names()
        with engine.begin() as connection:
            for sql in (
                "INSERT INTO organisation (id, name, kind, created_at) VALUES (1, 'AEM', 'agency', "
                "'2025-11-01 00:00:00+00:00')",
                "INSERT INTO satellite (id, org_id, norad_id, name, is_public, created_at) "
                "VALUES (1, 1, 49263, 'NEXUS', true, '2025-11-01 00:00:00+00:00')",
                "INSERT INTO element_source (id, satellite_id, kind, priority, enabled, created_at) "
                "VALUES (5, 1, 'celestrak', 50, true, '2025-11-01 00:00:00+00:00')",
            ):
                connection.exec_driver_sql(sql)
            with pytest.raises(DBAPIError), connection.begin_nested():  # before: the kind's CHECK refuses 'fit'
                connection.exec_driver_sql("INSERT INTO element_source (satellite_id, kind, priority, enabled, "
                                           "created_at) VALUES (1, 'fit', 90, true, '2025-11-01 00:00:00+00:00')")
        assert upgrade(empty_url) == head()
        factory = make_session_factory(engine)
        with session_scope(factory) as session:
            assert session.get(ElementSource, 5).kind is SourceKind.CELESTRAK
            session.add(ElementSource(satellite_id=1, kind=SourceKind.FIT, priority=90))
            session.add(ElementSource(satellite_id=1, kind=SourceKind.LEOP, priority=40))
            session.add(LeopCampaign(org_id=1, satellite_id=1, deploy_time=datetime(2026, 3, 1, tzinfo=UTC),
                                     deployment_text="x", deployment_format="tle"))
        with factory() as session:
            assert sorted(s.kind.value for s in session.query(ElementSource)) == ["celestrak", "fit", "leop"]
            assert session.query(LeopCampaign).one().stations_per_orbit == 2
        with engine.connect() as connection:
            with pytest.raises(DBAPIError):  # the campaign's CHECK refuses 0 stations per orbit
                connection.exec_driver_sql("UPDATE leop_campaign SET stations_per_orbit = 0")
            connection.rollback()
            assert has_guards(connection)
    finally:
        engine.dispose()


def test_upgrade_to_0011_adds_uplink_terms_licences_and_an_append_only_audit_trail(empty_url: str) -> None:
    from groundshare.store import SharingPolicy, TransmitInhibit, UplinkFrame
    from groundshare.store.guards import has_append_only_guards

    engine = create_engine_for(empty_url)
    try:
        upgrade_to(engine, "0010")
        with engine.begin() as connection:
            for sql in (
                "INSERT INTO organisation (id, name, kind, created_at) VALUES (1, 'KASA', 'agency', "
                "'2025-11-01 00:00:00+00:00'), (2, 'AEM', 'agency', '2025-11-01 00:00:00+00:00')",
                "INSERT INTO station (id, org_id, name, lat_deg, lon_deg, alt_m, min_elevation_deg, created_at, "
                "runner) VALUES (1, 1, 'daejeon-1', 36.4, 127.4, 80, 5, '2025-11-01 00:00:00+00:00', 'agent')",
                "INSERT INTO antenna (id, station_id, name, band, setup_s, turnaround_s, created_at) "
                "VALUES (1, 1, 'uhf', 'uhf', 30, 0, '2025-11-01 00:00:00+00:00')",
                "INSERT INTO satellite (id, org_id, norad_id, name, is_public, created_at) "
                "VALUES (1, 2, 49263, 'NEXUS', true, '2025-11-01 00:00:00+00:00')",
                "INSERT INTO sharing_policy (id, owner_org_id, grantee_org_id, antenna_id, bands, priority, "
                "blackout_windows, created_at) VALUES (7, 1, 2, 1, '[\"uhf\"]', 0, '[]', "
                "'2025-11-01 00:00:00+00:00')",
                "INSERT INTO contact (id, antenna_id, satellite_id, org_id, start_time, end_time, busy_until, "
                "status, snapshot, notes, created_at, uplink) VALUES (3, 1, 1, 2, '2025-11-07 10:00:00.000000', "
                "'2025-11-07 10:10:00.000000', '2025-11-07 10:10:00.000000', 'scheduled', '{}', '', "
                "'2025-11-01 00:00:00+00:00', true)",
            ):
                connection.exec_driver_sql(sql)
        assert upgrade(empty_url) == head()
        factory = make_session_factory(engine)
        with session_scope(factory) as session:
            policy = session.get(SharingPolicy, 7)
            # Existing grants keep their terms and do not allow uplink until the owner says so.
            assert (policy.bands, policy.uplink_allowed, policy.uplink_bands, policy.uplink_satellite_ids) == (
                ["uhf"], False, [], [])
            assert session.get(Contact, 3).uplink is True
            at = datetime(2025, 11, 7, 10, 1, tzinfo=UTC)
            session.add(UplinkFrame(contact_id=3, satellite_id=1, station_id=1, org_id=2, sent_at=at, sha256="0" * 64,
                                    length=1, payload=b"x"))
            session.add(TransmitInhibit(station_id=1, raised_by_org_id=1, raised_at=at))
        with engine.connect() as connection:
            assert has_guards(connection) and has_append_only_guards(connection)
            for sql in ("UPDATE uplink_frame SET length = 2", "DELETE FROM uplink_frame",
                        "INSERT INTO transmit_inhibit (station_id, raised_by_org_id, raised_at, reason) "
                        "VALUES (1, 1, '2025-11-07 10:02:00.000000', '')"):
                with pytest.raises(DBAPIError):  # append-only; one open inhibit per station
                    connection.exec_driver_sql(sql)
                connection.rollback()
    finally:
        engine.dispose()


def downgrade_to(engine: Any, revision: str) -> None:
    """Downgrade the database of ``engine`` to ``revision`` in one connection, committed (as ``upgrade_to``).

    Foreign keys stay on (SQLite), as the engine has them: a downgrade must not rebuild a
    table that rows refer to.
    """
    from alembic import command

    from groundshare.store.migrate import alembic_config

    with engine.connect() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
        connection.commit()


_AT_0011 = (
    "INSERT INTO organisation (id, name, kind, created_at) VALUES (1, 'KASA', 'agency', "
    "'2025-11-01 00:00:00+00:00'), (2, 'AEM', 'agency', '2025-11-01 00:00:00+00:00')",
    "INSERT INTO station (id, org_id, name, lat_deg, lon_deg, alt_m, min_elevation_deg, created_at, runner) "
    "VALUES (1, 1, 'daejeon-1', 36.4, 127.4, 80, 5, '2025-11-01 00:00:00+00:00', 'agent')",
    "INSERT INTO antenna (id, station_id, name, band, setup_s, turnaround_s, created_at) "
    "VALUES (1, 1, 'uhf', 'uhf', 30, 0, '2025-11-01 00:00:00+00:00')",
    "INSERT INTO satellite (id, org_id, norad_id, name, is_public, created_at) "
    "VALUES (1, 2, 49263, 'NEXUS', true, '2025-11-01 00:00:00+00:00')",
    "INSERT INTO api_token (id, org_id, role, token_hash, label, created_at) "
    "VALUES (100, 2, 'operator', 'aa', 'mission control', '2025-11-01 00:00:00+00:00')",
    "INSERT INTO contact (id, antenna_id, satellite_id, org_id, start_time, end_time, busy_until, status, snapshot, "
    "notes, created_at, uplink) VALUES (3, 1, 1, 2, '2025-11-07 10:00:00.000000', '2025-11-07 10:10:00.000000', "
    "'2025-11-07 10:10:00.000000', 'scheduled', '{}', '', '2025-11-01 00:00:00+00:00', true)",
)
#: A frame of contact 3 at revision 0011 (the payload bound: SQLite and PostgreSQL write bytes literals differently).
_FRAME_AT_0011 = text(
    "INSERT INTO uplink_frame (id, contact_id, satellite_id, station_id, org_id, token_id, sent_at, sha256, length, "
    "payload) VALUES (1, 3, 1, 1, 2, 100, '2025-11-07 10:01:00.000000', :sha256, 1, :payload)"
).bindparams(sha256="0" * 64, payload=b"\xc0")


def fill_0011(engine: Engine) -> None:
    """Write two organisations, a station, an uplink contact, a token and one frame of it (revision 0011's columns)."""
    with engine.begin() as connection:
        for sql in _AT_0011:
            connection.exec_driver_sql(sql)
        connection.execute(_FRAME_AT_0011)


def refused(connection: Any, sql: str) -> None:
    """Check the database refuses ``sql`` (rolled back, the connection usable again)."""
    with pytest.raises(DBAPIError):
        connection.exec_driver_sql(sql)
    connection.rollback()


def test_upgrade_to_0012_adds_command_tokens_and_lets_a_frame_be_settled_once(empty_url: str) -> None:
    """From 0011 with a token and a frame: the new columns (false, empty, NULL), the indexes, the new trigger."""
    from groundshare.store.guards import has_append_only_guards

    engine = create_engine_for(empty_url)
    try:
        upgrade_to(engine, "0011")
        fill_0011(engine)
        with engine.connect() as connection:  # 0011's trigger: no UPDATE at all
            refused(connection, "UPDATE uplink_frame SET on_air_at = sent_at")
        upgrade_to(engine, "0012")
        assert current(empty_url) == "0012"
        inspector = inspect(engine)
        tokens = {c["name"]: c["nullable"] for c in inspector.get_columns("api_token")}
        frames = {c["name"]: c["nullable"] for c in inspector.get_columns("uplink_frame")}
        assert (tokens["can_command"], tokens["command_satellite_ids"]) == (False, False)
        assert (frames["client_ref"], frames["not_sent_reason"]) == (True, True)
        indexes = {ix["name"]: (tuple(ix["column_names"]), bool(ix["unique"]))
                   for ix in inspector.get_indexes("uplink_frame")}
        assert indexes["ix_uplink_frame_contact_ref"] == (("contact_id", "client_ref"), True)
        assert indexes["ix_uplink_frame_station_queued"] == (("station_id", "id"), False)
        with engine.connect() as connection:
            token = connection.exec_driver_sql("SELECT can_command, command_satellite_ids FROM api_token").one()
            assert (bool(token[0]), token[1] if isinstance(token[1], list) else json.loads(token[1])) == (False, [])
            frame = connection.exec_driver_sql("SELECT client_ref, not_sent_reason, on_air_at FROM uplink_frame").one()
            assert tuple(frame) == (None, None, None)
            assert has_guards(connection) and has_append_only_guards(connection)
            # Exactly one settle: the first goes through, every later change and any delete are refused.
            connection.exec_driver_sql("UPDATE uplink_frame SET on_air_at = sent_at WHERE id = 1")
            connection.commit()
            for sql in ("UPDATE uplink_frame SET on_air_at = sent_at WHERE id = 1",
                        "UPDATE uplink_frame SET not_sent_reason = 'late' WHERE id = 1",
                        "UPDATE uplink_frame SET on_air_at = NULL WHERE id = 1", "DELETE FROM uplink_frame"):
                refused(connection, sql)
            # The operator's refs are unique within a contact.
            insert = text("INSERT INTO uplink_frame (id, contact_id, satellite_id, station_id, org_id, sent_at, "
                          "sha256, length, payload, client_ref) VALUES (:id, 3, 1, 1, 2, '2025-11-07 10:02:00.000000',"
                          " :sha256, 1, :payload, 'c-1')").bindparams(sha256="1" * 64, payload=b"\xc1")
            connection.execute(insert, {"id": 2})
            connection.commit()
            with pytest.raises(IntegrityError, match=r"client_ref|ix_uplink_frame_contact_ref"):
                connection.execute(insert, {"id": 3})
            connection.rollback()
            assert connection.exec_driver_sql("SELECT count(*) FROM uplink_frame").scalar() == 2
    finally:
        engine.dispose()


def schema_at(url: str, revision: str) -> dict[str, Any]:
    """Return the schema of the database at ``url`` upgraded straight to ``revision``."""
    engine = create_engine_for(url)
    try:
        upgrade_to(engine, revision)
        return schema(engine)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_downgrade_from_0012_to_0011_and_0010_leaves_each_revisions_schema(empty_url: str,
                                                                           reference_url: str) -> None:
    """Down one revision at a time: each step gives the schema an upgrade to that revision gives; then up again."""
    from groundshare.store.guards import has_append_only_guards

    at_0011 = schema_at(reference_url, "0011")
    engine = create_engine_for(empty_url)
    try:
        upgrade_to(engine, "0012")
        fill_0011(engine)
        downgrade_to(engine, "0011")
        assert current(empty_url) == "0011"
        assert schema(engine) == at_0011
        with engine.connect() as connection:
            assert has_guards(connection) and has_append_only_guards(connection)
            # 0011's strict trigger is back: not even a settle; the frame and token are kept.
            refused(connection, "UPDATE uplink_frame SET on_air_at = sent_at")
            refused(connection, "DELETE FROM uplink_frame")
            assert connection.exec_driver_sql("SELECT length, on_air_at FROM uplink_frame").one() == (1, None)
            assert connection.exec_driver_sql("SELECT label FROM api_token").scalar() == "mission control"
        downgrade_to(engine, "0010")
        assert current(empty_url) == "0010"
        reference = create_engine_for(reference_url)
        try:
            downgrade_to(reference, "0010")
            at_0010 = schema(reference)
        finally:
            reference.dispose()
        assert schema(engine) == at_0010
        assert not {"uplink_frame", "uplink_licence", "transmit_inhibit"} & set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            assert has_guards(connection)
            assert connection.exec_driver_sql("SELECT count(*) FROM contact").scalar() == 1
        assert upgrade(empty_url) == head()  # and up again
        with engine.connect() as connection:
            assert has_guards(connection) and has_append_only_guards(connection)
    finally:
        engine.dispose()
