"""Conditional polls in tests: a contact's fresher orbit, a 304 as it must be, an agent client on the test app."""

from __future__ import annotations

import dataclasses

import httpx

from groundshare.agent.client import AgentApi
from groundshare.satnogs import format_tle
from groundshare.store import Contact, session_scope


def fresher_elements(app, contact_id: int, element_set) -> None:
    """Give the contact a fresher orbit in its booking snapshot, as ``store.replan`` leaves a kept contact."""
    fresher = dataclasses.replace(element_set, mean_anomaly_deg=element_set.mean_anomaly_deg + 0.5, line1=None,
                                  line2=None)
    line1, line2 = format_tle(fresher)
    with session_scope(app.state.session_factory) as session:
        contact = session.get(Contact, contact_id)
        contact.snapshot = {**contact.snapshot, "element_set": {
            "id": None, "epoch": None, "format": "tle", "text": f"FRESH\n{line1}\n{line2}\n"}}


def assert_not_modified(response: httpx.Response, etag: str) -> None:
    assert response.status_code == 304, response.text
    assert response.content == b""
    assert response.headers["etag"] == etag and response.headers["cache-control"] == "no-cache"


def agent_api(client, token: str, seen: list[httpx.Request]) -> AgentApi:
    """An ``AgentApi`` whose requests go to the test app through ``client``; ``seen`` collects them."""

    def forward(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = client.request(request.method, request.url.raw_path.decode(), headers=dict(request.headers),
                                content=request.content)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    return AgentApi("http://testserver", token, transport=httpx.MockTransport(forward))

