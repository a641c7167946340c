"""Space-Track through the ``spacetrack`` library against the fake site: login, batched GP, refusals, the rules."""

from __future__ import annotations

from datetime import UTC, datetime

from groundshare.data import data_path
from groundshare.orbits import load_elements
from groundshare.sources import (
    FetchOutcome,
    SpaceTrackCredentials,
    next_spacetrack_slot,
    open_spacetrack,
    spacetrack_minute,
)
from groundshare.sources.spacetrack import AVOIDED_MINUTES
from tests.support.orbit_sites import IDENTITY, PASSWORD, OrbitSites, six_digit_record

CUBESATS = data_path("celestrak_cubesat_2025-11-06.tle")


def test_gp_by_catalog_numbers_in_one_request_after_one_login(sites: OrbitSites, tmp_path) -> None:
    ids = sites.add_tle_file(CUBESATS)
    with open_spacetrack(SpaceTrackCredentials(IDENTITY, PASSWORD), base_url=sites.base_url,
                         cache_dir=tmp_path) as session:
        result = session.fetch_gp(ids[:3])
        again = session.fetch_gp(ids[3:4])
    assert (result.outcome, len(result.sets), result.errors) == (FetchOutcome.OK, 3, ())
    assert sorted(e.norad_id for e in result.sets) == sorted(ids[:3])
    assert again.outcome is FetchOutcome.OK
    listed = "%2C".join(str(n) for n in sorted(ids[:3]))  # the library quotes the commas
    assert sites.requests == [
        "POST /ajaxauth/login",
        "GET /basicspacedata/modeldef/class/gp",
        f"GET /basicspacedata/query/class/gp/norad_cat_id/{listed}/format/json",
        f"GET /basicspacedata/query/class/gp/norad_cat_id/{ids[3]}/format/json",
        "GET /ajaxauth/logout",
    ]


def test_a_launch_and_a_six_digit_object(sites: OrbitSites, tmp_path) -> None:
    sites.add_record(six_digit_record(load_elements(CUBESATS).elements[0]))
    with open_spacetrack(SpaceTrackCredentials(IDENTITY, PASSWORD), base_url=sites.base_url,
                         cache_dir=tmp_path) as session:
        result = session.fetch_gp(intdes="2026-099")
    assert [(e.norad_id, e.object_id) for e in result.sets] == [(100123, "2026-099A")]
    assert "GET /basicspacedata/query/class/gp/object_id/%5E2026-099/format/json" in sites.requests


def test_refused_credentials_are_an_outcome_that_never_shows_the_password(sites: OrbitSites, tmp_path) -> None:
    credentials = SpaceTrackCredentials(IDENTITY, "wrong password 123")
    with open_spacetrack(credentials, base_url=sites.base_url, cache_dir=tmp_path) as session:
        result = session.fetch_gp([27844])
    assert result.outcome is FetchOutcome.REFUSED_LOGIN
    assert result.message == (f"Space-Track refused the login of the configured identity at {sites.base_url}; check "
                              "GROUNDSHARE_SPACETRACK_IDENTITY and GROUNDSHARE_SPACETRACK_PASSWORD (or the settings)")
    assert "wrong password" not in repr(credentials) and "wrong password" not in result.message
    assert sites.requests == ["POST /ajaxauth/login"]


def test_a_server_error_fails_with_its_status(sites: OrbitSites, tmp_path) -> None:
    sites.fault("/basicspacedata/query", 503, "Service Unavailable")
    with open_spacetrack(SpaceTrackCredentials(IDENTITY, PASSWORD), base_url=sites.base_url,
                         cache_dir=tmp_path) as session:
        result = session.fetch_gp([27844])
    assert (result.outcome, result.http_status) == (FetchOutcome.FAILED, 503)
    assert result.message.startswith("class/gp/norad_cat_id/27844/format/json: HTTP 503 from Space-Track (")


def test_credentials_from_the_environment() -> None:
    env = {"GROUNDSHARE_SPACETRACK_IDENTITY": " ops@example.org ", "GROUNDSHARE_SPACETRACK_PASSWORD": "s3cret"}
    assert SpaceTrackCredentials.from_env(env) == SpaceTrackCredentials("ops@example.org", "s3cret")
    assert SpaceTrackCredentials.from_env({"GROUNDSHARE_SPACETRACK_IDENTITY": "ops@example.org"}) is None
    assert repr(SpaceTrackCredentials.from_env(env)) == "SpaceTrackCredentials(identity='ops@example.org')"


def test_scheduled_minutes_stay_off_the_hour_and_half_hour() -> None:
    minutes = {spacetrack_minute(f"ops{i}@example.org") for i in range(200)}
    assert not minutes & AVOIDED_MINUTES and len(minutes) > 20  # spread out, never at :00 or :30
    assert spacetrack_minute("ops1@example.org") == spacetrack_minute("ops1@example.org")
    at = datetime(2026, 3, 19, 12, 40, 5, tzinfo=UTC)
    assert next_spacetrack_slot(at, 17) == datetime(2026, 3, 19, 13, 17, tzinfo=UTC)
    assert next_spacetrack_slot(at, 41) == datetime(2026, 3, 19, 12, 41, tzinfo=UTC)
    assert next_spacetrack_slot(datetime(2026, 3, 19, 12, 41, tzinfo=UTC), 41) == datetime(2026, 3, 19, 12, 41,
                                                                                          tzinfo=UTC)
