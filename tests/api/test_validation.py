"""Bad input answers 422 naming the field in FastAPI's shape, and never a 500."""

from __future__ import annotations

import pytest

from groundshare.store import Role

GOOD_CONTACT = {"antenna_id": 1, "satellite_id": 1, "start": "2030-01-01T00:00Z", "end": "2030-01-01T00:05Z",
                "allow_outside_pass": True}


def post_contact(client, world, **changes):
    body = {**GOOD_CONTACT, "antenna_id": world.kasa.antenna_id, "satellite_id": world.kasa.satellite_id, **changes}
    body = {k: v for k, v in body.items() if v is not ...}
    return client.post("/contacts", json=body, headers=world.kasa.auth())


def only_error(response) -> dict:
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    return error


def test_naive_start_is_422_naming_the_field(client, world):
    error = only_error(post_contact(client, world, start="2030-01-01T00:00:00"))
    assert error["loc"] == ["body", "start"]
    assert error["msg"] == ("Value error, start '2030-01-01T00:00:00' has no timezone; groundshare works in UTC: "
                            "add 'Z' (e.g. 2030-01-01T00:00:00Z) or an explicit offset")


def test_missing_field(client, world):
    error = only_error(post_contact(client, world, end=...))
    assert error["loc"] == ["body", "end"]
    assert error["type"] == "missing"


def test_end_before_start_names_end(client, world):
    error = only_error(post_contact(client, world, end="2029-12-31T23:00Z"))
    assert error["loc"] == ["body", "end"]
    assert error["msg"].startswith("end (2029-12-31T23:00:00.000Z) must be after start (2030-01-01T00:00:00.000Z)")


def test_naive_query_time_names_the_parameter(client, world):
    error = only_error(client.get("/contacts", params={"start": "2030-01-01T00:00"}, headers=world.kasa.auth()))
    assert error["loc"] == ["query", "start"]


def test_station_out_of_range(client, world):
    response = client.post("/stations", json={"name": "x", "lat_deg": 91, "lon_deg": 0}, headers=world.kasa.auth())
    assert only_error(response)["loc"] == ["body", "lat_deg"]


MALFORMED = [
    # (method, path, json body or raw text)
    ("POST", "/contacts", {**GOOD_CONTACT, "antenna_id": "abc"}),
    ("POST", "/contacts", {**GOOD_CONTACT, "antenna_id": 10**30}),
    ("POST", "/contacts", {**GOOD_CONTACT, "antenna_id": 2**31}),
    ("POST", "/contacts", {**GOOD_CONTACT, "antenna_id": 2**31 - 1}),
    ("POST", "/contacts", {**GOOD_CONTACT, "start": "9999-12-31T23:59:59Z", "end": "9999-12-31T23:59:59.9Z"}),
    ("POST", "/contacts", {**GOOD_CONTACT, "start": "0001-01-01T00:00Z"}),
    ("POST", "/contacts", {**GOOD_CONTACT, "start": 1e300}),
    ("POST", "/contacts", {**GOOD_CONTACT, "start": "yesterday"}),
    ("POST", "/contacts", {**GOOD_CONTACT, "start": ""}),
    ("POST", "/contacts", {**GOOD_CONTACT, "idempotency_key": "k" * 10_000}),
    ("POST", "/contacts", {**GOOD_CONTACT, "idempotency_key": ""}),
    ("POST", "/contacts", {**GOOD_CONTACT, "surprise": 1}),
    ("POST", "/contacts", [GOOD_CONTACT]),
    ("POST", "/contacts", "not json at all {"),
    ("POST", "/contacts", None),
    ("POST", "/stations", {"name": "x", "lat_deg": 1e308, "lon_deg": 0}),
    ("POST", "/stations", {"name": "x", "lat_deg": "north", "lon_deg": 0}),
    ("POST", "/stations", {"name": "", "lat_deg": 0, "lon_deg": 0}),
    ("POST", "/stations", {"name": "x" * 1000, "lat_deg": 0, "lon_deg": 0}),
    ("POST", "/stations", {"name": "x", "lat_deg": 0, "lon_deg": 0, "horizon_mask": [[0]]}),
    ("POST", "/stations", {"name": "x", "lat_deg": 0, "lon_deg": 0, "horizon_mask": "flat"}),
    ("POST", "/stations", {"name": "x", "lat_deg": 0, "lon_deg": 0, "alt_m": -1e9}),
    ("POST", "/stations/{station}/antennas", {"name": "x", "band": "z-band"}),
    ("POST", "/stations/{station}/antennas", {"name": "x", "band": "s", "turnaround_s": 1e308}),
    ("POST", "/stations/{station}/antennas", {"name": "x", "band": "s", "setup_s": -1}),
    ("POST", "/satellites", {"norad_id": 10**20, "name": "x"}),
    ("POST", "/satellites", {"norad_id": 0, "name": "x"}),
    ("POST", "/satellites", {"norad_id": 1.5, "name": "x"}),
    ("POST", "/satellites", {"norad_id": 5, "name": "x", "is_public": "maybe"}),
    ("POST", "/satellites/{satellite}/elements", "garbage\nmore garbage\n"),
    ("POST", "/satellites/{satellite}/elements", ""),
    ("POST", "/satellites/{satellite}/elements", "1 40001U\n2 40001\n"),
    ("POST", "/satellites/{satellite}/elements", "{}"),
    ("POST", "/satellites/{satellite}/elements", '[{"NORAD_CAT_ID": "x"}]'),
    ("POST", "/satellites/{satellite}/elements", "<omm><broken>"),
    ("POST", "/satellites/{satellite}/elements?fmt=yaml", "x"),
    ("GET", "/stations/99999999999999999999999", None),
    ("GET", "/stations/-1", None),
    ("GET", "/stations/abc", None),
    ("GET", "/stations?limit=0", None),
    ("GET", "/stations?limit=100000000000000000000", None),
    ("GET", "/stations?offset=-1", None),
    ("GET", "/contacts?station_id=99999999999999999999", None),
    ("GET", "/contacts?start=not-a-time", None),
    ("GET", "/contacts?start=2030-01-01T00:00Z&end=2020-01-01T00:00Z", None),
    ("POST", "/contacts/99999999999999999999/cancel", None),
]


@pytest.mark.parametrize(("method", "path", "body"), MALFORMED)
def test_malformed_requests_never_500(client, world, method, path, body):
    path = path.format(station=world.kasa.station_id, satellite=world.kasa.satellite_id)
    if isinstance(body, str):
        response = client.request(method, path, content=body, headers={**world.kasa.auth(Role.ADMIN),
                                                                       "Content-Type": "text/plain"})
    else:
        response = client.request(method, path, json=body, headers=world.kasa.auth(Role.ADMIN))
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        detail = response.json()["detail"]
        assert isinstance(detail, list) and detail
        assert {"loc", "msg", "type"} <= set(detail[0])


def test_invalid_utf8_elements_never_500(client, world):
    response = client.post(f"/satellites/{world.kasa.satellite_id}/elements", content=b"\xff\xfe\x00garbage",
                           headers={**world.kasa.auth(), "Content-Type": "text/plain"})
    assert response.status_code == 422
