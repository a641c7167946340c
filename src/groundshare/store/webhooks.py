"""Webhooks: each organisation's endpoints, told of its events with signed, retried deliveries.

``record_event`` (``store.events``) queues a ``WebhookDelivery`` per enabled webhook of
the organisations an event concerns.  ``deliver_due`` sends the due ones, outside any
request (the worker calls it every few seconds):

- the body is the event as JSON (``event_body``); headers ``Content-Type:
  application/json``, ``X-Groundshare-Event: <kind>``, ``X-Groundshare-Delivery: <id>``
  and ``X-Groundshare-Signature: sha256=<hex>``, the HMAC-SHA256 of the body under the
  webhook's secret (the receiver recomputes it and compares in constant time);
- a 2xx answer delivers it; anything else (another status, a refused connection, a
  timeout) is retried with exponential backoff: 30 s after the first attempt, doubling,
  at most ``MAX_ATTEMPTS`` attempts in all; after the last, ``next_attempt_at`` is
  cleared and ``last_error`` says why.

Deliveries are claimed first (``next_attempt_at`` moved ``CLAIM_S`` ahead, in its own
unit of work), then sent with no transaction open, then their outcome written: a slow
endpoint holds no lock, and a second runner does not send the same delivery at once.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from groundshare.errors import ConflictError, InvalidInputError, NotFoundError
from groundshare.store.db import session_scope
from groundshare.store.models import Event, Organisation, Webhook, WebhookDelivery
from groundshare.timeutil import format_utc, require_utc, utc_now

#: Seconds before the second attempt; each later one waits twice as long.
FIRST_RETRY_S = 30.0
#: Attempts in all before a delivery is given up.
MAX_ATTEMPTS = 8
#: How long a claimed delivery is held by the runner that claimed it (seconds).
CLAIM_S = 120.0
#: Most webhooks one organisation may have.
MAX_WEBHOOKS_PER_ORG = 10
#: How long ``http_post`` waits for an endpoint (seconds).
POST_TIMEOUT_S = 10.0

#: ``post(url, body, headers) -> HTTP status``; raising counts as a failed attempt.
Post = Callable[[str, bytes, dict[str, str]], int]


@dataclass(slots=True)
class DeliveryReport:
    """What one ``deliver_due`` call did."""

    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    #: Of ``failed``, those that had no attempt left.
    gave_up: int = 0
    errors: list[str] = field(default_factory=list)


def sign(secret: str, body: bytes) -> str:
    """Return the ``X-Groundshare-Signature`` value of ``body``: ``sha256=`` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def event_body(event: Event) -> bytes:
    """Return the JSON a webhook receives for ``event`` (the fields of ``GET /events``)."""
    return json.dumps({
        "id": event.id, "at": format_utc(event.at), "kind": event.kind, "satellite_id": event.satellite_id,
        "station_id": event.station_id, "contact_id": event.contact_id, "message": event.message,
        "payload": event.payload,
    }, sort_keys=True, separators=(",", ":")).encode("utf-8")


def retry_delay_s(attempts: int) -> float | None:
    """Return the wait after ``attempts`` failed attempts (30 s, 60 s, ...), or None when none is left."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return FIRST_RETRY_S * 2 ** (attempts - 1)


def http_post(url: str, body: bytes, headers: dict[str, str], *, timeout_s: float = POST_TIMEOUT_S) -> int:
    """POST ``body`` to ``url`` and return the HTTP status (an HTTP error's status too); no redirect is followed."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@dataclass(frozen=True, slots=True)
class _Claimed:
    delivery_id: int
    attempts: int
    url: str
    body: bytes
    headers: dict[str, str]


def deliver_due(factory: sessionmaker[Session], *, post: Post = http_post, now: datetime | None = None,
                limit: int = 100) -> DeliveryReport:
    """Send up to ``limit`` due webhook deliveries with ``post``; return what happened.  Commits its own units."""
    now = require_utc(now, "now") if now is not None else utc_now()
    claimed: list[_Claimed] = []
    with session_scope(factory) as session:
        query = (select(WebhookDelivery).join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                 .where(WebhookDelivery.delivered_at.is_(None), WebhookDelivery.next_attempt_at.is_not(None),
                        WebhookDelivery.next_attempt_at <= now, Webhook.enabled)
                 .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
        for delivery in session.scalars(query):
            event, webhook = delivery.event, delivery.webhook
            body = event_body(event)
            headers = {"Content-Type": "application/json", "User-Agent": "groundshare-webhooks",
                       "X-Groundshare-Event": event.kind, "X-Groundshare-Delivery": str(delivery.id),
                       "X-Groundshare-Signature": sign(webhook.secret, body)}
            claimed.append(_Claimed(delivery.id, delivery.attempts, webhook.url, body, headers))
            delivery.next_attempt_at = now + timedelta(seconds=CLAIM_S)
    report = DeliveryReport()
    outcomes: list[tuple[_Claimed, str | None]] = []
    for item in claimed:
        report.attempted += 1
        try:
            status = post(item.url, item.body, item.headers)
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except Exception as exc:  # any failure of the endpoint is an attempt that failed
            error = f"{type(exc).__name__}: {exc}"
        outcomes.append((item, error))
    with session_scope(factory) as session:
        for item, error in outcomes:
            delivery = session.get(WebhookDelivery, item.delivery_id)
            if delivery is None:  # the webhook was deleted meanwhile
                continue
            delivery.attempts = item.attempts + 1
            if error is None:
                delivery.delivered_at, delivery.next_attempt_at, delivery.last_error = now, None, None
                report.delivered += 1
                continue
            delay_s = retry_delay_s(delivery.attempts)
            delivery.last_error = error[:2000]
            delivery.next_attempt_at = now + timedelta(seconds=delay_s) if delay_s is not None else None
            report.failed += 1
            report.gave_up += delay_s is None
            report.errors.append(f"delivery {item.delivery_id} to {item.url}: {error}")
    return report


# --- the webhooks of an organisation -----------------------------------------------------------------


def check_webhook_url(url: str) -> str:
    """Return ``url`` if it can be a webhook endpoint (http or https, a host, no credentials); else refuse it."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(f"url {url!r} is not an http(s) URL with a host, e.g. https://example.org/hooks/gs",
                                loc=("body", "url"))
    if parts.username or parts.password:
        raise InvalidInputError("url must not hold credentials; the signature (X-Groundshare-Signature) "
                                "authenticates groundshare to your endpoint", loc=("body", "url"))
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return url
    if address.is_unspecified or address.is_multicast:
        raise InvalidInputError(f"url {url!r}: {address} cannot receive a request", loc=("body", "url"))
    return url


def create_webhook(session: Session, org: Organisation, url: str, *, enabled: bool = True) -> tuple[Webhook, str]:
    """Add a webhook of ``org``; return it and its secret (shown once; it signs every delivery)."""
    url = check_webhook_url(url)
    count = session.scalar(select(func.count()).select_from(Webhook).where(Webhook.org_id == org.id)) or 0
    if count >= MAX_WEBHOOKS_PER_ORG:
        raise ConflictError(f"your organisation has {count} webhooks, the most it may have; delete one first "
                            "(DELETE /webhooks/{id})")
    secret = "whsec_" + secrets.token_urlsafe(32)
    webhook = Webhook(org_id=org.id, url=url, secret=secret, enabled=enabled)
    session.add(webhook)
    session.flush()
    return webhook, secret


def org_webhooks(session: Session, org: Organisation) -> list[Webhook]:
    """Return ``org``'s webhooks, oldest first."""
    return list(session.scalars(select(Webhook).where(Webhook.org_id == org.id).order_by(Webhook.id)))


def delete_webhook(session: Session, org: Organisation, webhook_id: int) -> None:
    """Delete one of ``org``'s webhooks and its pending deliveries (404 for another organisation's)."""
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or webhook.org_id != org.id:
        raise NotFoundError(f"webhook {webhook_id} does not exist or is not your organisation's")
    session.query(WebhookDelivery).filter(WebhookDelivery.webhook_id == webhook.id).delete()
    session.delete(webhook)
    session.flush()
