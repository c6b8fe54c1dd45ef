"""The reporter: redacted events on NATS and in the store; never blocking, never raising."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import nats
import pytest

from coding_agent.models import ActivityType, NotificationType, TaskEvent, TaskRef
from coding_agent.redaction import Redactor
from coding_agent.reporting import ActivityStore, Database, NatsPublisher, Reporter
from coding_agent.stack import free_port

SECRET = "ghp_supersecrettoken123"


def event(uid: str, n: int, **kinds: object) -> TaskEvent:
    ref = TaskRef(
        workflow_id=f"wf-{uid}", company_id="company-123", project_id="project-456", task_id=f"task-{uid}"
    )
    return TaskEvent(
        task=ref,
        message=f"pushed to https://x:{SECRET}@example.com/repo.git ({n})",
        details={"seq": n, "token": SECRET, "output": f"using {SECRET}"},
        **kinds,  # type: ignore[arg-type]
    )


async def test_record_publishes_and_stores_redacted(nats_url: str, tmp_path: Path, uid: str) -> None:
    db = Database(f"sqlite:///{tmp_path}/r.db")
    await db.migrate()
    store = ActivityStore(db)
    prefix = f"r{uid}.workflows"
    publisher = NatsPublisher(nats_url, subject_prefix=prefix)
    await publisher.start()
    nc = await nats.connect(nats_url)
    sub = await nc.subscribe(f"{prefix}.>")
    await nc.flush()
    reporter = Reporter(store, publisher, Redactor([SECRET]))
    try:
        both = {"notification_type": NotificationType.CHANGES_PUSHED, "activity_type": ActivityType.PROGRESS}
        await reporter.record(event(uid, 1, **both))
        await reporter.record(event(uid, 2, activity_type=ActivityType.FUNCTION_CALL))
        await reporter.record(event(uid, 3, notification_type=NotificationType.WORKFLOW_COMPLETED))
        first = await sub.next_msg(timeout=5)
        second = await sub.next_msg(timeout=5)
        rows = await store.list(f"task-{uid}")
    finally:
        await nc.close()
        await publisher.close()
        await db.close()
    assert first.subject.endswith(".changes_pushed") and second.subject.endswith(".workflow_completed")
    assert [r.details["seq"] for r in rows] == [1, 2]
    for text in (first.data.decode(), second.data.decode(), *(r.model_dump_json() for r in rows)):
        assert SECRET not in text
    assert json.loads(first.data)["details"]["token"] == "***"


async def test_dead_database_and_nats_do_not_block_or_raise(
    caplog: pytest.LogCaptureFixture, uid: str
) -> None:
    caplog.set_level(logging.WARNING, logger="coding_agent")
    db = Database("postgresql+asyncpg://postgres@127.0.0.1:1/x", connect_timeout=1)
    publisher = NatsPublisher(f"nats://127.0.0.1:{free_port()}", subject_prefix="dead", connect_timeout=0.3)
    await publisher.start()
    reporter = Reporter(ActivityStore(db), publisher, Redactor([SECRET]), store_timeout=2)
    both = {"notification_type": NotificationType.IMPLEMENTATION_STEP, "activity_type": ActivityType.PROGRESS}
    try:
        started = time.monotonic()
        for n in range(5):
            await reporter.record(event(uid, n, **both))
        await asyncio.gather(*(reporter.record(event(uid, n, **both)) for n in range(5, 10)))
        assert time.monotonic() - started < 5
    finally:
        await publisher.close()
        await db.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2, warnings
    assert (
        sum(
            w.startswith("task_activities store at postgresql+asyncpg://***@127.0.0.1:1/x failed")
            for w in warnings
        )
        == 1
    )
    assert sum(w.startswith("NATS at nats://127.0.0.1") for w in warnings) == 1
    assert all(SECRET not in w for w in warnings)


async def test_disabled_channels_are_fine(uid: str) -> None:
    reporter = Reporter(None, None, Redactor())
    await reporter.record(event(uid, 0, notification_type=NotificationType.WORKFLOW_STARTED))


async def test_hanging_database_is_cut_off_by_the_store_timeout(
    caplog: pytest.LogCaptureFixture, uid: str
) -> None:
    # A server that accepts connections and never answers: the worst case for a task waiting on reporting.
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    db = Database(f"postgresql://postgres@127.0.0.1:{port}/x", connect_timeout=30)
    reporter = Reporter(ActivityStore(db), None, Redactor(), store_timeout=0.5)
    try:
        started = time.monotonic()
        await reporter.record(event(uid, 0, activity_type=ActivityType.ERROR))
        await reporter.record(event(uid, 1, activity_type=ActivityType.ERROR))
        assert time.monotonic() - started < 3
    finally:
        await db.close()
        server.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "no answer within 0.5s" in warnings[0], warnings
