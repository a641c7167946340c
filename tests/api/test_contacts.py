"""Booking, listing and cancelling contacts."""

from __future__ import annotations

import pytest

from groundshare.store import Role

T0 = "2030-05-01T03:00:00Z"
T1 = "2030-05-01T03:10:00Z"


def book(client, org, antenna_id, satellite_id, start=T0, end=T1, role=Role.OPERATOR, **extra):
    body = {"antenna_id": antenna_id, "satellite_id": satellite_id, "start": start, "end": end,
            "allow_outside_pass": True, **extra}  # the world's satellites have no element sets
    return client.post("/contacts", json=body, headers=org.auth(role))


def test_book_own_antenna(client, world):
    response = book(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id, role=Role.ADMIN)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["start"] == "2030-05-01T03:00:00Z" and body["end"] == "2030-05-01T03:10:00Z"
    assert body["busy_until"] == "2030-05-01T03:11:00Z"  # the antenna's 60 s turnaround
    assert body["status"] == "scheduled"
    assert body["station_id"] == world.kasa.station_id and body["org_id"] == world.kasa.id


def test_offsets_are_converted_to_utc(client, world):
    response = book(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id,
                    start="2030-05-01T12:00:00+09:00", end="2030-05-01T12:10:00+09:00")
    assert response.status_code == 201
    assert response.json()["start"] == T0


def test_partner_books_shared_antenna_with_public_satellite(client, world):
    response = book(client, world.aem, world.kasa.antenna_id, world.aem.satellite_id)
    assert response.status_code == 201
    # The owner of the antenna sees the partner's booking; the foreign organisation does not.
    assert client.get("/contacts", headers=world.kasa.auth(Role.VIEWER)).json()["count"] == 1
    assert client.get("/contacts", headers=world.uni.auth()).json() == {"data": [], "count": 0}


def test_overlap_is_409_naming_the_contact_only_to_whom_may_see_it(client, world):
    first = book(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id).json()
    # The antenna's owner booked it; aem, the partner, may not see kasa's contact: it learns when the antenna is busy
    # (turnaround included), not whose contact it is.  Starts inside the first contact's turnaround (03:10 to 03:11).
    response = book(client, world.aem, world.kasa.antenna_id, world.aem.satellite_id,
                    start="2030-05-01T03:10:30Z", end="2030-05-01T03:20:00Z")
    assert response.status_code == 409
    [error] = response.json()["detail"]
    assert error["type"] == "double_booking" and "ctx" not in error
    assert error["msg"].startswith(
        f"antenna {world.kasa.antenna_id} ('uhf') is busy from 2030-05-01T03:00:00.000Z to 2030-05-01T03:11:00.000Z; "
        "the requested 2030-05-01T03:10:30.000Z to 2030-05-01T03:20:00.000Z plus the antenna's 60 s turnaround "
        "overlaps it")
    assert f"contact {first['id']}" not in error["msg"]
    # The owner clashing with its own contact is told which one.
    own = book(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id, start="2030-05-01T03:05:00Z",
               end="2030-05-01T03:15:00Z")
    [error] = own.json()["detail"]
    assert own.status_code == 409 and error["ctx"] == {"contact_id": first["id"]}
    assert error["msg"].startswith(
        f"antenna {world.kasa.antenna_id} ('uhf') is already booked from 2030-05-01T03:00:00.000Z to "
        f"2030-05-01T03:10:00.000Z by contact {first['id']}; the requested 2030-05-01T03:05:00.000Z to "
        "2030-05-01T03:15:00.000Z plus the antenna's 60 s turnaround overlaps it")
    # Nothing was written by the refused requests.
    assert client.get("/contacts", headers=world.kasa.auth()).json()["count"] == 1


def test_idempotent_booking_returns_the_same_contact(client, world):
    first = book(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id, idempotency_key="pass-42")
    again = book(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id, idempotency_key="pass-42")
    assert first.status_code == 201 and again.status_code == 201
    assert again.json() == first.json()
    other = book(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id, start="2030-05-02T00:00Z",
                 end="2030-05-02T00:10Z", idempotency_key="pass-42")
    assert other.status_code == 409
    assert other.json()["detail"][0]["msg"].startswith("idempotency key 'pass-42' already booked contact")
    assert client.get("/contacts", headers=world.kasa.auth()).json()["count"] == 1


def test_cancel_frees_the_antenna(client, world):
    first = book(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id).json()
    response = client.post(f"/contacts/{first['id']}/cancel", headers=world.kasa.auth())
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert book(client, world.aem, world.kasa.antenna_id, world.aem.satellite_id).status_code == 201


def test_antenna_owner_may_cancel_partners_booking(client, world):
    contact = book(client, world.aem, world.kasa.antenna_id, world.aem.satellite_id).json()
    assert client.post(f"/contacts/{contact['id']}/cancel", headers=world.kasa.auth()).status_code == 200
    assert client.post(f"/contacts/{contact['id']}/cancel", headers=world.uni.auth()).status_code == 404


@pytest.fixture
def booked(client, world):
    """Three contacts: kasa's satellite at 03:00 and 05:00 on kasa's uhf, aem's at 04:00 on kasa's dish."""
    # aem lets kasa co-operate its satellite, so kasa may book it outside a pass too (no element sets here).
    granted = client.patch(f"/satellites/{world.aem.satellite_id}", json={"uplink_org_ids": [world.kasa.id]},
                           headers=world.aem.auth())
    assert granted.status_code == 200, granted.text
    ids = [book(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id).json()["id"],
           book(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id, start="2030-05-01T05:00Z",
                end="2030-05-01T05:10Z").json()["id"],
           book(client, world.kasa, world.kasa.unshared_antenna_id, world.aem.satellite_id,
                start="2030-05-01T04:00Z", end="2030-05-01T04:10Z").json()["id"]]
    book(client, world.uni, world.uni.antenna_id, world.uni.satellite_id)  # not visible to kasa
    return ids


@pytest.mark.parametrize(("params", "expected"), [
    ({}, [0, 2, 1]),
    ({"satellite_id": "sat"}, [0, 1]),
    ({"start": "2030-05-01T03:30Z"}, [2, 1]),
    ({"start": "2030-05-01T03:30Z", "end": "2030-05-01T04:30+00:00"}, [2]),
    ({"limit": 2}, [0, 2]),
    ({"offset": 2}, [1]),
    ({"station_id": "own"}, [0, 2, 1]),
    ({"station_id": "foreign"}, []),
])
def test_list_contacts_filters(client, world, booked, params, expected):
    params = dict(params)
    if params.get("satellite_id") == "sat":
        params["satellite_id"] = world.kasa.satellite_id
    if "station_id" in params:
        params["station_id"] = world.kasa.station_id if params["station_id"] == "own" else world.uni.station_id
    body = client.get("/contacts", params=params, headers=world.kasa.auth(Role.VIEWER)).json()
    assert [c["id"] for c in body["data"]] == [booked[i] for i in expected]
    if "limit" in params or "offset" in params:
        assert body["count"] == 3


def test_read_one_contact_is_isolated(client, world):
    booked = book(client, world.aem, world.kasa.antenna_id, world.aem.satellite_id).json()
    # The booker and the antenna's owner see it; the foreign organisation gets the missing-contact 404.
    assert client.get(f"/contacts/{booked['id']}", headers=world.aem.auth(Role.VIEWER)).json() == booked
    assert client.get(f"/contacts/{booked['id']}", headers=world.kasa.auth(Role.VIEWER)).json() == booked
    foreign = client.get(f"/contacts/{booked['id']}", headers=world.uni.auth())
    missing = client.get("/contacts/999999", headers=world.uni.auth())
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["detail"][0]["msg"] == (
        f"contact {booked['id']} does not exist or is not shared with your organisation")


def test_unreadable_body_and_unknown_path_answer_in_the_error_shape(client, world):
    bad = client.post("/contacts", content=b"S\xff", headers={**world.kasa.auth(), "Content-Type": "application/json"})
    assert bad.status_code in (400, 422)
    assert {"loc", "msg", "type"} <= set(bad.json()["detail"][0])
    unknown = client.get("/no-such-route", headers=world.kasa.auth())
    assert unknown.status_code == 404
    assert unknown.json()["detail"][0]["type"] == "http_404"
    wrong_method = client.delete("/contacts", headers=world.kasa.auth())
    assert wrong_method.status_code == 405
    assert wrong_method.json()["detail"][0]["type"] == "http_405"


def test_every_operation_documents_the_error_statuses(client):
    for path, operations in client.app.openapi()["paths"].items():
        for method, operation in operations.items():
            assert {"400", "401", "403", "404", "409", "503"} <= set(operation["responses"]), (method, path)
            if operation.get("parameters") or operation.get("requestBody"):
                assert "422" in operation["responses"], (method, path)
