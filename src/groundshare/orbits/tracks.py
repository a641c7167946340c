"""Ground tracks: where several satellites are around one instant, as sub-satellite points.

Each satellite gets its own window around ``at`` (by default one orbital period on each
side), so the samples are ragged: one flat array of (satellite index, offset) pairs,
propagated with one ``sgp4_array`` call per satellite, then rotated from TEME to the
Earth-fixed frame and converted to WGS84 geodetic coordinates all at once
(``orbits.frames``: GMST82 only, UT1 = UTC, no polar motion; a few tens of metres).
A sample SGP4 cannot propagate is kept and flagged (``ok``), never dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from groundshare.orbits.elements import ElementSet
from groundshare.orbits.frames import itrs_to_geodetic
from groundshare.orbits.propagate import propagate_pairs_itrs

# Slack on span / step, so that a span that is a whole number of steps keeps its last point.
_WHOLE_STEPS = 1e-9


@dataclass(frozen=True)
class GroundTracks:
    """Ground tracks of several satellites, flattened: rows ``starts[i]:starts[i + 1]`` are satellite ``i``'s.

    Each satellite is sampled every ``step_s`` from ``-n_before[i] * step_s`` to
    ``n_after[i] * step_s`` seconds around ``at``; row ``here[i]`` is ``at`` itself.
    Longitudes are east, in [-180, 180); heights are above the WGS84 ellipsoid.
    """

    at: datetime
    step_s: float
    period_s: np.ndarray    # (n_sat,) mean orbital period of each satellite
    starts: np.ndarray      # (n_sat + 1,)
    here: np.ndarray        # (n_sat,) the row of ``at`` of each satellite
    offset_s: np.ndarray    # (n,) seconds from ``at``
    lat_deg: np.ndarray     # (n,)
    lon_deg: np.ndarray     # (n,)
    alt_km: np.ndarray      # (n,)
    error: np.ndarray       # (n,) sgp4 error codes (0: fine)
    ok: np.ndarray          # (n,) SGP4 succeeded and the point is finite

    def of_satellite(self, i: int) -> slice:
        """Return the rows of satellite ``i``."""
        return slice(int(self.starts[i]), int(self.starts[i + 1]))


def track_point_counts(period_s: Sequence[float] | np.ndarray, *, step_s: float, before_s: float | None = None,
                       after_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return how many points each track has before and after ``at`` (``at`` itself is one more).

    ``period_s`` has shape (n_sat,); ``before_s`` and ``after_s`` default to each
    satellite's period.  Both results are int64 arrays of shape (n_sat,).
    """
    period_s = np.asarray(period_s, dtype=float)
    before = period_s if before_s is None else np.full(period_s.shape, before_s)
    after = period_s if after_s is None else np.full(period_s.shape, after_s)
    n_before = np.floor(before / step_s + _WHOLE_STEPS).astype(np.int64)
    n_after = np.floor(after / step_s + _WHOLE_STEPS).astype(np.int64)
    return n_before, n_after


def ground_tracks(elements: Sequence[ElementSet], at: datetime, *, step_s: float, before_s: float | None = None,
                  after_s: float | None = None) -> GroundTracks:
    """Return the sub-satellite points of ``elements`` every ``step_s`` around ``at``.

    ``before_s`` and ``after_s`` bound each track on either side of ``at`` (default:
    one orbital period of each satellite).  Samples where SGP4 fails keep their error
    code in ``error`` and are ``False`` in ``ok``.
    """
    period_s = np.array([e.period_s for e in elements], dtype=float)
    n_before, n_after = track_point_counts(period_s, step_s=step_s, before_s=before_s, after_s=after_s)
    counts = n_before + n_after + 1
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    sat_index = np.repeat(np.arange(len(elements)), counts)
    offset_s = (np.arange(sat_index.size) - starts[sat_index] - n_before[sat_index]) * step_s
    if sat_index.size:
        err, r_itrs, _ = propagate_pairs_itrs([e.to_satrec() for e in elements], sat_index, at, offset_s)
        lat_deg, lon_deg, alt_km = itrs_to_geodetic(r_itrs)
    else:
        err = np.zeros(0, dtype=np.uint8)
        lat_deg = lon_deg = alt_km = np.zeros(0)
    return GroundTracks(at=at, step_s=step_s, period_s=period_s, starts=starts, here=starts[:-1] + n_before,
                        offset_s=offset_s, lat_deg=lat_deg, lon_deg=lon_deg, alt_km=alt_km, error=err,
                        ok=(err == 0) & np.isfinite(alt_km))
