"""SatNOGS stations: a station run by an unmodified satnogs-client, its scoped token, and what a job carries.

- ``station``: ``runner`` ('agent' or 'satnogs', NOT NULL, default 'agent', with its CHECK
  constraint), ``last_seen_at`` (the client's last job poll), ``satnogs_client_version`` and
  ``satnogs_status`` (what the last poll served and left out);
- ``api_token``: ``station_id`` (the station a SatNOGS token is scoped to; CASCADE), indexed;
- ``satellite``: ``mode`` (the client's flowgraph mode), ``baud`` and ``downlink_drift_ppb``;
- ``satnogs_upload``: each file a satnogs-client uploaded for a contact, so a repeat is refused.

``station`` and ``api_token`` are altered in a batch (SQLite cannot add a CHECK or a foreign
key in place, so the table is rebuilt; neither has triggers); the satellite's nullable columns
are added in place.  Existing stations are run by the agent.  As in the earlier revisions,
what is already there (a database made by ``store.init_db``) is left alone.

Revision ID: 0009
Revises: 0008
Create Date: 2027-03-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.sql.elements import conv

from groundshare.store.types import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

def upgrade() -> None:
    """Add the columns and the table that are missing."""
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())

    def columns(table: str) -> set[str]:
        return {c["name"] for c in inspector.get_columns(table)}

    station = columns("station")
    if "runner" not in station:
        with op.batch_alter_table("station") as batch:
            batch.add_column(sa.Column("runner", sa.String(length=16), nullable=False, server_default="agent"))
            batch.add_column(sa.Column("last_seen_at", UtcDateTime(), nullable=True))
            batch.add_column(sa.Column("satnogs_client_version", sa.String(length=100), nullable=True))
            batch.add_column(sa.Column("satnogs_status", sa.Text(), nullable=True))
            batch.create_check_constraint(conv("ck_station_station_runner"),
                                          "runner IN ('agent', 'satnogs')")
    if "station_id" not in columns("api_token"):
        with op.batch_alter_table("api_token") as batch:
            batch.add_column(sa.Column("station_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(conv("fk_api_token_station_id_station"), "station", ["station_id"], ["id"],
                                     ondelete="CASCADE")
            batch.create_index(conv("ix_api_token_station_id"), ["station_id"])
    satellite = columns("satellite")
    for column in (sa.Column("mode", sa.String(length=32), nullable=True),
                   sa.Column("baud", sa.Float(), nullable=True),
                   sa.Column("downlink_drift_ppb", sa.Integer(), nullable=True)):
        if column.name not in satellite:
            op.add_column("satellite", column)
    if "satnogs_upload" not in tables:
        op.create_table(
            "satnogs_upload",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("contact_id", sa.Integer(), nullable=False),
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("filename", sa.String(length=200), nullable=False),
            sa.Column("size_bytes", sa.BigInteger(), nullable=False),
            sa.Column("created_at", UtcDateTime(), nullable=False),
            sa.CheckConstraint("size_bytes >= 0", name=conv("ck_satnogs_upload_size_nonnegative")),
            sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], name=conv("fk_satnogs_upload_contact_id_contact"),
                                    ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id", name=conv("pk_satnogs_upload")),
            sa.UniqueConstraint("contact_id", "kind", "filename",
                                name=conv("uq_satnogs_upload_contact_id_kind_filename")),
        )
        op.create_index(conv("ix_satnogs_upload_contact_id"), "satnogs_upload", ["contact_id"])


def downgrade() -> None:
    op.drop_table("satnogs_upload")
    for name in ("downlink_drift_ppb", "baud", "mode"):
        op.drop_column("satellite", name)  # in place (SQLite 3.35+)
    with op.batch_alter_table("api_token") as batch:
        batch.drop_index(conv("ix_api_token_station_id"))
        batch.drop_constraint(conv("fk_api_token_station_id_station"), type_="foreignkey")
        batch.drop_column("station_id")
    with op.batch_alter_table("station") as batch:
        batch.drop_constraint(conv("ck_station_station_runner"), type_="check")
        for name in ("satnogs_status", "satnogs_client_version", "last_seen_at", "runner"):
            batch.drop_column(name)
