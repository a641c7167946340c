"""Frame capture and the capture command, on loopback TCP and real processes, into a real journal.

The TNC here is a small TCP server on 127.0.0.1 that sends KISS bytes the test chooses
(cut anywhere, corrupt, or dropped halfway), so that every path of ``FrameCapture`` is
met; Dire Wolf itself is in ``test_direwolf_chain.py``.  The clock is a ``JumpingClock``
the test moves: the capture thread only reads it.  The capture command is a real
``/bin/sh`` line in its own process group.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from groundshare.agent.capture import CaptureOptions, ContactCapture, FrameCapture, parse_kiss_for
from groundshare.agent.execution import Execution
from groundshare.agent.journal import Journal
from groundshare.agent.recording import (
    Recording,
    artifact_name,
    check_capture_command,
    file_sha256,
    render_capture_command,
)
from groundshare.contact import ScheduledContact, ScheduledSatellite
from groundshare.errors import InvalidInputError
from groundshare.frames import MAX_FRAME_BYTES, kiss_encode
from tests.support.clocks import JumpingClock

AOS = datetime(2025, 11, 7, 3, 0, tzinfo=UTC)
LOS = AOS + timedelta(minutes=8)


class KissTnc:
    """A loopback TCP server standing in for a TNC: each accepted connection gets the next script's chunks."""

    def __init__(self, scripts: list[list[bytes]], *, hold_s: float = 5.0) -> None:
        self.scripts = list(scripts)
        self.hold_s = hold_s  # how long the last connection stays open after its script
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while self.scripts:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            script = self.scripts.pop(0)
            with connection:
                for chunk in script:
                    connection.sendall(chunk)
                    time.sleep(0.005)
                if not self.scripts:
                    time.sleep(self.hold_s)

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.open(tmp_path / "journal.sqlite") as opened:
        yield opened


def _wait(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_frames_read_in_pieces_corrupt_and_over_reconnects_are_all_journaled_once(journal: Journal) -> None:
    good = [bytes([i]) * (i + 1) + b"\xc0\xdb" for i in range(6)]
    first = kiss_encode(good[0]) + kiss_encode(good[1]) + b"\xc0\x00broken\xdb!\xc0" + kiss_encode(good[2])
    over = kiss_encode(b"z" * (MAX_FRAME_BYTES + 1))
    # First connection: frames cut at odd places, a bad escape, then dropped in the middle of a frame.
    script1 = [first[:3], first[3:17], first[17:], kiss_encode(good[3])[:5]]
    # Second connection (after the reconnect): an over-long frame, then the rest.
    script2 = [over[:5000], over[5000:], kiss_encode(good[4]) + kiss_encode(good[5])]
    tnc = KissTnc([script1, script2], hold_s=1.0)
    clock = JumpingClock(AOS - timedelta(seconds=30))
    capture = FrameCapture(7, ("127.0.0.1", tnc.port), journal=journal, clock=clock, start_at=AOS - timedelta(
        seconds=10), stop_at=LOS + timedelta(seconds=10), log=lambda line: None).start()
    time.sleep(0.2)
    assert tnc.accepted == 0  # before AOS - lead nothing connects
    clock.sleep_until(AOS)
    _wait(lambda: journal.frame_counts(7)[0] == 5)
    clock.sleep_until(LOS + timedelta(seconds=11))  # past LOS + tail: the thread ends by itself
    capture.stop()
    tnc.close()
    frames = journal.frames(7)
    # good[3] was cut off by the drop: lost on the air, as a TNC's half-sent frame is; the others once, in order.
    assert [f.payload for f in frames] == [good[0], good[1], good[2], good[4], good[5]]
    assert {f.received_at for f in frames} == {"2025-11-07T03:00:00.000Z"}  # the agent's clock when read
    assert [f.uploaded for f in frames] == [0] * 5
    assert (capture.connections, capture.reconnects) == (2, 1)
    assert (capture.bad_escapes, capture.over_long, capture.truncated) == (1, 1, 1)
    assert capture.summary() == ("5 frame(s) (" + str(sum(map(len, frames_payloads := [f.payload for f in frames])))
                                 + " bytes) captured from KISS 127.0.0.1:" + str(tnc.port) + " over 2 connections; 3 "
                                 "corrupt KISS frame(s) dropped (1 bad escape, 1 over the bound, 1 truncated)")
    assert len(frames_payloads) == 5
    assert journal.frame_counts(7) == (5, sum(len(p) for p in frames_payloads))


def test_a_tnc_that_is_not_there_yet_is_found_when_it_comes(journal: Journal) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log: list[str] = []
    clock = JumpingClock(AOS)
    capture = FrameCapture(8, ("127.0.0.1", port), journal=journal, clock=clock, start_at=AOS,
                           stop_at=LOS, log=log.append).start()
    time.sleep(0.6)  # refused a few times, said once
    server = socket.create_server(("127.0.0.1", port))
    try:
        connection, _ = server.accept()
        with connection:
            connection.sendall(kiss_encode(b"late but here"))
            _wait(lambda: journal.frame_counts(8)[0] == 1)
    finally:
        server.close()
    capture.stop()
    assert [f.payload for f in journal.frames(8)] == [b"late but here"]
    refused = [line for line in log if "cannot connect to the TNC's KISS TCP" in line]
    assert len(refused) == 1 and refused[0].startswith(f"warning: contact 8: cannot connect to the TNC's KISS TCP at "
                                                       f"127.0.0.1:{port}: ")
    assert capture.failures and capture.connections == 1


def test_frames_survive_a_journal_reopened_after_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal.open(path)
    journal.add_frames(3, [(AOS, b"one"), (AOS + timedelta(seconds=1), b"two")])
    journal.frames_uploaded([journal.unsent_frames()[0].seq])
    # No close: as a process killed would leave it (the lock goes with the process; here, with the descriptor).
    os.close(journal._lock_fd)
    with Journal.open(path) as again:
        assert [(f.payload, f.uploaded) for f in again.frames(3)] == [(b"one", 1), (b"two", 0)]
        assert [f.payload for f in again.unsent_frames()] == [b"two"]


def test_kiss_for_and_capture_command_options_are_checked() -> None:
    assert parse_kiss_for(["43017=127.0.0.1:8002", "25544=none", "99=tnc.local"]) == {
        43017: ("127.0.0.1", 8002), 25544: None, 99: ("tnc.local", 8001)}
    with pytest.raises(InvalidInputError, match=r"--kiss-for is '43017'; expected NORAD=HOST:PORT"):
        parse_kiss_for(["43017"])
    options = CaptureOptions(kiss=("127.0.0.1", 8001), kiss_for={25544: None, 43017: ("10.0.0.2", 8001)})
    assert options.kiss_address(25544) is None and options.kiss_address(43017) == ("10.0.0.2", 8001)
    assert options.kiss_address(1) == ("127.0.0.1", 8001)
    with pytest.raises(InvalidInputError) as unknown:
        check_capture_command("rtl_fm -f {freq} > {output_dir}/x")
    assert str(unknown.value) == ("--capture-command uses the placeholder {freq}, which is not one of {frequency_hz}, "
                                  "{duration_s}, {output_dir}, {contact_id}, {norad_id}, {satellite}, {start}, {end}")
    assert artifact_name("pass 1 (UHF).wav") == "pass_1__UHF_.wav"


def _contact(contact_id: int = 11, *, name: str = "NEXUS 'A' $(rm -rf /)", downlink_hz: float | None = 437.5e6
             ) -> ScheduledContact:
    return ScheduledContact(contact_id=contact_id, start=AOS, end=LOS, satellite=ScheduledSatellite(
        norad_id=49263, name=name, downlink_frequency_hz=downlink_hz))


def test_placeholders_are_filled_shell_quoted(tmp_path: Path) -> None:
    line = render_capture_command("echo {frequency_hz} {duration_s} {satellite} {norad_id} {start} {end} "
                                  "{contact_id} {output_dir} {{literal}}", _contact(), tmp_path / "out dir")
    assert line == (f"echo 437500000 480 'NEXUS '\"'\"'A'\"'\"' $(rm -rf /)' 49263 2025-11-07T03:00:00.000Z "
                    f"2025-11-07T03:08:00.000Z 11 '{tmp_path}/out dir' {{literal}}")
    with pytest.raises(InvalidInputError, match=r"uses \{frequency_hz\} but contact 11's satellite has none"):
        render_capture_command("rtl_fm -f {frequency_hz}", _contact(downlink_hz=None), tmp_path)


def test_a_capture_command_runs_from_aos_is_stopped_at_los_and_its_files_are_registered(
        journal: Journal, tmp_path: Path) -> None:
    command = ("printf 'IQ%s' {contact_id} > {output_dir}/pass.raw; echo {satellite} > '{output_dir}/name .txt'; "
               "mkdir {output_dir}/sub; exec sleep 60")
    recording = Recording(command, _contact(name="NEXUS"), tmp_path / "captures", log=lambda line: None)
    recording.start()
    _wait(lambda: (recording.output_dir / "sub").exists())
    began = time.monotonic()
    recording.stop()
    assert time.monotonic() - began < 3.0 and recording.process.returncode == -15  # SIGTERM: stopped as planned
    assert recording.failure is None and recording.notes == ["capture command stopped at LOS"]
    assert recording.collect(journal) == ["sub in the capture folder is not a regular file; not uploaded"]
    artifacts = journal.artifacts(11)
    assert [(a.name, a.size, a.done) for a in artifacts] == [("name_.txt", 6, 0), ("pass.raw", 4, 0)]
    assert artifacts[1].sha256 == file_sha256(recording.output_dir / "pass.raw")
    assert (recording.output_dir / "pass.raw").read_bytes() == b"IQ11"
    assert recording.collect(journal) == ["sub in the capture folder is not a regular file; not uploaded"]
    assert len(journal.artifacts(11)) == 2  # collected twice, registered once


def test_a_failing_or_stubborn_capture_command_is_reported_with_its_status_and_output(tmp_path: Path) -> None:
    failing = Recording("echo 'usb_open error -3' >&2; exit 3", _contact(), tmp_path, log=lambda line: None)
    failing.start()
    failing.process.wait(10)
    failing.stop()
    assert failing.failure == "capture command exited with status 3 before LOS; its output ends: usb_open error -3"
    stubborn = Recording("trap '' TERM; echo deaf; while :; do sleep 0.05; done", _contact(12), tmp_path,
                         log=lambda line: None)
    stubborn.start()
    time.sleep(0.3)
    stubborn.stop(grace_s=0.5)
    assert stubborn.failure == ("capture command did not exit within 0.5 s of SIGTERM at LOS and was killed; its "
                                "output ends: deaf")
    missing = Recording("rtl_fm -f {frequency_hz}", _contact(13, downlink_hz=None), tmp_path, log=lambda line: None)
    missing.start()
    assert missing.process is None and missing.failure.startswith("capture command not run: the capture command "
                                                                 "uses {frequency_hz} but contact 13's satellite")


def test_a_contact_capture_accounts_frames_and_files_in_the_outcome(journal: Journal, tmp_path: Path) -> None:
    tnc = KissTnc([[kiss_encode(b"frame-%d" % i) for i in range(3)]], hold_s=2.0)
    clock = JumpingClock(AOS - timedelta(seconds=60))
    options = CaptureOptions(kiss=("127.0.0.1", tnc.port), capture_command="head -c 1000 /dev/zero > out.bin; "
                             "exec sleep 30", capture_dir=tmp_path / "captures", tail_s=5.0)
    capture = ContactCapture(_contact(21), options, journal=journal, clock=clock, lead_s=30.0,
                             log=lambda line: None)
    capture.begin()
    clock.sleep_until(AOS)
    capture.at_aos()
    _wait(lambda: journal.frame_counts(21)[0] == 3 and (options.capture_dir / "contact-21" / "out.bin").exists()
          and (options.capture_dir / "contact-21" / "out.bin").stat().st_size == 1000)
    run = Execution(21)
    capture.finish(run)
    assert clock.now() == LOS + timedelta(seconds=5)
    tnc.close()
    body = run.outcome("agent/1")
    assert body["frames_received"] == 3 and body["bytes_received"] == 3 * 7 + 1000
    assert f"3 frame(s) (21 bytes) captured from KISS 127.0.0.1:{tnc.port}" in body["notes"]
    assert "1 file(s) of the capture command (1000 bytes) to upload" in body["notes"]
    assert Execution(22).outcome("agent/1")["bytes_received"] == 0
    assert "frames_received" not in Execution(22).outcome("agent/1")  # no capture: not reported
