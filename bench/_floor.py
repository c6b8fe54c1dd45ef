"""The floor under every step: a bare Temporal workflow whose activity runs on a second task queue
(as the product's workspace activities do), so each round trip is one activity hop and one workflow
task hop through the server's matching, with no product code at all."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker


@activity.defn
async def noop(value: int) -> int:
    return value


@workflow.defn
class FloorWorkflow:
    @workflow.run
    async def run(self, rounds: int) -> int:
        queue = "other-" + workflow.info().task_queue
        for i in range(rounds):
            await workflow.execute_activity(noop, i, task_queue=queue, start_to_close_timeout=timedelta(seconds=30))
        return rounds


async def floor_periods(client: Client, rounds: int) -> list[float]:
    """Seconds between consecutive activity schedules of a bare two-queue workflow."""
    from _common import fetch_timeline

    queue = f"floor-{uuid.uuid4().hex[:8]}"
    async with (
        Worker(client, task_queue=queue, workflows=[FloorWorkflow], workflow_runner=UnsandboxedWorkflowRunner()),
        Worker(client, task_queue="other-" + queue, activities=[noop]),
    ):
        workflow_id = f"floor-{uuid.uuid4().hex[:8]}"
        await client.execute_workflow(FloorWorkflow.run, rounds, id=workflow_id, task_queue=queue)
        runs = (await fetch_timeline(client, workflow_id)).activities
    return [b.scheduled - a.scheduled for a, b in zip(runs, runs[1:], strict=False)]
