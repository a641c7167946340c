"""When each element-set query may be asked again: the sites' politeness rules, kept in the database.

Every request a sync makes is a ``SourceFetch`` row (kind, canonical query, when, the
HTTP status, the outcome, a message) with ``next_allowed_at``: when the same query may
be asked again.  Because the rows are in the database, separate ``groundshare elements
sync`` runs and the worker obey the rules together:

- CelesTrak GP and SupGP: the same query at most once per 2 hours
  (``sources.celestrak.QUERY_INTERVAL_S``), whatever the answer;
- Space-Track: GP queries at most hourly (``sources.spacetrack.QUERY_INTERVAL_S``): a
  sync that asked anything writes a site row (query ``*``, outcome ``cycle``) that holds
  every Space-Track query until the hour has passed;
- a catalog-number query answered by a wider one of the same sync (a group holding the
  object) is kept too (outcome ``covered``), so it waits as long as the wider one does;
- an answer that stops a site (a non-200 other than CelesTrak's "not updated", no
  answer, Space-Track refusing the login) writes a site row (outcome ``stopped``) that
  holds every query to that site (CelesTrak GP and SupGP are one site) until the next
  cycle.

``next_allowed_at`` is floored to the minute, so a cycle run by a scheduler every 2 hours
(or hourly) is never held back by the seconds its previous requests took.  The clock is
the wall clock: the sites count real time, whatever the network's clock says.  Nothing
here commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from groundshare.sources import FetchOutcome
from groundshare.sources import celestrak as celestrak_site
from groundshare.sources import spacetrack as spacetrack_site
from groundshare.store.models import SourceFetch, SourceKind
from groundshare.timeutil import require_utc
from groundshare.units import DAY_S

#: The query of a row that holds a whole site.
SITE_QUERY = "*"
#: Outcomes of site rows: a site stopped until the next cycle, a Space-Track cycle done.
SITE_STOPPED, SITE_CYCLE = "stopped", "cycle"
#: Outcome of a catalog-number query answered by a wider request of the same sync (no request made).
COVERED = "covered"
#: Kinds that share a site (a site row of one holds the others).
SITE_KINDS: dict[SourceKind, tuple[SourceKind, ...]] = {
    SourceKind.CELESTRAK: (SourceKind.CELESTRAK, SourceKind.SUPGP),
    SourceKind.SUPGP: (SourceKind.CELESTRAK, SourceKind.SUPGP),
    SourceKind.SPACETRACK: (SourceKind.SPACETRACK,),
}
#: Seconds between two asks of the same query, per kind.
QUERY_INTERVAL_S: dict[SourceKind, float] = {
    SourceKind.CELESTRAK: celestrak_site.QUERY_INTERVAL_S,
    SourceKind.SUPGP: celestrak_site.QUERY_INTERVAL_S,
    SourceKind.SPACETRACK: spacetrack_site.QUERY_INTERVAL_S,
}
#: Rows older than this are removed by ``prune_fetches`` (seconds): well past every interval, kept for a look back.
KEEP_FETCHES_S = DAY_S
#: ``SourceFetch.query`` holds at most this many characters; longer queries are kept as a prefix and a digest.
MAX_QUERY_CHARS = 500


def stored_query(query: str) -> str:
    """Return ``query`` as kept in ``SourceFetch.query``: itself, or a prefix and its SHA-256 when too long.

    >>> stored_query("CATNR=25544&FORMAT=json")
    'CATNR=25544&FORMAT=json'
    >>> len(stored_query("class/gp/norad_cat_id/" + ",".join(map(str, range(10000, 10500)))))
    500
    """
    if len(query) <= MAX_QUERY_CHARS:
        return query
    digest = hashlib.sha256(query.encode()).hexdigest()
    return f"{query[:MAX_QUERY_CHARS - len(digest) - 10]}...sha256:{digest}"


def next_allowed_at(kind: SourceKind | str, fetched_at: datetime) -> datetime:
    """Return when a query of ``kind`` asked at ``fetched_at`` may be asked again (floored to the minute)."""
    at = require_utc(fetched_at, "fetched_at") + timedelta(seconds=QUERY_INTERVAL_S[SourceKind(kind)])
    return at.replace(second=0, microsecond=0)


def held_queries(session: Session, kind: SourceKind | str, *, now: datetime) -> dict[str, datetime]:
    """Return the queries of ``kind`` that may not be asked at ``now``, each with when it may.

    The key ``SITE_QUERY`` (``*``) is present when the whole site is held (a stop or a
    Space-Track cycle, of this kind or of one sharing its site).  Queries are as
    ``stored_query`` keeps them.
    """
    kind = SourceKind(kind)
    now = require_utc(now, "now")
    held: dict[str, datetime] = {}
    rows = session.execute(
        select(SourceFetch.kind, SourceFetch.query, func.max(SourceFetch.next_allowed_at))
        .where(SourceFetch.kind.in_(SITE_KINDS[kind]), SourceFetch.next_allowed_at > now)
        .group_by(SourceFetch.kind, SourceFetch.query))
    for row_kind, query, until in rows:
        if query == SITE_QUERY:
            held[SITE_QUERY] = max(until, held.get(SITE_QUERY, until))
        elif row_kind == kind:
            held[query] = until
    return held


def covered_queries(session: Session, kind: SourceKind | str, *, now: datetime,
                    within_s: float = KEEP_FETCHES_S) -> set[str]:
    """Return the queries of ``kind`` kept as ``covered`` (answered by a wider request) within ``within_s``."""
    since = require_utc(now, "now") - timedelta(seconds=within_s)
    return set(session.scalars(select(SourceFetch.query).distinct().where(
        SourceFetch.kind == SourceKind(kind), SourceFetch.outcome == COVERED, SourceFetch.fetched_at >= since)))


def record_fetch(session: Session, kind: SourceKind | str, query: str, *, fetched_at: datetime,
                 outcome: FetchOutcome | str, http_status: int | None, message: str) -> SourceFetch:
    """Keep one request made, with when the same query may be asked again; flush."""
    fetched_at = require_utc(fetched_at, "fetched_at")
    row = SourceFetch(kind=SourceKind(kind), query=stored_query(query), fetched_at=fetched_at,
                      http_status=http_status, outcome=str(outcome), message=message[:4000],
                      next_allowed_at=next_allowed_at(kind, fetched_at))
    session.add(row)
    session.flush()
    return row


def hold_site(session: Session, kind: SourceKind | str, *, fetched_at: datetime, outcome: str, message: str,
              http_status: int | None = None) -> SourceFetch:
    """Hold every query to ``kind``'s site until the next cycle (``outcome``: ``stopped`` or ``cycle``); flush."""
    return record_fetch(session, kind, SITE_QUERY, fetched_at=fetched_at, outcome=outcome, http_status=http_status,
                        message=message)


def recent_fetches(session: Session, *, kinds: Iterable[SourceKind | str] | None = None,
                   limit: int = 100) -> list[SourceFetch]:
    """Return the newest requests made (of ``kinds``, default all), newest first."""
    statement = select(SourceFetch).order_by(SourceFetch.fetched_at.desc(), SourceFetch.id.desc()).limit(limit)
    if kinds is not None:
        statement = statement.where(SourceFetch.kind.in_([SourceKind(k) for k in kinds]))
    return list(session.scalars(statement))


def prune_fetches(session: Session, *, now: datetime, keep_s: float = KEEP_FETCHES_S) -> int:
    """Remove requests older than ``keep_s`` that hold nothing any more; return how many."""
    now = require_utc(now, "now")
    cutoff = now - timedelta(seconds=keep_s)
    result = session.execute(delete(SourceFetch).where(SourceFetch.fetched_at < cutoff,
                                                       SourceFetch.next_allowed_at <= now))
    return int(result.rowcount or 0)
