"""What every benchmark shares: the embedded stack on free ports, the scripted tool mix, statistics,
and reading a workflow's history back as a timeline of activities (with payload sizes).

Benchmarks are plain scripts, not tests: each starts its own nats-server and Temporal dev server
(``coding_agent.stack``), uses the scripted model, repeats, and prints medians. ``--json PATH`` writes
the figures for ``run_all.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `tests.support.harness` is the project's own way to run a worker
    sys.path.insert(0, str(ROOT))

from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client, WorkflowHistory  # noqa: E402

from coding_agent.demo.scripted_llm import ScriptedToolCall, Turn  # noqa: E402
from coding_agent.stack import start_nats, start_temporal  # noqa: E402

# --- the stack -----------------------------------------------------------------------------------


@dataclass
class Stack:
    temporal_address: str
    nats_url: str
    started_in: float


@contextlib.contextmanager
def embedded_stack(data_dir: Path) -> Iterator[Stack]:
    """nats-server and a Temporal dev server (in-memory) on free loopback ports."""
    data_dir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    nats, nats_url = start_nats(data_dir)
    try:
        temporal, address = start_temporal(data_dir)
    except BaseException:
        nats.stop()
        raise
    try:
        yield Stack(address, nats_url, time.monotonic() - began)
    finally:
        temporal.stop()
        nats.stop()


async def temporal_client(address: str, timeout: float = 60) -> Client:
    """A client once the dev server's frontend reports healthy (it listens a little before)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await Client.connect(address)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


# --- the scripted work -----------------------------------------------------------------------------


def step_calls(steps: int, path: str = "calc.py") -> list[ScriptedToolCall]:
    """``steps`` tool calls cycling read_file, edit_file (exact snippet), run_shell_command ``true``.

    Every edit replaces the marker the previous edit left, so each one matches exactly once; the file
    stays valid Python (the marker is a comment), so validation still passes.
    """
    calls: list[ScriptedToolCall] = []
    edits = 0
    for i in range(steps):
        kind = i % 3
        if kind == 0:
            calls.append(ScriptedToolCall("read_file", {"path": path}))
        elif kind == 1:
            old = "return a + b" if edits == 0 else f"return a + b  # edit {edits - 1}"
            calls.append(
                ScriptedToolCall(
                    "edit_file", {"path": path, "old_text": old, "new_text": f"return a + b  # edit {edits}"}
                )
            )
            edits += 1
        else:
            calls.append(ScriptedToolCall("run_shell_command", {"command": "true"}))
    return calls


def step_turns(steps: int) -> list[Turn]:
    """One tool call per model turn, then a closing text."""
    return [[call] for call in step_calls(steps)] + ["Done: benchmark steps finished."]


# --- statistics ------------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# --- history -------------------------------------------------------------------------------------


def _seconds(ts: Any) -> float:
    return ts.seconds + ts.nanos / 1e9


def _payloads_size(payloads: Any) -> int:
    return sum(p.ByteSize() for p in payloads.payloads) if payloads is not None else 0


@dataclass
class ActivityRun:
    name: str
    scheduled: float
    started: float | None = None
    closed: float | None = None
    input_bytes: int = 0
    result_bytes: int = 0
    attempt: int = 1
    outcome: str = "open"

    @property
    def queued(self) -> float:
        return (self.started or self.scheduled) - self.scheduled

    @property
    def ran(self) -> float:
        return (self.closed or 0) - (self.started or self.scheduled) if self.closed else float("nan")

    @property
    def total(self) -> float:
        return (self.closed - self.scheduled) if self.closed else float("nan")


@dataclass
class Timeline:
    """A workflow history as activities, workflow tasks and sizes."""

    activities: list[ActivityRun] = field(default_factory=list)
    events: int = 0
    history_bytes: int = 0
    events_by_type: dict[str, int] = field(default_factory=dict)
    workflow_tasks: list[tuple[float, float, float]] = field(default_factory=list)
    """(scheduled, started, completed) times of each workflow task."""
    start: float = 0.0
    end: float = 0.0
    child_workflow_ids: list[str] = field(default_factory=list)
    continued_as_new: bool = False

    def named(self, name: str) -> list[ActivityRun]:
        return [a for a in self.activities if a.name == name]


def timeline(history: WorkflowHistory) -> Timeline:
    out = Timeline()
    by_id: dict[int, ActivityRun] = {}
    wft_scheduled: dict[int, float] = {}
    wft_started: dict[int, float] = {}
    for event in history.events:
        out.events += 1
        out.history_bytes += event.ByteSize()
        kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        out.events_by_type[kind] = out.events_by_type.get(kind, 0) + 1
        at = _seconds(event.event_time)
        if out.start == 0.0:
            out.start = at
        out.end = at
        if event.HasField("activity_task_scheduled_event_attributes"):
            attrs = event.activity_task_scheduled_event_attributes
            run = ActivityRun(attrs.activity_type.name, at, input_bytes=_payloads_size(attrs.input))
            by_id[event.event_id] = run
            out.activities.append(run)
        elif event.HasField("activity_task_started_event_attributes"):
            attrs = event.activity_task_started_event_attributes
            run = by_id[attrs.scheduled_event_id]
            run.started, run.attempt = at, attrs.attempt
        elif event.HasField("activity_task_completed_event_attributes"):
            attrs = event.activity_task_completed_event_attributes
            run = by_id[attrs.scheduled_event_id]
            run.closed, run.outcome, run.result_bytes = at, "completed", _payloads_size(attrs.result)
        elif event.HasField("activity_task_failed_event_attributes"):
            run = by_id[event.activity_task_failed_event_attributes.scheduled_event_id]
            run.closed, run.outcome = at, "failed"
        elif event.HasField("activity_task_timed_out_event_attributes"):
            run = by_id[event.activity_task_timed_out_event_attributes.scheduled_event_id]
            run.closed, run.outcome = at, "timed_out"
        elif event.HasField("workflow_task_scheduled_event_attributes"):
            wft_scheduled[event.event_id] = at
        elif event.HasField("workflow_task_started_event_attributes"):
            wft_started[event.workflow_task_started_event_attributes.scheduled_event_id] = at
        elif event.HasField("workflow_task_completed_event_attributes"):
            scheduled_id = event.workflow_task_completed_event_attributes.scheduled_event_id
            if scheduled_id in wft_scheduled:
                scheduled = wft_scheduled[scheduled_id]
                out.workflow_tasks.append((scheduled, wft_started.get(scheduled_id, scheduled), at))
        elif event.HasField("start_child_workflow_execution_initiated_event_attributes"):
            out.child_workflow_ids.append(event.start_child_workflow_execution_initiated_event_attributes.workflow_id)
        elif event.HasField("workflow_execution_continued_as_new_event_attributes"):
            out.continued_as_new = True
    return out


async def fetch_timeline(client: Client, workflow_id: str, run_id: str | None = None) -> Timeline:
    return timeline(await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history())


# --- machine and output --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = float("nan")
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 1024 / 1024
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_gib, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "date": datetime.now().isoformat(timespec="seconds"),
    }


def write_json(path: Path | None, data: dict[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2, default=str))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table (readable in a terminal, pasteable into docs/benchmarks.md)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda values: "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(headers), "| " + " | ".join("-" * w for w in widths) + " |", *map(line, cells)])
