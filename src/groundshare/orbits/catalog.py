"""Many element sets at once: load a file in any supported format, keep its errors.

Batch policy (``on_error``): ``"collect"`` (the default) loads the good records and
keeps an ``ElementSetError`` for every bad one in ``catalog.errors``, also issuing one
``ElementSetWarning`` so that nothing is skipped silently; ``"raise"`` raises the first
error after reading the whole file, with the count of the others.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, overload

from groundshare.errors import InvalidInputError
from groundshare.orbits.elements import ElementSet
from groundshare.orbits.tle import ElementSetError, iter_tle_records

ElementFormat = Literal["tle", "json", "csv", "xml", "kvn"]
FORMATS: tuple[str, ...] = ("tle", "json", "csv", "xml", "kvn")


class ElementSetWarning(UserWarning):
    """Some records of an element file were bad and were not loaded."""


@dataclass
class ElementCatalog(Sequence[ElementSet]):
    """Element sets in file order, with the errors of the records that failed."""

    elements: list[ElementSet]
    errors: list[ElementSetError] = field(default_factory=list)
    source: str = ""

    @overload
    def __getitem__(self, index: int) -> ElementSet: ...
    @overload
    def __getitem__(self, index: slice) -> ElementCatalog: ...
    def __getitem__(self, index: int | slice) -> ElementSet | ElementCatalog:
        if isinstance(index, slice):
            return ElementCatalog(self.elements[index], [], self.source)
        return self.elements[index]

    def __len__(self) -> int:
        return len(self.elements)

    def __iter__(self) -> Iterator[ElementSet]:
        return iter(self.elements)

    def by_norad_id(self, norad_id: int) -> ElementSet:
        """Return the newest element set of ``norad_id``."""
        matches = [e for e in self.elements if e.norad_id == norad_id]
        if not matches:
            from groundshare.errors import NotFoundError

            raise NotFoundError(f"no element set for NORAD {norad_id} in {self.source or 'the catalog'}")
        return max(matches, key=lambda e: e.epoch)

    def newest(self) -> ElementCatalog:
        """Return one element set per NORAD id, the newest, in first-seen order."""
        best: dict[int, ElementSet] = {}
        for e in self.elements:
            if e.norad_id not in best or e.epoch > best[e.norad_id].epoch:
                best[e.norad_id] = e
        return ElementCatalog(list(best.values()), list(self.errors), self.source)

    def error_report(self) -> str:
        """Return every error as one text block, or ``""`` when there are none."""
        return "\n\n".join(str(e) for e in self.errors)


def detect_format(text: str) -> ElementFormat:
    """Return the element format of ``text`` from its first non-blank characters."""
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith(("{", "[")):
        return "json"
    if head.startswith("<"):
        return "xml"
    first_line = head.split("\n", 1)[0]
    if first_line.startswith("CCSDS_OMM_VERS") or "CCSDS_OMM_VERS" in head[:2000]:
        return "kvn"
    if "," in first_line and ("NORAD_CAT_ID" in first_line or "OBJECT_NAME" in first_line):
        return "csv"
    return "tle"


def parse_elements(text: str, *, source: str = "", fmt: ElementFormat | None = None,
                   on_error: Literal["collect", "raise"] = "collect") -> ElementCatalog:
    """Return the element sets in ``text`` (TLE/3LE or OMM JSON/CSV/XML/KVN)."""
    fmt = fmt or detect_format(text)
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown element format {fmt!r}; expected one of {', '.join(FORMATS)}",
                                loc=("format",))
    records: Iterable[ElementSet | ElementSetError]
    if fmt == "tle":
        records = iter_tle_records(text, source)
    else:
        from groundshare.orbits.omm import iter_omm_records

        records = iter_omm_records(text, source=source, fmt=fmt)
    good: list[ElementSet] = []
    bad: list[ElementSetError] = []
    for record in records:
        (bad if isinstance(record, ElementSetError) else good).append(record)  # type: ignore[arg-type]
    catalog = ElementCatalog(good, bad, source)
    if not good and not bad:
        raise ElementSetError(f"no element sets found (read as {fmt.upper()})", source=source)
    if bad:
        if on_error == "raise":
            first = bad[0]
            more = f"\n\n({len(bad) - 1} more bad record(s) in the same text)" if len(bad) > 1 else ""
            # The first error already names the source and line; all-or-nothing, so nothing was loaded.
            message = str(first).replace("other element sets in the file were loaded.", "nothing was loaded.")
            error = ElementSetError(message + more, field=first.field)
            error.source, error.line_no, error.loc = first.source, first.line_no, first.loc
            raise error from first
        warnings.warn(f"{source or 'element text'}: {len(bad)} of {len(bad) + len(good)} records were bad "
                      f"and not loaded; see catalog.errors", ElementSetWarning, stacklevel=3)
    return catalog


def load_elements(path: str | Path, *, fmt: ElementFormat | None = None,
                  on_error: Literal["collect", "raise"] = "collect") -> ElementCatalog:
    """Return the element sets of a file; the format is detected unless ``fmt`` is given.

    >>> from groundshare.data import data_path
    >>> cubesats = load_elements(data_path("celestrak_cubesat_2025-11-06.tle"))
    >>> len(cubesats), cubesats.errors
    (93, [])
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(f"element file {str(path)!r} does not exist", loc=("file", str(path))) from None
    except IsADirectoryError:
        raise InvalidInputError(f"element file {str(path)!r} is a folder; give a file",
                                loc=("file", str(path))) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ElementSetError(f"is not UTF-8 text (byte {exc.start}); element files are text",
                              source=path.name) from None
    return parse_elements(text, source=path.name, fmt=fmt, on_error=on_error)
