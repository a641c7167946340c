"""A stand-in for gr-satnogs' SDR flowgraph: writes the files the real one writes, under the names it uses.

satnogs-client 2.1.4 starts one program per observation, ``flowgraph_dispatcher`` from its
PATH (``radio/flowgraphs.py``: ``DISPATCHER_SCRIPT_NAME``), with ``--name=value`` options
(``--mode``, ``--rx-freq``, ``--baud``, ``--file-path``, ``--waterfall-file-path``,
``--decoded-data-file-path`` and the radio's settings), and stops it with SIGINT at the
observation's end.  The real program is a GNU Radio script of ``gr-satnogs`` that needs an
SDR; it is not packaged here, so the tests put this script first on the client's PATH under
that name (``tests/support/satnogs_client.py``).  Like the real flowgraph it writes:

- the audio to ``--file-path`` (``receiving_satnogs_<id>_<timestamp>.out``, which the client
  renames to ``satnogs_<id>_<timestamp>.ogg``): here an Ogg stream whose first page carries a
  Vorbis identification header (mono, 48 kHz) and whose last page ends the stream, with no
  audio packets between;
- the waterfall to ``--waterfall-file-path`` (``receiving_waterfall_<id>_<timestamp>.dat``)
  in the layout ``satnogsclient/waterfall.py`` reads (a 32-byte timestamp, channel count,
  sample rate, FFTs per row, centre frequency, an endianness flag, then rows of a
  microsecond offset and one power per channel in dB): noise with a carrier in the middle,
  which the client plots to ``waterfall_<id>_<timestamp>.png``;
- one file per decoded frame, named as gr-satnogs' ``frame_file_sink`` names them: the
  ``--decoded-data-file-path`` prefix (``<output>/data_<id>``), ``_`` and the UTC time of
  reception as ``%Y-%m-%dT%H-%M-%S``, and ``_<n>`` for the n-th further frame of the same
  second; its bytes are the frame (the sink's binary output type).  Each file is written
  under another name and renamed into place, so the client's upload loop never reads half
  of one.

The frames are the hex strings of ``GROUNDSHARE_FAKE_FRAMES_HEX`` (comma-separated; three
AX.25 UI frames when unset), written ``GROUNDSHARE_FAKE_FRAME_INTERVAL_S`` (default 1) apart
from one interval after the start.  The options it was called with are printed to stderr
(``flowgraph_dispatcher: {...}`` as JSON), which the client passes through to its own log.
Standard library only: it runs under the client's Python.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import struct
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

#: What the frames are when ``GROUNDSHARE_FAKE_FRAMES_HEX`` is unset: AX.25 UI frames from "GS0SAT" to "CQ".
DEFAULT_FRAMES = [
    bytes.fromhex("86a240404040e0 8ea6609aa682a861 03f0") + f"groundshare fake frame {n}".encode()
    for n in range(1, 4)
]
WATERFALL_CHANNELS = 64
WATERFALL_SAMPLE_RATE = 48_000
WATERFALL_ROW_S = 0.25
AUDIO_SAMPLE_RATE = 48_000

_stop = False


def _on_signal(_signum: int, _frame: FrameType | None) -> None:
    global _stop
    _stop = True


def options(argv: list[str]) -> dict[str, str]:
    """Return the ``--name=value`` options of ``argv`` as the client passes them."""
    found: dict[str, str] = {}
    for arg in argv:
        if arg.startswith("--") and "=" in arg:
            name, value = arg[2:].split("=", 1)
            found[name] = value
    return found


# Ogg pages (RFC 3533): CRC-32 with polynomial 0x04C11DB7, not reflected, initial value 0.
_OGG_CRC = [0] * 256
for _i in range(256):
    _r = _i << 24
    for _ in range(8):
        _r = ((_r << 1) ^ 0x04C11DB7) if _r & 0x80000000 else (_r << 1)
    _OGG_CRC[_i] = _r & 0xFFFFFFFF


def ogg_page(packet: bytes, *, serial: int, sequence: int, granule: int, header_type: int) -> bytes:
    """Return one Ogg page holding ``packet`` whole (under 255 * 255 bytes)."""
    lacing = [255] * (len(packet) // 255) + [len(packet) % 255]
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, header_type, granule, serial, sequence, 0, len(lacing))
    page = bytearray(header + bytes(lacing) + packet)
    crc = 0
    for byte in page:
        crc = ((crc << 8) ^ _OGG_CRC[((crc >> 24) ^ byte) & 0xFF]) & 0xFFFFFFFF
    page[22:26] = struct.pack("<I", crc)
    return bytes(page)


def vorbis_identification() -> bytes:
    """Return a Vorbis identification header packet: mono, 48 kHz, block sizes 256 and 2048."""
    return (b"\x01vorbis" + struct.pack("<IBIiii", 0, 1, AUDIO_SAMPLE_RATE, 0, 64_000, 0)
            + bytes([0xB8, 0x01]))


def waterfall_header(center_hz: float, started: datetime) -> bytes:
    """Return the waterfall file's header as ``satnogsclient.waterfall`` reads it (little-endian rows)."""
    stamp = started.strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode().ljust(32, b"\0")
    return (stamp + struct.pack(">iiif", WATERFALL_CHANNELS, WATERFALL_SAMPLE_RATE, 1, center_hz)
            + struct.pack("<i", 1))


def waterfall_row(offset_us: int, rng: random.Random) -> bytes:
    """Return one row: its offset from the start (microseconds) and the power of each channel (dB)."""
    middle = WATERFALL_CHANNELS // 2
    powers = [-95.0 + rng.gauss(0.0, 2.0) + 30.0 * math.exp(-((c - middle) ** 2) / 4.0)
              for c in range(WATERFALL_CHANNELS)]
    return struct.pack("<q", offset_us) + struct.pack(f"<{WATERFALL_CHANNELS}f", *powers)


class FrameSink:
    """Writes frames as gr-satnogs' ``frame_file_sink`` names them (``<prefix>_<UTC second>[_<n>]``)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.previous = ""
        self.counter = 0

    def write(self, frame: bytes) -> Path:
        name = f"{self.prefix}_{datetime.now(UTC).strftime('%Y-%m-%dT%H-%M-%S')}"
        if name == self.previous:
            self.counter += 1
            path = Path(f"{name}_{self.counter}")
        else:
            self.previous, self.counter = name, 0
            path = Path(name)
        partial = path.with_name(f".{path.name}.partial")  # not a name the client's upload loop takes
        partial.write_bytes(frame)
        os.replace(partial, path)
        return path


def main(argv: list[str]) -> int:
    """Run until SIGINT or SIGTERM, writing the audio, the waterfall and the frames; return 0."""
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    given = options(argv)
    print(f"flowgraph_dispatcher: {json.dumps(given, sort_keys=True)}", file=sys.stderr, flush=True)
    missing = [n for n in ("file-path", "waterfall-file-path", "decoded-data-file-path", "rx-freq") if n not in given]
    if missing:
        print(f"flowgraph_dispatcher: missing options {missing}", file=sys.stderr, flush=True)
        return 2
    hex_frames = os.environ.get("GROUNDSHARE_FAKE_FRAMES_HEX", "")
    frames = [bytes.fromhex(h) for h in hex_frames.split(",") if h.strip()] if hex_frames else list(DEFAULT_FRAMES)
    interval_s = float(os.environ.get("GROUNDSHARE_FAKE_FRAME_INTERVAL_S", "1"))
    rng = random.Random(int(given["rx-freq"]))
    started = datetime.now(UTC)
    begun = time.monotonic()
    serial = rng.getrandbits(32)
    with open(given["file-path"], "wb") as audio, open(given["waterfall-file-path"], "wb") as waterfall:
        audio.write(ogg_page(vorbis_identification(), serial=serial, sequence=0, granule=0, header_type=0x02))
        audio.flush()
        waterfall.write(waterfall_header(float(given["rx-freq"]), started))
        sink = FrameSink(given["decoded-data-file-path"])
        next_row_s, next_frame_s = 0.0, interval_s
        while not _stop:
            elapsed_s = time.monotonic() - begun
            if elapsed_s >= next_row_s:
                waterfall.write(waterfall_row(int(elapsed_s * 1e6), rng))
                waterfall.flush()
                next_row_s += WATERFALL_ROW_S
            if frames and elapsed_s >= next_frame_s:
                sink.write(frames.pop(0))
                next_frame_s += interval_s
            time.sleep(0.05)
        granule = int((time.monotonic() - begun) * AUDIO_SAMPLE_RATE)
        audio.write(ogg_page(b"", serial=serial, sequence=1, granule=granule, header_type=0x04))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
