"""CCSDS OMM (502.0-B) ingestion as CelesTrak serves it: JSON, CSV, XML and KVN.

Each format is first read into one flat ``KEY -> value`` mapping per record (the OMM
keyword names, e.g. ``MEAN_MOTION``), remembering where the record and each key sit
in the file; ``elements_from_omm`` then turns one mapping into an ``ElementSet``.
Nothing is skipped silently: every bad record becomes an ``ElementSetError`` that
names the file, the line (or the record number) and the key.

Layouts read:

- JSON: a list of flat objects (CelesTrak ``FORMAT=json``), or one object;
- CSV: a header row of keys, then one row per record (``FORMAT=csv``);
- XML: ``<ndm><omm>...<body><segment><metadata>..</metadata><data><meanElements>..
  <tleParameters>..`` (``FORMAT=xml``); each ``segment`` is a record, or each ``omm``
  that has none.  Namespace prefixes are ignored and every leaf element below a
  record counts as a key, so the grouping elements may be missing;
- KVN: ``KEY = value`` lines, ``COMMENT`` lines, optional ``[unit]`` suffixes; several
  OMMs may be concatenated, each starting at its ``CCSDS_OMM_VERS`` line.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.parsers.expat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from groundshare.errors import InvalidInputError
from groundshare.orbits.elements import ElementSet
from groundshare.orbits.tle import ElementSetError

OMM_FORMATS: tuple[str, ...] = ("json", "csv", "xml", "kvn")
REQUIRED_KEYS: tuple[str, ...] = (
    "OBJECT_NAME", "NORAD_CAT_ID", "EPOCH", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION",
    "RA_OF_ASC_NODE", "ARG_OF_PERICENTER", "MEAN_ANOMALY", "BSTAR", "MEAN_MOTION_DOT",
    "MEAN_MOTION_DDOT",
)
# Key -> (unit or meaning, an example as CelesTrak writes it); used in error messages.
_NUMBERS: dict[str, tuple[str, str]] = {
    "MEAN_MOTION": ("rev/day", "15.49496548"),
    "ECCENTRICITY": ("between 0 and 1", "0.0007245"),
    "INCLINATION": ("deg", "51.6337"),
    "RA_OF_ASC_NODE": ("deg", "27.5746"),
    "ARG_OF_PERICENTER": ("deg", "114.708"),
    "MEAN_ANOMALY": ("deg", "245.4664"),
    "BSTAR": ("1/earth radii", "0.00021767"),
    "MEAN_MOTION_DOT": ("rev/day^2, already halved", "0.00011776"),
    "MEAN_MOTION_DDOT": ("rev/day^3, already divided by six", "0"),
}
# Optional keys whose value, when present, must be the one SGP4 elements have.
_FIXED: dict[str, str] = {"CENTER_NAME": "EARTH", "REF_FRAME": "TEME", "TIME_SYSTEM": "UTC"}
# ElementSet field (as named in check_physics' ``loc``) -> OMM key.
_KEY_OF_FIELD: dict[str, str] = {
    "norad_id": "NORAD_CAT_ID", "epoch": "EPOCH", "mean_motion_rev_day": "MEAN_MOTION",
    "eccentricity": "ECCENTRICITY", "inclination_deg": "INCLINATION", "raan_deg": "RA_OF_ASC_NODE",
    "arg_perigee_deg": "ARG_OF_PERICENTER", "mean_anomaly_deg": "MEAN_ANOMALY", "bstar": "BSTAR",
    "mean_motion_dot": "MEAN_MOTION_DOT", "mean_motion_ddot": "MEAN_MOTION_DDOT",
}
_FIX = "Fix the record or re-download the set; other element sets in the file were loaded."
_DECIMAL_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER_RE = re.compile(r"[+-]?\d+")
_EPOCH_RE = re.compile(
    r"(?P<year>\d{4})-(?:(?P<month>\d{2})-(?P<day>\d{2})|(?P<doy>\d{3}))"
    r"T(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.(?P<frac>\d+))?Z?")
_EPOCH_FORM = "YYYY-MM-DDThh:mm:ss[.ffffff][Z], e.g. 2026-05-30T12:25:10.468992"
_KVN_UNITS_RE = re.compile(r"\s*\[[^\]]*\]$")
_JSON_WS_RE = re.compile(r"[ \t\n\r]*")


def _no_line(key: str) -> int | None:
    return None


@dataclass(frozen=True)
class _Record:
    """One record's fields as read, and where it sits in its file."""

    fields: Mapping[str, object]
    line_no: int | None = None
    label: str = ""  # "record 3" where a line number alone does not say which record
    key_line: Callable[[str], int | None] = field(default=_no_line)


def iter_omm_records(text: str, *, source: str = "", fmt: str) -> Iterator[ElementSet | ElementSetError]:
    """Yield an ``ElementSet`` or an ``ElementSetError`` for each OMM record of ``text``.

    ``fmt`` is ``"json"``, ``"csv"``, ``"xml"`` or ``"kvn"``; ``source`` (usually the
    file name) prefixes every error.  A bad record never stops the others; a file the
    format's parser cannot read at all (invalid JSON or XML) yields one error naming the
    parser's line and column.  An unknown ``fmt`` raises ``InvalidInputError``.
    """
    readers: dict[str, Callable[[str, str], Iterator[_Record | ElementSetError]]] = {
        "json": _json_records, "csv": _csv_records, "xml": _xml_records, "kvn": _kvn_records,
    }
    if fmt not in readers:
        raise InvalidInputError(f"unknown OMM format {fmt!r}; expected one of {', '.join(OMM_FORMATS)}",
                                loc=("format",))
    for item in readers[fmt](text.lstrip("\ufeff"), source):
        if isinstance(item, ElementSetError):
            yield item
            continue
        try:
            yield _elements(item, source)
        except ElementSetError as exc:
            yield exc


def elements_from_omm(fields: Mapping[str, str | float | int], *, source: str = "") -> ElementSet:
    """Return the ``ElementSet`` of one OMM given as a ``KEY -> value`` mapping.

    Keys are OMM keyword names (case and surrounding spaces do not matter); values are
    text or numbers.  Raise ``ElementSetError`` naming the missing or bad key and the
    form expected.

    >>> iss = elements_from_omm({
    ...     "OBJECT_NAME": "ISS (ZARYA)", "NORAD_CAT_ID": 25544, "EPOCH": "2026-05-30T12:25:10.468992",
    ...     "MEAN_MOTION": 15.49496548, "ECCENTRICITY": 0.0007245, "INCLINATION": 51.6337,
    ...     "RA_OF_ASC_NODE": 27.5746, "ARG_OF_PERICENTER": 114.708, "MEAN_ANOMALY": 245.4664,
    ...     "BSTAR": 0.00021767, "MEAN_MOTION_DOT": 0.00011776, "MEAN_MOTION_DDOT": 0})
    >>> iss.norad_id, iss.epoch.isoformat()
    (25544, '2026-05-30T12:25:10.468992+00:00')
    """
    return _elements(_Record(fields), source)


# --- one record: KEY -> value mapping to ElementSet -------------------------------------


class _Fields:
    """A record's fields with conversions whose errors name the key and its line."""

    def __init__(self, record: _Record, source: str) -> None:
        self.record, self.source = record, source
        self.values = {str(k).strip().upper(): v for k, v in record.fields.items()}

    def who(self) -> str:
        """Return the record's label for the first line of an error, e.g. ``record 3, NORAD 25544: ``."""
        parts = [self.record.label] if self.record.label else []
        norad = self.values.get("NORAD_CAT_ID")
        if isinstance(norad, int) or (isinstance(norad, str) and norad.strip().isdigit()):
            parts.append(f"NORAD {str(norad).strip()}")
        return f"{', '.join(parts)}: " if parts else ""

    def fail(self, key: str, what: str, detail: str) -> ElementSetError:
        line_no = self.record.key_line(key) or self.record.line_no
        return ElementSetError(f"{self.who()}{what}\n\n{detail}\n{_FIX}", source=self.source,
                               line_no=line_no, field=key)

    def raw(self, key: str) -> object:
        return self.values.get(key)

    def text(self, key: str, default: str = "") -> str:
        value = self.values.get(key)
        return default if _is_blank(value) else str(value).strip()

    def number(self, key: str) -> float:
        value = self.values[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and _DECIMAL_RE.fullmatch(value.strip()):
            return float(value)
        unit, example = _NUMBERS[key]
        raise self.fail(key, f"{key} should be a number ({unit}), got {value!r}",
                        f"Expected:  {key} = {example}")

    def integer(self, key: str, default: int | None = None) -> int:
        value = self.values.get(key)
        if default is not None and _is_blank(value):
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _INTEGER_RE.fullmatch(value.strip()):
            return int(value)
        raise self.fail(key, f"{key} should be a whole number, got {value!r}",
                        f"Expected:  {key} = 25544 (digits only)")

    def epoch(self) -> datetime:
        value = self.values["EPOCH"]
        text = str(value).strip()
        match = _EPOCH_RE.fullmatch(text)
        epoch = _epoch_from_match(match) if match else None
        if epoch is None:
            raise self.fail("EPOCH", f"EPOCH should be a UTC date and time, got {value!r}",
                            f"Expected:  {_EPOCH_FORM} (fractional seconds and the Z are optional)")
        return epoch


def omm_json_record(element_set: ElementSet) -> dict[str, Any]:
    """Return ``element_set`` as one OMM object of CelesTrak's ``FORMAT=json`` (its keys, order and types).

    Floats are kept at full precision, so ``elements_from_omm`` gives back the same
    elements; catalog numbers above 99999, which a TLE cannot hold, travel this way.
    """
    return {
        "OBJECT_NAME": element_set.name, "OBJECT_ID": element_set.object_id,
        "EPOCH": element_set.epoch.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "MEAN_MOTION": element_set.mean_motion_rev_day, "ECCENTRICITY": element_set.eccentricity,
        "INCLINATION": element_set.inclination_deg, "RA_OF_ASC_NODE": element_set.raan_deg,
        "ARG_OF_PERICENTER": element_set.arg_perigee_deg, "MEAN_ANOMALY": element_set.mean_anomaly_deg,
        "EPHEMERIS_TYPE": element_set.ephemeris_type, "CLASSIFICATION_TYPE": element_set.classification,
        "NORAD_CAT_ID": element_set.norad_id, "ELEMENT_SET_NO": element_set.element_set_no,
        "REV_AT_EPOCH": element_set.rev_at_epoch, "BSTAR": element_set.bstar,
        "MEAN_MOTION_DOT": element_set.mean_motion_dot, "MEAN_MOTION_DDOT": element_set.mean_motion_ddot,
    }


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _epoch_from_match(match: re.Match[str]) -> datetime | None:
    """Return the aware UTC datetime of an ``_EPOCH_RE`` match, or ``None`` if no such time exists."""
    g = match.groupdict()
    frac = g["frac"] or "0"
    # Round half up to whole microseconds in integer arithmetic (any number of digits).
    microseconds = (int(frac) * 2_000_000 + 10 ** len(frac)) // (2 * 10 ** len(frac))
    try:
        if g["doy"] is not None:
            year = int(g["year"])
            day = datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=int(g["doy"]) - 1)
            if day.year != year:  # day 000, or 366 of a common year
                return None
            month, mday = day.month, day.day
        else:
            month, mday = int(g["month"]), int(g["day"])
        whole = datetime(int(g["year"]), month, mday, int(g["hour"]), int(g["minute"]),
                         int(g["second"]), tzinfo=UTC)
    except ValueError:
        return None
    return whole + timedelta(microseconds=microseconds)


def _check_missing(f: _Fields) -> None:
    missing = [key for key in REQUIRED_KEYS if _is_blank(f.raw(key))]
    if not missing:
        return
    verb = "is" if len(missing) == 1 else "are"
    names = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " and " + missing[-1]
    got = ", ".join(sorted(str(key) for key in f.record.fields)) or "none"
    raise f.fail(missing[0], f"{names} {verb} missing; an OMM for SGP4 needs {', '.join(REQUIRED_KEYS)}",
                 f"Got keys:  {got}")


def _check_theory_and_frame(f: _Fields) -> None:
    theory = f.text("MEAN_ELEMENT_THEORY", "SGP4")
    if theory.upper() == "SGP4-XP":
        raise f.fail("MEAN_ELEMENT_THEORY",
                     "MEAN_ELEMENT_THEORY is SGP4-XP; these elements need the SGP4-XP propagator, not SGP4",
                     "groundshare propagates with SGP4 only.  Ask the provider for SGP4 (TLE-compatible) "
                     "elements of this object.")
    if theory.upper() != "SGP4":
        raise f.fail("MEAN_ELEMENT_THEORY",
                     f"MEAN_ELEMENT_THEORY is {theory!r}; only SGP4 elements can be used",
                     "Expected:  MEAN_ELEMENT_THEORY = SGP4")
    for key, expected in _FIXED.items():
        value = f.text(key, expected)
        if value.upper() != expected:
            raise f.fail(key, f"{key} is {value!r}; SGP4 elements have {key} = {expected}",
                         f"Expected:  {key} = {expected} (or no {key} line)")


def _check_classification(f: _Fields) -> str:
    classification = f.text("CLASSIFICATION_TYPE", "U").upper()
    if classification not in ("U", "C", "S"):
        raise f.fail("CLASSIFICATION_TYPE",
                     f"CLASSIFICATION_TYPE should be U, C or S, got {f.raw('CLASSIFICATION_TYPE')!r}",
                     "Expected:  CLASSIFICATION_TYPE = U")
    return classification


def _elements(record: _Record, source: str) -> ElementSet:
    """Return the ``ElementSet`` of one record; raise ``ElementSetError`` naming the bad key."""
    f = _Fields(record, source)
    _check_missing(f)
    _check_theory_and_frame(f)
    norad_id = f.integer("NORAD_CAT_ID")
    n = {key: f.number(key) for key in _NUMBERS}
    epoch, classification = f.epoch(), _check_classification(f)
    element_set_no = f.integer("ELEMENT_SET_NO", 999)
    rev_at_epoch = f.integer("REV_AT_EPOCH", 0)
    ephemeris_type = f.integer("EPHEMERIS_TYPE", 0)
    try:
        # Built without ``source`` so that check_physics' message carries no location of
        # its own; the ElementSetError below adds the file, line and key.
        elements = ElementSet(
            norad_id=norad_id, name=f.text("OBJECT_NAME"), epoch=epoch,
            mean_motion_rev_day=n["MEAN_MOTION"], eccentricity=n["ECCENTRICITY"],
            inclination_deg=n["INCLINATION"], raan_deg=n["RA_OF_ASC_NODE"],
            arg_perigee_deg=n["ARG_OF_PERICENTER"], mean_anomaly_deg=n["MEAN_ANOMALY"],
            bstar=n["BSTAR"], mean_motion_dot=n["MEAN_MOTION_DOT"], mean_motion_ddot=n["MEAN_MOTION_DDOT"],
            classification=classification, object_id=f.text("OBJECT_ID"),
            element_set_no=element_set_no, rev_at_epoch=rev_at_epoch, ephemeris_type=ephemeris_type,
        )
    except InvalidInputError as exc:
        key = _KEY_OF_FIELD.get(exc.loc[0] if exc.loc else "", "NORAD_CAT_ID")
        reason = str(exc).removeprefix(f"NORAD {norad_id}: ")
        raise f.fail(key, f"{key} cannot be used: {reason}",
                     f"Got:       {key} = {f.raw(key)!r}") from None
    line_no = record.line_no
    return replace(elements, source=f"{source}:{line_no}" if source and line_no else source)


# --- JSON ---------------------------------------------------------------------------------


def _json_records(text: str, source: str) -> Iterator[_Record | ElementSetError]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield ElementSetError(
            f"the file is not valid JSON ({exc.msg} at column {exc.colno})\n\n"
            "Expected a JSON list of OMM objects (CelesTrak FORMAT=json) or one OMM object.\n"
            "Re-download the file; a cut-off download is the usual cause.",
            source=source, line_no=exc.lineno, field="JSON")
        return
    if isinstance(data, dict):
        start = _skip_json_ws(text, 0)
        yield _json_record(data, text, (start, len(text)), _line_at(text, start), "")
        return
    if not isinstance(data, list):
        yield ElementSetError(
            f"the file holds a JSON {type(data).__name__}, not OMM records\n\n"
            "Expected a JSON list of OMM objects (CelesTrak FORMAT=json) or one OMM object.",
            source=source, line_no=1, field="JSON")
        return
    line_no, offset = 1, 0
    for index, (item, span) in enumerate(zip(data, _json_item_spans(text), strict=True), start=1):
        line_no += text.count("\n", offset, span[0])
        offset = span[0]
        if isinstance(item, dict):
            yield _json_record(item, text, span, line_no, f"record {index}")
        else:
            yield ElementSetError(
                f"record {index} is a JSON {type(item).__name__}, not an object of OMM keys\n\n"
                'Expected:  {"OBJECT_NAME": "ISS (ZARYA)", "NORAD_CAT_ID": 25544, ...}',
                source=source, line_no=line_no, field="JSON")


def _json_record(item: dict[str, object], text: str, span: tuple[int, int], line_no: int,
                 label: str) -> _Record:
    return _Record(item, line_no, label, partial(_json_key_line, text, span, line_no))


def _skip_json_ws(text: str, offset: int) -> int:
    """Return the offset of the first character at or after ``offset`` that is not JSON whitespace."""
    match = _JSON_WS_RE.match(text, offset)
    return match.end() if match else offset


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _json_item_spans(text: str) -> Iterator[tuple[int, int]]:
    """Yield the (start, end) offsets of the items of the top-level JSON list in ``text``.

    Only called once ``json.loads`` accepted ``text``, so the structure is known good.
    """
    decoder = json.JSONDecoder()
    i = _skip_json_ws(text, 0) + 1  # past the "["
    while True:
        i = _skip_json_ws(text, i)
        if text[i] == "]":
            return
        _, end = decoder.raw_decode(text, i)
        yield i, end
        i = _skip_json_ws(text, end)
        if text[i] == ",":
            i += 1


def _json_key_line(text: str, span: tuple[int, int], line_no: int, key: str) -> int | None:
    """Return the line of ``"KEY":`` inside one flat JSON object, or ``None``."""
    # A JSON string cannot hold a bare '"', so this cannot match inside a value.
    match = re.compile(rf'"{re.escape(key)}"\s*:', re.IGNORECASE).search(text, span[0], span[1])
    return line_no + text.count("\n", span[0], match.start()) if match else None


# --- CSV ----------------------------------------------------------------------------------


def _csv_records(text: str, source: str) -> Iterator[_Record | ElementSetError]:
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip().upper() for cell in row]
                missing = [key for key in REQUIRED_KEYS if key not in header]
                if missing:
                    yield ElementSetError(
                        f"the CSV header has no {', '.join(missing)} column(s); no row can be read\n\n"
                        f"Expected a header naming at least {', '.join(REQUIRED_KEYS)} "
                        "(CelesTrak FORMAT=csv).\n"
                        f"Got:       {','.join(row)}",
                        source=source, line_no=reader.line_num, field=missing[0])
                    return
                continue
            if len(row) != len(header):
                yield ElementSetError(
                    f"CSV row has {len(row)} values but the header has {len(header)} columns\n\n"
                    "A value holding a comma must be quoted.\n" + _FIX,
                    source=source, line_no=reader.line_num, field="row")
                continue
            yield _Record(dict(zip(header, row, strict=True)), reader.line_num)
    except csv.Error as exc:
        yield ElementSetError(f"the file is not readable as CSV from here on ({exc})\n\n"
                              "Re-download the file; the rows after this line were not read.",
                              source=source, line_no=reader.line_num, field="CSV")


# --- XML ----------------------------------------------------------------------------------


@dataclass
class _XmlFrame:
    """An open XML element."""

    name: str
    line_no: int
    has_children: bool = False
    text: list[str] = field(default_factory=list)


@dataclass
class _XmlRecord:
    """An open ``omm`` or ``segment`` element collecting its leaf elements."""

    kind: str
    line_no: int
    fields: dict[str, str] = field(default_factory=dict)
    key_lines: dict[str, int] = field(default_factory=dict)
    n_segments: int = 0


class _XmlReader:
    """Collect one ``_Record`` per ``segment`` (or per ``omm`` without segments) with expat."""

    def __init__(self) -> None:
        # No namespace processing: a prefix, declared or not, is simply cut off the name.
        self.parser = xml.parsers.expat.ParserCreate(encoding="utf-8")
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.characters
        self.frames: list[_XmlFrame] = []
        self.open: list[_XmlRecord] = []
        self.records: list[_Record] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(":")[2]
        if self.frames:
            self.frames[-1].has_children = True
        self.frames.append(_XmlFrame(local, self.parser.CurrentLineNumber))
        if local in ("omm", "segment"):
            if local == "segment" and self.open and self.open[-1].kind == "omm":
                self.open[-1].n_segments += 1
            self.open.append(_XmlRecord(local, self.parser.CurrentLineNumber))

    def end(self, name: str) -> None:
        frame = self.frames.pop()
        if not frame.has_children and self.open and frame.name not in ("COMMENT", "USER_DEFINED"):
            record = self.open[-1]
            key = frame.name.upper()
            if key not in record.fields:
                record.fields[key] = "".join(frame.text).strip()
                record.key_lines[key] = frame.line_no
        if frame.name in ("omm", "segment"):
            record = self.open.pop()
            if record.kind == "segment" or (record.n_segments == 0 and record.fields):
                self.records.append(_Record(record.fields, record.line_no, f"record {len(self.records) + 1}",
                                            record.key_lines.get))

    def characters(self, data: str) -> None:
        if self.frames:
            self.frames[-1].text.append(data)


def _xml_records(text: str, source: str) -> Iterator[_Record | ElementSetError]:
    reader = _XmlReader()
    try:
        reader.parser.Parse(text.encode("utf-8"), True)
    except xml.parsers.expat.ExpatError as exc:
        reason = xml.parsers.expat.ErrorString(exc.code)
        yield ElementSetError(
            f"the file is not valid XML ({reason} at column {exc.offset + 1})\n\n"
            "Expected CCSDS OMM XML as CelesTrak serves it (<ndm><omm>...<segment>...).\n"
            "Re-download the file; a cut-off download is the usual cause.",
            source=source, line_no=exc.lineno, field="XML")
        return
    yield from reader.records


# --- KVN ----------------------------------------------------------------------------------


@dataclass
class _KvnRecord:
    """One OMM of a KVN file while its lines are read."""

    line_no: int
    fields: dict[str, str] = field(default_factory=dict)
    key_lines: dict[str, int] = field(default_factory=dict)
    error: ElementSetError | None = None

    def finish(self) -> _Record | ElementSetError:
        return self.error or _Record(self.fields, self.line_no, "", self.key_lines.get)


def _is_kvn_comment(line: str) -> bool:
    return line == "COMMENT" or line.startswith(("COMMENT ", "COMMENT\t"))


def _kvn_records(text: str, source: str) -> Iterator[_Record | ElementSetError]:
    current: _KvnRecord | None = None
    orphans: list[int] = []  # lines before the first CCSDS_OMM_VERS
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or _is_kvn_comment(line):
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        key = key.upper()
        if key == "CCSDS_OMM_VERS" and sep:
            if orphans:
                yield _kvn_orphans(orphans, source)
                orphans = []
            if current is not None:
                yield current.finish()
            current = _KvnRecord(line_no)
            continue
        if current is None:
            orphans.append(line_no)
            continue
        if current.error is not None:
            continue
        if not sep or not re.fullmatch(r"[A-Z0-9_]+", key):
            current.error = ElementSetError(
                f"line is not 'KEY = value' or a COMMENT line, got {raw!r}\n\n"
                f"Expected:  MEAN_MOTION = 15.49496548\n{_FIX}",
                source=source, line_no=line_no, field="line")
        elif key in current.fields:
            current.error = ElementSetError(
                f"{key} appears twice in the OMM that starts at line {current.line_no} "
                f"(first at line {current.key_lines[key]})\n\n"
                f"Each OMM starts with its own CCSDS_OMM_VERS line.\n{_FIX}",
                source=source, line_no=line_no, field=key)
        else:
            # Only numbers carry a "[unit]" suffix; names such as "STARLINK-11523 [DTC]" keep theirs.
            current.fields[key] = _KVN_UNITS_RE.sub("", value) if key in _NUMBERS else value
            current.key_lines[key] = line_no
    if orphans:
        yield _kvn_orphans(orphans, source)
    if current is not None:
        yield current.finish()


def _kvn_orphans(line_nos: list[int], source: str) -> ElementSetError:
    span = f"lines {line_nos[0]}-{line_nos[-1]} come" if len(line_nos) > 1 else f"line {line_nos[0]} comes"
    return ElementSetError(
        f"{span} before any CCSDS_OMM_VERS line and belong to no OMM\n\n"
        "Each OMM in a KVN file starts with a line such as CCSDS_OMM_VERS = 2.0.\n"
        "Add the line or re-download the set; the OMMs after it were read.",
        source=source, line_no=line_nos[0], field="CCSDS_OMM_VERS")
