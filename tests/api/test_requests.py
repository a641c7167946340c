"""Contact requests through /requests: private to the organisation that made them.

A request may name the caller's own satellite or a public one; it can be changed while
open; cancelling is idempotent (a second cancel answers 200 and changes nothing) and
cancels the request's contacts that are still scheduled.
"""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select, update

from groundshare.store import Contact, ContactRequest, RequestStatus, Role, session_scope

WINDOW = {"window_start": "2030-01-01T00:00Z", "window_end": "2030-01-02T00:00Z"}


def make(client, org, satellite_id, role=Role.OPERATOR, **changes):
    body = {"satellite_id": satellite_id, **WINDOW, "min_duration_s": 120.0, "min_elevation_deg": 10.0,
            "min_volume_bytes": 5_000_000, "priority": 2, **changes}
    return client.post("/requests", json={k: v for k, v in body.items() if v is not ...}, headers=org.auth(role))


def request_count(app) -> int:
    with session_scope(app.state.session_factory, write=False) as session:
        return session.scalar(select(func.count()).select_from(ContactRequest))


def only_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    [error] = response.json()["detail"]
    return error


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR])
def test_create_and_read(client, world, role):
    response = make(client, world.kasa, world.kasa.satellite_id, role, window_start="2030-01-01T09:00+09:00")
    assert response.status_code == 201, response.text
    created = response.json()
    assert created == {"id": created["id"], "org_id": world.kasa.id, "satellite_id": world.kasa.satellite_id,
                       "window_start": "2030-01-01T00:00:00Z", "window_end": "2030-01-02T00:00:00Z",
                       "min_duration_s": 120.0, "min_elevation_deg": 10.0, "min_volume_bytes": 5_000_000,
                       "priority": 2, "status": "open", "created_at": created["created_at"],
                       "contacts_per_day": None, "contacts_wanted": 1, "contacts_booked": 0, "state": "not_planned",
                       "planned_at": None, "reasons": []}
    assert client.get(f"/requests/{created['id']}", headers=world.kasa.auth(Role.VIEWER)).json() == created


def test_defaults_and_public_satellite(client, world):
    response = make(client, world.uni, world.aem.satellite_id, min_duration_s=..., min_elevation_deg=...,
                    min_volume_bytes=..., priority=...)
    assert response.status_code == 201, response.text
    assert {k: response.json()[k] for k in ("min_duration_s", "min_elevation_deg", "min_volume_bytes", "priority")} \
        == {"min_duration_s": 0.0, "min_elevation_deg": 0.0, "min_volume_bytes": None, "priority": 0}


def test_partners_private_satellite_is_404(client, app, world):
    error = only_error(make(client, world.aem, world.kasa.satellite_id), 404)
    assert error["msg"] == f"satellite {world.kasa.satellite_id} does not exist or is not shared with your organisation"
    assert request_count(app) == 0


@pytest.mark.parametrize(("changes", "loc", "msg"), [
    ({"window_end": "2029-12-31T00:00Z"}, ["body", "window_end"], "window_end (2029-12-31T00:00:00.000Z) must be "
     "after window_start (2030-01-01T00:00:00.000Z); a request covers [window_start, window_end)"),
    ({"window_end": "2030-01-01T00:00Z"}, ["body", "window_end"], None),
    ({"window_end": "2030-01-01T00:01Z"}, ["body", "min_duration_s"], "min_duration_s (120 s) is longer than the "
     "window (60 s); shorten it or widen the window"),
    ({"window_start": "2030-01-01T00:00"}, ["body", "window_start"], None),
    ({"window_start": ...}, ["body", "window_start"], None),
    ({"min_duration_s": -1}, ["body", "min_duration_s"], None),
    ({"min_elevation_deg": 95}, ["body", "min_elevation_deg"], None),
    ({"min_volume_bytes": 2**63}, ["body", "min_volume_bytes"], None),
    ({"min_volume_bytes": -1}, ["body", "min_volume_bytes"], None),
    ({"priority": 1001}, ["body", "priority"], None),
    ({"satellite_id": 2**31}, ["body", "satellite_id"], None),
    ({"status": "scheduled"}, ["body", "status"], None),
])
def test_bad_request_is_422_naming_the_field(client, app, world, changes, loc, msg):
    changes = dict(changes)
    error = only_error(make(client, world.kasa, changes.pop("satellite_id", world.kasa.satellite_id), **changes), 422)
    assert error["loc"] == loc
    if msg is not None:
        assert error["msg"] == msg
    assert request_count(app) == 0


def test_list_own_requests_filtered_and_paginated(client, world):
    ids = [make(client, world.kasa, world.kasa.satellite_id).json()["id"] for _ in range(3)]
    ids.append(make(client, world.kasa, world.aem.satellite_id).json()["id"])
    make(client, world.aem, world.aem.satellite_id)  # another organisation's: never listed
    client.post(f"/requests/{ids[0]}/cancel", headers=world.kasa.auth())

    def listed(**params):
        body = client.get("/requests", params=params, headers=world.kasa.auth(Role.VIEWER)).json()
        return [r["id"] for r in body["data"]], body["count"]

    assert listed() == (ids, 4)
    assert listed(limit=2, offset=1) == (ids[1:3], 4)
    assert listed(status="cancelled") == ([ids[0]], 1)
    assert listed(status="open", satellite_id=world.kasa.satellite_id) == (ids[1:3], 2)
    assert listed(satellite_id=world.aem.satellite_id) == ([ids[3]], 1)
    assert client.get("/requests", params={"status": "done"}, headers=world.kasa.auth()).status_code == 422


def test_update_open_request(client, world):
    request_id = make(client, world.kasa, world.kasa.satellite_id).json()["id"]
    response = client.patch(f"/requests/{request_id}", json={"window_end": "2030-01-03T00:00Z", "priority": 9,
                                                              "min_volume_bytes": None}, headers=world.kasa.auth())
    assert response.status_code == 200, response.text
    assert (response.json()["window_end"], response.json()["priority"], response.json()["min_volume_bytes"]) == (
        "2030-01-03T00:00:00Z", 9, None)


@pytest.mark.parametrize(("body", "loc"), [
    ({"window_start": "2030-01-02T00:00Z"}, ["body", "window_end"]),  # checked against the stored end
    ({"min_duration_s": 90_000}, ["body", "min_duration_s"]),
    ({"priority": None}, ["body", "priority"]),
    ({"window_start": None}, ["body", "window_start"]),
    ({"satellite_id": 1}, ["body", "satellite_id"]),
])
def test_bad_update_changes_nothing(client, world, body, loc):
    created = make(client, world.kasa, world.kasa.satellite_id).json()
    response = client.patch(f"/requests/{created['id']}", json=body, headers=world.kasa.auth())
    assert only_error(response, 422)["loc"] == loc
    assert client.get(f"/requests/{created['id']}", headers=world.kasa.auth()).json() == created


def test_only_open_requests_change(client, world):
    request_id = make(client, world.kasa, world.kasa.satellite_id).json()["id"]
    client.post(f"/requests/{request_id}/cancel", headers=world.kasa.auth())
    response = client.patch(f"/requests/{request_id}", json={"priority": 1}, headers=world.kasa.auth())
    assert only_error(response, 409)["msg"] == (f"request {request_id} is cancelled; only open requests can be "
                                                "changed\n\nMake a new request instead")


def test_cancel_is_idempotent_and_cancels_scheduled_contacts(client, app, world):
    request_id = make(client, world.kasa, world.kasa.satellite_id).json()["id"]
    contact = client.post("/contacts", json={"antenna_id": world.kasa.antenna_id,
                                             "satellite_id": world.kasa.satellite_id, "start": "2030-01-01T01:00Z",
                                             "end": "2030-01-01T01:10Z", "allow_outside_pass": True},
                          headers=world.kasa.auth()).json()
    with session_scope(app.state.session_factory) as session:  # as the scheduler will link them
        session.execute(update(Contact).values(request_id=request_id))
        session.execute(update(ContactRequest).values(status=RequestStatus.SCHEDULED))
    first = client.post(f"/requests/{request_id}/cancel", headers=world.kasa.auth())
    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    contacts = client.get("/contacts", headers=world.kasa.auth()).json()["data"]
    assert [(c["id"], c["status"]) for c in contacts] == [(contact["id"], "cancelled")]
    second = client.post(f"/requests/{request_id}/cancel", headers=world.kasa.auth())
    assert second.status_code == 200 and second.json() == first.json()


# (caller, method, path suffix, status) on a request of kasa's: other organisations see nothing.
REQUEST_MATRIX = [
    ("kasa", "GET", "", 200), ("aem", "GET", "", 404), ("uni", "GET", "", 404),
    ("kasa", "PATCH", "", 200), ("aem", "PATCH", "", 404), ("uni", "PATCH", "", 404),
    ("kasa", "POST", "/cancel", 200), ("aem", "POST", "/cancel", 404), ("uni", "POST", "/cancel", 404),
]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("caller", "method", "suffix", "expected"), REQUEST_MATRIX)
def test_request_tenancy_matrix(client, world, role, caller, method, suffix, expected):
    request_id = make(client, world.kasa, world.aem.satellite_id).json()["id"]
    response = client.request(method, f"/requests/{request_id}{suffix}", json={"priority": 5} if method == "PATCH"
                              else None, headers=getattr(world, caller).auth(role))
    if method != "GET" and role is Role.VIEWER:
        expected = 403
    assert response.status_code == expected, response.text
    if expected == 404:
        assert response.json()["detail"][0]["msg"] == (
            f"request {request_id} does not exist or is not shared with your organisation")
    after = client.get(f"/requests/{request_id}", headers=world.kasa.auth()).json()
    assert (after["priority"], after["status"]) == ((2, "open") if expected != 200 or method == "GET" else
                                                    (5, "open") if method == "PATCH" else (2, "cancelled"))


def test_viewer_cannot_create(client, app, world):
    assert only_error(make(client, world.kasa, world.kasa.satellite_id, Role.VIEWER), 403)["type"] == "policy"
    assert request_count(app) == 0


def test_open_requests_are_bounded_per_organisation(client, app, world):
    saved = app.state.settings
    app.state.settings = dataclasses.replace(saved, max_open_requests_per_org=2)
    try:
        first, _second = (make(client, world.kasa, world.kasa.satellite_id).json() for _ in range(2))
        error = only_error(make(client, world.kasa, world.kasa.satellite_id), 409)
        assert error["msg"] == (
            "your organisation has 2 open contact requests, the most one organisation may have "
            "(max_open_requests_per_org is 2)\n\nCancel requests it no longer needs (POST /requests/{id}/cancel), "
            "or let planning runs schedule some (POST /schedule/runs), then ask again")
        assert request_count(app) == 2
        assert make(client, world.aem, world.aem.satellite_id).status_code == 201  # another organisation's quota
        assert client.post(f"/requests/{first['id']}/cancel", headers=world.kasa.auth()).status_code == 200
        assert make(client, world.kasa, world.kasa.satellite_id).status_code == 201  # a place is free again
    finally:
        app.state.settings = saved
