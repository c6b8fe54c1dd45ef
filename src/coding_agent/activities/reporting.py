"""Activities that report: events to NATS and the activity store, the final result to the platform's
webhook, and the run's defaults. None of them fails a task: reporting problems are logged and dropped."""

from __future__ import annotations

from temporalio import activity

from coding_agent import metrics
from coding_agent.activities.types import EventsInput, RunConfig, WebhookInput
from coding_agent.reporting.reporter import Reporter
from coding_agent.reporting.webhook import send_webhook
from coding_agent.settings import Settings


class ReportingActivities:
    def __init__(self, settings: Settings, reporter: Reporter) -> None:
        self.settings = settings
        self.reporter = reporter

    @activity.defn
    async def record_events(self, data: EventsInput) -> None:
        for event in data.events:
            await self.reporter.record(event)
        metrics.task_events(data.events)

    @activity.defn
    async def notify_platform(self, data: WebhookInput) -> bool:
        url = self.settings.elixir_webhook_url
        if not url:
            return False
        secret = self.settings.elixir_webhook_secret
        result = data.result
        return await send_webhook(
            url,
            secret.get_secret_value() if secret else None,
            result.model_dump(mode="json"),
            # The same id on every retry lets the platform drop a duplicate delivery.
            delivery_id=f"{result.workflow_id}-{activity.info().workflow_run_id}",
            attempts=self.settings.webhook_max_attempts,
            base_delay=self.settings.webhook_retry_base_seconds,
        )

    @activity.defn
    async def resolve_run_config(self) -> RunConfig:
        s = self.settings
        return RunConfig(
            max_iterations=s.max_iterations,
            llm_max_attempts=s.llm_max_attempts,
            llm_retry_initial_seconds=s.llm_retry_initial_seconds,
            workflow_timeout_hours=s.workflow_timeout_hours,
            history_event_threshold=s.history_event_threshold,
            shell_max_timeout_seconds=s.shell_max_timeout_seconds,
            validation_timeout_seconds=s.validation_timeout_seconds,
            git_timeout_seconds=s.git_timeout_seconds,
            workspace_schedule_to_start_seconds=s.workspace_schedule_to_start_seconds,
            heartbeat_timeout_seconds=s.heartbeat_timeout_seconds,
        )

    def all(self) -> list[object]:
        return [self.record_events, self.notify_platform, self.resolve_run_config]
