"""Request dependencies: the unit of work, the caller's token, organisation and role.

- ``SessionDep``: one unit of work per request (``store.session_scope``), committed once
  when the route returns, before the response is sent; rolled back if it raises.  GET
  requests begin DEFERRED on SQLite so that readers do not queue behind the write lock.
- ``ReadsOnly``: a route dependency declaring that the request's own unit of work only
  reads, whatever the method (a POST that writes in units of work of its own).
- ``authenticate``: from ``Authorization: Bearer <token>``, the id of an unrevoked,
  unexpired ``ApiToken`` matched by hash; ``AuthenticationError`` (401) otherwise.  The
  request gate (``api.limits.RequestGate``) calls it in a worker thread before the body
  is read, and passes the id on in the request scope (``TOKEN_ID_KEY``).
- Station-scoped tokens (``ApiToken.station_id``): under ``SATNOGS_PREFIX`` (the SatNOGS
  Network API that satnogs-client calls) the header is ``Authorization: Token <key>``, as
  the client sends it, and only a scoped token is accepted there; a scoped token anywhere
  else, and a Bearer header or an unscoped token under the prefix, are 401 saying so
  (``token_scheme``, ``check_scope``).
- ``CurrentToken`` / ``CurrentOrg``: that token's row, loaded by id in the request's unit
  of work (checked again: revoked or expired since answers 401).
- ``WriterToken``: the same, refusing viewer tokens with 403 (``PolicyError``).
- ``AdminToken``: the same, refusing every role but admin with 403 (managing tokens).

Tokens expire by the wall clock (``timeutil.utc_now``), not the network's clock, which a
demo may shift.  ``last_used_at`` is recorded at most once a minute per token, in a
statement of its own that waits at most ``LAST_USED_LOCK_WAIT_S`` for a lock and is
skipped if it cannot have one (it is bookkeeping; a later request records it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, joinedload, sessionmaker
from starlette.routing import get_route_path

from groundshare.api.errors import AuthenticationError
from groundshare.errors import PolicyError
from groundshare.store import ApiToken, Organisation, Role, hash_token, session_scope
from groundshare.store.db import SQLITE_BEGIN, SQLITE_BUSY_TIMEOUT_S
from groundshare.timeutil import format_utc, utc_now

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITER_ROLES = frozenset({Role.ADMIN, Role.OPERATOR})

#: Request-scope key of the authenticated token's id (set by ``api.limits.RequestGate``).
TOKEN_ID_KEY = "groundshare.token_id"
#: ``ApiToken.last_used_at`` is kept to this resolution, so that reads do not write on every request.
LAST_USED_RESOLUTION_S = 60.0
#: Longest wait for SQLite's write lock (PostgreSQL: the token's row lock) when recording ``last_used_at``.
LAST_USED_LOCK_WAIT_S = 0.25
#: An Authorization scheme named back in a 401 ("Basic"): a word, which a token ("gs_...") never is.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,19}")

_MISSING = ("missing Authorization header; send 'Authorization: Bearer <token>' with the token printed by "
            "'groundshare admin create-token'")
_UNKNOWN = "the bearer token is unknown or revoked; ask your organisation's admin for a new one"
#: Where station-scoped tokens work, and the only place they do: the SatNOGS Network API (``api.routes.satnogs``).
SATNOGS_PREFIX = "/satnogs/api/"
#: How a station-scoped token is created (named in the 401s of the SatNOGS prefix).
_SCOPED_HOW = ("an admin of the station's organisation creates one with POST /tokens {\"label\": ..., \"role\": "
               "\"operator\", \"station_id\": <station id>} and sets it as SATNOGS_API_TOKEN")


def token_scheme(path: str) -> str:
    """Return the Authorization scheme of a request path: ``Token`` under ``SATNOGS_PREFIX``, ``Bearer`` elsewhere."""
    return "Token" if path.startswith(SATNOGS_PREFIX) else "Bearer"


def check_scope(station_id: int | None, scheme: str) -> None:
    """Refuse (401) a station-scoped token off ``SATNOGS_PREFIX``, and an unscoped one under it."""
    if scheme == "Bearer" and station_id is not None:
        raise AuthenticationError(f"this token is scoped to SatNOGS station {station_id}; use it only under "
                                  f"{SATNOGS_PREFIX} (as that station's SATNOGS_API_TOKEN), and a bearer token of "
                                  "your organisation everywhere else")
    if scheme == "Token" and station_id is None:
        raise AuthenticationError(f"under {SATNOGS_PREFIX} only a station-scoped token is accepted, and this one is "
                                  f"not scoped to a station; {_SCOPED_HOW}", scheme="Token")


#: Request-scope key set by ``ReadsOnly``: the request's unit of work only reads.
READS_ONLY_KEY = "groundshare.reads_only"


async def declare_reads_only(request: Request) -> None:
    """Declare that the request's unit of work only reads (``ReadsOnly``)."""
    request.scope[READS_ONLY_KEY] = True


#: Declared in a route's ``dependencies``, which FastAPI resolves before the route's parameters (and so
#: before the session that the token check opens): that session begins as a read, whatever the method.
ReadsOnly = Depends(declare_reads_only)

#: Request-scope key set by ``Writes``: the request's unit of work writes, whatever the method.
WRITES_KEY = "groundshare.writes"


async def declare_writes(request: Request) -> None:
    """Declare that the request's unit of work writes, though its method reads (``Writes``)."""
    request.scope[WRITES_KEY] = True


#: A GET that writes (satnogs-client's job poll records when the station was last seen): its session begins as
#: a write (``BEGIN IMMEDIATE`` on SQLite), so it never has to upgrade a read to a write.
Writes = Depends(declare_writes)


def get_session(request: Request) -> Iterator[Session]:
    """Yield the request's session; commit after the route returns, roll back if it raises.

    A POST whose route declares ``ReadsOnly`` (it writes in units of work of its own, e.g.
    a planning run that solves for seconds before booking) gets a read session, so
    SQLite's write lock is not held while it computes.
    """
    write = (request.method not in READ_METHODS and not request.scope.get(READS_ONLY_KEY, False)) \
        or request.scope.get(WRITES_KEY, False)
    with session_scope(request.app.state.session_factory, write=write) as session:
        yield session


# scope="function": the commit happens before the response is sent, so a 2xx means it is stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def bearer_token(header: str | None, scheme: str = "Bearer") -> str:
    """Return the token of an ``Authorization: Bearer <token>`` header, or raise ``AuthenticationError``.

    With ``scheme="Token"`` (``SATNOGS_PREFIX``) the header must be ``Token <key>``
    instead.  The message never repeats the header's value beyond a scheme word: a token
    sent without "Bearer " is still a secret.
    """
    if scheme == "Token":
        return _satnogs_token(header)
    if not header or not header.strip():
        raise AuthenticationError(_MISSING)
    scheme, separator, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer":
        if token:
            return token
        raise AuthenticationError("the Authorization header says 'Bearer' but carries no token; send "
                                  "'Authorization: Bearer <token>'")
    if separator and _SCHEME.fullmatch(scheme):
        problem = f"it uses the {scheme!r} scheme"
    else:
        problem = "it does not start with 'Bearer ' (a token sent alone needs the word Bearer and a space before it)"
    raise AuthenticationError(f"the Authorization header must be 'Bearer <token>'; {problem}")


def _satnogs_token(header: str | None) -> str:
    """Return the key of an ``Authorization: Token <key>`` header (satnogs-client's), or raise (401, scheme Token)."""
    if not header or not header.strip():
        raise AuthenticationError(f"missing Authorization header; under {SATNOGS_PREFIX} send 'Authorization: Token "
                                  f"<key>' with a station-scoped token (satnogs-client sends its SATNOGS_API_TOKEN "
                                  f"so); {_SCOPED_HOW}", scheme="Token")
    scheme, separator, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() == "token" and token:
        return token
    if scheme.lower() == "token":
        raise AuthenticationError("the Authorization header says 'Token' but carries no key; send 'Authorization: "
                                  "Token <key>'", scheme="Token")
    if separator and _SCHEME.fullmatch(scheme):
        problem = f"it uses the {scheme!r} scheme"
    else:
        problem = "it does not start with 'Token ' (a key sent alone needs the word Token and a space before it)"
    raise AuthenticationError(f"under {SATNOGS_PREFIX} the Authorization header must be 'Token <key>' with a "
                              f"station-scoped token, as satnogs-client sends it; {problem}", scheme="Token")


class _TokenState(Protocol):
    revoked_at: datetime | None
    expires_at: datetime | None


def _refuse_unusable(token: _TokenState | None, now: datetime) -> None:
    if token is None or token.revoked_at is not None:
        raise AuthenticationError(_UNKNOWN)
    if token.expires_at is not None and token.expires_at <= now:
        raise AuthenticationError(f"the bearer token expired at {format_utc(token.expires_at)}; ask your "
                                  "organisation's admin for a new one (POST /tokens, or 'groundshare admin "
                                  "create-token'), then send it instead")


@dataclass(frozen=True)
class KnownToken:
    """What the request gate learnt of a live token: its id, expiry, when it was last recorded used and looked up."""

    token_id: int
    expires_at: datetime | None
    last_used_at: datetime | None
    seen_s: float  # time.monotonic() of the lookup
    station_id: int | None = None  # the station it is scoped to (``ApiToken.station_id``)


class TokenCache:
    """Tokens the gate found live in the last ``TOKEN_CACHE_S`` seconds, by hash (never the token itself).

    It only spares the gate a database lookup per request: the request's own unit of work
    loads the token again (``current_token``) and refuses it if it was revoked or expired
    meanwhile, so a revoked token never does anything; at most its body is read, within
    the size limit.  Unknown tokens are not kept.
    """

    def __init__(self, ttl_s: float = 0.0, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._known: dict[str, KnownToken] = {}

    def get(self, token_hash: str, now: datetime) -> KnownToken | None:
        """Return the fresh, unexpired entry of ``token_hash``, or None."""
        known = self._known.get(token_hash)
        if known is None or time.monotonic() - known.seen_s > self.ttl_s:
            return None
        if known.expires_at is not None and known.expires_at <= now:
            return None
        return known

    def clear(self) -> None:
        """Forget every token (the next request of each is looked up again)."""
        self._known.clear()

    def put(self, token_hash: str, known: KnownToken) -> None:
        if self.ttl_s <= 0:
            return
        if len(self._known) >= self.max_entries:
            self._known.clear()  # a burst of distinct live tokens: start again rather than grow
        self._known[token_hash] = known


#: How long the gate trusts a token it found live, seconds (the request itself re-checks it).
TOKEN_CACHE_S = 10.0


def authenticate(factory: sessionmaker[Session], header: str | None, *, now: datetime | None = None,
                 cache: TokenCache | None = None, scheme: str = "Bearer") -> int:
    """Return the id of the live token in the Authorization ``header``; ``AuthenticationError`` otherwise.

    Looks the token up by hash in a read-only unit of work (unless ``cache`` knows it),
    then records ``last_used_at`` if it is older than ``LAST_USED_RESOLUTION_S``.
    ``scheme`` is the path's (``token_scheme``): a token used outside its scope is 401
    (``check_scope``).  Blocking (database I/O): the request gate runs it in a worker
    thread when the cache misses (``cached_token_id``).  A database failure propagates
    (503 upstream).
    """
    text = bearer_token(header, scheme)
    now = now or utc_now()
    token_hash = hash_token(text)
    with session_scope(factory, write=False) as session:
        row = session.execute(
            select(ApiToken.id, ApiToken.revoked_at, ApiToken.expires_at, ApiToken.last_used_at, ApiToken.station_id)
            .where(ApiToken.token_hash == token_hash)
        ).one_or_none()
        engine = session.get_bind()
    _refuse_unusable(row, now)
    assert row is not None
    check_scope(row.station_id, scheme)
    last_used_at = row.last_used_at
    due = last_used_at is None or now - last_used_at >= timedelta(seconds=LAST_USED_RESOLUTION_S)
    if due and record_last_used(engine, row.id, now):
        last_used_at = now
    if cache is not None:
        cache.put(token_hash, KnownToken(row.id, row.expires_at, last_used_at, time.monotonic(), row.station_id))
    return row.id


def cached_token_id(cache: TokenCache, header: str | None, *, now: datetime | None = None,
                    scheme: str = "Bearer") -> int | None:
    """Return the token id ``cache`` vouches for (no database, no blocking), or None to look it up.

    None too when ``last_used_at`` is due for recording, so that the lookup records it.
    A token known but used outside its scope is 401 (``check_scope``).
    """
    token_hash = hash_token(bearer_token(header, scheme))
    now = now or utc_now()
    known = cache.get(token_hash, now)
    if known is not None:
        check_scope(known.station_id, scheme)
    if known is None or known.last_used_at is None:
        return None
    if now - known.last_used_at >= timedelta(seconds=LAST_USED_RESOLUTION_S):
        return None
    return known.token_id


def record_last_used(engine: Engine, token_id: int, now: datetime) -> bool:
    """Set the token's ``last_used_at`` to ``now`` unless it is recent; return whether the write was made.

    One UPDATE in a transaction of its own, taking SQLite's write lock (or the row's lock)
    only for that statement and waiting at most ``LAST_USED_LOCK_WAIT_S`` for it; busy or
    failing, it is skipped.
    """
    stale_before = now - timedelta(seconds=LAST_USED_RESOLUTION_S)
    statement = (update(ApiToken)
                 .where(ApiToken.id == token_id,
                        or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < stale_before))
                 .values(last_used_at=now))
    wait_ms = round(LAST_USED_LOCK_WAIT_S * 1000)
    sqlite = engine.dialect.name == "sqlite"
    try:
        # DEFERRED: the UPDATE is the first statement, so SQLite takes its write lock there, not at BEGIN.
        with engine.connect() as connection, connection.execution_options(**{SQLITE_BEGIN: "DEFERRED"}).begin():
            if not sqlite:
                connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{wait_ms}ms'")
                connection.execute(statement)
                return True
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {wait_ms}")
            try:
                connection.execute(statement)
            finally:
                connection.exec_driver_sql(f"PRAGMA busy_timeout = {round(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            return True
    except SQLAlchemyError:
        return False


def current_token(request: Request, session: SessionDep) -> ApiToken:
    """Return the caller's live API token, or raise ``AuthenticationError`` (401).

    The request gate has authenticated the header and left the token's id in the scope;
    without a gate (an application built otherwise) the header is checked here.
    """
    now = utc_now()
    scheme = token_scheme(get_route_path(request.scope))
    token_id = request.scope.get(TOKEN_ID_KEY)
    if token_id is None:
        token = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(
            bearer_token(request.headers.get("authorization"), scheme))).options(
            joinedload(ApiToken.organisation))).one_or_none()
    else:  # with its organisation, which nearly every route needs: one query
        token = session.get(ApiToken, token_id, options=[joinedload(ApiToken.organisation)])
    _refuse_unusable(token, now)  # revoked or expired since the gate let it through (or its cache)
    assert token is not None
    check_scope(token.station_id, scheme)
    return token


CurrentToken = Annotated[ApiToken, Depends(current_token)]


# The dependencies below only read what ``current_token`` loaded (the organisation with the token), so they are
# coroutines: FastAPI runs them on the event loop instead of handing each to a worker thread and back.

async def current_org(token: CurrentToken) -> Organisation:
    """Return the organisation the caller's token belongs to (loaded with the token: no query)."""
    return token.organisation


CurrentOrg = Annotated[Organisation, Depends(current_org)]


def writer_token(token: CurrentToken) -> ApiToken:
    """Return the caller's token if its role may write; ``PolicyError`` (403) for viewers."""
    if token.role not in WRITER_ROLES:
        raise PolicyError(f"the token's role is {token.role.value!r}; the role rule allows only operator and admin "
                          "tokens to create, change, delete, book or cancel (viewer tokens read only)")
    return token


async def _writer_token(token: CurrentToken) -> ApiToken:
    return writer_token(token)


WriterToken = Annotated[ApiToken, Depends(_writer_token)]


async def admin_token(token: CurrentToken) -> ApiToken:
    """Return the caller's token if it is an admin's; ``PolicyError`` (403) for operators and viewers."""
    if token.role is not Role.ADMIN:
        raise PolicyError(f"the token's role is {token.role.value!r}; the role rule allows only admin tokens to "
                          "create, list or revoke API tokens (ask your organisation's admin)")
    return token


AdminToken = Annotated[ApiToken, Depends(admin_token)]
