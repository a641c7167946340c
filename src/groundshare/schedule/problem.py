"""The scheduling problem: candidate passes on antennas, and the rules a plan must keep.

A ``Problem`` is what anyone can hand to the scheduler (a researcher, a test, the
service): antennas, satellites and candidate passes, each pass with a value. A plan is a
set of pass ids. It must keep:

- **the antenna rule**: an antenna serves one pass at a time, busy over
  ``[start - setup_s, end + teardown_s)``; two passes whose busy intervals overlap on one
  antenna cannot both be chosen;
- **the satellite rule**: a satellite links to one antenna at a time: two passes of one
  satellite overlapping in ``[start, end)`` cannot both be chosen, unless the satellite
  allows redundant contacts (a critical pass on two stations on purpose);
- **the daily cap**: at most ``max_contacts_per_day`` chosen passes per satellite per UTC
  day (a pass counts on the day it starts), less the contacts it already holds that day
  outside the problem (``contacts_held``);
- **the total cap**: at most ``max_contacts`` chosen passes per satellite over the whole
  problem (LEOP booking: one pseudo-satellite per revolution, at most k stations each);
- **locked passes** (already booked inside the frozen window) are in every plan;
- **sharing policies** (when the problem has any): a pass on an antenna of another
  organisation needs a policy granting the satellite's organisation that antenna; a
  policy's ``hours_per_week`` caps the chosen pass time per ISO (UTC) week;
- **blackouts**: a pass whose busy interval meets one of its antenna's blackouts
  cannot be chosen.

The objective is the sum of chosen passes' values (``value`` times ``priority``).

JSON form (``Problem.from_json`` / ``to_json``), times ISO 8601 UTC::

    {"start": "2025-11-07T00:00:00Z", "end": "2025-11-08T00:00:00Z",
     "antennas": [{"id": "daejeon/uhf", "organisation": "KARI", "setup_s": 30, "teardown_s": 60}],
     "satellites": [{"id": "49263", "organisation": "AEM", "max_contacts_per_day": 4}],
     "passes": [{"id": "p1", "satellite": "49263", "antenna": "daejeon/uhf",
                 "start": "2025-11-07T00:15:28Z", "end": "2025-11-07T00:22:58Z", "value": 450}]}

Extra keys extend it: per pass ``priority`` (a weight, default 1); per satellite
``allow_redundant`` (default false) and ``max_contacts`` (the total cap, default none);
``locked`` (pass ids); ``policies``
(``[{"antenna", "organisation", "hours_per_week"}]``); ``blackouts``
(``[{"antenna", "start", "end"}]``); ``entitlements`` (``{organisation: share}``); per
antenna ``az_slew_deg_s`` and per pass ``aos_azimuth_deg``/``los_azimuth_deg`` (not used
by the rules above; kept for slew-aware setup).

Inside, a problem is a struct of numpy arrays over passes (``start_s``/``end_s`` are
seconds from ``start``; ``antenna``/``satellite`` are indexes), which the solvers, the
bound and the validator share.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from groundshare.errors import InvalidInputError
from groundshare.timeutil import format_utc, parse_utc, require_utc
from groundshare.units import DAY_S, WEEK_S

# Slack on a policy's weekly hours (h): a plan exactly at the cap keeps it.
HOURS_SLACK_H = 1e-9


@dataclass(frozen=True)
class AntennaSpec:
    """A bookable antenna: its owner and the time it needs before and after a pass (s)."""

    id: str
    organisation: str
    setup_s: float = 0.0
    teardown_s: float = 0.0
    az_slew_deg_s: float | None = None


@dataclass(frozen=True)
class SatelliteSpec:
    """A satellite: its owner, its daily contact cap (None: no cap), whether it may use two antennas at once.

    ``contacts_held``: (UTC day, count) of contacts it already holds outside the problem;
    they count against the daily cap of their day.  ``max_contacts``: the most chosen passes
    over the whole problem (None: no total cap).
    """

    id: str
    organisation: str
    max_contacts_per_day: int | None = None
    allow_redundant: bool = False
    contacts_held: tuple[tuple[date, int], ...] = ()
    max_contacts: int | None = None

    def cap_on(self, day: date) -> int | None:
        """Return how many more contacts it may have on UTC ``day`` (None: no cap)."""
        if self.max_contacts_per_day is None:
            return None
        held = sum(n for d, n in self.contacts_held if d == day)
        return max(self.max_contacts_per_day - held, 0)


@dataclass(frozen=True)
class Candidate:
    """One pass of a satellite over an antenna that a plan may choose, worth ``value * priority``."""

    id: str
    satellite: str
    antenna: str
    start: datetime
    end: datetime
    value: float
    priority: float = 1.0
    aos_azimuth_deg: float | None = None
    los_azimuth_deg: float | None = None

    @property
    def weight(self) -> float:
        return self.value * self.priority


@dataclass(frozen=True)
class PolicySpec:
    """A grant of ``antenna`` to ``organisation``, with an optional weekly cap in hours."""

    antenna: str
    organisation: str
    hours_per_week: float | None = None


@dataclass(frozen=True)
class Blackout:
    """A period when ``antenna`` is not available."""

    antenna: str
    start: datetime
    end: datetime


@dataclass
class Problem:
    """Antennas, satellites, candidate passes and the rules; see the module docstring."""

    start: datetime
    end: datetime
    antennas: list[AntennaSpec]
    satellites: list[SatelliteSpec]
    passes: list[Candidate]
    locked: list[str] = field(default_factory=list)
    policies: list[PolicySpec] | None = None
    blackouts: list[Blackout] = field(default_factory=list)
    entitlements: dict[str, float] | None = None

    def __post_init__(self) -> None:
        self.start = require_utc(self.start, "start")
        self.end = require_utc(self.end, "end")
        if self.end <= self.start:
            raise InvalidInputError(f"end {format_utc(self.end)} must be after start {format_utc(self.start)}",
                                    loc=("end",))
        _check_unique([a.id for a in self.antennas], "antennas")
        _check_unique([s.id for s in self.satellites], "satellites")
        _check_unique([p.id for p in self.passes], "passes")
        antennas = {a.id for a in self.antennas}
        satellites = {s.id for s in self.satellites}
        for i, p in enumerate(self.passes):
            if p.antenna not in antennas:
                raise InvalidInputError(f"pass {p.id!r} names antenna {p.antenna!r}, which is not in 'antennas'",
                                        loc=("passes", str(i), "antenna"))
            if p.satellite not in satellites:
                raise InvalidInputError(f"pass {p.id!r} names satellite {p.satellite!r}, which is not in "
                                        "'satellites'", loc=("passes", str(i), "satellite"))
            if not p.end > p.start:
                raise InvalidInputError(f"pass {p.id!r} ends at {format_utc(p.end)}, not after its start "
                                        f"{format_utc(p.start)}", loc=("passes", str(i), "end"))
            if not (math.isfinite(p.value) and p.value >= 0 and math.isfinite(p.priority) and p.priority >= 0):
                raise InvalidInputError(f"pass {p.id!r} has value {p.value!r} and priority {p.priority!r}; both "
                                        "must be finite and 0 or more", loc=("passes", str(i), "value"))
        ids = {p.id for p in self.passes}
        for i, pass_id in enumerate(self.locked):
            if pass_id not in ids:
                raise InvalidInputError(f"locked pass {pass_id!r} is not in 'passes'", loc=("locked", str(i)))
        for i, policy in enumerate(self.policies or []):
            if policy.antenna not in antennas:
                raise InvalidInputError(f"policy names antenna {policy.antenna!r}, which is not in 'antennas'",
                                        loc=("policies", str(i), "antenna"))
        for i, blackout in enumerate(self.blackouts):
            if blackout.antenna not in antennas:
                raise InvalidInputError(f"blackout names antenna {blackout.antenna!r}, which is not in 'antennas'",
                                        loc=("blackouts", str(i), "antenna"))

    # Arrays over passes, in ``self.passes`` order.

    @cached_property
    def antenna_index(self) -> dict[str, int]:
        return {a.id: i for i, a in enumerate(self.antennas)}

    @cached_property
    def satellite_index(self) -> dict[str, int]:
        return {s.id: i for i, s in enumerate(self.satellites)}

    @cached_property
    def pass_index(self) -> dict[str, int]:
        return {p.id: i for i, p in enumerate(self.passes)}

    @cached_property
    def start_s(self) -> np.ndarray:
        """Pass starts, seconds from ``self.start``."""
        return np.array([(p.start - self.start).total_seconds() for p in self.passes], dtype=float)

    @cached_property
    def end_s(self) -> np.ndarray:
        return np.array([(p.end - self.start).total_seconds() for p in self.passes], dtype=float)

    @cached_property
    def antenna(self) -> np.ndarray:
        """Antenna index of each pass."""
        return np.array([self.antenna_index[p.antenna] for p in self.passes], dtype=np.int64)

    @cached_property
    def satellite(self) -> np.ndarray:
        """Satellite index of each pass."""
        return np.array([self.satellite_index[p.satellite] for p in self.passes], dtype=np.int64)

    @cached_property
    def weight(self) -> np.ndarray:
        """Objective coefficient of each pass: value times priority."""
        return np.array([p.weight for p in self.passes], dtype=float)

    @cached_property
    def busy_start_s(self) -> np.ndarray:
        """Start of the antenna's hold for each pass: start minus the antenna's setup."""
        setup = np.array([a.setup_s for a in self.antennas], dtype=float)
        return self.start_s - setup[self.antenna] if len(self.passes) else self.start_s

    @cached_property
    def busy_end_s(self) -> np.ndarray:
        """End of the antenna's hold for each pass: end plus the antenna's teardown."""
        teardown = np.array([a.teardown_s for a in self.antennas], dtype=float)
        return self.end_s + teardown[self.antenna] if len(self.passes) else self.end_s

    def day_date(self, day: int) -> date:
        """Return the UTC date of day index ``day`` (as in ``self.day``)."""
        return self.start.date() + timedelta(days=int(day))

    def daily_cap(self, satellite: int, day: int) -> int | None:
        """Return how many passes satellite index ``satellite`` may have on day index ``day`` (None: no cap)."""
        return self.satellites[satellite].cap_on(self.day_date(day))

    def total_cap(self, satellite: int) -> int | None:
        """Return the most passes satellite index ``satellite`` may have in the whole problem (None: no cap)."""
        return self.satellites[satellite].max_contacts

    @cached_property
    def day(self) -> np.ndarray:
        """UTC day of each pass start, counted from the UTC day of ``self.start``."""
        midnight = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        offset_s = (self.start - midnight).total_seconds()
        return np.floor((self.start_s + offset_s) / DAY_S).astype(np.int64)

    @cached_property
    def week(self) -> np.ndarray:
        """ISO week of each pass start (Monday 00:00 UTC), counted from the week of ``self.start``."""
        midnight = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        monday = midnight - timedelta(days=midnight.weekday())
        offset_s = (self.start - monday).total_seconds()
        return np.floor((self.start_s + offset_s) / WEEK_S).astype(np.int64)

    @cached_property
    def antenna_org(self) -> np.ndarray:
        """Owner organisation of each pass's antenna (object array of names)."""
        owners = np.array([a.organisation for a in self.antennas], dtype=object)
        return owners[self.antenna] if len(self.passes) else np.array([], dtype=object)

    @cached_property
    def satellite_org(self) -> np.ndarray:
        """Owner organisation of each pass's satellite (object array of names)."""
        owners = np.array([s.organisation for s in self.satellites], dtype=object)
        return owners[self.satellite] if len(self.passes) else np.array([], dtype=object)

    @cached_property
    def organisations(self) -> list[str]:
        """Every organisation named by an antenna or a satellite, sorted."""
        return sorted({a.organisation for a in self.antennas} | {s.organisation for s in self.satellites})

    def policy_for(self, antenna: str, organisation: str) -> PolicySpec | None:
        """Return the policy granting ``antenna`` to ``organisation``, or None."""
        return self._policies.get((antenna, organisation))

    @cached_property
    def _policies(self) -> dict[tuple[str, str], PolicySpec]:
        return {(p.antenna, p.organisation): p for p in self.policies or []}

    @cached_property
    def allowed(self) -> np.ndarray:
        """Whether each pass may be chosen at all: its owner may use the antenna, and no blackout meets it."""
        ok = np.ones(len(self.passes), dtype=bool)
        if self.policies is not None:
            for i, p in enumerate(self.passes):
                owner = self.antenna_org[i]
                if owner != self.satellite_org[i] and self.policy_for(p.antenna, self.satellite_org[i]) is None:
                    ok[i] = False
        for blackout in self.blackouts:
            a = self.antenna_index[blackout.antenna]
            b0 = (blackout.start - self.start).total_seconds()
            b1 = (blackout.end - self.start).total_seconds()
            ok &= ~((self.antenna == a) & (self.busy_start_s < b1) & (self.busy_end_s > b0))
        return ok

    def ids(self, indexes: Iterable[int]) -> list[str]:
        """Return the pass ids of ``indexes``."""
        return [self.passes[i].id for i in indexes]

    def indexes(self, ids: Iterable[str]) -> np.ndarray:
        """Return the indexes of pass ``ids`` (``InvalidInputError`` naming an unknown one)."""
        out = []
        for pass_id in ids:
            try:
                out.append(self.pass_index[pass_id])
            except KeyError:
                raise InvalidInputError(f"pass {pass_id!r} is not in the problem", loc=("contacts",)) from None
        return np.array(out, dtype=np.int64)

    # JSON.

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Problem:
        """Return the problem in ``data`` (the JSON form); ``InvalidInputError`` names a bad key."""
        if not isinstance(data, Mapping):
            raise InvalidInputError("a problem is a JSON object with start, end, antennas, satellites and passes")
        start = _time(data, "start", ())
        end = _time(data, "end", ())
        antennas = [AntennaSpec(id=_text(a, "id", loc), organisation=_text(a, "organisation", loc),
                                setup_s=_number(a, "setup_s", loc, 0.0), teardown_s=_number(a, "teardown_s", loc, 0.0),
                                az_slew_deg_s=_optional_number(a, "az_slew_deg_s", loc))
                    for loc, a in _items(data, "antennas")]
        satellites = [SatelliteSpec(id=_text(s, "id", loc), organisation=_text(s, "organisation", loc),
                                    max_contacts_per_day=_optional_count(s, "max_contacts_per_day", loc),
                                    allow_redundant=_flag(s, "allow_redundant", loc),
                                    contacts_held=_held(s, loc),
                                    max_contacts=_optional_count(s, "max_contacts", loc))
                      for loc, s in _items(data, "satellites")]
        passes = [Candidate(id=_text(p, "id", loc), satellite=_text(p, "satellite", loc),
                            antenna=_text(p, "antenna", loc), start=_time(p, "start", loc), end=_time(p, "end", loc),
                            value=_number(p, "value", loc, None), priority=_number(p, "priority", loc, 1.0),
                            aos_azimuth_deg=_optional_number(p, "aos_azimuth_deg", loc),
                            los_azimuth_deg=_optional_number(p, "los_azimuth_deg", loc))
                  for loc, p in _items(data, "passes")]
        locked = data.get("locked", [])
        if not isinstance(locked, list) or not all(isinstance(x, str | int) for x in locked):
            raise InvalidInputError("'locked' must be a list of pass ids", loc=("locked",))
        policies = None
        if "policies" in data:
            policies = [PolicySpec(antenna=_text(p, "antenna", loc), organisation=_text(p, "organisation", loc),
                                   hours_per_week=_optional_number(p, "hours_per_week", loc))
                        for loc, p in _items(data, "policies")]
        blackouts = [Blackout(antenna=_text(b, "antenna", loc), start=_time(b, "start", loc), end=_time(b, "end", loc))
                     for loc, b in _items(data, "blackouts", required=False)]
        entitlements = data.get("entitlements")
        if entitlements is not None:
            if not isinstance(entitlements, Mapping) or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
                    for v in entitlements.values()):
                raise InvalidInputError("'entitlements' must map organisation names to shares of 0 or more",
                                        loc=("entitlements",))
            entitlements = {str(k): float(v) for k, v in entitlements.items()}
        return cls(start=start, end=end, antennas=antennas, satellites=satellites, passes=passes,
                   locked=[str(x) for x in locked], policies=policies, blackouts=blackouts, entitlements=entitlements)

    @classmethod
    def from_json(cls, text: str, *, source: str = "problem") -> Problem:
        """Return the problem in JSON ``text``."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{source}: not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                                    loc=(source, f"line {exc.lineno}")) from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | Path) -> Problem:
        """Return the problem in the JSON file ``path``."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"cannot read the problem file {str(path)!r}: {exc.strerror}",
                                    loc=(str(path),)) from None
        return cls.from_json(text, source=path.name)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (extra keys only where they are set)."""
        out: dict[str, Any] = {
            "start": format_utc(self.start), "end": format_utc(self.end),
            "antennas": [_drop_none({"id": a.id, "organisation": a.organisation, "setup_s": a.setup_s,
                                     "teardown_s": a.teardown_s, "az_slew_deg_s": a.az_slew_deg_s})
                         for a in self.antennas],
            "satellites": [_drop_none({"id": s.id, "organisation": s.organisation,
                                       "max_contacts_per_day": s.max_contacts_per_day,
                                       "allow_redundant": s.allow_redundant or None,
                                       "max_contacts": s.max_contacts,
                                       "contacts_held": {d.isoformat(): n for d, n in s.contacts_held} or None})
                           for s in self.satellites],
            "passes": [_drop_none({"id": p.id, "satellite": p.satellite, "antenna": p.antenna,
                                   "start": format_utc(p.start), "end": format_utc(p.end), "value": p.value,
                                   "priority": None if p.priority == 1.0 else p.priority,
                                   "aos_azimuth_deg": p.aos_azimuth_deg, "los_azimuth_deg": p.los_azimuth_deg})
                       for p in self.passes],
        }
        if self.locked:
            out["locked"] = list(self.locked)
        if self.policies is not None:
            out["policies"] = [_drop_none({"antenna": p.antenna, "organisation": p.organisation,
                                           "hours_per_week": p.hours_per_week}) for p in self.policies]
        if self.blackouts:
            out["blackouts"] = [{"antenna": b.antenna, "start": format_utc(b.start), "end": format_utc(b.end)}
                                for b in self.blackouts]
        if self.entitlements is not None:
            out["entitlements"] = dict(self.entitlements)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)


# Strict readers of the JSON form: each error names the key and where it is.


def _where(loc: Sequence[str]) -> str:
    return "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc).lstrip(".") or "the problem"


def _items(data: Mapping[str, Any], key: str, *, required: bool = True) -> list[tuple[tuple[str, ...], Any]]:
    value = data.get(key, None if required else [])
    if not isinstance(value, list):
        raise InvalidInputError(f"'{key}' must be a list of objects" + ("" if key in data else "; it is missing"),
                                loc=(key,))
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise InvalidInputError(f"{key}[{i}] must be an object, got {type(item).__name__}", loc=(key, str(i)))
        out.append(((key, str(i)), item))
    return out


def _text(item: Mapping[str, Any], key: str, loc: tuple[str, ...]) -> str:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
        raise InvalidInputError(f"{_where((*loc, key))} must be a non-empty string (or integer id), got {value!r}",
                                loc=(*loc, key))
    return str(value)


def _number(item: Mapping[str, Any], key: str, loc: tuple[str, ...], default: float | None) -> float:
    if key not in item and default is not None:
        return default
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InvalidInputError(f"{_where((*loc, key))} must be a finite number of 0 or more, got {value!r}",
                                loc=(*loc, key))
    return float(value)


def _optional_number(item: Mapping[str, Any], key: str, loc: tuple[str, ...]) -> float | None:
    if item.get(key) is None:
        return None
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInputError(f"{_where((*loc, key))} must be a finite number, got {value!r}", loc=(*loc, key))
    return float(value)


def _optional_count(item: Mapping[str, Any], key: str, loc: tuple[str, ...]) -> int | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"{_where((*loc, key))} must be a whole number of 0 or more (or null: no cap), "
                                f"got {value!r}", loc=(*loc, key))
    return value


def _held(item: Mapping[str, Any], loc: tuple[str, ...]) -> tuple[tuple[date, int], ...]:
    """Read ``contacts_held``: {"YYYY-MM-DD": count, ...} (absent: none)."""
    value = item.get("contacts_held") or {}
    where = (*loc, "contacts_held")
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{_where(where)} must map UTC days (YYYY-MM-DD) to counts, got {value!r}", loc=where)
    out = []
    for day, count in value.items():
        try:
            parsed = date.fromisoformat(str(day))
        except ValueError:
            raise InvalidInputError(f"{_where(where)}: {day!r} is not a UTC day (YYYY-MM-DD)", loc=where) from None
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InvalidInputError(f"{_where(where)}[{day}] must be a whole number of 0 or more, got {count!r}",
                                    loc=where)
        out.append((parsed, count))
    return tuple(sorted(out))


def _flag(item: Mapping[str, Any], key: str, loc: tuple[str, ...]) -> bool:
    value = item.get(key, False)
    if not isinstance(value, bool):
        raise InvalidInputError(f"{_where((*loc, key))} must be true or false, got {value!r}", loc=(*loc, key))
    return value


def _time(item: Mapping[str, Any], key: str, loc: tuple[str, ...]) -> datetime:
    value = item.get(key)
    if not isinstance(value, str):
        raise InvalidInputError(f"{_where((*loc, key))} must be an ISO 8601 UTC time such as "
                                f"'2025-11-07T00:00:00Z', got {value!r}", loc=(*loc, key))
    return parse_utc(value, _where((*loc, key)))


def _check_unique(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            raise InvalidInputError(f"{what}[{i}] repeats the id {x!r}; ids must be unique", loc=(what, str(i), "id"))
        seen.add(x)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
