"""CelesTrak's GP and SupGP client against the fake site: queries, answers, and every fault the rules name."""

from __future__ import annotations

import json

import pytest

from groundshare.data import data_path
from groundshare.errors import InvalidInputError
from groundshare.orbits import load_elements
from groundshare.sources import FetchOutcome, celestrak_query, fetch_celestrak, read_omm_json
from groundshare.sources.http import urllib_get
from tests.support.environment import free_port
from tests.support.orbit_sites import NOT_UPDATED_BODY, OrbitSites, six_digit_record

CUBESATS = data_path("celestrak_cubesat_2025-11-06.tle")


def _gp(sites: OrbitSites, query: str):
    return fetch_celestrak("celestrak", query, base_url=sites.base_url)


def test_a_group_comes_back_as_the_snapshot_it_was_made_of(sites: OrbitSites) -> None:
    sites.add_tle_file(CUBESATS, group="cubesat")
    result = _gp(sites, celestrak_query("celestrak", "group", "cubesat"))
    assert (result.outcome, result.http_status, result.errors) == (FetchOutcome.OK, 200, ())
    expected = load_elements(CUBESATS).elements
    # The OMM JSON keeps every element of the TLE it was made of (ElementSet equality ignores the TLE lines).
    assert sorted(result.sets, key=lambda e: e.norad_id) == sorted(expected, key=lambda e: e.norad_id)
    assert result.message == "GROUP=cubesat&FORMAT=json: 93 element sets"
    assert sites.requests == ["GET /NORAD/elements/gp.php?GROUP=cubesat&FORMAT=json"]


def test_catalog_number_launch_and_supgp_file_queries(sites: OrbitSites) -> None:
    sites.add_tle_file(CUBESATS)
    [cute] = _gp(sites, "CATNR=27844&FORMAT=json").sets
    assert (cute.norad_id, cute.object_id) == (27844, "2003-031E")
    launch = _gp(sites, celestrak_query("celestrak", "intdes", "2003-031"))
    assert {e.object_id[:8] for e in launch.sets} == {"2003-031"} and len(launch.sets) >= 1
    sites.add_supgp("hanbit", [six_digit_record(cute, norad_id=100123),
                               {**six_digit_record(cute, norad_id=100123), "EPOCH": "2025-11-06T12:00:00.000000"}])
    supgp = fetch_celestrak("supgp", celestrak_query("supgp", "file", "HANBIT"), base_url=sites.base_url)
    assert supgp.outcome is FetchOutcome.OK and [e.norad_id for e in supgp.sets] == [100123, 100123]
    assert sites.requests[-1] == "GET /NORAD/elements/supplemental/sup-gp.php?FILE=hanbit&FORMAT=json"


def test_no_data_is_an_answer_not_a_failure(sites: OrbitSites) -> None:
    result = _gp(sites, "CATNR=99999&FORMAT=json")
    assert (result.outcome, result.http_status, result.sets) == (FetchOutcome.NO_DATA, 200, ())


def test_not_updated_403_is_normal(sites: OrbitSites) -> None:
    sites.fault("gp.php", 403, NOT_UPDATED_BODY)
    result = _gp(sites, "GROUP=cubesat&FORMAT=json")
    assert (result.outcome, result.http_status) == (FetchOutcome.NOT_UPDATED, 403)
    assert result.message == "GROUP=cubesat&FORMAT=json: not updated since the last download"


def test_a_301_is_followed_and_reported(sites: OrbitSites) -> None:
    sites.add_tle_file(CUBESATS, group="cubesat")
    sites.fault("gp.php", 301, location="/moved")
    result = _gp(sites, "GROUP=cubesat&FORMAT=json")
    assert result.outcome is FetchOutcome.OK and len(result.sets) == 93
    assert result.redirects == (f"{sites.base_url}/moved/NORAD/elements/gp.php?GROUP=cubesat&FORMAT=json",)
    assert "moved permanently to" in result.message and "update the base URL" in result.message


def test_endless_redirects_fail(sites: OrbitSites) -> None:
    sites.fault("gp.php", 301, location="/moved", times=None)
    result = _gp(sites, "GROUP=cubesat&FORMAT=json")
    assert (result.outcome, result.http_status, len(result.redirects)) == (FetchOutcome.FAILED, 301, 3)


@pytest.mark.parametrize(("status", "body"), [(500, "Internal Server Error"), (404, "Not Found"),
                                              (403, "Forbidden: your address is blocked")])
def test_any_other_status_fails_naming_status_and_body(sites: OrbitSites, status: int, body: str) -> None:
    sites.fault("gp.php", status, body)
    result = _gp(sites, "CATNR=25544&FORMAT=json")
    assert (result.outcome, result.http_status) == (FetchOutcome.FAILED, status)
    assert result.message == (f"CATNR=25544&FORMAT=json: HTTP {status} from celestrak ({body}); nothing more is "
                              "asked of CelesTrak until the next cycle")


@pytest.mark.parametrize("body", ["<html><body>Service Unavailable</body></html>",
                                  '[{"OBJECT_NAME":"CUTE-1","NORAD_CAT_ID":27844,"EPOCH":"2025-11-0', "", "{}"])
def test_garbage_is_a_bad_body(sites: OrbitSites, body: str) -> None:
    sites.fault("gp.php", 200, body)
    result = _gp(sites, "CATNR=27844&FORMAT=json")
    assert (result.outcome, result.http_status, result.sets) == (FetchOutcome.BAD_BODY, 200, ())
    assert result.message.startswith("CATNR=27844&FORMAT=json: the answer is not OMM JSON (")


def test_a_malformed_record_is_skipped_with_its_reason_and_the_others_kept(sites: OrbitSites) -> None:
    [cute, *rest] = load_elements(CUBESATS).elements[:3]
    sites.add_elements(rest, group="mixed")
    bad = {**six_digit_record(cute, norad_id=27844), "MEAN_MOTION": "fast"}
    sites.add_record(bad, group="mixed")
    sites.add_record(six_digit_record(cute), group="mixed")
    result = _gp(sites, "GROUP=mixed&FORMAT=json")
    assert result.outcome is FetchOutcome.OK
    assert sorted(e.norad_id for e in result.sets) == sorted([rest[0].norad_id, rest[1].norad_id, 100123])
    [error] = result.errors
    assert error.field == "MEAN_MOTION"
    assert str(error).startswith("celestrak GROUP=mixed&FORMAT=json, line 1: record 3, NORAD 27844: MEAN_MOTION "
                                 "should be a number (rev/day), got 'fast'")
    assert result.message == "GROUP=mixed&FORMAT=json: 3 element sets, 1 record skipped"


def test_an_unreachable_site_fails_without_raising() -> None:
    result = fetch_celestrak("celestrak", "CATNR=25544&FORMAT=json", base_url=f"http://127.0.0.1:{free_port()}")
    assert (result.outcome, result.http_status) == (FetchOutcome.FAILED, None)
    assert result.message.startswith("http://127.0.0.1:") and "cannot be reached" in result.message


def test_queries_are_checked_before_any_request() -> None:
    assert celestrak_query("celestrak", "catnr", " 100123 ") == "CATNR=100123&FORMAT=json"
    assert celestrak_query("celestrak", "intdes", "1998-067a") == "INTDES=1998-067A&FORMAT=json"
    with pytest.raises(InvalidInputError, match=r"^catnr '25544,41335' is not a catalog number of 1 to 9 digits"):
        celestrak_query("celestrak", "catnr", "25544,41335")
    with pytest.raises(InvalidInputError, match=r"^a celestrak source cannot ask by 'file'; expected one of catnr, "
                                                r"intdes, group$"):
        celestrak_query("celestrak", "file", "starlink")
    with pytest.raises(InvalidInputError, match="group 'cubesat&FORMAT=tle' is not a CelesTrak group name"):
        celestrak_query("celestrak", "group", "cubesat&FORMAT=tle")


def test_read_omm_json_tells_a_list_from_anything_else() -> None:
    assert read_omm_json("[]", source="x") == ([], [])
    assert read_omm_json(json.dumps({"a": 1}), source="x") is None
    assert read_omm_json("No GP data found", source="x") is None


def test_the_default_get_sends_a_user_agent_and_returns_statuses(sites: OrbitSites) -> None:
    sites.fault("gp.php", 503, "busy")
    response = urllib_get(f"{sites.base_url}/NORAD/elements/gp.php?CATNR=1&FORMAT=json")
    assert (response.status, response.text, response.headers["content-type"]) == (503, "busy",
                                                                                    "text/plain; charset=utf-8")
