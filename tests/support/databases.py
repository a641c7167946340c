"""Databases made for the tests: SQLite files and uniquely named PostgreSQL databases.

SQLite is a file in a temporary folder.  PostgreSQL is the server at 127.0.0.1:5432 (trust
authentication, user ``postgres`` or the current user, maintenance database ``postgres``
or ``test``; ``GROUNDSHARE_TEST_POSTGRES_URL`` overrides them): each database made here has
a name of its own (label, process id, random suffix), so test processes running side by
side never share one, and it is dropped at the end.

Without a reachable server the PostgreSQL cases are skipped with the reason, except
in CI (``CI`` set and not ``0``/``false``), where they fail: CI must run them.
"""

from __future__ import annotations

import getpass
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Generic, TypeVar

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from groundshare.store import Base, create_engine_for, init_db
from groundshare.store.guards import APPEND_ONLY_GUARD, create_append_only_guards, has_append_only_guards

from .environment import unavailable

T = TypeVar("T")

BACKENDS = ("sqlite", "postgresql")
#: Connections each test engine may open at once: the race tests run 32 threads.
TEST_POOL_SIZE = 16  # kept open; as many again open under load (create_engine_for)

#: Run a test that takes the store's ``engine`` on PostgreSQL only (for what SQLite cannot show: deadlocks,
#: interleaved writers); it selects the backend of the store fixture ``_session_engine``.
postgresql_only = pytest.mark.parametrize("_session_engine", ["postgresql"], indirect=True)
#: Run a test that takes the store's ``engine`` on SQLite only (for its own mechanisms: triggers on text times).
sqlite_only = pytest.mark.parametrize("_session_engine", ["sqlite"], indirect=True)


def _maintenance_urls() -> list[URL]:
    override = os.environ.get("GROUNDSHARE_TEST_POSTGRES_URL")
    if override:
        return [make_url(override).set(drivername="postgresql+psycopg")]
    users = dict.fromkeys(["postgres", getpass.getuser()])
    return [URL.create("postgresql+psycopg", username=user, host="127.0.0.1", port=5432, database=db)
            for user in users for db in ("postgres", "test")]


def _postgres_unavailable(reason: str) -> None:
    unavailable(f"PostgreSQL is not usable for the store tests: {reason}\n"
                "Start it (pg_ctlcluster --skip-systemctl-redirect <version> main start) or set "
                "GROUNDSHARE_TEST_POSTGRES_URL to a maintenance database URL", what="the PostgreSQL cases")


def _admin_engine() -> Engine:
    """Return an autocommit engine on a reachable maintenance database, or skip/fail."""
    failures = []
    for url in _maintenance_urls():
        admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool,
                              connect_args={"connect_timeout": 3})
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            return admin
        except DBAPIError as exc:
            failures.append(f"{url.render_as_string(hide_password=True)}: {str(exc.orig).strip().splitlines()[0]}")
            admin.dispose()
    _postgres_unavailable("; ".join(failures))
    raise AssertionError("unreachable")


@contextmanager
def postgres_database(label: str) -> Iterator[URL]:
    """Create a uniquely named PostgreSQL database, yield its URL, then drop it."""
    admin = _admin_engine()
    name = f"groundshare_test_{label}_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except DBAPIError as exc:
        admin.dispose()
        _postgres_unavailable(f"could not create database {name}: {exc.orig}")
    try:
        yield admin.url.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def empty_database_url(backend: str, folder: Path, label: str) -> Iterator[str]:
    """Yield the URL (password shown) of an empty database of ``backend``, made for one test."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'{label}.db'}"
        return
    with postgres_database(label) as url:
        yield url.render_as_string(hide_password=False)


@contextmanager
def initialised_engine(backend: str, folder: Path, label: str) -> Iterator[Engine]:
    """Yield an engine (``TEST_POOL_SIZE`` connections) on a fresh database of ``backend`` with every table."""
    with empty_database_url(backend, folder, label) as url:
        engine = create_engine_for(url, pool_size=TEST_POOL_SIZE)
        try:
            init_db(engine)
            yield engine
        finally:
            engine.dispose()


#: Restart every sequence of the schema at 1, as ``TRUNCATE ... RESTART IDENTITY`` would (one round trip).
RESTART_SEQUENCES_SQL = ("SELECT setval(c.oid, 1, false) FROM pg_class AS c "
                         "WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace")


class PerBackend(Generic[T]):
    """One ``open(backend)`` per backend, entered when first asked for and left at ``close()``.

    A session fixture holds one, and a function fixture parametrized by backend asks it
    for the backend's instance: tests of both backends may then run in any order (as
    pytest-xdist sends them, file by file) without an instance being made again each time
    the backend changes, as a parametrized session fixture would be.
    """

    def __init__(self, open: Callable[[str], AbstractContextManager[T]]) -> None:
        self._open = open
        self._made: dict[str, T] = {}
        self._stack = ExitStack()

    def get(self, backend: str) -> T:
        """Return the backend's instance (skipped, or failed under CI, where PostgreSQL is not usable)."""
        if backend not in self._made:
            self._made[backend] = self._stack.enter_context(self._open(backend))
        return self._made[backend]

    def close(self) -> None:
        self._made.clear()
        self._stack.close()


def clear_tables(engine: Engine) -> None:
    """Delete every row (and, on PostgreSQL, restart the ids at 1), so the next test starts from an empty schema.

    ``DELETE`` rather than ``TRUNCATE`` on PostgreSQL: for tables of a few rows, ``TRUNCATE``
    (new files for every table and its indexes) costs about 60 ms a test, ``DELETE`` about 2 ms.
    """
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        # The uplink audit trail refuses DELETE (store.guards): its guard is set aside for the emptying only.
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
            connection.exec_driver_sql("ALTER TABLE uplink_frame DISABLE TRIGGER USER")
            connection.exec_driver_sql("; ".join(f"DELETE FROM {table}" for table in tables))
            connection.exec_driver_sql("ALTER TABLE uplink_frame ENABLE TRIGGER USER")
            connection.exec_driver_sql(RESTART_SEQUENCES_SQL)
        else:
            guarded = has_append_only_guards(connection)
            for when in ("update", "delete"):
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {APPEND_ONLY_GUARD}_{when}")
            for table in tables:
                connection.exec_driver_sql(f"DELETE FROM {table}")
            if guarded:
                create_append_only_guards(connection)


#: The PostgreSQL server the benches make their databases on (``GROUNDSHARE_BENCH_POSTGRES_URL`` to change it).
BENCH_POSTGRES_URL = os.environ.get("GROUNDSHARE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def bench_database(backend: str, folder: Path, label: str) -> Iterator[str]:
    """Yield the URL of a fresh database of ``backend`` for a bench; a PostgreSQL one is dropped at the end."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    admin = create_engine(BENCH_POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool,
                          connect_args={"connect_timeout": 3})
    name = f"groundshare_bench_{label}_{os.getpid()}_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(BENCH_POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
