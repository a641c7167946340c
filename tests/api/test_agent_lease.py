"""One agent per station: the lease an agent takes, renews and releases (POST/DELETE /agent/stations/{id}/lease)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from groundshare.store import AgentLease, Role, session_scope
from groundshare.timeutil import format_utc

AGENT_A = "host-a/1234"
AGENT_B = "host-b/99"


def acquire(client, world, agent_id=AGENT_A, org=None, role=Role.OPERATOR, station_id=None, **body):
    org = org or world.kasa
    station_id = station_id if station_id is not None else world.kasa.station_id
    return client.post(f"/agent/stations/{station_id}/lease", json={"agent_id": agent_id, **body},
                       headers=org.auth(role))


def release(client, world, agent_id=AGENT_A, org=None, role=Role.OPERATOR, station_id=None):
    org = org or world.kasa
    station_id = station_id if station_id is not None else world.kasa.station_id
    return client.delete(f"/agent/stations/{station_id}/lease", params={"agent_id": agent_id},
                         headers=org.auth(role))


def stored_lease(app, station_id):
    with session_scope(app.state.session_factory, write=False) as session:
        return session.scalars(select(AgentLease).where(AgentLease.station_id == station_id)).one_or_none()


def expire(app, station_id):
    with session_scope(app.state.session_factory) as session:
        session.execute(update(AgentLease).where(AgentLease.station_id == station_id)
                        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_acquire_a_free_station(client, world):
    before = datetime.now(UTC)
    response = acquire(client, world, ttl_s=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"station_id", "agent_id", "acquired_at", "renewed_at", "expires_at"}
    assert body["station_id"] == world.kasa.station_id and body["agent_id"] == AGENT_A
    assert body["expires_at"].endswith("Z")
    acquired_at, expires_at = parse(body["acquired_at"]), parse(body["expires_at"])
    assert before - timedelta(seconds=1) <= acquired_at <= datetime.now(UTC) + timedelta(seconds=1)
    assert abs((expires_at - acquired_at).total_seconds() - 30) < 0.01
    assert body["renewed_at"] == body["acquired_at"]


def test_default_ttl_is_60_s(client, world):
    body = acquire(client, world).json()
    assert abs((parse(body["expires_at"]) - parse(body["acquired_at"])).total_seconds() - 60) < 0.01


def test_the_same_agent_renews(client, world):
    first = acquire(client, world, ttl_s=10).json()
    again = acquire(client, world, ttl_s=120)
    assert again.status_code == 200, again.text
    renewed = again.json()
    assert renewed["acquired_at"] == first["acquired_at"]  # still the same holding
    assert parse(renewed["expires_at"]) > parse(first["expires_at"])
    assert parse(renewed["renewed_at"]) >= parse(first["renewed_at"])


def test_another_agent_is_refused_naming_the_holder(client, world):
    held = acquire(client, world).json()
    response = acquire(client, world, AGENT_B)
    assert response.status_code == 409
    [error] = response.json()["detail"]
    assert error["type"] == "conflict"
    until = format_utc(parse(held["expires_at"]))
    assert error["msg"] == (f"station 'daejeon-1' is run by agent '{AGENT_A}' until {until}; stop that agent, or "
                            "wait for its lease to expire")
    # Another token of the same organisation is no different: the lease is per agent, not per token.
    assert acquire(client, world, AGENT_B, role=Role.ADMIN).status_code == 409
    assert stored_lease(client.app, world.kasa.station_id).agent_id == AGENT_A


def test_another_agent_takes_over_an_expired_lease(client, world):
    acquire(client, world)
    expire(client.app, world.kasa.station_id)
    response = acquire(client, world, AGENT_B)
    assert response.status_code == 200, response.text
    assert response.json()["agent_id"] == AGENT_B
    assert acquire(client, world).status_code == 409  # and the first agent, back, is now the one refused


def test_leases_are_per_station(client, world):
    assert acquire(client, world).status_code == 200
    assert acquire(client, world, AGENT_B, org=world.aem, station_id=world.aem.station_id).status_code == 200


def test_release_frees_the_station(client, world):
    acquire(client, world)
    response = release(client, world)
    assert response.status_code == 204 and response.content == b""
    assert stored_lease(client.app, world.kasa.station_id) is None
    assert acquire(client, world, AGENT_B).status_code == 200


def test_release_is_idempotent(client, world):
    assert release(client, world).status_code == 204  # never held
    acquire(client, world)
    assert release(client, world).status_code == 204
    assert release(client, world).status_code == 204


def test_release_by_another_agent_is_409(client, world):
    acquire(client, world)
    response = release(client, world, AGENT_B)
    assert response.status_code == 409
    assert response.json()["detail"][0]["msg"].startswith(f"station 'daejeon-1' is run by agent '{AGENT_A}' until ")
    assert stored_lease(client.app, world.kasa.station_id).agent_id == AGENT_A


def test_release_of_another_agents_expired_lease_is_harmless(client, world):
    acquire(client, world)
    expire(client.app, world.kasa.station_id)
    assert release(client, world, AGENT_B).status_code == 204


def test_deleting_the_station_deletes_its_lease(client, world):
    response = client.post("/stations", json={"name": "spare", "lat_deg": 1, "lon_deg": 2}, headers=world.kasa.auth())
    station_id = response.json()["id"]
    assert acquire(client, world, station_id=station_id).status_code == 200
    assert client.delete(f"/stations/{station_id}", headers=world.kasa.auth()).status_code == 204
    assert stored_lease(client.app, station_id) is None


@pytest.mark.parametrize(("org", "role", "status"), [
    ("aem", Role.OPERATOR, 403),  # the station is shared with aem, but partners do not run kasa's antennas
    ("aem", Role.ADMIN, 403),
    ("kasa", Role.VIEWER, 403),
    ("uni", Role.ADMIN, 404),
])
def test_only_the_station_owners_writers_hold_its_lease(client, world, org, role, status):
    assert acquire(client, world, org=getattr(world, org), role=role).status_code == status
    assert release(client, world, org=getattr(world, org), role=role).status_code == status
    assert stored_lease(client.app, world.kasa.station_id) is None


def test_partner_refusal_names_the_owner(client, world):
    response = acquire(client, world, org=world.aem)
    assert response.json()["detail"][0]["msg"] == (
        f"station {world.kasa.station_id} belongs to organisation {world.kasa.id}; only its owner may run its agent")


def test_unknown_station_is_404(client, world):
    assert acquire(client, world, station_id=999_999).status_code == 404
    assert release(client, world, station_id=999_999).status_code == 404


@pytest.mark.parametrize(("body", "loc"), [
    ({"agent_id": ""}, ["body", "agent_id"]),
    ({"agent_id": "x" * 201}, ["body", "agent_id"]),
    ({"agent_id": None}, ["body", "agent_id"]),
    ({"ttl_s": 4.9}, ["body", "ttl_s"]),
    ({"ttl_s": 601}, ["body", "ttl_s"]),
    ({"ttl_s": "long"}, ["body", "ttl_s"]),
    ({"owner": "me"}, ["body", "owner"]),
])
def test_bad_lease_body_names_the_field(client, world, body, loc):
    response = client.post(f"/agent/stations/{world.kasa.station_id}/lease", json={"agent_id": AGENT_A, **body},
                           headers=world.kasa.auth())
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc


def test_missing_agent_id_is_422(client, world):
    response = client.post(f"/agent/stations/{world.kasa.station_id}/lease", json={}, headers=world.kasa.auth())
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "agent_id"]
    response = client.delete(f"/agent/stations/{world.kasa.station_id}/lease", headers=world.kasa.auth())
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "agent_id"]


def test_nan_ttl_is_422(client, world):
    response = client.post(f"/agent/stations/{world.kasa.station_id}/lease",
                           content='{"agent_id": "a", "ttl_s": NaN}',
                           headers={**world.kasa.auth(), "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "ttl_s"]


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_lease_needs_a_token(client, world, method):
    response = client.request(method, f"/agent/stations/{world.kasa.station_id}/lease?agent_id=a",
                              json={"agent_id": "a"})
    assert response.status_code == 401
