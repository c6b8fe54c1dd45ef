"""Every setting of the service, read once from the environment.

The specification's variables keep their names (``TEMPORAL_HOST``, ``NATS_URL``, ``DATABASE_URL``...);
the product's own extensions are prefixed ``CODING_AGENT_``. Secrets are ``SecretStr`` so a printed
settings object never shows them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from coding_agent.models import DEFAULT_MAX_ITERATIONS, DEFAULT_MODEL


def _ext(name: str) -> AliasChoices:
    return AliasChoices(f"CODING_AGENT_{name}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, env_file=None)

    # --- Temporal (specified) ---
    temporal_host: str = "localhost:7233"
    """Temporal frontend address."""
    temporal_namespace: str = "default"
    """Temporal namespace."""
    temporal_task_queue_coding_agent: str = "coding-agent"
    """The shared task queue of the workflow and its non-workspace activities."""

    # --- LLM (specified: OPENROUTER_API_KEY) ---
    openrouter_api_key: SecretStr | None = None
    """OpenRouter (or any OpenAI-compatible server) API key."""
    openrouter_base_url: str = "https://openrouter.ai/api/v1"
    """Base URL of the OpenAI-compatible API."""
    default_model: str = Field(default=DEFAULT_MODEL, validation_alias=_ext("DEFAULT_MODEL"))
    """Model used when the request does not name one."""
    llm_timeout_seconds: float = Field(default=300.0, validation_alias=_ext("LLM_TIMEOUT_SECONDS"))
    """Timeout of one LLM HTTP call."""
    llm_max_attempts: int = Field(default=6, validation_alias=_ext("LLM_MAX_ATTEMPTS"))
    """Attempts of one LLM call (Temporal retries with exponential backoff) before the task fails."""
    llm_retry_initial_seconds: float = Field(default=1.0, validation_alias=_ext("LLM_RETRY_INITIAL_SECONDS"))
    """First backoff delay between LLM attempts; doubles each attempt, up to one minute."""
    llm_max_output_tokens: int = Field(default=8192, validation_alias=_ext("LLM_MAX_OUTPUT_TOKENS"))
    """Upper bound on tokens the model may produce per call."""

    # --- NATS (specified) ---
    nats_url: str = "nats://localhost:4222"
    """NATS server(s), comma-separated."""
    nats_http_url: str | None = None
    """Optional HTTP bridge used when NATS cannot be reached."""
    nats_subject_prefix: str = "automata.workflows"
    """Subject prefix: {prefix}.{company_id}.{project_id}.{task_id}.{type}."""
    nats_jetstream_stream: str | None = Field(default=None, validation_alias=_ext("NATS_JETSTREAM_STREAM"))
    """When set, a JetStream stream of this name captures {prefix}.> for replay."""

    # --- Elixir API (specified) ---
    elixir_webhook_url: str | None = None
    """Where the final result is POSTed; unset disables the webhook."""
    elixir_webhook_secret: SecretStr | None = None
    """HMAC-SHA256 key that signs the webhook body."""
    webhook_max_attempts: int = Field(default=5, validation_alias=_ext("WEBHOOK_MAX_ATTEMPTS"))
    """Deliveries tried on connection errors and 5xx before the webhook is given up (4xx: no retry)."""
    webhook_retry_base_seconds: float = Field(default=0.5, validation_alias=_ext("WEBHOOK_RETRY_BASE_SECONDS"))
    """First backoff delay between webhook attempts; doubles each time."""

    # --- Database (specified: DATABASE_URL) ---
    database_url: SecretStr | None = None
    """PostgreSQL (postgresql://...) or any SQLAlchemy async URL; unset means SQLite at sqlite_path."""
    state_database_url: SecretStr | None = Field(default=None, validation_alias=_ext("STATE_DATABASE_URL"))
    """Database of the agent's state (conversation, workspace snapshots), shared by all workers; default:
    the DATABASE_URL database. Tasks need it; the activity log (DATABASE_URL) may be down without harm."""
    data_dir: Path = Field(default=Path.home() / ".coding-agent", validation_alias=_ext("DATA_DIR"))
    """Where the embedded stack keeps its files."""
    sqlite_path: Path | None = Field(default=None, validation_alias=_ext("SQLITE_PATH"))
    """SQLite file used when DATABASE_URL is unset (default: <data_dir>/coding_agent.db)."""

    # --- Agent loop ---
    max_iterations: int = Field(default=DEFAULT_MAX_ITERATIONS, validation_alias=_ext("MAX_ITERATIONS"))
    """Default LLM turns of the tool loop."""
    tool_output_max_chars: int = Field(default=10_000, validation_alias=_ext("TOOL_OUTPUT_MAX_CHARS"))
    """A tool result is cut to this size (middle elided) before the model sees it."""
    workflow_timeout_hours: float = Field(default=24.0, validation_alias=_ext("WORKFLOW_TIMEOUT_HOURS"))
    """Overall deadline of one task."""
    history_event_threshold: int = Field(default=10_000, validation_alias=_ext("HISTORY_EVENT_THRESHOLD"))
    """The agent session continues-as-new once its history has this many events."""

    # --- Workspaces and tools ---
    workspace_root: Path = Field(
        default=Path(tempfile.gettempdir()) / "coding-agent", validation_alias=_ext("WORKSPACE_ROOT")
    )
    """Parent directory of the per-task temporary working directories."""
    shell_timeout_seconds: float = Field(default=300.0, validation_alias=_ext("SHELL_TIMEOUT_SECONDS"))
    """Default timeout of one shell command."""
    shell_max_timeout_seconds: float = Field(default=3600.0, validation_alias=_ext("SHELL_MAX_TIMEOUT_SECONDS"))
    """Largest timeout the model may ask for."""
    read_max_bytes: int = Field(default=1024 * 1024, validation_alias=_ext("READ_MAX_BYTES"))
    """Most bytes one read_file call returns."""
    file_max_bytes: int = Field(default=5 * 1024 * 1024, validation_alias=_ext("FILE_MAX_BYTES"))
    """Files larger than this are refused by the file tools."""
    sandbox: Literal["auto", "bubblewrap", "none"] = Field(default="auto", validation_alias=_ext("SANDBOX"))
    """How shell commands are isolated: bubblewrap, none, or auto (bubblewrap when a probe shows it works here)."""
    validation_timeout_seconds: float = Field(default=1800.0, validation_alias=_ext("VALIDATION_TIMEOUT_SECONDS"))
    """Timeout of one validation command."""

    heartbeat_timeout_seconds: float = Field(default=60.0, validation_alias=_ext("HEARTBEAT_TIMEOUT_SECONDS"))
    """A running activity that has not heartbeated for this long is considered lost with its worker."""
    workspace_schedule_to_start_seconds: float = Field(
        default=120.0, validation_alias=_ext("WORKSPACE_SCHEDULE_TO_START_SECONDS")
    )
    """How long a workspace activity may wait for its worker before the workspace is rebuilt elsewhere."""

    # --- Git ---
    git_author_name: str = Field(default="Coding Agent", validation_alias=_ext("GIT_AUTHOR_NAME"))
    """Author and committer name of the agent's commits."""
    git_author_email: str = Field(default="coding-agent@localhost", validation_alias=_ext("GIT_AUTHOR_EMAIL"))
    """Author and committer email of the agent's commits."""
    git_timeout_seconds: float = Field(default=600.0, validation_alias=_ext("GIT_TIMEOUT_SECONDS"))
    """Timeout of one git network operation (clone, fetch, push)."""
    git_max_attempts: int = Field(default=3, validation_alias=_ext("GIT_MAX_ATTEMPTS"))
    """Attempts of one git network operation on transient failures (exponential backoff)."""
    git_retry_base_delay_seconds: float = Field(default=2.0, validation_alias=_ext("GIT_RETRY_BASE_DELAY_SECONDS"))
    """First backoff delay between git attempts; doubles each time."""
    git_secrets_dir: Path | None = Field(default=None, validation_alias=_ext("GIT_SECRETS_DIR"))
    """Where temporary key and askpass files go (default: the system temp dir; a tmpfs keeps keys off disk)."""
    ssh_known_hosts: Path | None = Field(default=None, validation_alias=_ext("SSH_KNOWN_HOSTS"))
    """known_hosts file for strict host-key checking; unset means accept-new."""

    # --- Security ---
    payload_encryption_key: SecretStr | None = Field(
        default=None, validation_alias=_ext("PAYLOAD_ENCRYPTION_KEY")
    )
    """Base64 AES-256 key: when set, Temporal payloads are encrypted (AES-GCM)."""
    payload_encryption_previous_keys: SecretStr | None = Field(
        default=None, validation_alias=_ext("PAYLOAD_ENCRYPTION_PREVIOUS_KEYS")
    )
    """Comma-separated base64 keys that still decrypt (key rotation); new payloads use the current key."""

    # --- Worker ---
    max_concurrent_activities: int = Field(default=20, validation_alias=_ext("MAX_CONCURRENT_ACTIVITIES"))
    """Activities one worker runs at once, per queue (the shared queue and the worker's own queue)."""
    max_concurrent_workflow_tasks: int = Field(default=20, validation_alias=_ext("MAX_CONCURRENT_WORKFLOW_TASKS"))
    """Workflow tasks (short decision steps) one worker processes at once."""
    log_format: Literal["text", "json"] = Field(default="text", validation_alias=_ext("LOG_FORMAT"))
    """Log lines as plain text or one JSON object per line."""
    shutdown_grace_seconds: float = Field(default=30.0, validation_alias=_ext("SHUTDOWN_GRACE_SECONDS"))
    """On SIGTERM, how long running activities may finish before they are cancelled."""

    # --- Operations: health and metrics ---
    ops_host: str = Field(default="0.0.0.0", validation_alias=_ext("OPS_HOST"))
    """Interface the health and metrics endpoints listen on."""
    health_port: int | None = Field(default=None, validation_alias=_ext("HEALTH_PORT"))
    """Port of the worker's HTTP readiness endpoint (GET /healthz); unset turns it off."""
    health_timeout_seconds: float = Field(default=5.0, validation_alias=_ext("HEALTH_TIMEOUT_SECONDS"))
    """Timeout of each readiness probe (Temporal, NATS, database)."""
    metrics_port: int | None = Field(default=None, validation_alias=_ext("METRICS_PORT"))
    """Port of the Prometheus endpoint (Temporal SDK and product metrics); unset turns it off."""

    def sqlalchemy_url(self) -> str:
        """The activity log's database URL (``reporting.database.Database`` turns ``postgresql://`` and
        ``sqlite:///`` into their async drivers' form)."""
        if self.database_url is None:
            path = self.sqlite_path or self.data_dir / "coding_agent.db"
            return f"sqlite+aiosqlite:///{path}"
        return self.database_url.get_secret_value()

    def state_sqlalchemy_url(self) -> str:
        """Where the agent's conversation and workspace snapshots live: STATE_DATABASE_URL, else DATABASE_URL."""
        if self.state_database_url is None:
            return self.sqlalchemy_url()
        return self.state_database_url.get_secret_value()

    def secret_values(self) -> list[str]:
        """The worker's own secrets, for redaction and for keeping them out of the agent's shell."""
        values = [
            self.openrouter_api_key,
            self.elixir_webhook_secret,
            self.database_url,
            self.state_database_url,
            self.payload_encryption_key,
            self.payload_encryption_previous_keys,
        ]
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]

