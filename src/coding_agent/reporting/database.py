"""The reporting database: one SQLAlchemy async engine and its Alembic migrations.

SQLite (the embedded default, via aiosqlite) and PostgreSQL (``DATABASE_URL``, via asyncpg) are both
supported. Several worker processes may share the database, so SQLite runs in WAL mode with a busy
timeout, and ``migrate()`` serialises concurrent upgrades: a PostgreSQL advisory lock on the migrating
connection, or an exclusive file lock next to the SQLite file. Migrations are applied programmatically
from this package; no alembic.ini is needed at run time.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from coding_agent.redaction import redact_url
from coding_agent.reporting.schema import VERSION_TABLE

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same in every worker (a cluster-wide lock name).
_PG_MIGRATION_LOCK_KEY = 7_223_074_410_927_001
_SQLITE_BUSY_TIMEOUT_MS = 10_000


class DatabaseError(RuntimeError):
    """The database could not be prepared; the message names the (redacted) URL and the cause."""


def async_url(url: str) -> str:
    """Accept URLs as the specification writes them (``postgresql://``, ``sqlite:///``); use async drivers."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url[len(plain) :]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


def _enable_sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (the CLI) and writers (several workers) work at once; the busy timeout makes a
    # writer wait for the lock instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Database:
    """An async engine for the reporting tables; ``migrate()`` before first use, ``close()`` at the end."""

    def __init__(self, url: str, *, connect_timeout: float = 5.0) -> None:
        self.url = async_url(url)
        self.display_url = redact_url(self.url)
        """The URL fit for logs and error messages (credentials masked)."""
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        self.sqlite_path: Path | None = None
        connect_args: dict[str, Any] = {}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                self.sqlite_path = Path(parsed.database).expanduser()
                self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            connect_args["timeout"] = _SQLITE_BUSY_TIMEOUT_MS / 1000
        elif self.dialect == "postgresql":
            # A dead server must fail fast: reporting may never hold a task up for long.
            connect_args["timeout"] = connect_timeout
        self._engine: AsyncEngine = create_async_engine(
            self.url, pool_pre_ping=True, connect_args=connect_args
        )
        if self.dialect == "sqlite":
            sa.event.listen(self._engine.sync_engine, "connect", _enable_sqlite_wal)
        self._migrated = False
        self._migrate_lock = asyncio.Lock()

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def migrate(self, *, lock_timeout: float = 120.0) -> None:
        """Upgrade the schema to the latest revision; safe when several workers start at once.

        Raises ``DatabaseError`` when the database cannot be reached or the upgrade fails.
        """
        async with self._migrate_lock:
            if self._migrated:
                return
            try:
                async with self._sqlite_file_lock(lock_timeout):
                    await self._upgrade()
            except DatabaseError:
                raise
            except Exception as exc:
                raise DatabaseError(
                    f"cannot migrate the reporting database at {self.display_url}: "
                    f"{type(exc).__name__}: {redact_url(str(exc))}"
                ) from exc
            self._migrated = True

    async def close(self) -> None:
        await self._engine.dispose()

    async def _upgrade(self) -> None:
        async with self._engine.connect() as conn:
            postgres = self.dialect == "postgresql"
            if postgres:
                # Session-level lock: it survives the commits Alembic makes and dies with the connection.
                await conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _PG_MIGRATION_LOCK_KEY})
                await conn.commit()
            try:
                await conn.run_sync(_run_alembic_upgrade)
                await conn.commit()
            finally:
                if postgres:
                    with contextlib.suppress(Exception):
                        await conn.execute(
                            sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_MIGRATION_LOCK_KEY}
                        )
                        await conn.commit()

    @contextlib.asynccontextmanager
    async def _sqlite_file_lock(self, wait_seconds: float) -> AsyncIterator[None]:
        if self.sqlite_path is None:
            yield
            return
        lock_path = self.sqlite_path.with_name(self.sqlite_path.name + ".migrate.lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + wait_seconds
            # flock locks belong to the open file description, so this also serialises tasks of one process;
            # polling (rather than a blocking flock in a thread) keeps the wait cancellable.
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise DatabaseError(
                            f"another process holds {lock_path} for more than {wait_seconds:.0f}s; "
                            "remove the file if no worker is starting"
                        ) from None
                    await asyncio.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _run_alembic_upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_table", VERSION_TABLE)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
