"""The SatNOGS Network API under /satnogs/api/: what satnogs-client 2.1.4 calls, with the answers it expects.

The world (``tests/support/worlds.py``): kasa's station daejeon-1 is run by satnogs-client
here (runner 'satnogs', a token scoped to it); its satellite gets a real element set, a
downlink, a mode and a drift, and a contact on a real pass after the network's now.  The
requests are made as the client makes them (``scheduler/tasks.py``, ``observer/observer.py``):
``Authorization: Token <key>``, one multipart file per PUT, the metadata as a plain form.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from groundshare.api.etag import body_etag
from groundshare.satnogs import format_tle
from groundshare.store import Contact, Event, Role, Station, session_scope
from groundshare.store.models import Frame, Reception
from tests.support.etags import assert_not_modified, fresher_elements
from tests.support.worlds import WORLD_NOW, next_pass

FREQUENCY_HZ = 437_500_000.0
DRIFT_PPB = -2_000


def iso(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def client_time(value) -> str:
    """A time as satnogs-client writes it into its file names."""
    return value.strftime("%Y-%m-%dT%H-%M-%S")


def token_auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


def scoped_token(client, org, station_id: int) -> str:
    response = client.post("/tokens", json={"label": "satnogs-client", "role": "operator", "station_id": station_id},
                           headers=org.auth(Role.ADMIN))
    assert response.status_code == 201, response.text
    assert response.json()["station_id"] == station_id
    return response.json()["token"]


def book(client, org, antenna_id: int, satellite_id: int, start, end) -> int:
    body = {"antenna_id": antenna_id, "satellite_id": satellite_id, "start": iso(start), "end": iso(end),
            "allow_outside_pass": True}
    response = client.post("/contacts", json=body, headers=org.auth())
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def station(client, app, world, elements):
    """kasa's station run by satnogs-client, its satellite ready for SatNOGS, a contact on a pass, and the token."""
    k = world.kasa
    assert client.patch(f"/stations/{k.station_id}", json={"runner": "satnogs"}, headers=k.auth()).status_code == 200
    response = client.patch(f"/satellites/{k.satellite_id}", headers=k.auth(), json={
        "downlink_frequency_hz": FREQUENCY_HZ, "mode": "FSK", "baud": 9600, "downlink_drift_ppb": DRIFT_PPB})
    assert response.status_code == 200, response.text
    p = next_pass(app, elements["kasa"], k.station_id, after=WORLD_NOW + timedelta(hours=1))
    second = timedelta(seconds=1)
    contact_id = book(client, k, k.antenna_id, k.satellite_id, p.aos + second, p.los - second)
    return {"token": scoped_token(client, k, k.station_id), "contact_id": contact_id, "pass": p,
            "elements": elements["kasa"]}


def jobs(client, world, station, **params):
    k = world.kasa
    query = {"ground_station": k.station_id, "lat": 36.3725, "lon": 127.359, "alt": 50, **params}
    return client.get("/satnogs/api/jobs/", params=query, headers=token_auth(station["token"]))


def put_file(client, station, contact_id: int, field: str, name: str, data: bytes):
    return client.put(f"/satnogs/api/observations/{contact_id}/", files={field: (name, data)},
                      headers=token_auth(station["token"]))


# -- jobs -------------------------------------------------------------------------------------------------------


def test_a_booked_contact_is_a_job_with_its_orbit_frequency_and_mode(client, app, world, station):
    response = jobs(client, world, station)
    assert response.status_code == 200, response.text
    [job] = response.json()
    p, element_set, k = station["pass"], station["elements"], world.kasa
    assert job == {
        "id": station["contact_id"], "start": (p.aos + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (p.los - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), "ground_station": k.station_id,
        "tle0": "DAEJEON-1-SAT", "tle1": element_set.line1, "tle2": element_set.line2,
        "frequency": round(FREQUENCY_HZ * (1 + DRIFT_PPB / 1e9)), "mode": "FSK",
        "transmitter": f"gs-{k.satellite_id}", "baud": 9600.0, "norad_cat_id": element_set.norad_id,
        "max_altitude": job["max_altitude"]}
    assert job["frequency"] == 437_499_125
    assert abs(job["max_altitude"] - p.max_elevation_deg) < 0.5
    # The poll is the station's heartbeat, by the network's clock.
    shown = client.get(f"/stations/{k.station_id}", headers=k.auth()).json()
    assert shown["runner"] == "satnogs" and shown["online"] is True
    assert shown["last_seen_at"].startswith(WORLD_NOW.strftime("%Y-%m-%d"))
    assert shown["satnogs_status"].endswith("1 job(s) served")
    assert client.get(f"/stations/{world.aem.station_id}", headers=world.aem.auth()).json()["online"] is False


def test_a_replanned_contact_changes_its_job_and_a_cancelled_one_is_gone(client, app, world, station):
    [before] = jobs(client, world, station).json()
    # A fresher orbit (written as TLE lines here) and a shifted window, as store.replan leaves a kept contact.
    fresher = dataclasses.replace(station["elements"], mean_anomaly_deg=station["elements"].mean_anomaly_deg + 0.5,
                                  line1=None, line2=None)
    line1, line2 = format_tle(fresher)
    with session_scope(app.state.session_factory) as session:
        contact = session.get(Contact, station["contact_id"])
        contact.start_time += timedelta(seconds=20)
        contact.snapshot = {**contact.snapshot, "element_set": {
            "id": None, "epoch": None, "format": "tle", "text": f"FRESH\n{line1}\n{line2}\n"}}
    [after] = jobs(client, world, station).json()
    assert after["id"] == before["id"]
    assert after["start"] != before["start"] and (after["tle1"], after["tle2"]) == (line1, line2)
    assert after["tle2"] != before["tle2"] and after["end"] == before["end"]
    cancel = client.post(f"/contacts/{station['contact_id']}/cancel", headers=world.kasa.auth())
    assert cancel.status_code == 200, cancel.text
    assert jobs(client, world, station).json() == []


def test_a_contact_that_cannot_be_a_job_is_left_out_saying_why(client, app, world, station):
    k = world.kasa
    assert client.patch(f"/satellites/{k.satellite_id}", json={"mode": None}, headers=k.auth()).status_code == 200
    assert jobs(client, world, station).json() == []
    status = client.get(f"/stations/{k.station_id}", headers=k.auth()).json()["satnogs_status"]
    assert f"contact {station['contact_id']} left out" in status and "has no mode" in status
    notes = client.get(f"/contacts/{station['contact_id']}", headers=k.auth()).json()["notes"]
    assert "SatNOGS: left out of station" in notes and "has no mode" in notes
    jobs(client, world, station)
    assert client.get(f"/contacts/{station['contact_id']}", headers=k.auth()).json()["notes"] == notes  # once


def test_the_polled_position_moves_the_station_past_100_m(client, app, world, station):
    k = world.kasa
    jobs(client, world, station, lat=36.3730, lon=127.3592)  # ~60 m: unchanged
    assert client.get(f"/stations/{k.station_id}", headers=k.auth()).json()["lat_deg"] == 36.3725
    jobs(client, world, station, lat=36.38, lon=127.36, alt=80)
    shown = client.get(f"/stations/{k.station_id}", headers=k.auth()).json()
    assert (shown["lat_deg"], shown["lon_deg"], shown["alt_m"]) == (36.38, 127.36, 80.0)
    with session_scope(app.state.session_factory, write=False) as session:
        assert session.scalar(select(func.count()).select_from(Event).where(Event.kind == "station.moved")) == 1


# -- who may ----------------------------------------------------------------------------------------------------


def test_unknown_and_foreign_stations_are_404(client, world, station):
    assert jobs(client, world, station, ground_station=999_999).status_code == 404
    response = jobs(client, world, station, ground_station=world.aem.station_id)
    assert response.status_code == 404
    assert "SATNOGS_STATION_ID" in response.json()["detail"][0]["msg"]


def test_a_station_run_by_the_agent_is_409_naming_the_setting(client, world, station):
    k = world.kasa
    assert client.patch(f"/stations/{k.station_id}", json={"runner": "agent"}, headers=k.auth()).status_code == 200
    response = jobs(client, world, station)
    assert response.status_code == 409
    assert "runner" in response.json()["detail"][0]["msg"]


def test_a_scoped_token_is_401_off_its_prefix(client, world, station):
    for header in (f"Bearer {station['token']}", f"Token {station['token']}"):
        response = client.get("/orgs/me", headers={"Authorization": header})
        assert response.status_code == 401
    response = client.get("/orgs/me", headers={"Authorization": f"Bearer {station['token']}"})
    assert response.json()["detail"][0]["msg"].startswith(
        f"this token is scoped to SatNOGS station {world.kasa.station_id}; use it only under /satnogs/api/")
    assert client.get("/stations", headers={"Authorization": f"Bearer {station['token']}"}).status_code == 401


def test_bearer_and_unscoped_tokens_are_401_on_the_prefix(client, world, station):
    k = world.kasa
    params = {"ground_station": k.station_id}
    bearer = client.get("/satnogs/api/jobs/", params=params, headers=k.auth())
    assert bearer.status_code == 401 and bearer.headers["www-authenticate"] == "Token"
    assert "must be 'Token <key>'" in bearer.json()["detail"][0]["msg"]
    unscoped = client.get("/satnogs/api/jobs/", params=params, headers=token_auth(k.tokens[Role.ADMIN]))
    assert unscoped.status_code == 401
    assert "only a station-scoped token" in unscoped.json()["detail"][0]["msg"]
    missing = client.get("/satnogs/api/jobs/", params=params)
    assert missing.status_code == 401 and "'Authorization: Token <key>'" in missing.json()["detail"][0]["msg"]
    put = client.put("/satnogs/api/observations/1/", files={"payload": ("satnogs_1_x.ogg", b"x")}, headers=k.auth())
    assert put.status_code == 401


def test_scoped_tokens_are_made_for_own_stations_as_operators(client, world, station):
    k = world.kasa
    foreign = client.post("/tokens", json={"label": "x", "role": "operator", "station_id": world.aem.station_id},
                          headers=k.auth(Role.ADMIN))
    assert foreign.status_code == 404 and "station_id" in foreign.json()["detail"][0]["msg"]
    viewer = client.post("/tokens", json={"label": "x", "role": "viewer", "station_id": k.station_id},
                         headers=k.auth(Role.ADMIN))
    assert viewer.status_code == 422 and viewer.json()["detail"][0]["loc"] == ["body", "role"]
    listed = client.get("/tokens", headers=k.auth(Role.ADMIN)).json()["data"]
    assert [t["station_id"] for t in listed if t["label"] == "satnogs-client"] == [k.station_id]


def test_a_mode_satnogs_client_does_not_know_is_422_naming_the_modes(client, world):
    k = world.kasa
    response = client.patch(f"/satellites/{k.satellite_id}", json={"mode": "fm"}, headers=k.auth())
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "mode"] and "'FSK AX.100 Mode 5'" in error["msg"]


# -- uploads ----------------------------------------------------------------------------------------------------


def test_recordings_and_waterfalls_become_artifacts_and_a_repeat_is_403(client, world, station):
    contact_id, k = station["contact_id"], world.kasa
    stamp = client_time(station["pass"].aos)
    audio, waterfall = b"OggS" + bytes(range(256)) * 40, b"\x89PNG" + b"\x00" * 500
    for field, name, data in (("payload", f"satnogs_{contact_id}_{stamp}.ogg", audio),
                              ("waterfall", f"waterfall_{contact_id}_{stamp}.png", waterfall)):
        response = put_file(client, station, contact_id, field, name, data)
        assert response.status_code == 200, response.text
        assert response.json()["stored"] == field
        download = client.get(f"/contacts/{contact_id}/artifacts/{name}", headers=k.auth())
        assert download.status_code == 200 and download.content == data
    again = put_file(client, station, contact_id, "payload", f"satnogs_{contact_id}_{stamp}.ogg", audio)
    assert again.status_code == 403 and "has already been uploaded" in again.text
    names = [a["name"] for a in client.get(f"/contacts/{contact_id}/artifacts", headers=k.auth()).json()["data"]]
    assert names == [f"satnogs_{contact_id}_{stamp}.ogg", f"waterfall_{contact_id}_{stamp}.png"]


def test_demoddata_frames_keep_the_time_of_their_names_and_are_deduplicated(client, app, world, station):
    contact_id, k = station["contact_id"], world.kasa
    at = station["pass"].aos.replace(microsecond=0) + timedelta(seconds=30)
    frame = b"\x8a\xa6\x62 beacon 1"
    names = [f"data_{contact_id}_{client_time(at)}", f"data_{contact_id}_{client_time(at + timedelta(seconds=2))}_1",
             f"data_{contact_id}_{client_time(at + timedelta(seconds=60))}"]
    answers = [put_file(client, station, contact_id, "demoddata", name, payload).json()
               for name, payload in zip(names, [frame, frame, b"another frame"], strict=True)]
    assert [a["frames_new"] for a in answers] == [1, 0, 1]  # the same payload 2 s later is the same frame
    listed = client.get(f"/contacts/{contact_id}/frames", headers=k.auth()).json()
    assert [(f["received_at"][:19], bytes.fromhex(f["payload_hex"])) for f in listed] == [
        (at.strftime("%Y-%m-%dT%H:%M:%S"), frame),
        ((at + timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%S"), b"another frame")]
    with session_scope(app.state.session_factory, write=False) as session:
        assert session.scalar(select(func.count()).select_from(Frame)) == 2
        assert session.scalar(select(func.count()).select_from(Reception)) == 2
    # The agent's upload of the same frame through the same contact changes nothing: one store, one dedup.
    agent = client.post(f"/agent/contacts/{contact_id}/frames", headers=k.auth(), json={
        "frames": [{"received_at": iso(at + timedelta(seconds=1)), "payload_hex": frame.hex()}]})
    assert agent.status_code == 200 and agent.json()["new"] == 0
    repeat = put_file(client, station, contact_id, "demoddata", names[0], frame)
    assert repeat.status_code == 403 and "has already been uploaded" in repeat.text


def test_the_metadata_put_completes_the_contact_and_the_ledger_counts_it(client, app, world, station):
    contact_id, k = station["contact_id"], world.kasa
    stamp = client_time(station["pass"].aos)
    put_file(client, station, contact_id, "demoddata", f"data_{contact_id}_{stamp}", b"frame one")
    metadata = {"radio": {"name": "gr-satnogs", "version": None, "parameters": {"mode": "FSK"}},
                "latitude": 36.3725, "longitude": 127.359, "elevation": 50, "frequency": 437_499_125}
    # As requests sends data={...} without files: a urlencoded form.
    response = client.put(f"/satnogs/api/observations/{contact_id}/", headers=token_auth(station["token"]),
                          data={"client_version": "2.1.4", "client_metadata": json.dumps(metadata)})
    assert response.status_code == 200, response.text
    contact = client.get(f"/contacts/{contact_id}", headers=k.auth()).json()
    assert contact["status"] == "completed"
    assert (contact["bytes_received"], contact["frames_received"]) == (9, 1)
    assert contact["execution"]["client_version"] == "2.1.4"
    assert contact["execution"]["client_metadata"] == metadata
    assert contact["started_at"].startswith(contact["start"][:19]) and contact["finished_at"].startswith(
        contact["end"][:19])
    assert client.get(f"/stations/{k.station_id}", headers=k.auth()).json()["satnogs_client_version"] == "2.1.4"
    # The recording arrives after the metadata (the client's upload loop runs later): it adds to the counts.
    ogg = b"OggS" + b"\x01" * 91
    assert put_file(client, station, contact_id, "payload", f"satnogs_{contact_id}_{stamp}.ogg", ogg).status_code == 200
    assert client.get(f"/contacts/{contact_id}", headers=k.auth()).json()["bytes_received"] == 9 + len(ogg)
    # Repeating the metadata changes nothing; the ledger counts the contact as the agent's outcome would.
    again = client.put(f"/satnogs/api/observations/{contact_id}/", headers=token_auth(station["token"]),
                       data={"client_version": "2.1.4", "client_metadata": json.dumps(metadata)})
    assert again.status_code == 200 and again.json()["status"] == "completed"
    day = station["pass"].aos.date()
    ledger = client.get("/ledger", headers=k.auth(), params={
        "start": f"{day}T00:00:00Z", "end": f"{day + timedelta(days=1)}T00:00:00Z", "period": "day"}).json()
    [row] = [r for r in ledger["data"] if r["owner_org_id"] == k.id]
    assert (row["contacts"], row["bytes_delivered"]) == (1, 9 + len(ogg)) and row["completed_hours"] > 0


def test_an_upload_for_another_stations_contact_is_404(client, app, world, station):
    a = world.aem
    aem_contact = book(client, a, a.antenna_id, a.satellite_id, station["pass"].aos, station["pass"].los)
    response = put_file(client, station, aem_contact, "payload", f"satnogs_{aem_contact}_x.ogg", b"OggS")
    assert response.status_code == 404
    assert put_file(client, station, 999_999, "payload", "satnogs_999999_x.ogg", b"OggS").status_code == 404


@pytest.mark.parametrize(("body", "content_type"), [
    (b"--xx\r\nContent-Disposition: form-data; name=\"payload\"; filename=\"a\"\r\n\r\nunterminated",
     "multipart/form-data; boundary=xx"),
    (b"garbage", "multipart/form-data"),
    (b"{}", "application/json"),
])
def test_a_malformed_body_is_400_naming_what_is_expected(client, world, station, body, content_type):
    response = client.put(f"/satnogs/api/observations/{station['contact_id']}/", content=body,
                          headers={**token_auth(station["token"]), "Content-Type": content_type})
    assert response.status_code == 400, response.text
    assert "payload, waterfall or demoddata" in response.json()["detail"][0]["msg"]


def test_an_unknown_field_or_a_misnamed_file_is_400(client, world, station):
    contact_id = station["contact_id"]
    unknown = put_file(client, station, contact_id, "audio", f"satnogs_{contact_id}_x.ogg", b"OggS")
    assert unknown.status_code == 400
    misnamed = put_file(client, station, contact_id, "demoddata", f"data_{contact_id}", b"frame")
    assert misnamed.status_code == 400 and "reception time" in misnamed.json()["detail"][0]["msg"]
    other = contact_id + 1000
    elsewhere = put_file(client, station, contact_id, "payload", f"satnogs_{other}_2030-01-01T00-00-00.ogg", b"OggS")
    assert elsewhere.status_code == 400 and f"names observation {other}" in elsewhere.json()["detail"][0]["msg"]


def test_the_station_row_keeps_the_last_poll(client, app, world, station):
    jobs(client, world, station)
    with session_scope(app.state.session_factory, write=False) as session:
        assert session.get(Station, world.kasa.station_id).last_seen_at is not None


# -- conditional polls (api.etag) ------------------------------------------------------------------------------


def test_jobs_poll_is_a_304_while_nothing_changed_and_still_a_heartbeat(client, app, world, station):
    first = jobs(client, world, station)
    assert first.status_code == 200 and len(first.json()) == 1
    etag = first.headers["etag"]
    assert etag == body_etag(first.content) and first.headers["cache-control"] == "no-cache"
    k = world.kasa
    query = {"ground_station": k.station_id, "lat": 36.3725, "lon": 127.359, "alt": 50}
    token = {"Authorization": f"Token {station['token']}"}
    with session_scope(app.state.session_factory) as session:
        session.get(Contact, station["contact_id"]).antenna.station.satnogs_status = None
    held = client.get("/satnogs/api/jobs/", params=query, headers={**token, "If-None-Match": etag})
    assert_not_modified(held, etag)
    shown = client.get(f"/stations/{k.station_id}", headers=k.auth()).json()
    assert shown["satnogs_status"].endswith("1 job(s) served")  # the 304 poll was recorded as any other
    assert client.get("/satnogs/api/jobs/", params=query,
                      headers={**token, "If-None-Match": '"elsewhere"'}).status_code == 200
    # A new element set for the booked contact, then a second booking, then a cancellation: each a new tag.
    fresher_elements(app, station["contact_id"], station["elements"])
    replanned = client.get("/satnogs/api/jobs/", params=query, headers={**token, "If-None-Match": etag})
    assert replanned.status_code == 200 and replanned.headers["etag"] != etag
    assert replanned.json()[0]["tle2"] != first.json()[0]["tle2"]
    p = station["pass"]
    second = book(client, k, k.antenna_id, k.satellite_id, p.los + timedelta(hours=3),
                  p.los + timedelta(hours=3, minutes=5))
    two = client.get("/satnogs/api/jobs/", params=query,
                     headers={**token, "If-None-Match": replanned.headers["etag"]})
    assert two.status_code == 200 and len(two.json()) == 2 and two.headers["etag"] != replanned.headers["etag"]
    assert client.post(f"/contacts/{second}/cancel", headers=k.auth()).status_code == 200
    one = client.get("/satnogs/api/jobs/", params=query, headers={**token, "If-None-Match": two.headers["etag"]})
    assert one.status_code == 200 and one.headers["etag"] == replanned.headers["etag"]


def test_a_bearer_token_is_still_refused_before_any_tag(client, world, station):
    k = world.kasa
    response = client.get("/satnogs/api/jobs/", params={"ground_station": k.station_id},
                          headers={**k.auth(), "If-None-Match": "*"})
    assert response.status_code in (401, 403) and "etag" not in response.headers

