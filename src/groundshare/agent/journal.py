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
  acknowledgement itself was lost);
- ``frames``: every frame captured from the TNC (``agent.capture``), written the moment
  it is read and before anything else is done with it, with ``uploaded`` set once the
  API has taken it (1), or settled with the reason when the API refused it for good
  (-1; the frame stays here). The API keeps a frame once per contact however often it
  is sent, so a batch sent again after a crash changes nothing there;
- ``uplink``: every frame the API gave the station to transmit (``agent.uplink``), by its
  id: ``writing`` with the time, recorded *before* the frame goes to the TNC, then
  ``on_air``; or ``not_sent`` with the reason (``interrupted``: the agent died writing
  it); ``reported`` once the API has taken the outcome.  A frame found here is never
  transmitted again, whatever the API says after a restart;
- ``artifacts``: the files a capture command left for a contact (``agent.recording``),
  each with its SHA-256 and size as found after LOS and how many of its bytes the API
  has taken (``uploaded_bytes``), ``done`` once stored (1) or refused for good (-1).

The capture thread writes frames while the agent's main thread executes the pass, and
an upload thread reads them: the journal is one connection behind one lock, every
method a short local transaction, so the threads take turns (never for a network call).

The journal is also the agent's lock: ``Journal.open`` takes an exclusive ``flock`` on
``<file>.lock``, so a second agent started on the same machine for the same station
refuses to run (the API's lease covers agents on different machines).

What goes in is typed and what comes out is typed again: the station is a
``StationSnapshot``, each contact a ``ScheduledContact``, the clock a ``ServerClock``,
each stored as its ``to_json()``.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

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
CREATE TABLE IF NOT EXISTS frames (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    contact_id INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    payload BLOB NOT NULL,
    uploaded INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS frames_unsent ON frames (uploaded, seq);
CREATE INDEX IF NOT EXISTS frames_contact ON frames (contact_id, seq);
CREATE TABLE IF NOT EXISTS artifacts (
    contact_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    uploaded_bytes INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    PRIMARY KEY (contact_id, name)
);
CREATE TABLE IF NOT EXISTS uplink (
    frame_id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    state TEXT NOT NULL,
    at TEXT,
    reason TEXT,
    reported INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS uplink_unreported ON uplink (reported, frame_id);
"""

P = ParamSpec("P")
R = TypeVar("R")


def _locked(method: Callable[P, R]) -> Callable[P, R]:
    """Run ``method`` holding the journal's lock (the capture, upload and main threads share one connection)."""

    @functools.wraps(method)
    def locked(*args: P.args, **kwargs: P.kwargs) -> R:
        with args[0]._lock:  # type: ignore[attr-defined]
            return method(*args, **kwargs)

    return locked


@dataclass(frozen=True)
class JournalUplink:
    """An uplink frame as the journal keeps it: ``on_air`` at ``at``, ``not_sent`` with ``reason``, ``writing`` (now)
    or ``interrupted`` (a previous run died writing it)."""

    frame_id: int
    contact_id: int
    state: str
    at: str | None
    reason: str | None

    def outcome(self) -> dict[str, Any]:
        """Return the outcome as ``POST /agent/stations/{id}/uplink/outcomes`` takes it."""
        if self.state == "on_air":
            return {"frame_id": self.frame_id, "on_air_at": self.at}
        if self.state == "interrupted":
            return {"frame_id": self.frame_id, "not_sent_reason": (
                f"the station's agent stopped while writing the frame to its TNC at {self.at}; it may have been "
                "transmitted, and is not transmitted again")}
        return {"frame_id": self.frame_id, "not_sent_reason": self.reason or "not sent"}


@dataclass(frozen=True)
class JournalFrame:
    """A frame as the journal keeps it: its ``seq`` (order of capture), contact, reception time and bytes."""

    seq: int
    contact_id: int
    received_at: str  # ISO 8601 UTC, as sent to the API
    payload: bytes
    uploaded: int = 0


@dataclass(frozen=True)
class JournalArtifact:
    """A file of a contact to upload: its artifact ``name``, where it is, its SHA-256 and size, what was taken."""

    contact_id: int
    name: str
    path: str
    sha256: str
    size: int
    uploaded_bytes: int = 0
    done: int = 0
    last_error: str | None = None


class Journal:
    """The station's journal file (see the module docstring); use ``Journal.open``."""

    def __init__(self, path: Path, db: sqlite3.Connection, lock_fd: int) -> None:
        self.path = path
        self._db = db
        self._lock_fd = lock_fd
        self._lock = threading.RLock()

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
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.executescript(SCHEMA)
        # Frames a previous run was writing to the TNC when it died: whether they went out is unknown.
        db.execute("UPDATE uplink SET state = 'interrupted' WHERE state = 'writing'")
        return cls(path, db, fd)

    @_locked
    def close(self) -> None:
        self._db.close()
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # The station.

    @_locked
    def save_station(self, station: StationSnapshot) -> None:
        self._db.execute("INSERT OR REPLACE INTO station (id, body) VALUES (1, ?)", (json.dumps(station.to_json()),))

    @_locked
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

    @_locked
    def save_clock(self, clock: ServerClock) -> None:
        self._db.execute("INSERT OR REPLACE INTO clock (id, body) VALUES (1, ?)", (json.dumps(clock.to_json()),))

    @_locked
    def clock(self) -> ServerClock | None:
        """Return the network's clock as the server last told it (None if never, or not readable)."""
        row = self._db.execute("SELECT body FROM clock WHERE id = 1").fetchone()
        try:
            return ServerClock.from_json(json.loads(row[0])) if row else None
        except ApiResponseError:
            return None

    # Contacts.

    @_locked
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

    @_locked
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

    @_locked
    def reject(self, contact_id: int, body: Any) -> bool:
        """Mark a contact the API listed malformed ``rejected``; return False if it was already done or rejected."""
        if self.state(contact_id) in ("done", "rejected"):
            return False
        self._db.execute("INSERT INTO contacts (contact_id, start, end, body, state) VALUES (?, '', '', ?, 'rejected') "
                         "ON CONFLICT (contact_id) DO UPDATE SET state = 'rejected'",
                         (contact_id, _bounded_json(body)))
        return True

    @_locked
    def states(self) -> dict[str, int]:
        """Return how many contacts the journal holds in each state."""
        return dict(self._db.execute("SELECT state, count(*) FROM contacts GROUP BY state").fetchall())

    @_locked
    def state(self, contact_id: int) -> str | None:
        row = self._db.execute("SELECT state FROM contacts WHERE contact_id = ?", (contact_id,)).fetchone()
        return row[0] if row else None

    @_locked
    def mark(self, contact_id: int, state: str) -> None:
        self._db.execute("UPDATE contacts SET state = ? WHERE contact_id = ?", (state, contact_id))

    # Reports.

    @_locked
    def queue_report(self, contact_id: int, kind: str, body: dict[str, Any]) -> None:
        """Queue a ``start`` or ``outcome`` report (a second one of the same kind is ignored)."""
        self._db.execute("INSERT OR IGNORE INTO reports (contact_id, kind, body) VALUES (?, ?, ?)",
                         (contact_id, kind, json.dumps(body)))

    @_locked
    def unsent_reports(self) -> list[tuple[int, int, str, dict[str, Any]]]:
        """Return ``(seq, contact_id, kind, body)`` of the reports not yet taken by the API, oldest first."""
        rows = self._db.execute("SELECT seq, contact_id, kind, body FROM reports WHERE sent = 0 ORDER BY seq")
        return [(seq, contact_id, kind, json.loads(body)) for seq, contact_id, kind, body in rows.fetchall()]

    @_locked
    def report_sent(self, seq: int) -> None:
        self._db.execute("UPDATE reports SET sent = 1, attempts = attempts + 1, last_error = NULL WHERE seq = ?",
                         (seq,))

    @_locked
    def report_failed(self, seq: int, error: str, *, give_up: bool = False) -> None:
        """Record a failed send; ``give_up`` marks it settled (the API refused it for good) with the reason."""
        self._db.execute("UPDATE reports SET attempts = attempts + 1, last_error = ?, sent = ? WHERE seq = ?",
                         (error, -1 if give_up else 0, seq))

    @_locked
    def reports(self, contact_id: int) -> list[dict[str, Any]]:
        """Return every report of a contact with its sending state (for people and tests)."""
        rows = self._db.execute("SELECT kind, body, sent, attempts, last_error FROM reports WHERE contact_id = ? "
                                "ORDER BY seq", (contact_id,)).fetchall()
        return [{"kind": k, "body": json.loads(b), "sent": s, "attempts": a, "last_error": e}
                for k, b, s, a, e in rows]

    # Frames.

    @_locked
    def add_frames(self, contact_id: int, frames: Sequence[tuple[datetime, bytes]]) -> None:
        """Keep ``(received_at, payload)`` frames of a contact, all or none, committed before this returns."""
        if not frames:
            return
        self._db.execute("BEGIN")
        try:
            self._db.executemany("INSERT INTO frames (contact_id, received_at, payload) VALUES (?, ?, ?)",
                                 [(contact_id, format_utc(when), bytes(payload)) for when, payload in frames])
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    @_locked
    def unsent_frames(self, limit: int = 100) -> list[JournalFrame]:
        """Return up to ``limit`` frames not yet taken by the API, of one contact (the oldest's), in capture order."""
        first = self._db.execute("SELECT contact_id FROM frames WHERE uploaded = 0 ORDER BY seq LIMIT 1").fetchone()
        if first is None:
            return []
        rows = self._db.execute("SELECT seq, contact_id, received_at, payload FROM frames WHERE uploaded = 0 AND "
                                "contact_id = ? ORDER BY seq LIMIT ?", (first[0], limit)).fetchall()
        return [JournalFrame(seq, contact_id, received_at, bytes(payload))
                for seq, contact_id, received_at, payload in rows]

    @_locked
    def frames_uploaded(self, seqs: Sequence[int], *, error: str | None = None) -> None:
        """Mark frames taken by the API; with ``error``, settled as refused for good (kept here with the reason)."""
        self._db.execute("BEGIN")
        try:
            self._db.executemany("UPDATE frames SET uploaded = ?, last_error = ? WHERE seq = ?",
                                 [(-1 if error else 1, error, seq) for seq in seqs])
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # Uplink.

    @_locked
    def uplink_outcome(self, frame_id: int) -> JournalUplink | None:
        """Return what the journal holds of uplink frame ``frame_id`` (None: never given to the TNC)."""
        row = self._db.execute("SELECT frame_id, contact_id, state, at, reason FROM uplink WHERE frame_id = ?",
                               (frame_id,)).fetchone()
        return JournalUplink(*row) if row is not None else None

    @_locked
    def record_uplink(self, frame_id: int, contact_id: int, sha256: str, *, at: datetime | None = None,
                      reason: str | None = None) -> bool:
        """Record that the frame is being written to the TNC ``at``, or why it is not sent; False if already known.

        ``writing`` is recorded *before* the write; ``uplink_written`` makes it ``on_air``
        after it, and only then is it reported.  A frame left ``writing`` by an agent that
        died during the write is ``interrupted`` when the journal is next opened: reported
        not sent, saying that it may have gone out, and never written again.
        """
        state = "writing" if reason is None else "not_sent"
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO uplink (frame_id, contact_id, sha256, state, at, reason) VALUES (?, ?, ?, ?, ?, ?)",
            (frame_id, contact_id, sha256, state, format_utc(at) if at is not None else None, reason))
        return cursor.rowcount == 1

    @_locked
    def uplink_written(self, frame_id: int) -> None:
        """Say that a frame being written is with the TNC now (``on_air``)."""
        self._db.execute("UPDATE uplink SET state = 'on_air' WHERE frame_id = ? AND state = 'writing'", (frame_id,))

    @_locked
    def uplink_not_written(self, frame_id: int, reason: str) -> None:
        """Say that a frame being written could not be written to the TNC after all."""
        self._db.execute("UPDATE uplink SET state = 'not_sent', at = NULL, reason = ? WHERE frame_id = ? AND "
                         "state = 'writing'", (reason, frame_id))

    @_locked
    def report_uplink_again(self, frame_id: int) -> None:
        """Queue the frame's journaled outcome to be reported again (the API still holds it queued)."""
        self._db.execute("UPDATE uplink SET reported = 0 WHERE frame_id = ?", (frame_id,))

    @_locked
    def unreported_uplink(self, limit: int = 100) -> list[JournalUplink]:
        """Return outcomes not yet taken by the API (a frame being written has none yet), oldest first."""
        rows = self._db.execute("SELECT frame_id, contact_id, state, at, reason FROM uplink WHERE reported = 0 AND "
                                "state <> 'writing' ORDER BY frame_id LIMIT ?", (limit,)).fetchall()
        return [JournalUplink(*row) for row in rows]

    @_locked
    def uplink_reported(self, frame_ids: Sequence[int], *, error: str | None = None) -> None:
        """Mark outcomes taken by the API; with ``error``, refused for good (kept with the reason)."""
        self._db.executemany("UPDATE uplink SET reported = ?, last_error = ? WHERE frame_id = ?",
                             [(-1 if error else 1, error, frame_id) for frame_id in frame_ids])

    @_locked
    def uplink_counts(self, contact_id: int) -> dict[str, int]:
        rows = self._db.execute("SELECT state, count(*) FROM uplink WHERE contact_id = ? GROUP BY state",
                                (contact_id,)).fetchall()
        return dict(rows)

    @_locked
    def unsent_frame_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM frames WHERE uploaded = 0").fetchone()[0]

    @_locked
    def frame_counts(self, contact_id: int) -> tuple[int, int]:
        """Return how many frames of the contact were captured and their bytes."""
        frames, size = self._db.execute("SELECT count(*), coalesce(sum(length(payload)), 0) FROM frames "
                                        "WHERE contact_id = ?", (contact_id,)).fetchone()
        return int(frames), int(size)

    @_locked
    def frames(self, contact_id: int) -> list[JournalFrame]:
        """Return every frame of a contact with its upload state, in capture order (for people and tests)."""
        rows = self._db.execute("SELECT seq, contact_id, received_at, payload, uploaded FROM frames "
                                "WHERE contact_id = ? ORDER BY seq", (contact_id,)).fetchall()
        return [JournalFrame(seq, cid, at, bytes(payload), uploaded) for seq, cid, at, payload, uploaded in rows]

    # Artifacts.

    @_locked
    def add_artifact(self, contact_id: int, name: str, path: str, sha256: str, size: int) -> bool:
        """Keep a file to upload as artifact ``name`` of the contact; False if that name is already kept."""
        cursor = self._db.execute("INSERT OR IGNORE INTO artifacts (contact_id, name, path, sha256, size) "
                                  "VALUES (?, ?, ?, ?, ?)", (contact_id, name, path, sha256, size))
        return cursor.rowcount == 1

    @_locked
    def artifacts(self, contact_id: int | None = None, *, pending: bool = False) -> list[JournalArtifact]:
        """Return the artifacts of a contact (or of all), only those still to upload with ``pending``."""
        where, args = [], []
        if contact_id is not None:
            where.append("contact_id = ?")
            args.append(contact_id)
        if pending:
            where.append("done = 0")
        rows = self._db.execute("SELECT contact_id, name, path, sha256, size, uploaded_bytes, done, last_error "
                                f"FROM artifacts {'WHERE ' + ' AND '.join(where) if where else ''} "
                                "ORDER BY contact_id, name", args).fetchall()
        return [JournalArtifact(*row) for row in rows]

    @_locked
    def artifact_progress(self, contact_id: int, name: str, uploaded_bytes: int, *, done: int = 0,
                          error: str | None = None) -> None:
        """Record how many bytes of an artifact the API has taken; ``done`` 1 when stored, -1 refused (``error``)."""
        self._db.execute("UPDATE artifacts SET uploaded_bytes = ?, done = ?, last_error = ? WHERE contact_id = ? "
                         "AND name = ?", (uploaded_bytes, done, error, contact_id, name))

    @_locked
    def artifact_counts(self, contact_id: int) -> tuple[int, int]:
        """Return how many files the contact's capture command left and their bytes."""
        files, size = self._db.execute("SELECT count(*), coalesce(sum(size), 0) FROM artifacts WHERE contact_id = ?",
                                       (contact_id,)).fetchone()
        return int(files), int(size)


def _bounded_json(value: Any, limit: int = 100_000) -> str:
    """Return ``value`` as JSON, or its ``repr`` cut to ``limit`` characters as a JSON string when longer."""
    text = json.dumps(value, default=repr)
    return text if len(text) <= limit else json.dumps(repr(value)[:limit])
