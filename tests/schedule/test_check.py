"""check_schedule: one hand-made plan per violation kind, and a valid plan that passes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from groundshare.schedule import AntennaSpec, Blackout, Candidate, PolicySpec, Problem, SatelliteSpec, check_schedule
from groundshare.schedule.check import objective
from tests.support.problems import T0


def _pass(pid: str, sat: str, ant: str, start_min: float, end_min: float, value: float = 10.0) -> Candidate:
    return Candidate(id=pid, satellite=sat, antenna=ant, start=T0 + timedelta(minutes=start_min),
                     end=T0 + timedelta(minutes=end_min), value=value)


@pytest.fixture
def problem() -> Problem:
    antennas = [AntennaSpec("A", "kari", setup_s=60, teardown_s=120), AntennaSpec("B", "aem")]
    satellites = [SatelliteSpec("s1", "aem", max_contacts_per_day=2), SatelliteSpec("s2", "kari"),
                  SatelliteSpec("s3", "kari", allow_redundant=True), SatelliteSpec("s4", "uni")]
    passes = [
        _pass("p1", "s1", "A", 10, 20), _pass("p2", "s2", "A", 21, 30),  # p2's setup meets p1's teardown
        _pass("p3", "s1", "B", 15, 25),  # s1 on two antennas at once with p1
        _pass("p4", "s3", "A", 100, 110), _pass("p5", "s3", "B", 100, 110),  # redundant: fine
        _pass("p6", "s1", "B", 200, 210), _pass("p7", "s1", "B", 300, 310),  # third contact of s1 that day
        _pass("p8", "s4", "A", 400, 410),  # uni has no policy on A
        _pass("p9", "s1", "A", 600, 620),  # blackout on A
        _pass("p10", "s1", "A", 1000, 1050),  # 50 min of A for aem, policy allows 0.5 h
    ]
    return Problem(start=T0, end=T0 + timedelta(days=1), antennas=antennas, satellites=satellites, passes=passes,
                   locked=["p4"], policies=[PolicySpec("A", "aem", hours_per_week=0.5), PolicySpec("B", "kari")],
                   blackouts=[Blackout("A", T0 + timedelta(minutes=621), T0 + timedelta(minutes=630))])


def _kinds(problem: Problem, contacts: list[str]) -> list[str]:
    return [v.kind for v in check_schedule(problem, contacts)]


def test_a_valid_plan_passes(problem: Problem) -> None:
    assert check_schedule(problem, ["p1", "p4", "p5", "p6"]) == []
    assert objective(problem, ["p1", "p4"]) == 20.0


@pytest.mark.parametrize(("contacts", "kind"), [
    (["p4", "nope"], "unknown_pass"),
    (["p4", "p1", "p1"], "duplicate"),
    (["p4", "p8"], "not_allowed"),
    (["p4", "p9"], "not_allowed"),
    (["p4", "p1", "p2"], "antenna_overlap"),
    (["p4", "p1", "p3"], "satellite_overlap"),
    (["p4", "p1", "p6", "p7"], "daily_cap"),
    (["p4", "p10"], "weekly_hours"),
    (["p1"], "locked_missing"),
])
def test_each_kind_is_caught(problem: Problem, contacts: list[str], kind: str) -> None:
    assert _kinds(problem, contacts) == [kind]


def test_messages_name_the_passes_and_resources(problem: Problem) -> None:
    (v,) = check_schedule(problem, ["p4", "p1", "p2"])
    assert v.pass_ids == ("p1", "p2")
    assert "antenna A" in v.message and "p1" in v.message and "p2" in v.message and "2025-11-07" in v.message
    (v,) = check_schedule(problem, ["p4", "p10"])
    assert "aem" in v.message and "0.5 h" in v.message


def test_touching_intervals_do_not_overlap() -> None:
    antennas = [AntennaSpec("A", "o", setup_s=60, teardown_s=60)]
    satellites = [SatelliteSpec("s", "o")]
    passes = [_pass("a", "s", "A", 0, 10), _pass("b", "s", "A", 12, 20)]
    problem = Problem(start=T0, end=T0 + timedelta(days=1), antennas=antennas, satellites=satellites, passes=passes)
    assert check_schedule(problem, ["a", "b"]) == []
