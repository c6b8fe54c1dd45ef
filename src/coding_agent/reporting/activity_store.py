"""The ``task_activities`` table: append an activity, list a task's activities in order.

Rows carry the specification's fields (task_id, activity_type, message, details, timestamp) plus
what an operator needs (an id, the workflow, company and project ids), so the specification's
monitoring query ``SELECT * FROM task_activities WHERE task_id = '...' ORDER BY timestamp DESC``
runs verbatim. Callers redact before storing (the ``Reporter`` does).
"""

from __future__ import annotations

import sqlalchemy as sa

from coding_agent.models import TaskActivity
from coding_agent.reporting._time import from_db, to_db
from coding_agent.reporting.database import Database
from coding_agent.reporting.schema import task_activities

# The method below is called ``list``; this alias keeps annotations pointing at the builtin.
_Activities = list[TaskActivity]


class ActivityStore:
    """Reads and writes ``task_activities`` through a migrated ``Database``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def display_url(self) -> str:
        """Where the rows go, credentials masked (for log lines)."""
        return self._db.display_url

    async def add(self, activity: TaskActivity) -> None:
        """Append one row; raises SQLAlchemy's errors when the database fails."""
        await self.add_many([activity])

    async def add_many(self, activities: _Activities) -> None:
        """Append several rows in one transaction."""
        if not activities:
            return
        rows = [
            {
                "task_id": a.task_id,
                "activity_type": a.activity_type.value,
                "message": a.message,
                "details": a.details,
                "timestamp": to_db(a.timestamp, self._db.dialect),
                "workflow_id": a.workflow_id,
                "company_id": a.company_id,
                "project_id": a.project_id,
            }
            for a in activities
        ]
        async with self._db.engine.begin() as conn:
            await conn.execute(task_activities.insert(), rows)

    async def list(self, task_id: str, limit: int | None = None) -> _Activities:
        """The task's activities, oldest first (timestamp, then insertion order).

        With ``limit``, the most recent ``limit`` activities, still oldest first.
        """
        order = (task_activities.c.timestamp, task_activities.c.id)
        query = sa.select(task_activities).where(task_activities.c.task_id == task_id)
        if limit is not None:
            query = query.order_by(*(c.desc() for c in order)).limit(max(limit, 0))
        else:
            query = query.order_by(*order)
        async with self._db.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        activities = [
            TaskActivity(
                task_id=row["task_id"],
                activity_type=row["activity_type"],
                message=row["message"],
                details=row["details"] or {},
                timestamp=from_db(row["timestamp"]),
                workflow_id=row["workflow_id"],
                company_id=row["company_id"],
                project_id=row["project_id"],
            )
            for row in rows
        ]
        return activities[::-1] if limit is not None else activities
