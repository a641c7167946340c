"""The database's own guard against double booking, per dialect.

Invariant: an antenna never holds two contacts that overlap, turnaround included,
cancelled ones excepted.  Contact ``c`` holds its antenna over ``[c.start_time,
c.busy_until)`` (end exclusive; ``busy_until`` = end + turnaround), so two contacts
touching end to start do not overlap.

- PostgreSQL: an exclusion constraint over ``(antenna_id WITH =, tstzrange(start_time,
  busy_until) WITH &&) WHERE status <> 'cancelled'`` (GiST, with ``btree_gist`` for the
  integer equality).  It covers inserts and updates (e.g. un-cancelling), whatever
  code or person issues them.
- SQLite: ``BEFORE INSERT`` and ``BEFORE UPDATE`` triggers that ``RAISE(ABORT, ...)``
  when the new row overlaps a live one (or its times are not in the text form that
  SQLite can compare).  SQLite has one writer at a time, so the
  trigger's check and the write cannot interleave with another writer's.

``booking.book_contact`` also checks first, under a per-antenna lock, so that the usual
refusal names the contact in the way; these guards are what make a missed check (a
bug, a script, a hand-written UPDATE) fail instead of double-booking.

The statements are plain SQL so that an Alembic migration can run the same text.
"""

from __future__ import annotations

from sqlalchemy import Connection

from groundshare.errors import InvalidInputError

#: Name of the PostgreSQL exclusion constraint, and marker in the SQLite trigger message;
#: ``booking`` recognises a guard refusal by it.
OVERLAP_GUARD = "contact_no_overlap"

POSTGRESQL_GUARDS: tuple[str, ...] = (
    f"""
    ALTER TABLE contact ADD CONSTRAINT {OVERLAP_GUARD}
    EXCLUDE USING gist (antenna_id WITH =, tstzrange(start_time, busy_until, '[)') WITH &&)
    WHERE (status <> 'cancelled')
    """,
)

# SQLite compares the times as text, which orders instants only in UtcDateTime's fixed-width
# form; a row written by hand in another form ('2025-11-07T10:00Z') is refused, not misjudged.
_DIGIT = "[0-9]"
_SQLITE_TIME_TEXT = f"{_DIGIT * 4}-{_DIGIT * 2}-{_DIGIT * 2} {_DIGIT * 2}:{_DIGIT * 2}:{_DIGIT * 2}.{_DIGIT * 6}"

_SQLITE_OVERLAP_CHECK = f"""
    SELECT RAISE(ABORT, '{OVERLAP_GUARD}: start_time and busy_until must be UTC text YYYY-MM-DD HH:MM:SS.ffffff')
    WHERE NEW.start_time NOT GLOB '{_SQLITE_TIME_TEXT}' OR NEW.busy_until NOT GLOB '{_SQLITE_TIME_TEXT}';
    SELECT RAISE(ABORT, '{OVERLAP_GUARD}: the contact overlaps another live contact on the same antenna')
    WHERE EXISTS (
        SELECT 1 FROM contact AS c
        WHERE c.antenna_id = NEW.antenna_id
          AND c.status <> 'cancelled'
          AND c.id IS NOT NEW.id
          AND c.start_time < NEW.busy_until
          AND NEW.start_time < c.busy_until
    );
"""

SQLITE_GUARDS: tuple[str, ...] = (
    f"""
    CREATE TRIGGER {OVERLAP_GUARD}_insert BEFORE INSERT ON contact
    WHEN NEW.status <> 'cancelled'
    BEGIN {_SQLITE_OVERLAP_CHECK} END
    """,
    f"""
    CREATE TRIGGER {OVERLAP_GUARD}_update BEFORE UPDATE OF antenna_id, start_time, busy_until, status ON contact
    WHEN NEW.status <> 'cancelled'
    BEGIN {_SQLITE_OVERLAP_CHECK} END
    """,
)

GUARDS: dict[str, tuple[str, ...]] = {"postgresql": POSTGRESQL_GUARDS, "sqlite": SQLITE_GUARDS}


def create_guards(connection: Connection) -> None:
    """Create the double-booking guards for the connection's dialect, unless present (tables must exist)."""
    dialect = connection.dialect.name
    if dialect not in GUARDS:
        raise InvalidInputError(f"groundshare's store supports SQLite and PostgreSQL, not {dialect}; "
                                "use a sqlite:/// or postgresql:// database URL", loc=("database_url",))
    if has_guards(connection):
        return
    for statement in GUARDS[dialect]:
        connection.exec_driver_sql(statement)


def has_guards(connection: Connection) -> bool:
    """Return whether the double-booking guards exist in the connection's database."""
    if connection.dialect.name == "postgresql":
        sql = "SELECT count(*) FROM pg_constraint WHERE conname = %(name)s AND conrelid = 'contact'::regclass"
        return bool(connection.exec_driver_sql(sql, {"name": OVERLAP_GUARD}).scalar())
    sql = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (?, ?)"
    names = (f"{OVERLAP_GUARD}_insert", f"{OVERLAP_GUARD}_update")
    return connection.exec_driver_sql(sql, names).scalar() == len(names)
