"""Map exceptions to HTTP responses, in this one place (no per-route try/except).

Every error body has FastAPI's own 422 shape, ``{"detail": [{"loc": [...], "msg": "...",
"type": "..."}]}``, so clients parse one form.  ``STATUS_BY_FAMILY`` is the table:
the first family an exception belongs to gives its status.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException

from groundshare.errors import ConflictError, GroundshareError, InvalidInputError, NotFoundError, PolicyError
from groundshare.store import DoubleBookingError, is_transient

logger = logging.getLogger(__name__)


class AuthenticationError(GroundshareError):
    """The request carries no valid ``Authorization: Bearer <token>`` header."""

    def __init__(self, message: str, *, loc: tuple[str, ...] = ("header", "Authorization")) -> None:
        super().__init__(message)
        self.loc = loc


#: Family -> (HTTP status, error "type").  Order matters: the first match wins.
STATUS_BY_FAMILY: tuple[tuple[type[BaseException], int, str], ...] = (
    (AuthenticationError, 401, "unauthenticated"),
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
    503: {"model": ErrorBody, "description": "The database was busy; nothing was written: retry (Retry-After)."},
}


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
        return f"the database refused the request: {first}"
    return str(exc)


def response_for(exc: BaseException) -> JSONResponse:
    """Return the mapped response for ``exc``, a 500 without internals when no family matches."""
    # A deadlock victim, a busy SQLite or no pooled connection free in time: nothing was written, a retry may succeed.
    if is_transient(exc) or isinstance(exc, PoolTimeoutError):
        return JSONResponse(error_body([], "the database was busy and the request was not completed; nothing "
                                       "was written: retry it", "busy"), status_code=503,
                            headers={"Retry-After": "1"})
    for family, status, type_ in STATUS_BY_FAMILY:
        if isinstance(exc, family):
            extra: dict[str, Any] = {}
            if isinstance(exc, DoubleBookingError) and exc.contact_id is not None:
                extra["ctx"] = {"contact_id": exc.contact_id}
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return JSONResponse(error_body(_loc(exc), _message(exc), type_, **extra), status_code=status,
                                headers=headers)
    logger.error("unhandled %s", type(exc).__name__, exc_info=exc)
    return JSONResponse(error_body([], "internal server error; the request was not completed and nothing "
                                   "was written (the server log has the details)", "server_error"),
                        status_code=500)


async def _handle(_request: Request, exc: Exception) -> JSONResponse:
    return response_for(exc)


async def _handle_http(_request: Request, exc: HTTPException) -> JSONResponse:
    # Starlette's own answers (an unknown path, a wrong method, an unreadable body) in the same body shape.
    loc = ["body"] if exc.status_code == 400 else []
    return JSONResponse(error_body(loc, str(exc.detail), f"http_{exc.status_code}"), status_code=exc.status_code,
                        headers=exc.headers)


async def _handle_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's own shape; ``input`` and ``ctx`` may hold objects (a ValueError), so encode them.
    errors = [{k: v for k, v in e.items() if k != "url"} for e in exc.errors()]
    for e in errors:
        if "ctx" in e:
            e["ctx"] = {k: str(v) for k, v in e["ctx"].items()}
        if "input" in e:
            e["input"] = _json_safe(e["input"])
    return JSONResponse({"detail": jsonable_encoder(errors, custom_encoder={bytes: _bytes_text})},
                        status_code=422)


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
    """Register the mapping on ``app``."""
    app.add_exception_handler(RequestValidationError, _handle_validation)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _handle_http)  # type: ignore[arg-type]
    for family in (GroundshareError, IntegrityError, DataError, OperationalError, Exception):
        app.add_exception_handler(family, _handle)
