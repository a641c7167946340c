"""Launch and early orbit: campaigns, their contacts' search patterns, and two more element-set sources.

- ``leop_campaign``: a newly deployed satellite's deployment (as given), its timing
  uncertainty, how many stations per orbit its first contacts want, and what the last
  booking run and identification said;
- ``contact``: ``leop_campaign_id`` (the campaign that booked it; SET NULL) and
  ``search_pattern`` (where the antenna waits and which arc it sweeps).  On SQLite adding a
  named foreign key rebuilds the table, which drops the booking guards' triggers: they are
  made again (``store.guards.create_guards``);
- ``element_source.kind`` and ``source_fetch.kind`` also take ``leop`` (the launch
  provider's prediction) and ``fit`` (fitted to the satellite's own receptions): their
  CHECK constraints are replaced (in a batch on SQLite, which rebuilds those two tables;
  neither has triggers).

As in the earlier revisions, what is already there (a database made by ``store.init_db``)
is left alone.

Revision ID: 0010
Revises: 0009
Create Date: 2027-04-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import conv

from groundshare.store.guards import create_guards
from groundshare.store.types import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# store.models' optional JSON document, frozen here: None is SQL NULL.
_NULLABLE_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
OLD_SOURCE_KINDS = ("upload", "celestrak", "supgp", "spacetrack")
SOURCE_KINDS = (*OLD_SOURCE_KINDS, "leop", "fit")
# (table, the enum's name): each enum's CHECK constraint is named ck_<table>_<enum name>.
KIND_CHECKS = (("element_source", "source_kind"), ("source_fetch", "source_fetch_kind"))


def _in(values: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _replace_kind_checks(values: tuple[str, ...]) -> None:
    for table, name in KIND_CHECKS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(conv(f"ck_{table}_{name}"), type_="check")
            batch.create_check_constraint(conv(f"ck_{table}_{name}"), _in(values))


def upgrade() -> None:
    """Add the campaign table, the contact's columns and the new source kinds, where missing."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if "leop_campaign" in inspector.get_table_names():
        return  # made by init_db (or upgraded already)
    op.create_table(
        "leop_campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("satellite_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("deploy_time", UtcDateTime(), nullable=False),
        sa.Column("deploy_uncertainty_s", sa.Float(), nullable=False),
        sa.Column("separation_dv_m_s", sa.Float(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("stations_per_orbit", sa.Integer(), nullable=False),
        sa.Column("step_s", sa.Float(), nullable=False),
        sa.Column("deployment_text", sa.Text(), nullable=False),
        sa.Column("deployment_format", sa.String(length=16), nullable=False),
        sa.Column("status", sa.Enum("active", "ended", name="leop_status", native_enum=False,
                                    create_constraint=True, length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("booked_at", UtcDateTime(), nullable=True),
        sa.Column("last_booking", _NULLABLE_JSON, nullable=True),
        sa.Column("identification", _NULLABLE_JSON, nullable=True),
        sa.CheckConstraint("stations_per_orbit BETWEEN 1 AND 20",
                           name=conv("ck_leop_campaign_stations_per_orbit_range")),
        sa.CheckConstraint("hours > 0 AND hours <= 240", name=conv("ck_leop_campaign_hours_range")),
        sa.CheckConstraint("deploy_uncertainty_s >= 0 AND separation_dv_m_s >= 0",
                           name=conv("ck_leop_campaign_uncertainty_nonnegative")),
        sa.ForeignKeyConstraint(["org_id"], ["organisation.id"], name=conv("fk_leop_campaign_org_id_organisation"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["satellite_id"], ["satellite.id"],
                                name=conv("fk_leop_campaign_satellite_id_satellite"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=conv("pk_leop_campaign")),
    )
    op.create_index(conv("ix_leop_campaign_org_id"), "leop_campaign", ["org_id"])
    op.create_index(conv("ix_leop_campaign_satellite_id"), "leop_campaign", ["satellite_id"])

    contact = {c["name"] for c in inspector.get_columns("contact")}
    if "leop_campaign_id" not in contact:
        # SQLite rebuilds the table to add a named foreign key, which drops the booking guards' triggers:
        # they are made again below.
        with op.batch_alter_table("contact") as batch:
            batch.add_column(sa.Column("leop_campaign_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(conv("fk_contact_leop_campaign_id_leop_campaign"), "leop_campaign",
                                     ["leop_campaign_id"], ["id"], ondelete="SET NULL")
        op.create_index(conv("ix_contact_leop_campaign_id"), "contact", ["leop_campaign_id"])
    if "search_pattern" not in contact:
        op.add_column("contact", sa.Column("search_pattern", _NULLABLE_JSON, nullable=True))
    create_guards(bind)  # those a rebuild dropped; present ones are left alone
    _replace_kind_checks(SOURCE_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM element_source WHERE kind IN ('leop', 'fit')")
    op.execute("DELETE FROM source_fetch WHERE kind IN ('leop', 'fit')")
    _replace_kind_checks(OLD_SOURCE_KINDS)
    op.drop_index(conv("ix_contact_leop_campaign_id"), table_name="contact")
    with op.batch_alter_table("contact") as batch:
        batch.drop_constraint(conv("fk_contact_leop_campaign_id_leop_campaign"), type_="foreignkey")
        batch.drop_column("search_pattern")
        batch.drop_column("leop_campaign_id")
    create_guards(op.get_bind())
    op.drop_table("leop_campaign")
