"""Root finding for event times: many brackets at once, vectorised.

Each function works on arrays of brackets and a callable ``f(which, t)`` that
evaluates the brackets ``which`` (indices) at times ``t``; no Python loop runs over
brackets.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from groundshare.passes.interpolate import StateFn, StateGrid, on_grid

# Event times are solved to this tolerance.
TOL_S = 1e-3
# Roots on interpolated states that exact-SGP4 Newton steps polish afterwards (``polish``) need
# less: that polish's error is (f''/2f') dt^2 for a start dt off, set by the interpolation error
# (up to ~0.2 s), not by this tolerance; and Newton stopping after a step under REFINE_TOL_S / 2
# is itself within (f''/2f') (REFINE_TOL_S / 2)^2, about a microsecond, of its root.
REFINE_TOL_S = 0.02
# Newton steps on exact SGP4 states at most, after the interpolated solution; another step is
# taken only after one longer than POLISH_AGAIN_S (see polish).
POLISH_STEPS = 3
POLISH_AGAIN_S = 0.05
# Newton steps from the cubic's guess before a bracket falls back to the safeguarded solver.
NEWTON_STEPS = 4


def cubic_guess(grid: StateGrid, y: np.ndarray, dy: np.ndarray, sat: np.ndarray, k: np.ndarray, site: np.ndarray,
                 lo: np.ndarray, hi: np.ndarray, *, of_rate: bool, offset: np.ndarray | float = 0.0) -> np.ndarray:
    """Return a first guess at the root in [lo, hi] from the cubic through the grid values.

    ``y`` and ``dy`` are a quantity and its rate on the grid (n_sat, n_t, n_site); the
    cubic Hermite polynomial over grid interval ``k`` stands for ``y - offset``, and its
    root (or, with ``of_rate``, the root of its derivative) is found by a few Newton
    steps kept inside the bracket.
    """
    t0 = grid.t_s[k]
    h = grid.t_s[k + 1] - t0
    y0, y1 = y[sat, k, site] - offset, y[sat, k + 1, site] - offset
    m0, m1 = dy[sat, k, site] * h, dy[sat, k + 1, site] * h
    c1, c2, c3 = m0, 3.0 * (y1 - y0) - 2.0 * m0 - m1, 2.0 * (y0 - y1) + m0 + m1
    tau_lo, tau_hi = (lo - t0) / h, (hi - t0) / h
    tau = 0.5 * (tau_lo + tau_hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(6):
            if of_rate:
                f, slope = c1 + tau * (2.0 * c2 + 3.0 * c3 * tau), 2.0 * c2 + 6.0 * c3 * tau
            else:
                f, slope = y0 + tau * (c1 + tau * (c2 + tau * c3)), c1 + tau * (2.0 * c2 + 3.0 * c3 * tau)
            step = f / slope
            tau = np.clip(np.where(np.isfinite(step), tau - step, tau), tau_lo, tau_hi)
    return t0 + tau * h


def solve_from_guess(f: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, ...]], lo: np.ndarray,
                hi: np.ndarray, f_lo: np.ndarray, f_hi: np.ndarray, guess: np.ndarray, tol_s: float = TOL_S
                ) -> np.ndarray:
    """Return the sign change of ``f`` in each bracket by Newton's method from ``guess``.

    ``f(which, t)`` returns ``(value, slope)``, or ``(value, slope, curvature)``.  From a
    guess a few seconds off, Newton converges in two or three steps; a bracket is done
    after a step under ``tol_s / 2``, or, given the curvature, one whose predicted error
    ``|curvature / 2 slope| step^2`` is under ``tol_s / 2``.  A bracket whose iterate
    leaves it, or has not converged after ``NEWTON_STEPS``, is solved by the safeguarded
    ``solve_brackets`` instead.
    """
    def value_slope(w: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = f(w, t)
        return out[0], out[1]

    x = guess.copy()
    active = np.arange(lo.size)
    for _ in range(NEWTON_STEPS):
        out = f(active, x[active])
        value, slope = out[0], out[1]
        with np.errstate(divide="ignore", invalid="ignore"):
            step = value / slope
            predicted = np.abs(out[2] / (2.0 * slope)) * step * step if len(out) > 2 else np.inf
        x_new = x[active] - step
        lost = ~np.isfinite(x_new) | (x_new < lo[active]) | (x_new > hi[active])
        x[active] = np.where(lost, x[active], x_new)
        settled = ~lost & ((np.abs(step) <= 0.5 * tol_s) | (predicted <= 0.5 * tol_s))
        keep = ~settled & ~lost
        lost_idx = active[lost]
        if lost_idx.size:
            x[lost_idx] = solve_brackets(lambda w, t, idx=lost_idx: value_slope(idx[w], t), lo[lost_idx],
                                         hi[lost_idx], f_lo[lost_idx], f_hi[lost_idx], tol_s, newton=True)
        active = active[keep]
        if not active.size:
            break
    if active.size:
        x[active] = solve_brackets(lambda w, t: value_slope(active[w], t), lo[active], hi[active], f_lo[active],
                                   f_hi[active], tol_s, newton=True)
    return x


def solve_brackets(f: Callable[[np.ndarray, np.ndarray], np.ndarray | tuple[np.ndarray, np.ndarray]],
           lo: np.ndarray, hi: np.ndarray, f_lo: np.ndarray, f_hi: np.ndarray, tol_s: float = TOL_S,
           *, newton: bool = False) -> np.ndarray:
    """Return, for each bracket [lo, hi] where ``f`` changes sign, the time of the change.

    ``f(which, t)`` evaluates brackets ``which`` (indices) at times ``t``.  With
    ``newton`` it returns ``(value, slope)`` and the solver takes Newton steps;
    otherwise it uses the Illinois variant of regula falsi.  Either way a step that
    would leave the bracket is replaced by bisection, so the root is never lost.  A
    bracket is done when the last step moved less than ``tol_s / 2`` (both methods
    converge superlinearly, so the error is then far smaller) or it is narrower than
    ``tol_s``.
    """
    lo, hi = lo.astype(float), hi.astype(float)
    f_lo, f_hi = f_lo.astype(float), f_hi.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = hi - f_hi * (hi - lo) / (f_hi - f_lo)
    x = np.where(np.isfinite(x) & (x > lo) & (x < hi), x, 0.5 * (lo + hi))
    root = 0.5 * (lo + hi)
    kept = np.zeros(len(lo), dtype=np.int8)   # +1: lo kept last time, -1: hi kept last time
    active = np.flatnonzero(hi - lo > tol_s)
    while active.size:
        a = active
        lo_a, h, fl, fh, xa = lo[a], hi[a], f_lo[a], f_hi[a], x[a]
        out = f(a, xa)
        fx, slope = out if newton else (out, None)
        to_lo = np.signbit(fx) == np.signbit(fl)           # root lies in [x, h]
        lo[a] = lo_a = np.where(to_lo, xa, lo_a)
        hi[a] = h = np.where(to_lo, h, xa)
        f_lo[a] = fl = np.where(to_lo, fx, fl)
        f_hi[a] = fh = np.where(to_lo, fh, fx)
        with np.errstate(divide="ignore", invalid="ignore"):
            if newton:
                x_next = xa - fx / slope
            else:
                # Illinois: when the same end survives twice, halve its value to pull the guess over.
                fh = np.where(to_lo & (kept[a] == -1), 0.5 * fh, fh)
                fl = np.where(~to_lo & (kept[a] == 1), 0.5 * fl, fl)
                f_lo[a], f_hi[a] = fl, fh
                kept[a] = np.where(to_lo, -1, 1)
                x_next = h - fh * (h - lo_a) / (fh - fl)
        inside = np.isfinite(x_next) & (x_next > lo_a) & (x_next < h)
        x_next = np.where(inside, x_next, 0.5 * (lo_a + h))
        narrow = h - lo_a <= tol_s
        done = (inside & (np.abs(x_next - xa) <= 0.5 * tol_s)) | narrow | (fx == 0.0)
        x[a] = np.where(fx == 0.0, xa, x_next)
        root[a] = np.where(fx == 0.0, xa, np.where(narrow, 0.5 * (lo_a + h), x_next))
        active = a[~done]
    return root


# Half-width of the central difference that gives Newton's slope from the interpolated states.
_SLOPE_DT_S = 0.01


def newton_polish(f: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]], t: np.ndarray,
                  lo: np.ndarray, hi: np.ndarray, steps: int = POLISH_STEPS) -> np.ndarray:
    """Return ``t`` after up to ``steps`` Newton steps, each kept inside [lo, hi].

    ``f(which, t)`` returns (value, slope, ok) of entries ``which`` at ``t``; an entry whose
    ``ok`` is false, or whose step would leave its bracket, keeps its time.  After a step
    of at most ``POLISH_AGAIN_S`` an entry is done.
    """
    t = t.copy()
    active = np.arange(t.size)
    for _ in range(steps):
        if not active.size:
            break
        ts = t[active]
        value, rate, ok = f(active, ts)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = value / rate
        t_new = ts - step
        take = ok & np.isfinite(t_new) & (t_new >= lo[active]) & (t_new <= hi[active])
        t[active] = np.where(take, t_new, ts)
        # Newton's error after a step of dt is about (f''/2f') dt^2: below a microsecond for the
        # typical dt of a few milliseconds, so only large steps are followed by another.
        active = active[take & (np.abs(step) > POLISH_AGAIN_S)]
    return t


def polish(grid: StateGrid, f: StateFn, sat: np.ndarray, site: np.ndarray, t: np.ndarray, lo: np.ndarray,
            hi: np.ndarray, slope: StateFn | np.ndarray | None = None) -> np.ndarray:
    """Return ``t`` after Newton steps on ``f`` from exact SGP4 states.

    The roots found on interpolated states are off by the interpolation error (metres
    in LEO, which a grazing pass turns into tens of milliseconds or more).  Newton
    steps with the value from SGP4 itself remove it.  The slope comes from ``slope``:
    a function of the exact state (then up to ``POLISH_STEPS`` steps are taken, for the
    grazing passes whose slope is tiny), an array (one step), or, when None, a central
    difference on the interpolated states (one step).  A step that would leave the
    bracket is not taken.
    """
    def value_slope(w: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s_sat, s_site = sat[w], site[w]
        re, ve, ok = grid.exact_earth_fixed(s_sat, ts)
        value = f(re, ve, s_site)
        if callable(slope):
            rate = slope(re, ve, s_site)
        elif slope is not None:
            rate = slope[w]
        else:
            ahead = on_grid(grid, f, s_sat, s_site, ts + _SLOPE_DT_S)
            rate = (ahead - on_grid(grid, f, s_sat, s_site, ts - _SLOPE_DT_S)) / (2.0 * _SLOPE_DT_S)
        return value, rate, ok

    return newton_polish(value_slope, t, lo, hi, POLISH_STEPS if callable(slope) else 1)
