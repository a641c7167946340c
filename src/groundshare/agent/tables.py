"""Pointing and Doppler tables for one pass, and the rotator's path through them.

Everything here is computed before AOS (precompute, then play back): the look angles
come from the pass engine (``passes.track.sample_passes`` on a one-pass table, exactly as
the API's contact geometry does) and the frequencies from ``link.doppler``.  The
azimuth-path planning is a pure function of the look angles and the rotator's limits.

Azimuths from the pass engine are clockwise from true north in [0, 360).  Rotator
commands (``az_cmd_deg``, ``el_cmd_deg``) are in the rotator's own frame: azimuth may
run past 0..360 (-180..540 rotators exist) and elevation past 90 in flip mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from groundshare.agent.hamlib import RotatorLimits
from groundshare.errors import InvalidInputError
from groundshare.link.doppler import received_frequency_hz, uplink_frequency_hz
from groundshare.orbits.elements import ElementSet
from groundshare.passes.site import Site
from groundshare.passes.track import sample_window
from groundshare.timeutil import require_utc, seconds_between
from groundshare.units import DAY_S

# A day at 1 Hz; a longer table is a mistake of window or step, not a pass.
MAX_POINTING_SAMPLES = int(DAY_S)
# Default slew rates when the antenna's are unknown: a Yaesu G-5500, the commonest
# amateur az/el rotator, turns 360 deg in about 58 s and 180 deg in about 67 s.
# (Hamlib's dummy rotator moves both axes at 6 deg/s.)
DEFAULT_AZ_RATE_DEG_S = 6.0
DEFAULT_EL_RATE_DEG_S = 2.7
# Extra time before AOS on top of the slew: the rotator settling, a command sent late.
PRE_POSITION_MARGIN_S = 10.0
# Above this maximum elevation a flip-capable rotator tracks in flip mode when it can.
OVERHEAD_EL_DEG = 80.0
# A step of the azimuth command larger than this between samples is an unwind, not tracking.
UNWIND_STEP_DEG = 180.0


@dataclass
class PointingTable:
    """Look angles and radio frequencies of one satellite from one site, every ``step_s``.

    Arrays have shape (n,).  ``offset_s`` are seconds since ``start`` (an aware UTC
    datetime); azimuth is clockwise from true north in [0, 360), elevation geometric.
    ``downlink_hz`` is the frequency to receive on (Doppler-shifted) and ``uplink_hz``
    the frequency to transmit on (pre-corrected), or None where no nominal frequency
    was given.  ``notes`` say what was left out (samples SGP4 could not propagate).
    """

    start: datetime
    offset_s: np.ndarray
    az_deg: np.ndarray
    el_deg: np.ndarray
    range_km: np.ndarray
    range_rate_km_s: np.ndarray
    downlink_hz: np.ndarray | None = None
    uplink_hz: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.offset_s.size)

    def time_at(self, i: int) -> datetime:
        """Return the UTC time of sample ``i``."""
        return self.start + timedelta(seconds=float(self.offset_s[i]))


@dataclass
class AzimuthPath:
    """Rotator commands for a pass, aligned with the pointing table's samples.

    ``flipped``: commands are in flip mode (az + 180, el -> 180 - el).  ``crosses_stop``:
    no frame keeps the whole pass inside the azimuth travel, so the antenna must unwind
    during the pass; ``note`` says where.  Every command is inside the rotator's limits.
    """

    az_cmd_deg: np.ndarray
    el_cmd_deg: np.ndarray
    flipped: bool
    crosses_stop: bool
    note: str = ""


def pointing_table(elements: ElementSet, site: Site, start: datetime, end: datetime, *, step_s: float = 1.0,
                   downlink_hz: float | None = None, uplink_hz: float | None = None) -> PointingTable:
    """Return look angles and Doppler-corrected frequencies every ``step_s`` from ``start`` to ``end``.

    Both ends are sampled (the last step may be shorter).  ``downlink_hz`` and
    ``uplink_hz`` are the satellite's nominal frequencies: the table holds the frequency
    heard at the station (``link.doppler.received_frequency_hz``) and the one to
    transmit so that the satellite hears the nominal (``uplink_frequency_hz``).
    Samples SGP4 cannot propagate are left out and noted.
    """
    start = require_utc(start, "start")
    end = require_utc(end, "end")
    duration_s = seconds_between(start, end)
    if not duration_s > 0.0:
        raise InvalidInputError(f"end {end.isoformat()} is not after start {start.isoformat()}; "
                                "give a window that ends after it starts", loc=("end",))
    if not (isinstance(step_s, (int, float)) and math.isfinite(step_s) and step_s > 0.0):
        raise InvalidInputError(f"step_s is {step_s!r}; expected a positive number of seconds", loc=("step_s",))
    n_samples = math.ceil(duration_s / step_s) + 1
    if n_samples > MAX_POINTING_SAMPLES:
        raise InvalidInputError(
            f"{duration_s:g} s at step_s={step_s:g} is {n_samples:,} samples, more than {MAX_POINTING_SAMPLES:,}; "
            f"use step_s of at least {math.ceil(duration_s / MAX_POINTING_SAMPLES):g} or a shorter window",
            loc=("step_s",))
    _, tracks = sample_window(elements, site, start, duration_s, step_s=step_s)
    ok = tracks.ok
    notes = []
    if not ok.all():
        notes.append(f"SGP4 cannot propagate NORAD {elements.norad_id} at {int((~ok).sum())} of {ok.size} "
                     "sample times; those samples are left out")
    range_rate_km_s = tracks.range_rate_km_s[ok]
    return PointingTable(
        start=start, offset_s=tracks.offset_s[ok], az_deg=tracks.az_deg[ok], el_deg=tracks.el_deg[ok],
        range_km=tracks.range_km[ok], range_rate_km_s=range_rate_km_s,
        downlink_hz=None if downlink_hz is None else received_frequency_hz(float(downlink_hz), range_rate_km_s),
        uplink_hz=None if uplink_hz is None else uplink_frequency_hz(float(uplink_hz), range_rate_km_s),
        notes=notes)


def plan_azimuth_path(az_deg: np.ndarray, el_deg: np.ndarray, limits: RotatorLimits, *,
                      offset_s: np.ndarray | None = None) -> AzimuthPath:
    """Return rotator commands that follow the pass without crossing the azimuth stop.

    ``az_deg`` and ``el_deg`` have shape (n,): the pass's look angles, azimuth in [0, 360).
    The azimuths are unwrapped into one continuous sequence and shifted by the multiple
    of 360 deg that keeps all of it inside [min_az, max_az] (the smallest shift that
    fits).  If none fits and the rotator is flip-capable (max_el >= 180), flip mode
    (az + 180, el -> 180 - el) is tried: it moves a pass that crosses the stop to the
    opposite side.  Flip mode is tried first for overhead passes (max el above
    ``OVERHEAD_EL_DEG``) on flip-capable rotators, by convention: near zenith the
    azimuth moves fastest, and in flip mode the elevation axis stays away from its 0 and
    90 deg ends there.  (A whole-pass flip does not lower the peak azimuth rate itself.)

    When neither fits, the shift that keeps the longest high-elevation stretch continuous
    is used, the rest of the pass is wrapped into the travel, ``crosses_stop`` is set
    and ``note`` says at which samples (seconds, with ``offset_s``) the antenna must
    unwind.  Elevation commands are clipped to [min_el, max_el], so every command is
    inside the limits.
    """
    az_deg = np.asarray(az_deg, dtype=float)
    el_deg = np.asarray(el_deg, dtype=float)
    if az_deg.shape != el_deg.shape or az_deg.ndim != 1:
        raise InvalidInputError(f"az_deg {az_deg.shape} and el_deg {el_deg.shape} must be 1-D and of one length",
                                loc=("az_deg",))
    if az_deg.size == 0:
        return AzimuthPath(az_deg.copy(), el_deg.copy(), flipped=False, crosses_stop=False, note="empty pass")
    modes = [False, True] if limits.flip_capable else [False]
    if limits.flip_capable and el_deg.max() > OVERHEAD_EL_DEG:
        modes.reverse()
    for flipped in modes:
        az_u, el_c = _frame(az_deg, el_deg, flipped)
        shift = _fitting_shift_deg(az_u, limits)
        if shift is not None:
            return AzimuthPath(np.clip(az_u + shift, limits.min_az_deg, limits.max_az_deg),
                               np.clip(el_c, limits.min_el_deg, limits.max_el_deg),
                               flipped=flipped, crosses_stop=False,
                               note="flip mode" if flipped else "")
    az_u, el_c = _frame(az_deg, el_deg, False)
    az_cmd = _best_partial(az_u, el_deg, limits)
    jumps = np.flatnonzero(np.abs(np.diff(az_cmd)) > UNWIND_STEP_DEG)
    where = [f"sample {i + 1}" + ("" if offset_s is None else f" (+{float(offset_s[i + 1]):.0f} s)")
             + f": az {az_cmd[i]:.1f} -> {az_cmd[i + 1]:.1f} deg" for i in jumps]
    note = (f"the pass spans azimuths the rotator's {limits.min_az_deg:g}..{limits.max_az_deg:g} deg travel cannot "
            f"follow continuously{'' if limits.flip_capable else ' and it cannot flip'}; the antenna must unwind at "
            + ("; ".join(where) if where else "the travel's end (commands held at the stop)")
            + ", losing the signal while it turns")
    return AzimuthPath(az_cmd, np.clip(el_c, limits.min_el_deg, limits.max_el_deg), flipped=False,
                       crosses_stop=True, note=note)


def slew_time_s(from_az_deg: float, from_el_deg: float, to_az_deg: float, to_el_deg: float, *,
                az_rate_deg_s: float | None = None, el_rate_deg_s: float | None = None) -> float:
    """Return the seconds a rotator needs between two commands; both axes move at once.

    Angles are rotator commands (not wrapped: 350 -> 10 is 340 deg of travel).  Rates
    of None use ``DEFAULT_AZ_RATE_DEG_S`` and ``DEFAULT_EL_RATE_DEG_S``.

    >>> slew_time_s(0.0, 0.0, 90.0, 27.0)
    15.0
    """
    az_rate = DEFAULT_AZ_RATE_DEG_S if az_rate_deg_s is None else float(az_rate_deg_s)
    el_rate = DEFAULT_EL_RATE_DEG_S if el_rate_deg_s is None else float(el_rate_deg_s)
    if not (az_rate > 0.0 and el_rate > 0.0):
        raise InvalidInputError(f"slew rates az {az_rate:g} and el {el_rate:g} deg/s must be positive",
                                loc=("az_rate_deg_s" if not az_rate > 0.0 else "el_rate_deg_s",))
    return max(abs(to_az_deg - from_az_deg) / az_rate, abs(to_el_deg - from_el_deg) / el_rate)


def pre_position_lead_s(from_az_deg: float, from_el_deg: float, path: AzimuthPath, *,
                        az_rate_deg_s: float | None = None, el_rate_deg_s: float | None = None,
                        margin_s: float = PRE_POSITION_MARGIN_S) -> float:
    """Return how long before AOS to command the path's first position: the slew plus ``margin_s``."""
    return slew_time_s(from_az_deg, from_el_deg, float(path.az_cmd_deg[0]), float(path.el_cmd_deg[0]),
                       az_rate_deg_s=az_rate_deg_s, el_rate_deg_s=el_rate_deg_s) + margin_s


def _frame(az_deg: np.ndarray, el_deg: np.ndarray, flipped: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return the unwrapped azimuth (starting in [0, 360)) and the elevation of one mode."""
    if flipped:
        az_deg, el_deg = (az_deg + 180.0) % 360.0, 180.0 - el_deg
    return np.unwrap(az_deg % 360.0, period=360.0), el_deg


def _fitting_shift_deg(az_u: np.ndarray, limits: RotatorLimits) -> float | None:
    """Return the multiple of 360 deg, smallest first, that puts all of ``az_u`` inside the travel."""
    lo, hi = float(az_u.min()), float(az_u.max())
    k_lo = math.ceil((limits.min_az_deg - lo) / 360.0 - 1e-12)
    k_hi = math.floor((limits.max_az_deg - hi) / 360.0 + 1e-12)
    if k_lo > k_hi:
        return None
    k = min(range(k_lo, k_hi + 1), key=lambda k: (abs(k), k))
    return 360.0 * k


def _best_partial(az_u: np.ndarray, el_deg: np.ndarray, limits: RotatorLimits) -> np.ndarray:
    """Return commands that follow the best continuous stretch and wrap the rest into the travel.

    Each candidate shift k * 360 is scored by the elevation (above 0) summed over its
    longest run of samples inside the travel; the best keeps the high part of the pass
    continuous.
    """
    lo_k = math.floor((limits.min_az_deg - az_u.max()) / 360.0)
    hi_k = math.ceil((limits.max_az_deg - az_u.min()) / 360.0)
    weight = np.clip(el_deg, 0.0, None) + 1e-3    # a low pass still prefers the longer run
    best: tuple[float, int, int, int] | None = None
    for k in range(lo_k, hi_k + 1):
        inside = (az_u + 360.0 * k >= limits.min_az_deg) & (az_u + 360.0 * k <= limits.max_az_deg)
        for a, b in _runs(inside):
            score = float(weight[a:b].sum())
            if best is None or score > best[0] + 1e-9 or (abs(score - best[0]) <= 1e-9 and abs(k) < abs(best[1])):
                best = (score, k, a, b)
    # Wrap everything into [min_az, min_az + 360), then overwrite the continuous stretch.
    az_cmd = limits.min_az_deg + (az_u - limits.min_az_deg) % 360.0
    if best is not None:
        _, k, a, b = best
        az_cmd[a:b] = az_u[a:b] + 360.0 * k
    return np.clip(az_cmd, limits.min_az_deg, limits.max_az_deg)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Return the [start, stop) index ranges where ``mask`` is True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))
