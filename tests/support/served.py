"""``groundshare serve`` as a real process on loopback, its network clock, and a world seeded through it.

- ``ServedApi``: the server subprocess (``python -m groundshare.cli serve``, which runs
  uvicorn in its own process, so ``process.pid`` is the server itself and ``kill()``
  sends SIGKILL to the process that holds the database connections); with ``workers=N``
  it serves through N worker processes (``worker_pids()``, their CPU time ``cpu_s()``),
  and ``process`` is their parent;
- ``network_clock``: the served network's clock set for a while (or for good);
- ``seed_world``: an organisation and an operator token made with ``groundshare admin
  create-org`` / ``create-token``, then a station, an antenna and a satellite made with
  ``POST /stations``, ``POST /stations/{id}/antennas`` and ``POST /satellites``.

Used by the service, agent and web tests and by ``bench/api.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from .commands import cli
from .environment import free_port
from .race import RACE_START

#: How long a fresh server may take to migrate its database and answer.
STARTUP_TIMEOUT_S = 60.0
#: Client timeout of one request: generous, since 32 clients queue behind one antenna's lock.
REQUEST_TIMEOUT_S = 60.0


@dataclass
class ServedApi:
    """A ``groundshare serve`` subprocess on loopback; ``stop()`` (or ``kill()``) ends it."""

    database_url: str
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    extra_args: tuple[str, ...] = ()  # more ``serve`` options, e.g. ("--max-body-bytes", "1024")
    workers: int = 1  # server processes (``serve --workers``)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServedApi:
        """Start the server (migrating the database) and return once it answers."""
        command = [sys.executable, "-m", "groundshare.cli", "serve", "--host", "127.0.0.1", "--port",
                   str(self.port), "--database-url", self.database_url, *self.extra_args]
        if self.workers != 1:
            command += ["--workers", str(self.workers)]
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

    def worker_pids(self) -> list[int]:
        """Return the pids of the worker processes of ``serve --workers N`` (the server's ``spawn``-ed children)."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children if _is_worker(int(pid))]

    def cpu_s(self, pid: int) -> float:
        """Return the user + system CPU seconds process ``pid`` has used so far (from /proc)."""
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

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


def _is_worker(pid: int) -> bool:
    """Return whether ``pid`` runs a ``multiprocessing`` spawned worker (not its resource tracker)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return b"spawn_main" in command and b"resource_tracker" not in command


@contextmanager
def serve(database_url: str, log_path: Path, *, workers: int = 1) -> Iterator[ServedApi]:
    """Yield a started server on ``database_url`` (``workers`` processes); stop it at the end (log at ``log_path``)."""
    server = ServedApi(database_url, log_path, workers=workers).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def serve_demo(folder: Path, *, plan_days: float = 0.25) -> Iterator[tuple[ServedApi, dict[str, str]]]:
    """Yield a server on a fresh demo network (SQLite in ``folder``, ``plan_days`` planned) and its tokens by org."""
    url = f"sqlite:///{folder / 'demo.db'}"
    cli("db", "upgrade", database_url=url)
    tokens = dict(line.split("\t") for line in cli("demo", "load", "--plan-days", f"{plan_days:g}",
                                                   database_url=url).splitlines())
    with serve(url, folder / "server.log") as server:
        yield server, tokens


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


@dataclass(frozen=True)
class ServedWorld:
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
               turnaround_s: float = 60.0) -> ServedWorld:
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
    return ServedWorld(org_id, token, station["id"], antenna["id"], satellite["id"])


def _created(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 201:
        raise RuntimeError(f"{response.request.method} {response.request.url} answered {response.status_code}: "
                           f"{response.text}")
    return response.json()
