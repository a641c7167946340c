"""Request dependencies: the unit of work, the caller's organisation and role.

- ``SessionDep``: one unit of work per request (``store.session_scope``), committed once
  when the route returns, before the response is sent; rolled back if it raises.  GET
  requests begin DEFERRED on SQLite so that readers do not queue behind the write lock.
- ``CurrentToken`` / ``CurrentOrg``: from ``Authorization: Bearer <token>``, matched by
  hash against unrevoked ``ApiToken`` rows; 401 otherwise.
- ``WriterToken``: the same, refusing viewer tokens with 403 (``PolicyError``).
- ``AdminToken``: the same, refusing every role but admin with 403 (managing tokens).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from groundshare.api.errors import AuthenticationError
from groundshare.errors import PolicyError
from groundshare.store import ApiToken, Organisation, Role, hash_token, session_scope

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITER_ROLES = frozenset({Role.ADMIN, Role.OPERATOR})


def get_session(request: Request) -> Iterator[Session]:
    """Yield the request's session; commit after the route returns, roll back if it raises.

    A POST whose endpoint is marked ``reads_only`` (it writes in units of work of its own,
    e.g. a planning run that solves for seconds before booking) gets a read session, so
    SQLite's write lock is not held while it computes.
    """
    route = request.scope.get("route")
    reads_only = getattr(getattr(route, "endpoint", None), "reads_only", False)
    write = request.method not in READ_METHODS and not reads_only
    with session_scope(request.app.state.session_factory, write=write) as session:
        yield session


# scope="function": the commit happens before the response is sent, so a 2xx means it is stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def current_token(request: Request, session: SessionDep) -> ApiToken:
    """Return the caller's unrevoked API token, or raise ``AuthenticationError`` (401)."""
    header = request.headers.get("authorization")
    if not header:
        raise AuthenticationError("missing Authorization header; send 'Authorization: Bearer <token>' with the "
                                  "token printed by 'groundshare admin create-token'", loc=("header", "Authorization"))
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationError(f"the Authorization header must be 'Bearer <token>', got a {scheme!r} header",
                                  loc=("header", "Authorization"))
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).one_or_none()
    if row is None:
        raise AuthenticationError("the bearer token is unknown or revoked; ask your organisation's admin for a "
                                  "new one", loc=("header", "Authorization"))
    return row


CurrentToken = Annotated[ApiToken, Depends(current_token)]


def current_org(token: CurrentToken) -> Organisation:
    """Return the organisation the caller's token belongs to."""
    return token.organisation


CurrentOrg = Annotated[Organisation, Depends(current_org)]


def writer_token(token: CurrentToken) -> ApiToken:
    """Return the caller's token if its role may write; ``PolicyError`` (403) for viewers."""
    if token.role not in WRITER_ROLES:
        raise PolicyError(f"the token's role is {token.role.value!r}; the role rule allows only operator and admin "
                          "tokens to create, change, delete, book or cancel (viewer tokens read only)")
    return token


WriterToken = Annotated[ApiToken, Depends(writer_token)]


def admin_token(token: CurrentToken) -> ApiToken:
    """Return the caller's token if it is an admin's; ``PolicyError`` (403) for operators and viewers."""
    if token.role is not Role.ADMIN:
        raise PolicyError(f"the token's role is {token.role.value!r}; the role rule allows only admin tokens to "
                          "create, list or revoke API tokens (ask your organisation's admin)")
    return token


AdminToken = Annotated[ApiToken, Depends(admin_token)]
