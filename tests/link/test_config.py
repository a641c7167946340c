"""Link files: the shipped fixtures load, and each bad file is answered with its key named."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from groundshare.cli import app
from groundshare.errors import InvalidInputError
from groundshare.link import (
    DVB_S2_MODCODS,
    Geometry,
    LinkParams,
    NoiseModel,
    PathLosses,
    link_budget,
    load_link_config,
    parse_link_config,
)
from groundshare.link.volume import DVB_S2

DATA = Path(__file__).parent / "data"
ORESAT1 = DATA / "oresat1_uhf_downlink.toml"
ACM = DATA / "acm_xband_downlink.toml"
ORESAT1_TEXT = ORESAT1.read_text()
ACM_TEXT = ACM.read_text()


def write(tmp_path: Path, text: str, name: str = "link.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edited(text: str, old: str, new: str) -> str:
    """Return ``text`` with ``old`` (which must be there) replaced by ``new``."""
    assert old in text, old
    return text.replace(old, new)


def load_error(path: Path) -> str:
    with pytest.raises(InvalidInputError) as info:
        load_link_config(path)
    return str(info.value)


def budget_error(path: Path) -> str:
    config = load_link_config(path)
    with pytest.raises(InvalidInputError) as info:
        link_budget(config)
    return str(info.value)


# Good files.


def test_oresat1_example_loads_with_defaults():
    config = load_link_config(ORESAT1)

    assert config.source == str(ORESAT1)
    assert config.link == LinkParams(frequency_hz=436.5e6, data_rate_bps=96_000.0, required_ebn0_db=10.4,
                                     implementation_loss_db=0.5)
    assert not config.is_acm and config.link.availability_percent == 99.5
    assert config.geometry == Geometry(altitude_km=405.5, elevation_deg=10.0)
    assert config.transmitter.power_w == 1.0 and config.transmitter.eirp_dbw is None
    assert config.receiver.noise_model is NoiseModel.friis_cascade
    assert config.receiver.lna_gain_db == 24.0 and config.receiver.feedline_temperature_k == 290.0
    assert config.path == PathLosses(polarization_loss_db=0.05744, atmospheric_loss_db=1.1,
                                     ionospheric_loss_db=0.4, rain_loss_db=0.0)
    assert config.site is None


def test_acm_example_loads_modcods_in_modcod_number_order():
    config = load_link_config(ACM)

    assert config.is_acm
    assert config.link.modcods == ("QPSK 1/2", "QPSK 3/4", "8PSK 2/3", "16APSK 3/4")
    assert (config.link.acm_margin_db, config.link.acm_hysteresis_db, config.link.pilots) == (1.0, 0.5, False)
    assert config.link.data_rate_bps is None and config.link.required_ebn0_db is None
    assert config.receiver.noise_model is NoiseModel.g_over_t
    assert config.receiver.g_over_t_table == ((5.0, 21.0), (20.0, 22.5), (90.0, 23.0))
    assert config.site is not None and config.site.lat_deg == 45.5118


def test_modcods_all_and_loose_spelling(tmp_path):
    text = edited(ACM_TEXT, 'modcods = ["QPSK 1/2", "QPSK 3/4", "8PSK 2/3", "16APSK 3/4"]', 'modcods = "all"')
    assert load_link_config(write(tmp_path, text)).link.modcods == DVB_S2_MODCODS
    text = edited(ACM_TEXT, '"QPSK 1/2", "QPSK 3/4"', '"qpsk  1/2", "32apsk 9/10"')
    assert load_link_config(write(tmp_path, text)).link.modcods[::3] == ("QPSK 1/2", "32APSK 9/10")


def test_modcod_names_are_those_of_volume():
    assert len(DVB_S2_MODCODS) == 28
    assert set(DVB_S2_MODCODS) == set(DVB_S2)


def test_defaults_of_an_acm_link_and_optional_tables():
    config = parse_link_config({
        "link": {"frequency_hz": 8.2e9, "modulation": "dvb-s2-acm", "symbol_rate_baud": 1e6, "modcods": "all"},
        "transmitter": {"eirp_dbw": 3.0},
        "receiver": {"g_over_t_dbk": 20.0}})

    assert (config.link.acm_margin_db, config.link.acm_hysteresis_db, config.link.pilots) == (1.0, 0.5, False)
    assert config.link.implementation_loss_db == 0.0
    assert config.path == PathLosses()
    assert config.path.atmospheric_loss_db is None and config.path.rain_loss_db is None
    assert config.geometry is None and config.site is None


# Bad files: every message names the file, the [section] key and what is expected.


def test_missing_key(tmp_path):
    path = write(tmp_path, edited(ORESAT1_TEXT, "frequency_hz = 436.5e6\n", ""))

    assert load_error(path) == (f"{path}, [link] frequency_hz is missing; expected a carrier frequency in Hz, "
                                f"more than 0, e.g. frequency_hz = 436.5e6")


def test_unknown_key_suggests_the_closest(tmp_path):
    path = write(tmp_path, edited(ORESAT1_TEXT, "lna_gain_db = 24.0", "lna_gain = 24.0"))

    assert load_error(path).startswith(
        f"{path}, [receiver] has an unknown key 'lna_gain' (did you mean 'lna_gain_db'?); known keys are "
        "antenna_gain_dbi, pointing_loss_db, line_loss_to_lna_db, system_noise_temperature_k, ")


def test_unknown_table_suggests_the_closest(tmp_path):
    path = write(tmp_path, edited(ORESAT1_TEXT, "[geometry]", "[geometery]"))

    assert load_error(path) == (
        f"{path}, unknown table [geometery] (did you mean [geometry]?); a link file holds [link], [geometry], "
        "[transmitter], [receiver], [path] and [site]")


def test_key_outside_any_table(tmp_path):
    path = write(tmp_path, "frequency_hz = 436.5e6\n" + ORESAT1_TEXT)

    assert load_error(path) == f"{path}, frequency_hz is outside any table; put it under [link]"


def test_missing_table(tmp_path):
    before, after = ORESAT1_TEXT.split("[transmitter]")
    path = write(tmp_path, before + "[receiver]" + after.split("[receiver]")[1])

    assert load_error(path) == (f"{path}, missing table [transmitter]; expected for example\n\n[transmitter]\n"
                                "power_w = 1.0\nline_loss_db = 0.8\nantenna_gain_dbi = 1.4")


def test_negative_power(tmp_path):
    path = write(tmp_path, edited(ORESAT1_TEXT, "power_w = 1.0", "power_w = -1.0"))

    assert load_error(path) == (f"{path}, [transmitter] power_w is -1.0; expected a transmitter output power in "
                                "watts, more than 0, e.g. power_w = 1.0")


def test_both_power_and_eirp(tmp_path):
    path = write(tmp_path, edited(ORESAT1_TEXT, "power_w = 1.0", "power_w = 1.0\neirp_dbw = 0.58"))

    assert load_error(path) == (f"{path}, [transmitter] gives both power_w and eirp_dbw; give one: power_w (with "
                                "line_loss_db and antenna_gain_dbi) or eirp_dbw")


def test_neither_power_nor_eirp(tmp_path):
    path = write(tmp_path, edited(ORESAT1_TEXT, "power_w = 1.0\n", ""))

    assert load_error(path) == (f"{path}, [transmitter] gives neither power_w nor eirp_dbw; give one: power_w "
                                "(with line_loss_db and antenna_gain_dbi) or eirp_dbw")


def test_eirp_with_line_loss(tmp_path):
    path = write(tmp_path, edited(ORESAT1_TEXT, "power_w = 1.0", "eirp_dbw = 0.58"))

    assert load_error(path) == (f"{path}, [transmitter] line_loss_db is given with eirp_dbw, which already includes "
                                "it; remove line_loss_db, or give power_w for eirp_dbw")


@pytest.mark.parametrize(("old", "new", "message"), [
    ("frequency_hz = 436.5e6", 'frequency_hz = "436.5e6"',
     "[link] frequency_hz is the string '436.5e6'; expected a carrier frequency in Hz, more than 0, "
     "e.g. frequency_hz = 436.5e6"),
    ("frequency_hz = 436.5e6", "frequency_hz = 0",
     "[link] frequency_hz is 0; expected a carrier frequency in Hz, more than 0, e.g. frequency_hz = 436.5e6"),
    ("data_rate_bps = 96000", "data_rate_bps = -9600",
     "[link] data_rate_bps is -9600; expected a data rate in bits per second, more than 0, "
     "e.g. data_rate_bps = 9600"),
    ("lna_temperature_k = 28.0", "lna_temperature_k = 0.0",
     "[receiver] lna_temperature_k is 0.0; expected an LNA noise temperature in kelvin, more than 0, "
     "e.g. lna_temperature_k = 28.0"),
    ("sky_temperature_k = 500.0", "sky_temperature_k = true",
     "[receiver] sky_temperature_k is the boolean true; expected an antenna (sky) noise temperature in kelvin, "
     "more than 0, e.g. sky_temperature_k = 500.0"),
    ("line_loss_db = 0.82356", "line_loss_db = -0.8",
     "[transmitter] line_loss_db is -0.8; expected a loss in dB, 0 or more, e.g. line_loss_db = 0.8"),
    ("elevation_deg = 10.0", "elevation_deg = 95.0",
     "[geometry] elevation_deg is 95.0; expected an elevation in degrees, 0 to 90, e.g. elevation_deg = 10.0"),
])
def test_wrong_type_or_range(tmp_path, old, new, message):
    path = write(tmp_path, edited(ORESAT1_TEXT, old, new))

    assert load_error(path) == f"{path}, {message}"


def test_unknown_modcod_lists_the_valid_names(tmp_path):
    path = write(tmp_path, edited(ACM_TEXT, '"8PSK 2/3"', '"8PSK 1/2"'))

    assert load_error(path) == (
        f"{path}, [link] modcods has '8PSK 1/2', which is not a DVB-S2 MODCOD (did you mean 'QPSK 1/2'?); valid "
        f"names are {', '.join(DVB_S2_MODCODS)} (or modcods = \"all\")")
    assert "QPSK 1/4, QPSK 1/3" in load_error(path) and "32APSK 9/10 (or" in load_error(path)


def test_duplicate_modcod(tmp_path):
    path = write(tmp_path, edited(ACM_TEXT, '"QPSK 3/4"', '"QPSK 1/2"'))

    assert load_error(path) == f"{path}, [link] modcods lists 'QPSK 1/2' twice; name each MODCOD once"


def test_fixed_rate_and_acm_together(tmp_path):
    path = write(tmp_path, edited(ORESAT1_TEXT, "data_rate_bps = 96000", "data_rate_bps = 96000\npilots = true"))

    assert load_error(path) == (
        f"{path}, [link] gives both data_rate_bps and pilots; give either a fixed rate (data_rate_bps and "
        'required_ebn0_db) or DVB-S2 ACM (modulation = "dvb-s2-acm", symbol_rate_baud and modcods)')


def test_acm_settings_without_modulation(tmp_path):
    path = write(tmp_path, edited(ACM_TEXT, 'modulation = "dvb-s2-acm"\n', ""))

    assert load_error(path) == (f'{path}, [link] modulation is missing but symbol_rate_baud is given (a DVB-S2 ACM '
                                f'setting); expected the string "dvb-s2-acm" (leave modulation out for a fixed '
                                f"data rate)")


def test_fixed_rate_without_required_ebn0(tmp_path):
    path = write(tmp_path, edited(ORESAT1_TEXT, "required_ebn0_db = 10.4\n", ""))

    assert load_error(path).startswith(
        f"{path}, [link] required_ebn0_db is missing (a fixed-rate link needs data_rate_bps and required_ebn0_db); "
        "expected the Eb/N0 in dB the demodulator needs")


def test_receiver_with_two_noise_models(tmp_path):
    path = write(tmp_path, edited(ORESAT1_TEXT, "sky_temperature_k = 500.0", "system_noise_temperature_k = 500.0\n"
                                                                          "sky_temperature_k = 500.0"))

    assert load_error(path).startswith(
        f"{path}, [receiver] gives both system_noise_temperature_k and sky_temperature_k; give one way to state the "
        "noise: system_noise_temperature_k; or the Friis cascade sky_temperature_k, ")


def test_incomplete_friis_cascade(tmp_path):
    path = write(tmp_path, edited(ORESAT1_TEXT, "lna_gain_db = 24.0\n", ""))

    assert load_error(path).startswith(
        f"{path}, [receiver] lna_gain_db is missing for the Friis cascade (sky_temperature_k, lna_temperature_k, "
        "lna_gain_db, receiver_temperature_k are needed); expected an LNA gain in dB, e.g. lna_gain_db = 24.0")


def test_g_over_t_with_antenna_gain(tmp_path):
    path = write(tmp_path, edited(ACM_TEXT, "pointing_loss_db = 0.2\n", "pointing_loss_db = 0.2\n"
                                                                         "antenna_gain_dbi = 40.0\n"))

    assert load_error(path) == (f"{path}, [receiver] antenna_gain_dbi is given with g_over_t_table, which already "
                                "includes it; remove antenna_gain_dbi")


def test_g_over_t_table_must_rise(tmp_path):
    path = write(tmp_path, edited(ACM_TEXT, "[20.0, 22.5], [90.0, 23.0]", "[90.0, 23.0], [20.0, 22.5]"))

    assert load_error(path) == (f"{path}, [receiver] g_over_t_table point 2 has elevation 20 after 90; list the "
                                "points by rising elevation")


def test_elevation_below_the_station_minimum(tmp_path):
    path = write(tmp_path, edited(ACM_TEXT, "elevation_deg = 30.0", "elevation_deg = 2.0"))

    assert load_error(path) == (f"{path}, [geometry] elevation_deg is 2, below [receiver] min_elevation_deg 5; the "
                                "station does not track there")


def test_altitude_without_elevation(tmp_path):
    path = write(tmp_path, edited(ORESAT1_TEXT, "elevation_deg = 10.0\n", ""))

    assert load_error(path) == (f"{path}, [geometry] elevation_deg is missing (altitude_km needs it for the slant "
                                "range); expected an elevation in degrees, 0 to 90, e.g. elevation_deg = 10.0")


def test_missing_file_and_bad_toml(tmp_path):
    assert load_error(tmp_path / "nope.toml") == f"link file {str(tmp_path / 'nope.toml')!r} does not exist"
    path = write(tmp_path, "[link]\nfrequency_hz = 436.5 MHz\n")
    assert load_error(path).startswith(f"{path} is not valid TOML: ")


def test_parse_without_a_source_names_only_the_key():
    with pytest.raises(InvalidInputError) as info:
        parse_link_config({"link": {"frequency_hz": -1.0}, "transmitter": {}, "receiver": {}})

    assert str(info.value) == ("[link] frequency_hz is -1.0; expected a carrier frequency in Hz, more than 0, "
                               "e.g. frequency_hz = 436.5e6")
    assert info.value.loc == ("link", "frequency_hz")


# What only the single-point budget needs.


def test_budget_without_geometry(tmp_path):
    before, after = ORESAT1_TEXT.split("[geometry]")
    path = write(tmp_path, before + "[transmitter]" + after.split("[transmitter]")[1])

    assert load_link_config(path).geometry is None
    assert budget_error(path) == (f"{path}, [geometry] is missing, and the budget needs a slant range; add a "
                                  "[geometry] table with range_km, or altitude_km and elevation_deg")


def test_budget_with_atmospheric_loss_left_out_and_no_site(tmp_path):
    path = write(tmp_path, edited(ORESAT1_TEXT, "atmospheric_loss_db = 1.1\n", ""))

    assert load_link_config(path).path.atmospheric_loss_db is None
    assert budget_error(path) == (
        f"{path}, [path] atmospheric_loss_db is not given and there is no [site] to compute it from ITU-R "
        "recommendations; give atmospheric_loss_db in [path] (e.g. atmospheric_loss_db = 1.1) or add a [site] table "
        "with lat_deg, lon_deg and alt_m")


def test_budget_command_names_the_missing_key(tmp_path):
    path = write(tmp_path, edited(ORESAT1_TEXT, "rain_loss_db = 0.0\n", ""))

    result = CliRunner().invoke(app, ["link", "budget", "--config", str(path), "--format", "json"])

    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {path}, [path] rain_loss_db is not given and there is no [site] to compute it from ITU-R "
        "recommendations; give rain_loss_db in [path] (e.g. rain_loss_db = 0.0) or add a [site] table with "
        "lat_deg, lon_deg and alt_m\n")
    assert result.stdout == "" and "Traceback" not in result.stderr
