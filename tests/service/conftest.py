"""Service fixtures: the real ``groundshare serve`` process, on SQLite and on PostgreSQL.

Each test gets a fresh database (a file in its ``tmp_path``, or a uniquely named
PostgreSQL database, skipped with the reason without a server and failing under CI, as
in ``tests/store/conftest.py``), a server on a free loopback port, and a world seeded
through the CLI and the REST API (``server.seed_world``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from groundshare.store import create_engine_for
from tests.service.server import ServedApi, World, seed_world, serve
from tests.store.conftest import BACKENDS, empty_database_url


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
def world(served: ServedApi) -> World:
    return seed_world(served)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine of the test's own on the served database, for checks in SQL."""
    engine = create_engine_for(database_url)
    yield engine
    engine.dispose()
