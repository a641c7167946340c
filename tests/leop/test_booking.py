"""LEOP booking as a scheduling problem: k stations per orbit, LEOP before routine contacts, least churn.

Real data: BEE-1000 (NORAD 66650) of the shipped active catalogue as the deployment, the demo stations,
one antenna each (two at daejeon); solved by the project's CP-SAT and checked by its referee.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from groundshare.data import data_path
from groundshare.errors import InvalidInputError
from groundshare.leop import deployment_from_elements, plan_windows
from groundshare.leop.booking import (
    LEOP_PRIORITY,
    LEOP_VALUE,
    AntennaOption,
    Hold,
    RoutineContact,
    build_leop_problem,
    read_plan,
    revolution_of,
)
from groundshare.schedule import check_schedule, solve_cpsat
from groundshare.stations import load_stations

ACTIVE = data_path("celestrak_active_2026-03-19.tle")
STATIONS = data_path("demo_stations.toml")


@pytest.fixture(scope="module")
def plan():
    deployment = deployment_from_elements(ACTIVE, norad_id=66650)
    return plan_windows(deployment, load_stations(STATIONS), hours=12.0, deploy_uncertainty_s=300.0)


@pytest.fixture(scope="module")
def antennas(plan):
    names = sorted({w.station for w in plan.windows})
    out = {n: [AntennaOption(f"{n}/uhf", n, "AEM" if i % 2 else "KARI", turnaround_s=60.0)]
           for i, n in enumerate(names)}
    out["daejeon"].append(AntennaOption("daejeon/s", "daejeon", "KARI", turnaround_s=60.0))
    return out


def solve(lp):
    plan = solve_cpsat(lp.problem, time_limit_s=10, workers=2)
    assert check_schedule(lp.problem, plan.contacts) == []
    return plan, read_plan(lp, plan.contacts)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_k_stations_per_orbit_where_possible(plan, antennas, k):
    lp = build_leop_problem(plan, antennas, organisation="KARI", stations_per_orbit=k, now=plan.start)
    result, booking = solve(lp)
    assert result.status == "optimal"
    assert booking.orbits == len(booking.revolutions) >= 7
    for r in booking.revolutions:
        assert len(r.booked) == min(k, r.windows), r  # windows never clash across stations: k where there are k
        assert len({c.window_index for c in r.booked}) == len(r.booked)  # one antenna per window
        assert all(revolution_of(plan, c.window) == r.rev for c in r.booked)
    assert booking.orbits_covered == sum(1 for r in booking.revolutions if r.windows)
    assert booking.bumped == ()


def test_a_routine_contact_in_the_way_is_bumped_and_one_beside_it_is_kept(plan, antennas):
    window = next(w for w in plan.windows if w.station != "daejeon")
    antenna = antennas[window.station][0].id
    in_way = RoutineContact("7", antenna, window.earliest_aos + timedelta(minutes=1),
                            window.earliest_aos + timedelta(minutes=9), priority=1000)
    beside = RoutineContact("8", antenna, window.latest_los + timedelta(minutes=5),
                            window.latest_los + timedelta(minutes=15))
    lp = build_leop_problem(plan, antennas, organisation="KARI", stations_per_orbit=20, now=plan.start,
                            routine=[in_way, beside])
    _, booking = solve(lp)
    assert [c.id for c in booking.bumped] == ["7"]
    assert any(c.window.station == window.station and c.antenna == antenna for c in booking.chosen)
    # The inequality: the heaviest routine contact (priority 1000) weighs less than one LEOP contact.
    assert in_way.weight < LEOP_VALUE * LEOP_PRIORITY and lp.priority == LEOP_PRIORITY


def test_a_free_antenna_of_the_station_is_used_before_bumping(plan, antennas):
    window = next(w for w in plan.windows if w.station == "daejeon")
    routine = RoutineContact("9", "daejeon/uhf", window.earliest_aos, window.latest_los)
    lp = build_leop_problem(plan, antennas, organisation="KARI", stations_per_orbit=20, now=plan.start,
                            routine=[routine])
    _, booking = solve(lp)
    assert booking.bumped == ()
    assert any(c.antenna == "daejeon/s" and c.window is window for c in booking.chosen)


def test_a_hold_is_never_bumped_and_a_window_with_every_antenna_held_is_refused(plan, antennas):
    window = next(w for w in plan.windows if w.station != "daejeon")
    antenna = antennas[window.station][0].id
    hold = Hold(antenna, window.earliest_aos - timedelta(minutes=5), window.latest_los + timedelta(minutes=5),
                "contact 3 in progress")
    lp = build_leop_problem(plan, antennas, organisation="KARI", stations_per_orbit=2, now=plan.start, holds=[hold])
    _, booking = solve(lp)
    index = plan.windows.index(window)
    assert all(c.window_index != index for c in booking.chosen)
    assert [i for i, _ in lp.refused] == [index] and "held" in lp.refused[0][1]


def test_windows_are_clipped_to_the_booking_rules(plan, antennas):
    now = plan.windows[3].earliest_aos + timedelta(seconds=30)
    lp = build_leop_problem(plan, antennas, organisation="KARI", stations_per_orbit=2, now=now, lead_s=60.0,
                            max_contact_s=300.0)
    assert {i for i, _ in lp.refused} >= {i for i, w in enumerate(plan.windows) if w.latest_los <= now}
    for c in lp.candidates.values():
        assert c.start >= now + timedelta(seconds=60)
        assert (c.end - c.start).total_seconds() <= 300.0
        assert c.window.earliest_aos <= c.start < c.end <= c.window.latest_los + timedelta(milliseconds=1)
        if c.window.tca is not None and c.window.width_s > 400 and c.start > now + timedelta(seconds=61):
            centre = c.start + (c.end - c.start) / 2
            if c.window.earliest_aos + timedelta(seconds=150) < c.window.tca < c.window.latest_los - timedelta(
                    seconds=150):
                assert abs((centre - c.window.tca).total_seconds()) < 0.01


def test_a_very_long_routine_contact_raises_the_priority_so_leop_still_wins(plan, antennas):
    window = next(w for w in plan.windows if w.station != "daejeon")
    antenna = antennas[window.station][0].id
    long = RoutineContact("5", antenna, window.earliest_aos - timedelta(hours=3), window.latest_los + timedelta(
        hours=3), priority=1000)
    lp = build_leop_problem(plan, antennas, organisation="KARI", stations_per_orbit=20, now=plan.start,
                            routine=[long])
    assert lp.priority > LEOP_PRIORITY and LEOP_VALUE * lp.priority > long.weight
    _, booking = solve(lp)
    assert [c.id for c in booking.bumped] == ["5"]


def test_bad_stations_per_orbit_is_refused(plan, antennas):
    with pytest.raises(InvalidInputError) as exc:
        build_leop_problem(plan, antennas, organisation="KARI", stations_per_orbit=0, now=plan.start)
    assert exc.value.loc == ("stations_per_orbit",)
