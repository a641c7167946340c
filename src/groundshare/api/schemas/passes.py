"""Predicted passes, one row per pass of a satellite over a station."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
    element_set_id: int | None = Field(default=None, description="The element set the pass was predicted with.")
    element_epoch: str | None = Field(default=None, description="Its epoch (ISO 8601 UTC).")
    element_age_s: float | None = Field(default=None, description="Seconds from its epoch to now (the network's "
                                                                  "clock).")
    element_state: str | None = Field(default=None, description=(
        "fresh, stale (past the warning age, 3 days by default) or expired (past the error age, 14 days)."))


class PassesPublic(Page[PassPublic]):
    """Passes in AOS order; ``warnings`` says which satellites SGP4 could not propagate, and from when."""

    warnings: list[str] = Field(default_factory=list)


def passes_public(table: PassTable, element_fields: Sequence[dict[str, Any]] | None = None) -> PassesPublic:
    """Return the passes of ``table`` in its order, with its warnings.

    ``element_fields[i]`` (optional) holds the ``element_*`` fields of the table's satellite ``i``.
    """
    records = table.to_records()
    if element_fields is not None:
        sat_index = table.columns["sat_index"]
        records = [{**record, **element_fields[int(i)]} for record, i in zip(records, sat_index, strict=True)]
    data = [PassPublic.model_validate(record) for record in records]
    return PassesPublic(data=data, count=len(data), warnings=list(table.warnings))
