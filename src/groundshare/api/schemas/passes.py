"""Predicted passes, one row per pass of a satellite over a station."""

from __future__ import annotations

from pydantic import BaseModel, Field

from groundshare.api.schemas.common import Page
from groundshare.passes import PassTable


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


def passes_public(table: PassTable) -> PassesPublic:
    """Return the passes of ``table`` in its order, with its warnings."""
    data = [PassPublic.model_validate(record) for record in table.to_records()]
    return PassesPublic(data=data, count=len(data), warnings=list(table.warnings))
