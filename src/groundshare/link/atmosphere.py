"""ITU-R attenuation against elevation, tabulated once per station and carrier and cached on disk.

A direct ITU-R call (``link.itu_attenuation.atmospheric_attenuation_db``) costs
milliseconds, so pass computations never call ``itur`` per sample: an
``AttenuationTable`` samples one station, carrier, availability and antenna on an
elevation grid once (one vectorised ``itur`` call), interpolates it, and is cached on
disk by ``attenuation_table``.  ``ItuAtmosphere`` serves those tables to the link budget
(``link.budget.AtmosphereModel``).  The Recommendations, their versions and what happens
outside their ranges are described in ``link.itu_attenuation``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from groundshare.errors import InvalidInputError
from groundshare.link.itu_attenuation import (
    COMPONENTS,
    ITUR_RECOMMENDATION_VERSIONS,
    AtmosphericAttenuation,
    check_elevations,
    check_number,
    check_station_inputs,
    combine_attenuation_db,
    itur_components,
    sky_noise_temperature_k,
)

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
    ``link.itu_attenuation``).

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
        if el.ndim != 1 or values.shape != (len(COMPONENTS), el.size) or not np.isfinite(values).all():
            raise InvalidInputError(f"attenuation table arrays have shapes {el.shape} and {values.shape}; expected "
                                    f"(n,) and ({len(COMPONENTS)}, n) with finite values",
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
        key = check_station_inputs(lat_deg, lon_deg, alt_m, freq_hz, availability_percent=availability_percent,
                                   antenna_diameter_m=antenna_diameter_m, antenna_efficiency=antenna_efficiency,
                                   polarization_tilt_deg=polarization_tilt_deg,
                                   rain_rate_001_mm_h=rain_rate_001_mm_h)
        el_min = check_number("el_min_deg", el_min_deg, 0.1, 5.0, unit="deg",
                              hint="It is the lowest elevation the table answers for; 1 degree suits most stations.")
        el_grid = _el_grid(el_min)
        components = np.stack(itur_components(key, el_grid))
        return cls(**key, el_min_deg=el_min, el_grid_deg=el_grid, components_grid_db=components)

    @property
    def cache_key(self) -> str:
        """Return the hex digest that names this table's cache file (inputs and versions)."""
        return _cache_key(self._inputs())

    def components_db(self, el_deg: Any) -> AtmosphericAttenuation:
        """Return the interpolated components and total at ``el_deg`` (scalar or any shape), in dB."""
        el = check_elevations(el_deg, self.el_min_deg, 90.0, low_open=False,
                              hint="Build the table with a lower el_min_deg, or leave out (or clamp) the "
                                    "samples below it.")
        flat = el.ravel()
        y = np.empty((len(COMPONENTS), flat.size))
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
    key = check_station_inputs(lat_deg, lon_deg, alt_m, freq_hz, availability_percent=availability_percent,
                               antenna_diameter_m=antenna_diameter_m, antenna_efficiency=antenna_efficiency,
                               polarization_tilt_deg=polarization_tilt_deg, rain_rate_001_mm_h=rain_rate_001_mm_h)
    el_min = check_number("el_min_deg", el_min_deg, 0.1, 5.0, unit="deg",
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
