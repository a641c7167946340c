"""KISS framing: the byte stream between a TNC (Dire Wolf, gr-satellites, a hardware TNC) and its host.

A KISS frame is ``FEND <type> <data> FEND``, with ``FEND`` (0xC0) and ``FESC`` (0xDB)
inside the data sent as ``FESC TFEND`` (0xDB 0xDC) and ``FESC TFESC`` (0xDB 0xDD)
(K. Chepponis and P. Karn, "The KISS TNC", ARRL CNC 1987).  The type byte holds the
TNC's port in its high nibble and the command in its low nibble; command 0 is a data
frame (a received frame's bytes: for AX.25, the frame without its FCS) and the others
(TX delay, persistence, ...) are settings, which a receiver passes on but does not keep.

``KissDecoder`` reads a stream in whatever pieces the socket hands over (a frame may
span several reads, a read may hold several frames) and never returns a damaged frame:

- a ``FESC`` followed by anything but ``TFEND``/``TFESC`` (a *bad escape*) spoils its
  frame, which is dropped;
- a frame whose data would pass ``MAX_FRAME_BYTES`` (*over-long*) is dropped, and
  the bytes up to the next ``FEND`` are skipped without being kept;
- bytes before the first ``FEND`` of a stream, and a frame cut off by the end of the
  stream (``end()``), are *truncated* and dropped;
- back-to-back ``FEND``s (the usual resynchronisation) are not frames and not errors;
  a data frame with no data is dropped as *empty*.

Each drop is counted by kind (``bad_escapes``, ``over_long``, ``truncated``, ``empty``;
``errors`` is their sum), so a station can report a noisy link rather than hide it.

``write_kiss_file`` and ``read_kiss_file`` keep frames in a file of back-to-back KISS
data frames, the form other tools (kissutil, Dire Wolf's ``kissutil -f``, decoders) read.

>>> kiss_encode(b"\\xc0hi\\xdb")
b'\\xc0\\x00\\xdb\\xdchi\\xdb\\xdd\\xc0'
>>> decoder = KissDecoder()
>>> decoder.feed(b"\\xc0\\x00\\xdb\\xdc") + decoder.feed(b"hi\\xdb\\xdd\\xc0")
[KissFrame(port=0, command=0, payload=b'\\xc0hi\\xdb')]
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from groundshare.errors import InvalidInputError

FEND = 0xC0
FESC = 0xDB
TFEND = 0xDC
TFESC = 0xDD
#: The command of a data frame (a received or to-be-sent frame's bytes).
DATA_FRAME = 0x0
#: Largest frame payload kept, in bytes: AX.25 frames are at most 330 bytes and CCSDS TM transfer frames at most
#: 2048 (CCSDS 132.0-B); twice that leaves room for any other framing a TNC passes on.
MAX_FRAME_BYTES = 4096

_FEND_BYTE = bytes([FEND])
_BAD_ESCAPE = re.compile(rb"\xdb(?![\xdc\xdd])")


@dataclass(frozen=True)
class KissFrame:
    """One KISS frame: the TNC's ``port`` (0-15), its ``command`` (0: data) and its unescaped ``payload``."""

    port: int
    command: int
    payload: bytes

    @property
    def is_data(self) -> bool:
        """Whether this is a data frame (a received frame), not a TNC setting."""
        return self.command == DATA_FRAME


def kiss_escape(data: bytes) -> bytes:
    """Return ``data`` with FEND and FESC escaped (FESC first, so that the FESCs added are not escaped again)."""
    return data.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc")


def kiss_encode(payload: bytes, port: int = 0, command: int = DATA_FRAME) -> bytes:
    """Return ``payload`` as one KISS frame on ``port`` (0-15) with ``command`` (0-15; 0: data)."""
    for name, value in (("port", port), ("command", command)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 15:
            raise InvalidInputError(f"KISS {name} must be a whole number from 0 to 15 (one nibble), got {value!r}",
                                    loc=(name,))
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise InvalidInputError(f"a KISS payload must be bytes, got {type(payload).__name__}", loc=("payload",))
    return b"\xc0" + bytes([(port << 4) | command]) + kiss_escape(bytes(payload)) + b"\xc0"


class KissDecoder:
    """Turns a KISS byte stream, read in any pieces, into frames (see the module docstring for what is dropped)."""

    def __init__(self, *, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        # An escaped frame holds at most twice its data plus its type byte: past this it is over-long whatever it holds.
        self._max_raw_bytes = 2 * (max_frame_bytes + 1)
        self._raw = bytearray()  # the escaped bytes of the frame being read
        self._in_frame = False  # a FEND has been seen: bytes are a frame's, not the noise before the first FEND
        self._skipping = False  # the frame being read is over-long: skip to the next FEND
        self.frames = 0
        self.bad_escapes = 0
        self.over_long = 0
        self.truncated = 0
        self.empty = 0

    @property
    def errors(self) -> int:
        """How many frames were dropped, of every kind."""
        return self.bad_escapes + self.over_long + self.truncated + self.empty

    def feed(self, data: bytes) -> list[KissFrame]:
        """Return the frames that ``data`` completes, in order (a frame it starts is kept for the next call)."""
        pieces = bytes(data).split(_FEND_BYTE)
        frames: list[KissFrame] = []
        for piece in pieces[:-1]:  # each of these ends at a FEND
            if self._in_frame:
                frame = self._finish(piece)
                if frame is not None:
                    frames.append(frame)
            elif (self._raw or piece) and not self._skipping:
                self.truncated += 1  # bytes before the stream's first FEND: the rest of a frame we never saw
            self._raw.clear()
            self._skipping = False
            self._in_frame = True
        self._take(pieces[-1])
        return frames

    def end(self) -> None:
        """Say the stream has ended (connection closed): a frame left unfinished is counted truncated."""
        if self._raw and not self._skipping:
            self.truncated += 1
        self._raw.clear()
        self._skipping = False
        self._in_frame = False

    def _take(self, piece: bytes) -> None:
        """Keep ``piece`` as part of the frame being read, unless that makes it over-long."""
        if self._skipping or not piece:
            return
        self._raw += piece
        if len(self._raw) > self._max_raw_bytes:
            if self._in_frame:
                self.over_long += 1
            else:
                self.truncated += 1
            self._raw.clear()
            self._skipping = True

    def _finish(self, piece: bytes) -> KissFrame | None:
        """Return the frame whose last escaped bytes are ``piece``, or None (back-to-back FENDs, or dropped)."""
        if self._skipping:
            return None
        raw = bytes(self._raw) + piece
        if not raw:
            return None  # FEND FEND: resynchronisation, not a frame
        if len(raw) > self._max_raw_bytes:
            self.over_long += 1
            return None
        if _BAD_ESCAPE.search(raw):
            self.bad_escapes += 1
            return None
        # Every FESC now starts a FESC TFEND or FESC TFESC pair and the pairs do not overlap, so two replaces undo them.
        data = raw.replace(b"\xdb\xdc", b"\xc0").replace(b"\xdb\xdd", b"\xdb") if b"\xdb" in raw else raw
        kind, payload = data[0], data[1:]
        port, command = kind >> 4, kind & 0x0F
        if command == DATA_FRAME:
            if len(payload) > self.max_frame_bytes:
                self.over_long += 1
                return None
            if not payload:
                self.empty += 1
                return None
            self.frames += 1
        return KissFrame(port, command, payload)


def write_kiss_file(path: str | os.PathLike[str], payloads: Iterable[bytes]) -> int:
    """Write ``payloads`` to ``path`` as back-to-back KISS data frames on port 0; return how many."""
    written = 0
    with Path(path).open("wb") as out:
        for payload in payloads:
            out.write(kiss_encode(payload))
            written += 1
    return written


def read_kiss_file(path: str | os.PathLike[str], *, max_frame_bytes: int = MAX_FRAME_BYTES) -> list[KissFrame]:
    """Return the data frames of the KISS file at ``path``, in order.

    A file with a damaged frame is refused whole (``InvalidInputError`` naming the file
    and what was found): a file, unlike a radio link, has no excuse for noise.
    """
    path = Path(path)
    decoder = KissDecoder(max_frame_bytes=max_frame_bytes)
    frames: list[KissFrame] = []
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            frames += [frame for frame in decoder.feed(chunk) if frame.is_data]
    decoder.end()
    if decoder.errors:
        found = ", ".join(f"{count} {what}" for what, count in (
            ("bad escape(s)", decoder.bad_escapes), ("frame(s) over the bound of " f"{max_frame_bytes} bytes",
                                                      decoder.over_long),
            ("truncated frame(s)", decoder.truncated), ("empty data frame(s)", decoder.empty)) if count)
        raise InvalidInputError(f"{path}: not a clean KISS file: {found} among {decoder.frames} good frame(s); a KISS "
                                "file holds FEND-delimited frames (0xC0 ... 0xC0) with FEND/FESC escaped",
                                loc=("file", str(path)))
    return frames
