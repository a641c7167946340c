"""Ground stations and their antennas: create, read, list, update and delete.

Writes are the owner's (a partner that sees a shared station or antenna gets 403, and
anyone else 404).  ``runner`` says what runs a station (groundshare's agent, or
satnogs-client through ``/satnogs/api/``); a SatNOGS station's ``online`` is whether its
client polled for jobs within ``Settings.satnogs_online_s`` (10 minutes), by the network's
clock, as ``last_seen_at`` is recorded.  Deleting keeps history: a station or antenna with contacts is 409,
and deleting an antenna deletes its sharing policies.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from groundshare.api.deps import CurrentOrg, SessionDep, WriterToken
from groundshare.api.params import Limit, Offset, PathId
from groundshare.api.passes import PassHours, PassMinElevation, PassStart, newest_elements, passes_over, station_sites
from groundshare.api.queries import (
    get_visible,
    page,
    refuse_if_contacts,
    refuse_taken,
    require_owner,
    visible_antennas,
    visible_satellites,
    visible_stations,
)
from groundshare.api.schemas import (
    AntennaCreate,
    AntennaPublic,
    AntennasPublic,
    AntennaUpdate,
    GnssPublic,
    PassesPublic,
    StationCreate,
    StationPublic,
    StationsPublic,
    StationUpdate,
    UtcTime,
)
from groundshare.api.settings import Settings
from groundshare.errors import ConflictError
from groundshare.store import (
    Antenna,
    Band,
    Contact,
    Organisation,
    Satellite,
    SharingPolicy,
    Station,
    StationRunner,
    network_now,
)
from groundshare.units import HOUR_S

router = APIRouter(prefix="/stations", tags=["stations"])

#: The GNSS element files shipped with groundshare (CelesTrak, 2026-03-09).
GNSS_ELEMENT_FILES = ("celestrak_gps-ops_2026-03-09.tle", "celestrak_galileo_2026-03-09.tle")
#: Default start of the GNSS window: the day of the shipped snapshots, whose elements are most
#: accurate near their epochs (they age by days, so "now" would drift further from them).
GNSS_DEFAULT_START = datetime(2026, 3, 9, tzinfo=UTC)

GnssStart = Annotated[UtcTime, Query(description="Start of the window (ISO 8601 with Z or an offset); default the "
                                                 "day of the shipped GPS and Galileo elements.")]
GnssHours = Annotated[float, Query(gt=0, le=48, description="Length of the window in hours, at most 48.")]
GnssStep = Annotated[float, Query(ge=30, le=HOUR_S, description="Seconds between samples.")]
GnssMask = Annotated[float | None, Query(ge=-5, le=60, description=(
    "Elevation mask in degrees; default the station's minimum elevation (its horizon mask still applies)."))]
GnssPdopMax = Annotated[float, Query(gt=0, le=100, description="PDOP threshold for the share of good times.")]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_station(body: StationCreate, session: SessionDep, token: WriterToken) -> StationPublic:
    """Register a ground station owned by the caller's organisation."""
    _refuse_station_name(session, token.org_id, body.name)
    station = Station(org_id=token.org_id, **body.model_dump())
    session.add(station)
    session.flush()
    return station_public(session, station)


@router.get("")
def list_stations(request: Request, session: SessionDep, org: CurrentOrg, offset: Offset = 0,
                  limit: Limit = 100) -> StationsPublic:
    """List the stations the caller may see: its own and partners' shared ones."""
    rows, count = page(session, visible_stations(session, org), offset=offset, limit=limit, order_by=[Station.id])
    return StationsPublic(data=stations_public(session, list(rows), request.app.state.settings), count=count)


@router.get("/{station_id}")
def read_station(station_id: PathId, request: Request, session: SessionDep, org: CurrentOrg) -> StationPublic:
    """Return one visible station (404 if it does not exist or is not shared with the caller)."""
    station = get_visible(session, visible_stations(session, org), Station, station_id, "station")
    return station_public(session, station, request.app.state.settings)


def stations_public(session: Session, stations: list[Station], settings: Settings | None = None) -> list[StationPublic]:
    """Return each station's body, with ``online`` by the network's clock (read once for all)."""
    online_s = settings.satnogs_online_s if settings is not None else Settings.satnogs_online_s
    now = network_now(session) if any(s.last_seen_at is not None for s in stations) else None
    return [StationPublic.model_validate(s).model_copy(update={"online": bool(
        now is not None and s.runner is StationRunner.SATNOGS and s.last_seen_at is not None
        and (now - s.last_seen_at).total_seconds() <= online_s)}) for s in stations]


def station_public(session: Session, station: Station, settings: Settings | None = None) -> StationPublic:
    return stations_public(session, [station], settings)[0]


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
    _refuse_antenna_name(session, station_id, body.name)
    antenna = Antenna(station_id=station_id, **body.model_dump())
    session.add(antenna)
    session.flush()
    return AntennaPublic.model_validate(antenna)


@router.patch("/{station_id}")
def update_station(station_id: PathId, body: StationUpdate, session: SessionDep, org: CurrentOrg,
                   _token: WriterToken) -> StationPublic:
    """Change the fields sent of one of the caller's stations (booked contacts keep their snapshot)."""
    station = get_visible(session, visible_stations(session, org), Station, station_id, "station")
    require_owner(org, station, "station", "change it")
    changes = body.changes()
    if "name" in changes:
        _refuse_station_name(session, station.org_id, changes["name"], but=station.id)
    for field, value in changes.items():
        setattr(station, field, value)
    session.flush()
    return station_public(session, station)


@router.delete("/{station_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_station(station_id: PathId, session: SessionDep, org: CurrentOrg, _token: WriterToken) -> None:
    """Delete one of the caller's stations with its antennas and their sharing policies (409 if any has contacts)."""
    station = get_visible(session, visible_stations(session, org), Station, station_id, "station")
    require_owner(org, station, "station", "delete it")
    antenna_ids = select(Antenna.id).where(Antenna.station_id == station_id)
    refuse_if_contacts(session, Contact.antenna_id.in_(antenna_ids), f"station {station_id} (its antennas)")
    session.execute(delete(SharingPolicy).where(SharingPolicy.antenna_id.in_(antenna_ids)))
    session.execute(delete(Antenna).where(Antenna.station_id == station_id))
    session.execute(delete(Station).where(Station.id == station_id))


@router.get("/{station_id}/antennas/{antenna_id}")
def read_antenna(station_id: PathId, antenna_id: PathId, session: SessionDep, org: CurrentOrg) -> AntennaPublic:
    """Return one antenna of a station that the caller may see (its own, or shared with it)."""
    return AntennaPublic.model_validate(_visible_antenna(session, org, station_id, antenna_id))


@router.patch("/{station_id}/antennas/{antenna_id}")
def update_antenna(station_id: PathId, antenna_id: PathId, body: AntennaUpdate, session: SessionDep,
                   org: CurrentOrg, _token: WriterToken) -> AntennaPublic:
    """Change the fields sent of an antenna of one of the caller's stations.

    A new band is 409 while a sharing policy of the antenna lists only other bands
    (change or delete the policy first); booked contacts keep their snapshot.
    """
    antenna = _visible_antenna(session, org, station_id, antenna_id)
    require_owner(org, antenna, "antenna", "change it")
    changes = body.changes()
    if "name" in changes:
        _refuse_antenna_name(session, station_id, changes["name"], but=antenna.id)
    if "band" in changes:
        _refuse_band_outside_policies(session, antenna, changes["band"])
    for field, value in changes.items():
        setattr(antenna, field, value)
    session.flush()
    return AntennaPublic.model_validate(antenna)


@router.delete("/{station_id}/antennas/{antenna_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_antenna(station_id: PathId, antenna_id: PathId, session: SessionDep, org: CurrentOrg,
                   _token: WriterToken) -> None:
    """Delete an antenna of one of the caller's stations and its sharing policies (409 if it has contacts)."""
    antenna = _visible_antenna(session, org, station_id, antenna_id)
    require_owner(org, antenna, "antenna", "delete it")
    refuse_if_contacts(session, Contact.antenna_id == antenna.id, f"antenna {antenna.id} ({antenna.name!r})")
    session.execute(delete(SharingPolicy).where(SharingPolicy.antenna_id == antenna.id))
    session.execute(delete(Antenna).where(Antenna.id == antenna.id))


@router.get("/{station_id}/passes")
def list_station_passes(station_id: PathId, start: PassStart, request: Request, session: SessionDep,
                        org: CurrentOrg, hours: PassHours = 24.0,
                        min_elevation_deg: PassMinElevation = None) -> PassesPublic:
    """List the passes over a visible station of every satellite the caller may see (each one's orbit in force).

    Each pass names the element set that predicted it, its epoch, age and state (fresh, stale, expired).
    """
    station = get_visible(session, visible_stations(session, org), Station, station_id, "station")
    satellites = list(session.scalars(visible_satellites(session, org).order_by(Satellite.id)))
    return passes_over(newest_elements(session, satellites, request.app.state.settings), station_sites([station]),
                       start=start, hours=hours, min_elevation_deg=min_elevation_deg)


@router.get("/{station_id}/gnss")
def station_gnss(station_id: PathId, session: SessionDep, org: CurrentOrg, start: GnssStart = GNSS_DEFAULT_START,
                 hours: GnssHours = 24.0, step_s: GnssStep = 300.0, mask_deg: GnssMask = None,
                 pdop_max: GnssPdopMax = 6.0) -> GnssPublic:
    """Return GPS and Galileo DOPs over a visible station from the shipped elements, with an SVG chart."""
    from groundshare.gnss import dop_series, dop_svg

    station = get_visible(session, visible_stations(session, org), Station, station_id, "station")
    mask = station.min_elevation_deg if mask_deg is None else mask_deg
    series = dop_series(_gnss_elements(), station.to_site(), start=start, duration_s=hours * HOUR_S, step_s=step_s,
                        mask_deg=mask)
    return GnssPublic(
        station_id=station.id, start=start, step_s=step_s, mask_deg=mask, pdop_max=pdop_max,
        elements=list(GNSS_ELEMENT_FILES), n_satellites=len(series.names), times=list(series.times),
        n_visible=[int(n) for n in series.n_visible],
        **{k: [_finite(v) for v in getattr(series, k)] for k in ("gdop", "pdop", "hdop", "vdop", "tdop")},
        share_pdop_below=float(series.share_pdop_below(pdop_max)), svg=dop_svg(series, pdop_max))


@lru_cache(maxsize=1)
def _gnss_elements() -> tuple:
    """Load the shipped GNSS element sets once per process."""
    from groundshare.data import data_path
    from groundshare.orbits import load_elements

    return tuple(e for name in GNSS_ELEMENT_FILES for e in load_elements(data_path(name)).elements)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(float(value)) else None


def _visible_antenna(session: Session, org: Organisation, station_id: int, antenna_id: int) -> Antenna:
    get_visible(session, visible_stations(session, org), Station, station_id, "station")
    return get_visible(session, visible_antennas(session, org).where(Antenna.station_id == station_id), Antenna,
                       antenna_id, "antenna")


def _refuse_station_name(session: Session, org_id: int, name: str, *, but: int | None = None) -> None:
    query = select(Station.id).where(Station.org_id == org_id, Station.name == name, Station.id != (but or 0))
    refuse_taken(session, query, lambda taken: f"your organisation already has a station named {name!r} (station "
                 f"{taken}); choose another name")


def _refuse_antenna_name(session: Session, station_id: int, name: str, *, but: int | None = None) -> None:
    query = select(Antenna.id).where(Antenna.station_id == station_id, Antenna.name == name, Antenna.id != (but or 0))
    refuse_taken(session, query, lambda taken: f"station {station_id} already has an antenna named {name!r} "
                 f"(antenna {taken}); choose another name")


def _refuse_band_outside_policies(session: Session, antenna: Antenna, band: Band) -> None:
    for policy in session.scalars(select(SharingPolicy).where(SharingPolicy.antenna_id == antenna.id)
                                  .order_by(SharingPolicy.id)):
        bands = [str(b) for b in policy.bands or []]
        if bands and band.value not in bands:
            raise ConflictError(
                f"sharing policy {policy.id} grants antenna {antenna.id} to organisation {policy.grantee_org_id} "
                f"for the {', '.join(bands)} band(s) only, so the antenna cannot become {band.value}\n\nChange the "
                f"policy's bands (PATCH /policies/{policy.id}) or delete it first")
