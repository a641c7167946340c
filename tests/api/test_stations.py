"""Stations and antennas: create, list (paginated), read, add antennas."""

from __future__ import annotations

from groundshare.store import Role

DAEJEON_2 = {"name": "daejeon-2", "lat_deg": 36.37, "lon_deg": 127.36, "alt_m": 70.0, "min_elevation_deg": 5.0,
             "horizon_mask": [[0.0, 4.0], [110.0, 18.0]]}


def test_create_station(client, world):
    response = client.post("/stations", json=DAEJEON_2, headers=world.kasa.auth(Role.ADMIN))
    assert response.status_code == 201
    body = response.json()
    assert body["org_id"] == world.kasa.id
    assert {k: body[k] for k in DAEJEON_2} == DAEJEON_2
    assert body["created_at"].endswith("Z")
    read = client.get(f"/stations/{body['id']}", headers=world.kasa.auth(Role.VIEWER))
    assert read.status_code == 200
    assert read.json() == body


def test_duplicate_station_name_is_409(client, world):
    response = client.post("/stations", json={**DAEJEON_2, "name": "daejeon-1"}, headers=world.kasa.auth())
    assert response.status_code == 409
    assert response.json()["detail"][0]["msg"] == (
        f"your organisation already has a station named 'daejeon-1' (station {world.kasa.station_id}); "
        "choose another name")
    # Another organisation may use the same name.
    assert client.post("/stations", json={**DAEJEON_2, "name": "daejeon-1"}, headers=world.uni.auth()).status_code \
        == 201


def test_list_stations_is_paginated(client, world):
    for i in range(5):
        client.post("/stations", json={**DAEJEON_2, "name": f"extra-{i}"}, headers=world.uni.auth())
    first = client.get("/stations", params={"limit": 2}, headers=world.uni.auth()).json()
    rest = client.get("/stations", params={"offset": 2, "limit": 100}, headers=world.uni.auth()).json()
    assert first["count"] == rest["count"] == 6
    assert len(first["data"]) == 2 and len(rest["data"]) == 4
    ids = [s["id"] for s in first["data"] + rest["data"]]
    assert ids == sorted(ids) and len(set(ids)) == 6


def test_add_antenna(client, world):
    body = {"name": "x-dish", "band": "x", "setup_s": 90.0, "turnaround_s": 30.0, "g_over_t_dbk": 20.5,
            "eirp_dbw": 50.0, "az_slew_deg_s": 5.0, "el_slew_deg_s": 3.0}
    response = client.post(f"/stations/{world.kasa.station_id}/antennas", json=body, headers=world.kasa.auth())
    assert response.status_code == 201
    assert response.json() == {**body, "id": response.json()["id"], "station_id": world.kasa.station_id}
    listed = client.get(f"/stations/{world.kasa.station_id}/antennas", headers=world.kasa.auth()).json()
    assert [a["name"] for a in listed["data"]] == ["uhf", "dish", "x-dish"]
    again = client.post(f"/stations/{world.kasa.station_id}/antennas", json=body, headers=world.kasa.auth())
    assert again.status_code == 409
