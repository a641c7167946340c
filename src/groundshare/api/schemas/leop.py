"""LEOP campaigns: planning a deployment's first windows, the campaign, and booking its windows.

Bodies are bounded: the deployment text at most 2 MB, ``hours`` in (0, 240],
``stations_per_orbit`` 1 to 20, ``time_limit_s`` 1 to 60; the deployment itself (a TLE
line, an OPM in an unsupported frame) is checked by ``store.leop.parse_deployment``, and
its errors name ``deployment_text``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from groundshare.api.schemas.common import Name, Page, RowId, UtcTime
from groundshare.api.schemas.satellites import MAX_NORAD_ID
from groundshare.store.leop import MAX_DEPLOYMENT_CHARS
from groundshare.store.models import LeopCampaign, LeopStatus
from groundshare.timeutil import format_utc

_STATE_KIND = re.compile(r"^\s*CCSDS_(OPM|OEM)_VERS\b", re.M)

DeploymentText = Annotated[str, Field(min_length=1, max_length=MAX_DEPLOYMENT_CHARS, description=(
    "The deployment: a TLE/3LE, an OMM (JSON, XML or KVN) or a CCSDS OPM/OEM (KVN, EME2000/GCRF/ICRF), at most "
    "2 MB."))]
DeployUncertaintyS = Annotated[float, Field(ge=0.0, le=10_000_000.0, allow_inf_nan=False, description=(
    "The deployment time's uncertainty, seconds either side (an uncertainty over half an orbit is capped there, "
    "with a note)."))]
SeparationDvMS = Annotated[float, Field(ge=0.0, le=1000.0, allow_inf_nan=False, description=(
    "The separation velocity's uncertainty, m/s: the timing error grows by about 3 dv/v of a period per "
    "revolution."))]
LeopHours = Annotated[float, Field(gt=0.0, le=240.0, allow_inf_nan=False, description=(
    "Hours after the deployment to plan, at most 240."))]
StepS = Annotated[float, Field(ge=1.0, le=3600.0, allow_inf_nan=False, description=(
    "Spacing of the shifted copies over the uncertainty, seconds (default 30)."))]
StationsPerOrbit = Annotated[int, Field(ge=1, le=20, description=(
    "Stations wanted per orbit (k): the booking covers every orbit it can first, then k where possible."))]


class LeopPlanCreate(BaseModel):
    """``POST /leop/plan``: the deployment and the span to plan over the stations the caller may use."""

    model_config = ConfigDict(extra="forbid")

    satellite_id: RowId | None = Field(None, description=(
        "The satellite being deployed, one of the caller's (checked; the plan needs only the deployment)."))
    deployment_text: DeploymentText
    norad_id: int | None = Field(None, ge=1, le=MAX_NORAD_ID, description=(
        "Which element set of the text is the deployment's, where it holds several."))
    deploy_time: UtcTime | None = Field(None, description=(
        "The nominal deployment time; default: the element set's or state vector's epoch."))
    deploy_uncertainty_s: DeployUncertaintyS = 0.0
    separation_dv_m_s: SeparationDvMS = 0.0
    hours: LeopHours = 48.0
    step_s: StepS | None = None
    station_ids: list[RowId] | None = Field(None, max_length=1000, description=(
        "Only these stations (among those the caller may use); default: all of them."))


class LeopCampaignCreate(BaseModel):
    """``POST /leop/campaigns``: a campaign of one of the caller's satellites."""

    model_config = ConfigDict(extra="forbid")

    satellite_id: RowId = Field(description="The caller's satellite being deployed.")
    name: Name
    deployment_text: DeploymentText
    norad_id: int | None = Field(None, ge=1, le=MAX_NORAD_ID, description=(
        "Which element set of the text is the deployment's, where it holds several."))
    deploy_time: UtcTime | None = None
    deploy_uncertainty_s: DeployUncertaintyS = 0.0
    separation_dv_m_s: SeparationDvMS = 0.0
    hours: LeopHours = 48.0
    stations_per_orbit: StationsPerOrbit = 2
    step_s: StepS | None = None


class LeopBookCreate(BaseModel):
    """``POST /leop/campaigns/{id}/book``: book the campaign's windows (or only plan them, ``dry_run``)."""

    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(False, description="Plan only; book and bump nothing.")
    time_limit_s: float = Field(10.0, ge=1.0, le=60.0, allow_inf_nan=False, description="CP-SAT's time, seconds.")


class LeopCampaignPublic(BaseModel):
    """A LEOP campaign: its deployment, its parameters, its last booking and identification, its contacts."""

    id: int
    org_id: int
    satellite_id: int
    satellite_name: str
    name: str
    deploy_time: str = Field(description="ISO 8601 UTC, Z.")
    deploy_uncertainty_s: float
    separation_dv_m_s: float
    hours: float
    stations_per_orbit: int
    step_s: float
    deployment_kind: Literal["elements", "opm", "oem"]
    status: LeopStatus
    created_at: str
    booked_at: str | None
    last_booking: dict[str, Any] | None
    identification: dict[str, Any] | None
    contact_ids: list[int]


class LeopCampaignsPublic(Page[LeopCampaignPublic]):
    pass


class LeopBooked(BaseModel):
    contact_id: int | None = Field(description="The contact booked; null on a dry run or when it was refused.")
    antenna_id: int
    station: str
    start: str
    end: str


class LeopRevolution(BaseModel):
    """One orbit (from one ascending node to the next) and the contacts booked in it."""

    rev: int
    start: str
    windows: int
    booked: list[LeopBooked]


class LeopBumped(BaseModel):
    """A routine contact cancelled to make room (its request, if scheduled, is open again)."""

    contact_id: int
    antenna_id: int
    start: str
    end: str
    org_id: int


class LeopRefused(BaseModel):
    window: int
    reason: str


class LeopBookingPublic(BaseModel):
    """The booking: orbits covered and at k, the contacts per revolution, what was bumped or refused, the solver's
    objective and bound."""

    campaign_id: int
    dry_run: bool
    orbits: int
    orbits_covered: int
    orbits_at_k: int
    stations_per_orbit: int
    revolutions: list[LeopRevolution]
    booked_contact_ids: list[int]
    bumped: list[LeopBumped] = Field(description="The bumped contacts the caller may see (its own bookings, or on "
                                                 "its own antennas).")
    bumped_count: int = Field(description="Every contact bumped, seen or not.")
    refused: list[LeopRefused]
    objective: float | None
    bound: float | None
    solver_status: str
    priority: int | None = None
    wall_s: float | None = None


def deployment_kind(campaign: LeopCampaign) -> Literal["elements", "opm", "oem"]:
    """Return what the campaign's deployment is: element sets, or an OPM or OEM state vector."""
    if campaign.deployment_format != "kvn":
        return "elements"
    match = _STATE_KIND.search(campaign.deployment_text)
    return "oem" if match and match.group(1) == "OEM" else "opm"


def _iso(t: datetime | None) -> str | None:
    return None if t is None else format_utc(t)


def leop_campaign_public(campaign: LeopCampaign, satellite_name: str, contact_ids: list[int]) -> LeopCampaignPublic:
    """Return the public view of a campaign (its satellite's name and its contacts' ids given)."""
    return LeopCampaignPublic(
        id=campaign.id, org_id=campaign.org_id, satellite_id=campaign.satellite_id, satellite_name=satellite_name,
        name=campaign.name, deploy_time=format_utc(campaign.deploy_time),
        deploy_uncertainty_s=campaign.deploy_uncertainty_s, separation_dv_m_s=campaign.separation_dv_m_s,
        hours=campaign.hours, stations_per_orbit=campaign.stations_per_orbit, step_s=campaign.step_s,
        deployment_kind=deployment_kind(campaign), status=campaign.status, created_at=format_utc(campaign.created_at),
        booked_at=_iso(campaign.booked_at), last_booking=campaign.last_booking,
        identification=campaign.identification, contact_ids=contact_ids)


def leop_booking_visible(summary: dict[str, Any], org_id: int, own_antenna_ids: set[int]) -> dict[str, Any]:
    """Return a booking summary whose ``bumped`` lists only the contacts ``org_id`` may see.

    Those are its own bookings and those on its own antennas (``api.queries``' rule);
    ``bumped_count`` still counts every contact bumped.
    """
    bumped = [b for b in summary.get("bumped", []) if b.get("org_id") == org_id
              or b.get("antenna_id") in own_antenna_ids]
    return {**summary, "bumped": bumped, "bumped_count": summary.get("bumped_count", len(bumped))}
