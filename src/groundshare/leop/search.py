"""Antenna search pattern for a LEOP contact: where to wait, which arc to sweep, until when.

A LEOP contact covers a station's whole uncertainty window ``[earliest_aos, latest_los]``,
wider than any one pass.  The timing error is along-track: a satellite deployed ``dt``
seconds late is at the nominal state of time ``t - dt``, on the same inertial orbit.  Under
it the Earth has turned by ``dt`` times 7.3e-5 rad/s more (0.25 deg per minute), so every
admissible ``dt`` gives nearly the same sky arc over the station, crossed at an unknown time
and a few degrees to one side.  The pattern says, for the agent:

- the **wait point**: where the nominal copy (``dt = 0``; when it does not pass in this
  window, the middle of the copies that do) rises through the **wait elevation**, the
  station's threshold at that azimuth (minimum elevation or mask) plus ``WAIT_MARGIN_DEG``,
  at most the reference copy's peak minus ``PEAK_MARGIN_DEG``;
- the **sweep**: the range of rise azimuths at the wait elevation over the admissible copies
  (wrap-aware: the shortest arc holding them all, swept clockwise from ``azimuth_min_deg`` to
  ``azimuth_max_deg`` and back every ``SWEEP_PERIOD_S``);
- ``wait.until``: the latest time any admissible copy rises through the wait elevation; by
  then the satellite has risen whatever ``dt`` was;
- ``arc``: the reference copy's sky track while it is above the station's threshold.

Method: copies of the deployment elements re-dated by ``dt`` (as ``windows._redated``) over
``[-U, +U]`` (U the window's ``uncertainty_s``), at most ``SHIFT_STEP_S`` apart (ends and 0
included), propagated together by SGP4 (``orbits.propagate.propagate_itrs``) on a grid
``COARSE_STEP_S`` apart over the window; the first rising sign change of ``sin(el) -
sin(wait)`` per copy is interpolated linearly and polished by ``NEWTON_ITERATIONS`` Newton
steps with the elevation rate of ``passes.look.topocentric`` (from a 5 s bracket the
crossing time is then good to well under 1 ms, its azimuth to far under 0.01 deg).  Copies
between two grid shifts rise between their neighbours (the rise azimuth is a smooth,
nearly linear function of ``dt``), so the sweep covers them too.  A copy that never reaches
the wait elevation in the window is left out of the sweep (it passes too low to be worth the
search); ``copies`` and ``copies_rising`` in the JSON say how many.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from groundshare.errors import InvalidInputError
from groundshare.leop.windows import LeopWindow, _redated
from groundshare.orbits import ElementSet
from groundshare.orbits.propagate import propagate_itrs, propagate_pairs_itrs, satrec_array
from groundshare.passes import Site
from groundshare.passes.look import topocentric
from groundshare.passes.site import sites_to_arrays
from groundshare.timeutil import format_utc

#: Degrees above the station's threshold at which the antenna waits: clear of the mask's
#: multipath and terrain, low enough to be reached seconds after rise (~0.1-0.3 deg/s at low elevation).
WAIT_MARGIN_DEG = 3.0
#: The wait elevation stays this far below the reference copy's peak, so that it is crossed at all.
PEAK_MARGIN_DEG = 1.0
#: Back-and-forth period of the sweep, seconds (a 10 deg arc at the 2-6 deg/s of amateur rotators, with dwell).
SWEEP_PERIOD_S = 60.0
#: Largest spacing of the deployment-time copies, seconds (the rise azimuth moves < 0.05 deg over it).
SHIFT_STEP_S = 5.0
#: Most copies one pattern propagates (the spacing widens beyond it).
MAX_SHIFTS = 481
#: Spacing of the grid on which crossings are bracketed, seconds.
COARSE_STEP_S = 5.0
#: Most grid times (the grid widens for very wide windows, such as those of a capped uncertainty).
MAX_TIMES = 4000
#: Newton steps that polish each crossing.
NEWTON_ITERATIONS = 2
#: Margin sampled either side of the window, seconds (a copy rising right at the window's edge).
EDGE_S = 60.0


@dataclass(frozen=True)
class SearchPattern:
    """Where the antenna waits and sweeps for a satellite whose time on its orbit is uncertain.

    Angles in degrees, times aware UTC; see the module docstring for each part.
    """

    station: str
    window_start: datetime
    window_end: datetime
    nominal_aos: datetime | None
    nominal_tca: datetime | None
    nominal_los: datetime | None
    shift_min_s: float
    shift_max_s: float
    wait_azimuth_deg: float
    wait_elevation_deg: float
    wait_from: datetime
    wait_until: datetime
    wait_nominal_at: datetime | None
    sweep_azimuth_min_deg: float
    sweep_azimuth_max_deg: float
    sweep_period_s: float
    arc: tuple[tuple[float, float], ...]
    copies: int = 1
    copies_rising: int = 1

    @property
    def sweep_width_deg(self) -> float:
        """Return the swept arc's width, clockwise from min to max."""
        return (self.sweep_azimuth_max_deg - self.sweep_azimuth_min_deg) % 360.0

    def to_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return None if t is None else format_utc(t)

        return {
            "kind": "leop_search", "station": self.station,
            "window_start": iso(self.window_start), "window_end": iso(self.window_end),
            "nominal_aos": iso(self.nominal_aos), "nominal_tca": iso(self.nominal_tca),
            "nominal_los": iso(self.nominal_los),
            "shift_min_s": round(self.shift_min_s, 3), "shift_max_s": round(self.shift_max_s, 3),
            "wait": {"azimuth_deg": round(self.wait_azimuth_deg, 3), "elevation_deg": round(self.wait_elevation_deg, 3),
                     "from": iso(self.wait_from), "until": iso(self.wait_until),
                     "nominal_at": iso(self.wait_nominal_at)},
            "sweep": {"azimuth_min_deg": round(self.sweep_azimuth_min_deg, 3),
                      "azimuth_max_deg": round(self.sweep_azimuth_max_deg, 3),
                      "elevation_deg": round(self.wait_elevation_deg, 3), "period_s": self.sweep_period_s},
            "arc": [[round(az, 2), round(el, 2)] for az, el in self.arc],
            "copies": self.copies, "copies_rising": self.copies_rising,
        }


def search_pattern(elements: ElementSet, site: Site, window: LeopWindow, *, arc_step_s: float = 10.0,
                   start: datetime | None = None, end: datetime | None = None) -> SearchPattern:
    """Return the search pattern of ``window`` (one of ``plan_windows``'s) for the station ``site``.

    ``elements`` are the deployment's (dt = 0); ``start``/``end`` are the booked contact's
    ends when the booking rules clipped the window (default: the window's own).
    """
    if not (isinstance(arc_step_s, (int, float)) and math.isfinite(arc_step_s) and 0.5 <= arc_step_s <= 600.0):
        raise InvalidInputError(f"arc_step_s is {arc_step_s!r}; expected seconds in [0.5, 600]", loc=("arc_step_s",))
    if site.name != window.station:
        raise InvalidInputError(f"the window is of station {window.station!r}, not {site.name!r}", loc=("site",))
    start = window.earliest_aos if start is None else start
    end = window.latest_los if end is None else end
    u = max(float(window.uncertainty_s), 0.0)
    shifts = _shifts(u)
    copies = [_redated(elements, float(dt)) for dt in shifts]
    t0 = window.earliest_aos - timedelta(seconds=EDGE_S)
    span_s = (window.latest_los - window.earliest_aos).total_seconds() + 2.0 * EDGE_S
    n_t = min(MAX_TIMES, math.ceil(span_s / COARSE_STEP_S) + 1)
    t_s = np.linspace(0.0, span_s, max(n_t, 2))
    sa = sites_to_arrays([site])
    err, r_km, v_km_s = propagate_itrs(satrec_array(copies), t0, t_s)
    n_c = len(copies)
    rows = np.zeros(n_c * t_s.size, dtype=np.int64)
    sin_el, _, az_deg, _, _ = topocentric(r_km.reshape(-1, 3), v_km_s.reshape(-1, 3), sa, rows)
    ok = (err.reshape(-1) == 0) & np.isfinite(sin_el)
    sin_el = np.where(ok, sin_el, -1.0).reshape(n_c, t_s.size)
    az_deg = az_deg.reshape(n_c, t_s.size)
    el_deg = np.degrees(np.arcsin(np.clip(sin_el, -1.0, 1.0)))
    threshold = site.threshold_deg(az_deg)
    visible = el_deg > threshold

    middle = int(np.flatnonzero(shifts == 0.0)[0])
    rising_copies = np.flatnonzero(visible.any(axis=1))
    if rising_copies.size == 0:
        raise InvalidInputError(f"no admissible copy of the deployment is above {site.name}'s threshold in the "
                                f"window {format_utc(window.earliest_aos)} .. {format_utc(window.latest_los)}",
                                loc=("window",))
    nominal_passes = bool(visible[middle].any())
    ref = middle if nominal_passes else int(rising_copies[rising_copies.size // 2])

    # The wait elevation: the reference copy's threshold where it first clears threshold + margin.
    peak = float(el_deg[ref].max())
    clear = np.flatnonzero(el_deg[ref] >= threshold[ref] + WAIT_MARGIN_DEG)
    first = int(clear[0]) if clear.size else int(np.argmax(el_deg[ref]))
    wait_el = min(float(threshold[ref, first]) + WAIT_MARGIN_DEG, peak - PEAK_MARGIN_DEG)

    cross_s, cross_az, rises = _rise_crossings(copies, sa, t0, t_s, sin_el, math.sin(math.radians(wait_el)))
    if not rises[ref]:
        raise InvalidInputError(f"the reference copy never rises through {wait_el:.1f} deg over {site.name}",
                                loc=("window",))
    wait_az = float(cross_az[ref])
    sweep_min, sweep_max = _shortest_arc(cross_az[rises])
    wait_until = t0 + timedelta(seconds=float(cross_s[rises].max()))
    nominal_at = t0 + timedelta(seconds=float(cross_s[middle])) if nominal_passes and rises[middle] else None
    arc = _arc(copies[ref], site, sa, start, end, arc_step_s)
    return SearchPattern(
        station=site.name, window_start=start, window_end=end,
        nominal_aos=window.aos, nominal_tca=window.tca, nominal_los=window.los,
        shift_min_s=-u, shift_max_s=u, wait_azimuth_deg=wait_az, wait_elevation_deg=wait_el,
        wait_from=start, wait_until=wait_until, wait_nominal_at=nominal_at,
        sweep_azimuth_min_deg=sweep_min, sweep_azimuth_max_deg=sweep_max, sweep_period_s=SWEEP_PERIOD_S,
        arc=arc, copies=n_c, copies_rising=int(rises.sum()))


def _shifts(bound_s: float) -> np.ndarray:
    """Return deployment-time shifts over [-bound, +bound], at most SHIFT_STEP_S apart, with 0 and both ends."""
    if bound_s <= 0.0:
        return np.zeros(1)
    half = min(math.ceil(bound_s / SHIFT_STEP_S), (MAX_SHIFTS - 1) // 2)
    return np.linspace(-bound_s, bound_s, 2 * half + 1)


def _rise_crossings(copies: list[ElementSet], sa: Any, t0: datetime, t_s: np.ndarray, sin_el: np.ndarray,
                    sin_wait: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return each copy's first rising crossing of ``sin_wait``: seconds after ``t0``, azimuth, and whether it rises."""
    g = sin_el - sin_wait
    up = (g[:, :-1] < 0.0) & (g[:, 1:] >= 0.0)
    rises = up.any(axis=1)
    k = np.argmax(up, axis=1)
    idx = np.arange(len(copies))
    g0, g1 = g[idx, k], g[idx, k + 1]
    frac = np.where(rises, g0 / np.where(g0 - g1 == 0.0, -1.0, g0 - g1), 0.0)
    lo, hi = t_s[k], t_s[np.minimum(k + 1, t_s.size - 1)]
    t = lo + np.clip(frac, 0.0, 1.0) * (hi - lo)
    satrecs = [c.to_satrec() for c in copies]
    site_index = np.zeros(len(copies), dtype=np.int64)
    az = np.zeros(len(copies))
    for _ in range(NEWTON_ITERATIONS + 1):
        _, r_km, v_km_s = propagate_pairs_itrs(satrecs, idx, t0, t)
        s, ds, az, _, _ = topocentric(r_km, v_km_s, sa, site_index)
        step = np.where(rises & (ds > 0.0), (s - sin_wait) / np.where(ds > 0.0, ds, 1.0), 0.0)
        t = np.clip(t - np.clip(step, -COARSE_STEP_S, COARSE_STEP_S), lo, hi)
    return t, az, rises


def _shortest_arc(az_deg: np.ndarray) -> tuple[float, float]:
    """Return (min, max) of the shortest clockwise arc from min to max holding every azimuth (wrap-aware)."""
    a = np.sort(np.asarray(az_deg, dtype=float) % 360.0)
    if a.size == 1:
        return float(a[0]), float(a[0])
    gaps = np.diff(np.concatenate([a, a[:1] + 360.0]))
    widest = int(np.argmax(gaps))  # the arc starts after the widest empty gap and ends before it
    return float(a[(widest + 1) % a.size]), float(a[widest])


def _arc(elements: ElementSet, site: Site, sa: Any, start: datetime, end: datetime,
         step_s: float) -> tuple[tuple[float, float], ...]:
    """Return the copy's (az, el) every ``step_s`` over [start, end] while it is above the station's threshold."""
    span_s = max((end - start).total_seconds(), 0.0)
    t_s = np.concatenate([np.arange(0.0, span_s, step_s), [span_s]])
    err, r_km, v_km_s = propagate_itrs(satrec_array([elements]), start, t_s)
    sin_el, _, az_deg, _, _ = topocentric(r_km[0], v_km_s[0], sa, np.zeros(t_s.size, dtype=np.int64))
    el_deg = np.degrees(np.arcsin(np.clip(sin_el, -1.0, 1.0)))
    keep = (err[0] == 0) & (el_deg > site.threshold_deg(az_deg))
    return tuple((float(a), float(e)) for a, e in zip(az_deg[keep], el_deg[keep], strict=True))
