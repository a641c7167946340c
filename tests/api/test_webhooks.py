"""Webhooks CRUD: the secret once, no secret in listings, each organisation its own."""

from __future__ import annotations

from groundshare.store import Role, Satellite, WebhookDelivery, record_event, session_scope


def test_create_list_and_delete_a_webhook(client, app, world):
    created = client.post("/webhooks", json={"url": "https://aem.example/hooks/gs"}, headers=world.aem.auth())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["url"] == "https://aem.example/hooks/gs" and body["enabled"]
    listed = client.get("/webhooks", headers=world.aem.auth(Role.VIEWER)).json()
    assert listed["count"] == 1 and "secret" not in listed["data"][0]
    assert client.get("/webhooks", headers=world.kasa.auth()).json()["count"] == 0
    # An event about aem's satellite queues a delivery to it.
    with session_scope(app.state.session_factory) as session:
        record_event(session, "elements.updated", message="m", satellite=session.get(Satellite, world.aem.satellite_id))
        assert session.query(WebhookDelivery).count() == 1
    assert client.delete(f"/webhooks/{body['id']}", headers=world.kasa.auth()).status_code == 404
    assert client.delete(f"/webhooks/{body['id']}", headers=world.aem.auth(Role.VIEWER)).status_code == 403
    assert client.delete(f"/webhooks/{body['id']}", headers=world.aem.auth()).status_code == 204
    assert client.get("/webhooks", headers=world.aem.auth()).json()["count"] == 0
    with session_scope(app.state.session_factory) as session:
        assert session.query(WebhookDelivery).count() == 0


def test_a_webhook_url_must_be_http_with_a_host_and_no_credentials(client, world):
    for url, message in (("ftp://aem.example/x", "is not an http(s) URL with a host"),
                         ("https://user:pw@aem.example/x", "must not hold credentials"),
                         ("http://0.0.0.0:8000/x", "cannot receive a request")):
        response = client.post("/webhooks", json={"url": url}, headers=world.aem.auth())
        assert response.status_code == 422, url
        assert message in response.json()["detail"][0]["msg"]
        assert response.json()["detail"][0]["loc"] == ["body", "url"]
