"""Fixtures of the fetcher tests: the fake CelesTrak and Space-Track, and the store on SQLite and PostgreSQL.

``sites`` is ``tests/support/orbit_sites.py``'s server on loopback, empty; ``engine`` and
``factory`` are the store's (``tests/store/conftest.py``): every test that takes them runs
on both backends, with empty tables after it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from groundshare.store import make_session_factory
from tests.support.databases import BACKENDS, PerBackend, clear_tables, initialised_engine
from tests.support.orbit_sites import OrbitSites, served


@pytest.fixture
def sites() -> Iterator[OrbitSites]:
    yield from served(OrbitSites())


@pytest.fixture(scope="session")
def _engines(tmp_path_factory) -> Iterator[PerBackend[Engine]]:
    engines = PerBackend(lambda backend: initialised_engine(backend, tmp_path_factory.mktemp("sources"), "sources"))
    yield engines
    engines.close()


@pytest.fixture(params=BACKENDS)
def _session_engine(request, _engines: PerBackend[Engine]) -> Engine:
    return _engines.get(request.param)


@pytest.fixture
def engine(_session_engine: Engine) -> Iterator[Engine]:
    yield _session_engine
    clear_tables(_session_engine)


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)
