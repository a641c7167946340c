"""Schema migrations of the store, with Alembic configured in code (no ``alembic.ini``).

- ``upgrade(database_url)``: bring a database (an empty one included) to the newest
  revision; running it again does nothing.
- ``current(database_url)``: return the database's revision (None if never migrated).
- ``head()``: return the newest revision shipped with groundshare.

The revisions live in ``store/migrations/versions``.  The first creates exactly the
tables of ``store.models`` and the double-booking guards of ``store.guards`` (with the
``btree_gist`` extension on PostgreSQL).  ``store.init_db`` still creates the same
schema directly, without revision bookkeeping: tests use it for speed, and
``tests/store/test_migrations.py`` checks that both give the same schema.  Servers and the
CLI use ``upgrade``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from groundshare.errors import InvalidInputError
from groundshare.store.db import StoreSetupError, create_engine_for, default_database_url

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

#: PostgreSQL advisory lock held while migrating ("gshare" in ASCII), so concurrent upgrades queue.
MIGRATION_LOCK_KEY = 0x677368617265


def alembic_config() -> Config:
    """Return the Alembic configuration of groundshare's migrations (no ini file)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head() -> str:
    """Return the newest revision shipped with groundshare."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def upgrade(database_url: str | None = None) -> str:
    """Migrate the database at ``database_url`` (default: the SQLite file) to the newest revision.

    Returns that revision.  An up-to-date database is left as it is.
    """
    with _engine(database_url) as engine, _sqlite_file_lock(engine):
        config = alembic_config()
        try:
            with engine.connect() as connection:
                if connection.dialect.name == "sqlite":
                    # Revisions that rebuild a table (SQLite's ALTER TABLE cannot drop a constraint) drop the old
                    # one; with foreign keys on, that would cascade into or be refused by the rows referring to
                    # it.  SQLite's own procedure: foreign keys off (outside any transaction), check after.
                    connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
                if connection.dialect.name == "postgresql":
                    # Servers started together migrate one at a time; the lock goes with the commit.
                    # (SQLite's BEGIN IMMEDIATE, the engine's default, already serialises them.)
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                if connection.dialect.name == "sqlite":
                    _check_foreign_keys(connection)
                connection.commit()
        except DBAPIError as exc:
            if "btree_gist" in str(exc):
                raise StoreSetupError(
                    f"could not create the PostgreSQL extension btree_gist in database {engine.url.database!r}: "
                    f"{exc.orig}\n\nThe double-booking guard needs it.  Install PostgreSQL's contrib "
                    "package, or have a superuser run:  CREATE EXTENSION btree_gist;") from exc
            raise _unusable(engine, exc) from exc
    return head()


def current(database_url: str | None = None) -> str | None:
    """Return the revision the database at ``database_url`` is at, or None if it was never migrated."""
    with _engine(database_url) as engine:
        try:
            with engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision()
        except DBAPIError as exc:
            raise _unusable(engine, exc) from exc


def _check_foreign_keys(connection: Connection) -> None:
    """Raise ``StoreSetupError`` if a migrated SQLite database has a row whose foreign key points nowhere."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        table, rowid, parent, _ = broken[0]
        raise StoreSetupError(f"the migration left {len(broken)} row(s) whose foreign key points nowhere (first: "
                              f"{table} row {rowid} -> {parent}); nothing was changed")


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """Hold an exclusive lock on ``<database>.migrate.lock`` while an SQLite file is migrated.

    Four ``db upgrade`` processes started together on one SQLite file through three
    revisions were seen to fail once on a loaded machine (one of them exited with a
    traceback while the others succeeded); with the lock they migrate one after another,
    as the advisory lock makes them on PostgreSQL. In-memory databases and other
    dialects need none.
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    import fcntl

    with open(f"{database}.migrate.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def _engine(database_url: str | None) -> Iterator[Engine]:
    """Yield an engine for ``database_url``, turning a malformed URL into ``InvalidInputError``."""
    url = database_url if database_url is not None else default_database_url()
    try:
        engine = create_engine_for(make_url(url))
    except ArgumentError as exc:
        raise InvalidInputError(
            f"{url!r} is not a database URL: {exc}\n\n"
            "Expected e.g.:  sqlite:///groundshare.db  or  postgresql://user@host:5432/groundshare",
            loc=("database_url",)) from None
    except OSError as exc:  # the SQLite file's folder cannot be created
        raise StoreSetupError(f"could not create the folder of the database {url!r}: {exc}") from None
    try:
        yield engine
    finally:
        engine.dispose()


def _unusable(engine: Engine, exc: DBAPIError) -> StoreSetupError:
    """Return the error saying the database could not be used, with the driver's reason."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    return StoreSetupError(
        f"could not use the database {engine.url.render_as_string(hide_password=True)}: {reason}\n\n"
        "Check that the server is running and the URL (--database-url or GROUNDSHARE_DATABASE_URL) is right")
