"""``coding-agent run``: one task, end to end, on the embedded stack, with live progress.

Starts a Temporal dev server (UI on http://localhost:8080) and a NATS server, a worker in this process,
submits the task, prints one line per notification with a progress bar, and prints the result.
Without ``OPENROUTER_API_KEY`` it runs the built-in demo: a sample repository with a local bare remote
and a *scripted* model that speaks the OpenAI protocol over loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
from nats.aio.subscription import Subscription
from pydantic import SecretStr
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from coding_agent.demo.sample_repo import create_sample_remote
from coding_agent.demo.scripted_llm import DEMO_TASK_DESCRIPTION, DEMO_TASK_TITLE, ScriptedLLMServer
from coding_agent.models import (
    AgentConfig,
    CodingAgentRequest,
    CodingAgentResult,
    Notification,
    NotificationType,
    RepositoryConfig,
    TaskConfig,
)
from coding_agent.settings import Settings
from coding_agent.stack import start_stack
from coding_agent.temporal_client import connect
from coding_agent.worker import run_worker
from coding_agent.workflows.coding_agent import CodingAgentWorkflow

DEMO_API_KEY = "scripted-demo-key"
# The success path's milestones; workflow_failed ends the other path.
MILESTONES = [
    t for t in NotificationType if t not in (NotificationType.IMPLEMENTATION_STEP, NotificationType.WORKFLOW_FAILED)
]


def repository_url(repo: str) -> str:
    """A local path becomes a file:// URL; anything else is passed to git as given."""
    path = Path(repo).expanduser()
    if "://" not in repo and not repo.startswith("git@") and path.exists():
        return path.resolve().as_uri()
    return repo


def describe(note: Notification) -> str:
    stamp = note.timestamp.astimezone().strftime("%H:%M:%S")
    return f"[dim]{stamp}[/] [bold cyan]{note.notification_type.value:<22}[/] {escape(note.message)}"


async def follow(sub: Subscription, progress: Progress, bar: TaskID, done: asyncio.Event) -> None:
    """Print each notification of the subscription until the terminal one arrives."""
    seen = 0
    async for msg in sub.messages:
        note = Notification.model_validate_json(msg.data)
        progress.console.print(describe(note), highlight=False)
        if note.notification_type is not NotificationType.IMPLEMENTATION_STEP:
            seen += 1
            progress.update(bar, completed=min(seen, len(MILESTONES)), description=note.notification_type.value)
        if note.notification_type in (NotificationType.WORKFLOW_COMPLETED, NotificationType.WORKFLOW_FAILED):
            progress.update(bar, completed=len(MILESTONES))
            done.set()
            return


async def run_task(
    settings: Settings,
    console: Console,
    *,
    repo: str | None,
    branch: str,
    title: str | None,
    description: str | None,
    requirements: list[str],
    tags: list[str],
    instructions: str | None,
    model: str | None,
    embedded: bool,
) -> CodingAgentResult:
    data_dir = settings.data_dir
    run_dir = data_dir / "runs" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    run_dir.mkdir(parents=True)
    async with contextlib.AsyncExitStack() as stack:
        if embedded:
            console.print("Starting the embedded stack (Temporal dev server, NATS with JetStream, SQLite)...")
            servers = await asyncio.to_thread(start_stack, data_dir / "stack")
            stack.callback(servers.stop)
            settings = settings.model_copy(
                update={"temporal_host": servers.temporal_address, "nats_url": servers.nats_url}
            )
            if servers.ui_url:
                console.print(f"Temporal UI: {servers.ui_url}")

        demo = settings.openrouter_api_key is None
        if demo:
            if repo is not None:
                raise SystemExit(
                    "OPENROUTER_API_KEY is not set: only the built-in demo (no --repo) runs without a model key"
                )
            console.print(
                "[bold yellow]DEMO MODE[/]: no OPENROUTER_API_KEY is set, so the model is a [bold]scripted[/] "
                "stand-in that replays a fixed conversation over the OpenAI protocol on loopback. "
                "Everything else is real: git clone/branch/commit/push, the tools, the tests, Temporal, NATS, SQLite."
            )
            remote = await create_sample_remote(run_dir / "demo")
            llm = ScriptedLLMServer()
            base_url = await asyncio.to_thread(llm.start)
            stack.callback(llm.stop)
            settings = settings.model_copy(
                update={"openrouter_base_url": base_url, "openrouter_api_key": SecretStr(DEMO_API_KEY)}
            )
            repo = str(remote)
            title = title or DEMO_TASK_TITLE
            description = description or DEMO_TASK_DESCRIPTION
            requirements = requirements or ["multiply(a, b) returns a * b", "a unit test covers multiply"]

        if repo is None or title is None:
            raise SystemExit("--repo and --title are required when a model key is set")
        task_id = f"task-{int(time.time())}"
        request = CodingAgentRequest(
            agent=AgentConfig(model=model or settings.default_model, instructions=instructions),
            repository=RepositoryConfig(remote_url=repository_url(repo), branch=branch),
            task=TaskConfig(
                id=task_id,
                project_id="local",
                company_id="local",
                title=title,
                description=description or "",
                requirements=requirements,
                tags=tags,
            ),
        )

        stop, ready = asyncio.Event(), asyncio.Event()
        worker = asyncio.create_task(run_worker(settings, stop, ready=ready))
        stack.push_async_callback(_stop_worker, worker, stop)
        await asyncio.wait([asyncio.create_task(ready.wait()), worker], return_when=asyncio.FIRST_COMPLETED)
        if worker.done():
            worker.result()  # raises the worker's start-up error

        client = await connect(settings)
        subject = f"{settings.nats_subject_prefix}.{request.task.company_id}.{request.task.project_id}.{task_id}.>"
        with Progress(
            SpinnerColumn(), TextColumn("{task.description:<22}"), BarColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            bar = progress.add_task("submitting", total=len(MILESTONES))
            done = asyncio.Event()
            # Subscribed before the workflow starts, so not one notification is missed.
            nc = await nats.connect(settings.nats_url)
            stack.push_async_callback(nc.close)
            sub = await nc.subscribe(subject)
            await nc.flush()
            watcher = asyncio.create_task(follow(sub, progress, bar, done))
            handle = await client.start_workflow(
                CodingAgentWorkflow.run,
                request,
                id=f"coding-agent-{task_id}",
                task_queue=settings.temporal_task_queue_coding_agent,
                # A backstop: the workflow enforces its own deadline and reports; Temporal's ends it regardless.
                execution_timeout=timedelta(hours=settings.workflow_timeout_hours + 1),
            )
            console.print(f"Workflow {handle.id} started")
            result = await handle.result()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 10)
            watcher.cancel()
            with contextlib.suppress(BaseException):
                await watcher
        console.print_json(json.dumps(result.model_dump(mode="json")))
        if demo:
            console.print(
                f"The branch {result.branch_name} was pushed to the demo remote {repo}; "
                f"look at it with: git --git-dir {repo} log --stat {result.branch_name}"
            )
        return result


async def _stop_worker(worker: asyncio.Task[None], stop: asyncio.Event) -> None:
    stop.set()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(worker, 30)
