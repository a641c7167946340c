"""Booking opportunities: GET /satellites/{id}/opportunities lists every pass over every antenna the caller may book.

In the test world kasa shares its UHF antenna with aem (bands ["uhf"], 10 h a week) and keeps
its S-band dish to itself; uni shares nothing and is granted nothing.
"""

from __future__ import annotations

from datetime import timedelta

from groundshare.timeutil import parse_utc
from tests.support.shipped import CUBESAT_START, CUBESAT_START_Z
from tests.support.worlds import WORLD_NOW

RADIO = {"downlink_frequency_hz": 437.2e6, "downlink_eirp_dbw": 0.0, "data_rate_bps": 9600.0}


def opportunities(client, org, satellite_id, **params):
    response = client.get(f"/satellites/{satellite_id}/opportunities",
                          params={"start": CUBESAT_START_Z, "hours": 24, **params}, headers=org.auth())
    assert response.status_code == 200, response.text
    return response.json()


def key(row):
    return row["aos"], row["antenna_id"]


def set_g_over_t(client, org, g_over_t_dbk):
    response = client.patch(f"/stations/{org.station_id}/antennas/{org.antenna_id}",
                            json={"g_over_t_dbk": g_over_t_dbk}, headers=org.auth())
    assert response.status_code == 200, response.text


def test_passes_over_own_antennas_and_those_a_policy_shares(client, world, elements):
    body = opportunities(client, world.aem, world.aem.satellite_id)
    rows = body["data"]
    assert body["count"] == len(rows) > 0
    assert {r["antenna_id"] for r in rows} == {world.aem.antenna_id, world.kasa.antenna_id}
    [policy] = client.get("/policies", headers=world.aem.auth()).json()["data"]
    for row in rows:
        if row["antenna_id"] == world.kasa.antenna_id:
            assert (row["policy_id"], row["owner_org_id"], row["station_id"]) == (
                policy["id"], world.kasa.id, world.kasa.station_id)
        else:
            assert (row["policy_id"], row["owner_org_id"], row["station_name"]) == (None, world.aem.id, "chetumal")
        assert row["aos"] < row["tca"] < row["los"] and row["duration_s"] > 0 and row["max_elevation_deg"] > 0
        assert row["element_set_id"] > 0 and row["element_state"] in ("fresh", "stale", "expired")
        assert row["min_margin_db"] is None and row["data_volume_bytes"] is None  # no radio parameters
    assert [r["aos"] for r in rows] == sorted(r["aos"] for r in rows)
    # The same passes as the satellite's passes over those stations.
    passes = client.get(f"/satellites/{world.aem.satellite_id}/passes", params={"start": CUBESAT_START_Z, "hours": 24},
                        headers=world.aem.auth()).json()["data"]
    assert sorted(r["aos"] for r in rows) == sorted(p["aos"] for p in passes)
    # Without the policy, kasa's antenna is no longer aem's to book.
    assert client.delete(f"/policies/{policy['id']}", headers=world.kasa.auth()).status_code == 204
    after = opportunities(client, world.aem, world.aem.satellite_id)["data"]
    assert {r["antenna_id"] for r in after} == {world.aem.antenna_id}


def test_a_partner_without_a_policy_sees_only_its_own_antennas(client, world, elements):
    rows = opportunities(client, world.uni, world.aem.satellite_id)["data"]  # aem's satellite is public
    assert rows and {r["antenna_id"] for r in rows} == {world.uni.antenna_id}
    kasa_rows = opportunities(client, world.kasa, world.aem.satellite_id)["data"]
    assert {r["antenna_id"] for r in kasa_rows} <= {world.kasa.antenna_id, world.kasa.unshared_antenna_id}
    assert all(r["policy_id"] is None for r in kasa_rows)
    # Two antennas of one station: one pass, a row on each.
    by_aos = {}
    for r in kasa_rows:
        by_aos.setdefault(r["aos"], set()).add(r["antenna_id"])
    assert all(ids == {world.kasa.antenna_id, world.kasa.unshared_antenna_id} for ids in by_aos.values())


def test_data_volume_needs_the_radio_parameters_and_follows_the_margin(client, world, elements):
    satellite = f"/satellites/{world.aem.satellite_id}"
    assert client.patch(satellite, json=RADIO, headers=world.aem.auth()).status_code == 200
    # The satellite's radio alone is not enough: the antennas' G/T is unknown.
    rows = opportunities(client, world.aem, world.aem.satellite_id)["data"]
    assert all(r["data_volume_bytes"] is None and r["max_margin_db"] is None for r in rows)
    set_g_over_t(client, world.aem, 60.0)  # a huge dish: the link closes over the whole pass
    rows = opportunities(client, world.aem, world.aem.satellite_id)["data"]
    own = [r for r in rows if r["antenna_id"] == world.aem.antenna_id]
    shared = [r for r in rows if r["antenna_id"] == world.kasa.antenna_id]
    assert own and all(r["data_volume_bytes"] is None for r in shared)  # kasa's antenna has no G/T
    for r in own:
        assert 0 <= r["min_margin_db"] <= r["max_margin_db"]
        assert abs(r["data_volume_bytes"] - r["duration_s"] * RADIO["data_rate_bps"] / 8) <= 2  # duration to 1 ms
    set_g_over_t(client, world.aem, -60.0)  # nothing closes
    low = [r for r in opportunities(client, world.aem, world.aem.satellite_id)["data"]
           if r["antenna_id"] == world.aem.antenna_id]
    assert all(r["data_volume_bytes"] == 0 and r["max_margin_db"] < 0 for r in low)
    # The margin is the same link 120 dB lower.
    for high, r in zip(own, low, strict=True):
        assert abs(high["min_margin_db"] - r["min_margin_db"] - 120.0) < 1e-6 or r["min_margin_db"] is None
    # A G/T where the link closes near the top of the pass only: some bytes, fewer than the whole pass.
    top = own[0]
    set_g_over_t(client, world.aem, 60.0 - (top["max_margin_db"] + top["min_margin_db"]) / 2)
    middle = next(r for r in opportunities(client, world.aem, world.aem.satellite_id)["data"]
                  if r["aos"] == top["aos"] and r["antenna_id"] == world.aem.antenna_id)
    assert 0 < middle["data_volume_bytes"] < top["data_volume_bytes"]
    # Without the satellite's rate there is no volume again.
    assert client.patch(satellite, json={"data_rate_bps": None}, headers=world.aem.auth()).status_code == 200
    assert all(r["data_volume_bytes"] is None for r in opportunities(client, world.aem, world.aem.satellite_id)["data"])


def test_bookable_and_booked(client, world, elements):
    start = WORLD_NOW - timedelta(hours=12)  # the world's clock is WORLD_NOW: the first half is in the past
    rows = opportunities(client, world.aem, world.aem.satellite_id, start=start.isoformat())["data"]
    assert {r["bookable"] for r in rows} == {True, False}
    assert all(r["bookable"] == (parse_utc(r["aos"]) > WORLD_NOW) for r in rows)
    later = opportunities(client, world.aem, world.aem.satellite_id)["data"]
    target = next(r for r in later if r["antenna_id"] == world.kasa.antenna_id and r["bookable"])
    assert target["booked_contact_id"] is None
    booked = client.post("/contacts", json={"antenna_id": target["antenna_id"], "satellite_id": world.aem.satellite_id,
                                            "start": target["aos"], "end": target["los"]}, headers=world.aem.auth())
    assert booked.status_code == 201, booked.text
    contact_id = booked.json()["id"]
    again = opportunities(client, world.aem, world.aem.satellite_id)["data"]
    assert [r["booked_contact_id"] for r in again if r["booked_contact_id"] is not None] == [contact_id]
    # The antenna's owner sees the contact on its antenna; a stranger to it does not.
    kasa_rows = opportunities(client, world.kasa, world.aem.satellite_id)["data"]
    assert contact_id in {r["booked_contact_id"] for r in kasa_rows}
    assert all(r["booked_contact_id"] is None for r in opportunities(client, world.uni, world.aem.satellite_id)["data"])
    # Cancelled, it is no longer in the way.
    assert client.post(f"/contacts/{contact_id}/cancel", headers=world.aem.auth()).status_code == 200
    assert all(r["booked_contact_id"] is None
               for r in opportunities(client, world.aem, world.aem.satellite_id)["data"])


def test_paging_and_bounds(client, world, elements):
    whole = opportunities(client, world.aem, world.aem.satellite_id, hours=48)
    assert whole["count"] == len(whole["data"]) > 2
    page = opportunities(client, world.aem, world.aem.satellite_id, hours=48, offset=1, limit=2)
    assert page["count"] == whole["count"]
    assert [key(r) for r in page["data"]] == [key(r) for r in whole["data"][1:3]]
    response = client.get(f"/satellites/{world.aem.satellite_id}/opportunities",
                          params={"start": CUBESAT_START_Z, "hours": 73}, headers=world.aem.auth())
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "hours"]
    # kasa's satellite is private: 404 to aem, as if it did not exist.
    hidden = client.get(f"/satellites/{world.kasa.satellite_id}/opportunities", params={"start": CUBESAT_START_Z},
                        headers=world.aem.auth())
    assert hidden.status_code == 404


def test_a_satellite_without_elements_is_422(client, world):
    response = client.get(f"/satellites/{world.aem.satellite_id}/opportunities",
                          params={"start": (CUBESAT_START + timedelta(hours=1)).isoformat()},
                          headers=world.aem.auth())
    assert response.status_code == 422
    assert "has no element sets" in response.json()["detail"][0]["msg"]
