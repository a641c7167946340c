"""``PassTable``: every pass as a struct of arrays, and ``Pass``, one row of it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, overload

import numpy as np

from groundshare.timeutil import datetime64_to_utc, format_utc

# Column name -> dtype; event times are datetime64[us], UTC by convention (numpy has no zones).
COLUMNS: dict[str, str] = {
    "sat_index": "int32",
    "site_index": "int32",
    "aos": "datetime64[us]",
    "tca": "datetime64[us]",
    "los": "datetime64[us]",
    "max_elevation_deg": "float64",
    "aos_azimuth_deg": "float64",
    "tca_azimuth_deg": "float64",
    "los_azimuth_deg": "float64",
    "clipped_aos": "bool",
    "clipped_los": "bool",
}
JSON_KEYS = ("norad_id", "name", "station", "aos", "tca", "los", "max_elevation_deg",
             "aos_azimuth_deg", "los_azimuth_deg", "duration_s", "clipped")


@dataclass(frozen=True, slots=True)
class Pass:
    """One visibility window of one satellite over one station; times are aware UTC."""

    norad_id: int
    name: str
    station: str
    aos: datetime
    tca: datetime
    los: datetime
    max_elevation_deg: float
    aos_azimuth_deg: float
    tca_azimuth_deg: float
    los_azimuth_deg: float
    clipped_aos: bool
    clipped_los: bool
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        """Return LOS - AOS in seconds."""
        return (self.los - self.aos).total_seconds()

    @property
    def clipped(self) -> bool:
        """Return whether the search window (or an SGP4 failure) cut this pass short."""
        return self.clipped_aos or self.clipped_los

    def to_dict(self) -> dict[str, Any]:
        """Return the pass as JSON-ready values (ISO 8601 UTC with milliseconds and ``Z``)."""
        return {
            "norad_id": self.norad_id, "name": self.name, "station": self.station,
            "aos": format_utc(self.aos), "tca": format_utc(self.tca), "los": format_utc(self.los),
            "max_elevation_deg": round(self.max_elevation_deg, 4),
            "aos_azimuth_deg": round(self.aos_azimuth_deg, 4),
            "los_azimuth_deg": round(self.los_azimuth_deg, 4),
            "duration_s": round(self.duration_s, 3), "clipped": self.clipped,
        } | {name: round(value, 4) for name, value in self.extra.items()}


@dataclass
class PassTable:
    """Passes as a struct of arrays, one entry per pass, sorted by AOS.

    ``aos``, ``tca`` and ``los`` are ``datetime64[us]`` in UTC.  TCA is the time of the
    highest elevation inside the pass: strictly between AOS and LOS for a whole pass
    over a plain horizon, and possibly at AOS or LOS where a mask hides the top.  ``sat_index`` and
    ``site_index`` point into ``norad_ids``/``sat_names`` and ``site_names``.  Columns
    beyond ``COLUMNS`` (added with ``with_columns``, e.g. the link budget's
    ``min_margin_db``) travel with the rows and into JSON and CSV after the standard keys.  A pass
    in progress at the window's start has ``clipped_aos``; one still open at its end
    (or cut by an SGP4 failure) has ``clipped_los``.  ``warnings`` lists what SGP4
    reported about satellites that could not be propagated over the whole window.

    Index it with an int for a ``Pass``, or with a slice, a boolean mask or an index
    array for another ``PassTable``: ``table[table.max_elevation_deg > 30]``.
    """

    columns: dict[str, np.ndarray]
    norad_ids: np.ndarray
    sat_names: list[str]
    site_names: list[str]
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, dtype in COLUMNS.items():
            self.columns[name] = np.asarray(self.columns.get(name, np.empty(0, dtype)), dtype=dtype)
        self.norad_ids = np.asarray(self.norad_ids, dtype=np.int64)

    @classmethod
    def empty(cls, norad_ids: Sequence[int], sat_names: list[str], site_names: list[str]) -> PassTable:
        """Return a table with no passes."""
        return cls({}, np.asarray(norad_ids), sat_names, site_names)

    def __getattr__(self, name: str) -> np.ndarray:
        columns = self.__dict__.get("columns", {})
        if name in columns:
            return columns[name]
        raise AttributeError(name)

    @property
    def norad_id(self) -> np.ndarray:
        """Return the NORAD id of each pass's satellite."""
        return self.norad_ids[self.columns["sat_index"]]

    @property
    def duration_s(self) -> np.ndarray:
        """Return LOS - AOS in seconds for each pass."""
        return (self.columns["los"] - self.columns["aos"]) / np.timedelta64(1, "s")

    @property
    def clipped(self) -> np.ndarray:
        """Return whether each pass was cut by the window (or an SGP4 failure)."""
        return self.columns["clipped_aos"] | self.columns["clipped_los"]

    def __len__(self) -> int:
        return len(self.columns["aos"])

    @property
    def extra_names(self) -> list[str]:
        """Return the names of the columns added with ``with_columns``."""
        return [name for name in self.columns if name not in COLUMNS]

    def with_columns(self, **columns: np.ndarray) -> PassTable:
        """Return a table with more per-pass columns (float arrays of the table's length)."""
        for name, values in columns.items():
            if name in COLUMNS or np.shape(values) != (len(self),):
                raise ValueError(f"column {name!r} must be new and hold one value per pass")
        merged = self.columns | {name: np.asarray(values, dtype=float) for name, values in columns.items()}
        return PassTable(merged, self.norad_ids, self.sat_names, self.site_names, list(self.warnings))

    @overload
    def __getitem__(self, index: int) -> Pass: ...
    @overload
    def __getitem__(self, index: slice | np.ndarray | Sequence[int]) -> PassTable: ...
    def __getitem__(self, index: int | slice | np.ndarray | Sequence[int]) -> Pass | PassTable:
        if isinstance(index, (int, np.integer)):
            return self._row(int(index))
        columns = {name: values[index] for name, values in self.columns.items()}
        return PassTable(columns, self.norad_ids, self.sat_names, self.site_names, list(self.warnings))

    def __iter__(self) -> Iterator[Pass]:
        for i in range(len(self)):
            yield self._row(i)

    def _row(self, i: int) -> Pass:
        c = self.columns
        if not -len(self) <= i < len(self):
            raise IndexError(f"pass {i} of a table of {len(self)}")
        sat = int(c["sat_index"][i])
        return Pass(
            norad_id=int(self.norad_ids[sat]), name=self.sat_names[sat],
            station=self.site_names[int(c["site_index"][i])],
            aos=datetime64_to_utc(c["aos"][i]), tca=datetime64_to_utc(c["tca"][i]),
            los=datetime64_to_utc(c["los"][i]),
            max_elevation_deg=float(c["max_elevation_deg"][i]),
            aos_azimuth_deg=float(c["aos_azimuth_deg"][i]),
            tca_azimuth_deg=float(c["tca_azimuth_deg"][i]),
            los_azimuth_deg=float(c["los_azimuth_deg"][i]),
            clipped_aos=bool(c["clipped_aos"][i]), clipped_los=bool(c["clipped_los"][i]),
            extra={name: float(c[name][i]) for name in self.extra_names},
        )

    def for_station(self, name: str) -> PassTable:
        """Return the passes over the station called ``name``."""
        return self[self.columns["site_index"] == self.site_names.index(name)]

    def for_satellite(self, norad_id: int) -> PassTable:
        """Return the passes of the satellite with ``norad_id``."""
        return self[np.isin(self.columns["sat_index"], np.flatnonzero(self.norad_ids == norad_id))]

    def to_records(self) -> list[dict[str, Any]]:
        """Return one JSON-ready dict per pass (keys as in ``JSON_KEYS``)."""
        return [p.to_dict() for p in self]

    def to_json(self, *, indent: int | None = 2) -> str:
        """Return the passes as a JSON list of objects."""
        return json.dumps(self.to_records(), indent=indent, ensure_ascii=False)

    def to_csv(self) -> str:
        """Return the passes as CSV text with a header row (columns as in ``JSON_KEYS``)."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[*JSON_KEYS, *self.extra_names], lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.to_records())
        return out.getvalue()


def concat_tables(tables: Sequence[PassTable]) -> PassTable:
    """Return one table holding the rows of ``tables`` (which share satellites and sites)."""
    first = tables[0]
    columns = {name: np.concatenate([t.columns[name] for t in tables]) for name in tables[0].columns}
    warnings = [w for t in tables for w in t.warnings]
    return PassTable(columns, first.norad_ids, first.sat_names, first.site_names, warnings)
