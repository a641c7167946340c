"""``HorizonMask``: the lowest usable elevation in each direction from a station.

``parse_horizon_mask`` reads the mask's text format: one ``azimuth_deg,elevation_deg``
point a line (a comma or spaces between), ``#`` starting a comment.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from groundshare.errors import InvalidInputError


class HorizonMask:
    """Minimum elevation against azimuth, linear between the given points.

    ``points`` are ``(azimuth_deg, elevation_deg)`` pairs, azimuth clockwise from true
    north in [0, 360).  Between points the mask is interpolated linearly, going round
    through north from the last point back to the first; a single point is a constant.

    >>> mask = HorizonMask([(0.0, 5.0), (90.0, 12.0), (180.0, 5.0)])
    >>> mask.min_elevation_deg(np.array([45.0, 90.0, 270.0]))
    array([ 8.5, 12. ,  5. ])
    """

    __slots__ = ("az_deg", "el_deg")

    def __init__(self, points: Iterable[Sequence[float]]) -> None:
        pairs = []
        for i, point in enumerate(points):
            try:
                az, el = (float(x) for x in point)
            except (TypeError, ValueError):
                raise InvalidInputError(
                    f"horizon mask point {i} is {point!r}; expected [azimuth_deg, elevation_deg]",
                    loc=("horizon_mask", str(i))) from None
            if not (math.isfinite(az) and 0.0 <= az < 360.0):
                raise InvalidInputError(
                    f"horizon mask point {i}: azimuth {az} deg is outside [0, 360)", loc=("horizon_mask", str(i)))
            if not (math.isfinite(el) and -90.0 <= el < 90.0):
                raise InvalidInputError(
                    f"horizon mask point {i}: elevation {el} deg is outside [-90, 90)",
                    loc=("horizon_mask", str(i)))
            pairs.append((az, el))
        if not pairs:
            raise InvalidInputError("horizon mask has no points; give [azimuth_deg, elevation_deg] pairs",
                                    loc=("horizon_mask",))
        pairs.sort()
        azimuths = [p[0] for p in pairs]
        if len(set(azimuths)) != len(azimuths):
            raise InvalidInputError("horizon mask gives the same azimuth twice; give each azimuth once",
                                    loc=("horizon_mask",))
        az = np.array(azimuths)
        el = np.array([p[1] for p in pairs])
        # Close the circle so that np.interp wraps through north.
        self.az_deg = np.concatenate([az[-1:] - 360.0, az, az[:1] + 360.0])
        self.el_deg = np.concatenate([el[-1:], el, el[:1]])

    def min_elevation_deg(self, az_deg: np.ndarray) -> np.ndarray:
        """Return the mask elevation (deg) at each azimuth (deg)."""
        return np.interp(np.asarray(az_deg, dtype=float) % 360.0, self.az_deg, self.el_deg)

    @property
    def points(self) -> list[tuple[float, float]]:
        """Return the mask's points as given, sorted by azimuth."""
        return [(float(a), float(e)) for a, e in zip(self.az_deg[1:-1], self.el_deg[1:-1], strict=True)]

    @property
    def lowest_deg(self) -> float:
        """Return the lowest elevation anywhere on the mask."""
        return float(self.el_deg.min())

    @property
    def highest_deg(self) -> float:
        """Return the highest elevation anywhere on the mask."""
        return float(self.el_deg.max())

    def __repr__(self) -> str:
        return f"HorizonMask({self.points!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HorizonMask) and self.points == other.points

    def __hash__(self) -> int:
        return hash(tuple(self.points))


def parse_horizon_mask(text: str, *, source: str) -> list[tuple[float, float]]:
    """Return the ``(azimuth_deg, elevation_deg)`` points of a horizon mask's text, naming a bad line.

    One point a line, ``azimuth_deg,elevation_deg`` (or the two separated by spaces); ``#``
    starts a comment and blank lines are skipped.  ``source`` (a file name) starts each
    message.  The points are checked as a mask when they become one (``HorizonMask``).

    >>> parse_horizon_mask("# a ridge to the south\\n0,5\\n135 40  # deg\\n", source="mask.csv")
    [(0.0, 5.0), (135.0, 40.0)]
    """
    points = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            az, el = (float(x) for x in line.replace(",", " ").split())
        except ValueError:
            raise InvalidInputError(f"{source} line {number}: {line!r} is not 'azimuth_deg,elevation_deg'",
                                    loc=("horizon_mask", f"line {number}")) from None
        points.append((az, el))
    if not points:
        raise InvalidInputError(f"{source} holds no 'azimuth_deg,elevation_deg' line", loc=("horizon_mask",))
    return points
