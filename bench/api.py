"""Throughput and latency of the REST API: the real ``groundshare serve`` process on loopback.

For each backend (SQLite file; PostgreSQL at 127.0.0.1:5432 when reachable) this starts
the server on a fresh database, seeds one organisation, station, antenna and satellite
(CLI and API, as the service tests do), stores ``--contacts`` contacts, and then runs,
for a fixed time per cell with 1, 8 and 32 concurrent clients (one thread and one
``httpx.Client`` each):

- ``list``: ``GET /contacts?limit=100`` (a page of the stored contacts, with their count);
- ``book``: ``POST /contacts`` on windows that never overlap, so every answer is a 201;
- ``book-overlap``: ``POST /contacts`` on overlapping windows of one day (the race of the
  service tests): once the day is full, almost every answer is a 409.

It prints requests per second and p50/p99 latency per cell, and counts any answer with
an unexpected status.  Figures only: nothing is asserted.

    .venv/bin/python bench/api.py [--seconds 5] [--clients 1 8 32] [--backends sqlite postgresql]
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy.exc import DBAPIError

# The server, seeding and storm helpers are the tests' shared support (tests/support/).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.databases import bench_database
from tests.support.race import overlapping_window
from tests.support.served import REQUEST_TIMEOUT_S, ServedWorld, seed_world, serve
from tests.support.storm import contact_body

from groundshare.store import UNCHECKED, book_contact, create_engine_for, make_session_factory, session_scope

#: The stored contacts listed by ``list``: one every 20 minutes from here (no overlap with the others).
LISTED_FROM = datetime(2025, 1, 1, tzinfo=UTC)
LISTED_STEP_S = 1200
#: ``book`` windows: 5 minutes every 10 minutes (the antenna's turnaround is 60 s), from here on.
BOOKED_FROM = datetime(2030, 1, 1, tzinfo=UTC)
BOOKED_STEP_S = 600
BOOKED_LENGTH_S = 300


@dataclass
class Cell:
    """The answers of one (backend, operation, clients) cell."""

    statuses: Counter[int] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_s)

    def percentile_ms(self, q: float) -> float:
        if len(self.latencies_s) < 2:
            return 1000.0 * (self.latencies_s[0] if self.latencies_s else float("nan"))
        return 1000.0 * statistics.quantiles(self.latencies_s, n=100, method="inclusive")[round(q) - 1]


Request = Callable[[httpx.Client, random.Random], httpx.Response]


def load(base_url: str, headers: dict[str, str], *, clients: int, duration_s: float, request: Request) -> Cell:
    """Return the answers of ``clients`` threads sending ``request`` back to back for ``duration_s``."""
    barrier = threading.Barrier(clients + 1)
    cells = [Cell() for _ in range(clients)]

    def worker(index: int) -> None:
        rng = random.Random(2024 + index)
        mine = cells[index]
        with httpx.Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S) as client:
            client.get("/openapi.json")  # open the connection before the clock starts
            barrier.wait()
            deadline = time.monotonic() + duration_s
            while time.monotonic() < deadline:
                sent = time.perf_counter()
                response = request(client, rng)
                mine.latencies_s.append(time.perf_counter() - sent)
                mine.statuses[response.status_code] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join()
    total = Cell(elapsed_s=time.monotonic() - started)
    for cell in cells:
        total.statuses.update(cell.statuses)
        total.latencies_s.extend(cell.latencies_s)
    return total



def store_contacts(database_url: str, world: ServedWorld, n: int) -> None:
    """Book ``n`` non-overlapping contacts on the world's antenna directly through the store."""
    engine = create_engine_for(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            for i in range(n):
                start = LISTED_FROM + timedelta(seconds=LISTED_STEP_S * i)
                # History seeded straight into the store: the network's booking rules are for new bookings.
                book_contact(session, antenna_id=world.antenna_id, satellite_id=world.satellite_id,
                             org_id=world.org_id, start=start, end=start + timedelta(minutes=10), rules=UNCHECKED)
    finally:
        engine.dispose()


def run_backend(backend: str, *, seconds: float, clients: list[int], contacts: int) -> list[tuple[str, int, Cell]]:
    """Return (operation, clients, cell) for every cell on ``backend``."""
    rows = []
    with tempfile.TemporaryDirectory() as folder, bench_database(backend, Path(folder), "api") as url, \
            serve(url, Path(folder) / "server.log") as server:
        world = seed_world(server)
        store_contacts(url, world, contacts)
        slots = itertools.count()  # next() is atomic under the GIL: every booked window is distinct

        def list_page(client: httpx.Client, _rng: random.Random) -> httpx.Response:
            return client.get("/contacts", params={"limit": 100})

        def book_distinct(client: httpx.Client, _rng: random.Random) -> httpx.Response:
            start = BOOKED_FROM + timedelta(seconds=BOOKED_STEP_S * next(slots))
            return client.post("/contacts", json=contact_body(world, start, start + timedelta(seconds=BOOKED_LENGTH_S)))

        def book_overlapping(client: httpx.Client, rng: random.Random) -> httpx.Response:
            return client.post("/contacts", json=contact_body(world, *overlapping_window(rng)))

        for operation, request in (("list", list_page), ("book", book_distinct), ("book-overlap", book_overlapping)):
            for n in clients:
                cell = load(server.base_url, world.headers, clients=n, duration_s=seconds, request=request)
                rows.append((operation, n, cell))
                print(f"  {backend:10s} {operation:12s} {n:3d} clients: {format_cell(cell)}", file=sys.stderr,
                      flush=True)
    return rows


def format_cell(cell: Cell) -> str:
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(cell.statuses.items()))
    return (f"{cell.requests / cell.elapsed_s:8.1f} req/s  p50 {cell.percentile_ms(50):7.1f} ms  "
            f"p99 {cell.percentile_ms(99):7.1f} ms  ({cell.requests} requests; {statuses})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each cell")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32], help="concurrent clients per cell")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    parser.add_argument("--contacts", type=int, default=3000, help="contacts stored before the list cells")
    args = parser.parse_args()

    print(f"groundshare serve on loopback, {os.cpu_count()} CPUs, {args.seconds:g} s per cell, "
          f"{args.contacts} contacts stored for list", file=sys.stderr)
    table = []
    for backend in args.backends:
        try:
            rows = run_backend(backend, seconds=args.seconds, clients=args.clients, contacts=args.contacts)
        except DBAPIError as exc:
            print(f"{backend}: skipped, the database is not reachable: {str(exc.orig).strip().splitlines()[0]}",
                  file=sys.stderr)
            continue
        table.extend((backend, *row) for row in rows)

    print("| backend | operation | clients | req/s | p50 ms | p99 ms | answers |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for backend, operation, n, cell in table:
        statuses = ", ".join(f"{count} x {status}" for status, count in sorted(cell.statuses.items()))
        print(f"| {backend} | {operation} | {n} | {cell.requests / cell.elapsed_s:.1f} | "
              f"{cell.percentile_ms(50):.1f} | {cell.percentile_ms(99):.1f} | {statuses} |")


if __name__ == "__main__":
    main()
