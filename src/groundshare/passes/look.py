"""Look angles of satellites from sites, as plain functions on arrays.

Azimuth is clockwise from true north, 0 <= az < 360, in degrees.  Elevation is
geometric (no refraction) above the WGS84 ellipsoid's local horizon.  The core works
with the sine of the elevation, which needs no arcsine, and its time derivative:

    sin(el) = u / rho,   d sin(el)/dt = (du rho^2 - u (d . d')) / rho^3

where ``d`` is the satellite's position relative to the site in the Earth-fixed frame,
``u`` its up component and ``rho`` its length.  ``look_angles_grid`` answers for every
satellite, site and time at once (visibility tables such as GNSS DOP), with the
elevation from ``arctan2(u, hypot(e, n))``.
"""

from __future__ import annotations

import numpy as np

from groundshare.passes.site import SiteArrays


def topocentric(r_km: np.ndarray, v_km_s: np.ndarray, sites: SiteArrays, site_index: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return sin(elevation), its rate (1/s), azimuth (deg), range (km) and range rate (km/s).

    ``r_km`` and ``v_km_s`` are Earth-fixed states, shape (m, 3); ``site_index`` (m,)
    says which site each row is seen from.  Every result has shape (m,).
    """
    enu = sites.enu[site_index]
    return topocentric_rows(r_km, v_km_s, sites.itrs_km[site_index], enu[:, 0], enu[:, 1], enu[:, 2])


def topocentric_rows(r_km: np.ndarray, v_km_s: np.ndarray, site_km: np.ndarray, east: np.ndarray,
                     north: np.ndarray, up: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return what ``topocentric`` returns, with each row's site given as arrays (m, 3).

    ``site_km`` is the site's Earth-fixed position; ``east``, ``north`` and ``up`` its
    local unit vectors.
    """
    d = r_km - site_km
    e = np.einsum("mj,mj->m", d, east)
    n = np.einsum("mj,mj->m", d, north)
    u = np.einsum("mj,mj->m", d, up)
    de = np.einsum("mj,mj->m", v_km_s, east)
    dn = np.einsum("mj,mj->m", v_km_s, north)
    du = np.einsum("mj,mj->m", v_km_s, up)
    rho2 = e * e + n * n + u * u
    rho = np.sqrt(rho2)
    rho_rhodot = e * de + n * dn + u * du
    sin_el = u / rho
    dsin_el = (du * rho2 - u * rho_rhodot) / (rho2 * rho)
    az_deg = np.degrees(np.arctan2(e, n)) % 360.0
    return sin_el, dsin_el, az_deg, rho, rho_rhodot / rho


def look_angles(r_km: np.ndarray, v_km_s: np.ndarray, sites: SiteArrays, site_index: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return azimuth (deg), elevation (deg), range (km) and range rate (km/s).

    Shapes as in ``topocentric``.
    """
    sin_el, _, az_deg, rho, rho_dot = topocentric(r_km, v_km_s, sites, site_index)
    return az_deg, np.degrees(np.arcsin(np.clip(sin_el, -1.0, 1.0))), rho, rho_dot


def look_angles_grid(r_km: np.ndarray, sites: SiteArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return azimuth (deg), elevation (deg) and range (km) of satellites seen from sites.

    ``r_km`` holds Earth-fixed positions, shape (n_sat, n_time, 3), as
    ``orbits.propagate.propagate_itrs`` returns them; each result has shape
    (n_sat, n_site, n_time).
    """
    d_km = r_km[:, None, :, :] - sites.itrs_km[None, :, None, :]
    e, n, u = np.moveaxis(np.einsum("kij,aktj->akti", sites.enu, d_km), -1, 0)
    az_deg = np.degrees(np.arctan2(e, n)) % 360.0
    el_deg = np.degrees(np.arctan2(u, np.hypot(e, n)))
    return az_deg, el_deg, np.sqrt(e * e + n * n + u * u)
