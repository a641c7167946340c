"""Does a window lie within a pass?  The physics check of a booking.

``covering_pass(elements, site, start, end)`` searches the passes of one satellite over
one site from ``SEARCH_AROUND_S`` before ``start`` to as long after ``end`` (so a pass in
progress at ``start`` is found whole, not clipped by the search) and returns the pass
that contains ``[start, end]`` within ``tolerance_s`` at each end, if any, and the passes
nearest the window otherwise, for the refusal to name.  The site's minimum elevation and
horizon mask apply as everywhere in the pass engine.

The tolerance absorbs a client rounding AOS and LOS outwards to whole seconds; the pass
engine itself is within milliseconds of exact SGP4 (``passes.search``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from groundshare.orbits import ElementSet
from groundshare.passes.search import find_passes
from groundshare.passes.site import Site
from groundshare.passes.table import Pass
from groundshare.timeutil import require_utc

#: How far before the window's start and after its end the passes are searched (half a day: several orbits).
SEARCH_AROUND_S = 43_200.0
#: How far a window may reach outside its pass at each end, seconds.
DEFAULT_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class PassFit:
    """The pass that contains a window (``covering``), or the passes nearest it (``nearest``, closest first)."""

    covering: Pass | None
    nearest: list[Pass] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def covering_pass(elements: ElementSet, site: Site, start: datetime, end: datetime, *,
                  tolerance_s: float = DEFAULT_TOLERANCE_S, n_nearest: int = 3) -> PassFit:
    """Return the pass of ``elements`` over ``site`` containing ``[start, end]``, else the ``n_nearest`` passes."""
    start, end = require_utc(start, "start"), require_utc(end, "end")
    search_start = start - timedelta(seconds=SEARCH_AROUND_S)
    duration_s = (end - start).total_seconds() + 2.0 * SEARCH_AROUND_S
    table = find_passes([elements], [site], start=search_start, duration_s=duration_s, workers=1)
    passes = list(table)
    slack = timedelta(seconds=tolerance_s)
    for p in passes:
        if p.aos - slack <= start and end <= p.los + slack:
            return PassFit(covering=p, warnings=list(table.warnings))

    def distance_s(p: Pass) -> float:
        if p.los < start:
            return (start - p.los).total_seconds()
        if p.aos > end:
            return (p.aos - end).total_seconds()
        return 0.0  # overlaps the window without containing it

    nearest = sorted(passes, key=distance_s)[:n_nearest]
    return PassFit(covering=None, nearest=sorted(nearest, key=lambda p: p.aos), warnings=list(table.warnings))
