"""A SatNOGS station joins the network unmodified: the real satnogs-client against a real ``groundshare serve``.

The client is ``satnogs-client`` 2.1.4 from PyPI, in a virtual environment of its own made
with Debian's Python (it imports Debian's ``python3-hamlib`` and ``python3-gps``;
``tests/support/satnogs_client.py``), run as a station runs it: ``python -m satnogsclient``
with its settings in its environment, polling ``/satnogs/api/jobs/`` with the station's
scoped token (``Authorization: Token <key>``), scheduling observations by the wall clock,
pointing Debian's ``rotctld -m 1`` (a networked Hamlib rotator) and tuning ``rigctld -m 1``
with Doppler during the pass, then uploading with ``PUT /satnogs/api/observations/{id}/``.

**Its SDR flowgraph is replaced.**  For each observation the client runs
``flowgraph_dispatcher`` from its PATH: a GNU Radio script of gr-satnogs that needs an SDR
and is not packaged here.  A stand-in of that name comes first on its PATH
(``tests/support/satnogs_flowgraph.py``): it writes what the real flowgraph writes, under the
names it uses (the audio file the client renames to ``.ogg``, the waterfall ``.dat`` the
client plots to a PNG itself, one ``data_<id>_<time>`` file per decoded frame) and stops on
the client's SIGINT.  Everything else is the real client's own code.

Because the client schedules by the wall clock, the network's clock is live, the satellite's
orbit is a shipped CubeSat element set re-dated to an hour ago, and the station is placed
under its ground track, so that the pass is overhead within about a minute.  Contacts are
short (15 s) and the client polls and uploads every second; the test takes about a minute
(55 s here, with the client's virtual environment already made; making it takes 15 s more).

It shows, through the client's own log and the API: a booked contact becomes a job
("Received job for observation N", once); a contact re-planned under a fresher orbit changes
its job ("Received updated job"); a cancelled contact disappears ("Drop planned observation");
the contact runs once, the rotator and radio follow the satellite, and the audio, the waterfall
and each frame arrive as the contact's artifacts and frames, visible to the operator with its
Bearer token; the contact ends completed with the client's version stored.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import pytest

from groundshare.orbits import ElementSet, load_elements
from groundshare.orbits.frames import itrs_to_geodetic
from groundshare.orbits.propagate import propagate_itrs, satrec_array
from groundshare.orbits.tle import tle_checksum
from groundshare.passes import Site, find_passes
from groundshare.store import create_engine_for, make_session_factory, network_now, session_scope
from groundshare.store.replan import replan_satellites
from groundshare.timeutil import format_utc, parse_utc
from tests.support.commands import cli
from tests.support.hamlib import Daemon, daemon
from tests.support.satnogs_client import (
    CLIENT_VERSION,
    SatnogsClient,
    client_python,
    fake_flowgraph_folder,
    satnogs_client,
)
from tests.support.served import ServedApi, network_clock, serve
from tests.support.shipped import CUBESATS

pytestmark = [pytest.mark.service, pytest.mark.hardware, pytest.mark.slow]

T = TypeVar("T")

ORG = "Libre Ground Stations"
DOWNLINK_HZ = 437_500_000.0
DRIFT_PPB = 1_000
#: The job's frequency: the downlink with the transmitter's drift applied, as SatNOGS DB gives it.
JOB_HZ = round(DOWNLINK_HZ * (1 + DRIFT_PPB / 1e9))
MODE, BAUD = "FSK", 9600.0
CONTACT_S = 15
#: How long after the contacts are booked the first one starts: the client must get, update and drop jobs first.
LEAD_S = 25
#: The pass's culmination, from the moment the orbit is set: the client's start and the bookings come first.
CULMINATION_S = 75
ORBIT_SHIFT_S = 20  # the fresher orbit puts the satellite this many seconds later along its track
STAMP = r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d"  # the client's file-name timestamp, UTC
FRAMES = [bytes.fromhex("86a240404040e0 8ea6609aa682a861 03f0") + f"satnogs frame {n}".encode() for n in (1, 2, 3)]
TIMEOUT_S = 60.0


def redated_tle(line1: str, line2: str, name: str, epoch: datetime) -> str:
    """Return the 3LE of ``line1``/``line2`` with its epoch (columns 19-32) set to ``epoch``, checksum redone.

    As ``tests/web/test_element_age.py`` does: the same mean elements, at another epoch.
    """
    day = (epoch - datetime(epoch.year, 1, 1, tzinfo=UTC)).total_seconds() / 86_400.0 + 1.0
    body = f"{line1[:18]}{epoch.year % 100:02d}{day:012.8f}{line1[32:68]}"
    return f"{name}\n{body}{tle_checksum(body)}\n{line2}\n"


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (f"{response.request.method} {response.request.url} answered "
                                            f"{response.status_code}: {response.text}")
    return response.json()


def _until(what: str, probe: Callable[[], T | None], timeout_s: float = TIMEOUT_S,
           explain: Callable[[], str] = str) -> T:
    """Return ``probe()``'s first truthy answer, asking every 0.5 s for up to ``timeout_s`` (then fail with
    ``explain()``)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:g} s\n{explain()}")
        time.sleep(0.5)


def _subpoint(element_set: ElementSet, at: datetime) -> tuple[float, float]:
    """Return the latitude and longitude (deg) under the satellite at ``at``."""
    _err, r_km, _v = propagate_itrs(satrec_array([element_set]), at, np.array([0.0]))
    lat, lon, _h = itrs_to_geodetic(r_km[0, 0])
    return float(lat), float(lon)


def _rotctld_position(port: int) -> tuple[float, float]:
    """Return the dummy rotator's azimuth and elevation (deg), asked as rotctl asks (``p``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"p\n")
        reply = b""
        while reply.count(b"\n") < 2:
            reply += s.recv(256)
    az, el = reply.decode().split()[:2]
    return float(az), float(el)


def _rigctld_frequency(port: int) -> float:
    """Return the dummy radio's frequency (Hz), asked as rigctl asks (``f``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"f\n")
        reply = b""
        while b"\n" not in reply:
            reply += s.recv(256)
    return float(reply.decode().split()[0])


@dataclass
class Station:
    """The world the client serves: the server, tokens, the station's ids and the satellite's orbit."""

    server: ServedApi
    admin: httpx.Client  # the owner's admin (Bearer)
    operator: httpx.Client  # the owner's operator (Bearer): reads contacts, artifacts and frames
    satnogs: httpx.Client  # the station's scoped token, as the client sends it (Token), under /satnogs/api/
    station_token: str
    station_id: int
    antenna_id: int
    satellite_id: int
    site: Site
    line1: str
    line2: str
    name: str
    epoch: datetime

    def jobs(self) -> list[dict[str, Any]]:
        return _ok(self.satnogs.get("jobs/", params={"ground_station": self.station_id, "lat": self.site.lat_deg,
                                                     "lon": self.site.lon_deg, "alt": int(self.site.alt_m)}))


@pytest.fixture
def python() -> Path:
    """The client's Python: made once (build/), skipped (failed under CI) without Debian's Hamlib and gps."""
    return client_python()


@pytest.fixture
def station(python: Path, tmp_path: Path) -> Iterator[Station]:
    """A fresh SQLite network on the live clock with one SatNOGS-run station under a CubeSat's track."""
    url = f"sqlite:///{tmp_path / 'satnogs.db'}"
    cli("db", "upgrade", database_url=url)
    with network_clock(url, None, restore=False):  # live: the client schedules by the wall clock
        pass
    cli("admin", "create-org", ORG, database_url=url)
    admin_token = cli("admin", "create-token", "--org", ORG, "--role", "admin", "--label", "owner",
                      database_url=url)
    operator_token = cli("admin", "create-token", "--org", ORG, "--role", "operator", "--label", "operator",
                         database_url=url)
    shipped = next(e for e in load_elements(CUBESATS) if e.line1 is not None and e.line2 is not None)
    assert shipped.line1 is not None and shipped.line2 is not None
    epoch = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    text = redated_tle(shipped.line1, shipped.line2, shipped.name, epoch)
    element_set = ElementSet.from_tle(*text.splitlines()[1:3], shipped.name)
    lat, lon = _subpoint(element_set, datetime.now(UTC) + timedelta(seconds=CULMINATION_S))
    site = Site("satnogs-under-track", lat_deg=round(lat, 4), lon_deg=round(lon, 4), alt_m=100.0,
                min_elevation_deg=5.0)
    now = datetime.now(UTC)
    passes = list(find_passes([element_set], [site], start=now, duration_s=600.0, workers=1))
    assert passes and passes[0].aos < now + timedelta(seconds=LEAD_S) and passes[0].max_elevation_deg > 80.0, passes
    assert passes[0].los > now + timedelta(seconds=CULMINATION_S + 60), passes  # both contacts fit in it
    with serve(url, tmp_path / "server.log") as server, \
            httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {admin_token}"},
                         timeout=30.0) as admin, \
            httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {operator_token}"},
                         timeout=30.0) as operator:
        created = _ok(admin.post("/stations", json={
            "name": site.name, "lat_deg": site.lat_deg, "lon_deg": site.lon_deg, "alt_m": site.alt_m,
            "min_elevation_deg": site.min_elevation_deg, "runner": "satnogs"}), 201)
        antenna = _ok(admin.post(f"/stations/{created['id']}/antennas", json={
            "name": "uhf-turnstile", "band": "uhf", "setup_s": 0.0, "turnaround_s": 0.0}), 201)
        satellite = _ok(admin.post("/satellites", json={
            "norad_id": shipped.norad_id, "name": shipped.name, "is_public": True, "band": "uhf",
            "downlink_frequency_hz": DOWNLINK_HZ, "mode": MODE, "baud": BAUD, "downlink_drift_ppb": DRIFT_PPB}), 201)
        _ok(admin.post(f"/satellites/{satellite['id']}/elements", content=text,
                       headers={"Content-Type": "text/plain"}), 201)
        scoped = _ok(admin.post("/tokens", json={"label": "satnogs-client", "role": "operator",
                                                 "station_id": created["id"]}), 201)
        assert scoped["station_id"] == created["id"]
        with httpx.Client(base_url=f"{server.base_url}/satnogs/api/", timeout=30.0,
                          headers={"Authorization": f"Token {scoped['token']}"}) as satnogs:
            yield Station(server, admin, operator, satnogs, scoped["token"], created["id"], antenna["id"],
                          satellite["id"], site, shipped.line1, shipped.line2, shipped.name, epoch)


@pytest.fixture
def rotctld() -> Iterator[Daemon]:
    with daemon("rotctld") as running:
        yield running


@pytest.fixture
def rigctld() -> Iterator[Daemon]:
    with daemon("rigctld") as running:
        yield running


def _book(station: Station, start: datetime, seconds: int) -> dict[str, Any]:
    return _ok(station.operator.post("/contacts", json={
        "satellite_id": station.satellite_id, "antenna_id": station.antenna_id,
        "start": format_utc(start), "end": format_utc(start + timedelta(seconds=seconds))}), 201)


def _replan_under_a_fresher_orbit(station: Station) -> dict[str, Any]:
    """Upload the orbit re-dated ``ORBIT_SHIFT_S`` later and re-plan its contacts, as the worker does after a sync."""
    text = redated_tle(station.line1, station.line2, station.name,
                       station.epoch + timedelta(seconds=ORBIT_SHIFT_S))
    _ok(station.admin.post(f"/satellites/{station.satellite_id}/elements", content=text,
                           headers={"Content-Type": "text/plain"}), 201)
    engine = create_engine_for(station.server.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            report = replan_satellites(session, [station.satellite_id], now=network_now(session))
            return report.to_dict()
    finally:
        engine.dispose()


def test_a_satnogs_client_runs_the_networks_contacts(station: Station, rotctld: Daemon, rigctld: Daemon,
                                                     tmp_path: Path) -> None:
    # The scoped token works only under /satnogs/api/ and only for its station.
    refused = httpx.get(f"{station.server.base_url}/orgs/me",
                        headers={"Authorization": f"Bearer {station.station_token}"})
    assert refused.status_code == 401, refused.text
    assert station.jobs() == []

    with satnogs_client(folder=tmp_path / "client", api_url=f"{station.server.base_url}/satnogs/api/",
                        token=station.station_token, station_id=station.station_id,
                        lat_deg=station.site.lat_deg, lon_deg=station.site.lon_deg, alt_m=station.site.alt_m,
                        rotctld_port=rotctld.port, rigctld_port=rigctld.port,
                        extra_env={"GROUNDSHARE_FAKE_FRAMES_HEX": ",".join(f.hex() for f in FRAMES)}) as client:
        client.wait_for(rf"satnogs-client for station {station.station_id} started successfully", TIMEOUT_S)
        polled = _until("the station seen by its job poll",
                        lambda: (s := _ok(station.operator.get(f"/stations/{station.station_id}")))["last_seen_at"]
                        and s)
        assert polled["runner"] == "satnogs" and polled["online"] is True

        # Two contacts on the pass overhead: each becomes a job.
        now = datetime.now(UTC).replace(microsecond=0)
        first = _book(station, now + timedelta(seconds=LEAD_S), CONTACT_S)
        second = _book(station, now + timedelta(seconds=LEAD_S + CONTACT_S + 20), CONTACT_S)
        a, b = first["id"], second["id"]
        client.wait_for(rf"Received job for observation {a}, starting at", TIMEOUT_S)
        client.wait_for(rf"Received job for observation {b}, starting at", TIMEOUT_S)
        jobs = {job["id"]: job for job in station.jobs()}
        assert set(jobs) == {a, b}
        job = jobs[a]
        assert job["start"].endswith("Z") and len(job["start"]) == len("2026-01-01T00:00:00Z")  # as the client's
        assert [parse_utc(job[k], k) for k in ("start", "end")] == [parse_utc(first[k], k) for k in ("start", "end")]
        assert job["ground_station"] == station.station_id and job["norad_cat_id"] == int(station.line1[2:7])
        assert (job["frequency"], job["mode"], job["baud"]) == (JOB_HZ, MODE, BAUD)
        assert job["tle1"] == redated_tle(station.line1, station.line2, station.name, station.epoch).splitlines()[1]
        assert 5.0 <= job["max_altitude"] <= 90.0

        # A fresher orbit re-plans both: the jobs carry the new element set, and the client takes the update.
        replan = _replan_under_a_fresher_orbit(station)
        assert replan["planned"] == 2 and replan["kept"] + replan["updated_in_place"] == 2, replan
        client.wait_for(rf"Received updated job for observation {a}, starting at", TIMEOUT_S)
        updated = {job["id"]: job for job in station.jobs()}
        assert updated[a]["tle1"] != job["tle1"] and updated[a]["id"] == a

        # The second is cancelled: its job disappears from the client's schedule.
        _ok(station.operator.post(f"/contacts/{b}/cancel"))
        client.wait_for(rf"Drop planned observation {b} \(reason: deleted in network\)", TIMEOUT_S)
        assert [job["id"] for job in station.jobs()] == [a]
        assert datetime.now(UTC) < parse_utc(first["start"], "start"), "the set-up overran the first contact's start"

        # The first runs: the stand-in flowgraph is started with the job's frequency and mode.
        client.wait_for(rf"Begin observation {a} \.\.\.", LEAD_S + TIMEOUT_S)
        called = client.wait_for(r"flowgraph_dispatcher: (\{.*\})", TIMEOUT_S)
        assert f'"rx-freq": "{JOB_HZ}"' in called.group(1) and f'"mode": "{MODE}"' in called.group(1)
        assert f'"baud": "{int(BAUD)}"' in called.group(1)
        client.wait_for(rf"Observation {a} finished\.", CONTACT_S + TIMEOUT_S)
        contact = _until("the contact completed with its files and frames", lambda: _arrived(station, a),
                         explain=lambda: _explain(station, client, a))
        position = _rotctld_position(rotctld.port)
        radio_hz = _rigctld_frequency(rigctld.port)
        time.sleep(2.0)  # a poll or two more: nothing runs twice
        log = client.log()

    artifacts = {item["name"]: item for item in _ok(station.operator.get(f"/contacts/{a}/artifacts"))["data"]}
    frames = _ok(station.operator.get(f"/contacts/{a}/frames"))
    print(f"\ncontact {a}: {contact['status']}, artifacts {sorted(artifacts)}, {len(frames)} frames, "
          f"rotator at {position}, radio at {radio_hz:.0f} Hz")
    assert contact["status"] == "completed" and contact["frames_received"] == len(FRAMES)
    assert contact["execution"]["client_version"] == CLIENT_VERSION
    assert contact["execution"]["client_metadata"]["frequency"] == JOB_HZ
    polled = _ok(station.operator.get(f"/stations/{station.station_id}"))
    assert polled["satnogs_client_version"] == CLIENT_VERSION and polled["online"] is True
    # The files keep the client's names (its kind is their prefix).
    audio = [n for n in artifacts if re.fullmatch(rf"satnogs_{a}_{STAMP}\.ogg", n)]
    waterfall = [n for n in artifacts if re.fullmatch(rf"waterfall_{a}_{STAMP}\.png", n)]
    assert len(audio) == 1 and len(waterfall) == 1 and len(artifacts) == 2, sorted(artifacts)
    assert _ok_bytes(station, artifacts[audio[0]]["url"])[:4] == b"OggS"
    assert _ok_bytes(station, artifacts[waterfall[0]]["url"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert contact["bytes_received"] == sum(item["size_bytes"] for item in artifacts.values()) + sum(map(len, FRAMES))
    assert sorted(bytes.fromhex(f["payload_hex"]) for f in frames) == sorted(FRAMES)
    start, end = parse_utc(first["start"], "start"), parse_utc(first["end"], "end")
    for frame in frames:
        assert start <= parse_utc(frame["received_at"], "received_at") <= end, frame
        assert frame["outside_window"] is False and frame["stations"] == [station.site.name]
    # Every file went up once and was accepted (the client moves what it uploaded to its "complete" folder).
    uploaded = sorted(p.name for p in client.complete_path.iterdir())
    assert len(uploaded) == 2 + len(FRAMES), uploaded
    assert not any(client.incomplete_path.iterdir()) and not [p for p in client.data_path.iterdir() if p.is_file()]
    # The job was updated, run once; the cancelled one never ran; nothing failed.
    assert log.count(f"Begin observation {a} ...") == 1
    assert f"Begin observation {b} " not in log
    errors = [line for line in log.splitlines() if line.startswith(("ERROR", "CRITICAL"))]
    assert errors == [], "\n".join(errors)
    # The rotator followed the satellite up (the dummy turns at 6 deg/s) and the radio holds the
    # Doppler-corrected downlink (within 12 kHz of the job's frequency at 437 MHz).
    assert position[1] > 5.0, position
    assert abs(radio_hz - JOB_HZ) < 12_000, radio_hz
    assert radio_hz != JOB_HZ
    # The job was received once: the jobs list holds contacts that have not started (as SatNOGS Network's
    # does, start >= now).  A started contact listed again is a new job to the client (APScheduler dropped
    # the date job when it fired): it is received again on every poll during the pass and scheduled at its
    # past start, within the 30 s misfire grace, and runs again once the first run ends within it.
    received = [line for line in log.splitlines() if f"Received job for observation {a}," in line]
    assert len(received) == 1, "\n".join(received)


def _arrived(station: Station, contact_id: int) -> dict[str, Any] | None:
    """Return the contact once it is completed with its audio, its waterfall and its three frames."""
    contact = _ok(station.operator.get(f"/contacts/{contact_id}"))
    names = [item["name"] for item in _ok(station.operator.get(f"/contacts/{contact_id}/artifacts"))["data"]]
    frames = _ok(station.operator.get(f"/contacts/{contact_id}/frames"))
    done = (contact["status"] == "completed" and any(n.startswith("satnogs_") for n in names)
            and any(n.startswith("waterfall_") for n in names) and len(frames) == len(FRAMES))
    return contact if done else None


def _explain(station: Station, client: SatnogsClient, contact_id: int) -> str:
    """Say where the contact, its artifacts and frames stand, what the client logged and what it still holds."""
    contact = station.operator.get(f"/contacts/{contact_id}").text
    artifacts = station.operator.get(f"/contacts/{contact_id}/artifacts").text
    frames = station.operator.get(f"/contacts/{contact_id}/frames").text
    lines = [line for line in client.log().splitlines()
             if line.startswith(("INFO", "WARNING", "ERROR", "CRITICAL", "flowgraph_dispatcher", "Traceback"))]
    held = sorted(str(p.relative_to(client.folder)) for p in client.folder.rglob("*") if p.is_file())
    server = [line for line in station.server.log().splitlines() if "/satnogs/api/jobs/" not in line][-30:]
    return "\n".join([f"contact: {contact}", f"artifacts: {artifacts}", f"frames: {frames}",
                      "client log:", *lines[-60:], f"client files: {held}", "server log:", *server])


def _ok_bytes(station: Station, url: str) -> bytes:
    response = station.operator.get(url)
    assert response.status_code == 200, f"GET {url} answered {response.status_code}: {response.text}"
    return response.content


def test_the_stand_in_flowgraph_writes_what_the_client_reads(python: Path, tmp_path: Path) -> None:
    """The fake's waterfall is one the client's own ``Waterfall`` parses and plots (with the client's Python)."""
    bin_dir = fake_flowgraph_folder(tmp_path / "bin", python)
    out = tmp_path / "out"
    out.mkdir()
    flowgraph = subprocess.Popen([str(bin_dir / "flowgraph_dispatcher"), "--mode=FSK", f"--rx-freq={JOB_HZ}",
                                  f"--file-path={out / 'receiving_satnogs_9_T.out'}",
                                  f"--waterfall-file-path={out / 'receiving_waterfall_9_T.dat'}",
                                  f"--decoded-data-file-path={out / 'data_9'}"],
                                 env={"GROUNDSHARE_FAKE_FRAME_INTERVAL_S": "0.2", "PATH": "/usr/bin:/bin"},
                                 stderr=subprocess.PIPE)
    time.sleep(2.0)
    flowgraph.send_signal(signal.SIGINT)  # as the client stops it
    assert flowgraph.wait(timeout=10) == 0
    frames = sorted(p.name for p in out.glob("data_9_*"))
    assert len(frames) == 3 and all(len(n.split("_")) in (3, 4) for n in frames), frames
    plot = ("import sys; from satnogsclient.waterfall import Waterfall; w = Waterfall(sys.argv[1]); "
            "w.plot(sys.argv[2]); print(w.data['data'].size, w.metadata['nchan'])")
    done = subprocess.run([str(python), "-c", plot, str(out / "receiving_waterfall_9_T.dat"), str(out / "w.png")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={"SATNOGS_APP_PATH": str(tmp_path / "app"), "SATNOGS_OUTPUT_PATH": str(out),
                               "SATNOGS_INCOMPLETE_OUTPUT_PATH": str(out / "incomplete"), "MPLBACKEND": "Agg",
                               "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    rows, channels = map(int, done.stdout.split())
    assert rows >= 6 and channels == 64
    assert (out / "w.png").read_bytes()[:4] == b"\x89PNG"
