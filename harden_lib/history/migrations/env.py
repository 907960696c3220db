"""Alembic environment: migrations always run on the connection ``HistoryStore.migrate`` holds.

That connection is inside a transaction that serialises migrations across processes (SQLite:
``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock), so two runs creating the store at the same
time do not both try to create its tables.
"""

from __future__ import annotations

from alembic import context

from harden_lib.history.store import METADATA

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=METADATA, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
