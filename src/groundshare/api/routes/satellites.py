"""Satellites and their element sets: register, read, list, update, delete, upload elements, sources.

Writes are the owner's: another organisation gets 403 for a public satellite and 404 for
a private one.  A satellite's ``decoder`` names the satnogs-decoders decoder of its frames
(``groundshare.telemetry.check_decoder_name``: 422 with the closest names for an unknown
one, 503 naming the pip install where the server lacks the decoders extra).  A satellite
with contacts cannot be deleted (409); deleting one deletes its element sets and the
contact requests for it.

Element sets come from the satellite's sources (``store.elements``): its operator's
uploads and the fetched ones (CelesTrak, SupGP, Space-Track; ``groundshare elements
sync``).  A new satellite gets CelesTrak GP by its catalog number.  The orbit in force
(highest-priority live source, newest epoch) is what passes, tracks, booking and
planning use; every satellite response says which set it is and how old
(``elements_in_force``), every pass says which set predicted it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, status
from pydantic import Field
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from groundshare.api.clock import clock_for
from groundshare.api.deps import CurrentOrg, SessionDep, WriterToken
from groundshare.api.opportunities import opportunities
from groundshare.api.params import Limit, Offset, PathId
from groundshare.api.passes import (
    MAX_PASS_SATELLITES,
    PassHours,
    PassMinElevation,
    PassStart,
    newest_elements,
    passes_over,
    station_sites,
)
from groundshare.api.passes import ElementsInForce as OrbitsInForce  # the schema of that name is imported too
from groundshare.api.queries import (
    get_visible,
    page,
    refuse_if_contacts,
    refuse_taken,
    require_owner,
    visible_satellites,
    visible_stations,
)
from groundshare.api.schemas import (
    MAX_ID,
    ElementSetListed,
    ElementSetPublic,
    ElementSetsListed,
    ElementSetsPruned,
    ElementSetsPublic,
    ElementsInForce,
    OpportunitiesPublic,
    PassesPublic,
    SatelliteCreate,
    SatellitePublic,
    SatellitesPublic,
    SatelliteUpdate,
    SourcePublic,
    SourcesPublic,
    SourcesUpdate,
    TracksPublic,
    UtcTime,
    satellite_label,
    tracks_public,
)
from groundshare.api.settings import Settings
from groundshare.errors import ConflictError, InvalidInputError, NotFoundError
from groundshare.orbits import ElementSet, parse_elements
from groundshare.orbits.catalog import ElementFormat, detect_format
from groundshare.orbits.tracks import ground_tracks, track_point_counts
from groundshare.store import (
    Contact,
    ContactRequest,
    ElementSetRecord,
    ElementSource,
    ElementTextFormat,
    InForce,
    Organisation,
    Satellite,
    SourceSpec,
    Station,
    ensure_default_sources,
    network_now,
    orbit_in_force,
    orbits_in_force,
    record_event,
    satellite_sources,
    set_sources,
    store_element_sets,
    upload_source,
)
from groundshare.store.elements import follow_norad_change
from groundshare.telemetry import check_decoder_name
from groundshare.units import DAY_S

router = APIRouter(prefix="/satellites", tags=["satellites"])

# An upload's size is bounded in bytes before it is read (api.limits: Settings.max_element_upload_bytes, 413).
ElementText = Annotated[str, Body(media_type="text/plain", description=(
    "TLE/3LE or CCSDS OMM (JSON, CSV, XML, KVN) text, at most the service's element upload limit (16 MiB by "
    "default; a whole CelesTrak 'active' file is about 2.5 MB); a larger body answers 413."))]

#: Longest stretch of ground track before or after ``at``: two days.
MAX_TRACK_SPAN_S = 2 * DAY_S
#: Most track points one request computes (all satellites together), so a request stays well under a second.
MAX_TRACK_POINTS = 500_000

TrackStep = Annotated[float, Query(ge=10, le=600, allow_inf_nan=False,
                                   description="Seconds between track points, 10 to 600.")]
TrackSpan = Annotated[float | None, Query(ge=0, le=MAX_TRACK_SPAN_S, allow_inf_nan=False, description=(
    "Seconds of track to compute on this side of 'at', 0 to 172800 (default: one orbital period of each "
    "satellite)."))]
TrackSatelliteIds = Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None, Query(
    max_length=MAX_PASS_SATELLITES, description="Only these satellites (repeat the parameter); default: every "
                                                "visible satellite.")]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_satellite(body: SatelliteCreate, request: Request, session: SessionDep,
                     token: WriterToken) -> SatellitePublic:
    """Register a satellite operated by the caller's organisation, with CelesTrak GP by its catalog number as source.

    NORAD numbers are unique per organisation: another organisation may register the same
    number as a satellite of its own, with its own element sets (see the README's
    "Satellites and NORAD numbers").  Numbers above 99999 work through OMM.
    """
    _refuse_norad_id(session, token.org_id, body.norad_id)
    _check_uplink_orgs(session, token.org_id, body.uplink_org_ids)
    fields = body.model_dump()
    if body.decoder is not None:
        fields["decoder"] = check_decoder_name(body.decoder)
    satellite = Satellite(org_id=token.org_id, **fields)
    session.add(satellite)
    session.flush()
    ensure_default_sources(session, satellite)
    return satellites_public(session, [satellite], request.app.state.settings)[0]


@router.get("")
def list_satellites(request: Request, session: SessionDep, org: CurrentOrg, offset: Offset = 0,
                    limit: Limit = 100) -> SatellitesPublic:
    """List the satellites the caller may see: its own and every public one, each with its orbit in force."""
    rows, count = page(session, visible_satellites(session, org), offset=offset, limit=limit,
                       order_by=[Satellite.id])
    return SatellitesPublic(data=satellites_public(session, list(rows), request.app.state.settings), count=count)


def satellites_public(session: Session, satellites: list[Satellite], settings: Settings) -> list[SatellitePublic]:
    """Return each satellite's body with its orbit in force (two queries for all)."""
    in_force = orbits_in_force(session, [s.id for s in satellites], now=network_now(session),
                               warning_s=settings.element_age_warning_s, error_s=settings.element_age_error_s)
    return [SatellitePublic.model_validate(s).model_copy(
        update={"elements_in_force": ElementsInForce.of(in_force.get(s.id))}) for s in satellites]


@router.get("/tracks")
def list_tracks(session: SessionDep, org: CurrentOrg,
                at: Annotated[UtcTime | None, Query(description="The instant of 'position' (ISO 8601, Z); default: "
                                                                "the clock's now (GET /clock).")] = None,
                step_s: TrackStep = 60.0, before_s: TrackSpan = None, after_s: TrackSpan = None,
                satellite_id: TrackSatelliteIds = None) -> TracksPublic:
    """Return where every visible satellite is at ``at`` and its ground track around it (orbit in force).

    Satellites without an element set, or that SGP4 cannot propagate to ``at``, are left
    out and named in ``warnings``.
    """
    if at is None:
        at = clock_for(session, org).now
    query = visible_satellites(session, org).order_by(Satellite.id)
    if satellite_id:
        query = query.where(Satellite.id.in_(satellite_id))
    satellites = list(session.scalars(query))
    if satellite_id:
        missing = sorted(set(satellite_id) - {s.id for s in satellites})
        if missing:
            raise NotFoundError(f"satellite {missing[0]} does not exist or is not shared with your organisation")
    if len(satellites) > MAX_PASS_SATELLITES:
        raise InvalidInputError(
            f"{len(satellites)} satellites are visible to your organisation; one track query covers at most "
            f"{MAX_PASS_SATELLITES}\n\nName the ones to show with satellite_id", loc=("query", "satellite_id"))
    chosen, warnings = _newest_elements_or_warnings(session, satellites)
    period_s = [elements.period_s for _, elements in chosen]
    n_before, n_after = track_point_counts(period_s, step_s=step_s, before_s=before_s, after_s=after_s)
    n_points = int((n_before + n_after + 1).sum())
    if n_points > MAX_TRACK_POINTS:
        raise InvalidInputError(
            f"{n_points:,} track points ({len(chosen)} satellites at step_s={step_s:g}) is more than "
            f"{MAX_TRACK_POINTS:,}; use a longer step_s, shorter before_s and after_s, or fewer satellites",
            loc=("query", "step_s"))
    tracks = ground_tracks([elements for _, elements in chosen], at, step_s=step_s, before_s=before_s,
                           after_s=after_s)
    return tracks_public(chosen, tracks, warnings)


def _newest_elements_or_warnings(session: Session, satellites: list[Satellite],
                                 ) -> tuple[list[tuple[Satellite, ElementSet]], list[str]]:
    """Return each satellite with its element set in force (two queries), and a warning for each left out."""
    warnings: list[str] = []
    chosen: list[tuple[Satellite, ElementSet]] = []
    in_force = orbits_in_force(session, [satellite.id for satellite in satellites], now=network_now(session))
    for satellite in satellites:
        record = in_force[satellite.id].record if satellite.id in in_force else None
        if record is None:
            warnings.append(f"{satellite_label(satellite)} has no element set, so it is left out; its owner uploads "
                            f"them with POST /satellites/{satellite.id}/elements")
            continue
        try:
            chosen.append((satellite, record.to_element_set()))
        except InvalidInputError as exc:
            warnings.append(f"{satellite_label(satellite)} is left out: its element set in force does not parse "
                            f"({exc})")
    return chosen, warnings


@router.get("/{satellite_id}")
def read_satellite(satellite_id: PathId, request: Request, session: SessionDep, org: CurrentOrg) -> SatellitePublic:
    """Return one visible satellite (404 if it does not exist or is private to another organisation)."""
    satellite = get_visible(session, visible_satellites(session, org), Satellite, satellite_id, "satellite")
    return satellites_public(session, [satellite], request.app.state.settings)[0]


@router.patch("/{satellite_id}")
def update_satellite(satellite_id: PathId, body: SatelliteUpdate, request: Request, session: SessionDep,
                     org: CurrentOrg, _token: WriterToken) -> SatellitePublic:
    """Change the fields sent of one of the caller's satellites (booked contacts keep their snapshot)."""
    satellite = get_visible(session, visible_satellites(session, org), Satellite, satellite_id, "satellite")
    require_owner(org, satellite, "satellite", "change it")
    changes = body.changes()
    if "norad_id" in changes:
        _refuse_norad_id(session, org.id, changes["norad_id"], but=satellite.id)
    if changes.get("uplink_org_ids") is None:
        changes.pop("uplink_org_ids", None)  # null: keep the list (send [] to clear it)
    else:
        _check_uplink_orgs(session, org.id, changes["uplink_org_ids"])
    if changes.get("decoder") is not None:
        changes["decoder"] = check_decoder_name(changes["decoder"])
    old_norad_id = satellite.norad_id
    for field, value in changes.items():
        setattr(satellite, field, value)
    if satellite.norad_id != old_norad_id:
        follow_norad_change(session, satellite, old_norad_id)
    session.flush()
    return satellites_public(session, [satellite], request.app.state.settings)[0]


@router.delete("/{satellite_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_satellite(satellite_id: PathId, session: SessionDep, org: CurrentOrg, _token: WriterToken) -> None:
    """Delete one of the caller's satellites, its element sets and the requests for it (409 if it has contacts)."""
    satellite = get_visible(session, visible_satellites(session, org), Satellite, satellite_id, "satellite")
    require_owner(org, satellite, "satellite", "delete it")
    refuse_if_contacts(session, Contact.satellite_id == satellite.id,
                       f"satellite {satellite.id} (NORAD {satellite.norad_id})")
    session.execute(delete(ElementSetRecord).where(ElementSetRecord.satellite_id == satellite.id))
    session.execute(delete(ElementSource).where(ElementSource.satellite_id == satellite.id))
    session.execute(delete(ContactRequest).where(ContactRequest.satellite_id == satellite.id))
    session.execute(delete(Satellite).where(Satellite.id == satellite.id))


@router.post("/{satellite_id}/elements", status_code=status.HTTP_201_CREATED)
def upload_elements(satellite_id: PathId, text: ElementText, request: Request, session: SessionDep,
                    org: CurrentOrg, _token: WriterToken,
                    fmt: Annotated[ElementFormat | None, Query(description="Format; detected when left out.")] = None,
                    ) -> ElementSetsPublic:
    """Store the element sets in the text (all must be of this satellite) as its ``upload`` source; every record
    must parse.

    A set the upload source already holds (same epoch) is not stored again: the stored one
    is returned.  A set whose epoch is more than a day after now is refused (422).  An
    organisation stores at most ``max_element_sets_per_org`` element sets (all its
    satellites together; 409 beyond it): prune old ones with ``DELETE
    /satellites/{satellite_id}/elements?before=...``.
    """
    satellite = get_visible(session, visible_satellites(session, org), Satellite, satellite_id, "satellite")
    require_owner(org, satellite, "satellite", "upload its element sets")
    catalog = parse_elements(text, source="request body", fmt=fmt, on_error="raise")
    texts: list[tuple[str, ElementTextFormat]] = []
    for element_set in catalog:
        if element_set.norad_id != satellite.norad_id:
            raise InvalidInputError(
                f"request body: element set {element_set.source or ''} is for NORAD {element_set.norad_id}, but "
                f"satellite {satellite.id} is NORAD {satellite.norad_id}; upload each satellite's sets to it",
                loc=("body",))
        if element_set.line1 is not None and element_set.line2 is not None:
            lines = [element_set.name] if element_set.name else []
            texts.append(("\n".join([*lines, element_set.line1, element_set.line2]) + "\n", ElementTextFormat.TLE))
        elif len(catalog) == 1:
            texts.append((text, ElementTextFormat(fmt or detect_format(text))))
        else:
            raise InvalidInputError(f"request body holds {len(catalog)} OMM records; upload OMM one record at a time",
                                    loc=("body",))
    _check_element_quota(session, org, len(texts), request.app.state.settings.max_element_sets_per_org)
    now = network_now(session)
    source = upload_source(session, satellite)
    report = store_element_sets(session, satellite, list(catalog), source=source, fetched_at=now, now=now,
                                texts=texts)
    if report.refused:
        index, reason = report.refused[0]
        raise InvalidInputError(f"request body: element set {index + 1}: {reason}", loc=("body",))
    held = [session.get(ElementSetRecord, record_id) for record_id in report.duplicate_ids]
    records = sorted([*report.records, *(r for r in held if r is not None)], key=lambda r: r.id)
    return ElementSetsPublic(data=[_element_set_public(r, ElementSetPublic) for r in records], count=len(records))


def _element_set_public(record: ElementSetRecord, model: type[ElementSetPublic], **extra: object) -> Any:
    source = record.element_source
    return model.model_validate({
        "id": record.id, "satellite_id": record.satellite_id, "epoch": record.epoch, "format": record.format.value,
        "source": record.source, "source_id": record.source_id,
        "source_kind": source.kind.value if source is not None else None, "fetched_at": record.fetched_at,
        **extra})


@router.get("/{satellite_id}/elements")
def list_elements(satellite_id: PathId, session: SessionDep, org: CurrentOrg, offset: Offset = 0,
                  limit: Limit = 100) -> ElementSetsListed:
    """List a visible satellite's stored element sets, newest epoch first, each with its source and whether it is
    the one in force."""
    satellite = get_visible(session, visible_satellites(session, org), Satellite, satellite_id, "satellite")
    in_force = orbit_in_force(session, satellite.id, now=network_now(session))
    in_force_id = in_force.record.id if in_force is not None else None
    query = select(ElementSetRecord).where(ElementSetRecord.satellite_id == satellite.id)
    rows, count = page(session, query, offset=offset, limit=limit,
                       order_by=[ElementSetRecord.epoch.desc(), ElementSetRecord.id.desc()])
    return ElementSetsListed(data=[_element_set_public(r, ElementSetListed, in_force=r.id == in_force_id)
                                   for r in rows], count=count)


@router.get("/{satellite_id}/sources")
def list_sources(satellite_id: PathId, session: SessionDep, org: CurrentOrg) -> SourcesPublic:
    """List a visible satellite's element-set sources, best first (priority, then the older)."""
    satellite = get_visible(session, visible_satellites(session, org), Satellite, satellite_id, "satellite")
    return _sources_public(session, satellite)


@router.put("/{satellite_id}/sources")
def replace_sources(satellite_id: PathId, body: SourcesUpdate, session: SessionDep, org: CurrentOrg,
                    _token: WriterToken) -> SourcesPublic:
    """Replace one of the caller's satellites' sources by the list sent.

    A source already there (same kind and query) keeps its stored sets; one left out is
    removed and its sets are kept without a source (in force only when no source has one).
    Kinds: ``upload`` (no query), ``celestrak`` (catnr, intdes, group), ``supgp`` (catnr,
    intdes, file), ``spacetrack`` (catnr, intdes); a fetched kind without a query asks by
    the satellite's catalog number.
    """
    satellite = get_visible(session, visible_satellites(session, org), Satellite, satellite_id, "satellite")
    require_owner(org, satellite, "satellite", "change its sources")
    before = orbit_in_force(session, satellite.id, now=network_now(session))
    set_sources(session, satellite, [SourceSpec(kind=s.kind, query_kind=s.query_kind, query_value=s.query_value,
                                                priority=s.priority, enabled=s.enabled, expires_at=s.expires_at)
                                     for s in body.sources])
    _record_if_changed(session, satellite, before)
    return _sources_public(session, satellite)


def _record_if_changed(session: Session, satellite: Satellite, before: InForce | None) -> None:
    """Record ``elements.updated`` when a change of sources changed the orbit in force."""
    after = orbit_in_force(session, satellite.id, now=network_now(session))
    if (before.record.id if before else None) == (after.record.id if after else None):
        return
    record_event(session, "elements.updated", satellite=satellite,
                 message=(f"satellite {satellite.id} (NORAD {satellite.norad_id}): its sources changed; orbit in "
                          f"force is now " + (f"element set {after.record.id} from {after.source_kind or 'no source'}"
                                              if after else "none")),
                 payload={"element_set_id": after.record.id if after else None,
                          "source_id": after.source.id if after and after.source else None,
                          "source_kind": after.source_kind if after else None,
                          "previous_element_set_id": before.record.id if before else None})


def _sources_public(session: Session, satellite: Satellite) -> SourcesPublic:
    in_force = orbit_in_force(session, satellite.id, now=network_now(session))
    in_force_source = in_force.source.id if in_force is not None and in_force.source is not None else None
    data = [SourcePublic.model_validate(s).model_copy(update={"in_force": s.id == in_force_source})
            for s in satellite_sources(session, satellite.id)]
    return SourcesPublic(data=data, count=len(data))


@router.delete("/{satellite_id}/elements")
def prune_elements(satellite_id: PathId, session: SessionDep, org: CurrentOrg, _token: WriterToken,
                   before: Annotated[UtcTime, Query(description="Delete the element sets whose epoch is before "
                                                                "this time (ISO 8601, Z).")]) -> ElementSetsPruned:
    """Delete one of the caller's satellites' element sets older than ``before``; the one in force is always kept.

    Booked contacts keep the element set they were planned with (their own copy).
    """
    satellite = get_visible(session, visible_satellites(session, org), Satellite, satellite_id, "satellite")
    require_owner(org, satellite, "satellite", "delete its element sets")
    in_force = orbit_in_force(session, satellite.id, now=network_now(session))
    keep = in_force.record.id if in_force is not None else 0
    result = session.execute(delete(ElementSetRecord).where(
        ElementSetRecord.satellite_id == satellite.id, ElementSetRecord.epoch < before, ElementSetRecord.id != keep))
    return ElementSetsPruned(deleted=int(result.rowcount or 0))


def _check_element_quota(session: Session, org: Organisation, adding: int, limit: int) -> None:
    """Refuse an upload that would take the organisation past its quota of stored element sets."""
    stored = session.scalar(select(func.count()).select_from(ElementSetRecord).join(Satellite)
                            .where(Satellite.org_id == org.id)) or 0
    if stored + adding > limit:
        raise ConflictError(
            f"your organisation stores {stored:,} element sets; {adding:,} more would pass its quota of {limit:,}"
            "\n\nDelete old ones first with DELETE /satellites/{id}/elements?before=<time> (booked contacts keep "
            "their own copy)")


@router.get("/{satellite_id}/passes")
def list_satellite_passes(satellite_id: PathId, start: PassStart, request: Request, session: SessionDep,
                          org: CurrentOrg, hours: PassHours = 24.0,
                          min_elevation_deg: PassMinElevation = None) -> PassesPublic:
    """List the passes of a visible satellite over every station the caller may see (its orbit in force).

    Each pass names the element set that predicted it, its epoch, age and state (fresh, stale, expired).
    """
    _, elements = _with_orbit(session, org, satellite_id, request.app.state.settings)
    stations = list(session.scalars(visible_stations(session, org).order_by(Station.id)))
    return passes_over(elements, station_sites(stations), start=start, hours=hours,
                       min_elevation_deg=min_elevation_deg)


def _with_orbit(session: Session, org: Organisation, satellite_id: int,
                settings: Settings) -> tuple[Satellite, OrbitsInForce]:
    """Return a satellite ``org`` may see and its orbit in force; refuse one without element sets (naming the fix)."""
    satellite = get_visible(session, visible_satellites(session, org), Satellite, satellite_id, "satellite")
    elements = newest_elements(session, [satellite], settings)
    if not elements:
        raise InvalidInputError(f"satellite {satellite.id} (NORAD {satellite.norad_id}) has no element sets, so "
                                "its passes cannot be predicted\n\nIts owner uploads them with POST "
                                f"/satellites/{satellite.id}/elements", loc=("path", "satellite_id"))
    return satellite, elements


#: Longest window one opportunities query may search: three days.
MAX_OPPORTUNITY_HOURS = 72.0
OpportunityHours = Annotated[float, Query(gt=0, le=MAX_OPPORTUNITY_HOURS, allow_inf_nan=False, description=(
    f"Length of the window in hours, at most {MAX_OPPORTUNITY_HOURS:g}."))]


@router.get("/{satellite_id}/opportunities")
def list_opportunities(satellite_id: PathId, start: PassStart, request: Request, session: SessionDep,
                       org: CurrentOrg, hours: OpportunityHours = 24.0, offset: Offset = 0,
                       limit: Limit = 500) -> OpportunitiesPublic:
    """List every pass of a visible satellite over every antenna the caller may book, in AOS order.

    The antennas are the caller's own and partners' shared with it by a sharing policy
    covering the antenna's band (``policy_id`` names it).  Each row has the pass's
    geometry, the link margin and data volume where the satellite's and the antenna's
    radio parameters are known (null otherwise), the element set that predicted it,
    whether it starts after the network's clock (``bookable``) and the caller-visible live
    contact of the satellite on that antenna overlapping it (``booked_contact_id``).  Book
    one with ``POST /contacts``.
    """
    satellite, elements = _with_orbit(session, org, satellite_id, request.app.state.settings)
    found = opportunities(session, org, satellite, elements, start=start, hours=hours, now=network_now(session))
    return found.model_copy(update={"data": found.data[offset:offset + limit]})


def _refuse_norad_id(session: Session, org_id: int, norad_id: int, *, but: int | None = None) -> None:
    """Refuse a NORAD number the organisation already registered (other organisations' are not looked at)."""
    query = select(Satellite.id).where(Satellite.org_id == org_id, Satellite.norad_id == norad_id,
                                       Satellite.id != (but or 0))
    refuse_taken(session, query, lambda taken: f"your organisation already registered NORAD {norad_id} as "
                 f"satellite {taken}; change that one (PATCH /satellites/{taken}) instead of registering it twice")


def _check_uplink_orgs(session: Session, org_id: int, org_ids: list[int]) -> None:
    """Refuse an uplink grant naming the operator itself, an organisation twice, or one that does not exist."""
    if org_id in org_ids:
        raise InvalidInputError("uplink_org_ids lists your own organisation, which operates the satellite anyway; "
                                "list only partners", loc=("body", "uplink_org_ids"))
    if len(set(org_ids)) != len(org_ids):
        raise InvalidInputError("uplink_org_ids lists an organisation more than once", loc=("body", "uplink_org_ids"))
    known = set(session.scalars(select(Organisation.id).where(Organisation.id.in_(org_ids))))
    missing = [i for i in org_ids if i not in known]
    if missing:
        raise InvalidInputError(f"uplink_org_ids: organisation {missing[0]} does not exist (GET /orgs lists them)",
                                loc=("body", "uplink_org_ids"))
