"""Why a request was left unserved: one ``Reason`` per cause, naming the rule or the contact in the way.

A request is a satellite, a window and a minimum contact time, asking for ``count``
contacts (``Request``). With ``requests=None`` every satellite asks for one contact over
the whole horizon. A request is served when the plan holds ``count`` of its candidates;
for each one that is not, every candidate pass is sorted into the first cause that fits,
and each cause becomes a ``Reason``:

- ``no_visibility``: no candidate pass at all (the satellite never rises over an antenna
  in the window for the minimum time);
- ``link``: a candidate whose value is 0. The scheduler values a pass by what the link
  budget brings down (or its duration), so a zero value means the link does not close;
- ``not_allowed``: the pass is on an antenna whose owner grants the satellite's
  organisation no policy, or it meets a blackout (both named);
- ``busy``: a booking made before this plan holds the antenna or the satellite (named
  as the caller of ``explain_unserved`` may see it; see ``LeftOut``);
- ``cap``: the satellite already has its ``max_contacts_per_day`` that UTC day, or its
  ``max_contacts`` over the whole problem;
- ``policy_hours``: the policy's ``hours_per_week`` would be exceeded that week (with the
  policy as stored and the hours already booked when ``policy_notes`` says so);
- ``blocked``: a chosen contact holds the antenna (busy intervals with setup/teardown
  overlap), or the satellite is already linked elsewhere; the blocking contacts are named
  with their satellite's organisation and priority;
- ``not_chosen``: nothing in the rules stops the pass; the solver preferred other
  contacts (a lower value, or a time limit).

A problem holds only the passes a plan may choose.  Its maker (``store.planning``) keeps
out passes that a rule outside the problem refuses, such as a sharing policy's blackout or
an existing booking, and hands them over as ``left_out``: each with its request, its kind
and a note that already says what stands in the way.  They are sorted with the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from groundshare.errors import InvalidInputError
from groundshare.schedule.problem import HOURS_SLACK_H, Problem
from groundshare.timeutil import format_utc, require_utc
from groundshare.units import HOUR_S

# Order in which a candidate's causes are tried; a Reason list is sorted the same way.
KINDS = ("no_visibility", "link", "not_allowed", "busy", "cap", "policy_hours", "blocked", "not_chosen")


@dataclass(frozen=True)
class Request:
    """A satellite asking for ``count`` contacts of at least ``min_duration_s`` inside [start, end)."""

    satellite: str
    start: datetime | None = None
    end: datetime | None = None
    min_duration_s: float = 0.0
    count: int = 1
    id: str | None = None

    @property
    def name(self) -> str:
        return self.id if self.id is not None else self.satellite


@dataclass(frozen=True)
class LeftOut:
    """A pass of ``request`` (its ``Request.name``) kept out of the problem: its id, ``kind`` and ``note``.

    ``note`` is the whole sentence shown, e.g. ``"pass r3:a4:...: antenna 4 is busy from
    ... to ... (an existing booking)"``; it names only what the reader may see, and holds no
    ``"; "`` (which separates the notes of a reason).
    """

    request: str
    pass_id: str
    kind: str
    note: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidInputError(f"a left-out pass's kind must be one of {', '.join(KINDS)}, got {self.kind!r}",
                                    loc=("kind",))


@dataclass(frozen=True)
class Blocker:
    """A chosen contact in the way: its pass id, satellite, that satellite's organisation and priority."""

    pass_id: str
    satellite: str
    organisation: str
    priority: float


@dataclass(frozen=True)
class Reason:
    """One cause for an unserved request, with the candidate passes it applies to."""

    request: str
    satellite: str
    organisation: str
    kind: str
    message: str
    pass_ids: tuple[str, ...] = ()
    blockers: tuple[Blocker, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["pass_ids"] = list(self.pass_ids)
        out["blockers"] = [asdict(b) for b in self.blockers]
        return out


def explain_unserved(problem: Problem, contacts: Sequence[str], *,
                     requests: Sequence[Request] | None = None, left_out: Sequence[LeftOut] = (),
                     policy_notes: Mapping[tuple[str, str], str] | None = None) -> list[Reason]:
    """Return the reasons why each request is not (fully) served by the plan ``contacts``.

    Served requests get no reason. The list follows the requests' order, and within a
    request the order of ``KINDS``.  ``left_out`` are passes kept out of the problem (see
    the module docstring); ``policy_notes`` maps ``(antenna, organisation)`` to a sentence
    on that policy as stored (its weekly hours, those already booked), used by
    ``policy_hours`` reasons in place of the problem's bare figure.
    """
    if requests is None:
        requests = [Request(satellite=s.id) for s in problem.satellites]
    chosen = np.zeros(len(problem.passes), dtype=bool)
    chosen[problem.indexes(contacts)] = True
    left_of: dict[str, list[LeftOut]] = {}
    for lo in left_out:
        left_of.setdefault(lo.request, []).append(lo)
    out: list[Reason] = []
    for request in requests:
        out.extend(_explain_one(problem, chosen, request, left_of.get(request.name, []), policy_notes or {}))
    return out


def _window_s(problem: Problem, request: Request) -> tuple[float, float]:
    lo_s = 0.0 if request.start is None else (require_utc(request.start, "start") - problem.start).total_seconds()
    hi_s = ((problem.end - problem.start).total_seconds() if request.end is None
            else (require_utc(request.end, "end") - problem.start).total_seconds())
    return lo_s, hi_s


def _explain_one(problem: Problem, chosen: np.ndarray, request: Request, left_out: Sequence[LeftOut],
                 policy_notes: Mapping[tuple[str, str], str]) -> list[Reason]:
    sat_index = problem.satellite_index.get(request.satellite)
    organisation = problem.satellites[sat_index].organisation if sat_index is not None else "?"
    lo_s, hi_s = _window_s(problem, request)

    def reason(kind: str, message: str, ids: Sequence[str] = (), blockers: Sequence[Blocker] = ()) -> Reason:
        return Reason(request=request.name, satellite=request.satellite, organisation=organisation, kind=kind,
                      message=message, pass_ids=tuple(ids), blockers=tuple(blockers))

    window = f"{format_utc(problem.start + _td(lo_s))}..{format_utc(problem.start + _td(hi_s))}"
    if sat_index is None:
        return [reason("no_visibility", f"satellite {request.satellite} is not in the problem")]
    inside_s = np.minimum(problem.end_s, hi_s) - np.maximum(problem.start_s, lo_s)
    cand = np.flatnonzero((problem.satellite == sat_index) & (inside_s >= max(request.min_duration_s, 1e-9)))
    if np.count_nonzero(chosen[cand]) >= request.count:
        return []
    what = f"satellite {request.satellite} ({organisation})"
    if len(cand) == 0 and not left_out:
        longer = f" for {request.min_duration_s:g} s or more" if request.min_duration_s > 0 else ""
        return [reason("no_visibility", f"{what} has no pass over any antenna{longer} in {window}")]

    groups: dict[str, list[str]] = {}
    notes: dict[str, list[str]] = {}
    blockers: dict[str, Blocker] = {}
    for lo in left_out:
        groups.setdefault(lo.kind, []).append(lo.pass_id)
        notes.setdefault(lo.kind, []).append(lo.note)
    for i in cand[~chosen[cand]]:
        kind, note, blocking = _cause(problem, chosen, int(i), policy_notes)
        groups.setdefault(kind, []).append(problem.passes[int(i)].id)
        notes.setdefault(kind, []).append(note)
        for b in blocking:
            blockers.setdefault(b.pass_id, b)
    got = int(np.count_nonzero(chosen[cand]))
    head = f"{what} has {got} of {request.count} contact(s) in {window}"
    out = []
    for kind in KINDS:
        if kind not in groups:
            continue
        shown = "; ".join(notes[kind][:5]) + (f"; and {len(notes[kind]) - 5} more" if len(notes[kind]) > 5 else "")
        kind_blockers = list(blockers.values()) if kind == "blocked" else []  # only "blocked" has blockers
        out.append(reason(kind, f"{head}: {shown}", groups[kind], kind_blockers))
    return out


def _td(seconds: float) -> timedelta:
    return timedelta(seconds=float(seconds))


def blocking_contacts(problem: Problem, chosen: np.ndarray, i: int) -> list[Blocker]:
    """Return the chosen contacts that hold pass ``i``'s antenna or its satellite.

    ``chosen`` is a boolean mask over passes; pass ``i`` itself is never its own blocker.
    """
    overlap_antenna = ((problem.antenna == problem.antenna[i]) & (problem.busy_start_s < problem.busy_end_s[i])
                       & (problem.busy_end_s > problem.busy_start_s[i]))
    overlap_sat = np.zeros_like(overlap_antenna)
    if not problem.satellites[problem.satellite[i]].allow_redundant:
        overlap_sat = ((problem.satellite == problem.satellite[i]) & (problem.start_s < problem.end_s[i])
                       & (problem.end_s > problem.start_s[i]))
    hits = np.flatnonzero(chosen & (overlap_antenna | overlap_sat))
    return [Blocker(pass_id=problem.passes[j].id, satellite=problem.passes[j].satellite,
                    organisation=problem.satellites[problem.satellite[j]].organisation,
                    priority=problem.passes[j].priority) for j in hits if j != i]


def _cause(problem: Problem, chosen: np.ndarray, i: int,
           policy_notes: Mapping[tuple[str, str], str]) -> tuple[str, str, list[Blocker]]:
    """Return (kind, note, blockers) for one unchosen candidate pass ``i``."""
    p = problem.passes[i]
    org = problem.satellite_org[i]
    if problem.weight[i] <= 0:
        return "link", f"pass {p.id} on {p.antenna} has value 0 (the link does not close)", []
    if not problem.allowed[i]:
        owner = problem.antenna_org[i]
        if problem.policies is not None and owner != org and problem.policy_for(p.antenna, org) is None:
            return "not_allowed", f"pass {p.id}: {owner} grants {org} no policy on antenna {p.antenna}", []
        for b in problem.blackouts:
            b0_s = (b.start - problem.start).total_seconds()
            b1_s = (b.end - problem.start).total_seconds()
            if b.antenna == p.antenna and problem.busy_start_s[i] < b1_s and problem.busy_end_s[i] > b0_s:
                return "not_allowed", (f"pass {p.id}: antenna {p.antenna} is blacked out "
                                       f"{format_utc(b.start)}..{format_utc(b.end)}"), []
        return "not_allowed", f"pass {p.id} is not allowed on {p.antenna}", []
    sat = problem.satellites[problem.satellite[i]]
    left = problem.daily_cap(int(problem.satellite[i]), int(problem.day[i]))
    if left is not None:
        same_day = chosen & (problem.satellite == problem.satellite[i]) & (problem.day == problem.day[i])
        if np.count_nonzero(same_day) >= left:
            return "cap", (f"pass {p.id}: satellite {sat.id} already has its {sat.max_contacts_per_day} "
                           f"contact(s) that UTC day"), []
    if sat.max_contacts is not None:
        mine = chosen & (problem.satellite == problem.satellite[i])
        if np.count_nonzero(mine) >= sat.max_contacts:
            return "cap", (f"pass {p.id}: satellite {sat.id} already has its {sat.max_contacts} contact(s) in "
                           "the whole plan"), []
    policy = problem.policy_for(p.antenna, org) if problem.antenna_org[i] != org else None
    if policy is not None and policy.hours_per_week is not None:
        same = (chosen & (problem.antenna == problem.antenna[i]) & (problem.satellite_org == org)
                & (problem.week == problem.week[i]))
        used_h = float(np.sum(problem.end_s[same] - problem.start_s[same])) / HOUR_S
        if used_h + (problem.end_s[i] - problem.start_s[i]) / HOUR_S > policy.hours_per_week + HOURS_SLACK_H:
            stored = policy_notes.get((p.antenna, org))
            if stored is not None:
                return "policy_hours", (f"pass {p.id}: {stored}, and this plan already uses {used_h:.2f} h of the "
                                        f"{policy.hours_per_week:.2f} h left that week"), []
            return "policy_hours", (f"pass {p.id}: policy of {problem.antenna_org[i]} on {p.antenna} allows {org} "
                                    f"{policy.hours_per_week:g} h per week, {used_h:.2f} h already used"), []
    blocking = blocking_contacts(problem, chosen, i)
    if blocking:
        names = ", ".join(f"{b.pass_id} ({b.organisation}, priority {b.priority:g})" for b in blocking)
        return "blocked", f"pass {p.id} on {p.antenna} is blocked by contact {names}", blocking
    return "not_chosen", f"pass {p.id} on {p.antenna} is free but was not chosen", []
