"""Uplink: a station's licences, its transmit inhibit, and a contact's audit trail of uplinked frames.

A frame's payload travels as hex (``payload_hex``), as received frames do; only the
satellite's operator gets it, the station's owner gets its SHA-256 and length.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from groundshare.api.schemas.common import Page, RowId, RowModel, UtcTime
from groundshare.store.models import UplinkFrame
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
    ref: str | None = Field(default=None, description="The operator's name of the frame in its session.")
    not_sent_reason: str | None = Field(default=None, description=(
        "Why it never went on air (null: it did, or is still queued: on_air_at says which)."))


class UplinkAuditPublic(Page[UplinkFramePublic]):
    pass


def uplink_frame_public(entry: AuditEntry) -> UplinkFramePublic:
    """Return the body of one audit-trail entry."""
    return UplinkFramePublic(id=entry.id, contact_id=entry.contact_id, satellite_id=entry.satellite_id,
                             station_id=entry.station_id, org_id=entry.org_id, token_id=entry.token_id,
                             sent_at=entry.sent_at, on_air_at=entry.on_air_at, sha256=entry.sha256,
                             length=entry.length, payload_hex=entry.payload.hex() if entry.payload is not None
                             else None, ref=entry.client_ref, not_sent_reason=entry.not_sent_reason)


# The station agent's relay (``GET /agent/stations/{id}/uplink``, ``POST .../uplink/outcomes``).

#: Most outcomes one report carries.
MAX_OUTCOMES = 100


class AgentUplinkFrame(BaseModel):
    """One frame the station's agent is to transmit now, in its contact."""

    id: int
    contact_id: int
    satellite_id: int
    sent_at: datetime
    sha256: str
    payload_hex: str


class AgentUplink(BaseModel):
    """What the station's agent may transmit now (oldest first) and the station's open inhibit (null: none)."""

    station_id: int
    now: datetime = Field(description="The network's time when this was read.")
    frames: list[AgentUplinkFrame]
    inhibit: InhibitPublic | None


class UplinkOutcome(BaseModel):
    """What became of one frame at the station: on air at ``on_air_at``, or not sent and why."""

    model_config = ConfigDict(extra="forbid")

    frame_id: RowId
    on_air_at: UtcTime | None = Field(default=None, description=(
        "When the agent wrote the frame to its TNC for transmission (the network's time)."))
    not_sent_reason: Annotated[str, Field(min_length=1, max_length=2000)] | None = None

    @model_validator(mode="after")
    def _one(self) -> UplinkOutcome:
        if (self.on_air_at is None) == (self.not_sent_reason is None):
            raise ValueError("give either on_air_at (the frame went on air) or not_sent_reason (it did not)")
        return self


class UplinkOutcomes(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcomes: Annotated[list[UplinkOutcome], Field(min_length=1, max_length=MAX_OUTCOMES)]


class UplinkOutcomesAccepted(BaseModel):
    settled: int = Field(description="Outcomes recorded now (an outcome already on record is not counted again).")



def agent_uplink_frame(frame: UplinkFrame) -> AgentUplinkFrame:
    return AgentUplinkFrame(id=frame.id, contact_id=frame.contact_id, satellite_id=frame.satellite_id,
                            sent_at=frame.sent_at, sha256=frame.sha256, payload_hex=frame.payload.hex())
