"""Frame ingest and live delivery through the real ``groundshare serve`` process on loopback.

For each backend (PostgreSQL at 127.0.0.1:5432 by default; SQLite with ``--backends``) this
starts the server on a fresh database, seeds one organisation with two stations (the
second station's agent has a token of its own), an antenna each and one satellite, and
books one 10-minute contact of the satellite on each antenna (the same pass, heard twice).

- **ingest**: both stations' agents upload the same ``--frames`` / 2 distinct frames
  (64 to 255 bytes each) in batches of ``--batch`` (100), at the same time, ``--clients``
  connections per station; the second station stamps each frame 0.3 s after the first,
  within the 5 s window, so half of all frames accepted are duplicates of the other
  station's.  Prints frames accepted per second (wall time of the whole upload), batch
  latency p50/p99, and checks the answers' new/duplicate counts add up.
- **stream**: a subscriber follows ``GET /satellites/{id}/frames/stream`` while one
  frame at a time is uploaded (``--stream-frames``, at random intervals of 20 to 120 ms,
  so uploads do not line up with the stream's 0.25 s polls); latency is from sending the
  upload to the subscriber reading the event.  Through the same server process (the
  upload wakes the stream) and through a second server process on the same database
  (the stream finds the frame by polling).

Figures only: nothing is asserted.

    .venv/bin/python bench/frames.py [--frames 20000] [--batch 100] [--clients 1 4] [--backends postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.exc import DBAPIError

# The server and seeding helpers are the tests' shared support (tests/support/); ``database`` repeats bench/api.py's
# recipe (benches share code only through tests/support).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.commands import cli
from tests.support.databases import bench_database
from tests.support.served import REQUEST_TIMEOUT_S, ServedApi, ServedWorld, seed_world, serve

#: The pass both stations hear (the seeded network's clock runs two days before RACE_START, so it is ahead).
PASS_START = datetime(2025, 11, 7, 3, 0, tzinfo=UTC)
PASS_S = 600
#: The second station's stamp of the same frame, seconds after the first's (within the 5 s frame window).
SECOND_STATION_LAG_S = 0.3


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


@dataclass
class Network:
    """The seeded stations: each one's agent headers and contact."""

    world: ServedWorld
    headers: list[dict[str, str]]  # per station
    contact_ids: list[int]  # per station


def seed_network(server: ServedApi) -> Network:
    """Seed ``seed_world``'s organisation, a second station with its own agent token, and a contact on each."""
    world = seed_world(server)
    second_token = cli("admin", "create-token", "--org", "Korea AeroSpace Administration", "--role", "operator",
                       "--label", "second station agent", database_url=server.database_url)
    with httpx.Client(base_url=server.base_url, headers=world.headers, timeout=REQUEST_TIMEOUT_S) as client:
        station = _ok(client.post("/stations", json={"name": "jeju-1", "lat_deg": 33.5, "lon_deg": 126.5,
                                                     "alt_m": 20.0, "min_elevation_deg": 5.0}))
        antenna = _ok(client.post(f"/stations/{station['id']}/antennas", json={
            "name": "uhf-yagi", "band": "uhf", "setup_s": 30.0, "turnaround_s": 60.0}))
        contact_ids = []
        for antenna_id in (world.antenna_id, antenna["id"]):
            contact_ids.append(_ok(client.post("/contacts", json={
                "antenna_id": antenna_id, "satellite_id": world.satellite_id, "start": iso(PASS_START),
                "end": iso(PASS_START + timedelta(seconds=PASS_S)), "allow_outside_pass": True}))["id"])
    return Network(world, [world.headers, {"Authorization": f"Bearer {second_token}"}], contact_ids)


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code not in (200, 201):
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json()


@dataclass
class IngestRun:
    clients_per_station: int
    frames: int = 0
    new: int = 0
    duplicates: int = 0
    elapsed_s: float = 0.0
    batch_latencies_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def frame_batches(n_distinct: int, batch: int, seed: int, offset_s: float) -> list[list[tuple[datetime, bytes]]]:
    """Return the ``n_distinct`` frames of one run, in batches: each 64 to 255 random bytes, 10 ms apart."""
    rng = random.Random(seed)
    frames = [(PASS_START + timedelta(seconds=30 + 0.01 * i), rng.randbytes(rng.randint(64, 255)))
              for i in range(n_distinct)]
    return [[(at + timedelta(seconds=offset_s), payload) for at, payload in frames[i:i + batch]]
            for i in range(0, n_distinct, batch)]


def ingest(server: ServedApi, network: Network, *, n_frames: int, batch: int, clients_per_station: int,
           seed: int) -> IngestRun:
    """Upload ``n_frames`` accepted frames (half each station's duplicates of the other's); return the run."""
    run = IngestRun(clients_per_station)
    lock = threading.Lock()
    per_station = [frame_batches(n_frames // 2, batch, seed, offset_s=lag)
                   for lag in (0.0, SECOND_STATION_LAG_S)]
    bodies = [[json.dumps({"frames": [{"received_at": iso(at), "payload_hex": payload.hex()}
                                      for at, payload in batch_frames]}).encode()
               for batch_frames in batches] for batches in per_station]
    barrier = threading.Barrier(2 * clients_per_station + 1)

    def agent(station: int, client_index: int) -> None:
        url = f"/agent/contacts/{network.contact_ids[station]}/frames"
        mine = bodies[station][client_index::clients_per_station]
        latencies, new, duplicates, sent = [], 0, 0, 0
        with httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT_S,
                          headers={**network.headers[station], "Content-Type": "application/json"}) as client:
            client.get("/openapi.json")  # open the connection before the clock starts
            barrier.wait()
            for body in mine:
                began = time.perf_counter()
                response = client.post(url, content=body)
                latencies.append(time.perf_counter() - began)
                if response.status_code != 200:
                    with lock:
                        run.errors.append(f"{response.status_code}: {response.text[:200]}")
                    continue
                answer = response.json()
                new += answer["new"]
                duplicates += answer["duplicates"]
                sent += answer["accepted"]
        with lock:
            run.batch_latencies_s.extend(latencies)
            run.new += new
            run.duplicates += duplicates
            run.frames += sent

    threads = [threading.Thread(target=agent, args=(station, i)) for station in (0, 1)
               for i in range(clients_per_station)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    run.elapsed_s = time.perf_counter() - started
    return run


class Subscriber:
    """A thread following the satellite's frame stream; ``arrivals`` gets (perf_counter, payload hex)."""

    def __init__(self, base_url: str, headers: dict[str, str], satellite_id: int) -> None:
        self.arrivals: queue.Queue[tuple[float, str]] = queue.Queue()
        self.connected = threading.Event()
        self.client = httpx.Client(base_url=base_url, headers=headers,
                                   timeout=httpx.Timeout(REQUEST_TIMEOUT_S, read=None))
        self.thread = threading.Thread(target=self._run, args=(f"/satellites/{satellite_id}/frames/stream",),
                                       daemon=True)
        self.thread.start()
        if not self.connected.wait(REQUEST_TIMEOUT_S):
            raise RuntimeError("the frame stream did not open")

    def _run(self, path: str) -> None:
        data = None
        try:
            with self.client.stream("GET", path) as response:
                for line in response.iter_lines():
                    if line.startswith("retry:"):
                        self.connected.set()
                    elif line.startswith("data: "):
                        data = line[6:]
                    elif line == "" and data is not None:
                        self.arrivals.put((time.perf_counter(), json.loads(data)["payload_hex"]))
                        data = None
        except (httpx.HTTPError, RuntimeError):
            pass  # closed at the end

    def close(self) -> None:
        self.client.close()


def stream_latency(upload_url: str, stream_url: str, network: Network, *, n_frames: int,
                   seed: int) -> list[float]:
    """Return the seconds from sending each of ``n_frames`` one-frame uploads to the subscriber reading it."""
    rng = random.Random(seed)
    subscriber = Subscriber(stream_url, network.headers[0], network.world.satellite_id)
    delays = []
    try:
        with httpx.Client(base_url=upload_url, headers=network.headers[0], timeout=REQUEST_TIMEOUT_S) as client:
            client.get("/openapi.json")
            for i in range(n_frames):
                payload = rng.randbytes(100)
                at = PASS_START + timedelta(seconds=400 + 0.1 * i)  # after the ingest run's frames
                body = {"frames": [{"received_at": iso(at), "payload_hex": payload.hex()}]}
                sent = time.perf_counter()
                response = client.post(f"/agent/contacts/{network.contact_ids[0]}/frames", json=body)
                if response.status_code != 200 or response.json()["new"] != 1:
                    raise RuntimeError(f"upload answered {response.status_code}: {response.text[:200]}")
                while True:
                    arrived, payload_hex = subscriber.arrivals.get(timeout=REQUEST_TIMEOUT_S)
                    if payload_hex == payload.hex():
                        break
                delays.append(arrived - sent)
                time.sleep(rng.uniform(0.02, 0.12))
    finally:
        subscriber.close()
    return delays



def run_backend(backend: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder, bench_database(backend, Path(folder), "frames") as url, \
            serve(url, Path(folder) / "server.log") as server:
        network = seed_network(server)
        print(f"\n{backend}: {args.frames:,} frames per run ({args.frames // 2:,} distinct, each sent by both "
              f"stations), batches of {args.batch}")
        for index, clients in enumerate(args.clients):
            run = ingest(server, network, n_frames=args.frames, batch=args.batch, clients_per_station=clients,
                         seed=1000 + index)
            lat = [1000 * s for s in run.batch_latencies_s]
            print(f"  ingest, {clients} client(s) per station: {run.frames / run.elapsed_s:8,.0f} frames/s "
                  f"({run.frames:,} accepted in {run.elapsed_s:.2f} s: {run.new:,} new, {run.duplicates:,} "
                  f"duplicates); batch p50 {percentile(lat, 50):.1f} ms, p99 {percentile(lat, 99):.1f} ms"
                  + (f"; {len(run.errors)} errors, first: {run.errors[0]}" if run.errors else ""), flush=True)
        same = [1000 * s for s in stream_latency(server.base_url, server.base_url, network,
                                                  n_frames=args.stream_frames, seed=7)]
        print(f"  stream, same server process: median {statistics.median(same):.1f} ms, p99 "
              f"{percentile(same, 99):.1f} ms, max {max(same):.1f} ms ({len(same)} frames)", flush=True)
        other = ServedApi(url, Path(folder) / "other.log").start()
        try:
            polled = [1000 * s for s in stream_latency(other.base_url, server.base_url, network,
                                                        n_frames=args.stream_frames, seed=8)]
        finally:
            other.stop()
        print(f"  stream, upload through another server process: median {statistics.median(polled):.1f} ms, p99 "
              f"{percentile(polled, 99):.1f} ms, max {max(polled):.1f} ms ({len(polled)} frames)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20_000, help="frames accepted per ingest run (even)")
    parser.add_argument("--batch", type=int, default=100, help="frames per upload")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4], help="connections per station, per run")
    parser.add_argument("--stream-frames", type=int, default=200, help="frames timed through the stream")
    parser.add_argument("--backends", nargs="+", default=["postgresql"], choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(f"groundshare serve on loopback, {os.cpu_count()} CPUs")
    for backend in args.backends:
        try:
            run_backend(backend, args)
        except DBAPIError as exc:
            print(f"{backend}: skipped, the database is not reachable: {str(exc.orig).strip().splitlines()[0]}")


if __name__ == "__main__":
    main()
