"""Clocks the agent runs by: the wall clock, or a simulated one that runs faster.

The agent never calls ``datetime.now`` or ``time.sleep`` itself: it asks its clock. A
``WallClock`` is the station's system clock (UTC). A ``SimulatedClock`` starts at a given
UTC time and runs ``speed`` times faster than real time, so that a 10-minute pass runs in
10 s at ``speed=60`` against real rotator and radio daemons (tests, rehearsals,
``groundshare track --speed``).
"""

from __future__ import annotations

import time
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
