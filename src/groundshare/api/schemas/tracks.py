"""Ground tracks, as the dashboard's map draws them: computed, not stored.

Every number is a result of ``orbits.tracks.ground_tracks``; positions are rounded to
what a map shows (1e-5 degree is about a metre).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from pydantic import BaseModel, Field

from groundshare.orbits import ElementSet
from groundshare.orbits.propagate import error_message
from groundshare.orbits.tracks import GroundTracks
from groundshare.store import Satellite
from groundshare.units import DAY_S


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


def satellite_label(satellite: Satellite) -> str:
    """Return how warnings name a satellite."""
    return f"satellite {satellite.id} ({satellite.name}, NORAD {satellite.norad_id})"


def tracks_public(satellites: Sequence[tuple[Satellite, ElementSet]], tracks: GroundTracks,
                  warnings: Sequence[str] = ()) -> TracksPublic:
    """Return the tracks of ``satellites`` (``tracks`` computed from their element sets, in that order).

    A satellite SGP4 cannot propagate to ``at`` is left out, and a track's points where
    it fails are dropped; both are named in ``warnings``, after the ones given.
    """
    at = tracks.at
    warnings = list(warnings)
    lat_deg = np.round(tracks.lat_deg, 5)
    lon_deg = np.round(tracks.lon_deg, 5)
    lon_deg[lon_deg >= 180.0] -= 360.0  # rounding may reach +180
    alt_km = np.round(tracks.alt_km, 4)
    points = np.column_stack([tracks.offset_s, lat_deg, lon_deg])
    ok, err = tracks.ok, tracks.error
    data = []
    for i, (satellite, elements) in enumerate(satellites):
        rows = tracks.of_satellite(i)
        here = int(tracks.here[i])
        if not ok[here]:
            warnings.append(f"{satellite_label(satellite)} is left out: SGP4 cannot propagate its element set of "
                            f"{elements.epoch.date().isoformat()} to {at.isoformat()} ({error_message(err[here])})")
            continue
        good = ok[rows]
        if not good.all():
            first = int(np.flatnonzero(~good)[0])
            warnings.append(f"{satellite_label(satellite)}: {int((~good).sum())} of {good.size} track points are "
                            f"left out, where SGP4 fails ({error_message(err[rows][first])})")
        data.append(SatelliteTrack(
            satellite_id=satellite.id, norad_id=satellite.norad_id, name=satellite.name, org_id=satellite.org_id,
            is_public=satellite.is_public, element_epoch=elements.epoch,
            element_age_days=round((at - elements.epoch).total_seconds() / DAY_S, 6),
            period_s=round(float(tracks.period_s[i]), 3),
            position=SubPoint(lat_deg=float(lat_deg[here]), lon_deg=float(lon_deg[here]), alt_km=float(alt_km[here])),
            track=points[rows][good].tolist()))
    return TracksPublic(at=at, step_s=tracks.step_s, data=data, warnings=warnings)
