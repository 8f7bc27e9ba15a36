"""The metadata store: SQLAlchemy models, the database handle and Alembic migrations.

In: a database URL (SQLite file by default, PostgreSQL when ``SLUICEWAY_DATABASE_URL`` names
one). Out: :class:`~sluiceway.store.db.Database` (sessions, the SQLite single-writer lock)
and the models in :mod:`sluiceway.store.models`. Nothing here knows HTTP or the engine.
"""
