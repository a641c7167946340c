"""The station agent's routes: the schedule it runs, and the start and outcome it reports."""

from __future__ import annotations

import hashlib
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from groundshare.api.etag import body_etag, none_match
from groundshare.api.routes.agent import AgentAntenna, AgentContact, AgentElementSet, AgentSatellite, AgentStation
from groundshare.contact import (
    ElementSetSnapshot,
    ScheduledAntenna,
    ScheduledContact,
    ScheduledSatellite,
    StationSnapshot,
)
from groundshare.store import Role, session_scope, set_network_clock
from groundshare.timeutil import parse_utc
from tests.support.etags import agent_api, assert_not_modified, fresher_elements
from tests.support.shipped import NEXUS_TLE
from tests.support.worlds import WORLD_NOW

WINDOW = {"start": "2030-05-01T00:00:00Z", "end": "2030-05-02T00:00:00Z"}


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def book(client, org, antenna_id, satellite_id, start, end, role=Role.OPERATOR):
    """Book as the satellite's operator, on windows chosen for the test rather than real passes."""
    body = {"antenna_id": antenna_id, "satellite_id": satellite_id, "start": start, "end": end,
            "allow_outside_pass": True}
    response = client.post("/contacts", json=body, headers=org.auth(role))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def upload_nexus(client, world):
    response = client.post(f"/satellites/{world.aem.satellite_id}/elements", content=NEXUS_TLE,
                           headers={**world.aem.auth(), "Content-Type": "text/plain"})
    assert response.status_code == 201, response.text


def schedule(client, world, org=None, role=Role.OPERATOR, **params):
    org = org or world.kasa
    return client.get("/agent/schedule", params={"station_id": world.kasa.station_id, **params},
                      headers=org.auth(role))


def start(client, contact_id, org, role=Role.OPERATOR, **body):
    return client.post(f"/agent/contacts/{contact_id}/start", json=body or None, headers=org.auth(role))


def outcome(client, contact_id, org, role=Role.OPERATOR, **fields):
    body = {"status": "completed", "bytes_received": 4096, **fields}
    return client.post(f"/agent/contacts/{contact_id}/outcome", json=body, headers=org.auth(role))


@pytest.fixture
def booked(client, world):
    """Contacts on kasa's station and elsewhere on 2030-05-01, by name."""
    upload_nexus(client, world)
    k, a = world.kasa, world.aem
    ids = {
        "partner_on_uhf": book(client, a, k.antenna_id, a.satellite_id, "2030-05-01T03:00:00Z", "2030-05-01T03:10:00Z"),
        "own_on_dish": book(client, k, k.unshared_antenna_id, k.satellite_id, "2030-05-01T02:00:00Z",
                            "2030-05-01T02:08:00Z"),
        "cancelled": book(client, k, k.antenna_id, k.satellite_id, "2030-05-01T05:00:00Z", "2030-05-01T05:10:00Z"),
        "completed": book(client, k, k.antenna_id, k.satellite_id, "2030-05-01T06:00:00Z", "2030-05-01T06:10:00Z"),
        "next_day": book(client, k, k.antenna_id, k.satellite_id, "2030-05-02T01:00:00Z", "2030-05-02T01:10:00Z"),
        "aem_station": book(client, a, a.antenna_id, a.satellite_id, "2030-05-01T04:00:00Z", "2030-05-01T04:10:00Z"),
    }
    assert client.post(f"/contacts/{ids['cancelled']}/cancel", headers=k.auth()).status_code == 200
    assert outcome(client, ids["completed"], k).status_code == 200
    return ids


def test_schedule_lists_the_stations_live_contacts_in_start_order(client, world, booked):
    response = schedule(client, world, **WINDOW)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["station"]["id"] == world.kasa.station_id and body["station"]["name"] == "daejeon-1"
    assert (body["start"], body["end"]) == ("2030-05-01T00:00:00Z", "2030-05-02T00:00:00Z")
    assert [c["contact_id"] for c in body["data"]] == [booked["own_on_dish"], booked["partner_on_uhf"]]
    assert body["count"] == 2
    own, partner = body["data"]
    assert partner["status"] == "scheduled" and partner["org_id"] == world.aem.id
    assert (partner["start"], partner["end"]) == ("2030-05-01T03:00:00Z", "2030-05-01T03:10:00Z")
    assert partner["antenna"] == {"id": world.kasa.antenna_id, "name": "uhf", "band": "uhf", "setup_s": 30.0,
                                  "turnaround_s": 60.0, "az_slew_deg_s": None, "el_slew_deg_s": None}
    assert partner["satellite"] == {"id": world.aem.satellite_id, "norad_id": 49263, "name": "CHETUMAL-SAT",
                                    "downlink_frequency_hz": None, "uplink_frequency_hz": None}
    element_set = partner["element_set"]
    assert element_set["format"] == "tle" and element_set["epoch"].startswith("2026-03-19T04:38:01")
    assert element_set["text"].splitlines()[1:] == NEXUS_TLE.splitlines()[1:]  # both TLE lines, for offline SGP4
    assert own["antenna"]["name"] == "dish" and own["element_set"] is None  # kasa's satellite has no elements


@pytest.mark.parametrize(("schema", "contract"), [
    (AgentStation, StationSnapshot), (AgentAntenna, ScheduledAntenna), (AgentSatellite, ScheduledSatellite),
    (AgentElementSet, ElementSetSnapshot), (AgentContact, ScheduledContact),
])
def test_the_schedules_schemas_are_the_agents_contracts(schema, contract):
    # The API's answer and what the agent reads it as (groundshare.contact) name the same fields.
    assert set(schema.model_fields) == {f.name for f in fields(contract)} - {"body"}


def test_the_agent_reads_the_schedule_as_the_api_sends_it(client, world, booked):
    response = client.patch(f"/satellites/{world.aem.satellite_id}", headers=world.aem.auth(),
                            json={"downlink_frequency_hz": 437.25e6, "uplink_frequency_hz": 145.85e6})
    assert response.status_code == 200, response.text
    body = schedule(client, world, **WINDOW).json()
    assert StationSnapshot.from_json(body["station"]).to_json() == body["station"]
    for entry in body["data"]:
        contact = ScheduledContact.from_json(entry)
        assert (contact.contact_id, contact.status, contact.org_id) == (entry["contact_id"], entry["status"],
                                                                        entry["org_id"])
        assert [contact.start, contact.end, contact.busy_until] == [
            datetime.fromisoformat(entry[name]) for name in ("start", "end", "busy_until")]
        assert contact.antenna.to_json() == entry["antenna"] and contact.satellite.to_json() == entry["satellite"]
        planned = contact.element_set.to_json() if contact.element_set is not None else None
        assert planned == entry["element_set"]
        # What the agent's journal keeps reads back as the same contact, with or without the API's own text.
        assert ScheduledContact.from_json(contact.to_json()) == contact
        assert ScheduledContact.from_json(replace(contact, body={}).to_json()) == contact
    assert [c["element_set"] is not None for c in body["data"]] == [False, True]


def test_schedule_time_filter(client, world, booked):
    narrow = schedule(client, world, start="2030-05-01T02:30:00Z", end="2030-05-01T03:05:00Z").json()
    assert [c["contact_id"] for c in narrow["data"]] == [booked["partner_on_uhf"]]
    # A contact still running at the window's start is listed; one ending exactly then is not.
    assert schedule(client, world, start="2030-05-01T02:07:00Z", end="2030-05-01T02:30:00Z").json()["count"] == 1
    assert schedule(client, world, start="2030-05-01T02:08:00Z", end="2030-05-01T02:30:00Z").json()["count"] == 0
    later = schedule(client, world, start="2030-05-01T12:00:00Z", end="2030-05-03T00:00:00Z").json()
    assert [c["contact_id"] for c in later["data"]] == [booked["next_day"]]


def test_schedule_lists_in_progress_contacts(client, world, booked):
    assert start(client, booked["partner_on_uhf"], world.kasa).json()["status"] == "in_progress"
    statuses = [c["status"] for c in schedule(client, world, **WINDOW).json()["data"]]
    assert statuses == ["scheduled", "in_progress"]


def test_schedule_defaults_to_the_next_48_hours(client, world):
    now = WORLD_NOW  # the world's network clock started there a moment ago
    soon = book(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id, iso(now + timedelta(hours=1)),
                iso(now + timedelta(hours=1, minutes=10)))
    book(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id, iso(now + timedelta(hours=49)),
         iso(now + timedelta(hours=49, minutes=10)))
    body = schedule(client, world).json()
    assert [c["contact_id"] for c in body["data"]] == [soon]
    span = datetime.fromisoformat(body["end"]) - datetime.fromisoformat(body["start"])
    assert span == timedelta(hours=48)


def test_schedule_defaults_to_the_networks_clock(client, world, booked):
    # The network runs shifted to 2030-05-01T01:00Z: the default window starts at its now, not the wall clock's.
    network_at = datetime(2030, 5, 1, 1, tzinfo=UTC)
    with session_scope(client.app.state.session_factory) as session:
        set_network_clock(session, network_at, reason="test")
    body = schedule(client, world).json()
    start = datetime.fromisoformat(body["start"])
    assert timedelta(0) <= start - network_at < timedelta(seconds=60)
    assert datetime.fromisoformat(body["end"]) - start == timedelta(hours=48)
    assert [c["contact_id"] for c in body["data"]] == [booked["own_on_dish"], booked["partner_on_uhf"],
                                                       booked["next_day"]]


@pytest.mark.parametrize(("org", "status"), [("aem", 403), ("uni", 404)])
def test_schedule_of_another_organisations_station(client, world, booked, org, status):
    response = schedule(client, world, org=getattr(world, org), **WINDOW)
    assert response.status_code == status
    if status == 403:  # shared with aem, but partners do not run kasa's antennas
        assert response.json()["detail"][0]["msg"] == (
            f"station {world.kasa.station_id} belongs to organisation {world.kasa.id}; only its owner may run its "
            "agent and read its schedule")
    else:
        assert "does not exist or is not shared with your organisation" in response.json()["detail"][0]["msg"]


def test_schedule_of_missing_station_is_404(client, world):
    response = client.get("/agent/schedule", params={"station_id": 999_999}, headers=world.kasa.auth())
    assert response.status_code == 404


def test_viewer_may_read_the_schedule(client, world, booked):
    assert schedule(client, world, role=Role.VIEWER, **WINDOW).json()["count"] == 2


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/agent/schedule?station_id=1"), ("POST", "/agent/contacts/1/start"), ("POST", "/agent/contacts/1/outcome"),
])
def test_agent_routes_need_a_token(client, world, method, path):
    response = client.request(method, path, json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"][0]["loc"] == ["header", "Authorization"]


@pytest.mark.parametrize(("params", "loc"), [
    ({"station_id": None}, ["query", "station_id"]),
    ({"station_id": 0}, ["query", "station_id"]),
    ({"start": "2030-05-01T00:00:00"}, ["query", "start"]),
    ({"start": "2030-05-02T00:00:00Z", "end": "2030-05-01T00:00:00Z"}, ["query", "end"]),
    ({"start": "2030-05-01T00:00:00Z", "end": "2030-05-16T00:00:00Z"}, ["query", "end"]),
])
def test_bad_schedule_query_names_the_field(client, world, params, loc):
    query = {"station_id": world.kasa.station_id, **params}
    response = client.get("/agent/schedule", params={k: v for k, v in query.items() if v is not None},
                          headers=world.kasa.auth())
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc


def test_start_then_report(client, world, booked):
    contact_id = booked["partner_on_uhf"]
    started = start(client, contact_id, world.kasa, started_at="2030-05-01T12:00:02+09:00")
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "in_progress" and started.json()["started_at"] == "2030-05-01T03:00:02Z"
    assert start(client, contact_id, world.kasa).json() == started.json()  # a retry changes nothing
    report = outcome(client, contact_id, world.kasa, role=Role.ADMIN, bytes_received=2_500_000, notes="AOS ok",
                     finished_at="2030-05-01T03:10:00Z")
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["status"] == "completed" and body["bytes_received"] == 2_500_000 and body["notes"] == "AOS ok"
    assert (body["started_at"], body["finished_at"]) == ("2030-05-01T03:00:02Z", "2030-05-01T03:10:00Z")
    # The booking partner sees the outcome in its contacts.
    [seen] = client.get("/contacts", headers=world.aem.auth()).json()["data"][:1]
    assert seen["id"] == contact_id and seen["status"] == "completed"


def test_repeated_report_is_idempotent_and_a_different_one_409(client, world, booked):
    contact_id = booked["partner_on_uhf"]
    first = outcome(client, contact_id, world.kasa, status="failed", bytes_received=10,
                    finished_at="2030-05-01T03:05:00Z")
    again = outcome(client, contact_id, world.kasa, status="failed", bytes_received=10,
                    finished_at="2030-05-01T03:05:00Z")
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    other = outcome(client, contact_id, world.kasa, status="completed", bytes_received=10)
    assert other.status_code == 409
    [error] = other.json()["detail"]
    assert error["type"] == "conflict"
    assert error["msg"].startswith(
        f"contact {contact_id} is already failed with a different report: status failed (reported: completed)")
    assert start(client, contact_id, world.kasa).status_code == 409


def test_report_on_cancelled_contact_is_409(client, world, booked):
    response = outcome(client, booked["cancelled"], world.kasa)
    assert response.status_code == 409
    assert response.json()["detail"][0]["msg"] == (
        f"contact {booked['cancelled']} is cancelled; an outcome can be reported only for a scheduled or "
        "in_progress contact (cancelled is final)")


@pytest.mark.parametrize(("org", "role", "status"), [
    ("aem", Role.OPERATOR, 403),  # booked it, but the antenna is kasa's
    ("aem", Role.ADMIN, 403),
    ("kasa", Role.VIEWER, 403),
    ("uni", Role.OPERATOR, 404),
])
def test_only_the_antenna_owners_writers_report(client, world, booked, org, role, status):
    contact_id = booked["partner_on_uhf"]
    assert start(client, contact_id, getattr(world, org), role).status_code == status
    assert outcome(client, contact_id, getattr(world, org), role).status_code == status
    assert client.get("/contacts", headers=world.aem.auth()).json()["data"][0]["status"] == "scheduled"


def test_partner_reports_on_its_own_antenna(client, world, booked):
    assert outcome(client, booked["aem_station"], world.aem).status_code == 200
    assert outcome(client, booked["aem_station"], world.kasa).status_code == 404


def test_no_side_effects_by_get(client, world, booked):
    for action in ("start", "outcome"):
        response = client.get(f"/agent/contacts/{booked['partner_on_uhf']}/{action}", headers=world.kasa.auth())
        assert response.status_code == 405


def test_unknown_contact_is_404(client, world):
    assert start(client, 999_999, world.kasa).status_code == 404
    assert outcome(client, 2_147_483_648, world.kasa).status_code == 422  # past the largest id


@pytest.mark.parametrize(("fields", "loc"), [
    ({"status": "cancelled"}, ["body", "status"]),
    ({"bytes_received": -1}, ["body", "bytes_received"]),
    ({"bytes_received": 2**63}, ["body", "bytes_received"]),
    ({"bytes_received": "lots"}, ["body", "bytes_received"]),
    ({"finished_at": "2030-05-01T03:10:00"}, ["body", "finished_at"]),
    ({"started_at": "2030-05-01T03:10:00Z", "finished_at": "2030-05-01T03:00:00Z"}, ["body", "finished_at"]),
    ({"notes": "x" * 10_001}, ["body", "notes"]),
    ({"extra": 1}, ["body", "extra"]),
])
def test_bad_outcome_names_the_field(client, world, booked, fields, loc):
    response = outcome(client, booked["partner_on_uhf"], world.kasa, **fields)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc


def test_missing_outcome_fields_are_named(client, world, booked):
    response = client.post(f"/agent/contacts/{booked['partner_on_uhf']}/outcome", json={}, headers=world.kasa.auth())
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["detail"]} == {("body", "status"), ("body", "bytes_received")}


def test_bad_start_body_names_the_field(client, world, booked):
    response = start(client, booked["partner_on_uhf"], world.kasa, started_at="yesterday")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "started_at"]


def test_schedule_gives_the_uplink_frequency(client, world, booked):
    response = client.patch(f"/satellites/{world.aem.satellite_id}", headers=world.aem.auth(),
                            json={"downlink_frequency_hz": 437.25e6, "uplink_frequency_hz": 145.85e6})
    assert response.status_code == 200, response.text
    satellites = {c["contact_id"]: c["satellite"] for c in schedule(client, world, **WINDOW).json()["data"]}
    assert satellites[booked["partner_on_uhf"]]["uplink_frequency_hz"] == 145.85e6
    assert satellites[booked["partner_on_uhf"]]["downlink_frequency_hz"] == 437.25e6
    assert satellites[booked["own_on_dish"]]["uplink_frequency_hz"] is None


EXECUTION = {"pointing_error_rms_deg": 0.4, "pointing_error_max_deg": 1.75, "positions_sent": 600,
             "positions_read": 598, "positions_refused": 2, "frequency_commands": 1200, "reconnects": 1,
             "failures": ["rotctld: connection reset at 03:04:10Z"], "clock_offset_s": -0.012,
             "agent_id": "daejeon-1/4242"}
#: The report as the API shows it: a SatNOGS client's fields (client_version, client_metadata) are null for an agent.
SHOWN = {**EXECUTION, "client_version": None, "client_metadata": None}


def test_outcome_with_execution_is_stored_and_shown(client, world, booked):
    contact_id = booked["partner_on_uhf"]
    report = outcome(client, contact_id, world.kasa, execution=EXECUTION, finished_at="2030-05-01T03:10:00Z")
    assert report.status_code == 200, report.text
    assert report.json()["execution"] == SHOWN
    read = client.get(f"/contacts/{contact_id}", headers=world.kasa.auth()).json()
    assert read["execution"] == SHOWN
    # The partner that booked it sees how it ran, too.
    assert client.get(f"/contacts/{contact_id}", headers=world.aem.auth()).json()["execution"] == SHOWN


def test_partial_execution_shows_the_rest_as_null(client, world, booked):
    report = outcome(client, booked["partner_on_uhf"], world.kasa, execution={"reconnects": 0, "failures": []})
    assert report.status_code == 200, report.text
    shown = report.json()["execution"]
    assert shown["reconnects"] == 0 and shown["failures"] == [] and shown["pointing_error_rms_deg"] is None


def test_execution_is_null_without_one(client, world, booked):
    assert outcome(client, booked["partner_on_uhf"], world.kasa).json()["execution"] is None
    assert client.get(f"/contacts/{booked['own_on_dish']}", headers=world.kasa.auth()).json()["execution"] is None


def test_repeated_report_with_execution_is_harmless_and_a_different_one_409(client, world, booked):
    contact_id = booked["partner_on_uhf"]
    first = outcome(client, contact_id, world.kasa, execution=EXECUTION, finished_at="2030-05-01T03:10:00Z")
    again = outcome(client, contact_id, world.kasa, execution=EXECUTION, finished_at="2030-05-01T03:10:00Z")
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert outcome(client, contact_id, world.kasa).status_code == 200  # a repeat that leaves execution out
    other = outcome(client, contact_id, world.kasa, execution={**EXECUTION, "reconnects": 2})
    assert other.status_code == 409
    assert other.json()["detail"][0]["msg"].startswith(
        f"contact {contact_id} is already completed with a different report: execution ")
    assert client.get(f"/contacts/{contact_id}", headers=world.kasa.auth()).json()["execution"] == SHOWN


@pytest.mark.parametrize(("execution", "loc"), [
    ({"pointing_error_rms_deg": -0.1}, ["body", "execution", "pointing_error_rms_deg"]),
    ({"pointing_error_max_deg": 361}, ["body", "execution", "pointing_error_max_deg"]),
    ({"positions_sent": -1}, ["body", "execution", "positions_sent"]),
    ({"frequency_commands": 10_000_001}, ["body", "execution", "frequency_commands"]),
    ({"reconnects": -1}, ["body", "execution", "reconnects"]),
    ({"positions_read": 1.5}, ["body", "execution", "positions_read"]),
    ({"failures": ["x"] * 51}, ["body", "execution", "failures"]),
    ({"failures": ["x" * 501]}, ["body", "execution", "failures", 0]),
    ({"agent_id": "x" * 201}, ["body", "execution", "agent_id"]),
    ({"pointing": 1}, ["body", "execution", "pointing"]),
    ([1, 2], ["body", "execution"]),
])
def test_bad_execution_names_the_field(client, world, booked, execution, loc):
    response = outcome(client, booked["partner_on_uhf"], world.kasa, execution=execution)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc
    assert client.get(f"/contacts/{booked['partner_on_uhf']}", headers=world.kasa.auth()).json()["status"] == \
        "scheduled"


@pytest.mark.parametrize("field", ["pointing_error_rms_deg", "clock_offset_s"])
@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_execution_is_422(client, world, booked, field, value):
    body = f'{{"status": "completed", "bytes_received": 1, "execution": {{"{field}": {value}}}}}'
    response = client.post(f"/agent/contacts/{booked['partner_on_uhf']}/outcome", content=body,
                           headers={**world.kasa.auth(), "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "execution", field]


# -- conditional polls (api.etag) ------------------------------------------------------------------------------


def test_the_tag_is_the_bodys_hash_and_if_none_match_compares_weakly() -> None:
    body = b'{"data":[]}'
    assert body_etag(body) == '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    tag = body_etag(body)
    assert none_match(tag, tag) and none_match(f'"other", {tag}', tag) and none_match("*", tag)
    assert none_match(f"W/{tag}", tag)  # RFC 9110: If-None-Match compares weakly
    assert not none_match(None, tag) and not none_match('"other"', tag) and not none_match('W/"other"', tag)
    assert not none_match(tag.strip('"'), tag)  # unquoted is not the tag


# -- the agent's schedule --------------------------------------------------------------------------------------


def test_same_schedule_same_tag_and_a_304(client, world):
    upload_nexus(client, world)
    k = world.kasa
    book(client, k, k.antenna_id, k.satellite_id, "2030-05-01T05:00:00Z", "2030-05-01T05:10:00Z")
    first, again = schedule(client, world, **WINDOW), schedule(client, world, **WINDOW)
    assert first.status_code == 200 and first.json()["count"] == 1
    etag = first.headers["etag"]
    assert etag == again.headers["etag"] == body_etag(first.content) and first.content == again.content
    assert first.headers["cache-control"] == "no-cache"
    held = client.get("/agent/schedule", params={"station_id": k.station_id, **WINDOW},
                      headers={**k.auth(), "If-None-Match": etag})
    assert_not_modified(held, etag)
    for other in ('"0123"', f"W/{etag[:-2]}0\"", "*-not-a-tag"):
        response = client.get("/agent/schedule", params={"station_id": k.station_id, **WINDOW},
                              headers={**k.auth(), "If-None-Match": other})
        assert response.status_code == 200 and response.content == first.content, other
    # Another window is another answer.
    assert schedule(client, world, start=WINDOW["start"], end="2030-05-01T12:00:00Z").headers["etag"] != etag


def test_booking_cancelling_and_a_new_element_set_change_the_tag(client, app, world, elements):
    k = world.kasa
    window = WINDOW
    empty = schedule(client, world, **window)
    contact_id = book(client, k, k.antenna_id, k.satellite_id, "2030-05-01T05:00:00Z", "2030-05-01T05:10:00Z")
    booked = schedule(client, world, **window)
    assert booked.json()["count"] == 1 and booked.headers["etag"] != empty.headers["etag"]
    stale = client.get("/agent/schedule", params={"station_id": k.station_id, **window},
                       headers={**k.auth(), "If-None-Match": empty.headers["etag"]})
    assert stale.status_code == 200 and stale.content == booked.content
    fresher_elements(app, contact_id, elements["kasa"])
    replanned = schedule(client, world, **window)
    assert replanned.headers["etag"] != booked.headers["etag"]
    assert replanned.json()["data"][0]["element_set"] != booked.json()["data"][0]["element_set"]
    assert client.post(f"/contacts/{contact_id}/cancel", headers=k.auth()).status_code == 200
    cancelled = client.get("/agent/schedule", params={"station_id": k.station_id, **window},
                           headers={**k.auth(), "If-None-Match": replanned.headers["etag"]})
    assert cancelled.status_code == 200 and cancelled.json()["count"] == 0
    assert cancelled.headers["etag"] == empty.headers["etag"]  # the same answer again, the same tag


def test_a_refused_schedule_has_no_tag(client, world):
    response = schedule(client, world, start="2030-05-02T00:00:00Z", end="2030-05-01T00:00:00Z")
    assert response.status_code == 422 and "etag" not in response.headers


# -- SatNOGS jobs ---------------------------------------------------------------------------------------------


def test_the_agents_client_sends_the_tag_and_reuses_its_schedule_on_a_304(client, world):
    upload_nexus(client, world)
    k = world.kasa
    book(client, k, k.antenna_id, k.satellite_id, "2030-05-01T05:00:00Z", "2030-05-01T05:10:00Z")
    token = k.auth()["Authorization"].removeprefix("Bearer ")
    seen: list[httpx.Request] = []
    start, end = (parse_utc(WINDOW[name], name) for name in ("start", "end"))
    with agent_api(client, token, seen) as api:
        first = api.schedule(k.station_id, start, end)
        assert "if-none-match" not in seen[-1].headers and len(first.contacts) == 1
        again = api.schedule(k.station_id, start, end)
        assert seen[-1].headers["if-none-match"] and again is first and api.schedules_not_modified == 1
        # A booking changes the answer: a 200, read afresh, and its tag kept for the next poll.
        book(client, k, k.antenna_id, k.satellite_id, "2030-05-01T07:00:00Z", "2030-05-01T07:10:00Z")
        changed = api.schedule(k.station_id, start, end)
        assert len(changed.contacts) == 2 and api.schedules_not_modified == 1
        assert api.schedule(k.station_id, start, end) is changed and api.schedules_not_modified == 2
        # Another window is its own query: no tag sent for it.
        api.schedule(k.station_id, start, end - timedelta(hours=1))
        assert "if-none-match" not in seen[-1].headers
