"""A booked contact as the job satnogs-client schedules: the dict its ``get_jobs`` reads.

The client (``satnogsclient/scheduler/tasks.py``, 2.1.4) schedules each job at ``start``,
records until ``end``, tunes to ``frequency`` (Hz, an integer: the transmitter's drift is
already applied), runs the flowgraph of ``mode`` at ``baud`` and points the rotator from
``tle0``/``tle1``/``tle2``, which it reads with PyEphem's ``readtle`` (``observer/orbital.py``,
``observer/worker.py``).  A job it already holds is rescheduled when any field changes,
so a re-planned contact or a fresher orbit reaches it through the next poll.

TLE lines: a set that came as a TLE keeps its own lines; any other (OMM) is written here
(``format_tle``).  Catalog numbers of 100000 to 339999 are written in Alpha-5 (``A0000``
is 100000; I and O are not used), which PyEphem 4.1 reads (it ignores the number and
propagates the elements).  Larger numbers cannot be written in a TLE at all, and the
client reads orbits only as TLE lines: such a contact is refused (``JobRefusedError``) and
left out of the jobs, with the reason.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from groundshare.orbits import ElementSet, parse_elements
from groundshare.orbits.tle import tle_checksum
from groundshare.passes import Site
from groundshare.timeutil import require_utc

#: Alpha-5's first characters, for 10 to 33 ten-thousands (I and O are not used).
ALPHA5_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
#: Largest catalog number a TLE can hold (Alpha-5 ``Z9999``).
MAX_TLE_CATALOG_NUMBER = 339_999
#: Seconds between the samples that find a contact's highest elevation.
MAX_ALTITUDE_STEP_S = 5.0


class JobRefusedError(ValueError):
    """A contact that cannot be a SatNOGS job; the message says why and what to change."""


@dataclass(frozen=True)
class SatnogsJob:
    """One job as satnogs-client reads it (``to_json`` is the dict of the jobs list)."""

    id: int
    start: datetime
    end: datetime
    ground_station: int
    tle0: str
    tle1: str
    tle2: str
    frequency: int
    mode: str
    transmitter: str
    baud: float
    norad_cat_id: int
    max_altitude: float

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "start": _iso(self.start), "end": _iso(self.end), "ground_station": self.ground_station,
                "tle0": self.tle0, "tle1": self.tle1, "tle2": self.tle2, "frequency": self.frequency,
                "mode": self.mode, "transmitter": self.transmitter, "baud": self.baud,
                "norad_cat_id": self.norad_cat_id, "max_altitude": self.max_altitude}


def job_frequency_hz(downlink_frequency_hz: float, drift_ppb: int | None) -> int:
    """Return the job's frequency: the downlink's with the transmitter's drift (parts per billion), in whole Hz."""
    return round(downlink_frequency_hz * (1 + (drift_ppb or 0) / 1e9))


def alpha5(catalog_number: int) -> str:
    """Return the five columns of a TLE's catalog number: digits below 100000, Alpha-5 up to 339999.

    >>> alpha5(25544), alpha5(100000), alpha5(100001), alpha5(339999)
    ('25544', 'A0000', 'A0001', 'Z9999')
    """
    if isinstance(catalog_number, bool) or not isinstance(catalog_number, int) or catalog_number < 0:
        raise JobRefusedError(f"a catalog number is a whole number from 0, got {catalog_number!r}")
    if catalog_number < 100_000:
        return f"{catalog_number:05d}"
    if catalog_number > MAX_TLE_CATALOG_NUMBER:
        raise JobRefusedError(f"catalog number {catalog_number} cannot be written in a TLE (Alpha-5 ends at "
                         f"{MAX_TLE_CATALOG_NUMBER}, Z9999), and satnogs-client reads orbits only as TLE lines; "
                         "this satellite cannot be observed by a SatNOGS station")
    return ALPHA5_LETTERS[catalog_number // 10_000 - 10] + f"{catalog_number % 10_000:04d}"


def format_tle(element_set: ElementSet) -> tuple[str, str]:
    """Return TLE lines 1 and 2 of ``element_set`` (its own lines when it came as a TLE), checksums included.

    ``JobRefusedError`` when it cannot be written (a catalog number above 339999, a first
    derivative of the mean motion of 1 rev/day^2 or more).
    """
    if element_set.line1 is not None and element_set.line2 is not None:
        return element_set.line1, element_set.line2
    number = alpha5(element_set.norad_id)
    epoch = require_utc(element_set.epoch, "epoch").astimezone(UTC)
    year_start = datetime(epoch.year, 1, 1, tzinfo=UTC)
    day = (epoch - year_start).total_seconds() / 86_400.0 + 1.0
    if abs(element_set.mean_motion_dot) >= 1:
        raise JobRefusedError(f"element set of NORAD {element_set.norad_id}: mean_motion_dot "
                         f"{element_set.mean_motion_dot!r} rev/day^2 does not fit a TLE")
    ndot = ("-" if element_set.mean_motion_dot < 0 else " ") + f"{abs(element_set.mean_motion_dot):.8f}"[1:]
    line1 = (f"1 {number}{(element_set.classification or 'U')[:1]} {_designator(element_set.object_id):8} "
             f"{epoch.year % 100:02d}{day:012.8f} {ndot} {_exponent(element_set.mean_motion_ddot)} "
             f"{_exponent(element_set.bstar)} {element_set.ephemeris_type % 10} "
             f"{element_set.element_set_no % 10_000:4d}")
    eccentricity = f"{element_set.eccentricity:.7f}"[2:]
    line2 = (f"2 {number} {element_set.inclination_deg:8.4f} {element_set.raan_deg % 360:8.4f} {eccentricity} "
             f"{element_set.arg_perigee_deg % 360:8.4f} {element_set.mean_anomaly_deg % 360:8.4f} "
             f"{element_set.mean_motion_rev_day:11.8f}{element_set.rev_at_epoch % 100_000:5d}")
    return line1 + str(tle_checksum(line1)), line2 + str(tle_checksum(line2))


def elements_of(text: str, fmt: str | None, *, source: str) -> ElementSet:
    """Return the first element set of ``text`` (as a booking snapshot or a stored set holds it)."""
    return parse_elements(text, source=source, fmt=fmt, on_error="raise").elements[0]  # type: ignore[arg-type]


def satnogs_job(*, contact_id: int, station_id: int, start: datetime, end: datetime, satellite_id: int,
                satellite_name: str, norad_id: int, element_set: ElementSet | None, site: Site,
                downlink_frequency_hz: float | None, drift_ppb: int | None, mode: str | None,
                baud: float | None) -> SatnogsJob:
    """Return the job of one booked contact; ``JobRefusedError`` saying what is missing when it cannot be one."""
    what = f"contact {contact_id} (satellite {satellite_id}, {satellite_name!r})"
    if element_set is None:
        raise JobRefusedError(f"{what}: no element set (neither in its booking nor in force); upload one for the "
                              "satellite")
    if downlink_frequency_hz is None:
        raise JobRefusedError(f"{what}: the satellite has no downlink_frequency_hz; set it (PATCH /satellites/"
                              f"{satellite_id})")
    if mode is None:
        raise JobRefusedError(f"{what}: the satellite has no mode, which satnogs-client needs to pick its flowgraph; "
                              f"set it (PATCH /satellites/{satellite_id})")
    try:
        line1, line2 = format_tle(element_set)
    except JobRefusedError as exc:
        raise JobRefusedError(f"{what}: {exc}") from None
    return SatnogsJob(id=contact_id, start=_whole_second(start), end=_whole_second(end), ground_station=station_id,
                      tle0=satellite_name, tle1=line1, tle2=line2,
                      frequency=job_frequency_hz(downlink_frequency_hz, drift_ppb), mode=mode,
                      transmitter=f"gs-{satellite_id}", baud=float(baud or 0.0), norad_cat_id=norad_id,
                      max_altitude=max_altitude_deg(element_set, site, start, end))


def max_altitude_deg(element_set: ElementSet, site: Site, start: datetime, end: datetime) -> float:
    """Return the highest elevation of the satellite over ``[start, end]`` seen from ``site``, degrees (0.1 deg)."""
    from groundshare.passes.track import sample_window

    duration_s = max((end - start).total_seconds(), 1.0)
    _, tracks = sample_window(element_set, site, start, duration_s, step_s=min(MAX_ALTITUDE_STEP_S, duration_s))
    elevations = tracks.el_deg[tracks.ok]
    if elevations.size == 0:
        return 0.0
    return round(float(np.max(elevations)), 1)


def _exponent(value: float) -> str:
    """Return a TLE's 8-column exponent field: sign, five mantissa digits (0.ddddd) and a signed exponent."""
    if value == 0 or not math.isfinite(value):
        return " 00000-0"
    exponent = math.floor(math.log10(abs(value))) + 1
    mantissa = round(abs(value) / 10.0**exponent * 100_000)
    if mantissa >= 100_000:
        mantissa, exponent = mantissa // 10, exponent + 1
    if exponent < -9:
        return " 00000-0"
    if exponent > 9:
        raise JobRefusedError(f"{value!r} is too large for a TLE's exponent field")
    return f"{'-' if value < 0 else ' '}{mantissa:05d}{'-' if exponent < 0 else '+'}{abs(exponent)}"


def _designator(object_id: str) -> str:
    """Return the TLE's international designator (``98067A``) of an OMM OBJECT_ID (``1998-067A``), or blanks."""
    match = re.fullmatch(r"\d{2}(\d{2})-(\d{3})([A-Z]{1,3})", (object_id or "").strip())
    return "".join(match.groups()) if match else ""


def _whole_second(value: datetime) -> datetime:
    return require_utc(value, "time").astimezone(UTC).replace(microsecond=0)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
