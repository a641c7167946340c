"""The TLE lottery on a real cluster: identification against passes and days, and the along-track fit.

Cluster 2026-052 of the shipped active catalogue (2026-03-19): seven objects of one launch.
Each member in turn is the truth; synthetic receptions (a frame every 10 s while above a
demo station's mask, 30 % lost, 0.5 s time jitter) and Doppler (437.5 MHz, 50 Hz noise,
every 5 s above 3 deg of margin, ~20 % lost in minute-long gaps, 2 % outliers of 1-5 kHz)
are made from it over the six demo stations, starting ``d`` days after deployment.

Prints:

1. the deployment time estimate (when the members' along-track spread was smallest);
2. per day ``d``: the cluster's along-track spread, and the passes of the truth over the
   network needed for a *clear* identification (correct, with ``identify``'s confidence
   ``clear``), with receptions alone and with receptions + Doppler: median and worst over
   the seven truths, and how many were still undecided or wrong after 24 h;
3. the along-track error (RMS over the 24 h of observations, and over the 24 h after them)
   of a launch-provider-like prediction (30 s along track and 0.001 rev/day off) and of a
   neighbouring member's set, before and after ``fit_elements``; and the wall time of one
   ``identify`` and one fit.

Run with ``python bench/leop_identify.py`` (about a minute).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np

from groundshare.data import data_path
from groundshare.leop.fit import along_track_error_km, fit_elements, with_along_track
from groundshare.leop.identify import Receptions, identify, launch_members, synthetic_evidence
from groundshare.orbits import load_elements
from groundshare.orbits.propagate import propagate_teme, satrec_array
from groundshare.stations import load_stations

LAUNCH = "2026-052"
DAYS = (0.25, 0.5, 1.0, 2.0, 3.0)
WINDOW_S = 86_400.0


def deployment_estimate(members) -> tuple[datetime, float]:
    """Return when the members' along-track spread (km) was smallest, searched hourly then by minutes."""
    def spread(start: datetime, t: np.ndarray) -> np.ndarray:
        _, r, v = propagate_teme(satrec_array(members), start, t)
        unit = v.mean(axis=0) / np.linalg.norm(v.mean(axis=0), axis=1)[:, None]
        along = np.einsum("stj,tj->st", r - r.mean(axis=0), unit)
        return along.max(axis=0) - along.min(axis=0)

    start = datetime(2026, 3, 1, tzinfo=UTC)
    t = np.arange(0.0, 20 * 86_400.0, 3_600.0)
    best = start + timedelta(seconds=float(t[np.argmin(spread(start, t))]))
    t = np.arange(-7_200.0, 7_200.0, 60.0)
    s = spread(best, t)
    return best + timedelta(seconds=float(t[np.argmin(s)])), float(s.min())


def passes_to_identify(members, truth, sites, receptions, doppler) -> tuple[int | None, bool]:
    """Return the first pass count giving a clear, correct identification (None: never), and whether one was wrong."""
    number = receptions.pass_numbers()
    wrong = False
    for k in range(1, number.max() + 2):
        take = number < k
        sub = Receptions(receptions.station[take], receptions.received_at[take])
        dop = None
        if doppler is not None:
            last = receptions.received_at[take].max()
            keep = doppler.received_at <= last + np.timedelta64(120, "s")
            dop = type(doppler)(doppler.station[keep], doppler.received_at[keep], doppler.frequency_hz[keep])
        result = identify(members, sites, sub, dop)
        if result.confidence == "clear":
            if result.best.norad_id == truth.norad_id:
                return k, wrong
            wrong = True
    return None, wrong


def along_rms(elements, truth, start: datetime, span_s: float) -> float:
    along, _ = along_track_error_km(elements, truth, start, np.arange(0.0, span_s, 60.0))
    return float(np.sqrt(np.mean(along ** 2)))


def main() -> None:
    catalogue = load_elements(data_path("celestrak_active_2026-03-19.tle"))
    members = launch_members(catalogue, LAUNCH)
    sites = load_stations(data_path("demo_stations.toml"))
    deployed, min_spread = deployment_estimate(members)
    print(f"cluster {LAUNCH}: {len(members)} objects; closest together {deployed:%Y-%m-%d %H:%M} UTC "
          f"(along-track spread {min_spread:.0f} km): taken as the deployment")
    print()
    print("identification (passes of the truth over 6 stations until a clear, correct ranking; 7 truths)")
    print(f"{'days':>5} {'spread_km':>9} | {'rx: median':>10} {'worst':>5} {'undecided':>9} {'wrong':>5} | "
          f"{'rx+dop: median':>14} {'worst':>5} {'undecided':>9} {'wrong':>5}")
    rng = np.random.default_rng(2026)
    timing = {}
    for days in DAYS:
        start = deployed + timedelta(days=days)
        _, r, v = propagate_teme(satrec_array(members), start, np.zeros(1))
        unit = v[:, 0].mean(axis=0) / np.linalg.norm(v[:, 0].mean(axis=0))
        along = (r[:, 0] - r[:, 0].mean(axis=0)) @ unit
        cols = []
        for with_doppler in (False, True):
            needed, undecided, wrong = [], 0, 0
            for truth in members:
                receptions, doppler = synthetic_evidence(truth, sites, start, WINDOW_S, rng=rng)
                began = time.perf_counter()
                identify(members, sites, receptions, doppler)
                timing.setdefault("identify", time.perf_counter() - began)
                k, was_wrong = passes_to_identify(members, truth, sites, receptions, doppler if with_doppler else None)
                wrong += was_wrong
                if k is None:
                    undecided += 1
                else:
                    needed.append(k)
            median = f"{np.median(needed):.0f}" if needed else "-"
            worst = f"{max(needed)}" if needed else "-"
            cols.append((median, worst, undecided, wrong))
        (m1, w1, u1, x1), (m2, w2, u2, x2) = cols
        print(f"{days:5.2f} {np.ptp(along):9.0f} | {m1:>10} {w1:>5} {u1:>9} {x1:>5} | {m2:>14} {w2:>5} {u2:>9} {x2:>5}")
    print()
    print("along-track error, RMS km over the 24 h of observations / the 24 h after (truth 2026-052B, 1 day after "
          "deployment)")
    truth = next(e for e in members if e.object_id == f"{LAUNCH}B")
    start = deployed + timedelta(days=1)
    receptions, doppler = synthetic_evidence(truth, sites, start, WINDOW_S, rng=np.random.default_rng(52))
    later = start + timedelta(seconds=WINDOW_S)
    scenarios = {
        "prediction 30 s / 0.001 rev/day off": with_along_track(
            truth, 30.0 * truth.mean_motion_rev_day * 360.0 / 86_400.0, 0.001, source="prediction"),
        "neighbour 2026-052D": next(e for e in members if e.object_id == f"{LAUNCH}D"),
    }
    print(f"{'start':<36} {'evidence':<14} {'before':>15} {'after':>15} {'dop_rms_hz':>10} {'fit_s':>6}")
    for label, initial in scenarios.items():
        before = f"{along_rms(initial, truth, start, WINDOW_S):.2f} / {along_rms(initial, truth, later, WINDOW_S):.2f}"
        for evidence, dop in (("receptions", None), ("rx + Doppler", doppler)):
            began = time.perf_counter()
            fit = fit_elements(initial, sites, receptions, dop)
            seconds = time.perf_counter() - began
            after = (f"{along_rms(fit.elements, truth, start, WINDOW_S):.2f} / "
                     f"{along_rms(fit.elements, truth, later, WINDOW_S):.2f}")
            rms = "-" if fit.after.doppler_rms_hz is None else f"{fit.after.doppler_rms_hz:.1f}"
            print(f"{label:<36} {evidence:<14} {before:>15} {after:>15} {rms:>10} {seconds:6.2f}")
    print()
    print(f"one identify (7 candidates, {len(receptions)} receptions, {len(doppler)} Doppler samples): "
          f"{timing['identify'] * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
