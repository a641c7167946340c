"""Link budgets: OreSat1's published UHF downlink value by value, the vectorised
functions on arrays, the other receiver and link forms, and ``groundshare link budget``.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from groundshare.cli import app
from groundshare.errors import InvalidInputError
from groundshare.link import (
    BOLTZMANN_DBW_K_HZ,
    LinkBudget,
    NoiseModel,
    SitePosition,
    cn0_dbhz,
    ebn0_db,
    eirp_dbw,
    esn0_db,
    free_space_loss_db,
    g_over_t_dbk,
    link_budget,
    load_link_config,
    margin_db,
    parse_link_config,
    slant_range_km,
    system_noise_temperature_k,
)
from groundshare.link.budget import LINK_EARTH_RADIUS_KM
from groundshare.link.volume import DVB_S2

DATA = Path(__file__).parent / "data"
ORESAT1 = DATA / "oresat1_uhf_downlink.toml"
ACM = DATA / "acm_xband_downlink.toml"

# OreSat1's UHF downlink at 10 degrees elevation, from the AMSAT-IARU link model v2.5.5 sheet
# OreSat1_link_model_v2.5.5a_eng_primary (github.com/oresat/oresat-c3-rf, link-models/),
# "System Performance Summary" and "Receivers" sheets, as printed there (3 decimals).
SHEET = {
    "slant_range_km": 1454.434,
    "path_loss_db": 148.517,
    "eirp_dbw": 0.576,
    "system_noise_temperature_k": 526.82,
    "g_over_t_dbk": -11.893,
    "cn0_dbhz": 65.496,
    "ebn0_db": 15.673,
    "margin_db": 4.773,
}
# The sheet's path loss is 22.0 + 20 log10(d / lambda): it rounds 20 log10(4 pi) up to 22.0.
SHEET_PATH_LOSS_EXCESS_DB = 22.0 - 20.0 * np.log10(4.0 * np.pi)   # 0.0161 dB
BUDGET_KEYS = ["slant_range_km", "path_loss_db", "eirp_dbw", "system_noise_temperature_k", "g_over_t_dbk",
               "cn0_dbhz", "ebn0_db", "margin_db"]

two_hundredths_db = 0.02
tenth_kelvin_k = 0.1
ten_meters_km = 0.010
sheet_rounding_db = 0.001          # the sheet prints 3 decimals


@pytest.fixture(scope="module")
def oresat1() -> LinkBudget:
    return link_budget(load_link_config(ORESAT1))


# The worked example, value by value.


def test_oresat1_slant_range(oresat1):
    assert abs(oresat1.slant_range_km - SHEET["slant_range_km"]) <= ten_meters_km


def test_oresat1_path_loss_is_exact_and_the_sheet_rounds_4_pi_up(oresat1):
    assert abs(oresat1.path_loss_db - SHEET["path_loss_db"]) <= two_hundredths_db
    # Ours is the exact 20 log10(4 pi d f / c); the sheet's 0.016 dB more is its rounding alone.
    assert abs(oresat1.path_loss_db + SHEET_PATH_LOSS_EXCESS_DB - SHEET["path_loss_db"]) <= sheet_rounding_db


def test_oresat1_eirp(oresat1):
    assert abs(oresat1.eirp_dbw - SHEET["eirp_dbw"]) <= two_hundredths_db


def test_oresat1_system_noise_temperature(oresat1):
    assert abs(oresat1.system_noise_temperature_k - SHEET["system_noise_temperature_k"]) <= tenth_kelvin_k


def test_oresat1_g_over_t(oresat1):
    assert abs(oresat1.g_over_t_dbk - SHEET["g_over_t_dbk"]) <= two_hundredths_db


@pytest.mark.parametrize("key", ["cn0_dbhz", "ebn0_db", "margin_db"])
def test_oresat1_cn0_ebn0_and_margin(oresat1, key):
    value = getattr(oresat1, key)
    assert abs(value - SHEET[key]) <= two_hundredths_db
    # With the sheet's path-loss rounding, everything else agrees to its printed digits.
    assert abs(value - SHEET_PATH_LOSS_EXCESS_DB - SHEET[key]) <= sheet_rounding_db


def test_oresat1_budget_adds_up(oresat1):
    losses_db = 1.4 + 0.31397 + 0.05744 + 1.1 + 0.4 + 0.0    # pointing (both ends), polarization, atm., iono., rain
    assert oresat1.cn0_dbhz == pytest.approx(oresat1.eirp_dbw - oresat1.path_loss_db - losses_db
                                             + oresat1.g_over_t_dbk + 228.6, abs=1e-12)
    assert oresat1.ebn0_db == pytest.approx(oresat1.cn0_dbhz - 10.0 * np.log10(96_000.0), abs=1e-12)
    assert oresat1.margin_db == pytest.approx(oresat1.ebn0_db - 10.4 - 0.5, abs=1e-12)


def test_friis_cascade_terms():
    # Sky noise through the 0.1759 dB feed line at 290 K, then the LNA, then the receiver
    # chain seen through the cable: 480.16 + 11.51 + 28 + 7.16 K.
    feed = 10 ** (0.1759 / 10)
    expected_k = 500.0 / feed + 290.0 * (1 - 1 / feed) + 28.0 + 10 ** (0.626934 / 10) * 1556.707 / 10 ** 2.4
    got = system_noise_temperature_k(500.0, line_loss_to_lna_db=0.1759, feedline_temperature_k=290.0,
                                     lna_temperature_k=28.0, lna_gain_db=24.0, cable_after_lna_db=0.626934,
                                     receiver_temperature_k=1556.707)
    assert got == pytest.approx(expected_k, abs=1e-9)
    # Counting a 290 K cable's own noise in receiver_temperature_k gives 0.18 K more.
    cable = 10 ** (0.626934 / 10)
    with_cable = system_noise_temperature_k(500.0, line_loss_to_lna_db=0.1759, lna_temperature_k=28.0,
                                            lna_gain_db=24.0, cable_after_lna_db=0.626934,
                                            receiver_temperature_k=1556.707 + 290.0 * (1 - 1 / cable))
    assert with_cable - got == pytest.approx(290.0 * (cable - 1) / 10 ** 2.4, abs=1e-9)
    assert abs(with_cable - 527.00) <= tenth_kelvin_k
    # Without losses the cascade is sky + LNA + receiver / gain.
    assert system_noise_temperature_k(100.0, lna_temperature_k=50.0, lna_gain_db=20.0,
                                      receiver_temperature_k=1000.0) == pytest.approx(160.0)


# The vectorised functions.


def test_slant_range_edge_cases():
    assert slant_range_km(405.5, 90.0) == pytest.approx(405.5, abs=1e-9)
    assert slant_range_km(35_786.0, 90.0) == pytest.approx(35_786.0, abs=1e-9)
    assert slant_range_km(0.0, 90.0) == pytest.approx(0.0, abs=1e-9)
    horizon_km = np.sqrt((LINK_EARTH_RADIUS_KM + 405.5) ** 2 - LINK_EARTH_RADIUS_KM ** 2)
    assert slant_range_km(405.5, 0.0) == pytest.approx(horizon_km, abs=1e-9)
    ranges_km = slant_range_km(405.5, np.linspace(0.0, 90.0, 91))
    assert ranges_km.shape == (91,)
    assert np.all(np.diff(ranges_km) < 0)


def test_functions_broadcast_over_arrays_and_match_scalars():
    el_deg = np.array([5.0, 10.0, 45.0, 90.0])
    alt_km = np.array([[400.0], [800.0]])                         # (2, 1) x (4,) -> (2, 4)
    ranges_km = slant_range_km(alt_km, el_deg)
    assert ranges_km.shape == (2, 4)
    assert ranges_km[1, 2] == pytest.approx(slant_range_km(800.0, 45.0))
    loss_db = free_space_loss_db(ranges_km, 436.5e6)
    assert loss_db.shape == (2, 4)
    assert loss_db[0, 1] == pytest.approx(free_space_loss_db(float(ranges_km[0, 1]), 436.5e6))
    # Doubling the distance or the frequency costs 20 log10(2) = 6.02 dB.
    assert free_space_loss_db(2000.0, 1e9) - free_space_loss_db(1000.0, 1e9) == pytest.approx(6.0206, abs=1e-4)
    assert free_space_loss_db(1000.0, 2e9) - free_space_loss_db(1000.0, 1e9) == pytest.approx(6.0206, abs=1e-4)
    assert eirp_dbw(np.array([1.0, 10.0]), 1.0, 3.0) == pytest.approx([2.0, 12.0])
    sky_k = np.array([50.0, 500.0])
    tsys_k = system_noise_temperature_k(sky_k, lna_temperature_k=28.0, lna_gain_db=24.0,
                                        receiver_temperature_k=1556.707)
    assert tsys_k.shape == (2,) and tsys_k[1] - tsys_k[0] == pytest.approx(450.0)
    gt_dbk = g_over_t_dbk(15.5, 0.1759, tsys_k)
    assert gt_dbk == pytest.approx(15.5 - 0.1759 - 10 * np.log10(tsys_k))
    cn0 = cn0_dbhz(0.576, loss_db, 3.0, -11.9)
    assert cn0.shape == (2, 4)
    assert cn0[0, 0] == pytest.approx(0.576 - loss_db[0, 0] - 3.0 - 11.9 - BOLTZMANN_DBW_K_HZ)
    assert ebn0_db(cn0, 96_000.0) == pytest.approx(cn0 - 49.8227, abs=1e-4)
    assert esn0_db(cn0, 1e6) == pytest.approx(cn0 - 60.0)
    assert margin_db(np.array([12.0, 9.0]), 10.4, 0.5) == pytest.approx([1.1, -1.9])


def test_link_budget_along_a_pass_gives_arrays():
    config = load_link_config(ORESAT1)
    el_deg = np.array([10.0, 30.0, 90.0])
    budget = link_budget(config, elevation_deg=el_deg)
    assert budget.slant_range_km.shape == (3,)
    assert budget.slant_range_km[0] == pytest.approx(SHEET["slant_range_km"], abs=ten_meters_km)
    assert budget.slant_range_km[2] == pytest.approx(405.5)
    assert np.all(np.diff(budget.margin_db) > 0)
    assert isinstance(budget.eirp_dbw, float)
    data = budget.to_dict()
    assert data["slant_range_km"] == pytest.approx(budget.slant_range_km.tolist())
    json.dumps(data)


# The other receiver and link forms.


def test_receiver_given_by_g_over_t(oresat1):
    before, after = ORESAT1.read_text().split("[receiver]")
    text = before + "[receiver]\npointing_loss_db = 0.31397\ng_over_t_dbk = -11.89255729506022\n\n[path]" + (
        after.split("[path]")[1])
    g_config = parse_link_config(tomllib.loads(text))
    assert g_config.receiver.noise_model is NoiseModel.g_over_t
    budget = link_budget(g_config)
    assert budget.system_noise_temperature_k is None
    assert budget.margin_db == pytest.approx(oresat1.margin_db, abs=1e-9)
    assert budget.to_dict()["system_noise_temperature_k"] is None
    assert load_link_config(ORESAT1).receiver.noise_model is NoiseModel.friis_cascade


def test_receiver_given_by_system_temperature_and_transmitter_by_eirp(oresat1):
    text = ORESAT1.read_text()
    for old, new in [("power_w = 1.0\nline_loss_db = 0.82356\nantenna_gain_dbi = 1.4\n", "eirp_dbw = 0.57644\n"),
                     ("sky_temperature_k = 500.0\nfeedline_temperature_k = 290.0\nlna_temperature_k = 28.0\n"
                      "lna_gain_db = 24.0\ncable_after_lna_db = 0.626934\nreceiver_temperature_k = 1556.707\n",
                      f"system_noise_temperature_k = {oresat1.system_noise_temperature_k!r}\n")]:
        assert old in text
        text = text.replace(old, new)
    simple = parse_link_config(tomllib.loads(text))
    assert simple.receiver.noise_model is NoiseModel.system_temperature
    assert simple.transmitter.power_w is None and simple.transmitter.eirp_dbw == 0.57644
    assert link_budget(simple).to_dict() == pytest.approx(oresat1.to_dict(), abs=1e-9)


def test_g_over_t_table_is_interpolated_over_elevation_and_clamped():
    config = load_link_config(ACM)                     # table (5, 21.0), (20, 22.5), (90, 23.0)
    assert link_budget(config).g_over_t_dbk == pytest.approx(22.5 + 0.5 * 10 / 70)       # 30 degrees
    budget = link_budget(config, elevation_deg=np.array([0.0, 5.0, 12.5, 90.0]))
    assert budget.g_over_t_dbk == pytest.approx([21.0, 21.0, 21.75, 23.0])


def test_acm_budget_is_against_the_most_robust_configured_modcod():
    config = load_link_config(ACM)
    budget = link_budget(config)
    qpsk_half = DVB_S2["QPSK 1/2"]                     # the lowest Es/N0 of the four configured
    assert budget.esn0_db == pytest.approx(budget.cn0_dbhz - 70.0)                         # 10 Mbaud
    assert budget.ebn0_db == pytest.approx(budget.esn0_db - 10 * np.log10(qpsk_half.efficiency()))
    assert budget.margin_db == pytest.approx(budget.esn0_db - qpsk_half.required_esn0_db - 1.0 - 1.0)
    assert list(budget.to_dict()) == [*BUDGET_KEYS, "esn0_db"]


def test_keywords_override_the_file(oresat1):
    config = load_link_config(ORESAT1)
    farther = link_budget(config, range_km=2 * oresat1.slant_range_km)
    assert oresat1.margin_db - farther.margin_db == pytest.approx(20 * np.log10(2))
    wetter = link_budget(config, atmospheric_loss_db=2.1, rain_loss_db=0.5)
    assert oresat1.margin_db - wetter.margin_db == pytest.approx(1.5)
    hotter = link_budget(config, sky_temperature_k=600.0)
    feed = 10 ** (0.1759 / 10)
    assert hotter.system_noise_temperature_k - oresat1.system_noise_temperature_k == pytest.approx(100.0 / feed)


def test_sky_temperature_needs_a_friis_cascade_receiver():
    with pytest.raises(InvalidInputError) as info:
        link_budget(load_link_config(ACM), sky_temperature_k=100.0)
    assert str(info.value) == (
        f"{ACM}, [receiver] sky_temperature_k was given to the budget, but [receiver] states its noise as a G/T; "
        "give the Friis cascade (sky_temperature_k, lna_temperature_k, lna_gain_db, receiver_temperature_k) to let "
        "the sky temperature change")


def without_weather(*, site: bool) -> str:
    """Return the OreSat1 example's text without atmospheric and rain losses, with or without a [site]."""
    text = ORESAT1.read_text().replace("atmospheric_loss_db = 1.1\n", "").replace("rain_loss_db = 0.0\n", "")
    if site:
        text += "\n[site]\nlat_deg = 45.5118\nlon_deg = -122.6847\nalt_m = 50.0\n"
    return text


def test_losses_left_out_come_from_the_atmosphere_model_at_the_site(oresat1):
    config = parse_link_config(tomllib.loads(without_weather(site=True)), source="wx.toml")
    calls = []

    def atmosphere(site, *, frequency_hz, elevation_deg, availability_percent):
        calls.append((site, frequency_hz, elevation_deg, availability_percent))
        return 1.1, 0.0

    assert link_budget(config, atmosphere=atmosphere).margin_db == pytest.approx(oresat1.margin_db)
    assert calls == [(SitePosition(45.5118, -122.6847, 50.0), 436.5e6, 10.0, 99.5)]
    with pytest.raises(InvalidInputError) as info:
        link_budget(config)
    assert str(info.value) == (
        "wx.toml, [path] atmospheric_loss_db and rain_loss_db are not given, and no ITU-R atmosphere model is "
        "available here to compute them for the [site]; give atmospheric_loss_db and rain_loss_db in [path] "
        "(e.g. atmospheric_loss_db = 1.1, rain_loss_db = 0.0)")
    # A loss given as a keyword is not asked of the model.
    assert link_budget(config, atmospheric_loss_db=1.1, rain_loss_db=0.0).margin_db == pytest.approx(
        oresat1.margin_db)


# groundshare link budget


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_cli_json_has_the_budget_keys_and_values(runner):
    result = runner.invoke(app, ["link", "budget", "--config", str(ORESAT1), "--format", "json"])

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data) == BUDGET_KEYS
    for key, value in SHEET.items():
        tolerance = {"slant_range_km": ten_meters_km, "system_noise_temperature_k": tenth_kelvin_k}.get(
            key, two_hundredths_db)
        assert abs(data[key] - value) <= tolerance, key
    assert result.stderr == ""


def test_cli_json_of_an_acm_link_adds_esn0(runner):
    result = runner.invoke(app, ["link", "budget", "-c", str(ACM), "-f", "json"])

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data) == [*BUDGET_KEYS, "esn0_db"]
    assert data["system_noise_temperature_k"] is None


def test_cli_table_is_the_default(runner):
    result = runner.invoke(app, ["link", "budget", "--config", str(ORESAT1)])

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Quantity", "Value", "Unit"]
    rows = {line[:24].strip(): line[24:].split() for line in lines[1:]}
    assert rows == {
        "Slant range": ["1454.434", "km"], "Free-space path loss": ["148.501", "dB"], "EIRP": ["0.576", "dBW"],
        "System noise temperature": ["526.82", "K"], "G/T": ["-11.893", "dB/K"], "C/N0": ["65.511", "dBHz"],
        "Eb/N0": ["15.688", "dB"], "Margin": ["4.788", "dB"]}
    assert result.stderr == ""


def test_cli_error_exits_1_without_a_traceback(runner, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(ORESAT1.read_text().replace("power_w = 1.0", "power_w = -1.0"))

    result = runner.invoke(app, ["link", "budget", "--config", str(path)])

    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {path}, [transmitter] power_w is -1.0; expected a transmitter output power in watts, more than 0, "
        "e.g. power_w = 1.0\n")
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def test_cli_missing_file(runner, tmp_path):
    path = tmp_path / "nope.toml"

    result = runner.invoke(app, ["link", "budget", "--config", str(path)])

    assert result.exit_code == 1
    assert result.stderr == f"error: link file {str(path)!r} does not exist\n"
