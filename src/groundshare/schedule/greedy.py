"""The greedy baseline: locked passes first, then by value, each inserted if it breaks no rule.

Order: locked passes (in start order), then allowed passes by ``value * priority``
descending (ties: earlier start, then id). A pass goes in when its antenna is free over
its busy interval ``[start - setup_s, end + teardown_s)``, its satellite is free over
``[start, end)`` (unless redundant), the satellite's daily cap leaves room on its UTC day
(and its total cap, ``max_contacts``, over the problem) and a guest's policy hours leave
room in its ISO week. Per antenna and per satellite the taken intervals are kept as sorted
lists (bisect), so 100 000 candidates take well under a second. It is the fallback when
CP-SAT runs out of time, and CP-SAT's default hint.

``greedy_plan`` is the heuristic alone (no bound); ``schedule.solve_greedy`` adds the
plan's honest upper bound (``schedule.bound``, which aims its own steps with this plan).
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections import defaultdict

import numpy as np

from groundshare.schedule.plan import Plan
from groundshare.schedule.problem import HOURS_SLACK_H, Problem
from groundshare.units import HOUR_S


class _Timeline:
    """Disjoint half-open intervals, sorted; ``fits`` and ``add`` in O(log n) plus a list insert."""

    __slots__ = ("ends", "starts")

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.ends: list[float] = []

    def fits(self, lo: float, hi: float) -> bool:
        k = bisect_right(self.starts, lo)
        return not ((k > 0 and self.ends[k - 1] > lo) or (k < len(self.starts) and self.starts[k] < hi))

    def add(self, lo: float, hi: float) -> None:
        k = bisect_right(self.starts, lo)
        self.starts.insert(k, lo)
        self.ends.insert(k, hi)


def guest_hours_cap_s(problem: Problem) -> np.ndarray:
    """Return, per pass, its policy's weekly cap in seconds (``inf`` where no cap applies: owner or no hours)."""
    out = np.full(len(problem.passes), np.inf)
    if not problem.policies:
        return out
    for i, p in enumerate(problem.passes):
        org = problem.satellite_org[i]
        if problem.antenna_org[i] != org:
            policy = problem.policy_for(p.antenna, org)
            if policy is not None and policy.hours_per_week is not None:
                out[i] = (policy.hours_per_week + HOURS_SLACK_H) * HOUR_S
    return out


def greedy_plan(problem: Problem, *, locked: bool = True) -> Plan:
    """Return the greedy plan (status ``"feasible"``, or ``"infeasible"`` when locked passes clash), without a bound.

    ``locked=False`` treats locked passes like any other.
    """
    t0 = time.monotonic()
    n = len(problem.passes)
    start, end = problem.start_s.tolist(), problem.end_s.tolist()
    busy_lo, busy_hi = problem.busy_start_s.tolist(), problem.busy_end_s.tolist()
    antenna, satellite = problem.antenna.tolist(), problem.satellite.tolist()
    day, week = problem.day.tolist(), problem.week.tolist()
    hours_cap_s = guest_hours_cap_s(problem).tolist()
    caps = [s.max_contacts_per_day for s in problem.satellites]
    totals = [s.max_contacts for s in problem.satellites]
    redundant = [s.allow_redundant for s in problem.satellites]
    allowed = problem.allowed
    locked_idx = problem.indexes(problem.locked) if locked else np.zeros(0, dtype=np.int64)
    locked_idx = locked_idx[np.argsort(problem.start_s[locked_idx], kind="stable")]
    pid = np.array([p.id for p in problem.passes], dtype=object)
    free = np.flatnonzero(allowed & (problem.weight > 0))
    free = free[~np.isin(free, locked_idx)]
    free = free[np.lexsort((pid[free], problem.start_s[free], -problem.weight[free]))]

    antenna_time = [_Timeline() for _ in problem.antennas]
    satellite_time = [_Timeline() for _ in problem.satellites]
    per_day: dict[tuple[int, int], int] = defaultdict(int)
    per_satellite: dict[int, int] = defaultdict(int)
    used_s: dict[tuple[int, str, int], float] = defaultdict(float)
    org = [s.organisation for s in problem.satellites]
    chosen: list[int] = []
    refused: list[str] = []

    def try_insert(i: int) -> bool:
        a, s = antenna[i], satellite[i]
        if not antenna_time[a].fits(busy_lo[i], busy_hi[i]):
            return False
        if not redundant[s] and not satellite_time[s].fits(start[i], end[i]):
            return False
        if caps[s] is not None and per_day[(s, day[i])] >= problem.daily_cap(s, day[i]):
            return False
        if totals[s] is not None and per_satellite[s] >= totals[s]:
            return False
        duration = end[i] - start[i]
        key = (a, org[s], week[i])
        if duration + used_s[key] > hours_cap_s[i]:
            return False
        antenna_time[a].add(busy_lo[i], busy_hi[i])
        if not redundant[s]:
            satellite_time[s].add(start[i], end[i])
        per_day[(s, day[i])] += 1
        per_satellite[s] += 1
        used_s[key] += duration
        chosen.append(i)
        return True

    for i in locked_idx.tolist():
        if not allowed[i] or not try_insert(i):
            refused.append(problem.passes[i].id)
    for i in free.tolist():
        try_insert(i)

    order = sorted(chosen, key=lambda i: (start[i], problem.passes[i].id))
    contacts = problem.ids(order)
    value = float(problem.weight[order].sum()) if n else 0.0
    stats: dict = {"candidates": n}
    status = "feasible"
    if refused:
        status = "infeasible"
        stats["message"] = (f"locked passes {', '.join(refused)} are not allowed or clash with other locked passes; "
                            "unlock them or fix the problem")
    return Plan(status=status, objective=value, bound=None, contacts=contacts, solver="greedy",
                wall_s=time.monotonic() - t0, stats=stats)

