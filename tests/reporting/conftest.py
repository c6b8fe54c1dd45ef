"""Fixtures of the reporting tests: a migrated database on SQLite and on this machine's PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from coding_agent.redaction import redact_url
from coding_agent.reporting.database import Database, async_url

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
_pg_reachable: dict[str, str | None] = {}


async def _postgres_problem() -> str | None:
    """None when PostgreSQL answers, else why not (cached for the session)."""
    if "problem" not in _pg_reachable:
        import asyncpg

        dsn = async_url(POSTGRES_URL).replace("postgresql+asyncpg://", "postgresql://")
        try:
            conn = await asyncio.wait_for(asyncpg.connect(dsn, timeout=3), 5)
            await conn.close()
            _pg_reachable["problem"] = None
        except Exception as exc:
            _pg_reachable["problem"] = f"{type(exc).__name__}: {exc}"
    return _pg_reachable["problem"]


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/nested/dir/reporting.db"
    problem = await _postgres_problem()
    if problem is not None:
        message = f"PostgreSQL at {redact_url(POSTGRES_URL)} is unreachable ({problem})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message + "; set TEST_DATABASE_URL")
    return POSTGRES_URL


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database(db_url)
    await db.migrate()
    yield db
    await db.close()


@pytest.fixture
def uid() -> str:
    """A unique id per test: the PostgreSQL schema is shared between runs."""
    return uuid.uuid4().hex[:12]
