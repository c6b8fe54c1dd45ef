"""The typed inputs and outputs of the activities: what crosses Temporal's wire between the workflows
and the services. Each activity takes one model, so fields can be added without breaking running
workflows."""

from __future__ import annotations

from pydantic import BaseModel, Field

from coding_agent.models import (
    AgentConfig,
    CodingAgentResult,
    GitCredentials,
    ImplementationPlan,
    TaskConfig,
    TaskEvent,
    ToolCall,
    ToolResult,
    ValidationResult,
)


class RunConfig(BaseModel):
    """The worker's defaults that shape a run, resolved once and recorded in history."""

    max_iterations: int
    llm_max_attempts: int
    llm_retry_initial_seconds: float = 1.0
    workflow_timeout_hours: float
    history_event_threshold: int
    shell_max_timeout_seconds: float
    validation_timeout_seconds: float
    git_timeout_seconds: float
    workspace_schedule_to_start_seconds: float
    heartbeat_timeout_seconds: float


class RestoreSpec(BaseModel):
    """How to rebuild a lost workspace: the feature branch at the original base, plus the saved changes."""

    branch: str
    base_commit: str
    session_id: str


class CloneInput(BaseModel):
    workflow_id: str
    task_id: str
    remote_url: str
    branch: str
    credentials: GitCredentials | None = None
    restore: RestoreSpec | None = None


class Workspace(BaseModel):
    """Where a task's clone lives: a directory on one worker, reached through that worker's own queue."""

    path: str
    task_queue: str
    base_commit: str
    overview: str = ""
    """A bounded listing of the repository for the planning prompt."""


class BranchInput(BaseModel):
    workspace: Workspace
    title: str
    remote_url: str
    credentials: GitCredentials | None = None
    day: str
    """YYYYMMDD, from the workflow's deterministic clock."""


class PlanInput(BaseModel):
    agent: AgentConfig
    task: TaskConfig
    overview: str


class PlanOutput(BaseModel):
    plan: ImplementationPlan
    llm_calls: int
    agent_messages: list[dict] = Field(default_factory=list)
    """The tool loop's opening messages (system prompt, task and plan)."""


class TurnInput(BaseModel):
    session_id: str
    model: str
    seq: int
    """Index in the stored transcript where ``new_messages`` go."""
    new_messages: list[dict] = Field(default_factory=list)


class TurnOutput(BaseModel):
    content: str | None
    tool_calls: list[ToolCall]
    next_seq: int
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ToolsInput(BaseModel):
    workspace: Workspace
    calls: list[ToolCall]
    allow_network: bool = False
    session_id: str = ""
    """Where the workspace's changes are saved after the batch (empty: not saved)."""
    remote_url: str = ""


class ToolsOutput(BaseModel):
    results: list[ToolResult]


class ValidationInput(BaseModel):
    workspace: Workspace
    commands: list[str] | None = None


class CommitInput(BaseModel):
    workspace: Workspace
    message: str
    remote_url: str


class CommitOutput(BaseModel):
    commit_hash: str | None
    files_changed: list[str] = Field(default_factory=list)


class PushInput(BaseModel):
    workspace: Workspace
    branch: str
    remote_url: str
    credentials: GitCredentials | None = None


class EventsInput(BaseModel):
    events: list[TaskEvent]


class WebhookInput(BaseModel):
    result: CodingAgentResult


__all__ = [
    "BranchInput",
    "CloneInput",
    "CommitInput",
    "CommitOutput",
    "EventsInput",
    "PlanInput",
    "PlanOutput",
    "PushInput",
    "RunConfig",
    "ToolsInput",
    "ToolsOutput",
    "TurnInput",
    "TurnOutput",
    "ValidationInput",
    "ValidationResult",
    "WebhookInput",
    "Workspace",
]
