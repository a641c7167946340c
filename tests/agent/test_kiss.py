"""KISS framing: escapes, the port nibble, reads split anywhere, corrupt streams, KISS files.

The oracle for escaping is the KISS specification's own table (Chepponis and Karn,
"The KISS TNC", 1987): FEND 0xC0 -> 0xDB 0xDC, FESC 0xDB -> 0xDB 0xDD, nothing else
changes.  Streams are also cut at every byte to show that a frame read in pieces is the
frame read whole.
"""

from __future__ import annotations

import numpy as np
import pytest

from groundshare.errors import InvalidInputError
from groundshare.frames import MAX_FRAME_BYTES, KissDecoder, KissFrame, kiss_encode, read_kiss_file, write_kiss_file

# An AX.25 UI frame as Dire Wolf sends it on KISS (N0CALL-1>CQ:frame one), read off its KISS TCP port.
DIREWOLF_FRAME = (b"\xc0\x00\x86\xa2@@@@\xe0\x9c`\x86\x82\x98\x98\xe3\x03\xf0frame one\n\xc0")


def test_escapes_follow_the_specification_table() -> None:
    assert kiss_encode(b"\xc0") == b"\xc0\x00\xdb\xdc\xc0"
    assert kiss_encode(b"\xdb") == b"\xc0\x00\xdb\xdd\xc0"
    assert kiss_encode(b"\xdc\xdd") == b"\xc0\x00\xdc\xdd\xc0"  # TFEND and TFESC alone are plain bytes
    assert kiss_encode(b"\xdb\xdc") == b"\xc0\x00\xdb\xdd\xdc\xc0"  # not mistaken for an escaped FEND
    assert kiss_encode(b"x", port=3, command=1) == b"\xc0\x31x\xc0"
    with pytest.raises(InvalidInputError, match="KISS port must be a whole number from 0 to 15"):
        kiss_encode(b"x", port=16)


def test_a_direwolf_frame_decodes_to_its_ax25_bytes() -> None:
    [frame] = KissDecoder().feed(DIREWOLF_FRAME)
    assert frame == KissFrame(port=0, command=0, payload=DIREWOLF_FRAME[2:-1]) and frame.is_data
    assert frame.payload.endswith(b"\x03\xf0frame one\n")  # UI control, no layer 3, the text


def test_every_byte_value_round_trips_read_in_pieces_of_every_size() -> None:
    rng = np.random.default_rng(2024)
    payloads = [bytes(range(256)), b"\xc0\xdb\xc0\xdb\xdb\xc0", *(rng.integers(0, 256, n, dtype=np.uint8).tobytes()
                                                                  for n in (1, 2, 17, 330, MAX_FRAME_BYTES))]
    stream = b"".join(kiss_encode(p, port=i % 16) for i, p in enumerate(payloads))
    for size in (1, 2, 3, 7, 64, 1000, len(stream)):
        decoder = KissDecoder()
        frames = [f for start in range(0, len(stream), size) for f in decoder.feed(stream[start:start + size])]
        assert [f.payload for f in frames] == payloads
        assert [f.port for f in frames] == [i % 16 for i in range(len(payloads))]
        assert decoder.errors == 0 and decoder.frames == len(payloads)


def test_back_to_back_fends_and_settings_frames_are_not_data() -> None:
    decoder = KissDecoder()
    frames = decoder.feed(b"\xc0\xc0\xc0" + kiss_encode(b"\x32", command=1) + b"\xc0" + kiss_encode(b"a"))
    assert frames == [KissFrame(0, 1, b"\x32"), KissFrame(0, 0, b"a")]
    assert [f.is_data for f in frames] == [False, True] and decoder.errors == 0


def test_corrupt_frames_are_dropped_counted_and_the_next_ones_kept() -> None:
    decoder = KissDecoder()
    stream = (b"tail of a frame we never saw" + kiss_encode(b"one")
              + b"\xc0\x00bad\xdbXescape\xc0"  # FESC followed by neither TFEND nor TFESC
              + b"\xc0\x00ends in an escape\xdb\xc0"
              + kiss_encode(b"x" * (MAX_FRAME_BYTES + 1))  # one byte over the bound
              + b"\xc0\x00\xc0"  # a data frame with no data
              + kiss_encode(b"two") + b"\xc0\x00cut off by the end")
    frames = decoder.feed(stream)
    decoder.end()
    assert [f.payload for f in frames] == [b"one", b"two"]
    assert (decoder.bad_escapes, decoder.over_long, decoder.truncated, decoder.empty) == (2, 1, 2, 1)
    assert decoder.errors == 6


def test_a_stream_of_garbage_without_fend_is_not_kept_in_memory() -> None:
    decoder = KissDecoder()
    for _ in range(100):
        assert decoder.feed(b"\x01" * 65536) == []
    assert len(decoder._raw) <= 2 * (MAX_FRAME_BYTES + 1)
    assert decoder.feed(kiss_encode(b"found")) == [KissFrame(0, 0, b"found")]
    assert decoder.truncated == 1  # the garbage before the first FEND, once


def test_an_over_long_frame_is_skipped_to_the_next_fend_across_reads() -> None:
    decoder = KissDecoder()
    assert decoder.feed(b"\xc0\x00" + b"y" * 20000) == []
    assert decoder.feed(b"y" * 20000) == []
    assert decoder.feed(b"\xc0" + kiss_encode(b"next")[1:]) == [KissFrame(0, 0, b"next")]
    assert decoder.over_long == 1 and decoder.errors == 1


def test_kiss_files_round_trip_and_a_corrupt_one_is_refused(tmp_path) -> None:
    path = tmp_path / "frames.kiss"
    payloads = [b"\xc0", b"hello", bytes(range(256))]
    assert write_kiss_file(path, payloads) == 3
    assert [f.payload for f in read_kiss_file(path)] == payloads
    path.write_bytes(kiss_encode(b"ok") + b"\xc0\x00\xdb\x00\xc0" + b"\xc0\x00cut")
    with pytest.raises(InvalidInputError) as refused:
        read_kiss_file(path)
    assert str(refused.value) == (f"{path}: not a clean KISS file: 1 bad escape(s), 1 truncated frame(s) among 1 good "
                                  "frame(s); a KISS file holds FEND-delimited frames (0xC0 ... 0xC0) with FEND/FESC "
                                  "escaped")
