"""Sharing policies: may an organisation book a partner's antenna for a contact?

``check_sharing_policy`` is called by ``booking.book_contact`` inside the booking's unit
of work, after the per-antenna lock, so the quota counts every earlier booking of the
antenna.  Booking one's own antenna needs no policy.  For a partner's antenna, the
``SharingPolicy`` from the antenna's owner to the booking organisation must:

- exist for that antenna (``antenna_id`` is not nullable: a policy covers one antenna);
- list the antenna's band in ``bands``, when ``bands`` is not empty (satellites carry
  no band, so the antenna's band is what a policy restricts);
- have no blackout window overlapping ``[start, end)``;
- keep the organisation's live (not cancelled) hours on the antenna within
  ``hours_per_week`` for the ISO week (UTC, Monday 00:00) of the contact's start; a
  contact counts in the week it starts, for its whole duration.

Each refusal is a ``PolicyError`` naming the policy and the numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from groundshare.errors import PolicyError
from groundshare.store.models import Antenna, Contact, ContactStatus, Organisation, SharingPolicy
from groundshare.timeutil import format_utc, parse_utc
from groundshare.units import HOUR_S

WEEK = timedelta(days=7)
#: Slack on the quota comparison, so that float sums of exact bookings are not refused (about 4 ms).
QUOTA_SLACK_H = 1e-6


def check_sharing_policy(session: Session, *, antenna: Antenna, org_id: int, start: datetime,
                         end: datetime) -> SharingPolicy | None:
    """Return the policy allowing ``org_id`` to book ``antenna`` over ``[start, end)`` (``None``: its own).

    Raises ``PolicyError`` naming the rule that refuses the booking.
    """
    owner_id = antenna.station.org_id
    if owner_id == org_id:
        return None
    policy = session.scalars(
        select(SharingPolicy).where(SharingPolicy.antenna_id == antenna.id, SharingPolicy.grantee_org_id == org_id,
                                    SharingPolicy.owner_org_id == owner_id)
    ).one_or_none()
    owner, grantee = _org_name(session, owner_id), _org_name(session, org_id)
    if policy is None:
        raise PolicyError(
            f"no sharing policy lets {grantee} book antenna {antenna.id} ({antenna.name!r}) of {owner}\n\n"
            f"Ask {owner} to share the antenna with {grantee}, or book one of your own antennas")
    what = f"sharing policy {policy.id} ({owner} → {grantee}, antenna {antenna.name!r})"
    check_band(policy, antenna, what)
    check_blackouts(policy, start, end, what)
    check_weekly_hours(session, policy, antenna, org_id, start, end, what, grantee)
    return policy


def check_band(policy: SharingPolicy, antenna: Antenna, what: str) -> None:
    """Refuse when the policy lists bands and the antenna's band is not among them."""
    bands = [str(b).lower() for b in policy.bands or []]
    if bands and antenna.band.value not in bands:
        raise PolicyError(f"{what} shares only the {', '.join(bands)} band(s); the antenna is {antenna.band.value}\n\n"
                          "Ask the owner to add the band to the policy")


def check_blackouts(policy: SharingPolicy, start: datetime, end: datetime, what: str) -> None:
    """Refuse when ``[start, end)`` overlaps one of the policy's blackout windows."""
    for window in policy.blackout_windows or []:
        w_start, w_end = _window(window, policy)
        if start < w_end and end > w_start:
            raise PolicyError(
                f"{what} has a blackout from {format_utc(w_start)} to {format_utc(w_end)}; the requested "
                f"{format_utc(start)} to {format_utc(end)} overlaps it\n\n"
                f"Choose a window that ends by {format_utc(w_start)} or starts at {format_utc(w_end)} or later")


def week_start(when: datetime) -> datetime:
    """Return Monday 00:00 UTC of the ISO week holding ``when`` (aware UTC)."""
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def booked_hours(session: Session, *, antenna_id: int, org_id: int, since: datetime, until: datetime) -> float:
    """Return the hours of live contacts ``org_id`` holds on the antenna starting in ``[since, until)``."""
    rows = session.execute(
        select(Contact.start_time, Contact.end_time)
        .where(Contact.antenna_id == antenna_id, Contact.org_id == org_id,
               Contact.status != ContactStatus.CANCELLED, Contact.start_time >= since, Contact.start_time < until)
    ).all()
    return sum((e - s).total_seconds() for s, e in rows) / HOUR_S


def hours_held_in_week(session: Session, pairs: Iterable[tuple[int, int]], monday: datetime,
                       ) -> dict[tuple[int, int], float]:
    """Return the hours each (antenna id, organisation id) pair holds in the week from ``monday`` (one query).

    Counted as the weekly quota counts them (``booked_hours``): every contact that is not
    cancelled, starting in the week, for its whole duration.  Pairs holding nothing are 0.
    """
    wanted = set(pairs)
    held = dict.fromkeys(wanted, 0.0)
    if not wanted:
        return held
    rows = session.execute(
        select(Contact.antenna_id, Contact.org_id, Contact.start_time, Contact.end_time)
        .where(Contact.antenna_id.in_({a for a, _ in wanted}), Contact.org_id.in_({o for _, o in wanted}),
               Contact.status != ContactStatus.CANCELLED, Contact.start_time >= monday,
               Contact.start_time < monday + WEEK))
    for antenna_id, org_id, start, end in rows:
        if (antenna_id, org_id) in held:
            held[(antenna_id, org_id)] += (end - start).total_seconds() / HOUR_S
    return held


def check_weekly_hours(session: Session, policy: SharingPolicy, antenna: Antenna, org_id: int, start: datetime,
                       end: datetime, what: str, grantee: str) -> None:
    """Refuse when the contact would take the grantee past the policy's ``hours_per_week``."""
    if policy.hours_per_week is None:
        return
    monday = week_start(start)
    held_h = booked_hours(session, antenna_id=antenna.id, org_id=org_id, since=monday, until=monday + WEEK)
    needed_h = (end - start).total_seconds() / HOUR_S
    if held_h + needed_h > policy.hours_per_week + QUOTA_SLACK_H:
        raise PolicyError(
            f"{what} allows {_h(policy.hours_per_week)} h per week; {grantee} already holds {_h(held_h)} h in "
            f"the week of {monday.date().isoformat()}, and this contact needs {_h(needed_h)} h more\n\n"
            f"Book at most {_h(max(policy.hours_per_week - held_h, 0.0))} h more that week, cancel a contact, or "
            "ask the owner for more hours")


def _h(hours: float) -> str:
    return f"{round(hours, 3):g}"


def _org_name(session: Session, org_id: int) -> str:
    org = session.get(Organisation, org_id)
    return org.name if org is not None else f"organisation {org_id}"


def _window(window: Any, policy: SharingPolicy) -> tuple[datetime, datetime]:
    try:
        return (parse_utc(str(window["start"]), "blackout start"), parse_utc(str(window["end"]), "blackout end"))
    except (KeyError, TypeError, ValueError):
        # A malformed stored window cannot be honoured; refusing is the safe reading of it.
        raise PolicyError(f"sharing policy {policy.id} has a malformed blackout window {window!r} (expected "
                          "{'start': ISO 8601 UTC, 'end': ISO 8601 UTC}); ask the owner to fix the policy") from None
