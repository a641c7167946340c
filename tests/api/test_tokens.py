"""API tokens through /tokens (admins only), and the list of organisations (/orgs).

A new token's text is returned once; only its hash is stored.  A revoked token answers
401, and so does an expired one.  The last unrevoked admin token of an organisation
cannot be revoked (409).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from groundshare.store import ApiToken, Role, hash_token, session_scope
from groundshare.timeutil import utc_now


def token_id(app, text: str) -> int:
    with session_scope(app.state.session_factory, write=False) as session:
        return session.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(text)))


def token_count(app) -> int:
    with session_scope(app.state.session_factory, write=False) as session:
        return session.scalar(select(func.count()).select_from(ApiToken))


def only_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    [error] = response.json()["detail"]
    return error


def test_create_token_returns_it_once(client, app, world):
    response = client.post("/tokens", json={"role": "operator", "label": "ground ops"},
                           headers=world.kasa.auth(Role.ADMIN))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["token"].startswith("gs_")
    assert {k: created[k] for k in ("org_id", "role", "label", "revoked_at")} == {
        "org_id": world.kasa.id, "role": "operator", "label": "ground ops", "revoked_at": None}
    # The new token works, with its role.
    me = client.get("/orgs/me", headers={"Authorization": f"Bearer {created['token']}"})
    assert me.json()["role"] == "operator" and me.json()["org"]["id"] == world.kasa.id
    # Only the hash is stored, and listings never show the token or the hash.
    with session_scope(app.state.session_factory, write=False) as session:
        assert session.get(ApiToken, created["id"]).token_hash == hash_token(created["token"])
    listed = client.get("/tokens", headers=world.kasa.auth(Role.ADMIN)).json()
    assert listed["count"] == 4 and {t["org_id"] for t in listed["data"]} == {world.kasa.id}
    row = next(t for t in listed["data"] if t["id"] == created["id"])
    assert created["expires_at"] is None and created["last_used_at"] is None
    assert row["last_used_at"].endswith("Z")  # GET /orgs/me above used it
    assert {k: v for k, v in row.items() if k != "last_used_at"} == {
        k: v for k, v in created.items() if k not in ("token", "last_used_at")}
    assert all(set(t) == {"id", "org_id", "role", "label", "created_at", "revoked_at", "expires_at", "last_used_at",
                          "station_id", "can_command", "command_satellite_ids"}
               for t in listed["data"])
    assert hash_token(created["token"]) not in client.get("/tokens", headers=world.kasa.auth(Role.ADMIN)).text


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_token_expiring_in_days(client, app, world):
    before = utc_now()
    created = client.post("/tokens", json={"role": "viewer", "expires_in_days": 30},
                          headers=world.kasa.auth(Role.ADMIN)).json()
    expires_at = _utc(created["expires_at"])
    assert before + timedelta(days=30) - timedelta(seconds=1) <= expires_at <= utc_now() + timedelta(days=30)
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/orgs/me", headers=headers).status_code == 200
    listed = client.get("/tokens", headers=world.kasa.auth(Role.ADMIN)).json()["data"]
    assert next(t for t in listed if t["id"] == created["id"])["expires_at"] == created["expires_at"]


def test_token_expiring_at_a_time_stops_working_then(client, app, world):
    at = (utc_now() + timedelta(seconds=2)).replace(microsecond=0)
    created = client.post("/tokens", json={"role": "operator", "expires_at": at.isoformat().replace("+00:00", "Z")},
                          headers=world.kasa.auth(Role.ADMIN))
    assert created.status_code == 201, created.text
    assert _utc(created.json()["expires_at"]) == at
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    assert client.get("/orgs/me", headers=headers).status_code == 200
    with session_scope(app.state.session_factory) as session:  # let it expire without waiting
        session.get(ApiToken, created.json()["id"]).expires_at = utc_now() - timedelta(seconds=1)
    response = client.get("/orgs/me", headers=headers)
    assert only_error(response, 401)["msg"].startswith("the bearer token expired at ")


def test_expiry_in_the_past_or_twice_is_422(client, app, world):
    past = client.post("/tokens", json={"role": "viewer", "expires_at": "2020-01-01T00:00:00Z"},
                       headers=world.kasa.auth(Role.ADMIN))
    error = only_error(past, 422)
    assert error["loc"] == ["body", "expires_at"]
    assert error["msg"].startswith("expires_at 2020-01-01T00:00:00.000Z is not in the future (now is ")
    both = client.post("/tokens", json={"role": "viewer", "expires_at": "2099-01-01T00:00:00Z", "expires_in_days": 3},
                       headers=world.kasa.auth(Role.ADMIN))
    assert "send expires_at or expires_in_days, not both" in only_error(both, 422)["msg"]
    assert token_count(app) == 9


@pytest.mark.parametrize(("body", "loc"), [
    ({"role": "root"}, ["body", "role"]), ({}, ["body", "role"]), ({"role": "viewer", "label": "x" * 201},
                                                                   ["body", "label"]),
    ({"role": "viewer", "org_id": 3}, ["body", "org_id"]), ({"role": None}, ["body", "role"]),
    ({"role": "viewer", "expires_in_days": 0}, ["body", "expires_in_days"]),
    ({"role": "viewer", "expires_in_days": 4000}, ["body", "expires_in_days"]),
    ({"role": "viewer", "expires_at": "2030-01-01T00:00:00"}, ["body", "expires_at"]),
])
def test_bad_token_body_is_422(client, app, world, body, loc):
    assert only_error(client.post("/tokens", json=body, headers=world.kasa.auth(Role.ADMIN)), 422)["loc"] == loc
    assert token_count(app) == 9


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
@pytest.mark.parametrize(("method", "path"), [("POST", "/tokens"), ("GET", "/tokens"), ("POST", "/tokens/1/revoke")])
def test_only_admins_manage_tokens(client, app, world, role, method, path):
    response = client.request(method, path, json={"role": "admin"} if path == "/tokens" else None,
                              headers=world.kasa.auth(role))
    assert only_error(response, 403)["msg"] == (
        f"the token's role is {role.value!r}; the role rule allows only admin tokens to create, list or revoke API "
        "tokens (ask your organisation's admin)")
    assert token_count(app) == 9
    with session_scope(app.state.session_factory, write=False) as session:
        assert session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_not(None))) == 0


def test_revoked_token_gets_401(client, app, world):
    operator_id = token_id(app, world.kasa.tokens[Role.OPERATOR])
    # Used just before: the request gate remembers it as live for some seconds, which must not let it through.
    assert client.get("/stations", headers=world.kasa.auth(Role.OPERATOR)).status_code == 200
    response = client.post(f"/tokens/{operator_id}/revoke", headers=world.kasa.auth(Role.ADMIN))
    assert response.status_code == 200, response.text
    assert response.json()["revoked_at"].endswith("Z")
    assert client.get("/stations", headers=world.kasa.auth(Role.OPERATOR)).status_code == 401
    # Revoking again changes nothing.
    again = client.post(f"/tokens/{operator_id}/revoke", headers=world.kasa.auth(Role.ADMIN))
    assert again.status_code == 200 and again.json() == response.json()


def test_last_admin_token_cannot_be_revoked(client, app, world):
    admin_id = token_id(app, world.kasa.tokens[Role.ADMIN])
    error = only_error(client.post(f"/tokens/{admin_id}/revoke", headers=world.kasa.auth(Role.ADMIN)), 409)
    assert error["msg"] == (
        f"token {admin_id} is the last unrevoked admin token of Korea AeroSpace Administration; revoking it would "
        "leave nobody able to manage the organisation's tokens\n\nCreate another admin token first (POST /tokens "
        "with role 'admin'), then revoke this one")
    assert client.get("/tokens", headers=world.kasa.auth(Role.ADMIN)).status_code == 200
    # With a second admin token, the first can go (even by itself), and then the second is the last.
    second = client.post("/tokens", json={"role": "admin"}, headers=world.kasa.auth(Role.ADMIN)).json()
    assert client.post(f"/tokens/{admin_id}/revoke", headers=world.kasa.auth(Role.ADMIN)).status_code == 200
    assert client.get("/tokens", headers=world.kasa.auth(Role.ADMIN)).status_code == 401
    headers = {"Authorization": f"Bearer {second['token']}"}
    assert client.post(f"/tokens/{second['id']}/revoke", headers=headers).status_code == 409


@pytest.mark.parametrize("other", ["aem", "uni"])
def test_another_organisations_token_is_404(client, app, world, other):
    other_id = token_id(app, getattr(world, other).tokens[Role.OPERATOR])
    error = only_error(client.post(f"/tokens/{other_id}/revoke", headers=world.kasa.auth(Role.ADMIN)), 404)
    assert error["msg"] == f"token {other_id} does not exist or is not shared with your organisation"
    assert client.get("/orgs/me", headers=getattr(world, other).auth(Role.OPERATOR)).status_code == 200


@pytest.mark.parametrize("role", list(Role))
def test_list_organisations(client, world, role):
    response = client.get("/orgs", headers=world.uni.auth(role))
    assert response.status_code == 200
    assert response.json() == {"count": 3, "data": [
        {"id": world.kasa.id, "name": "Korea AeroSpace Administration", "kind": "agency"},
        {"id": world.aem.id, "name": "Agencia Espacial Mexicana", "kind": "agency"},
        {"id": world.uni.id, "name": "Universidad de Chile", "kind": "university"}]}
    page = client.get("/orgs", params={"offset": 1, "limit": 1}, headers=world.uni.auth(role)).json()
    assert page == {"count": 3, "data": [{"id": world.aem.id, "name": "Agencia Espacial Mexicana", "kind": "agency"}]}
