"""Loading element files: format detection and the errors for paths that are not element files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from groundshare.data import data_path
from groundshare.errors import InvalidInputError
from groundshare.orbits import ElementSet, ElementSetError, detect_format, load_elements, parse_elements

ISS_1 = "1 25544U 98067A   26150.51748228  .00011776  00000+0  21767-3 0  9998"
ISS_2 = "2 25544  51.6337  27.5746 0007245 114.7080 245.4664 15.49496548569014"
# The ISS set above as CelesTrak writes it in OMM CSV (keys and values copied from the TLE).
ISS_CSV = (
    "OBJECT_NAME,OBJECT_ID,EPOCH,MEAN_MOTION,ECCENTRICITY,INCLINATION,RA_OF_ASC_NODE,ARG_OF_PERICENTER,"
    "MEAN_ANOMALY,EPHEMERIS_TYPE,CLASSIFICATION_TYPE,NORAD_CAT_ID,ELEMENT_SET_NO,REV_AT_EPOCH,BSTAR,"
    "MEAN_MOTION_DOT,MEAN_MOTION_DDOT\n"
    "ISS (ZARYA),1998-067A,2026-05-30T12:25:10.468992,15.49496548,.0007245,51.6337,27.5746,114.708,"
    "245.4664,0,U,25544,999,56901,.21767E-3,.11776E-3,0\n"
)

SNIPPETS = {
    "tle": f"ISS (ZARYA)\n{ISS_1}\n{ISS_2}\n",
    "tle without names": f"{ISS_1}\n{ISS_2}\n",
    "json": '[{"OBJECT_NAME": "ISS (ZARYA)", "NORAD_CAT_ID": 25544}]',
    "json with BOM and blank lines": '\ufeff\n\n  {"OBJECT_NAME": "ISS (ZARYA)"}',
    "csv": ISS_CSV,
    "csv led by NORAD_CAT_ID": "NORAD_CAT_ID,OBJECT_NAME,EPOCH\n25544,ISS (ZARYA),2026-05-30T12:25:10\n",
    "xml": '<?xml version="1.0" encoding="UTF-8"?>\n<ndm><omm id="CCSDS_OMM_VERS" version="2.0"></omm></ndm>',
    "xml without declaration": "<ndm/>",
    "kvn": "CCSDS_OMM_VERS = 2.0\nOBJECT_NAME = ISS (ZARYA)\n",
    "kvn led by comments": "COMMENT generated for a test\nCOMMENT second line\nCCSDS_OMM_VERS = 2.0\n",
}


@pytest.mark.parametrize("case", list(SNIPPETS))
def test_detect_format(case: str) -> None:
    assert detect_format(SNIPPETS[case]) == case.split()[0]


def test_detect_format_of_a_shipped_file() -> None:
    assert detect_format(data_path("celestrak_cubesat_2025-11-06.tle").read_text()) == "tle"


def test_omm_csv_file_is_detected_and_read(tmp_path: Path) -> None:
    path = tmp_path / "iss.csv"
    path.write_text(ISS_CSV)
    (from_csv,) = load_elements(path)
    from_tle = load_elements_text(tmp_path, f"ISS (ZARYA)\n{ISS_1}\n{ISS_2}\n")
    # tle.py builds BSTAR as 21767 * 1e-5 * 10**-3, one ulp from float("0.21767e-3") that
    # the CSV holds, so that one field is compared to within float noise.
    assert abs(from_csv.bstar - from_tle.bstar) <= 1e-18
    assert replace(from_csv, bstar=from_tle.bstar) == from_tle
    assert from_csv.source == "iss.csv:2"


def load_elements_text(tmp_path: Path, text: str) -> ElementSet:
    path = tmp_path / "iss.tle"
    path.write_text(text)
    (elements,) = load_elements(path)
    return elements


def test_nonexistent_path(tmp_path: Path) -> None:
    path = tmp_path / "missing.tle"
    with pytest.raises(InvalidInputError) as info:
        load_elements(path)
    assert str(info.value) == f"element file {str(path)!r} does not exist"
    assert info.value.loc == ("file", str(path))


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as info:
        load_elements(tmp_path)
    assert str(info.value) == f"element file {str(tmp_path)!r} is a folder; give a file"


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "picture.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(ElementSetError) as info:
        load_elements(path)
    assert str(info.value) == "picture.png: is not UTF-8 text (byte 0); element files are text"
    assert info.value.source == "picture.png"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.tle"
    path.write_text("\n\n")
    with pytest.raises(ElementSetError, match=r"^empty\.tle: no element sets found \(read as TLE\)$"):
        load_elements(path)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"unknown element format 'yaml'; expected one of tle, "):
        parse_elements(SNIPPETS["tle"], fmt="yaml")  # type: ignore[arg-type]


def test_newest_keeps_one_set_per_norad_id() -> None:
    older = ISS_1.replace("26150.51748228", "26149.51748228")
    older = older[:68] + str((int(ISS_1[68]) + 8) % 10)  # digits "150" -> "149" add 8 to the sum
    catalog = parse_elements(f"{older}\n{ISS_2}\n{ISS_1}\n{ISS_2}\n")
    assert len(catalog) == 2
    (newest,) = catalog.newest()
    assert newest.epoch > catalog[0].epoch
    assert catalog.by_norad_id(25544) is newest
