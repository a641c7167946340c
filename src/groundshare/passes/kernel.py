"""The pass search's inner loops: compiled with numba when it is installed, else numpy.

``passes.search`` finds brackets with array operations and hands the work done per
bracket to a kernel: the screen and look angles on the grid (``grid_look``) and the
intervals that hold an event (``grid_events``), look angles on the interpolated
states (``look``), the refinement of rises, sets and maxima (``refine``: Newton's
method from the cubic's guess, safeguarded), the maxima inside passes
(``turn_brackets``) and those hidden between grid points (``peak_scan``,
``brackets``), and look angles from exact SGP4 states (``exact_look``; SGP4 itself is
``sgp4_array``, one call per satellite, in both).  Two kernels do the same arithmetic
in the same order:

- ``NumpyKernel``: vectorised over brackets (``roots``, ``interpolate.Segments``);
  each solver step is a few dozen array operations over the brackets still open.
- ``NumbaKernel`` (``passes.compiled``): one compiled loop per bracket, which keeps a
  bracket's state in registers until it converges; the whole search runs 1.6-1.9
  times as fast (``bench/passes.py``).  It comes with ``pip install
  'groundshare[fast]'`` (numba).

``pass_kernel()`` picks numba when it imports and numpy otherwise; the environment
variable ``GROUNDSHARE_PASS_KERNEL`` (``numba``, ``numpy`` or ``auto``) forces one.
Both give the same passes, with event times equal to the microsecond they are stored
to (``tests/passes/test_kernel.py``).  The horizon masks' refinement is numpy in both.
"""

from __future__ import annotations

import functools
import os
import warnings
from typing import Protocol

import numpy as np

from groundshare.errors import InvalidInputError
from groundshare.orbits.frames import teme_to_itrs
from groundshare.orbits.propagate import sgp4_pairs
from groundshare.passes.interpolate import Segments, StateGrid
from groundshare.passes.look import topocentric
from groundshare.passes.roots import REFINE_TOL_S, cubic_guess, solve_brackets, solve_from_guess
from groundshare.passes.site import SiteArrays
from groundshare.timeutil import jd_fr_after

#: Environment variable that forces a kernel: ``numba``, ``numpy`` or ``auto`` (the default).
KERNEL_ENV = "GROUNDSHARE_PASS_KERNEL"
KERNEL_CHOICES = ("auto", "numba", "numpy")
# Kinds of grid events (``grid_events``).
EVENT_RISE, EVENT_SET, EVENT_MAXIMUM, EVENT_RISE_AFTER_FAILURE, EVENT_SET_BEFORE_FAILURE = range(5)


class Kernel(Protocol):
    """What ``passes.search`` asks of a kernel (``NumpyKernel`` documents each method)."""

    name: str

    def prepare(self) -> None: ...

    def grid_look(self, grid: StateGrid, sa: SiteArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def grid_events(self, sin_el: np.ndarray, dsin_el: np.ndarray, near: np.ndarray, valid: np.ndarray,
                    sin_low: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...

    def look(self, grid: StateGrid, sa: SiteArrays, sat: np.ndarray, k: np.ndarray, site: np.ndarray,
             t: np.ndarray, *, azimuth: bool = False, curvature: bool = False) -> tuple[np.ndarray, ...]: ...

    def refine(self, grid: StateGrid, sa: SiteArrays, sat: np.ndarray, k: np.ndarray, site: np.ndarray,
               lo: np.ndarray, hi: np.ndarray, f_lo: np.ndarray, f_hi: np.ndarray, y: np.ndarray, dy: np.ndarray,
               *, of_rate: bool) -> np.ndarray: ...

    def brackets(self, grid: StateGrid, sa: SiteArrays, sat: np.ndarray, k: np.ndarray, site: np.ndarray,
                 lo: np.ndarray, hi: np.ndarray, f_lo: np.ndarray, f_hi: np.ndarray) -> np.ndarray: ...

    def peak_scan(self, grid: StateGrid, sa: SiteArrays, sat: np.ndarray, k: np.ndarray, site: np.ndarray,
                  frac: np.ndarray) -> np.ndarray: ...

    def exact_look(self, grid: StateGrid, sa: SiteArrays, sat: np.ndarray, site: np.ndarray, t: np.ndarray, *,
                   angles: bool = False) -> tuple[np.ndarray, ...]: ...

    def turn_brackets(self, t_s: np.ndarray, dsin_grid: np.ndarray, sat: np.ndarray, site: np.ndarray,
                      aos: np.ndarray, los: np.ndarray, ds_aos: np.ndarray, ds_los: np.ndarray
                      ) -> tuple[np.ndarray, ...]: ...


class NumpyKernel:
    """The kernel as array operations over all brackets at once."""

    name = "numpy"

    def prepare(self) -> None:
        """Nothing to compile."""

    def grid_look(self, grid: StateGrid, sa: SiteArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return sin(el) and its rate on the grid (n_sat, n_t, n_site), and the screen's ``near`` (n_t - 1).

        The grid's TEME states are first rotated to the Earth-fixed frame (``frames.teme_to_itrs``).
        The height ``u`` of the satellite above a site's horizon plane changes no faster
        than its speed, so an interval whose ends satisfy ``u0 + u1 < -v_max h`` holds no
        visibility (thresholds >= 0) and is not ``near``.  Look angles are computed where
        a point is above the plane or ends a near interval; elsewhere sin(el) is -2 and
        its rate 0.
        """
        r_e, v_e = teme_to_itrs(grid.r_teme, grid.v_teme, grid.theta_rad, grid.theta_dot_rad_s)
        valid, t_s = grid.valid, grid.t_s
        n_sat, n_t = valid.shape
        n_site = sa.sin_low.size
        up = sa.enu[:, 2, :]
        height_km = (r_e.reshape(-1, 3) @ up.T - np.einsum("kj,kj->k", sa.itrs_km, up)).reshape(n_sat, n_t, n_site)
        height_km[~valid] = -1e9
        speed_max = np.where(valid, np.linalg.norm(v_e, axis=-1), 0.0).max(axis=1)
        margin_km = (speed_max[:, None] * 1.01 + 0.01) * np.diff(t_s)[None, :]
        near = height_km[:, :-1] + height_km[:, 1:] > -margin_km[..., None]
        near[..., sa.sin_low < 0.0] = True                 # negative thresholds see below the plane
        near &= (valid[:, :-1] & valid[:, 1:])[..., None]
        computed = height_km > 0.0
        computed[:, :-1] |= near
        computed[:, 1:] |= near
        computed &= valid[..., None]
        i_sat, i_t, i_site = np.nonzero(computed)
        sin_el = np.full((n_sat, n_t, n_site), -2.0)
        dsin_el = np.zeros((n_sat, n_t, n_site))
        if i_sat.size:
            s, ds, *_ = topocentric(r_e[i_sat, i_t], v_e[i_sat, i_t], sa, i_site)
            sin_el[i_sat, i_t, i_site] = s
            dsin_el[i_sat, i_t, i_site] = ds
        return sin_el, dsin_el, near

    def grid_events(self, sin_el: np.ndarray, dsin_el: np.ndarray, near: np.ndarray, valid: np.ndarray,
                    sin_low: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return (sat, k, site, kind) of the grid intervals [k, k + 1] that hold an event, in C order.

        ``kind`` says which (``EVENT_*``): a rise or a set (the threshold crossed between the two
        points, SGP4 valid at both), a maximum between two points below the threshold (the
        rate turns from + to - in a ``near`` interval), or a rise or set whose other end is
        an SGP4 failure.
        """
        above = sin_el - sin_low > 0.0
        rises_at = ~above[:, :-1] & above[:, 1:]
        sets_at = above[:, :-1] & ~above[:, 1:]
        left_ok = valid[:, :-1, None]
        right_ok = valid[:, 1:, None]
        turning = near & ~above[:, :-1] & ~above[:, 1:] & (dsin_el[:, :-1] > 0.0) & (dsin_el[:, 1:] <= 0.0)
        kind = np.full(near.shape, -1, dtype=np.int64)
        kind[rises_at & left_ok] = EVENT_RISE
        kind[sets_at & right_ok] = EVENT_SET
        kind[turning] = EVENT_MAXIMUM
        kind[rises_at & ~left_ok] = EVENT_RISE_AFTER_FAILURE
        kind[sets_at & ~right_ok] = EVENT_SET_BEFORE_FAILURE
        sat, k, site = np.nonzero(kind >= 0)
        return sat, k, site, kind[sat, k, site]

    def look(self, grid: StateGrid, sa: SiteArrays, sat: np.ndarray, k: np.ndarray, site: np.ndarray,
             t: np.ndarray, *, azimuth: bool = False, curvature: bool = False) -> tuple[np.ndarray, ...]:
        """Return ``Segments.look`` of triples (sat, grid interval k, site) at ``t``."""
        return Segments(grid, sa, sat, k, site).look(np.arange(sat.size), t, azimuth=azimuth, curvature=curvature)

    def refine(self, grid: StateGrid, sa: SiteArrays, sat: np.ndarray, k: np.ndarray, site: np.ndarray,
               lo: np.ndarray, hi: np.ndarray, f_lo: np.ndarray, f_hi: np.ndarray, y: np.ndarray, dy: np.ndarray,
               *, of_rate: bool) -> np.ndarray:
        """Return the sign change in each bracket [lo, hi] of grid interval ``k``, on interpolated states.

        The function is sin(el) - sin(lowest threshold of the site), or with ``of_rate`` the
        rate of sin(el); ``y`` and ``dy`` are sin(el) and its rate on the grid, for the cubic's
        guess (``roots.cubic_guess``), from which ``roots.solve_from_guess`` runs Newton to
        ``REFINE_TOL_S`` (exact SGP4 polishes the result), with the curvature's predicted
        error for sin(el).
        """
        seg = Segments(grid, sa, sat, k, site)
        guess = cubic_guess(grid, y, dy, sat, k, site, lo, hi, of_rate=of_rate,
                            offset=0.0 if of_rate else sa.sin_low[site])
        if of_rate:
            def f(w: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
                return seg.look(w, t, curvature=True)[1:]
        else:
            def f(w: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
                sin_el, rate, curvature = seg.look(w, t, curvature=True)
                return sin_el - sa.sin_low[site[w]], rate, curvature
        return solve_from_guess(f, lo, hi, f_lo, f_hi, guess, REFINE_TOL_S)

    def brackets(self, grid: StateGrid, sa: SiteArrays, sat: np.ndarray, k: np.ndarray, site: np.ndarray,
                 lo: np.ndarray, hi: np.ndarray, f_lo: np.ndarray, f_hi: np.ndarray) -> np.ndarray:
        """Return the zero of the rate of sin(el) in each bracket (``roots.solve_brackets``, regula falsi)."""
        seg = Segments(grid, sa, sat, k, site)
        return solve_brackets(lambda w, t: seg.look(w, t)[1], lo, hi, f_lo, f_hi)

    def peak_scan(self, grid: StateGrid, sa: SiteArrays, sat: np.ndarray, k: np.ndarray, site: np.ndarray,
                  frac: np.ndarray) -> np.ndarray:
        """Return, per triple, the highest sin(el) - sin(lowest threshold) at ``t_k + h frac``."""
        seg = Segments(grid, sa, sat, k, site)
        t0 = grid.t_s[k]
        h = grid.t_s[k + 1] - t0
        which = np.repeat(np.arange(sat.size), frac.size)
        t_sub = (t0[:, None] + h[:, None] * frac[None, :]).ravel()
        g_sub = (seg.sin_elevation(which, t_sub) - sa.sin_low[site][which]).reshape(sat.size, frac.size)
        return g_sub.max(axis=1)

    def turn_brackets(self, t_s: np.ndarray, dsin_grid: np.ndarray, sat: np.ndarray, site: np.ndarray,
                      aos: np.ndarray, los: np.ndarray, ds_aos: np.ndarray, ds_los: np.ndarray
                      ) -> tuple[np.ndarray, ...]:
        """Return (pass, k, lo, hi, rate at lo, rate at hi) of each maximum of elevation inside the passes.

        The points of a pass are AOS, the grid points strictly inside it and LOS, with the
        rate of sin(el) at each (``ds_aos``, the grid, ``ds_los``); a maximum lies between two
        consecutive points where the rate turns from + to -, in the grid interval ``k``
        holding their midpoint.
        """
        n_pass = sat.size
        first_in = np.searchsorted(t_s, aos, side="right")
        last_in = np.searchsorted(t_s, los, side="left") - 1
        counts = np.maximum(last_in - first_in + 1, 0) + 2
        owner = np.repeat(np.arange(n_pass), counts)
        pos = np.arange(owner.size) - (np.cumsum(counts) - counts)[owner]
        k = np.clip(first_in[owner] + pos - 1, 0, len(t_s) - 1)
        is_aos, is_los = pos == 0, pos == counts[owner] - 1
        t_pt = np.where(is_aos, aos[owner], np.where(is_los, los[owner], t_s[k]))
        d_pt = np.where(is_aos, ds_aos[owner], np.where(is_los, ds_los[owner], dsin_grid[sat[owner], k, site[owner]]))
        turn = np.flatnonzero((d_pt[:-1] > 0.0) & (d_pt[1:] <= 0.0) & (owner[:-1] == owner[1:]))
        k_turn = np.clip(np.searchsorted(t_s, 0.5 * (t_pt[turn] + t_pt[turn + 1]), side="right") - 1, 0, len(t_s) - 2)
        return owner[turn], k_turn, t_pt[turn], t_pt[turn + 1], d_pt[turn], d_pt[turn + 1]

    def exact_look(self, grid: StateGrid, sa: SiteArrays, sat: np.ndarray, site: np.ndarray, t: np.ndarray, *,
                   angles: bool = False) -> tuple[np.ndarray, ...]:
        """Return sin(el), its rate (1/s) and SGP4's success, from SGP4 itself (``StateGrid.exact_earth_fixed``).

        With ``angles``: sin(el), its rate, the azimuth (deg), its rate (deg/s) and SGP4's success.
        """
        re, ve, ok = grid.exact_earth_fixed(sat, t)
        sin_el, rate, az, *_ = topocentric(re, ve, sa, site)
        if not angles:
            return sin_el, rate, ok
        east, north = sa.enu[site, 0], sa.enu[site, 1]
        d = re - sa.itrs_km[site]
        e, n = np.einsum("mj,mj->m", d, east), np.einsum("mj,mj->m", d, north)
        de, dn = np.einsum("mj,mj->m", ve, east), np.einsum("mj,mj->m", ve, north)
        with np.errstate(divide="ignore", invalid="ignore"):
            az_rate = np.degrees((n * de - e * dn) / (e * e + n * n))
        return sin_el, rate, az, az_rate, ok


class NumbaKernel:
    """The kernel as compiled loops, one per bracket (``passes.compiled``)."""

    name = "numba"

    def __init__(self) -> None:
        from groundshare.passes import compiled

        self._c = compiled
        self._prepared = False

    def prepare(self) -> None:
        """Compile the loops, or load them from numba's cache, on a tiny problem (before forking workers)."""
        if self._prepared:
            return
        self._prepared = True
        one = np.zeros(1, dtype=np.int64)
        t_s = np.array([0.0, 60.0])
        r = np.array([[[7000.0, 0.0, 0.0], [6990.0, 400.0, 0.0]]])
        v = np.array([[[0.0, 7.5, 0.0], [-0.4, 7.5, 0.0]]])
        valid = np.ones((1, 2), dtype=bool)
        sa = SiteArrays(np.array([[6378.0, 0.0, 0.0]]), np.array([np.eye(3)[[1, 2, 0]]]), np.zeros(1),
                        np.zeros(1, dtype=bool))
        grid = StateGrid(0.0, 0.0, t_s, r, v, valid, [], theta_rad=np.zeros(2), theta_dot_rad_s=np.zeros(2))
        sin_el, dsin, near = self.grid_look(grid, sa)
        self.grid_events(sin_el, dsin, near, valid, sa.sin_low)
        t = np.array([30.0])
        self.look(grid, sa, one, one, one, t, azimuth=True, curvature=True)
        for of_rate in (False, True):
            self.refine(grid, sa, one, one, one, t_s[:1], t_s[1:], -np.ones(1), np.ones(1), sin_el, dsin,
                        of_rate=of_rate)
        self.brackets(grid, sa, one, one, one, t_s[:1], t_s[1:], -np.ones(1), np.ones(1))
        self.peak_scan(grid, sa, one, one, one, np.array([0.5]))
        self.turn_brackets(t_s, dsin, one, one, t_s[:1], t_s[1:], np.ones(1), -np.ones(1))
        self._c.exact_look(np.zeros(1), np.zeros(1), r[0, :1], v[0, :1], np.zeros(1, dtype=np.uint8),
                           self._c.site_rows(sa), one, True)

    def _state(self, grid: StateGrid, sa: SiteArrays) -> tuple[np.ndarray, ...]:
        return (grid.r_teme, grid.v_teme, grid.t_s, grid.theta_rad, grid.theta_dot_rad_s, self._c.site_rows(sa))

    def grid_look(self, grid: StateGrid, sa: SiteArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._c.grid_look(_f8(grid.r_teme), _f8(grid.v_teme), _f8(grid.theta_rad), _f8(grid.theta_dot_rad_s),
                                 np.ascontiguousarray(grid.valid), _f8(grid.t_s), _f8(sa.itrs_km), _f8(sa.enu),
                                 _f8(sa.sin_low))

    def grid_events(self, sin_el: np.ndarray, dsin_el: np.ndarray, near: np.ndarray, valid: np.ndarray,
                    sin_low: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self._c.grid_events(_f8(sin_el), _f8(dsin_el), np.ascontiguousarray(near), np.ascontiguousarray(valid),
                                   _f8(sin_low))

    def look(self, grid: StateGrid, sa: SiteArrays, sat: np.ndarray, k: np.ndarray, site: np.ndarray,
             t: np.ndarray, *, azimuth: bool = False, curvature: bool = False) -> tuple[np.ndarray, ...]:
        sin_el, rate, curv, az = self._c.look(*self._state(grid, sa), _i8(sat), _i8(k), _i8(site), _f8(t),
                                              2 if curvature else 1, azimuth)
        out: tuple[np.ndarray, ...] = (sin_el, rate, curv) if curvature else (sin_el, rate)
        return (*out, az) if azimuth else out

    def refine(self, grid: StateGrid, sa: SiteArrays, sat: np.ndarray, k: np.ndarray, site: np.ndarray,
               lo: np.ndarray, hi: np.ndarray, f_lo: np.ndarray, f_hi: np.ndarray, y: np.ndarray, dy: np.ndarray,
               *, of_rate: bool) -> np.ndarray:
        return self._c.refine(*self._state(grid, sa), _f8(sa.sin_low), _i8(sat), _i8(k), _i8(site), _f8(lo),
                              _f8(hi), _f8(f_lo), _f8(f_hi), _f8(y), _f8(dy), of_rate)

    def brackets(self, grid: StateGrid, sa: SiteArrays, sat: np.ndarray, k: np.ndarray, site: np.ndarray,
                 lo: np.ndarray, hi: np.ndarray, f_lo: np.ndarray, f_hi: np.ndarray) -> np.ndarray:
        return self._c.brackets(*self._state(grid, sa), _f8(sa.sin_low), _i8(sat), _i8(k), _i8(site), _f8(lo),
                                _f8(hi), _f8(f_lo), _f8(f_hi), True)

    def peak_scan(self, grid: StateGrid, sa: SiteArrays, sat: np.ndarray, k: np.ndarray, site: np.ndarray,
                  frac: np.ndarray) -> np.ndarray:
        return self._c.peak_scan(*self._state(grid, sa), _f8(sa.sin_low), _i8(sat), _i8(k), _i8(site), _f8(frac))

    def turn_brackets(self, t_s: np.ndarray, dsin_grid: np.ndarray, sat: np.ndarray, site: np.ndarray,
                      aos: np.ndarray, los: np.ndarray, ds_aos: np.ndarray, ds_los: np.ndarray
                      ) -> tuple[np.ndarray, ...]:
        first_in = np.searchsorted(t_s, aos, side="right")
        last_in = np.searchsorted(t_s, los, side="left") - 1
        return self._c.turn_brackets(_f8(t_s), _f8(dsin_grid), _i8(sat), _i8(site), _f8(aos), _f8(los), _f8(ds_aos),
                                     _f8(ds_los), _i8(first_in), _i8(last_in))

    def exact_look(self, grid: StateGrid, sa: SiteArrays, sat: np.ndarray, site: np.ndarray, t: np.ndarray, *,
                   angles: bool = False) -> tuple[np.ndarray, ...]:
        jd, fr = jd_fr_after(grid.jd0, grid.fr0, t)
        err, r, v = sgp4_pairs(grid.satrecs, sat, jd, fr)
        sin_el, rate, az, az_rate, ok = self._c.exact_look(jd, fr, r, v, err, self._c.site_rows(sa), _i8(site), angles)
        return (sin_el, rate, az, az_rate, ok) if angles else (sin_el, rate, ok)


def _f8(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64)


def _i8(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.int64)


@functools.cache
def _kernel(choice: str) -> Kernel:
    if choice == "numpy":
        return NumpyKernel()
    try:
        kernel = NumbaKernel()
    except ImportError:
        if choice == "numba":
            raise InvalidInputError(f"{KERNEL_ENV}=numba but numba is not installed: pip install "
                                    f"'groundshare[fast]', or unset {KERNEL_ENV} to use numpy",
                                    loc=(KERNEL_ENV,)) from None
        return NumpyKernel()
    except (RuntimeError, OSError) as exc:
        # numba is there but cannot be used, e.g. no writable folder for its cache (set NUMBA_CACHE_DIR).
        if choice == "numba":
            raise InvalidInputError(f"{KERNEL_ENV}=numba but numba cannot compile the kernel ({exc}); set "
                                    f"NUMBA_CACHE_DIR to a writable folder, or unset {KERNEL_ENV} to use numpy",
                                    loc=(KERNEL_ENV,)) from None
        warnings.warn(f"the pass search runs on numpy: numba cannot compile its kernel ({exc}); set NUMBA_CACHE_DIR "
                      "to a writable folder", RuntimeWarning, stacklevel=2)
        return NumpyKernel()
    return kernel


def kernel_choice(choice: str | None = None) -> str:
    """Return ``choice`` or ``GROUNDSHARE_PASS_KERNEL`` (default ``auto``) checked, without importing numba."""
    raw = choice if choice is not None else os.environ.get(KERNEL_ENV, "auto")
    name = raw.strip().lower() or "auto"
    if name not in KERNEL_CHOICES:
        raise InvalidInputError(f"{KERNEL_ENV} is {raw!r}; expected one of {', '.join(KERNEL_CHOICES)}",
                                loc=(KERNEL_ENV,))
    return name


def pass_kernel(choice: str | None = None) -> Kernel:
    """Return the kernel named by ``choice`` or ``GROUNDSHARE_PASS_KERNEL``: numba where it imports, else numpy."""
    return _kernel(kernel_choice(choice))
