"""The data comes home: frames kept once network-wide, their receptions, and artifacts.

- ``satellite``: ``decoder`` (the satnogs-decoders name of its frames; NULL: not decoded);
- ``contact``: ``frames_received`` (as the agent reports it; NULL: not reported);
- ``frame``: one payload of one satellite (``store.frames``), with its decoded fields;
- ``frame_reception``: one station having received a frame through one contact;
- ``artifact``: a file uploaded for a contact, kept in the artifact storage
  (``store.artifacts``), and ``artifact_upload``: an upload under way (resumable).

The new columns are nullable and added in place (``ALTER TABLE ... ADD COLUMN``, which
keeps the contact's guard triggers on SQLite).  As in the earlier revisions, what is
already there (a database made by ``store.init_db``) is left alone.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import conv

from groundshare.store.types import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# store.models' optional JSON document, frozen here: None is SQL NULL.
_NULLABLE_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=conv(f"fk_{table}_{column}_{target}"),
                                   ondelete=ondelete)


def upgrade() -> None:
    """Add the columns and the tables; those already there are left alone."""
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())

    def has_column(table: str, column: str) -> bool:
        return column in {c["name"] for c in inspector.get_columns(table)}

    if not has_column("satellite", "decoder"):
        op.add_column("satellite", sa.Column("decoder", sa.String(length=100), nullable=True))
    if not has_column("contact", "frames_received"):
        op.add_column("contact", sa.Column("frames_received", sa.BigInteger(), nullable=True))
    if "frame" not in tables:
        op.create_table(
            "frame",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("satellite_id", sa.Integer(), nullable=False),
            sa.Column("payload", sa.LargeBinary(), nullable=False),
            sa.Column("sha256", sa.String(length=64), nullable=False),
            sa.Column("size_bytes", sa.Integer(), nullable=False),
            sa.Column("received_at", UtcDateTime(), nullable=False),
            sa.Column("decoded", _NULLABLE_JSON, nullable=True),
            sa.Column("decoder", sa.String(length=100), nullable=True),
            sa.Column("decoder_version", sa.String(length=100), nullable=True),
            sa.Column("decode_error", sa.Text(), nullable=True),
            sa.Column("created_at", UtcDateTime(), nullable=False),
            sa.CheckConstraint("size_bytes > 0", name=conv("ck_frame_size_positive")),
            _fk("frame", "satellite_id", "satellite", "CASCADE"),
            sa.PrimaryKeyConstraint("id", name=conv("pk_frame")),
        )
        op.create_index(conv("ix_frame_satellite_received"), "frame", ["satellite_id", "received_at"])
        op.create_index(conv("ix_frame_satellite_sha256"), "frame", ["satellite_id", "sha256"])
    if "frame_reception" not in tables:
        op.create_table(
            "frame_reception",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("frame_id", sa.Integer(), nullable=False),
            sa.Column("station_id", sa.Integer(), nullable=False),
            sa.Column("contact_id", sa.Integer(), nullable=False),
            sa.Column("received_at", UtcDateTime(), nullable=False),
            sa.Column("outside_window", sa.Boolean(), nullable=False),
            sa.Column("created_at", UtcDateTime(), nullable=False),
            _fk("frame_reception", "frame_id", "frame", "CASCADE"),
            _fk("frame_reception", "station_id", "station", "RESTRICT"),
            _fk("frame_reception", "contact_id", "contact", "CASCADE"),
            sa.PrimaryKeyConstraint("id", name=conv("pk_frame_reception")),
            sa.UniqueConstraint("frame_id", "contact_id", name=conv("uq_frame_reception_frame_id_contact_id")),
        )
        op.create_index(conv("ix_frame_reception_station_id"), "frame_reception", ["station_id"])
        op.create_index(conv("ix_frame_reception_contact_id"), "frame_reception", ["contact_id"])
    if "artifact" not in tables:
        op.create_table(
            "artifact",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("contact_id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("sha256", sa.String(length=64), nullable=False),
            sa.Column("size_bytes", sa.BigInteger(), nullable=False),
            sa.Column("storage_key", sa.String(length=500), nullable=False),
            sa.Column("created_at", UtcDateTime(), nullable=False),
            sa.CheckConstraint("size_bytes >= 0", name=conv("ck_artifact_size_nonnegative")),
            _fk("artifact", "contact_id", "contact", "CASCADE"),
            sa.PrimaryKeyConstraint("id", name=conv("pk_artifact")),
            sa.UniqueConstraint("contact_id", "name", name=conv("uq_artifact_contact_id_name")),
        )
    if "artifact_upload" not in tables:
        op.create_table(
            "artifact_upload",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("contact_id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("sha256", sa.String(length=64), nullable=False),
            sa.Column("total_bytes", sa.BigInteger(), nullable=False),
            sa.Column("received_bytes", sa.BigInteger(), nullable=False),
            sa.Column("created_at", UtcDateTime(), nullable=False),
            sa.Column("updated_at", UtcDateTime(), nullable=False),
            sa.CheckConstraint("received_bytes BETWEEN 0 AND total_bytes",
                               name=conv("ck_artifact_upload_received_within_total")),
            _fk("artifact_upload", "contact_id", "contact", "CASCADE"),
            sa.PrimaryKeyConstraint("id", name=conv("pk_artifact_upload")),
            sa.UniqueConstraint("contact_id", "name", "sha256",
                                name=conv("uq_artifact_upload_contact_id_name_sha256")),
        )


def downgrade() -> None:
    op.drop_table("artifact_upload")
    op.drop_table("artifact")
    op.drop_table("frame_reception")
    op.drop_table("frame")
    op.drop_column("contact", "frames_received")  # in place (SQLite 3.35+), keeping the contact's guards
    with op.batch_alter_table("satellite") as batch:
        batch.drop_column("decoder")
