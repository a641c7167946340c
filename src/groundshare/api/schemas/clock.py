"""The network's clock: one instant for every partner (``store.clock``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class ClockPublic(BaseModel):
    """The network's clock: one instant for every partner (``store.clock``)."""

    now: datetime = Field(description="The network's time: what every view, default window, booking rule and "
                                      "station agent uses.")
    wall_clock: datetime
    mode: Literal["live", "shifted"] = Field(description="live: the wall clock; shifted: the wall clock moved by "
                                                         "offset_s (e.g. the demo network runs at its data's "
                                                         "epoch), running at the same pace.")
    offset_s: float = Field(description="now - wall_clock, seconds (0 when live).")
    data_epoch: datetime | None = Field(description="Newest element-set epoch among the satellites the caller "
                                                    "may see; null when none has an element set.")
    message: str
