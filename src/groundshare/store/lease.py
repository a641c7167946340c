"""One agent per station: a lease that the station's agent takes when it starts and renews while it runs.

Two agents started for the same station would both point its antennas and both report
its contacts.  So an agent first calls ``acquire_lease(station_id, agent_id)``:

- no lease, or an expired one (``expires_at`` passed): the caller gets it, for ``ttl_s``;
- a live lease of the same ``agent_id``: renewed, ``expires_at`` moved to now + ``ttl_s``;
- a live lease of another agent: ``LeaseHeldError`` (a 409) naming that agent and until when.

``release_lease`` gives it back when the agent stops (a no-op when there is none; a
``LeaseHeldError`` when another agent holds it).  An agent that dies without releasing
blocks other agents from its station for at most ``ttl_s``, but not itself: the station
agent's id names its machine and journal, not its process
(``agent.runner.default_agent_id``), so the same agent restarted (after a crash or a
``kill -9``) holds the same id and renews its lease at once, while an agent of another
machine or journal waits for the expiry.  (One process at a time holds a journal: its
file lock.)

Both functions lock the station's row first (``SELECT ... FOR UPDATE`` on PostgreSQL; on
SQLite the unit of work's ``BEGIN IMMEDIATE`` already serialises writers), as
``store.booking`` locks an antenna and ``store.outcomes`` a contact, so that of two
agents acquiring at once, the second sees the first's lease.  The lock is on the station,
not the lease row, because there is no lease row to lock before the first acquisition.
Nothing here commits: the caller's unit of work does.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from groundshare.errors import ConflictError, InvalidInputError
from groundshare.store.booking import locked_station
from groundshare.store.models import AgentLease, Station
from groundshare.timeutil import format_utc, require_utc, utc_now

#: How long a lease lasts when not said (seconds); the agent renews it well before that.
DEFAULT_LEASE_TTL_S = 60.0
#: Shortest and longest lease (seconds): short enough that a crashed agent soon frees its station.
MIN_LEASE_TTL_S = 5.0
MAX_LEASE_TTL_S = 600.0
#: Longest ``agent_id`` (characters), e.g. ``host/journal-3f2a9c0d1e4b5a6f``.
MAX_AGENT_ID_LENGTH = 200


class LeaseHeldError(ConflictError):
    """Another agent holds the station's live lease; ``agent_id`` and ``expires_at`` say which and until when."""

    def __init__(self, message: str, *, station_id: int, agent_id: str, expires_at: datetime) -> None:
        super().__init__(message)
        self.station_id = station_id
        self.agent_id = agent_id
        self.expires_at = expires_at


def acquire_lease(session: Session, station_id: int, agent_id: str, *, ttl_s: float = DEFAULT_LEASE_TTL_S,
                  now: datetime | None = None) -> AgentLease:
    """Return the station's lease, now held by ``agent_id`` until ``now + ttl_s`` (``now`` default: now, UTC).

    Takes a free or expired lease (``acquired_at`` = now) or renews the caller's own
    (``acquired_at`` kept, ``renewed_at`` = now).  Raises ``InvalidInputError`` naming a
    bad ``agent_id`` or ``ttl_s``, ``NotFoundError`` for an unknown station and
    ``LeaseHeldError`` when another agent's lease is live.
    """
    agent_id = _agent_id(agent_id)
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int | float) or not math.isfinite(ttl_s) \
            or not MIN_LEASE_TTL_S <= ttl_s <= MAX_LEASE_TTL_S:
        raise InvalidInputError(f"ttl_s must be {MIN_LEASE_TTL_S:g} to {MAX_LEASE_TTL_S:g} seconds, got {ttl_s!r}",
                                loc=("ttl_s",))
    now = _to_ms(require_utc(now, "now") if now is not None else utc_now())
    station = locked_station(session, station_id, needed_by="agent leases need")
    lease = _lease(session, station_id)
    expires_at = _to_ms(now + timedelta(seconds=ttl_s))
    if lease is None:
        lease = AgentLease(station_id=station_id, agent_id=agent_id, acquired_at=now, renewed_at=now,
                           expires_at=expires_at)
        session.add(lease)
    elif lease.expires_at <= now:  # expired: whoever held it, the caller starts afresh
        lease.agent_id, lease.acquired_at, lease.renewed_at, lease.expires_at = agent_id, now, now, expires_at
    elif lease.agent_id == agent_id:
        lease.renewed_at, lease.expires_at = now, expires_at
    else:
        raise _held(station, lease)
    session.flush()
    return lease


def release_lease(session: Session, station_id: int, agent_id: str, *, now: datetime | None = None) -> bool:
    """Release the station's lease held by ``agent_id``; return whether there was one to release.

    No lease, or an expired one of another agent, is not an error (a retried release
    changes nothing).  Raises ``NotFoundError`` for an unknown station and
    ``LeaseHeldError`` when another agent's lease is live.
    """
    agent_id = _agent_id(agent_id)
    now = require_utc(now, "now") if now is not None else utc_now()
    station = locked_station(session, station_id, needed_by="agent leases need")
    lease = _lease(session, station_id)
    if lease is None:
        return False
    if lease.agent_id != agent_id:
        if lease.expires_at <= now:
            return False
        raise _held(station, lease)
    session.delete(lease)
    session.flush()
    return True


def _to_ms(value: datetime) -> datetime:
    """Return ``value`` cut to whole milliseconds, as ``format_utc`` shows it, so messages and rows agree."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _agent_id(agent_id: str) -> str:
    if not isinstance(agent_id, str) or not 1 <= len(agent_id) <= MAX_AGENT_ID_LENGTH:
        raise InvalidInputError(f"agent_id must be 1 to {MAX_AGENT_ID_LENGTH} characters, got {agent_id!r}",
                                loc=("agent_id",))
    return agent_id


def _lease(session: Session, station_id: int) -> AgentLease | None:
    """Return the station's lease as stored now (the station's row is locked), or None."""
    return session.scalars(
        select(AgentLease).where(AgentLease.station_id == station_id).execution_options(populate_existing=True)
    ).one_or_none()


def _held(station: Station, lease: AgentLease) -> LeaseHeldError:
    return LeaseHeldError(
        f"station {station.name!r} is run by agent {lease.agent_id!r} until {format_utc(lease.expires_at)}; stop "
        "that agent, or wait for its lease to expire", station_id=station.id, agent_id=lease.agent_id,
        expires_at=lease.expires_at)
