"""The worker: serves the workflows and activities on the shared queue, and the workspace activities
on a queue of its own (workspace affinity).

``run_worker`` connects everything a worker needs — Temporal, the database (migrated at start), NATS —
and runs until ``stop`` is set; then both queues stop polling at once and running activities get
``shutdown_grace_seconds`` to finish before they are cancelled. With ``metrics_port`` /
``health_port`` set it also serves Prometheus metrics and a readiness endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from coding_agent.activities.llm import LLMActivities
from coding_agent.activities.reporting import ReportingActivities
from coding_agent.activities.workspace import WorkspaceActivities
from coding_agent.health import health_endpoint, worker_probes
from coding_agent.metrics import install_runtime
from coding_agent.redaction import Redactor
from coding_agent.reporting.activity_store import ActivityStore
from coding_agent.reporting.database import Database
from coding_agent.reporting.nats_publisher import NatsPublisher
from coding_agent.reporting.reporter import Reporter
from coding_agent.reporting.snapshot_store import SnapshotStore
from coding_agent.reporting.transcript_store import TranscriptStore
from coding_agent.settings import Settings
from coding_agent.temporal_client import connect
from coding_agent.tools.sandbox import choose_sandbox
from coding_agent.workflows.agent_session import AgentSessionWorkflow
from coding_agent.workflows.coding_agent import CodingAgentWorkflow, CodingAgentWorkflowByMethodName

log = logging.getLogger("coding_agent.worker")

WORKFLOWS = [CodingAgentWorkflow, CodingAgentWorkflowByMethodName, AgentSessionWorkflow]


def worker_queue_name(shared_queue: str) -> str:
    """This worker's own queue, where the activities bound to its disk are served."""
    return f"{shared_queue}.worker.{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


async def connect_when_reachable(settings: Settings, stop: asyncio.Event, max_delay: float = 30.0) -> Client | None:
    """Connect to Temporal, waiting with backoff while it is unreachable (a fleet often starts before
    its cluster); None when ``stop`` is set first."""
    delay = 1.0
    while not stop.is_set():
        try:
            return await connect(settings)
        except RuntimeError as err:
            log.warning("Temporal at %s is unreachable (%s); retrying in %.0fs",
                        settings.temporal_host, str(err).splitlines()[0][:200], delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, max_delay)
    return None


async def migrate_when_reachable(database: Database, interval: float = 30.0) -> None:
    """Migrate the activity log's database, retrying until it is reachable; log the outage once."""
    logged = False
    while True:
        try:
            await database.migrate()
        except Exception as err:  # noqa: BLE001 - reporting must not stop the worker
            if not logged:
                log.error("the activity log database is unreachable; rows are dropped until it is back: %s", err)
                logged = True
            await asyncio.sleep(interval)
        else:
            if logged:
                log.info("the activity log database is reachable again")
            return


def prefer_own_python_on_path() -> None:
    """Put this interpreter's bin directory first on PATH, so the agent's `python` is the worker's."""
    bin_dir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[:1] != [bin_dir]:
        os.environ["PATH"] = os.pathsep.join([bin_dir, *[p for p in parts if p != bin_dir]])


async def run_worker(
    settings: Settings,
    stop: asyncio.Event,
    *,
    client: Client | None = None,
    ready: asyncio.Event | None = None,
    shutdown_grace: timedelta | None = None,
) -> None:
    prefer_own_python_on_path()
    shutdown_grace = shutdown_grace or timedelta(seconds=settings.shutdown_grace_seconds)
    if client is None:
        install_runtime(settings)  # process-wide: metrics and log forwarding, before the first client
        client = await connect_when_reachable(settings, stop)
        if client is None:
            return  # stopped before Temporal was reachable
    # The agent's state is required: a worker that cannot reach it must not take tasks. The activity
    # log is reporting only: when it lives elsewhere and is down, the worker starts anyway.
    state_db = Database(settings.state_sqlalchemy_url())
    await state_db.migrate()
    database = state_db
    migrating: asyncio.Task[None] | None = None
    if settings.sqlalchemy_url() != settings.state_sqlalchemy_url():
        database = Database(settings.sqlalchemy_url())
        migrating = asyncio.create_task(migrate_when_reachable(database))
    # The publisher logs each NATS outage once with its cause; the client library would log every error.
    logging.getLogger("nats.aio.client").setLevel(logging.CRITICAL)
    publisher = NatsPublisher(
        settings.nats_url,
        subject_prefix=settings.nats_subject_prefix,
        http_bridge_url=settings.nats_http_url,
        jetstream_stream=settings.nats_jetstream_stream,
    )
    await publisher.start()
    reporter = Reporter(ActivityStore(database), publisher, Redactor(settings.secret_values()))
    shared_queue = settings.temporal_task_queue_coding_agent
    own_queue = worker_queue_name(shared_queue)
    workspace = WorkspaceActivities(settings, own_queue, SnapshotStore(state_db))
    llm = LLMActivities(settings, TranscriptStore(state_db))
    reporting = ReportingActivities(settings, reporter)
    shared = Worker(
        client,
        task_queue=shared_queue,
        workflows=WORKFLOWS,
        activities=[workspace.clone_repository, *llm.all(), *reporting.all()],
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=shutdown_grace,
    )
    local = Worker(
        client,
        task_queue=own_queue,
        activities=workspace.all(),
        max_concurrent_activities=settings.max_concurrent_activities,
        graceful_shutdown_timeout=shutdown_grace,
    )
    sandbox = await choose_sandbox(settings.sandbox)
    log.info("worker serving %s and its own queue %s; agent commands run with sandbox=%s (%s)",
             shared_queue, own_queue, sandbox.kind, sandbox.reason)
    probes = worker_probes(settings, client, publisher, database, stop)
    try:
        async with shared, local, health_endpoint(settings, probes):
            if ready is not None:
                ready.set()
            await stop.wait()
            log.info("stopping: no new work is polled; running activities have %.0fs to finish",
                     shutdown_grace.total_seconds())
            # Both queues at once, so the grace period is spent once, not once per queue.
            await asyncio.gather(shared.shutdown(), local.shutdown())
    finally:
        if migrating is not None:
            migrating.cancel()
        with contextlib.suppress(Exception):
            await publisher.close()
        for db in {id(database): database, id(state_db): state_db}.values():
            with contextlib.suppress(Exception):
                await db.close()
    log.info("worker stopped")
