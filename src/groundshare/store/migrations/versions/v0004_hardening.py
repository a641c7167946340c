"""Shared-network hardening: receive-only and uplink contacts, satellites per organisation, token expiry,
one network clock.

- ``contact``: ``uplink`` (False for every existing contact: receive-only), and the
  ``store.guards`` uplink guard (two live uplink contacts of one satellite never overlap);
- ``satellite``: NORAD numbers unique per organisation (``uq_satellite_org_id_norad_id``)
  instead of across the network, an index on ``norad_id``, and ``uplink_org_ids``
  (organisations the operator lets book uplink contacts; empty);
- ``api_token``: ``expires_at`` and ``last_used_at`` (both NULL: never expires, never used
  since this revision);
- ``network_clock``: a new table of at most one row (no row: the wall clock).

On SQLite the satellite table is rebuilt (its old UNIQUE cannot be dropped in place);
``store.migrate`` runs revisions with foreign keys off and checks them afterwards.  As in
0002 and 0003, what is already there (a database made by ``store.init_db``) is left alone.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.sql.elements import conv

from groundshare.store.guards import UPLINK_GUARD, create_guards
from groundshare.store.types import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# store.models' list document, frozen here.
_JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Add the columns, the guard, the table and the per-organisation uniqueness; what is there is left alone."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)

    def has_column(table: str, column: str) -> bool:
        return column in {c["name"] for c in inspector.get_columns(table)}

    if not has_column("contact", "uplink"):
        # A plain ADD COLUMN: a batch rebuild of ``contact`` would drop its guard triggers on SQLite.
        op.add_column("contact", sa.Column("uplink", sa.Boolean(), nullable=False, server_default=sa.false()))
    for column in ("expires_at", "last_used_at"):
        if not has_column("api_token", column):
            with op.batch_alter_table("api_token") as batch:
                batch.add_column(sa.Column(column, UtcDateTime(), nullable=True))
    uniques = {u["name"] for u in inspector.get_unique_constraints("satellite")}
    indexes = {i["name"] for i in inspector.get_indexes("satellite")}
    if "uq_satellite_norad_id" in uniques or not has_column("satellite", "uplink_org_ids"):
        with op.batch_alter_table("satellite") as batch:
            if not has_column("satellite", "uplink_org_ids"):
                batch.add_column(sa.Column("uplink_org_ids", _JSON, nullable=False, server_default="[]"))
            if "uq_satellite_norad_id" in uniques:
                batch.drop_constraint(conv("uq_satellite_norad_id"), type_="unique")
    if "uq_satellite_org_id_norad_id" not in uniques:
        with op.batch_alter_table("satellite") as batch:
            batch.create_unique_constraint(conv("uq_satellite_org_id_norad_id"), ["org_id", "norad_id"])
    if "ix_satellite_norad_id" not in indexes:
        op.create_index(conv("ix_satellite_norad_id"), "satellite", ["norad_id"])
    create_guards(bind, only=UPLINK_GUARD)
    if "network_clock" not in inspector.get_table_names():
        op.create_table(
            "network_clock",
            sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("network_at", UtcDateTime(), nullable=False),
            sa.Column("wall_at", UtcDateTime(), nullable=False),
            sa.Column("reason", sa.String(length=500), nullable=False),
            sa.CheckConstraint("id = 1", name=conv("ck_network_clock_single_row")),
            sa.PrimaryKeyConstraint("id", name=conv("pk_network_clock")),
        )


def downgrade() -> None:
    op.drop_table("network_clock")
    op.drop_index(conv("ix_satellite_norad_id"), "satellite")
    with op.batch_alter_table("satellite") as batch:
        batch.drop_constraint(conv("uq_satellite_org_id_norad_id"), type_="unique")
        batch.create_unique_constraint(conv("uq_satellite_norad_id"), ["norad_id"])
        batch.drop_column("uplink_org_ids")
    with op.batch_alter_table("api_token") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("expires_at")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(f"ALTER TABLE contact DROP CONSTRAINT IF EXISTS {UPLINK_GUARD}")
    else:
        for when in ("insert", "update"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {UPLINK_GUARD}_{when}")
    op.drop_column("contact", "uplink")  # SQLite 3.35+ drops a column in place, keeping the antenna guard
