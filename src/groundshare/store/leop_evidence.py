"""A LEOP campaign's evidence from the store: which launch object is ours, and its orbit fitted and stored.

- ``campaign_receptions``: every reception (``frame_reception`` of a frame of the
  campaign's satellite) since the earliest admissible deployment (``deploy_time -
  deploy_uncertainty_s``), as ``leop.identify.Receptions`` with the receiving stations'
  ``Site``\\ s.  A station is named as it is stored; two stations of one name (different
  organisations) are told apart as ``name#id``.  At most ``MAX_RECEPTIONS`` are used
  (evenly thinned beyond: a pass of frames every few seconds says little more than one
  every minute).
- ``identify_campaign``: ``leop.identify.identify`` on those receptions (no receptions yet:
  the ranking says so) and the Doppler given; the result, with the candidates it ranked
  (as OMM, so that ``fit`` can start from one of them later), is kept in
  ``campaign.identification``.
- ``fit_campaign``: ``leop.fit.fit_elements`` of the chosen candidate to the same
  evidence; with ``store``, the fitted set becomes the satellite's element set of source
  kind ``fit`` (label ``fit``, default priority 90: above the published sets), its
  residuals in the source's ``last_status`` and an ``elements.fitted`` event.  The fit is
  in force until a published set agrees with it (``store.elements``, ``AGREE_KM``).
- ``fetch_launch_candidates``: every object of a launch (``YYYY-NNN``) from CelesTrak GP
  by ``INTDES``, through the sync's client (``sources.fetch_celestrak``) and its rules:
  the request is kept as a ``SourceFetch`` row, the same query is not asked again within
  2 hours (the campaign's kept candidates of that launch are used meanwhile), a stopped
  site is not asked.

Fit of another object's number: the fitted set is stored only when the chosen object's
NORAD id is the satellite's.  Renumbering it silently would store a set the catalogue
never publishes under that number, so no published set could ever agree with it and end
it; the operator sets the satellite's NORAD id to the object's first (``PATCH
/satellites/{id}``, which moves its catalogue queries too), then fits.  Nothing here
commits: the caller's unit of work does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from groundshare.errors import ConflictError, InvalidInputError
from groundshare.leop.fit import FitResult, fit_elements
from groundshare.leop.identify import DopplerSeries, Receptions, check_same_launch, identify, launch_members
from groundshare.orbits import ElementSet, omm_json_record, parse_elements
from groundshare.passes import Site
from groundshare.sources import FetchOutcome, HttpGet, celestrak_query, fetch_celestrak, urllib_get
from groundshare.sources.celestrak import CELESTRAK_URL
from groundshare.store.clock import network_now
from groundshare.store.elements import local_source, store_element_sets
from groundshare.store.events import record_event
from groundshare.store.fetches import SITE_QUERY, held_queries, hold_site, record_fetch, stored_query
from groundshare.store.models import (
    ElementSetRecord,
    Frame,
    LeopCampaign,
    Reception,
    Satellite,
    SourceKind,
    Station,
)
from groundshare.timeutil import format_utc, utc_now

#: Most receptions one identification or fit uses (evenly thinned beyond; the count used is reported).
MAX_RECEPTIONS = 20_000
#: Most objects one launch may have (the largest rideshares release ~150).
MAX_LAUNCH_OBJECTS = 500
#: Seconds the CelesTrak request of a launch may take (a route waits for it).
FETCH_TIMEOUT_S = 30.0


def _utc64(at: datetime) -> np.datetime64:
    return np.datetime64(at.astimezone(UTC).replace(tzinfo=None), "us")


def station_names(stations: Sequence[Station]) -> dict[int, str]:
    """Return each station's name for the evidence: its own, or ``name#id`` where two share it."""
    counts: dict[str, int] = {}
    for station in stations:
        counts[station.name] = counts.get(station.name, 0) + 1
    return {s.id: s.name if counts[s.name] == 1 else f"{s.name}#{s.id}" for s in stations}


def station_sites(stations: Sequence[Station]) -> list[Site]:
    """Return the stations' ``Site``\\ s, named as ``station_names`` names them."""
    names = station_names(stations)
    sites = []
    for station in stations:
        site = station.to_site()
        sites.append(site if site.name == names[station.id] else Site(
            names[station.id], lat_deg=station.lat_deg, lon_deg=station.lon_deg, alt_m=station.alt_m,
            min_elevation_deg=station.min_elevation_deg, horizon_mask=station.horizon_mask))
    return sites


def campaign_receptions(session: Session, campaign: LeopCampaign, *,
                        max_receptions: int = MAX_RECEPTIONS) -> tuple[Receptions, list[Site]]:
    """Return the receptions of the campaign's satellite since the earliest deployment, and the stations' sites."""
    since = campaign.deploy_time - timedelta(seconds=campaign.deploy_uncertainty_s)
    rows = session.execute(
        select(Reception.received_at, Reception.station_id).join(Frame, Frame.id == Reception.frame_id)
        .where(Frame.satellite_id == campaign.satellite_id, Reception.received_at >= since)
        .order_by(Reception.received_at, Reception.id)).all()
    if len(rows) > max_receptions:
        keep = np.unique(np.linspace(0, len(rows) - 1, max_receptions).round().astype(int))
        rows = [rows[i] for i in keep]
    station_ids = sorted({station_id for _, station_id in rows})
    stations = list(session.scalars(select(Station).where(Station.id.in_(station_ids)).order_by(Station.id))) \
        if station_ids else []
    names = station_names(stations)
    receptions = Receptions(np.array([names[station_id] for _, station_id in rows], dtype=str),
                            np.array([_utc64(at) for at, _ in rows], dtype="datetime64[us]"),
                            f"frames of satellite {campaign.satellite_id}")
    return receptions, station_sites(stations)


def _merge_sites(sites: Sequence[Site], extra: Sequence[Site]) -> list[Site]:
    names = {s.name for s in sites}
    return [*sites, *(s for s in extra if s.name not in names)]


def _doppler_stations_known(doppler: DopplerSeries, sites: Sequence[Site]) -> None:
    known = {s.name for s in sites}
    unknown = sorted(set(np.unique(doppler.station).tolist()) - known)
    if unknown:
        raise InvalidInputError(f"doppler: station {', '.join(unknown)} is not one of the stations you may use "
                                f"({', '.join(sorted(known)) or 'none'}); fix the name", loc=("body", "doppler"))


def identify_campaign(session: Session, campaign: LeopCampaign, *, candidates: Sequence[ElementSet],
                      doppler: DopplerSeries | None = None, tolerance_s: float = 5.0,
                      doppler_sites: Sequence[Site] = (), candidates_source: str = "text",
                      fetched_at: datetime | None = None) -> dict[str, Any]:
    """Rank ``candidates`` (one launch) by the campaign's receptions and ``doppler``; keep and return the result.

    The result is ``Identification.to_dict()`` plus ``receptions_used``, ``stations`` (those
    that received) and ``candidates`` (where they came from, and their elements as OMM).
    ``doppler_sites`` are the sites the Doppler's stations may be (the caller's).
    """
    candidates = list(candidates)
    check_same_launch(candidates)
    receptions, sites = campaign_receptions(session, campaign)
    series = doppler if doppler is not None else DopplerSeries.concat([])
    all_sites = _merge_sites(sites, doppler_sites)
    _doppler_stations_known(series, all_sites)
    result = identify(candidates, all_sites, receptions, series, tolerance_s=tolerance_s)
    out = result.to_dict()
    out.update({
        "receptions_used": len(receptions), "stations": [s.name for s in sites],
        "candidates": {"source": candidates_source, "fetched_at": format_utc(fetched_at) if fetched_at else None,
                       "count": len(candidates), "elements": [omm_json_record(e) for e in candidates]},
    })
    campaign.identification = out
    session.flush()
    return out


def campaign_candidates(campaign: LeopCampaign, launch: str | None = None) -> list[ElementSet]:
    """Return the candidates the campaign's last identification ranked (of ``launch`` when given), else []."""
    kept = (campaign.identification or {}).get("candidates") or {}
    records = kept.get("elements") or []
    if not records:
        return []
    sets = list(parse_elements(json.dumps(records), source="the last identification's candidates", fmt="json",
                               on_error="raise"))
    if launch is not None and (campaign.identification or {}).get("launch") != launch:
        return []
    return sets


def fetch_launch_candidates(session: Session, campaign: LeopCampaign, launch: str, *,
                            base_url: str = CELESTRAK_URL, http: HttpGet | None = None,
                            now: datetime | None = None) -> tuple[list[ElementSet], str, datetime]:
    """Return every object of ``launch`` from CelesTrak GP (``INTDES``), the source's name and when it was fetched.

    Within 2 hours of the same query (CelesTrak's rule, ``store.fetches``) the campaign's
    kept candidates of that launch are returned instead; without them, ``ConflictError``
    says when CelesTrak may be asked again.  A failed request is ``ConflictError`` naming
    what CelesTrak answered (and, when it stops the site, the site is held as the sync
    holds it).
    """
    launch = launch.strip().upper()
    query = celestrak_query("celestrak", "intdes", launch)
    name = f"celestrak INTDES={launch}"
    wall = now or utc_now()
    held = held_queries(session, SourceKind.CELESTRAK, now=wall)
    until = held.get(stored_query(query)) or held.get(SITE_QUERY)
    if until is not None:
        kept = campaign_candidates(campaign, launch)
        if kept:
            kept_at = (campaign.identification or {}).get("candidates", {}).get("fetched_at")
            return kept, f"{name} (kept from {kept_at or 'the last identification'})", wall
        raise ConflictError(f"launch: CelesTrak was asked for launch {launch} (or stopped) recently; its usage rules "
                            f"allow the same query again at {format_utc(until)}; give candidates_text meanwhile")
    get = http or (lambda url: urllib_get(url, timeout_s=FETCH_TIMEOUT_S))
    result = fetch_celestrak("celestrak", query, base_url=base_url, http=get)
    record_fetch(session, SourceKind.CELESTRAK, query, fetched_at=wall, outcome=result.outcome,
                 http_status=result.http_status, message=result.message)
    if result.outcome is FetchOutcome.FAILED:
        hold_site(session, SourceKind.CELESTRAK, fetched_at=wall, outcome="stopped", message=result.message,
                  http_status=result.http_status)
    if result.outcome is not FetchOutcome.OK:
        raise ConflictError(f"launch: CelesTrak gave no element sets of launch {launch}: {result.message}; "
                            "give candidates_text instead")
    if len(result.sets) > MAX_LAUNCH_OBJECTS:
        raise InvalidInputError(f"launch: CelesTrak lists {len(result.sets)} objects of {launch}; at most "
                                f"{MAX_LAUNCH_OBJECTS} are ranked: give candidates_text", loc=("body", "launch"))
    return launch_members(result.sets, launch), name, wall


def fit_campaign(session: Session, campaign: LeopCampaign, *, initial: ElementSet,
                 doppler: DopplerSeries | None = None, fit_bstar: bool = False, search_s: float = 600.0,
                 store: bool = True, doppler_sites: Sequence[Site] = (),
                 now: datetime | None = None) -> tuple[FitResult, ElementSetRecord | None]:
    """Fit ``initial``'s along-track elements to the campaign's evidence; with ``store``, keep it as source ``fit``.

    Returns the fit and the stored record (None without ``store``).  A fit of another
    object than the satellite's NORAD id is not stored (``ConflictError``: set the NORAD
    id first; module docstring).
    """
    satellite = session.get(Satellite, campaign.satellite_id)
    assert satellite is not None
    if store and initial.norad_id != satellite.norad_id:
        raise ConflictError(
            f"norad_id: object {initial.norad_id} ({initial.name}, {initial.object_id}) is not satellite "
            f"{satellite.id}'s NORAD id {satellite.norad_id}; set the satellite's NORAD id to {initial.norad_id} "
            f"first (PATCH /satellites/{satellite.id} {{\"norad_id\": {initial.norad_id}}}) so that the catalogue's "
            "sets of that object can later confirm and end the fit, or fit with store false")
    receptions, sites = campaign_receptions(session, campaign)
    series = doppler if doppler is not None else DopplerSeries.concat([])
    all_sites = _merge_sites(sites, doppler_sites)
    _doppler_stations_known(series, all_sites)
    result = fit_elements(initial, all_sites, receptions, series, fit_bstar=fit_bstar, search_s=search_s)
    if not store:
        return result, None
    now = now or network_now(session)
    source = local_source(session, satellite, SourceKind.FIT)
    source.enabled = True
    source.expires_at = None
    fitted = result.elements
    # A refit of the same set has the same epoch: it replaces the earlier fit (kept in the event that recorded it).
    session.execute(delete(ElementSetRecord).where(ElementSetRecord.source_id == source.id,
                                                   ElementSetRecord.epoch == fitted.epoch))
    session.flush()
    report = store_element_sets(session, satellite, [fitted], source=source, fetched_at=now, now=now, label="fit")
    if report.refused:
        raise InvalidInputError(f"the fitted set was refused: {report.refused[0][1]}", loc=("body", "norad_id"))
    record = report.records[0]
    status = (f"fitted at {format_utc(now)} from {initial.name} ({initial.norad_id}) of epoch "
              f"{format_utc(initial.epoch)}: before: {result.before.summary()}; after: {result.after.summary()}; "
              f"moved {result.along_track_shift_s:+.2f} s along track; in force until a published set agrees")
    source.last_status = status[:2000]
    record_event(session, "elements.fitted", satellite=satellite, at=now,
                 message=f"satellite {satellite.id} (NORAD {satellite.norad_id}): element set {record.id} fitted to "
                         f"{result.after.receptions} receptions and {result.after.doppler_samples} Doppler samples "
                         f"({result.after.summary()})",
                 payload={"element_set_id": record.id, "campaign_id": campaign.id, "source_id": source.id,
                          "before": result.before.to_dict(), "after": result.after.to_dict(),
                          "along_track_shift_s": round(result.along_track_shift_s, 3),
                          "converged": result.converged})
    session.flush()
    return result, record
