"""``POST /leop/campaigns/{id}/identify`` and ``/fit`` on a real launch cluster, from the frames store.

The scenario: kasa runs the demo network's stations (``demo_stations.toml``) and operates
the satellite that launch 2026-052 released (the truth is 2026-052B of the shipped active
catalogue of 2026-03-19).  Twelve hours of its frames (``leop.identify.synthetic_evidence``:
frame losses, time jitter) are written into the frames store through ``store.frames``
(as the agent's frame upload does), one contact per station.  Then identify ranks the
truth first from the store's receptions, fit stores a ``fit`` set that becomes the orbit
in force, and the catalogue's set that agrees with it ends it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from groundshare.leop.identify import launch_members, synthetic_evidence
from groundshare.orbits import ElementSet
from groundshare.roles import Role
from groundshare.stations import load_stations
from groundshare.store import (
    Antenna,
    Band,
    Contact,
    ElementSource,
    Event,
    IncomingFrame,
    LeopCampaign,
    Satellite,
    SourceKind,
    SourceQueryKind,
    Station,
    ingest_frames,
    session_scope,
    set_network_clock,
    store_element_sets,
)
from groundshare.store.elements import DEFAULT_PRIORITY
from groundshare.timeutil import datetime64_to_utc
from tests.support.orbit_sites import OrbitSites, served
from tests.support.shipped import ACTIVE, DEMO_STATIONS, shipped_catalogue

LAUNCH = "2026-052"
TRUTH = "2026-052B"
START = datetime(2026, 3, 19, 12, tzinfo=UTC)
SPAN_S = 43_200.0
NOW = START + timedelta(seconds=SPAN_S)


@pytest.fixture(scope="module")
def cluster() -> list[ElementSet]:
    return launch_members(shipped_catalogue(ACTIVE), LAUNCH)


@pytest.fixture(scope="module")
def truth(cluster) -> ElementSet:
    return next(e for e in cluster if e.object_id == TRUTH)


@pytest.fixture
def sites_server() -> Iterator[OrbitSites]:
    yield from served(OrbitSites())


def _tle_text(sets: list[ElementSet]) -> str:
    return "".join(f"{e.name}\n{e.line1}\n{e.line2}\n" for e in sets)


@pytest.fixture
def scenario(app, world, truth):
    """Kasa's demo stations, its satellite as the truth's NORAD id, a campaign, and 12 h of frames; return ids."""
    factory = app.state.session_factory
    sites = load_stations(DEMO_STATIONS)
    with session_scope(factory) as session:
        stations = [Station(org_id=world.kasa.id, name=s.name, lat_deg=s.lat_deg, lon_deg=s.lon_deg, alt_m=s.alt_m,
                            min_elevation_deg=s.min_elevation_deg,
                            horizon_mask=None if s.horizon_mask is None else
                            [[float(a), float(e)] for a, e in zip(s.horizon_mask.az_deg[1:-1],
                                                                  s.horizon_mask.el_deg[1:-1], strict=True)])
                    for s in sites]
        session.add_all(stations)
        session.flush()
        antennas = [Antenna(station_id=st.id, name="uhf", band=Band.UHF) for st in stations]
        session.add_all(antennas)
        satellite = session.get(Satellite, world.kasa.satellite_id)
        satellite.norad_id = truth.norad_id
        set_network_clock(session, NOW, reason="the campaign's second day")
        campaign = LeopCampaign(org_id=world.kasa.id, satellite_id=satellite.id, name="2026-052 first days",
                                deploy_time=datetime(2026, 3, 16, 6, tzinfo=UTC), deploy_uncertainty_s=600.0,
                                hours=48.0, deployment_text=_tle_text([truth]), deployment_format="tle")
        session.add(campaign)
        session.flush()
        stored_sites = [st.to_site() for st in stations]
        receptions, doppler = synthetic_evidence(truth, stored_sites, START, SPAN_S, rng=np.random.default_rng(20))
        for st, antenna in zip(stations, antennas, strict=True):
            name = st.name
            times = [datetime64_to_utc(t) for t in receptions.received_at[receptions.station == name]]
            if not times:
                continue
            contact = Contact(antenna_id=antenna.id, satellite_id=satellite.id, org_id=world.kasa.id,
                              start_time=START, end_time=NOW, busy_until=NOW, snapshot={},
                              leop_campaign_id=campaign.id)
            session.add(contact)
            session.flush()
            frames = [IncomingFrame(at, f"{name} frame {i}".encode()) for i, at in enumerate(times)]
            for first in range(0, len(frames), 1000):
                ingest_frames(session, contact, frames[first:first + 1000])
        csv = "station,received_at,frequency_hz\n" + "".join(
            f"{s},{datetime64_to_utc(t).isoformat().replace('+00:00', 'Z')},{f:.1f}\n"
            for s, t, f in zip(doppler.station, doppler.received_at, doppler.frequency_hz, strict=True))
        return {"campaign_id": campaign.id, "satellite_id": satellite.id, "receptions": len(receptions),
                "stations": sorted(set(receptions.station.tolist())), "doppler_csv": csv}


def _identify(client, world, campaign_id, body, role=Role.OPERATOR):
    return client.post(f"/leop/campaigns/{campaign_id}/identify", json=body, headers=world.kasa.auth(role))


def test_identify_ranks_the_truth_first_from_the_stores_receptions(client, world, app, scenario, cluster, truth):
    response = _identify(client, world, scenario["campaign_id"], {"candidates_text": _tle_text(cluster)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ranking"][0]["norad_id"] == truth.norad_id
    assert body["ranking"][0]["consistent"] == body["receptions"] == body["receptions_used"] == scenario["receptions"]
    assert body["ranking"][1]["consistent"] < body["receptions"]
    assert body["confidence"] == "clear" and body["verdict"].startswith(f"{truth.name} ({truth.norad_id}) explains")
    assert sorted(body["stations"]) == scenario["stations"] and len(body["ranking"]) == len(cluster)
    assert body["candidates"]["source"] == "candidates_text" and body["candidates"]["count"] == len(cluster)
    with session_scope(app.state.session_factory, write=False) as session:
        kept = session.get(LeopCampaign, scenario["campaign_id"]).identification
        assert kept["ranking"][0]["norad_id"] == truth.norad_id and kept["launch"] == LAUNCH
    # With Doppler too (the CSV the stations measured): the truth fits it to about the noise (50 Hz).
    response = _identify(client, world, scenario["campaign_id"], {
        "candidates_text": _tle_text(cluster), "doppler": [{"name": "doppler.csv", "text": scenario["doppler_csv"]}]})
    assert response.status_code == 200, response.text
    best = response.json()["ranking"][0]
    assert best["norad_id"] == truth.norad_id and 40.0 < best["doppler_rms_hz"] < 60.0


def test_identify_without_receptions_says_so(client, world, app, cluster):
    with session_scope(app.state.session_factory) as session:
        campaign = LeopCampaign(org_id=world.kasa.id, satellite_id=world.kasa.satellite_id, name="before AOS",
                                deploy_time=START, deploy_uncertainty_s=600.0, hours=48.0,
                                deployment_text=_tle_text(cluster[:1]), deployment_format="tle")
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id
    response = _identify(client, world, campaign_id, {"candidates_text": _tle_text(cluster)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["confidence"] == "none" and body["verdict"].startswith("no receptions yet")
    assert body["receptions_used"] == 0 and body["stations"] == []


def test_identify_fetches_the_launch_from_celestrak_politely(client, world, app, scenario, cluster, truth,
                                                           sites_server):
    sites_server.add_elements(shipped_catalogue(ACTIVE).elements[:50])  # other launches too
    sites_server.add_elements(cluster)
    app.state.celestrak_url = sites_server.base_url
    try:
        response = _identify(client, world, scenario["campaign_id"], {"launch": LAUNCH})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["ranking"][0]["norad_id"] == truth.norad_id and len(body["ranking"]) == len(cluster)
        assert body["candidates"]["source"] == f"celestrak INTDES={LAUNCH}"
        assert sites_server.count(f"INTDES={LAUNCH}") == 1
        # Within 2 hours the same query is not asked again: the kept candidates are used.
        again = _identify(client, world, scenario["campaign_id"], {"launch": LAUNCH})
        assert again.status_code == 200, again.text
        assert again.json()["candidates"]["source"].startswith(f"celestrak INTDES={LAUNCH} (kept from ")
        assert sites_server.count(f"INTDES={LAUNCH}") == 1
        # Another launch, asked for the first time, that CelesTrak does not have: 409 naming what it said.
        missing = _identify(client, world, scenario["campaign_id"], {"launch": "2026-999"})
        assert missing.status_code == 409 and "No GP data" not in missing.text
        assert "2026-999" in missing.json()["detail"][0]["msg"]
    finally:
        del app.state.celestrak_url


@pytest.mark.parametrize(("body", "loc", "text"), [
    ({"candidates_text": "OBJECT\n1 68201U 26052B   26078.5 garbage\n2 68201 nonsense\n"}, "candidates_text", ""),
    ({"doppler": [{"name": "rx.csv", "text": "station,received_at,frequency_hz\njeju,yesterday,437e6\n"}]},
     "doppler", "rx.csv line 2"),
    ({"doppler": [{"name": "rx.csv", "text": "station,received_at,frequency_hz\ntokyo,2026-03-19T12:00:00Z,4e8\n"}]},
     "doppler", "'tokyo'"),
    ({"strf_sites": {"4171": "tokyo"}}, "strf_sites", "tokyo"),
    ({"doppler": [{"name": "s.txt", "text": "61118.5 437500000.0 1.0 4171\n"}], "strf_sites": {"4171": "jeju"},
      "launch": LAUNCH}, "candidates_text", "not both"),
])
def test_identify_bad_input_is_422_naming_the_field(client, world, scenario, cluster, body, loc, text):
    full = {"candidates_text": _tle_text(cluster), **body}
    response = _identify(client, world, scenario["campaign_id"], full)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert loc in error["loc"] and text in error["msg"]


def test_candidates_of_another_launch_are_refused(client, world, scenario, cluster):
    stranger = next(e for e in shipped_catalogue(ACTIVE) if e.object_id.startswith("2026-027"))
    response = _identify(client, world, scenario["campaign_id"], {"candidates_text": _tle_text([*cluster, stranger])})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert "candidates_text" in error["loc"] and "one launch" in error["msg"] and stranger.name in error["msg"]


def test_the_campaign_must_be_the_callers(client, world, scenario, cluster, truth):
    body = {"candidates_text": _tle_text(cluster)}
    assert client.post(f"/leop/campaigns/{scenario['campaign_id']}/identify", json=body,
                       headers=world.uni.auth()).status_code == 404
    assert client.post(f"/leop/campaigns/{scenario['campaign_id']}/fit", json={**body, "norad_id": truth.norad_id},
                       headers=world.aem.auth()).status_code == 404
    assert _identify(client, world, scenario["campaign_id"], body, Role.VIEWER).status_code == 403


def test_fit_is_stored_in_force_until_a_published_set_agrees(client, world, app, scenario, cluster, truth):
    campaign_id, satellite_id = scenario["campaign_id"], scenario["satellite_id"]
    doppler = [{"name": "doppler.csv", "text": scenario["doppler_csv"]}]
    # No candidates yet (no identification, none given): 422 saying what to give.
    response = client.post(f"/leop/campaigns/{campaign_id}/fit", json={"norad_id": truth.norad_id},
                           headers=world.kasa.auth())
    assert response.status_code == 422 and "candidates_text" in response.json()["detail"][0]["loc"]
    assert _identify(client, world, campaign_id, {"candidates_text": _tle_text(cluster)}).status_code == 200
    # A number that is not a candidate: 422 naming norad_id.
    response = client.post(f"/leop/campaigns/{campaign_id}/fit", json={"norad_id": 25544},
                           headers=world.kasa.auth())
    assert response.status_code == 422 and "norad_id" in response.json()["detail"][0]["loc"]
    # A neighbour's number is not the satellite's: stored only once the satellite takes that number (409).
    neighbour = next(e for e in cluster if e.norad_id != truth.norad_id)
    response = client.post(f"/leop/campaigns/{campaign_id}/fit", json={"norad_id": neighbour.norad_id},
                           headers=world.kasa.auth())
    assert response.status_code == 409 and f"PATCH /satellites/{satellite_id}" in response.text
    # Viewers fit without storing only.
    body = {"norad_id": truth.norad_id, "doppler": doppler}
    response = client.post(f"/leop/campaigns/{campaign_id}/fit", json=body, headers=world.kasa.auth(Role.VIEWER))
    assert response.status_code == 403
    response = client.post(f"/leop/campaigns/{campaign_id}/fit", json={**body, "store": False},
                           headers=world.kasa.auth(Role.VIEWER))
    assert response.status_code == 200 and response.json()["element_set_id"] is None
    # The operator's fit (from the kept candidates of the identification) is stored and in force.
    response = client.post(f"/leop/campaigns/{campaign_id}/fit", json=body, headers=world.kasa.auth())
    assert response.status_code == 200, response.text
    fit = response.json()
    assert fit["source"] == "fit" and fit["converged"] and fit["element_set_id"] is not None
    assert fit["after"]["explained"] >= fit["after"]["receptions"] - 2 and fit["after"]["doppler_rms_hz"] < 60.0
    listed = client.get(f"/satellites/{satellite_id}/elements", headers=world.kasa.auth()).json()["data"]
    [in_force] = [row for row in listed if row["in_force"]]
    assert in_force["id"] == fit["element_set_id"] and in_force["source_kind"] == "fit" and in_force["source"] == "fit"
    sources = client.get(f"/satellites/{satellite_id}/sources", headers=world.kasa.auth()).json()["data"]
    [fit_source] = [s for s in sources if s["kind"] == "fit"]
    assert fit_source["last_status"].startswith("fitted at ") and "after: " in fit_source["last_status"]
    # A refit replaces the fit of the same epoch (one fit set, the new one in force).
    again = client.post(f"/leop/campaigns/{campaign_id}/fit", json=body, headers=world.kasa.auth()).json()
    listed = client.get(f"/satellites/{satellite_id}/elements", headers=world.kasa.auth()).json()["data"]
    assert [row["id"] for row in listed if row["source_kind"] == "fit"] == [again["element_set_id"]]
    events = client.get("/events", headers=world.kasa.auth()).json()["data"]
    assert sum(e["kind"] == "elements.fitted" for e in events) == 2
    # The catalogue publishes the object (the sync stores it through store_element_sets): it agrees, the fit ends.
    with session_scope(app.state.session_factory) as session:
        satellite = session.get(Satellite, satellite_id)
        celestrak = ElementSource(satellite_id=satellite_id, kind=SourceKind.CELESTRAK,
                                  query_kind=SourceQueryKind.CATNR, query_value=str(truth.norad_id),
                                  priority=DEFAULT_PRIORITY[SourceKind.CELESTRAK], enabled=True)
        session.add(celestrak)
        session.flush()
        store_element_sets(session, satellite, [truth], source=celestrak, fetched_at=NOW, now=NOW)
    listed = client.get(f"/satellites/{satellite_id}/elements", headers=world.kasa.auth()).json()["data"]
    [in_force] = [row for row in listed if row["in_force"]]
    assert in_force["source_kind"] == "celestrak"
    sources = client.get(f"/satellites/{satellite_id}/sources", headers=world.kasa.auth()).json()["data"]
    [fit_source] = [s for s in sources if s["kind"] == "fit"]
    assert fit_source["last_status"].startswith("superseded: celestrak catnr=") and fit_source["expires_at"]
    with session_scope(app.state.session_factory, write=False) as session:
        assert session.scalars(select(Event).where(Event.kind == "elements.fit_superseded")).one()
    assert json.loads(json.dumps(fit["elements"]))["NORAD_CAT_ID"] == truth.norad_id
