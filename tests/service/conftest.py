"""Service fixtures: the real ``groundshare serve`` process, on SQLite and on PostgreSQL.

Each test gets a fresh database (a file in its ``tmp_path``, or a uniquely named
PostgreSQL database, skipped with the reason without a server and failing under CI, as
``tests/support/databases.py`` makes them), a server on a free loopback port, and a world
seeded through the CLI and the REST API (``tests/support/served.py``'s ``seed_world``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from groundshare.store import create_engine_for
from tests.support.databases import BACKENDS, empty_database_url
from tests.support.served import ServedApi, ServedWorld, seed_world, serve


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of the backend, made for this test."""
    with empty_database_url(request.param, tmp_path, "service") as url:
        yield url


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[ServedApi]:
    """A ``groundshare serve`` process on the test's database; its log is shown if a test fails."""
    with serve(database_url, tmp_path / "server.log") as server:
        yield server


@pytest.fixture
def world(served: ServedApi) -> ServedWorld:
    return seed_world(served)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine of the test's own on the served database, for checks in SQL."""
    engine = create_engine_for(database_url)
    yield engine
    engine.dispose()
