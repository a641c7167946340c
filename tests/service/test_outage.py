"""The database goes away under load: every request then answers 503 with Retry-After, never 500.

PostgreSQL: a private cluster of the test's own (``initdb`` and ``pg_ctl`` from
``/usr/lib/postgresql/*/bin``, as the ``postgres`` user when the test runs as root, on a
free port in a temporary folder; never the machine's shared cluster) serves a real
``groundshare serve``.  16 clients book through ``POST /contacts`` (half on windows of
their own, half on overlapping ones), each retrying a refused request with its
idempotency key.  Mid-storm the cluster is stopped with ``-m immediate`` (a crash: no
checkpoint, connections cut), left down for ``OUTAGE_S``, and started again (crash
recovery; "the database system is starting up" until it is done).  Then:

- every answer while it was down is a 503 with ``Retry-After`` (none is a 500);
- the server's log has no traceback, and one line when the outage began and one when it
  ended, counting the requests refused;
- bookings succeed again once it is back, every booking acknowledged with 201 is stored,
  no two contacts of the antenna overlap, and no idempotency key made two contacts.

Without PostgreSQL's binaries the test is skipped with the reason, except in CI
(``CI`` set), where it fails, as in ``tests/support/databases.py``.

SQLite: the database file cannot be opened ("unable to open database file") while its
folder is moved away; the same 503 and the same two log lines.
"""

from __future__ import annotations

import logging
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from groundshare.api import Settings, create_app
from groundshare.api.deps import SessionDep
from groundshare.store import ApiToken, Organisation, OrgKind, Role, session_scope
from groundshare.timeutil import utc_now
from tests.support.databases import postgres_database
from tests.support.environment import free_port, unavailable
from tests.support.race import OVERLAPPING_PAIRS_SQL
from tests.support.served import REQUEST_TIMEOUT_S, ServedApi, ServedWorld, seed_world, serve

THREADS = 16
#: Stop the cluster once this many bookings are acknowledged (waiting at most STORM_WAIT_S).
BOOKINGS_BEFORE_CRASH = 30
STORM_WAIT_S = 20.0
#: How long the database stays down.
OUTAGE_S = 3.0
#: After the restart, storm on until this many more bookings are acknowledged (at most STORM_WAIT_S).
BOOKINGS_AFTER_RESTART = 20
#: A refused client waits Retry-After, but at most this (the test wants to see many refusals).
MAX_CLIENT_WAIT_S = 0.2
#: Windows: even clients book windows of their own (10-minute grid), odd ones overlapping windows of one day.
WINDOW_LENGTH_S = 300


# -- a private PostgreSQL cluster ------------------------------------------------------------------------------


def _unavailable(reason: str) -> None:
    unavailable(f"no private PostgreSQL cluster for the outage test: {reason}", what="this test")


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    if on_path is None:
        _unavailable("initdb and pg_ctl are neither in /usr/lib/postgresql/*/bin nor on PATH (install PostgreSQL's "
                     "server package)")
    return Path(on_path).parent


@dataclass
class PrivateCluster:
    """A PostgreSQL cluster in a temporary folder, on a free port, that the test may crash at will."""

    bin_dir: Path
    folder: Path
    port: int = field(default_factory=free_port)

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/groundshare"

    def _run(self, *args: str, timeout_s: float = 60.0) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8",
                  "--locale=C")

    def start(self) -> None:
        # fsync off: the test crashes the server processes, never the machine, so what reached the OS is kept.
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.folder / "postgres.log"), "-w", "-t", "60",
                  "-o", options, "start")

    def crash(self) -> None:
        """Stop with ``-m immediate``: every server process quits at once, as in a crash."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    bin_dir = _postgres_bin()
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _unavailable("running as root, and runuser (to run PostgreSQL as the postgres user) is missing")
    folder = Path(tempfile.mkdtemp(prefix="groundshare-outage-"))
    cluster = PrivateCluster(bin_dir, folder)
    try:
        try:
            if os.geteuid() == 0:
                shutil.chown(folder, user="postgres")
            cluster.init()
            cluster.start()
            for database, statement in (("postgres", "CREATE DATABASE groundshare"),
                                        ("groundshare", "CREATE EXTENSION btree_gist")):
                admin = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/{database}",
                                      isolation_level="AUTOCOMMIT", poolclass=NullPool)
                with admin.connect() as connection:
                    connection.exec_driver_sql(statement)
                admin.dispose()
        except (RuntimeError, OSError, LookupError, subprocess.TimeoutExpired, DBAPIError) as exc:
            _unavailable(f"{type(exc).__name__}: {exc}")
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


# -- the storm ---------------------------------------------------------------------------------------------------


@dataclass
class Seen:
    """One answer: when it came (monotonic s), its status, Retry-After and error type."""

    at_s: float
    status: int
    retry_after: str | None
    type: str | None
    text: str


@dataclass
class Storm:
    seen: list[Seen] = field(default_factory=list)
    acknowledged: dict[str, int] = field(default_factory=dict)  # idempotency key -> contact id (201)
    transport_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def booked_since(self, at_s: float) -> int:
        with self.lock:
            return sum(1 for s in self.seen if s.status == 201 and s.at_s >= at_s)


def _window_body(world: ServedWorld, rng: random.Random, thread: int, attempt: int, base) -> dict[str, Any]:
    if thread % 2 == 0:  # a window of its own
        start = base + timedelta(seconds=600 * (attempt * THREADS + thread))
    else:  # a window on a 5-minute grid of one day, two weeks later: most pairs overlap
        start = base + timedelta(days=14, seconds=300 * rng.randrange(288))
    end = start + timedelta(seconds=WINDOW_LENGTH_S)
    return {"antenna_id": world.antenna_id, "satellite_id": world.satellite_id, "allow_outside_pass": True,
            "start": start.isoformat().replace("+00:00", "Z"), "end": end.isoformat().replace("+00:00", "Z"),
            "idempotency_key": f"outage-{thread}-{attempt}"}


def run_storm(server: ServedApi, world: ServedWorld, storm: Storm, stop: threading.Event) -> list[threading.Thread]:
    """Start ``THREADS`` clients booking until ``stop``; a 503 is retried with the same idempotency key."""
    base = (utc_now() + timedelta(days=30)).replace(hour=0, minute=0, second=0, microsecond=0)

    def client(thread: int) -> None:
        rng = random.Random(thread)
        with httpx.Client(base_url=server.base_url, headers=world.headers, timeout=REQUEST_TIMEOUT_S) as http:
            attempt = 0
            while not stop.is_set():
                body = _window_body(world, rng, thread, attempt, base)
                attempt += 1
                while not stop.is_set():  # the same request until it is answered for good
                    try:
                        response = http.post("/contacts", json=body)
                    except httpx.TransportError as exc:
                        storm.transport_errors.append(f"{type(exc).__name__}: {exc}")
                        time.sleep(MAX_CLIENT_WAIT_S)
                        continue
                    detail = response.json().get("detail") if response.status_code >= 400 else None
                    seen = Seen(time.monotonic(), response.status_code, response.headers.get("retry-after"),
                                detail[0]["type"] if isinstance(detail, list) and detail else None, response.text)
                    with storm.lock:
                        storm.seen.append(seen)
                        if response.status_code == 201:
                            storm.acknowledged[body["idempotency_key"]] = response.json()["id"]
                    if response.status_code != 503:
                        break
                    time.sleep(min(float(seen.retry_after or 1), MAX_CLIENT_WAIT_S))

    threads = [threading.Thread(target=client, args=(i,), name=f"client-{i}") for i in range(THREADS)]
    for thread in threads:
        thread.start()
    return threads


def wait_until(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


OUTAGE_BEGAN = re.compile(r"database unavailable since \S+: .+; answering 503 with Retry-After until it is back")
OUTAGE_ENDED = re.compile(r"database available again at \S+ after ([0-9.]+) s; (\d+) requests were refused with "
                          r"503 meanwhile")


@pytest.mark.service
@pytest.mark.hardware
@pytest.mark.slow
def test_a_postgresql_crash_mid_storm_answers_503_and_loses_nothing(tmp_path: Path, capsys) -> None:
    with private_cluster() as cluster, serve(cluster.url, tmp_path / "server.log") as server:
        world = seed_world(server)
        storm, stop = Storm(), threading.Event()
        threads = run_storm(server, world, storm, stop)
        try:
            assert wait_until(lambda: len(storm.acknowledged) >= BOOKINGS_BEFORE_CRASH, STORM_WAIT_S), \
                f"only {len(storm.acknowledged)} bookings before the crash"
            down_s = time.monotonic()
            cluster.crash()
            stopped_s = time.monotonic()
            time.sleep(OUTAGE_S)
            restart_s = time.monotonic()
            cluster.start()
            up_s = time.monotonic()
            assert wait_until(lambda: storm.booked_since(up_s) >= BOOKINGS_AFTER_RESTART, STORM_WAIT_S), \
                f"only {storm.booked_since(up_s)} bookings after the restart"
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=REQUEST_TIMEOUT_S)
        log = server.log()
        engine = create_engine(cluster.url.replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool)
        with engine.connect() as connection:
            stored = dict(connection.exec_driver_sql("SELECT idempotency_key, id FROM contact").all())
            overlaps = connection.exec_driver_sql(OVERLAPPING_PAIRS_SQL).scalar_one()
            twice = connection.exec_driver_sql(
                "SELECT count(*) FROM (SELECT idempotency_key FROM contact GROUP BY org_id, idempotency_key "
                "HAVING count(*) > 1) AS d").scalar_one()
        engine.dispose()

    statuses = Counter(s.status for s in storm.seen)
    refused = [s for s in storm.seen if s.status == 503]
    while_down = [s for s in storm.seen if stopped_s <= s.at_s <= restart_s]
    first_after = min((s.at_s for s in storm.seen if s.status == 201 and s.at_s >= restart_s), default=None)
    ended = OUTAGE_ENDED.findall(log)
    with capsys.disabled():
        print(f"\nPostgreSQL crash mid-storm, {THREADS} clients: statuses {dict(sorted(statuses.items()))}; "
              f"{len(while_down)} answers while down, all {sorted(Counter(s.status for s in while_down).items())}; "
              f"503 types {dict(Counter(s.type for s in refused))}; crash took {stopped_s - down_s:.2f} s, restart "
              f"{up_s - restart_s:.2f} s; first booking {first_after - up_s if first_after else float('nan'):+.2f} s "
              f"after pg_ctl start returned; {len(storm.acknowledged)} acknowledged, {len(stored)} stored, "
              f"{overlaps} overlapping pairs; server log: {len(log.splitlines())} lines, outage lines "
              f"{len(OUTAGE_BEGAN.findall(log))} + {len(ended)} {ended}")

    assert statuses[500] == 0, [s.text for s in storm.seen if s.status >= 500 and s.status != 503][:3]
    assert set(statuses) <= {201, 409, 503}, {s.status: s.text for s in storm.seen}
    assert while_down and all(s.status == 503 for s in while_down)
    assert all(s.retry_after is not None and int(s.retry_after) >= 1 for s in refused)
    assert {s.type for s in refused} <= {"unavailable", "outcome_unknown"}
    assert storm.transport_errors == []  # the server itself stayed up and answered every request
    assert "Traceback" not in log and "Exception" not in log, log[-3000:]
    assert len(OUTAGE_BEGAN.findall(log)) == 1 and len(ended) == 1, log[-3000:]
    assert int(ended[0][1]) == len(refused)
    assert first_after is not None
    assert set(storm.acknowledged.items()) <= set(stored.items()), "acknowledged but not stored"
    assert overlaps == 0 and twice == 0


def test_an_unopenable_sqlite_file_answers_503_and_logs_the_outage_once(tmp_path: Path, caplog) -> None:
    folder = tmp_path / "data"
    app = create_app(Settings(database_url=f"sqlite:///{folder / 'groundshare.db'}"))
    with session_scope(app.state.session_factory) as session:
        org = Organisation(name="Agencia Espacial Mexicana", kind=OrgKind.AGENCY)
        session.add(org)
        session.flush()
        row, token = ApiToken.issue(org.id, Role.VIEWER)
        session.add(row)
    headers = {"Authorization": f"Bearer {token}"}
    caplog.set_level(logging.WARNING, logger="groundshare.api.errors")
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.get("/stations", headers=headers).status_code == 200
            app.state.engine.dispose()  # close the open connections: the next ones open the file anew
            folder.rename(tmp_path / "moved")
            answers = [client.get("/stations", headers=headers) for _ in range(3)]
            answers.append(client.post("/stations", json={"name": "x", "lat_deg": 0, "lon_deg": 0}, headers=headers))
            (tmp_path / "moved").rename(folder)
            back = client.get("/stations", headers=headers)
    finally:
        app.state.engine.dispose()
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "2"
        assert answer.json() == {"detail": [{"loc": [], "type": "unavailable", "msg": (
            "the database is unavailable (down, restarting or unreachable) and the request was not completed; "
            "nothing was written: retry after Retry-After seconds")}]}
    assert back.status_code == 200
    messages = [r.getMessage() for r in caplog.records if r.name == "groundshare.api.errors"]
    assert len(messages) == 2, messages
    assert OUTAGE_BEGAN.fullmatch(messages[0]) and "unable to open database file" in messages[0]
    assert OUTAGE_ENDED.fullmatch(messages[1]) and OUTAGE_ENDED.fullmatch(messages[1]).group(2) == "4"
    assert all(r.exc_info is None for r in caplog.records)


def test_a_commit_cut_off_says_the_outcome_is_unknown(tmp_path: Path, caplog) -> None:
    """The connection dies between the last write and COMMIT: 503 "outcome unknown", not "nothing was written"."""
    with postgres_database("outage") as url:
        app = create_app(Settings(database_url=url.render_as_string(hide_password=False)))
        killer = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")

        @app.post("/test/write-then-lose-the-connection", tags=["test"])
        def write_then_lose_the_connection(session: SessionDep) -> dict[str, int]:
            session.add(Organisation(name="maybe stored", kind=OrgKind.COMPANY))
            session.flush()  # written, not committed
            pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            with killer.connect() as connection:
                connection.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
            return {"pid": pid}  # the unit of work commits after this, on a connection that is gone

        caplog.set_level(logging.WARNING, logger="groundshare.api.errors")
        try:
            with TestClient(app, raise_server_exceptions=False) as client:
                response = client.post("/test/write-then-lose-the-connection")
        finally:
            killer.dispose()
            app.state.engine.dispose()
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "2"
    [error] = response.json()["detail"]
    assert error["type"] == "outcome_unknown"
    assert error["msg"].startswith("the database connection was lost while the request was being committed, so the "
                                   "outcome is unknown: it may or may not have been stored. Retrying with the same "
                                   "idempotency key is safe")
    assert all(r.exc_info is None for r in caplog.records)
