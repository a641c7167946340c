"""CP-SAT against brute force on tiny random problems, locked passes, keep/move costs and the model API."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from groundshare.schedule import build_model, check_schedule, solve_cpsat, solve_greedy
from groundshare.schedule.cpsat import overlap_cliques
from tests.support.problems import brute_force_optimum, random_problem


@pytest.mark.parametrize("seed", range(30))
def test_cpsat_equals_brute_force(seed: int) -> None:
    problem = random_problem(seed, n_passes=8 + seed % 5, n_antennas=2, n_satellites=3, days=0.1 + 0.05 * (seed % 3),
                             duration_s=(120, 600), hours=0.15, locked=seed % 3, float_weights=seed % 2 == 1)
    best = brute_force_optimum(problem)
    plan = solve_cpsat(problem, time_limit_s=10, workers=1)
    assert plan.status == "optimal"
    assert check_schedule(problem, plan.contacts) == []
    assert plan.objective == pytest.approx(best, rel=1e-6)
    assert plan.bound >= best - 1e-6
    assert set(problem.locked) <= set(plan.contacts)


def test_cpsat_beats_or_equals_greedy_and_reports_a_gap() -> None:
    problem = random_problem(11, n_passes=300, n_antennas=4, n_satellites=12, days=1, locked=3, hours=1.0)
    greedy = solve_greedy(problem)
    plan = solve_cpsat(problem, time_limit_s=10, workers=8)
    assert check_schedule(problem, plan.contacts) == []
    assert plan.objective >= greedy.objective - 1e-9
    assert plan.bound >= plan.objective and 0.0 <= plan.gap < 1.0
    assert set(plan.to_dict()) == {"status", "objective", "bound", "gap", "contacts", "solver", "wall_s"}


def test_locked_clash_is_infeasible_not_a_crash() -> None:
    problem = random_problem(5, n_passes=12, locked=0, policies=False, blackouts=0)
    p = problem.passes
    clash = next((a.id, b.id) for a in p for b in p if a.id < b.id and a.antenna == b.antenna
                 and a.start < b.end and b.start < a.end)
    problem.locked = list(clash)
    plan = solve_cpsat(problem, workers=1)
    assert plan.status == "infeasible" and plan.contacts == [] and "antenna" in plan.stats["message"]


def test_keep_prefers_the_booked_passes() -> None:
    problem = random_problem(9, n_passes=40, n_antennas=2, n_satellites=4, days=0.5, locked=0)
    booked = solve_greedy(problem, bound=False).contacts
    plan = solve_cpsat(problem, workers=1, keep=booked)
    assert check_schedule(problem, plan.contacts) == []
    assert set(booked) <= set(plan.contacts)  # a valid booking is never moved when keeping it costs nothing


def test_build_model_exposes_vars_and_integer_weights() -> None:
    problem = random_problem(2, n_passes=10, float_weights=True)
    cm = build_model(problem)
    assert len(cm.x) == len(problem.passes)
    assert all((v is None) == (not ok) for v, ok in zip(cm.x, problem.allowed, strict=True))
    assert all(isinstance(w, int) for w in cm.weights)
    assert abs(cm.weights[0] - problem.weight[0] * cm.scale) <= 0.5


def test_overlap_cliques_say_exactly_which_sets_overlap() -> None:
    # A set of intervals is pairwise disjoint exactly when no maximal clique holds two of them.
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 9))
        starts = rng.integers(0, 40, n)
        ends = starts + rng.integers(0, 15, n)
        cliques = overlap_cliques(starts.tolist(), ends.tolist())
        for mask in range(1 << n):
            chosen = [k for k in range(n) if mask >> k & 1]
            disjoint = all(ends[a] <= starts[b] or ends[b] <= starts[a] or starts[a] == ends[a]
                           or starts[b] == ends[b] for a, b in itertools.combinations(chosen, 2))
            assert disjoint == all(len(set(c) & set(chosen)) <= 1 for c in cliques)
