"""The double-booking race: 32 threads, each with its own sessions, booking overlapping windows on one antenna.

Each race is bounded (seconds and attempts per thread).  Outcome: every attempt is
booked or refused with a ConflictError, nothing else; every acknowledged booking is
stored; and a SQL self-join finds no two live contacts whose holds overlap.

``test_unguarded_writers_double_book`` shows that this check can fail: the same race,
run with a lock-free check-then-insert against a schema created without the guard,
double-books.
"""

from __future__ import annotations

import itertools
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from groundshare.errors import ConflictError
from groundshare.store import (
    UNCHECKED,
    Contact,
    ContactStatus,
    book_contact,
    create_engine_for,
    first_overlapping_contact,
    init_db,
    make_session_factory,
    run_unit_of_work,
    session_scope,
)
from tests.support.databases import TEST_POOL_SIZE, postgres_database, postgresql_only
from tests.support.race import RACE_START, live_contacts, overlapping_pairs, race
from tests.support.worlds import TURNAROUND_S, make_network

THREADS = 32
RACE_S = 3.0  # per database; bounded by MAX_ATTEMPTS too
MAX_ATTEMPTS = 400  # per thread
PROOF_S = 1.5  # the guard-removed demonstration needs far less to double-book


def _book_with_store(network, retries: list[float]):
    def book(factory, start, end):
        return run_unit_of_work(
            factory,
            lambda session: book_contact(session, rules=UNCHECKED, antenna_id=network.slow_antenna_id,
                                         satellite_id=network.satellite_id, org_id=network.org_id,
                                         start=start, end=end),
            sleep=retries.append)
    return book


def _book_unlocked(network):
    """Check, then insert, with no lock: a Python-only overlap check (cf. satnogs' check_overlaps)."""
    def book(factory, start, end):
        busy_until = end + timedelta(seconds=TURNAROUND_S)
        with session_scope(factory) as session:
            if first_overlapping_contact(session, network.slow_antenna_id, start, busy_until) is not None:
                raise ConflictError("overlaps a contact seen by the check")
            time.sleep(0.002)  # the rest of a request's work; widens the check-to-insert gap
            session.add(Contact(antenna_id=network.slow_antenna_id, satellite_id=network.satellite_id,
                                org_id=network.org_id, start_time=start, end_time=end, busy_until=busy_until))
    return book


def _assert_holds_are_consistent(factory):
    contacts = live_contacts(factory)
    for c in contacts:
        assert c.busy_until - c.end_time == timedelta(seconds=TURNAROUND_S)
    for before, after in itertools.pairwise(contacts):  # independent of the SQL self-join
        assert after.start_time >= before.busy_until, (before, after)


@pytest.mark.slow
def test_race_never_double_books(engine, factory, network):
    retries: list[float] = []
    result = race(factory, _book_with_store(network, retries), threads=THREADS, duration_s=RACE_S,
                  max_attempts_per_thread=MAX_ATTEMPTS)
    engine.pool.dispose()  # close the race's connections
    print(f"\n{engine.dialect.name}: {result.attempts} attempts in {result.elapsed_s:.1f} s: "
          f"{result.booked} booked, {result.conflicts} conflicts, {len(retries)} retries, "
          f"{len(result.unexpected)} unexpected")

    assert result.unexpected == []
    assert result.guard_refusals == result.deadlocks == 0
    assert result.booked + result.conflicts == result.attempts
    assert result.booked > 0 and result.conflicts > 0  # there was contention to survive
    with session_scope(factory, write=False) as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == result.booked  # every ack is stored
    assert overlapping_pairs(engine) == 0
    _assert_holds_are_consistent(factory)


def test_concurrent_retries_of_one_idempotency_key_book_once(engine, factory, network):
    n = 16
    barrier = threading.Barrier(n, timeout=30)
    ids: list[int] = []
    errors: list[BaseException] = []

    def retry():
        barrier.wait()
        try:
            contact = run_unit_of_work(factory, lambda session: book_contact(
                session, rules=UNCHECKED, antenna_id=network.antenna_id, satellite_id=network.satellite_id,
                org_id=network.org_id, start=RACE_START, end=RACE_START + timedelta(minutes=8),
                idempotency_key="retry-me"))
            ids.append(contact.id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=retry) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.pool.dispose()
    assert errors == []
    assert len(ids) == n and len(set(ids)) == 1
    with session_scope(factory, write=False) as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 1


@pytest.mark.slow
@postgresql_only  # SQLite runs one writer at a time (BEGIN IMMEDIATE): check-then-insert cannot interleave there
def test_guard_stops_writers_that_skip_the_lock(engine, factory, network):
    """Without book_contact's lock, concurrent check-then-insert races; the exclusion constraint refuses the losers."""
    result = race(factory, _book_unlocked(network), threads=THREADS, duration_s=PROOF_S,
                  max_attempts_per_thread=MAX_ATTEMPTS)
    engine.pool.dispose()
    print(f"\nunlocked writers, guarded schema: {result.attempts} attempts: {result.booked} booked, "
          f"{result.conflicts} conflicts seen by the check, {result.guard_refusals} refused by the guard, "
          f"{result.deadlocks} deadlocks, {len(result.unexpected)} unexpected")
    assert result.unexpected == []
    assert result.guard_refusals > 0  # the check alone would have let these through
    assert overlapping_pairs(engine) == 0
    _assert_holds_are_consistent(factory)


@pytest.fixture
def unguarded_factory():
    """A PostgreSQL database created with init_db(guards=False): for the demonstration below only."""
    with postgres_database("unguarded") as url:
        engine = create_engine_for(url, pool_size=TEST_POOL_SIZE)
        init_db(engine, guards=False)
        yield engine, make_session_factory(engine)
        engine.dispose()


@pytest.mark.slow
def test_unguarded_writers_double_book(unguarded_factory):
    """DEMONSTRATION THAT THE RACE TEST CAN FAIL: with the guard removed, the same race double-books.

    The schema has no exclusion constraint and the writers take no lock, so the
    self-join that must find 0 overlapping pairs above finds some here.
    """
    engine, factory = unguarded_factory
    network = make_network(factory)
    result = race(factory, _book_unlocked(network), threads=THREADS, duration_s=PROOF_S,
                  max_attempts_per_thread=MAX_ATTEMPTS)
    pairs = overlapping_pairs(engine)
    print(f"\nunlocked writers, NO guard: {result.attempts} attempts: {result.booked} booked, "
          f"{result.conflicts} conflicts seen by the check, {pairs} overlapping pairs")
    assert result.unexpected == []
    assert pairs > 0
    with session_scope(factory, write=False) as session:
        assert session.scalar(select(func.count()).select_from(Contact).where(
            Contact.status != ContactStatus.CANCELLED)) == result.booked
