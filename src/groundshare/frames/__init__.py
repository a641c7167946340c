"""Frames as they come off the air: KISS framing between a TNC and its host.

- ``kiss``: ``kiss_encode``, ``KissDecoder`` (escapes, port nibble, partial reads,
  corrupt streams counted and dropped), KISS files; ``MAX_FRAME_BYTES``, the largest
  frame payload groundshare keeps anywhere.
"""

from groundshare.frames.kiss import (
    MAX_FRAME_BYTES,
    KissDecoder,
    KissFrame,
    kiss_encode,
    read_kiss_file,
    write_kiss_file,
)

__all__ = ["MAX_FRAME_BYTES", "KissDecoder", "KissFrame", "kiss_encode", "read_kiss_file", "write_kiss_file"]
