"""First-contact planning: deployment states to SGP4 elements, and windows over the timing uncertainty.

Real data: the Nuri launch of 2025-11-27 (international designator 2025-274) in the shipped
active catalogue; its first member, BEE-1000 (NORAD 66650), is the truth.
"""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from groundshare.cli import app
from groundshare.data import data_path
from groundshare.errors import InvalidInputError
from groundshare.leop import (
    Deployment,
    StateVector,
    deployment_from_elements,
    deployment_from_state,
    deployment_from_state_file,
    gcrf_to_teme_matrix,
    parse_oem_kvn,
    parse_opm_kvn,
    plan_windows,
)
from groundshare.orbits import ElementSet, load_elements
from groundshare.passes import find_passes
from groundshare.stations import load_stations
from groundshare.timeutil import format_utc, jd_fr

ACTIVE = data_path("celestrak_active_2026-03-19.tle")
STATIONS = data_path("demo_stations.toml")
TRUTH_NORAD = 66650


@pytest.fixture(scope="module")
def truth() -> ElementSet:
    return next(e for e in load_elements(ACTIVE) if e.norad_id == TRUTH_NORAD)


@pytest.fixture(scope="module")
def sites():
    return load_stations(STATIONS)


def teme_state(e: ElementSet, after_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    jd, fr = jd_fr(e.epoch, np.array([after_s]))
    err, r, v = e.to_satrec().sgp4_array(jd, fr)
    assert err[0] == 0
    return r[0], v[0]


def opm(r, v, epoch, frame="GCRF", *, units=("km", "km/s"), center="EARTH", time_system="UTC") -> str:
    names = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
    values = [*r, *v]
    state = "\n".join(f"{n} = {x:.9f} [{units[i // 3]}]" for i, (n, x) in enumerate(zip(names, values, strict=True)))
    return (f"CCSDS_OPM_VERS = 2.0\nCREATION_DATE = 2026-03-19T00:00:00\nORIGINATOR = LAUNCHER\n"
            f"OBJECT_NAME = OURSAT\nOBJECT_ID = 2026-999A\nCENTER_NAME = {center}\nREF_FRAME = {frame}\n"
            f"TIME_SYSTEM = {time_system}\nEPOCH = {epoch.strftime('%Y-%m-%dT%H:%M:%S.%f')}\n{state}\n")


# The deployment.


def test_a_state_fits_sgp4_elements_that_reproduce_it_for_two_days(truth):
    r, v = teme_state(truth)
    state = StateVector(truth.epoch, tuple(r), tuple(v), "TEME", "OURSAT", "2025-274A", "test")
    deployment = deployment_from_state(state, norad_id=99999, bstar=truth.bstar)
    fitted = deployment.elements
    assert deployment.fit_residual_m < 0.01 and deployment.fit_iterations <= 10
    assert fitted.mean_motion_rev_day == pytest.approx(truth.mean_motion_rev_day, rel=1e-9)
    assert fitted.inclination_deg == pytest.approx(truth.inclination_deg, abs=1e-7)
    t_s = np.linspace(0.0, 48 * 3600.0, 97)
    jd, fr = jd_fr(truth.epoch, t_s)
    _, r_truth, _ = truth.to_satrec().sgp4_array(jd, fr)
    _, r_fit, _ = fitted.to_satrec().sgp4_array(jd, fr)
    assert np.linalg.norm(r_truth - r_fit, axis=1).max() < 0.01  # km: the same trajectory (B* as given)


def test_gcrf_to_teme_agrees_with_skyfield(truth):
    skyfield = pytest.importorskip("skyfield.api")
    from skyfield.sgp4lib import TEME

    ts = skyfield.load.timescale(builtin=True)
    for days in (0.0, -2000.0, 3000.0):
        when = truth.epoch + timedelta(days=days)
        theirs = TEME.rotation_at(ts.from_datetime(when))
        ours = gcrf_to_teme_matrix(when)
        angle_mas = math.degrees(math.acos(min(1.0, (np.trace(theirs @ ours.T) - 1.0) / 2.0))) * 3.6e6
        assert angle_mas < 100.0  # frame bias (23 mas) and the truncated nutation: ~1.5 m at LEO


def test_an_opm_in_gcrf_becomes_the_same_elements(tmp_path, truth):
    r, v = teme_state(truth)
    m = gcrf_to_teme_matrix(truth.epoch)
    path = tmp_path / "deploy.opm"
    path.write_text(opm(m.T @ r, m.T @ v, truth.epoch))
    deployment = deployment_from_state_file(path, bstar=truth.bstar)
    assert deployment.kind == "opm" and deployment.elements.object_id == "2026-999A"
    assert deployment.fit_residual_m < 0.01
    back = teme_state(deployment.elements)[0]
    assert np.linalg.norm(back - r) < 1e-5
    assert any("rotated from GCRF" in note for note in deployment.notes)


def test_an_oem_gives_the_state_nearest_the_deployment_time(truth):
    rows = []
    for k in range(3):
        r, v = teme_state(truth, 60.0 * k)
        when = truth.epoch + timedelta(seconds=60.0 * k)
        rows.append(f"{when.strftime('%Y-%m-%dT%H:%M:%S.%f')} " + " ".join(f"{x:.9f}" for x in (*r, *v)))
    text = ("CCSDS_OEM_VERS = 2.0\nCREATION_DATE = 2026-03-19T00:00:00\nORIGINATOR = LAUNCHER\n\nMETA_START\n"
            "OBJECT_NAME = OURSAT\nOBJECT_ID = 2026-999A\nCENTER_NAME = EARTH\nREF_FRAME = TEME\nTIME_SYSTEM = UTC\n"
            "START_TIME = 2026-03-19T06:13:14\nSTOP_TIME = 2026-03-19T06:15:14\nMETA_STOP\n\n"
            + "\n".join(rows) + "\nCOVARIANCE_START\nEPOCH = 2026-03-19T06:13:14\nCOV_REF_FRAME = TEME\n"
            "1.0\nCOVARIANCE_STOP\n")
    states = parse_oem_kvn(text, source="deploy.oem")
    assert len(states) == 3 and states[1].source == "deploy.oem:16"
    nearest = deployment_from_state(min(states, key=lambda s: abs((s.epoch - truth.epoch
                                                                   - timedelta(seconds=70)).total_seconds())))
    assert nearest.elements.epoch == states[1].epoch


@pytest.mark.parametrize(("change", "message"), [
    ({"frame": "ITRF2000"}, "line 7: REF_FRAME = ITRF2000 is not a frame groundshare converts"),
    ({"center": "MOON"}, "line 6: CENTER_NAME = MOON"),
    ({"time_system": "UT1"}, "line 8: TIME_SYSTEM = UT1"),
    ({"units": ("m", "m/s")}, "line 10: X is in [m]; CCSDS states are in km and km/s"),
])
def test_a_state_in_the_wrong_frame_or_units_is_refused_naming_the_line(truth, change, message):
    r, v = teme_state(truth)
    with pytest.raises(InvalidInputError) as info:
        parse_opm_kvn(opm(r, v, truth.epoch, **change), source="deploy.opm")
    assert message in str(info.value) and str(info.value).startswith("deploy.opm: ")


def test_a_state_in_metres_without_units_is_refused(truth):
    r, v = teme_state(truth)
    text = opm(r * 1000.0, v * 1000.0, truth.epoch).replace(" [km/s]", "").replace(" [km]", "")
    with pytest.raises(InvalidInputError, match=r"line 10: .* looks like metres and m/s: divide by 1000"):
        parse_opm_kvn(text, source="deploy.opm")
    with pytest.raises(InvalidInputError, match="XML or JSON"):
        parse_opm_kvn("<?xml version='1.0'?><opm/>", source="deploy.opm")


def test_an_element_file_with_many_sets_needs_norad():
    with pytest.raises(InvalidInputError, match="choose one with --norad"):
        deployment_from_elements(ACTIVE)
    assert deployment_from_elements(ACTIVE, norad_id=TRUTH_NORAD).elements.norad_id == TRUTH_NORAD


# The windows.


def test_without_uncertainty_the_windows_are_the_nominal_passes(truth, sites):
    plan = plan_windows(Deployment(truth, truth.epoch, "elements", "test"), sites, hours=24)
    passes = find_passes([truth], sites, start=truth.epoch, duration_s=24 * 3600.0, workers=1)
    assert len(plan.windows) == len(passes) > 10
    for w in plan.windows:
        assert w.aos == w.earliest_aos and w.los == w.latest_los and w.copies_in_view == 1.0


def test_windows_cover_every_deployment_time_in_the_uncertainty(truth, sites):
    plan = plan_windows(Deployment(truth, truth.epoch, "elements", "test"), sites, hours=24,
                        deploy_uncertainty_s=600.0)
    assert plan.copies == 41 and not plan.capped
    rng = np.random.default_rng(20)
    for shift_s in rng.uniform(-600.0, 600.0, 12):
        shifted = dataclasses.replace(truth, epoch=truth.epoch + timedelta(seconds=float(shift_s)), line1=None,
                                      line2=None)
        for p in find_passes([shifted], sites, start=truth.epoch, duration_s=24 * 3600.0, workers=1):
            if p.los < truth.epoch + timedelta(seconds=float(shift_s)) or p.clipped:
                continue
            assert any(w.station == p.station and w.earliest_aos <= p.aos and p.los <= w.latest_los
                       for w in plan.windows), (shift_s, p)
    nominal = [w for w in plan.windows if w.aos is not None]
    assert all(w.earliest_aos < w.aos - timedelta(seconds=500) for w in nominal if w.max_elevation_deg > 10)
    assert all(w.width_s >= w.nominal_duration_s + 1000.0 for w in nominal if w.max_elevation_deg > 10)


def test_separation_dv_grows_the_uncertainty_by_three_dv_over_v_periods_per_orbit(truth, sites):
    deployment = Deployment(truth, truth.epoch, "elements", "test")
    plan = plan_windows(deployment, sites, hours=48, deploy_uncertainty_s=60.0, separation_dv_m_s=1.0)
    expected = 3.0 * 1.0 / (deployment.speed_km_s * 1000.0) * truth.period_s
    assert plan.growth_s_per_rev == pytest.approx(expected) and 2.0 < expected < 2.5
    assert plan.final_uncertainty_s == pytest.approx(60.0 + expected / truth.period_s * 48 * 3600.0)
    assert plan.windows[-1].uncertainty_s > plan.windows[0].uncertainty_s + 50.0


def test_a_perturbed_separation_is_covered_by_the_windows_for_two_days(truth, sites):
    """The truth separated 0.5 m/s faster along track than the prediction: its passes lie in the windows."""
    r, v = teme_state(truth)
    faster = v + 0.0005 * v / np.linalg.norm(v)
    real = deployment_from_state(StateVector(truth.epoch, tuple(r), tuple(faster)), bstar=truth.bstar).elements
    plan = plan_windows(Deployment(truth, truth.epoch, "elements", "test"), sites, hours=48,
                        deploy_uncertainty_s=30.0, separation_dv_m_s=0.5)
    passes = [p for p in find_passes([real], sites, start=truth.epoch, duration_s=48 * 3600.0, workers=1)
              if not p.clipped]
    assert len(passes) > 20
    for p in passes:
        assert any(w.station == p.station and w.earliest_aos <= p.aos and p.los <= w.latest_los
                   for w in plan.windows), p


def test_an_uncertainty_beyond_half_an_orbit_is_capped_and_said(truth, sites):
    plan = plan_windows(Deployment(truth, truth.epoch, "elements", "test"), sites, hours=6,
                        deploy_uncertainty_s=7200.0)
    assert plan.capped and plan.final_uncertainty_s == pytest.approx(truth.period_s / 2.0)
    assert any("more than half an orbit" in note and "capped" in note for note in plan.notes)
    with pytest.raises(InvalidInputError, match="hours"):
        plan_windows(Deployment(truth, truth.epoch, "elements", "test"), sites, hours=0)


# The command line.


def test_leop_plan_json_lists_windows_with_nominal_and_widened_times():
    result = CliRunner().invoke(app, ["leop", "plan", "-e", str(ACTIVE), "--norad", str(TRUTH_NORAD), "-s",
                                      str(STATIONS), "--deploy-uncertainty-s", "600", "--hours", "12",
                                      "--format", "json"])
    assert result.exit_code == 0, result.stderr
    windows = json.loads(result.stdout)
    assert windows and {"station", "aos", "tca", "los", "earliest_aos", "latest_los"} <= set(windows[0])
    assert all(w["earliest_aos"] <= w["latest_los"] for w in windows)
    assert "windows over 6 of 6 stations in 12 h" in result.stderr


def test_leop_plan_from_a_state_vector_prints_a_table(tmp_path, truth):
    r, v = teme_state(truth)
    path = tmp_path / "deploy.opm"
    path.write_text(opm(r, v, truth.epoch, "TEME"))
    result = CliRunner().invoke(app, ["leop", "plan", "--state-vector", str(path), "-s", str(STATIONS),
                                      "--deploy-time", format_utc(truth.epoch), "--deploy-uncertainty-s", "300",
                                      "--separation-dv-m-s", "0.2", "--hours", "6"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Station ") and "(opm, SGP4 fitted to the state within" in result.stderr


def test_leop_plan_refuses_no_deployment_or_a_bad_frame(tmp_path, truth):
    runner = CliRunner()
    result = runner.invoke(app, ["leop", "plan", "-s", str(STATIONS)])
    assert result.exit_code == 1 and "give the deployment as --elements FILE or --state-vector FILE" in result.stderr
    r, v = teme_state(truth)
    path = Path(tmp_path / "itrf.opm")
    path.write_text(opm(r, v, truth.epoch, "ITRF2000"))
    result = runner.invoke(app, ["leop", "plan", "--state-vector", str(path), "-s", str(STATIONS)])
    assert result.exit_code == 1 and "line 7: REF_FRAME = ITRF2000" in result.stderr
