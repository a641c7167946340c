"""Tables of the shared network: who owns what, who may use it, and what is booked.

SQLAlchemy 2.0 typed declarative models.  Conventions:

- every instant is a ``UtcDateTime`` (aware UTC in and out; naive refused);
- enumerations are ``StrEnum``s stored as their lower-case value in a ``VARCHAR`` with a
  CHECK constraint (not a PostgreSQL ``ENUM`` type), so SQLite and PostgreSQL hold the
  same text and raw SQL (the booking guards) can compare against it;
- units are in column names (``alt_m``, ``turnaround_s``), as everywhere in groundshare;
- plain invariants are CHECK and UNIQUE constraints; the double-booking guard, which
  needs an exclusion constraint or a trigger, is created by ``store.guards``.

Constraint names follow ``NAMING_CONVENTION`` so that migrations can refer to them.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from groundshare.contact import AntennaSnapshot, ElementSetSnapshot, StationSnapshot
from groundshare.roles import OrgKind, Role
from groundshare.store.types import UtcDateTime
from groundshare.timeutil import utc_now

if TYPE_CHECKING:
    from groundshare.orbits import ElementSet
    from groundshare.passes import Site

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# JSON documents: JSONB on PostgreSQL (compact, comparable, indexable), JSON text on SQLite.
_JSON = JSON().with_variant(JSONB(), "postgresql")
# The same for an optional document: Python None is SQL NULL ("not said"), never the JSON value null.
_NULLABLE_JSON = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class Base(DeclarativeBase):
    """Declarative base: shared metadata, and ``datetime`` annotations map to ``UtcDateTime``."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime(), dict[str, Any]: _JSON, list[Any]: _JSON}


def _enum(cls: type[StrEnum], name: str) -> Enum:
    """Return a portable SQL enum for ``cls``: its values in a VARCHAR plus a CHECK constraint."""
    return Enum(cls, name=name, native_enum=False, create_constraint=True, length=16,
                values_callable=lambda members: [m.value for m in members], validate_strings=True)


class Band(StrEnum):
    """Radio band of an antenna (IEEE letter bands, plus VHF/UHF as amateur CubeSats use them)."""

    VHF = "vhf"
    UHF = "uhf"
    L = "l"
    S = "s"
    C = "c"
    X = "x"
    KU = "ku"
    K = "k"
    KA = "ka"


class ElementTextFormat(StrEnum):
    """How an element-set record's ``text`` is written: ``orbits.parse_elements``' format names.

    OMM (JSON, CSV, XML, KVN) is canonical; TLE/3LE is accepted.
    """

    TLE = "tle"
    JSON = "json"
    CSV = "csv"
    XML = "xml"
    KVN = "kvn"


class SourceKind(StrEnum):
    """Where a satellite's element sets come from (``store.elements``)."""

    UPLOAD = "upload"  # the operator's uploads
    CELESTRAK = "celestrak"  # CelesTrak GP
    SUPGP = "supgp"  # CelesTrak supplemental GP (operator or launch-provider data)
    SPACETRACK = "spacetrack"  # Space-Track GP
    LEOP = "leop"  # the launch provider's deployment prediction (a LEOP campaign's, ``store.leop``)
    FIT = "fit"  # fitted to the satellite's own receptions and Doppler (``leop fit``)


class SourceQueryKind(StrEnum):
    """What a fetched source asks for: a catalog number, an international designator, a group or a SupGP file."""

    CATNR = "catnr"
    INTDES = "intdes"
    GROUP = "group"
    FILE = "file"


class ContactStatus(StrEnum):
    """Life of a contact: scheduled -> in_progress -> completed / failed, or cancelled."""

    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StationRunner(StrEnum):
    """What runs a station: groundshare's own agent, or an unmodified satnogs-client (``api.routes.satnogs``)."""

    AGENT = "agent"
    SATNOGS = "satnogs"


class LeopStatus(StrEnum):
    """Life of a LEOP campaign: active (its contacts are booked and run) -> ended."""

    ACTIVE = "active"
    ENDED = "ended"


class RequestStatus(StrEnum):
    OPEN = "open"
    SCHEDULED = "scheduled"
    UNSATISFIABLE = "unsatisfiable"
    CANCELLED = "cancelled"


class Organisation(Base):
    """A partner: a space agency, a company or a university."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[OrgKind] = mapped_column(_enum(OrgKind, "org_kind"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    stations: Mapped[list[Station]] = relationship(back_populates="organisation")
    satellites: Mapped[list[Satellite]] = relationship(back_populates="organisation")

    def __repr__(self) -> str:
        return f"Organisation(id={self.id!r}, name={self.name!r}, kind={self.kind!r})"


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which ``token`` is stored (tokens are random, so no salt)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiToken(Base):
    """A bearer token of one organisation with one role; only its hash is stored.

    ``station_id`` scopes it to one station of the organisation: such a token works only
    under ``/satnogs/api/`` (sent as ``Authorization: Token <key>`` by satnogs-client) and
    only for that station; everywhere else it is refused (``api.deps``).
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "token_role"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[datetime | None]
    # After this instant the token is refused (None: it does not expire).
    expires_at: Mapped[datetime | None]
    # When a request last authenticated with it (kept to the minute, so reads do not write on every request).
    last_used_at: Mapped[datetime | None]
    # The one station it is scoped to (a SatNOGS station's SATNOGS_API_TOKEN); None: an ordinary bearer token.
    station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id", ondelete="CASCADE"), index=True)
    # Whether it may command (uplink to) its organisation's satellites in a live session
    # (``/contacts/{id}/session``), and to which of them (ids; empty: every one of them).
    can_command: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    command_satellite_ids: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")

    organisation: Mapped[Organisation] = relationship()

    @classmethod
    def issue(cls, org_id: int, role: Role, *, label: str = "", station_id: int | None = None) -> tuple[ApiToken, str]:
        """Return a new token row and its plain text, which is shown once and never stored."""
        token = "gs_" + secrets.token_urlsafe(32)
        return cls(org_id=org_id, role=role, token_hash=hash_token(token), label=label, station_id=station_id), token


class Station(Base):
    """A ground station: a place, owned by one organisation, holding one or more antennas."""

    __tablename__ = "station"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        CheckConstraint("lat_deg BETWEEN -90 AND 90", name="lat_range"),
        CheckConstraint("lon_deg BETWEEN -180 AND 180", name="lon_range"),
        CheckConstraint("alt_m BETWEEN -500 AND 10000", name="alt_range"),
        # The pass engine's Site accepts the same ranges.
        CheckConstraint("min_elevation_deg BETWEEN -10 AND 89", name="min_elevation_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    lat_deg: Mapped[float] = mapped_column(Float)
    lon_deg: Mapped[float] = mapped_column(Float)
    alt_m: Mapped[float] = mapped_column(Float, default=0.0)
    min_elevation_deg: Mapped[float] = mapped_column(Float, default=0.0)
    # [[az_deg, min_el_deg], ...] as passes.HorizonMask takes it; azimuth clockwise from north.
    horizon_mask: Mapped[list[Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # What runs it: groundshare's agent, or satnogs-client polling /satnogs/api/ (``api.routes.satnogs``).
    runner: Mapped[StationRunner] = mapped_column(_enum(StationRunner, "station_runner"), default=StationRunner.AGENT,
                                                  server_default=StationRunner.AGENT.value)
    # Its satnogs-client's last job poll, by the network's clock (None: never polled).
    last_seen_at: Mapped[datetime | None]
    # The satnogs-client version its last observation reported (None: not reported).
    satnogs_client_version: Mapped[str | None] = mapped_column(String(100))
    # What its last job poll served and left out, and why (None: never polled).
    satnogs_status: Mapped[str | None] = mapped_column(Text)

    organisation: Mapped[Organisation] = relationship(back_populates="stations")
    antennas: Mapped[list[Antenna]] = relationship(back_populates="station")

    def to_site(self) -> Site:
        """Return the pass engine's ``Site`` for this station, named as the station is."""
        from groundshare.passes import Site

        return Site(self.name, lat_deg=self.lat_deg, lon_deg=self.lon_deg, alt_m=self.alt_m,
                    min_elevation_deg=self.min_elevation_deg, horizon_mask=self.horizon_mask)

    def snapshot(self) -> StationSnapshot:
        """Return the station parameters a contact records when it is booked."""
        mask = self.horizon_mask
        return StationSnapshot(id=self.id, name=self.name, lat_deg=self.lat_deg, lon_deg=self.lon_deg,
                               alt_m=self.alt_m, min_elevation_deg=self.min_elevation_deg,
                               horizon_mask=tuple((az, el) for az, el in mask) if mask is not None else None)


class Antenna(Base):
    """The bookable resource: one antenna (and its radio chain) at a station."""

    __tablename__ = "antenna"
    __table_args__ = (
        UniqueConstraint("station_id", "name"),
        CheckConstraint("setup_s >= 0", name="setup_nonnegative"),
        CheckConstraint("turnaround_s >= 0", name="turnaround_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    band: Mapped[Band] = mapped_column(_enum(Band, "band"))
    setup_s: Mapped[float] = mapped_column(Float, default=0.0)
    # Time the antenna needs after a contact before the next may start (slew back, reconfigure).
    turnaround_s: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # Radio and mount parameters; None where the owner has not said (the link budget then needs them given).
    g_over_t_dbk: Mapped[float | None] = mapped_column(Float)
    eirp_dbw: Mapped[float | None] = mapped_column(Float)
    az_slew_deg_s: Mapped[float | None] = mapped_column(Float)
    el_slew_deg_s: Mapped[float | None] = mapped_column(Float)

    station: Mapped[Station] = relationship(back_populates="antennas")

    def snapshot(self) -> AntennaSnapshot:
        """Return the antenna parameters a contact records when it is booked."""
        return AntennaSnapshot(id=self.id, name=self.name, band=self.band.value, setup_s=self.setup_s,
                               turnaround_s=self.turnaround_s, g_over_t_dbk=self.g_over_t_dbk, eirp_dbw=self.eirp_dbw,
                               az_slew_deg_s=self.az_slew_deg_s, el_slew_deg_s=self.el_slew_deg_s)


class Satellite(Base):
    """A satellite as one organisation registered it; public ones are visible to every partner.

    The registering organisation operates it: only it (or an organisation it lists in
    ``uplink_org_ids``) may book contacts that uplink to it.  NORAD numbers are unique per
    organisation, not across the network: two organisations that register the same
    NORAD number hold two satellites, each with its own element sets, so nobody can
    lock a satellite's real operator out by registering its number first, and a private
    registration reveals nothing to others.
    """

    __tablename__ = "satellite"
    __table_args__ = (
        CheckConstraint("norad_id > 0", name="norad_id_positive"),
        UniqueConstraint("org_id", "norad_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    norad_id: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(200))
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # Radio parameters of the downlink (None where unknown).
    band: Mapped[Band | None] = mapped_column(_enum(Band, "satellite_band"))
    downlink_frequency_hz: Mapped[float | None] = mapped_column(Float)
    downlink_eirp_dbw: Mapped[float | None] = mapped_column(Float)
    data_rate_bps: Mapped[float | None] = mapped_column(Float)
    # The uplink's carrier, which the station's agent pre-corrects for Doppler (None: no uplink, or unknown).
    uplink_frequency_hz: Mapped[float | None] = mapped_column(Float)
    # Organisations besides the operator that may book uplink contacts of it (ids; empty: the operator alone).
    uplink_org_ids: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    # The satnogs-decoders decoder of its frames (e.g. "painani"; ``groundshare.telemetry``); None: not decoded.
    decoder: Mapped[str | None] = mapped_column(String(100))
    # What a SatNOGS job carries of its downlink (``groundshare.satnogs``): the client's flowgraph mode (one of
    # ``satnogs.modes.SATNOGS_MODES``), the baud rate (for CW: words per minute) and the transmitter's drift in
    # parts per billion (the job's frequency is the downlink's times 1 + drift / 1e9).
    mode: Mapped[str | None] = mapped_column(String(32))
    baud: Mapped[float | None] = mapped_column(Float)
    downlink_drift_ppb: Mapped[int | None] = mapped_column(Integer)

    organisation: Mapped[Organisation] = relationship(back_populates="satellites")


class ElementSource(Base):
    """One place a satellite's element sets come from, with its priority (higher wins; ``store.elements``).

    ``upload`` sources have no query; fetched ones ask ``query_kind`` = ``query_value`` (e.g.
    ``catnr`` = ``"25544"``).  A disabled source, or one past ``expires_at``, is not in force;
    its stored sets are kept.  ``last_fetched_at`` and ``last_status`` are the fetcher's.
    """

    __tablename__ = "element_source"
    __table_args__ = (CheckConstraint("priority BETWEEN 0 AND 1000", name="priority_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    satellite_id: Mapped[int] = mapped_column(ForeignKey("satellite.id", ondelete="CASCADE"), index=True)
    kind: Mapped[SourceKind] = mapped_column(_enum(SourceKind, "source_kind"))
    query_kind: Mapped[SourceQueryKind | None] = mapped_column(_enum(SourceQueryKind, "source_query_kind"))
    query_value: Mapped[str | None] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_fetched_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(Text)

    satellite: Mapped[Satellite] = relationship()

    def __repr__(self) -> str:
        return (f"ElementSource(id={self.id!r}, satellite_id={self.satellite_id!r}, kind={self.kind!r}, "
                f"query={self.query_kind!r}:{self.query_value!r}, priority={self.priority!r})")


class ElementSetRecord(Base):
    """One element set of a satellite, kept as sent, with the source it came from (``store.elements``).

    ``source_id`` is None for a set stored before sources existed (or whose source was
    removed): such sets are in force only when no source has one.
    """

    __tablename__ = "element_set"
    __table_args__ = (Index("ix_element_set_satellite_epoch", "satellite_id", "epoch"),
                      Index("ix_element_set_source_epoch", "source_id", "epoch"))

    id: Mapped[int] = mapped_column(primary_key=True)
    satellite_id: Mapped[int] = mapped_column(ForeignKey("satellite.id", ondelete="CASCADE"))
    epoch: Mapped[datetime]
    format: Mapped[ElementTextFormat] = mapped_column(_enum(ElementTextFormat, "element_text_format"))
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("element_source.id", ondelete="SET NULL"))
    # When it was fetched (an upload: when it was uploaded).
    fetched_at: Mapped[datetime | None]

    satellite: Mapped[Satellite] = relationship()
    element_source: Mapped[ElementSource | None] = relationship()

    def to_element_set(self) -> ElementSet:
        """Return the stored text parsed as the pass engine's ``ElementSet``."""
        from groundshare.orbits import parse_elements

        catalog = parse_elements(self.text, source=f"element set {self.id}", fmt=self.format.value,
                                 on_error="raise")
        return catalog.elements[0]

    def snapshot(self) -> ElementSetSnapshot:
        """Return what a contact records of the element set it was planned with."""
        return ElementSetSnapshot(id=self.id, epoch=self.epoch, format=self.format.value, text=self.text)


def newest_element_sets(session: Session, satellite_ids: Iterable[int], *,
                        now: datetime | None = None) -> dict[int, ElementSetRecord]:
    """Return each satellite's element set in force at ``now`` (``store.elements.orbits_in_force``).

    For a satellite whose sets are all uploads this is its newest set by epoch (the later
    upload on a tie).  Satellites without one are absent from the mapping.
    """
    from groundshare.store.elements import orbits_in_force

    return {satellite_id: in_force.record
            for satellite_id, in_force in orbits_in_force(session, satellite_ids, now=now).items()}


def newest_element_set(session: Session, satellite_id: int, *, now: datetime | None = None) -> ElementSetRecord | None:
    """Return the satellite's element set in force at ``now`` (``store.elements.orbit_in_force``), or None."""
    return newest_element_sets(session, [satellite_id], now=now).get(satellite_id)


class SharingPolicy(Base):
    """One owner's grant of an antenna to one partner organisation, on the owner's terms.

    ``bands`` lists ``Band`` values (empty: every band of the antenna);
    ``hours_per_week`` caps use (``None``: no cap); ``blackout_windows`` lists
    ``{"start": ISO 8601 UTC, "end": ISO 8601 UTC}`` periods when the grant does not
    apply; a higher ``priority`` wins when requests compete.
    """

    __tablename__ = "sharing_policy"
    __table_args__ = (
        UniqueConstraint("antenna_id", "grantee_org_id"),
        CheckConstraint("owner_org_id <> grantee_org_id", name="not_self"),
        CheckConstraint("hours_per_week IS NULL OR hours_per_week >= 0", name="hours_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Denormalised from antenna -> station -> organisation so listings by owner need no join;
    # the code that creates a policy sets it from the antenna.
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    grantee_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    antenna_id: Mapped[int] = mapped_column(ForeignKey("antenna.id", ondelete="CASCADE"))
    bands: Mapped[list[Any]] = mapped_column(default=list)
    hours_per_week: Mapped[float | None] = mapped_column(Float)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    blackout_windows: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # Uplink through this grant (``store.uplink``): whether the grantee may transmit from the antenna at all,
    # on which bands (``Band`` values; empty: the policy's ``bands``) and to which of its satellites (ids; empty:
    # any satellite the grantee may command).
    uplink_allowed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    uplink_bands: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    uplink_satellite_ids: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")

    owner: Mapped[Organisation] = relationship(foreign_keys=[owner_org_id])
    grantee: Mapped[Organisation] = relationship(foreign_keys=[grantee_org_id])
    antenna: Mapped[Antenna] = relationship()


class UplinkLicence(Base):
    """The licence for one satellite to be commanded from one station over ``[valid_from, valid_until)``.

    A regulatory fact the station's owner records (``reference``: the licence's number or
    document as the regulator gives it); ``store.uplink`` refuses an uplink contact whose
    whole window no licence covers, on the owner's own antennas too.
    """

    __tablename__ = "uplink_licence"
    __table_args__ = (
        CheckConstraint("valid_from < valid_until", name="validity_order"),
        Index("ix_uplink_licence_station_satellite", "station_id", "satellite_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id", ondelete="CASCADE"))
    satellite_id: Mapped[int] = mapped_column(ForeignKey("satellite.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    created_by_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class UplinkFrame(Base):
    """One frame transmitted to a satellite during an uplink contact: the audit trail, append-only.

    ``sent_at``: when the operator's frame was accepted for transmission; ``on_air_at``:
    when the station's agent wrote it to its TNC for transmission, or ``not_sent_reason``:
    why it never was (both None: still queued).  ``client_ref``: the operator's own name of
    the frame, unique within the contact, so that a frame sent again after a reconnection
    is recognised, not queued twice.  The database refuses DELETE of its rows and every
    UPDATE but the one that settles a queued frame, once
    (``store.guards.create_append_only_guards``); the foreign keys restrict, so nothing it
    names can be deleted from under it.
    """

    __tablename__ = "uplink_frame"
    __table_args__ = (
        CheckConstraint("length >= 0", name="length_nonnegative"),
        Index("ix_uplink_frame_contact_sent", "contact_id", "sent_at"),
        Index("ix_uplink_frame_contact_ref", "contact_id", "client_ref", unique=True),
        Index("ix_uplink_frame_station_queued", "station_id", "id",
              sqlite_where=text("on_air_at IS NULL AND not_sent_reason IS NULL"),
              postgresql_where=text("on_air_at IS NULL AND not_sent_reason IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="RESTRICT"))
    satellite_id: Mapped[int] = mapped_column(ForeignKey("satellite.id", ondelete="RESTRICT"), index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id", ondelete="RESTRICT"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id", ondelete="RESTRICT"))
    sent_at: Mapped[datetime]
    on_air_at: Mapped[datetime | None]
    sha256: Mapped[str] = mapped_column(String(64))
    length: Mapped[int] = mapped_column(Integer)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    client_ref: Mapped[str | None] = mapped_column(String(64))
    not_sent_reason: Mapped[str | None] = mapped_column(Text)

    contact: Mapped[Contact] = relationship()


class TransmitInhibit(Base):
    """A station owner's stop on all transmission from one station, open until ``lifted_at``.

    At most one open inhibit per station (a partial unique index on ``station_id`` where
    ``lifted_at IS NULL``); lifted ones stay, as the record.
    """

    __tablename__ = "transmit_inhibit"
    __table_args__ = (
        Index("ix_transmit_inhibit_open_station", "station_id", unique=True,
              sqlite_where=text("lifted_at IS NULL"), postgresql_where=text("lifted_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id", ondelete="CASCADE"), index=True)
    raised_by_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id", ondelete="SET NULL"))
    raised_at: Mapped[datetime] = mapped_column(default=utc_now)
    lifted_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")


class ContactRequest(Base):
    """What an organisation asks for: a satellite, a window, and what makes a pass worth it."""

    __tablename__ = "contact_request"
    __table_args__ = (
        CheckConstraint("window_start < window_end", name="window_order"),
        CheckConstraint("min_duration_s >= 0", name="min_duration_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    satellite_id: Mapped[int] = mapped_column(ForeignKey("satellite.id", ondelete="CASCADE"), index=True)
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    min_duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    min_elevation_deg: Mapped[float] = mapped_column(Float, default=0.0)
    min_volume_bytes: Mapped[int | None] = mapped_column(BigInteger)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus, "request_status"),
                                                  default=RequestStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # Contacts wanted per UTC day of the window (None: at least one contact in the whole window).
    contacts_per_day: Mapped[int | None] = mapped_column(Integer)
    # The last booking planning run that covered the request, and its explanations of what stayed unserved
    # (``schedule.explain.Reason.to_dict()`` each; None: no run has looked at it yet).
    planned_at: Mapped[datetime | None]
    last_reasons: Mapped[list[Any] | None] = mapped_column(_NULLABLE_JSON)


class Contact(Base):
    """A booked use of one antenna by one satellite over ``[start_time, end_time)``.

    ``busy_until`` is ``end_time`` plus the antenna's turnaround at booking time: the
    antenna is held over ``[start_time, busy_until)``, and no two contacts that are not
    cancelled may hold it at once (``store.guards`` makes the database refuse that).
    A contact is receive-only unless ``uplink``: receive-only contacts of one satellite
    never conflict with each other (many stations may hear one downlink), while live
    uplink contacts of one satellite never overlap (the guards refuse that too).
    ``snapshot`` records the inputs the contact was planned with (station, antenna,
    element set), so later edits to those rows do not rewrite history.
    """

    __tablename__ = "contact"
    __table_args__ = (
        UniqueConstraint("org_id", "idempotency_key"),
        CheckConstraint("start_time < end_time", name="time_order"),
        CheckConstraint("busy_until >= end_time", name="busy_covers_contact"),
        CheckConstraint("bytes_received IS NULL OR bytes_received >= 0", name="bytes_nonnegative"),
        Index("ix_contact_antenna_start", "antenna_id", "start_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    antenna_id: Mapped[int] = mapped_column(ForeignKey("antenna.id", ondelete="RESTRICT"))
    satellite_id: Mapped[int] = mapped_column(ForeignKey("satellite.id", ondelete="RESTRICT"), index=True)
    # The organisation that booked it (and whose idempotency keys it shares).
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("contact_request.id", ondelete="SET NULL"))
    start_time: Mapped[datetime]
    end_time: Mapped[datetime]
    busy_until: Mapped[datetime]
    status: Mapped[ContactStatus] = mapped_column(_enum(ContactStatus, "contact_status"),
                                                  default=ContactStatus.SCHEDULED)
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    bytes_received: Mapped[int | None] = mapped_column(BigInteger)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # Reported by the station's agent: when the contact really began and ended.
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # What the agent did (pointing error, commands sent, failures; ``store.outcomes.EXECUTION_FIELDS``).
    execution: Mapped[dict[str, Any] | None] = mapped_column(_NULLABLE_JSON)
    # Whether the contact transmits to the satellite (and so holds it exclusively); False: receive-only.
    uplink: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # How many frames the station's agent says it received (None: not reported); ``store.frames`` holds them.
    frames_received: Mapped[int | None] = mapped_column(BigInteger)
    # The LEOP campaign that booked it (None: a routine contact); a campaign's contacts outrank routine ones.
    leop_campaign_id: Mapped[int | None] = mapped_column(ForeignKey("leop_campaign.id", ondelete="SET NULL"),
                                                         index=True)
    # Where the antenna waits and which arc it sweeps while the satellite's timing is uncertain
    # (``leop.search``; None: track the element set).
    search_pattern: Mapped[dict[str, Any] | None] = mapped_column(_NULLABLE_JSON)

    antenna: Mapped[Antenna] = relationship()
    satellite: Mapped[Satellite] = relationship()
    organisation: Mapped[Organisation] = relationship()

    def __repr__(self) -> str:
        return (f"Contact(id={self.id!r}, antenna_id={self.antenna_id!r}, satellite_id={self.satellite_id!r}, "
                f"start_time={self.start_time!r}, end_time={self.end_time!r}, status={self.status!r})")


class LeopCampaign(Base):
    """A newly deployed satellite's launch and early orbit: its deployment, and how its first contacts are booked.

    The deployment is kept as given (``deployment_text`` in ``deployment_format``: ``tle``
    or ``json`` (OMM) for an element set, ``kvn`` for a CCSDS OPM/OEM state vector), with
    the nominal ``deploy_time`` and its uncertainty (+-``deploy_uncertainty_s``; the
    along-track separation velocity uncertainty ``separation_dv_m_s`` makes it grow with
    every orbit).  Its contacts are the windows of the first ``hours`` over that
    uncertainty, booked ``stations_per_orbit`` stations per orbit where possible
    (``store.leop``).  ``last_booking`` is what the last booking run did, ``identification``
    the last ranking of the launch's objects (``leop identify``).
    """

    __tablename__ = "leop_campaign"
    __table_args__ = (
        CheckConstraint("stations_per_orbit BETWEEN 1 AND 20", name="stations_per_orbit_range"),
        CheckConstraint("hours > 0 AND hours <= 240", name="hours_range"),
        CheckConstraint("deploy_uncertainty_s >= 0 AND separation_dv_m_s >= 0", name="uncertainty_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    satellite_id: Mapped[int] = mapped_column(ForeignKey("satellite.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    deploy_time: Mapped[datetime]
    deploy_uncertainty_s: Mapped[float] = mapped_column(Float, default=0.0)
    separation_dv_m_s: Mapped[float] = mapped_column(Float, default=0.0)
    hours: Mapped[float] = mapped_column(Float, default=48.0)
    stations_per_orbit: Mapped[int] = mapped_column(Integer, default=2)
    step_s: Mapped[float] = mapped_column(Float, default=30.0)
    deployment_text: Mapped[str] = mapped_column(Text)
    deployment_format: Mapped[str] = mapped_column(String(16))
    status: Mapped[LeopStatus] = mapped_column(_enum(LeopStatus, "leop_status"), default=LeopStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    booked_at: Mapped[datetime | None]
    last_booking: Mapped[dict[str, Any] | None] = mapped_column(_NULLABLE_JSON)
    identification: Mapped[dict[str, Any] | None] = mapped_column(_NULLABLE_JSON)

    organisation: Mapped[Organisation] = relationship()
    satellite: Mapped[Satellite] = relationship()


class AgentLease(Base):
    """Which station agent runs a station, until when (``store.lease``): at most one per station.

    An agent takes the lease when it starts and renews it while it runs; another agent for
    the same station is refused until the lease is released or ``expires_at`` passes.
    """

    __tablename__ = "agent_lease"

    station_id: Mapped[int] = mapped_column(ForeignKey("station.id", ondelete="CASCADE"), primary_key=True,
                                            autoincrement=False)
    agent_id: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    renewed_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    def __repr__(self) -> str:
        return (f"AgentLease(station_id={self.station_id!r}, agent_id={self.agent_id!r}, "
                f"expires_at={self.expires_at!r})")


class NetworkClock(Base):
    """The one clock of the whole network, when it does not run at the wall clock (at most one row).

    The network's time is ``network_at + (wall clock - wall_at)``: it runs at the wall
    clock's rate from an anchor.  With no row the network runs at the wall clock.  The
    demo network sets it to its element sets' epoch (``store.clock``), so every partner,
    view, default window and agent sees the same instant.
    """

    __tablename__ = "network_clock"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=1)
    network_at: Mapped[datetime]
    wall_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(500), default="")


class Frame(Base):
    """One payload of one satellite, kept once for the whole network (``store.frames``).

    Stations that heard it are its ``Reception``s; ``received_at`` is the earliest of them.
    ``decoded`` holds the decoder's flat fields (None: not decoded, or decoding failed and
    ``decode_error`` says why).
    """

    __tablename__ = "frame"
    __table_args__ = (
        CheckConstraint("size_bytes > 0", name="size_positive"),
        Index("ix_frame_satellite_received", "satellite_id", "received_at"),
        Index("ix_frame_satellite_sha256", "satellite_id", "sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    satellite_id: Mapped[int] = mapped_column(ForeignKey("satellite.id", ondelete="CASCADE"))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime]
    decoded: Mapped[dict[str, Any] | None] = mapped_column(_NULLABLE_JSON)
    decoder: Mapped[str | None] = mapped_column(String(100))
    decoder_version: Mapped[str | None] = mapped_column(String(100))
    decode_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Reception(Base):
    """One station having received a frame, through one contact, at a time (its own clock, UTC).

    ``outside_window``: stamped outside the contact's time (with a margin); kept, flagged.
    One row per (frame, contact): a station that sends a frame again changes nothing.
    """

    __tablename__ = "frame_reception"
    __table_args__ = (UniqueConstraint("frame_id", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    frame_id: Mapped[int] = mapped_column(ForeignKey("frame.id", ondelete="CASCADE"))
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id", ondelete="RESTRICT"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    received_at: Mapped[datetime]
    outside_window: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Artifact(Base):
    """A file a station uploaded for a contact (a recording, a waterfall), kept by ``store.artifacts``.

    ``storage_key`` names the content in the artifact storage (content-addressed by SHA-256).
    """

    __tablename__ = "artifact"
    __table_args__ = (
        UniqueConstraint("contact_id", "name"),
        CheckConstraint("size_bytes >= 0", name="size_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    storage_key: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class ArtifactUpload(Base):
    """An artifact upload under way: ``received_bytes`` of ``total_bytes`` are in its staging file.

    One per (contact, name, SHA-256 of the whole file); removed when the artifact is stored.
    """

    __tablename__ = "artifact_upload"
    __table_args__ = (
        UniqueConstraint("contact_id", "name", "sha256"),
        CheckConstraint("received_bytes BETWEEN 0 AND total_bytes", name="received_within_total"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    received_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class SatnogsUpload(Base):
    """One file a satnogs-client uploaded for a contact (``api.routes.satnogs``): the same file again is refused.

    ``kind`` is the client's form field (payload, waterfall, demoddata); ``filename`` the
    name it sent.  ``size_bytes`` counts towards the contact's ``bytes_received``.
    """

    __tablename__ = "satnogs_upload"
    __table_args__ = (
        UniqueConstraint("contact_id", "kind", "filename"),
        CheckConstraint("size_bytes >= 0", name="size_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Event(Base):
    """Something that happened to a satellite, station or contact, told to the organisations it concerns.

    ``org_ids`` is computed when the event is written (``store.events.record_event``): the
    satellite's operator, the contact's booking organisation and antenna owner, the
    station's owner.  ``kind`` is dotted, e.g. ``elements.updated``, ``contact.moved``.
    """

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utc_now)
    kind: Mapped[str] = mapped_column(String(50))
    satellite_id: Mapped[int | None] = mapped_column(ForeignKey("satellite.id", ondelete="SET NULL"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    org_ids: Mapped[list[Any]] = mapped_column(default=list)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message: Mapped[str] = mapped_column(Text, default="")


class Webhook(Base):
    """An organisation's HTTPS endpoint told of its events, signed with ``secret`` (``store.webhooks``)."""

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class WebhookDelivery(Base):
    """One event to send to one webhook: pending while ``next_attempt_at`` is set and ``delivered_at`` is not.

    After the last attempt fails, ``next_attempt_at`` is None and ``last_error`` says why.
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (CheckConstraint("attempts >= 0", name="attempts_nonnegative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    webhook: Mapped[Webhook] = relationship()
    event: Mapped[Event] = relationship()


class SourceFetch(Base):
    """One request made to an element-set site, kept so that separate runs obey its politeness rules.

    ``query`` is the request's canonical query string; ``next_allowed_at`` is when the same
    query may be asked again (``store.fetches``).
    """

    __tablename__ = "source_fetch"
    __table_args__ = (Index("ix_source_fetch_kind_query", "kind", "query", "fetched_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SourceKind] = mapped_column(_enum(SourceKind, "source_fetch_kind"))
    query: Mapped[str] = mapped_column(String(500))
    fetched_at: Mapped[datetime]
    http_status: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text, default="")
    next_allowed_at: Mapped[datetime | None]


class WorkerLease(Base):
    """Which worker process runs the network's syncs and re-planning, until when (at most one row)."""

    __tablename__ = "worker_lease"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=1)
    worker_id: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    renewed_at: Mapped[datetime]
    expires_at: Mapped[datetime]
