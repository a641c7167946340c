"""Rolling-window CP-SAT for horizons longer than a day or two.

A day's model closes in seconds; a week's is slower to find good plans than to bound them.
So the horizon is cut into consecutive windows
(``window_s`` seconds, aligned to UTC midnight so that the daily cap never spans two
windows). Each pass belongs to the window of its start. Window ``k`` is solved as its own
problem: its passes, plus those starting up to ``overlap_s`` after it (a look-ahead that
is solved but not committed), plus every pass already committed in earlier windows and
every locked pass of the whole problem, both as locked passes. So conflicts across a
boundary, the ISO week's policy hours already used and the frozen window are all kept.
The time limit is shared out over the windows still to solve. The plan's bound is the
global ``upper_bound(problem)``; ``solve(..., solver="auto")`` follows the windows with one
model of the whole horizon, hinted with their plan, which tightens both.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from groundshare.errors import InvalidInputError
from groundshare.schedule.plan import Plan
from groundshare.schedule.problem import Problem
from groundshare.units import DAY_S, HOUR_S


def solve_rolling(problem: Problem, *, window_s: float = DAY_S, overlap_s: float = HOUR_S,
                  time_limit_s: float = 120.0, workers: int = 8) -> Plan:
    """Return a plan of ``problem`` solved window by window (seconds; see the module docstring)."""
    from groundshare.schedule.bound import upper_bound
    from groundshare.schedule.cpsat import solve_cpsat

    if not (window_s > 0 and overlap_s >= 0 and time_limit_s > 0):
        raise InvalidInputError(f"window_s ({window_s!r}) and time_limit_s ({time_limit_s!r}) must be positive "
                                f"and overlap_s ({overlap_s!r}) 0 or more", loc=("window_s",))
    t0 = time.monotonic()
    ub = upper_bound(problem, budget_s=min(5.0, 0.05 * time_limit_s))
    midnight = problem.start.replace(hour=0, minute=0, second=0, microsecond=0)
    offset_s = (problem.start - midnight).total_seconds()
    window = np.floor((problem.start_s + offset_s) / window_s).astype(np.int64)
    windows = np.unique(window).tolist()
    locked_ids = list(dict.fromkeys(problem.locked))
    committed: list[str] = []
    stats: dict[str, Any] = {"windows": [], "window_s": window_s, "overlap_s": overlap_s}
    status = "feasible"
    for k, w in enumerate(windows):
        remaining_s = time_limit_s - (time.monotonic() - t0)
        share_s = max(0.2, remaining_s / (len(windows) - k))
        end_s = (w + 1) * window_s - offset_s
        own = window == w
        ahead = (problem.start_s >= end_s) & (problem.start_s < end_s + overlap_s)
        pick = set(np.flatnonzero(own | ahead).tolist())
        pick |= set(problem.indexes(committed).tolist()) | set(problem.indexes(locked_ids).tolist())
        members = sorted(pick)
        sub = Problem(start=problem.start, end=problem.end, antennas=problem.antennas,
                      satellites=problem.satellites, passes=[problem.passes[i] for i in members],
                      locked=list(dict.fromkeys([*committed, *locked_ids])), policies=problem.policies,
                      blackouts=problem.blackouts)
        plan = solve_cpsat(sub, time_limit_s=share_s, workers=workers, compute_bound=False)
        stats["windows"].append({"window": int(w), "passes": len(members), "status": plan.status,
                                 "solver": plan.solver, "wall_s": round(plan.wall_s, 3)})
        if plan.status == "infeasible":
            status = "infeasible"
            stats["message"] = plan.stats.get("message", "a window has no plan")
            break
        chosen = problem.indexes(plan.contacts)
        done = set(committed)
        committed += [problem.passes[i].id for i in chosen.tolist() if own[i] and problem.passes[i].id not in done]
    contacts = sorted(dict.fromkeys([*committed, *locked_ids]) if status != "infeasible" else committed,
                      key=lambda c: (problem.start_s[problem.pass_index[c]], c))
    value = float(problem.weight[problem.indexes(contacts)].sum()) if contacts else 0.0
    bound = max(ub, value)
    if status == "feasible" and math.isclose(bound, value, rel_tol=1e-9, abs_tol=1e-9):
        status = "optimal"
    return Plan(status=status, objective=value, bound=bound, contacts=contacts, solver="rolling-cpsat",
                wall_s=time.monotonic() - t0, stats=stats)
