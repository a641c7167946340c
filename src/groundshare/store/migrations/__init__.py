"""Alembic migrations of the store; run them with ``store.migrate.upgrade`` or ``groundshare db upgrade``."""
