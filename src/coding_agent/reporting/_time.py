"""UTC normalisation shared by the stores: every timestamp is stored and returned in UTC.

SQLite has no time-zone type (it keeps text), so values are written as naive UTC there and tagged UTC
again when read back; PostgreSQL's ``timestamptz`` keeps the zone itself.
"""

from __future__ import annotations

from datetime import UTC, datetime


def to_db(value: datetime, dialect: str) -> datetime:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    # Naive UTC text sorts chronologically in SQLite, so ORDER BY timestamp stays right.
    return value.replace(tzinfo=None) if dialect == "sqlite" else value


def from_db(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
