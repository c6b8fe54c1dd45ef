"""The worker as deployed: a separate process configured by environment variables, serving Prometheus
metrics and a readiness endpoint, logging JSON lines, and stopping cleanly on SIGTERM — after letting a
running activity finish."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.api.enums.v1 import EventType

from coding_agent.demo.sample_repo import create_sample_remote
from coding_agent.demo.scripted_llm import Script, ScriptedLLMServer, ScriptedToolCall, demo_script
from coding_agent.models import CodingAgentResult
from coding_agent.stack import free_port
from coding_agent.temporal_client import connect
from coding_agent.workflows.coding_agent import CodingAgentWorkflow
from tests.deployment.worker_process import WorkerProcess, settings_env
from tests.support.harness import ScriptRouter, make_request, make_settings, new_task_id


@pytest.fixture(scope="module")
def router() -> ScriptRouter:
    return ScriptRouter(demo_script())


@pytest.fixture(scope="module")
def llm(router: ScriptRouter) -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer(script_for=router) as server:
        yield server


def metric_value(text: str, name: str, **labels: str) -> float:
    """The sum of every sample of ``name`` whose labels include ``labels``."""
    total, found = 0.0, False
    for line in text.splitlines():
        match = re.match(rf"^{name}(?:\{{(.*)\}})? (\S+)$", line)
        if not match:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total, found = total + float(match.group(2)), True
    assert found, f"no sample of {name} with {labels}"
    return total


async def test_worker_process_serves_health_and_metrics_logs_json_and_stops_on_sigterm(
    tmp_path: Path, temporal_address: str, nats_url: str, llm: ScriptedLLMServer
) -> None:
    settings = make_settings(tmp_path, temporal_address=temporal_address, nats_url=nats_url, llm_url=llm.base_url)
    metrics_port, health_port = free_port(), free_port()
    env = settings_env(
        settings,
        CODING_AGENT_METRICS_PORT=str(metrics_port),
        CODING_AGENT_HEALTH_PORT=str(health_port),
        CODING_AGENT_OPS_HOST="127.0.0.1",
        CODING_AGENT_LOG_FORMAT="json",
    )
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            ready = await http.get(f"http://127.0.0.1:{health_port}/healthz")
            assert ready.status_code == 200, ready.text
            report = ready.json()
            assert report["ok"] is True
            assert {c["name"] for c in report["checks"]} == {"worker", "temporal", "nats", "database"}

            client = await connect(settings)
            remote = await create_sample_remote(tmp_path / "repo")
            task_id = new_task_id()
            result = await client.execute_workflow(
                CodingAgentWorkflow.run,
                make_request(task_id, remote.as_uri()),
                id=f"coding-agent-{task_id}",
                task_queue=settings.temporal_task_queue_coding_agent,
                result_type=CodingAgentResult,
            )
            assert result.success, result.error_message

            scraped = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
    finally:
        code, seconds = worker.terminate()

    # The SDK's own metrics...
    assert metric_value(scraped, "temporal_workflow_completed", workflow_type="CodingAgentWorkflow") >= 1
    assert metric_value(scraped, "temporal_activity_execution_latency_count", activity_type="execute_tools") >= 1
    # ...and the product's, through the same meter.
    assert metric_value(scraped, "coding_agent_tasks_started") == 1
    assert metric_value(scraped, "coding_agent_tasks_completed") == 1
    assert "coding_agent_tasks_failed" not in scraped
    assert metric_value(scraped, "coding_agent_llm_calls") == result.artifacts.llm_calls
    assert metric_value(scraped, "coding_agent_llm_calls", kind="plan") == 1
    assert metric_value(scraped, "coding_agent_llm_tokens", direction="prompt") > 0
    assert metric_value(scraped, "coding_agent_llm_tokens", direction="completion") > 0
    assert metric_value(scraped, "coding_agent_tool_calls", tool="write_file", outcome="ok") == 2
    assert metric_value(scraped, "coding_agent_tool_calls") == result.steps_completed

    # SIGTERM on an idle worker: a clean, prompt exit.
    assert code == 0, worker.log()
    assert seconds < 10
    lines = [line for line in worker.log().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
    messages = [e["message"] for e in entries]
    assert any("worker serving" in m for m in messages) and "worker stopped" in messages
    assert not [e for e in entries if e["level"] in ("error", "critical")]


async def test_sigterm_lets_the_running_activity_finish_then_exits_cleanly(
    tmp_path: Path, temporal_address: str, nats_url: str, llm: ScriptedLLMServer, router: ScriptRouter
) -> None:
    settings = make_settings(tmp_path, temporal_address=temporal_address, nats_url=nats_url, llm_url=llm.base_url)
    task_id = new_task_id()
    slow = "touch started.txt && sleep 2 && touch finished.txt"
    router.scripts[task_id] = Script(
        plan=demo_script().plan, turns=[[ScriptedToolCall("run_shell_command", {"command": slow})], "Done"]
    )
    env = settings_env(settings, CODING_AGENT_SHUTDOWN_GRACE_SECONDS="20")
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    client = await connect(settings)
    remote = await create_sample_remote(tmp_path / "repo")
    handle = await client.start_workflow(
        CodingAgentWorkflow.run,
        make_request(task_id, remote.as_uri()),
        id=f"coding-agent-{task_id}",
        task_queue=settings.temporal_task_queue_coding_agent,
    )
    try:
        deadline = time.monotonic() + 30
        while not list(settings.workspace_root.glob("*/started.txt")):
            assert time.monotonic() < deadline, worker.log()
            await asyncio.sleep(0.05)
        status = await handle.query(CodingAgentWorkflow.status)
        session = client.get_workflow_handle(status["session_workflow_id"])
        code, seconds = await asyncio.to_thread(worker.terminate)

        assert code == 0, worker.log()
        assert 1.5 < seconds < 15, f"exited {seconds:.1f}s after SIGTERM"  # waited for the command, not the grace
        (workspace,) = [p.parent for p in settings.workspace_root.glob("*/started.txt")]
        assert (workspace / "finished.txt").exists()
        # Temporal received the activity's result: nothing is redone by the worker that takes over.
        history = [e async for e in session.fetch_history_events()]
        completed = [e for e in history if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED]
        scheduled = [
            e for e in history
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and e.activity_task_scheduled_event_attributes.activity_type.name == "execute_tools"
        ]
        assert len(scheduled) == 1
        assert scheduled[0].event_id in {
            e.activity_task_completed_event_attributes.scheduled_event_id for e in completed
        }
    finally:
        worker.kill()
        await handle.terminate("test over")
