"""Brute force: the best valid plan of a tiny problem, by enumerating every subset of allowed passes."""

from __future__ import annotations

from itertools import combinations

from groundshare.schedule import Problem, check_schedule


def brute_force_optimum(problem: Problem) -> float:
    """Return the largest value of any plan that ``check_schedule`` accepts (-1 when none does)."""
    free = [p.id for i, p in enumerate(problem.passes) if problem.allowed[i] and p.id not in set(problem.locked)]
    weight = {p.id: p.weight for p in problem.passes}
    best = -1.0
    for k in range(len(free) + 1):
        for extra in combinations(free, k):
            plan = [*problem.locked, *extra]
            value = sum(weight[c] for c in plan)
            if value > best and not check_schedule(problem, plan):
                best = value
    return best
