"""Orbits that stay fresh: element-set sources, events, webhooks, fetch politeness and the worker's lease.

- ``element_source``: where a satellite's element sets come from, with a priority
  (``store.elements``);
- ``element_set``: ``source_id`` (the source it came from; SET NULL when the source is
  removed) and ``fetched_at``;
- ``event``, ``webhook``, ``webhook_delivery``: what happened, and whom to tell
  (``store.events``, ``store.webhooks``);
- ``source_fetch``: every request made to an element-set site (``store.fetches``);
- ``worker_lease``: the one worker of the database (``store.worker``).

Existing satellites get an ``upload`` source (priority 100) holding their stored sets
(``fetched_at`` = the set's ``created_at``) and a ``celestrak`` source by catalog number
(priority 50), so that what was in force stays in force.  As in the earlier revisions,
what is already there (a database made by ``store.init_db``) is left alone; the sources
are made only when this revision creates their table.

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import conv

from groundshare.store.types import UtcDateTime

revision = "0007"
down_revision = "0006"
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

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SOURCE_KINDS = ("upload", "celestrak", "supgp", "spacetrack")
QUERY_KINDS = ("catnr", "intdes", "group", "file")
NEW_TABLES = ("element_source", "event", "webhook", "webhook_delivery", "source_fetch", "worker_lease")


def _enum(name: str, *values: str) -> sa.Enum:
    """Return the models' portable enum: the values in a VARCHAR(16) with a CHECK constraint."""
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def _fk(target: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", ondelete=ondelete)


def _schema() -> sa.MetaData:
    """Return the tables this revision creates (and stubs of those they refer to)."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    for stub in ("organisation", "satellite", "station", "contact"):
        sa.Table(stub, metadata, sa.Column("id", sa.Integer(), primary_key=True))
    sa.Table(
        "element_source", metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("satellite_id", sa.Integer(), _fk("satellite", "CASCADE"), nullable=False,
                  index=True),
        sa.Column("kind", _enum("source_kind", *SOURCE_KINDS), nullable=False),
        sa.Column("query_kind", _enum("source_query_kind", *QUERY_KINDS), nullable=True),
        sa.Column("query_value", sa.String(length=200), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_fetched_at", UtcDateTime(), nullable=True),
        sa.Column("last_status", sa.Text(), nullable=True),
        sa.CheckConstraint("priority BETWEEN 0 AND 1000", name="priority_range"),
    )
    sa.Table(
        "event", metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("satellite_id", sa.Integer(), _fk("satellite", "SET NULL"), nullable=True),
        sa.Column("station_id", sa.Integer(), _fk("station", "SET NULL"), nullable=True),
        sa.Column("contact_id", sa.Integer(), _fk("contact", "SET NULL"), nullable=True),
        sa.Column("org_ids", _JSON, nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
    )
    sa.Table(
        "webhook", metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_id", sa.Integer(), _fk("organisation", "CASCADE"), nullable=False, index=True),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    sa.Table(
        "webhook_delivery", metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("webhook_id", sa.Integer(), _fk("webhook", "CASCADE"), nullable=False, index=True),
        sa.Column("event_id", sa.Integer(), _fk("event", "CASCADE"), nullable=False, index=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=True, index=True),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
    )
    sa.Table(
        "source_fetch", metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", _enum("source_fetch_kind", *SOURCE_KINDS), nullable=False),
        sa.Column("query", sa.String(length=500), nullable=False),
        sa.Column("fetched_at", UtcDateTime(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=50), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("next_allowed_at", UtcDateTime(), nullable=True),
        sa.Index("ix_source_fetch_kind_query", "kind", "query", "fetched_at"),
    )
    sa.Table(
        "worker_lease", metadata,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("worker_id", sa.String(length=200), nullable=False),
        sa.Column("acquired_at", UtcDateTime(), nullable=False),
        sa.Column("renewed_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("id = 1", name="single_row"),
    )
    return metadata


def upgrade() -> None:
    """Create the tables and columns that are missing, then the sources of the existing satellites."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    metadata = _schema()
    creating_sources = "element_source" not in existing
    metadata.create_all(bind, tables=[metadata.tables[name] for name in NEW_TABLES if name not in existing])
    columns = {c["name"] for c in inspector.get_columns("element_set")}
    if "source_id" not in columns:
        # In a batch: SQLite cannot add a foreign key in place, so the table is rebuilt (it has no triggers).
        with op.batch_alter_table("element_set") as batch:
            batch.add_column(sa.Column("source_id", sa.Integer(), nullable=True))
            batch.add_column(sa.Column("fetched_at", UtcDateTime(), nullable=True))
            batch.create_foreign_key(conv("fk_element_set_source_id_element_source"), "element_source",
                                     ["source_id"], ["id"], ondelete="SET NULL")
        op.create_index(conv("ix_element_set_source_epoch"), "element_set", ["source_id", "epoch"])
    if creating_sources:
        _default_sources(bind)


def _default_sources(bind: sa.Connection) -> None:
    """Give every satellite an upload source (holding its sets) and a CelesTrak source by catalog number."""
    satellite = sa.table("satellite", sa.column("id", sa.Integer()), sa.column("norad_id", sa.Integer()),
                         sa.column("created_at", UtcDateTime()))
    source = sa.table("element_source", *[sa.column(name) for name in (
        "satellite_id", "kind", "query_kind", "query_value", "priority", "enabled", "created_at")])
    element_set = sa.table("element_set", sa.column("id"), sa.column("satellite_id"), sa.column("source_id"),
                           sa.column("fetched_at"), sa.column("created_at"))
    names = ["satellite_id", "kind", "query_kind", "query_value", "priority", "enabled", "created_at"]
    bind.execute(source.insert().from_select(names, sa.select(
        satellite.c.id, sa.literal("upload"), sa.null(), sa.null(), sa.literal(100), sa.true(),
        satellite.c.created_at)))
    bind.execute(source.insert().from_select(names, sa.select(
        satellite.c.id, sa.literal("celestrak"), sa.literal("catnr"), sa.cast(satellite.c.norad_id, sa.String(200)),
        sa.literal(50), sa.true(), satellite.c.created_at)))
    upload = sa.table("element_source", sa.column("id"), sa.column("satellite_id"), sa.column("kind"))
    source_id = (sa.select(upload.c.id)
                 .where(upload.c.satellite_id == element_set.c.satellite_id, upload.c.kind == "upload")
                 .scalar_subquery())
    bind.execute(element_set.update().values(source_id=source_id, fetched_at=element_set.c.created_at))


def downgrade() -> None:
    op.drop_index(conv("ix_element_set_source_epoch"), "element_set")
    with op.batch_alter_table("element_set") as batch:
        batch.drop_constraint(conv("fk_element_set_source_id_element_source"), type_="foreignkey")
        batch.drop_column("fetched_at")
        batch.drop_column("source_id")
    for name in reversed(NEW_TABLES):
        op.drop_table(name)
