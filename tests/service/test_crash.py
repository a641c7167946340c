"""``kill -9`` the server in the middle of a booking storm; every acknowledged booking survives.

16 clients book through ``POST /contacts`` (half on distinct windows, so most succeed;
half on overlapping ones, so the antenna's lock and guard are busy too).  Once enough
bookings are acknowledged the server process gets SIGKILL (no shutdown, no cleanup),
then a new server starts on the same database.  Every contact acknowledged with 201
before the kill must be there, no two live contacts may overlap, and the new server
must book normally.  Requests in flight at the kill may or may not be stored.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from tests.support.race import OVERLAPPING_PAIRS_SQL, RACE_START, overlapping_window
from tests.support.served import REQUEST_TIMEOUT_S, ServedApi, ServedWorld, serve
from tests.support.storm import contact_body, stored_contacts, storm

pytestmark = [pytest.mark.service, pytest.mark.slow]

THREADS = 16
#: Kill once this many bookings are acknowledged (waiting at most KILL_WAIT_S); the storm would run on for minutes.
KILL_AFTER_BOOKINGS = 40
KILL_WAIT_S = 60.0
#: Distinct windows start from day 2 on a 10-minute grid and last 5 minutes (plus the 60 s turnaround).
DISTINCT_FROM = RACE_START + timedelta(days=2)
DISTINCT_STEP_S = 600
DISTINCT_LENGTH_S = 300


def distinct_or_overlapping(rng: random.Random, thread: int, attempt: int) -> tuple[datetime, datetime]:
    """Even threads: a window of their own; odd threads: a window that likely overlaps others'."""
    if thread % 2:
        return overlapping_window(rng)
    start = DISTINCT_FROM + timedelta(seconds=DISTINCT_STEP_S * (attempt * THREADS + thread))
    return start, start + timedelta(seconds=DISTINCT_LENGTH_S)


def test_acknowledged_bookings_survive_kill_9(served: ServedApi, world: ServedWorld, engine: Engine, tmp_path: Path,
                                             capsys) -> None:
    stop = threading.Event()
    outcome = {}
    live: list[int] = []
    storming = threading.Thread(target=lambda: outcome.setdefault("result", storm(
        served, world, threads=THREADS, duration_s=300.0, window=distinct_or_overlapping, stop=stop,
        acknowledged=live)))
    storming.start()
    waited_until = time.monotonic() + KILL_WAIT_S
    while len(live) < KILL_AFTER_BOOKINGS and time.monotonic() < waited_until and storming.is_alive():
        time.sleep(0.05)
    pid = served.process.pid
    served.kill()  # SIGKILL to the uvicorn process itself (serve runs uvicorn in-process)
    storming.join(timeout=REQUEST_TIMEOUT_S + 30)
    stop.set()
    assert not storming.is_alive()
    result = outcome["result"]
    acknowledged = set(result.booked_ids)
    try:
        httpx.get(f"{served.base_url}/openapi.json", timeout=2.0)
        answered_after_kill = True
    except httpx.TransportError:
        answered_after_kill = False

    with serve(served.database_url, tmp_path / "restarted.log") as restarted:
        stored = {c["id"]: c for c in stored_contacts(restarted, world)}
        with httpx.Client(base_url=restarted.base_url, headers=world.headers, timeout=REQUEST_TIMEOUT_S) as client:
            after = client.post("/contacts", json=contact_body(world, RACE_START - timedelta(days=1),
                                                               RACE_START - timedelta(days=1, minutes=-10)))
            again = client.get("/contacts", params={"limit": 1})
    with engine.connect() as connection:
        overlaps = connection.exec_driver_sql(OVERLAPPING_PAIRS_SQL).scalar_one()
    with capsys.disabled():
        print(f"\n{result.summary(f'crash storm on {engine.dialect.name}, {THREADS} clients, kill -9 of pid {pid}')}"
              f"; {len(stored)} contacts stored after the restart ({len(set(stored) - acknowledged)} of them "
              f"unacknowledged, in flight at the kill), {overlaps} overlapping pairs")

    assert not answered_after_kill, "the killed process was not the server: the port still answers"
    assert len(acknowledged) >= KILL_AFTER_BOOKINGS, "too few bookings were acknowledged before the kill"
    assert result.transport_errors, "no request was in flight at the kill; kill earlier or storm harder"
    assert result.server_errors == [] and result.unexpected == []
    assert acknowledged <= set(stored), f"acknowledged but lost: {sorted(acknowledged - set(stored))}"
    assert all(stored[i]["status"] == "scheduled" for i in acknowledged)
    assert overlaps == 0
    assert after.status_code == 201, after.text
    assert after.json()["id"] not in stored
    assert again.status_code == 200 and again.json()["count"] == len(stored) + 1
