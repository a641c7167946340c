"""Fairness between partners: entitlements, satisfaction, Jain's index, reciprocity, and a fair solver.

Definitions (all values are in objective units, ``value * priority``; hours are pass time,
``end - start``, without setup or teardown):

- **share** (``entitlements``): the organisation's fraction of the network's value. The
  problem's own ``entitlements`` win when given (normalised to sum to 1); otherwise the
  share is in proportion to the antenna-hours the organisation contributes over the horizon
  (each antenna counts the horizon's hours minus its blackouts), blended with an equal
  share by ``floor`` (default 10 %) so that a partner that owns satellites but no antenna
  is not starved to zero. ``basis="equal"`` gives every organisation the same share.
- **requested** (``requested``): what an organisation's satellites could use if the network
  were theirs alone: per satellite, the best value under its own rules (no overlap unless
  redundant, the daily cap) over the passes it is allowed, computed by a dynamic programme
  per satellite and UTC day (per satellite over the whole problem when it has a total cap,
  ``max_contacts``, at most that many and at most its daily caps' sum). It ignores antenna
  setup/teardown between its own passes,
  weekly policy hours, and overlaps across midnight, so it is an **upper bound** of the
  organisation's demand.
- **entitlement value**: ``share' * pool`` where ``share'`` is the share renormalised over
  the organisations that request something (an antenna-only partner has no demand, and its
  share would otherwise be lost) and ``pool`` is the efficiency-only plan's value when
  known (a fixed yardstick: a plan cannot raise everyone's satisfaction by throwing value
  away) or else this plan's own value.
- **satisfaction** = granted / min(requested, entitlement value); 1.0 when that is 0.
  Minimum and **Jain's index** are taken over organisations that request something, on
  satisfactions **capped at 1**: an organisation served beyond its entitlement because
  others could not use the capacity is not a sign of unfairness. Jain's index is
  ``(sum s)^2 / (n * sum s^2)``: 1 when all are equal, ``1/n`` when one takes everything.
- **reciprocity** for each pair (A, B): hours A's antennas served B's satellites minus
  hours B's antennas served A's (positive: A gives more than it gets).
- **price of fairness** = (efficient - this) / efficient.

The fair objective (``solve_fair``) is **max-min satisfaction under a value floor**,
solved in two CP-SAT stages after the efficiency-only plan:

1. maximise ``tau`` such that every organisation's satisfaction (capped at 1) is at least
   ``tau`` and the plan keeps at least ``(1 - max_price) * efficient`` value;
2. with every satisfaction at least ``tau - epsilon``, maximise value.

Why this and not a plain lexicographic max-min or an alpha-fair sum: max-min over
satisfaction with no value floor will sacrifice a lot of value to lift one organisation
whose satellites are hard to serve (its geometry, not the scheduler, limits it), which
breaks the "price of fairness at most 3 %" target. Stating the price as a hard floor and
lifting the *worst-off* organisation as far as that budget allows hits both targets by
construction: Jain's index over satisfactions that all lie in ``[tau, 1]`` is at least
``4 tau / (1 + tau)^2`` (0.95 needs ``tau`` >= 0.64), and the value lost is at most
``max_price``. Every constraint is linear (``granted_o * K >= z * target_o`` with constant
targets), so both stages are ordinary CP-SAT models with integer weights, each hinted with
the plan before. ``method="alpha"`` offers proportional fairness (alpha = 1: maximise the
sum of ``log(satisfaction)``, a concave piecewise-linear approximation by tangents) under
the same value floor, for operators who prefer to weigh every partner, not only the worst.
Measured with the earlier interval (NoOverlap) form of the model (2-core machine, ``time_limit_s=60``,
8 workers) on seeded random 1-day networks of 6
partners, 10 antennas, 100 satellites and about 2,000 candidate passes, where one partner
owns more satellites worth more per pass (``tests/schedule/test_fairness.py::random_problem``
with ``skew=3``, seeds 1-3): the efficiency-only plan has Jain 0.978-0.992 and minimum
satisfaction 0.65-0.82; max-min raises them to 0.990-0.998 and 0.77-0.90 at a price of fairness
of 0.6-3.0 % (alpha: 0.986-0.993 and 0.75-0.82 at 0.4-0.7 %). With ``skew=1`` Jain goes from 0.993-0.996 to
0.996-0.999 at 0.7-1.8 %. The fairness stage rarely proves optimality in that time: a pure
max-min objective is flat, so the model adds the sum of capped satisfactions as a tie-break
that gives the search a gradient. Satisfaction is measured against ``requested``, an upper
bound, so a minimum below 1 partly reflects that bound, not only unfairness.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from groundshare.errors import InvalidInputError
from groundshare.schedule.problem import Problem
from groundshare.units import HOUR_S

# Satisfactions are integers of 1/SAT_SCALE in the CP-SAT models: 0.1 % steps.
SAT_SCALE = 1000


# Entitlements and demand.


def contributed_hours(problem: Problem) -> dict[str, float]:
    """Return the antenna-hours each organisation contributes over the horizon, minus blackouts."""
    horizon_s = (problem.end - problem.start).total_seconds()
    out = {org: 0.0 for org in problem.organisations}
    for antenna in problem.antennas:
        spans = sorted((max(0.0, (b.start - problem.start).total_seconds()),
                        min(horizon_s, (b.end - problem.start).total_seconds()))
                       for b in problem.blackouts if b.antenna == antenna.id)
        down_s, reach_s = 0.0, 0.0
        for s0, s1 in spans:  # union of the blackouts, clipped to the horizon
            s0 = max(s0, reach_s)
            if s1 > s0:
                down_s += s1 - s0
                reach_s = s1
        out[antenna.organisation] += (horizon_s - down_s) / HOUR_S
    return out


def entitlements(problem: Problem, *, basis: Literal["contribution", "equal"] = "contribution",
                 floor: float = 0.1) -> dict[str, float]:
    """Return each organisation's share of the network's value; the shares sum to 1.

    The problem's own ``entitlements`` are used when given (organisations it does not
    name get 0). Otherwise ``basis="contribution"`` shares in proportion to contributed
    antenna-hours, blended with an equal share: ``(1 - floor) * contribution + floor *
    equal``, so a satellite-only partner keeps ``floor / n`` of the network; ``"equal"``
    gives every organisation ``1 / n``.
    """
    orgs = problem.organisations
    if not orgs:
        return {}
    equal = {org: 1.0 / len(orgs) for org in orgs}
    if problem.entitlements is not None:
        given = {org: float(problem.entitlements.get(org, 0.0)) for org in orgs}
        total = sum(given.values())
        return {org: v / total for org, v in given.items()} if total > 0 else equal
    if basis == "equal":
        return equal
    if basis != "contribution":
        raise InvalidInputError(f"basis must be 'contribution' or 'equal', got {basis!r}", loc=("basis",))
    if not 0.0 <= floor <= 1.0:
        raise InvalidInputError(f"floor must be between 0 and 1, got {floor!r}", loc=("floor",))
    hours = contributed_hours(problem)
    total_h = sum(hours.values())
    if total_h <= 0:
        return equal
    return {org: (1.0 - floor) * hours[org] / total_h + floor * equal[org] for org in orgs}


def satellite_demand(problem: Problem) -> np.ndarray:
    """Return, per satellite, the best value it could get alone (an upper bound; see the module docstring).

    Shape (n_satellites,). Per satellite and UTC day, a weighted interval-scheduling
    programme with a cardinality cap: ``f[i, c]`` is the best value of the first ``i``
    passes (by end time) using at most ``c`` contacts.
    """
    out = np.zeros(len(problem.satellites))
    if not problem.passes:
        return out
    usable = problem.allowed & (problem.weight > 0)
    for s, sat in enumerate(problem.satellites):
        mine = np.flatnonzero(usable & (problem.satellite == s))
        days = np.unique(problem.day[mine])
        groups = [(mine, None)] if sat.max_contacts is not None else [(mine[problem.day[mine] == d], d) for d in days]
        for idx, day in groups:
            if day is None:
                daily = [problem.daily_cap(s, int(d)) for d in days] if sat.max_contacts_per_day is not None else []
                cap = min([len(idx), sat.max_contacts] + ([sum(daily)] if daily else []))
            else:
                left = problem.daily_cap(s, int(day))
                cap = len(idx) if left is None else min(len(idx), left)
            if cap == 0:
                continue
            w = problem.weight[idx]
            if sat.allow_redundant:
                out[s] += np.sort(w)[::-1][:cap].sum()
                continue
            order = np.argsort(problem.end_s[idx], kind="stable")
            start_s, end_s, w = problem.start_s[idx][order], problem.end_s[idx][order], w[order]
            # prev[i]: how many passes (in end order) end at or before pass i starts
            prev = np.searchsorted(end_s, start_s, side="right")
            f = np.zeros((len(idx) + 1, cap + 1))
            for i in range(len(idx)):
                take = np.concatenate(([0.0], f[prev[i], :-1] + w[i]))
                f[i + 1] = np.maximum(f[i], take)
            out[s] += f[-1, -1]
    return out


def requested(problem: Problem) -> dict[str, float]:
    """Return the value each organisation's satellites could use alone (an upper bound of its demand)."""
    demand = satellite_demand(problem)
    out = {org: 0.0 for org in problem.organisations}
    for s, sat in enumerate(problem.satellites):
        out[sat.organisation] += float(demand[s])
    return out


def targets(problem: Problem, pool_value: float, *, shares: Mapping[str, float] | None = None,
            demand: Mapping[str, float] | None = None) -> dict[str, float]:
    """Return each organisation's fairness target, ``min(requested, entitlement value)``, for a value ``pool``."""
    shares = entitlements(problem) if shares is None else shares
    demand = requested(problem) if demand is None else demand
    active = [org for org in problem.organisations if demand.get(org, 0.0) > 0]
    total_share = sum(shares.get(org, 0.0) for org in active)
    out = {}
    for org in problem.organisations:
        if org not in active or total_share <= 0:
            out[org] = 0.0
        else:
            out[org] = min(demand[org], shares.get(org, 0.0) / total_share * pool_value)
    return out


# The report.


@dataclass(frozen=True)
class OrgFairness:
    """One organisation's line in a ``FairnessReport``."""

    organisation: str
    share: float
    contributed_h: float
    requested_value: float
    entitlement_value: float
    target_value: float
    granted_value: float
    granted_h: float
    satisfaction: float


@dataclass(frozen=True)
class Reciprocity:
    """Hours A's antennas served B's satellites, and the other way; ``balance_h`` = given - received."""

    org_a: str
    org_b: str
    a_served_b_h: float
    b_served_a_h: float

    @property
    def balance_h(self) -> float:
        return self.a_served_b_h - self.b_served_a_h


@dataclass(frozen=True)
class FairnessReport:
    """Fairness of one plan; see the module docstring for every definition."""

    organisations: list[OrgFairness]
    min_satisfaction: float
    jain_index: float
    reciprocity: list[Reciprocity]
    total_value: float
    pool_value: float
    efficient_value: float | None = None
    price_of_fairness: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def satisfaction(self, organisation: str) -> float:
        for line in self.organisations:
            if line.organisation == organisation:
                return line.satisfaction
        raise KeyError(organisation)

    def granted(self, organisation: str) -> float:
        for line in self.organisations:
            if line.organisation == organisation:
                return line.granted_value
        raise KeyError(organisation)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reciprocity"] = [{**asdict(r), "balance_h": r.balance_h} for r in self.reciprocity]
        return out


def jain_index(values: Iterable[float]) -> float:
    """Return Jain's fairness index ``(sum x)^2 / (n * sum x^2)``; 1.0 for no values or all zeros.

    >>> jain_index([1.0, 1.0, 1.0])
    1.0
    >>> jain_index([1.0, 0.0])
    0.5
    """
    x = np.asarray(list(values), dtype=float)
    square_sum = float(np.sum(x * x))
    if len(x) == 0 or square_sum == 0:
        return 1.0
    return float(np.sum(x) ** 2 / (len(x) * square_sum))


def reciprocity(problem: Problem, contacts: Sequence[str]) -> list[Reciprocity]:
    """Return, for every pair of organisations (sorted), the hours each one's antennas served the other."""
    idx = problem.indexes(contacts)
    hours = (problem.end_s[idx] - problem.start_s[idx]) / HOUR_S
    served: dict[tuple[str, str], float] = {}
    for giver, taker, h in zip(problem.antenna_org[idx], problem.satellite_org[idx], hours, strict=True):
        if giver != taker:
            served[giver, taker] = served.get((giver, taker), 0.0) + float(h)
    orgs = problem.organisations
    return [Reciprocity(a, b, served.get((a, b), 0.0), served.get((b, a), 0.0))
            for i, a in enumerate(orgs) for b in orgs[i + 1:]]


def fairness_report(problem: Problem, contacts: Sequence[str], *, efficient_objective: float | None = None,
                    shares: Mapping[str, float] | None = None) -> FairnessReport:
    """Return satisfaction per organisation, its minimum, Jain's index, reciprocity and the price of fairness.

    ``efficient_objective`` is the efficiency-only plan's value: it sets the entitlement
    pool and the price of fairness (both left out when it is None: the pool is then this
    plan's own value).
    """
    shares = entitlements(problem) if shares is None else dict(shares)
    demand = requested(problem)
    hours = contributed_hours(problem)
    idx = problem.indexes(contacts)
    w = problem.weight[idx]
    dur_h = (problem.end_s[idx] - problem.start_s[idx]) / HOUR_S
    orgs_of = problem.satellite_org[idx]
    total = float(w.sum())
    pool = total if efficient_objective is None else float(efficient_objective)
    target = targets(problem, pool, shares=shares, demand=demand)
    active = [org for org in problem.organisations if demand[org] > 0]
    total_share = sum(shares.get(org, 0.0) for org in active)
    lines = []
    for org in problem.organisations:
        mask = orgs_of == org
        granted = float(w[mask].sum())
        ent = shares.get(org, 0.0) / total_share * pool if org in active and total_share > 0 else 0.0
        lines.append(OrgFairness(
            organisation=org, share=shares.get(org, 0.0), contributed_h=hours[org], requested_value=demand[org],
            entitlement_value=ent, target_value=target[org], granted_value=granted,
            granted_h=float(dur_h[mask].sum()), satisfaction=granted / target[org] if target[org] > 0 else 1.0))
    capped = [min(1.0, line.satisfaction) for line in lines if line.organisation in active]
    price = None
    if efficient_objective is not None and efficient_objective > 0:
        price = (efficient_objective - total) / efficient_objective
    return FairnessReport(organisations=lines, min_satisfaction=min(capped, default=1.0),
                          jain_index=jain_index(capped), reciprocity=reciprocity(problem, contacts), total_value=total,
                          pool_value=pool, efficient_value=efficient_objective, price_of_fairness=price)


# The fair solver.


def solve_fair(problem: Problem, *, time_limit_s: float = 60.0, workers: int = 8,
               method: Literal["maxmin", "alpha"] = "maxmin", max_price: float = 0.03, epsilon: float = 0.01,
               shares: Mapping[str, float] | None = None, efficient: Any = None) -> tuple[Any, FairnessReport]:
    """Return a fair plan and its fairness report (against the efficiency-only plan).

    Stages (see the module docstring): the efficiency-only plan (``solve_cpsat``, 40 % of
    ``time_limit_s``, skipped when ``efficient`` is a ``Plan`` already solved); then the
    fairness stage, which maximises the minimum satisfaction (``"maxmin"``) or the sum of
    ``log(satisfaction)`` (``"alpha"``) subject to value >= ``(1 - max_price)`` x efficient;
    then the value stage, which keeps every satisfaction within ``epsilon`` of what the
    fairness stage reached and maximises value. Each stage is hinted with the plan before,
    and a stage that finds nothing better leaves the plan before in place.
    """
    from groundshare.schedule.cpsat import build_model, solve_cpsat

    if method not in ("maxmin", "alpha"):
        raise InvalidInputError(f"method must be 'maxmin' or 'alpha', got {method!r}", loc=("method",))
    if not 0.0 <= max_price < 1.0:
        raise InvalidInputError(f"max_price must be in [0, 1), got {max_price!r}", loc=("max_price",))
    t0 = time.monotonic()
    eff = efficient if efficient is not None else solve_cpsat(
        problem, time_limit_s=0.4 * time_limit_s, workers=workers)
    if eff.status == "infeasible":  # the locked passes clash: nothing to be fair about
        return eff, fairness_report(problem, [], efficient_objective=None, shares=shares)
    shares = entitlements(problem) if shares is None else dict(shares)
    demand = requested(problem)
    eff_value = float(problem.weight[problem.indexes(eff.contacts)].sum())
    target = targets(problem, eff_value, shares=shares, demand=demand)
    active = [org for org in problem.organisations if target[org] > 0]
    stats: dict[str, Any] = {"method": method, "max_price": max_price, "epsilon": epsilon,
                             "efficient_objective": eff_value, "efficient_status": eff.status}
    contacts = list(eff.contacts)
    status = eff.status
    eff_report = fairness_report(problem, contacts, efficient_objective=eff_value, shares=shares)
    stats["efficient_min_satisfaction"] = eff_report.min_satisfaction
    stats["efficient_jain_index"] = eff_report.jain_index
    remaining_s = max(1.0, time_limit_s - (time.monotonic() - t0))
    if len(active) >= 2 and eff_value > 0:
        cm = build_model(problem, hint=contacts)
        model, x = cm.model, cm.x
        w_int = np.asarray(cm.weights, dtype=np.int64)
        live = [i for i, v in enumerate(x) if v is not None]
        value = sum(int(w_int[i]) * x[i] for i in live if w_int[i] != 0)
        eff_int = int(sum(int(w_int[i]) for i in problem.indexes(contacts) if x[i] is not None))
        model.add(value >= math.ceil((1.0 - max_price) * eff_int))
        sat_org = problem.satellite_org
        # satisfaction of org o in 1/SAT_SCALE steps, capped at 1: SAT_SCALE * granted_o >= s_o * target_o
        s_vars = {}
        for org in active:
            granted = sum(int(w_int[i]) * x[i] for i in live if sat_org[i] == org and w_int[i] != 0)
            target_int = max(1, round(target[org] * cm.scale))
            s_vars[org] = model.new_int_var(0, SAT_SCALE, f"satisfaction[{org}]")
            model.add(SAT_SCALE * granted >= s_vars[org] * target_int)
        if method == "maxmin":
            tau = model.new_int_var(0, SAT_SCALE, "tau")
            for s in s_vars.values():
                model.add(s >= tau)
            # tau first; the sum of capped satisfactions breaks ties and gives the search a gradient
            # (a pure max-min objective is flat: most moves do not change the minimum)
            model.maximize((len(s_vars) * SAT_SCALE + 1) * tau + sum(s_vars.values()))
        else:
            model.maximize(sum(_log_utility(model, s, org) for org, s in s_vars.items()))
        stage_contacts, stage_status = _solve_stage(model, x, problem, contacts, 0.5 * remaining_s, workers)
        stats["fair_stage_status"] = stage_status
        if stage_contacts is not None:
            got = _capped_satisfactions(problem, stage_contacts, target, active)
            stats["fair_stage_min_satisfaction"] = min(got.values())
            for org, s in s_vars.items():
                model.add(s >= max(0, math.floor((got[org] - epsilon) * SAT_SCALE)))
            model.maximize(value)
            remaining_s = max(1.0, time_limit_s - (time.monotonic() - t0))
            final, final_status = _solve_stage(model, x, problem, stage_contacts, remaining_s, workers)
            stats["value_stage_status"] = final_status
            contacts, status = (final, final_status) if final is not None else (stage_contacts, stage_status)
    stats["final_status"] = status
    plan = _plan(problem, contacts, bound=eff.bound, solver=f"cpsat-fair-{method}",
                 wall_s=time.monotonic() - t0, stats=stats)
    report = fairness_report(problem, contacts, efficient_objective=eff_value, shares=shares)
    return plan, report


# Tangent points of log(s) for the alpha = 1 utility; dense near 1 where fair plans live.
_LOG_POINTS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0)
_MICRO = 1_000_000


def _log_utility(model: Any, s: Any, org: str) -> Any:
    """Return a variable u <= log(s / SAT_SCALE) (in millionths), through tangents of the concave log."""
    lowest = math.floor(_MICRO * (math.log(_LOG_POINTS[0]) - 1.0))
    u = model.new_int_var(lowest, 0, f"log_satisfaction[{org}]")
    for point in _LOG_POINTS:
        # log(s) <= log(p) + (s - p) / p, with s = s_int / SAT_SCALE
        model.add(u <= round(_MICRO * (math.log(point) - 1.0)) + round(_MICRO / (SAT_SCALE * point)) * s)
    return u


def _solve_stage(model: Any, x: Sequence[Any], problem: Problem, hint: Sequence[str], time_limit_s: float,
                 workers: int) -> tuple[list[str] | None, str]:
    """Solve ``model`` hinted with ``hint``; return the chosen pass ids (None when none found) and the status."""
    from ortools.sat.python import cp_model

    model.clear_hints()
    chosen = set(problem.indexes(hint).tolist())
    for i, v in enumerate(x):
        if v is not None:
            model.add_hint(v, i in chosen)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.num_workers = int(workers)
    code = solver.solve(model)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, solver.status_name(code).lower()
    picked = [i for i, v in enumerate(x) if v is not None and solver.boolean_value(v)]
    return problem.ids(picked), solver.status_name(code).lower()


def _capped_satisfactions(problem: Problem, contacts: Sequence[str], target: Mapping[str, float],
                          active: Sequence[str]) -> dict[str, float]:
    idx = problem.indexes(contacts)
    w, org_of = problem.weight[idx], problem.satellite_org[idx]
    return {org: min(1.0, float(w[org_of == org].sum()) / target[org]) for org in active}


def _plan(problem: Problem, contacts: Sequence[str], *, bound: float | None, solver: str, wall_s: float,
          stats: dict[str, Any]) -> Any:
    """Return a ``Plan`` of ``contacts`` sorted by start; "feasible", since a fair plan is not value-optimal."""
    from groundshare.schedule.plan import Plan

    idx = problem.indexes(contacts)
    idx = idx[np.argsort(problem.start_s[idx], kind="stable")]
    return Plan(status="feasible", objective=float(problem.weight[idx].sum()), bound=bound,
                contacts=problem.ids(idx), solver=solver, wall_s=wall_s, stats=stats)
