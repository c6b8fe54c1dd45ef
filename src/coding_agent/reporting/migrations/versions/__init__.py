"""Alembic revision files of the reporting tables."""
