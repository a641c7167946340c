"""Contacts: an antenna booked for a satellite, and what the station's agent reports of it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from groundshare.api.schemas.common import Page, RowId, UtcTime
from groundshare.store import Contact, ContactStatus
from groundshare.store.outcomes import (
    MAX_EXECUTION_AGENT_ID_LENGTH,
    MAX_EXECUTION_COUNT,
    MAX_FAILURE_LENGTH,
    MAX_FAILURES,
)


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


class ExecutionSearch(BaseModel):
    """How a launch-and-early-orbit contact's search went (its search pattern: ``contact.search``)."""

    model_config = ConfigDict(extra="forbid")

    heard_at: UtcTime | None = Field(default=None, description="When the first frame was heard (null: nothing).")
    shift_s: Annotated[float, Field(ge=-1e6, le=1e6, allow_inf_nan=False)] = Field(
        description="The timing shift tracked: the satellite is the contact's element set this many seconds late.")
    searched_s: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)] = Field(
        description="Seconds the antenna waited and swept before tracking.")
    signal: bool = Field(description="Whether a frame was heard during the search (false: the middle shift was "
                                     "tracked).")


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
    client_version: Annotated[str, Field(max_length=100)] | None = Field(
        default=None, description="A SatNOGS station's satnogs-client version (its observation's report).")
    client_metadata: dict[str, Any] | None = Field(
        default=None, description="A SatNOGS station's client_metadata: its flowgraph's parameters and position.")
    search: ExecutionSearch | None = Field(
        default=None, description="A launch-and-early-orbit contact's search: when the first frame was heard and "
                                  "the timing shift tracked (absent for a routine contact).")

    @model_serializer(mode="wrap")
    def _search_only_when_searched(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave ``search`` out of a routine contact's execution, which reads as it did before LEOP contacts."""
        data = handler(self)
        if isinstance(data, dict) and data.get("search") is None:
            data.pop("search", None)
        return data


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
    frames_received: int | None = Field(default=None, description="Frames the station's agent reported receiving.")
    started_at: datetime | None = None
    finished_at: datetime | None = None
    execution: ContactExecution | None = None
    uplink: bool = Field(default=False, description="Whether the contact transmits to the satellite (false: "
                                                    "receive-only).")


class ContactsPublic(Page[ContactPublic]):
    pass


def contact_public(contact: Contact) -> ContactPublic:
    """Return the public view of a contact (its antenna's station id comes through the antenna)."""
    return ContactPublic(id=contact.id, antenna_id=contact.antenna_id, station_id=contact.antenna.station_id,
                         satellite_id=contact.satellite_id, org_id=contact.org_id, start=contact.start_time,
                         end=contact.end_time, busy_until=contact.busy_until, status=contact.status,
                         idempotency_key=contact.idempotency_key, notes=contact.notes,
                         bytes_received=contact.bytes_received, frames_received=contact.frames_received,
                         started_at=contact.started_at,
                         finished_at=contact.finished_at, uplink=contact.uplink,
                         execution=ContactExecution.model_validate(contact.execution)
                         if contact.execution is not None else None)
