"""Alembic migrations for every Linli table."""
