"""Booking races: many threads booking overlapping windows on one antenna, and the SQL that checks the outcome.

``race`` runs in the store: each thread has its own sessions; it runs for a bounded time
(and a bounded number of attempts per thread) and sorts every outcome: booked, refused as
a conflict, refused by the database guard, aborted as a deadlock, or unexpected.
``overlapping_pairs`` then counts, with a SQL self-join, the pairs of live contacts on one
antenna whose holds overlap; it must be 0.  The HTTP storm of ``storm.py`` books the same
windows (``overlapping_window``) through the real server.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from groundshare.errors import ConflictError
from groundshare.store import Contact

RACE_START = datetime(2025, 11, 7, tzinfo=UTC)
SLOT_S = 300  # windows start on a 5-minute grid over one day ...
N_SLOTS = 288
DURATIONS_S = (300, 600, 900)  # ... and last 5 to 15 minutes, so most pairs of attempts overlap

OVERLAPPING_PAIRS_SQL = """
    SELECT count(*) FROM contact AS a JOIN contact AS b
      ON a.antenna_id = b.antenna_id AND a.id < b.id
    WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'
      AND a.start_time < b.busy_until AND b.start_time < a.busy_until
"""


def overlapping_window(rng: random.Random) -> tuple[datetime, datetime]:
    """Return a window on the 5-minute grid of one day, 5 to 15 minutes long (most pairs overlap)."""
    start = RACE_START + timedelta(seconds=SLOT_S * rng.randrange(N_SLOTS))
    return start, start + timedelta(seconds=rng.choice(DURATIONS_S))


@dataclass
class RaceResult:
    attempts: int = 0
    booked: int = 0
    conflicts: int = 0  # ConflictError raised by the booking code
    guard_refusals: int = 0  # IntegrityError from the database guard
    deadlocks: int = 0  # transaction aborted as a deadlock victim / serialization failure
    unexpected: list[BaseException] = field(default_factory=list)
    elapsed_s: float = 0.0

    def add(self, other: RaceResult) -> None:
        self.attempts += other.attempts
        self.booked += other.booked
        self.conflicts += other.conflicts
        self.guard_refusals += other.guard_refusals
        self.deadlocks += other.deadlocks
        self.unexpected.extend(other.unexpected)


Book = Callable[[sessionmaker[Session], datetime, datetime], object]


def race(factory: sessionmaker[Session], book: Book, *, threads: int = 32, duration_s: float = 3.0,
         max_attempts_per_thread: int = 500, seed: int = 2024) -> RaceResult:
    """Return the sorted outcomes of ``threads`` threads calling ``book(factory, start, end)`` in a loop."""
    barrier = threading.Barrier(threads + 1)
    results = [RaceResult() for _ in range(threads)]

    def worker(index: int) -> None:
        rng = random.Random(seed + index)
        mine = results[index]
        barrier.wait()
        deadline = time.monotonic() + duration_s
        while time.monotonic() < deadline and mine.attempts < max_attempts_per_thread:
            start, end = overlapping_window(rng)
            mine.attempts += 1
            try:
                book(factory, start, end)
                mine.booked += 1
            except ConflictError:
                mine.conflicts += 1
            except IntegrityError as exc:
                if getattr(exc.orig, "sqlstate", None) == "23P01":  # exclusion_violation
                    mine.guard_refusals += 1
                else:
                    mine.unexpected.append(exc)
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) in ("40P01", "40001"):
                    mine.deadlocks += 1
                else:
                    mine.unexpected.append(exc)
            except Exception as exc:  # anything else is what the test looks for
                mine.unexpected.append(exc)

    pool = [threading.Thread(target=worker, args=(i,), name=f"booker-{i}") for i in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.monotonic()
    for thread in pool:
        thread.join()
    total = RaceResult(elapsed_s=time.monotonic() - started)
    for result in results:
        total.add(result)
    return total


def overlapping_pairs(engine: Engine) -> int:
    """Return how many pairs of live contacts on one antenna overlap (turnaround included)."""
    with engine.connect() as connection:
        return connection.exec_driver_sql(OVERLAPPING_PAIRS_SQL).scalar_one()


def live_contacts(factory: sessionmaker[Session]) -> list[Contact]:
    with factory() as session:
        return list(session.scalars(select(Contact).order_by(Contact.antenna_id, Contact.start_time)))
