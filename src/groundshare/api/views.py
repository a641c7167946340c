"""Response bodies of the dashboard's read-only views: the clock, ground tracks and pass geometry.

Kept apart from ``schemas.py`` (the CRUD bodies) because these are computed, not stored:
every number is a result of the orbit, pass and link engines.  Times are ISO 8601 UTC
with ``Z``; units travel in the names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from groundshare.store import ContactStatus


class ClockPublic(BaseModel):
    """The network's clock: one instant for every partner (``store.clock``)."""

    now: datetime = Field(description="The network's time: what every view, default window, booking rule and "
                                      "station agent uses.")
    wall_clock: datetime
    mode: Literal["live", "shifted"] = Field(description="live: the wall clock; shifted: the wall clock moved by "
                                                         "offset_s (e.g. the demo network runs at its data's "
                                                         "epoch), running at the same pace.")
    offset_s: float = Field(description="now - wall_clock, seconds (0 when live).")
    data_epoch: datetime | None = Field(description="Newest element-set epoch among the satellites the caller "
                                                    "may see; null when none has an element set.")
    message: str


class SubPoint(BaseModel):
    lat_deg: float
    lon_deg: float = Field(description="Degrees east, in [-180, 180).")
    alt_km: float = Field(description="Height above the WGS84 ellipsoid.")


class SatelliteTrack(BaseModel):
    """One satellite's sub-satellite point at ``at`` and its ground track around it."""

    satellite_id: int
    norad_id: int
    name: str
    org_id: int
    is_public: bool
    element_epoch: datetime
    element_age_days: float = Field(description="Days from the element set's epoch to 'at' (negative: before).")
    period_s: float
    position: SubPoint
    track: list[tuple[float, float, float]] = Field(
        description="[offset_s from 'at', lat_deg, lon_deg] every step_s.")


class TracksPublic(BaseModel):
    at: datetime
    step_s: float
    data: list[SatelliteTrack]
    warnings: list[str] = Field(default_factory=list, description="Satellites left out, and why.")


class ContactElementSet(BaseModel):
    """The element set the geometry was computed from."""

    epoch: datetime
    source: str = Field(description="'booking snapshot' or 'newest stored' (and the stored set's origin).")
    format: str
    text: str


class GeometrySamples(BaseModel):
    """Samples from start to end (both included), every step_s; arrays of one length."""

    t: list[str]
    az_deg: list[float]
    el_deg: list[float]
    range_km: list[float]
    range_rate_km_s: list[float]
    downlink_hz: list[float] | None = Field(description="Doppler-shifted received frequency; null without the "
                                                        "satellite's downlink_frequency_hz.")
    margin_db: list[float] | None
    data_rate_bps: list[float] | None = Field(description="The satellite's data rate where the margin is at "
                                                          "least 0 dB, else 0.")


class ContactGeometry(BaseModel):
    contact_id: int
    satellite_id: int
    norad_id: int
    satellite_name: str
    station_id: int
    station_name: str
    antenna_id: int
    antenna_name: str
    start: datetime
    end: datetime
    status: ContactStatus
    bytes_received: int | None
    started_at: datetime | None
    finished_at: datetime | None
    element_set: ContactElementSet | None
    max_elevation_deg: float | None = Field(description="Highest elevation within [start, end]; null when SGP4 "
                                                        "failed at every sample.")
    samples: GeometrySamples
    link_note: str
