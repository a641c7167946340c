"""One sync of the network's element sets: read its sources, ask each site politely, store what came back.

``sync_elements`` runs one cycle:

1. reads every enabled, unexpired fetched source (``celestrak``, ``supgp``,
   ``spacetrack``) with its satellite's catalog number;
2. plans the requests (``sources.plan``: one per distinct query; CelesTrak catalog
   numbers only where no group, launch or SupGP file of the same sync held them;
   Space-Track numbers batched);
3. leaves out the queries a site's rules hold back (``store.fetches``: the same
   CelesTrak query at most every 2 hours, Space-Track at most hourly, a stopped site
   until the next cycle);
4. asks the rest, one at a time, outside any transaction, and stores each answer in its
   own unit of work through ``store.elements.store_element_sets`` (which refuses sets of
   another NORAD id or with an epoch more than a day ahead, keeps older sets without
   using them, and records ``elements.updated`` when the orbit in force changes), with
   the request kept as a ``SourceFetch`` row and each source's ``last_fetched_at`` and
   ``last_status`` updated.

A request that fails (a non-200 other than CelesTrak's "not updated", no answer) records
a ``source.failed`` event for each satellite it served and stops its site for this cycle;
a body that is not OMM JSON records ``source.failed`` but stops nothing; a record that
fails validation is skipped with its reason and the others are stored.  Space-Track
refusing the credentials disables every Space-Track source (``source.disabled``, with
what to fix) and the other sites go on.  Nothing stored is ever removed.

Two clocks: the sites' rules count wall-clock time; element sets are judged (future
epochs, the orbit in force) at the network's time (``store.clock``).  ``now`` given sets
both, for tests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from groundshare.errors import InvalidInputError
from groundshare.orbits import ElementSet
from groundshare.sources import (
    CELESTRAK_URL,
    FETCHED_KINDS,
    SPACETRACK_URL,
    STOPPING_OUTCOMES,
    FetchOutcome,
    FetchResult,
    HttpGet,
    PlannedRequest,
    SourceNeed,
    SpaceTrackCredentials,
    fetch_celestrak,
    open_spacetrack,
    plan_requests,
    urllib_get,
)
from groundshare.store.clock import network_now
from groundshare.store.db import run_unit_of_work
from groundshare.store.elements import store_element_sets
from groundshare.store.events import record_event
from groundshare.store.fetches import (
    COVERED,
    SITE_CYCLE,
    SITE_QUERY,
    SITE_STOPPED,
    covered_queries,
    held_queries,
    hold_site,
    prune_fetches,
    record_fetch,
    stored_query,
)
from groundshare.store.models import ElementSource, Satellite, SourceKind
from groundshare.timeutil import format_utc, require_utc, utc_now

#: The site each kind asks when no base URL is given.
DEFAULT_BASE_URLS: dict[str, str] = {"celestrak": CELESTRAK_URL, "supgp": CELESTRAK_URL, "spacetrack": SPACETRACK_URL}
#: Skipped records named one by one in the log, per request; the rest are counted.
MAX_RECORD_ERRORS_LOGGED = 5


@dataclass
class KindReport:
    """What a sync did for one source kind."""

    kind: str
    #: Sources of this kind the sync had to serve.
    sources: int = 0
    #: Requests made.
    requests: int = 0
    #: Requests not made because the site's rules hold them back (same query too soon, a stopped site).
    skipped: int = 0
    #: Catalog-number requests not made because an earlier answer of this sync already held their objects.
    covered: int = 0
    #: Answers: CelesTrak's "not updated", no data for the query, a failure, a body that is not OMM JSON.
    not_updated: int = 0
    no_data: int = 0
    failed: int = 0
    bad_body: int = 0
    #: Element sets stored, already held (same source and epoch), refused, stored but older than the one in force.
    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    older: int = 0
    #: Records of the answers that failed validation (skipped, each logged with its reason).
    skipped_records: int = 0
    #: Satellites whose orbit in force changed (the ones to re-plan).
    changed_satellite_ids: set[int] = field(default_factory=set)
    #: Sources disabled (Space-Track refused the credentials).
    disabled_source_ids: list[int] = field(default_factory=list)
    #: Sources whose query cannot be asked, with why.
    unsupported: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        """Return one line: requests made and held back, then what became of the sets."""
        held = f", {self.skipped} held back by the site's rules" if self.skipped else ""
        covered = f", {self.covered} answered by an earlier request" if self.covered else ""
        answers = [f"{n} {what}" for n, what in ((self.not_updated, "not updated"), (self.no_data, "without data"),
                                                  (self.failed, "failed"), (self.bad_body, "not OMM JSON")) if n]
        sets = (f"{self.stored} element sets stored ({self.older} older than the one in force), "
                f"{self.duplicates} already held, {self.refused} refused, {self.skipped_records} records skipped")
        return (f"{self.kind}: {self.sources} sources, {self.requests} requests{held}{covered}"
                + (f" ({', '.join(answers)})" if answers else "")
                + f"; {sets}; orbit in force changed for {len(self.changed_satellite_ids)} satellites")


@dataclass
class SyncReport:
    """What a sync did, per source kind (in the order asked)."""

    kinds: dict[str, KindReport] = field(default_factory=dict)

    @property
    def changed_satellite_ids(self) -> list[int]:
        """Satellites whose orbit in force changed, over every kind: the ones to re-plan."""
        return sorted(set().union(*(k.changed_satellite_ids for k in self.kinds.values())))

    @property
    def requests(self) -> int:
        return sum(k.requests for k in self.kinds.values())

    @property
    def stored(self) -> int:
        return sum(k.stored for k in self.kinds.values())

    @property
    def failed(self) -> bool:
        """Whether any request failed (a stopped site, refused credentials, a body that is not OMM JSON)."""
        return any(k.failed or k.bad_body or k.disabled_source_ids for k in self.kinds.values())


@dataclass(frozen=True)
class _Source:
    """A source to serve, as read at the start of the sync."""

    source_id: int
    satellite_id: int
    norad_id: int


def sync_elements(factory: sessionmaker[Session], *, kinds: Sequence[str] | None = None,
                  base_urls: Mapping[str, str] | None = None, credentials: SpaceTrackCredentials | None = None,
                  now: datetime | None = None, http: HttpGet | None = None,
                  log: Callable[[str], object] = print, spacetrack_cache_dir: Path | None = None) -> SyncReport:
    """Fetch what the network's enabled sources need from their sites, politely, and store it; return what was done.

    ``kinds`` limits the sync to some of ``celestrak``, ``supgp``, ``spacetrack`` (default
    all).  ``base_urls`` maps a kind to the site to ask instead of its own (a mirror, a
    caching proxy, a test server).  ``credentials`` are Space-Track's (default: from
    ``GROUNDSHARE_SPACETRACK_IDENTITY`` and ``_PASSWORD``; without them Space-Track
    sources are left out, and said so).  ``http`` is the GET used for CelesTrak
    (default ``urllib_get``).  ``log`` receives one line per request and a summary per
    kind; credentials never appear in it.
    """
    wanted = _check_kinds(kinds)
    urls = {**DEFAULT_BASE_URLS, **{k: v for k, v in (base_urls or {}).items() if v}}
    wall_now = require_utc(now, "now") if now is not None else None
    run = _Sync(factory, urls=urls, credentials=credentials if credentials is not None
                else SpaceTrackCredentials.from_env(), fixed_now=wall_now, http=http or urllib_get, log=log,
                spacetrack_cache_dir=spacetrack_cache_dir)
    return run.run(wanted)


def _check_kinds(kinds: Sequence[str] | None) -> tuple[str, ...]:
    if kinds is None:
        return FETCHED_KINDS
    wrong = [kind for kind in kinds if kind not in FETCHED_KINDS]
    if wrong:
        raise InvalidInputError(f"unknown source kind {wrong[0]!r}; expected one of {', '.join(FETCHED_KINDS)}",
                                loc=("kinds",))
    return tuple(kind for kind in FETCHED_KINDS if kind in kinds)


class _Sync:
    """One sync's state: the sources read, the sets seen per kind, the report."""

    def __init__(self, factory: sessionmaker[Session], *, urls: dict[str, str],
                 credentials: SpaceTrackCredentials | None, fixed_now: datetime | None, http: HttpGet,
                 log: Callable[[str], object], spacetrack_cache_dir: Path | None) -> None:
        self.factory = factory
        self.urls = urls
        self.credentials = credentials
        self.fixed_now = fixed_now
        self.http = http
        self.log = log
        self.spacetrack_cache_dir = spacetrack_cache_dir
        self.report = SyncReport()
        self.sources: dict[int, _Source] = {}
        # kind -> NORAD id -> sets seen in this sync's answers (wide requests: groups, launches, SupGP files)
        self.seen: dict[str, dict[int, list[ElementSet]]] = defaultdict(lambda: defaultdict(list))

    def wall_now(self) -> datetime:
        return self.fixed_now if self.fixed_now is not None else utc_now()

    def network_now(self, session: Session) -> datetime:
        return self.fixed_now if self.fixed_now is not None else network_now(session)

    # --- the cycle -------------------------------------------------------------------------

    def run(self, kinds: tuple[str, ...]) -> SyncReport:
        needs = run_unit_of_work(self.factory, lambda s: self._read_needs(s, kinds), write=False)
        plan = plan_requests(needs, kinds=kinds)
        for kind in kinds:
            report = self.report.kinds[kind] = KindReport(kind)
            report.sources = sum(1 for need in needs if need.kind == kind)
        for need, why in plan.unsupported:
            self.report.kinds[need.kind].unsupported.append((need.source_id, why))
            self.log(f"{need.kind}: source {need.source_id} of satellite {need.satellite_id} not asked: {why}")
        for kind in kinds:
            requests = plan.for_kind(kind)
            if kind == "spacetrack":
                self._run_spacetrack(requests)
            else:
                self._run_celestrak(kind, requests)
            self.log(self.report.kinds[kind].summary())
        run_unit_of_work(self.factory, lambda s: prune_fetches(s, now=self.wall_now()))
        return self.report

    def _read_needs(self, session: Session, kinds: tuple[str, ...]) -> list[SourceNeed]:
        now = self.network_now(session)
        rows = session.execute(
            select(ElementSource, Satellite.norad_id).join(Satellite, Satellite.id == ElementSource.satellite_id)
            .where(ElementSource.kind.in_([SourceKind(k) for k in kinds]), ElementSource.enabled,
                   or_(ElementSource.expires_at.is_(None), ElementSource.expires_at > now))
            .order_by(ElementSource.id))
        needs = []
        for source, norad_id in rows:
            self.sources[source.id] = _Source(source.id, source.satellite_id, norad_id)
            query_kind = source.query_kind.value if source.query_kind is not None else "catnr"
            query_value = source.query_value if source.query_value is not None else str(norad_id)
            needs.append(SourceNeed(source.id, source.satellite_id, norad_id, source.kind.value, query_kind,
                                    query_value))
        return needs

    def _held(self, kind: str) -> dict[str, datetime]:
        return run_unit_of_work(self.factory, lambda s: held_queries(s, kind, now=self.wall_now()), write=False)

    def _site_held(self, kind: str, requests: list[PlannedRequest], held: dict[str, datetime]) -> bool:
        if SITE_QUERY not in held:
            return False
        self.report.kinds[kind].skipped += len(requests)
        if requests:
            self.log(f"{kind}: {len(requests)} requests held back: the site is not asked again before "
                     f"{format_utc(held[SITE_QUERY])} (an earlier stop or cycle)")
        return True

    def _run_celestrak(self, kind: str, requests: list[PlannedRequest]) -> None:
        report = self.report.kinds[kind]
        held = self._held(kind)
        if self._site_held(kind, requests, held):
            return
        covered: list[PlannedRequest] = []
        # Catalog numbers a wider request answered before: while a wider request gives nothing new (held back,
        # "not updated", no answer), they wait with it rather than being asked one by one.
        covered_before: set[str] | None = None
        wide_gave_all = True
        for index, request in enumerate(requests):
            if request.covered_by(self.seen[kind].keys()):
                covered.append(request)
                continue
            if request.fallback and not wide_gave_all:
                if covered_before is None:
                    covered_before = run_unit_of_work(
                        self.factory, lambda s: covered_queries(s, kind, now=self.wall_now()), write=False)
                if stored_query(request.query) in covered_before:
                    covered.append(request)
                    continue
            if stored_query(request.query) in held:
                report.skipped += 1
                wide_gave_all = wide_gave_all and request.fallback
                self.log(f"{kind} {request.query}: held back until {format_utc(held[stored_query(request.query)])} "
                         "(the same query at most every 2 hours)")
                continue
            result = fetch_celestrak(kind, request.query, base_url=self.urls[kind], http=self.http)
            report.requests += 1
            if not request.fallback and result.outcome is not FetchOutcome.OK:
                wide_gave_all = False
            self._apply(kind, request, result)
            if result.outcome in STOPPING_OUTCOMES:
                left = len(requests) - index - 1
                report.skipped += left
                if left:
                    self.log(f"{kind}: {left} more requests not made: CelesTrak is not asked again this cycle")
                return
        if covered:
            report.covered += len(covered)
            run_unit_of_work(self.factory, lambda s: self._store_covered(s, kind, covered))

    def _run_spacetrack(self, requests: list[PlannedRequest]) -> None:
        kind = "spacetrack"
        report = self.report.kinds[kind]
        if not requests:
            return
        if self.credentials is None:
            report.skipped += len(requests)
            self.log(f"spacetrack: {report.sources} sources not fetched: no Space-Track credentials (set "
                     "GROUNDSHARE_SPACETRACK_IDENTITY and GROUNDSHARE_SPACETRACK_PASSWORD)")
            return
        held = self._held(kind)
        if self._site_held(kind, requests, held):
            return
        with open_spacetrack(self.credentials, base_url=self.urls[kind],
                             cache_dir=self.spacetrack_cache_dir) as session:
            for index, request in enumerate(requests):
                if stored_query(request.query) in held:
                    report.skipped += 1
                    continue
                result = (session.fetch_gp(intdes=request.intdes) if request.intdes is not None
                          else session.fetch_gp(request.norad_ids))
                report.requests += 1
                self._apply(kind, request, result)
                if result.outcome in STOPPING_OUTCOMES:
                    report.skipped += len(requests) - index - 1
                    return
        if report.requests:
            run_unit_of_work(self.factory, lambda s: hold_site(
                s, kind, fetched_at=self.wall_now(), outcome=SITE_CYCLE,
                message=f"{report.requests} GP requests made; Space-Track is asked at most hourly"))

    # --- one answer ------------------------------------------------------------------------

    def _apply(self, kind: str, request: PlannedRequest, result: FetchResult) -> None:
        report = self.report.kinds[kind]
        self.log(f"{kind} {result.message}")
        for error in result.errors[:MAX_RECORD_ERRORS_LOGGED]:
            self.log(f"  skipped: {str(error).splitlines()[0]}")
        if len(result.errors) > MAX_RECORD_ERRORS_LOGGED:
            self.log(f"  ... and {len(result.errors) - MAX_RECORD_ERRORS_LOGGED} more records skipped")
        report.skipped_records += len(result.errors)
        counter = {FetchOutcome.NOT_UPDATED: "not_updated", FetchOutcome.NO_DATA: "no_data",
                   FetchOutcome.FAILED: "failed", FetchOutcome.BAD_BODY: "bad_body"}.get(result.outcome)
        if counter:
            setattr(report, counter, getattr(report, counter) + 1)
        if not request.fallback:
            for element_set in result.sets:
                self.seen[kind][element_set.norad_id].append(element_set)
        fetched_at = self.wall_now()
        run_unit_of_work(self.factory, lambda s: self._store_answer(s, kind, request, result, fetched_at))

    def _store_answer(self, session: Session, kind: str, request: PlannedRequest, result: FetchResult,
                      fetched_at: datetime) -> None:
        record_fetch(session, kind, request.query, fetched_at=fetched_at, outcome=result.outcome,
                         http_status=result.http_status, message=result.message)
        now = self.network_now(session)
        if result.outcome is FetchOutcome.REFUSED_LOGIN:
            self._disable_spacetrack(session, result, now)
            hold_site(session, kind, fetched_at=fetched_at, outcome=SITE_STOPPED, message=result.message,
                      http_status=result.http_status)
            return
        if result.outcome in STOPPING_OUTCOMES:
            hold_site(session, kind, fetched_at=fetched_at, outcome=SITE_STOPPED, message=result.message,
                      http_status=result.http_status)
        by_norad: dict[int, list[ElementSet]] = defaultdict(list)
        for element_set in result.sets:
            by_norad[element_set.norad_id].append(element_set)
        status = f"{result.outcome.value} at {format_utc(fetched_at)}: {result.message}"
        failed = result.outcome in (FetchOutcome.FAILED, FetchOutcome.BAD_BODY)
        for source_id in request.source_ids:
            self._store_for_source(session, kind, source_id, by_norad, fetched_at=fetched_at, now=now,
                                   status=status, failed=failed, message=result.message)

    def _store_covered(self, session: Session, kind: str, requests: Iterable[PlannedRequest]) -> None:
        now = self.network_now(session)
        fetched_at = self.wall_now()
        for request in requests:
            # Kept as if asked: while the wider request that answered it waits, so does this one.
            record_fetch(session, kind, request.query, fetched_at=fetched_at, outcome=COVERED, http_status=None,
                         message=f"{request.query}: answered by a wider request of the same sync")
            for source_id in request.source_ids:
                self._store_for_source(session, kind, source_id, self.seen[kind], fetched_at=fetched_at, now=now,
                                       status=f"ok at {format_utc(fetched_at)}: answered by a wider request of "
                                              "the same sync", failed=False, message="")

    def _store_for_source(self, session: Session, kind: str, source_id: int, by_norad: Mapping[int, list[ElementSet]],
                          *, fetched_at: datetime, now: datetime, status: str, failed: bool, message: str) -> None:
        report = self.report.kinds[kind]
        source = session.get(ElementSource, source_id)
        if source is None or not source.enabled:  # removed or disabled while the request ran
            return
        satellite = session.get(Satellite, source.satellite_id)
        if satellite is None:
            return
        sets = by_norad.get(satellite.norad_id, [])
        source.last_status = status[:2000]
        if failed:
            source.last_fetched_at = fetched_at
            record_event(session, "source.failed", satellite=satellite, at=now,
                         message=f"satellite {satellite.id} (NORAD {satellite.norad_id}): its {kind} source "
                                 f"{source.id} failed: {message}",
                         payload={"source_id": source.id, "source_kind": kind})
            return
        if not sets:
            source.last_fetched_at = fetched_at
            return
        stored = store_element_sets(session, satellite, sets, source=source, fetched_at=fetched_at, now=now)
        report.stored += stored.added
        report.duplicates += stored.duplicates
        report.older += stored.older_than_in_force
        report.refused += len(stored.refused)
        for index, reason in stored.refused:
            self.log(f"  refused for satellite {satellite.id} (NORAD {satellite.norad_id}), set {index + 1}: {reason}")
        if stored.in_force_changed:
            report.changed_satellite_ids.add(satellite.id)

    def _disable_spacetrack(self, session: Session, result: FetchResult, now: datetime) -> None:
        report = self.report.kinds["spacetrack"]
        sources = session.scalars(select(ElementSource).where(ElementSource.kind == SourceKind.SPACETRACK,
                                                              ElementSource.enabled).order_by(ElementSource.id))
        for source in sources:
            source.enabled = False
            source.last_status = f"disabled at {format_utc(now)}: {result.message}"[:2000]
            report.disabled_source_ids.append(source.id)
            satellite = session.get(Satellite, source.satellite_id)
            record_event(session, "source.disabled", satellite=satellite, at=now,
                         message=f"satellite {source.satellite_id}: its spacetrack source {source.id} is disabled: "
                                 f"{result.message}; enable it again (PUT /satellites/{source.satellite_id}/sources) "
                                 "once the credentials are fixed",
                         payload={"source_id": source.id, "source_kind": "spacetrack"})
        self.log(f"spacetrack: {len(report.disabled_source_ids)} sources disabled: {result.message}")
