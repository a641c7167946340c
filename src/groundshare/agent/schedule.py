"""The schedule as the agent takes it from ``GET /agent/schedule``: typed, checked and bounded.

Whatever the API (or anything in between) answers, the agent reads it through
``AgentSchedule.from_json``, never with ``dict[...]`` in the execution loop:

- the whole answer is refused (``ScheduleError``, the journal is kept as it is) when it is
  not a schedule at all, when its ``station`` cannot be pointed from (a field missing or
  out of range), or when it lists more than ``MAX_SCHEDULE_CONTACTS`` contacts: 5,000 is
  well above what one station can hold in the agent's 48-hour look-ahead (five
  antennas booked back to back with 5-minute contacts make 2,880), and each contact
  costs a pointing table before its pass, so a larger list is a fault upstream, not work;
- one malformed contact is set aside on its own (``ContactError``, naming the field and
  what was expected) while the others are taken; the agent reports it failed with that
  reason when its ``contact_id`` is readable, and logs it otherwise.

A contact longer than ``MAX_CONTACT_S`` is malformed too: its 1 Hz pointing table would
not be a pass (the API books at most an hour).

>>> contact = ScheduledContact.from_json({"contact_id": 7, "start": "2025-11-07T03:00:00Z",
...                                       "end": "2025-11-07T03:08:00Z"})
>>> contact.duration_s
480.0
>>> try:
...     ScheduledContact.from_json({"contact_id": 7, "start": "soon", "end": "2025-11-07T03:08:00Z"})
... except ContactError as exc:
...     print(exc.loc, exc)
('start',) contact 7: start must be an ISO 8601 UTC time such as 2025-11-07T03:12:00Z, got 'soon'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

from groundshare.errors import InvalidInputError
from groundshare.timeutil import format_utc, parse_utc

#: Most contacts the agent takes from one ``GET /agent/schedule`` answer (see the module docstring).
MAX_SCHEDULE_CONTACTS = 5_000
#: Longest contact the agent executes (seconds): 12 h, far above any pass of a low orbit.
MAX_CONTACT_S = 12 * 3600.0
#: Longest element-set text of one contact (characters): a TLE is 3 lines, an OMM a few kB.
MAX_ELEMENT_TEXT = 100_000

_TIME_EXAMPLE = "2025-11-07T03:12:00Z"


class ScheduleError(InvalidInputError):
    """The API's schedule as a whole cannot be used; ``loc`` names the field."""


class ContactError(InvalidInputError):
    """One contact of the schedule cannot be used; ``contact_id`` is its id when that at least is readable."""

    def __init__(self, message: str, *, loc: tuple[str, ...] = (), contact_id: int | None = None) -> None:
        super().__init__(message, loc=loc)
        self.contact_id = contact_id
        self.body: Any = None  # the entry as the API sent it (set by ``AgentSchedule.from_json``)


@dataclass(frozen=True)
class ScheduledContact:
    """One contact the agent may execute: its id, its window and what pointing and tuning need.

    ``to_json`` gives the API's shape back (with times as ``format_utc`` writes them and
    every field the API sent, checked or not), which is what the journal keeps.
    """

    contact_id: int
    start: datetime
    end: datetime
    az_slew_deg_s: float | None = None
    el_slew_deg_s: float | None = None
    norad_id: int | None = None
    satellite_name: str | None = None
    downlink_frequency_hz: float | None = None
    uplink_frequency_hz: float | None = None
    element_text: str | None = None
    body: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()

    @classmethod
    def from_json(cls, body: Any, *, index: int | None = None) -> ScheduledContact:
        """Return the contact ``body`` describes; ``ContactError`` naming the first bad field.

        ``index`` (its position in the schedule's ``data``) names the entry when its
        ``contact_id`` is unreadable.
        """
        where = f"schedule entry {index}" if index is not None else "schedule entry"
        if not isinstance(body, dict):
            raise ContactError(f"{where} must be a JSON object, got {_shown(body)}", loc=("data", str(index)))
        contact_id = body.get("contact_id")
        if isinstance(contact_id, bool) or not isinstance(contact_id, int) or contact_id < 1:
            raise ContactError(f"{where}: contact_id must be a whole number of at least 1, got {_shown(contact_id)}",
                               loc=("data", str(index), "contact_id"))
        check = _Checker(f"contact {contact_id}", contact_id)
        start = check.time(body, "start")
        end = check.time(body, "end")
        if end <= start:
            check.fail("end", f"end ({format_utc(end)}) must be after start ({format_utc(start)})")
        if (end - start).total_seconds() > MAX_CONTACT_S:
            check.fail("end", f"the contact lasts {(end - start).total_seconds():.0f} s, more than the "
                              f"{MAX_CONTACT_S:.0f} s the agent executes (start {format_utc(start)}, end "
                              f"{format_utc(end)})")
        antenna = check.object(body, "antenna")
        satellite = check.object(body, "satellite")
        element_set = check.object(body, "element_set")
        text = check.text(element_set, "element_set", "text", MAX_ELEMENT_TEXT) if element_set else None
        norad_id = satellite.get("norad_id")
        if norad_id is not None and (isinstance(norad_id, bool) or not isinstance(norad_id, int) or norad_id < 1):
            check.fail("satellite.norad_id", f"satellite.norad_id must be a whole number of at least 1 or null, "
                                             f"got {_shown(norad_id)}")
        return cls(
            contact_id=contact_id, start=start, end=end,
            az_slew_deg_s=check.positive(antenna, "antenna", "az_slew_deg_s"),
            el_slew_deg_s=check.positive(antenna, "antenna", "el_slew_deg_s"),
            norad_id=norad_id,
            satellite_name=check.text(satellite, "satellite", "name", 200),
            downlink_frequency_hz=check.positive(satellite, "satellite", "downlink_frequency_hz"),
            uplink_frequency_hz=check.positive(satellite, "satellite", "uplink_frequency_hz"),
            element_text=text, body=body)

    def to_json(self) -> dict[str, Any]:
        """Return the contact in the API's shape, times normalised to ``format_utc``."""
        return {**self.body, "contact_id": self.contact_id, "start": format_utc(self.start),
                "end": format_utc(self.end)}


@dataclass(frozen=True)
class AgentSchedule:
    """One answer of ``GET /agent/schedule``: the station, the window, the usable contacts and the refused ones."""

    station: dict[str, Any]
    start: datetime | None
    end: datetime | None
    contacts: list[ScheduledContact]
    rejected: list[ContactError]

    @classmethod
    def from_json(cls, body: Any, *, max_contacts: int = MAX_SCHEDULE_CONTACTS) -> AgentSchedule:
        """Return the schedule ``body`` describes; ``ScheduleError`` when it cannot be used at all.

        Each malformed contact lands in ``rejected`` (the others are still taken).
        """
        if not isinstance(body, dict):
            raise ScheduleError(f"the schedule must be a JSON object, got {_shown(body)}", loc=("body",))
        station = body.get("station")
        if not isinstance(station, dict):
            raise ScheduleError(f"the schedule's station must be a JSON object, got {_shown(station)}",
                                loc=("station",))
        check = _Checker("the schedule's station", None, error=ScheduleError)
        if isinstance(station.get("id"), bool) or not isinstance(station.get("id"), int):
            check.fail("station.id", f"the schedule's station.id must be a whole number, got "
                                     f"{_shown(station.get('id'))}")
        check.text(station, "station", "name", 200, required=True)
        for name, low, high in (("lat_deg", -90.0, 90.0), ("lon_deg", -180.0, 180.0), ("alt_m", -500.0, 10_000.0),
                                ("min_elevation_deg", -90.0, 90.0)):
            check.number(station, "station", name, low, high, required=name != "min_elevation_deg")
        data = body.get("data")
        if not isinstance(data, list):
            raise ScheduleError(f"the schedule's data must be a list of contacts, got {_shown(data)}", loc=("data",))
        if len(data) > max_contacts:
            raise ScheduleError(f"the schedule lists {len(data)} contacts, more than the {max_contacts} the agent "
                                "takes at once (MAX_SCHEDULE_CONTACTS); this is a fault of the API or of its "
                                "bookings: nothing was taken, the journal is kept as it was", loc=("data",))
        window = _Checker("the schedule", None, error=ScheduleError)
        start = window.time(body, "start") if body.get("start") is not None else None
        end = window.time(body, "end") if body.get("end") is not None else None
        contacts: list[ScheduledContact] = []
        rejected: list[ContactError] = []
        seen: set[int] = set()
        for index, entry in enumerate(data):
            try:
                contact = ScheduledContact.from_json(entry, index=index)
            except ContactError as exc:
                exc.body = entry
                rejected.append(exc)
                continue
            if contact.contact_id in seen:
                rejected.append(ContactError(f"schedule entry {index}: contact {contact.contact_id} is listed twice; "
                                             "the first entry is kept", loc=("data", str(index), "contact_id")))
                continue
            seen.add(contact.contact_id)
            contacts.append(contact)
        return cls(station=station, start=start, end=end, contacts=contacts, rejected=rejected)


class _Checker:
    """Field checks that raise ``error`` naming ``what`` and the field (``object.field``)."""

    def __init__(self, what: str, contact_id: int | None, *, error: type[InvalidInputError] = ContactError) -> None:
        self.what = what
        self.contact_id = contact_id
        self.error = error

    def fail(self, name: str, message: str) -> NoReturn:
        loc = tuple(name.split("."))
        if self.error is ContactError:
            raise ContactError(f"{self.what}: {message}", loc=loc, contact_id=self.contact_id)
        raise self.error(message, loc=loc)

    def time(self, body: dict[str, Any], name: str) -> datetime:
        value = body.get(name)
        if isinstance(value, str):
            try:
                return parse_utc(value, name, allow_now=False)
            except InvalidInputError:
                pass
        self.fail(name, f"{name} must be an ISO 8601 UTC time such as {_TIME_EXAMPLE}, got {_shown(value)}")

    def object(self, body: dict[str, Any], name: str) -> dict[str, Any]:
        value = body.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(name, f"{name} must be a JSON object or null, got {_shown(value)}")
        return value

    def positive(self, body: dict[str, Any], owner: str, name: str) -> float | None:
        value = body.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
            self.fail(f"{owner}.{name}", f"{owner}.{name} must be a positive number or null, got {_shown(value)}")
        return float(value)

    def number(self, body: dict[str, Any], owner: str, name: str, low: float, high: float, *,
               required: bool) -> float | None:
        value = body.get(name)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                or not low <= value <= high:
            self.fail(f"{owner}.{name}", f"{owner}.{name} must be a number from {low:g} to {high:g}, "
                                         f"got {_shown(value)}")
        return float(value)

    def text(self, body: dict[str, Any], owner: str, name: str, max_length: int, *,
             required: bool = False) -> str | None:
        value = body.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip() or len(value) > max_length:
            self.fail(f"{owner}.{name}", f"{owner}.{name} must be text of 1 to {max_length} characters"
                                         f"{'' if required else ' or null'}, got {_shown(value)}")
        return value


def _shown(value: Any, limit: int = 80) -> str:
    """Return ``repr(value)`` cut to ``limit`` characters, naming its JSON type when it is not text or a number."""
    kind = {dict: "an object ", list: "a list "}.get(type(value), "")
    text = repr(value)
    return kind + (text if len(text) <= limit else text[:limit] + "...")
