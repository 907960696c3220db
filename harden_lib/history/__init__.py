"""Run history: every completed run and its findings, for diff, trends, drift and retention.

``harden_lib.history.store`` is the store (SQLAlchemy Core; SQLite by default, PostgreSQL by
URL; Alembic migrations); ``harden_lib.history.params`` the ``history:``/``notify:`` params
sections. Submodules are imported where they are used, so loading params never imports
SQLAlchemy.
"""
