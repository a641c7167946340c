"""CCSDS OMM ingestion: the same satellites as TLE and as OMM JSON/CSV/XML/KVN agree.

OMM text is rendered here, in the test, from TLE-born element sets of the shipped
files, the way CelesTrak lays out each format; it is then read back through
groundshare and, for CSV and XML, through sgp4's own ``sgp4.omm`` reader as well.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape

import numpy as np
import pytest
from sgp4 import omm as sgp4_omm
from sgp4.api import Satrec

from groundshare.data import data_path
from groundshare.orbits import (
    ElementSet,
    ElementSetError,
    ElementSetWarning,
    detect_format,
    elements_from_omm,
    iter_omm_records,
    parse_elements,
)
from groundshare.orbits.tle import parse_tle

FORMATS = ("json", "csv", "xml", "kvn")
# (shipped file, NORAD ids): LEO stations, cubesats, GPS and Galileo (SDP4, 12-14 h),
# Molniya-like HEO (AO-10, CLUSTER II e = 0.89), a GEO and a name with "[DTC]" in it.
PICKS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("celestrak_stations_2026-05-30.tle", (25544, 36086, 48274, 49044)),
    ("celestrak_cubesat_2025-11-06.tle", (27844,)),
    ("celestrak_gps-ops_2026-03-09.tle", (24876,)),
    ("celestrak_galileo_2020-05-14.tle", (37846,)),
    ("celestrak_active_2026-03-19.tle", (14129, 26410, 19548, 62565)),
)
# TLE-born sets go through twoline2rv and OMM-born ones through sgp4init; the OMM epoch is
# the TLE epoch rounded to 1 us (the TLE's 1e-8 day is 864 us), which moves a satellite by
# at most ~0.5 us x 7.8 km/s = 4 mm.  Measured over one day for all 14,710 sets of
# celestrak_active_2026-03-19.tle: at most 3.0 mm, median 0.
one_centimetre_km = 1e-5
# groundshare's sgp4init call and sgp4.omm.initialize see the same numbers: equal to float noise.
one_micrometre_km = 1e-9
day_samples = np.linspace(0.0, 1.0, 49)


# --- rendering OMM text (test-side; CelesTrak's key order and layout) ------------------


def omm_fields(e: ElementSet) -> dict[str, str | int | float]:
    """Return the OMM keys of an element set as CelesTrak's JSON has them (numbers as numbers)."""
    return {
        "OBJECT_NAME": e.name,
        "OBJECT_ID": e.object_id,
        "EPOCH": e.epoch.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "MEAN_MOTION": e.mean_motion_rev_day,
        "ECCENTRICITY": e.eccentricity,
        "INCLINATION": e.inclination_deg,
        "RA_OF_ASC_NODE": e.raan_deg,
        "ARG_OF_PERICENTER": e.arg_perigee_deg,
        "MEAN_ANOMALY": e.mean_anomaly_deg,
        "EPHEMERIS_TYPE": e.ephemeris_type,
        "CLASSIFICATION_TYPE": e.classification,
        "NORAD_CAT_ID": e.norad_id,
        "ELEMENT_SET_NO": e.element_set_no,
        "REV_AT_EPOCH": e.rev_at_epoch,
        "BSTAR": e.bstar,
        "MEAN_MOTION_DOT": e.mean_motion_dot,
        "MEAN_MOTION_DDOT": e.mean_motion_ddot,
    }


def as_text(value: object) -> str:
    """Return a value as it appears in CSV, XML or KVN (floats via repr, so nothing is lost)."""
    return repr(value) if isinstance(value, float) else str(value)


def render_json(records: list[dict]) -> str:
    return json.dumps(records, indent=1)


def render_csv(records: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = list(records[0])
    writer.writerow(header)
    for record in records:
        writer.writerow([as_text(record[key]) if key in record else "" for key in header])
    return buffer.getvalue()


XML_GROUPS = {
    "metadata": ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "TIME_SYSTEM",
                 "MEAN_ELEMENT_THEORY"),
    "meanElements": ("EPOCH", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE",
                     "ARG_OF_PERICENTER", "MEAN_ANOMALY"),
    "tleParameters": ("EPHEMERIS_TYPE", "CLASSIFICATION_TYPE", "NORAD_CAT_ID", "ELEMENT_SET_NO",
                      "REV_AT_EPOCH", "BSTAR", "MEAN_MOTION_DOT", "MEAN_MOTION_DDOT"),
}
SGP4_METADATA = {"CENTER_NAME": "EARTH", "REF_FRAME": "TEME", "TIME_SYSTEM": "UTC",
                 "MEAN_ELEMENT_THEORY": "SGP4"}


def render_xml(records: list[dict], prefix: str = "") -> str:
    p = f"{prefix}:" if prefix else ""
    xmlns = f' xmlns:{prefix}="urn:ccsds:recommendation:navigation:schema:ndmxml"' if prefix else ""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<{p}ndm{xmlns} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           'xsi:noNamespaceSchemaLocation="https://sanaregistry.org/r/ndmxml_unqualified/'
           'ndmxml-2.0.0-master-2.0.xsd">']
    for record in records:
        values = {**SGP4_METADATA, **record}
        out += [f'<{p}omm id="CCSDS_OMM_VERS" version="2.0">',
                f"<{p}header><{p}CREATION_DATE/><{p}ORIGINATOR/></{p}header>",
                f"<{p}body>", f"<{p}segment>"]

        def leaves(group: str, values: dict = values) -> list[str]:
            keys = [k for k in XML_GROUPS[group] if k in values]
            return [f"<{p}{k}>{escape(as_text(values[k]))}</{p}{k}>" for k in keys]

        out += [f"<{p}metadata>", *leaves("metadata"), f"</{p}metadata>",
                f"<{p}data>", f"<{p}meanElements>", *leaves("meanElements"), f"</{p}meanElements>",
                f"<{p}tleParameters>", *leaves("tleParameters"), f"</{p}tleParameters>", f"</{p}data>"]
        out += [f"</{p}segment>", f"</{p}body>", f"</{p}omm>"]
    out.append(f"</{p}ndm>")
    return "\n".join(out) + "\n"


KVN_UNITS = {"MEAN_MOTION": " [rev/day]", "INCLINATION": " [deg]", "RA_OF_ASC_NODE": " [deg]",
             "ARG_OF_PERICENTER": " [deg]", "MEAN_ANOMALY": " [deg]", "BSTAR": " [1/ER]",
             "MEAN_MOTION_DOT": " [rev/day**2]", "MEAN_MOTION_DDOT": " [rev/day**3]"}


def render_kvn(records: list[dict]) -> str:
    out: list[str] = []
    for record in records:
        out += ["CCSDS_OMM_VERS = 2.0", "COMMENT GENERATED VIA SPACE-TRACK.ORG API",
                "CREATION_DATE = 2026-05-30T18:00:00", "ORIGINATOR = 18 SPCS"]
        values = {**SGP4_METADATA, **record}
        keys = [k for group in XML_GROUPS.values() for k in group if k in values]
        out += [f"{k} = {as_text(values[k])}{KVN_UNITS.get(k, '')}" for k in keys]
        out.append("")
    return "\n".join(out)


RENDER: dict[str, Callable[[list[dict]], str]] = {
    "json": render_json, "csv": render_csv, "xml": render_xml, "kvn": render_kvn,
}


def record_start_lines(fmt: str, text: str) -> list[int]:
    """Return the 1-based line where each record starts, found by its format's marker."""
    starts = {
        "json": lambda line: line.strip() == "{",
        "csv": lambda line: bool(line.strip()),
        "xml": lambda line: line.strip().startswith("<segment"),
        "kvn": lambda line: line.startswith("CCSDS_OMM_VERS"),
    }[fmt]
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if starts(line)]
    return lines[1:] if fmt == "csv" else lines  # a CSV's first line is its header


def key_line(fmt: str, text: str, record_index: int, key: str) -> int:
    """Return the line that holds ``key`` in the record at ``record_index`` (0-based)."""
    start = record_start_lines(fmt, text)[record_index]
    if fmt == "csv":
        return start
    token = {"json": f'"{key}":', "xml": f"<{key}>", "kvn": f"{key} ="}[fmt]
    lines = text.splitlines()
    return next(n for n in range(start, len(lines) + 1) if lines[n - 1].strip().startswith(token))


# --- fixtures -------------------------------------------------------------------------


def _picked_sets() -> list[ElementSet]:
    sets: list[ElementSet] = []
    for name, norad_ids in PICKS:
        lines = data_path(name).read_text().splitlines()
        for norad_id in norad_ids:
            i = next(i for i, line in enumerate(lines) if line.startswith(f"1 {norad_id:5d}U"))
            sets.append(parse_tle(lines[i], lines[i + 1], lines[i - 1], source=name, line_no=i + 1))
    return sets


@pytest.fixture(scope="module")
def tle_sets() -> list[ElementSet]:
    return _picked_sets()


@pytest.fixture(scope="module")
def iss() -> ElementSet:
    return _picked_sets()[0]


def positions_over_a_day(sat: Satrec, epoch_of: Satrec) -> tuple[np.ndarray, np.ndarray]:
    """Return error codes and TEME positions (km) of ``sat`` over the day after ``epoch_of``'s epoch."""
    jd = np.full(day_samples.size, epoch_of.jdsatepoch)
    e, r, _ = sat.sgp4_array(jd, epoch_of.jdsatepochF + day_samples)
    return e, r


def max_distance_km(a: Satrec, b: Satrec) -> float:
    e1, r1 = positions_over_a_day(a, a)
    e2, r2 = positions_over_a_day(b, a)
    assert np.array_equal(e1, e2)
    assert (e1 == 0).all()
    return float(np.max(np.linalg.norm(r1 - r2, axis=1)))


# --- round trips ----------------------------------------------------------------------


def test_picked_sets_cover_leo_deep_space_and_heo(tle_sets: list[ElementSet]) -> None:
    periods_min = [e.period_s / 60.0 for e in tle_sets]
    assert min(periods_min) < 100.0 < 700.0 < max(periods_min)  # SGP4 and SDP4 branches
    assert max(e.eccentricity for e in tle_sets) > 0.85
    assert any("[" in e.name for e in tle_sets)


@pytest.mark.parametrize("fmt", FORMATS)
def test_omm_round_trip_gives_the_tle_elements(fmt: str, tle_sets: list[ElementSet]) -> None:
    text = RENDER[fmt]([omm_fields(e) for e in tle_sets])
    assert detect_format(text) == fmt
    catalog = parse_elements(text, source=f"sats.{fmt}")
    assert catalog.errors == []
    assert list(catalog) == tle_sets  # every field but the TLE lines and source
    starts = record_start_lines(fmt, text)
    assert [e.source for e in catalog] == [f"sats.{fmt}:{n}" for n in starts]
    assert all(e.line1 is None and e.line2 is None for e in catalog)


@pytest.mark.parametrize("fmt", FORMATS)
def test_omm_born_sets_propagate_like_tle_born_sets(fmt: str, tle_sets: list[ElementSet]) -> None:
    text = RENDER[fmt]([omm_fields(e) for e in tle_sets])
    catalog = parse_elements(text, source=f"sats.{fmt}", fmt=fmt)
    for tle_born, omm_born in zip(tle_sets, catalog, strict=True):
        distance_km = max_distance_km(tle_born.to_satrec(), omm_born.to_satrec())
        assert abs(distance_km) <= one_centimetre_km, (tle_born.name, distance_km)


@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_omm_born_sets_match_sgp4s_own_omm_reader(fmt: str, tle_sets: list[ElementSet]) -> None:
    text = RENDER[fmt]([omm_fields(e) for e in tle_sets])
    reader = sgp4_omm.parse_csv if fmt == "csv" else sgp4_omm.parse_xml
    theirs = []
    for fields in reader(io.StringIO(text)):
        sat = Satrec()
        sgp4_omm.initialize(sat, fields)
        theirs.append(sat)
    ours = [e.to_satrec() for e in parse_elements(text, fmt=fmt)]
    assert len(ours) == len(theirs) == len(tle_sets)
    for a, b in zip(ours, theirs, strict=True):
        assert abs(max_distance_km(a, b)) <= one_micrometre_km


def test_single_json_object_and_namespaced_xml(iss: ElementSet) -> None:
    (from_object,) = list(iter_omm_records(json.dumps(omm_fields(iss)), source="iss.json", fmt="json"))
    assert from_object == iss
    (from_prefixed,) = list(iter_omm_records(render_xml([omm_fields(iss)], prefix="ndm"), fmt="xml"))
    assert from_prefixed == iss


def test_xml_without_segment_grouping(iss: ElementSet) -> None:
    leaves = "\n".join(f"<{k}>{escape(as_text(v))}</{k}>" for k, v in omm_fields(iss).items())
    (record,) = list(iter_omm_records(f"<omm>\n{leaves}\n</omm>", fmt="xml"))
    assert record == iss


def test_from_omm_is_elements_from_omm(iss: ElementSet) -> None:
    fields = omm_fields(iss)
    assert ElementSet.from_omm(fields, source="x") == elements_from_omm(fields) == iss


def test_keys_and_values_as_text_with_spaces_and_lower_case(iss: ElementSet) -> None:
    fields = {f" {k.lower()} ": f" {as_text(v)} " for k, v in omm_fields(iss).items()}
    assert elements_from_omm(fields) == iss


def test_optional_fields_default(iss: ElementSet) -> None:
    fields = omm_fields(iss)
    for key in ("CLASSIFICATION_TYPE", "OBJECT_ID", "ELEMENT_SET_NO", "REV_AT_EPOCH", "EPHEMERIS_TYPE"):
        del fields[key]
    elements = elements_from_omm(fields)
    assert (elements.classification, elements.object_id, elements.element_set_no,
            elements.rev_at_epoch, elements.ephemeris_type) == ("U", "", 999, 0, 0)
    assert elements.norad_id == iss.norad_id


# --- EPOCH -------------------------------------------------------------------------------

EPOCHS = {
    "2026-05-30T12:25:10": datetime(2026, 5, 30, 12, 25, 10, tzinfo=UTC),
    "2026-05-30T12:25:10Z": datetime(2026, 5, 30, 12, 25, 10, tzinfo=UTC),
    "2026-05-30T12:25:10.468992": datetime(2026, 5, 30, 12, 25, 10, 468992, tzinfo=UTC),
    "2026-05-30T12:25:10.468992Z": datetime(2026, 5, 30, 12, 25, 10, 468992, tzinfo=UTC),
    "2026-05-30T12:25:10.5": datetime(2026, 5, 30, 12, 25, 10, 500000, tzinfo=UTC),
    "2026-05-30T12:25:10.46899249": datetime(2026, 5, 30, 12, 25, 10, 468992, tzinfo=UTC),
    "2026-05-30T12:25:10.4689925Z": datetime(2026, 5, 30, 12, 25, 10, 468993, tzinfo=UTC),  # half up
    "2026-12-31T23:59:59.9999996Z": datetime(2027, 1, 1, tzinfo=UTC),  # rounds into the next year
    "2026-150T12:25:10.468992": datetime(2026, 5, 30, 12, 25, 10, 468992, tzinfo=UTC),  # day of year
}


@pytest.mark.parametrize("text", list(EPOCHS))
def test_epoch_forms(text: str, iss: ElementSet) -> None:
    elements = elements_from_omm({**omm_fields(iss), "EPOCH": text})
    assert elements.epoch == EPOCHS[text]
    assert elements.epoch.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["2026-02-30T00:00:00", "2026-05-30 12:25:10", "26150.51748228",
                                  "2026-05-30T12:25", "2025-366T00:00:00", "2026-05-30T12:25:10+02:00"])
def test_bad_epochs_are_named(text: str, iss: ElementSet) -> None:
    with pytest.raises(ElementSetError) as info:
        elements_from_omm({**omm_fields(iss), "EPOCH": text}, source="x.json")
    assert str(info.value).splitlines()[0] == (
        f"x.json: NORAD 25544: EPOCH should be a UTC date and time, got {text!r}")
    assert "Expected:  YYYY-MM-DDThh:mm:ss[.ffffff][Z]" in str(info.value)
    assert info.value.field == "EPOCH"


# --- large catalogue numbers -----------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_norad_id_above_99999_is_kept(fmt: str, iss: ElementSet) -> None:
    text = RENDER[fmt]([{**omm_fields(iss), "NORAD_CAT_ID": 800123}])
    catalog = parse_elements(text, fmt=fmt)
    assert [e.norad_id for e in catalog] == [800123]
    sat = catalog[0].to_satrec()
    assert sat.satnum == 0  # a Satrec holds at most 339999; groundshare keeps the real id
    reference = elements_from_omm(omm_fields(iss)).to_satrec()
    e1, r1 = positions_over_a_day(sat, reference)
    e2, r2 = positions_over_a_day(reference, reference)
    assert np.array_equal(e1, e2) and np.array_equal(r1, r2)


# --- bad records -------------------------------------------------------------------------


def without(key: str) -> Callable[[dict], dict]:
    return lambda fields: {k: v for k, v in fields.items() if k != key}


def setting(key: str, value: object) -> Callable[[dict], dict]:
    return lambda fields: {**fields, key: value}


# case -> (change to record 2, key named, text after "NORAD 36086: " on the first line, is it a key line?)
BAD_CASES: dict[str, tuple[Callable[[dict], dict], str, str, bool]] = {
    "missing MEAN_MOTION": (
        without("MEAN_MOTION"), "MEAN_MOTION",
        "MEAN_MOTION is missing; an OMM for SGP4 needs OBJECT_NAME, NORAD_CAT_ID, EPOCH, MEAN_MOTION, "
        "ECCENTRICITY, INCLINATION, RA_OF_ASC_NODE, ARG_OF_PERICENTER, MEAN_ANOMALY, BSTAR, MEAN_MOTION_DOT, "
        "MEAN_MOTION_DDOT", False),
    "non-numeric INCLINATION": (
        setting("INCLINATION", "51.6x"), "INCLINATION",
        "INCLINATION should be a number (deg), got '51.6x'", True),
    "ECCENTRICITY 1.2": (
        setting("ECCENTRICITY", 1.2), "ECCENTRICITY",
        "ECCENTRICITY cannot be used: eccentricity must be in [0, 1) for SGP4, got 1.2", True),
    "MEAN_MOTION 0": (
        setting("MEAN_MOTION", 0.0), "MEAN_MOTION",
        "MEAN_MOTION cannot be used: mean motion must be greater than 0 rev/day, got 0.0", True),
    "INCLINATION above 180": (
        setting("INCLINATION", 190.5), "INCLINATION",
        "INCLINATION cannot be used: inclination must be in [0, 180] deg, got 190.5", True),
    "fractional REV_AT_EPOCH": (
        setting("REV_AT_EPOCH", "56899.5"), "REV_AT_EPOCH",
        "REV_AT_EPOCH should be a whole number, got '56899.5'", True),
    "CLASSIFICATION_TYPE X": (
        setting("CLASSIFICATION_TYPE", "X"), "CLASSIFICATION_TYPE",
        "CLASSIFICATION_TYPE should be U, C or S, got 'X'", True),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", list(BAD_CASES))
def test_mixed_file_loads_good_records_and_names_the_bad_key(fmt: str, case: str,
                                                             tle_sets: list[ElementSet]) -> None:
    change, key, what, is_key_line = BAD_CASES[case]
    good_1, bad, good_2 = tle_sets[0], tle_sets[1], tle_sets[2]
    records = [omm_fields(good_1), change(omm_fields(bad)), omm_fields(good_2)]
    text = RENDER[fmt](records)
    with pytest.warns(ElementSetWarning, match=rf"mixed\.{fmt}: 1 of 3 records were bad"):
        catalog = parse_elements(text, source=f"mixed.{fmt}")
    assert list(catalog) == [good_1, good_2]
    (error,) = catalog.errors
    line_no = key_line(fmt, text, 1, key) if is_key_line else record_start_lines(fmt, text)[1]
    label = "record 2, " if fmt in ("json", "xml") else ""
    assert str(error).splitlines()[0] == f"mixed.{fmt}, line {line_no}: {label}NORAD {bad.norad_id}: {what}"
    assert (error.line_no, error.field, error.source) == (line_no, key, f"mixed.{fmt}")
    assert str(error).endswith("Fix the record or re-download the set; other element sets in the file "
                               "were loaded.")


def test_several_missing_keys_are_all_named(iss: ElementSet) -> None:
    fields = without("BSTAR")(without("EPOCH")(omm_fields(iss)))
    with pytest.raises(ElementSetError) as info:
        elements_from_omm(fields)
    assert str(info.value).startswith("NORAD 25544: EPOCH and BSTAR are missing; an OMM for SGP4 needs ")
    assert "Got keys:  ARG_OF_PERICENTER, CLASSIFICATION_TYPE, ECCENTRICITY," in str(info.value)
    assert info.value.field == "EPOCH"


@pytest.mark.parametrize(("theory", "phrase"), [
    ("SGP4-XP", "MEAN_ELEMENT_THEORY is SGP4-XP; these elements need the SGP4-XP propagator, not SGP4"),
    ("DSST", "MEAN_ELEMENT_THEORY is 'DSST'; only SGP4 elements can be used"),
])
def test_mean_element_theory_other_than_sgp4_is_refused(theory: str, phrase: str, iss: ElementSet) -> None:
    text = render_kvn([{**omm_fields(iss), "MEAN_ELEMENT_THEORY": theory}])
    (error,) = list(iter_omm_records(text, source="xp.kvn", fmt="kvn"))
    assert isinstance(error, ElementSetError)
    assert str(error).splitlines()[0] == f"xp.kvn, line {key_line('kvn', text, 0, 'MEAN_ELEMENT_THEORY')}: " \
                                         f"NORAD 25544: {phrase}"


def test_mean_element_theory_sgp4_in_any_case_is_accepted(iss: ElementSet) -> None:
    assert elements_from_omm({**omm_fields(iss), "MEAN_ELEMENT_THEORY": "sgp4"}) == iss


def test_reference_frame_other_than_teme_is_refused(iss: ElementSet) -> None:
    with pytest.raises(ElementSetError, match=r"REF_FRAME is 'GCRF'; SGP4 elements have REF_FRAME = TEME"):
        elements_from_omm({**omm_fields(iss), "REF_FRAME": "GCRF"})


def test_malformed_json_names_the_parsers_line_and_column(tle_sets: list[ElementSet]) -> None:
    text = render_json([omm_fields(e) for e in tle_sets[:3]])
    second = record_start_lines("json", text)[1]
    lines = text.splitlines()
    lines[second - 2] = lines[second - 2].rstrip(",")  # drop the comma between records 1 and 2
    with pytest.warns(ElementSetWarning, match=r"1 of 1 records were bad"):
        catalog = parse_elements("\n".join(lines), source="cut.json")
    assert list(catalog) == []
    (error,) = catalog.errors
    assert str(error).splitlines()[0] == (
        f"cut.json, line {second}: the file is not valid JSON (Expecting ',' delimiter at column 2)")
    assert error.line_no == second


def test_malformed_xml_names_the_parsers_line_and_column(tle_sets: list[ElementSet]) -> None:
    text = render_xml([omm_fields(e) for e in tle_sets[:3]])
    bad_line = key_line("xml", text, 1, "INCLINATION")
    lines = text.splitlines()
    lines[bad_line - 1] = lines[bad_line - 1].replace("</INCLINATION>", "</INCLINATON>")
    (error,) = list(iter_omm_records("\n".join(lines), source="typo.xml", fmt="xml"))
    assert isinstance(error, ElementSetError)
    column = lines[bad_line - 1].index("INCLINATON>") + 1  # expat points at the end tag's name
    assert str(error).splitlines()[0] == (
        f"typo.xml, line {bad_line}: the file is not valid XML (mismatched tag at column {column})")


@pytest.mark.parametrize(("text", "first_line"), [
    ('"just a string"', "s.json, line 1: the file holds a JSON str, not OMM records"),
    ("[1, {}]", "s.json, line 1: record 1 is a JSON int, not an object of OMM keys"),
])
def test_json_that_is_not_omm_objects(text: str, first_line: str) -> None:
    first = next(iter_omm_records(text, source="s.json", fmt="json"))
    assert isinstance(first, ElementSetError)
    assert str(first).splitlines()[0] == first_line


def test_csv_header_without_a_required_column_is_one_error(tle_sets: list[ElementSet]) -> None:
    text = render_csv([without("BSTAR")(omm_fields(e)) for e in tle_sets])
    records = list(iter_omm_records(text, source="nob.csv", fmt="csv"))
    assert len(records) == 1 and isinstance(records[0], ElementSetError)
    assert str(records[0]).splitlines()[0] == (
        "nob.csv, line 1: the CSV header has no BSTAR column(s); no row can be read")


def test_csv_row_with_too_many_values(tle_sets: list[ElementSet]) -> None:
    lines = render_csv([omm_fields(e) for e in tle_sets[:2]]).splitlines()
    lines[2] += ",extra"
    good, bad = list(iter_omm_records("\n".join(lines), source="x.csv", fmt="csv"))
    assert good == tle_sets[0]
    assert isinstance(bad, ElementSetError)
    assert str(bad).splitlines()[0] == "x.csv, line 3: CSV row has 18 values but the header has 17 columns"


def test_kvn_structure_errors(tle_sets: list[ElementSet]) -> None:
    text = render_kvn([omm_fields(e) for e in tle_sets[:3]])
    lines = text.splitlines()
    _, second, third = record_start_lines("kvn", text)
    lines[second + 5] = "THIS LINE HAS NO EQUALS SIGN"
    bstar = key_line("kvn", text, 2, "BSTAR")
    lines.insert(bstar, lines[bstar - 1])  # BSTAR twice in record 3
    lines[0:0] = ["ORIGINATOR = nobody", "OBJECT_NAME = stray"]  # before any CCSDS_OMM_VERS
    records = list(iter_omm_records("\n".join(lines), source="s.kvn", fmt="kvn"))
    assert [type(r) for r in records] == [ElementSetError, ElementSet, ElementSetError, ElementSetError]
    assert [str(r).splitlines()[0] for r in records if isinstance(r, ElementSetError)] == [
        "s.kvn, line 1: lines 1-2 come before any CCSDS_OMM_VERS line and belong to no OMM",
        f"s.kvn, line {second + 8}: line is not 'KEY = value' or a COMMENT line, "
        "got 'THIS LINE HAS NO EQUALS SIGN'",
        f"s.kvn, line {bstar + 3}: BSTAR appears twice in the OMM that starts at line {third + 2} "
        f"(first at line {bstar + 2})",
    ]
    assert records[1] == tle_sets[0]


def test_unknown_omm_format_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown OMM format 'yaml'; expected one of json, csv, xml, kvn"):
        list(iter_omm_records("", fmt="yaml"))


def test_physics_of_a_mapping_is_checked_like_a_file(iss: ElementSet) -> None:
    fields: Mapping[str, str | float | int] = {**omm_fields(iss), "MEAN_MOTION": "nan"}
    with pytest.raises(ElementSetError) as info:
        elements_from_omm(fields, source="api")
    assert str(info.value).splitlines()[0] == (
        "api: NORAD 25544: MEAN_MOTION should be a number (rev/day), got 'nan'")


def test_an_omm_json_record_reads_back_as_the_same_elements() -> None:
    from groundshare.data import data_path
    from groundshare.orbits import elements_from_omm, load_elements, omm_json_record

    for original in load_elements(data_path("celestrak_cubesat_2025-11-06.tle")).elements[:20]:
        record = json.loads(json.dumps(omm_json_record(original)))
        assert list(record)[:3] == ["OBJECT_NAME", "OBJECT_ID", "EPOCH"]
        again = elements_from_omm(record, source="round trip")
        assert again.norad_id == original.norad_id and again.name == original.name
        assert abs((again.epoch - original.epoch).total_seconds()) < 1e-5
        for name in ("mean_motion_rev_day", "eccentricity", "inclination_deg", "raan_deg", "arg_perigee_deg",
                     "mean_anomaly_deg", "bstar"):
            assert getattr(again, name) == getattr(original, name), name
