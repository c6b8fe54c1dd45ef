"""CodingAgentWorkflow: the nine steps of the specification, in order.

1 initialise, 2 clone, 3 branch, 4 plan, 5 implement (the ``AgentSessionWorkflow`` child), 6 validate,
7 commit, 8 push, 9 complete: metrics, the final notification, the platform's webhook, cleanup.
Deterministic code only: every effect is an activity, time is ``workflow.now()``. A failure anywhere
ends the task with ``success: false``, a clear ``error_message``, a ``workflow_failed`` notification and
an ``error`` row; cancellation does the same, then re-raises so Temporal records the cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from coding_agent.activities.llm import LLMActivities
    from coding_agent.activities.reporting import ReportingActivities
    from coding_agent.activities.types import (
        BranchInput,
        CloneInput,
        CommitInput,
        CommitOutput,
        PlanInput,
        PushInput,
        RunConfig,
        ValidationInput,
        WebhookInput,
    )
    from coding_agent.activities.workspace import WorkspaceActivities
    from coding_agent.models import (
        ID_PATTERN,
        ActivityType,
        CodingAgentRequest,
        CodingAgentResult,
        TaskRef,
    )
    from coding_agent.models import (
        NotificationType as N,
    )
    from coding_agent.redaction import redact_url
    from coding_agent.workflows.agent_session import (
        WORKSPACE_LOST,
        AgentSessionWorkflow,
        SessionResult,
        SessionState,
        llm_retry_policy,
    )
    from coding_agent.workflows.events import EventLog
    from coding_agent.workflows.workspace import MAX_REBUILDS, WorkspaceState, clone, on_workspace, rebuild

SHORT = timedelta(seconds=30)
NO_RETRY = RetryPolicy(maximum_attempts=1)


class TaskFailed(Exception):
    """A failure with a message fit for the user; ends the task with success false."""


def failure_message(err: BaseException) -> str:
    """The most useful message in a Temporal error chain: the innermost cause."""
    cause: BaseException = err
    while isinstance(cause, ActivityError | ChildWorkflowError) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, TemporalTimeoutError):
        kind = cause.type.name.lower().replace("_", "-") if cause.type else "timeout"
        return f"timed out ({kind})"
    return str(cause) or type(cause).__name__


async def within_deadline(steps: Coroutine[Any, Any, None], deadline: timedelta) -> None:
    """Run ``steps`` until done or the deadline; on the deadline, or when the workflow itself is
    cancelled, cancel them and wait until they have wound down (activities and child cancelled)."""
    task = asyncio.ensure_future(steps)
    try:
        await workflow.wait_condition(task.done, timeout=deadline)
    except (TimeoutError, asyncio.CancelledError) as interruption:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        if isinstance(interruption, asyncio.CancelledError):
            raise
        hours = deadline.total_seconds() / 3600
        raise TaskFailed(f"timed out: the task exceeded its overall timeout of {hours:g} hours") from None
    task.result()


def best_effort_ref(raw: Any, workflow_id: str) -> TaskRef:
    """The task's ids from a request that failed validation, where they are usable as subject tokens."""
    task = raw.get("task") if isinstance(raw, dict) else None
    task = task if isinstance(task, dict) else {}

    def token(key: str) -> str:
        value = task.get(key)
        return value if isinstance(value, str) and ID_PATTERN.match(value) else "unknown"

    return TaskRef(
        workflow_id=workflow_id, company_id=token("company_id"), project_id=token("project_id"), task_id=token("id")
    )


def commit_message(request: CodingAgentRequest, summary: str) -> str:
    """Title, task id, description, requirements and the agent's own summary of what it did."""
    task = request.task
    lines = [f"feat: {task.title}", "", f"Task: {task.id} (project {task.project_id})"]
    if task.description:
        lines += ["", task.description.strip()]
    if task.requirements:
        lines += ["", "Requirements:"] + [f"- {r}" for r in task.requirements]
    if summary:
        lines += ["", "Implementation summary:", summary.strip()[:4000]]
    return "\n".join(lines) + "\n"


@workflow.defn(name="CodingAgentWorkflow")
class CodingAgentWorkflow:
    def __init__(self) -> None:
        self.step = "initialization"
        self.llm_calls = 0
        self.session_id: str | None = None

    @workflow.query
    def status(self) -> dict[str, Any]:
        return {"step": self.step, "llm_calls": self.llm_calls, "session_workflow_id": self.session_id}

    @workflow.run
    async def run(self, request: CodingAgentRequest | Any) -> CodingAgentResult:
        # The input is typed loosely on purpose: a request that fails validation must fail this workflow
        # with a message naming the field, not fail every workflow task (which Temporal retries forever).
        if not isinstance(request, CodingAgentRequest):
            request = await self._validated(request)
        info = workflow.info()
        started = workflow.now()
        task = request.task
        events = EventLog(
            TaskRef(
                workflow_id=info.workflow_id, company_id=task.company_id, project_id=task.project_id, task_id=task.id
            )
        )
        result = CodingAgentResult(
            success=False,
            workflow_id=info.workflow_id,
            company_id=task.company_id,
            project_id=task.project_id,
            task_id=task.id,
        )
        workspace: list[WorkspaceState] = []
        cancelled = False
        try:
            model = request.agent.model
            events.emit(f"Started task {task.id}: {task.title}", N.WORKFLOW_STARTED, details={"model": model})
            config = await workflow.execute_activity_method(
                ReportingActivities.resolve_run_config, start_to_close_timeout=SHORT
            )
            await within_deadline(
                self._steps(request, config, events, result, workspace),
                timedelta(hours=config.workflow_timeout_hours),
            )
        except asyncio.CancelledError:
            cancelled = True
            reason = workflow.cancellation_reason()
            result.error_message = "cancelled: " + (reason or "the workflow was cancelled by a user or the platform")
        except TaskFailed as err:
            result.error_message = str(err)
        except Exception as err:  # every other failure is reported, never retried forever
            result.error_message = f"{self.step} failed: {failure_message(err)}"
        result.execution_time_hours = (workflow.now() - started).total_seconds() / 3600
        result.artifacts.llm_calls = self.llm_calls
        if result.success:
            events.emit("Task completed", N.WORKFLOW_COMPLETED, details=self._summary(result))
        else:
            events.emit(
                f"Task failed: {result.error_message}",
                N.WORKFLOW_FAILED,
                ActivityType.ERROR,
                details={**self._summary(result), "step": self.step},
            )
        # Cleanup and reporting must run even when the workflow is being cancelled.
        await asyncio.shield(asyncio.ensure_future(self._finish(result, workspace, events)))
        if cancelled:
            raise asyncio.CancelledError()
        return result

    async def _validated(self, raw: Any) -> CodingAgentRequest:
        """Validate a raw request; on failure report it as well as the ids allow, and fail for good."""
        try:
            return CodingAgentRequest.model_validate(raw)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}" for e in err.errors()[:10]
            )
        message = f"invalid request: {problems}"
        events = EventLog(best_effort_ref(raw, workflow.info().workflow_id))
        events.emit(message, N.WORKFLOW_FAILED, ActivityType.ERROR, details={"step": "validation of the request"})
        await events.drain()
        raise ApplicationError(message, type="InvalidRequest", non_retryable=True)

    async def _steps(
        self,
        request: CodingAgentRequest,
        config: RunConfig,
        events: EventLog,
        result: CodingAgentResult,
        holder: list[WorkspaceState],
    ) -> None:
        task, repo = request.task, request.repository
        info = workflow.info()

        self.step = "clone"
        clone_input = CloneInput(
            workflow_id=info.workflow_id,
            task_id=task.id,
            remote_url=repo.remote_url,
            branch=repo.branch,
            credentials=repo.credentials,
        )
        state = WorkspaceState(
            workspace=await clone(clone_input, config),
            clone=clone_input,
            session_id=f"{info.workflow_id}/{info.run_id}",
        )
        holder.append(state)
        result.artifacts.temp_dir = state.workspace.path
        events.emit(
            f"Cloned {redact_url(repo.remote_url)} at {repo.branch}",
            N.REPO_CLONED,
            details={"branch": repo.branch, "commit": state.workspace.base_commit, "temp_dir": state.workspace.path},
        )

        self.step = "branch"
        day = workflow.now().strftime("%Y%m%d")
        state.branch = result.branch_name = await on_workspace(
            state,
            config,
            events,
            WorkspaceActivities.create_branch,
            lambda ws: BranchInput(
                workspace=ws, title=task.title, remote_url=repo.remote_url, credentials=repo.credentials, day=day
            ),
            timedelta(seconds=config.git_timeout_seconds + 60),
        )
        events.emit(f"Created branch {result.branch_name}", N.BRANCH_CREATED, details={"branch": result.branch_name})

        self.step = "plan"
        planned = await workflow.execute_activity_method(
            LLMActivities.generate_plan,
            PlanInput(agent=request.agent, task=task, overview=state.workspace.overview),
            start_to_close_timeout=timedelta(minutes=10),
            heartbeat_timeout=timedelta(seconds=config.heartbeat_timeout_seconds),
            retry_policy=llm_retry_policy(config),
        )
        self.llm_calls += planned.llm_calls
        result.implementation_plan = planned.plan
        events.emit(
            f"Plan created: {len(planned.plan.steps)} steps",
            N.PLAN_CREATED,
            details={"plan": planned.plan.model_dump()},
        )

        self.step = "implementation"
        max_iterations = request.agent.max_iterations or config.max_iterations
        events.emit(
            f"Implementation started (up to {max_iterations} iterations)",
            N.IMPLEMENTATION_STARTED,
            details={"max_iterations": max_iterations, "allow_network": request.agent.allow_network},
        )
        if request.agent.allow_network:
            events.emit(
                "Agent commands may reach the network (agent.allow_network=true)",
                details={"allow_network": True},
            )
        session = await self._implement(
            SessionState(
                task=events.task,
                model=request.agent.model,
                workspace=state.for_session(),
                config=config,
                max_iterations=max_iterations,
                allow_network=request.agent.allow_network,
                pending_messages=planned.agent_messages,
            ),
            state,
            config,
            events,
        )
        events.sequence = session.event_sequence
        self.llm_calls += session.llm_calls
        result.steps_completed = session.steps_completed
        result.artifacts.iterations = session.iterations
        result.artifacts.prompt_tokens = session.prompt_tokens
        result.artifacts.completion_tokens = session.completion_tokens

        self.step = "validation"
        commands = task.context.get("validation_commands")
        events.emit("Validation started", N.VALIDATION_STARTED, details={"commands": commands})
        validation = await on_workspace(
            state,
            config,
            events,
            WorkspaceActivities.run_validation,
            lambda ws: ValidationInput(workspace=ws, commands=commands if isinstance(commands, list) else None),
            timedelta(seconds=config.validation_timeout_seconds * 4 + 60),
            heartbeat=True,
        )
        result.validation_result = validation
        events.emit(
            f"Validation {'passed' if validation.success else 'failed'}: "
            f"{validation.tests_passed} passed, {validation.tests_failed} failed",
            N.VALIDATION_COMPLETED,
            details=validation.model_dump(),
        )

        self.step = "commit"
        message = commit_message(request, session.summary)
        committed = await self._commit(state, config, events, message, repo.remote_url)
        if committed.commit_hash is None:
            raise TaskFailed("the agent made no changes to the repository, so there is nothing to commit or push")
        result.commit_hash = committed.commit_hash
        events.emit(
            f"Committed {committed.commit_hash[:12]} ({len(committed.files_changed)} files)",
            N.CHANGES_COMMITTED,
            details={"commit": committed.commit_hash, "files": committed.files_changed[:200]},
        )

        self.step = "push"
        while True:
            rebuilds = state.rebuilds
            await on_workspace(
                state,
                config,
                events,
                WorkspaceActivities.push_branch,
                lambda ws: PushInput(
                    workspace=ws, branch=state.branch or "", remote_url=repo.remote_url, credentials=repo.credentials
                ),
                timedelta(seconds=config.git_timeout_seconds * 3 + 60),
                heartbeat=True,
            )
            if state.rebuilds == rebuilds:
                break
            # The workspace was rebuilt from the saved changes, without our commit: commit again, then push.
            result.commit_hash = (await self._commit(state, config, events, message, repo.remote_url)).commit_hash
        events.emit(
            f"Pushed {result.branch_name} to {redact_url(repo.remote_url)}",
            N.CHANGES_PUSHED,
            details={"branch": result.branch_name, "commit": result.commit_hash},
        )

        self.step = "completion"
        if validation.success:
            result.success = True
        else:
            result.error_message = (
                "validation failed (the branch was pushed so nothing is lost): " + "; ".join(validation.issues)[:2000]
            )

    async def _implement(
        self, session: SessionState, state: WorkspaceState, config: RunConfig, events: EventLog
    ) -> SessionResult:
        """Run the agent session; when it loses its workspace's worker, rebuild the workspace here
        (this workflow holds the credentials) and start a new session from where the last one stopped."""
        info = workflow.info()
        for attempt in range(MAX_REBUILDS + 1):
            await events.drain()  # the session's events must follow ours
            session.event_sequence = events.sequence
            suffix = f"-{attempt}" if attempt else ""
            self.session_id = f"{info.workflow_id}-session-{info.run_id[:8]}{suffix}"
            try:
                result: SessionResult = await workflow.execute_child_workflow(
                    AgentSessionWorkflow.run, session, id=self.session_id
                )
                return result
            except ChildWorkflowError as err:
                lost = err.cause
                if not (isinstance(lost, ApplicationError) and lost.type == WORKSPACE_LOST and lost.details):
                    raise
                session = SessionState.model_validate(lost.details[0])
            events.sequence = session.event_sequence
            await rebuild(state, config, events)
            session.workspace = state.for_session()
        raise TaskFailed(f"the workspace was lost more than {MAX_REBUILDS} times")

    @staticmethod
    async def _commit(
        state: WorkspaceState, config: RunConfig, events: EventLog, message: str, remote_url: str
    ) -> CommitOutput:
        output: CommitOutput = await on_workspace(
            state,
            config,
            events,
            WorkspaceActivities.commit_changes,
            lambda ws: CommitInput(workspace=ws, message=message, remote_url=remote_url),
            timedelta(minutes=5),
        )
        return output

    async def _finish(self, result: CodingAgentResult, holder: list[WorkspaceState], events: EventLog) -> None:
        if holder:
            workspace = holder[0].workspace
            try:
                await workflow.execute_activity_method(
                    WorkspaceActivities.cleanup_workspace,
                    workspace,
                    task_queue=workspace.task_queue,
                    schedule_to_start_timeout=timedelta(minutes=2),
                    start_to_close_timeout=timedelta(minutes=5),
                    retry_policy=NO_RETRY,
                )
            except Exception:
                workflow.logger.warning("workspace cleanup failed; its worker may be gone")
        await events.drain()
        try:
            await workflow.execute_activity_method(
                ReportingActivities.notify_platform,
                WebhookInput(result=result),
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=NO_RETRY,
            )
        except Exception:
            workflow.logger.warning("platform webhook failed")

    @staticmethod
    def _summary(result: CodingAgentResult) -> dict[str, Any]:
        return {
            "success": result.success,
            "branch": result.branch_name,
            "commit": result.commit_hash,
            "steps_completed": result.steps_completed,
            "llm_calls": result.artifacts.llm_calls,
            "execution_time_hours": result.execution_time_hours,
            "error_message": result.error_message,
        }


@workflow.defn(name="CodingAgentWorkflow.run")
class CodingAgentWorkflowByMethodName(CodingAgentWorkflow):
    """The same workflow under the name the specification's example starts it by."""

    @workflow.run
    async def run(self, request: CodingAgentRequest | Any) -> CodingAgentResult:
        return await super().run(request)
