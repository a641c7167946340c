"""Did a new orbit move a booked contact?  Each booked window against the passes of the new element set.

``check_drift(windows, elements)`` takes the booked windows of one satellite (the
contact's id, the station's ``Site`` with its minimum elevation and mask, start, end,
and what the contact needs: a minimum duration, a culmination, the request's window)
and the satellite's new ``ElementSet``, and says per window what became of its pass:

- ``decayed``: SGP4 fails at the window (error code 6, "mrt is less than 1.0", is a
  decayed orbit; any other code an orbit SGP4 cannot carry to then).  Nothing can keep it;
- ``vanished``: no pass of the new orbit over the station overlaps the window;
- ``kept``: the window still lies within the pass, allowing ``threshold_s`` at each
  end: the pass's AOS and LOS moved by less than the threshold past the window's
  edges, or the window (a part of the pass) is still wholly inside it;
- ``shrunk``: the overlapping pass no longer gives what the contact needs: its part
  inside the request's window is shorter than ``min_duration_s``, or it culminates
  below ``min_elevation_deg``;
- ``drifted``: the pass is still there but moved more than the threshold past an edge.

The pass of a window is the new pass over its station that overlaps it most (a horizon
mask can split one pass in two).  Every ``Drift`` carries that pass's AOS and LOS (None
when decayed or vanished), the shifts past the window's edges, and ``clipped``: the
window cut to the new pass (what a contact too close to move is updated to).

Method: one ``passes.find_passes`` call for all the windows (one satellite, every
distinct site, from ``SEARCH_MARGIN_S`` before the first window to as long after the
last, so a pass in progress at a window's edge is found whole); the matching of windows
to passes is a ``searchsorted`` per site over the passes, which never overlap one another
for one satellite over one site; the decay check is one ``sgp4_array`` call at every
window's start, middle and end.  The pass engine's accuracy (milliseconds against SGP4)
is far inside any useful threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np

from groundshare.errors import InvalidInputError
from groundshare.orbits.elements import ElementSet
from groundshare.orbits.propagate import error_message
from groundshare.passes.search import find_passes
from groundshare.passes.site import Site
from groundshare.timeutil import datetime64_to_utc, format_utc, jd_fr, require_utc

#: Default tolerance at AOS and LOS before a contact counts as drifted, seconds (the issue's 5 s).
DEFAULT_THRESHOLD_S = 5.0
#: How far before the first window and after the last the passes are searched: longer than any LEO pass
#: (about 25 min), so the pass under a window's edge is found whole.  A longer pass (MEO, GEO) is
#: clipped at the search's edge, which only ever makes it reach further than the window.
SEARCH_MARGIN_S = 7_200.0
#: Step of the decay screen from the epoch to the last window, seconds: a decaying orbit fails SGP4 for good
#: well within it (error 6, the orbit below the Earth's surface), and one SGP4 call samples weeks of it.
DECAY_STEP_S = 600.0


class DriftKind(StrEnum):
    """What became of a booked window's pass under the new orbit (see the module docstring)."""

    KEPT = "kept"
    DRIFTED = "drifted"
    SHRUNK = "shrunk"
    VANISHED = "vanished"
    DECAYED = "decayed"


@dataclass(frozen=True)
class BookedWindow:
    """One booked contact as the drift check needs it.

    ``site``: the station (its minimum elevation and horizon mask apply); ``start`` and
    ``end``: the booked window; ``min_duration_s`` and ``min_elevation_deg``: what the
    contact needs of its pass (the request's; 0: nothing); ``not_before`` and
    ``not_after``: the request's window, which bounds the usable part of a new pass
    (None: unbounded).
    """

    id: int | str
    site: Site
    start: datetime
    end: datetime
    min_duration_s: float = 0.0
    min_elevation_deg: float = 0.0
    not_before: datetime | None = None
    not_after: datetime | None = None


@dataclass(frozen=True)
class Drift:
    """The new orbit's verdict on one booked window.

    ``aos``/``los``: the new pass overlapping the window most (None when ``decayed`` or
    ``vanished``); ``aos_shift_s``/``los_shift_s``: how far the window's start lies
    before the new AOS and its end after the new LOS (positive: the window sticks out of
    the pass; negative: it is inside); ``clipped_start``/``clipped_end``: the window cut
    to the new pass (None when they do not meet); ``reason``: one line for people.
    """

    id: int | str
    kind: DriftKind
    reason: str
    aos: datetime | None = None
    los: datetime | None = None
    max_elevation_deg: float | None = None
    aos_shift_s: float | None = None
    los_shift_s: float | None = None
    clipped_start: datetime | None = None
    clipped_end: datetime | None = None

    @property
    def needs_repair(self) -> bool:
        """Whether the contact no longer fits its pass (anything but ``kept``)."""
        return self.kind is not DriftKind.KEPT


def check_drift(windows: Sequence[BookedWindow], elements: ElementSet, *,
                threshold_s: float = DEFAULT_THRESHOLD_S, workers: int | None = 1) -> list[Drift]:
    """Return one ``Drift`` per booked window of ``elements``' satellite, in order (see the module docstring).

    ``threshold_s``: how far the new pass may move past a window's edge before the
    contact has drifted.  ``workers``: processes of the pass search (1: in this one).
    """
    if not (isinstance(threshold_s, (int, float)) and 0.0 <= threshold_s < 3_600.0):
        raise InvalidInputError(f"threshold_s is {threshold_s!r}; expected seconds in [0, 3600)",
                                loc=("threshold_s",))
    windows = list(windows)
    if not windows:
        return []
    for w in windows:
        require_utc(w.start, f"window {w.id} start")
        require_utc(w.end, f"window {w.id} end")
        if w.end <= w.start:
            raise InvalidInputError(f"window {w.id}: end {format_utc(w.end)} must be after start "
                                    f"{format_utc(w.start)}", loc=("windows", str(w.id)))
    t0 = min(w.start for w in windows)
    start_s = np.array([(w.start - t0).total_seconds() for w in windows])
    end_s = np.array([(w.end - t0).total_seconds() for w in windows])

    failed, failure = _propagation_failures(elements, t0, start_s, end_s)

    # One search for every window: sites deduplicated, renamed by index (the engine wants unique names).
    keys: dict[tuple, int] = {}
    site_of = np.array([keys.setdefault(_site_key(w.site), len(keys)) for w in windows])
    sites: list[Site] = [None] * len(keys)  # type: ignore[list-item]
    for w, k in zip(windows, site_of, strict=True):
        if sites[k] is None:
            s = w.site
            sites[k] = Site(str(k), lat_deg=s.lat_deg, lon_deg=s.lon_deg, alt_m=s.alt_m,
                            min_elevation_deg=s.min_elevation_deg, horizon_mask=s.horizon_mask)
    search_from = t0 - timedelta(seconds=SEARCH_MARGIN_S)
    duration_s = float(end_s.max()) + 2.0 * SEARCH_MARGIN_S
    table = find_passes([elements], sites, start=search_from, duration_s=duration_s, workers=workers)
    base = np.datetime64(t0.replace(tzinfo=None), "us")
    p_aos = (table.aos - base) / np.timedelta64(1, "us") * 1e-6
    p_los = (table.los - base) / np.timedelta64(1, "us") * 1e-6
    p_site = table.site_index

    # For each window, the passes over its site that overlap it: a contiguous run [lo, hi) of that site's passes.
    best = np.full(len(windows), -1)
    for k in range(len(sites)):
        rows = np.flatnonzero(site_of == k)
        mine = np.flatnonzero(p_site == k)
        if not mine.size:
            continue
        mine = mine[np.argsort(p_aos[mine], kind="stable")]
        lo = np.searchsorted(p_los[mine], start_s[rows], side="right")
        hi = np.searchsorted(p_aos[mine], end_s[rows], side="left")
        for row, a, b in zip(rows, lo, hi, strict=True):
            if b > a:
                run = mine[a:b]
                overlap = np.minimum(p_los[run], end_s[row]) - np.maximum(p_aos[run], start_s[row])
                best[row] = run[int(np.argmax(overlap))]
    return [_verdict(w, int(best[i]), table, p_aos, p_los, start_s[i], end_s[i], failed[i], failure[i], t0,
                     threshold_s) for i, w in enumerate(windows)]


def _verdict(w: BookedWindow, j: int, table, p_aos: np.ndarray, p_los: np.ndarray, start_s: float, end_s: float,
             failed: bool, failure: str, t0: datetime, threshold_s: float) -> Drift:
    """Return the drift of one window whose best pass is row ``j`` of ``table`` (-1: none)."""
    span = f"{format_utc(w.start)}..{format_utc(w.end)}"
    if failed:
        return Drift(w.id, DriftKind.DECAYED, f"the new orbit cannot be propagated to {span}: {failure}")
    if j < 0:
        return Drift(w.id, DriftKind.VANISHED, f"the new orbit makes no pass over the station during {span}")
    aos, los = datetime64_to_utc(table.aos[j]), datetime64_to_utc(table.los[j])
    max_el = float(table.max_elevation_deg[j])
    aos_shift_s = float(p_aos[j] - start_s)
    los_shift_s = float(end_s - p_los[j])
    clipped_start, clipped_end = max(w.start, aos), min(w.end, los)
    common = dict(aos=aos, los=los, max_elevation_deg=max_el, aos_shift_s=aos_shift_s, los_shift_s=los_shift_s,
                  clipped_start=clipped_start, clipped_end=clipped_end)
    new = f"the new pass is {format_utc(aos)}..{format_utc(los)}"
    if aos_shift_s <= threshold_s and los_shift_s <= threshold_s:
        return Drift(w.id, DriftKind.KEPT, f"{new}; the booked {span} still lies within it", **common)
    usable_from = max(aos, w.not_before) if w.not_before is not None else aos
    usable_to = min(los, w.not_after) if w.not_after is not None else los
    usable_s = max((usable_to - usable_from).total_seconds(), 0.0)
    if usable_s < w.min_duration_s:
        return Drift(w.id, DriftKind.SHRUNK, f"{new}, {usable_s:.1f} s of it usable, shorter than the contact's "
                                             f"minimum of {w.min_duration_s:g} s", **common)
    if max_el < w.min_elevation_deg:
        return Drift(w.id, DriftKind.SHRUNK, f"{new}, culminating at {max_el:.1f} deg, below the contact's minimum "
                                             f"of {w.min_elevation_deg:g} deg", **common)
    moved = max(aos_shift_s, los_shift_s)
    return Drift(w.id, DriftKind.DRIFTED, f"{new}; the booked {span} reaches {moved:.1f} s outside it "
                                          f"(threshold {threshold_s:g} s)", **common)


def _propagation_failures(elements: ElementSet, t0: datetime, start_s: np.ndarray,
                          end_s: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Return, per window, whether SGP4 fails at it, and SGP4's reason ("" where it does not).

    A decay is for good: SGP4 is sampled every ``DECAY_STEP_S`` from the epoch to the last
    window's end (it may return numbers again past a decay, which mean nothing), and a window
    ending after the first failure fails.  Windows before the epoch are checked at their
    start, middle and end.
    """
    epoch_s = (elements.epoch - t0).total_seconds()
    last_s = float(end_s.max())
    forward = np.arange(epoch_s, last_s, DECAY_STEP_S)  # empty when the epoch is after every window
    points = np.stack([start_s, 0.5 * (start_s + end_s), end_s], axis=1)
    t_s = np.concatenate([points.ravel(), forward, [last_s]])
    jd, fr = jd_fr(t0, t_s)
    err, r, _ = elements.to_satrec().sgp4_array(jd, fr)
    err = np.asarray(err)
    bad = (err != 0) | ~np.isfinite(np.asarray(r)).all(axis=-1)
    after_epoch = bad & (t_s >= epoch_s)
    first_s = float(t_s[after_epoch].min()) if after_epoch.any() else np.inf
    failed = bad[:points.size].reshape(points.shape).any(axis=1) | (end_s > first_s)
    k, first = 0, ""
    if np.isfinite(first_s):
        k = int(np.flatnonzero(after_epoch & (t_s == first_s))[0])
        first = f" from {format_utc(t0 + timedelta(seconds=first_s))} on"
    reasons = []
    for i in range(len(failed)):
        if not failed[i]:
            reasons.append("")
            continue
        j = k if end_s[i] > first_s else 3 * i + int(np.argmax(bad[3 * i:3 * i + 3]))
        code = int(err[j])
        why = f"SGP4 error {code}: {error_message(code)}" if code else "SGP4 returned a non-finite position"
        reasons.append(why + (first if end_s[i] > first_s else ""))
    return failed, reasons


def _site_key(site: Site) -> tuple:
    """Return what makes two sites the same place with the same view of the sky."""
    mask = site.horizon_mask
    mask_key = None if mask is None else (mask.az_deg.tobytes(), mask.el_deg.tobytes())
    return (site.lat_deg, site.lon_deg, site.alt_m, site.min_elevation_deg, mask_key)
