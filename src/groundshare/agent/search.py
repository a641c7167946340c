"""Searching for a newly deployed satellite: the sweep table, the shifted element set, the first-frame signal.

A launch-and-early-orbit contact carries a search pattern (``contact.search``): the
satellite is the deployment elements' satellite ``dt`` seconds late, ``dt`` unknown
within a range, and rises through nearly the same point whatever ``dt`` is.  The pass
executor (``agent.execution``) runs such a contact in two phases:

1. from the window's start it plays a *sweep table* (``sweep_table``): the antenna at the
   sweep's elevation, its azimuth going back and forth over the sweep arc (a triangle
   wave of ``period_s``, starting at the wait azimuth), and the radio tuned to the
   frequencies the satellite has when it crosses the wait point (the same for every
   ``dt``: the copy crossing it is at the same place at the same speed);
2. once the first frame is heard at ``t_f`` (``FirstFrame``, set by the frame capture
   thread, ``agent.capture``), or at ``wait.until`` with nothing heard, it tracks the
   contact's element set at ``t - dt`` (``shifted_elements``: the same orbit re-dated by
   ``dt``) with ``dt = pattern.shift_for(t_f)``, or the middle shift.

>>> signal = FirstFrame()
>>> signal.at() is None
True
>>> from datetime import UTC, datetime
>>> signal.set(datetime(2026, 3, 19, 10, 14, tzinfo=UTC)); signal.set(datetime(2026, 3, 19, 10, 15, tzinfo=UTC))
>>> signal.at().isoformat()
'2026-03-19T10:14:00+00:00'
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime, timedelta

import numpy as np

from groundshare.agent.tables import PointingTable
from groundshare.contact import SearchPattern
from groundshare.orbits import ElementSet
from groundshare.timeutil import format_utc, seconds_between


class FirstFrame:
    """When the first frame of a contact was heard: set once by the capture thread, read by the executor.

    Thread-safe; the first ``set`` wins (later frames do not move it).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at: datetime | None = None
        self._heard = threading.Event()

    def set(self, at: datetime) -> None:
        """Record that a frame was heard at ``at`` (the agent's clock), unless one was already."""
        with self._lock:
            if self._at is None:
                self._at = at
                self._heard.set()

    def at(self) -> datetime | None:
        """Return when the first frame was heard, or None."""
        with self._lock:
            return self._at

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait (real seconds) until a frame is heard; return whether one was."""
        return self._heard.wait(timeout_s)


def shifted_elements(elements: ElementSet, shift_s: float) -> ElementSet:
    """Return ``elements`` re-dated by ``shift_s``: the same orbit, the satellite ``shift_s`` seconds later.

    Propagated at ``t`` it is where ``elements`` is at ``t - shift_s`` (in the inertial
    frame).  The TLE lines are dropped: they hold the old epoch.
    """
    if shift_s == 0.0:
        return elements
    return dataclasses.replace(elements, epoch=elements.epoch + timedelta(seconds=shift_s), line1=None, line2=None,
                               name=f"{elements.name} {shift_s:+.0f}s")


def sweep_table(pattern: SearchPattern, start: datetime, end: datetime, *, step_s: float = 1.0,
                reference: PointingTable | None = None) -> PointingTable:
    """Return the sweep's look angles every ``step_s`` from ``start`` to ``end`` (both sampled), as a pointing table.

    The azimuth is ``pattern.sweep``'s triangle wave begun at ``start`` at the wait
    azimuth, the elevation the sweep's.  With ``reference`` (a copy's pointing table),
    the radio's frequencies are those of that copy where it first rises through the
    wait elevation (else where it is highest), held for the whole sweep; range and
    range rate are those too.
    """
    duration_s = max(0.0, seconds_between(start, end))
    offsets = np.arange(0.0, duration_s, step_s, dtype=float)
    if offsets.size == 0 or offsets[-1] < duration_s:
        offsets = np.append(offsets, duration_s)
    sweep = pattern.sweep
    az = np.array([sweep.azimuth_at_deg(float(t), start_deg=pattern.wait.azimuth_deg) for t in offsets])
    el = np.full(offsets.size, sweep.elevation_deg)
    n = offsets.size
    range_km, rate_km_s = np.zeros(n), np.zeros(n)
    downlink_hz = uplink_hz = None
    if reference is not None and len(reference):
        rising = np.flatnonzero(reference.el_deg >= pattern.wait.elevation_deg)
        i = int(rising[0]) if rising.size else int(np.argmax(reference.el_deg))
        range_km, rate_km_s = np.full(n, reference.range_km[i]), np.full(n, reference.range_rate_km_s[i])
        if reference.downlink_hz is not None:
            downlink_hz = np.full(n, reference.downlink_hz[i])
        if reference.uplink_hz is not None:
            uplink_hz = np.full(n, reference.uplink_hz[i])
    return PointingTable(start=start, offset_s=offsets, az_deg=az, el_deg=el, range_km=range_km,
                         range_rate_km_s=rate_km_s, downlink_hz=downlink_hz, uplink_hz=uplink_hz)


def search_report(heard_at: datetime | None, shift_s: float, searched_s: float) -> dict[str, object]:
    """Return the outcome's ``execution.search``: when the first frame came, the shift tracked, the search's length."""
    return {"heard_at": format_utc(heard_at) if heard_at is not None else None,
            "shift_s": round(shift_s, 3), "searched_s": round(max(0.0, searched_s), 3),
            "signal": heard_at is not None}
