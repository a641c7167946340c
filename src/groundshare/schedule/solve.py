"""solve(): one entry point that picks the solver for the horizon.

``"auto"`` builds one CP-SAT model when the problem spans at most 1.5 days. A longer
horizon is solved in two steps: rolling daily windows first (up to ``ROLLING_SHARE`` of
the time; a window that is proven optimal early hands its time on), then one CP-SAT model
of the whole horizon, hinted with the rolling plan, for the rest. The windows find a good
plan fast; the whole model improves it across window boundaries and gives the honest
bound (never below the hint, so the result is at least the rolling plan). ``"rolling"``
and ``"cpsat"`` run one step alone; ``"greedy"`` is the baseline (``solve_greedy``: the
greedy plan with its honest bound). CP-SAT that finds nothing in time falls back to the
greedy plan (solver ``"greedy"``, status ``"feasible"``).
"""

from __future__ import annotations

import dataclasses
import time

from groundshare.errors import InvalidInputError
from groundshare.schedule.plan import Plan
from groundshare.schedule.problem import Problem
from groundshare.units import DAY_S

SOLVERS = ("auto", "cpsat", "greedy", "rolling")
# Longest horizon (s) that "auto" solves as one model alone.
ONE_MODEL_MAX_S = 1.5 * DAY_S
# Share of the time limit the rolling windows may take before the whole model (longer horizons).
ROLLING_SHARE = 0.5


def solve(problem: Problem, *, solver: str = "auto", time_limit_s: float = 30.0, workers: int = 8) -> Plan:
    """Return a plan of ``problem`` from ``solver`` within about ``time_limit_s`` seconds."""
    from groundshare.schedule.cpsat import solve_cpsat
    from groundshare.schedule.rolling import solve_rolling

    if solver not in SOLVERS:
        raise InvalidInputError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}", loc=("solver",))
    if not time_limit_s > 0:
        raise InvalidInputError(f"time_limit_s must be positive, got {time_limit_s!r}", loc=("time_limit_s",))
    if solver == "greedy":
        return solve_greedy(problem)
    if solver == "rolling":
        return solve_rolling(problem, time_limit_s=time_limit_s, workers=workers)
    horizon_s = (problem.end - problem.start).total_seconds()
    if solver == "cpsat" or horizon_s <= ONE_MODEL_MAX_S:
        return solve_cpsat(problem, time_limit_s=time_limit_s, workers=workers)
    t0 = time.monotonic()
    rolling = solve_rolling(problem, time_limit_s=ROLLING_SHARE * time_limit_s, workers=workers)
    if rolling.status == "infeasible":
        return rolling
    left_s = max(0.5, time_limit_s - (time.monotonic() - t0))
    plan = solve_cpsat(problem, time_limit_s=left_s, workers=workers, hint=rolling)
    plan.solver = "rolling+cpsat"
    plan.wall_s = time.monotonic() - t0
    plan.stats |= {"rolling": {"objective": rolling.objective, "wall_s": round(rolling.wall_s, 3),
                               "windows": rolling.stats.get("windows", [])}}
    return plan


def solve_greedy(problem: Problem, *, locked: bool = True, bound: bool = True) -> Plan:
    """Return the greedy plan (status ``"feasible"``, or ``"infeasible"`` when locked passes clash).

    ``locked=False`` treats locked passes like any other. ``bound`` computes the plan's upper
    bound with ``upper_bound`` (otherwise ``bound`` is None).
    """
    from groundshare.schedule.bound import upper_bound
    from groundshare.schedule.greedy import greedy_plan

    t0 = time.monotonic()
    plan = greedy_plan(problem, locked=locked)
    if not bound:
        return plan
    # The bound aims its steps with the greedy plan's value: with locked passes kept, that is this plan's.
    ub = max(upper_bound(problem, lower=plan.objective if locked else None), plan.objective)
    return dataclasses.replace(plan, bound=ub, gap=None, wall_s=time.monotonic() - t0)
