"""Seeded random scheduling problems for the solver tests (offline), and a brute-force optimum for tiny ones.

``random_problem``: a small problem with policies, blackouts and locked passes (whole-second
times, integer values unless asked otherwise). ``random_network``: a day of a larger
network whose last organisation owns satellites but no antenna (the fairness, explanation
and repair tests). ``brute_force_optimum``: the best valid plan of a tiny problem, by
enumerating every subset of allowed passes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import combinations

import numpy as np

from groundshare.schedule import AntennaSpec, Blackout, Candidate, PolicySpec, Problem, SatelliteSpec, check_schedule
from groundshare.units import DAY_S, HOUR_S

T0 = datetime(2025, 11, 7, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """Return ``T0`` plus ``minutes``."""
    return T0 + timedelta(minutes=minutes)


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
        chosen: list[str] = []
        for i in rng.permutation(n_passes).tolist():
            if len(chosen) >= locked:
                break
            if problem.allowed[i] and not check_schedule(problem, [*chosen, passes[i].id]):
                chosen.append(passes[i].id)
        problem.locked = chosen
    return problem


def random_network(seed: int, *, n_orgs: int = 4, n_antennas: int = 8, n_satellites: int = 16, hours: float = 24.0,
                   passes_per_pair_day: float = 4.0, visibility: float = 0.5,
                   owners: list[int] | None = None, skew: float = 0.0) -> Problem:
    """Return a seeded random network: the last organisation owns satellites but no antenna.

    Antenna ``k`` belongs to ``owners[k]`` (default ``k % (n_orgs - 1)``). Each
    satellite-antenna pair sees the other with probability ``visibility``; a visible pair
    has Poisson(``passes_per_pair_day``) passes per day of 5-12 min, worth their duration
    in seconds times a priority of 1, 2 or 3. Satellites cap 3-8 contacts per day. With
    ``skew`` > 0, org0 owns more satellites and its passes are worth ``1 + skew`` times
    more: an efficiency-only plan then favours it.
    """
    rng = np.random.default_rng(seed)
    orgs = [f"org{k}" for k in range(n_orgs)]
    owners = owners if owners is not None else [k % (n_orgs - 1) for k in range(n_antennas)]
    antennas = [AntennaSpec(f"ant{k}", orgs[owners[k]], setup_s=30.0, teardown_s=60.0) for k in range(n_antennas)]
    odds = np.ones(n_orgs)
    odds[0] += 2.0 * skew
    sat_orgs = rng.choice(n_orgs, n_satellites, p=odds / odds.sum())
    caps = rng.integers(3, 9, n_satellites)
    satellites = [SatelliteSpec(f"sat{s}", orgs[sat_orgs[s]], max_contacts_per_day=int(caps[s]))
                  for s in range(n_satellites)]
    horizon_s = hours * HOUR_S
    passes = []
    # Draw every pair's passes whether visible or not, so instances that differ only in
    # ownership (or visibility of one pair) share the same random stream.
    for s in range(n_satellites):
        for k in range(n_antennas):
            visible = rng.random() < visibility
            count = rng.poisson(passes_per_pair_day * hours / 24.0)
            start_s = rng.uniform(0.0, horizon_s - 720.0, count)
            duration_s = rng.uniform(300.0, 720.0, count)
            priority = rng.choice([1.0, 1.0, 1.0, 2.0, 3.0], count)
            if not visible:
                continue
            for j in range(count):
                passes.append(Candidate(f"s{s}a{k}p{j}", f"sat{s}", f"ant{k}", T0 + timedelta(seconds=start_s[j]),
                                        T0 + timedelta(seconds=start_s[j] + duration_s[j]),
                                        value=round(float(duration_s[j]), 1),
                                        priority=float(priority[j]) * (1.0 + skew if sat_orgs[s] == 0 else 1.0)))
    return Problem(start=T0, end=T0 + timedelta(hours=hours), antennas=antennas, satellites=satellites, passes=passes)


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
