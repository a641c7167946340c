"""The agent's journal: what it must do and what it must still tell the API, on local disk.

One SQLite file per station (standard library ``sqlite3``; every change is committed at
once), so that an API outage or a restart of the agent loses nothing:

- ``station``: the station as the API last described it, to execute with the API down;
- ``contacts``: every contact pulled from ``GET /agent/schedule`` (the API's JSON, with
  the element set it was planned with) and its local state: ``pending`` until executed,
  then ``done``; ``dropped`` when the API no longer lists it (cancelled); ``rejected``
  when the API listed it malformed (``agent.schedule``; it was reported failed);
- ``clock``: the network's clock as the server last told it (``GET /clock``), so that an
  agent restarted while the API is down still runs on the network's time;
- ``reports``: the ``start`` and ``outcome`` reports to send, in order, each with
  ``sent`` set once the API has taken it, so that a report is never sent twice after it
  was acknowledged (the API also accepts an identical report again, in case the
  acknowledgement itself was lost).

The journal is also the agent's lock: ``Journal.open`` takes an exclusive ``flock`` on
``<file>.lock``, so a second agent started on the same machine for the same station
refuses to run (the API's lease covers agents on different machines).

What goes in is typed and what comes out is typed again: the station is a
``StationSnapshot``, each contact a ``ScheduledContact``, the clock a ``ServerClock``,
each stored as its ``to_json()``.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from groundshare.agent.client import ApiResponseError, ServerClock
from groundshare.contact import JsonFields, ScheduledContact, StationSnapshot
from groundshare.errors import ConflictError, GroundshareError
from groundshare.timeutil import format_utc

SCHEMA = """
CREATE TABLE IF NOT EXISTS station (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contacts (
    contact_id INTEGER PRIMARY KEY,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
);
CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    contact_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    UNIQUE (contact_id, kind)
);
"""


class Journal:
    """The station's journal file (see the module docstring); use ``Journal.open``."""

    def __init__(self, path: Path, db: sqlite3.Connection, lock_fd: int) -> None:
        self.path = path
        self._db = db
        self._lock_fd = lock_fd

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Journal:
        """Open (or create) the journal at ``path`` and lock it; ``ConflictError`` if another agent holds it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = path.with_name(path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise ConflictError(f"the journal {path} is in use by {holder}: an agent already runs this station "
                                "on this machine; stop it first (two agents must never drive one antenna)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"agent pid {os.getpid()}".encode(), 0)
        db = sqlite3.connect(path, isolation_level=None)
        db.executescript(SCHEMA)
        return cls(path, db, fd)

    def close(self) -> None:
        self._db.close()
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # The station.

    def save_station(self, station: StationSnapshot) -> None:
        self._db.execute("INSERT OR REPLACE INTO station (id, body) VALUES (1, ?)", (json.dumps(station.to_json()),))

    def station(self) -> StationSnapshot | None:
        """Return the station as the API last described it (None before the agent has seen it)."""
        row = self._db.execute("SELECT body FROM station WHERE id = 1").fetchone()
        if row is None:
            return None
        fields = JsonFields(lambda message, loc: GroundshareError(
            f"the journal {self.path} holds a station this agent cannot read ({message}); start the agent once with "
            "the API reachable, which replaces it"))
        return StationSnapshot.from_json(json.loads(row[0]), fields=fields)

    # The network's clock.

    def save_clock(self, clock: ServerClock) -> None:
        self._db.execute("INSERT OR REPLACE INTO clock (id, body) VALUES (1, ?)", (json.dumps(clock.to_json()),))

    def clock(self) -> ServerClock | None:
        """Return the network's clock as the server last told it (None if never, or not readable)."""
        row = self._db.execute("SELECT body FROM clock WHERE id = 1").fetchone()
        try:
            return ServerClock.from_json(json.loads(row[0])) if row else None
        except ApiResponseError:
            return None

    # Contacts.

    def merge_schedule(self, contacts: list[ScheduledContact], start: datetime, end: datetime) -> tuple[int, int]:
        """Store the API's schedule over ``[start, end)``; return (new, dropped) counts.

        Contacts already known keep their local state (their body is refreshed while
        pending); pending ones of that window the API no longer lists are ``dropped``.
        """
        listed = {c.contact_id for c in contacts}
        known = {contact_id for (contact_id,) in self._db.execute("SELECT contact_id FROM contacts")}
        self._db.execute("BEGIN")
        try:
            for contact in contacts:
                self._db.execute(
                    "INSERT INTO contacts (contact_id, start, end, body) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (contact_id) DO UPDATE SET start = excluded.start, end = excluded.end, "
                    "body = excluded.body WHERE contacts.state = 'pending'",
                    (contact.contact_id, format_utc(contact.start), format_utc(contact.end),
                     json.dumps(contact.to_json())))
            dropped = 0
            for (contact_id,) in self._db.execute(
                    "SELECT contact_id FROM contacts WHERE state = 'pending' AND end > ? AND start < ?",
                    (format_utc(start), format_utc(end))).fetchall():
                if contact_id not in listed:
                    self._db.execute("UPDATE contacts SET state = 'dropped' WHERE contact_id = ?", (contact_id,))
                    dropped += 1
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return len(listed - known), dropped

    def pending(self, after: datetime) -> list[ScheduledContact]:
        """Return the pending contacts that end after ``after``, in start order.

        A contact this agent cannot read back (a journal written by something else) is an
        error naming it: the journal is not the agent's to guess at.
        """
        rows = self._db.execute("SELECT contact_id, body FROM contacts WHERE state = 'pending' AND end > ? "
                                "ORDER BY start, contact_id", (format_utc(after),)).fetchall()
        contacts = []
        for contact_id, body in rows:
            try:
                contacts.append(ScheduledContact.from_json(json.loads(body)))
            except ValueError as exc:  # a ContactError, or text that is not JSON
                raise GroundshareError(f"the journal {self.path} holds pending contact {contact_id} in a form this "
                                       f"agent cannot read ({exc}); move the journal aside to start afresh (its "
                                       "unsent reports are in its reports table)") from None
        return contacts

    def reject(self, contact_id: int, body: Any) -> bool:
        """Mark a contact the API listed malformed ``rejected``; return False if it was already done or rejected."""
        if self.state(contact_id) in ("done", "rejected"):
            return False
        self._db.execute("INSERT INTO contacts (contact_id, start, end, body, state) VALUES (?, '', '', ?, 'rejected') "
                         "ON CONFLICT (contact_id) DO UPDATE SET state = 'rejected'",
                         (contact_id, _bounded_json(body)))
        return True

    def states(self) -> dict[str, int]:
        """Return how many contacts the journal holds in each state."""
        return dict(self._db.execute("SELECT state, count(*) FROM contacts GROUP BY state").fetchall())

    def state(self, contact_id: int) -> str | None:
        row = self._db.execute("SELECT state FROM contacts WHERE contact_id = ?", (contact_id,)).fetchone()
        return row[0] if row else None

    def mark(self, contact_id: int, state: str) -> None:
        self._db.execute("UPDATE contacts SET state = ? WHERE contact_id = ?", (state, contact_id))

    # Reports.

    def queue_report(self, contact_id: int, kind: str, body: dict[str, Any]) -> None:
        """Queue a ``start`` or ``outcome`` report (a second one of the same kind is ignored)."""
        self._db.execute("INSERT OR IGNORE INTO reports (contact_id, kind, body) VALUES (?, ?, ?)",
                         (contact_id, kind, json.dumps(body)))

    def unsent_reports(self) -> list[tuple[int, int, str, dict[str, Any]]]:
        """Return ``(seq, contact_id, kind, body)`` of the reports not yet taken by the API, oldest first."""
        rows = self._db.execute("SELECT seq, contact_id, kind, body FROM reports WHERE sent = 0 ORDER BY seq")
        return [(seq, contact_id, kind, json.loads(body)) for seq, contact_id, kind, body in rows.fetchall()]

    def report_sent(self, seq: int) -> None:
        self._db.execute("UPDATE reports SET sent = 1, attempts = attempts + 1, last_error = NULL WHERE seq = ?",
                         (seq,))

    def report_failed(self, seq: int, error: str, *, give_up: bool = False) -> None:
        """Record a failed send; ``give_up`` marks it settled (the API refused it for good) with the reason."""
        self._db.execute("UPDATE reports SET attempts = attempts + 1, last_error = ?, sent = ? WHERE seq = ?",
                         (error, -1 if give_up else 0, seq))

    def reports(self, contact_id: int) -> list[dict[str, Any]]:
        """Return every report of a contact with its sending state (for people and tests)."""
        rows = self._db.execute("SELECT kind, body, sent, attempts, last_error FROM reports WHERE contact_id = ? "
                                "ORDER BY seq", (contact_id,)).fetchall()
        return [{"kind": k, "body": json.loads(b), "sent": s, "attempts": a, "last_error": e}
                for k, b, s, a, e in rows]


def _bounded_json(value: Any, limit: int = 100_000) -> str:
    """Return ``value`` as JSON, or its ``repr`` cut to ``limit`` characters as a JSON string when longer."""
    text = json.dumps(value, default=repr)
    return text if len(text) <= limit else json.dumps(repr(value)[:limit])
