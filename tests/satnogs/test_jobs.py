"""The SatNOGS core: TLE lines for a job (Alpha-5 included), the job's fields, and the client's file names."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from sgp4.api import Satrec

from groundshare.errors import InvalidInputError
from groundshare.orbits import omm_json_record, parse_elements
from groundshare.orbits.tle import parse_catalog_number, parse_tle, tle_checksum
from groundshare.passes import Site
from groundshare.satnogs import (
    SATNOGS_MODES,
    JobRefusedError,
    alpha5,
    check_mode,
    format_tle,
    job_frequency_hz,
    parse_upload_name,
    satnogs_job,
)


def _checked(line: str) -> str:
    return line[:68] + str(tle_checksum(line))


ISS_1 = _checked("1 25544U 98067A   24001.50000000  .00016717  00000-0  10270-3 0  9005")
ISS_2 = _checked("2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.49815350 17808")
ISS = parse_tle(ISS_1, ISS_2, "ISS (ZARYA)")
#: The same elements with no TLE lines, as a set that came as OMM.
ISS_OMM = dataclasses.replace(ISS, line1=None, line2=None)


@pytest.mark.parametrize(("number", "columns"), [
    (0, "00000"), (25544, "25544"), (99999, "99999"), (100000, "A0000"), (109999, "A9999"), (180000, "J0000"),
    (230000, "P0000"), (339999, "Z9999")])
def test_alpha5_writes_what_the_tle_parser_reads(number, columns):
    assert alpha5(number) == columns
    assert parse_catalog_number(columns) == number


def test_alpha5_refuses_what_a_tle_cannot_hold():
    with pytest.raises(JobRefusedError, match="340000 cannot be written in a TLE"):
        alpha5(340_000)


def test_an_omm_set_is_written_as_the_tle_it_came_from():
    assert format_tle(ISS_OMM) == (ISS_1, ISS_2)
    assert format_tle(ISS) == (ISS_1, ISS_2)  # a TLE-born set keeps its own lines


def test_an_omm_set_above_99999_is_written_in_alpha5_and_propagates_the_same():
    big = dataclasses.replace(ISS_OMM, norad_id=123_456)
    line1, line2 = format_tle(big)
    assert line1[2:7] == line2[2:7] == "C3456"
    assert line1[7:] == ISS_1[7:68] + line1[68] and line2[7:68] == ISS_2[7:68]
    parsed = parse_tle(line1, line2, "BIG")
    assert parsed.norad_id == 123_456 and parsed.epoch == ISS.epoch
    at = ISS.epoch + timedelta(hours=3)
    ours, theirs = Satrec.twoline2rv(line1, line2), Satrec.twoline2rv(ISS_1, ISS_2)
    jd, fr = 2460311.5, (at - datetime(2024, 1, 1, tzinfo=UTC)).total_seconds() / 86400
    assert ours.sgp4(jd, fr)[1] == theirs.sgp4(jd, fr)[1]


def test_an_omm_set_from_json_round_trips_through_tle_lines():
    record = omm_json_record(ISS_OMM)
    from_json = parse_elements(json.dumps([record]), fmt="json", on_error="raise").elements[0]
    line1, line2 = format_tle(from_json)
    again = parse_tle(line1, line2, "ISS")
    assert abs(again.epoch - ISS.epoch) < timedelta(milliseconds=1)
    for name in ("inclination_deg", "raan_deg", "eccentricity", "arg_perigee_deg", "mean_anomaly_deg",
                 "mean_motion_rev_day", "bstar", "mean_motion_dot"):
        assert getattr(again, name) == pytest.approx(getattr(ISS, name), rel=1e-6, abs=1e-9), name


def _job(**changes):
    fields = dict(contact_id=7, station_id=3, start=ISS.epoch + timedelta(minutes=10, microseconds=500),
                  end=ISS.epoch + timedelta(minutes=20), satellite_id=5, satellite_name="ISS", norad_id=25544,
                  element_set=ISS_OMM, site=Site("daejeon", lat_deg=36.37, lon_deg=127.36, alt_m=80.0),
                  downlink_frequency_hz=145_800_000.0, drift_ppb=1_500, mode="FM", baud=None)
    return satnogs_job(**{**fields, **changes})


def test_a_job_has_the_fields_the_client_reads():
    job = _job().to_json()
    assert job["id"] == 7 and job["ground_station"] == 3 and job["transmitter"] == "gs-5"
    assert job["start"] == "2024-01-01T12:10:00Z" and job["end"] == "2024-01-01T12:20:00Z"
    assert (job["tle0"], job["tle1"], job["tle2"]) == ("ISS", ISS_1, ISS_2)
    assert job["frequency"] == 145_800_219 == job_frequency_hz(145_800_000.0, 1_500)
    assert (job["mode"], job["baud"], job["norad_cat_id"]) == ("FM", 0.0, 25544)
    assert isinstance(job["max_altitude"], float)


@pytest.mark.parametrize(("changes", "reason"), [
    ({"mode": None}, "has no mode"), ({"downlink_frequency_hz": None}, "has no downlink_frequency_hz"),
    ({"element_set": None}, "no element set"),
    ({"element_set": dataclasses.replace(ISS_OMM, norad_id=400_000)}, "Alpha-5 ends at 339999")])
def test_a_contact_that_cannot_be_a_job_is_refused_saying_why(changes, reason):
    with pytest.raises(JobRefusedError, match=reason):
        _job(**changes)


def test_modes_are_the_clients():
    assert len(SATNOGS_MODES) == 18 and check_mode("FSK AX.100 Mode 5") == "FSK AX.100 Mode 5"
    with pytest.raises(InvalidInputError, match="did you mean 'FM'") as caught:
        check_mode("fm")
    assert caught.value.loc == ("mode",)


@pytest.mark.parametrize(("field", "name", "observation_id", "at"), [
    ("payload", "satnogs_1234_2030-05-01T03-00-00.ogg", 1234, datetime(2030, 5, 1, 3, tzinfo=UTC)),
    ("waterfall", "waterfall_1234_2030-05-01T03-00-00.png", 1234, datetime(2030, 5, 1, 3, tzinfo=UTC)),
    ("demoddata", "data_1234_2030-05-01T03-01-07", 1234, datetime(2030, 5, 1, 3, 1, 7, tzinfo=UTC)),
    ("demoddata", "data_1234_2030-05-01T03-01-07_g0", 1234, datetime(2030, 5, 1, 3, 1, 7, tzinfo=UTC)),
    ("demoddata", "data_9_2030-12-31T23-59-59.png", 9, datetime(2030, 12, 31, 23, 59, 59, tzinfo=UTC)),
])
def test_file_names_say_the_observation_and_time(field, name, observation_id, at):
    named = parse_upload_name(field, name)
    assert (named.field, named.filename, named.observation_id, named.recorded_at) == (field, name, observation_id, at)


@pytest.mark.parametrize(("field", "name", "message"), [
    ("demoddata", "data_1234", "reception time"),
    ("demoddata", "satnogs_1234_2030-05-01T03-00-00.ogg", "data_<observation id>"),
    ("payload", "../satnogs_1_x.ogg", "without a folder"),
    ("payload", "", "1 to 200 characters"),
    ("audio", "satnogs_1_x.ogg", "one of payload, waterfall, demoddata"),
])
def test_file_names_the_client_does_not_write_are_refused(field, name, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_upload_name(field, name)
