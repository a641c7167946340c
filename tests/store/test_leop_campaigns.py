"""LEOP campaigns in the store, on SQLite and PostgreSQL: create, plan, book (bumping routine contacts), end.

The test world (``tests/support/worlds.py``): AEM's satellite 49263 is the new CubeSat, deployed on the
orbit of BEE-1000 (shipped active catalogue, 2026-03-19); AEM may use its own chetumal antenna and KASA's
daejeon UHF antenna (shared, 10 h a week); santiago is UNI's and not shared.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from groundshare.errors import InvalidInputError, NotFoundError
from groundshare.orbits import load_elements
from groundshare.store import session_scope, set_network_clock
from groundshare.store.booking import UNCHECKED, book_contact
from groundshare.store.leop import book_campaign, campaign_plan, create_campaign, end_campaign
from groundshare.store.models import (
    Contact,
    ContactRequest,
    ContactStatus,
    ElementSetRecord,
    Event,
    LeopCampaign,
    LeopStatus,
    RequestStatus,
)
from tests.support.shipped import ACTIVE
from tests.support.worlds import World, make_world

TRUTH = next(e for e in load_elements(ACTIVE) if e.norad_id == 66650)
TLE = f"{TRUTH.name}\n{TRUTH.line1}\n{TRUTH.line2}\n" if TRUTH.line1 else None
DEPLOY = TRUTH.epoch + timedelta(hours=1)


@pytest.fixture
def world(factory: sessionmaker[Session]) -> World:
    world = make_world(factory)
    with session_scope(factory) as session:
        set_network_clock(session, DEPLOY - timedelta(hours=1), reason="LEOP test")
    return world


def campaign_of(session: Session, world: World, k: int = 2, hours: float = 12.0):
    return create_campaign(session, org_id=world.aem.id, satellite_id=world.aem.satellite_id, name="first light",
                           deployment_text=TLE, deploy_time=DEPLOY, deploy_uncertainty_s=300.0, hours=hours,
                           stations_per_orbit=k)


def test_a_campaign_stores_the_deployment_elements_under_the_satellite(factory, world):
    with session_scope(factory) as session:
        c = campaign_of(session, world)
        record = session.scalars(select(ElementSetRecord).where(
            ElementSetRecord.satellite_id == world.aem.satellite_id)).one()
        assert record.to_element_set().norad_id == world.aem.norad_id
        assert c.deployment_format == "tle" and c.status == LeopStatus.ACTIVE
        plan, by_name = campaign_plan(session, c)
        assert set(by_name) == {"chetumal", "daejeon-1"}  # own + shared; santiago is not shared
        assert plan.windows


def test_bad_input_names_the_field(factory, world):
    with session_scope(factory) as session:
        with pytest.raises(InvalidInputError) as exc:
            create_campaign(session, org_id=world.aem.id, satellite_id=world.aem.satellite_id, name="x",
                            deployment_text=TLE.replace("1 66650U", "1 6665XU"), deploy_time=DEPLOY)
        assert exc.value.loc == ("deployment_text",)
        with pytest.raises(InvalidInputError) as exc:
            campaign_of(session, world, hours=500.0)
        assert exc.value.loc == ("hours",)
        with pytest.raises(NotFoundError):
            create_campaign(session, org_id=world.aem.id, satellite_id=world.kasa.satellite_id, name="x",
                            deployment_text=TLE, deploy_time=DEPLOY)


def test_booking_covers_orbits_bumps_routine_contacts_keeps_holds_and_books_nothing_twice(factory, world):
    with session_scope(factory) as session:
        c = campaign_of(session, world, k=2)
        plan, _ = campaign_plan(session, c)
        campaign_id = c.id
        # A routine KASA contact in the way of a daejeon window (on its shared antenna), from a scheduled request.
        w = next(w for w in plan.windows if w.station == "daejeon-1" and w.earliest_aos > DEPLOY)
        request = ContactRequest(org_id=world.kasa.id, satellite_id=world.kasa.satellite_id,
                                 window_start=w.earliest_aos - timedelta(hours=1),
                                 window_end=w.latest_los + timedelta(hours=1), status=RequestStatus.SCHEDULED)
        session.add(request)
        session.flush()
        routine = book_contact(session, antenna_id=world.kasa.antenna_id, satellite_id=world.kasa.satellite_id,
                               org_id=world.kasa.id, start=w.earliest_aos + timedelta(seconds=30),
                               end=w.earliest_aos + timedelta(minutes=4), rules=UNCHECKED, request_id=request.id)
        # A contact in progress in the way of a chetumal window is never bumped.
        w2 = next(w for w in plan.windows if w.station == "chetumal" and w.earliest_aos > DEPLOY)
        running = book_contact(session, antenna_id=world.aem.antenna_id, satellite_id=world.aem.satellite_id,
                               org_id=world.aem.id, start=w2.earliest_aos, end=w2.latest_los, rules=UNCHECKED)
        running.status = ContactStatus.IN_PROGRESS
        routine_id, running_id, request_id = routine.id, running.id, request.id
    with session_scope(factory) as session:
        c = session.get(LeopCampaign, campaign_id)
        summary = book_campaign(session, c, time_limit_s=5.0, workers=2)
    assert summary["solver_status"] == "optimal" and summary["objective"] <= summary["bound"] + 1e-6
    assert summary["orbits"] >= 7 and summary["booked_contact_ids"]
    for rev in summary["revolutions"]:
        assert len(rev["booked"]) <= 2
    assert [b["contact_id"] for b in summary["bumped"]] == [routine_id]
    with session_scope(factory) as session:
        assert session.get(Contact, routine_id).status == ContactStatus.CANCELLED
        assert "bumped by LEOP campaign" in session.get(Contact, routine_id).notes
        assert session.get(ContactRequest, request_id).status == RequestStatus.OPEN
        assert session.get(Contact, running_id).status == ContactStatus.IN_PROGRESS
        event = session.scalars(select(Event).where(Event.kind == "contact.bumped")).one()
        assert set(event.org_ids) >= {world.kasa.id}
        leop = list(session.scalars(select(Contact).where(Contact.leop_campaign_id == campaign_id)))
        assert {x.id for x in leop} == set(summary["booked_contact_ids"])
        assert all(x.search_pattern and x.search_pattern["kind"] == "leop_search" for x in leop)
        assert all(not (x.antenna_id == world.aem.antenna_id and x.start_time < w2.latest_los
                        and x.busy_until > w2.earliest_aos) for x in leop)
        n_before = session.scalar(select(Contact.id).order_by(Contact.id.desc()).limit(1))
    # Re-running books nothing twice (the guards would refuse a double booking; none is refused).
    with session_scope(factory) as session:
        again = book_campaign(session, session.get(LeopCampaign, campaign_id), time_limit_s=5.0, workers=2)
        assert again["bumped_count"] == 0
        assert all("held" in r["reason"] or "ends at" in r["reason"] for r in again["refused"])  # the running one
        assert set(again["booked_contact_ids"]) == set(summary["booked_contact_ids"])
        assert session.scalar(select(Contact.id).order_by(Contact.id.desc()).limit(1)) == n_before
    with session_scope(factory) as session:
        ended = end_campaign(session, session.get(LeopCampaign, campaign_id))
        assert ended.status == LeopStatus.ENDED
        assert all(x.status == ContactStatus.CANCELLED for x in session.scalars(
            select(Contact).where(Contact.leop_campaign_id == campaign_id)))
