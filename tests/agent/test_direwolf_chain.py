"""The data comes home: audio -> Dire Wolf -> KISS TCP -> the agent during a pass -> the API -> the operator.

``gen_packets`` makes AFSK 1200 and G3RUH 9600 audio holding known AX.25 frames, each
different (``tests/support/direwolf.py``); ``direwolf`` decodes it from its stdin and
serves the frames on KISS TCP; the agent captures them during a simulated pass of the
demo network (``groundshare serve`` on SQLite, ``demo load --plan-days 0.25``) and
uploads them; the satellite's operator reads them back with ``GET
/satellites/{id}/frames``.  The oracle is the text the audio was made from, read back
from each stored frame by an independent AX.25 parser: every generated frame must be
there exactly once.

- one station, 1200 and 9600 bit/s, on a ``SimulatedClock`` 120 times real time (an
  8-minute pass in 4 s; the audio is fed while the pass runs);
- two stations (KARI's Daejeon and Jeju, a contact booked at Jeju within Daejeon's)
  fed the same audio by two Dire Wolfs give one frame with two receptions: both agents
  run on one simulated clock, so their stamps fall within the network's 5 s window;
- a subprocess agent (``groundshare agent --kiss``) on the network's clock is killed
  with SIGKILL in the middle of a pass, after it journaled half the frames while its
  uploads were refused (a proxy answers 503 to them); restarted, it sends them, takes
  the rest of the pass and no frame is lost or doubled;
- a capture command's file goes up in chunks, is resumed where the API says after a
  restart, and downloads byte for byte; a file changed after LOS is not sent.

No rotator or radio here: the capture does not depend on them (``test_station_agent``
drives those).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from groundshare.agent.capture import CaptureOptions, DataUploader
from groundshare.agent.client import AgentApi
from groundshare.agent.clock import SimulatedClock
from groundshare.agent.execution import AgentOptions
from groundshare.agent.journal import Journal
from groundshare.agent.recording import file_sha256
from groundshare.agent.runner import StationAgent
from groundshare.contact import ScheduledContact
from groundshare.timeutil import format_utc, parse_utc
from groundshare.units import HOUR_S
from tests.support.direwolf import Direwolf, frame_texts, packet_audio, parse_ax25_ui
from tests.support.served import ServedApi, network_clock, serve_demo

pytestmark = [pytest.mark.service, pytest.mark.hardware, pytest.mark.slow]

SPEED = 120.0
KARI = "Korea Aerospace Research Institute (KARI)"


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedApi, dict[str, str]]]:
    with serve_demo(tmp_path_factory.mktemp("chain")) as served:
        yield served


def _http(server: ServedApi, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0)


def _schedule(server: ServedApi, token: str, station: str) -> list[dict[str, Any]]:
    with _http(server, token) as client:
        station_id = next(s["id"] for s in client.get("/stations", params={"limit": 500}).json()["data"]
                          if s["name"] == station)
        return client.get("/agent/schedule", params={"station_id": station_id, "start": "2025-11-07T00:00:00Z",
                                                      "end": "2025-11-07T06:00:00Z"}).json()["data"]


def _operator(server: ServedApi, tokens: dict[str, str], satellite_id: int) -> str:
    """Return the token of the satellite's operator."""
    for token in tokens.values():
        with _http(server, token) as client:
            me = client.get("/orgs/me").json()["org"]["id"]
            answer = client.get(f"/satellites/{satellite_id}")
            if answer.status_code == 200 and answer.json()["org_id"] == me:
                return token
    raise AssertionError(f"no demo organisation operates satellite {satellite_id}")


def _frames(server: ServedApi, token: str, path: str) -> list[dict[str, Any]]:
    """Return every frame of ``path`` (``/satellites/{id}/frames`` or ``/contacts/{id}/frames``), page by page."""
    frames: list[dict[str, Any]] = []
    with _http(server, token) as client:
        while True:
            params = {"limit": 1000, **({"after_id": frames[-1]["id"]} if frames else {})}
            page = client.get(path, params=params)
            assert page.status_code == 200, page.text
            if not page.json():
                return frames
            frames += page.json()


def _texts(frames: list[dict[str, Any]]) -> list[str]:
    """Return the monitor-format text of each stored frame (the newline gen_packets keeps, dropped)."""
    return [parse_ax25_ui(bytes.fromhex(frame["payload_hex"])).removesuffix("\n") for frame in frames]


def _agent(server: ServedApi, token: str, journal: Journal, station: str, kiss: str, clock: Any,
           log: list[str]) -> StationAgent:
    host, port = kiss.split(":")
    return StationAgent(station, journal, api=AgentApi(server.base_url, token), rotator=None, rig=None, clock=clock,
                        options=AgentOptions(sync_interval_s=HOUR_S, lease_ttl_s=60.0), agent_id=f"chain/{station}",
                        log=log.append, capture=CaptureOptions(kiss=(host, int(port)), tail_s=5.0,
                                                               upload_interval_s=0.2))


class GearedClock:
    """A simulated clock whose speed the test changes as it goes (fast through the pass, real time for the audio).

    Waits are taken in slices of at most 20 ms, so a change of speed takes effect at once.
    """

    def __init__(self, start: datetime, speed: float) -> None:
        self._anchor = (start, time.monotonic(), speed)

    def now(self) -> datetime:
        start, t0, speed = self._anchor
        return start + timedelta(seconds=(time.monotonic() - t0) * speed)

    def set_speed(self, speed: float) -> None:
        self._anchor = (self.now(), time.monotonic(), speed)

    def sleep_until(self, when: datetime) -> None:
        while (wait_s := (when - self.now()).total_seconds() / self._anchor[2]) > 0:
            time.sleep(min(wait_s, 0.02))


def _feed_when(direwolf: Direwolf, audio: bytes, clock: SimulatedClock, at: datetime, clients: int = 1
               ) -> threading.Thread:
    """Feed ``audio`` to Dire Wolf once ``clients`` agents are attached and the clock has passed ``at``."""
    def feed() -> None:
        direwolf.wait_for_clients(clients)
        while clock.now() < at:
            time.sleep(0.005)
        direwolf.feed(audio)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(("baud", "index"), [(1200, 0), (9600, 1)])
def test_every_frame_dire_wolf_decodes_reaches_the_operator_exactly_once(network, tmp_path: Path, baud: int,
                                                                         index: int) -> None:
    server, tokens = network
    contact = _schedule(server, tokens[KARI], "daejeon")[index]
    texts = frame_texts(40, tag=f"AX{baud}")
    audio = packet_audio(texts, tmp_path, baud=baud)
    start, end = parse_utc(contact["start"], "start"), parse_utc(contact["end"], "end")
    log: list[str] = []
    direwolf = Direwolf(tmp_path, baud=baud).start()
    try:
        with Journal.open(tmp_path / "journal.sqlite") as journal:
            clock = SimulatedClock(start - timedelta(seconds=5), SPEED)
            agent = _agent(server, tokens[KARI], journal, "daejeon", direwolf.address, clock, log)
            agent.start()
            feeder = _feed_when(direwolf, audio, clock, start + timedelta(seconds=60))
            run = agent.execute(ScheduledContact.from_json(contact))
            feeder.join(10)
            agent.flush_data()  # whatever the uploader thread has not sent yet
            agent.flush_reports()
            agent.stop()
            kept = journal.frames(contact["contact_id"])
    finally:
        direwolf.stop()
    assert direwolf.heard() == len(texts), direwolf.log()
    assert [parse_ax25_ui(f.payload).removesuffix("\n") for f in kept] == texts
    assert {f.uploaded for f in kept} == {1}
    assert all(start <= parse_utc(f.received_at, "t") <= end for f in kept)  # stamped by the agent's (pass) clock
    assert run.frames_received == len(texts) and run.fatal is None
    # The operator reads every frame once, heard at Daejeon, in the order they were sent.
    operator = _operator(server, tokens, contact["satellite"]["id"])
    stored = [f for f in _frames(server, operator, f"/satellites/{contact['satellite']['id']}/frames")
              if f"AX{baud} frame" in parse_ax25_ui(bytes.fromhex(f["payload_hex"]))]
    assert _texts(stored) == texts
    assert {tuple(f["stations"]) for f in stored} == {("daejeon",)}
    assert [f["payload_hex"] for f in _frames(server, tokens[KARI], f"/contacts/{contact['contact_id']}/frames")] \
        == [f["payload_hex"] for f in stored]
    with _http(server, tokens[KARI]) as kari:
        outcome = kari.get(f"/contacts/{contact['contact_id']}").json()
    assert outcome["status"] == "completed"
    assert outcome["frames_received"] == len(texts)
    assert outcome["bytes_received"] == sum(len(f.payload) for f in kept)
    assert f"{len(texts)} frame(s) ({outcome['bytes_received']} bytes) captured from KISS {direwolf.address}" \
        in outcome["notes"]


def test_two_stations_fed_the_same_audio_give_one_frame_with_two_receptions(network, tmp_path: Path) -> None:
    server, tokens = network
    kari = tokens[KARI]
    # A contact at Jeju within one of Daejeon's (KARI operates both; Jeju is 330 km from Daejeon).
    with _http(server, kari) as client:
        jeju_antenna = next(s for s in client.get("/stations", params={"limit": 500}).json()["data"]
                            if s["name"] == "jeju")
        antenna_id = client.get(f"/stations/{jeju_antenna['id']}/antennas").json()["data"][0]["id"]
        for daejeon in _schedule(server, kari, "daejeon")[2:]:
            start = parse_utc(daejeon["start"], "start") + timedelta(seconds=60)
            end = parse_utc(daejeon["end"], "end") - timedelta(seconds=60)
            booked = client.post("/contacts", json={"antenna_id": antenna_id, "start": format_utc(start),
                                                    "satellite_id": daejeon["satellite"]["id"], "end": format_utc(end)})
            if booked.status_code == 201:
                break
        else:
            raise AssertionError("no contact at Jeju could be booked within one of Daejeon's")
    jeju = next(c for c in _schedule(server, kari, "jeju") if c["contact_id"] == booked.json()["id"])
    texts = frame_texts(30, tag="PAIR")
    audio = packet_audio(texts, tmp_path)
    # One clock for both agents, fast through the pass and real time while the audio plays: the two stations'
    # stamps of a frame are then as far apart as their Dire Wolfs' decoding is (milliseconds), well within 5 s.
    clock = GearedClock(start - timedelta(seconds=3), SPEED)
    log: list[str] = []
    wolves = [Direwolf(tmp_path / name, name=name).start() for name in ("daejeon", "jeju")]
    try:
        with Journal.open(tmp_path / "daejeon.sqlite") as j1, Journal.open(tmp_path / "jeju.sqlite") as j2:
            agents = [_agent(server, kari, j1, "daejeon", wolves[0].address, clock, log),
                      _agent(server, kari, j2, "jeju", wolves[1].address, clock, log)]
            for agent in agents:
                agent.start()
            runs: dict[str, Any] = {}
            threads = [threading.Thread(target=lambda a=agent, c=c: runs.setdefault(a.station_name, a.execute(
                ScheduledContact.from_json(c)))) for agent, c in zip(agents, (daejeon, jeju), strict=True)]
            for thread in threads:
                thread.start()
            for wolf in wolves:
                wolf.wait_for_clients(1)
            while clock.now() < start + timedelta(seconds=10):
                time.sleep(0.005)
            clock.set_speed(1.0)
            for wolf in wolves:  # the same audio into both, at once
                wolf.feed(audio)
            for journal in (j1, j2):
                _wait(lambda j=journal, c=(daejeon if journal is j1 else jeju): j.frame_counts(c["contact_id"])[0]
                      == len(texts), "both stations' frames in their journals")
            clock.set_speed(SPEED)
            for thread in threads:
                thread.join(120)
            for agent in agents:
                agent.flush_data()
                agent.flush_reports()
                agent.stop()
    finally:
        for wolf in wolves:
            wolf.stop()
    assert [runs[name].frames_received for name in ("daejeon", "jeju")] == [len(texts), len(texts)]
    satellite_id = jeju["satellite"]["id"]
    stored = [f for f in _frames(server, _operator(server, tokens, satellite_id), f"/satellites/{satellite_id}/frames")
              if "PAIR frame" in parse_ax25_ui(bytes.fromhex(f["payload_hex"]))]
    assert _texts(stored) == texts  # one frame each ...
    assert {tuple(f["stations"]) for f in stored} == {("daejeon", "jeju")}  # ... heard by both stations
    for contact in (daejeon, jeju):  # each contact lists every frame it received
        assert len(_frames(server, kari, f"/contacts/{contact['contact_id']}/frames")) == len(texts)


@contextlib.contextmanager
def frames_refused(upstream: str) -> Iterator[str]:
    """Yield the URL of a proxy to ``upstream`` that answers 503 to frame uploads and passes everything else."""
    client = httpx.Client(base_url=upstream, timeout=60.0)

    class Handler(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            if self.command == "POST" and self.path.split("?")[0].endswith("/frames"):
                status, content, kind = 503, b'{"detail": "down for the test"}', "application/json"
            else:
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                answer = client.request(self.command, self.path, content=body, headers=headers)
                status, content, kind = answer.status_code, answer.content, answer.headers.get("content-type", "")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(content)

        do_GET = do_POST = do_DELETE = do_PUT = _forward  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}"
    finally:
        proxy.shutdown()
        proxy.server_close()
        client.close()


def _journaled(path: Path, contact_id: int) -> list[tuple[bytes, int]]:
    """Read the agent's journal from outside (read-only): its frames of the contact and their upload state."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
        try:
            return [(bytes(p), u) for p, u in db.execute(
                "SELECT payload, uploaded FROM frames WHERE contact_id = ? ORDER BY seq", (contact_id,))]
        except sqlite3.OperationalError:  # not created yet
            return []


def _wait(condition, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_an_agent_killed_mid_pass_loses_no_frame_after_restart(network, tmp_path: Path) -> None:
    server, tokens = network
    planned = _schedule(server, tokens[KARI], "daejeon")[-1]
    booker = next(t for t in tokens.values() if _http(server, t).get("/orgs/me").json()["org"]["id"]
                  == planned["org_id"])
    # A 40-second contact a minute into the planned pass, booked while the network runs 15 s before it.
    start = parse_utc(planned["start"], "start") + timedelta(seconds=60)
    end = start + timedelta(seconds=40)
    texts = frame_texts(20, tag="KILL")
    first, second = packet_audio(texts[:10], tmp_path / "a"), packet_audio(texts[10:], tmp_path / "b")
    journal = tmp_path / "journal.sqlite"
    with network_clock(server.database_url, start - timedelta(seconds=15)):
        with _http(server, booker) as client:
            assert client.post(f"/contacts/{planned['contact_id']}/cancel").status_code == 200
            booked = client.post("/contacts", json={
                "antenna_id": planned["antenna"]["id"], "satellite_id": planned["satellite"]["id"],
                "start": format_utc(start), "end": format_utc(end)})
            assert booked.status_code == 201, booked.text
            contact_id = booked.json()["id"]
        direwolf = Direwolf(tmp_path).start()
        try:
            def agent(url: str, log_name: str) -> subprocess.Popen[bytes]:
                with (tmp_path / log_name).open("wb") as log:
                    return subprocess.Popen(
                        [sys.executable, "-m", "groundshare.cli", "agent", "--api", url, "--token", tokens[KARI],
                         "--station", "daejeon", "--journal", str(journal), "--kiss", direwolf.address,
                         "--capture-tail-s", "2", "--once"], stdout=log, stderr=log, stdin=subprocess.DEVNULL)

            with frames_refused(server.base_url) as url:
                killed = agent(url, "killed.log")
                try:
                    direwolf.wait_for_clients(1, timeout_s=60)
                    direwolf.feed(first)
                    _wait(lambda: len(_journaled(journal, contact_id)) == 10, "the first half in the journal")
                    time.sleep(0.5)  # an upload attempt or two, refused
                finally:
                    os.kill(killed.pid, signal.SIGKILL)  # no flush, no close: as a crash or a power cut
                    killed.wait(30)
            before = _journaled(journal, contact_id)
            assert [u for _, u in before] == [0] * 10  # journaled, never taken by the API
            assert _frames(server, tokens[KARI], f"/contacts/{contact_id}/frames") == []
            # Restarted against the real API: it sends what the journal kept and captures the rest of the pass.
            again = agent(server.base_url, "restarted.log")
            direwolf.wait_for_clients(2, timeout_s=60)
            direwolf.feed(second)
            assert again.wait(120) == 0, (tmp_path / "restarted.log").read_text()
        finally:
            direwolf.stop()
    restarted_log = (tmp_path / "restarted.log").read_text()
    assert direwolf.heard() == 20
    after = _journaled(journal, contact_id)
    assert [parse_ax25_ui(p).removesuffix("\n") for p, _ in after] == texts and {u for _, u in after} == {1}
    stored = _frames(server, tokens[KARI], f"/contacts/{contact_id}/frames")
    assert _texts(stored) == texts, restarted_log  # each once: none lost at the kill, none doubled by the restart
    with _http(server, tokens[KARI]) as kari:
        outcome = kari.get(f"/contacts/{contact_id}").json()
    assert outcome["status"] == "completed" and outcome["frames_received"] == 20, outcome
    assert "capturing frames from KISS" in (tmp_path / "killed.log").read_text()


def test_capture_files_are_uploaded_resumably_after_a_restart(network, tmp_path: Path) -> None:
    server, tokens = network
    contact = _schedule(server, tokens[KARI], "daejeon")[3]
    contact_id = contact["contact_id"]
    recording = tmp_path / "pass.raw"
    recording.write_bytes(bytes(range(256)) * 1200)  # 307,200 bytes: five chunks of 64 KiB
    changed = tmp_path / "changed.wav"
    changed.write_bytes(b"RIFF" * 10)
    log: list[str] = []
    with Journal.open(tmp_path / "journal.sqlite") as journal:
        journal.add_artifact(contact_id, "pass.raw", str(recording), file_sha256(recording), 307_200)
        journal.add_artifact(contact_id, "changed.wav", str(changed), file_sha256(changed), 40)
        changed.write_bytes(b"RIFF" * 11)  # the file changed after LOS: not uploaded, said why
        api = AgentApi(server.base_url, tokens[KARI])
        first = DataUploader(journal, lambda: api, log=log.append, chunk_bytes=64 * 1024)
        assert first.upload_artifacts(max_chunks=2) == 0  # interrupted after two chunks
        [halfway] = [a for a in journal.artifacts(contact_id) if a.name == "pass.raw"]
        assert halfway.uploaded_bytes == 2 * 64 * 1024 and halfway.done == 0
        journal.artifact_progress(contact_id, "pass.raw", 0)  # the journal lost track: the API says where to go on
        again = DataUploader(journal, lambda: api, log=log.append, chunk_bytes=64 * 1024)  # a restarted agent
        assert again.upload_artifacts() == 1
        states = {a.name: (a.done, a.uploaded_bytes, a.last_error) for a in journal.artifacts(contact_id)}
        assert again.upload_artifacts() == 0  # nothing left to do
    assert states["pass.raw"] == (1, 307_200, None)
    assert states["changed.wav"][0] == -1 and "changed after LOS (40 bytes then, 44 now)" in states["changed.wav"][2]
    with _http(server, tokens[KARI]) as kari:
        listed = kari.get(f"/contacts/{contact_id}/artifacts").json()
        names = [a["name"] for a in (listed["data"] if isinstance(listed, dict) else listed)]
        download = kari.get(f"/contacts/{contact_id}/artifacts/pass.raw")
    assert names == ["pass.raw"]
    assert download.status_code == 200 and download.content == recording.read_bytes()
