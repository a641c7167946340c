"""The station agent end to end: a real server, real rotctld/rigctld, a simulated clock.

The server is ``groundshare serve`` on SQLite with the demo network and a planned
morning (``demo load --plan-days 0.25``). The agent runs KARI's Daejeon station on a
``SimulatedClock`` 120 times faster than real time, so an 8-minute pass takes about
4 s, while the dummy rotator keeps its real 6 deg/s (its pointing error is large, and
is reported as it is). With the radio the clock runs 12 times faster only: the dummy
rigctld takes about 40 ms to set a frequency and 20 ms to set the uplink (measured),
so a second of pass needs about 60 ms of real time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from groundshare.agent.client import AgentApi
from groundshare.agent.clock import SimulatedClock
from groundshare.agent.hamlib import Rig, Rotator
from groundshare.agent.journal import Journal
from groundshare.agent.runner import AgentOptions, ClockOffsetError, StationAgent
from groundshare.cli import app
from groundshare.data import data_path
from groundshare.errors import ConflictError
from groundshare.timeutil import parse_utc
from tests.service.server import ServedApi, cli, serve

from .conftest import Daemon

SPEED = 120.0
SPEED_WITH_RADIO = 12.0
KARI = "Korea Aerospace Research Institute (KARI)"
STATION = "daejeon"
DOWNLINK_HZ = 437.5e6
UPLINK_HZ = 145.9e6


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedApi, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("agent")
    url = f"sqlite:///{folder / 'demo.db'}"
    cli("db", "upgrade", database_url=url)
    tokens = dict(line.split("\t") for line in cli("demo", "load", "--plan-days", "0.25",
                                                   database_url=url).splitlines())
    with serve(url, folder / "server.log") as server:
        yield server, tokens


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
           options: AgentOptions | None = None, log: list[str] | None = None, speed: float = SPEED,
           **kwargs: Any) -> StationAgent:
    """An agent for Daejeon on a simulated clock that starts 5 simulated seconds before the contact's lead."""
    options = options or AgentOptions(sync_interval_s=3600.0, lease_ttl_s=60.0)
    rotator = Rotator(rotctld.host, rotctld.port, reconnect_attempts=2, reconnect_delay_s=0.2) if rotctld else None
    rig = Rig(rigctld.host, rigctld.port, reconnect_attempts=2, reconnect_delay_s=0.2) if rigctld else None
    agent = StationAgent(STATION, journal, api=AgentApi(server.base_url, tokens[KARI]), rotator=rotator, rig=rig,
                         options=options, agent_id=agent_id, log=(log.append if log is not None else print), **kwargs)
    begin = parse_utc(contact["start"], "start") - timedelta(seconds=agent.lead_s(contact) + 5.0)
    agent.clock = SimulatedClock(begin, speed)
    return agent


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
        assert pending[0]["contact_id"] == contact["contact_id"]
        assert pending[0]["satellite"]["uplink_frequency_hz"] == UPLINK_HZ
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
        agent = _agent(server, tokens, journal, contact, rotctld=rotctld, rigctld=None, log=log)
        agent.start()
        assert agent.sync()
        agent.stop()
    # The API goes away; a restarted agent runs the contact from its journal alone.
    with Journal.open(journal_path) as journal:
        agent = _agent(server, tokens, journal, contact, rotctld=rotctld, rigctld=None, log=log)
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
        failed = agent.execute(later)
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
        run = wrong.execute(contact)
        assert run.fatal is not None and "not executed" in run.fatal and run.positions_sent == 0


def test_the_agent_command_runs_a_station_and_names_the_ones_there_are(network, tmp_path: Path) -> None:
    server, tokens = network
    journal = tmp_path / "cli.sqlite"
    args = ["agent", "--api", server.base_url, "--token", tokens[KARI], "--journal", str(journal), "--once"]
    done = CliRunner().invoke(app, [*args, "--station", STATION])
    # The demo's contacts are in 2025: on the wall clock there is nothing left to run.
    assert done.exit_code == 0, done.stderr
    assert f"agent for {STATION} stopped after 0 contacts" in done.stderr
    wrong = CliRunner().invoke(app, [*args, "--station", "nowhere"])
    assert wrong.exit_code == 1
    assert "no station called 'nowhere'" in wrong.stderr and "daejeon, jeju" in wrong.stderr


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
