"""Planning runs over the API: POST /schedule/runs plans the caller's open requests and books the plan.

Besides the plan itself: every figure of the answer comes from what the caller may see;
existing bookings are explained as such (named only where the caller may see them); a
receive-only contact of another organisation never holds the operator's satellite; and a
run is bounded (horizon, solver time and threads, candidates, one per organisation).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from starlette.exceptions import HTTPException

from groundshare.api.routes.schedule import PlanningGate
from groundshare.passes import Pass, find_passes
from groundshare.store import Antenna, Band, Contact, Role, Satellite, planning, session_scope, set_network_clock
from groundshare.store.db import sqlite_begin_mode
from groundshare.store.planning import build_problem as planning_build_problem
from groundshare.timeutil import format_utc
from groundshare.units import DAY_S
from tests.support.shipped import CUBESAT_START, CUBESAT_START_Z
from tests.support.uplink import allow_uplink, license_uplink
from tests.support.worlds import site_of

START = CUBESAT_START_Z
START_DT = CUBESAT_START
END = "2025-11-08T00:00:00Z"


def request_contacts(client, org, satellite_id, **extra):
    body = {"satellite_id": satellite_id, "window_start": START, "window_end": END, **extra}
    response = client.post("/requests", json=body, headers=org.auth())
    assert response.status_code == 201, response.text
    return response.json()


def run(client, org, role=Role.OPERATOR, **body):
    return client.post("/schedule/runs", json={"start": START, "hours": 24, "time_limit_s": 5, **body},
                       headers=org.auth(role))


def test_dry_run_plans_without_booking(client, world, elements):
    request_contacts(client, world.aem, world.aem.satellite_id, min_duration_s=60)
    response = run(client, world.aem)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["dry_run"] is True and body["violations"] == [] and body["booked_contact_ids"] == []
    assert body["candidates"] > 0
    assert body["plan"]["status"] in ("optimal", "feasible") and body["plan"]["contacts"]
    assert body["plan"]["objective"] <= body["plan"]["bound"] + 1e-6
    assert client.get("/contacts", headers=world.aem.auth()).json()["count"] == 0


def test_run_books_the_plan_on_antennas_the_requester_may_use(client, world, elements):
    request = request_contacts(client, world.aem, world.aem.satellite_id, min_duration_s=60, priority=2)
    body = run(client, world.aem, dry_run=False).json()
    assert body["violations"] == [] and body["refused"] == []
    assert len(body["booked_contact_ids"]) == len(body["plan"]["contacts"]) > 0
    contacts = client.get("/contacts", params={"limit": 500}, headers=world.aem.auth()).json()["data"]
    assert sorted(c["id"] for c in contacts) == sorted(body["booked_contact_ids"])
    # aem's own antenna or the one kasa shares with it; never kasa's unshared dish or uni's antenna.
    assert {c["antenna_id"] for c in contacts} <= {world.aem.antenna_id, world.kasa.antenna_id}
    assert all(c["end"] > c["start"] and c["start"] >= START and c["end"] <= END for c in contacts)
    assert client.get(f"/requests/{request['id']}", headers=world.aem.auth()).json()["status"] == "scheduled"
    # The request is served: a second run has nothing left to plan.
    again = run(client, world.aem, dry_run=False).json()
    assert again["candidates"] == 0 and again["booked_contact_ids"] == []


def test_booked_contacts_never_move(client, world, elements):
    # kasa holds its shared antenna for the whole day first (59-minute contacts, each turnaround ending as the
    # next begins); aem's plan must go around them.
    held = [book(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id,
                 START_DT + timedelta(hours=hour), START_DT + timedelta(hours=hour, minutes=59))
            for hour in range(24)]
    request_contacts(client, world.aem, world.aem.satellite_id)
    body = run(client, world.aem, dry_run=False).json()
    assert body["violations"] == [] and body["booked_contact_ids"]
    contacts = client.get("/contacts", params={"limit": 500}, headers=world.aem.auth()).json()["data"]
    assert {c["antenna_id"] for c in contacts} == {world.aem.antenna_id}
    assert [client.get(f"/contacts/{c['id']}", headers=world.kasa.auth()).json() for c in held] == held


def test_a_run_plans_only_the_callers_requests(client, world, elements):
    request_contacts(client, world.aem, world.aem.satellite_id)
    body = run(client, world.uni).json()
    assert body["candidates"] == 0 and body["plan"]["contacts"] == []


def test_viewers_cannot_plan_and_bad_input_is_422(client, world):
    assert run(client, world.aem, role=Role.VIEWER).status_code == 403
    response = run(client, world.aem, hours=0)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "hours"]


def test_unserved_requests_get_their_reason_and_fairness_is_reported(client, world, elements):
    request = request_contacts(client, world.aem, world.aem.satellite_id, min_elevation_deg=89)  # no such pass
    body = run(client, world.aem).json()
    assert body["plan"]["contacts"] == []
    [reason] = body["unserved"]
    assert reason["request"] == f"request {request['id']}" and reason["kind"] == "no_visibility"
    assert "satisfaction" in str(body["fairness"]) or "organisations" in body["fairness"]


# Helpers: bookings, passes, the server's settings for one test.


def book(client, org, antenna_id, satellite_id, start: datetime, end: datetime, **extra) -> dict:
    """Book a contact for ``org`` (its own satellite: outside a pass is its operator's right); return it."""
    body = {"antenna_id": antenna_id, "satellite_id": satellite_id, "start": format_utc(start),
            "end": format_utc(end), **extra}
    if satellite_id == org.satellite_id and "allow_outside_pass" not in extra:
        body["allow_outside_pass"] = True
    response = client.post("/contacts", json=body, headers=org.auth())
    assert response.status_code == 201, response.text
    return response.json()


def passes(app, element_set, station_id) -> list[Pass]:
    """Return the passes of ``element_set`` over the station over the test day."""
    return list(find_passes([element_set], [site_of(app, station_id)], start=START_DT, duration_s=DAY_S, workers=1))


def lone_pass(app, world, elements) -> Pass:
    """Return aem's longest pass over kasa's station whose window (10 min around it) meets no pass over aem's own."""
    own = passes(app, elements["aem"], world.aem.station_id)
    margin = timedelta(minutes=10)
    alone = [p for p in passes(app, elements["aem"], world.kasa.station_id)
             if not p.clipped and not any(q.aos < p.los + margin and q.los > p.aos - margin for q in own)]
    return max(alone, key=lambda p: p.duration_s)


def request_around(client, org, satellite_id, p: Pass) -> dict:
    """Ask for one contact of the satellite within 10 minutes of pass ``p``."""
    margin = timedelta(minutes=10)
    return request_contacts(client, org, satellite_id, window_start=format_utc(p.aos - margin),
                            window_end=format_utc(p.los + margin))


@contextmanager
def server_settings(app, **changes) -> Iterator[None]:
    """Run the block with the application's ``Settings`` changed as given."""
    saved = app.state.settings
    app.state.settings = dataclasses.replace(saved, **changes)
    try:
        yield
    finally:
        app.state.settings = saved


def steady(body: dict) -> dict:
    """Return a run's answer without its timings."""
    return {**body, "plan": {k: v for k, v in body["plan"].items() if k != "wall_s"}}


# No figure of what the caller may not see.


def test_fairness_counts_only_the_antennas_the_caller_may_see(client, app, world, elements):
    request_contacts(client, world.aem, world.aem.satellite_id, min_duration_s=60)
    before = run(client, world.aem).json()
    lines = {line["organisation"]: line for line in before["fairness"]["organisations"]}
    # aem sees its own antenna and kasa's shared one, each over the 24 h horizon: not kasa's dish, not uni's antenna.
    assert set(lines) == {world.aem.name, world.kasa.name}
    assert lines[world.aem.name]["contributed_h"] == lines[world.kasa.name]["contributed_h"] == 24.0
    assert [(r["org_a"], r["org_b"]) for r in before["fairness"]["reciprocity"]] == [(world.aem.name, world.kasa.name)]

    # What aem may not see: kasa's and uni's contacts on their unshared antennas, every two hours, and an antenna
    # more for uni.  Nothing in aem's answer moves.
    for org, antenna_id in ((world.kasa, world.kasa.unshared_antenna_id), (world.uni, world.uni.antenna_id)):
        for hour in range(0, 24, 2):
            book(client, org, antenna_id, org.satellite_id, START_DT + timedelta(hours=hour),
                 START_DT + timedelta(hours=hour, minutes=30))
    with session_scope(app.state.session_factory) as session:
        session.add(Antenna(station_id=world.uni.station_id, name="s-band", band=Band.S))
    after = run(client, world.aem).json()
    assert steady(after) == steady(before)


def test_a_booking_the_caller_cannot_see_is_busy_time_without_its_id_or_owner(client, app, world,
                                                                              elements):
    p = lone_pass(app, world, elements)
    request = request_around(client, world.aem, world.aem.satellite_id, p)
    # kasa holds its antenna (the one it shares with aem) over the pass, with its own satellite: aem may not see it.
    held = book(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id, p.aos - timedelta(minutes=2),
                p.los + timedelta(minutes=2))
    body = run(client, world.aem).json()
    assert body["plan"]["contacts"] == []
    [reason] = body["unserved"]
    assert (reason["request"], reason["kind"]) == (f"request {request['id']}", "busy")
    # The antenna is held from the contact's start to its end plus the antenna's 60 s turnaround.
    assert reason["message"].endswith(
        f"pass {reason['pass_ids'][0]}: antenna {world.kasa.antenna_id} is busy from "
        f"{format_utc(p.aos - timedelta(minutes=2))} to {format_utc(p.los + timedelta(minutes=3))} "
        "(an existing booking)")
    [pass_id] = reason["pass_ids"]
    assert pass_id.startswith(f"r{request['id']}:a{world.kasa.antenna_id}:{format_utc(p.aos)[:19]}")
    text = str(body)
    assert f"contact {held['id']}" not in text and "blacked out" not in text
    assert world.kasa.name not in reason["message"]


def test_the_callers_own_booking_is_named(client, app, world, elements):
    p = lone_pass(app, world, elements)
    request = request_around(client, world.aem, world.aem.satellite_id, p)
    # aem already has its satellite on kasa's antenna over the pass (booked directly): that contact serves it.
    mine = book(client, world.aem, world.kasa.antenna_id, world.aem.satellite_id, p.aos + timedelta(seconds=30),
                p.los - timedelta(seconds=30), allow_outside_pass=False)
    [reason] = run(client, world.aem).json()["unserved"]
    assert (reason["request"], reason["kind"]) == (f"request {request['id']}", "busy")
    assert (f"satellite {world.aem.satellite_id} already has contact {mine['id']} of {world.aem.name} from "
            f"{format_utc(p.aos + timedelta(seconds=30))} to {format_utc(p.los - timedelta(seconds=30))}"
            in reason["message"])


# Receive-only and uplink.


def test_another_organisations_receive_only_contact_never_holds_the_satellite(client, app, world,
                                                                              elements):
    p = lone_pass(app, world, elements)
    request_around(client, world.aem, world.aem.satellite_id, p)
    # kasa listens to aem's public satellite over the same pass, on its own dish beside the shared antenna.
    book(client, world.kasa, world.kasa.unshared_antenna_id, world.aem.satellite_id, p.aos + timedelta(seconds=5),
         p.los - timedelta(seconds=5))
    body = run(client, world.aem, dry_run=False).json()
    assert body["unserved"] == [] and body["refused"] == []
    [contact_id] = body["booked_contact_ids"]
    contact = client.get(f"/contacts/{contact_id}", headers=world.aem.auth()).json()
    assert contact["antenna_id"] == world.kasa.antenna_id and contact["uplink"] is False  # aem's has no uplink


def test_an_uplink_contact_holds_the_satellite_against_a_planned_uplink(client, app, world, elements):
    p = lone_pass(app, world, elements)
    request = request_around(client, world.aem, world.aem.satellite_id, p)
    with session_scope(app.state.session_factory) as session:  # aem's satellite takes commands, from kasa too
        satellite = session.get(Satellite, world.aem.satellite_id)
        satellite.uplink_frequency_hz, satellite.uplink_org_ids = 145.9e6, [world.kasa.id]
    for station_id in (world.kasa.station_id, world.aem.station_id):
        license_uplink(app.state.session_factory, station_id, world.aem.satellite_id)
    allow_uplink(app.state.session_factory, world.kasa.antenna_id, world.aem.id)  # kasa lets aem transmit
    commanding = book(client, world.kasa, world.kasa.unshared_antenna_id, world.aem.satellite_id,
                      p.aos + timedelta(seconds=5), p.los - timedelta(seconds=5), uplink=True)
    [reason] = run(client, world.aem).json()["unserved"]
    assert (reason["request"], reason["kind"]) == (f"request {request['id']}", "busy")
    assert (f"satellite {world.aem.satellite_id} is commanded from {format_utc(p.aos + timedelta(seconds=5))} to "
            f"{format_utc(p.los - timedelta(seconds=5))} (an existing uplink booking)") in reason["message"]
    assert f"contact {commanding['id']}" not in reason["message"]
    # Without that uplink, aem's plan books its own uplink contact: the operator commands its satellite.
    client.post(f"/contacts/{commanding['id']}/cancel", headers=world.kasa.auth())
    body = run(client, world.aem, dry_run=False).json()
    [contact_id] = body["booked_contact_ids"]
    assert client.get(f"/contacts/{contact_id}", headers=world.aem.auth()).json()["uplink"] is True


def test_a_planned_contact_of_anothers_satellite_only_listens(client, app, world, elements):
    with session_scope(app.state.session_factory) as session:
        session.get(Satellite, world.aem.satellite_id).uplink_frequency_hz = 145.9e6
    request_contacts(client, world.uni, world.aem.satellite_id, min_duration_s=60)  # aem's public satellite
    body = run(client, world.uni, dry_run=False).json()
    assert body["booked_contact_ids"] and body["refused"] == []
    contacts = client.get("/contacts", params={"limit": 500}, headers=world.uni.auth()).json()["data"]
    assert {c["uplink"] for c in contacts} == {False}


# Bounds.


def test_the_horizon_and_the_solver_time_are_bounded_by_the_server(client, app, world, elements):
    request_contacts(client, world.aem, world.aem.satellite_id)
    with server_settings(app, max_plan_hours=12.0, max_plan_time_limit_s=2.0):
        response = run(client, world.aem, hours=24)
        assert response.status_code == 422, response.text
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "hours"]
        assert error["msg"].startswith("hours is 24, more than the 12 h one planning run may cover (max_plan_hours)")
        response = run(client, world.aem, hours=12, time_limit_s=5)
        assert response.status_code == 422, response.text
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "time_limit_s"]
        assert error["msg"].startswith("time_limit_s is 5, more than the 2 s of solver time one run may use")
        assert run(client, world.aem, hours=12, time_limit_s=2).status_code == 201
        # Left out, each takes the server's bound where it is below the default (24 h, 10 s).
        response = client.post("/schedule/runs", json={"start": START}, headers=world.aem.auth())
        assert response.status_code == 201, response.text
        assert response.json()["end"] == "2025-11-07T12:00:00.000Z"
    for field in ("hours", "time_limit_s"):  # not a number is refused as such, never compared with a bound
        response = client.post("/schedule/runs", content=f'{{"start": "{START}", "{field}": NaN}}',
                               headers={**world.aem.auth(), "Content-Type": "application/json"})
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", field]


def test_a_run_with_too_many_candidates_is_refused_with_what_to_narrow(client, app, world, elements):
    request_contacts(client, world.aem, world.aem.satellite_id)
    with server_settings(app, max_plan_candidates=3):
        response = run(client, world.aem)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "hours"]
    assert error["msg"].startswith("this run has more than 3 candidate passes, the most one run may model, within "
                                   "its first ")
    assert "(1 open request(s) over 24 h, about " in error["msg"]
    assert "Plan a shorter horizon (hours: " in error["msg"] and "narrow their windows" in error["msg"]
    assert run(client, world.aem).status_code == 201


def test_the_solver_uses_the_servers_threads(client, app, world, elements):
    request_contacts(client, world.aem, world.aem.satellite_id)
    assert run(client, world.aem).json()["workers"] == app.state.settings.plan_workers
    with server_settings(app, plan_workers=1):
        assert run(client, world.aem).json()["workers"] == 1


def test_one_run_per_organisation_at_a_time(client, app, world, elements):
    request_contacts(client, world.aem, world.aem.satellite_id)
    with app.state.planning_gate.admit(world.aem.id, expected_s=30.0):  # a run of aem's is in progress
        response = run(client, world.aem)
        assert response.status_code == 429, response.text
        assert 1 <= int(response.headers["Retry-After"]) <= 30
        [error] = response.json()["detail"]
        assert error["msg"].startswith("your organisation already has a planning run in progress, and an "
                                       "organisation runs one plan at a time")
        assert run(client, world.kasa).status_code == 201  # another organisation is not blocked
    assert run(client, world.aem).status_code == 201


def test_the_server_runs_a_bounded_number_of_plans_at_once(client, app, world, elements):
    saved = app.state.planning_gate
    app.state.planning_gate = PlanningGate(1)
    try:
        with app.state.planning_gate.admit(world.kasa.id, expected_s=20.0):
            response = run(client, world.aem)
            assert response.status_code == 429, response.text
            assert 1 <= int(response.headers["Retry-After"]) <= 20
            [error] = response.json()["detail"]
            assert error["msg"].startswith("the server is running 1 planning runs, the most it runs at once")
        assert run(client, world.aem).status_code == 201
    finally:
        app.state.planning_gate = saved


def test_runs_in_other_server_processes_hold_their_places(client, app, world, elements, tmp_path):
    """With a lock folder (``serve --workers`` makes one) the gate counts the runs of every process naming it.

    A second gate on the same folder stands for another worker process: its file locks are
    held on descriptors of their own, which exclude this gate's as another process's would.
    """
    request_contacts(client, world.aem, world.aem.satellite_id)
    saved = app.state.planning_gate
    app.state.planning_gate = PlanningGate(1, lock_dir=tmp_path)
    other_process = PlanningGate(1, lock_dir=tmp_path)
    try:
        with other_process.admit(world.aem.id, expected_s=30.0):
            response = run(client, world.aem)
            assert response.status_code == 429, response.text
            assert 1 <= int(response.headers["Retry-After"]) <= 30
            assert response.json()["detail"][0]["msg"].startswith(
                "your organisation already has a planning run in progress")
        with other_process.admit(world.kasa.id, expected_s=20.0):
            response = run(client, world.aem)
            assert response.status_code == 429, response.text
            assert 1 <= int(response.headers["Retry-After"]) <= 20
            assert response.json()["detail"][0]["msg"].startswith(
                "the server is running 1 planning runs, the most it runs at once")
        assert run(client, world.aem).status_code == 201  # both places free again
        with app.state.planning_gate.admit(world.aem.id, expected_s=5.0), pytest.raises(HTTPException) as refused:
            other_process.admit(world.kasa.id, expected_s=5.0).__enter__()
        assert refused.value.status_code == 429
    finally:
        app.state.planning_gate = saved


def test_a_run_reads_without_the_write_lock(client, app, world, elements, monkeypatch):
    """The request's unit of work only reads (the plan is booked in one of its own): SQLite begins it DEFERRED."""
    request_contacts(client, world.aem, world.aem.satellite_id, min_duration_s=60)
    began = []

    def build_problem(session, **kwargs):
        began.append(sqlite_begin_mode(session))
        return planning_build_problem(session, **kwargs)

    monkeypatch.setattr(planning, "build_problem", build_problem)
    body = run(client, world.aem, dry_run=False).json()
    assert body["booked_contact_ids"]
    assert began == ["DEFERRED" if app.state.engine.dialect.name == "sqlite" else None]


def test_429_is_documented(client):
    responses = client.get("/openapi.json").json()["paths"]["/schedule/runs"]["post"]["responses"]
    assert "429" in responses and "Retry-After" in responses["429"]["description"]


def test_no_contact_is_planned_in_the_past(client, app, world, elements):
    request_contacts(client, world.aem, world.aem.satellite_id, min_duration_s=60)
    with session_scope(app.state.session_factory) as session:
        set_network_clock(session, START_DT + timedelta(hours=12), reason="half the day is gone")
    body = run(client, world.aem, dry_run=False).json()
    assert body["refused"] == [] and body["booked_contact_ids"]
    with session_scope(app.state.session_factory, write=False) as session:
        starts = [session.get(Contact, i).start_time for i in body["booked_contact_ids"]]
    assert min(starts) >= START_DT + timedelta(hours=12)


def test_a_server_without_the_schedule_extra_says_so_and_plans_greedily(client, world, elements, monkeypatch):
    """Installed with [server] alone, CP-SAT is missing: 503 naming the install, never a 500; greedy still runs."""
    import groundshare.extras

    real_find_spec = groundshare.extras.find_spec
    monkeypatch.setattr(groundshare.extras, "find_spec",
                        lambda name: None if name == "ortools" else real_find_spec(name))
    request_contacts(client, world.kasa, world.kasa.satellite_id)
    refused = run(client, world.kasa)
    assert refused.status_code == 503, refused.text
    [error] = refused.json()["detail"]
    assert error["type"] == "not_installed"
    assert error["msg"] == ("a planning run with solver 'auto' (greedy needs nothing more) needs the schedule extra: "
                            "pip install 'groundshare[schedule]'")
    assert run(client, world.kasa, solver="greedy").status_code == 201
