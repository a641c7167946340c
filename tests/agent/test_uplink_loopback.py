"""What the operator sends is what goes on air: the live session -> the API -> the agent -> Dire Wolf -> audio.

The satellite's operator (AEM) commands its satellite through a partner's station (KARI's)
during an uplink contact on a served demo network: its session (``WS
/contacts/{id}/session``) sends AX.25 command frames; the station's agent
(``StationAgent``, on the network's clock) relays them (``agent.uplink``) over the KISS
connection of a Dire Wolf that transmits them, its audio going to a file
(``DirewolfTransmitter``); a second Dire Wolf decodes that audio (``AirLink``,
``KissListener``).  The oracle: the decoded frames are the operator's, byte for byte, in
order, each once; the audit trail holds each with when it went on air, and the operator
was told of each (``on_air``).

A transmit inhibit raised by the station's owner through the API in the middle of the
pass stops the agent: nothing is written to the TNC more than a second after the API
took the inhibit, what was written is what was decoded, and every frame after it is
settled not sent with the inhibit as the reason, which the operator is told.

Each contact lasts 30 s of a real pass (the network's clock set just before it), so the
agent runs it in real time.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from groundshare.timeutil import parse_utc
from tests.support.live_uplink import LiveUplink, book_live_uplink, commands, contact_running
from tests.support.served import ServedApi

pytestmark = [pytest.mark.service, pytest.mark.hardware, pytest.mark.slow]

DEMO_DAY = parse_utc("2025-11-07T00:00:00Z")


def audit_trail(server: ServedApi, live: LiveUplink, token: str) -> list[dict]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        answer = client.get(f"/contacts/{live.contact_id}/uplink", params={"limit": 500},
                            headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_the_operators_frames_go_on_air_in_order_each_once(uplink_network, air, tmp_path: Path) -> None:
    server, tokens = uplink_network
    transmitter, listener = air
    live = book_live_uplink(server, tokens, after=DEMO_DAY)
    sent = commands(12, "A")
    log: list[str] = []
    with contact_running(server, live, tmp_path / "agent.sqlite", transmitter.port, log) as (_agent, session):
        for index, frame in enumerate(sent):
            session.send(f"a-{index}", frame)
        messages = session.wait(lambda ms: sum(m["type"] == "on_air" for m in ms) == len(sent), 60,
                                "every frame on air")
    decoded = listener.wait_for(len(sent))
    assert decoded == sent, "\n".join(log)
    accepted = [m for m in messages if m["type"] == "accepted"]
    assert [m["ref"] for m in accepted] == [f"a-{i}" for i in range(len(sent))]
    assert [m["ref"] for m in messages if m["type"] == "on_air"] == [f"a-{i}" for i in range(len(sent))]
    assert not [m for m in messages if m["type"] in ("refused", "not_sent")]
    assert transmitter.sent() == len(sent)
    audit = audit_trail(server, live, live.operator_token)
    owner_view = audit_trail(server, live, live.owner_token)
    assert [bytes.fromhex(entry["payload_hex"]) for entry in audit] == sent
    assert all(live.start <= parse_utc(entry["on_air_at"]) < live.end for entry in audit)
    assert [entry["payload_hex"] for entry in owner_view] == [None] * len(sent)  # the owner: hashes only
    assert [entry["sha256"] for entry in owner_view] == [entry["sha256"] for entry in audit]


def test_a_transmit_inhibit_raised_mid_pass_stops_the_agent_within_a_second(uplink_network, air,
                                                                           tmp_path: Path) -> None:
    server, tokens = uplink_network
    transmitter, listener = air
    live = book_live_uplink(server, tokens, after=DEMO_DAY + timedelta(hours=12))
    sent = commands(20, "B")
    log: list[str] = []
    owner = {"Authorization": f"Bearer {live.owner_token}"}
    with contact_running(server, live, tmp_path / "agent.sqlite", transmitter.port, log) as (agent, session), \
            httpx.Client(base_url=server.base_url, timeout=30) as client:
        for index, frame in enumerate(sent):
            session.send(f"b-{index}", frame)
        session.wait(lambda ms: sum(m["type"] == "on_air" for m in ms) >= 4, 30, "four frames on air")
        raised = client.post(f"/stations/{live.station_id}/transmit-inhibit", json={"reason": "interference test"},
                             headers=owner)
        taken = time.monotonic()  # the inhibit is stored: the API answered
        assert raised.status_code == 201, raised.text
        messages = session.wait(lambda ms: sum(m["type"] in ("on_air", "not_sent") for m in ms) == len(sent), 60,
                                "every frame settled")
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        lifted = client.delete(f"/stations/{live.station_id}/transmit-inhibit", headers=owner)
    assert lifted.status_code == 200, lifted.text
    [relay] = agent.relays
    late = [(frame_id, round(at - taken, 3)) for frame_id, at, _ in relay.writes if at > taken + 1.0]
    assert late == [], f"frames written to the TNC more than 1 s after the inhibit was stored: {late}"
    written = len(relay.writes)
    assert 4 <= written < len(sent)
    decoded = listener.wait_for(written)
    time.sleep(1.0)  # anything transmitted after the inhibit would be decoded by now
    assert listener.frames == sent[:written] == decoded
    on_air = [m["ref"] for m in messages if m["type"] == "on_air"]
    not_sent = [m for m in messages if m["type"] == "not_sent"]
    assert on_air == [f"b-{i}" for i in range(written)]
    assert [m["ref"] for m in not_sent] == [f"b-{i}" for i in range(written, len(sent))]
    assert all("transmit inhibit" in m["reason"] and "interference test" in m["reason"] for m in not_sent)
    assert any(m["type"] == "state" and m["inhibit"] is not None for m in messages)
    audit = audit_trail(server, live, live.operator_token)
    assert [entry["on_air_at"] is not None for entry in audit] == [True] * written + [False] * (len(sent) - written)
    assert all("transmit inhibit" in entry["not_sent_reason"] for entry in audit[written:])
