"""The schedule as the agent takes it from ``GET /agent/schedule``: typed, checked and bounded.

Whatever the API (or anything in between) answers, the agent reads it once, through
``AgentSchedule.from_json`` (``AgentApi.schedule`` does), and passes typed contacts on:

- the whole answer is refused (``ScheduleError``, the journal is kept as it is) when it is
  not a schedule at all, when its ``station`` cannot be pointed from (a field missing or
  out of range), or when it lists more than ``MAX_SCHEDULE_CONTACTS`` contacts: 5,000 is
  well above what one station can hold in the agent's 48-hour look-ahead (five
  antennas booked back to back with 5-minute contacts make 2,880), and each contact
  costs a pointing table before its pass, so a larger list is a fault upstream, not work;
- one malformed contact is set aside on its own (``ContactError``, naming the field and
  what was expected: ``contact.ScheduledContact.from_json``) while the others are taken;
  the agent reports it failed with that reason when its ``contact_id`` is readable, and
  logs it otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from groundshare.contact import ContactError, JsonFields, ScheduledContact, StationSnapshot
from groundshare.contact.fields import shown
from groundshare.errors import InvalidInputError

#: Most contacts the agent takes from one ``GET /agent/schedule`` answer (see the module docstring).
MAX_SCHEDULE_CONTACTS = 5_000


class ScheduleError(InvalidInputError):
    """The API's schedule as a whole cannot be used; ``loc`` names the field."""


@dataclass(frozen=True)
class AgentSchedule:
    """One answer of ``GET /agent/schedule``: the station, the window, the usable contacts and the refused ones."""

    station: StationSnapshot
    start: datetime | None
    end: datetime | None
    contacts: list[ScheduledContact]
    rejected: list[ContactError]

    @classmethod
    def from_json(cls, body: Any, *, max_contacts: int = MAX_SCHEDULE_CONTACTS) -> AgentSchedule:
        """Return the schedule ``body`` describes; ``ScheduleError`` when it cannot be used at all.

        Each malformed contact lands in ``rejected`` (the others are still taken).
        """
        if not isinstance(body, Mapping):
            raise ScheduleError(f"the schedule must be a JSON object, got {shown(body)}", loc=("body",))
        station = body.get("station")
        if not isinstance(station, Mapping):
            raise ScheduleError(f"the schedule's station must be a JSON object, got {shown(station)}",
                                loc=("station",))
        if isinstance(station.get("id"), bool) or not isinstance(station.get("id"), int):
            raise ScheduleError(f"the schedule's station.id must be a whole number, got {shown(station.get('id'))}",
                                loc=("station", "id"))
        fields = JsonFields(lambda message, loc: ScheduleError(message, loc=loc))
        where = StationSnapshot.from_json(station, fields=fields)
        data = body.get("data")
        if not isinstance(data, list):
            raise ScheduleError(f"the schedule's data must be a list of contacts, got {shown(data)}", loc=("data",))
        if len(data) > max_contacts:
            raise ScheduleError(f"the schedule lists {len(data)} contacts, more than the {max_contacts} the agent "
                                "takes at once (MAX_SCHEDULE_CONTACTS); this is a fault of the API or of its "
                                "bookings: nothing was taken, the journal is kept as it was", loc=("data",))
        start = fields.optional_time(body, "start")
        end = fields.optional_time(body, "end")
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
        return cls(station=where, start=start, end=end, contacts=contacts, rejected=rejected)
