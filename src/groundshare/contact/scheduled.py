"""A contact as ``GET /agent/schedule`` lists it: what the station agent executes, typed and checked.

The API builds each entry of its answer from the contact, its antenna and satellite as
they are now, and the element set of its booking snapshot; the station agent reads each
entry once, with ``ScheduledContact.from_json``, and passes the typed contact on (to its
journal, its pass executor, its reports).  A malformed entry raises ``ContactError``
naming the contact and the field, with what was expected; every field but
``contact_id``, ``start`` and ``end`` may be null where the API has nothing to say.

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

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from groundshare.contact.fields import JsonFields, shown
from groundshare.contact.search import SearchPattern
from groundshare.contact.snapshot import ElementSetSnapshot
from groundshare.errors import InvalidInputError
from groundshare.timeutil import format_utc
from groundshare.units import HOUR_S

#: Longest contact the agent executes (seconds): 12 h, far above any pass of a low orbit.
MAX_CONTACT_S = 12 * HOUR_S
#: Longest element-set text of one contact (characters): a TLE is 3 lines, an OMM a few kB.
MAX_ELEMENT_TEXT = 100_000


class ContactError(InvalidInputError):
    """One contact of the schedule cannot be used; ``contact_id`` is its id when that at least is readable."""

    def __init__(self, message: str, *, loc: tuple[str, ...] = (), contact_id: int | None = None) -> None:
        super().__init__(message, loc=loc)
        self.contact_id = contact_id
        self.body: Any = None  # the entry as the API sent it (set by the agent's ``AgentSchedule.from_json``)


@dataclass(frozen=True)
class ScheduledAntenna:
    """The antenna as it is now (its hardware), slew rates in degrees per second; None where the API did not say."""

    id: int | None = None
    name: str | None = None
    band: str | None = None
    setup_s: float | None = None
    turnaround_s: float | None = None
    az_slew_deg_s: float | None = None
    el_slew_deg_s: float | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any], *, fields: JsonFields | None = None,
                  path: str = "antenna") -> ScheduledAntenna:
        fields = fields or JsonFields()
        return cls(id=fields.whole(body, f"{path}.id", minimum=1), name=fields.text(body, f"{path}.name", 200),
                   band=fields.text(body, f"{path}.band", 16), setup_s=fields.nonnegative(body, f"{path}.setup_s"),
                   turnaround_s=fields.nonnegative(body, f"{path}.turnaround_s"),
                   az_slew_deg_s=fields.positive(body, f"{path}.az_slew_deg_s"),
                   el_slew_deg_s=fields.positive(body, f"{path}.el_slew_deg_s"))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "band": self.band, "setup_s": self.setup_s,
                "turnaround_s": self.turnaround_s, "az_slew_deg_s": self.az_slew_deg_s,
                "el_slew_deg_s": self.el_slew_deg_s}


@dataclass(frozen=True)
class ScheduledSatellite:
    """The satellite as it is now, with its nominal downlink and uplink frequencies; None where unknown."""

    id: int | None = None
    norad_id: int | None = None
    name: str | None = None
    downlink_frequency_hz: float | None = None
    uplink_frequency_hz: float | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any], *, fields: JsonFields | None = None,
                  path: str = "satellite") -> ScheduledSatellite:
        fields = fields or JsonFields()
        return cls(id=fields.whole(body, f"{path}.id", minimum=1),
                   norad_id=fields.whole(body, f"{path}.norad_id", minimum=1),
                   name=fields.text(body, f"{path}.name", 200),
                   downlink_frequency_hz=fields.positive(body, f"{path}.downlink_frequency_hz"),
                   uplink_frequency_hz=fields.positive(body, f"{path}.uplink_frequency_hz"))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "norad_id": self.norad_id, "name": self.name,
                "downlink_frequency_hz": self.downlink_frequency_hz, "uplink_frequency_hz": self.uplink_frequency_hz}


@dataclass(frozen=True)
class ScheduledContact:
    """One contact the agent may execute: its window, antenna, satellite and the element set it was planned with.

    ``element_set`` is None where the contact was booked without one (or the API sent
    no text).  ``search_pattern`` is the antenna search pattern of a launch-and-early-orbit
    contact (``contact.search``), None for a routine one.  ``body`` is the entry as the
    API sent it: ``to_json`` gives it back (so a field this agent does not know survives
    its journal) with ``contact_id`` and the window as this contact holds them, times as
    ``format_utc`` writes them.
    """

    contact_id: int
    start: datetime
    end: datetime
    status: str | None = None
    org_id: int | None = None
    busy_until: datetime | None = None
    antenna: ScheduledAntenna = field(default_factory=ScheduledAntenna)
    satellite: ScheduledSatellite = field(default_factory=ScheduledSatellite)
    element_set: ElementSetSnapshot | None = None
    search_pattern: SearchPattern | None = None
    uplink: bool = False
    body: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def az_slew_deg_s(self) -> float | None:
        return self.antenna.az_slew_deg_s

    @property
    def el_slew_deg_s(self) -> float | None:
        return self.antenna.el_slew_deg_s

    @property
    def norad_id(self) -> int | None:
        return self.satellite.norad_id

    @property
    def satellite_name(self) -> str | None:
        return self.satellite.name

    @property
    def downlink_frequency_hz(self) -> float | None:
        return self.satellite.downlink_frequency_hz

    @property
    def uplink_frequency_hz(self) -> float | None:
        return self.satellite.uplink_frequency_hz

    @property
    def element_text(self) -> str | None:
        return self.element_set.text if self.element_set is not None else None

    @classmethod
    def from_json(cls, body: Any, *, index: int | None = None) -> ScheduledContact:
        """Return the contact ``body`` describes; ``ContactError`` naming the first bad field.

        ``index`` (its position in the schedule's ``data``) names the entry when its
        ``contact_id`` is unreadable.
        """
        where = f"schedule entry {index}" if index is not None else "schedule entry"
        if not isinstance(body, Mapping):
            raise ContactError(f"{where} must be a JSON object, got {shown(body)}", loc=("data", str(index)))
        contact_id = body.get("contact_id")
        if isinstance(contact_id, bool) or not isinstance(contact_id, int) or contact_id < 1:
            raise ContactError(f"{where}: contact_id must be a whole number of at least 1, got {shown(contact_id)}",
                               loc=("data", str(index), "contact_id"))
        fields = JsonFields(lambda message, loc: ContactError(f"contact {contact_id}: {message}", loc=loc,
                                                              contact_id=contact_id))
        start = fields.time(body, "start")
        end = fields.time(body, "end")
        if end <= start:
            fields.fail("end", f"end ({format_utc(end)}) must be after start ({format_utc(start)})")
        if (end - start).total_seconds() > MAX_CONTACT_S:
            fields.fail("end", f"the contact lasts {(end - start).total_seconds():.0f} s, more than the "
                               f"{MAX_CONTACT_S:.0f} s the agent executes (start {format_utc(start)}, end "
                               f"{format_utc(end)})")
        antenna = fields.object(body, "antenna")
        satellite = fields.object(body, "satellite")
        element_set = fields.object(body, "element_set")
        # An element set without text is no element set to point with: the contact then fails alone.
        text = fields.text(element_set, "element_set.text", MAX_ELEMENT_TEXT)
        pattern = body.get("search_pattern")
        return cls(
            contact_id=contact_id, start=start, end=end,
            status=fields.text(body, "status", 20), org_id=fields.whole(body, "org_id", minimum=1),
            busy_until=fields.optional_time(body, "busy_until"),
            antenna=ScheduledAntenna.from_json(antenna, fields=fields),
            satellite=ScheduledSatellite.from_json(satellite, fields=fields),
            element_set=ElementSetSnapshot.from_json(element_set, fields=fields, max_text=MAX_ELEMENT_TEXT)
            if text is not None else None,
            search_pattern=SearchPattern.from_json(pattern, fields=fields) if pattern is not None else None,
            uplink=_flag(body, "uplink", fields), body=body)

    def to_json(self) -> dict[str, Any]:
        """Return the contact in the API's shape (see the class docstring)."""
        typed = {"contact_id": self.contact_id, "status": self.status, "org_id": self.org_id,
                 "start": format_utc(self.start), "end": format_utc(self.end),
                 "busy_until": format_utc(self.busy_until) if self.busy_until is not None else None,
                 "antenna": self.antenna.to_json(), "satellite": self.satellite.to_json(),
                 "element_set": self.element_set.to_json() if self.element_set is not None else None,
                 "search_pattern": self.search_pattern.to_json() if self.search_pattern is not None else None,
                 "uplink": self.uplink}
        return {**typed, **self.body, "contact_id": self.contact_id, "start": typed["start"], "end": typed["end"]}


def _flag(body: Mapping[str, Any], name: str, fields: JsonFields) -> bool:
    """Return the optional boolean ``name`` of ``body`` (absent or null: False)."""
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        fields.fail(name, f"{name} must be true or false, got {shown(value)}")
    return bool(value)
