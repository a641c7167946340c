"""Ground stations and their antennas."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import select

from groundshare.api.deps import CurrentOrg, SessionDep, WriterToken
from groundshare.api.queries import (
    get_visible,
    page,
    require_owner,
    visible_antennas,
    visible_satellites,
    visible_stations,
)
from groundshare.api.routes.params import Limit, Offset, PathId
from groundshare.api.routes.passes import (
    PassHours,
    PassMinElevation,
    PassStart,
    newest_element_sets,
    passes_over,
    station_sites,
)
from groundshare.api.schemas import (
    AntennaCreate,
    AntennaPublic,
    AntennasPublic,
    PassesPublic,
    StationCreate,
    StationPublic,
    StationsPublic,
)
from groundshare.errors import ConflictError
from groundshare.store import Antenna, Satellite, Station

router = APIRouter(prefix="/stations", tags=["stations"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_station(body: StationCreate, session: SessionDep, token: WriterToken) -> StationPublic:
    """Register a ground station owned by the caller's organisation."""
    taken = session.scalar(select(Station.id).where(Station.org_id == token.org_id, Station.name == body.name))
    if taken is not None:
        raise ConflictError(f"your organisation already has a station named {body.name!r} (station {taken}); "
                            "choose another name")
    station = Station(org_id=token.org_id, **body.model_dump())
    session.add(station)
    session.flush()
    return StationPublic.model_validate(station)


@router.get("")
def list_stations(session: SessionDep, org: CurrentOrg, offset: Offset = 0, limit: Limit = 100) -> StationsPublic:
    """List the stations the caller may see: its own and partners' shared ones."""
    rows, count = page(session, visible_stations(session, org), offset=offset, limit=limit, order_by=[Station.id])
    return StationsPublic(data=[StationPublic.model_validate(s) for s in rows], count=count)


@router.get("/{station_id}")
def read_station(station_id: PathId, session: SessionDep, org: CurrentOrg) -> StationPublic:
    """Return one visible station (404 if it does not exist or is not shared with the caller)."""
    return StationPublic.model_validate(get_visible(session, visible_stations(session, org), Station, station_id,
                                                    "station"))


@router.get("/{station_id}/antennas")
def list_antennas(station_id: PathId, session: SessionDep, org: CurrentOrg) -> AntennasPublic:
    """List the station's antennas that the caller may see (all of its own, or those shared)."""
    get_visible(session, visible_stations(session, org), Station, station_id, "station")
    query = visible_antennas(session, org).where(Antenna.station_id == station_id)
    rows, count = page(session, query, offset=0, limit=10_000, order_by=[Antenna.id])
    return AntennasPublic(data=[AntennaPublic.model_validate(a) for a in rows], count=count)


@router.post("/{station_id}/antennas", status_code=status.HTTP_201_CREATED)
def create_antenna(station_id: PathId, body: AntennaCreate, session: SessionDep, org: CurrentOrg,
                   _token: WriterToken) -> AntennaPublic:
    """Add an antenna to one of the caller's own stations."""
    station = get_visible(session, visible_stations(session, org), Station, station_id, "station")
    require_owner(org, station, "station", "add antennas to it")
    taken = session.scalar(select(Antenna.id).where(Antenna.station_id == station_id, Antenna.name == body.name))
    if taken is not None:
        raise ConflictError(f"station {station_id} already has an antenna named {body.name!r} (antenna {taken}); "
                            "choose another name")
    antenna = Antenna(station_id=station_id, **body.model_dump())
    session.add(antenna)
    session.flush()
    return AntennaPublic.model_validate(antenna)


@router.get("/{station_id}/passes")
def list_station_passes(station_id: PathId, start: PassStart, session: SessionDep, org: CurrentOrg,
                        hours: PassHours = 24.0, min_elevation_deg: PassMinElevation = None) -> PassesPublic:
    """List the passes over a visible station of every satellite the caller may see, newest elements each."""
    station = get_visible(session, visible_stations(session, org), Station, station_id, "station")
    satellites = list(session.scalars(visible_satellites(session, org).order_by(Satellite.id)))
    return passes_over(newest_element_sets(session, satellites), station_sites([station]), start=start, hours=hours,
                       min_elevation_deg=min_elevation_deg)
