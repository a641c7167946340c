"""Satellites and their element sets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from groundshare.api.schemas.common import Eirp, Name, Page, RowId, RowModel, UpdateModel
from groundshare.orbits.elements import SATREC_MAX_SATNUM
from groundshare.store import Band

FrequencyHz = Annotated[float, Field(ge=1e6, le=3e11, description="Frequency in Hz (1 MHz to 300 GHz).")]
DataRateBps = Annotated[float, Field(gt=0, le=1e11, description="Data rate in bits per second.")]
#: Organisations besides the operator that may book uplink contacts of a satellite (ids, each once).
#: A satnogs-decoders decoder name (e.g. "painani"), checked against the installed decoders (the decoders extra).
DecoderName = Annotated[str, Field(min_length=1, max_length=100, description=(
    "The satnogs-decoders decoder of its frames (e.g. 'painani'); frames are decoded on arrival. Needs the "
    "server's decoders extra; null: frames are kept undecoded."))]
UplinkOrgIds = Annotated[list[RowId], Field(max_length=100, description=(
    "Organisations besides the operator that may book contacts that uplink to the satellite (ids)."))]


class SatelliteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    norad_id: int = Field(ge=1, le=SATREC_MAX_SATNUM)
    name: Name
    is_public: bool = False
    band: Band | None = None
    downlink_frequency_hz: FrequencyHz | None = None
    downlink_eirp_dbw: Eirp | None = None
    data_rate_bps: DataRateBps | None = None
    uplink_frequency_hz: FrequencyHz | None = None
    uplink_org_ids: UplinkOrgIds = Field(default_factory=list)
    decoder: DecoderName | None = None


class SatelliteUpdate(UpdateModel):
    nullable: ClassVar[frozenset[str]] = frozenset({"band", "downlink_frequency_hz", "downlink_eirp_dbw",
                                                    "data_rate_bps", "uplink_frequency_hz", "decoder"})

    norad_id: int | None = Field(default=None, ge=1, le=SATREC_MAX_SATNUM)
    name: Name | None = None
    is_public: bool | None = None
    band: Band | None = None
    downlink_frequency_hz: FrequencyHz | None = None
    downlink_eirp_dbw: Eirp | None = None
    data_rate_bps: DataRateBps | None = None
    uplink_frequency_hz: FrequencyHz | None = None
    uplink_org_ids: UplinkOrgIds | None = None
    decoder: DecoderName | None = None


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


class SatellitesPublic(Page[SatellitePublic]):
    pass


class ElementSetPublic(RowModel):
    id: int
    satellite_id: int
    epoch: datetime
    format: str
    source: str


class ElementSetsPublic(Page[ElementSetPublic]):
    pass


class ElementSetsPruned(BaseModel):
    """How many element sets a prune deleted."""

    deleted: int
