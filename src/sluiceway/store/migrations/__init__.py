"""Alembic migrations, shipped with the package; :mod:`sluiceway.store.migrate` runs them."""
