"""GNSS visibility and DOP against an independent computation with Skyfield.

Skyfield propagates the same element sets (its own SGP4 call, its own TEME -> ITRS with
UT1 from its bundled tables) and gives altitude/azimuth from ``(sat - site).at(t).altaz()``;
the DOPs are then computed here from scratch with ``inv(H^T H)``.  Satellites within
0.01 deg of the mask are left out of the count comparison.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest
from typer.testing import CliRunner

from groundshare.cli import app
from groundshare.data import data_path
from groundshare.gnss import dop, dop_series, excluded, visible
from groundshare.orbits import load_elements
from groundshare.passes import Site
from groundshare.units import HOUR_S

skyfield_api = pytest.importorskip("skyfield.api")

GPS = data_path("celestrak_gps-ops_2026-03-09.tle")
GALILEO = data_path("celestrak_galileo_2026-03-09.tle")
SITES = [Site("daejeon", lat_deg=36.37, lon_deg=127.36, alt_m=80.0),
         Site("mexico-city", lat_deg=19.43, lon_deg=-99.13, alt_m=2240.0),
         Site("svalbard", lat_deg=78.23, lon_deg=15.41, alt_m=450.0)]
TIMES = [datetime(2026, 3, 9, 6, 0, tzinfo=UTC), datetime(2026, 3, 10, 17, 30, tzinfo=UTC)]
MASKS = [5.0, 15.0]
NEAR_DEG = 0.01


@pytest.fixture(scope="module")
def elements():
    return list(load_elements(GPS)) + list(load_elements(GALILEO))


@pytest.fixture(scope="module")
def skyfield_angles(elements):
    """Return {(site, time): (alt_deg, az_deg)} over every satellite, from Skyfield."""
    ts = skyfield_api.load.timescale(builtin=True)
    sats = [skyfield_api.EarthSatellite(e.line1, e.line2, e.name, ts) if e.line1 is not None
            else skyfield_api.EarthSatellite.from_satrec(e.to_satrec(), ts) for e in elements]
    out = {}
    for site in SITES:
        where = skyfield_api.wgs84.latlon(site.lat_deg, site.lon_deg, elevation_m=site.alt_m)
        for when in TIMES:
            t = ts.from_datetime(when)
            alt, az = [], []
            for sat in sats:
                a, z, _ = (sat - where).at(t).altaz()
                alt.append(a.degrees)
                az.append(z.degrees)
            out[site.name, when] = (np.array(alt), np.array(az))
    return out


def reference_dop(alt_deg, az_deg, clocks=None):
    """GDOP, PDOP, HDOP, VDOP, TDOP by the textbook formula, one time."""
    el, az = np.radians(alt_deg), np.radians(az_deg)
    geo = np.column_stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)])
    if clocks is None:
        clk = np.ones((len(el), 1))
    else:
        clk = np.column_stack([(np.asarray(clocks) == k).astype(float) for k in np.unique(clocks)])
    h = np.hstack([geo, clk])
    q = np.linalg.inv(h.T @ h)
    d = np.diag(q)
    return np.sqrt(d.sum()), np.sqrt(d[:3].sum()), np.sqrt(d[:2].sum()), np.sqrt(d[2]), np.sqrt(d[3])


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("when", TIMES, ids=["0309", "0310"])
@pytest.mark.parametrize("site", SITES, ids=[s.name for s in SITES])
def test_visible_and_dop_match_skyfield(elements, skyfield_angles, site, when, mask):
    alt, az = skyfield_angles[site.name, when]
    vis = visible(elements, site, [when], mask_deg=mask)
    ours = vis.visible[0]
    clear = np.abs(alt - mask) > NEAR_DEG
    assert np.array_equal(ours[clear], (alt > mask)[clear])
    assert np.abs(vis.el_deg[0] - alt).max() < 0.01
    assert ours.sum() >= 4
    got = dop(vis.az_deg[0], vis.el_deg[0], visible=ours)
    assert bool(got.enough) and int(got.n_visible) == ours.sum()
    want = reference_dop(alt[ours], az[ours])
    for value, expected in zip((got.gdop, got.pdop, got.hdop, got.vdop, got.tdop), want, strict=True):
        assert float(value) == pytest.approx(expected, abs=0.01)
    series = dop_series(elements, site, start=when, duration_s=0.0, step_s=60.0, mask_deg=mask)
    assert series.n_visible[0] == ours.sum()
    assert series.pdop[0] == pytest.approx(want[1], abs=0.01)


def test_separate_clocks_match_reference(elements, skyfield_angles):
    site, when = SITES[0], TIMES[0]
    alt, az = skyfield_angles[site.name, when]
    clocks = np.array([0 if "GPS" in e.name else 1 for e in elements])
    seen = alt > 10.0
    got = dop(az[seen], alt[seen], clocks=clocks[seen])
    want = reference_dop(alt[seen], az[seen], clocks[seen])
    for value, expected in zip((got.gdop, got.pdop, got.hdop, got.vdop, got.tdop), want, strict=True):
        assert float(value) == pytest.approx(expected, abs=1e-9)
    series = dop_series(elements, site, start=when, duration_s=0.0, step_s=60.0, mask_deg=10.0,
                        separate_clocks=True)
    assert series.gdop[0] == pytest.approx(want[0], abs=0.01)


def test_too_few_satellites_give_nan_not_nonsense(elements):
    series = dop_series(elements, SITES[0], start=TIMES[0], duration_s=HOUR_S, step_s=600.0, mask_deg=80.0)
    assert (series.n_visible < 4).all()
    assert not series.enough.any()
    for key in ("gdop", "pdop", "hdop", "vdop", "tdop"):
        assert np.isnan(getattr(series, key)).all()
    assert series.share_pdop_below(6.0) == 0.0
    three = dop(np.array([0.0, 120.0, 240.0]), np.array([30.0, 30.0, 30.0]))
    assert not bool(three.enough) and np.isnan(three.pdop)


def test_exclude_by_name_and_prn(elements):
    gps13 = next(e for e in elements if "(PRN 13)" in e.name)
    assert excluded(gps13, ["13"]) and excluded(gps13, [13]) and excluded(gps13, ["BIIR-2 "])
    assert excluded(gps13, [str(gps13.norad_id)])
    assert not excluded(gps13, ["3", "GALILEO"])
    full = dop_series(elements, SITES[0], start=TIMES[0], duration_s=0.0, step_s=60.0, mask_deg=5.0)
    less = dop_series(elements, SITES[0], start=TIMES[0], duration_s=0.0, step_s=60.0, mask_deg=5.0,
                      exclude=["GALILEO", 13])
    assert gps13.name not in less.names
    assert all("GSAT" not in n for n in less.names)
    assert len(less.names) == len(full.names) - 1 - sum("GSAT" in n for n in full.names)


def _cli(*args):
    return CliRunner().invoke(app, ["gnss", *args, "-e", str(GPS), "-e", str(GALILEO), "--lat-deg", "36.37",
                                    "--lon-deg", "127.36", "--alt-m", "80"])


def test_cli_dop_json_keys():
    result = _cli("dop", "--at", "2026-03-09T06:00Z", "--mask-deg", "5", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"n_visible", "gdop", "pdop", "hdop", "vdop", "tdop", "visible"}
    assert data["n_visible"] == len(data["visible"]) >= 4
    assert data["pdop"] > 0


def test_cli_dop_too_few_in_view():
    result = _cli("dop", "--at", "2026-03-09T06:00Z", "--mask-deg", "80", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["pdop"] is None and data["gdop"] is None
    assert "too few" in result.stderr


def test_cli_plan_csv_and_svg(tmp_path):
    svg = tmp_path / "dop.svg"
    result = _cli("plan", "--start", "2026-03-09T00:00Z", "--hours", "1", "--step-s", "600", "--mask-deg", "5",
                  "--format", "csv", "--svg", str(svg))
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "time,n_visible,gdop,pdop,hdop,vdop,tdop" and len(lines) == 8
    assert "PDOP <= 6" in result.stderr
    text = svg.read_text()
    assert text.startswith("<svg") and text.rstrip().endswith("</svg>") and "<polyline" in text


def test_a_horizon_mask_file_hides_the_sky_behind_it(tmp_path) -> None:
    from typer.testing import CliRunner

    from groundshare.cli import app

    files = ["-e", str(data_path("celestrak_gps-ops_2026-03-09.tle")),
             "-e", str(data_path("celestrak_galileo_2026-03-09.tle"))]
    where = ["--lat-deg", "36.37", "--lon-deg", "127.36", "--at", "2026-03-09T06:00Z", "--mask-deg", "5",
             "--format", "json"]
    open_sky = json.loads(CliRunner().invoke(app, ["gnss", "dop", *files, *where]).stdout)
    wall = tmp_path / "mask.csv"
    wall.write_text("# a ridge to the south\n0,5\n90,5\n135,40\n225,40\n270,5\n")
    masked = CliRunner().invoke(app, ["gnss", "dop", *files, *where, "--horizon-mask", str(wall)])
    assert masked.exit_code == 0, masked.stderr
    behind = json.loads(masked.stdout)
    assert set(behind["visible"]) < set(open_sky["visible"])
    bad = tmp_path / "bad.csv"
    bad.write_text("0,5\nsouth,40\n")
    refused = CliRunner().invoke(app, ["gnss", "dop", *files, *where, "--horizon-mask", str(bad)])
    assert refused.exit_code == 1 and "line 2" in refused.stderr and "azimuth_deg,elevation_deg" in refused.stderr
