"""Webhooks of the caller's organisation: endpoints told of its events (``store.webhooks``).

``POST /webhooks`` answers the secret once; every delivery is a POST of the event's JSON
with ``X-Groundshare-Signature: sha256=<hex HMAC-SHA256 of the body under the secret>``,
``X-Groundshare-Event`` and ``X-Groundshare-Delivery``.  Deliveries are sent by the
worker (``groundshare worker``), never inside a request, and retried with backoff (30 s,
doubling, 8 attempts).
"""

from __future__ import annotations

from fastapi import APIRouter, status

from groundshare.api.deps import CurrentOrg, SessionDep, WriterToken
from groundshare.api.params import PathId
from groundshare.api.schemas import WebhookCreate, WebhookCreated, WebhookPublic, WebhooksPublic
from groundshare.store.webhooks import create_webhook, delete_webhook, org_webhooks

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.get("")
def list_webhooks(session: SessionDep, org: CurrentOrg) -> WebhooksPublic:
    """List the organisation's webhooks (never their secrets)."""
    rows = org_webhooks(session, org)
    return WebhooksPublic(data=[WebhookPublic.model_validate(w) for w in rows], count=len(rows))


@router.post("", status_code=status.HTTP_201_CREATED)
def add_webhook(body: WebhookCreate, session: SessionDep, org: CurrentOrg, _token: WriterToken) -> WebhookCreated:
    """Add a webhook; its signing secret is in this response only."""
    webhook, secret = create_webhook(session, org, body.url, enabled=body.enabled)
    return WebhookCreated(**WebhookPublic.model_validate(webhook).model_dump(), secret=secret)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_webhook(webhook_id: PathId, session: SessionDep, org: CurrentOrg, _token: WriterToken) -> None:
    """Delete one of the organisation's webhooks and its pending deliveries."""
    delete_webhook(session, org, webhook_id)
