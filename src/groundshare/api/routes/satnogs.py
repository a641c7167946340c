"""The part of the SatNOGS Network API that satnogs-client calls, so SatNOGS stations join unmodified.

A station run by satnogs-client (``Station.runner`` = ``satnogs``) sets, in its client's
settings, ``SATNOGS_NETWORK_API_URL=<server>/satnogs/api/``, ``SATNOGS_API_TOKEN`` (a token
scoped to the station: ``POST /tokens {"role": "operator", "station_id": N}``) and
``SATNOGS_STATION_ID=N``.  The client sends ``Authorization: Token <key>``, which is
accepted only under this prefix, and only a scoped token (``api.deps.check_scope``).
Read from satnogs-client 2.1.4 (``scheduler/tasks.py``, ``observer/observer.py``):

- ``GET /satnogs/api/jobs/?ground_station=N&lat=&lon=&alt=``: a bare JSON list of the
  station's live contacts (scheduled or in progress) that end after the network's now,
  each as ``satnogs.SatnogsJob``.  Every poll returns every future job: the client drops
  what is missing and reschedules what changed.  The poll records ``last_seen_at`` (by
  the network's clock, as everything else here, so a demo network's shifted clock and the
  dashboard agree) and ``satnogs_status`` (jobs served, contacts left out and why; each
  left-out contact's notes say it too).  When lat/lon differ from the stored position by
  more than 100 m, or alt by more than 10 m, the station is moved there (as SatNOGS
  Network does; a ``station.moved`` event says from where); a position out of range is
  not applied and the status says so.  404: no such station, or not the token's; 409: the
  station is run by the agent.
- ``PUT /satnogs/api/observations/{id}/``, multipart, one file per request: ``payload``
  (the recording) and ``waterfall`` become the contact's artifacts under their file names
  (``store.artifacts``); ``demoddata`` is one frame, received at the time in its name,
  stored through ``store.ingest_frames`` as the agent's frames are (kept once for the
  network, decoded by the satellite's decoder); a demoddata file too large to be a frame
  (APT's image) is kept as an artifact.  Or the form fields ``client_version`` and
  ``client_metadata`` (sent when the observation ends): the contact is completed
  (``store.report_outcome``: started and finished at the job's start and end, which the
  client keeps), with the bytes and frames received so far and the client's report in its
  execution, so the ledger counts it as the agent's; files arriving later add to its
  counts.  200 with a small JSON; 404 for a contact that is not the token's station's (or
  was cancelled); 403 "has already been uploaded" for the same file again (the client
  then deletes its copy); 400 for a body that is not such a form.  The body is bounded by
  ``Settings.max_satnogs_upload_bytes`` before it is read (``api.limits``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from functools import partial
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field, TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from groundshare.api.deps import CurrentToken, SessionDep, Writes
from groundshare.api.etag import conditional_json
from groundshare.api.params import PathId
from groundshare.api.schemas import MAX_ID
from groundshare.api.settings import Settings
from groundshare.errors import ConflictError, InvalidInputError, NotFoundError, PolicyError
from groundshare.orbits import ElementSet
from groundshare.satnogs import UPLOAD_FIELDS, JobRefusedError, SatnogsJob, parse_upload_name, satnogs_job
from groundshare.satnogs.jobs import elements_of
from groundshare.store import (
    Antenna,
    ApiToken,
    Contact,
    ContactStatus,
    IncomingFrame,
    Reception,
    SatnogsUpload,
    Station,
    StationRunner,
    append_chunk,
    check_artifact_name,
    ingest_frames,
    network_now,
    orbit_in_force,
    record_event,
    report_outcome,
)
from groundshare.store.artifacts import MAX_CHUNK_BYTES
from groundshare.store.frames import MAX_FRAME_BYTES
from groundshare.store.outcomes import MAX_NOTES_LENGTH
from groundshare.telemetry import decode
from groundshare.timeutil import format_utc

router = APIRouter(prefix="/satnogs/api", tags=["satnogs"])

LIVE = (ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS)
#: A polled position this far from the stored one moves the station (metres; altitude apart).
MOVE_HORIZONTAL_M = 100.0
MOVE_VERTICAL_M = 10.0
#: Longest client_metadata (and any other form field) accepted, bytes.
MAX_FORM_FIELD_BYTES = 256 * 1024
#: Longest client_version kept (characters).
MAX_CLIENT_VERSION_LENGTH = 100
_EARTH_RADIUS_M = 6_371_000.0
_EXPECTED = ("multipart/form-data with one file field (payload, waterfall or demoddata), or the form fields "
             "client_version and client_metadata, as satnogs-client sends them")


class SatnogsJobPublic(BaseModel):
    """One job as satnogs-client's ``get_jobs`` reads it."""

    id: int = Field(description="The contact's id (the client's observation id).")
    start: str = Field(description="ISO 8601 UTC, to the second, with Z.")
    end: str
    ground_station: int
    tle0: str
    tle1: str
    tle2: str
    frequency: int = Field(description="Hz, with the transmitter's drift applied.")
    mode: str
    transmitter: str = Field(description="The satellite's downlink, 'gs-<satellite id>'.")
    baud: float
    norad_cat_id: int
    max_altitude: float = Field(description="The contact's highest elevation, degrees.")


class SatnogsStored(BaseModel):
    """What an observation PUT stored."""

    id: int
    stored: str = Field(description="payload, waterfall, demoddata or client_metadata.")
    name: str | None = None
    status: ContactStatus
    frames_new: int | None = None


def station_token(token: CurrentToken) -> ApiToken:
    """Return the caller's station-scoped token (``current_token`` refused any other under this prefix)."""
    return token


StationToken = Annotated[ApiToken, Depends(station_token)]


async def satnogs_form(request: Request) -> AsyncIterator[FormData]:
    """Yield the request's form (read after the request gate bounded the body); 400 when it is not one."""
    try:
        form = await request.form(max_files=1, max_fields=8, max_part_size=MAX_FORM_FIELD_BYTES)
    except StarletteHTTPException as exc:
        if exc.status_code != 400:
            raise  # 413 from the size bound
        raise HTTPException(400, f"the body could not be read as a form ({exc.detail}); send {_EXPECTED}") from None
    try:
        yield form
    finally:
        await form.close()


SatnogsForm = Annotated[FormData, Depends(satnogs_form)]


_JOBS = TypeAdapter(list[SatnogsJobPublic])


@router.get("/jobs/", name="list_jobs", dependencies=[Writes], response_model=list[SatnogsJobPublic], responses={
    304: {"description": "If-None-Match names the jobs' ETag: the client's list is current (the poll still counts "
                         "as the station's heartbeat)."}})
def list_jobs(request: Request, session: SessionDep, token: StationToken,
              ground_station: Annotated[int, Query(ge=1, le=MAX_ID, description=(
                  "The station's id (SATNOGS_STATION_ID)."))],
              lat: Annotated[float | None, Query(description="The station's latitude, degrees.")] = None,
              lon: Annotated[float | None, Query(description="The station's longitude, degrees.")] = None,
              alt: Annotated[float | None, Query(description="The station's altitude, metres.")] = None,
              ) -> Response:
    """Return every future job of the station (its scheduled contacts starting after now); the poll is its heartbeat.

    The list carries an ``ETag`` (``api.etag``): ``If-None-Match`` naming it gets a bodiless 304,
    after the poll has recorded the heartbeat, the position and the status as any other.
    """
    station = _token_station(session, token, ground_station)
    if station.runner is not StationRunner.SATNOGS:
        raise ConflictError(f"station {station.id} is run by groundshare's agent (runner 'agent'), so its contacts "
                            "are not served as SatNOGS jobs\n\nSet the station's runner to 'satnogs' (PATCH "
                            f"/stations/{station.id} {{\"runner\": \"satnogs\"}}) to let its satnogs-client run them")
    now = network_now(session)
    station.last_seen_at = now
    notes = _follow_position(session, station, lat, lon, alt, now)
    contacts = session.scalars(
        select(Contact).join(Antenna, Contact.antenna_id == Antenna.id)
        # SatNOGS lists what is still to start: the client drops a job once it runs, so a running or
        # finished contact listed again would be run again.
        .where(Antenna.station_id == station.id, Contact.status == ContactStatus.SCHEDULED, Contact.start_time > now)
        .options(joinedload(Contact.satellite))
        .order_by(Contact.start_time, Contact.id)).all()
    jobs: list[SatnogsJob] = []
    for contact in contacts:
        try:
            jobs.append(_job(session, station, contact, now))
        except JobRefusedError as exc:
            notes.append(f"contact {contact.id} left out: {exc}")
            _note(contact, f"SatNOGS: left out of station {station.id}'s jobs: {exc}")
    station.satnogs_status = "; ".join([f"{format_utc(now)}: {len(jobs)} job(s) served", *notes])[:10_000]
    session.flush()
    return conditional_json(request, _JOBS, [SatnogsJobPublic(**job.to_json()) for job in jobs])


@router.put("/observations/{observation_id}/", name="upload_observation", responses={
    400: {"description": "The body is not " + _EXPECTED + "."},
    403: {"description": "This file was already uploaded for the observation ('has already been uploaded')."}})
def upload_observation(form: SatnogsForm, observation_id: PathId, request: Request, session: SessionDep,
                       token: StationToken, background: BackgroundTasks) -> SatnogsStored:
    """Store one file of the observation (payload, waterfall, demoddata), or complete it (client_metadata)."""
    contact = _token_contact(session, token, observation_id)
    files = [(key, value) for key, value in form.multi_items() if isinstance(value, UploadFile)]
    fields = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    if files:
        if len(files) != 1 or files[0][0] not in UPLOAD_FIELDS:
            raise HTTPException(400, f"the form holds the file field(s) {[key for key, _ in files]}; send {_EXPECTED}")
        field, upload = files[0]
        return _store_file(session, request, background, contact, field, upload)
    if "client_version" in fields or "client_metadata" in fields:
        return _complete(session, contact, fields)
    raise HTTPException(400, f"the form holds no known field (got {sorted(fields) or 'none'}); send {_EXPECTED}")


# -- jobs -------------------------------------------------------------------------------------------------------


def _token_station(session: Session, token: ApiToken, station_id: int) -> Station:
    """Return the token's station if ``station_id`` names it; 404 otherwise (never saying whose it is)."""
    station = session.get(Station, station_id) if station_id == token.station_id else None
    if station is None:
        raise NotFoundError(f"ground_station: station {station_id} does not exist or is not the station this token is "
                            f"scoped to; set SATNOGS_STATION_ID to the id the token was made for")
    return station


def _job(session: Session, station: Station, contact: Contact, now: datetime) -> SatnogsJob:
    satellite = contact.satellite
    return satnogs_job(contact_id=contact.id, station_id=station.id, start=contact.start_time, end=contact.end_time,
                       satellite_id=satellite.id, satellite_name=satellite.name, norad_id=satellite.norad_id,
                       element_set=_elements(session, contact, now), site=station.to_site(),
                       downlink_frequency_hz=satellite.downlink_frequency_hz, drift_ppb=satellite.downlink_drift_ppb,
                       mode=satellite.mode, baud=satellite.baud)


def _elements(session: Session, contact: Contact, now: datetime) -> ElementSet | None:
    """Return the element set the contact was booked with (kept fresh by re-planning), else the orbit in force."""
    booked = (contact.snapshot or {}).get("element_set") or None
    try:
        if booked and booked.get("text"):
            return elements_of(booked["text"], booked.get("format"), source=f"contact {contact.id}'s booking")
        in_force = orbit_in_force(session, contact.satellite_id, now=now)
        return in_force.record.to_element_set() if in_force is not None else None
    except InvalidInputError as exc:
        raise JobRefusedError(f"its element set cannot be read: {str(exc).splitlines()[0]}") from None


def _follow_position(session: Session, station: Station, lat: float | None, lon: float | None, alt: float | None,
                     now: datetime) -> list[str]:
    """Move the station to the polled position when it differs enough; return what the status should say."""
    if lat is None or lon is None:
        return []
    alt_m = station.alt_m if alt is None else alt
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and -500 <= alt_m <= 10_000) \
            or not all(math.isfinite(v) for v in (lat, lon, alt_m)):
        return [f"the client's position ({lat}, {lon}, {alt_m} m) is out of range and was not applied; check "
                "SATNOGS_STATION_LAT, SATNOGS_STATION_LON and SATNOGS_STATION_ELEV"]
    moved_m = _distance_m(station.lat_deg, station.lon_deg, lat, lon)
    if moved_m <= MOVE_HORIZONTAL_M and abs(alt_m - station.alt_m) <= MOVE_VERTICAL_M:
        return []
    before = {"lat_deg": station.lat_deg, "lon_deg": station.lon_deg, "alt_m": station.alt_m}
    station.lat_deg, station.lon_deg, station.alt_m = lat, lon, alt_m
    message = (f"station {station.id} ({station.name}) moved {moved_m:.0f} m to ({lat}, {lon}, {alt_m} m) as its "
               "satnogs-client reported")
    record_event(session, "station.moved", station=station, message=message, at=now,
                 payload={"before": before, "after": {"lat_deg": lat, "lon_deg": lon, "alt_m": alt_m}})
    return [message]


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance between two places on a sphere of the Earth's mean radius, metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _note(contact: Contact, line: str) -> None:
    """Add ``line`` to the contact's notes once."""
    if line in (contact.notes or ""):
        return
    notes = f"{contact.notes}\n{line}" if contact.notes else line
    contact.notes = notes[-MAX_NOTES_LENGTH:]


# -- uploads ----------------------------------------------------------------------------------------------------


def _token_contact(session: Session, token: ApiToken, contact_id: int) -> Contact:
    """Return the contact if it is on the token's station and not cancelled; 404 otherwise."""
    contact = session.scalars(
        select(Contact).join(Antenna, Contact.antenna_id == Antenna.id)
        .where(Contact.id == contact_id, Antenna.station_id == token.station_id)
        .options(joinedload(Contact.satellite))).one_or_none()
    if contact is None:
        raise NotFoundError(f"observation {contact_id} is not a contact of station {token.station_id}; its files "
                            "cannot be stored")
    if contact.status is ContactStatus.CANCELLED:
        raise NotFoundError(f"observation {contact_id} was cancelled (its notes say why); its files are not stored")
    return contact


def _store_file(session: Session, request: Request, background: BackgroundTasks, contact: Contact, field: str,
                upload: UploadFile) -> SatnogsStored:
    filename = upload.filename or ""
    try:
        named = parse_upload_name(field, filename)
        if named.observation_id != contact.id:
            raise InvalidInputError(f"the {field} file {filename!r} names observation {named.observation_id}, and the "
                                    f"URL observation {contact.id}; upload it to its own observation",
                                    loc=("body", field))
        check_artifact_name(filename)
    except InvalidInputError as exc:
        raise HTTPException(400, str(exc)) from None
    already = session.scalar(select(SatnogsUpload.id).where(
        SatnogsUpload.contact_id == contact.id, SatnogsUpload.kind == field, SatnogsUpload.filename == filename))
    if already is not None:
        raise PolicyError(f"the {field} file {filename!r} of observation {contact.id} has already been uploaded")
    settings: Settings = request.app.state.settings
    handle = upload.file
    size_bytes = _size(handle)
    if size_bytes == 0:
        raise HTTPException(400, f"the {field} file {filename!r} is empty; satnogs-client uploads only files with data")
    frames_new = None
    if field == "demoddata" and size_bytes <= MAX_FRAME_BYTES and not filename.endswith(".png"):
        assert named.recorded_at is not None  # parse_upload_name requires it for demoddata
        result = ingest_frames(session, contact, [IncomingFrame(received_at=named.recorded_at,
                                                                payload=handle.read())],
                               window_s=settings.frame_window_s, decode=_decoder(contact.satellite.decoder))
        frames_new = result.new
        if result.new:  # after the unit of work commits
            background.add_task(request.app.state.frame_streams.notify, contact.satellite_id)
    else:  # a recording, a waterfall, or a decoded image (APT) too large to be a frame
        _store_artifact(session, request, contact, filename, handle, size_bytes, settings)
    session.add(SatnogsUpload(contact_id=contact.id, kind=field, filename=filename, size_bytes=size_bytes))
    session.flush()
    if contact.status is ContactStatus.COMPLETED:  # the client sends its files after it completed the contact
        contact.bytes_received, contact.frames_received = _received(session, contact)
        session.flush()
    return SatnogsStored(id=contact.id, stored=field, name=filename, status=contact.status, frames_new=frames_new)


def _decoder(name: str | None) -> Callable[[bytes], Any] | None:
    """Return the decoding of the satellite's frames by its ``decoder``, as the agent's uploads get (None: raw)."""
    return partial(decode, name) if name else None


def _store_artifact(session: Session, request: Request, contact: Contact, name: str, handle: BinaryIO,
                    size_bytes: int, settings: Settings) -> None:
    """Store the whole file as the contact's artifact ``name``, in chunks (``store.append_chunk``)."""
    digest = hashlib.sha256()
    handle.seek(0)
    while chunk := handle.read(MAX_CHUNK_BYTES):
        digest.update(chunk)
    sha256 = digest.hexdigest()
    handle.seek(0)
    offset = 0
    while True:
        chunk = handle.read(MAX_CHUNK_BYTES)
        state = append_chunk(session, request.app.state.artifact_storage, request.app.state.artifact_staging_dir,
                             contact, name, sha256, size_bytes, offset, chunk, max_bytes=settings.max_artifact_bytes)
        offset += len(chunk)
        if state.complete or not chunk:
            return


def _size(handle: BinaryIO) -> int:
    handle.seek(0, 2)
    size = handle.tell()
    handle.seek(0)
    return size


def _received(session: Session, contact: Contact) -> tuple[int, int]:
    """Return the bytes the station uploaded for the contact, and the frames received through it."""
    size_bytes = session.scalar(select(func.coalesce(func.sum(SatnogsUpload.size_bytes), 0))
                                .where(SatnogsUpload.contact_id == contact.id))
    frames = session.scalar(select(func.count()).select_from(Reception).where(Reception.contact_id == contact.id))
    return int(size_bytes or 0), int(frames or 0)


def _complete(session: Session, contact: Contact, fields: dict[str, str]) -> SatnogsStored:
    """Record the client's report on the contact and complete it (once; a repeat changes nothing)."""
    version = fields.get("client_version", "")
    if len(version) > MAX_CLIENT_VERSION_LENGTH:
        raise HTTPException(400, f"client_version must be at most {MAX_CLIENT_VERSION_LENGTH} characters, got "
                                 f"{len(version)}")
    try:
        metadata: Any = json.loads(fields.get("client_metadata") or "{}")
    except ValueError as exc:
        raise HTTPException(400, f"client_metadata must be a JSON object, as satnogs-client sends it: {exc}") from None
    if not isinstance(metadata, dict):
        raise HTTPException(400, f"client_metadata must be a JSON object, got {type(metadata).__name__}")
    station = session.get(Station, contact.antenna.station_id)
    if version and station is not None:
        station.satnogs_client_version = version
    execution = {"client_version": version or None, "client_metadata": metadata}
    if contact.status in LIVE:
        size_bytes, frames = _received(session, contact)
        contact = report_outcome(session, contact.id, status=ContactStatus.COMPLETED, bytes_received=size_bytes,
                                 frames_received=frames, started_at=contact.started_at or contact.start_time,
                                 finished_at=max(contact.end_time, contact.started_at or contact.start_time),
                                 execution=execution)
    elif not (contact.execution or {}).get("client_metadata"):
        contact.execution = {**(contact.execution or {}), **{k: v for k, v in execution.items() if v is not None}}
    session.flush()
    return SatnogsStored(id=contact.id, stored="client_metadata", status=contact.status)

