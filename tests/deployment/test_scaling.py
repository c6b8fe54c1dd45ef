"""Scaling out: two workers on one Temporal cluster share the task queue. Several tasks started at once
spread over both (each task's workspace lives on the worker that cloned it) and every one completes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from coding_agent.demo.sample_repo import create_sample_remote
from coding_agent.demo.scripted_llm import ScriptedLLMServer, demo_script
from coding_agent.models import CodingAgentResult
from coding_agent.workflows.coding_agent import CodingAgentWorkflow
from tests.support.harness import make_request, make_settings, new_task_id, worker_running

TASKS = 4


@pytest.fixture
def llm() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer(demo_script()) as server:
        yield server


async def test_two_workers_share_the_queue_and_complete_concurrent_tasks(
    tmp_path: Path, temporal_address: str, nats_url: str, llm: ScriptedLLMServer
) -> None:
    first = make_settings(
        tmp_path / "a", temporal_address=temporal_address, nats_url=nats_url, llm_url=llm.base_url,
        # A small per-worker bound, so neither worker can take every task.
        max_concurrent_activities=2,
    )
    # The same deployment on a second machine: the same queue and database, its own disk.
    second = first.model_copy(update={"workspace_root": tmp_path / "b" / "workspaces"})
    remotes = await asyncio.gather(*(create_sample_remote(tmp_path / f"repo-{i}") for i in range(TASKS)))

    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(worker_running(first))
        await stack.enter_async_context(worker_running(second))
        task_ids = [new_task_id() for _ in range(TASKS)]
        results: list[CodingAgentResult] = await asyncio.gather(
            *(
                client.execute_workflow(
                    CodingAgentWorkflow.run,
                    make_request(task_id, remote.as_uri()),
                    id=f"coding-agent-{task_id}",
                    task_queue=first.temporal_task_queue_coding_agent,
                    result_type=CodingAgentResult,
                )
                for task_id, remote in zip(task_ids, remotes, strict=True)
            )
        )

    assert all(r.success for r in results), [r.error_message for r in results]
    assert [r.task_id for r in results] == task_ids
    placed = {
        root: sum(1 for r in results if Path(r.artifacts.temp_dir or "").is_relative_to(root))
        for root in (first.workspace_root, second.workspace_root)
    }
    assert sum(placed.values()) == TASKS
    assert all(count >= 1 for count in placed.values()), f"tasks per worker: {placed}"
