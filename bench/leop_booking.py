"""Launch and early orbit: booking a campaign on the demo network, after the demo's own two-day plan.

The demo network (``groundshare db upgrade`` and ``groundshare demo load --plan-days 2`` into a temporary SQLite store:
six organisations, six stations, the demo's requests planned and booked for two days) is
the network a launch lands in.  The new CubeSat is AEM's first demo satellite, a real
CubeSat of the shipped snapshot (``celestrak_cubesat_2025-11-06.tle``); its element set is
the launch provider's deployment prediction, deployed one hour after the network's now
with +-600 s of timing uncertainty and 0.5 m/s of separation velocity uncertainty, planned
over 48 h with k = 2 stations per orbit.  AEM may use its own mexico-city station and the
daejeon, chetumal and cordoba antennas that sharing policies share with it.

Printed: the windows and orbits, orbits with at least one and with k stations booked,
CP-SAT's objective against its bound, the routine contacts bumped (of those booked by the
demo's plan), the refusals, and the wall time of the booking (plan, solve, book).  Run with
``python bench/leop_booking.py``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import func, select

from groundshare.leop.booking import revolution_of
from groundshare.store import session_scope
from groundshare.store.clock import network_now
from groundshare.store.db import create_engine_for, make_session_factory
from groundshare.store.leop import book_campaign, campaign_plan, create_campaign, usable_antennas
from groundshare.store.models import Contact, ContactStatus, ElementSetRecord, LeopCampaign, Organisation, Satellite
from groundshare.timeutil import parse_utc

AEM = "Agencia Espacial Mexicana (AEM)"
U_S = 600.0
DV_M_S = 0.5
HOURS = 48.0
K = 2
TIME_LIMIT_S = 30.0
WORKERS = 8


def scheduled(session, routine_only: bool = True) -> int:
    query = select(func.count()).select_from(Contact).where(Contact.status == ContactStatus.SCHEDULED)
    if routine_only:
        query = query.where(Contact.leop_campaign_id.is_(None))
    return session.scalar(query) or 0


def main() -> None:
    with TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "groundshare.cli", "db", "upgrade", "--database-url", url], check=True,
                       capture_output=True)
        subprocess.run([sys.executable, "-m", "groundshare.cli", "demo", "load", "--database-url", url, "--plan-days",
                        "2", "--tokens-file", str(Path(tmp) / "tokens.toml")], check=True, capture_output=True)
        load_s = time.perf_counter() - t0
        engine = create_engine_for(url)
        factory = make_session_factory(engine)
        with session_scope(factory) as session:
            aem = session.scalars(select(Organisation).where(Organisation.name == AEM)).one()
            satellite = session.scalars(select(Satellite).where(Satellite.org_id == aem.id)
                                        .order_by(Satellite.id)).first()
            record = session.scalars(select(ElementSetRecord).where(ElementSetRecord.satellite_id == satellite.id)
                                     .order_by(ElementSetRecord.epoch.desc())).first()
            elements = record.to_element_set()
            text = f"{elements.name}\n{elements.line1}\n{elements.line2}\n"
            now = network_now(session)
            deploy = (now + timedelta(hours=1)).replace(second=0, microsecond=0)
            routine_before = scheduled(session)
            stations = sorted({a.station.name for a, _ in usable_antennas(session, aem.id)})
            campaign = create_campaign(session, org_id=aem.id, satellite_id=satellite.id, name="bench",
                                       deployment_text=text, deploy_time=deploy, deploy_uncertainty_s=U_S,
                                       separation_dv_m_s=DV_M_S, hours=HOURS, stations_per_orbit=K)
            plan, _ = campaign_plan(session, campaign)
            campaign_id, n_windows = campaign.id, len(plan.windows)
            sat_name, norad = satellite.name, elements.norad_id
        with session_scope(factory, write=False) as session:
            campaign = session.get(LeopCampaign, campaign_id)
            t0 = time.perf_counter()
            summary = book_campaign(session, campaign, time_limit_s=TIME_LIMIT_S, workers=WORKERS,
                                    book_in=lambda: session_scope(factory))
            book_s = time.perf_counter() - t0
        with session_scope(factory, write=False) as session:
            routine_after = scheduled(session)
            leop_live = scheduled(session, routine_only=False) - routine_after
        engine.dispose()

    objective, bound = summary["objective"], summary["bound"]
    gap = 0.0 if not bound else (bound - objective) / abs(bound)
    print(f"demo network loaded and its 2-day plan booked in {load_s:.1f} s: {routine_before} routine contacts")
    print(f"deployment: {sat_name} (NORAD {norad}) of celestrak_cubesat_2025-11-06, deployed {deploy:%Y-%m-%dT%H:%MZ}"
          f" +-{U_S:g} s, separation dv {DV_M_S} m/s, {HOURS:g} h, k = {K}; stations AEM may use: "
          f"{', '.join(stations)}")
    print(f"timing uncertainty after {HOURS:g} h: +-{plan.final_uncertainty_s:.0f} s"
          f"{' (capped at half an orbit)' if plan.capped else ''}")
    print(f"windows {n_windows}, orbits {summary['orbits']}, orbits with >= 1 station booked "
          f"{summary['orbits_covered']}, with >= {K} {summary['orbits_at_k']}")
    revs = summary["revolutions"]
    with_window = sum(1 for r in revs if r["windows"] >= 1)
    with_k = sum(1 for r in revs if len({w.station for w in plan.windows if revolution_of(plan, w) == r["rev"]}) >= K)
    lengths = sorted((parse_utc(b["end"]) - parse_utc(b["start"])).total_seconds() / 60.0
                     for r in revs for b in r["booked"])
    print(f"orbits with a window {with_window}, with {K} stations' windows {with_k}")
    print(f"contacts booked {len(summary['booked_contact_ids'])} (live: {leop_live}), refused "
          f"{len(summary['refused'])}; their length {lengths[0]:.0f} to {lengths[-1]:.0f} min "
          f"(median {lengths[len(lengths) // 2]:.0f})")
    print(f"CP-SAT {summary['solver_status']}: objective {objective:,.0f}, bound {bound:,.0f} (gap {gap:.4%}), "
          f"solver {summary['wall_s']:.1f} s of {TIME_LIMIT_S:g} s, {WORKERS} workers, LEOP priority "
          f"{summary['priority']:,.0f}")
    print(f"routine contacts bumped {summary['bumped_count']} of {routine_before} "
          f"({routine_before - routine_after} cancelled in the store)")
    print(f"booking wall time (plan + solve + book) {book_s:.1f} s")


if __name__ == "__main__":
    main()
