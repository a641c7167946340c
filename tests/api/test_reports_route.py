"""``GET /reports``: the caller's organisation's report, agreeing with ``GET /ledger`` and ``GET /contacts``."""

from __future__ import annotations

import pytest

from groundshare.extras import installed
from groundshare.store import Role
from tests.support.report_contacts import PERIOD, add_report_contacts
from tests.support.worlds import WORLD_ORGS


@pytest.fixture
def month(app, world):
    return add_report_contacts(app.state.session_factory, world)


def get_json(client, org, period=PERIOD, role=Role.VIEWER):
    response = client.get("/reports", params={"period": period, "format": "json"}, headers=org.auth(role))
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("period", [PERIOD, "2025-11-03..2025-11-17"])
def test_the_reports_hours_and_bytes_are_the_ledgers(client, world, month, period):
    for org in (world.kasa, world.aem):
        report = get_json(client, org, period).json()
        start, end = report["period"]["start"], report["period"]["end"]
        ledger = client.get("/ledger", params={"start": start, "end": end, "period": "day"},
                            headers=org.auth(Role.VIEWER)).json()
        rows = [r for r in ledger["data"] if not r["is_self_use"]]
        given = sum(r["booked_hours"] for r in rows if r["owner_org_id"] == org.id)
        received = sum(r["booked_hours"] for r in rows if r["user_org_id"] == org.id)
        assert (report["reciprocity"]["given_hours"], report["reciprocity"]["received_hours"]) == (
            round(given, 3), round(received, 3))
        delivered = [r for r in ledger["delivered"] if r["role"] == "satellite_operator"]
        assert report["data"]["bytes"] == sum(r["frame_bytes"] + r["artifact_bytes"] for r in delivered)
        assert report["data"]["frames"] == sum(r["frames"] for r in delivered)


def test_the_reports_counts_are_the_contacts_api_lists(client, world, month):
    for org in (world.kasa, world.aem):
        report = get_json(client, org).json()
        listed = client.get("/contacts", params={"start": "2025-10-01T00:00:00Z", "end": "2025-12-01T00:00:00Z",
                                                 "limit": 500}, headers=org.auth(Role.VIEWER)).json()["data"]
        own = [c for c in listed if c["org_id"] == org.id and report["period"]["start"] <= c["start"]
               .replace("+00:00", "Z") and c["start"] < "2025-12-01"]
        statuses = [c["status"] for c in own]
        contacts = report["contacts"]
        assert contacts["executed"] == statuses.count("completed")
        assert contacts["failed"] == statuses.count("failed")
        assert contacts["booked"] == len([s for s in statuses if s != "cancelled"])


def test_the_json_is_an_attachment_and_the_same_each_time(client, world, month):
    first = get_json(client, world.kasa)
    assert first.headers["content-type"].startswith("application/json")
    assert first.headers["content-disposition"] == (
        'attachment; filename="groundshare-report-Korea-AeroSpace-Administration-2025-11.json"')
    assert get_json(client, world.kasa).content == first.content
    assert first.json()["organisation"] == {"id": world.kasa.id, "name": world.kasa.name}


def test_an_organisation_sees_only_its_own_report_and_names_it_may_see(client, world, month):
    text = get_json(client, world.aem, "2025-Q4").text
    uni_name, _, uni_station, *_ = WORLD_ORGS[2]
    for private in (uni_name, uni_station, f"{uni_station.upper()}-SAT", "DAEJEON-1-SAT"):
        assert private not in text
    assert get_json(client, world.uni).json()["reciprocity"]["partners"] == []


@pytest.mark.parametrize(("params", "field", "says"), [
    ({"period": "2025-13"}, "period", "months are 01 to 12"),
    ({"period": "2024-01-01..2025-06-01"}, "period", "at most 366 days"),
    ({"period": "last month"}, "period", "is not a month"),
    ({"period": "2025-11", "format": "docx"}, "format", ""),
    ({"period": "2025-11", "lang": "fr"}, "lang", ""),
    ({}, "period", ""),
])
def test_a_bad_query_is_a_422_naming_the_field(client, world, params, field, says):
    response = client.get("/reports", params=params, headers=world.kasa.auth(Role.VIEWER))
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", field]
    assert says in error["msg"]


@pytest.mark.skipif(not installed("report"), reason="the report extra (PDF and HTML) is not installed")
@pytest.mark.parametrize(("fmt", "starts"), [("pdf", b"%PDF"), ("html", b"<!")])
def test_the_document_comes_as_pdf_or_html(client, world, month, fmt, starts):
    try:
        import groundshare.report.render  # noqa: F401
    except ImportError:
        pytest.skip("report.render is not there yet")
    response = client.get("/reports", params={"period": PERIOD, "format": fmt, "lang": "ko"},
                          headers=world.kasa.auth(Role.VIEWER))
    assert response.status_code == 200, response.text[:500]
    assert response.content[:64].lstrip().upper().startswith(starts.upper())
    assert response.headers["content-disposition"].endswith(f'-2025-11.{fmt}"')
