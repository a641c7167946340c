"""A planned and simulated month of the demo network: requests, plans, and contacts run by a simulated agent.

``simulate`` moves the network's clock ``days`` forward one day at a time, from its current
time floored to the whole hour (the demo's first load leaves it at 2025-11-07T00:00Z).
Each day it does what the partners and their stations would:

1. the operators of every ``ACTIVE_EVERY``-th satellite file next week's contact requests two
   days before the week begins (``request_schedule``: one request per such satellite and week, ``contacts_per_day``
   cycling through ``CONTACTS_PER_DAY``, and for every ``DEMANDING_EVERY``-th satellite a
   demanding one, ``DEMANDING_ELEVATION_DEG`` and up, which few passes meet, so some
   requests stay unserved with the planner's reasons).  A request's ``created_at`` is the
   network's time of filing;
2. the network plans and books the next day's open requests (``store.planning.plan_and_book``,
   as ``groundshare schedule plan`` and ``demo load --plan-days`` do) with the greedy
   solver: it is deterministic (the same store gives the same plan, which CP-SAT under a
   time limit does not promise) and takes a tenth of a second per day;
3. the clock moves to the day's end and every contact that has ended by then is executed
   by a simulated agent, which reports through ``store.outcomes`` (``start_contact``,
   ``report_outcome``: the functions behind the agent API) and uploads its frames through
   ``store.frames.ingest_frames``, in the shape the real agent's ``Execution.outcome`` has.

So one day is booked ahead when the simulation ends.  Open requests that leave the number
of contacts a day open (the demo's own, over its first week) are first given
``DEMO_REQUEST_DAILY_CAP``: uncapped, they keep every antenna full (some 400 contacts a day),
which would make a month of bookings and reports take minutes.

The execution model (``FailureModel``), drawn from a random generator seeded by ``seed``
and the contact's antenna and start, so that the same seed on the same store gives the
same outcome of every contact, in any order:

- station outages: each station goes down ``outages_per_30_days`` times a month on
  average (a Poisson process), for ``outage_hours`` (uniform); every contact of the
  station that meets an outage fails with ``STATION_OFFLINE``, reported without a start
  (as the agent's ``Execution.not_executed`` does once it is back);
- of the rest, each fails independently: the rotator not responding (``ROTATOR_DOWN``,
  ``rotator_rate``), the radio not responding (``RADIO_DOWN``, ``radio_rate``), nothing
  decoded (``NO_SIGNAL``, ``no_signal_rate``, and always when no beacon was heard), and the
  pass below the antenna's mask because the satellite's element set was stale
  (``BELOW_MASK``, ``stale_rate_per_day`` per day of the set's age at the contact, at most
  ``stale_rate_max``: the shipped sets age through the month as nobody syncs them here);
- a failed contact's reason is ``execution["failures"][0]`` (one of ``FAILURE_REASONS``,
  fixed texts, so they count by reason) and ends its notes, as the agent's fatal reason does;
- a completed contact hears its satellite's beacons: satellite ``n`` beacons every
  ``beacon_period_s(n)`` seconds (20 to 60 s) on a fixed grid from ``BEACON_EPOCH``, each
  beacon one synthetic AX.25 UI frame (``beacon_frame``: the payload depends only on the
  satellite and the beacon's number, so two stations hearing one beacon upload the same
  frame, which the frames store keeps once with a reception per station).  Each beacon in
  the contact is decoded with the contact's link quality (uniform 0.55 to 0.97); at most
  ``MAX_FRAMES_PER_CONTACT`` are kept (evenly spread), which bounds the store;
  ``bytes_received`` is the frames' payload bytes; the pointing error's RMS is log-normal
  around 0.35 deg, its maximum 2 to 3.5 times that; positions are read at 1 Hz.

Bounded in time: a month of the demo network (about 2,000 contacts, 21,000 frames) takes
about 40 s of one CPU, most of it booking (``book_contact`` checks each contact against a
pass search of its own) and storing the frames.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from groundshare.errors import InvalidInputError
from groundshare.store.clock import network_time, set_network_clock
from groundshare.store.db import session_scope
from groundshare.store.frames import IncomingFrame, ingest_frames
from groundshare.store.models import (
    Antenna,
    Contact,
    ContactRequest,
    ContactStatus,
    RequestStatus,
    Satellite,
    Station,
)
from groundshare.store.outcomes import report_outcome, start_contact
from groundshare.store.planning import plan_and_book
from groundshare.timeutil import format_utc, parse_utc
from groundshare.units import DAY_S, HOUR_S

#: Longest simulation one call may run (days): a quarter.
MAX_SIMULATION_DAYS = 92.0
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
#: The first plan starts this long after the simulation's start, so no contact begins before it is booked.
FIRST_PLAN_LEAD = timedelta(minutes=2)
#: Operators file a week's requests this long before the week begins.
REQUEST_LEAD = timedelta(days=2)
#: Every this many satellites (in id order, from the first) is in active operations and files weekly requests.
ACTIVE_EVERY = 3
#: Contacts per day the demo's own requests, which leave it open, are given (module docstring).
DEMO_REQUEST_DAILY_CAP = 1
#: Contacts per day the weekly requests ask for, cycling over the satellites in id order; priorities likewise.
CONTACTS_PER_DAY = (2, 1, 3, 1)
PRIORITIES = (0, 1, 0, 2)
#: The weekly requests' minimum pass (as the demo's own requests).
MIN_DURATION_S = 120.0
MIN_ELEVATION_DEG = 10.0
#: Every this many satellites, one also files a demanding request: passes this high are rare.
DEMANDING_EVERY = 31
DEMANDING_ELEVATION_DEG = 85.0
DEMANDING_MIN_DURATION_S = 420.0
#: Most frames one simulated contact uploads.
MAX_FRAMES_PER_CONTACT = 20
#: Beacons of every satellite run on a grid from here (any fixed instant would do).
BEACON_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
#: Seconds from the satellite to the station, roughly (a LEO slant range of 600 to 2,500 km).
PROPAGATION_DELAY_S = 0.004

#: Failure reasons, as the simulated agent reports them (``execution["failures"][0]`` of a failed contact).
STATION_OFFLINE = "station offline: not executed during a power and network outage at the station"
ROTATOR_DOWN = "rotator not responding: the rotator never came back before LOS"
RADIO_DOWN = "radio not responding: the radio never came back before LOS"
NO_SIGNAL = "no frames decoded: no signal above the noise floor during the pass"
BELOW_MASK = "pass below the antenna's mask: the element set was stale and the satellite was not where predicted"
FAILURE_REASONS = (STATION_OFFLINE, ROTATOR_DOWN, RADIO_DOWN, NO_SIGNAL, BELOW_MASK)


@dataclass(frozen=True)
class FailureModel:
    """How often simulated contacts fail, and why (rates per contact unless said otherwise)."""

    outages_per_30_days: float = 1.0
    outage_hours: tuple[float, float] = (3.0, 30.0)
    rotator_rate: float = 0.02
    radio_rate: float = 0.01
    no_signal_rate: float = 0.04
    stale_rate_per_day: float = 0.0015  # per day of element-set age: a 30-day-old set fails 4.5 % of passes
    stale_rate_max: float = 0.15
    link_quality: tuple[float, float] = (0.55, 0.97)  # share of beacons decoded, uniform per contact


@dataclass(frozen=True)
class Outage:
    """A station down over ``[start, end)``: its contacts in that span fail with ``STATION_OFFLINE``."""

    station_id: int
    station: str
    start: datetime
    end: datetime


@dataclass
class SimulationReport:
    """What a simulation did (no wall-clock figures: the same seed on the same store gives the same report)."""

    start: datetime
    end: datetime
    seed: int
    requests_created: int = 0
    plans: int = 0
    contacts_booked: int = 0
    contacts_refused: int = 0
    contacts_completed: int = 0
    contacts_failed: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    frames_new: int = 0
    receptions: int = 0
    bytes_received: int = 0
    outages: list[Outage] = field(default_factory=list)

    @property
    def contacts_executed(self) -> int:
        """Contacts the simulated agent reported (completed and failed)."""
        return self.contacts_completed + self.contacts_failed

    def to_dict(self) -> dict[str, Any]:
        return {"start": format_utc(self.start), "end": format_utc(self.end), "seed": self.seed,
                "requests_created": self.requests_created, "plans": self.plans,
                "contacts_booked": self.contacts_booked, "contacts_refused": self.contacts_refused,
                "contacts_completed": self.contacts_completed, "contacts_failed": self.contacts_failed,
                "failures": dict(sorted(self.failures.items(), key=lambda kv: (-kv[1], kv[0]))),
                "frames_new": self.frames_new, "receptions": self.receptions,
                "bytes_received": self.bytes_received,
                "outages": [{"station_id": o.station_id, "station": o.station, "start": format_utc(o.start),
                             "end": format_utc(o.end)} for o in self.outages]}


def simulate(factory: sessionmaker[Session], *, days: float, seed: int = 0,
             model: FailureModel | None = None, start: datetime | None = None) -> SimulationReport:
    """Simulate ``days`` of the network from its clock (see the module docstring); return what happened.

    ``start``: where the simulation begins (default: the network's time floored to the
    hour); the clock is set there first, and ends at ``start + days``.  Each day is its own
    units of work, committed as it ends.  ``InvalidInputError`` names ``days`` (more than 0,
    at most ``MAX_SIMULATION_DAYS``) or ``database_url`` for a network at the wall clock.
    """
    if isinstance(days, bool) or not isinstance(days, int | float) or not 0 < days <= MAX_SIMULATION_DAYS:
        raise InvalidInputError(f"days must be more than 0 and at most {MAX_SIMULATION_DAYS:g}, got {days!r}",
                                loc=("days",))
    model = model or FailureModel()
    with session_scope(factory, write=False) as session:
        clock = network_time(session)
        if clock.mode == "live" and start is None:
            raise InvalidInputError(
                "the network's clock runs at the wall clock: a simulation would move it days ahead of real time "
                "for every partner; simulate a demo network in a database of its own (groundshare demo load "
                "anchors its clock at 2025-11-07)", loc=("database_url",))
        begin = start if start is not None else clock.now().replace(minute=0, second=0, microsecond=0)
        stations = [(s.id, s.name) for s in session.scalars(select(Station).order_by(Station.id))]
        anchor = _request_anchor(session, begin)
    with session_scope(factory) as session:
        _cap_open_requests(session, begin)
    end = begin + timedelta(seconds=days * DAY_S)
    reason = (f"the demo network after {days:g} simulated days from {format_utc(begin)} (groundshare demo simulate, "
              f"seed {seed})")
    report = SimulationReport(start=begin, end=end, seed=seed,
                              outages=draw_outages(stations, begin, end, seed=seed, model=model))
    schedule = list(request_schedule(anchor, begin, end))
    with session_scope(factory) as session:
        set_network_clock(session, begin, reason=reason)
    planned_until = _plan(factory, report, begin + FIRST_PLAN_LEAD, begin + DAY)
    day_start = begin
    while day_start < end:
        day_end = min(day_start + DAY, end)
        with session_scope(factory) as session:
            for week_start, filed_at in schedule:
                if day_start <= filed_at < day_end or (filed_at < begin and day_start == begin):
                    report.requests_created += _file_requests(session, week_start, max(filed_at, begin))
        if day_end + DAY > planned_until:
            planned_until = _plan(factory, report, planned_until, day_end + DAY)
        with session_scope(factory) as session:
            set_network_clock(session, day_end, reason=reason)
            _execute_ended(session, report, day_end, seed=seed, model=model)
        day_start = day_end
    return report


def request_schedule(anchor: datetime, begin: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Yield ``(week start, filed at)`` of each week of requests filed before ``end`` (weeks from ``anchor``)."""
    week_start = anchor
    while week_start - REQUEST_LEAD < end:
        if week_start + WEEK > begin:
            yield week_start, week_start - REQUEST_LEAD
        week_start += WEEK


def draw_outages(stations: list[tuple[int, str]], begin: datetime, end: datetime, *, seed: int,
                 model: FailureModel) -> list[Outage]:
    """Return each station's outages over ``[begin, end)``: a Poisson process of ``model``'s rate, seeded."""
    span_s = (end - begin).total_seconds()
    rate_per_s = model.outages_per_30_days / (30 * DAY_S)
    outages = []
    for station_id, name in stations:
        rng = random.Random(f"{seed}:outage:{station_id}")
        at_s = rng.expovariate(rate_per_s) if rate_per_s > 0 else math.inf
        while at_s < span_s:
            hours = rng.uniform(*model.outage_hours)
            first = begin + timedelta(seconds=round(at_s))
            outages.append(Outage(station_id, name, first, first + timedelta(seconds=round(hours * HOUR_S))))
            at_s += hours * HOUR_S + rng.expovariate(rate_per_s)
    return sorted(outages, key=lambda o: (o.start, o.station_id))


def beacon_period_s(norad_id: int) -> int:
    """Return the seconds between a satellite's beacons (20 to 60 s, by its NORAD id)."""
    return 20 + 10 * (norad_id % 5)


def beacon_frame(norad_id: int, name: str, number: int) -> bytes:
    """Return beacon ``number`` of a satellite: an AX.25 UI frame as a KISS TNC gives it (no flags, no FCS).

    Destination ``CQ``, source ``N<NORAD id>``-1, control 0x03, PID 0xF0, and a text
    telemetry line whose values depend only on the satellite and the number.
    """
    digest = hashlib.blake2b(f"{norad_id}:{number}".encode(), digest_size=8).digest()
    battery_v = 7.2 + digest[0] / 255 * 1.2
    temperature_c = -15.0 + digest[1] / 255 * 45.0
    mode = ("NOMINAL", "NOMINAL", "NOMINAL", "SAFE")[digest[2] % 4]
    label = name.encode("ascii", "replace").decode("ascii")[:24]
    info = (f">{label} seq={number} batt={battery_v:.2f}V temp={temperature_c:+.1f}C "
            f"mode={mode} rst={digest[3] % 7}").encode("ascii")
    return (_ax25_address("CQ", 0, last=False) + _ax25_address(f"N{norad_id % 100000:05d}", 1, last=True)
            + b"\x03\xf0" + info)


def _ax25_address(callsign: str, ssid: int, *, last: bool) -> bytes:
    """Return one AX.25 address field: the callsign padded to 6 characters, shifted left, then the SSID byte."""
    padded = callsign.upper().ljust(6)[:6].encode("ascii")
    return bytes(c << 1 for c in padded) + bytes([0x60 | (ssid & 0x0F) << 1 | int(last)])


def _request_anchor(session: Session, begin: datetime) -> datetime:
    """Return where the weekly requests' weeks start: the end of the latest request window, or ``begin``'s day."""
    latest = session.scalar(select(func.max(ContactRequest.window_end)))
    day = begin.replace(hour=0, minute=0, second=0, microsecond=0)
    if latest is None or latest < day - WEEK:
        return day
    return latest


def _cap_open_requests(session: Session, begin: datetime) -> None:
    """Give open requests still running at ``begin`` that leave the contacts per day open the demo's daily cap."""
    for request in session.scalars(select(ContactRequest).where(
            ContactRequest.status == RequestStatus.OPEN, ContactRequest.contacts_per_day.is_(None),
            ContactRequest.window_end > begin)):
        request.contacts_per_day = DEMO_REQUEST_DAILY_CAP
    session.flush()


def _file_requests(session: Session, week_start: datetime, at: datetime) -> int:
    """File the week's requests of every satellite of an organisation; return how many."""
    added = 0
    satellites = list(session.scalars(select(Satellite).order_by(Satellite.id)))
    for index, satellite in enumerate(satellites):
        if index % ACTIVE_EVERY:
            continue
        session.add(ContactRequest(
            org_id=satellite.org_id, satellite_id=satellite.id, window_start=week_start,
            window_end=week_start + WEEK, min_duration_s=MIN_DURATION_S, min_elevation_deg=MIN_ELEVATION_DEG,
            priority=PRIORITIES[index % len(PRIORITIES)],
            contacts_per_day=CONTACTS_PER_DAY[index % len(CONTACTS_PER_DAY)], created_at=at))
        added += 1
        if index % DEMANDING_EVERY == 0:
            session.add(ContactRequest(
                org_id=satellite.org_id, satellite_id=satellite.id, window_start=week_start,
                window_end=week_start + WEEK, min_duration_s=DEMANDING_MIN_DURATION_S,
                min_elevation_deg=DEMANDING_ELEVATION_DEG, priority=2, contacts_per_day=1, created_at=at))
            added += 1
    session.flush()
    return added


def _plan(factory: sessionmaker[Session], report: SimulationReport, start: datetime, end: datetime) -> datetime:
    """Plan and book the open requests over ``[start, end)`` with the greedy solver; return ``end``."""
    with session_scope(factory, write=False) as session:
        run = plan_and_book(session, book_in=lambda: session_scope(factory), start=start, end=end,
                            solver="greedy", time_limit_s=1.0, workers=1, dry_run=False, lead_s=0.0,
                            search_workers=1)
    report.plans += 1
    report.contacts_booked += len(run.booked)
    report.contacts_refused += len(run.refused)
    return end


def _execute_ended(session: Session, report: SimulationReport, now: datetime, *, seed: int,
                   model: FailureModel) -> None:
    """Execute every scheduled or running contact that has ended by ``now``, in start order."""
    contacts = list(session.scalars(
        select(Contact).where(Contact.status.in_([ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS]),
                              Contact.end_time <= now)
        .order_by(Contact.start_time, Contact.id)))
    if not contacts:
        return
    station_of = {a: s for a, s in session.execute(select(Antenna.id, Antenna.station_id))}
    satellites = {s.id: s for s in session.scalars(
        select(Satellite).where(Satellite.id.in_({c.satellite_id for c in contacts})))}
    outages: dict[int, list[Outage]] = {}
    for outage in report.outages:
        outages.setdefault(outage.station_id, []).append(outage)
    for contact in contacts:
        rng = random.Random(f"{seed}:contact:{contact.antenna_id}:{format_utc(contact.start_time)}")
        down = any(o.start < contact.end_time and contact.start_time < o.end
                   for o in outages.get(station_of[contact.antenna_id], []))
        _execute(session, report, contact, satellites[contact.satellite_id], rng, model, offline=down)


def _execute(session: Session, report: SimulationReport, contact: Contact, satellite: Satellite,
             rng: random.Random, model: FailureModel, *, offline: bool) -> None:
    """Run one contact as the simulated agent and report it through ``store.outcomes`` (and its frames)."""
    agent_id = f"demo-sim-{contact.antenna_id}"
    start, end = contact.start_time, contact.end_time
    if offline:  # the agent was down: once back, it reports the contact not executed, without a start
        _report(session, report, contact, failure=STATION_OFFLINE, started_at=start, finished_at=start,
                execution={"positions_sent": 0, "positions_read": 0, "positions_refused": 0,
                           "frequency_commands": 0, "reconnects": 0, "agent_id": agent_id},
                prefix="not executed: ")
        return
    duration_s = (end - start).total_seconds()
    clock_offset_s = round(rng.gauss(0.0, 0.08), 3)
    rms_deg = rng.lognormvariate(math.log(0.35), 0.4)
    peak_deg = rms_deg * rng.uniform(2.0, 3.5)
    quality = rng.uniform(*model.link_quality)
    draw = rng.random()
    age_days = _element_age_days(contact)
    stale_rate = min(model.stale_rate_per_day * max(age_days, 0.0), model.stale_rate_max)
    execution: dict[str, Any] = {
        "pointing_error_rms_deg": round(rms_deg, 3), "pointing_error_max_deg": round(peak_deg, 3),
        "positions_sent": int(duration_s / 2 * rng.uniform(0.6, 0.9)), "positions_read": int(duration_s),
        "positions_refused": 0, "frequency_commands": int(duration_s / 5), "reconnects": 0,
        "clock_offset_s": clock_offset_s, "agent_id": agent_id}
    start_contact(session, contact.id, at=start)
    thresholds = [(ROTATOR_DOWN, model.rotator_rate), (RADIO_DOWN, model.radio_rate),
                  (NO_SIGNAL, model.no_signal_rate), (BELOW_MASK, stale_rate)]
    failure = None
    for reason, rate in thresholds:
        if draw < rate:
            failure = reason
            break
        draw -= rate
    if failure == ROTATOR_DOWN:
        read = int(duration_s * rng.uniform(0.0, 0.2))
        execution.update(pointing_error_rms_deg=None, pointing_error_max_deg=None, positions_read=read,
                         positions_sent=min(execution["positions_sent"], read + 3), reconnects=rng.randint(3, 8))
        execution = {k: v for k, v in execution.items() if v is not None}
    elif failure == RADIO_DOWN:
        execution.update(frequency_commands=rng.randint(0, 5), reconnects=rng.randint(3, 8))
    frames = [] if failure else _heard_beacons(satellite, start, end, quality, clock_offset_s, rng)
    if failure is None and not frames:
        failure = NO_SIGNAL
    if failure is not None:
        _report(session, report, contact, failure=failure, started_at=None, finished_at=end, execution=execution)
        return
    result = ingest_frames(session, contact, frames)
    report.frames_new += result.new
    report.receptions += result.accepted
    size = sum(len(f.payload) for f in frames)
    report.bytes_received += size
    report_outcome(session, contact.id, status=ContactStatus.COMPLETED, bytes_received=size,
                   notes=_summary(execution), finished_at=end, execution=execution, frames_received=len(frames))
    report.contacts_completed += 1


def _report(session: Session, report: SimulationReport, contact: Contact, *, failure: str,
            started_at: datetime | None, finished_at: datetime, execution: dict[str, Any], prefix: str = "") -> None:
    execution = {**execution, "failures": [failure]}
    report_outcome(session, contact.id, status=ContactStatus.FAILED, bytes_received=0,
                   notes=f"{_summary(execution)}; {prefix}{failure}", started_at=started_at, finished_at=finished_at,
                   execution=execution, frames_received=0)
    report.contacts_failed += 1
    report.failures[failure] += 1


def _summary(execution: dict[str, Any]) -> str:
    """Return the agent's one-line summary of what it did (as ``agent.execution.Execution.outcome`` writes it)."""
    text = (f"{execution['positions_sent']} positions sent, {execution['positions_read']} read back, "
            f"{execution['positions_refused']} refused, 0 skipped late, "
            f"{execution['frequency_commands']} frequency commands")
    if "pointing_error_rms_deg" in execution:
        text += (f"; pointing error RMS {execution['pointing_error_rms_deg']:.2f} deg, "
                 f"max {execution['pointing_error_max_deg']:.2f} deg")
    return text


def _element_age_days(contact: Contact) -> float:
    """Return the age in days at the contact's start of the element set it was planned with (0 when unknown)."""
    element_set = (contact.snapshot or {}).get("element_set") or {}
    epoch = element_set.get("epoch")
    if not epoch:
        return 0.0
    return (contact.start_time - parse_utc(epoch, "element_set.epoch")).total_seconds() / DAY_S


def _heard_beacons(satellite: Satellite, start: datetime, end: datetime, quality: float, clock_offset_s: float,
                   rng: random.Random) -> list[IncomingFrame]:
    """Return the beacons decoded during ``[start, end)``: each with probability ``quality``, at most the cap."""
    period_s = beacon_period_s(satellite.norad_id)
    first = math.ceil((start - BEACON_EPOCH).total_seconds() / period_s)
    last = math.floor((end - BEACON_EPOCH).total_seconds() / period_s)
    heard = [n for n in range(first, last + 1) if rng.random() < quality]
    if len(heard) > MAX_FRAMES_PER_CONTACT:
        step = len(heard) / MAX_FRAMES_PER_CONTACT
        heard = [heard[int(i * step)] for i in range(MAX_FRAMES_PER_CONTACT)]
    shift = timedelta(seconds=PROPAGATION_DELAY_S + clock_offset_s)
    return [IncomingFrame(received_at=BEACON_EPOCH + timedelta(seconds=n * period_s) + shift,
                          payload=beacon_frame(satellite.norad_id, satellite.name, n)) for n in heard]

