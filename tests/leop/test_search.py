"""Search patterns: the antenna waits where the satellite rises and sweeps the spread of rise azimuths.

Real data: BEE-1000 (NORAD 66650) of the shipped active catalogue as the deployment, the demo
stations; the "truth" is the deployment re-dated by a dt inside the admissible range, sampled
finely (0.2 s) and on its own, independently of the pattern's bracketing and Newton steps.
"""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest

from groundshare.data import data_path
from groundshare.errors import InvalidInputError
from groundshare.leop import deployment_from_elements, plan_windows
from groundshare.leop.search import WAIT_MARGIN_DEG, SearchPattern, search_pattern
from groundshare.leop.windows import _redated
from groundshare.orbits import ElementSet, load_elements
from groundshare.orbits.propagate import propagate_itrs, satrec_array
from groundshare.passes.look import look_angles
from groundshare.passes.site import sites_to_arrays
from groundshare.stations import load_stations

ACTIVE = data_path("celestrak_active_2026-03-19.tle")
STATIONS = data_path("demo_stations.toml")
TRUTH_NORAD = 66650
UNCERTAINTY_S = 600.0


@pytest.fixture(scope="module")
def truth() -> ElementSet:
    return next(e for e in load_elements(ACTIVE) if e.norad_id == TRUTH_NORAD)


@pytest.fixture(scope="module")
def sites():
    return {s.name: s for s in load_stations(STATIONS)}


@pytest.fixture(scope="module")
def plan(truth, sites):
    deployment = deployment_from_elements(ACTIVE, norad_id=TRUTH_NORAD)
    return plan_windows(deployment, list(sites.values()), hours=12.0, deploy_uncertainty_s=UNCERTAINTY_S)


def good_windows(plan):
    """Windows with a nominal pass high enough to be a real contact."""
    return [w for w in plan.windows if w.aos is not None and (w.max_elevation_deg or 0.0) > 15.0]


def rise_through(elements: ElementSet, site, start, duration_s: float, el_deg: float):
    """Return (time, azimuth) where ``elements`` first rise through ``el_deg``, sampled every 0.2 s."""
    t_s = np.arange(0.0, duration_s, 0.2)
    err, r, v = propagate_itrs(satrec_array([elements]), start, t_s)
    assert not err.any()
    az, el, _, _ = look_angles(r[0], v[0], sites_to_arrays([site]), np.zeros(t_s.size, dtype=np.int64))
    up = np.flatnonzero((el[:-1] < el_deg) & (el[1:] >= el_deg))
    if up.size == 0:
        return None
    i = int(up[0])
    f = (el_deg - el[i]) / (el[i + 1] - el[i])
    az_at = float(az[i] + f * ((az[i + 1] - az[i] + 180) % 360 - 180))
    return start + timedelta(seconds=float(t_s[i] + 0.2 * f)), az_at


def in_arc(az: float, lo: float, hi: float, tol: float) -> bool:
    """Whether ``az`` lies on the clockwise arc lo -> hi, within ``tol`` degrees."""
    width = (hi - lo) % 360.0
    return (az - lo + tol) % 360.0 <= width + 2 * tol


def test_the_pattern_is_the_spec_json(plan, truth, sites):
    w = good_windows(plan)[0]
    pattern = search_pattern(truth, sites[w.station], w)
    data = json.loads(json.dumps(pattern.to_dict()))
    assert data["kind"] == "leop_search" and data["station"] == w.station
    assert {"window_start", "window_end", "nominal_aos", "nominal_tca", "nominal_los", "shift_min_s", "shift_max_s",
            "wait", "sweep", "arc"} <= set(data)
    assert set(data["wait"]) == {"azimuth_deg", "elevation_deg", "from", "until", "nominal_at"}
    assert set(data["sweep"]) == {"azimuth_min_deg", "azimuth_max_deg", "elevation_deg", "period_s"}
    assert data["shift_min_s"] == -data["shift_max_s"] == pytest.approx(-w.uncertainty_s, abs=1e-3)
    assert data["wait"]["from"] == data["window_start"]
    assert len(data["arc"]) > 10 and all(len(p) == 2 for p in data["arc"])


@pytest.mark.parametrize("dt_s", [0.0, 123.4, -377.7, 600.0])
def test_a_satellite_late_by_dt_crosses_the_wait_elevation_on_the_sweep_arc(plan, truth, sites, dt_s):
    for w in good_windows(plan)[:3]:
        site = sites[w.station]
        p = search_pattern(truth, site, w)
        real = _redated(truth, dt_s)
        start = w.earliest_aos - timedelta(seconds=60)
        hit = rise_through(real, site, start, w.width_s + 120.0, p.wait_elevation_deg)
        assert hit is not None, "every admissible copy of a good window rises through the wait elevation"
        at, az = hit
        assert in_arc(az, p.sweep_azimuth_min_deg, p.sweep_azimuth_max_deg, tol=0.05)
        assert at <= p.wait_until + timedelta(seconds=0.5)
        if dt_s == 0.0:
            # The nominal copy rises exactly through the wait point at wait.nominal_at.
            assert abs((az - p.wait_azimuth_deg + 180) % 360 - 180) < 0.05
            assert abs((at - p.wait_nominal_at).total_seconds()) < 0.5
        else:
            # A late copy rises dt later, within the sweep's few degrees of the wait point.
            assert abs((at - p.wait_nominal_at).total_seconds() - dt_s) < 0.15 * abs(dt_s) + 5.0
            assert abs((az - p.wait_azimuth_deg + 180) % 360 - 180) <= p.sweep_width_deg + 0.05


def test_wait_until_is_after_every_copy_rises_and_the_sweep_is_a_few_degrees(plan, truth, sites):
    for w in good_windows(plan)[:4]:
        p = search_pattern(truth, sites[w.station], w)
        assert p.copies_rising == p.copies > 100
        assert p.wait_from <= p.wait_nominal_at <= p.wait_until <= p.window_end
        late_s = (p.wait_until - p.wait_nominal_at).total_seconds()
        assert 0.8 * w.uncertainty_s < late_s < 1.2 * w.uncertainty_s  # the latest copy rises about U later
        assert 0.5 < p.sweep_width_deg < 30.0  # +-10 min: the Earth turns 5 deg under the orbit
        site = sites[w.station]
        threshold = float(site.threshold_deg(np.array([p.wait_azimuth_deg]))[0])
        assert p.wait_elevation_deg == pytest.approx(threshold + WAIT_MARGIN_DEG, abs=0.5)


def test_zero_uncertainty_gives_a_zero_width_sweep_at_the_wait_point(truth, sites):
    deployment = deployment_from_elements(ACTIVE, norad_id=TRUTH_NORAD)
    plan = plan_windows(deployment, list(sites.values()), hours=6.0)
    w = good_windows(plan)[0]
    p = search_pattern(truth, sites[w.station], w)
    assert isinstance(p, SearchPattern) and p.copies == 1
    assert p.sweep_width_deg == 0.0
    assert p.sweep_azimuth_min_deg == p.sweep_azimuth_max_deg == p.wait_azimuth_deg
    assert p.wait_until == p.wait_nominal_at
    assert p.to_dict()["shift_min_s"] == 0.0


def test_the_arc_stays_above_the_threshold_and_peaks_near_the_pass_maximum(plan, truth, sites):
    w = good_windows(plan)[0]
    site = sites[w.station]
    p = search_pattern(truth, site, w, arc_step_s=5.0)
    az = np.array([a for a, _ in p.arc])
    el = np.array([e for _, e in p.arc])
    assert (el > site.threshold_deg(az)).all()
    assert el.max() == pytest.approx(w.max_elevation_deg, abs=0.5)


def test_bad_input_is_refused_naming_the_field(plan, truth, sites):
    w = good_windows(plan)[0]
    other = next(s for name, s in sites.items() if name != w.station)
    with pytest.raises(InvalidInputError) as exc:
        search_pattern(truth, other, w)
    assert exc.value.loc == ("site",)
    with pytest.raises(InvalidInputError) as exc:
        search_pattern(truth, sites[w.station], w, arc_step_s=0.0)
    assert exc.value.loc == ("arc_step_s",)
