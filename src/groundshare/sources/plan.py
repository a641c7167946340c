"""The requests a sync makes: as few as each site allows for the sources the network has.

Input is one ``SourceNeed`` per enabled fetched source (which satellite, its catalog
number, the source's kind and query); output is the ``PlannedRequest`` list, each
request naming the sources it serves.  The rules:

- CelesTrak GP and SupGP: one request per distinct query.  CelesTrak takes one catalog
  number per ``CATNR`` query and no list, so catalog-number sources cost one request
  each, unless a group, launch or SupGP file asked in the same sync already returned
  their object: requests by catalog number come after the others and are marked
  ``fallback``, and a sync skips a fallback whose every object it has already seen
  (``PlannedRequest.covered_by``).  A network that lists its satellites' group (``group``
  = ``cubesat``) is thus served by one request however many satellites it has;
- Space-Track: catalog numbers batched into ``norad_cat_id`` lists of at most
  ``spacetrack.BATCH_SIZE``; one request per international designator (``object_id``).

A source whose query cannot be asked (a value of the wrong form) is listed in
``RequestPlan.unsupported`` with the reason, and costs no request.

The plan is pure: politeness (when a query may be asked again) is ``store.fetches``'.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from groundshare.errors import InvalidInputError
from groundshare.sources.celestrak import celestrak_query
from groundshare.sources.spacetrack import BATCH_SIZE, spacetrack_batches, spacetrack_query

_INTDES_RE = re.compile(r"\d{4}-\d{3}[A-Z]{0,3}")
#: Source kinds a sync fetches, in the order it asks them.
FETCHED_KINDS: tuple[str, ...] = ("celestrak", "supgp", "spacetrack")


@dataclass(frozen=True)
class SourceNeed:
    """One enabled fetched source: what it asks, and for which satellite (by id and catalog number)."""

    source_id: int
    satellite_id: int
    norad_id: int
    kind: str
    query_kind: str
    query_value: str


@dataclass(frozen=True)
class PlannedRequest:
    """One request to a site: its kind, canonical ``query``, and the sources it serves.

    ``norad_ids`` are the catalog numbers of those sources' satellites (a group request
    may return many more).  ``fallback`` marks a catalog-number request that a sync may
    skip when earlier answers already held every one of ``norad_ids``.
    """

    kind: str
    query: str
    source_ids: tuple[int, ...]
    norad_ids: tuple[int, ...]
    fallback: bool = False
    #: Space-Track requests by international designator: the designator (``norad_ids`` are then the satellites').
    intdes: str | None = None

    def covered_by(self, seen_norad_ids: AbstractSet[int]) -> bool:
        """Return whether this is a fallback whose every object an earlier answer of its site already held."""
        return self.fallback and bool(self.norad_ids) and set(self.norad_ids) <= seen_norad_ids


@dataclass
class RequestPlan:
    """The requests of a sync, in the order to ask them, and the sources that could not be planned."""

    requests: list[PlannedRequest] = field(default_factory=list)
    unsupported: list[tuple[SourceNeed, str]] = field(default_factory=list)  # (source, why)

    def for_kind(self, kind: str) -> list[PlannedRequest]:
        return [request for request in self.requests if request.kind == kind]


def plan_requests(needs: Iterable[SourceNeed], *, kinds: Sequence[str] | None = None,
                  batch_size: int = BATCH_SIZE) -> RequestPlan:
    """Return the requests that serve ``needs`` (only those of ``kinds``, default all fetched kinds).

    >>> plan = plan_requests([SourceNeed(1, 10, 27844, "celestrak", "catnr", "27844"),
    ...                       SourceNeed(2, 11, 44854, "celestrak", "group", "cubesat"),
    ...                       SourceNeed(3, 12, 44854, "spacetrack", "catnr", "44854"),
    ...                       SourceNeed(4, 13, 27844, "spacetrack", "catnr", "27844")])
    >>> [(r.kind, r.query, r.fallback) for r in plan.requests]  # doctest: +NORMALIZE_WHITESPACE
    [('celestrak', 'GROUP=cubesat&FORMAT=json', False), ('celestrak', 'CATNR=27844&FORMAT=json', True),
     ('spacetrack', 'class/gp/norad_cat_id/27844,44854/format/json', False)]
    """
    wanted = tuple(kinds) if kinds is not None else FETCHED_KINDS
    plan = RequestPlan()
    by_kind: dict[str, list[SourceNeed]] = {kind: [] for kind in FETCHED_KINDS}
    for need in needs:
        if need.kind in wanted and need.kind in by_kind:
            by_kind[need.kind].append(need)
    for kind in FETCHED_KINDS:
        if kind == "spacetrack":
            plan.requests.extend(_plan_spacetrack(by_kind[kind], plan, batch_size))
        else:
            plan.requests.extend(_plan_celestrak(kind, by_kind[kind], plan))
    return plan


def _plan_celestrak(kind: str, needs: list[SourceNeed], plan: RequestPlan) -> list[PlannedRequest]:
    # query -> (is by catalog number, source ids, norad ids), in first-seen order
    grouped: dict[str, tuple[bool, list[int], list[int]]] = {}
    for need in sorted(needs, key=lambda n: n.source_id):
        try:
            query = celestrak_query(kind, need.query_kind, need.query_value)
        except InvalidInputError as exc:
            plan.unsupported.append((need, str(exc)))
            continue
        entry = grouped.setdefault(query, (need.query_kind == "catnr", [], []))
        entry[1].append(need.source_id)
        if need.norad_id not in entry[2]:
            entry[2].append(need.norad_id)
    wide = [PlannedRequest(kind, q, tuple(s), tuple(n)) for q, (by_catnr, s, n) in grouped.items() if not by_catnr]
    narrow = [PlannedRequest(kind, q, tuple(s), tuple(n), fallback=True)
              for q, (by_catnr, s, n) in grouped.items() if by_catnr]
    return wide + narrow


def _plan_spacetrack(needs: list[SourceNeed], plan: RequestPlan, batch_size: int) -> list[PlannedRequest]:
    sources_of: dict[int, list[int]] = {}
    by_intdes: dict[str, tuple[list[int], list[int]]] = {}
    for need in sorted(needs, key=lambda n: n.source_id):
        value = need.query_value.strip().upper()
        if need.query_kind == "intdes" and _INTDES_RE.fullmatch(value):
            entry = by_intdes.setdefault(value, ([], []))
            entry[0].append(need.source_id)
            entry[1].append(need.norad_id)
        elif need.query_kind == "catnr" and value.isdigit() and int(value) > 0:
            sources_of.setdefault(int(value), []).append(need.source_id)
        else:
            plan.unsupported.append((need, f"a spacetrack source asks by catalog number or international "
                                           f"designator; {need.query_kind} {need.query_value!r} cannot be asked"))
    requests = []
    for batch in spacetrack_batches(list(sources_of), size=batch_size):
        source_ids = tuple(sorted(s for n in batch for s in sources_of[n]))
        requests.append(PlannedRequest("spacetrack", spacetrack_query(batch), source_ids, batch))
    for intdes, (source_ids, norad_ids) in by_intdes.items():
        requests.append(PlannedRequest("spacetrack", spacetrack_query(intdes=intdes), tuple(source_ids),
                                       tuple(dict.fromkeys(norad_ids)), intdes=intdes))
    return requests
