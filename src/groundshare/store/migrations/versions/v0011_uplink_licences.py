"""Uplink as data: licences, the sharing policy's uplink terms, the audit trail and the transmit inhibit.

- ``sharing_policy``: ``uplink_allowed`` (false for every existing policy: uplink through a
  partner's antenna now needs the owner to say so), ``uplink_bands`` and
  ``uplink_satellite_ids`` (empty lists);
- ``uplink_licence``: which satellite may be commanded from which station, over which dates;
- ``uplink_frame``: every uplinked frame, append-only: triggers refuse UPDATE and DELETE on
  both backends (``store.guards.create_append_only_guards``);
- ``transmit_inhibit``: a station owner's stop on transmission, at most one open per
  station (a partial unique index where ``lifted_at IS NULL``).

Columns are added with ``op.add_column`` (no table rebuild on SQLite, so the booking guards'
triggers on ``contact`` stay); ``create_guards`` is still called, which leaves present
guards alone.  What is already there (a database made by ``store.init_db``) is left alone.

Revision ID: 0011
Revises: 0010
Create Date: 2027-05-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import conv

from groundshare.store.guards import create_append_only_guards, create_guards
from groundshare.store.types import UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_OPEN = sa.text("lifted_at IS NULL")


def upgrade() -> None:
    """Add the policy's uplink columns and the three tables, where missing."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    policy = {c["name"] for c in inspector.get_columns("sharing_policy")}
    if "uplink_allowed" not in policy:
        op.add_column("sharing_policy", sa.Column("uplink_allowed", sa.Boolean(), nullable=False,
                                                  server_default=sa.false()))
    if "uplink_bands" not in policy:
        op.add_column("sharing_policy", sa.Column("uplink_bands", _JSON, nullable=False, server_default="[]"))
    if "uplink_satellite_ids" not in policy:
        op.add_column("sharing_policy", sa.Column("uplink_satellite_ids", _JSON, nullable=False,
                                                  server_default="[]"))
    tables = set(inspector.get_table_names())
    if "uplink_licence" not in tables:
        op.create_table(
            "uplink_licence",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("station_id", sa.Integer(), nullable=False),
            sa.Column("satellite_id", sa.Integer(), nullable=False),
            sa.Column("reference", sa.Text(), nullable=False),
            sa.Column("valid_from", UtcDateTime(), nullable=False),
            sa.Column("valid_until", UtcDateTime(), nullable=False),
            sa.Column("created_by_org_id", sa.Integer(), nullable=False),
            sa.Column("created_at", UtcDateTime(), nullable=False),
            sa.CheckConstraint("valid_from < valid_until", name=conv("ck_uplink_licence_validity_order")),
            sa.ForeignKeyConstraint(["station_id"], ["station.id"], name=conv("fk_uplink_licence_station_id_station"),
                                    ondelete="CASCADE"),
            sa.ForeignKeyConstraint(["satellite_id"], ["satellite.id"],
                                    name=conv("fk_uplink_licence_satellite_id_satellite"), ondelete="CASCADE"),
            sa.ForeignKeyConstraint(["created_by_org_id"], ["organisation.id"],
                                    name=conv("fk_uplink_licence_created_by_org_id_organisation"), ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id", name=conv("pk_uplink_licence")),
        )
        op.create_index(conv("ix_uplink_licence_satellite_id"), "uplink_licence", ["satellite_id"])
        op.create_index(conv("ix_uplink_licence_station_satellite"), "uplink_licence", ["station_id", "satellite_id"])
    if "uplink_frame" not in tables:
        restrict = {"ondelete": "RESTRICT"}
        op.create_table(
            "uplink_frame",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("contact_id", sa.Integer(), nullable=False),
            sa.Column("satellite_id", sa.Integer(), nullable=False),
            sa.Column("station_id", sa.Integer(), nullable=False),
            sa.Column("org_id", sa.Integer(), nullable=False),
            sa.Column("token_id", sa.Integer(), nullable=True),
            sa.Column("sent_at", UtcDateTime(), nullable=False),
            sa.Column("on_air_at", UtcDateTime(), nullable=True),
            sa.Column("sha256", sa.String(length=64), nullable=False),
            sa.Column("length", sa.Integer(), nullable=False),
            sa.Column("payload", sa.LargeBinary(), nullable=False),
            sa.CheckConstraint("length >= 0", name=conv("ck_uplink_frame_length_nonnegative")),
            sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], name=conv("fk_uplink_frame_contact_id_contact"),
                                    **restrict),
            sa.ForeignKeyConstraint(["satellite_id"], ["satellite.id"],
                                    name=conv("fk_uplink_frame_satellite_id_satellite"), **restrict),
            sa.ForeignKeyConstraint(["station_id"], ["station.id"], name=conv("fk_uplink_frame_station_id_station"),
                                    **restrict),
            sa.ForeignKeyConstraint(["org_id"], ["organisation.id"], name=conv("fk_uplink_frame_org_id_organisation"),
                                    **restrict),
            sa.ForeignKeyConstraint(["token_id"], ["api_token.id"], name=conv("fk_uplink_frame_token_id_api_token"),
                                    **restrict),
            sa.PrimaryKeyConstraint("id", name=conv("pk_uplink_frame")),
        )
        op.create_index(conv("ix_uplink_frame_contact_sent"), "uplink_frame", ["contact_id", "sent_at"])
        op.create_index(conv("ix_uplink_frame_satellite_id"), "uplink_frame", ["satellite_id"])
        op.create_index(conv("ix_uplink_frame_station_id"), "uplink_frame", ["station_id"])
        op.create_index(conv("ix_uplink_frame_org_id"), "uplink_frame", ["org_id"])
    if "transmit_inhibit" not in tables:
        op.create_table(
            "transmit_inhibit",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("station_id", sa.Integer(), nullable=False),
            sa.Column("raised_by_org_id", sa.Integer(), nullable=False),
            sa.Column("token_id", sa.Integer(), nullable=True),
            sa.Column("raised_at", UtcDateTime(), nullable=False),
            sa.Column("lifted_at", UtcDateTime(), nullable=True),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.ForeignKeyConstraint(["station_id"], ["station.id"], name=conv("fk_transmit_inhibit_station_id_station"),
                                    ondelete="CASCADE"),
            sa.ForeignKeyConstraint(["raised_by_org_id"], ["organisation.id"],
                                    name=conv("fk_transmit_inhibit_raised_by_org_id_organisation"), ondelete="CASCADE"),
            sa.ForeignKeyConstraint(["token_id"], ["api_token.id"],
                                    name=conv("fk_transmit_inhibit_token_id_api_token"), ondelete="SET NULL"),
            sa.PrimaryKeyConstraint("id", name=conv("pk_transmit_inhibit")),
        )
        op.create_index(conv("ix_transmit_inhibit_station_id"), "transmit_inhibit", ["station_id"])
        op.create_index(conv("ix_transmit_inhibit_open_station"), "transmit_inhibit", ["station_id"], unique=True,
                        sqlite_where=_OPEN, postgresql_where=_OPEN)
    create_guards(bind)  # present ones are left alone
    create_append_only_guards(bind, settle=False)  # the first form; revision 0012 replaces it


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS uplink_frame_append_only ON uplink_frame")
        op.execute("DROP FUNCTION IF EXISTS uplink_frame_append_only()")
    op.drop_table("transmit_inhibit")
    op.drop_table("uplink_frame")
    op.drop_table("uplink_licence")
    op.drop_column("sharing_policy", "uplink_satellite_ids")
    op.drop_column("sharing_policy", "uplink_bands")
    op.drop_column("sharing_policy", "uplink_allowed")
