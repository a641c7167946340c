"""Sharing policies: an owner's grant of an antenna to a partner, on the owner's terms."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from groundshare.api.schemas.common import Page, Priority, RowId, RowModel, UpdateModel, UtcTime
from groundshare.store import Band
from groundshare.timeutil import format_utc


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
UplinkAllowed = Annotated[bool, Field(description=(
    "Whether the grantee may transmit (uplink) from the antenna; it also needs a licence for the station "
    "(POST /stations/{id}/licences)."))]
UplinkBands = Annotated[list[Band], Field(max_length=len(Band), description=(
    "Bands the grantee may transmit on; empty: the policy's bands."))]
UplinkSatelliteIds = Annotated[list[RowId], Field(max_length=1000, description=(
    "Satellites the grantee may command from the antenna; empty: any it may command."))]


class PolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    antenna_id: RowId
    grantee_org_id: RowId
    bands: Bands = Field(default_factory=list)
    hours_per_week: HoursPerWeek | None = None
    priority: Priority = 0
    blackout_windows: BlackoutWindows = Field(default_factory=list)
    uplink_allowed: UplinkAllowed = False
    uplink_bands: UplinkBands = Field(default_factory=list)
    uplink_satellite_ids: UplinkSatelliteIds = Field(default_factory=list)


class PolicyUpdate(UpdateModel):
    nullable: ClassVar[frozenset[str]] = frozenset({"hours_per_week"})

    bands: Bands | None = None
    hours_per_week: HoursPerWeek | None = None
    priority: Priority | None = None
    blackout_windows: BlackoutWindows | None = None
    uplink_allowed: UplinkAllowed | None = None
    uplink_bands: UplinkBands | None = None
    uplink_satellite_ids: UplinkSatelliteIds | None = None


class PolicyPublic(RowModel):
    id: int
    owner_org_id: int
    grantee_org_id: int
    antenna_id: int
    bands: list[Band]
    hours_per_week: float | None
    priority: int
    blackout_windows: list[BlackoutWindow]
    uplink_allowed: bool = False
    uplink_bands: list[Band] = Field(default_factory=list)
    uplink_satellite_ids: list[int] = Field(default_factory=list)
    created_at: datetime
    week_start: date | None = Field(default=None, description=(
        "Monday of the ISO (UTC) week holding the network's clock (GET /clock): the week week_hours_used counts."))
    week_hours_used: float = Field(default=0.0, description=(
        "Hours the grantee holds on the antenna in that week: its contacts there that are not cancelled (live, "
        "completed or failed), each counted for its whole duration in the week it starts, as hours_per_week "
        "counts them."))


class PoliciesPublic(Page[PolicyPublic]):
    pass
