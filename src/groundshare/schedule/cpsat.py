"""The CP-SAT model: one Boolean per allowed pass, at most one per clique of overlapping passes.

Model (times in whole milliseconds from ``problem.start``; a start is floored and an end
ceiled, so rounding can only widen an interval, never hide an overlap, and times on whole
milliseconds, as pass tables and problem files carry them, are exact):

- ``x[i]``: pass ``i`` is chosen (``None`` where the pass is not allowed);
- per antenna: ``AddAtMostOne`` over each maximal set of passes whose busy intervals
  ``[busy_start_s, busy_end_s)`` share an instant;
- per satellite (unless redundant): the same over ``[start_s, end_s)``;
- per (satellite, UTC day): ``sum(x) <= max_contacts_per_day``;
- per satellite with a total cap: ``sum(x) <= max_contacts`` over the whole problem;
- per (antenna, guest organisation, ISO week) with a policy's ``hours_per_week``:
  ``sum(duration_ms * x) <= hours * 3 600 000``;
- locked and ``fixed`` passes: ``x == 1``;
- objective: maximise ``sum(weights[i] * x[i])`` where ``weights = round(value * priority *
  scale)`` (integers), plus ``move_cost`` for each ``keep`` pass chosen (a kept pass that
  is dropped costs ``move_cost`` value units).

Pass times are fixed, so "no two chosen intervals overlap" is exactly "at most one chosen
per maximal clique" of the interval graph (overlapping intervals on a line always share a
point, and the maximal cliques are found by one sweep). Stated so, the rule enters CP-SAT's
linear relaxation: the clique matrix of an interval graph has consecutive ones, so each
antenna's and each satellite's relaxation is integral, and the bound closes within seconds
where ``AddNoOverlap`` over optional intervals left a day's bound stuck (92 satellites x 20
antennas x 1 day: proven optimal in about 3 s instead of 0.46 % open after 60 s).

``build_model`` returns the model for other modules (fairness, repair) to extend;
``solve_cpsat`` solves it, hinted with the greedy plan. Objectives and bounds come back in
value units: the objective from the chosen passes, never from the scaled model.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from groundshare.errors import ConflictError, InvalidInputError
from groundshare.schedule.check import check_schedule
from groundshare.schedule.plan import Plan
from groundshare.schedule.problem import HOURS_SLACK_H, Problem
from groundshare.units import HOUR_S

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

# Integer weights reach about this size; keeps the objective exact to ~1e-6 relative.
WEIGHT_RANGE = 1_000_000
MS_PER_S = 1000


@dataclass
class CpsatModel:
    """A CP-SAT model of ``problem``: ``x[i]`` per pass index (None if not allowed), integer ``weights``.

    ``weights[i] = round(weight[i] * scale)``; ``rounding`` is the largest total error that
    rounding can add to any plan's scaled value, in value units (for an honest bound).
    """

    problem: Problem
    model: cp_model.CpModel
    x: list[Any]
    weights: list[int]
    scale: float
    rounding: float = 0.0
    keep_bonus: dict[int, int] = field(default_factory=dict)


def _ms(t_s: np.ndarray, rounding: Any) -> list[int]:
    """Return times in whole milliseconds, rounded outwards (exact for times on whole milliseconds)."""
    nudge = -1e-6 if rounding is np.ceil else 1e-6
    return rounding(t_s * MS_PER_S + nudge).astype(np.int64).tolist()


def overlap_cliques(starts: Sequence[int], ends: Sequence[int]) -> list[list[int]]:
    """Return the maximal cliques (of two or more) of the half-open intervals ``[starts[k], ends[k])``.

    Each clique is a list of positions into ``starts``, found by one sweep over the end
    points: an interval ending at ``t`` and one starting at ``t`` do not overlap, and an
    empty interval overlaps nothing.

    >>> overlap_cliques([0, 5, 8, 20], [10, 9, 12, 30])
    [[0, 1, 2]]
    >>> overlap_cliques([0, 10, 5], [10, 20, 5])
    []
    """
    lo, hi = np.asarray(starts, np.int64), np.asarray(ends, np.int64)
    n = len(lo)
    keep = np.flatnonzero(hi > lo)
    times = np.r_[lo[keep], hi[keep]]
    events = np.r_[keep, keep + n]  # k: start of interval k; k + n: its end
    order = events[np.lexsort((events < n, times))]  # by time, ends before starts
    cliques: list[list[int]] = []
    active: dict[int, None] = {}
    grown = False
    for e in order.tolist():
        if e < n:
            active[e] = None
            grown = True
            continue
        if grown and len(active) > 1:
            cliques.append(sorted(active))
        grown = False
        del active[e - n]
    return cliques


def weight_scale(weights: np.ndarray) -> float:
    """Return a power of ten that maps the largest weight to at most ``WEIGHT_RANGE``."""
    top = float(weights.max()) if weights.size else 0.0
    if top <= 0:
        return 1.0
    return 10.0 ** math.floor(math.log10(WEIGHT_RANGE / top))


def build_model(problem: Problem, *, hint: Sequence[str] | Plan | None = None, fixed: Sequence[str] = (),
                keep: Sequence[str] | None = None, move_cost: float | None = None) -> CpsatModel:
    """Return the CP-SAT model of ``problem`` with the objective set (see the module docstring).

    ``fixed`` (pass ids) must be chosen, as ``problem.locked``; a fixed pass that is not
    allowed raises ``ConflictError`` naming it. ``keep`` are booked pass ids; each one not
    chosen costs ``move_cost`` value units (default: a bit more than the largest weight).
    """
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    n = len(problem.passes)
    allowed = problem.allowed
    w = problem.weight
    scale = weight_scale(w[allowed])
    w_int = np.rint(w * scale).astype(np.int64)
    rounding = float(np.abs(w[allowed] * scale - w_int[allowed]).sum() / scale)
    x: list[Any] = [model.new_bool_var(f"x[{p.id}]") if allowed[i] else None for i, p in enumerate(problem.passes)]

    busy_lo, busy_hi = _ms(problem.busy_start_s, np.floor), _ms(problem.busy_end_s, np.ceil)
    lo, hi = _ms(problem.start_s, np.floor), _ms(problem.end_s, np.ceil)
    antenna, satellite = problem.antenna.tolist(), problem.satellite.tolist()
    by_antenna: dict[int, list[int]] = defaultdict(list)
    by_satellite: dict[int, list[int]] = defaultdict(list)
    per_day: dict[tuple[int, int], list[Any]] = defaultdict(list)
    per_satellite: dict[int, list[Any]] = defaultdict(list)
    totals = [s.max_contacts for s in problem.satellites]
    redundant = [s.allow_redundant for s in problem.satellites]
    caps = [s.max_contacts_per_day for s in problem.satellites]
    day = problem.day.tolist()
    for i in range(n):
        if x[i] is None:
            continue
        by_antenna[antenna[i]].append(i)
        if not redundant[satellite[i]]:
            by_satellite[satellite[i]].append(i)
        if caps[satellite[i]] is not None:
            per_day[(satellite[i], day[i])].append(x[i])
        if totals[satellite[i]] is not None:
            per_satellite[satellite[i]].append(x[i])
    for starts, ends, groups in ((busy_lo, busy_hi, by_antenna), (lo, hi, by_satellite)):
        for members in groups.values():
            for clique in overlap_cliques([starts[i] for i in members], [ends[i] for i in members]):
                model.add_at_most_one([x[members[k]] for k in clique])
    for (s, d), members in per_day.items():
        cap = problem.daily_cap(s, d)
        if cap is not None and len(members) > cap:
            model.add(sum(members) <= cap)
    for s, members in per_satellite.items():
        if len(members) > totals[s]:
            model.add(sum(members) <= totals[s])
    _add_weekly_hours(problem, model, x)

    for pass_id in dict.fromkeys([*problem.locked, *fixed]):
        if pass_id not in problem.pass_index:
            raise InvalidInputError(f"fixed pass {pass_id!r} is not in the problem", loc=("fixed",))
        i = problem.pass_index[pass_id]
        if x[i] is None:
            raise ConflictError(f"locked pass {pass_id!r} is not allowed (no sharing policy, or a blackout); "
                                "unlock it or change the policy")
        model.add(x[i] == 1)

    keep_bonus: dict[int, int] = {}
    if keep:
        top = int(w_int.max()) if n else 0
        bonus = top + 1 if move_cost is None else round(move_cost * scale)
        for pass_id in keep:
            i = problem.pass_index.get(pass_id)
            if i is not None and x[i] is not None:
                keep_bonus[i] = bonus
    terms = [(int(w_int[i]) + keep_bonus.get(i, 0), v) for i, v in enumerate(x) if v is not None]
    model.maximize(sum(c * v for c, v in terms if c != 0))
    cm = CpsatModel(problem=problem, model=model, x=x, weights=w_int.tolist(), scale=scale, rounding=rounding,
                    keep_bonus=keep_bonus)
    if hint is not None:
        set_hint(cm, hint.contacts if isinstance(hint, Plan) else hint)
    return cm


def _add_weekly_hours(problem: Problem, model: cp_model.CpModel, x: list[Any]) -> None:
    if not problem.policies:
        return
    groups: dict[tuple[int, str, int], list[int]] = defaultdict(list)
    caps: dict[tuple[int, str, int], float] = {}
    for i, p in enumerate(problem.passes):
        org = problem.satellite_org[i]
        if x[i] is None or problem.antenna_org[i] == org:
            continue
        policy = problem.policy_for(p.antenna, org)
        if policy is not None and policy.hours_per_week is not None:
            key = (int(problem.antenna[i]), org, int(problem.week[i]))
            groups[key].append(i)
            caps[key] = policy.hours_per_week
    duration_ms = np.rint((problem.end_s - problem.start_s) * MS_PER_S).astype(np.int64)
    for key, members in groups.items():
        cap_ms = math.floor((caps[key] + HOURS_SLACK_H) * HOUR_S * MS_PER_S)
        if int(duration_ms[members].sum()) > cap_ms:
            model.add(sum(int(duration_ms[i]) * x[i] for i in members) <= cap_ms)


def set_hint(cm: CpsatModel, contacts: Sequence[str]) -> None:
    """Hint ``cm`` with the plan ``contacts`` (pass ids): chosen ones 1, every other 0."""
    cm.model.clear_hints()
    chosen = {cm.problem.pass_index[c] for c in contacts if c in cm.problem.pass_index}
    for i, v in enumerate(cm.x):
        if v is not None:
            cm.model.add_hint(v, i in chosen)


def solve_cpsat(problem: Problem, *, time_limit_s: float = 30.0, workers: int = 8, hint: Plan | None = None,
                objective: str = "efficiency", log: bool = False, keep: Sequence[str] | None = None,
                move_cost: float | None = None, compute_bound: bool = True) -> Plan:
    """Return the CP-SAT plan of ``problem`` within ``time_limit_s`` seconds on ``workers`` threads.

    Run 8 or more workers even on 2 cores: with 2 the bound barely moves. ``hint`` defaults
    to the greedy plan, which is also returned (solver ``"greedy"``) when CP-SAT finds
    nothing in time. The bound is the least of CP-SAT's (in value units, rounding-safe)
    and ``upper_bound(problem)`` (skipped when ``compute_bound`` is false).
    """
    from ortools.sat.python import cp_model

    from groundshare.schedule.bound import upper_bound
    from groundshare.schedule.greedy import greedy_plan

    if objective != "efficiency":
        raise InvalidInputError(f"objective must be 'efficiency', got {objective!r}; for fair plans use "
                                "groundshare.schedule.fairness", loc=("objective",))
    if not (time_limit_s > 0 and workers >= 1):
        raise InvalidInputError(f"time_limit_s ({time_limit_s!r}) and workers ({workers!r}) must be positive",
                                loc=("time_limit_s",))
    t0 = time.monotonic()
    ub = upper_bound(problem, budget_s=min(3.0, 0.1 * time_limit_s)) if compute_bound else None
    clash = [v for v in check_schedule(problem, problem.locked) if v.kind != "locked_missing"]
    if clash:
        message = "the locked passes break the rules: " + "; ".join(v.message for v in clash[:5])
        return Plan(status="infeasible", objective=0.0, bound=ub, contacts=[], solver="cpsat",
                    wall_s=time.monotonic() - t0, stats={"message": message})
    if hint is None:
        hint = greedy_plan(problem)
    cm = build_model(problem, hint=hint, keep=keep, move_cost=move_cost)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, time_limit_s - (time.monotonic() - t0))
    solver.parameters.num_workers = int(workers)
    solver.parameters.log_search_progress = bool(log)
    code = solver.solve(cm.model)
    status = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible"}.get(code, "unknown")
    stats: dict[str, Any] = {"cpsat_status": solver.status_name(code), "branches": solver.num_branches,
                             "conflicts": solver.num_conflicts, "workers": int(workers), "scale": cm.scale}
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if code == cp_model.INFEASIBLE:
            return Plan(status="infeasible", objective=0.0, bound=ub, contacts=[], solver="cpsat",
                        wall_s=time.monotonic() - t0, stats={**stats, "message": "CP-SAT proved no plan keeps "
                                                                                  "the rules"})
        stats["fallback"] = f"CP-SAT found no plan in time; this is its hint, the {hint.solver} plan"
        return Plan(status="feasible" if hint.status != "infeasible" else hint.status, objective=hint.objective,
                    bound=ub, contacts=list(hint.contacts), solver=hint.solver, wall_s=time.monotonic() - t0,
                    stats=stats)
    picked = [i for i, v in enumerate(cm.x) if v is not None and solver.boolean_value(v)]
    picked.sort(key=lambda i: (problem.start_s[i], problem.passes[i].id))
    value = float(problem.weight[picked].sum()) if picked else 0.0
    bound = ub
    if not keep:
        cp_bound = solver.best_objective_bound / cm.scale + cm.rounding
        cp_bound += 1e-9 * max(1.0, abs(cp_bound))
        bound = cp_bound if bound is None else min(bound, cp_bound)
    if not keep and hint.status != "infeasible" and hint.objective > value + 1e-9:
        # Sub-millisecond widening (or the time limit) kept CP-SAT below its own hint: keep the better plan.
        picked = [problem.pass_index[c] for c in hint.contacts]
        picked.sort(key=lambda i: (problem.start_s[i], problem.passes[i].id))
        value, status = float(hint.objective), "feasible"
        stats["kept_hint"] = "the hint was better than CP-SAT's plan and is returned"
    if bound is not None:
        bound = max(bound, value)
    if keep:
        stats["kept"] = sum(1 for i in picked if i in cm.keep_bonus)
    return Plan(status=status, objective=value, bound=bound, contacts=problem.ids(picked), solver="cpsat",
                wall_s=time.monotonic() - t0, stats=stats)
