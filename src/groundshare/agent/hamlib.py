"""Thin synchronous clients for Hamlib's network daemons, ``rotctld`` and ``rigctld``.

Both daemons speak one line protocol over TCP: a command ends with ``"\\n"``.  We always
send commands in *extended response mode* (a leading ``+``), because then every reply,
a set or a get, a success or a failure, ends with one line ``RPRT <code>``; the reader
needs no per-command knowledge of how many lines follow.  Measured on Hamlib 4.5.4
(Debian's ``libhamlib-utils``) with the dummy models (``-m 1``)::

    +P 500 10        ->  set_pos: 500 10 / RPRT -1        (out of range: refused, -1 = RIG_EINVAL)
    +p               ->  get_pos: / Azimuth: 12.00 / Elevation: 6.00 / RPRT 0
    +\\dump_state     ->  dump_state: / rotctld Protocol Ver: 1 / Rotor Model: 1 /
                         Minimum Azimuth: -180.000000 / Maximum Azimuth: 450.000000 /
                         Minimum Elevation: 0.000000 / Maximum Elevation: 90.000000 /
                         South Zero: 0 / rot_type=AzEl / done / RPRT 0
    +f               ->  get_freq: / Frequency: 145800000 / RPRT 0

Without ``+`` the rotator's ``\\dump_state`` uses ``min_az=-180.000000`` style lines; the
parser accepts both.  The reply codes are Hamlib's ``RIG_E*`` values negated (0 is OK).

The clients reconnect on their own: a daemon that is restarted between two calls (or
within ``reconnect_attempts * reconnect_delay_s`` of one) is invisible to the caller
except in the ``reconnects`` counter.  Every command we send is idempotent (set a
position, set a frequency, read one), so sending it again after a broken connection is
safe.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import numpy as np

from groundshare.errors import GroundshareError, InvalidInputError

DEFAULT_ROTCTLD_PORT = 4533
DEFAULT_RIGCTLD_PORT = 4532
# A rotator whose elevation reaches 180 deg (minus this) can point "over the top" (flip mode).
FLIP_TOLERANCE_DEG = 1.0
# No reply of these daemons comes near this; more means we are not talking to one.
MAX_REPLY_BYTES = 1 << 20

# Hamlib's rig_errcode_e (include/hamlib/rig.h), as the daemons report them negated.
HAMLIB_ERRORS = {
    0: "OK", 1: "invalid parameter", 2: "invalid configuration", 3: "out of memory",
    4: "function not implemented", 5: "communication timed out", 6: "I/O error",
    7: "internal Hamlib error", 8: "protocol error", 9: "command rejected by the rig",
    10: "argument truncated", 11: "function not available", 12: "VFO not targetable",
    13: "error talking on the bus", 14: "collision on the bus", 15: "NULL RIG handle or invalid pointer",
    16: "invalid VFO", 17: "argument out of domain",
}


class HamlibError(GroundshareError):
    """A Hamlib daemon cannot be reached, or answers something that is not its protocol.

    Not an :class:`~groundshare.errors.InvalidInputError`: the caller's request was fine,
    the station's hardware side is not.  ``address`` is ``"host:port"``.
    """

    def __init__(self, message: str, *, address: str) -> None:
        super().__init__(message)
        self.address = address


def describe_code(code: int) -> str:
    """Return a reply code with Hamlib's meaning, e.g. ``'RPRT -1 (invalid parameter)'``."""
    return f"RPRT {code} ({HAMLIB_ERRORS.get(-code, 'unknown Hamlib error')})"


def parse_address(text: str, default_port: int, *, option: str = "address") -> tuple[str, int]:
    """Return ``(host, port)`` from ``"HOST:PORT"``, ``"HOST"``, ``"[IPv6]:PORT"`` or a bare IPv6 address.

    ``option`` names the setting in error messages, e.g. ``"--rotator"``.

    >>> parse_address("localhost:4533", 4533), parse_address("10.0.0.7", 4532)
    (('localhost', 4533), ('10.0.0.7', 4532))
    """
    raw = text
    text = text.strip()
    host, port_text = text, ""
    if text.startswith("["):
        close = text.find("]")
        rest = text[close + 1:] if close >= 0 else ""
        if close < 0 or (rest and not rest.startswith(":")):
            raise InvalidInputError(
                f"{option} is {raw!r}; expected HOST, HOST:PORT or [IPV6]:PORT such as [::1]:{default_port}",
                loc=("option", option))
        host, port_text = text[1:close], rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    if not host or any(c.isspace() for c in host):
        raise InvalidInputError(
            f"{option} is {raw!r}; expected HOST or HOST:PORT such as localhost:{default_port}",
            loc=("option", option))
    if not port_text and not text.endswith(":"):
        return host, default_port
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise InvalidInputError(
            f"{option} is {raw!r}: the port {port_text!r} is not a number from 1 to 65535; "
            f"write HOST:PORT such as {host}:{default_port}, or leave the port out for {default_port}",
            loc=("option", option))
    return host, int(port_text)


@dataclass(frozen=True)
class RotatorLimits:
    """The travel of an az/el rotator in its own command frame, in degrees.

    Azimuth limits may extend past 0..360 (-180..180, 0..450, -180..540 rotators exist);
    a maximum elevation near 180 means the rotator can flip over the top.
    """

    min_az_deg: float
    max_az_deg: float
    min_el_deg: float
    max_el_deg: float

    def __post_init__(self) -> None:
        if not (self.min_az_deg < self.max_az_deg and self.min_el_deg < self.max_el_deg):
            raise InvalidInputError(
                f"rotator limits az {self.min_az_deg:g}..{self.max_az_deg:g}, el {self.min_el_deg:g}.."
                f"{self.max_el_deg:g} are empty; each minimum must be below its maximum",
                loc=("limits",))

    @property
    def flip_capable(self) -> bool:
        """Return whether the elevation axis reaches 180 deg, so the antenna can point over the top."""
        return self.max_el_deg >= 180.0 - FLIP_TOLERANCE_DEG

    def contains(self, az_deg: float | np.ndarray, el_deg: float | np.ndarray) -> bool | np.ndarray:
        """Return whether the command (``az_deg``, ``el_deg``) is inside the limits (elementwise for arrays)."""
        return ((self.min_az_deg <= az_deg) & (az_deg <= self.max_az_deg)
                & (self.min_el_deg <= el_deg) & (el_deg <= self.max_el_deg))


@dataclass(frozen=True)
class _Reply:
    """One extended-mode reply: the ``RPRT`` code and the lines between the echo and it."""

    code: int
    lines: tuple[str, ...]

    def fields(self) -> dict[str, str]:
        """Return ``Key: value`` and ``key=value`` lines as a dict (keys lower case)."""
        out: dict[str, str] = {}
        for line in self.lines:
            for sep in (":", "="):
                key, found, value = line.partition(sep)
                if found:
                    out[key.strip().lower()] = value.strip()
                    break
        return out


class HamlibClient:
    """Connection, reconnection and reply reading shared by :class:`Rotator` and :class:`Rig`.

    Counters: ``commands_sent`` (commands answered), ``refused`` (set commands answered
    with a negative code), ``reconnects`` (connections re-established after one broke).
    """

    daemon = "Hamlib daemon"
    daemon_help = "start the daemon"

    def __init__(self, host: str, port: int, *, timeout_s: float = 2.0, reconnect_attempts: int = 3,
                 reconnect_delay_s: float = 0.5, sleep: Callable[[float], None] = time.sleep) -> None:
        if not (timeout_s > 0.0 and reconnect_attempts >= 0 and reconnect_delay_s >= 0.0):
            raise InvalidInputError(
                f"timeout_s={timeout_s!r}, reconnect_attempts={reconnect_attempts!r}, reconnect_delay_s="
                f"{reconnect_delay_s!r}; expected a positive timeout and non-negative attempts and delay",
                loc=("connection",))
        self.host = host
        self.port = int(port)
        self.timeout_s = float(timeout_s)
        self.reconnect_attempts = int(reconnect_attempts)
        self.reconnect_delay_s = float(reconnect_delay_s)
        self._sleep = sleep
        self._sock: socket.socket | None = None
        self._buffer = b""
        self.commands_sent = 0
        self.refused = 0
        self.reconnects = 0

    @property
    def address(self) -> str:
        """Return ``"host:port"``."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.host!r}, {self.port})"

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def connect(self) -> None:
        """Open the connection now (calls open it on demand); raise :class:`HamlibError` if refused."""
        if self._sock is None:
            try:
                self._open()
            except OSError as exc:
                raise self._unreachable(exc, attempts=1) from exc

    def close(self) -> None:
        """Close the connection; the next call opens a new one."""
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._buffer = b""

    # -- plumbing -------------------------------------------------------------------------

    def _open(self) -> None:
        self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def _unreachable(self, exc: BaseException, *, attempts: int) -> HamlibError:
        return HamlibError(
            f"cannot talk to {self.daemon} at {self.address} after {attempts} attempt(s): {exc}\n"
            f"Check that {self.daemon} is running and listening there ({self.daemon_help}), "
            "and that the host and port are right.",
            address=self.address)

    def _command(self, command: str) -> _Reply:
        """Send ``command`` in extended mode and return its reply, reconnecting if the link broke."""
        last: BaseException | None = None
        for attempt in range(self.reconnect_attempts + 1):
            if attempt:
                self._sleep(self.reconnect_delay_s)
            try:
                reconnecting = self._sock is None and last is not None
                if self._sock is None:
                    self._open()
                    if reconnecting:
                        self.reconnects += 1
                reply = self._exchange(command)
            except (OSError, EOFError) as exc:   # socket.timeout is an OSError
                self.close()
                last = exc
                continue
            self.commands_sent += 1
            return reply
        assert last is not None
        raise self._unreachable(last, attempts=self.reconnect_attempts + 1) from last

    def _exchange(self, command: str) -> _Reply:
        assert self._sock is not None
        self._sock.sendall(f"+{command}\n".encode("ascii"))
        lines: list[str] = []
        while True:
            line = self._read_line()
            if line.startswith("RPRT "):
                try:
                    code = int(line[5:].strip())
                except ValueError:
                    raise self._garbage(command, [*lines, line]) from None
                # lines[0] is the echo of the command ("get_pos:"); the rest is the answer.
                return _Reply(code, tuple(lines[1:]))
            lines.append(line)
            if len(lines) > 10_000:
                raise self._garbage(command, lines)

    def _read_line(self) -> str:
        assert self._sock is not None
        while b"\n" not in self._buffer:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise EOFError("the daemon closed the connection")
            self._buffer += chunk
            if len(self._buffer) > MAX_REPLY_BYTES:
                raise self._garbage("(reply)", [self._buffer[:80].decode("ascii", "replace")])
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("ascii", "replace").rstrip("\r")

    def _garbage(self, command: str, lines: list[str]) -> HamlibError:
        self.close()   # the stream position is unknown now
        shown = "\n".join(lines[-5:])
        return HamlibError(
            f"{self.address} answered {command!r} with something that is not Hamlib's protocol:\n{shown}\n"
            f"Check that the port belongs to {self.daemon} and not to another service.",
            address=self.address)

    def _set(self, command: str) -> int:
        code = self._command(command).code
        if code < 0:
            self.refused += 1
        return code

    def _get(self, command: str, keys: tuple[str, ...]) -> list[float]:
        reply = self._command(command)
        if reply.code != 0:
            raise HamlibError(f"{self.daemon} at {self.address} could not answer {command!r}: "
                              f"{describe_code(reply.code)}; check the device behind the daemon",
                              address=self.address)
        fields = reply.fields()
        try:
            return [float(fields[k]) for k in keys]
        except (KeyError, ValueError):
            raise self._garbage(command, list(reply.lines)) from None


class Rotator(HamlibClient):
    """Drive an az/el rotator through ``rotctld`` (default port 4533).

    Azimuth and elevation are in the rotator's own command frame (see :class:`RotatorLimits`).
    Refusals (a position out of range) are returned as negative codes, not raised: the
    tracking loop counts them and goes on.
    """

    daemon = "rotctld"
    daemon_help = "e.g. rotctld -m MODEL -r DEVICE -t 4533"

    def limits(self) -> RotatorLimits:
        """Return the rotator's travel from ``\\dump_state``."""
        try:
            min_az, max_az, min_el, max_el = self._get(
                "\\dump_state", ("minimum azimuth", "maximum azimuth", "minimum elevation", "maximum elevation"))
        except HamlibError:
            # Older daemons answer in the non-extended key=value style only.
            min_az, max_az, min_el, max_el = self._get("\\dump_state", ("min_az", "max_az", "min_el", "max_el"))
        return RotatorLimits(min_az, max_az, min_el, max_el)

    def set_position(self, az_deg: float, el_deg: float) -> int:
        """Command a position; return the reply code (0 accepted, negative refused)."""
        return self._set(f"P {az_deg:.2f} {el_deg:.2f}")

    def get_position(self) -> tuple[float, float]:
        """Return the rotator's current ``(az_deg, el_deg)``."""
        az_deg, el_deg = self._get("p", ("azimuth", "elevation"))
        return az_deg, el_deg

    def park(self) -> int:
        """Send the rotator to its park position; return the reply code."""
        return self._set("K")

    def stop(self) -> int:
        """Stop any motion; return the reply code."""
        return self._set("S")


class Rig(HamlibClient):
    """Tune a radio through ``rigctld`` (default port 4532).

    Frequencies go out rounded to 1 Hz, the resolution of Hamlib's protocol as the daemon
    prints it.  For full-duplex satellite work turn split on once with :meth:`set_split`
    and send the Doppler-corrected uplink with :meth:`set_uplink_frequency`.
    """

    daemon = "rigctld"
    daemon_help = "e.g. rigctld -m MODEL -r DEVICE -t 4532"

    def set_frequency(self, hz: float) -> int:
        """Tune the current VFO (the receiver); return the reply code."""
        return self._set(f"F {round(hz)}")

    def get_frequency(self) -> float:
        """Return the current VFO's frequency in Hz."""
        return self._get("f", ("frequency",))[0]

    def set_split(self, enabled: bool = True, *, tx_vfo: str = "VFOB") -> int:
        """Turn split operation on (transmit on ``tx_vfo``) or off; return the reply code."""
        return self._set(f"S {int(enabled)} {tx_vfo}")

    def set_uplink_frequency(self, hz: float) -> int:
        """Set the transmit (split) frequency, ``set_split_freq``; return the reply code."""
        return self._set(f"I {round(hz)}")

    def get_uplink_frequency(self) -> float:
        """Return the transmit (split) frequency in Hz."""
        return self._get("i", ("tx frequency",))[0]
