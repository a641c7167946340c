"""Throughput, latency and server CPU of the REST API: the real ``groundshare serve`` on loopback.

For each backend (SQLite file; PostgreSQL at 127.0.0.1:5432 when reachable) and each
``--workers`` count (server processes on one socket) this starts the server on a fresh
database, seeds one organisation, station, antenna and satellite (CLI and API, as the
service tests do), stores ``--contacts`` contacts, and then runs, for a fixed time per
cell with 1, 8 and 32 concurrent clients:

- ``list``: ``GET /contacts?limit=100`` (a page of the stored contacts, with their count);
- ``book``: ``POST /contacts`` on windows that never overlap, so every answer is a 201;
- ``book-overlap``: ``POST /contacts`` on overlapping windows of one day (the race of the
  service tests): once the day is full, almost every answer is a 409;
- ``poll-200`` / ``poll-304``: a station's ``GET /agent/schedule`` (12 h, 36 contacts)
  without and with ``If-None-Match`` naming its current ``ETag``: what a conditional
  poll saves the server.

The clients are light: one asyncio task per client, each with its own keep-alive
HTTP/1.1 connection written and read as raw bytes (no HTTP library), all in this one
process, so that most of the machine's CPU goes to the server.  Each cell prints
requests per second, p50/p99 latency, the **server's CPU per request** (user + system
time of the server process and its workers, from ``psutil``, over the cell) and the
**client's own CPU per request** (this process's), so the reader sees what the server
got.  After the booking cells the database is asked for double bookings (pairs of live
contacts on one antenna whose holds overlap: ``tests.support.race.OVERLAPPING_PAIRS_SQL``);
it must say 0.  Figures only: nothing is asserted.

    .venv/bin/python bench/api.py [--seconds 5] [--clients 1 8 32] [--workers 1 2] [--backends sqlite postgresql]

``--profile`` instead measures one process without HTTP: the application on a seeded
database (``tests.support.worlds``, 3,000 contacts) called through httpx's ASGI
transport, CPU per request (``time.process_time``, best of 5 rounds) for ``list`` and
``book``, then a cProfile of the same requests (the thread pool's work run inline, CPU
time) split into the parts named in ``PROFILE_PARTS``: where a request's time goes.

    .venv/bin/python bench/api.py --profile [--backends sqlite postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

# The server, seeding and race helpers are the tests' shared support (tests/support/).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.databases import bench_database
from tests.support.race import OVERLAPPING_PAIRS_SQL, overlapping_window
from tests.support.served import REQUEST_TIMEOUT_S, ServedApi, ServedWorld, seed_world, serve
from tests.support.storm import contact_body

from groundshare.store import UNCHECKED, book_contact, create_engine_for, make_session_factory, session_scope

#: The stored contacts listed by ``list``: one every 20 minutes from here (no overlap with the others).
LISTED_FROM = datetime(2025, 1, 1, tzinfo=UTC)
LISTED_STEP_S = 1200
#: ``book`` windows: 5 minutes every 10 minutes (the antenna's turnaround is 60 s), from here on.
BOOKED_FROM = datetime(2030, 1, 1, tzinfo=UTC)
BOOKED_STEP_S = 600
BOOKED_LENGTH_S = 300
#: The station's schedule polled by ``poll-200``/``poll-304``: 12 h of the stored contacts (36 of them).
POLL_WINDOW = (LISTED_FROM, LISTED_FROM + timedelta(hours=12))

OPERATIONS = ("list", "book", "book-overlap", "poll-200", "poll-304")


@dataclass
class Cell:
    """The answers of one (backend, workers, operation, clients) cell, and the CPU it cost."""

    statuses: Counter[int] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_s)

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s else float("nan")

    def per_request_ms(self, cpu_s: float) -> float:
        return 1000.0 * cpu_s / self.requests if self.requests else float("nan")

    def percentile_ms(self, q: float) -> float:
        if len(self.latencies_s) < 2:
            return 1000.0 * (self.latencies_s[0] if self.latencies_s else float("nan"))
        return 1000.0 * statistics.quantiles(self.latencies_s, n=100, method="inclusive")[round(q) - 1]


#: Returns the raw bytes of the next request of one client (its random generator is the argument).
Request = Callable[[random.Random], bytes]


def http_get(path: str, token: str, extra: str = "") -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n{extra}\r\n").encode()


def http_post_json(path: str, token: str, body: object) -> bytes:
    payload = json.dumps(body).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n").encode() + payload


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (Content-Length framed, as the server's are) and return its status."""
    status = int((await reader.readline()).split(b" ", 2)[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
        elif name.lower() == b"transfer-encoding":
            raise RuntimeError("a chunked answer: this client reads Content-Length framed answers only")
    if length:
        await reader.readexactly(length)
    return status


def server_cpu_s(pid: int) -> float:
    """Return the user + system CPU seconds of process ``pid`` and its descendants (the server's workers)."""
    total = 0.0
    process = psutil.Process(pid)
    for each in (process, *process.children(recursive=True)):
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def load(port: int, server_pid: int, *, clients: int, duration_s: float, request: Request) -> Cell:
    """Return the answers of ``clients`` connections sending ``request()`` back to back for ``duration_s``."""

    async def run() -> Cell:
        connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(clients)]
        cells = [Cell() for _ in range(clients)]
        go = asyncio.Event()

        async def client(index: int) -> None:
            reader, writer = connections[index]
            rng = random.Random(2024 + index)
            mine = cells[index]
            await go.wait()
            deadline = time.monotonic() + duration_s
            while time.monotonic() < deadline:
                data = request(rng)
                sent = time.perf_counter()
                writer.write(data)
                status = await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT_S)
                mine.latencies_s.append(time.perf_counter() - sent)
                mine.statuses[status] += 1
            writer.close()

        tasks = [asyncio.create_task(client(i)) for i in range(clients)]
        await asyncio.sleep(0.2)  # every task waits on ``go``
        server_before, client_before = server_cpu_s(server_pid), time.process_time()
        started = time.monotonic()
        go.set()
        await asyncio.gather(*tasks)
        total = Cell(elapsed_s=time.monotonic() - started, client_cpu_s=time.process_time() - client_before,
                     server_cpu_s=server_cpu_s(server_pid) - server_before)
        for cell in cells:
            total.statuses.update(cell.statuses)
            total.latencies_s.extend(cell.latencies_s)
        return total

    return asyncio.run(run())


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


def double_bookings(database_url: str) -> int:
    """Return the pairs of live contacts on one antenna whose holds overlap (0 unless the guards failed)."""
    engine = create_engine_for(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(OVERLAPPING_PAIRS_SQL)).scalar_one())
    finally:
        engine.dispose()


def schedule_etag(server: ServedApi, world: ServedWorld, path: str) -> str:
    response = httpx.get(f"{server.base_url}{path}", headers=world.headers, timeout=REQUEST_TIMEOUT_S)
    response.raise_for_status()
    return response.headers["etag"]


@dataclass
class Row:
    backend: str
    workers: int
    operation: str
    clients: int
    cell: Cell
    double_bookings: int | None = None  # after the booking cells of this row's operation


def run_backend(backend: str, workers: int, *, seconds: float, clients: list[int], contacts: int,
                operations: list[str]) -> list[Row]:
    """Return a row for every cell on ``backend`` served by ``workers`` processes."""
    rows = []
    with tempfile.TemporaryDirectory() as folder, bench_database(backend, Path(folder), "api") as url, \
            serve(url, Path(folder) / "server.log", workers=workers) as server:
        assert server.process is not None
        world = seed_world(server)
        store_contacts(url, world, contacts)
        slots = itertools.count()  # every booked window is distinct
        token = world.token
        poll_path = (f"/agent/schedule?station_id={world.station_id}&start={POLL_WINDOW[0]:%Y-%m-%dT%H:%MZ}"
                     f"&end={POLL_WINDOW[1]:%Y-%m-%dT%H:%MZ}")

        def book_distinct(_rng: random.Random) -> bytes:
            start = BOOKED_FROM + timedelta(seconds=BOOKED_STEP_S * next(slots))
            return http_post_json("/contacts", token,
                                  contact_body(world, start, start + timedelta(seconds=BOOKED_LENGTH_S)))

        requests: dict[str, Request] = {
            "list": lambda _rng: http_get("/contacts?limit=100", token),
            "book": book_distinct,
            "book-overlap": lambda rng: http_post_json("/contacts", token,
                                                       contact_body(world, *overlapping_window(rng))),
            "poll-200": lambda _rng: http_get(poll_path, token),
        }
        for operation in operations:
            if operation == "poll-304":
                poll_304 = http_get(poll_path, token, f"If-None-Match: {schedule_etag(server, world, poll_path)}\r\n")
                requests[operation] = lambda _rng, request=poll_304: request
            for n in clients:
                cell = load(server.port, server.process.pid, clients=n, duration_s=seconds, request=requests[operation])
                rows.append(Row(backend, workers, operation, n, cell))
                print(f"  {backend:10s} {workers} worker(s) {operation:12s} {n:3d} clients: {format_cell(cell)}",
                      file=sys.stderr, flush=True)
            if operation.startswith("book"):
                rows[-1].double_bookings = double_bookings(url)
                print(f"  {backend:10s} {workers} worker(s) after {operation}: {rows[-1].double_bookings} double "
                      "bookings", file=sys.stderr, flush=True)
    return rows


def format_cell(cell: Cell) -> str:
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(cell.statuses.items()))
    return (f"{cell.rate:8.1f} req/s  p50 {cell.percentile_ms(50):7.1f} ms  p99 {cell.percentile_ms(99):7.1f} ms  "
            f"server CPU {cell.per_request_ms(cell.server_cpu_s):5.2f} ms/req  client CPU "
            f"{cell.per_request_ms(cell.client_cpu_s):5.2f} ms/req  ({cell.requests} requests; {statuses})")


#: The parts of a request the profile reports: (label, file the function is in, function name).
PROFILE_PARTS = (
    ("dependencies (FastAPI)", "fastapi/dependencies/utils.py", "solve_dependencies"),
    ("  current_token: token and organisation", "api/deps.py", "current_token"),
    ("  session_scope: begin, commit", "store/db.py", "session_scope"),
    ("endpoint", "fastapi/routing.py", "run_endpoint_function"),
    ("  queries.page: count and ORM page", "api/queries.py", "page"),
    ("  queries.count_rows: count", "api/queries.py", "count_rows"),
    ("  ORM row loading", "orm/loading.py", "chunks"),
    ("  contact_public: one model per contact", "schemas/contacts.py", "contact_public"),
    ("  store.book_contact", "store/booking.py", "book_contact"),
    ("pydantic validation (all)", "", "<method 'validate_python' of 'pydantic_core._pydantic_core.SchemaValidator' "
                                    "objects>"),
    ("FastAPI's serialize_response: validate and dump", "fastapi/routing.py", "serialize_response"),
    ("pydantic JSON serialisation (all)", "", "<method 'to_json' of 'pydantic_core._pydantic_core.SchemaSerializer' "
                                              "objects>"),
    ("database driver: execute (all)", "", "<method 'execute' of 'sqlite3.Cursor' objects>"),
    ("database driver: execute (all)", "psycopg/cursor.py", "execute"),
)


def profile_in_process(backend: str, operation: str, *, requests: int = 300) -> None:
    """Print CPU per request of ``operation`` in one process without HTTP, and where its profiled time went."""
    import cProfile
    import pstats

    import anyio.to_thread
    from sqlalchemy import event
    from tests.support.worlds import app_on, make_world

    from groundshare.store import Role

    with tempfile.TemporaryDirectory() as folder, app_on(backend, Path(folder)) as app:
        world = make_world(app.state.session_factory)
        kasa = world.kasa
        with session_scope(app.state.session_factory) as session:
            for i in range(3000):
                start = LISTED_FROM + timedelta(seconds=LISTED_STEP_S * i)
                book_contact(session, antenna_id=kasa.antenna_id, satellite_id=kasa.satellite_id, org_id=kasa.id,
                             start=start, end=start + timedelta(minutes=10), rules=UNCHECKED)
        slots = itertools.count()

        async def run() -> None:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                         headers=kasa.auth(Role.OPERATOR)) as client:
                async def one() -> None:
                    if operation == "list":
                        response = await client.get("/contacts", params={"limit": 100})
                    else:
                        start = BOOKED_FROM + timedelta(seconds=BOOKED_STEP_S * next(slots))
                        response = await client.post("/contacts", json={
                            "antenna_id": kasa.antenna_id, "satellite_id": kasa.satellite_id,
                            "allow_outside_pass": True, "start": start.isoformat(),
                            "end": (start + timedelta(seconds=BOOKED_LENGTH_S)).isoformat()})
                    assert response.status_code in (200, 201), response.text

                for _ in range(30):
                    await one()
                rounds_ms = []
                for _ in range(5):
                    began = time.process_time()
                    for _ in range(requests):
                        await one()
                    rounds_ms.append(1000.0 * (time.process_time() - began) / requests)
                print(f"{backend} {operation}: {min(rounds_ms):.2f} ms CPU per request in one process (best of 5 x "
                      f"{requests}; median {statistics.median(rounds_ms):.2f}; httpx's ASGI client included)")

                async def run_inline(func: Callable[..., object], *args: object, **_kwargs: object) -> object:
                    return func(*args)

                statements = [0]
                event.listen(app.state.engine, "before_cursor_execute",
                             lambda *_: statements.__setitem__(0, statements[0] + 1))
                threaded, anyio.to_thread.run_sync = anyio.to_thread.run_sync, run_inline  # profile the pool's work
                profile = cProfile.Profile(time.process_time)
                try:
                    profile.enable()
                    for _ in range(requests):
                        await one()
                    profile.disable()
                finally:
                    anyio.to_thread.run_sync = threaded
                stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
                total = sum(row[2] for row in stats.values())
                print(f"  profiled (cProfile, CPU time; it inflates Python-heavy parts): {1000 * total / requests:.2f} "
                      f"ms per request, {statements[0] / requests:.0f} SQL statements per request")
                for label, suffix, name in PROFILE_PARTS:
                    cumulative = sum(row[3] for (path, _, function), row in stats.items()
                                     if function == name and path.endswith(suffix))
                    if cumulative:
                        print(f"    {label:50s} {100 * cumulative / total:5.1f} % of it")

        asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each cell")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32], help="concurrent clients per cell")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="server processes (serve --workers)")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    parser.add_argument("--operations", nargs="+", default=list(OPERATIONS), choices=OPERATIONS)
    parser.add_argument("--contacts", type=int, default=3000, help="contacts stored before the list cells")
    parser.add_argument("--profile", action="store_true", help="profile list and book in one process, no HTTP")
    args = parser.parse_args()

    if args.profile:
        print(f"load average {os.getloadavg()[0]:.2f} at the start", file=sys.stderr)
        for backend in args.backends:
            for operation in ("list", "book"):
                profile_in_process(backend, operation)
        return
    load_1, load_5, _ = os.getloadavg()
    print(f"groundshare serve on loopback, {os.cpu_count()} CPUs (load average {load_1:.2f} / {load_5:.2f} at the "
          f"start), {args.seconds:g} s per cell, {args.contacts} contacts stored for list", file=sys.stderr)
    table: list[Row] = []
    for backend in args.backends:
        for workers in args.workers:
            try:
                table.extend(run_backend(backend, workers, seconds=args.seconds, clients=args.clients,
                                         contacts=args.contacts, operations=args.operations))
            except DBAPIError as exc:
                print(f"{backend}: skipped, the database is not reachable: {str(exc.orig).strip().splitlines()[0]}",
                      file=sys.stderr)
                break

    load_1, load_5, _ = os.getloadavg()
    print(f"load average at the end: {load_1:.2f} / {load_5:.2f} (1 / 5 min); server CPU is the user + system time "
          "of the server's processes per request, client CPU this load generator's", file=sys.stderr)
    print("| backend | workers | operation | clients | req/s | p50 ms | p99 ms | server CPU ms/req | "
          "client CPU ms/req | answers | double bookings |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for row in table:
        cell = row.cell
        statuses = ", ".join(f"{count} x {status}" for status, count in sorted(cell.statuses.items()))
        doubles = "" if row.double_bookings is None else str(row.double_bookings)
        print(f"| {row.backend} | {row.workers} | {row.operation} | {row.clients} | {cell.rate:.1f} | "
              f"{cell.percentile_ms(50):.1f} | {cell.percentile_ms(99):.1f} | "
              f"{cell.per_request_ms(cell.server_cpu_s):.2f} | {cell.per_request_ms(cell.client_cpu_s):.2f} | "
              f"{statuses} | {doubles} |")


if __name__ == "__main__":
    main()
