"""Tenancy matrix: own / partner-shared / foreign, for each role and resource.

A foreign object answers 404 with the same message as a missing one (never 403 or 200);
a visible object that is not one's own refuses writes with 403.
"""

from __future__ import annotations

import pytest

from groundshare.store import Role
from tests.support.worlds import give_elements, next_pass

# (reader, path built from the world, status): kasa shares its "uhf" antenna (and so its station) with aem.
READS = [
    ("kasa", "/stations/{kasa.station_id}", 200),  # own
    ("aem", "/stations/{kasa.station_id}", 200),  # partner-shared
    ("uni", "/stations/{kasa.station_id}", 404),  # foreign
    ("kasa", "/stations/{aem.station_id}", 404),  # sharing is one way
    ("uni", "/stations/{kasa.station_id}/antennas", 404),
    ("kasa", "/satellites/{kasa.satellite_id}", 200),  # own private
    ("aem", "/satellites/{kasa.satellite_id}", 404),  # partner's private
    ("uni", "/satellites/{kasa.satellite_id}", 404),  # foreign private
    ("uni", "/satellites/{aem.satellite_id}", 200),  # public
    ("kasa", "/stations/{kasa.station_id}/antennas/{kasa.unshared_antenna_id}", 200),  # own antenna
    ("aem", "/stations/{kasa.station_id}/antennas/{kasa.antenna_id}", 200),  # partner-shared antenna
    ("uni", "/stations/{kasa.station_id}/antennas/{kasa.antenna_id}", 404),  # foreign: its station is not visible
    ("uni", "/orgs", 200),  # names and kinds of organisations are not secret
]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("reader", "path", "expected"), READS)
def test_read_matrix(client, world, role, reader, path, expected):
    response = client.get(path.format(kasa=world.kasa, aem=world.aem), headers=getattr(world, reader).auth(role))
    assert response.status_code == expected, response.text
    if expected == 404:
        kind, row_id = path.format(kasa=world.kasa, aem=world.aem).split("/")[1:3]
        assert response.json()["detail"][0]["msg"] == (
            f"{kind[:-1]} {row_id} does not exist or is not shared with your organisation")


def test_foreign_and_missing_look_the_same(client, world):
    foreign = client.get(f"/stations/{world.uni.station_id}", headers=world.kasa.auth())
    missing = client.get("/stations/999999", headers=world.kasa.auth())
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["detail"][0]["type"] == missing.json()["detail"][0]["type"] == "not_found"


@pytest.mark.parametrize("reader", ["kasa", "aem", "uni"])
def test_lists_hold_only_visible_rows(client, world, reader):
    expected_stations = {"kasa": {"daejeon-1"}, "aem": {"daejeon-1", "chetumal"}, "uni": {"santiago"}}[reader]
    expected_norad = {"kasa": {40001, 49263}, "aem": {49263}, "uni": {40003, 49263}}[reader]
    headers = getattr(world, reader).auth(Role.VIEWER)
    stations = client.get("/stations", headers=headers).json()
    assert {s["name"] for s in stations["data"]} == expected_stations
    assert stations["count"] == len(expected_stations)
    satellites = client.get("/satellites", headers=headers).json()
    assert {s["norad_id"] for s in satellites["data"]} == expected_norad


def test_partner_sees_only_shared_antennas(client, world):
    listed = client.get(f"/stations/{world.kasa.station_id}/antennas", headers=world.aem.auth()).json()
    assert [a["name"] for a in listed["data"]] == ["uhf"]


# (booker, antenna, satellite, status)
BOOKINGS = [
    ("aem", "kasa.antenna_id", "aem.satellite_id", 201),  # shared antenna
    ("aem", "kasa.unshared_antenna_id", "aem.satellite_id", 404),  # partner's antenna not shared
    ("uni", "kasa.antenna_id", "uni.satellite_id", 404),  # foreign antenna
    ("aem", "kasa.antenna_id", "kasa.satellite_id", 404),  # partner's private satellite
    ("uni", "uni.antenna_id", "aem.satellite_id", 201),  # own antenna, public satellite
]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR])
@pytest.mark.parametrize(("booker", "antenna", "satellite", "expected"), BOOKINGS)
def test_booking_matrix(client, app, world, role, booker, antenna, satellite, expected):
    def resolve(ref: str) -> int:
        org, attr = ref.split(".")
        return getattr(getattr(world, org), attr)

    body = {"antenna_id": resolve(antenna), "satellite_id": resolve(satellite), "start": "2030-01-01T00:00Z",
            "end": "2030-01-01T00:05Z"}
    if satellite.startswith(f"{booker}."):
        body["allow_outside_pass"] = True  # its operator may; the world's satellites have no element sets
    elif expected == 201:  # another's satellite: a real pass over the booker's station
        station_id = getattr(world, booker).station_id
        p = next_pass(app, give_elements(app, resolve(satellite)), station_id)
        body.update(start=p.aos.isoformat(), end=p.los.isoformat())
    response = client.post("/contacts", json=body, headers=getattr(world, booker).auth(role))
    assert response.status_code == expected, response.text


def test_antennas_only_on_own_station(client, world):
    body = {"name": "new", "band": "s"}
    partner = client.post(f"/stations/{world.kasa.station_id}/antennas", json=body, headers=world.aem.auth())
    assert partner.status_code == 403
    assert partner.json()["detail"][0]["msg"] == (
        f"station {world.kasa.station_id} belongs to organisation {world.kasa.id}; only its owner may add "
        "antennas to it")
    foreign = client.post(f"/stations/{world.kasa.station_id}/antennas", json=body, headers=world.uni.auth())
    assert foreign.status_code == 404


def test_foreign_contact_cannot_be_cancelled(client, world):
    body = {"antenna_id": world.uni.antenna_id, "satellite_id": world.uni.satellite_id,
            "start": "2030-01-01T00:00Z", "end": "2030-01-01T00:05Z", "allow_outside_pass": True}
    contact = client.post("/contacts", json=body, headers=world.uni.auth()).json()
    response = client.post(f"/contacts/{contact['id']}/cancel", headers=world.kasa.auth(Role.ADMIN))
    assert response.status_code == 404
    assert client.get("/contacts", headers=world.uni.auth()).json()["data"][0]["status"] == "scheduled"


@pytest.mark.parametrize("reader", ["kasa", "aem", "uni"])
def test_policy_and_request_lists_hold_only_visible_rows(client, world, reader):
    for org in (world.kasa, world.aem, world.uni):
        body = {"satellite_id": world.aem.satellite_id, "window_start": "2030-01-01T00:00Z",
                "window_end": "2030-01-02T00:00Z"}
        assert client.post("/requests", json=body, headers=org.auth()).status_code == 201
    headers = getattr(world, reader).auth(Role.VIEWER)
    requests = client.get("/requests", headers=headers).json()
    assert requests["count"] == 1 and requests["data"][0]["org_id"] == getattr(world, reader).id
    policies = client.get("/policies", headers=headers).json()  # the world's one policy: kasa -> aem
    assert policies["count"] == {"kasa": 1, "aem": 1, "uni": 0}[reader]
