"""Alembic migrations; run them with `backbone db upgrade`."""
