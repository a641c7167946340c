"""What a request must pass before its body costs anything: a live token, and a size.

``RequestGate`` is ASGI middleware in front of the whole application.  For each HTTP
request it finds the API route the request is for (``route_gates``, built once from the
application's routes), then, before a byte of the body is read:

1. **Authentication**, on every route whose dependencies include ``deps.current_token``
   (every API route; not ``/``, the dashboard or the API documentation): a missing or
   malformed ``Authorization`` header answers 401 at once; otherwise the token is looked
   up by hash in a worker thread (``deps.authenticate``; never on the event loop), and an
   unknown, revoked or expired one answers 401.  A token found live in the last
   ``deps.TOKEN_CACHE_S`` seconds is let through without a lookup (``deps.TokenCache``):
   the request's own unit of work loads it again and refuses it if it was revoked since.
   The token's id goes on in the request scope (``deps.TOKEN_ID_KEY``), so
   ``CurrentToken`` loads it by id.  A database that
   cannot be reached answers 503 here already (``errors.response_for``).
   Under ``deps.SATNOGS_PREFIX`` the header is ``Authorization: Token <key>`` with a
   station-scoped token (satnogs-client's); a scoped token anywhere else is 401
   (``deps.check_scope``).
2. **Size**: a body may be at most ``Settings.max_body_bytes`` (8 MiB), an element-set
   upload ``Settings.max_element_upload_bytes`` (``UPLOAD_ROUTES``), a SatNOGS file
   upload (one whole recording per request) ``Settings.max_satnogs_upload_bytes``, at most
   ``Settings.max_artifact_bytes`` (``SATNOGS_UPLOAD_ROUTES``).  A larger
   ``Content-Length`` answers 413 at once; a body without one (chunked) is counted as it
   arrives, and the read that crosses the limit raises ``BodyTooLargeError`` (413), so at
   most the limit is ever buffered.  The server discards the rest of a refused body as it
   arrives, without keeping it.

``ThreadedJsonRoute`` is the route class of the API's routes: a JSON body larger than
``INLINE_JSON_BYTES`` is parsed in a worker thread.  Python's JSON decoder holds the GIL
while it runs, so this shortens rather than removes the event loop's wait; the size limit
is what bounds it (about 0.2 s for 8 MiB of the densest JSON, and only for a caller with
a valid token).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, request_response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from groundshare.api.deps import (
    TOKEN_CACHE_S,
    TOKEN_ID_KEY,
    TokenCache,
    authenticate,
    bearer_token,
    cached_token_id,
    current_token,
    token_scheme,
)
from groundshare.api.errors import BodyTooLargeError, OutageLog, body_too_large_response, response_for
from groundshare.api.settings import Settings

#: Routes whose body is an element-set upload, limited by ``Settings.max_element_upload_bytes``: (method, path).
UPLOAD_ROUTES = frozenset({("POST", "/satellites/{satellite_id}/elements")})
#: Routes whose body is one whole file of a satnogs-client (it cannot split them), limited by
#: ``Settings.max_satnogs_upload_bytes`` (and ``max_artifact_bytes``): (method, path).
SATNOGS_UPLOAD_ROUTES = frozenset({("PUT", "/satnogs/api/observations/{observation_id}/")})
#: JSON bodies up to this size are parsed on the event loop (well under a millisecond); larger ones in a thread.
INLINE_JSON_BYTES = 64 * 1024

#: How a 413 names the body, and what it suggests: (what, advice).
_REQUEST_BODY = ("a request body", "send less in one request")
_UPLOAD_BODY = ("an element-set upload", "split the element sets into several uploads")
_SATNOGS_BODY = ("a SatNOGS upload (one recording, waterfall or frame)",
                 "record less (a shorter or narrower observation), or ask the network's operator to raise "
                 "max_satnogs_upload_bytes")


@dataclass(frozen=True)
class RouteGate:
    """What one API route asks of a request before its body is read."""

    path_regex: re.Pattern[str]
    methods: frozenset[str]
    needs_token: bool
    max_body_bytes: int
    what: tuple[str, str]  # how a 413 names the body, and its advice
    scheme: str = "Bearer"  # the Authorization scheme (``deps.token_scheme``)

    def matches(self, method: str, path: str) -> bool:
        return method in self.methods and self.path_regex.match(path) is not None


def needs_token(dependant: Dependant) -> bool:
    """Return whether ``dependant`` depends, directly or through others, on ``deps.current_token``."""
    return any(d.call is current_token or needs_token(d) for d in dependant.dependencies)


def route_gates(routes: Iterable[BaseRoute], settings: Settings) -> list[RouteGate]:
    """Return the gate of each API route in ``routes``; every ``UPLOAD_ROUTES`` entry must be among them."""
    gates = []
    uploads_found = set()
    satnogs_limit_bytes = min(settings.max_satnogs_upload_bytes, settings.max_artifact_bytes)
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        methods = frozenset(route.methods or ())
        uploads = {(m, p) for m, p in UPLOAD_ROUTES if p == route.path and m in methods}
        satnogs = {(m, p) for m, p in SATNOGS_UPLOAD_ROUTES if p == route.path and m in methods}
        uploads_found |= uploads
        limit_bytes, what = settings.max_body_bytes, _REQUEST_BODY
        if uploads:
            limit_bytes, what = settings.max_element_upload_bytes, _UPLOAD_BODY
        elif satnogs:
            limit_bytes, what = satnogs_limit_bytes, _SATNOGS_BODY
        gates.append(RouteGate(route.path_regex, methods, needs_token(route.dependant), limit_bytes, what,
                               token_scheme(route.path)))
    if missing := UPLOAD_ROUTES - uploads_found:
        raise AssertionError(f"UPLOAD_ROUTES names routes the application does not have: {sorted(missing)}")
    return gates


class RequestGate:
    """ASGI middleware: authenticate and bound each request before its body is read (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, gates: Sequence[RouteGate], settings: Settings,
                 session_factory: Any, outage: OutageLog, tokens: TokenCache) -> None:
        self.app = app
        self.gates = list(gates)
        self.max_body_bytes = settings.max_body_bytes
        self.session_factory = session_factory
        self.outage = outage
        self.tokens = tokens

    def gate_for(self, scope: Scope) -> RouteGate | None:
        method, path = scope["method"], get_route_path(scope)
        return next((gate for gate in self.gates if gate.matches(method, path)), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gate = self.gate_for(scope)
        limit_bytes = gate.max_body_bytes if gate else self.max_body_bytes
        what = gate.what if gate else _REQUEST_BODY
        try:
            header = Headers(scope=scope).get("authorization")
            if gate is not None and gate.needs_token:
                bearer_token(header, gate.scheme)  # a missing or malformed header needs no database
            length = _content_length(scope)
            if length is not None and length > limit_bytes:
                raise BodyTooLargeError(limit_bytes, what=what[0], advice=what[1], received_bytes=length)
            if gate is not None and gate.needs_token:
                # During an outage every request asks the database, so that the first to find it back ends it.
                token_id = None if self.outage.in_outage else cached_token_id(self.tokens, header,
                                                                                scheme=gate.scheme)
                if token_id is None:
                    began = self.outage.now()
                    token_id = await run_in_threadpool(authenticate, self.session_factory, header, cache=self.tokens,
                                                       scheme=gate.scheme)
                    self.outage.available(since=began)  # the database answered: an outage, if any, is over
                scope[TOKEN_ID_KEY] = token_id
        except BodyTooLargeError as exc:
            await body_too_large_response(exc)(scope, receive, send)
            return
        except Exception as exc:  # 401, or 503 when the database cannot be reached
            await response_for(exc, self.outage)(scope, receive, send)
            return
        await self.app(scope, _bounded(receive, limit_bytes, what), send)


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # the server refuses a malformed Content-Length itself


def _bounded(receive: Receive, limit_bytes: int, what: tuple[str, str]) -> Receive:
    """Return ``receive`` that raises ``BodyTooLargeError`` once more than ``limit_bytes`` of body arrived."""
    received_bytes = 0

    async def bounded_receive() -> Message:
        nonlocal received_bytes
        message = await receive()
        if message["type"] == "http.request":
            received_bytes += len(message.get("body", b""))
            if received_bytes > limit_bytes:
                raise BodyTooLargeError(limit_bytes, what=what[0], advice=what[1])
        return message

    return bounded_receive


class ThreadedJsonRequest(Request):
    """A request whose JSON body, when large, is parsed in a worker thread (and kept, as Starlette does)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            self._json = json.loads(body) if len(body) <= INLINE_JSON_BYTES else await run_in_threadpool(
                json.loads, body)
        return self._json


class ThreadedJsonRoute(APIRoute):
    """An API route that hands its handler a ``ThreadedJsonRequest`` (FastAPI's custom route class recipe)."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def threaded_json_handler(request: Request) -> Response:
            return await handler(ThreadedJsonRequest(request.scope, request.receive))

        return threaded_json_handler


def use_threaded_json(router: APIRouter) -> None:
    """Make every plain ``APIRoute`` of ``router`` a ``ThreadedJsonRoute``; call before including the router.

    The route modules build their routers at import with FastAPI's default route class,
    and FastAPI keeps a route's class when a router is included, so the class is set
    here, in one place, rather than in each module.  Doing it twice changes nothing.
    """
    for route in router.routes:
        if type(route) is APIRoute:
            route.__class__ = ThreadedJsonRoute
            route.app = request_response(route.get_route_handler())


def install_request_gate(app: FastAPI, routes: Iterable[BaseRoute], settings: Settings) -> None:
    """Add ``RequestGate`` to ``app`` for the API ``routes`` (those of the included routers)."""
    app.state.token_cache = TokenCache(TOKEN_CACHE_S)
    app.add_middleware(RequestGate, gates=route_gates(routes, settings), settings=settings,
                       session_factory=app.state.session_factory, outage=app.state.outage,
                       tokens=app.state.token_cache)
