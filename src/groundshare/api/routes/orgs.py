"""Organisations: the caller's own, and the list of partners (names and kinds are not secret)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from groundshare.api.deps import CurrentToken, SessionDep
from groundshare.api.params import Limit, Offset
from groundshare.api.queries import page
from groundshare.api.schemas import MePublic, OrgPublic, OrgsPublic
from groundshare.store import Organisation

router = APIRouter(prefix="/orgs", tags=["orgs"])


@router.get("")
def list_orgs(session: SessionDep, _token: CurrentToken, offset: Offset = 0, limit: Limit = 100) -> OrgsPublic:
    """List every organisation of the network (id, name, kind), so that partners can grant each other antennas."""
    rows, count = page(session, select(Organisation), offset=offset, limit=limit, order_by=[Organisation.id])
    return OrgsPublic(data=[OrgPublic.model_validate(o) for o in rows], count=count)


@router.get("/me")
def read_me(token: CurrentToken) -> MePublic:
    """Return the caller's organisation and its token's role."""
    return MePublic(org=OrgPublic.model_validate(token.organisation), role=token.role)
