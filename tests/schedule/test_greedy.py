"""The greedy baseline: always valid, value first, locked passes kept, fast on many candidates."""

from __future__ import annotations

import time

import pytest

from groundshare.schedule import check_schedule, solve_greedy
from tests.support.problems import random_problem


@pytest.mark.parametrize("seed", range(40))
def test_greedy_plans_are_valid(seed: int) -> None:
    problem = random_problem(seed, n_passes=60, n_antennas=3, n_satellites=5, days=2, locked=3, hours=0.5)
    plan = solve_greedy(problem)
    assert check_schedule(problem, plan.contacts) == []
    assert set(problem.locked) <= set(plan.contacts)
    assert plan.bound is not None and plan.bound >= plan.objective - 1e-9
    starts = [problem.start_s[problem.pass_index[c]] for c in plan.contacts]
    assert starts == sorted(starts)


def test_greedy_is_fast_on_many_candidates() -> None:
    problem = random_problem(7, n_passes=50_000, n_antennas=20, n_satellites=90, n_orgs=5, days=7, locked=0,
                             blackouts=5, hours=20)
    problem.start_s, problem.allowed  # noqa: B018 - build the arrays outside the timing
    t0 = time.monotonic()
    plan = solve_greedy(problem, bound=False)
    assert time.monotonic() - t0 < 3.0
    assert check_schedule(problem, plan.contacts) == []


def test_clashing_locked_passes_make_the_plan_infeasible() -> None:
    problem = random_problem(3, n_passes=12, locked=0, policies=False, blackouts=0)
    a, b = problem.passes[0], problem.passes[1]
    problem.passes[1] = type(b)(id=b.id, satellite=a.satellite, antenna=a.antenna, start=a.start, end=a.end,
                                value=b.value)
    problem = type(problem)(start=problem.start, end=problem.end, antennas=problem.antennas,
                            satellites=problem.satellites, passes=problem.passes, locked=[a.id, b.id])
    plan = solve_greedy(problem)
    assert plan.status == "infeasible" and b.id in plan.stats["message"]
