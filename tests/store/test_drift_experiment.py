"""The drift experiment: a week planned on four-month-old orbits, then the orbits of the day, and the repair.

The demo network (``store.demo``) holds the CubeSats with their element sets of 2025-11-06.
A week from 2026-03-19 is planned on them (one request per satellite over the week, by its
operator), then each satellite gets its set of CelesTrak's active catalogue of 2026-03-19
from the source in force, and ``replan_satellites`` re-checks every booked contact.  The
figures are printed (``pytest -s``) for the note and ``bench/README.md``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from groundshare.passes.window import covering_pass
from groundshare.store import (
    Contact,
    ContactRequest,
    ContactStatus,
    Satellite,
    make_session_factory,
    session_scope,
    set_network_clock,
)
from groundshare.store.demo import load_demo_network
from groundshare.store.elements import orbits_in_force, store_element_sets
from groundshare.store.models import ElementSource
from groundshare.store.planning import plan_and_book
from groundshare.store.replan import replan_satellites
from tests.support.databases import initialised_engine
from tests.support.shipped import ACTIVE, shipped_catalogue

pytestmark = pytest.mark.slow

START = datetime(2026, 3, 19, tzinfo=UTC)
DAYS = 7
#: Satellites in the experiment (the demo's first ones that CelesTrak's catalogue of 2026-03-19 still holds).
N_SATELLITES = 12


def test_a_week_planned_on_stale_orbits_follows_the_new_ones(tmp_path):
    with initialised_engine("sqlite", tmp_path, "drift") as engine:
        factory = make_session_factory(engine)
        active = {e.norad_id: e for e in shipped_catalogue(ACTIVE)}
        with session_scope(factory) as session:
            load_demo_network(session)
            set_network_clock(session, START, reason="drift experiment")
            session.query(ContactRequest).delete()
            satellites = [s for s in session.scalars(select(Satellite).order_by(Satellite.id))
                          if s.norad_id in active][:N_SATELLITES]
            for s in satellites:
                session.add(ContactRequest(org_id=s.org_id, satellite_id=s.id, window_start=START,
                                           window_end=START + timedelta(days=DAYS), min_duration_s=120.0,
                                           min_elevation_deg=10.0))
            ids = [s.id for s in satellites]
        with session_scope(factory) as session:
            run = plan_and_book(session, book_in=lambda: session_scope(factory), start=START,
                                end=START + timedelta(days=DAYS), dry_run=False, time_limit_s=20.0, workers=4,
                                lead_s=0.0)
        planned = len(run.booked)
        assert planned > 50, run.to_dict()["refused"][:3]

        with session_scope(factory) as session:
            for s in session.scalars(select(Satellite).where(Satellite.id.in_(ids))):
                source = session.get(ElementSource, orbits_in_force(session, [s.id], now=START)[s.id].record.source_id)
                report = store_element_sets(session, s, [active[s.norad_id]], source=source, fetched_at=START,
                                            now=START)
                assert report.in_force_changed
        with session_scope(factory) as session:
            replan = replan_satellites(session, ids, now=START, time_limit_s=20.0, workers=4)
        print(f"\ndrift experiment: {len(ids)} CubeSats, {planned} contacts planned over {DAYS} days from "
              f"{START.date()} on 2025-11-06 orbits; with the 2026-03-19 orbits: {replan.drifted} drifted "
              f"({replan.by_kind}), {replan.kept} kept, {replan.updated_in_place} updated in place, "
              f"{replan.moved} moved, {replan.dropped} dropped, {replan.cancelled} cancelled; "
              f"repair {replan.repair_s:.2f} s")

        assert replan.planned == planned
        assert replan.planned == (replan.kept + replan.updated_in_place + replan.moved + replan.dropped
                                  + replan.cancelled + replan.skipped)
        assert replan.drifted == sum(replan.by_kind.values())
        assert replan.drifted > planned // 2  # four months of drift moves most passes by far more than 5 s
        with session_scope(factory) as session:
            forces = orbits_in_force(session, ids, now=START)
            live = list(session.scalars(select(Contact).where(Contact.satellite_id.in_(ids),
                                                             Contact.status == ContactStatus.SCHEDULED)))
            for c in live:  # every contact left (kept, shifted or moved) lies within a pass of the new orbit
                fit = covering_pass(forces[c.satellite_id].record.to_element_set(), c.antenna.station.to_site(),
                                    c.start_time, c.end_time, tolerance_s=5.0)
                assert fit.covering is not None, c
            assert len(live) == replan.kept + replan.updated_in_place + replan.moved
