"""check_schedule(): the referee. An independent validator of a plan against a ``Problem``.

It is written apart from the solvers on purpose (plain sorts and sweeps over the
candidate list, no conflict lists shared with greedy or CP-SAT), so that tests, the API
and the benchmark can trust it to catch a solver's bug. Times are seconds from
``problem.start``; a pass counts on the UTC day and ISO week in which it starts.

Violation kinds: ``unknown_pass``, ``duplicate``, ``not_allowed`` (no sharing policy, or
a blackout meets the antenna's busy interval), ``antenna_overlap`` (busy intervals
``[start - setup_s, end + teardown_s)`` meet on one antenna), ``satellite_overlap``
(``[start, end)`` meet for one satellite that does not allow redundant contacts),
``daily_cap``, ``total_cap`` (more chosen passes of a satellite than its ``max_contacts``),
``weekly_hours`` (a policy's ``hours_per_week`` for a guest organisation on an antenna is
exceeded) and ``locked_missing``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from groundshare.schedule.problem import HOURS_SLACK_H, Problem
from groundshare.timeutil import format_utc
from groundshare.units import HOUR_S


@dataclass(frozen=True)
class Violation:
    """One broken rule: its ``kind``, the passes involved and a message naming them."""

    kind: str
    pass_ids: tuple[str, ...]
    message: str


def objective(problem: Problem, contacts: Sequence[str]) -> float:
    """Return the plan's value: the sum of ``value * priority`` over the known, distinct ``contacts``."""
    index = problem.pass_index
    return float(sum(problem.passes[index[c]].weight for c in dict.fromkeys(contacts) if c in index))


def check_schedule(problem: Problem, contacts: Sequence[str]) -> list[Violation]:
    """Return every rule the plan ``contacts`` (pass ids) breaks; an empty list means the plan is valid."""
    out: list[Violation] = []
    index = problem.pass_index
    seen: set[str] = set()
    chosen: list[int] = []
    for c in contacts:
        if c not in index:
            out.append(Violation("unknown_pass", (c,), f"pass {c!r} is not in the problem"))
        elif c in seen:
            out.append(Violation("duplicate", (c,), f"pass {c!r} is chosen more than once"))
        else:
            seen.add(c)
            chosen.append(index[c])
    for pass_id in problem.locked:
        if pass_id not in seen:
            out.append(Violation("locked_missing", (pass_id,), f"locked pass {_describe(problem, index[pass_id])} "
                                                               "is missing from the plan"))
    out += _not_allowed(problem, chosen)
    out += _antenna_overlaps(problem, chosen)
    out += _satellite_overlaps(problem, chosen)
    out += _daily_caps(problem, chosen)
    out += _total_caps(problem, chosen)
    out += _weekly_hours(problem, chosen)
    return out


def _describe(problem: Problem, i: int) -> str:
    p = problem.passes[i]
    return f"{p.id} (satellite {p.satellite} on {p.antenna}, {format_utc(p.start)}..{format_utc(p.end)})"


def _offset_s(problem: Problem, i: int) -> tuple[float, float]:
    p = problem.passes[i]
    return (p.start - problem.start).total_seconds(), (p.end - problem.start).total_seconds()


def _not_allowed(problem: Problem, chosen: list[int]) -> list[Violation]:
    antennas = {a.id: a for a in problem.antennas}
    sat_org = {s.id: s.organisation for s in problem.satellites}
    grants = {(p.antenna, p.organisation) for p in problem.policies or []}
    out = []
    for i in chosen:
        p = problem.passes[i]
        antenna = antennas[p.antenna]
        org = sat_org[p.satellite]
        if problem.policies is not None and antenna.organisation != org and (p.antenna, org) not in grants:
            out.append(Violation("not_allowed", (p.id,), f"pass {_describe(problem, i)}: no policy grants "
                                                         f"{p.antenna} (of {antenna.organisation}) to {org}"))
            continue
        for b in problem.blackouts:
            if b.antenna == p.antenna and (p.start.timestamp() - antenna.setup_s < b.end.timestamp()
                                           and p.end.timestamp() + antenna.teardown_s > b.start.timestamp()):
                out.append(Violation("not_allowed", (p.id,), f"pass {_describe(problem, i)} meets the blackout of "
                                                             f"{p.antenna} {format_utc(b.start)}..{format_utc(b.end)}"))
                break
    return out


def _sweep(intervals: list[tuple[float, float, int]]) -> list[tuple[int, int]]:
    """Return (earlier, later) pairs of overlapping half-open intervals, each later one against the latest-ending."""
    pairs = []
    intervals.sort()
    holder = -1
    holder_end = float("-inf")
    for lo, hi, i in intervals:
        if lo < holder_end:
            pairs.append((holder, i))
        if hi > holder_end:
            holder, holder_end = i, hi
    return pairs


def _antenna_overlaps(problem: Problem, chosen: list[int]) -> list[Violation]:
    setup = {a.id: a.setup_s for a in problem.antennas}
    teardown = {a.id: a.teardown_s for a in problem.antennas}
    groups: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for i in chosen:
        p = problem.passes[i]
        lo, hi = _offset_s(problem, i)
        groups[p.antenna].append((lo - setup[p.antenna], hi + teardown[p.antenna], i))
    out = []
    for antenna, intervals in groups.items():
        for a, b in _sweep(intervals):
            out.append(Violation("antenna_overlap", (problem.passes[a].id, problem.passes[b].id),
                                 f"antenna {antenna} is busy with {_describe(problem, a)} (plus setup "
                                 f"{setup[antenna]:g} s, teardown {teardown[antenna]:g} s) when "
                                 f"{_describe(problem, b)} needs it"))
    return out


def _satellite_overlaps(problem: Problem, chosen: list[int]) -> list[Violation]:
    redundant = {s.id for s in problem.satellites if s.allow_redundant}
    groups: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for i in chosen:
        p = problem.passes[i]
        if p.satellite not in redundant:
            groups[p.satellite].append((*_offset_s(problem, i), i))
    out = []
    for satellite, intervals in groups.items():
        for a, b in _sweep(intervals):
            out.append(Violation("satellite_overlap", (problem.passes[a].id, problem.passes[b].id),
                                 f"satellite {satellite} links to two antennas at once: {_describe(problem, a)} "
                                 f"and {_describe(problem, b)}"))
    return out


def _daily_caps(problem: Problem, chosen: list[int]) -> list[Violation]:
    spec = {s.id: s for s in problem.satellites}
    groups: dict[tuple[str, date], list[int]] = defaultdict(list)
    for i in chosen:
        p = problem.passes[i]
        if spec[p.satellite].max_contacts_per_day is not None:
            groups[(p.satellite, p.start.date())].append(i)
    out = []
    for (satellite, day), members in sorted(groups.items()):
        cap, left = spec[satellite].max_contacts_per_day, spec[satellite].cap_on(day)
        if left is not None and len(members) > left:
            ids = tuple(problem.passes[i].id for i in members)
            held = f" ({cap - left} held already)" if cap != left else ""
            out.append(Violation("daily_cap", ids, f"satellite {satellite} has {len(members)} contacts on {day} "
                                                   f"(UTC), more than its cap of {cap}{held}: {', '.join(ids)}"))
    return out


def _total_caps(problem: Problem, chosen: list[int]) -> list[Violation]:
    spec = {s.id: s for s in problem.satellites}
    groups: dict[str, list[int]] = defaultdict(list)
    for i in chosen:
        p = problem.passes[i]
        if spec[p.satellite].max_contacts is not None:
            groups[p.satellite].append(i)
    out = []
    for satellite, members in sorted(groups.items()):
        cap = spec[satellite].max_contacts
        if len(members) > cap:
            ids = tuple(problem.passes[i].id for i in members)
            out.append(Violation("total_cap", ids, f"satellite {satellite} has {len(members)} contacts, more than "
                                                   f"its total cap of {cap}: {', '.join(ids)}"))
    return out


def _weekly_hours(problem: Problem, chosen: list[int]) -> list[Violation]:
    if not problem.policies:
        return []
    owner = {a.id: a.organisation for a in problem.antennas}
    sat_org = {s.id: s.organisation for s in problem.satellites}
    hours = {(p.antenna, p.organisation): p.hours_per_week for p in problem.policies if p.hours_per_week is not None}
    used: dict[tuple[str, str, tuple[int, int]], list[int]] = defaultdict(list)
    for i in chosen:
        p = problem.passes[i]
        org = sat_org[p.satellite]
        if owner[p.antenna] != org and (p.antenna, org) in hours:
            iso = p.start.isocalendar()
            used[(p.antenna, org, (iso.year, iso.week))].append(i)
    out = []
    for (antenna, org, (year, week)), members in used.items():
        total_h = sum((problem.passes[i].end - problem.passes[i].start).total_seconds() for i in members) / HOUR_S
        if total_h > hours[(antenna, org)] + HOURS_SLACK_H:
            ids = tuple(problem.passes[i].id for i in members)
            out.append(Violation("weekly_hours", ids, f"{org} uses {total_h:.4f} h of {antenna} in ISO week "
                                                      f"{year}-W{week:02d}, more than the policy's "
                                                      f"{hours[(antenna, org)]:g} h per week: {', '.join(ids)}"))
    return out
