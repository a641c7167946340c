"""The pass geometry of a contact, as the dashboard draws it: computed, not stored.

Every number is a result of the orbit, pass and link engines
(``link.contact_geometry.sample_contact``); times are ISO 8601 UTC with ``Z``, units
travel in the names, and values are rounded to what the dashboard shows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from pydantic import BaseModel, Field

from groundshare.link.contact_geometry import ContactSamples
from groundshare.store import Contact, ContactStatus
from groundshare.timeutil import format_utc


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


def geometry_samples(samples: ContactSamples) -> GeometrySamples:
    """Return the samples of a contact as the dashboard reads them (rounded; times ISO 8601 UTC)."""
    return GeometrySamples(
        t=[format_utc(samples.start + timedelta(seconds=float(s))) for s in samples.offset_s],
        az_deg=_rounded(samples.az_deg, 4), el_deg=_rounded(samples.el_deg, 4),
        range_km=_rounded(samples.range_km, 4), range_rate_km_s=_rounded(samples.range_rate_km_s, 6),
        downlink_hz=None if samples.downlink_hz is None else _rounded(samples.downlink_hz, 1),
        margin_db=None if samples.margin_db is None else _rounded(samples.margin_db, 3),
        data_rate_bps=None if samples.data_rate_bps is None else samples.data_rate_bps.tolist())


def contact_geometry_public(contact: Contact, samples: ContactSamples, *, station_id: int, station_name: str,
                            antenna_name: str, element_set: ContactElementSet, link_note: str) -> ContactGeometry:
    """Return the geometry of ``contact`` (station and antenna named as it was planned with)."""
    satellite = contact.satellite
    return ContactGeometry(
        contact_id=contact.id, satellite_id=satellite.id, norad_id=satellite.norad_id, satellite_name=satellite.name,
        station_id=station_id, station_name=station_name, antenna_id=contact.antenna_id, antenna_name=antenna_name,
        start=contact.start_time, end=contact.end_time, status=contact.status,
        bytes_received=contact.bytes_received, started_at=contact.started_at, finished_at=contact.finished_at,
        element_set=element_set,
        max_elevation_deg=None if samples.max_el_deg is None else round(samples.max_el_deg, 4),
        samples=geometry_samples(samples), link_note=link_note)


def _rounded(values: np.ndarray, decimals: int) -> list[float]:
    return np.round(np.asarray(values, dtype=float), decimals).tolist()
