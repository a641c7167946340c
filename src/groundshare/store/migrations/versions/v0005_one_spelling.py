"""One spelling per quantity: ``antenna.g_over_t_db_k`` becomes ``g_over_t_dbk``, as the link budget spells it.

The column is renamed in place (``ALTER TABLE ... RENAME COLUMN``, SQLite 3.25+ and
PostgreSQL), which keeps its values and the guards on other tables.  Contact snapshots
written before this revision keep the old key inside their JSON; readers accept both.
A database made by ``store.init_db`` already has the new name and is left alone.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("antenna")}
    if "g_over_t_db_k" in columns:
        op.alter_column("antenna", "g_over_t_db_k", new_column_name="g_over_t_dbk")


def downgrade() -> None:
    op.alter_column("antenna", "g_over_t_dbk", new_column_name="g_over_t_db_k")
