"""The ``agent_messages`` table: the agent's conversation transcript, kept out of Temporal history.

A session's messages are numbered 0, 1, 2...; activities write the new messages of a turn at their
sequence numbers and load the conversation back by session id. Writes are idempotent upserts, so a
retried activity that writes the same sequence numbers again leaves one copy, never a duplicate.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from coding_agent.models import utc_now
from coding_agent.reporting._time import to_db
from coding_agent.reporting.database import Database
from coding_agent.reporting.schema import agent_messages

# Rows per INSERT statement: stays far below SQLite's and asyncpg's bind-parameter limits.
_BATCH = 500


class TranscriptStore:
    """Reads and writes ``agent_messages`` through a migrated ``Database``."""

    def __init__(self, db: Database) -> None:
        self._db = db
        if db.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"the transcript store supports SQLite and PostgreSQL, not {db.dialect}")

    async def put(self, session_id: str, start_seq: int, messages: list[dict[str, Any]]) -> None:
        """Store ``messages`` at ``start_seq``, ``start_seq + 1``...; an existing seq is overwritten."""
        if start_seq < 0:
            raise ValueError("start_seq must be >= 0")
        if not messages:
            return
        created_at = to_db(utc_now(), self._db.dialect)
        rows = [
            {"session_id": session_id, "seq": start_seq + i, "message": m, "created_at": created_at}
            for i, m in enumerate(messages)
        ]
        insert = pg_insert if self._db.dialect == "postgresql" else sqlite_insert
        async with self._db.engine.begin() as conn:
            for i in range(0, len(rows), _BATCH):
                stmt = insert(agent_messages).values(rows[i : i + _BATCH])
                # Overwrite rather than ignore: a rebuilt turn after a crash supersedes the old one.
                stmt = stmt.on_conflict_do_update(
                    index_elements=["session_id", "seq"],
                    set_={"message": stmt.excluded.message, "created_at": stmt.excluded.created_at},
                )
                await conn.execute(stmt)

    async def load(self, session_id: str, upto_seq: int | None = None) -> list[dict[str, Any]]:
        """The session's messages ordered by seq; with ``upto_seq``, only those with seq < upto_seq."""
        query = sa.select(agent_messages.c.message).where(agent_messages.c.session_id == session_id)
        if upto_seq is not None:
            query = query.where(agent_messages.c.seq < upto_seq)
        async with self._db.engine.connect() as conn:
            result = await conn.execute(query.order_by(agent_messages.c.seq))
            return [row[0] for row in result]

    async def next_seq(self, session_id: str) -> int:
        """The next free seq of a session (its highest seq + 1, or 0)."""
        query = sa.select(sa.func.max(agent_messages.c.seq)).where(agent_messages.c.session_id == session_id)
        async with self._db.engine.connect() as conn:
            top = (await conn.execute(query)).scalar()
        return 0 if top is None else int(top) + 1

    async def delete(self, session_id: str) -> None:
        """Forget a session's transcript (e.g. when its task has finished)."""
        async with self._db.engine.begin() as conn:
            await conn.execute(agent_messages.delete().where(agent_messages.c.session_id == session_id))
