"""Ground stations, their antennas, and the GNSS geometry over a station."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from groundshare.api.schemas.common import Eirp, Name, Page, RowModel, UpdateModel
from groundshare.store import Band, StationRunner
from groundshare.units import DAY_S

# Mount and receiver bounds: wide enough for any real antenna, narrow enough to refuse nonsense.
GOverT = Annotated[float, Field(ge=-60, le=80, description="Receive figure of merit G/T in dB/K.")]
SlewRate = Annotated[float, Field(gt=0, le=90, description="Slew rate in degrees per second.")]
#: A horizon mask: [[az_deg, min_el_deg], ...], azimuth clockwise from true north.
HorizonMask = list[tuple[Annotated[float, Field(ge=0, le=360)], Annotated[float, Field(ge=-10, le=90)]]]
#: Most points of a horizon mask (one every 0.1 degree of azimuth).
MAX_MASK_POINTS = 3600


class StationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    lat_deg: float = Field(ge=-90, le=90)
    lon_deg: float = Field(ge=-180, le=180)
    alt_m: float = Field(default=0.0, ge=-500, le=10_000)
    min_elevation_deg: float = Field(default=0.0, ge=-10, le=89)
    horizon_mask: HorizonMask | None = Field(default=None, max_length=MAX_MASK_POINTS)
    runner: StationRunner = Field(default=StationRunner.AGENT, description=(
        "What runs the station: 'agent' (groundshare agent) or 'satnogs' (an unmodified satnogs-client polling "
        "/satnogs/api/ with a station-scoped token)."))


class StationUpdate(UpdateModel):
    nullable: ClassVar[frozenset[str]] = frozenset({"horizon_mask"})

    name: Name | None = None
    lat_deg: float | None = Field(default=None, ge=-90, le=90)
    lon_deg: float | None = Field(default=None, ge=-180, le=180)
    alt_m: float | None = Field(default=None, ge=-500, le=10_000)
    min_elevation_deg: float | None = Field(default=None, ge=-10, le=89)
    horizon_mask: HorizonMask | None = Field(default=None, max_length=MAX_MASK_POINTS)
    runner: StationRunner | None = None


class StationPublic(RowModel):
    id: int
    org_id: int
    name: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    min_elevation_deg: float
    horizon_mask: list[Any] | None
    created_at: datetime
    runner: StationRunner = Field(default=StationRunner.AGENT, description=(
        "What runs it: 'agent' (groundshare agent) or 'satnogs' (satnogs-client through /satnogs/api/)."))
    last_seen_at: datetime | None = Field(default=None, description=(
        "Its satnogs-client's last job poll, by the network's clock (null: never)."))
    satnogs_client_version: str | None = Field(default=None, description=(
        "The satnogs-client version its last observation reported (null: none yet)."))
    satnogs_status: str | None = Field(default=None, description=(
        "What its last job poll served, and which contacts were left out and why (null: never polled)."))
    online: bool = Field(default=False, description=(
        "Whether its satnogs-client polled for jobs within the last 10 minutes (the server's satnogs_online_s, by "
        "the network's clock); always false for a station run by the agent."))


class StationsPublic(Page[StationPublic]):
    pass


class AntennaCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    band: Band
    setup_s: float = Field(default=0.0, ge=0, le=DAY_S)
    turnaround_s: float = Field(default=0.0, ge=0, le=DAY_S)
    g_over_t_dbk: GOverT | None = None
    eirp_dbw: Eirp | None = None
    az_slew_deg_s: SlewRate | None = None
    el_slew_deg_s: SlewRate | None = None


class AntennaUpdate(UpdateModel):
    nullable: ClassVar[frozenset[str]] = frozenset({"g_over_t_dbk", "eirp_dbw", "az_slew_deg_s", "el_slew_deg_s"})

    name: Name | None = None
    band: Band | None = None
    setup_s: float | None = Field(default=None, ge=0, le=DAY_S)
    turnaround_s: float | None = Field(default=None, ge=0, le=DAY_S)
    g_over_t_dbk: GOverT | None = None
    eirp_dbw: Eirp | None = None
    az_slew_deg_s: SlewRate | None = None
    el_slew_deg_s: SlewRate | None = None


class AntennaPublic(RowModel):
    id: int
    station_id: int
    name: str
    band: Band
    setup_s: float
    turnaround_s: float
    g_over_t_dbk: float | None
    eirp_dbw: float | None
    az_slew_deg_s: float | None
    el_slew_deg_s: float | None


class AntennasPublic(Page[AntennaPublic]):
    pass


class GnssPublic(BaseModel):
    """GNSS geometry over a station: DOPs over a window (null where fewer than four are in view)."""

    station_id: int
    start: datetime
    step_s: float
    mask_deg: float
    pdop_max: float
    elements: list[str]
    n_satellites: int
    times: list[datetime]
    n_visible: list[int]
    gdop: list[float | None]
    pdop: list[float | None]
    hdop: list[float | None]
    vdop: list[float | None]
    tdop: list[float | None]
    share_pdop_below: float
    svg: str
