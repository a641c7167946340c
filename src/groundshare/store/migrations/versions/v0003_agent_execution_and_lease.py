"""What the station agent needs and reports: the uplink, how a contact ran, one agent per station.

- ``satellite``: ``uplink_frequency_hz`` (the agent pre-corrects it for Doppler);
- ``contact``: ``execution`` (JSON: pointing error, commands sent, failures, as reported);
- ``agent_lease``: a new table, at most one row per station, naming the agent that runs it
  until ``expires_at`` (``store.lease``).

The new columns are nullable ("not said"), so existing rows need no value.  As in 0002,
what is already there (a database made by ``store.init_db``) is left alone.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import conv

from groundshare.store.types import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# store.models' optional JSON document, frozen here: None is SQL NULL.
_NULLABLE_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    """Add the columns and the table; those already there are left alone."""
    inspector = sa.inspect(op.get_bind())

    def has_column(table: str, column: str) -> bool:
        return column in {c["name"] for c in inspector.get_columns(table)}

    if not has_column("satellite", "uplink_frequency_hz"):
        with op.batch_alter_table("satellite") as batch:
            batch.add_column(sa.Column("uplink_frequency_hz", sa.Float(), nullable=True))
    if not has_column("contact", "execution"):
        with op.batch_alter_table("contact") as batch:
            batch.add_column(sa.Column("execution", _NULLABLE_JSON, nullable=True))
    if "agent_lease" not in inspector.get_table_names():
        op.create_table(
            "agent_lease",
            sa.Column("station_id", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("agent_id", sa.String(length=200), nullable=False),
            sa.Column("acquired_at", UtcDateTime(), nullable=False),
            sa.Column("renewed_at", UtcDateTime(), nullable=False),
            sa.Column("expires_at", UtcDateTime(), nullable=False),
            sa.ForeignKeyConstraint(["station_id"], ["station.id"], name=conv("fk_agent_lease_station_id_station"),
                                    ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("station_id", name=conv("pk_agent_lease")),
        )


def downgrade() -> None:
    op.drop_table("agent_lease")
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("execution")
    with op.batch_alter_table("satellite") as batch:
        batch.drop_column("uplink_frequency_hz")
