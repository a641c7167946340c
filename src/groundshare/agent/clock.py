"""Clocks the agent runs by: the network's clock, the wall clock, or a simulated one that runs faster.

The agent never calls ``datetime.now`` or ``time.sleep`` itself: it asks its clock. A
``WallClock`` is the station's system clock (UTC). A ``NetworkClock`` is the network's one
clock as the station keeps it: the system clock plus the offset the server's ``GET /clock``
announces (0 s on a live network; the demo network runs shifted to its element sets'
epoch), so a station executes its contacts at the network's time, not the wall clock's.
A ``SimulatedClock`` starts at a given UTC time and runs ``speed`` times faster than
real time, so that a 10-minute pass runs in 10 s at ``speed=60`` against real rotator and
radio daemons (tests, rehearsals, ``groundshare track --speed``).

>>> from datetime import UTC, datetime
>>> clock = NetworkClock(offset_s=-3600.0, system_now=lambda: datetime(2026, 1, 1, 12, tzinfo=UTC))
>>> clock.now().isoformat()
'2026-01-01T11:00:00+00:00'
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from groundshare.errors import InvalidInputError
from groundshare.timeutil import require_utc


class Clock(Protocol):
    """What the agent needs of a clock: the time now (UTC) and a way to wait for a time."""

    def now(self) -> datetime: ...

    def sleep_until(self, when: datetime) -> None: ...


class WallClock:
    """The system clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, when: datetime) -> None:
        wait_s = (when - self.now()).total_seconds()
        if wait_s > 0:
            time.sleep(wait_s)


class NetworkClock:
    """The network's clock: the system clock (UTC) plus ``offset_s``, the network's offset from the wall clock.

    ``adopt`` sets the offset the server announces (``GET /clock``'s ``offset_s``); the
    station's own clock error is not part of it (the agent measures that separately, and
    NTP is what corrects it).
    """

    def __init__(self, offset_s: float = 0.0, *, system_now: Callable[[], datetime] | None = None) -> None:
        self.offset_s = 0.0
        self.system_now = system_now or (lambda: datetime.now(UTC))
        self.adopt(offset_s)

    def adopt(self, offset_s: float) -> None:
        """Run ``offset_s`` seconds ahead of the system clock from now on (negative: behind)."""
        if isinstance(offset_s, bool) or not isinstance(offset_s, int | float) or not math.isfinite(offset_s):
            raise InvalidInputError(f"offset_s must be a finite number of seconds, got {offset_s!r}",
                                    loc=("offset_s",))
        self.offset_s = float(offset_s)

    def now(self) -> datetime:
        return self.system_now() + timedelta(seconds=self.offset_s)

    def sleep_until(self, when: datetime) -> None:
        wait_s = (when - self.now()).total_seconds()
        if wait_s > 0:
            time.sleep(wait_s)


class SimulatedClock:
    """A clock that starts at ``start`` (UTC) and runs ``speed`` times faster than real time."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if not speed > 0:
            raise InvalidInputError(f"speed must be positive, got {speed!r}", loc=("speed",))
        self.start = require_utc(start, "start")
        self.speed = float(speed)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    def sleep_until(self, when: datetime) -> None:
        wait_s = (when - self.now()).total_seconds() / self.speed
        if wait_s > 0:
            time.sleep(wait_s)
