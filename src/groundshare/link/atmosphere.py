"""ITU-R atmospheric attenuation on Earth-space paths, through the ``itur`` package.

``atmospheric_attenuation_db`` calls ``itur`` (ITU-Rpy 0.4.0) once for a station, a
carrier and any number of elevations and returns the components of ITU-R P.618-13
section 2.5: gases (P.676-12 Annex 2), clouds (P.840-8), rain (P.618-13 s.2.2.1.1,
with P.837-7, P.838-3 and P.839-4) and tropospheric scintillation (P.618-13 s.2.4.1),
and the total ``A = A_G + sqrt((A_R + A_C)^2 + A_S^2)``.  Every value is the
attenuation exceeded for ``p = 100 - availability_percent`` % of an average year; as
P.618 s.2.5 prescribes, gases and clouds are taken at ``max(p, 1)`` %.

A call costs milliseconds, so pass computations never call ``itur`` per sample: an
``AttenuationTable`` samples one station, carrier, availability and antenna on an
elevation grid once (one vectorised ``itur`` call), interpolates it, and is cached on
disk by ``attenuation_table``.

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

import hashlib
import json
import math
import os
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
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

DEFAULT_EL_MIN_DEG = 1.0

# Bump when the table's grid, interpolation or file layout changes: old cache files
# then stop matching their key and are rebuilt.
TABLE_FORMAT_VERSION = 1

# Where itur's formulas jump (not just bend) as the elevation passes through them:
# P.618-13 Eq. 1 becomes Eq. 2 below 5 degrees (the slant path to the rain height), and
# for |lat| < 36 degrees and p < 1 % the rain exponent's beta switches at 25 degrees
# (itur uses el > 25; the jump is up to 0.4 % of the rain attenuation).  The table is
# built and interpolated separately on each side: [el_min, 5), [5, 25] and (25, 90].
_BELOW_5_DEG = float(np.nextafter(5.0, 0.0))
_ABOVE_25_DEG = float(np.nextafter(25.0, 90.0))

# Grid step in the table's variable t = sqrt(cot(el)).  Gas and cloud attenuation are
# exactly proportional to 1/sin(el), and rain and scintillation nearly so, so the table
# interpolates A sin(el), which is nearly flat.  Near the zenith P.618's rain depends on
# sqrt(L_G) with L_G = (h_R - h_s) cot(el), which is smooth in t but not in el; and a
# uniform step in t puts nodes 0.06 degrees apart at 5 degrees and 1 degree apart at 45
# degrees, where attenuation changes slowly.  0.02 gives at most ~3e-3 dB against
# direct itur calls above 5 degrees wherever A < 20 dB (cubic Hermite, below), so
# about 380 nodes from 1 to 90 degrees: one itur call of ~50 ms.
_T_STEP = 0.02

_COMPONENTS = ("gas_db", "cloud_db", "rain_db", "scintillation_db")

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
    many samples build an ``AttenuationTable`` instead.  See the module docstring for
    the Recommendation versions and what happens outside their ranges.
    """
    key = _check_station_inputs(lat_deg, lon_deg, alt_m, freq_hz, availability_percent=availability_percent,
                                antenna_diameter_m=antenna_diameter_m, antenna_efficiency=antenna_efficiency,
                                polarization_tilt_deg=polarization_tilt_deg, rain_rate_001_mm_h=rain_rate_001_mm_h)
    el = _check_elevations(el_deg, 0.0, 90.0, low_open=True)
    gas, cloud, rain, scint = _itur_components(key, el.ravel())
    shape = el.shape
    parts = [c.reshape(shape) for c in (gas, cloud, rain, scint)]
    total = combine_attenuation_db(*parts)
    if shape == ():
        return AtmosphericAttenuation(*(float(c) for c in (*parts, total)))
    return AtmosphericAttenuation(*parts, total)


@dataclass(frozen=True, eq=False)
class AttenuationTable:
    """Attenuation against elevation for one station, carrier, availability and antenna.

    Built once (``AttenuationTable.build``, or cached: ``attenuation_table``) from one
    vectorised ``itur`` call on a grid from ``el_min_deg`` to 90 degrees, then
    interpolated for any number of elevations in [``el_min_deg``, 90].

    Interpolation: each component is stored as ``A sin(el)`` (constant for gases and
    clouds, nearly so for rain and scintillation) against ``t = sqrt(cot(el))``, and
    interpolated with cubic Hermite polynomials (slopes from three-point differences)
    separately on [el_min, 5), [5, 25] and (25, 90] degrees, where itur's rain formula
    jumps.  The total is recombined from the interpolated components (P.618 s.2.5).
    Against direct ``atmospheric_attenuation_db`` calls the table stays within 0.01 dB
    (about 3e-3 dB at worst measured) at 5 degrees and above wherever the total is under
    20 dB.  Below 5 degrees it is looser (the values there are pessimistic anyway, see
    the module docstring).

    ``el_grid_deg`` (n,) are the nodes, ascending; ``components_grid_db`` (4, n) holds
    gas, cloud, rain and scintillation at the nodes (dB, not multiplied by sin).
    """

    lat_deg: float
    lon_deg: float
    alt_m: float
    freq_hz: float
    availability_percent: float
    antenna_diameter_m: float
    antenna_efficiency: float
    polarization_tilt_deg: float
    rain_rate_001_mm_h: float | None
    el_min_deg: float
    el_grid_deg: np.ndarray
    components_grid_db: np.ndarray
    _segments: list = field(init=False, repr=False)

    def __post_init__(self) -> None:
        el = np.asarray(self.el_grid_deg, dtype=float)
        values = np.asarray(self.components_grid_db, dtype=float)
        if el.ndim != 1 or values.shape != (len(_COMPONENTS), el.size) or not np.isfinite(values).all():
            raise InvalidInputError(f"attenuation table arrays have shapes {el.shape} and {values.shape}; expected "
                                    f"(n,) and ({len(_COMPONENTS)}, n) with finite values",
                                    loc=("components_grid_db",))
        segments: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = []
        for in_segment in _segment_masks(el):
            if in_segment.sum() < 2:
                segments.append(None)
                continue
            t = _t_of_el(el[in_segment])[::-1]        # ascending t is descending elevation
            y = (values[:, in_segment] * np.sin(np.radians(el[in_segment])))[:, ::-1]
            segments.append((t, y, _hermite_slopes(t, y)))
        object.__setattr__(self, "el_grid_deg", el)
        object.__setattr__(self, "components_grid_db", values)
        object.__setattr__(self, "_segments", segments)

    @classmethod
    def build(cls, lat_deg: float, lon_deg: float, alt_m: float, freq_hz: float, *, availability_percent: float,
              antenna_diameter_m: float = 3.0, antenna_efficiency: float = 0.5, polarization_tilt_deg: float = 45.0,
              rain_rate_001_mm_h: float | None = None, el_min_deg: float = DEFAULT_EL_MIN_DEG) -> AttenuationTable:
        """Return a new table from one ``itur`` call (arguments as ``atmospheric_attenuation_db``).

        ``el_min_deg``, 0.1 to 5 degrees (default 1): the lowest elevation the table
        answers for.  Below a degree or so itur's flat-Earth paths are far too
        pessimistic, and few links close there.
        """
        key = _check_station_inputs(lat_deg, lon_deg, alt_m, freq_hz, availability_percent=availability_percent,
                                    antenna_diameter_m=antenna_diameter_m, antenna_efficiency=antenna_efficiency,
                                    polarization_tilt_deg=polarization_tilt_deg,
                                    rain_rate_001_mm_h=rain_rate_001_mm_h)
        el_min = _check_number("el_min_deg", el_min_deg, 0.1, 5.0, unit="deg",
                               hint="It is the lowest elevation the table answers for; 1 degree suits most stations.")
        el_grid = _el_grid(el_min)
        components = np.stack(_itur_components(key, el_grid))
        return cls(**key, el_min_deg=el_min, el_grid_deg=el_grid, components_grid_db=components)

    @property
    def cache_key(self) -> str:
        """Return the hex digest that names this table's cache file (inputs and versions)."""
        return _cache_key(self._inputs())

    def components_db(self, el_deg: Any) -> AtmosphericAttenuation:
        """Return the interpolated components and total at ``el_deg`` (scalar or any shape), in dB."""
        el = _check_elevations(el_deg, self.el_min_deg, 90.0, low_open=False,
                               hint="Build the table with a lower el_min_deg, or leave out (or clamp) the "
                                    "samples below it.")
        flat = el.ravel()
        y = np.empty((len(_COMPONENTS), flat.size))
        t = _t_of_el(flat)
        for in_segment, segment in zip(_segment_masks(flat), self._segments, strict=True):
            if in_segment.any():
                if segment is None:
                    raise InvalidInputError(f"el_deg reaches below this table's grid, which starts at "
                                            f"{self.el_grid_deg[0]:g} deg; rebuild the table", loc=("el_deg",))
                y[:, in_segment] = _hermite(*segment, t[in_segment])
        parts = [c.reshape(el.shape) for c in y / np.sin(np.radians(flat))]
        total = combine_attenuation_db(*parts)
        if el.shape == ():
            return AtmosphericAttenuation(*(float(c) for c in (*parts, total)))
        return AtmosphericAttenuation(*parts, total)

    def attenuation_db(self, el_deg: Any) -> Any:
        """Return the total attenuation (dB, P.618 s.2.5) at ``el_deg`` (scalar or any shape)."""
        return self.components_db(el_deg).total_db

    def sky_noise_temperature_k(self, el_deg: Any) -> Any:
        """Return the sky brightness temperature (K) at ``el_deg`` while the attenuation is this table's.

        That is ``sky_noise_temperature_k(A)`` with ``A = gas + cloud + rain`` (the
        total without scintillation, P.618 s.3), exceeded for the same ``p`` % of the
        year.  It includes the 2.7 K cosmic background; subtract ``COSMIC_BACKGROUND_K``
        for the rise over a clear, airless sky.
        """
        c = self.components_db(el_deg)
        temp_k = sky_noise_temperature_k(c.gas_db + c.cloud_db + c.rain_db)
        return float(temp_k) if np.ndim(temp_k) == 0 else temp_k

    def save_npz(self, path: str | os.PathLike[str]) -> Path:
        """Write the table to ``path`` atomically (a temporary file, then ``os.replace``)."""
        path = Path(path)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, key=np.array(json.dumps(self._inputs(), sort_keys=True)),
                         el_grid_deg=self.el_grid_deg, components_grid_db=self.components_grid_db)
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def from_npz(cls, path: str | os.PathLike[str]) -> AttenuationTable:
        """Return the table stored in ``path`` by ``save_npz``.

        Raises ``InvalidInputError`` when the file is not such a table or was written
        by another table format or itur version; ``OSError`` when it cannot be read.
        """
        # Open the file here: np.load leaks its own handle when a zip is truncated.
        with open(path, "rb") as f:
            try:
                data = np.load(f, allow_pickle=False)
                if not isinstance(data, np.lib.npyio.NpzFile):
                    raise ValueError("an .npy array, not an .npz archive")
                with data:
                    inputs = json.loads(str(data["key"]))
                    el_grid, components = data["el_grid_deg"], data["components_grid_db"]
            except (KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
                raise InvalidInputError(f"{path}: not an attenuation table ({exc}); delete the file",
                                        loc=("file", str(path))) from None
        versions = {k: inputs.get(k) for k in ("format", "itur", "recommendations", "t_step")}
        expected = {**_versions(), "t_step": _T_STEP}
        expected = {k: expected[k] for k in versions}
        if versions != expected:
            raise InvalidInputError(f"{path}: the table was written with {versions}, not {expected}; rebuild it",
                                    loc=("file", str(path)))
        fields = {k: inputs[k] for k in _STATION_FIELDS}
        return cls(**fields, el_min_deg=inputs["el_min_deg"], el_grid_deg=el_grid, components_grid_db=components)

    def _inputs(self) -> dict[str, Any]:
        values = {k: getattr(self, k) for k in _STATION_FIELDS}
        return {**values, "el_min_deg": self.el_min_deg, "t_step": _T_STEP, **_versions()}


class ItuAtmosphere:
    """ITU-R attenuation for ``link.budget``'s ``AtmosphereModel``, one table per station and carrier.

    Called with a ``SitePosition`` (anything with ``lat_deg``, ``lon_deg``, ``alt_m``),
    it returns ``(atmospheric_loss_db, rain_loss_db)``: rain, and the rest of the
    P.618 s.2.5 total (gases, clouds and scintillation as that section combines them),
    so that their sum is the P.618 total.  Tables come from ``attenuation_table``
    (``cache_dir`` as there) and are kept by the instance.
    """

    def __init__(self, *, antenna_diameter_m: float = 3.0, antenna_efficiency: float = 0.5,
                 polarization_tilt_deg: float = 45.0, el_min_deg: float = DEFAULT_EL_MIN_DEG,
                 cache_dir: str | os.PathLike[str] | None = None) -> None:
        self.antenna = {"antenna_diameter_m": antenna_diameter_m, "antenna_efficiency": antenna_efficiency,
                        "polarization_tilt_deg": polarization_tilt_deg}
        self.el_min_deg = el_min_deg
        self.cache_dir = cache_dir
        self._tables: dict[tuple[float, ...], AttenuationTable] = {}

    def __call__(self, site: Any, *, frequency_hz: float, elevation_deg: Any,
                 availability_percent: float) -> tuple[Any, Any]:
        key = (site.lat_deg, site.lon_deg, site.alt_m, frequency_hz, availability_percent)
        table = self._tables.get(key)
        if table is None:
            table = attenuation_table(site.lat_deg, site.lon_deg, site.alt_m, frequency_hz,
                                      availability_percent=availability_percent, el_min_deg=self.el_min_deg,
                                      cache_dir=self.cache_dir, **self.antenna)
            self._tables[key] = table
        c = table.components_db(elevation_deg)
        return c.total_db - c.rain_db, c.rain_db


def default_cache_dir() -> Path:
    """Return where tables are cached: ``$GROUNDSHARE_CACHE_DIR/atmosphere``.

    Without ``GROUNDSHARE_CACHE_DIR``, groundshare's cache is ``$XDG_CACHE_HOME/groundshare``
    (``~/.cache/groundshare`` when ``XDG_CACHE_HOME`` is unset or empty).
    """
    root = os.environ.get("GROUNDSHARE_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = os.path.join(xdg if xdg else os.path.join(os.path.expanduser("~"), ".cache"), "groundshare")
    return Path(root) / "atmosphere"


def attenuation_table(lat_deg: float, lon_deg: float, alt_m: float, freq_hz: float, *,
                      availability_percent: float, antenna_diameter_m: float = 3.0,
                      antenna_efficiency: float = 0.5, polarization_tilt_deg: float = 45.0,
                      rain_rate_001_mm_h: float | None = None, el_min_deg: float = DEFAULT_EL_MIN_DEG,
                      cache_dir: str | os.PathLike[str] | None = None) -> AttenuationTable:
    """Return the ``AttenuationTable`` for these inputs, from the disk cache or built and cached.

    Arguments as ``AttenuationTable.build``.  The cache file is
    ``<cache_dir>/atmosphere-<key>.npz``, ``key`` a SHA-256 of every input, the itur
    version, the Recommendation versions and ``TABLE_FORMAT_VERSION``; ``cache_dir``
    defaults to ``default_cache_dir()``.  A file that cannot be read or does not hold
    the expected table is rebuilt and replaced.  Writes are atomic, so concurrent
    builders at worst both build.  When the cache cannot be written the table is
    returned anyway, with a ``RuntimeWarning``.
    """
    key = _check_station_inputs(lat_deg, lon_deg, alt_m, freq_hz, availability_percent=availability_percent,
                                antenna_diameter_m=antenna_diameter_m, antenna_efficiency=antenna_efficiency,
                                polarization_tilt_deg=polarization_tilt_deg, rain_rate_001_mm_h=rain_rate_001_mm_h)
    el_min = _check_number("el_min_deg", el_min_deg, 0.1, 5.0, unit="deg",
                           hint="It is the lowest elevation the table answers for; 1 degree suits most stations.")
    inputs = {**key, "el_min_deg": el_min, "t_step": _T_STEP, **_versions()}
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"atmosphere-{_cache_key(inputs)[:32]}.npz"
    if path.is_file():
        try:
            table = AttenuationTable.from_npz(path)
            if table._inputs() == inputs:
                return table
        except Exception:  # any unreadable, truncated or foreign cache file is simply rebuilt
            pass
    table = AttenuationTable.build(**key, el_min_deg=el_min)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        table.save_npz(path)
    except OSError as exc:
        warnings.warn(f"could not write the attenuation table cache {path} ({exc}); the table was built but will be "
                      "built again next time.  Set GROUNDSHARE_CACHE_DIR to a writable folder",
                      RuntimeWarning, stacklevel=2)
    return table


# ---------------------------------------------------------------------------- internals

_STATION_FIELDS = ("lat_deg", "lon_deg", "alt_m", "freq_hz", "availability_percent", "antenna_diameter_m",
                   "antenna_efficiency", "polarization_tilt_deg", "rain_rate_001_mm_h")


def _versions() -> dict[str, Any]:
    from importlib.metadata import version

    return {"format": TABLE_FORMAT_VERSION, "itur": version("itur"), "recommendations": ITUR_RECOMMENDATION_VERSIONS}


def _cache_key(inputs: dict[str, Any]) -> str:
    # json of floats uses repr, which round-trips exactly: equal inputs, equal keys.
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def _check_number(name: str, value: Any, lo: float, hi: float, *, unit: str, low_open: bool = False,
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


def _check_station_inputs(lat_deg: Any, lon_deg: Any, alt_m: Any, freq_hz: Any, *, availability_percent: Any,
                          antenna_diameter_m: Any, antenna_efficiency: Any,
                          polarization_tilt_deg: Any, rain_rate_001_mm_h: Any = None) -> dict[str, Any]:
    """Return the station inputs as checked floats (longitude in [-180, 180)), keyed by name."""
    freq_hint = "Give the carrier in hertz: 8.2e9 for 8.2 GHz, 437e6 for 437 MHz. ITU-R P.618 covers up to 55 GHz."
    try:
        if 0.0 < float(freq_hz) < MIN_FREQ_HZ:
            freq_hint = f"Is it in GHz or MHz? {freq_hint}"
    except (TypeError, ValueError):
        pass
    lon = _check_number("lon_deg", lon_deg, -180.0, 360.0, unit="deg")
    return {
        "lat_deg": _check_number("lat_deg", lat_deg, -90.0, 90.0, unit="deg"),
        "lon_deg": (lon + 180.0) % 360.0 - 180.0,
        "alt_m": _check_number("alt_m", alt_m, -500.0, 10_000.0, unit="m",
                               hint="Give the station height above mean sea level in metres."),
        "freq_hz": _check_number("freq_hz", freq_hz, MIN_FREQ_HZ, MAX_FREQ_HZ, unit="Hz", hint=freq_hint,
                                 span="[1e8, 5.5e10] Hz (0.1 to 55 GHz)"),
        "availability_percent": _check_number(
            "availability_percent", availability_percent, MIN_AVAILABILITY_PERCENT, MAX_AVAILABILITY_PERCENT,
            unit="%", hint="It is the percentage of an average year the attenuation is not exceeded, e.g. 99.9; "
                           "ITU-R P.618 covers exceedances of 0.001 % to 50 %."),
        "antenna_diameter_m": _check_number("antenna_diameter_m", antenna_diameter_m, 0.0, 100.0, unit="m",
                                            low_open=True),
        "antenna_efficiency": _check_number("antenna_efficiency", antenna_efficiency, 0.0, 1.0, unit="",
                                            low_open=True, hint="It is the aperture efficiency as a fraction, "
                                                                "e.g. 0.55, not a percentage."),
        "polarization_tilt_deg": _check_number("polarization_tilt_deg", polarization_tilt_deg, 0.0, 90.0,
                                               unit="deg", hint="0 is horizontal, 90 vertical, 45 circular."),
        "rain_rate_001_mm_h": None if rain_rate_001_mm_h is None else _check_number(
            "rain_rate_001_mm_h", rain_rate_001_mm_h, 0.0, 300.0, unit="mm/h", low_open=True,
            hint="It is the rain rate exceeded for 0.01 % of an average year; pass None for the ITU-R P.837 map."),
    }


def _check_elevations(el_deg: Any, lo: float, hi: float, *, low_open: bool, hint: str = "") -> np.ndarray:
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


def _itur_components(key: dict[str, Any], el_deg: np.ndarray) -> tuple[np.ndarray, ...]:
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
    for name, values in zip(_COMPONENTS, (gas, cloud, rain, scint), strict=True):
        if not np.isfinite(values).all():
            raise GroundshareError(f"itur returned a non-finite {name} for {key} at elevations "
                                   f"{el_deg[~np.isfinite(values)][:5]} deg; please report this input")
    return gas, cloud, rain, scint


def _t_of_el(el_deg: np.ndarray) -> np.ndarray:
    """Return the table's variable ``t = sqrt(cot(el))`` (0 at the zenith)."""
    el_rad = np.radians(el_deg)
    return np.sqrt(np.maximum(np.cos(el_rad), 0.0) / np.sin(el_rad))


def _segment_masks(el_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return which elevations fall in [.., 5), [5, 25] and (25, ..]: itur is smooth inside each."""
    return el_deg < 5.0, (el_deg >= 5.0) & (el_deg <= 25.0), el_deg > 25.0


def _el_grid(el_min_deg: float) -> np.ndarray:
    """Return the table's nodes (deg, ascending), uniform in ``t`` within each segment."""
    pieces = []
    # Below 5 degrees the grid starts at 4.9 at the latest, so that the segment has width.
    for lo, hi in ((min(el_min_deg, 4.9), _BELOW_5_DEG), (5.0, 25.0), (_ABOVE_25_DEG, 90.0)):
        t_lo, t_hi = _t_of_el(np.array([hi, lo]))
        n = max(int(np.ceil((t_hi - t_lo) / _T_STEP)), 3) + 1
        el = np.degrees(np.arctan2(1.0, np.linspace(t_lo, t_hi, n) ** 2))[::-1]
        el[0], el[-1] = lo, hi              # exactly on the breakpoints, on the right side
        pieces.append(el)
    return np.concatenate(pieces)


def _hermite_slopes(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return dy/dt at the nodes from the parabola through each node and its neighbours.

    ``t`` (n,) ascending, ``y`` (k, n).  Local (a kink disturbs only its neighbours),
    third-order accurate; one-sided three-point parabolas at the ends.
    """
    h = np.diff(t)
    d = np.diff(y, axis=1) / h
    m = np.empty_like(y)
    if t.size == 2:
        m[:] = d
        return m
    m[:, 1:-1] = (h[1:] * d[:, :-1] + h[:-1] * d[:, 1:]) / (h[:-1] + h[1:])
    m[:, 0] = ((2.0 * h[0] + h[1]) * d[:, 0] - h[0] * d[:, 1]) / (h[0] + h[1])
    m[:, -1] = ((2.0 * h[-1] + h[-2]) * d[:, -1] - h[-1] * d[:, -2]) / (h[-1] + h[-2])
    return m


def _hermite(t: np.ndarray, y: np.ndarray, m: np.ndarray, tq: np.ndarray) -> np.ndarray:
    """Return the cubic Hermite interpolant of nodes ``t``, values ``y`` and slopes ``m`` at ``tq``."""
    i = np.clip(np.searchsorted(t, tq, side="right") - 1, 0, t.size - 2)
    h = t[i + 1] - t[i]
    s = (tq - t[i]) / h
    s2, s3 = s * s, s * s * s
    return ((2 * s3 - 3 * s2 + 1) * y[:, i] + (s3 - 2 * s2 + s) * h * m[:, i]
            + (-2 * s3 + 3 * s2) * y[:, i + 1] + (s3 - s2) * h * m[:, i + 1])
