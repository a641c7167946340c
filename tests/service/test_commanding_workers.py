"""A live uplink session through ``groundshare serve --workers 2``: the operator and the station on any process.

The operator's WebSocket is held by one worker process; the station's relay polls
(``GET /agent/stations/{id}/uplink``, a new connection each time, so the kernel hands them
to either worker) and reports outcomes through either.  Wake-ups do not cross processes,
so what must carry every frame and outcome is each one's database poll: each frame the
operator sends reaches the station once, in order, and each outcome reaches the
operator's session (``on_air``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from groundshare.timeutil import parse_utc
from tests.support.commands import cli
from tests.support.live_uplink import OperatorSession, book_live_uplink
from tests.support.served import ServedApi, network_clock, serve

pytestmark = [pytest.mark.service, pytest.mark.slow]

FRAMES = 12


@pytest.fixture
def network(tmp_path: Path) -> Iterator[tuple[ServedApi, dict[str, str]]]:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    cli("db", "upgrade", database_url=url)
    tokens = dict(line.split("\t") for line in cli("demo", "load", database_url=url).splitlines())
    with serve(url, tmp_path / "server.log", workers=2) as server:
        yield server, tokens


def test_frames_and_outcomes_cross_worker_processes(network) -> None:
    server, tokens = network
    live = book_live_uplink(server, tokens, after=parse_utc("2025-11-07T00:00:00Z"))
    relay = f"/agent/stations/{live.station_id}/uplink"
    owner = {"Authorization": f"Bearer {live.owner_token}"}
    given: list[dict] = []
    with network_clock(server.database_url, live.start + timedelta(seconds=2)):
        session = OperatorSession(server, live.contact_id, live.commander_token)
        try:
            session.wait(lambda ms: any(m["type"] == "state" and m["state"] == "tracking" for m in ms), 30,
                         "the contact to be tracking")
            after_id = 0
            for index in range(FRAMES):
                session.send(f"w-{index}", bytes([index]) * 20)
                session.wait(lambda ms, i=index: any(m["type"] == "accepted" and m["ref"] == f"w-{i}" for m in ms),
                             30, f"frame w-{index} accepted")
                with httpx.Client(base_url=server.base_url, timeout=60) as client:  # a new connection each time
                    answer = client.get(relay, params={"after_id": after_id, "wait_s": 10}, headers=owner).json()
                    given += answer["frames"]
                    after_id = max([after_id, *(f["id"] for f in answer["frames"])])
                    outcomes = [{"frame_id": f["id"], "on_air_at": answer["now"]} for f in answer["frames"]]
                    if outcomes:
                        reported = client.post(f"{relay}/outcomes", json={"outcomes": outcomes}, headers=owner)
                        assert reported.status_code == 200, reported.text
            messages = session.wait(lambda ms: sum(m["type"] == "on_air" for m in ms) == FRAMES, 30,
                                    "every frame on air")
        finally:
            session.close()
    assert [bytes.fromhex(f["payload_hex"]) for f in given] == [bytes([i]) * 20 for i in range(FRAMES)]
    assert sorted(m["ref"] for m in messages if m["type"] == "on_air") == sorted(f"w-{i}" for i in range(FRAMES))
    assert len(server.worker_pids()) == 2
