"""The request planner: as few requests as each site allows, and the sources it cannot ask."""

from __future__ import annotations

from groundshare.sources import SourceNeed, plan_requests


def _need(source_id: int, norad_id: int, kind: str = "celestrak", query_kind: str = "catnr",
          value: str | None = None) -> SourceNeed:
    return SourceNeed(source_id, 1000 + source_id, norad_id, kind, query_kind, value or str(norad_id))


def test_one_request_per_distinct_query_wide_ones_first() -> None:
    plan = plan_requests([_need(1, 27844), _need(2, 44854, query_kind="group", value="cubesat"),
                          _need(3, 27844), _need(4, 39430, query_kind="group", value="CubeSat"),
                          _need(5, 25544, query_kind="intdes", value="1998-067")])
    assert [(r.query, r.source_ids, r.norad_ids, r.fallback) for r in plan.requests] == [
        ("GROUP=cubesat&FORMAT=json", (2, 4), (44854, 39430), False),
        ("INTDES=1998-067&FORMAT=json", (5,), (25544,), False),
        ("CATNR=27844&FORMAT=json", (1, 3), (27844,), True),
    ]
    assert plan.unsupported == []


def test_a_catalog_number_request_is_covered_once_its_object_was_seen() -> None:
    [catnr] = plan_requests([_need(1, 27844)]).requests
    assert catnr.covered_by({27844, 44854}) and not catnr.covered_by({44854})
    [group] = plan_requests([_need(2, 44854, query_kind="group", value="cubesat")]).requests
    assert not group.covered_by({44854})  # a wide request is always asked


def test_spacetrack_batches_catalog_numbers_and_asks_launches_alone() -> None:
    needs = [_need(i, 40000 + i, kind="spacetrack") for i in range(1, 6)]
    needs.append(_need(9, 100123, kind="spacetrack", query_kind="intdes", value="2026-099"))
    plan = plan_requests(needs, batch_size=2)
    assert [(r.query, r.source_ids, r.intdes) for r in plan.requests] == [
        ("class/gp/norad_cat_id/40001,40002/format/json", (1, 2), None),
        ("class/gp/norad_cat_id/40003,40004/format/json", (3, 4), None),
        ("class/gp/norad_cat_id/40005/format/json", (5,), None),
        ("class/gp/object_id/%5E2026-099/format/json", (9,), "2026-099"),
    ]


def test_sources_that_cannot_be_asked_are_listed_with_why_and_cost_nothing() -> None:
    plan = plan_requests([_need(1, 27844, value="27844; DROP"), _need(2, 27844, kind="supgp", query_kind="group",
                                                                       value="cubesat"),
                          _need(3, 27844, kind="spacetrack", query_kind="group", value="cubesat"),
                          _need(4, 27844, kind="upload")])
    assert plan.requests == []
    assert [(need.source_id, why) for need, why in plan.unsupported] == [
        (1, "catnr '27844; DROP' is not a catalog number of 1 to 9 digits, e.g. 25544"),
        (2, "a supgp source cannot ask by 'group'; expected one of catnr, intdes, file"),
        (3, "a spacetrack source asks by catalog number or international designator; group 'cubesat' cannot be "
            "asked"),
    ]


def test_only_the_kinds_asked_for_are_planned() -> None:
    needs = [_need(1, 27844), _need(2, 27844, kind="supgp"), _need(3, 27844, kind="spacetrack")]
    assert [r.kind for r in plan_requests(needs, kinds=["supgp"]).requests] == ["supgp"]
    assert [r.kind for r in plan_requests(needs).requests] == ["celestrak", "supgp", "spacetrack"]
