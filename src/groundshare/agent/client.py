"""The agent's side of the REST API: its station, its schedule, its lease, its reports, its data.

``AgentApi`` wraps the few routes the agent uses (``/orgs/me``, ``/stations``,
``/clock``, ``/agent/...``) with one ``httpx.Client``. Errors come back as three kinds:
``ApiUnreachableError`` when the server cannot be reached or answers 5xx (the agent carries
on from its journal and reports later); its subclass ``ApiResponseError`` when an answer
is not one the agent can use (not JSON, not the expected shape, or larger than
``MAX_RESPONSE_BYTES``, read no further than that); and ``ApiRefusedError`` for a 4xx
answer (the request itself is wrong or no longer allowed: retrying will not help), with
the API's own message.

Data goes up through three routes: ``upload_frames`` (``POST /agent/contacts/{id}/frames``,
at most ``MAX_FRAMES_PER_BATCH`` frames, each as ``received_at`` and ``payload_hex``),
``upload_artifact_chunk`` (``PUT /agent/contacts/{id}/artifacts/{name}``, the raw bytes of
one chunk with the whole file's SHA-256 in ``X-Content-SHA256`` and, for a part of a
file, ``Content-Range: bytes START-END/TOTAL``) and ``artifact_upload_state`` (``GET
.../upload?sha256=``: where an interrupted upload resumes).  One ``AgentApi`` may be used
from several threads (an ``httpx.Client`` may be shared between threads).

The token travels in a header of every request: ``plain_http_warning`` says so when the
URL is ``http://`` to anything but a loopback address.
"""

from __future__ import annotations

import ipaddress
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from groundshare.agent.schedule import AgentSchedule
from groundshare.contact import JsonFields, StationSnapshot
from groundshare.errors import ConflictError, GroundshareError, InvalidInputError
from groundshare.timeutil import format_utc, parse_utc
from groundshare.units import DAY_S

#: Seconds one API request may take before the agent treats the server as unreachable.
REQUEST_TIMEOUT_S = 10.0
#: Largest answer the agent reads (bytes): a schedule of ``MAX_SCHEDULE_CONTACTS`` contacts, each with its
#: element set (about 1.5 kB), is under 8 MiB.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
#: Most frames one ``POST /agent/contacts/{id}/frames`` carries (the API takes up to 1,000; smaller batches
#: keep each request under about 70 kB and a lost answer cheap to repeat).
MAX_FRAMES_PER_BATCH = 100
#: Schedules (with their ETags) the client keeps for conditional polls: the sync's window and the idle look-up.
SCHEDULE_CACHE_SIZE = 4


class ApiUnreachableError(GroundshareError):
    """The API did not answer (network, timeout, 5xx): try again later."""


class ApiResponseError(ApiUnreachableError):
    """The API answered something the agent cannot use (not JSON, wrong shape, too large)."""


class ApiRefusedError(GroundshareError):
    """The API answered 4xx: the request is refused; ``status`` and the API's message say why."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ServerClock:
    """``GET /clock``: the network's time (``now``), the server's wall clock, and how the two relate.

    ``mode`` is ``"live"`` (the network runs at the wall clock, ``offset_s`` 0) or
    ``"shifted"`` (``now`` = wall clock + ``offset_s``, e.g. the demo network at its
    element sets' epoch).  A server that predates the network clock answers as live.
    """

    now: datetime
    wall_clock: datetime
    mode: str = "live"
    offset_s: float = 0.0
    message: str = ""

    @classmethod
    def from_json(cls, body: Any) -> ServerClock:
        """Return the clock ``body`` describes; ``ApiResponseError`` naming the field that is wrong."""
        if not isinstance(body, dict):
            raise ApiResponseError(f"GET /clock answered {type(body).__name__}, not a JSON object")

        def when(name: str) -> datetime:
            value = body.get(name)
            try:
                return parse_utc(value, name, allow_now=False)
            except (InvalidInputError, AttributeError, TypeError):
                raise ApiResponseError(f"GET /clock: {name} must be an ISO 8601 UTC time, got {value!r}") from None

        wall_clock = when("wall_clock")
        mode = body.get("mode", "live")
        if mode not in ("live", "shifted"):
            raise ApiResponseError(f"GET /clock: mode must be 'live' or 'shifted', got {mode!r}")
        offset_s = body.get("offset_s", 0.0) if mode == "shifted" else 0.0
        if isinstance(offset_s, bool) or not isinstance(offset_s, int | float) or not math.isfinite(offset_s):
            raise ApiResponseError(f"GET /clock: offset_s must be a number of seconds, got {offset_s!r}")
        now = when("now") if mode == "shifted" else wall_clock
        message = body.get("message")
        return cls(now=now, wall_clock=wall_clock, mode=mode, offset_s=float(offset_s),
                   message=message if isinstance(message, str) else "")

    def to_json(self) -> dict[str, Any]:
        return {"now": format_utc(self.now), "wall_clock": format_utc(self.wall_clock), "mode": self.mode,
                "offset_s": self.offset_s, "message": self.message}

    def describe(self) -> str:
        """Return ``live`` or ``shifted N days behind the wall clock`` (``ahead of`` for a clock in the future)."""
        if self.mode != "shifted":
            return "live"
        days = abs(self.offset_s) / DAY_S
        amount = f"{days:.1f} days" if days >= 1 else f"{abs(self.offset_s):.0f} s"
        return f"shifted {amount} {'behind' if self.offset_s < 0 else 'ahead of'} the wall clock"


@dataclass(frozen=True)
class FrameUploadResult:
    """The API's answer to a batch of frames: how many it took, how many were new to the network, and so on."""

    accepted: int
    new: int
    duplicates: int
    outside_window: int = 0

    @classmethod
    def from_json(cls, body: Any) -> FrameUploadResult:
        counts: dict[str, int] = {}
        for name in ("accepted", "new", "duplicates", "outside_window"):
            value = body.get(name, 0 if name == "outside_window" else None) if isinstance(body, dict) else None
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ApiResponseError(f"POST .../frames: {name} must be a count, got {value!r}")
            counts[name] = value
        return cls(**counts)


@dataclass(frozen=True)
class ArtifactProgress:
    """How much of an artifact the API holds: ``received_bytes`` of ``total_bytes``, and whether it is stored.

    ``total_bytes`` is None when no upload of it has begun.
    """

    received_bytes: int
    total_bytes: int | None
    complete: bool

    @classmethod
    def from_json(cls, body: Any, *, what: str, total_bytes: int | None = None) -> ArtifactProgress:
        """Read a 202 ``{received_bytes, total_bytes}``, a 201 artifact ``{size_bytes, ...}`` or an upload state."""
        if not isinstance(body, dict):
            raise ApiResponseError(f"{what} answered {type(body).__name__}, not a JSON object")
        if "size_bytes" in body and "received_bytes" not in body:  # the stored artifact
            size = body["size_bytes"]
            body = {"received_bytes": size, "total_bytes": size, "complete": True}
        received = body.get("received_bytes")
        total = body.get("total_bytes", total_bytes)
        for name, value, optional in (("received_bytes", received, False), ("total_bytes", total, True)):
            if optional and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ApiResponseError(f"{what}: {name} must be a number of bytes, got {value!r}")
        complete = body.get("complete", False)
        if not isinstance(complete, bool):
            raise ApiResponseError(f"{what}: complete must be true or false, got {complete!r}")
        return cls(received, total, complete)


def check_api_url(base_url: str) -> str:
    """Return ``base_url`` without a trailing slash; ``InvalidInputError`` unless it is http(s)://HOST[...]."""
    parts = urlsplit(base_url.strip()) if isinstance(base_url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(f"the API URL must be https://HOST (or http:// to a loopback address), e.g. "
                                f"https://groundshare.example.org; got {base_url!r}", loc=("api",))
    return base_url.strip().rstrip("/")


def is_loopback_host(host: str) -> bool:
    """Return whether ``host`` names this machine only: ``localhost`` or a loopback address (127.0.0.0/8, ::1).

    >>> [is_loopback_host(h) for h in ("localhost", "127.0.0.1", "::1", "10.0.0.7", "groundshare.example.org")]
    [True, True, True, False, False]
    """
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_warning(base_url: str) -> str | None:
    """Return a warning when ``base_url`` sends the token unencrypted over a network, else None."""
    parts = urlsplit(base_url)
    if parts.scheme != "http" or is_loopback_host(parts.hostname or ""):
        return None
    return (f"warning: INSECURE API URL {base_url}: plain http:// to a host other than this machine sends the "
            "station's token and every report in clear text; anyone on the path can read the token and run "
            "this station. Use https:// (plain http:// is only safe to a loopback address such as 127.0.0.1)")


@dataclass(frozen=True)
class UplinkFrameOrder:
    """One frame the API gives the station to transmit: its id, contact, bytes and their SHA-256."""

    id: int
    contact_id: int
    payload: bytes
    sha256: str


@dataclass(frozen=True)
class UplinkBatch:
    """The API's answer to the relay's poll: frames to transmit, oldest first, and whether the station is inhibited."""

    frames: list[UplinkFrameOrder]
    inhibited: bool
    inhibit_reason: str = ""

    @classmethod
    def from_json(cls, body: Any) -> UplinkBatch:
        fields = JsonFields(lambda message, loc: ApiResponseError(f"GET /agent/stations/.../uplink: {message}"))
        if not isinstance(body, dict) or not isinstance(body.get("frames"), list):
            raise ApiResponseError("GET /agent/stations/.../uplink answered without a frames list")
        frames = []
        for index, item in enumerate(body["frames"]):
            if not isinstance(item, dict):
                raise ApiResponseError(f"GET /agent/stations/.../uplink: frames[{index}] is not an object")
            try:
                payload = bytes.fromhex(str(item.get("payload_hex", "")))
            except ValueError:
                raise ApiResponseError(f"GET /agent/stations/.../uplink: frames[{index}].payload_hex is not hex") \
                    from None
            frames.append(UplinkFrameOrder(id=fields.whole(item, "id", minimum=1, required=True) or 0,
                                           contact_id=fields.whole(item, "contact_id", minimum=1, required=True) or 0,
                                           payload=payload, sha256=str(item.get("sha256", ""))))
        inhibit = body.get("inhibit")
        reason = str(inhibit.get("reason") or "") if isinstance(inhibit, dict) else ""
        return cls(frames=frames, inhibited=inhibit is not None, inhibit_reason=reason)


class AgentApi:
    """The routes the station agent calls, authenticated with the station owner's token."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = REQUEST_TIMEOUT_S,
                 transport: httpx.BaseTransport | None = None,
                 max_response_bytes: int = MAX_RESPONSE_BYTES) -> None:
        self.base_url = check_api_url(base_url)
        self.max_response_bytes = max_response_bytes
        self._client = httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {token}"},
                                    timeout=timeout_s, transport=transport)
        #: The last schedules read, by query: (ETag, schedule), oldest first; and how many polls a 304 answered.
        self._schedules: dict[tuple[Any, ...], tuple[str, AgentSchedule]] = {}
        self._schedules_lock = threading.Lock()
        self.schedules_not_modified = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> AgentApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._json(method, path, *self._send(method, path, **kwargs))

    def _send(self, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, bytes]:
        """Return the answer and its body; ``ApiUnreachableError`` for an outage or 5xx, ``ApiRefusedError`` 4xx."""
        try:
            with self._client.stream(method, path, **kwargs) as response:
                content = self._read(response, f"{method} {path}")
        except httpx.HTTPError as exc:
            raise ApiUnreachableError(f"{method} {self.base_url}{path}: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise ApiUnreachableError(f"{method} {self.base_url}{path} answered {response.status_code}")
        if response.status_code >= 400:
            try:
                detail = json.loads(content).get("detail", content.decode(errors="replace"))
            except (ValueError, AttributeError):
                detail = content.decode(errors="replace")[:2000]
            if isinstance(detail, list):
                detail = "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
            raise ApiRefusedError(f"{method} {path} refused ({response.status_code}): {detail}",
                                  status=response.status_code)
        return response, content

    def _json(self, method: str, path: str, response: httpx.Response, content: bytes) -> Any:
        if not content:
            return None
        try:
            return json.loads(content)
        except ValueError as exc:
            raise ApiResponseError(f"{method} {self.base_url}{path} answered {response.status_code} with text that "
                                   f"is not JSON ({exc}): {content[:200].decode(errors='replace')!r}") from None

    def _read(self, response: httpx.Response, what: str) -> bytes:
        """Return the answer's body, refusing (unread) past ``max_response_bytes``."""
        limit = self.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ApiResponseError(f"{what} answered {int(declared)} bytes, more than the {limit} the agent reads "
                                   "(MAX_RESPONSE_BYTES); nothing of it was used")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise ApiResponseError(f"{what} answered more than the {limit} bytes the agent reads "
                                       "(MAX_RESPONSE_BYTES); nothing of it was used")
            chunks.append(chunk)
        return b"".join(chunks)

    def find_station(self, name: str) -> StationSnapshot:
        """Return the caller's own station called ``name`` (``ApiRefusedError`` 404 naming the ones there are)."""
        try:
            me = self._call("GET", "/orgs/me")
            own_id = me["org"]["id"]
            stations: list[dict[str, Any]] = []
            while True:
                page = self._call("GET", "/stations", params={"limit": 500, "offset": len(stations)})
                stations += page["data"]
                if not page["data"] or len(stations) >= page["count"]:
                    break
            own = [s for s in stations if s["org_id"] == own_id]
            names = ", ".join(sorted(str(s["name"]) for s in own)) or "none"
        except (KeyError, TypeError, AttributeError) as exc:
            raise ApiResponseError(f"GET /orgs/me or /stations answered without the expected field {exc}; is "
                                   f"{self.base_url} a groundshare server?") from None
        for station in own:
            if station["name"] == name:
                refused = JsonFields(lambda message, loc: ApiResponseError(f"GET /stations: {name!r}: {message}"))
                return StationSnapshot.from_json(station, fields=refused)
        raise ApiRefusedError(f"no station called {name!r} belongs to {me['org'].get('name')} (its stations: "
                              f"{names}); an agent runs one of its own organisation's stations", status=404)

    def clock(self) -> ServerClock:
        """Return the network's clock as the server tells it (``GET /clock``)."""
        return ServerClock.from_json(self._call("GET", "/clock"))

    def server_time(self) -> datetime:
        """Return the server's wall clock (``GET /clock``)."""
        return self.clock().wall_clock

    def schedule(self, station_id: int, start: datetime, end: datetime) -> AgentSchedule:
        """Return ``GET /agent/schedule`` for the station over ``[start, end)``, read by ``AgentSchedule.from_json``.

        A conditional request: the last answers' ``ETag`` s (by query, the last
        ``SCHEDULE_CACHE_SIZE``) go in ``If-None-Match``, and a 304 returns the schedule read
        from that answer, neither sent nor parsed again.  ``agent.schedule.ScheduleError``
        when the answer cannot be used at all.
        """
        params = {"station_id": station_id, "start": format_utc(start), "end": format_utc(end)}
        key = tuple(params.values())
        with self._schedules_lock:
            held = self._schedules.get(key)
        headers = {"If-None-Match": held[0]} if held is not None else {}
        response, content = self._send("GET", "/agent/schedule", params=params, headers=headers)
        if response.status_code == 304 and held is not None:
            self.schedules_not_modified += 1
            return held[1]
        schedule = AgentSchedule.from_json(self._json("GET", "/agent/schedule", response, content))
        etag = response.headers.get("etag")
        with self._schedules_lock:
            self._schedules.pop(key, None)
            if etag:
                self._schedules[key] = (etag, schedule)
                while len(self._schedules) > SCHEDULE_CACHE_SIZE:
                    del self._schedules[next(iter(self._schedules))]
        return schedule

    def acquire_lease(self, station_id: int, agent_id: str, ttl_s: float) -> dict[str, Any]:
        """Take or renew the station's agent lease; ``ConflictError`` if another agent holds it."""
        try:
            return self._call("POST", f"/agent/stations/{station_id}/lease", json={"agent_id": agent_id,
                                                                                  "ttl_s": ttl_s})
        except ApiRefusedError as exc:
            if exc.status == 409:
                raise ConflictError(str(exc)) from exc
            raise

    def release_lease(self, station_id: int, agent_id: str) -> None:
        self._call("DELETE", f"/agent/stations/{station_id}/lease", params={"agent_id": agent_id})

    def report(self, contact_id: int, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send a ``start`` or ``outcome`` report of a contact."""
        return self._call("POST", f"/agent/contacts/{contact_id}/{kind}", json=body)

    def uplink(self, station_id: int, *, after_id: int, wait_s: float, inhibited: bool) -> UplinkBatch:
        """Return the frames the station may transmit now, after ``after_id`` (a long poll of up to ``wait_s``)."""
        body = self._call("GET", f"/agent/stations/{station_id}/uplink",
                          params={"after_id": after_id, "wait_s": wait_s, "inhibited": str(inhibited).lower()},
                          timeout=REQUEST_TIMEOUT_S + wait_s)
        return UplinkBatch.from_json(body)

    def report_uplink(self, station_id: int, outcomes: Sequence[dict[str, Any]]) -> int:
        """Record what became of frames (``frame_id`` with ``on_air_at`` or ``not_sent_reason``); return how many."""
        answer = self._call("POST", f"/agent/stations/{station_id}/uplink/outcomes", json={"outcomes": list(outcomes)})
        return int(answer.get("settled", 0)) if isinstance(answer, dict) else 0

    def raise_inhibit(self, station_id: int, reason: str) -> dict[str, Any]:
        """Raise the station's transmit inhibit (the record of one raised at the station)."""
        return self._call("POST", f"/stations/{station_id}/transmit-inhibit", json={"reason": reason[:1000]})

    def upload_frames(self, contact_id: int, frames: Sequence[tuple[datetime | str, bytes]]) -> FrameUploadResult:
        """Send ``(received_at, payload)`` frames of a contact (at most ``MAX_FRAMES_PER_BATCH``)."""
        if len(frames) > MAX_FRAMES_PER_BATCH:
            raise InvalidInputError(f"a batch holds at most {MAX_FRAMES_PER_BATCH} frames, got {len(frames)}",
                                    loc=("frames",))
        body = {"frames": [{"received_at": when if isinstance(when, str) else format_utc(when),
                            "payload_hex": bytes(payload).hex()} for when, payload in frames]}
        return FrameUploadResult.from_json(self._call("POST", f"/agent/contacts/{contact_id}/frames", json=body))

    def upload_artifact_chunk(self, contact_id: int, name: str, *, sha256: str, data: bytes, offset: int,
                              total_bytes: int) -> ArtifactProgress:
        """Send ``data``, the bytes of artifact ``name`` from ``offset`` on, of a file of ``total_bytes``.

        The whole file in one chunk goes without ``Content-Range``. ``ApiRefusedError`` 409 when
        the API expected another offset (ask ``artifact_upload_state``), 422 when the file's
        bytes do not have ``sha256`` (nothing is stored).
        """
        path = f"/agent/contacts/{contact_id}/artifacts/{quote(name, safe='')}"
        headers = {"X-Content-SHA256": sha256, "Content-Type": "application/octet-stream"}
        if offset != 0 or len(data) != total_bytes:
            headers["Content-Range"] = f"bytes {offset}-{offset + len(data) - 1}/{total_bytes}"
        body = self._call("PUT", path, content=bytes(data), headers=headers)
        return ArtifactProgress.from_json(body, what=f"PUT {path}", total_bytes=total_bytes)

    def artifact_upload_state(self, contact_id: int, name: str, sha256: str) -> ArtifactProgress:
        """Return how much of artifact ``name`` (with ``sha256``) the API holds: where to resume."""
        path = f"/agent/contacts/{contact_id}/artifacts/{quote(name, safe='')}/upload"
        return ArtifactProgress.from_json(self._call("GET", path, params={"sha256": sha256}), what=f"GET {path}")
