"""Every figure of an organisation's executive report for one period, computed from the store.

``compute_report`` reads; it never writes and never reads the wall clock.  Its result's
``Report.to_dict()`` is the report's JSON form (the document, ``report.render``, is made
from it alone).  Where a figure is also an API answer it is computed by the same store
function, so the two cannot disagree:

- hours (reciprocity, the summary's hours, the monthly series) are ``store.ledger.compute_ledger``'s
  ``booked_hours`` for the organisation (``GET /ledger``): contact time of contacts that are not
  cancelled, clipped to the period, self-use left out.  "Given" is hours of our antennas booked
  by a partner, "received" hours of a partner's antennas booked by us; cumulative figures run
  from the organisation's first contact to the period's end;
- data (frames and bytes, per satellite and in the summary) is the ledger's data section in the
  ``satellite_operator`` role (``GET /ledger``'s ``delivered``): the unique frames of our
  satellites first received in the period, and their payload bytes plus the artifacts of our
  satellites' contacts starting in the period.  Per station: the stations the organisation may
  see (its own, and partners' shared with it) that received those frames or artifacts, each
  frame once per station;
- contacts: those the organisation booked (``Contact.org_id``, as ``GET /contacts`` lists them)
  starting in the period, by status (``booked`` = not cancelled, ``executed`` = completed);
  ``requested``: its contact requests, not cancelled, whose window meets the period, and
  ``served_share`` the fraction of them with at least one contact that is not cancelled;
- failure reasons: each failed contact's ``execution["failures"]``, else the first line of its
  notes, else "no reason given"; whitespace collapsed, trailing punctuation dropped and compared
  without case, so one reason counts once per contact; the five most frequent;
- satisfaction "as the scheduler measures it" (``schedule.fairness``): the organisation's
  entitlement is ``fairness.entitlements`` (``basis="contribution"``: antenna-hours contributed,
  with the 10 % equal floor) of a problem holding every antenna and satellite of the network over
  the period, renormalised over the organisations that used the network in the period (booked a
  contact or had a request meeting it), as the scheduler renormalises over those that request
  something.  ``received_share`` is the organisation's share of the network's booked contact
  hours in the period (``compute_ledger`` over the whole network; contact time is the scheduler's
  value of a pass, at priority 1), and ``satisfaction = received_share / entitlement_share``
  (uncapped; the scheduler caps it at 1 only for its minimum and Jain's index).  Only these three
  numbers leave the network-wide sums, never another organisation's figure;
- stations (the organisation's own): ``utilisation`` = contact hours booked on the station's
  antennas (any booker, not cancelled, clipped to the period) / (period hours x antennas);
  ``outages`` = the spans of the contacts on its antennas that failed without ever starting
  (``started_at`` never set: the station was not there to run them, as an agent reports a
  contact it could not execute), clipped to the period and merged where they overlap, with
  their failure reasons.  A contact that started and then failed (no signal, a rotator fault
  mid-pass) is a failed contact, not station downtime.  The store keeps no history of an agent
  being seen (only its current lease), so nothing else counts; ``availability`` =
  1 - outage time / period time;
- freshness: each of its satellites' element set in force at the period's end
  (``store.elements.orbits_in_force``), age in days and state ``fresh`` / ``warning`` / ``stale``
  (``orbits.age``'s fresh / stale / expired, by the default thresholds of 3 and 14 days) or
  ``none`` without a set;
- ahead: the contacts it booked starting in the next period (same kind and length) and their
  hours; the sharing policies it granted or was granted (the schema has no end date, so none
  "expire") that have a blackout window meeting the next period or whose weekly hours were 90 %
  used or more in an ISO week meeting the period; its open requests whose window meets the
  period or the next one and that hold no contact, with the planner's last reasons;
- series: hours given and received per month for the six months ending with the period's last
  month (``compute_ledger`` by month), executed and failed contacts per ISO week meeting the
  period (counted in the week they start, within the period), bytes per satellite.

Names: another organisation's name appears only as a ledger partner or a sharing policy's
partner, a station's only for stations the organisation may see (``api.queries``' rule, which
this module repeats in ``_visible_station_ids`` as the store must not import the API), a
satellite's only for its own satellites.

``generated_from.network_clock`` is the network clock's anchor (``NetworkClock.network_at``: the
demo's and the simulation's instant), or the period's end when the network runs at the wall clock,
so the same store gives the same report byte for byte.  Rows are sorted; floats are rounded
(hours and shares to 3 decimals, percentages to 1).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from groundshare.errors import NotFoundError
from groundshare.orbits.age import EXPIRED, FRESH, STALE
from groundshare.report.period import PeriodKind, ReportPeriod, report_period
from groundshare.schedule.fairness import entitlements
from groundshare.schedule.problem import AntennaSpec, Problem, SatelliteSpec
from groundshare.store.elements import orbits_in_force
from groundshare.store.ledger import MAX_SPAN, DataRole, Period, compute_ledger, floor_period, next_period
from groundshare.store.models import (
    Antenna,
    Artifact,
    Contact,
    ContactRequest,
    ContactStatus,
    Frame,
    NetworkClock,
    Organisation,
    Reception,
    RequestStatus,
    Satellite,
    SharingPolicy,
    Station,
)
from groundshare.store.policy import hours_held_in_week, week_start
from groundshare.timeutil import format_utc, parse_utc
from groundshare.units import DAY_S, HOUR_S

#: The summary's figures, in the order the document shows them.
SUMMARY_KEYS = ("contacts_executed", "contacts_failed", "served_share", "hours_received", "hours_given",
                "balance_hours", "bytes_delivered", "frames_delivered")
#: How many failure reasons the report lists.
TOP_REASONS = 5
#: Share of a policy's weekly hours from which the report points at it.
POLICY_USED_SHARE = 0.9
#: Months of the hours series.
SERIES_MONTHS = 6
#: What a failed contact's reason is when its agent gave none.
NO_REASON = "no reason given"
#: ``orbits.age`` states as the report names them.
FRESHNESS = {FRESH: "fresh", STALE: "warning", EXPIRED: "stale"}


@dataclass
class Report:
    """One organisation's report for one period: each section as its JSON form (module docstring)."""

    organisation: dict[str, Any]
    period: dict[str, Any]
    generated_from: dict[str, Any]
    summary: list[dict[str, Any]]
    contacts: dict[str, Any]
    reciprocity: dict[str, Any]
    data: dict[str, Any]
    stations: list[dict[str, Any]]
    freshness: list[dict[str, Any]]
    ahead: dict[str, Any]
    series: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the report's JSON form (keys in the spec's order)."""
        return {"organisation": self.organisation, "period": self.period, "generated_from": self.generated_from,
                "summary": self.summary, "contacts": self.contacts, "reciprocity": self.reciprocity,
                "data": self.data, "stations": self.stations, "freshness": self.freshness, "ahead": self.ahead,
                "series": self.series}


def compute_report(session: Session, *, org_id: int, start: datetime, end: datetime, period_label: str | None = None,
                   kind: PeriodKind | str = PeriodKind.RANGE) -> Report:
    """Return the report of organisation ``org_id`` over ``[start, end)`` (a period of ``kind``, module docstring).

    Raises ``NotFoundError`` for an unknown organisation and ``InvalidInputError`` naming
    ``period`` for an empty or over-long span.
    """
    period = report_period(start, end, period_label, kind)
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFoundError(f"organisation {org_id} does not exist")
    return _Builder(session, org, period).build()


class _Builder:
    """The queries of one report; each section is one method."""

    def __init__(self, session: Session, org: Organisation, period: ReportPeriod) -> None:
        self.session, self.org, self.period = session, org, period
        self.start, self.end = period.start, period.end
        #: Names of the partners met in ledger rows and sharing policies (the only other organisations named).
        self.names: dict[int, str] = {}
        self.satellites = list(session.scalars(select(Satellite).where(Satellite.org_id == org.id)
                                               .order_by(Satellite.name, Satellite.id)))

    def build(self) -> Report:
        p = self.period
        now = self._clock()
        current, previous = self._core(p.start, p.end), self._core(p.previous_start, p.previous_end)
        summary = []
        for key in SUMMARY_KEYS:
            value, before = current[key], previous[key]
            change = _round(value - before) if isinstance(value, float) else value - before
            pct = round(100.0 * (value - before) / before, 1) if before else None
            summary.append({"key": key, "value": value, "previous": before, "change": change, "change_pct": pct})
        data = self._data()
        return Report(
            organisation={"id": self.org.id, "name": self.org.name},
            period={"label": p.label, "kind": p.kind.value, "start": format_utc(p.start), "end": format_utc(p.end),
                    "previous_start": format_utc(p.previous_start), "previous_end": format_utc(p.previous_end)},
            generated_from={"network_clock": format_utc(now)},
            summary=summary,
            contacts={**current["contacts"], "failure_reasons": self._failure_reasons(),
                      "satisfaction": self._satisfaction()},
            reciprocity=self._reciprocity(),
            data=data,
            stations=self._stations(),
            freshness=self._freshness(),
            ahead=self._ahead(),
            series={"hours_by_month": self._hours_by_month(), "contacts_by_week": self._contacts_by_week(),
                    "data_by_satellite": [{"name": row["name"], "bytes": row["bytes"]}
                                          for row in data["per_satellite"]]},
        )

    # -- the clock ------------------------------------------------------------------------------------------------

    def _clock(self) -> datetime:
        row = self.session.get(NetworkClock, 1)
        return row.network_at if row is not None else self.end

    # -- the figures compared with the previous period ------------------------------------------------------------

    def _core(self, start: datetime, end: datetime) -> dict[str, Any]:
        counts = Counter(self.session.scalars(
            select(Contact.status).where(Contact.org_id == self.org.id, Contact.start_time >= start,
                                         Contact.start_time < end)))
        booked = sum(n for status, n in counts.items() if status is not ContactStatus.CANCELLED)
        requests = list(self.session.scalars(self._requests_meeting(start, end).with_only_columns(ContactRequest.id)))
        served = set(self.session.scalars(
            select(Contact.request_id).where(Contact.request_id.in_(requests),
                                             Contact.status != ContactStatus.CANCELLED).distinct()))
        served_share = _round(len(served) / len(requests)) if requests else 0.0
        given, received = self._given_received(start, end)
        ledger = compute_ledger(self.session, start=start, end=end, period=_ledger_period(start, end),
                                org_id=self.org.id)
        delivered = [row for row in ledger.data
                     if row.role is DataRole.SATELLITE_OPERATOR and row.org_id == self.org.id]
        given_h, received_h = _round(sum(given.values())), _round(sum(received.values()))
        return {
            "contacts": {"requested": len(requests), "booked": booked,
                         "executed": counts[ContactStatus.COMPLETED], "failed": counts[ContactStatus.FAILED],
                         "cancelled": counts[ContactStatus.CANCELLED], "served_share": served_share},
            "contacts_executed": counts[ContactStatus.COMPLETED], "contacts_failed": counts[ContactStatus.FAILED],
            "served_share": served_share, "hours_received": received_h, "hours_given": given_h,
            "balance_hours": _round(given_h - received_h),
            "bytes_delivered": sum(r.frame_bytes + r.artifact_bytes for r in delivered),
            "frames_delivered": sum(r.frames for r in delivered),
        }

    def _requests_meeting(self, start: datetime, end: datetime) -> Any:
        return select(ContactRequest).where(ContactRequest.org_id == self.org.id,
                                            ContactRequest.status != RequestStatus.CANCELLED,
                                            ContactRequest.window_start < end, ContactRequest.window_end > start)

    def _given_received(self, start: datetime, end: datetime) -> tuple[dict[int, float], dict[int, float]]:
        """Return hours given to and received from each partner over ``[start, end)`` (``compute_ledger``'s)."""
        given: dict[int, float] = defaultdict(float)
        received: dict[int, float] = defaultdict(float)
        for chunk_start, chunk_end in _chunks(start, end):
            ledger = compute_ledger(self.session, start=chunk_start, end=chunk_end,
                                    period=_ledger_period(chunk_start, chunk_end), org_id=self.org.id)
            for row in ledger.rows:
                if row.is_self_use:
                    continue
                if row.owner_org_id == self.org.id:
                    given[row.user_org_id] += row.booked_hours
                    self.names[row.user_org_id] = row.user_org_name
                elif row.user_org_id == self.org.id:
                    received[row.owner_org_id] += row.booked_hours
                    self.names[row.owner_org_id] = row.owner_org_name
        return given, received

    # -- contacts ---------------------------------------------------------------------------------------------------

    def _failure_reasons(self) -> list[dict[str, Any]]:
        failed = self.session.execute(
            select(Contact.id, Contact.execution, Contact.notes)
            .where(Contact.org_id == self.org.id, Contact.status == ContactStatus.FAILED,
                   Contact.start_time >= self.start, Contact.start_time < self.end).order_by(Contact.id)).all()
        counts: Counter[str] = Counter()
        shown: dict[str, str] = {}
        for _, execution, notes in failed:
            for key, text in _reasons(execution, notes).items():
                counts[key] += 1
                shown[key] = min(shown.get(key, text), text)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], shown[item[0]]))
        return [{"reason": shown[key], "count": n} for key, n in ranked[:TOP_REASONS]]

    def _satisfaction(self) -> dict[str, Any]:
        session, start, end = self.session, self.start, self.end
        names = dict(session.execute(select(Organisation.id, Organisation.name)).all())
        antennas = [AntennaSpec(id=str(antenna_id), organisation=names[owner_id]) for antenna_id, owner_id in
                    session.execute(select(Antenna.id, Station.org_id).join(Station).order_by(Antenna.id))]
        satellites = [SatelliteSpec(id=str(satellite_id), organisation=names[owner_id]) for satellite_id, owner_id in
                      session.execute(select(Satellite.id, Satellite.org_id).order_by(Satellite.id))]
        empty = {"entitlement_share": None, "received_share": None, "satisfaction": None, "basis": "contribution"}
        if not antennas:
            return empty
        shares = entitlements(Problem(start=start, end=end, antennas=antennas, satellites=satellites, passes=[]))
        used_hours: dict[int, float] = defaultdict(float)
        for chunk_start, chunk_end in _chunks(start, end):
            for row in compute_ledger(session, start=chunk_start, end=chunk_end,
                                      period=_ledger_period(chunk_start, chunk_end)).rows:
                used_hours[row.user_org_id] += row.booked_hours
        requesting = set(session.scalars(select(ContactRequest.org_id).where(
            ContactRequest.window_start < end, ContactRequest.window_end > start,
            ContactRequest.status != RequestStatus.CANCELLED).distinct()))
        users = {names[o] for o in requesting | {o for o, h in used_hours.items() if h > 0}} | {self.org.name}
        total_share = sum(shares.get(name, 0.0) for name in users)
        if self.org.name not in shares or total_share <= 0:
            return empty
        entitlement = shares[self.org.name] / total_share
        total_h = sum(used_hours.values())
        received = used_hours.get(self.org.id, 0.0) / total_h if total_h > 0 else None
        satisfaction = received / entitlement if received is not None and entitlement > 0 else None
        return {"entitlement_share": _round(entitlement), "received_share": _maybe(received),
                "satisfaction": _maybe(satisfaction), "basis": "contribution"}

    # -- reciprocity -------------------------------------------------------------------------------------------------

    def _reciprocity(self) -> dict[str, Any]:
        given, received = self._given_received(self.start, self.end)
        first = self.session.scalar(
            select(func.min(Contact.start_time)).join(Antenna, Antenna.id == Contact.antenna_id).join(Station)
            .where(Contact.status != ContactStatus.CANCELLED,
                   or_(Contact.org_id == self.org.id, Station.org_id == self.org.id)))
        since = min(floor_period(first, Period.DAY), self.start) if first is not None else self.start
        all_given, all_received = self._given_received(since, self.end)
        partners = set(given) | set(received) | set(all_given) | set(all_received)
        for policy in self._policies():
            other = policy.grantee_org_id if policy.owner_org_id == self.org.id else policy.owner_org_id
            partners.add(other)
            self.names[other] = policy.grantee.name if policy.owner_org_id == self.org.id else policy.owner.name
        rows = []
        for partner in sorted(partners, key=lambda o: (self.names[o], o)):
            g, r, cg, cr = (_round(d.get(partner, 0.0)) for d in (given, received, all_given, all_received))
            rows.append({"org_id": partner, "name": self.names[partner], "given_hours": g, "received_hours": r,
                         "balance_hours": _round(g - r), "cumulative_given_hours": cg,
                         "cumulative_received_hours": cr, "cumulative_balance_hours": _round(cg - cr)})
        given_h, received_h = _round(sum(given.values())), _round(sum(received.values()))
        return {"partners": rows, "given_hours": given_h, "received_hours": received_h,
                "balance_hours": _round(given_h - received_h)}

    def _policies(self) -> list[SharingPolicy]:
        return list(self.session.scalars(
            select(SharingPolicy).where(or_(SharingPolicy.owner_org_id == self.org.id,
                                            SharingPolicy.grantee_org_id == self.org.id)).order_by(SharingPolicy.id)))

    # -- data --------------------------------------------------------------------------------------------------------

    def _data(self) -> dict[str, Any]:
        session, start, end = self.session, self.start, self.end
        ids = [s.id for s in self.satellites]
        frames = {sid: (n, int(b or 0)) for sid, n, b in session.execute(
            select(Frame.satellite_id, func.count(), func.sum(Frame.size_bytes))
            .where(Frame.satellite_id.in_(ids), Frame.received_at >= start, Frame.received_at < end)
            .group_by(Frame.satellite_id))}
        artifacts = {sid: int(b or 0) for sid, b in session.execute(
            select(Contact.satellite_id, func.sum(Artifact.size_bytes)).join(Contact, Contact.id == Artifact.contact_id)
            .where(Contact.satellite_id.in_(ids), Contact.start_time >= start, Contact.start_time < end)
            .group_by(Contact.satellite_id))}
        per_satellite = []
        for s in self.satellites:
            n, frame_bytes = frames.get(s.id, (0, 0))
            per_satellite.append({"satellite_id": s.id, "name": s.name, "frames": n,
                                  "bytes": frame_bytes + artifacts.get(s.id, 0)})
        visible = self._visible_station_ids()
        heard = (select(Reception.station_id, Reception.frame_id).join(Frame, Frame.id == Reception.frame_id)
                 .where(Frame.satellite_id.in_(ids), Frame.received_at >= start, Frame.received_at < end,
                        Reception.station_id.in_(visible)).distinct().subquery())
        station_frames = {sid: (n, int(b or 0)) for sid, n, b in session.execute(
            select(heard.c.station_id, func.count(), func.sum(Frame.size_bytes))
            .join(Frame, Frame.id == heard.c.frame_id).group_by(heard.c.station_id))}
        station_artifacts = {sid: int(b or 0) for sid, b in session.execute(
            select(Antenna.station_id, func.sum(Artifact.size_bytes))
            .join(Contact, Contact.id == Artifact.contact_id).join(Antenna, Antenna.id == Contact.antenna_id)
            .where(Contact.satellite_id.in_(ids), Contact.start_time >= start, Contact.start_time < end,
                   Antenna.station_id.in_(visible)).group_by(Antenna.station_id))}
        station_ids = set(station_frames) | set(station_artifacts)
        stations = session.execute(select(Station.id, Station.name).where(Station.id.in_(station_ids))).all()
        per_station = []
        for station_id, name in sorted(stations, key=lambda row: (row[1], row[0])):
            n, frame_bytes = station_frames.get(station_id, (0, 0))
            per_station.append({"station_id": station_id, "name": name, "frames": n,
                                "bytes": frame_bytes + station_artifacts.get(station_id, 0)})
        return {"per_satellite": per_satellite, "per_station": per_station,
                "frames": sum(row["frames"] for row in per_satellite),
                "bytes": sum(row["bytes"] for row in per_satellite)}

    def _visible_station_ids(self) -> set[int]:
        """Return the stations the organisation may see: its own, and those with an antenna shared with it."""
        shared = select(SharingPolicy.antenna_id).where(SharingPolicy.grantee_org_id == self.org.id)
        return set(self.session.scalars(
            select(Station.id).where(or_(Station.org_id == self.org.id,
                                         Station.id.in_(select(Antenna.station_id).where(Antenna.id.in_(shared)))))))

    # -- stations ----------------------------------------------------------------------------------------------------

    def _stations(self) -> list[dict[str, Any]]:
        session, start, end = self.session, self.start, self.end
        period_s = (end - start).total_seconds()
        rows = []
        for station in session.scalars(select(Station).where(Station.org_id == self.org.id)
                                       .order_by(Station.name, Station.id)):
            antennas = len(station.antennas)
            contacts = session.execute(
                select(Contact.start_time, Contact.end_time, Contact.status, Contact.execution, Contact.notes,
                       Contact.started_at)
                .join(Antenna, Antenna.id == Contact.antenna_id)
                .where(Antenna.station_id == station.id, Contact.status != ContactStatus.CANCELLED,
                       Contact.start_time < end, Contact.end_time > start)
                .order_by(Contact.start_time, Contact.id)).all()
            busy_s = sum((min(e, end) - max(s, start)).total_seconds() for s, e, *_ in contacts)
            spans = [(max(s, start), min(e, end), sorted(_reasons(execution, notes).values()))
                     for s, e, status, execution, notes, started_at in contacts
                     if status is ContactStatus.FAILED and started_at is None]
            outages = _merge(spans)
            down_s = sum((e - s).total_seconds() for s, e, _ in outages)
            rows.append({
                "station_id": station.id, "name": station.name,
                "availability": _round(1.0 - down_s / period_s),
                "utilisation": _round(busy_s / (period_s * antennas)) if antennas else 0.0,
                "outages": [{"start": format_utc(s), "end": format_utc(e), "reason": "; ".join(reasons)}
                            for s, e, reasons in outages],
                "contacts": sum(1 for s, *_ in contacts if s >= start),
                "failed": sum(1 for s, _, status, *_ in contacts if s >= start and status is ContactStatus.FAILED),
            })
        return rows

    # -- freshness ---------------------------------------------------------------------------------------------------

    def _freshness(self) -> list[dict[str, Any]]:
        in_force = orbits_in_force(self.session, [s.id for s in self.satellites], now=self.end)
        rows = []
        for s in self.satellites:
            orbit = in_force.get(s.id)
            rows.append({"satellite_id": s.id, "name": s.name,
                         "element_age_days": _round(orbit.age_s / DAY_S) if orbit is not None else None,
                         "state": FRESHNESS[orbit.state] if orbit is not None else "none"})
        return rows

    # -- ahead -------------------------------------------------------------------------------------------------------

    def _ahead(self) -> dict[str, Any]:
        session = self.session
        next_start, next_end = self.period.next_period()
        booked = session.execute(
            select(Contact.start_time, Contact.end_time)
            .where(Contact.org_id == self.org.id, Contact.status != ContactStatus.CANCELLED,
                   Contact.start_time >= next_start, Contact.start_time < next_end)).all()
        policies = []
        for policy in self._policies():
            notes = self._policy_notes(policy, next_start, next_end)
            if not notes:
                continue
            mine = policy.owner_org_id == self.org.id
            antenna = policy.antenna
            policies.append({"policy_id": policy.id, "antenna": f"{antenna.station.name}/{antenna.name}",
                             "partner": policy.grantee.name if mine else policy.owner.name, "note": "; ".join(notes)})
        held = set(session.scalars(select(Contact.request_id).where(Contact.request_id.is_not(None),
                                                                    Contact.status != ContactStatus.CANCELLED)))
        unserved = []
        for r in session.scalars(
                select(ContactRequest).where(ContactRequest.org_id == self.org.id,
                                             ContactRequest.status == RequestStatus.OPEN,
                                             ContactRequest.window_start < next_end,
                                             ContactRequest.window_end > self.start)
                .order_by(ContactRequest.window_start, ContactRequest.id)):
            if r.id in held:
                continue
            unserved.append({"request_id": r.id, "satellite": _satellite_name(session, r),
                             "window_start": format_utc(r.window_start), "window_end": format_utc(r.window_end),
                             "reasons": _last_reasons(r.last_reasons)})
        return {"booked_next_period": len(booked),
                "booked_hours_next_period": _round(sum((e - s).total_seconds() for s, e in booked) / HOUR_S),
                "policies": policies, "open_requests_unserved": unserved}

    def _policy_notes(self, policy: SharingPolicy, next_start: datetime, next_end: datetime) -> list[str]:
        notes = []
        for window in policy.blackout_windows or []:
            try:
                w_start, w_end = parse_utc(str(window["start"])), parse_utc(str(window["end"]))
            except (KeyError, TypeError, ValueError):
                notes.append(f"malformed blackout window {window!r}")
                continue
            if w_start < next_end and w_end > next_start:
                notes.append(f"blackout from {format_utc(w_start)} to {format_utc(w_end)}")
        if policy.hours_per_week:
            monday = week_start(self.start)
            fullest_h, fullest = 0.0, monday
            while monday < self.end:
                held_h = hours_held_in_week(self.session, [(policy.antenna_id, policy.grantee_org_id)],
                                            monday)[(policy.antenna_id, policy.grantee_org_id)]
                if held_h > fullest_h:
                    fullest_h, fullest = held_h, monday
                monday += timedelta(weeks=1)
            if fullest_h >= POLICY_USED_SHARE * policy.hours_per_week:
                notes.append(f"{round(100 * fullest_h / policy.hours_per_week)} % of its {policy.hours_per_week:g} h "
                             f"per week used in the week of {fullest.date().isoformat()}")
        return notes

    # -- series ------------------------------------------------------------------------------------------------------

    def _hours_by_month(self) -> list[dict[str, Any]]:
        last = floor_period(self.end - timedelta(microseconds=1), Period.MONTH)
        first = last
        for _ in range(SERIES_MONTHS - 1):
            first = floor_period(first - timedelta(days=1), Period.MONTH)
        months: dict[datetime, list[float]] = {}
        month = first
        while month <= last:
            months[month] = [0.0, 0.0]
            month = next_period(month, Period.MONTH)
        ledger = compute_ledger(self.session, start=first, end=next_period(last, Period.MONTH), period=Period.MONTH,
                                org_id=self.org.id)
        for row in ledger.rows:
            if row.is_self_use or row.period_start not in months:
                continue
            months[row.period_start][0 if row.owner_org_id == self.org.id else 1] += row.booked_hours
        return [{"month": f"{m:%Y-%m}", "given_hours": _round(g), "received_hours": _round(r)}
                for m, (g, r) in months.items()]

    def _contacts_by_week(self) -> list[dict[str, Any]]:
        weeks: dict[datetime, Counter[ContactStatus]] = {}
        monday = week_start(self.start)
        while monday < self.end:
            weeks[monday] = Counter()
            monday += timedelta(weeks=1)
        for start_time, status in self.session.execute(
                select(Contact.start_time, Contact.status)
                .where(Contact.org_id == self.org.id, Contact.start_time >= self.start, Contact.start_time < self.end,
                       Contact.status.in_((ContactStatus.COMPLETED, ContactStatus.FAILED)))):
            weeks[week_start(start_time)][status] += 1
        return [{"week": m.date().isoformat(), "executed": c[ContactStatus.COMPLETED],
                 "failed": c[ContactStatus.FAILED]} for m, c in weeks.items()]


# -- helpers ---------------------------------------------------------------------------------------------------------


def normalise_reason(text: str) -> str:
    """Return a failure reason as the report compares it: whitespace collapsed, trailing punctuation dropped."""
    return " ".join(str(text).split()).rstrip(".;:,!").strip()


def _reasons(execution: dict[str, Any] | None, notes: str | None) -> dict[str, str]:
    """Return a failed contact's reasons, once each: ``{casefolded reason: reason as shown}``."""
    found: list[str] = []
    failures = (execution or {}).get("failures") if isinstance(execution, dict) else None
    if isinstance(failures, list):
        found = [normalise_reason(f) for f in failures if isinstance(f, str)]
    if not any(found) and notes:
        found = [normalise_reason(next((line for line in notes.splitlines() if line.strip()), ""))]
    found = [f for f in found if f] or [NO_REASON]
    out: dict[str, str] = {}
    for text in found:
        key = text.casefold()
        out[key] = min(out.get(key, text), text)
    return out


def _merge(spans: Iterable[tuple[datetime, datetime, list[str]]]) -> list[tuple[datetime, datetime, list[str]]]:
    """Return the union of time spans, in order, each with the sorted reasons of the spans it joins."""
    merged: list[tuple[datetime, datetime, list[str]]] = []
    for s, e, reasons in sorted(spans, key=lambda span: (span[0], span[1])):
        if merged and s <= merged[-1][1]:
            last_s, last_e, last_reasons = merged[-1]
            merged[-1] = (last_s, max(last_e, e), sorted(set(last_reasons) | set(reasons)))
        else:
            merged.append((s, e, list(reasons)))
    return merged


def _last_reasons(reasons: list[Any] | None) -> list[str]:
    out = []
    for reason in reasons or []:
        if isinstance(reason, dict):
            out.append(str(reason.get("message") or reason.get("kind") or ""))
        else:
            out.append(str(reason))
    return [r for r in out if r]


def _satellite_name(session: Session, request: ContactRequest) -> str:
    satellite = session.get(Satellite, request.satellite_id)
    return satellite.name if satellite is not None else str(request.satellite_id)


def _chunks(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Return ``[start, end)`` cut into pieces a ledger may cover (at most ``MAX_SPAN`` each)."""
    pieces = []
    while start < end:
        pieces.append((start, min(end, start + MAX_SPAN)))
        start = pieces[-1][1]
    return pieces


def _ledger_period(start: datetime, end: datetime) -> Period:
    """Return the ledger period that covers ``[start, end)`` exactly: months when both are month starts, else days."""
    month_aligned = floor_period(start, Period.MONTH) == start and floor_period(end, Period.MONTH) == end
    return Period.MONTH if month_aligned else Period.DAY


def _round(value: float) -> float:
    return round(float(value), 3) + 0.0  # + 0.0: never -0.0


def _maybe(value: float | None) -> float | None:
    return None if value is None else _round(value)


# -- the document's bytes --------------------------------------------------------------------------------------------

#: The report's forms and their media types.
MEDIA_TYPES = {"pdf": "application/pdf", "html": "text/html; charset=utf-8", "json": "application/json"}
#: The report's languages (``report/i18n``).
LANGUAGES = ("en", "es", "ko")


def report_bytes(data: dict[str, Any], fmt: str, lang: str = "en") -> bytes:
    """Return the report ``data`` (``Report.to_dict()``) as ``fmt``: JSON here, PDF or HTML by ``report.render``.

    JSON is UTF-8, indented, with a final newline; its keys keep the report's order.
    """
    if fmt == "json":
        import json

        return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    from groundshare.report.render import render_report  # the report extra: only the document needs it

    return render_report(data, fmt, lang)


def report_filename(org_name: str, label: str, fmt: str) -> str:
    """Return ``groundshare-report-AEM-2025-11.pdf``: the organisation's name kept to letters, digits, ``.-_``."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "-" for c in org_name)
    safe = "-".join(part for part in safe.split("-") if part) or "organisation"
    return f"groundshare-report-{safe}-{label}.{fmt}"
