"""The activity and transcript stores against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from coding_agent.models import ActivityType, TaskActivity
from coding_agent.reporting import ActivityStore, Database, DatabaseError, TranscriptStore

SPEC_QUERY = """SELECT * FROM task_activities
WHERE task_id = 'task-789'
ORDER BY timestamp DESC;"""


async def test_concurrent_migrations_are_safe_and_idempotent(db_url: str, uid: str) -> None:
    databases = [Database(db_url) for _ in range(4)]
    try:
        await asyncio.gather(*(db.migrate() for db in databases))
        await databases[0].migrate()  # again: nothing to do
        store = ActivityStore(databases[1])
        await store.add(TaskActivity(task_id=f"t-{uid}", activity_type=ActivityType.PROGRESS, message="m"))
        assert [a.message for a in await store.list(f"t-{uid}")] == ["m"]
    finally:
        for db in databases:
            await db.close()


async def test_activities_round_trip_in_order(database: Database, uid: str) -> None:
    store = ActivityStore(database)
    base = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    task = f"task-{uid}"
    # Written out of order and in another time zone: listing must sort by the instant, in UTC.
    await store.add(
        TaskActivity(
            task_id=task,
            activity_type="function_call",
            message="second",
            details={"tool": "read_file", "n": [1, 2]},
            timestamp=base + timedelta(seconds=1),
            workflow_id=f"wf-{uid}",
            company_id="company-123",
            project_id="project-456",
        )
    )
    await store.add(
        TaskActivity(
            task_id=task,
            activity_type="progress",
            message="first",
            timestamp=(base).astimezone(timezone(timedelta(hours=2))),
        )
    )
    await store.add_many(
        [
            TaskActivity(
                task_id=task, activity_type="error", message="third", timestamp=base + timedelta(seconds=2)
            ),
            TaskActivity(
                task_id=f"other-{uid}", activity_type="progress", message="not mine", timestamp=base
            ),
        ]
    )

    activities = await store.list(task)
    assert [a.message for a in activities] == ["first", "second", "third"]
    assert activities[0].timestamp == base and activities[0].timestamp.tzinfo is not None
    assert activities[0].timestamp.utcoffset() == timedelta(0)
    second = activities[1]
    assert second.activity_type is ActivityType.FUNCTION_CALL
    assert second.details == {"tool": "read_file", "n": [1, 2]}
    assert (second.workflow_id, second.company_id, second.project_id) == (
        f"wf-{uid}",
        "company-123",
        "project-456",
    )
    assert [a.message for a in await store.list(task, limit=2)] == ["second", "third"]
    assert await store.list(f"missing-{uid}") == []


async def test_specification_query_runs_verbatim(database: Database, uid: str) -> None:
    store = ActivityStore(database)
    task = f"task-{uid}"
    base = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    for i in range(3):
        await store.add(
            TaskActivity(
                task_id=task,
                activity_type="progress",
                message=f"m{i}",
                details={"i": i},
                timestamp=base + timedelta(minutes=i),
            )
        )
    async with database.engine.connect() as conn:
        # Exactly the specification's text (its id would collide between runs on a shared database).
        rows = (await conn.execute(sa.text(SPEC_QUERY.replace("task-789", task)))).mappings().all()
        verbatim = await conn.execute(sa.text(SPEC_QUERY))
        assert {"task_id", "activity_type", "message", "details", "timestamp"} <= set(verbatim.keys())
    assert [r["message"] for r in rows] == ["m2", "m1", "m0"]
    assert {"id", "workflow_id", "company_id", "project_id"} <= set(rows[0].keys())


async def test_transcript_put_is_idempotent_and_ordered(database: Database, uid: str) -> None:
    store = TranscriptStore(database)
    session = f"session-{uid}"
    first = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    await store.put(session, 0, first)
    await store.put(session, 0, first)  # a retried activity writes the same seq again
    await store.put(session, 2, [{"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]}])
    loaded = await store.load(session)
    assert loaded == [*first, {"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]}]
    assert await store.load(session, upto_seq=2) == first
    assert await store.next_seq(session) == 3
    # A turn rebuilt after a crash supersedes what the lost worker wrote at that seq.
    await store.put(session, 2, [{"role": "assistant", "content": "redone"}])
    assert (await store.load(session))[2] == {"role": "assistant", "content": "redone"}
    await store.delete(session)
    assert await store.load(session) == []
    assert await store.next_seq(session) == 0


async def test_transcript_many_messages(database: Database, uid: str) -> None:
    store = TranscriptStore(database)
    session = f"big-{uid}"
    messages = [{"role": "tool", "content": f"output {i}" * 10} for i in range(1200)]
    await store.put(session, 0, messages)
    assert await store.load(session) == messages
    await store.delete(session)


async def test_sqlite_file_gets_parent_dir_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "agent.db"
    db = Database(f"sqlite:///{path}")
    try:
        await db.migrate()
        async with db.engine.connect() as conn:
            assert (await conn.execute(sa.text("PRAGMA journal_mode"))).scalar() == "wal"
        assert path.exists()
    finally:
        await db.close()


async def test_unreachable_database_raises_redacted_error() -> None:
    db = Database("postgresql://postgres:hunter2-secret@127.0.0.1:1/x", connect_timeout=2)
    try:
        with pytest.raises(DatabaseError) as info:
            await db.migrate()
        assert "hunter2-secret" not in str(info.value)
        assert "127.0.0.1:1" in str(info.value)
    finally:
        await db.close()


async def test_worker_processes_migrate_one_sqlite_file_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    script = (
        "import asyncio, sys\n"
        "from coding_agent.reporting import Database\n"
        "async def main():\n"
        "    db = Database(sys.argv[1]); await db.migrate(); await db.close()\n"
        "asyncio.run(main())\n"
    )
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, url, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(3)
    ]
    results = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err.decode()[-500:] for _, err in results]
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            tables = set((await conn.execute(sa.text("SELECT name FROM sqlite_master"))).scalars())
    finally:
        await db.close()
    assert {"task_activities", "agent_messages", "coding_agent_alembic_version"} <= tables
