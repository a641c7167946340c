"""Uplink: a station's licences, its transmit inhibit, and a contact's audit trail of uplinked frames.

A frame's payload travels as hex (``payload_hex``), as received frames do; only the
satellite's operator gets it, the station's owner gets its SHA-256 and length.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from groundshare.api.schemas.common import Page, RowId, RowModel, UtcTime
from groundshare.store.uplink import AuditEntry
from groundshare.timeutil import format_utc


class LicenceCreate(BaseModel):
    """A licence for ``satellite_id`` to be commanded from the station over ``[valid_from, valid_until)``."""

    model_config = ConfigDict(extra="forbid")

    satellite_id: RowId
    reference: Annotated[str, Field(min_length=1, max_length=500, description=(
        "The licence as the regulator identifies it (number, document)."))]
    valid_from: UtcTime
    valid_until: UtcTime

    @model_validator(mode="after")
    def _ordered(self) -> LicenceCreate:
        if self.valid_until <= self.valid_from:
            raise ValueError(f"valid_until ({format_utc(self.valid_until)}) must be after valid_from "
                             f"({format_utc(self.valid_from)}); a licence covers [valid_from, valid_until)")
        return self


class LicencePublic(RowModel):
    id: int
    station_id: int
    satellite_id: int
    reference: str
    valid_from: datetime
    valid_until: datetime
    created_by_org_id: int
    created_at: datetime


class LicencesPublic(Page[LicencePublic]):
    pass


class InhibitRaise(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(max_length=1000)] = ""


class InhibitPublic(RowModel):
    id: int
    station_id: int
    raised_by_org_id: int
    token_id: int | None
    raised_at: datetime
    lifted_at: datetime | None
    reason: str


class InhibitRecord(BaseModel):
    """A station's transmit inhibit: the open one (null: transmission allowed) and every one, newest first."""

    station_id: int
    open: InhibitPublic | None
    history: list[InhibitPublic]


class UplinkFramePublic(BaseModel):
    id: int
    contact_id: int
    satellite_id: int
    station_id: int
    org_id: int
    token_id: int | None
    sent_at: datetime
    on_air_at: datetime | None
    sha256: str
    length: int
    payload_hex: str | None = Field(description="The frame; null unless the caller operates the satellite.")


class UplinkAuditPublic(Page[UplinkFramePublic]):
    pass


def uplink_frame_public(entry: AuditEntry) -> UplinkFramePublic:
    """Return the body of one audit-trail entry."""
    return UplinkFramePublic(id=entry.id, contact_id=entry.contact_id, satellite_id=entry.satellite_id,
                             station_id=entry.station_id, org_id=entry.org_id, token_id=entry.token_id,
                             sent_at=entry.sent_at, on_air_at=entry.on_air_at, sha256=entry.sha256,
                             length=entry.length, payload_hex=entry.payload.hex() if entry.payload is not None
                             else None)
