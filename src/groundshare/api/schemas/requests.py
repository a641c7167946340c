"""Contact requests: what an organisation would like the planner to book."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from groundshare.api.schemas.common import MAX_BIGINT, Page, Priority, RowId, RowModel, UpdateModel, UtcTime
from groundshare.store import RequestStatus
from groundshare.units import DAY_S


class RequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    satellite_id: RowId
    window_start: UtcTime
    window_end: UtcTime
    min_duration_s: float = Field(default=0.0, ge=0, le=DAY_S)
    min_elevation_deg: float = Field(default=0.0, ge=-10, le=89)
    min_volume_bytes: int | None = Field(default=None, ge=0, le=MAX_BIGINT)
    priority: Priority = 0


class RequestUpdate(UpdateModel):
    nullable: ClassVar[frozenset[str]] = frozenset({"min_volume_bytes"})

    window_start: UtcTime | None = None
    window_end: UtcTime | None = None
    min_duration_s: float | None = Field(default=None, ge=0, le=DAY_S)
    min_elevation_deg: float | None = Field(default=None, ge=-10, le=89)
    min_volume_bytes: int | None = Field(default=None, ge=0, le=MAX_BIGINT)
    priority: Priority | None = None


class RequestPublic(RowModel):
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


class RequestsPublic(Page[RequestPublic]):
    pass
