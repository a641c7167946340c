"""The life of a booked contact after booking: the station agent starts it and reports its outcome.

::

    scheduled --start--> in_progress --report--> completed | failed
    scheduled ---------------report-----------> completed | failed   (an agent that missed "start")
    scheduled | in_progress --cancel (booking.cancel_contact)--> cancelled

Every other move is a ``ConflictError`` (409) naming the contact, its status and what is
allowed from there.  Completed, failed and cancelled are final.

Retries are safe, because an agent on a flaky link resends:

- ``start_contact`` on a contact already in progress returns it unchanged, unless it
  names a different ``at`` than the one recorded (409);
- ``report_outcome`` on a completed or failed contact returns it unchanged when the
  report says the same thing again (status, bytes, and each of notes, started_at,
  finished_at, execution and frames_received that the repeat gives); a different report is a 409.  Fields a repeat
  leaves out are not compared, so a retry that lets ``finished_at`` default to "now"
  still matches.

Each function locks the contact's row first (``SELECT ... FOR UPDATE`` on PostgreSQL;
on SQLite the unit of work's ``BEGIN IMMEDIATE`` already serialises writers), so two
reports for one contact run one after the other and the second sees the first.
Nothing here commits: the caller's unit of work does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from groundshare.errors import ConflictError, InvalidInputError
from groundshare.store.booking import locked_contact
from groundshare.store.lease import MAX_AGENT_ID_LENGTH
from groundshare.store.models import Contact, ContactStatus
from groundshare.timeutil import format_utc, require_utc, utc_now

#: Largest ``bytes_received`` the column holds (a signed 64-bit ``BIGINT``).
MAX_BYTES = 2**63 - 1
#: Longest ``notes`` accepted with an outcome (characters), as for a booking's notes.
MAX_NOTES_LENGTH = 10_000
#: The outcomes an agent may report.
OUTCOMES = frozenset({ContactStatus.COMPLETED, ContactStatus.FAILED})
#: Statuses from which an outcome may be reported.
REPORTABLE = frozenset({ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS})

#: What an agent may say of how it ran a contact (``Contact.execution``): pointing error in degrees
#: (``pointing_error_rms_deg``, ``pointing_error_max_deg``), what it sent to and read from the rotator and
#: radio (counts), reconnections to them, the reasons of failures, its clock's offset from UTC in seconds
#: (``clock_offset_s``: positive when the station clock is ahead) and which agent it was (``agent_id``); a SatNOGS
#: station's satnogs-client reports its ``client_version`` and ``client_metadata`` (``api.routes.satnogs``).
#: A launch-and-early-orbit contact's agent reports its ``search`` (heard_at, shift_s, searched_s, signal).
#: The API validates the values (``api.schemas.ContactExecution``); the store checks the names.
EXECUTION_FIELDS = frozenset({
    "pointing_error_rms_deg", "pointing_error_max_deg", "positions_sent", "positions_read", "positions_refused",
    "frequency_commands", "reconnects", "failures", "clock_offset_s", "agent_id", "client_version",
    "client_metadata", "search"})
#: Largest count (positions, frequency commands) an execution report may give.
MAX_EXECUTION_COUNT = 10_000_000
#: Most failure reasons an execution report may list, and the longest reason (characters).
MAX_FAILURES = 50
MAX_FAILURE_LENGTH = 500
#: Longest ``agent_id`` in an execution report (as for a lease).
MAX_EXECUTION_AGENT_ID_LENGTH = MAX_AGENT_ID_LENGTH


def start_contact(session: Session, contact_id: int, at: datetime | None = None) -> Contact:
    """Return the contact, now in progress since ``at`` (default: now, UTC).

    Starting a contact already in progress returns it unchanged when ``at`` is omitted or
    equals the recorded ``started_at``.  Raises ``NotFoundError`` for an unknown contact,
    ``InvalidInputError`` (naming ``started_at``) for a naive ``at`` and ``ConflictError``
    when the contact is not scheduled (or in progress since another time).
    """
    at = require_utc(at, "started_at") if at is not None else None
    contact = locked_contact(session, contact_id)
    if contact.status is ContactStatus.IN_PROGRESS:
        if at is None or at == contact.started_at:
            return contact
        raise ConflictError(
            f"contact {contact_id} is in_progress since {_when(contact.started_at)}, not {format_utc(at)}; "
            "a contact starts once\n\nResend the start without started_at (or with the recorded one), or "
            "report its outcome")
    if contact.status is not ContactStatus.SCHEDULED:
        raise ConflictError(
            f"contact {contact_id} is {contact.status.value} and cannot be started; only a scheduled contact "
            f"can ({_what_now(contact.status)})")
    contact.status = ContactStatus.IN_PROGRESS
    contact.started_at = at if at is not None else utc_now()
    session.flush()
    return contact


def report_outcome(session: Session, contact_id: int, *, status: ContactStatus | str, bytes_received: int,
                   notes: str | None = None, started_at: datetime | None = None,
                   finished_at: datetime | None = None, execution: dict[str, Any] | None = None,
                   frames_received: int | None = None) -> Contact:
    """Return the contact, now ``completed`` or ``failed``, with what the agent reports.

    ``bytes_received`` (0 to ``MAX_BYTES``) is what the station received, also for a
    failed contact (a partial download).  ``notes``, when given, replaces the contact's
    notes.  ``started_at`` (default: the one recorded by ``start_contact``, if any) and
    ``finished_at`` (default: now) are aware datetimes, stored in UTC; ``finished_at``
    may not be before ``started_at``.  ``execution``, when given, is what the agent did
    (the names of ``EXECUTION_FIELDS``; those set to None are left out) and replaces the
    contact's.  ``frames_received`` (0 to ``MAX_BYTES``), when given, is how many frames the
    station says it received (the frames themselves arrive through ``store.frames``; this
    count is the agent's, not recomputed).  A scheduled contact may be reported directly.

    Raises ``InvalidInputError`` naming the bad field, ``NotFoundError`` for an unknown
    contact and ``ConflictError`` for a cancelled contact or a second, different report.
    """
    outcome = _outcome(status)
    if isinstance(bytes_received, bool) or not isinstance(bytes_received, int) \
            or not 0 <= bytes_received <= MAX_BYTES:
        raise InvalidInputError(f"bytes_received must be a whole number from 0 to {MAX_BYTES}, got "
                                f"{bytes_received!r}", loc=("bytes_received",))
    if notes is not None and len(notes) > MAX_NOTES_LENGTH:
        raise InvalidInputError(f"notes must be at most {MAX_NOTES_LENGTH} characters, got {len(notes)}",
                                loc=("notes",))
    if frames_received is not None and (isinstance(frames_received, bool) or not isinstance(frames_received, int)
                                        or not 0 <= frames_received <= MAX_BYTES):
        raise InvalidInputError(f"frames_received must be a whole number from 0 to {MAX_BYTES}, got "
                                f"{frames_received!r}", loc=("frames_received",))
    started_at = require_utc(started_at, "started_at") if started_at is not None else None
    given_finished_at = require_utc(finished_at, "finished_at") if finished_at is not None else None
    execution = _execution(execution)

    contact = locked_contact(session, contact_id)
    if contact.status in OUTCOMES:
        asked = {"status": outcome, "bytes_received": bytes_received, "notes": notes, "started_at": started_at,
                 "finished_at": given_finished_at, "execution": execution, "frames_received": frames_received}
        return _same_report(contact, asked)
    if contact.status not in REPORTABLE:
        raise ConflictError(
            f"contact {contact_id} is {contact.status.value}; an outcome can be reported only for a scheduled "
            f"or in_progress contact ({_what_now(contact.status)})")

    began = started_at if started_at is not None else contact.started_at
    ended = given_finished_at if given_finished_at is not None else utc_now()
    if began is not None and ended < began:
        raise InvalidInputError(f"finished_at ({format_utc(ended)}) is before started_at ({format_utc(began)})",
                                loc=("finished_at",))
    contact.status = outcome
    contact.bytes_received = bytes_received
    contact.started_at = began
    contact.finished_at = ended
    if notes is not None:
        contact.notes = notes
    if execution is not None:
        contact.execution = execution
    if frames_received is not None:
        contact.frames_received = frames_received
    session.flush()
    return contact


def _outcome(status: ContactStatus | str) -> ContactStatus:
    try:
        outcome = ContactStatus(status)
    except ValueError:
        outcome = None
    if outcome not in OUTCOMES:
        raise InvalidInputError(f"status must be 'completed' or 'failed', got {str(status)!r}", loc=("status",))
    return outcome


def _execution(execution: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return the execution report without its unset (None) fields; ``InvalidInputError`` for an unknown name."""
    if execution is None:
        return None
    if not isinstance(execution, dict):
        raise InvalidInputError(f"execution must be an object, got {type(execution).__name__}", loc=("execution",))
    unknown = sorted(set(execution) - EXECUTION_FIELDS)
    if unknown:
        raise InvalidInputError(f"execution has no field {unknown[0]!r}; known: {', '.join(sorted(EXECUTION_FIELDS))}",
                                loc=("execution", unknown[0]))
    return {name: value for name, value in execution.items() if value is not None}


def _same_report(contact: Contact, asked: dict[str, Any]) -> Contact:
    """Return ``contact`` if ``asked`` repeats its recorded outcome; ``ConflictError`` otherwise."""
    recorded = {"status": contact.status, "bytes_received": contact.bytes_received, "notes": contact.notes,
                "started_at": contact.started_at, "finished_at": contact.finished_at, "execution": contact.execution,
                "frames_received": contact.frames_received}
    differing = [name for name, value in asked.items() if value is not None and value != recorded[name]]
    if not differing:
        return contact
    shown = ", ".join(f"{name} {_show(recorded[name])} (reported: {_show(asked[name])})" for name in differing)
    raise ConflictError(
        f"contact {contact.id} is already {contact.status.value} with a different report: {shown}; an outcome is "
        "final\n\nResending the same report is harmless; a correction needs an operator")


def _what_now(status: ContactStatus) -> str:
    if status is ContactStatus.CANCELLED:
        return "cancelled is final"
    if status in OUTCOMES:
        return f"{status.value} is final"
    return "it can be started, reported or cancelled"


def _when(value: datetime | None) -> str:
    return format_utc(value) if value is not None else "an unrecorded time"


def _show(value: Any) -> str:
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, ContactStatus):
        return value.value
    return repr(value)
