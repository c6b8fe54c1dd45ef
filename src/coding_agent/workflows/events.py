"""The workflow side of reporting: events leave in order, off the critical path.

``emit`` queues an event and returns at once; one background coroutine ships the queue in batches
through the ``record_events`` activity, so NATS messages keep the order of the steps while the task
itself never waits for a slow broker or database. Every event carries a per-task sequence number in
``details`` so a consumer can detect a gap. ``drain`` waits until everything queued has been shipped.
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from coding_agent.activities.reporting import ReportingActivities
    from coding_agent.activities.types import EventsInput
    from coding_agent.models import ActivityType, NotificationType, TaskEvent, TaskRef

MAX_BATCH = 50


class EventLog:
    def __init__(self, task: TaskRef, sequence: int = 0) -> None:
        self.task = task
        self.sequence = sequence
        self._pending: deque[TaskEvent] = deque()
        self._shipper: asyncio.Task[None] | None = None

    def emit(
        self,
        message: str,
        notification_type: NotificationType | None = None,
        activity_type: ActivityType | None = ActivityType.PROGRESS,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.sequence += 1
        event = TaskEvent(
            task=self.task,
            message=message,
            notification_type=notification_type,
            activity_type=activity_type,
            details={**(details or {}), "sequence": self.sequence},
            timestamp=workflow.now(),
        )
        self._pending.append(event)
        if self._shipper is None or self._shipper.done():
            self._shipper = asyncio.create_task(self._ship())

    async def _ship(self) -> None:
        while self._pending:
            batch = [self._pending.popleft() for _ in range(min(MAX_BATCH, len(self._pending)))]
            try:
                await workflow.execute_activity_method(
                    ReportingActivities.record_events,
                    EventsInput(events=batch),
                    start_to_close_timeout=timedelta(seconds=60),
                    retry_policy=RetryPolicy(maximum_attempts=3),
                )
            except Exception:
                # Reporting never fails a task; the activity has logged the cause.
                workflow.logger.warning("dropped %d events after retries", len(batch))

    async def drain(self) -> None:
        while self._shipper is not None and not self._shipper.done():
            await asyncio.shield(self._shipper)
