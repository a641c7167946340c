"""ITU-R attenuation: official validation values, tables against direct itur calls, the cache, bad input.

Reference values: tests/link/data/itu_validation_reference.json, a copy of
shared/data/itu/itu_validation_reference.json.  Its Rev 5.1 sets come from ITU-R Study
Group 3's validation spreadsheet CG-3M3J-13-ValEx-Rev5_1.xlsx as extracted to CSV in
inigodelportillo/ITU-Rpy test/test_data/ (commit 6d7f35c3); the later-revision sets
come from the same repository with partly unverified provenance (see the file).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from groundshare.errors import InvalidInputError
from groundshare.link.atmosphere import AttenuationTable, ItuAtmosphere, attenuation_table, default_cache_dir
from groundshare.link.itu_attenuation import (
    COSMIC_BACKGROUND_K,
    MEAN_RADIATING_TEMPERATURE_K,
    atmospheric_attenuation_db,
    load_itur,
    sky_noise_temperature_k,
)

DATA = Path(__file__).parent / "data"
REFERENCE = json.loads((DATA / "itu_validation_reference.json").read_text())
SETS = REFERENCE["sets"]

# The reference file's suggested_tolerances: 0.02 dB is the tightest any implementation
# meets for the P.618-13 total (itur needs 0.0153 dB).
COMPONENTS_TOLERANCE_DB = REFERENCE["suggested_tolerances"]["components_dB"]       # 0.001 dB
TOTAL_TOLERANCE_DB = REFERENCE["suggested_tolerances"]["total_dB"]                 # 0.02 dB
RAIN_RATE_TOLERANCE_MM_H = REFERENCE["suggested_tolerances"]["rain_rate_mmh"]      # 0.03 mm/h
ONE_METRE_KM = 0.001                    # rain and isotherm heights
SPECIFIC_TOLERANCE_DB_KM = 0.001        # P.676 specific attenuation
TABLE_TOLERANCE_DB = 0.01               # an AttenuationTable against direct calls, A < 20 dB, el >= 5 deg


def _rows(set_name: str) -> list:
    rows = SETS[set_name]["rows"]
    return [pytest.param(row, id=f"{set_name}-{i}") for i, row in enumerate(rows)]


def _api(row: dict, *, alt_km: float | None = None, rain_rate_001_mm_h: float | None = None):
    """Return atmospheric_attenuation_db for a reference row (``p`` % -> availability 100 - p)."""
    return atmospheric_attenuation_db(
        row["lat"], row["lon"], 1000.0 * (row["hs"] if alt_km is None else alt_km), row["f"] * 1e9, row["el"],
        availability_percent=100.0 - row["p"], antenna_diameter_m=row.get("D", 1.0),
        antenna_efficiency=row.get("eta", 0.5), polarization_tilt_deg=row.get("tau", 45.0),
        rain_rate_001_mm_h=rain_rate_001_mm_h)


# ------------------------------------------------------------ ITU-R validation, Rev 5.1

_TOTAL_AT_1_PERCENT = {(r["lat"], r["lon"], r["f"], r["el"]): r
                       for r in SETS["p618_13_total_attenuation"]["rows"] if r["p"] == 1.0}
_SHEET_RAIN_RATE_MM_H = {(r["lat"], r["lon"]): r["R001"] for r in SETS["p618_13_rain_attenuation"]["rows"]}


@pytest.mark.parametrize("row", _rows("p618_13_total_attenuation"))
def test_p618_13_total_attenuation(row):
    a = _api(row)
    # With R0.01 from the P.837-7 map this sheet's rain, and so its total, is up to
    # 0.0153 dB off (New Delhi, 29 GHz, p = 0.001 %): the sheets took New Delhi's R0.01
    # as 63.619 mm/h, where the map (and the P.837-7 sheet) give 63.597 mm/h.  That is
    # what sets the 0.02 dB total tolerance.  With the rain sheet's R0.01 both agree to
    # 2.1e-4 dB.
    assert abs(a.total_db - row["A_total"]) <= TOTAL_TOLERANCE_DB
    assert abs(a.rain_db - row["A_rain"]) <= TOTAL_TOLERANCE_DB
    b = _api(row, rain_rate_001_mm_h=_SHEET_RAIN_RATE_MM_H[(row["lat"], row["lon"])])
    assert abs(b.total_db - row["A_total"]) <= COMPONENTS_TOLERANCE_DB
    assert abs(b.rain_db - row["A_rain"]) <= COMPONENTS_TOLERANCE_DB
    assert abs(a.scintillation_db - row["A_scin"]) <= COMPONENTS_TOLERANCE_DB
    # P.618-13 s.2.5 takes gases and clouds at max(p, 1) %, and so does the sheet's total;
    # its A_gas and A_clouds columns for p < 1 % show them at max(p, 0.1) % instead, so the
    # official value to compare with is the same path's p = 1 % row.
    at_1 = _TOTAL_AT_1_PERCENT[(row["lat"], row["lon"], row["f"], row["el"])]
    assert abs(a.gas_db - at_1["A_gas"]) <= COMPONENTS_TOLERANCE_DB
    assert abs(a.cloud_db - at_1["A_clouds"]) <= COMPONENTS_TOLERANCE_DB


@pytest.mark.parametrize("row", _rows("p618_13_rain_attenuation"))
def test_p618_13_rain_attenuation(row):
    a = _api(row, rain_rate_001_mm_h=row["R001"])
    assert abs(a.rain_db - row["A_rain"]) <= COMPONENTS_TOLERANCE_DB


@pytest.mark.parametrize("row", _rows("p618_13_scintillation") + _rows("p618_14_scintillation"))
def test_p618_scintillation(row):
    # Scintillation does not depend on the station height here (itur takes the wet
    # refractivity from the P.453 map), and these rows give none.  The P.618-14 rows
    # come out the same: section 2.4.1 did not change for them.
    assert abs(_api(row, alt_km=0.0).scintillation_db - row["A_scin"]) <= COMPONENTS_TOLERANCE_DB


@pytest.mark.parametrize("row", _rows("p840_8_cloud_attenuation"))
def test_p840_8_cloud_attenuation(row):
    if row["p"] >= 1.0:
        cloud_db = _api(row, alt_km=0.0).cloud_db
    else:
        # Our API takes clouds at max(p, 1) % (P.618-13 s.2.5), so rows below 1 % call
        # itur directly, with the versions this module pins.
        itur = load_itur()
        cloud_db = itur.cloud_attenuation(row["lat"], row["lon"], row["el"], row["f"], row["p"]).value
    assert abs(cloud_db - row["Ac"]) <= COMPONENTS_TOLERANCE_DB


@pytest.mark.parametrize("row", _rows("p676_12_slant_path_gas"))
def test_p676_12_slant_path_gas(row):
    # These rows give the meteorology (rho, T, P, V_t) instead of a place, which our API
    # derives from maps, so itur is called directly here; the gas our API returns is
    # checked in test_p618_13_total_attenuation.
    itur = load_itur()
    gas = itur.gaseous_attenuation_slant_path(row["f"], row["el"], row["rho"], row["P"], row["T"],
                                              V_t=row["V_t"], h=row["h"])
    assert abs(gas.value - row["A_gas"]) <= COMPONENTS_TOLERANCE_DB


def test_p676_12_specific_attenuation():
    # Annex 1 line by line, which the slant-path method above builds on; itur directly.
    from itur.models import itu676

    load_itur()
    rows = SETS["p676_12_specific_attenuation"]["rows"]
    f, p, t, rho = (np.array([r[k] for r in rows]) for k in ("f", "P", "T", "rho"))
    gamma0 = np.array([itu676.gamma0_exact(*args).value for args in zip(f, p, rho, t, strict=True)])
    gammaw = np.array([itu676.gammaw_exact(*args).value for args in zip(f, p, rho, t, strict=True)])
    assert np.abs(gamma0 - [r["gamma0"] for r in rows]).max() <= SPECIFIC_TOLERANCE_DB_KM
    assert np.abs(gammaw - [r["gammaw"] for r in rows]).max() <= SPECIFIC_TOLERANCE_DB_KM


@pytest.mark.parametrize("row", _rows("p837_7_R001"))
def test_p837_7_rain_rate(row):
    # R0.01 is internal to our API, so itur directly.
    from itur.models import itu837

    load_itur()
    assert abs(itu837.rainfall_rate(row["lat"], row["lon"], row["p"]).value - row["Rp"]) <= RAIN_RATE_TOLERANCE_MM_H


@pytest.mark.parametrize("row", _rows("p839_4_rain_height"))
def test_p839_4_rain_height(row):
    # The rain height is internal to our API, so itur directly.
    from itur.models import itu839

    load_itur()
    assert abs(itu839.rain_height(row["lat"], row["lon"]).value - row["hr"]) <= ONE_METRE_KM
    assert abs(itu839.isoterm_0(row["lat"], row["lon"]).value - row["h0"]) <= ONE_METRE_KM


# Later revisions that itur 0.4.0 does not implement (its newest are P.676-12 and P.840-8):
# run through them it is 0.09 dB off the P.676-13 rows and 0.73 dB off the P.840-9 rows.
# ITU-Rpy's unreleased master adds both (upstream issue #109, PR #114).
@pytest.mark.skip(reason="itur 0.4.0 implements P.676 up to -12 and P.840 up to -8, not -13 and -9")
@pytest.mark.parametrize("set_name", ["p676_13_slant_path_gas", "p840_9_cloud_attenuation"])
def test_later_revisions(set_name):
    raise AssertionError("unreachable")


# --------------------------------------------------------- tables against direct calls

TABLE_CASES = [
    # station, lat_deg, lon_deg, alt_m, freq_hz, availability_percent
    ("daejeon", 36.3725, 127.359, 80.0, 437e6, 99.9),
    ("daejeon", 36.3725, 127.359, 80.0, 2.2e9, 99.9),
    ("daejeon", 36.3725, 127.359, 80.0, 8.2e9, 99.99),
    ("daejeon", 36.3725, 127.359, 80.0, 26e9, 99.0),   # at 99.9 % P.618 rain is ~20 dB even at the zenith
    ("mexico-city", 19.43, -99.13, 2240.0, 8.2e9, 99.9),
    ("mexico-city", 19.43, -99.13, 2240.0, 26e9, 99.5),
    ("cordoba", -31.52, -64.46, 730.0, 2.2e9, 99.9),
    ("cordoba", -31.52, -64.46, 730.0, 8.2e9, 99.9),
]


@pytest.fixture(scope="module", params=TABLE_CASES, ids=[f"{c[0]}-{c[4] / 1e9:g}GHz-{c[5]:g}%" for c in TABLE_CASES])
def table_case(request):
    _, lat, lon, alt, freq, availability = request.param
    table = AttenuationTable.build(lat, lon, alt, freq, availability_percent=availability)
    return table, (lat, lon, alt, freq), availability


def test_table_matches_direct_itur_calls(table_case):
    table, station, availability = table_case
    rng = np.random.default_rng(2024)
    # Random elevations, plus the zenith and both sides of the breakpoints at 5 and 25 degrees.
    el_deg = np.concatenate([rng.uniform(5.0, 90.0, 400), [5.0, 25.0, np.nextafter(25.0, 90.0), 89.999, 90.0]])
    direct = atmospheric_attenuation_db(*station, el_deg, availability_percent=availability)
    interpolated = table.components_db(el_deg)
    checked = direct.total_db < 20.0
    assert checked.sum() >= 40          # not vacuous
    for name, want, got in zip(direct._fields, direct, interpolated, strict=True):
        assert np.abs(got - want)[checked].max() <= TABLE_TOLERANCE_DB, name
    assert np.array_equal(table.attenuation_db(el_deg), interpolated.total_db)


def test_table_is_as_close_below_5_degrees(table_case):
    # itur's values there are pessimistic (flat-Earth gas and cloud paths), but the table
    # reproduces them as well as above.
    table, station, availability = table_case
    el_deg = np.random.default_rng(7).uniform(table.el_min_deg, 5.0, 100)
    direct = atmospheric_attenuation_db(*station, el_deg, availability_percent=availability).total_db
    checked = direct < 20.0
    assert np.all(np.abs(table.attenuation_db(el_deg) - direct)[checked] <= TABLE_TOLERANCE_DB)


def test_table_shapes_and_scalars(table_case):
    table = table_case[0]
    el_deg = np.array([[10.0, 20.0, 30.0], [40.0, 60.0, 90.0]])
    assert table.attenuation_db(el_deg).shape == (2, 3)
    assert table.sky_noise_temperature_k(el_deg).shape == (2, 3)
    assert isinstance(table.attenuation_db(30.0), float)
    assert table.components_db(30.0).total_db == table.attenuation_db(np.array([30.0]))[0]
    # Lower is worse: more air, more loss and more sky noise.  (Not up to the zenith: P.618's
    # rain grows again there, as its horizontal reduction factor goes to 1.)
    el_deg = np.linspace(5.0, 45.0, 50)
    assert np.all(np.diff(table.attenuation_db(el_deg)) < 0)
    assert np.all(np.diff(table.sky_noise_temperature_k(el_deg)) < 0)


def test_sky_noise_temperature():
    assert sky_noise_temperature_k(0.0) == pytest.approx(COSMIC_BACKGROUND_K, abs=1e-12)
    assert sky_noise_temperature_k(200.0) == pytest.approx(MEAN_RADIATING_TEMPERATURE_K, abs=1e-12)
    # 3 dB halves the cosmic background and lets the air radiate at half of T_mr.
    half = 10.0 ** -0.3
    assert sky_noise_temperature_k(3.0) == pytest.approx(275.0 * (1 - half) + 2.7 * half, abs=1e-12)
    table = AttenuationTable.build(36.3725, 127.359, 80.0, 8.2e9, availability_percent=99.9)
    c = table.components_db(np.array([10.0, 45.0]))
    # P.618 s.3: the attenuation without scintillation.
    assert table.sky_noise_temperature_k(np.array([10.0, 45.0])) == pytest.approx(
        sky_noise_temperature_k(c.gas_db + c.cloud_db + c.rain_db), abs=1e-12)


def test_itu_atmosphere_returns_the_p618_total_split_into_rain_and_the_rest(tmp_path):
    from groundshare.link.parameters import SitePosition

    model = ItuAtmosphere(cache_dir=tmp_path)
    el_deg = np.array([5.0, 30.0, 90.0])
    other, rain = model(SitePosition(-31.52, -64.46, 730.0), frequency_hz=8.2e9, elevation_deg=el_deg,
                        availability_percent=99.9)
    direct = atmospheric_attenuation_db(-31.52, -64.46, 730.0, 8.2e9, el_deg, availability_percent=99.9)
    assert other + rain == pytest.approx(direct.total_db, abs=TABLE_TOLERANCE_DB)
    assert rain == pytest.approx(direct.rain_db, abs=TABLE_TOLERANCE_DB)


# ------------------------------------------------------------------------- disk cache

DAEJEON_S_BAND = (36.3725, 127.359, 80.0, 2.2e9)


def _cache_files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def test_cache_writes_one_npz_and_loads_it_unchanged(tmp_path):
    built = attenuation_table(*DAEJEON_S_BAND, availability_percent=99.9, cache_dir=tmp_path)
    files = _cache_files(tmp_path)
    assert len(files) == 1 and files[0].suffix == ".npz"     # no temporary file left behind
    assert files[0].name == f"atmosphere-{built.cache_key[:32]}.npz"
    before = files[0].stat()
    loaded = attenuation_table(*DAEJEON_S_BAND, availability_percent=99.9, cache_dir=tmp_path)
    after = files[0].stat()
    # Loaded, not rebuilt: a rebuild would have replaced the file (new inode and mtime).
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert loaded is not built
    assert np.array_equal(loaded.el_grid_deg, built.el_grid_deg)
    assert np.array_equal(loaded.components_grid_db, built.components_grid_db)
    assert loaded.cache_key == built.cache_key
    el_deg = np.linspace(1.0, 90.0, 301)
    assert np.array_equal(loaded.attenuation_db(el_deg), built.attenuation_db(el_deg))
    assert np.array_equal(AttenuationTable.from_npz(files[0]).components_grid_db, built.components_grid_db)


def test_cache_key_covers_every_input(tmp_path):
    base = {"availability_percent": 99.9, "cache_dir": tmp_path}
    attenuation_table(*DAEJEON_S_BAND, **base)
    attenuation_table(*DAEJEON_S_BAND, **{**base, "availability_percent": 99.0})
    attenuation_table(*DAEJEON_S_BAND, **{**base, "antenna_diameter_m": 1.0})
    attenuation_table(*DAEJEON_S_BAND, **{**base, "el_min_deg": 2.0})
    # -99.13 and 260.87 degrees east are the same place, hence the same table.
    attenuation_table(19.43, -99.13, 2240.0, 2.2e9, **base)
    attenuation_table(19.43, 260.87, 2240.0, 2.2e9, **base)
    assert len(_cache_files(tmp_path)) == 5


@pytest.mark.parametrize("damage", ["garbage", "empty", "truncated", "other-table"])
def test_a_damaged_cache_file_is_rebuilt(tmp_path, damage):
    good = attenuation_table(*DAEJEON_S_BAND, availability_percent=99.9, cache_dir=tmp_path)
    (path,) = _cache_files(tmp_path)
    if damage == "garbage":
        path.write_bytes(b"not a table \x00\xff" * 10)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    else:   # a readable table, but for other inputs, under this name
        AttenuationTable.build(*DAEJEON_S_BAND, availability_percent=99.0).save_npz(path)
    rebuilt = attenuation_table(*DAEJEON_S_BAND, availability_percent=99.9, cache_dir=tmp_path)
    assert np.array_equal(rebuilt.components_grid_db, good.components_grid_db)
    assert np.array_equal(AttenuationTable.from_npz(path).components_grid_db, good.components_grid_db)


def test_an_unwritable_cache_warns_and_still_returns_the_table(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.warns(RuntimeWarning, match="could not write the attenuation table cache"):
        table = attenuation_table(*DAEJEON_S_BAND, availability_percent=99.9, cache_dir=blocker / "cache")
    assert table.attenuation_db(45.0) > 0.0


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("GROUNDSHARE_CACHE_DIR", str(tmp_path / "gs"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "gs" / "atmosphere"
    monkeypatch.delenv("GROUNDSHARE_CACHE_DIR")
    assert default_cache_dir() == tmp_path / "xdg" / "groundshare" / "atmosphere"
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "groundshare" / "atmosphere"


def test_works_without_a_network(tmp_path):
    # In a fresh interpreter (itur loads its maps lazily), with every socket refused.
    script = (
        "import socket\n"
        "def refuse(*args, **kwargs):\n"
        "    raise OSError('network access attempted')\n"
        "socket.socket.connect = socket.socket.connect_ex = socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from groundshare.link.atmosphere import attenuation_table\n"
        "table = attenuation_table(-31.52, -64.46, 730.0, 8.2e9, availability_percent=99.9,\n"
        f"                         cache_dir={str(tmp_path)!r})\n"
        "print(round(table.attenuation_db(30.0), 3))\n"
    )
    env = {**os.environ, "PYTHONWARNINGS": "error::ResourceWarning"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) > 0.0


# ------------------------------------------------------------------------- bad inputs

GOOD = {"lat_deg": 36.3725, "lon_deg": 127.359, "alt_m": 80.0, "freq_hz": 8.2e9, "el_deg": 30.0,
        "availability_percent": 99.9}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"freq_hz": 0.0}, "freq_hz is 0.0; expected a number in [1e8, 5.5e10] Hz (0.1 to 55 GHz)"),
        ({"freq_hz": -8.2e9}, "freq_hz is -8200000000.0; expected a number in [1e8, 5.5e10] Hz (0.1 to 55 GHz)"),
        ({"freq_hz": 60e9}, "freq_hz is 60000000000.0; expected a number in [1e8, 5.5e10] Hz (0.1 to 55 GHz)"),
        ({"freq_hz": float("nan")}, "freq_hz is nan; expected a number in [1e8, 5.5e10] Hz (0.1 to 55 GHz)"),
        ({"el_deg": 0.0}, "el_deg is 0.0; expected an elevation in (0, 90] deg"),
        ({"el_deg": 90.5}, "el_deg is 90.5; expected an elevation in (0, 90] deg"),
        ({"el_deg": float("nan")}, "el_deg is nan; expected an elevation in (0, 90] deg"),
        ({"el_deg": np.array([10.0, -1.0, 95.0])},
         "el_deg has 2 of 3 values outside (0, 90] deg, e.g. -1.0 at index 1"),
        ({"availability_percent": 100.0}, "availability_percent is 100.0; expected a number in [50, 99.999] %"),
        ({"availability_percent": 0.0}, "availability_percent is 0.0; expected a number in [50, 99.999] %"),
        ({"availability_percent": float("nan")}, "availability_percent is nan; expected a number in [50, 99.999] %"),
        ({"lat_deg": 91.0}, "lat_deg is 91.0; expected a number in [-90, 90] deg"),
        ({"alt_m": float("inf")}, "alt_m is inf; expected a number in [-500, 10000] m"),
    ],
)
def test_bad_inputs_name_the_argument_and_the_range(change, message):
    kwargs = {**GOOD, **change}
    with pytest.raises(InvalidInputError) as info:
        atmospheric_attenuation_db(kwargs.pop("lat_deg"), kwargs.pop("lon_deg"), kwargs.pop("alt_m"),
                                   kwargs.pop("freq_hz"), kwargs.pop("el_deg"), **kwargs)
    assert str(info.value).splitlines()[0] == message
    assert info.value.loc == (next(iter(change)),)


def test_bad_input_messages_say_what_to_do():
    with pytest.raises(InvalidInputError) as info:
        atmospheric_attenuation_db(0.0, 0.0, 0.0, 8.2, 30.0, availability_percent=99.9)
    assert str(info.value) == (
        "freq_hz is 8.2; expected a number in [1e8, 5.5e10] Hz (0.1 to 55 GHz)\n\n"
        "Is it in GHz or MHz? Give the carrier in hertz: 8.2e9 for 8.2 GHz, 437e6 for 437 MHz. "
        "ITU-R P.618 covers up to 55 GHz.")
    with pytest.raises(InvalidInputError, match=r"antenna_efficiency is 55; expected a number in \(0, 1\]"):
        atmospheric_attenuation_db(0.0, 0.0, 0.0, 8.2e9, 30.0, availability_percent=99.9, antenna_efficiency=55)


def test_table_refuses_elevations_below_its_grid():
    table = AttenuationTable.build(-31.52, -64.46, 730.0, 2.2e9, availability_percent=99.9, el_min_deg=2.0)
    with pytest.raises(InvalidInputError) as info:
        table.attenuation_db(np.array([1.0, 45.0]))
    assert str(info.value) == (
        "el_deg has 1 of 2 values outside [2, 90] deg, e.g. 1.0 at index 0\n\n"
        "Build the table with a lower el_min_deg, or leave out (or clamp) the samples below it.")
    with pytest.raises(InvalidInputError, match=r"^el_min_deg is 0; expected a number in \[0.1, 5\] deg"):
        attenuation_table(*DAEJEON_S_BAND, availability_percent=99.9, el_min_deg=0)
