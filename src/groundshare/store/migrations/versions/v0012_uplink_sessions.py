"""Live uplink sessions: tokens allowed to command, and queued frames settled once.

- ``api_token``: ``can_command`` (false for every existing token: commanding needs a token
  made for it) and ``command_satellite_ids`` (empty: every satellite of the organisation);
- ``uplink_frame``: ``client_ref`` (the operator's name of a frame, unique within its
  contact, so that a frame sent again after a reconnection is not queued twice) and
  ``not_sent_reason``; a partial index on the station's queued frames;
- the audit trail's triggers are replaced: DELETE is still refused, and UPDATE is refused
  except the one that settles a queued frame once (``on_air_at`` or ``not_sent_reason``).

Columns are added with ``op.add_column`` (no table rebuild on SQLite, so the triggers on
``contact`` and ``uplink_frame`` stay).

Revision ID: 0012
Revises: 0011
Create Date: 2027-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import conv

from groundshare.store.guards import create_append_only_guards, drop_append_only_guards

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_QUEUED = sa.text("on_air_at IS NULL AND not_sent_reason IS NULL")


def upgrade() -> None:
    """Add the columns and indexes where missing; replace the audit trail's triggers."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    token = {c["name"] for c in inspector.get_columns("api_token")}
    if "can_command" not in token:
        op.add_column("api_token", sa.Column("can_command", sa.Boolean(), nullable=False, server_default=sa.false()))
    if "command_satellite_ids" not in token:
        op.add_column("api_token", sa.Column("command_satellite_ids", _JSON, nullable=False, server_default="[]"))
    frame = {c["name"] for c in inspector.get_columns("uplink_frame")}
    if "client_ref" not in frame:
        op.add_column("uplink_frame", sa.Column("client_ref", sa.String(length=64), nullable=True))
    if "not_sent_reason" not in frame:
        op.add_column("uplink_frame", sa.Column("not_sent_reason", sa.Text(), nullable=True))
    indexes = {i["name"] for i in inspector.get_indexes("uplink_frame")}
    if "ix_uplink_frame_contact_ref" not in indexes:
        op.create_index(conv("ix_uplink_frame_contact_ref"), "uplink_frame", ["contact_id", "client_ref"], unique=True)
    if "ix_uplink_frame_station_queued" not in indexes:
        op.create_index(conv("ix_uplink_frame_station_queued"), "uplink_frame", ["station_id", "id"],
                        sqlite_where=_QUEUED, postgresql_where=_QUEUED)
    drop_append_only_guards(bind)
    create_append_only_guards(bind)


def downgrade() -> None:
    bind = op.get_bind()
    drop_append_only_guards(bind)
    op.drop_index("ix_uplink_frame_station_queued", table_name="uplink_frame")
    op.drop_index("ix_uplink_frame_contact_ref", table_name="uplink_frame")
    # In place (SQLite 3.35+), as the other revisions drop columns: a batch rebuild of api_token drops the table
    # that uplink_frame and transmit_inhibit refer to, which SQLite refuses with foreign keys on once they have rows.
    op.drop_column("uplink_frame", "not_sent_reason")
    op.drop_column("uplink_frame", "client_ref")
    create_append_only_guards(bind, settle=False)
    op.drop_column("api_token", "command_satellite_ids")
    op.drop_column("api_token", "can_command")
