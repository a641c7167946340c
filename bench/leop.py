"""Launch and early orbit, part 1: how good a nominal deployment prediction is, and whether the windows cover.

Real launch: the Nuri launch of 2025-11-27 (2025-274, CAS500-3 and twelve CubeSats) in the shipped
active catalogue; the truth is BEE-1000 (NORAD 66650) at its 2026-03-19 epoch.  Three predictions
of the kind a launch provider hands over:

- ``neighbour``: another member of the same launch (the one nearest the truth at the epoch),
  as if the provider's deployment state were the neighbour's orbit;
- ``late+dv``: the truth's own state, but deployed 120 s earlier than predicted and 0.5 m/s
  faster along track (the prediction is the state at the nominal time, refitted to SGP4);
- ``gcrf-opm``: the truth's state written as a GCRF OPM, read back and refitted (frame and fit only).

For each: the along-track timing error of the nominal prediction against the truth at 0, 12,
24, 36 and 48 h (the along-track separation over the speed), the AOS error of the truth's passes
against their nominal windows, and the share of the truth's 48 h passes (6 demo stations) inside
the uncertainty windows of ``plan_windows`` (deployment uncertainty +-600 s, separation
uncertainty 0.5 m/s).  Also the wall time of one plan.  Run with ``python bench/leop.py``.
"""

from __future__ import annotations

import time
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

from groundshare.data import data_path
from groundshare.leop import Deployment, StateVector, deployment_from_state, deployment_from_state_file, plan_windows
from groundshare.leop.deploy import gcrf_to_teme_matrix
from groundshare.orbits import ElementSet, load_elements
from groundshare.passes import find_passes
from groundshare.stations import load_stations
from groundshare.timeutil import jd_fr

TRUTH_NORAD = 66650
HOURS = 48.0
U_S = 600.0
DV_M_S = 0.5


def states(e: ElementSet, start, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    jd, fr = jd_fr(start, t_s)
    _, r, v = e.to_satrec().sgp4_array(jd, fr)
    return r, v


def timing_error_s(truth: ElementSet, predicted: ElementSet, start, t_s: np.ndarray) -> np.ndarray:
    """Return (truth - prediction) along track / speed: positive when the truth is ahead (the prediction late)."""
    r_t, v_t = states(truth, start, t_s)
    r_p, _ = states(predicted, start, t_s)
    along = v_t / np.linalg.norm(v_t, axis=1)[:, None]
    return np.einsum("ij,ij->i", r_t - r_p, along) / np.linalg.norm(v_t, axis=1)


def main() -> None:
    catalog = load_elements(data_path("celestrak_active_2026-03-19.tle"))
    truth = next(e for e in catalog if e.norad_id == TRUTH_NORAD)
    launch = [e for e in catalog if e.object_id[:8] == truth.object_id[:8] and e.norad_id != TRUTH_NORAD]
    sites = load_stations(data_path("demo_stations.toml"))
    t0 = truth.epoch
    r0, v0 = (x[0] for x in states(truth, t0, np.zeros(1)))

    def gap_km(e: ElementSet) -> float:
        return float(np.linalg.norm(states(e, t0, np.zeros(1))[0][0] - r0))

    neighbour = min(launch, key=gap_km)
    late_state = states(truth, t0, np.array([-120.0]))
    r_late, v_late = late_state[0][0], late_state[1][0]
    v_late = v_late - DV_M_S / 1000.0 * v_late / np.linalg.norm(v_late)  # the truth is DV faster than this
    # The prediction: the point the truth passed 120 s earlier, at the nominal time t0 (the truth is 120 s ahead).
    late = deployment_from_state(StateVector(t0, tuple(r_late), tuple(v_late)),
                                 bstar=truth.bstar)
    late_predicted = Deployment(late.elements, t0, "state", "late+dv")
    with TemporaryDirectory() as tmp:
        m = gcrf_to_teme_matrix(t0)
        opm = Path(tmp) / "deploy.opm"
        values = [*(m.T @ r0), *(m.T @ v0)]
        opm.write_text("CCSDS_OPM_VERS = 2.0\nORIGINATOR = BENCH\nOBJECT_NAME = BEE-1000\nCENTER_NAME = EARTH\n"
                       f"REF_FRAME = GCRF\nTIME_SYSTEM = UTC\nEPOCH = {t0.strftime('%Y-%m-%dT%H:%M:%S.%f')}\n"
                       + "".join(f"{k} = {x:.9f}\n" for k, x in zip(("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT"),
                                                                    values, strict=True)))
        from_opm = deployment_from_state_file(opm, bstar=truth.bstar)
    predictions = {
        f"neighbour {neighbour.norad_id} {neighbour.name} ({gap_km(neighbour):.0f} km away)":
            Deployment(neighbour, t0, "elements", "neighbour"),
        "late+dv (120 s early, 0.5 m/s faster)": late_predicted,
        f"gcrf-opm (fit {from_opm.fit_residual_m:.2g} m)": from_opm,
    }
    truth_passes = [p for p in find_passes([truth], sites, start=t0, duration_s=HOURS * 3600.0, workers=1)
                    if not p.clipped]
    print(f"truth: NORAD {truth.norad_id} {truth.name} ({truth.object_id}), epoch {t0:%Y-%m-%d %H:%M:%S}Z; "
          f"{len(launch) + 1} objects in the launch; {len(truth_passes)} passes over {len(sites)} stations in "
          f"{HOURS:g} h")
    print(f"windows: deployment uncertainty +-{U_S:g} s, separation dv {DV_M_S:g} m/s")
    hours = np.array([0.0, 12.0, 24.0, 36.0, 48.0])
    for label, deployment in predictions.items():
        errors = timing_error_s(truth, deployment.elements, t0, hours * 3600.0)
        best = float("inf")
        for _ in range(3):
            began = time.perf_counter()
            plan = plan_windows(deployment, sites, hours=HOURS, deploy_uncertainty_s=U_S, separation_dv_m_s=DV_M_S)
            best = min(best, time.perf_counter() - began)
        covered = aos_errors = 0
        aos_errs = []
        for p in truth_passes:
            holders = [w for w in plan.windows if w.station == p.station and w.earliest_aos <= p.aos
                       and p.los <= w.latest_los]
            covered += bool(holders)
            nominal = [w for w in holders if w.aos is not None]
            if nominal:
                aos_errs.append(min((p.aos - w.aos).total_seconds() for w in nominal))
        aos_errors = np.abs(np.array(aos_errs)) if aos_errs else np.zeros(1)
        print(f"\n{label}")
        print("  timing error (truth ahead +, s) at " + ", ".join(f"{h:g} h: {e:+.1f}" for h, e in
                                                                    zip(hours, errors, strict=True)))
        print(f"  truth passes with a nominal pass in their window: {len(aos_errs)}/{len(truth_passes)}, AOS error "
              f"median {np.median(aos_errors):.1f} s, max {aos_errors.max():.1f} s")
        print(f"  truth passes inside the windows: {covered}/{len(truth_passes)}; {len(plan.windows)} windows, "
              f"mean width {np.mean([w.width_s for w in plan.windows]) / 60:.1f} min, final uncertainty "
              f"+-{plan.final_uncertainty_s:.0f} s, {plan.copies} copies, plan {best:.3f} s (best of 3)")


if __name__ == "__main__":
    main()
