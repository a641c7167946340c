"""solve(): one entry point that picks the solver for the horizon.

``"auto"`` builds one CP-SAT model when the problem spans at most 1.5 days and solves
rolling daily windows otherwise; ``"cpsat"`` always builds one model; ``"greedy"`` is the
baseline. CP-SAT that finds nothing in time falls back to the greedy plan (solver
``"greedy"``, status ``"feasible"``).
"""

from __future__ import annotations

from groundshare.errors import InvalidInputError
from groundshare.schedule.plan import Plan
from groundshare.schedule.problem import DAY_S, Problem

SOLVERS = ("auto", "cpsat", "greedy", "rolling")
# Longest horizon (s) that "auto" solves as one model.
ONE_MODEL_MAX_S = 1.5 * DAY_S


def solve(problem: Problem, *, solver: str = "auto", time_limit_s: float = 30.0, workers: int = 8) -> Plan:
    """Return a plan of ``problem`` from ``solver`` within about ``time_limit_s`` seconds."""
    from groundshare.schedule.cpsat import solve_cpsat
    from groundshare.schedule.greedy import solve_greedy
    from groundshare.schedule.rolling import solve_rolling

    if solver not in SOLVERS:
        raise InvalidInputError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}", loc=("solver",))
    if solver == "greedy":
        return solve_greedy(problem)
    horizon_s = (problem.end - problem.start).total_seconds()
    if solver == "rolling" or (solver == "auto" and horizon_s > ONE_MODEL_MAX_S):
        return solve_rolling(problem, time_limit_s=time_limit_s, workers=workers)
    return solve_cpsat(problem, time_limit_s=time_limit_s, workers=workers)
