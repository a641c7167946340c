"""Honest upper bounds on the value of any plan that keeps the rules (value units).

Three relaxations, each an upper bound on its own, and ``upper_bound`` returns the least:

- **antenna DP**: each antenna alone, a weighted-interval-scheduling dynamic programme
  over its busy intervals ``[start - setup_s, end + teardown_s)``, satellites ignored;
- **satellite DP**: each satellite alone under its own rule (``[start, end)`` never
  overlap unless redundant) and its daily cap, per UTC day (overlaps across midnight
  ignored), antennas ignored; a satellite with a total cap (``max_contacts``) is one group
  over the whole problem instead, capped at the least of its total cap and the sum of its
  daily caps over the days it has passes (each a valid count bound; the per-day split is
  then relaxed);
- **Lagrangian decomposition**: every pass is copied to an antenna side and a satellite
  side, and the copies' agreement is priced with multipliers ``mu`` (value units):
  ``L(mu) = antenna DP(w - mu) + satellite DP(mu)`` bounds the plan value for any ``mu``;
  a few dozen subgradient steps push it down. This is what keeps week-long gaps tight.

Locked passes, weekly policy hours and cross-midnight overlaps are relaxed (dropped), so
every number here stays an upper bound. Only allowed passes count.
"""

from __future__ import annotations

import time

import numpy as np

from groundshare.schedule.problem import Problem

# Added to a bound so that float sums in a different order never put it below a true optimum.
BOUND_SLACK = 1e-9


def upper_bound(problem: Problem, *, iterations: int = 60, budget_s: float = 3.0, lower: float | None = None) -> float:
    """Return an upper bound on the objective of every valid plan of ``problem`` (value units).

    ``iterations`` caps the Lagrangian subgradient steps and ``budget_s`` their wall time (s);
    ``lower`` (a known plan's value; default: the greedy plan's) aims the step sizes.
    """
    return bound_details(problem, iterations=iterations, budget_s=budget_s, lower=lower)["bound"]


def bound_details(problem: Problem, *, iterations: int = 60, budget_s: float = 3.0,
                  lower: float | None = None) -> dict[str, float]:
    """Return ``{"bound", "antenna_dp", "satellite_dp", "lagrangian", "iterations"}`` (value units)."""
    idx = np.flatnonzero(problem.allowed & (problem.weight > 0))
    if idx.size == 0:
        return {"bound": 0.0, "antenna_dp": 0.0, "satellite_dp": 0.0, "lagrangian": 0.0, "iterations": 0}
    w = problem.weight[idx]
    antenna_side = _AntennaSide(problem, idx)
    satellite_side = _SatelliteSide(problem, idx)
    a_value, x = antenna_side.solve(w)
    s_value, y = satellite_side.solve(w)
    antenna_dp, satellite_dp = a_value, s_value
    best = min(a_value, s_value)
    lagrangian = float("inf")
    if lower is None:
        from groundshare.schedule.greedy import greedy_plan

        lower = greedy_plan(problem).objective
    # Start where the satellite side alone is the bound (mu = w), or the antenna side (mu = 0).
    mu = w.copy() if s_value <= a_value else np.zeros_like(w)
    theta = 1.0
    stall = 0
    t0 = time.monotonic()
    done = 0
    while done < iterations:
        done += 1
        a_value, x = antenna_side.solve(w - mu)
        s_value, y = satellite_side.solve(mu)
        value = a_value + s_value
        if value < lagrangian:
            improved = lagrangian == float("inf") or value < lagrangian - 1e-6 * abs(lagrangian)
            lagrangian = value
            stall = 0 if improved else stall + 1
        else:
            stall += 1
        if stall >= 4:
            theta, stall = theta / 2, 0
        g = x.astype(float) - y.astype(float)
        norm2 = float(g @ g)
        if norm2 == 0.0 or time.monotonic() - t0 > budget_s:
            break
        mu = mu + theta * max(value - lower, 1e-3 * value) / norm2 * g
    best = min(best, lagrangian)
    return {"bound": best + BOUND_SLACK * max(1.0, abs(best)), "antenna_dp": antenna_dp,
            "satellite_dp": satellite_dp, "lagrangian": lagrangian, "iterations": done}


def _ranks(*arrays: np.ndarray) -> list[np.ndarray]:
    """Return each array's values as integer ranks in the union of all (equal values, equal ranks)."""
    _, inverse = np.unique(np.concatenate(arrays), return_inverse=True)
    out, at = [], 0
    for a in arrays:
        out.append(inverse[at:at + a.size].astype(np.int64))
        at += a.size
    return out


class _AntennaSide:
    """Weighted interval scheduling on every antenna at once (groups laid end to end)."""

    def __init__(self, problem: Problem, idx: np.ndarray) -> None:
        lo, hi = _ranks(problem.busy_start_s[idx], problem.busy_end_s[idx])
        group = problem.antenna[idx]
        span = int(max(lo.max(), hi.max())) + 2
        self.order = np.lexsort((hi, group))
        end_key = group[self.order] * span + hi[self.order]
        start_key = group[self.order] * span + lo[self.order]
        # pred[j]: how many intervals (in sorted order) end before j starts, counting earlier groups whole.
        self.pred = np.searchsorted(end_key, start_key, side="right").tolist()

    def solve(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        weights = w[self.order].tolist()
        pred = self.pred
        f = [0.0] * (len(weights) + 1)
        take = [False] * len(weights)
        for j, wj in enumerate(weights):
            with_j = f[pred[j]] + wj
            if wj > 0 and with_j > f[j]:
                f[j + 1], take[j] = with_j, True
            else:
                f[j + 1] = f[j]
        chosen = np.zeros(len(weights), dtype=bool)
        j = len(weights) - 1
        while j >= 0:
            if take[j]:
                chosen[self.order[j]] = True
                j = pred[j] - 1
            else:
                j -= 1
        return f[-1], chosen


class _SatelliteSide:
    """Each satellite alone, per UTC day: no overlap (unless redundant), at most its daily cap."""

    def __init__(self, problem: Problem, idx: np.ndarray) -> None:
        caps = [s.max_contacts_per_day for s in problem.satellites]
        redundant = [s.allow_redundant for s in problem.satellites]
        totals = [s.max_contacts for s in problem.satellites]
        sat, day = problem.satellite[idx], problem.day[idx]
        whole = np.array([t is not None for t in totals], dtype=bool)
        if whole.any():
            day = np.where(whole[sat], 0, day)  # one group over the whole problem
        start, end = problem.start_s[idx], problem.end_s[idx]
        order = np.lexsort((end, day, sat))
        self.groups: list[tuple[np.ndarray, list[int], int | None, bool]] = []
        keys = np.stack([sat[order], day[order]], axis=1)
        cuts = np.flatnonzero(np.any(np.diff(keys, axis=0) != 0, axis=1)) + 1
        for members in np.split(order, cuts):
            s = int(sat[members[0]])
            pred = np.searchsorted(end[members], start[members], side="right").tolist()
            if totals[s] is not None:
                days = np.unique(problem.day[idx[members]]).tolist()
                daily = [problem.daily_cap(s, d) for d in days] if caps[s] is not None else []
                cap = min([totals[s], sum(daily)] if daily else [totals[s]])
            else:
                cap = None if caps[s] is None else problem.daily_cap(s, int(day[members[0]]))
            self.groups.append((members, pred, cap, redundant[s]))

    def solve(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        chosen = np.zeros(w.size, dtype=bool)
        total = 0.0
        for members, pred, cap, redundant in self.groups:
            weights = w[members]
            if redundant:
                positive = np.flatnonzero(weights > 0)
                if cap is not None and positive.size > cap:
                    positive = positive[np.argsort(-weights[positive], kind="stable")[:cap]]
                total += float(weights[positive].sum())
                chosen[members[positive]] = True
                continue
            value, picked = _capped_wis(weights.tolist(), pred, cap)
            total += value
            chosen[members[picked]] = True
        return total, chosen


def _capped_wis(weights: list[float], pred: list[int], cap: int | None) -> tuple[float, list[int]]:
    """Weighted interval scheduling (sorted by end, ``pred`` as in ``_AntennaSide``) choosing at most ``cap``."""
    m = len(weights)
    k = m if cap is None else min(cap, m)
    if k == 0:
        return 0.0, []
    f = np.zeros((m + 1, k + 1))
    take = np.zeros((m + 1, k + 1), dtype=bool)
    for j in range(1, m + 1):
        wj = weights[j - 1]
        if wj <= 0:
            f[j] = f[j - 1]
            continue
        cand = f[pred[j - 1], :-1] + wj
        better = cand > f[j - 1, 1:]
        f[j, 1:] = np.where(better, cand, f[j - 1, 1:])
        take[j, 1:] = better
    picked = []
    j, c = m, k
    while j > 0 and c > 0:
        if take[j, c]:
            picked.append(j - 1)
            j, c = pred[j - 1], c - 1
        else:
            j -= 1
    return float(f[m, k]), picked
