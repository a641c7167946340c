"""GET /ledger and /ledger.csv: hours given and used per partner pair, as each organisation may see them."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from groundshare.store import Role
from tests.support.worlds import WORLD_NOW

W1, W2, W3 = "2030-04-29T00:00:00Z", "2030-05-06T00:00:00Z", "2030-05-13T00:00:00Z"  # Mondays
TWO_WEEKS = {"start": W1, "end": W3, "period": "week"}
KASA, AEM = "Korea AeroSpace Administration", "Agencia Espacial Mexicana"


def book(client, org, antenna_id, satellite_id, start, end):
    body = {"antenna_id": antenna_id, "satellite_id": satellite_id, "start": start, "end": end,
            "allow_outside_pass": True}  # each organisation books its own satellite, which has no element set here
    response = client.post("/contacts", json=body, headers=org.auth())
    assert response.status_code == 201, response.text
    return response.json()["id"]


def report(client, world, contact_id, status, bytes_received):
    response = client.post(f"/agent/contacts/{contact_id}/outcome", headers=world.kasa.auth(),
                           json={"status": status, "bytes_received": bytes_received})
    assert response.status_code == 200, response.text


@pytest.fixture
def used(client, world):
    k, a = world.kasa, world.aem
    # aem on kasa's shared uhf across the week boundary (Sun 23:30 to Mon 00:30): 0.5 h in each week.
    crossing = book(client, a, k.antenna_id, a.satellite_id, "2030-05-05T23:30:00Z", "2030-05-06T00:30:00Z")
    report(client, world, crossing, "completed", 1000)
    # aem on uhf in week 2, 45 min, failed (its 5 bytes are not delivered).
    failed = book(client, a, k.antenna_id, a.satellite_id, "2030-05-07T10:00:00Z", "2030-05-07T10:45:00Z")
    report(client, world, failed, "failed", 5)
    # kasa on its own dish: 20 min of self-use in week 1.
    own = book(client, k, k.unshared_antenna_id, k.satellite_id, "2030-05-01T10:00:00Z", "2030-05-01T10:20:00Z")
    report(client, world, own, "completed", 300)
    # Cancelled: not counted.
    cancelled = book(client, k, k.antenna_id, k.satellite_id, "2030-05-02T10:00:00Z", "2030-05-02T10:30:00Z")
    assert client.post(f"/contacts/{cancelled}/cancel", headers=k.auth()).status_code == 200
    # aem on its own antenna, 1 h in week 1, still scheduled: aem's self-use, not kasa's business.
    book(client, a, a.antenna_id, a.satellite_id, "2030-05-03T10:00:00Z", "2030-05-03T11:00:00Z")


def rows(response):
    assert response.status_code == 200, response.text
    return [(r["period_start"], r["owner_org_name"], r["user_org_name"], r["is_self_use"], r["booked_hours"],
             r["completed_hours"], r["failed_hours"], r["contacts"], r["bytes_delivered"])
            for r in response.json()["data"]]


def test_owner_sees_what_it_gave_and_used(client, world, used):
    response = client.get("/ledger", params=TWO_WEEKS, headers=world.kasa.auth(Role.VIEWER))
    body = response.json()
    assert (body["start"], body["end"], body["period"], body["count"]) == (W1, W3, "week", 3)
    assert rows(response) == [
        (W1, KASA, AEM, False, 0.5, 0.5, 0.0, 1, 1000),
        (W1, KASA, KASA, True, 0.333333, 0.333333, 0.0, 1, 300),  # 20 min
        (W2, KASA, AEM, False, 0.5 + 0.75, 0.5, 0.75, 1, 0),  # the crossing contact's second half + the failed one
    ]
    first = body["data"][0]
    assert (first["owner_org_id"], first["user_org_id"], first["period_end"]) == (world.kasa.id, world.aem.id, W2)


def test_partner_sees_only_its_own_pairs(client, world, used):
    assert rows(client.get("/ledger", params=TWO_WEEKS, headers=world.aem.auth())) == [
        (W1, AEM, AEM, True, 1.0, 0.0, 0.0, 1, 0),
        (W1, KASA, AEM, False, 0.5, 0.5, 0.0, 1, 1000),
        (W2, KASA, AEM, False, 1.25, 0.5, 0.75, 1, 0),
    ]


def test_foreign_organisation_sees_nothing(client, world, used):
    assert client.get("/ledger", params=TWO_WEEKS, headers=world.uni.auth()).json()["data"] == []


def test_daily_and_monthly_periods(client, world, used):
    daily = rows(client.get("/ledger", params={"start": "2030-05-05T00:00:00Z", "end": "2030-05-07T00:00:00Z",
                                               "period": "day"}, headers=world.aem.auth()))
    assert daily == [("2030-05-05T00:00:00Z", KASA, AEM, False, 0.5, 0.5, 0.0, 1, 1000),
                     ("2030-05-06T00:00:00Z", KASA, AEM, False, 0.5, 0.5, 0.0, 0, 0)]
    monthly = client.get("/ledger", params={"start": "2030-05-10T00:00:00Z", "end": "2030-05-11T00:00:00Z",
                                            "period": "month"}, headers=world.kasa.auth()).json()
    assert (monthly["start"], monthly["end"]) == ("2030-05-01T00:00:00Z", "2030-06-01T00:00:00Z")
    assert [(r["user_org_name"], r["booked_hours"], r["contacts"]) for r in monthly["data"]] == [
        (AEM, 1.0 + 0.75, 2), (KASA, 0.333333, 1)]  # aem's own antenna is not kasa's business


def test_default_is_the_last_four_weeks_of_the_networks_clock(client, world):
    body = client.get("/ledger", headers=world.kasa.auth()).json()
    start, end = datetime.fromisoformat(body["start"]), datetime.fromisoformat(body["end"])
    now = datetime.fromisoformat(client.get("/clock", headers=world.kasa.auth()).json()["now"])
    assert body["period"] == "week" and end - start == timedelta(weeks=4)
    assert end.weekday() == 0 and end - timedelta(weeks=1) <= now < end
    assert now - WORLD_NOW < timedelta(hours=1)  # the world's network clock, not the wall clock


def test_csv_export(client, world, used):
    response = client.get("/ledger.csv", params=TWO_WEEKS, headers=world.kasa.auth())
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert list(table[0]) == ["period_start", "period_end", "owner_org_id", "owner_org_name", "user_org_id",
                              "user_org_name", "is_self_use", "booked_hours", "completed_hours", "failed_hours",
                              "contacts", "bytes_delivered"]
    assert [(r["period_start"], r["user_org_name"], r["is_self_use"], float(r["booked_hours"]), r["bytes_delivered"])
            for r in table] == [("2030-04-29T00:00:00.000Z", AEM, "false", 0.5, "1000"),
                                ("2030-04-29T00:00:00.000Z", KASA, "true", 0.333333, "300"),
                                ("2030-05-06T00:00:00.000Z", AEM, "false", 1.25, "0")]


@pytest.mark.parametrize(("params", "loc"), [
    ({"period": "fortnight"}, ["query", "period"]),
    ({"start": "2030-05-01T00:00:00"}, ["query", "start"]),
    ({"start": "not a time"}, ["query", "start"]),
    ({"start": "2030-05-02T00:00:00Z", "end": "2030-05-01T00:00:00Z"}, ["query", "end"]),
    ({"start": "2030-01-01T00:00:00Z", "end": "2031-01-02T00:00:01Z"}, ["query", "end"]),
])
@pytest.mark.parametrize("path", ["/ledger", "/ledger.csv"])
def test_bad_query_names_the_field(client, world, params, loc, path):
    response = client.get(path, params=params, headers=world.kasa.auth())
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc


def test_a_year_is_allowed(client, world):
    response = client.get("/ledger", params={"start": "2030-01-01T00:00:00Z", "end": "2031-01-01T00:00:00Z",
                                             "period": "month"}, headers=world.kasa.auth())
    assert response.status_code == 200


def test_ledger_needs_a_token(client, world):
    assert client.get("/ledger").status_code == 401
    assert client.get("/ledger.csv").status_code == 401
