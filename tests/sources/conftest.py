"""Fixtures of the fetcher tests: the fake CelesTrak and Space-Track, and the store on SQLite and PostgreSQL.

``sites`` is ``tests/support/orbit_sites.py``'s server on loopback, empty; ``engine`` and
``factory`` are the store's (``tests/store/conftest.py``): every test that takes them runs
on both backends, with empty tables after it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.orbit_sites import OrbitSites, served
from tests.support.store_fixtures import _engines, _session_engine, engine, factory  # noqa: F401


@pytest.fixture
def sites() -> Iterator[OrbitSites]:
    yield from served(OrbitSites())


