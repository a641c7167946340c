"""Booked contacts follow the orbit: re-check them against the orbit in force, repair the drifted ones.

``replan_satellites(session, satellite_ids, now=...)`` takes every scheduled contact of
those satellites that has not started and checks it against the satellite's orbit in
force (``store.elements.orbit_in_force``) with ``schedule.drift.check_drift``:

- **kept** (the window still lies within the new pass, ``threshold_s`` at each end): the
  contact stays as it is; its booking snapshot's element set becomes the one in force, so
  ``GET /agent/schedule`` serves the new orbit and the station agent recomputes its
  pointing table from it (``agent.journal`` refreshes pending contacts' bodies);
- **decayed** (SGP4 fails: the orbit has decayed): cancelled, with the reason;
- within ``frozen_s`` of the clock (default 30 min): **updated in place**, never moved:
  the window is cut to the new pass (cancelled when nothing of it is left);
- the others that drifted, shrank or vanished are **repaired with least churn**
  (``schedule.repair``) on a problem built as ``store.planning`` builds one, restricted to
  the affected contacts: per request (or, for a contact booked directly, per contact, the
  passes within ``DIRECT_SLACK_S`` of it), the new passes within the request's window over
  the antennas its organisation may use (its own, and those a sharing policy grants it for
  the band, outside blackouts), starting after the frozen window, less those that a live
  contact outside the repair holds (antenna with setup and turnaround, or the satellite as
  ``store.planning`` says).  Each contact's own pass, shifted just enough to lie within the
  new pass on its antenna, is its booked id, so the repair keeps it when it can (**updated
  in place**: a shift); a contact it cannot keep is **moved** to one of the passes the
  repair added for its request (cancelled, and a new contact booked through
  ``book_contact`` with the request), and **dropped** (cancelled, with the reason) when
  there is none.  At most one new contact replaces one old: a repair never adds contacts.

Every change is an event (``store.events.record_event``): ``contact.drifted`` for each
contact that needs repair, then ``contact.kept``, ``contact.updated``, ``contact.moved``
(naming the new contact) or ``contact.cancelled``.

Nothing here commits: the caller's unit of work does.  The repair's solver runs for up to
``time_limit_s``; with ``release_during_solve`` the read is rolled back before it (so no
lock or snapshot is held while it runs, as ``store.planning.plan_and_book`` does) and each
contact is checked again, under its row lock, before it is changed: one changed meanwhile
(an agent started it, someone cancelled it) is left alone.  Use it only on a unit of work
with nothing pending.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from groundshare.errors import ConflictError, InvalidInputError, NotFoundError, PolicyError
from groundshare.passes import Site, find_passes
from groundshare.schedule import AntennaSpec, Candidate, Problem, SatelliteSpec, repair
from groundshare.schedule.drift import DEFAULT_THRESHOLD_S, BookedWindow, Drift, DriftKind, check_drift
from groundshare.store.booking import BookingRules, book_contact, locked_contact
from groundshare.store.models import (
    Antenna,
    Contact,
    ContactRequest,
    ContactStatus,
    ElementSetRecord,
    Organisation,
    Satellite,
    SharingPolicy,
    Station,
)
from groundshare.store.policy import check_blackouts
from groundshare.timeutil import format_utc, require_utc

#: Default frozen window, seconds: contacts starting sooner are updated in place, never moved.
DEFAULT_FROZEN_S = 1_800.0
#: A contact booked without a request may move to a pass starting within this of it, seconds.
DIRECT_SLACK_S = 1_800.0
#: How far around the repaired windows live contacts are read (longer than any setup or turnaround).
HOLD_MARGIN = timedelta(hours=1)


@dataclass
class ReplanReport:
    """What ``replan_satellites`` did: counts, and per contact what became of it.

    ``planned``: scheduled contacts not started that were checked (``kept`` +
    ``updated_in_place`` + ``moved`` + ``dropped`` + ``cancelled`` + ``skipped``);
    ``drifted``: those that no longer fit their pass (drifted, shrunk, vanished or
    decayed; ``by_kind`` counts each); ``kept``: still within the new pass;
    ``updated_in_place``: same antenna, window cut or shifted to the new pass;
    ``moved``: replaced by a contact on another pass or antenna (``moves``: old id -> new
    id); ``dropped``: drifted ones the repair could not keep nor move (cancelled);
    ``cancelled``: decayed ones and frozen ones whose pass is gone; ``skipped``: contacts
    changed by someone else meanwhile; ``repair_s``: the repair's time (solver included);
    ``outcomes``: contact id -> (what became of it, the reason).
    """

    planned: int = 0
    drifted: int = 0
    kept: int = 0
    updated_in_place: int = 0
    moved: int = 0
    dropped: int = 0
    cancelled: int = 0
    skipped: int = 0
    repair_s: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)
    moves: dict[int, int] = field(default_factory=dict)
    outcomes: dict[int, tuple[str, str]] = field(default_factory=dict)
    satellites: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"planned": self.planned, "drifted": self.drifted, "kept": self.kept,
                "updated_in_place": self.updated_in_place, "moved": self.moved, "dropped": self.dropped,
                "cancelled": self.cancelled, "skipped": self.skipped, "repair_s": round(self.repair_s, 3),
                "by_kind": dict(self.by_kind), "moves": {str(k): v for k, v in self.moves.items()},
                "satellites": list(self.satellites)}


@dataclass(frozen=True)
class _Seen:
    """A contact as it was read, to tell whether it changed before it is written."""

    status: ContactStatus
    antenna_id: int
    start: datetime
    end: datetime


@dataclass
class _Group:
    """The contacts of one request (or one direct contact) that the repair looks after, and where they may go."""

    key: str
    org_id: int
    satellite_id: int
    request: ContactRequest | None
    window_start: datetime
    window_end: datetime
    min_duration_s: float
    min_elevation_deg: float
    priority: float
    uplink: bool
    contacts: list[Contact] = field(default_factory=list)


def replan_satellites(session: Session, satellite_ids: list[int] | set[int] | tuple[int, ...], *, now: datetime,
                      frozen_s: float = DEFAULT_FROZEN_S, threshold_s: float = DEFAULT_THRESHOLD_S,
                      time_limit_s: float = 10.0, workers: int = 8,
                      release_during_solve: bool = False) -> ReplanReport:
    """Re-check the satellites' booked contacts against their orbits in force and repair them (module docstring).

    ``now``: the network's clock (contacts starting after it are checked).  ``frozen_s``:
    contacts starting sooner are updated in place, never moved.  ``threshold_s``: how far
    a pass may move past a window's edge before its contact has drifted.
    ``time_limit_s`` and ``workers``: the repair's solver.  The caller commits.
    """
    from groundshare.store.elements import orbits_in_force

    now = require_utc(now, "now")
    if not 0.0 <= frozen_s <= 86_400.0:
        raise InvalidInputError(f"frozen_s is {frozen_s!r}; expected seconds in [0, 86400]", loc=("frozen_s",))
    report = ReplanReport(satellites=sorted(set(satellite_ids)))
    ids = report.satellites
    if not ids:
        return report
    in_force = orbits_in_force(session, ids, now=now)
    contacts = list(session.scalars(
        select(Contact).where(Contact.satellite_id.in_(ids), Contact.status == ContactStatus.SCHEDULED,
                              Contact.start_time > now).order_by(Contact.start_time, Contact.id)))
    report.planned = len(contacts)
    if not contacts:
        return report
    requests = {r.id: r for r in session.scalars(select(ContactRequest).where(
        ContactRequest.id.in_({c.request_id for c in contacts if c.request_id is not None})))}
    seen = {c.id: _Seen(c.status, c.antenna_id, c.start_time, c.end_time) for c in contacts}
    by_satellite: dict[int, list[Contact]] = defaultdict(list)
    for c in contacts:
        by_satellite[c.satellite_id].append(c)

    drifts: dict[int, Drift] = {}
    records: dict[int, ElementSetRecord] = {}
    for satellite_id, mine in by_satellite.items():
        force = in_force.get(satellite_id)
        if force is None:  # no orbit at all: nothing to check against (booking needed one; it was removed)
            for c in mine:
                report.outcomes[c.id] = ("skipped", "the satellite has no element set in force")
                report.skipped += 1
            continue
        records[satellite_id] = force.record
        windows = [_window(c, requests.get(c.request_id)) for c in mine]
        for d in check_drift(windows, force.record.to_element_set(), threshold_s=threshold_s):
            drifts[int(d.id)] = d

    frozen_until = now + timedelta(seconds=frozen_s)
    to_repair: list[Contact] = []
    plans: list[tuple[Contact, str, Any]] = []  # (contact, action, detail) applied after the solve
    for c in contacts:
        d = drifts.get(c.id)
        if d is None:
            continue
        if d.needs_repair:
            report.drifted += 1
            report.by_kind[d.kind.value] = report.by_kind.get(d.kind.value, 0) + 1
        if d.kind is DriftKind.KEPT:
            plans.append((c, "kept", d))
        elif d.kind is DriftKind.DECAYED:
            plans.append((c, "cancel", d))
        elif c.start_time < frozen_until:
            if d.clipped_start is not None and d.clipped_end is not None and d.clipped_end > d.clipped_start:
                plans.append((c, "clip", d))
            else:
                plans.append((c, "cancel", d))
        else:
            to_repair.append(c)

    result = None
    groups: dict[str, _Group] = {}
    shifted: dict[int, Candidate] = {}
    candidates_of: dict[str, list[Candidate]] = {}
    t0 = time.monotonic()
    if to_repair:
        problem, groups, shifted, candidates_of, lost_reasons = _repair_problem(
            session, to_repair, requests, drifts, records, now=now, first=frozen_until)
        booked = [shifted[c.id].id if c.id in shifted else f"contact {c.id}" for c in to_repair]
        if release_during_solve:
            session.rollback()
        result = repair(problem, booked, time_limit_s=time_limit_s, workers=workers, lost_reasons=lost_reasons) \
            if problem.passes else None
    report.repair_s = time.monotonic() - t0

    chosen = set(result.plan.contacts) if result is not None else set()
    for group in groups.values():
        spare = [p for p in candidates_of.get(group.key, []) if p.id in chosen and p.id not in
                 {s.id for s in shifted.values()}]
        lost = [c for c in group.contacts if not (c.id in shifted and shifted[c.id].id in chosen)]
        for c in group.contacts:
            if c not in lost:
                plans.append((c, "shift", shifted[c.id]))
        for c in lost:  # each lost contact takes the spare pass nearest in time, if any is left
            if spare:
                best = min(spare, key=lambda p, c=c: abs((p.start - c.start_time).total_seconds()))
                spare.remove(best)
                plans.append((c, "move", (best, group)))
            else:
                plans.append((c, "drop", drifts[c.id]))

    # Free what is cancelled or moved first, so that shifted and new contacts never meet a contact on its way out.
    order = {"cancel": 0, "drop": 0, "move": 1, "clip": 2, "shift": 2, "kept": 3}
    moves: list[tuple[Contact, Candidate, _Group]] = []
    for c, action, detail in sorted(plans, key=lambda item: order[item[1]]):
        contact = _current(session, c.id, seen[c.id]) if release_during_solve or action != "kept" else c
        if contact is None:
            report.skipped += 1
            report.outcomes[c.id] = ("skipped", "the contact changed meanwhile")
            continue
        record = records[contact.satellite_id]
        d = drifts[contact.id]
        if d.needs_repair:
            _event(session, "contact.drifted", contact, f"contact {contact.id} {d.kind.value}: {d.reason}", at=now,
                   drift=d)
        if action == "kept":
            report.kept += 1
            report.outcomes[contact.id] = ("kept", d.reason)
            if _set_element_set(contact, record):  # told only when its orbit changed
                _event(session, "contact.kept", contact, f"contact {contact.id} keeps its window under the element "
                                                         f"set of epoch {format_utc(record.epoch)}: {d.reason}",
                       at=now, drift=d)
        elif action in ("cancel", "drop"):
            why = d.reason if action == "cancel" else _drop_reason(d, result)
            _cancel(session, contact, why, at=now)
            if action == "cancel":
                report.cancelled += 1
            else:
                report.dropped += 1
            report.outcomes[contact.id] = ("cancelled" if action == "cancel" else "dropped", why)
        elif action in ("clip", "shift"):
            start, end = (d.clipped_start, d.clipped_end) if action == "clip" else (detail.start, detail.end)
            if _update_in_place(session, contact, start, end, record):
                report.updated_in_place += 1
                what = "cut to the new pass (it starts too soon to move)" if action == "clip" else "shifted into " \
                    "the new pass"
                why = f"{format_utc(start)}..{format_utc(end)}, {what}: {d.reason}"
                report.outcomes[contact.id] = ("updated", why)
                _event(session, "contact.updated", contact, f"contact {contact.id} is now {why}", at=now, drift=d,
                       extra={"start": format_utc(start), "end": format_utc(end)})
            else:
                why = f"its window could not be updated to {format_utc(start)}..{format_utc(end)}: {d.reason}"
                _cancel(session, contact, why, at=now)
                report.dropped += 1
                report.outcomes[contact.id] = ("dropped", why)
        elif action == "move":
            candidate, group = detail
            _cancel(session, contact, f"moved: {d.reason}", at=now)
            moves.append((contact, candidate, group))
    for contact, candidate, group in moves:
        d = drifts[contact.id]
        new = _book_move(session, contact, candidate, group, now=now)
        if isinstance(new, Contact):
            report.moved += 1
            report.moves[contact.id] = new.id
            why = (f"moved to contact {new.id} on antenna {new.antenna_id}, {format_utc(new.start_time)}.."
                   f"{format_utc(new.end_time)}: {d.reason}")
            report.outcomes[contact.id] = ("moved", why)
            contact.notes = _note(contact.notes, f"moved to contact {new.id}")
            _event(session, "contact.moved", contact, f"contact {contact.id} is {why}", at=now, drift=d,
                   extra={"new_contact_id": new.id, "antenna_id": new.antenna_id,
                          "start": format_utc(new.start_time), "end": format_utc(new.end_time)})
            _event(session, "contact.added", new, f"contact {new.id} is booked in place of contact {contact.id} "
                                                  f"(its pass moved under the new orbit)", at=now,
                   extra={"replaces_contact_id": contact.id})
        else:
            why = f"no pass could take it ({new}): {d.reason}"
            contact.notes = _note(contact.notes, f"cancelled: {why}")
            report.dropped += 1
            report.outcomes[contact.id] = ("dropped", why)
            _event(session, "contact.cancelled", contact, f"contact {contact.id} is cancelled: {why}", at=now,
                   drift=d)
    session.flush()
    return report


def _window(c: Contact, request: ContactRequest | None) -> BookedWindow:
    """Return the drift check's view of a contact (its station as it is now, its request's needs)."""
    return BookedWindow(
        id=c.id, site=c.antenna.station.to_site(), start=c.start_time, end=c.end_time,
        min_duration_s=request.min_duration_s if request is not None else 0.0,
        min_elevation_deg=request.min_elevation_deg if request is not None else 0.0,
        not_before=request.window_start if request is not None else None,
        not_after=request.window_end if request is not None else None)


def _repair_problem(session: Session, to_repair: list[Contact], requests: dict[int, ContactRequest],
                    drifts: dict[int, Drift], records: dict[int, ElementSetRecord], *, now: datetime,
                    first: datetime) -> tuple[Problem, dict[str, _Group], dict[int, Candidate],
                                              dict[str, list[Candidate]], dict[str, str]]:
    """Return the repair's problem over the drifted contacts (module docstring) and what its ids stand for.

    Returns the problem; the groups by key; per contact its shifted pass (absent where it
    has none); per group its candidates; per lost booked id, why it is lost.
    """
    groups: dict[str, _Group] = {}
    for c in to_repair:
        r = requests.get(c.request_id) if c.request_id is not None else None
        if r is not None:
            key = f"r{r.id}"
            if key not in groups:
                groups[key] = _Group(key, c.org_id, c.satellite_id, r, max(r.window_start, first), r.window_end,
                                     r.min_duration_s, r.min_elevation_deg, 1.0 + max(r.priority, 0), c.uplink)
        else:
            key = f"c{c.id}"
            slack = timedelta(seconds=DIRECT_SLACK_S)
            groups[key] = _Group(key, c.org_id, c.satellite_id, None, max(c.start_time - slack, first),
                                 c.end_time + slack, 0.0, 0.0, 1.0, c.uplink)
        groups[key].contacts.append(c)

    names = {o.id: o.name for o in session.scalars(select(Organisation))}
    org_ids = {g.org_id for g in groups.values()}
    policies = list(session.scalars(select(SharingPolicy).where(SharingPolicy.grantee_org_id.in_(org_ids))))
    antennas = list(session.scalars(select(Antenna).join(Station).order_by(Antenna.id)))
    antenna_by_id = {a.id: a for a in antennas}
    grants: dict[tuple[int, int], SharingPolicy] = {}
    for p in policies:
        bands = [str(b).lower() for b in p.bands or []]
        if not bands or p.antenna.band.value in bands:
            grants[(p.antenna_id, p.grantee_org_id)] = p

    def may_use(antenna: Antenna, org_id: int) -> bool:
        return antenna.station.org_id == org_id or (antenna.id, org_id) in grants

    usable = [a for a in antennas if any(may_use(a, org) for org in org_ids)]
    stations = {a.station_id: a.station for a in usable}
    sites = [Site(str(sid), lat_deg=s.lat_deg, lon_deg=s.lon_deg, alt_m=s.alt_m,
                  min_elevation_deg=s.min_elevation_deg, horizon_mask=s.to_site().horizon_mask)
             for sid, s in stations.items()]
    start = min(g.window_start for g in groups.values())
    end = max(g.window_end for g in groups.values())
    repaired = {c.id for c in to_repair}
    holds, satellite_holds = _holds(session, start, end, repaired)

    candidates: list[Candidate] = []
    candidates_of: dict[str, list[Candidate]] = defaultdict(list)
    shifted: dict[int, Candidate] = {}
    lost_reasons: dict[str, str] = {}
    by_satellite: dict[int, list[_Group]] = defaultdict(list)
    for g in groups.values():
        by_satellite[g.satellite_id].append(g)
    for satellite_id, mine in by_satellite.items():
        live = [g for g in mine if g.window_end > g.window_start]
        table = None
        if live and sites:
            g_start = min(g.window_start for g in live)
            g_end = max(g.window_end for g in live)
            table = find_passes([records[satellite_id].to_element_set()], sites, start=g_start,
                                duration_s=max((g_end - g_start).total_seconds(), 1.0), workers=1)
        for g in mine:
            for c in g.contacts:
                d = drifts[c.id]
                lost_reasons[f"contact {c.id}"] = d.reason
                if d.aos is None or g.window_end <= g.window_start:
                    continue
                # The contact's own pass, shifted just enough to lie within the new pass on its antenna.
                lo, hi = max(d.aos, g.window_start), min(d.los, g.window_end)
                delta = lo - c.start_time if c.start_time < lo else (hi - c.end_time if c.end_time > hi
                                                                       else timedelta(0))
                s0, s1 = _ms_up(max(c.start_time + delta, lo)), _ms_down(min(c.end_time + delta, hi))
                if (s1 - s0).total_seconds() < max(g.min_duration_s, 1.0) or d.kind is DriftKind.SHRUNK:
                    continue
                antenna = antenna_by_id[c.antenna_id]
                if _blocked(antenna, g, s0, s1, holds, satellite_holds, grants):
                    continue
                cand = Candidate(id=f"contact {c.id} shifted", satellite=_sat_key(g), antenna=str(antenna.id),
                                 start=s0, end=s1, value=(s1 - s0).total_seconds(), priority=g.priority)
                shifted[c.id] = cand
                candidates.append(cand)
                candidates_of[g.key].append(cand)
            if table is None or g.window_end <= g.window_start:
                continue
            longest_s = max((c.end_time - c.start_time).total_seconds() for c in g.contacts)
            for p in table:
                if p.los <= g.window_start or p.aos >= g.window_end or p.max_elevation_deg < g.min_elevation_deg:
                    continue
                aos = _ms_up(max(p.aos, g.window_start))
                los = _ms_down(min(p.los, g.window_end, aos + timedelta(seconds=longest_s)))
                if (los - aos).total_seconds() < max(g.min_duration_s, 1.0):
                    continue
                for antenna in usable:
                    if str(antenna.station_id) != p.station or not may_use(antenna, g.org_id):
                        continue
                    if _blocked(antenna, g, aos, los, holds, satellite_holds, grants):
                        continue
                    cand = Candidate(id=f"{g.key}:a{antenna.id}:{format_utc(aos)}", satellite=_sat_key(g),
                                     antenna=str(antenna.id), start=aos, end=los,
                                     value=(los - aos).total_seconds(), priority=g.priority,
                                     aos_azimuth_deg=p.aos_azimuth_deg, los_azimuth_deg=p.los_azimuth_deg)
                    candidates.append(cand)
                    candidates_of[g.key].append(cand)
    used_antennas = {p.antenna for p in candidates}
    antenna_specs = [AntennaSpec(id=str(a.id), organisation=names[a.station.org_id], setup_s=a.setup_s,
                                 teardown_s=a.turnaround_s, az_slew_deg_s=a.az_slew_deg_s)
                     for a in usable if str(a.id) in used_antennas]
    satellite_specs = [SatelliteSpec(id=key, organisation=names[g.org_id]) for key, g in
                       {_sat_key(g): g for g in groups.values()}.items()]
    p_start = min([now, *(p.start for p in candidates)])
    p_end = max([end, *(p.end for p in candidates)]) + timedelta(seconds=1)
    problem = Problem(start=p_start, end=p_end, antennas=antenna_specs, satellites=satellite_specs,
                      passes=candidates)
    return problem, groups, shifted, dict(candidates_of), lost_reasons


def _sat_key(g: _Group) -> str:
    """The repair problem's satellite: one per (satellite, organisation), as an organisation's contacts hold it."""
    return f"{g.satellite_id}:{g.org_id}"


_AntennaHolds = dict[int, list[tuple[datetime, datetime]]]
_SatelliteHolds = dict[int, list[tuple[datetime, datetime, int, bool]]]


def _holds(session: Session, start: datetime, end: datetime, repaired: set[int]
           ) -> tuple[_AntennaHolds, _SatelliteHolds]:
    """Return the live contacts outside the repair: per antenna (start, busy_until); per satellite (start, end,
    organisation, uplink)."""
    live = session.scalars(select(Contact).where(
        Contact.status.in_((ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS)),
        Contact.start_time < end + HOLD_MARGIN, Contact.busy_until > start - HOLD_MARGIN))
    antennas: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    satellites: dict[int, list[tuple[datetime, datetime, int, bool]]] = defaultdict(list)
    for c in live:
        if c.id in repaired:
            continue
        antennas[c.antenna_id].append((c.start_time, c.busy_until))
        satellites[c.satellite_id].append((c.start_time, c.end_time, c.org_id, c.uplink))
    return antennas, satellites


def _blocked(antenna: Antenna, g: _Group, start: datetime, end: datetime,
             holds: _AntennaHolds, satellite_holds: _SatelliteHolds,
             grants: dict[tuple[int, int], SharingPolicy]) -> bool:
    """Whether a live contact outside the repair, or a policy's blackout, keeps ``[start, end)`` off the antenna."""
    busy_from = start - timedelta(seconds=antenna.setup_s)
    busy_to = end + timedelta(seconds=antenna.turnaround_s)
    if any(s < busy_to and e > busy_from for s, e in holds.get(antenna.id, ())):
        return True
    # The satellite: the organisation's own contacts hold it, and an uplink holds it against another uplink.
    if any(s < end and e > start and (org == g.org_id or (uplink and g.uplink))
           for s, e, org, uplink in satellite_holds.get(g.satellite_id, ())):
        return True
    if antenna.station.org_id != g.org_id:
        try:
            check_blackouts(grants[(antenna.id, g.org_id)], start, end, "policy")
        except PolicyError:
            return True
    return False


def _current(session: Session, contact_id: int, seen: _Seen) -> Contact | None:
    """Return the contact locked, or None when it changed since it was read (or is gone)."""
    try:
        contact = locked_contact(session, contact_id)
    except NotFoundError:
        return None
    if _Seen(contact.status, contact.antenna_id, contact.start_time, contact.end_time) != seen:
        return None
    return contact


def _set_element_set(contact: Contact, record: ElementSetRecord) -> bool:
    """Point the contact's booking snapshot at the element set in force; return whether it changed.

    The snapshot is replaced by a new dict, so that the change is saved.
    """
    snapshot = dict(contact.snapshot or {})
    new = record.snapshot().to_json()
    if snapshot.get("element_set") == new:
        return False
    snapshot["element_set"] = new
    contact.snapshot = snapshot
    return True


def _update_in_place(session: Session, contact: Contact, start: datetime, end: datetime,
                     record: ElementSetRecord) -> bool:
    """Move the contact's window to ``[start, end)`` on its antenna; False when the database's guard refuses it."""
    turnaround = contact.busy_until - contact.end_time
    savepoint = session.begin_nested()
    try:
        contact.start_time, contact.end_time, contact.busy_until = start, end, end + turnaround
        _set_element_set(contact, record)
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        session.refresh(contact)
        return False
    savepoint.commit()
    return True


def _cancel(session: Session, contact: Contact, why: str, *, at: datetime) -> None:
    contact.status = ContactStatus.CANCELLED
    contact.notes = _note(contact.notes, f"cancelled by re-planning: {why}")
    session.flush()
    if not why.startswith("moved"):
        _event(session, "contact.cancelled", contact, f"contact {contact.id} is cancelled: {why}", at=at)


def _book_move(session: Session, old: Contact, candidate: Candidate, group: _Group, *, now: datetime
               ) -> Contact | str:
    """Return the contact booked in place of ``old`` on ``candidate``, or the first line of the refusal."""
    try:
        with session.begin_nested():
            return book_contact(session, antenna_id=int(candidate.antenna), satellite_id=old.satellite_id,
                                org_id=old.org_id, start=candidate.start, end=candidate.end,
                                rules=BookingRules(now=now), request_id=old.request_id,
                                idempotency_key=f"replan:{old.id}", uplink=old.uplink,
                                notes=_note(old.notes.split("\n")[0] if old.notes else "",
                                            f"moved from contact {old.id}"))
    except (ConflictError, PolicyError, NotFoundError, InvalidInputError) as exc:
        return str(exc).splitlines()[0]


def _drop_reason(d: Drift, result: Any) -> str:
    if result is None:
        return f"no other pass in its window can take it: {d.reason}"
    return f"the repair found no pass to keep or move it to: {d.reason}"


def _note(notes: str, line: str) -> str:
    return f"{notes}\n{line}" if notes else line


def _event(session: Session, kind: str, contact: Contact, message: str, *, at: datetime,
           drift: Drift | None = None, extra: dict[str, Any] | None = None) -> None:
    """Record one event about ``contact`` (``store.events``), its payload the drift's figures."""
    from groundshare.store.events import record_event

    payload: dict[str, Any] = {"contact_id": contact.id}
    if drift is not None:
        payload |= {"drift": drift.kind.value, "reason": drift.reason,
                    "aos": format_utc(drift.aos) if drift.aos else None,
                    "los": format_utc(drift.los) if drift.los else None,
                    "aos_shift_s": None if drift.aos_shift_s is None else round(drift.aos_shift_s, 3),
                    "los_shift_s": None if drift.los_shift_s is None else round(drift.los_shift_s, 3)}
    payload |= extra or {}
    record_event(session, kind, message=message, satellite=session.get(Satellite, contact.satellite_id),
                 station=contact.antenna.station, contact=contact, payload=payload, at=at)


def _ms_down(t: datetime) -> datetime:
    return t.replace(microsecond=t.microsecond - t.microsecond % 1000)


def _ms_up(t: datetime) -> datetime:
    down = _ms_down(t)
    return down if down == t else down + timedelta(milliseconds=1)
