"""Alembic migrations of the reporting tables (applied by ``Database.migrate()``, no alembic.ini needed)."""
