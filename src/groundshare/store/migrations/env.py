"""Alembic's environment script: migrate the connection that ``store.migrate`` hands over.

There is no ``alembic.ini``: ``store.migrate`` builds the Alembic ``Config`` in code and
puts an open connection in ``config.attributes["connection"]``, so migrations run on an
engine from ``store.create_engine_for`` (SQLite pragmas and explicit BEGIN, psycopg 3 in
UTC) rather than one Alembic would build from a URL.
"""

from __future__ import annotations

from alembic import context

from groundshare.store.models import Base


def run_migrations() -> None:
    """Run the pending migrations on the connection ``store.migrate`` passed in."""
    connection = context.config.attributes["connection"]
    # render_as_batch lets later revisions ALTER SQLite tables (it rebuilds them).
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


try:
    context.config  # noqa: B018 - only set while Alembic runs this script
except (AttributeError, NameError):
    # Imported outside Alembic (pytest's --doctest-modules collects every module): do nothing.
    pass
else:
    run_migrations()
