"""Events, who sees them, and webhook deliveries: signed, retried with backoff (store.events, store.webhooks)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from groundshare.store import (
    Antenna,
    Contact,
    Organisation,
    OrgKind,
    Satellite,
    Station,
    WebhookDelivery,
    deliver_due,
    record_event,
    session_scope,
    visible_events,
)
from groundshare.store.webhooks import MAX_ATTEMPTS, create_webhook, http_post

AT = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def test_an_event_about_a_contact_is_seen_by_booker_operator_and_station_owner_only(factory, network):
    with session_scope(factory) as session:
        outsider = Organisation(name="Outsider", kind=OrgKind.COMPANY)
        booker = Organisation(name="Booker", kind=OrgKind.UNIVERSITY)
        session.add_all([outsider, booker])
        session.flush()
        start = AT + timedelta(hours=1)
        contact = Contact(antenna_id=network.antenna_id, satellite_id=network.satellite_id, org_id=booker.id,
                          start_time=start, end_time=start + timedelta(minutes=8),
                          busy_until=start + timedelta(minutes=8))
        session.add(contact)
        session.flush()
        event = record_event(session, "contact.moved", message="moved 40 s later", contact=contact,
                             payload={"shift_s": 40.0}, at=AT)
        # Booker, the satellite's operator (partner) and the antenna's owner (org).
        assert event.org_ids == sorted({booker.id, network.partner_id, network.org_id})
        assert (event.satellite_id, event.station_id, event.contact_id) == (network.satellite_id,
                                                                            network.station_id, contact.id)
        satellite_only = record_event(session, "elements.updated", message="new orbit",
                                      satellite=session.get(Satellite, network.satellite_id), at=AT)
        assert satellite_only.org_ids == [network.partner_id]
        station_only = record_event(session, "source.failed", message="x",
                                    station=session.get(Station, network.station_id), at=AT)
        seen = {org.name: [e.id for e in visible_events(session, org)] for org in
                (outsider, booker, session.get(Organisation, network.org_id),
                 session.get(Organisation, network.partner_id))}
        assert seen == {"Outsider": [], "Booker": [event.id],
                        "Korea AeroSpace Administration": [event.id, station_only.id],
                        "Agencia Espacial Mexicana": [event.id, satellite_only.id]}
        partner = session.get(Organisation, network.partner_id)
        assert [e.id for e in visible_events(session, partner, after_id=event.id)] == [satellite_only.id]
        assert [e.id for e in visible_events(session, partner, limit=1)] == [event.id]
        assert session.get(Antenna, network.antenna_id) is not None


class _Receiver:
    """A local HTTP endpoint answering the statuses it is given, in turn, and keeping what it received."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses, self.received = list(statuses), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_deliveries_are_signed_and_retried_with_backoff_until_delivered(factory, network):
    receiver = _Receiver([500, 503])
    try:
        with session_scope(factory) as session:
            partner = session.get(Organisation, network.partner_id)
            webhook, secret = create_webhook(session, partner, receiver.url)
            event = record_event(session, "elements.updated", message="new orbit",
                                 satellite=session.get(Satellite, network.satellite_id), at=AT)
        first = deliver_due(factory, post=http_post, now=AT)
        assert (first.attempted, first.delivered, first.failed) == (1, 0, 1)
        assert deliver_due(factory, post=http_post, now=AT + timedelta(seconds=29)).attempted == 0  # not due yet
        second = deliver_due(factory, post=http_post, now=AT + timedelta(seconds=30))
        assert (second.attempted, second.failed) == (1, 1)
        assert deliver_due(factory, post=http_post, now=AT + timedelta(seconds=89)).attempted == 0  # 30 s + 60 s
        third = deliver_due(factory, post=http_post, now=AT + timedelta(seconds=90))
        assert (third.attempted, third.delivered) == (1, 1)
        assert deliver_due(factory, post=http_post, now=AT + timedelta(days=1)).attempted == 0
        headers, body = receiver.received[-1]
        assert headers["X-Groundshare-Signature"] == "sha256=" + hmac.new(secret.encode(), body,
                                                                          hashlib.sha256).hexdigest()
        assert headers["X-Groundshare-Event"] == "elements.updated"
        payload = json.loads(body)
        assert (payload["id"], payload["kind"], payload["satellite_id"]) == (event.id, "elements.updated",
                                                                            network.satellite_id)
        with factory() as session:
            delivery = session.query(WebhookDelivery).one()
            assert (delivery.attempts, delivery.delivered_at, delivery.webhook_id) == (3, AT + timedelta(seconds=90),
                                                                                      webhook.id)
            assert headers["X-Groundshare-Delivery"] == str(delivery.id)
    finally:
        receiver.close()


def test_a_delivery_is_given_up_after_the_last_attempt(factory, network):
    calls: list[str] = []

    def refuse(url: str, body: bytes, headers: dict[str, str]) -> int:
        calls.append(url)
        raise ConnectionRefusedError("connection refused")

    with session_scope(factory) as session:
        partner = session.get(Organisation, network.partner_id)
        create_webhook(session, partner, "https://partner.example/hook")
        record_event(session, "elements.updated", message="m", satellite=session.get(Satellite, network.satellite_id),
                     at=AT)
    now = AT
    for _ in range(MAX_ATTEMPTS + 2):
        report = deliver_due(factory, post=refuse, now=now)
        now += timedelta(days=1)
    assert len(calls) == MAX_ATTEMPTS and report.attempted == 0
    with factory() as session:
        delivery = session.query(WebhookDelivery).one()
        assert (delivery.attempts, delivery.next_attempt_at, delivery.delivered_at) == (MAX_ATTEMPTS, None, None)
        assert delivery.last_error == "ConnectionRefusedError: connection refused"


def test_only_enabled_webhooks_of_the_concerned_organisations_get_deliveries(factory, network):
    with session_scope(factory) as session:
        org = session.get(Organisation, network.org_id)
        partner = session.get(Organisation, network.partner_id)
        create_webhook(session, org, "https://kasa.example/hook")
        create_webhook(session, partner, "https://aem.example/off", enabled=False)
        on, _ = create_webhook(session, partner, "https://aem.example/on")
        record_event(session, "elements.updated", message="m", satellite=session.get(Satellite, network.satellite_id),
                     at=AT)
        assert [d.webhook_id for d in session.query(WebhookDelivery)] == [on.id]
