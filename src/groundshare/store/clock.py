"""The network's one clock: the wall clock, or the wall clock shifted to an anchor (the demo's epoch).

Every partner, view, default window, booking rule ("not in the past") and station agent
reads the same instant from here.  With no ``NetworkClock`` row the network runs at the
wall clock (mode ``"live"``).  ``set_network_clock`` anchors it: from then on the
network's time is ``network_at + (wall clock - wall_at)``, running at the wall clock's
rate (mode ``"shifted"``).  The demo network anchors it at its element sets' epoch, so
its passes happen "now" although the shipped snapshot is old; ``clear_network_clock``
returns to the wall clock.

>>> from datetime import UTC, datetime
>>> clock = NetworkTime(network_at=datetime(2025, 11, 7, tzinfo=UTC), wall_at=datetime(2026, 12, 5, tzinfo=UTC))
>>> clock.now(datetime(2026, 12, 5, 0, 10, tzinfo=UTC)).isoformat()
'2025-11-07T00:10:00+00:00'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from groundshare.store.models import NetworkClock
from groundshare.timeutil import require_utc, utc_now


@dataclass(frozen=True)
class NetworkTime:
    """How the network's clock relates to the wall clock (``network_at`` at wall time ``wall_at``)."""

    network_at: datetime | None = None
    wall_at: datetime | None = None
    reason: str = ""

    @property
    def mode(self) -> str:
        """``"live"`` (the wall clock) or ``"shifted"`` (the wall clock moved to an anchor)."""
        return "live" if self.network_at is None else "shifted"

    @property
    def offset_s(self) -> float:
        """Seconds the network's clock is ahead of the wall clock (negative: behind); 0 when live."""
        if self.network_at is None or self.wall_at is None:
            return 0.0
        return (self.network_at - self.wall_at).total_seconds()

    def now(self, wall_clock: datetime | None = None) -> datetime:
        """Return the network's time at ``wall_clock`` (default: now)."""
        wall_clock = require_utc(wall_clock, "wall_clock") if wall_clock is not None else utc_now()
        return wall_clock + timedelta(seconds=self.offset_s)


def network_time(session: Session) -> NetworkTime:
    """Return the network's clock as stored (the wall clock when no anchor is set)."""
    row = session.get(NetworkClock, 1)
    if row is None:
        return NetworkTime()
    return NetworkTime(network_at=row.network_at, wall_at=row.wall_at, reason=row.reason)


def network_now(session: Session) -> datetime:
    """Return the network's current time."""
    return network_time(session).now()


def set_network_clock(session: Session, network_at: datetime, *, reason: str,
                      wall_at: datetime | None = None) -> NetworkTime:
    """Anchor the network's clock: at wall time ``wall_at`` (default: now) it reads ``network_at``.  Caller commits."""
    network_at = require_utc(network_at, "network_at")
    wall_at = require_utc(wall_at, "wall_at") if wall_at is not None else utc_now()
    row = session.get(NetworkClock, 1)
    if row is None:
        row = NetworkClock(id=1)
        session.add(row)
    row.network_at, row.wall_at, row.reason = network_at, wall_at, reason
    session.flush()
    return NetworkTime(network_at=network_at, wall_at=wall_at, reason=reason)


def clear_network_clock(session: Session) -> None:
    """Run the network at the wall clock again.  The caller commits."""
    row = session.get(NetworkClock, 1)
    if row is not None:
        session.delete(row)
        session.flush()
