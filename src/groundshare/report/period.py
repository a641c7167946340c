"""The period a report covers: a month, a quarter or any range of whole UTC days, and the one before it.

Forms of ``period`` (UTC, end exclusive):

- ``2025-11``: a calendar month, 2025-11-01 to 2025-12-01; the previous period is the month before;
- ``2025-Q4``: a calendar quarter, 2025-10-01 to 2026-01-01; the previous period is the quarter before;
- ``2025-11-03..2025-11-17``: the days from the first date to the second (ISO dates, the second not included),
  at most ``MAX_RANGE_DAYS`` days; the previous period is as many days just before it.

The next period (what the report's "ahead" section looks at) follows the same rule forwards.
Every error is an ``InvalidInputError`` naming ``period`` and showing the three forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from groundshare.errors import InvalidInputError

#: Longest range a report covers, days (as long as the ledger it is computed from may be).
MAX_RANGE_DAYS = 366
#: The forms, for error messages.
FORMS = "a month (2025-11), a quarter (2025-Q4) or a range of days (2025-11-03..2025-11-17, end exclusive)"

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})")


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    RANGE = "range"


@dataclass(frozen=True)
class ReportPeriod:
    """``[start, end)`` and the period before it, ``[previous_start, previous_end)``, all at 00:00 UTC."""

    label: str
    kind: PeriodKind
    start: datetime
    end: datetime
    previous_start: datetime
    previous_end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)

    def next_period(self) -> tuple[datetime, datetime]:
        """Return ``[start, end)`` of the period after this one, of the same kind and length."""
        if self.kind is PeriodKind.MONTH:
            return self.end, _add_months(self.end, 1)
        if self.kind is PeriodKind.QUARTER:
            return self.end, _add_months(self.end, 3)
        return self.end, self.end + (self.end - self.start)

    def as_tuple(self) -> tuple[datetime, datetime, datetime, datetime, str]:
        """Return ``(start, end, previous_start, previous_end, label)``."""
        return self.start, self.end, self.previous_start, self.previous_end, self.label


def parse_period(text: str) -> ReportPeriod:
    """Return the period ``text`` names (module docstring); ``InvalidInputError`` naming ``period`` otherwise.

    >>> p = parse_period("2025-Q4")
    >>> p.start.date().isoformat(), p.end.date().isoformat(), p.previous_start.date().isoformat()
    ('2025-10-01', '2026-01-01', '2025-07-01')
    """
    if not isinstance(text, str):
        raise InvalidInputError(f"period must be text: {FORMS}", loc=("period",))
    value = text.strip()
    if match := _MONTH.fullmatch(value):
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise InvalidInputError(f"period {text!r} has month {month:02d}; months are 01 to 12 ({FORMS})",
                                    loc=("period",))
        start = _first_of(year, month, text)
        return ReportPeriod(f"{year:04d}-{month:02d}", PeriodKind.MONTH, start, _add_months(start, 1),
                            _add_months(start, -1), start)
    if match := _QUARTER.fullmatch(value):
        year, quarter = int(match.group(1)), int(match.group(2))
        start = _first_of(year, 3 * (quarter - 1) + 1, text)
        return ReportPeriod(f"{year:04d}-Q{quarter}", PeriodKind.QUARTER, start, _add_months(start, 3),
                            _add_months(start, -3), start)
    if match := _RANGE.fullmatch(value):
        first, last = _date(match.group(1), text), _date(match.group(2), text)
        if last <= first:
            raise InvalidInputError(f"period {text!r} ends on {last.isoformat()}, not after it starts on "
                                    f"{first.isoformat()}; the end date is not included, so a range needs at least "
                                    "one day, e.g. 2025-11-03..2025-11-04", loc=("period",))
        if (last - first).days > MAX_RANGE_DAYS:
            raise InvalidInputError(f"period {text!r} is {(last - first).days} days; a report covers at most "
                                    f"{MAX_RANGE_DAYS} days: ask for a quarter, or a shorter range",
                                    loc=("period",))
        start = datetime(first.year, first.month, first.day, tzinfo=UTC)
        end = datetime(last.year, last.month, last.day, tzinfo=UTC)
        return ReportPeriod(f"{first.isoformat()}..{last.isoformat()}", PeriodKind.RANGE, start, end,
                            start - (end - start), start)
    raise InvalidInputError(f"period {text!r} is not {FORMS}", loc=("period",))


def report_period(start: datetime, end: datetime, label: str | None = None,
                  kind: PeriodKind | str = PeriodKind.RANGE) -> ReportPeriod:
    """Return the period ``[start, end)`` of ``kind`` with its previous period (``label``: default the range's).

    ``InvalidInputError`` naming ``period`` for an empty, reversed or over-long span, or an unknown kind.
    """
    try:
        kind = PeriodKind(kind)
    except ValueError:
        raise InvalidInputError(f"period kind must be month, quarter or range, got {kind!r}", loc=("period",)) from None
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInputError("period start and end must be aware UTC datetimes", loc=("period",))
    if end <= start or end - start > timedelta(days=MAX_RANGE_DAYS):
        raise InvalidInputError(f"period must span more than 0 and at most {MAX_RANGE_DAYS} days, got {start} to "
                                f"{end}", loc=("period",))
    months = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3}.get(kind)
    previous_start = _add_months(start, -months) if months else start - (end - start)
    label = label or f"{start.date().isoformat()}..{end.date().isoformat()}"
    return ReportPeriod(label, kind, start, end, previous_start, start)


def _first_of(year: int, month: int, text: str) -> datetime:
    if not 1900 <= year <= 9998:  # the previous and next periods must exist too
        raise InvalidInputError(f"period {text!r} has year {year}; give a year from 1900 to 9998", loc=("period",))
    return datetime(year, month, 1, tzinfo=UTC)


def _date(part: str, text: str) -> date:
    try:
        day = date.fromisoformat(part)
    except ValueError:
        raise InvalidInputError(f"period {text!r}: {part} is not a date (YYYY-MM-DD); {FORMS}",
                                loc=("period",)) from None
    if not 1900 <= day.year <= 9998:
        raise InvalidInputError(f"period {text!r} has year {day.year}; give a year from 1900 to 9998",
                                loc=("period",))
    return day


def _add_months(value: datetime, months: int) -> datetime:
    """Return the first of the month ``months`` after (or before) ``value``'s month."""
    index = value.year * 12 + value.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
