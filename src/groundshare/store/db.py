"""Engines, sessions and units of work on SQLite or PostgreSQL.

Nothing here runs at import: callers (the CLI, the API's ``create_app(settings)``, tests)
choose the database by URL.

- ``create_engine_for(url)``: SQLite by default (a file, see ``default_database_path``),
  PostgreSQL via psycopg 3 for ``postgresql://`` URLs.
- ``init_db(engine)``: create the tables and the double-booking guards (``store.guards``).
- ``session_scope(factory)``: one unit of work: commit at the end, roll back on error.
  Query and booking functions never commit; the unit of work does, once.
- ``run_unit_of_work(factory, work)``: the same, retried when PostgreSQL aborts it as a
  deadlock victim or a serialization failure (SQLite: when the write lock stays busy).

SQLite transactions.  Python's ``sqlite3`` begins transactions by itself, lazily and
DEFERRED.  A DEFERRED transaction that reads and then writes can fail with "database
is locked" at its first write, without waiting, when another connection wrote in
between, so the engine here issues ``BEGIN`` itself: ``BEGIN IMMEDIATE`` (take the
write lock up front; other writers wait up to ``SQLITE_BUSY_TIMEOUT_S``) unless the unit
of work says it only reads (``session_scope(factory, write=False)``), which begins
DEFERRED so that readers run side by side.  WAL journaling lets readers proceed while
one writer holds the lock.  This is SQLAlchemy's documented pysqlite recipe
("Serializable isolation / Savepoints / Transactional DDL").
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from groundshare.errors import GroundshareError, InvalidInputError
from groundshare.store.guards import create_guards
from groundshare.store.models import Base

T = TypeVar("T")

#: How long a SQLite connection waits for another's write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_S = 30.0

#: Execution option naming how a SQLite transaction begins: "IMMEDIATE" (default) or "DEFERRED".
SQLITE_BEGIN = "groundshare_sqlite_begin"

#: PostgreSQL SQLSTATEs after which the whole unit of work may simply be run again.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected


class StoreSetupError(GroundshareError):
    """The database cannot be prepared for groundshare (missing extension, privileges)."""


def default_database_path() -> Path:
    """Return the SQLite file used when no database URL is given.

    ``$GROUNDSHARE_DATA_DIR/groundshare.db``; without it ``$XDG_DATA_HOME/groundshare``
    (``~/.local/share/groundshare`` when ``XDG_DATA_HOME`` is unset or empty).
    """
    root = os.environ.get("GROUNDSHARE_DATA_DIR")
    if not root:
        xdg = os.environ.get("XDG_DATA_HOME")
        base = xdg if xdg else os.path.join(os.path.expanduser("~"), ".local", "share")
        root = os.path.join(base, "groundshare")
    return Path(root) / "groundshare.db"


def default_database_url() -> str:
    """Return the SQLite URL of ``default_database_path()``."""
    return f"sqlite:///{default_database_path()}"


def _is_sqlite_file(url: URL) -> bool:
    return url.database not in (None, "", ":memory:") and url.query.get("mode") != "memory"


def create_engine_for(url: str | URL | None = None, *, pool_size: int | None = None,
                      echo: bool = False) -> Engine:
    """Return an engine for ``url`` (SQLite file by default), set up for groundshare.

    ``postgresql://`` URLs use psycopg 3, sessions in UTC and pre-pinged pooled
    connections.  SQLite connections get foreign keys ON, WAL journaling for files, a
    ``SQLITE_BUSY_TIMEOUT_S`` busy timeout and explicit ``BEGIN`` (see the module
    docstring).  ``pool_size`` is how many connections stay open (and as many again may
    be opened under load); give at least the number of threads that use the engine at once.
    """
    url = make_url(url if url is not None else default_database_url())
    backend = url.get_backend_name()
    kwargs: dict[str, Any] = {"echo": echo}
    if backend == "sqlite":
        if _is_sqlite_file(url):
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
            if pool_size is not None:
                kwargs.update(pool_size=pool_size, max_overflow=pool_size)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine, is_file=_is_sqlite_file(url))
        return engine
    if backend == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        if "options" not in url.query:
            kwargs["connect_args"] = {"options": "-c TimeZone=UTC"}
        if pool_size is not None:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size)
        return create_engine(url, pool_pre_ping=True, **kwargs)
    raise InvalidInputError(
        f"database URL {url.render_as_string(hide_password=True)!r} is neither SQLite nor PostgreSQL; "
        "groundshare stores its data in one of those.\n\n"
        "Expected e.g.:  sqlite:///groundshare.db  or  postgresql://user@host:5432/groundshare",
        loc=("database_url",),
    )


def _configure_sqlite(engine: Engine, *, is_file: bool) -> None:
    """Attach the per-connection settings and the explicit ``BEGIN`` to a SQLite engine."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see "begin")
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        if is_file:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        if mode not in ("IMMEDIATE", "DEFERRED"):
            raise ValueError(f"{SQLITE_BEGIN} must be 'IMMEDIATE' or 'DEFERRED', got {mode!r}")
        connection.exec_driver_sql(f"BEGIN {mode}")
        connection.info[SQLITE_BEGIN] = mode


def sqlite_begin_mode(session: Session) -> str | None:
    """Return how the session's SQLite transaction began ("IMMEDIATE"/"DEFERRED"); None on PostgreSQL."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return None
    return connection.info.get(SQLITE_BEGIN)


def init_db(engine: Engine, *, guards: bool = True) -> None:
    """Create groundshare's tables (those missing) and the double-booking guards.

    On PostgreSQL this first creates the ``btree_gist`` extension, which the exclusion
    constraint needs.  ``guards=False`` leaves the guards out; it exists only so that a
    test can show the concurrency test failing without them; never use it otherwise.
    """
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS btree_gist")
            Base.metadata.create_all(connection)
            if guards:
                create_guards(connection)
    except DBAPIError as exc:
        if "btree_gist" in str(exc):
            raise StoreSetupError(
                f"could not create the PostgreSQL extension btree_gist in database {engine.url.database!r}: "
                f"{exc.orig}\n\nThe double-booking guard needs it.  Install PostgreSQL's contrib "
                "package, or have a superuser run:  CREATE EXTENSION btree_gist;") from exc
        raise


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory for ``engine``; objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    """Run one unit of work: yield a session, commit if the block succeeds, else roll back.

    ``write=False`` declares a unit that only reads: on SQLite it then begins DEFERRED and
    does not hold the write lock (on PostgreSQL it changes nothing).  Either way the
    block's changes are committed once, at the end.
    """
    session = factory()
    try:
        # Procure the connection now so that SQLite's BEGIN is chosen by this unit of work.
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE" if write else "DEFERRED"})
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_transient(exc: BaseException) -> bool:
    """Return whether ``exc`` aborted a unit of work that may succeed when run again."""
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in TRANSIENT_SQLSTATES:
        return True
    return isinstance(exc.orig, sqlite3.OperationalError) and "database is locked" in str(exc.orig)


def run_unit_of_work(factory: sessionmaker[Session], work: Callable[[Session], T], *, attempts: int = 5,
                     write: bool = True, backoff_s: float = 0.02,
                     sleep: Callable[[float], object] = time.sleep) -> T:
    """Return ``work(session)`` run in its own unit of work, retried on transient aborts.

    PostgreSQL may abort a transaction as a deadlock victim or on a serialization
    failure (SQLite, when its write lock stays busy past the timeout); nothing of it
    was written, so it is run again from the start, up to ``attempts`` times, sleeping
    ``backoff_s``, twice that, ... in between.  ``work`` must therefore not have side
    effects outside the session.  Any other error propagates at once.
    """
    for attempt in range(1, attempts + 1):
        try:
            with session_scope(factory, write=write) as session:
                return work(session)
        except SQLAlchemyError as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            sleep(backoff_s * 2 ** (attempt - 1))
    raise AssertionError("unreachable")  # pragma: no cover
