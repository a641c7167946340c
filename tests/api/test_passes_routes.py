"""Pass queries: GET /stations/{id}/passes and /satellites/{id}/passes, through the pass engine."""

from __future__ import annotations

import pytest

from groundshare.passes import find_passes
from groundshare.store import Station, session_scope
from groundshare.units import DAY_S, HOUR_S
from tests.support.shipped import CUBESAT_START, CUBESAT_START_Z
from tests.support.worlds import site_of

START = CUBESAT_START_Z
START_DT = CUBESAT_START
ELEMENT_KEYS = {"element_set_id", "element_epoch", "element_age_s", "element_state"}


def engine_fields(passes: list[dict]) -> list[dict]:
    """Return the passes without the element-set fields the API adds to the engine's."""
    return [{k: v for k, v in p.items() if k not in ELEMENT_KEYS} for p in passes]


def test_station_passes_match_the_engine(client, app, world, elements):
    response = client.get(f"/stations/{world.kasa.station_id}/passes", params={"start": START, "hours": 24},
                          headers=world.kasa.auth())
    assert response.status_code == 200, response.text
    body = response.json()
    # kasa sees its own satellite and aem's public one, not uni's private one.
    expected = find_passes([elements["aem"], elements["kasa"]], [site_of(app, world.kasa.station_id)],
                           start=START_DT, duration_s=DAY_S, workers=1).to_records()
    assert expected
    assert engine_fields(body["data"]) == expected
    assert body["count"] == len(expected)
    assert set(body["data"][0]) == {"norad_id", "name", "station", "aos", "tca", "los", "max_elevation_deg",
                                    "aos_azimuth_deg", "los_azimuth_deg", "duration_s", "clipped", *ELEMENT_KEYS}


def test_station_passes_with_min_elevation(client, app, world, elements):
    params = {"start": START, "hours": 12, "min_elevation_deg": 30}
    body = client.get(f"/stations/{world.aem.station_id}/passes", params=params, headers=world.aem.auth()).json()
    expected = find_passes([elements["aem"]], [site_of(app, world.aem.station_id)], start=START_DT,
                           duration_s=12 * HOUR_S, min_elevation_deg=30.0, workers=1).to_records()
    assert engine_fields(body["data"]) == expected
    assert all(p["max_elevation_deg"] >= 30 for p in body["data"])


def test_partner_sees_passes_over_a_shared_station(client, world, elements):
    response = client.get(f"/stations/{world.kasa.station_id}/passes", params={"start": START},
                          headers=world.aem.auth())
    assert response.status_code == 200
    assert {p["norad_id"] for p in response.json()["data"]} <= {elements["aem"].norad_id}


def test_satellite_passes_over_every_visible_station(client, app, world, elements):
    response = client.get(f"/satellites/{world.aem.satellite_id}/passes", params={"start": START, "hours": 24},
                          headers=world.uni.auth())
    assert response.status_code == 200, response.text
    # uni sees only its own station (kasa shares nothing with it).
    expected = find_passes([elements["aem"]], [site_of(app, world.uni.station_id)], start=START_DT,
                           duration_s=DAY_S, workers=1).to_records()
    assert engine_fields(response.json()["data"]) == expected
    # aem sees its own station and kasa's shared one.
    body = client.get(f"/satellites/{world.aem.satellite_id}/passes", params={"start": START, "hours": 24},
                      headers=world.aem.auth()).json()
    expected = find_passes([elements["aem"]], [site_of(app, world.kasa.station_id), site_of(app, world.aem.station_id)],
                           start=START_DT, duration_s=DAY_S, workers=1).to_records()
    assert sorted(engine_fields(body["data"]), key=lambda p: (p["aos"], p["station"])) == sorted(
        expected, key=lambda p: (p["aos"], p["station"]))
    assert {p["station"] for p in body["data"]} == {"daejeon-1", "chetumal"}


def test_each_pass_names_its_element_set_and_age(client, world, elements):
    """The world's network clock is 2025-11-06T00:00Z; aem's set (CUTE-1) is dated 2025-11-05T23:40Z: fresh."""
    body = client.get(f"/satellites/{world.aem.satellite_id}/passes", params={"start": START, "hours": 24},
                      headers=world.aem.auth()).json()
    satellite = client.get(f"/satellites/{world.aem.satellite_id}", headers=world.aem.auth()).json()
    in_force = satellite["elements_in_force"]
    assert in_force["epoch"].startswith("2025-11-05T23:40:09") and in_force["state"] == "fresh"
    assert body["data"] and {(p["element_set_id"], p["element_epoch"], p["element_state"]) for p in body["data"]} == {
        (in_force["id"], "2025-11-05T23:40:09.782Z", "fresh")}
    assert all(abs(p["element_age_s"] - in_force["age_s"]) < 60 for p in body["data"])


def test_foreign_station_and_private_satellite_are_404(client, world, elements):
    response = client.get(f"/stations/{world.uni.station_id}/passes", params={"start": START},
                          headers=world.kasa.auth())
    assert response.status_code == 404
    assert response.json()["detail"][0]["msg"] == (
        f"station {world.uni.station_id} does not exist or is not shared with your organisation")
    response = client.get(f"/satellites/{world.uni.satellite_id}/passes", params={"start": START},
                          headers=world.kasa.auth())
    assert response.status_code == 404


def test_satellite_without_elements_is_422(client, world):
    response = client.get(f"/satellites/{world.aem.satellite_id}/passes", params={"start": START},
                          headers=world.aem.auth())
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["path", "satellite_id"]
    assert error["msg"].startswith(f"satellite {world.aem.satellite_id} (NORAD 49263) has no element sets")


def test_station_without_visible_elements_has_no_passes(client, world):
    response = client.get(f"/stations/{world.kasa.station_id}/passes", params={"start": START},
                          headers=world.kasa.auth())
    assert response.json() == {"data": [], "count": 0, "warnings": []}


@pytest.mark.parametrize("path", ["/stations/{station}/passes", "/satellites/{satellite}/passes"])
@pytest.mark.parametrize(("params", "field"), [
    ({"start": "2025-11-07T00:00:00"}, "start"),
    ({}, "start"),
    ({"start": START, "hours": 169}, "hours"),
    ({"start": START, "hours": 0}, "hours"),
    ({"start": START, "hours": "many"}, "hours"),
    ({"start": START, "min_elevation_deg": 90}, "min_elevation_deg"),
])
def test_bad_query_is_422_naming_the_field(client, world, path, params, field):
    url = path.format(station=world.aem.station_id, satellite=world.aem.satellite_id)
    response = client.get(url, params=params, headers=world.aem.auth())
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", field]


def test_stations_sharing_a_name_are_told_apart(client, app, world, elements):
    with session_scope(app.state.session_factory) as session:
        session.get(Station, world.aem.station_id).name = "daejeon-1"  # the same name as kasa's station
    body = client.get(f"/satellites/{world.aem.satellite_id}/passes", params={"start": START, "hours": 24},
                      headers=world.aem.auth()).json()
    assert {p["station"] for p in body["data"]} == {f"daejeon-1 (station {world.kasa.station_id})",
                                                    f"daejeon-1 (station {world.aem.station_id})"}
