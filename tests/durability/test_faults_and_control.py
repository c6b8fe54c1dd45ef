"""Faults a long-running task meets, through real servers: a flaky or refusing model, bad input from the
platform, and a human cancelling the task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError, CancelledError

from coding_agent.demo.sample_repo import create_sample_remote
from coding_agent.demo.scripted_llm import Fault, Script, ScriptedLLMServer, ScriptedToolCall, demo_script
from coding_agent.models import ActivityType, CodingAgentRequest, CodingAgentResult
from coding_agent.reporting.activity_store import ActivityStore
from coding_agent.reporting.database import Database
from coding_agent.settings import Settings
from tests.reporting.http_server import RecordingServer
from tests.support.harness import (
    NatsCollector,
    make_request,
    make_settings,
    new_task_id,
    run_to_completion,
    worker_running,
)


def subject_for(settings: Settings, task_id: str) -> str:
    return f"{settings.nats_subject_prefix}.company-123.project-456.{task_id}.>"


async def rows_of(settings: Settings, task_id: str):
    db = Database(settings.sqlalchemy_url())
    try:
        return await ActivityStore(db).list(task_id)
    finally:
        await db.close()


async def test_flaky_model_is_retried_with_backoff_and_the_task_completes(
    tmp_path: Path, temporal_address: str, nats_url: str
) -> None:
    faults = [Fault.http(429, retry_after=1), Fault.http(500), Fault.malformed(), Fault.truncated(), Fault.slow(3)]
    with ScriptedLLMServer(demo_script(), faults=faults) as llm:
        settings = make_settings(
            tmp_path, temporal_address=temporal_address, nats_url=nats_url, llm_url=llm.base_url,
            llm_max_attempts=6, llm_retry_initial_seconds=0.1, llm_timeout_seconds=1.5,
        )
        async with worker_running(settings) as client:
            remote = await create_sample_remote(tmp_path / "repo")
            task_id = new_task_id()
            result = await client.execute_workflow(
                "CodingAgentWorkflow", make_request(task_id, remote.as_uri()), id=f"coding-agent-{task_id}",
                task_queue=settings.temporal_task_queue_coding_agent, result_type=CodingAgentResult,
            )
        plan_requests = [r for r in llm.requests if "tools" not in r.body]
    assert result.success, result.error_message
    assert len(plan_requests) == 6  # five faults, then the answer
    gaps = [b.received_at - a.received_at for a, b in zip(plan_requests, plan_requests[1:], strict=False)]
    assert gaps[0] >= 0.9  # Retry-After: 1 was honoured
    assert result.artifacts.llm_calls == 7


async def test_authentication_error_fails_at_once(tmp_path: Path, temporal_address: str, nats_url: str) -> None:
    with ScriptedLLMServer(demo_script(), expected_api_key="the-right-key") as llm:
        settings = make_settings(
            tmp_path, temporal_address=temporal_address, nats_url=nats_url, llm_url=llm.base_url, llm_max_attempts=5
        )
        async with worker_running(settings) as client:
            remote = await create_sample_remote(tmp_path / "repo")
            task_id = new_task_id()
            result, _ = await run_to_completion(client, settings, make_request(task_id, remote.as_uri()))
        assert len(llm.requests) == 1
    assert not result.success
    assert result.error_message and "authentication failed" in result.error_message
    assert "OPENROUTER_API_KEY" in result.error_message


def valid_raw(task_id: str, remote_url: str) -> dict:
    return make_request(task_id, remote_url).model_dump(mode="json")


BAD_INPUTS = {
    "missing title": (lambda raw: raw["task"].pop("title"), "task.title"),
    "unknown credential type": (
        lambda raw: raw["repository"].update(credentials={"credential_type": "magic_cookie"}),
        "repository.credentials.credential_type",
    ),
    "forbidden transport": (
        lambda raw: raw["repository"].update(remote_url="ext::sh -c touch% /tmp/pwned"),
        "repository.remote_url",
    ),
    "negative iterations": (lambda raw: raw["agent"].update(max_iterations=-3), "agent.max_iterations"),
    "huge description": (lambda raw: raw["task"].update(description="x" * 1_000_000), "task.description"),
}


@pytest.fixture
async def quick_agent(tmp_path: Path, temporal_address: str, nats_url: str):
    with ScriptedLLMServer(demo_script()) as llm:
        settings = make_settings(tmp_path, temporal_address=temporal_address, nats_url=nats_url, llm_url=llm.base_url)
        async with worker_running(settings) as client:
            yield client, settings, llm


@pytest.mark.parametrize("case", list(BAD_INPUTS))
async def test_bad_input_fails_fast_naming_the_field(quick_agent, case: str) -> None:
    client, settings, llm = quick_agent
    mutate, field = BAD_INPUTS[case]
    task_id = new_task_id()
    raw = valid_raw(task_id, "file:///nowhere.git")
    mutate(raw)
    async with NatsCollector(settings.nats_url, subject_for(settings, task_id)) as collected:
        with pytest.raises(WorkflowFailureError) as failure:
            await client.execute_workflow(
                "CodingAgentWorkflow", raw, id=f"coding-agent-{task_id}",
                task_queue=settings.temporal_task_queue_coding_agent,
            )
        await collected.wait_for(lambda c: c.types() == ["workflow_failed"])
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.non_retryable and cause.type == "InvalidRequest"
    assert field in cause.message
    assert field in collected.notifications[0].message
    rows = await rows_of(settings, task_id)
    assert [r.activity_type for r in rows] == [ActivityType.ERROR] and field in rows[0].message
    assert not llm.requests  # nothing was attempted


def test_a_ten_megabyte_description_is_refused_before_it_is_sent() -> None:
    raw = valid_raw("task-1", "file:///x.git")
    raw["task"]["description"] = "x" * 10_000_000
    with pytest.raises(ValidationError, match="task.description"):
        CodingAgentRequest.model_validate(raw)


async def test_cancel_cleans_up_and_reports_failure_on_nats_and_webhook(
    tmp_path: Path, temporal_address: str, nats_url: str
) -> None:
    hook = await RecordingServer().start()
    long_task = Script(
        plan=demo_script().plan,
        turns=[[ScriptedToolCall("run_shell_command", {"command": "sleep 60"})], "Done"],
    )
    try:
        with ScriptedLLMServer(long_task) as llm:
            settings = make_settings(
                tmp_path, temporal_address=temporal_address, nats_url=nats_url, llm_url=llm.base_url,
                elixir_webhook_url=hook.url + "/api/webhooks/workflows", heartbeat_timeout_seconds=3,
            )
            async with worker_running(settings) as client:
                remote = await create_sample_remote(tmp_path / "repo")
                task_id = new_task_id()
                async with NatsCollector(settings.nats_url, subject_for(settings, task_id)) as collected:
                    handle = await client.start_workflow(
                        "CodingAgentWorkflow", make_request(task_id, remote.as_uri()), id=f"coding-agent-{task_id}",
                        task_queue=settings.temporal_task_queue_coding_agent,
                    )
                    await collected.wait_for(lambda c: "implementation_started" in c.types())
                    await collected.wait_for(lambda c: len(llm.requests) >= 2)  # the sleep is running
                    await handle.cancel()
                    with pytest.raises(WorkflowFailureError) as failure:
                        await handle.result()
                    await collected.wait_for(lambda c: c.types()[-1:] == ["workflow_failed"])
    finally:
        await hook.stop()
    assert isinstance(failure.value.cause, CancelledError)
    assert "cancelled" in collected.notifications[-1].message
    temp_dir = next(n.details["temp_dir"] for n in collected.notifications if n.notification_type == "repo_cloned")
    assert not Path(temp_dir).exists()
    assert len(hook.requests) == 1
    delivered = json.loads(hook.requests[0].body)
    assert delivered["success"] is False and "cancelled" in delivered["error_message"]
    assert delivered["task_id"] == task_id


async def test_overall_timeout_ends_the_task_cleanly(tmp_path: Path, temporal_address: str, nats_url: str) -> None:
    slow = Script(plan=demo_script().plan, turns=[[ScriptedToolCall("run_shell_command", {"command": "sleep 30"})]])
    with ScriptedLLMServer(slow) as llm:
        settings = make_settings(
            tmp_path, temporal_address=temporal_address, nats_url=nats_url, llm_url=llm.base_url,
            workflow_timeout_hours=3 / 3600, heartbeat_timeout_seconds=3,
        )
        async with worker_running(settings) as client:
            remote = await create_sample_remote(tmp_path / "repo")
            task_id = new_task_id()
            result, _ = await run_to_completion(client, settings, make_request(task_id, remote.as_uri()))
    assert not result.success
    assert result.error_message and "timed out" in result.error_message
    assert 2 / 3600 < result.execution_time_hours < 20 / 3600
    assert not Path(result.artifacts.temp_dir).exists()
