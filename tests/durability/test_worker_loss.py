"""A worker dies (SIGKILL) in the middle of the tool loop; a new worker with an empty disk finishes the task.

The workers are real processes (`python -m coding_agent worker`) sharing one database, as a fleet would.
The pushed branch must hold every change made before and after the crash, in a single commit, and no
completed step may be shown twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from coding_agent.demo.sample_repo import create_sample_remote
from coding_agent.demo.scripted_llm import Script, ScriptedLLMServer, ScriptedToolCall, demo_script
from coding_agent.models import CodingAgentResult
from coding_agent.settings import Settings
from tests.support.harness import NatsCollector, make_request, make_settings, new_task_id


def worker_env(settings: Settings, workspace_root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODING_AGENT_", "OPENROUTER_"))}
    env.update(
        TEMPORAL_HOST=settings.temporal_host,
        TEMPORAL_TASK_QUEUE_CODING_AGENT=settings.temporal_task_queue_coding_agent,
        NATS_URL=settings.nats_url,
        OPENROUTER_BASE_URL=settings.openrouter_base_url,
        OPENROUTER_API_KEY="sk-test",
        CODING_AGENT_SQLITE_PATH=str(settings.sqlite_path),
        CODING_AGENT_DATA_DIR=str(settings.data_dir),
        CODING_AGENT_WORKSPACE_ROOT=str(workspace_root),
        CODING_AGENT_HEARTBEAT_TIMEOUT_SECONDS="3",
        CODING_AGENT_WORKSPACE_SCHEDULE_TO_START_SECONDS="3",
    )
    return env


def start_worker(settings: Settings, workspace_root: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "coding_agent", "worker"],
        env=worker_env(settings, workspace_root),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def git(remote: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(remote), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


async def test_worker_killed_mid_loop_and_task_completes_elsewhere(
    tmp_path: Path, temporal_address: str, nats_url: str, temporal_client
) -> None:
    script = Script(
        plan=demo_script().plan,
        turns=[
            [ScriptedToolCall("write_file", {"path": "before.txt", "content": "written before the crash\n"})],
            [ScriptedToolCall("run_shell_command", {"command": "sleep 4; echo slept > slept.txt"})],
            [ScriptedToolCall("write_file", {"path": "after.txt", "content": "written after the crash\n"})],
            "Wrote before.txt and after.txt.",
        ],
    )
    with ScriptedLLMServer(script) as llm:
        settings = make_settings(tmp_path, temporal_address=temporal_address, nats_url=nats_url, llm_url=llm.base_url)
        settings.data_dir.mkdir(parents=True)
        remote = await create_sample_remote(tmp_path / "repo")
        task_id = new_task_id()
        first = start_worker(settings, tmp_path / "disk-a", tmp_path / "worker-a.log")
        second: subprocess.Popen[bytes] | None = None
        try:
            subject = f"{settings.nats_subject_prefix}.company-123.project-456.{task_id}.>"
            async with NatsCollector(settings.nats_url, subject) as collected:
                handle = await temporal_client.start_workflow(
                    "CodingAgentWorkflow", make_request(task_id, remote.as_uri()), id=f"coding-agent-{task_id}",
                    task_queue=settings.temporal_task_queue_coding_agent, result_type=CodingAgentResult,
                )
                # The model has asked for the sleep: the first worker is running it right now.
                await collected.wait_for(lambda c: len([r for r in llm.requests if "tools" in r.body]) >= 2, 60)
                await asyncio.sleep(1)
                os.killpg(first.pid, signal.SIGKILL)
                first.wait()
                second = start_worker(settings, tmp_path / "disk-b", tmp_path / "worker-b.log")
                result = await asyncio.wait_for(handle.result(), 120)
                await collected.wait_for(lambda c: c.types()[-1:] == ["workflow_completed"])
        finally:
            for proc in (first, second):
                if proc is not None and proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(30)

    assert result.success, result.error_message
    branch = result.branch_name
    assert git(remote, "show", f"{branch}:before.txt") == "written before the crash"
    assert git(remote, "show", f"{branch}:after.txt") == "written after the crash"
    assert git(remote, "show", f"{branch}:slept.txt") == "slept"
    assert git(remote, "rev-list", "--count", f"main..{branch}") == "1"  # one commit, not a duplicate
    assert result.artifacts.temp_dir.startswith(str(tmp_path / "disk-a"))

    types = collected.types()
    clones = [n for n in collected.notifications if n.notification_type == "repo_cloned"]
    assert len(clones) == 2 and clones[1].details.get("rebuilt") is True  # the second clone says why
    assert clones[1].details["temp_dir"].startswith(str(tmp_path / "disk-b"))
    steps = [n.message for n in collected.notifications if n.notification_type == "implementation_step"]
    assert sum("before.txt" in m for m in steps) == 1  # the completed step was not redone
    assert sum("after.txt" in m for m in steps) == 1
    assert types.count("changes_pushed") == 1 and types.count("workflow_started") == 1
