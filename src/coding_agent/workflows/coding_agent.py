"""CodingAgentWorkflow: the nine steps of the specification, in order.

1 initialise, 2 clone, 3 branch, 4 plan, 5 implement (the ``AgentSessionWorkflow`` child), 6 validate,
7 commit, 8 push, 9 complete: metrics, the final notification, the platform's webhook, cleanup.
Deterministic code only: every effect is an activity, time is ``workflow.now()``. A failure anywhere
ends the task with ``success: false``, a clear ``error_message``, a ``workflow_failed`` notification and
an ``error`` row; cancellation does the same, then re-raises so Temporal records the cancellation.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    TimeoutError as TemporalTimeoutError,
)

with workflow.unsafe.imports_passed_through():
    from coding_agent.activities.llm import LLMActivities
    from coding_agent.activities.reporting import ReportingActivities
    from coding_agent.activities.types import (
        BranchInput,
        CloneInput,
        CommitInput,
        PlanInput,
        PushInput,
        RunConfig,
        ValidationInput,
        WebhookInput,
        Workspace,
    )
    from coding_agent.activities.workspace import WorkspaceActivities
    from coding_agent.models import (
        ActivityType,
        Artifacts,
        CodingAgentRequest,
        CodingAgentResult,
        NotificationType as N,
        TaskRef,
    )
    from coding_agent.redaction import redact_url
    from coding_agent.workflows.agent_session import AgentSessionWorkflow, SessionResult, SessionState
    from coding_agent.workflows.events import EventLog

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


def commit_message(request: CodingAgentRequest, summary: str, files: list[str] | None = None) -> str:
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
    async def run(self, request: CodingAgentRequest) -> CodingAgentResult:
        info = workflow.info()
        started = workflow.now()
        task = request.task
        events = EventLog(
            TaskRef(workflow_id=info.workflow_id, company_id=task.company_id, project_id=task.project_id, task_id=task.id)
        )
        result = CodingAgentResult(
            success=False,
            workflow_id=info.workflow_id,
            company_id=task.company_id,
            project_id=task.project_id,
            task_id=task.id,
        )
        workspace: list[Workspace] = []
        cancelled = False
        try:
            events.emit(f"Started task {task.id}: {task.title}", N.WORKFLOW_STARTED, details={"model": request.agent.model})
            config = await workflow.execute_activity_method(
                ReportingActivities.resolve_run_config, start_to_close_timeout=SHORT
            )
            await asyncio.wait_for(
                self._steps(request, config, events, result, workspace),
                timeout=config.workflow_timeout_hours * 3600,
            )
        except asyncio.CancelledError:
            cancelled = True
            result.error_message = "cancelled: the workflow was cancelled by a user or the platform"
        except TimeoutError:
            result.error_message = "timed out: the task exceeded its overall workflow timeout"
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

    async def _steps(
        self,
        request: CodingAgentRequest,
        config: RunConfig,
        events: EventLog,
        result: CodingAgentResult,
        workspace_ref: list[Workspace],
    ) -> None:
        task, repo = request.task, request.repository
        info = workflow.info()

        self.step = "clone"
        workspace = await workflow.execute_activity_method(
            WorkspaceActivities.clone_repository,
            CloneInput(
                workflow_id=info.workflow_id,
                task_id=task.id,
                remote_url=repo.remote_url,
                branch=repo.branch,
                credentials=repo.credentials,
            ),
            start_to_close_timeout=timedelta(seconds=config.git_timeout_seconds * 3 + 60),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        workspace_ref.append(workspace)
        result.artifacts.temp_dir = workspace.path
        events.emit(
            f"Cloned {redact_url(repo.remote_url)} at {repo.branch}",
            N.REPO_CLONED,
            details={"branch": repo.branch, "commit": workspace.base_commit, "temp_dir": workspace.path},
        )

        self.step = "branch"
        result.branch_name = await workflow.execute_activity_method(
            WorkspaceActivities.create_branch,
            BranchInput(
                workspace=workspace,
                title=task.title,
                remote_url=repo.remote_url,
                credentials=repo.credentials,
                day=workflow.now().strftime("%Y%m%d"),
            ),
            **self._on_workspace(workspace, config, timedelta(seconds=config.git_timeout_seconds + 60)),
        )
        events.emit(f"Created branch {result.branch_name}", N.BRANCH_CREATED, details={"branch": result.branch_name})

        self.step = "plan"
        planned = await workflow.execute_activity_method(
            LLMActivities.generate_plan,
            PlanInput(agent=request.agent, task=task, overview=workspace.overview),
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=self._llm_retry(config),
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
            details={"max_iterations": max_iterations},
        )
        await events.drain()  # the session's events must follow ours
        self.session_id = f"{info.workflow_id}-session-{info.run_id[:8]}"
        session: SessionResult = await workflow.execute_child_workflow(
            AgentSessionWorkflow.run,
            SessionState(
                task=events.task,
                session_id=f"{info.workflow_id}/{info.run_id}",
                model=request.agent.model,
                workspace=workspace,
                max_iterations=max_iterations,
                llm_max_attempts=config.llm_max_attempts,
                history_event_threshold=config.history_event_threshold,
                shell_max_timeout_seconds=config.shell_max_timeout_seconds,
                allow_network=request.agent.allow_network,
                pending_messages=planned.agent_messages,
                event_sequence=events.sequence,
            ),
            id=self.session_id,
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
        validation = await workflow.execute_activity_method(
            WorkspaceActivities.run_validation,
            ValidationInput(workspace=workspace, commands=commands if isinstance(commands, list) else None),
            **self._on_workspace(
                workspace, config, timedelta(seconds=config.validation_timeout_seconds * 4 + 60), heartbeat=True
            ),
        )
        result.validation_result = validation
        events.emit(
            f"Validation {'passed' if validation.success else 'failed'}: "
            f"{validation.tests_passed} passed, {validation.tests_failed} failed",
            N.VALIDATION_COMPLETED,
            details=validation.model_dump(),
        )

        self.step = "commit"
        committed = await workflow.execute_activity_method(
            WorkspaceActivities.commit_changes,
            CommitInput(
                workspace=workspace, message=commit_message(request, session.summary), remote_url=repo.remote_url
            ),
            **self._on_workspace(workspace, config, timedelta(minutes=5)),
        )
        if committed.commit_hash is None:
            raise TaskFailed("the agent made no changes to the repository, so there is nothing to commit or push")
        result.commit_hash = committed.commit_hash
        events.emit(
            f"Committed {committed.commit_hash[:12]} ({len(committed.files_changed)} files)",
            N.CHANGES_COMMITTED,
            details={"commit": committed.commit_hash, "files": committed.files_changed[:200]},
        )

        self.step = "push"
        await workflow.execute_activity_method(
            WorkspaceActivities.push_branch,
            PushInput(
                workspace=workspace, branch=result.branch_name, remote_url=repo.remote_url, credentials=repo.credentials
            ),
            **self._on_workspace(workspace, config, timedelta(seconds=config.git_timeout_seconds * 3 + 60)),
        )
        events.emit(
            f"Pushed {result.branch_name} to {redact_url(repo.remote_url)}",
            N.CHANGES_PUSHED,
            details={"branch": result.branch_name, "commit": committed.commit_hash},
        )

        self.step = "completion"
        if validation.success:
            result.success = True
        else:
            result.error_message = (
                "validation failed (the branch was pushed so nothing is lost): " + "; ".join(validation.issues)[:2000]
            )

    async def _finish(self, result: CodingAgentResult, workspace: list[Workspace], events: EventLog) -> None:
        if workspace:
            try:
                await workflow.execute_activity_method(
                    WorkspaceActivities.cleanup_workspace,
                    workspace[0],
                    task_queue=workspace[0].task_queue,
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
    def _on_workspace(
        workspace: Workspace, config: RunConfig, timeout: timedelta, heartbeat: bool = False
    ) -> dict[str, Any]:
        options: dict[str, Any] = {
            "task_queue": workspace.task_queue,
            "start_to_close_timeout": timeout,
            "schedule_to_start_timeout": timedelta(seconds=config.workspace_schedule_to_start_seconds),
            "retry_policy": RetryPolicy(maximum_attempts=3),
        }
        if heartbeat:
            options["heartbeat_timeout"] = timedelta(seconds=60)
        return options

    @staticmethod
    def _llm_retry(config: RunConfig) -> RetryPolicy:
        return RetryPolicy(
            initial_interval=timedelta(seconds=1),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=60),
            maximum_attempts=config.llm_max_attempts,
        )

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
    async def run(self, request: CodingAgentRequest) -> CodingAgentResult:
        return await super().run(request)
