"""The flowgraph modes satnogs-client knows: a SatNOGS job's ``mode`` must be one of them.

Copied from ``satnogsclient/radio/flowgraphs.py`` (``SATNOGS_FLOWGRAPH_MODES``' keys) of
satnogs-client 2.1.4.  The client runs its default flowgraph (FM) for a mode it does not
know, so groundshare refuses an unknown mode when a satellite is saved rather than let a
station record the wrong thing.
"""

from __future__ import annotations

from groundshare.errors import InvalidInputError

#: The satnogs-client release the modes were copied from.
SATNOGS_CLIENT_VERSION = "2.1.4"
#: ``SATNOGS_FLOWGRAPH_MODES``' keys in satnogs-client 2.1.4, in its order.
SATNOGS_MODES: tuple[str, ...] = (
    "AFSK", "APT", "BPSK", "BPSK PMT-A3", "CW", "DUV", "FM", "FSK", "FSK AX.100 Mode 5", "FSK AX.100 Mode 6",
    "GFSK", "GFSK Rktr", "GFSK/BPSK", "GMSK", "MSK", "MSK AX.100 Mode 5", "MSK AX.100 Mode 6", "SSTV",
)


def check_mode(mode: str, *, loc: tuple[str | int, ...] = ("mode",)) -> str:
    """Return ``mode`` if satnogs-client knows it; ``InvalidInputError`` naming the field and the modes otherwise."""
    if mode in SATNOGS_MODES:
        return mode
    close = [m for m in SATNOGS_MODES if m.lower() == str(mode).strip().lower()]
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise InvalidInputError(f"mode must be one of satnogs-client {SATNOGS_CLIENT_VERSION}'s flowgraph modes, got "
                            f"{mode!r}{hint}; one of: {', '.join(SATNOGS_MODES)}", loc=loc)
