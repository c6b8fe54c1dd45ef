"""The ``coding-agent`` command line: run a task on the embedded stack, run a worker, and watch."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Annotated

import typer
from rich.console import Console

from coding_agent.settings import Settings

app = typer.Typer(help="A durable, autonomous coding agent on Temporal.", no_args_is_help=True)
console = Console()


def configure_logging(settings: Settings, level: int = logging.INFO) -> None:
    from coding_agent.logging_setup import setup_logging

    setup_logging(settings.log_format, level)


@app.command()
def run(
    repo: Annotated[str | None, typer.Option(help="Repository URL or local path (default: the built-in demo)")] = None,
    branch: Annotated[str, typer.Option(help="Base branch")] = "main",
    title: Annotated[str | None, typer.Option(help="Task title (becomes the branch slug)")] = None,
    description: Annotated[str | None, typer.Option(help="Task description")] = None,
    requirement: Annotated[list[str] | None, typer.Option(help="A requirement (repeatable)")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeatable)")] = None,
    instructions: Annotated[str | None, typer.Option(help="Custom instructions for the agent")] = None,
    model: Annotated[str | None, typer.Option(help="Model id (default z-ai/glm-4.6:exacto)")] = None,
    embedded: Annotated[
        bool, typer.Option(help="Start the embedded Temporal + NATS stack (else use TEMPORAL_HOST / NATS_URL)")
    ] = True,
    timeout_hours: Annotated[
        float | None, typer.Option(help="Overall task timeout (default CODING_AGENT_WORKFLOW_TIMEOUT_HOURS, 24)")
    ] = None,
) -> None:
    """Run one task end to end and print its result (the demo when no OPENROUTER_API_KEY is set)."""
    from coding_agent.cli.run import run_task

    settings = Settings()
    if timeout_hours is not None:
        settings = settings.model_copy(update={"workflow_timeout_hours": timeout_hours})
    configure_logging(settings, logging.WARNING)
    result = asyncio.run(
        run_task(
            settings,
            console,
            repo=repo,
            branch=branch,
            title=title,
            description=description,
            requirements=requirement or [],
            tags=tag or [],
            instructions=instructions,
            model=model,
            embedded=embedded,
        )
    )
    raise typer.Exit(0 if result.success else 1)


@app.command()
def worker() -> None:
    """Run a worker against TEMPORAL_HOST / TEMPORAL_NAMESPACE / TEMPORAL_TASK_QUEUE_CODING_AGENT."""
    from coding_agent.worker import run_worker

    settings = Settings()
    configure_logging(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop)

    asyncio.run(main())


from coding_agent.cli import monitor as _monitor  # noqa: E402,F401  (watch, activities, status, cancel)
from coding_agent.cli import ops as _ops  # noqa: E402,F401  (registers health, env)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
