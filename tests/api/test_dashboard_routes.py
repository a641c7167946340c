"""The dashboard's views: GET /clock, GET /satellites/tracks and GET /contacts/{id}/geometry.

Positions and look angles are checked against Skyfield, an independent implementation
(its own TEME -> GCRS -> ITRS chain with precession, nutation and UT1), from the same TLE
lines.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from skyfield.api import EarthSatellite, load, wgs84

import groundshare
from groundshare.orbits import load_elements
from groundshare.passes import find_passes
from groundshare.store import ElementSetRecord, ElementTextFormat, Satellite, clear_network_clock, session_scope
from groundshare.timeutil import parse_utc
from groundshare.units import DAY_S
from tests.support.worlds import WORLD_NOW

TLE_FILE = Path(groundshare.__file__).parent / "data" / "celestrak_cubesat_2025-11-06.tle"
AT = "2025-11-07T00:00:00Z"
AT_DT = datetime(2025, 11, 7, tzinfo=UTC)
TS = load.timescale()
# Agreement with Skyfield: the frames differ only by UT1 - UTC (< 0.9 s) and the GMST 1982
# against IAU 2000 Earth rotation, a few metres.
ANGLE_TOL_DEG = 0.05
ALT_TOL_KM = 1.0

#: Largest disagreements seen, printed at the end of the module (``pytest -s``) for the report.
WORST = {"lat_deg": 0.0, "lon_deg": 0.0, "alt_km": 0.0, "az_deg": 0.0, "el_deg": 0.0}


@pytest.fixture(scope="module", autouse=True)
def _report_worst():
    yield
    print(f"\nlargest disagreement with Skyfield: {WORST}")


def _worst(name: str, value: float) -> None:
    WORST[name] = max(WORST[name], float(value))


@pytest.fixture
def elements(app, world):
    """Give aem's public, kasa's private and uni's private satellites real element sets from the shipped file."""
    sets = load_elements(TLE_FILE, on_error="raise").elements[:3]
    owners = {"aem": sets[0], "kasa": sets[1], "uni": sets[2]}
    with session_scope(app.state.session_factory) as session:
        for org_name, element_set in owners.items():
            satellite = session.get(Satellite, getattr(world, org_name).satellite_id)
            satellite.norad_id = element_set.norad_id
            text = f"{element_set.name}\n{element_set.line1}\n{element_set.line2}\n"
            session.add(ElementSetRecord(satellite_id=satellite.id, epoch=element_set.epoch,
                                         format=ElementTextFormat.TLE, text=text, source="shipped"))
    return owners


def _skyfield(element_set) -> EarthSatellite:
    return EarthSatellite(element_set.line1, element_set.line2, element_set.name, TS)


def _times(start: datetime, offsets_s) -> object:
    return TS.from_datetimes([start + timedelta(seconds=float(s)) for s in offsets_s])


# ---------------------------------------------------------------------------------------------- clock


def test_one_network_clock_for_every_organisation_and_it_runs(client, app, world, elements):
    """The world's clock is anchored at WORLD_NOW (as the demo's is at its epoch): the same for everyone, running."""
    bodies = {name: client.get("/clock", headers=getattr(world, name).auth()).json() for name in ("kasa", "aem", "uni")}
    for body in bodies.values():
        assert body["mode"] == "shifted" and body["message"].startswith("The network's clock runs ")
        assert body["now"].endswith("Z") and body["wall_clock"].endswith("Z")
        assert abs(parse_utc(body["wall_clock"]) - datetime.now(UTC)) < timedelta(minutes=5)
        assert body["offset_s"] == pytest.approx((WORLD_NOW - parse_utc(body["wall_clock"])).total_seconds(), abs=60)
        assert parse_utc(body["now"]) - parse_utc(body["wall_clock"]) == timedelta(seconds=body["offset_s"])
    nows = [parse_utc(b["now"]) for b in bodies.values()]
    assert max(nows) - min(nows) < timedelta(seconds=5)  # one clock, read three times
    # It runs at the wall clock's pace (it used to stand still at the data's epoch).
    time.sleep(1.1)
    later = parse_utc(client.get("/clock", headers=world.kasa.auth()).json()["now"])
    assert timedelta(seconds=1) <= later - nows[0] < timedelta(seconds=10)
    # data_epoch is the newest of what each may see: kasa its own set and aem's public one, uni not kasa's.
    assert parse_utc(bodies["kasa"]["data_epoch"]) == max(elements["kasa"].epoch, elements["aem"].epoch)
    assert parse_utc(bodies["aem"]["data_epoch"]) == elements["aem"].epoch


def test_clock_is_live_without_an_anchor(client, app, world):
    with session_scope(app.state.session_factory) as session:
        clear_network_clock(session)
    body = client.get("/clock", headers=world.kasa.auth()).json()
    assert body["mode"] == "live" and body["offset_s"] == 0 and body["data_epoch"] is None
    assert body["now"] == body["wall_clock"]


def test_clock_needs_a_token(client, world):
    assert client.get("/clock").status_code == 401


# ---------------------------------------------------------------------------------------------- tracks


def test_tracks_agree_with_skyfield(client, world, elements):
    response = client.get("/satellites/tracks", params={"at": AT, "step_s": 120}, headers=world.kasa.auth())
    assert response.status_code == 200, response.text
    body = response.json()
    assert parse_utc(body["at"]) == AT_DT and body["step_s"] == 120
    by_id = {row["satellite_id"]: row for row in body["data"]}
    assert set(by_id) == {world.kasa.satellite_id, world.aem.satellite_id}  # uni's private one is absent
    for org_name in ("kasa", "aem"):
        row = by_id[getattr(world, org_name).satellite_id]
        element_set = elements[org_name]
        assert row["norad_id"] == element_set.norad_id
        assert row["period_s"] == pytest.approx(DAY_S / element_set.mean_motion_rev_day, abs=1e-3)
        assert row["element_age_days"] == pytest.approx((AT_DT - element_set.epoch).total_seconds() / DAY_S)
        track = np.array(row["track"])
        # One period each side by default, every 120 s, with the point at 'at' in it.
        assert track[0, 0] <= -row["period_s"] + 120 and track[-1, 0] >= row["period_s"] - 120
        assert np.all(np.diff(track[:, 0]) == 120) and 0.0 in track[:, 0]
        assert np.all((track[:, 2] >= -180) & (track[:, 2] < 180))
        sat = _skyfield(element_set)
        offsets = np.concatenate([[0.0], track[::7, 0]])
        where = sat.at(_times(AT_DT, offsets))
        lat, lon = wgs84.latlon_of(where)
        height_km = wgs84.height_of(where).km
        ours = np.vstack([[row["position"]["lat_deg"], row["position"]["lon_deg"]], track[::7, 1:]])
        d_lat = np.abs(ours[:, 0] - lat.degrees)
        d_lon = np.abs((ours[:, 1] - lon.degrees + 180.0) % 360.0 - 180.0)
        d_alt = abs(row["position"]["alt_km"] - height_km[0])
        _worst("lat_deg", d_lat.max())
        _worst("lon_deg", d_lon.max())
        _worst("alt_km", d_alt)
        assert d_lat.max() < ANGLE_TOL_DEG and d_lon.max() < ANGLE_TOL_DEG, (d_lat.max(), d_lon.max())
        assert d_alt < ALT_TOL_KM


def test_tracks_window_and_filter(client, world, elements):
    params = {"at": AT, "step_s": 60, "before_s": 600, "after_s": 300, "satellite_id": [world.aem.satellite_id]}
    body = client.get("/satellites/tracks", params=params, headers=world.uni.auth()).json()
    assert [row["satellite_id"] for row in body["data"]] == [world.aem.satellite_id]
    assert [p[0] for p in body["data"][0]["track"]] == [float(s) for s in range(-600, 301, 60)]


def test_tracks_default_to_the_clock_and_warn_about_satellites_without_elements(client, world, elements, app):
    with session_scope(app.state.session_factory) as session:
        session.add(Satellite(org_id=world.kasa.id, norad_id=99001, name="NO-ELEMENTS", is_public=False))
    body = client.get("/satellites/tracks", headers=world.kasa.auth()).json()
    clock = client.get("/clock", headers=world.kasa.auth()).json()
    assert abs(parse_utc(body["at"]) - parse_utc(clock["now"])) < timedelta(seconds=5)  # the clock runs
    assert len(body["data"]) == 2
    assert any("NO-ELEMENTS" in w and "no element set" in w for w in body["warnings"])


@pytest.mark.parametrize("params", [{"step_s": 5}, {"step_s": 601}, {"step_s": "abc"}, {"step_s": "nan"},
                                    {"before_s": -1}, {"after_s": 172_801}, {"at": "2025-11-07T00:00:00"},
                                    {"satellite_id": 0}])
def test_tracks_refuse_bad_query_values(client, world, elements, params):
    response = client.get("/satellites/tracks", params=params, headers=world.kasa.auth())
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][0] == "query"


def test_tracks_of_another_orgs_private_satellite_is_404(client, world, elements):
    response = client.get("/satellites/tracks", params={"satellite_id": world.uni.satellite_id},
                          headers=world.kasa.auth())
    assert response.status_code == 404, response.text


# ---------------------------------------------------------------------------------------------- geometry


def _best_pass(app, world, element_set):
    with session_scope(app.state.session_factory, write=False) as session:
        from groundshare.store import Station

        site = session.get(Station, world.kasa.station_id).to_site()
    table = find_passes([element_set], [site], start=AT_DT, duration_s=DAY_S, workers=1)
    passes = [p for p in table if not p.clipped]
    return site, max(passes, key=lambda p: p.max_elevation_deg)


def _book(client, world, satellite_id, best):
    body = {"antenna_id": world.kasa.antenna_id, "satellite_id": satellite_id,
            "start": best.aos.isoformat(), "end": best.los.isoformat()}
    response = client.post("/contacts", json=body, headers=world.kasa.auth())
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_geometry_agrees_with_skyfield_and_has_the_link(client, app, world, elements):
    radio = {"downlink_frequency_hz": 436.5e6, "downlink_eirp_dbw": 0.58, "data_rate_bps": 9600.0}
    assert client.patch(f"/satellites/{world.aem.satellite_id}", json=radio,
                        headers=world.aem.auth()).status_code == 200
    assert client.patch(f"/stations/{world.kasa.station_id}/antennas/{world.kasa.antenna_id}",
                        json={"g_over_t_dbk": -11.9}, headers=world.kasa.auth()).status_code == 200
    site, best = _best_pass(app, world, elements["aem"])
    contact_id = _book(client, world, world.aem.satellite_id, best)

    response = client.get(f"/contacts/{contact_id}/geometry", params={"step_s": 1}, headers=world.kasa.auth())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["satellite_id"] == world.aem.satellite_id and body["station_id"] == world.kasa.station_id
    assert body["antenna_id"] == world.kasa.antenna_id and body["status"] == "scheduled"
    assert body["element_set"]["source"] == "booking snapshot"
    samples = body["samples"]
    n = len(samples["t"])
    assert n == int(np.ceil(best.duration_s)) + 1
    assert all(len(samples[key]) == n for key in ("az_deg", "el_deg", "range_km", "range_rate_km_s",
                                                  "downlink_hz", "margin_db", "data_rate_bps"))
    # Sample times are ISO 8601 with milliseconds, as the pass listings give them.
    assert abs(parse_utc(samples["t"][0]) - parse_utc(body["start"])) < timedelta(milliseconds=1)
    assert abs(parse_utc(samples["t"][-1]) - parse_utc(body["end"])) < timedelta(milliseconds=1)
    # The contact spans the pass: it starts and ends at the station's threshold (5 deg).
    assert samples["el_deg"][0] == pytest.approx(site.min_elevation_deg, abs=0.01)
    assert samples["el_deg"][-1] == pytest.approx(site.min_elevation_deg, abs=0.01)
    assert body["max_elevation_deg"] == pytest.approx(best.max_elevation_deg, abs=0.01)

    sat = _skyfield(elements["aem"])
    topos = wgs84.latlon(site.lat_deg, site.lon_deg, elevation_m=site.alt_m)
    pick = np.linspace(0, n - 1, 9).astype(int)
    start = parse_utc(body["start"])
    # Samples every second from start, and the last one at the end itself.
    offsets_s = np.minimum(pick * 1.0, (parse_utc(body["end"]) - start).total_seconds())
    alt, az, _ = (sat - topos).at(_times(start, offsets_s)).altaz()
    d_el = np.abs(np.array(samples["el_deg"])[pick] - alt.degrees)
    d_az = np.abs((np.array(samples["az_deg"])[pick] - az.degrees + 180.0) % 360.0 - 180.0)
    _worst("el_deg", d_el.max())
    _worst("az_deg", d_az.max())
    assert d_el.max() < ANGLE_TOL_DEG and d_az.max() < ANGLE_TOL_DEG, (d_el.max(), d_az.max())

    # Approaching at AOS: heard high; receding at LOS: heard low.
    assert samples["downlink_hz"][0] > radio["downlink_frequency_hz"] > samples["downlink_hz"][-1]
    assert samples["range_rate_km_s"][0] < 0 < samples["range_rate_km_s"][-1]
    margin = np.array(samples["margin_db"])
    assert margin.argmax() == pytest.approx(np.argmin(samples["range_km"]), abs=2)  # best at closest approach
    assert samples["data_rate_bps"] == [9600.0 if m >= 0 else 0.0 for m in margin]
    assert "Eb/N0" in body["link_note"]


def test_geometry_without_radio_parameters_says_what_is_missing(client, app, world, elements):
    _, best = _best_pass(app, world, elements["kasa"])
    contact_id = _book(client, world, world.kasa.satellite_id, best)
    body = client.get(f"/contacts/{contact_id}/geometry", params={"step_s": 10}, headers=world.kasa.auth()).json()
    samples = body["samples"]
    assert samples["downlink_hz"] is None and samples["margin_db"] is None and samples["data_rate_bps"] is None
    assert "downlink_eirp_dbw" in body["link_note"] and "g_over_t_dbk" in body["link_note"]
    assert len(samples["t"]) == int(np.ceil(best.duration_s / 10)) + 1


def test_geometry_of_invisible_or_unknown_contact_is_404(client, app, world, elements):
    _, best = _best_pass(app, world, elements["kasa"])
    contact_id = _book(client, world, world.kasa.satellite_id, best)
    assert client.get(f"/contacts/{contact_id}/geometry", headers=world.uni.auth()).status_code == 404
    assert client.get("/contacts/999999/geometry", headers=world.kasa.auth()).status_code == 404


@pytest.mark.parametrize("step_s", [0.1, 61, "x", "inf"])
def test_geometry_refuses_bad_step(client, app, world, elements, step_s):
    _, best = _best_pass(app, world, elements["kasa"])
    contact_id = _book(client, world, world.kasa.satellite_id, best)
    response = client.get(f"/contacts/{contact_id}/geometry", params={"step_s": step_s}, headers=world.kasa.auth())
    assert response.status_code == 422, response.text


def test_geometry_without_any_element_set_is_409(client, world):
    start = AT_DT
    body = {"antenna_id": world.kasa.antenna_id, "satellite_id": world.kasa.satellite_id, "allow_outside_pass": True,
            "start": start.isoformat(), "end": (start + timedelta(minutes=10)).isoformat()}
    contact_id = client.post("/contacts", json=body, headers=world.kasa.auth()).json()["id"]
    response = client.get(f"/contacts/{contact_id}/geometry", headers=world.kasa.auth())
    assert response.status_code == 409, response.text


def test_geometry_never_hands_out_the_satellites_current_orbit(client, app, world):
    """A contact booked before its private satellite had elements: its antenna's owner never reads the orbit later."""
    # aem books its own private satellite on kasa's shared antenna before it has an element set (an operator's search).
    with session_scope(app.state.session_factory) as session:
        session.get(Satellite, world.aem.satellite_id).is_public = False
    body = {"antenna_id": world.kasa.antenna_id, "satellite_id": world.aem.satellite_id, "allow_outside_pass": True,
            "start": "2025-11-07T00:00:00Z", "end": "2025-11-07T00:10:00Z"}
    booked = client.post("/contacts", json=body, headers=world.aem.auth())
    assert booked.status_code == 201, booked.text
    contact_id = booked.json()["id"]
    # Later, aem uploads the satellite's current orbit; kasa (the antenna's owner) still sees the contact ...
    element_set = load_elements(TLE_FILE, on_error="raise").elements[0]
    assert client.patch(f"/satellites/{world.aem.satellite_id}", json={"norad_id": element_set.norad_id},
                        headers=world.aem.auth()).status_code == 200
    upload = client.post(f"/satellites/{world.aem.satellite_id}/elements",
                         content=f"{element_set.name}\n{element_set.line1}\n{element_set.line2}\n",
                         headers={**world.aem.auth(), "Content-Type": "text/plain"})
    assert upload.status_code == 201, upload.text
    assert client.get(f"/contacts/{contact_id}", headers=world.kasa.auth()).status_code == 200
    # ... but its geometry is computed from what it was booked with (nothing), never from the newest set; even after
    # the contact is cancelled.
    for _ in range(2):
        response = client.get(f"/contacts/{contact_id}/geometry", headers=world.kasa.auth())
        assert response.status_code == 409, response.text
        assert "booked without an element set" in response.json()["detail"][0]["msg"]
        assert element_set.line1 not in response.text
        client.post(f"/contacts/{contact_id}/cancel", headers=world.aem.auth())
