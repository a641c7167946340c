"""Fit the along-track elements of an element set to receptions and Doppler, through SGP4.

The parameters are the mean anomaly and the mean motion at the set's own epoch (and,
optionally, B*); the other elements stay as given.  Everything goes through SGP4
(``ElementSet.to_satrec``, sgp4's ``sgp4init``): the fitted set is an ordinary SGP4
element set that any tool propagates the same way.

Residuals (weighted, stacked into one least-squares problem):

- each reception: how far the satellite is below the station's threshold at that time,
  ``min(elevation - threshold, 0) / SIGMA_ELEVATION_DEG`` (zero when visible: a
  reception says only that the satellite was up);
- each Doppler sample: ``(f - f0 (1 - range_rate / c)) / sigma``, with the rest
  frequency ``f0`` solved in closed form for every trial orbit (variable projection)
  and ``sigma`` the robust scatter of the Doppler residuals; outliers (``identify``'s
  robust clipping) are left out and reported.

Method: a coarse search over along-track time shifts of +-``search_s`` (the launch
provider's prediction may be minutes off) picks the start, the centre of the shifts that
explain every reception and, with Doppler, the one with the smallest robust Doppler
scatter; then Levenberg-Marquardt on scaled parameters with a forward-difference
Jacobian (all trial element sets propagated in one ``SatrecArray`` call).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from groundshare.errors import InvalidInputError
from groundshare.leop.identify import (
    CLIP_SIGMA,
    MIN_SIGMA_HZ,
    DopplerOutlier,
    DopplerSeries,
    Receptions,
    observation_geometry,
    rest_frequency_fit,
    robust_inliers,
)
from groundshare.orbits.elements import ElementSet
from groundshare.passes.site import Site
from groundshare.timeutil import datetime64_to_utc
from groundshare.units import DAY_S

#: Weight of a reception's elevation shortfall: 0.1 deg counts as one sigma.
SIGMA_ELEVATION_DEG = 0.1
#: Default half-width of the coarse along-track search, seconds, and its step.
SEARCH_S = 600.0
SEARCH_STEP_S = 2.0
#: Parameter scales (one unit of the scaled problem) and finite-difference steps.
SCALE_MEAN_ANOMALY_DEG = 1e-3
SCALE_MEAN_MOTION_REV_DAY = 1e-6
SCALE_BSTAR = 1e-5
MAX_ITERATIONS = 30


@dataclass(frozen=True)
class Residuals:
    """How well one element set explains the observations."""

    receptions: int
    explained: int
    shortfall_rms_deg: float
    doppler_samples: int
    doppler_outliers: int
    doppler_rms_hz: float | None
    rest_frequency_hz: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"receptions": self.receptions, "explained": self.explained,
                "shortfall_rms_deg": round(self.shortfall_rms_deg, 4), "doppler_samples": self.doppler_samples,
                "doppler_outliers": self.doppler_outliers,
                "doppler_rms_hz": None if self.doppler_rms_hz is None else round(self.doppler_rms_hz, 2),
                "rest_frequency_hz": None if self.rest_frequency_hz is None else round(self.rest_frequency_hz, 2)}

    def summary(self) -> str:
        text = f"{self.explained} of {self.receptions} receptions explained"
        if self.explained < self.receptions:
            text += f" (shortfall {self.shortfall_rms_deg:.2f} deg RMS)"
        if self.doppler_rms_hz is not None:
            text += (f", Doppler {self.doppler_rms_hz:.1f} Hz RMS over {self.doppler_samples} samples"
                     f" ({self.doppler_outliers} outliers), rest frequency {self.rest_frequency_hz:.1f} Hz")
        return text


@dataclass(frozen=True)
class FitResult:
    """The fitted element set (``source`` ``"fit"``), the set it started from and the residuals of each."""

    elements: ElementSet
    initial: ElementSet
    before: Residuals
    after: Residuals
    start_shift_s: float
    delta_mean_anomaly_deg: float
    delta_mean_motion_rev_day: float
    iterations: int
    converged: bool
    fit_bstar: bool
    outliers: list[DopplerOutlier] = field(default_factory=list)

    @property
    def along_track_shift_s(self) -> float:
        """Return the fitted shift at the set's epoch, seconds of along-track motion (+ = ahead)."""
        return self.delta_mean_anomaly_deg / 360.0 * self.initial.period_s

    def to_dict(self) -> dict[str, Any]:
        from groundshare.orbits.omm import omm_json_record

        return {"norad_id": self.elements.norad_id, "name": self.elements.name, "source": self.elements.source,
                "elements": omm_json_record(self.elements), "before": self.before.to_dict(),
                "after": self.after.to_dict(), "start_shift_s": round(self.start_shift_s, 3),
                "delta_mean_anomaly_deg": self.delta_mean_anomaly_deg,
                "delta_mean_motion_rev_day": self.delta_mean_motion_rev_day, "bstar": self.elements.bstar,
                "fit_bstar": self.fit_bstar, "iterations": self.iterations, "converged": self.converged,
                "outliers": [o.to_dict() for o in self.outliers]}


def with_along_track(elements: ElementSet, delta_mean_anomaly_deg: float, delta_mean_motion_rev_day: float,
                     bstar: float | None = None, *, source: str = "fit") -> ElementSet:
    """Return ``elements`` with the mean anomaly and mean motion moved (and B* replaced), as a non-TLE set."""
    return dataclasses.replace(
        elements, mean_anomaly_deg=(elements.mean_anomaly_deg + delta_mean_anomaly_deg) % 360.0,
        mean_motion_rev_day=elements.mean_motion_rev_day + delta_mean_motion_rev_day,
        bstar=elements.bstar if bstar is None else bstar, line1=None, line2=None, source=source)


def residuals(elements: ElementSet, sites: Sequence[Site], receptions: Receptions,
              doppler: DopplerSeries | None = None, *, clip_sigma: float = CLIP_SIGMA) -> Residuals:
    """Return how well ``elements`` explains the observations (its own robust Doppler fit, outliers left out)."""
    margin, _, err = observation_geometry([elements], sites, receptions.station, receptions.received_at)
    short = np.where(err[0, :, 0] == 0, np.minimum(margin[0, :, 0], 0.0), -90.0)
    n_rec = len(receptions)
    rms = f0 = None
    n_dop = n_out = 0
    if doppler is not None and len(doppler):
        _, rr, _ = observation_geometry([elements], sites, doppler.station, doppler.received_at)
        keep, _ = robust_inliers(doppler.frequency_hz, rr[:, :, 0], clip_sigma=clip_sigma)
        fit_f0, resid = rest_frequency_fit(doppler.frequency_hz, rr[:, :, 0], keep)
        n_dop, n_out = int(keep.sum()), int((~keep).sum())
        rms, f0 = float(np.sqrt(np.mean(resid[0, keep[0]] ** 2))), float(fit_f0[0])
    return Residuals(n_rec, int(np.count_nonzero(short >= 0.0)),
                     float(np.sqrt(np.mean(short ** 2))) if n_rec else 0.0, n_dop, n_out, rms, f0)


def fit_elements(initial: ElementSet, sites: Sequence[Site], receptions: Receptions,
                 doppler: DopplerSeries | Sequence[DopplerSeries] | None = None, *, fit_bstar: bool = False,
                 search_s: float = SEARCH_S, search_step_s: float = SEARCH_STEP_S,
                 clip_sigma: float = CLIP_SIGMA) -> FitResult:
    """Fit the mean anomaly and mean motion (and B* with ``fit_bstar``) of ``initial`` to the observations."""
    series = doppler if isinstance(doppler, DopplerSeries) else DopplerSeries.concat(list(doppler or []))
    if not len(receptions) and not len(series):
        raise InvalidInputError("no receptions and no Doppler: nothing to fit the element set to yet; "
                                "give the receptions CSV once frames come in", loc=("receptions",))
    if not (math.isfinite(search_s) and 0.0 <= search_s <= 3 * initial.period_s):
        raise InvalidInputError(f"search_s is {search_s!r}; expected seconds in [0, {3 * initial.period_s:.0f}] "
                                f"(three orbits)", loc=("search_s",))
    if fit_bstar and len(series) == 0:
        raise InvalidInputError("fitting B* needs Doppler: receptions alone cannot tell drag apart", loc=("fit_bstar",))
    before = residuals(initial, sites, receptions, series, clip_sigma=clip_sigma)
    n_motion = initial.mean_motion_rev_day * 360.0 / DAY_S  # deg/s
    shift_s, keep, sigma_hz = _coarse_shift(initial, sites, receptions, series, search_s, search_step_s, clip_sigma)
    p = np.array([shift_s * n_motion, 0.0] + ([initial.bstar] if fit_bstar else []))
    scale = np.array([SCALE_MEAN_ANOMALY_DEG, SCALE_MEAN_MOTION_REV_DAY] + ([SCALE_BSTAR] if fit_bstar else []))
    iterations, converged = 0, False
    for _ in range(2):  # refit once if the outliers change at the solution
        p, its, converged = _levenberg_marquardt(initial, sites, receptions, series, keep, sigma_hz, p, scale)
        iterations += its
        if not len(series):
            break
        fitted = _trial(initial, p)
        _, rr, _ = observation_geometry([fitted], sites, series.station, series.received_at)
        new_keep, new_sigma = robust_inliers(series.frequency_hz, rr[:, :, 0], clip_sigma=clip_sigma)
        if np.array_equal(new_keep[0], keep):
            break
        keep, sigma_hz = new_keep[0], max(float(new_sigma[0]), MIN_SIGMA_HZ)
    fitted = _trial(initial, p)
    after = residuals(fitted, sites, receptions, series, clip_sigma=clip_sigma)
    outliers: list[DopplerOutlier] = []
    if len(series):
        _, rr, _ = observation_geometry([fitted], sites, series.station, series.received_at)
        _, resid = rest_frequency_fit(series.frequency_hz, rr[:, :, 0], keep)
        outliers = [DopplerOutlier(str(series.station[i]), datetime64_to_utc(series.received_at[i]),
                                   float(series.frequency_hz[i]), float(resid[0, i])) for i in np.flatnonzero(~keep)]
    return FitResult(fitted, initial, before, after, shift_s, float(p[0]), float(p[1]), iterations, converged,
                     fit_bstar, outliers)


def _trial(initial: ElementSet, p: np.ndarray) -> ElementSet:
    return with_along_track(initial, float(p[0]), float(p[1]), float(p[2]) if p.size > 2 else None)


def _coarse_shift(initial: ElementSet, sites: Sequence[Site], receptions: Receptions, series: DopplerSeries,
                  search_s: float, step_s: float, clip_sigma: float) -> tuple[float, np.ndarray, float]:
    """Return the best along-track time shift (s), the Doppler inliers there and their robust sigma (Hz)."""
    shifts = np.arange(-search_s, search_s + 0.5 * step_s, step_s) if search_s > 0 else np.zeros(1)
    margin, _, err = observation_geometry([initial], sites, receptions.station, receptions.received_at, shifts)
    short = np.where(err[0] == 0, np.minimum(margin[0], 0.0), -90.0)  # (n_rec, n_shift)
    violation = np.sum(short ** 2, axis=0) if len(receptions) else np.zeros(shifts.size)
    feasible = violation <= violation.min() + 1e-9
    if not len(series):
        candidates = np.flatnonzero(feasible)
        best = int(candidates[candidates.size // 2])  # the middle of the shifts that explain the receptions
        return float(shifts[best]), np.zeros(0, dtype=bool), MIN_SIGMA_HZ
    _, rr, _ = observation_geometry([initial], sites, series.station, series.received_at, shifts)
    rr_by_shift = rr[0].T  # (n_shift, n_dop)
    keep, sigma = robust_inliers(series.frequency_hz, rr_by_shift, clip_sigma=clip_sigma)
    # Among the shifts that explain the receptions best, the smallest robust Doppler scatter.
    score = np.where(feasible | (violation <= np.quantile(violation, 0.05)), sigma, np.inf)
    best = int(np.nanargmin(np.where(np.isfinite(score), score, np.inf)))
    return float(shifts[best]), keep[best], max(float(sigma[best]), MIN_SIGMA_HZ)


def _residual_vectors(initial: ElementSet, sites: Sequence[Site], receptions: Receptions, series: DopplerSeries,
                      keep: np.ndarray, sigma_hz: float, params: np.ndarray) -> np.ndarray:
    """Return the weighted residuals (n_set, n_res) of each parameter row of ``params`` (n_set, n_param)."""
    sets = [_trial(initial, row) for row in params]
    parts = []
    if len(receptions):
        margin, _, err = observation_geometry(sets, sites, receptions.station, receptions.received_at)
        parts.append(np.where(err[:, :, 0] == 0, np.minimum(margin[:, :, 0], 0.0), -90.0) / SIGMA_ELEVATION_DEG)
    if len(series) and keep.any():
        _, rr, _ = observation_geometry(sets, sites, series.station[keep], series.received_at[keep])
        _, resid = rest_frequency_fit(series.frequency_hz[keep], rr[:, :, 0])
        parts.append(resid / sigma_hz)
    return np.concatenate(parts, axis=1)


def _levenberg_marquardt(initial: ElementSet, sites: Sequence[Site], receptions: Receptions, series: DopplerSeries,
                         keep: np.ndarray, sigma_hz: float, p0: np.ndarray, scale: np.ndarray
                         ) -> tuple[np.ndarray, int, bool]:
    """Return the parameters minimising the weighted residuals, the iterations and whether it converged."""
    p = p0.astype(float).copy()
    n = p.size
    lam = 1e-3
    r = _residual_vectors(initial, sites, receptions, series, keep, sigma_hz, p[None, :])[0]
    cost = float(r @ r)
    for iteration in range(1, MAX_ITERATIONS + 1):
        trial = np.vstack([p, p + np.diag(scale)])
        rs = _residual_vectors(initial, sites, receptions, series, keep, sigma_hz, trial)
        jac = ((rs[1:] - rs[0]) / 1.0).T  # per scaled unit: (n_res, n_param)
        g = jac.T @ r
        h = jac.T @ jac
        improved = False
        for _ in range(12):
            step = np.linalg.solve(h + lam * (np.diag(np.diag(h)) + 1e-9 * np.eye(n)), -g)
            p_new = p + step * scale
            r_new = _residual_vectors(initial, sites, receptions, series, keep, sigma_hz, p_new[None, :])[0]
            cost_new = float(r_new @ r_new)
            if cost_new < cost:
                improved = True
                break
            lam *= 10.0
        if not improved:
            return p, iteration, True  # no step lowers the cost: at the minimum
        done = cost - cost_new <= 1e-10 * max(cost, 1e-30) or np.max(np.abs(step)) < 1e-4
        p, r, cost, lam = p_new, r_new, cost_new, max(lam / 10.0, 1e-9)
        if done:
            return p, iteration, True
    return p, MAX_ITERATIONS, False


def along_track_error_km(elements: ElementSet, truth: ElementSet, start: datetime, t_s: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Return the along-track and total position error (km) of ``elements`` against ``truth`` at ``start + t_s``.

    Along track is the component of the difference of TEME positions along the truth's
    velocity (+ = ahead of the truth).
    """
    from groundshare.orbits.propagate import propagate_teme, satrec_array

    err, r, v = propagate_teme(satrec_array([elements, truth]), start, np.asarray(t_s, dtype=float))
    if err.any():
        raise InvalidInputError("SGP4 could not propagate one of the element sets over the window",
                                loc=("elements",))
    d = r[0] - r[1]
    along = np.einsum("ij,ij->i", d, v[1] / np.linalg.norm(v[1], axis=1)[:, None])
    return along, np.linalg.norm(d, axis=1)
