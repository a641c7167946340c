"""Element-set sources and the orbit in force through the API; six-digit catalog numbers end to end."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import timedelta

from groundshare.orbits import parse_elements
from groundshare.store import Role
from groundshare.store.elements import element_text
from tests.support.shipped import NEXUS_TLE

NEXUS = parse_elements(NEXUS_TLE).elements[0]  # epoch 2026-03-19T04:38Z


def omm(norad_id: int, days_earlier: float = 0.0) -> str:
    """NEXUS's elements as one OMM JSON record of ``norad_id``, the epoch moved back ``days_earlier`` days."""
    moved = dataclasses.replace(NEXUS, norad_id=norad_id, epoch=NEXUS.epoch - timedelta(days=days_earlier),
                                line1=None, line2=None)
    return element_text(moved)[0]


def upload(client, org, satellite_id, text, status=201):
    response = client.post(f"/satellites/{satellite_id}/elements", content=text,
                           headers={**org.auth(), "Content-Type": "text/plain"})
    assert response.status_code == status, response.text
    return response.json()


def test_a_new_satellite_has_celestrak_by_catalog_number_and_no_orbit_yet(client, world):
    created = client.post("/satellites", json={"norad_id": 57000, "name": "KASA-2"}, headers=world.kasa.auth())
    assert created.status_code == 201, created.text
    assert created.json()["elements_in_force"] is None
    sources = client.get(f"/satellites/{created.json()['id']}/sources", headers=world.kasa.auth()).json()
    assert [(s["kind"], s["query_kind"], s["query_value"], s["priority"], s["enabled"], s["in_force"])
            for s in sources["data"]] == [("celestrak", "catnr", "57000", 50, True, False)]


def test_uploads_are_the_upload_source_and_the_listing_says_which_set_is_in_force(client, world):
    satellite_id = client.post("/satellites", json={"norad_id": 49263, "name": "NEXUS-K"},
                               headers=world.kasa.auth()).json()["id"]
    older = upload(client, world.kasa, satellite_id, omm(49263, days_earlier=2))["data"][0]
    newer = upload(client, world.kasa, satellite_id, NEXUS_TLE)["data"][0]
    again = upload(client, world.kasa, satellite_id, NEXUS_TLE)  # the same set: not stored twice
    assert [r["id"] for r in again["data"]] == [newer["id"]]
    assert (newer["source_kind"], newer["source"], older["format"], newer["format"]) == (
        "upload", "api upload", "json", "tle")
    listed = client.get(f"/satellites/{satellite_id}/elements", headers=world.uni.auth())
    assert listed.status_code == 404  # private satellite: not visible to others
    listed = client.get(f"/satellites/{satellite_id}/elements", headers=world.kasa.auth(Role.VIEWER)).json()
    assert listed["count"] == 2
    assert [(r["id"], r["in_force"], r["source_kind"]) for r in listed["data"]] == [
        (newer["id"], True, "upload"), (older["id"], False, "upload")]
    assert listed["data"][0]["fetched_at"] is not None
    satellite = client.get(f"/satellites/{satellite_id}", headers=world.kasa.auth()).json()
    assert satellite["elements_in_force"]["id"] == newer["id"]
    assert satellite["elements_in_force"]["source"] == "upload"
    # The world's clock (2025-11-06) is before the epoch: a negative age, fresh.
    assert satellite["elements_in_force"]["age_s"] < 0 and satellite["elements_in_force"]["state"] == "fresh"
    sources = client.get(f"/satellites/{satellite_id}/sources", headers=world.kasa.auth()).json()["data"]
    assert [(s["kind"], s["in_force"]) for s in sources] == [("upload", True), ("celestrak", False)]


def test_put_sources_reorders_disables_and_is_the_operators_alone(client, world):
    satellite_id = client.post("/satellites", json={"norad_id": 49263, "name": "NEXUS-K", "is_public": True},
                               headers=world.kasa.auth()).json()["id"]
    newer = upload(client, world.kasa, satellite_id, NEXUS_TLE)["data"][0]
    path = f"/satellites/{satellite_id}/sources"
    body = {"sources": [{"kind": "upload", "enabled": False},
                        {"kind": "supgp", "query_kind": "file", "query_value": "planet", "priority": 95}]}
    assert client.put(path, json=body, headers=world.aem.auth()).status_code == 403  # another organisation
    assert client.put(path, json=body, headers=world.kasa.auth(Role.VIEWER)).status_code == 403
    response = client.put(path, json=body, headers=world.kasa.auth())
    assert response.status_code == 200, response.text
    assert [(s["kind"], s["priority"], s["enabled"]) for s in response.json()["data"]] == [
        ("upload", 100, False), ("supgp", 95, True)]
    # The upload source is disabled: no orbit in force, and the stored set is still listed.
    assert client.get(f"/satellites/{satellite_id}", headers=world.kasa.auth()).json()["elements_in_force"] is None
    listed = client.get(f"/satellites/{satellite_id}/elements", headers=world.kasa.auth()).json()["data"]
    assert [(r["id"], r["in_force"]) for r in listed] == [(newer["id"], False)]
    passes = client.get(f"/satellites/{satellite_id}/passes", params={"start": "2026-03-19T06:00Z"},
                        headers=world.kasa.auth())
    assert passes.status_code == 422
    # Enabled again: in force again, and the change is an event the operator sees.
    response = client.put(path, json={"sources": [{"kind": "upload"}]}, headers=world.kasa.auth())
    assert [s["in_force"] for s in response.json()["data"]] == [True]
    kinds = [e["kind"] for e in client.get("/events", headers=world.kasa.auth()).json()["data"]]
    assert kinds.count("elements.updated") == 3  # the upload, the disabling, the enabling


def test_put_sources_names_the_bad_field(client, world):
    path = f"/satellites/{world.kasa.satellite_id}/sources"
    group = {"kind": "celestrak", "query_kind": "group", "query_value": "Bad Group!"}
    bad = client.put(path, json={"sources": [group]}, headers=world.kasa.auth())
    assert bad.status_code == 422
    [error] = bad.json()["detail"]
    assert error["msg"].startswith("sources[0].query_value: 'Bad Group!' is not a CelesTrak group")
    assert error["loc"] == ["body", "sources", 0, "query_value"]
    twice = client.put(path, json={"sources": [{"kind": "upload"}, {"kind": "upload"}]}, headers=world.kasa.auth())
    assert twice.status_code == 422 and "sources[1] repeats sources[0]" in twice.json()["detail"][0]["msg"]
    unknown = client.put(path, json={"sources": [{"kind": "nasa"}]}, headers=world.kasa.auth())
    assert unknown.status_code == 422


def test_a_six_digit_catalog_number_is_uploaded_booked_exported_and_scheduled(client, world):
    created = client.post("/satellites", json={"norad_id": 100123, "name": "SIX-DIGIT", "is_public": False},
                          headers=world.kasa.auth())
    assert created.status_code == 201, created.text
    satellite_id = created.json()["id"]
    stored = upload(client, world.kasa, satellite_id, omm(100123))["data"][0]
    assert stored["format"] == "json"
    assert upload(client, world.kasa, satellite_id, omm(100124), status=422)["detail"][0]["msg"].startswith(
        "request body: element set")
    passes = client.get(f"/satellites/{satellite_id}/passes", params={"start": "2026-03-19T06:00Z", "hours": 24},
                        headers=world.kasa.auth()).json()
    over_kasa = [p for p in passes["data"] if p["station"] == "daejeon-1" and p["duration_s"] > 120]
    assert over_kasa and {p["norad_id"] for p in passes["data"]} == {100123}
    assert over_kasa[0]["element_set_id"] == stored["id"]
    chosen = over_kasa[0]
    booked = client.post("/contacts", json={"antenna_id": world.kasa.antenna_id, "satellite_id": satellite_id,
                                            "start": chosen["aos"], "end": chosen["los"]}, headers=world.kasa.auth())
    assert booked.status_code == 201, booked.text
    contact_id = booked.json()["id"]
    window = {"start": "2026-03-19T00:00:00Z", "end": "2026-03-21T00:00:00Z"}
    exported = client.get("/exports/contacts.json", params=window, headers=world.kasa.auth()).json()["data"]
    assert [c["satellite_id"] for c in exported if c["id"] == contact_id] == [satellite_id]
    rows = list(csv.DictReader(io.StringIO(client.get("/exports/contacts.csv", params=window,
                                                      headers=world.kasa.auth()).text)))
    assert [r["norad_id"] for r in rows if r["id"] == str(contact_id)] == ["100123"]
    schedule = client.get("/agent/schedule", params={"station_id": world.kasa.station_id, **window},
                          headers=world.kasa.auth())
    assert schedule.status_code == 200, schedule.text
    [entry] = [c for c in schedule.json()["data"] if c["contact_id"] == contact_id]
    assert entry["satellite"]["norad_id"] == 100123
    element_set = entry["element_set"]
    agent_view = parse_elements(element_set["text"], fmt=element_set["format"]).elements[0]
    assert agent_view.norad_id == 100123 and agent_view.epoch == NEXUS.epoch
