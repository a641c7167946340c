"""Path and query parameters shared by the routes, bounded so that none overflows the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from groundshare.api.schemas.common import MAX_ID

#: A row id in the path: 1 to PostgreSQL's largest integer (a larger one is a 422).
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Rows to skip.")]
Limit = Annotated[int, Query(ge=1, le=500, description="Rows to return, at most 500.")]
