"""Map exceptions to HTTP responses, in this one place (no per-route try/except).

Every error body has FastAPI's own 422 shape, ``{"detail": [{"loc": [...], "msg": "...",
"type": "..."}]}``, so clients parse one form.  ``STATUS_BY_FAMILY`` is the table:
the first family an exception belongs to gives its status.

No error body repeats more than an excerpt of what the client sent: a validation error's
``input`` is cut to ``MAX_INPUT_EXCERPT_CHARS``, each line of a message to
``MAX_MESSAGE_LINE_CHARS`` and a 422 lists at most ``MAX_VALIDATION_ERRORS`` errors.

The database being unavailable (down, restarting, unreachable) answers 503 with
``Retry-After``, and ``OutageLog`` writes one line when that starts and one when it ends
(with the count of requests refused), not a traceback per request.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException

from groundshare.errors import ConflictError, GroundshareError, InvalidInputError, NotFoundError, PolicyError
from groundshare.extras import MissingExtraError
from groundshare.store import DoubleBookingError, is_transient
from groundshare.store.db import CommitOutcomeUnknownError, is_unavailable
from groundshare.timeutil import format_utc, utc_now

logger = logging.getLogger(__name__)

#: Longest excerpt of a client's input repeated in a validation error (characters).
MAX_INPUT_EXCERPT_CHARS = 200
#: Longest line of an error message (a parser quoting the line it refused), and longest message, in characters:
#: well above any message groundshare writes, far below an upload of one huge line.
MAX_MESSAGE_LINE_CHARS = 1000
MAX_MESSAGE_CHARS = 5000
#: Most errors one 422 lists (a list of a million bad items is reported by its first ones).
MAX_VALIDATION_ERRORS = 50
#: Seconds a client should wait before retrying: a busy database, and one that is down or restarting.
RETRY_AFTER_BUSY_S = 1
RETRY_AFTER_UNAVAILABLE_S = 2


class AuthenticationError(GroundshareError):
    """The request carries no valid ``Authorization: Bearer <token>`` header (``Token <key>`` under /satnogs/api/).

    ``scheme`` is the one the 401's ``WWW-Authenticate`` names.
    """

    def __init__(self, message: str, *, loc: tuple[str, ...] = ("header", "Authorization"),
                 scheme: str = "Bearer") -> None:
        super().__init__(message)
        self.loc = loc
        self.scheme = scheme


class BodyTooLargeError(HTTPException):
    """The request body is larger than the route accepts (413), found before or while it streams in.

    An ``HTTPException``, so that FastAPI passes it on unchanged when it is raised while
    the body is being read (rather than answering 400 "error parsing the body").
    """

    def __init__(self, limit_bytes: int, *, what: str, advice: str, received_bytes: int | None = None) -> None:
        size = (f"its Content-Length is {received_bytes} bytes" if received_bytes is not None
                else "more than that was sent")
        super().__init__(status_code=413, detail=(
            f"the request body is too large: {what} may be at most {_size_text(limit_bytes)}, and {size}; {advice}"))
        self.limit_bytes = limit_bytes


def _size_text(size_bytes: int) -> str:
    """Return ``8 MiB (8388608 bytes)``, ``4 KiB (4096 bytes)`` or ``1000 bytes``."""
    for unit, unit_bytes in (("MiB", 2**20), ("KiB", 2**10)):
        if size_bytes >= unit_bytes and size_bytes % unit_bytes == 0:
            return f"{size_bytes // unit_bytes} {unit} ({size_bytes} bytes)"
    return f"{size_bytes} bytes"


#: Family -> (HTTP status, error "type").  Order matters: the first match wins.
STATUS_BY_FAMILY: tuple[tuple[type[BaseException], int, str], ...] = (
    (AuthenticationError, 401, "unauthenticated"),
    # The server was installed without the extra an operation needs (the message names the pip install).
    (MissingExtraError, 503, "not_installed"),
    (InvalidInputError, 422, "invalid_input"),
    (NotFoundError, 404, "not_found"),
    (DoubleBookingError, 409, "double_booking"),
    (ConflictError, 409, "conflict"),
    (PolicyError, 403, "policy"),
    # The database refused a row the routes let through (a UNIQUE or CHECK constraint).
    (IntegrityError, 409, "conflict"),
    (DataError, 422, "invalid_input"),
)

#: First parts of a ``loc`` that already say where in the request the problem is.
REQUEST_PARTS = frozenset({"body", "query", "path", "header", "cookie", "file"})


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str
    ctx: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    """Every error answer: ``{"detail": [{"loc", "msg", "type"}]}``, FastAPI's 422 shape."""

    detail: list[ErrorItem]


#: The error statuses any route may answer, documented on every operation of the OpenAPI schema.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body could not be read (not JSON, or not UTF-8)."},
    401: {"model": ErrorBody, "description": "No valid 'Authorization: Bearer <token>' header."},
    403: {"model": ErrorBody, "description": "A role or sharing-policy rule refuses it; the message names the rule."},
    404: {"model": ErrorBody, "description": "No such object, or not shared with the caller's organisation."},
    409: {"model": ErrorBody, "description": "Conflicts with stored state; the message names the object in the way."},
    413: {"model": ErrorBody, "description": "The request body is larger than the route accepts; the message says "
                                             "the limit."},
    429: {"model": ErrorBody, "description": "Too many requests at once: retry after Retry-After seconds."},
    503: {"model": ErrorBody, "description": "The database was busy or unavailable: retry after Retry-After seconds. "
                                             "The message says whether anything may have been written."},
}


class OutageLog:
    """One log line when the database becomes unavailable, one when it is back (with what was refused).

    ``refused(exc)`` counts a request answered 503 because the database was unavailable;
    ``available(since)`` is called after a request reached the database, and ends the
    outage if that request began (``since``, from ``now()``) after the outage did: a lookup
    that began before the database went down proves nothing about it now.  Thread-safe:
    requests run in worker threads.
    """

    def __init__(self, log: logging.Logger = logger, *, clock: Any = time.monotonic) -> None:
        self._log = log
        self._clock = clock
        self._lock = threading.Lock()
        self._since: float | None = None
        self.refused_count = 0

    @property
    def in_outage(self) -> bool:
        return self._since is not None

    def now(self) -> float:
        return self._clock()

    def refused(self, exc: BaseException) -> None:
        with self._lock:
            if self._since is None:
                self._since = self._clock()
                self.refused_count = 0
                self._log.warning("database unavailable since %s: %s; answering 503 with Retry-After until it is "
                                  "back", format_utc(utc_now()), _driver_message(exc))
            self.refused_count += 1

    def available(self, since: float) -> None:
        if self._since is None:  # the common case, without taking the lock
            return
        with self._lock:
            if self._since is None or since < self._since:
                return
            lasted_s = self._clock() - self._since
            self._log.warning("database available again at %s after %.1f s; %d requests were refused with 503 "
                              "meanwhile", format_utc(utc_now()), lasted_s, self.refused_count)
            self._since = None


def _driver_message(exc: BaseException) -> str:
    """Return the first line of the driver's own message under ``exc`` (no SQL, no traceback)."""
    while exc.__cause__ is not None and not hasattr(exc, "orig"):
        exc = exc.__cause__
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {lines[0] if lines else ''}"


def error_body(loc: Sequence[Any], msg: str, type_: str, **extra: Any) -> dict[str, Any]:
    """Return one error in FastAPI's body shape."""
    item = {"loc": list(loc), "msg": msg, "type": type_, **extra}
    return {"detail": [item]}


def _loc(exc: BaseException) -> list[Any]:
    loc = list(getattr(exc, "loc", ()) or ())
    cause = exc.__cause__
    # A batch error raised "from" its first bad record (orbits.parse_elements): that record knows the line.
    if isinstance(exc, InvalidInputError) and isinstance(cause, InvalidInputError) and len(cause.loc) > len(loc):
        loc = list(cause.loc)
    # Store and library errors name the field only (("start",)); from a request it is a body field.
    if loc and loc[0] not in REQUEST_PARTS:
        loc = ["body", *loc]
    return loc


def _message(exc: BaseException) -> str:
    if isinstance(exc, IntegrityError | DataError):
        first = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else "constraint violated"
        return bounded_message(f"the database refused the request: {first}")
    return bounded_message(str(exc))


def excerpt(text: str, limit: int) -> str:
    """Return ``text``, or its first ``limit`` characters and a marker saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [cut: {len(text)} characters in all]"


def bounded_message(text: str) -> str:
    """Return an error message with each line cut to ``MAX_MESSAGE_LINE_CHARS`` and the whole to ``MAX_MESSAGE_CHARS``.

    Messages quote what they refuse (a TLE line, a record); an upload of one huge line
    must not come back whole.
    """
    if len(text) <= MAX_MESSAGE_LINE_CHARS and "\n" not in text:
        return text
    lines = [excerpt(line, MAX_MESSAGE_LINE_CHARS) for line in text.split("\n")]
    return excerpt("\n".join(lines), MAX_MESSAGE_CHARS)


def _unavailable_response(exc: BaseException, outage: OutageLog | None) -> JSONResponse:
    if outage is not None:
        outage.refused(exc)
    if isinstance(exc, CommitOutcomeUnknownError):
        message = ("the database connection was lost while the request was being committed, so the outcome is "
                   "unknown: it may or may not have been stored. Retrying with the same idempotency key is safe; "
                   "without one, check whether it was stored before retrying")
        type_ = "outcome_unknown"
    else:
        message = ("the database is unavailable (down, restarting or unreachable) and the request was not "
                   "completed; nothing was written: retry after Retry-After seconds")
        type_ = "unavailable"
    return JSONResponse(error_body([], message, type_), status_code=503,
                        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE_S)})


def response_for(exc: BaseException, outage: OutageLog | None = None) -> JSONResponse:
    """Return the mapped response for ``exc``, a 500 without internals when no family matches.

    ``outage``, if given, counts the requests refused because the database is unavailable.
    """
    if isinstance(exc, CommitOutcomeUnknownError) or is_unavailable(exc):
        return _unavailable_response(exc, outage)
    # A deadlock victim, a busy SQLite or no pooled connection free in time: nothing was written, a retry may succeed.
    if is_transient(exc) or isinstance(exc, PoolTimeoutError):
        return JSONResponse(error_body([], "the database was busy and the request was not completed; nothing "
                                       "was written: retry it", "busy"), status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER_BUSY_S)})
    for family, status, type_ in STATUS_BY_FAMILY:
        if isinstance(exc, family):
            extra: dict[str, Any] = {}
            if isinstance(exc, DoubleBookingError) and exc.contact_id is not None:
                extra["ctx"] = {"contact_id": exc.contact_id}
            headers = {"WWW-Authenticate": getattr(exc, "scheme", "Bearer")} if status == 401 else None
            return JSONResponse(error_body(_loc(exc), _message(exc), type_, **extra), status_code=status,
                                headers=headers)
    logger.error("unhandled %s", type(exc).__name__, exc_info=exc)
    return JSONResponse(error_body([], "internal server error; the request was not completed and nothing "
                                   "was written (the server log has the details)", "server_error"),
                        status_code=500)


def outage_log(request: Request) -> OutageLog | None:
    """Return the application's ``OutageLog`` (None for an application without one)."""
    return getattr(request.app.state, "outage", None)


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    return response_for(exc, outage_log(request))


def body_too_large_response(exc: BodyTooLargeError) -> JSONResponse:
    """Return the 413 answer for ``exc``."""
    return JSONResponse(error_body(["body"], str(exc.detail), "too_large"), status_code=413)


async def _handle_too_large(_request: Request, exc: BodyTooLargeError) -> JSONResponse:
    return body_too_large_response(exc)


async def _handle_http(_request: Request, exc: HTTPException) -> JSONResponse:
    # Starlette's own answers (an unknown path, a wrong method, an unreadable body) in the same body shape.
    loc = ["body"] if exc.status_code == 400 else []
    return JSONResponse(error_body(loc, bounded_message(str(exc.detail)), f"http_{exc.status_code}"),
                        status_code=exc.status_code, headers=exc.headers)


async def _handle_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's own shape; ``input`` and ``ctx`` may hold objects (a ValueError), so encode them.  Only an
    # excerpt of the input comes back: a 5 MB string refused for its length is not worth 5 MB of answer.
    found = exc.errors()
    errors = [{k: v for k, v in e.items() if k != "url"} for e in found[:MAX_VALIDATION_ERRORS]]
    for e in errors:
        e["msg"] = bounded_message(str(e.get("msg", "")))
        if "ctx" in e:
            e["ctx"] = {k: excerpt(str(v), MAX_INPUT_EXCERPT_CHARS) for k, v in e["ctx"].items()}
        if "input" in e:
            e["input"] = input_excerpt(e["input"])
    if len(found) > MAX_VALIDATION_ERRORS:
        errors.append({"loc": ["body"], "msg": f"{len(found) - MAX_VALIDATION_ERRORS} more errors are not listed; "
                                               f"fix the {MAX_VALIDATION_ERRORS} above and send it again",
                       "type": "more_errors"})
    return JSONResponse({"detail": jsonable_encoder(errors, custom_encoder={bytes: _bytes_text})},
                        status_code=422)


def input_excerpt(value: Any, limit: int = MAX_INPUT_EXCERPT_CHARS) -> Any:
    """Return ``value`` as it is if its JSON text is short, else the text's first ``limit`` characters and a marker.

    The text is built piece by piece and abandoned past the limit, so a huge input costs
    no more than a short one.
    """
    marker = f"… [cut: the input is longer than {limit} characters]"
    if isinstance(value, bytes):
        value = value[: limit + 1].decode("utf-8", errors="replace") if len(value) > limit else _bytes_text(value)
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + marker
    pieces: list[str] = []
    length = 0
    for piece in _json_pieces(value, limit):
        pieces.append(piece)
        length += len(piece)
        if length > limit:
            return "".join(pieces)[:limit] + marker
    return _json_safe(value)


def _json_pieces(value: Any, limit: int) -> Iterator[str]:
    """Yield ``value``'s JSON-like text in pieces, none much longer than ``limit``."""
    if isinstance(value, bytes):
        value = value[: limit + 1].decode("utf-8", errors="replace")
    if isinstance(value, str):
        yield '"' + value[: limit + 1] + '"'
    elif isinstance(value, dict):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            yield f'{", " if i else ""}"{str(key)[: limit + 1]}": '
            yield from _json_pieces(item, limit)
        yield "}"
    elif isinstance(value, list | tuple):
        yield "["
        for i, item in enumerate(value):
            if i:
                yield ", "
            yield from _json_pieces(item, limit)
        yield "]"
    else:
        yield str(value)[: limit + 1]


def _json_safe(value: Any) -> Any:
    """Return ``value`` with NaN and infinities as text ("nan", "inf"), which strict JSON cannot hold."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _bytes_text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping on ``app``, and its ``OutageLog`` as ``app.state.outage``."""
    app.state.outage = OutageLog()
    app.add_exception_handler(RequestValidationError, _handle_validation)  # type: ignore[arg-type]
    app.add_exception_handler(BodyTooLargeError, _handle_too_large)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _handle_http)  # type: ignore[arg-type]
    # Every database error is answered here, by status; only what no family matches reaches the 500 handler
    # (``Exception``), which logs it.
    for family in (GroundshareError, SQLAlchemyError, Exception):
        app.add_exception_handler(family, _handle)
