"""The ``workspace_snapshots`` table: the latest uncommitted changes of each agent session.

After every tool batch the workspace's diff against its base commit is saved here (one row per
session, overwritten), so when the worker holding a workspace disappears, another worker can clone
the repository again and re-apply the changes: nothing the agent did is lost with a machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from coding_agent.models import utc_now
from coding_agent.reporting._time import to_db
from coding_agent.reporting.database import Database
from coding_agent.reporting.schema import workspace_snapshots


@dataclass(frozen=True)
class Snapshot:
    base_commit: str
    patch: bytes


class SnapshotStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, session_id: str, snapshot: Snapshot) -> None:
        insert = pg_insert if self._db.dialect == "postgresql" else sqlite_insert
        row = {
            "session_id": session_id,
            "base_commit": snapshot.base_commit,
            "patch": snapshot.patch,
            "updated_at": to_db(utc_now(), self._db.dialect),
        }
        stmt = insert(workspace_snapshots).values(row)
        stmt = stmt.on_conflict_do_update(
            index_elements=["session_id"],
            set_={k: getattr(stmt.excluded, k) for k in ("base_commit", "patch", "updated_at")},
        )
        async with self._db.engine.begin() as conn:
            await conn.execute(stmt)

    async def load(self, session_id: str) -> Snapshot | None:
        query = sa.select(workspace_snapshots.c.base_commit, workspace_snapshots.c.patch).where(
            workspace_snapshots.c.session_id == session_id
        )
        async with self._db.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return Snapshot(row.base_commit, bytes(row.patch)) if row else None

    async def delete(self, session_id: str) -> None:
        async with self._db.engine.begin() as conn:
            await conn.execute(sa.delete(workspace_snapshots).where(workspace_snapshots.c.session_id == session_id))
