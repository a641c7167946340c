"""A live uplink contact for tests of the commanding session (``api.routes.commanding``).

``uplink_contact`` gives aem's satellite an uplink contact over kasa's shared UHF antenna,
licensed and allowed by kasa's policy, and a token of aem's allowed to command;
``move_clock`` puts the network's clock where a test needs it (before AOS, in the pass,
after LOS).  ``receive`` reads the session's next message with a time limit, so a message
that never comes fails the test instead of hanging it; ``receive_until`` reads up to a
message of a given type; ``audit`` reads the contact's audit trail as the operator sees it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from groundshare.store import session_scope, set_network_clock
from groundshare.timeutil import format_utc

from .uplink import allow_uplink, license_uplink
from .worlds import World, give_elements, next_pass


@dataclass(frozen=True)
class UplinkContact:
    contact_id: int
    aos: datetime
    los: datetime
    commander: dict[str, str]  # aem's Authorization header of a token allowed to command

    def during(self, seconds: float = 60.0) -> datetime:
        return self.aos + timedelta(seconds=seconds)


def command_token(client: TestClient, world: World, org_name: str = "aem", **body: object) -> dict[str, str]:
    """Return the Authorization header of a new operator token of ``org_name`` allowed to command."""
    org = getattr(world, org_name)
    from groundshare.store import Role

    answer = client.post("/tokens", json={"role": "operator", "label": "mission control", "can_command": True, **body},
                         headers=org.auth(Role.ADMIN))
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def move_clock(app: FastAPI, at: datetime) -> None:
    """Set the network's clock to read ``at`` now."""
    with session_scope(app.state.session_factory) as session:
        set_network_clock(session, at, reason="test")


def uplink_contact(client: TestClient, app: FastAPI, world: World, *, allow: bool = True) -> UplinkContact:
    """Book an uplink contact of aem's satellite on kasa's shared antenna (licensed; allowed unless ``allow``)."""
    factory = app.state.session_factory
    element_set = give_elements(app, world.aem.satellite_id)
    license_uplink(factory, world.kasa.station_id, world.aem.satellite_id)
    allow_uplink(factory, world.kasa.antenna_id, world.aem.id)
    p = next_pass(app, element_set, world.kasa.station_id)
    booked = client.post("/contacts", json={"antenna_id": world.kasa.antenna_id,
                                            "satellite_id": world.aem.satellite_id, "start": format_utc(p.aos),
                                            "end": format_utc(p.los), "uplink": True}, headers=world.aem.auth())
    assert booked.status_code == 201, booked.text
    if not allow:
        from sqlalchemy import select

        from groundshare.store import SharingPolicy

        with session_scope(factory) as session:
            policy = session.scalars(select(SharingPolicy).where(SharingPolicy.antenna_id == world.kasa.antenna_id,
                                                                 SharingPolicy.grantee_org_id == world.aem.id)).one()
            policy.uplink_allowed = False
    return UplinkContact(booked.json()["id"], p.aos, p.los, command_token(client, world))


#: How long ``receive`` waits for a message before failing the test (a guard against hanging, not a timing check).
RECEIVE_LIMIT_S = 20.0


def receive(ws: WebSocketTestSession, limit_s: float = RECEIVE_LIMIT_S) -> dict[str, Any]:
    """Return the session's next JSON message; ``WebSocketDisconnect`` (with ``.code``) when the server closed it.

    Starlette's ``receive_json`` waits for ever; this reads the same queue (the test
    session's private ``_send_rx``, starlette 1.x) under ``anyio.fail_after``, so a message
    that never comes raises ``TimeoutError``.
    """
    async def next_message() -> dict[str, Any]:
        with anyio.fail_after(limit_s):
            return await ws._send_rx.receive()  # no public receive with a limit

    message = ws.portal.call(next_message)
    ws._raise_on_close(message)  # the close as WebSocketDisconnect
    return json.loads(message["text"])


def receive_until(ws: WebSocketTestSession, kind: str) -> list[dict[str, Any]]:
    """Return the session's messages up to and including the first of type ``kind``."""
    messages = [receive(ws)]
    while messages[-1]["type"] != kind:
        messages.append(receive(ws))
    return messages


def audit(client: TestClient, live: UplinkContact) -> list[dict[str, Any]]:
    """Return the contact's audit trail (``GET /contacts/{id}/uplink``) as its commander reads it."""
    answer = client.get(f"/contacts/{live.contact_id}/uplink?limit=500", headers=live.commander)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["count"] == len(body["data"])
    return body["data"]


def session_path(contact_id: int, after_frame_id: int = 0) -> str:
    """Return the path of the contact's live session (``WS /contacts/{id}/session``)."""
    return f"/contacts/{contact_id}/session?after_frame_id={after_frame_id}"
