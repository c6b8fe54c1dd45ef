"""The specification's workflow, end to end: a real Temporal dev server and worker, a real NATS server,
real git remotes, SQLite, and a scripted model over real HTTP. Assertions are on what a user sees:
the result, the branch on the remote, the NATS messages, the activity rows."""

from __future__ import annotations

import re
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.client import Client

from coding_agent.demo.sample_repo import create_sample_remote
from coding_agent.demo.scripted_llm import Fault, Script, ScriptedLLMServer, ScriptedToolCall, demo_script
from coding_agent.models import ActivityType, CodingAgentResult
from coding_agent.reporting.activity_store import ActivityStore
from coding_agent.reporting.database import Database
from coding_agent.settings import Settings
from tests.support.harness import (
    NatsCollector,
    ScriptRouter,
    make_request,
    make_settings,
    new_task_id,
    run_to_completion,
    worker_running,
)

SPEC_ORDER = [
    "workflow_started",
    "repo_cloned",
    "branch_created",
    "plan_created",
    "implementation_started",
    "implementation_step",
    "implementation_step",
    "implementation_step",
    "implementation_step",
    "implementation_step",
    "validation_started",
    "validation_completed",
    "changes_committed",
    "changes_pushed",
    "workflow_completed",
]


def git(remote: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(remote), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def router() -> ScriptRouter:
    return ScriptRouter(demo_script())


@pytest.fixture(scope="module")
def llm(router: ScriptRouter):
    server = ScriptedLLMServer(script_for=router)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def agent(
    tmp_path: Path, temporal_address: str, nats_url: str, llm: ScriptedLLMServer
) -> AsyncIterator[tuple[Client, Settings]]:
    settings = make_settings(tmp_path, temporal_address=temporal_address, nats_url=nats_url, llm_url=llm.base_url)
    async with worker_running(settings) as client:
        yield client, settings


async def activity_rows(settings: Settings, task_id: str):
    db = Database(settings.sqlalchemy_url())
    try:
        return await ActivityStore(db).list(task_id)
    finally:
        await db.close()


async def test_happy_path_pushes_branch_and_reports_every_step(agent, tmp_path: Path) -> None:
    client, settings = agent
    remote = await create_sample_remote(tmp_path / "repo")
    task_id = new_task_id()
    result, collected = await run_to_completion(client, settings, make_request(task_id, remote.as_uri()))

    assert result.success, result.error_message
    today = datetime.now(UTC).strftime("%Y%m%d")
    assert result.branch_name == f"feat/{today}-add-a-multiply-function"
    assert result.workflow_id == f"coding-agent-{task_id}"
    assert (result.company_id, result.project_id, result.task_id) == ("company-123", "project-456", task_id)
    assert result.commit_hash == git(remote, "rev-parse", result.branch_name)
    assert "def multiply" in git(remote, "show", f"{result.branch_name}:calc.py")
    message = git(remote, "log", "-1", "--format=%B", result.branch_name)
    assert "Add a multiply function" in message and task_id in message
    assert result.implementation_plan.files_to_modify == ["calc.py", "tests/test_calc.py"]
    assert result.steps_completed == 5
    assert result.artifacts.llm_calls == 7  # the plan, five tool turns, the closing summary
    assert result.validation_result.success and result.validation_result.tests_passed == 2
    assert result.validation_result.tests_failed == 0
    assert result.error_message is None
    assert 0 < result.execution_time_hours < 0.1
    assert result.artifacts.temp_dir and not Path(result.artifacts.temp_dir).exists()

    assert collected.types() == SPEC_ORDER
    prefix = f"{settings.nats_subject_prefix}.company-123.project-456.{task_id}."
    assert collected.subjects == [prefix + t for t in SPEC_ORDER]
    sequences = [n.details["sequence"] for n in collected.notifications]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    assert all(n.workflow_id == result.workflow_id for n in collected.notifications)

    rows = await activity_rows(settings, task_id)
    kinds = [r.activity_type for r in rows]
    assert kinds.count(ActivityType.FUNCTION_CALL) == 5
    assert ActivityType.PROGRESS in kinds and ActivityType.ERROR not in kinds
    calls = [r for r in rows if r.activity_type is ActivityType.FUNCTION_CALL]
    assert [c.details["tool"] for c in calls] == [
        "list_directory", "read_file", "write_file", "write_file", "run_shell_command",
    ]
    assert all(c.details["outcome"] == "ok" for c in calls)


def assert_failed(result: CodingAgentResult, collected: NatsCollector, rows, fragment: str) -> None:
    assert not result.success
    assert result.error_message and fragment in result.error_message, result.error_message
    assert collected.types()[0] == "workflow_started"
    assert collected.types()[-1] == "workflow_failed"
    assert fragment in collected.notifications[-1].message
    assert any(r.activity_type is ActivityType.ERROR and fragment in r.message for r in rows)


async def test_unreachable_repository_fails_cleanly(agent, tmp_path: Path) -> None:
    client, settings = agent
    task_id = new_task_id()
    missing = (tmp_path / "nowhere.git").as_uri()
    result, collected = await run_to_completion(client, settings, make_request(task_id, missing), "CodingAgentWorkflow")
    assert_failed(result, collected, await activity_rows(settings, task_id), "clone failed")
    assert result.commit_hash is None


async def test_missing_base_branch_is_a_clear_error(agent, tmp_path: Path) -> None:
    client, settings = agent
    remote = await create_sample_remote(tmp_path / "repo")
    task_id = new_task_id()
    request = make_request(task_id, remote.as_uri(), branch="no-such-branch")
    result, collected = await run_to_completion(client, settings, request, "CodingAgentWorkflow.run")
    assert_failed(result, collected, await activity_rows(settings, task_id), "no-such-branch")


async def test_failed_validation_still_pushes_the_branch(agent, router: ScriptRouter, tmp_path: Path) -> None:
    client, settings = agent
    remote = await create_sample_remote(tmp_path / "repo")
    task_id = new_task_id()
    broken_test = "from calc import add\n\n\ndef test_add_is_wrong():\n    assert add(2, 2) == 5\n"
    router.scripts[task_id] = Script(
        plan=demo_script().plan,
        turns=[[ScriptedToolCall("write_file", {"path": "tests/test_broken.py", "content": broken_test})], "Done"],
    )
    result, collected = await run_to_completion(client, settings, make_request(task_id, remote.as_uri()))
    assert not result.success
    assert result.error_message and "validation failed" in result.error_message
    assert result.validation_result.tests_failed == 1 and result.validation_result.tests_passed == 1
    assert result.commit_hash == git(remote, "rev-parse", result.branch_name)
    assert collected.types()[-3:] == ["changes_committed", "changes_pushed", "workflow_failed"]


async def test_no_changes_means_no_push(agent, router: ScriptRouter, tmp_path: Path) -> None:
    client, settings = agent
    remote = await create_sample_remote(tmp_path / "repo")
    task_id = new_task_id()
    router.scripts[task_id] = Script(
        plan=demo_script().plan, turns=[[ScriptedToolCall("read_file", {"path": "calc.py"})], "Nothing to do."]
    )
    result, collected = await run_to_completion(client, settings, make_request(task_id, remote.as_uri()))
    assert_failed(result, collected, await activity_rows(settings, task_id), "no changes")
    assert git(remote, "branch", "--list", "feat/*") == ""
    assert "changes_pushed" not in collected.types()


async def test_model_unavailable_fails_after_bounded_retries(
    tmp_path: Path, temporal_address: str, nats_url: str
) -> None:
    with ScriptedLLMServer(demo_script(), faults=[Fault.http(503)] * 20) as down:
        settings = make_settings(
            tmp_path, temporal_address=temporal_address, nats_url=nats_url, llm_url=down.base_url, llm_max_attempts=2
        )
        async with worker_running(settings) as client:
            remote = await create_sample_remote(tmp_path / "repo")
            task_id = new_task_id()
            result, collected = await run_to_completion(client, settings, make_request(task_id, remote.as_uri()))
        assert len(down.requests) == 2
    assert_failed(result, collected, await activity_rows(settings, task_id), "plan failed")
    assert re.search(r"503", result.error_message or "")


async def test_validation_commands_from_the_task_context(agent, tmp_path: Path) -> None:
    client, settings = agent
    remote = await create_sample_remote(tmp_path / "repo")
    task_id = new_task_id()
    commands = ["python -m pytest -q", "grep -q multiply calc.py", "test -f CHANGELOG.md"]
    request = make_request(task_id, remote.as_uri(), context={"validation_commands": commands})
    result, collected = await run_to_completion(client, settings, request)
    validation = result.validation_result
    assert not result.success and not validation.success
    assert validation.tests_passed == 2  # the pytest command ran and was parsed
    assert len(validation.issues) == 1 and "test -f CHANGELOG.md" in validation.issues[0]
    started = next(n for n in collected.notifications if n.notification_type == "validation_started")
    assert started.details["commands"] == commands
    assert result.commit_hash == git(remote, "rev-parse", result.branch_name)  # pushed all the same


async def test_iteration_limit_stops_the_loop_and_says_so(agent, tmp_path: Path) -> None:
    client, settings = agent
    remote = await create_sample_remote(tmp_path / "repo")
    task_id = new_task_id()
    request = make_request(task_id, remote.as_uri(), max_iterations=2)
    result, _ = await run_to_completion(client, settings, request)
    assert result.artifacts.iterations == 2 and result.steps_completed == 2  # list_directory, read_file
    assert result.error_message and "no changes" in result.error_message
    rows = await activity_rows(settings, task_id)
    assert any("used all 2 iterations" in r.message for r in rows if r.activity_type is ActivityType.PROGRESS)
