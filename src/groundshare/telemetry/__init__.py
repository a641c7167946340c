"""Telemetry: frames decoded into named values by satnogs-decoders (the ``decoders`` extra, AGPL-3.0).

Importing this package does not import satnogs-decoders; the first decode does.
"""

from groundshare.telemetry.decoding import (
    MAX_FIELDS,
    MAX_STRING_CHARS,
    DecodedFrame,
    check_decoder_name,
    decode,
    decoder_names,
    decoders_installed,
    flatten,
)

__all__ = [
    "MAX_FIELDS", "MAX_STRING_CHARS", "DecodedFrame", "check_decoder_name", "decode", "decoder_names",
    "decoders_installed", "flatten",
]
