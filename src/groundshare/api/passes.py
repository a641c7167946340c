"""Pass queries through the pass engine, shared by ``/stations/{id}/passes`` and ``/satellites/{id}/passes``.

The routes declare the endpoints with these parameters and call ``passes_over``.  The
engine runs in the request's worker thread (``workers=1``): the server never forks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from sqlalchemy.orm import Session

from groundshare.api.schemas import PassesPublic, UtcTime, passes_public
from groundshare.api.settings import Settings
from groundshare.errors import InvalidInputError
from groundshare.orbits import ElementSet
from groundshare.passes import Site, find_passes
from groundshare.store import InForce, Satellite, Station, network_now, orbits_in_force
from groundshare.timeutil import format_utc
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


@dataclass(frozen=True)
class ElementsInForce:
    """The element sets in force of some satellites, in the order given, with each one's ``element_*`` pass fields."""

    elements: list[ElementSet] = field(default_factory=list)
    fields: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.elements)


def element_fields(in_force: InForce) -> dict[str, Any]:
    """Return the ``element_*`` fields of a pass predicted with ``in_force``."""
    return {"element_set_id": in_force.record.id, "element_epoch": format_utc(in_force.record.epoch),
            "element_age_s": round(in_force.age_s, 3), "element_state": in_force.state}


def newest_elements(session: Session, satellites: Sequence[Satellite], settings: Settings | None = None,
                    ) -> ElementsInForce:
    """Return the element set in force of each satellite that has one, in the order given (two queries).

    Ages are at the network's clock, their states by ``settings``' warning and error ages.
    """
    if len(satellites) > MAX_PASS_SATELLITES:
        raise InvalidInputError(
            f"{len(satellites)} satellites are visible to your organisation; one pass query searches at most "
            f"{MAX_PASS_SATELLITES}\n\nQuery satellites one at a time with GET /satellites/{{id}}/passes",
            loc=("query",))
    settings = settings or Settings()
    in_force = orbits_in_force(session, [satellite.id for satellite in satellites], now=network_now(session),
                               warning_s=settings.element_age_warning_s, error_s=settings.element_age_error_s)
    chosen = ElementsInForce()
    for satellite in satellites:
        if satellite.id in in_force:
            chosen.elements.append(in_force[satellite.id].record.to_element_set())
            chosen.fields.append(element_fields(in_force[satellite.id]))
    return chosen


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


def passes_over(elements: ElementsInForce | Sequence[ElementSet], sites: Sequence[Site], *, start: datetime,
                hours: float, min_elevation_deg: float | None = None) -> PassesPublic:
    """Return the passes of ``elements`` over ``sites`` in ``[start, start + hours]`` (none without either).

    With ``ElementsInForce``, each pass says which element set predicted it and how old it is.
    """
    element_sets = elements.elements if isinstance(elements, ElementsInForce) else list(elements)
    if not element_sets or not sites:
        return PassesPublic(data=[], count=0)
    table = find_passes(element_sets, sites, start=start, duration_s=hours * HOUR_S,
                        min_elevation_deg=min_elevation_deg, workers=1)
    return passes_public(table, elements.fields if isinstance(elements, ElementsInForce) else None)
