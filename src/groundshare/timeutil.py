"""The only place that converts between ``datetime``, ``datetime64`` and SGP4's (jd, fr).

groundshare works in UTC everywhere.  Like ``datetime`` and ``datetime64``, its UTC
timeline has no leap seconds: a window that spans a leap second may be off by up to
1 s after it.  Element-set epochs are UTC (AIAA 2006-6753).

Inside the vectorised cores time is float64 seconds since a window start (``t_s``)
and the start is carried as one aware ``datetime``; differences and bisection are
then exact to well under a microsecond over weeks.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sgp4.api import jday

from groundshare.errors import InvalidInputError
from groundshare.units import DAY_S

_EPOCH64 = np.datetime64("1970-01-01T00:00:00", "us")
#: The Julian date of J2000.0 (2000-01-01 12:00 TT; taken on the UT1 scale by GMST 1982).
J2000_JD = 2451545.0
#: A Julian century in days, the time unit of the IAU polynomials (GMST 1982).
JULIAN_CENTURY_DAYS = 36525.0
# Days count from 1949 December 31 00:00 UT in sgp4init's epoch argument.
_SGP4_EPOCH0 = datetime(1949, 12, 31, tzinfo=UTC)


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def require_utc(value: datetime, name: str) -> datetime:
    """Return ``value`` converted to UTC; refuse naive datetimes."""
    if not isinstance(value, datetime):
        raise InvalidInputError(f"{name} must be a datetime, got {type(value).__name__} {value!r}",
                                loc=(name,))
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise InvalidInputError(
            f"{name} has no timezone ({value.isoformat()}); groundshare works in UTC.\n\n"
            f"If it already is UTC:  {name}.replace(tzinfo=UTC)\n"
            f"If it is local time:   {name}.astimezone(UTC) after attaching its zone",
            loc=(name,),
        )
    return value.astimezone(UTC)


def parse_utc(text: str, name: str = "time", *, now: datetime | None = None, allow_now: bool = True) -> datetime:
    """Parse ISO 8601 text (``Z`` or an explicit offset) or ``now`` into an aware UTC datetime.

    A value without an offset is refused rather than guessed, and so is a date without a
    time of day.  Every refusal shows a corrected value that this function accepts.
    ``now`` reads ``now=`` when given (e.g. the network's clock), else the wall clock;
    with ``allow_now=False`` it is refused.

    >>> parse_utc("2025-11-07T00:00Z").isoformat()
    '2025-11-07T00:00:00+00:00'
    >>> parse_utc("2025-11-07T09:00+09:00").isoformat()
    '2025-11-07T00:00:00+00:00'
    """
    text = text.strip()
    if text.lower() == "now":
        if not allow_now:
            raise InvalidInputError(f"{name} 'now' is not taken here; give an ISO 8601 time with Z or an offset, "
                                    f"e.g. {_EXAMPLE}", loc=(name,))
        return require_utc(now, name) if now is not None else utc_now()
    date_only = _date_only(text)
    if date_only is not None:
        day, zone = date_only
        suggestion = f"{day.isoformat()}T00:00{zone}"
        if _from_iso(suggestion) is not None:  # else the zone itself is wrong (+25:00): not ISO 8601, below
            raise InvalidInputError(f"{name} {text!r} is a date without a time of day; give the time and its zone, "
                                    f"e.g. {suggestion} (midnight {'UTC' if zone == 'Z' else zone})", loc=(name,))
    value = None if date_only is not None else _from_iso(text)
    if value is None:
        words = " or 'now'" if allow_now else ""
        raise InvalidInputError(f"{name} {text!r} is not an ISO 8601 time; expected e.g. {_EXAMPLE}{words}",
                                loc=(name,))
    if value.tzinfo is None:
        suggestion = text + "Z"
        if _from_iso(suggestion) != value.replace(tzinfo=UTC):
            suggestion = value.isoformat() + "Z"
        raise InvalidInputError(f"{name} {text!r} has no timezone; groundshare works in UTC: add 'Z' "
                                f"(e.g. {suggestion}) or an explicit offset", loc=(name,))
    return value.astimezone(UTC)


#: The example time of parse errors: the demo network's first day, midnight UTC.
_EXAMPLE = "2025-11-07T00:00Z"
# A date alone, as datetime.fromisoformat reads one (2025-11-07, 20251107, 2025-W45-5), then an
# optional zone.  Python would read "2025-11-07+01:00" as 01:00 with no zone (any character
# may separate date and time), so a zone after a bare date is caught here first.
_DATE_ZONE = re.compile(r"^(?P<date>[0-9W-]{7,10})(?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?)?$")


def _date_only(text: str) -> tuple[date, str] | None:
    """Return (date, zone) when ``text`` is a date with no time of day (zone ``Z`` or ``+HH:MM``), else None."""
    try:
        return date.fromisoformat(text), "Z"
    except ValueError:
        pass
    match = _DATE_ZONE.match(text)
    if match is None or match["zone"] is None:
        return None
    try:
        day = date.fromisoformat(match["date"])
    except ValueError:
        return None
    zone = match["zone"].upper()
    if zone != "Z":
        digits = zone[1:].replace(":", "").ljust(4, "0")
        zone = f"{zone[0]}{digits[:2]}:{digits[2:]}"
    return day, zone


def _from_iso(text: str) -> datetime | None:
    """Return ``datetime.fromisoformat`` of ``text`` with ``Z`` read as +00:00, or None if it is not ISO 8601."""
    candidate = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def format_utc(value: datetime) -> str:
    """Return ISO 8601 UTC with milliseconds and ``Z``: ``2024-05-01T03:12:45.120Z``."""
    value = require_utc(value, "value")
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def jd_fr(start: datetime, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return SGP4's split Julian date (whole, fraction) for ``start + t_s`` seconds.

    The whole part stays constant and the fraction carries the offset, which keeps
    the sum exact to a few nanoseconds over weeks (a single float64 JD plateaus at
    about 20 µs; see the python-sgp4 README).
    """
    start = require_utc(start, "start")
    jd0, fr0 = jday(start.year, start.month, start.day, start.hour, start.minute,
                    start.second + start.microsecond * 1e-6)
    return jd_fr_after(jd0, fr0, t_s)


def jd_fr_after(jd0: float, fr0: float, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the split Julian date (whole, fraction) ``t_s`` seconds after ``jd0 + fr0``.

    As in ``jd_fr``, the whole part is ``jd0`` throughout and the fraction carries the
    offset.

    >>> jd, fr = jd_fr_after(2460987.0, 0.5, [0.0, 43_200.0])
    >>> jd.tolist(), fr.tolist()
    ([2460987.0, 2460987.0], [0.5, 1.0])
    """
    t_s = np.asarray(t_s, dtype=float)
    return np.full(t_s.shape, jd0), fr0 + t_s / DAY_S


def julian_centuries(jd: np.ndarray, fr: np.ndarray) -> np.ndarray:
    """Return Julian centuries since J2000.0 of the split Julian date ``jd + fr``.

    The time argument ``T`` of the IAU polynomials (GMST 1982), on the scale of the
    Julian date given.

    >>> float(julian_centuries(2451545.0, 36525.0))
    1.0
    """
    return (np.asarray(jd, dtype=float) - J2000_JD + np.asarray(fr, dtype=float)) / JULIAN_CENTURY_DAYS


def sgp4_epoch_days(epoch: datetime) -> float:
    """Return days since 1949 December 31 00:00 UT, the epoch argument of sgp4's ``sgp4init``.

    >>> sgp4_epoch_days(datetime(1950, 1, 1, 12, tzinfo=UTC))
    1.5
    """
    return (require_utc(epoch, "epoch") - _SGP4_EPOCH0).total_seconds() / DAY_S


def to_datetime64(start: datetime, t_s: np.ndarray) -> np.ndarray:
    """Return ``start + t_s`` seconds as ``datetime64[us]`` (UTC by convention)."""
    start = require_utc(start, "start")
    base = np.datetime64(start.replace(tzinfo=None), "us")
    return base + np.round(np.asarray(t_s, dtype=float) * 1e6).astype("timedelta64[us]")


def datetime64_to_utc(value: np.datetime64) -> datetime:
    """Return an aware UTC datetime for one ``datetime64`` value."""
    us = int((np.datetime64(value, "us") - _EPOCH64) // np.timedelta64(1, "us"))
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def seconds_between(start: datetime, end: datetime) -> float:
    """Return ``end - start`` in seconds."""
    return (require_utc(end, "end") - require_utc(start, "start")).total_seconds()
