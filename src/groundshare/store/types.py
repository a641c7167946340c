"""``UtcDateTime``: the one SQL column type for instants, identical on SQLite and PostgreSQL.

Writes refuse naive datetimes (as ``timeutil.require_utc`` does everywhere else) and
convert aware ones to UTC; reads always come back aware, in UTC.

- PostgreSQL stores ``timestamp with time zone`` (an instant); psycopg returns it in
  the connection's zone, which is converted to UTC on read.
- SQLite has no time type.  SQLAlchemy stores ``YYYY-MM-DD HH:MM:SS.ffffff`` text and
  would silently drop the offset, so the value is converted to UTC first and stored
  without one.  That text is fixed-width, so SQL comparisons (the double-booking
  trigger, range queries) order it correctly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DontWrapMixin
from sqlalchemy.types import TypeDecorator

from groundshare.errors import InvalidInputError
from groundshare.timeutil import require_utc


class NaiveDatetimeError(InvalidInputError, DontWrapMixin):
    """A naive datetime (or something that is not a datetime) was bound to a ``UtcDateTime`` column.

    ``DontWrapMixin`` lets it out of a flush as itself, not wrapped in SQLAlchemy's
    ``StatementError``, so the API and CLI map it like any other ``InvalidInputError``.
    """


class UtcDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC instants; refuse naive ones; read back aware UTC.

    >>> from sqlalchemy.dialects import sqlite
    >>> UtcDateTime().process_bind_param(datetime(2025, 11, 7, 9, 30, tzinfo=UTC), sqlite.dialect())
    datetime.datetime(2025, 11, 7, 9, 30)
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime) and (value.tzinfo is None or value.utcoffset() is None):
            raise NaiveDatetimeError(
                f"a naive datetime ({value.isoformat()}) cannot be stored; groundshare stores UTC instants.\n\n"
                "If it already is UTC:  value.replace(tzinfo=UTC)\n"
                "If it is local time:   value.astimezone(UTC) after attaching its zone",
                loc=("database",),
            )
        try:
            value = require_utc(value, "value")
        except InvalidInputError as exc:
            raise NaiveDatetimeError(str(exc), loc=("database",)) from None
        # SQLite's DATETIME drops any offset without converting: hand it UTC wall time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite: stored as UTC wall time (see process_bind_param)
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
