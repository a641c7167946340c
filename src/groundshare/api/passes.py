"""Pass queries through the pass engine, shared by ``/stations/{id}/passes`` and ``/satellites/{id}/passes``.

The routes declare the endpoints with these parameters and call ``passes_over``.  The
engine runs in the request's worker thread (``workers=1``): the server never forks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

from fastapi import Query
from sqlalchemy.orm import Session

from groundshare.api.schemas import PassesPublic, UtcTime, passes_public
from groundshare.errors import InvalidInputError
from groundshare.orbits import ElementSet
from groundshare.passes import Site, find_passes
from groundshare.store import Satellite, Station, newest_element_sets
from groundshare.units import HOUR_S

#: Longest window one query may search: a week (the engine's cost grows with it).
MAX_PASS_HOURS = 168.0
#: Most satellites, and stations, one query may search, so a request stays a few seconds of CPU.
MAX_PASS_SATELLITES = 500
MAX_PASS_STATIONS = 200

PassStart = Annotated[UtcTime, Query(description="Start of the search window (ISO 8601 with Z or an offset).")]
PassHours = Annotated[float, Query(gt=0, le=MAX_PASS_HOURS,
                                   description=f"Length of the window in hours, at most {MAX_PASS_HOURS:g}.")]
PassMinElevation = Annotated[float | None, Query(ge=-10, le=89, description=(
    "Minimum elevation in degrees, replacing the station's own (its horizon mask still applies)."))]


def newest_elements(session: Session, satellites: Sequence[Satellite]) -> list[ElementSet]:
    """Return the newest stored element set of each satellite that has one, in the order given (one query)."""
    if len(satellites) > MAX_PASS_SATELLITES:
        raise InvalidInputError(
            f"{len(satellites)} satellites are visible to your organisation; one pass query searches at most "
            f"{MAX_PASS_SATELLITES}\n\nQuery satellites one at a time with GET /satellites/{{id}}/passes",
            loc=("query",))
    records = newest_element_sets(session, [satellite.id for satellite in satellites])
    return [records[s.id].to_element_set() for s in satellites if s.id in records]


def station_sites(stations: Sequence[Station]) -> list[Site]:
    """Return a ``Site`` per station; names two organisations share get the station id appended."""
    if len(stations) > MAX_PASS_STATIONS:
        raise InvalidInputError(
            f"{len(stations)} stations are visible to your organisation; one pass query searches at most "
            f"{MAX_PASS_STATIONS}\n\nQuery stations one at a time with GET /stations/{{id}}/passes", loc=("query",))
    repeated = Counter(s.name for s in stations)
    sites = []
    for station in stations:
        site = station.to_site()
        if repeated[station.name] > 1:
            site = Site(f"{station.name} (station {station.id})", lat_deg=site.lat_deg, lon_deg=site.lon_deg,
                        alt_m=site.alt_m, min_elevation_deg=site.min_elevation_deg, horizon_mask=site.horizon_mask)
        sites.append(site)
    return sites


def passes_over(elements: Sequence[ElementSet], sites: Sequence[Site], *, start: datetime, hours: float,
                min_elevation_deg: float | None = None) -> PassesPublic:
    """Return the passes of ``elements`` over ``sites`` in ``[start, start + hours]`` (none without either)."""
    if not elements or not sites:
        return PassesPublic(data=[], count=0)
    table = find_passes(elements, sites, start=start, duration_s=hours * HOUR_S,
                        min_elevation_deg=min_elevation_deg, workers=1)
    return passes_public(table)
