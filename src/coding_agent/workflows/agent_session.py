"""AgentSessionWorkflow: the tool loop, as a child workflow that can run for months.

Each iteration is one model turn (``agent_turn``, the transcript kept in the store) followed by the
tool calls it asked for (``execute_tools`` on the workspace's own queue). The loop ends when the model
answers without a tool call or the iteration budget is spent. Before its history grows large, the
session continues-as-new with its small state, so thousands of iterations stay within Temporal's limits.
"""

from __future__ import annotations

import json
from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from coding_agent.activities.llm import LLMActivities
    from coding_agent.activities.types import RunConfig, ToolsInput, ToolsOutput, TurnInput
    from coding_agent.activities.workspace import WorkspaceActivities
    from coding_agent.models import ActivityType, NotificationType, TaskRef, ToolCall, ToolResult
    from coding_agent.workflows.events import EventLog
    from coding_agent.workflows.workspace import WorkspaceLost, WorkspaceState, on_workspace

LLM_CALL_TIMEOUT = timedelta(minutes=10)
WORKSPACE_LOST = "WorkspaceLost"


def llm_retry_policy(config: RunConfig) -> RetryPolicy:
    """Exponential backoff for model calls; errors retrying cannot fix are raised non-retryable."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=config.llm_retry_initial_seconds),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=60),
        maximum_attempts=config.llm_max_attempts,
    )


class SessionState(BaseModel):
    """Everything the loop needs; small, because it is the input of every continue-as-new."""

    task: TaskRef
    model: str
    workspace: WorkspaceState
    config: RunConfig
    max_iterations: int
    allow_network: bool = False
    pending_messages: list[dict] = Field(default_factory=list)
    """Messages still to be written to the transcript before the next turn."""
    pending_calls: list[ToolCall] = Field(default_factory=list)
    """Tool calls the model asked for that have not run yet (e.g. when their worker was lost)."""
    seq: int = 0
    iteration: int = 0
    steps_completed: int = 0
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    event_sequence: int = 0
    summary: str = ""
    runs: int = 1


class SessionResult(BaseModel):
    summary: str
    iterations: int
    steps_completed: int
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    event_sequence: int
    stopped_by_limit: bool
    runs: int


def headline(arguments: object) -> str:
    """The one argument that says what a tool call did (its command or path), for a one-line message."""
    if isinstance(arguments, dict):
        for key in ("command", "path", "pattern"):
            if isinstance(arguments.get(key), str):
                return json.dumps(arguments[key], ensure_ascii=False)[:160]
    return ""


def tool_message(result: ToolResult) -> dict:
    return {"role": "tool", "tool_call_id": result.call_id, "content": result.output}


@workflow.defn
class AgentSessionWorkflow:
    def __init__(self) -> None:
        self.state: SessionState | None = None
        self.last_tool: str | None = None

    @workflow.query
    def progress(self) -> dict:
        s = self.state
        if s is None:
            return {}
        return {
            "iteration": s.iteration,
            "max_iterations": s.max_iterations,
            "steps_completed": s.steps_completed,
            "llm_calls": s.llm_calls,
            "last_tool_call": self.last_tool,
            "runs": s.runs,
        }

    @workflow.run
    async def run(self, state: SessionState) -> SessionResult:
        self.state = state
        events = EventLog(state.task, state.event_sequence)
        stopped_by_limit = True
        while True:
            if state.pending_calls:
                await self._run_tools(state, events)
            if state.iteration >= state.max_iterations:
                break
            if self._history_is_large(state):
                await events.drain()
                state.event_sequence = events.sequence
                state.runs += 1
                workflow.continue_as_new(state)
            turn = await workflow.execute_activity_method(
                LLMActivities.agent_turn,
                TurnInput(
                    session_id=state.workspace.session_id,
                    model=state.model,
                    seq=state.seq,
                    new_messages=state.pending_messages,
                ),
                start_to_close_timeout=LLM_CALL_TIMEOUT,
                heartbeat_timeout=timedelta(seconds=state.config.heartbeat_timeout_seconds),
                retry_policy=llm_retry_policy(state.config),
            )
            state.iteration += 1
            state.llm_calls += 1
            state.seq = turn.next_seq
            state.prompt_tokens += turn.prompt_tokens
            state.completion_tokens += turn.completion_tokens
            state.pending_messages = []
            if turn.content:
                state.summary = turn.content
            if not turn.tool_calls:
                stopped_by_limit = False
                break
            state.pending_calls = turn.tool_calls
        if stopped_by_limit:
            events.emit(
                f"The agent used all {state.max_iterations} iterations; validating what it has done so far",
                details={"iterations": state.iteration, "max_iterations": state.max_iterations},
            )
        await events.drain()
        return SessionResult(
            summary=state.summary,
            iterations=state.iteration,
            steps_completed=state.steps_completed,
            llm_calls=state.llm_calls,
            prompt_tokens=state.prompt_tokens,
            completion_tokens=state.completion_tokens,
            event_sequence=events.sequence,
            stopped_by_limit=stopped_by_limit,
            runs=state.runs,
        )

    async def _run_tools(self, state: SessionState, events: EventLog) -> None:
        """Run the calls the model asked for on the workspace's worker; their results become the next
        turn's new messages. A lost workspace ends this session with its state, for the task to rebuild
        the workspace (it holds the credentials) and start a new session that runs these calls again."""
        calls = state.pending_calls
        try:
            output: ToolsOutput = await on_workspace(
                state.workspace,
                state.config,
                events,
                WorkspaceActivities.execute_tools,
                lambda ws: ToolsInput(
                    workspace=ws,
                    calls=calls,
                    allow_network=state.allow_network,
                    session_id=state.workspace.session_id,
                    remote_url=state.workspace.clone.remote_url,
                ),
                timedelta(seconds=state.config.shell_max_timeout_seconds * len(calls) + 60),
                heartbeat=True,
            )
        except WorkspaceLost:
            await events.drain()
            state.event_sequence = events.sequence
            raise ApplicationError(
                "the worker holding the workspace was lost",
                state.model_dump(mode="json"),
                type=WORKSPACE_LOST,
                non_retryable=True,
            ) from None
        for result in output.results:
            state.steps_completed += 1
            self.last_tool = f"{result.name}({headline(result.details.get('arguments'))})"
            self._report(events, state, result)
        state.pending_messages = [tool_message(r) for r in output.results]
        state.pending_calls = []

    @staticmethod
    def _history_is_large(state: SessionState) -> bool:
        info = workflow.info()
        threshold = state.config.history_event_threshold
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= threshold

    @staticmethod
    def _report(events: EventLog, state: SessionState, result: ToolResult) -> None:
        details = {
            "iteration": state.iteration,
            "step": state.steps_completed,
            "tool": result.name,
            "outcome": result.outcome,
            "duration_ms": result.duration_ms,
            **result.details,
        }
        message = f"{result.name}({headline(details.get('arguments'))}) -> {result.outcome}"
        events.emit(message, NotificationType.IMPLEMENTATION_STEP, ActivityType.FUNCTION_CALL, details)
        if result.outcome == "refused":
            events.emit(f"refused {result.name}: {result.output[:500]}", None, ActivityType.ERROR, details)
