"""Engines, schema set-up and units of work on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from groundshare.errors import InvalidInputError
from groundshare.store import (
    UNCHECKED,
    Antenna,
    Contact,
    Organisation,
    OrgKind,
    Station,
    book_contact,
    create_engine_for,
    default_database_path,
    init_db,
    is_transient,
    make_session_factory,
    run_unit_of_work,
    session_scope,
)
from groundshare.store.guards import has_guards
from tests.support.databases import postgresql_only
from tests.support.worlds import make_network

T0 = datetime(2025, 11, 7, 10, 0, tzinfo=UTC)


def test_default_database_is_a_sqlite_file_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GROUNDSHARE_DATA_DIR", str(tmp_path / "data"))
    assert default_database_path() == tmp_path / "data" / "groundshare.db"
    engine = create_engine_for()
    try:
        init_db(engine)
        assert (tmp_path / "data" / "groundshare.db").is_file()
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_xdg_data_home_is_used_without_groundshare_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("GROUNDSHARE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_database_path() == tmp_path / "groundshare" / "groundshare.db"


def test_postgresql_urls_use_psycopg_3():
    engine = create_engine_for("postgresql://someone@db.example:5432/groundshare")  # connects lazily
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()


def test_other_databases_are_refused_with_what_to_use():
    with pytest.raises(InvalidInputError) as caught:
        create_engine_for("mysql://root:secret@localhost/groundshare")
    assert str(caught.value) == (
        "database URL 'mysql://root:***@localhost/groundshare' is neither SQLite nor PostgreSQL; "
        "groundshare stores its data in one of those.\n\n"
        "Expected e.g.:  sqlite:///groundshare.db  or  postgresql://user@host:5432/groundshare")


def test_foreign_keys_are_enforced(factory):
    with pytest.raises(IntegrityError), session_scope(factory) as session:
        session.add(Station(org_id=999, name="orphan", lat_deg=0.0, lon_deg=0.0))


def test_check_constraints_are_enforced(factory, network):
    with pytest.raises(IntegrityError, match="turnaround_nonnegative"), session_scope(factory) as session:
        session.add(Antenna(station_id=network.station_id, name="bad", band="x", turnaround_s=-1.0))
    with pytest.raises(IntegrityError, match="time_order"), session_scope(factory) as session:
        session.add(Contact(antenna_id=network.antenna_id, satellite_id=network.satellite_id,
                            org_id=network.org_id, start_time=T0, end_time=T0, busy_until=T0))


def test_unique_names(factory, network):
    with pytest.raises(IntegrityError), session_scope(factory) as session:
        session.add(Organisation(name="Korea AeroSpace Administration", kind=OrgKind.AGENCY))
    with pytest.raises(IntegrityError), session_scope(factory) as session:
        session.add(Station(org_id=network.org_id, name="daejeon-1", lat_deg=0.0, lon_deg=0.0))
    with session_scope(factory) as session:  # the same station name under another owner is fine
        session.add(Station(org_id=network.partner_id, name="daejeon-1", lat_deg=0.0, lon_deg=0.0))


def test_init_db_is_idempotent_and_creates_the_guards(engine):
    init_db(engine)
    with engine.connect() as connection:
        assert has_guards(connection)


def test_a_sqlite_read_only_unit_cannot_book(network_factory_sqlite):
    factory, network = network_factory_sqlite
    with pytest.raises(RuntimeError, match="book_contact needs a unit of work that holds SQLite's write lock"), \
            session_scope(factory, write=False) as session:
        book_contact(session, rules=UNCHECKED, antenna_id=network.antenna_id, satellite_id=network.satellite_id,
                     org_id=network.org_id, start=T0, end=T0 + timedelta(minutes=5))
    with session_scope(factory) as session:  # a plain session begins IMMEDIATE and books
        book_contact(session, rules=UNCHECKED, antenna_id=network.antenna_id, satellite_id=network.satellite_id,
                     org_id=network.org_id, start=T0, end=T0 + timedelta(minutes=5))


@pytest.fixture
def network_factory_sqlite(tmp_path):
    engine = create_engine_for(f"sqlite:///{tmp_path / 'one.db'}")
    init_db(engine)
    factory = make_session_factory(engine)
    yield factory, make_network(factory)
    engine.dispose()


class _FakeDriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def test_transient_aborts_are_retried_with_backoff(factory):
    failures = [OperationalError("SELECT", {}, _FakeDriverError("40P01")),
                OperationalError("SELECT", {}, _FakeDriverError("40001"))]
    slept: list[float] = []

    def work(session):
        if failures:
            raise failures.pop(0)
        return session.scalar(select(func.count()).select_from(Organisation))

    assert run_unit_of_work(factory, work, sleep=slept.append) == 0
    assert slept == [0.02, 0.04]


def test_other_errors_and_the_last_attempt_are_not_retried(factory):
    slept: list[float] = []

    def deadlocked(session):
        raise OperationalError("SELECT", {}, _FakeDriverError("40P01"))

    with pytest.raises(OperationalError):
        run_unit_of_work(factory, deadlocked, attempts=3, sleep=slept.append)
    assert slept == [0.02, 0.04]
    assert not is_transient(OperationalError("SELECT", {}, _FakeDriverError("23505")))
    assert not is_transient(ValueError("no"))


@pytest.mark.slow
@postgresql_only  # SQLite has one writer at a time: its units of work cannot deadlock
def test_a_real_deadlock_is_retried(factory, network, monkeypatch):
    """Two units lock two antennas in opposite orders; PostgreSQL aborts one, which is run again."""
    from groundshare.store import db as store_db

    barrier = threading.Barrier(2, timeout=10)
    slept: list[float] = []
    errors: list[BaseException] = []
    retried_for: list[str | None] = []
    judge = store_db.is_transient

    def recording_is_transient(exc: BaseException) -> bool:
        retried_for.append(getattr(getattr(exc, "orig", None), "sqlstate", None))
        return judge(exc)

    monkeypatch.setattr(store_db, "is_transient", recording_is_transient)

    def lock_both(first: int, second: int) -> None:
        attempts = []

        def work(session):
            attempts.append(1)
            session.scalars(select(Antenna).where(Antenna.id == first).with_for_update()).one()
            if len(attempts) == 1:
                barrier.wait()  # both hold their first lock before asking for the second
            session.scalars(select(Antenna).where(Antenna.id == second).with_for_update()).one()

        try:
            run_unit_of_work(factory, work, sleep=slept.append)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=lock_both, args=(network.antenna_id, network.slow_antenna_id)),
               threading.Thread(target=lock_both, args=(network.slow_antenna_id, network.antenna_id))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # One unit was the deadlock victim and ran again; a busy server may abort a retry
    # once more for another transient reason (each recorded here), never for good.
    assert retried_for[0] == "40P01", retried_for
    assert slept[0] == pytest.approx(0.02)
    assert len(slept) == len(retried_for)


def test_newest_element_sets_in_one_query_agree_with_one_at_a_time(factory, network):
    from groundshare.store import (
        ElementSetRecord,
        ElementTextFormat,
        Satellite,
        newest_element_set,
        newest_element_sets,
    )

    with session_scope(factory) as session:
        other = Satellite(org_id=network.org_id, norad_id=40003, name="OTHER")
        bare = Satellite(org_id=network.org_id, norad_id=40004, name="BARE")
        session.add_all([other, bare])
        session.flush()
        epochs = {network.satellite_id: [T0, T0 + timedelta(days=1), T0 + timedelta(days=1)], other.id: [T0]}
        for satellite_id, times in epochs.items():
            for epoch in times:
                session.add(ElementSetRecord(satellite_id=satellite_id, epoch=epoch, format=ElementTextFormat.TLE,
                                             text="x", source="test"))
        ids = [network.satellite_id, other.id, bare.id]
    with session_scope(factory, write=False) as session:
        batched = newest_element_sets(session, ids)
        assert set(batched) == {network.satellite_id, other.id}
        for satellite_id in ids:
            one = newest_element_set(session, satellite_id)
            assert (batched.get(satellite_id).id if satellite_id in batched else None) == (one.id if one else None)
        assert newest_element_sets(session, []) == {}
