"""``groundshare serve`` as a real process on loopback, and a test world seeded through the CLI and the API.

- ``ServedApi``: the server subprocess (``python -m groundshare.cli serve``, which runs
  uvicorn in its own process, so ``process.pid`` is the server itself and ``kill()``
  sends SIGKILL to the process that holds the database connections);
- ``seed_world``: an organisation and an operator token made with ``groundshare admin
  create-org`` / ``create-token``, then a station, an antenna and a satellite made with
  ``POST /stations``, ``POST /stations/{id}/antennas`` and ``POST /satellites``;
- ``storm``: many client threads, each with its own ``httpx.Client``, booking windows
  through ``POST /contacts`` and sorting every response.

Used by the service tests and by ``bench/api.py``.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

#: How long a fresh server may take to migrate its database and answer.
STARTUP_TIMEOUT_S = 60.0
#: Client timeout of one request: generous, since 32 clients queue behind one antenna's lock.
REQUEST_TIMEOUT_S = 60.0

RACE_START = datetime(2025, 11, 7, tzinfo=UTC)  # as tests/store/race.py
SLOT_S = 300  # windows start on a 5-minute grid over one day ...
N_SLOTS = 288
DURATIONS_S = (300, 600, 900)  # ... and last 5 to 15 minutes, so most pairs of attempts overlap


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, database_url: str) -> str:
    """Run ``groundshare <args> --database-url URL`` and return its stdout; raise with stderr if it fails."""
    command = [sys.executable, "-m", "groundshare.cli", *args, "--database-url", database_url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} exited with {done.returncode}:\n{done.stderr}")
    return done.stdout.strip()


@dataclass
class ServedApi:
    """A ``groundshare serve`` subprocess on loopback; ``stop()`` (or ``kill()``) ends it."""

    database_url: str
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    extra_args: tuple[str, ...] = ()  # more ``serve`` options, e.g. ("--max-body-bytes", "1024")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServedApi:
        """Start the server (migrating the database) and return once it answers."""
        command = [sys.executable, "-m", "groundshare.cli", "serve", "--host", "127.0.0.1", "--port",
                   str(self.port), "--database-url", self.database_url, *self.extra_args]
        with self.log_path.open("ab") as log:
            # stderr to a file, not a pipe: a chatty server must never block on a full pipe.
            self.process = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"groundshare serve exited with {self.process.returncode} before answering; "
                                   f"its output:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/openapi.json", timeout=2.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"groundshare serve did not answer within {STARTUP_TIMEOUT_S:g} s; its output:\n"
                           f"{self.log()}")

    def log(self) -> str:
        """Return what the server wrote to stdout and stderr so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def memory_kb(self, name: str = "VmRSS") -> int:
        """Return a memory figure of the server process from /proc (VmRSS: resident now; VmHWM: its peak), kB."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
        raise KeyError(name)

    def kill(self) -> None:
        """SIGKILL the server process: no shutdown, no commit of what is in flight."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM), killing it if it does not exit in 15 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


@contextmanager
def serve(database_url: str, log_path: Path) -> Iterator[ServedApi]:
    """Yield a started server on ``database_url``; stop it at the end (its log is kept at ``log_path``)."""
    server = ServedApi(database_url, log_path).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class World:
    """What ``seed_world`` made: the ids to book with and the operator's bearer token."""

    org_id: int
    token: str
    station_id: int
    antenna_id: int
    satellite_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def seed_world(server: ServedApi, *, name: str = "Korea AeroSpace Administration", norad_id: int = 40001,
               turnaround_s: float = 60.0) -> World:
    """Create an organisation and token with the CLI, then a station, antenna and satellite with the API."""
    org_id = int(cli("admin", "create-org", name, "--kind", "agency", database_url=server.database_url))
    token = cli("admin", "create-token", "--org", name, "--role", "operator", "--label", "service tests",
                database_url=server.database_url)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=REQUEST_TIMEOUT_S) as client:
        station = _created(client.post("/stations", json={
            "name": "daejeon-1", "lat_deg": 36.3725, "lon_deg": 127.359, "alt_m": 80.0, "min_elevation_deg": 5.0}))
        antenna = _created(client.post(f"/stations/{station['id']}/antennas", json={
            "name": "uhf-yagi", "band": "uhf", "setup_s": 30.0, "turnaround_s": turnaround_s}))
        satellite = _created(client.post("/satellites", json={"norad_id": norad_id, "name": "NEXUS",
                                                              "is_public": True}))
    set_clock(server.database_url, RACE_START - timedelta(days=2))
    return World(org_id, token, station["id"], antenna["id"], satellite["id"])


def set_clock(database_url: str, network_at: datetime) -> None:
    """Anchor the served network's clock at ``network_at`` (as the demo's is), so the race's days are ahead."""
    with network_clock(database_url, network_at, restore=False):
        pass


@contextmanager
def network_clock(database_url: str, network_at: datetime | None, *, restore: bool = True) -> Iterator[None]:
    """Run the network of ``database_url`` at ``network_at`` from now (None: at the wall clock).

    With ``restore``, the clock as it was is put back at the end.
    """
    from groundshare.store import (
        clear_network_clock,
        create_engine_for,
        make_session_factory,
        network_time,
        session_scope,
        set_network_clock,
    )

    engine = create_engine_for(database_url)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory) as session:
            before = network_time(session)
            if network_at is None:
                clear_network_clock(session)
            else:
                set_network_clock(session, network_at, reason="tests")
        yield
    finally:
        if restore:
            with session_scope(factory) as session:
                if before.network_at is None or before.wall_at is None:
                    clear_network_clock(session)
                else:
                    set_network_clock(session, before.network_at, wall_at=before.wall_at, reason=before.reason)
        engine.dispose()


def _created(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 201:
        raise RuntimeError(f"{response.request.method} {response.request.url} answered {response.status_code}: "
                           f"{response.text}")
    return response.json()


def contact_body(world: World, start: datetime, end: datetime) -> dict[str, Any]:
    """Return the body of ``POST /contacts`` booking the world's antenna over ``[start, end)``.

    The world's organisation operates its satellite, which has no element set: it books outside a pass.
    """
    return {"antenna_id": world.antenna_id, "satellite_id": world.satellite_id, "allow_outside_pass": True,
            "start": start.isoformat().replace("+00:00", "Z"), "end": end.isoformat().replace("+00:00", "Z")}


def overlapping_window(rng: random.Random) -> tuple[datetime, datetime]:
    """Return a window on the 5-minute grid of one day, 5 to 15 minutes long (most pairs overlap)."""
    start = RACE_START + timedelta(seconds=SLOT_S * rng.randrange(N_SLOTS))
    return start, start + timedelta(seconds=rng.choice(DURATIONS_S))


@dataclass
class StormResult:
    """Every response of a booking storm, sorted."""

    attempts: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    booked_ids: list[int] = field(default_factory=list)  # ids acknowledged with 201
    conflicts_without_contact: list[str] = field(default_factory=list)  # 409 bodies that name no contact
    transport_errors: list[str] = field(default_factory=list)  # no response (e.g. the server was killed)
    server_errors: list[str] = field(default_factory=list)  # >= 500: status and body
    unexpected: list[str] = field(default_factory=list)  # any other status
    latencies_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def booked(self) -> int:
        return self.statuses[201]

    @property
    def conflicts(self) -> int:
        return self.statuses[409]

    def summary(self, label: str) -> str:
        rate = self.attempts / self.elapsed_s if self.elapsed_s else 0.0
        return (f"{label}: {self.attempts} attempts in {self.elapsed_s:.1f} s ({rate:.1f} req/s), "
                f"{self.booked} booked (201), {self.conflicts} conflicts (409), "
                f"{len(self.server_errors)} server errors (>= 500), {len(self.unexpected)} other statuses, "
                f"{len(self.transport_errors)} without a response")


Window = Callable[[random.Random, int, int], tuple[datetime, datetime]]


def storm(server: ServedApi, world: World, *, threads: int, duration_s: float, window: Window,
          seed: int = 2024, stop: threading.Event | None = None,
          acknowledged: list[int] | None = None) -> StormResult:
    """Return the sorted responses of ``threads`` clients booking ``window(rng, thread, attempt)`` in a loop.

    Each thread has its own ``httpx.Client`` (its own connection).  The storm ends after
    ``duration_s``, or when ``stop`` is set; a thread whose request gets no response (the
    server is gone) stops at once.  ``acknowledged``, if given, receives each 201's
    contact id as it arrives (for a caller watching the storm from another thread).
    """
    barrier = threading.Barrier(threads + 1)
    results = [StormResult() for _ in range(threads)]
    stop = stop or threading.Event()

    def worker(index: int) -> None:
        rng = random.Random(seed + index)
        mine = results[index]
        with httpx.Client(base_url=server.base_url, headers=world.headers, timeout=REQUEST_TIMEOUT_S) as client:
            barrier.wait()
            deadline = time.monotonic() + duration_s
            while time.monotonic() < deadline and not stop.is_set():
                start, end = window(rng, index, mine.attempts)
                mine.attempts += 1
                sent = time.perf_counter()
                try:
                    response = client.post("/contacts", json=contact_body(world, start, end))
                except httpx.TransportError as exc:
                    mine.transport_errors.append(f"{type(exc).__name__}: {exc}")
                    return
                mine.latencies_s.append(time.perf_counter() - sent)
                mine.statuses[response.status_code] += 1
                if response.status_code == 201:
                    mine.booked_ids.append(response.json()["id"])
                    if acknowledged is not None:
                        acknowledged.append(mine.booked_ids[-1])  # list.append is atomic
                elif response.status_code == 409:
                    detail = response.json()["detail"][0]
                    if not isinstance(detail.get("ctx", {}).get("contact_id"), int):
                        mine.conflicts_without_contact.append(response.text)
                elif response.status_code >= 500:
                    mine.server_errors.append(f"{response.status_code} {response.text}")
                else:
                    mine.unexpected.append(f"{response.status_code} {response.text}")

    pool = [threading.Thread(target=worker, args=(i,), name=f"client-{i}") for i in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.monotonic()
    for thread in pool:
        thread.join()
    total = StormResult(elapsed_s=time.monotonic() - started)
    for result in results:
        total.attempts += result.attempts
        total.statuses.update(result.statuses)
        total.booked_ids.extend(result.booked_ids)
        for name in ("conflicts_without_contact", "transport_errors", "server_errors", "unexpected", "latencies_s"):
            getattr(total, name).extend(getattr(result, name))
    return total


def stored_contacts(server: ServedApi, world: World) -> list[dict[str, Any]]:
    """Return every contact the world's organisation sees, through ``GET /contacts`` page by page."""
    contacts: list[dict[str, Any]] = []
    with httpx.Client(base_url=server.base_url, headers=world.headers, timeout=REQUEST_TIMEOUT_S) as client:
        while True:
            response = client.get("/contacts", params={"offset": len(contacts), "limit": 500})
            response.raise_for_status()
            page = response.json()
            contacts.extend(page["data"])
            if not page["data"] or len(contacts) >= page["count"]:
                return contacts
