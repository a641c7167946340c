"""``groundshare frames`` against a real served network: JSON lines, CSV and a KISS file, and its refusals.

A ``groundshare serve`` on SQLite in a temporary folder (``tests/support/served.py``): one
organisation operates a public satellite and two stations, each with an antenna and a
contact of the satellite over the same ten minutes.  The first station's agent token
uploads 1,050 frames through ``POST /agent/contacts/{id}/frames`` (two batches, so the
command pages past its 1,000-frame pages); the second sends the first ten again, a second
later (the same frames, heard by two stations).  A second organisation sees the frames
too, the satellite being public.  The command runs in-process (Typer's runner) against
that server; its KISS output is read back with ``groundshare.frames.kiss``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from groundshare.cli import app
from groundshare.cli.frames import CSV_COLUMNS, PAGE_LIMIT
from groundshare.frames.kiss import read_kiss_file
from groundshare.timeutil import format_utc, parse_utc
from tests.support.commands import cli
from tests.support.environment import free_port
from tests.support.race import RACE_START
from tests.support.served import REQUEST_TIMEOUT_S, ServedApi, ServedWorld, seed_world, serve
from tests.support.storm import contact_body

pytestmark = [pytest.mark.service, pytest.mark.slow]

NORAD = 40001
N_FRAMES = 1050  # more than one page of the command (PAGE_LIMIT)
SHARED = 10  # the first frames, heard by both stations
PASS_START = RACE_START + timedelta(hours=1)
PASS_S = 600
STEP_S = 0.5  # between two frames of the first station


def payload(i: int) -> bytes:
    # Some bytes KISS must escape (0xC0 FEND, 0xDB FESC) in every frame.
    return bytes([0xC0, 0xDB, i % 256]) + f"groundshare test frame {i:04d}".encode()


def stamped(i: int) -> datetime:
    return PASS_START + timedelta(seconds=5 + i * STEP_S)


@dataclass(frozen=True)
class FramesNetwork:
    server: ServedApi
    world: ServedWorld
    stations: tuple[str, str]
    other_token: str  # an organisation that operates nothing here


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url} answered {response.status_code}: {response.text}"
    return response.json()


def upload(client: httpx.Client, contact_id: int, frames: list[tuple[datetime, bytes]]) -> dict[str, int]:
    body = {"frames": [{"received_at": format_utc(t), "payload_hex": p.hex()} for t, p in frames]}
    return _ok(client.post(f"/agent/contacts/{contact_id}/frames", json=body))


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FramesNetwork]:
    folder = tmp_path_factory.mktemp("frames-cli")
    url = f"sqlite:///{folder / 'network.db'}"
    with serve(url, folder / "server.log") as server:
        world = seed_world(server, norad_id=NORAD)
        with httpx.Client(base_url=server.base_url, headers=world.headers, timeout=REQUEST_TIMEOUT_S) as client:
            station = _ok(client.post("/stations", json={"name": "jeju-2", "lat_deg": 33.5, "lon_deg": 126.5,
                                                         "alt_m": 20.0, "min_elevation_deg": 5.0}), 201)
            antenna = _ok(client.post(f"/stations/{station['id']}/antennas", json={
                "name": "uhf-2", "band": "uhf", "setup_s": 30.0, "turnaround_s": 60.0}), 201)
            end = PASS_START + timedelta(seconds=PASS_S)
            first = _ok(client.post("/contacts", json=contact_body(world, PASS_START, end)), 201)
            second = _ok(client.post("/contacts", json={**contact_body(world, PASS_START, end),
                                                        "antenna_id": antenna["id"]}), 201)
            frames = [(stamped(i), payload(i)) for i in range(N_FRAMES)]
            sent = [upload(client, first["id"], frames[:1000]), upload(client, first["id"], frames[1000:])]
            assert sum(s["new"] for s in sent) == N_FRAMES
            again = upload(client, second["id"], [(t + timedelta(seconds=1), p) for t, p in frames[:SHARED]])
            assert again == {"accepted": SHARED, "new": 0, "duplicates": SHARED, "outside_window": 0}
        cli("admin", "create-org", "Universidad de prueba", "--kind", "university", database_url=url)
        other = cli("admin", "create-token", "--org", "Universidad de prueba", "--role", "viewer", "--label", "cli",
                    database_url=url)
        yield FramesNetwork(server, world, ("daejeon-1", "jeju-2"), other)


def run(network: FramesNetwork, *args: str | Path, token: str | None = None) -> Result:
    """Invoke ``groundshare frames`` with the API and token in the environment, as an operator would."""
    env = {"GROUNDSHARE_API": network.server.base_url, "GROUNDSHARE_TOKEN": token or network.world.token}
    return CliRunner().invoke(app, ["frames", "--satellite", str(NORAD), *map(str, args)], env=env)


def json_lines(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_json_lines_hold_every_frame_once_with_the_stations_that_heard_it(network: FramesNetwork) -> None:
    assert N_FRAMES > PAGE_LIMIT
    result = run(network)
    frames = json_lines(result)
    assert len(frames) == N_FRAMES
    ids = [f["id"] for f in frames]
    assert ids == sorted(ids) and len(set(ids)) == N_FRAMES
    for i, frame in enumerate(frames):
        data = payload(i)
        assert bytes.fromhex(frame["payload_hex"]) == data
        assert frame["size_bytes"] == len(data)
        assert frame["sha256"] == hashlib.sha256(data).hexdigest()
        assert parse_utc(frame["received_at"], "received_at") == stamped(i)  # the first reception's time
        assert frame["norad_id"] == NORAD and frame["outside_window"] is False
        assert frame["stations"] == (list(network.stations) if i < SHARED else [network.stations[0]])
        assert frame["decoded"] is None and frame["decode_error"] is None  # the satellite names no decoder
    assert result.stderr.strip() == (f"{N_FRAMES} frames of NEXUS (NORAD {NORAD}), "
                                     f"{sum(len(payload(i)) for i in range(N_FRAMES))} bytes of payload, "
                                     "written to stdout as json")


def test_since_and_until_bound_the_first_reception(network: FramesNetwork) -> None:
    since, until = stamped(100), stamped(250)
    frames = json_lines(run(network, "--since", format_utc(since), "--until", until.isoformat()))
    assert [bytes.fromhex(f["payload_hex"]) for f in frames] == [payload(i) for i in range(100, 250)]
    # An offset is read as the time it names; a window after the pass holds nothing.
    later = json_lines(run(network, "--since", "2025-11-08T09:00+09:00"))
    assert later == []


def test_csv_has_one_row_per_frame_and_reads_back(network: FramesNetwork) -> None:
    result = run(network, "--format", "csv", "--until", format_utc(stamped(20)))
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 20
    assert rows[0]["stations"] == ";".join(network.stations)
    assert rows[SHARED]["stations"] == network.stations[0]
    assert [bytes.fromhex(r["payload_hex"]) for r in rows] == [payload(i) for i in range(20)]
    assert {r["outside_window"] for r in rows} == {"false"} and {r["decoded"] for r in rows} == {""}
    assert rows[3]["received_at"] == format_utc(stamped(3)) and rows[3]["norad_id"] == str(NORAD)
    # No frame: the header alone.
    empty = run(network, "--format", "csv", "--since", "2030-01-01T00:00Z")
    assert empty.exit_code == 0 and empty.stdout.splitlines() == [",".join(CSV_COLUMNS)]


def test_kiss_file_reads_back_as_the_payloads_in_order(network: FramesNetwork, tmp_path: Path) -> None:
    path = tmp_path / "nexus.kiss"
    result = run(network, "--format", "kiss", "--output", path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert f"{N_FRAMES} frames of NEXUS (NORAD {NORAD})" in result.stderr
    assert f"written to {path} as kiss" in result.stderr
    frames = read_kiss_file(path)
    assert [f.payload for f in frames] == [payload(i) for i in range(N_FRAMES)]
    assert {(f.port, f.command) for f in frames} == {(0, 0)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nexus.kiss"]  # no temporary file left beside it
    # Written again: replaced whole, not appended to.
    assert run(network, "--format", "kiss", "--output", path).exit_code == 0
    assert len(read_kiss_file(path)) == N_FRAMES


def test_another_organisation_reads_a_public_satellites_frames(network: FramesNetwork) -> None:
    frames = json_lines(run(network, "--until", format_utc(stamped(5)), token=network.other_token))
    assert [bytes.fromhex(f["payload_hex"]) for f in frames] == [payload(i) for i in range(5)]


def test_refusals_name_the_option_and_leave_no_file(network: FramesNetwork, tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"

    def refused(*args: str | Path, token: str | None = None, env: dict[str, str] | None = None) -> str:
        if env is None:
            result = run(network, *args, "--output", path, token=token)
        else:
            result = CliRunner().invoke(app, ["frames", "--satellite", str(NORAD), *map(str, args),
                                              "--output", str(path)], env=env)
        assert result.exit_code == 1, result.stdout
        assert result.stdout == "" and not path.exists()
        assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
        return result.stderr

    assert refused("--satellite", "99999").startswith(
        "error: --satellite 99999: none of the 1 satellite your organisation sees (its own and the public ones) "
        "has NORAD id 99999")
    assert refused("--since", "2025-11-07").startswith(
        "error: --since '2025-11-07' is a date without a time of day; give the time and its zone, "
        "e.g. 2025-11-07T00:00Z")
    assert refused("--since", "2025-11-07T12:00").startswith("error: --since '2025-11-07T12:00' has no timezone")
    assert refused("--since", "2025-11-07T12:00Z", "--until", "2025-11-07T11:00Z").startswith(
        "error: --until 2025-11-07T11:00Z is not after --since 2025-11-07T12:00Z")
    assert refused(token="gs_not-a-token").startswith("error: --token was not accepted by")
    nowhere = f"http://127.0.0.1:{free_port()}"
    said = refused(env={"GROUNDSHARE_API": nowhere, "GROUNDSHARE_TOKEN": network.world.token})
    assert said.startswith(f"error: --api {nowhere} cannot be reached")
    said = refused(env={"GROUNDSHARE_API": "ftp://example.org", "GROUNDSHARE_TOKEN": network.world.token})
    assert said.startswith("error: --api: the API URL must be https://HOST")
    # A wrong format is Typer's usage error (exit 2), naming the option.
    usage = run(network, "--format", "pcap")
    assert usage.exit_code == 2 and "--format" in usage.stderr
