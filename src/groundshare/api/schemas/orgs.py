"""Organisations and their API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from groundshare.api.schemas.common import Page, RowId, RowModel, UtcTime
from groundshare.store import OrgKind, Role

Label = Annotated[str, Field(max_length=200)]
#: Longest lifetime a token may be given in days (ten years); leave both expiry fields out for none.
MAX_TOKEN_DAYS = 3650


class OrgPublic(RowModel):
    id: int
    name: str
    kind: OrgKind


class MePublic(BaseModel):
    """The caller: its organisation and its token's role."""

    org: OrgPublic
    role: Role


class OrgsPublic(Page[OrgPublic]):
    pass


class TokenCreate(BaseModel):
    """A new token: its role, a label, and optionally when it expires (by the wall clock, UTC)."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    label: Label = ""
    expires_at: UtcTime | None = Field(default=None, description=(
        "When the token stops working (ISO 8601 with Z or an offset; in the future). Leave out, with "
        "expires_in_days, for a token that does not expire."))
    expires_in_days: float | None = Field(default=None, gt=0, le=MAX_TOKEN_DAYS, allow_inf_nan=False, description=(
        f"The token stops working this many days from now (up to {MAX_TOKEN_DAYS}); instead of expires_at."))
    station_id: RowId | None = Field(default=None, description=(
        "Scope the token to this station of your organisation, for its satnogs-client (SATNOGS_API_TOKEN): it then "
        "works only under /satnogs/api/ (as 'Authorization: Token <key>') and only for that station. Role "
        "'operator'."))
    can_command: bool = Field(default=False, description=(
        "Whether it may command (uplink to) your organisation's satellites in a live contact session "
        "(/contacts/{id}/session). Role 'operator' or 'admin'."))
    command_satellite_ids: list[RowId] = Field(default_factory=list, max_length=1000, description=(
        "The satellites it may command (ids of your organisation's satellites); empty: every one of them."))

    @model_validator(mode="after")
    def _one_expiry(self) -> TokenCreate:
        if self.expires_at is not None and self.expires_in_days is not None:
            raise ValueError("send expires_at or expires_in_days, not both: they both say when the token expires")
        return self


class TokenPublic(RowModel):
    """A token of the caller's organisation, without its secret (only its hash is stored)."""

    id: int
    org_id: int
    role: Role
    label: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = Field(description="When it stops working (null: it does not expire).")
    last_used_at: datetime | None = Field(description=(
        "When a request last authenticated with it, to the minute (null: never used)."))
    station_id: int | None = Field(default=None, description=(
        "The SatNOGS station it is scoped to (usable only under /satnogs/api/), or null: an ordinary bearer token."))
    can_command: bool = Field(default=False, description="Whether it may command satellites in live sessions.")
    command_satellite_ids: list[int] = Field(default_factory=list, description=(
        "The satellites it may command; empty: every one of its organisation's."))


class TokenCreated(TokenPublic):
    """A new token; ``token`` is shown this once and cannot be read again."""

    token: str


class TokensPublic(Page[TokenPublic]):
    pass
