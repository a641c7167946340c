"""Geometry along passes: look angles, range and range rate from AOS to LOS.

The samples come straight from SGP4 (one ``sgp4_array`` call per satellite for all of
its samples), rotated to the Earth-fixed frame as in the pass search.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from groundshare.errors import InvalidInputError
from groundshare.orbits.elements import ElementSet
from groundshare.orbits.propagate import propagate_pairs_itrs
from groundshare.parallel import Executor, resolve_executor
from groundshare.passes.look import topocentric
from groundshare.passes.site import Site, sites_to_arrays
from groundshare.passes.table import PassTable
from groundshare.timeutil import datetime64_to_utc, to_datetime64

# More samples than this in one call is a mistake of step or window, not a plan.
MAX_SAMPLES = 50_000_000
# Half-width of the central differences that give range rate and acceleration.
RATE_STEP_S = 0.05
# Samples computed at once.
CHUNK_SAMPLES = 200_000


@dataclass
class PassTracks:
    """Samples along passes, flattened: rows ``starts[i]:starts[i + 1]`` belong to pass ``i``.

    Each pass is sampled at AOS, every ``step_s`` after it, and at LOS.  ``weight_s`` are
    trapezoidal weights: over one pass they add up to its duration exactly, so a rate
    summed with them is a volume.  ``time`` is ``datetime64[us]`` UTC.
    """

    starts: np.ndarray            # (n_pass + 1,)
    pass_index: np.ndarray        # (n,)
    site_index: np.ndarray        # (n,)
    time: np.ndarray              # (n,) datetime64[us]
    offset_s: np.ndarray          # (n,) seconds since the pass's AOS
    weight_s: np.ndarray          # (n,)
    az_deg: np.ndarray
    el_deg: np.ndarray
    range_km: np.ndarray
    range_rate_km_s: np.ndarray
    range_accel_km_s2: np.ndarray  # d(range rate)/dt
    ok: np.ndarray                # (n,) SGP4 succeeded

    def __len__(self) -> int:
        return int(self.pass_index.size)

    def of_pass(self, i: int) -> slice:
        """Return the rows of pass ``i``."""
        return slice(int(self.starts[i]), int(self.starts[i + 1]))


def sample_passes(table: PassTable, elements: Sequence[ElementSet], sites: Sequence[Site], *,
                  step_s: float = 1.0, workers: int | None = None, executor: Executor | None = None,
                  progress: Callable[[int, int], None] | None = None) -> PassTracks:
    """Return the geometry of every pass of ``table``, sampled every ``step_s`` seconds.

    ``elements`` and ``sites`` are the ones the table was computed from (its
    ``sat_index`` and ``site_index`` point into them).  ``workers`` processes share the
    work (default: one per CPU), or ``executor`` runs the chunks of samples instead
    (``parallel.make_executor``: local processes or a Dask cluster).  ``progress(done,
    total)`` is called as samples are finished (in any order).
    """
    if not (isinstance(step_s, (int, float)) and np.isfinite(step_s) and step_s > 0.0):
        raise InvalidInputError(f"step_s is {step_s!r}; expected a positive number of seconds", loc=("step_s",))
    if len(elements) != len(table.norad_ids) or any(
            e.norad_id != n for e, n in zip(elements, table.norad_ids, strict=True)):
        raise InvalidInputError("elements are not the ones this pass table was computed from", loc=("elements",))
    if len(sites) != len(table.site_names) or any(s.name != n for s, n in zip(sites, table.site_names, strict=True)):
        raise InvalidInputError("sites are not the ones this pass table was computed from", loc=("sites",))
    n_pass = len(table)
    duration_s = table.duration_s
    counts = np.where(duration_s > 0.0, np.ceil(duration_s / step_s).astype(np.int64) + 1, 1)
    if counts.sum() > MAX_SAMPLES:
        raise InvalidInputError(
            f"{int(counts.sum()):,} samples at step_s={step_s:g} is more than {MAX_SAMPLES:,}; "
            "use a longer step or fewer passes", loc=("step_s",))
    starts = np.concatenate([[0], np.cumsum(counts)])
    pass_index = np.repeat(np.arange(n_pass), counts)
    position = np.arange(pass_index.size) - starts[pass_index]
    offset_s = np.minimum(position * float(step_s), duration_s[pass_index])
    # Trapezoidal weights: half of each neighbouring interval.
    gap_before = np.where(position > 0, offset_s - np.concatenate([[0.0], offset_s[:-1]]), 0.0)
    last = position == counts[pass_index] - 1
    gap_after = np.where(~last, np.concatenate([offset_s[1:], [0.0]]) - offset_s, 0.0)
    weight_s = 0.5 * (gap_before + gap_after)

    reference = datetime64_to_utc(table.aos.min()) if n_pass else None
    aos_s = (table.aos - table.aos.min()) / np.timedelta64(1, "us") * 1e-6 if n_pass else np.zeros(0)
    t_s = aos_s[pass_index] + offset_s
    sat_index = table.sat_index[pass_index]
    site_index = table.site_index[pass_index]
    sa = sites_to_arrays(sites)
    # Chunks of samples keep the working arrays in cache and memory bounded.
    tasks = []
    for lo in range(0, t_s.size, CHUNK_SAMPLES):
        sats = sat_index[lo:lo + CHUNK_SAMPLES]
        needed = {int(i): elements[int(i)] for i in np.unique(sats)}   # only what the chunk propagates
        tasks.append((needed, sa, sats, site_index[lo:lo + CHUNK_SAMPLES], reference, t_s[lo:lo + CHUNK_SAMPLES]))
    executor = resolve_executor(executor, workers)
    done = 0

    def finished(i: int) -> None:
        nonlocal done
        done += tasks[i][2].size
        if progress:
            progress(done, int(t_s.size))

    parts = executor.map(_geometry, tasks, progress=finished)
    if parts:
        sin_el, az_deg, range_km, range_rate, range_accel, ok = (np.concatenate(x) for x in zip(*parts, strict=True))
    else:
        sin_el = az_deg = range_km = range_rate = range_accel = np.zeros(0)
        ok = np.zeros(0, dtype=bool)
    el_deg = np.degrees(np.arcsin(np.clip(sin_el, -1.0, 1.0)))
    time = table.aos[pass_index] + np.round(offset_s * 1e6).astype("timedelta64[us]")
    return PassTracks(starts, pass_index, site_index, time, offset_s, weight_s, az_deg, el_deg, range_km,
                      range_rate, range_accel, ok)


def _geometry(task: tuple) -> tuple[np.ndarray, ...]:
    """Return sin(el), azimuth, range, range rate, range acceleration and success per sample.

    Range rate and acceleration are central differences of SGP4 positions +-RATE_STEP_S:
    SGP4's own velocity differs from the derivative of its position by up to ~1 cm/s, and
    Doppler should follow the range the antenna sees.
    """
    elements, sa, sat_index, site_index, reference, t_s = task
    satrecs = {i: e.to_satrec() for i, e in elements.items()}
    t3 = np.concatenate([t_s - RATE_STEP_S, t_s, t_s + RATE_STEP_S])
    err, r_e, v_e = propagate_pairs_itrs(satrecs, np.tile(sat_index, 3), reference, t3)
    sin_el, _, az_deg, range_km, _ = topocentric(r_e, v_e, sa, np.tile(site_index, 3))
    before, now, after = np.split(np.arange(t3.size), 3)
    range_rate = (range_km[after] - range_km[before]) / (2.0 * RATE_STEP_S)
    range_accel = (range_km[after] - 2.0 * range_km[now] + range_km[before]) / RATE_STEP_S**2
    ok = (err[before] == 0) & (err[now] == 0) & (err[after] == 0) & np.isfinite(range_km[now])
    return sin_el[now], az_deg[now], range_km[now], range_rate, range_accel, ok


def sample_window(elements: ElementSet, site: Site, start: datetime, duration_s: float, *,
                  step_s: float = 1.0) -> tuple[PassTable, PassTracks]:
    """Sample one satellite from one site every ``step_s`` over ``[start, start + duration_s]``.

    The window is treated as a one-pass table (AOS ``start``, LOS the end), so it is
    sampled exactly as passes are; the table comes back too, for budgets along it
    (``link.along.link_along_passes``).
    """
    aos, los = to_datetime64(start, np.array([0.0, duration_s]))
    table = PassTable({"sat_index": [0], "site_index": [0], "aos": [aos], "tca": [aos], "los": [los]},
                      norad_ids=[elements.norad_id], sat_names=[elements.name], site_names=[site.name])
    return table, sample_passes(table, [elements], [site], step_s=step_s, workers=1)
