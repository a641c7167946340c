"""What a link file may hold: each table's keys, the check of each value and what is expected there.

``SECTIONS`` maps a table name (``[link]``, ``[receiver]``, ...) to its ``KeySpec``:
key -> (check, expected), where ``check(value)`` accepts a parsed TOML value and
``expected`` is the text that follows "expected" in the reader's messages
(``link.config``).  A key whose check is ``_any`` is checked by the reader itself
(``modulation``, ``modcods``, ``g_over_t_table``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from groundshare.link.parameters import DVB_S2_ACM
from groundshare.tomlfile import is_number


def _positive(value: Any) -> bool:
    return is_number(value) and value > 0


def _non_negative(value: Any) -> bool:
    return is_number(value) and value >= 0


def _between(lo: float, hi: float) -> Callable[[Any], bool]:
    return lambda value: is_number(value) and lo <= value <= hi


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _any(value: Any) -> bool:
    return True  # checked by its own function (modulation, modcods, g_over_t_table)


def _loss(key: str, example: str) -> tuple[Callable[[Any], bool], str]:
    return _non_negative, f"a loss in dB, 0 or more, e.g. {key} = {example}"


#: What each key of a table holds: (check, expected).  The expected text follows "expected" in messages.
KeySpec = dict[str, tuple[Callable[[Any], bool], str]]

LINK_KEYS: KeySpec = {
    "frequency_hz": (_positive, "a carrier frequency in Hz, more than 0, e.g. frequency_hz = 436.5e6"),
    "data_rate_bps": (_positive, "a data rate in bits per second, more than 0, e.g. data_rate_bps = 9600"),
    "required_ebn0_db": (is_number, "the Eb/N0 in dB the demodulator needs for the target bit error rate, "
                                     "e.g. required_ebn0_db = 10.4"),
    "modulation": (_any, f'the string "{DVB_S2_ACM}" (leave modulation out for a fixed data rate)'),
    "symbol_rate_baud": (_positive, "a symbol rate in baud, more than 0, e.g. symbol_rate_baud = 1e6"),
    "modcods": (_any, 'a list of DVB-S2 MODCOD names or the string "all", e.g. modcods = ["QPSK 1/2", '
                      '"8PSK 3/5"]'),
    "acm_margin_db": (_non_negative, "a margin in dB, 0 or more, e.g. acm_margin_db = 1.0"),
    "acm_hysteresis_db": (_non_negative, "a hysteresis in dB, 0 or more, e.g. acm_hysteresis_db = 0.5"),
    "pilots": (_is_bool, "true or false (whether DVB-S2 pilot blocks are sent)"),
    "implementation_loss_db": _loss("implementation_loss_db", "0.5"),
    "availability_percent": (lambda v: is_number(v) and 0 < v < 100,
                             "a percentage of an average year, more than 0 and less than 100, "
                             "e.g. availability_percent = 99.5"),
}
GEOMETRY_KEYS: KeySpec = {
    "range_km": (_positive, "a slant range in km, more than 0, e.g. range_km = 1454.4"),
    "altitude_km": (_positive, "a satellite altitude in km, more than 0, e.g. altitude_km = 405.5"),
    "elevation_deg": (_between(0.0, 90.0), "an elevation in degrees, 0 to 90, e.g. elevation_deg = 10.0"),
}
TRANSMITTER_KEYS: KeySpec = {
    "power_w": (_positive, "a transmitter output power in watts, more than 0, e.g. power_w = 1.0"),
    "eirp_dbw": (is_number, "an EIRP in dBW, e.g. eirp_dbw = 0.58"),
    "line_loss_db": _loss("line_loss_db", "0.8"),
    "antenna_gain_dbi": (is_number, "an antenna gain in dBi, e.g. antenna_gain_dbi = 1.4"),
    "pointing_loss_db": _loss("pointing_loss_db", "1.4"),
}
RECEIVER_KEYS: KeySpec = {
    "antenna_gain_dbi": (is_number, "an antenna gain in dBi, e.g. antenna_gain_dbi = 15.5"),
    "pointing_loss_db": _loss("pointing_loss_db", "0.3"),
    "line_loss_to_lna_db": _loss("line_loss_to_lna_db", "0.18"),
    "system_noise_temperature_k": (_positive, "a system noise temperature in kelvin at the LNA input, more "
                                              "than 0, e.g. system_noise_temperature_k = 526.8"),
    "sky_temperature_k": (_positive, "an antenna (sky) noise temperature in kelvin, more than 0, "
                                     "e.g. sky_temperature_k = 500.0"),
    "feedline_temperature_k": (_positive, "the physical temperature in kelvin of the line before the LNA, "
                                          "more than 0, e.g. feedline_temperature_k = 290.0"),
    "lna_temperature_k": (_positive, "an LNA noise temperature in kelvin, more than 0, "
                                     "e.g. lna_temperature_k = 28.0"),
    "lna_gain_db": (is_number, "an LNA gain in dB, e.g. lna_gain_db = 24.0"),
    "cable_after_lna_db": _loss("cable_after_lna_db", "0.63"),
    "receiver_temperature_k": (_positive, "the noise temperature in kelvin of the chain after the LNA's "
                                          "cable, more than 0, e.g. receiver_temperature_k = 1556.7"),
    "g_over_t_dbk": (is_number, "a G/T in dB/K, e.g. g_over_t_dbk = -11.9"),
    "g_over_t_table": (_any, "a list of [elevation_deg, g_over_t_dbk] pairs with rising elevations, "
                             "e.g. g_over_t_table = [[5.0, -13.0], [30.0, -11.5], [90.0, -11.0]]"),
    "min_elevation_deg": (_between(-10.0, 89.0), "an elevation in degrees, -10 to 89, "
                                                  "e.g. min_elevation_deg = 5.0"),
}
PATH_KEYS: KeySpec = {
    "polarization_loss_db": _loss("polarization_loss_db", "0.06"),
    "atmospheric_loss_db": _loss("atmospheric_loss_db", "1.1"),
    "ionospheric_loss_db": _loss("ionospheric_loss_db", "0.4"),
    "rain_loss_db": _loss("rain_loss_db", "0.0"),
}
SITE_KEYS: KeySpec = {
    "lat_deg": (_between(-90.0, 90.0), "degrees north, -90 to 90, e.g. lat_deg = 45.51"),
    "lon_deg": (_between(-180.0, 360.0), "degrees east, -180 to 360 (west is negative), "
                                         "e.g. lon_deg = -122.68"),
    "alt_m": (_between(-500.0, 10_000.0), "metres above the WGS84 ellipsoid, -500 to 10000, e.g. alt_m = 50.0"),
}
SECTIONS: dict[str, KeySpec] = {"link": LINK_KEYS, "geometry": GEOMETRY_KEYS, "transmitter": TRANSMITTER_KEYS,
                                "receiver": RECEIVER_KEYS, "path": PATH_KEYS, "site": SITE_KEYS}
REQUIRED_SECTIONS = ("link", "transmitter", "receiver")
EXAMPLES = {
    "link": "[link]\nfrequency_hz = 436.5e6\ndata_rate_bps = 9600\nrequired_ebn0_db = 10.4",
    "transmitter": "[transmitter]\npower_w = 1.0\nline_loss_db = 0.8\nantenna_gain_dbi = 1.4",
    "receiver": "[receiver]\nantenna_gain_dbi = 15.5\nline_loss_to_lna_db = 0.18\n"
                "system_noise_temperature_k = 526.8",
}

# The keys of each alternative the reader chooses between.
FIXED_RATE_KEYS = ("data_rate_bps", "required_ebn0_db")
ACM_KEYS = ("modulation", "symbol_rate_baud", "modcods", "acm_margin_db", "acm_hysteresis_db", "pilots")
CASCADE_KEYS = ("sky_temperature_k", "feedline_temperature_k", "lna_temperature_k", "lna_gain_db",
                "cable_after_lna_db", "receiver_temperature_k")
CASCADE_REQUIRED = ("sky_temperature_k", "lna_temperature_k", "lna_gain_db", "receiver_temperature_k")
G_OVER_T_KEYS = ("g_over_t_dbk", "g_over_t_table")
