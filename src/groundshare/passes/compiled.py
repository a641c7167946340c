"""The pass engine's refinement loops compiled with numba: one loop per bracket.

The same algorithms as ``passes.roots`` and ``interpolate.Segments`` (the numpy
kernel), written for one bracket at a time: the Hermite polynomial of a grid
interval, its rotation to the Earth-fixed frame and the look angles from a site are
evaluated in registers, and Newton's method or the safeguarded solver runs to
convergence inside the loop, instead of a round of array temporaries per step.  Every
formula is the numpy kernel's, in the same order of operations, so both give the same
event times (the only differences are the last bits of ``sin``/``cos`` from another
maths library: well under a nanosecond after convergence; ``tests/passes`` holds them
to a microsecond).

Importing this module imports numba (``pip install 'groundshare[fast]'``); ``passes.kernel``
does so only when the compiled kernel is chosen.  The functions are compiled on
their first call and cached on disk (``cache=True``: in ``__pycache__`` beside this
file, or numba's per-user cache where that is read-only), so a new process loads them
in a fraction of a second.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from groundshare.passes.roots import NEWTON_STEPS, REFINE_TOL_S, TOL_S
from groundshare.passes.site import SiteArrays
from groundshare.timeutil import J2000_JD, JULIAN_CENTURY_DAYS
from groundshare.units import DAY_S, TAU

# Division by zero gives inf/nan as in numpy (numba's default would raise), which the
# solvers test for; no fastmath, so that the operations are numpy's, in its order.
_JIT = {"cache": True, "error_model": "numpy", "nogil": True}


def site_rows(sa: SiteArrays) -> np.ndarray:
    """Return (n_site, 11): site x, y, z; east x, y; north x, y, z; up x, y, z (as ``Segments``)."""
    enu = sa.enu
    return np.ascontiguousarray(np.concatenate([sa.itrs_km, enu[:, 0, :2], enu[:, 1], enu[:, 2]], axis=1))


@njit(inline="always", **_JIT)
def _hermite(r0, r1, v0, v1, h, tau):
    """Return position, velocity and acceleration of one component of the cubic Hermite polynomial."""
    a1 = h * v0
    a2 = 3.0 * (r1 - r0) - h * (2.0 * v0 + v1)
    a3 = 2.0 * (r0 - r1) + h * (v0 + v1)
    return (r0 + tau * (a1 + tau * (a2 + tau * a3)), (a1 + tau * (2.0 * a2 + 3.0 * tau * a3)) / h,
            (2.0 * a2 + 6.0 * tau * a3) / (h * h))


@njit(**_JIT)
def _look(r, v, t_s, theta, theta_dot, rows, s, k, site, t, need):
    """Return (sin_el, rate, curvature, east, north) of triple (s, k, site) at ``t``.

    ``need``: 0 sin(el) alone (``Segments.sin_elevation``'s formula), 1 with its rate, 2
    with the curvature as well (``Segments.look``).
    """
    t0 = t_s[k]
    h = t_s[k + 1] - t0
    dt = t - t0
    tau = dt / h
    w = theta_dot[k]
    th = theta[k] + w * dt
    c = math.cos(th)
    sn = math.sin(th)
    sx, sy, sz = rows[site, 0], rows[site, 1], rows[site, 2]
    ex, ey = rows[site, 3], rows[site, 4]
    nx, ny, nz = rows[site, 5], rows[site, 6], rows[site, 7]
    ux, uy, uz = rows[site, 8], rows[site, 9], rows[site, 10]
    p0, v0_, a0_ = _hermite(r[s, k, 0], r[s, k + 1, 0], v[s, k, 0], v[s, k + 1, 0], h, tau)
    p1, v1_, a1_ = _hermite(r[s, k, 1], r[s, k + 1, 1], v[s, k, 1], v[s, k + 1, 1], h, tau)
    p2, v2_, a2_ = _hermite(r[s, k, 2], r[s, k + 1, 2], v[s, k, 2], v[s, k + 1, 2], h, tau)
    xe = c * p0 + sn * p1
    ye = c * p1 - sn * p0
    dx, dy, dz = xe - sx, ye - sy, p2 - sz
    if need == 0:
        sin_el = (ux * dx + uy * dy + uz * dz) / math.sqrt(dx * dx + dy * dy + dz * dz)
        return sin_el, 0.0, 0.0, 0.0, 0.0
    vxe = c * v0_ + sn * v1_ + w * ye
    vye = c * v1_ - sn * v0_ - w * xe
    e = ex * dx + ey * dy
    n = nx * dx + ny * dy + nz * dz
    u = ux * dx + uy * dy + uz * dz
    de = ex * vxe + ey * vye
    dn = nx * vxe + ny * vye + nz * v2_
    du = ux * vxe + uy * vye + uz * v2_
    rho2 = e * e + n * n + u * u
    rho = math.sqrt(rho2)
    rho_dot = (e * de + n * dn + u * du) / rho
    sin_el = u / rho
    dsin_el = (du - sin_el * rho_dot) / rho
    if need == 1:
        return sin_el, dsin_el, 0.0, e, n
    axe = c * a0_ + sn * a1_ + 2.0 * w * vye + w * w * xe
    aye = c * a1_ - sn * a0_ - 2.0 * w * vxe + w * w * ye
    dde = ex * axe + ey * aye
    ddn = nx * axe + ny * aye + nz * a2_
    ddu = ux * axe + uy * aye + uz * a2_
    rho_ddot = (de * de + dn * dn + du * du + e * dde + n * ddn + u * ddu - rho_dot * rho_dot) / rho
    curv = (ddu - 2.0 * dsin_el * rho_dot - sin_el * rho_ddot) / rho
    return sin_el, dsin_el, curv, e, n


@njit(**_JIT)
def _value(r, v, t_s, theta, theta_dot, rows, sin_low, s, k, site, t, of_rate):
    """Return (value, slope) of the function solved: sin(el) - sin_low, or the rate of sin(el)."""
    sin_el, rate, curv, _, _ = _look(r, v, t_s, theta, theta_dot, rows, s, k, site, t, 2 if of_rate else 1)
    if of_rate:
        return rate, curv
    return sin_el - sin_low[site], rate


@njit(**_JIT)
def _signbit(x):
    return math.copysign(1.0, x) < 0.0


@njit(**_JIT)
def _bracket(r, v, t_s, theta, theta_dot, rows, sin_low, s, k, site, of_rate, lo, hi, f_lo, f_hi, tol, newton):
    """Return the sign change in [lo, hi]: ``roots.solve_brackets`` for one bracket."""
    x = hi - f_hi * (hi - lo) / (f_hi - f_lo)
    if not (math.isfinite(x) and x > lo and x < hi):
        x = 0.5 * (lo + hi)
    root = 0.5 * (lo + hi)
    if not hi - lo > tol:
        return root
    kept = 0
    while True:
        fx, slope = _value(r, v, t_s, theta, theta_dot, rows, sin_low, s, k, site, x, of_rate)
        to_lo = _signbit(fx) == _signbit(f_lo)
        if to_lo:
            lo, f_lo = x, fx
        else:
            hi, f_hi = x, fx
        if newton:
            x_next = x - fx / slope
        else:
            if to_lo and kept == -1:
                f_hi = 0.5 * f_hi
            if not to_lo and kept == 1:
                f_lo = 0.5 * f_lo
            kept = -1 if to_lo else 1
            x_next = hi - f_hi * (hi - lo) / (f_hi - f_lo)
        inside = math.isfinite(x_next) and x_next > lo and x_next < hi
        if not inside:
            x_next = 0.5 * (lo + hi)
        narrow = hi - lo <= tol
        done = (inside and abs(x_next - x) <= 0.5 * tol) or narrow or fx == 0.0
        if fx == 0.0:
            return x
        if done:
            return 0.5 * (lo + hi) if narrow else x_next
        x = x_next


@njit(**_JIT)
def _cubic_guess(t_s, y, dy, s, k, site, lo, hi, of_rate, offset):
    """Return ``roots.cubic_guess`` for one bracket."""
    t0 = t_s[k]
    h = t_s[k + 1] - t0
    y0, y1 = y[s, k, site] - offset, y[s, k + 1, site] - offset
    m0, m1 = dy[s, k, site] * h, dy[s, k + 1, site] * h
    c1 = m0
    c2 = 3.0 * (y1 - y0) - 2.0 * m0 - m1
    c3 = 2.0 * (y0 - y1) + m0 + m1
    tau_lo, tau_hi = (lo - t0) / h, (hi - t0) / h
    tau = 0.5 * (tau_lo + tau_hi)
    for _ in range(6):
        if of_rate:
            f = c1 + tau * (2.0 * c2 + 3.0 * c3 * tau)
            slope = 2.0 * c2 + 6.0 * c3 * tau
        else:
            f = y0 + tau * (c1 + tau * (c2 + tau * c3))
            slope = c1 + tau * (2.0 * c2 + 3.0 * c3 * tau)
        step = f / slope
        tau_next = min(max(tau - step if math.isfinite(step) else tau, tau_lo), tau_hi)
        if tau_next == tau:
            break           # a fixed point: the remaining rounds would not move it either
        tau = tau_next
    return t0 + tau * h


@njit(**_JIT)
def refine(r, v, t_s, theta, theta_dot, rows, sin_low, sat, k, site, lo, hi, f_lo, f_hi, y, dy, of_rate):
    """Return ``roots.solve_from_guess`` (to ``REFINE_TOL_S``) from ``roots.cubic_guess`` for every bracket.

    ``y`` is sin(el) on the grid, ``dy`` its rate.
    """
    out = np.empty(sat.size)
    for i in range(sat.size):
        s, kk, st = sat[i], k[i], site[i]
        x = _cubic_guess(t_s, y, dy, s, kk, st, lo[i], hi[i], of_rate, 0.0 if of_rate else sin_low[st])
        solved = False
        for _ in range(NEWTON_STEPS):
            if of_rate:
                value, slope = _value(r, v, t_s, theta, theta_dot, rows, sin_low, s, kk, st, x, True)
                predicted = np.inf
            else:
                sin_el, slope, curv, _, _ = _look(r, v, t_s, theta, theta_dot, rows, s, kk, st, x, 2)
                value = sin_el - sin_low[st]
            step = value / slope
            if not of_rate:
                predicted = abs(curv / (2.0 * slope)) * step * step
            x_new = x - step
            if not math.isfinite(x_new) or x_new < lo[i] or x_new > hi[i]:
                break
            x = x_new
            if abs(step) <= 0.5 * REFINE_TOL_S or predicted <= 0.5 * REFINE_TOL_S:
                solved = True
                break
        if not solved:
            x = _bracket(r, v, t_s, theta, theta_dot, rows, sin_low, s, kk, st, of_rate, lo[i], hi[i], f_lo[i],
                         f_hi[i], REFINE_TOL_S, True)
        out[i] = x
    return out


@njit(**_JIT)
def brackets(r, v, t_s, theta, theta_dot, rows, sin_low, sat, k, site, lo, hi, f_lo, f_hi, of_rate):
    """Return ``roots.solve_brackets`` (regula falsi, Illinois) for every bracket."""
    out = np.empty(sat.size)
    for i in range(sat.size):
        out[i] = _bracket(r, v, t_s, theta, theta_dot, rows, sin_low, sat[i], k[i], site[i], of_rate, lo[i], hi[i],
                          f_lo[i], f_hi[i], TOL_S, False)
    return out


@njit(**_JIT)
def look(r, v, t_s, theta, theta_dot, rows, sat, k, site, t, need, azimuth):
    """Return sin(el), its rate, curvature and azimuth (deg; zeros unless asked) for every triple."""
    m = sat.size
    sin_el, rate, curv, az = np.empty(m), np.empty(m), np.empty(m), np.zeros(m)
    for i in range(m):
        sin_el[i], rate[i], curv[i], e, n = _look(r, v, t_s, theta, theta_dot, rows, sat[i], k[i], site[i], t[i],
                                                  need)
        if azimuth:
            az[i] = np.degrees(math.atan2(e, n)) % 360.0
    return sin_el, rate, curv, az


@njit(**_JIT)
def peak_scan(r, v, t_s, theta, theta_dot, rows, sin_low, sat, k, site, frac):
    """Return, per triple, the highest sin(el) - sin_low at ``t_k + h frac`` (``Segments.sin_elevation``)."""
    out = np.empty(sat.size)
    for i in range(sat.size):
        h = t_s[k[i] + 1] - t_s[k[i]]
        best = -np.inf
        for f in frac:
            t = t_s[k[i]] + h * f
            g = _look(r, v, t_s, theta, theta_dot, rows, sat[i], k[i], site[i], t, 0)[0] - sin_low[site[i]]
            best = max(best, g)
        out[i] = best
    return out


@njit(**_JIT)
def grid_look(r, v, theta, theta_dot, valid, t_s, itrs, enu, sin_low):
    """Return sin(el), its rate (both (n_sat, n_t, n_site)) and ``near`` ((n_sat, n_t - 1, n_site)).

    The TEME grid states rotated to the Earth-fixed frame (``frames.teme_to_itrs``), then the
    screen and look angles of ``NumpyKernel.grid_look``, point by point.
    """
    n_sat, n_t = valid.shape
    n_site = sin_low.size
    sin_el = np.full((n_sat, n_t, n_site), -2.0)
    dsin_el = np.zeros((n_sat, n_t, n_site))
    near = np.zeros((n_sat, n_t - 1, n_site), dtype=np.bool_)
    height = np.empty((n_t, n_site))
    r_e = np.empty((n_t, 3))
    v_e = np.empty((n_t, 3))
    cos_t = np.cos(theta)
    sin_t = np.sin(theta)
    up_site = np.empty(n_site)
    for j in range(n_site):
        up_site[j] = itrs[j, 0] * enu[j, 2, 0] + itrs[j, 1] * enu[j, 2, 1] + itrs[j, 2] * enu[j, 2, 2]
    for s in range(n_sat):
        speed_max = 0.0
        for i in range(n_t):
            c, sn, w = cos_t[i], sin_t[i], theta_dot[i]
            x, y, z = r[s, i, 0], r[s, i, 1], r[s, i, 2]
            xe = c * x + sn * y
            ye = c * y - sn * x
            r_e[i, 0], r_e[i, 1], r_e[i, 2] = xe, ye, z
            v_e[i, 0] = c * v[s, i, 0] + sn * v[s, i, 1] + w * ye
            v_e[i, 1] = c * v[s, i, 1] - sn * v[s, i, 0] - w * xe
            v_e[i, 2] = v[s, i, 2]
            if valid[s, i]:
                vx, vy, vz = v_e[i, 0], v_e[i, 1], v_e[i, 2]
                speed_max = max(speed_max, math.sqrt(vx * vx + vy * vy + vz * vz))
            for j in range(n_site):
                if valid[s, i]:
                    height[i, j] = (r_e[i, 0] * enu[j, 2, 0] + r_e[i, 1] * enu[j, 2, 1]
                                    + r_e[i, 2] * enu[j, 2, 2]) - up_site[j]
                else:
                    height[i, j] = -1e9
        for i in range(n_t - 1):
            if valid[s, i] and valid[s, i + 1]:
                margin = (speed_max * 1.01 + 0.01) * (t_s[i + 1] - t_s[i])
                for j in range(n_site):
                    near[s, i, j] = sin_low[j] < 0.0 or height[i, j] + height[i + 1, j] > -margin
        for i in range(n_t):
            if not valid[s, i]:
                continue
            for j in range(n_site):
                if not (height[i, j] > 0.0 or (i > 0 and near[s, i - 1, j]) or (i < n_t - 1 and near[s, i, j])):
                    continue
                dx = r_e[i, 0] - itrs[j, 0]
                dy = r_e[i, 1] - itrs[j, 1]
                dz = r_e[i, 2] - itrs[j, 2]
                e = dx * enu[j, 0, 0] + dy * enu[j, 0, 1] + dz * enu[j, 0, 2]
                n = dx * enu[j, 1, 0] + dy * enu[j, 1, 1] + dz * enu[j, 1, 2]
                u = dx * enu[j, 2, 0] + dy * enu[j, 2, 1] + dz * enu[j, 2, 2]
                vx, vy, vz = v_e[i, 0], v_e[i, 1], v_e[i, 2]
                de = vx * enu[j, 0, 0] + vy * enu[j, 0, 1] + vz * enu[j, 0, 2]
                dn = vx * enu[j, 1, 0] + vy * enu[j, 1, 1] + vz * enu[j, 1, 2]
                du = vx * enu[j, 2, 0] + vy * enu[j, 2, 1] + vz * enu[j, 2, 2]
                rho2 = e * e + n * n + u * u
                rho = math.sqrt(rho2)
                rho_rhodot = e * de + n * dn + u * du
                sin_el[s, i, j] = u / rho
                dsin_el[s, i, j] = (du * rho2 - u * rho_rhodot) / (rho2 * rho)
    return sin_el, dsin_el, near


@njit(**_JIT)
def grid_events(sin_el, dsin_el, near, valid, sin_low):
    """Return (sat, k, site, kind) of the grid intervals holding an event, in ``np.nonzero``'s order.

    ``kind``: 0 rise, 1 set, 2 a maximum between two points below the threshold (near
    intervals only), 3 a rise where SGP4 failed at the left end, 4 a set where it fails at
    the right end (``NumpyKernel.grid_events``).
    """
    n_sat, n_t, n_site = sin_el.shape
    count = 0
    for stage in range(2):
        if stage == 1:
            sat = np.empty(count, dtype=np.int64)
            k_out = np.empty(count, dtype=np.int64)
            site = np.empty(count, dtype=np.int64)
            kind = np.empty(count, dtype=np.int64)
            count = 0
        for s in range(n_sat):
            for k in range(n_t - 1):
                for j in range(n_site):
                    a0 = sin_el[s, k, j] - sin_low[j] > 0.0
                    a1 = sin_el[s, k + 1, j] - sin_low[j] > 0.0
                    if a0 == a1:
                        if a0 or not near[s, k, j] or not (dsin_el[s, k, j] > 0.0 and dsin_el[s, k + 1, j] <= 0.0):
                            continue
                        what = 2
                    elif a1:
                        what = 0 if valid[s, k] else 3
                    else:
                        what = 1 if valid[s, k + 1] else 4
                    if stage == 1:
                        sat[count], k_out[count], site[count], kind[count] = s, k, j, what
                    count += 1
    return sat, k_out, site, kind


@njit(**_JIT)
def exact_look(jd, fr, r, v, err, rows, site, angles):
    """Return sin(el), its rate, azimuth (deg), azimuth rate (deg/s) and a success flag of SGP4 TEME states.

    Without ``angles`` the azimuth and its rate are left at zero.

    GMST 1982 and the rotation of ``orbits.frames`` and the look angles of ``passes.look``,
    in their order of operations, row by row (``NumpyKernel.exact_look``).
    """
    m = jd.size
    sin_el, rate, az, az_rate = np.empty(m), np.empty(m), np.zeros(m), np.zeros(m)
    ok = np.empty(m, dtype=np.bool_)
    for i in range(m):
        t = (jd[i] - J2000_JD + fr[i]) / JULIAN_CENTURY_DAYS
        g_s = 67310.54841 + (8640184.812866 + (0.093104 - 6.2e-6 * t) * t) * t
        dg_s = 8640184.812866 + (2.0 * 0.093104 - 3.0 * 6.2e-6 * t) * t
        theta = ((jd[i] % 1.0) + (fr[i] % 1.0) + g_s / DAY_S) % 1.0 * TAU
        w = (1.0 + dg_s / (DAY_S * JULIAN_CENTURY_DAYS)) * TAU / DAY_S
        c, sn = math.cos(theta), math.sin(theta)
        x, y, z = r[i, 0], r[i, 1], r[i, 2]
        xe = c * x + sn * y
        ye = c * y - sn * x
        vxe = c * v[i, 0] + sn * v[i, 1] + w * ye
        vye = c * v[i, 1] - sn * v[i, 0] - w * xe
        vze = v[i, 2]
        ok[i] = err[i] == 0 and math.isfinite(xe) and math.isfinite(ye) and math.isfinite(z)
        j = site[i]
        dx, dy, dz = xe - rows[j, 0], ye - rows[j, 1], z - rows[j, 2]
        ex, ey = rows[j, 3], rows[j, 4]
        nx, ny, nz = rows[j, 5], rows[j, 6], rows[j, 7]
        ux, uy, uz = rows[j, 8], rows[j, 9], rows[j, 10]
        e = dx * ex + dy * ey
        n = dx * nx + dy * ny + dz * nz
        u = dx * ux + dy * uy + dz * uz
        de = vxe * ex + vye * ey
        dn = vxe * nx + vye * ny + vze * nz
        du = vxe * ux + vye * uy + vze * uz
        rho2 = e * e + n * n + u * u
        rho = math.sqrt(rho2)
        rho_rhodot = e * de + n * dn + u * du
        sin_el[i] = u / rho
        rate[i] = (du * rho2 - u * rho_rhodot) / (rho2 * rho)
        if angles:
            az[i] = np.degrees(math.atan2(e, n)) % 360.0
            az_rate[i] = np.degrees((n * de - e * dn) / (e * e + n * n))
    return sin_el, rate, az, az_rate, ok


@njit(**_JIT)
def _count_at_most(t_s, x, lo):
    """Return how many of the sorted ``t_s`` are <= x (``np.searchsorted(t_s, x, "right")``), from index ``lo`` on."""
    hi = t_s.size
    while lo < hi:
        mid = (lo + hi) // 2
        if t_s[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(**_JIT)
def turn_brackets(t_s, dsin, sat, site, aos, los, ds_aos, ds_los, first_in, last_in):
    """Return (pass, k, lo, hi, rate at lo, rate at hi) of each maximum inside the passes.

    The points of a pass are AOS, the grid points strictly inside it (``first_in`` to
    ``last_in``) and LOS; a maximum lies between two consecutive points where the rate of
    sin(el) turns from + to -, in the grid interval holding their midpoint
    (``NumpyKernel.turn_brackets``).
    """
    n_t = t_s.size
    size = 0
    for i in range(sat.size):
        size += max(last_in[i] - first_in[i] + 1, 0) + 1
    owner = np.empty(size, dtype=np.int64)
    k_out = np.empty(size, dtype=np.int64)
    lo, hi, d_lo, d_hi = np.empty(size), np.empty(size), np.empty(size), np.empty(size)
    m = 0
    for i in range(sat.size):
        n_in = max(last_in[i] - first_in[i] + 1, 0)
        t_prev, d_prev = aos[i], ds_aos[i]
        for j in range(n_in + 1):
            if j < n_in:
                k = min(max(first_in[i] + j, 0), n_t - 1)
                t_next, d_next = t_s[k], dsin[sat[i], k, site[i]]
            else:
                t_next, d_next = los[i], ds_los[i]
            if d_prev > 0.0 and d_next <= 0.0:
                mid = _count_at_most(t_s, 0.5 * (t_prev + t_next), 0) - 1
                owner[m], k_out[m] = i, min(max(mid, 0), n_t - 2)
                lo[m], hi[m], d_lo[m], d_hi[m] = t_prev, t_next, d_prev, d_next
                m += 1
            t_prev, d_prev = t_next, d_next
    return owner[:m], k_out[:m], lo[:m], hi[:m], d_lo[:m], d_hi[:m]
