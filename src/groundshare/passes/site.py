"""``Site``: a ground station's antenna location and what it can see."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from groundshare.errors import InvalidInputError
from groundshare.orbits.frames import enu_from_itrs, geodetic_to_itrs_km
from groundshare.passes.horizon import HorizonMask


@dataclass(frozen=True, slots=True)
class Site:
    """A ground station: WGS84 geodetic position, minimum elevation and horizon mask.

    A satellite is visible when its geometric elevation is above both
    ``min_elevation_deg`` and the mask at its azimuth.
    """

    name: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    min_elevation_deg: float = 0.0
    horizon_mask: HorizonMask | None = None

    def __init__(self, name: str, *, lat_deg: float, lon_deg: float, alt_m: float,
                 min_elevation_deg: float = 0.0,
                 horizon_mask: HorizonMask | Iterable[Sequence[float]] | None = None) -> None:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError("station name must be a non-empty string", loc=("name",))
        where = f"station {name!r}"
        checks = (("lat_deg", lat_deg, -90.0, 90.0), ("lon_deg", lon_deg, -180.0, 360.0),
                  ("alt_m", alt_m, -500.0, 10_000.0), ("min_elevation_deg", min_elevation_deg, -10.0, 89.0))
        values = {}
        for field, value, lo, hi in checks:
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise InvalidInputError(f"{where}: {field} must be a number, got {value!r}",
                                        loc=(name, field)) from None
            if not (math.isfinite(number) and lo <= number <= hi):
                raise InvalidInputError(f"{where}: {field} is {value!r}; expected a number in [{lo:g}, {hi:g}]",
                                        loc=(name, field))
            values[field] = number
        if horizon_mask is not None and not isinstance(horizon_mask, HorizonMask):
            try:
                horizon_mask = HorizonMask(horizon_mask)
            except InvalidInputError as exc:
                raise InvalidInputError(f"{where}: {exc}", loc=(name, *exc.loc)) from None
        object.__setattr__(self, "name", name.strip())
        for field, number in values.items():
            object.__setattr__(self, field, number)
        object.__setattr__(self, "horizon_mask", horizon_mask)

    @property
    def has_mask(self) -> bool:
        """Return whether a horizon mask raises the threshold above ``min_elevation_deg`` somewhere."""
        return self.horizon_mask is not None and self.horizon_mask.highest_deg > self.min_elevation_deg

    @property
    def lowest_elevation_deg(self) -> float:
        """Return the lowest elevation at which the site sees anything, in any direction."""
        if self.horizon_mask is None:
            return self.min_elevation_deg
        return max(self.min_elevation_deg, self.horizon_mask.lowest_deg)

    def threshold_deg(self, az_deg: np.ndarray) -> np.ndarray:
        """Return the elevation a satellite must exceed at each azimuth."""
        az_deg = np.asarray(az_deg, dtype=float)
        if self.horizon_mask is None:
            return np.full(az_deg.shape, self.min_elevation_deg)
        return np.maximum(self.min_elevation_deg, self.horizon_mask.min_elevation_deg(az_deg))

    def with_min_elevation(self, min_elevation_deg: float) -> Site:
        """Return a copy with another minimum elevation (the mask is kept)."""
        return Site(self.name, lat_deg=self.lat_deg, lon_deg=self.lon_deg, alt_m=self.alt_m,
                    min_elevation_deg=min_elevation_deg, horizon_mask=self.horizon_mask)


class SiteArrays(NamedTuple):
    """Sites as arrays, built once at the start of a search.

    - ``itrs_km`` (n_site, 3): Earth-fixed positions;
    - ``enu`` (n_site, 3, 3): rows east, north, up;
    - ``sin_low`` (n_site,): sine of the lowest visible elevation;
    - ``masked`` (n_site,): whether the threshold depends on azimuth.
    """

    itrs_km: np.ndarray
    enu: np.ndarray
    sin_low: np.ndarray
    masked: np.ndarray


def sites_to_arrays(sites: Sequence[Site]) -> SiteArrays:
    """Return the arrays the vectorised search needs for ``sites``."""
    lat = np.array([s.lat_deg for s in sites])
    lon = np.array([s.lon_deg for s in sites])
    alt = np.array([s.alt_m for s in sites])
    low = np.array([s.lowest_elevation_deg for s in sites])
    return SiteArrays(geodetic_to_itrs_km(lat, lon, alt), enu_from_itrs(lat, lon),
                      np.sin(np.radians(low)), np.array([s.has_mask for s in sites], dtype=bool))
