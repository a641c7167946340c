"""Uplink over the API: licences, the uplink terms of a policy, the transmit inhibit and the audit trail.

The world: kasa shares its UHF antenna with aem (receive only until kasa says otherwise);
aem operates its satellite; uni is foreign to both.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from groundshare.store import Contact, Role, SharingPolicy, session_scope
from groundshare.store.uplink import record_uplink_frame
from groundshare.timeutil import format_utc
from tests.support.worlds import give_elements, next_pass

LICENCE = {"reference": "KCC-2025-0042", "valid_from": "2025-01-01T00:00Z", "valid_until": "2030-01-01T00:00Z"}


def only_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    [error] = response.json()["detail"]
    return error


def license_(client, world, **changes):
    body = {"satellite_id": world.aem.satellite_id, **LICENCE, **changes}
    return client.post(f"/stations/{world.kasa.station_id}/licences", json=body, headers=world.kasa.auth())


def policy_id(app, world) -> int:
    with session_scope(app.state.session_factory, write=False) as session:
        return session.scalar(select(SharingPolicy.id).where(SharingPolicy.antenna_id == world.kasa.antenna_id))


def book_uplink(client, app, world):
    element_set = give_elements(app, world.aem.satellite_id)
    p = next_pass(app, element_set, world.kasa.station_id)
    return client.post("/contacts", json={"antenna_id": world.kasa.antenna_id, "satellite_id": world.aem.satellite_id,
                                          "start": format_utc(p.aos), "end": format_utc(p.los), "uplink": True},
                       headers=world.aem.auth())


def test_the_owner_records_licences_and_the_operator_sees_its_own(client, world):
    created = license_(client, world)
    assert created.status_code == 201, created.text
    assert {k: created.json()[k] for k in ("station_id", "satellite_id", "reference", "created_by_org_id")} == {
        "station_id": world.kasa.station_id, "satellite_id": world.aem.satellite_id, "reference": "KCC-2025-0042",
        "created_by_org_id": world.kasa.id}
    assert license_(client, world, satellite_id=world.kasa.satellite_id).status_code == 201
    path = f"/stations/{world.kasa.station_id}/licences"
    assert client.get(path, headers=world.kasa.auth()).json()["count"] == 2
    second = client.get(path, params={"offset": 1, "limit": 1}, headers=world.kasa.auth()).json()
    assert (len(second["data"]), second["count"]) == (1, 2)        # a page, and how many there are
    assert client.get(path, params={"limit": 501}, headers=world.kasa.auth()).status_code == 422
    [seen] = client.get(path, headers=world.aem.auth()).json()["data"]
    assert seen["satellite_id"] == world.aem.satellite_id
    assert client.get(path, headers=world.uni.auth()).status_code == 404
    # Only the owner writes them.
    refused = client.post(path, json={"satellite_id": world.aem.satellite_id, **LICENCE}, headers=world.aem.auth())
    assert refused.status_code == 403


@pytest.mark.parametrize(("changes", "loc"), [
    ({"valid_until": "2024-01-01T00:00Z"}, ["body"]),
    ({"reference": ""}, ["body", "reference"]),
    ({"valid_from": "2025-01-01T00:00"}, ["body", "valid_from"]),
    ({"satellite_id": 0}, ["body", "satellite_id"]),
])
def test_a_bad_licence_is_422_naming_the_field(client, world, changes, loc):
    assert only_error(license_(client, world, **changes), 422)["loc"] == loc


def test_an_unknown_satellite_is_404(client, world):
    assert only_error(license_(client, world, satellite_id=999_999), 404)["msg"].startswith("satellite 999999")


def test_uplink_booking_needs_the_licence_and_the_owners_terms(client, app, world):
    refused = only_error(book_uplink(client, app, world), 403)
    assert refused["msg"].startswith(f"no uplink licence lets satellite {world.aem.satellite_id}")
    assert license_(client, world).status_code == 201
    assert "uplink_allowed is false" in only_error(book_uplink(client, app, world), 403)["msg"]
    path = f"/policies/{policy_id(app, world)}"
    assert only_error(client.patch(path, json={"uplink_bands": ["s"]}, headers=world.kasa.auth()),
                      422)["loc"] == ["body", "uplink_bands", 0]
    changed = client.patch(path, json={"uplink_allowed": True, "uplink_bands": ["uhf"],
                                       "uplink_satellite_ids": [world.aem.satellite_id]}, headers=world.kasa.auth())
    assert changed.status_code == 200, changed.text
    assert {k: changed.json()[k] for k in ("uplink_allowed", "uplink_bands", "uplink_satellite_ids")} == {
        "uplink_allowed": True, "uplink_bands": ["uhf"], "uplink_satellite_ids": [world.aem.satellite_id]}
    booked = book_uplink(client, app, world)
    assert booked.status_code == 201, booked.text
    assert booked.json()["uplink"] is True


def test_the_transmit_inhibit_is_the_owners_and_on_record(client, world):
    path = f"/stations/{world.kasa.station_id}/transmit-inhibit"
    assert client.get(path, headers=world.kasa.auth()).json() == {"station_id": world.kasa.station_id,
                                                                   "open": None, "history": []}
    assert client.post(path, json={}, headers=world.aem.auth()).status_code == 403  # sees the station, not its owner
    assert client.post(path, json={}, headers=world.uni.auth()).status_code == 404
    raised = client.post(path, json={"reason": "interference on 145.9 MHz"}, headers=world.kasa.auth())
    assert raised.status_code == 201, raised.text
    again = client.post(path, json={}, headers=world.kasa.auth(Role.ADMIN))
    assert (again.status_code, again.json()["id"]) == (200, raised.json()["id"])
    record = client.get(path, headers=world.aem.auth()).json()
    assert record["open"]["reason"] == "interference on 145.9 MHz" and len(record["history"]) == 1
    lifted = client.delete(path, headers=world.kasa.auth())
    assert lifted.status_code == 200 and lifted.json()["lifted_at"] is not None
    assert only_error(client.delete(path, headers=world.kasa.auth()), 409)["msg"].startswith(
        f"station {world.kasa.station_id} has no open transmit inhibit")
    record = client.get(path, headers=world.kasa.auth()).json()
    assert record["open"] is None and [i["id"] for i in record["history"]] == [raised.json()["id"]]
    raised_again = client.post(path, json={"reason": "again"}, headers=world.kasa.auth())
    newest = client.get(path, params={"limit": 1}, headers=world.kasa.auth()).json()
    assert newest["open"]["id"] == raised_again.json()["id"] and [i["id"] for i in newest["history"]] == [
        raised_again.json()["id"]]


def test_the_audit_trail_shows_payloads_to_the_operator_hashes_to_the_owner_and_nothing_to_others(client, app,
                                                                                                     world):
    assert license_(client, world).status_code == 201
    client.patch(f"/policies/{policy_id(app, world)}", json={"uplink_allowed": True}, headers=world.kasa.auth())
    booked = book_uplink(client, app, world)
    assert booked.status_code == 201, booked.text
    contact_id = booked.json()["id"]
    with session_scope(app.state.session_factory) as session:
        contact = session.get(Contact, contact_id)
        record_uplink_frame(session, contact, b"\x01\x02PING", sent_at=contact.start_time + timedelta(seconds=3))
        record_uplink_frame(session, contact, b"MODE 2", sent_at=contact.start_time + timedelta(seconds=4))
    path = f"/contacts/{contact_id}/uplink"
    later = client.get(path, params={"offset": 1, "limit": 1}, headers=world.aem.auth()).json()
    assert ([f["payload_hex"] for f in later["data"]], later["count"]) == ([b"MODE 2".hex()], 2)
    [mine] = client.get(path, params={"limit": 1}, headers=world.aem.auth()).json()["data"]
    assert (mine["payload_hex"], mine["length"], mine["org_id"]) == ("0102" + b"PING".hex(), 6, world.aem.id)
    [owners] = client.get(path, params={"limit": 1}, headers=world.kasa.auth(Role.VIEWER)).json()["data"]
    assert owners == {**mine, "payload_hex": None}
    assert client.get(path, headers=world.uni.auth()).status_code == 404
    assert client.get("/contacts/999999/uplink", headers=world.aem.auth()).status_code == 404


ODD = [
    ("POST", "/stations/{station}/licences", {"satellite_id": 1, **LICENCE, "reference": "nul\x00byte"}),
    ("POST", "/stations/{station}/licences", {"satellite_id": 2**31, **LICENCE}),
    ("POST", "/stations/{station}/licences", {"satellite_id": 1, **LICENCE, "valid_from": 1e300}),
    ("POST", "/stations/{station}/licences", {"satellite_id": 1, **LICENCE, "valid_until": "9999-12-31T23:59Z"}),
    ("POST", "/stations/99999999999999999999/licences", {"satellite_id": 1, **LICENCE}),
    ("POST", "/stations/{station}/transmit-inhibit", {"reason": "nul\x00byte"}),
    ("POST", "/stations/{station}/transmit-inhibit", {"reason": "x" * 5000}),
    ("GET", "/contacts/0/uplink", None),
    ("PATCH", "/policies/1", {"uplink_satellite_ids": [0]}),
    ("PATCH", "/policies/1", {"uplink_allowed": None}),
]


@pytest.mark.parametrize(("method", "path", "body"), ODD)
def test_odd_input_never_500(client, world, method, path, body):
    response = client.request(method, path.format(station=world.kasa.station_id), json=body,
                              headers=world.kasa.auth(Role.ADMIN))
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert {"loc", "msg", "type"} <= set(response.json()["detail"][0])
