"""Request and response bodies: ``XCreate`` in, ``XPublic`` out, ``XsPublic{data, count}`` for lists.

Every number is bounded, so that no input reaches the database as an overflow (a
500); times are ISO 8601 with ``Z`` or an offset, and a time without one is refused
naming the field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from groundshare.orbits.elements import SATREC_MAX_SATNUM
from groundshare.store import Band, ContactStatus, OrgKind, RequestStatus, Role
from groundshare.store.outcomes import (
    MAX_EXECUTION_AGENT_ID_LENGTH,
    MAX_EXECUTION_COUNT,
    MAX_FAILURE_LENGTH,
    MAX_FAILURES,
)
from groundshare.timeutil import format_utc, parse_utc

#: Largest row id accepted (PostgreSQL ``integer``), so a huge id is a 422 or 404, never an overflow.
MAX_ID = 2_147_483_647
#: Earliest and latest instants accepted: Sputnik to well past any contact anyone books.
EARLIEST = datetime(1957, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

#: Largest ``BIGINT`` (data volumes in bytes).
MAX_BIGINT = 2**63 - 1

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Label = Annotated[str, Field(max_length=200)]
#: Priority of a request or a sharing policy: higher wins when requests compete.
Priority = Annotated[int, Field(ge=-1000, le=1000)]

# Radio and mount bounds: wide enough for any real antenna or satellite, narrow enough to refuse nonsense.
GOverT = Annotated[float, Field(ge=-60, le=80, description="Receive figure of merit G/T in dB/K.")]
Eirp = Annotated[float, Field(ge=-50, le=100, description="Transmit EIRP in dBW.")]
SlewRate = Annotated[float, Field(gt=0, le=90, description="Slew rate in degrees per second.")]
FrequencyHz = Annotated[float, Field(ge=1e6, le=3e11, description="Frequency in Hz (1 MHz to 300 GHz).")]
DataRateBps = Annotated[float, Field(gt=0, le=1e11, description="Data rate in bits per second.")]
#: A horizon mask: [[az_deg, min_el_deg], ...], azimuth clockwise from true north.
HorizonMask = list[tuple[Annotated[float, Field(ge=0, le=360)], Annotated[float, Field(ge=-10, le=90)]]]


def _parse_time(value: Any, info: ValidationInfo) -> Any:
    """Parse ISO 8601 text with ``Z`` or an offset; naive text is refused naming the field.

    ``now`` is refused too: the network's clock may run shifted from the wall clock
    (``GET /clock``), and a parameter left out already defaults to the network's time.
    """
    if isinstance(value, str):
        return parse_utc(value, info.field_name or "time", allow_now=False)  # InvalidInputError is a ValueError
    return value


def _check_time(value: datetime, info: ValidationInfo) -> datetime:
    name = info.field_name or "time"
    if value.tzinfo is None:
        raise ValueError(f"{name} has no timezone; groundshare works in UTC: add 'Z' (e.g. {value.isoformat()}Z) "
                         f"or an explicit offset")
    value = value.astimezone(UTC)
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"{name} {value.isoformat()} is outside {EARLIEST.year} to {LATEST.year}")
    return value


#: An aware UTC datetime from ISO 8601 text with ``Z`` or an offset.
UtcTime = Annotated[datetime, BeforeValidator(_parse_time), AfterValidator(_check_time)]


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class _Update(BaseModel):
    """A PATCH body: every field optional, only those sent are changed.

    ``null`` clears a field listed in ``nullable``; for any other field it is refused
    naming the field (leave the field out to keep its value).
    """

    model_config = ConfigDict(extra="forbid")
    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError(f"{info.field_name} cannot be null; leave it out to keep its current value")
        return value

    def changes(self) -> dict[str, Any]:
        """Return the fields the client sent, with their new values."""
        return self.model_dump(exclude_unset=True)


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
    horizon_mask: HorizonMask | None = Field(default=None, max_length=3600)


class StationUpdate(_Update):
    nullable: ClassVar[frozenset[str]] = frozenset({"horizon_mask"})

    name: Name | None = None
    lat_deg: float | None = Field(default=None, ge=-90, le=90)
    lon_deg: float | None = Field(default=None, ge=-180, le=180)
    alt_m: float | None = Field(default=None, ge=-500, le=10_000)
    min_elevation_deg: float | None = Field(default=None, ge=-10, le=89)
    horizon_mask: HorizonMask | None = Field(default=None, max_length=3600)


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
    g_over_t_dbk: GOverT | None = None
    eirp_dbw: Eirp | None = None
    az_slew_deg_s: SlewRate | None = None
    el_slew_deg_s: SlewRate | None = None


class AntennaUpdate(_Update):
    nullable: ClassVar[frozenset[str]] = frozenset({"g_over_t_dbk", "eirp_dbw", "az_slew_deg_s", "el_slew_deg_s"})

    name: Name | None = None
    band: Band | None = None
    setup_s: float | None = Field(default=None, ge=0, le=86_400)
    turnaround_s: float | None = Field(default=None, ge=0, le=86_400)
    g_over_t_dbk: GOverT | None = None
    eirp_dbw: Eirp | None = None
    az_slew_deg_s: SlewRate | None = None
    el_slew_deg_s: SlewRate | None = None


class AntennaPublic(_Public):
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


#: Organisations besides the operator that may book uplink contacts of a satellite (ids, each once).
UplinkOrgIds = Annotated[list[RowId], Field(max_length=100, description=(
    "Organisations besides the operator that may book contacts that uplink to the satellite (ids)."))]


class SatelliteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    norad_id: int = Field(ge=1, le=SATREC_MAX_SATNUM)
    name: Name
    is_public: bool = False
    band: Band | None = None
    downlink_frequency_hz: FrequencyHz | None = None
    downlink_eirp_dbw: Eirp | None = None
    data_rate_bps: DataRateBps | None = None
    uplink_frequency_hz: FrequencyHz | None = None
    uplink_org_ids: UplinkOrgIds = Field(default_factory=list)


class SatelliteUpdate(_Update):
    nullable: ClassVar[frozenset[str]] = frozenset({"band", "downlink_frequency_hz", "downlink_eirp_dbw",
                                                    "data_rate_bps", "uplink_frequency_hz"})

    norad_id: int | None = Field(default=None, ge=1, le=SATREC_MAX_SATNUM)
    name: Name | None = None
    is_public: bool | None = None
    band: Band | None = None
    downlink_frequency_hz: FrequencyHz | None = None
    downlink_eirp_dbw: Eirp | None = None
    data_rate_bps: DataRateBps | None = None
    uplink_frequency_hz: FrequencyHz | None = None
    uplink_org_ids: UplinkOrgIds | None = None


class SatellitePublic(_Public):
    id: int
    org_id: int
    norad_id: int
    name: str
    is_public: bool
    created_at: datetime
    band: Band | None
    downlink_frequency_hz: float | None
    downlink_eirp_dbw: float | None
    data_rate_bps: float | None
    uplink_frequency_hz: float | None
    uplink_org_ids: list[int] = Field(description="Organisations besides the operator that may book uplink "
                                                  "contacts of it.")


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
    uplink: bool = Field(default=False, description=(
        "Whether the contact transmits to the satellite. Receive-only contacts (false) of one satellite never "
        "conflict with each other: several stations may hear one pass. Uplink contacts hold the satellite "
        "exclusively, and only its operator (or an organisation in its uplink_org_ids) may book them."))
    allow_outside_pass: bool = Field(default=False, description=(
        "For the satellite's operator only: book a window that is not within a predicted pass over the "
        "station (searching for a satellite whose orbit is uncertain). Without it, the window must lie within "
        "a pass above the station's mask, computed from the element set the contact is booked with."))


ExecutionCount = Annotated[int, Field(ge=0, le=MAX_EXECUTION_COUNT)]
PointingErrorDeg = Annotated[float, Field(ge=0, le=360, allow_inf_nan=False)]


class ContactExecution(BaseModel):
    """What the station's agent did during a contact, as it reports it (every field optional)."""

    model_config = ConfigDict(extra="forbid")

    pointing_error_rms_deg: PointingErrorDeg | None = Field(
        default=None, description="RMS of the commanded minus read-back pointing, in degrees.")
    pointing_error_max_deg: PointingErrorDeg | None = Field(
        default=None, description="Largest commanded minus read-back pointing error, in degrees.")
    positions_sent: ExecutionCount | None = Field(default=None, description="Positions commanded to the rotator.")
    positions_read: ExecutionCount | None = Field(default=None, description="Positions read back from the rotator.")
    positions_refused: ExecutionCount | None = Field(
        default=None, description="Positions the rotator refused (out of its limits, or an error reply).")
    frequency_commands: ExecutionCount | None = Field(default=None, description="Frequencies set on the radio.")
    reconnects: Annotated[int, Field(ge=0, le=MAX_EXECUTION_COUNT)] | None = Field(
        default=None, description="Reconnections to the rotator or radio daemons.")
    failures: list[Annotated[str, Field(max_length=MAX_FAILURE_LENGTH)]] | None = Field(
        default=None, max_length=MAX_FAILURES, description="What went wrong, one reason each.")
    clock_offset_s: Annotated[float, Field(ge=-1e9, le=1e9, allow_inf_nan=False)] | None = Field(
        default=None, description="The station clock minus UTC, in seconds (positive: the station is ahead).")
    agent_id: Annotated[str, Field(max_length=MAX_EXECUTION_AGENT_ID_LENGTH)] | None = Field(
        default=None, description="The agent that ran the contact (as in its lease).")


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
    execution: ContactExecution | None = None
    uplink: bool = Field(default=False, description="Whether the contact transmits to the satellite (false: "
                                                    "receive-only).")


class BlackoutWindow(BaseModel):
    """A period ``[start, end)`` (aware UTC) when a sharing policy does not apply."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    start: UtcTime
    end: UtcTime

    @model_validator(mode="after")
    def _ordered(self) -> BlackoutWindow:
        if self.end <= self.start:
            raise ValueError(f"end ({format_utc(self.end)}) must be after start ({format_utc(self.start)}); a "
                             "blackout window covers [start, end)")
        return self

    def stored(self) -> dict[str, str]:
        """Return the window as ``SharingPolicy.blackout_windows`` stores it (ISO 8601 UTC with ``Z``)."""
        return {key: value.isoformat().replace("+00:00", "Z") for key, value in (("start", self.start),
                                                                                ("end", self.end))}


Bands = Annotated[list[Band], Field(max_length=len(Band), description=(
    "Bands of the antenna the grant covers; empty: every band of the antenna."))]
HoursPerWeek = Annotated[float, Field(ge=0, le=168, description="Hours per ISO (UTC) week; null: no cap.")]
BlackoutWindows = Annotated[list[BlackoutWindow], Field(max_length=1000)]


class PolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    antenna_id: RowId
    grantee_org_id: RowId
    bands: Bands = Field(default_factory=list)
    hours_per_week: HoursPerWeek | None = None
    priority: Priority = 0
    blackout_windows: BlackoutWindows = Field(default_factory=list)


class PolicyUpdate(_Update):
    nullable: ClassVar[frozenset[str]] = frozenset({"hours_per_week"})

    bands: Bands | None = None
    hours_per_week: HoursPerWeek | None = None
    priority: Priority | None = None
    blackout_windows: BlackoutWindows | None = None


class PolicyPublic(_Public):
    id: int
    owner_org_id: int
    grantee_org_id: int
    antenna_id: int
    bands: list[Band]
    hours_per_week: float | None
    priority: int
    blackout_windows: list[BlackoutWindow]
    created_at: datetime


class RequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    satellite_id: RowId
    window_start: UtcTime
    window_end: UtcTime
    min_duration_s: float = Field(default=0.0, ge=0, le=86_400)
    min_elevation_deg: float = Field(default=0.0, ge=-10, le=89)
    min_volume_bytes: int | None = Field(default=None, ge=0, le=MAX_BIGINT)
    priority: Priority = 0


class RequestUpdate(_Update):
    nullable: ClassVar[frozenset[str]] = frozenset({"min_volume_bytes"})

    window_start: UtcTime | None = None
    window_end: UtcTime | None = None
    min_duration_s: float | None = Field(default=None, ge=0, le=86_400)
    min_elevation_deg: float | None = Field(default=None, ge=-10, le=89)
    min_volume_bytes: int | None = Field(default=None, ge=0, le=MAX_BIGINT)
    priority: Priority | None = None


class RequestPublic(_Public):
    id: int
    org_id: int
    satellite_id: int
    window_start: datetime
    window_end: datetime
    min_duration_s: float
    min_elevation_deg: float
    min_volume_bytes: int | None
    priority: int
    status: RequestStatus
    created_at: datetime


#: Longest lifetime a token may be given in days (ten years); leave both expiry fields out for none.
MAX_TOKEN_DAYS = 3650


class TokenCreate(BaseModel):
    """A new token: its role, a label, and optionally when it expires (by the wall clock, UTC)."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    label: Label = ""
    expires_at: UtcTime | None = Field(default=None, description=(
        "When the token stops working (ISO 8601 with Z or an offset; in the future). Leave out, with "
        "expires_in_days, for a token that does not expire."))
    expires_in_days: float | None = Field(default=None, gt=0, le=MAX_TOKEN_DAYS, allow_inf_nan=False, description=(
        f"The token stops working this many days from now (up to {MAX_TOKEN_DAYS}); instead of expires_at."))

    @model_validator(mode="after")
    def _one_expiry(self) -> TokenCreate:
        if self.expires_at is not None and self.expires_in_days is not None:
            raise ValueError("send expires_at or expires_in_days, not both: they both say when the token expires")
        return self


class TokenPublic(_Public):
    """A token of the caller's organisation, without its secret (only its hash is stored)."""

    id: int
    org_id: int
    role: Role
    label: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = Field(description="When it stops working (null: it does not expire).")
    last_used_at: datetime | None = Field(description=(
        "When a request last authenticated with it, to the minute (null: never used)."))


class TokenCreated(TokenPublic):
    """A new token; ``token`` is shown this once and cannot be read again."""

    token: str


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int


class StationsPublic(Page[StationPublic]):
    pass


class AntennasPublic(Page[AntennaPublic]):
    pass


class SatellitesPublic(Page[SatellitePublic]):
    pass


class OrgsPublic(Page[OrgPublic]):
    pass


class ElementSetsPruned(BaseModel):
    """How many element sets a prune deleted."""

    deleted: int


class ElementSetsPublic(Page[ElementSetPublic]):
    pass


class ContactsPublic(Page[ContactPublic]):
    pass


class PoliciesPublic(Page[PolicyPublic]):
    pass


class RequestsPublic(Page[RequestPublic]):
    pass


class TokensPublic(Page[TokenPublic]):
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
