"""The total cap ``max_contacts``: the most chosen passes of a satellite over the whole problem.

Every solver keeps it, the referee flags it, the explanation names it and the bounds stay bounds.
The shape is LEOP booking's: one redundant pseudo-satellite per revolution, k stations each.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from groundshare.errors import InvalidInputError
from groundshare.schedule import (
    AntennaSpec,
    Candidate,
    Problem,
    Request,
    SatelliteSpec,
    check_schedule,
    explain_unserved,
    greedy_plan,
    solve,
    solve_cpsat,
    solve_greedy,
    solve_rolling,
    upper_bound,
)
from groundshare.schedule.bound import bound_details
from groundshare.schedule.fairness import satellite_demand
from tests.support.problems import T0, brute_force_optimum

K = 2


def leop_like(*, k: int = K, revs: int = 3, antennas: int = 4, redundant: bool = True,
              days: float = 1.0) -> Problem:
    """Per revolution, one pass on each antenna at the same time, worth more on later antennas."""
    ants = [AntennaSpec(f"A{j}", "kari") for j in range(antennas)]
    sats = [SatelliteSpec(f"rev{r}", "aem", allow_redundant=redundant, max_contacts=k) for r in range(revs)]
    period = timedelta(days=days) / revs
    passes = [Candidate(f"r{r}a{j}", f"rev{r}", f"A{j}", T0 + r * period + timedelta(minutes=10),
                        T0 + r * period + timedelta(minutes=20), value=10.0 + j)
              for r in range(revs) for j in range(antennas)]
    return Problem(start=T0, end=T0 + timedelta(days=days), antennas=ants, satellites=sats, passes=passes)


def per_satellite(problem: Problem, contacts: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in contacts:
        s = problem.passes[problem.pass_index[c]].satellite
        out[s] = out.get(s, 0) + 1
    return out


def test_json_round_trip_and_bad_values_name_the_key() -> None:
    problem = leop_like()
    data = problem.to_dict()
    assert data["satellites"][0]["max_contacts"] == K
    again = Problem.from_dict(data)
    assert again.satellites[0].max_contacts == K
    data["satellites"][1]["max_contacts"] = -1
    with pytest.raises(InvalidInputError) as exc:
        Problem.from_dict(data)
    assert exc.value.loc == ("satellites", "1", "max_contacts")
    data["satellites"][1].pop("max_contacts")
    assert Problem.from_dict(data).satellites[1].max_contacts is None


@pytest.mark.parametrize("solver", ["cpsat", "greedy", "rolling", "auto"])
def test_every_solver_books_k_per_revolution_and_the_best_ones(solver: str) -> None:
    problem = leop_like()
    plan = solve(problem, solver=solver, time_limit_s=5.0, workers=2)
    assert check_schedule(problem, plan.contacts) == []
    assert per_satellite(problem, plan.contacts) == {f"rev{r}": K for r in range(3)}
    # The two best antennas (A3, A2) of each revolution.
    assert sorted(plan.contacts) == sorted(f"r{r}a{j}" for r in range(3) for j in (2, 3))
    assert plan.objective == pytest.approx(3 * (13 + 12))


def test_the_cap_spans_days_not_one_day() -> None:
    problem = leop_like(revs=3, days=3.0, redundant=False)
    one = Problem(start=problem.start, end=problem.end, antennas=problem.antennas,
                  satellites=[SatelliteSpec("rev0", "aem", max_contacts=2)],
                  passes=[Candidate(p.id, "rev0", p.antenna, p.start + timedelta(minutes=30 * int(p.id[-1])),
                                    p.end + timedelta(minutes=30 * int(p.id[-1])), p.value)
                          for p in problem.passes])
    for plan in (solve_cpsat(one, time_limit_s=5, workers=2), solve_rolling(one, time_limit_s=5, workers=2),
                 greedy_plan(one)):
        assert len(plan.contacts) == 2 and check_schedule(one, plan.contacts) == []
    assert solve_cpsat(one, time_limit_s=5, workers=2).objective == pytest.approx(brute_force_optimum(one))


def test_the_referee_flags_a_plan_over_the_cap() -> None:
    problem = leop_like()
    bad = ["r0a0", "r0a1", "r0a2"]
    violations = check_schedule(problem, bad)
    assert [v.kind for v in violations] == ["total_cap"]
    assert set(violations[0].pass_ids) == set(bad) and "total cap of 2" in violations[0].message


def test_an_unchosen_pass_is_explained_by_the_cap() -> None:
    problem = leop_like()
    plan = solve_cpsat(problem, time_limit_s=5, workers=2)
    reasons = explain_unserved(problem, plan.contacts, requests=[Request(satellite="rev0", count=3)])
    assert [r.kind for r in reasons] == ["cap"]
    assert "in the whole plan" in reasons[0].message and set(reasons[0].pass_ids) == {"r0a0", "r0a1"}


def test_bounds_stay_upper_bounds_and_use_the_cap() -> None:
    problem = leop_like()
    optimum = brute_force_optimum(problem)
    details = bound_details(problem)
    assert details["satellite_dp"] == pytest.approx(optimum)  # k best per revolution: tight here
    assert upper_bound(problem) >= optimum - 1e-9
    assert solve_cpsat(problem, time_limit_s=5, workers=2).status == "optimal"
    assert solve_greedy(problem).bound >= optimum - 1e-9
    # A non-redundant satellite over several days: the cap still bounds, and so does the fair demand.
    mixed = leop_like(redundant=False, days=2.0)
    assert upper_bound(mixed) >= brute_force_optimum(mixed) - 1e-9
    demand = satellite_demand(problem)
    assert list(demand) == pytest.approx([13 + 12] * 3)


def test_no_cap_means_no_change() -> None:
    problem = leop_like(k=None)
    plan = solve_cpsat(problem, time_limit_s=5, workers=2)
    assert len(plan.contacts) == 12 and check_schedule(problem, plan.contacts) == []
    assert greedy_plan(problem).objective == plan.objective
