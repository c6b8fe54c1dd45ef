"""End-to-end wall time of the demo task (add multiply() to the sample repo), by phase, against the
specification's figures (startup 5-10 s, file operations < 1 s each, commit and push 2-5 s).

The scripted model answers with zero latency, so what remains is the harness and the real work: the
embedded stack, a worker in this process, git over file://, the sandboxed shell, pytest. Phases come
from the workflow histories (activity scheduled -> closed, as the server timestamps them):

- startup: workflow start -> repository cloned (run config + clone)
- branch, plan (one model call), implementation (the child session: 7 model calls, 5 tools)
- file operation: one ``execute_tools`` activity of the four file tools (list, read, write, write)
- validation (pytest), commit, push, completion (cleanup, final events, webhook)

    .venv/bin/python bench/demo_e2e.py [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timeline, embedded_stack, fetch_timeline, median, table, write_json  # noqa: E402

from coding_agent.demo.sample_repo import create_sample_remote  # noqa: E402
from coding_agent.demo.scripted_llm import ScriptedLLMServer, demo_script  # noqa: E402
from coding_agent.models import CodingAgentResult  # noqa: E402
from coding_agent.workflows.coding_agent import CodingAgentWorkflow  # noqa: E402
from tests.support.harness import make_request, make_settings, new_task_id, worker_running  # noqa: E402

SPEC = {
    "startup (start -> repo_cloned)": "5-10 s",
    "file operation (each, x4)": "< 1 s",
    "commit": "2-5 s (with push)",
    "push": "2-5 s (with commit)",
    "commit + push": "2-5 s",
}


def phases(parent: Timeline, child: Timeline, wall: float) -> dict[str, float]:
    def one(name: str) -> Any:
        return parent.named(name)[0]

    clone = one("clone_repository")
    out = {
        "startup (start -> repo_cloned)": (clone.closed or 0) - parent.start,
        "  of which clone activity": clone.total,
        "branch": one("create_branch").total,
        "plan (1 model call)": one("generate_plan").total,
        "implementation (child workflow)": child.end - child.start,
    }
    tools = child.named("execute_tools")
    file_ops = [t.total for t in tools[:4]]
    out["file operation (each, x4)"] = median(file_ops)
    out["  slowest file operation"] = max(file_ops)
    out["  shell step (pytest)"] = tools[4].total if len(tools) > 4 else float("nan")
    out["validation (pytest)"] = one("run_validation").total
    out["commit"] = one("commit_changes").total
    out["push"] = one("push_branch").total
    out["commit + push"] = out["commit"] + out["push"]
    out["completion (cleanup, events, webhook)"] = parent.end - (one("push_branch").closed or 0)
    out["total (server: start -> completed)"] = parent.end - parent.start
    out["total (client: execute_workflow)"] = wall
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    samples: dict[str, list[float]] = {}
    boots: list[float] = []
    stack_boots: list[float] = []
    for r in range(args.repeats):
        work = root / f"run{r}"
        with embedded_stack(work / "stack") as stack, ScriptedLLMServer(demo_script()) as llm:
            stack_boots.append(stack.started_in)
            settings = make_settings(work, temporal_address=stack.temporal_address, nats_url=stack.nats_url,
                                     llm_url=llm.base_url)
            remote = await create_sample_remote(work / "repo")
            began = time.monotonic()
            async with worker_running(settings) as client:
                boots.append(time.monotonic() - began)
                task_id = new_task_id()
                started = time.monotonic()
                result = await client.execute_workflow(
                    CodingAgentWorkflow.run, make_request(task_id, remote.as_uri()), id=f"coding-agent-{task_id}",
                    task_queue=settings.temporal_task_queue_coding_agent, result_type=CodingAgentResult,
                )
                wall = time.monotonic() - started
                if not result.success:
                    raise SystemExit(f"the demo task failed: {result.error_message}")
                parent = await fetch_timeline(client, f"coding-agent-{task_id}")
                child = await fetch_timeline(client, parent.child_workflow_ids[0])
        for name, value in phases(parent, child, wall).items():
            samples.setdefault(name, []).append(value)
        print(f"run {r + 1}/{args.repeats}: total {wall:.2f}s", file=sys.stderr)
    samples = {"stack start (nats + temporal dev server)": stack_boots,
               "worker start (connect, migrate, probe)": boots, **samples}
    print(f"\nDemo task end to end, zero model latency, median of {args.repeats} runs\n")
    print(table(
        ["phase", "median s", "max s", "specification"],
        [[name, f"{median(v):.3f}", f"{max(v):.3f}", SPEC.get(name, "")] for name, v in samples.items()],
    ))
    return {"repeats": args.repeats, "phases_s": {k: {"median": median(v), "max": max(v)} for k, v in samples.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="demo runs, each on a fresh stack (default 5)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    write_json(args.json, {"benchmark": "demo_e2e", **asyncio.run(main_async(args))})


if __name__ == "__main__":
    main()
