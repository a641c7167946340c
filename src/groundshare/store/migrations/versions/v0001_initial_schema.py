"""Create the schema: every table of ``store.models`` as of 2026-11 and the double-booking guards.

The tables are written out here (not taken from ``store.models``), so that this revision
keeps creating the same schema when later revisions change the models.  They are built
on a private ``MetaData`` with the models' naming convention, so constraint names match
``store.models`` exactly (``tests/store/test_migrations.py`` checks that).

The guards are ``store.guards``' SQL text for the dialect: an exclusion constraint (with the
``btree_gist`` extension) on PostgreSQL, ``BEFORE INSERT``/``BEFORE UPDATE`` triggers on
SQLite.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import conv

from groundshare.store.guards import OVERLAP_GUARD, create_guards
from groundshare.store.types import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# store.models.NAMING_CONVENTION, frozen here with the tables.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(name: str, *values: str) -> sa.Enum:
    """Return the models' portable enum: the values in a VARCHAR(16) with a CHECK constraint."""
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _schema() -> sa.MetaData:
    """Return the tables this revision creates, in dependency order."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    sa.Table(
        "organisation",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", _enum("org_kind", "agency", "company", "university"), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=conv("pk_organisation")),
        sa.UniqueConstraint("name", name=conv("uq_organisation_name")),
    )
    sa.Table(
        "api_token",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("role", _enum("token_role", "admin", "operator", "viewer"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=conv("fk_api_token_org_id_organisation"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=conv("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=conv("uq_api_token_token_hash")),
        sa.Index(conv("ix_api_token_org_id"), "org_id"),
    )
    sa.Table(
        "satellite",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("norad_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("norad_id > 0", name=conv("ck_satellite_norad_id_positive")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=conv("fk_satellite_org_id_organisation"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=conv("pk_satellite")),
        sa.UniqueConstraint("norad_id", name=conv("uq_satellite_norad_id")),
        sa.Index(conv("ix_satellite_org_id"), "org_id"),
    )
    sa.Table(
        "station",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("lat_deg", sa.Float(), nullable=False),
        sa.Column("lon_deg", sa.Float(), nullable=False),
        sa.Column("alt_m", sa.Float(), nullable=False),
        sa.Column("min_elevation_deg", sa.Float(), nullable=False),
        sa.Column("horizon_mask", _JSON, nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("alt_m BETWEEN -500 AND 10000", name=conv("ck_station_alt_range")),
        sa.CheckConstraint("lat_deg BETWEEN -90 AND 90", name=conv("ck_station_lat_range")),
        sa.CheckConstraint("lon_deg BETWEEN -180 AND 180", name=conv("ck_station_lon_range")),
        sa.CheckConstraint("min_elevation_deg BETWEEN -10 AND 89", name=conv("ck_station_min_elevation_range")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=conv("fk_station_org_id_organisation"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=conv("pk_station")),
        sa.UniqueConstraint("org_id", "name", name=conv("uq_station_org_id_name")),
        sa.Index(conv("ix_station_org_id"), "org_id"),
    )
    sa.Table(
        "antenna",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("band", _enum("band", "vhf", "uhf", "l", "s", "c", "x", "ku", "k", "ka"), nullable=False),
        sa.Column("setup_s", sa.Float(), nullable=False),
        sa.Column("turnaround_s", sa.Float(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("setup_s >= 0", name=conv("ck_antenna_setup_nonnegative")),
        sa.CheckConstraint("turnaround_s >= 0", name=conv("ck_antenna_turnaround_nonnegative")),
        sa.ForeignKeyConstraint(
            ["station_id"], ["station.id"], name=conv("fk_antenna_station_id_station"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=conv("pk_antenna")),
        sa.UniqueConstraint("station_id", "name", name=conv("uq_antenna_station_id_name")),
        sa.Index(conv("ix_antenna_station_id"), "station_id"),
    )
    sa.Table(
        "contact_request",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("satellite_id", sa.Integer(), nullable=False),
        sa.Column("window_start", UtcDateTime(), nullable=False),
        sa.Column("window_end", UtcDateTime(), nullable=False),
        sa.Column("min_duration_s", sa.Float(), nullable=False),
        sa.Column("min_elevation_deg", sa.Float(), nullable=False),
        sa.Column("min_volume_bytes", sa.BigInteger(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", _enum("request_status", "open", "scheduled", "unsatisfiable", "cancelled"), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("min_duration_s >= 0", name=conv("ck_contact_request_min_duration_nonnegative")),
        sa.CheckConstraint("window_start < window_end", name=conv("ck_contact_request_window_order")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=conv("fk_contact_request_org_id_organisation"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["satellite_id"],
            ["satellite.id"],
            name=conv("fk_contact_request_satellite_id_satellite"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=conv("pk_contact_request")),
        sa.Index(conv("ix_contact_request_org_id"), "org_id"),
        sa.Index(conv("ix_contact_request_satellite_id"), "satellite_id"),
    )
    sa.Table(
        "element_set",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("satellite_id", sa.Integer(), nullable=False),
        sa.Column("epoch", UtcDateTime(), nullable=False),
        sa.Column("format", _enum("element_text_format", "tle", "json", "csv", "xml", "kvn"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["satellite_id"], ["satellite.id"], name=conv("fk_element_set_satellite_id_satellite"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=conv("pk_element_set")),
        sa.Index(conv("ix_element_set_satellite_epoch"), "satellite_id", "epoch"),
    )
    sa.Table(
        "contact",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("antenna_id", sa.Integer(), nullable=False),
        sa.Column("satellite_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("start_time", UtcDateTime(), nullable=False),
        sa.Column("end_time", UtcDateTime(), nullable=False),
        sa.Column("busy_until", UtcDateTime(), nullable=False),
        sa.Column(
            "status",
            _enum("contact_status", "scheduled", "in_progress", "completed", "failed", "cancelled"),
            nullable=False,
        ),
        sa.Column("snapshot", _JSON, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("bytes_received", sa.BigInteger(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("busy_until >= end_time", name=conv("ck_contact_busy_covers_contact")),
        sa.CheckConstraint("bytes_received IS NULL OR bytes_received >= 0", name=conv("ck_contact_bytes_nonnegative")),
        sa.CheckConstraint("start_time < end_time", name=conv("ck_contact_time_order")),
        sa.ForeignKeyConstraint(
            ["antenna_id"], ["antenna.id"], name=conv("fk_contact_antenna_id_antenna"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=conv("fk_contact_org_id_organisation"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["contact_request.id"],
            name=conv("fk_contact_request_id_contact_request"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["satellite_id"], ["satellite.id"], name=conv("fk_contact_satellite_id_satellite"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=conv("pk_contact")),
        sa.UniqueConstraint("org_id", "idempotency_key", name=conv("uq_contact_org_id_idempotency_key")),
        sa.Index(conv("ix_contact_antenna_start"), "antenna_id", "start_time"),
        sa.Index(conv("ix_contact_org_id"), "org_id"),
        sa.Index(conv("ix_contact_satellite_id"), "satellite_id"),
    )
    sa.Table(
        "sharing_policy",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("grantee_org_id", sa.Integer(), nullable=False),
        sa.Column("antenna_id", sa.Integer(), nullable=False),
        sa.Column("bands", _JSON, nullable=False),
        sa.Column("hours_per_week", sa.Float(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("blackout_windows", _JSON, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "hours_per_week IS NULL OR hours_per_week >= 0", name=conv("ck_sharing_policy_hours_nonnegative")
        ),
        sa.CheckConstraint("owner_org_id <> grantee_org_id", name=conv("ck_sharing_policy_not_self")),
        sa.ForeignKeyConstraint(
            ["antenna_id"], ["antenna.id"], name=conv("fk_sharing_policy_antenna_id_antenna"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["grantee_org_id"],
            ["organisation.id"],
            name=conv("fk_sharing_policy_grantee_org_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organisation.id"],
            name=conv("fk_sharing_policy_owner_org_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=conv("pk_sharing_policy")),
        sa.UniqueConstraint("antenna_id", "grantee_org_id", name=conv("uq_sharing_policy_antenna_id_grantee_org_id")),
        sa.Index(conv("ix_sharing_policy_grantee_org_id"), "grantee_org_id"),
        sa.Index(conv("ix_sharing_policy_owner_org_id"), "owner_org_id"),
    )
    return metadata


def upgrade() -> None:
    """Create the tables, then the guard of this dialect (btree_gist first on PostgreSQL).

    Tables and guards that already exist are left alone, so a database made by
    ``store.init_db`` (same schema, no revision recorded) is adopted rather than refused.
    """
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS btree_gist")
    _schema().create_all(bind)
    create_guards(bind, only=OVERLAP_GUARD)  # store.guards' SQL text of the antenna guard, skipped when present


def downgrade() -> None:
    """Drop every table (their guards go with them); btree_gist stays, other schemas may use it."""
    _schema().drop_all(op.get_bind())
