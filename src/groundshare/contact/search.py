"""The antenna search pattern of a LEOP contact, as ``GET /agent/schedule`` serves it: typed and checked.

A launch-and-early-orbit contact covers the whole timing-uncertainty window of a
station, wider than the pass: the satellite is the deployment elements' satellite ``dt``
seconds late, ``dt`` in ``[shift_min_s, shift_max_s]``, and crosses nearly the same sky
arc whatever ``dt`` is.  The booking (``leop.search``) stores where the antenna waits
(``wait``: the rise point of that arc, a few degrees above the station's mask), the
spread of rise azimuths it sweeps meanwhile (``sweep``), and the nominal sky track
(``arc``).  The station agent reads it with ``SearchPattern.from_json`` and executes it
(``agent.execution``): it sweeps until the first frame is heard at ``t_f``, then tracks
the contact's element set at ``t - shift_for(t_f)``; with nothing heard by
``wait.until`` it tracks the middle shift (``middle_shift_s``).

A malformed pattern raises the caller's error (the agent's ``ContactError``) naming the
field, e.g. ``search_pattern.sweep.period_s``.

>>> from datetime import timedelta
>>> pattern = SearchPattern.from_json(EXAMPLE)
>>> pattern.shift_for(pattern.wait.nominal_at + timedelta(seconds=42.5))
42.5
>>> pattern.shift_for(pattern.wait.nominal_at + timedelta(seconds=4000))
600.0
>>> round(pattern.sweep.azimuth_at_deg(0.0, start_deg=pattern.wait.azimuth_deg), 1)
212.4
>>> pattern.to_json() == EXAMPLE
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from groundshare.contact.fields import JsonFields, shown
from groundshare.timeutil import format_utc

#: The only kind of search pattern there is.
SEARCH_KIND = "leop_search"
#: Largest timing shift (seconds) a pattern may allow either way: a day is far past any plannable uncertainty.
MAX_SHIFT_S = 86_400.0
#: Most points of the nominal arc (about every 10 s: a day of them).
MAX_ARC_POINTS = 10_000
#: Shortest and longest back-and-forth period of the sweep (seconds).
MIN_SWEEP_PERIOD_S = 1.0
MAX_SWEEP_PERIOD_S = 3_600.0

EXAMPLE: dict[str, Any] = {
    "kind": SEARCH_KIND, "station": "daejeon-1",
    "window_start": "2026-03-19T10:02:00Z", "window_end": "2026-03-19T10:31:00Z",
    "nominal_aos": "2026-03-19T10:12:00Z", "nominal_tca": "2026-03-19T10:17:00Z",
    "nominal_los": "2026-03-19T10:22:00Z", "shift_min_s": -600.0, "shift_max_s": 600.0,
    "wait": {"azimuth_deg": 212.4, "elevation_deg": 8.0, "from": "2026-03-19T10:02:00Z",
             "until": "2026-03-19T10:23:30Z", "nominal_at": "2026-03-19T10:13:30Z"},
    "sweep": {"azimuth_min_deg": 209.1, "azimuth_max_deg": 215.7, "elevation_deg": 8.0, "period_s": 60.0},
    "arc": [[212.4, 8.0], [215.0, 20.0]]}


@dataclass(frozen=True)
class SearchWait:
    """Where the antenna waits: the rise point at ``elevation_deg``; ``nominal_at`` the nominal copy crosses it.

    ``start`` (the JSON's ``from``) is the window's start; ``until`` is the latest time
    any admissible copy rises through the wait elevation.
    """

    azimuth_deg: float
    elevation_deg: float
    start: datetime
    until: datetime
    nominal_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"azimuth_deg": self.azimuth_deg, "elevation_deg": self.elevation_deg, "from": format_utc(self.start),
                "until": format_utc(self.until),
                "nominal_at": format_utc(self.nominal_at) if self.nominal_at is not None else None}


@dataclass(frozen=True)
class SearchSweep:
    """The arc swept while waiting: clockwise from the min azimuth to the max and back, every ``period_s``."""

    azimuth_min_deg: float
    azimuth_max_deg: float
    elevation_deg: float
    period_s: float

    @property
    def width_deg(self) -> float:
        """The arc's width, clockwise from min to max (wrap-aware: 355 -> 5 is 10 deg)."""
        return (self.azimuth_max_deg - self.azimuth_min_deg) % 360.0

    def contains(self, azimuth_deg: float, *, margin_deg: float = 0.0) -> bool:
        """Whether ``azimuth_deg`` (any frame) is on the arc, ``margin_deg`` either side included."""
        past_min = (azimuth_deg - self.azimuth_min_deg + margin_deg) % 360.0
        return past_min <= self.width_deg + 2.0 * margin_deg

    def azimuth_at_deg(self, elapsed_s: float, *, start_deg: float | None = None) -> float:
        """Return the swept azimuth (deg, in [0, 360)) ``elapsed_s`` after the sweep began at ``start_deg``.

        A triangle wave: min to max in half a period, back in the other half; it begins at
        ``start_deg`` (the wait azimuth, on the arc) going clockwise, or at the minimum.
        """
        width = self.width_deg
        if width <= 0.0:
            return self.azimuth_min_deg % 360.0
        begin = 0.0 if start_deg is None else min(width, (start_deg - self.azimuth_min_deg) % 360.0)
        phase = (begin / (2.0 * width) + elapsed_s / self.period_s) % 1.0
        fraction = 2.0 * phase if phase <= 0.5 else 2.0 - 2.0 * phase
        return (self.azimuth_min_deg + fraction * width) % 360.0

    def to_json(self) -> dict[str, Any]:
        return {"azimuth_min_deg": self.azimuth_min_deg, "azimuth_max_deg": self.azimuth_max_deg,
                "elevation_deg": self.elevation_deg, "period_s": self.period_s}


@dataclass(frozen=True)
class SearchPattern:
    """Where a LEOP contact's antenna waits and sweeps, and the admissible timing shifts (see the module docstring).

    ``body`` is the pattern as the API sent it: ``to_json`` gives it back, so a field
    this agent does not know survives its journal.
    """

    window_start: datetime
    window_end: datetime
    shift_min_s: float
    shift_max_s: float
    wait: SearchWait
    sweep: SearchSweep
    kind: str = SEARCH_KIND
    station: str | None = None
    nominal_aos: datetime | None = None
    nominal_tca: datetime | None = None
    nominal_los: datetime | None = None
    arc: tuple[tuple[float, float], ...] = ()
    body: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def middle_shift_s(self) -> float:
        """The middle of the admissible shifts: what is tracked when nothing was heard."""
        return (self.shift_min_s + self.shift_max_s) / 2.0

    def shift_for(self, heard_at: datetime) -> float:
        """Return the shift (s) a first frame heard at ``heard_at`` implies, clamped to the admissible range.

        The satellite rises through the wait point when heard: ``heard_at -
        wait.nominal_at``; without a nominal crossing, the middle of the range.
        """
        if self.wait.nominal_at is None:
            return self.middle_shift_s
        shift_s = (heard_at - self.wait.nominal_at).total_seconds()
        return min(self.shift_max_s, max(self.shift_min_s, shift_s))

    @classmethod
    def from_json(cls, body: Any, *, fields: JsonFields | None = None, path: str = "search_pattern") -> SearchPattern:
        """Return the pattern ``body`` describes; the ``fields`` error naming the first bad field."""
        fields = fields or JsonFields()
        if not isinstance(body, Mapping):
            fields.fail(path, f"{path} must be a JSON object or null, got {shown(body)}")
        kind = body.get("kind")
        if kind != SEARCH_KIND:
            fields.fail(f"{path}.kind", f"{path}.kind must be {SEARCH_KIND!r}, got {shown(kind)}")
        window_start = fields.time(body, f"{path}.window_start")
        window_end = fields.time(body, f"{path}.window_end")
        if window_end <= window_start:
            fields.fail(f"{path}.window_end", f"{path}.window_end ({format_utc(window_end)}) must be after "
                                              f"window_start ({format_utc(window_start)})")
        shift_min_s = fields.number(body, f"{path}.shift_min_s", -MAX_SHIFT_S, MAX_SHIFT_S, required=True)
        shift_max_s = fields.number(body, f"{path}.shift_max_s", -MAX_SHIFT_S, MAX_SHIFT_S, required=True)
        assert shift_min_s is not None and shift_max_s is not None
        if shift_max_s < shift_min_s:
            fields.fail(f"{path}.shift_max_s", f"{path}.shift_max_s ({shift_max_s:g} s) must be at least "
                                               f"shift_min_s ({shift_min_s:g} s)")
        return cls(window_start=window_start, window_end=window_end, shift_min_s=shift_min_s,
                   shift_max_s=shift_max_s, wait=_wait(fields, body, f"{path}.wait"),
                   sweep=_sweep(fields, body, f"{path}.sweep"), kind=kind,
                   station=fields.text(body, f"{path}.station", 200),
                   nominal_aos=fields.optional_time(body, f"{path}.nominal_aos"),
                   nominal_tca=fields.optional_time(body, f"{path}.nominal_tca"),
                   nominal_los=fields.optional_time(body, f"{path}.nominal_los"),
                   arc=_arc(fields, body, f"{path}.arc"), body=body)

    def to_json(self) -> dict[str, Any]:
        """Return the pattern in the API's shape, as it came (see the class docstring)."""
        typed = {"kind": self.kind, "station": self.station, "window_start": format_utc(self.window_start),
                 "window_end": format_utc(self.window_end),
                 "nominal_aos": format_utc(self.nominal_aos) if self.nominal_aos is not None else None,
                 "nominal_tca": format_utc(self.nominal_tca) if self.nominal_tca is not None else None,
                 "nominal_los": format_utc(self.nominal_los) if self.nominal_los is not None else None,
                 "shift_min_s": self.shift_min_s, "shift_max_s": self.shift_max_s, "wait": self.wait.to_json(),
                 "sweep": self.sweep.to_json(), "arc": [list(point) for point in self.arc]}
        return {**typed, **self.body}


def _wait(fields: JsonFields, body: Mapping[str, Any], path: str) -> SearchWait:
    wait = _required_object(fields, body, path)
    start = fields.time(wait, f"{path}.from")
    until = fields.time(wait, f"{path}.until")
    if until < start:
        fields.fail(f"{path}.until", f"{path}.until ({format_utc(until)}) must not be before {path}.from "
                                     f"({format_utc(start)})")
    return SearchWait(azimuth_deg=_required(fields, wait, f"{path}.azimuth_deg", 0.0, 360.0),
                      elevation_deg=_required(fields, wait, f"{path}.elevation_deg", 0.0, 90.0),
                      start=start, until=until, nominal_at=fields.optional_time(wait, f"{path}.nominal_at"))


def _sweep(fields: JsonFields, body: Mapping[str, Any], path: str) -> SearchSweep:
    sweep = _required_object(fields, body, path)
    return SearchSweep(azimuth_min_deg=_required(fields, sweep, f"{path}.azimuth_min_deg", 0.0, 360.0),
                       azimuth_max_deg=_required(fields, sweep, f"{path}.azimuth_max_deg", 0.0, 360.0),
                       elevation_deg=_required(fields, sweep, f"{path}.elevation_deg", 0.0, 90.0),
                       period_s=_required(fields, sweep, f"{path}.period_s", MIN_SWEEP_PERIOD_S, MAX_SWEEP_PERIOD_S))


def _arc(fields: JsonFields, body: Mapping[str, Any], path: str) -> tuple[tuple[float, float], ...]:
    value = body.get(path.rsplit(".", 1)[-1])
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_ARC_POINTS or not all(
            isinstance(point, list | tuple) and len(point) == 2
            and all(not isinstance(x, bool) and isinstance(x, int | float) and math.isfinite(x) for x in point)
            and 0.0 <= point[0] <= 360.0 and -90.0 <= point[1] <= 90.0 for point in value):
        fields.fail(path, f"{path} must be a list of at most {MAX_ARC_POINTS} [az_deg, el_deg] pairs (azimuth 0 to "
                          f"360, elevation -90 to 90) or null, got {shown(value)}")
    return tuple((float(point[0]), float(point[1])) for point in value)


def _required_object(fields: JsonFields, body: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    value = body.get(path.rsplit(".", 1)[-1])
    if not isinstance(value, Mapping):
        fields.fail(path, f"{path} must be a JSON object, got {shown(value)}")
    return value


def _required(fields: JsonFields, body: Mapping[str, Any], path: str, low: float, high: float) -> float:
    value = fields.number(body, path, low, high, required=True)
    assert value is not None
    return value

