"""The public contract of the coding agent, as pydantic models.

The request and result schemas, the notification payload and the activity record are the
specification's, field for field; extensions are optional fields with defaults. Secrets are plain
strings (they must survive Temporal's JSON data converter) but never appear in a ``repr``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_MODEL = "z-ai/glm-4.6:exacto"
DEFAULT_MAX_ITERATIONS = 10

# NATS subject tokens may not contain '.', '*', '>' or whitespace; ids become subject tokens.
ID_PATTERN = re.compile(r"^[A-Za-z0-9_:@+=-]{1,128}$")
MAX_TEXT_CHARS = 100_000
MAX_LIST_ITEMS = 200


def utc_now() -> datetime:
    return datetime.now(UTC)


class GitCredentialsType(StrEnum):
    USERNAME_PASSWORD = "username_password"
    KEY_CERT = "key_cert"
    ACCESS_TOKEN = "access_token"


class AgentConfig(BaseModel):
    """Which model drives the agent and how."""

    model: str = Field(default=DEFAULT_MODEL, min_length=1, max_length=200)
    """OpenRouter model id (any OpenAI-compatible model name)."""
    instructions: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    """Custom instructions added to the agent's system prompt."""
    max_iterations: int | None = Field(default=None, ge=1, le=100_000)
    """LLM turns of the tool loop; None means the worker's default (10, as specified)."""
    allow_network: bool = False
    """Let the agent's shell commands reach the network (off by default)."""


class GitCredentials(BaseModel):
    """Credentials for the repository; which fields matter depends on ``credential_type``."""

    credential_type: GitCredentialsType
    username: str | None = Field(default=None, max_length=256)
    password: str | None = Field(default=None, repr=False, max_length=4096)
    private_key: str | None = Field(default=None, repr=False, max_length=65_536)
    private_key_path: str | None = Field(default=None, max_length=4096)
    key_password: str | None = Field(default=None, repr=False, max_length=4096)
    access_token: str | None = Field(default=None, repr=False, max_length=4096)

    @model_validator(mode="after")
    def _fields_for_type(self) -> GitCredentials:
        kind = self.credential_type
        if kind is GitCredentialsType.USERNAME_PASSWORD and not (self.username and self.password):
            raise ValueError("credentials.username and credentials.password are required for username_password")
        if kind is GitCredentialsType.ACCESS_TOKEN and not self.access_token:
            raise ValueError("credentials.access_token is required for access_token")
        if kind is GitCredentialsType.KEY_CERT and not (self.private_key or self.private_key_path):
            raise ValueError("credentials.private_key or credentials.private_key_path is required for key_cert")
        return self

    def secrets(self) -> list[str]:
        """Every secret value held here, for redaction."""
        return [s for s in (self.password, self.private_key, self.key_password, self.access_token) if s]


_ALLOWED_SCHEMES = ("https", "http", "ssh", "file")
_TRANSPORT_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")


class RepositoryConfig(BaseModel):
    remote_url: str = Field(min_length=1, max_length=4096)
    branch: str = Field(default="main", min_length=1, max_length=255)
    credentials: GitCredentials | None = None

    @field_validator("remote_url")
    @classmethod
    def _safe_transport(cls, value: str) -> str:
        # git runs commands for transports such as ext:: and fd::; only plain transports are accepted.
        if any(ord(c) < 32 for c in value) or value.startswith("-"):
            raise ValueError("must be a plain git URL or path (no control characters, no leading '-')")
        if _TRANSPORT_PREFIX.match(value):
            raise ValueError(f"uses the forbidden transport {value.split('::', 1)[0]!r}::; use https, ssh or file")
        if "://" in value and value.split("://", 1)[0].lower() not in _ALLOWED_SCHEMES:
            raise ValueError(f"uses the unsupported scheme {value.split('://', 1)[0]!r}; use https, ssh or file")
        return value

    @field_validator("branch")
    @classmethod
    def _branch_name(cls, value: str) -> str:
        if value.startswith("-") or any(c in value for c in " ~^:?*[\\\x00") or ".." in value:
            raise ValueError(f"repository.branch is not a valid git branch name: {value!r}")
        return value


class TaskConfig(BaseModel):
    id: str
    project_id: str
    company_id: str
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=MAX_TEXT_CHARS)
    requirements: list[str] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    tags: list[str] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    context: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id", "project_id", "company_id")
    @classmethod
    def _subject_token(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError(
                "must be 1-128 characters of letters, digits and _:@+=- (it becomes a NATS subject token)"
            )
        return value

    @field_validator("requirements", "tags")
    @classmethod
    def _bounded_items(cls, value: list[str]) -> list[str]:
        if any(len(item) > 10_000 for item in value):
            raise ValueError("items are limited to 10,000 characters")
        return value


class CodingAgentRequest(BaseModel):
    agent: AgentConfig = Field(default_factory=AgentConfig)
    repository: RepositoryConfig
    task: TaskConfig


class ImplementationPlan(BaseModel):
    steps: list[str] = Field(default_factory=list)
    files_to_create: list[str] = Field(default_factory=list)
    files_to_modify: list[str] = Field(default_factory=list)
    estimated_steps: int = 0
    validation_criteria: list[str] = Field(default_factory=list)


class ValidationResult(BaseModel):
    success: bool = False
    issues: list[str] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list)
    tests_passed: int = 0
    tests_failed: int = 0


class Artifacts(BaseModel):
    model_config = ConfigDict(extra="allow")

    llm_calls: int = 0
    temp_dir: str = ""
    iterations: int = 0
    """Extension: LLM turns of the tool loop."""
    prompt_tokens: int = 0
    """Extension: prompt tokens over all LLM calls of the tool loop."""
    completion_tokens: int = 0
    """Extension: completion tokens over all LLM calls of the tool loop."""


class CodingAgentResult(BaseModel):
    success: bool
    workflow_id: str
    company_id: str
    project_id: str
    task_id: str
    branch_name: str = ""
    commit_hash: str | None = None
    implementation_plan: ImplementationPlan = Field(default_factory=ImplementationPlan)
    steps_completed: int = 0
    validation_result: ValidationResult = Field(default_factory=ValidationResult)
    error_message: str | None = None
    execution_time_hours: float = 0.0
    artifacts: Artifacts = Field(default_factory=Artifacts)


class NotificationType(StrEnum):
    WORKFLOW_STARTED = "workflow_started"
    REPO_CLONED = "repo_cloned"
    BRANCH_CREATED = "branch_created"
    PLAN_CREATED = "plan_created"
    IMPLEMENTATION_STARTED = "implementation_started"
    IMPLEMENTATION_STEP = "implementation_step"
    VALIDATION_STARTED = "validation_started"
    VALIDATION_COMPLETED = "validation_completed"
    CHANGES_COMMITTED = "changes_committed"
    CHANGES_PUSHED = "changes_pushed"
    WORKFLOW_COMPLETED = "workflow_completed"
    WORKFLOW_FAILED = "workflow_failed"


class ActivityType(StrEnum):
    PROGRESS = "progress"
    FUNCTION_CALL = "function_call"
    MCP_CALL = "mcp_call"
    ERROR = "error"


class Notification(BaseModel):
    """The NATS payload, exactly as specified."""

    workflow_id: str
    company_id: str
    project_id: str
    task_id: str
    notification_type: NotificationType
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime = Field(default_factory=utc_now)

    def subject(self, prefix: str) -> str:
        return f"{prefix}.{self.company_id}.{self.project_id}.{self.task_id}.{self.notification_type.value}"


class TaskActivity(BaseModel):
    """One row of ``task_activities``: the specified fields plus the operator's keys."""

    task_id: str
    activity_type: ActivityType
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime = Field(default_factory=utc_now)
    workflow_id: str = ""
    company_id: str = ""
    project_id: str = ""


class TaskRef(BaseModel):
    """Who an event belongs to."""

    workflow_id: str
    company_id: str
    project_id: str
    task_id: str


class TaskEvent(BaseModel):
    """One thing that happened: a NATS notification and/or an activity row, with one message."""

    task: TaskRef
    message: str
    notification_type: NotificationType | None = None
    activity_type: ActivityType | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime = Field(default_factory=utc_now)

    def notification(self) -> Notification | None:
        if self.notification_type is None:
            return None
        return Notification(
            **self.task.model_dump(),
            notification_type=self.notification_type,
            message=self.message,
            details=self.details,
            timestamp=self.timestamp,
        )

    def activity(self) -> TaskActivity | None:
        if self.activity_type is None:
            return None
        return TaskActivity(
            **self.task.model_dump(),
            activity_type=self.activity_type,
            message=self.message,
            details=self.details,
            timestamp=self.timestamp,
        )


ToolOutcome = Literal["ok", "error", "refused"]


class ToolCall(BaseModel):
    """One function call the model asked for."""

    id: str
    name: str
    arguments: str
    """The raw JSON arguments as the model wrote them."""


class ToolResult(BaseModel):
    """What a tool call produced, already cut to a size the model and the history can carry."""

    call_id: str
    name: str
    outcome: ToolOutcome
    output: str
    duration_ms: int = 0
    details: dict[str, Any] = Field(default_factory=dict)
