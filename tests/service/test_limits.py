"""Huge requests against the real ``groundshare serve``: refused before they cost time or memory.

Each request goes over a raw socket: the headers, then the body from a thread of its
own, while the test reads the answer as soon as it comes (a client that sent the whole
body first would measure the network, not the server).  The server's memory is its
resident set from ``/proc/<pid>/status``, sampled every 5 ms while the request runs.

Sizes are the audit's: a 60 MB JSON body, a 100 MB element upload.  The default limits
apply (8 MiB bodies, 16 MiB uploads).  One server on SQLite serves the whole module: the
gate is the same on PostgreSQL, and a refused request leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest

from groundshare.timeutil import utc_now
from tests.support.commands import cli
from tests.support.served import REQUEST_TIMEOUT_S, ServedApi, ServedWorld, seed_world, serve

pytestmark = [pytest.mark.service, pytest.mark.slow]

MB = 1_000_000
#: The audit's sizes.
JSON_BODY_BYTES = 60 * MB
UPLOAD_BODY_BYTES = 100 * MB
#: What the answers must stay within.
ANSWER_WITHIN_S = 1.0
MAX_GROWTH_KB = 50_000
SEND_CHUNK_BYTES = 256 * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[ServedApi]:
    folder = tmp_path_factory.mktemp("limits")
    with serve(f"sqlite:///{folder / 'limits.db'}", folder / "server.log") as server:
        yield server


@pytest.fixture(scope="module")
def world(served: ServedApi) -> ServedWorld:
    return seed_world(served)


@dataclass
class Answer:
    status: int
    body: bytes
    seconds: float  # from the first byte sent to the whole answer read
    growth_kb: int  # the server's largest resident set while the request ran, minus before it
    sent_bytes: int  # how much of the body the client had sent when it stopped


def json_body(size_bytes: int) -> bytes:
    """A JSON array of zeros, ``size_bytes`` long: costly to parse, cheap to make."""
    count = (size_bytes - 2) // 2
    return b"[" + b"0," * (count - 1) + b"0]"


def _framed(body: bytes, chunked: bool) -> Iterator[bytes]:
    view = memoryview(body)
    for start in range(0, len(body), SEND_CHUNK_BYTES):
        piece = view[start:start + SEND_CHUNK_BYTES]
        yield (f"{len(piece):x}\r\n".encode() + piece + b"\r\n") if chunked else piece
    if chunked:
        yield b"0\r\n\r\n"


def send_raw(server: ServedApi, method: str, path: str, body: bytes, *, headers: dict[str, str],
             chunked: bool = False, send_all: bool = False) -> Answer:
    """Send one request with ``body`` streamed from a thread; return the answer as soon as it is read.

    ``send_all``: after the answer, go on sending the whole body before closing (the server
    has to read past it).
    """
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", *(f"{k}: {v}" for k, v in headers.items()),
             "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}", "", ""]
    baseline_kb = server.memory_kb()
    peak_kb = baseline_kb
    sampling = True
    sent = 0

    def sample() -> None:
        nonlocal peak_kb
        while sampling:
            peak_kb = max(peak_kb, server.memory_kb())
            time.sleep(0.005)

    def send_body() -> None:
        nonlocal sent
        try:
            for piece in _framed(body, chunked):
                sock.sendall(piece)
                sent += len(piece)
        except OSError:
            pass  # the server answered and closed; the rest is not wanted

    sampler = threading.Thread(target=sample)
    sampler.start()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=REQUEST_TIMEOUT_S)
    try:
        started = time.perf_counter()
        sock.sendall("\r\n".join(lines).encode())
        sender = threading.Thread(target=send_body, daemon=True)
        sender.start()
        status, answer = _read_answer(sock)
        seconds = time.perf_counter() - started
        if send_all:
            sender.join(timeout=REQUEST_TIMEOUT_S)
    finally:
        sampling = False
        sampler.join()
        with contextlib.suppress(OSError):  # already closed by the server
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    sender.join(timeout=30)
    return Answer(status, answer, seconds, peak_kb - baseline_kb, sent)


def _read_answer(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the server closed the connection without an answer; got {data[:200]!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")[1:]
                  if line.lower().startswith(b"content-length:"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, rest[:length]


def error_of(answer: Answer) -> dict:
    [error] = json.loads(answer.body)["detail"]
    return error


def report(capsys, label: str, answer: Answer) -> None:
    with capsys.disabled():
        print(f"\n{label}: {answer.status} in {answer.seconds * 1000:.0f} ms, server memory "
              f"+{answer.growth_kb / 1000:.1f} MB, {answer.sent_bytes / MB:.1f} MB of the body sent by then, "
              f"answer {len(answer.body)} bytes")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("authorization", [None, "Bearer gs_not-a-token", "gs_a-token-without-its-scheme"])
def test_an_unauthenticated_60_mb_body_is_refused_before_it_is_read(served: ServedApi, world: ServedWorld, capsys,
                                                                    authorization, chunked):
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    answer = send_raw(served, "POST", "/stations", json_body(JSON_BODY_BYTES), headers=headers, chunked=chunked)
    report(capsys, f"unauthenticated 60 MB body ({authorization or 'no token'}, "
                   f"{'chunked' if chunked else 'Content-Length'})", answer)
    assert answer.status in (401, 413), answer.body[:500]
    assert answer.seconds < ANSWER_WITHIN_S
    assert answer.growth_kb < MAX_GROWTH_KB
    assert len(answer.body) < 1000 and b"gs_a-token" not in answer.body
    assert error_of(answer)["type"] in ("unauthenticated", "too_large")


def test_others_are_served_while_a_huge_body_streams_in(served: ServedApi, world: ServedWorld, capsys):
    """The audit's other organisations stalled while the 60 MB body was parsed; now they do not notice it."""
    latencies_s: list[float] = []
    done, reading = threading.Event(), threading.Event()

    def read_stations() -> None:
        with httpx.Client(base_url=served.base_url, headers=world.headers, timeout=REQUEST_TIMEOUT_S) as client:
            assert client.get("/stations").status_code == 200  # connected and authenticated before the upload
            reading.set()
            while not done.is_set():
                sent = time.perf_counter()
                assert client.get("/stations").status_code == 200
                latencies_s.append(time.perf_counter() - sent)

    reader = threading.Thread(target=read_stations)
    reader.start()
    try:
        assert reading.wait(REQUEST_TIMEOUT_S)
        answer = send_raw(served, "POST", "/stations", json_body(JSON_BODY_BYTES),
                          headers={"Content-Type": "application/json"}, chunked=True, send_all=True)
    finally:
        done.set()
        reader.join()
    with capsys.disabled():
        print(f"\nGET /stations while a refused 60 MB body streamed in: {len(latencies_s)} answers, slowest "
              f"{max(latencies_s, default=0) * 1000:.0f} ms; {answer.sent_bytes / MB:.0f} MB sent")
    assert answer.status == 401 and answer.sent_bytes >= JSON_BODY_BYTES
    assert latencies_s and max(latencies_s) < 0.5


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_authenticated_oversized_body_is_413(served: ServedApi, world: ServedWorld, capsys, chunked):
    answer = send_raw(served, "POST", "/stations", json_body(JSON_BODY_BYTES),
                      headers={**world.headers, "Content-Type": "application/json"}, chunked=chunked)
    report(capsys, f"authenticated 60 MB body ({'chunked' if chunked else 'Content-Length'})", answer)
    assert answer.status == 413, answer.body[:500]
    error = error_of(answer)
    assert error["loc"] == ["body"] and error["type"] == "too_large"
    assert error["msg"].startswith("the request body is too large: a request body may be at most 8 MiB "
                                   "(8388608 bytes), and ")
    assert answer.seconds < ANSWER_WITHIN_S
    assert answer.growth_kb < MAX_GROWTH_KB


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversized_element_upload_is_413_without_being_buffered(served: ServedApi, world: ServedWorld, capsys,
                                                                  chunked):
    text = b"ISS (ZARYA)\n" * (UPLOAD_BODY_BYTES // 12)
    answer = send_raw(served, "POST", f"/satellites/{world.satellite_id}/elements", text,
                      headers={**world.headers, "Content-Type": "text/plain"}, chunked=chunked)
    report(capsys, f"100 MB element upload ({'chunked' if chunked else 'Content-Length'})", answer)
    assert answer.status == 413, answer.body[:500]
    assert error_of(answer)["msg"].startswith("the request body is too large: an element-set upload may be at "
                                              "most 16 MiB (16777216 bytes), and ")
    assert answer.seconds < ANSWER_WITHIN_S
    assert answer.growth_kb < MAX_GROWTH_KB


def test_a_422_for_a_long_invalid_input_stays_short(served: ServedApi, world: ServedWorld, capsys):
    name = "x" * (5 * MB)
    body = json.dumps({"name": name, "lat_deg": 0, "lon_deg": 0}).encode()
    answer = send_raw(served, "POST", "/stations", body, headers={**world.headers,
                                                                  "Content-Type": "application/json"})
    report(capsys, "5 MB station name", answer)
    assert answer.status == 422
    assert len(answer.body) < 1000
    assert error_of(answer)["input"].endswith("… [cut: the input is longer than 200 characters]")
    line = b"1 25544U " + b"9" * (10 * MB)
    answer = send_raw(served, "POST", f"/satellites/{world.satellite_id}/elements", line,
                      headers={**world.headers, "Content-Type": "text/plain"})
    report(capsys, "10 MB element text of one bad line", answer)
    assert answer.status == 422, answer.body[:500]
    assert len(answer.body) < 5000


def test_admin_create_token_takes_an_expiry(served: ServedApi, world: ServedWorld):
    token = cli("admin", "create-token", "--org", "Korea AeroSpace Administration", "--role", "admin",
                "--expires-in-days", "30", database_url=served.database_url)
    with httpx.Client(base_url=served.base_url, headers={"Authorization": f"Bearer {token}"},
                      timeout=REQUEST_TIMEOUT_S) as client:
        tokens = client.get("/tokens").json()["data"]
    [mine] = [t for t in tokens if t["role"] == "admin"]
    expires_at = datetime.fromisoformat(mine["expires_at"].replace("Z", "+00:00"))
    assert abs(expires_at - (utc_now() + timedelta(days=30))) < timedelta(minutes=5)
    assert mine["last_used_at"] is not None
