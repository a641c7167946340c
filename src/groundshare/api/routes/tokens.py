"""API tokens of the caller's organisation (admin tokens only; others get 403 naming the role rule).

A new token's text is in the creation response only: the database keeps its hash.  A
token may be given an expiry (``expires_at`` or ``expires_in_days``, by the wall clock);
after it, the token answers 401 saying so.  Listings show when each was last used (to the
minute).  Revoking is for good (the token then answers 401); revoking a revoked token changes
nothing.  The organisation's last unrevoked admin token cannot be revoked (409), so an
organisation cannot lock itself out of managing its tokens.

A token created with ``station_id`` (a station of the caller's organisation; role
``operator``) is scoped to that station: it is a SatNOGS station's ``SATNOGS_API_TOKEN``,
accepted only under ``/satnogs/api/`` as ``Authorization: Token <key>`` (``api.deps``).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from groundshare.api.deps import AdminToken, CurrentOrg, SessionDep
from groundshare.api.params import Limit, Offset, PathId
from groundshare.api.queries import get_visible, own_tokens, page
from groundshare.api.schemas import TokenCreate, TokenCreated, TokenPublic, TokensPublic
from groundshare.errors import ConflictError, InvalidInputError, NotFoundError
from groundshare.store import ApiToken, Role, Satellite, Station
from groundshare.timeutil import format_utc, utc_now

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, session: SessionDep, org: CurrentOrg, _token: AdminToken) -> TokenCreated:
    """Issue a token of the caller's organisation; its text is shown in this response only."""
    now = utc_now()
    expires_at = body.expires_at
    if body.expires_in_days is not None:
        expires_at = now + timedelta(days=body.expires_in_days)
    elif expires_at is not None and expires_at <= now:
        raise InvalidInputError(f"expires_at {format_utc(expires_at)} is not in the future (now is {format_utc(now)}); "
                                "send a later time, or expires_in_days", loc=("expires_at",))
    if body.station_id is not None:
        if body.role is not Role.OPERATOR:
            raise InvalidInputError(f"a station-scoped token (station_id {body.station_id}) has role 'operator' (its "
                                    f"satnogs-client polls jobs and uploads); got {body.role.value!r}",
                                    loc=("body", "role"))
        station = session.get(Station, body.station_id)
        if station is None or station.org_id != org.id:
            raise NotFoundError(f"station_id: station {body.station_id} does not exist or is not your "
                                "organisation's; a token can be scoped only to a station you own (GET /stations)")
    if body.can_command or body.command_satellite_ids:
        _check_command(session, org.id, body)
    row, text = ApiToken.issue(org.id, body.role, label=body.label, station_id=body.station_id)
    row.expires_at = expires_at
    row.can_command = body.can_command
    row.command_satellite_ids = sorted(set(body.command_satellite_ids))
    session.add(row)
    session.flush()
    return TokenCreated(**TokenPublic.model_validate(row).model_dump(), token=text)


@router.get("")
def list_tokens(session: SessionDep, org: CurrentOrg, _token: AdminToken, offset: Offset = 0,
                limit: Limit = 100) -> TokensPublic:
    """List the organisation's tokens, revoked ones included (never their text or hash)."""
    rows, count = page(session, own_tokens(session, org), offset=offset, limit=limit, order_by=[ApiToken.id])
    return TokensPublic(data=[TokenPublic.model_validate(t) for t in rows], count=count)


@router.post("/{token_id}/revoke")
def revoke_token(token_id: PathId, session: SessionDep, org: CurrentOrg, _token: AdminToken) -> TokenPublic:
    """Revoke a token of the caller's organisation (the caller's own included, unless it is the last admin's)."""
    token = get_visible(session, own_tokens(session, org), ApiToken, token_id, "token")
    if token.revoked_at is None:
        if token.role is Role.ADMIN:
            # Lock the organisation's live admin tokens, so two admins revoking each other at once
            # cannot both see the other as the one left (PostgreSQL; SQLite's write lock already orders them).
            admins = list(session.scalars(own_tokens(session, org).where(
                ApiToken.role == Role.ADMIN, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id).with_for_update()
                .execution_options(populate_existing=True)))
            if [a.id for a in admins] == [token.id]:
                raise ConflictError(f"token {token.id} is the last unrevoked admin token of {org.name}; revoking it "
                                    "would leave nobody able to manage the organisation's tokens\n\nCreate another "
                                    "admin token first (POST /tokens with role 'admin'), then revoke this one")
        token.revoked_at = utc_now()
        session.flush()
    return TokenPublic.model_validate(token)


def _check_command(session: Session, org_id: int, body: TokenCreate) -> None:
    """Refuse a command permission on a viewer or station-scoped token, or naming another's satellites."""
    if not body.can_command:
        raise InvalidInputError("command_satellite_ids is given but can_command is false; set can_command true to "
                                "let the token command those satellites", loc=("body", "can_command"))
    if body.role is Role.VIEWER or body.station_id is not None:
        what = "a viewer token" if body.role is Role.VIEWER else "a station-scoped token"
        raise InvalidInputError(f"{what} cannot command; give role 'operator' (or 'admin') and no station_id",
                                loc=("body", "can_command"))
    wanted = set(body.command_satellite_ids)
    own = set(session.scalars(select(Satellite.id).where(Satellite.id.in_(wanted), Satellite.org_id == org_id)))
    if wanted - own:
        raise InvalidInputError(f"command_satellite_ids names satellites {sorted(wanted - own)}, which your "
                                "organisation does not operate (GET /satellites lists yours)",
                                loc=("body", "command_satellite_ids"))
