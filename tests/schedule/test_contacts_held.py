"""Contacts a satellite already holds outside the problem count against its daily cap, in every part of the engine."""

from __future__ import annotations

from datetime import timedelta

import pytest

from groundshare.errors import InvalidInputError
from groundshare.schedule import AntennaSpec, Candidate, Problem, SatelliteSpec, check_schedule
from groundshare.schedule.bound import upper_bound
from groundshare.schedule.explain import Request, explain_unserved
from groundshare.schedule.solve import solve
from tests.support.problems import T0, at

DAY_TWO = (T0 + timedelta(days=1)).date()


def two_days(held: tuple = ()) -> Problem:
    """One satellite capped at 2 contacts a UTC day, three passes on each of two days, on two antennas."""
    passes = [Candidate(f"d{d}p{k}", "sat", f"a{k % 2}", at(d * 1440 + 100 * k), at(d * 1440 + 100 * k + 10),
                        value=1.0 + k) for d in (0, 1) for k in range(3)]
    return Problem(start=T0, end=T0 + timedelta(days=2), antennas=[AntennaSpec("a0", "O"), AntennaSpec("a1", "O")],
                   satellites=[SatelliteSpec("sat", "O", max_contacts_per_day=2, contacts_held=held)], passes=passes)


@pytest.mark.parametrize("solver", ["cpsat", "greedy"])
def test_the_solvers_leave_room_for_what_is_held(solver: str) -> None:
    free = solve(two_days(), solver=solver, time_limit_s=5)
    assert sorted(free.contacts) == ["d0p1", "d0p2", "d1p1", "d1p2"]
    held = solve(two_days(((DAY_TWO, 1),)), solver=solver, time_limit_s=5)
    assert sorted(held.contacts) == ["d0p1", "d0p2", "d1p2"]
    full = solve(two_days(((T0.date(), 2), (DAY_TWO, 3))), solver=solver, time_limit_s=5)
    assert full.contacts == []



def test_the_bound_counts_what_is_held() -> None:
    # The best plan with one contact held on day two is worth 2 + 3 + 3 = 8; without it 10.
    held, free = upper_bound(two_days(((DAY_TWO, 1),))), upper_bound(two_days())
    assert 8 - 1e-6 <= held < free and free >= 10 - 1e-6


def test_the_checker_and_the_explanation_count_what_is_held() -> None:
    problem = two_days(((DAY_TWO, 1),))
    (violation,) = check_schedule(problem, ["d1p1", "d1p2"])
    assert violation.kind == "daily_cap" and "more than its cap of 2 (1 held already)" in violation.message
    assert check_schedule(problem, ["d1p2"]) == []
    (reason,) = explain_unserved(problem, ["d0p1", "d0p2", "d1p2"],
                                 requests=[Request("sat", start=T0 + timedelta(days=1), count=2, id="day two")])
    assert reason.kind == "cap" and reason.pass_ids == ("d1p0", "d1p1")


def test_contacts_held_travel_in_the_json_form() -> None:
    problem = two_days(((DAY_TWO, 1),))
    again = Problem.from_dict(problem.to_dict())
    assert again.satellites[0].contacts_held == ((DAY_TWO, 1),)
    assert problem.to_dict()["satellites"][0]["contacts_held"] == {DAY_TWO.isoformat(): 1}
    assert "contacts_held" not in two_days().to_dict()["satellites"][0]
    bad = problem.to_dict()
    bad["satellites"][0]["contacts_held"] = {"tomorrow": 1}
    with pytest.raises(InvalidInputError, match="'tomorrow' is not a UTC day"):
        Problem.from_dict(bad)
