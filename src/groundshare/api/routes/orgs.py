"""The caller's organisation."""

from __future__ import annotations

from fastapi import APIRouter

from groundshare.api.deps import CurrentToken
from groundshare.api.schemas import MePublic, OrgPublic

router = APIRouter(prefix="/orgs", tags=["orgs"])


@router.get("/me")
def read_me(token: CurrentToken) -> MePublic:
    """Return the caller's organisation and its token's role."""
    return MePublic(org=OrgPublic.model_validate(token.organisation), role=token.role)
