"""Book contacts on antennas without ever double-booking one.

The invariant (an antenna never holds two live contacts that overlap, turnaround
included) is the database's to enforce (``store.guards``).  ``book_contact`` adds, in
front of that guard:

- a per-antenna lock: ``SELECT ... FOR UPDATE`` on the antenna row (PostgreSQL); the
  transaction's write lock, taken by ``BEGIN IMMEDIATE`` (SQLite).  Bookings of one
  antenna then run one after another, so the check below sees every earlier booking and
  concurrent bookings do not pile up waiting on each other's exclusion-constraint rows
  (which is where deadlocks came from with the constraint alone);
- a check for an overlapping live contact, so the refusal can name it;
- the insert inside a savepoint, so that if the guard still refuses it (a writer that
  skipped the lock), the unit of work stays usable, the row is gone and the error names
  the contact in the way.

A refusal names the contact in the way only when the booking organisation may see it
(it booked it, or it is on its own antenna: ``api.queries``' rule); otherwise it says
when the antenna is busy and nothing else.

``BookingRules`` are the network's rules for a new contact besides the antenna guard and
the sharing policy: not starting before the network's clock, at most ``max_contact_s``
long, and within a pass of the satellite above the station's mask (``passes.window``,
with the element set the contact snapshots) unless the satellite's operator asks for
``allow_outside_pass`` (a search for a satellite whose orbit is uncertain).  A contact is
receive-only unless ``uplink``: receive-only contacts of a satellite never conflict with
each other; uplink contacts hold the satellite exclusively (``store.guards``), only the
satellite's operator, or an organisation it lists in ``Satellite.uplink_org_ids``, may book
them, and only under a licence for the station and the owner's uplink terms (``store.uplink``).

Nothing here commits: the caller's unit of work (``db.session_scope`` or
``db.run_unit_of_work``) does, so a refused booking leaves nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from groundshare.contact import BookingSnapshot, SatelliteSnapshot
from groundshare.errors import ConflictError, InvalidInputError, NotFoundError, PolicyError
from groundshare.store.db import sqlite_begin_mode
from groundshare.store.guards import OVERLAP_GUARD, UPLINK_GUARD
from groundshare.store.models import (
    Antenna,
    Contact,
    ContactStatus,
    ElementSetRecord,
    Organisation,
    Satellite,
    Station,
    newest_element_set,
)
from groundshare.store.policy import check_sharing_policy
from groundshare.store.uplink import check_uplink_allowed
from groundshare.timeutil import format_utc, require_utc

MAX_IDEMPOTENCY_KEY_LENGTH = 200

R = TypeVar("R", Antenna, Contact, Station)


class DoubleBookingError(ConflictError):
    """The requested contact overlaps a live contact on the same antenna.

    ``contact_id``, ``start`` and ``end`` describe the contact in the way (``None`` when
    the database refused the booking but the other contact is no longer visible).
    """

    def __init__(self, message: str, *, contact_id: int | None, start: datetime | None,
                 end: datetime | None) -> None:
        super().__init__(message)
        self.contact_id = contact_id
        self.start = start
        self.end = end


class IdempotencyKeyReusedError(ConflictError):
    """An idempotency key already booked a different contact for this organisation."""


@dataclass(frozen=True)
class BookingRules:
    """The network's rules a new contact must meet (see the module docstring).

    ``now``: the network's clock; a contact may not start before it (None: not checked).
    ``max_contact_s``: the longest contact (None: unbounded).  ``within_pass``: the
    contact must lie within a pass above the station's mask, within ``pass_tolerance_s``
    at each end; ``allow_outside_pass`` is the operator's explicit exception to it.
    ``UNCHECKED`` checks none of these: for callers that place contacts by other means,
    such as the store's own tests.
    """

    now: datetime | None = None
    max_contact_s: float | None = None
    within_pass: bool = True
    allow_outside_pass: bool = False
    pass_tolerance_s: float = 1.0


UNCHECKED = BookingRules(within_pass=False)


def book_contact(session: Session, *, antenna_id: int, satellite_id: int, org_id: int, start: datetime,
                 end: datetime, rules: BookingRules, idempotency_key: str | None = None,
                 request_id: int | None = None, notes: str = "", uplink: bool = False,
                 leop_campaign_id: int | None = None, leop_window: tuple[datetime, datetime] | None = None,
                 search_pattern: dict[str, Any] | None = None) -> Contact:
    """Return a new scheduled contact of the satellite on the antenna over ``[start, end)``.

    A LEOP contact (``leop_campaign_id``, booked by ``store.leop`` for the satellite's
    operator) is checked against its campaign window ``leop_window`` (earliest AOS, latest
    LOS over the timing uncertainty) instead of "within a pass" of the orbit in force, and
    keeps its ``search_pattern``.

    The antenna is held until ``end`` plus its ``turnaround_s``; a contact that starts
    exactly when another's hold ends does not overlap it.  The contact snapshots the
    station, the antenna and the satellite's newest element set (``None`` if it has none).

    With ``idempotency_key``, a key this organisation already used returns the contact it
    booked, not a second one (``IdempotencyKeyReusedError`` if that contact is for a
    different antenna, satellite or window).  The caller commits.

    Booking a partner's antenna needs the owner's ``SharingPolicy`` (``store.policy``);
    ``rules`` are checked as ``BookingRules`` says; ``uplink`` books a contact that
    transmits to the satellite (see the module docstring).

    Raises ``PolicyError`` naming the sharing rule (or the uplink or outside-pass rule)
    that refuses it, ``DoubleBookingError`` (a ``ConflictError``) naming the overlapping
    contact where the organisation may see it, ``NotFoundError`` for an unknown antenna,
    satellite or organisation, and ``InvalidInputError`` for naive times, ``end <=
    start``, a start before ``rules.now``, a contact longer than ``rules.max_contact_s``
    or one outside every pass (naming the nearest passes).
    """
    start = require_utc(start, "start")
    end = require_utc(end, "end")
    if end <= start:
        raise InvalidInputError(f"end ({format_utc(end)}) must be after start ({format_utc(start)}); "
                                "a contact covers [start, end)", loc=("end",))
    _check_times(rules, start, end)
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise InvalidInputError(f"idempotency_key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters, "
                                f"got {len(idempotency_key)}", loc=("idempotency_key",))
    # The per-antenna lock: bookings of this antenna queue here until the holder commits.
    antenna = _locked_row(session, Antenna, antenna_id, "antenna", needed_by="book_contact needs")

    if idempotency_key is not None:
        existing = _contact_by_key(session, org_id, idempotency_key)
        if existing is not None:
            return _same_booking(existing, antenna_id, satellite_id, start, end, idempotency_key)

    satellite = session.get(Satellite, satellite_id)
    if satellite is None:
        raise NotFoundError(f"satellite {satellite_id} does not exist")
    if session.get(Organisation, org_id) is None:
        raise NotFoundError(f"organisation {org_id} does not exist")
    operates = org_id == satellite.org_id or org_id in (satellite.uplink_org_ids or [])
    if uplink and not operates:
        raise PolicyError(f"satellite {satellite.id} is operated by organisation {satellite.org_id}; only its operator "
                          "(or an organisation it lists in uplink_org_ids) may book contacts that uplink to it\n\n"
                          "Book a receive-only contact (uplink false): it never conflicts with other stations "
                          "hearing the same satellite")
    if rules.allow_outside_pass and not operates:
        raise PolicyError(f"allow_outside_pass is for the satellite's operator (organisation {satellite.org_id}) "
                          "searching for a satellite whose orbit is uncertain; book a window within a pass instead "
                          "(GET /satellites/{id}/passes lists them)")
    # A partner's antenna: the owner's sharing policy must allow it (under the antenna's lock,
    # so the weekly quota counts every earlier booking of this antenna).
    check_sharing_policy(session, antenna=antenna, org_id=org_id, start=start, end=end)
    if uplink:  # a licence for the station, and on a partner's antenna the owner's uplink terms (store.uplink)
        check_uplink_allowed(session, antenna=antenna, satellite_id=satellite.id, org_id=org_id, start=start, end=end)

    busy_until = end + timedelta(seconds=antenna.turnaround_s)
    in_the_way = first_overlapping_contact(session, antenna_id, start, busy_until)
    if in_the_way is not None:
        raise _double_booking(antenna, start, end, in_the_way, org_id)
    if uplink:
        # The satellite's lock: uplink bookings of one satellite (on any antenna) queue here.
        _locked_row(session, Satellite, satellite.id, "satellite", needed_by="booking an uplink contact needs")
        commanding = first_overlapping_uplink(session, satellite.id, start, end)
        if commanding is not None:
            raise _uplink_taken(satellite, start, end, commanding, org_id)
    # The pass search last: it is the dearest check (a few milliseconds).
    newest = newest_element_set(session, satellite.id)
    if leop_window is not None:
        _check_within_leop_window(satellite, org_id, leop_window, start, end, rules.pass_tolerance_s)
    elif rules.within_pass and not rules.allow_outside_pass:
        _check_within_pass(antenna, satellite, newest, start, end, rules.pass_tolerance_s)

    contact = Contact(antenna_id=antenna_id, satellite_id=satellite_id, org_id=org_id, request_id=request_id,
                      start_time=start, end_time=end, busy_until=busy_until, status=ContactStatus.SCHEDULED,
                      snapshot=_snapshot(antenna, satellite, newest), idempotency_key=idempotency_key,
                      notes=notes, uplink=uplink, leop_campaign_id=leop_campaign_id, search_pattern=search_pattern)
    # The savepoint (whose start flushes the unit's earlier changes, outside this try) holds
    # only this insert: if the guard refuses it, the rest of the unit of work stays intact.
    savepoint = session.begin_nested()
    try:
        session.add(contact)
        session.flush()
    except IntegrityError as exc:
        savepoint.rollback()
        if _is_guard_refusal(exc, OVERLAP_GUARD):
            in_the_way = first_overlapping_contact(session, antenna_id, start, busy_until)
            raise _double_booking(antenna, start, end, in_the_way, org_id) from None
        if _is_guard_refusal(exc, UPLINK_GUARD):
            commanding = first_overlapping_uplink(session, satellite_id, start, end)
            raise _uplink_taken(satellite, start, end, commanding, org_id) from None
        if idempotency_key is not None:  # the same key, booked meanwhile on another antenna's lock
            existing = _contact_by_key(session, org_id, idempotency_key)
            if existing is not None:
                return _same_booking(existing, antenna_id, satellite_id, start, end, idempotency_key)
        raise
    savepoint.commit()
    return contact


CANCELLABLE = frozenset({ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS, ContactStatus.CANCELLED})


def cancel_contact(session: Session, contact_id: int) -> Contact:
    """Return the contact, now cancelled; its antenna time is free again.  The caller commits.

    Cancelling a cancelled contact changes nothing; a completed or failed one is history
    and cannot be cancelled (``ConflictError``).
    """
    contact = locked_contact(session, contact_id)  # an outcome reported meanwhile is seen, not overwritten
    if contact.status not in CANCELLABLE:
        raise ConflictError(f"contact {contact_id} is {contact.status.value} and cannot be cancelled; "
                            "only scheduled or in-progress contacts can")
    contact.status = ContactStatus.CANCELLED
    session.flush()
    return contact


def locked_contact(session: Session, contact_id: int) -> Contact:
    """Return the contact with its row locked until the unit of work ends (refreshed from the database)."""
    return _locked_row(session, Contact, contact_id, "contact", needed_by="contact transitions need")


def locked_station(session: Session, station_id: int, *, needed_by: str) -> Station:
    """Return the station with its row locked until the unit of work ends (refreshed from the database)."""
    return _locked_row(session, Station, station_id, "station", needed_by=needed_by)


def _locked_row(session: Session, model: type[R], row_id: int, what: str, *, needed_by: str) -> R:
    """Return row ``row_id`` locked until the unit of work ends (FOR UPDATE; SQLite's write lock).

    ``populate_existing``: a row this session read before the lock is refreshed, so what
    is checked is what is stored.  ``NotFoundError`` names a missing row.
    """
    if sqlite_begin_mode(session) == "DEFERRED":
        raise RuntimeError(f"{needed_by} a unit of work that holds SQLite's write lock from its start; "
                           "open it with session_scope(factory) (write=True), not write=False")
    row = session.scalars(
        select(model).where(model.id == row_id).with_for_update()  # type: ignore[attr-defined]
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"{what} {row_id} does not exist")
    return row


def first_overlapping_contact(session: Session, antenna_id: int, start: datetime,
                              busy_until: datetime) -> Contact | None:
    """Return the earliest live contact holding the antenna at some time in ``[start, busy_until)``."""
    return session.scalars(
        select(Contact)
        .where(Contact.antenna_id == antenna_id, Contact.status != ContactStatus.CANCELLED,
               Contact.start_time < busy_until, Contact.busy_until > start)
        .order_by(Contact.start_time, Contact.id)
        .limit(1)
    ).first()


def first_overlapping_uplink(session: Session, satellite_id: int, start: datetime, end: datetime) -> Contact | None:
    """Return the earliest live uplink contact of the satellite at some time in ``[start, end)``."""
    return session.scalars(
        select(Contact)
        .where(Contact.satellite_id == satellite_id, Contact.uplink.is_(True),
               Contact.status != ContactStatus.CANCELLED, Contact.start_time < end, Contact.end_time > start)
        .order_by(Contact.start_time, Contact.id)
        .limit(1)
    ).first()


def _check_times(rules: BookingRules, start: datetime, end: datetime) -> None:
    """Refuse a start before the network's clock and a contact longer than the network allows."""
    if rules.now is not None and start < rules.now:
        raise InvalidInputError(f"start ({format_utc(start)}) is before the network's clock "
                                f"({format_utc(rules.now)}, GET /clock); a contact cannot start in the past",
                                loc=("start",))
    duration_s = (end - start).total_seconds()
    if rules.max_contact_s is not None and duration_s > rules.max_contact_s:
        raise InvalidInputError(f"the contact lasts {duration_s:g} s, longer than the network's limit of "
                                f"{rules.max_contact_s:g} s; book each pass as its own contact", loc=("end",))


def _check_within_pass(antenna: Antenna, satellite: Satellite, record: ElementSetRecord | None, start: datetime,
                       end: datetime, tolerance_s: float) -> None:
    """Refuse ``[start, end)`` unless it lies within a pass of the satellite above the station's mask."""
    from groundshare.passes.window import covering_pass

    station = antenna.station
    label = f"satellite {satellite.id} (NORAD {satellite.norad_id})"
    if record is None:
        raise InvalidInputError(
            f"{label} has no element set, so the booking cannot be checked against its passes over station "
            f"{station.id} ({station.name!r})\n\nIts operator uploads one with POST /satellites/{satellite.id}/"
            "elements (or, searching for it, books with allow_outside_pass)", loc=("satellite_id",))
    fit = covering_pass(record.to_element_set(), station.to_site(), start, end, tolerance_s=tolerance_s)
    if fit.covering is not None:
        return
    mask = f"minimum elevation {station.min_elevation_deg:g} deg" + (" and its horizon mask"
                                                                     if station.horizon_mask else "")
    if fit.nearest:
        nearest = "; ".join(f"{format_utc(p.aos)} to {format_utc(p.los)} (max elevation {p.max_elevation_deg:.1f} "
                            "deg)" for p in fit.nearest)
        hint = f"The nearest passes are {nearest}.  Book a window inside one of them"
    else:
        hint = "It makes no pass over the station within 12 hours of the window.  Book a window inside a pass"
    if fit.warnings:
        hint += f" (the pass search warns: {fit.warnings[0]})"
    raise InvalidInputError(
        f"{format_utc(start)} to {format_utc(end)} is not within a pass of {label} over station {station.id} "
        f"({station.name!r}, {mask}), computed from the element set of epoch {format_utc(record.epoch)}\n\n"
        f"{hint}; GET /satellites/{satellite.id}/passes lists them.  The satellite's operator may send "
        "allow_outside_pass: true to search for a satellite whose orbit is uncertain", loc=("start",))


def _check_within_leop_window(satellite: Satellite, org_id: int, window: tuple[datetime, datetime], start: datetime,
                              end: datetime, tolerance_s: float) -> None:
    """Refuse a LEOP contact outside its campaign window, or booked by another than the satellite's operator."""
    if org_id != satellite.org_id:
        raise PolicyError(f"LEOP contacts of satellite {satellite.id} are booked by its operator (organisation "
                          f"{satellite.org_id}) through its campaign")
    slack = timedelta(seconds=tolerance_s)
    lo, hi = window
    if start < lo - slack or end > hi + slack:
        raise InvalidInputError(f"{format_utc(start)} to {format_utc(end)} is not within the LEOP window "
                                f"{format_utc(lo)} to {format_utc(hi)}; book inside the campaign's window",
                                loc=("start",))


def _contact_by_key(session: Session, org_id: int, idempotency_key: str) -> Contact | None:
    return session.scalars(
        select(Contact).where(Contact.org_id == org_id, Contact.idempotency_key == idempotency_key)
    ).one_or_none()


def _same_booking(existing: Contact, antenna_id: int, satellite_id: int, start: datetime, end: datetime,
                  idempotency_key: str) -> Contact:
    """Return ``existing`` if it is the booking asked for again; refuse a reused key otherwise."""
    asked = (antenna_id, satellite_id, start, end)
    if (existing.antenna_id, existing.satellite_id, existing.start_time, existing.end_time) != asked:
        raise IdempotencyKeyReusedError(
            f"idempotency key {idempotency_key!r} already booked contact {existing.id} (antenna "
            f"{existing.antenna_id}, satellite {existing.satellite_id}, {format_utc(existing.start_time)} to "
            f"{format_utc(existing.end_time)}), not antenna {antenna_id}, satellite {satellite_id}, "
            f"{format_utc(start)} to {format_utc(end)}\n\n"
            "Send a new key for a new booking; resend the same request with the same key to retry")
    return existing


def _may_see(contact: Contact, org_id: int) -> bool:
    """Whether ``org_id`` may see ``contact``: it booked it, or it is on its own antenna (``api.queries``' rule)."""
    return contact.org_id == org_id or contact.antenna.station.org_id == org_id


def _double_booking(antenna: Antenna, start: datetime, end: datetime, other: Contact | None,
                    org_id: int) -> DoubleBookingError:
    asked = f"{format_utc(start)} to {format_utc(end)}"
    turnaround = f" plus the antenna's {antenna.turnaround_s:g} s turnaround" if antenna.turnaround_s else ""
    if other is None:
        return DoubleBookingError(
            f"antenna {antenna.id} ({antenna.name!r}) is already booked for part of {asked}{turnaround}\n\n"
            "List the antenna's contacts and choose a free window", contact_id=None, start=None, end=None)
    free = (f"Choose a window that starts at {format_utc(other.busy_until)} or later, or ends (turnaround "
            f"included) by {format_utc(other.start_time)}")
    if not _may_see(other, org_id):
        # Another partner's booking: when the antenna is busy, but not whose contact it is.
        return DoubleBookingError(
            f"antenna {antenna.id} ({antenna.name!r}) is busy from {format_utc(other.start_time)} to "
            f"{format_utc(other.busy_until)}; the requested {asked}{turnaround} overlaps it\n\n{free}, or another "
            "antenna",
            contact_id=None, start=other.start_time, end=other.busy_until)
    return DoubleBookingError(
        f"antenna {antenna.id} ({antenna.name!r}) is already booked from {format_utc(other.start_time)} to "
        f"{format_utc(other.end_time)} by contact {other.id}; the requested {asked}{turnaround} overlaps it\n\n"
        f"{free}, another antenna, or cancel contact {other.id} first",
        contact_id=other.id, start=other.start_time, end=other.end_time)


def _uplink_taken(satellite: Satellite, start: datetime, end: datetime, other: Contact | None,
                  org_id: int) -> DoubleBookingError:
    asked = f"{format_utc(start)} to {format_utc(end)}"
    label = f"satellite {satellite.id} (NORAD {satellite.norad_id})"
    receive_only = "or book a receive-only contact (uplink false), which never conflicts with other stations"
    if other is None:
        return DoubleBookingError(f"{label} already has an uplink contact during part of {asked}\n\nChoose "
                                  f"another window, {receive_only}", contact_id=None, start=None, end=None)
    if not _may_see(other, org_id):
        return DoubleBookingError(
            f"{label} is commanded by another uplink contact from {format_utc(other.start_time)} to "
            f"{format_utc(other.end_time)}; the requested {asked} overlaps it\n\nChoose another window, "
            f"{receive_only}", contact_id=None, start=other.start_time, end=other.end_time)
    return DoubleBookingError(
        f"{label} already has uplink contact {other.id} from {format_utc(other.start_time)} to "
        f"{format_utc(other.end_time)}; the requested {asked} overlaps it\n\nChoose another window, "
        f"{receive_only}, or cancel contact {other.id} first",
        contact_id=other.id, start=other.start_time, end=other.end_time)


def _is_guard_refusal(exc: IntegrityError, guard: str) -> bool:
    """Return whether the database refused the insert with the double-booking guard named ``guard``."""
    diag = getattr(exc.orig, "diag", None)  # psycopg: the violated constraint's name
    if diag is not None and getattr(diag, "constraint_name", None) == guard:
        return True
    text = str(exc.orig)  # SQLite: the trigger's message starts with the guard's name
    return f"{guard}:" in text and "overlaps another live" in text


def _snapshot(antenna: Antenna, satellite: Satellite, element_set: ElementSetRecord | None) -> dict[str, Any]:
    """Return the inputs a contact is planned with, as they are at booking time (``BookingSnapshot.to_json``)."""
    return BookingSnapshot(
        station=antenna.station.snapshot(), antenna=antenna.snapshot(),
        satellite=SatelliteSnapshot(id=satellite.id, norad_id=satellite.norad_id, name=satellite.name),
        element_set=element_set.snapshot() if element_set is not None else None).to_json()
