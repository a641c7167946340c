"""The worker: one per database (its lease), jobs on their schedules, and a real cycle against the test sites."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from groundshare.cli import app as cli_app
from groundshare.store import (
    Contact,
    ContactStatus,
    Satellite,
    Station,
    book_contact,
    make_session_factory,
    session_scope,
    set_network_clock,
)
from groundshare.store.booking import BookingRules
from groundshare.store.elements import ensure_default_sources, store_element_sets
from groundshare.store.models import ElementSource, Event
from groundshare.store.worker import SPACETRACK_MINUTES, Worker, WorkerLeaseHeldError, acquire_worker_lease
from tests.support.databases import initialised_engine
from tests.support.orbit_sites import OrbitSites, served
from tests.support.shipped import CUBESATS, shipped_catalogue
from tests.support.worlds import make_network

NOW = datetime(2025, 11, 7, tzinfo=UTC)
WALL = datetime(2026, 3, 19, 10, 0, tzinfo=UTC)


@pytest.fixture
def factory(tmp_path):
    with initialised_engine("sqlite", tmp_path, "worker") as engine:
        yield make_session_factory(engine)


@pytest.fixture
def sites():
    yield from served(OrbitSites())


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class Calls:
    """Stand-ins for the external jobs: they record when they were called and answer like the real ones."""

    def __init__(self) -> None:
        self.syncs: list[tuple[str, datetime]] = []
        self.deliveries: list[datetime] = []

    def sync(self, factory, *, kinds, now, log, **_):
        self.syncs.append((kinds[0], now))
        return dataclasses.make_dataclass("R", [("changed_satellite_ids", list)])([])

    def deliver(self, factory, *, now, **_):
        self.deliveries.append(now)
        return dataclasses.make_dataclass("D", [("attempted", int)])(0)


def test_one_worker_per_database(factory):
    with session_scope(factory) as session:
        lease = acquire_worker_lease(session, "host-a/1", ttl_s=60, now=WALL)
        assert (lease.worker_id, lease.expires_at) == ("host-a/1", WALL + timedelta(seconds=60))
    with session_scope(factory) as session, pytest.raises(WorkerLeaseHeldError) as refused:
        acquire_worker_lease(session, "host-b/2", now=WALL + timedelta(seconds=30))
    assert "worker 'host-a/1' runs this database's syncs and re-planning until 2026-03-19T10:01:00.000Z" in \
        str(refused.value)
    with session_scope(factory) as session:  # renewed by its holder; taken over once expired
        assert acquire_worker_lease(session, "host-a/1", ttl_s=60, now=WALL + timedelta(seconds=50)).acquired_at == WALL
    with session_scope(factory) as session:
        taken = acquire_worker_lease(session, "host-b/2", ttl_s=60, now=WALL + timedelta(seconds=111))
        assert taken.worker_id == "host-b/2"
    second = Worker(factory, worker_id="host-a/1", clock=Clock(WALL + timedelta(seconds=120)), log=lambda _: None)
    with pytest.raises(WorkerLeaseHeldError):
        second.run_once()


def test_jobs_run_on_their_schedules(factory):
    clock, calls = Clock(WALL), Calls()
    worker = Worker(factory, worker_id="w", clock=clock, sync=calls.sync, deliver=calls.deliver,
                    rng=random.Random(7), log=lambda _: None)
    assert worker.spacetrack_minute in SPACETRACK_MINUTES
    for _ in range(3 * 60 * 12):  # three hours of 5 s ticks
        worker.run_once()
        clock.at += timedelta(seconds=5)
    by_kind = {kind: [t for k, t in calls.syncs if k == kind] for kind in ("celestrak", "supgp", "spacetrack")}
    assert by_kind["celestrak"] == [WALL, WALL + timedelta(hours=2)] == by_kind["supgp"]
    assert len(by_kind["spacetrack"]) == 3
    assert all(t.minute == worker.spacetrack_minute and t.second == 0 for t in by_kind["spacetrack"])
    assert len(calls.deliveries) == 3 * 60 * 12 // 1  # every tick (every 5 s)
    worker.release()
    with session_scope(factory) as session:  # released: another worker may start at once
        assert acquire_worker_lease(session, "other", now=clock.at).worker_id == "other"


def test_a_failing_job_does_not_stop_the_others(factory):
    lines: list[str] = []

    def broken(*_, **__):
        raise OSError("network unreachable")

    calls = Calls()
    worker = Worker(factory, worker_id="w", clock=Clock(WALL), sync=broken, deliver=calls.deliver, log=lines.append)
    report = worker.run_once(all_due=True)
    assert report.ran == ["sync:celestrak", "sync:supgp", "sync:spacetrack", "webhooks"]
    assert len(report.errors) == 3 and "sync:celestrak failed: OSError: network unreachable" in lines
    assert calls.deliveries == [WALL]


def test_a_cycle_syncs_the_new_orbit_and_replans_the_booked_contacts(factory, sites):
    """A real cycle: CelesTrak (the test site) has a newer orbit; the booked contacts follow it, with events."""
    network = make_network(factory)
    old = shipped_catalogue(CUBESATS).by_norad_id(27844)
    # One minute newer, the satellite 2 degrees behind where the old set puts it then: passes about 30 s later.
    new = dataclasses.replace(old, line1=None, line2=None, epoch=old.epoch + timedelta(minutes=1),
                              mean_anomaly_deg=(old.mean_anomaly_deg + 60 * old.mean_motion_rev_day / 240
                                                - 2.0) % 360.0)
    sites.add_elements([new])
    with session_scope(factory) as session:
        set_network_clock(session, NOW, reason="test")
        satellite = session.get(Satellite, network.satellite_id)
        satellite.norad_id = 27844
        ensure_default_sources(session, satellite)
        source = session.scalars(select(ElementSource)).one()
        store_element_sets(session, satellite, [old], source=source, fetched_at=NOW, now=NOW)
        site = session.get(Station, network.station_id).to_site()
    from groundshare.passes import find_passes

    table = find_passes([old], [site], start=NOW + timedelta(hours=1), duration_s=86_400, workers=1)
    booked = [p for p in table if not p.clipped and p.duration_s > 240][:2]
    with session_scope(factory) as session:
        ids = [book_contact(session, antenna_id=network.antenna_id, satellite_id=network.satellite_id,
                            org_id=network.org_id, start=p.aos, end=p.los, rules=BookingRules(now=NOW)).id
               for p in booked]
    lines: list[str] = []
    worker = Worker(factory, worker_id="w", clock=Clock(WALL), kinds=("celestrak",),
                    sync_options={"base_urls": {"celestrak": sites.base_url}},
                    replan_options={"time_limit_s": 2, "workers": 2}, log=lines.append)
    report = worker.run_once(all_due=True)
    assert report.errors == [] and "replan" in report.ran, lines
    [replanned] = report.replanned
    assert (replanned.planned, replanned.drifted, replanned.updated_in_place) == (2, 2, 2), replanned.outcomes
    with session_scope(factory) as session:
        rows = {c.id: c for c in session.scalars(select(Contact))}
        kinds = [e.kind for e in session.scalars(select(Event))]
    assert all(rows[i].status is ContactStatus.SCHEDULED for i in ids)
    assert all(rows[i].start_time > p.aos for i, p in zip(ids, booked, strict=True))
    assert "elements.updated" in kinds and "contact.drifted" in kinds
    assert any(line.startswith("replan 1 satellites: 2 planned") for line in lines)


def test_worker_once_from_the_command_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'net.db'}"
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade", "--database-url", url]).exit_code == 0
    # No site answers at the base URL (nothing listens): the sync says so, and the worker still completes its cycle.
    done = runner.invoke(cli_app, ["worker", "--once", "--database-url", url, "--worker-id", "cli",
                                   "--base-url", "celestrak=http://127.0.0.1:9", "--source", "celestrak"])
    assert done.exit_code == 0, done.output
    assert "worker cli on" in done.stderr and "worker ran sync:celestrak, webhooks" in done.stderr
    bad = runner.invoke(cli_app, ["worker", "--once", "--database-url", url, "--base-url", "celestrak"])
    assert bad.exit_code == 1 and "expected KIND=URL" in bad.stderr
