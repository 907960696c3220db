"""Alembic migrations of the history store (run by ``HistoryStore.migrate``, never by hand needed)."""
