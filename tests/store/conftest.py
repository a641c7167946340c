"""Store fixtures: every test that takes ``engine`` runs on SQLite and on PostgreSQL.

One database per backend for the whole session, made when a test first needs it
(``tests/support/databases.py``: PostgreSQL skipped with the reason without a server,
failing under CI); the tables are emptied after each test.  ``postgresql_only`` and
``sqlite_only`` (same module) pick one backend.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.support.store_fixtures import _engines, _session_engine, engine, factory  # noqa: F401
from tests.support.worlds import Network, make_network


@pytest.fixture
def network(factory: sessionmaker[Session]) -> Network:  # noqa: F811 (the fixture imported above)
    return make_network(factory)
