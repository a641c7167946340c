"""upper_bound: never below the brute-force optimum, equal to it on easy problems."""

from __future__ import annotations

import pytest

from groundshare.schedule import upper_bound
from groundshare.schedule.bound import bound_details
from tests.support.problems import brute_force_optimum, random_problem


@pytest.mark.parametrize("seed", range(30))
def test_bound_is_never_below_the_optimum(seed: int) -> None:
    problem = random_problem(seed + 100, n_passes=9 + seed % 4, days=0.1, duration_s=(120, 600), hours=0.15,
                             locked=seed % 2, float_weights=seed % 3 == 0)
    assert upper_bound(problem) >= brute_force_optimum(problem) - 1e-9


def test_bound_is_tight_on_some_problems() -> None:
    tight = 0
    for seed in range(20):
        problem = random_problem(seed + 200, n_passes=9, days=0.1, duration_s=(120, 600), policies=False,
                                 blackouts=0, locked=0)
        tight += upper_bound(problem) == pytest.approx(brute_force_optimum(problem), rel=1e-6)
    assert tight >= 5


def test_lagrangian_tightens_the_plain_dps() -> None:
    problem = random_problem(4, n_passes=600, n_antennas=6, n_satellites=25, days=1, locked=0, policies=False,
                             blackouts=0)
    details = bound_details(problem)
    assert details["bound"] <= min(details["antenna_dp"], details["satellite_dp"]) * (1 + 1e-9)
    assert details["lagrangian"] < min(details["antenna_dp"], details["satellite_dp"])


def test_no_allowed_passes_bound_zero() -> None:
    assert upper_bound(random_problem(1, n_passes=0, locked=0, blackouts=0)) == 0.0
