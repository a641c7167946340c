"""Latency of live commanding: the operator's WebSocket -> the API -> the station's agent -> the TNC, and back.

A real ``groundshare serve`` on a fresh demo network (SQLite file; ``--backend postgresql``
for PostgreSQL at 127.0.0.1:5432) books uplink contacts of AEM's satellite on a station of
KARI's (``tests.support.live_uplink.book_live_uplink``: within a real pass, the network's
clock set just before it, so the contact runs in real time).  The station's agent
(``StationAgent`` in a thread of this process, as ``tests/agent/test_uplink_loopback.py``
runs it; ``--agent-process``: ``groundshare agent --once`` as a subprocess) connects to a
TNC of this bench's own: a KISS TCP server on loopback (``Tnc``) that stamps each complete
KISS data frame it reads with ``time.perf_counter()`` and can send frames to the agent.
The operator is ``tests.support.live_uplink.OperatorSession`` (``WS /contacts/{id}/session``;
a reader thread stamps each message as it arrives).  One frame at a time:

- **uplink**: from ``perf_counter()`` just before the operator's send to (a) the answer
  ``accepted``, (b) the frame's last byte read at the TNC's socket and (c) the operator's
  ``on_air``.  The next frame goes once ``on_air`` came, so nothing queues.  The agent
  paces the TNC by air time (``agent.uplink.airtime_s``); for the system's own latency the
  first contact's agent runs at 10 Mbit/s with TXDELAY 0 (pacing of a few microseconds).
  A second contact runs the agent as a station would, 1200 bit/s with Dire Wolf's TXDELAY
  (0.3 s): there each frame goes after ``on_air`` *and* after its air time plus
  ``AIRTIME_MARGIN_S``, so its row is latency, not queueing behind the transmitter;
- **downlink**: from ``perf_counter()`` just before the TNC writes a frame to the agent to
  the operator's ``downlink`` message holding it (the agent journals it, wakes its
  uploader, which posts it; the server wakes the session).  The agent's uploader runs
  with its defaults (``CaptureOptions``: woken by each capture, every 2 s otherwise).

Every client of the measure (the TNC, the operator) and, by default, the agent run in this
one process and share its GIL; the server is its own process; all on one machine.
Figures only: nothing is asserted.  The machine's load average is printed at the start.

    .venv/bin/python bench/uplink.py [--frames 200] [--slow-frames 20] [--backend sqlite|postgresql] [--agent-process]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

# The server, the demo network, the booking and the operator's client are the tests' shared support (tests/support/).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.commands import cli
from tests.support.databases import bench_database
from tests.support.direwolf import ax25_ui
from tests.support.live_uplink import LiveUplink, OperatorSession, book_live_uplink
from tests.support.served import ServedApi, network_clock, serve

from groundshare.agent.capture import CaptureOptions
from groundshare.agent.client import AgentApi
from groundshare.agent.clock import NetworkClock
from groundshare.agent.execution import AgentOptions
from groundshare.agent.journal import Journal
from groundshare.agent.runner import StationAgent
from groundshare.agent.uplink import DEFAULT_BIT_RATE, DEFAULT_TXDELAY_S, UplinkOptions, airtime_s
from groundshare.frames.kiss import KissDecoder, kiss_encode
from groundshare.timeutil import parse_utc
from groundshare.units import HOUR_S

#: The demo network's day (its elements' epoch); contacts are booked in passes after it.
DEMO_DAY = parse_utc("2025-11-07T00:00:00Z")
#: The network's clock is set this long before AOS (the agent starts, syncs and connects to the TNC meanwhile).
LEAD_IN_S = 6.0
#: The "system" agent: pacing of a few microseconds per frame.
FAST_UPLINK = UplinkOptions(bit_rate=10_000_000.0, txdelay_s=0.0)
#: A station's uplink: AFSK 1200 with Dire Wolf's TXDELAY.
STATION_UPLINK = UplinkOptions(bit_rate=DEFAULT_BIT_RATE, txdelay_s=DEFAULT_TXDELAY_S)
#: At 1200 bit/s the next frame is sent this long after the previous one's air time ended (at the TNC's read).
AIRTIME_MARGIN_S = 0.05
#: Room the contact leaves for each frame (seconds of the pass booked per frame; unused time is waited out) ...
FAST_BUDGET_S = 0.15  # per uplink + downlink pair (they took 0.07 s at load 2.3)
#: ... and the time after the last frame before LOS.
TAIL_BUDGET_S = 10.0
#: The longest a pass leaves for a contact here (AOS + 60 s + the contact + 30 s must fit in one pass).
MAX_CONTACT_S = 360.0
#: How long one frame may take before the bench gives up on it (not a timed assertion: a stuck run ends).
FRAME_TIMEOUT_S = 30.0


class Tnc:
    """A KISS TCP TNC on loopback: stamps each data frame the agent writes; writes frames to the agent."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.received: list[tuple[float, bytes]] = []  # (perf_counter at the read that completed it, payload)
        self.connections = 0
        self._conn: socket.socket | None = None
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="bench-tnc", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._cond:
                self._conn = conn
                self.connections += 1
                self._cond.notify_all()
            decoder = KissDecoder()
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    data = b""
                now = time.perf_counter()
                if not data:
                    break
                frames = [frame.payload for frame in decoder.feed(data) if frame.is_data]
                if frames:
                    with self._cond:
                        self.received.extend((now, payload) for payload in frames)
                        self._cond.notify_all()
            with self._cond:
                if self._conn is conn:
                    self._conn = None
            with contextlib.suppress(OSError):
                conn.close()

    def wait_connected(self, timeout_s: float) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._conn is not None, timeout_s):
                raise RuntimeError(f"the agent did not connect to the bench's TNC within {timeout_s:g} s")

    def wait_for(self, payload: bytes, timeout_s: float = FRAME_TIMEOUT_S) -> float:
        """Return when ``payload`` was read (``perf_counter``), waiting for it."""
        with self._cond:
            found: list[float] = []

            def seen() -> bool:
                found[:] = [t for t, p in reversed(self.received) if p == payload][:1]
                return bool(found)

            if not self._cond.wait_for(seen, timeout_s):
                raise RuntimeError(f"the TNC did not receive frame {payload[:40]!r} within {timeout_s:g} s")
            return found[0]

    def send(self, payload: bytes) -> float:
        """Write one KISS data frame to the agent; return ``perf_counter()`` just before the write."""
        data = kiss_encode(payload)
        with self._cond:
            conn = self._conn
        if conn is None:
            raise RuntimeError("the agent is not connected to the bench's TNC")
        sent = time.perf_counter()
        conn.sendall(data)
        return sent

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._cond:
            if self._conn is not None:
                with contextlib.suppress(OSError):
                    self._conn.shutdown(socket.SHUT_RDWR)


class Inbox:
    """Finds the operator's messages by what they answer, scanning only what arrived since the last look."""

    def __init__(self, session: OperatorSession) -> None:
        self.session = session
        self._seen = 0
        self.by_key: dict[tuple[str, str], float] = {}  # (type, ref or payload hex) -> arrival (perf_counter)
        self.unexpected: list[dict[str, Any]] = []
        self.not_sent: dict[str, str] = {}  # ref -> the reason the agent reported

    def _scan(self) -> None:
        messages, arrived = self.session.messages, self.session.arrived  # appended under the session's lock
        end = min(len(messages), len(arrived))
        for index in range(self._seen, end):
            message = messages[index]
            kind = message["type"]
            if kind in ("accepted", "on_air"):
                self.by_key[(kind, message["ref"])] = arrived[index]
            elif kind == "not_sent":  # an outcome too: the frame's on_air never comes
                self.by_key[("on_air", message["ref"])] = arrived[index]
                self.not_sent[message["ref"]] = message["reason"]
            elif kind == "downlink":
                self.by_key[(kind, message["frame"]["payload_hex"])] = arrived[index]
            elif kind in ("refused", "error"):
                self.unexpected.append(message)
        self._seen = end

    def wait(self, kind: str, key: str, timeout_s: float = FRAME_TIMEOUT_S) -> float:
        """Return when the ``kind`` message of ``key`` arrived, waiting for it (polling every 2 ms).

        For ``on_air`` a ``not_sent`` answers too (the caller looks in ``not_sent``).
        """
        deadline = time.monotonic() + timeout_s
        while True:
            self._scan()
            if (kind, key) in self.by_key:
                return self.by_key[(kind, key)]
            if self.unexpected:
                raise RuntimeError(f"waiting for {kind} {key[:40]}: the server sent {self.unexpected[-1]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {kind} message for {key[:40]} within {timeout_s:g} s")
            time.sleep(0.002)


@dataclass
class Series:
    """Latencies of one measure, seconds."""

    label: str
    values_s: list[float] = field(default_factory=list)

    def row(self) -> str:
        if not self.values_s:
            return f"| {self.label} | 0 | | | | |"
        ms = sorted(1000.0 * v for v in self.values_s)
        q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else [ms[0]] * 99
        return (f"| {self.label} | {len(ms)} | {statistics.median(ms):.1f} | {q[89]:.1f} | {q[98]:.1f} | "
                f"{ms[-1]:.1f} |")


class Agent:
    """The station's agent for one contact: a ``StationAgent`` in a thread here, or ``groundshare agent --once``."""

    def __init__(self, server: ServedApi, live: LiveUplink, *, tnc: Tnc, uplink: UplinkOptions, journal: Path,
                 process: bool, log_path: Path) -> None:
        self.server, self.live, self.tnc, self.uplink = server, live, tnc, uplink
        self.journal_path, self.process_mode, self.log_path = journal, process, log_path
        self.lines: list[str] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._agent: StationAgent | None = None
        self._journal: Journal | None = None

    def start(self) -> None:
        live = self.live
        if self.process_mode:
            command = [sys.executable, "-m", "groundshare.cli", "agent", "--station", live.station_name,
                       "--api", self.server.base_url, "--token", live.owner_token, "--journal", str(self.journal_path),
                       "--kiss", f"127.0.0.1:{self.tnc.port}", "--capture-tail-s", "0", "--once",
                       "--uplink-bit-rate", f"{self.uplink.bit_rate:g}", "--uplink-txdelay-s",
                       f"{self.uplink.txdelay_s:g}"]
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
            return
        self._journal = Journal.open(self.journal_path)
        agent = StationAgent(live.station_name, self._journal, api=AgentApi(self.server.base_url, live.owner_token),
                             rotator=None, rig=None, clock=NetworkClock(),
                             options=AgentOptions(sync_interval_s=HOUR_S, lease_ttl_s=60.0),
                             agent_id=f"bench/{live.station_name}", log=self.lines.append,
                             capture=CaptureOptions(kiss=("127.0.0.1", self.tnc.port), tail_s=0.0),
                             uplink=self.uplink)
        agent.start()
        agent.sync()
        [contact] = [c for c in self._journal.pending(after=live.start - timedelta(seconds=60))
                     if c.contact_id == live.contact_id]
        self._agent = agent
        self._thread = threading.Thread(target=agent.execute, args=(contact,), name="bench-agent", daemon=True)
        self._thread.start()

    def finish(self, timeout_s: float) -> None:
        """Wait for the contact to end at the agent (LOS), then stop it."""
        if self._process is not None:
            try:
                self._process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._process.terminate()
                self._process.wait(timeout=30)
            return
        assert self._agent is not None and self._thread is not None and self._journal is not None
        self._thread.join(timeout_s)
        self._agent.flush_reports()
        self._agent.stop()
        self._journal.close()

    def log(self) -> str:
        if self.process_mode:
            return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(self.lines)


def uplink_frame(tag: str, index: int) -> bytes:
    """A command frame of about 60 bytes, unique in the run (the operator's ``ref`` is its tag and index)."""
    return ax25_ui("XE1AEM", "AEMSAT", f"{tag} CMD {index:04d} set mode=science t=+{index * 10}s".encode())


def downlink_frame(index: int) -> bytes:
    return ax25_ui("AEMSAT", "XE1AEM", f"TLM {index:04d} batt=7.9V temp=+21.5C mode=science".encode())


@dataclass
class Contact:
    """What one contact measured."""

    accepted: Series
    tnc: Series
    on_air: Series
    downlink: Series | None = None
    notes: list[str] = field(default_factory=list)
    not_sent: dict[str, str] = field(default_factory=dict)  # ref -> reason, of frames the TNC did read


def run_contact(server: ServedApi, live: LiveUplink, *, folder: Path, uplink: UplinkOptions, frames: int,
                downlink: int, pace_airtime: bool, process: bool, label: str) -> Contact:
    """Run one contact in real time and measure ``frames`` uplink then ``downlink`` downlink frames in it."""
    tnc = Tnc()
    result = Contact(Series(f"{label}: send -> accepted"), Series(f"{label}: send -> bytes at the TNC"),
                     Series(f"{label}: send -> on_air"))
    agent = Agent(server, live, tnc=tnc, uplink=uplink, journal=folder / "agent.sqlite", process=process,
                  log_path=folder / "agent.log")
    try:
        with network_clock(server.database_url, live.start - timedelta(seconds=LEAD_IN_S)):
            clock_set = time.perf_counter()
            los = clock_set + LEAD_IN_S + (live.end - live.start).total_seconds()
            agent.start()
            tnc.wait_connected(LEAD_IN_S + 30)
            session = OperatorSession(server, live.contact_id, live.commander_token)
            try:
                session.wait(lambda ms: any(m["type"] == "state" and m["state"] == "tracking" for m in ms),
                             LEAD_IN_S + 30, "the contact to be tracking")
                inbox = Inbox(session)
                began = time.perf_counter()
                tag = f"c{live.contact_id}"
                for index in range(frames):
                    if time.perf_counter() > los - 3.0:
                        result.notes.append(f"{label}: LOS came after {index} of {frames} uplink frames")
                        break
                    payload, ref = uplink_frame(tag, index), f"{tag}-{index}"
                    sent = session.send(ref, payload)
                    at_tnc = tnc.wait_for(payload)
                    result.tnc.values_s.append(at_tnc - sent)
                    outcome = inbox.wait("on_air", ref)
                    if ref in inbox.not_sent:
                        result.not_sent[ref] = inbox.not_sent[ref]
                    else:
                        result.on_air.values_s.append(outcome - sent)
                    result.accepted.values_s.append(inbox.wait("accepted", ref) - sent)
                    if pace_airtime:
                        ends = at_tnc + airtime_s(len(payload), bit_rate=uplink.bit_rate,
                                                  txdelay_s=uplink.txdelay_s) + AIRTIME_MARGIN_S
                        time.sleep(max(0.0, ends - time.perf_counter()))
                result.notes.append(f"{label}: {len(result.tnc.values_s)} uplink frames in "
                                    f"{time.perf_counter() - began:.1f} s")
                if result.not_sent:
                    ref, reason = next(iter(result.not_sent.items()))
                    result.notes.append(f"{label}: {len(result.not_sent)} frame(s) read at the TNC were answered "
                                        f"not_sent, not on_air (left out of the on_air row), e.g. {ref}: {reason}")
                if downlink:
                    result.downlink = Series(f"{label}: TNC write -> operator's downlink")
                    began = time.perf_counter()
                    for index in range(downlink):
                        if time.perf_counter() > los - 3.0:
                            result.notes.append(f"{label}: LOS came after {index} of {downlink} downlink frames")
                            break
                        payload = downlink_frame(index)
                        sent = tnc.send(payload)
                        result.downlink.values_s.append(inbox.wait("downlink", payload.hex()) - sent)
                    result.notes.append(f"{label}: {len(result.downlink.values_s)} downlink frames in "
                                        f"{time.perf_counter() - began:.1f} s")
                result.notes.append(f"{label}: {los - time.perf_counter():.1f} s of the contact left, waited out")
            finally:
                session.close()
            agent.finish(max(0.0, los - time.perf_counter()) + 60.0)
    except Exception:
        print(f"the agent's log:\n{agent.log()}\nthe server's log (end):\n{server.log()[-4000:]}", file=sys.stderr)
        raise
    finally:
        tnc.close()
    return result


@contextlib.contextmanager
def serve_demo_on(backend: str, folder: Path) -> Iterator[tuple[ServedApi, dict[str, str]]]:
    """Yield a server on a fresh demo network (nothing planned) on ``backend``, and its tokens by organisation."""
    with bench_database(backend, folder, "uplink") as url:
        cli("db", "upgrade", database_url=url)
        tokens = dict(line.split("\t") for line in cli("demo", "load", "--plan-days", "0",
                                                       database_url=url).splitlines())
        with serve(url, folder / "server.log") as server:
            yield server, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="uplink frames, then downlink frames, at 10 Mbit/s")
    parser.add_argument("--slow-frames", type=int, default=20, help="uplink frames at 1200 bit/s (0: no such contact)")
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--agent-process", action="store_true",
                        help="run the agent as `groundshare agent --once` subprocesses, not in this process")
    args = parser.parse_args()

    load_1, load_5, _ = os.getloadavg()
    where = ("`groundshare agent --once` subprocess" if args.agent_process
             else "StationAgent threads in this process (sharing its GIL with the TNC and operator threads)")
    print(f"load average {load_1:.2f} / {load_5:.2f} (1 / 5 min) at the start; {os.cpu_count()} CPUs; "
          f"backend {args.backend}; agent: {where}", flush=True)
    fast_s = min(MAX_CONTACT_S, 2 * LEAD_IN_S + args.frames * FAST_BUDGET_S + TAIL_BUDGET_S)
    slow_air_s = airtime_s(len(uplink_frame("c0", 0)), bit_rate=STATION_UPLINK.bit_rate,
                           txdelay_s=STATION_UPLINK.txdelay_s)
    slow_s = min(MAX_CONTACT_S, 2 * LEAD_IN_S + args.slow_frames * (slow_air_s + AIRTIME_MARGIN_S + 0.3)
                 + TAIL_BUDGET_S)
    contacts: list[Contact] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as name, serve_demo_on(args.backend, Path(name)) as (server, tokens):
        folder = Path(name)
        fast = book_live_uplink(server, tokens, after=DEMO_DAY, duration_s=fast_s)
        slow = (book_live_uplink(server, tokens, after=fast.end + timedelta(minutes=30), duration_s=slow_s)
                if args.slow_frames else None)
        print(f"server and demo network up in {time.perf_counter() - started:.1f} s; contact {fast.contact_id} "
              f"({fast_s:.0f} s at station {fast.station_name})", flush=True)
        contacts.append(run_contact(server, fast, folder=folder, uplink=FAST_UPLINK, frames=args.frames,
                                    downlink=args.frames, pace_airtime=False, process=args.agent_process,
                                    label="10 Mbit/s, TXDELAY 0"))
        if slow is not None:
            print(f"contact {slow.contact_id} ({slow_s:.0f} s): 1200 bit/s, TXDELAY {STATION_UPLINK.txdelay_s:g} s, "
                  f"{slow_air_s * 1000:.0f} ms of air time per frame", flush=True)
            contacts.append(run_contact(server, slow, folder=folder, uplink=STATION_UPLINK, frames=args.slow_frames,
                                        downlink=0, pace_airtime=True, process=args.agent_process,
                                        label="1200 bit/s, TXDELAY 0.3 s"))
    for contact in contacts:
        for note in contact.notes:
            print(f"  {note}")
    load_1, load_5, _ = os.getloadavg()
    print(f"load average {load_1:.2f} / {load_5:.2f} at the end; whole run {time.perf_counter() - started:.0f} s")
    print()
    print("| measure (one frame at a time) | frames | median ms | p90 ms | p99 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for contact in contacts:
        for series in (contact.accepted, contact.tnc, contact.on_air, contact.downlink):
            if series is not None:
                print(series.row())


if __name__ == "__main__":
    main()
