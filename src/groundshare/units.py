"""Named constants and unit conversions; units also live in every name."""

from __future__ import annotations

import numpy as np

MINUTE_S = 60.0
HOUR_S = 3_600.0
DAY_S = 86_400.0
WEEK_S = 7 * DAY_S
C_M_S = 299_792_458.0
TAU = 2.0 * np.pi

# WGS84 ellipsoid (NIMA TR8350.2), used for station coordinates.
WGS84_A_KM = 6378.137
WGS84_F = 1.0 / 298.257223563
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)

# WGS72 equatorial radius, the one SGP4 is built on (Vallado et al., AIAA 2006-6753).
EARTH_RADIUS_KM = 6378.135

# Nominal Earth rotation rate (IERS), rad/s; the GMST82 rate is computed where it matters.
EARTH_ROTATION_RAD_S = 7.292115146706979e-5


def db(x: np.ndarray | float) -> np.ndarray | float:
    """Return ``10 log10(x)``: a power ratio in decibels."""
    return 10.0 * np.log10(x)


def undb(x_db: np.ndarray | float) -> np.ndarray | float:
    """Return the power ratio for ``x_db`` decibels."""
    return 10.0 ** (np.asarray(x_db) / 10.0)
