"""Opportunities: the passes of one satellite over every antenna the caller may book, ready to book."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from groundshare.api.schemas.common import Page


class OpportunityPublic(BaseModel):
    """One pass of the satellite over one antenna the caller may use: its geometry, its link, and whether it is free.

    Book it with ``POST /contacts`` (``antenna_id``, ``satellite_id``, ``start`` = ``aos``,
    ``end`` = ``los``, or a part of the pass).
    """

    antenna_id: int
    antenna_name: str
    station_id: int
    station_name: str
    owner_org_id: int = Field(description="The organisation owning the antenna.")
    policy_id: int | None = Field(description="The sharing policy that lets the caller use the antenna; null on "
                                              "its own antenna.")
    aos: str = Field(description="Acquisition of signal (ISO 8601 UTC, Z).")
    tca: str = Field(description="Time of closest approach (highest elevation).")
    los: str = Field(description="Loss of signal.")
    max_elevation_deg: float
    duration_s: float
    aos_azimuth_deg: float
    los_azimuth_deg: float
    min_margin_db: float | None = Field(description=(
        "Lowest link margin over the pass (dB); null without the satellite's downlink_frequency_hz, "
        "downlink_eirp_dbw, data_rate_bps or the antenna's g_over_t_dbk."))
    max_margin_db: float | None = Field(description="Highest link margin over the pass (dB); null as min_margin_db.")
    data_volume_bytes: int | None = Field(description=(
        "Bytes brought down at the satellite's data_rate_bps wherever the margin is at least 0 dB; null as "
        "min_margin_db."))
    element_set_id: int = Field(description="The element set the pass was predicted with.")
    element_epoch: str = Field(description="Its epoch (ISO 8601 UTC).")
    element_age_s: float = Field(description="Seconds from its epoch to now (the network's clock).")
    element_state: Literal["fresh", "stale", "expired"]
    bookable: bool = Field(description="Whether the pass starts after the network's clock (GET /clock).")
    booked_contact_id: int | None = Field(description=(
        "A live contact of this satellite on this antenna overlapping the pass that the caller may see; null when "
        "none."))


class OpportunitiesPublic(Page[OpportunityPublic]):
    """Opportunities in AOS order; ``warnings`` says what was left out and why."""

    warnings: list[str] = Field(default_factory=list)
