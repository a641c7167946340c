"""Strict TLE / 3LE parsing.

sgp4's fast parser validates nothing (garbage in gives NaN out with error code 0)
and its pure-Python parser divides by a zero mean motion, so every column is checked
here before an element set exists.  Column numbers below are 1-based, as in the
Space-Track and CelesTrak documentation of the format.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from groundshare.errors import InvalidInputError
from groundshare.orbits.elements import ElementSet

LINE_LENGTH = 69
_LAYOUT = {
    1: "1 NNNNNC NNNNNAAA NNNNN.NNNNNNNN +.NNNNNNNN +NNNNN-N +NNNNN-N N NNNNN",
    2: "2 NNNNN NNN.NNNN NNN.NNNN NNNNNNN NNN.NNNN NNN.NNNN NN.NNNNNNNNNNNNNN",
}
_SPACES = {1: (2, 9, 18, 33, 44, 53, 62, 64), 2: (2, 8, 17, 26, 34, 43, 52)}
_ALPHA5 = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # I and O are not used


class ElementSetError(InvalidInputError):
    """A record that is not a valid element set; ``line_no`` is 1-based where known."""

    def __init__(self, message: str, *, source: str = "", line_no: int | None = None,
                 field: str = "") -> None:
        where = ", ".join(p for p in (source, f"line {line_no}" if line_no else "") if p)
        loc = tuple(p for p in ("file", source, f"line {line_no}" if line_no else "", field) if p)
        super().__init__(f"{where}: {message}" if where else message, loc=loc)
        self.source = source
        self.line_no = line_no
        self.field = field


def tle_checksum(line: str) -> int:
    """Return the checksum of the first 68 columns: digits summed, each '-' as 1, modulo 10."""
    return sum(int(c) if c.isdigit() else c == "-" for c in line[:68]) % 10


def parse_catalog_number(text: str) -> int:
    """Return the catalogue number of a 5-column TLE field, Alpha-5 included.

    >>> parse_catalog_number("25544"), parse_catalog_number("A0001"), parse_catalog_number("Z9999")
    (25544, 100001, 339999)
    """
    text = text.strip()
    if re.fullmatch(r"\d{1,5}", text):
        return int(text)
    if len(text) == 5 and text[0] in _ALPHA5 and text[1:].isdigit():
        return (10 + _ALPHA5.index(text[0])) * 10_000 + int(text[1:])
    raise ValueError(text)


class _Line:
    """One TLE line with error reporting that points at its columns."""

    def __init__(self, text: str, number: int, source: str, line_no: int | None) -> None:
        self.text, self.number, self.source, self.line_no = text, number, source, line_no

    def fail(self, what: str, field: str, hint: str = "") -> ElementSetError:
        message = (
            f"{what}\n\n{hint}{chr(10) if hint else ''}"
            f"Expected:  {_LAYOUT[self.number]}\n"
            f"Got:       {self.text}\n"
            "Fix the line or re-download the set; other element sets in the file were loaded."
        )
        return ElementSetError(message, source=self.source, line_no=self.line_no, field=field)

    def columns(self, first: int, last: int) -> str:
        return self.text[first - 1:last]

    def number_field(self, first: int, last: int, field: str, pattern: str, expected: str) -> str:
        raw = self.columns(first, last)
        if not re.fullmatch(pattern, raw):
            raise self.fail(
                f"TLE line {self.number} columns {first}-{last} ({field}) should be {expected}, got {raw!r}",
                field)
        return raw

    def decimal(self, first: int, last: int, field: str, lo: float, hi: float) -> float:
        raw = self.number_field(first, last, field, r" *[+-]?\d*\.\d+ *|\s*\d+\s*", "a decimal number")
        value = float(raw)
        if not lo <= value <= hi:
            raise self.fail(
                f"TLE line {self.number} columns {first}-{last} ({field}) is {value}, outside [{lo}, {hi}]",
                field)
        return value

    def exponent(self, first: int, last: int, field: str) -> float:
        """Parse the implied-decimal form ``±NNNNN±N`` meaning ±0.NNNNN x 10^±N."""
        raw = self.number_field(first, last, field, r"[ +-]\d{5}[+-]\d", "of the form ±NNNNN±N")
        sign = "-" if raw[0] == "-" else ""
        return float(f"{sign}0.{raw[1:6]}e{raw[6:8]}")  # via text, so it rounds as sgp4's parser does


def _check_line_shape(line: _Line) -> None:
    text = line.text
    if len(text) != LINE_LENGTH:
        raise line.fail(
            f"TLE line {line.number} has {len(text)} characters; a TLE line has {LINE_LENGTH}",
            "length", "Lines wrapped or cut by a mail or text tool lose their last columns.")
    if not text.isascii() or not text.isprintable():
        raise line.fail(f"TLE line {line.number} holds a character that is not printable ASCII", "characters")
    if text[0] != str(line.number):
        raise line.fail(f"TLE line {line.number} should start with '{line.number}', got {text[0]!r}",
                        "line number")
    for column in _SPACES[line.number]:
        if text[column - 1] != " ":
            raise line.fail(
                f"TLE line {line.number} column {column} should be a space, got {text[column - 1]!r}",
                f"column {column}")
    checksum = tle_checksum(text)
    if not text[68].isdigit():
        raise line.fail(f"TLE line {line.number} should end in a checksum digit, got {text[68]!r}", "checksum")
    if checksum != int(text[68]):
        raise line.fail(
            f"TLE line {line.number} checksum is {checksum} but the line ends in {text[68]}", "checksum",
            "Each TLE line ends with the sum of its digits (a '-' counts as 1) modulo 10.")


def _epoch(line: _Line) -> datetime:
    year_text = line.number_field(19, 20, "epoch year", r"\d\d", "two digits")
    day_text = line.number_field(21, 32, "epoch day", r"[ \d]{2}\d\.\d{8}", "DDD.DDDDDDDD")
    year = int(year_text)
    year += 1900 if year >= 57 else 2000  # the TLE two-digit-year convention
    day = float(day_text)
    days_in_year = 366 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 365
    if not 1.0 <= day < days_in_year + 1.0:
        raise line.fail(f"TLE epoch day {day_text.strip()} is outside 1-{days_in_year} for {year}", "epoch day")
    epoch = datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=day - 1.0)
    return epoch.replace(microsecond=epoch.microsecond)  # timedelta already rounds to 1 us


def parse_tle(line1: str, line2: str, name: str | None = None, *, source: str = "",
              line_no: int | None = None) -> ElementSet:
    """Return the ``ElementSet`` of one TLE after checking every column.

    ``line_no`` is the file line of ``line1`` (``line2`` is taken to follow it) and
    only serves error messages.  Raise ``ElementSetError`` naming the line, the
    columns and what was expected.

    >>> iss = parse_tle(
    ...     "1 25544U 98067A   26150.51748228  .00011776  00000+0  21767-3 0  9998",
    ...     "2 25544  51.6337  27.5746 0007245 114.7080 245.4664 15.49496548569014", "ISS (ZARYA)")
    >>> iss.norad_id, iss.epoch.isoformat(timespec="seconds"), iss.bstar
    (25544, '2026-05-30T12:25:10+00:00', 0.00021767)
    """
    l1 = _Line(line1.rstrip("\r\n").rstrip(), 1, source, line_no)
    l2 = _Line(line2.rstrip("\r\n").rstrip(), 2, source, line_no + 1 if line_no else None)
    _check_line_shape(l1)
    _check_line_shape(l2)
    try:
        norad_id = parse_catalog_number(l1.columns(3, 7))
    except ValueError:
        raise l1.fail(f"TLE line 1 columns 3-7 should be a catalogue number (digits, or Alpha-5 such as "
                      f"A0001), got {l1.columns(3, 7)!r}", "catalog number") from None
    try:
        norad_id_2 = parse_catalog_number(l2.columns(3, 7))
    except ValueError:
        raise l2.fail(f"TLE line 2 columns 3-7 should be a catalogue number, got {l2.columns(3, 7)!r}",
                      "catalog number") from None
    if norad_id_2 != norad_id:
        raise l2.fail(f"TLE line 2 is for catalogue number {norad_id_2} but line 1 is for {norad_id}",
                      "catalog number", "A line 2 must follow the line 1 of the same satellite.")
    classification = l1.columns(8, 8)
    if classification not in ("U", "C", "S", " "):
        raise l1.fail(f"TLE line 1 column 8 (classification) should be U, C or S, got {classification!r}",
                      "classification")
    epoch = _epoch(l1)
    mean_motion_dot = l1.decimal(34, 43, "mean motion derivative", -1.0, 1.0)
    mean_motion_ddot = l1.exponent(45, 52, "mean motion second derivative")
    bstar = l1.exponent(54, 61, "BSTAR drag term")
    ephemeris_type = l1.number_field(63, 63, "ephemeris type", r"[\d ]", "a digit")
    element_set_no = l1.number_field(65, 68, "element set number", r" *\d+", "a number")
    inclination_deg = l2.decimal(9, 16, "inclination", 0.0, 180.0)
    raan_deg = l2.decimal(18, 25, "right ascension of the ascending node", 0.0, 360.0)
    ecc_text = l2.number_field(27, 33, "eccentricity", r"\d{7}", "seven digits (implied leading '0.')")
    arg_perigee_deg = l2.decimal(35, 42, "argument of perigee", 0.0, 360.0)
    mean_anomaly_deg = l2.decimal(44, 51, "mean anomaly", 0.0, 360.0)
    mean_motion = l2.decimal(53, 63, "mean motion", 0.0, 100.0)
    if mean_motion <= 0.0:
        raise l2.fail(f"TLE line 2 columns 53-63 (mean motion) is {mean_motion}; it must be above 0 rev/day",
                      "mean motion", "A mean motion of 0 is no orbit (SGP4 would divide by it).")
    rev_text = l2.number_field(64, 68, "revolution number", r" *\d+", "a number")
    intl = l1.columns(10, 17).strip()
    object_id = ""
    if len(intl) >= 5 and intl[:5].isdigit():
        year = int(intl[:2])
        object_id = f"{year + (1900 if year >= 57 else 2000)}-{intl[2:]}"
    return ElementSet(
        norad_id=norad_id,
        name=(name or "").strip() or f"NORAD {norad_id}",
        epoch=epoch,
        mean_motion_rev_day=mean_motion,
        eccentricity=float("0." + ecc_text),
        inclination_deg=inclination_deg,
        raan_deg=raan_deg,
        arg_perigee_deg=arg_perigee_deg,
        mean_anomaly_deg=mean_anomaly_deg,
        bstar=bstar,
        mean_motion_dot=mean_motion_dot,
        mean_motion_ddot=mean_motion_ddot,
        classification=classification.strip() or "U",
        object_id=object_id,
        element_set_no=int(element_set_no),
        rev_at_epoch=int(rev_text),
        ephemeris_type=int(ephemeris_type) if ephemeris_type.strip() else 0,
        line1=l1.text,
        line2=l2.text,
        source=f"{source}:{line_no}" if source and line_no else source,
    )


def _is_line(text: str, number: int) -> bool:
    return len(text) >= 2 and text[0] == str(number) and text[1] == " "


def iter_tle_records(text: str, source: str = "") -> Iterator[ElementSet | ElementSetError]:
    """Yield an ``ElementSet`` or an ``ElementSetError`` for each record of TLE/3LE text.

    Records are two lines, optionally after a name line (a leading ``0 `` as in
    Space-Track's 3LE is dropped).  Blank lines are ignored.  Nothing is skipped
    silently: every line that belongs to no valid record produces an error.
    """
    lines = text.splitlines()
    name: tuple[int, str] | None = None
    i = 0
    while i < len(lines):
        raw = lines[i].rstrip()
        if not raw.strip():
            i += 1
            continue
        if _is_line(raw, 1):
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and _is_line(lines[j], 2):
                try:
                    yield parse_tle(raw, lines[j], name[1] if name else None, source=source,
                                    line_no=i + 1)
                except ElementSetError as exc:
                    yield exc
                name = None
                i = j + 1
                continue
            yield ElementSetError(
                "TLE line 1 is not followed by its line 2 (a line starting with '2 ')\n\n"
                f"Got:       {raw}\nThe record is incomplete; re-download the set.",
                source=source, line_no=i + 1, field="line 2")
            name, i = None, j
            continue
        if _is_line(raw, 2):
            yield ElementSetError(
                "TLE line 2 has no line 1 before it\n\n"
                f"Got:       {raw}\nA record is an optional name line, then line 1, then line 2.",
                source=source, line_no=i + 1, field="line 1")
            name, i = None, i + 1
            continue
        if name is not None:
            yield ElementSetError(
                f"name line {name[1]!r} is not followed by TLE lines\n\n"
                "A record is an optional name line, then line 1 ('1 ...'), then line 2 ('2 ...').",
                source=source, line_no=name[0], field="name")
        stripped = raw.strip()
        name = (i + 1, stripped[2:] if stripped.startswith("0 ") else stripped)
        i += 1
    if name is not None:
        yield ElementSetError(
            f"name line {name[1]!r} at the end of the file has no TLE lines after it",
            source=source, line_no=name[0], field="name")
