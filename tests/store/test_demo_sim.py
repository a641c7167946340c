"""The simulated demo network (``store.demo_sim``): deterministic, failures with the model's reasons, no double
booking, every executed contact's frames stored with receptions, the ledger equal to the contacts' hours, the clock
moved on.

The month itself is ``tests.support.report_world``'s (made once per run); determinism is checked on one day of two
fresh demo networks.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from groundshare.errors import InvalidInputError
from groundshare.store import create_engine_for, init_db, make_session_factory, session_scope
from groundshare.store.clock import clear_network_clock, network_time
from groundshare.store.demo import anchor_demo_clock, load_demo_network
from groundshare.store.demo_sim import (
    DEMANDING_ELEVATION_DEG,
    FAILURE_REASONS,
    MAX_FRAMES_PER_CONTACT,
    STATION_OFFLINE,
    beacon_frame,
    simulate,
)
from groundshare.store.ledger import compute_ledger
from groundshare.store.models import Contact, ContactRequest, ContactStatus, Frame, Reception
from groundshare.units import HOUR_S
from tests.support.report_world import REPORT_DAYS, ReportWorld, report_world, report_world_template  # noqa: F401

pytestmark = pytest.mark.slow


def demo_factory(folder: Path) -> sessionmaker[Session]:
    """A fresh demo network in ``folder`` (tables, the demo's rows, its clock anchored at 2025-11-07)."""
    engine = create_engine_for(f"sqlite:///{folder / 'demo.db'}")
    init_db(engine)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        load_demo_network(session)
        anchor_demo_clock(session)
    return factory


def outcomes(factory: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with session_scope(factory, write=False) as session:
        return [(c.antenna_id, c.satellite_id, c.start_time, c.end_time, c.status.value, c.bytes_received,
                 c.frames_received, c.execution, c.notes)
                for c in session.scalars(select(Contact).order_by(Contact.start_time, Contact.antenna_id))]


def test_the_same_seed_gives_the_same_day_and_another_seed_another(tmp_path: Path) -> None:
    runs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        (tmp_path / name).mkdir()
        factory = demo_factory(tmp_path / name)
        runs[name] = (simulate(factory, days=1.0, seed=seed).to_dict(), outcomes(factory))
    assert runs["a"] == runs["b"]
    report, contacts = runs["a"]
    assert report["contacts_completed"] + report["contacts_failed"] == sum(c[4] != "scheduled" for c in contacts) > 50
    assert [c[:4] for c in runs["c"][1]] == [c[:4] for c in contacts]  # the same plan ...
    assert [c[4:] for c in runs["c"][1]] != [c[4:] for c in contacts]  # ... executed otherwise


def test_bad_days_and_a_network_at_the_wall_clock_are_refused(tmp_path: Path) -> None:
    factory = demo_factory(tmp_path)
    for days in (0, -1.0, 93.0, True):
        with pytest.raises(InvalidInputError, match="days must be more than 0") as caught:
            simulate(factory, days=days)
        assert caught.value.loc == ("days",)
    with session_scope(factory) as session:
        clear_network_clock(session)
    with pytest.raises(InvalidInputError, match="runs at the wall clock") as caught:
        simulate(factory, days=1.0)
    assert caught.value.loc == ("database_url",)
    with session_scope(factory, write=False) as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0


def test_the_month_moved_the_clock_on_and_left_nothing_unexecuted(report_world: ReportWorld) -> None:  # noqa: F811
    assert report_world.end - report_world.start == timedelta(days=REPORT_DAYS)
    assert report_world.start == datetime(2025, 11, 7, tzinfo=UTC)
    with report_world.session() as session:
        assert network_time(session).network_at == report_world.end
        statuses = Counter(session.scalars(select(Contact.status)))
        ended_live = session.scalar(select(func.count()).select_from(Contact).where(
            Contact.status.in_([ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS]),
            Contact.end_time <= report_world.end))
        ahead = session.scalar(select(func.count()).select_from(Contact).where(
            Contact.status == ContactStatus.SCHEDULED, Contact.start_time >= report_world.end))
        filed = list(session.scalars(select(ContactRequest).where(  # filed at the network's time, unlike the demo's
            ContactRequest.created_at >= report_world.start, ContactRequest.created_at < report_world.end)))
        demanding = {r.id for r in filed if r.min_elevation_deg == DEMANDING_ELEVATION_DEG}
        served = Counter(session.scalars(select(Contact.request_id).where(Contact.request_id.in_(demanding))))
    summary = report_world.simulation
    assert statuses[ContactStatus.COMPLETED] == summary["contacts_completed"] > 1000
    assert statuses[ContactStatus.FAILED] == summary["contacts_failed"] > 50
    assert ended_live == 0 and ahead > 0 and statuses[ContactStatus.SCHEDULED] == ahead
    assert len(filed) == summary["requests_created"] > 0
    assert {r.window_start.date().isoformat() for r in filed} == {"2025-11-14", "2025-11-21", "2025-11-28",
                                                                  "2025-12-05"}
    assert demanding and all(served[r] < 7 for r in demanding), "passes that high are rarer than one a day"


def test_failures_have_the_models_reasons(report_world: ReportWorld) -> None:  # noqa: F811
    summary = report_world.simulation
    with report_world.session() as session:
        failed = list(session.scalars(select(Contact).where(Contact.status == ContactStatus.FAILED)))
        reasons = Counter()
        for contact in failed:
            [reason] = contact.execution["failures"]
            assert reason in FAILURE_REASONS and contact.notes.endswith(reason), contact
            assert (contact.bytes_received, contact.frames_received) == (0, 0)
            reasons[reason] += 1
            if reason == STATION_OFFLINE:  # inside one of the station's outages
                station = contact.antenna.station.name
                assert any(o["station"] == station and o["start"] < _iso(contact.end_time)
                           and _iso(contact.start_time) < o["end"] for o in summary["outages"]), contact
    assert dict(reasons) == summary["failures"]
    assert len(reasons) >= 4, reasons  # a month shows most of the model's failures
    assert 0.03 < len(failed) / (len(failed) + summary["contacts_completed"]) < 0.25


def test_every_completed_contact_has_its_frames_stored_with_receptions(report_world: ReportWorld) -> None:  # noqa: F811
    with report_world.session() as session:
        completed = list(session.scalars(select(Contact).where(Contact.status == ContactStatus.COMPLETED)))
        received: dict[int, list[tuple[Frame, Reception]]] = {}
        for frame, reception in session.execute(select(Frame, Reception).join(Reception,
                                                                              Reception.frame_id == Frame.id)):
            received.setdefault(reception.contact_id, []).append((frame, reception))
        frames = session.scalar(select(func.count()).select_from(Frame))
        for contact in completed:
            heard = received.get(contact.id, [])
            assert 0 < len(heard) == contact.frames_received <= MAX_FRAMES_PER_CONTACT, contact
            assert contact.bytes_received == sum(frame.size_bytes for frame, _ in heard)
            assert all(reception.station_id == contact.antenna.station_id and not reception.outside_window
                       for _, reception in heard)
            frame, _ = heard[0]
            assert frame.satellite_id == contact.satellite_id and frame.payload[14:16] == b"\x03\xf0"
    assert frames == report_world.simulation["frames_new"]
    assert sum(len(v) for v in received.values()) == report_world.simulation["receptions"]


def test_beacons_are_ax25_ui_frames_the_same_for_every_station() -> None:
    frame = beacon_frame(44854, "ÑANDÚ-SAT", 12)
    assert frame == beacon_frame(44854, "ÑANDÚ-SAT", 12) != beacon_frame(44854, "ÑANDÚ-SAT", 13)
    assert bytes(b >> 1 for b in frame[:6]) == b"CQ    " and bytes(b >> 1 for b in frame[7:13]) == b"N44854"
    assert frame[13] & 1 and frame[14:16] == b"\x03\xf0" and b"seq=12" in frame


def test_no_antenna_is_double_booked(report_world: ReportWorld) -> None:  # noqa: F811
    with report_world.session() as session:
        live = sorted(session.execute(select(Contact.antenna_id, Contact.start_time, Contact.busy_until).where(
            Contact.status != ContactStatus.CANCELLED)).all())
    for (antenna, _, busy_until), (next_antenna, next_start, _) in pairwise(live):
        assert antenna != next_antenna or busy_until <= next_start


def test_the_ledger_of_the_month_is_the_contacts_hours(report_world: ReportWorld) -> None:  # noqa: F811
    with report_world.session() as session:
        ledger = compute_ledger(session, start=datetime(2025, 11, 1, tzinfo=UTC),
                                end=datetime(2026, 1, 1, tzinfo=UTC), period="month")
        hours = Counter()
        for status, start, end in session.execute(select(Contact.status, Contact.start_time, Contact.end_time)):
            hours[status] += (end - start).total_seconds() / HOUR_S
    assert sum(r.completed_hours for r in ledger.rows) == pytest.approx(hours[ContactStatus.COMPLETED], abs=1e-3)
    assert sum(r.failed_hours for r in ledger.rows) == pytest.approx(hours[ContactStatus.FAILED], abs=1e-3)
    assert sum(r.booked_hours for r in ledger.rows) == pytest.approx(sum(hours.values()), abs=1e-3)
    assert hours[ContactStatus.COMPLETED] > 100
    assert sum(r.contacts for r in ledger.rows) == report_world.simulation["contacts_booked"]


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
