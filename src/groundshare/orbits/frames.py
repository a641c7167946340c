"""Frame rotations as plain functions on arrays.

TEME -> Earth-fixed uses the GMST 1982 angle only (AIAA 2006-6753 Appendix C): the
precession and nutation that TEME leaves out cancel on the way to the Earth-fixed
frame.  Named approximations, measured against Skyfield in ``tests/passes`` and
``bench/passes.py``:

- UT1 = UTC.  |DUT1| < 0.9 s by definition; at 7.3e-5 rad/s it turns the Earth by at
  most 66 µrad, about 28 m at a station, which moves a LEO pass by at most ~4 ms.
- No polar motion (|x_p|, |y_p| < 0.5 arcsec, about 15 m at the surface).
"""

from __future__ import annotations

import numpy as np

from groundshare.timeutil import JULIAN_CENTURY_DAYS, julian_centuries
from groundshare.units import DAY_S, TAU, WGS84_A_KM, WGS84_E2


def gmst82_rad(jd_ut1: np.ndarray, fr_ut1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the GMST 1982 angle (rad, in [0, 2pi)) and its rate (rad/s).

    ``jd_ut1 + fr_ut1`` is the UT1 Julian date, split to keep precision (the
    fraction of a day is taken from each part separately).
    """
    jd_ut1 = np.asarray(jd_ut1, dtype=float)
    fr_ut1 = np.asarray(fr_ut1, dtype=float)
    t = julian_centuries(jd_ut1, fr_ut1)
    # GMST in seconds of time at 0h UT1 plus the polynomial (Aoki et al. 1982).
    g_s = 67310.54841 + (8640184.812866 + (0.093104 - 6.2e-6 * t) * t) * t
    dg_s = 8640184.812866 + (2.0 * 0.093104 - 3.0 * 6.2e-6 * t) * t
    theta = ((jd_ut1 % 1.0) + (fr_ut1 % 1.0) + g_s / DAY_S) % 1.0 * TAU
    theta_dot = (1.0 + dg_s / (DAY_S * JULIAN_CENTURY_DAYS)) * TAU / DAY_S
    return theta, theta_dot


def teme_to_itrs(r_teme_km: np.ndarray, v_teme_km_s: np.ndarray, theta_rad: np.ndarray,
                 theta_dot_rad_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotate TEME states into the Earth-fixed frame (PEF = ITRS without polar motion).

    ``r_teme_km`` and ``v_teme_km_s`` have shape (..., n_time, 3); ``theta_rad`` and
    ``theta_dot_rad_s`` (n_time,) broadcast against them.  The velocity is relative
    to the rotating Earth: ``v_itrs = R v_teme - omega x r_itrs``.
    """
    c = np.cos(theta_rad)[..., None]
    s = np.sin(theta_rad)[..., None]
    w = np.asarray(theta_dot_rad_s)[..., None]
    x, y, z = r_teme_km[..., 0:1], r_teme_km[..., 1:2], r_teme_km[..., 2:3]
    vx, vy, vz = v_teme_km_s[..., 0:1], v_teme_km_s[..., 1:2], v_teme_km_s[..., 2:3]
    xe = c * x + s * y
    ye = c * y - s * x
    r = np.concatenate([xe, ye, z], axis=-1)
    v = np.concatenate([c * vx + s * vy + w * ye, c * vy - s * vx - w * xe, vz], axis=-1)
    return r, v


def geodetic_to_itrs_km(lat_deg: np.ndarray, lon_deg: np.ndarray, alt_m: np.ndarray) -> np.ndarray:
    """Return Earth-fixed positions (..., 3) in km of WGS84 geodetic coordinates."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    h_km = np.asarray(alt_m, dtype=float) / 1000.0
    n_km = WGS84_A_KM / np.sqrt(1.0 - WGS84_E2 * np.sin(lat) ** 2)
    return np.stack([
        (n_km + h_km) * np.cos(lat) * np.cos(lon),
        (n_km + h_km) * np.cos(lat) * np.sin(lon),
        (n_km * (1.0 - WGS84_E2) + h_km) * np.sin(lat),
    ], axis=-1)


def enu_from_itrs(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """Return rotation matrices (..., 3, 3) whose rows are the local east, north and up.

    Up is the WGS84 ellipsoid normal, so elevations are geodetic.
    """
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    zero = np.zeros_like(lat)
    return np.stack([
        np.stack([-so, co, zero], axis=-1),
        np.stack([-sl * co, -sl * so, cl], axis=-1),
        np.stack([cl * co, cl * so, sl], axis=-1),
    ], axis=-2)


def itrs_to_geodetic(r_km: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return WGS84 geodetic latitude (deg), longitude (deg, in [-180, 180)) and height (km).

    ``r_km`` has shape (..., 3), Earth-fixed.  The latitude is iterated from the
    spheroid's own guess (Bowring's form of the fixed point): five rounds leave under a
    micrometre at any height from the surface to GEO; the height uses the form that stays
    well conditioned at the poles.
    """
    r_km = np.asarray(r_km, dtype=float)
    x, y, z = r_km[..., 0], r_km[..., 1], r_km[..., 2]
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1.0 - WGS84_E2))
    for _ in range(5):
        sin_lat = np.sin(lat)
        n_km = WGS84_A_KM / np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
        lat = np.arctan2(z + WGS84_E2 * n_km * sin_lat, p)
    sin_lat, cos_lat = np.sin(lat), np.cos(lat)
    h_km = p * cos_lat + z * sin_lat - WGS84_A_KM * np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
    lon_deg = (np.degrees(np.arctan2(y, x)) + 180.0) % 360.0 - 180.0
    return np.degrees(lat), lon_deg, h_km
