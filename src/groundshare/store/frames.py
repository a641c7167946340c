"""Frames kept once for the whole network, with every station that received them.

Method.  A *frame* is one payload of one satellite; a *reception* is one station having
received it, through one contact, at a time stamped by the station's own clock.  A
payload received by a station is the same frame as a stored one when the satellite is
the same, the payload is byte for byte the same (compared by SHA-256) and its reception
time is within ``window_s`` (``FRAME_WINDOW_S``, 5 s, by default) of the stored frame's
first reception: stations' clocks and the pass geometry differ by well under a second,
while a satellite repeating an identical beacon does so at its beacon period (tens of
seconds for the CubeSats of interest), so 5 s merges the first and keeps the second
apart.  Of several stored frames in the window, the one received closest in time wins.
A frame's ``received_at`` is the earliest reception known.

``ingest_frames`` makes a batch of one contact's frames and receptions in one savepoint:
the batch is validated whole before anything is written, so a batch with one bad frame
stores nothing.  Two stations uploading the same frame at the same moment must give one
frame: the windowed match cannot be a unique key, so each batch first locks its
satellite's row (``SELECT ... FOR NO KEY UPDATE`` on PostgreSQL, which does not block
foreign-key checks of contacts being booked; on SQLite the unit of work's ``BEGIN
IMMEDIATE`` already serialises writers), so batches of one satellite run one after the
other and the second sees the first's frames.  Batches of different satellites do not
wait for each other.  A station sending a frame again changes nothing (one reception per
frame and contact, also a unique key).  Decoding, when asked for, runs for new frames
only; a decoder that fails keeps the raw frame with ``decode_error``.

Reading: ``visible_frames`` is who may see what (the satellite's operator all its frames,
every organisation those of public satellites, a station's owner what its stations
received); ``frame_page`` pages through them by id (the cursor ``after_id``, which the
live stream follows too) and ``telemetry_series`` returns one decoded field over time.
Nothing here commits: the caller's unit of work does.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from groundshare.errors import InvalidInputError
from groundshare.store.models import (
    Antenna,
    Contact,
    Frame,
    Organisation,
    Reception,
    Satellite,
    SharingPolicy,
    Station,
)
from groundshare.timeutil import format_utc, require_utc

#: Largest frame payload (bytes): AX.25 frames hold at most 330, CCSDS TM transfer frames 2048.
MAX_FRAME_BYTES = 4096
#: Most frames one batch may hold (the API answers 413 beyond).
MAX_FRAMES_PER_BATCH = 1000
#: Reception times of one payload this close (seconds) to a frame's first reception are that frame.
FRAME_WINDOW_S = 5.0
#: Largest window accepted (seconds): wider would merge a satellite's repeated beacons.
MAX_FRAME_WINDOW_S = 600.0
#: Receptions stamped this long (seconds) before a contact's start or after its end are flagged.
OUTSIDE_WINDOW_MARGIN_S = 60.0
#: Most frames one page may hold, and the default.
MAX_PAGE_LIMIT = 1000
DEFAULT_PAGE_LIMIT = 100
#: Most points one telemetry series may hold, and the default; longest field name.
MAX_SERIES_LIMIT = 10_000
DEFAULT_SERIES_LIMIT = 1000
MAX_FIELD_LENGTH = 500
#: Longest decoder error message kept (characters).
MAX_DECODE_ERROR_LENGTH = 2000


class DecodedFrame(Protocol):
    """What a decoder returns (``groundshare.telemetry.DecodedFrame``); typed here so the store needs no decoder."""

    @property
    def fields(self) -> dict[str, Any]: ...
    @property
    def decoder(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def error(self) -> str | None: ...


@dataclass(frozen=True)
class IncomingFrame:
    """One frame as a station sends it: when its clock says it was received, and the payload."""

    received_at: datetime
    payload: bytes


@dataclass(frozen=True)
class IngestResult:
    """What a batch did: frames accepted, of which new to the network, duplicates, and flagged."""

    accepted: int
    new: int
    duplicates: int  # accepted - new: already held (from this station or another)
    outside_window: int  # accepted frames stamped outside the contact's time (kept, flagged)
    new_frame_ids: tuple[int, ...]


@dataclass(frozen=True)
class FrameView:
    """One frame as an organisation sees it (``frame_page``)."""

    id: int
    satellite_id: int
    norad_id: int
    received_at: datetime
    payload: bytes
    sha256: str
    stations: tuple[str, ...]  # names of the stations that received it that the reader may see, sorted
    decoded: dict[str, Any] | None
    decoder: str | None
    decode_error: str | None
    outside_window: bool  # any reception stamped outside its contact's time


def ingest_frames(session: Session, contact: Contact, frames: Sequence[IncomingFrame], *,
                  window_s: float = FRAME_WINDOW_S,
                  decode: Callable[[bytes], DecodedFrame] | None = None) -> IngestResult:
    """Store ``frames`` received through ``contact``: new frames, and a reception for each.

    The whole batch is checked first (``InvalidInputError`` naming ``frames[i].payload_hex``
    for an empty, over-long or non-bytes payload, ``frames[i].received_at`` for a naive
    time, ``frames`` for more than ``MAX_FRAMES_PER_BATCH``, ``window_s`` when it is not
    from 0 to ``MAX_FRAME_WINDOW_S``); then everything is written in one savepoint.
    """
    checked = _checked(frames)
    if isinstance(window_s, bool) or not isinstance(window_s, int | float) or not 0 <= window_s <= MAX_FRAME_WINDOW_S:
        raise InvalidInputError(f"window_s must be from 0 to {MAX_FRAME_WINDOW_S:g} seconds, got {window_s!r}",
                                loc=("window_s",))
    if not checked:
        return IngestResult(0, 0, 0, 0, ())
    window = timedelta(seconds=window_s)
    margin = timedelta(seconds=OUTSIDE_WINDOW_MARGIN_S)
    with session.begin_nested():
        # The satellite's lock orders concurrent batches of it (module docstring); FOR NO KEY UPDATE lets
        # contacts referring to it be booked meanwhile.
        satellite_id = session.scalars(select(Satellite.id).where(Satellite.id == contact.satellite_id)
                                       .with_for_update(key_share=True)).one()
        station_id = session.scalars(select(Antenna.station_id).where(Antenna.id == contact.antenna_id)).one()
        times = [at for at, _, _ in checked]
        candidates: dict[str, list[Frame]] = defaultdict(list)
        for frame in session.scalars(
                select(Frame).where(Frame.satellite_id == satellite_id,
                                    Frame.sha256.in_({digest for _, _, digest in checked}),
                                    Frame.received_at >= min(times) - window, Frame.received_at <= max(times) + window)
                .execution_options(populate_existing=True)):
            candidates[frame.sha256].append(frame)
        already = set(session.scalars(
            select(Reception.frame_id).where(Reception.contact_id == contact.id,
                                             Reception.frame_id.in_([f.id for fs in candidates.values() for f in fs]))))
        new_frames: list[Frame] = []
        receptions: list[tuple[Frame, datetime, bool]] = []
        received: set[int] = set()  # ids (of Python objects) of frames this batch gives a reception through contact
        outside = 0
        for at, payload, digest in checked:
            flagged = not contact.start_time - margin <= at <= contact.end_time + margin
            outside += flagged
            frame = _closest(candidates[digest], at, window)
            if frame is None:
                frame = Frame(satellite_id=satellite_id, payload=payload, sha256=digest, size_bytes=len(payload),
                              received_at=at)
                candidates[digest].append(frame)
                new_frames.append(frame)
            elif at < frame.received_at:
                frame.received_at = at  # an earlier reception of it: the first reception moves
            if id(frame) in received or (frame.id is not None and frame.id in already):
                continue  # this contact already gave it: nothing changes
            received.add(id(frame))
            receptions.append((frame, at, flagged))
        if decode is not None:
            for frame in new_frames:
                _decode_into(frame, decode)
        session.add_all(new_frames)
        session.flush()
        session.add_all([Reception(frame_id=frame.id, station_id=station_id, contact_id=contact.id, received_at=at,
                                   outside_window=flagged) for frame, at, flagged in receptions])
        session.flush()
    return IngestResult(accepted=len(checked), new=len(new_frames), duplicates=len(checked) - len(new_frames),
                        outside_window=outside, new_frame_ids=tuple(frame.id for frame in new_frames))


def visible_frames(session: Session, org: Organisation) -> Select[tuple[Frame]]:
    """Return the query of frames ``org`` may see.

    Those of satellites it operates, of public satellites, and those received by one of
    its stations.
    """
    satellites = select(Satellite.id).where(or_(Satellite.org_id == org.id, Satellite.is_public.is_(True)))
    heard = (select(Reception.frame_id).join(Station, Station.id == Reception.station_id)
             .where(Station.org_id == org.id))
    return select(Frame).where(or_(Frame.satellite_id.in_(satellites), Frame.id.in_(heard)))


def frame_page(session: Session, org: Organisation, *, satellite_id: int | None = None,
               contact_id: int | None = None, start: datetime | None = None, end: datetime | None = None,
               after_id: int | None = None, limit: int = DEFAULT_PAGE_LIMIT) -> list[FrameView]:
    """Return up to ``limit`` frames ``org`` may see, by id ascending, after ``after_id`` (the cursor).

    ``satellite_id``: that satellite's; ``contact_id``: those with a reception through that
    contact; ``start``/``end``: first received in ``[start, end)``.  The caller checks that
    the satellite or contact is visible (an invisible one simply gives no frames here).
    ``InvalidInputError`` names ``limit`` (1 to ``MAX_PAGE_LIMIT``), ``start``/``end``
    (naive, or reversed) or ``after_id``.
    """
    _check_limit(limit, MAX_PAGE_LIMIT)
    start, end = _check_span(start, end)
    if after_id is not None and (isinstance(after_id, bool) or not isinstance(after_id, int) or after_id < 0):
        raise InvalidInputError(f"after_id must be a frame id (0 or more), got {after_id!r}", loc=("after_id",))
    query = visible_frames(session, org)
    if satellite_id is not None:
        query = query.where(Frame.satellite_id == satellite_id)
    if contact_id is not None:
        query = query.where(Frame.id.in_(select(Reception.frame_id).where(Reception.contact_id == contact_id)))
    if start is not None:
        query = query.where(Frame.received_at >= start)
    if end is not None:
        query = query.where(Frame.received_at < end)
    if after_id is not None:
        query = query.where(Frame.id > after_id)
    frames = list(session.scalars(query.order_by(Frame.id).limit(limit)))
    if not frames:
        return []
    ids = [frame.id for frame in frames]
    norad = dict(session.execute(select(Satellite.id, Satellite.norad_id)
                                 .where(Satellite.id.in_({frame.satellite_id for frame in frames}))).all())
    shown = _visible_station_ids(org)
    stations: dict[int, set[str]] = defaultdict(set)
    flagged: set[int] = set()
    for frame_id, name, may_see, outside in session.execute(
            select(Reception.frame_id, Station.name, Station.id.in_(shown), Reception.outside_window)
            .join(Station, Station.id == Reception.station_id).where(Reception.frame_id.in_(ids))):
        if may_see:
            stations[frame_id].add(name)
        if outside:
            flagged.add(frame_id)
    return [FrameView(id=f.id, satellite_id=f.satellite_id, norad_id=norad[f.satellite_id], received_at=f.received_at,
                      payload=f.payload, sha256=f.sha256, stations=tuple(sorted(stations[f.id])), decoded=f.decoded,
                      decoder=f.decoder, decode_error=f.decode_error, outside_window=f.id in flagged)
            for f in frames]


def telemetry_series(session: Session, org: Organisation, satellite_id: int, field: str, *,
                     start: datetime | None = None, end: datetime | None = None,
                     limit: int = DEFAULT_SERIES_LIMIT) -> list[tuple[datetime, Any]]:
    """Return ``(received_at, decoded[field])`` of the satellite's frames ``org`` may see, in time order.

    Frames first received in ``[start, end)`` whose decoded fields hold ``field`` (JSON
    null included); others are skipped.  At most ``limit`` points (1 to ``MAX_SERIES_LIMIT``),
    the earliest.  ``InvalidInputError`` names ``field``, ``limit``, ``start`` or ``end``.
    """
    if not isinstance(field, str) or not 0 < len(field) <= MAX_FIELD_LENGTH:
        raise InvalidInputError(f"field must be a decoded field name of 1 to {MAX_FIELD_LENGTH} characters, got "
                                f"{field!r}", loc=("field",))
    _check_limit(limit, MAX_SERIES_LIMIT)
    start, end = _check_span(start, end)
    query = visible_frames(session, org).where(Frame.satellite_id == satellite_id, Frame.decoded.is_not(None))
    if start is not None:
        query = query.where(Frame.received_at >= start)
    if end is not None:
        query = query.where(Frame.received_at < end)
    # The field is picked in Python: JSON path syntax differs between SQLite and PostgreSQL and decoder
    # field names hold dots.  Frames are read in slices, so a sparse field does not load the whole span.
    points: list[tuple[datetime, Any]] = []
    ordered = query.with_only_columns(Frame.received_at, Frame.decoded).order_by(Frame.received_at, Frame.id)
    for received_at, decoded in session.execute(ordered.execution_options(yield_per=500)):
        if isinstance(decoded, dict) and field in decoded:
            points.append((received_at, decoded[field]))
            if len(points) == limit:
                break
    return points


def newest_frame_id(session: Session) -> int:
    """Return the largest frame id stored (0 when none): where a live stream starts."""
    return session.scalar(select(func.max(Frame.id))) or 0


def _checked(frames: Sequence[IncomingFrame]) -> list[tuple[datetime, bytes, str]]:
    """Return ``(received_at in UTC, payload, SHA-256 hex)`` of each frame, or raise naming the first bad one."""
    if len(frames) > MAX_FRAMES_PER_BATCH:
        raise InvalidInputError(f"a batch holds at most {MAX_FRAMES_PER_BATCH} frames, got {len(frames)}\n\n"
                                "Send them in several batches", loc=("frames",))
    checked = []
    for index, frame in enumerate(frames):
        payload = frame.payload
        if not isinstance(payload, bytes | bytearray | memoryview):
            raise InvalidInputError(f"frames[{index}].payload must be bytes, got {type(payload).__name__}",
                                    loc=("frames", str(index), "payload_hex"))
        payload = bytes(payload)
        if not 0 < len(payload) <= MAX_FRAME_BYTES:
            raise InvalidInputError(f"frames[{index}].payload_hex must hold 1 to {MAX_FRAME_BYTES} bytes, got "
                                    f"{len(payload)}", loc=("frames", str(index), "payload_hex"))
        try:
            at = require_utc(frame.received_at, f"frames[{index}].received_at")
        except InvalidInputError as exc:
            raise InvalidInputError(str(exc), loc=("frames", str(index), "received_at")) from None
        checked.append((at, payload, hashlib.sha256(payload).hexdigest()))
    return checked


def _closest(frames: list[Frame], at: datetime, window: timedelta) -> Frame | None:
    """Return the frame whose first reception is closest to ``at`` and within ``window``, if any."""
    best, best_gap = None, None
    for frame in frames:
        gap = abs(frame.received_at - at)
        if gap <= window and (best_gap is None or gap < best_gap):
            best, best_gap = frame, gap
    return best


def _decode_into(frame: Frame, decode: Callable[[bytes], DecodedFrame]) -> None:
    """Set the frame's decoded fields, or its ``decode_error``: a failing decoder never loses the frame."""
    try:
        result = decode(frame.payload)
    except Exception as exc:  # a decoder is third-party code: its failure is data, never a lost frame
        frame.decode_error = f"the decoder failed: {type(exc).__name__}: {exc}"[:MAX_DECODE_ERROR_LENGTH]
        return
    frame.decoder = result.decoder
    frame.decoder_version = result.version
    frame.decoded = dict(result.fields) if result.fields else None
    frame.decode_error = result.error[:MAX_DECODE_ERROR_LENGTH] if result.error else None


def _visible_station_ids(org: Organisation) -> Select[Any]:
    """Ids of the stations ``org`` may see: its own, and those with an antenna shared with it (as ``api.queries``)."""
    shared = select(Antenna.station_id).where(
        Antenna.id.in_(select(SharingPolicy.antenna_id).where(SharingPolicy.grantee_org_id == org.id)))
    return select(Station.id).where(or_(Station.org_id == org.id, Station.id.in_(shared)))


def _check_limit(limit: int, largest: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= largest:
        raise InvalidInputError(f"limit must be from 1 to {largest}, got {limit!r}", loc=("limit",))


def _check_span(start: datetime | None, end: datetime | None) -> tuple[datetime | None, datetime | None]:
    start = require_utc(start, "start") if start is not None else None
    end = require_utc(end, "end") if end is not None else None
    if start is not None and end is not None and end <= start:
        raise InvalidInputError(f"end ({format_utc(end)}) must be after start ({format_utc(start)})", loc=("end",))
    return start, end
