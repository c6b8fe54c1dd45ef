"""Monitoring and control commands: ``watch`` (live NATS notifications with a progress display),
``activities`` (a task's ``task_activities`` log), ``status`` (Temporal describe plus the workflow's
queries) and ``cancel`` (a cancellation request through Temporal).

Every command reads the worker's own environment variables (``coding-agent env`` lists them), so it
looks where the worker writes. Exit codes: 0 success, 1 a negative answer (the watched task failed,
no activities, nothing to cancel), 2 a usage or connection error (unreachable server, unknown id),
130 interrupted. Error messages never carry credentials: URLs are redacted before they are printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from coding_agent.cli import app, console
from coding_agent.models import CodingAgentResult, Notification, NotificationType, TaskActivity
from coding_agent.redaction import Redactor
from coding_agent.settings import Settings

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowExecutionDescription, WorkflowHandle

err_console = Console(stderr=True)

# The success path of a task: every notification type but the per-tool step and the failure.
MILESTONES = tuple(
    t for t in NotificationType if t not in (NotificationType.IMPLEMENTATION_STEP, NotificationType.WORKFLOW_FAILED)
)
TERMINAL = (NotificationType.WORKFLOW_COMPLETED, NotificationType.WORKFLOW_FAILED)
WORKFLOW_TYPES = ("CodingAgentWorkflow", "CodingAgentWorkflow.run")
QUERY_TIMEOUT = timedelta(seconds=5)
CONNECT_TIMEOUT_SECONDS = 10.0


def fail(message: str, code: int = 2) -> NoReturn:
    """Print an error (secrets and URL credentials masked) on stderr and exit with ``code``."""
    text = Redactor(Settings().secret_values()).text(message)
    err_console.print(f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def run_async(coro: Any) -> Any:
    """``asyncio.run`` with Ctrl-C turned into a quiet exit 130."""
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        err_console.print("stopped")
        raise typer.Exit(130) from None


# --- watch -----------------------------------------------------------------------------------


def watch_subject(prefix: str, company: str | None, project: str | None, task: str | None) -> str:
    """``{prefix}.{company}.{project}.{task}.>`` with ``*`` (one NATS token) for what is not given."""
    for name, value in (("--company", company), ("--project", project), ("--task", task)):
        if value is not None and (not value or any(c in value for c in ".*> \t\n")):
            fail(f"{name} {value!r} is not a NATS subject token (no '.', '*', '>' or whitespace)")
    return f"{prefix.rstrip('.')}.{company or '*'}.{project or '*'}.{task or '*'}.>"


@dataclass
class TaskProgress:
    """Which milestones of one task have been seen, and how it ended."""

    seen: set[NotificationType] = field(default_factory=set)
    last: NotificationType | None = None

    def update(self, note: Notification) -> None:
        self.seen.add(note.notification_type)
        self.last = note.notification_type

    @property
    def done(self) -> int:
        """Milestones are ordered, so the latest one seen counts those before it (a watch may join late)."""
        return max((MILESTONES.index(m) + 1 for m in self.seen if m in MILESTONES), default=0)

    @property
    def label(self) -> str:
        return f"[{self.done:>2}/{len(MILESTONES)}]"


def note_line(note: Notification, progress: TaskProgress) -> str:
    """One rich-markup line per notification: time, task, milestones, type, message."""
    stamp = note.timestamp.astimezone().strftime("%H:%M:%S")
    colour = {NotificationType.WORKFLOW_FAILED: "red", NotificationType.WORKFLOW_COMPLETED: "green"}.get(
        note.notification_type, "cyan"
    )
    return (
        f"[dim]{stamp}[/] {escape(note.task_id)} {escape(progress.label)} "
        f"[bold {colour}]{note.notification_type.value:<22}[/] {escape(note.message)}"
    )


@contextlib.contextmanager
def progress_display(enabled: bool) -> Iterator[Progress | None]:
    """Live bars (one per task) on an interactive terminal; nothing when piped or printing JSON."""
    if not enabled:
        yield None
        return
    columns = (TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console) as bars:
        yield bars


class Watcher:
    """Prints notifications and tracks per-task progress; knows when the watched task has ended."""

    def __init__(self, task: str | None, as_json: bool, bars: Progress | None) -> None:
        self.task, self.as_json, self.bars = task, as_json, bars
        self.tasks: dict[str, TaskProgress] = {}
        self._bar_ids: dict[str, Any] = {}

    def show(self, note: Notification) -> int | None:
        """Print one notification; the exit code once the watched task has ended, else None."""
        progress = self.tasks.setdefault(note.task_id, TaskProgress())
        progress.update(note)
        if self.as_json:
            print(note.model_dump_json(), flush=True)
        else:
            target = self.bars.console if self.bars else console
            target.print(note_line(note, progress), highlight=False, soft_wrap=True)
        self._update_bar(note.task_id, progress)
        if self.task is not None and note.task_id == self.task and note.notification_type in TERMINAL:
            return 0 if note.notification_type is NotificationType.WORKFLOW_COMPLETED else 1
        return None

    def _update_bar(self, task_id: str, progress: TaskProgress) -> None:
        if self.bars is None:
            return
        if task_id not in self._bar_ids:
            self._bar_ids[task_id] = self.bars.add_task(task_id, total=len(MILESTONES))
        description = f"{task_id} {progress.last.value if progress.last else ''}"
        self.bars.update(self._bar_ids[task_id], completed=progress.done, description=description)


async def follow(settings: Settings, subject: str, stream: str | None, watcher: Watcher) -> int:
    """Print what arrives on ``subject`` until the watched task ends (or forever without a task)."""
    import nats.errors

    from coding_agent.reporting.nats_subscriber import NatsUnavailableError, subscribe

    # nats-py logs every failed (re)connection with a traceback; the user gets one clear line instead.
    logging.getLogger("nats").setLevel(logging.CRITICAL)
    try:
        async with contextlib.aclosing(subscribe(settings.nats_url, subject, jetstream_stream=stream)) as notes:
            async for note in notes:
                code = watcher.show(note)
                if code is not None:
                    return code
    except NatsUnavailableError as exc:
        fail(f"{exc}; is NATS_URL right and the server up?")
    except nats.errors.Error as exc:
        if stream:
            fail(
                f"cannot read JetStream stream {stream!r}: {type(exc).__name__}: {exc}; it is created by a worker "
                "with the same CODING_AGENT_NATS_JETSTREAM_STREAM on a JetStream-enabled server (nats-server -js)"
            )
        fail(f"NATS error: {type(exc).__name__}: {exc}")
    return 0


@app.command()
def watch(
    task: Annotated[str | None, typer.Option(help="Follow one task; exits when it completes (0) or fails (1)")] = None,
    project: Annotated[str | None, typer.Option(help="Follow every task of a project")] = None,
    company: Annotated[str | None, typer.Option(help="Follow every task of a company")] = None,
    replay: Annotated[
        bool, typer.Option(help="First replay what the JetStream stream CODING_AGENT_NATS_JETSTREAM_STREAM kept")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print each notification as one JSON line")] = False,
) -> None:
    """Follow notifications live from NATS: one line per notification, progress per task."""
    settings = Settings()
    subject = watch_subject(settings.nats_subject_prefix, company, project, task)
    stream = settings.nats_jetstream_stream if replay else None
    if replay and not stream:
        fail("--replay needs a JetStream stream: set CODING_AGENT_NATS_JETSTREAM_STREAM to the worker's stream name")
    if not as_json:
        mode = f"replaying stream {stream} then following" if stream else "following"
        err_console.print(f"{mode} {subject} (Ctrl-C to stop)", highlight=False, soft_wrap=True)
    with progress_display(console.is_terminal and not as_json) as bars:
        code = run_async(follow(settings, subject, stream, Watcher(task, as_json, bars)))
    raise typer.Exit(code)


# --- activities ------------------------------------------------------------------------------


# A tool's whole output is in the JSON form; a table cell shows what identifies the row.
HIDDEN_DETAILS = ("result", "output")


def key_details(details: dict[str, Any], width: int = 100) -> str:
    """The scalar details (and a tool's arguments) as ``key=value``, cut to ``width`` characters."""
    parts = []
    for key, value in details.items():
        if key in HIDDEN_DETAILS:
            continue
        if key == "arguments":
            parts.append(f"{key}={json.dumps(value, ensure_ascii=False)}")
        elif isinstance(value, str | int | float | bool) and value != "":
            parts.append(f"{key}={value}")
    text = ", ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"


async def load_activities(settings: Settings, task_id: str, limit: int | None) -> list[TaskActivity]:
    """The task's rows, oldest first; exits 2 when the database is missing or unreachable."""
    import sqlalchemy as sa

    from coding_agent.reporting.activity_store import ActivityStore
    from coding_agent.reporting.database import Database
    from coding_agent.reporting.schema import task_activities

    if settings.database_url is None:
        path = settings.sqlite_path or settings.data_dir / "coding_agent.db"
        if not path.exists():
            fail(f"no activity database at {path}: set DATABASE_URL or CODING_AGENT_SQLITE_PATH to the worker's")
    db = Database(settings.sqlalchemy_url())
    try:
        async with db.engine.connect() as conn:
            has_table = await conn.run_sync(lambda c: sa.inspect(c).has_table(task_activities.name))
        if not has_table:
            fail(f"{db.display_url} has no task_activities table yet: no worker has used this database")
        return await ActivityStore(db).list(task_id, limit)
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        fail(f"cannot read activities from {db.display_url}: {type(exc).__name__}: {exc}")
    finally:
        await db.close()


def activities_table(task_id: str, rows: list[TaskActivity]) -> Table:
    table = Table(title=f"activities of {task_id}", title_justify="left")
    for column, style in (("time", "dim"), ("type", "bold"), ("message", ""), ("details", "dim")):
        table.add_column(column, style=style, overflow="fold")
    for row in rows:
        colour = "red" if row.activity_type.value == "error" else "cyan"
        table.add_row(
            row.timestamp.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            f"[{colour}]{row.activity_type.value}[/]",
            escape(row.message),
            escape(key_details(row.details)),
        )
    return table


@app.command()
def activities(
    task_id: Annotated[str, typer.Argument(help="The task id (the request's task.id)")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the most recent N activities")] = None,
) -> None:
    """Print a task's activity log from the database (oldest first); exit 1 when it has none."""
    rows: list[TaskActivity] = run_async(load_activities(Settings(), task_id, limit))
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2, ensure_ascii=False))
    elif rows:
        console.print(activities_table(task_id, rows))
    if not rows:
        err_console.print(f"no activities recorded for task {escape(task_id)}", highlight=False)
        raise typer.Exit(1)


# --- Temporal: status and cancel -------------------------------------------------------------


def state_name(description: WorkflowExecutionDescription) -> str:
    """running / completed / failed / cancelled / terminated / timed_out / continued_as_new."""
    name = description.status.name.lower() if description.status is not None else "unknown"
    return "cancelled" if name == "canceled" else name


async def temporal_client(settings: Settings) -> Client:
    from coding_agent.temporal_client import connect

    try:
        return await asyncio.wait_for(connect(settings), CONNECT_TIMEOUT_SECONDS)
    except Exception as exc:
        fail(f"cannot reach Temporal at {settings.temporal_host}: {type(exc).__name__}: {exc}")


async def describe(client: Client, settings: Settings, workflow_id: str) -> WorkflowExecutionDescription:
    """Temporal's description of the latest run; exits 2 for an unknown id."""
    from temporalio.service import RPCError, RPCStatusCode

    try:
        return await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            fail(f"no workflow {workflow_id!r} in namespace {settings.temporal_namespace!r}")
        fail(f"Temporal refused to describe {workflow_id!r}: {exc}")


async def query(handle: WorkflowHandle[Any, Any], name: str) -> dict[str, Any] | None:
    """A query's answer, or None when no worker answers it in time (or the workflow lacks it)."""
    try:
        answer = await handle.query(name, rpc_timeout=QUERY_TIMEOUT)
    except Exception:
        return None
    return answer if isinstance(answer, dict) else None


async def closed_outcome(handle: WorkflowHandle[Any, Any], state: str, workflow_type: str) -> dict[str, Any]:
    """A completed task's result summary, or the failure Temporal recorded."""
    from temporalio.client import WorkflowFailureError

    try:
        result = await asyncio.wait_for(handle.result(follow_runs=False), QUERY_TIMEOUT.total_seconds())
    except WorkflowFailureError as exc:
        cause = exc.cause
        inner = getattr(cause, "cause", None)
        return {"failure": str(inner or cause or exc)}
    except Exception as exc:
        return {"failure": f"{type(exc).__name__}: {exc}"}
    if workflow_type in WORKFLOW_TYPES:
        parsed = CodingAgentResult.model_validate(result)
        return {"result": result_summary(parsed)}
    return {"result": result}


def result_summary(result: CodingAgentResult) -> dict[str, Any]:
    return {
        "success": result.success,
        "branch_name": result.branch_name,
        "commit_hash": result.commit_hash,
        "steps_completed": result.steps_completed,
        "llm_calls": result.artifacts.llm_calls,
        "tests_passed": result.validation_result.tests_passed,
        "tests_failed": result.validation_result.tests_failed,
        "execution_time_hours": round(result.execution_time_hours, 4),
        "error_message": result.error_message,
    }


async def gather_status(settings: Settings, workflow_id: str) -> dict[str, Any]:
    """Everything ``status`` prints, as one JSON-ready dict."""
    client = await temporal_client(settings)
    description = await describe(client, settings, workflow_id)
    handle = client.get_workflow_handle(workflow_id, run_id=description.run_id)
    state = state_name(description)
    report: dict[str, Any] = {
        "workflow_id": workflow_id,
        "run_id": description.run_id,
        "workflow_type": description.workflow_type,
        "state": state,
        "task_queue": description.task_queue,
        "start_time": description.start_time.isoformat() if description.start_time else None,
        "close_time": description.close_time.isoformat() if description.close_time else None,
        "history_length": description.history_length,
    }
    if state == "running":
        report.update(await running_details(client, handle))
    else:
        report.update(await closed_outcome(handle, state, description.workflow_type))
    return report


async def running_details(client: Client, handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    """The ``status`` query, and the session child's ``progress`` while the tool loop runs."""
    status = await query(handle, "status")
    if status is None:
        return {"query": "unanswered: no worker answered the status query (is a worker running?)"}
    details: dict[str, Any] = {"step": status.get("step"), "llm_calls": status.get("llm_calls", 0)}
    session_id = status.get("session_workflow_id")
    if session_id and status.get("step") == "implementation":
        progress = await query(client.get_workflow_handle(session_id), "progress")
        if progress:
            details["session"] = {"workflow_id": session_id, **progress}
            # The parent adds the session's calls only when the session ends.
            details["llm_calls"] += progress.get("llm_calls", 0)
    return details


def status_lines(report: dict[str, Any]) -> list[str]:
    colour = {"running": "cyan", "completed": "green"}.get(report["state"], "red")
    lines = [
        f"[bold]{escape(report['workflow_id'])}[/] ({escape(report['workflow_type'])}) "
        f"[bold {colour}]{report['state']}[/]",
        f"  started {report['start_time']}" + (f", closed {report['close_time']}" if report["close_time"] else ""),
    ]
    if "step" in report:
        lines.append(f"  current step: {report['step']}")
    session = report.get("session")
    if session:
        lines.append(f"  iteration: {session.get('iteration')} / {session.get('max_iterations')}")
        lines.append(f"  steps completed: {session.get('steps_completed')}")
        lines.append(f"  last tool call: {escape(str(session.get('last_tool_call') or '-'))}")
    if "llm_calls" in report:
        lines.append(f"  LLM calls so far: {report['llm_calls']}")
    for key in ("query", "failure"):
        if key in report:
            lines.append(f"  {key}: {escape(str(report[key]))}")
    if isinstance(report.get("result"), dict):
        lines += [f"  {k}: {escape(str(v))}" for k, v in report["result"].items()]
    return lines


@app.command()
def status(
    workflow_id: Annotated[str, typer.Argument(help="The workflow id, e.g. coding-agent-<task id>")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Show a workflow's state: current step, iteration, last tool call and LLM calls, or its result."""
    settings = Settings()
    report: dict[str, Any] = run_async(gather_status(settings, workflow_id))
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        for line in status_lines(report):
            console.print(line, highlight=False, soft_wrap=True)


async def request_cancel(settings: Settings, workflow_id: str, reason: str, wait: float | None) -> int:
    client = await temporal_client(settings)
    description = await describe(client, settings, workflow_id)
    state = state_name(description)
    if state != "running":
        err_console.print(f"{escape(workflow_id)} is already {state}: nothing to cancel", highlight=False)
        return 1
    handle = client.get_workflow_handle(workflow_id, run_id=description.run_id)
    await handle.cancel(reason=reason)
    console.print(
        f"Cancellation requested for {escape(workflow_id)} (reason: {escape(reason)}). The workflow stops its "
        "current step, removes its workspace, reports workflow_failed on NATS, in task_activities and "
        "through the webhook, then Temporal records it as cancelled.",
        highlight=False,
        soft_wrap=True,
    )
    if wait is None:
        return 0
    return await wait_closed(client, settings, workflow_id, wait)


async def wait_closed(client: Client, settings: Settings, workflow_id: str, timeout: float) -> int:
    """Poll until the workflow closes; print its final state. 0 when it closed, 1 on timeout."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        description = await describe(client, settings, workflow_id)
        state = state_name(description)
        if state != "running":
            console.print(f"{escape(workflow_id)} is now [bold]{state}[/]", highlight=False)
            return 0
        if asyncio.get_running_loop().time() > deadline:
            err_console.print(f"{escape(workflow_id)} is still running after {timeout:.0f}s", highlight=False)
            return 1
        await asyncio.sleep(0.5)


@app.command()
def cancel(
    workflow_id: Annotated[str, typer.Argument(help="The workflow id, e.g. coding-agent-<task id>")],
    reason: Annotated[str, typer.Option(help="Why; recorded by Temporal with the request")] = "cancelled from the CLI",
    wait: Annotated[bool, typer.Option(help="Wait for the workflow to close and print its final state")] = False,
    timeout: Annotated[float, typer.Option(help="With --wait: give up after this many seconds (exit 1)")] = 300.0,
) -> None:
    """Request cancellation of a running workflow through Temporal."""
    code = run_async(request_cancel(Settings(), workflow_id, reason, timeout if wait else None))
    raise typer.Exit(code)
