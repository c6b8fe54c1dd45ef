"""The monitoring CLI run for real: ``coding-agent watch / activities / status / cancel`` as subprocesses,
against a real Temporal dev server, a worker, NATS with JetStream, SQLite and a scripted model.
Assertions are on what an operator sees: the printed lines, the JSON, the exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
from typer.testing import CliRunner

from coding_agent.cli import app
from coding_agent.demo.sample_repo import create_sample_remote
from coding_agent.demo.scripted_llm import Script, ScriptedLLMServer, ScriptedToolCall, demo_script
from coding_agent.models import Notification, NotificationType
from coding_agent.settings import Settings
from coding_agent.workflows.coding_agent import CodingAgentWorkflow
from tests.support.harness import NatsCollector, make_request, make_settings, new_task_id, worker_running

CLI = str(Path(sys.executable).parent / "coding-agent")
MILESTONES = [t.value for t in NotificationType if t.value not in ("implementation_step", "workflow_failed")]


@dataclass
class Run:
    code: int | None
    out: str
    err: str


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The process environment of a CLI pointed at the same servers and stores as the test worker."""
    owned = ("CODING_AGENT_", "TEMPORAL_", "NATS_", "DATABASE_URL", "OPENROUTER_", "ELIXIR_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(owned)}
    env.update(
        TEMPORAL_HOST=settings.temporal_host,
        NATS_URL=settings.nats_url,
        NATS_SUBJECT_PREFIX=settings.nats_subject_prefix,
        CODING_AGENT_SQLITE_PATH=str(settings.sqlite_path),
        COLUMNS="250",
    )
    if settings.nats_jetstream_stream:
        env["CODING_AGENT_NATS_JETSTREAM_STREAM"] = settings.nats_jetstream_stream
    env.update(extra)
    return env


async def cli(env: dict[str, str], *args: str, timeout: float = 30) -> Run:
    proc = await asyncio.create_subprocess_exec(
        CLI, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        raise AssertionError(f"coding-agent {' '.join(args)} did not exit in {timeout}s: {out!r} {err!r}") from None
    return Run(proc.returncode, out.decode(), err.decode())


async def invoke(env: dict[str, str], *args: str) -> Run:
    """The same command in this process (faster than a subprocess), on a thread: it runs its own loop."""
    overlay: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    overlay.update(env)
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=overlay)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


class LiveCli:
    """A long-running CLI process whose stdout lines are collected as they come."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.env, self.args, self.lines = env, args, list[str]()

    async def __aenter__(self) -> LiveCli:
        self.proc = await asyncio.create_subprocess_exec(
            CLI, *self.args, env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            self.lines.append(line.decode().rstrip("\n"))

    async def wait_for(self, text: str, timeout: float = 20) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not any(text in line for line in self.lines):
            if self.proc.returncode is not None or asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{text!r} never printed; got {self.lines}")
            await asyncio.sleep(0.05)

    async def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(self.proc.wait(), 10)
        await self._reader
        return code

    async def __aexit__(self, *exc: object) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer(demo_script()) as server:
        yield server


@pytest.fixture(scope="module")
def slow_llm() -> Iterator[ScriptedLLMServer]:
    """A model that lists the directory for 40 turns, 0.3 s per answer: a task that is still running."""
    turns = [[ScriptedToolCall("list_directory", {"path": "."})] for _ in range(40)]
    with ScriptedLLMServer(Script(plan=demo_script().plan, turns=list(turns)), latency=0.3) as server:
        yield server


@pytest.fixture
def settings_for(tmp_path: Path, temporal_address: str, nats_url: str):
    uid = uuid.uuid4().hex[:8]

    def make(server: ScriptedLLMServer) -> Settings:
        return make_settings(
            tmp_path,
            temporal_address=temporal_address,
            nats_url=nats_url,
            llm_url=server.base_url,
            nats_subject_prefix=f"clitest{uid}.workflows",
            nats_jetstream_stream=f"CLITEST_{uid}",
        )

    return make


@contextlib.asynccontextmanager
async def probing(settings: Settings, project: str) -> AsyncIterator[None]:
    """Publishes a probe until a live watcher shows it: then its subscription is in place."""
    nc = await nats.connect(settings.nats_url)
    probe = Notification(
        workflow_id="probe", company_id="company-123", project_id=project, task_id="probe",
        notification_type=NotificationType.IMPLEMENTATION_STEP, message="probe",
    )

    async def publish_forever() -> None:
        while True:
            await nc.publish(probe.subject(settings.nats_subject_prefix), probe.model_dump_json().encode())
            await asyncio.sleep(0.2)

    task = asyncio.create_task(publish_forever())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await nc.close()


async def test_watch_activities_and_status_of_a_finished_task(settings_for, llm: ScriptedLLMServer, tmp_path: Path):
    settings = settings_for(llm)
    env = cli_env(settings)
    task_id, project = new_task_id(), f"project-{uuid.uuid4().hex[:6]}"
    request = make_request(task_id, (await create_sample_remote(tmp_path / "remote")).as_uri())
    request.task.project_id = project
    workflow_id = f"coding-agent-{task_id}"

    async with LiveCli(env, "watch", "--project", project) as live, worker_running(settings) as client:
        async with probing(settings, project):
            await live.wait_for("probe")
        result = await client.execute_workflow(
            CodingAgentWorkflow.run, request, id=workflow_id, task_queue=settings.temporal_task_queue_coding_agent
        )
        await live.wait_for("workflow_completed")
        assert await live.stop() == 130  # a project watch runs until Ctrl-C
    assert result.success, result.error_message
    task_lines = [line for line in live.lines if f" {task_id} " in line]
    assert "workflow_started" in task_lines[0] and "[ 1/10]" in task_lines[0]
    assert "workflow_completed" in task_lines[-1] and "[10/10]" in task_lines[-1]
    assert any(f"Created branch {result.branch_name}" in line for line in task_lines)

    replaying = asyncio.create_task(cli(env, "watch", "--task", task_id, "--replay", "--json"))
    table = await invoke(env, "activities", task_id)
    last3 = await invoke(env, "activities", task_id, "--json", "--limit", "3")
    text = await invoke(env, "status", workflow_id)
    as_json = await invoke(env, "status", workflow_id, "--json")
    replay = await replaying
    # A task watch replays what JetStream kept and exits on its own when the task has ended.
    assert replay.code == 0, replay.err
    notes = [Notification.model_validate_json(line) for line in replay.out.splitlines()]
    types = [n.notification_type.value for n in notes]
    assert types[0] == "workflow_started" and types[-1] == "workflow_completed"
    assert [t for t in types if t != "implementation_step"] == MILESTONES
    assert {n.task_id for n in notes} == {task_id}

    assert table.code == 0, table.err
    assert "function_call" in table.out and "write_file" in table.out and "calc.py" in table.out
    rows = json.loads(last3.out)
    assert last3.code == 0 and len(rows) == 3
    assert rows[-1]["message"] == "Task completed" and rows[-1]["workflow_id"] == workflow_id

    assert text.code == 0, text.err
    assert re.search(r"completed", text.out) and f"branch_name: {result.branch_name}" in text.out
    report = json.loads(as_json.out)
    assert report["state"] == "completed"
    assert report["result"]["success"] is True and report["result"]["commit_hash"] == result.commit_hash


async def test_status_and_cancel_of_a_running_task(settings_for, slow_llm: ScriptedLLMServer, tmp_path: Path):
    settings = settings_for(slow_llm)
    env = cli_env(settings)
    task_id = new_task_id()
    workflow_id = f"coding-agent-{task_id}"
    request = make_request(task_id, (await create_sample_remote(tmp_path / "remote")).as_uri(), max_iterations=40)
    subject = f"{settings.nats_subject_prefix}.company-123.project-456.{task_id}.>"
    async with worker_running(settings) as client, NatsCollector(settings.nats_url, subject) as nats_seen:
        await client.start_workflow(
            CodingAgentWorkflow.run, request, id=workflow_id, task_queue=settings.temporal_task_queue_coding_agent
        )
        report: dict = {}
        for _ in range(40):
            run = await invoke(env, "status", workflow_id, "--json")
            assert run.code == 0, run.err
            report = json.loads(run.out)
            if report.get("session", {}).get("iteration", 0) >= 2:
                break
            await asyncio.sleep(0.2)
        assert report["state"] == "running" and report["step"] == "implementation", report
        session = report["session"]
        assert session["max_iterations"] == 40 and session["iteration"] >= 2
        assert "list_directory" in session["last_tool_call"]
        assert report["llm_calls"] >= session["llm_calls"] + 1  # the plan call, plus the loop's calls

        text = await invoke(env, "status", workflow_id)
        assert re.search(r"iteration: \d+ / 40", text.out) and "last tool call: list_directory(" in text.out
        assert "current step: implementation" in text.out

        cancelled = await cli(env, "cancel", workflow_id, "--reason", "operator stop", "--wait", "--timeout", "30")
        assert cancelled.code == 0, cancelled.err
        assert "Cancellation requested" in cancelled.out and "is now cancelled" in cancelled.out
        await nats_seen.wait_for(lambda c: "workflow_failed" in c.types())
        failed = next(n for n in nats_seen.notifications if n.notification_type == "workflow_failed")
        assert "operator stop" in failed.message  # the operator's reason reaches the platform

        again = await invoke(env, "cancel", workflow_id)
        final = await invoke(env, "status", workflow_id, "--json")
    assert again.code == 1 and "already cancelled" in again.err
    assert json.loads(final.out)["state"] == "cancelled"


async def test_errors_are_clear_and_keep_secrets(settings_for, llm: ScriptedLLMServer, tmp_path: Path):
    settings = settings_for(llm)
    env = cli_env(settings)
    dead_nats = cli_env(settings, NATS_URL="nats://watcher:nats-s3cret@127.0.0.1:9")
    dead_db = cli_env(settings, DATABASE_URL="postgresql://reader:db-s3cret@127.0.0.1:9/automata")
    no_stream = {k: v for k, v in env.items() if k != "CODING_AGENT_NATS_JETSTREAM_STREAM"}
    missing_stream = cli_env(settings, CODING_AGENT_NATS_JETSTREAM_STREAM="NO_SUCH_STREAM")
    no_db = cli_env(settings, CODING_AGENT_SQLITE_PATH=str(tmp_path / "missing.db"))
    # The NATS client waits out its connect timeout: run that one beside the others.
    unreachable = asyncio.create_task(cli(dead_nats, "watch", "--task", "t1"))
    runs = [
        await invoke(env, "status", "coding-agent-no-such-task"),
        await invoke(env, "cancel", "coding-agent-no-such-task"),
        await unreachable,
        await invoke(no_stream, "watch", "--replay"),
        await cli(missing_stream, "watch", "--task", "t1", "--replay"),
        await invoke(env, "watch", "--task", "a.b"),
        await invoke(dead_db, "activities", "t1"),
        await invoke(no_db, "activities", "t1"),
    ]
    expected = [
        (2, "no workflow 'coding-agent-no-such-task'"),
        (2, "no workflow 'coding-agent-no-such-task'"),
        (2, "cannot reach NATS at nats://***@127.0.0.1:9"),
        (2, "set CODING_AGENT_NATS_JETSTREAM_STREAM"),
        (2, "cannot read JetStream stream 'NO_SUCH_STREAM'"),
        (2, "not a NATS subject token"),
        (2, "cannot read activities from postgresql+asyncpg://***@127.0.0.1:9/automata"),
        (2, f"no activity database at {tmp_path / 'missing.db'}"),
    ]
    for run, (code, message) in zip(runs, expected, strict=True):
        assert run.code == code and message in run.err, (message, run)
        assert "s3cret" not in run.out + run.err

    # A task that has no rows in an existing database: a message, exit 1 (and [] for --json).
    await create_empty_database(settings)
    none = await invoke(env, "activities", "t-none")
    none_json = await invoke(env, "activities", "t-none", "--json")
    assert none.code == 1 and "no activities recorded for task t-none" in none.err
    assert none_json.code == 1 and json.loads(none_json.out) == []


async def create_empty_database(settings: Settings) -> None:
    """Creates the migrated (empty) activity database, as a worker does when it starts."""
    from coding_agent.reporting.database import Database

    db = Database(settings.sqlalchemy_url())
    await db.migrate()
    await db.close()
