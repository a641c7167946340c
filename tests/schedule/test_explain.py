"""Reasons for unserved requests, one hand-made case per kind (``tests/store/test_planning_demo.py``: the demo's)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from groundshare.errors import InvalidInputError
from groundshare.schedule.explain import LeftOut, Request, explain_unserved
from groundshare.schedule.problem import AntennaSpec, Blackout, Candidate, PolicySpec, Problem, SatelliteSpec
from tests.support.problems import T0, at


def network(passes: list[Candidate], **extra) -> Problem:
    """KSAT-like owner K with antenna k1, and guest G; satellites g1 (G, cap 1/day) and k9 (K, priority 3 passes)."""
    antennas = [AntennaSpec("k1", "K", setup_s=60.0, teardown_s=60.0), AntennaSpec("g1", "G")]
    satellites = [SatelliteSpec("sat-g", "G", max_contacts_per_day=1), SatelliteSpec("sat-k", "K"),
                  SatelliteSpec("sat-none", "G")]
    return Problem(start=T0, end=T0 + timedelta(days=1), antennas=antennas, satellites=satellites, passes=passes,
                   **extra)


def kinds(reasons) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in reasons:
        out.setdefault(r.request, []).append(r.kind)
    return out


def test_no_visibility_names_the_satellite_and_window():
    problem = network([Candidate("p1", "sat-g", "g1", at(0), at(10), value=1.0)])
    reasons = explain_unserved(problem, ["p1"])
    assert kinds(reasons) == {"sat-k": ["no_visibility"], "sat-none": ["no_visibility"]}
    reason = reasons[1]
    assert reason.kind == "no_visibility" and reason.satellite == "sat-none" and reason.organisation == "G"
    assert reason.message == ("satellite sat-none (G) has no pass over any antenna in "
                              "2025-11-07T00:00:00.000Z..2025-11-08T00:00:00.000Z")


def test_a_served_request_gets_no_reason_and_a_short_pass_is_no_visibility():
    problem = network([Candidate("p1", "sat-g", "g1", at(0), at(3), value=1.0)])
    assert explain_unserved(problem, ["p1"], requests=[Request("sat-g")]) == []
    (reason,) = explain_unserved(problem, ["p1"], requests=[Request("sat-g", min_duration_s=600.0, id="r1")])
    assert (reason.request, reason.kind) == ("r1", "no_visibility")
    assert "for 600 s or more" in reason.message


def test_link_that_does_not_close():
    problem = network([Candidate("p1", "sat-g", "g1", at(0), at(10), value=0.0)])
    (reason,) = explain_unserved(problem, [], requests=[Request("sat-g")])
    assert reason.kind == "link" and reason.pass_ids == ("p1",)
    assert "value 0 (the link does not close)" in reason.message


def test_not_allowed_names_the_missing_policy_and_the_blackout():
    passes = [Candidate("p1", "sat-g", "k1", at(0), at(10), value=5.0),
              Candidate("p2", "sat-g", "g1", at(100), at(110), value=5.0)]
    problem = network(passes, policies=[], blackouts=[Blackout("g1", at(105), at(200))])
    (reason,) = explain_unserved(problem, [], requests=[Request("sat-g")])
    assert reason.kind == "not_allowed" and reason.pass_ids == ("p1", "p2")
    assert "pass p1: K grants G no policy on antenna k1" in reason.message
    assert "pass p2: antenna g1 is blacked out 2025-11-07T01:45:00.000Z..2025-11-07T03:20:00.000Z" in reason.message


def test_daily_cap():
    passes = [Candidate("p1", "sat-g", "g1", at(0), at(10), value=5.0),
              Candidate("p2", "sat-g", "g1", at(100), at(110), value=5.0)]
    problem = network(passes)
    (reason,) = explain_unserved(problem, ["p1"], requests=[Request("sat-g", count=2)])
    assert reason.kind == "cap" and reason.pass_ids == ("p2",)
    assert "satellite sat-g already has its 1 contact(s) that UTC day" in reason.message
    assert reason.message.startswith("satellite sat-g (G) has 1 of 2 contact(s)")


def test_weekly_policy_hours():
    passes = [Candidate("p1", "sat-g", "k1", at(0), at(40), value=5.0),
              Candidate("p2", "sat-k", "k1", at(300), at(330), value=5.0),
              Candidate("p3", "sat-g", "k1", at(2000), at(2030), value=5.0)]
    problem = Problem(start=T0, end=T0 + timedelta(days=3), antennas=[AntennaSpec("k1", "K")],
                      satellites=[SatelliteSpec("sat-g", "G"), SatelliteSpec("sat-k", "K")], passes=passes,
                      policies=[PolicySpec("k1", "G", hours_per_week=1.0)])
    (reason,) = explain_unserved(problem, ["p1", "p2"], requests=[Request("sat-g", count=2)])
    assert reason.kind == "policy_hours" and reason.pass_ids == ("p3",)
    assert "policy of K on k1 allows G 1 h per week, 0.67 h already used" in reason.message


def test_blocked_names_the_contact_its_organisation_and_priority():
    passes = [Candidate("p1", "sat-g", "k1", at(0), at(10), value=5.0),
              # ends 30 s after p1 starts less the 60 s setup: the busy intervals overlap
              Candidate("p2", "sat-k", "k1", at(-10), at(-0.5), value=5.0, priority=3.0)]
    problem = Problem(start=T0 - timedelta(hours=1), end=T0 + timedelta(days=1), antennas=network([]).antennas,
                      satellites=network([]).satellites[:2], passes=passes)
    (reason,) = explain_unserved(problem, ["p2"], requests=[Request("sat-g")])
    assert reason.kind == "blocked" and reason.pass_ids == ("p1",)
    (blocker,) = reason.blockers
    assert (blocker.pass_id, blocker.satellite, blocker.organisation, blocker.priority) == ("p2", "sat-k", "K", 3.0)
    assert "pass p1 on k1 is blocked by contact p2 (K, priority 3)" in reason.message
    assert reason.to_dict()["blockers"][0]["organisation"] == "K"


def test_several_causes_give_several_reasons_in_kind_order():
    passes = [Candidate("p1", "sat-g", "g1", at(0), at(10), value=0.0),
              Candidate("p2", "sat-g", "g1", at(100), at(110), value=5.0),
              Candidate("p3", "sat-k", "g1", at(105), at(115), value=5.0)]
    problem = network(passes)
    reasons = explain_unserved(problem, ["p3"])
    assert kinds(reasons) == {"sat-g": ["link", "blocked"], "sat-none": ["no_visibility"]}
    assert explain_unserved(problem, [])[1].kind == "not_chosen"


def test_passes_left_out_of_the_problem_keep_their_kind_and_note():
    # p1 is a candidate the plan did not need; r1's other two passes never entered the problem.
    problem = network([Candidate("p1", "sat-g", "g1", at(0), at(10), value=5.0),
                       Candidate("p2", "sat-k", "g1", at(5), at(15), value=50.0)])
    left_out = [LeftOut("r1", "p9", "busy", "pass p9: antenna g1 is busy from A to B (an existing booking)"),
                LeftOut("r1", "p8", "not_allowed", "pass p8: sharing policy 4 of K has a blackout from C to D"),
                LeftOut("other", "p7", "busy", "pass p7: not r1's")]
    reasons = explain_unserved(problem, ["p2"], requests=[Request("sat-g", id="r1")], left_out=left_out)
    assert [(r.kind, r.pass_ids) for r in reasons] == [("not_allowed", ("p8",)), ("busy", ("p9",)),
                                                       ("blocked", ("p1",))]
    assert reasons[1].message == ("satellite sat-g (G) has 0 of 1 contact(s) in 2025-11-07T00:00:00.000Z.."
                                  "2025-11-08T00:00:00.000Z: pass p9: antenna g1 is busy from A to B (an existing "
                                  "booking)")
    # A request with no candidate at all but passes left out is not "no visibility".
    (reason,) = explain_unserved(network([]), [], requests=[Request("sat-g", id="r1")], left_out=left_out[:1])
    assert reason.kind == "busy" and reason.pass_ids == ("p9",)


def test_a_left_out_pass_needs_a_known_kind():
    expected = ("a left-out pass's kind must be one of no_visibility, link, not_allowed, busy, cap, policy_hours, "
                "blocked, not_chosen, got 'gone'")
    with pytest.raises(InvalidInputError, match=expected):
        LeftOut("r1", "p9", "gone", "pass p9: gone")


def test_weekly_policy_hours_with_the_policy_as_stored():
    passes = [Candidate("p1", "sat-g", "k1", at(0), at(40), value=5.0),
              Candidate("p3", "sat-g", "k1", at(2000), at(2030), value=5.0)]
    problem = Problem(start=T0, end=T0 + timedelta(days=3), antennas=[AntennaSpec("k1", "K")],
                      satellites=[SatelliteSpec("sat-g", "G")], passes=passes,
                      policies=[PolicySpec("k1", "G", hours_per_week=1.0)])
    stored = "sharing policy 7 of K allows G 10 h per week on antenna k1 and G already holds 9.00 h in the week"
    (reason,) = explain_unserved(problem, ["p1"], requests=[Request("sat-g", count=2)],
                                 policy_notes={("k1", "G"): stored})
    assert reason.kind == "policy_hours"
    assert reason.message.endswith(f"pass p3: {stored}, and this plan already uses 0.67 h of the 1.00 h left that week")
