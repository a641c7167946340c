"""The contracts of a booked contact that cross a process boundary, as frozen dataclasses.

- ``snapshot``: what a contact records at booking (``BookingSnapshot``: station,
  antenna, satellite, element set), written by the store into the contact's
  ``snapshot`` column and read back by the API;
- ``scheduled``: a contact as ``GET /agent/schedule`` lists it (``ScheduledContact``),
  built by the API and read by the station agent;
- ``search``: the antenna search pattern of a launch-and-early-orbit contact
  (``SearchPattern``), part of its schedule entry;
- ``fields``: the field-by-field reads their ``from_json`` share, with errors naming
  the field.

Each has ``from_json`` (refusing a malformed document with the field at fault) and
``to_json``.  Nothing here needs a database, a web framework or an HTTP client.
"""

from groundshare.contact.fields import JsonFields
from groundshare.contact.scheduled import (
    MAX_CONTACT_S,
    MAX_ELEMENT_TEXT,
    ContactError,
    ScheduledAntenna,
    ScheduledContact,
    ScheduledSatellite,
)
from groundshare.contact.search import SearchPattern, SearchSweep, SearchWait
from groundshare.contact.snapshot import (
    AntennaSnapshot,
    BookingSnapshot,
    ElementSetSnapshot,
    SatelliteSnapshot,
    SnapshotError,
    StationSnapshot,
)

__all__ = [
    "MAX_CONTACT_S",
    "MAX_ELEMENT_TEXT",
    "AntennaSnapshot",
    "BookingSnapshot",
    "ContactError",
    "ElementSetSnapshot",
    "JsonFields",
    "SatelliteSnapshot",
    "ScheduledAntenna",
    "ScheduledContact",
    "ScheduledSatellite",
    "SearchPattern",
    "SearchSweep",
    "SearchWait",
    "SnapshotError",
    "StationSnapshot",
]
