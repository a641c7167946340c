"""Frames: the station agent uploads what it received; the operator reads, follows and plots it.

- ``POST /agent/contacts/{id}/frames``: a batch of frames received through one contact on
  the caller's antenna (404 invisible, 403 a partner's antenna: ``queries.own_contact``),
  at most ``MAX_FRAMES_PER_BATCH`` (413 beyond).  ``store.ingest_frames`` keeps each frame
  once for the network (same satellite, same payload within ``Settings.frame_window_s``)
  and decodes new ones with the satellite's ``decoder`` (``groundshare.telemetry.decode``;
  a frame that does not decode is kept with the reason).  Sending a batch again changes
  nothing.
- ``GET /satellites/{id}/frames`` and ``GET /contacts/{id}/frames``: pages in id order
  (``after_id`` is the cursor), frames the caller may see (``store.visible_frames``: the
  operator's, a public satellite's, and those its stations received).
- ``GET /satellites/{id}/frames/stream``: Server-Sent Events.  Each new frame is an event
  ``id: <frame id>``, ``event: frame``, ``data: <FramePublic JSON>``; a comment every
  ``KEEPALIVE_S`` keeps proxies from closing an idle stream; ``Last-Event-ID`` (sent by a
  reconnecting ``EventSource``) resumes after that frame.  Without a cursor the stream
  starts at the newest frame.  The stream polls the database (``store.frame_page`` after
  the last id sent, in a worker thread, in a short read of its own, so it holds no
  connection between polls) every ``POLL_S``, which finds frames uploaded through any
  server process, and an upload through this process wakes it at once (``FrameStreams``).
  An organisation holds at most ``Settings.max_frame_streams_per_org`` streams in one
  process (429 beyond).  A stream ends when the caller's token is revoked or expires.
- ``GET /satellites/{id}/telemetry?field=``: one decoded field as a time series.

A satellite the caller cannot see is a 404, unless the caller's own stations received
frames of it (a partner's private satellite heard through the caller's antenna).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from groundshare.api.deps import CurrentOrg, CurrentToken, SessionDep, WriterToken
from groundshare.api.errors import ErrorBody, error_body
from groundshare.api.params import PathId
from groundshare.api.queries import data_contacts, get_visible, own_contact, visible_satellites
from groundshare.api.schemas import (
    MAX_ID,
    FramePublic,
    FramesAccepted,
    FramesUpload,
    TelemetryPoint,
    TelemetryPublic,
    UtcTime,
    frame_public,
)
from groundshare.api.settings import Settings
from groundshare.api.wakeups import FrameStreams
from groundshare.errors import InvalidInputError, NotFoundError
from groundshare.store import (
    ApiToken,
    Contact,
    Frame,
    FrameView,
    IncomingFrame,
    Organisation,
    Satellite,
    frame_page,
    ingest_frames,
    newest_frame_id,
    session_scope,
    telemetry_series,
    visible_frames,
)
from groundshare.store.frames import MAX_FRAME_WINDOW_S
from groundshare.telemetry import DecodedFrame, decode
from groundshare.timeutil import format_utc, utc_now

logger = logging.getLogger(__name__)

router = APIRouter(tags=["frames"])

#: Largest page of frames one read returns (and the default).
MAX_FRAME_PAGE = 1000
DEFAULT_FRAME_PAGE = 100
#: Most points one telemetry read returns (and the default).
MAX_TELEMETRY_POINTS = 10_000
DEFAULT_TELEMETRY_POINTS = 1000
#: A stream looks for new frames this often (seconds), and at once when this process stores some.
POLL_S = 0.25
#: A stream sends a comment when it has sent nothing for this long (seconds), so idle connections stay open.
KEEPALIVE_S = 15.0
#: Frames one poll of a stream reads; a full page is followed by another poll at once.
STREAM_PAGE = 200
#: What a stream asks an ``EventSource`` to wait before reconnecting, milliseconds.
RECONNECT_MS = 1000

FrameLimit = Annotated[int, Query(ge=1, le=MAX_FRAME_PAGE, description=f"Frames to return, at most {MAX_FRAME_PAGE}.")]
AfterId = Annotated[int | None, Query(ge=0, le=MAX_ID, description=(
    "Only frames with a larger id (the cursor: the last id of the previous page)."))]
FramesStart = Annotated[UtcTime | None, Query(description="Frames first received at or after this time (ISO 8601, Z).")]
FramesEnd = Annotated[UtcTime | None, Query(description="Frames first received before this time (ISO 8601, Z).")]

STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
          "description": "Server-Sent Events: 'id: <frame id>', 'event: frame', 'data: <FramePublic JSON>'."},
    429: {"model": ErrorBody, "description": "The caller's organisation holds as many frame streams as the server "
                                             "allows: close one, or retry after Retry-After seconds."},
}


def check_frame_window(window_s: float) -> float:
    """Return ``Settings.frame_window_s`` if the store accepts it (0 to ``MAX_FRAME_WINDOW_S``); refuse it at start-up.

    Checked when the application is made, so that a misconfigured server does not answer
    every upload with an error about a setting the agent cannot change.
    """
    if isinstance(window_s, bool) or not isinstance(window_s, int | float) or not 0 <= window_s <= MAX_FRAME_WINDOW_S:
        raise InvalidInputError(f"frame_window_s must be from 0 to {MAX_FRAME_WINDOW_S:g} seconds, got {window_s!r}",
                                loc=("frame_window_s",))
    return float(window_s)


def frame_decoder(name: str | None) -> Callable[[bytes], DecodedFrame] | None:
    """Return the decoding of a satellite's frames by its ``decoder`` (None: it names none, frames stay raw).

    ``telemetry.decode`` never raises: a frame it cannot decode, or a server without the
    decoders extra, gives an error that is kept with the raw frame.
    """
    return partial(decode, name) if name else None


@router.post("/agent/contacts/{contact_id}/frames", name="upload_frames", responses={
    413: {"model": ErrorBody, "description": "More frames than one batch holds (or a body over the size limit)."}})
def upload_frames(contact_id: PathId, body: FramesUpload, request: Request, session: SessionDep, org: CurrentOrg,
                  _token: WriterToken, background: BackgroundTasks) -> FramesAccepted:
    """Store frames the station received through one of its contacts; sending the same batch again changes nothing.

    Frames are kept once for the network: the same payload of the same satellite from
    another station within the frame window (5 s by default) is the same frame, received
    again.  Frames stamped outside the contact's window (+-60 s) are kept and flagged.
    """
    contact = own_contact(session, org, contact_id, "upload frames received through it")
    settings: Settings = request.app.state.settings
    frames = [IncomingFrame(received_at=frame.received_at, payload=bytes.fromhex(frame.payload_hex))
              for frame in body.frames]
    result = ingest_frames(session, contact, frames, window_s=settings.frame_window_s,
                           decode=frame_decoder(contact.satellite.decoder))
    if result.new:  # after the unit of work commits (background tasks run once the answer is sent)
        background.add_task(request.app.state.frame_streams.notify, contact.satellite_id)
    return FramesAccepted(accepted=result.accepted, new=result.new, duplicates=result.duplicates,
                          outside_window=result.outside_window)


@router.get("/satellites/{satellite_id}/frames", name="list_satellite_frames")
def list_satellite_frames(satellite_id: PathId, session: SessionDep, org: CurrentOrg, start: FramesStart = None,
                          end: FramesEnd = None, after_id: AfterId = None,
                          limit: FrameLimit = DEFAULT_FRAME_PAGE) -> list[FramePublic]:
    """List the satellite's frames the caller may see, in id order (page on with ``after_id``: the last id)."""
    _check_window(start, end)
    readable_satellite(session, org, satellite_id)
    views = frame_page(session, org, satellite_id=satellite_id, start=start, end=end, after_id=after_id,
                       limit=limit)
    return [frame_public(view) for view in views]


@router.get("/contacts/{contact_id}/frames", name="list_contact_frames")
def list_contact_frames(contact_id: PathId, session: SessionDep, org: CurrentOrg, start: FramesStart = None,
                        end: FramesEnd = None, after_id: AfterId = None,
                        limit: FrameLimit = DEFAULT_FRAME_PAGE) -> list[FramePublic]:
    """List the frames received through one contact, in id order (frames other stations heard first included)."""
    _check_window(start, end)
    get_visible(session, data_contacts(session, org), Contact, contact_id, "contact")
    views = frame_page(session, org, contact_id=contact_id, start=start, end=end, after_id=after_id, limit=limit)
    return [frame_public(view) for view in views]


@router.get("/satellites/{satellite_id}/telemetry", name="read_telemetry")
def read_telemetry(
    satellite_id: PathId, session: SessionDep, org: CurrentOrg,
    field: Annotated[str, Query(min_length=1, max_length=500, description=(
        "A decoded field's name, as in a frame's 'decoded' (dotted for nested values)."))],
    start: FramesStart = None, end: FramesEnd = None,
    limit: Annotated[int, Query(ge=1, le=MAX_TELEMETRY_POINTS, description=(
        f"Points to return, at most {MAX_TELEMETRY_POINTS}."))] = DEFAULT_TELEMETRY_POINTS,
) -> TelemetryPublic:
    """Return one decoded field of the satellite's frames over time (frames without it are left out)."""
    _check_window(start, end)
    readable_satellite(session, org, satellite_id)
    series = telemetry_series(session, org, satellite_id, field, start=start, end=end, limit=limit)
    return TelemetryPublic(field=field, points=[TelemetryPoint(t=t, value=value) for t, value in series])


@router.get("/satellites/{satellite_id}/frames/stream", name="stream_frames", response_class=StreamingResponse,
            responses=STREAM_RESPONSES)
def stream_frames(
    satellite_id: PathId, request: Request, session: SessionDep, org: CurrentOrg, token: CurrentToken,
    after_id: AfterId = None,
    last_event_id: Annotated[str | None, Header(max_length=40, description=(
        "The last frame id received (a reconnecting EventSource sends it): resume after it."))] = None,
) -> StreamingResponse:
    """Follow the satellite's new frames as Server-Sent Events (``event: frame``, ``id``: the frame id)."""
    readable_satellite(session, org, satellite_id)
    resume = _last_event_id(last_event_id)
    if resume is None:
        resume = after_id if after_id is not None else newest_frame_id(session)
    return FrameStream(request.app.state.frame_streams, request.app.state.session_factory, org_id=org.id,
                       token_id=token.id, satellite_id=satellite_id, after_id=resume)


def readable_satellite(session: Session, org: Organisation, satellite_id: int) -> None:
    """Pass if ``org`` sees the satellite, or its stations received frames of it; ``NotFoundError`` otherwise."""
    if session.scalar(visible_satellites(session, org).where(Satellite.id == satellite_id)
                      .with_only_columns(Satellite.id)) is not None:
        return
    heard = session.scalar(visible_frames(session, org).where(Frame.satellite_id == satellite_id)
                           .with_only_columns(Frame.id).limit(1))
    if heard is None:
        raise NotFoundError(f"satellite {satellite_id} does not exist or is not shared with your organisation")


def _check_window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise InvalidInputError(f"end ({format_utc(end)}) must be after start ({format_utc(start)})",
                                loc=("query", "end"))


def _last_event_id(header: str | None) -> int | None:
    """Return the frame id of a ``Last-Event-ID`` header; None when absent, 422 naming it when not an id."""
    if header is None or not header.strip():
        return None
    text = header.strip()
    if not text.isdigit() or int(text) > MAX_ID:
        raise InvalidInputError(f"Last-Event-ID must be a frame id (the 'id' of an event), got {text[:40]!r}",
                                loc=("header", "Last-Event-ID"))
    return int(text)


def frame_event(frame: FramePublic) -> bytes:
    """Return one Server-Sent Event of ``frame``: its id, ``event: frame`` and its JSON on one data line."""
    return f"id: {frame.id}\nevent: frame\ndata: {frame.model_dump_json()}\n\n".encode()


class FrameStream(StreamingResponse):
    """The event stream of one satellite's frames for one caller (see the module docstring).

    The organisation's stream count is taken when the answer starts and given back when it
    ends, however it ends (a client gone, a server shutting down), so no count leaks.
    """

    def __init__(self, streams: FrameStreams, factory: sessionmaker[Session], *, org_id: int, token_id: int,
                 satellite_id: int, after_id: int) -> None:
        self.streams = streams
        self.factory = factory
        self.org_id = org_id
        self.token_id = token_id
        self.satellite_id = satellite_id
        self.after_id = after_id
        super().__init__(self._events(), media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.streams.acquire(self.org_id):
            body = error_body([], f"your organisation has {self.streams.max_per_org} frame streams open on this "
                                  "server, the most it may hold (max_frame_streams_per_org)\n\nClose one, or "
                              "follow several satellites from one client", "too_many_streams")
            await JSONResponse(body, status_code=429, headers={"Retry-After": str(round(KEEPALIVE_S))})(
                scope, receive, send)
            await self.body_iterator.aclose()  # type: ignore[attr-defined]
            return
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.streams.release(self.org_id)

    def _poll(self, after_id: int) -> list[FrameView] | None:
        """Return the frames after ``after_id`` the caller may see now; None when its token is no longer live."""
        with session_scope(self.factory, write=False) as session:
            token = session.get(ApiToken, self.token_id)
            now = utc_now()
            if token is None or token.revoked_at is not None or (token.expires_at is not None
                                                                 and token.expires_at <= now):
                return None
            org = session.get(Organisation, self.org_id)
            if org is None:
                return None
            return frame_page(session, org, satellite_id=self.satellite_id, after_id=after_id, limit=STREAM_PAGE)

    async def _events(self) -> AsyncIterator[bytes]:
        wake = self.streams.subscribe(self.satellite_id)
        last_id = self.after_id
        try:
            yield f"retry: {RECONNECT_MS}\n: frames of satellite {self.satellite_id} after {last_id}\n\n".encode()
            quiet_since = time.monotonic()
            while not self.streams.stopping.is_set():
                wake.clear()  # before the poll: an upload committed during it wakes the next wait at once
                try:
                    views = await run_in_threadpool(self._poll, last_id)
                except Exception as exc:  # the database went away: end the stream; the client resumes from its id
                    logger.warning("frame stream of satellite %s ended: %s: %s", self.satellite_id,
                                   type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
                    return
                if views is None:
                    return
                if views:
                    yield b"".join(frame_event(frame_public(view)) for view in views)
                    last_id = views[-1].id
                    quiet_since = time.monotonic()
                    if len(views) == STREAM_PAGE:
                        continue
                elif time.monotonic() - quiet_since >= KEEPALIVE_S:
                    yield b": keep-alive\n\n"
                    quiet_since = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=POLL_S)
        finally:
            self.streams.unsubscribe(self.satellite_id, wake)
