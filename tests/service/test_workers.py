"""``groundshare serve --workers 2``: two server processes on one socket, on SQLite and on PostgreSQL.

Clients race to book overlapping windows of one antenna through both processes: every
answer is a 201 or a 409 naming the contact in the way, no two live contacts overlap
(counted in SQL) and the contacts stored are exactly those acknowledged.  Both worker
processes must have served (each spent CPU time on the storm, read from /proc: an idle
worker spends next to none).  SIGTERM to the parent stops every worker, with a live frame
stream open, long before ``ServedApi.stop()`` would kill them.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.race import OVERLAPPING_PAIRS_SQL, overlapping_window
from tests.support.served import REQUEST_TIMEOUT_S, ServedApi, ServedWorld, seed_world, serve
from tests.support.storm import storm

pytestmark = [pytest.mark.service, pytest.mark.slow]

WORKERS = 2
THREADS = 16
STORM_S = 3.0
#: CPU seconds a worker that answered part of the storm has surely spent (an idle one spends a few milliseconds).
SERVED_CPU_S = 0.1
LIVE_CONTACT_IDS_SQL = "SELECT id FROM contact WHERE status <> 'cancelled'"


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[ServedApi]:
    with serve(database_url, tmp_path / "server.log", workers=WORKERS) as server:
        yield server


@pytest.fixture
def world(served: ServedApi) -> ServedWorld:
    return seed_world(served)


def test_two_workers_share_the_clients_and_never_double_book(served: ServedApi, world: ServedWorld,
                                                             engine: Engine) -> None:
    pids = served.worker_pids()
    assert len(pids) == WORKERS, served.log()
    before = {pid: served.cpu_s(pid) for pid in pids}
    result = storm(served, world, threads=THREADS, duration_s=STORM_S,
                   window=lambda rng, _thread, _attempt: overlapping_window(rng))
    spent_s = {pid: served.cpu_s(pid) - before[pid] for pid in pids}
    with engine.connect() as connection:
        overlaps = connection.exec_driver_sql(OVERLAPPING_PAIRS_SQL).scalar_one()
        live_ids = set(connection.exec_driver_sql(LIVE_CONTACT_IDS_SQL).scalars())

    assert result.server_errors == [] and result.unexpected == [] and result.transport_errors == [], served.log()
    assert result.booked > 0 and result.conflicts > 0  # the storm did collide
    assert result.conflicts_without_contact == []
    assert overlaps == 0
    assert set(result.booked_ids) == live_ids and len(result.booked_ids) == len(live_ids)
    assert all(cpu_s > SERVED_CPU_S for cpu_s in spent_s.values()), spent_s  # both processes answered
    assert served.worker_pids() == pids  # none died and was replaced


def open_frame_stream(served: ServedApi, world: ServedWorld) -> socket.socket:
    """Open ``GET /satellites/{id}/frames/stream`` on a raw connection; return it once the stream has begun."""
    connection = socket.create_connection(("127.0.0.1", served.port), timeout=REQUEST_TIMEOUT_S)
    connection.sendall(f"GET /satellites/{world.satellite_id}/frames/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       f"Authorization: Bearer {world.token}\r\n\r\n".encode())
    received = b""
    while b"retry:" not in received:
        chunk = connection.recv(4096)
        assert chunk, f"the stream closed before it began: {received!r}"
        received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received
    return connection


def test_sigterm_stops_every_worker_promptly_with_a_stream_open(served: ServedApi, world: ServedWorld) -> None:
    pids = served.worker_pids()
    streams = [open_frame_stream(served, world) for _ in range(2)]
    try:
        assert served.process is not None
        served.process.send_signal(signal.SIGTERM)
        # Each worker ends its streams at their next poll and exits; the parent exits once they have, long before
        # ServedApi.stop() would kill it (and the workers would then be orphans still running).
        served.process.wait(timeout=20)
        assert served.process.returncode == 0, served.log()
    finally:
        for stream in streams:
            stream.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
