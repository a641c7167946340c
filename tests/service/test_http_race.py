"""32 clients race to book overlapping windows on one antenna through ``POST /contacts``.

The same storm as ``tests/support/race.py`` (5-minute grid, 5 to 15 minute contacts), but
over HTTP against the real server process: every answer must be 201 or a 409 naming the
contact in the way (never a 5xx), no two live contacts may overlap (counted in SQL), and
the contacts stored must be exactly those acknowledged with 201.

``GROUNDSHARE_RACE_S`` sets the storm's length in seconds (default 30).
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Engine

from tests.support.race import OVERLAPPING_PAIRS_SQL, overlapping_window
from tests.support.served import ServedApi, ServedWorld
from tests.support.storm import storm

pytestmark = [pytest.mark.service, pytest.mark.slow]

THREADS = 32
RACE_S = float(os.environ.get("GROUNDSHARE_RACE_S", "30"))
LIVE_CONTACT_IDS_SQL = "SELECT id FROM contact WHERE status <> 'cancelled'"


def test_clients_racing_for_one_antenna_never_double_book(served: ServedApi, world: ServedWorld, engine: Engine,
                                                         capsys) -> None:
    result = storm(served, world, threads=THREADS, duration_s=RACE_S,
                   window=lambda rng, _thread, _attempt: overlapping_window(rng))
    with engine.connect() as connection:
        overlaps = connection.exec_driver_sql(OVERLAPPING_PAIRS_SQL).scalar_one()
        live_ids = set(connection.exec_driver_sql(LIVE_CONTACT_IDS_SQL).scalars())
    with capsys.disabled():
        print(f"\n{result.summary(f'HTTP race on {engine.dialect.name}, {THREADS} clients')}; "
              f"{overlaps} overlapping pairs stored")

    assert result.server_errors == [], f"{len(result.server_errors)} server errors; first: " \
                                       f"{result.server_errors[0]}\nserver log:\n{served.log()[-4000:]}"
    assert result.unexpected == [] and result.transport_errors == []
    assert set(result.statuses) <= {201, 409}
    assert result.conflicts_without_contact == []
    assert result.booked > 0 and result.conflicts > 0  # the storm did collide
    assert overlaps == 0
    assert len(set(result.booked_ids)) == len(result.booked_ids)
    assert set(result.booked_ids) == live_ids
