"""Station files: the shipped demo network, and every error a station file can raise."""

from __future__ import annotations

from pathlib import Path

import pytest

from groundshare.data import data_path
from groundshare.errors import InvalidInputError
from groundshare.passes import HorizonMask, Site
from groundshare.stations import load_stations

DAEJEON = '[[station]]\nname = "daejeon"\nlat_deg = 36.3725\nlon_deg = 127.359\nalt_m = 80.0\n'
EXAMPLE = (
    '[[station]]\nname = "daejeon"\nlat_deg = 36.3725\nlon_deg = 127.359\nalt_m = 80.0\n'
    "min_elevation_deg = 5.0"
)


def write(tmp_path: Path, text: str, name: str = "net.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as info:
        load_stations(path)
    return info.value


def test_demo_network_loads_six_stations_with_the_mexico_city_mask():
    sites = load_stations(data_path("demo_stations.toml"))

    assert [s.name for s in sites] == ["daejeon", "jeju", "mexico-city", "chetumal", "cordoba", "cuiaba"]
    assert all(isinstance(s, Site) for s in sites)
    by_name = {s.name: s for s in sites}
    assert (by_name["daejeon"].lat_deg, by_name["daejeon"].lon_deg) == (36.3725, 127.359)
    assert by_name["daejeon"].min_elevation_deg == 5.0
    assert by_name["jeju"].min_elevation_deg == 5.0
    assert by_name["cordoba"].lat_deg < 0 and by_name["cordoba"].lon_deg < 0
    mexico = by_name["mexico-city"]
    assert mexico.alt_m == 2240.0
    assert isinstance(mexico.horizon_mask, HorizonMask) and mexico.has_mask
    # The volcanoes (Iztaccíhuatl, Popocatépetl) to the east and south-east raise the mask.
    east_se_deg = mexico.threshold_deg([110.0, 125.0]).min()
    west_deg = mexico.threshold_deg([270.0]).max()
    assert east_se_deg > west_deg + 5.0
    assert [s.name for s in sites if s.horizon_mask is not None] == ["mexico-city"]


def test_optional_keys_default_to_no_mask_and_zero_elevation(tmp_path):
    (site,) = load_stations(write(tmp_path, DAEJEON))

    assert site == Site("daejeon", lat_deg=36.3725, lon_deg=127.359, alt_m=80.0)
    assert site.min_elevation_deg == 0.0 and site.horizon_mask is None


def test_horizon_mask_pairs_become_a_horizon_mask(tmp_path):
    text = DAEJEON + "min_elevation_deg = 5.0\nhorizon_mask = [[0.0, 5.0], [90, 12.0], [180.0, 5]]\n"

    (site,) = load_stations(write(tmp_path, text))

    assert site.horizon_mask == HorizonMask([(0.0, 5.0), (90.0, 12.0), (180.0, 5.0)])


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"

    error = load_error(path)

    assert str(error) == f"station file {str(path)!r} does not exist"
    assert error.loc == ("file", str(path))


def test_folder_instead_of_file(tmp_path):
    assert str(load_error(tmp_path)) == f"station file {str(tmp_path)!r} is a folder; give a .toml file"


def test_not_utf8(tmp_path):
    path = tmp_path / "net.toml"
    path.write_bytes(b'name = "\xff"\n')

    assert str(load_error(path)) == f"{path} is not UTF-8 text (byte 8); station files are TOML text"


def test_toml_syntax_error_gives_line_and_column(tmp_path):
    path = write(tmp_path, DAEJEON.replace('"daejeon"', "daejeon"))

    assert str(load_error(path)) == (
        f"{path} is not valid TOML: Invalid value (at line 2, column 8)\n\n"
        "Check the quotes around strings and the '=' between each key and its value."
    )


def test_no_station_tables(tmp_path):
    path = write(tmp_path, "# an empty network\n")

    assert str(load_error(path)) == f"{path} has no [[station]] tables; each station looks like\n\n{EXAMPLE}"


def test_single_brackets(tmp_path):
    path = write(tmp_path, DAEJEON.replace("[[station]]", "[station]"))

    assert str(load_error(path)) == (
        f"{path}: 'station' is a single table; write [[station]] (double brackets) before each station"
    )


def test_unknown_top_level_key(tmp_path):
    path = write(tmp_path, 'stations = "all"\n' + DAEJEON)

    assert str(load_error(path)) == (
        f"{path}: unknown top-level key 'stations' (did you mean 'station'?); "
        "a station file holds only [[station]] tables"
    )


def test_station_that_is_not_a_table(tmp_path):
    path = write(tmp_path, "station = [1, 2]\n")

    assert str(load_error(path)) == f"{path}, station 1 is 1; expected a [[station]] table of keys"


def test_missing_required_key(tmp_path):
    path = write(tmp_path, DAEJEON.replace("alt_m = 80.0\n", ""))

    error = load_error(path)

    assert str(error) == (
        f"{path}, station 1 ('daejeon'): missing key 'alt_m'; "
        "expected a number of metres above the WGS84 ellipsoid, e.g. alt_m = 80.0"
    )
    assert error.loc == ("file", str(path), "station 1", "alt_m")


def test_unknown_key_suggests_the_closest_known_key(tmp_path):
    path = write(tmp_path, DAEJEON + "min_elevation = 5.0\n")

    assert str(load_error(path)) == (
        f"{path}, station 1 ('daejeon'): unknown key 'min_elevation' (did you mean 'min_elevation_deg'?); "
        "known keys are name, lat_deg, lon_deg, alt_m, min_elevation_deg, horizon_mask"
    )


def test_unknown_key_without_a_close_match(tmp_path):
    path = write(tmp_path, DAEJEON + 'antenna = "3.7 m"\n')

    assert str(load_error(path)) == (
        f"{path}, station 1 ('daejeon'): unknown key 'antenna'; "
        "known keys are name, lat_deg, lon_deg, alt_m, min_elevation_deg, horizon_mask"
    )


def test_station_is_named_by_position_and_name(tmp_path):
    jeju = DAEJEON.replace("daejeon", "jeju").replace("36.3725", "33.43")
    path = write(tmp_path, DAEJEON + jeju + "lat = 33.4\n")

    assert str(load_error(path)).startswith(
        f"{path}, station 2 ('jeju'): unknown key 'lat' (did you mean 'lat_deg'?)")


@pytest.mark.parametrize(("old", "new", "message"), [
    ("36.3725", '"36.3725"',
     "lat_deg is the string '36.3725'; expected a number of degrees north, -90 to 90, e.g. lat_deg = 36.3725"),
    ("80.0", "true",
     "alt_m is the boolean True; expected a number of metres above the WGS84 ellipsoid, e.g. alt_m = 80.0"),
    ("80.0", "nan",
     "alt_m is nan; expected a number of metres above the WGS84 ellipsoid, e.g. alt_m = 80.0"),
    ("127.359", "[127.359]",
     "lon_deg is the array [127.359]; expected a number of degrees east, -180 to 360 (west is negative), "
     "e.g. lon_deg = -99.13"),
])
def test_wrong_type(tmp_path, old, new, message):
    path = write(tmp_path, DAEJEON.replace(old, new))

    assert str(load_error(path)) == f"{path}, station 1 ('daejeon'): {message}"


def test_empty_name(tmp_path):
    path = write(tmp_path, DAEJEON.replace('"daejeon"', '""'))

    assert str(load_error(path)) == (
        f"{path}, station 1: name is ''; expected a non-empty string, e.g. name = \"daejeon\"")


@pytest.mark.parametrize(("extra", "message"), [
    ("horizon_mask = 5.0\n",
     "horizon_mask is 5.0; expected a list of [azimuth_deg, elevation_deg] pairs, e.g. [[0.0, 5.0], [90.0, 12.0]]"),
    ("horizon_mask = [[0.0, 5.0], [90.0]]\n",
     "horizon_mask point 1 is the array [90.0]; expected two numbers [azimuth_deg, elevation_deg], "
     "e.g. [90.0, 12.0]"),
    ('horizon_mask = [[0.0, "5"]]\n',
     "horizon_mask point 0 is the array [0.0, '5']; expected two numbers [azimuth_deg, elevation_deg], "
     "e.g. [90.0, 12.0]"),
])
def test_malformed_horizon_mask(tmp_path, extra, message):
    path = write(tmp_path, DAEJEON + extra)

    assert str(load_error(path)) == f"{path}, station 1 ('daejeon'): {message}"


@pytest.mark.parametrize(("old", "new", "message", "key"), [
    ("lat_deg = 36.3725", "lat_deg = 95.0", "lat_deg is 95.0; expected a number in [-90, 90]", "lat_deg"),
    ("alt_m = 80.0", "alt_m = 80.0\nmin_elevation_deg = 95",
     "min_elevation_deg is 95.0; expected a number in [-10, 89]", "min_elevation_deg"),
    ("alt_m = 80.0", "alt_m = 80.0\nhorizon_mask = [[0.0, 5.0], [400.0, 3.0]]",
     "horizon mask point 1: azimuth 400.0 deg is outside [0, 360)", "horizon_mask"),
])
def test_out_of_range_values_are_prefixed_with_file_and_station(tmp_path, old, new, message, key):
    path = write(tmp_path, DAEJEON.replace(old, new))

    error = load_error(path)

    assert str(error) == f"{path}, station 1 ('daejeon'): {message}"
    assert error.loc[:4] == ("file", str(path), "station 1", key)


def test_duplicate_names(tmp_path):
    path = write(tmp_path, DAEJEON + DAEJEON.replace("36.3725", "33.43"))

    error = load_error(path)

    assert str(error) == f"{path}: station 2 is named 'daejeon' like station 1; station names must be unique"
    assert error.loc == ("file", str(path), "station 2", "name")
