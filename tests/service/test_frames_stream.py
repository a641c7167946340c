"""The live frame stream against the real ``groundshare serve``: a frame uploaded reaches a subscriber within 1 s.

A subscriber (a thread reading ``GET /satellites/{id}/frames/stream`` with httpx) notes
when each event arrives; the test uploads frames through ``POST
/agent/contacts/{id}/frames`` and compares.  Through the same server process the upload
wakes the stream at once; through a second server process on the same database the
stream finds the frame by polling (every 0.25 s).  The 1 s is the issue's requirement,
not a benchmark (``bench/frames.py`` measures the latency).
"""

from __future__ import annotations

import hashlib
import json
import queue
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.race import RACE_START
from tests.support.served import REQUEST_TIMEOUT_S, ServedApi, ServedWorld, seed_world

pytestmark = [pytest.mark.service, pytest.mark.slow]

#: The issue's bound: a new frame reaches a subscriber within this many seconds of its upload.
DELIVERY_S = 1.0


class Subscriber:
    """A thread following one satellite's frame stream; ``events`` receives (monotonic time, frame) pairs."""

    def __init__(self, base_url: str, headers: dict[str, str], satellite_id: int) -> None:
        self.events: queue.Queue[tuple[float, dict]] = queue.Queue()
        self.connected = threading.Event()
        self._client = httpx.Client(base_url=base_url, headers=headers,
                                    timeout=httpx.Timeout(REQUEST_TIMEOUT_S, read=None))
        self._path = f"/satellites/{satellite_id}/frames/stream"
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self.connected.wait(REQUEST_TIMEOUT_S), "the stream did not open"

    def _run(self) -> None:
        fields: dict[str, str] = {}
        try:
            with self._client.stream("GET", self._path) as response:
                assert response.status_code == 200, response.read()
                for line in response.iter_lines():
                    if line.startswith("retry:"):
                        self.connected.set()
                    if line == "":
                        if fields.get("event") == "frame":
                            self.events.put((time.monotonic(), json.loads(fields["data"])))
                        fields = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(": ")
                        fields[name] = value
        except (httpx.HTTPError, RuntimeError):
            pass  # closed by the test

    def next(self, timeout_s: float) -> tuple[float, dict]:
        return self.events.get(timeout=timeout_s)

    def close(self) -> None:
        """Close the client; the thread, blocked reading, ends when the server ends the stream (at its stop)."""
        self._client.close()
        self._thread.join(timeout=0.1)


def book_contact(served: ServedApi, world: ServedWorld) -> int:
    start = RACE_START + timedelta(hours=3)
    body = {"antenna_id": world.antenna_id, "satellite_id": world.satellite_id,
            "start": start.isoformat().replace("+00:00", "Z"),
            "end": (start + timedelta(minutes=10)).isoformat().replace("+00:00", "Z"), "allow_outside_pass": True}
    response = httpx.post(f"{served.base_url}/contacts", json=body, headers=world.headers, timeout=REQUEST_TIMEOUT_S)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def frame_body(payload: bytes) -> dict:
    at = RACE_START + timedelta(hours=3, minutes=1)
    return {"frames": [{"received_at": at.isoformat().replace("+00:00", "Z"), "payload_hex": payload.hex()}]}


def upload_and_wait(base_url: str, world: ServedWorld, contact_id: int, subscriber: Subscriber,
                    payload: bytes) -> float:
    """Upload one frame; return the seconds from the upload's answer to the subscriber having it."""
    response = httpx.post(f"{base_url}/agent/contacts/{contact_id}/frames", json=frame_body(payload),
                          headers=world.headers, timeout=REQUEST_TIMEOUT_S)
    answered = time.monotonic()
    assert response.status_code == 200 and response.json()["new"] == 1, response.text
    arrived, frame = subscriber.next(timeout_s=REQUEST_TIMEOUT_S)
    assert bytes.fromhex(frame["payload_hex"]) == payload
    return arrived - answered


def test_a_frame_uploaded_reaches_a_subscriber_within_a_second(served: ServedApi, world: ServedWorld) -> None:
    contact_id = book_contact(served, world)
    subscriber = Subscriber(served.base_url, world.headers, world.satellite_id)
    try:
        delays_s = [upload_and_wait(served.base_url, world, contact_id, subscriber, b"frame %d" % i)
                    for i in range(5)]
    finally:
        subscriber.close()
    assert max(delays_s) < DELIVERY_S, delays_s


def test_a_frame_uploaded_through_another_server_process_reaches_the_subscriber(
        served: ServedApi, world: ServedWorld, tmp_path: Path) -> None:
    contact_id = book_contact(served, world)
    other = ServedApi(served.database_url, tmp_path / "other.log").start()
    subscriber = Subscriber(served.base_url, world.headers, world.satellite_id)
    try:
        delays_s = [upload_and_wait(other.base_url, world, contact_id, subscriber, b"elsewhere %d" % i)
                    for i in range(3)]
    finally:
        subscriber.close()
        other.stop()
    assert max(delays_s) < DELIVERY_S, delays_s


def test_the_server_stops_promptly_with_streams_open(served: ServedApi, world: ServedWorld) -> None:
    subscribers = [Subscriber(served.base_url, world.headers, world.satellite_id) for _ in range(3)]
    try:
        assert served.process is not None
        served.process.send_signal(signal.SIGTERM)
        # The streams end at their next poll, so uvicorn need not wait for their clients; it exits by itself
        # (re-raising the SIGTERM it caught, as uvicorn does), long before ServedApi.stop() would kill it.
        served.process.wait(timeout=10)
        assert served.process.returncode in (0, -signal.SIGTERM), served.log()
    finally:
        for subscriber in subscribers:
            subscriber.close()


def test_serve_options_choose_the_frame_window_and_the_artifact_storage(database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    server = ServedApi(database_url, tmp_path / "options.log",
                       extra_args=("--frame-window-s", "0.5", "--artifact-storage", folder.as_uri())).start()
    try:
        world = seed_world(server)
        contact_id = book_contact(server, world)
        at = RACE_START + timedelta(hours=3, minutes=1)
        body = {"frames": [{"received_at": (at + timedelta(seconds=s)).isoformat().replace("+00:00", "Z"),
                            "payload_hex": "c0ffee"} for s in (0.0, 0.3, 1.0)]}  # 1.0 s: outside a 0.5 s window
        with httpx.Client(base_url=server.base_url, headers=world.headers, timeout=REQUEST_TIMEOUT_S) as client:
            answer = client.post(f"/agent/contacts/{contact_id}/frames", json=body).json()
            assert answer == {"accepted": 3, "new": 2, "duplicates": 1, "outside_window": 0}
            recording = b"IQ samples " * 1000
            sha = hashlib.sha256(recording).hexdigest()
            stored = client.put(f"/agent/contacts/{contact_id}/artifacts/pass.cf32", content=recording,
                                headers={"X-Content-SHA256": sha, "Content-Type": "application/octet-stream"})
            assert stored.status_code == 201, stored.text
        assert (folder / sha[:2] / sha).read_bytes() == recording
        assert str(folder) in server.log()  # the start-up line names where artifacts go
    finally:
        server.stop()
