"""Frames, telemetry and artifacts: what the stations received, as the agent uploads it and the operator reads it.

A frame travels as hex (``payload_hex``: two hex digits per byte, either case); a batch
of frames is one request of at most ``MAX_FRAMES_PER_BATCH`` frames, and a larger one is
refused with 413 (``FrameBatchTooLargeError``, in the error shape of every answer) before
a single frame is looked at.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from groundshare.api.errors import BodyTooLargeError
from groundshare.api.schemas.common import Page, UtcTime
from groundshare.store import MAX_FRAME_BYTES, MAX_FRAMES_PER_BATCH, FrameView


class FrameBatchTooLargeError(BodyTooLargeError):
    """A frame upload lists more than ``MAX_FRAMES_PER_BATCH`` frames (413)."""

    def __init__(self, count: int) -> None:
        super().__init__(MAX_FRAMES_PER_BATCH, what="a frame batch", advice="")
        self.detail = (f"the request body is too large: frames lists {count} frames, and one upload holds at most "
                       f"{MAX_FRAMES_PER_BATCH}; send them in batches of {MAX_FRAMES_PER_BATCH} or fewer")


PayloadHex = Annotated[str, Field(min_length=2, max_length=2 * MAX_FRAME_BYTES, pattern=r"^(?:[0-9A-Fa-f]{2})+$",
                                  description=f"The frame's bytes as hex, two digits per byte (1 to "
                                              f"{MAX_FRAME_BYTES} bytes).")]


class FrameIn(BaseModel):
    """One frame as the station received it: when (the agent's clock, UTC) and its bytes."""

    model_config = ConfigDict(extra="forbid")

    received_at: UtcTime
    payload_hex: PayloadHex


class FramesUpload(BaseModel):
    """A batch of frames received through one contact (at most ``MAX_FRAMES_PER_BATCH``; 413 beyond)."""

    model_config = ConfigDict(extra="forbid")

    frames: list[FrameIn] = Field(description=f"At most {MAX_FRAMES_PER_BATCH} frames; a larger batch answers 413.")

    @field_validator("frames", mode="before")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        # Counted before any frame is validated; an HTTPException passes through pydantic to the 413 handler.
        if isinstance(value, list) and len(value) > MAX_FRAMES_PER_BATCH:
            raise FrameBatchTooLargeError(len(value))
        return value


class FramesAccepted(BaseModel):
    """What an upload did: frames accepted, of them new to the network and already known, and stamped outside."""

    accepted: int = Field(description="Frames in the batch (all are kept).")
    new: int = Field(description="Frames no station had sent before (within the frame window).")
    duplicates: int = Field(description="Frames already known: another station's, or this one's sent again.")
    outside_window: int = Field(description="Frames stamped outside the contact's window (+-60 s): kept, flagged.")


class FramePublic(BaseModel):
    """One frame of a satellite, kept once for the network, with the stations that received it."""

    id: int
    received_at: datetime = Field(description="Its first reception (UTC).")
    payload_hex: str
    sha256: str
    stations: list[str] = Field(description="The stations that received it (only those the caller may see).")
    decoded: dict[str, Any] | None = Field(description="Its decoded fields (flat, dotted names), or null.")
    decoder: str | None
    decode_error: str | None = Field(description="Why it was not decoded, where a decoder was named.")
    outside_window: bool = Field(description="A reception was stamped outside its contact's window.")


def frame_public(view: FrameView) -> FramePublic:
    """Return the public view of a frame read by ``store.frame_page``."""
    return FramePublic(id=view.id, received_at=view.received_at, payload_hex=view.payload.hex(), sha256=view.sha256,
                       stations=list(view.stations), decoded=view.decoded, decoder=view.decoder,
                       decode_error=view.decode_error, outside_window=view.outside_window)


class TelemetryPoint(BaseModel):
    t: datetime
    value: Any


class TelemetryPublic(BaseModel):
    """One decoded field of a satellite's frames as a time series (frames without the field are left out)."""

    field: str
    points: list[TelemetryPoint]


class ArtifactPublic(BaseModel):
    """A file a station recorded during a contact (``url`` downloads it)."""

    name: str
    size_bytes: int
    sha256: str
    created_at: datetime
    url: str


class ArtifactsPublic(Page[ArtifactPublic]):
    pass


class ArtifactUploadPublic(BaseModel):
    """How far an artifact's upload is: resume at ``received_bytes``."""

    received_bytes: int
    total_bytes: int | None = Field(description="The file's size; null when no upload of it has begun.")
    complete: bool


class ArtifactChunkAccepted(BaseModel):
    """A chunk of a resumable upload was stored; send the next from ``received_bytes``."""

    received_bytes: int
    total_bytes: int
