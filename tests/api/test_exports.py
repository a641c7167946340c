"""Exports: the iCalendar feed, CSV and JSON of the contacts a caller may see."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from groundshare.store import Role, session_scope, set_network_clock
from tests.support.worlds import WORLD_NOW

WINDOW = {"start": "2030-05-01T00:00:00Z", "end": "2030-05-02T00:00:00Z"}


def book(client, org, antenna_id, satellite_id, start, end, notes=""):
    body = {"antenna_id": antenna_id, "satellite_id": satellite_id, "start": start, "end": end, "notes": notes,
            "allow_outside_pass": True}  # each organisation books its own satellite, which has no element set here
    response = client.post("/contacts", json=body, headers=org.auth())
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def booked(client, world):
    k, a, u = world.kasa, world.aem, world.uni
    ids = {
        "own": book(client, k, k.antenna_id, k.satellite_id, "2030-05-01T03:00:00Z", "2030-05-01T03:10:00Z",
                    notes="=HYPERLINK(\"http://x\")"),
        "partner": book(client, a, k.antenna_id, a.satellite_id, "2030-05-01T04:00:00Z", "2030-05-01T04:12:30Z"),
        "cancelled": book(client, k, k.unshared_antenna_id, k.satellite_id, "2030-05-01T05:00:00Z",
                          "2030-05-01T05:10:00Z"),
        "aem_station": book(client, a, a.antenna_id, a.satellite_id, "2030-05-01T06:00:00Z", "2030-05-01T06:10:00Z"),
        "uni_station": book(client, u, u.antenna_id, u.satellite_id, "2030-05-01T07:00:00Z", "2030-05-01T07:10:00Z"),
        "later": book(client, k, k.antenna_id, k.satellite_id, "2030-06-01T03:00:00Z", "2030-06-01T03:10:00Z"),
    }
    assert client.post(f"/contacts/{ids['cancelled']}/cancel", headers=k.auth()).status_code == 200
    return ids


def feed(client, caller, role=Role.VIEWER, **params):
    response = client.get("/exports/contacts.ics", params=params, headers=caller.auth(role))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    return calendar, {str(e["uid"]): e for e in calendar.walk("VEVENT")}


def test_station_feed(client, world, booked):
    calendar, events = feed(client, world.kasa, station_id=world.kasa.station_id, **WINDOW)
    assert str(calendar["prodid"]) == "-//groundshare//contacts//EN" and str(calendar["version"]) == "2.0"
    assert set(events) == {f"contact-{booked[name]}@groundshare" for name in ("own", "partner", "cancelled")}
    partner = events[f"contact-{booked['partner']}@groundshare"]
    assert partner.decoded("dtstart") == datetime(2030, 5, 1, 4, 0, tzinfo=UTC)
    assert partner.decoded("dtend") == datetime(2030, 5, 1, 4, 12, 30, tzinfo=UTC)
    assert partner.decoded("dtstart").utcoffset() == timedelta(0)
    assert str(partner["summary"]) == "CHETUMAL-SAT on daejeon-1/uhf"
    description = str(partner["description"])
    assert "NORAD 49263" in description and "booked by Agencia Espacial Mexicana" in description
    assert "status scheduled" in description
    assert str(partner["status"]) == "CONFIRMED" and "dtstamp" in partner
    cancelled = events[f"contact-{booked['cancelled']}@groundshare"]
    assert str(cancelled["status"]) == "CANCELLED" and int(cancelled["sequence"]) > int(partner["sequence"])
    assert str(cancelled["summary"]) == "DAEJEON-1-SAT on daejeon-1/dish"
    # Times are UTC with Z, as subscribers expect.
    assert b"DTSTART:20300501T040000Z" in client.get(
        "/exports/contacts.ics", params={"station_id": world.kasa.station_id, **WINDOW},
        headers=world.kasa.auth()).content


def test_uids_are_stable(client, world, booked):
    first = feed(client, world.kasa, **WINDOW)[1]
    client.post(f"/contacts/{booked['own']}/cancel", headers=world.kasa.auth())
    second = feed(client, world.kasa, **WINDOW)[1]
    assert set(first) == set(second)
    uid = f"contact-{booked['own']}@groundshare"
    assert str(first[uid]["status"]) == "CONFIRMED" and str(second[uid]["status"]) == "CANCELLED"


def test_partner_sees_only_its_own_contacts_on_a_shared_station(client, world, booked):
    _, events = feed(client, world.aem, station_id=world.kasa.station_id, **WINDOW)
    assert set(events) == {f"contact-{booked['partner']}@groundshare"}


def test_organisation_feed(client, world, booked):
    _, mine = feed(client, world.aem, org="mine", **WINDOW)
    assert set(mine) == {f"contact-{booked[n]}@groundshare" for n in ("partner", "aem_station")}
    _, default = feed(client, world.aem, **WINDOW)
    assert set(default) == set(mine)
    _, kasa = feed(client, world.kasa, **WINDOW)  # booked by kasa or on kasa's antennas
    assert set(kasa) == {f"contact-{booked[n]}@groundshare" for n in ("own", "partner", "cancelled")}


def test_feed_of_a_foreign_station_is_404(client, world, booked):
    response = client.get("/exports/contacts.ics", params={"station_id": world.kasa.station_id},
                          headers=world.uni.auth())
    assert response.status_code == 404


def test_default_window_follows_the_networks_clock(client, app, world):
    now = WORLD_NOW + timedelta(days=10)

    def at(hours: float) -> str:
        return (now + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")

    k = world.kasa
    recent = book(client, k, k.antenna_id, k.satellite_id, at(-24 * 6), at(-24 * 6 + 0.1))
    soon = book(client, k, k.antenna_id, k.satellite_id, at(24 * 29), at(24 * 29 + 0.1))
    book(client, k, k.antenna_id, k.satellite_id, at(-24 * 8), at(-24 * 8 + 0.1))
    book(client, k, k.antenna_id, k.satellite_id, at(24 * 31), at(24 * 31 + 0.1))
    with session_scope(app.state.session_factory) as session:  # ten days later, on the network's clock
        set_network_clock(session, now, reason="ten days later")
    assert set(feed(client, k)[1]) == {f"contact-{recent}@groundshare", f"contact-{soon}@groundshare"}
    assert [c["id"] for c in client.get("/exports/contacts.json", headers=k.auth()).json()["data"]] == [recent, soon]


def test_a_station_name_with_a_line_break_is_escaped_in_the_feed(client, world, booked):
    renamed = client.patch(f"/stations/{world.kasa.station_id}", json={"name": "daejeon\r\nX-EVIL:1;a,b"},
                           headers=world.kasa.auth())
    assert renamed.status_code == 200, renamed.text
    for params in ({"station_id": world.kasa.station_id, **WINDOW}, WINDOW):
        response = client.get("/exports/contacts.ics", params=params, headers=world.kasa.auth())
        assert response.status_code == 200, response.text
        lines = response.content.decode().split("\r\n")
        assert not any(line.startswith("X-EVIL") for line in lines)  # no property smuggled in
        assert all("\n" not in line and "\r" not in line for line in lines)
        calendar = Calendar.from_ical(response.content)
        assert len(calendar.walk("VEVENT")) == 3
    name_line = next(line for line in lines if line.startswith("SUMMARY:"))
    assert "daejeon\\nX-EVIL:1\\;a\\,b" in name_line


def test_csv(client, world, booked):
    response = client.get("/exports/contacts.csv", params=WINDOW, headers=world.kasa.auth())
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["id"]) for r in table] == [booked["own"], booked["partner"], booked["cancelled"]]
    own, partner, cancelled = table
    assert (partner["start"], partner["end"]) == ("2030-05-01T04:00:00.000Z", "2030-05-01T04:12:30.000Z")
    assert partner["station_name"] == "daejeon-1" and partner["antenna_name"] == "uhf"
    assert partner["norad_id"] == "49263" and partner["org_name"] == "Agencia Espacial Mexicana"
    assert partner["status"] == "scheduled" and partner["bytes_received"] == "" and partner["started_at"] == ""
    assert cancelled["status"] == "cancelled"
    assert own["notes"] == "'=HYPERLINK(\"http://x\")"  # a formula is written as text for spreadsheets


def test_csv_filters(client, world, booked):
    response = client.get("/exports/contacts.csv", params={**WINDOW, "satellite_id": world.aem.satellite_id},
                          headers=world.aem.auth())
    assert [int(r["id"]) for r in csv.DictReader(io.StringIO(response.text))] == [booked["partner"],
                                                                                   booked["aem_station"]]
    header_only = client.get("/exports/contacts.csv", params={"start": "2031-01-01T00:00:00Z"},
                             headers=world.aem.auth())
    assert header_only.text.splitlines() == [header_only.text.splitlines()[0]]
    assert header_only.text.startswith("id,status,start,end,station_id")


@pytest.mark.parametrize("params", [
    {},
    {"station_id": "STATION"},
    {"satellite_id": "SATELLITE"},
    {"start": "2030-05-01T03:05:00Z", "end": "2030-05-01T04:05:00Z"},
])
def test_json_matches_get_contacts(client, world, booked, params):
    params = {**WINDOW, **params}
    params = {k: {"STATION": world.kasa.station_id, "SATELLITE": world.kasa.satellite_id}.get(v, v)
              for k, v in params.items()}
    exported = client.get("/exports/contacts.json", params=params, headers=world.kasa.auth())
    listed = client.get("/contacts", params=params, headers=world.kasa.auth())
    assert exported.status_code == 200
    assert exported.json() == listed.json()


@pytest.mark.parametrize(("params", "loc"), [
    ({"station_id": 0}, ["query", "station_id"]),
    ({"satellite_id": "x"}, ["query", "satellite_id"]),
    ({"org": "theirs"}, ["query", "org"]),
    ({"start": "2030-05-01T00:00:00"}, ["query", "start"]),
    ({"start": "2030-05-02T00:00:00Z", "end": "2030-05-01T00:00:00Z"}, ["query", "end"]),
    ({"start": "2030-01-01T00:00:00Z", "end": "2031-06-01T00:00:00Z"}, ["query", "end"]),
])
def test_bad_query_names_the_field(client, world, params, loc):
    path = "/exports/contacts.ics" if "org" in params else "/exports/contacts.csv"
    response = client.get(path, params=params, headers=world.kasa.auth())
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc


@pytest.mark.parametrize("path", ["/exports/contacts.ics", "/exports/contacts.csv", "/exports/contacts.json"])
def test_exports_need_a_token(client, world, path):
    assert client.get(path).status_code == 401
    assert client.get(path, params={"token": world.kasa.tokens[Role.ADMIN]}).status_code == 401  # no token in URLs


def test_too_many_rows_is_422(client, world, booked, monkeypatch):
    from groundshare.api.routes import exports

    monkeypatch.setattr(exports, "MAX_EXPORT_ROWS", 2)
    response = client.get("/exports/contacts.json", params=WINDOW, headers=world.kasa.auth())
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"].startswith("the export would hold 3 contacts, more than 2")
