"""The network's worker: element-set syncs on their schedules, re-planning, webhook deliveries.

One worker runs per database, beside ``groundshare serve``.  It holds the
``WorkerLease`` (one row, id 1) as a station agent holds its station's lease
(``store.lease``): taken when free or expired, renewed every cycle, refused while another
worker's lease is live (``WorkerLeaseHeldError``, a ``ConflictError`` naming the holder and
until when), released when it stops.

Each cycle (``Worker.run_once``) runs what is due:

- ``store.sync.sync_elements`` per source kind on its schedule: ``celestrak`` and
  ``supgp`` every 2 hours (CelesTrak's own rule, which the sync enforces besides), and
  ``spacetrack`` hourly at a minute drawn once per worker, away from the hour and the half
  hour (Space-Track asks for that);
- after each sync, ``store.replan.replan_satellites`` of the satellites whose orbit in
  force changed, on the network's clock, in its own unit of work (the solve holds no lock);
- ``store.webhooks.deliver_due`` every ``WEBHOOK_EVERY_S`` seconds.

A job that fails is logged and retried at its next turn; the others go on.  The clock is
injected (``clock``: wall time for the schedules and the lease; re-planning uses the
network's clock, ``store.clock.network_now``), and so are the sync, the delivery and the
re-planning, so the tests run a week of cycles in milliseconds.  ``run_once(all_due=True)``
(``groundshare worker --once``) runs every job once now.
"""

from __future__ import annotations

import math
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from groundshare.errors import ConflictError, InvalidInputError
from groundshare.store.db import session_scope
from groundshare.store.models import WorkerLease
from groundshare.timeutil import format_utc, require_utc, utc_now

#: The lease's length, seconds: a worker that dies blocks another for at most this long.
DEFAULT_LEASE_TTL_S = 120.0
#: How often the worker wakes, seconds (it renews its lease and runs what is due).
TICK_S = 5.0
#: How often due webhook deliveries are sent, seconds.
WEBHOOK_EVERY_S = 5.0
#: How often each source kind is synced, seconds.
SYNC_EVERY_S: dict[str, float] = {"celestrak": 7_200.0, "supgp": 7_200.0, "spacetrack": 3_600.0}
#: Space-Track's GP query runs at a minute of the hour drawn from these (away from :00 and :30).
SPACETRACK_MINUTES = (*range(5, 26), *range(35, 56))
#: The longest worker id (as the lease's column).
MAX_WORKER_ID_LENGTH = 200


class WorkerLeaseHeldError(ConflictError):
    """Another worker holds the database's live lease; ``worker_id`` and ``expires_at`` say which and until when."""

    def __init__(self, message: str, *, worker_id: str, expires_at: datetime) -> None:
        super().__init__(message)
        self.worker_id = worker_id
        self.expires_at = expires_at


def default_worker_id() -> str:
    """Return this process's worker id: ``host/pid``."""
    return f"{socket.gethostname()}/{os.getpid()}"


def acquire_worker_lease(session: Session, worker_id: str, *, ttl_s: float = DEFAULT_LEASE_TTL_S,
                         now: datetime | None = None) -> WorkerLease:
    """Return the database's worker lease, now held by ``worker_id`` until ``now + ttl_s``.

    Takes a free or expired lease, or renews the caller's own; raises
    ``WorkerLeaseHeldError`` while another worker's lease is live.  The caller commits.
    """
    worker_id = _worker_id(worker_id)
    if not (isinstance(ttl_s, int | float) and math.isfinite(ttl_s) and 5.0 <= ttl_s <= 3_600.0):
        raise InvalidInputError(f"ttl_s must be 5 to 3600 seconds, got {ttl_s!r}", loc=("ttl_s",))
    now = _to_ms(require_utc(now, "now") if now is not None else utc_now())
    expires_at = _to_ms(now + timedelta(seconds=ttl_s))
    lease = _lease(session)
    if lease is None:
        lease = WorkerLease(id=1, worker_id=worker_id, acquired_at=now, renewed_at=now, expires_at=expires_at)
        savepoint = session.begin_nested()
        try:
            session.add(lease)
            session.flush()
        except IntegrityError:  # another worker inserted it meanwhile (PostgreSQL): theirs is live
            savepoint.rollback()
            lease = _lease(session)
            if lease is None:
                raise
            raise _held(lease) from None
        savepoint.commit()
    elif lease.expires_at <= now:
        lease.worker_id, lease.acquired_at, lease.renewed_at, lease.expires_at = worker_id, now, now, expires_at
    elif lease.worker_id == worker_id:
        lease.renewed_at, lease.expires_at = now, expires_at
    else:
        raise _held(lease)
    session.flush()
    return lease


def release_worker_lease(session: Session, worker_id: str) -> bool:
    """Release the lease held by ``worker_id``; return whether it held one.  The caller commits."""
    lease = _lease(session)
    if lease is None or lease.worker_id != _worker_id(worker_id):
        return False
    session.delete(lease)
    session.flush()
    return True


def _lease(session: Session) -> WorkerLease | None:
    return session.scalars(select(WorkerLease).where(WorkerLease.id == 1).with_for_update()
                           .execution_options(populate_existing=True)).one_or_none()


def _held(lease: WorkerLease) -> WorkerLeaseHeldError:
    return WorkerLeaseHeldError(
        f"worker {lease.worker_id!r} runs this database's syncs and re-planning until "
        f"{format_utc(lease.expires_at)}; stop it, or wait for its lease to expire (one worker per database)",
        worker_id=lease.worker_id, expires_at=lease.expires_at)


def _worker_id(worker_id: str) -> str:
    if not isinstance(worker_id, str) or not 1 <= len(worker_id) <= MAX_WORKER_ID_LENGTH:
        raise InvalidInputError(f"worker_id must be 1 to {MAX_WORKER_ID_LENGTH} characters, got {worker_id!r}",
                                loc=("worker_id",))
    return worker_id


def _to_ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


@dataclass
class CycleReport:
    """What one cycle ran: the jobs (``sync:celestrak``, ``replan``, ``webhooks``, ...) and their one-line results."""

    at: datetime
    ran: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    replanned: list[Any] = field(default_factory=list)


SyncFn = Callable[..., Any]
ReplanFn = Callable[..., Any]
DeliverFn = Callable[..., Any]


class Worker:
    """The worker loop over one database (module docstring).

    ``sync``, ``replan`` and ``deliver`` default to ``store.sync.sync_elements``,
    ``store.replan.replan_satellites`` and ``store.webhooks.deliver_due``; ``sync_options``
    go to every sync (``base_urls``, ``credentials``, ``http``); ``replan_options`` to every
    re-planning (``frozen_s``, ``threshold_s``, ``time_limit_s``, ``workers``); ``post`` to
    the deliveries.  ``kinds``: the source kinds synced (default all three).
    """

    def __init__(self, factory: sessionmaker[Session], *, worker_id: str | None = None,
                 clock: Callable[[], datetime] = utc_now, kinds: tuple[str, ...] | None = None,
                 sync: SyncFn | None = None, replan: ReplanFn | None = None, deliver: DeliverFn | None = None,
                 sync_options: dict[str, Any] | None = None, replan_options: dict[str, Any] | None = None,
                 post: Callable[[str, bytes, dict[str, str]], int] | None = None,
                 lease_ttl_s: float = DEFAULT_LEASE_TTL_S, rng: random.Random | None = None,
                 log: Callable[[str], object] = print) -> None:
        self.factory = factory
        self.worker_id = _worker_id(worker_id or default_worker_id())
        self.clock = clock
        self.kinds = tuple(kinds or SYNC_EVERY_S)
        unknown = [k for k in self.kinds if k not in SYNC_EVERY_S]
        if unknown:
            raise InvalidInputError(f"unknown source kind(s) {', '.join(unknown)}; expected "
                                    f"{', '.join(SYNC_EVERY_S)}", loc=("kinds",))
        self._sync, self._replan, self._deliver = sync, replan, deliver
        self.sync_options = dict(sync_options or {})
        self.replan_options = dict(replan_options or {})
        self.post = post
        self.lease_ttl_s = lease_ttl_s
        self.log = log
        self.spacetrack_minute = (rng or random.Random()).choice(SPACETRACK_MINUTES)
        self.next_due: dict[str, datetime] = {}

    # -- scheduling --------------------------------------------------------------------------------------

    def first_due(self, job: str, now: datetime) -> datetime:
        """Return when ``job`` first runs after the worker starts at ``now``."""
        if job == "sync:spacetrack":
            return self._next_spacetrack(now - timedelta(seconds=1))
        return now

    def _next_spacetrack(self, after: datetime) -> datetime:
        """Return the first time after ``after`` at the worker's Space-Track minute."""
        at = after.replace(minute=self.spacetrack_minute, second=0, microsecond=0)
        while at <= after:
            at += timedelta(hours=1)
        return at

    def _after(self, job: str, now: datetime) -> datetime:
        if job == "webhooks":
            return now + timedelta(seconds=WEBHOOK_EVERY_S)
        if job == "sync:spacetrack":
            return self._next_spacetrack(now)
        return now + timedelta(seconds=SYNC_EVERY_S[job.split(":", 1)[1]])

    @property
    def jobs(self) -> list[str]:
        return [*(f"sync:{k}" for k in self.kinds), "webhooks"]

    # -- one cycle ---------------------------------------------------------------------------------------

    def run_once(self, *, all_due: bool = False) -> CycleReport:
        """Renew the lease, then run every job that is due (every job with ``all_due``); return what ran."""
        now = require_utc(self.clock(), "clock()")
        with session_scope(self.factory) as session:
            acquire_worker_lease(session, self.worker_id, ttl_s=self.lease_ttl_s, now=now)
        report = CycleReport(at=now)
        for job in self.jobs:
            due = self.next_due.setdefault(job, self.first_due(job, now))
            if not all_due and due > now:
                continue
            self.next_due[job] = self._after(job, now)
            report.ran.append(job)
            try:
                if job == "webhooks":
                    self._run_webhooks(report, now)
                else:
                    self._run_sync(job.split(":", 1)[1], report, now)
            except Exception as exc:  # one job's failure never stops the others; it runs again at its turn
                line = f"{job} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                report.errors.append(line)
                self.log(line)
        return report

    def _run_sync(self, kind: str, report: CycleReport, now: datetime) -> None:
        sync = self._sync
        if sync is None:
            from groundshare.store.sync import sync_elements as sync
        result = sync(self.factory, kinds=[kind], now=now, log=self.log, **self.sync_options)
        changed = list(getattr(result, "changed_satellite_ids", []) or [])
        report.lines.append(f"sync {kind}: {len(changed)} satellites' orbit in force changed")
        if changed:
            self.replan(changed, report)

    def replan(self, satellite_ids: list[int], report: CycleReport | None = None) -> Any:
        """Re-plan the satellites' booked contacts on the network's clock, in a unit of work of its own."""
        replan = self._replan
        if replan is None:
            from groundshare.store.replan import replan_satellites as replan
        from groundshare.store.clock import network_now

        with session_scope(self.factory) as session:
            now = network_now(session)
            result = replan(session, satellite_ids, now=now, release_during_solve=True, **self.replan_options)
        counts = getattr(result, "to_dict", lambda: {})()
        line = (f"replan {len(satellite_ids)} satellites: " + ", ".join(
            f"{counts[k]} {k.replace('_', ' ')}" for k in ("planned", "drifted", "kept", "updated_in_place", "moved",
                                                           "dropped", "cancelled") if k in counts))
        self.log(line)
        if report is not None:
            report.ran.append("replan")
            report.lines.append(line)
            report.replanned.append(result)
        return result

    def _run_webhooks(self, report: CycleReport, now: datetime) -> None:
        deliver = self._deliver
        if deliver is None:
            from groundshare.store.webhooks import deliver_due as deliver
        options = {"post": self.post} if self.post is not None else {}
        result = deliver(self.factory, now=now, **options)
        attempted = getattr(result, "attempted", 0)
        if attempted:
            line = (f"webhooks: {attempted} attempted, {getattr(result, 'delivered', 0)} delivered, "
                    f"{getattr(result, 'failed', 0)} failed")
            report.lines.append(line)
            self.log(line)

    # -- the loop ----------------------------------------------------------------------------------------

    def run(self, *, stop: Callable[[], bool] = lambda: False, sleep: Callable[[float], None] = time.sleep,
            tick_s: float = TICK_S) -> int:
        """Run cycles every ``tick_s`` until ``stop()``; release the lease; return the cycles run.

        A lease taken by another worker (after this one's expired) ends the loop with
        ``WorkerLeaseHeldError``.
        """
        cycles = 0
        try:
            while not stop():
                self.run_once()
                cycles += 1
                if stop():
                    break
                sleep(tick_s)
        finally:
            self.release()
        return cycles

    def release(self) -> bool:
        """Give the lease back (a no-op when another worker holds it)."""
        with session_scope(self.factory) as session:
            return release_worker_lease(session, self.worker_id)
