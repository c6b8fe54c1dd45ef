"""Overhead per agent step: the full Temporal workflow versus the same work done directly in-process.

A scripted model with zero latency asks for N tool calls, one per turn, cycling ``read_file``,
``edit_file`` (an exact snippet) and ``run_shell_command true``. The task runs through the real
``CodingAgentWorkflow`` (Temporal dev server, NATS, SQLite, a worker in this process). One step is one
loop iteration of the ``AgentSessionWorkflow`` child: the time between consecutive ``agent_turn``
activities being scheduled, read from the child's history. The history also gives each step's events
and payload bytes, and where the time goes (activity queueing, activity execution, workflow tasks).

The baselines run in this process on a fresh clone: ``Toolbox.execute`` alone (tools only), and a
plain loop that calls the same scripted model over HTTP and executes the tool (model + tool).

    .venv/bin/python bench/step_overhead.py [--steps 30] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    Timeline,
    embedded_stack,
    fetch_timeline,
    median,
    ms,
    p95,
    step_calls,
    step_turns,
    table,
    temporal_client,
    write_json,
)
from _floor import floor_periods  # noqa: E402

from coding_agent.demo.sample_repo import create_sample_remote  # noqa: E402
from coding_agent.demo.scripted_llm import Script, ScriptedLLMServer, demo_script  # noqa: E402
from coding_agent.llm.client import LLMClient  # noqa: E402
from coding_agent.models import CodingAgentResult, ToolCall  # noqa: E402
from coding_agent.processes import run_process  # noqa: E402
from coding_agent.tools.registry import TOOL_SCHEMAS, Toolbox  # noqa: E402
from coding_agent.workflows.coding_agent import CodingAgentWorkflow  # noqa: E402
from tests.support.harness import SCRIPTED_KEY, make_request, make_settings, new_task_id, worker_running  # noqa: E402


def step_breakdown(child: Timeline) -> list[dict[str, float]]:
    """Per loop iteration: its period and where the time went."""
    turns = child.named("agent_turn")
    tools = child.named("execute_tools")
    rows = []
    for i in range(min(len(turns) - 1, len(tools))):
        turn, tool = turns[i], tools[i]
        period = turns[i + 1].scheduled - turn.scheduled
        rows.append(
            {
                "period": period,
                "turn_queued": turn.queued,
                "turn_ran": turn.ran,
                "tools_queued": tool.queued,
                "tools_ran": tool.ran,
                # Workflow tasks between the activities: turn closed -> tools scheduled, tools closed -> next turn.
                "workflow": (tool.scheduled - (turn.closed or turn.scheduled))
                + (turns[i + 1].scheduled - (tool.closed or tool.scheduled)),
            }
        )
    return rows


async def run_workflow(stack: Any, steps: int, work: Path, sandbox: str) -> dict[str, Any]:
    script = Script(plan=demo_script().plan, turns=step_turns(steps))
    with ScriptedLLMServer(script) as llm:
        settings = make_settings(
            work, temporal_address=stack.temporal_address, nats_url=stack.nats_url, llm_url=llm.base_url,
            sandbox=sandbox, max_iterations=steps + 2,
        )
        remote = await create_sample_remote(work / "repo")
        task_id = new_task_id()
        request = make_request(task_id, remote.as_uri(), max_iterations=steps + 2)
        async with worker_running(settings) as client:
            began = time.monotonic()
            result = await client.execute_workflow(
                CodingAgentWorkflow.run, request, id=f"coding-agent-{task_id}",
                task_queue=settings.temporal_task_queue_coding_agent, result_type=CodingAgentResult,
            )
            wall = time.monotonic() - began
            parent = await fetch_timeline(client, f"coding-agent-{task_id}")
            child = await fetch_timeline(client, parent.child_workflow_ids[0])
    if not result.success or result.steps_completed != steps:
        raise SystemExit(f"the benchmark task did not complete as scripted: {result.error_message!r}")
    return {"wall": wall, "parent": parent, "child": child, "steps": step_breakdown(child)}


async def run_direct(steps: int, work: Path, sandbox: str) -> dict[str, list[float]]:
    """The same calls with no harness: Toolbox.execute alone, and model call + Toolbox.execute."""
    remote = await create_sample_remote(work / "repo")
    clone = work / "clone"
    await run_process(["git", "clone", "-q", str(remote), str(clone)], timeout=60)
    toolbox = Toolbox(clone, sandbox=sandbox)
    await toolbox.sandbox()  # the one-off probe is not part of a step
    tools_only = []
    for i, call in enumerate(step_calls(steps)):
        tool_call = ToolCall(id=f"c{i}", name=call.name, arguments=json.dumps(call.arguments))
        began = time.perf_counter()
        result = await toolbox.execute(tool_call)
        tools_only.append(time.perf_counter() - began)
        assert result.outcome == "ok", result.output
    # Reset the file the edits changed, then the model + tool loop on the same calls.
    await run_process(["git", "checkout", "-q", "--", "."], cwd=clone, timeout=60)
    loop_steps = []
    with ScriptedLLMServer(Script(plan="", turns=step_turns(steps))) as llm:
        client = LLMClient(llm.base_url, SCRIPTED_KEY, timeout=10)
        messages: list[dict[str, Any]] = [{"role": "system", "content": "bench"}, {"role": "user", "content": "go"}]
        for _ in range(steps):
            began = time.perf_counter()
            response = await client.chat("scripted", messages, tools=TOOL_SCHEMAS)
            messages.append(response.assistant_message())
            for tool_call in response.tool_calls:
                result = await toolbox.execute(tool_call)
                messages.append({"role": "tool", "tool_call_id": tool_call.id, "content": result.output})
            loop_steps.append(time.perf_counter() - began)
        await client.close()
    return {"tools_only": tools_only, "model_and_tool": loop_steps}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="bench-step-"))
    periods: list[float] = []
    parts: dict[str, list[float]] = {}
    events_per_step: list[float] = []
    bytes_per_step: list[float] = []
    by_type: dict[str, list[float]] = {}
    sizes: dict[str, list[int]] = {}
    walls: list[float] = []
    floor: list[float] = []
    with embedded_stack(root / "stack") as stack:
        floor_client = await temporal_client(stack.temporal_address)
        await run_workflow(stack, 3, root / "warmup", args.sandbox)  # imports, sandbox probe, first connections
        for r in range(args.repeats):
            run = await run_workflow(stack, args.steps, root / f"run{r}", args.sandbox)
            walls.append(run["wall"])
            child: Timeline = run["child"]
            for row in run["steps"]:
                periods.append(row["period"])
                for key, value in row.items():
                    parts.setdefault(key, []).append(value)
            events_per_step.append(child.events / args.steps)
            bytes_per_step.append(child.history_bytes / args.steps)
            for kind, count in child.events_by_type.items():
                by_type.setdefault(kind, []).append(count / args.steps)
            for activity in child.activities:
                sizes.setdefault(f"{activity.name} input", []).append(activity.input_bytes)
                sizes.setdefault(f"{activity.name} result", []).append(activity.result_bytes)
            recent = periods[-len(run["steps"]):]
            print(f"run {r + 1}/{args.repeats}: {args.steps} steps, median step {ms(median(recent))} ms, "
                  f"{child.events} child events, {child.history_bytes / 1024:.0f} KiB child history", file=sys.stderr)
        for _ in range(args.repeats):
            floor += await floor_periods(floor_client, args.steps)
    direct_tools: list[float] = []
    direct_loop: list[float] = []
    for r in range(args.repeats):
        direct = await run_direct(args.steps, root / f"direct{r}", args.sandbox)
        direct_tools += direct["tools_only"]
        direct_loop += direct["model_and_tool"]

    step_med = median(periods)
    print(f"\nOverhead per agent step ({args.steps} steps x {args.repeats} runs, zero model latency, "
          f"sandbox={args.sandbox})\n")
    print(table(
        ["path", "median ms/step", "p95 ms/step", "ratio to direct tools"],
        [
            ["Temporal workflow (loop period)", ms(step_med), ms(p95(periods)),
             f"{step_med / median(direct_tools):.0f}x"],
            ["bare Temporal: 1 activity on a 2nd queue", ms(median(floor)), ms(p95(floor)),
             f"{median(floor) / median(direct_tools):.0f}x"],
            ["in-process model call + tool", ms(median(direct_loop)), ms(p95(direct_loop)),
             f"{median(direct_loop) / median(direct_tools):.1f}x"],
            ["in-process Toolbox.execute only", ms(median(direct_tools)), ms(p95(direct_tools)), "1x"],
        ],
    ))
    print("\nWhere a workflow step's time goes (median ms)\n")
    print(table(["part", "median ms", "p95 ms"], [[k, ms(median(v)), ms(p95(v))] for k, v in parts.items()]))
    print(f"\nChild history per step: {median(events_per_step):.1f} events, {median(bytes_per_step) / 1024:.2f} KiB\n")
    ordered = sorted(by_type.items(), key=lambda kv: -median(kv[1]))
    print(table(["event type", "per step"], [[k, f"{median(v):.2f}"] for k, v in ordered]))
    print()
    print(table(["payload", "median bytes", "max bytes"],
                [[k, int(median([float(x) for x in v])), max(v)] for k, v in sorted(sizes.items())]))
    return {
        "steps": args.steps,
        "repeats": args.repeats,
        "sandbox": args.sandbox,
        "workflow_step_ms": {"median": step_med * 1000, "p95": p95(periods) * 1000},
        "bare_temporal_round_trip_ms": {"median": median(floor) * 1000, "p95": p95(floor) * 1000},
        "direct_tools_ms": {"median": median(direct_tools) * 1000, "p95": p95(direct_tools) * 1000},
        "direct_model_and_tool_ms": {"median": median(direct_loop) * 1000, "p95": p95(direct_loop) * 1000},
        "ratio_to_direct_tools": step_med / median(direct_tools),
        "ratio_to_direct_loop": step_med / median(direct_loop),
        "breakdown_ms": {k: {"median": median(v) * 1000, "p95": p95(v) * 1000} for k, v in parts.items()},
        "events_per_step": median(events_per_step),
        "history_bytes_per_step": median(bytes_per_step),
        "events_by_type_per_step": {k: median(v) for k, v in by_type.items()},
        "payload_bytes": {k: {"median": median([float(x) for x in v]), "max": max(v)} for k, v in sizes.items()},
        "task_wall_s": walls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30, help="tool calls per task (default 30)")
    parser.add_argument("--repeats", type=int, default=3, help="measured tasks (default 3)")
    parser.add_argument("--sandbox", choices=["auto", "bubblewrap", "none"], default="auto",
                        help="how shell commands are isolated, in both paths (default auto)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    write_json(args.json, {"benchmark": "step_overhead", **asyncio.run(main_async(args))})


if __name__ == "__main__":
    main()
