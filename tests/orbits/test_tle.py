"""Strict TLE parsing: shipped sets against sgp4's own parse, Alpha-5, and every error path."""

from __future__ import annotations

import itertools
import math
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sgp4.api import Satrec, SatrecArray

from groundshare.data import data_path
from groundshare.orbits import ElementSet, ElementSetError, ElementSetWarning, load_elements, parse_tle
from groundshare.orbits.tle import iter_tle_records
from groundshare.units import DAY_S

SHIPPED = sorted(p.name for p in data_path(".").glob("*.tle"))
# ISS and POISK from celestrak_stations_2026-05-30.tle (CelesTrak, checksums as downloaded).
ISS_NAME = "ISS (ZARYA)"
ISS_1 = "1 25544U 98067A   26150.51748228  .00011776  00000+0  21767-3 0  9998"
ISS_2 = "2 25544  51.6337  27.5746 0007245 114.7080 245.4664 15.49496548569014"
POISK_1 = "1 36086U 09060A   26150.51748228  .00011776  00000+0  21767-3 0  9996"
POISK_2 = "2 36086  51.6337  27.5746 0007245 114.7080 245.4664 15.49496548568993"

one_microsecond_s = 1e-6
# Shipped element sets are propagated this many days either side of their epoch.
sample_days = np.array([-0.5, 0.0, 0.25, 1.0, 3.0])


def checksum(line: str) -> int:
    """Return the TLE checksum of a line's first 68 columns (written here independently of tle.py)."""
    total = 0
    for char in line[:68]:
        if char.isdigit():
            total += int(char)
        elif char == "-":
            total += 1
    return total % 10


def with_checksum(line: str) -> str:
    """Return ``line`` with column 69 set to the checksum of its first 68 columns."""
    return line[:68] + str(checksum(line))


def edit(line: str, first_col: int, new: str) -> str:
    """Return ``line`` with the text from 1-based column ``first_col`` replaced by ``new``, re-checksummed."""
    edited = line[:first_col - 1] + new + line[first_col - 1 + len(new):]
    return with_checksum(edited)


def tle_lines(name: str) -> list[tuple[str, str]]:
    """Return the (line 1, line 2) pairs of a shipped file, read without groundshare."""
    lines = data_path(name).read_text().splitlines()
    return [(a.rstrip(), b.rstrip()) for a, b in itertools.pairwise(lines)
            if a.startswith("1 ") and b.startswith("2 ")]


def test_checksum_helper_agrees_with_shipped_lines() -> None:
    lines = [line for pair in tle_lines("celestrak_stations_2026-05-30.tle") for line in pair]
    assert lines
    assert all(int(line[68]) == checksum(line) for line in lines)


def test_good_parse_of_iss() -> None:
    iss = parse_tle(ISS_1, ISS_2, ISS_NAME, source="stations.tle", line_no=2)
    # Values read off the lines above by eye (columns per the CelesTrak format page).
    assert iss.norad_id == 25544
    assert iss.name == "ISS (ZARYA)"
    assert iss.object_id == "1998-067A"
    assert iss.classification == "U"
    assert iss.epoch.tzinfo is UTC
    day_2026_150 = datetime(2026, 5, 30, tzinfo=UTC)
    assert abs((iss.epoch - day_2026_150).total_seconds() - 0.51748228 * DAY_S) <= one_microsecond_s
    assert iss.inclination_deg == 51.6337
    assert iss.raan_deg == 27.5746
    assert abs(iss.eccentricity - 0.0007245) < 1e-15
    assert iss.arg_perigee_deg == 114.7080
    assert iss.mean_anomaly_deg == 245.4664
    assert iss.mean_motion_rev_day == 15.49496548
    assert iss.mean_motion_dot == 0.00011776
    assert iss.mean_motion_ddot == 0.0
    assert abs(iss.bstar - 0.21767e-3) < 1e-18
    assert (iss.element_set_no, iss.rev_at_epoch, iss.ephemeris_type) == (999, 56901, 0)
    assert iss.source == "stations.tle:2"


def test_from_tle_is_parse_tle() -> None:
    by_method = ElementSet.from_tle(ISS_1, ISS_2, ISS_NAME, source="x.tle")
    assert by_method == parse_tle(ISS_1, ISS_2, ISS_NAME)
    assert (by_method.line1, by_method.line2) == (ISS_1, ISS_2)
    with pytest.raises(ElementSetError, match="checksum"):
        ElementSet.from_tle(ISS_1[:68] + "0", ISS_2)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_set_matches_sgp4s_own_parse(name: str) -> None:
    catalog = load_elements(data_path(name))
    pairs = tle_lines(name)
    assert catalog.errors == []
    assert len(catalog) == len(pairs)
    sats = [Satrec.twoline2rv(l1, l2) for l1, l2 in pairs]
    assert [e.norad_id for e in catalog] == [s.satnum for s in sats]
    unix_jd = 2_440_587.5  # Julian date of 1970-01-01T00:00Z
    epoch_ours_s = np.array([e.epoch.timestamp() for e in catalog])
    epoch_sgp4_s = np.array([(s.jdsatepoch - unix_jd) * DAY_S + s.jdsatepochF * DAY_S for s in sats])
    np.testing.assert_allclose(epoch_ours_s, epoch_sgp4_s, rtol=0.0, atol=one_microsecond_s)
    rad = math.pi / 180.0
    xpdotp = 1440.0 / (2.0 * math.pi)  # rev/day per rad/min (SGP4.cpp)
    pairs_to_check = {
        "eccentricity": ([e.eccentricity for e in catalog], [s.ecco for s in sats]),
        "inclination": ([e.inclination_deg * rad for e in catalog], [s.inclo for s in sats]),
        "raan": ([e.raan_deg * rad for e in catalog], [s.nodeo for s in sats]),
        "arg_perigee": ([e.arg_perigee_deg * rad for e in catalog], [s.argpo for s in sats]),
        "mean_anomaly": ([e.mean_anomaly_deg * rad for e in catalog], [s.mo for s in sats]),
        "mean_motion": ([e.mean_motion_rev_day / xpdotp for e in catalog], [s.no_kozai for s in sats]),
        "bstar": ([e.bstar for e in catalog], [s.bstar for s in sats]),
        "ndot": ([e.mean_motion_dot / (xpdotp * 1440.0) for e in catalog], [s.ndot for s in sats]),
        "nddot": ([e.mean_motion_ddot / (xpdotp * 1440.0**2) for e in catalog], [s.nddot for s in sats]),
    }
    for label, (ours, theirs) in pairs_to_check.items():
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-20, err_msg=label)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_set_propagates_exactly_as_twoline2rv(name: str) -> None:
    catalog = load_elements(data_path(name))
    ours = SatrecArray([e.to_satrec() for e in catalog])
    theirs = SatrecArray([Satrec.twoline2rv(l1, l2) for l1, l2 in tle_lines(name)])
    jd0 = catalog[0].to_satrec().jdsatepoch
    jd, fr = np.full(sample_days.size, jd0), catalog[0].to_satrec().jdsatepochF + sample_days
    e1, r1, v1 = ours.sgp4(jd, fr)
    e2, r2, v2 = theirs.sgp4(jd, fr)
    assert np.array_equal(e1, e2)
    assert np.array_equal(r1, r2, equal_nan=True)
    assert np.array_equal(v1, v2, equal_nan=True)
    assert np.isfinite(r1[e1 == 0]).all()


@pytest.mark.parametrize(("field", "norad_id"), [("A0001", 100_001), ("Z9999", 339_999), ("B1234", 111_234)])
def test_alpha5_catalogue_numbers(field: str, norad_id: int) -> None:
    line1 = edit(ISS_1, 3, field)
    line2 = edit(ISS_2, 3, field)
    elements = parse_tle(line1, line2, "ALPHA5 TEST")
    assert elements.norad_id == norad_id
    # sgp4 >= 2.20 reads Alpha-5 itself: an independent decoding of the same field.
    assert Satrec.twoline2rv(line1, line2).satnum == norad_id
    assert elements.to_satrec().satnum == norad_id


def test_alpha5_letters_i_and_o_are_refused() -> None:
    with pytest.raises(ElementSetError) as info:
        parse_tle(edit(ISS_1, 3, "I0001"), edit(ISS_2, 3, "I0001"))
    assert str(info.value).splitlines()[0] == (
        "TLE line 1 columns 3-7 should be a catalogue number (digits, or Alpha-5 such as A0001), got 'I0001'")


def test_wrong_checksum_message_verbatim() -> None:
    bad = ISS_1[:68] + "7"
    with pytest.raises(ElementSetError) as info:
        parse_tle(bad, ISS_2, source="cubesats.tle", line_no=14)
    assert str(info.value) == (
        "cubesats.tle, line 14: TLE line 1 checksum is 8 but the line ends in 7\n"
        "\n"
        "Each TLE line ends with the sum of its digits (a '-' counts as 1) modulo 10.\n"
        "Expected:  1 NNNNNC NNNNNAAA NNNNN.NNNNNNNN +.NNNNNNNN +NNNNN-N +NNNNN-N N NNNNN\n"
        "Got:       1 25544U 98067A   26150.51748228  .00011776  00000+0  21767-3 0  9997\n"
        "Fix the line or re-download the set; other element sets in the file were loaded."
    )
    assert info.value.line_no == 14
    assert info.value.field == "checksum"
    assert info.value.loc == ("file", "cubesats.tle", "line 14", "checksum")


# (line 1, line 2, first line of the message after "bad.tle, line N: ", N, field)
ECC_SHAPE = "TLE line 2 columns 27-33 (eccentricity) should be seven digits (implied leading '0.')"
BAD_PAIRS = {
    "wrong length": (
        ISS_1[:68], ISS_2,
        "TLE line 1 has 68 characters; a TLE line has 69", 14, "length"),
    "line 2 too long": (
        ISS_1, ISS_2 + "0",
        "TLE line 2 has 70 characters; a TLE line has 69", 15, "length"),
    "non-ASCII character": (
        ISS_1[:15] + "é" + ISS_1[16:], ISS_2,
        "TLE line 1 holds a character that is not printable ASCII", 14, "characters"),
    "line 2 number mismatch": (
        ISS_1, POISK_2,
        "TLE line 2 is for catalogue number 36086 but line 1 is for 25544", 15, "catalog number"),
    "epoch day past the year's end": (
        edit(ISS_1, 21, "400.51748228"), ISS_2,
        "TLE epoch day 400.51748228 is outside 1-365 for 2026", 14, "epoch day"),
    "epoch day zero": (
        edit(ISS_1, 21, "000.51748228"), ISS_2,
        "TLE epoch day 000.51748228 is outside 1-365 for 2026", 14, "epoch day"),
    "epoch day not a number": (
        edit(ISS_1, 21, "15O.51748228"), ISS_2,
        "TLE line 1 columns 21-32 (epoch day) should be DDD.DDDDDDDD, got '15O.51748228'", 14, "epoch day"),
    "eccentricity with a sign": (
        ISS_1, edit(ISS_2, 27, "00072-5"),
        f"{ECC_SHAPE}, got '00072-5'",
        15, "eccentricity"),
    "eccentricity with a decimal point": (
        ISS_1, edit(ISS_2, 27, ".000724"),
        f"{ECC_SHAPE}, got '.000724'",
        15, "eccentricity"),
    "mean motion 0": (
        ISS_1, edit(ISS_2, 53, " 0.00000000"),
        "TLE line 2 columns 53-63 (mean motion) is 0.0; it must be above 0 rev/day", 15, "mean motion"),
    "BSTAR exponent field": (
        edit(ISS_1, 54, " 2176X-3"), ISS_2,
        "TLE line 1 columns 54-61 (BSTAR drag term) should be of the form ±NNNNN±N, got ' 2176X-3'",
        14, "BSTAR drag term"),
    "second derivative exponent without sign": (
        edit(ISS_1, 45, " 00000 0"), ISS_2,
        "TLE line 1 columns 45-52 (mean motion second derivative) should be of the form ±NNNNN±N, "
        "got ' 00000 0'", 14, "mean motion second derivative"),
    "inclination above 180": (
        ISS_1, edit(ISS_2, 9, "181.6337"),
        "TLE line 2 columns 9-16 (inclination) is 181.6337, outside [0.0, 180.0]", 15, "inclination"),
}


@pytest.mark.parametrize("case", list(BAD_PAIRS))
def test_bad_element_set_messages(case: str) -> None:
    line1, line2, first_line, line_no, field = BAD_PAIRS[case]
    with pytest.raises(ElementSetError) as info:
        parse_tle(line1, line2, source="bad.tle", line_no=14)
    message = str(info.value)
    assert message.splitlines()[0] == f"bad.tle, line {line_no}: {first_line}"
    bad_line = line1 if line_no == 14 else line2
    assert f"Got:       {bad_line}" in message  # the input is shown under the expected layout
    assert "Expected:  " in message
    assert info.value.line_no == line_no
    assert info.value.field == field


def test_mean_motion_zero_says_why() -> None:
    with pytest.raises(ElementSetError) as info:
        parse_tle(ISS_1, edit(ISS_2, 53, " 0.00000000"))
    assert "A mean motion of 0 is no orbit (SGP4 would divide by it)." in str(info.value)


# Record-level errors: (lines, [(line, first message line after "recs.tle, line N: ")], good NORAD ids)
BAD_RECORDS = {
    "missing line 2": (
        [ISS_NAME, ISS_1, "POISK", POISK_1, POISK_2],
        [(2, "TLE line 1 is not followed by its line 2 (a line starting with '2 ')")], [36086]),
    "line 1 at the end of the file": (
        [ISS_NAME, ISS_1, ISS_2, ISS_1],
        [(4, "TLE line 1 is not followed by its line 2 (a line starting with '2 ')")], [25544]),
    "orphan line 2": (
        [ISS_NAME, ISS_1, ISS_2, POISK_2],
        [(4, "TLE line 2 has no line 1 before it")], [25544]),
    "name line without elements": (
        ["LOST NAME", ISS_NAME, ISS_1, ISS_2],
        [(1, "name line 'LOST NAME' is not followed by TLE lines")], [25544]),
    "name line at the end": (
        [ISS_NAME, ISS_1, ISS_2, "TRAILING NAME"],
        [(4, "name line 'TRAILING NAME' at the end of the file has no TLE lines after it")], [25544]),
    "two lines 1 in a row": (
        [ISS_1, POISK_1, POISK_2],
        [(1, "TLE line 1 is not followed by its line 2 (a line starting with '2 ')")], [36086]),
}


@pytest.mark.parametrize("case", list(BAD_RECORDS))
def test_bad_record_messages(case: str) -> None:
    lines, expected_errors, good_ids = BAD_RECORDS[case]
    records = list(iter_tle_records("\n".join(lines) + "\n", "recs.tle"))
    errors = [r for r in records if isinstance(r, ElementSetError)]
    good = [r for r in records if not isinstance(r, ElementSetError)]
    assert [(e.line_no, str(e).splitlines()[0]) for e in errors] == [
        (line_no, f"recs.tle, line {line_no}: {first}") for line_no, first in expected_errors]
    assert [e.norad_id for e in good] == good_ids


def test_3le_zero_prefix_and_blank_lines() -> None:
    text = f"0 {ISS_NAME}\n\n{ISS_1}\n\n{ISS_2}\n"
    (record,) = list(iter_tle_records(text, "x.tle"))
    assert isinstance(record, ElementSet)
    assert record.name == ISS_NAME
    assert record.source == "x.tle:3"


def write_mixed_file(tmp_path: Path) -> tuple[Path, list[int], int]:
    """Write the shipped stations file with two records broken; return path, bad lines, good count."""
    lines = data_path("celestrak_stations_2026-05-30.tle").read_text().splitlines()
    first_l1 = [i for i, line in enumerate(lines) if line.startswith("1 ")]
    broken = first_l1[1]  # index of the second record's line 1
    lines[broken] = lines[broken][:68] + str((int(lines[broken][68]) + 1) % 10)
    lines.append(POISK_2)  # an orphan line 2 at the end
    path = tmp_path / "mixed.tle"
    path.write_text("\n".join(lines) + "\n")
    return path, [broken + 1, len(lines)], len(first_l1) - 1


def test_file_with_bad_records_loads_the_good_ones(tmp_path: Path) -> None:
    path, bad_lines, n_good = write_mixed_file(tmp_path)
    with pytest.warns(ElementSetWarning, match=rf"mixed\.tle: 2 of {n_good + 2} records were bad"):
        catalog = load_elements(path)
    assert len(catalog) == n_good
    assert [e.line_no for e in catalog.errors] == bad_lines
    first_lines = [str(e).splitlines()[0] for e in catalog.errors]
    assert first_lines[0].startswith(f"mixed.tle, line {bad_lines[0]}: TLE line 1 checksum is ")
    assert first_lines[1] == f"mixed.tle, line {bad_lines[1]}: TLE line 2 has no line 1 before it"
    assert catalog.error_report().count("mixed.tle, line ") == 2


def test_file_with_bad_records_raises_on_request(tmp_path: Path) -> None:
    path, bad_lines, _ = write_mixed_file(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "raise" must not also warn
        with pytest.raises(ElementSetError) as info:
            load_elements(path, on_error="raise")
    message = str(info.value)
    assert f"mixed.tle, line {bad_lines[0]}: TLE line 1 checksum is " in message.splitlines()[0]
    assert message.startswith(f"mixed.tle, line {bad_lines[0]}: ")  # named once, not "mixed.tle: mixed.tle, ..."
    assert "nothing was loaded" in message and "were loaded" not in message
    assert message.endswith("(1 more bad record(s) in the same text)")
    assert info.value.line_no == bad_lines[0]
