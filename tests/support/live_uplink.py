"""A live uplink contact on a served demo network, and the operator's session client.

``book_live_uplink``: on a ``serve_demo`` network, KARI (which owns stations and shares
them with AEM) licenses AEM's satellite on one of its shared stations and allows uplink
in its policy; AEM books an uplink contact of ``duration_s`` within the satellite's next
pass there (after ``after``) and makes a token allowed to command.  ``OperatorSession`` is
the satellite operator's WebSocket (the ``websockets`` package's threaded client): it
sends frames and collects every message the server sends, in order.  ``on_the_air`` is a
transmitting Dire Wolf whose audio a second one decodes; ``contact_running`` runs the
contact: the station's agent executing it on the network's clock, the operator's session
open.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from groundshare.agent.capture import CaptureOptions
from groundshare.agent.client import AgentApi
from groundshare.agent.clock import NetworkClock
from groundshare.agent.execution import AgentOptions
from groundshare.agent.journal import Journal
from groundshare.agent.runner import StationAgent
from groundshare.timeutil import format_utc, parse_utc
from groundshare.units import HOUR_S

from .direwolf import AirLink, Direwolf, DirewolfTransmitter, KissListener, ax25_ui
from .served import ServedApi, network_clock

KARI = "Korea Aerospace Research Institute (KARI)"
AEM = "Agencia Espacial Mexicana (AEM)"


@dataclass(frozen=True)
class LiveUplink:
    """An uplink contact booked through a partner's station, and the tokens of the parties."""

    contact_id: int
    station_id: int
    station_name: str
    satellite_id: int
    start: datetime
    end: datetime
    owner_token: str  # KARI's: the station's owner and its agent
    operator_token: str  # AEM's admin token (cannot command)
    commander_token: str  # AEM's operator token with can_command


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


def book_live_uplink(server: ServedApi, tokens: dict[str, str], *, after: datetime, duration_s: float = 30.0,
                     into_pass_s: float = 60.0) -> LiveUplink:
    """Book an uplink contact of AEM's satellite on a KARI station shared with AEM (see the module docstring)."""
    kari, aem = tokens[KARI], tokens[AEM]
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        as_kari = {"Authorization": f"Bearer {kari}"}
        as_aem = {"Authorization": f"Bearer {aem}"}
        aem_id = _ok(client.get("/orgs/me", headers=as_aem))["org"]["id"]
        policy = next(p for p in _ok(client.get("/policies", headers=as_kari, params={"limit": 500}))["data"]
                      if p["grantee_org_id"] == aem_id)
        _ok(client.patch(f"/policies/{policy['id']}", json={"uplink_allowed": True}, headers=as_kari))
        station = next(s for s in _ok(client.get("/stations", headers=as_kari, params={"limit": 500}))["data"]
                       if any(a["id"] == policy["antenna_id"] for a in s.get("antennas", []))
                       or _owns_antenna(client, as_kari, s["id"], policy["antenna_id"]))
        satellites = [s for s in _ok(client.get("/satellites", headers=as_aem, params={"limit": 500}))["data"]
                      if s["org_id"] == aem_id]
        for satellite in satellites:
            passes = client.get(f"/satellites/{satellite['id']}/passes", headers=as_aem,
                                params={"start": format_utc(after), "hours": 24})
            if passes.status_code != 200:
                continue
            window = next((p for p in passes.json()["data"] if p["station"] == station["name"]
                           and not p["clipped"] and p["duration_s"] > into_pass_s + duration_s + 30), None)
            if window is not None:
                break
        else:
            raise AssertionError(f"no pass of AEM's satellites over station {station['name']} after {after}")
        _ok(client.post(f"/stations/{station['id']}/licences", headers=as_kari, json={
            "satellite_id": satellite["id"], "reference": "IFT-UPLINK-TEST", "valid_from": "2020-01-01T00:00Z",
            "valid_until": "2040-01-01T00:00Z"}), 201)
        start = parse_utc(window["aos"]) + timedelta(seconds=into_pass_s)
        end = start + timedelta(seconds=duration_s)
        contact = _ok(client.post("/contacts", headers=as_aem, json={
            "antenna_id": policy["antenna_id"], "satellite_id": satellite["id"], "start": format_utc(start),
            "end": format_utc(end), "uplink": True}), 201)
        commander = _ok(client.post("/tokens", headers=as_aem, json={
            "role": "operator", "label": "mission control", "can_command": True}), 201)["token"]
    return LiveUplink(contact["id"], station["id"], station["name"], satellite["id"], start, end, kari, aem,
                      commander)


def _owns_antenna(client: httpx.Client, headers: dict[str, str], station_id: int, antenna_id: int) -> bool:
    antennas = client.get(f"/stations/{station_id}/antennas", headers=headers)
    return antennas.status_code == 200 and any(a["id"] == antenna_id for a in antennas.json()["data"])


class OperatorSession:
    """The satellite operator's live session (``WS /contacts/{id}/session``); every message kept in order."""

    def __init__(self, server: ServedApi, contact_id: int, token: str, *, after_frame_id: int = 0) -> None:
        from websockets.sync.client import connect

        url = f"ws://127.0.0.1:{server.port}/contacts/{contact_id}/session?after_frame_id={after_frame_id}"
        self._stack = contextlib.ExitStack()
        self.connection = self._stack.enter_context(
            connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=30))
        self.messages: list[dict[str, Any]] = []
        #: ``time.perf_counter()`` at which each message arrived (same order as ``messages``).
        self.arrived: list[float] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, name="operator-session", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            for text in self.connection:
                now = time.perf_counter()
                with self._lock:
                    self.messages.append(json.loads(text))
                    self.arrived.append(now)
        except ConnectionClosed:
            return

    def send(self, ref: str, payload: bytes) -> float:
        """Send one uplink frame; return ``time.perf_counter()`` just before it went."""
        sent = time.perf_counter()
        self.connection.send(json.dumps({"type": "uplink", "ref": ref, "payload_hex": payload.hex()}))
        return sent

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.messages if m["type"] == kind]

    def wait(self, predicate: Any, timeout_s: float = 30.0, what: str = "a message") -> list[dict[str, Any]]:
        """Wait until ``predicate(messages)`` is true; return the messages."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                messages = list(self.messages)
            if predicate(messages):
                return messages
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout_s:g} s for {what}; got {messages[-10:]}")
            time.sleep(0.01)

    def close(self) -> None:
        self._stack.close()
        self._thread.join(5)


def commands(count: int, tag: str) -> list[bytes]:
    """Return ``count`` different AX.25 command frames from the operator's callsign to the satellite's."""
    return [ax25_ui("XE1AEM", "AEMSAT", f"{tag} CMD {i:03d} set mode=science t=+{i * 10}s".encode())
            for i in range(count)]


@contextmanager
def on_the_air(folder: Path) -> Iterator[tuple[DirewolfTransmitter, KissListener]]:
    """Yield a transmitting Dire Wolf and a listener of what a second Dire Wolf decodes of its audio."""
    transmitter = DirewolfTransmitter(folder / "tx").start()
    receiver = Direwolf(folder / "rx").start()
    link = AirLink(transmitter, receiver).start()
    listener = KissListener(("127.0.0.1", receiver.port))
    try:
        yield transmitter, listener
    finally:
        link.close()
        listener.close()
        transmitter.stop()
        receiver.stop()


def station_agent(server: ServedApi, live: LiveUplink, journal: Journal, kiss_port: int,
                  log: list[str]) -> StationAgent:
    """Return the station's agent (in this process, on the network's clock) capturing and transmitting on a TNC."""
    return StationAgent(live.station_name, journal, api=AgentApi(server.base_url, live.owner_token), rotator=None,
                        rig=None, clock=NetworkClock(), options=AgentOptions(sync_interval_s=HOUR_S, lease_ttl_s=60.0),
                        agent_id=f"uplink/{live.station_name}", log=log.append,
                        capture=CaptureOptions(kiss=("127.0.0.1", kiss_port), tail_s=0.0))


@contextmanager
def contact_running(server: ServedApi, live: LiveUplink, journal_path: Path, kiss_port: int, log: list[str], *,
                    lead_s: float = 4.0) -> Iterator[tuple[StationAgent, OperatorSession]]:
    """Run the contact: the network's clock ``lead_s`` before it, the agent executing it, the operator's session open.

    Yields once the session says the contact is tracking; at the end waits for the agent
    to finish the contact and report, then closes the session.
    """
    with network_clock(server.database_url, live.start - timedelta(seconds=lead_s)), \
            Journal.open(journal_path) as journal:
        agent = station_agent(server, live, journal, kiss_port, log)
        agent.start()
        agent.sync()
        [contact] = [c for c in journal.pending(after=live.start - timedelta(seconds=2 * lead_s))
                     if c.contact_id == live.contact_id]
        assert contact.uplink
        session = OperatorSession(server, live.contact_id, live.commander_token)
        runner = threading.Thread(target=agent.execute, args=(contact,), name="agent-contact", daemon=True)
        runner.start()
        try:
            session.wait(lambda ms: any(m["type"] == "state" and m["state"] == "tracking" for m in ms), 30,
                         "the contact to be tracking")
            yield agent, session
        finally:
            runner.join(60)
            agent.flush_reports()
            agent.stop()
            session.close()
