"""Where a satellite's element sets come from, and which one is in force.

Each satellite has **sources** (``ElementSource``): the operator's uploads, CelesTrak GP,
CelesTrak supplemental GP, Space-Track GP, each with a priority (higher wins), an
optional expiry and an enabled flag.  Every stored set (``ElementSetRecord``) keeps its
source, the time it was fetched and its epoch.

The **orbit in force** of a satellite at ``now``: among its enabled sources whose
``expires_at`` is None or after ``now``, in priority order (highest first, then the
older source), the first that has a stored set; of that source, the set of newest epoch
(the later stored on a tie).  Sets without a source (stored before sources existed, or
whose source was removed) are in force only when no source has one, newest first; so a
satellite that only ever had uploads keeps its newest upload in force, as before.

**A fit ends when a published set agrees.**  A ``fit`` source (``store.leop_evidence``: the
satellite's own receptions and Doppler, fitted through SGP4) outranks the published sets
until one of them agrees with it: when ``store_element_sets`` stores a set from a fetched
source (CelesTrak, SupGP, Space-Track) of a satellite whose fit is in force, both are
propagated through SGP4 from ``now`` over ``AGREE_SPAN_S`` (24 h) every ``AGREE_STEP_S``
(60 s); if they are never more than ``AGREE_KM`` apart, the fit's source expires at
``now`` (``last_status`` says which set agreed, and an ``elements.fit_superseded`` event
is recorded), otherwise the fit stays in force and its ``last_status`` notes by how much
the published set disagreed.

Booking, planning, passes and tracks all use this rule (``models.newest_element_set(s)``
are thin wrappers over ``orbits_in_force``).  ``store_element_sets`` is the one way in
for new sets, uploads and fetches alike; it records an ``elements.updated`` event when
the orbit in force changes.  Nothing here commits: the caller's unit of work does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from groundshare.errors import InvalidInputError
from groundshare.orbits import ElementSet, omm_json_record
from groundshare.orbits.age import DEFAULT_ERROR_S, DEFAULT_WARNING_S, element_age_s, element_age_state
from groundshare.orbits.propagate import propagate_teme, satrec_array
from groundshare.store.clock import network_now
from groundshare.store.events import record_event
from groundshare.store.models import (
    ElementSetRecord,
    ElementSource,
    ElementTextFormat,
    Satellite,
    SourceKind,
    SourceQueryKind,
)
from groundshare.timeutil import require_utc, utc_now
from groundshare.units import DAY_S

#: Priority of each kind of source when the operator does not say (higher wins).
DEFAULT_PRIORITY: dict[SourceKind, int] = {
    SourceKind.UPLOAD: 100,
    # Fitted to the satellite's own receptions: above the published sets until one agrees with it.
    SourceKind.FIT: 90,
    SourceKind.SUPGP: 80,
    SourceKind.SPACETRACK: 60,
    SourceKind.CELESTRAK: 50,
    # The launch provider's prediction: in force until the catalogue publishes the object.
    SourceKind.LEOP: 40,
}
#: Kinds whose sets come from groundshare itself or the operator (no query, never fetched).
LOCAL_KINDS = (SourceKind.UPLOAD, SourceKind.FIT, SourceKind.LEOP)
#: Lowest and highest priority a source may have.
MIN_PRIORITY, MAX_PRIORITY = 0, 1000
#: Most sources one satellite may have.
MAX_SOURCES_PER_SATELLITE = 20
#: A set whose epoch is further than this after ``now`` is refused (seconds): a clock or data error.
MAX_FUTURE_EPOCH_S = DAY_S
#: Kinds whose sets are published by a catalogue (fetched); one of them agreeing with a fit ends the fit.
PUBLISHED_KINDS = (SourceKind.CELESTRAK, SourceKind.SUPGP, SourceKind.SPACETRACK)
#: A published set agrees with a fit when the two are never further apart than this (km) over ``AGREE_SPAN_S``.
#: Two independent SGP4 determinations of a LEO CubeSat differ by a few km a day after their data (a fresh
#: catalogue set is good to ~1 km at its epoch and drifts with drag; a fit to 12 h of passes with 50 Hz of Doppler
#: noise came within 8.4 km of the truth a day later in ``tests/api/test_leop_evidence.py``), so a tighter bound
#: would keep fits forever.  10 km is 0.3 to 1.1 deg seen from a station at 2000 to 500 km: inside a UHF Yagi's
#: beam (tens of degrees) and a 3 m S-band dish's half beam (~1.2 deg) but at the lowest ranges; and far below what
#: separates the objects of one launch by the time the catalogue publishes them (hundreds of km a day apart), so
#: the set of a neighbour never agrees.
AGREE_KM = 10.0
#: The comparison's span and step, seconds: the next day, every minute (1,441 SGP4 states per set).
AGREE_SPAN_S = DAY_S
AGREE_STEP_S = 60.0
#: The queries each fetched kind accepts (the sites' own parameters: CATNR, INTDES, GROUP, FILE; norad_cat_id, ...).
QUERY_KINDS: dict[SourceKind, tuple[SourceQueryKind, ...]] = {
    SourceKind.UPLOAD: (),
    SourceKind.FIT: (),
    SourceKind.LEOP: (),
    SourceKind.CELESTRAK: (SourceQueryKind.CATNR, SourceQueryKind.INTDES, SourceQueryKind.GROUP),
    SourceKind.SUPGP: (SourceQueryKind.CATNR, SourceQueryKind.INTDES, SourceQueryKind.FILE),
    SourceKind.SPACETRACK: (SourceQueryKind.CATNR, SourceQueryKind.INTDES),
}
# What a query value looks like, with an example for the error message.
_QUERY_VALUE: dict[SourceQueryKind, tuple[re.Pattern[str], str]] = {
    SourceQueryKind.CATNR: (re.compile(r"[1-9]\d{0,8}"), "a catalog number such as 25544 or 100123"),
    SourceQueryKind.INTDES: (re.compile(r"\d{4}-\d{3}[A-Z]{0,3}"), "an international designator such as 1998-067A "
                                                                   "or a launch such as 2026-041"),
    SourceQueryKind.GROUP: (re.compile(r"[a-z0-9][a-z0-9-]{0,49}"), "a CelesTrak group such as cubesat or active"),
    SourceQueryKind.FILE: (re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"), "a SupGP file name such as starlink or "
                                                                           "planet"),
}


@dataclass(frozen=True, slots=True)
class InForce:
    """The element set in force of one satellite at an instant, its source, and how old it is then."""

    record: ElementSetRecord
    #: None for a set without a source (stored before sources existed, or whose source was removed).
    source: ElementSource | None
    #: ``now - epoch`` in seconds (negative for an epoch after ``now``).
    age_s: float
    #: ``orbits.age.element_age_state`` of ``age_s``: ``fresh``, ``stale`` or ``expired``.
    state: str

    @property
    def source_kind(self) -> str | None:
        """The kind of the set's source (``upload``, ``celestrak``, ...), or None without one."""
        return self.source.kind.value if self.source is not None else None


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One source as the operator asks for it (``PUT /satellites/{id}/sources``).

    ``query_kind`` and ``query_value`` left out: the satellite's catalog number (fetched
    kinds); ``priority`` left out: ``DEFAULT_PRIORITY`` of the kind.
    """

    kind: SourceKind | str
    query_kind: SourceQueryKind | str | None = None
    query_value: str | None = None
    priority: int | None = None
    enabled: bool = True
    expires_at: datetime | None = None


@dataclass(slots=True)
class StoreReport:
    """What ``store_element_sets`` did with the sets it was given."""

    #: The records stored (older ones included), in the order given.
    records: list[ElementSetRecord] = field(default_factory=list)
    #: Sets not stored because the same source already holds one of the same epoch (ids of those held).
    duplicate_ids: list[int] = field(default_factory=list)
    #: Of ``records``, those older than the set in force afterwards (kept, not used).
    older_than_in_force: int = 0
    #: ``(index in the sets given, reason)`` of each set refused.
    refused: list[tuple[int, str]] = field(default_factory=list)
    in_force_changed: bool = False
    #: The orbit in force afterwards (None: the satellite still has none).
    in_force: InForce | None = None

    @property
    def added(self) -> int:
        return len(self.records)

    @property
    def duplicates(self) -> int:
        return len(self.duplicate_ids)


def _now(session: Session, now: datetime | None) -> datetime:
    return network_now(session) if now is None else require_utc(now, "now")


# --- the orbit in force -------------------------------------------------------------------------------


def in_force_order(sources: Iterable[ElementSource], now: datetime) -> list[ElementSource]:
    """Return the sources that may be in force at ``now`` (enabled, not expired), best first."""
    live = [s for s in sources if s.enabled and (s.expires_at is None or s.expires_at > now)]
    return sorted(live, key=lambda s: (-s.priority, s.id))


def orbits_in_force(session: Session, satellite_ids: Iterable[int], *, now: datetime | None = None,
                    warning_s: float = DEFAULT_WARNING_S, error_s: float = DEFAULT_ERROR_S) -> dict[int, InForce]:
    """Return each satellite's orbit in force at ``now`` (default: the network's clock), in two queries.

    Satellites without one are absent from the mapping.
    """
    ids = sorted(set(satellite_ids))
    if not ids:
        return {}
    now = _now(session, now)
    sources: dict[int, list[ElementSource]] = {}
    for source in session.scalars(select(ElementSource).where(ElementSource.satellite_id.in_(ids))):
        sources.setdefault(source.satellite_id, []).append(source)
    # The newest set of each (satellite, source), sets without a source as one more group.
    rank = func.row_number().over(partition_by=(ElementSetRecord.satellite_id, ElementSetRecord.source_id),
                                  order_by=(ElementSetRecord.epoch.desc(), ElementSetRecord.id.desc()))
    ranked = (select(ElementSetRecord.id, rank.label("rank"))
              .where(ElementSetRecord.satellite_id.in_(ids)).subquery())
    newest: dict[tuple[int, int | None], ElementSetRecord] = {
        (row.satellite_id, row.source_id): row
        for row in session.scalars(select(ElementSetRecord).join(ranked, ranked.c.id == ElementSetRecord.id)
                                   .where(ranked.c.rank == 1))}
    result: dict[int, InForce] = {}
    for satellite_id in ids:
        chosen: tuple[ElementSetRecord, ElementSource | None] | None = None
        for source in in_force_order(sources.get(satellite_id, ()), now):
            record = newest.get((satellite_id, source.id))
            if record is not None:
                chosen = (record, source)
                break
        if chosen is None and (satellite_id, None) in newest:
            chosen = (newest[(satellite_id, None)], None)
        if chosen is not None:
            record, source = chosen
            age_s = element_age_s(record.epoch, now)
            result[satellite_id] = InForce(record=record, source=source, age_s=age_s,
                                           state=element_age_state(age_s, warning_s=warning_s, error_s=error_s))
    return result


def orbit_in_force(session: Session, satellite_id: int, *, now: datetime | None = None,
                   warning_s: float = DEFAULT_WARNING_S, error_s: float = DEFAULT_ERROR_S) -> InForce | None:
    """Return the satellite's orbit in force at ``now`` (default: the network's clock), or None."""
    return orbits_in_force(session, [satellite_id], now=now, warning_s=warning_s, error_s=error_s).get(satellite_id)


# --- sources ------------------------------------------------------------------------------------------


def satellite_sources(session: Session, satellite_id: int) -> list[ElementSource]:
    """Return the satellite's sources, best first (priority, then the older source)."""
    return list(session.scalars(select(ElementSource).where(ElementSource.satellite_id == satellite_id)
                                .order_by(ElementSource.priority.desc(), ElementSource.id)))


def ensure_default_sources(session: Session, satellite: Satellite) -> None:
    """Give a satellite that has no source the default one: CelesTrak GP by its catalog number.

    The ``upload`` source is made on the first upload (``upload_source``).  Flushes, so
    ``satellite.id`` must be known or flushable.
    """
    if satellite.id is None:
        session.flush()
    if session.scalar(select(func.count()).select_from(ElementSource)
                      .where(ElementSource.satellite_id == satellite.id)):
        return
    session.add(ElementSource(satellite_id=satellite.id, kind=SourceKind.CELESTRAK,
                              query_kind=SourceQueryKind.CATNR, query_value=str(satellite.norad_id),
                              priority=DEFAULT_PRIORITY[SourceKind.CELESTRAK], enabled=True))
    session.flush()


def upload_source(session: Session, satellite: Satellite) -> ElementSource:
    """Return the satellite's ``upload`` source, made (priority 100, enabled) if it has none."""
    return local_source(session, satellite, SourceKind.UPLOAD)


def local_source(session: Session, satellite: Satellite, kind: SourceKind) -> ElementSource:
    """Return the satellite's source of a local ``kind`` (upload, fit, leop), made (default priority) if it has none."""
    if kind not in LOCAL_KINDS:
        raise InvalidInputError(f"{kind.value} sources are fetched, not local", loc=("kind",))
    source = session.scalars(select(ElementSource).where(ElementSource.satellite_id == satellite.id,
                                                         ElementSource.kind == kind)
                             .order_by(ElementSource.id).limit(1)).first()
    if source is None:
        source = ElementSource(satellite_id=satellite.id, kind=kind, query_kind=None, query_value=None,
                               priority=DEFAULT_PRIORITY[kind], enabled=True)
        session.add(source)
        session.flush()
    return source


def follow_norad_change(session: Session, satellite: Satellite, old_norad_id: int) -> None:
    """Move the satellite's catalog-number queries that named ``old_norad_id`` to its new NORAD id."""
    session.execute(update(ElementSource).where(
        ElementSource.satellite_id == satellite.id, ElementSource.query_kind == SourceQueryKind.CATNR,
        ElementSource.query_value == str(old_norad_id)).values(query_value=str(satellite.norad_id)))


def check_source_spec(spec: SourceSpec, satellite: Satellite, *, index: int = 0) -> SourceSpec:
    """Return ``spec`` with its defaults filled in; ``InvalidInputError`` naming the field otherwise."""
    where = f"sources[{index}]"
    loc = ("body", "sources", index)
    try:
        kind = SourceKind(spec.kind)
    except ValueError:
        raise InvalidInputError(f"{where}.kind: {spec.kind!r} is not a source kind; use one of "
                                f"{', '.join(k.value for k in SourceKind)}", loc=(*loc, "kind")) from None
    query_kind: SourceQueryKind | None
    if kind in LOCAL_KINDS:
        if spec.query_kind is not None or spec.query_value is not None:
            article = "an" if kind is SourceKind.UPLOAD else "a"
            raise InvalidInputError(f"{where}: {article} {kind.value} source takes no query (its sets are stored "
                                    "here, not fetched); leave query_kind and query_value out",
                                    loc=(*loc, "query_kind"))
        query_kind, query_value = None, None
    elif spec.query_kind is None and spec.query_value is None:
        query_kind, query_value = SourceQueryKind.CATNR, str(satellite.norad_id)
    else:
        allowed = QUERY_KINDS[kind]
        try:
            query_kind = SourceQueryKind(spec.query_kind) if spec.query_kind is not None else None
        except ValueError:
            query_kind = None
        if query_kind not in allowed:
            raise InvalidInputError(f"{where}.query_kind: a {kind.value} source asks by "
                                    f"{' or '.join(q.value for q in allowed)}, not {spec.query_kind!r}",
                                    loc=(*loc, "query_kind"))
        assert query_kind is not None
        query_value = (spec.query_value or "").strip()
        if query_kind == SourceQueryKind.GROUP:
            query_value = query_value.lower()
        elif query_kind == SourceQueryKind.INTDES:
            query_value = query_value.upper()
        pattern, example = _QUERY_VALUE[query_kind]
        if not pattern.fullmatch(query_value):
            raise InvalidInputError(f"{where}.query_value: {spec.query_value!r} is not {example}",
                                    loc=(*loc, "query_value"))
    priority = DEFAULT_PRIORITY[kind] if spec.priority is None else spec.priority
    if isinstance(priority, bool) or not isinstance(priority, int) or not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise InvalidInputError(f"{where}.priority: {priority!r} is not a whole number from {MIN_PRIORITY} to "
                                f"{MAX_PRIORITY} (higher wins; defaults: upload 100, fit 90, supgp 80, spacetrack 60, "
                                "celestrak 50, leop 40)", loc=(*loc, "priority"))
    expires_at = require_utc(spec.expires_at, f"{where}.expires_at") if spec.expires_at is not None else None
    return SourceSpec(kind=kind, query_kind=query_kind, query_value=query_value, priority=priority,
                      enabled=bool(spec.enabled), expires_at=expires_at)


def set_sources(session: Session, satellite: Satellite, sources: Sequence[SourceSpec]) -> list[ElementSource]:
    """Replace the satellite's sources by ``sources``; return them, best first.

    A source already there (same kind and query) is updated in place, so its stored sets
    stay its own; a source left out is removed, and its sets are kept without a source
    (in force only when no source has one).  Two sources of the same kind and query, or
    an invalid one, are refused (``InvalidInputError`` naming ``sources[i]``), and
    nothing changes.
    """
    if len(sources) > MAX_SOURCES_PER_SATELLITE:
        raise InvalidInputError(f"sources: {len(sources)} sources; a satellite has at most "
                                f"{MAX_SOURCES_PER_SATELLITE}", loc=("body", "sources"))
    specs = [check_source_spec(spec, satellite, index=i) for i, spec in enumerate(sources)]
    seen: dict[tuple[object, object, object], int] = {}
    for i, spec in enumerate(specs):
        key = (spec.kind, spec.query_kind, spec.query_value)
        if key in seen:
            what = f"{spec.kind} {spec.query_kind}={spec.query_value}" if spec.query_kind else str(spec.kind)
            raise InvalidInputError(f"sources[{i}] repeats sources[{seen[key]}] ({what}); list each source once",
                                    loc=("body", "sources", i))
        seen[key] = i
    existing = {(s.kind, s.query_kind, s.query_value): s for s in satellite_sources(session, satellite.id)}
    kept: list[ElementSource] = []
    for spec in specs:
        key = (spec.kind, spec.query_kind, spec.query_value)
        source = existing.pop(key, None)
        if source is None:
            source = ElementSource(satellite_id=satellite.id, kind=spec.kind, query_kind=spec.query_kind,
                                   query_value=spec.query_value)
            session.add(source)
        source.priority = spec.priority  # type: ignore[assignment]
        source.enabled = spec.enabled
        source.expires_at = spec.expires_at
        kept.append(source)
    removed = [s.id for s in existing.values()]
    if removed:
        # What ON DELETE SET NULL does, said here so it holds whatever the connection's foreign-key setting.
        session.execute(update(ElementSetRecord).where(ElementSetRecord.source_id.in_(removed))
                        .values(source_id=None))
        for source in existing.values():
            session.delete(source)
    session.flush()
    return sorted(kept, key=lambda s: (-s.priority, s.id))


# --- storing sets -------------------------------------------------------------------------------------


def element_text(element_set: ElementSet) -> tuple[str, ElementTextFormat]:
    """Return the text under which a set is stored, and its format: its TLE lines, else one OMM JSON object.

    The OMM keeps every field SGP4 needs at full precision (``repr`` of each float), so
    ``ElementSetRecord.to_element_set`` gives back the same elements; catalog numbers
    above 99999 need it (a TLE cannot hold them).
    """
    if element_set.line1 is not None and element_set.line2 is not None:
        lines = [element_set.name] if element_set.name else []
        return "\n".join([*lines, element_set.line1, element_set.line2]) + "\n", ElementTextFormat.TLE
    require_utc(element_set.epoch, "epoch")
    return json.dumps(omm_json_record(element_set)), ElementTextFormat.JSON


def source_label(source: ElementSource) -> str:
    """Return the text kept in ``ElementSetRecord.source`` for a set of ``source``, e.g. ``celestrak catnr=25544``."""
    if source.kind == SourceKind.UPLOAD:
        return "api upload"
    if source.kind in LOCAL_KINDS:
        return source.kind.value
    return f"{source.kind.value} {source.query_kind.value if source.query_kind else ''}={source.query_value or ''}"


def store_element_sets(session: Session, satellite: Satellite, sets: Sequence[ElementSet], *,
                       source: ElementSource, fetched_at: datetime, now: datetime,
                       texts: Sequence[tuple[str, ElementTextFormat | str]] | None = None,
                       label: str | None = None) -> StoreReport:
    """Store ``sets`` of ``satellite`` from ``source``; return what became of each, and the orbit in force after.

    - a set of another NORAD id, or with an epoch more than a day after ``now`` (or the wall
      clock, if later), is refused
      (its index and the reason in ``refused``); the others are stored;
    - a set whose source already holds one of the same epoch is a duplicate (not stored);
    - a set older than the one in force is stored (nothing stored is lost) but not used.

    ``texts`` (optional, one per set) is the text to keep for each, as received (e.g. an
    uploaded OMM in its own encoding); by default ``element_text``.  When the orbit in
    force changes, an ``elements.updated`` event is recorded.  Flushes; never commits.
    """
    if source.satellite_id != satellite.id:
        raise InvalidInputError(f"source {source.id} belongs to satellite {source.satellite_id}, not to "
                                f"satellite {satellite.id}", loc=("source",))
    if texts is not None and len(texts) != len(sets):
        raise InvalidInputError(f"texts: {len(texts)} texts for {len(sets)} element sets", loc=("texts",))
    now = require_utc(now, "now")
    fetched_at = require_utc(fetched_at, "fetched_at")
    before = orbit_in_force(session, satellite.id, now=now)
    held = {row.epoch: row.id for row in session.execute(
        select(ElementSetRecord.epoch, ElementSetRecord.id).where(ElementSetRecord.source_id == source.id))}
    pending: dict[datetime, ElementSetRecord] = {}
    repeated: list[ElementSetRecord] = []
    report = StoreReport()
    # Against the wall clock too: a network clock anchored in the past (the demo) makes no real set "future".
    latest_allowed = max(now, utc_now()) + timedelta(seconds=MAX_FUTURE_EPOCH_S)
    for index, element_set in enumerate(sets):
        if element_set.norad_id != satellite.norad_id:
            report.refused.append((index, f"the set is for NORAD {element_set.norad_id}, but satellite "
                                          f"{satellite.id} is NORAD {satellite.norad_id}"))
            continue
        if element_set.epoch > latest_allowed:
            report.refused.append((index, f"its epoch {element_set.epoch:%Y-%m-%dT%H:%M:%SZ} is more than a day "
                                          f"after now ({max(now, utc_now()):%Y-%m-%dT%H:%M:%SZ}); a clock or data "
                                          "error"))
            continue
        if element_set.epoch in held:
            report.duplicate_ids.append(held[element_set.epoch])
            continue
        if element_set.epoch in pending:
            repeated.append(pending[element_set.epoch])
            continue
        text, fmt = texts[index] if texts is not None else element_text(element_set)
        record = ElementSetRecord(satellite_id=satellite.id, epoch=element_set.epoch, format=ElementTextFormat(fmt),
                                  text=text, source=label if label is not None else source_label(source),
                                  source_id=source.id, fetched_at=fetched_at)
        session.add(record)
        report.records.append(record)
        pending[element_set.epoch] = record
    session.flush()
    report.duplicate_ids.extend(record.id for record in repeated)  # repeated within the batch: stored once
    if source.last_fetched_at is None or fetched_at > source.last_fetched_at:
        source.last_fetched_at = fetched_at
    if source.kind in PUBLISHED_KINDS and report.records and before is not None and before.source is not None \
            and before.source.kind == SourceKind.FIT:
        newest = max(report.records, key=lambda r: (r.epoch, r.id))
        _judge_fit(session, satellite, before, newest, source_label(source), now=now)
    after = orbit_in_force(session, satellite.id, now=now)
    report.in_force = after
    if after is not None:
        report.older_than_in_force = sum(1 for r in report.records
                                         if r.id != after.record.id and r.epoch < after.record.epoch)
    report.in_force_changed = (before.record.id if before else None) != (after.record.id if after else None)
    if report.in_force_changed and after is not None:

        previous = before.record if before else None
        record_event(
            session, "elements.updated", satellite=satellite, at=now,
            message=(f"satellite {satellite.id} (NORAD {satellite.norad_id}): orbit in force is now element set "
                     f"{after.record.id} of epoch {after.record.epoch:%Y-%m-%dT%H:%M:%SZ} from "
                     f"{after.source_kind or 'no source'}"
                     + (f" (was {previous.id} of epoch {previous.epoch:%Y-%m-%dT%H:%M:%SZ})" if previous else "")),
            payload={"element_set_id": after.record.id, "epoch": after.record.epoch.isoformat(),
                     "source_id": after.source.id if after.source else None, "source_kind": after.source_kind,
                     "previous_element_set_id": previous.id if previous else None})
    return report


# --- a fit superseded -----------------------------------------------------------------------------------


def fit_disagreement_km(fit: ElementSet, published: ElementSet, *, now: datetime,
                        span_s: float = AGREE_SPAN_S, step_s: float = AGREE_STEP_S) -> tuple[float, float]:
    """Return the largest along-track and total distance (km) between two sets over ``[now, now + span_s]``.

    Both are propagated through SGP4 (``orbits.propagate``) every ``step_s``; along track
    is the difference's component along the published set's velocity.  A set SGP4 cannot
    propagate over the span disagrees (``inf``).
    """
    t_s = np.arange(0.0, span_s + 0.5 * step_s, step_s)
    err, r_km, v_km_s = propagate_teme(satrec_array([fit, published]), now, t_s)
    if err.any():
        return math.inf, math.inf
    d = r_km[0] - r_km[1]
    along = np.einsum("ij,ij->i", d, v_km_s[1] / np.linalg.norm(v_km_s[1], axis=1)[:, None])
    return float(np.max(np.abs(along))), float(np.max(np.linalg.norm(d, axis=1)))


def _judge_fit(session: Session, satellite: Satellite, fit: InForce, published: ElementSetRecord, label: str, *,
               now: datetime) -> None:
    """End the fit in force when ``published`` agrees with it within ``AGREE_KM``; else note the disagreement."""
    assert fit.source is not None
    along_km, total_km = fit_disagreement_km(fit.record.to_element_set(), published.to_element_set(), now=now)
    previous = fit.source.last_status or ""
    fitted = previous[previous.find("fitted at"):] if "fitted at" in previous else previous
    span = f"over the next {AGREE_SPAN_S / 3600:.0f} h"
    if total_km <= AGREE_KM:
        fit.source.expires_at = now
        fit.source.last_status = (f"superseded: {label} agrees within {total_km:.2f} km ({span}; along track "
                                  f"{along_km:.2f} km) at {now:%Y-%m-%dT%H:%M:%SZ}; {fitted}")[:2000]
        record_event(session, "elements.fit_superseded", satellite=satellite, at=now,
                     message=(f"satellite {satellite.id} (NORAD {satellite.norad_id}): the published set "
                              f"{published.id} ({label}) agrees with the fit {fit.record.id} within {total_km:.2f} km "
                              f"{span}; the fit ends and the published sets are in force again"),
                     payload={"fit_element_set_id": fit.record.id, "element_set_id": published.id,
                              "fit_source_id": fit.source.id, "max_km": round(total_km, 3),
                              "max_along_track_km": round(along_km, 3), "agree_km": AGREE_KM})
    else:
        what = "cannot be propagated" if math.isinf(total_km) else f"differs by up to {total_km:.1f} km"
        fit.source.last_status = (f"kept at {now:%Y-%m-%dT%H:%M:%SZ}: {label} (set {published.id}) {what} {span} "
                                  f"(along track {along_km:.1f} km), more than {AGREE_KM:g} km; {fitted}")[:2000]
    session.flush()
