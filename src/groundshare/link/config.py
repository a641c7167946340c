"""Link files: one radio link's parameters as TOML tables.

A downlink from a satellite (``[transmitter]``) to a station (``[receiver]``)::

    [link]
    frequency_hz = 436.5e6
    data_rate_bps = 96000          # a fixed rate ...
    required_ebn0_db = 10.4        # ... and the Eb/N0 its demodulator needs for the target BER
    implementation_loss_db = 0.5   # optional, default 0

    [geometry]                     # optional; only the single-point budget needs it
    altitude_km = 405.5            # with elevation_deg (spherical Earth), or range_km instead
    elevation_deg = 10.0

    [transmitter]
    power_w = 1.0                  # or eirp_dbw, which already includes the next two
    line_loss_db = 0.82356
    antenna_gain_dbi = 1.4
    pointing_loss_db = 1.4

    [receiver]
    antenna_gain_dbi = 15.5
    pointing_loss_db = 0.31397
    line_loss_to_lna_db = 0.1759
    system_noise_temperature_k = 526.8   # or the Friis cascade, or g_over_t_dbk (see Receiver)

    [path]
    polarization_loss_db = 0.05744
    atmospheric_loss_db = 1.1      # leave out to compute from ITU-R at the [site]
    ionospheric_loss_db = 0.4
    rain_loss_db = 0.0             # leave out to compute from ITU-R at the [site]

Stations of a shared network differ: ``[station.NAME]`` tables, each with the keys of
``[receiver]``, give a station's own antenna; stations without one use ``[receiver]``
(``LinkConfig.for_station``).

A DVB-S2 ACM link replaces ``data_rate_bps`` and ``required_ebn0_db`` with
``modulation = "dvb-s2-acm"``, ``symbol_rate_baud`` and ``modcods`` (names from
``DVB_S2_MODCODS``, or ``"all"``).

The loader is strict, like the station loader: an unknown or misspelt key is an error
(a typo in ``line_loss_to_lna_db`` would otherwise change every budget silently), and
each message names the file, the ``[section] key`` and what is expected there.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from groundshare.errors import InvalidInputError
from groundshare.tomlfile import read_toml

# ETSI EN 302 307-1 Table 12, in MODCOD-number order (1 = QPSK 1/4 ... 28 = 32APSK 9/10).
# The thresholds and efficiencies live in volume.py.
DVB_S2_MODCODS: tuple[str, ...] = (
    "QPSK 1/4", "QPSK 1/3", "QPSK 2/5", "QPSK 1/2", "QPSK 3/5", "QPSK 2/3", "QPSK 3/4", "QPSK 4/5",
    "QPSK 5/6", "QPSK 8/9", "QPSK 9/10",
    "8PSK 3/5", "8PSK 2/3", "8PSK 3/4", "8PSK 5/6", "8PSK 8/9", "8PSK 9/10",
    "16APSK 2/3", "16APSK 3/4", "16APSK 4/5", "16APSK 5/6", "16APSK 8/9", "16APSK 9/10",
    "32APSK 3/4", "32APSK 4/5", "32APSK 5/6", "32APSK 8/9", "32APSK 9/10",
)
DVB_S2_ACM = "dvb-s2-acm"
# The physical temperature of a feed line when the file does not say: the IEEE reference T0.
DEFAULT_FEEDLINE_TEMPERATURE_K = 290.0


class NoiseModel(StrEnum):
    """How a ``[receiver]`` states its noise."""

    system_temperature = "system_temperature"   # system_noise_temperature_k, at the LNA input
    friis_cascade = "friis_cascade"             # sky, feed line, LNA, cable, receiver
    g_over_t = "g_over_t"                       # g_over_t_dbk or g_over_t_table


@dataclass(frozen=True, slots=True)
class LinkParams:
    """``[link]``: the carrier and either a fixed data rate or DVB-S2 ACM.

    A fixed-rate link has ``data_rate_bps`` and ``required_ebn0_db`` (the Eb/N0 its
    demodulator needs for the target bit error rate) and ``modulation`` None; a DVB-S2
    ACM link has ``modulation == "dvb-s2-acm"``, ``symbol_rate_baud`` and ``modcods``
    (in MODCOD-number order), and the fixed-rate fields None.
    """

    frequency_hz: float
    data_rate_bps: float | None = None
    required_ebn0_db: float | None = None
    modulation: str | None = None
    symbol_rate_baud: float | None = None
    modcods: tuple[str, ...] = ()
    acm_margin_db: float = 1.0
    acm_hysteresis_db: float = 0.5
    pilots: bool = False
    implementation_loss_db: float = 0.0
    availability_percent: float = 99.5

    @property
    def is_acm(self) -> bool:
        """Return whether the link adapts its MODCOD (DVB-S2 ACM) rather than keeping one rate."""
        return self.modulation == DVB_S2_ACM


@dataclass(frozen=True, slots=True)
class Geometry:
    """``[geometry]``: where the satellite is for a single-point budget.

    Either ``range_km`` (``elevation_deg`` then only feeds elevation-dependent receiver
    data), or ``altitude_km`` and ``elevation_deg`` for a slant range over a spherical Earth.
    """

    range_km: float | None = None
    altitude_km: float | None = None
    elevation_deg: float | None = None


@dataclass(frozen=True, slots=True)
class Transmitter:
    """``[transmitter]``: the satellite's downlink transmitter.

    Either ``power_w`` (with ``line_loss_db`` and ``antenna_gain_dbi``) or ``eirp_dbw``,
    which already includes both.  ``pointing_loss_db`` counts with the path losses.
    """

    power_w: float | None = None
    eirp_dbw: float | None = None
    line_loss_db: float = 0.0
    antenna_gain_dbi: float = 0.0
    pointing_loss_db: float = 0.0


@dataclass(frozen=True, slots=True)
class Receiver:
    """``[receiver]``: the station's antenna and receiving chain.

    ``noise_model`` says which fields are set:

    - ``system_temperature``: ``antenna_gain_dbi``, ``line_loss_to_lna_db`` and
      ``system_noise_temperature_k`` (referred to the LNA input);
    - ``friis_cascade``: ``antenna_gain_dbi``, ``line_loss_to_lna_db`` and the chain
      ``sky_temperature_k``, ``feedline_temperature_k``, ``lna_temperature_k``,
      ``lna_gain_db``, ``cable_after_lna_db``, ``receiver_temperature_k``, combined by
      ``budget.system_noise_temperature_k``;
    - ``g_over_t``: ``g_over_t_dbk``, or ``g_over_t_table`` as (elevation_deg,
      g_over_t_dbk) points with rising elevations; gain and line loss are inside G/T.

    ``pointing_loss_db`` applies in every model.  ``min_elevation_deg`` is the lowest
    elevation the station tracks; a ``[geometry] elevation_deg`` below it is refused.
    """

    noise_model: NoiseModel
    antenna_gain_dbi: float | None = None
    pointing_loss_db: float = 0.0
    line_loss_to_lna_db: float = 0.0
    system_noise_temperature_k: float | None = None
    sky_temperature_k: float | None = None
    feedline_temperature_k: float = DEFAULT_FEEDLINE_TEMPERATURE_K
    lna_temperature_k: float | None = None
    lna_gain_db: float | None = None
    cable_after_lna_db: float = 0.0
    receiver_temperature_k: float | None = None
    g_over_t_dbk: float | None = None
    g_over_t_table: tuple[tuple[float, float], ...] | None = None
    min_elevation_deg: float | None = None


@dataclass(frozen=True, slots=True)
class PathLosses:
    """``[path]``: losses between the antennas besides free space.

    ``atmospheric_loss_db`` or ``rain_loss_db`` None means "compute it from ITU-R
    recommendations for the ``[site]``" (gases and clouds, rain; at the link's
    ``availability_percent``).
    """

    polarization_loss_db: float = 0.0
    atmospheric_loss_db: float | None = None
    ionospheric_loss_db: float = 0.0
    rain_loss_db: float | None = None


@dataclass(frozen=True, slots=True)
class SitePosition:
    """``[site]``: the station's WGS84 position, for ITU-R attenuation statistics."""

    lat_deg: float
    lon_deg: float
    alt_m: float


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """One radio link, as loaded from a link file (``source`` names it in messages)."""

    link: LinkParams
    transmitter: Transmitter
    receiver: Receiver
    path: PathLosses = PathLosses()
    geometry: Geometry | None = None
    site: SitePosition | None = None
    source: str = ""
    station_receivers: tuple[tuple[str, Receiver], ...] = ()

    def for_station(self, name: str) -> LinkConfig:
        """Return the link as received at station ``name``: its own ``[station.NAME]`` receiver, if any."""
        for station, receiver in self.station_receivers:
            if station == name:
                return dataclasses.replace(self, receiver=receiver, station_receivers=())
        return self

    @property
    def is_acm(self) -> bool:
        """Return whether the link uses DVB-S2 ACM."""
        return self.link.is_acm


# What each key holds: (check, expected).  The expected text follows "expected" in messages.


def _is_number(value: Any) -> bool:
    """Return whether ``value`` is a finite TOML integer or float (booleans are not numbers)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _positive(value: Any) -> bool:
    return _is_number(value) and value > 0


def _non_negative(value: Any) -> bool:
    return _is_number(value) and value >= 0


def _between(lo: float, hi: float) -> Callable[[Any], bool]:
    return lambda value: _is_number(value) and lo <= value <= hi


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _any(value: Any) -> bool:
    return True  # checked by its own function (modulation, modcods, g_over_t_table)


def _loss(key: str, example: str) -> tuple[Callable[[Any], bool], str]:
    return _non_negative, f"a loss in dB, 0 or more, e.g. {key} = {example}"


_Spec = dict[str, tuple[Callable[[Any], bool], str]]

LINK_KEYS: _Spec = {
    "frequency_hz": (_positive, "a carrier frequency in Hz, more than 0, e.g. frequency_hz = 436.5e6"),
    "data_rate_bps": (_positive, "a data rate in bits per second, more than 0, e.g. data_rate_bps = 9600"),
    "required_ebn0_db": (_is_number, "the Eb/N0 in dB the demodulator needs for the target bit error rate, "
                                     "e.g. required_ebn0_db = 10.4"),
    "modulation": (_any, f'the string "{DVB_S2_ACM}" (leave modulation out for a fixed data rate)'),
    "symbol_rate_baud": (_positive, "a symbol rate in baud, more than 0, e.g. symbol_rate_baud = 1e6"),
    "modcods": (_any, 'a list of DVB-S2 MODCOD names or the string "all", e.g. modcods = ["QPSK 1/2", '
                      '"8PSK 3/5"]'),
    "acm_margin_db": (_non_negative, "a margin in dB, 0 or more, e.g. acm_margin_db = 1.0"),
    "acm_hysteresis_db": (_non_negative, "a hysteresis in dB, 0 or more, e.g. acm_hysteresis_db = 0.5"),
    "pilots": (_is_bool, "true or false (whether DVB-S2 pilot blocks are sent)"),
    "implementation_loss_db": _loss("implementation_loss_db", "0.5"),
    "availability_percent": (lambda v: _is_number(v) and 0 < v < 100,
                             "a percentage of an average year, more than 0 and less than 100, "
                             "e.g. availability_percent = 99.5"),
}
GEOMETRY_KEYS: _Spec = {
    "range_km": (_positive, "a slant range in km, more than 0, e.g. range_km = 1454.4"),
    "altitude_km": (_positive, "a satellite altitude in km, more than 0, e.g. altitude_km = 405.5"),
    "elevation_deg": (_between(0.0, 90.0), "an elevation in degrees, 0 to 90, e.g. elevation_deg = 10.0"),
}
TRANSMITTER_KEYS: _Spec = {
    "power_w": (_positive, "a transmitter output power in watts, more than 0, e.g. power_w = 1.0"),
    "eirp_dbw": (_is_number, "an EIRP in dBW, e.g. eirp_dbw = 0.58"),
    "line_loss_db": _loss("line_loss_db", "0.8"),
    "antenna_gain_dbi": (_is_number, "an antenna gain in dBi, e.g. antenna_gain_dbi = 1.4"),
    "pointing_loss_db": _loss("pointing_loss_db", "1.4"),
}
RECEIVER_KEYS: _Spec = {
    "antenna_gain_dbi": (_is_number, "an antenna gain in dBi, e.g. antenna_gain_dbi = 15.5"),
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
    "lna_gain_db": (_is_number, "an LNA gain in dB, e.g. lna_gain_db = 24.0"),
    "cable_after_lna_db": _loss("cable_after_lna_db", "0.63"),
    "receiver_temperature_k": (_positive, "the noise temperature in kelvin of the chain after the LNA's "
                                          "cable, more than 0, e.g. receiver_temperature_k = 1556.7"),
    "g_over_t_dbk": (_is_number, "a G/T in dB/K, e.g. g_over_t_dbk = -11.9"),
    "g_over_t_table": (_any, "a list of [elevation_deg, g_over_t_dbk] pairs with rising elevations, "
                             "e.g. g_over_t_table = [[5.0, -13.0], [30.0, -11.5], [90.0, -11.0]]"),
    "min_elevation_deg": (_between(-10.0, 89.0), "an elevation in degrees, -10 to 89, "
                                                  "e.g. min_elevation_deg = 5.0"),
}
PATH_KEYS: _Spec = {
    "polarization_loss_db": _loss("polarization_loss_db", "0.06"),
    "atmospheric_loss_db": _loss("atmospheric_loss_db", "1.1"),
    "ionospheric_loss_db": _loss("ionospheric_loss_db", "0.4"),
    "rain_loss_db": _loss("rain_loss_db", "0.0"),
}
SITE_KEYS: _Spec = {
    "lat_deg": (_between(-90.0, 90.0), "degrees north, -90 to 90, e.g. lat_deg = 45.51"),
    "lon_deg": (_between(-180.0, 360.0), "degrees east, -180 to 360 (west is negative), "
                                         "e.g. lon_deg = -122.68"),
    "alt_m": (_between(-500.0, 10_000.0), "metres above the WGS84 ellipsoid, -500 to 10000, e.g. alt_m = 50.0"),
}
SECTIONS: dict[str, _Spec] = {"link": LINK_KEYS, "geometry": GEOMETRY_KEYS, "transmitter": TRANSMITTER_KEYS,
                              "receiver": RECEIVER_KEYS, "path": PATH_KEYS, "site": SITE_KEYS}
REQUIRED_SECTIONS = ("link", "transmitter", "receiver")
EXAMPLES = {
    "link": "[link]\nfrequency_hz = 436.5e6\ndata_rate_bps = 9600\nrequired_ebn0_db = 10.4",
    "transmitter": "[transmitter]\npower_w = 1.0\nline_loss_db = 0.8\nantenna_gain_dbi = 1.4",
    "receiver": "[receiver]\nantenna_gain_dbi = 15.5\nline_loss_to_lna_db = 0.18\n"
                "system_noise_temperature_k = 526.8",
}

_FIXED_KEYS = ("data_rate_bps", "required_ebn0_db")
_ACM_KEYS = ("modulation", "symbol_rate_baud", "modcods", "acm_margin_db", "acm_hysteresis_db", "pilots")
_CASCADE_KEYS = ("sky_temperature_k", "feedline_temperature_k", "lna_temperature_k", "lna_gain_db",
                 "cable_after_lna_db", "receiver_temperature_k")
_CASCADE_REQUIRED = ("sky_temperature_k", "lna_temperature_k", "lna_gain_db", "receiver_temperature_k")
_G_OVER_T_KEYS = ("g_over_t_dbk", "g_over_t_table")


def load_link_config(path: str | Path) -> LinkConfig:
    """Return the link described by a TOML link file.

    Raises ``InvalidInputError`` naming the file, the ``[section] key`` and what is
    expected for a missing file, a TOML syntax error, a missing, unknown or wrongly typed
    key, a value out of range, and for both or neither of two alternatives (such as
    ``power_w`` and ``eirp_dbw``).
    """
    where = str(path)
    document = read_toml(path, "link file")
    return parse_link_config(document, source=where)


def parse_link_config(mapping: Mapping[str, Any], source: str = "") -> LinkConfig:
    """Return the link described by a parsed link file (a mapping of TOML tables).

    ``source`` (a file name) starts every error message; the checks are those of
    ``load_link_config``.

    >>> config = parse_link_config({
    ...     "link": {"frequency_hz": 436.5e6, "data_rate_bps": 9600, "required_ebn0_db": 10.4},
    ...     "transmitter": {"eirp_dbw": 0.58},
    ...     "receiver": {"g_over_t_dbk": -11.9}})
    >>> config.link.data_rate_bps, config.receiver.noise_model.value, config.path.atmospheric_loss_db
    (9600.0, 'g_over_t', None)
    """
    reader = _Reader(source)
    if not isinstance(mapping, Mapping):
        raise InvalidInputError(f"{reader.prefix}a link file is a set of tables, not {_describe(mapping)}",
                                loc=reader.loc())
    station_tables = mapping.get("station", {})
    tables = reader.tables({name: table for name, table in mapping.items() if name != "station"})
    link = _link(reader, tables["link"])
    geometry = _geometry(reader, tables["geometry"]) if "geometry" in tables else None
    receiver = _receiver(reader, tables["receiver"])
    if (geometry is not None and geometry.elevation_deg is not None and receiver.min_elevation_deg is not None
            and geometry.elevation_deg < receiver.min_elevation_deg):
        raise reader.fail("geometry", "elevation_deg",
                          f"[geometry] elevation_deg is {geometry.elevation_deg:g}, below [receiver] "
                          f"min_elevation_deg {receiver.min_elevation_deg:g}; the station does not track there")
    return LinkConfig(
        link=link,
        transmitter=_transmitter(reader, tables["transmitter"]),
        receiver=receiver,
        path=PathLosses(**reader.values("path", tables.get("path", {}))),
        geometry=geometry,
        site=SitePosition(**reader.values("site", tables["site"], required=tuple(SITE_KEYS)))
        if "site" in tables else None,
        source=source,
        station_receivers=_station_receivers(reader, station_tables),
    )


def _station_receivers(reader: _Reader, stations: Any) -> tuple[tuple[str, Receiver], ...]:
    """Return the ``[station.NAME]`` receivers: each a whole ``[receiver]`` for that station."""
    if not isinstance(stations, Mapping) or not all(isinstance(t, Mapping) for t in stations.values()):
        raise reader.fail("station", None, "station must hold one table per station, e.g. [station.daejeon] "
                                           "with the keys of [receiver] for that station's antenna")
    out = []
    for name, table in stations.items():
        own = _Reader(f"{reader.prefix}[station.{name}] (the [receiver] of station {name!r})".removesuffix(", "))
        out.append((name, _receiver(own, dict(table))))
    return tuple(out)


class _Reader:
    """Check tables and keys of one link file, raising messages that name them."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.prefix = f"{source}, " if source else ""

    def loc(self, *parts: str) -> tuple[str, ...]:
        return ("file", self.source, *parts) if self.source else parts

    def fail(self, section: str, key: str | None, message: str) -> InvalidInputError:
        return InvalidInputError(f"{self.prefix}{message}",
                                 loc=self.loc(section, key) if key else self.loc(section))

    def tables(self, mapping: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """Return the tables by name, after checking names, types and the required ones."""
        for name, table in mapping.items():
            if name not in SECTIONS:
                owner = next((s for s, keys in SECTIONS.items() if name in keys), None)
                if owner and not isinstance(table, dict):
                    message = f"{name} is outside any table; put it under [{owner}]"
                else:
                    message = (f"unknown table [{name}]{_did_you_mean(name, tuple(SECTIONS), '[{}]')}; a link file "
                               f"holds {_listing(SECTIONS)}")
                raise self.fail(name, None, message)
            if not isinstance(table, dict):
                raise self.fail(name, None, f"{name} is {_describe(table)}; expected a table [{name}] of keys")
        for name in REQUIRED_SECTIONS:
            if name not in mapping:
                raise self.fail(name, None, f"missing table [{name}]; expected for example\n\n{EXAMPLES[name]}")
        return dict(mapping)

    def values(self, section: str, table: Mapping[str, Any], *, required: tuple[str, ...] = ()) -> dict[str, Any]:
        """Return the checked values of ``table`` (numbers as floats), only the keys present."""
        spec = SECTIONS[section]
        for key in table:
            if key not in spec:
                raise self.fail(section, key, f"[{section}] has an unknown key {key!r}"
                                              f"{_did_you_mean(key, tuple(spec))}; known keys are {', '.join(spec)}")
        for key in required:
            if key not in table:
                raise self.missing(section, key)
        values = {}
        for key, value in table.items():
            check, _ = spec[key]
            if not check(value):
                raise self.wrong(section, key, value)
            values[key] = float(value) if _is_number(value) else value
        return values

    def missing(self, section: str, key: str, why: str = "") -> InvalidInputError:
        return self.fail(section, key, f"[{section}] {key} is missing{why}; expected {SECTIONS[section][key][1]}")

    def wrong(self, section: str, key: str, value: Any, detail: str = "") -> InvalidInputError:
        return self.fail(section, key, f"[{section}] {key} is {_describe(value)}{detail}; "
                                       f"expected {SECTIONS[section][key][1]}")

    def one_of(self, section: str, values: Mapping[str, Any], first: tuple[str, ...], second: tuple[str, ...],
               what: str) -> bool:
        """Return True for the ``first`` form, False for the ``second``; raise for both or neither."""
        has_first = [k for k in first if k in values]
        has_second = [k for k in second if k in values]
        if has_first and has_second:
            raise self.fail(section, has_second[0],
                            f"[{section}] gives both {has_first[0]} and {has_second[0]}; {what}")
        if not (has_first or has_second):
            raise self.fail(section, first[0], f"[{section}] gives neither {first[0]} nor {second[0]}; {what}")
        return bool(has_first)


def _link(reader: _Reader, table: dict[str, Any]) -> LinkParams:
    values = reader.values("link", table, required=("frequency_hz",))
    is_fixed = reader.one_of(
        "link", values, _FIXED_KEYS, _ACM_KEYS,
        "give either a fixed rate (data_rate_bps and required_ebn0_db) or DVB-S2 ACM "
        f'(modulation = "{DVB_S2_ACM}", symbol_rate_baud and modcods)')
    if is_fixed:
        for key in _FIXED_KEYS:
            if key not in values:
                raise reader.missing("link", key, " (a fixed-rate link needs data_rate_bps and required_ebn0_db)")
        return LinkParams(**values)
    if "modulation" not in values:
        other = next(k for k in _ACM_KEYS if k in values)
        raise reader.missing("link", "modulation", f" but {other} is given (a DVB-S2 ACM setting)")
    if values["modulation"] != DVB_S2_ACM:
        raise reader.wrong("link", "modulation", values["modulation"])
    for key in ("symbol_rate_baud", "modcods"):
        if key not in values:
            raise reader.missing("link", key, " (a DVB-S2 ACM link needs symbol_rate_baud and modcods)")
    values["modcods"] = _modcods(reader, values["modcods"])
    return LinkParams(**values)


def _modcods(reader: _Reader, value: Any) -> tuple[str, ...]:
    """Return the MODCOD names of ``modcods``, in MODCOD-number order."""
    if isinstance(value, str) and value.strip().lower() == "all":
        return DVB_S2_MODCODS
    if not isinstance(value, list) or not value:
        raise reader.wrong("link", "modcods", value)
    canonical = {name.upper(): name for name in DVB_S2_MODCODS}
    chosen = []
    for item in value:
        name = canonical.get(" ".join(item.split()).upper()) if isinstance(item, str) else None
        if name is None:
            hint = _did_you_mean(item, DVB_S2_MODCODS) if isinstance(item, str) else ""
            raise reader.fail("link", "modcods",
                              f"[link] modcods has {item!r}, which is not a DVB-S2 MODCOD{hint}; "
                              f"valid names are {', '.join(DVB_S2_MODCODS)} (or modcods = \"all\")")
        if name in chosen:
            raise reader.fail("link", "modcods", f"[link] modcods lists {name!r} twice; name each MODCOD once")
        chosen.append(name)
    return tuple(sorted(chosen, key=DVB_S2_MODCODS.index))


def _geometry(reader: _Reader, table: dict[str, Any]) -> Geometry:
    values = reader.values("geometry", table)
    by_range = reader.one_of("geometry", values, ("range_km",), ("altitude_km",),
                             "give range_km, or altitude_km and elevation_deg")
    if not by_range and "elevation_deg" not in values:
        raise reader.missing("geometry", "elevation_deg", " (altitude_km needs it for the slant range)")
    return Geometry(**values)


def _transmitter(reader: _Reader, table: dict[str, Any]) -> Transmitter:
    values = reader.values("transmitter", table)
    by_power = reader.one_of("transmitter", values, ("power_w",), ("eirp_dbw",),
                             "give one: power_w (with line_loss_db and antenna_gain_dbi) or eirp_dbw")
    if not by_power:
        for key in ("line_loss_db", "antenna_gain_dbi"):
            if key in values:
                raise reader.fail("transmitter", key, f"[transmitter] {key} is given with eirp_dbw, which already "
                                                      f"includes it; remove {key}, or give power_w for eirp_dbw")
    return Transmitter(**values)


def _receiver(reader: _Reader, table: dict[str, Any]) -> Receiver:
    values = reader.values("receiver", table)
    groups = {NoiseModel.system_temperature: ("system_noise_temperature_k",),
              NoiseModel.friis_cascade: _CASCADE_KEYS, NoiseModel.g_over_t: _G_OVER_T_KEYS}
    present = {model: [k for k in keys if k in values] for model, keys in groups.items()}
    present = {model: keys for model, keys in present.items() if keys}
    what = ("give one way to state the noise: system_noise_temperature_k; or the Friis cascade "
            f"{', '.join(_CASCADE_REQUIRED)} (and feedline_temperature_k, cable_after_lna_db); or g_over_t_dbk "
            "(or g_over_t_table)")
    if not present:
        raise reader.fail("receiver", "system_noise_temperature_k", f"[receiver] gives no noise; {what}")
    if len(present) > 1:
        (_, a), (_, b) = list(present.items())[:2]
        raise reader.fail("receiver", b[0], f"[receiver] gives both {a[0]} and {b[0]}; {what}")
    (model,) = present
    if model is NoiseModel.g_over_t:
        if len(present[model]) == 2:
            raise reader.fail("receiver", "g_over_t_table", "[receiver] gives both g_over_t_dbk and "
                                                            "g_over_t_table; give one")
        for key in ("antenna_gain_dbi", "line_loss_to_lna_db"):
            if key in values:
                raise reader.fail("receiver", key, f"[receiver] {key} is given with {present[model][0]}, which "
                                                   f"already includes it; remove {key}")
        if "g_over_t_table" in values:
            values["g_over_t_table"] = _g_over_t_table(reader, values["g_over_t_table"])
    else:
        if "antenna_gain_dbi" not in values:
            raise reader.missing("receiver", "antenna_gain_dbi")
        if model is NoiseModel.friis_cascade:
            for key in _CASCADE_REQUIRED:
                if key not in values:
                    raise reader.missing("receiver", key, f" for the Friis cascade ({', '.join(_CASCADE_REQUIRED)} "
                                                          f"are needed)")
    return Receiver(noise_model=model, **values)


def _g_over_t_table(reader: _Reader, value: Any) -> tuple[tuple[float, float], ...]:
    """Return ``g_over_t_table`` as (elevation_deg, g_over_t_dbk) pairs with rising elevations."""
    if not isinstance(value, list) or len(value) < 2:
        raise reader.wrong("receiver", "g_over_t_table", value, " (at least two points are needed)"
                           if isinstance(value, list) else "")
    points = []
    for i, point in enumerate(value):
        if not (isinstance(point, list) and len(point) == 2 and all(_is_number(x) for x in point)
                and -10.0 <= point[0] <= 90.0):
            raise reader.fail("receiver", "g_over_t_table",
                              f"[receiver] g_over_t_table point {i} is {_describe(point)}; expected "
                              f"[elevation_deg, g_over_t_dbk] with an elevation from -10 to 90, e.g. [30.0, -11.5]")
        if points and point[0] <= points[-1][0]:
            raise reader.fail("receiver", "g_over_t_table",
                              f"[receiver] g_over_t_table point {i} has elevation {point[0]:g} after "
                              f"{points[-1][0]:g}; list the points by rising elevation")
        points.append((float(point[0]), float(point[1])))
    return tuple(points)


def _describe(value: Any) -> str:
    """Return ``value`` with its TOML type, e.g. ``the string '436.5e6'``."""
    kinds = {bool: "the boolean", str: "the string", list: "the array", dict: "the table"}
    kind = next((v for k, v in kinds.items() if isinstance(value, k)), "")
    if isinstance(value, bool):
        return f"{kind} {str(value).lower()}"
    return f"{kind} {value!r}" if kind else repr(value)


def _did_you_mean(name: str, known: tuple[str, ...], form: str = "{!r}") -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest known name, or ``""``."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    return f" (did you mean {form.format(close[0])}?)" if close else ""


def _listing(names: Mapping[str, Any]) -> str:
    """Return ``[a], [b] and [c]``."""
    items = [f"[{n}]" for n in names]
    return ", ".join(items[:-1]) + " and " + items[-1]
