"""Events (what happened to a satellite, station or contact) and the webhooks that are told of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from groundshare.api.schemas.common import Page, RowModel


class EventPublic(RowModel):
    id: int
    at: datetime
    kind: str = Field(description="e.g. elements.updated, source.failed, contact.moved, contact.cancelled.")
    satellite_id: int | None
    station_id: int | None
    contact_id: int | None
    message: str
    payload: dict[str, Any]


class EventsPublic(Page[EventPublic]):
    """Events oldest first; ``next_after_id`` is the ``after_id`` of the next page (null: none returned)."""

    next_after_id: int | None = None


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2000, description="http(s) URL that receives each event as a POST.")
    enabled: bool = True


class WebhookPublic(RowModel):
    id: int
    org_id: int
    url: str
    enabled: bool
    created_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str = Field(description=(
        "Shown once: each delivery carries X-Groundshare-Signature: sha256=<hex HMAC-SHA256 of the body under it>."))


class WebhooksPublic(Page[WebhookPublic]):
    pass
