"""How a request stands: contacts wanted and booked, its state and the last planning run's reasons.

Also what a planning run answers per contact and per organisation, and how much of a
sharing policy's weekly hours the grantee holds.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from groundshare.timeutil import parse_utc
from tests.support.shipped import CUBESAT_START, CUBESAT_START_Z

TWO_DAYS = {"window_start": CUBESAT_START_Z, "window_end": (CUBESAT_START + timedelta(days=2)).isoformat()}


def make(client, org, satellite_id, **body):
    response = client.post("/requests", json={"satellite_id": satellite_id, **TWO_DAYS, **body}, headers=org.auth())
    assert response.status_code == 201, response.text
    return response.json()


def read(client, org, request_id):
    response = client.get(f"/requests/{request_id}", headers=org.auth())
    assert response.status_code == 200, response.text
    return response.json()


def plan(client, org, *, hours=48, dry_run=False):
    response = client.post("/schedule/runs", json={"start": CUBESAT_START_Z, "hours": hours, "time_limit_s": 5,
                                                   "dry_run": dry_run}, headers=org.auth())
    assert response.status_code == 201, response.text
    return response.json()


def test_contacts_wanted_counts_the_utc_days_the_window_touches(client, world):
    daily = make(client, world.aem, world.aem.satellite_id, contacts_per_day=2)
    assert (daily["contacts_per_day"], daily["contacts_wanted"], daily["contacts_booked"], daily["state"]) == (
        2, 4, 0, "not_planned")
    assert daily["planned_at"] is None and daily["reasons"] == []
    # 12:00 to 12:00 the next day touches two UTC days; ending at midnight does not touch the next one.
    noon = make(client, world.aem, world.aem.satellite_id, contacts_per_day=3,
                window_start="2025-11-07T12:00:00Z", window_end="2025-11-08T12:00:00Z")
    assert noon["contacts_wanted"] == 6
    one_day = make(client, world.aem, world.aem.satellite_id, contacts_per_day=3,
                   window_start="2025-11-07T00:00:00Z", window_end="2025-11-08T00:00:00Z")
    assert one_day["contacts_wanted"] == 3
    once = make(client, world.aem, world.aem.satellite_id)
    assert (once["contacts_per_day"], once["contacts_wanted"]) == (None, 1)
    # PATCH sets and clears it.
    changed = client.patch(f"/requests/{once['id']}", json={"contacts_per_day": 5}, headers=world.aem.auth()).json()
    assert (changed["contacts_per_day"], changed["contacts_wanted"]) == (5, 10)
    cleared = client.patch(f"/requests/{once['id']}", json={"contacts_per_day": None}, headers=world.aem.auth())
    assert cleared.json()["contacts_wanted"] == 1
    listed = client.get("/requests", headers=world.aem.auth()).json()["data"]
    assert [r["contacts_wanted"] for r in listed] == [4, 6, 3, 1]


@pytest.mark.parametrize("value", [0, 97, 1.5])
def test_contacts_per_day_is_bounded(client, world, value):
    response = client.post("/requests", json={"satellite_id": world.aem.satellite_id, **TWO_DAYS,
                                              "contacts_per_day": value}, headers=world.aem.auth())
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "contacts_per_day"]


def test_a_run_honours_contacts_per_day_and_the_request_says_how_it_stands(client, world, elements):
    # Without contacts_per_day the plan takes every pass it can: more than two on a day.
    unbounded = make(client, world.aem, world.aem.satellite_id, min_duration_s=60)
    taken = plan(client, world.aem, dry_run=True)["contacts"]
    assert max(Counter(parse_utc(c["start"]).date() for c in taken).values()) > 2
    client.post(f"/requests/{unbounded['id']}/cancel", headers=world.aem.auth())

    request = make(client, world.aem, world.aem.satellite_id, contacts_per_day=2, min_duration_s=60)
    dry = plan(client, world.aem, dry_run=True)
    assert dry["contacts"] and all(c["booked_contact_id"] is None for c in dry["contacts"])
    assert dry["per_org"] == [{"org_id": world.aem.id, "book": len(dry["contacts"]), "move": 0, "drop": 0}]
    # A dry run writes nothing.
    assert read(client, world.aem, request["id"])["state"] == "not_planned"

    body = plan(client, world.aem)
    assert body["violations"] == [] and body["refused"] == []
    rows = body["contacts"]
    assert len(rows) == len(body["plan"]["contacts"]) == len(body["booked_contact_ids"]) > 0
    assert sorted(c["booked_contact_id"] for c in rows) == sorted(body["booked_contact_ids"])
    assert {c["pass_id"] for c in rows} == set(body["plan"]["contacts"])
    assert all(c["request_id"] == request["id"] and c["org_id"] == world.aem.id
               and c["satellite_id"] == world.aem.satellite_id for c in rows)
    assert body["per_org"] == [{"org_id": world.aem.id, "book": len(rows), "move": 0, "drop": 0}]
    per_day = Counter(parse_utc(c["start"]).date() for c in rows)
    assert max(per_day.values()) <= 2
    contacts = client.get("/contacts", params={"limit": 500}, headers=world.aem.auth()).json()["data"]
    assert {c["id"]: (parse_utc(c["start"]), c["antenna_id"]) for c in contacts} == {
        c["booked_contact_id"]: (parse_utc(c["start"]), c["antenna_id"]) for c in rows}
    after = read(client, world.aem, request["id"])
    assert after["contacts_booked"] == len(rows) and after["contacts_wanted"] == 4
    assert after["planned_at"] is not None
    if len(rows) == 4:
        assert after["state"] == "served" and after["reasons"] == [] and after["status"] == "scheduled"
    else:
        assert after["state"] == "partly_served" and after["reasons"] and after["status"] == "open"
    # Cancelling a contact makes it count no more.
    first = rows[0]["booked_contact_id"]
    assert client.post(f"/contacts/{first}/cancel", headers=world.aem.auth()).status_code == 200
    assert read(client, world.aem, request["id"])["contacts_booked"] == len(rows) - 1
    assert read(client, world.aem, request["id"])["state"] == "partly_served"


def test_a_later_run_counts_the_days_contacts_already_held(client, world, elements):
    # Three days asked for, two contacts a day; the first run plans the first day only (the request stays open).
    three_days = {"window_end": (CUBESAT_START + timedelta(days=3)).isoformat()}
    request = make(client, world.aem, world.aem.satellite_id, contacts_per_day=2, min_duration_s=60, **three_days)
    first = plan(client, world.aem, hours=24)
    assert len(first["contacts"]) == 2
    assert read(client, world.aem, request["id"])["status"] == "open"
    # One of them is cancelled: the day holds one, so a later run may add one there, not two.
    assert client.post(f"/contacts/{first['contacts'][0]['booked_contact_id']}/cancel",
                       headers=world.aem.auth()).status_code == 200
    second = plan(client, world.aem, hours=48)
    assert second["violations"] == [] and second["refused"] == []
    day_one = parse_utc(first["contacts"][0]["start"]).date()
    added = Counter(parse_utc(c["start"]).date() for c in second["contacts"])
    assert added[day_one] == 1 and max(added.values()) == 2
    live = [c for c in client.get("/contacts", params={"limit": 500}, headers=world.aem.auth()).json()["data"]
            if c["status"] == "scheduled"]
    held = Counter(parse_utc(c["start"]).date() for c in live)
    assert held[day_one] == 2 and max(held.values()) == 2
    assert read(client, world.aem, request["id"])["contacts_booked"] == len(live)


def test_an_unserved_request_keeps_the_runs_reasons(client, world, elements):
    # No pass lasts an hour: nothing can serve the request.
    hopeless = make(client, world.aem, world.aem.satellite_id, min_duration_s=3600)
    served = make(client, world.aem, world.aem.satellite_id, min_duration_s=60)
    body = plan(client, world.aem)
    assert body["booked_contact_ids"]
    state = read(client, world.aem, hopeless["id"])
    assert (state["state"], state["contacts_booked"], state["status"]) == ("unserved", 0, "open")
    assert state["planned_at"] is not None
    [reason] = state["reasons"]
    assert reason["kind"] == "no_visibility" and "3600 s or more" in reason["message"]
    assert reason["satellite"] == str(world.aem.satellite_id) and reason["organisation"] == world.aem.name
    assert read(client, world.aem, served["id"])["state"] == "served"
    listed = {r["id"]: r for r in client.get("/requests", headers=world.aem.auth()).json()["data"]}
    assert (listed[hopeless["id"]]["state"], listed[served["id"]]["state"]) == ("unserved", "served")
    # A run that books nothing still records what it found.
    hopeless_too = make(client, world.aem, world.aem.satellite_id, min_duration_s=3000)
    again = plan(client, world.aem)
    assert again["booked_contact_ids"] == []
    assert read(client, world.aem, hopeless_too["id"])["state"] == "unserved"
    # Cancelled is cancelled.
    cancelled = client.post(f"/requests/{hopeless['id']}/cancel", headers=world.aem.auth()).json()
    assert cancelled["state"] == "cancelled"


def test_week_hours_used_counts_the_grantees_contacts_on_the_antenna_that_week(client, world, elements):
    [policy] = client.get("/policies", headers=world.aem.auth()).json()["data"]
    assert (policy["week_start"], policy["week_hours_used"]) == ("2025-11-03", 0.0)  # the world's clock: 2025-11-06
    rows = client.get(f"/satellites/{world.aem.satellite_id}/opportunities",
                      params={"start": CUBESAT_START_Z, "hours": 48}, headers=world.aem.auth()).json()["data"]
    shared = [r for r in rows if r["antenna_id"] == world.kasa.antenna_id and r["bookable"]]
    booked = []
    for row in shared[:2]:
        start = parse_utc(row["aos"])
        end = start + timedelta(minutes=4)
        response = client.post("/contacts", json={"antenna_id": world.kasa.antenna_id,
                                                  "satellite_id": world.aem.satellite_id, "start": row["aos"],
                                                  "end": end.isoformat()}, headers=world.aem.auth())
        assert response.status_code == 201, response.text
        booked.append(response.json()["id"])
    # kasa's own contact on its antenna is not the grantee's.
    own = next(r for r in shared[2:] if parse_utc(r["aos"]) < parse_utc("2025-11-10T00:00:00Z"))
    assert client.post("/contacts", json={"antenna_id": world.kasa.antenna_id, "satellite_id": world.aem.satellite_id,
                                          "start": own["aos"], "end": own["los"]},
                       headers=world.kasa.auth()).status_code == 201
    for org in (world.aem, world.kasa):  # grantee and owner read the same figure
        [seen] = client.get("/policies", headers=org.auth()).json()["data"]
        assert seen["week_hours_used"] == pytest.approx(len(booked) * 4 / 60, abs=1e-6)
        assert client.get(f"/policies/{policy['id']}", headers=org.auth()).json()["week_hours_used"] == \
            seen["week_hours_used"]
    assert client.post(f"/contacts/{booked[0]}/cancel", headers=world.aem.auth()).status_code == 200
    changed = client.patch(f"/policies/{policy['id']}", json={"priority": 3}, headers=world.kasa.auth()).json()
    assert changed["week_hours_used"] == pytest.approx(4 / 60, abs=1e-6)
