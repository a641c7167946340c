"""A LEOP campaign's evidence: which launch object is ours (identify) and its orbit fitted to what we heard (fit).

- ``POST /leop/campaigns/{id}/identify``: ranks the launch's objects by the receptions of
  the campaign's satellite in the frames store (and the Doppler files given); the
  candidates come from ``candidates_text`` (TLE/3LE or OMM) or from CelesTrak by the
  launch's international designator (``launch``: ``YYYY-NNN``).  The result is kept in
  the campaign (``identification``).  Operator and admin tokens (it stores).
- ``POST /leop/campaigns/{id}/fit``: fits the mean anomaly and mean motion (optionally
  B*) of one candidate (``norad_id``, from ``candidates_text`` or the candidates of the
  last identification) to the same evidence; with ``store`` (the default; operator and
  admin tokens) the fitted set becomes the satellite's ``fit`` element set, in force until
  a published set agrees (``store.leop_evidence``, ``store.elements``).

The campaign must be the caller's (404 otherwise).  Bodies are bounded (candidates 2 MB,
Doppler 5 MB in at most 20 files) and every bad input is a 422 naming its field: a TLE
line, a Doppler row, a station unknown to the caller, a ``norad_id`` not among the
candidates.  Doppler stations are the caller's own and shared stations, and those that
received the satellite's frames.  The CelesTrak base URL is ``app.state.celestrak_url``
when set (a mirror, the tests' local server), else celestrak.org.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from groundshare.api.deps import CurrentOrg, CurrentToken, SessionDep, WriterToken, writer_token
from groundshare.api.params import PathId
from groundshare.api.queries import visible_stations
from groundshare.errors import InvalidInputError
from groundshare.leop.identify import TOLERANCE_S, DopplerSeries, parse_doppler
from groundshare.orbits import ElementSet, parse_elements
from groundshare.passes import Site
from groundshare.sources.celestrak import CELESTRAK_URL
from groundshare.store.leop import get_campaign
from groundshare.store.leop_evidence import (
    campaign_candidates,
    campaign_receptions,
    fetch_launch_candidates,
    fit_campaign,
    identify_campaign,
    station_sites,
)
from groundshare.store.models import LeopCampaign, Organisation

router = APIRouter(prefix="/leop", tags=["leop"])

#: Largest candidates text (characters): a launch of 150 objects is ~100 kB of OMM JSON.
MAX_CANDIDATES_CHARS = 2_000_000
#: Most Doppler files per request, and their largest total size (characters).
MAX_DOPPLER_FILES = 20
MAX_DOPPLER_CHARS = 5_000_000


class DopplerFile(BaseModel):
    """One Doppler file: STRF ``MJD frequency_Hz flux site_id`` lines or CSV ``station,received_at,frequency_hz``."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, description="The file's name (named in errors).")
    text: str = Field(max_length=MAX_DOPPLER_CHARS, description="The file's text.")


Candidates = Annotated[str | None, Field(max_length=MAX_CANDIDATES_CHARS, description=(
    "Element sets of the launch's objects: TLE/3LE or OMM (JSON, XML, KVN, CSV), at most 2 MB."))]
Doppler = Annotated[list[DopplerFile], Field(max_length=MAX_DOPPLER_FILES, description=(
    "Doppler files (at most 20, 5 MB in all)."))]
StrfSites = Annotated[dict[str, str], Field(max_length=100, description=(
    "Which station each STRF site number is, e.g. {\"4171\": \"daejeon-1\"}."))]


class IdentifyBody(BaseModel):
    """``POST /leop/campaigns/{id}/identify``: the candidates (a text or a launch) and the Doppler files."""

    model_config = ConfigDict(extra="forbid")
    candidates_text: Candidates = None
    launch: str | None = Field(None, pattern=r"^\d{4}-\d{3}$", description=(
        "Fetch the candidates from CelesTrak: every object of this launch (YYYY-NNN)."))
    doppler: Doppler = Field(default_factory=list)
    strf_sites: StrfSites = Field(default_factory=dict)
    tolerance_s: float = Field(TOLERANCE_S, ge=0.0, le=600.0, allow_inf_nan=False, description=(
        "A candidate explains a reception when it is above the station's mask within this many seconds."))


class FitBody(BaseModel):
    """``POST /leop/campaigns/{id}/fit``: the chosen object, the Doppler files and whether to store the fit."""

    model_config = ConfigDict(extra="forbid")
    norad_id: int = Field(ge=1, le=999_999_999, description="The chosen object (one of the candidates).")
    candidates_text: Candidates = None
    doppler: Doppler = Field(default_factory=list)
    strf_sites: StrfSites = Field(default_factory=dict)
    fit_bstar: bool = False
    search_s: float = Field(600.0, ge=0.0, le=10_000.0, allow_inf_nan=False, description=(
        "Search along track this many seconds either side of the set before fitting."))
    store: bool = Field(True, description="Store the fitted set as the satellite's 'fit' element set.")


def _campaign(session: Session, org: Organisation, campaign_id: int) -> LeopCampaign:
    return get_campaign(session, campaign_id, org.id)


def _candidates(text: str) -> list[ElementSet]:
    try:
        catalog = parse_elements(text, source="candidates_text", on_error="raise")
    except InvalidInputError as exc:
        raise InvalidInputError(f"candidates_text: {exc}", loc=("body", "candidates_text")) from None
    if not len(catalog):
        raise InvalidInputError("candidates_text holds no element set", loc=("body", "candidates_text"))
    return list(catalog.newest())


def _doppler_sites(session: Session, org: Organisation, campaign: LeopCampaign) -> list[Site]:
    """Return the sites a Doppler file may name: those that received the satellite's frames, and the caller's."""
    _, received = campaign_receptions(session, campaign, max_receptions=1)
    names = {s.name for s in received}
    return [*received, *(s for s in station_sites(list(session.scalars(visible_stations(session, org))))
                         if s.name not in names)]


def _doppler(files: list[DopplerFile], strf_sites: dict[str, str], sites: list[Site]) -> DopplerSeries | None:
    total = sum(len(f.text) for f in files)
    if total > MAX_DOPPLER_CHARS:
        raise InvalidInputError(f"doppler: {total} characters in all; at most {MAX_DOPPLER_CHARS} (5 MB): send "
                                "fewer or shorter files", loc=("body", "doppler"))
    names = [s.name for s in sites]
    strf: dict[int, str] = {}
    for key, station in strf_sites.items():
        if not key.strip().isdigit():
            raise InvalidInputError(f"strf_sites: {key!r} is not a STRF site number such as 4171",
                                    loc=("body", "strf_sites", key))
        if station not in names:
            raise InvalidInputError(f"strf_sites: station {station!r} (site {key}) is not one of your stations "
                                    f"({', '.join(names) or 'none'})", loc=("body", "strf_sites", key))
        strf[int(key)] = station
    series = []
    for index, item in enumerate(files):
        try:
            series.append(parse_doppler(item.text, source=item.name, stations=names, strf_sites=strf))
        except InvalidInputError as exc:
            raise InvalidInputError(f"doppler[{index}] ({item.name}): {exc}",
                                    loc=("body", "doppler", str(index), "text")) from None
    return DopplerSeries.concat(series) if series else None


@router.post("/campaigns/{campaign_id}/identify")
def identify_objects(campaign_id: PathId, body: IdentifyBody, request: Request, session: SessionDep,
                     org: CurrentOrg, _token: WriterToken) -> dict[str, Any]:
    """Rank the launch's objects by the satellite's receptions in the frames store and the Doppler given.

    Returns the ranking (best first), the verdict and confidence, ``receptions_used``,
    the ``stations`` that received and the ``candidates`` ranked; kept in the campaign.
    """
    campaign = _campaign(session, org, campaign_id)
    if (body.candidates_text is None) == (body.launch is None):
        raise InvalidInputError("give either candidates_text (the launch's element sets) or launch (YYYY-NNN, "
                                "fetched from CelesTrak), not both or neither", loc=("body", "candidates_text"))
    sites = _doppler_sites(session, org, campaign)
    doppler = _doppler(body.doppler, body.strf_sites, sites)
    fetched_at = None
    if body.candidates_text is not None:
        candidates, source = _candidates(body.candidates_text), "candidates_text"
    else:
        base_url = getattr(request.app.state, "celestrak_url", None) or CELESTRAK_URL
        candidates, source, fetched_at = fetch_launch_candidates(session, campaign, body.launch or "",
                                                                 base_url=base_url)
    try:
        return identify_campaign(session, campaign, candidates=candidates, doppler=doppler,
                                 tolerance_s=body.tolerance_s, doppler_sites=sites, candidates_source=source,
                                 fetched_at=fetched_at)
    except InvalidInputError as exc:
        if exc.loc == ("candidates",):
            raise InvalidInputError(f"{'candidates_text' if body.candidates_text is not None else 'launch'}: {exc}",
                                    loc=("body", "candidates_text" if body.candidates_text is not None
                                         else "launch")) from None
        raise


@router.post("/campaigns/{campaign_id}/fit")
def fit_orbit(campaign_id: PathId, body: FitBody, session: SessionDep, org: CurrentOrg,
              token: CurrentToken) -> dict[str, Any]:
    """Fit the chosen object's along-track elements to the evidence; with ``store``, keep it as the ``fit`` set.

    Returns ``FitResult.to_dict()`` (the fitted elements as OMM, the residuals before and
    after) and ``element_set_id`` (None without ``store``).  Viewer tokens may fit with
    ``store`` false only (403 otherwise).
    """
    if body.store:
        writer_token(token)
    campaign = _campaign(session, org, campaign_id)
    if body.candidates_text is not None:
        candidates = _candidates(body.candidates_text)
    else:
        candidates = campaign_candidates(campaign)
        if not candidates:
            raise InvalidInputError("candidates_text: no candidates; give the launch's element sets, or identify "
                                    "first (its candidates are kept)", loc=("body", "candidates_text"))
    chosen = next((c for c in candidates if c.norad_id == body.norad_id), None)
    if chosen is None:
        raise InvalidInputError(f"norad_id: {body.norad_id} is not among the {len(candidates)} candidates ("
                                + ", ".join(f"{c.norad_id} {c.name}" for c in candidates[:20])
                                + (" ..." if len(candidates) > 20 else "") + ")", loc=("body", "norad_id"))
    sites = _doppler_sites(session, org, campaign)
    doppler = _doppler(body.doppler, body.strf_sites, sites)
    result, record = fit_campaign(session, campaign, initial=chosen, doppler=doppler, fit_bstar=body.fit_bstar,
                                  search_s=body.search_s, store=body.store, doppler_sites=sites)
    return {**result.to_dict(), "element_set_id": record.id if record is not None else None}
