"""Clocks for the agent's logic that jump over every wait instead of sleeping through it.

The agent asks its clock for the time and to wait (``agent/clock.py``); these answer at
once.  ``JumpingClock`` starts at a given UTC time and moves only when the agent waits,
straight to the time waited for, so a pass runs as fast as the rotator and the API
answer.  ``JumpingNetworkClock`` is a ``NetworkClock`` (the network's offset adopted from
the server as usual) whose system clock is the wall clock plus every wait skipped so far.
The agent's own check of the system clock against the server's reads the real wall clock
(``StationAgent.system_now``), so it is unaffected.  Where real time is the point (a
daemon's speed), tests keep ``SimulatedClock``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from groundshare.agent.clock import NetworkClock
from groundshare.timeutil import require_utc


class JumpingClock:
    """A clock at ``start`` (UTC) that moves only when waited on, and then at once to the time waited for."""

    def __init__(self, start: datetime) -> None:
        self.current = require_utc(start, "start")

    def now(self) -> datetime:
        return self.current

    def sleep_until(self, when: datetime) -> None:
        self.current = max(self.current, when)


class JumpingNetworkClock(NetworkClock):
    """The network's clock, whose waits are skipped: it runs ahead of the wall clock by what it skipped."""

    def __init__(self, offset_s: float = 0.0) -> None:
        self.skipped = timedelta(0)
        super().__init__(offset_s, system_now=lambda: datetime.now(UTC) + self.skipped)

    def sleep_until(self, when: datetime) -> None:
        wait = when - self.now()
        if wait > timedelta(0):
            self.skipped += wait
