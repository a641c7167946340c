"""Random scheduling problems for the solver tests (seeded, offline)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from groundshare.schedule import AntennaSpec, Blackout, Candidate, PolicySpec, Problem, SatelliteSpec
from groundshare.units import DAY_S

T0 = datetime(2025, 11, 7, tzinfo=UTC)


def random_problem(seed: int, *, n_passes: int = 10, n_antennas: int = 2, n_satellites: int = 3, days: float = 1.0,
                   n_orgs: int = 2, setup_s: float = 60.0, teardown_s: float = 60.0, duration_s: tuple = (300, 900),
                   cap: int | None = 2, policies: bool = True, hours: float | None = 0.25, locked: int = 1,
                   blackouts: int = 1, redundant: bool = True, float_weights: bool = False) -> Problem:
    """Return a random problem: whole-second times, integer values unless ``float_weights``."""
    rng = np.random.default_rng(seed)
    orgs = [f"org{k}" for k in range(n_orgs)]
    antennas = [AntennaSpec(id=f"a{k}", organisation=orgs[k % n_orgs], setup_s=float(rng.integers(0, setup_s + 1)),
                            teardown_s=float(rng.integers(0, teardown_s + 1))) for k in range(n_antennas)]
    satellites = [SatelliteSpec(id=f"s{k}", organisation=orgs[(k + 1) % n_orgs],
                                max_contacts_per_day=None if cap is None or rng.random() < 0.2 else int(cap),
                                allow_redundant=bool(redundant and k == 0 and rng.random() < 0.5))
                  for k in range(n_satellites)]
    span_s = int(days * DAY_S)
    passes = []
    for k in range(n_passes):
        start = int(rng.integers(0, max(1, span_s - duration_s[1])))
        length = int(rng.integers(duration_s[0], duration_s[1] + 1))
        value = float(rng.uniform(1, 100)) if float_weights else float(rng.integers(1, 100))
        passes.append(Candidate(id=f"p{k}", satellite=f"s{rng.integers(n_satellites)}",
                                antenna=f"a{rng.integers(n_antennas)}", start=T0 + timedelta(seconds=start),
                                end=T0 + timedelta(seconds=start + length), value=value,
                                priority=float(rng.choice([1.0, 1.0, 2.0]))))
    policy_list = None
    if policies:
        policy_list = [PolicySpec(antenna=a.id, organisation=o, hours_per_week=hours if rng.random() < 0.7 else None)
                       for a in antennas for o in orgs if o != a.organisation and rng.random() < 0.8]
    blackout_list = []
    for _ in range(blackouts):
        b0 = int(rng.integers(0, span_s))
        blackout_list.append(Blackout(antenna=f"a{rng.integers(n_antennas)}", start=T0 + timedelta(seconds=b0),
                                      end=T0 + timedelta(seconds=b0 + 600)))
    problem = Problem(start=T0, end=T0 + timedelta(seconds=span_s), antennas=antennas, satellites=satellites,
                      passes=passes, policies=policy_list, blackouts=blackout_list)
    if locked:
        # Lock allowed passes that do not clash with each other (greedy on the rules).
        from groundshare.schedule import check_schedule

        chosen: list[str] = []
        for i in rng.permutation(n_passes).tolist():
            if len(chosen) >= locked:
                break
            if problem.allowed[i] and not check_schedule(problem, [*chosen, passes[i].id]):
                chosen.append(passes[i].id)
        problem.locked = chosen
    return problem
