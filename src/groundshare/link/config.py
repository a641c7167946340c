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

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from groundshare.errors import InvalidInputError
from groundshare.link.parameters import (
    DVB_S2_ACM,
    DVB_S2_MODCODS,
    Geometry,
    LinkConfig,
    LinkParams,
    NoiseModel,
    PathLosses,
    Receiver,
    SitePosition,
    Transmitter,
)
from groundshare.link.schema import (
    ACM_KEYS,
    CASCADE_KEYS,
    CASCADE_REQUIRED,
    EXAMPLES,
    FIXED_RATE_KEYS,
    G_OVER_T_KEYS,
    REQUIRED_SECTIONS,
    SECTIONS,
    SITE_KEYS,
)
from groundshare.tomlfile import describe, did_you_mean, is_number, read_toml


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
        raise InvalidInputError(f"{reader.prefix}a link file is a set of tables, not {describe(mapping)}",
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
                    message = (f"unknown table [{name}]{did_you_mean(name, tuple(SECTIONS), '[{}]')}; a link file "
                               f"holds {_listing(SECTIONS)}")
                raise self.fail(name, None, message)
            if not isinstance(table, dict):
                raise self.fail(name, None, f"{name} is {describe(table)}; expected a table [{name}] of keys")
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
                                              f"{did_you_mean(key, tuple(spec))}; known keys are {', '.join(spec)}")
        for key in required:
            if key not in table:
                raise self.missing(section, key)
        values = {}
        for key, value in table.items():
            check, _ = spec[key]
            if not check(value):
                raise self.wrong(section, key, value)
            values[key] = float(value) if is_number(value) else value
        return values

    def missing(self, section: str, key: str, why: str = "") -> InvalidInputError:
        return self.fail(section, key, f"[{section}] {key} is missing{why}; expected {SECTIONS[section][key][1]}")

    def wrong(self, section: str, key: str, value: Any, detail: str = "") -> InvalidInputError:
        return self.fail(section, key, f"[{section}] {key} is {describe(value)}{detail}; "
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
        "link", values, FIXED_RATE_KEYS, ACM_KEYS,
        "give either a fixed rate (data_rate_bps and required_ebn0_db) or DVB-S2 ACM "
        f'(modulation = "{DVB_S2_ACM}", symbol_rate_baud and modcods)')
    if is_fixed:
        for key in FIXED_RATE_KEYS:
            if key not in values:
                raise reader.missing("link", key, " (a fixed-rate link needs data_rate_bps and required_ebn0_db)")
        return LinkParams(**values)
    if "modulation" not in values:
        other = next(k for k in ACM_KEYS if k in values)
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
            hint = did_you_mean(item, DVB_S2_MODCODS) if isinstance(item, str) else ""
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
              NoiseModel.friis_cascade: CASCADE_KEYS, NoiseModel.g_over_t: G_OVER_T_KEYS}
    present = {model: [k for k in keys if k in values] for model, keys in groups.items()}
    present = {model: keys for model, keys in present.items() if keys}
    what = ("give one way to state the noise: system_noise_temperature_k; or the Friis cascade "
            f"{', '.join(CASCADE_REQUIRED)} (and feedline_temperature_k, cable_after_lna_db); or g_over_t_dbk "
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
            for key in CASCADE_REQUIRED:
                if key not in values:
                    raise reader.missing("receiver", key, f" for the Friis cascade ({', '.join(CASCADE_REQUIRED)} "
                                                          f"are needed)")
    return Receiver(noise_model=model, **values)


def _g_over_t_table(reader: _Reader, value: Any) -> tuple[tuple[float, float], ...]:
    """Return ``g_over_t_table`` as (elevation_deg, g_over_t_dbk) pairs with rising elevations."""
    if not isinstance(value, list) or len(value) < 2:
        raise reader.wrong("receiver", "g_over_t_table", value, " (at least two points are needed)"
                           if isinstance(value, list) else "")
    points = []
    for i, point in enumerate(value):
        if not (isinstance(point, list) and len(point) == 2 and all(is_number(x) for x in point)
                and -10.0 <= point[0] <= 90.0):
            raise reader.fail("receiver", "g_over_t_table",
                              f"[receiver] g_over_t_table point {i} is {describe(point)}; expected "
                              f"[elevation_deg, g_over_t_dbk] with an elevation from -10 to 90, e.g. [30.0, -11.5]")
        if points and point[0] <= points[-1][0]:
            raise reader.fail("receiver", "g_over_t_table",
                              f"[receiver] g_over_t_table point {i} has elevation {point[0]:g} after "
                              f"{points[-1][0]:g}; list the points by rising elevation")
        points.append((float(point[0]), float(point[1])))
    return tuple(points)


def _listing(names: Mapping[str, Any]) -> str:
    """Return ``[a], [b] and [c]``."""
    items = [f"[{n}]" for n in names]
    return ", ".join(items[:-1]) + " and " + items[-1]
