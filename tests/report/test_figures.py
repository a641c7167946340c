"""The report's figures, from a small month of contacts written through the store (``tests.support.report_contacts``).

Each figure is checked against the store function the API answers with (``compute_ledger``
for hours and bytes), against the contacts written, and for what the organisation may see.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from groundshare.errors import NotFoundError
from groundshare.report import parse_period
from groundshare.report.figures import SUMMARY_KEYS, compute_report, normalise_reason, report_bytes, report_filename
from groundshare.store import (
    DataRole,
    compute_ledger,
    create_engine_for,
    init_db,
    make_session_factory,
    session_scope,
)
from tests.support.report_contacts import PERIOD, ReportContacts, add_report_contacts
from tests.support.worlds import WORLD_ORGS, World, make_world


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Iterator[tuple[sessionmaker[Session], World, ReportContacts]]:
    engine = create_engine_for(f"sqlite:///{tmp_path_factory.mktemp('report') / 'report.db'}")
    init_db(engine)
    factory = make_session_factory(engine)
    world = make_world(factory)
    contacts = add_report_contacts(factory, world)
    yield factory, world, contacts
    engine.dispose()


def report_of(factory: sessionmaker[Session], org_id: int, period: str = PERIOD) -> dict:
    chosen = parse_period(period)
    with session_scope(factory, write=False) as session:
        return compute_report(session, org_id=org_id, start=chosen.start, end=chosen.end, period_label=chosen.label,
                              kind=chosen.kind).to_dict()


@pytest.mark.parametrize("who", ["kasa", "aem", "uni"])
@pytest.mark.parametrize("period", [PERIOD, "2025-Q4", "2025-11-03..2025-11-17"])
def test_hours_and_bytes_are_the_ledgers(store, who, period):
    factory, world, _ = store
    org = getattr(world, who)
    report = report_of(factory, org.id, period)
    chosen = parse_period(period)
    with session_scope(factory, write=False) as session:
        ledger = compute_ledger(session, start=chosen.start, end=chosen.end, period="day", org_id=org.id)
    given = sum(r.booked_hours for r in ledger.rows if r.owner_org_id == org.id and not r.is_self_use)
    received = sum(r.booked_hours for r in ledger.rows if r.user_org_id == org.id and not r.is_self_use)
    delivered = [r for r in ledger.data if r.role is DataRole.SATELLITE_OPERATOR]
    assert report["reciprocity"]["given_hours"] == round(given, 3)
    assert report["reciprocity"]["received_hours"] == round(received, 3)
    assert report["data"]["frames"] == sum(r.frames for r in delivered)
    assert report["data"]["bytes"] == sum(r.frame_bytes + r.artifact_bytes for r in delivered)
    summary = {row["key"]: row["value"] for row in report["summary"]}
    assert (summary["hours_given"], summary["hours_received"], summary["bytes_delivered"]) == (
        report["reciprocity"]["given_hours"], report["reciprocity"]["received_hours"], report["data"]["bytes"])
    for partner in report["reciprocity"]["partners"]:
        pair_given = sum(r.booked_hours for r in ledger.rows if (r.owner_org_id, r.user_org_id)
                         == (org.id, partner["org_id"]))
        assert partner["given_hours"] == round(pair_given, 3)


def test_the_month_holds_what_was_written(store):
    factory, world, contacts = store
    kasa = report_of(factory, world.kasa.id)
    assert [row["key"] for row in kasa["summary"]] == list(SUMMARY_KEYS)
    assert kasa["contacts"] | {"failure_reasons": None, "satisfaction": None} == {
        "requested": 2, "booked": 3, "executed": 2, "failed": 1, "cancelled": 0, "served_share": 0.5,
        "failure_reasons": None, "satisfaction": None}
    assert kasa["contacts"]["failure_reasons"] == [{"reason": "Station offline", "count": 1}]
    # kasa gave aem 30 + 12 + 12 minutes in November (6 in October) and received 20 minutes.
    [aem] = kasa["reciprocity"]["partners"]
    assert (aem["name"], aem["given_hours"], aem["received_hours"], aem["balance_hours"]) == (
        world.aem.name, 0.9, 0.333, 0.567)
    assert (aem["cumulative_given_hours"], aem["cumulative_balance_hours"]) == (1.0, 0.667)
    summary = {row["key"]: row for row in kasa["summary"]}
    assert summary["hours_given"] | {"key": None} == {"key": None, "value": 0.9, "previous": 0.1, "change": 0.8,
                                                      "change_pct": 800.0}
    assert summary["contacts_executed"]["change_pct"] is None  # nothing the month before
    # Data: kasa's satellite's 3 frames at home and 1 at aem's station, 100 bytes each.
    assert kasa["data"]["per_satellite"] == [{"satellite_id": world.kasa.satellite_id, "name": "DAEJEON-1-SAT",
                                              "frames": 4, "bytes": 400}]
    assert [(s["name"], s["frames"]) for s in kasa["data"]["per_station"]] == [("chetumal", 1), ("daejeon-1", 3)]
    # The station: one outage (the contact it never started), five contacts, three failed.
    [station] = kasa["stations"]
    assert station["outages"] == [{"start": "2025-11-12T08:00:00.000Z", "end": "2025-11-12T08:15:00.000Z",
                                   "reason": "Station offline"}]
    assert (station["contacts"], station["failed"]) == (5, 3)
    assert station["availability"] == round(1 - 0.25 / (30 * 24), 3)
    hours = (10 + 15 + 30 + 12 + 12) / 60
    assert station["utilisation"] == round(hours / (30 * 24 * 2), 3)  # two antennas: uhf and dish
    assert kasa["freshness"] == [{"satellite_id": world.kasa.satellite_id, "name": "DAEJEON-1-SAT",
                                  "element_age_days": 11.0, "state": "warning"}]
    ahead = kasa["ahead"]
    assert (ahead["booked_next_period"], ahead["booked_hours_next_period"]) == (1, 0.15)
    assert [(p["policy_id"], p["partner"]) for p in ahead["policies"]] == [(contacts.aem_policy_id, world.aem.name)]
    assert "blackout from 2025-12-24" in ahead["policies"][0]["note"]
    assert ahead["open_requests_unserved"] == [{
        "request_id": contacts.open_request_id, "satellite": "DAEJEON-1-SAT",
        "window_start": "2025-11-25T00:00:00.000Z", "window_end": "2025-11-28T00:00:00.000Z",
        "reasons": ["no pass meets the minimum elevation"]}]
    series = kasa["series"]
    assert [m["month"] for m in series["hours_by_month"]] == ["2025-06", "2025-07", "2025-08", "2025-09", "2025-10",
                                                              "2025-11"]
    assert series["hours_by_month"][-2:] == [{"month": "2025-10", "given_hours": 0.1, "received_hours": 0.0},
                                             {"month": "2025-11", "given_hours": 0.9, "received_hours": 0.333}]
    assert sum(w["executed"] for w in series["contacts_by_week"]) == 2
    assert series["data_by_satellite"] == [{"name": "DAEJEON-1-SAT", "bytes": 400}]
    satisfaction = kasa["contacts"]["satisfaction"]
    assert satisfaction["basis"] == "contribution"
    assert satisfaction["satisfaction"] == pytest.approx(satisfaction["received_share"]
                                                         / satisfaction["entitlement_share"], abs=0.01)


def test_the_same_reason_counts_once_per_kind(store):
    factory, world, _ = store
    aem = report_of(factory, world.aem.id)
    assert aem["contacts"]["failure_reasons"] == [{"reason": "Rotator not responding", "count": 2}]
    assert normalise_reason("  Rotator   not responding. ") == "Rotator not responding"


@pytest.mark.parametrize("who", ["kasa", "aem", "uni"])
def test_a_report_never_names_what_the_organisation_may_not_see(store, who):
    factory, world, _ = store
    text = json.dumps(report_of(factory, getattr(world, who).id, "2025-Q4"), ensure_ascii=False)
    names = {org: (name, station, f"{station.upper()}-SAT") for org, (name, _, station, *_) in
             zip(("kasa", "aem", "uni"), WORLD_ORGS, strict=True)}
    private = {  # names each may not see: others' private satellites, stations not shared with it, foreign orgs
        "kasa": [names["uni"][0], names["uni"][1], names["uni"][2]],
        "aem": [names["uni"][0], names["uni"][1], names["uni"][2], names["kasa"][2]],
        "uni": [names["kasa"][0], names["aem"][0], names["kasa"][1], names["aem"][1], names["kasa"][2]],
    }[who]
    for name in private:
        assert name not in text, f"{who}'s report names {name!r}"


def test_the_same_store_gives_the_same_report_byte_for_byte(store):
    factory, world, _ = store
    first = report_bytes(report_of(factory, world.kasa.id), "json")
    assert report_bytes(report_of(factory, world.kasa.id), "json") == first
    assert json.loads(first)["generated_from"] == {"network_clock": "2025-11-06T00:00:00.000Z"}


def test_an_unknown_organisation_is_not_found(store):
    factory, _, _ = store
    with pytest.raises(NotFoundError, match="organisation 999"):
        report_of(factory, 999)


def test_the_filename_keeps_to_safe_characters():
    assert report_filename("AEM", "2025-11", "pdf") == "groundshare-report-AEM-2025-11.pdf"
    assert report_filename("Korea Aerospace Research Institute (KARI)", "2025-Q4", "html") == (
        "groundshare-report-Korea-Aerospace-Research-Institute-KARI-2025-Q4.html")
    assert report_filename('"; rm', "2025-11", "json") == "groundshare-report-rm-2025-11.json"
