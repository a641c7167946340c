"""The database's own guards against double booking, per dialect.

Invariant: an antenna never holds two contacts that overlap, turnaround included,
cancelled ones excepted; and a satellite never has two live *uplink* contacts that
overlap (``contact.uplink``: one transmitter commands it at a time).  Receive-only
contacts of one satellite may overlap freely: many stations may hear one downlink.
Contact ``c`` holds its antenna over ``[c.start_time, c.busy_until)`` (end exclusive;
``busy_until`` = end + turnaround), so two contacts touching end to start do not overlap;
an uplink contact holds its satellite over ``[c.start_time, c.end_time)``.

- PostgreSQL: an exclusion constraint over ``(antenna_id WITH =, tstzrange(start_time,
  busy_until) WITH &&) WHERE status <> 'cancelled'`` (GiST, with ``btree_gist`` for the
  integer equality), and one over ``(satellite_id WITH =, tstzrange(start_time, end_time)
  WITH &&) WHERE status <> 'cancelled' AND uplink``.  They cover inserts and updates
  (e.g. un-cancelling), whatever code or person issues them.
- SQLite: ``BEFORE INSERT`` and ``BEFORE UPDATE`` triggers that ``RAISE(ABORT, ...)``
  when the new row overlaps a live one (or its times are not in the text form that
  SQLite can compare).  SQLite has one writer at a time, so the
  trigger's check and the write cannot interleave with another writer's.

``booking.book_contact`` also checks first, under a per-antenna lock, so that the usual
refusal names the contact in the way; these guards are what make a missed check (a
bug, a script, a hand-written UPDATE) fail instead of double-booking.

The same module keeps the uplink audit trail append-only (``create_append_only_guards``):
a PostgreSQL trigger function, and SQLite ``BEFORE UPDATE``/``BEFORE DELETE`` triggers on
``uplink_frame`` that refuse every change of a recorded frame but the one that settles a
queued frame once (when it went on air, or why it was not sent).

The statements are plain SQL so that an Alembic migration can run the same text.
"""

from __future__ import annotations

from sqlalchemy import Connection

from groundshare.errors import InvalidInputError

#: Name of the PostgreSQL exclusion constraint, and marker in the SQLite trigger message;
#: ``booking`` recognises a guard refusal by it.
OVERLAP_GUARD = "contact_no_overlap"
#: The same for the satellite's uplink: two live uplink contacts of one satellite never overlap.
UPLINK_GUARD = "contact_no_uplink_overlap"

POSTGRESQL_ANTENNA_GUARD = f"""
    ALTER TABLE contact ADD CONSTRAINT {OVERLAP_GUARD}
    EXCLUDE USING gist (antenna_id WITH =, tstzrange(start_time, busy_until, '[)') WITH &&)
    WHERE (status <> 'cancelled')
    """
POSTGRESQL_UPLINK_GUARD = f"""
    ALTER TABLE contact ADD CONSTRAINT {UPLINK_GUARD}
    EXCLUDE USING gist (satellite_id WITH =, tstzrange(start_time, end_time, '[)') WITH &&)
    WHERE (status <> 'cancelled' AND uplink)
    """
POSTGRESQL_GUARDS: tuple[str, ...] = (POSTGRESQL_ANTENNA_GUARD, POSTGRESQL_UPLINK_GUARD)

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

_SQLITE_UPLINK_CHECK = f"""
    SELECT RAISE(ABORT, '{UPLINK_GUARD}: start_time and end_time must be UTC text YYYY-MM-DD HH:MM:SS.ffffff')
    WHERE NEW.start_time NOT GLOB '{_SQLITE_TIME_TEXT}' OR NEW.end_time NOT GLOB '{_SQLITE_TIME_TEXT}';
    SELECT RAISE(ABORT, '{UPLINK_GUARD}: the uplink contact overlaps another live uplink contact of the satellite')
    WHERE EXISTS (
        SELECT 1 FROM contact AS c
        WHERE c.satellite_id = NEW.satellite_id
          AND c.uplink
          AND c.status <> 'cancelled'
          AND c.id IS NOT NEW.id
          AND c.start_time < NEW.end_time
          AND NEW.start_time < c.end_time
    );
"""

SQLITE_ANTENNA_GUARDS: tuple[str, ...] = (
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
SQLITE_UPLINK_GUARDS: tuple[str, ...] = (
    f"""
    CREATE TRIGGER {UPLINK_GUARD}_insert BEFORE INSERT ON contact
    WHEN NEW.status <> 'cancelled' AND NEW.uplink
    BEGIN {_SQLITE_UPLINK_CHECK} END
    """,
    f"""
    CREATE TRIGGER {UPLINK_GUARD}_update BEFORE UPDATE OF satellite_id, start_time, end_time, status, uplink ON contact
    WHEN NEW.status <> 'cancelled' AND NEW.uplink
    BEGIN {_SQLITE_UPLINK_CHECK} END
    """,
)
SQLITE_GUARDS: tuple[str, ...] = SQLITE_ANTENNA_GUARDS + SQLITE_UPLINK_GUARDS

GUARDS: dict[str, tuple[str, ...]] = {"postgresql": POSTGRESQL_GUARDS, "sqlite": SQLITE_GUARDS}
#: Each guard's statements per dialect, by guard name (revision 0001 made the antenna guard, 0004 the uplink one).
GUARD_STATEMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    OVERLAP_GUARD: {"postgresql": (POSTGRESQL_ANTENNA_GUARD,), "sqlite": SQLITE_ANTENNA_GUARDS},
    UPLINK_GUARD: {"postgresql": (POSTGRESQL_UPLINK_GUARD,), "sqlite": SQLITE_UPLINK_GUARDS},
}


def create_guards(connection: Connection, *, only: str | None = None) -> None:
    """Create the double-booking guards (or the one named ``only``) for the connection's dialect, unless present.

    The tables must exist.
    """
    dialect = connection.dialect.name
    if dialect not in GUARDS:
        raise InvalidInputError(f"groundshare's store supports SQLite and PostgreSQL, not {dialect}; "
                                "use a sqlite:/// or postgresql:// database URL", loc=("database_url",))
    for name, statements in GUARD_STATEMENTS.items():
        if only not in (None, name) or has_guards(connection, name):
            continue
        for statement in statements[dialect]:
            connection.exec_driver_sql(statement)


def has_guards(connection: Connection, guard: str | None = None) -> bool:
    """Return whether the double-booking guards (or the one named ``guard``) exist in the connection's database."""
    guards = (guard,) if guard is not None else (OVERLAP_GUARD, UPLINK_GUARD)
    if connection.dialect.name == "postgresql":
        sql = "SELECT count(*) FROM pg_constraint WHERE conname = ANY(%(names)s) AND conrelid = 'contact'::regclass"
        return connection.exec_driver_sql(sql, {"names": list(guards)}).scalar() == len(guards)
    names = tuple(f"{g}_{when}" for g in guards for when in ("insert", "update"))
    sql = f"SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ({', '.join('?' * len(names))})"
    return connection.exec_driver_sql(sql, names).scalar() == len(names)


#: The audit trail of uplinked frames is append-only: the database refuses DELETE of its rows, and every UPDATE
#: but the one that settles a queued frame once (``on_air_at`` or ``not_sent_reason`` set where both were NULL,
#: nothing else changed).  On SQLite these triggers live with the ``uplink_frame`` table (a batch rebuild of that
#: table would drop them, as revision 0010's rebuild of ``contact`` dropped the booking guards: make them again
#: after one).  Revision 0011 made the first, stricter form (``settle=False``: no UPDATE at all).
APPEND_ONLY_GUARD = "uplink_frame_append_only"
_APPEND_ONLY_MESSAGE = ("the uplink audit trail is append-only; its rows cannot be deleted, and a frame is only "
                        "settled once (on air, or why it was not sent)")
#: The columns a settling UPDATE leaves as they were.
_FIXED_COLUMNS = ("id", "contact_id", "satellite_id", "station_id", "org_id", "token_id", "sent_at", "sha256",
                  "length", "payload", "client_ref")
_SETTLES = "OLD.on_air_at IS NULL AND OLD.not_sent_reason IS NULL AND (NEW.on_air_at IS NULL OR " \
           "NEW.not_sent_reason IS NULL)"


def _postgresql_append_only(settle: bool) -> tuple[str, ...]:
    unchanged = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in _FIXED_COLUMNS)
    allow = (f"    IF TG_OP = 'UPDATE' AND {_SETTLES} AND {unchanged} THEN\n        RETURN NEW;\n    END IF;\n"
             if settle else "")
    return (
        f"""
    CREATE OR REPLACE FUNCTION {APPEND_ONLY_GUARD}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
{allow}        RAISE EXCEPTION '{APPEND_ONLY_GUARD}: {_APPEND_ONLY_MESSAGE}';
    END
    $$
    """,
        f"""
    CREATE TRIGGER {APPEND_ONLY_GUARD} BEFORE UPDATE OR DELETE ON uplink_frame
    FOR EACH ROW EXECUTE FUNCTION {APPEND_ONLY_GUARD}()
    """,
    )


def _sqlite_append_only(settle: bool) -> tuple[str, ...]:
    unchanged = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in _FIXED_COLUMNS)
    when = f" WHEN NOT ({_SETTLES} AND {unchanged})" if settle else ""
    return (
        f"""
    CREATE TRIGGER {APPEND_ONLY_GUARD}_update BEFORE UPDATE ON uplink_frame{when}
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_GUARD}: {_APPEND_ONLY_MESSAGE}'); END
    """,
        f"""
    CREATE TRIGGER {APPEND_ONLY_GUARD}_delete BEFORE DELETE ON uplink_frame
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_GUARD}: {_APPEND_ONLY_MESSAGE}'); END
    """,
    )


def create_append_only_guards(connection: Connection, *, settle: bool = True) -> None:
    """Create the triggers that keep ``uplink_frame`` append-only, unless present (the table must exist).

    ``settle``: allow the one UPDATE that settles a queued frame (revision 0012 on; 0011's had none).
    """
    if has_append_only_guards(connection):
        return
    if connection.dialect.name == "postgresql":
        statements = _postgresql_append_only(settle)
    else:
        statements = _sqlite_append_only(settle)
    for statement in statements:
        connection.exec_driver_sql(statement)


def drop_append_only_guards(connection: Connection) -> None:
    """Drop the triggers that keep ``uplink_frame`` append-only (a migration replacing them)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {APPEND_ONLY_GUARD} ON uplink_frame")
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {APPEND_ONLY_GUARD}()")
        return
    for when in ("update", "delete"):
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {APPEND_ONLY_GUARD}_{when}")


def has_append_only_guards(connection: Connection) -> bool:
    """Return whether the triggers that keep ``uplink_frame`` append-only exist."""
    if connection.dialect.name == "postgresql":
        sql = ("SELECT count(*) FROM pg_trigger WHERE tgname = %(name)s "
               "AND tgrelid = to_regclass('uplink_frame')")
        return connection.exec_driver_sql(sql, {"name": APPEND_ONLY_GUARD}).scalar() == 1
    names = (f"{APPEND_ONLY_GUARD}_update", f"{APPEND_ONLY_GUARD}_delete")
    sql = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (?, ?)"
    return connection.exec_driver_sql(sql, names).scalar() == 2
