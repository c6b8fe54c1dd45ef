"""Metrics for Prometheus: the Temporal SDK's own and the product's, through one meter.

A Temporal ``Runtime`` is process-wide: ``install_runtime`` makes a Prometheus-exporting runtime the
default before the worker's client connects, so every client and worker in the process reports to it.
The product's counters are recorded from activities with ``activity.metric_meter()`` (tagged by the SDK
with namespace, task queue and activity type), through the one-line helpers below; outside an activity,
or with metrics off, they record nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from temporalio import activity
from temporalio.common import MetricMeter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from coding_agent.models import NotificationType, TaskEvent, ToolResult
from coding_agent.settings import Settings

log = logging.getLogger(__name__)

TASK_COUNTERS = {
    NotificationType.WORKFLOW_STARTED: ("coding_agent_tasks_started", "Coding tasks started"),
    NotificationType.WORKFLOW_COMPLETED: ("coding_agent_tasks_completed", "Coding tasks that succeeded"),
    NotificationType.WORKFLOW_FAILED: ("coding_agent_tasks_failed", "Coding tasks that ended unsuccessfully"),
}


def build_runtime(settings: Settings) -> Runtime | None:
    """A runtime exporting metrics on ``metrics_port`` and, with JSON logs, forwarding the SDK core's logs
    to Python logging (so every line is JSON); ``None`` when neither is wanted."""
    if settings.metrics_port is None and settings.log_format != "json":
        return None
    logging_config = LoggingConfig(filter=TelemetryFilter(core_level="WARN", other_level="ERROR"))
    if settings.log_format == "json":
        logging_config = LoggingConfig(
            filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
            forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
        )
    metrics = None
    if settings.metrics_port is not None:
        metrics = PrometheusConfig(bind_address=f"{settings.ops_host}:{settings.metrics_port}")
    return Runtime(telemetry=TelemetryConfig(logging=logging_config, metrics=metrics))


def install_runtime(settings: Settings) -> None:
    """Make the configured runtime the process default; call before the first Temporal client connects."""
    runtime = build_runtime(settings)
    if runtime is None:
        return
    try:
        Runtime.set_default(runtime, error_if_already_set=True)
    except RuntimeError:
        log.warning("a Temporal runtime already exists in this process: metrics/log settings not applied")
        return
    if settings.metrics_port is not None:
        log.info("Prometheus metrics on http://%s:%d/metrics", settings.ops_host, settings.metrics_port)


def _meter() -> MetricMeter:
    try:
        return activity.metric_meter()
    except RuntimeError:
        return MetricMeter.noop


def task_events(events: Iterable[TaskEvent]) -> None:
    """Count task starts, completions and failures as their notifications are recorded."""
    meter = _meter()
    for event in events:
        counter = TASK_COUNTERS.get(event.notification_type) if event.notification_type else None
        if counter is not None:
            meter.create_counter(counter[0], counter[1]).add(1)


def llm_calls(
    model: str, kind: str, calls: int = 1, prompt_tokens: int = 0, completion_tokens: int = 0
) -> None:
    """Count successful model calls (``kind``: plan or turn) and the tokens they used."""
    meter = _meter().with_additional_attributes({"model": model, "kind": kind})
    meter.create_counter("coding_agent_llm_calls", "Successful LLM calls").add(calls)
    tokens = meter.create_counter("coding_agent_llm_tokens", "LLM tokens used", "tokens")
    if prompt_tokens:
        tokens.add(prompt_tokens, {"direction": "prompt"})
    if completion_tokens:
        tokens.add(completion_tokens, {"direction": "completion"})


def tool_calls(results: Iterable[ToolResult]) -> None:
    """Count the agent's tool calls by tool and outcome, and time them."""
    meter = _meter()
    counter = meter.create_counter("coding_agent_tool_calls", "Agent tool calls by tool and outcome")
    duration = meter.create_histogram("coding_agent_tool_call_duration", "Agent tool call duration", "ms")
    for result in results:
        attributes = {"tool": result.name, "outcome": str(result.outcome)}
        counter.add(1, attributes)
        duration.record(max(result.duration_ms, 0), attributes)
