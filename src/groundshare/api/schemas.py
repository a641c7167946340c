"""Request and response bodies: ``XCreate`` in, ``XPublic`` out, ``XsPublic{data, count}`` for lists.

Every number is bounded, so that no input reaches the database as an overflow (a
500); times are ISO 8601 with ``Z`` or an offset, and a time without one is refused
naming the field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo

from groundshare.orbits.elements import SATREC_MAX_SATNUM
from groundshare.store import Band, ContactStatus, OrgKind, Role
from groundshare.timeutil import parse_utc

#: Largest row id accepted (PostgreSQL ``integer``), so a huge id is a 422 or 404, never an overflow.
MAX_ID = 2_147_483_647
#: Earliest and latest instants accepted: Sputnik to well past any contact anyone books.
EARLIEST = datetime(1957, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


def _parse_time(value: Any, info: ValidationInfo) -> Any:
    """Parse ISO 8601 text with ``Z`` or an offset; naive text is refused naming the field."""
    if isinstance(value, str):
        return parse_utc(value, info.field_name or "time")  # InvalidInputError is a ValueError
    return value


def _check_time(value: datetime, info: ValidationInfo) -> datetime:
    name = info.field_name or "time"
    if value.tzinfo is None:
        raise ValueError(f"{name} has no timezone; groundshare works in UTC: add 'Z' or an explicit offset")
    value = value.astimezone(UTC)
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"{name} {value.isoformat()} is outside {EARLIEST.year} to {LATEST.year}")
    return value


#: An aware UTC datetime from ISO 8601 text with ``Z`` or an offset.
UtcTime = Annotated[datetime, BeforeValidator(_parse_time), AfterValidator(_check_time)]


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class OrgPublic(_Public):
    id: int
    name: str
    kind: OrgKind


class MePublic(BaseModel):
    """The caller: its organisation and its token's role."""

    org: OrgPublic
    role: Role


class StationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    lat_deg: float = Field(ge=-90, le=90)
    lon_deg: float = Field(ge=-180, le=180)
    alt_m: float = Field(default=0.0, ge=-500, le=10_000)
    min_elevation_deg: float = Field(default=0.0, ge=-10, le=89)
    # [[az_deg, min_el_deg], ...], azimuth clockwise from true north.
    horizon_mask: list[tuple[Annotated[float, Field(ge=0, le=360)], Annotated[float, Field(ge=-10, le=90)]]] | None = (
        Field(default=None, max_length=3600))


class StationPublic(_Public):
    id: int
    org_id: int
    name: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    min_elevation_deg: float
    horizon_mask: list[Any] | None
    created_at: datetime


class AntennaCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    band: Band
    setup_s: float = Field(default=0.0, ge=0, le=86_400)
    turnaround_s: float = Field(default=0.0, ge=0, le=86_400)


class AntennaPublic(_Public):
    id: int
    station_id: int
    name: str
    band: Band
    setup_s: float
    turnaround_s: float


class SatelliteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    norad_id: int = Field(ge=1, le=SATREC_MAX_SATNUM)
    name: Name
    is_public: bool = False


class SatellitePublic(_Public):
    id: int
    org_id: int
    norad_id: int
    name: str
    is_public: bool
    created_at: datetime


class ElementSetPublic(_Public):
    id: int
    satellite_id: int
    epoch: datetime
    format: str
    source: str


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    antenna_id: RowId
    satellite_id: RowId
    start: UtcTime
    end: UtcTime
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    notes: str = Field(default="", max_length=10_000)


class ContactPublic(BaseModel):
    id: int
    antenna_id: int
    station_id: int
    satellite_id: int
    org_id: int
    start: datetime
    end: datetime
    busy_until: datetime
    status: ContactStatus
    idempotency_key: str | None
    notes: str
    bytes_received: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int


class StationsPublic(Page[StationPublic]):
    pass


class AntennasPublic(Page[AntennaPublic]):
    pass


class SatellitesPublic(Page[SatellitePublic]):
    pass


class ElementSetsPublic(Page[ElementSetPublic]):
    pass


class ContactsPublic(Page[ContactPublic]):
    pass


class PassPublic(BaseModel):
    """One pass, with the keys of ``passes.PassTable.to_records()`` (times ISO 8601 UTC, ms, ``Z``)."""

    norad_id: int
    name: str
    station: str
    aos: str
    tca: str
    los: str
    max_elevation_deg: float
    aos_azimuth_deg: float
    los_azimuth_deg: float
    duration_s: float
    clipped: bool


class PassesPublic(Page[PassPublic]):
    """Passes in AOS order; ``warnings`` says which satellites SGP4 could not propagate, and from when."""

    warnings: list[str] = Field(default_factory=list)
