"""LEOP booking as a scheduling problem: k stations per orbit, LEOP before routine contacts, least churn.

Pure: no store.  ``build_leop_problem`` turns a ``LeopPlan``'s windows, the antennas the
campaign may use at each station, the antennas' fixed holds and the routine contacts that
may be bumped into a ``schedule.Problem``; ``read_plan`` reads a plan of it back.

The objective (maximised by the ordinary solvers, ``schedule.solve``):

- **revolutions** are numbered from the deployment: ``rev = floor((t - deploy_time) /
  period)`` with ``t`` the window's nominal TCA (its centre when it has no nominal pass);
- each revolution is a pseudo-satellite ``rev<n>`` (``allow_redundant``: several stations
  at once on purpose) with ``max_contacts = 1``, and, for ``k > 1``, a second one
  ``rev<n>+`` with ``max_contacts = k - 1``.  Every usable window appears once in each, on
  the same antenna at the same time, so the antenna rule lets at most one of the two copies
  be chosen.  The first contact of a revolution is worth ``FIRST_VALUE``, each further one
  ``LEOP_VALUE`` (plus ``ELEVATION_BONUS_PER_DEG`` times the window's best peak elevation
  in whole degrees, at most 90: a high pass is easier to catch).  Since ``FIRST_VALUE > LEOP_VALUE + 90 *
  ELEVATION_BONUS_PER_DEG``, covering a new revolution always beats a second station on a
  covered one: **coverage first, then k stations per orbit where possible**;
- a window is booked on one antenna of its station: the antennas the campaign may use there
  are tried in order, those with no fixed hold and no routine contact in the way first
  (fewest bumps), the caller's preference (own before shared) breaking ties;
- a LEOP candidate is the window clipped to the booking rules: never before ``now +
  lead_s``; at most ``max_contact_s`` long, then centred on the nominal TCA (the window's
  centre without one), on whole milliseconds;
- every LEOP candidate has priority ``LEOP_PRIORITY``, chosen so that **one LEOP contact
  outweighs every routine contact it could displace**: a routine contact weighs ``duration
  * (1 + max(request priority, 0)) <= 1001 * duration`` (request priorities are -1000..1000),
  and the routine contacts one LEOP contact can displace lie on its antenna, do not overlap
  one another and meet its hold, so their durations add up to at most ``MAX_DISPLACED_S``
  (a contact and a routine contact of at most an hour overhanging either end, turnarounds
  included).  So ``LEOP_VALUE * LEOP_PRIORITY = 1.1e7 > 1001 * 10_800 = 1.08e7``.
  ``build_leop_problem`` checks the inequality on the actual contacts too and raises the
  priority of the problem where a longer routine contact would break it (``priority`` in
  the result says which was used);
- routine contacts that may be bumped enter as candidates of their own (one pseudo-satellite
  each, ``routine:<id>``, of the antenna owner's organisation so that no sharing policy
  re-judges a booking already made), worth ``duration * (1 + max(request priority, 0))``:
  the solver keeps every one that no LEOP window needs, and among equally good LEOP plans
  keeps the most routine value.  So the plan books coverage first and then least churn;
- fixed holds (contacts in progress, other campaigns' contacts, contacts starting before
  ``now + lead_s``, uplink contacts) are not in the problem: a window whose antenna they
  hold is not a candidate there (``refused`` when no antenna of the station is left).

Antenna holds follow the store's guard exactly: a contact holds its antenna over ``[start,
end + turnaround_s)`` (``AntennaOption.turnaround_s``; no setup), so a plan never meets a
refusal from ``store.guards`` for a contact it kept.

Sharing policies and blackouts are the caller's to pass (``policies``, ``blackouts``): the
LEOP candidates belong to ``organisation`` and need a policy on another's antenna, with its
weekly hours; the routine pseudo-satellites belong to each antenna's owner and so are never
refused by them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from groundshare.errors import InvalidInputError
from groundshare.leop.windows import LeopPlan, LeopWindow
from groundshare.schedule import AntennaSpec, Blackout, Candidate, PolicySpec, Problem, SatelliteSpec
from groundshare.timeutil import format_utc, require_utc

#: Value of a further LEOP contact in a revolution (value units).
LEOP_VALUE = 1000.0
#: Value of a revolution's first LEOP contact: more than a further one plus the largest elevation bonus.
FIRST_VALUE = 1500.0
#: Value per degree of the window's best peak elevation (at most 90 deg: 90 value units).
ELEVATION_BONUS_PER_DEG = 1.0
#: Longest routine time one LEOP contact can displace, seconds: up to an hour of LEOP contact
#: and a routine contact of up to an hour overhanging each end (turnarounds included).
MAX_DISPLACED_S = 3 * 3600.0
#: The LEOP priority: LEOP_VALUE * LEOP_PRIORITY > 1001 * MAX_DISPLACED_S (see the module docstring).
LEOP_PRIORITY = 11_000.0
#: Most stations per orbit a campaign may ask for.
MAX_STATIONS_PER_ORBIT = 20

assert LEOP_VALUE * LEOP_PRIORITY > 1001 * MAX_DISPLACED_S
assert FIRST_VALUE > LEOP_VALUE + 90 * ELEVATION_BONUS_PER_DEG


@dataclass(frozen=True)
class AntennaOption:
    """An antenna the campaign may use at a window's station: its problem id, owner and turnaround (s).

    ``blackouts``: (start, end) periods the sharing policy keeps the campaign off it.
    """

    id: str
    station: str
    organisation: str
    turnaround_s: float = 0.0
    blackouts: tuple[tuple[datetime, datetime], ...] = ()


@dataclass(frozen=True)
class Hold:
    """A contact that holds an antenna and may not move: ``[start, busy_until)``, with a label for refusals."""

    antenna: str
    start: datetime
    busy_until: datetime
    label: str = "an existing booking"


@dataclass(frozen=True)
class RoutineContact:
    """A routine contact that LEOP may bump: its id, antenna, times, request priority and owner's organisation."""

    id: str
    antenna: str
    start: datetime
    end: datetime
    priority: int = 0

    @property
    def weight(self) -> float:
        return (self.end - self.start).total_seconds() * (1.0 + max(self.priority, 0))


@dataclass(frozen=True)
class LeopCandidate:
    """One window on one antenna, clipped to the booking rules, in revolution ``rev``."""

    pass_id: str
    rev: int
    window_index: int
    window: LeopWindow
    antenna: str
    start: datetime
    end: datetime


@dataclass
class LeopProblem:
    """The problem and what its pass ids stand for; ``refused``: (window index, reason) kept out before solving."""

    plan: LeopPlan
    problem: Problem
    stations_per_orbit: int
    candidates: dict[str, LeopCandidate]
    routine: dict[str, RoutineContact]
    window_revs: dict[int, int]
    refused: list[tuple[int, str]] = field(default_factory=list)
    priority: float = LEOP_PRIORITY

    @property
    def period_s(self) -> float:
        return self.plan.deployment.period_s

    @property
    def orbits(self) -> int:
        """Return how many revolutions the plan's horizon holds (from the deployment to its end)."""
        return max(0, math.floor((self.plan.end - self.plan.deployment.deploy_time).total_seconds() / self.period_s)
                   + 1)


@dataclass(frozen=True)
class Revolution:
    """One revolution: its number, start, how many windows it has and the LEOP contacts chosen in it."""

    rev: int
    start: datetime
    windows: int
    booked: tuple[LeopCandidate, ...]


@dataclass(frozen=True)
class LeopBooking:
    """A plan read back: per revolution, the LEOP contacts chosen, and the routine contacts to bump."""

    orbits: int
    stations_per_orbit: int
    revolutions: tuple[Revolution, ...]
    chosen: tuple[LeopCandidate, ...]
    bumped: tuple[RoutineContact, ...]

    @property
    def orbits_covered(self) -> int:
        return sum(1 for r in self.revolutions if r.booked)

    @property
    def orbits_at_k(self) -> int:
        return sum(1 for r in self.revolutions if len(r.booked) >= self.stations_per_orbit)

    def to_dict(self) -> dict[str, Any]:
        return {"orbits": self.orbits, "orbits_covered": self.orbits_covered, "orbits_at_k": self.orbits_at_k,
                "stations_per_orbit": self.stations_per_orbit,
                "revolutions": [{"rev": r.rev, "start": format_utc(r.start), "windows": r.windows,
                                 "booked": [{"antenna": c.antenna, "station": c.window.station,
                                             "start": format_utc(c.start), "end": format_utc(c.end)}
                                            for c in r.booked]} for r in self.revolutions],
                "bumped": [c.id for c in self.bumped]}


def revolution_of(plan: LeopPlan, window: LeopWindow) -> int:
    """Return the revolution of a window: ``floor((nominal TCA or centre - deploy_time) / period)``, at least 0."""
    t = window.tca if window.tca is not None else window.earliest_aos + (window.latest_los - window.earliest_aos) / 2
    return max(0, math.floor((t - plan.deployment.deploy_time).total_seconds() / plan.deployment.period_s))


def build_leop_problem(plan: LeopPlan, antennas: Mapping[str, Sequence[AntennaOption]], *, organisation: str,
                       stations_per_orbit: int, now: datetime, lead_s: float = 0.0,
                       max_contact_s: float | None = None, holds: Sequence[Hold] = (),
                       routine: Sequence[RoutineContact] = (), booked: Sequence[RoutineContact] = (),
                       policies: Sequence[PolicySpec] | None = None,
                       blackouts: Sequence[Blackout] = ()) -> LeopProblem:
    """Return the LEOP booking problem of ``plan`` (see the module docstring).

    ``antennas``: per station name, the antennas the campaign may use there, in preference
    order (own first).  ``holds``: fixed holds; ``routine``: contacts that may be bumped;
    ``booked``: this campaign's contacts already booked: a window one of them meets is that
    contact (same antenna and times, locked), so a second run books nothing twice.
    """
    if isinstance(stations_per_orbit, bool) or not isinstance(stations_per_orbit, int) or not (
            1 <= stations_per_orbit <= MAX_STATIONS_PER_ORBIT):
        raise InvalidInputError(f"stations_per_orbit is {stations_per_orbit!r}; expected a whole number in "
                                f"[1, {MAX_STATIONS_PER_ORBIT}]", loc=("stations_per_orbit",))
    now = require_utc(now, "now")
    first = now + timedelta(seconds=lead_s)
    k = stations_per_orbit
    holds_of: dict[str, list[Hold]] = defaultdict(list)
    for h in holds:
        holds_of[h.antenna].append(h)
    routine_of: dict[str, list[RoutineContact]] = defaultdict(list)
    for c in routine:
        routine_of[c.antenna].append(c)
    options = {a.id: a for opts in antennas.values() for a in opts}
    for c in routine:
        if c.antenna not in options:
            raise InvalidInputError(f"routine contact {c.id} is on antenna {c.antenna}, not one of the campaign's",
                                    loc=("routine",))

    candidates: dict[str, LeopCandidate] = {}
    passes: list[Candidate] = []
    refused: list[tuple[int, str]] = []
    window_revs: dict[int, int] = {}
    revs: set[int] = set()
    priority = LEOP_PRIORITY
    locked: list[str] = []
    locked_in: dict[int, int] = defaultdict(int)
    for index, window in enumerate(plan.windows):
        rev = revolution_of(plan, window)
        window_revs[index] = rev
        clipped = _clip(window, first, max_contact_s)
        if clipped is None:
            refused.append((index, f"the window at {window.station} ends at {format_utc(window.latest_los)}, before "
                                   f"a contact may start ({format_utc(first)})"))
            continue
        start, end = clipped
        mine = next((b for b in booked if options.get(b.antenna) is not None
                     and options[b.antenna].station == window.station
                     and b.start < window.latest_los and b.end > window.earliest_aos), None)
        if mine is not None:
            revs.add(rev)
            suffix = "" if locked_in[rev] == 0 or k == 1 else "+"
            locked_in[rev] += 1
            pass_id = f"w{index}:a{mine.antenna}:rev{rev}{suffix}"
            candidates[pass_id] = LeopCandidate(pass_id, rev, index, window, mine.antenna, mine.start, mine.end)
            passes.append(Candidate(id=pass_id, satellite=f"rev{rev}{suffix}", antenna=mine.antenna,
                                    start=mine.start, end=mine.end, value=FIRST_VALUE if suffix == "" else LEOP_VALUE))
            if locked_in[rev] <= k:
                locked.append(pass_id)
            continue
        usable = []
        for order, a in enumerate(antennas.get(window.station, ())):
            busy_to = end + timedelta(seconds=a.turnaround_s)
            hold = next((h for h in holds_of[a.id] if h.start < busy_to and h.busy_until > start), None)
            if hold is not None or any(b0 < end and b1 > start for b0, b1 in a.blackouts):
                continue
            in_way = [c for c in routine_of[a.id]
                      if c.start < busy_to and c.end + timedelta(seconds=options[c.antenna].turnaround_s) > start]
            usable.append((len(in_way), order, a, in_way))
        if not usable:
            why = ("no antenna the campaign may use" if not antennas.get(window.station) else
                   "every antenna the campaign may use there is held (a contact in progress, another campaign's, "
                   "one starting too soon, or an uplink)")
            refused.append((index, f"the window at {window.station} from {format_utc(start)}: {why}"))
            continue
        _, _, antenna, in_way = min(usable, key=lambda u: (u[0], u[1]))
        displaced = sum(c.weight for c in in_way)
        # Whole degrees: LEOP weights stay whole multiples of the priority, exact in CP-SAT's integer objective.
        bonus = ELEVATION_BONUS_PER_DEG * round(min(max(window.best_max_elevation_deg, 0.0), 90.0))
        if LEOP_VALUE * priority <= displaced:  # the inequality, checked on the contacts at hand
            priority = math.ceil((displaced + 1.0) / LEOP_VALUE)
        revs.add(rev)
        for suffix, value in (("", FIRST_VALUE), ("+", LEOP_VALUE))[: 1 if k == 1 else 2]:
            pass_id = f"w{index}:a{antenna.id}:rev{rev}{suffix}"
            candidates[pass_id] = LeopCandidate(pass_id, rev, index, window, antenna.id, start, end)
            passes.append(Candidate(id=pass_id, satellite=f"rev{rev}{suffix}", antenna=antenna.id, start=start,
                                    end=end, value=value + bonus, priority=1.0))
    passes = [Candidate(p.id, p.satellite, p.antenna, p.start, p.end, p.value, priority) for p in passes]

    routine_ids: dict[str, RoutineContact] = {}
    sats = []
    for rev in sorted(revs):
        sats.append(SatelliteSpec(f"rev{rev}", organisation, allow_redundant=True, max_contacts=1))
        if k > 1:
            sats.append(SatelliteSpec(f"rev{rev}+", organisation, allow_redundant=True, max_contacts=k - 1))
    for c in routine:
        pass_id = f"routine:{c.id}"
        routine_ids[pass_id] = c
        sats.append(SatelliteSpec(pass_id, options[c.antenna].organisation, allow_redundant=True))
        passes.append(Candidate(id=pass_id, satellite=pass_id, antenna=c.antenna, start=c.start, end=c.end,
                                value=(c.end - c.start).total_seconds(), priority=1.0 + max(c.priority, 0)))
    specs = [AntennaSpec(id=a.id, organisation=a.organisation, setup_s=0.0, teardown_s=a.turnaround_s)
             for a in options.values()]
    starts = [p.start for p in passes] + [plan.start]
    ends = [p.end for p in passes] + [plan.end]
    problem = Problem(start=min(starts), end=max(max(ends), min(starts) + timedelta(seconds=1)), antennas=specs,
                      satellites=sats, passes=passes, locked=locked,
                      policies=None if policies is None else list(policies), blackouts=list(blackouts))
    return LeopProblem(plan=plan, problem=problem, stations_per_orbit=k, candidates=candidates, routine=routine_ids,
                       window_revs=window_revs, refused=refused, priority=priority)


def read_plan(lp: LeopProblem, contacts: Sequence[str]) -> LeopBooking:
    """Return the LEOP contacts a plan (pass ids of ``lp.problem``) chooses per revolution, and the bumped contacts."""
    chosen_ids = set(contacts)
    chosen = sorted((lp.candidates[c] for c in chosen_ids if c in lp.candidates), key=lambda c: (c.start, c.antenna))
    bumped = tuple(c for pass_id, c in lp.routine.items() if pass_id not in chosen_ids)
    windows_of: dict[int, int] = defaultdict(int)
    for rev in lp.window_revs.values():
        windows_of[rev] += 1
    deploy = lp.plan.deployment.deploy_time
    revolutions = []
    for rev in range(lp.orbits):
        booked = tuple(c for c in chosen if c.rev == rev)
        revolutions.append(Revolution(rev, deploy + timedelta(seconds=rev * lp.period_s), windows_of.get(rev, 0),
                                      booked))
    return LeopBooking(orbits=lp.orbits, stations_per_orbit=lp.stations_per_orbit, revolutions=tuple(revolutions),
                       chosen=tuple(chosen), bumped=bumped)


def _clip(window: LeopWindow, first: datetime, max_contact_s: float | None) -> tuple[datetime, datetime] | None:
    """Return the window clipped to the booking rules on whole milliseconds, or None when nothing is left."""
    start, end = max(window.earliest_aos, first), window.latest_los
    if max_contact_s is not None and (end - start).total_seconds() > max_contact_s:
        centre = window.tca if window.tca is not None else window.earliest_aos + (window.latest_los -
                                                                                  window.earliest_aos) / 2
        half = timedelta(seconds=max_contact_s / 2.0)
        lo = min(max(start, centre - half), end - 2 * half)
        start, end = lo, lo + 2 * half
    start, end = _ms_up(start), _ms_down(end)
    if end <= start:
        return None
    return start, end


def _ms_down(t: datetime) -> datetime:
    return t.replace(microsecond=t.microsecond - t.microsecond % 1000)


def _ms_up(t: datetime) -> datetime:
    down = _ms_down(t)
    return down if down == t else down + timedelta(milliseconds=1)
