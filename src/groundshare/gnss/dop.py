"""Which GNSS satellites a site sees, and the dilution of precision of their geometry.

Look angles come from the pass engine's core: ``orbits.propagate.propagate_itrs`` (SGP4
over a ``SatrecArray``, TEME -> Earth-fixed by GMST 1982, UT1 = UTC, no polar motion; see
``groundshare.orbits.frames``) and ``passes.look.look_angles_grid`` in the WGS84
east/north/up frame of ``groundshare.passes.site``.  Everything is vectorised over times
and satellites; nothing loops in Python over either.

DOP: each satellite in view contributes a row ``[cos(el) sin(az), cos(el) cos(az), sin(el), 1]``
of the design matrix ``H`` (one clock column per constellation when separate clocks are
asked), ``Q = (H^T H)^-1``, and GDOP = sqrt(trace Q), PDOP = sqrt(Qee + Qnn + Quu),
HDOP = sqrt(Qee + Qnn), VDOP = sqrt(Quu), TDOP = sqrt(Qtt).  With several clocks TDOP is
that of the first constellation present in the element list (index 0 of ``clocks``).
Fewer than 3 + (number of clocks) satellites in view gives NaN DOPs and ``enough=False``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from groundshare.orbits.elements import ElementSet
from groundshare.orbits.propagate import propagate_itrs, satrec_array
from groundshare.passes.horizon import HorizonMask
from groundshare.passes.look import look_angles_grid
from groundshare.passes.site import Site, sites_to_arrays

# Q is refused (NaN DOPs) past this condition number: a degenerate geometry, not a DOP.
MAX_CONDITION = 1e10
_PRN = re.compile(r"\(\s*PRN\s*0*(\d+)\s*\)", re.IGNORECASE)


@dataclass(frozen=True)
class Visibility:
    """Look angles (n_times, n_sats) in degrees and whether each satellite is in view."""

    az_deg: np.ndarray
    el_deg: np.ndarray
    visible: np.ndarray


@dataclass(frozen=True)
class Dop:
    """DOPs per time (NaN where ``enough`` is False), and the satellites in view."""

    n_visible: np.ndarray
    enough: np.ndarray
    gdop: np.ndarray
    pdop: np.ndarray
    hdop: np.ndarray
    vdop: np.ndarray
    tdop: np.ndarray


@dataclass(frozen=True)
class DopSeries(Dop):
    """``Dop`` over a window, with its times, satellites and look angles."""

    times: tuple[datetime, ...] = ()
    names: tuple[str, ...] = ()
    az_deg: np.ndarray | None = None
    el_deg: np.ndarray | None = None
    visible: np.ndarray | None = None

    def share_pdop_below(self, threshold: float) -> float:
        """Return the share of times whose PDOP is at most ``threshold`` (NaN counts as above)."""
        if self.pdop.size == 0:
            return float("nan")
        return float(np.mean(np.nan_to_num(self.pdop, nan=np.inf) <= threshold))


def constellation_index(name: str) -> int:
    """Return 0 for GPS, 1 Galileo, 2 BeiDou, 3 GLONASS, 4 anything else (by name)."""
    upper = name.upper()
    for index, keys in enumerate((("GPS", "NAVSTAR"), ("GALILEO", "GSAT"), ("BEIDOU",), ("GLONASS", "COSMOS"))):
        if any(key in upper for key in keys):
            return index
    return 4


def excluded(element: ElementSet, exclude: Iterable[str | int]) -> bool:
    """Return whether ``exclude`` names the satellite: a name substring, or its PRN or NORAD number."""
    prn = _PRN.search(element.name)
    for item in exclude:
        text = str(item).strip()
        if text.isdigit():
            if int(text) == element.norad_id or (prn is not None and int(prn.group(1)) == int(text)):
                return True
        elif text and text.upper() in element.name.upper():
            return True
    return False


def _look(elements: Sequence[ElementSet], site: Site, start: datetime, t_s: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return azimuth, elevation (deg) and SGP4 error codes, each (n_times, n_sats)."""
    t_s = np.asarray(t_s, dtype=float)
    if not elements:
        empty = np.zeros((t_s.size, 0))
        return empty, empty, empty.astype(np.uint8)
    err, r_km, _ = propagate_itrs(satrec_array(elements), start, t_s)
    az_deg, el_deg, _ = look_angles_grid(r_km, sites_to_arrays([site]))
    return az_deg[:, 0].T, el_deg[:, 0].T, err.T


def _visibility(az: np.ndarray, el: np.ndarray, err: np.ndarray, site: Site, mask_deg: float,
                horizon_mask: HorizonMask | Iterable[Sequence[float]] | None) -> Visibility:
    """Return the look angles with whether each is above ``mask_deg`` and the horizon mask."""
    if horizon_mask is None:
        horizon_mask = site.horizon_mask
    elif not isinstance(horizon_mask, HorizonMask):
        horizon_mask = HorizonMask(horizon_mask)
    threshold = np.full(az.shape, float(mask_deg))
    if horizon_mask is not None:
        threshold = np.maximum(threshold, horizon_mask.min_elevation_deg(az))
    ok = (err == 0) & np.isfinite(el)
    return Visibility(az, el, ok & (el > threshold))


def visible(elements: Sequence[ElementSet], site: Site, times: Sequence[datetime], *, mask_deg: float,
            horizon_mask: HorizonMask | Iterable[Sequence[float]] | None = None) -> Visibility:
    """Return look angles (n_times, n_sats) and visibility above ``mask_deg`` and the horizon mask.

    ``horizon_mask`` (or, when it is None, the site's own) raises the threshold where
    it is higher than ``mask_deg``.  A satellite SGP4 fails on is never in view.
    """
    times = list(times)
    if not times:
        empty = np.zeros((0, len(elements)))
        return Visibility(empty, empty, empty.astype(bool))
    start = times[0]
    t_s = np.array([(t - start).total_seconds() for t in times])
    az, el, err = _look(elements, site, start, t_s)
    return _visibility(az, el, err, site, mask_deg, horizon_mask)


def dop(az_deg: np.ndarray, el_deg: np.ndarray, *, clocks: Sequence[int] | np.ndarray | None = None,
        visible: np.ndarray | None = None) -> Dop:
    """Return the DOPs of each time's satellites in view.

    ``az_deg`` and ``el_deg`` are (n_times, n_sats), or (n_sats,) for one time (results
    are then 0-d arrays).  A satellite is used where ``visible`` is True (default: where its
    angles are finite).  ``clocks`` (n_sats,) gives each satellite's constellation index
    for one receiver clock per constellation; a constellation with nobody in view drops its
    clock at that time.  TDOP is that of constellation ``min(clocks)``.
    """
    az = np.asarray(az_deg, dtype=float)
    el = np.asarray(el_deg, dtype=float)
    one_time = az.ndim == 1
    az, el = np.atleast_2d(az), np.atleast_2d(el)
    use = np.isfinite(az) & np.isfinite(el) if visible is None else np.atleast_2d(np.asarray(visible, dtype=bool))
    use = use & np.isfinite(az) & np.isfinite(el)
    n_t, n_s = az.shape
    if clocks is None:
        labels = np.zeros(n_s, dtype=int)
    else:
        labels = np.unique(np.asarray(clocks), return_inverse=True)[1].reshape(n_s)
    n_clk = int(labels.max()) + 1 if n_s else 1
    a, e = np.radians(np.where(use, az, 0.0)), np.radians(np.where(use, el, 0.0))
    h = np.zeros((n_t, n_s, 3 + n_clk))
    h[..., 0] = np.cos(e) * np.sin(a)
    h[..., 1] = np.cos(e) * np.cos(a)
    h[..., 2] = np.sin(e)
    h[:, np.arange(n_s), 3 + labels] = 1.0
    h *= use[..., None]
    normal = np.einsum("tsi,tsj->tij", h, h)
    present = np.stack([(use & (labels == k)).any(axis=1) for k in range(n_clk)], axis=1)
    # An absent constellation's clock is pinned (unit diagonal) so it drops out of Q.
    idx = 3 + np.arange(n_clk)
    normal[:, idx, idx] += ~present
    n_visible = use.sum(axis=1)
    enough = n_visible >= 3 + present.sum(axis=1)
    with np.errstate(all="ignore"):
        cond = np.linalg.cond(np.where(enough[:, None, None], normal, np.eye(3 + n_clk)))
    enough &= np.isfinite(cond) & (cond < MAX_CONDITION)
    q = np.full(normal.shape, np.nan)
    if enough.any():
        q[enough] = np.linalg.inv(normal[enough])
    diag = np.diagonal(q, axis1=1, axis2=2)
    pinned = np.concatenate([np.zeros((n_t, 3), dtype=bool), ~present], axis=1)
    with np.errstate(invalid="ignore"):
        gdop = np.sqrt(np.where(pinned, 0.0, diag).sum(axis=1))
        pdop = np.sqrt(diag[:, 0] + diag[:, 1] + diag[:, 2])
        hdop = np.sqrt(diag[:, 0] + diag[:, 1])
        vdop = np.sqrt(diag[:, 2])
        tdop = np.where(present[:, 0], np.sqrt(diag[:, 3]), np.nan)
    out = [n_visible, enough, gdop, pdop, hdop, vdop, tdop]
    if one_time:
        out = [x.reshape(()) for x in out]
    return Dop(*out)


def dop_series(elements: Sequence[ElementSet], site: Site, *, start: datetime, duration_s: float, step_s: float,
               mask_deg: float, exclude: Iterable[str | int] = (), separate_clocks: bool = False,
               horizon_mask: HorizonMask | Iterable[Sequence[float]] | None = None) -> DopSeries:
    """Return DOPs every ``step_s`` seconds over ``duration_s`` seconds from ``start`` (both ends included).

    ``exclude`` drops satellites by name substring or PRN/NORAD number; with
    ``separate_clocks`` each constellation (by name: GPS, Galileo, ...) has its own clock.
    """
    exclude = list(exclude)
    kept = [e for e in elements if not excluded(e, exclude)]
    t_s = np.arange(0.0, duration_s + 1e-9, step_s)
    az, el, err = _look(kept, site, start, t_s)
    vis = _visibility(az, el, err, site, mask_deg, horizon_mask)
    clocks = [constellation_index(e.name) for e in kept] if separate_clocks else None
    d = dop(az, el, clocks=clocks, visible=vis.visible)
    times = tuple(start + timedelta(seconds=float(t)) for t in t_s)
    return DopSeries(d.n_visible, d.enough, d.gdop, d.pdop, d.hdop, d.vdop, d.tdop, times=times,
                     names=tuple(e.name for e in kept), az_deg=az, el_deg=el, visible=vis.visible)
