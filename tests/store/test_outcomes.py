"""The contact life cycle: start, report an outcome; illegal moves are 409s naming the contact."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from groundshare.errors import ConflictError, InvalidInputError, NotFoundError
from groundshare.store import (
    UNCHECKED,
    Contact,
    ContactStatus,
    book_contact,
    cancel_contact,
    report_outcome,
    session_scope,
    start_contact,
)
from groundshare.store.outcomes import MAX_BYTES
from tests.support.databases import sqlite_only

T0 = datetime(2025, 11, 7, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def booked(factory, network, offset_min: int = 0) -> int:
    with session_scope(factory) as session:
        contact = book_contact(session, antenna_id=network.antenna_id, satellite_id=network.satellite_id,
                               org_id=network.org_id, start=T0 + offset_min * MINUTE,
                               end=T0 + (offset_min + 10) * MINUTE, notes="booked for telemetry", rules=UNCHECKED)
        return contact.id


def start(factory, contact_id, at=None) -> Contact:
    with session_scope(factory) as session:
        return start_contact(session, contact_id, at)


def report(factory, contact_id, **fields) -> Contact:
    fields = {"status": "completed", "bytes_received": 1_234_567, **fields}
    with session_scope(factory) as session:
        return report_outcome(session, contact_id, **fields)


def stored(factory, contact_id) -> Contact:
    with session_scope(factory, write=False) as session:
        return session.get(Contact, contact_id)


def test_start_then_complete(factory, network):
    contact_id = booked(factory, network)
    started = start(factory, contact_id, T0 + timedelta(seconds=2))  # two seconds late
    assert started.status is ContactStatus.IN_PROGRESS
    assert started.started_at == T0 + timedelta(seconds=2)
    report(factory, contact_id, bytes_received=5_000_000, notes="clean pass", finished_at=T0 + 10 * MINUTE)
    contact = stored(factory, contact_id)
    assert contact.status is ContactStatus.COMPLETED
    assert contact.bytes_received == 5_000_000 and contact.notes == "clean pass"
    assert contact.started_at == T0 + timedelta(seconds=2) and contact.finished_at == T0 + 10 * MINUTE
    assert contact.finished_at.tzinfo is not None


def test_scheduled_contact_may_be_reported_directly_and_keeps_its_notes(factory, network):
    contact_id = booked(factory, network)
    report(factory, contact_id, status=ContactStatus.FAILED, bytes_received=0, started_at=T0,
           finished_at=T0 + MINUTE)
    contact = stored(factory, contact_id)
    assert contact.status is ContactStatus.FAILED
    assert contact.started_at == T0 and contact.finished_at == T0 + MINUTE
    assert contact.notes == "booked for telemetry"  # notes omitted: left alone


def test_finished_at_defaults_to_now(factory, network):
    contact_id = booked(factory, network)
    before = datetime.now(UTC)
    contact = report(factory, contact_id)
    assert before <= contact.finished_at <= datetime.now(UTC)


def test_identical_report_is_idempotent(factory, network):
    contact_id = booked(factory, network)
    start(factory, contact_id, T0)
    first = report(factory, contact_id, notes="ok", finished_at=T0 + 10 * MINUTE)
    again = report(factory, contact_id, notes="ok", finished_at=T0 + 10 * MINUTE)
    retry_without_times = report(factory, contact_id)  # finished_at and notes left out: not compared
    assert again.id == first.id == retry_without_times.id
    contact = stored(factory, contact_id)
    assert contact.finished_at == T0 + 10 * MINUTE and contact.notes == "ok"


@pytest.mark.parametrize(("change", "named"), [
    ({"bytes_received": 1}, "bytes_received 1234567 (reported: 1)"),
    ({"status": "failed"}, "status completed (reported: failed)"),
    ({"notes": "other"}, "notes 'ok' (reported: 'other')"),
    ({"finished_at": T0 + 11 * MINUTE},
     "finished_at 2025-11-07T10:10:00.000Z (reported: 2025-11-07T10:11:00.000Z)"),
])
def test_different_second_report_is_409(factory, network, change, named):
    contact_id = booked(factory, network)
    report(factory, contact_id, notes="ok", finished_at=T0 + 10 * MINUTE)
    with pytest.raises(ConflictError) as info:
        report(factory, contact_id, **{"notes": "ok", "finished_at": T0 + 10 * MINUTE, **change})
    message = str(info.value)
    assert message.startswith(f"contact {contact_id} is already completed with a different report: {named}")
    assert "an outcome is final" in message
    assert stored(factory, contact_id).bytes_received == 1_234_567


def test_report_on_cancelled_contact_is_409(factory, network):
    contact_id = booked(factory, network)
    with session_scope(factory) as session:
        cancel_contact(session, contact_id)
    with pytest.raises(ConflictError, match=(
            rf"^contact {contact_id} is cancelled; an outcome can be reported only for a scheduled or in_progress "
            r"contact \(cancelled is final\)$")):
        report(factory, contact_id)
    with pytest.raises(ConflictError, match=rf"^contact {contact_id} is cancelled and cannot be started"):
        start(factory, contact_id)
    assert stored(factory, contact_id).bytes_received is None


def test_starting_a_completed_contact_is_409(factory, network):
    contact_id = booked(factory, network)
    report(factory, contact_id)
    with pytest.raises(ConflictError, match=(
            rf"^contact {contact_id} is completed and cannot be started; only a scheduled contact can "
            r"\(completed is final\)$")):
        start(factory, contact_id)
    with pytest.raises(ConflictError, match="cannot be cancelled"), session_scope(factory) as session:
        cancel_contact(session, contact_id)


def test_repeated_start(factory, network):
    contact_id = booked(factory, network)
    start(factory, contact_id, T0)
    assert start(factory, contact_id, T0).started_at == T0  # the same start again
    assert start(factory, contact_id).started_at == T0  # no time: a retry
    with pytest.raises(ConflictError, match=(
            rf"^contact {contact_id} is in_progress since 2025-11-07T10:00:00.000Z, not 2025-11-07T10:01:00.000Z")):
        start(factory, contact_id, T0 + MINUTE)


def test_start_defaults_to_now(factory, network):
    contact_id = booked(factory, network)
    before = datetime.now(UTC)
    assert before <= start(factory, contact_id).started_at <= datetime.now(UTC)


def test_largest_byte_count_is_stored(factory, network):
    contact_id = booked(factory, network)
    report(factory, contact_id, bytes_received=MAX_BYTES)
    assert stored(factory, contact_id).bytes_received == MAX_BYTES


@pytest.mark.parametrize(("fields", "loc"), [
    ({"status": "cancelled"}, ("status",)),
    ({"status": "bogus"}, ("status",)),
    ({"bytes_received": -1}, ("bytes_received",)),
    ({"bytes_received": MAX_BYTES + 1}, ("bytes_received",)),
    ({"bytes_received": 1.5}, ("bytes_received",)),
    ({"bytes_received": True}, ("bytes_received",)),
    ({"notes": "x" * 10_001}, ("notes",)),
    ({"started_at": datetime(2025, 11, 7, 10, 0)}, ("started_at",)),
    ({"finished_at": datetime(2025, 11, 7, 10, 0)}, ("finished_at",)),
    ({"started_at": T0 + MINUTE, "finished_at": T0}, ("finished_at",)),
])
def test_bad_report_names_the_field(factory, network, fields, loc):
    contact_id = booked(factory, network)
    with pytest.raises(InvalidInputError) as info:
        report(factory, contact_id, **fields)
    assert info.value.loc == loc
    assert stored(factory, contact_id).status is ContactStatus.SCHEDULED


def test_finished_before_recorded_start_is_refused(factory, network):
    contact_id = booked(factory, network)
    start(factory, contact_id, T0 + MINUTE)
    with pytest.raises(InvalidInputError, match=r"^finished_at \(2025-11-07T10:00:00.000Z\) is before started_at"):
        report(factory, contact_id, finished_at=T0)


def test_unknown_contact(factory, network):
    with pytest.raises(NotFoundError, match=r"^contact 999 does not exist$"):
        report(factory, 999)
    with pytest.raises(NotFoundError):
        start(factory, 999)


@sqlite_only
def test_read_only_unit_of_work_is_refused(factory, network):
    contact_id = booked(factory, network)
    with session_scope(factory, write=False) as session, pytest.raises(RuntimeError, match="write lock"):
        start_contact(session, contact_id)


def test_concurrent_reports_are_serialised(factory, network):
    """A second report waits for the first one's unit of work, then sees its outcome (the row lock)."""
    contact_id = booked(factory, network)
    outcome: list[BaseException | Contact] = []

    def second_report() -> None:
        try:
            outcome.append(report(factory, contact_id, bytes_received=1))
        except BaseException as exc:
            outcome.append(exc)

    with session_scope(factory) as session:
        report_outcome(session, contact_id, status="completed", bytes_received=2)
        thread = threading.Thread(target=second_report)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive() and not outcome  # waiting on the lock
    thread.join(timeout=30)
    [result] = outcome
    assert isinstance(result, ConflictError)
    assert "bytes_received 2 (reported: 1)" in str(result)
    assert stored(factory, contact_id).bytes_received == 2


def test_execution_is_stored_and_a_repeat_compared(factory, network):
    contact_id = booked(factory, network)
    execution = {"pointing_error_rms_deg": 0.25, "positions_sent": 10, "failures": ["rig: timeout"], "agent_id": None}
    done = report(factory, contact_id, status="completed", bytes_received=5, execution=execution,
                  finished_at=T0 + 10 * MINUTE)
    assert done.execution == {"pointing_error_rms_deg": 0.25, "positions_sent": 10, "failures": ["rig: timeout"]}
    assert stored(factory, contact_id).execution == done.execution
    again = report(factory, contact_id, status="completed", bytes_received=5, execution=execution)
    assert again.execution == done.execution
    with pytest.raises(ConflictError, match="with a different report: execution "):
        report(factory, contact_id, status="completed", bytes_received=5, execution={"positions_sent": 11})
    assert stored(factory, contact_id).execution == done.execution


def test_unknown_execution_field_is_invalid(factory, network):
    contact_id = booked(factory, network)
    with pytest.raises(InvalidInputError, match="execution has no field 'wobble'") as error:
        report(factory, contact_id, status="failed", bytes_received=0, execution={"wobble": 1})
    assert error.value.loc == ("execution", "wobble")
    assert stored(factory, contact_id).execution is None
