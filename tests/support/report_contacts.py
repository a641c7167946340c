"""A small month of contacts on the API tests' world (``worlds.make_world``), for the report's tests.

Written through the store's own functions (``book_contact``, ``start_contact``,
``report_outcome``, ``ingest_frames``), in November 2025 (with one contact in October, the
previous period, and one in December, the next):

- kasa on its own ``uhf`` antenna (self-use): a completed contact with three frames, and
  one that failed without starting ("Station offline"), an outage of daejeon-1;
- aem on kasa's shared ``uhf`` antenna (kasa gives): a completed 30-minute contact, two
  failed ones that started ("Rotator not responding." and "rotator  not responding": one
  reason), and one in October;
- kasa on aem's ``uhf`` antenna, through a policy aem grants kasa (1 h a week, a blackout
  in December): a completed 20-minute contact (kasa receives) and one booked in December;
- uni (foreign to both) on its own antenna: a completed contact with a frame, never in
  kasa's or aem's report;
- kasa's requests: one served by its November contact, one open and unserved with the
  planner's last reasons; kasa's satellite has an element set of 2025-11-20.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from groundshare.store import (
    UNCHECKED,
    ContactRequest,
    ContactStatus,
    ElementSetRecord,
    ElementTextFormat,
    RequestStatus,
    SharingPolicy,
    book_contact,
    report_outcome,
    session_scope,
    start_contact,
)
from groundshare.store.frames import IncomingFrame, ingest_frames

from .shipped import CUBESATS, shipped_catalogue
from .worlds import World

#: The report period the contacts are in.
PERIOD = "2025-11"
NOV = datetime(2025, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ReportContacts:
    """Ids the tests check against."""

    aem_policy_id: int
    open_request_id: int
    served_request_id: int


def _at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def _book(session: Session, antenna_id: int, satellite_id: int, org_id: int, start: datetime, minutes: float,
          request_id: int | None = None) -> int:
    return book_contact(session, antenna_id=antenna_id, satellite_id=satellite_id, org_id=org_id, start=start,
                        end=start + timedelta(minutes=minutes), rules=UNCHECKED, request_id=request_id).id


def _run(session: Session, contact_id: int, start: datetime, minutes: float, *, failure: str | None = None,
         started: bool = True, frames: int = 0, size: int = 100) -> None:
    if started:
        start_contact(session, contact_id, at=start)
    if frames:
        from groundshare.store import Contact

        contact = session.get(Contact, contact_id)
        ingest_frames(session, contact, [IncomingFrame(start + timedelta(seconds=30 * i),
                                                       bytes([contact_id % 250 + 1, i + 1]) * (size // 2))
                                         for i in range(frames)])
    report_outcome(session, contact_id, status=ContactStatus.FAILED if failure else ContactStatus.COMPLETED,
                   bytes_received=frames * size, notes=failure or "", started_at=start if started else None,
                   finished_at=start + timedelta(minutes=minutes),
                   execution={"failures": [failure]} if failure else None)


def add_report_contacts(factory: sessionmaker[Session], world: World) -> ReportContacts:
    """Write the month of contacts of the module docstring into the world's store."""
    kasa, aem, uni = world.kasa, world.aem, world.uni
    with session_scope(factory) as session:
        policy = SharingPolicy(owner_org_id=aem.id, grantee_org_id=kasa.id, antenna_id=aem.antenna_id, bands=[],
                               hours_per_week=1.0, blackout_windows=[
                                   {"start": "2025-12-24T00:00:00Z", "end": "2025-12-26T00:00:00Z"}])
        session.add(policy)
        element_set = shipped_catalogue(CUBESATS).elements[1]
        session.add(ElementSetRecord(satellite_id=kasa.satellite_id, epoch=_at(20, 0), format=ElementTextFormat.TLE,
                                     text=f"{element_set.name}\n{element_set.line1}\n{element_set.line2}\n"))
        served = ContactRequest(org_id=kasa.id, satellite_id=kasa.satellite_id, window_start=_at(3, 0),
                                window_end=_at(5, 0), status=RequestStatus.SCHEDULED)
        unserved = ContactRequest(org_id=kasa.id, satellite_id=kasa.satellite_id, window_start=_at(25, 0),
                                  window_end=_at(28, 0), last_reasons=[
                                      {"request": "r", "satellite": "s", "organisation": kasa.name,
                                       "kind": "no_pass", "message": "no pass meets the minimum elevation"}])
        session.add_all([served, unserved])
        session.flush()
        # kasa on its own antenna (self-use).
        own = _book(session, kasa.antenna_id, kasa.satellite_id, kasa.id, _at(4, 10), 10, served.id)
        _run(session, own, _at(4, 10), 10, frames=3)
        offline = _book(session, kasa.antenna_id, kasa.satellite_id, kasa.id, _at(12, 8), 15)
        _run(session, offline, _at(12, 8), 15, failure="Station offline", started=False)
        # aem on kasa's shared antenna: kasa gives.
        for day, minutes, failure in ((6, 30, None), (7, 12, "Rotator not responding."),
                                      (8, 12, "rotator  not responding")):
            contact = _book(session, kasa.antenna_id, aem.satellite_id, aem.id, _at(day, 14), minutes)
            _run(session, contact, _at(day, 14), minutes, failure=failure, frames=0 if failure else 2)
        october = _book(session, kasa.antenna_id, aem.satellite_id, aem.id, _at(20, 14, month=10), 6)
        _run(session, october, _at(20, 14, month=10), 6)
        # kasa on aem's antenna: kasa receives; one contact ahead in December.
        received = _book(session, aem.antenna_id, kasa.satellite_id, kasa.id, _at(10, 2), 20)
        _run(session, received, _at(10, 2), 20, frames=1)
        _book(session, aem.antenna_id, kasa.satellite_id, kasa.id, _at(3, 2, month=12), 9)
        # uni, foreign to both, on its own antenna.
        foreign = _book(session, uni.antenna_id, uni.satellite_id, uni.id, _at(9, 9), 11)
        _run(session, foreign, _at(9, 9), 11, frames=1)
        return ReportContacts(policy.id, unserved.id, served.id)
