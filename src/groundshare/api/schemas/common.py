"""What every body shares: bounded ids and numbers, UTC times, and the base models.

Every number is bounded, so that no input reaches the database as an overflow (a
500); times are ISO 8601 with ``Z`` or an offset, and a time without one is refused
naming the field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from groundshare.timeutil import parse_utc

#: Largest row id accepted (PostgreSQL ``integer``), so a huge id is a 422 or 404, never an overflow.
MAX_ID = 2_147_483_647
#: Earliest and latest instants accepted: Sputnik to well past any contact anyone books.
EARLIEST = datetime(1957, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

#: Largest ``BIGINT`` (data volumes in bytes).
MAX_BIGINT = 2**63 - 1

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
#: Priority of a request or a sharing policy: higher wins when requests compete.
Priority = Annotated[int, Field(ge=-1000, le=1000)]

# Radio bounds: wide enough for any real antenna or satellite, narrow enough to refuse nonsense.
Eirp = Annotated[float, Field(ge=-50, le=100, description="Transmit EIRP in dBW.")]


def _parse_time(value: Any, info: ValidationInfo) -> Any:
    """Parse ISO 8601 text with ``Z`` or an offset; naive text is refused naming the field.

    ``now`` is refused too: the network's clock may run shifted from the wall clock
    (``GET /clock``), and a parameter left out already defaults to the network's time.
    """
    if isinstance(value, str):
        return parse_utc(value, info.field_name or "time", allow_now=False)  # InvalidInputError is a ValueError
    return value


def _check_time(value: datetime, info: ValidationInfo) -> datetime:
    name = info.field_name or "time"
    if value.tzinfo is None:
        raise ValueError(f"{name} has no timezone; groundshare works in UTC: add 'Z' (e.g. {value.isoformat()}Z) "
                         f"or an explicit offset")
    value = value.astimezone(UTC)
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"{name} {value.isoformat()} is outside {EARLIEST.year} to {LATEST.year}")
    return value


#: An aware UTC datetime from ISO 8601 text with ``Z`` or an offset.
UtcTime = Annotated[datetime, BeforeValidator(_parse_time), AfterValidator(_check_time)]


class RowModel(BaseModel):
    """A response body read from a row's attributes (``XPublic.model_validate(row)``)."""

    model_config = ConfigDict(from_attributes=True)


class UpdateModel(BaseModel):
    """A PATCH body: every field optional, only those sent are changed.

    ``null`` clears a field listed in ``nullable``; for any other field it is refused
    naming the field (leave the field out to keep its value).
    """

    model_config = ConfigDict(extra="forbid")
    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError(f"{info.field_name} cannot be null; leave it out to keep its current value")
        return value

    def changes(self) -> dict[str, Any]:
        """Return the fields the client sent, with their new values."""
        return self.model_dump(exclude_unset=True)


T = TypeVar("T")


#: One page of a listing (``XsPublic``): its rows and how many there are in all.
class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int
