"""Dire Wolf as a station's TNC: known AX.25 frames as audio (``gen_packets``), decoded to KISS TCP (``direwolf``).

- ``frame_texts``: AX.25 UI frames in Dire Wolf's monitor format (``SRC>DST:info``),
  each one different, so that "every frame exactly once" can be checked;
- ``packet_audio``: ``gen_packets`` turns them into 16-bit mono audio (AFSK 1200 or
  G3RUH 9600, 48,000 samples/s); the raw samples are returned (the WAV header cut);
- ``Direwolf``: ``direwolf`` reading audio from its stdin (``ADEVICE stdin null``) and
  serving what it decodes on KISS TCP (``KISSPORT``, a free port of 127.0.0.1; the
  AGW port off).  ``feed`` writes audio into it when the test chooses (it decodes
  faster than real time); ``stop`` closes its stdin, on which it exits;
- ``parse_ax25_ui``: the oracle, an independent reading of an AX.25 frame's address
  fields and information field (AX.25 2.2, section 3.12), to compare what reached
  the API with the text the audio was made from.

Without the programs (Debian's ``direwolf``) the tests are skipped, except in CI,
where they fail (``.ci/run`` installs them).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

from .environment import stop_process, unavailable

START_TIMEOUT_S = 10.0
SAMPLE_RATE_HZ = 48_000


def kiss_port() -> int:
    """Return a free TCP port of 127.0.0.1 that Dire Wolf accepts as KISSPORT (it refuses 49152 and above)."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20_000, 49_152)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 49151 for Dire Wolf's KISS TCP")


def require(binary: str) -> str:
    """Return the path of Dire Wolf's ``binary``; skip (fail under CI) without it."""
    path = shutil.which(binary)
    if path is None:
        unavailable(f"{binary} not found: install Debian's direwolf (apt-get install --no-install-recommends "
                    "direwolf) to run the frame-capture tests", what="the Dire Wolf tests")
    return path


def frame_texts(count: int, *, tag: str = "GS") -> list[str]:
    """Return ``count`` different UI frames in monitor format, e.g. ``N0CALL-1>CQ:GS frame 007 of 040``."""
    return [f"N0CALL-1>CQ:{tag} frame {i:03d} of {count:03d}" for i in range(count)]


def packet_audio(texts: list[str], folder: Path, *, baud: int = 1200) -> bytes:
    """Return raw 16-bit mono samples at ``SAMPLE_RATE_HZ`` holding ``texts`` as AX.25 frames (``gen_packets``)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"frames-{baud}.txt"
    # gen_packets keeps each line's newline in the information field: the oracle expects it there.
    source.write_text("".join(text + "\n" for text in texts))
    wav = folder / f"frames-{baud}.wav"
    subprocess.run([require("gen_packets"), "-r", str(SAMPLE_RATE_HZ), "-B", str(baud), "-o", str(wav), str(source)],
                   check=True, capture_output=True, timeout=60)
    data = wav.read_bytes()
    at = data.find(b"data")
    assert at > 0, f"{wav} has no data chunk"
    return data[at + 8:]


def parse_ax25_ui(frame: bytes) -> str:
    """Return an AX.25 UI frame as ``SRC-n>DST:info`` (the information field decoded as Latin-1).

    Each address is 7 bytes: six characters shifted left one bit, then the SSID byte
    (SSID in bits 1-4, bit 0 set on the last address).  Control 0x03 (UI) and PID 0xF0
    (no layer 3) follow, then the information field.
    """
    addresses = []
    at = 0
    while True:
        field = frame[at:at + 7]
        assert len(field) == 7, f"frame ends inside its address field: {frame!r}"
        call = bytes(b >> 1 for b in field[:6]).decode("ascii").rstrip()
        ssid = (field[6] >> 1) & 0x0F
        addresses.append(f"{call}-{ssid}" if ssid else call)
        at += 7
        if field[6] & 0x01:
            break
    assert frame[at:at + 2] == b"\x03\xf0", f"not a UI frame without layer 3: {frame!r}"
    destination, source, *via = addresses
    path = "".join("," + v for v in via)
    return f"{source}>{destination}{path}:{frame[at + 2:].decode('latin-1')}"


class Direwolf:
    """A ``direwolf`` decoding audio written to its stdin, serving KISS TCP on 127.0.0.1:``port``."""

    def __init__(self, folder: Path, *, baud: int = 1200, name: str = "direwolf") -> None:
        self.folder = folder
        self.baud = baud
        self.port = kiss_port()
        self.log_path = folder / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._feeders: list[threading.Thread] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Direwolf:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = self._launch()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"direwolf exited with {self.process.returncode}: {self.log()}")
            if f"Ready to accept KISS TCP client application 0 on port {self.port}" in self.log():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"direwolf did not open KISS port {self.port} in {START_TIMEOUT_S:g} s: {self.log()}")

    def _launch(self) -> subprocess.Popen[bytes]:
        config = self.folder / f"direwolf-{self.port}.conf"
        config.write_text(f"ADEVICE stdin null\nCHANNEL 0\nMODEM {self.baud}\nKISSPORT {self.port}\nAGWPORT 0\n")
        with self.log_path.open("ab") as log:
            # Named relative to its folder (the working directory): Dire Wolf cuts a -c path at 99 characters.
            return subprocess.Popen([require("direwolf"), "-c", config.name, "-r", str(SAMPLE_RATE_HZ), "-B",
                                     str(self.baud), "-t", "0", "-"],
                                    stdin=subprocess.PIPE, stdout=log, stderr=log, cwd=self.folder)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def clients(self) -> int:
        """Return how many KISS TCP clients Dire Wolf has attached so far (from its log)."""
        return self.log().count("Attached to KISS TCP client application")

    def wait_for_clients(self, count: int, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.clients() < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.clients()} KISS client(s) attached to direwolf in {timeout_s:g} s, "
                                     f"not {count}: {self.log()}")
            time.sleep(0.02)

    def heard(self) -> int:
        """Return how many frames Dire Wolf has decoded so far (its monitor lines ``[0.x] SRC>DST:...``)."""
        return sum(1 for line in self.log().splitlines() if line.startswith("[0") and ">" in line)

    def feed(self, audio: bytes) -> None:
        """Write ``audio`` to Dire Wolf's stdin from a thread (a full pipe must not block the test)."""
        assert self.process is not None and self.process.stdin is not None
        stdin = self.process.stdin

        def write() -> None:
            stdin.write(audio)
            stdin.flush()

        thread = threading.Thread(target=write, name=f"direwolf-feed-{self.port}", daemon=True)
        thread.start()
        self._feeders.append(thread)

    def wait_heard(self, count: int, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.heard() < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"direwolf decoded {self.heard()} frame(s) in {timeout_s:g} s, not {count}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Close Dire Wolf's stdin (it exits at the end of its input); kill it if it does not."""
        if self.process is None:
            return
        for thread in self._feeders:
            thread.join(10)
        if self.process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def kiss_server_once(chunks: list[bytes]) -> tuple[int, threading.Thread]:
    """Serve ``chunks`` to the first client of a free port of 127.0.0.1, one ``sendall`` each, then close."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        with server:
            connection, _ = server.accept()
            with connection:
                for chunk in chunks:
                    connection.sendall(chunk)
                    time.sleep(0.01)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return port, thread


class DirewolfTransmitter(Direwolf):
    """A ``direwolf`` that transmits what its KISS TCP clients write, its audio into a file instead of a radio.

    Its transmit device is ALSA's ``file`` plugin (a PCM named in an ``.asoundrc`` in its
    folder, Dire Wolf run with ``HOME`` there) over the ``null`` PCM: every sample it would
    send to the radio lands in ``tx.raw`` (16-bit mono at ``SAMPLE_RATE_HZ``), in the order
    it keyed up.  Its receiver is off (``null``), so it never waits for a busy channel.
    """

    def __init__(self, folder: Path, *, baud: int = 1200, txdelay_10ms: int = 30) -> None:
        super().__init__(folder, baud=baud, name="direwolf-tx")
        self.txdelay_10ms = txdelay_10ms
        self.audio_path = folder / "tx.raw"

    def _launch(self) -> subprocess.Popen[bytes]:
        (self.folder / ".asoundrc").write_text(
            'pcm.groundshare_tx {\n    type file\n    slave.pcm "null"\n'
            f'    file "{self.audio_path}"\n    format "raw"\n}}\n')
        config = self.folder / "direwolf-tx.conf"
        config.write_text(f"ADEVICE null groundshare_tx\nARATE {SAMPLE_RATE_HZ}\nCHANNEL 0\nMODEM {self.baud}\n"
                          f"TXDELAY {self.txdelay_10ms}\nKISSPORT {self.port}\nAGWPORT 0\n")
        with self.log_path.open("ab") as log:
            return subprocess.Popen([require("direwolf"), "-c", config.name, "-t", "0"], stdout=log, stderr=log,
                                    cwd=self.folder, env={**os.environ, "HOME": str(self.folder)})

    def sent(self) -> int:
        """Return how many frames it has transmitted (its log's ``[0L]`` lines)."""
        return sum(1 for line in self.log().splitlines() if line.startswith("[0L]"))

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


class AirLink:
    """The air between a ``DirewolfTransmitter`` and a receiving ``Direwolf``: its audio, fed on as it is written.

    A thread follows the transmitter's audio file and writes what it adds to the
    receiver's stdin; ``close`` sends the rest and a second of silence, so that the
    receiver decodes the last frame, and closes the receiver's input.
    """

    def __init__(self, transmitter: DirewolfTransmitter, receiver: Direwolf) -> None:
        self.transmitter = transmitter
        self.receiver = receiver
        self.fed_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="air-link", daemon=True)

    def start(self) -> AirLink:
        self._thread.start()
        return self

    def _carry(self) -> None:
        assert self.receiver.process is not None and self.receiver.process.stdin is not None
        try:
            with self.transmitter.audio_path.open("rb") as audio:
                audio.seek(self.fed_bytes)
                data = audio.read()
        except FileNotFoundError:
            return
        data = data[:len(data) - len(data) % 2]  # whole samples only
        if data:
            self.receiver.process.stdin.write(data)
            self.receiver.process.stdin.flush()
            self.fed_bytes += len(data)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._carry()
            self._stop.wait(0.02)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._carry()
        assert self.receiver.process is not None and self.receiver.process.stdin is not None
        self.receiver.process.stdin.write(bytes(2 * SAMPLE_RATE_HZ))
        self.receiver.process.stdin.flush()


class KissListener:
    """A KISS TCP client of a receiving Dire Wolf: every data frame it decodes, in order, as bytes."""

    def __init__(self, address: tuple[str, int]) -> None:
        from groundshare.frames.kiss import KissDecoder

        self.frames: list[bytes] = []
        self._decoder = KissDecoder()
        self._sock = socket.create_connection(address, timeout=5)
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kiss-listener", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            self.frames += [frame.payload for frame in self._decoder.feed(data) if frame.is_data]

    def wait_for(self, count: int, timeout_s: float = 30.0) -> list[bytes]:
        deadline = time.monotonic() + timeout_s
        while len(self.frames) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.frames)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        with contextlib.suppress(OSError):
            self._sock.close()


def ax25_ui(source: str, destination: str, info: bytes) -> bytes:
    """Return an AX.25 UI frame (no FCS: the TNC adds it) from ``source`` to ``destination`` (``CALL[-n]``)."""

    def address(call: str, last: bool) -> bytes:
        name, _, ssid = call.partition("-")
        return bytes(ord(c) << 1 for c in name.upper().ljust(6)) + bytes([0x60 | (int(ssid or 0) << 1) | last])

    return address(destination, False) + address(source, True) + b"\x03\xf0" + info
