"""The uplink at the station under stress: an agent killed mid-pass, and an inhibit raised at the station itself.

As in ``test_uplink_loopback``: the satellite's operator (AEM) commands through KARI's
station on a served demo network; the agent writes to a transmitting Dire Wolf whose audio
a second Dire Wolf decodes.

- ``groundshare agent`` (a subprocess on the network's clock) is killed with SIGKILL in
  the middle of the pass, after some frames went on air, and started again with the
  same journal: it takes the rest of the frames and transmits none twice; every frame is
  on air once in the audit trail (or, if the kill fell inside a write, reported not
  sent saying it may have gone out), and what was decoded is what is on record;
- ``groundshare inhibit`` at the station stops the (in-process) agent: nothing is written
  to the TNC more than a second after the command returned, and the inhibit is recorded
  with the API, where it stops the network queueing frames for the station; with
  ``--api`` and ``--token`` the command records it itself, with no agent running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from groundshare.timeutil import parse_utc
from tests.support.live_uplink import OperatorSession, book_live_uplink, commands, contact_running
from tests.support.served import ServedApi, network_clock

pytestmark = [pytest.mark.service, pytest.mark.hardware, pytest.mark.slow]

DEMO_DAY = parse_utc("2025-11-07T00:00:00Z")


def start_agent(server: ServedApi, station: str, token: str, journal: Path, kiss: str, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "groundshare.cli", "agent", "--station", station, "--api",
                                 server.base_url, "--token", token, "--journal", str(journal), "--kiss", kiss,
                                 "--capture-tail-s", "0"], stdout=out, stderr=out)


def test_an_agent_killed_mid_pass_transmits_no_frame_twice(uplink_network, air, tmp_path: Path) -> None:
    server, tokens = uplink_network
    transmitter, listener = air
    live = book_live_uplink(server, tokens, after=DEMO_DAY)
    sent = commands(16, "C")
    journal = tmp_path / "agent.sqlite"
    log = tmp_path / "agent.log"
    with network_clock(server.database_url, live.start - timedelta(seconds=6)):
        agent = start_agent(server, live.station_name, live.owner_token, journal, transmitter.address, log)
        session = OperatorSession(server, live.contact_id, live.commander_token)
        try:
            session.wait(lambda ms: any(m["type"] == "state" and m["state"] == "tracking" for m in ms), 30,
                         "the contact to be tracking")
            for index, frame in enumerate(sent):
                session.send(f"c-{index}", frame)
            session.wait(lambda ms: sum(m["type"] == "on_air" for m in ms) >= 5, 30, "five frames on air")
            os.kill(agent.pid, signal.SIGKILL)
            agent.wait(10)
            killed_after = len(session.of_type("on_air"))  # frames the first run put on air
            agent = start_agent(server, live.station_name, live.owner_token, journal, transmitter.address, log)
            messages = session.wait(lambda ms: sum(m["type"] in ("on_air", "not_sent") for m in ms) == len(sent),
                                    60, "every frame settled")
        finally:
            session.close()
            agent.send_signal(signal.SIGINT)  # it releases the station's lease as it stops
            agent.wait(30)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        audit = client.get(f"/contacts/{live.contact_id}/uplink", params={"limit": 500},
                           headers={"Authorization": f"Bearer {live.operator_token}"}).json()["data"]
    on_air = [bytes.fromhex(entry["payload_hex"]) for entry in audit if entry["on_air_at"] is not None]
    uncertain = [entry for entry in audit if entry["on_air_at"] is None]
    assert len(audit) == len(sent)
    assert len(uncertain) <= 1 and all("may have been transmitted" in e["not_sent_reason"] for e in uncertain)
    decoded = listener.wait_for(len(on_air) + len(uncertain), timeout_s=10)
    time.sleep(1.0)
    assert len(set(listener.frames)) == len(listener.frames), "a frame went on air twice"
    assert [f for f in listener.frames if f in on_air] == on_air, log.read_text()
    assert len(decoded) >= len(on_air) > killed_after >= 5  # the second run put the rest on air
    assert {m["ref"] for m in messages if m["type"] in ("on_air", "not_sent")} == {f"c-{i}" for i in range(len(sent))}


def test_an_inhibit_raised_at_the_station_stops_it_and_goes_on_record(uplink_network, air, tmp_path: Path) -> None:
    server, tokens = uplink_network
    transmitter, listener = air
    live = book_live_uplink(server, tokens, after=DEMO_DAY + timedelta(hours=12))
    sent = commands(20, "D")
    log: list[str] = []
    owner = {"Authorization": f"Bearer {live.owner_token}"}
    path = tmp_path / "agent.sqlite"
    command = [sys.executable, "-m", "groundshare.cli", "inhibit", "--station", live.station_name, "--journal",
               str(path)]
    with contact_running(server, live, path, transmitter.port, log) as (agent, session):
        for index, frame in enumerate(sent):
            session.send(f"d-{index}", frame)
        session.wait(lambda ms: sum(m["type"] == "on_air" for m in ms) >= 3, 30, "three frames on air")
        done = subprocess.run([*command, "--reason", "antenna maintenance"], capture_output=True, text=True,
                              timeout=60)
        taken = time.monotonic()
        assert done.returncode == 0, done.stderr
        assert "transmission inhibited" in done.stderr
        messages = session.wait(lambda ms: sum(m["type"] in ("on_air", "not_sent") for m in ms) == len(sent), 60,
                                "every frame settled")
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            record = client.get(f"/stations/{live.station_id}/transmit-inhibit", headers=owner).json()
            lifted_there = client.delete(f"/stations/{live.station_id}/transmit-inhibit", headers=owner)
    lifted_here = subprocess.run([*command, "--lift"], capture_output=True, text=True, timeout=60)
    assert record["open"] is not None and "raised at the station: antenna maintenance" in record["open"]["reason"]
    assert lifted_there.status_code == 200, lifted_there.text
    assert lifted_here.returncode == 0 and "lifted" in lifted_here.stderr, lifted_here.stderr
    [relay] = agent.relays
    late = [(frame_id, round(at - taken, 3)) for frame_id, at, _ in relay.writes if at > taken + 1.0]
    assert late == [], f"frames written to the TNC more than 1 s after the local inhibit: {late}"
    written = len(relay.writes)
    assert 3 <= written < len(sent)
    assert listener.wait_for(written) == sent[:written]
    not_sent = [m for m in messages if m["type"] == "not_sent"]
    assert len(not_sent) == len(sent) - written
    assert all("inhibit" in m["reason"] for m in not_sent)


def test_the_inhibit_command_puts_it_on_record_itself_with_no_agent_running(uplink_network, tmp_path: Path) -> None:
    """``groundshare inhibit --api --token``: the inhibit is on record at once, though no agent runs to record it."""
    server, tokens = uplink_network
    live = book_live_uplink(server, tokens, after=DEMO_DAY + timedelta(days=1))
    owner = {"Authorization": f"Bearer {live.owner_token}"}
    command = [sys.executable, "-m", "groundshare.cli", "inhibit", "--station", live.station_name, "--journal",
               str(tmp_path / "agent.sqlite")]
    refused = subprocess.run([*command, "--api", server.base_url], capture_output=True, text=True, timeout=60,
                             env={k: v for k, v in os.environ.items() if k != "GROUNDSHARE_TOKEN"})
    assert refused.returncode == 1 and refused.stderr.startswith("error: --api needs --token"), refused.stderr
    assert not (tmp_path / "agent.sqlite.inhibit").exists()  # refused before anything was done
    done = subprocess.run([*command, "--reason", "storm", "--api", server.base_url, "--token", live.owner_token],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "the inhibit is on record with the API" in done.stderr
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        record = client.get(f"/stations/{live.station_id}/transmit-inhibit", headers=owner).json()
        assert record["open"]["reason"] == "raised at the station: storm"
        assert client.delete(f"/stations/{live.station_id}/transmit-inhibit", headers=owner).status_code == 200
    assert (tmp_path / "agent.sqlite.inhibit").exists()
