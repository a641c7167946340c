"""Downlink budgets: plain vectorised functions, and ``link_budget`` for a ``LinkConfig``.

Every function takes numpy arrays (or scalars) and broadcasts; decibel quantities keep
their reference in the name (``_dbw``, ``_dbi``, ``_dbk``, ``_dbhz``).  The chain is

    C/N0 = EIRP - L_path - L_other + G/T - k     (dB; k = -228.6 dBW/K/Hz)
    Eb/N0 = C/N0 - 10 log10(R_b)
    margin = Eb/N0 - (Eb/N0)_required - L_implementation

Conventions (checked in tests/link/test_budget.py against OreSat1's public UHF downlink,
AMSAT-IARU link model v2.5.5):

- Free-space loss is the exact ``20 log10(4 pi d f / c)`` of ITU-R P.525.  The AMSAT-IARU
  sheet writes ``22.0 + 20 log10(d / lambda)``, rounding ``20 log10(4 pi) = 21.984 dB`` up
  to 22.0, so its path losses (and hence its C/N0, Eb/N0 and margins) differ from ours
  by 0.016 dB: 148.517 dB against our 148.501 dB in the example.  We keep the physics and
  not the rounding; the sheet is 0.016 dB pessimistic.
- Boltzmann's constant is -228.6 dBW/K/Hz as in the sheet (exactly -228.599).
- G/T and the system noise temperature are referred to the LNA input:
  ``G/T = G_antenna - L_line_to_lna - 10 log10(T_sys)``.
- The spherical Earth of the slant range has radius 6378.136 km (the sheet's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from groundshare.errors import InvalidInputError
from groundshare.link.parameters import LinkConfig, NoiseModel, SitePosition
from groundshare.units import C_M_S

BOLTZMANN_DBW_K_HZ = -228.6
# The radius of the AMSAT-IARU sheet's spherical Earth; between WGS72's 6378.135 km and
# WGS84's 6378.137 km, and the 1 m difference moves a LEO slant range by under 1 m.
LINK_EARTH_RADIUS_KM = 6378.136

Number = float | np.ndarray


def slant_range_km(altitude_km: Number, elevation_deg: Number) -> Number:
    """Return the distance from a station to a satellite at ``altitude_km`` seen at ``elevation_deg``.

    Spherical Earth of radius R = ``LINK_EARTH_RADIUS_KM``, station at sea level:
    ``sqrt((R + h)^2 - (R cos el)^2) - R sin el``.  At 90 degrees this is the altitude;
    at 0 degrees, the distance to the horizon.  Arrays broadcast.

    >>> round(float(slant_range_km(405.5, 10.0)), 3)
    1454.434
    """
    r_km = LINK_EARTH_RADIUS_KM
    el_rad = np.radians(elevation_deg)
    return np.sqrt((r_km + np.asarray(altitude_km)) ** 2 - (r_km * np.cos(el_rad)) ** 2) - r_km * np.sin(el_rad)


def free_space_loss_db(range_km: Number, freq_hz: Number) -> Number:
    """Return the free-space path loss ``20 log10(4 pi d f / c)`` in dB (ITU-R P.525).

    This is exact; the AMSAT-IARU link model's ``22.0 + 20 log10(d / lambda)`` is
    0.016 dB higher (see the module docstring).

    >>> round(float(free_space_loss_db(1000.0, 1e9)), 3)
    152.448
    """
    return 20.0 * np.log10(4.0 * np.pi * np.asarray(range_km) * 1000.0 * np.asarray(freq_hz) / C_M_S)


def eirp_dbw(power_w: Number, line_loss_db: Number = 0.0, antenna_gain_dbi: Number = 0.0) -> Number:
    """Return the EIRP in dBW of a transmitter: ``10 log10(P) - L_line + G_antenna``.

    Pointing loss is not part of the EIRP; it counts with the path losses.

    >>> round(float(eirp_dbw(1.0, 0.82356, 1.4)), 5)
    0.57644
    """
    return 10.0 * np.log10(power_w) - np.asarray(line_loss_db) + np.asarray(antenna_gain_dbi)


def system_noise_temperature_k(sky_temperature_k: Number, *, line_loss_to_lna_db: Number = 0.0,
                               feedline_temperature_k: Number = 290.0, lna_temperature_k: Number,
                               lna_gain_db: Number, cable_after_lna_db: Number = 0.0,
                               receiver_temperature_k: Number) -> Number:
    """Return the system noise temperature (K) of a receiving chain, referred to the LNA input.

    The Friis cascade of antenna, feed line, LNA, cable and receiver::

        T_sys = T_sky / L_f + T_f (1 - 1/L_f) + T_lna + L_c T_rx / G_lna

    with the linear ratios ``L_f = 10^(line_loss_to_lna_db / 10)`` (the feed line
    before the LNA, at physical temperature ``T_f = feedline_temperature_k``),
    ``G_lna = 10^(lna_gain_db / 10)`` and ``L_c = 10^(cable_after_lna_db / 10)``:

    - ``T_sky / L_f``: the antenna's (sky) noise, attenuated by the feed line;
    - ``T_f (1 - 1/L_f)``: the feed line's own thermal noise at its output;
    - ``T_lna``: the LNA;
    - ``L_c T_rx / G_lna``: the chain after the LNA.  ``T_rx`` is the noise
      temperature at the far end of the cable, i.e. at the receiver's input, so the
      cable divides the LNA gain it sees.  The cable's own thermal noise, which at
      physical temperature T_c is ``T_c (1 - 1/L_c)`` at that point, belongs in
      ``T_rx``; it is not added separately, as in the AMSAT-IARU link model.

    Referring to the LNA input (not the antenna terminal) matches
    ``g_over_t_dbk``'s ``gain - line loss``.  OreSat1's UHF station (sky 500 K, feed
    0.1759 dB at 290 K, LNA 28 K and 24 dB, cable 0.626934 dB, receiver 1556.707 K)
    gives the sheet's 526.82 K; adding a 290 K cable's noise on top would give 527.00 K.

    >>> round(float(system_noise_temperature_k(500.0, line_loss_to_lna_db=0.1759, lna_temperature_k=28.0,
    ...     lna_gain_db=24.0, cable_after_lna_db=0.626934, receiver_temperature_k=1556.707)), 2)
    526.82
    """
    feed_loss = 10.0 ** (np.asarray(line_loss_to_lna_db) / 10.0)
    lna_gain = 10.0 ** (np.asarray(lna_gain_db) / 10.0)
    cable_loss = 10.0 ** (np.asarray(cable_after_lna_db) / 10.0)
    return (np.asarray(sky_temperature_k) / feed_loss + np.asarray(feedline_temperature_k) * (1.0 - 1.0 / feed_loss)
            + np.asarray(lna_temperature_k) + cable_loss * np.asarray(receiver_temperature_k) / lna_gain)


def g_over_t_dbk(gain_dbi: Number, line_loss_to_lna_db: Number, system_noise_temperature_k: Number) -> Number:
    """Return the figure of merit G/T in dB/K: ``gain - line loss before the LNA - 10 log10(T_sys)``.

    ``system_noise_temperature_k`` is referred to the LNA input, as
    ``system_noise_temperature_k()`` returns it.
    """
    return np.asarray(gain_dbi) - np.asarray(line_loss_to_lna_db) - 10.0 * np.log10(system_noise_temperature_k)


def cn0_dbhz(eirp_dbw: Number, path_loss_db: Number, losses_db: Number, g_over_t_dbk: Number) -> Number:
    """Return the carrier-to-noise-density ratio C/N0 in dBHz.

    ``EIRP - path loss - other losses + G/T - k`` with k = ``BOLTZMANN_DBW_K_HZ``;
    ``losses_db`` is the sum of pointing, polarization, atmospheric, ionospheric and
    rain losses.
    """
    return (np.asarray(eirp_dbw) - np.asarray(path_loss_db) - np.asarray(losses_db) + np.asarray(g_over_t_dbk)
            - BOLTZMANN_DBW_K_HZ)


def ebn0_db(cn0_dbhz: Number, rate_bps: Number) -> Number:
    """Return the energy per bit over noise density, Eb/N0 = C/N0 - 10 log10(rate), in dB."""
    return np.asarray(cn0_dbhz) - 10.0 * np.log10(rate_bps)


def esn0_db(cn0_dbhz: Number, symbol_rate_baud: Number) -> Number:
    """Return the energy per symbol over noise density, Es/N0 = C/N0 - 10 log10(symbol rate), in dB."""
    return np.asarray(cn0_dbhz) - 10.0 * np.log10(symbol_rate_baud)


def margin_db(ebn0_db: Number, required_ebn0_db: Number, implementation_loss_db: Number = 0.0) -> Number:
    """Return the link margin in dB: ``Eb/N0 - required Eb/N0 - implementation loss``."""
    return np.asarray(ebn0_db) - np.asarray(required_ebn0_db) - np.asarray(implementation_loss_db)


class AtmosphereModel(Protocol):
    """Attenuation statistics for a station, e.g. from ITU-R P.618/P.676/P.840.

    Called with the ``[site]``, the carrier, the elevation and the link's availability;
    returns ``(atmospheric_loss_db, rain_loss_db)`` (gases and clouds; rain), each
    exceeded for ``100 - availability_percent`` % of an average year.
    """

    def __call__(self, site: SitePosition, *, frequency_hz: float, elevation_deg: Number,
                 availability_percent: float) -> tuple[Number, Number]: ...


@dataclass(frozen=True, slots=True)
class LinkBudget:
    """The downlink budget at one point (scalars) or along a pass (arrays of one shape).

    ``system_noise_temperature_k`` is None for a receiver given by its G/T.  For a
    fixed-rate link ``esn0_db`` is None and ``margin_db = ebn0_db - required_ebn0_db -
    implementation_loss_db``.  For DVB-S2 ACM the budget is taken against the most
    robust configured MODCOD (the lowest required Es/N0 of ETSI EN 302 307-1 Table 13,
    from ``link.volume``): ``ebn0_db`` is Eb/N0 at that MODCOD's efficiency (frame
    headers and pilots counted), and ``margin_db = esn0_db - its required Es/N0 -
    acm_margin_db - implementation_loss_db``, so a margin of 0 or more means the ACM loop
    can hold at least that MODCOD.  The hysteresis only delays switching up, so it is
    not subtracted.
    """

    slant_range_km: Number
    path_loss_db: Number
    eirp_dbw: Number
    system_noise_temperature_k: Number | None
    g_over_t_dbk: Number
    cn0_dbhz: Number
    ebn0_db: Number
    margin_db: Number
    esn0_db: Number | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the budget for JSON: floats (lists for arrays) and None, ``esn0_db`` only for ACM."""
        values = {key: _jsonable(value) for key, value in asdict(self).items()}
        if self.esn0_db is None:
            del values["esn0_db"]
        return values


def link_budget(config: LinkConfig, *, range_km: Number | None = None, atmospheric_loss_db: Number | None = None,
                rain_loss_db: Number | None = None, sky_temperature_k: Number | None = None,
                elevation_deg: Number | None = None, atmosphere: AtmosphereModel | None = None) -> LinkBudget:
    """Return the downlink budget of ``config``, at its ``[geometry]`` or at the values given.

    Keywords override the file (arrays give a budget per sample, e.g. along a pass):

    - ``range_km``: the slant range; else ``[geometry] range_km``, else the slant range
      of ``[geometry] altitude_km`` at ``elevation_deg`` (or ``[geometry] elevation_deg``);
    - ``elevation_deg``: also picks the G/T of a ``g_over_t_table`` (clamped to its ends)
      and is passed to ``atmosphere``;
    - ``atmospheric_loss_db``, ``rain_loss_db``: else ``[path]``'s; where both are
      missing they come from ``atmosphere(site, ...)`` for the ``[site]``;
    - ``sky_temperature_k``: replaces ``[receiver] sky_temperature_k`` of a Friis-cascade
      receiver (e.g. sky noise raised by rain).

    Raises ``InvalidInputError`` naming the file and key when something needed is
    missing: no slant range (no ``[geometry]``), a loss left to ITU-R without a
    ``[site]`` or without an ``atmosphere`` model, or no elevation for a G/T table.
    """
    fail = _failer(config.source)
    link, tx, rx, path = config.link, config.transmitter, config.receiver, config.path
    geometry = config.geometry
    if elevation_deg is None and geometry is not None:
        elevation_deg = geometry.elevation_deg

    if range_km is None:
        if geometry is None:
            raise fail(("geometry",), "[geometry] is missing, and the budget needs a slant range; add a [geometry] "
                                      "table with range_km, or altitude_km and elevation_deg")
        range_km = geometry.range_km if geometry.range_km is not None else slant_range_km(geometry.altitude_km,
                                                                                          elevation_deg)
    path_loss = free_space_loss_db(range_km, link.frequency_hz)
    eirp = tx.eirp_dbw if tx.eirp_dbw is not None else eirp_dbw(tx.power_w, tx.line_loss_db, tx.antenna_gain_dbi)
    tsys, g_over_t = _receiver_noise(config, sky_temperature_k, elevation_deg, fail)
    atmospheric, rain = _weather_losses(config, atmospheric_loss_db, rain_loss_db, elevation_deg, atmosphere, fail)
    losses = (tx.pointing_loss_db + rx.pointing_loss_db + path.polarization_loss_db + path.ionospheric_loss_db
              + np.asarray(atmospheric) + np.asarray(rain))
    cn0 = cn0_dbhz(eirp, path_loss, losses, g_over_t)

    if link.is_acm:
        # The thresholds and efficiencies live in volume.py; imported here so that volume.py
        # may use this module's functions without an import cycle.
        from groundshare.link.volume import modcods_by_name

        robust = modcods_by_name(list(link.modcods))[0]
        esn0 = esn0_db(cn0, link.symbol_rate_baud)
        ebn0 = esn0 - 10.0 * np.log10(robust.efficiency(pilots=link.pilots))
        margin = margin_db(esn0, robust.required_esn0_db + link.acm_margin_db, link.implementation_loss_db)
    else:
        esn0 = None
        ebn0 = ebn0_db(cn0, link.data_rate_bps)
        margin = margin_db(ebn0, link.required_ebn0_db, link.implementation_loss_db)
    return LinkBudget(
        slant_range_km=_value(range_km), path_loss_db=_value(path_loss), eirp_dbw=_value(eirp),
        system_noise_temperature_k=_value(tsys), g_over_t_dbk=_value(g_over_t), cn0_dbhz=_value(cn0),
        ebn0_db=_value(ebn0), margin_db=_value(margin), esn0_db=_value(esn0))


def _receiver_noise(config: LinkConfig, sky_temperature_k: Number | None, elevation_deg: Number | None,
                    fail: Callable[..., InvalidInputError]) -> tuple[Number | None, Number]:
    """Return (system noise temperature or None, G/T) of the ``[receiver]``."""
    rx = config.receiver
    if sky_temperature_k is not None and rx.noise_model is not NoiseModel.friis_cascade:
        raise fail(("receiver", "sky_temperature_k"),
                   "[receiver] sky_temperature_k was given to the budget, but [receiver] states its noise as "
                   f"{'a G/T' if rx.noise_model is NoiseModel.g_over_t else 'system_noise_temperature_k'}; "
                   "give the Friis cascade (sky_temperature_k, lna_temperature_k, lna_gain_db, "
                   "receiver_temperature_k) to let the sky temperature change")
    if rx.noise_model is NoiseModel.g_over_t:
        if rx.g_over_t_table is None:
            return None, rx.g_over_t_dbk
        if elevation_deg is None:
            raise fail(("geometry", "elevation_deg"), "[receiver] g_over_t_table needs an elevation; give "
                                                      "[geometry] elevation_deg, or g_over_t_dbk instead")
        el_deg, g_over_t = np.array(rx.g_over_t_table).T
        return None, np.interp(elevation_deg, el_deg, g_over_t)
    if rx.noise_model is NoiseModel.system_temperature:
        tsys = rx.system_noise_temperature_k
    else:
        tsys = system_noise_temperature_k(
            rx.sky_temperature_k if sky_temperature_k is None else sky_temperature_k,
            line_loss_to_lna_db=rx.line_loss_to_lna_db, feedline_temperature_k=rx.feedline_temperature_k,
            lna_temperature_k=rx.lna_temperature_k, lna_gain_db=rx.lna_gain_db,
            cable_after_lna_db=rx.cable_after_lna_db, receiver_temperature_k=rx.receiver_temperature_k)
    return tsys, g_over_t_dbk(rx.antenna_gain_dbi, rx.line_loss_to_lna_db, tsys)


def _weather_losses(config: LinkConfig, atmospheric_loss_db: Number | None, rain_loss_db: Number | None,
                    elevation_deg: Number | None, atmosphere: AtmosphereModel | None,
                    fail: Callable[..., InvalidInputError]) -> tuple[Number, Number]:
    """Return (atmospheric, rain) losses: given, from ``[path]``, or from ``atmosphere`` at the ``[site]``."""
    losses = {"atmospheric_loss_db": config.path.atmospheric_loss_db if atmospheric_loss_db is None
              else atmospheric_loss_db,
              "rain_loss_db": config.path.rain_loss_db if rain_loss_db is None else rain_loss_db}
    missing = [key for key, value in losses.items() if value is None]
    if not missing:
        return losses["atmospheric_loss_db"], losses["rain_loss_db"]
    names = " and ".join(missing)
    verb, pronoun = ("are", "them") if len(missing) > 1 else ("is", "it")
    example = ", ".join(f"{key} = {1.1 if key.startswith('atm') else 0.0}" for key in missing)
    if config.site is None:
        raise fail(("path", missing[0]),
                   f"[path] {names} {verb} not given and there is no [site] to compute {pronoun} "
                   f"from ITU-R recommendations; give {names} in [path] (e.g. {example}) or add a [site] table with "
                   f"lat_deg, lon_deg and alt_m")
    if atmosphere is None:
        raise fail(("path", missing[0]),
                   f"[path] {names} {verb} not given, and no ITU-R atmosphere model is available here to compute "
                   f"{pronoun} for the [site]; give {names} in [path] (e.g. {example})")
    if elevation_deg is None:
        raise fail(("geometry", "elevation_deg"),
                   f"[path] {names} {verb} computed from ITU-R at the elevation, but there is none; give [geometry] "
                   f"elevation_deg")
    computed = dict(zip(("atmospheric_loss_db", "rain_loss_db"),
                        atmosphere(config.site, frequency_hz=config.link.frequency_hz, elevation_deg=elevation_deg,
                                   availability_percent=config.link.availability_percent), strict=True))
    return tuple(computed[key] if losses[key] is None else losses[key] for key in computed)


def _failer(source: str) -> Callable[..., InvalidInputError]:
    """Return ``fail(loc, message)`` building errors that start with the file name."""
    prefix = f"{source}, " if source else ""

    def fail(loc: tuple[str, ...], message: str) -> InvalidInputError:
        return InvalidInputError(f"{prefix}{message}", loc=("file", source, *loc) if source else loc)

    return fail


def _value(x: Number | None) -> Number | None:
    """Return a float for a scalar (numpy 0-d arrays included), an array otherwise."""
    if x is None:
        return None
    return float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=float)


def _jsonable(x: Number | None) -> float | list | None:
    return x.tolist() if isinstance(x, np.ndarray) else x
