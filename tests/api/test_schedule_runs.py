"""Planning runs over the API: POST /schedule/runs plans the caller's open requests and books the plan."""

from __future__ import annotations

from groundshare.store import Role
from tests.api.test_passes_routes import START, elements  # noqa: F401 - the fixture giving satellites element sets

END = "2025-11-08T00:00:00Z"


def request_contacts(client, org, satellite_id, **extra):
    body = {"satellite_id": satellite_id, "window_start": START, "window_end": END, **extra}
    response = client.post("/requests", json=body, headers=org.auth())
    assert response.status_code == 201, response.text
    return response.json()


def run(client, org, role=Role.OPERATOR, **body):
    return client.post("/schedule/runs", json={"start": START, "hours": 24, "time_limit_s": 5, **body},
                       headers=org.auth(role))


def test_dry_run_plans_without_booking(client, world, elements):  # noqa: F811
    request_contacts(client, world.aem, world.aem.satellite_id, min_duration_s=60)
    response = run(client, world.aem)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["dry_run"] is True and body["violations"] == [] and body["booked_contact_ids"] == []
    assert body["candidates"] > 0
    assert body["plan"]["status"] in ("optimal", "feasible") and body["plan"]["contacts"]
    assert body["plan"]["objective"] <= body["plan"]["bound"] + 1e-6
    assert client.get("/contacts", headers=world.aem.auth()).json()["count"] == 0


def test_run_books_the_plan_on_antennas_the_requester_may_use(client, world, elements):  # noqa: F811
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


def test_booked_contacts_never_move(client, world, elements):  # noqa: F811
    # kasa books its own antenna for the whole day first; aem's plan must go around it.
    held = client.post("/contacts", json={"antenna_id": world.kasa.antenna_id, "satellite_id": world.kasa.satellite_id,
                                          "start": START, "end": END}, headers=world.kasa.auth()).json()
    request_contacts(client, world.aem, world.aem.satellite_id)
    body = run(client, world.aem, dry_run=False).json()
    assert body["violations"] == [] and body["booked_contact_ids"]
    contacts = client.get("/contacts", params={"limit": 500}, headers=world.aem.auth()).json()["data"]
    assert {c["antenna_id"] for c in contacts} == {world.aem.antenna_id}
    assert client.get(f"/contacts/{held['id']}", headers=world.kasa.auth()).json() == held


def test_a_run_plans_only_the_callers_requests(client, world, elements):  # noqa: F811
    request_contacts(client, world.aem, world.aem.satellite_id)
    body = run(client, world.uni).json()
    assert body["candidates"] == 0 and body["plan"]["contacts"] == []


def test_viewers_cannot_plan_and_bad_input_is_422(client, world):
    assert run(client, world.aem, role=Role.VIEWER).status_code == 403
    response = run(client, world.aem, hours=0)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "hours"]


def test_unserved_requests_get_their_reason_and_fairness_is_reported(client, world, elements):  # noqa: F811
    request = request_contacts(client, world.aem, world.aem.satellite_id, min_elevation_deg=89)  # no such pass
    body = run(client, world.aem).json()
    assert body["plan"]["contacts"] == []
    [reason] = body["unserved"]
    assert reason["request"] == f"request {request['id']}" and reason["kind"] == "no_visibility"
    assert "satisfaction" in str(body["fairness"]) or "organisations" in body["fairness"]
