"""Sharing policies through the API: a booking outside the owner's policy is 403 naming the rule."""

from __future__ import annotations

from groundshare.store import Contact, SharingPolicy, session_scope

KASA = "Korea AeroSpace Administration"
AEM = "Agencia Espacial Mexicana"


def book(client, world, start, end):
    body = {"antenna_id": world.kasa.antenna_id, "satellite_id": world.aem.satellite_id, "start": start, "end": end,
            "allow_outside_pass": True}  # aem operates its satellite, which has no element set here
    return client.post("/contacts", json=body, headers=world.aem.auth())


def policy_id(app, world) -> int:
    with session_scope(app.state.session_factory, write=False) as session:
        return session.query(SharingPolicy).filter_by(antenna_id=world.kasa.antenna_id).one().id


def one_hour_a_week(app, world) -> None:
    """Cut the world's policy (10 h a week of kasa's uhf for aem) to 1 h: contacts last at most an hour each."""
    with session_scope(app.state.session_factory) as session:
        session.query(SharingPolicy).filter_by(antenna_id=world.kasa.antenna_id).one().hours_per_week = 1.0


def test_partner_within_quota_is_booked(client, app, world):
    one_hour_a_week(app, world)
    assert book(client, world, "2025-11-10T00:00Z", "2025-11-10T00:45Z").status_code == 201
    assert book(client, world, "2025-11-16T23:00Z", "2025-11-16T23:15Z").status_code == 201  # exactly 1 h in all


def test_partner_over_quota_is_403_naming_the_policy(client, app, world):
    one_hour_a_week(app, world)
    assert book(client, world, "2025-11-10T00:00Z", "2025-11-10T00:45Z").status_code == 201
    response = book(client, world, "2025-11-12T10:00Z", "2025-11-12T10:30Z")
    assert response.status_code == 403
    [error] = response.json()["detail"]
    assert error["type"] == "policy"
    assert error["msg"].startswith(
        f"sharing policy {policy_id(app, world)} ({KASA} → {AEM}, antenna 'uhf') allows 1 h per week; {AEM} "
        "already holds 0.75 h in the week of 2025-11-10, and this contact needs 0.5 h more")
    with session_scope(app.state.session_factory, write=False) as session:
        assert session.query(Contact).count() == 1


def test_blackout_is_403(client, app, world):
    with session_scope(app.state.session_factory) as session:
        policy = session.query(SharingPolicy).filter_by(antenna_id=world.kasa.antenna_id).one()
        policy.blackout_windows = [{"start": "2030-01-01T00:00Z", "end": "2030-01-02T00:00Z"}]
    response = book(client, world, "2030-01-01T12:00Z", "2030-01-01T12:10Z")
    assert response.status_code == 403
    assert response.json()["detail"][0]["msg"].startswith(
        f"sharing policy {policy_id(app, world)} ({KASA} → {AEM}, antenna 'uhf') has a blackout from "
        "2030-01-01T00:00:00.000Z to 2030-01-02T00:00:00.000Z")
    assert book(client, world, "2030-01-02T00:00Z", "2030-01-02T00:10Z").status_code == 201


def test_owner_books_its_own_antenna_past_the_partner_quota(client, app, world):
    one_hour_a_week(app, world)
    assert book(client, world, "2025-11-10T00:00Z", "2025-11-10T00:45Z").status_code == 201
    body = {"antenna_id": world.kasa.antenna_id, "satellite_id": world.kasa.satellite_id, "allow_outside_pass": True,
            "start": "2025-11-11T00:00Z", "end": "2025-11-11T01:00Z"}
    assert client.post("/contacts", json=body, headers=world.kasa.auth()).status_code == 201
