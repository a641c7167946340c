"""The LEOP campaign routes on the API test world, on SQLite and PostgreSQL: plan, create, list, read, book, end.

The test world (``tests/support/worlds.py``): AEM's satellite is the new CubeSat, deployed on the orbit of
BEE-1000 (shipped active catalogue, 2026-03-19); AEM may use its own chetumal antenna and KASA's daejeon UHF
antenna (shared); UNI's santiago is not shared with it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from groundshare.orbits import load_elements
from groundshare.roles import Role
from groundshare.store import (
    Contact,
    ContactRequest,
    ContactStatus,
    RequestStatus,
    Station,
    book_contact,
    session_scope,
    set_network_clock,
)
from groundshare.store.booking import UNCHECKED
from groundshare.store.leop import campaign_plan
from groundshare.store.models import LeopCampaign
from groundshare.timeutil import format_utc
from tests.support.shipped import ACTIVE
from tests.support.worlds import World

TRUTH = next(e for e in load_elements(ACTIVE) if e.norad_id == 66650)
TLE = f"{TRUTH.name}\n{TRUTH.line1}\n{TRUTH.line2}\n"
DEPLOY = TRUTH.epoch + timedelta(hours=1)
OPM_ITRF = ("CCSDS_OPM_VERS = 2.0\nCREATION_DATE = 2026-03-19T00:00:00\nORIGINATOR = LAUNCHER\n"
            "OBJECT_NAME = OURSAT\nOBJECT_ID = 2026-999A\nCENTER_NAME = EARTH\nREF_FRAME = ITRF2000\n"
            "TIME_SYSTEM = UTC\nEPOCH = 2026-03-19T06:13:14.000000\nX = 6878.0 [km]\nY = 0.0 [km]\nZ = 0.0 [km]\n"
            "X_DOT = 0.0 [km/s]\nY_DOT = 4.8 [km/s]\nZ_DOT = 5.9 [km/s]\n")


@pytest.fixture
def leop_world(app, world: World) -> World:
    with session_scope(app.state.session_factory) as session:
        set_network_clock(session, DEPLOY - timedelta(hours=1), reason="LEOP test")
    return world


def campaign_body(world: World, **change) -> dict:
    return {"satellite_id": world.aem.satellite_id, "name": "first light", "deployment_text": TLE,
            "deploy_time": format_utc(DEPLOY), "deploy_uncertainty_s": 300.0, "hours": 12.0,
            "stations_per_orbit": 2, **change}


def create(client, world: World, **change) -> dict:
    response = client.post("/leop/campaigns", json=campaign_body(world, **change), headers=world.aem.auth())
    assert response.status_code == 201, response.text
    return response.json()


def test_plan_create_list_read_and_windows(client, leop_world):
    world = leop_world
    body = {k: v for k, v in campaign_body(world).items() if k not in ("name", "stations_per_orbit")}
    response = client.post("/leop/plan", json=body, headers=world.aem.auth(Role.VIEWER))  # planning writes nothing
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["windows"] and not plan["capped"]
    assert {w["station"] for w in plan["windows"]} == {"chetumal", "daejeon-1"}  # own + shared; santiago is not
    assert {w["station_id"] for w in plan["windows"]} == {world.aem.station_id, world.kasa.station_id}
    only = client.post("/leop/plan", json={**body, "station_ids": [world.aem.station_id]}, headers=world.aem.auth())
    assert {w["station"] for w in only.json()["windows"]} == {"chetumal"}

    campaign = create(client, world)
    assert campaign["status"] == "active" and campaign["deployment_kind"] == "elements"
    assert campaign["satellite_name"] and campaign["contact_ids"] == [] and campaign["last_booking"] is None
    assert campaign["deploy_time"] == format_utc(DEPLOY) and campaign["stations_per_orbit"] == 2
    listed = client.get("/leop/campaigns", params={"status": "active"}, headers=world.aem.auth(Role.VIEWER)).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == campaign["id"]
    assert client.get("/leop/campaigns", params={"status": "ended"}, headers=world.aem.auth()).json()["count"] == 0
    assert client.get(f"/leop/campaigns/{campaign['id']}", headers=world.aem.auth()).json() == campaign
    windows = client.get(f"/leop/campaigns/{campaign['id']}/windows", headers=world.aem.auth()).json()
    assert [(w["station"], w["earliest_aos"]) for w in windows["windows"]] == [
        (w["station"], w["earliest_aos"]) for w in plan["windows"]]
    # The deployment's elements are the satellite's orbit now (source kind leop).
    elements = client.get(f"/satellites/{world.aem.satellite_id}/elements", headers=world.aem.auth()).json()
    assert [e["source_kind"] for e in elements["data"]] == ["leop"] and elements["data"][0]["in_force"]


def test_another_organisation_cannot_see_or_book_a_campaign(client, leop_world):
    world = leop_world
    campaign = create(client, world)
    uni = world.uni.auth()
    for method, path in (("GET", ""), ("GET", "/windows"), ("POST", "/book"), ("POST", "/end")):
        response = client.request(method, f"/leop/campaigns/{campaign['id']}{path}", headers=uni,
                                  json={} if method == "POST" else None)
        assert response.status_code == 404, (path, response.text)
    assert client.get("/leop/campaigns", headers=uni).json() == {"data": [], "count": 0}
    assert client.get(f"/leop/campaigns/{campaign['id']}", headers=world.aem.auth()).json()["status"] == "active"


def test_a_viewer_cannot_write(client, leop_world):
    world = leop_world
    viewer = world.aem.auth(Role.VIEWER)
    assert client.post("/leop/campaigns", json=campaign_body(world), headers=viewer).status_code == 403
    campaign = create(client, world)
    for path in ("/book", "/end"):
        response = client.post(f"/leop/campaigns/{campaign['id']}{path}", json={}, headers=viewer)
        assert response.status_code == 403, response.text
    assert client.get(f"/leop/campaigns/{campaign['id']}", headers=viewer).json()["status"] == "active"


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"deployment_text": TLE.replace("1 66650U", "1 6665XU")}, "deployment_text", "deployment_text"),
    ({"deployment_text": OPM_ITRF, "deploy_time": None}, "deployment_text", "REF_FRAME = ITRF2000"),
    ({"deployment_text": "x" * 2_000_001}, "deployment_text", "2000000"),
    ({"hours": 0}, "hours", "greater than 0"),
    ({"hours": 241}, "hours", "240"),
    ({"stations_per_orbit": 21}, "stations_per_orbit", "20"),
    ({"satellite_id": 999_999}, "satellite_id", "not one of your organisation's satellites"),
    ("kasa", "satellite_id", "not one of your organisation's satellites"),
])
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(client, leop_world, app, change, field, message):
    world = leop_world
    change = {"satellite_id": world.kasa.satellite_id} if change == "kasa" else change
    response = client.post("/leop/campaigns", json=campaign_body(world, **change), headers=world.aem.auth())
    assert response.status_code == 422, response.text
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", field] and message in error["msg"], error
    with session_scope(app.state.session_factory) as session:
        assert session.scalars(select(LeopCampaign)).first() is None
    if field in ("deployment_text", "hours"):  # the plan checks the same
        body = {k: v for k, v in campaign_body(world, **change).items() if k not in ("name", "stations_per_orbit")}
        response = client.post("/leop/plan", json=body, headers=world.aem.auth())
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", field]


def test_book_time_limit_out_of_range_is_a_422(client, leop_world):
    campaign = create(client, leop_world)
    for value in (0.5, 61):
        response = client.post(f"/leop/campaigns/{campaign['id']}/book", json={"time_limit_s": value},
                               headers=leop_world.aem.auth())
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "time_limit_s"]


def test_an_uncertainty_over_half_an_orbit_is_capped_with_a_note(client, leop_world):
    body = {k: v for k, v in campaign_body(leop_world, deploy_uncertainty_s=20_000.0, hours=6.0).items()
            if k not in ("name", "stations_per_orbit")}
    response = client.post("/leop/plan", json=body, headers=leop_world.aem.auth())
    assert response.status_code == 200, response.text
    plan = response.json()
    half_orbit_s = TRUTH.period_s / 2.0
    assert plan["capped"] and plan["final_uncertainty_s"] == pytest.approx(half_orbit_s, abs=1.0)
    assert any("capped" in note for note in plan["notes"])
    assert all(w["uncertainty_s"] <= half_orbit_s + 1.0 for w in plan["windows"])


def test_booking_bumps_routine_contacts_shows_only_visible_ones_and_books_nothing_twice(client, app, leop_world):
    world = leop_world
    campaign = create(client, world)
    factory = app.state.session_factory
    # A routine KASA contact on its own daejeon antenna (shared with AEM), in the way of a window.
    with session_scope(factory) as session:
        plan, _ = campaign_plan(session, session.get(LeopCampaign, campaign["id"]))
        w = next(w for w in plan.windows if w.station == "daejeon-1" and w.earliest_aos > DEPLOY)
        request = ContactRequest(org_id=world.kasa.id, satellite_id=world.kasa.satellite_id,
                                 window_start=w.earliest_aos - timedelta(hours=1),
                                 window_end=w.latest_los + timedelta(hours=1), status=RequestStatus.SCHEDULED)
        session.add(request)
        session.flush()
        routine = book_contact(session, antenna_id=world.kasa.antenna_id, satellite_id=world.kasa.satellite_id,
                               org_id=world.kasa.id, start=w.earliest_aos + timedelta(seconds=30),
                               end=w.earliest_aos + timedelta(minutes=4), rules=UNCHECKED, request_id=request.id)
        routine_id, request_id = routine.id, request.id

    dry = client.post(f"/leop/campaigns/{campaign['id']}/book", json={"dry_run": True, "time_limit_s": 5},
                      headers=world.aem.auth())
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] and dry.json()["booked_contact_ids"] == [] and dry.json()["bumped_count"] == 1
    response = client.post(f"/leop/campaigns/{campaign['id']}/book", json={"time_limit_s": 5},
                           headers=world.aem.auth())
    assert response.status_code == 200, response.text
    booking = response.json()
    assert booking["solver_status"] == "optimal" and booking["objective"] <= booking["bound"] + 1e-6
    assert booking["orbits"] >= 7 and booking["orbits_covered"] >= booking["orbits_at_k"] >= 1
    assert all(len(rev["booked"]) <= 2 for rev in booking["revolutions"])
    ids = booking["booked_contact_ids"]
    assert ids and sorted(b["contact_id"] for r in booking["revolutions"] for b in r["booked"]) == ids
    # KASA's contact was bumped: AEM is told how many, not which (a KASA booking on a KASA antenna).
    assert booking["bumped_count"] == 1 and booking["bumped"] == []
    kasa_view = client.get(f"/contacts/{routine_id}", headers=world.kasa.auth()).json()
    assert kasa_view["status"] == "cancelled"
    with session_scope(factory) as session:
        assert session.get(ContactRequest, request_id).status == RequestStatus.OPEN

    # The booking's contacts are AEM's contacts, kept in the campaign with its last booking.
    contacts = client.get("/contacts", params={"limit": 500}, headers=world.aem.auth()).json()["data"]
    assert set(ids) <= {c["id"] for c in contacts}
    stored = client.get(f"/leop/campaigns/{campaign['id']}", headers=world.aem.auth()).json()
    assert stored["contact_ids"] == sorted(ids, key=lambda i: stored["contact_ids"].index(i))
    assert set(stored["contact_ids"]) == set(ids) and stored["booked_at"] is not None
    assert stored["last_booking"]["bumped"] == [] and stored["last_booking"]["bumped_count"] == 1

    # A second booking books nothing new and bumps nothing.
    with session_scope(factory) as session:
        n_contacts = len(list(session.scalars(select(Contact.id))))
    again = client.post(f"/leop/campaigns/{campaign['id']}/book", json={"time_limit_s": 5}, headers=world.aem.auth())
    assert again.status_code == 200, again.text
    assert set(again.json()["booked_contact_ids"]) == set(ids) and again.json()["bumped_count"] == 0
    with session_scope(factory) as session:
        assert len(list(session.scalars(select(Contact.id)))) == n_contacts

    # The agent of the station gets each contact's search pattern (where the agent's schedule serves it).
    schedule = client.get("/agent/schedule", params={"station_id": world.aem.station_id,
                                                     "end": format_utc(DEPLOY + timedelta(hours=13))},
                          headers=world.aem.auth()).json()
    leop = [c for c in schedule["data"] if c["contact_id"] in ids]
    assert leop, "the campaign booked nothing on AEM's own station"
    if "search_pattern" in leop[0]:
        assert all(c["search_pattern"]["kind"] == "leop_search" for c in leop)
        assert all(c["search_pattern"]["station"] == "chetumal" for c in leop)

    # Ending cancels its future contacts.
    ended = client.post(f"/leop/campaigns/{campaign['id']}/end", headers=world.aem.auth())
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    with session_scope(factory) as session:
        assert {c.status for c in session.scalars(select(Contact).where(Contact.id.in_(ids)))} == {
            ContactStatus.CANCELLED}
        assert session.get(Station, world.aem.station_id) is not None
    refused = client.post(f"/leop/campaigns/{campaign['id']}/book", json={}, headers=world.aem.auth())
    assert refused.status_code == 409, refused.text
