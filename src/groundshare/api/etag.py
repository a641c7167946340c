"""Conditional answers for the polled routes: a strong ``ETag`` of the body, ``If-None-Match`` -> 304.

Stations poll: the agent's ``GET /agent/schedule`` and satnogs-client's ``GET
/satnogs/api/jobs/`` are the most frequent requests, and most polls find nothing changed.
``conditional_json`` renders the answer's JSON once, as FastAPI would, tags it with the
SHA-256 of those exact bytes (``"<32 hex digits>"``, a strong tag) and answers a request
whose ``If-None-Match`` names that tag with a bodiless 304.  ``Cache-Control: no-cache``
lets a client or proxy keep the copy but makes it ask every time: a schedule is never
served stale.

What it saves: sending (and the client reading and parsing) the body, which for a
48-hour schedule with its element sets is most of the bytes; the server still runs the
query and builds the answer, because the tag is the hash of that answer.  Why a hash of
the body rather than a version counter kept in the database: it is correct by
construction, whatever changed (a contact booked, cancelled, moved or started, the
element set it was planned with, the station, the window asked for), with nothing to
bump on every write path and nothing to forget.

``If-None-Match`` is compared weakly, as RFC 9110 (13.1.2) requires: ``W/"x"`` matches
``"x"`` (a proxy that compresses the body weakens the tag it passes on); ``*`` matches.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import Response

#: Hex digits of the SHA-256 kept in the tag (128 bits).
ETAG_HEX_DIGITS = 32
CACHE_CONTROL = "no-cache"


def body_etag(body: bytes) -> str:
    """Return the strong entity tag of ``body``: its SHA-256, truncated, quoted."""
    return '"' + hashlib.sha256(body).hexdigest()[:ETAG_HEX_DIGITS] + '"'


def none_match(header: str | None, etag: str) -> bool:
    """Return whether an ``If-None-Match`` header names ``etag`` (weak comparison; ``*`` matches anything)."""
    if not header:
        return False
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag == etag:
            return True
    return False


def conditional_json(request: Request, adapter: TypeAdapter[Any], value: Any) -> Response:
    """Return ``value`` as JSON (the bytes FastAPI's own response would hold) with its ``ETag``, or a 304."""
    return conditional_body(request, adapter.dump_json(value))


def conditional_body(request: Request, body: bytes, media_type: str = "application/json") -> Response:
    """Return ``body`` with its ``ETag`` and ``Cache-Control: no-cache``; a bodiless 304 when the client holds it."""
    etag = body_etag(body)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
