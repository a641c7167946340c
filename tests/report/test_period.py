"""The report's period: months, quarters and ranges, the period before and after, and errors naming ``period``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from groundshare.errors import InvalidInputError
from groundshare.report import PeriodKind, parse_period, report_period


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("text", "kind", "start", "end", "previous_start", "next_end"), [
    ("2025-11", PeriodKind.MONTH, utc(2025, 11, 1), utc(2025, 12, 1), utc(2025, 10, 1), utc(2026, 1, 1)),
    ("2025-01", PeriodKind.MONTH, utc(2025, 1, 1), utc(2025, 2, 1), utc(2024, 12, 1), utc(2025, 3, 1)),
    ("2025-12", PeriodKind.MONTH, utc(2025, 12, 1), utc(2026, 1, 1), utc(2025, 11, 1), utc(2026, 2, 1)),
    ("2025-Q4", PeriodKind.QUARTER, utc(2025, 10, 1), utc(2026, 1, 1), utc(2025, 7, 1), utc(2026, 4, 1)),
    ("2026-q1", PeriodKind.QUARTER, utc(2026, 1, 1), utc(2026, 4, 1), utc(2025, 10, 1), utc(2026, 7, 1)),
    ("2025-11-03..2025-11-17", PeriodKind.RANGE, utc(2025, 11, 3), utc(2025, 11, 17), utc(2025, 10, 20),
     utc(2025, 12, 1)),
])
def test_each_form_gives_its_period_the_one_before_and_the_one_after(text, kind, start, end, previous_start,
                                                                      next_end):
    period = parse_period(text)
    assert (period.kind, period.start, period.end, period.previous_start, period.previous_end) == (
        kind, start, end, previous_start, start)
    assert period.next_period() == (end, next_end)
    assert period.as_tuple() == (start, end, previous_start, start, period.label)


def test_labels_are_canonical():
    assert parse_period(" 2026-q1 ").label == "2026-Q1"
    assert parse_period("2025-11-03..2025-11-17").label == "2025-11-03..2025-11-17"


@pytest.mark.parametrize(("text", "says"), [
    ("2025-13", "months are 01 to 12"),
    ("2025-00", "months are 01 to 12"),
    ("2025-Q5", "is not a month"),
    ("November", "is not a month"),
    ("", "is not a month"),
    ("2025-11-17..2025-11-03", "not after it starts"),
    ("2025-11-03..2025-11-03", "not after it starts"),
    ("2025-02-30..2025-03-03", "2025-02-30 is not a date"),
    ("2024-01-01..2025-06-01", "at most 366 days"),
    ("0001-01", "give a year from 1900"),
])
def test_a_bad_period_is_an_error_naming_period_and_the_forms(text, says):
    with pytest.raises(InvalidInputError, match=says) as caught:
        parse_period(text)
    assert caught.value.loc == ("period",)


def test_a_year_long_range_is_accepted_and_a_day_more_is_not():
    assert parse_period("2024-01-01..2025-01-01").days == 366
    with pytest.raises(InvalidInputError, match="366 days"):
        parse_period("2024-01-01..2025-01-02")


def test_report_period_derives_the_previous_period_from_its_kind():
    assert report_period(utc(2025, 3, 1), utc(2025, 4, 1), "2025-03", "month").previous_start == utc(2025, 2, 1)
    assert report_period(utc(2025, 1, 1), utc(2025, 4, 1), "2025-Q1", "quarter").previous_start == utc(2024, 10, 1)
    ranged = report_period(utc(2025, 3, 10), utc(2025, 3, 13))
    assert (ranged.label, ranged.previous_start) == ("2025-03-10..2025-03-13", utc(2025, 3, 7))
    with pytest.raises(InvalidInputError) as caught:
        report_period(utc(2025, 3, 1), utc(2025, 3, 1))
    assert caught.value.loc == ("period",)
    with pytest.raises(InvalidInputError, match="month, quarter or range"):
        report_period(utc(2025, 3, 1), utc(2025, 4, 1), kind="week")
