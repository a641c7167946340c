"""Radio and mount parameters of antennas and satellites; when a contact really ran.

- ``antenna``: ``g_over_t_db_k``, ``eirp_dbw``, ``az_slew_deg_s``, ``el_slew_deg_s``;
- ``satellite``: ``band``, ``downlink_frequency_hz``, ``downlink_eirp_dbw``, ``data_rate_bps``;
- ``contact``: ``started_at``, ``finished_at`` (reported by the station's agent).

Every new column is nullable ("not said"), so existing rows need no value.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.sql.elements import conv

from groundshare.store.types import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BANDS = ("vhf", "uhf", "l", "s", "c", "x", "ku", "k", "ka")
NEW_COLUMNS = {
    "antenna": ("g_over_t_db_k", "eirp_dbw", "az_slew_deg_s", "el_slew_deg_s"),
    "satellite": ("band", "downlink_frequency_hz", "downlink_eirp_dbw", "data_rate_bps"),
    "contact": ("started_at", "finished_at"),
}


def upgrade() -> None:
    """Add the columns; those already there (a database made by ``store.init_db``) are left alone."""
    inspector = sa.inspect(op.get_bind())

    def missing(table: str) -> set[str]:
        present = {c["name"] for c in inspector.get_columns(table)}
        if "g_over_t_dbk" in present:  # a database made by init_db after revision 0005 renamed the column
            present.add("g_over_t_db_k")
        return set(NEW_COLUMNS[table]) - present

    antenna, satellite, contact = missing("antenna"), missing("satellite"), missing("contact")
    if antenna:
        with op.batch_alter_table("antenna") as batch:
            for name in NEW_COLUMNS["antenna"]:
                if name in antenna:
                    batch.add_column(sa.Column(name, sa.Float(), nullable=True))
    if satellite:
        with op.batch_alter_table("satellite") as batch:
            for name in NEW_COLUMNS["satellite"]:
                if name == "band" and name in satellite:
                    batch.add_column(sa.Column("band", sa.String(length=16), nullable=True))
                    batch.create_check_constraint(conv("ck_satellite_satellite_band"),
                                                  "band IN (" + ", ".join(f"'{b}'" for b in BANDS) + ")")
                elif name in satellite:
                    batch.add_column(sa.Column(name, sa.Float(), nullable=True))
    if contact:
        with op.batch_alter_table("contact") as batch:
            for name in NEW_COLUMNS["contact"]:
                if name in contact:
                    batch.add_column(sa.Column(name, UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("finished_at")
        batch.drop_column("started_at")
    with op.batch_alter_table("satellite") as batch:
        batch.drop_constraint(conv("ck_satellite_satellite_band"), type_="check")
        for name in ("data_rate_bps", "downlink_eirp_dbw", "downlink_frequency_hz", "band"):
            batch.drop_column(name)
    with op.batch_alter_table("antenna") as batch:
        for name in ("el_slew_deg_s", "az_slew_deg_s", "eirp_dbw", "g_over_t_db_k"):
            batch.drop_column(name)
