"""Alembic migrations: the only owner of the schema."""
