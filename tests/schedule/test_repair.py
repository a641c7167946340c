"""Repair after a change: nothing moves when nothing changed, few move when a station goes down."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from groundshare.errors import ConflictError
from groundshare.schedule.check import check_schedule
from groundshare.schedule.cpsat import solve_cpsat
from groundshare.schedule.problem import Candidate, Problem
from groundshare.schedule.repair import repair
from tests.support.problems import random_network

# The target: a repair moves at most 2 % of booked contacts.
max_moved_fraction = 0.02


@pytest.fixture(scope="module")
def booked_day() -> tuple[Problem, list[str]]:
    problem = random_network(2025, n_orgs=4, n_antennas=8, n_satellites=20, hours=24.0)
    plan = solve_cpsat(problem, time_limit_s=4.0, workers=4)
    assert check_schedule(problem, plan.contacts) == []
    return problem, list(plan.contacts)


def without_antenna(problem: Problem, antenna: str) -> Problem:
    return dataclasses.replace(problem, passes=[p for p in problem.passes if p.antenna != antenna], locked=[])


def test_nothing_changed_nothing_moves(booked_day):
    problem, booked = booked_day
    result = repair(problem, booked, time_limit_s=3.0, workers=4)
    assert result.dropped == [] and result.lost == []
    assert sorted(result.kept) == sorted(booked)
    assert check_schedule(problem, result.plan.contacts) == []
    assert result.moved_fraction == 0.0


def test_a_station_down_moves_few_and_refills(booked_day):
    problem, booked = booked_day
    down = without_antenna(problem, "ant0")
    result = repair(down, booked, time_limit_s=3.0, workers=4, previous=problem)
    on_ant0 = [p for p in booked if problem.passes[problem.pass_index[p]].antenna == "ant0"]
    assert sorted(result.lost) == sorted(on_ant0) and on_ant0
    assert result.moved_fraction <= max_moved_fraction
    assert check_schedule(down, result.plan.contacts) == []
    assert set(result.kept) | set(result.dropped) == set(booked) - set(on_ant0)
    # every owner hears about its cancelled contacts; ant0 belongs to org0
    assert any("is cancelled" in line for line in result.messages["org0"])
    assert result.to_dict()["booked_count"] == len(booked)


def test_an_element_set_update_that_shifts_passes_moves_few(booked_day):
    problem, booked = booked_day
    # a new element set for sat3 moves its passes 2 minutes later (the ids stay: same order per station)
    shifted = [dataclasses.replace(p, start=p.start + timedelta(minutes=2), end=p.end + timedelta(minutes=2))
               if p.satellite == "sat3" else p for p in problem.passes]
    new = dataclasses.replace(problem, passes=shifted, locked=[])
    result = repair(new, booked, time_limit_s=3.0, workers=4)
    assert result.lost == []
    assert check_schedule(new, result.plan.contacts) == []
    assert result.moved_fraction <= max_moved_fraction


def test_a_blackout_counts_as_lost_and_locked_passes_stay(booked_day):
    problem, booked = booked_day
    locked = booked[:3]
    from groundshare.schedule.problem import Blackout

    dark = dataclasses.replace(problem, blackouts=[Blackout("ant1", problem.start, problem.start + timedelta(hours=6))],
                               locked=[p for p in locked if problem.passes[problem.pass_index[p]].antenna != "ant1"])
    result = repair(dark, booked, time_limit_s=3.0, workers=4)
    assert set(dark.locked) <= set(result.plan.contacts)
    assert all(not dark.allowed[dark.pass_index[p]] for p in result.lost)
    assert check_schedule(dark, result.plan.contacts) == []
    assert result.moved_fraction <= max_moved_fraction


def test_an_urgent_request_is_served_moving_only_what_is_in_its_way(booked_day):
    problem, booked = booked_day
    victim = problem.passes[problem.pass_index[booked[len(booked) // 2]]]
    urgent = Candidate("urgent-1", "sat0", victim.antenna, victim.start, victim.end, value=600.0, priority=10.0)
    if victim.satellite == "sat0":
        urgent = dataclasses.replace(urgent, satellite="sat1")
    new = dataclasses.replace(problem, passes=[*problem.passes, urgent])
    result = repair(new, booked, urgent=["urgent-1"], time_limit_s=3.0, workers=4)
    assert "urgent-1" in result.plan.contacts and "urgent-1" in result.added
    assert victim.id in result.dropped
    # moves first: only contacts that clash with the urgent pass move (its antenna, its satellite, its day's cap)
    u = new.pass_index["urgent-1"]
    clash = ((new.antenna == new.antenna[u]) & (new.busy_start_s < new.busy_end_s[u])
             & (new.busy_end_s > new.busy_start_s[u])) | ((new.satellite == new.satellite[u]) & (new.day == new.day[u]))
    assert set(result.dropped) <= set(new.ids(clash.nonzero()[0]))
    assert check_schedule(new, result.plan.contacts) == []
    org = problem.satellites[problem.satellite_index[victim.satellite]].organisation
    assert any(victim.id in line and "urgent-1" in line for line in result.messages[org])


def test_an_urgent_pass_against_a_locked_one_is_a_conflict(booked_day):
    problem, booked = booked_day
    victim = problem.passes[problem.pass_index[booked[0]]]
    satellite = "sat1" if victim.satellite == "sat0" else "sat0"
    urgent = Candidate("urgent-1", satellite, victim.antenna, victim.start, victim.end, value=600.0)
    new = dataclasses.replace(problem, passes=[*problem.passes, urgent], locked=[victim.id])
    with pytest.raises(ConflictError, match="the locked and urgent passes break the rules together"):
        repair(new, booked, urgent=["urgent-1"], time_limit_s=2.0, workers=4)
