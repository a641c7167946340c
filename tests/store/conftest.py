"""Store fixtures: every test that takes ``engine`` runs on SQLite and on PostgreSQL.

SQLite is a file in the session's temporary folder.  PostgreSQL is the server at
127.0.0.1:5432 (trust authentication, user ``postgres`` or the current user, maintenance
database ``postgres`` or ``test``; ``GROUNDSHARE_TEST_POSTGRES_URL`` overrides them):
the test session creates its own uniquely named database there and drops it at the end.

Without a reachable server the PostgreSQL cases are skipped with the reason, except
in CI (``CI`` set and not ``0``/``false``), where they fail: CI must run them.
"""

from __future__ import annotations

import getpass
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from groundshare.store import (
    Antenna,
    Band,
    Base,
    Organisation,
    OrgKind,
    Satellite,
    Station,
    create_engine_for,
    init_db,
    make_session_factory,
    session_scope,
)

BACKENDS = ("sqlite", "postgresql")
#: Connections each test engine may open at once: the race tests run 32 threads.
TEST_POOL_SIZE = 16  # kept open; as many again open under load (create_engine_for)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _maintenance_urls() -> list[URL]:
    override = os.environ.get("GROUNDSHARE_TEST_POSTGRES_URL")
    if override:
        return [make_url(override).set(drivername="postgresql+psycopg")]
    users = dict.fromkeys(["postgres", getpass.getuser()])
    return [URL.create("postgresql+psycopg", username=user, host="127.0.0.1", port=5432, database=db)
            for user in users for db in ("postgres", "test")]


def _postgres_unavailable(reason: str) -> None:
    message = (f"PostgreSQL is not usable for the store tests: {reason}\n"
               "Start it (pg_ctlcluster --skip-systemctl-redirect <version> main start) or set "
               "GROUNDSHARE_TEST_POSTGRES_URL to a maintenance database URL")
    if in_ci():
        pytest.fail(message + "\n(CI is set, so the PostgreSQL cases must run rather than skip)", pytrace=False)
    pytest.skip(message)


def _admin_engine() -> Engine:
    """Return an autocommit engine on a reachable maintenance database, or skip/fail."""
    failures = []
    for url in _maintenance_urls():
        admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool,
                              connect_args={"connect_timeout": 3})
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            return admin
        except DBAPIError as exc:
            failures.append(f"{url.render_as_string(hide_password=True)}: {str(exc.orig).strip().splitlines()[0]}")
            admin.dispose()
    _postgres_unavailable("; ".join(failures))
    raise AssertionError("unreachable")


@contextmanager
def postgres_database(label: str) -> Iterator[URL]:
    """Create a uniquely named PostgreSQL database, yield its URL, then drop it."""
    admin = _admin_engine()
    name = f"groundshare_test_{label}_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except DBAPIError as exc:
        admin.dispose()
        _postgres_unavailable(f"could not create database {name}: {exc.orig}")
    try:
        yield admin.url.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def empty_database_url(backend: str, folder: Path, label: str) -> Iterator[str]:
    """Yield the URL (password shown) of an empty database of ``backend``, made for one test."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'{label}.db'}"
        return
    with postgres_database(label) as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=BACKENDS)
def _session_engine(request, tmp_path_factory) -> Iterator[Engine]:
    """One engine per backend for the whole session, on a freshly initialised database."""
    if request.param == "sqlite":
        engine = create_engine_for(f"sqlite:///{tmp_path_factory.mktemp('store') / 'groundshare.db'}",
                                   pool_size=TEST_POOL_SIZE)
        init_db(engine)
        yield engine
        engine.dispose()
        return
    with postgres_database("store") as url:
        engine = create_engine_for(url, pool_size=TEST_POOL_SIZE)
        init_db(engine)
        yield engine
        engine.dispose()


#: Run a test that takes ``engine`` on PostgreSQL only (for what SQLite cannot show: deadlocks, interleaved writers).
postgresql_only = pytest.mark.parametrize("_session_engine", ["postgresql"], indirect=True)
#: Run a test that takes ``engine`` on SQLite only (for its own mechanisms: triggers on text times).
sqlite_only = pytest.mark.parametrize("_session_engine", ["sqlite"], indirect=True)


def clear_tables(engine: Engine) -> None:
    """Delete every row, so the next test starts from an empty schema."""
    with engine.begin() as connection:
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
            connection.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            for table in tables:
                connection.exec_driver_sql(f"DELETE FROM {table}")


@pytest.fixture
def engine(_session_engine: Engine) -> Iterator[Engine]:
    """The backend's engine (SQLite or PostgreSQL), with empty tables after the test."""
    yield _session_engine
    clear_tables(_session_engine)


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@dataclass(frozen=True)
class Network:
    """Ids of a minimal network: one organisation, station, satellite and two antennas."""

    org_id: int
    partner_id: int
    station_id: int
    antenna_id: int  # turnaround 0 s
    slow_antenna_id: int  # turnaround 60 s
    satellite_id: int


TURNAROUND_S = 60.0


def make_network(factory: sessionmaker[Session]) -> Network:
    with session_scope(factory) as session:
        org = Organisation(name="Korea AeroSpace Administration", kind=OrgKind.AGENCY)
        partner = Organisation(name="Agencia Espacial Mexicana", kind=OrgKind.AGENCY)
        session.add_all([org, partner])
        session.flush()
        station = Station(org_id=org.id, name="daejeon-1", lat_deg=36.3725, lon_deg=127.359, alt_m=80.0,
                          min_elevation_deg=5.0, horizon_mask=[[0.0, 4.0], [110.0, 18.0]])
        session.add(station)
        session.flush()
        quick = Antenna(station_id=station.id, name="uhf-yagi", band=Band.UHF, setup_s=30.0, turnaround_s=0.0)
        slow = Antenna(station_id=station.id, name="s-dish", band=Band.S, setup_s=120.0, turnaround_s=TURNAROUND_S)
        satellite = Satellite(org_id=partner.id, norad_id=49263, name="NEXUS", is_public=True)
        session.add_all([quick, slow, satellite])
        session.flush()
        return Network(org.id, partner.id, station.id, quick.id, slow.id, satellite.id)


@pytest.fixture
def network(factory: sessionmaker[Session]) -> Network:
    return make_network(factory)
