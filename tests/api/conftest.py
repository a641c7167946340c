"""API fixtures: every test that takes ``client`` runs on SQLite and on PostgreSQL.

One application per backend for the whole session (``create_app(Settings(...))`` on a
fresh database, made when a test first needs it; PostgreSQL as in
``tests/support/databases.py``: skipped with the reason without a server, failing under
CI); the tables are emptied after each test.  ``world`` is the three organisations of
``tests/support/worlds.py``; ``elements`` gives their satellites real element sets.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from groundshare.orbits import ElementSet
from tests.support.databases import BACKENDS, PerBackend, clear_tables
from tests.support.worlds import World, app_on, give_cubesat_elements, make_world


@pytest.fixture(scope="session")
def _apps(tmp_path_factory) -> Iterator[PerBackend[FastAPI]]:
    """The application of each backend, on a freshly created database, made when first needed."""
    apps = PerBackend(lambda backend: app_on(backend, tmp_path_factory.mktemp("api")))
    yield apps
    apps.close()


@pytest.fixture(params=BACKENDS)
def app(request, _apps: PerBackend[FastAPI]) -> FastAPI:
    """The backend's application: one per backend for the whole session."""
    return _apps.get(request.param)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client of the backend's application; every table is empty again after the test."""
    try:
        yield TestClient(app)
    finally:
        clear_tables(app.state.engine)


@pytest.fixture
def world(client: TestClient, app: FastAPI) -> World:
    return make_world(app.state.session_factory)


@pytest.fixture
def elements(app: FastAPI, world: World) -> dict[str, ElementSet]:
    """The world's satellites with real element sets (``give_cubesat_elements``): each organisation's set."""
    return give_cubesat_elements(app, world)
