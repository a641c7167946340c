"""The operator's console: how many contacts a request wants, and what the last planning run said of it.

- ``contact_request``: ``contacts_per_day`` (NULL: at least one contact in the window),
  ``planned_at`` (the last booking planning run that covered it) and ``last_reasons``
  (that run's explanations of what stayed unserved, a JSON list; NULL: no run yet).

The new columns are nullable and added in place (``ALTER TABLE ... ADD COLUMN``).  As in
the earlier revisions, what is already there (a database made by ``store.init_db``) is
left alone.

Revision ID: 0008
Revises: 0007
Create Date: 2027-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from groundshare.store.types import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# store.models' optional JSON document, frozen here: None is SQL NULL.
_NULLABLE_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def _columns() -> list[sa.Column]:
    return [sa.Column("contacts_per_day", sa.Integer(), nullable=True),
            sa.Column("planned_at", UtcDateTime(), nullable=True),
            sa.Column("last_reasons", _NULLABLE_JSON, nullable=True)]


def upgrade() -> None:
    """Add the request's columns that are missing."""
    existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("contact_request")}
    for column in _columns():
        if column.name not in existing:
            op.add_column("contact_request", column)


def downgrade() -> None:
    for column in reversed(_columns()):
        op.drop_column("contact_request", column.name)  # in place (SQLite 3.35+)
