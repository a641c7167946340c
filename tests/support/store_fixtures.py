"""The store's engine fixtures, for a ``conftest.py`` to import: every test that takes ``engine`` runs on both backends.

One database per backend for the whole session, made when a test first needs it
(``databases.initialised_engine``: PostgreSQL skipped with the reason without a server,
failing under CI); the tables are emptied after each test.  ``databases.postgresql_only``
and ``sqlite_only`` pick one backend.  Import all four names (``_engines``,
``_session_engine``, ``engine``, ``factory``) into the conftest.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from groundshare.store import make_session_factory

from .databases import BACKENDS, PerBackend, clear_tables, initialised_engine


@pytest.fixture(scope="session")
def _engines(tmp_path_factory) -> Iterator[PerBackend[Engine]]:
    """The engine of each backend, on a freshly initialised database, made when first needed."""
    engines = PerBackend(lambda backend: initialised_engine(backend, tmp_path_factory.mktemp("store"), "store"))
    yield engines
    engines.close()


@pytest.fixture(params=BACKENDS)
def _session_engine(request, _engines: PerBackend[Engine]) -> Engine:
    """The backend's engine for the whole session (``postgresql_only``/``sqlite_only`` pick one backend)."""
    return _engines.get(request.param)


@pytest.fixture
def engine(_session_engine: Engine) -> Iterator[Engine]:
    """The backend's engine (SQLite or PostgreSQL), with empty tables after the test."""
    yield _session_engine
    clear_tables(_session_engine)


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)
