"""ITU-R atmospheric attenuation on Earth-space paths, through the ``itur`` package.

``atmospheric_attenuation_db`` calls ``itur`` (ITU-Rpy 0.4.0) once for a station, a
carrier and any number of elevations and returns the components of ITU-R P.618-13
section 2.5: gases (P.676-12 Annex 2), clouds (P.840-8), rain (P.618-13 s.2.2.1.1,
with P.837-7, P.838-3 and P.839-4) and tropospheric scintillation (P.618-13 s.2.4.1),
and the total ``A = A_G + sqrt((A_R + A_C)^2 + A_S^2)``.  Every value is the
attenuation exceeded for ``p = 100 - availability_percent`` % of an average year; as
P.618 s.2.5 prescribes, gases and clouds are taken at ``max(p, 1)`` %.  A call costs
milliseconds: pass computations use the tables of ``link.atmosphere`` instead.

Recommendation versions.  ``itur`` keeps a module-level "current version" per
Recommendation; ``load_itur`` pins ``ITUR_RECOMMENDATION_VERSIONS``, the versions of
ITU-R Study Group 3's validation examples (CG-3M3J-13-ValEx Rev 5.1) that
tests/link/test_atmosphere.py reproduces.  itur 0.4.0 has nothing newer for P.618,
P.676 or P.840 (no P.618-14, P.676-13, P.840-9).

Validity, as the Recommendations state it, and what happens outside:

- 1-55 GHz (P.618).  Carriers down to 0.1 GHz are accepted for VHF/UHF links: the
  formulas are then extrapolated (at 437 MHz and 99.9 % they give 0.6 dB at 5 degrees,
  0.27 dB at 10, mostly scintillation scaled by f^(7/12)), and the ionospheric effects
  that matter there (P.531) are not included.
- ``p`` from 0.001 % to 50 % (P.618 s.2.5), i.e. availability 50-99.999 %.  The rain
  step of P.618 s.2.2.1.1 is stated for ``p`` up to 5 %; for availability below 95 % it
  is extrapolated, as s.2.5 does.
- Elevation 5-90 degrees for the gas (P.676 Annex 2) and scintillation (P.618 s.2.4.1)
  methods.  Below 5 degrees itur keeps the flat-Earth ``1/sin(el)`` gas and cloud paths
  and the 5-degree scintillation formula, which overestimate: treat values there as
  pessimistic.  Rain uses P.618's own low-elevation path (its Eq. 2).
- Scintillation is specified for 4-20 GHz; itur applies it at any frequency.

``itur`` is imported on first use (under a second, and as long again to read its maps on the
first call), so importing this module stays cheap.  It works offline: its maps ship in
the wheel, and nothing in this path opens a network connection.
"""

from __future__ import annotations

import math
import warnings
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from groundshare.errors import GroundshareError, InvalidInputError

# The versions of ITU-R SG3's validation examples Rev 5.1 (P.618-13 s.2.5 lists the
# rest: P.453-13, P.836-6, P.837-7, P.838-3, P.839-4); P.835, P.1510 and P.1511 feed the
# pressure, mean temperature and (unused here: we pass the altitude) topography.
ITUR_RECOMMENDATION_VERSIONS: dict[str, int] = {
    "itu618": 13, "itu676": 12, "itu840": 8, "itu453": 13, "itu835": 6, "itu836": 6,
    "itu837": 7, "itu838": 3, "itu839": 4, "itu1510": 1, "itu1511": 2,
}

MIN_FREQ_HZ = 0.1e9
MAX_FREQ_HZ = 55e9
MIN_AVAILABILITY_PERCENT = 50.0      # p = 50 %, the upper end of P.618 s.2.5
MAX_AVAILABILITY_PERCENT = 99.999    # p = 0.001 %, the lower end

# ITU-R P.618-13 section 3: T_mr, the mean radiating temperature of the absorbing
# medium (275 K "may be used" for clear and rainy weather), and T_c, the cosmic
# background (2.7 K, P.372).  Below about 2 GHz galactic noise (P.372) exceeds T_c
# and is not included here.
MEAN_RADIATING_TEMPERATURE_K = 275.0
COSMIC_BACKGROUND_K = 2.7

#: The components ``itur_components`` returns, in order (the fields of ``AtmosphericAttenuation`` before the total).
COMPONENTS = ("gas_db", "cloud_db", "rain_db", "scintillation_db")

# itur warnings for ranges this module checks and documents itself; the P.676 one also
# fires, wrongly, at exactly 90 degrees (it tests el mod 90 < 5).
_ITUR_WARNINGS_HANDLED_HERE = (
    r"The approximated method to compute the gaseous attenuation .* elevation angles",
    r"The method to compute the rain attenuation .* unavailability values",
    r"The method to compute the total atmospheric attenuation .* unavailabilities",
)


class AtmosphericAttenuation(NamedTuple):
    """Attenuation components in dB, each float or an array shaped like the elevations.

    - ``gas_db``: oxygen and water vapour, ITU-R P.676-12 Annex 2 (at ``max(p, 1)`` %);
    - ``cloud_db``: cloud liquid water, P.840-8 (at ``max(p, 1)`` %);
    - ``rain_db``: P.618-13 s.2.2.1.1, exceeded for ``p`` %;
    - ``scintillation_db``: tropospheric scintillation fade, P.618-13 s.2.4.1, for ``p`` %;
    - ``total_db``: ``gas + sqrt((rain + cloud)^2 + scintillation^2)``, P.618-13 s.2.5.
    """

    gas_db: Any
    cloud_db: Any
    rain_db: Any
    scintillation_db: Any
    total_db: Any


def combine_attenuation_db(gas_db: Any, cloud_db: Any, rain_db: Any, scintillation_db: Any) -> Any:
    """Return the total attenuation of ITU-R P.618-13 section 2.5 from its components (dB).

    ``A = A_G + sqrt((A_R + A_C)^2 + A_S^2)``; arrays broadcast.

    >>> float(combine_attenuation_db(0.5, 0.25, 2.75, 4.0))
    5.5
    """
    return np.asarray(gas_db) + np.hypot(np.asarray(rain_db) + np.asarray(cloud_db), scintillation_db)


def sky_noise_temperature_k(attenuation_db: Any) -> Any:
    """Return the sky brightness temperature (K) seen through ``attenuation_db`` of atmosphere.

    ``T_sky = T_mr (1 - 10^(-A/10)) + T_c 10^(-A/10)`` (ITU-R P.618-13 section 3) with
    ``T_mr = MEAN_RADIATING_TEMPERATURE_K`` and ``T_c = COSMIC_BACKGROUND_K``: the
    absorbing atmosphere radiates at T_mr and dims the cosmic background.  ``A`` should
    exclude scintillation (P.618 s.3).  This is the absolute temperature of the sky in
    the beam, cosmic background included (2.7 K for no atmosphere); the rise over a clear,
    airless sky is ``sky_noise_temperature_k(A) - COSMIC_BACKGROUND_K``.  Galactic noise,
    ground spill-over and the antenna pattern are not included.

    >>> round(float(sky_noise_temperature_k(0.0)), 6), round(float(sky_noise_temperature_k(3.0)), 1)
    (2.7, 138.5)
    """
    transmission = 10.0 ** (-np.asarray(attenuation_db, dtype=float) / 10.0)
    return MEAN_RADIATING_TEMPERATURE_K * (1.0 - transmission) + COSMIC_BACKGROUND_K * transmission


def load_itur() -> ModuleType:
    """Return the ``itur`` package with ``ITUR_RECOMMENDATION_VERSIONS`` in force.

    itur's import sets numpy's global error state to ignore division by zero; this
    puts the caller's state back.  Pinning changes itur's module-wide current versions,
    so other itur users in the process see these versions too.
    """
    saved = np.geterr()
    try:
        import itur
        import itur.models
    finally:
        np.seterr(**saved)
    for name, version in ITUR_RECOMMENDATION_VERSIONS.items():
        model = getattr(itur.models, name)
        if model.get_version() != version:
            model.change_version(version)
    return itur


def atmospheric_attenuation_db(lat_deg: float, lon_deg: float, alt_m: float, freq_hz: float, el_deg: Any, *,
                               availability_percent: float, antenna_diameter_m: float = 3.0,
                               antenna_efficiency: float = 0.5,
                               polarization_tilt_deg: float = 45.0,
                               rain_rate_001_mm_h: float | None = None) -> AtmosphericAttenuation:
    """Return the ITU-R P.618 attenuation components of an Earth-space path, in dB.

    ``lat_deg``, ``lon_deg``: the station's WGS84 position; ``alt_m``: its height above
    mean sea level; ``freq_hz``: the carrier; ``el_deg``: one elevation or an array of
    any shape, each in (0, 90] (geometric).  ``availability_percent``: the fraction of an
    average year the values are not exceeded, 50 to 99.999 (99.9 means ``p = 0.1`` %).
    ``antenna_diameter_m`` and ``antenna_efficiency`` set the aperture averaging of
    scintillation; ``polarization_tilt_deg`` is the tilt from horizontal, 45 for
    circular polarization (P.838).  ``rain_rate_001_mm_h``: the point rain rate exceeded
    for 0.01 % of an average year where local data give it, as P.618 prefers; None takes
    it from the ITU-R P.837-7 map.

    Returns an ``AtmosphericAttenuation`` of floats for a scalar ``el_deg``, else of
    arrays shaped like it.  One ``itur`` call for all elevations (milliseconds): for
    many samples build an ``AttenuationTable`` (``link.atmosphere``) instead.  See the
    module docstring for the Recommendation versions and what happens outside their ranges.
    """
    key = check_station_inputs(lat_deg, lon_deg, alt_m, freq_hz, availability_percent=availability_percent,
                               antenna_diameter_m=antenna_diameter_m, antenna_efficiency=antenna_efficiency,
                               polarization_tilt_deg=polarization_tilt_deg, rain_rate_001_mm_h=rain_rate_001_mm_h)
    el = check_elevations(el_deg, 0.0, 90.0, low_open=True)
    gas, cloud, rain, scint = itur_components(key, el.ravel())
    shape = el.shape
    parts = [c.reshape(shape) for c in (gas, cloud, rain, scint)]
    total = combine_attenuation_db(*parts)
    if shape == ():
        return AtmosphericAttenuation(*(float(c) for c in (*parts, total)))
    return AtmosphericAttenuation(*parts, total)


# ------------------------------------------- input checks and the itur call, shared with link.atmosphere's tables


def check_number(name: str, value: Any, lo: float, hi: float, *, unit: str, low_open: bool = False,
                 hint: str = "", span: str = "") -> float:
    """Return ``value`` as a float, or raise ``InvalidInputError`` naming ``name`` and the range."""
    span = span or f"{'(' if low_open else '['}{lo:g}, {hi:g}] {unit}".rstrip()
    if isinstance(value, np.generic):
        value = value.item()
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
        if isinstance(value, np.ndarray | list | tuple):
            hint = f"It takes one number, not an array. {hint}".strip()
    too_low = number <= lo if low_open else number < lo
    if not math.isfinite(number) or too_low or number > hi:
        message = f"{name} is {value!r}; expected a number in {span}"
        raise InvalidInputError(f"{message}\n\n{hint}" if hint else message, loc=(name,))
    return number


def check_station_inputs(lat_deg: Any, lon_deg: Any, alt_m: Any, freq_hz: Any, *, availability_percent: Any,
                         antenna_diameter_m: Any, antenna_efficiency: Any,
                         polarization_tilt_deg: Any, rain_rate_001_mm_h: Any = None) -> dict[str, Any]:
    """Return the station inputs as checked floats (longitude in [-180, 180)), keyed by name."""
    freq_hint = "Give the carrier in hertz: 8.2e9 for 8.2 GHz, 437e6 for 437 MHz. ITU-R P.618 covers up to 55 GHz."
    try:
        if 0.0 < float(freq_hz) < MIN_FREQ_HZ:
            freq_hint = f"Is it in GHz or MHz? {freq_hint}"
    except (TypeError, ValueError):
        pass
    lon = check_number("lon_deg", lon_deg, -180.0, 360.0, unit="deg")
    return {
        "lat_deg": check_number("lat_deg", lat_deg, -90.0, 90.0, unit="deg"),
        "lon_deg": (lon + 180.0) % 360.0 - 180.0,
        "alt_m": check_number("alt_m", alt_m, -500.0, 10_000.0, unit="m",
                              hint="Give the station height above mean sea level in metres."),
        "freq_hz": check_number("freq_hz", freq_hz, MIN_FREQ_HZ, MAX_FREQ_HZ, unit="Hz", hint=freq_hint,
                                span="[1e8, 5.5e10] Hz (0.1 to 55 GHz)"),
        "availability_percent": check_number(
            "availability_percent", availability_percent, MIN_AVAILABILITY_PERCENT, MAX_AVAILABILITY_PERCENT,
            unit="%", hint="It is the percentage of an average year the attenuation is not exceeded, e.g. 99.9; "
                           "ITU-R P.618 covers exceedances of 0.001 % to 50 %."),
        "antenna_diameter_m": check_number("antenna_diameter_m", antenna_diameter_m, 0.0, 100.0, unit="m",
                                           low_open=True),
        "antenna_efficiency": check_number("antenna_efficiency", antenna_efficiency, 0.0, 1.0, unit="",
                                           low_open=True, hint="It is the aperture efficiency as a fraction, "
                                                                "e.g. 0.55, not a percentage."),
        "polarization_tilt_deg": check_number("polarization_tilt_deg", polarization_tilt_deg, 0.0, 90.0,
                                              unit="deg", hint="0 is horizontal, 90 vertical, 45 circular."),
        "rain_rate_001_mm_h": None if rain_rate_001_mm_h is None else check_number(
            "rain_rate_001_mm_h", rain_rate_001_mm_h, 0.0, 300.0, unit="mm/h", low_open=True,
            hint="It is the rain rate exceeded for 0.01 % of an average year; pass None for the ITU-R P.837 map."),
    }


def check_elevations(el_deg: Any, lo: float, hi: float, *, low_open: bool, hint: str = "") -> np.ndarray:
    """Return ``el_deg`` as a float array, or raise ``InvalidInputError`` showing a bad value."""
    try:
        el = np.asarray(el_deg, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInputError(f"el_deg is {el_deg!r}; expected numbers in degrees", loc=("el_deg",)) from None
    bad = ~(np.isfinite(el) & ((el > lo) if low_open else (el >= lo)) & (el <= hi))
    if bad.any():
        span = f"{'(' if low_open else '['}{lo:g}, {hi:g}] deg"
        if el.ndim == 0:
            message = f"el_deg is {float(el)!r}; expected an elevation in {span}"
        else:
            index = np.unravel_index(np.flatnonzero(bad.ravel())[0], el.shape)
            shown = index[0] if len(index) == 1 else tuple(int(i) for i in index)
            message = (f"el_deg has {int(bad.sum())} of {el.size} values outside {span}, e.g. "
                       f"{float(el[index])!r} at index {shown}")
        raise InvalidInputError(f"{message}\n\n{hint}" if hint else message, loc=("el_deg",))
    return el


def itur_components(key: dict[str, Any], el_deg: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return gas, cloud, rain and scintillation (dB) from one itur call; ``el_deg`` is (n,)."""
    itur = load_itur()
    p_percent = 100.0 - key["availability_percent"]
    # catch_warnings swaps the process-wide filters (not thread-safe before Python 3.14);
    # tables are built rarely, so this is acceptable.
    with warnings.catch_warnings(), np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        for message in _ITUR_WARNINGS_HANDLED_HERE:
            warnings.filterwarnings("ignore", message=message, category=RuntimeWarning)
        # itur's P.676 zenith water-vapour term evaluates h**b for every frequency and
        # keeps it only above 20 GHz; below, b is huge and it overflows harmlessly.
        contributions = itur.atmospheric_attenuation_slant_path(
            key["lat_deg"], key["lon_deg"], key["freq_hz"] / 1e9, el_deg, p_percent, key["antenna_diameter_m"],
            hs=key["alt_m"] / 1000.0, eta=key["antenna_efficiency"], tau=key["polarization_tilt_deg"],
            R001=key["rain_rate_001_mm_h"],
            return_contributions=True)
    gas, cloud, rain, scint = (np.broadcast_to(np.asarray(c.value, dtype=float), el_deg.shape).copy()
                               for c in contributions[:4])
    for name, values in zip(COMPONENTS, (gas, cloud, rain, scint), strict=True):
        if not np.isfinite(values).all():
            raise GroundshareError(f"itur returned a non-finite {name} for {key} at elevations "
                                   f"{el_deg[~np.isfinite(values)][:5]} deg; please report this input")
    return gas, cloud, rain, scint
