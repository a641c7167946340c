"""Satellites and element-set uploads."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from groundshare.orbits import parse_elements
from groundshare.store import Role
from groundshare.store.elements import element_text
from tests.support.shipped import NEXUS_TLE
from tests.support.worlds import give_elements


def nexus_omm(days_earlier: float) -> str:
    """Return NEXUS's shipped set as OMM JSON, its epoch moved ``days_earlier`` days back."""
    nexus = parse_elements(NEXUS_TLE).elements[0]
    return element_text(dataclasses.replace(nexus, epoch=nexus.epoch - timedelta(days=days_earlier), line1=None,
                                            line2=None))[0]


def test_create_and_read_satellite(client, world):
    body = {"norad_id": 57000, "name": "KASA-2", "is_public": True}
    response = client.post("/satellites", json=body, headers=world.kasa.auth(Role.ADMIN))
    assert response.status_code == 201
    created = response.json()
    assert {k: created[k] for k in body} == body and created["org_id"] == world.kasa.id
    assert client.get(f"/satellites/{created['id']}", headers=world.uni.auth()).json() == created


def test_a_norad_number_is_registered_once_per_organisation(client, world):
    again = client.post("/satellites", json={"norad_id": world.kasa.norad_id, "name": "again"},
                        headers=world.kasa.auth())
    assert again.status_code == 409
    assert again.json()["detail"][0]["msg"].startswith(
        f"your organisation already registered NORAD {world.kasa.norad_id} as satellite {world.kasa.satellite_id}")


def test_another_organisations_private_norad_number_is_no_oracle_and_no_lock(client, app, world):
    """Registering a number kasa holds privately neither reveals it nor locks anyone out: it is uni's own satellite."""
    mine = client.post("/satellites", json={"norad_id": world.kasa.norad_id, "name": "UNI-COPY"},
                       headers=world.uni.auth())
    assert mine.status_code == 201, mine.text
    copy = mine.json()
    assert copy["org_id"] == world.uni.id and copy["id"] != world.kasa.satellite_id
    # Each has its own element sets.
    give_elements(app, world.kasa.satellite_id)  # kasa's NORAD 40001, from the shipped catalogue
    assert client.get(f"/satellites/{copy['id']}/passes", params={"start": "2026-03-19T00:00Z"},
                      headers=world.uni.auth()).status_code == 422  # uni's copy has none
    assert client.get(f"/satellites/{world.kasa.satellite_id}/passes", params={"start": "2026-03-19T00:00Z"},
                      headers=world.kasa.auth()).json()["count"] > 0
    # A public satellite registered again by a partner: both are listed to a third, each with its owner.
    public = client.post("/satellites", json={"norad_id": world.aem.norad_id, "name": "KASA-TRACKS-IT",
                                              "is_public": True}, headers=world.kasa.auth())
    assert public.status_code == 201, public.text
    listed = client.get("/satellites", headers=world.uni.auth()).json()["data"]
    assert sorted((s["norad_id"], s["org_id"]) for s in listed if s["norad_id"] == world.aem.norad_id) == sorted(
        [(world.aem.norad_id, world.aem.id), (world.aem.norad_id, world.kasa.id)])


def test_list_satellites_own_and_public(client, world):
    listed = client.get("/satellites", headers=world.kasa.auth()).json()
    assert listed["count"] == 2
    assert {s["norad_id"] for s in listed["data"]} == {40001, 49263}


def test_upload_tle(client, world):
    response = client.post(f"/satellites/{world.aem.satellite_id}/elements", content=NEXUS_TLE,
                           headers={**world.aem.auth(), "Content-Type": "text/plain"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["count"] == 1
    assert body["data"][0]["epoch"].startswith("2026-03-19T04:38:01")
    assert body["data"][0]["format"] == "tle"


def test_upload_bad_checksum_names_the_line(client, world):
    bad = NEXUS_TLE.replace("0  9995", "0  9997")
    response = client.post(f"/satellites/{world.aem.satellite_id}/elements", content=bad,
                           headers={**world.aem.auth(), "Content-Type": "text/plain"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert "line 2" in error["loc"]
    assert "request body, line 2: TLE line 1 checksum is 5 but the line ends in 7" in error["msg"]


def test_upload_for_another_norad_is_422(client, world):
    response = client.post(f"/satellites/{world.kasa.satellite_id}/elements", content=NEXUS_TLE,
                           headers={**world.kasa.auth(), "Content-Type": "text/plain"})
    assert response.status_code == 422
    assert "is for NORAD 49263, but satellite" in response.json()["detail"][0]["msg"]


def test_upload_to_partners_public_satellite_is_403(client, world):
    response = client.post(f"/satellites/{world.aem.satellite_id}/elements", content=NEXUS_TLE,
                           headers={**world.kasa.auth(), "Content-Type": "text/plain"})
    assert response.status_code == 403
    assert response.json()["detail"][0]["msg"] == (
        f"satellite {world.aem.satellite_id} belongs to organisation {world.aem.id}; only its owner may upload "
        "its element sets")


def test_uplink_frequency_round_trip(client, world):
    body = {"norad_id": 57001, "name": "KASA-3", "uplink_frequency_hz": 145.85e6}
    created = client.post("/satellites", json=body, headers=world.kasa.auth())
    assert created.status_code == 201, created.text
    satellite_id = created.json()["id"]
    assert created.json()["uplink_frequency_hz"] == 145.85e6
    assert client.get(f"/satellites/{satellite_id}", headers=world.kasa.auth()).json()["uplink_frequency_hz"] == \
        145.85e6
    patched = client.patch(f"/satellites/{satellite_id}", json={"uplink_frequency_hz": 2.0251e9},
                           headers=world.kasa.auth())
    assert patched.status_code == 200 and patched.json()["uplink_frequency_hz"] == 2.0251e9
    cleared = client.patch(f"/satellites/{satellite_id}", json={"uplink_frequency_hz": None}, headers=world.kasa.auth())
    assert cleared.status_code == 200 and cleared.json()["uplink_frequency_hz"] is None
    assert client.get(f"/satellites/{satellite_id}", headers=world.kasa.auth()).json()["uplink_frequency_hz"] is None


@pytest.mark.parametrize("value", [0, -145e6, 1e5, 4e11, "fast"])
def test_bad_uplink_frequency_is_422(client, world, value):
    response = client.post("/satellites", json={"norad_id": 57002, "name": "x", "uplink_frequency_hz": value},
                           headers=world.kasa.auth())
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "uplink_frequency_hz"]
    response = client.patch(f"/satellites/{world.kasa.satellite_id}", json={"uplink_frequency_hz": value},
                            headers=world.kasa.auth())
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "uplink_frequency_hz"]


def test_element_sets_have_a_quota_per_organisation_and_old_ones_can_be_pruned(client, app, world):
    saved = app.state.settings
    app.state.settings = dataclasses.replace(saved, max_element_sets_per_org=2)
    path = f"/satellites/{world.aem.satellite_id}/elements"
    headers = {**world.aem.auth(), "Content-Type": "text/plain"}
    try:
        assert [client.post(path, content=text, headers=headers).status_code
                for text in (NEXUS_TLE, nexus_omm(1))] == [201, 201]
        over = client.post(path, content=nexus_omm(2), headers=headers)
        assert over.status_code == 409, over.text
        assert over.json()["detail"][0]["msg"].startswith(
            "your organisation stores 2 element sets; 1 more would pass its quota of 2")
        # Another organisation's quota is its own.
        kasa = client.post("/satellites", json={"norad_id": 49263, "name": "KASA-CUTE"}, headers=world.kasa.auth())
        assert client.post(f"/satellites/{kasa.json()['id']}/elements", content=NEXUS_TLE,
                           headers={**world.kasa.auth(), "Content-Type": "text/plain"}).status_code == 201
        # Pruning keeps the one in force (the newest upload), and frees the quota; only the operator may prune.
        assert client.delete(path, params={"before": "2027-01-01T00:00Z"}, headers=world.kasa.auth()).status_code == 403
        pruned = client.delete(path, params={"before": "2027-01-01T00:00Z"}, headers=world.aem.auth())
        assert pruned.status_code == 200 and pruned.json() == {"deleted": 1}
        assert client.get(f"{path.removesuffix('/elements')}/passes", params={"start": "2026-03-19T00:00Z"},
                          headers=world.aem.auth()).json()["count"] > 0  # the newest is still there
        assert client.post(path, content=nexus_omm(3), headers=headers).status_code == 201
    finally:
        app.state.settings = saved
