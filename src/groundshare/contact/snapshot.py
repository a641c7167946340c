"""What a contact records at booking: the station, antenna, satellite and element set it was planned with.

The store writes ``BookingSnapshot.to_json()`` into the contact's ``snapshot`` column
when it books the contact (``store.booking``), so later edits of those rows do not
rewrite what the contact was planned with; the API reads it back with ``from_json``
(a contact's geometry, the element set the station agent propagates).

``from_json`` reads every snapshot the store has written: the antenna's radio and slew
parameters are absent from snapshots older than revision 0002 (None), snapshots older
than revision 0005 spell the antenna's G/T ``g_over_t_db_k`` (either spelling is read),
``element_set`` is null for a satellite that had none, and a contact written without a
snapshot (``{}``) has no part at all (each part None).  A stored snapshot that does not
have this form raises ``SnapshotError`` naming the contact and the field.

>>> snapshot = BookingSnapshot.from_json({"antenna": {"id": 5, "name": "uhf", "band": "uhf", "setup_s": 30.0,
...                                                   "turnaround_s": 60.0, "g_over_t_db_k": -12.5}})
>>> snapshot.antenna.g_over_t_dbk, snapshot.station, snapshot.element_set
(-12.5, None, None)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from groundshare.contact.fields import JsonFields, shown
from groundshare.errors import InvalidInputError
from groundshare.timeutil import require_utc

if TYPE_CHECKING:
    from groundshare.passes import Site


class SnapshotError(InvalidInputError):
    """A stored booking snapshot does not have the form ``BookingSnapshot`` reads; ``loc`` names the field."""


@dataclass(frozen=True)
class StationSnapshot:
    """A station's place and what it can see: also the station of ``GET /agent/schedule``.

    ``horizon_mask`` holds ``(az_deg, min_el_deg)`` pairs, azimuth clockwise from north
    (``passes.HorizonMask`` checks them when the mask is used).
    """

    id: int
    name: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    min_elevation_deg: float = 0.0
    horizon_mask: tuple[tuple[float, float], ...] | None = None

    @classmethod
    def from_json(cls, body: Any, *, fields: JsonFields | None = None, path: str = "station") -> StationSnapshot:
        """Return the station ``body`` describes; ``fields``' error names the first bad field (under ``path``)."""
        fields = fields or JsonFields()
        body = _object(body, fields, path)
        station_id = fields.whole(body, f"{path}.id", required=True)
        name = fields.text(body, f"{path}.name", 200, required=True)
        lat_deg, lon_deg, alt_m, min_elevation_deg = (
            fields.number(body, f"{path}.{key}", low, high, required=key != "min_elevation_deg")
            for key, low, high in (("lat_deg", -90.0, 90.0), ("lon_deg", -180.0, 180.0), ("alt_m", -500.0, 10_000.0),
                                   ("min_elevation_deg", -90.0, 90.0)))
        return cls(id=station_id, name=name, lat_deg=lat_deg, lon_deg=lon_deg, alt_m=alt_m,
                   min_elevation_deg=min_elevation_deg if min_elevation_deg is not None else 0.0,
                   horizon_mask=fields.horizon_mask(body, f"{path}.horizon_mask"))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "lat_deg": self.lat_deg, "lon_deg": self.lon_deg,
                "alt_m": self.alt_m, "min_elevation_deg": self.min_elevation_deg,
                "horizon_mask": [list(pair) for pair in self.horizon_mask] if self.horizon_mask is not None else None}

    def to_site(self) -> Site:
        """Return the pass engine's ``Site`` of the station, named as the station is."""
        from groundshare.passes import Site  # the pass engine only where a pass is computed

        return Site(self.name, lat_deg=self.lat_deg, lon_deg=self.lon_deg, alt_m=self.alt_m,
                    min_elevation_deg=self.min_elevation_deg, horizon_mask=self.horizon_mask)


@dataclass(frozen=True)
class AntennaSnapshot:
    """An antenna's hardware at booking; radio and slew parameters None where the owner had not said."""

    id: int
    name: str
    band: str
    setup_s: float
    turnaround_s: float
    g_over_t_dbk: float | None = None
    eirp_dbw: float | None = None
    az_slew_deg_s: float | None = None
    el_slew_deg_s: float | None = None

    @classmethod
    def from_json(cls, body: Any, *, fields: JsonFields | None = None, path: str = "antenna") -> AntennaSnapshot:
        """Return the antenna ``body`` describes (G/T under either spelling; see the module docstring)."""
        fields = fields or JsonFields()
        body = _object(body, fields, path)
        # Snapshots made before revision 0005 spell it g_over_t_db_k.
        g_over_t = "g_over_t_dbk" if "g_over_t_dbk" in body else "g_over_t_db_k"
        return cls(
            id=fields.whole(body, f"{path}.id", required=True),
            name=fields.text(body, f"{path}.name", 200, required=True),
            band=fields.text(body, f"{path}.band", 16, required=True),
            setup_s=fields.nonnegative(body, f"{path}.setup_s", required=True),
            turnaround_s=fields.nonnegative(body, f"{path}.turnaround_s", required=True),
            g_over_t_dbk=fields.number(body, f"{path}.{g_over_t}"),
            eirp_dbw=fields.number(body, f"{path}.eirp_dbw"),
            az_slew_deg_s=fields.positive(body, f"{path}.az_slew_deg_s"),
            el_slew_deg_s=fields.positive(body, f"{path}.el_slew_deg_s"))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "band": self.band, "setup_s": self.setup_s,
                "turnaround_s": self.turnaround_s, "g_over_t_dbk": self.g_over_t_dbk, "eirp_dbw": self.eirp_dbw,
                "az_slew_deg_s": self.az_slew_deg_s, "el_slew_deg_s": self.el_slew_deg_s}


@dataclass(frozen=True)
class SatelliteSnapshot:
    """Which satellite the contact was booked for."""

    id: int
    norad_id: int
    name: str

    @classmethod
    def from_json(cls, body: Any, *, fields: JsonFields | None = None, path: str = "satellite") -> SatelliteSnapshot:
        fields = fields or JsonFields()
        body = _object(body, fields, path)
        return cls(id=fields.whole(body, f"{path}.id", required=True),
                   norad_id=fields.whole(body, f"{path}.norad_id", minimum=1, required=True),
                   name=fields.text(body, f"{path}.name", 200, required=True))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "norad_id": self.norad_id, "name": self.name}


@dataclass(frozen=True)
class ElementSetSnapshot:
    """The element set a contact was planned with, as uploaded: ``text`` in ``format`` (``orbits.parse_elements``).

    ``id``, ``epoch`` and ``format`` are None where the sender did not say; ``epoch`` is
    written as ``datetime.isoformat`` writes it, as the store always has.
    """

    text: str
    id: int | None = None
    epoch: datetime | None = None
    format: str | None = None

    @classmethod
    def from_json(cls, body: Any, *, fields: JsonFields | None = None, path: str = "element_set",
                  max_text: int | None = None) -> ElementSetSnapshot:
        """Return the element set ``body`` describes; its text is refused past ``max_text`` characters."""
        fields = fields or JsonFields()
        body = _object(body, fields, path)
        return cls(text=fields.text(body, f"{path}.text", max_text, required=True),
                   id=fields.whole(body, f"{path}.id", minimum=1),
                   epoch=fields.optional_time(body, f"{path}.epoch"),
                   format=fields.text(body, f"{path}.format", 16))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "epoch": require_utc(self.epoch, "epoch").isoformat() if self.epoch else None,
                "format": self.format, "text": self.text}


@dataclass(frozen=True)
class BookingSnapshot:
    """The inputs a contact was planned with, as they were when it was booked (see the module docstring)."""

    station: StationSnapshot | None
    antenna: AntennaSnapshot | None
    satellite: SatelliteSnapshot | None
    element_set: ElementSetSnapshot | None

    @classmethod
    def from_json(cls, body: Any, *, contact_id: int | None = None) -> BookingSnapshot:
        """Return the snapshot ``body`` (a contact's ``snapshot`` column) holds; ``SnapshotError`` names the field.

        ``contact_id`` names the contact in the error.
        """
        what = f"contact {contact_id}'s booking snapshot" if contact_id is not None else "the booking snapshot"
        fields = JsonFields(lambda message, loc: SnapshotError(f"{what}: {message}", loc=("snapshot", *loc)))
        if not isinstance(body, Mapping):
            raise SnapshotError(f"{what} must be a JSON object, got {shown(body)}", loc=("snapshot",))

        def part(name: str) -> Any:
            value = body.get(name)
            return value if value else None  # absent, null or {}: the contact was booked without it

        station, antenna, satellite, element_set = (part(name) for name in ("station", "antenna", "satellite",
                                                                            "element_set"))
        return cls(
            station=StationSnapshot.from_json(station, fields=fields) if station is not None else None,
            antenna=AntennaSnapshot.from_json(antenna, fields=fields) if antenna is not None else None,
            satellite=SatelliteSnapshot.from_json(satellite, fields=fields) if satellite is not None else None,
            element_set=ElementSetSnapshot.from_json(element_set, fields=fields) if element_set is not None else None)

    def to_json(self) -> dict[str, Any]:
        """Return the snapshot as the store keeps it: every part, ``element_set`` null where there was none."""
        return {"station": self.station.to_json() if self.station is not None else None,
                "antenna": self.antenna.to_json() if self.antenna is not None else None,
                "satellite": self.satellite.to_json() if self.satellite is not None else None,
                "element_set": self.element_set.to_json() if self.element_set is not None else None}


def _object(body: Any, fields: JsonFields, path: str) -> Mapping[str, Any]:
    """Return ``body`` when it is a JSON object; else refuse it naming ``path``."""
    if not isinstance(body, Mapping):
        fields.fail(path, f"{path} must be a JSON object, got {shown(body)}")
    return body
