"""Commanding a satellite live: the operator's contact session and the station agent's relay.

**The session** (``WS /contacts/{id}/session``).  During an uplink contact the satellite's
operator opens a WebSocket with ``Authorization: Bearer <token>``, a token allowed to
command the satellite (``ApiToken.can_command``; ``store.uplink.check_can_command``).  The
server accepts the connection, then either closes it at once with an ``error`` message and
close code 4000 + the HTTP status it would have answered (4401 token, 4404 a contact the
caller cannot see, 4403 one it may not command, 4429 more sessions than the organisation
may hold in one server process, ``Settings.max_frame_streams_per_org``; 4503 when the
server shuts down), or keeps it open and speaks JSON text
messages:

- server -> operator: ``state`` (``waiting`` before AOS, ``tracking`` from AOS to LOS,
  ``los`` after, or after the contact ended; with the contact's times, the network's now
  and the station's open transmit inhibit), sent on opening and on every change;
  ``downlink`` (a frame received through the contact, as ``GET /contacts/{id}/frames``
  gives it), from ``after_frame_id`` (a query parameter: the last frame the operator
  holds) on; ``accepted`` / ``refused`` answering each uplink frame (refused: with the
  reason, nothing queued); ``on_air`` (when the station's agent wrote the frame to its
  TNC) or ``not_sent`` (why it never was) for each accepted frame; ``error``;
- operator -> server: ``{"type": "uplink", "ref": "<the operator's name of the frame,
  unique in the contact>", "payload_hex": "<the frame>"}``.  A frame is checked at once
  against every rule (``store.uplink.queue_uplink``: the window, the licence, the owner's
  policy, the transmit inhibit) and queued in the audit trail.  A ``ref`` the contact
  already holds is answered with that frame as it stands (``duplicate``: true), so an
  operator that reconnects sends its unanswered frames again without doubling any.

**The relay** (the station's agent, outbound: the API never connects to a station).
``GET /agent/stations/{id}/uplink`` answers with the frames the agent may transmit now,
each checked again (one no longer allowed is settled not sent, so it never goes out
later), and the station's open inhibit.  It is a long poll: with nothing new (no frame
after ``after_id``, the inhibit as ``inhibited`` says) it waits up to ``wait_s`` for one.
``POST /agent/stations/{id}/uplink/outcomes`` records what became of each frame, once.

Both poll the database (every ``POLL_S``), which finds what any server process did; a
frame queued or settled, a transmit inhibit raised and a frame received through this
process wake them at once (``app.state.uplink_wakeups``, ``app.state.frame_streams``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from groundshare.api.deps import CurrentOrg, SessionDep, WriterToken, authenticate
from groundshare.api.errors import AuthenticationError
from groundshare.api.params import PathId
from groundshare.api.queries import get_visible, require_owner, visible_contacts, visible_stations
from groundshare.api.schemas import (
    AgentUplink,
    InhibitPublic,
    UplinkOutcomes,
    UplinkOutcomesAccepted,
    agent_uplink_frame,
    frame_public,
)
from groundshare.api.wakeups import FrameStreams, Wakeups
from groundshare.errors import ConflictError, GroundshareError, InvalidInputError, NotFoundError, PolicyError
from groundshare.store import ApiToken, Contact, ContactStatus, Organisation, Station, network_now, session_scope
from groundshare.store.frames import frame_page
from groundshare.store.models import UplinkFrame
from groundshare.store.uplink import (
    QUEUED,
    check_can_command,
    frame_state,
    frames_to_transmit,
    open_inhibit,
    queue_uplink,
    settle_frame,
)
from groundshare.timeutil import format_utc, utc_now

router = APIRouter(tags=["uplink"])
logger = logging.getLogger(__name__)

#: How often (seconds) a session and a waiting relay poll look at the database.
POLL_S = 0.1
#: Longest wait of the relay's long poll, seconds.
MAX_WAIT_S = 30.0
#: Largest message an operator may send, characters (a frame of ``MAX_UPLINK_FRAME_BYTES`` as hex, and room).
MAX_MESSAGE_CHARS = 16_384
#: Most frames of one contact queued and not yet settled; more are refused until the station catches up.
MAX_QUEUED_PER_CONTACT = 100
#: Downlink frames sent per poll at most.
DOWNLINK_PAGE = 100


def _close_code(exc: Exception) -> int:
    """Return the WebSocket close code of an error: 4000 + the HTTP status it stands for."""
    if isinstance(exc, AuthenticationError):
        return 4401
    if isinstance(exc, NotFoundError):
        return 4404
    if isinstance(exc, PolicyError):
        return 4403
    if isinstance(exc, ConflictError):
        return 4409
    return 4422


def _first_line(exc: Exception) -> str:
    return str(exc).split("\n")[0]


def contact_state(contact: Contact, now: datetime) -> str:
    """Return the contact's state at ``now``: ``waiting`` (before AOS), ``tracking`` (AOS to LOS) or ``los``."""
    if contact.status not in (ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS) or now >= contact.end_time:
        return "los"
    return "waiting" if now < contact.start_time else "tracking"


@dataclass
class SessionView:
    """What one poll of a session found."""

    live: bool = True
    state: dict[str, Any] = field(default_factory=dict)
    downlink: list[dict[str, Any]] = field(default_factory=list)
    settled: list[dict[str, Any]] = field(default_factory=list)


class ContactSession:
    """One operator's live session on one contact (see the module docstring); its database work in threads."""

    def __init__(self, websocket: WebSocket, factory: sessionmaker[Session], *, token_id: int, contact_id: int,
                 after_frame_id: int) -> None:
        self.websocket = websocket
        self.factory = factory
        self.token_id = token_id
        self.contact_id = contact_id
        self.last_frame_id = after_frame_id
        self.org_id = 0
        self.station_id = 0
        self.satellite_id = 0
        self.pending: dict[int, str | None] = {}  # frame id -> ref, accepted and not yet settled
        self._state: dict[str, Any] | None = None
        self._send_lock = asyncio.Lock()

    # Database work (worker threads).

    def _token(self, session: Session) -> ApiToken:
        token = session.get(ApiToken, self.token_id)
        now = utc_now()
        if token is None or token.revoked_at is not None or (token.expires_at is not None
                                                             and token.expires_at <= now):
            raise AuthenticationError("the token was revoked or has expired; the session ends")
        return token

    def open(self) -> None:
        """Check that the caller may command in the contact; remember its frames still queued."""
        with session_scope(self.factory, write=False) as session:
            token = self._token(session)
            org = session.get(Organisation, token.org_id)
            assert org is not None
            contact = get_visible(session, visible_contacts(session, org), Contact, self.contact_id, "contact")
            check_can_command(token, contact)
            if not contact.uplink:
                raise PolicyError(f"contact {contact.id} is receive-only (uplink false); a session commands only "
                                  "in an uplink contact\n\nBook an uplink contact to command the satellite")
            self.org_id, self.satellite_id = org.id, contact.satellite_id
            self.station_id = contact.antenna.station_id
            queued = session.execute(select(UplinkFrame.id, UplinkFrame.client_ref).where(
                UplinkFrame.contact_id == contact.id, QUEUED))
            self.pending.update({row.id: row.client_ref for row in queued})

    def poll(self) -> SessionView:
        """Read the contact's state, the frames received since the last poll and the frames settled meanwhile."""
        view = SessionView()
        with session_scope(self.factory, write=False) as session:
            try:
                self._token(session)
            except AuthenticationError:
                return SessionView(live=False)
            contact = session.get(Contact, self.contact_id)
            org = session.get(Organisation, self.org_id)
            if contact is None or org is None:
                return SessionView(live=False)
            now = network_now(session)
            inhibit = open_inhibit(session, self.station_id)
            view.state = {"type": "state", "contact_id": contact.id, "state": contact_state(contact, now),
                          "status": contact.status.value, "aos": format_utc(contact.start_time),
                          "los": format_utc(contact.end_time), "now": format_utc(now),
                          "inhibit": InhibitPublic.model_validate(inhibit).model_dump(mode="json")
                          if inhibit is not None else None}
            views = frame_page(session, org, contact_id=contact.id, after_id=self.last_frame_id, limit=DOWNLINK_PAGE)
            view.downlink = [{"type": "downlink", "frame": frame_public(v).model_dump(mode="json")} for v in views]
            if views:
                self.last_frame_id = views[-1].id
            if self.pending:
                rows = session.scalars(select(UplinkFrame).where(UplinkFrame.id.in_(list(self.pending))))
                view.settled = [_outcome(row) for row in rows if frame_state(row) != "queued"]
        return view

    def queue(self, message: dict[str, Any]) -> dict[str, Any]:
        """Queue one uplink frame of the operator's (a write); return the answer to send."""
        ref = message.get("ref")
        payload_hex = message.get("payload_hex")
        if not isinstance(ref, str):
            raise InvalidInputError("an uplink message needs 'ref': your name of the frame, unique in the contact",
                                    loc=("ref",))
        if not isinstance(payload_hex, str):
            raise InvalidInputError("an uplink message needs 'payload_hex': the frame's bytes as hex",
                                    loc=("payload_hex",))
        try:
            payload = bytes.fromhex(payload_hex)
        except ValueError:
            raise InvalidInputError("payload_hex is not hexadecimal; send the frame's bytes as hex digits",
                                    loc=("payload_hex",)) from None
        with session_scope(self.factory, write=True) as session:
            token = self._token(session)
            contact = session.get(Contact, self.contact_id)
            if contact is None:
                raise NotFoundError(f"contact {self.contact_id} does not exist")
            queued = session.scalar(select(UplinkFrame.id).where(
                UplinkFrame.contact_id == contact.id, QUEUED).offset(MAX_QUEUED_PER_CONTACT - 1).limit(1))
            if queued is not None and not session.scalar(select(UplinkFrame.id).where(
                    UplinkFrame.contact_id == contact.id, UplinkFrame.client_ref == ref)):
                raise ConflictError(f"{MAX_QUEUED_PER_CONTACT} frames of contact {contact.id} are queued and not yet "
                                    "on air; send this one when the station has caught up (watch for on_air)")
            frame, duplicate = queue_uplink(session, contact, token, payload, client_ref=ref,
                                            at=network_now(session))
            answer = {"type": "accepted", "ref": ref, "frame_id": frame.id, "sent_at": format_utc(frame.sent_at),
                      "sha256": frame.sha256, "duplicate": duplicate, "status": frame_state(frame)}
            if frame_state(frame) == "queued":
                self.pending[frame.id] = ref
            else:
                answer.update({k: v for k, v in _outcome(frame).items() if k not in ("type", "frame_id", "ref")})
        return answer

    # The connection.

    async def send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.websocket.send_text(json.dumps(message, separators=(",", ":")))

    async def run(self, wakeups: Wakeups, streams: FrameStreams) -> None:
        """Serve the session until the operator or the server ends it (``streams.stopping``: shutting down)."""
        frame_wakeups = streams.wakeups
        wake = wakeups.subscribe(("contact", self.contact_id))
        downlink_wake = frame_wakeups.subscribe(self.satellite_id)
        reader = asyncio.create_task(self._read(wakeups))
        try:
            while not reader.done():
                if streams.stopping.is_set():
                    await self._close(4503, "the server is shutting down; reconnect to resume the session")
                    return
                wake.clear()
                downlink_wake.clear()
                view = await run_in_threadpool(self.poll)
                if not view.live:
                    await self._close(4401, "the token was revoked or has expired, or the contact is gone")
                    return
                if _changed(self._state, view.state):
                    await self.send(view.state)
                self._state = view.state
                for message in [*view.downlink, *view.settled]:
                    if message["type"] != "downlink":
                        self.pending.pop(message["frame_id"], None)
                    await self.send(message)
                if len(view.downlink) == DOWNLINK_PAGE:
                    continue
                waits = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(downlink_wake.wait())]
                await asyncio.wait([*waits, reader], timeout=POLL_S, return_when=asyncio.FIRST_COMPLETED)
                for waiting in waits:
                    waiting.cancel()
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await reader
            wakeups.unsubscribe(("contact", self.contact_id), wake)
            frame_wakeups.unsubscribe(self.satellite_id, downlink_wake)

    async def _read(self, wakeups: Wakeups) -> None:
        """Answer the operator's messages until the connection ends."""
        while True:
            try:
                received = await self.websocket.receive()  # not receive_text: a binary message has no "text"
            except (WebSocketDisconnect, RuntimeError):
                return
            if received["type"] == "websocket.disconnect":
                return
            text = received.get("text")
            ref = None
            try:
                if text is None:
                    raise InvalidInputError("a message is one JSON object sent as text, not binary",
                                            loc=("message",))
                if len(text) > MAX_MESSAGE_CHARS:
                    raise InvalidInputError(f"a message holds at most {MAX_MESSAGE_CHARS} characters; this one has "
                                            f"{len(text)}", loc=("message",))
                try:
                    message = json.loads(text)
                except ValueError:
                    raise InvalidInputError('a message is one JSON object, e.g. {"type": "uplink", "ref": "c1", '
                                            '"payload_hex": "..."}', loc=("message",)) from None
                if not isinstance(message, dict) or message.get("type") != "uplink":
                    raise InvalidInputError("the only message an operator sends is {\"type\": \"uplink\", ...}",
                                            loc=("type",))
                ref = message.get("ref") if isinstance(message.get("ref"), str) else None
                answer = await run_in_threadpool(self.queue, message)
            except AuthenticationError as exc:
                await self._close(4401, _first_line(exc))
                return
            except GroundshareError as exc:
                await self.send({"type": "refused", "ref": ref, "reason": str(exc),
                                 "code": _close_code(exc) - 4000})
                continue
            if answer["status"] == "queued" and not answer["duplicate"]:
                wakeups.notify(("station", self.station_id))
            await self.send(answer)

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.send({"type": "error", "status": code - 4000, "detail": reason})
            await self.websocket.close(code=code, reason=reason[:120])


def _changed(before: dict[str, Any] | None, after: dict[str, Any]) -> bool:
    """Whether a state message says something new (its ``now`` aside)."""
    if before is None:
        return True
    return {k: v for k, v in before.items() if k != "now"} != {k: v for k, v in after.items() if k != "now"}


def _outcome(frame: UplinkFrame) -> dict[str, Any]:
    if frame.on_air_at is not None:
        return {"type": "on_air", "frame_id": frame.id, "ref": frame.client_ref,
                "on_air_at": format_utc(frame.on_air_at)}
    return {"type": "not_sent", "frame_id": frame.id, "ref": frame.client_ref, "reason": frame.not_sent_reason}


@router.websocket("/contacts/{contact_id}/session", name="contact_session")
async def contact_session(websocket: WebSocket, contact_id: int,
                          after_frame_id: Annotated[int, Query(ge=0)] = 0) -> None:
    """Command the satellite live during the contact (see the module docstring)."""
    app = websocket.app
    await websocket.accept()
    live = ContactSession(websocket, app.state.session_factory, token_id=0, contact_id=contact_id,
                          after_frame_id=after_frame_id)
    try:
        live.token_id = await run_in_threadpool(authenticate, app.state.session_factory,
                                                websocket.headers.get("authorization"))
        await run_in_threadpool(live.open)
    except GroundshareError as exc:
        await live._close(_close_code(exc), str(exc))
        return
    sessions: FrameStreams = app.state.contact_sessions
    if not sessions.acquire(live.org_id):
        await live._close(4429, f"your organisation has {sessions.max_per_org} contact sessions open on this server, "
                                "the most it may hold (max_frame_streams_per_org); close one")
        return
    try:
        await live.run(app.state.uplink_wakeups, app.state.frame_streams)
    finally:
        sessions.release(live.org_id)
    with contextlib.suppress(Exception):
        await websocket.close()


# The station agent's relay.

WaitS = Annotated[float, Query(ge=0, le=MAX_WAIT_S, description=(
    f"How long to wait, seconds, for something new (at most {MAX_WAIT_S:g}; 0: answer at once)."))]
AfterId = Annotated[int, Query(ge=0, description="The last frame id the agent was given: answer with later ones.")]
Inhibited = Annotated[bool, Query(description="Whether the agent knows the station inhibited: a change ends the wait.")]


@router.get("/agent/stations/{station_id}/uplink", name="agent_uplink", response_model=AgentUplink)
def agent_uplink(station_id: PathId, request: Request, session: SessionDep, org: CurrentOrg, _token: WriterToken,
                 after_id: AfterId = 0, wait_s: WaitS = 0.0, inhibited: Inhibited = False) -> Response:
    """Return the frames the station's agent may transmit now, and the station's open inhibit (a long poll)."""
    station = get_visible(session, visible_stations(session, org), Station, station_id, "station")
    require_owner(org, station, "station", "relay its uplink")
    return RelayPoll(request.app.state.session_factory, request.app.state.uplink_wakeups, station_id=station_id,
                     after_id=after_id, wait_s=wait_s, inhibited=inhibited)


class RelayPoll(Response):
    """The relay's long poll, answered once the request's own unit of work is over (it holds no connection)."""

    def __init__(self, factory: sessionmaker[Session], wakeups: Wakeups, *, station_id: int, after_id: int,
                 wait_s: float, inhibited: bool) -> None:
        super().__init__()
        self.factory = factory
        self.wakeups = wakeups
        self.station_id = station_id
        self.after_id = after_id
        self.wait_s = wait_s
        self.inhibited = inhibited

    def _poll(self, force: bool) -> AgentUplink | None:
        """Return the answer if there is something new (or ``force``), else None; settles frames no longer allowed."""
        with session_scope(self.factory, write=False) as session:
            inhibit = open_inhibit(session, self.station_id)
            queued = session.scalar(select(UplinkFrame.id).where(
                UplinkFrame.station_id == self.station_id, UplinkFrame.id > self.after_id,
                QUEUED).limit(1))
            if queued is None:
                if (inhibit is not None) == self.inhibited and not force:
                    return None
                return AgentUplink(station_id=self.station_id, now=network_now(session), frames=[],
                                   inhibit=InhibitPublic.model_validate(inhibit) if inhibit else None)
        with session_scope(self.factory, write=True) as session:
            station = session.get(Station, self.station_id)
            if station is None:
                raise NotFoundError(f"station {self.station_id} does not exist")
            now = network_now(session)
            found = frames_to_transmit(session, station, at=now, after_id=self.after_id)
            answer = AgentUplink(station_id=self.station_id, now=now,
                                 frames=[agent_uplink_frame(f) for f in found.ready],
                                 inhibit=InhibitPublic.model_validate(found.inhibit) if found.inhibit else None)
        if found.not_sent:
            self.wakeups.notify(*(("contact", f.contact_id) for f in found.not_sent))
        if not answer.frames and (answer.inhibit is not None) == self.inhibited and not force:
            return None
        return answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        wake = self.wakeups.subscribe(("station", self.station_id))
        deadline = time.monotonic() + self.wait_s
        try:
            while True:
                wake.clear()
                answer = await run_in_threadpool(self._poll, time.monotonic() >= deadline)
                if answer is not None:
                    await JSONResponse(answer.model_dump(mode="json"), headers={"Cache-Control": "no-store"})(
                        scope, receive, send)
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=min(POLL_S, max(0.0, deadline - time.monotonic())))
        finally:
            self.wakeups.unsubscribe(("station", self.station_id), wake)


@router.post("/agent/stations/{station_id}/uplink/outcomes", name="report_uplink_outcomes")
def report_uplink_outcomes(station_id: PathId, body: UplinkOutcomes, request: Request, session: SessionDep,
                           org: CurrentOrg, _token: WriterToken, background: BackgroundTasks) -> UplinkOutcomesAccepted:
    """Record what became of frames the station was given: on air at a time, or not sent and why (once each)."""
    station = get_visible(session, visible_stations(session, org), Station, station_id, "station")
    require_owner(org, station, "station", "report its uplink")
    ids = [o.frame_id for o in body.outcomes]
    frames = {f.id: f for f in session.scalars(select(UplinkFrame).where(UplinkFrame.id.in_(ids),
                                                                         UplinkFrame.station_id == station_id))}
    settled = 0
    for index, outcome in enumerate(body.outcomes):
        frame = frames.get(outcome.frame_id)
        if frame is None:
            raise NotFoundError(f"outcomes[{index}].frame_id: uplink frame {outcome.frame_id} was not given to "
                                f"station {station_id}")
        settled += settle_frame(session, frame, on_air_at=outcome.on_air_at, not_sent_reason=outcome.not_sent_reason)
    contacts = {("contact", frames[o.frame_id].contact_id) for o in body.outcomes}
    background.add_task(request.app.state.uplink_wakeups.notify, *contacts)  # after the commit
    return UplinkOutcomesAccepted(settled=settled)
