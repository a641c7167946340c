"""Satellites and their element sets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from groundshare.api.schemas.common import Eirp, Name, Page, RowId, RowModel, UpdateModel, UtcTime
from groundshare.satnogs import SATNOGS_CLIENT_VERSION, SATNOGS_MODES
from groundshare.store import Band, InForce, SourceKind, SourceQueryKind

#: Largest catalog number accepted: nine digits (OMM carries any; numbers above 99999 cannot be written in a TLE
#: except as Alpha-5, and SGP4's Satrec holds up to 339999 itself, groundshare keeps the real number).
MAX_NORAD_ID = 999_999_999

FrequencyHz = Annotated[float, Field(ge=1e6, le=3e11, description="Frequency in Hz (1 MHz to 300 GHz).")]
DataRateBps = Annotated[float, Field(gt=0, le=1e11, description="Data rate in bits per second.")]
#: Organisations besides the operator that may book uplink contacts of a satellite (ids, each once).
#: A satnogs-decoders decoder name (e.g. "painani"), checked against the installed decoders (the decoders extra).
DecoderName = Annotated[str, Field(min_length=1, max_length=100, description=(
    "The satnogs-decoders decoder of its frames (e.g. 'painani'); frames are decoded on arrival. Needs the "
    "server's decoders extra; null: frames are kept undecoded."))]
#: A satnogs-client flowgraph mode (``groundshare.satnogs.SATNOGS_MODES``).
SatnogsMode = Annotated[Literal[*SATNOGS_MODES], Field(description=(  # type: ignore[valid-type]
    f"The downlink's mode as a SatNOGS job carries it: one of satnogs-client {SATNOGS_CLIENT_VERSION}'s flowgraph "
    "modes; a SatNOGS station needs it (null: none set, the satellite's contacts are not served as jobs)."))]
Baud = Annotated[float, Field(ge=0, le=1e7, allow_inf_nan=False, description=(
    "The downlink's baud rate as a SatNOGS job carries it (for CW: words per minute)."))]
DriftPpb = Annotated[int, Field(ge=-1_000_000, le=1_000_000, description=(
    "The transmitter's frequency drift in parts per billion, as SatNOGS DB gives it: a SatNOGS job's frequency "
    "is round(downlink_frequency_hz * (1 + drift / 1e9))."))]
UplinkOrgIds = Annotated[list[RowId], Field(max_length=100, description=(
    "Organisations besides the operator that may book contacts that uplink to the satellite (ids)."))]


class SatelliteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    norad_id: int = Field(ge=1, le=MAX_NORAD_ID)
    name: Name
    is_public: bool = False
    band: Band | None = None
    downlink_frequency_hz: FrequencyHz | None = None
    downlink_eirp_dbw: Eirp | None = None
    data_rate_bps: DataRateBps | None = None
    uplink_frequency_hz: FrequencyHz | None = None
    uplink_org_ids: UplinkOrgIds = Field(default_factory=list)
    decoder: DecoderName | None = None
    mode: SatnogsMode | None = None
    baud: Baud | None = None
    downlink_drift_ppb: DriftPpb | None = None


class SatelliteUpdate(UpdateModel):
    nullable: ClassVar[frozenset[str]] = frozenset({"band", "downlink_frequency_hz", "downlink_eirp_dbw",
                                                    "data_rate_bps", "uplink_frequency_hz", "decoder", "mode", "baud",
                                                    "downlink_drift_ppb"})

    norad_id: int | None = Field(default=None, ge=1, le=MAX_NORAD_ID)
    name: Name | None = None
    is_public: bool | None = None
    band: Band | None = None
    downlink_frequency_hz: FrequencyHz | None = None
    downlink_eirp_dbw: Eirp | None = None
    data_rate_bps: DataRateBps | None = None
    uplink_frequency_hz: FrequencyHz | None = None
    uplink_org_ids: UplinkOrgIds | None = None
    decoder: DecoderName | None = None
    mode: SatnogsMode | None = None
    baud: Baud | None = None
    downlink_drift_ppb: DriftPpb | None = None


class SatellitePublic(RowModel):
    id: int
    org_id: int
    norad_id: int
    name: str
    is_public: bool
    created_at: datetime
    band: Band | None
    downlink_frequency_hz: float | None
    downlink_eirp_dbw: float | None
    data_rate_bps: float | None
    uplink_frequency_hz: float | None
    uplink_org_ids: list[int] = Field(description="Organisations besides the operator that may book uplink "
                                                  "contacts of it.")
    decoder: str | None = Field(default=None, description="The satnogs-decoders decoder of its frames, or null.")
    mode: str | None = Field(default=None, description="The downlink's satnogs-client flowgraph mode, or null.")
    baud: float | None = Field(default=None, description="The downlink's baud rate (CW: words per minute), or null.")
    downlink_drift_ppb: int | None = Field(default=None, description=(
        "The transmitter's drift in parts per billion, or null (none)."))
    elements_in_force: ElementsInForce | None = Field(default=None, description=(
        "The element set in force now (highest-priority live source, newest epoch), or null without one."))


class ElementsInForce(BaseModel):
    """The element set a satellite's passes and contacts use now, and how old it is."""

    id: int
    epoch: datetime
    source: str | None = Field(description="Its source's kind (upload, celestrak, supgp, spacetrack); null for a set "
                                           "stored before sources existed.")
    source_id: int | None
    age_s: float = Field(description="Seconds from its epoch to now (the network's clock).")
    state: str = Field(description="fresh, stale (past the warning age, 3 days by default) or expired (past the "
                                   "error age, 14 days by default).")

    @classmethod
    def of(cls, in_force: InForce | None) -> ElementsInForce | None:
        if in_force is None:
            return None
        return cls(id=in_force.record.id, epoch=in_force.record.epoch, source=in_force.source_kind,
                   source_id=in_force.source.id if in_force.source else None, age_s=round(in_force.age_s, 3),
                   state=in_force.state)


class SatellitesPublic(Page[SatellitePublic]):
    pass


class ElementSetPublic(RowModel):
    id: int
    satellite_id: int
    epoch: datetime
    format: str
    source: str = Field(description="Where it came from, as stored (e.g. 'api upload', 'celestrak catnr=25544').")
    source_id: int | None = Field(default=None, description="Its source (GET /satellites/{id}/sources); null for a "
                                                            "set stored before sources existed.")
    source_kind: str | None = Field(default=None, description="Its source's kind, or null.")
    fetched_at: datetime | None = Field(default=None, description="When it was fetched or uploaded.")


class ElementSetsPublic(Page[ElementSetPublic]):
    pass


class ElementSetListed(ElementSetPublic):
    in_force: bool = Field(description="Whether it is the set in force now.")


class ElementSetsListed(Page[ElementSetListed]):
    """Stored element sets, newest epoch first."""


class SourcePublic(RowModel):
    id: int
    kind: SourceKind
    query_kind: SourceQueryKind | None
    query_value: str | None
    priority: int
    enabled: bool
    expires_at: datetime | None
    created_at: datetime
    last_fetched_at: datetime | None
    last_status: str | None
    in_force: bool = Field(default=False, description="Whether the set in force now is this source's.")


class SourcesPublic(Page[SourcePublic]):
    """A satellite's element-set sources, best first (priority, then the older)."""


class SourceIn(BaseModel):
    """One source of a ``PUT /satellites/{id}/sources`` body."""

    model_config = ConfigDict(extra="forbid")

    kind: SourceKind
    query_kind: SourceQueryKind | None = Field(default=None, description=(
        "catnr, intdes or group (celestrak); catnr, intdes or file (supgp); catnr or intdes (spacetrack); none for "
        "upload. Left out with query_value: the satellite's catalog number."))
    query_value: str | None = Field(default=None, max_length=200)
    priority: int | None = Field(default=None, ge=0, le=1000, description=(
        "Higher wins; default: upload 100, supgp 80, spacetrack 60, celestrak 50."))
    enabled: bool = True
    expires_at: UtcTime | None = Field(default=None, description="After this instant the source is not in force.")


class SourcesUpdate(BaseModel):
    """The whole list of a satellite's sources (those left out are removed; their sets are kept)."""

    model_config = ConfigDict(extra="forbid")

    sources: list[SourceIn] = Field(max_length=20)


class ElementSetsPruned(BaseModel):
    """How many element sets a prune deleted."""

    deleted: int
