"""Sharing policies through /policies: the owner grants, changes and revokes; the grantee reads.

The world: kasa shares its uhf antenna with aem (10 h a week, band uhf); its S-band
"dish" is not shared.  A policy made here is the one ``store.policy`` enforces at booking.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from groundshare.store import Role, SharingPolicy, session_scope

AEM = "Agencia Espacial Mexicana"


def world_policy_id(app) -> int:
    with session_scope(app.state.session_factory, write=False) as session:
        return session.scalar(select(SharingPolicy.id))


def policy_count(app) -> int:
    with session_scope(app.state.session_factory, write=False) as session:
        return session.scalar(select(func.count()).select_from(SharingPolicy))


def grant_dish(client, world, role=Role.OPERATOR, **changes):
    body = {"antenna_id": world.kasa.unshared_antenna_id, "grantee_org_id": world.aem.id, "bands": ["s"],
            "hours_per_week": 2.0, "priority": 5,
            "blackout_windows": [{"start": "2030-01-01T00:00Z", "end": "2030-01-01T06:00+01:00"}], **changes}
    return client.post("/policies", json={k: v for k, v in body.items() if v is not ...},
                       headers=world.kasa.auth(role))


def only_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    [error] = response.json()["detail"]
    return error


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR])
def test_owner_grants_an_antenna(client, world, role):
    response = grant_dish(client, world, role)
    assert response.status_code == 201, response.text
    policy = response.json()
    assert policy == {"id": policy["id"], "owner_org_id": world.kasa.id, "grantee_org_id": world.aem.id,
                      "antenna_id": world.kasa.unshared_antenna_id, "bands": ["s"], "hours_per_week": 2.0,
                      "priority": 5, "blackout_windows": [{"start": "2030-01-01T00:00:00Z",
                                                           "end": "2030-01-01T05:00:00Z"}],
                      "uplink_allowed": False, "uplink_bands": [], "uplink_satellite_ids": [],
                      "created_at": policy["created_at"], "week_start": "2025-11-03", "week_hours_used": 0.0}
    # The grantee now sees the antenna, reads the policy, and can book within it.
    listed = client.get(f"/stations/{world.kasa.station_id}/antennas", headers=world.aem.auth()).json()
    assert {a["name"] for a in listed["data"]} == {"uhf", "dish"}
    assert client.get(f"/policies/{policy['id']}", headers=world.aem.auth(Role.VIEWER)).json() == policy


def test_a_new_policy_is_enforced_at_booking(client, world):
    policy_id = grant_dish(client, world).json()["id"]
    body = {"antenna_id": world.kasa.unshared_antenna_id, "satellite_id": world.aem.satellite_id,
            "start": "2030-01-01T04:00Z", "end": "2030-01-01T04:10Z", "allow_outside_pass": True}
    blacked_out = client.post("/contacts", json=body, headers=world.aem.auth())
    assert only_error(blacked_out, 403)["msg"].startswith(
        f"sharing policy {policy_id} (Korea AeroSpace Administration → {AEM}, antenna 'dish') has a blackout from "
        "2030-01-01T00:00:00.000Z to 2030-01-01T05:00:00.000Z")
    later = {**body, "start": "2030-01-01T05:00Z", "end": "2030-01-01T05:10Z"}
    assert client.post("/contacts", json=later, headers=world.aem.auth()).status_code == 201


def test_defaults(client, world):
    response = grant_dish(client, world, bands=..., hours_per_week=..., priority=..., blackout_windows=...)
    assert response.status_code == 201, response.text
    assert {k: response.json()[k] for k in ("bands", "hours_per_week", "priority", "blackout_windows")} == {
        "bands": [], "hours_per_week": None, "priority": 0, "blackout_windows": []}


@pytest.mark.parametrize(("changes", "loc", "msg"), [
    ({"bands": ["s", "x"]}, ["body", "bands", 1], "bands[1] is 'x', but antenna {dish} ('dish') is s; list only "
     "'s', or leave bands empty to share every band of the antenna"),
    ({"bands": ["q"]}, ["body", "bands", 0], None),
    ({"hours_per_week": -1}, ["body", "hours_per_week"], None),
    ({"hours_per_week": 1e308}, ["body", "hours_per_week"], None),
    ({"priority": 10**12}, ["body", "priority"], None),
    ({"blackout_windows": [{"start": "2030-01-01T00:00Z", "end": "2030-01-02T00:00Z"},
                           {"start": "2030-01-03T00:00Z", "end": "2030-01-02T00:00Z"}]},
     ["body", "blackout_windows", 1], "Value error, end (2030-01-02T00:00:00.000Z) must be after start "
     "(2030-01-03T00:00:00.000Z); a blackout window covers [start, end)"),
    ({"blackout_windows": [{"start": "2030-01-01T00:00", "end": "2030-01-02T00:00Z"}]},
     ["body", "blackout_windows", 0, "start"], None),
    ({"blackout_windows": [{"start": "2030-01-01T00:00Z"}]}, ["body", "blackout_windows", 0, "end"], None),
    ({"blackout_windows": [{"start": "2030-01-01T00:00Z", "end": "2030-01-02T00:00Z", "x": 1}]},
     ["body", "blackout_windows", 0, "x"], None),
    ({"grantee_org_id": 0}, ["body", "grantee_org_id"], None),
    ({"grantee_org_id": "{kasa}"}, ["body", "grantee_org_id"], "grantee_org_id {kasa} is your own organisation; a "
     "policy shares an antenna with a partner (your own antennas need no policy)"),
    ({"owner_org_id": 1}, ["body", "owner_org_id"], None),
])
def test_bad_policy_is_422_naming_the_field(client, app, world, changes, loc, msg):
    if changes.get("grantee_org_id") == "{kasa}":
        changes = {"grantee_org_id": world.kasa.id}
    error = only_error(grant_dish(client, world, **changes), 422)
    assert error["loc"] == loc
    if msg is not None:
        assert error["msg"] == msg.format(dish=world.kasa.unshared_antenna_id, kasa=world.kasa.id)
    assert policy_count(app) == 1


def test_unknown_grantee_is_404_naming_it(client, app, world):
    error = only_error(grant_dish(client, world, grantee_org_id=999_999), 404)
    assert error["msg"] == ("organisation 999999 (grantee_org_id) does not exist; GET /orgs lists the organisations "
                            "of the network")
    assert policy_count(app) == 1


def test_second_policy_for_the_same_pair_is_409(client, app, world):
    body = {"antenna_id": world.kasa.antenna_id, "grantee_org_id": world.aem.id}
    error = only_error(client.post("/policies", json=body, headers=world.kasa.auth()), 409)
    policy_id = world_policy_id(app)
    assert error["msg"] == (f"sharing policy {policy_id} already shares antenna {world.kasa.antenna_id} with {AEM}; "
                            f"change it with PATCH /policies/{policy_id} instead")
    # Another grantee is fine.
    assert client.post("/policies", json={**body, "grantee_org_id": world.uni.id},
                       headers=world.kasa.auth()).status_code == 201


def test_list_by_role(client, world):
    grant_dish(client, world)
    uni_grant = {"antenna_id": world.uni.antenna_id, "grantee_org_id": world.kasa.id}
    assert client.post("/policies", json=uni_grant, headers=world.uni.auth()).status_code == 201

    def antennas(org, **params):
        listed = client.get("/policies", params=params, headers=org.auth(Role.VIEWER)).json()
        assert listed["count"] == len(listed["data"])
        return sorted(p["antenna_id"] for p in listed["data"])

    kasa_antennas = sorted([world.kasa.antenna_id, world.kasa.unshared_antenna_id])
    assert antennas(world.kasa) == sorted([*kasa_antennas, world.uni.antenna_id])
    assert antennas(world.kasa, role="granted") == kasa_antennas
    assert antennas(world.kasa, role="received") == [world.uni.antenna_id]
    assert antennas(world.aem) == kasa_antennas and antennas(world.aem, role="granted") == []
    assert antennas(world.uni) == [world.uni.antenna_id]
    assert antennas(world.kasa, antenna_id=world.kasa.antenna_id) == [world.kasa.antenna_id]
    assert client.get("/policies", params={"role": "mine"}, headers=world.kasa.auth()).status_code == 422


def test_update_policy(client, app, world):
    policy_id = world_policy_id(app)
    body = {"hours_per_week": None, "priority": 7, "bands": [],
            "blackout_windows": [{"start": "2030-02-01T00:00Z", "end": "2030-02-02T00:00Z"}]}
    response = client.patch(f"/policies/{policy_id}", json=body, headers=world.kasa.auth())
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in body} == {
        **body, "blackout_windows": [{"start": "2030-02-01T00:00:00Z", "end": "2030-02-02T00:00:00Z"}]}
    kept = client.patch(f"/policies/{policy_id}", json={"priority": 1}, headers=world.kasa.auth()).json()
    assert kept["blackout_windows"] == response.json()["blackout_windows"] and kept["hours_per_week"] is None


@pytest.mark.parametrize(("body", "loc"), [
    ({"priority": None}, ["body", "priority"]), ({"bands": None}, ["body", "bands"]),
    ({"blackout_windows": None}, ["body", "blackout_windows"]), ({"bands": ["s"]}, ["body", "bands", 0]),
    ({"antenna_id": 3}, ["body", "antenna_id"]), ({"grantee_org_id": 3}, ["body", "grantee_org_id"]),
])
def test_bad_update_is_422_and_changes_nothing(client, app, world, body, loc):
    policy_id = world_policy_id(app)
    before = client.get(f"/policies/{policy_id}", headers=world.kasa.auth()).json()
    assert only_error(client.patch(f"/policies/{policy_id}", json=body, headers=world.kasa.auth()), 422)["loc"] == loc
    assert client.get(f"/policies/{policy_id}", headers=world.kasa.auth()).json() == before


def test_delete_policy_stops_sharing(client, app, world):
    policy_id = world_policy_id(app)
    assert client.delete(f"/policies/{policy_id}", headers=world.kasa.auth()).status_code == 204
    assert client.get(f"/policies/{policy_id}", headers=world.kasa.auth()).status_code == 404
    assert client.get(f"/stations/{world.kasa.station_id}", headers=world.aem.auth()).status_code == 404
    assert client.delete(f"/policies/{policy_id}", headers=world.kasa.auth()).status_code == 404


# (caller, method, status) on the world's policy (kasa -> aem): the grantee reads but cannot write; uni sees nothing.
POLICY_MATRIX = [
    ("kasa", "GET", 200), ("aem", "GET", 200), ("uni", "GET", 404),
    ("kasa", "PATCH", 200), ("aem", "PATCH", 403), ("uni", "PATCH", 404),
    ("kasa", "DELETE", 204), ("aem", "DELETE", 403), ("uni", "DELETE", 404),
]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("caller", "method", "expected"), POLICY_MATRIX)
def test_policy_tenancy_matrix(client, app, world, role, caller, method, expected):
    policy_id = world_policy_id(app)
    body = {"priority": 3} if method == "PATCH" else None
    response = client.request(method, f"/policies/{policy_id}", json=body, headers=getattr(world, caller).auth(role))
    if method != "GET" and role is Role.VIEWER:
        expected = 403  # viewers read only, whoever they are
    assert response.status_code == expected, response.text
    if expected == 404:
        assert response.json()["detail"][0]["msg"] == (
            f"sharing policy {policy_id} does not exist or is not shared with your organisation")
    elif expected == 403 and role is not Role.VIEWER:
        assert response.json()["detail"][0]["msg"] == (
            f"sharing policy {policy_id} belongs to organisation {world.kasa.id}; only its owner may "
            f"{'change' if method == 'PATCH' else 'delete'} it")
    if expected in (403, 404):
        assert client.get(f"/policies/{policy_id}", headers=world.kasa.auth()).json()["priority"] == 0


# (granter, antenna, status): only the antenna's owner may grant it.
GRANTS = [
    ("kasa", "kasa.unshared_antenna_id", 201),  # own antenna
    ("aem", "kasa.antenna_id", 403),  # shared with it, not its own
    ("aem", "kasa.unshared_antenna_id", 404),  # partner's, not shared
    ("uni", "kasa.antenna_id", 404),  # foreign
]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("granter", "antenna", "expected"), GRANTS)
def test_grant_matrix(client, app, world, role, granter, antenna, expected):
    org, attr = antenna.split(".")
    antenna_id = getattr(getattr(world, org), attr)
    grantee = world.uni.id if granter != "uni" else world.aem.id
    response = client.post("/policies", json={"antenna_id": antenna_id, "grantee_org_id": grantee},
                           headers=getattr(world, granter).auth(role))
    expected = 403 if role is Role.VIEWER else expected
    assert response.status_code == expected, response.text
    assert policy_count(app) == (2 if expected == 201 else 1)
