"""Every pass of many satellites over many sites: coarse grid, then refined brackets.

The method, per group of satellites that share a time step:

1. SGP4 (``SatrecArray``) once per satellite and grid time, one GMST rotation per
   time, Earth-fixed states for all satellites at once.
2. A cheap, rigorous screen: the height ``u`` of the satellite above a site's
   horizon plane changes no faster than the satellite's speed, so an interval whose
   two ends satisfy ``u0 + u1 < -v_max h`` cannot hold any visibility (for
   thresholds >= 0).  Only the remaining (satellite, site, time) points get full
   look angles.
3. Rises and sets are sign changes of ``sin(el) - sin(threshold)`` between grid
   points.  A pass short enough to fit between two grid points shows as a maximum of
   elevation there (its rate turns from + to -): such intervals are looked into every
   ``HIDDEN_STEP_S``, their maxima located, and kept when exact SGP4 puts them above
   the threshold.
4. Every bracket is solved on states from a cubic Hermite interpolation of SGP4's
   TEME position and velocity: Newton's method from the root of the cubic through the
   grid values, safeguarded by bisection.  With ``ANGLE_PER_STEP_RAD`` of orbital
   motion per step the interpolation error is about r (w h)^4 / 384, some 100 m in
   LEO; Newton steps on exact SGP4 states (one ``sgp4_array`` call per satellite, not
   per pass) then bring each event to well within ``TOL_S`` of SGP4's own root.
5. Sites with a horizon mask: each pass over the lowest threshold is sampled every
   ``MASK_STEP_S`` and split where the satellite crosses the mask.
6. Culmination (TCA, the time of maximum elevation inside the pass): zeros of the
   elevation rate, found the same way with its analytic second derivative; the
   maximum elevation and its azimuth come from exact SGP4 states.

The work per bracket (steps 2-4 and 6: look angles on the grid, Newton and the
safeguarded solver on interpolated states) runs in a kernel (``passes.kernel``):
compiled loops with numba where it is installed, numpy otherwise, with the same
arithmetic and the same passes either way.

Work is split into chunks of satellites (bounded by ``max_bytes``) run by an executor
(``groundshare.parallel``: a pool of local processes, or a Dask cluster); no Python loop
runs over satellites x sites x times.

Approximations (measured against Skyfield in the tests and ``bench/passes.py``):
UT1 = UTC and no polar motion in the TEME -> Earth-fixed rotation (see
``orbits.frames``); elevation is geometric, without refraction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np
from sgp4.api import SatrecArray

from groundshare.errors import InvalidInputError
from groundshare.orbits.elements import ElementSet
from groundshare.orbits.frames import gmst82_rad
from groundshare.orbits.propagate import error_message, propagate_teme
from groundshare.parallel import Executor, LocalExecutor, resolve_executor
from groundshare.passes.interpolate import StateGrid, finite_vectors, on_grid
from groundshare.passes.kernel import (
    EVENT_MAXIMUM,
    EVENT_RISE,
    EVENT_RISE_AFTER_FAILURE,
    EVENT_SET,
    EVENT_SET_BEFORE_FAILURE,
    Kernel,
    kernel_choice,
    pass_kernel,
)
from groundshare.passes.look import topocentric
from groundshare.passes.roots import TOL_S, newton_polish, polish, solve_brackets, solve_from_guess
from groundshare.passes.site import Site, SiteArrays, sites_to_arrays
from groundshare.passes.table import PassTable, concat_tables
from groundshare.timeutil import jd_fr, require_utc, to_datetime64
from groundshare.units import DAY_S

# Orbital motion per coarse step (a 20th of an orbit).  It sets the Hermite interpolation error,
# r (w h)^4 / 384 (about 100 m in LEO at 0.3 rad, removed by the exact-SGP4 polish), and keeps
# elevation to at most one maximum per step, which is what lets a pass shorter than a step be
# found from the sign change of its elevation rate.
ANGLE_PER_STEP_RAD = 0.3
# Steps are rounded down to this ladder so that satellites of similar orbits share one grid.
# 600 s is the longest: beyond it the screen's v_max h margin would keep every interval anyway.
STEP_LADDER_S = (10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 240.0, 300.0, 450.0, 600.0)
# Sampling of a pass against a horizon mask: any part above the mask lasting 10 s or more is
# found, well inside the 30 s that operators can use.
MASK_STEP_S = 10.0
# A maximum of elevation between two grid points (its rate turns from + to -) is looked at every
# HIDDEN_STEP_S, and solved for when a look comes within HIDDEN_MARGIN_SIN (about 1.1 deg) of
# sin(threshold).  Every pass of HIDDEN_STEP_S or more is found whatever its shape; shorter
# ones are found when they reach the margin (tests/passes check short passes densely).
HIDDEN_STEP_S = 25.0
HIDDEN_MARGIN_SIN = 0.02
DEFAULT_MAX_BYTES = 192 * 2**20
MAX_DURATION_S = 400 * DAY_S


def coarse_step_s(element_set: ElementSet) -> float:
    """Return the grid step for a satellite: ``ANGLE_PER_STEP_RAD`` of motion at perigee."""
    n_rad_s = element_set.mean_motion_rev_day * 2.0 * math.pi / DAY_S
    e = element_set.eccentricity
    perigee_rate_rad_s = n_rad_s * (1.0 + e) ** 2 / (1.0 - e * e) ** 1.5
    step = ANGLE_PER_STEP_RAD / perigee_rate_rad_s
    fitting = [s for s in STEP_LADDER_S if s <= step]
    return fitting[-1] if fitting else STEP_LADDER_S[0]


def _chunk_passes(elements: Sequence[ElementSet], sat_offset: np.ndarray, sites: Sequence[Site],
                  start: datetime, duration_s: float, step_s: float
                  ) -> tuple[dict[str, np.ndarray], list[tuple[int, str]]]:
    """Return the pass columns and (satellite, line) warnings for one chunk, with global indices."""
    kernel = pass_kernel()
    sa = sites_to_arrays(sites)
    t_grid = np.arange(0.0, duration_s, step_s)
    t_grid = np.append(t_grid, duration_s) if t_grid[-1] < duration_s else t_grid
    if len(t_grid) < 2:
        t_grid = np.array([0.0, duration_s])
    jd, fr = jd_fr(start, t_grid)
    satrecs = [e.to_satrec() for e in elements]
    err, r, v = propagate_teme(SatrecArray(satrecs), start, t_grid)
    valid = (err == 0) & finite_vectors(r) & finite_vectors(v)
    r = np.where(valid[..., None], r, 0.0)
    v = np.where(valid[..., None], v, 0.0)
    warnings = [(int(sat_offset[i]), line) for i, line in _sgp4_warnings(elements, err, valid, start, t_grid)]
    theta, theta_dot = gmst82_rad(jd, fr)
    grid = StateGrid(float(jd[0]), float(fr[0]), t_grid, r, v, valid, satrecs, theta_rad=theta,
                     theta_dot_rad_s=np.broadcast_to(theta_dot, theta.shape).copy())

    # 1-2. Earth-fixed states on the grid; the screen and the look angles where it passed.
    sin_el, dsin_el, near = kernel.grid_look(grid, sa)

    # 3. Rises and sets between grid points, passes hidden between two grid points, and the
    #    ends that a window edge or an SGP4 failure imposes (those are clipped).
    sat, k, site, kind = kernel.grid_events(sin_el, dsin_el, near, valid, sa.sin_low)
    of_kind = [(sat[kind == x], k[kind == x], site[kind == x]) for x in range(5)]
    events = [
        _crossings(kernel, grid, sa, of_kind[EVENT_RISE], of_kind[EVENT_SET], sin_el, dsin_el),
        _hidden_passes(kernel, grid, sa, of_kind[EVENT_MAXIMUM], sin_el, dsin_el),
        _clipped_ends(t_grid, sin_el[:, 0] - sa.sin_low > 0.0, sin_el[:, -1] - sa.sin_low > 0.0,
                      of_kind[EVENT_RISE_AFTER_FAILURE],
                      of_kind[EVENT_SET_BEFORE_FAILURE]),
    ]
    passes = _pair(*(np.concatenate(x) for x in zip(*events, strict=True)))

    # 4. Horizon masks split and trim the passes over masked sites.
    if sa.masked.any():
        passes = _apply_masks(passes, grid, sa, sites)

    # 5. Culmination.
    columns = _culminate(kernel, passes, grid, sa, sin_el, dsin_el)
    columns["sat_index"] = sat_offset[columns.pop("sat")].astype(np.int32)
    columns["site_index"] = columns.pop("site").astype(np.int32)
    for name in ("aos", "tca", "los"):
        columns[name] = to_datetime64(start, columns.pop(f"{name}_s"))
    return columns, warnings


Triples = tuple[np.ndarray, np.ndarray, np.ndarray]


def _crossings(kernel: Kernel, grid: StateGrid, sa: SiteArrays, rises: Triples, sets: Triples, sin_grid: np.ndarray,
               dsin_grid: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return (sat, site, t, kind, clipped) of the rises and sets between grid points (sat, k, site)."""
    t_grid = grid.t_s
    sat, k, site = (np.concatenate(x) for x in zip(rises, sets, strict=True))
    kind = np.repeat([+1, -1], [rises[0].size, sets[0].size])
    lo, hi = t_grid[k], t_grid[k + 1]
    g_lo = sin_grid[sat, k, site] - sa.sin_low[site]
    g_hi = sin_grid[sat, k + 1, site] - sa.sin_low[site]
    t = kernel.refine(grid, sa, sat, k, site, lo, hi, g_lo, g_hi, sin_grid, dsin_grid, of_rate=False)

    def exact(w: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        sin_el, rate, ok = kernel.exact_look(grid, sa, sat[w], site[w], ts)
        return sin_el - sa.sin_low[site[w]], rate, ok

    t = newton_polish(exact, t, lo, hi)
    return sat, site, t, kind, np.zeros(t.size, dtype=bool)


def _hidden_passes(kernel: Kernel, grid: StateGrid, sa: SiteArrays, turning: Triples, sin_grid: np.ndarray,
                   dsin_grid: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return (sat, site, t, kind, clipped) of passes that fit between two grid points.

    ``turning`` (sat, k, site) names the intervals, both ends below the threshold, where
    elevation turns from rising to setting.  Each is looked into every ``HIDDEN_STEP_S`` or less:
    a pass of that length or more has a look above the threshold, and a shorter one is
    still found when a look comes within ``HIDDEN_MARGIN_SIN`` of it.
    """
    t_grid = grid.t_s
    hs, hk, hsite = turning
    none = (hs[:0], hsite[:0], np.zeros(0), np.zeros(0, dtype=int), np.zeros(0, dtype=bool))
    if not hs.size:
        return none
    h = t_grid[hk + 1] - t_grid[hk]
    n_sub = max(int(np.ceil(h.max() / HIDDEN_STEP_S)), 2)  # at least the midpoint: intervals may be short
    keep = kernel.peak_scan(grid, sa, hs, hk, hsite, np.arange(1, n_sub) / n_sub) > -HIDDEN_MARGIN_SIN
    hs, hk, hsite = hs[keep], hk[keep], hsite[keep]
    if not hs.size:
        return none
    t_max = kernel.brackets(grid, sa, hs, hk, hsite, t_grid[hk], t_grid[hk + 1], dsin_grid[hs, hk, hsite],
                            dsin_grid[hs, hk + 1, hsite])
    # Whether the top clears the threshold is decided on exact SGP4 states: a pass of a few
    # seconds clears it by less than the interpolation error.
    curvature = kernel.look(grid, sa, hs, hk, hsite, t_max, curvature=True)[2]

    def exact_rate(w: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        _, rate, ok = kernel.exact_look(grid, sa, hs[w], hsite[w], ts)
        return rate, curvature[w], ok

    t_max = newton_polish(exact_rate, t_max, t_grid[hk], t_grid[hk + 1], steps=1)
    sin_max, _, ok = kernel.exact_look(grid, sa, hs, hsite, t_max)
    g_max = np.where(ok, sin_max - sa.sin_low[hsite], -1.0)
    up = g_max > 0.0
    hs, hk, hsite, t_max, g_max = hs[up], hk[up], hsite[up], t_max[up], g_max[up]
    # Such passes last seconds: their rise and set are solved on exact states throughout.
    sat, site = np.concatenate([hs, hs]), np.concatenate([hsite, hsite])

    def exact_g(w: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sin_el, dsin, _ = kernel.exact_look(grid, sa, sat[w], site[w], t)
        return sin_el - sa.sin_low[site[w]], dsin

    g0 = sin_grid[hs, hk, hsite] - sa.sin_low[hsite]
    g1 = sin_grid[hs, hk + 1, hsite] - sa.sin_low[hsite]
    # Newton from the parabola through the top, g_max + curvature (t - t_max)^2 / 2: a few
    # steps for passes that short.
    with np.errstate(divide="ignore", invalid="ignore"):
        half_width = np.sqrt(-2.0 * g_max / curvature[up])
    lo, hi = np.concatenate([t_grid[hk], t_max]), np.concatenate([t_max, t_grid[hk + 1]])
    guess = np.clip(np.concatenate([t_max - half_width, t_max + half_width]), lo, hi)
    guess = np.where(np.isfinite(guess), guess, 0.5 * (lo + hi))
    t = solve_from_guess(exact_g, lo, hi, np.concatenate([g0, g_max]), np.concatenate([g_max, g1]), guess)
    return sat, site, t, np.repeat([+1, -1], hs.size), np.zeros(t.size, dtype=bool)


def _clipped_ends(t_grid: np.ndarray, above_first: np.ndarray, above_last: np.ndarray, rises_after_failure: Triples,
                  sets_before_failure: Triples) -> tuple[np.ndarray, ...]:
    """Return (sat, site, t, kind, clipped) of pass ends set by the window or an SGP4 failure.

    ``above_first`` and ``above_last`` (n_sat, n_site) say who is visible at the window's
    ends; the failures are (sat, k, site) of grid intervals.
    """
    parts = []
    for above, column, kind in ((above_first, 0, +1), (above_last, -1, -1)):
        sat, site = np.nonzero(above)
        parts.append((sat, site, np.full(sat.size, t_grid[column]), np.full(sat.size, kind)))
    for (sat, k, site), kind, offset in ((rises_after_failure, +1, 1), (sets_before_failure, -1, 0)):
        parts.append((sat, site, t_grid[k + offset], np.full(sat.size, kind)))
    sat, site, t, kind = (np.concatenate(x) for x in zip(*parts, strict=True))
    return sat, site, t, kind, np.ones(t.size, dtype=bool)


def _pair(sat: np.ndarray, site: np.ndarray, t: np.ndarray, kind: np.ndarray, clip: np.ndarray
          ) -> dict[str, np.ndarray]:
    """Return passes from rise (+1) and set (-1) events, which alternate per satellite and site."""
    rise, fall = kind > 0, kind < 0
    r_order = np.lexsort((t[rise], site[rise], sat[rise]))
    f_order = np.lexsort((t[fall], site[fall], sat[fall]))
    rs, fs = np.flatnonzero(rise)[r_order], np.flatnonzero(fall)[f_order]
    if rs.size != fs.size or np.any(sat[rs] != sat[fs]) or np.any(site[rs] != site[fs]) or np.any(t[rs] > t[fs]):
        raise AssertionError("rise and set events do not alternate; please report this element set")
    return {"sat": sat[rs], "site": site[rs], "aos_s": t[rs], "los_s": t[fs],
            "clipped_aos": clip[rs], "clipped_los": clip[fs]}


def _ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (owner, position) for a ragged layout with ``counts`` items per owner."""
    owner = np.repeat(np.arange(counts.size), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(owner.size) - starts[owner]


def _apply_masks(passes: dict[str, np.ndarray], grid: StateGrid, sa: SiteArrays, sites: Sequence[Site]
                 ) -> dict[str, np.ndarray]:
    """Return the passes with those over masked sites split at the mask crossings."""
    masked = sa.masked[passes["site"]]
    plain = {name: values[~masked] for name, values in passes.items()}
    mp = {name: values[masked] for name, values in passes.items()}
    if not masked.any():
        return passes
    aos, los = mp["aos_s"], mp["los_s"]
    span = los - aos
    counts = np.maximum(np.ceil(span / MASK_STEP_S).astype(int) + 1, 2)
    owner, pos = _ragged(counts)
    eps = np.minimum(TOL_S, span / 4.0)
    t = aos[owner] + span[owner] * pos / (counts[owner] - 1)
    t = np.clip(t, (aos + eps)[owner], (los - eps)[owner])
    sat, site = mp["sat"][owner], mp["site"][owner]

    def g_mask(re: np.ndarray, ve: np.ndarray, site_i: np.ndarray) -> np.ndarray:
        sin_el, _, az, *_ = topocentric(re, ve, sa, site_i)
        thr = np.empty_like(az)
        for k in np.unique(site_i):
            sel = site_i == k
            thr[sel] = sites[k].threshold_deg(az[sel])
        return sin_el - np.sin(np.radians(thr))

    g = on_grid(grid, g_mask, sat, site, t)
    pos_ok = g > 0.0
    last = pos == counts[owner] - 1
    first = pos == 0
    # A run of positive samples starts where the previous sample (same pass) is not positive.
    prev_pos = np.concatenate([[False], pos_ok[:-1]]) & ~first
    next_pos = np.concatenate([pos_ok[1:], [False]]) & ~last
    starts = np.flatnonzero(pos_ok & ~prev_pos)
    ends = np.flatnonzero(pos_ok & ~next_pos)
    # Refine each boundary inside the pass between the sample pair that brackets it.
    inner_start = starts[~first[starts]]
    inner_end = ends[~last[ends]]
    lo = np.concatenate([t[inner_start - 1], t[inner_end]])
    hi = np.concatenate([t[inner_start], t[inner_end + 1]])
    g_lo = np.concatenate([g[inner_start - 1], g[inner_end]])
    g_hi = np.concatenate([g[inner_start], g[inner_end + 1]])
    b_sat = np.concatenate([sat[inner_start], sat[inner_end]])
    b_site = np.concatenate([site[inner_start], site[inner_end]])
    roots = solve_brackets(lambda w, tt: on_grid(grid, g_mask, b_sat[w], b_site[w], tt), lo, hi, g_lo, g_hi)
    roots = polish(grid, g_mask, b_sat, b_site, roots, lo, hi)
    t_start = aos[owner[starts]].copy()
    t_start[~first[starts]] = roots[:inner_start.size]
    t_end = los[owner[ends]].copy()
    t_end[~last[ends]] = roots[inner_start.size:]
    clip_start = mp["clipped_aos"][owner[starts]] & first[starts]
    clip_end = mp["clipped_los"][owner[ends]] & last[ends]
    out = {"sat": sat[starts], "site": site[starts], "aos_s": t_start, "los_s": t_end,
           "clipped_aos": clip_start, "clipped_los": clip_end}
    return {name: np.concatenate([plain[name], out[name]]) for name in plain}


def _culminate(kernel: Kernel, passes: dict[str, np.ndarray], grid: StateGrid, sa: SiteArrays,
               sin_grid: np.ndarray, dsin_grid: np.ndarray) -> dict[str, np.ndarray]:
    """Return the pass columns with TCA (maximum elevation) and the azimuths filled in."""
    sat, site, aos, los = passes["sat"], passes["site"], passes["aos_s"], passes["los_s"]
    n_pass = sat.size
    t_grid = grid.t_s
    t_end = np.concatenate([aos, los])
    k_end = np.clip(np.searchsorted(t_grid, t_end, side="right") - 1, 0, len(t_grid) - 2)
    s_end, ds_end, az_end = kernel.look(grid, sa, np.concatenate([sat, sat]), k_end, np.concatenate([site, site]),
                                        t_end, azimuth=True)
    # Maxima: between consecutive points of a pass (AOS, the grid points inside, LOS) where the
    # rate of sin(el) turns from + to -.
    w, k_turn, lo, hi, d_lo, d_hi = kernel.turn_brackets(t_grid, dsin_grid, sat, site, aos, los, ds_end[:n_pass],
                                                         ds_end[n_pass:])
    t_turn = kernel.refine(grid, sa, sat[w], k_turn, site[w], lo, hi, d_lo, d_hi, sin_grid, dsin_grid, of_rate=True)
    # One Newton step on exact SGP4 states (as ``roots.polish``).  The headline maximum comes
    # from SGP4 itself: its look angles one step before, carried over the step by their rates
    # (the step is a fraction of a second; what this leaves out is below 1e-7 deg).
    s_h, _, curvature, az_h = kernel.look(grid, sa, sat[w], k_turn, site[w], t_turn, azimuth=True, curvature=True)
    s_x, ds_x, az_x, az_rate, ok = kernel.exact_look(grid, sa, sat[w], site[w], t_turn, angles=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_new = t_turn - ds_x / curvature
    take = ok & np.isfinite(t_new) & (t_new >= lo) & (t_new <= hi)
    step = np.where(take, t_new - t_turn, 0.0)
    t_turn = t_turn + step
    s_turn = np.where(ok, s_x + step * (ds_x + 0.5 * curvature * step), s_h)
    az_shift = az_rate * step
    az_turn = np.where(ok, (az_x + np.where(np.isfinite(az_shift), az_shift, 0.0)) % 360.0, az_h)
    # Best of the two ends and the maxima, per pass (the first of equals, in that order).
    at_los = s_end[n_pass:] > s_end[:n_pass]
    best_s = np.where(at_los, s_end[n_pass:], s_end[:n_pass])
    best_t = np.where(at_los, los, aos)
    best_az = np.where(at_los, az_end[n_pass:], az_end[:n_pass])
    top = np.full(n_pass, -np.inf)
    np.maximum.at(top, w, s_turn)
    first_top = np.flatnonzero(s_turn == top[w])
    turn_of, first = np.unique(w[first_top], return_index=True)
    j = first_top[first]
    wins = s_turn[j] > best_s[turn_of]
    turn_of, j = turn_of[wins], j[wins]
    best_s[turn_of], best_t[turn_of], best_az[turn_of] = s_turn[j], t_turn[j], az_turn[j]
    return {
        "sat": sat, "site": site, "aos_s": aos, "los_s": los, "tca_s": best_t,
        "max_elevation_deg": np.degrees(np.arcsin(np.clip(best_s, -1.0, 1.0))),
        "aos_azimuth_deg": az_end[:n_pass], "los_azimuth_deg": az_end[n_pass:],
        "tca_azimuth_deg": best_az,
        "clipped_aos": passes["clipped_aos"], "clipped_los": passes["clipped_los"],
    }


def _sgp4_warnings(elements: Sequence[ElementSet], err: np.ndarray, valid: np.ndarray, start: datetime,
                   t_grid: np.ndarray) -> list[tuple[int, str]]:
    """Return (chunk index, line) for each satellite SGP4 could not propagate over the whole window."""
    out = []
    for i in np.flatnonzero(~valid.all(axis=1)):
        failed = ~valid[i]
        k = int(np.argmax(failed))
        when = str(to_datetime64(start, t_grid[k : k + 1])[0])[:16]
        code = int(err[i, k])
        reason = error_message(code) if code else "SGP4 returned a non-finite position"
        e = elements[i]
        extent = "from then on" if failed[k:].all() else f"at {int(failed.sum())} of {failed.size} grid times"
        out.append((int(i), f"NORAD {e.norad_id} ({e.name}): {reason} (first at {when}Z, {extent}); "
                            "no passes are reported where SGP4 fails"))
    return out


def _run_chunk(args: tuple) -> tuple[dict[str, np.ndarray], list[tuple[int, str]]]:
    return _chunk_passes(*args)


def check_inputs(elements: Sequence[ElementSet], sites: Sequence[Site], duration_s: float) -> None:
    """Raise ``InvalidInputError`` for what ``find_passes`` refuses: no elements or sites, duplicates, a bad window."""
    if not elements:
        raise InvalidInputError("no element sets given; load some with load_elements()", loc=("elements",))
    if not sites:
        raise InvalidInputError("no stations given; pass at least one Site", loc=("sites",))
    for e in elements:
        if not isinstance(e, ElementSet):
            raise InvalidInputError(f"elements must be ElementSet objects, got {type(e).__name__}",
                                    loc=("elements",))
    names = [s.name for s in sites]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidInputError(f"station names must be unique; repeated: {', '.join(duplicates)}",
                                loc=("sites",))
    if not (isinstance(duration_s, (int, float)) and math.isfinite(duration_s)
            and 0.0 < duration_s <= MAX_DURATION_S):
        raise InvalidInputError(f"duration_s is {duration_s!r}; expected seconds in (0, {MAX_DURATION_S:g}]",
                                loc=("duration_s",))


def find_passes(elements: Sequence[ElementSet], sites: Sequence[Site], *, start: datetime,
                duration_s: float, min_elevation_deg: float | None = None, workers: int | None = None,
                max_bytes: int = DEFAULT_MAX_BYTES, progress: Callable[[int, int], None] | None = None,
                executor: Executor | None = None) -> PassTable:
    """Return every pass of every satellite over every site in ``[start, start + duration_s]``.

    ``min_elevation_deg``, when given, replaces each site's own minimum elevation
    (masks still apply).  Passes in progress at ``start`` or still open at the end are
    included, clipped to the window and flagged (``clipped_aos``/``clipped_los``).  A
    satellite SGP4 cannot propagate (decayed, for example) loses its samples from the
    failure on, and ``table.warnings`` says so.  ``workers`` processes share the work
    (default: one per CPU); ``max_bytes`` bounds the working memory of each.  Or
    ``executor`` runs the chunks of satellites instead (``parallel.make_executor``: local
    processes or a Dask cluster); the table is the same whichever runs them.
    ``progress(done, total)`` is called as satellites are finished (in any order).
    """
    start = require_utc(start, "start")
    elements = list(elements)
    sites = list(sites)
    check_inputs(elements, sites, duration_s)
    names = [s.name for s in sites]
    if min_elevation_deg is not None:
        sites = [s.with_min_elevation(min_elevation_deg) for s in sites]
    duration_s = float(duration_s)
    executor = resolve_executor(executor, workers)
    workers = executor.workers
    kernel_choice()                     # a wrong GROUNDSHARE_PASS_KERNEL is refused here, not in the workers
    if isinstance(executor, LocalExecutor):
        pass_kernel().prepare()         # compiled (or loaded) once here, before workers are forked

    steps = np.array([coarse_step_s(e) for e in elements])
    tasks = []
    for step in np.unique(steps):
        members = np.flatnonzero(steps == step)
        n_t = int(duration_s // step) + 2
        per_sat = n_t * (200 + len(sites) * 60)
        # Several chunks per worker keep both busy to the end and each chunk's arrays small.
        size = max(1, min(max_bytes // per_sat, max(4, math.ceil(members.size / (4 * workers)))))
        for lo in range(0, members.size, size):
            idx = members[lo : lo + size]
            tasks.append(([elements[i] for i in idx], idx, sites, start, duration_s, float(step)))
    done = 0

    def finished(i: int) -> None:
        nonlocal done
        done += len(tasks[i][1])
        if progress:
            progress(done, len(elements))

    results = executor.map(_run_chunk, tasks, progress=finished)
    norad_ids = [e.norad_id for e in elements]
    sat_names = [e.name for e in elements]
    tables = [PassTable(cols, norad_ids, sat_names, names) for cols, _ in results]
    table = concat_tables(tables) if tables else PassTable.empty(norad_ids, sat_names, names)
    table.warnings = [line for _, line in sorted(w for _, warns in results for w in warns)]
    order = np.lexsort((table.site_index, table.sat_index, table.aos))
    return table[order]
