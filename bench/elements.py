"""Fresh orbits: a sync of the whole active catalogue into PostgreSQL, and the drift of a week's booked contacts.

- **sync**: a fresh database (``tests.support.databases.bench_database``; PostgreSQL at
  127.0.0.1:5432 by default) made by the migrations, with one organisation and one public
  satellite per object of the shipped active catalogue (14,710 sets,
  ``celestrak_active_2026-03-19.tle``), each with one CelesTrak source asking for the group
  ``active``.  The local test server of ``tests/support/orbit_sites.py`` plays CelesTrak and
  serves that catalogue as OMM JSON; ``store.sync.sync_elements`` fetches, parses and stores
  it (the same code as ``groundshare elements sync --base-url ...``).  The sync runs in a
  child process of its own (the test server stays here), so its peak resident memory
  (``ru_maxrss``) is the sync's alone; prints requests, sets stored, satellites whose orbit
  in force changed, wall time and peak memory.  A second sync right after must ask nothing
  (CelesTrak's 2-hour rule, kept in the database): that is checked and printed too.
- **drift**: the issue's experiment.  The demo's stations, antennas and sharing policies,
  the 2025-11-06 CubeSat sets (``celestrak_cubesat_2025-11-06.tle``: four months old) and one
  request per CubeSat over the week from 2026-03-19; the network's clock at 2026-03-19
  00:00; ``store.planning.plan_and_book`` books the week.  Then each CubeSat's 2026-03-19
  set from the active catalogue is stored (through ``store.elements.store_element_sets``, as
  a sync stores it) and ``store.replan.replan_satellites`` re-checks and repairs the booked
  contacts; prints contacts planned, drifted, kept, moved, dropped and the repair time.

Figures only: nothing is asserted (the drift experiment's assertions are in
``tests/store/test_replan.py``).

    .venv/bin/python bench/elements.py [--parts sync drift] [--backend postgresql] [--time-limit 30]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

# The database, CLI and test-server helpers are the tests' shared support (tests/support/).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.commands import cli
from tests.support.databases import bench_database

from groundshare.data import data_path
from groundshare.orbits import load_elements
from groundshare.store import (
    Contact,
    ContactRequest,
    ContactStatus,
    Organisation,
    Satellite,
    create_engine_for,
    make_session_factory,
    session_scope,
)
from groundshare.store.clock import network_now, set_network_clock
from groundshare.store.demo import load_demo_network
from groundshare.store.models import ElementSource, SourceKind, SourceQueryKind
from groundshare.store.planning import plan_and_book
from groundshare.tomlfile import read_toml

ACTIVE = "celestrak_active_2026-03-19.tle"
CUBESATS = "celestrak_cubesat_2025-11-06.tle"
GROUP = "active"
CELESTRAK_PRIORITY = 50  # spec default for a CelesTrak source
#: The drift experiment's week, and the network's clock when it is planned and replanned.
WEEK_START = datetime(2026, 3, 19, tzinfo=UTC)
WEEK_DAYS = 7


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def migrated(backend: str, folder: Path, label: str) -> Iterator[str]:
    """Yield the URL of a fresh database of ``backend`` brought to the newest schema by ``groundshare db upgrade``."""
    with bench_database(backend, folder, label) as url:
        cli("db", "upgrade", database_url=url)
        yield url


# --- sync -------------------------------------------------------------------------------------------------------


def seed_catalogue(url: str, norad_names: list[tuple[int, str]]) -> None:
    """One organisation and one public satellite per (NORAD id, name), each with a CelesTrak ``group=active`` source."""
    engine = create_engine_for(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            org = Organisation(name="Catalogue operator", kind="agency")
            session.add(org)
            session.flush()
            session.execute(insert(Satellite), [{"org_id": org.id, "norad_id": norad, "name": name[:200],
                                                 "is_public": True} for norad, name in norad_names])
            ids = session.scalars(select(Satellite.id).where(Satellite.org_id == org.id)).all()
            session.execute(insert(ElementSource), [
                {"satellite_id": i, "kind": SourceKind.CELESTRAK, "query_kind": SourceQueryKind.GROUP,
                 "query_value": GROUP, "priority": CELESTRAK_PRIORITY, "enabled": True} for i in ids])
    finally:
        engine.dispose()


def _sync_child(url: str, base_url: str, now: datetime, answer: Any) -> None:
    """In a child process: sync once and send back (wall s, peak RSS MiB before and after, report figures)."""
    from groundshare.store.sync import sync_elements

    engine = create_engine_for(url)
    factory = make_session_factory(engine)
    before = peak_rss_mib()
    started = time.perf_counter()
    report = sync_elements(factory, kinds=["celestrak"], base_urls={"celestrak": base_url}, now=now,
                           log=lambda *_args, **_kw: None)
    wall_s = time.perf_counter() - started
    answer.send((wall_s, before, peak_rss_mib(), report_figures(report)))
    engine.dispose()


def report_figures(report: Any) -> list[str]:
    """The ``SyncReport``'s one-line summary per kind (plain text: it crosses a process boundary)."""
    return [part.summary() for part in report.kinds.values()]


def run_sync_in_child(url: str, base_url: str, now: datetime) -> tuple[float, float, float, list[str]]:
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: its peak memory is the sync's
    mine, theirs = context.Pipe()
    child = context.Process(target=_sync_child, args=(url, base_url, now, theirs))
    child.start()
    result = mine.recv()
    child.join()
    return result


@contextmanager
def serving_catalogue(path: Path, group: str = GROUP) -> Iterator[Any]:
    """Yield H2's test server playing CelesTrak, serving the TLE file at ``path`` as OMM JSON (also as ``group``)."""
    from tests.support.orbit_sites import OrbitSites

    with OrbitSites() as sites:
        sites.add_tle_file(path, group=group)
        yield sites


def bench_sync(backend: str) -> None:
    catalogue = load_elements(data_path(ACTIVE))
    sets = catalogue.elements
    now = max(e.epoch for e in sets) + timedelta(hours=1)
    with tempfile.TemporaryDirectory() as folder, migrated(backend, Path(folder), "elements_sync") as url:
        began = time.perf_counter()
        seed_catalogue(url, [(e.norad_id, e.name) for e in sets])
        seeded_s = time.perf_counter() - began
        with serving_catalogue(data_path(ACTIVE)) as site:
            print(f"\nsync: {len(sets):,} element sets of {ACTIVE} served as CelesTrak OMM JSON (GROUP={GROUP}) by "
                  f"tests/support/orbit_sites.py into {backend}; {len(sets):,} satellites seeded in {seeded_s:.1f} s",
                  flush=True)
            wall_s, base_mib, peak_mib, figures = run_sync_in_child(url, site.base_url, now)
            print(f"  first sync : {wall_s:6.1f} s wall, peak RSS {peak_mib:,.0f} MiB "
                  f"({peak_mib - base_mib:+,.0f} MiB over the child's {base_mib:,.0f} MiB after imports)")
            for line in figures:
                print(f"    {line}")
            wall_s, _, _, figures = run_sync_in_child(url, site.base_url, now + timedelta(minutes=10))
            print(f"  second sync 10 min later: {wall_s:6.2f} s wall ({site.count('gp.php')} requests served in all)")
            for line in figures:
                print(f"    {line}")
        engine = create_engine_for(url)
        try:
            with engine.connect() as connection:
                stored = connection.exec_driver_sql("SELECT count(*) FROM element_set").scalar()
        finally:
            engine.dispose()
        print(f"  element sets stored: {stored:,}")


# --- drift ------------------------------------------------------------------------------------------------------


def seed_week(session: Session) -> list[int]:
    """The demo network with the 2025-11-06 CubeSat sets, the clock at WEEK_START and a week's request per CubeSat.

    Returns the CubeSats' satellite ids.  The demo's own requests (November 2025) lie outside the week.  The demo
    files its shipped sets (CelesTrak's GP sets of 2025-11-06) under each satellite's CelesTrak source, so a newer
    CelesTrak set takes over, as it does for an operator who lets CelesTrak keep the orbit fresh.
    """
    load_demo_network(session)
    set_network_clock(session, WEEK_START, reason="bench/elements.py: the drift experiment's week")
    wanted = read_toml(data_path("demo_network.toml"), "demo network file")["requests"]
    satellites = list(session.scalars(select(Satellite).order_by(Satellite.norad_id)))
    for index, satellite in enumerate(satellites):
        session.add(ContactRequest(org_id=satellite.org_id, satellite_id=satellite.id, window_start=WEEK_START,
                                   window_end=WEEK_START + timedelta(days=WEEK_DAYS),
                                   min_duration_s=wanted["min_duration_s"],
                                   min_elevation_deg=wanted["min_elevation_deg"],
                                   priority=wanted["priorities"][index % len(wanted["priorities"])]))
    session.flush()
    return [s.id for s in satellites]


def bench_drift(backend: str, time_limit_s: float) -> None:
    from groundshare.store.replan import replan_satellites
    from groundshare.store.sync import sync_elements

    with tempfile.TemporaryDirectory() as folder, migrated(backend, Path(folder), "elements_drift") as url:
        engine = create_engine_for(url)
        factory = make_session_factory(engine)
        try:
            with session_scope(factory) as session:
                satellite_ids = seed_week(session)
            began = time.perf_counter()
            with session_scope(factory) as session:
                run = plan_and_book(session, book_in=lambda: session_scope(factory), start=WEEK_START,
                                    end=WEEK_START + timedelta(days=WEEK_DAYS), dry_run=False,
                                    time_limit_s=time_limit_s, workers=2, search_workers=2)
            plan_s = time.perf_counter() - began
            with session_scope(factory) as session:
                booked = session.scalar(select(func.count()).select_from(Contact).where(
                    Contact.status == ContactStatus.SCHEDULED, Contact.start_time >= WEEK_START)) or 0
            print(f"\ndrift: {len(satellite_ids)} CubeSats of {CUBESATS}, {WEEK_DAYS} days from "
                  f"{WEEK_START:%Y-%m-%d} over the demo's stations ({backend})")
            print(f"  planned with the 2025-11-06 sets: {booked:,} contacts booked in {plan_s:.1f} s "
                  f"({len(run.plan.contacts):,} in the plan, {len(run.plan.contacts) - booked:,} refused when booked)",
                  flush=True)

            with serving_catalogue(data_path(ACTIVE)) as site:
                began = time.perf_counter()
                report = sync_elements(factory, kinds=["celestrak"], base_urls={"celestrak": site.base_url},
                                       log=lambda *_args, **_kw: None)
                sync_s = time.perf_counter() - began
            changed = sorted(report.changed_satellite_ids)
            print(f"  sync of the 2026-03-19 active catalogue: {report.requests} requests, {report.stored} sets "
                  f"stored, {len(changed)} orbits in force changed, {sync_s:.1f} s")

            began = time.perf_counter()
            with session_scope(factory) as session:
                now = network_now(session)
                replan = replan_satellites(session, changed, now=now, time_limit_s=time_limit_s, workers=2)
            wall_s = time.perf_counter() - began
            print(f"  replan: planned {replan.planned:,}, drifted {replan.drifted:,}, kept {replan.kept:,}, "
                  f"updated in place {replan.updated_in_place:,}, moved {replan.moved:,}, "
                  f"dropped {replan.dropped:,}, cancelled {replan.cancelled:,}; repair {replan.repair_s:.2f} s "
                  f"(replan wall {wall_s:.1f} s)")
            print("  drift kinds: " + ", ".join(f"{kind} {n:,}" for kind, n in sorted(replan.by_kind.items())))
        finally:
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["sync", "drift"], choices=["sync", "drift"])
    parser.add_argument("--backend", default="postgresql", choices=["sqlite", "postgresql"])
    parser.add_argument("--time-limit", type=float, default=30.0, help="the planner's and the repair's time limit, s")
    args = parser.parse_args()
    print(f"groundshare element sets: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    try:
        if "sync" in args.parts:
            bench_sync(args.backend)
        if "drift" in args.parts:
            bench_drift(args.backend, args.time_limit)
    except DBAPIError as exc:
        print(f"{args.backend}: skipped, the database is not reachable: {str(exc.orig).strip().splitlines()[0]}")


if __name__ == "__main__":
    main()
