"""Engines, sessions and units of work on SQLite or PostgreSQL.

Nothing here runs at import: callers (the CLI, the API's ``create_app(settings)``, tests)
choose the database by URL.

- ``create_engine_for(url)``: SQLite by default (a file, see ``default_database_path``),
  PostgreSQL via psycopg 3 for ``postgresql://`` URLs.
- ``init_db(engine)``: create the tables and the double-booking guards (``store.guards``).
- ``session_scope(factory)``: one unit of work: commit at the end, roll back on error.
  Query and booking functions never commit; the unit of work does, once.
- ``run_unit_of_work(factory, work)``: the same, retried when PostgreSQL aborts it as a
  deadlock victim or a serialization failure (SQLite: when the write lock stays busy), or
  when the database cannot be reached.
- ``is_unavailable(exc)`` / ``is_transient(exc)``: whether an error means the database
  cannot be reached or used now (down, restarting, connection lost, SQLite file unreadable),
  and whether running the unit of work again may succeed (that, or an aborted transaction).

A unit of work whose COMMIT itself fails because the connection went away raises
``CommitOutcomeUnknownError``: the server may or may not have committed before the
connection was lost, so "nothing was written" would be a guess.

SQLite transactions.  Python's ``sqlite3`` begins transactions by itself, lazily and
DEFERRED.  A DEFERRED transaction that reads and then writes can fail with "database
is locked" at its first write, without waiting, when another connection wrote in
between, so the engine here issues ``BEGIN`` itself: ``BEGIN IMMEDIATE`` (take the
write lock up front; other writers wait up to ``SQLITE_BUSY_TIMEOUT_S``) unless the unit
of work says it only reads (``session_scope(factory, write=False)``), which begins
DEFERRED so that readers run side by side.  WAL journaling lets readers proceed while
one writer holds the lock.  This is SQLAlchemy's documented pysqlite recipe
("Serializable isolation / Savepoints / Transactional DDL").

SQLite writers queue (``SqliteWriteQueue``).  SQLite's busy handler does not queue the
connections waiting for its write lock: each sleeps and tries again, with sleeps growing
to 100 ms, so under contention a writer that keeps losing waits for seconds while others
pass it (with 32 writers the 99th percentile of a booking was 5.8 s against a median of
0.4 s).  So before ``BEGIN IMMEDIATE`` a connection of a SQLite file takes its place in a
queue: the engine's lock in this process (one writer thread at a time), then an exclusive
``flock`` on ``<database>.write.lock`` (one writer process at a time: every engine on the
file, in every process, ``groundshare serve --workers`` and the CLI alike, takes it).
Both are blocking locks whose waiters are woken when the holder lets go, so writers wait
in turn instead of polling; the lock is let go after the transaction's COMMIT or ROLLBACK
(or when its connection closes).  SQLite's own lock and busy timeout still guard
everything else: a DEFERRED transaction that writes (``record_last_used``) takes no place
in the queue, and a process outside groundshare is not slowed.  The queue changes who
waits, never what is written: the double-booking guards are still SQLite's triggers.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from groundshare.errors import GroundshareError, InvalidInputError
from groundshare.store.guards import create_append_only_guards, create_guards
from groundshare.store.models import Base

T = TypeVar("T")

#: How long a SQLite connection waits for another's write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_S = 30.0

#: Execution option naming how a SQLite transaction begins: "IMMEDIATE" (default) or "DEFERRED".
SQLITE_BEGIN = "groundshare_sqlite_begin"

#: PostgreSQL SQLSTATEs after which the whole unit of work may simply be run again.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected

#: PostgreSQL SQLSTATEs (besides class 08, connection exceptions) meaning the server cannot serve now:
#: admin_shutdown, crash_shutdown, cannot_connect_now ("the database system is starting up"),
#: too_many_connections.
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
UNAVAILABLE_SQLSTATE_CLASSES = ("08",)

#: SQLite result codes (``sqlite3.Error.sqlite_errorname`` prefixes) meaning the file cannot be used now:
#: it cannot be opened, the disk failed, or the disk is full.
UNAVAILABLE_SQLITE_ERRORS = ("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL")
#: The same, by message, for SQLite builds whose errors carry no name.
UNAVAILABLE_SQLITE_MESSAGES = ("unable to open database file", "disk i/o error", "database or disk is full")


class StoreSetupError(GroundshareError):
    """The database cannot be prepared for groundshare (missing extension, privileges)."""


class CommitOutcomeUnknownError(GroundshareError):
    """The connection was lost during COMMIT: the unit of work may or may not be stored.

    Raised from the driver's error (``__cause__``).  Retrying is safe only where a retry
    cannot apply the change twice: with the same idempotency key, or after checking.
    """


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
        queue = None
        if _is_sqlite_file(url):
            queue = SqliteWriteQueue(Path(url.database).expanduser())  # type: ignore[arg-type]
            kwargs["connect_args"]["factory"] = QueuedSqliteConnection
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine, queue=queue)
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


class SqliteWriteQueue:
    """Writers of one SQLite file, one at a time and in turn (see the module docstring).

    ``acquire`` takes this engine's lock (waiting at most ``timeout_s``, then "database is
    locked" as SQLite would say), then an exclusive ``flock`` on ``<database>.write.lock``,
    which waits for the writer of another process (or of another engine on the file) to
    finish its transaction.  ``release`` lets go of both, the file first, so that a writer
    of another process that was waiting gets it before this process's next one asks.
    """

    def __init__(self, database_path: Path, *, timeout_s: float = SQLITE_BUSY_TIMEOUT_S) -> None:
        self.lock_path = Path(f"{database_path}.write.lock")
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = os.getpid()

    def _file(self) -> int:
        # A forked child must not share its parent's open file (and with it the parent's flock): reopen it.
        if self._fd is None or self._pid != os.getpid():
            self._fd, self._pid = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644), os.getpid()
        return self._fd

    def acquire(self) -> None:
        """Wait for this file's write turn; "database is locked" (transient) after ``timeout_s`` in this process."""
        if not self._lock.acquire(timeout=self.timeout_s):
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(
                f"database is locked: no write turn within {self.timeout_s:g} s in this process's queue of "
                f"{self.lock_path}"))
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._lock.release()
            raise

    def release(self) -> None:
        """End the write turn taken by ``acquire``."""
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._lock.release()


class QueuedSqliteConnection(sqlite3.Connection):
    """A ``sqlite3`` connection that gives back its write turn (``SqliteWriteQueue``) once its transaction ends."""

    write_queue: SqliteWriteQueue | None = None
    holds_turn = False

    def take_turn(self) -> None:
        if self.write_queue is not None and not self.holds_turn:
            self.write_queue.acquire()
            self.holds_turn = True

    def _end_turn(self) -> None:
        if self.holds_turn and not self.in_transaction:
            self.holds_turn = False
            assert self.write_queue is not None
            self.write_queue.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.holds_turn:
                self.holds_turn = False
                assert self.write_queue is not None
                self.write_queue.release()


def _configure_sqlite(engine: Engine, *, queue: SqliteWriteQueue | None) -> None:
    """Attach the per-connection settings, the write queue and the explicit ``BEGIN`` to a SQLite engine."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see "begin")
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        if queue is not None:
            cursor.execute("PRAGMA journal_mode = WAL")
            if isinstance(dbapi_connection, QueuedSqliteConnection):
                dbapi_connection.write_queue = queue
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        if mode not in ("IMMEDIATE", "DEFERRED"):
            raise ValueError(f"{SQLITE_BEGIN} must be 'IMMEDIATE' or 'DEFERRED', got {mode!r}")
        dbapi_connection = connection.connection.dbapi_connection
        queued = mode == "IMMEDIATE" and isinstance(dbapi_connection, QueuedSqliteConnection)
        if queued:
            dbapi_connection.take_turn()  # type: ignore[union-attr]
        try:
            connection.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            if queued:
                dbapi_connection._end_turn()  # type: ignore[union-attr]
            raise
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
                create_append_only_guards(connection)
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

    A COMMIT that fails because the database went away raises ``CommitOutcomeUnknownError``
    (whether it was applied is unknown); any earlier failure left nothing written.
    """
    session = factory()
    try:
        # Procure the connection now so that SQLite's BEGIN is chosen by this unit of work.
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE" if write else "DEFERRED"})
        yield session
        session.flush()  # what fails here was never committed; only the COMMIT below can leave it unknown
        try:
            session.commit()
        except DBAPIError as exc:
            if is_unavailable(exc):
                raise CommitOutcomeUnknownError(
                    "the database connection was lost during COMMIT, so whether the unit of work was stored is "
                    f"unknown: {_first_line(exc.orig)}") from exc
            raise
    except BaseException:
        _rollback_quietly(session)
        raise
    finally:
        session.close()


def _rollback_quietly(session: Session) -> None:
    """Roll back after a failure without letting a second failure (a dead connection) replace the first."""
    # A failing rollback means the connection is gone or broken, and its transaction with it; the pool
    # discards such a connection on close.
    with suppress(SQLAlchemyError):
        session.rollback()


def _first_line(error: BaseException | None) -> str:
    text = str(error).strip() if error is not None else ""
    return text.splitlines()[0] if text else type(error).__name__


def is_unavailable(exc: BaseException) -> bool:
    """Return whether ``exc`` says the database cannot be reached or used now (nothing to do but wait).

    PostgreSQL: connection refused or lost (psycopg's ``OperationalError`` without a
    SQLSTATE, or any error after which SQLAlchemy invalidated the connection, pre-ping
    included), SQLSTATE class 08, shutting down or starting up (57P01-57P03), too many
    connections.  SQLite: the file cannot be opened, a disk I/O error, a full disk.
    """
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith(UNAVAILABLE_SQLSTATE_CLASSES) or sqlstate in UNAVAILABLE_SQLSTATES
    if isinstance(orig, sqlite3.Error):
        name = getattr(orig, "sqlite_errorname", "") or ""
        return name.startswith(UNAVAILABLE_SQLITE_ERRORS) or str(orig).lower().startswith(UNAVAILABLE_SQLITE_MESSAGES)
    # psycopg reports a refused, broken or closed connection as OperationalError without a SQLSTATE.  It is
    # looked up, not imported: if psycopg was never imported, the error cannot be one of its own.
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(orig, psycopg.OperationalError)


def is_transient(exc: BaseException) -> bool:
    """Return whether ``exc`` ended a unit of work, writing nothing, that may succeed when run again.

    That is an aborted transaction (a deadlock victim, a serialization failure, SQLite's
    write lock busy past its timeout) or an unavailable database (``is_unavailable``).
    """
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in TRANSIENT_SQLSTATES:
        return True
    if isinstance(exc.orig, sqlite3.OperationalError) and "database is locked" in str(exc.orig):
        return True
    return is_unavailable(exc)


def run_unit_of_work(factory: sessionmaker[Session], work: Callable[[Session], T], *, attempts: int = 5,
                     write: bool = True, backoff_s: float = 0.02,
                     sleep: Callable[[float], object] = time.sleep) -> T:
    """Return ``work(session)`` run in its own unit of work, retried on transient aborts.

    PostgreSQL may abort a transaction as a deadlock victim or on a serialization
    failure (SQLite, when its write lock stays busy past the timeout), or the database
    may be briefly unreachable; nothing of it was written, so it is run again from the
    start, up to ``attempts`` times, sleeping ``backoff_s``, twice that, ... in between.
    ``work`` must therefore not have side effects outside the session.  Any other error
    propagates at once, ``CommitOutcomeUnknownError`` included (a retry could store it twice).
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
