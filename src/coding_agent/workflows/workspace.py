"""Workspace affinity, and what happens when the worker holding a workspace is lost.

Workspace activities run on the queue of the worker that holds the clone. If that worker disappears
(its activity stops heartbeating, or nobody picks a new one up within the schedule-to-start timeout),
the workspace is rebuilt on any other worker — a fresh clone, the feature branch at the original base,
and the changes saved after the last tool batch — and the activity runs again there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, TimeoutType
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from coding_agent.activities.types import CloneInput, RestoreSpec, RunConfig, Workspace
    from coding_agent.activities.workspace import WorkspaceActivities
    from coding_agent.models import NotificationType
    from coding_agent.workflows.events import EventLog

MAX_REBUILDS = 5
LOST_WORKER_TIMEOUTS = (TimeoutType.SCHEDULE_TO_START, TimeoutType.HEARTBEAT)

T = TypeVar("T")


class WorkspaceLost(Exception):
    """The worker holding the workspace is gone, and this workflow may not rebuild it (no credentials)."""


class WorkspaceState(BaseModel):
    """Where the task's clone is and how to make it again."""

    workspace: Workspace
    clone: CloneInput
    session_id: str
    branch: str | None = None
    rebuilds: int = 0
    can_rebuild: bool = True
    """False in the agent session: it holds no credentials, so it hands a lost workspace back to the task."""

    def for_session(self) -> WorkspaceState:
        """A copy without the credentials, for the agent session's (long-lived) history."""
        clone = self.clone.model_copy(update={"credentials": None})
        return self.model_copy(update={"clone": clone, "can_rebuild": False})


def worker_lost(err: BaseException) -> bool:
    cause = err.cause if isinstance(err, ActivityError) else None
    return isinstance(cause, TemporalTimeoutError) and cause.type in LOST_WORKER_TIMEOUTS


async def clone(state_input: CloneInput, config: RunConfig) -> Workspace:
    """Clone on any worker of the shared queue; the answer names that worker's own queue."""
    return await workflow.execute_activity_method(
        WorkspaceActivities.clone_repository,
        state_input,
        start_to_close_timeout=timedelta(seconds=config.git_timeout_seconds * 3 + 60),
        heartbeat_timeout=timedelta(seconds=config.heartbeat_timeout_seconds),
        retry_policy=RetryPolicy(maximum_attempts=3),
    )


async def on_workspace(
    state: WorkspaceState,
    config: RunConfig,
    events: EventLog,
    method: Callable[..., Any],
    make_input: Callable[[Workspace], Any],
    timeout: timedelta,
    *,
    heartbeat: bool = False,
) -> Any:
    """Run a workspace activity on the worker holding the clone, rebuilding the clone if it was lost."""
    while True:
        try:
            return await workflow.execute_activity_method(
                method,
                make_input(state.workspace),
                task_queue=state.workspace.task_queue,
                start_to_close_timeout=timeout,
                schedule_to_start_timeout=timedelta(seconds=config.workspace_schedule_to_start_seconds),
                heartbeat_timeout=timedelta(seconds=config.heartbeat_timeout_seconds) if heartbeat else None,
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        except ActivityError as err:
            if not worker_lost(err) or state.rebuilds >= MAX_REBUILDS:
                raise
            if not state.can_rebuild:
                raise WorkspaceLost() from err
        await rebuild(state, config, events)


async def rebuild(state: WorkspaceState, config: RunConfig, events: EventLog) -> None:
    state.rebuilds += 1
    lost = state.workspace
    restore = None
    if state.branch is not None:
        restore = RestoreSpec(branch=state.branch, base_commit=lost.base_commit, session_id=state.session_id)
    state.workspace = await clone(state.clone.model_copy(update={"restore": restore}), config)
    events.emit(
        "The worker holding the workspace was lost; the repository was cloned again on another worker "
        "and the saved changes re-applied",
        NotificationType.REPO_CLONED,
        details={
            "rebuilt": True,
            "rebuilds": state.rebuilds,
            "lost_task_queue": lost.task_queue,
            "temp_dir": state.workspace.path,
        },
    )
