"""Helpers that run the real product in tests: settings pointed at the test servers, a worker in this
process, a scripted model routed per task, and a NATS collector that keeps what a platform would see."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
from pydantic import SecretStr
from temporalio.client import Client

from coding_agent.demo.scripted_llm import Script
from coding_agent.models import (
    AgentConfig,
    CodingAgentRequest,
    CodingAgentResult,
    GitCredentials,
    Notification,
    RepositoryConfig,
    TaskConfig,
)
from coding_agent.settings import Settings
from coding_agent.temporal_client import connect
from coding_agent.worker import run_worker

SCRIPTED_KEY = "sk-test-scripted"


def make_settings(
    tmp_path: Path, *, temporal_address: str, nats_url: str, llm_url: str, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "temporal_host": temporal_address,
        "temporal_task_queue_coding_agent": f"test-{uuid.uuid4().hex[:8]}",
        "nats_url": nats_url,
        "openrouter_base_url": llm_url,
        "openrouter_api_key": SecretStr(SCRIPTED_KEY),
        "data_dir": tmp_path / "data",
        "sqlite_path": tmp_path / "data" / "activities.db",
        "workspace_root": tmp_path / "workspaces",
        "llm_max_attempts": 2,
        "llm_timeout_seconds": 10.0,
    }
    values.update(overrides)
    return Settings(**values)


@contextlib.asynccontextmanager
async def worker_running(settings: Settings) -> AsyncIterator[Client]:
    """A real worker in this process; yields a client with the product's data converter."""
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_worker(settings, stop, ready=ready))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait([waiter, task], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    client = await connect(settings)
    try:
        yield client
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


class ScriptRouter:
    """Chooses the scripted conversation by the task id that appears in the prompt."""

    def __init__(self, default: Script) -> None:
        self.default = default
        self.scripts: dict[str, Script] = {}

    def __call__(self, body: dict[str, Any]) -> Script:
        text = json.dumps(body.get("messages", [])[:2])
        for task_id, script in self.scripts.items():
            if task_id in text:
                return script
        return self.default


def new_task_id() -> str:
    return f"task-{uuid.uuid4().hex[:10]}"


def make_request(
    task_id: str,
    remote_url: str,
    *,
    branch: str = "main",
    credentials: GitCredentials | None = None,
    title: str = "Add a multiply function",
    context: dict[str, Any] | None = None,
    max_iterations: int | None = None,
) -> CodingAgentRequest:
    return CodingAgentRequest(
        agent=AgentConfig(max_iterations=max_iterations),
        repository=RepositoryConfig(remote_url=remote_url, branch=branch, credentials=credentials),
        task=TaskConfig(
            id=task_id,
            project_id="project-456",
            company_id="company-123",
            title=title,
            description="Add multiply(a, b) next to add(a, b), with a unit test.",
            requirements=["multiply(a, b) returns a * b", "a unit test covers it"],
            tags=["demo"],
            context=context or {},
        ),
    )


@dataclass
class NatsCollector:
    """Every notification published under a subject, in arrival order."""

    url: str
    subject: str
    notifications: list[Notification] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)

    async def __aenter__(self) -> NatsCollector:
        self._nc = await nats.connect(self.url)

        async def on_message(msg: Any) -> None:
            self.subjects.append(msg.subject)
            self.notifications.append(Notification.model_validate_json(msg.data))

        await self._nc.subscribe(self.subject, cb=on_message)
        await self._nc.flush()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._nc.close()

    def types(self) -> list[str]:
        return [n.notification_type.value for n in self.notifications]

    async def wait_for(self, predicate: Callable[[NatsCollector], bool], timeout: float = 10) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate(self):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting; got {self.types()}")
            await asyncio.sleep(0.05)


async def run_to_completion(
    client: Client, settings: Settings, request: CodingAgentRequest, workflow: object = "CodingAgentWorkflow"
) -> tuple[CodingAgentResult, NatsCollector]:
    """Run one task to its end and collect its notifications, up to the terminal one."""
    task = request.task
    subject = f"{settings.nats_subject_prefix}.{task.company_id}.{task.project_id}.{task.id}.>"
    async with NatsCollector(settings.nats_url, subject) as collected:
        result = await client.execute_workflow(
            workflow,  # type: ignore[arg-type]
            request,
            id=f"coding-agent-{task.id}",
            task_queue=settings.temporal_task_queue_coding_agent,
            result_type=CodingAgentResult,
        )
        await collected.wait_for(lambda c: c.types()[-1:] in (["workflow_completed"], ["workflow_failed"]))
    return result, collected
