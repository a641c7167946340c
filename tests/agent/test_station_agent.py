"""The station agent end to end: a real server, real rotctld/rigctld, a simulated clock.

The server is ``groundshare serve`` on SQLite with the demo network and a planned
morning (``demo load --plan-days 0.25``). The agent runs KARI's Daejeon station on a
``SimulatedClock`` 120 times faster than real time, so an 8-minute pass takes about
4 s, while the dummy rotator keeps its real 6 deg/s (its pointing error is large, and
is reported as it is). With the radio the clock runs 12 times faster only: the dummy
rigctld takes about 40 ms to set a frequency and 20 ms to set the uplink (measured),
so a second of pass needs about 60 ms of real time.  Where the daemons' pace is not
the point (an API outage, a malformed schedule, the network's shifted clock), the
agent runs on a clock that jumps over its waits (``tests/support/clocks.py``).

Tests that run the agent on the network's clock set that clock on the server's database
(``network_clock``) and put the demo's back afterwards.  Where the API's answers must be
malformed, a proxy in front of the real server alters them (``tests/support/proxy.py``).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from groundshare.agent.client import MAX_RESPONSE_BYTES, AgentApi
from groundshare.agent.clock import NetworkClock, SimulatedClock
from groundshare.agent.execution import AgentOptions
from groundshare.agent.hamlib import Rig, Rotator
from groundshare.agent.journal import Journal
from groundshare.agent.runner import SCHEDULE_STEP_S, ClockOffsetError, StationAgent
from groundshare.agent.schedule import MAX_SCHEDULE_CONTACTS
from groundshare.cli import app
from groundshare.contact import ScheduledContact
from groundshare.data import data_path
from groundshare.errors import ConflictError
from groundshare.store import (
    AgentLease,
    Station,
    create_engine_for,
    make_session_factory,
    session_scope,
)
from groundshare.timeutil import format_utc, parse_utc
from groundshare.units import HOUR_S
from tests.support.clocks import JumpingClock, JumpingNetworkClock
from tests.support.hamlib import Daemon
from tests.support.proxy import tampering_proxy
from tests.support.served import ServedApi, network_clock, serve_demo

pytestmark = [pytest.mark.service, pytest.mark.hardware, pytest.mark.slow]

SPEED = 120.0
SPEED_WITH_RADIO = 12.0
KARI = "Korea Aerospace Research Institute (KARI)"
STATION = "daejeon"
DOWNLINK_HZ = 437.5e6
UPLINK_HZ = 145.9e6


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedApi, dict[str, str]]]:
    with serve_demo(tmp_path_factory.mktemp("agent")) as served:
        yield served


def _http(server: ServedApi, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0)


def _contacts(server: ServedApi, tokens: dict[str, str]) -> list[dict[str, Any]]:
    """Return Daejeon's contacts, with radio frequencies set on their satellites by their owners."""
    with _http(server, tokens[KARI]) as kari:
        station = next(s for s in kari.get("/stations", params={"limit": 500}).json()["data"] if s["name"] == STATION)
        schedule = kari.get("/agent/schedule", params={"station_id": station["id"], "start": "2025-11-07T00:00:00Z",
                                                       "end": "2025-11-07T06:00:00Z"}).json()["data"]
    assert len(schedule) >= 3
    return schedule


def _set_radio(server: ServedApi, tokens: dict[str, str], contact: dict[str, Any]) -> None:
    satellite_id = contact["satellite"]["id"]
    for token in tokens.values():  # the satellite's owner is the one whose PATCH is accepted
        with _http(server, token) as client:
            if client.patch(f"/satellites/{satellite_id}", json={"downlink_frequency_hz": DOWNLINK_HZ,
                                                                 "uplink_frequency_hz": UPLINK_HZ}).status_code == 200:
                return
    raise AssertionError(f"nobody may set satellite {satellite_id}'s radio")


def _agent(server: ServedApi, tokens: dict[str, str], journal: Journal, contact: dict[str, Any], *,
           rotctld: Daemon | None, rigctld: Daemon | None, agent_id: str = "test-agent/1",
           options: AgentOptions | None = None, log: list[str] | None = None, speed: float | None = SPEED,
           **kwargs: Any) -> StationAgent:
    """An agent for Daejeon on a clock that starts 5 seconds before the contact's lead.

    The clock runs ``speed`` times faster than real time (``SimulatedClock``), or with ``speed`` None
    jumps over every wait (``JumpingClock``).
    """
    options = options or AgentOptions(sync_interval_s=HOUR_S, lease_ttl_s=60.0)
    rotator = Rotator(rotctld.host, rotctld.port, reconnect_attempts=2, reconnect_delay_s=0.2) if rotctld else None
    rig = Rig(rigctld.host, rigctld.port, reconnect_attempts=2, reconnect_delay_s=0.2) if rigctld else None
    agent = StationAgent(STATION, journal, api=AgentApi(server.base_url, tokens[KARI]), rotator=rotator, rig=rig,
                         options=options, agent_id=agent_id, log=(log.append if log is not None else print), **kwargs)
    begin = parse_utc(contact["start"], "start") - timedelta(seconds=agent.lead_s(typed(contact)) + 5.0)
    agent.clock = SimulatedClock(begin, speed) if speed is not None else JumpingClock(begin)
    return agent


def typed(contact: dict[str, Any]) -> ScheduledContact:
    """The contact as the agent reads it from the API's schedule."""
    return ScheduledContact.from_json(contact)


def _stored(server: ServedApi, tokens: dict[str, str], contact_id: int) -> dict[str, Any]:
    with _http(server, tokens[KARI]) as kari:
        return kari.get(f"/contacts/{contact_id}").json()


def test_a_simulated_pass_is_tracked_tuned_and_reported(network, rotctld: Daemon, rigctld: Daemon,
                                                        tmp_path: Path) -> None:
    server, tokens = network
    contact = _contacts(server, tokens)[0]
    _set_radio(server, tokens, contact)
    with Journal.open(tmp_path / "journal.sqlite") as journal:
        agent = _agent(server, tokens, journal, contact, rotctld=rotctld, rigctld=rigctld, speed=SPEED_WITH_RADIO)
        agent.start()
        assert agent.sync()
        pending = journal.pending(after=agent.clock.now())
        assert pending[0].contact_id == contact["contact_id"]
        assert pending[0].satellite.uplink_frequency_hz == UPLINK_HZ
        table, path = agent.executor().prepare(pending[0])
        run = agent.execute(pending[0])
        agent.flush_reports()
        agent.stop()
        reports = journal.reports(contact["contact_id"])

    stored = _stored(server, tokens, contact["contact_id"])
    execution = stored["execution"]
    summary = {"contact": contact["contact_id"], "satellite": contact["satellite"]["name"], "samples": len(table),
               "flipped": path.flipped, "stored_status": stored["status"], "execution": execution,
               "started_at": stored["started_at"], "finished_at": stored["finished_at"], "notes": stored["notes"]}
    print("\nsimulated pass:", json.dumps(summary, indent=1))
    assert stored["status"] == "completed" and run.fatal is None
    # Each sample read the position back and tuned both frequencies (a few may be skipped late on a busy
    # machine); a new position went out whenever the target had moved a tolerance from the last one.
    assert execution["positions_read"] + run.positions_late == len(table)
    assert execution["positions_read"] > 0.8 * len(table)
    assert 10 < execution["positions_sent"] <= execution["positions_read"]
    assert execution["frequency_commands"] == 2 * execution["positions_read"]
    assert execution["positions_refused"] == 0 and execution["failures"] == []
    assert 0 <= execution["pointing_error_rms_deg"] <= execution["pointing_error_max_deg"] <= 180
    assert parse_utc(stored["started_at"], "s") >= parse_utc(contact["start"], "s")
    assert parse_utc(stored["finished_at"], "s") >= parse_utc(contact["end"], "s")
    assert [(r["kind"], r["sent"]) for r in reports] == [("start", 1), ("outcome", 1)]
    # The rotator parked at LOS and the radio holds the last Doppler-corrected downlink (above or below nominal).
    with Rotator(rotctld.host, rotctld.port) as rotator, Rig(rigctld.host, rigctld.port) as rig:
        assert rotator.get_position() is not None
        assert rig.get_frequency() == pytest.approx(float(table.downlink_hz[-1]), abs=1.0)
        assert rig.get_uplink_frequency() == pytest.approx(float(table.uplink_hz[-1]), abs=1.0)
    assert table.downlink_hz[0] > DOWNLINK_HZ > table.downlink_hz[-1]


def test_an_api_outage_loses_nothing_and_reports_once(network, rotctld: Daemon, tmp_path: Path) -> None:
    server, tokens = network
    contact = _contacts(server, tokens)[1]
    journal_path = tmp_path / "journal.sqlite"
    log: list[str] = []
    with Journal.open(journal_path) as journal:
        agent = _agent(server, tokens, journal, contact, rotctld=rotctld, rigctld=None, log=log, speed=None)
        agent.start()
        assert agent.sync()
        agent.stop()
    # The API goes away; a restarted agent runs the contact from its journal alone.
    with Journal.open(journal_path) as journal:
        agent = _agent(server, tokens, journal, contact, rotctld=rotctld, rigctld=None, log=log, speed=None)
        agent.api = AgentApi("http://127.0.0.1:9", tokens[KARI], timeout_s=0.5)
        agent.start()
        assert not agent.sync()
        assert agent.run(once=True) == 1
        assert [r["sent"] for r in journal.reports(contact["contact_id"])] == [0, 0]
        assert _stored(server, tokens, contact["contact_id"])["status"] == "scheduled"
        # The API is back: the reports go out in order, once; a second flush sends nothing.
        agent.api = AgentApi(server.base_url, tokens[KARI])
        assert agent.flush_reports() == 2
        assert agent.flush_reports() == 0
        reports = journal.reports(contact["contact_id"])
        agent.stop()
    assert [(r["kind"], r["sent"]) for r in reports] == [("start", 1), ("outcome", 1)]
    # The start report was tried during the outage and taken once the API was back; the outcome at the first try.
    assert reports[0]["attempts"] >= 2 and reports[1]["attempts"] == 1
    assert any("unreachable" in line or "not refreshed" in line for line in log)
    stored = _stored(server, tokens, contact["contact_id"])
    assert stored["status"] == "completed" and stored["execution"]["positions_sent"] > 0


def test_a_rotator_that_restarts_is_reconnected_and_one_that_never_returns_fails_the_contact(
        network, rotctld: Daemon, tmp_path: Path) -> None:
    server, tokens = network
    contacts = _contacts(server, tokens)
    with Journal.open(tmp_path / "journal.sqlite") as journal:
        agent = _agent(server, tokens, journal, contacts[2], rotctld=rotctld, rigctld=None)
        agent.start()
        agent.sync()
        # The daemon restarts on its port during the pass: the samples go on after a reconnect.
        restarted = []

        def restart_once() -> None:
            if not restarted and agent.clock.now() > parse_utc(contacts[2]["start"], "s") + timedelta(seconds=120):
                restarted.append(agent.clock.now())
                rotctld.stop()
                rotctld.start()
            agent.renew_lease()

        executor = agent.executor()
        executor.on_sample = restart_once
        run = executor.run(journal.pending(after=agent.clock.now())[0])
        assert restarted and run.fatal is None and run.reconnects >= 1 and run.positions_sent > 0
        # Down for good: reconnects fail, the contact is reported failed with the reason.
        rotctld.stop()
        later = contacts[3] if len(contacts) > 3 else contacts[2]
        agent.clock = SimulatedClock(parse_utc(later["start"], "s") - timedelta(seconds=60), SPEED)
        failed = agent.execute(typed(later))
        agent.flush_reports()
        agent.stop()
    assert failed.fatal is not None and "rotator" in failed.fatal and "127.0.0.1" in failed.fatal
    stored = _stored(server, tokens, later["contact_id"])
    assert stored["status"] == "failed" and stored["execution"]["failures"]
    assert "rotator" in stored["notes"]


def test_two_agents_for_one_station_and_a_wrong_clock_are_refused(network, tmp_path: Path) -> None:
    server, tokens = network
    contact = _contacts(server, tokens)[0]
    with Journal.open(tmp_path / "a.sqlite") as journal:
        # Same machine: the journal's lock.
        with pytest.raises(ConflictError, match="already runs this station"):
            Journal.open(tmp_path / "a.sqlite")
        first = _agent(server, tokens, journal, contact, rotctld=None, rigctld=None, agent_id="host-a/1")
        first.start()
        # Another machine (another journal): the API's lease.
        with Journal.open(tmp_path / "b.sqlite") as other:
            second = _agent(server, tokens, other, contact, rotctld=None, rigctld=None, agent_id="host-b/2")
            with pytest.raises(ConflictError, match="host-a/1"):
                second.start()
        first.stop()
        # The clock: 1.5 s off warns, 3 s off (bound 2 s) refuses to start.
        log: list[str] = []
        skewed = _agent(server, tokens, journal, contact, rotctld=None, rigctld=None, log=log,
                        options=AgentOptions(max_clock_offset_s=2.0),
                        system_now=lambda: datetime.now().astimezone() + timedelta(seconds=1.5))
        skewed.start()
        assert any("off the server's" in line for line in log) and skewed.clock_ok
        skewed.stop()
        wrong = _agent(server, tokens, journal, contact, rotctld=None, rigctld=None,
                       options=AgentOptions(max_clock_offset_s=2.0),
                       system_now=lambda: datetime.now().astimezone() + timedelta(seconds=3.0))
        with pytest.raises(ClockOffsetError, match=r"\+(2\.9|3\.0)\d* s off the server's"):
            wrong.start()
        # It let go of the station: another agent may take it at once.
        with Journal.open(tmp_path / "c.sqlite") as other:
            third = _agent(server, tokens, other, contact, rotctld=None, rigctld=None, agent_id="host-c/3")
            third.start()
            third.stop()
        # Past the bound while running, the agent reports the contact failed instead of executing it.
        wrong.clock_ok, wrong.clock_offset_s = False, 3.0
        run = wrong.execute(typed(contact))
        assert run.fatal is not None and "not executed" in run.fatal and run.positions_sent == 0


def test_the_agent_command_runs_a_station_and_names_the_ones_there_are(network, tmp_path: Path) -> None:
    server, tokens = network
    journal = tmp_path / "cli.sqlite"
    args = ["agent", "--api", server.base_url, "--token", tokens[KARI], "--journal", str(journal), "--once"]
    # The demo's contacts are in 2025: on the wall clock nothing is left to run.
    with network_clock(server.database_url, None):
        done = CliRunner().invoke(app, [*args, "--station", STATION])
    assert done.exit_code == 0, done.stderr
    assert f"agent for {STATION} stopped after 0 contacts" in done.stderr
    assert "INSECURE" not in done.stderr  # plain http:// to loopback is fine
    wrong = CliRunner().invoke(app, [*args, "--station", "nowhere"])
    assert wrong.exit_code == 1
    assert "no station called 'nowhere'" in wrong.stderr and "daejeon, jeju" in wrong.stderr


def test_the_agent_says_why_it_has_nothing_to_do(network, tmp_path: Path) -> None:
    server, tokens = network
    args = ["agent", "--api", server.base_url, "--token", tokens[KARI], "--station", STATION, "--journal",
            str(tmp_path / "idle.sqlite"), "--once"]
    # Live: the window from the wall clock is empty, and so are the 14 days after it.
    with network_clock(server.database_url, None):
        live = CliRunner().invoke(app, args)
    assert live.exit_code == 0, live.stderr
    said = re.search(r"nothing to do: no contacts booked on station daejeon between (\S+) and (\S+) \(network "
                     r"clock, live\): the API's schedule for that window is empty; none booked in the 14 days after "
                     r"either \(until (\S+)\)\n", live.stderr)
    assert said is not None, live.stderr
    start, end, until = (parse_utc(said[i], "t") for i in (1, 2, 3))
    # The window is aligned to SCHEDULE_STEP_S (so that unchanged polls are 304s) and covers [now, now + 48 h].
    assert 0 <= (datetime.now().astimezone() - start).total_seconds() < SCHEDULE_STEP_S + 60
    assert end - start == timedelta(hours=48, seconds=SCHEDULE_STEP_S) and until - end == timedelta(days=14)
    assert live.stderr.index("nothing to do") < live.stderr.index("stopped after 0 contacts")
    # Shifted three days before the demo's morning: nothing in the window, and the first contact after it named.
    first = _contacts(server, tokens)[0]
    network_at = parse_utc(first["start"], "start") - timedelta(days=3)
    with network_clock(server.database_url, network_at):
        shifted = CliRunner().invoke(app, args)
    assert shifted.exit_code == 0, shifted.stderr
    said = re.search(r"nothing to do: no contacts booked on station daejeon between (\S+) and \S+ \(network clock, "
                     r"shifted [\d.]+ days behind the wall clock\): the API's schedule for that window is empty; ",
                     shifted.stderr)
    assert said is not None, shifted.stderr
    assert -60 < (network_at - parse_utc(said[1], "start")).total_seconds() < SCHEDULE_STEP_S + 60
    assert (f"the next booked contact is {first['contact_id']} ({first['satellite']['name']}) from "
            f"{format_utc(parse_utc(first['start'], 's'))} to {format_utc(parse_utc(first['end'], 's'))}") \
        in shifted.stderr
    assert "the network's clock is shifted" in shifted.stderr


def _lease_holder(server: ServedApi, process: subprocess.Popen[bytes], timeout_s: float = 60.0) -> str:
    """Return the agent id holding Daejeon's lease, as stored by the server, once the agent has taken it."""
    engine = create_engine_for(server.database_url)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and process.poll() is None:
            with session_scope(make_session_factory(engine), write=False) as session:
                holder = session.scalars(select(AgentLease.agent_id).join(Station).where(Station.name == STATION)
                                         ).one_or_none()
            if holder is not None:
                return holder
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise AssertionError(f"the agent took no lease in {timeout_s:g} s (exit status {process.poll()})")


def test_a_killed_agent_takes_its_own_lease_back_at_once(network, tmp_path: Path) -> None:
    server, tokens = network
    journal = tmp_path / "station.sqlite"
    args = ["agent", "--api", server.base_url, "--token", tokens[KARI], "--station", STATION]
    log_path = tmp_path / "agent.log"
    with network_clock(server.database_url, None):  # nothing to execute: the agent idles, holding the station's lease
        with log_path.open("wb") as log:
            process = subprocess.Popen([sys.executable, "-m", "groundshare.cli", *args, "--journal", str(journal)],
                                       stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        try:
            holder = _lease_holder(server, process)
        finally:
            os.kill(process.pid, signal.SIGKILL)  # no release, no journal close: as a crash or a power cut
            process.wait(timeout=30)
        # Another agent (another journal: another machine, for the API) still waits for the lease to expire.
        other = CliRunner().invoke(app, [*args, "--journal", str(tmp_path / "other.sqlite"), "--once"])
        assert other.exit_code == 1
        assert f"station 'daejeon' is run by agent '{holder}' until " in other.stderr
        # The same agent restarted (same machine, same journal) takes its lease back at once.
        began = time.monotonic()
        again = CliRunner().invoke(app, [*args, "--journal", str(journal), "--once"])
        assert again.exit_code == 0, again.stderr
        assert f"agent {holder} (pid {os.getpid()}) runs station daejeon" in again.stderr
        assert time.monotonic() - began < 60.0  # well within the 120 s the killed agent's lease had left
        # It released the lease as it stopped: the other agent may run now.
        assert CliRunner().invoke(app, [*args, "--journal", str(tmp_path / "other.sqlite"), "--once"]).exit_code == 0
    assert f"agent {holder} (pid {process.pid}) runs station daejeon: its lease lasts 120 s" in log_path.read_text()


def test_a_malformed_contact_is_reported_failed_and_the_others_run(network, tmp_path: Path) -> None:
    server, tokens = network
    contacts = _contacts(server, tokens)
    bad, good = contacts[-2], contacts[-1]

    def tamper(schedule: dict[str, Any]) -> dict[str, Any]:
        for entry in schedule["data"]:
            if entry["contact_id"] == bad["contact_id"]:
                entry["start"] = "yesterday"
        schedule["data"] += [{"contact_id": "x", "start": "2025-11-07T00:00:00Z"}, "not a contact"]
        return schedule

    log: list[str] = []
    with tampering_proxy(server.base_url, "/agent/schedule", tamper) as url, \
            Journal.open(tmp_path / "journal.sqlite") as journal:
        agent = _agent(server, tokens, journal, bad, rotctld=None, rigctld=None, log=log, speed=None)
        agent.api = AgentApi(url, tokens[KARI])
        agent.start()
        assert agent.sync()
        assert journal.state(bad["contact_id"]) == "rejected"
        pending = [c.contact_id for c in journal.pending(after=agent.clock.now())]
        assert good["contact_id"] in pending and bad["contact_id"] not in pending
        assert agent.flush_reports() == 1  # the failed outcome of the malformed contact
        assert agent.sync() and agent.flush_reports() == 0  # reported once, however often it is listed
        # The others run: the next contact is executed and reported as usual.
        lead_s = agent.lead_s(typed(good))
        agent.clock = JumpingClock(parse_utc(good["start"], "s") - timedelta(seconds=lead_s + 5))
        assert agent.run(once=True) == 1
        agent.stop()
    stored = _stored(server, tokens, bad["contact_id"])
    assert stored["status"] == "failed"
    assert (f"not executed: the API's schedule lists it malformed: contact {bad['contact_id']}: start must be an ISO "
            "8601 UTC time such as 2025-11-07T03:12:00Z, got 'yesterday'") in stored["notes"]
    assert _stored(server, tokens, good["contact_id"])["status"] == "completed"
    cannot = [line for line in log if "the API's schedule holds an entry the agent cannot use or report" in line]
    assert len(cannot) == len(set(cannot)) >= 2  # said, and never twice alike
    assert cannot[0].endswith("schedule entry 2: contact_id must be a whole number of at least 1, got 'x'")
    assert cannot[1].endswith("schedule entry 3 must be a JSON object, got 'not a contact'")


def test_a_schedule_past_the_bounds_is_refused_whole(network, tmp_path: Path) -> None:
    server, tokens = network
    contact = _contacts(server, tokens)[0]

    def inflate(schedule: dict[str, Any]) -> dict[str, Any]:
        schedule["data"] = schedule["data"][:1] * (MAX_SCHEDULE_CONTACTS + 1)
        schedule["count"] = len(schedule["data"])
        return schedule

    def pad(schedule: dict[str, Any]) -> dict[str, Any]:
        return {**schedule, "padding": "x" * MAX_RESPONSE_BYTES}

    log: list[str] = []
    with Journal.open(tmp_path / "journal.sqlite") as journal:
        agent = _agent(server, tokens, journal, contact, rotctld=None, rigctld=None, log=log)
        agent.start()
        for tamper, said in ((inflate, f"the schedule lists {MAX_SCHEDULE_CONTACTS + 1} contacts, more than the "
                                       f"{MAX_SCHEDULE_CONTACTS} the agent takes at once (MAX_SCHEDULE_CONTACTS)"),
                             (pad, f"bytes, more than the {MAX_RESPONSE_BYTES} the agent reads (MAX_RESPONSE_BYTES); "
                                   "nothing of it was used")):
            with tampering_proxy(server.base_url, "/agent/schedule", tamper) as url:
                agent.api = AgentApi(url, tokens[KARI])
                assert not agent.sync()
            assert journal.pending(after=agent.clock.now()) == []  # nothing of it taken
            assert any(line.startswith("error: the API's schedule of station daejeon was refused: ") and said in line
                       for line in log), log
            reason = agent.idle_reason(agent.clock.now())
            assert reason.startswith("nothing to do: the journal holds no pending contact of station daejeon after ")
            assert "the schedule was not refreshed: the API's schedule of station daejeon was refused" in reason
        agent.api = AgentApi(server.base_url, tokens[KARI])
        agent.stop()


def _own_address() -> str | None:
    """Return an address of this machine other than loopback (None if it has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # UDP: picks the outgoing address, sends nothing
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if ipaddress.ip_address(address).is_loopback else address


def test_plain_http_to_another_machine_warns_loudly(network, tmp_path: Path) -> None:
    server, tokens = network
    address = _own_address()
    if address is None:
        pytest.skip("this machine has no address but loopback to serve plain http:// on")
    with network_clock(server.database_url, None), tampering_proxy(server.base_url, host=address) as url:
        done = CliRunner().invoke(app, ["agent", "--api", url, "--token", tokens[KARI], "--station", STATION,
                                        "--journal", str(tmp_path / "journal.sqlite"), "--once"])
    assert done.exit_code == 0, done.stderr
    assert done.stderr.startswith(f"warning: INSECURE API URL {url}: plain http:// to a host other than this machine "
                                  "sends the station's token and every report in clear text")
    refused = CliRunner().invoke(app, ["agent", "--api", "groundshare.example.org", "--token", tokens[KARI],
                                       "--station", STATION, "--journal", str(tmp_path / "journal.sqlite")])
    assert refused.exit_code == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("error: the API URL must be https://HOST (or http:// to a loopback address)")


def test_the_agent_runs_a_contact_at_the_networks_shifted_time(network, rotctld: Daemon, tmp_path: Path) -> None:
    server, tokens = network
    planned = _contacts(server, tokens)[-1]
    booker = None
    for token in tokens.values():
        with _http(server, token) as client:
            if client.get("/orgs/me").json()["org"]["id"] == planned["org_id"]:
                booker = token
    assert booker is not None
    # A 20-second contact a minute into the planned pass, booked while the network runs 8 s before it.
    start = parse_utc(planned["start"], "start") + timedelta(seconds=60)
    end = start + timedelta(seconds=20)
    log: list[str] = []
    with network_clock(server.database_url, start - timedelta(seconds=8)):
        with _http(server, booker) as client:
            assert client.post(f"/contacts/{planned['contact_id']}/cancel").status_code == 200
            booked = client.post("/contacts", json={
                "antenna_id": planned["antenna"]["id"], "satellite_id": planned["satellite"]["id"],
                "start": format_utc(start), "end": format_utc(end)})
            assert booked.status_code == 201, booked.text
            contact_id = booked.json()["id"]
        with Journal.open(tmp_path / "journal.sqlite") as journal:
            # The network's clock, its waits skipped: the 8 s to the contact and its 20 s take no time.
            agent = StationAgent(STATION, journal, api=AgentApi(server.base_url, tokens[KARI]),
                                 rotator=Rotator(rotctld.host, rotctld.port), rig=None, clock=JumpingNetworkClock(),
                                 options=AgentOptions(sync_interval_s=HOUR_S, lease_ttl_s=60.0), log=log.append)
            agent.start()
            assert agent.run(once=True) == 1
            agent.flush_reports()
            agent.stop()
            saved = journal.clock()
        # Restarted with the API down, the agent keeps to the network's clock as its journal last saw it.
        with Journal.open(tmp_path / "journal.sqlite") as journal:
            offline = StationAgent(STATION, journal, api=AgentApi("http://127.0.0.1:9", tokens[KARI], timeout_s=0.5),
                                   rotator=None, rig=None, log=log.append)
            offline.start()
            assert isinstance(offline.clock, NetworkClock) and offline.clock.offset_s == agent.clock.offset_s
        assert isinstance(agent.clock, NetworkClock)  # the network's clock, now at the contact's end
        assert timedelta(0) <= agent.clock.now() - end < timedelta(seconds=60)
        assert agent.server_clock is not None and agent.server_clock.mode == "shifted"
        assert agent.clock_ok and abs(agent.clock_offset_s) < 1.0  # measured against the network's time
    assert saved is not None and saved.mode == "shifted"
    assert any(line.startswith("the network's clock is shifted ") and "the agent runs on it" in line for line in log)
    stored = _stored(server, tokens, contact_id)
    assert stored["status"] == "completed", stored
    assert parse_utc(stored["started_at"], "s") >= start and parse_utc(stored["finished_at"], "s") >= end
    assert stored["execution"]["positions_sent"] > 0


def test_track_points_the_antenna_over_one_pass(rotctld: Daemon) -> None:
    done = CliRunner().invoke(app, [
        "track", "--elements", str(data_path("celestrak_cubesat_2025-11-06.tle")),
        "--stations", str(data_path("demo_stations.toml")), "--station", "daejeon", "--norad", "41849",
        "--start", "2025-11-07T00:00Z", "--rotctld", f"{rotctld.host}:{rotctld.port}", "--speed", str(SPEED)])
    assert done.exit_code == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "completed" and outcome["execution"]["positions_sent"] > 0
    assert outcome["execution"]["positions_read"] >= outcome["execution"]["positions_sent"]
    assert "tracking" in done.stderr and "positions sent" in done.stderr
