"""One agent per station (``store.lease``) on SQLite and PostgreSQL: the rules, and agents racing to start."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from groundshare.errors import InvalidInputError, NotFoundError
from groundshare.store import (
    AgentLease,
    LeaseHeldError,
    acquire_lease,
    release_lease,
    run_unit_of_work,
    session_scope,
)

T0 = datetime(2025, 11, 7, 10, 0, tzinfo=UTC)
THREADS = 16
ROUNDS = 5


def acquire(factory, station_id, agent_id, **kwargs):
    with session_scope(factory) as session:
        lease = acquire_lease(session, station_id, agent_id, **kwargs)
        return lease.agent_id, lease.acquired_at, lease.renewed_at, lease.expires_at


def release(factory, station_id, agent_id, **kwargs):
    with session_scope(factory) as session:
        return release_lease(session, station_id, agent_id, **kwargs)


def leases(factory):
    with factory() as session:
        return [(lease.station_id, lease.agent_id) for lease in session.scalars(select(AgentLease))]


def test_acquire_renew_refuse_expire(factory, network):
    station = network.station_id
    assert acquire(factory, station, "a", ttl_s=30, now=T0) == ("a", T0, T0, T0 + timedelta(seconds=30))
    later = T0 + timedelta(seconds=20)
    assert acquire(factory, station, "a", ttl_s=30, now=later) == ("a", T0, later, later + timedelta(seconds=30))
    with pytest.raises(LeaseHeldError, match=r"^station 'daejeon-1' is run by agent 'a' until "
                                             r"2025-11-07T10:00:50.000Z; stop that agent, or wait") as refused:
        acquire(factory, station, "b", now=T0 + timedelta(seconds=49))
    assert (refused.value.agent_id, refused.value.expires_at) == ("a", T0 + timedelta(seconds=50))
    expired = T0 + timedelta(seconds=50)  # expires_at itself is past
    assert acquire(factory, station, "b", ttl_s=5, now=expired)[:3] == ("b", expired, expired)
    assert leases(factory) == [(station, "b")]


def test_release(factory, network):
    station = network.station_id
    assert release(factory, station, "a") is False
    acquire(factory, station, "a")
    with pytest.raises(LeaseHeldError):
        release(factory, station, "b")
    assert release(factory, station, "a") is True
    assert release(factory, station, "a") is False
    assert leases(factory) == []
    acquire(factory, station, "a", ttl_s=5, now=T0)
    assert release(factory, station, "b", now=T0 + timedelta(seconds=5)) is False  # expired: not held
    assert leases(factory) == [(station, "a")]


@pytest.mark.parametrize(("kwargs", "loc"), [
    ({"agent_id": ""}, ("agent_id",)), ({"agent_id": "x" * 201}, ("agent_id",)),
    ({"ttl_s": 4.0}, ("ttl_s",)), ({"ttl_s": 601.0}, ("ttl_s",)), ({"ttl_s": float("nan")}, ("ttl_s",)),
    ({"ttl_s": True}, ("ttl_s",)),
])
def test_bad_arguments_name_the_field(factory, network, kwargs, loc):
    arguments = {"agent_id": "a", **kwargs}
    with pytest.raises(InvalidInputError) as error, session_scope(factory) as session:
        acquire_lease(session, network.station_id, **arguments)
    assert error.value.loc == loc


def test_unknown_station(factory, network):
    with pytest.raises(NotFoundError, match="station 999999 does not exist"):
        acquire(factory, 999_999, "a")
    with pytest.raises(NotFoundError):
        release(factory, 999_999, "a")


def _race(factory, station_id: int, round_number: int) -> tuple[list[str], list[str], list[BaseException]]:
    """Return the agents that won, those refused, and anything else raised, of THREADS acquiring at once."""
    barrier = threading.Barrier(THREADS)
    won: list[str] = []
    refused: list[str] = []
    unexpected: list[BaseException] = []

    def agent(index: int) -> None:
        agent_id = f"host-{index}/{round_number}"
        barrier.wait()
        try:
            run_unit_of_work(factory, lambda session: acquire_lease(session, station_id, agent_id))
            won.append(agent_id)
        except LeaseHeldError:
            refused.append(agent_id)
        except BaseException as exc:  # what the test looks for
            unexpected.append(exc)

    pool = [threading.Thread(target=agent, args=(i,), name=f"agent-{i}") for i in range(THREADS)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return won, refused, unexpected


def test_concurrent_agents_one_wins(engine, factory, network):
    """THREADS agents for one station acquire at once, ROUNDS times: exactly one wins each round."""
    for round_number in range(ROUNDS):
        won, refused, unexpected = _race(factory, network.station_id, round_number)
        assert unexpected == []
        assert len(won) == 1 and len(refused) == THREADS - 1, (won, refused)
        assert leases(factory) == [(network.station_id, won[0])]
        assert release(factory, network.station_id, won[0]) is True
    engine.pool.dispose()  # close the race's connections
