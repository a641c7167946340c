"""Interpolated satellite states between SGP4 grid points, and look angles from them.

SGP4 runs once per satellite and grid time (``SatrecArray``); between grid points the
TEME position is the cubic Hermite polynomial through the positions and velocities at
both ends, rotated to the Earth-fixed frame with GMST (linear in time within an
interval).  ``StateGrid.exact_earth_fixed`` calls SGP4 itself, for the final polish.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from groundshare.orbits.frames import gmst82_rad, teme_to_itrs
from groundshare.orbits.propagate import sgp4_pairs
from groundshare.passes.site import SiteArrays
from groundshare.timeutil import jd_fr_after

# f(r_km, v_km_s, site_index) on Earth-fixed states, e.g. sin(el) minus a threshold.
StateFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass
class StateGrid:
    """SGP4 states of one chunk of satellites on its coarse grid."""

    jd0: float
    fr0: float
    t_s: np.ndarray          # (n_t,) seconds since the window start
    r_teme: np.ndarray       # (n_sat, n_t, 3) km
    v_teme: np.ndarray       # (n_sat, n_t, 3) km/s
    valid: np.ndarray        # (n_sat, n_t) SGP4 succeeded
    satrecs: list            # one sgp4 Satrec per satellite, for exact states
    theta_rad: np.ndarray    # (n_t,) GMST on the grid
    theta_dot_rad_s: np.ndarray  # (n_t,) its rate

    def exact_earth_fixed(self, sat: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return exact SGP4 Earth-fixed states (m, 3) and a success flag (m,).

        One ``sgp4_array`` call per satellite involved: the loop is over satellites,
        never over times or sites.
        """
        jd, fr = jd_fr_after(self.jd0, self.fr0, t)
        err, r, v = sgp4_pairs(self.satrecs, sat, jd, fr)
        ok = err == 0
        theta, theta_dot = gmst82_rad(jd, fr)
        r, v = teme_to_itrs(r, v, theta, theta_dot)
        return r, v, ok & finite_vectors(r)

    def hermite(self, sat: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Return the cubic Hermite coefficients (4, 3, m) of satellites ``sat`` over intervals ``k``.

        r(tau) = a0 + a1 tau + a2 tau^2 + a3 tau^3 with tau = (t - t_k) / h in [0, 1], TEME.
        """
        h = (self.t_s[k + 1] - self.t_s[k])[:, None]
        r0, r1 = self.r_teme[sat, k], self.r_teme[sat, k + 1]
        v0, v1 = self.v_teme[sat, k], self.v_teme[sat, k + 1]
        a = np.stack([r0, h * v0, 3.0 * (r1 - r0) - h * (2.0 * v0 + v1), 2.0 * (r0 - r1) + h * (v0 + v1)])
        return a.transpose(0, 2, 1).copy()

    def earth_fixed(self, sat: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return interpolated Earth-fixed states (m, 3) of satellites ``sat`` at times ``t``."""
        k = np.clip(np.searchsorted(self.t_s, t, side="right") - 1, 0, len(self.t_s) - 2)
        h = self.t_s[k + 1] - self.t_s[k]
        tau = (t - self.t_s[k]) / h
        a0, a1, a2, a3 = self.hermite(sat, k)
        r = a0 + tau * (a1 + tau * (a2 + tau * a3))
        v = (a1 + tau * (2.0 * a2 + 3.0 * tau * a3)) / h
        theta, theta_dot = gmst82_rad(*jd_fr_after(self.jd0, self.fr0, t))
        return teme_to_itrs(r.T, v.T, theta, theta_dot)


class Segments:
    """Interpolated states of (satellite, grid interval, site) triples, for repeated evaluation.

    The cubic Hermite polynomial of each interval (TEME), the Earth's rotation angle at
    its start (from the grid) and the site's vectors are gathered once, component by component, so that
    each solver step costs a few dozen multiply-adds per triple.  Within one interval
    GMST is linear in time to far below a microradian.
    """

    def __init__(self, grid: StateGrid, sa: SiteArrays, sat: np.ndarray, k: np.ndarray, site: np.ndarray) -> None:
        self.t0 = grid.t_s[k]
        self.h = grid.t_s[k + 1] - self.t0
        self.a = grid.hermite(sat, k)
        self.theta0, self.theta_dot = grid.theta_rad[k], grid.theta_dot_rad_s[k]
        enu = sa.enu[site]
        # Rows: site x, y, z; east x, y; north x, y, z; up x, y, z (east has no z component).
        self.rows = np.concatenate([sa.itrs_km[site].T, enu[:, 0, :2].T, enu[:, 1].T, enu[:, 2].T])

    def sin_elevation(self, which: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Return sin(el) alone at times ``t`` for triples ``which``."""
        dt = t - self.t0[which]
        tau = dt / self.h[which]
        a0, a1, a2, a3 = self.a[:, :, which]
        r = a0 + tau * (a1 + tau * (a2 + tau * a3))
        theta = self.theta0[which] + self.theta_dot[which] * dt
        c, s = np.cos(theta), np.sin(theta)
        sx, sy, sz, _, _, _, _, _, ux, uy, uz = self.rows[:, which]
        dx, dy, dz = c * r[0] + s * r[1] - sx, c * r[1] - s * r[0] - sy, r[2] - sz
        return (ux * dx + uy * dy + uz * dz) / np.sqrt(dx * dx + dy * dy + dz * dz)

    def look(self, which: np.ndarray, t: np.ndarray, *, azimuth: bool = False,
             curvature: bool = False) -> tuple[np.ndarray, ...]:
        """Return sin(el) and its rate (1/s) at times ``t`` for triples ``which``.

        With ``curvature`` the second derivative (1/s^2) follows, with ``azimuth`` the
        azimuth (deg) comes last.
        """
        h = self.h[which]
        dt = t - self.t0[which]
        tau = dt / h
        a0, a1, a2, a3 = self.a[:, :, which]
        r = a0 + tau * (a1 + tau * (a2 + tau * a3))
        v = (a1 + tau * (2.0 * a2 + 3.0 * tau * a3)) / h
        w = self.theta_dot[which]
        theta = self.theta0[which] + w * dt
        c, s = np.cos(theta), np.sin(theta)
        xe = c * r[0] + s * r[1]
        ye = c * r[1] - s * r[0]
        vxe = c * v[0] + s * v[1] + w * ye
        vye = c * v[1] - s * v[0] - w * xe
        sx, sy, sz, ex, ey, nx, ny, nz, ux, uy, uz = self.rows[:, which]
        dx, dy, dz = xe - sx, ye - sy, r[2] - sz
        e = ex * dx + ey * dy
        n = nx * dx + ny * dy + nz * dz
        u = ux * dx + uy * dy + uz * dz
        de = ex * vxe + ey * vye
        dn = nx * vxe + ny * vye + nz * v[2]
        du = ux * vxe + uy * vye + uz * v[2]
        rho2 = e * e + n * n + u * u
        rho = np.sqrt(rho2)
        rho_dot = (e * de + n * dn + u * du) / rho
        sin_el = u / rho
        dsin_el = (du - sin_el * rho_dot) / rho
        out: tuple[np.ndarray, ...] = (sin_el, dsin_el)
        if curvature:
            # Earth-fixed acceleration: the rotated TEME one, less Coriolis and centrifugal terms.
            acc = (2.0 * a2 + 6.0 * tau * a3) / (h * h)
            axe = c * acc[0] + s * acc[1] + 2.0 * w * vye + w * w * xe
            aye = c * acc[1] - s * acc[0] - 2.0 * w * vxe + w * w * ye
            dde = ex * axe + ey * aye
            ddn = nx * axe + ny * aye + nz * acc[2]
            ddu = ux * axe + uy * aye + uz * acc[2]
            rho_ddot = (de * de + dn * dn + du * du + e * dde + n * ddn + u * ddu - rho_dot * rho_dot) / rho
            out += ((ddu - 2.0 * dsin_el * rho_dot - sin_el * rho_ddot) / rho,)
        if azimuth:
            out += (np.degrees(np.arctan2(e, n)) % 360.0,)
        return out


def finite_vectors(x: np.ndarray) -> np.ndarray:
    """Return whether each 3-vector of ``x`` (..., 3) is finite (``np.isfinite(x).all(axis=-1)``, 20 times faster)."""
    return np.isfinite(x[..., 0]) & np.isfinite(x[..., 1]) & np.isfinite(x[..., 2])


def on_grid(grid: StateGrid, f: StateFn, sat: np.ndarray, site: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Evaluate ``f`` on interpolated states of satellites ``sat`` at ``t`` from ``site``."""
    re, ve = grid.earth_fixed(sat, t)
    return f(re, ve, site)
