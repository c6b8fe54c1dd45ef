"""Reporting never blocks or fails a task: NATS stops in the middle of a run, the activity log's
database is a dead server and the platform's webhook answers 500 — the task still completes with the
right result, and each failure is logged once with its cause."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

from coding_agent.demo.sample_repo import create_sample_remote
from coding_agent.demo.scripted_llm import ScriptedLLMServer, demo_script
from coding_agent.models import CodingAgentResult
from coding_agent.stack import start_nats
from tests.reporting.http_server import RecordingServer
from tests.support.harness import NatsCollector, make_request, make_settings, new_task_id, worker_running

DEAD_DATABASE = "postgresql://postgres:s3cret-pw@127.0.0.1:1/automata"


async def test_task_completes_while_nats_database_and_webhook_fail(
    tmp_path: Path, temporal_address: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    nats, nats_url = start_nats(tmp_path / "nats")
    hook = await RecordingServer(statuses=[500] * 10).start()
    try:
        with ScriptedLLMServer(demo_script(), latency=0.3) as llm:
            settings = make_settings(
                tmp_path, temporal_address=temporal_address, nats_url=nats_url, llm_url=llm.base_url,
                database_url=DEAD_DATABASE, state_database_url=f"sqlite:///{tmp_path}/state.db",
                elixir_webhook_url=hook.url + "/hook", webhook_max_attempts=3, webhook_retry_base_seconds=0.1,
            )
            async with worker_running(settings) as client:
                remote = await create_sample_remote(tmp_path / "repo")
                task_id = new_task_id()
                subject = f"{settings.nats_subject_prefix}.company-123.project-456.{task_id}.>"
                async with NatsCollector(nats_url, subject) as collected:
                    handle = await client.start_workflow(
                        "CodingAgentWorkflow", make_request(task_id, remote.as_uri()), id=f"coding-agent-{task_id}",
                        task_queue=settings.temporal_task_queue_coding_agent, result_type=CodingAgentResult,
                    )
                    await collected.wait_for(lambda c: "implementation_step" in c.types(), 30)
                    nats.stop()  # NATS goes away in the middle of the tool loop
                    result = await handle.result()
    finally:
        nats.stop()
        await hook.stop()

    assert result.success, result.error_message
    shown = subprocess.run(  # noqa: ASYNC221 - a one-off read after the run
        ["git", "--git-dir", str(remote), "show", f"{result.branch_name}:calc.py"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "def multiply" in shown
    assert "workflow_completed" not in collected.types()  # published while NATS was down
    assert len(hook.requests) == 3  # the webhook was tried, with backoff, then given up

    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    def logged(fragment: str) -> list[str]:
        return [m for m in messages if fragment in m]
    assert len(logged("activity log database is unreachable")) == 1  # at start-up
    assert len(logged("task_activities store")) == 1  # and once when rows could not be stored
    assert len(logged("127.0.0.1:1")) >= 1 and not logged("s3cret-pw")  # the cause, without the password
    assert len([m for m in logged("NATS at") if "failed" in m]) == 1
    assert not logged("nats: encountered error")  # the client library's own noise is not repeated
    assert len(logged("webhook")) == 1
