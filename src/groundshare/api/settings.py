"""Settings of the API service, chosen by the caller (CLI, tests), never read at import."""

from __future__ import annotations

from dataclasses import dataclass, field

from groundshare.store import default_database_url


@dataclass(frozen=True)
class Settings:
    """What ``create_app`` needs: the database URL (the SQLite file by default)."""

    database_url: str = field(default_factory=default_database_url)
    #: Connections the engine keeps open (and as many again under load); None: SQLAlchemy's default.
    pool_size: int | None = None
