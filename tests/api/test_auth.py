"""Tokens on every route: missing, malformed, unknown, revoked or expired -> 401; viewers cannot write.

A 401 never repeats the token; a token's last use is recorded at most once a minute, and
recording it never holds up a request that only reads.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from groundshare.api.deps import LAST_USED_LOCK_WAIT_S
from groundshare.store import ApiToken, Role, hash_token, session_scope
from groundshare.timeutil import utc_now

ROUTES = [
    ("GET", "/orgs/me"), ("GET", "/stations"), ("POST", "/stations"), ("GET", "/stations/1"),
    ("GET", "/stations/1/antennas"), ("POST", "/stations/1/antennas"), ("GET", "/satellites"),
    ("POST", "/satellites"), ("GET", "/satellites/1"), ("POST", "/satellites/1/elements"),
    ("DELETE", "/satellites/1/elements"), ("GET", "/contacts"),
    ("POST", "/contacts"), ("POST", "/contacts/1/cancel"), ("GET", "/stations/1/passes"),
    ("GET", "/satellites/1/passes"), ("GET", "/stations/1/gnss"),
    # Update, delete, policies, requests, tokens and the organisation list.
    ("GET", "/orgs"), ("PATCH", "/stations/1"), ("DELETE", "/stations/1"), ("GET", "/stations/1/antennas/1"),
    ("PATCH", "/stations/1/antennas/1"), ("DELETE", "/stations/1/antennas/1"), ("PATCH", "/satellites/1"),
    ("DELETE", "/satellites/1"), ("POST", "/policies"), ("GET", "/policies"), ("GET", "/policies/1"),
    ("PATCH", "/policies/1"), ("DELETE", "/policies/1"), ("POST", "/requests"), ("GET", "/requests"),
    ("GET", "/requests/1"), ("PATCH", "/requests/1"), ("POST", "/requests/1/cancel"), ("POST", "/tokens"),
    ("GET", "/tokens"), ("POST", "/tokens/1/revoke"),
    # The station agent, the partner ledger and the exports.
    ("GET", "/agent/schedule"), ("POST", "/agent/contacts/1/start"), ("POST", "/agent/contacts/1/outcome"),
    ("POST", "/agent/stations/1/lease"), ("DELETE", "/agent/stations/1/lease"),
    ("GET", "/ledger"), ("GET", "/ledger.csv"), ("GET", "/reports"), ("GET", "/exports/contacts.ics"),
    ("GET", "/exports/contacts.csv"), ("GET", "/exports/contacts.json"), ("GET", "/contacts/1"),
    ("POST", "/schedule/runs"),
    # The dashboard's views.
    ("GET", "/clock"), ("GET", "/satellites/tracks"), ("GET", "/contacts/1/geometry"),
    # Frames, artifacts and telemetry.
    ("POST", "/agent/contacts/1/frames"), ("GET", "/satellites/1/frames"), ("GET", "/contacts/1/frames"),
    ("GET", "/satellites/1/telemetry"), ("GET", "/satellites/1/frames/stream"),
    ("PUT", "/agent/contacts/1/artifacts/pass.wav"), ("GET", "/agent/contacts/1/artifacts/pass.wav/upload"),
    ("GET", "/contacts/1/artifacts"), ("GET", "/contacts/1/artifacts/pass.wav"),
    # Fresh orbits: element sets, sources, events and webhooks.
    ("GET", "/satellites/1/elements"), ("GET", "/satellites/1/sources"), ("PUT", "/satellites/1/sources"),
    ("GET", "/events"), ("GET", "/webhooks"), ("POST", "/webhooks"), ("DELETE", "/webhooks/1"),
    # The operator's console.
    ("GET", "/satellites/1/opportunities"),
    # Launch and early orbit: evidence.
    ("POST", "/leop/campaigns/1/identify"), ("POST", "/leop/campaigns/1/fit"),
    # Launch and early orbit: campaigns.
    ("POST", "/leop/plan"), ("POST", "/leop/campaigns"), ("GET", "/leop/campaigns"), ("GET", "/leop/campaigns/1"),
    ("GET", "/leop/campaigns/1/windows"), ("POST", "/leop/campaigns/1/book"), ("POST", "/leop/campaigns/1/end"),
    # Uplink: licences, the transmit inhibit and the audit trail.
    ("POST", "/stations/1/licences"), ("GET", "/stations/1/licences"), ("POST", "/stations/1/transmit-inhibit"),
    ("DELETE", "/stations/1/transmit-inhibit"), ("GET", "/stations/1/transmit-inhibit"),
    ("GET", "/contacts/1/uplink"),
    # Commanding: the station agent's uplink relay (the operator's session is a WebSocket, not in the OpenAPI paths).
    ("GET", "/agent/stations/1/uplink"), ("POST", "/agent/stations/1/uplink/outcomes"),
]
#: The SatNOGS Network API (``api.routes.satnogs``): 'Authorization: Token <key>' with a station-scoped token.
SATNOGS_ROUTES = [("GET", "/satnogs/api/jobs/"), ("PUT", "/satnogs/api/observations/1/")]


def test_every_route_is_listed(client):
    operations = [(m.upper(), p) for p, ops in client.app.openapi()["paths"].items() for m in ops]
    assert len(operations) == len(ROUTES) + len(SATNOGS_ROUTES)  # a new route joins one, so a 401 test covers it


@pytest.mark.parametrize(("method", "path"), SATNOGS_ROUTES)
def test_missing_token_is_401_on_every_satnogs_route(client, world, method, path):
    response = client.request(method, path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Token"
    [error] = response.json()["detail"]
    assert error["loc"] == ["header", "Authorization"]
    assert error["msg"].startswith("missing Authorization header; under /satnogs/api/ send 'Authorization: Token "
                                   "<key>'")
    bearer = client.request(method, path, headers=world.kasa.auth())
    assert bearer.status_code == 401 and "must be 'Token <key>'" in bearer.json()["detail"][0]["msg"]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_missing_token_is_401_on_every_route(client, world, method, path):
    response = client.request(method, path, json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    [error] = response.json()["detail"]
    assert error["loc"] == ["header", "Authorization"]
    assert error["msg"].startswith("missing Authorization header; send 'Authorization: Bearer <token>'")


@pytest.mark.parametrize("header", ["Bearer gs_not-a-token", "Bearer ", "Basic dXNlcjpwdw==", "gs_token"])
def test_bad_token_is_401(client, world, header):
    response = client.get("/stations", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["detail"][0]["type"] == "unauthenticated"


@pytest.mark.parametrize("form", ["{token}", "Token {token}", "bearer:{token}", "{token} extra"])
def test_a_token_without_bearer_is_never_echoed(client, world, form):
    token = world.kasa.tokens[Role.OPERATOR]
    response = client.get("/stations", headers={"Authorization": form.format(token=token)})
    assert response.status_code == 401
    assert token not in response.text and token[3:20] not in response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["header", "Authorization"]
    assert error["msg"].startswith("the Authorization header must be 'Bearer <token>'; ")


def test_the_scheme_word_is_named(client, world):
    response = client.get("/stations", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert response.json()["detail"][0]["msg"] == ("the Authorization header must be 'Bearer <token>'; it uses the "
                                                    "'Basic' scheme")
    assert "dXNlcjpwdw" not in response.text


def _set_token(app, token: str, **values) -> None:
    with session_scope(app.state.session_factory) as session:
        session.execute(update(ApiToken).where(ApiToken.token_hash == hash_token(token)).values(**values))


def _last_used(app, token: str):
    with session_scope(app.state.session_factory, write=False) as session:
        return session.scalar(select(ApiToken.last_used_at).where(ApiToken.token_hash == hash_token(token)))


def test_expired_token_is_401_saying_so(client, world, app):
    token = world.kasa.tokens[Role.OPERATOR]
    expired_at = (utc_now() - timedelta(seconds=1)).replace(microsecond=0)
    _set_token(app, token, expires_at=expired_at)
    response = client.post("/stations", json={"name": "x", "lat_deg": 0, "lon_deg": 0},
                           headers=world.kasa.auth(Role.OPERATOR))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    [error] = response.json()["detail"]
    assert error["msg"] == (f"the bearer token expired at {expired_at.strftime('%Y-%m-%dT%H:%M:%S')}.000Z; ask your "
                            "organisation's admin for a new one (POST /tokens, or 'groundshare admin create-token'), "
                            "then send it instead")
    # One that expires later still works.
    _set_token(app, token, expires_at=utc_now() + timedelta(minutes=5))
    assert client.get("/stations", headers=world.kasa.auth(Role.OPERATOR)).status_code == 200


def test_last_use_is_recorded_once_a_minute(client, world, app):
    token = world.uni.tokens[Role.VIEWER]
    assert _last_used(app, token) is None
    before = utc_now()
    assert client.get("/orgs/me", headers=world.uni.auth(Role.VIEWER)).status_code == 200
    first = _last_used(app, token)
    assert first is not None and before <= first <= utc_now()
    assert client.get("/stations", headers=world.uni.auth(Role.VIEWER)).status_code == 200
    assert _last_used(app, token) == first  # within the minute: no write
    # Two minutes on: the gate's memory of the token has lapsed (it keeps it for seconds) and the record is due.
    _set_token(app, token, last_used_at=first - timedelta(minutes=2))
    app.state.token_cache.clear()
    assert client.get("/stations", headers=world.uni.auth(Role.VIEWER)).status_code == 200
    assert _last_used(app, token) >= first


def test_recording_last_use_never_holds_up_a_read(client, world, app):
    """While another transaction holds the lock the write needs, a GET still answers at once (the record waits)."""
    token = world.aem.tokens[Role.VIEWER]
    engine = app.state.engine
    holding, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("SELECT 1")  # the engine begins IMMEDIATE: SQLite's one write lock
            else:
                connection.execute(text("SELECT id FROM api_token WHERE token_hash = :h FOR UPDATE"),
                                   {"h": hash_token(token)})
            holding.set()
            release.wait(30)
            connection.rollback()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        response = client.get("/stations", headers=world.aem.auth(Role.VIEWER))
        took_s = time.monotonic() - started
    finally:
        release.set()
        holder.join()
    assert response.status_code == 200, response.text
    assert took_s < LAST_USED_LOCK_WAIT_S + 1.0
    assert _last_used(app, token) is None  # skipped; the next request records it
    assert client.get("/stations", headers=world.aem.auth(Role.VIEWER)).status_code == 200
    assert _last_used(app, token) is not None


def test_revoked_token_is_401(client, world, app):
    with session_scope(app.state.session_factory) as session:
        session.execute(update(ApiToken).where(ApiToken.token_hash == hash_token(world.kasa.tokens[Role.ADMIN]))
                        .values(revoked_at=ApiToken.created_at))
    response = client.get("/orgs/me", headers=world.kasa.auth(Role.ADMIN))
    assert response.status_code == 401
    assert response.json()["detail"][0]["msg"].startswith("the bearer token is unknown or revoked")


@pytest.mark.parametrize("role", list(Role))
def test_me_names_org_and_role(client, world, role):
    response = client.get("/orgs/me", headers=world.aem.auth(role))
    assert response.status_code == 200
    assert response.json() == {"org": {"id": world.aem.id, "name": "Agencia Espacial Mexicana", "kind": "agency"},
                               "role": role.value}


VIEWER_WRITES = [
    ("POST", "/stations", {"name": "x", "lat_deg": 0, "lon_deg": 0}),
    ("POST", "/stations/{station}/antennas", {"name": "x", "band": "uhf"}),
    ("POST", "/satellites", {"norad_id": 12345, "name": "x"}),
    ("POST", "/contacts", {"antenna_id": 1, "satellite_id": 1, "start": "2030-01-01T00:00Z",
                           "end": "2030-01-01T00:10Z"}),
    ("POST", "/contacts/1/cancel", None),
    ("POST", "/stations/{station}/licences", {"satellite_id": 1, "reference": "x", "valid_from": "2025-01-01T00:00Z",
                                              "valid_until": "2030-01-01T00:00Z"}),
    ("POST", "/stations/{station}/transmit-inhibit", {}),
    ("DELETE", "/stations/{station}/transmit-inhibit", None),
]


@pytest.mark.parametrize(("method", "path", "body"), VIEWER_WRITES)
def test_viewer_cannot_write(client, world, method, path, body):
    response = client.request(method, path.format(station=world.kasa.station_id), json=body,
                              headers=world.kasa.auth(Role.VIEWER))
    assert response.status_code == 403
    [error] = response.json()["detail"]
    assert error["type"] == "policy"
    assert error["msg"] == ("the token's role is 'viewer'; the role rule allows only operator and admin tokens to "
                            "create, change, delete, book or cancel (viewer tokens read only)")


def test_viewer_can_read(client, world):
    for path in ("/stations", "/satellites", "/contacts", f"/stations/{world.kasa.station_id}"):
        assert client.get(path, headers=world.kasa.auth(Role.VIEWER)).status_code == 200
