"""The journal's record of uplink frames (``agent.journal``): written once, reported once it is known, never twice.

A frame is recorded ``writing`` before it goes to the TNC and ``on_air`` after; its
outcome is reported only then (a report racing the write must not say "not sent" for a
frame the TNC has).  A frame a dead agent left ``writing`` is ``interrupted`` when the
journal is opened again: reported not sent, saying it may have gone out.  A frame the
journal knows is never recorded again, so it is never written to the TNC twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from groundshare.agent.journal import Journal
from groundshare.agent.uplink import inhibit_path, lift_local_inhibit, local_inhibit, raise_local_inhibit

AT = datetime(2025, 11, 7, 3, 0, tzinfo=UTC)


def test_a_frame_being_written_is_not_reported_until_it_is_on_air(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "agent.sqlite") as journal:
        assert journal.record_uplink(7, 1, "ab" * 32, at=AT)
        assert not journal.record_uplink(7, 1, "ab" * 32, at=AT)  # known: never written twice
        assert journal.unreported_uplink() == []
        journal.uplink_written(7)
        [entry] = journal.unreported_uplink()
        assert entry.outcome() == {"frame_id": 7, "on_air_at": "2025-11-07T03:00:00.000Z"}
        journal.uplink_reported([7])
        assert journal.unreported_uplink() == []
        journal.report_uplink_again(7)
        assert [e.frame_id for e in journal.unreported_uplink()] == [7]


def test_a_frame_refused_at_the_station_is_reported_with_its_reason(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "agent.sqlite") as journal:
        assert journal.record_uplink(8, 1, "cd" * 32, reason="after LOS at the station")
        journal.record_uplink(9, 1, "ef" * 32, at=AT)
        journal.uplink_not_written(9, "could not be written to the TNC: broken pipe")
        outcomes = [e.outcome() for e in journal.unreported_uplink()]
        assert outcomes == [{"frame_id": 8, "not_sent_reason": "after LOS at the station"},
                            {"frame_id": 9, "not_sent_reason": "could not be written to the TNC: broken pipe"}]
        assert journal.uplink_counts(1) == {"not_sent": 2}


def test_a_write_cut_off_by_a_crash_is_reported_uncertain_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite"
    with Journal.open(path) as journal:
        journal.record_uplink(11, 2, "01" * 32, at=AT)  # the agent dies here, mid-write
    with Journal.open(path) as journal:
        [entry] = journal.unreported_uplink()
        assert entry.state == "interrupted"
        reason = entry.outcome()["not_sent_reason"]
        assert "stopped while writing the frame to its TNC" in reason and "may have been transmitted" in reason
        assert not journal.record_uplink(11, 2, "01" * 32, at=AT)


def test_the_local_inhibit_is_a_file_beside_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite"
    assert local_inhibit(path) is None
    where = raise_local_inhibit(path, "antenna maintenance", at=AT)
    assert where == inhibit_path(path) == tmp_path / "agent.sqlite.inhibit"
    assert local_inhibit(path) == {"raised_at": "2025-11-07T03:00:00.000Z", "reason": "antenna maintenance",
                                   "pid": local_inhibit(path)["pid"]}
    where.write_text("not json")  # unreadable as JSON: still an inhibit, with the text as its reason
    assert local_inhibit(path) == {"raised_at": None, "reason": "not json"}
    assert lift_local_inhibit(path) and not lift_local_inhibit(path)
    assert local_inhibit(path) is None
