"""Rolling windows: valid across boundaries, locked passes kept, close to one CP-SAT model."""

from __future__ import annotations

from groundshare.schedule import check_schedule, solve, solve_cpsat, solve_rolling
from groundshare.units import DAY_S, MINUTE_S
from tests.support.problems import random_problem


def _three_days(seed: int):
    return random_problem(seed, n_passes=240, n_antennas=4, n_satellites=10, n_orgs=3, days=3, locked=6,
                          hours=2.0, cap=3, duration_s=(300, 900))


def test_rolling_is_valid_and_close_to_one_model() -> None:
    problem = _three_days(1)
    rolling = solve_rolling(problem, time_limit_s=12, workers=8)
    assert check_schedule(problem, rolling.contacts) == []
    assert set(problem.locked) <= set(rolling.contacts)
    whole = solve_cpsat(problem, time_limit_s=15, workers=8)
    assert rolling.objective >= 0.97 * whole.objective
    assert rolling.bound >= whole.objective - 1e-6
    assert rolling.solver == "rolling-cpsat" and len(rolling.stats["windows"]) == 3


def test_rolling_keeps_locked_passes_near_boundaries() -> None:
    problem = _three_days(2)
    near_midnight = [p.id for i, p in enumerate(problem.passes) if problem.allowed[i]
                     and DAY_S - 30 * MINUTE_S < problem.start_s[i] < DAY_S + 10 * MINUTE_S]
    problem.locked = [*problem.locked, *near_midnight[:1]]
    if check_schedule(problem, problem.locked):
        problem.locked = near_midnight[:1]
    plan = solve_rolling(problem, time_limit_s=6, workers=2)
    assert check_schedule(problem, plan.contacts) == []
    assert set(problem.locked) <= set(plan.contacts)


def test_auto_rolls_long_horizons_then_solves_one_model() -> None:
    problem = _three_days(3)
    rolling = solve_rolling(problem, time_limit_s=3, workers=2)
    plan = solve(problem, solver="auto", time_limit_s=6, workers=2)
    assert plan.solver == "rolling+cpsat" and len(plan.stats["rolling"]["windows"]) == 3
    assert check_schedule(problem, plan.contacts) == []
    assert plan.objective >= plan.stats["rolling"]["objective"] - 1e-6
    assert plan.objective >= rolling.objective - 1e-6
    assert plan.bound <= rolling.bound + 1e-6
    short = random_problem(3, n_passes=30, days=1)
    assert solve(short, solver="auto", time_limit_s=5, workers=2).solver in ("cpsat", "greedy")
