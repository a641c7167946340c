"""Uplink as data: who may transmit to a satellite, from where, and the record of what was sent.

Transmitting is allowed only where three independent facts agree:

- a *licence* (``UplinkLicence``): the satellite may be commanded from the station over
  ``[valid_from, valid_until)``.  A regulatory fact, not a sharing one, so the station's
  owner needs one on its own antennas too; it must cover the contact's whole window;
- the station owner's *sharing policy* (``SharingPolicy``), on a partner's antenna:
  ``uplink_allowed``, the band among ``uplink_bands`` (empty: the policy's ``bands``; both
  empty: any band) and the satellite among ``uplink_satellite_ids`` (empty: any);
- no open *transmit inhibit* (``TransmitInhibit``) on the station, checked at
  transmission time (``check_uplink_allowed(..., transmitting=True)``).

Satellites state no uplink band (``Satellite.band`` is the downlink's), so the band an
uplink uses is taken to be the antenna's own ``band``: an antenna has one radio chain.

``book_contact`` calls ``check_uplink_allowed`` for an uplink contact before the insert,
besides its own rule that only the satellite's operator (or an organisation it lists)
books uplink.  The session that transmits calls it again for each frame, then
``record_uplink_frame``: the audit trail (``UplinkFrame``) is append-only in the database
(``store.guards``).  The satellite's operator reads it with the payloads; the station's
owner reads hashes and lengths only.  Each refusal is a ``PolicyError`` naming the rule
and what to do.  Nothing here commits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from groundshare.errors import ConflictError, InvalidInputError, NotFoundError, PolicyError
from groundshare.frames.kiss import MAX_FRAME_BYTES
from groundshare.roles import Role
from groundshare.store.models import (
    Antenna,
    ApiToken,
    Contact,
    ContactStatus,
    SharingPolicy,
    Station,
    TransmitInhibit,
    UplinkFrame,
    UplinkLicence,
)
from groundshare.timeutil import format_utc, require_utc, utc_now

#: Largest uplink frame, bytes: what a TNC takes in one KISS frame (``frames.kiss.MAX_FRAME_BYTES``).
MAX_UPLINK_FRAME_BYTES = MAX_FRAME_BYTES
#: Longest ``client_ref``, the operator's name of a frame.
MAX_CLIENT_REF_LENGTH = 64
#: Most queued frames handed to a station's agent at once.
MAX_DELIVERED_FRAMES = 100


def check_uplink_allowed(session: Session, *, antenna: Antenna, satellite_id: int, org_id: int, start: datetime,
                         end: datetime, transmitting: bool = False) -> UplinkLicence:
    """Return the licence under which ``org_id`` may uplink to the satellite from ``antenna`` over ``[start, end)``.

    ``transmitting``: also refuse while the station has an open transmit inhibit (the
    check at transmission time; a booking may be made while an inhibit is up).
    Raises ``PolicyError`` naming the rule that refuses it.
    """
    station = antenna.station
    where = f"station {station.id} ({station.name!r})"
    licence = _covering_licence(session, station.id, satellite_id, start, end)
    if licence is None:
        raise PolicyError(
            f"no uplink licence lets satellite {satellite_id} be commanded from {where} for the whole of "
            f"{format_utc(start)} to {format_utc(end)}\n\nThe station's owner records the licence with "
            f"POST /stations/{station.id}/licences (GET lists those recorded and their validity)")
    if station.org_id != org_id:
        _check_policy(session, antenna, satellite_id, org_id)
    if transmitting:
        inhibit = open_inhibit(session, station.id)
        if inhibit is not None:
            raise PolicyError(
                f"{where} has a transmit inhibit raised at {format_utc(inhibit.raised_at)} (inhibit {inhibit.id}"
                f"{': ' + inhibit.reason if inhibit.reason else ''}); nothing is transmitted from it\n\n"
                f"Its owner lifts it with DELETE /stations/{station.id}/transmit-inhibit")
    return licence


def check_contact_uplink(session: Session, contact: Contact, *, at: datetime | None = None) -> UplinkLicence:
    """Check, at transmission time, that ``contact`` may transmit now (``at``, default the wall clock).

    Refuses a contact that is not an uplink one, ``at`` outside its window, and everything
    ``check_uplink_allowed`` refuses, the transmit inhibit included.
    """
    at = require_utc(at if at is not None else utc_now(), "at")
    if not contact.uplink:
        raise PolicyError(f"contact {contact.id} is receive-only (uplink false); nothing may be transmitted in it\n\n"
                          "Book an uplink contact to command the satellite")
    if contact.status not in (ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS):
        raise PolicyError(f"contact {contact.id} is {contact.status.value}; nothing is transmitted in it")
    if at < contact.start_time:
        raise PolicyError(f"before AOS: contact {contact.id} starts at {format_utc(contact.start_time)} and it is "
                          f"{format_utc(at)}; nothing is transmitted before AOS\n\nSend it once the contact's state "
                          "is tracking")
    if at >= contact.end_time:
        raise PolicyError(f"after LOS: contact {contact.id} ended at {format_utc(contact.end_time)} and it is "
                          f"{format_utc(at)}; nothing is transmitted after LOS")
    return check_uplink_allowed(session, antenna=contact.antenna, satellite_id=contact.satellite_id,
                                org_id=contact.org_id, start=contact.start_time, end=contact.end_time,
                                transmitting=True)


def _covering_licence(session: Session, station_id: int, satellite_id: int, start: datetime,
                      end: datetime) -> UplinkLicence | None:
    return session.scalars(
        select(UplinkLicence)
        .where(UplinkLicence.station_id == station_id, UplinkLicence.satellite_id == satellite_id,
               UplinkLicence.valid_from <= start, UplinkLicence.valid_until >= end)
        .order_by(UplinkLicence.valid_until.desc(), UplinkLicence.id).limit(1)
    ).first()


def _check_policy(session: Session, antenna: Antenna, satellite_id: int, org_id: int) -> None:
    """Refuse uplink from a partner's antenna unless the owner's policy allows it for this band and satellite."""
    policy = session.scalars(
        select(SharingPolicy).where(SharingPolicy.antenna_id == antenna.id, SharingPolicy.grantee_org_id == org_id)
    ).one_or_none()
    label = f"antenna {antenna.id} ({antenna.name!r})"
    if policy is None or not policy.uplink_allowed:
        what = "no sharing policy" if policy is None else f"sharing policy {policy.id}"
        raise PolicyError(
            f"{what} lets organisation {org_id} transmit from {label} of organisation {antenna.station.org_id} "
            "(uplink_allowed is false)\n\nAsk the owner to set uplink_allowed on the policy, or uplink from "
            "one of your own antennas")
    bands = [str(b).lower() for b in (policy.uplink_bands or policy.bands or [])]
    if bands and antenna.band.value not in bands:
        raise PolicyError(
            f"sharing policy {policy.id} allows uplink only on the {', '.join(bands)} band(s) (uplink_bands); "
            f"{label} is {antenna.band.value}\n\nAsk the owner to add {antenna.band.value!r} to uplink_bands")
    satellites = [int(s) for s in policy.uplink_satellite_ids or []]
    if satellites and satellite_id not in satellites:
        raise PolicyError(
            f"sharing policy {policy.id} allows uplink only to satellites {satellites} (uplink_satellite_ids), "
            f"not satellite {satellite_id}\n\nAsk the owner to add it to uplink_satellite_ids")


def add_licence(session: Session, *, station: Station, satellite_id: int, reference: str, valid_from: datetime,
                valid_until: datetime, org_id: int) -> UplinkLicence:
    """Record a licence for the satellite to be commanded from ``station``; ``org_id`` records it."""
    valid_from = require_utc(valid_from, "valid_from")
    valid_until = require_utc(valid_until, "valid_until")
    if valid_until <= valid_from:
        raise InvalidInputError(f"valid_until ({format_utc(valid_until)}) must be after valid_from "
                                f"({format_utc(valid_from)})", loc=("valid_until",))
    if not reference.strip():
        raise InvalidInputError("reference is empty; give the licence's number or document", loc=("reference",))
    licence = UplinkLicence(station_id=station.id, satellite_id=satellite_id, reference=reference,
                            valid_from=valid_from, valid_until=valid_until, created_by_org_id=org_id)
    session.add(licence)
    session.flush()
    return licence


def record_uplink_frame(session: Session, contact: Contact, payload: bytes, *, sent_at: datetime,
                        token_id: int | None = None, on_air_at: datetime | None = None,
                        client_ref: str | None = None) -> UplinkFrame:
    """Append one frame of ``contact`` to the audit trail and return its row (queued unless ``on_air_at``)."""
    row = UplinkFrame(contact_id=contact.id, satellite_id=contact.satellite_id,
                      station_id=contact.antenna.station_id, org_id=contact.org_id, token_id=token_id,
                      sent_at=require_utc(sent_at, "sent_at"),
                      on_air_at=require_utc(on_air_at, "on_air_at") if on_air_at is not None else None,
                      sha256=hashlib.sha256(payload).hexdigest(), length=len(payload), payload=bytes(payload),
                      client_ref=client_ref)
    session.add(row)
    session.flush()
    return row


# Commanding: who may, queueing a frame for the station, and settling it once.

def check_can_command(token: ApiToken, contact: Contact) -> None:
    """Refuse (``PolicyError``) unless ``token`` may command the satellite of ``contact`` in it.

    The token must be allowed to command (``ApiToken.can_command``, not a viewer's) the
    satellite (``command_satellite_ids``, empty: any of its organisation's), its
    organisation must be the satellite's operator (or one the operator lists in
    ``Satellite.uplink_org_ids``) and the contact its own.
    """
    satellite = contact.satellite
    if token.role is Role.VIEWER:
        raise PolicyError("a viewer token cannot command a satellite; use a token made to command "
                          "(POST /tokens with can_command true)")
    operators = {satellite.org_id, *(int(o) for o in satellite.uplink_org_ids or [])}
    if token.org_id not in operators:
        raise PolicyError(f"satellite {satellite.id} ({satellite.name!r}) is commanded only by its operator, "
                          f"organisation {satellite.org_id}; organisation {token.org_id} may not transmit to it")
    if contact.org_id != token.org_id:
        raise PolicyError(f"contact {contact.id} is organisation {contact.org_id}'s; commands go only through "
                          "your own contacts")
    if not token.can_command:
        raise PolicyError(f"token {token.id} is not allowed to command (can_command false); your organisation's "
                          "admin makes one with POST /tokens {\"role\": \"operator\", \"can_command\": true}")
    allowed = [int(s) for s in token.command_satellite_ids or []]
    if allowed and satellite.id not in allowed:
        raise PolicyError(f"token {token.id} commands only satellites {allowed} (command_satellite_ids), not "
                          f"satellite {satellite.id}")


def check_uplink_payload(payload: bytes, client_ref: str) -> None:
    """Refuse (``InvalidInputError``) an empty or over-long frame, and a malformed ``client_ref``."""
    if not payload:
        raise InvalidInputError("payload is empty; an uplink frame holds at least one byte", loc=("payload",))
    if len(payload) > MAX_UPLINK_FRAME_BYTES:
        raise InvalidInputError(f"payload is {len(payload)} bytes; an uplink frame holds at most "
                                f"{MAX_UPLINK_FRAME_BYTES}", loc=("payload",))
    if not 1 <= len(client_ref) <= MAX_CLIENT_REF_LENGTH or not client_ref.isprintable():
        raise InvalidInputError(f"ref must be 1 to {MAX_CLIENT_REF_LENGTH} printable characters naming the frame "
                                "(unique within the contact)", loc=("ref",))


def queue_uplink(session: Session, contact: Contact, token: ApiToken, payload: bytes, *, client_ref: str,
                 at: datetime) -> tuple[UplinkFrame, bool]:
    """Queue ``payload`` for transmission in ``contact`` at ``at`` (the network's now); return it and whether known.

    A frame whose ``client_ref`` the contact already holds is returned as it is (the
    operator sent it again after a reconnection: it is not queued twice); the same ref
    with other bytes is a ``ConflictError``.  Otherwise every rule is checked
    (``check_can_command``, ``check_contact_uplink``: the window, licence, policy and
    transmit inhibit) and the frame is appended to the audit trail, queued.
    """
    check_uplink_payload(payload, client_ref)
    known = _by_ref(session, contact.id, client_ref)
    if known is None:
        check_can_command(token, contact)
        check_contact_uplink(session, contact, at=at)
        savepoint = session.begin_nested()
        try:
            row = record_uplink_frame(session, contact, payload, sent_at=at, token_id=token.id,
                                      client_ref=client_ref)
        except IntegrityError:  # the same ref queued meanwhile by another connection
            savepoint.rollback()
            known = _by_ref(session, contact.id, client_ref)
            if known is None:
                raise
        else:
            savepoint.commit()
            return row, False
    if known.org_id != token.org_id:
        raise NotFoundError(f"contact {contact.id} does not exist")
    if known.sha256 != hashlib.sha256(payload).hexdigest():
        raise ConflictError(f"ref {client_ref!r} already names frame {known.id} of contact {contact.id}, with other "
                            "bytes; give each frame a ref of its own")
    return known, True


def _by_ref(session: Session, contact_id: int, client_ref: str) -> UplinkFrame | None:
    return session.scalars(select(UplinkFrame).where(UplinkFrame.contact_id == contact_id,
                                                     UplinkFrame.client_ref == client_ref)).one_or_none()


def frame_state(frame: UplinkFrame) -> str:
    """Return ``"queued"``, ``"on_air"`` or ``"not_sent"``."""
    if frame.on_air_at is not None:
        return "on_air"
    return "not_sent" if frame.not_sent_reason is not None else "queued"


#: The SQL condition of a frame still queued: neither on air nor settled not sent (the partial index's).
QUEUED = and_(UplinkFrame.on_air_at.is_(None), UplinkFrame.not_sent_reason.is_(None))


def queued_frames(session: Session, station_id: int, *, after_id: int = 0,
                  limit: int = MAX_DELIVERED_FRAMES) -> list[UplinkFrame]:
    """Return the station's frames still queued (neither on air nor refused), oldest first, after ``after_id``."""
    return list(session.scalars(
        select(UplinkFrame).where(UplinkFrame.station_id == station_id, UplinkFrame.id > after_id, QUEUED)
        .order_by(UplinkFrame.id).limit(limit)))


def settle_frame(session: Session, frame: UplinkFrame, *, on_air_at: datetime | None = None,
                 not_sent_reason: str | None = None) -> bool:
    """Record once that ``frame`` went on air at ``on_air_at``, or why it was not sent; return whether it changed.

    The same outcome again changes nothing (a report repeated after a lost answer); a
    different one is a ``ConflictError``: the audit trail's rows are settled once.
    """
    if (on_air_at is None) == (not_sent_reason is None):
        raise InvalidInputError("give either on_air_at or not_sent_reason", loc=("on_air_at",))
    if on_air_at is not None:
        on_air_at = require_utc(on_air_at, "on_air_at")
    if frame_state(frame) != "queued":
        if frame.on_air_at == on_air_at and frame.not_sent_reason == (not_sent_reason and not_sent_reason[:2000]):
            return False
        raise ConflictError(f"uplink frame {frame.id} is already settled ({frame_state(frame)}); its record "
                            "cannot change")
    frame.on_air_at = on_air_at
    frame.not_sent_reason = not_sent_reason[:2000] if not_sent_reason is not None else None
    session.flush()
    return True


@dataclass
class Transmittable:
    """What a station's agent may transmit now (``ready``), what was settled not sent instead, and its inhibit."""

    ready: list[UplinkFrame]
    not_sent: list[UplinkFrame]
    inhibit: TransmitInhibit | None


def frames_to_transmit(session: Session, station: Station, *, at: datetime, after_id: int = 0,
                       limit: int = MAX_DELIVERED_FRAMES) -> Transmittable:
    """Return what ``station``'s agent may transmit now, and its open inhibit; settle the frames it may not.

    Each queued frame is checked again at ``at`` (``check_contact_uplink``: the window, the
    licence, the policy, the inhibit); one refused is settled not sent with the reason,
    so it is never transmitted later.
    """
    found = Transmittable(ready=[], not_sent=[], inhibit=open_inhibit(session, station.id))
    for frame in queued_frames(session, station.id, after_id=after_id, limit=limit):
        try:
            check_contact_uplink(session, frame.contact, at=at)
        except PolicyError as exc:
            settle_frame(session, frame, not_sent_reason=str(exc).split("\n")[0])
            found.not_sent.append(frame)
            continue
        found.ready.append(frame)
    return found


@dataclass(frozen=True)
class AuditEntry:
    """One frame of the audit trail as a viewer sees it (``payload`` None: not the satellite's operator)."""

    id: int
    contact_id: int
    satellite_id: int
    station_id: int
    org_id: int
    token_id: int | None
    sent_at: datetime
    on_air_at: datetime | None
    sha256: str
    length: int
    payload: bytes | None
    client_ref: str | None = None
    not_sent_reason: str | None = None


def uplink_audit(session: Session, contact: Contact, viewer_org_id: int, *, offset: int = 0,
                 limit: int | None = None) -> tuple[list[AuditEntry], int]:
    """Return the frames sent in ``contact``, oldest first, as ``viewer_org_id`` may see them, and how many there are.

    ``offset`` and ``limit`` give one page of them.  The satellite's operator sees the
    payloads; the station's owner sees hashes and lengths; anyone else gets
    ``NotFoundError`` (the contact is not theirs to know of).
    """
    operator = contact.satellite.org_id == viewer_org_id
    if not operator and contact.antenna.station.org_id != viewer_org_id:
        raise NotFoundError(f"contact {contact.id} does not exist")
    count = session.scalar(select(func.count()).where(UplinkFrame.contact_id == contact.id)) or 0
    rows = session.scalars(select(UplinkFrame).where(UplinkFrame.contact_id == contact.id)
                           .order_by(UplinkFrame.sent_at, UplinkFrame.id).offset(offset).limit(limit))
    entries = [AuditEntry(id=r.id, contact_id=r.contact_id, satellite_id=r.satellite_id, station_id=r.station_id,
                          org_id=r.org_id, token_id=r.token_id, sent_at=r.sent_at, on_air_at=r.on_air_at,
                          sha256=r.sha256, length=r.length, payload=r.payload if operator else None,
                          client_ref=r.client_ref if operator else None, not_sent_reason=r.not_sent_reason)
               for r in rows]
    return entries, int(count)


def open_inhibit(session: Session, station_id: int) -> TransmitInhibit | None:
    """Return the station's open transmit inhibit, or None."""
    return session.scalars(select(TransmitInhibit).where(TransmitInhibit.station_id == station_id,
                                                         TransmitInhibit.lifted_at.is_(None))).one_or_none()


def raise_inhibit(session: Session, station: Station, *, org_id: int, token_id: int | None = None,
                  reason: str = "", at: datetime | None = None) -> TransmitInhibit:
    """Stop all transmission from ``station`` and return the inhibit; one already open is returned as it is.

    Only the station's owner raises one (``PolicyError`` otherwise).
    """
    if station.org_id != org_id:
        raise PolicyError(f"only the owner of station {station.id} (organisation {station.org_id}) raises its "
                          "transmit inhibit")
    existing = open_inhibit(session, station.id)
    if existing is not None:
        return existing
    inhibit = TransmitInhibit(station_id=station.id, raised_by_org_id=org_id, token_id=token_id, reason=reason,
                              raised_at=require_utc(at, "at") if at is not None else utc_now())
    savepoint = session.begin_nested()
    try:
        session.add(inhibit)
        session.flush()
    except IntegrityError:  # raised meanwhile by another writer: that one stands
        savepoint.rollback()
        existing = open_inhibit(session, station.id)
        if existing is None:
            raise
        return existing
    savepoint.commit()
    return inhibit


def lift_inhibit(session: Session, station: Station, *, org_id: int, at: datetime | None = None) -> TransmitInhibit:
    """Lift the station's open transmit inhibit and return it (kept, with ``lifted_at``, as the record)."""
    if station.org_id != org_id:
        raise PolicyError(f"only the owner of station {station.id} (organisation {station.org_id}) lifts its "
                          "transmit inhibit")
    inhibit = open_inhibit(session, station.id)
    if inhibit is None:
        raise ConflictError(f"station {station.id} has no open transmit inhibit to lift; "
                            f"GET /stations/{station.id}/transmit-inhibit shows its record")
    inhibit.lifted_at = require_utc(at, "at") if at is not None else utc_now()
    session.flush()
    return inhibit


def inhibits(session: Session, station_id: int, *, limit: int | None = None) -> list[TransmitInhibit]:
    """Return the station's transmit inhibits, newest first (the record; the newest ``limit`` when given)."""
    return list(session.scalars(select(TransmitInhibit).where(TransmitInhibit.station_id == station_id)
                                .order_by(TransmitInhibit.raised_at.desc(), TransmitInhibit.id.desc()).limit(limit)))
