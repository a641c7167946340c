"""An OEM is fitted over its whole ephemeris (``leop.deploy.deployment_from_ephemeris``), not one state.

The ephemeris is generated from a real shipped element set (BEE-1000, NORAD 66650, active
catalogue of 2026-03-19) through sgp4, a state a minute for a day, in TEME and in GCRF
(through the module's own rotation); noisy and manoeuvring variants test the residual
and the note.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from groundshare.leop import deployment_from_state_file, gcrf_to_teme_matrix
from groundshare.leop.deploy import OEM_DISAGREE_KM
from groundshare.orbits import ElementSet, load_elements
from groundshare.timeutil import jd_fr
from tests.support.shipped import ACTIVE

STEP_S = 60.0
SPAN_S = 86_400.0


@pytest.fixture(scope="module")
def truth() -> ElementSet:
    return next(e for e in load_elements(ACTIVE) if e.norad_id == 66650)


def states(e: ElementSet, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    jd, fr = jd_fr(e.epoch, t_s)
    err, r, v = e.to_satrec().sgp4_array(jd, fr)
    assert not err.any()
    return r, v


def oem(e: ElementSet, t_s: np.ndarray, r: np.ndarray, v: np.ndarray, frame: str = "TEME") -> str:
    rows = []
    for k, dt in enumerate(t_s):
        when = e.epoch + timedelta(seconds=float(dt))
        rr, vv = r[k], v[k]
        if frame == "GCRF":
            m = gcrf_to_teme_matrix(when).T  # TEME -> GCRF
            rr, vv = m @ rr, m @ vv
        rows.append(f"{when.strftime('%Y-%m-%dT%H:%M:%S.%f')} " + " ".join(f"{x:.9f}" for x in (*rr, *vv)))
    first, last = (e.epoch + timedelta(seconds=float(t)) for t in (t_s[0], t_s[-1]))
    return ("CCSDS_OEM_VERS = 2.0\nCREATION_DATE = 2026-03-19T00:00:00\nORIGINATOR = LAUNCHER\n\nMETA_START\n"
            f"OBJECT_NAME = OURSAT\nOBJECT_ID = 2026-999A\nCENTER_NAME = EARTH\nREF_FRAME = {frame}\n"
            f"TIME_SYSTEM = UTC\nSTART_TIME = {first:%Y-%m-%dT%H:%M:%S}\nSTOP_TIME = {last:%Y-%m-%dT%H:%M:%S}\n"
            "META_STOP\n\n" + "\n".join(rows) + "\n")


def position_error_m(fitted: ElementSet, truth: ElementSet, t_s: np.ndarray) -> np.ndarray:
    start = fitted.epoch
    shift = (start - truth.epoch).total_seconds()
    r_fit, _ = states(fitted, t_s - shift)
    r_truth, _ = states(truth, t_s)
    return np.linalg.norm(r_fit - r_truth, axis=1) * 1000.0


@pytest.mark.parametrize("frame", ["TEME", "GCRF"])
def test_an_oem_is_fitted_back_within_metres_over_a_day(tmp_path: Path, truth, frame):
    t_s = np.arange(0.0, SPAN_S + 1.0, STEP_S)
    r, v = states(truth, t_s)
    path = tmp_path / "deploy.oem"
    path.write_text(oem(truth, t_s, r, v, frame), encoding="utf-8")
    deployment = deployment_from_state_file(path, bstar=truth.bstar, deploy_time=truth.epoch + timedelta(hours=12))
    assert deployment.kind == "oem" and deployment.elements.epoch == truth.epoch + timedelta(hours=12)
    assert deployment.fit_residual_m < 5.0
    assert position_error_m(deployment.elements, truth, t_s).max() < 10.0
    assert any(note.startswith(f"fitted over {t_s.size} of the ephemeris's {t_s.size} states (24.0 h)")
               for note in deployment.notes)
    assert not any("not one SGP4 orbit" in note for note in deployment.notes)


def test_a_noisy_oem_is_fitted_within_its_noise(tmp_path: Path, truth):
    t_s = np.arange(0.0, SPAN_S + 1.0, STEP_S)
    r, v = states(truth, t_s)
    rng = np.random.default_rng(5)
    sigma_km = 0.1  # 100 m per axis, and 0.1 m/s
    noisy_r, noisy_v = r + rng.normal(0.0, sigma_km, r.shape), v + rng.normal(0.0, 1e-4, v.shape)
    path = tmp_path / "noisy.oem"
    path.write_text(oem(truth, t_s, noisy_r, noisy_v), encoding="utf-8")
    deployment = deployment_from_state_file(path, bstar=truth.bstar)
    # The residual is the noise (sqrt(3) x 100 m RMS); the fitted orbit averages it away.
    assert 140.0 < deployment.fit_residual_m < 210.0
    assert np.sqrt(np.mean(position_error_m(deployment.elements, truth, t_s) ** 2)) < 60.0
    # One noisy state alone (the old way) is as far off as its noise, and drifts over the day.
    single = deployment_from_state_file(_single_state(tmp_path, truth, t_s, noisy_r, noisy_v), bstar=truth.bstar)
    assert position_error_m(single.elements, truth, t_s).max() > 1000.0


def _single_state(tmp_path: Path, truth, t_s, r, v) -> Path:
    path = tmp_path / "one.oem"
    path.write_text(oem(truth, t_s[:1], r[:1], v[:1]), encoding="utf-8")
    return path


def test_a_manoeuvre_in_the_middle_is_named_with_its_epoch(tmp_path: Path, truth):
    t_s = np.arange(0.0, SPAN_S + 1.0, STEP_S)
    r, v = states(truth, t_s)
    raised = dataclasses.replace(truth, mean_motion_rev_day=truth.mean_motion_rev_day - 0.02, line1=None, line2=None)
    half = t_s.size // 2
    r2, v2 = states(raised, t_s)
    r[half:], v[half:] = r2[half:], v2[half:]
    path = tmp_path / "burn.oem"
    path.write_text(oem(truth, t_s, r, v), encoding="utf-8")
    deployment = deployment_from_state_file(path, bstar=truth.bstar)
    [note] = [n for n in deployment.notes if "not one SGP4 orbit" in n]
    assert f"more than {OEM_DISAGREE_KM:g} km" in note and "2026-03-" in note and "manoeuvre" in note
    assert deployment.fit_residual_m > 1000.0


def test_many_states_are_thinned(tmp_path: Path, truth):
    t_s = np.arange(0.0, 3 * 3600.0, 5.0)  # 2,160 states
    r, v = states(truth, t_s)
    path = tmp_path / "dense.oem"
    path.write_text(oem(truth, t_s, r, v), encoding="utf-8")
    deployment = deployment_from_state_file(path, bstar=truth.bstar)
    assert any(note.startswith(f"fitted over 2000 of the ephemeris's {t_s.size} states") for note in deployment.notes)
    assert deployment.fit_residual_m < 5.0
